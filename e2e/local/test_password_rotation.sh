#!/usr/bin/env bash
# e2e suite "password_rotation": a new password in the auth Secret of a running 3-pod
# ValkeyCluster is applied to the servers live:
#   - every server accepts the new password within a bound, both work for an overlap (30 s),
#     then every server refuses the old one;
#   - at no sampled moment (100 ms) does the primary refuse both passwords (no downtime);
#   - no pod restarted, no failover (epoch and status.primary unchanged);
#   - replication keeps working with the new password (a write on the primary is on every
#     replica after WAIT);
#   - Events PasswordRotation and PasswordRotated.
set -uo pipefail
# shellcheck source=failover_lib.sh
. "$(dirname "$0")/failover_lib.sh"
suite_begin
fo_setup || { suite_end; exit 1; }
make_ns rotate || { suite_end; exit 1; }
ns=$E2E_NS
name=rot
on_cleanup fo_delete "$ns" "$name"
fo_create "$ns" "$name" 3 || { suite_end; exit 1; }

old_pw=$(vpassword "$ns" "$name")
new_pw="r0tated-$(date +%s%N | sha256sum | cut -c1-24)"
primary=$(kj "$ns" "vkc/$name" '{.status.primary}')
primary_ip=$(pod_ip "$ns" "$primary")
epoch0=$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')
uids0=$(kc -n "$ns" get pods -l "app.kubernetes.io/instance=$name" -o 'jsonpath={range .items[*]}{.metadata.uid}:{.status.containerStatuses[0].restartCount} {end}')
say "primary $primary ($primary_ip), epoch $epoch0, pods $uids0"

# pw_ok IP PASSWORD: the server at IP answers PING with PASSWORD.
pw_ok() { [ "$(REDISCLI_AUTH=$2 timeout 3 redis-cli --no-auth-warning -h "$1" PING 2>/dev/null)" = PONG ]; }
every_pod() { # PASSWORD WANT(0: accepts, 1: refuses)
    local p ip
    for p in $(pods_of "$ns" "$name"); do
        ip=$(pod_ip "$ns" "$p")
        if pw_ok "$ip" "$1"; then [ "$2" = 0 ] || { echo "$p still accepts it"; return 1; }; else [ "$2" = 1 ] || { echo "$p refuses it"; return 1; }; fi
    done
}
check "every pod accepts the old password before the change" every_pod "$old_pw" 0

# A sampler: the primary must accept one of the two passwords at every sample.
sampler_dir=$FO_WORK/sampler
mkdir -p "$sampler_dir"
(
    end=$(($(date +%s) + 150))
    while [ ! -e "$sampler_dir/stop" ] && [ "$(date +%s)" -lt "$end" ]; do
        # The old one first: once it is refused, the new one is already accepted for good, so a
        # rotation that runs between the two checks cannot look like a refusal of both.
        if pw_ok "$primary_ip" "$old_pw" || pw_ok "$primary_ip" "$new_pw"; then echo ok; else echo "refused $(date +%T.%N)"; fi
        sleep 0.1
    done >"$sampler_dir/samples"
) &
sampler=$!
on_cleanup "touch $sampler_dir/stop; kill $sampler 2>/dev/null"

out=$(kc -n "$ns" create secret generic "$name-auth" --from-literal=password="$new_pw" --dry-run=client -o yaml |
    kc -n "$ns" apply -f - 2>&1)
assert_contains "the Secret $name-auth is given a new password" "secret/$name-auth" "$out"
E2E_PW["$ns/$name"]=$new_pw

expect_within "every server accepts the new password" 60 every_pod "$new_pw" 0
check "the old one still works meanwhile (clients move over)" every_pod "$old_pw" 0
expect_within "after the overlap every server refuses the old one" 120 every_pod "$old_pw" 1
touch "$sampler_dir/stop"
wait "$sampler" 2>/dev/null
samples=$(wc -l <"$sampler_dir/samples")
refusals=$(grep -c refused "$sampler_dir/samples")
say "sampler: $samples samples of the primary, $refusals with both passwords refused"
assert_ge "the sampler ran through the rotation" 3 "$samples"
assert_eq "the primary never refused both passwords" 0 "$refusals"

assert_eq "the same primary" "$primary" "$(kj "$ns" "vkc/$name" '{.status.primary}')"
assert_eq "no failover (epoch unchanged)" "$epoch0" "$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')"
assert_eq "no pod restarted or replaced" "$uids0" \
    "$(kc -n "$ns" get pods -l "app.kubernetes.io/instance=$name" -o 'jsonpath={range .items[*]}{.metadata.uid}:{.status.containerStatuses[0].restartCount} {end}')"
expect_within "Event PasswordRotation" 30 has_event "$ns" "$name" PasswordRotation
expect_within "Event PasswordRotated" 30 has_event "$ns" "$name" PasswordRotated
expect_within "$name is Running with every replica linked" 60 vkc_settled "$ns" "$name" 3

key="rot:$(date +%s)"
assert_eq "a write with the new password on the primary" OK "$(vcli "$ns" "$name" "$primary" SET "$key" v1)"
assert_ge "WAIT: both replicas have it" 2 "$(vcli "$ns" "$name" "$primary" WAIT 2 5000)"
for p in $(pods_of "$ns" "$name"); do
    [ "$p" = "$primary" ] && continue
    assert_eq "replica $p has the write" v1 "$(vcli "$ns" "$name" "$p" GET "$key")"
done
suite_end

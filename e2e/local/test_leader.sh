#!/usr/bin/env bash
# e2e suite "leader": two controllers with --leader-elect (and a webhook-only gungnir for the
# admission calls): exactly one leads (gungnir_controller_leader 1 on exactly one metrics
# endpoint) and the other makes no writes; SIGKILL to the leader -> the other takes the Lease
# within the lease duration + a bound and reconciles a change.
# Local only as written: it starts the binaries itself (E2E_BUILD, default build). On kind the
# Deployment already runs 2 replicas with --leader-elect; see e2e/kind/README.md.
set -uo pipefail
export SUITE=leader
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
suite_begin
if [ "$E2E_PLATFORM" != local ]; then say "local only; skipped"; suite_end; exit; fi
make_ns leader || { suite_end; exit 1; }
ns=$E2E_NS
name=crown
bin=$E2E_ROOT/${E2E_BUILD:-build}/gungnir
lease=(--leader-elect --leader-elect-lease-duration 8 --leader-elect-renew-deadline 5 --leader-elect-retry-period 1
    --leader-elect-resource-namespace "$ns")

say "the deployed gungnir serves the webhook only; two controllers campaign for the Lease"
operator_stop
on_cleanup 'say "restoring the default deployment"; operator_restart >/dev/null'
out=$(operator_start --disable-controller 2>&1) || fail "webhook-only gungnir: $out"
free_port() { local p; while :; do p=$((20000 + RANDOM % 20000)); [ -z "$(ss -Htan "( sport = :$p or sport = :$((p + 1)) )")" ] && { echo "$p"; return; }; done; }
declare -A PID PORT
for who in a b; do
    PORT[$who]=$(free_port)
    "$bin" --kubeconfig "$KUBECONFIG" --disable-webhook "${lease[@]}" \
        --health-probe-bind-address "127.0.0.1:${PORT[$who]}" --metrics-bind-address "127.0.0.1:$((PORT[$who] + 1))" \
        >>"$STATE_DIR/logs/gungnir-leader-$who.log" 2>&1 &
    PID[$who]=$!
    disown "${PID[$who]}"
    on_cleanup "kill ${PID[$who]} 2>/dev/null"
    say "controller $who: pid ${PID[$who]}, metrics 127.0.0.1:$((PORT[$who] + 1)), log $STATE_DIR/logs/gungnir-leader-$who.log"
done
murl() { echo "http://127.0.0.1:$((PORT[$1] + 1))/metrics"; }
one_leader() {
    local la lb
    la=$(metric "$(murl a)" gungnir_controller_leader)
    lb=$(metric "$(murl b)" gungnir_controller_leader)
    echo "leader gauge: a='$la' b='$lb'; Lease holder: $(kj "$ns" lease/gungnir-leader '{.spec.holderIdentity}')"
    [ "$la$lb" = 10 ] || [ "$la$lb" = 01 ]
}
expect_within "exactly one controller leads" 60 one_leader
if [ "$(metric "$(murl a)" gungnir_controller_leader)" = 1 ]; then leader=a; follower=b; else leader=b; follower=a; fi
say "leader: $leader (pid ${PID[$leader]}), follower: $follower (pid ${PID[$follower]})"
holder=$(kj "$ns" lease/gungnir-leader '{.spec.holderIdentity}')
assert_nonempty "Lease $ns/gungnir-leader has a holder" "$holder"

apply_vkc "$ns" "$name" 3 >/dev/null
expect_within "$name settles under the leader" 180 vkc_settled "$ns" "$name" 3 ||
    { fail "the cluster never settled: the rest of the suite is skipped"; suite_end; exit 1; }
kc -n "$ns" scale "vkc/$name" --replicas=4 >/dev/null
expect_within "$name scales to 4 under the leader" 180 vkc_settled "$ns" "$name" 4
sleep 3
assert_eq "the follower is not leading" 0 "$(metric "$(murl $follower)" gungnir_controller_leader)"
fw=$(metric "$(murl $follower)" gungnir_controller_api_writes_total)
assert_eq "the follower made no writes (gungnir_controller_api_writes_total)" 0 "$fw"
lw=$(metric "$(murl $leader)" gungnir_controller_api_writes_total)
assert_ge "the leader made the writes" 1 "${lw:-0}"
stays_for "still exactly one leader" 10 one_leader

say "SIGKILL to the leader"
kill -KILL "${PID[$leader]}"
t0=$(date +%s)
took_over() {
    local l
    l=$(metric "$(murl $follower)" gungnir_controller_leader)
    echo "follower leader gauge '$l'; Lease holder: $(kj "$ns" lease/gungnir-leader '{.spec.holderIdentity}')"
    [ "$l" = 1 ]
}
expect_within "the follower takes over (lease 8 s + 30 s bound)" 38 took_over
say "took over $(($(date +%s) - t0)) s after the kill"
assert_ne "the Lease changed hands" "$holder" "$(kj "$ns" lease/gungnir-leader '{.spec.holderIdentity}')"
kc -n "$ns" scale "vkc/$name" --replicas=3 >/dev/null
expect_within "$name scales 4 -> 3 under the new leader" 180 vkc_settled "$ns" "$name" 3
nw=$(metric "$(murl $follower)" gungnir_controller_api_writes_total)
assert_ge "the new leader wrote" 1 "${nw:-0}"
kill "${PID[$follower]}" 2>/dev/null
suite_end

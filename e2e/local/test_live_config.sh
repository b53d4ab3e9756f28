#!/usr/bin/env bash
# e2e suite "live_config": spec.config of a running 3-pod ValkeyCluster.
#   - a new value of a key Valkey takes at run time (maxmemory-policy, timeout) reaches every
#     server with CONFIG SET: no pod restarted, the pod template's config hash unchanged, the
#     ConfigMap holds the new lines;
#   - a value Valkey refuses: Degraded with Valkey's words, one ConfigRefused Event, the
#     servers keep the old value and keep serving; a good value clears it;
#   - a key Valkey reads only at start (databases) is applied by the rolling update: every pod
#     restarted once, CONFIG GET shows it, no failover.
set -uo pipefail
# shellcheck source=failover_lib.sh
. "$(dirname "$0")/failover_lib.sh"
suite_begin
fo_setup || { suite_end; exit 1; }
make_ns liveconf || { suite_end; exit 1; }
ns=$E2E_NS
name=lc
on_cleanup fo_delete "$ns" "$name"
out=$(apply_vkc "$ns" "$name" 3 "config:" "  maxmemory-policy: allkeys-lru" "  timeout: \"0\"" 2>&1)
assert_contains "kubectl apply of $name accepted" "valkeycluster.gungnir.dev/$name created" "$out"
expect_within "$name settles: Running, 3/3 ready, one primary" 180 vkc_settled "$ns" "$name" 3 || { suite_end; exit 1; }

# on_every_pod KEY VALUE: CONFIG GET KEY is VALUE on every pod.
on_every_pod() {
    local p got
    for p in $(pods_of "$ns" "$name"); do
        got=$(vcli "$ns" "$name" "$p" CONFIG GET "$1" | sed -n 2p)
        [ "$got" = "$2" ] || { echo "$p: $1 = '$got'"; return 1; }
    done
}
pods_now() { kc -n "$ns" get pods -l "app.kubernetes.io/instance=$name" -o 'jsonpath={range .items[*]}{.metadata.name}={.metadata.uid}:{.status.containerStatuses[0].restartCount} {end}'; }
config_hash() { kj "$ns" "sts/$name" '{.spec.template.metadata.annotations.gungnir\.dev/config-hash}'; }

check "every pod runs maxmemory-policy allkeys-lru" on_every_pod maxmemory-policy allkeys-lru
pods0=$(pods_now)
hash0=$(config_hash)
epoch0=$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')
say "pods $pods0; config hash $hash0"

kc -n "$ns" patch vkc "$name" --type merge -p '{"spec":{"config":{"maxmemory-policy":"volatile-lru","timeout":"300"}}}' >/dev/null
expect_within "every server runs maxmemory-policy volatile-lru (CONFIG SET)" 60 on_every_pod maxmemory-policy volatile-lru
expect_within "every server runs timeout 300" 30 on_every_pod timeout 300
assert_contains "the ConfigMap holds the new line" "maxmemory-policy volatile-lru" \
    "$(kj "$ns" "configmap/$name-config" '{.data.valkey\.conf}')"
stays_for "no pod restarts and the config hash stays (15 s)" 15 bash -c "[ \"\$(kubectl -n $ns get pods -l app.kubernetes.io/instance=$name -o 'jsonpath={range .items[*]}{.metadata.name}={.metadata.uid}:{.status.containerStatuses[0].restartCount} {end}')\" = '$pods0' ] && [ \"\$(kubectl -n $ns get sts $name -o 'jsonpath={.spec.template.metadata.annotations.gungnir\\.dev/config-hash}')\" = '$hash0' ]"

# A value Valkey refuses.
kc -n "$ns" patch vkc "$name" --type merge -p '{"spec":{"config":{"maxmemory-policy":"no-such-policy"}}}' >/dev/null
degraded() { [ "$(kj "$ns" "vkc/$name" '{.status.conditions[?(@.type=="Degraded")].status}')" = True ] &&
    kj "$ns" "vkc/$name" '{.status.conditions[?(@.type=="Degraded")].message}' | grep -q 'spec.config\[maxmemory-policy\]'; }
expect_within "Degraded saying Valkey refused spec.config[maxmemory-policy]" 60 degraded
say "Degraded: $(kj "$ns" "vkc/$name" '{.status.conditions[?(@.type=="Degraded")].message}')"
expect_within "a ConfigRefused Event" 30 has_event "$ns" "$name" ConfigRefused
check "the servers keep volatile-lru" on_every_pod maxmemory-policy volatile-lru
assert_eq "the primary still takes writes" OK "$(vcli "$ns" "$name" "$(kj "$ns" "vkc/$name" '{.status.primary}')" SET lc:k v)"
sleep 5
assert_eq "one ConfigRefused Event, not one per reconcile" 1 "$(fo_event_count "$ns" "$name" ConfigRefused)"
kc -n "$ns" patch vkc "$name" --type merge -p '{"spec":{"config":{"maxmemory-policy":"allkeys-lfu"}}}' >/dev/null
expect_within "a good value is applied" 60 on_every_pod maxmemory-policy allkeys-lfu
expect_within "$name is Running again (not Degraded)" 60 vkc_settled "$ns" "$name" 3
assert_eq "still no pod restarted" "$pods0" "$(pods_now)"

# A key Valkey reads only at start: the rolling update.
kc -n "$ns" patch vkc "$name" --type merge -p '{"spec":{"config":{"databases":"32"}}}' >/dev/null
expect_within "the pod template's config hash changes" 30 bash -c "[ \"\$(kubectl -n $ns get sts $name -o 'jsonpath={.spec.template.metadata.annotations.gungnir\\.dev/config-hash}')\" != '$hash0' ]"
rolled() {
    local p
    for p in $(pods_of "$ns" "$name"); do
        grep -q "$p=$(kj "$ns" "pod/$p" '{.metadata.uid}'):" <<<"$pods0" && { echo "$p not restarted yet"; return 1; }
    done
    vkc_settled "$ns" "$name" 3
}
expect_within "every pod is restarted once by the rolling update and the cluster settles" 240 rolled
check "every server runs databases 32" on_every_pod databases 32
check "and keeps maxmemory-policy allkeys-lfu" on_every_pod maxmemory-policy allkeys-lfu
assert_eq "no failover (epoch unchanged)" "$epoch0" "$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')"
suite_end

#!/usr/bin/env bash
# e2e suite "metrics": a 3-pod ValkeyCluster with spec.metrics.enabled runs the redis_exporter
# sidecar in every pod (2 containers, both ready), whose /metrics on <podIP>:9121 shows the
# server up (it authenticates with the password from the Secret) and the replication as each
# pod sees it; turning metrics off rolls the pods one at a time (never more than one pod
# unavailable, sampled every ~250 ms) to 1 container each, with no metrics port answering,
# and the cluster stays Running with one primary.
set -uo pipefail
export SUITE=metrics
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
suite_begin
make_ns metrics || { suite_end; exit 1; }
ns=$E2E_NS
name=mon
start_proxy || fail "kubectl proxy did not start"

out=$(apply_vkc "$ns" "$name" 3 "metrics:" "  enabled: true" 2>&1)
assert_contains "kubectl apply accepted (metrics.enabled: true)" "valkeycluster.gungnir.dev/$name created" "$out"
on_cleanup "kc -n $ns delete vkc $name --wait=false >/dev/null 2>&1"
expect_within "$name settles: Running, 3/3 ready, one primary" 180 vkc_settled "$ns" "$name" 3 ||
    { fail "the cluster never settled: the rest of the suite is skipped"; suite_end; exit 1; }

# two_ready POD: 2 containers, valkey and metrics, both ready.
two_ready() {
    local got
    got=$(kj "$ns" "pod/$1" '{.status.containerStatuses[*].name}={.status.containerStatuses[*].ready}')
    echo "$1: $got"
    [ "$got" = "valkey metrics=true true" ]
}
scrape() { curl -sf --max-time 5 "http://$(pod_ip "$ns" "$1"):9121/metrics"; }
# has_metric POD REGEX: a line of the pod's /metrics matches REGEX (grep -E, whole line).
has_metric() {
    local m
    m=$(scrape "$1") || { echo "$1: /metrics did not answer"; return 1; }
    grep -E '^redis_(up|connected_slaves|master_link_up|instance_info)' <<<"$m" | cut -c1-160
    grep -qxE "$2" <<<"$m"
}

prim=$(kj "$ns" "vkc/$name" '{.status.primary}')
prim_ip=$(pod_ip "$ns" "$prim")
for p in $(pods_of "$ns" "$name"); do
    check "$p: Ready with 2 containers (valkey, metrics), both ready" two_ready "$p"
    assert_eq "$p: annotation prometheus.io/scrape" true "$(kj "$ns" "pod/$p" '{.metadata.annotations.prometheus\.io/scrape}')"
    assert_eq "$p: annotation prometheus.io/port" 9121 "$(kj "$ns" "pod/$p" '{.metadata.annotations.prometheus\.io/port}')"
    expect_within "$p: http://<podIP>:9121/metrics shows redis_up 1" 60 has_metric "$p" 'redis_up 1'
done
expect_within "the primary $prim: redis_connected_slaves 2" 60 has_metric "$prim" 'redis_connected_slaves 2'
check "the primary $prim: redis_instance_info says role master" has_metric "$prim" 'redis_instance_info\{.*role="master".*\} 1'
online_slaves() { # two redis_connected_slave_offset_bytes series in state online
    local n
    n=$(scrape "$prim" | grep -c '^redis_connected_slave_offset_bytes{.*slave_state="online"')
    echo "online replica series: $n"
    [ "$n" = 2 ]
}
expect_within "the primary: both replicas online (redis_connected_slave_offset_bytes)" 60 online_slaves
for p in $(pods_with_role "$ns" "$name" replica); do
    check "replica $p: redis_instance_info says role slave" has_metric "$p" 'redis_instance_info\{.*role="slave".*\} 1'
    expect_within "replica $p: redis_master_link_up 1 towards the primary $prim_ip" 60 \
        has_metric "$p" "redis_master_link_up\\{master_host=\"${prim_ip//./\\.}\",master_port=\"6379\"\\} 1"
done
assert_eq "the headless Service has a metrics port 9121" "metrics=9121" \
    "$(kj "$ns" "service/$name-headless" '{range .spec.ports[?(@.name=="metrics")]}{.name}={.port}{end}')"

# ---- metrics off: a template change, rolled one pod at a time
uids_before=$(kc -n "$ns" get pods -l "app.kubernetes.io/instance=$name" -o 'jsonpath={.items[*].metadata.uid}')
sampler_dir=$(mktemp -d /tmp/e2e-metrics.XXXXXX)
on_cleanup "touch $sampler_dir/stop; rm -rf $sampler_dir"
(
    # unavailable = 3 - pods that exist, are not being deleted and are Ready
    while [ ! -e "$sampler_dir/stop" ]; do
        line=$(curl -sf --max-time 3 "$E2E_PROXY/api/v1/namespaces/$ns/pods?labelSelector=app.kubernetes.io/instance%3D$name" |
            jq -r '[.items[] | select(.metadata.deletionTimestamp == null)
                    | select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))] as $ok
                   | "\(3 - ($ok | length)) \([.items[] | "\(.metadata.name):\(.spec.containers | length)\(if .metadata.deletionTimestamp then ":deleting" else "" end)"] | join(","))"' 2>/dev/null) &&
            echo "$(date +%H:%M:%S.%N | cut -c1-12) $line" >>"$sampler_dir/samples"
        sleep 0.25
    done
) &
sampler=$!
on_cleanup "kill $sampler 2>/dev/null"
wait_for "the sampler's first sample" 20 test -s "$sampler_dir/samples" >/dev/null

out=$(kc -n "$ns" patch vkc "$name" --type merge -p '{"spec":{"metrics":{"enabled":false}}}' 2>&1)
assert_contains "kubectl patch metrics.enabled=false" patched "$out"
one_container_each() {
    local p bad=0
    for p in $(pods_of "$ns" "$name"); do
        n=$(kj "$ns" "pod/$p" '{.spec.containers[*].name}')
        echo "$p: containers $n"
        [ "$n" = valkey ] || bad=1
    done
    [ "$bad" = 0 ] && vkc_settled "$ns" "$name" 3 >/dev/null
}
expect_within "every pod rolled to 1 container (valkey) and the cluster settled" 300 one_container_each
touch "$sampler_dir/stop"
wait "$sampler" 2>/dev/null
max=$(awk '{print $2}' "$sampler_dir/samples" | sort -n | tail -n 1)
say "samples: $(wc -l <"$sampler_dir/samples"); the ones with a pod unavailable:"
awk '$2 > 0' "$sampler_dir/samples" | sed 's/^/       | /' | tail -n 40
assert_eq "at most one pod unavailable at any sample during the roll" 1 "$max"
uids_after=$(kc -n "$ns" get pods -l "app.kubernetes.io/instance=$name" -o 'jsonpath={.items[*].metadata.uid}')
replaced=0
for u in $uids_after; do grep -qw -- "$u" <<<"$uids_before" || replaced=$((replaced + 1)); done
assert_eq "all 3 pods were replaced" 3 "$replaced"

for p in $(pods_of "$ns" "$name"); do
    assert_eq "$p: 1 container status (valkey), ready" "valkey=true" \
        "$(kj "$ns" "pod/$p" '{.status.containerStatuses[*].name}={.status.containerStatuses[*].ready}')"
    ip=$(pod_ip "$ns" "$p")
    curl -s -o /dev/null --max-time 3 "http://$ip:9121/metrics"
    rc=$?
    if [ "$rc" -ne 0 ]; then pass "$p: nothing answers on $ip:9121 (curl exit $rc)"; else fail "$p: $ip:9121 still answers"; fi
    assert_eq "$p: no prometheus.io/scrape annotation" "" "$(kj "$ns" "pod/$p" '{.metadata.annotations.prometheus\.io/scrape}')"
done
assert_eq "the headless Service has no metrics port" "" \
    "$(kj "$ns" "service/$name-headless" '{range .spec.ports[?(@.name=="metrics")]}{.name}{end}')"
assert_eq "still Running" Running "$(kj "$ns" "vkc/$name" '{.status.phase}')"
assert_eq "exactly one pod labelled primary" 1 "$(pods_with_role "$ns" "$name" primary | wc -w)"
expect_within "every replica follows the primary with its link up" 60 replicas_attached "$ns" "$name"

say "cleanup: deleting the ValkeyCluster"
kc -n "$ns" delete vkc "$name" --wait=true --timeout=60s >/dev/null
pods_gone() { local left; left=$(pods_of "$ns" "$name"); echo "pods left: $left"; [ -z "$left" ]; }
expect_within "the cluster's pods are gone" 90 pods_gone
suite_end

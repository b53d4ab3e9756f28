#!/usr/bin/env bash
# e2e suite "fault_scenarios": faults of the control plane in the middle of the operator's work, on
# one 3-pod ValkeyCluster while a client writes (SET + WAIT 1 500, acknowledged only when a replica
# has it) through the read-write Service's Endpoints. Throughout, a 100 ms watcher (and the replayed
# watch streams) must never see two pods labelled primary nor status.failover.epoch going back (two
# ready IPs in the Endpoints, which kube-controller-manager writes, are reported, see fs_watch_ok), and
# after each scenario every acknowledged write must be on the primary.
#   1. kube-apiserver restarted in the middle of a failover: the primary's server is killed and the
#      API server restarted as soon as status.failover.inProgress is true (or 1.5 s after the kill
#      when that is not seen): one new primary, replicas linked, epoch + >= 1, within a bound.
#   2. etcd restarted in steady state (an owned object deleted afterwards comes back) and in the
#      middle of a failover (0.5 s after the kill): the operator recovers, nothing is lost.
#   3. the informers' watches broken and their events lost: gungnir paused (SIGSTOP), meanwhile a
#      replica pod and the owned Service <name>-replicas are deleted and spec.replicas goes 3 -> 4,
#      then kube-apiserver is restarted (every watch drops; the new watch cache is newer than what
#      gungnir saw, so its watches get 410 Gone) and gungnir resumed: its caches must recover by a
#      new list, the Service come back and the scale be carried out, within a bound.
#   4. the Lease lost in the middle of a switchover: two controllers with --leader-elect (lease 6 s);
#      the leader (a, whose API traffic goes through a recording proxy) is paused with SIGSTOP right
#      after it sends FAILOVER TO (seen in its GUNGNIR_FAULT_TRACE); b takes over and the cluster
#      ends with one primary; a resumed with SIGCONT must say it lost the leadership and send no
#      API write (as the proxy saw on the wire) and no Valkey command that is not refused.
# Needs the local platform (it restarts etcd and kube-apiserver and starts gungnir processes).
set -uo pipefail
# shellcheck source=failover_lib.sh
. "$(dirname "$0")/failover_lib.sh"
# shellcheck source=fault_scenarios_lib.sh
. "$(dirname "$0")/fault_scenarios_lib.sh"
export SUITE=fault_scenarios
suite_begin
if [ "$E2E_PLATFORM" != local ]; then say "local only; skipped"; suite_end; exit; fi
fo_setup || { suite_end; exit 1; }
make_ns faults || { suite_end; exit 1; }
ns=$E2E_NS
name=fs
on_cleanup fo_delete "$ns" "$name"
# Whatever happens, leave a running (default) gungnir behind.
on_cleanup "[ -n \"\$(operator_pid)\" ] && kill -0 \"\$(operator_pid)\" 2>/dev/null || operator_start >/dev/null 2>&1"
# Bounds (generous: a shared 2-core machine), each a real bound.
CONVERGE_S=${FS_CONVERGE_S:-150}
declare -a RESULTS=()
scenario_t0=0
scenario_begin() { scenario_t0=$(date +%s); say "=== scenario $*"; }
scenario_end() { RESULTS+=("$1: $(($(date +%s) - scenario_t0)) s"); }

fo_create "$ns" "$name" 3 || { suite_end; exit 1; }
fo_watch_start "$ns" "$name" "$FO_WORK/watch"
fo_client_start "$ns" "$name" "$FO_WORK/client"
expect_within "the client writes through the Service's Endpoints (acknowledged writes)" 30 \
    bash -c "[ \$(wc -l <$FO_WORK/client/acked 2>/dev/null || echo 0) -ge 20 ]"

epoch() { fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0'; }
# after_scenario N: one primary with linked replicas (bounded), the client writes again, every
# acknowledged write is on the primary, no violation so far.
after_scenario() {
    local n=$1 prim
    expect_within "the cluster converges: $n pods, one primary, replicas linked" "$CONVERGE_S" fs_converged "$ns" "$name" "$n"
    prim=$(kj "$ns" "vkc/$name" '{.status.primary}')
    expect_within "the client's writes are acknowledged again" 60 fo_acked_grows "$FO_WORK/client"
    check "every acknowledged write so far ($(fo_acked "$FO_WORK/client")) is on the primary $prim" fo_verify "$ns" "$name" "$prim" "$FO_WORK/client"
    check "never two pods labelled primary, the epoch never went back (so far)" fs_watch_ok "$FO_WORK/watch"
}

# ---- 1. kube-apiserver restarted in the middle of a failover ---------------------------------
scenario_begin "1: kube-apiserver restarted in the middle of a failover"
old=$(kj "$ns" "vkc/$name" '{.status.primary}')
e0=$(epoch)
log0=$(fo_log_lines)
spid=$(fo_server_pid "$ns" "$old")
t0=$(now_ms)
kill -KILL "$spid"
say "kill -9 $spid (the server of the primary $old), epoch $e0"
trigger="1.5 s after the kill (inProgress not seen)"
deadline=$((t0 + 1500))
while [ "$(now_ms)" -lt "$deadline" ]; do
    if [ "$(fo_vkc_field "$ns" "$name" '.status.failover.inProgress')" = true ]; then
        trigger="status.failover.inProgress true, $(($(now_ms) - t0)) ms after the kill"
        break
    fi
    sleep 0.03
done
out=$(apiserver_restart 2>&1) && pass "kube-apiserver restarted ($trigger): $out" || fail "kube-apiserver restart: $out"
expect_within "kube-apiserver /readyz ok again" 90 apiserver_ready
check "gungnir survived the API server restart" kill -0 "$(operator_pid)"
expect_within "a new primary (not $old), failover finished, replicas linked" "$CONVERGE_S" fs_converged "$ns" "$name" 3 "$old"
e1=$(epoch)
assert_ge "status.failover.epoch grew ($e0 -> $e1)" $((e0 + 1)) "$e1"
say "lastFailover: $(fo_vkc_field "$ns" "$name" '.status.lastFailover|tojson')"
if fo_vkc_field "$ns" "$name" '.status.lastFailover.reason' | grep -q 'resumed after a controller restart'; then
    say "note: lastFailover says 'resumed after a controller restart' though gungnir did not restart: the failover's end could not be written while the API server was down, and the next reconcile resumed it (the detection's reason and duration are lost)"
fi
after_scenario 3
fo_log_since "$log0" | grep -v '"level":"debug"' | grep -E 'failover|Failover|watch|list' | cut -c1-220 | head -n 12 | sed 's/^/       | /'
scenario_end "1 apiserver restart mid-failover ($trigger)"

# ---- 2. etcd restarted: steady state, then in the middle of a failover ----------------------
scenario_begin "2a: etcd restarted in steady state"
out=$(etcd_restart 2>&1) && pass "etcd restarted: $out" || fail "etcd restart: $out"
expect_within "etcd healthy again" 60 etcd_healthy
expect_within "kube-apiserver /readyz ok again" 90 apiserver_ready
check "gungnir survived the etcd restart" kill -0 "$(operator_pid)"
cm_uid=$(kj "$ns" "configmap/$name-config" '{.metadata.uid}')
kc -n "$ns" delete configmap "$name-config" >/dev/null 2>&1 || fail "delete configmap $name-config"
cm_back() {
    local uid
    uid=$(kj "$ns" "configmap/$name-config" '{.metadata.uid}')
    echo "ConfigMap $name-config uid '$uid' (was $cm_uid)"
    [ -n "$uid" ] && [ "$uid" != "$cm_uid" ]
}
expect_within "ConfigMap $name-config deleted after the etcd restart comes back" 120 cm_back
after_scenario 3
scenario_end "2a etcd restart, steady state"

scenario_begin "2b: etcd restarted in the middle of a failover"
old=$(kj "$ns" "vkc/$name" '{.status.primary}')
e0=$(epoch)
spid=$(fo_server_pid "$ns" "$old")
kill -KILL "$spid"
say "kill -9 $spid (the server of the primary $old), epoch $e0; etcd restarted 0.5 s later"
sleep 0.5
out=$(etcd_restart 2>&1) && pass "etcd restarted 0.5 s after the kill: $out" || fail "etcd restart: $out"
expect_within "etcd healthy again" 60 etcd_healthy
expect_within "kube-apiserver /readyz ok again" 90 apiserver_ready
expect_within "a new primary (not $old), failover finished, replicas linked" "$CONVERGE_S" fs_converged "$ns" "$name" 3 "$old"
e1=$(epoch)
assert_ge "status.failover.epoch grew ($e0 -> $e1)" $((e0 + 1)) "$e1"
after_scenario 3
scenario_end "2b etcd restart mid-failover"

# ---- from here on: a webhook-only gungnir, and controllers started by this suite ------------
# (a paused controller must not hold up the admission of the changes made meanwhile)
bin=$E2E_ROOT/${E2E_BUILD:-build}/gungnir
lease=(--leader-elect --leader-elect-lease-duration 6 --leader-elect-renew-deadline 4 --leader-elect-retry-period 1
    --leader-elect-resource-namespace "$ns")
operator_stop
DEFAULT_OP=0
on_cleanup '[ "$DEFAULT_OP" = 1 ] || operator_restart >/dev/null 2>&1'
out=$(operator_start --disable-controller 2>&1) || fail "webhook-only gungnir: $out"
free_port() { local p; while :; do p=$((20000 + RANDOM % 20000)); [ -z "$(ss -Htan "( sport = :$p or sport = :$((p + 1)) )")" ] && { echo "$p"; return; }; done; }
declare -A PID PORT LOG
start_controller() { # WHO KUBECONFIG LEADER_ELECT(0|1) [VAR=value...]
    local who=$1 kcfg=$2 le=$3 flags=()
    shift 3
    [ "$le" = 1 ] && flags=("${lease[@]}")
    PORT[$who]=$(free_port)
    LOG[$who]=$STATE_DIR/logs/gungnir-fs-$who.log
    env "$@" "$bin" --kubeconfig "$kcfg" --disable-webhook "${flags[@]}" \
        --health-probe-bind-address "127.0.0.1:${PORT[$who]}" --metrics-bind-address "127.0.0.1:$((PORT[$who] + 1))" \
        >>"${LOG[$who]}" 2>&1 &
    PID[$who]=$!
    disown "${PID[$who]}"
    on_cleanup "kill -CONT ${PID[$who]} 2>/dev/null; kill ${PID[$who]} 2>/dev/null"
    say "controller $who: pid ${PID[$who]}, metrics 127.0.0.1:$((PORT[$who] + 1)), log ${LOG[$who]}"
}
leads() { # WHO
    local l
    l=$(metric "http://127.0.0.1:$((PORT[$1] + 1))/metrics" gungnir_controller_leader)
    echo "$1 leader gauge '$l'; Lease holder: $(kj "$ns" lease/gungnir-leader '{.spec.holderIdentity}')"
    [ "$l" = 1 ]
}
start_controller w "$KUBECONFIG" 0
expect_within "the cluster is settled under controller w" 90 fs_converged "$ns" "$name" 3

# ---- 3. the watches broken, events lost: the caches recover by a new list ---------------------
scenario_begin "3: gungnir's watches broken while the cluster changes (events lost)"
opid=${PID[w]}
prim=$(kj "$ns" "vkc/$name" '{.status.primary}')
victim=$(pods_with_role "$ns" "$name" replica | tr ' ' '\n' | head -n 1)
svc_uid=$(kj "$ns" "svc/$name-replicas" '{.metadata.uid}')
log0=$(wc -l <"${LOG[w]}")
kill -STOP "$opid"
on_cleanup "kill -CONT $opid 2>/dev/null"
say "controller w (pid $opid) paused; deleting pod $victim and Service $name-replicas, scaling 3 -> 4"
kc -n "$ns" delete pod "$victim" --wait=false >/dev/null 2>&1 || fail "delete pod $victim"
kc -n "$ns" delete svc "$name-replicas" --wait=false >/dev/null 2>&1 || fail "delete svc $name-replicas"
out=$(kc -n "$ns" scale "vkc/$name" --replicas=4 2>&1)
assert_contains "kubectl scale --replicas=4 while gungnir is paused" scaled "$out"
out=$(apiserver_restart 2>&1) && pass "kube-apiserver restarted (every watch dropped): $out" || fail "kube-apiserver restart: $out"
expect_within "kube-apiserver /readyz ok again" 90 apiserver_ready
kill -CONT "$opid"
t_cont=$(date +%s)
say "gungnir resumed"
svc_back() {
    local uid
    uid=$(kj "$ns" "svc/$name-replicas" '{.metadata.uid}')
    echo "Service $name-replicas uid '$uid' (was $svc_uid)"
    [ -n "$uid" ] && [ "$uid" != "$svc_uid" ]
}
expect_within "the Service $name-replicas deleted while gungnir was paused is recreated" "$CONVERGE_S" svc_back
expect_within "the scale 3 -> 4 made while gungnir was paused is carried out (4 pods, one primary, replicas linked)" "$CONVERGE_S" \
    fs_converged "$ns" "$name" 4
say "converged $(($(date +%s) - t_cont)) s after gungnir resumed"
relisted() {
    local l
    l=$(tail -n "+$((log0 + 1))" "${LOG[w]}" | grep 'listing again' | head -n 8)
    echo "${l:-no 'listing again' line; the watch lines: $(tail -n "+$((log0 + 1))" "${LOG[w]}" | grep -c 'watch failed')}"
    [ -n "$l" ]
}
check "gungnir's log says its informers listed again (the watch could not resume)" relisted
assert_eq "the primary did not move" "$prim" "$(kj "$ns" "vkc/$name" '{.status.primary}')"
after_scenario 4
kill "${PID[w]}" 2>/dev/null
scenario_end "3 watches broken + events lost (relist)"

# ---- 4. the Lease lost in the middle of a switchover ----------------------------------------
scenario_begin "4: the leader paused past its Lease in the middle of a switchover"
rec_proxy_start "$FO_WORK/proxy" || fail "the recording proxy did not start"
trace=$FO_WORK/a.trace
start_controller a "$FO_WORK/proxy/kubeconfig" 1 GUNGNIR_FAULT_TRACE="$trace"
expect_within "controller a leads (its API traffic through the recording proxy)" 60 leads a
start_controller b "$KUBECONFIG" 1
expect_within "controller b is up and follows" 30 bash -c "curl -sf --max-time 2 http://127.0.0.1:$((PORT[b] + 1))/metrics | grep -q '^gungnir_controller_leader 0'"
expect_within "the cluster is settled under a" 90 fs_converged "$ns" "$name" 4
old=$(kj "$ns" "vkc/$name" '{.status.primary}')
target=$(for p in $(pods_with_role "$ns" "$name" replica); do echo "${p##*-} $p"; done | sort -k1,1nr | head -n 1 | cut -d' ' -f2)
e0=$(epoch)
nfo0=$(grep -c '^valkey.failover ' "$trace" 2>/dev/null)
say "primary $old, switchover target $target, epoch $e0"
kc -n "$ns" annotate "vkc/$name" "gungnir.dev/switchover-to=$target" >/dev/null || fail "annotate"
t_ann=$(now_ms)
stopped=0
while [ $(($(now_ms) - t_ann)) -lt 60000 ]; do
    if [ "$(grep -c "^valkey.failover " "$trace" 2>/dev/null)" -gt "${nfo0:-0}" ] 2>/dev/null; then
        sleep 0.03 # the command itself is on its way: FAILOVER TO answers at once, the move goes on
        kill -STOP "${PID[a]}" && stopped=1
        break
    fi
    sleep 0.005
done
t_stop=$(now_ms)
if [ "$stopped" = 1 ]; then
    pass "a paused (SIGSTOP) $((t_stop - t_ann)) ms after the annotation, right after its FAILOVER TO"
else
    fail "a never sent FAILOVER TO within 60 s (trace: $(tail -n 3 "$trace" 2>/dev/null | tr '\n' ' '))"
fi
say "at the pause: ROLE($target)=$(role_of "$ns" "$name" "$target"), labelled primary: $(pods_with_role "$ns" "$name" primary)"
expect_within "b takes the Lease (lease 6 s + 30 s)" 36 leads b
expect_within "under b: one primary, replicas linked" "$CONVERGE_S" fs_converged "$ns" "$name" 4
annotation_gone() {
    local v
    v=$(fo_vkc_field "$ns" "$name" '(.metadata.annotations // {})["gungnir.dev/switchover-to"] // "<none>"')
    echo "annotation '$v'; primary $(kj "$ns" "vkc/$name" '{.status.primary}')"
    [ "$v" = "<none>" ]
}
expect_within "the switchover request is finished by b (annotation removed)" 60 annotation_gone
assert_eq "the primary is the switchover's target" "$target" "$(kj "$ns" "vkc/$name" '{.status.primary}')"
ntrace=$(wc -l <"$trace")
nalog=$(wc -l <"${LOG[a]}")
t_cont=$(now_ms)
kill -CONT "${PID[a]}"
say "a resumed (SIGCONT) after $((t_cont - t_stop)) ms paused"
lost_said() {
    local l
    l=$(tail -n "+$((nalog + 1))" "${LOG[a]}" | grep 'lost the leadership' | head -n 1)
    echo "${l:-no 'lost the leadership' line yet}"
    [ -n "$l" ]
}
expect_within "a's log says it lost the leadership" 30 lost_said
stays_for "one primary ($target), replicas linked, while a is back" 10 fs_converged "$ns" "$name" 4
check "a is not leading (gauge 0)" bash -c "curl -sf --max-time 2 http://127.0.0.1:$((PORT[a] + 1))/metrics | grep -q '^gungnir_controller_leader 0'"
writes=$(rec_writes_since "$FO_WORK/proxy" "$t_cont")
if [ -z "$writes" ]; then
    pass "a sent no API write after it was resumed (recording proxy: $(awk -v t="$t_cont" '$1 >= t && $2 == "REQ"' "$FO_WORK/proxy/requests" | wc -l) requests, all reads)"
else
    fail "a sent API writes after it lost the Lease (as the proxy saw them):"
    sed 's/^/       | /' <<<"$writes" | head -n 20
    grep -E " RESP .* (POST|PUT|PATCH|DELETE) " "$FO_WORK/proxy/requests" | awk -v t="$t_cont" '$1 >= t' | sed 's/^/       | answer: /' | head -n 20
fi
vhits=$(tail -n "+$((ntrace + 1))" "$trace" | grep '^valkey\.' || true)
refused=$(tail -n "+$((nalog + 1))" "${LOG[a]}" | grep -c 'no longer the leader')
if [ -z "$vhits" ]; then
    pass "a started no Valkey command that changes a server after it was resumed"
elif [ "$refused" -ge "$(wc -l <<<"$vhits")" ]; then
    pass "a's Valkey commands after it was resumed were refused by the fence ($(tr '\n' ' ' <<<"$vhits"); $refused 'no longer the leader' lines)"
else
    fail "a reached Valkey fault points after it was resumed ($(tr '\n' ' ' <<<"$vhits")) with only $refused refusals in its log"
fi
say "a's log after the resume:"
tail -n "+$((nalog + 1))" "${LOG[a]}" | grep -v '"level":"debug"' | cut -c1-220 | head -n 12 | sed 's/^/       | /'
e1=$(epoch)
assert_ge "status.failover.epoch did not go back ($e0 -> $e1)" "$e0" "$e1"
[ "$e1" = "$e0" ] || say "note: the new leader b recorded a failover (epoch $e0 -> $e1): $(grep -h 'FailoverCompleted\|failover: promoting\|requested switchover' "${LOG[b]}" | cut -c1-200 | tr '\n' ' ')"
after_scenario 4
kill "${PID[a]}" "${PID[b]}" 2>/dev/null
rec_proxy_stop
operator_restart >/dev/null 2>&1 && DEFAULT_OP=1 || fail "the default gungnir did not start again"
expect_within "the cluster is settled under the default gungnir again" 90 fs_converged "$ns" "$name" 4
scenario_end "4 lease lost mid-switchover"

# ---- the end -------------------------------------------------------------------------------
fo_client_stop "$FO_WORK/client"
prim=$(kj "$ns" "vkc/$name" '{.status.primary}')
check "every acknowledged write ($(fo_acked "$FO_WORK/client")) is on the final primary $prim" fo_verify "$ns" "$name" "$prim" "$FO_WORK/client"
fo_watch_stop "$FO_WORK/watch" | sed 's/^/       | /'
check "the watcher never saw two pods labelled primary nor the epoch going back" fs_watch_ok "$FO_WORK/watch"
say "client: $(fo_acked "$FO_WORK/client") acknowledged, $(wc -l <"$FO_WORK/client/unacked" 2>/dev/null || echo 0) not acknowledged"
say "durations:"
printf '       | %s\n' "${RESULTS[@]}"
suite_end

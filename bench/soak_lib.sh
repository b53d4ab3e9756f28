# bench/soak_lib.sh — the soak: two ValkeyClusters under a steady acknowledged write load (SET + WAIT
# 1 500 through each read-write Service's Endpoints) while random faults are injected one at a time,
# each followed by its recovery. Sourced (after e2e/local/failover_lib.sh and
# e2e/local/fault_scenarios_lib.sh) by bench/soak.sh (its own cluster, a long run) and by the e2e
# suite e2e/local/test_soak.sh (run.sh's cluster, ~90 s); not run.
# shellcheck shell=bash
#
#   soak_run SECONDS     sets up (namespace, clusters, clients, watchers), injects faults until
#                        SECONDS have passed since the load started, stops the load, checks every
#                        acknowledged write, prints the totals and sets the SOAK_* results below.
#
# Faults (SOAK_KINDS, space-separated, default all): kill_primary (kill -9 the primary's server),
# stop_primary (SIGSTOP it for SOAK_STOP_S, default 8 s, then SIGCONT), partition_primary
# (netns.sh cut, healed once another pod is primary), kill_operator (kill -9 gungnir, start it
# again), restart_apiserver, restart_etcd, switchover (annotate a replica). A fault picks one of
# the clusters at random; SOAK_SEED seeds the choices (printed, so a run can be replayed).
#
# Recovery (per fault, both clusters): no switchover request pending, exactly N pods of which one is labelled primary and is the
# status.primary, it answers as master with N-1 replicas online (INFO replication), the failover
# is not in progress, and its cluster's client had a write acknowledged by that primary after the
# fault. Time to recover = from the injection to the first time that holds (0.5 s polling),
# bounded by SOAK_RECOVER_S (default 180 s): a fault not recovered within it is counted as such.
#
# Results: SOAK_FAULTS (kind -> count), SOAK_RECOVERY_MS (list; SOAK_RECOVERY_AFTER_MS: the same
# from the end of the injection, i.e. once a restart or a pause is over), SOAK_UNRECOVERED, SOAK_FAILOVERS
# (status.failover.epoch growth, both clusters), SOAK_ACKED, SOAK_LOST, SOAK_VIOLATIONS (the
# watchers: two pods labelled primary, the epoch going back), SOAK_EP_VIOLATIONS (samples of the
# read-write Service's Endpoints with two ready IPs: kube-controller-manager writes them from its
# own cache, which lags behind the pods' labels after a kube-apiserver restart),
# SOAK_RSS_START / SOAK_RSS_END (kB, gungnir's VmRSS: the first process once the clusters are
# settled, the running one at the end), SOAK_RSS_MAX_GROWTH (kB, the largest growth of one gungnir
# process between its first and last sample, taken after each recovery).

SOAK_CLUSTERS=(sa sb)
SOAK_N=3
declare -A SOAK_FAULTS=() SOAK_CLIENT_PID=() SOAK_WATCH_PID=() SOAK_EPOCH0=() SOAK_RSS_FIRST=() SOAK_RSS_LAST=() SOAK_RSS_T0=() SOAK_RSS_T1=()
SOAK_RECOVERY_MS=()
SOAK_RECOVERY_AFTER_MS=()
SOAK_UNRECOVERED=0
SOAK_FAILOVERS=0
SOAK_ACKED=0
SOAK_LOST=0
SOAK_VIOLATIONS=0
SOAK_EP_VIOLATIONS=0
SOAK_RSS_START=""
SOAK_RSS_END=""
SOAK_RSS_MAX_GROWTH=0
SOAK_LOG=()

soak_note() { say "$*"; SOAK_LOG+=("[$(ts)] $*"); }

# soak_json URL: a GET through kubectl proxy (E2E_PROXY).
soak_json() { curl -sf --max-time 5 "$E2E_PROXY$1"; }

# soak_recovered NS NAME T_FAULT_MS: the recovery condition above (state on stdout).
soak_recovered() {
    local ns=$1 name=$2 t0=$3 v pods line prim phase inprog sw npods ndel labelled ip info conn online last
    v=$(soak_json "/apis/gungnir.dev/v1alpha1/namespaces/$ns/valkeyclusters/$name") || { echo "$name: no answer"; return 1; }
    line=$(jq -r '"\(.status.primary // "") \(.status.phase // "") \(.status.failover.inProgress // false) \((.metadata.annotations // {})["gungnir.dev/switchover-to"] // "-")"' <<<"$v")
    read -r prim phase inprog sw <<<"$line"
    pods=$(soak_json "/api/v1/namespaces/$ns/pods?labelSelector=app.kubernetes.io%2Finstance%3D$name") || { echo "$name: no pods answer"; return 1; }
    line=$(jq -r '[(.items | length), ([.items[] | select(.metadata.deletionTimestamp)] | length),
                   ([.items[] | select(.metadata.labels["gungnir.dev/role"] == "primary") | .metadata.name] | join(","))] | join(" ")' <<<"$pods")
    read -r npods ndel labelled <<<"$line"
    echo "$name: status.primary=$prim phase=$phase inProgress=$inprog switchover-to=$sw pods=$npods deleting=$ndel labelled=$labelled"
    [ -n "$prim" ] && [ "$inprog" != true ] && [ "$sw" = - ] && [ "$npods" = "$SOAK_N" ] && [ "$ndel" = 0 ] && [ "$labelled" = "$prim" ] || return 1
    ip=$(jq -r --arg p "$prim" '.items[] | select(.metadata.name == $p) | .status.podIP // ""' <<<"$pods")
    [ -n "$ip" ] || return 1
    info=$(REDISCLI_AUTH=$(vpassword "$ns" "$name") timeout 3 redis-cli --no-auth-warning -h "$ip" INFO replication 2>/dev/null | tr -d '\r')
    conn=$(awk -F: '$1 == "role" {r = $2} $1 == "connected_slaves" {c = $2} END {print r " " c}' <<<"$info")
    online=$(grep -c '^slave[0-9]*:.*state=online' <<<"$info")
    echo "$name: $prim ($ip) role/connected_slaves=$conn online=$online"
    [ "$conn" = "master $((SOAK_N - 1))" ] && [ "$online" = $((SOAK_N - 1)) ] || return 1
    last=$(awk -v ip="$ip" -v t="$t0" '$2 == ip && $3 >= t {n++} END {print n + 0}' "$SOAK_DIR/$name/acked" 2>/dev/null)
    echo "$name: writes acknowledged by $ip since the fault: $last"
    [ "$last" -ge 1 ]
}
soak_all_recovered() { # T_FAULT_MS
    local c ok=0
    for c in "${SOAK_CLUSTERS[@]}"; do soak_recovered "$SOAK_NS" "$c" "$1" || ok=1; done
    return $ok
}

soak_primary() { kj "$SOAK_NS" "vkc/$1" '{.status.primary}'; }
soak_epoch() { soak_json "/apis/gungnir.dev/v1alpha1/namespaces/$SOAK_NS/valkeyclusters/$1" | jq -r '.status.failover.epoch // 0'; }

# soak_rss_sample: gungnir's VmRSS (kB), remembered per pid.
soak_rss_sample() {
    local pid rss
    pid=$(operator_pid)
    rss=$(op_rss "$pid")
    [ -n "$rss" ] || return 0
    [ -n "${SOAK_RSS_FIRST[$pid]:-}" ] || { SOAK_RSS_FIRST[$pid]=$rss; SOAK_RSS_T0[$pid]=$(date +%s); }
    SOAK_RSS_LAST[$pid]=$rss
    SOAK_RSS_T1[$pid]=$(date +%s)
    [ -n "$SOAK_RSS_START" ] || SOAK_RSS_START="$rss (pid $pid)"
    SOAK_RSS_END="$rss (pid $pid)"
}

# ---- the faults: each prints what it did; the cluster it hits is $1 ---------------------------
soak_fault_kill_primary() {
    local p
    p=$(soak_primary "$1")
    echo "kill -9 the server of $1's primary $p (pid $(fo_kill_server "$SOAK_NS" "$p" KILL))"
}
soak_fault_stop_primary() {
    local p pid
    p=$(soak_primary "$1")
    pid=$(fo_kill_server "$SOAK_NS" "$p" STOP)
    sleep "${SOAK_STOP_S:-8}"
    kill -CONT "$pid" 2>/dev/null
    echo "SIGSTOP the server of $1's primary $p (pid $pid) for ${SOAK_STOP_S:-8} s, then SIGCONT"
}
soak_fault_partition_primary() {
    local p t
    p=$(soak_primary "$1")
    bash "$E2E_ROOT/e2e/cluster/netns.sh" cut "$SOAK_NS.$p" >/dev/null 2>&1 || { echo "netns.sh cut $SOAK_NS.$p failed"; return 1; }
    t=$(date +%s)
    while [ $(($(date +%s) - t)) -lt 90 ] && [ "$(soak_primary "$1")" = "$p" ]; do sleep 0.5; done
    if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "gpod-$SOAK_NS.$p"; then
        bash "$E2E_ROOT/e2e/cluster/netns.sh" heal "$SOAK_NS.$p" >/dev/null 2>&1
    fi
    echo "partition $1's primary $p (netns cut); another primary after $(($(date +%s) - t)) s; healed"
}
soak_fault_kill_operator() {
    local pid
    pid=$(operator_pid)
    operator_kill9
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    operator_start >/dev/null 2>&1 || { echo "gungnir did not start again"; return 1; }
    echo "kill -9 gungnir (pid $pid), started again (pid $(operator_pid))"
}
soak_fault_restart_apiserver() {
    local out
    out=$(apiserver_restart 2>&1) || { echo "restart failed: $out"; return 1; }
    wait_for "kube-apiserver ready" 90 apiserver_ready >/dev/null
    echo "$out"
}
soak_fault_restart_etcd() {
    local out
    out=$(etcd_restart 2>&1) || { echo "restart failed: $out"; return 1; }
    wait_for "etcd healthy" 60 etcd_healthy >/dev/null
    wait_for "kube-apiserver ready" 90 apiserver_ready >/dev/null
    echo "$out"
}
soak_fault_switchover() {
    local p target
    p=$(soak_primary "$1")
    local reps
    read -r -a reps <<<"$(pods_with_role "$SOAK_NS" "$1" replica)"
    [ "${#reps[@]}" -gt 0 ] && target=${reps[$((RANDOM % ${#reps[@]}))]}
    [ -n "$target" ] || { echo "no replica to switch over to"; return 1; }
    kc -n "$SOAK_NS" annotate "vkc/$1" "gungnir.dev/switchover-to=$target" >/dev/null 2>&1 || { echo "annotate failed"; return 1; }
    echo "switchover of $1 from $p to $target"
}

# ---- the run -------------------------------------------------------------------------------
soak_setup() {
    local c
    fo_setup || return 1
    SOAK_DIR=$FO_WORK/soak
    mkdir -p "$SOAK_DIR"
    make_ns soak || return 1
    SOAK_NS=$E2E_NS
    for c in "${SOAK_CLUSTERS[@]}"; do
        apply_vkc "$SOAK_NS" "$c" "$SOAK_N" "failover:" "  probeIntervalMilliseconds: 200" "  failureThreshold: 3" >/dev/null ||
            { fail "cannot create ValkeyCluster $c"; return 1; }
    done
    for c in "${SOAK_CLUSTERS[@]}"; do
        expect_within "$c settles: $SOAK_N pods, one primary, replicas linked" 240 fs_converged "$SOAK_NS" "$c" "$SOAK_N" || return 1
    done
    for c in "${SOAK_CLUSTERS[@]}"; do
        mkdir -p "$SOAK_DIR/$c"
        : >"$SOAK_DIR/$c/acked"
        "$FO_PY" "$FO_TOOL" client --proxy "$E2E_PROXY" --ns "$SOAK_NS" --name "$c" --dir "$SOAK_DIR/$c" \
            --password "$(vpassword "$SOAK_NS" "$c")" --prefix "soak:$c:$(date +%s)" >"$SOAK_DIR/$c/client.out" 2>&1 &
        SOAK_CLIENT_PID[$c]=$!
        on_cleanup "touch $SOAK_DIR/$c/stop-client; kill ${SOAK_CLIENT_PID[$c]} 2>/dev/null"
        "$FO_PY" "$FO_TOOL" watch --proxy "$E2E_PROXY" --ns "$SOAK_NS" --name "$c" --dir "$SOAK_DIR/$c" --never "" \
            >"$SOAK_DIR/$c/watch.out" 2>&1 &
        SOAK_WATCH_PID[$c]=$!
        on_cleanup "touch $SOAK_DIR/$c/stop; kill ${SOAK_WATCH_PID[$c]} 2>/dev/null"
        SOAK_EPOCH0[$c]=$(soak_epoch "$c")
    done
    for c in "${SOAK_CLUSTERS[@]}"; do
        expect_within "the client of $c has writes acknowledged" 60 bash -c "[ \$(wc -l <$SOAK_DIR/$c/acked) -ge 20 ]" || return 1
    done
    # The operator is cleanup's last resort: leave one running whatever happens.
    on_cleanup "[ -n \"\$(operator_pid)\" ] && kill -0 \"\$(operator_pid)\" 2>/dev/null || operator_start >/dev/null 2>&1"
}

soak_run() {
    local secs=$1 kinds kind c t0 t_end out rec rc i=0 seed
    kinds=(${SOAK_KINDS:-kill_primary stop_primary partition_primary kill_operator restart_apiserver restart_etcd switchover})
    seed=${SOAK_SEED:-$$}
    RANDOM=$seed
    soak_setup || { fail "the soak's setup failed"; return 1; }
    soak_rss_sample
    t0=$(date +%s)
    t_end=$((t0 + secs))
    soak_note "load running on ${SOAK_CLUSTERS[*]}; faults for $secs s (seed $seed; kinds: ${kinds[*]}); recovery bound ${SOAK_RECOVER_S:-180} s"
    while [ $(($(date +%s) + 10)) -lt "$t_end" ]; do
        i=$((i + 1))
        kind=${kinds[$((RANDOM % ${#kinds[@]}))]}
        c=${SOAK_CLUSTERS[$((RANDOM % ${#SOAK_CLUSTERS[@]}))]}
        local tf ti
        tf=$(now_ms)
        out=$("soak_fault_$kind" "$c" 2>&1)
        rc=$?
        ti=$(now_ms)
        SOAK_FAULTS[$kind]=$((${SOAK_FAULTS[$kind]:-0} + 1))
        if wait_for "recovery after $kind" "${SOAK_RECOVER_S:-180}" soak_all_recovered "$tf" >/dev/null; then
            rec=$(($(now_ms) - tf))
            SOAK_RECOVERY_MS+=("$rec")
            SOAK_RECOVERY_AFTER_MS+=("$(($(now_ms) - ti))")
            echo "$i $c $kind $rec" >>"$SOAK_DIR/recoveries"
            soak_note "fault $i $kind ($c): $out$([ $rc = 0 ] || echo " [injection exit $rc]") -> recovered $rec ms after the injection began, $(($(now_ms) - ti)) ms after it ended"
        else
            SOAK_UNRECOVERED=$((SOAK_UNRECOVERED + 1))
            soak_note "fault $i $kind ($c): $out -> NOT recovered within ${SOAK_RECOVER_S:-180} s; last state:"
            sed 's/^/       | /' <<<"$WAIT_LAST" | tail -n 8
        fi
        soak_rss_sample
        # a little steady state between faults
        sleep "${SOAK_GAP_S:-5}"
    done
    soak_finish "$secs" "$t0"
}

soak_finish() {
    local secs=$1 t0=$2 c prim out missing e pid g
    for c in "${SOAK_CLUSTERS[@]}"; do touch "$SOAK_DIR/$c/stop-client" "$SOAK_DIR/$c/stop"; done
    for c in "${SOAK_CLUSTERS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "${SOAK_CLIENT_PID[$c]}" 2>/dev/null || break; sleep 0.1; done
        for _ in $(seq 1 50); do [ -s "$SOAK_DIR/$c/summary" ] && break; sleep 0.1; done
        kill "${SOAK_CLIENT_PID[$c]}" "${SOAK_WATCH_PID[$c]}" 2>/dev/null
    done
    soak_rss_sample
    for c in "${SOAK_CLUSTERS[@]}"; do
        wait_for "$c recovered before the check" "${SOAK_RECOVER_S:-180}" soak_recovered "$SOAK_NS" "$c" 0 >/dev/null
        prim=$(soak_primary "$c")
        out=$(fo_verify "$SOAK_NS" "$c" "$prim" "$SOAK_DIR/$c" 2>&1)
        missing=$(sed -n 's/.* checked, \([0-9]*\) missing.*/\1/p' <<<"$out")
        [ -n "$missing" ] || { missing=$(wc -l <"$SOAK_DIR/$c/acked"); out="$out (verify failed: counted every key as lost)"; }
        SOAK_LOST=$((SOAK_LOST + missing))
        SOAK_ACKED=$((SOAK_ACKED + $(wc -l <"$SOAK_DIR/$c/acked")))
        e=$(soak_epoch "$c")
        SOAK_FAILOVERS=$((SOAK_FAILOVERS + ${e:-0} - ${SOAK_EPOCH0[$c]:-0}))
        SOAK_VIOLATIONS=$((SOAK_VIOLATIONS + $(grep -vc 'Endpoints' "$SOAK_DIR/$c/violations" 2>/dev/null)))
        SOAK_EP_VIOLATIONS=$((SOAK_EP_VIOLATIONS + $(grep -c 'Endpoints' "$SOAK_DIR/$c/violations" 2>/dev/null)))
        soak_note "$c: primary $prim, epoch ${SOAK_EPOCH0[$c]} -> $e; $out; watcher: $(cat "$SOAK_DIR/$c/summary" 2>/dev/null)"
        [ ! -s "$SOAK_DIR/$c/violations" ] || head -n 10 "$SOAK_DIR/$c/violations" | sed 's/^/       | violation: /'
    done
    for pid in "${!SOAK_RSS_FIRST[@]}"; do
        g=$((SOAK_RSS_LAST[$pid] - SOAK_RSS_FIRST[$pid]))
        [ "$g" -le "$SOAK_RSS_MAX_GROWTH" ] || SOAK_RSS_MAX_GROWTH=$g
    done
    # the watchers' timelines and violations, the clients' logs: kept after the work dir goes
    rm -rf "$STATE_DIR/soak-last" && cp -r "$SOAK_DIR" "$STATE_DIR/soak-last" 2>/dev/null
    soak_print "$secs" "$t0"
    echo "(timelines, violations and client logs: $STATE_DIR/soak-last)"
}

soak_median_max() { # TIMES_MS...: "median M s, max X s (n=N)" or "none"
    [ "$#" -gt 0 ] || { echo none; return; }
    printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "median %.1f s, max %.1f s (n=%d)\n", m / 1000, a[NR] / 1000, NR }'
}

soak_print() {
    local secs=$1 t0=$2 k total=0 by="" pid
    for k in "${!SOAK_FAULTS[@]}"; do total=$((total + SOAK_FAULTS[$k])); by="$by $k=${SOAK_FAULTS[$k]}"; done
    echo
    echo "==== soak totals ($secs s asked, $(($(date +%s) - t0)) s of load; clusters ${SOAK_CLUSTERS[*]} x $SOAK_N pods)"
    echo "faults:              $total ($(tr ' ' '\n' <<<"${by# }" | sort | tr '\n' ' ' | sed 's/ $//'))"
    echo "recovered in bound:  $((total - SOAK_UNRECOVERED)) of $total (bound ${SOAK_RECOVER_S:-180} s)"
    echo "failovers:           $SOAK_FAILOVERS (status.failover.epoch growth)"
    echo "time to recover:     $(soak_median_max "${SOAK_RECOVERY_MS[@]}") from the injection's start"
    echo "                     $(soak_median_max "${SOAK_RECOVERY_AFTER_MS[@]}") from its end (a restart or a pause over)"
    for k in "${!SOAK_FAULTS[@]}"; do
        echo "  $k: $(soak_median_max $(awk -v k="$k" '$3 == k {print $4}' "$SOAK_DIR/recoveries" 2>/dev/null))"
    done
    echo "acknowledged writes: $SOAK_ACKED; lost: $SOAK_LOST"
    echo "watcher violations:  $SOAK_VIOLATIONS (two pods labelled primary, the epoch going back)"
    echo "Endpoints with two ready IPs: $SOAK_EP_VIOLATIONS samples (kube-controller-manager writes them from its own cache)"
    echo "gungnir VmRSS:       start $SOAK_RSS_START kB, end $SOAK_RSS_END kB; largest growth of one process $SOAK_RSS_MAX_GROWTH kB"
    for pid in "${!SOAK_RSS_FIRST[@]}"; do
        echo "$((SOAK_RSS_T1[$pid] - SOAK_RSS_T0[$pid])) $pid"
    done | sort -nr | while read -r life pid; do
        echo "                     pid $pid: ${SOAK_RSS_FIRST[$pid]} -> ${SOAK_RSS_LAST[$pid]} kB over $life s"
    done
    echo "===="
}

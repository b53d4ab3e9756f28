#!/usr/bin/env bash
# e2e suite "fault_points" (#10): walks gungnir's named fault points (shared/fault_point.h; the
# e2e build has them: -DGUNGNIR_FAULT_POINTS=ON) through five scenarios:
#   create      a new 3-pod ValkeyCluster up to Running (its own cluster, recreated each run)
#   scale       3 -> 4 -> 3
#   kill        SIGKILL of the primary's server: a failover
#   switchover  the gungnir.dev/switchover-to annotation naming the highest-ordinal replica
#   rolling     a new spec.image: every pod rolled
# 1. Record: each scenario once with GUNGNIR_FAULT_TRACE; the (point, hit) list it reaches.
# 2. Walk: gungnir restarted with GUNGNIR_FAULT=<point>:<n>:exit, the scenario run; when gungnir
#    dies at the point (pid gone, log "fault point: exiting") it is started again WITHOUT the
#    fault. Also "fail" (the call fails once, gungnir goes on) and "hang" (the thread hangs; after
#    FP_HANG_HOLD s, default 10, gungnir is killed and started clean). Every run checks:
#      - never two pods labelled gungnir.dev/role=primary, never two ready IPs in the read-write
#        Endpoints, status.failover.epoch never goes back (100 ms polling + watch replay,
#        failover_lib.sh), and the epoch after the run >= before;
#      - a server answering role master without being the pod labelled primary is demoted (or
#        its pod deleted) within FP_STRAY_BOUND = 30 s of answering (500 ms sampling);
#      - the scenario completes and the cluster converges within FP_BOUND = 120 s of the last
#        (re)start of gungnir: Running, one primary, every replica following it with
#        master_link_status:up, status.failover.inProgress not true;
#      - no write acknowledged with WAIT 1 (client through the Endpoints) is lost: every one is
#        on the final primary; and the client writes again after the run.
#    A fault the run never reaches (hit counts vary a little between runs) is "ok (not reached)".
# 3. A table: point, hit, scenario, action, result; then "fault_points: N passed, M failed".
#
# Selection:
#   quick (default; run.sh's all_suites): the first hit of every distinct point, each point in the
#     first scenario of kill, switchover, rolling, scale, create that reaches it (every scenario
#     gets at least one run); the failover window (kill: api.patch.pods:2, valkey.replicaof:2) and
#     the switchover's label moves (api.patch.pods:1 and :2); valkey.replicaof:1:fail (kill),
#     valkey.failover:1:fail (switchover) and api.patch.pods:1:hang (kill).
#   FAULT_POINTS_FULL=1: every recorded hit of every scenario with exit, the first hit of every
#     point of every scenario with fail, and one hang per scenario (its first recorded point).
#   FP_SCENARIOS="kill switchover"  only these scenarios (record and walk).
#   FP_CASES="kill:valkey.replicaof:2:exit switchover:valkey.failover:1:hang"  exactly these.
# Leader election is off in the local deployment, so api.update.leases is not reached; nor are
# valkey.config_set / valkey.acl_setuser (live config, password rotation: other suites).
set -uo pipefail
# shellcheck source=fault_lib.sh
. "$(dirname "$0")/fault_lib.sh"
suite_begin
fo_setup || { suite_end; exit 1; }
make_ns faultpoints || { suite_end; exit 1; }
ns=$E2E_NS
FP_BOUND=${FP_BOUND:-120}
FO_CLIENT_MAX_S=${FO_CLIENT_MAX_S:-300}
full=${FAULT_POINTS_FULL:-0}
read -ra scenarios <<<"${FP_SCENARIOS:-create scale kill switchover rolling}"
on_cleanup fo_delete "$ns" fp
on_cleanup fo_delete "$ns" fpc
# Whatever happens, leave a gungnir without a fault running.
on_cleanup "fp_operator_start"

FP_IMG=1
declare -A FP_TARGET=() FP_OLD=() FP_SETTLED=()
# fp_converged NAME N: what vkc_settled + replicas_attached check (Running, N/N ready, generation
# observed, Ready=True, N pods none being deleted, one labelled primary = status.primary, N-1
# labelled replica; the primary answers role master, every other pod follows its IP with
# master_link_status:up) and status.failover.inProgress not true; through the proxy (fast).
fp_converged() {
    local name=$1 n=$2 v p line prim pip pod ip m l bad=0
    v=$(curl -sf --max-time 5 "$E2E_PROXY/apis/gungnir.dev/v1alpha1/namespaces/$ns/valkeyclusters/$name") || { echo "$name unreadable"; return 1; }
    p=$(curl -sf --max-time 5 "$E2E_PROXY/api/v1/namespaces/$ns/pods?labelSelector=app.kubernetes.io/instance%3D$name") || { echo "pods unreadable"; return 1; }
    line=$(jq -r --argjson n "$n" '[.status.phase, (.status.readyReplicas // 0 | tostring), (.metadata.generation == .status.observedGeneration | tostring),
        ([.status.conditions[]? | select(.type == "Ready") | .status][0] // "-"), (.status.failover.inProgress // false | tostring), (.status.primary // "-")] | join(" ")' <<<"$v")
    echo "vkc: phase ready observed Ready inProgress primary = $line"
    jq -r '.items[] | "\(.metadata.name) \(.status.podIP // "-") \(.metadata.labels["gungnir.dev/role"] // "-") \(if .metadata.deletionTimestamp then "deleting" else "live" end)"' <<<"$p"
    [ "$line" = "Running $n true True false ${line##* }" ] && [ "${line##* }" != - ] || return 1
    prim=${line##* }
    [ "$(jq '.items | length' <<<"$p")" = "$n" ] || return 1
    [ "$(jq -r '[.items[] | select(.metadata.deletionTimestamp)] | length' <<<"$p")" = 0 ] || return 1
    [ "$(jq -r '[.items[] | select(.metadata.labels["gungnir.dev/role"] == "primary") | .metadata.name] | join(" ")' <<<"$p")" = "$prim" ] || return 1
    [ "$(jq -r '[.items[] | select(.metadata.labels["gungnir.dev/role"] == "replica")] | length' <<<"$p")" = $((n - 1)) ] || return 1
    pip=$(jq -r --arg p "$prim" '.items[] | select(.metadata.name == $p) | .status.podIP // ""' <<<"$p")
    [ -n "$pip" ] || return 1
    while read -r pod ip; do
        if [ "$pod" = "$prim" ]; then
            m=$(REDISCLI_AUTH=$(vpassword "$ns" "$name") timeout 5 redis-cli --no-auth-warning -h "$ip" ROLE 2>/dev/null | head -n 1)
            echo "$pod: ROLE $m"
            [ "$m" = master ] || bad=1
        else
            l=$(REDISCLI_AUTH=$(vpassword "$ns" "$name") timeout 5 redis-cli --no-auth-warning -h "$ip" INFO replication 2>/dev/null | tr -d '\r')
            m=$(awk -F: '$1 == "master_host" {print $2}' <<<"$l")
            l=$(awk -F: '$1 == "master_link_status" {print $2}' <<<"$l")
            echo "$pod: master_host=$m link=$l"
            [ "$m" = "$pip" ] && [ "$l" = up ] || bad=1
        fi
    done < <(jq -r '.items[] | "\(.metadata.name) \(.status.podIP)"' <<<"$p")
    [ "$bad" = 0 ]
}
# fp_kc DESC CMD...: a kubectl write, retried (through fp_wait) until the API server takes it: the
# webhooks are gungnir's own, so while the faulted gungnir is down every write of a
# ValkeyCluster is refused ("failed calling webhook").
fp_kc() { local d=$1; shift; fp_wait "$d accepted" 60 "$@"; }
secret_ready() { [ -n "$(kj "$ns" "secret/$1" '{.data.password}')" ]; }
sc_name() { if [ "$1" = create ]; then echo fpc; else echo fp; fi; }

# ---- the scenarios: prepare (gungnir clean), act (gungnir faulted), run (its waits) ------------
sc_prepare_create() { fo_delete "$ns" fpc; }
apply_fpc() { apply_vkc "$ns" fpc 3 "failover:" "  probeIntervalMilliseconds: 200" "  failureThreshold: 3"; }
sc_act_create() { fp_kc "kubectl apply of fpc" apply_fpc; }
sc_done_create() { fp_converged fpc 3; }
sc_run_create() { fp_wait "fpc created: Running, 3 pods, replicas linked" "$FP_BOUND" fp_converged fpc 3; }

sc_act_scale() { fp_kc "kubectl patch replicas=4" kc -n "$ns" patch vkc fp --type merge -p '{"spec":{"replicas":4}}'; }
sc_done_scale() { fp_converged fp 3; }
sc_run_scale() {
    fp_wait "fp scaled to 4, replicas linked" "$FP_BOUND" fp_converged fp 4 || return 1
    fp_kc "kubectl patch replicas=3" kc -n "$ns" patch vkc fp --type merge -p '{"spec":{"replicas":3}}'
    fp_wait "fp scaled back to 3, replicas linked" "$FP_BOUND" fp_converged fp 3
}

sc_act_kill() {
    FP_OLD[kill]=$(fo_vkc_field "$ns" fp '.status.primary')
    say "  SIGKILL to the server of the primary ${FP_OLD[kill]} (pid $(fo_kill_server "$ns" "${FP_OLD[kill]}" KILL))"
}
kill_done() {
    local p
    p=$(fo_vkc_field "$ns" fp '.status.primary // ""')
    echo "status.primary=$p (killed: ${FP_OLD[kill]})"
    [ -n "$p" ] && [ "$p" != "${FP_OLD[kill]}" ] && fp_converged fp 3
}
sc_done_kill() { kill_done; }
sc_run_kill() { fp_wait "a primary other than ${FP_OLD[kill]}, replicas linked" "$FP_BOUND" kill_done; }

sc_act_switchover() {
    FP_TARGET[switchover]=$(for p in $(pods_with_role "$ns" fp replica); do echo "${p##*-} $p"; done | sort -k1,1nr | head -n 1 | cut -d' ' -f2)
    say "  annotating gungnir.dev/switchover-to=${FP_TARGET[switchover]}"
    fp_kc "kubectl annotate" kc -n "$ns" annotate vkc/fp "gungnir.dev/switchover-to=${FP_TARGET[switchover]}" --overwrite
}
switchover_done() {
    local a p
    a=$(fo_vkc_field "$ns" fp '(.metadata.annotations // {})["gungnir.dev/switchover-to"] // "<none>"')
    p=$(fo_vkc_field "$ns" fp '.status.primary // ""')
    echo "annotation=$a status.primary=$p target=${FP_TARGET[switchover]}"
    [ "$a" = "<none>" ] && [ "$p" = "${FP_TARGET[switchover]}" ] && fp_converged fp 3
}
sc_done_switchover() { switchover_done; }
sc_run_switchover() { fp_wait "${FP_TARGET[switchover]} primary, annotation removed, replicas linked" "$FP_BOUND" switchover_done; }

sc_act_rolling() {
    FP_IMG=$((FP_IMG + 1))
    FP_TARGET[rolling]=valkey/valkey:8.1.$FP_IMG
    say "  spec.image -> ${FP_TARGET[rolling]}"
    fp_kc "kubectl patch spec.image" kc -n "$ns" patch vkc fp --type merge -p "{\"spec\":{\"image\":\"${FP_TARGET[rolling]}\"}}"
}
rolling_done() {
    local img rev revs
    img=$(kj "$ns" statefulset/fp '{.spec.template.spec.containers[0].image}')
    rev=$(kj "$ns" statefulset/fp '{.status.updateRevision}')
    revs=$(kc -n "$ns" get pods -l app.kubernetes.io/instance=fp -o 'jsonpath={range .items[*]}{.metadata.labels.controller-revision-hash}{"\n"}{end}' 2>/dev/null)
    echo "template image $img (want ${FP_TARGET[rolling]}), updateRevision $rev, pods on it: $(grep -cx "$rev" <<<"$revs")"
    [ "$img" = "${FP_TARGET[rolling]}" ] && [ -n "$rev" ] && [ "$(grep -cx "$rev" <<<"$revs")" = 3 ] &&
        [ "$(wc -l <<<"$revs")" = 3 ] && fp_converged fp 3
}
sc_done_rolling() { rolling_done; }
sc_run_rolling() { fp_wait "every pod on ${FP_TARGET[rolling]}, replicas linked" "$FP_BOUND" rolling_done; }

# ---- one run ------------------------------------------------------------------------------------
ROWS=()
FP_RUN=0
# fp_case SCENARIO POINT HIT ACTION: POINT "-" is the record run (trace only).
fp_case() {
    local sc=$1 point=$2 hit=$3 action=$4 name dir envs=() t0 epoch0 epoch1 prim t_conv res
    name=$(sc_name "$sc")
    FP_RUN=$((FP_RUN + 1))
    dir=$FO_WORK/run$FP_RUN
    mkdir -p "$dir"
    FP_NOTES=()
    FP_FIRED=""
    FP_ARMED=0
    t0=$(date +%s)
    if [ "$point" = - ]; then FP_FAULT=""; say "--- run $FP_RUN: $sc, record"; else
        FP_FAULT=$point:$hit:$action
        say "--- run $FP_RUN: $sc, GUNGNIR_FAULT=$FP_FAULT"
    fi
    # the starting state, reached with a clean gungnir
    if declare -F "sc_prepare_$sc" >/dev/null; then "sc_prepare_$sc"; elif [ "${FP_SETTLED[$name]:-0}" != 1 ]; then
        # after a failed run: back to the starting spec (3 pods, no switchover request)
        fp_kc "kubectl patch replicas=3" kc -n "$ns" patch vkc "$name" --type merge -p '{"spec":{"replicas":3}}'
        kc -n "$ns" annotate "vkc/$name" gungnir.dev/switchover-to- >/dev/null 2>&1
        fp_wait "$name settled before the run" "$FP_BOUND" fp_converged "$name" 3 ||
            { fp_row "$sc" "$point" "$hit" "$action" "FAIL: the cluster was not settled before the run"; return; }
    fi
    epoch0=$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')
    envs=("GUNGNIR_FAULT_TRACE=$dir/trace")
    [ -n "$FP_FAULT" ] && envs+=("GUNGNIR_FAULT=$FP_FAULT")
    FP_LOG0=$(fo_log_lines)
    fp_operator_start "${envs[@]}"
    [ -n "$FP_FAULT" ] && FP_ARMED=1
    if [ "$sc" = create ]; then
        "sc_act_$sc"
        # the watchers and the client need the password: the Secret gungnir makes (a new one
        # per cluster, so never the cached one of an earlier fpc)
        fp_wait "the Secret fpc-auth" "$FP_BOUND" secret_ready fpc-auth
        unset "E2E_PW[$ns/fpc]"
    else
        # the restarted gungnir's first reconcile (in the trace too), then the act
        fp_wait "$name settled after the restart" "$FP_BOUND" fp_converged "$name" 3
    fi
    fo_watch_start "$ns" "$name" "$dir/watch"
    fp_stray_start "$ns" "$name" "$dir/stray"
    fo_client_start "$ns" "$name" "$dir/client"
    [ "$sc" = create ] || "sc_act_$sc"
    "sc_run_$sc"
    # A hit after the scenario's goal (a late status write): give it a moment to come.
    if [ "$FP_ARMED" = 1 ]; then
        local tries=16
        [ "$action" = hang ] && tries=$((2 * FP_HANG_HOLD + 10))
        for _ in $(seq 1 "$tries"); do
            fp_fault_check
            [ "$FP_ARMED" = 1 ] || break
            [ "$action" = hang ] && [ "$FP_FIRED" = hang ] && { sleep 1; continue; }
            sleep 0.5
        done
        if [ "$FP_ARMED" = 1 ]; then
            [ "$FP_FIRED" = hang ] && FP_NOTES+=("gungnir hung at $FP_FAULT and was not restarted")
            # not reached: a gungnir without the fault for what follows (SIGTERM)
            fp_operator_start
            FP_ARMED=0
        fi
        # again: the run may have ended with a restart after the goal
        fp_wait "$sc: the goal reached and converged" "$FP_BOUND" "sc_done_$sc"
    fi
    t_conv=$(now_ms)
    if [ ${#FP_NOTES[@]} -eq 0 ]; then
        wait_for "the client to write again" 30 bash -c "[ \$(awk -v t=$t_conv '\$3 >= t' $dir/client/acked 2>/dev/null | wc -l) -ge 3 ]" >/dev/null ||
            FP_NOTES+=("the client acknowledged no new write within 30 s of convergence ($(tail -n 1 "$dir/client/client.log" 2>/dev/null))")
    fi
    fo_client_stop "$dir/client"
    prim=$(fo_vkc_field "$ns" "$name" '.status.primary // ""')
    if [ "$(fo_acked "$dir/client")" -gt 0 ] && [ -n "$prim" ]; then
        out=$(fo_verify "$ns" "$name" "$prim" "$dir/client" 2>&1) || FP_NOTES+=("acknowledged writes lost: $out")
        say "  $out"
    fi
    out=$(fo_watch_stop "$dir/watch" 2>&1) || FP_NOTES+=("watcher: $(tail -n +2 <<<"$out" | head -n 3 | tr '\n' ' ')")
    say "  $(head -n 1 <<<"$out")"
    out=$(fp_stray_stop "$dir/stray" 2>&1) || FP_NOTES+=("stray master: $(tail -n +2 <<<"$out" | head -n 3 | tr '\n' ' ')")
    say "  $(head -n 1 <<<"$out")"
    epoch1=$(fo_vkc_field "$ns" "$name" '.status.failover.epoch // 0')
    [ "${epoch1:-0}" -ge "${epoch0:-0}" ] 2>/dev/null || FP_NOTES+=("status.failover.epoch went back: $epoch0 -> $epoch1")
    [ "$sc" = create ] && kc -n "$ns" delete vkc fpc --wait=false >/dev/null 2>&1
    if [ "$point" = - ]; then
        cp "$dir/trace" "$FO_WORK/trace-$sc" 2>/dev/null || : >"$FO_WORK/trace-$sc"
        res="record: $(wc -l <"$FO_WORK/trace-$sc") hits, $(awk '{print $1}' "$FO_WORK/trace-$sc" | sort -u | wc -l) points"
    elif [ -z "$FP_FIRED" ]; then
        res="not reached"
    else
        res="fired"
    fi
    FP_SETTLED[$name]=0
    if [ ${#FP_NOTES[@]} -eq 0 ]; then
        FP_SETTLED[$name]=1
        fp_row "$sc" "$point" "$hit" "$action" "ok ($res, $(($(date +%s) - t0)) s)"
    else
        fp_row "$sc" "$point" "$hit" "$action" "FAIL ($res): $(printf '%s; ' "${FP_NOTES[@]}")"
        say "  gungnir log of the run (warn/error):"
        fo_log_since "$FP_LOG0" | grep -v '"level":"debug"' | grep -E '"level":"(warn|error)"|fault point|failover|Switchover' |
            cut -c1-260 | tail -n 25 | sed 's/^/       | /'
    fi
}
fp_row() { # SC POINT HIT ACTION RESULT
    local line
    line=$(printf '%-32s %4s  %-10s %-6s %s' "${2/#-/(record)}" "${3/#-/}" "$1" "${4/#-/}" "$5")
    ROWS+=("$line")
    case $5 in ok*) pass "$line" ;; *) fail "$line" ;; esac
}

# ---- 1. record -----------------------------------------------------------------------------------
fo_create "$ns" fp 3 || { suite_end; exit 1; }
for sc in "${scenarios[@]}"; do fp_case "$sc" - - -; done

# ---- 2. the cases --------------------------------------------------------------------------------
cases=()
has_point() { [ -s "$FO_WORK/trace-$1" ] && awk -v p="$2" '$1 == p {f = 1} END {exit !f}' "$FO_WORK/trace-$1"; }
in_list() { local x=$1; shift; local y; for y in "$@"; do [ "$x" = "$y" ] && return 0; done; return 1; }
if [ -n "${FP_CASES:-}" ]; then
    for c in $FP_CASES; do cases+=("${c//:/ }"); done
elif [ "$full" = 1 ]; then
    for sc in "${scenarios[@]}"; do
        [ -s "$FO_WORK/trace-$sc" ] || continue
        while read -r p k; do cases+=("$sc $p $k exit"); done <"$FO_WORK/trace-$sc"
        for p in $(awk '!seen[$1]++ {print $1}' "$FO_WORK/trace-$sc"); do cases+=("$sc $p 1 fail"); done
        cases+=("$sc $(awk 'NR == 1 {print $1}' "$FO_WORK/trace-$sc") 1 hang")
    done
else
    declare -A assigned=()
    declare -A per_sc=()
    for sc in kill switchover rolling scale create; do
        in_list "$sc" "${scenarios[@]}" && [ -s "$FO_WORK/trace-$sc" ] || continue
        for p in $(awk '!seen[$1]++ {print $1}' "$FO_WORK/trace-$sc"); do
            [ -n "${assigned[$p]:-}" ] && continue
            assigned[$p]=$sc
            per_sc[$sc]="${per_sc[$sc]:-} $p"
        done
        [ -n "${per_sc[$sc]:-}" ] || per_sc[$sc]=" $(awk 'NR == 1 {print $1}' "$FO_WORK/trace-$sc")"
    done
    for sc in "${scenarios[@]}"; do
        for p in ${per_sc[$sc]:-}; do cases+=("$sc $p 1 exit"); done
        case $sc in
        kill) # the failover window: the new primary labelled, the other replica repointed
              has_point kill api.patch.pods && cases+=("kill api.patch.pods 2 exit")
              has_point kill valkey.replicaof && cases+=("kill valkey.replicaof 2 exit" "kill valkey.replicaof 1 fail")
              has_point kill api.patch.pods && cases+=("kill api.patch.pods 1 hang") ;;
        switchover) # the labels moved after FAILOVER TO
              has_point switchover api.patch.pods && cases+=("switchover api.patch.pods 1 exit" "switchover api.patch.pods 2 exit")
              has_point switchover valkey.failover && cases+=("switchover valkey.failover 1 fail") ;;
        esac
    done
fi
say "${#cases[@]} cases ($([ "$full" = 1 ] && echo full || echo quick)$([ -n "${FP_CASES:-}" ] && echo ", FP_CASES"))"
for c in "${cases[@]}"; do
    read -r sc p k a <<<"$c"
    fp_case "$sc" "$p" "$k" "$a"
done

# ---- 3. the table --------------------------------------------------------------------------------
echo
printf '%-32s %4s  %-10s %-6s %s\n' point hit scenario action result
for r in "${ROWS[@]}"; do echo "$r"; done
echo
suite_end

# e2e/local/lib.sh — shared helpers of the e2e suites (sourced, not run).
# shellcheck shell=bash
#
# The suites talk to "the cluster" through KUBECONFIG and a few platform hooks, so the same
# test_*.sh run against the local cluster (E2E_PLATFORM=local, the default: e2e/cluster/up.sh +
# e2e/local/deploy.sh in STATE_DIR) and against kind (E2E_PLATFORM=kind, see e2e/kind/).
#
#   STATE_DIR        the local cluster's state dir (default /tmp/gungnir-e2e); its env is sourced
#   E2E_PLATFORM     local | kind
#   E2E_CLI_MODE     direct: redis-cli on the host to the pod IP (local: pods live in netns on a
#                    host bridge); exec: kubectl exec POD -- valkey-cli (kind). Default by platform.
#   E2E_METRICS_URL  gungnir's /metrics (local default: http://127.0.0.1:<webhook port + 2>/metrics)
#   E2E_NS_PREFIX    prefix of the namespaces the suites make (default e2e)
#
# Every wait is bounded and prints what it waited for and the last state it saw on timeout.
# Every check prints "ok   - ..." or "FAIL - ... (expected ..., got ...)". suite_end prints
# "<suite>: N passed, M failed" and returns non-zero when anything failed.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE_DIR=${STATE_DIR:-/tmp/gungnir-e2e}
E2E_PLATFORM=${E2E_PLATFORM:-local}
if [ "$E2E_PLATFORM" = local ] && [ -s "$STATE_DIR/env" ]; then
    # shellcheck disable=SC1091
    . "$STATE_DIR/env"
fi
export KUBECONFIG
if [ -z "${E2E_CLI_MODE:-}" ]; then
    if [ "$E2E_PLATFORM" = local ]; then E2E_CLI_MODE="direct"; else E2E_CLI_MODE="exec"; fi
fi
E2E_NS_PREFIX=${E2E_NS_PREFIX:-e2e}
SUITE=${SUITE:-$(basename "$0" .sh)}
SUITE=${SUITE#test_}
E2E_PASSED=0
E2E_FAILED=0
E2E_T0=$(date +%s)
E2E_CLEANUPS=()

# ---- output ---------------------------------------------------------------------------------
ts() { date +%H:%M:%S; }
say() { echo "[$(ts)] $SUITE: $*"; }
pass() { E2E_PASSED=$((E2E_PASSED + 1)); echo "[$(ts)] ok   - $*"; }
fail() { E2E_FAILED=$((E2E_FAILED + 1)); echo "[$(ts)] FAIL - $*"; }

# ---- kubectl ----------------------------------------------------------------------------------
# kubectl 1.32 against the 1.20 server warns about the skew on every call: hide that line only.
kc() {
    kubectl --request-timeout=20s "$@" 2> >(grep -v -i -e 'version skew' -e '^Warning: version difference' >&2)
}
# kc_json PATH... : kubectl get -o jsonpath, empty on error.
kj() { # ns kind/name jsonpath
    kc -n "$1" get "$2" -o "jsonpath=$3" 2>/dev/null
}

# ---- assertions -------------------------------------------------------------------------------
# check DESC CMD...: passes when CMD exits 0; on failure shows CMD's output.
check() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then pass "$desc"; else fail "$desc"; [ -z "$out" ] || sed 's/^/       | /' <<<"$out" | tail -n 20; fi
}
assert_eq() { # DESC EXPECTED GOT
    if [ "$2" = "$3" ]; then pass "$1 ($3)"; else fail "$1: expected '$2', got '$3'"; fi
}
assert_ne() { # DESC UNEXPECTED GOT
    if [ "$2" != "$3" ]; then pass "$1 ($3)"; else fail "$1: expected anything but '$2', got '$3'"; fi
}
assert_nonempty() { # DESC GOT
    if [ -n "$2" ]; then pass "$1 ($2)"; else fail "$1: expected a value, got nothing"; fi
}
assert_contains() { # DESC NEEDLE HAYSTACK
    if grep -qF -- "$2" <<<"$3"; then
        pass "$1"
    else
        fail "$1: expected output containing '$2', got:"
        sed 's/^/       | /' <<<"$3" | tail -n 20
    fi
}
assert_ge() { # DESC MIN GOT
    if [ -n "$3" ] && [ "$3" -ge "$2" ] 2>/dev/null; then pass "$1 ($3 >= $2)"; else fail "$1: expected >= $2, got '$3'"; fi
}

# ---- bounded waits ----------------------------------------------------------------------------
# wait_for DESC SECONDS CMD...: runs CMD every 0.5 s until it exits 0 (at most SECONDS). CMD's
# stdout is "the state"; on timeout the last one is printed. Returns 0 or 1 (no pass/fail).
WAIT_LAST=""
wait_for() {
    local desc=$1 secs=$2 deadline
    shift 2
    deadline=$(($(date +%s) + secs))
    while :; do
        if WAIT_LAST=$("$@" 2>&1); then return 0; fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "[$(ts)]        timed out after ${secs} s waiting for: $desc"
            echo "[$(ts)]        last state:"
            sed 's/^/       | /' <<<"$WAIT_LAST" | tail -n 30
            return 1
        fi
        sleep 0.5
    done
}
# expect_within DESC SECONDS CMD...: wait_for that counts as a check.
expect_within() {
    local desc=$1 secs=$2 t0
    t0=$(date +%s)
    shift 2
    if wait_for "$desc" "$secs" "$@"; then pass "$desc (after $(($(date +%s) - t0)) s)"; else fail "$desc (not within $secs s)"; return 1; fi
}
# stays_for DESC SECONDS CMD...: CMD must keep exiting 0 for SECONDS (polled every second).
stays_for() {
    local desc=$1 secs=$2 deadline out
    shift 2
    deadline=$(($(date +%s) + secs))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if ! out=$("$@" 2>&1); then fail "$desc: broke: $out"; return 1; fi
        sleep 1
    done
    pass "$desc (for $secs s)"
}

# ---- namespaces and cleanup -------------------------------------------------------------------
on_cleanup() { E2E_CLEANUPS+=("$*"); }
run_cleanups() {
    local i
    for ((i = ${#E2E_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${E2E_CLEANUPS[$i]}" || true; done
    E2E_CLEANUPS=()
}
# make_ns SUFFIX: creates namespace E2E_NS_PREFIX-SUFFIX into $E2E_NS (deleted again at suite_end).
# Not in a $(...): the cleanup it registers must reach this shell.
make_ns() {
    E2E_NS="$E2E_NS_PREFIX-$1"
    if kc get ns "$E2E_NS" -o name >/dev/null 2>&1; then
        say "namespace $E2E_NS is left from an earlier run: deleting it"
        delete_ns "$E2E_NS"
    fi
    kc create ns "$E2E_NS" >/dev/null || { fail "cannot create namespace $E2E_NS"; return 1; }
    on_cleanup delete_ns "$E2E_NS"
}
delete_ns() {
    local ns=$1 pvc
    kc delete ns "$ns" --wait=false >/dev/null 2>&1 || true
    if [ "$E2E_PLATFORM" = local ]; then
        # The local cluster's controller-manager runs no pvc-protection controller, so the
        # kubernetes.io/pvc-protection finalizer that admission puts on every claim is never
        # removed and the namespace would stay Terminating: remove it by hand.
        for pvc in $(kc -n "$ns" get pvc -o name 2>/dev/null); do
            kc -n "$ns" patch "$pvc" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1 || true
        done
    fi
    wait_for "namespace $ns gone" 120 ns_gone "$ns" >/dev/null || say "warning: namespace $ns still there: $WAIT_LAST"
}
ns_gone() { ! kc get ns "$1" -o name >/dev/null 2>&1 || { kc get ns "$1" -o jsonpath='{.status.phase}'; return 1; }; }

suite_begin() {
    say "start (platform $E2E_PLATFORM, KUBECONFIG $KUBECONFIG)"
    trap 'run_cleanups' EXIT
}
suite_end() {
    run_cleanups
    trap - EXIT
    echo "$SUITE: $E2E_PASSED passed, $E2E_FAILED failed ($(($(date +%s) - E2E_T0)) s)"
    [ "$E2E_FAILED" -eq 0 ]
}

# ---- ValkeyClusters ---------------------------------------------------------------------------
# apply_vkc NS NAME REPLICAS [extra spec YAML lines, indented by 2]: kubectl apply.
vkc_yaml() {
    local ns=$1 name=$2 replicas=$3
    shift 3
    printf 'apiVersion: gungnir.dev/v1alpha1\nkind: ValkeyCluster\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  replicas: %s\n' \
        "$name" "$ns" "$replicas"
    local l
    for l in "$@"; do printf '  %s\n' "$l"; done
}
apply_vkc() { vkc_yaml "$@" | kc apply -f -; }

# vkc_state NS NAME: one line of the status (for the wait messages).
vkc_state() {
    kj "$1" "vkc/$2" 'phase={.status.phase} primary={.status.primary} ready={.status.readyReplicas}/{.spec.replicas} statusReplicas={.status.replicas} gen={.metadata.generation} observed={.status.observedGeneration} Ready={.status.conditions[?(@.type=="Ready")].status}'
    echo
    pods_state "$1" "$2"
}
pods_state() { # NS NAME: pods with role label, readiness, IP
    kc -n "$1" get pods -l "app.kubernetes.io/instance=$2" \
        -o 'custom-columns=POD:.metadata.name,READY:.status.conditions[?(@.type=="Ready")].status,ROLE:.metadata.labels.gungnir\.dev/role,IP:.status.podIP,DEL:.metadata.deletionTimestamp' 2>&1
}
# vkc_settled NS NAME N: Running, N ready, generation observed, Ready=True, a primary, exactly N
# pods (none being deleted) of which exactly one labelled primary and N-1 replica.
vkc_settled() {
    local ns=$1 name=$2 n=$3 line
    vkc_state "$ns" "$name"
    line=$(kj "$ns" "vkc/$name" '{.status.phase} {.status.readyReplicas} {.metadata.generation} {.status.observedGeneration} {.status.conditions[?(@.type=="Ready")].status} {.status.primary}')
    read -r phase ready gen obs readyc prim <<<"$line"
    [ "$phase" = Running ] && [ "$ready" = "$n" ] && [ "$gen" = "$obs" ] && [ "$readyc" = True ] && [ -n "$prim" ] || return 1
    [ "$(pods_of "$ns" "$name" | wc -w)" = "$n" ] || return 1
    [ "$(pods_with_role "$ns" "$name" primary | wc -w)" = 1 ] || return 1
    [ "$(pods_with_role "$ns" "$name" replica | wc -w)" = $((n - 1)) ] || return 1
    [ "$(pods_with_role "$ns" "$name" primary)" = "$prim" ]
}
pods_of() { kc -n "$1" get pods -l "app.kubernetes.io/instance=$2" -o 'jsonpath={.items[*].metadata.name}' 2>/dev/null; }
pods_with_role() { # NS NAME ROLE
    kc -n "$1" get pods -l "app.kubernetes.io/instance=$2,gungnir.dev/role=$3" -o 'jsonpath={.items[*].metadata.name}' 2>/dev/null
}
pod_ip() { kj "$1" "pod/$2" '{.status.podIP}'; }

# ---- Valkey -----------------------------------------------------------------------------------
# vpassword NS NAME: the password in <name>-auth (cached per cluster).
declare -A E2E_PW=()
vpassword() {
    local key="$1/$2"
    if [ -z "${E2E_PW[$key]:-}" ]; then
        E2E_PW[$key]=$(kj "$1" "secret/$2-auth" '{.data.password}' | base64 -d 2>/dev/null)
    fi
    echo "${E2E_PW[$key]}"
}
# vcli NS NAME POD ARGS...: valkey-cli to POD of cluster NAME, authenticated; bounded (10 s).
vcli() {
    local ns=$1 name=$2 pod=$3 pw ip
    shift 3
    pw=$(vpassword "$ns" "$name")
    if [ "$E2E_CLI_MODE" = exec ]; then
        timeout 20 kubectl -n "$ns" exec "$pod" -c valkey -- env REDISCLI_AUTH="$pw" valkey-cli "$@" 2>/dev/null
    else
        ip=$(pod_ip "$ns" "$pod")
        [ -n "$ip" ] || { echo "pod $ns/$pod has no IP"; return 1; }
        REDISCLI_AUTH=$pw timeout 10 redis-cli --no-auth-warning -h "$ip" "$@"
    fi
}
# role_of NS NAME POD: master / slave as ROLE says.
role_of() { vcli "$1" "$2" "$3" ROLE | head -n 1; }
# master_of NS NAME POD: the master_host the replica follows.
master_of() { vcli "$1" "$2" "$3" INFO replication | tr -d '\r' | awk -F: '$1 == "master_host" {print $2}'; }
link_of() { vcli "$1" "$2" "$3" INFO replication | tr -d '\r' | awk -F: '$1 == "master_link_status" {print $2}'; }

# replicas_attached NS NAME: every pod but the labelled primary is a replica of the primary's IP
# with its link up.
replicas_attached() {
    local ns=$1 name=$2 prim pip p bad=0
    prim=$(pods_with_role "$ns" "$name" primary)
    [ "$(wc -w <<<"$prim")" = 1 ] || { echo "primary pods: '$prim'"; return 1; }
    pip=$(pod_ip "$ns" "$prim")
    [ "$(role_of "$ns" "$name" "$prim")" = master ] || { echo "$prim is not master"; bad=1; }
    for p in $(pods_of "$ns" "$name"); do
        [ "$p" = "$prim" ] && continue
        local m l
        m=$(master_of "$ns" "$name" "$p")
        l=$(link_of "$ns" "$name" "$p")
        echo "$p: master_host=$m link=$l (primary $prim $pip)"
        [ "$m" = "$pip" ] && [ "$l" = up ] || bad=1
    done
    [ "$bad" = 0 ]
}
# read_on NS NAME POD KEY EXPECTED: GET KEY on POD equals EXPECTED.
read_on() {
    local got
    got=$(vcli "$1" "$2" "$3" GET "$4")
    echo "$3: GET $4 -> '$got'"
    [ "$got" = "$5" ]
}

# ---- events -----------------------------------------------------------------------------------
event_reasons() { # NS NAME: reasons of the Events about vkc NAME
    kc -n "$1" get events --field-selector "involvedObject.name=$2,involvedObject.kind=ValkeyCluster" \
        -o 'jsonpath={range .items[*]}{.reason}{"\n"}{end}' 2>/dev/null
}
has_event() { # NS NAME REASON
    local r
    r=$(event_reasons "$1" "$2")
    echo "events: $(tr '\n' ' ' <<<"$r")"
    grep -qx "$3" <<<"$r"
}

# ---- gungnir (platform hooks) -----------------------------------------------------------------
webhook_port() { cat "$STATE_DIR/webhook-port" 2>/dev/null; }
metrics_url() {
    if [ -n "${E2E_METRICS_URL:-}" ]; then echo "$E2E_METRICS_URL"; else echo "http://127.0.0.1:$(($(webhook_port) + 2))/metrics"; fi
}
# metric URL NAME: the sum of every series of NAME at URL (empty when unreachable).
metric() {
    curl -sf --max-time 5 "$1" 2>/dev/null | awk -v n="$2" '
        $1 == n || index($1, n "{") == 1 { s += $NF; found = 1 }
        END { if (found) printf "%.0f\n", s }'
}
# The pid of the gungnir that deploy.sh started (local only).
operator_pid() {
    awk '$1 == "gungnir" {print $2}' "$STATE_DIR/pids" 2>/dev/null | tail -n 1
}
operator_kill9() {
    case $E2E_PLATFORM in
    local)
        local pid
        pid=$(operator_pid)
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
        ;;
    kind)
        kc -n gungnir-system delete pod -l app.kubernetes.io/component=controller-manager --grace-period=0 --force >/dev/null 2>&1
        ;;
    esac
}
operator_start() { # extra gungnir flags (local)
    case $E2E_PLATFORM in
    local) bash "$E2E_ROOT/e2e/local/deploy.sh" --dir "$STATE_DIR" --build "${E2E_BUILD:-build}" -- "$@" ;;
    kind) kc -n gungnir-system rollout status deploy/gungnir-controller-manager --timeout=120s ;;
    esac
}
# operator_stop: SIGTERM to gungnir, bounded wait (the node agent and the pods stay).
operator_stop() {
    case $E2E_PLATFORM in
    local)
        local pid
        pid=$(operator_pid)
        [ -n "$pid" ] || return 0
        kill -TERM "$pid" 2>/dev/null || return 0
        wait_for "gungnir (pid $pid) to exit" 20 bash -c "! kill -0 $pid 2>/dev/null" >/dev/null || kill -KILL "$pid" 2>/dev/null
        ;;
    kind)
        kc -n gungnir-system scale deploy/gungnir-controller-manager --replicas=0 >/dev/null
        ;;
    esac
}
# operator_restart [extra gungnir flags]: stop gungnir alone (deploy.sh --restart would restart
# the node agent too, and with it every pod) and start it again.
operator_restart() {
    operator_stop
    case $E2E_PLATFORM in
    local) operator_start "$@" ;;
    kind) kc -n gungnir-system scale deploy/gungnir-controller-manager --replicas="${E2E_OPERATOR_REPLICAS:-2}" >/dev/null && operator_start ;;
    esac
}

# ---- API access without kubectl's start-up cost (for 100 ms polling) ---------------------------
# start_proxy: kubectl proxy on a free port (works against any cluster); sets E2E_PROXY.
start_proxy() {
    local f
    f=$(mktemp /tmp/e2e-proxy.XXXXXX)
    kubectl proxy --port=0 >"$f" 2>&1 &
    E2E_PROXY_PID=$!
    on_cleanup "kill $E2E_PROXY_PID 2>/dev/null; rm -f $f"
    wait_for "kubectl proxy to listen" 20 grep -q 'Starting to serve' "$f" || return 1
    E2E_PROXY="http://$(sed -n 's/.*Starting to serve on \([0-9.:]*\).*/\1/p' "$f" | head -n 1)"
}

# primary_guard_start NS NAME DIR: in the background, (1) polls every 100 ms the pods labelled
# primary and records every sample with more than one, and (2) records the pods' watch stream
# so that primary_guard_stop can replay every label change in the API server's order.
primary_guard_start() {
    local ns=$1 name=$2 dir=$3
    mkdir -p "$dir"
    rm -f "$dir"/{stop,violations,samples,watch}
    : >"$dir/violations"
    (
        n=0
        while [ ! -e "$dir/stop" ]; do
            got=$(curl -sf --max-time 2 "$E2E_PROXY/api/v1/namespaces/$ns/pods?labelSelector=app.kubernetes.io/instance%3D$name,gungnir.dev/role%3Dprimary" |
                jq -r '[.items[].metadata.name] | join(" ")' 2>/dev/null) && n=$((n + 1))
            [ "$(wc -w <<<"$got")" -le 1 ] || echo "$(date +%H:%M:%S.%N) primaries: $got" >>"$dir/violations"
            echo "$n" >"$dir/samples"
            sleep 0.1
        done
    ) &
    E2E_GUARD_POLL=$!
    rv=$(curl -sf "$E2E_PROXY/api/v1/namespaces/$ns/pods?labelSelector=app.kubernetes.io/instance%3D$name" | jq -r .metadata.resourceVersion)
    curl -sN "$E2E_PROXY/api/v1/namespaces/$ns/pods?watch=1&resourceVersion=$rv&labelSelector=app.kubernetes.io/instance%3D$name" \
        >"$dir/watch" 2>/dev/null &
    E2E_GUARD_WATCH=$!
    # the state before the watch starts
    curl -sf "$E2E_PROXY/api/v1/namespaces/$ns/pods?labelSelector=app.kubernetes.io/instance%3D$name" |
        jq -c '.items[] | {type: "ADDED", object: .}' >"$dir/initial"
    on_cleanup "touch $dir/stop 2>/dev/null; kill $E2E_GUARD_POLL $E2E_GUARD_WATCH 2>/dev/null"
}
# primary_guard_stop DIR: stops both and prints the violations (exit 1 when there were any).
primary_guard_stop() {
    local dir=$1
    touch "$dir/stop"
    wait "$E2E_GUARD_POLL" 2>/dev/null
    kill "$E2E_GUARD_WATCH" 2>/dev/null
    wait "$E2E_GUARD_WATCH" 2>/dev/null
    cat "$dir/initial" "$dir/watch" | jq -r -s '
        reduce .[] as $e ({roles: {}, bad: [], changes: 0};
            .changes += 1
            | if $e.type == "DELETED" then .roles |= del(.[$e.object.metadata.name])
              else .roles[$e.object.metadata.name] = ($e.object.metadata.labels["gungnir.dev/role"] // "") end
            | ([.roles | to_entries[] | select(.value == "primary") | .key]) as $p
            | if ($p | length) > 1 then .bad += ["after event \(.changes): primaries \($p | join(" "))"] else . end)
        | "watch events replayed: \(.changes)", (.bad[] | "watch: " + .)' >"$dir/replay" 2>&1
    echo "polled $(cat "$dir/samples" 2>/dev/null) samples; $(head -n 1 "$dir/replay")"
    cat "$dir/violations"
    grep '^watch:' "$dir/replay"
    [ ! -s "$dir/violations" ] && ! grep -q '^watch:' "$dir/replay"
}

# ---- the local cluster's kube-apiserver and etcd ----------------------------------------------
# local_component_restart NAME ENVVAR: stops the local cluster's process NAME (as recorded in
# STATE_DIR/pids; SIGTERM, bounded, then SIGKILL) and starts it again with the same command line
# (read from /proc), logging to the same file (STATE_DIR/logs/NAME.log); updates STATE_DIR/pids
# and ENVVAR in STATE_DIR/env. Prints "NAME: pid X stopped, pid Y started".
local_component_restart() {
    local name=$1 envvar=$2 pid args=() start
    pid=$(awk -v n="$name" '$1 == n {print $2}' "$STATE_DIR/pids" | tail -n 1)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || { echo "no running $name recorded in $STATE_DIR/pids"; return 1; }
    mapfile -d '' args <"/proc/$pid/cmdline"
    [ "${#args[@]}" -gt 1 ] || { echo "cannot read the command line of pid $pid"; return 1; }
    (
        flock -w 60 8 || exit 1
        kill -TERM "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        echo "=== restarted by e2e/local/lib.sh at $(date -u +%FT%TZ)" >>"$STATE_DIR/logs/$name.log"
        setsid "${args[@]}" >>"$STATE_DIR/logs/$name.log" 2>&1 </dev/null 8>&- &
        new=$!
        sed -i "s/^$name $pid\$/$name $new/" "$STATE_DIR/pids"
        sed -i "s/^export $envvar=.*/export $envvar=$new/" "$STATE_DIR/env"
        echo "$new" >"$STATE_DIR/.$name-restarted"
    ) 8>>"$STATE_DIR/.lock"
    start=$(cat "$STATE_DIR/.$name-restarted" 2>/dev/null)
    rm -f "$STATE_DIR/.$name-restarted"
    [ -n "$start" ] && [ "$start" != "$pid" ] || { echo "$name was not restarted"; return 1; }
    echo "$name: pid $pid stopped, pid $start started"
}

# apiserver_restart: kube-apiserver stopped and started again (local_component_restart); kind:
# its static pod's container is stopped and the kubelet starts it again.
apiserver_restart() {
    case $E2E_PLATFORM in
    kind)
        local node=${KIND_CLUSTER_NAME:-gungnir-e2e}-control-plane
        docker exec "$node" sh -c 'crictl stop $(crictl ps -q --name kube-apiserver)' >/dev/null
        return
        ;;
    esac
    local_component_restart kube-apiserver GUNGNIR_APISERVER_PID
}
apiserver_ready() { [ "$(kc get --raw /readyz 2>&1)" = ok ] || { kc get --raw /readyz 2>&1 | tail -n 3; return 1; }; }

# shellcheck shell=bash
# shellcheck disable=SC2034 # variables set here are read by the scripts that source it
# failover_lib.sh — shared helpers for the failover integration tests (sourced, not run; not a
# test itself).
#
#   source "$(dirname "$0")/failover_lib.sh"; fo_init "$@"
#
# Every script is run by ctest as `bash script <path-to-failover_driver> <repo-root>`. It starts
# real redis-server processes on random loopback ports in a private temp dir ($T), runs
# tests/integration/failover_driver.c against them and checks the servers afterwards. The
# reporting helpers (pass, fail, expect_eq, finish, free_port, proc_gone) come from lib.sh. On
# every exit the trap SIGCONTs and SIGKILLs every server this script started (by pid) and
# removes $T. Every wait is bounded (loops with a maximum count; the driver under `timeout`).

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

declare -A NODE_PID NODE_PORT
DRIVER_PID=""
DRIVER_OUT=""

fo_init() {
    DRIVER=${1:-}
    ROOT=${2:-}
    if [ -z "$DRIVER" ] || [ -z "$ROOT" ]; then
        echo "usage: bash $0 <path-to-failover_driver> <repo-root>" >&2
        exit 2
    fi
    DRIVER=$(cd "$(dirname "$DRIVER")" && pwd)/$(basename "$DRIVER")
    if [ ! -x "$DRIVER" ]; then
        echo "$SCRIPT_NAME: $DRIVER is not an executable" >&2
        exit 2
    fi
    local tool
    for tool in redis-server redis-cli jq timeout ss; do
        command -v "$tool" >/dev/null || { echo "$SCRIPT_NAME: $tool is missing" >&2; exit 2; }
    done
    T=$(mktemp -d "${TMPDIR:-/tmp}/gungnir-it-$SCRIPT_NAME.XXXXXX")
    trap fo_cleanup EXIT
    trap 'exit 130' INT TERM
    START_SECONDS=$SECONDS
}

fo_cleanup() {
    local rc=$? name pid
    if [ -n "$DRIVER_PID" ]; then
        kill -KILL "$DRIVER_PID" 2>/dev/null
        wait "$DRIVER_PID" 2>/dev/null
    fi
    for name in "${!NODE_PID[@]}"; do
        pid=${NODE_PID[$name]}
        [ -n "$pid" ] || continue
        kill -CONT "$pid" 2>/dev/null
        kill -KILL "$pid" 2>/dev/null
    done
    for name in "${!NODE_PID[@]}"; do
        [ -z "${NODE_PID[$name]}" ] || await_gone "${NODE_PID[$name]}"
    done
    if [ -n "$T" ] && [ -d "$T" ]; then
        rm -rf "$T"
    fi
    exit "$rc"
}

# await_gone PID — until the process has exited (5 s at most; the nodes are disowned children,
# reaped by the shell).
await_gone() {
    local i
    for ((i = 0; i < 500; i++)); do
        proc_gone "$1" && return 0
        sleep 0.01
    done
    return 1
}

# populate NAME COUNT — COUNT keys key:0..COUNT-1 (DEBUG POPULATE is disabled in Redis 7).
populate() {
    cli "$1" EVAL "for i=0,tonumber(ARGV[1])-1 do redis.call('SET','key:'..i,'value') end return 1" 0 "$2" >/dev/null
}

# cli NAME ARGS... — redis-cli against a node (bounded: 5 s).
cli() {
    local name=$1
    shift
    timeout 5 redis-cli -h 127.0.0.1 -p "${NODE_PORT[$name]}" "$@" 2>/dev/null
}

# cli_port PORT ARGS...
cli_port() {
    local port=$1
    shift
    timeout 5 redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null
}

# field NAME SECTION KEY — one field of INFO SECTION (empty when the node does not answer).
field() {
    cli "$1" INFO "$2" | tr -d '\r' | awk -F: -v k="$3" '$1 == k { print $2; exit }'
}

# run_node NAME PORT ARGS... — starts redis-server NAME on PORT; returns 0 once it answers PING
# (5 s at most).
run_node() {
    local name=$1 port=$2 i
    shift 2
    mkdir -p "$T/$name"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        --dir "$T/$name" --logfile "$T/$name.log" --repl-diskless-sync-delay 0 \
        --protected-mode no "$@" >>"$T/$name.out" 2>&1 &
    NODE_PID[$name]=$!
    disown "${NODE_PID[$name]}" # no "Killed" job notices; await_gone polls /proc instead of wait
    NODE_PORT[$name]=$port
    for ((i = 0; i < 100; i++)); do
        [ "$(cli_port "$port" PING)" = PONG ] && return 0
        proc_gone "${NODE_PID[$name]}" && break
        sleep 0.05
    done
    kill -KILL "${NODE_PID[$name]}" 2>/dev/null
    await_gone "${NODE_PID[$name]}"
    NODE_PID[$name]=""
    return 1
}

# start_node NAME [ARGS...] — on a free random port (another one when it was taken meanwhile).
start_node() {
    local name=$1 attempt port
    shift
    for ((attempt = 0; attempt < 5; attempt++)); do
        port=$(free_port) || return 1
        run_node "$name" "$port" "$@" && return 0
    done
    fail "redis-server $name started" "expected: answers PING" "got: $(tail -3 "$T/$name.log" 2>/dev/null)"
    finish
}

# start_primary NAME; start_replica NAME PRIMARY
start_primary() { start_node "$1"; }
start_replica() { start_node "$1" --replicaof 127.0.0.1 "${NODE_PORT[$2]}"; }

# kill_node NAME — SIGKILL and reap.
kill_node() {
    local pid=${NODE_PID[$1]}
    [ -n "$pid" ] || return 0
    kill -CONT "$pid" 2>/dev/null
    kill -KILL "$pid" 2>/dev/null
    await_gone "$pid"
    NODE_PID[$1]=""
}

# reap NAME — after the driver SIGKILLed the node: collect it (quietly).
reap() {
    local pid=${NODE_PID[$1]}
    [ -n "$pid" ] || return 0
    await_gone "$pid"
    NODE_PID[$1]=""
}

# wait_link_up NAME — until the replica reports master_link_status:up (30 s at most).
wait_link_up() {
    local i
    for ((i = 0; i < 300; i++)); do
        [ "$(field "$1" replication master_link_status)" = up ] && return 0
        sleep 0.1
    done
    fail "replica $1 in sync" "expected: master_link_status up" "got: $(field "$1" replication master_link_status)"
    finish
}

# wait_offsets_equal PRIMARY REPLICA... — until every replica has the primary's offset (30 s).
wait_offsets_equal() {
    local p=$1 i r want ok
    shift
    for ((i = 0; i < 300; i++)); do
        want=$(field "$p" replication master_repl_offset)
        ok=1
        for r in "$@"; do
            [ "$(field "$r" replication slave_repl_offset)" = "$want" ] || ok=0
        done
        [ "$ok" = 1 ] && return 0
        sleep 0.1
    done
    fail "replicas caught up with $p" "expected: offset $want" "got: $(for r in "$@"; do printf '%s=%s ' "$r" "$(field "$r" replication slave_repl_offset)"; done)"
    finish
}

# node_arg NAME PRIORITY — a --node argument for the driver.
node_arg() { printf '%s=127.0.0.1:%s:%s' "$1" "${NODE_PORT[$1]}" "$2"; }

# driver OUT ARGS... — runs the driver in the background (bounded: 120 s), output to OUT.
driver_bg() {
    local out=$1
    shift
    DRIVER_OUT=$out
    timeout 120 "$DRIVER" "$@" >"$out" 2>"$out.err" &
    DRIVER_PID=$!
}

# driver_wait — waits for the background driver; sets DRIVER_RC.
driver_wait() {
    wait "$DRIVER_PID"
    DRIVER_RC=$?
    DRIVER_PID=""
    # a driver built with -DGUNGNIR_SANITIZE=ON reports on its stderr
    if grep -qE 'Sanitizer|runtime error' "$DRIVER_OUT.err" 2>/dev/null; then
        fail "no sanitizer report from the driver" "got: $(grep -E 'Sanitizer|runtime error' "$DRIVER_OUT.err" | head -3)"
    fi
}

# wait_event OUT EVENT — until the driver printed {"event":"EVENT"...} (60 s at most).
wait_event() {
    local i
    for ((i = 0; i < 6000; i++)); do
        grep -q "\"event\":\"$2\"" "$1" 2>/dev/null && return 0
        [ -n "$DRIVER_PID" ] && proc_gone "$DRIVER_PID" && break
        sleep 0.01
    done
    grep -q "\"event\":\"$2\"" "$1" 2>/dev/null
}

# event OUT EVENT FILTER — a field of the driver's first EVENT line (jq FILTER).
event() { grep "\"event\":\"$2\"" "$1" | head -1 | jq -r "$3"; }

# show_driver OUT — the driver's output, for a failure message.
show_driver() { printf 'driver output: %s | stderr: %s' "$(tr '\n' ' ' <"$1")" "$(head -c 500 "$1.err")"; }

# expect_follows NAME PRIMARY — the node is a replica of PRIMARY with its link up (waits up to
# 20 s for the link).
expect_follows() {
    local name=$1 p=$2 i role host port link
    for ((i = 0; i < 200; i++)); do
        role=$(field "$name" replication role)
        host=$(field "$name" replication master_host)
        port=$(field "$name" replication master_port)
        link=$(field "$name" replication master_link_status)
        [ "$role:$host:$port:$link" = "slave:127.0.0.1:${NODE_PORT[$p]}:up" ] && break
        sleep 0.1
    done
    expect_eq "$name follows $p (role:master_host:master_port:link)" \
        "slave:127.0.0.1:${NODE_PORT[$p]}:up" "$role:$host:$port:$link"
}

# expect_role NAME ROLE
expect_role() { expect_eq "$1 has role $2" "$2" "$(field "$1" replication role)"; }

# big_writes NAME COUNT — COUNT values of 1 MiB each written on NAME (to make a stopped replica
# fall far behind).
big_writes() {
    cli "$1" EVAL "for i=1,tonumber(ARGV[1]) do redis.call('SET','big'..i,string.rep('x',1048576)) end return 1" 0 "$2" >/dev/null
}

# ---- scenarios with replicas left behind -------------------------------------------------

# lag_cluster PREFIX BEHIND... — PREFIX-p primary and replicas PREFIX-NAME for the names in
# NODES (a global array); the replicas named in BEHIND are SIGSTOPped, then 24 MiB are written
# on the primary (beyond the loopback socket buffers) and the others catch up. The stopped ones
# stay stopped: resume them with resume_behind after the driver killed the primary, so that
# they answer probes with an offset far behind while the primary is already dead.
lag_cluster() {
    local prefix=$1 n
    shift
    BEHIND=()
    start_primary "$prefix-p"
    for n in "${NODES[@]}"; do start_replica "$prefix-$n" "$prefix-p"; done
    for n in "${NODES[@]}"; do wait_link_up "$prefix-$n"; done
    for n in "$@"; do
        kill -STOP "${NODE_PID[$prefix-$n]}"
        BEHIND+=("$prefix-$n")
    done
    big_writes "$prefix-p" 24
    local ahead=()
    for n in "${NODES[@]}"; do
        [[ " $* " == *" $n "* ]] || ahead+=("$prefix-$n")
    done
    [ ${#ahead[@]} -eq 0 ] || wait_offsets_equal "$prefix-p" "${ahead[@]}"
}

resume_behind() {
    local n
    for n in "${BEHIND[@]}"; do kill -CONT "${NODE_PID[$n]}"; done
}

# offsets NAME... — "name=slave_repl_offset ..." (for logs).
offsets() {
    local n
    for n in "$@"; do printf '%s=%s ' "$n" "$(field "$n" replication slave_repl_offset)"; done
}

# run_lag_driver PREFIX OUT PRIOS EXTRA... — runs the driver over PREFIX-p and the NODES with
# the priorities in the associative array named PRIOS, kills PREFIX-p after 1.5 s, resumes the
# BEHIND replicas as soon as it did, and waits. Detection: 6 probes x 500 ms, so that SDOWN
# comes at least 2.5 s after the kill, long after the resumed replicas answer.
run_lag_driver() {
    local prefix=$1 out=$2 n args=()
    local -n prios=$3
    shift 3
    args+=(--node "$(node_arg "$prefix-p" 100)")
    for n in "${NODES[@]}"; do args+=(--node "$(node_arg "$prefix-$n" "${prios[$n]}")"); done
    driver_bg "$out" "${args[@]}" --primary "$prefix-p" --interval-ms 500 --threshold 6 --timeout-ms 250 \
        --kill-pid "${NODE_PID[$prefix-p]}" --kill-after-ms 1500 --max-seconds 60 "$@"
    if ! wait_event "$out" killed; then
        resume_behind
        fail "the driver killed $prefix-p" "$(show_driver "$out")"
        finish
    fi
    resume_behind
    reap "$prefix-p"
    sleep 0.4 # the resumed replicas drain their socket buffers (SDOWN is >= 2.5 s away)
    if grep -q '"event":"sdown"' "$out"; then
        LAG_OFFSETS="(read too late: the failover had begun)"
    else
        LAG_OFFSETS=$(offsets "${NODES[@]/#/$prefix-}")
    fi
    driver_wait
}

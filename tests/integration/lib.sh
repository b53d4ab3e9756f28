# lib.sh — shared helpers for the webhook integration tests (sourced, not run).
#
#   source "$(dirname "$0")/lib.sh"; lib_init "$@"
#
# Every script is run by ctest as `bash script <path-to-gungnir> <repo-root>`. The helpers:
#   - make a private temp dir ($T) and remove it on exit (trap EXIT), after stopping every
#     gungnir and background job started through them;
#   - pick free random ports on 127.0.0.1 and start gungnir with the dev certificates;
#   - stop gungnir with SIGTERM, check that it exits 0 and printed no sanitizer report;
#   - record failed checks (printed with expected and got) and turn them into the exit status.
# Every wait is bounded: curl has --max-time, loops have a maximum count.

set -u
set -o pipefail

FAILED=0
CHECKS=0
T=""
GUNGNIR_PID=""
BG_PIDS=()        # background helpers (load loops) to end on exit
SCRIPT_NAME=$(basename "${0:-test}" .sh)
CURL_MAX_TIME=${CURL_MAX_TIME:-20}

# ---- reporting --------------------------------------------------------------------------

log() { printf '[%s] %s (at %ss)\n' "$SCRIPT_NAME" "$*" "$((SECONDS - ${START_SECONDS:-0}))"; }

pass() {
    CHECKS=$((CHECKS + 1))
    printf '[%s] ok   %s\n' "$SCRIPT_NAME" "$1"
}

fail() {
    CHECKS=$((CHECKS + 1))
    FAILED=$((FAILED + 1))
    printf '[%s] FAIL %s\n' "$SCRIPT_NAME" "$1" >&2
    shift
    local line
    for line in "$@"; do
        printf '         %s\n' "$line" >&2
    done
}

# expect_eq DESC EXPECTED GOT
expect_eq() {
    if [ "$2" == "$3" ]; then
        pass "$1"
    else
        fail "$1" "expected: $2" "got:      $3"
    fi
}

# expect_contains DESC NEEDLE HAYSTACK
expect_contains() {
    if [[ "$3" == *"$2"* ]]; then
        pass "$1"
    else
        fail "$1" "expected to contain: $2" "got: $(printf '%s' "$3" | head -c 2000)"
    fi
}

# expect_not_contains DESC NEEDLE HAYSTACK
expect_not_contains() {
    if [[ "$3" != *"$2"* ]]; then
        pass "$1"
    else
        fail "$1" "expected not to contain: $2" "got: $(printf '%s' "$3" | head -c 2000)"
    fi
}

# expect_true DESC COMMAND... — passes when the command succeeds.
expect_true() {
    local desc=$1
    shift
    if "$@"; then
        pass "$desc"
    else
        fail "$desc" "command failed: $*"
    fi
}

# ---- set-up and clean-up ----------------------------------------------------------------

lib_init() {
    GUNGNIR=${1:-}
    ROOT=${2:-}
    if [ -z "$GUNGNIR" ] || [ -z "$ROOT" ]; then
        echo "usage: bash $0 <path-to-gungnir> <repo-root>" >&2
        exit 2
    fi
    GUNGNIR=$(cd "$(dirname "$GUNGNIR")" && pwd)/$(basename "$GUNGNIR")
    ROOT=$(cd "$ROOT" && pwd)
    if [ ! -x "$GUNGNIR" ]; then
        echo "$SCRIPT_NAME: $GUNGNIR is not an executable" >&2
        exit 2
    fi
    local tool
    for tool in curl openssl jq base64 timeout ss; do
        command -v "$tool" >/dev/null || { echo "$SCRIPT_NAME: $tool is missing" >&2; exit 2; }
    done
    T=$(mktemp -d "${TMPDIR:-/tmp}/gungnir-it-$SCRIPT_NAME.XXXXXX")
    trap lib_cleanup EXIT
    trap 'exit 130' INT TERM
    MUTATE_PATH=/mutate-gungnir-dev-v1alpha1-valkeycluster
    VALIDATE_PATH=/validate-gungnir-dev-v1alpha1-valkeycluster
    START_SECONDS=$SECONDS
}

# Runs on every exit: ends what this script started (by pid), removes the temp dir. Keeps
# the exit status.
lib_cleanup() {
    local rc=$?
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    if [ -n "$GUNGNIR_PID" ] && kill -0 "$GUNGNIR_PID" 2>/dev/null; then
        kill -TERM "$GUNGNIR_PID" 2>/dev/null
        local i
        for ((i = 0; i < 50; i++)); do
            proc_gone "$GUNGNIR_PID" && break
            sleep 0.1
        done
        proc_gone "$GUNGNIR_PID" || kill -KILL "$GUNGNIR_PID" 2>/dev/null
        wait "$GUNGNIR_PID" 2>/dev/null
    fi
    for pid in "${BG_PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    if [ -n "$T" ] && [ -d "$T" ]; then
        chmod -R u+rwX "$T" 2>/dev/null
        rm -rf "$T"
    fi
    exit "$rc"
}

# finish — prints the summary and exits 1 when any check failed. Stop gungnir first.
finish() {
    local took=$((SECONDS - START_SECONDS))
    if [ "$FAILED" -gt 0 ]; then
        printf '[%s] %d of %d checks FAILED (%ds)\n' "$SCRIPT_NAME" "$FAILED" "$CHECKS" "$took" >&2
        exit 1
    fi
    printf '[%s] all %d checks passed (%ds)\n' "$SCRIPT_NAME" "$CHECKS" "$took"
    exit 0
}

# proc_gone PID — true when the process has exited (gone, or a zombie waiting for wait).
proc_gone() {
    [ -e "/proc/$1" ] || return 0
    local state
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -z "$state" ] || [ "$state" = Z ]
}

# ---- ports and certificates -------------------------------------------------------------

port_in_use() {
    [ -n "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]
}

# free_port — prints a random port on 127.0.0.1 that nothing listens on or uses now.
free_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        if ! port_in_use "$p" && [[ " ${USED_PORTS:-} " != *" $p "* ]]; then
            USED_PORTS="${USED_PORTS:-} $p"
            echo "$p"
            return 0
        fi
    done
    echo "no free port found" >&2
    return 1
}

# make_certs DIR — the dev CA and a serving pair in DIR (the CA is kept when present).
make_certs() {
    bash "$ROOT/certs/make-dev-certs.sh" "$1" >"$T/make-dev-certs.out" 2>&1 || {
        cat "$T/make-dev-certs.out" >&2
        fail "make-dev-certs.sh $1"
        finish
    }
}

cert_serial() { openssl x509 -noout -serial -in "$1" | sed 's/^serial=//'; }

# served_serial PORT — the serial of the certificate the server presents now (empty on failure).
served_serial() {
    timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername localhost -showcerts </dev/null 2>/dev/null |
        openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//'
}

# not_after_epoch CERTFILE — notAfter as a Unix time.
not_after_epoch() {
    date -u -d "$(openssl x509 -noout -enddate -in "$1" | sed 's/^notAfter=//')" +%s
}

# ---- gungnir ----------------------------------------------------------------------------

# start_gungnir CERTDIR [extra flags...] — starts gungnir on free ports and waits until
# /readyz answers 200. Sets GUNGNIR_PID, WEBHOOK_PORT, HEALTH_PORT, METRICS_PORT, BASE,
# GUNGNIR_ERR (its stderr) and GUNGNIR_OUT. Retries with other ports when one was taken.
# Scripts set CA (the dev CA file) for post().
GUNGNIR_RUN=0
start_gungnir() {
    local dir=$1
    shift
    local attempt i code
    for ((attempt = 0; attempt < 3; attempt++)); do
        GUNGNIR_RUN=$((GUNGNIR_RUN + 1))
        WEBHOOK_PORT=$(free_port) && HEALTH_PORT=$(free_port) && METRICS_PORT=$(free_port) || return 1
        GUNGNIR_ERR=$T/gungnir.$GUNGNIR_RUN.err
        GUNGNIR_OUT=$T/gungnir.$GUNGNIR_RUN.out
        "$GUNGNIR" --disable-controller --webhook-cert-dir "$dir" \
            --webhook-bind-address "127.0.0.1:$WEBHOOK_PORT" \
            --health-probe-bind-address "127.0.0.1:$HEALTH_PORT" \
            --metrics-bind-address "127.0.0.1:$METRICS_PORT" "$@" \
            >"$GUNGNIR_OUT" 2>"$GUNGNIR_ERR" &
        GUNGNIR_PID=$!
        BASE=https://127.0.0.1:$WEBHOOK_PORT
        for ((i = 0; i < 150; i++)); do
            proc_gone "$GUNGNIR_PID" && break
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$HEALTH_PORT/readyz")
            [ "$code" = 200 ] && return 0
            sleep 0.1
        done
        if proc_gone "$GUNGNIR_PID"; then
            wait "$GUNGNIR_PID"
            local rc=$?
            GUNGNIR_PID=""
            if grep -q 'address in use' "$GUNGNIR_ERR"; then
                log "a port was taken meanwhile; trying other ports"
                continue
            fi
            fail "gungnir started" "exited with status $rc before it was ready" "stderr: $(cat "$GUNGNIR_ERR")"
            return 1
        fi
        fail "gungnir ready within 15 s" "expected: /readyz 200" "got: ${code:-nothing}; stderr: $(tail -5 "$GUNGNIR_ERR")"
        return 1
    done
    fail "gungnir started" "three attempts found a port taken"
    return 1
}

# sanitizer_clean DESC FILE — fails when FILE holds a sanitizer report.
sanitizer_clean() {
    local found
    found=$(grep -E 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|LeakSanitizer|runtime error|ThreadSanitizer' "$2" | head -5)
    if [ -z "$found" ]; then
        pass "$1"
    else
        fail "$1" "expected: no sanitizer report" "got: $found" "full report in the stderr shown below:"
        sed -n '1,80p' "$2" >&2
    fi
}

# stop_gungnir — SIGTERM, wait (bounded, 30 s) and check: exit status 0, no sanitizer report.
stop_gungnir() {
    [ -n "$GUNGNIR_PID" ] || return 0
    local pid=$GUNGNIR_PID i rc
    if proc_gone "$pid"; then
        wait "$pid"
        rc=$?
        fail "gungnir still running before SIGTERM" "expected: running" "got: exited with status $rc; stderr: $(tail -5 "$GUNGNIR_ERR")"
        GUNGNIR_PID=""
        sanitizer_clean "no sanitizer report from gungnir" "$GUNGNIR_ERR"
        return
    fi
    kill -TERM "$pid"
    for ((i = 0; i < 300; i++)); do
        proc_gone "$pid" && break
        sleep 0.1
    done
    if ! proc_gone "$pid"; then
        fail "gungnir exits within 30 s of SIGTERM" "expected: exited" "got: still running; killed"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid"
    rc=$?
    GUNGNIR_PID=""
    expect_eq "gungnir exit status after SIGTERM" 0 "$rc"
    expect_contains "gungnir logs its shutdown" '"msg":"shutting down","signal":"SIGTERM"' "$(cat "$GUNGNIR_ERR")"
    sanitizer_clean "no sanitizer report from gungnir" "$GUNGNIR_ERR"
}

# gungnir_alive DESC — the process still runs.
gungnir_alive() {
    if [ -n "$GUNGNIR_PID" ] && ! proc_gone "$GUNGNIR_PID"; then
        pass "$1"
    else
        fail "$1" "expected: gungnir running" "got: exited; stderr: $(tail -20 "$GUNGNIR_ERR" 2>/dev/null)"
    fi
}

# ---- HTTP -------------------------------------------------------------------------------

# post PATH BODYFILE [curl args...] — POSTs over TLS (verified with the dev CA). Sets HTTP_CODE,
# CURL_RC, BODY (the answer), HEADERS (the response headers) and CURL_ERR. The Content-Type is
# application/json unless CT is set (CT= sends none).
post() {
    local path=$1 file=$2
    shift 2
    HTTP_CODE=$(curl -sS --max-time "$CURL_MAX_TIME" --cacert "$CA" -o "$T/resp.body" -D "$T/resp.headers" \
        -w '%{http_code}' -H "Content-Type:${CT-application/json}" --data-binary @"$file" "$@" \
        "$BASE$path" 2>"$T/curl.err")
    CURL_RC=$?
    BODY="" HEADERS=""
    [ ! -f "$T/resp.body" ] || BODY=$(<"$T/resp.body")
    [ ! -f "$T/resp.headers" ] || HEADERS=$(<"$T/resp.headers")
    HEADERS=${HEADERS//$'\r'/}
    CURL_ERR=$(<"$T/curl.err")
    rm -f "$T/resp.body" "$T/resp.headers"
}

# post_batch PATH FILE... — POSTs every FILE over one curl run (one kept-alive connection,
# verified with the dev CA). Writes FILE.resp (body), FILE.hdr (headers) and FILE.code (HTTP
# status, 000 when curl failed) for each; CURL_RC and CURL_ERR as for post.
post_batch() {
    local path=$1 f codes i=0
    shift
    local args=()
    for f in "$@"; do
        [ ${#args[@]} -eq 0 ] || args+=(--next)
        args+=(-sS --max-time "$CURL_MAX_TIME" --cacert "$CA" -H 'Content-Type: application/json'
            --data-binary @"$f" -o "$f.resp" -D "$f.hdr" -w '%{http_code}\n' "$BASE$path")
    done
    codes=$(curl "${args[@]}" 2>"$T/curl.err")
    CURL_RC=$?
    CURL_ERR=$(<"$T/curl.err")
    local code_list=()
    mapfile -t code_list <<<"$codes"
    for f in "$@"; do
        printf '%s\n' "${code_list[$i]:-000}" >"$f.code"
        i=$((i + 1))
    done
}

# load_answer FILE — sets HTTP_CODE, BODY and HEADERS from what post_batch wrote for FILE.
load_answer() {
    HTTP_CODE=$(<"$1.code")
    BODY="" HEADERS=""
    [ ! -f "$1.resp" ] || BODY=$(<"$1.resp")
    [ ! -f "$1.hdr" ] || HEADERS=$(<"$1.hdr")
    HEADERS=${HEADERS//$'\r'/}
}

# header NAME — the value of a response header from the last post (case-insensitive name).
header() {
    local line name want=${1,,}
    while IFS= read -r line; do
        name=${line%%:*}
        if [ "$name" != "$line" ] && [ "${name,,}" = "$want" ]; then
            printf '%s\n' "${line#*: }"
            return 0
        fi
    done <<<"$HEADERS"
}

# metric NAME_WITH_LABELS — the value of one series on /metrics (empty when missing).
metric() {
    curl -s --max-time 10 "http://127.0.0.1:$METRICS_PORT/metrics" |
        awk -v s="$1" '$1 == s { print $2; exit }'
}

uuid() { cat /proc/sys/kernel/random/uuid; }

# review OP UID OBJECT_JSON [OLD_JSON] [JQ_FILTER] — prints an AdmissionReview v1 request for
# a ValkeyCluster; JQ_FILTER edits it further (e.g. '.request.dryRun = true').
review() {
    jq -c -n --arg op "$1" --arg uid "$2" --argjson obj "$3" --argjson old "${4:-null}" '
      {apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
       request: {uid: $uid,
                 kind: {group: "gungnir.dev", version: "v1alpha1", kind: "ValkeyCluster"},
                 resource: {group: "gungnir.dev", version: "v1alpha1", resource: "valkeyclusters"},
                 requestKind: {group: "gungnir.dev", version: "v1alpha1", kind: "ValkeyCluster"},
                 requestResource: {group: "gungnir.dev", version: "v1alpha1", resource: "valkeyclusters"},
                 name: (($obj // $old).metadata.name // ""), namespace: "prod", operation: $op,
                 userInfo: {username: "admin", groups: ["system:authenticated"]},
                 object: $obj, oldObject: $old, dryRun: false,
                 options: {apiVersion: "meta.k8s.io/v1",
                           kind: (if $op == "CREATE" then "CreateOptions"
                                  elif $op == "UPDATE" then "UpdateOptions"
                                  else "DeleteOptions" end)}}}
      | '"(${5:-.})"
}

# apply_patch — jq program: applies the JSON Patch (RFC 6902: add, replace, remove) in $patch
# to the input, strictly: add needs an existing parent, replace and remove an existing target.
APPLY_PATCH_JQ='
def unesc: gsub("~1"; "/") | gsub("~0"; "~");
def ptr: if . == "" then [] else (if startswith("/") then .[1:] | split("/") | map(unesc)
                                  else error("bad pointer \(.)") end) end;
def idx($parent): if ($parent | type) == "array" then (if . == "-" then ($parent | length) else tonumber end) else . end;
reduce $patch[] as $op (.;
  ($op.path | ptr) as $p
  | if ($p | length) == 0 then (if $op.op == "remove" then null else $op.value end)
    else ($p[:-1]) as $pp | getpath($pp) as $parent
    | if ($parent | type) != "object" and ($parent | type) != "array" then
        error("\($op.op) \($op.path): the parent is not an object or array")
      else ($p[-1] | idx($parent)) as $k
      | if $op.op == "add" then
          (if ($parent | type) == "array" then setpath($pp; $parent[:$k] + [$op.value] + $parent[$k:])
           else setpath($pp + [$k]; $op.value) end)
        elif $op.op == "replace" then
          (if ($parent | has($k)) then setpath($pp + [$k]; $op.value) else error("replace \($op.path): no such member") end)
        elif $op.op == "remove" then
          (if ($parent | has($k)) then delpaths([$pp + [$k]]) else error("remove \($op.path): no such member") end)
        else error("unsupported op \($op.op)") end
      end
    end)'

# e2e/local/fault_lib.sh — helpers of the fault-point walk (test_fault_points.sh); sourced, not run.
# shellcheck shell=bash
#
# Sources failover_lib.sh (the 100 ms watcher of labels / Endpoints / epoch, the acknowledged-write
# client, fo_verify) and adds:
#   fp_operator_start [ENV=VALUE...]   gungnir (re)started with these variables in its
#                                      environment only (GUNGNIR_FAULT, GUNGNIR_FAULT_TRACE)
#   fp_stray_start NS NAME DIR / fp_stray_stop DIR
#       every 500 ms ROLE on every pod of the cluster (its pod IP on the test bridge): a server that
#       answers role master without being the pod labelled gungnir.dev/role=primary is a stray
#       master; one that stays so for more than FP_STRAY_BOUND seconds (default 30) while it
#       answers is a violation. The count restarts when the pod stops answering, is being
#       deleted, or is another pod (new uid).
#   fp_wait DESC SECONDS PRED...
#       wait_for that also watches the armed fault: when the faulted gungnir dies at its point it
#       is started again WITHOUT the fault (the wait's bound counts from then); when it hangs at
#       its point it is left hanging for FP_HANG_HOLD seconds (default 10; the watchers keep
#       checking) and is then killed and started again without the fault.
# The faulted gungnir cannot be wait(2)ed for (deploy.sh starts it in the background), so "died at
# the point" is: its pid is gone and its log says "fault point: exiting" for that point (the
# exit code 86 itself is not observable here).

# shellcheck source=failover_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/failover_lib.sh"

FP_STRAY_BOUND=${FP_STRAY_BOUND:-30}
FP_HANG_HOLD=${FP_HANG_HOLD:-10}
FP_ARMED=0      # 1 while the running gungnir carries a GUNGNIR_FAULT that has not acted yet
FP_FAULT=""     # point:n:action of the current run
FP_FIRED=""     # "", exit, hang, fail
FP_NOTES=()     # what broke in the current run (empty: ok)
FP_LOG0=0       # gungnir.log line where the current run began

# fp_operator_start [VAR=VALUE...]: stops gungnir and starts it again with VAR=VALUE in its
# environment (and nowhere else).
# shellcheck disable=SC2120 # the suite passes the variables
fp_operator_start() {
    operator_stop
    # Not retried: a gungnir that dies at its fault before it is ready is fp_fault_check's.
    env "$@" bash "$E2E_ROOT/e2e/local/deploy.sh" --dir "$STATE_DIR" --build "${E2E_BUILD:-build}" >/dev/null 2>&1
}
fp_operator_alive() { local p; p=$(operator_pid); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
# fp_clean_start: gungnir started again without any fault (the faulted one is gone or killed).
fp_clean_start() {
    fp_operator_alive && operator_kill9
    wait_for "the faulted gungnir to be gone" 10 bash -c "! kill -0 $(operator_pid) 2>/dev/null" >/dev/null
    fp_operator_start
    fp_operator_alive || FP_NOTES+=("gungnir did not start again without the fault")
    FP_ARMED=0
}
fp_log_has() { # MSG: the current run's gungnir log has "msg":"MSG" for the armed point
    fo_log_since "$FP_LOG0" | grep -F "\"msg\":\"$1\"" | grep -qF "\"point\":\"${FP_FAULT%%:*}\""
}

# fp_fault_check: acts on the armed fault (see fp_wait). Returns 0 when gungnir was restarted.
fp_fault_check() {
    [ "$FP_ARMED" = 1 ] || return 1
    local action=${FP_FAULT##*:}
    case $action in
    exit)
        fp_operator_alive && return 1
        FP_FIRED="exit"
        if fp_log_has "fault point: exiting"; then
            say "  gungnir died at $FP_FAULT (log: fault point: exiting); starting it again without the fault"
        else
            FP_NOTES+=("gungnir died without the line 'fault point: exiting' for $FP_FAULT")
            fo_log_since "$FP_LOG0" | tail -n 5 | cut -c1-240 | sed 's/^/       | /'
        fi
        fp_clean_start
        return 0
        ;;
    hang)
        fp_log_has "fault point: hanging" || return 1
        if [ -z "$FP_FIRED" ]; then
            FP_FIRED=hang
            FP_HANG_T=$(date +%s)
            say "  gungnir hangs at $FP_FAULT; watching it for $FP_HANG_HOLD s, then kill -9 and a clean start"
        fi
        [ $(($(date +%s) - FP_HANG_T)) -ge "$FP_HANG_HOLD" ] || return 1
        fp_operator_alive || FP_NOTES+=("gungnir died while hanging at $FP_FAULT")
        fp_clean_start
        return 0
        ;;
    fail)
        fp_log_has "fault point: failing the call" || return 1
        FP_FIRED=fail
        FP_ARMED=0 # the call failed once; the same gungnir goes on
        say "  one call failed at $FP_FAULT; gungnir goes on"
        fp_operator_alive || { FP_NOTES+=("gungnir died after the failed call at $FP_FAULT"); fp_clean_start; return 0; }
        return 1
        ;;
    esac
    return 1
}

# fp_wait DESC SECONDS PRED...: see the header. Returns 0 when PRED held, 1 (after a note) if not.
fp_wait() {
    local desc=$1 secs=$2 deadline
    shift 2
    deadline=$(($(date +%s) + secs))
    while :; do
        fp_fault_check && deadline=$(($(date +%s) + secs))
        if WAIT_LAST=$("$@" 2>&1); then return 0; fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            FP_NOTES+=("not within $secs s: $desc")
            echo "[$(ts)]        timed out after ${secs} s waiting for: $desc; last state:"
            sed 's/^/       | /' <<<"$WAIT_LAST" | tail -n 25
            return 1
        fi
        sleep 0.5
    done
}

# ---- the stray-master sampler -------------------------------------------------------------------
fp_write_stray_tool() {
    cat <<'PY'
import json, os, socket, sys, time, urllib.request

proxy, ns, name, password, d, bound = sys.argv[1:7]
bound = float(bound)

def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)

def role(ip):
    """The first word of ROLE, or None when the server does not answer."""
    try:
        s = socket.create_connection((ip, 6379), timeout=0.3)
    except Exception:
        return None
    try:
        s.settimeout(0.5)
        s.sendall(enc("AUTH", password) + enc("ROLE"))
        f = s.makefile("rb")
        if not f.readline().startswith(b"+OK"):
            return None
        if not f.readline().startswith(b"*"):
            return None
        f.readline()  # $<len>
        return f.readline().strip().decode(errors="replace")
    except Exception:
        return None
    finally:
        s.close()

url = "%s/api/v1/namespaces/%s/pods?labelSelector=app.kubernetes.io/instance%%3D%s" % (proxy, ns, name)
viol = open(os.path.join(d, "violations"), "w", buffering=1)
log = open(os.path.join(d, "log"), "w", buffering=1)
since, reported, longest = {}, set(), {}
samples = 0
while not os.path.exists(os.path.join(d, "stop")):
    t = time.time()
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            items = json.load(r)["items"]
    except Exception:
        items = None
    seen = set()
    for p in items or []:
        md = p["metadata"]
        key = "%s/%s" % (md["name"], md["uid"][:8])
        ip = (p.get("status") or {}).get("podIP")
        label = (md.get("labels") or {}).get("gungnir.dev/role", "")
        if not ip or md.get("deletionTimestamp"):
            continue
        rl = role(ip)
        if rl == "master" and label != "primary":
            seen.add(key)
            if key not in since:
                since[key] = t
                log.write("%d %s answers master, labelled '%s'\n" % (t * 1000, key, label))
            dur = t - since[key]
            longest[key] = max(longest.get(key, 0), dur)
            if dur > bound and key not in reported:
                reported.add(key)
                viol.write("%d %s answers role master without the primary label for %.1f s (> %g s)\n" % (t * 1000, key, dur, bound))
    if items is not None:
        for key in list(since):
            if key not in seen:
                log.write("%d %s no longer a stray master (after %.1f s)\n" % (t * 1000, key, t - since[key]))
                del since[key]
                reported.discard(key)
        samples += 1
    time.sleep(max(0.0, 0.5 - (time.time() - t)))
with open(os.path.join(d, "summary"), "w") as f:
    f.write("stray sampler: %d samples (500 ms); stray masters seen: %s\n" % (
        samples, ", ".join("%s %.1f s" % (k, v) for k, v in sorted(longest.items())) or "none"))
PY
}

fp_stray_start() { # NS NAME DIR
    mkdir -p "$3"
    rm -f "$3"/{stop,summary,violations,log}
    [ -s "$FO_WORK/stray.py" ] || fp_write_stray_tool >"$FO_WORK/stray.py"
    "$FO_PY" "$FO_WORK/stray.py" "$E2E_PROXY" "$1" "$2" "$(vpassword "$1" "$2")" "$3" "$FP_STRAY_BOUND" >"$3/out" 2>&1 &
    FP_STRAY_PID=$!
    on_cleanup "touch $3/stop; kill $FP_STRAY_PID 2>/dev/null"
}
# fp_stray_stop DIR: prints the summary and the violations; returns 1 when there were any.
fp_stray_stop() {
    touch "$1/stop"
    for _ in $(seq 1 30); do [ -s "$1/summary" ] && break; sleep 0.1; done
    kill "$FP_STRAY_PID" 2>/dev/null
    wait "$FP_STRAY_PID" 2>/dev/null
    cat "$1/summary" 2>/dev/null || echo "no summary ($(tail -n 3 "$1/out" 2>/dev/null))"
    cat "$1/violations" 2>/dev/null
    [ -s "$1/summary" ] && [ ! -s "$1/violations" ]
}

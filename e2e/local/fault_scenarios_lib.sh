# e2e/local/fault_scenarios_lib.sh — helpers of the fault-scenario suite (test_fault_scenarios.sh)
# and of the soak (bench/soak_lib.sh); sourced after lib.sh / failover_lib.sh, not run.
# shellcheck shell=bash
#
#   etcd_restart               stops the local cluster's etcd (SIGTERM, bounded) and starts it again
#                              with the same command line and data dir (read from /proc), logging to
#                              the same file; updates STATE_DIR/pids and env (as lib.sh's
#                              apiserver_restart does for kube-apiserver)
#   etcd_healthy               etcd answers /health with "health":"true"
#   fs_converged NS NAME N [OLD]
#                              the cluster is settled with N pods (vkc_settled), every replica follows
#                              the labelled primary (replicas_attached), status.failover.inProgress is
#                              not true, and the primary is not OLD (when given)
#   rec_proxy_start DIR        a recording TLS proxy in front of kube-apiserver (on 127.0.0.1, with the
#                              API server's own certificate, so a kubeconfig that names 127.0.0.1
#                              verifies): writes DIR/port, DIR/kubeconfig (the cluster's, pointed at
#                              the proxy) and DIR/requests: "t_ms REQ conn METHOD PATH" per request
#                              and "t_ms RESP conn METHOD PATH CODE" per answer, as seen on the wire.
#                              Used to see which API requests one gungnir process really sent.
#   rec_proxy_stop DIR
#   rec_writes_since DIR T_MS  the write requests (POST PUT PATCH DELETE) sent after T_MS, one a line
#   op_rss PID                 VmRSS of PID in kB (empty when gone)

# etcd_restart: like apiserver_restart (lib.sh), for etcd. Its data dir stays: nothing is lost
# that etcd acknowledged.
etcd_restart() { local_component_restart etcd GUNGNIR_ETCD_PID; }
etcd_healthy() {
    local port
    port=$(sed -n 's/^export GUNGNIR_ETCD_CLIENT_PORT=//p' "$STATE_DIR/env")
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && printf 'GET /health HTTP/1.0\r\n\r\n' >&3 && cat <&3" 2>/dev/null |
        grep -q '"health":"true"' || { echo "etcd on 127.0.0.1:$port is not healthy"; return 1; }
}

fs_converged() { # NS NAME N [OLD]
    local ns=$1 name=$2 n=$3 old=${4:-} prim ip
    prim=$(kj "$ns" "vkc/$name" '{.status.primary}')
    ip=$(kj "$ns" "vkc/$name" '{.status.failover.inProgress}')
    echo "status.primary=$prim inProgress=$ip"
    [ -n "$prim" ] && [ "$ip" != true ] || return 1
    [ -z "$old" ] || [ "$prim" != "$old" ] || return 1
    vkc_settled "$ns" "$name" "$n" && replicas_attached "$ns" "$name"
}

op_rss() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status" 2>/dev/null; }

# ---- the recording proxy ----------------------------------------------------------------------
rec_proxy_start() { # DIR
    local dir=$1 py
    mkdir -p "$dir"
    rm -f "$dir/port" "$dir/requests"
    py=${FO_PY:-python3}
    rec_proxy_tool >"$dir/proxy.py"
    "$py" "$dir/proxy.py" --upstream-port "$GUNGNIR_APISERVER_PORT" --cert "$STATE_DIR/pki/apiserver.crt" \
        --key "$STATE_DIR/pki/apiserver.key" --dir "$dir" >"$dir/proxy.out" 2>&1 &
    REC_PROXY_PID=$!
    on_cleanup "kill $REC_PROXY_PID 2>/dev/null"
    wait_for "the recording proxy to listen" 20 test -s "$dir/port" >/dev/null || { cat "$dir/proxy.out"; return 1; }
    sed "s|server: .*|server: https://127.0.0.1:$(cat "$dir/port")|" "$KUBECONFIG" >"$dir/kubeconfig"
    chmod 600 "$dir/kubeconfig"
}
rec_proxy_stop() { kill "$REC_PROXY_PID" 2>/dev/null; wait "$REC_PROXY_PID" 2>/dev/null; return 0; }
rec_writes_since() { # DIR T_MS
    awk -v t="$2" '$1 >= t && $2 == "REQ" && $4 ~ /^(POST|PUT|PATCH|DELETE)$/' "$1/requests" 2>/dev/null
}

rec_proxy_tool() {
    cat <<'PY'
import argparse, os, re, select, socket, ssl, threading, time

p = argparse.ArgumentParser()
for o in ("upstream-port", "cert", "key", "dir"):
    p.add_argument("--" + o)
a = p.parse_args()
log = open(os.path.join(a.dir, "requests"), "a", buffering=1)
lock = threading.Lock()
REQ = re.compile(rb"(GET|POST|PUT|PATCH|DELETE) (/\S*) HTTP/1\.1\r\n")
RESP = re.compile(rb"HTTP/1\.1 (\d{3}) ")

def now_ms():
    return int(time.time() * 1000)

def w(line):
    with lock:
        log.write("%d %s\n" % (now_ms(), line))

srv_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
srv_ctx.load_cert_chain(a.cert, a.key)
srv_ctx.set_alpn_protocols(["http/1.1"])
up_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
up_ctx.check_hostname = False
up_ctx.verify_mode = ssl.CERT_NONE
up_ctx.set_alpn_protocols(["http/1.1"])

def sniff(buf, tail_len, conn, pending, is_req):
    for m in (REQ if is_req else RESP).finditer(buf):
        if m.end() <= tail_len:
            continue
        if is_req:
            meth, path = m.group(1).decode(), m.group(2).decode(errors="replace")
            pending.append((meth, path))
            w("REQ %d %s %s" % (conn, meth, path))
        else:
            meth, path = pending.pop(0) if pending else ("?", "?")
            w("RESP %d %s %s %s" % (conn, meth, path, m.group(1).decode()))

# Both directions in one thread: an SSL socket must never be read and written by two threads
# at once (OpenSSL's objects are not thread-safe; two pipe threads hung a request under load).
def relay(c, u, conn):
    pending, tails = [], {c: b"", u: b""}
    while True:
        ready = [s for s in (c, u) if s.pending()]
        if not ready:
            ready, _, _ = select.select([c, u], [], [], 60)
        for s in ready:
            try:
                data = s.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except Exception:
                return
            if not data:
                return
            buf = tails[s] + data
            sniff(buf, len(tails[s]), conn, pending, s is c)
            tails[s] = buf[-256:]
            try:
                (u if s is c else c).sendall(data)
            except Exception:
                return

def handle(cs, conn):
    try:
        c = srv_ctx.wrap_socket(cs, server_side=True)
        u = up_ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(a.upstream_port)), timeout=10))
        u.settimeout(None)
    except Exception as e:
        w("ERR %d %s" % (conn, str(e)[:100].replace(" ", "_")))
        cs.close()
        return
    relay(c, u, conn)
    for s in (c, u):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except Exception:
            pass
        s.close()

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(64)
with open(os.path.join(a.dir, "port.tmp"), "w") as f:
    f.write("%d\n" % ls.getsockname()[1])
os.replace(os.path.join(a.dir, "port.tmp"), os.path.join(a.dir, "port"))
n = 0
while True:
    cs, _ = ls.accept()
    n += 1
    threading.Thread(target=handle, args=(cs, n), daemon=True).start()
PY
}

# fs_watch_ok DIR: the violations of a failover_lib.sh watcher (fo_watch_start) that are gungnir's:
# two pods labelled primary, a decreasing epoch (exit 1 when there are any). Samples of an
# Endpoints with two ready IPs are printed, not counted: kube-controller-manager writes the
# Endpoints from its own cache, which after a kube-apiserver restart can lag behind the labels by
# tens of seconds (seen in the soak: its watches silent for ~45 s after the restart, then it wrote
# the deleted old primary's address back next to the new one while the labels had one primary).
fs_watch_ok() {
    local ours ep
    ours=$(grep -v 'Endpoints' "$1/violations" 2>/dev/null)
    ep=$(grep -c 'Endpoints' "$1/violations" 2>/dev/null)
    echo "samples $(cat "$1/samples" 2>/dev/null); Endpoints with two ready IPs (kube-controller-manager, not counted): ${ep:-0}"
    [ -z "$ours" ] || { head -n 20 <<<"$ours"; return 1; }
}

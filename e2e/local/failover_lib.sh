# e2e/local/failover_lib.sh — helpers of the failover suites (test_failover_*.sh); sourced, not run.
# shellcheck shell=bash
#
# Sources lib.sh (assertions, bounded waits, kubectl, vcli, start_proxy, operator_*), after
# choosing this family's defaults: its own cluster in /tmp/gungnir-fo on the bridge gungnirfo with
# pods in 10.254.0.0/24 (other suites and helpers may run their own clusters on the machine),
# namespaces fo-*, the gungnir of build-fo.
#
#   STATE_DIR (/tmp/gungnir-fo)  GUNGNIR_BRIDGE (gungnirfo)  GUNGNIR_POD_PREFIX (10.254.0)
#   E2E_NS_PREFIX (fo)           E2E_BUILD (build-fo)
#
# Bring the cluster up first:
#   GUNGNIR_BRIDGE=gungnirfo GUNGNIR_POD_PREFIX=10.254.0 e2e/cluster/up.sh --dir /tmp/gungnir-fo
#   GUNGNIR_BRIDGE=gungnirfo GUNGNIR_POD_PREFIX=10.254.0 e2e/local/deploy.sh --dir /tmp/gungnir-fo --build build-fo
#
# On top of lib.sh this gives (python3 from Debian does the 100 ms polling and the client: one
# process each instead of a kubectl/curl fork per sample):
#   fo_watch_start NS NAME DIR / fo_watch_stop DIR
#       every 100 ms: the pods labelled primary, the ready IPs of Endpoints NAME, the VKC's
#       status.primary / failover.epoch / inProgress; plus watch streams of the pods, of Endpoints
#       NAME and of the VKC, replayed event by event. Violations: two pods labelled primary, two
#       ready IPs in the Endpoints, a decreasing epoch, a pod in FO_NEVER_PRIMARY labelled
#       primary. DIR/timeline holds "t_ms what value" lines of every change.
#   fo_client_start NS NAME DIR / fo_client_stop DIR
#       a client that resolves the primary through Endpoints NAME (as kube-proxy would route),
#       SET k_i i + WAIT 1 500 on one connection, and records the acknowledged keys in DIR/acked
#       ("key ip t_ms"); it reconnects through the Endpoints after any error.
#       FO_CLIENT_MAX_S=N: the client stops by itself after N seconds (default: only when told).
#       The watcher also writes DIR/pod_events: one line per event of the pods' watch stream, in
#       the API server's order: "t_ms TYPE pod uid controller-revision-hash role live|deleting Ready".
#   fo_verify NS NAME POD DIR: every acknowledged key of DIR/acked is on POD (MGET).
#   fo_kill_server NS POD SIGNAL: signal to the pod's server (node agent's pid file).
#   fo_first_after DIR T0 WHAT PRED: the first timeline time >= T0 of WHAT whose value PRED(awk).

STATE_DIR=${STATE_DIR:-/tmp/gungnir-fo}
export GUNGNIR_BRIDGE=${GUNGNIR_BRIDGE:-gungnirfo}
export GUNGNIR_POD_PREFIX=${GUNGNIR_POD_PREFIX:-10.254.0}
E2E_NS_PREFIX=${E2E_NS_PREFIX:-fo}
E2E_BUILD=${E2E_BUILD:-build-fo}
export STATE_DIR E2E_NS_PREFIX E2E_BUILD
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# lib.sh sourced STATE_DIR/env, which sets GUNGNIR_BRIDGE from the cluster itself.

FO_PY=${FO_PY:-/usr/bin/python3}
command -v "$FO_PY" >/dev/null 2>&1 || FO_PY=python3
FO_TOOL=""

# now_ms: milliseconds since the epoch, without a fork when bash has EPOCHREALTIME (5.0+).
now_ms() { if [ -n "${EPOCHREALTIME:-}" ]; then local t=${EPOCHREALTIME/[.,]/}; echo "${t:0:-3}"; else date +%s%3N; fi; }

# fo_setup: checks the cluster is up, writes the python tool, starts kubectl proxy (E2E_PROXY).
fo_setup() {
    [ -s "$STATE_DIR/env" ] || { fail "no cluster in $STATE_DIR (run e2e/cluster/up.sh --dir $STATE_DIR and deploy.sh)"; return 1; }
    [ -n "$(operator_pid)" ] && kill -0 "$(operator_pid)" 2>/dev/null ||
        { fail "gungnir is not running (run e2e/local/deploy.sh --dir $STATE_DIR --build $E2E_BUILD)"; return 1; }
    FO_WORK=$(mktemp -d "/tmp/fo-$SUITE.XXXXXX")
    on_cleanup "rm -rf $FO_WORK"
    FO_TOOL=$FO_WORK/fo.py
    fo_write_tool >"$FO_TOOL"
    start_proxy || { fail "kubectl proxy did not start"; return 1; }
    say "work dir $FO_WORK, proxy $E2E_PROXY, gungnir pid $(operator_pid), log $STATE_DIR/logs/gungnir.log"
}

# fo_pod_dir NS POD: the node agent's folder of the pod.
fo_pod_dir() { echo "$STATE_DIR/nodeagent/pods/$1_$2"; }
fo_server_pid() { cat "$(fo_pod_dir "$1" "$2")/pid" 2>/dev/null; }
# fo_kill_server NS POD SIGNAL: prints the pid it signalled.
fo_kill_server() {
    local pid
    pid=$(fo_server_pid "$1" "$2")
    [ -n "$pid" ] || { echo "no pid file for $1/$2"; return 1; }
    kill "-$3" "$pid" && echo "$pid"
}

# fo_vkc_field NS NAME JQ: one value of the ValkeyCluster through the proxy (fast).
fo_vkc_field() {
    curl -sf --max-time 5 "$E2E_PROXY/apis/gungnir.dev/v1alpha1/namespaces/$1/valkeyclusters/$2" | jq -r "$3" 2>/dev/null
}

fo_watch_start() { # NS NAME DIR
    mkdir -p "$3"
    rm -f "$3/stop" "$3/summary"
    "$FO_PY" "$FO_TOOL" watch --proxy "$E2E_PROXY" --ns "$1" --name "$2" --dir "$3" \
        --never "${FO_NEVER_PRIMARY:-}" >"$3/watch.out" 2>&1 &
    FO_WATCH_PID=$!
    on_cleanup "touch $3/stop; kill $FO_WATCH_PID 2>/dev/null"
    wait_for "the watcher to take its first sample" 20 test -s "$3/samples" >/dev/null
}
# fo_watch_stop DIR: prints the summary and the violations; returns 1 when there were any.
fo_watch_stop() {
    touch "$1/stop"
    for _ in $(seq 1 50); do [ -s "$1/summary" ] && break; sleep 0.1; done
    kill "$FO_WATCH_PID" 2>/dev/null
    wait "$FO_WATCH_PID" 2>/dev/null
    cat "$1/summary" 2>/dev/null || echo "no summary (watcher output: $(tail -n 5 "$1/watch.out"))"
    head -n 20 "$1/violations" 2>/dev/null
    [ -s "$1/summary" ] && [ ! -s "$1/violations" ]
}
# fo_watch_check DIR: the violations so far (exit 1 when there are any), without stopping.
fo_watch_check() {
    echo "samples $(cat "$1/samples" 2>/dev/null)"
    head -n 20 "$1/violations" 2>/dev/null
    [ ! -s "$1/violations" ]
}

fo_client_start() { # NS NAME DIR
    mkdir -p "$3"
    rm -f "$3/stop-client" "$3/acked" "$3/client.log"
    "$FO_PY" "$FO_TOOL" client --proxy "$E2E_PROXY" --ns "$1" --name "$2" --dir "$3" \
        --password "$(vpassword "$1" "$2")" --prefix "fo:$SUITE:$(date +%s)" --max-seconds "${FO_CLIENT_MAX_S:-}" \
        >"$3/client.out" 2>&1 &
    FO_CLIENT_PID=$!
    on_cleanup "touch $3/stop-client; kill $FO_CLIENT_PID 2>/dev/null"
}
fo_client_stop() {
    touch "$1/stop-client"
    for _ in $(seq 1 50); do kill -0 "$FO_CLIENT_PID" 2>/dev/null || break; sleep 0.1; done
    kill "$FO_CLIENT_PID" 2>/dev/null
    wait "$FO_CLIENT_PID" 2>/dev/null
    return 0
}
fo_acked() { wc -l <"$1/acked" 2>/dev/null || echo 0; }
# fo_acked_on DIR IP [SINCE_MS]: how many acknowledged writes went to IP (after SINCE_MS).
fo_acked_on() { awk -v ip="$2" -v t="${3:-0}" '$2 == ip && $3 >= t {n++} END {print n + 0}' "$1/acked" 2>/dev/null; }
# fo_acked_grows DIR: the client acknowledges new writes (within 3 s).
fo_acked_grows() {
    local a b
    a=$(fo_acked "$1")
    sleep 3
    b=$(fo_acked "$1")
    echo "acknowledged $a -> $b; client log: $(tail -n 2 "$1/client.log" | tr '\n' ' ')"
    [ "$b" -gt "$a" ]
}
# fo_verify NS NAME POD DIR: every acknowledged key is on POD.
fo_verify() {
    local ip
    ip=$(pod_ip "$1" "$3")
    [ -n "$ip" ] || { echo "pod $3 has no IP"; return 1; }
    "$FO_PY" "$FO_TOOL" verify --host "$ip" --password "$(vpassword "$1" "$2")" --keys "$4/acked"
}

# fo_first_after DIR T0 WHAT AWK_PRED: first timeline time (ms) >= T0 of an entry WHAT whose value
# ($3) satisfies AWK_PRED, e.g. fo_first_after d 123 status_primary '$3 != "x-0" && $3 != ""'.
fo_first_after() {
    awk -v t0="$2" -v w="$3" "\$1 >= t0 && \$2 == w && ($4) {print \$1; exit}" "$1/timeline"
}
# fo_ms_between A B: "B-A ms" or "unknown".
fo_ms_between() { if [ -n "$1" ] && [ -n "$2" ]; then echo "$(($2 - $1)) ms"; else echo unknown; fi; }

fo_primary_label_count() { pods_with_role "$1" "$2" primary | wc -w; }
# fo_status NS NAME: one line for messages.
fo_status() {
    fo_vkc_field "$1" "$2" '"phase=\(.status.phase) primary=\(.status.primary) failover=\(.status.failover|tojson) lastFailover=\(.status.lastFailover|tojson)"'
}
# fo_gungnir_log_since LINE: gungnir.log from line LINE on.
fo_log_lines() { wc -l <"$STATE_DIR/logs/gungnir.log"; }
fo_log_since() { tail -n "+$(($1 + 1))" "$STATE_DIR/logs/gungnir.log"; }

# fo_replica_of NS NAME POD PRIMARY_POD: POD is a replica of PRIMARY_POD's IP with its link up,
# and labelled replica.
fo_replica_of() {
    local pip m l r
    pip=$(pod_ip "$1" "$4")
    m=$(master_of "$1" "$2" "$3")
    l=$(link_of "$1" "$2" "$3")
    r=$(kj "$1" "pod/$3" '{.metadata.labels.gungnir\.dev/role}')
    echo "$3: master_host=$m link=$l label=$r (primary $4 = $pip)"
    [ -n "$pip" ] && [ "$m" = "$pip" ] && [ "$l" = up ] && [ "$r" = replica ]
}

# fo_write_tool: the python helper (stdlib only).
fo_write_tool() {
    cat <<'PY'
import json, os, socket, sys, threading, time, urllib.request, urllib.error, argparse

def now_ms():
    return int(time.time() * 1000)

# ---- RESP ----
def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)

class RespError(Exception):
    pass

def read_reply(f):
    line = f.readline()
    if not line:
        raise ConnectionError("connection closed")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        return RespError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        if len(data) < n + 2:
            raise ConnectionError("short read")
        return data[:-2].decode(errors="replace")
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise ConnectionError("bad reply %r" % line)

class Conn:
    def __init__(self, host, password, timeout=2.0, connect_timeout=0.5):
        self.s = socket.create_connection((host, 6379), timeout=connect_timeout)
        self.s.settimeout(timeout)
        self.f = self.s.makefile("rb")
        if password:
            r = self.call("AUTH", password)
            if isinstance(r, RespError):
                raise ConnectionError("AUTH: %s" % r)
    def send(self, *cmds):
        self.s.sendall(b"".join(enc(*c) for c in cmds))
    def call(self, *args):
        self.send(args)
        return read_reply(self.f)
    def close(self):
        try:
            self.s.close()
        except Exception:
            pass

def get_json(url, timeout=2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)

def ready_ips(ep):
    ips, nr = [], []
    for s in (ep or {}).get("subsets") or []:
        ips += [a.get("ip") for a in s.get("addresses") or []]
        nr += [a.get("ip") for a in s.get("notReadyAddresses") or []]
    return sorted(ips), sorted(nr)

# ---- client ----
def client(a):
    d = a.dir
    log = open(os.path.join(d, "client.log"), "a", buffering=1)
    acked = open(os.path.join(d, "acked"), "a", buffering=1)
    unacked = open(os.path.join(d, "unacked"), "a", buffering=1)
    ep_url = "%s/api/v1/namespaces/%s/endpoints/%s" % (a.proxy, a.ns, a.name)
    conn, ip, i, n_ack, n_err = None, None, 0, 0, 0
    last_err = None
    def L(msg):
        log.write("%d %s\n" % (now_ms(), msg))
    deadline = time.time() + float(a.max_seconds) if a.max_seconds else None
    while not os.path.exists(os.path.join(d, "stop-client")):
        if deadline and time.time() >= deadline:
            L("max-seconds %s reached" % a.max_seconds)
            break
        if conn is None:
            try:
                ips, _ = ready_ips(get_json(ep_url))
            except Exception as e:
                ips = []
            if len(ips) != 1:
                time.sleep(0.1)
                continue
            try:
                conn = Conn(ips[0], a.password)
                if ip != ips[0]:
                    L("connected %s (was %s)" % (ips[0], ip))
                ip = ips[0]
            except Exception as e:
                msg = "connect %s: %s" % (ips[0], e)
                if msg != last_err:
                    L(msg)
                last_err = msg
                conn = None
                time.sleep(0.1)
                continue
        key = "%s:%d" % (a.prefix, i)
        try:
            conn.send(("SET", key, i), ("WAIT", 1, 500))
            r1 = read_reply(conn.f)
            r2 = read_reply(conn.f)
            if isinstance(r1, RespError) or isinstance(r2, RespError):
                raise ConnectionError("%s / %s" % (r1, r2))
            if r1 == "OK" and isinstance(r2, int) and r2 >= 1:
                acked.write("%s %s %d\n" % (key, ip, now_ms()))
                n_ack += 1
            else:
                unacked.write("%s %s %d SET=%s WAIT=%s\n" % (key, ip, now_ms(), r1, r2))
            i += 1
            last_err = None
        except Exception as e:
            i += 1  # the key may or may not be written: never reused
            n_err += 1
            msg = "error on %s: %s" % (ip, e)
            if msg != last_err:
                L(msg)
            last_err = msg
            conn.close()
            conn = None
            time.sleep(0.1)
            continue
        time.sleep(0.02)
    L("stopped: %d writes, %d acknowledged, %d errors" % (i, n_ack, n_err))

# ---- verify ----
def verify(a):
    keys = []
    with open(a.keys) as f:
        for line in f:
            p = line.split()
            if p:
                keys.append(p[0])
    c = Conn(a.host, a.password, timeout=10, connect_timeout=3)
    missing = []
    for k in range(0, len(keys), 500):
        batch = keys[k:k + 500]
        r = c.call("MGET", *batch)
        if isinstance(r, RespError):
            print("MGET error: %s" % r)
            sys.exit(1)
        for key, v in zip(batch, r):
            if v is None or v != key.rsplit(":", 1)[1]:
                missing.append(key)
    print("%s: %d acknowledged keys checked, %d missing%s" % (a.host, len(keys), len(missing),
          (": " + " ".join(missing[:10])) if missing else ""))
    sys.exit(1 if missing or not keys else 0)

# ---- watcher ----
class Watch:
    def __init__(self, a):
        self.a, self.d = a, a.dir
        self.lock = threading.Lock()
        self.viol = open(os.path.join(self.d, "violations"), "w", buffering=1)
        self.podev = open(os.path.join(self.d, "pod_events"), "w", buffering=1)
        self.tl = open(os.path.join(self.d, "timeline"), "w", buffering=1)
        self.never = set(x for x in (a.never or "").split(",") if x)
        self.last = {}
        self.events = {"pods": 0, "endpoints": 0, "vkc": 0}
        self.max_epoch = -1
        self.ever_primary = set()
        self.nviol = 0
        self.samples = 0
    def violation(self, msg):
        with self.lock:
            self.nviol += 1
            self.viol.write("%d %s\n" % (now_ms(), msg))
    def change(self, what, value):
        with self.lock:
            if self.last.get(what) != value:
                self.last[what] = value
                self.tl.write("%d %s %s\n" % (now_ms(), what, value if value != "" else "-"))
    def check_primaries(self, src, names):
        names = sorted(names)
        for n in names:
            self.ever_primary.add(n)
            if n in self.never:
                self.violation("%s: pod %s (never to be promoted) is labelled primary" % (src, n))
        if len(names) > 1:
            self.violation("%s: %d pods labelled primary: %s" % (src, len(names), " ".join(names)))
    def check_epoch(self, src, epoch):
        if epoch is None:
            return
        with self.lock:
            if epoch < self.max_epoch:
                bad = "%s: status.failover.epoch went back from %d to %d" % (src, self.max_epoch, epoch)
            else:
                bad = None
                self.max_epoch = epoch
        if bad:
            self.violation(bad)
    def poll(self):
        a = self.a
        sel = "app.kubernetes.io/instance%3D" + a.name
        pods_url = "%s/api/v1/namespaces/%s/pods?labelSelector=%s,gungnir.dev/role%%3Dprimary" % (a.proxy, a.ns, sel)
        ep_url = "%s/api/v1/namespaces/%s/endpoints/%s" % (a.proxy, a.ns, a.name)
        vkc_url = "%s/apis/gungnir.dev/v1alpha1/namespaces/%s/valkeyclusters/%s" % (a.proxy, a.ns, a.name)
        while not os.path.exists(os.path.join(self.d, "stop")):
            t = time.time()
            try:
                names = [p["metadata"]["name"] for p in get_json(pods_url)["items"]]
                self.check_primaries("poll", names)
                self.change("labelled_primary", ",".join(sorted(names)))
                try:
                    ips, nr = ready_ips(get_json(ep_url))
                except urllib.error.HTTPError as e:
                    ips, nr = [], []
                if len(ips) > 1:
                    self.violation("poll: Endpoints %s hold %d ready IPs: %s" % (a.name, len(ips), " ".join(ips)))
                self.change("endpoints", ",".join(ips))
                self.change("endpoints_notready", ",".join(nr))
                v = get_json(vkc_url)
                st = v.get("status") or {}
                fo = st.get("failover") or {}
                self.check_epoch("poll", fo.get("epoch"))
                self.change("status_primary", st.get("primary") or "")
                self.change("epoch", str(fo.get("epoch", "")))
                self.change("in_progress", str(fo.get("inProgress", "")))
                self.change("phase", st.get("phase") or "")
                self.samples += 1
                with open(os.path.join(self.d, "samples.tmp"), "w") as f:
                    f.write("%d\n" % self.samples)
                os.replace(os.path.join(self.d, "samples.tmp"), os.path.join(self.d, "samples"))
            except Exception as e:
                self.change("poll_error", str(e)[:80].replace(" ", "_"))
            time.sleep(max(0.0, 0.1 - (time.time() - t)))
    def stream(self, kind, list_url, watch_url, handle):
        rv = None
        while True:
            try:
                if rv is None:
                    lst = get_json(list_url, timeout=10)
                    rv = lst["metadata"]["resourceVersion"]
                    for item in lst.get("items", []):
                        handle("ADDED", item)
                sep = "&" if "?" in watch_url else "?"
                url = "%s%swatch=1&allowWatchBookmarks=true&resourceVersion=%s" % (watch_url, sep, rv)
                with urllib.request.urlopen(url, timeout=3600) as r:
                    for line in r:
                        ev = json.loads(line)
                        if ev["type"] == "ERROR":
                            rv = None
                            break
                        rv = ev["object"]["metadata"].get("resourceVersion", rv)
                        if ev["type"] == "BOOKMARK":
                            continue
                        self.events[kind] += 1
                        handle(ev["type"], ev["object"])
            except Exception as e:
                self.change("stream_error_" + kind, str(e)[:80].replace(" ", "_"))
                time.sleep(0.5)
    def run(self):
        a = self.a
        roles, deleting = {}, set()
        def on_pod(t, o):
            n = o["metadata"]["name"]
            md = o["metadata"]
            with self.lock:
                self.podev.write("%d %s %s %s %s %s %s %s\n" % (
                    now_ms(), t, n, md.get("uid", "-"), (md.get("labels") or {}).get("controller-revision-hash", "-"),
                    (md.get("labels") or {}).get("gungnir.dev/role", "") or "-",
                    "deleting" if md.get("deletionTimestamp") or t == "DELETED" else "live",
                    next((c["status"] for c in (o.get("status") or {}).get("conditions") or []
                          if c.get("type") == "Ready"), "-")))
            if t == "DELETED":
                roles.pop(n, None)
                self.change("pod_" + n, "DELETED")
            else:
                roles[n] = (o["metadata"].get("labels") or {}).get("gungnir.dev/role", "")
                state = "%s/%s/%s%s" % (roles[n] or "-", (o.get("status") or {}).get("podIP", "-"),
                                        next((c["status"] for c in (o.get("status") or {}).get("conditions") or []
                                              if c.get("type") == "Ready"), "-"),
                                        "/deleting" if o["metadata"].get("deletionTimestamp") else "")
                self.change("pod_" + n, state)
            self.check_primaries("watch", [k for k, v in roles.items() if v == "primary"])
        def on_ep(t, o):
            if o["metadata"]["name"] != a.name:
                return
            ips, _ = ready_ips(o) if t != "DELETED" else ([], [])
            if len(ips) > 1:
                self.violation("watch: Endpoints %s hold %d ready IPs: %s" % (a.name, len(ips), " ".join(ips)))
        def on_vkc(t, o):
            if o["metadata"]["name"] != a.name or t == "DELETED":
                return
            self.check_epoch("watch", ((o.get("status") or {}).get("failover") or {}).get("epoch"))
        sel = "labelSelector=app.kubernetes.io/instance%3D" + a.name
        base = "%s/api/v1/namespaces/%s" % (a.proxy, a.ns)
        vbase = "%s/apis/gungnir.dev/v1alpha1/namespaces/%s/valkeyclusters" % (a.proxy, a.ns)
        fsel = "fieldSelector=metadata.name%3D" + a.name
        for kind, lu, wu, h in (("pods", base + "/pods?" + sel, base + "/pods?" + sel, on_pod),
                                ("endpoints", base + "/endpoints?" + fsel, base + "/endpoints?" + fsel, on_ep),
                                ("vkc", vbase + "?" + fsel, vbase + "?" + fsel, on_vkc)):
            threading.Thread(target=self.stream, args=(kind, lu, wu, h), daemon=True).start()
        self.poll()
        time.sleep(0.3)  # let the streams deliver what is in flight
        with open(os.path.join(self.d, "summary"), "w") as f:
            f.write("watcher: %d polls (100 ms), watch events: pods %d, endpoints %d, vkc %d; %d violations; "
                    "pods ever labelled primary: %s; highest epoch seen %d\n" % (
                        self.samples, self.events["pods"], self.events["endpoints"], self.events["vkc"],
                        self.nviol, " ".join(sorted(self.ever_primary)) or "-", self.max_epoch))

def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode")
    for o in ("proxy", "ns", "name", "dir", "password", "prefix", "host", "keys", "never", "max_seconds"):
        p.add_argument("--" + o.replace("_", "-"), dest=o, default="")
    a = p.parse_args()
    if a.mode == "client":
        client(a)
    elif a.mode == "verify":
        verify(a)
    elif a.mode == "watch":
        Watch(a).run()

main()
PY
}

# fo_create NS NAME REPLICAS [extra spec YAML lines under failover:, indented by 2 more]: a cluster
# probed every 200 ms, SDOWN after 3 failures; waits (bounded) until it is settled with every
# replica attached. Returns 1 (after a FAIL) when it does not get there.
fo_create() {
    local ns=$1 name=$2 n=$3 out
    shift 3
    local lines=("failover:" "  probeIntervalMilliseconds: ${FO_PROBE_MS:-200}" "  failureThreshold: ${FO_THRESHOLD:-3}")
    local l
    for l in "$@"; do lines+=("  $l"); done
    out=$(apply_vkc "$ns" "$name" "$n" "${lines[@]}" 2>&1)
    assert_contains "kubectl apply of $name accepted" "valkeycluster.gungnir.dev/$name created" "$out" || return 1
    expect_within "$name settles: Running, $n/$n ready, one primary" 180 vkc_settled "$ns" "$name" "$n" || return 1
    expect_within "every replica of $name follows the primary, link up" 90 replicas_attached "$ns" "$name" || return 1
}
# fo_delete NS NAME: deletes the ValkeyCluster and waits (bounded) until its pods are gone.
fo_delete() {
    kc -n "$1" delete vkc "$2" --wait=true --timeout=60s >/dev/null 2>&1
    wait_for "pods of $2 gone" 90 bash -c "[ -z \"\$(kubectl -n $1 get pods -l app.kubernetes.io/instance=$2 -o name 2>/dev/null)\" ]" >/dev/null ||
        say "warning: pods of $2 still there after 90 s"
}
# fo_event_count NS NAME REASON: how many Events of REASON about vkc NAME.
fo_event_count() { event_reasons "$1" "$2" | grep -cx "$3"; }
# fo_events NS NAME: "reason: message" per Event about vkc NAME (oldest first).
fo_events() {
    kc -n "$1" get events --field-selector "involvedObject.name=$2,involvedObject.kind=ValkeyCluster" \
        --sort-by=.metadata.creationTimestamp -o 'jsonpath={range .items[*]}{.reason}: {.message}{"\n"}{end}' 2>/dev/null
}

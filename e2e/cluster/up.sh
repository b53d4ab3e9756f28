#!/usr/bin/env bash
# Start a local Kubernetes control plane on loopback for Gungnir's e2e tests:
# etcd, kube-apiserver and kube-controller-manager (no kubelet, no scheduler,
# no DNS, no kube-proxy), plus the pod network bridge for netns.sh.
#
#   e2e/cluster/up.sh [--dir STATE_DIR]     (default /tmp/gungnir-cluster)
#   . STATE_DIR/env                          # KUBECONFIG, ports, pids
#
# Idempotent: when the cluster of STATE_DIR is already up and ready it says so
# and exits 0; a stale STATE_DIR (a process died) is stopped with down.sh and
# started afresh. Prints the env file's path on the last line of stdout.
#
# Env: GUNGNIR_KUBE_BIN  dir with kube-apiserver and kube-controller-manager
#                        (default: whatever build-kube.sh caches/builds)
#      KUBECTL           (default: kubectl on PATH)
#      GUNGNIR_UP_TIMEOUT seconds to wait for readiness (default 60)
set -euo pipefail

ME=up.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
parse_dir_arg "$@"
need_root

UP_TIMEOUT=${GUNGNIR_UP_TIMEOUT:-60}
KUBECTL=${KUBECTL:-kubectl}

for tool in openssl ip ss pgrep flock timeout base64 sha1sum; do
    command -v "$tool" >/dev/null || die "missing tool '$tool' (run e2e/cluster/build-kube.sh, which installs the packages)"
done
command -v etcd >/dev/null || die "no etcd (Debian package etcd-server; build-kube.sh installs it)"
command -v "$KUBECTL" >/dev/null || die "no kubectl (Debian package kubernetes-client; build-kube.sh installs it)"

mkdir -p "$STATE_DIR"
exec 8>"$STATE_DIR/.lock"
flock -w 300 8 || die "another up.sh/down.sh holds $STATE_DIR/.lock"

kc() { "$KUBECTL" --kubeconfig "$STATE_DIR/kubeconfig" --request-timeout=5s "$@"; }

# --- already up? -----------------------------------------------------------
if [ -s "$STATE_DIR/pids" ]; then
    all_alive=1
    while read -r name pid; do
        pid_alive "$pid" "$name" || { all_alive=0; say "recorded $name (pid $pid) is not running"; }
    done < "$STATE_DIR/pids"
    if [ "$all_alive" = 1 ] && [ "$(wc -l < "$STATE_DIR/pids")" -eq 3 ] &&
       ip link show "$GUNGNIR_BRIDGE" >/dev/null 2>&1 &&
       [ "$(kc get --raw /readyz 2>/dev/null)" = ok ]; then
        say "already up ($STATE_DIR); nothing to do"
        echo "$STATE_DIR/env"
        exit 0
    fi
    say "stale cluster state in $STATE_DIR: stopping it and starting afresh"
    GUNGNIR_DOWN_LOCKED=1 "$HERE/down.sh" --dir "$STATE_DIR" >&2
fi
leftover=$(state_dir_pids | tr '\n' ' ')
[ -z "$leftover" ] || die "processes from $STATE_DIR still run without a pids file: $leftover (stop them, or run down.sh)"

# --- binaries --------------------------------------------------------------
t0=$(date +%s.%N)
if [ -z "${GUNGNIR_KUBE_BIN:-}" ]; then
    GUNGNIR_KUBE_BIN=$("$HERE/build-kube.sh" | tail -n1)
fi
for b in kube-apiserver kube-controller-manager; do
    [ -x "$GUNGNIR_KUBE_BIN/$b" ] || die "no $GUNGNIR_KUBE_BIN/$b"
done

# --- fresh state (only our own files: STATE_DIR may hold other things) -----
rm -rf "${STATE_DIR:?}/etcd" "$STATE_DIR/pki" "$STATE_DIR/logs"
rm -f "$STATE_DIR/kubeconfig" "$STATE_DIR/kube-controller-manager.kubeconfig" \
      "$STATE_DIR/env" "$STATE_DIR/pids"
mkdir -p "$STATE_DIR/pki" "$STATE_DIR/logs"
chmod 700 "$STATE_DIR/pki"
: > "$STATE_DIR/pids"

# A failure after this point stops whatever was started (logs stay).
started_ok=0
on_exit() {
    if [ "$started_ok" != 1 ]; then
        say "startup failed; stopping what was started (logs in $STATE_DIR/logs)"
        GUNGNIR_DOWN_LOCKED=1 "$HERE/down.sh" --dir "$STATE_DIR" >&2 || true
    fi
}
trap on_exit EXIT

# --- ports -----------------------------------------------------------------
# Random free TCP ports below the ephemeral range, so an outgoing connection
# cannot hold one by chance.
read -r EPH_LOW _ < /proc/sys/net/ipv4/ip_local_port_range
PORT_HI=$(( EPH_LOW > 20000 ? EPH_LOW - 1 : 32767 ))
CHOSEN=""
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM) % (PORT_HI - 20000) ))
        case " $CHOSEN " in *" $p "*) continue ;; esac
        if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then
            CHOSEN="$CHOSEN $p"
            echo "$p"
            return 0
        fi
    done
    die "found no free port"
}
ETCD_CLIENT_PORT=$(free_port); CHOSEN="$CHOSEN $ETCD_CLIENT_PORT"
ETCD_PEER_PORT=$(free_port); CHOSEN="$CHOSEN $ETCD_PEER_PORT"
APISERVER_PORT=$(free_port); CHOSEN="$CHOSEN $APISERVER_PORT"
APISERVER_URL=https://127.0.0.1:$APISERVER_PORT
say "ports: etcd client $ETCD_CLIENT_PORT, etcd peer $ETCD_PEER_PORT, kube-apiserver $APISERVER_PORT"

# --- pod network bridge ----------------------------------------------------
if ! ip link show "$GUNGNIR_BRIDGE" >/dev/null 2>&1; then
    other=$(ip -o -4 addr show | awk -v p="$GUNGNIR_POD_PREFIX." -v b="$GUNGNIR_BRIDGE" \
            '$2 != b && index($4, p) == 1 {print $2}' | head -n1)
    [ -z "$other" ] || die "$GUNGNIR_POD_CIDR is already used by interface $other"
    ip link add "$GUNGNIR_BRIDGE" type bridge
fi
ip -4 addr show dev "$GUNGNIR_BRIDGE" | grep -qF "inet $GUNGNIR_POD_GATEWAY/24" ||
    ip addr add "$GUNGNIR_POD_GATEWAY/24" dev "$GUNGNIR_BRIDGE"
ip link set "$GUNGNIR_BRIDGE" up
# Bridged traffic passes iptables when br_netfilter is loaded; a FORWARD
# policy of DROP (Docker sets one) would cut pod <-> pod traffic.
if command -v iptables >/dev/null 2>&1 &&
   ! iptables -C FORWARD -i "$GUNGNIR_BRIDGE" -o "$GUNGNIR_BRIDGE" -j ACCEPT 2>/dev/null; then
    iptables -I FORWARD -i "$GUNGNIR_BRIDGE" -o "$GUNGNIR_BRIDGE" -j ACCEPT 2>/dev/null || true
fi

# --- PKI -------------------------------------------------------------------
PKI=$STATE_DIR/pki
ossl() { openssl "$@" 2>>"$STATE_DIR/logs/openssl.log" || die "openssl $1 failed (see $STATE_DIR/logs/openssl.log)"; }
ossl req -x509 -newkey rsa:2048 -nodes -days 365 -sha256 \
    -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -subj "/CN=gungnir-local-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
cat > "$PKI/apiserver.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1,IP:$GUNGNIR_POD_GATEWAY
EOF
ossl req -newkey rsa:2048 -nodes -keyout "$PKI/apiserver.key" -out "$PKI/apiserver.csr" \
    -subj "/CN=kube-apiserver"
ossl x509 -req -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
    -CAcreateserial -days 365 -sha256 -extfile "$PKI/apiserver.ext" -out "$PKI/apiserver.crt"
ossl genrsa -out "$PKI/sa.key" 2048
ossl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"

ADMIN_TOKEN=$(openssl rand -hex 32)
KCM_TOKEN=$(openssl rand -hex 32)
# token,user,uid,"groups"
cat > "$PKI/tokens.csv" <<EOF
$ADMIN_TOKEN,admin,admin,"system:masters"
$KCM_TOKEN,system:kube-controller-manager,system:kube-controller-manager
EOF
chmod 600 "$PKI"/*.key "$PKI/tokens.csv"

write_kubeconfig() {  # file user token
    cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: gungnir-local
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $(base64 -w0 < "$PKI/ca.crt")
users:
- name: $2
  user:
    token: $3
contexts:
- name: gungnir-local
  context:
    cluster: gungnir-local
    user: $2
    namespace: default
current-context: gungnir-local
EOF
    chmod 600 "$1"
}
write_kubeconfig "$STATE_DIR/kubeconfig" admin "$ADMIN_TOKEN"
write_kubeconfig "$STATE_DIR/kube-controller-manager.kubeconfig" \
    system:kube-controller-manager "$KCM_TOKEN"

# --- processes -------------------------------------------------------------
# start NAME BINARY ARGS...: own session (survives the caller's terminal and
# process group), log in logs/NAME.log, pid recorded at once in STATE_DIR/pids.
start() {
    local name=$1; shift
    # 8>&-: the child must not inherit (and so hold) STATE_DIR/.lock.
    setsid "$@" > "$STATE_DIR/logs/$name.log" 2>&1 < /dev/null 8>&- &
    echo "$name $!" >> "$STATE_DIR/pids"
    eval "PID_$(echo "$name" | tr 'a-z-' 'A-Z_')=$!"
}

# check_alive NAME PID: when the process is gone, show its log's tail and fail.
check_alive() {
    local name=$1 pid=$2
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "$ME: ERROR: $name (pid $pid) died during startup; last lines of $STATE_DIR/logs/$name.log:" >&2
        tail -n 25 "$STATE_DIR/logs/$name.log" | sed 's/^/    /' >&2
        exit 1
    fi
}

# wait_for WHAT SECONDS CMD...: poll CMD every 0.25 s, checking that every
# started process still lives.
wait_for() {
    local what=$1 secs=$2; shift 2
    local deadline=$(( $(date +%s) + secs )) name pid
    while :; do
        while read -r name pid; do check_alive "$name" "$pid"; done < "$STATE_DIR/pids"
        if "$@" >/dev/null 2>&1; then return 0; fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "$ME: ERROR: timed out after ${secs} s waiting for $what; log tails:" >&2
            while read -r name pid; do
                echo "  --- $STATE_DIR/logs/$name.log" >&2
                tail -n 10 "$STATE_DIR/logs/$name.log" | sed 's/^/    /' >&2
            done < "$STATE_DIR/pids"
            exit 1
        fi
        sleep 0.25
    done
}

start etcd etcd \
    --name gungnir \
    --data-dir "$STATE_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "gungnir=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state new \
    --logger zap --log-outputs stderr
etcd_healthy() {
    [ "$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$ETCD_CLIENT_PORT &&
        printf 'GET /health HTTP/1.0\r\n\r\n' >&3 && cat <&3" 2>/dev/null |
        grep -c '"health":"true"')" != 0 ]
}
wait_for "etcd /health" "$UP_TIMEOUT" etcd_healthy

# The advertise address is the pod bridge's: Endpoints refuse loopback
# addresses, and the apiserver writes its own into the `kubernetes` Service.
start kube-apiserver "$GUNGNIR_KUBE_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address 127.0.0.1 \
    --secure-port "$APISERVER_PORT" \
    --advertise-address "$GUNGNIR_POD_GATEWAY" \
    --tls-cert-file "$PKI/apiserver.crt" \
    --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --service-account-key-file "$PKI/sa.pub" \
    --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer https://kubernetes.default.svc \
    --token-auth-file "$PKI/tokens.csv" \
    --authorization-mode RBAC \
    --service-cluster-ip-range 10.96.0.0/16 \
    --enable-admission-plugins MutatingAdmissionWebhook,ValidatingAdmissionWebhook \
    --allow-privileged=true \
    --profiling=false
wait_for "kube-apiserver /readyz" "$UP_TIMEOUT" \
    bash -c '[ "$("$0" --kubeconfig "$1" --request-timeout=5s get --raw /readyz 2>/dev/null)" = ok ]' \
    "$KUBECTL" "$STATE_DIR/kubeconfig"

# Each controller runs with its own service account (as kubeadm does); the
# controller-manager's own user has the bootstrap role
# system:kube-controller-manager.
start kube-controller-manager "$GUNGNIR_KUBE_BIN/kube-controller-manager" \
    --kubeconfig "$STATE_DIR/kube-controller-manager.kubeconfig" \
    --controllers statefulset,endpoint,endpointslice,garbagecollector,job,namespace,serviceaccount,serviceaccount-token,disruption,pvc-protection,pv-protection \
    --use-service-account-credentials=true \
    --service-account-private-key-file "$PKI/sa.key" \
    --root-ca-file "$PKI/ca.crt" \
    --leader-elect=false \
    --secure-port=0 --port=0 \
    --profiling=false
default_sa_ready() {
    # The token controller must have filled in the default account's secret,
    # or the ServiceAccount admission plugin refuses Pods.
    [ -n "$(kc -n default get serviceaccount default -o 'jsonpath={.secrets[0].name}' 2>/dev/null)" ]
}
wait_for "the default ServiceAccount (and its token)" "$UP_TIMEOUT" default_sa_ready

# --- env -------------------------------------------------------------------
cat > "$STATE_DIR/env" <<EOF
# Written by e2e/cluster/up.sh; source it: . $STATE_DIR/env
export KUBECONFIG=$STATE_DIR/kubeconfig
export GUNGNIR_CLUSTER_DIR=$STATE_DIR
export GUNGNIR_KUBE_BIN=$GUNGNIR_KUBE_BIN
export GUNGNIR_APISERVER_URL=$APISERVER_URL
export GUNGNIR_APISERVER_PORT=$APISERVER_PORT
export GUNGNIR_ETCD_CLIENT_PORT=$ETCD_CLIENT_PORT
export GUNGNIR_ETCD_PEER_PORT=$ETCD_PEER_PORT
export GUNGNIR_CA_CRT=$PKI/ca.crt
export GUNGNIR_CA_KEY=$PKI/ca.key
export GUNGNIR_ADMIN_TOKEN=$ADMIN_TOKEN
export GUNGNIR_ETCD_PID=$PID_ETCD
export GUNGNIR_APISERVER_PID=$PID_KUBE_APISERVER
export GUNGNIR_CONTROLLER_MANAGER_PID=$PID_KUBE_CONTROLLER_MANAGER
export GUNGNIR_BRIDGE=$GUNGNIR_BRIDGE
export GUNGNIR_POD_CIDR=$GUNGNIR_POD_CIDR
export GUNGNIR_POD_GATEWAY=$GUNGNIR_POD_GATEWAY
EOF
started_ok=1
say "up in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s: $APISERVER_URL (state in $STATE_DIR)"
say "use: export KUBECONFIG=$STATE_DIR/kubeconfig   (or: . $STATE_DIR/env)"
echo "$STATE_DIR/env"

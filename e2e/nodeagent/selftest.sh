#!/usr/bin/env bash
# End-to-end check of gungnir-nodeagent on the local cluster (e2e/cluster).
#
#   e2e/nodeagent/selftest.sh [--agent PATH] [--dir WORKDIR] [--keep]
#
# Starts its own cluster (up.sh --dir WORKDIR/cluster), runs the agent, applies a
# StatefulSet of 3 valkey pods (configMap volume, PVC, exec readiness probe) and
# checks: all Running and Ready with pod IPs; PING from the host answers PONG; a
# pod resolves a peer's DNS name through its /etc/hosts (inside its netns and
# mount namespace); a SIGKILLed server restarts with restartCount 1; `kubectl
# delete pod` removes it and the StatefulSet controller's new pod runs; a pod of
# two containers (a server and the redis_exporter sidecar: one netns, the
# exporter scrapes over localhost, a killed exporter restarts alone); a non-root
# pod (runAsUser/runAsGroup/fsGroup 999, no privilege escalation, capabilities
# dropped: uid/gid/groups/caps of the process, writes to its PVC, reads its 0400
# Secret through fsGroup, the password in no command line) and a runAsNonRoot pod
# without a user refused with CreateContainerConfigError; SIGTERM to the agent
# leaves no process, netns or pid file behind. Then down.sh (unless --keep).
# Every wait is bounded; exits non-zero on the first failure.
#
# Env: GUNGNIR_BRIDGE / GUNGNIR_POD_PREFIX (passed to the cluster scripts and the
# agent; default gungnir0 / 10.250.0), KUBECTL, GUNGNIR_KUBE_BIN.
# Needs root, redis-server, redis-cli, nsenter, setpriv, curl, prometheus-redis-exporter.
set -euo pipefail

ME=selftest.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
AGENT=""
WORK=/tmp/gungnir-nodeagent-selftest
KEEP=0
while [ $# -gt 0 ]; do
    case $1 in
    --agent) AGENT=$2; shift 2 ;;
    --dir) WORK=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$ME: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ -z "$AGENT" ]; then
    for b in "$ROOT"/build*/e2e/nodeagent/gungnir-nodeagent; do
        [ -x "$b" ] && { AGENT=$b; break; }
    done
fi
[ -n "$AGENT" ] && [ -x "$AGENT" ] || { echo "$ME: no gungnir-nodeagent binary (build it, or pass --agent)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "$ME: must run as root" >&2; exit 2; }
for t in redis-server redis-cli nsenter setpriv curl ip jq prometheus-redis-exporter; do
    command -v "$t" >/dev/null || { echo "$ME: missing $t" >&2; exit 2; }
done

BRIDGE=${GUNGNIR_BRIDGE:-gungnir0}
PREFIX=${GUNGNIR_POD_PREFIX:-10.250.0}
export GUNGNIR_BRIDGE=$BRIDGE GUNGNIR_POD_PREFIX=$PREFIX
KUBECTL=${KUBECTL:-kubectl}
CLUSTER=$WORK/cluster
STATE=$WORK/agent
T0=$(date +%s.%N)
AGENT_PID=""

elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN {printf "%5.1f", b - a}'; }
say() { echo "[$(elapsed) s] $ME: $*" >&2; }
fail() {
    echo "[$(elapsed) s] $ME: FAIL: $*" >&2
    if [ -f "$STATE/agent.log" ]; then
        echo "--- last agent log lines:" >&2
        tail -n 30 "$STATE/agent.log" >&2
    fi
    kc get pods -o wide >&2 2>/dev/null || true
    exit 1
}
kc() { "$KUBECTL" --kubeconfig "$CLUSTER/kubeconfig" --request-timeout=10s "$@" 2> >(grep -v -i 'version difference\|^W[0-9]' >&2); }

# wait_until SECONDS WHAT CMD...: poll CMD every 0.25 s.
wait_until() {
    local secs=$1 what=$2; shift 2
    local deadline=$(( $(date +%s) + secs ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${secs} s: $what"
        sleep 0.25
    done
    say "ok: $what"
}

cleanup() {
    local rc=$?
    if [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
        kill -TERM "$AGENT_PID" 2>/dev/null || true
        for _ in $(seq 1 120); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.25; done
        kill -KILL "$AGENT_PID" 2>/dev/null || true
    fi
    if [ "$KEEP" != 1 ]; then
        "$ROOT/e2e/cluster/down.sh" --dir "$CLUSTER" >/dev/null 2>&1 || echo "$ME: down.sh failed" >&2
    fi
    [ "$rc" = 0 ] && say "PASS (total $(elapsed) s)"
    exit "$rc"
}
trap cleanup EXIT

mkdir -p "$WORK"
rm -rf "$STATE"
mkdir -p "$STATE"
say "cluster up ($CLUSTER, bridge $BRIDGE, pods $PREFIX.0/24)"
"$ROOT/e2e/cluster/up.sh" --dir "$CLUSTER" >/dev/null || fail "up.sh"
# shellcheck disable=SC1091
. "$CLUSTER/env"
say "cluster ready"

(umask 077; printf '%s' "$GUNGNIR_ADMIN_TOKEN" > "$STATE/token")
setsid "$AGENT" --server "$GUNGNIR_APISERVER_URL" --token-file "$STATE/token" --ca-file "$GUNGNIR_CA_CRT" \
    --node-name gungnir-node-0 --state-dir "$STATE" --pod-cidr-prefix "$PREFIX" --bridge "$BRIDGE" \
    > "$STATE/agent.log" 2>&1 < /dev/null &
AGENT_PID=$!
node_ready() { [ "$(kc get node gungnir-node-0 -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
wait_until 20 "Node gungnir-node-0 registered and Ready" node_ready

kc apply -f - >/dev/null <<'EOF' || fail "kubectl apply"
apiVersion: v1
kind: ConfigMap
metadata: {name: st-config}
data:
  valkey.conf: |
    maxmemory 32mb
---
apiVersion: v1
kind: Service
metadata: {name: st}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector: {app: st}
  ports: [{port: 6379}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: st}
spec:
  serviceName: st
  replicas: 3
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: st}}
  template:
    metadata: {labels: {app: st}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: valkey
        image: valkey/valkey:8.0
        command: ["valkey-server", "/etc/valkey/valkey.conf", "--port", "6379", "--protected-mode", "no"]
        readinessProbe:
          exec: {command: ["valkey-cli", "ping"]}
          periodSeconds: 1
        volumeMounts:
        - {name: config, mountPath: /etc/valkey}
        - {name: data, mountPath: /data}
      volumes:
      - name: config
        configMap: {name: st-config}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
EOF

pod_field() { kc get pod "$1" -o "jsonpath=$2"; }
pod_ready() { [ "$(pod_field "$1" '{.status.conditions[?(@.type=="Ready")].status}')" = True ] && [ -n "$(pod_field "$1" '{.status.podIP}')" ]; }
all_ready() { pod_ready st-0 && pod_ready st-1 && pod_ready st-2; }
wait_until 90 "st-0, st-1, st-2 Running and Ready with pod IPs" all_ready
for p in st-0 st-1 st-2; do
    [ "$(pod_field $p '{.status.phase}')" = Running ] || fail "$p is not Running"
    ip=$(pod_field $p '{.status.podIP}')
    [ "$(timeout 5 redis-cli -h "$ip" ping)" = PONG ] || fail "redis-cli -h $ip ping ($p) from the host"
    [ -s "$STATE/pods/default_$p/pid" ] || fail "no $STATE/pods/default_$p/pid"
    [ "$(cat "$STATE/pods/default_$p/netns")" = "gpod-default.$p" ] || fail "netns file of $p"
done
say "ok: PONG from every pod IP; pid and netns files written"

pid0=$(cat "$STATE/pods/default_st-0/pid")
[ "$(nsenter -t "$pid0" -m cat /etc/valkey/valkey.conf)" = "maxmemory 32mb" ] || fail "configMap not at /etc/valkey in st-0"
[ ! -e /etc/valkey/valkey.conf ] || [ "$(cat /etc/valkey/valkey.conf)" != "maxmemory 32mb" ] ||
    fail "the configMap mount is visible on the host"
[ "$(readlink "/proc/$pid0/cwd")" = /data ] || fail "st-0 does not run in /data"
say "ok: configMap mounted in st-0's private mount namespace; cwd /data"

peer=st-1.st.default.svc.cluster.local
[ "$(timeout 5 ip netns exec gpod-default.st-0 nsenter -t "$pid0" -m redis-cli -h $peer ping)" = PONG ] ||
    fail "st-0 cannot reach $peer through its /etc/hosts"
[ "$(timeout 5 nsenter -t "$pid0" -m -n redis-cli -h st-2.st.default.svc ping)" = PONG ] ||
    fail "st-0 cannot reach st-2.st.default.svc"
say "ok: st-0 resolves and reaches its peers by DNS name"

old1=$(cat "$STATE/pods/default_st-1/pid")
kill -KILL "$old1"
restarted() {
    [ "$(pod_field st-1 '{.status.containerStatuses[0].restartCount}')" = 1 ] && pod_ready st-1 &&
    [ -s "$STATE/pods/default_st-1/pid" ] && [ "$(cat "$STATE/pods/default_st-1/pid")" != "$old1" ]
}
wait_until 30 "SIGKILLed st-1 restarted (restartCount 1, Ready again)" restarted
[ "$(pod_field st-1 '{.status.containerStatuses[0].lastState.terminated.exitCode}')" = 137 ] ||
    fail "st-1 lastState.terminated.exitCode is not 137"
[ "$(timeout 5 redis-cli -h "$(pod_field st-1 '{.status.podIP}')" ping)" = PONG ] || fail "st-1 after restart"

olduid=$(pod_field st-2 '{.metadata.uid}')
oldpid2=$(cat "$STATE/pods/default_st-2/pid")
kc delete pod st-2 --wait=false >/dev/null || fail "kubectl delete pod st-2"
recreated() {
    local uid
    uid=$(pod_field st-2 '{.metadata.uid}') && [ -n "$uid" ] && [ "$uid" != "$olduid" ] && pod_ready st-2
}
wait_until 60 "deleted st-2 stopped, removed, and recreated by the StatefulSet controller (Ready)" recreated
! kill -0 "$oldpid2" 2>/dev/null || fail "the old st-2 server (pid $oldpid2) still runs"
[ "$(timeout 5 redis-cli -h "$(pod_field st-2 '{.status.podIP}')" ping)" = PONG ] || fail "new st-2 ping"
grep -q "st-2.st.default.svc.cluster.local" "$STATE/pods/default_st-0/hosts" || fail "st-0's hosts lost st-2"

# ---- a pod of two containers: a server and the redis_exporter sidecar (Debian's exporter)
kc apply -f - >/dev/null <<'EOF2' || fail "kubectl apply two"
apiVersion: v1
kind: Pod
metadata: {name: two}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: server
    image: valkey/valkey:8.0
    command: ["valkey-server", "--port", "6379", "--protected-mode", "no"]
    readinessProbe:
      exec: {command: ["valkey-cli", "ping"]}
      periodSeconds: 1
  - name: exporter
    image: oliver006/redis_exporter:v1.67.0
    env:
    - {name: REDIS_ADDR, value: "redis://localhost:6379"}
    - {name: REDIS_EXPORTER_WEB_LISTEN_ADDRESS, value: ":9121"}
    ports: [{name: metrics, containerPort: 9121}]
    readinessProbe:
      httpGet: {path: /metrics, port: metrics}
      periodSeconds: 1
EOF2
both_ready() {
    pod_ready two && [ "$(pod_field two '{.status.containerStatuses[*].ready}')" = "true true" ]
}
wait_until 60 "pod two Ready with both containers ready (exec and httpGet probes)" both_ready
[ "$(pod_field two '{.status.containerStatuses[*].name}')" = "server exporter" ] || fail "two: container statuses"
ip2=$(pod_field two '{.status.podIP}')
curl -sf --max-time 5 "http://$ip2:9121/metrics" | grep -qx 'redis_up 1' || fail "two: the exporter's redis_up is not 1"
spid=$(cat "$STATE/pods/default_two/pid-server")
epid=$(cat "$STATE/pods/default_two/pid-exporter")
[ "$(cat "$STATE/pods/default_two/pid")" = "$spid" ] || fail "two: pid is not the first container's"
[ "$(readlink "/proc/$spid/ns/net")" = "$(readlink "/proc/$epid/ns/net")" ] || fail "two: containers in different netns"
[ "$(readlink "/proc/$spid/ns/mnt")" != "$(readlink /proc/1/ns/mnt)" ] || fail "two: server in the host's mount namespace"
[ -s "$STATE/pods/default_two/container-exporter.log" ] || fail "two: no container-exporter.log"
say "ok: two containers in one netns; the exporter scrapes the server over localhost (redis_up 1)"
kill -KILL "$epid"
exporter_restarted() {
    [ "$(pod_field two '{.status.containerStatuses[1].restartCount}')" = 1 ] &&
    [ "$(pod_field two '{.status.containerStatuses[0].restartCount}')" = 0 ] && both_ready &&
    [ "$(cat "$STATE/pods/default_two/pid-exporter")" != "$epid" ]
}
wait_until 30 "the SIGKILLed exporter alone restarted (its restartCount 1, the server's 0)" exporter_restarted
kill -0 "$spid" || fail "two: the server went with the exporter"

# ---- securityContext: a non-root pod (the operator's shape), and runAsNonRoot refusing root
kc apply -f - >/dev/null <<'EOF2' || fail "kubectl apply nonroot"
apiVersion: v1
kind: ConfigMap
metadata: {name: nr-config}
data:
  valkey.conf: |
    port 6379
    dir /data
    save ""
    appendonly yes
---
apiVersion: v1
kind: Secret
metadata: {name: nr-auth}
stringData: {password: "selftest-Pw-7f3a9"}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: nr-data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: nonroot}
spec:
  terminationGracePeriodSeconds: 5
  securityContext:
    runAsNonRoot: true
    runAsUser: 999
    runAsGroup: 999
    fsGroup: 999
    fsGroupChangePolicy: OnRootMismatch
  containers:
  - name: valkey
    image: valkey/valkey:8.0
    command:
    - sh
    - -c
    - |
      exec valkey-server /etc/valkey/valkey.conf - <<EOF
      requirepass "$VALKEY_PASSWORD"
      EOF
    env:
    - name: VALKEY_PASSWORD
      valueFrom: {secretKeyRef: {name: nr-auth, key: password}}
    - name: REDISCLI_AUTH
      valueFrom: {secretKeyRef: {name: nr-auth, key: password}}
    readinessProbe:
      exec: {command: ["sh", "-c", "test -r /etc/secret/password && valkey-cli ping | grep -q PONG"]}
      periodSeconds: 1
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
    volumeMounts:
    - {name: config, mountPath: /etc/valkey}
    - {name: secret, mountPath: /etc/secret}
    - {name: data, mountPath: /data}
    - {name: scratch, mountPath: /scratch}
  volumes:
  - {name: config, configMap: {name: nr-config}}
  - {name: secret, secret: {secretName: nr-auth, defaultMode: 0400}}
  - {name: data, persistentVolumeClaim: {claimName: nr-data}}
  - {name: scratch, emptyDir: {}}
---
apiVersion: v1
kind: Pod
metadata: {name: wantsroot}
spec:
  securityContext: {runAsNonRoot: true}
  containers:
  - name: c
    image: valkey/valkey:8.0
    command: ["valkey-server", "--port", "6379"]
EOF2
wait_until 60 "pod nonroot Ready (the probe, as uid 999, reads the 0400 Secret file and gets PONG)" pod_ready nonroot
npid=$(cat "$STATE/pods/default_nonroot/pid")
status_of() { awk -v k="$2:" '$1 == k {$1 = ""; print substr($0, 2)}' "/proc/$1/status"; }
[ "$(status_of "$npid" Uid)" = "999 999 999 999" ] || fail "nonroot: Uid is '$(status_of "$npid" Uid)'"
[ "$(status_of "$npid" Gid)" = "999 999 999 999" ] || fail "nonroot: Gid is '$(status_of "$npid" Gid)'"
[ "$(status_of "$npid" Groups)" = "999" ] || fail "nonroot: Groups is '$(status_of "$npid" Groups)'"
[ "$(status_of "$npid" NoNewPrivs)" = 1 ] || fail "nonroot: NoNewPrivs is not 1"
[ "$(status_of "$npid" CapBnd)" = 0000000000000000 ] || fail "nonroot: CapBnd is $(status_of "$npid" CapBnd)"
[ "$(status_of "$npid" CapEff)" = 0000000000000000 ] || fail "nonroot: CapEff is $(status_of "$npid" CapEff)"
printf '%s\n' selftest-Pw-7f3a9 > "$STATE/pw.pattern"  # grep -f: not in grep's own command line
! grep -l -a -F -f "$STATE/pw.pattern" /proc/[0-9]*/cmdline 2>/dev/null | grep -q . || fail "the password is in a command line"
ipn=$(pod_field nonroot '{.status.podIP}')
[ "$(REDISCLI_AUTH=selftest-Pw-7f3a9 timeout 5 redis-cli --no-auth-warning -h "$ipn" SET k v)" = OK ] || fail "nonroot: SET"
[ "$(REDISCLI_AUTH=selftest-Pw-7f3a9 timeout 5 redis-cli --no-auth-warning -h "$ipn" SAVE)" = OK ] || fail "nonroot: SAVE to /data"
pvc=$(ls -d "$STATE"/pvc/default_nr-data_* | head -n 1)
[ "$(stat -c '%u:%g' "$pvc/dump.rdb")" = 999:999 ] || fail "nonroot: dump.rdb is $(stat -c '%u:%g' "$pvc/dump.rdb")"
[ "$(stat -c '%g %a' "$pvc")" = "999 2775" ] || fail "nonroot: the PVC folder is $(stat -c '%g %a' "$pvc")"
[ -d "$pvc/appendonlydir" ] || fail "nonroot: no appendonlydir in the PVC folder"
sec=$STATE/pods/default_nonroot/volumes/secret/password
[ "$(stat -c '%g %a' "$sec")" = "999 440" ] || fail "nonroot: the Secret file is $(stat -c '%g %a' "$sec")"
[ "$(nsenter -t "$npid" -m -n setpriv --reuid 999 --regid 999 --clear-groups touch /scratch/x && echo ok)" = ok ] ||
    fail "nonroot: uid 999 cannot write the emptyDir"
say "ok: nonroot runs as 999:999 (groups 999, no new privileges, no capabilities), writes /data, reads its Secret"
refused() {
    [ "$(pod_field wantsroot '{.status.containerStatuses[0].state.waiting.reason}')" = CreateContainerConfigError ] &&
    pod_field wantsroot '{.status.containerStatuses[0].state.waiting.message}' | grep -q 'runAsNonRoot and image will run as root'
}
wait_until 30 "pod wantsroot (runAsNonRoot, no runAsUser) refused: CreateContainerConfigError" refused
[ "$(pod_field wantsroot '{.status.phase}')" = Pending ] || fail "wantsroot is not Pending"
[ ! -e "$STATE/pods/default_wantsroot/pid" ] || fail "wantsroot has a process"

pids="$(cat "$STATE/pods/default_two/pid-server" "$STATE/pods/default_two/pid-exporter" "$STATE/pods/default_nonroot/pid")"
for p in st-0 st-1 st-2; do pids="$pids $(cat "$STATE/pods/default_$p/pid")"; done
pids=$(echo "$pids" | xargs)
say "stopping the agent (SIGTERM); servers:$pids"
kill -TERM "$AGENT_PID"
agent_gone() { ! kill -0 "$AGENT_PID" 2>/dev/null; }
wait_until 30 "the agent exited" agent_gone
rc=0
wait "$AGENT_PID" || rc=$?
AGENT_PID=""
[ "$rc" = 0 ] || fail "the agent exited with $rc"
for pid in $pids; do
    ! kill -0 "$pid" 2>/dev/null || fail "server pid $pid survived the agent"
done
left=$(ip netns list | awk '{print $1}' | grep '^gpod-default\.' || true)
[ -z "$left" ] || fail "netns left behind: $left"
left=$(ls "$STATE"/pods/*/pid* 2>/dev/null || true)
[ -z "$left" ] || fail "pid files left: $left"
for p in st-0 st-1 st-2 two nonroot; do
    veth=gh-$(printf '%s' "default.$p" | sha1sum | cut -c1-10)
    ! ip link show "$veth" >/dev/null 2>&1 || fail "veth $veth of $p left"
done
say "ok: no server process, netns or veth left after the agent stopped"

#!/usr/bin/env bash
# e2e/local/deploy.sh — deploys Gungnir into the local cluster that e2e/cluster/up.sh started:
# the CRD, dev certificates, the node agent, gungnir itself (webhook + controller) on the host,
# and the webhook configurations registered by URL with the dev CA. Idempotent; processes are
# recorded in STATE_DIR/pids so e2e/cluster/down.sh stops them with the rest.
#
#   bash e2e/local/deploy.sh [--dir STATE_DIR] [--build DIR] [--restart] [-- extra gungnir flags]
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
STATE_DIR=/tmp/gungnir-cluster
build=build
restart=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) STATE_DIR=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --restart) restart=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "deploy.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
# shellcheck disable=SC1091
. "$STATE_DIR/env"
say() { echo "deploy.sh: $*"; }
kc() { kubectl --kubeconfig "$KUBECONFIG" "$@" 2> >(grep -v -i 'version skew\|^Warning: version' >&2); }

[ -x "$build/gungnir" ] && [ -x "$build/e2e/nodeagent/gungnir-nodeagent" ] || {
  echo "deploy.sh: build first: cmake -S . -B $build && cmake --build $build" >&2; exit 1; }

# Already running processes of ours (by pid file); --restart stops them first.
running() { # name -> pid or nothing
  local pid
  pid=$(awk -v n="$1" '$1 == n {print $2}' "$STATE_DIR/pids" 2>/dev/null | tail -n 1)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
  return 0
}
stop_proc() { # name
  local pid
  pid=$(running "$1")
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  sed -i "/^$1 $pid\$/d" "$STATE_DIR/pids"
}
if [ "$restart" = 1 ]; then stop_proc gungnir; stop_proc gungnir-nodeagent; fi

kc apply -f manifests/crd/gungnir.dev_valkeyclusters.yaml >/dev/null
for _ in $(seq 1 100); do
  kc get crd valkeyclusters.gungnir.dev -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null | grep -q True && break
  sleep 0.1
done

certs="$STATE_DIR/webhook-certs"
[ -s "$certs/tls.crt" ] || bash certs/make-dev-certs.sh "$certs" >/dev/null
mkdir -p "$STATE_DIR/logs"

# The agent must use the bridge and /24 that up.sh made (GUNGNIR_BRIDGE / GUNGNIR_POD_PREFIX).
pod_prefix=${GUNGNIR_POD_CIDR:-10.250.0.0/24}
pod_prefix=${pod_prefix%.0/24}
if [ -z "$(running gungnir-nodeagent)" ]; then
  "$build/e2e/nodeagent/gungnir-nodeagent" --server "$GUNGNIR_APISERVER_URL" --token "$GUNGNIR_ADMIN_TOKEN" \
    --ca-file "$GUNGNIR_CA_CRT" --state-dir "$STATE_DIR/nodeagent" \
    --bridge "${GUNGNIR_BRIDGE:-gungnir0}" --pod-cidr-prefix "$pod_prefix" >>"$STATE_DIR/logs/nodeagent.log" 2>&1 &
  echo "gungnir-nodeagent $!" >>"$STATE_DIR/pids"
  say "node agent started (pid $!, log $STATE_DIR/logs/nodeagent.log)"
fi

port_file="$STATE_DIR/webhook-port"
[ -s "$port_file" ] || echo $((20000 + RANDOM % 20000)) >"$port_file"
port=$(cat "$port_file")
if [ -z "$(running gungnir)" ]; then
  "$root/$build/gungnir" --kubeconfig "$KUBECONFIG" --webhook-cert-dir "$certs" \
    --webhook-bind-address "127.0.0.1:$port" --health-probe-bind-address "127.0.0.1:$((port + 1))" \
    --metrics-bind-address "127.0.0.1:$((port + 2))" "${extra[@]}" >>"$STATE_DIR/logs/gungnir.log" 2>&1 &
  echo "gungnir $!" >>"$STATE_DIR/pids"
  say "gungnir started (pid $!, webhook 127.0.0.1:$port, health :$((port + 1)), metrics :$((port + 2)), log $STATE_DIR/logs/gungnir.log)"
fi
ok=0
for _ in $(seq 1 100); do
  curl -sf --max-time 1 "http://127.0.0.1:$((port + 1))/readyz" >/dev/null && { ok=1; break; }
  sleep 0.1
done
[ "$ok" = 1 ] || { echo "deploy.sh: gungnir did not become ready; log:" >&2; tail -n 20 "$STATE_DIR/logs/gungnir.log" >&2; exit 1; }

ca=$(base64 -w0 <"$certs/ca.crt")
for f in manifests/webhook/local/mutating.yaml manifests/webhook/local/validating.yaml; do
  sed -e "s|\${WEBHOOK_PORT}|$port|g" -e "s|\${CA_BUNDLE}|$ca|g" "$f" | kc apply -f - >/dev/null
done
say "webhooks registered at https://127.0.0.1:$port"

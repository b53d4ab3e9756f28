#!/usr/bin/env bash
# e2e/demo.sh — the product's main job on this machine: sets up everything (Debian packages, the
# build, a real kube-apiserver built from Debian's source), brings up the local cluster, deploys
# Gungnir into it, applies a sample ValkeyCluster and shows it running with a primary and
# replicas — and that a write on the primary is read on every replica.
#
#   bash e2e/demo.sh [--dir STATE_DIR]      stop everything with: bash e2e/cluster/down.sh
set -euo pipefail
cd "$(dirname "$0")/.."
STATE_DIR=/tmp/gungnir-cluster
[ "${1:-}" = --dir ] && STATE_DIR=$2
say() { printf '\n== %s\n' "$*"; }

say "installing dependencies and building"
bash .ci/install-deps
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target gungnir gungnir-nodeagent >/dev/null

say "starting the local cluster (etcd + kube-apiserver + kube-controller-manager; the first run builds them, ~5-15 min)"
bash e2e/cluster/up.sh --dir "$STATE_DIR"
say "deploying Gungnir (webhook + controller) and the node agent"
bash e2e/local/deploy.sh --dir "$STATE_DIR"
# shellcheck disable=SC1091
. "$STATE_DIR/env"
kc() { kubectl --kubeconfig "$KUBECONFIG" "$@" 2> >(grep -v -i 'version skew\|^Warning: version' >&2); }

say "kubectl apply -f manifests/samples/gungnir_v1alpha1_valkeycluster_minimal.yaml"
kc apply -f manifests/samples/gungnir_v1alpha1_valkeycluster_minimal.yaml
name=$(kc get -f manifests/samples/gungnir_v1alpha1_valkeycluster_minimal.yaml -o jsonpath='{.metadata.name}')
for i in $(seq 1 120); do
  phase=$(kc get vkc "$name" -o jsonpath='{.status.phase}' 2>/dev/null || true)
  [ "$phase" = Running ] && break
  [ "$i" = 120 ] && { echo "demo: $name is not Running after 120 s (phase '$phase'); see $STATE_DIR/logs/" >&2; exit 1; }
  sleep 1
done
kc get vkc "$name"
kc get pods -l "app.kubernetes.io/instance=$name" -L gungnir.dev/role -o wide
kc get statefulset,service,configmap,secret,pdb -l "app.kubernetes.io/instance=$name"

say "a write on the primary, read back on every replica"
password=$(kc get secret "$name-auth" -o jsonpath='{.data.password}' | base64 -d)
primary_ip=$(kc get pods -l "app.kubernetes.io/instance=$name,gungnir.dev/role=primary" -o jsonpath='{.items[0].status.podIP}')
stamp="written at $(date -u +%H:%M:%S)"
redis-cli --no-auth-warning -a "$password" -h "$primary_ip" SET demo "$stamp" >/dev/null
redis-cli --no-auth-warning -a "$password" -h "$primary_ip" WAIT 2 2000 >/dev/null
for ip in $(kc get pods -l "app.kubernetes.io/instance=$name,gungnir.dev/role=replica" -o jsonpath='{.items[*].status.podIP}'); do
  echo "replica $ip: GET demo -> $(redis-cli --no-auth-warning -a "$password" -h "$ip" GET demo)"
done

say "an invalid ValkeyCluster is refused by the webhook through the API server"
kc apply -f manifests/samples/invalid/maxmemory-above-limit.yaml 2>&1 || true

echo
echo "demo: the cluster keeps running; kubectl: export KUBECONFIG=$KUBECONFIG; stop everything: bash e2e/cluster/down.sh --dir $STATE_DIR"

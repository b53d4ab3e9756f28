#!/usr/bin/env bash
# e2e/kind/run.sh — the e2e suites of e2e/local/ against a kind cluster (machines with Docker).
# Creates a kind cluster, installs cert-manager, builds the gungnir image and loads it into kind,
# deploys manifests/default (CRD, RBAC, 2 replicas with --leader-elect, webhooks with a
# cert-manager certificate), runs the suites with E2E_PLATFORM=kind, and deletes the cluster.
#
#   bash e2e/kind/run.sh [suite...]          default: basic scale invalid owned_recreate
#                                            restart_operator restart_apiserver leader
#   KIND_CLUSTER_NAME       default gungnir-e2e (an existing cluster of that name is reused)
#   KIND_NODE_IMAGE         e.g. kindest/node:v1.29.2 (default: kind's own)
#   CERT_MANAGER_VERSION    default v1.14.5
#   E2E_IMAGE               default gungnir:e2e
#   E2E_KEEP=1              keep the cluster at the end
# Ends with "e2e-kind: N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export KIND_CLUSTER_NAME=${KIND_CLUSTER_NAME:-gungnir-e2e}
CERT_MANAGER_VERSION=${CERT_MANAGER_VERSION:-v1.14.5}
E2E_IMAGE=${E2E_IMAGE:-gungnir:e2e}
export E2E_PLATFORM=kind E2E_CLI_MODE=exec
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(basic scale invalid owned_recreate restart_operator restart_apiserver leader)
passed=0
failed=0
t_start=$(date +%s)
logs=$(mktemp -d /tmp/gungnir-e2e-kind.XXXXXX)
pf_pid=""
say() { printf '\n=== e2e-kind: %s\n' "$*"; }
kc() { kubectl --context "kind-$KIND_CLUSTER_NAME" "$@"; }

finish() {
    [ -z "$pf_pid" ] || kill "$pf_pid" 2>/dev/null
    if [ "${E2E_KEEP:-0}" != 1 ] && [ "${created:-0}" = 1 ]; then
        say "deleting kind cluster $KIND_CLUSTER_NAME"
        kind delete cluster --name "$KIND_CLUSTER_NAME" >/dev/null 2>&1 || true
    fi
    echo
    echo "e2e-kind: $passed passed, $failed failed ($(($(date +%s) - t_start)) s; logs in $logs)"
    [ "$failed" -eq 0 ]
}
trap finish EXIT
for tool in docker kind kubectl jq curl; do
    command -v "$tool" >/dev/null || { echo "e2e-kind: missing $tool" >&2; failed=1; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "e2e-kind: no Docker daemon" >&2; failed=1; exit 1; }

say "kind cluster $KIND_CLUSTER_NAME"
created=0
if ! kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER_NAME"; then
    kind create cluster --name "$KIND_CLUSTER_NAME" ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} --wait 120s ||
        { failed=1; exit 1; }
    created=1
fi
export KUBECONFIG=$logs/kubeconfig
kind get kubeconfig --name "$KIND_CLUSTER_NAME" >"$KUBECONFIG"

say "cert-manager $CERT_MANAGER_VERSION"
kc apply -f "https://github.com/cert-manager/cert-manager/releases/download/$CERT_MANAGER_VERSION/cert-manager.yaml" >/dev/null &&
    kc -n cert-manager rollout status deploy/cert-manager-webhook --timeout=180s || { failed=1; exit 1; }

say "image $E2E_IMAGE"
docker build -t "$E2E_IMAGE" . && kind load docker-image "$E2E_IMAGE" --name "$KIND_CLUSTER_NAME" || { failed=1; exit 1; }

say "deploy manifests/default"
deployed=0
for _ in 1 2 3 4 5 6; do # cert-manager's webhook may need a moment before it admits Certificates
    if kc kustomize manifests/default | sed "s|image: gungnir:latest|image: $E2E_IMAGE|" | kc apply -f - >"$logs/deploy.log" 2>&1; then
        deployed=1; break
    fi
    sleep 10
done
[ "$deployed" = 1 ] || { cat "$logs/deploy.log"; failed=1; exit 1; }
kc -n gungnir-system rollout status deploy/gungnir-controller-manager --timeout=300s || { failed=1; exit 1; }
kc wait --for=condition=Established crd/valkeyclusters.gungnir.dev --timeout=60s >/dev/null

# The leader's /metrics, for the basic suite's "a settled controller writes nothing" check.
leader_metrics() {
    local holder pod port
    holder=$(kc -n gungnir-system get lease gungnir-leader -o jsonpath='{.spec.holderIdentity}' 2>/dev/null)
    pod=${holder%_*}
    [ -n "$pod" ] || return 1
    [ -z "$pf_pid" ] || kill "$pf_pid" 2>/dev/null
    port=$((20000 + RANDOM % 20000))
    kc -n gungnir-system port-forward "pod/$pod" "$port:8080" >"$logs/port-forward.log" 2>&1 &
    pf_pid=$!
    sleep 2
    export E2E_METRICS_URL=http://127.0.0.1:$port/metrics
}

summary=()
for s in "${suites[@]}"; do
    f=e2e/local/test_$s.sh
    [ -f "$f" ] || { echo "e2e-kind: no suite $s"; failed=$((failed + 1)); continue; }
    leader_metrics || echo "e2e-kind: no leader Lease yet; metrics checks will fail"
    say "suite $s"
    t0=$(date +%s)
    E2E_NS_PREFIX=e2e timeout --kill-after=60 600 bash "$f" 2>&1 | tee "$logs/$s.log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^[a-z_-]+: [0-9]+ passed, [0-9]+ failed' "$logs/$s.log" | tail -n 1)
    if [ -n "$line" ]; then
        passed=$((passed + $(sed -E 's/^[^:]+: ([0-9]+) passed.*/\1/' <<<"$line")))
        failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
    else
        failed=$((failed + 1)); line="$s: no summary (exit $rc)"
    fi
    summary+=("$line [$(($(date +%s) - t0)) s]")
done
say "summary"
printf '  %s\n' "${summary[@]}"

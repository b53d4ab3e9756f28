#!/usr/bin/env bash
# e2e/webhook-demo.sh — the webhook on its own, no cluster needed: installs the dependencies,
# builds gungnir, makes dev certificates, starts the webhook on 127.0.0.1, and sends it two
# AdmissionReviews with curl over verified TLS: a ValkeyCluster that gets defaulted (the JSON
# Patch is decoded and shown) and one that is refused (the field errors are shown). Stops the
# server at the end and leaves nothing running.
#
#   bash e2e/webhook-demo.sh [--port 19443]
set -euo pipefail
cd "$(dirname "$0")/.."
port=19443
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    *) echo "webhook-demo: unknown option $1 (use --port N)" >&2; exit 2 ;;
  esac
done

bash .ci/install-deps
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target gungnir >/dev/null
work=$(mktemp -d /tmp/gungnir-demo.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
bash certs/make-dev-certs.sh "$work/certs" >/dev/null

build/gungnir --disable-controller --webhook-cert-dir "$work/certs" \
  --webhook-bind-address "127.0.0.1:$port" --health-probe-bind-address 0 \
  --metrics-bind-address 0 2>"$work/gungnir.log" &
pid=$!
for _ in $(seq 1 50); do
  curl -s --max-time 1 --cacert "$work/certs/ca.crt" -o /dev/null "https://127.0.0.1:$port/" && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/gungnir.log" >&2; exit 1; }
  sleep 0.1
done

review() { # operation, object JSON
  jq -n --arg op "$1" --argjson obj "$2" '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
    request: {uid: "demo-1", operation: $op, name: $obj.metadata.name, namespace: "default",
              kind: {group: "gungnir.dev", version: "v1alpha1", kind: "ValkeyCluster"},
              resource: {group: "gungnir.dev", version: "v1alpha1", resource: "valkeyclusters"},
              object: $obj}}'
}
post() { # path, body
  curl -sS --max-time 5 --cacert "$work/certs/ca.crt" -H 'Content-Type: application/json' \
    --data-binary @- "https://127.0.0.1:$port/$1" <<<"$2"
}

good='{"apiVersion":"gungnir.dev/v1alpha1","kind":"ValkeyCluster","metadata":{"name":"cache"},
       "spec":{"replicas":3,"resources":{"limits":{"memory":"1Gi"}}}}'
echo "== 1. POST /mutate: a small ValkeyCluster gets every default as a JSON Patch"
answer=$(post mutate-gungnir-dev-v1alpha1-valkeycluster "$(review CREATE "$good")")
echo "$answer" | jq '.response | {allowed, patchType}'
echo "$answer" | jq -r '.response.patch' | base64 -d | jq -c '.[]'

bad='{"apiVersion":"gungnir.dev/v1alpha1","kind":"ValkeyCluster","metadata":{"name":"Bad_Name"},
      "spec":{"replicas":0,"resources":{"requests":{"memory":"2Gi"},"limits":{"memory":"1Gi"}}}}'
echo
echo "== 2. POST /validate: an invalid ValkeyCluster is refused with every field error at once"
post validate-gungnir-dev-v1alpha1-valkeycluster "$(review CREATE "$bad")" \
  | jq '.response | {allowed, code: .status.code, message: .status.message}'
echo
echo "webhook-demo: done (server log was $work/gungnir.log)"

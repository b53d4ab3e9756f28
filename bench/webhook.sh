#!/usr/bin/env bash
# bench/webhook.sh — load the webhook with wrk and print requests/s, p50/p99/p99.9 latency and
# the server's peak RSS. Keep-alive TLS; a realistic ValkeyCluster CREATE that needs defaulting;
# server and load generator pinned to separate cores. A benchmark that prints figures, not a test.
#
#   bash bench/webhook.sh [--duration 20] [--connections 64] [--path mutate|validate]
#                         [--server-cpu 0] [--client-cpu 1] [--client-threads 1] [--server-threads 1]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
duration=20 connections=64 which=mutate server_cpu=0 client_cpu=1 client_threads=1 server_threads=1
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --path) which=$2; shift 2 ;;
    --server-cpu) server_cpu=$2; shift 2 ;;
    --client-cpu) client_cpu=$2; shift 2 ;;
    --client-threads) client_threads=$2; shift 2 ;;
    --server-threads) server_threads=$2; shift 2 ;;
    *) echo "bench/webhook.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$which" in mutate|validate) ;; *) echo "--path is mutate or validate" >&2; exit 2 ;; esac

bash .ci/install-deps >/dev/null
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DGUNGNIR_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" >/dev/null

work=$(mktemp -d /tmp/gungnir-bench.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
bash certs/make-dev-certs.sh "$work/certs" >/dev/null

port=$((20000 + RANDOM % 20000))
taskset -c "$server_cpu" build-bench/gungnir --disable-controller --webhook-cert-dir "$work/certs" \
  --webhook-bind-address "127.0.0.1:$port" --health-probe-bind-address 0 --metrics-bind-address 0 \
  --webhook-threads "$server_threads" --log-level warn 2>"$work/server.log" &
pid=$!
for _ in $(seq 1 100); do
  curl -sk --max-time 1 -o /dev/null "https://127.0.0.1:$port/" && break
  sleep 0.1
done
rss_start=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")

path="/$which-gungnir-dev-v1alpha1-valkeycluster"
# Sanity: the request really needs defaulting (mutate) / is valid (validate).
answer=$(curl -sk --max-time 5 -H 'Content-Type: application/json' --data @bench/admission-create.json "https://127.0.0.1:$port$path")
echo "$answer" | jq -e '.response.allowed == true' >/dev/null || { echo "bench: unexpected answer: $answer" >&2; exit 1; }

# Warm-up, then the measured run.
BODY_FILE="$root/bench/admission-create.json" WEBHOOK_PATH="$path" taskset -c "$client_cpu" \
  wrk -t1 -c"$connections" -d2s -s bench/webhook.lua "https://127.0.0.1:$port" >/dev/null
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
ticks_before=$(cpu_ticks)
result=$(BODY_FILE="$root/bench/admission-create.json" WEBHOOK_PATH="$path" taskset -c "$client_cpu" \
  wrk -t"$client_threads" -c"$connections" -d"${duration}s" -s bench/webhook.lua "https://127.0.0.1:$port" | grep '^RESULT')
rss_peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
ticks_after=$(cpu_ticks)
hz=$(getconf CLK_TCK)

echo "gungnir webhook benchmark: POST $path, $(stat -c %s bench/admission-create.json)-byte AdmissionReview, TLS keep-alive"
echo "server: 1 core (cpu $server_cpu), $server_threads worker thread(s); wrk: cpu $client_cpu, $client_threads thread(s), $connections connections, ${duration}s"
echo "$result" | sed 's/^RESULT //' | tr ' ' '\n' | sed 's/=/: /'
echo "rss_start_kb: $rss_start"
echo "rss_peak_kb: $rss_peak"
# Server CPU per request: steadier than requests/s on a shared machine.
requests=$(echo "$result" | tr ' ' '\n' | sed -n 's/^requests=//p')
awk -v t=$((ticks_after - ticks_before)) -v hz="$hz" -v n="$requests" \
  'BEGIN { if (n > 0) printf "server_cpu_us_per_request: %.1f\nrps_per_server_core: %.0f\n", t * 1e6 / hz / n, n / (t / hz) }'

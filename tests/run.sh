#!/usr/bin/env bash
# tests/run.sh — the whole test suite; the README's test command and what CI runs.
#
#   bash tests/run.sh            everything: deps, build, unit + integration tests, the same under
#                                ASan + UBSan (LeakSanitizer on), then a bounded fuzz run
#   FUZZ_SECONDS=N               seconds per fuzz target (default 30; 0 skips fuzzing)
#   SKIP_ASAN=1                  skip the sanitizer stage (quick local runs only)
#   SKIP_E2E=1                   skip the end-to-end suites on the local cluster (e2e/local/run.sh)
#
# Ends with one line "N passed, M failed" over every stage, and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_seconds=${FUZZ_SECONDS:-30}
passed=0
failed=0
logdir=$(mktemp -d /tmp/gungnir-tests.XXXXXX)

note() { printf '\n=== %s\n' "$*"; }

# Runs ctest in build dir $1 and adds its counts to the totals.
run_ctest() {
  local dir=$1 log="$logdir/ctest-$(basename "$1").log"
  (cd "$dir" && ctest --output-on-failure --timeout 600 -j1) 2>&1 | tee "$log"
  local line total fails
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
  if [ -z "$line" ]; then
    echo "tests/run.sh: ctest in $dir printed no summary" >&2
    failed=$((failed + 1))
    return
  fi
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  fails=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
  passed=$((passed + total - fails))
  failed=$((failed + fails))
}

build() { # dir, cmake args...
  local dir=$1
  shift
  cmake -S "$root" -B "$dir" "$@" >/dev/null && cmake --build "$dir" -j"$jobs" 2>&1 | grep -vE '^\[ *[0-9]+%\]' || true
  [ -x "$dir/gungnir" ] || [ -x "$dir/tests/fuzz/fuzz_admission" ]
}

note "dependencies"
if ! bash .ci/install-deps; then
  echo "tests/run.sh: installing dependencies failed" >&2
  exit 1
fi

note "build (RelWithDebInfo, -Werror) and tests"
if build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGUNGNIR_TESTS=ON -DGUNGNIR_FAULT_POINTS=ON; then
  run_ctest build
else
  echo "tests/run.sh: the build failed" >&2
  failed=$((failed + 1))
fi

if [ "${SKIP_ASAN:-0}" != 1 ]; then
  note "sanitizer build (ASan + UBSan + LeakSanitizer) and tests"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  if build build-asan -DCMAKE_BUILD_TYPE=Debug -DGUNGNIR_SANITIZE=ON -DGUNGNIR_TESTS=ON -DGUNGNIR_FAULT_POINTS=ON; then
    run_ctest build-asan
  else
    echo "tests/run.sh: the sanitizer build failed" >&2
    failed=$((failed + 1))
  fi
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi

if [ "${SKIP_E2E:-0}" != 1 ]; then
  note "end-to-end suites on the local cluster (e2e/local/run.sh)"
  log="$logdir/e2e-local.log"
  bash e2e/local/run.sh 2>&1 | tee "$log"
  line=$(grep -E '^e2e-local: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [ -z "$line" ]; then
    echo "tests/run.sh: e2e/local/run.sh printed no summary" >&2
    failed=$((failed + 1))
  else
    passed=$((passed + $(sed -E 's/^e2e-local: ([0-9]+) passed.*/\1/' <<<"$line")))
    failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
  fi
fi

if [ "$fuzz_seconds" -gt 0 ]; then
  note "fuzzing (libFuzzer, ${fuzz_seconds}s per target)"
  if CC=clang build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGUNGNIR_FUZZ=ON -DGUNGNIR_TESTS=OFF; then
    for target in admission quantity kubeconfig valkey_info; do
      work="$logdir/corpus-$target"
      mkdir -p "$work"
      cp "$root/tests/fuzz/corpus/$target/"* "$work/"
      if (cd "$logdir" && "$root/build-fuzz/tests/fuzz/fuzz_$target" -max_total_time="$fuzz_seconds" \
            -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" >"$logdir/fuzz-$target.log" 2>&1); then
        echo "fuzz_$target: $(grep -E '^Done [0-9]+ runs' "$logdir/fuzz-$target.log" | tail -n 1) — no crash"
        passed=$((passed + 1))
      else
        echo "fuzz_$target: FAILED" >&2
        tail -n 40 "$logdir/fuzz-$target.log" >&2
        failed=$((failed + 1))
      fi
    done
  else
    echo "tests/run.sh: the fuzz build failed" >&2
    failed=$((failed + 1))
  fi
fi

rm -rf "$logdir"
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

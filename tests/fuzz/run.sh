#!/bin/bash
# tests/fuzz/run.sh [SECONDS] - build the libFuzzer targets with clang and fuzz each one for
# SECONDS (default 60), starting from the seed corpus in tests/fuzz/corpus/<target>.
#
# The build (build-fuzz/, or $FUZZ_BUILD) instruments the library code too: ASan, UBSan and
# libFuzzer's coverage. Each run uses a fixed seed and a fresh working corpus, so CI runs
# are comparable. A crash stops that target, leaves its input in build-fuzz/fuzz-artifacts/
# and makes the script exit 1: copy the input to tests/fuzz/regressions/<target>/, fix the
# bug, and `make test` replays it from then on. Prints one summary line per target.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
build=${FUZZ_BUILD:-build-fuzz}

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORREO_FUZZ=ON \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
  >/dev/null
cmake --build "$build" -j "$(nproc)" --target fuzz_all

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$build/fuzz-artifacts"
failed=0
summary=()
for fuzzer in "$build"/tests/fuzz/*_fuzz; do
  name=$(basename "$fuzzer" _fuzz)
  work="$build/fuzz-corpus/$name"
  rm -rf "$work" && mkdir -p "$work"
  log="$build/fuzz-artifacts/$name.log"
  if "$fuzzer" -seed=1 -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix="$build/fuzz-artifacts/$name-" "$work" "tests/fuzz/corpus/$name" >"$log" 2>&1; then
    result=ok
  else
    result="CRASH (see $log)"
    failed=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
  summary+=("$(printf '%-12s %12s runs %9s/s  cov %6s  %s' "$name" "$runs" "$rate" "$cov" "$result")")
done
printf 'fuzz: %s s per target, seed 1\n' "$seconds"
printf '  %s\n' "${summary[@]}"
exit $failed

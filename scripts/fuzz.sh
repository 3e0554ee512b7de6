#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/, clang, ASan+UBSan) in
# build-fuzz/ and runs each for SECONDS (default 60) over a copy of its seed
# corpus. A crash, leak, UBSan report, timeout or FUZZ_CHECK stops that
# harness: its input is saved in build-fuzz/findings/<harness>/ and the
# script fails. Add a fixed crash's input to tests/fuzz/regressions/<harness>/
# so the test suite replays it for ever (docs/reliability.md).
#   scripts/fuzz.sh [SECONDS] [HARNESS...]
# Harnesses: record_batch log_recovery storage_files coordinator_records
# config rpc (all by default).
# Prints per harness: executions, coverage (edges) and corpus size. Runs
# FUZZ_JOBS harnesses at once (default: the cores).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
./scripts/setup.sh >/dev/null

dir=build-fuzz
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  harnesses=(record_batch log_recovery storage_files coordinator_records config rpc)
fi
# rpc runs the whole broker in its process: only then are the actors and
# the broker compiled with clang too (several minutes more).
rpc=OFF
for h in "${harnesses[@]}"; do [[ $h == rpc ]] && rpc=ON; done
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DACTORMQ_FUZZ=ON -DACTORMQ_FUZZ_RPC=$rpc -DACTORMQ_UNITY_BUILD=ON -DACTORMQ_TESTS=OFF >/dev/null
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
cmake --build "$dir" -j "${JOBS:-$(nproc)}" --target "${targets[@]}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
# What CAF and Cap'n Proto keep until exit (the rpc harness runs the broker).
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp"
# The file harnesses write, sync and remove a directory per input: in memory
# when /dev/shm is there (several times the executions per second).
if [[ -d /dev/shm && -w /dev/shm ]]; then export TMPDIR=/dev/shm; fi
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# One harness: fuzzes it and writes its summary line to $dir/findings/<h>.line
# (exit status 1 if it found something).
run_harness() {
  local h=$1 work="$dir/corpus/$1" findings="$dir/findings/$1"
  mkdir -p "$work" "$findings"
  cp -n tests/fuzz/corpus/"$h"/* "$work"/ 2>/dev/null || true
  if [ -d tests/fuzz/regressions/"$h" ]; then cp -n tests/fuzz/regressions/"$h"/* "$work"/; fi
  local log="$dir/findings/$h.log" rc
  set +e
  "$dir/tests/fuzz/fuzz_$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$work" >"$log" 2>&1
  rc=$?
  set -e
  local execs cov files line
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || echo '?')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
  files=$(find "$work" -type f | wc -l)
  line=$(printf '%-22s %12s execs %8s edges %6s corpus files' "$h" "$execs" "$cov" "$files")
  if [ $rc -ne 0 ]; then
    line="$line  FAILED (exit $rc): $(ls "$findings" | head -3 | tr '\n' ' ')"
    tail -40 "$log" >&2
  fi
  echo "$line" >"$dir/findings/$h.line"
  return $((rc != 0))
}

# Each harness is one process on one core: FUZZ_JOBS (default: the cores)
# run at once, so SECONDS of fuzzing each take SECONDS x harnesses / jobs.
jobs=${FUZZ_JOBS:-$(nproc)}
status=0
pids=()
for h in "${harnesses[@]}"; do
  echo "fuzz_$h: ${seconds}s"
  run_harness "$h" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
for h in "${harnesses[@]}"; do cat "$dir/findings/$h.line"; done
exit $status

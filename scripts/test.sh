#!/usr/bin/env bash
# Sets up, builds and runs the whole ActorMQ test suite.
#   scripts/test.sh          under ASan+UBSan: Debug build in build-asan/ (the
#                            README's command and CI)
#   scripts/test.sh --plain  the same suite without sanitizers, in build/
# One build, not two: every test (the checker's fault scenarios included)
# runs sanitized, and CI spends its time once (a plain build and run took
# about 10 of the 29 minutes CI took with both).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

# One-shot builds of the whole suite (the README's command and CI): unity
# builds of the CAF-heavy targets, line-table debug info (-g1: file:line in
# backtraces and sanitizer reports, no variable info) and the gold linker cut
# a clean build's CPU time by about a third. Same sources, warnings and
# tests. Executables without PIE start in half the CPU (no millions of
# relocations to apply; CMakeLists.txt, ACTORMQ_NO_PIE): the suite starts
# thousands. For day-to-day work configure your own build dir without them
# (faster incremental rebuilds; README, "Other builds").
args=(-DCMAKE_BUILD_TYPE=Debug -DACTORMQ_UNITY_BUILD=ON -DACTORMQ_LINKER=gold
      -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DACTORMQ_NO_PIE=ON)
case "${1:-}" in
  --plain)
    dir=build
    ;;
  "" | --sanitize)  # --sanitize: the default, kept for old habits
    dir=build-asan
    args+=(-DACTORMQ_SANITIZE=ON)
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp"
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    ;;
  *)
    echo "usage: $0 [--plain]" >&2
    exit 2
    ;;
esac
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
cmake --build "$dir" -j "$jobs"
(cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600)
# Then each libFuzzer harness for FUZZ_SECONDS (default 15; 0 skips): the
# suite above only replays their corpus (docs/reliability.md). Not rpc,
# whose libFuzzer build compiles the whole broker again: the suite runs its
# corpus and 400 mutated scripts against the sanitized broker instead.
if [[ "${FUZZ_SECONDS:-15}" != 0 ]]; then
  ./scripts/fuzz.sh "${FUZZ_SECONDS:-15}" record_batch log_recovery storage_files \
    coordinator_records config
fi

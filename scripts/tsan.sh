#!/usr/bin/env bash
# ThreadSanitizer build (issue 16; docs/reliability.md, "Sanitizers"): a
# Debug build with -fsanitize=thread in build-tsan/, then the storage tests
# (the segment files, indexes, fault injector and recovery code that the
# partition actors and the flusher threads share). A data race fails it.
#
# The actor and client tests build under TSan too (ACTORMQ_TSAN=ON, targets
# actors_tests and app_tests), but TSan cannot judge them with Debian's
# libraries: CAF 0.17.6's scheduler queue and its reference counts
# (ref_counted::deref, intrusive_ptr_release) are compiled into the
# uninstrumented libcaf_core.so, and kj::Mutex waits on futexes TSan does not
# intercept, so every message handed between threads is reported as a race
# (10,804 reports in one run of actors_tests, none in our logic). A run that
# means something needs a TSan-built CAF, which Debian does not ship.
#   scripts/tsan.sh [CATCH2 ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null
dir=build-tsan
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DACTORMQ_TSAN=ON \
  -DACTORMQ_UNITY_BUILD=ON -DACTORMQ_LINKER=gold -DCMAKE_CXX_FLAGS_DEBUG=-g1 >/dev/null
cmake --build "$dir" -j "${JOBS:-$(nproc)}" --target storage_tests
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
"$dir/tests/storage_tests" "$@"

#!/usr/bin/env bash
# scripts/checker.sh [SCENARIO...] [-- CHECKER OPTIONS]
# Builds actormq-checker and actormq-broker if needed (Debug, in build/ or
# $BUILD_DIR) and runs the checker: each scenario against a fresh local
# cluster (etcd + 3 brokers; kill-single: one broker without etcd), all of
# them when none is named:
#   kill-leader pause-follower pause-leader kill-two etcd-down restart-all
#   kill-coordinator kill-txn-coordinator kill-delay-owner kill-retry-owner
#   kill-single
# One summary line per scenario; exit status 1 on any loss, divergence or
# broken bound (the cluster's data and logs are then kept and named).
# Options after the scenarios go to the checker, e.g.
#   scripts/checker.sh kill-leader --seed 42 --rounds 3 -v
# docs/replication.md, "Checker".
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build}
if [[ ! -f "$dir/build.ninja" ]]; then
  ./scripts/setup.sh
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug >/dev/null
fi
nice -n 10 cmake --build "$dir" -j "${JOBS:-2}" --target actormq-checker actormq-broker >&2
exec "$dir/app/checker/actormq-checker" --bin-dir "$dir/app/broker" "$@"

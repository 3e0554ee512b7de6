#!/usr/bin/env bash
# ActorMQ against NATS JetStream and Redis Streams, in ONE run on this machine:
# builds the Release broker and actormq-perf, runs the peers through ../shared/bench/run_all.sh,
# then bench/run_actormq.sh, and prints the issue-8 comparison table (bench/compare.py) and the
# shared per-variant table (../shared/bench/summarize.py).
# Env: OUT (/tmp/peer-bench/compare-<UTC time>) SCRIPTS ("nats redis"; add "limits", "rabbit")
#      REPEAT (3) and every knob of run_actormq.sh / the peer scripts (N1 N2 RATE LAT_SECS SECS ONLY
#      PREWARM_MB QUIET_PCT QUIET_WAIT); SKIP_BUILD=1 uses the existing build-perf;
#      SCRIPTS=- skips the peers and reuses their result files already in $OUT.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared/bench}"
BUILD="${BUILD:-$ROOT/build-perf}"
export OUT="${OUT:-/tmp/peer-bench/compare-$(date -u +%Y%m%dT%H%M%SZ)}"
export REPEAT="${REPEAT:-3}" BUILD SHARED
mkdir -p "$OUT"
echo "# results in $OUT" >&2
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  # g++ 12 -O3 false positives under -Werror: -Wrestrict (GCC PR105329, "lit" + std::string in
  # actors/group) and -Wmaybe-uninitialized inside kj templates (client connection.cpp).
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DACTORMQ_TESTS=OFF \
    -DCMAKE_CXX_FLAGS="-Wno-restrict -Wno-maybe-uninitialized" >&2 || exit 1
  ninja -C "$BUILD" actormq-perf actormq-broker >&2 || exit 1
fi
if [ "${SCRIPTS:-}" != "-" ]; then   # SCRIPTS=- reuses peer results already in $OUT
  SCRIPTS="${SCRIPTS:-nats redis}" "$SHARED/run_all.sh" > /dev/null
fi
echo "# $(date -u +%T) run_actormq.sh" >&2
"$HERE/run_actormq.sh" > "$OUT/actormq.txt" 2> "$OUT/actormq.err"; echo "# run_actormq.sh rc=$?" >&2
{ date -u; uname -r; nproc; free -g | sed -n 2p; uptime; } > "$OUT/machine.txt"
files=()
for f in "$OUT"/*.txt; do
  case "$(basename "$f")" in host.txt|machine.txt|limits.txt) ;; *) files+=("$f");; esac
done
python3 "$HERE/compare.py" "${files[@]}" | tee "$OUT/compare.md"
echo
python3 "$SHARED/summarize.py" "${files[@]}" | tee "$OUT/summary.md"

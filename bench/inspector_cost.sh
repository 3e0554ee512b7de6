#!/usr/bin/env bash
# The inspector's cost (docs/benchmarks.md, "Inspector cost"): W1 and W4 of bench/run_actormq.sh
# with the inspector off, and on (INSPECT=1: the broker's --http port, Prometheus scraping
# /metrics every second, /api/cluster polled every second as the open page does), alternated
# ROUNDS times so that drift of the machine hits both. Prints run_actormq.sh's lines (tag
# inspect=0|1), then the median of each figure per mode and the change.
# Env: ROUNDS(2) REPEAT(3) BUILD(<repo>/build-perf) and run_actormq.sh's.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROUNDS="${ROUNDS:-2}"
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT
for _ in $(seq 1 "$ROUNDS"); do
  for mode in 0 1; do
    INSPECT=$mode ONLY="W1 W4" REPEAT="${REPEAT:-3}" "$HERE/run_actormq.sh" | tee -a "$OUT"
  done
done
python3 - "$OUT" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    kv = dict(p.split("=", 1) for p in line.split() if "=" in p)
    if "workload" not in kv or "inspect" not in kv:
        continue
    key = (kv["workload"], kv["inspect"])
    for name in ("msgs_per_s", "p50_us", "p99_us", "p999_us"):
        if name in kv:
            rows.setdefault(key + (name,), []).append(float(kv[name]))
for (w, mode, name), vals in sorted(rows.items()):
    if mode != "0":
        continue
    on = rows.get((w, "1", name))
    off = statistics.median(vals)
    if not on:
        continue
    on_m = statistics.median(on)
    print(f"{w} {name}: off {off:.0f} (n={len(vals)}) on {on_m:.0f} (n={len(on)}) "
          f"change {100 * (on_m - off) / off:+.1f}%")
PY

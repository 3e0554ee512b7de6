#!/usr/bin/env bash
# The inspector's cost (docs/benchmarks.md, "Inspector cost"): W1 and W4 of bench/run_actormq.sh
# with the inspector off, and on (INSPECT=1: the broker's --http port, Prometheus scraping
# /metrics every second, /api/cluster polled every second as the open page does).
#
# ROUNDS rounds, each a block of REPEAT runs per mode on a fresh broker; odd rounds run off
# first, even rounds on first, so that drift of the machine hits both. Prints run_actormq.sh's
# lines (tag inspect=0|1), then per workload and figure: the median of all runs per mode, and
# the paired change (per round: the on block's median over the off block's), its mean over the
# rounds and a 95 % confidence interval (Student's t). A cost below X % is shown when the whole
# interval lies below +X %.
# Env: ROUNDS(2) REPEAT(3) ONLY("W1 W4") BUILD(<repo>/build-perf) and run_actormq.sh's;
# INSPECT_SELF=1 makes "on" the control (the same Prometheus and poller, inspecting nothing).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROUNDS="${ROUNDS:-2}"
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT
for round in $(seq 1 "$ROUNDS"); do
  modes="0 1"
  if [ $((round % 2)) = 0 ]; then modes="1 0"; fi
  for mode in $modes; do
    echo "# round=$round inspect=$mode" >> "$OUT"
    INSPECT=$mode ONLY="${ONLY:-W1 W4}" REPEAT="${REPEAT:-3}" "$HERE/run_actormq.sh" | tee -a "$OUT"
  done
done
python3 - "$OUT" <<'PY'
import math, statistics, sys
# 97.5 % quantiles of Student's t by degrees of freedom (then ~1.96).
T975 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26,
        10: 2.23, 12: 2.18, 15: 2.13, 20: 2.09, 30: 2.04}
def t975(df):
    for k in sorted(T975):
        if df <= k:
            return T975[k]
    return 1.96
runs = {}  # (workload, figure, round, mode) -> [values]
round_ = None
for line in open(sys.argv[1]):
    if line.startswith("# round="):
        round_ = int(line.split()[1].split("=")[1])
        continue
    kv = dict(p.split("=", 1) for p in line.split() if "=" in p)
    if "workload" not in kv or "inspect" not in kv:
        continue
    for name in ("msgs_per_s", "p50_us", "p99_us", "p999_us"):
        if name in kv:
            runs.setdefault((kv["workload"], name, round_, kv["inspect"]), []).append(float(kv[name]))
figures = sorted({(w, n) for (w, n, _, _) in runs})
for w, name in figures:
    all_off = [v for (ww, nn, r, m), vs in runs.items() if (ww, nn, m) == (w, name, "0") for v in vs]
    all_on = [v for (ww, nn, r, m), vs in runs.items() if (ww, nn, m) == (w, name, "1") for v in vs]
    ratios = []
    for r in sorted({r for (ww, nn, r, _) in runs if (ww, nn) == (w, name)}):
        off, on = runs.get((w, name, r, "0")), runs.get((w, name, r, "1"))
        if off and on:
            ratios.append(statistics.median(on) / statistics.median(off) - 1)
    if not all_off or not all_on or not ratios:
        continue
    mean = statistics.mean(ratios)
    half = t975(len(ratios) - 1) * statistics.stdev(ratios) / math.sqrt(len(ratios)) \
        if len(ratios) > 1 else float("nan")
    print(f"{w} {name}: off median {statistics.median(all_off):.0f} (n={len(all_off)}) "
          f"on median {statistics.median(all_on):.0f} (n={len(all_on)}) "
          f"paired change {100 * mean:+.2f}% 95% CI [{100 * (mean - half):+.2f}%, "
          f"{100 * (mean + half):+.2f}%] over {len(ratios)} rounds")
PY

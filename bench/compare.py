#!/usr/bin/env python3
"""ActorMQ against its peers: one row per workload, the issue-8 goals beside it.

usage: compare.py FILE... [--max-other 10]
FILE: result lines of ../shared/bench (peer=... workload=... key=value). Lines whose cpu_other_pct
exceeds --max-other (another process competed for the cores) are dropped and counted. Each figure
is the median over the remaining repeats, "n=" how many, "other" the median cpu_other_pct. A peer's best variant counts (e.g. Redis
W3 XREAD by offset beats XREADGROUP); ours is shown per variant (W3 copy and stream).
"""
import statistics
import sys

OURS = "actormq"
# workload -> (metric, higher_is_better, goal text)
HEADLINE = {
    "W1": ("msgs_per_s", True, ">= 2x best peer"),
    "W2": ("msgs_per_s", True, ">= 2x best peer"),
    "W3": ("msgs_per_s", True, ">= 2M msgs/s and >= best peer"),
    "W4": ("p99_us", False, "p99 <= best peer, p99.9 <= 2000 us"),
    "W5": ("msgs_per_s", True, ">= 2x Redis appendfsync always"),
}


def parse(line):
    return dict(tok.split("=", 1) for tok in line.split() if "=" in tok)


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fmt(v, metric):
    if v is None:
        return "—"
    if metric.endswith("_us"):
        return f"{v:.0f} µs" if v < 1000 else f"{v / 1000:.2f} ms"
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.0f}k"


def main():
    args = sys.argv[1:]
    max_other = 10.0
    if "--max-other" in args:
        i = args.index("--max-other")
        max_other = float(args[i + 1])
        del args[i : i + 2]
    runs, dropped, seen = {}, {}, set()
    for path in args:
        for line in open(path):
            if not line.startswith("peer="):
                continue
            d = parse(line)
            if d.get("workload") not in HEADLINE or d.get("status"):
                continue
            variant = d.get("mode") or d.get("consumer") or ""
            key = (d["peer"], d["workload"], variant)
            seen.add(d["peer"])
            other = num(d.get("cpu_other_pct"))
            if other is not None and other > max_other:
                dropped[key] = dropped.get(key, 0) + 1
                continue
            runs.setdefault(key, []).append(d)

    def med(rows, k):
        vals = [num(r.get(k)) for r in rows if num(r.get(k)) is not None]
        return statistics.median(vals) if vals else None

    peers = sorted(p for p in seen if p != OURS)
    print("| workload | metric | " + " | ".join(peers) + " | ActorMQ | ours / best peer | goal | met |")
    print("|" + " --- |" * (len(peers) + 6))
    for wl, (metric, higher, goal) in HEADLINE.items():
        best = None
        cells = []
        for p in peers:
            variants = [(v, rows) for (pp, w, v), rows in runs.items() if pp == p and w == wl]
            if wl == "W5" and p != "redis":
                variants = []  # the W5 goal is against Redis appendfsync always
            vals = [(med(rows, metric), v, len(rows)) for v, rows in variants if med(rows, metric) is not None]
            if not vals:
                cells.append("—")
                continue
            v, var, n = (max if higher else min)(vals, key=lambda t: t[0])
            extra = f" p99.9 {fmt(med(dict(variants)[var], 'p999_us'), 'p999_us')}" if wl == "W4" else ""
            other = med(dict(variants)[var], "cpu_other_pct")
            busy = f", other {other:.0f}%" if other is not None else ""
            cells.append(f"{fmt(v, metric)}{extra} ({var + ', ' if var else ''}n={n}{busy})")
            if best is None or (v > best if higher else v < best):
                best = v
        ours = [(v, rows) for (pp, w, v), rows in runs.items() if pp == OURS and w == wl] or [("", [])]
        for var, rows in ours:
            o = med(rows, metric)
            p999 = med(rows, "p999_us")
            ratio = "—"
            met = "—"
            if o is not None and best:
                r = o / best if higher else best / o
                ratio = f"{r:.2f}×"
                if wl in ("W1", "W2", "W5"):
                    met = "yes" if o >= 2 * best else "no"
                elif wl == "W3":
                    met = "yes" if o >= 2e6 and o >= best else "no"
                elif wl == "W4":
                    met = "yes" if o <= best and p999 is not None and p999 <= 2000 else "no"
            extra = f" p99.9 {fmt(p999, 'p999_us')}" if wl == "W4" else ""
            drop = dropped.get((OURS, wl, var), 0)
            other = med(rows, "cpu_other_pct")
            busy = f", other {other:.0f}%" if other is not None else ""
            ours_cell = f"{fmt(o, metric)}{extra} ({var + ', ' if var else ''}n={len(rows)}{busy}" + (
                f", {drop} dropped)" if drop else ")")
            print(f"| {wl} | {metric} | " + " | ".join(cells) + f" | {ours_cell} | {ratio} | {goal} | {met} |")
    if dropped:
        print("\ndropped (cpu_other_pct > %g): " % max_other
              + ", ".join(f"{p} {w} {v}".strip() + f" ×{n}" for (p, w, v), n in dropped.items()))


if __name__ == "__main__":
    main()

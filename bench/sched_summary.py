#!/usr/bin/env python3
"""Summarizes `perf script` output of sched:sched_wakeup and sched:sched_switch, recorded
system-wide, for the threads of some processes: per thread, how often it is woken, how long
from its wake-up to running (the hand-off's latency), how long it runs each time, and its CPU a
message; then who wakes whom. Usage:
  sched_summary.py PERF_SCRIPT_OUTPUT MESSAGES NAME=PID [NAME=PID ...]
MESSAGES is how many messages the traced span carried (rate x seconds); each NAME=PID names a
process whose threads (/proc/PID/task, read by the caller into PID.tids: "tid comm" lines) are
reported. docs/benchmarks.md, "W4: where a message's time goes"."""
import collections
import re
import sys

EVENT = re.compile(r'^\s*(\S.*?)\s+(\d+)(?:/(\d+))?\s+\[(\d+)\]\s+([\d.]+):\s+sched:(sched_\w+):\s*(.*)$')
WAKE = re.compile(r'comm=.* pid=(\d+) prio=')
SWITCH = re.compile(r'prev_comm=.* prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> '
                    r'next_comm=.* next_pid=(\d+) next_prio=')


def pct(xs, p):
    if not xs:
        return float('nan')
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))]


def main():
    path, messages = sys.argv[1], int(sys.argv[2])
    names = {}  # tid -> "proc/comm"
    for arg in sys.argv[3:]:
        proc, pid = arg.split('=')
        with open(pid + '.tids') as f:
            for line in f:
                tid, comm = line.split(maxsplit=1)
                names[int(tid)] = '%s/%s' % (proc, comm.strip())
    woken_at = {}                      # tid -> time of its pending wake-up
    running_since = {}                 # tid -> time it was switched in
    wake_lat = collections.defaultdict(list)
    runs = collections.defaultdict(list)
    involuntary = collections.Counter()
    wakers = collections.Counter()     # (waker, wakee)
    first = last = None
    with open(path) as f:
        for line in f:
            m = EVENT.match(line)
            if not m:
                continue
            tid = int(m.group(3) or m.group(2))  # perf prints the thread's id (pid/tid with -F)
            t, kind, rest = float(m.group(5)), m.group(6), m.group(7)
            first = t if first is None else first
            last = t
            if kind in ('sched_wakeup', 'sched_waking'):
                w = WAKE.search(rest)
                if not w:
                    continue
                wakee = int(w.group(1))
                if wakee in names:
                    woken_at.setdefault(wakee, t)
                    waker = names.get(tid, 'other' if tid else 'idle/irq')
                    wakers[(waker, names[wakee])] += 1
            elif kind == 'sched_switch':
                s = SWITCH.search(rest)
                if not s:
                    continue
                prev, state, nxt = int(s.group(1)), s.group(2), int(s.group(3))
                if prev in running_since:
                    runs[prev].append(t - running_since.pop(prev))
                    if state.startswith('R'):
                        involuntary[prev] += 1
                if nxt in names:
                    running_since[nxt] = t
                    if nxt in woken_at:
                        wake_lat[nxt].append(t - woken_at.pop(nxt))
    span = (last - first) if first is not None else 0
    print('# traced %.3f s, %d messages' % (span, messages))
    print('%-34s %9s %9s %9s %9s %9s %10s %9s' % (
        'thread', 'wakes/msg', 'wake p50', 'wake p90', 'run p50', 'run p90', 'cpu/msg', 'preempt'))
    for tid in sorted(names, key=lambda x: -sum(runs.get(x, []))):
        if not runs.get(tid) and not wake_lat.get(tid):
            continue
        wl = [x * 1e6 for x in wake_lat.get(tid, [])]
        rl = [x * 1e6 for x in runs.get(tid, [])]
        print('%-34s %9.2f %7.1fus %7.1fus %7.1fus %7.1fus %8.1fus %9.2f' % (
            names[tid][:34], len(wl) / messages, pct(wl, 50), pct(wl, 90), pct(rl, 50),
            pct(rl, 90), sum(rl) / messages, involuntary[tid] / messages))
    print('\n# wake-ups a message, waker -> woken (top 30)')
    for (a, b), n in wakers.most_common(30):
        print('%6.2f  %-34s -> %s' % (n / messages, a[:34], b))


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Summarizes `perf script` output of sched:sched_wakeup events recorded with call stacks:
wake-ups counted by waker thread, woken thread and the first frame of ActorMQ's own code on the
waker's stack (else CAF's entry point). Usage: wakers_summary.py PERF_SCRIPT_OUTPUT [TOP]."""
import collections
import re
import sys


def key_of(frames):
    ours = [f for f in frames if 'actormq' in f and 'kallsyms' not in f]
    caf = [f for f in frames if 'libcaf' in f]
    if ours:
        k = ours[0]
    elif len(caf) >= 3:
        k = caf[-3]
    elif caf:
        k = caf[0]
    else:
        k = frames[-1] if frames else '?'
    k = re.sub(r'^\s*[0-9a-f]+ ', '', k)
    return re.sub(r'\(/.*\)$', '', k)[:150]


def main():
    counts = collections.Counter()
    event = None
    with open(sys.argv[1]) as f:
        for line in f:
            if not line.startswith(('\t', ' ')) and 'sched_wakeup' in line:
                if event:
                    counts[(event[0], event[1], key_of(event[2]))] += 1
                woken = re.search(r'comm=(\S+)', line)
                event = (line.split()[0], woken.group(1) if woken else '?', [])
            elif line.strip() and event:
                event[2].append(line.strip())
    if event:
        counts[(event[0], event[1], key_of(event[2]))] += 1
    print('total', sum(counts.values()))
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    for (waker, woken, key), n in counts.most_common(top):
        print(f'{n:6d} {waker:>16} -> {woken:<16} {key}')


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""
critpath.py -- what a check --read-data would take on a quiet 2-core machine, from a perf profile
taken on a busy one (where wall time says more about the neighbours than about kura).

  perf record -e cpu-clock -F 999 -o check.data -- kura -q -r REPO check --read-data --no-record
  perf script -i check.data -F comm,tid,time,ip,dso > check.txt
  bench/critpath.py check.txt [CORES]

Samples are split at the first sample of a pool worker (any thread but the main one and
kura-prehash): before it, the key opens (Argon2id) and the metadata is read, on the main thread,
with kura-prehash beside it; after it, the pack pass, which keeps CORES busy. The estimate is
max(main, kura-prehash samples before) + (samples after) / CORES, in seconds at 999 Hz.
"""
import collections
import re
import sys

HZ = 999.0


def main():
    path = sys.argv[1]
    cores = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    rows = []
    pat = re.compile(r"\s*(\S+)\s+(\d+)\s+([\d.]+):\s+\S+\s+\((.*)\)")
    with open(path) as f:
        for line in f:
            m = pat.match(line)
            if m:
                rows.append((m.group(1), int(m.group(2)), float(m.group(3))))
    if not rows:
        sys.exit("critpath.py: no samples in %s (perf script -F comm,tid,time,ip,dso)" % path)
    main_tid = rows[0][1]
    # by tid: a thread's first samples may come before it is named
    prehash = {tid for c, tid, t in rows if c == "kura-prehash"}
    workers = [t for c, tid, t in rows if tid != main_tid and tid not in prehash]
    start = min(workers) if workers else float("inf")
    before = collections.Counter()
    after = 0
    for comm, tid, t in rows:
        if t < start:
            before["main" if tid == main_tid else "kura-prehash"] += 1
        else:
            after += 1
    serial = max(before.values()) if before else 0
    print("samples %d; before the pack pass: %s; in it: %d; estimate on %d quiet cores: %.2f s"
          % (len(rows), dict(before), after, cores, (serial + after / cores) / HZ))


if __name__ == "__main__":
    main()

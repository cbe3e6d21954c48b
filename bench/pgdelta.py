#!/usr/bin/env python3
"""pgdelta.py DIR STATE [PREFIX] -- the floor of an incremental backup of DIR: the bytes of DIR that changed
since the last call with the same STATE file, in 8 KiB blocks (PostgreSQL's page size), and what
they weigh compressed with `zstd -3`. A block counts as changed as pgblocks.py says. Prints
"changed_bytes zstd3_bytes files_changed prefix_changed_bytes" (the last: of the changed bytes,
those under the relative path PREFIX, e.g. pg_wal/; 0 without it) and rewrites STATE. The first call (no STATE) counts all."""
import subprocess
import sys
import threading

from pgblocks import BLOCK, changed as block_changed, digest, files as data_files, load_state, save_state

top, state = sys.argv[1], sys.argv[2]
prefix = sys.argv[3] if len(sys.argv) > 3 else None
old = load_state(state)
new = {}
changed = files = in_prefix = 0
z = subprocess.Popen(["zstd", "-3", "-T1", "-q", "-c"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
size = []
t = threading.Thread(target=lambda: size.append(sum(len(b) for b in iter(lambda: z.stdout.read(1 << 20), b""))))
t.start()
for p, rel in data_files(top):
    prev = old.get(rel, [])
    digs = []
    hit = False
    with open(p, "rb") as f:
        i = 0
        while True:
            b = f.read(BLOCK)
            if not b:
                break
            h = digest(b)
            digs.append(h)
            if block_changed(prev, i, h):
                changed += len(b)
                if prefix and rel.startswith(prefix):
                    in_prefix += len(b)
                z.stdin.write(b)
                hit = True
            i += 1
    files += hit
    new[rel] = digs
z.stdin.close()
t.join()
z.wait()
save_state(state, new)
print(changed, size[0], files, in_prefix)

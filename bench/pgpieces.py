#!/usr/bin/env python3
"""pgpieces.py DIR STATE -- what an incremental backup of DIR would store if every file were cut into
aligned pieces of one fixed size, each compressed alone with zstd -3 (as a backup tool compresses
each chunk): for pieces of 8, 16, 32, 64 KiB and 1 MiB, how many pieces changed since the last call
with the same STATE file (a piece changed when one of its 8 KiB blocks changed, as pgblocks.py says)
and what they weigh compressed, split by where
the file is (base/, global/, pg_wal/, other). Also the changed 8 KiB blocks themselves through one
zstd -3 stream (pgdelta.py's floor). The first call (no STATE) counts everything. Prints a TSV:
area, piece, pieces_changed, raw_bytes, zstd3_bytes. Needs libzstd (ctypes)."""
import ctypes
import ctypes.util
import sys

from pgblocks import BLOCK, changed as block_changed, digest, files, load_state, save_state

PIECES = (8192, 16384, 32768, 65536, 1 << 20)
zstd = ctypes.CDLL(ctypes.util.find_library("zstd") or "libzstd.so.1")
zstd.ZSTD_compressBound.restype = ctypes.c_size_t
zstd.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
zstd.ZSTD_compress.restype = ctypes.c_size_t
zstd.ZSTD_compress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
zstd.ZSTD_isError.argtypes = [ctypes.c_size_t]
zstd.ZSTD_isError.restype = ctypes.c_uint
out = ctypes.create_string_buffer(zstd.ZSTD_compressBound(1 << 20))


def zlen(b):
    n = zstd.ZSTD_compress(out, len(out), b, len(b), 3)
    if zstd.ZSTD_isError(n):
        raise SystemExit("zstd failed")
    return min(n, len(b))  # stored raw when zstd does not help


def area(rel):
    top = rel.split("/", 1)[0]
    return top if top in ("base", "global", "pg_wal") else "other"


top, state = sys.argv[1], sys.argv[2]
old = load_state(state)
new = {}
acc = {}  # (area, piece) -> [count, raw, zstd]
floor = {}  # area -> concatenated changed blocks' compressed size (one stream per file)
for p, rel in files(top):
    prev = old.get(rel, [])
    with open(p, "rb") as f:
        data = f.read()
    digs = [digest(data[i:i + BLOCK]) for i in range(0, len(data), BLOCK)]
    new[rel] = digs
    dirty = [block_changed(prev, i, h) for i, h in enumerate(digs)]
    if not any(dirty):
        continue
    a = area(rel)
    changed = b"".join(data[i * BLOCK:(i + 1) * BLOCK] for i, x in enumerate(dirty) if x)
    floor[a] = floor.get(a, 0) + zlen(changed) if len(changed) <= (1 << 20) else floor.get(a, 0) + sum(
        zlen(changed[k:k + (1 << 20)]) for k in range(0, len(changed), 1 << 20))
    for ps in PIECES:
        per = ps // BLOCK
        c = acc.setdefault((a, ps), [0, 0, 0])
        for k in range(0, len(digs), per):
            if any(dirty[k:k + per]):
                piece = data[k * BLOCK:k * BLOCK + ps]
                c[0] += 1
                c[1] += len(piece)
                c[2] += zlen(piece)
save_state(state, new)
print("area\tpiece\tpieces_changed\traw_bytes\tzstd3_bytes")
for a in sorted(floor):
    print(f"{a}\tfloor\t\t\t{floor[a]}")
for (a, ps), (c, r, z) in sorted(acc.items()):
    print(f"{a}\t{ps}\t{c}\t{r}\t{z}")

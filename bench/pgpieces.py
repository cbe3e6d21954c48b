#!/usr/bin/env python3
"""pgpieces.py DIR STATE -- what an incremental backup of DIR would store if every file were cut into
aligned pieces of one fixed size, each compressed alone with zstd -3 (as a backup tool compresses
each chunk): for pieces of 8, 16, 32, 64 KiB and 1 MiB, how many pieces changed since the last call
with the same STATE file (a piece changed when one of its 8 KiB blocks differs from the block at the
same offset of the same path last time, or is new) and what they weigh compressed, split by where
the file is (base/, global/, pg_wal/, other). Also the changed 8 KiB blocks themselves through one
zstd -3 stream (pgdelta.py's floor). The first call (no STATE) counts everything. Prints a TSV:
area, piece, pieces_changed, raw_bytes, zstd3_bytes. Needs libzstd (ctypes)."""
import ctypes
import ctypes.util
import hashlib
import os
import pickle
import sys

BLOCK = 8192
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
old = pickle.load(open(state, "rb")) if os.path.exists(state) else {}
new = {}
acc = {}  # (area, piece) -> [count, raw, zstd]
floor = {}  # area -> concatenated changed blocks' compressed size (one stream per file)
for d, _, names in os.walk(top):
    for n in sorted(names):
        p = os.path.join(d, n)
        if not os.path.isfile(p) or os.path.islink(p):
            continue
        rel = os.path.relpath(p, top)
        prev = old.get(rel, [])
        data = open(p, "rb").read()
        digs = [hashlib.blake2b(data[i:i + BLOCK], digest_size=16).digest() for i in range(0, len(data), BLOCK)]
        new[rel] = digs
        dirty = [i >= len(prev) or prev[i] != h for i, h in enumerate(digs)]
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
pickle.dump(new, open(state + ".tmp", "wb"))
os.replace(state + ".tmp", state)
print("area\tpiece\tpieces_changed\traw_bytes\tzstd3_bytes")
for a in sorted(floor):
    print(f"{a}\tfloor\t\t\t{floor[a]}")
for (a, ps), (c, r, z) in sorted(acc.items()):
    print(f"{a}\t{ps}\t{c}\t{r}\t{z}")

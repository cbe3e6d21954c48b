#!/usr/bin/env python3
"""pgref.py OLD NEW -- what a blob format with references would store of an incremental backup of a
data directory: the 8 KiB blocks of NEW that differ from the block at the same offset of the same
path in OLD (a copy of the directory as the last backup saw it), compressed with zstd -3 three ways:
all through one stream (pgdelta.py's floor), each alone (a chunk compressed alone, as kura's 16 KiB
pieces are today), and each with its old version as zstd's prefix dictionary (ZSTD_CCtx_refPrefix:
a blob stored as a difference against the blob it replaces; a new block has no old version and is
compressed alone). Prints a TSV by area (pg_wal, other): area, blocks, raw_bytes, stream_bytes,
alone_bytes, with_old_bytes. Needs libzstd (ctypes)."""
import ctypes
import ctypes.util
import os
import sys

from pgblocks import BLOCK, files

zstd = ctypes.CDLL(ctypes.util.find_library("zstd") or "libzstd.so.1")
zstd.ZSTD_compressBound.restype = ctypes.c_size_t
zstd.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
zstd.ZSTD_createCCtx.restype = ctypes.c_void_p
zstd.ZSTD_CCtx_setParameter.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
zstd.ZSTD_CCtx_refPrefix.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
zstd.ZSTD_compress2.restype = ctypes.c_size_t
zstd.ZSTD_compress2.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
                                ctypes.c_size_t]
zstd.ZSTD_isError.argtypes = [ctypes.c_size_t]
zstd.ZSTD_isError.restype = ctypes.c_uint
ZSTD_C_COMPRESSION_LEVEL = 100
cctx = zstd.ZSTD_createCCtx()
zstd.ZSTD_CCtx_setParameter(cctx, ZSTD_C_COMPRESSION_LEVEL, 3)
out = ctypes.create_string_buffer(zstd.ZSTD_compressBound(1 << 23))


def zlen(data, prefix=b""):
    """zstd -3 of data, with prefix as a dictionary for this one frame (a prefix lasts one frame)."""
    if prefix:
        zstd.ZSTD_CCtx_refPrefix(cctx, prefix, len(prefix))
    n = zstd.ZSTD_compress2(cctx, out, len(out), data, len(data))
    if zstd.ZSTD_isError(n):
        sys.exit("zstd failed")
    return n


old, new = sys.argv[1], sys.argv[2]
areas = {}
for path, rel in files(new):
    area = "pg_wal" if rel.startswith("pg_wal/") else "other"
    a = areas.setdefault(area, {"blocks": 0, "raw": 0, "alone": 0, "with_old": 0, "stream": 0, "batch": []})
    was = os.path.join(old, rel)
    with open(path, "rb") as f, open(was if os.path.isfile(was) else os.devnull, "rb") as g:
        while True:
            b, o = f.read(BLOCK), g.read(BLOCK)
            if not b:
                break
            if b == o:
                continue
            a["blocks"] += 1
            a["raw"] += len(b)
            a["alone"] += zlen(b)
            a["with_old"] += zlen(b, o)
            a["batch"].append(b)
            if len(a["batch"]) == 1024:  # the stream in 8 MiB frames: memory stays flat
                a["stream"] += zlen(b"".join(a["batch"]))
                a["batch"] = []
print("area\tblocks\traw_bytes\tstream_bytes\talone_bytes\twith_old_bytes")
for area, a in sorted(areas.items()):
    if a["batch"]:
        a["stream"] += zlen(b"".join(a["batch"]))
    print(f"{area}\t{a['blocks']}\t{a['raw']}\t{a['stream']}\t{a['alone']}\t{a['with_old']}")

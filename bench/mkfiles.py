#!/usr/bin/env python3
"""
mkfiles.py -- a deterministic tree of many small files (python3 stdlib only).

  mkfiles.py [--files 1000000] [--dirs 1000] [--seed 42] DIR

DIR (new or empty) gets DIRS leaf directories two levels deep (dept_NN/YYYY-MM, 50 leaves per
department) holding FILES/DIRS files each. File sizes are log-uniform from 100 B to 8 KiB
(mean ~1.8 KiB); 70 % are text (notes, HL7 messages, JSON forms: compress well), 30 % binary
(thumbnails, signed PDFs: incompressible). Every file starts with its own path, so no two files
are identical. The tree is a pure function of (files, dirs, seed); mtimes are those of creation.
"""
import argparse
import math
import os
import random
import sys
import time

WORDS = ("patient care ward nurse physician admitted discharge medication dose blood pressure heart rate "
         "glucose order result pending reviewed signed note follow-up clinic referral imaging report normal "
         "stable chest pain allergy none known history plan continue monitor labs daily consult team bed "
         "transfer shift handover the and of to in for on with was is be").split()
TEXT_KINDS = (("note", ".txt"), ("hl7", ".hl7"), ("form", ".json"), ("mail", ".eml"))
BIN_KINDS = (("thumb", ".jpg"), ("scan", ".pdf"))
POOL_BYTES = 4 << 20


def text_pool(seed):
    r = random.Random("%s:pool" % seed)
    out, n = [], 0
    while n < POOL_BYTES:
        line = " ".join(r.choice(WORDS) for _ in range(r.randint(6, 18))) + ".\n"
        out.append(line)
        n += len(line)
    return "".join(out).encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--files", type=int, default=1000000)
    ap.add_argument("--dirs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    if a.files < 1 or a.dirs < 1:
        sys.exit("mkfiles.py: --files and --dirs must be positive")
    if os.path.exists(a.dir) and os.listdir(a.dir):
        sys.exit("mkfiles.py: %s is not empty" % a.dir)
    t0 = time.time()
    pool = text_pool(a.seed)
    lo, hi = math.log(100), math.log(8192)
    total = 0
    made = 0
    for d in range(a.dirs):
        rel = "dept_%02d/%04d-%02d" % (d // 50, 2000 + (d % 50) // 12, (d % 50) % 12 + 1)
        path = os.path.join(a.dir, rel)
        os.makedirs(path, exist_ok=True)
        r = random.Random("%s:%d" % (a.seed, d))
        n = a.files // a.dirs + (1 if d < a.files % a.dirs else 0)
        for i in range(n):
            size = int(math.exp(r.uniform(lo, hi)))
            if r.random() < 0.7:
                kind, ext = TEXT_KINDS[r.randrange(len(TEXT_KINDS))]
                name = "%s_%06d%s" % (kind, i, ext)
                head = ("%s/%s\n" % (rel, name)).encode()
                off = r.randrange(POOL_BYTES - 8192)
                body = head + pool[off:off + max(0, size - len(head))]
            else:
                kind, ext = BIN_KINDS[r.randrange(len(BIN_KINDS))]
                name = "%s_%06d%s" % (kind, i, ext)
                head = ("%s/%s\n" % (rel, name)).encode()
                body = head + r.randbytes(max(0, size - len(head)))
            with open(os.path.join(path, name), "wb") as f:
                f.write(body)
            total += len(body)
        made += n
    print("# mkfiles seed=%d: %d files, %d dirs, %d bytes in %.1f s" % (
        a.seed, made, a.dirs, total, time.time() - t0))


if __name__ == "__main__":
    main()

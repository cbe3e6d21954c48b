#!/usr/bin/env python3
"""
detect_scenarios.py -- attacks and benign mass changes for bench/detect.sh (python3 stdlib only).

  detect_scenarios.py KIND [--seed N] [--day N] [--pct P] DIR

Attacks (what ransomware families are publicly reported to do; none renames unless said):
  partial     intermittent encryption, headers intact: files >= 64 KiB get every other 4 KiB block
              from 16 KiB on replaced by random bytes (LockBit 3 / BlackCat "skip-step"); smaller
              files get their first 4 KiB encrypted (the "fast" mode)
  inplace     every file fully encrypted in place, names kept, no note (no-rename variant)
  notes       only ransom notes: README_RESTORE.txt (a name not in kura's list) in every directory
  slow        --pct P percent of the not-yet-encrypted files encrypted in place (one day of a slow attack)
  half        mkdata-style encryption + rename to .locked + notes, stopped half-way (the backup ran mid-attack)
Benign (must never be flagged):
  dense       high-entropy but legitimate: 30 % of the office/PDF/image files re-saved (new body, valid
              header), plus new JPEG, ZIP, gzip, xz, zstd, 7z, gpg, age, openssl-enc and KeePass files
  archive     an archival job: every .log and HL7 file older than the newest year gzip'ed in place
              (x.log -> x.log.gz, original deleted), and documents/reports tar'ed into one .tar.gz
  migrate     a document migration / software update: every .rtf rewritten as new text under .txt
              (renamed), half of the text files rewritten in full
"""
import argparse
import gzip
import io
import os
import random
import sys
import tarfile

KiB = 1024
NOTE = (b"!!! ALL YOUR FILES HAVE BEEN ENCRYPTED !!!\nTo recover them download the Tor browser and visit "
        b"http://%s.onion/ . Pay 2 BTC in bitcoin. Your personal ID: %d\n")
SKIP = ("README_RESTORE.txt",)


def files(root):
    out = []
    for d, dirs, fs in os.walk(root):
        dirs.sort()
        for f in sorted(fs):
            p = os.path.join(d, f)
            if os.path.isfile(p) and not os.path.islink(p) and f not in SKIP:
                out.append(p)
    return out


def encrypt_all(r, p):
    n = os.path.getsize(p)
    with open(p, "r+b") as fh:
        fh.write(r.randbytes(n))


def partial(root, r):
    for p in files(root):
        n = os.path.getsize(p)
        with open(p, "r+b") as fh:
            if n >= 64 * KiB:
                for off in range(16 * KiB, n - 4 * KiB, 8 * KiB):
                    fh.seek(off)
                    fh.write(r.randbytes(4 * KiB))
            else:
                fh.write(r.randbytes(min(n, 4 * KiB)))


def notes(root, r):
    onion = "".join(r.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(56))
    vid = r.randrange(10 ** 9)
    for d, dirs, _ in os.walk(root):
        dirs.sort()
        with open(os.path.join(d, "README_RESTORE.txt"), "wb") as fh:
            fh.write(NOTE % (onion.encode(), vid))


def slow(root, r, pct, day):
    state = os.path.join(root, ".slow-attack-done")  # the attacker's own bookkeeping, excluded below
    done = set(open(state).read().split("\n")) if os.path.exists(state) else set()
    todo = [p for p in files(root) if p not in done and not p.endswith(".slow-attack-done")]
    n = max(1, int(len(files(root)) * pct / 100.0))
    pick = r.sample(todo, min(n, len(todo)))
    for p in pick:
        encrypt_all(r, p)
        done.add(p)
    with open(state, "w") as fh:
        fh.write("\n".join(sorted(x for x in done if x)))
    print(len(done))


def half(root, r):
    fs = files(root)
    for p in fs[: len(fs) // 2]:
        encrypt_all(r, p)
        os.rename(p, p + ".locked")
    notes(root, r)


def dense(root, r):
    heads = {".jpg": b"\xff\xd8\xff\xe0\0\x10JFIF\0", ".zip": b"PK\x03\x04\x14\0\0\0\x08\0",
             ".gz": b"\x1f\x8b\x08\0", ".xz": b"\xfd7zXZ\0", ".zst": b"\x28\xb5\x2f\xfd",
             ".7z": b"7z\xbc\xaf\x27\x1c\0\x04", ".gpg": b"\x85\x01\x0c\x03", ".age": b"age-encryption.org/v1\n",
             ".enc": b"Salted__", ".kdbx": b"\x03\xd9\xa2\x9a\x67\xfb\x4b\xb5",
             ".docx": b"PK\x03\x04\x14\0\x06\0\x08\0", ".pdf": b"%PDF-1.7\n"}
    for p in files(root):
        ext = os.path.splitext(p)[1]
        if ext in (".docx", ".xlsx", ".pdf", ".jpg", ".png") and r.random() < 0.3:
            n = os.path.getsize(p)
            with open(p, "r+b") as fh:
                fh.seek(min(64, n))
                fh.write(r.randbytes(max(0, n - 64)))
    dirs = sorted({os.path.dirname(p) for p in files(root)})
    for i in range(max(40, len(dirs))):
        ext = list(heads)[i % len(heads)]
        d = dirs[i % len(dirs)]
        with open(os.path.join(d, "user_%04d%s" % (i, ext)), "wb") as fh:
            fh.write(heads[ext] + r.randbytes(r.randrange(8 * KiB, 256 * KiB)))


def archive(root, r):
    for p in files(root):
        if (p.endswith(".log") or p.endswith(".hl7") or ".log." in p) and "/2025/" not in p:
            with open(p, "rb") as fh, gzip.open(p + ".gz", "wb", compresslevel=6) as out:
                out.write(fh.read())
            os.unlink(p)
    rep = os.path.join(root, "documents", "reports")
    if os.path.isdir(rep):
        with tarfile.open(os.path.join(root, "documents", "reports-archive.tar.gz"), "w:gz") as t:
            t.add(rep, arcname="reports")
        for p in files(rep):
            os.unlink(p)


def migrate(root, r):
    for p in files(root):
        if p.endswith(".rtf"):
            with open(p, "rb") as fh:
                body = fh.read()
            text = body.replace(b"{", b"").replace(b"}", b"").replace(b"\\par", b"\n")
            with open(p[:-4] + ".txt", "wb") as fh:
                fh.write(text)
            os.unlink(p)
        elif p.endswith((".txt", ".csv", ".xml", ".json", ".md")) and r.random() < 0.5:
            with open(p, "rb") as fh:
                body = fh.read()
            with open(p, "wb") as fh:
                fh.write(body.upper())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=("partial", "inplace", "notes", "slow", "half", "dense", "archive", "migrate"))
    ap.add_argument("dir")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--day", type=int, default=1)
    ap.add_argument("--pct", type=float, default=2.0)
    a = ap.parse_args()
    r = random.Random("%d/%s/%d" % (a.seed, a.kind, a.day))
    if a.kind == "partial":
        partial(a.dir, r)
    elif a.kind == "inplace":
        for p in files(a.dir):
            encrypt_all(r, p)
    elif a.kind == "notes":
        notes(a.dir, r)
    elif a.kind == "slow":
        slow(a.dir, r, a.pct, a.day)
    elif a.kind == "half":
        half(a.dir, r)
    elif a.kind == "dense":
        dense(a.dir, r)
    elif a.kind == "archive":
        archive(a.dir, r)
    elif a.kind == "migrate":
        migrate(a.dir, r)


if __name__ == "__main__":
    main()

# SPDX-License-Identifier: Apache-2.0
"""repo_damage_fuzz.py - the damage half of the repository fuzzer
(tests/e2e/repo_damage_fuzz.sh).

    python3 repo_damage_fuzz.py REPO SIBLING BACKUP_KEY SNAPLIST SEED N
    python3 repo_damage_fuzz.py compare SRC RESTORED [SRC RESTORED...]

REPO is a fresh copy of the pristine repository; this applies N random
damages to it, drawn from random.Random(SEED), and prints what it did and
what the driver must then expect, one fact a line:

    DAMAGE text        one line per damage, for the failure report
    UNTOUCHED id       a snapshot none of whose files was damaged
    NAME hex           a damaged file that `kura check` must be able to name
                       (none when the config or key file was damaged)
    CHECK 0|1          1: `kura check --read-data` must exit non-zero
    BADSNAP name       a snapshot file that no longer hashes to its name or
                       was junk from the start: `snapshots` must list it
                       as damaged
    INTACT 0|1         1: no pack, config or key file was damaged (a new
                       backup must then be saved whole)

A snapshot needs its own file and the packs its plaintext header lists
(docs/FORMAT.md, "Snapshot files"), and every snapshot needs the config and
the key file.  Damage to an index file or an added junk file touches no
snapshot: readers must survive those, with `kura repair index` at most.

Targets are picked by their role, not their (random) name: snapshots in the
order they were taken (SNAPLIST), packs and index files by the snapshots
that need them, then size.  So SEED=n on another run of the fuzzer picks
the same kind of file for the same damage, and the failure report of the
run that found it holds the exact names.

SIBLING is a repository of the same key that backed up the first tree on
its own: its files are authentic but foreign (other pack names).
BACKUP_KEY is a backup key file: its index_key lets this script write what
a stolen backup key can upload, index files that authenticate but repeat
another or lie (ids moved to other blobs' locations, records moved to other
packs) and packs whose blobs authenticate under ids that are not their
contents'.
Forging needs python3-cryptography and libsodium; without them that damage
is replaced by junk.

`compare` prints every difference between source trees and their restored
copies (type, mode, owner, nanosecond mtime, content, link target, hard
links; the roots' own metadata aside) and exits 1 if there is one: one
process for all the restores of an iteration, where lib.sh's same_contents
costs several per tree.
"""
import hashlib
import os
import random
import stat
import struct
import sys

MAGIC = {"data": b"KURAPACK", "index": b"KURAINDX", "snapshots": b"KURASNAP",
         "keys": b"KURAKEY\0", "config": b"KURACONF"}


def sha(b):
    return hashlib.sha256(b).hexdigest()


class Repo:
    def __init__(self, root, snaplist):
        self.root = root
        self.snaps = snaplist                      # ids, oldest first
        self.needs = {}                            # snapshot id -> set of pack names
        for s in snaplist:
            with open(self.path("snapshots", s), "rb") as f:
                b = f.read()
            p = struct.unpack_from("<I", b, 20)[0]
            self.needs[s] = {b[24 + 32 * i:56 + 32 * i].hex() for i in range(p)}
        self.files = {t: self._list(t) for t in MAGIC}

    def path(self, typ, name):
        if typ == "data":
            return os.path.join(self.root, "data", name[:2], name)
        return os.path.join(self.root, typ, name)

    def _list(self, typ):
        names = []
        for dirpath, _, files in os.walk(os.path.join(self.root, typ)):
            names += files
        return names

    def users(self, pack):
        return tuple(i for i, s in enumerate(self.snaps) if pack in self.needs[s])

    def ordered(self, typ):
        """The original files of a type that still exist, in a stable order
        (see the top).  Added files are never damaged further: what check
        must find stays what was added."""
        names = [n for n in self.files[typ] if os.path.exists(self.path(typ, n))]
        size = lambda n: os.path.getsize(self.path(typ, n))
        if typ == "snapshots":
            rank = {s: i for i, s in enumerate(self.snaps)}
            return sorted(names, key=lambda n: (rank.get(n, 99), n))
        if typ == "data":
            return sorted(names, key=lambda n: (self.users(n), size(n), n))
        if typ == "index":
            def key(n):
                with open(self.path(typ, n), "rb") as f:
                    b = f.read()
                try:
                    p = struct.unpack_from("<I", b, 44)[0]
                    packs = [b[48 + 32 * i:80 + 32 * i].hex() for i in range(min(p, 4096))]
                    first = min((self.users(x) for x in packs), default=())
                except struct.error:
                    first = (99,)
                return (first, size(n), n)
            return sorted(names, key=key)
        return sorted(names)

    def role(self, typ, name):
        if typ == "snapshots" and name in self.snaps:
            return "snapshot #%d" % (self.snaps.index(name) + 1)
        if typ == "data":
            u = self.users(name)
            return "pack of snapshots %s" % (",".join("#%d" % (i + 1) for i in u) or "none")
        return typ


class Damager:
    def __init__(self, repo, sibling, backup_key, rnd):
        self.repo, self.sibling, self.rnd = repo, sibling, rnd
        with open(backup_key, "rb") as f:
            self.index_key = f.read()[108:140]
        self.log, self.names = [], set()
        self.touched, self.check = set(), False
        self.all_touched = False
        self.intact = True
        self.deleted_packs, self.damaged_snaps, self.bad_snaps = set(), set(), set()
        self.foreign_snaps = []

    # ---- bookkeeping ----
    def hit(self, typ, name, detectable=True):
        """A file a snapshot or check may need was damaged."""
        if typ in ("data", "config", "keys"):
            self.intact = False
        if typ == "snapshots":
            self.touched.add(name)
            self.damaged_snaps.add(name)
        elif typ == "data":
            self.touched.update(s for s in self.repo.snaps if name in self.repo.needs[s])
        elif typ in ("config", "keys"):
            self.all_touched = True
        if detectable:
            self.names.add(name)

    def finish(self):
        # a snapshot file that is still whole still lists its packs
        listed = set()
        for snap in self.repo.snaps:
            if snap not in self.damaged_snaps:
                listed |= self.repo.needs[snap]
        self.names |= self.deleted_packs & listed
        for name, packs in self.foreign_snaps:
            missing = [p for p in packs if not os.path.exists(self.repo.path("data", p))]
            if missing:
                self.names.update([name] + missing)
        self.check = bool(self.names) or self.all_touched

    def pick_type(self, weights):
        types = [t for t in weights if self.repo.ordered(t)]
        return self.rnd.choices(types, [weights[t] for t in types])[0]

    def pick(self, typ):
        return self.rnd.choice(self.repo.ordered(typ))

    def say(self, typ, name, what):
        self.log.append("%s %s (%s) %s" % (typ, name, self.repo.role(typ, name), what))

    # ---- damages to existing files ----
    STORED = {"data": 4, "index": 3, "snapshots": 3, "config": 0.2, "keys": 0.2}

    def truncate(self):
        t = self.pick_type(self.STORED)
        n = self.pick(t)
        p = self.repo.path(t, n)
        size = os.path.getsize(p)
        new = self.rnd.choice([0, 1, 8, 12, 44, 124, size // 2, size - 1,
                               self.rnd.randrange(max(size, 1))])
        new = min(new, max(size - 1, 0))
        os.truncate(p, new)
        self.say(t, n, "truncated from %d to %d bytes" % (size, new))
        self.hit(t, n)
        if t == "snapshots":
            self.bad_snaps.add(n)

    def flip(self):
        t = self.pick_type(self.STORED)
        n = self.pick(t)
        p = self.repo.path(t, n)
        size = os.path.getsize(p)
        if size == 0:
            return self.delete_file(t, n)
        off = self.rnd.choice([0, 8, 12, 20, 24, 44, 48, 124, size - 1,
                               size - 12, self.rnd.randrange(size)])
        off = min(max(off, 0), size - 1)
        bit = self.rnd.randrange(8) if self.rnd.random() < 0.5 else None
        with open(p, "r+b") as f:
            f.seek(off)
            b = f.read(1)[0]
            nb = b ^ (1 << bit) if bit is not None else self.rnd.choice([x for x in range(256) if x != b])
            f.seek(off)
            f.write(bytes([nb]))
        self.say(t, n, "flipped byte %d of %d: 0x%02x -> 0x%02x" % (off, size, b, nb))
        self.hit(t, n)
        if t == "snapshots":
            self.bad_snaps.add(n)

    def delete(self):
        t = self.pick_type(self.STORED)
        self.delete_file(t, self.pick(t))

    def delete_file(self, t, n):
        os.unlink(self.repo.path(t, n))
        self.bad_snaps.discard(n)
        self.names.discard(n)           # earlier damage to it is gone with it
        self.say(t, n, "deleted")
        # A deleted index leaves its packs unindexed and a deleted snapshot
        # looks forgotten: neither is a problem check can see.  A deleted
        # pack is one while an undamaged snapshot lists it (finish()).
        self.hit(t, n, detectable=t not in ("index", "snapshots", "data"))
        if t == "data":
            self.deleted_packs.add(n)

    def swap(self):
        packs = self.repo.ordered("data")
        if len(packs) < 2:
            return self.flip()
        a, b = self.rnd.sample(packs, 2)
        pa, pb = self.repo.path("data", a), self.repo.path("data", b)
        tmp = pa + ".swap"
        os.rename(pa, tmp)
        os.rename(pb, pa)
        os.rename(tmp, pb)
        self.say("data", a, "swapped with %s (%s)" % (b, self.repo.role("data", b)))
        self.hit("data", a)
        self.hit("data", b)

    # ---- added files (junk), named by their own SHA-256 like real ones ----
    def add(self, typ, body, what, detectable=True):
        name = sha(body)
        p = self.repo.path(typ, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if os.path.exists(p):           # the same bytes are already there
            self.log.append("%s %s: %s (already present, no-op)" % (typ, name, what))
            return name
        with open(p, "wb") as f:
            f.write(body)
        self.log.append("added %s/%s: %s" % (typ, name, what))
        if detectable:
            self.names.add(name)
        return name

    def header(self, typ):
        return MAGIC[typ] + b"\x01\0\0\0"

    def junk(self):
        # writers can upload index, data and snapshot files (PROTOCOL.md)
        t = self.rnd.choices(["index", "data", "snapshots", "keys", "tmp"],
                             [3, 3, 3, 0.3, 0.5])[0]
        r = self.rnd
        kind = r.choice(["empty", "random", "header", "header+count", "other type", "prefix"])
        if t == "tmp":
            body = r.randbytes(r.randrange(1, 5000))
            name = sha(body)
            os.makedirs(os.path.join(self.repo.root, "tmp"), exist_ok=True)
            with open(os.path.join(self.repo.root, "tmp", name), "wb") as f:
                f.write(body)
            self.log.append("added tmp/%s: %d random bytes" % (name, len(body)))
            return
        if kind == "empty":
            body = b""
        elif kind == "random":
            body = r.randbytes(r.randrange(1, 3000))
        elif kind == "header":
            body = self.header(t if t in MAGIC else "index") + r.randbytes(r.randrange(0, 3000))
        elif kind == "header+count":
            # a plausible header: small counts and real-looking pack names
            packs = self.repo.ordered("data")
            k = r.randrange(1, 4)
            names = b"".join(bytes.fromhex(r.choice(packs)) for _ in range(k)) if packs else b""
            if t == "snapshots":
                body = (self.header(t) + struct.pack("<qI", r.randrange(1 << 62), k) + names
                        + r.randbytes(r.randrange(80, 400)))
            elif t == "index":
                body = (self.header(t) + r.randbytes(32) + struct.pack("<I", k) + names
                        + r.randbytes(r.randrange(0, 400)))
            else:
                body = (self.header("data") + r.randbytes(112) + r.randbytes(r.randrange(0, 400))
                        + struct.pack("<I", r.randrange(0, 600)) + b"KURAPEND")
        else:
            # a real file of another type, whole or cut, under this type
            others = [(o, n) for o in ("data", "index", "snapshots") if o != t
                      for n in self.repo.ordered(o)]
            o, n = r.choice(others)
            with open(self.repo.path(o, n), "rb") as f:
                body = f.read()
            if kind == "prefix" and body:
                body = body[:r.randrange(len(body))]
            kind = "%s of %s %s (%d bytes)" % (kind, o, n, len(body))
        # a junk pack is an unindexed pack to check: information, not a problem
        name = self.add(t, body, "junk, %s" % kind, detectable=(t in ("index", "snapshots")))
        if t == "snapshots":
            self.bad_snaps.add(name)

    def sibling_files(self):
        """Authentic files of the same key from another repository."""
        sib = Repo(self.sibling, [])
        r = self.rnd
        what = r.choice(["index", "index+packs", "snapshot", "pack"])
        if what.startswith("index"):
            n = r.choice(sib.files["index"])
            with open(sib.path("index", n), "rb") as f:
                body = f.read()
            p = struct.unpack_from("<I", body, 44)[0]
            packs = [body[48 + 32 * i:80 + 32 * i].hex() for i in range(p)]
            if what == "index+packs":
                for pk in packs:
                    with open(sib.path("data", pk), "rb") as f:
                        self.add("data", f.read(), "pack of the sibling repository",
                                 detectable=False)
            # its packs are absent (pruned, to a reader) or present and valid
            self.add("index", body, "index of the sibling repository (%d packs%s)"
                     % (p, ", copied too" if what == "index+packs" else ", absent"),
                     detectable=False)
        elif what == "snapshot":
            n = r.choice(sib.files["snapshots"])
            with open(sib.path("snapshots", n), "rb") as f:
                body = f.read()
            p = struct.unpack_from("<I", body, 20)[0]
            name = self.add("snapshots", body, "snapshot of the sibling repository (%d packs)" % p,
                            detectable=False)
            # damaged unless its packs come over too (finish())
            self.foreign_snaps.append((name, [body[24 + 32 * i:56 + 32 * i].hex()
                                              for i in range(p)]))
        else:
            n = r.choice(sib.files["data"])
            with open(sib.path("data", n), "rb") as f:
                self.add("data", f.read(), "pack of the sibling repository, unindexed",
                         detectable=False)

    # ---- authentic files made with the backup key's index_key ----
    def crypto(self):
        """AES-GCM and HKDF from python3-cryptography, crypto_box_seal from
        libsodium (what kura uses); None when either is missing."""
        try:   # imported here: it costs more than the rest of the script
            import ctypes
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            from cryptography.hazmat.primitives.kdf.hkdf import HKDF
            sodium = ctypes.CDLL("libsodium.so.23")
        except (ImportError, OSError):
            return None
        sodium.sodium_init()

        class C:
            @staticmethod
            def hkdf(salt, info):
                return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                            info=info).derive(self.index_key)

            @staticmethod
            def seal(key, nonce, plain, aad):
                return nonce + AESGCM(key).encrypt(nonce, plain, aad)

            @staticmethod
            def open(key, box, aad):
                return AESGCM(key).decrypt(box[:12], box[12:], aad)

            @staticmethod
            def seal_key(pk, key):
                out = ctypes.create_string_buffer(80)
                sodium.crypto_box_seal(out, key, ctypes.c_ulonglong(32), pk)
                return out.raw
        return C

    def index_records(self, c, name):
        """The pack names and 52-byte records of an index file, or None."""
        with open(self.repo.path("index", name), "rb") as f:
            b = f.read()
        try:
            p = struct.unpack_from("<I", b, 44)[0]
            aad = 48 + 32 * p
            plain = c.open(c.hkdf(b[12:44], b"kura index v1"), b[aad:], b[:aad])
        except Exception:
            return None                 # damaged already
        count = struct.unpack_from("<I", plain, 0)[0]
        names = [b[48 + 32 * i:80 + 32 * i] for i in range(p)]
        return names, [bytearray(plain[4 + 52 * i:56 + 52 * i]) for i in range(count)]

    def write_index(self, c, names, recs, what, detectable=True):
        salt = self.rnd.randbytes(32)
        head = b"KURAINDX\x01\0\0\0" + salt + struct.pack("<I", len(names)) + b"".join(names)
        body = head + c.seal(c.hkdf(salt, b"kura index v1"), self.rnd.randbytes(12),
                             struct.pack("<I", len(recs)) + b"".join(bytes(x) for x in recs),
                             head)
        # check must name this file: the packs it lies about are intact
        self.add("index", body, what, detectable)

    def forged_index(self):
        """Index files that authenticate (a stolen backup key can write
        them): an honest duplicate under another name, ids moved to other
        blobs' locations, locations moved to other packs, or ids pointed
        into a new pack whose blobs authenticate but hold other bytes."""
        c = self.crypto()
        if not c:
            return self.junk()
        n = self.pick("index")
        got = self.index_records(c, n)
        if not got or len(got[1]) < 2:
            return self.junk()
        names, recs = got
        modes = ["duplicate", "ids moved", "other packs", "poisoned pack"]
        only = [m for m in os.environ.get("FORGE", "").split(",") if m in modes]
        mode = self.rnd.choice(only or modes)
        if mode == "duplicate":
            self.write_index(c, names, recs, "duplicate of index %s, new salt" % n, False)
        elif mode == "ids moved":
            ids = [bytes(x[8:40]) for x in recs]
            shift = self.rnd.randrange(1, len(recs))   # every id on another blob
            for i, x in enumerate(recs):
                x[8:40] = ids[(i + shift) % len(recs)]
            self.write_index(c, names, recs, "forged index: the ids of index %s moved %d on"
                             % (n, shift))
        elif mode == "other packs":
            others = [bytes.fromhex(x) for x in self.repo.ordered("data")
                      if bytes.fromhex(x) not in names]
            if len(others) < len(names):
                return self.junk()
            new = self.rnd.sample(others, len(names))
            self.write_index(c, new, recs, "forged index: index %s's records in packs %s"
                             % (n, ",".join(x.hex()[:8] for x in new)))
        else:
            self.poisoned_pack(c, n, recs)

    def poisoned_pack(self, c, n, recs):
        try:
            cfg = self.repo.ordered("config")[0]
            with open(self.repo.path("config", cfg), "rb") as f:
                pk = f.read()[44:76]
        except (IndexError, OSError):
            return self.junk()
        r = self.rnd
        chosen = [x for x in r.sample(recs, min(len(recs), 6))
                  if 0 < struct.unpack_from("<I", x, 48)[0] <= 1 << 20]
        if not chosen or len(pk) != 32:
            return self.junk()
        data_key, salt = r.randbytes(32), r.randbytes(32)
        header = b"KURAPACK\x01\0\0\0" + salt + c.seal_key(pk, data_key)
        blobs, entries, off = [], [], len(header)
        for x in chosen:
            typ, bid, raw = x[4], bytes(x[8:40]), struct.unpack_from("<I", x, 48)[0]
            stored = c.seal(data_key, r.randbytes(12), r.randbytes(raw), bytes([typ]) + bid)
            blobs.append(stored)
            entries.append(struct.pack("<BBH", typ, 0, 0) + bid
                           + struct.pack("<III", off, len(stored), raw))
            off += len(stored)
        trailer = c.seal(c.hkdf(salt, b"kura pack trailer v1"), r.randbytes(12),
                         struct.pack("<I", len(entries)) + b"".join(entries), header)
        pack = header + b"".join(blobs) + trailer + struct.pack("<I", len(trailer)) + b"KURAPEND"
        name = self.add("data", pack, "poisoned pack: %d blobs of index %s with the right ids "
                        "and authentic boxes around random bytes" % (len(entries), n))
        self.write_index(c, [bytes.fromhex(name)],
                         [bytearray(struct.pack("<I", 0)) + e for e in entries],
                         "index of the poisoned pack %s" % name)

    KINDS = [("truncate", 3), ("flip", 3), ("delete", 2), ("swap", 1),
             ("junk", 4), ("sibling_files", 2), ("forged_index", 2)]

    def run(self, n):
        only = os.environ.get("KINDS", "").split(",")
        kinds, weights = zip(*[k for k in self.KINDS if k[0] in only or only == [""]])
        for _ in range(n):
            getattr(self, self.rnd.choices(kinds, weights)[0])()


def listing(root):
    """Every entry below root with what a restore must reproduce: type,
    mode, owner, nanosecond mtime, content hash or link target, and which
    names share an inode (hard links).  The root's own metadata is left out."""
    out, inodes = {}, {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            kind = stat.S_IFMT(st.st_mode)
            e = [kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid]
            if stat.S_ISREG(kind):
                with open(p, "rb") as f:
                    e.append(hashlib.sha256(f.read()).hexdigest())
                if st.st_nlink > 1:
                    inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            elif stat.S_ISLNK(kind):
                e.append(os.readlink(p))
            e.append(st.st_mtime_ns)
            out[rel] = e
    links = sorted(sorted(v) for v in inodes.values())
    return out, links


def compare(pairs):
    """Print the differences between each source and its restored copy."""
    bad = 0
    for src, dst in zip(pairs[::2], pairs[1::2]):
        if not os.path.isdir(dst):
            print("%s: missing (copy of %s)" % (dst, src))
            bad += 1
            continue
        (a, la), (b, lb) = listing(src), listing(dst)
        for rel in sorted(set(a) | set(b)):
            if a.get(rel) != b.get(rel):
                print("%s: %s, restored %s" % (os.path.join(src, rel), a.get(rel), b.get(rel)))
                bad += 1
        if la != lb:
            print("%s: hard links %s, restored %s" % (src, la, lb))
            bad += 1
    return 1 if bad else 0


def main():
    if sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2:]))
    repo_dir, sibling, backup_key, snaplist, seed, n = sys.argv[1:7]
    with open(snaplist) as f:
        snaps = f.read().split()
    repo = Repo(repo_dir, snaps)
    d = Damager(repo, sibling, backup_key, random.Random(int(seed)))
    d.run(int(n))
    d.finish()
    for line in d.log:
        print("DAMAGE", line)
    if not d.all_touched:
        for s in snaps:
            if s not in d.touched:
                print("UNTOUCHED", s)
    if not d.all_touched:     # without its config or key the repository cannot be opened
        for name in sorted(d.names):
            print("NAME", name)
    for name in sorted(d.bad_snaps):
        print("BADSNAP", name)
    print("CHECK", 1 if d.check else 0)
    print("INTACT", 1 if d.intact else 0)


if __name__ == "__main__":
    main()

"""pgblocks.py -- what pgdelta.py and pgpieces.py share (imported, not run): the regular files of a
data directory, cut into 8 KiB blocks (PostgreSQL's page size), and the STATE file that keeps each
block's digest from the last call, so that both say "changed" of the same blocks: a block changed
when its BLAKE2b digest differs from the block at the same offset of the same path last time, or is
new. No STATE file (the first call): every block is new."""
import hashlib
import os
import pickle

BLOCK = 8192


def files(top):
    """(path, path relative to top) of every regular file below top, symlinks left out."""
    for d, _, names in os.walk(top):
        for n in sorted(names):
            p = os.path.join(d, n)
            if os.path.isfile(p) and not os.path.islink(p):
                yield p, os.path.relpath(p, top)


def digest(block):
    return hashlib.blake2b(block, digest_size=16).digest()


def changed(prev, i, h):
    """Block i with digest h against prev, the file's digests last time."""
    return i >= len(prev) or prev[i] != h


def load_state(state):
    """{relative path: [block digests]} of the last call, {} when there was none."""
    if not os.path.exists(state):
        return {}
    with open(state, "rb") as f:
        return pickle.load(f)


def save_state(state, digests):
    """Replace STATE with this call's digests (whole or not at all)."""
    with open(state + ".tmp", "wb") as f:
        pickle.dump(digests, f)
    os.replace(state + ".tmp", state)

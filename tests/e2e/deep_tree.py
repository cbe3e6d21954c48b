#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""deep_tree.py - helpers for deep_tree.sh: trees deeper than PATH_MAX allows
to name, built and compared through directory fds (mkdir -p, diff -r and
rsync stop at PATH_MAX; Python's os.walk at its recursion limit).

  make ROOT LEVELS MARK...   ROOT/d/d/... LEVELS deep; a file f at each MARK
                             level and at the bottom; at the first MARK also
                             a hard link h to f and a symlink s -> f
  chain ROOT LEVELS NAMELEN MARK...  the same with directory names of
                             NAMELEN bytes (ddd...) instead of d
  compare A B [LEVELS]       exit 0 if B holds what A holds (names, types,
                             modes, owners, nanosecond mtimes, sizes, link
                             targets, content), A cut after LEVELS levels of
                             directories; the two top directories themselves
                             are not compared
  depth ROOT                 print how many levels of d/ ROOT holds

Only two directory fds are open at any time: the walks go down by name and
up by "..", with an explicit stack instead of recursion.
"""
import hashlib
import os
import stat
import sys

DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def make(root, levels, marks, name="d"):
    os.makedirs(root, exist_ok=True)
    fd = os.open(root, DIR)
    for i in range(1, levels + 1):
        os.mkdir(name, dir_fd=fd)
        sub = os.open(name, DIR, dir_fd=fd)
        os.close(fd)
        fd = sub
        if i in marks or i == levels:
            f = os.open("f", os.O_WRONLY | os.O_CREAT, 0o640, dir_fd=fd)
            os.write(f, b"level %d\n" % i)
            os.close(f)
        if marks and i == marks[0]:
            os.link("f", "h", src_dir_fd=fd, dst_dir_fd=fd)
            os.symlink("f", "s", dir_fd=fd)
    os.close(fd)


def listing(fd, cut):
    out = []
    for name in sorted(os.listdir(fd)):
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if cut and stat.S_ISDIR(st.st_mode):
            continue
        e = [name, stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
             st.st_mtime_ns]
        if stat.S_ISLNK(st.st_mode):
            e.append(os.readlink(name, dir_fd=fd))
        elif stat.S_ISREG(st.st_mode):
            f = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
            with os.fdopen(f, "rb") as h:
                e.append(hashlib.sha256(h.read()).hexdigest())
        out.append(e)
    return out


def compare(a, b, levels):
    fa, fb = os.open(a, DIR), os.open(b, DIR)
    stack, path = [], []
    while True:
        cut = levels is not None and len(path) >= levels
        la, lb = listing(fa, cut), listing(fb, False)
        if la != lb:
            print("differ at %d levels (%s...): %s != %s" % (len(path), "/".join(path[:8]), la, lb))
            return 1
        stack.append(iter([e[0] for e in la if e[1] == stat.S_IFDIR]))
        while stack:
            name = next(stack[-1], None)
            if name is not None:
                break
            stack.pop()
            if not stack:
                return 0
            path.pop()
            for fd in (fa, fb):
                up = os.open("..", DIR, dir_fd=fd)
                os.close(fd)
                if fd == fa:
                    fa = up
                else:
                    fb = up
        path.append(name)
        na = os.open(name, DIR, dir_fd=fa)
        nb = os.open(name, DIR, dir_fd=fb)
        os.close(fa)
        os.close(fb)
        fa, fb = na, nb


def depth(root):
    fd, n = os.open(root, DIR), 0
    while True:
        try:
            sub = os.open("d", DIR, dir_fd=fd)
        except FileNotFoundError:
            return n
        os.close(fd)
        fd, n = sub, n + 1


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2], int(sys.argv[3]), [int(m) for m in sys.argv[4:]])
    elif cmd == "chain":
        make(sys.argv[2], int(sys.argv[3]), [int(m) for m in sys.argv[5:]], "d" * int(sys.argv[4]))
    elif cmd == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else None))
    elif cmd == "depth":
        print(depth(sys.argv[2]))
    else:
        sys.exit("usage: deep_tree.py make|chain|compare|depth ...")

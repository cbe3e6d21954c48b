#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tests/lint/include_graph.py ROOT - check the project's #include graph.

Fails (exit 1, one line per problem) on
  - an include circle between modules: a module is a .c file and its .h
    (server/audit.c + server/audit.h), and module A uses B when either of
    A's files includes B's header.  A circle means neither can be built,
    tested or understood without the other: give the shared thing its own
    header, or pass a callback.
  - a .c file included by another file: each .c is compiled once, on its
    own, and tests link the libraries (build/libkura.a, build/libkurad.a).

Only quoted includes of the project's own files count; they are looked up
next to the including file, then in include/, lib/, server/ and
tests/unit/ (the Makefile's -I paths).
"""
import os
import re
import sys

DIRS = ("include", "lib", "cli", "server", "tests", "bench")
SEARCH = ("include", "lib", "server", "tests/unit")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def files(root):
    for top in DIRS:
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in sorted(names):
                if n.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, n), root)


def resolve(root, src, name):
    for base in [os.path.dirname(src)] + list(SEARCH):
        cand = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(os.path.join(root, cand)):
            return cand
    return None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    problems = []
    graph = {}
    for src in files(root):
        with open(os.path.join(root, src), encoding="utf-8", errors="replace") as f:
            text = f.read()
        mod = os.path.splitext(src)[0]
        graph.setdefault(mod, set())
        for name in INCLUDE.findall(text):
            target = resolve(root, src, name)
            if target is None:
                continue
            if target.endswith(".c"):
                problems.append("%s includes the source file %s" % (src, target))
            dep = os.path.splitext(target)[0]
            if dep != mod:
                graph[mod].add(dep)

    # Depth-first search; a back edge closes a circle.
    state, stack, seen_cycles = {}, [], set()

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                cycle = stack[stack.index(d):]
                key = frozenset(cycle)
                if key not in seen_cycles:
                    seen_cycles.add(key)
                    problems.append("include circle: " + " -> ".join(cycle + [d]))
            elif d in graph and not state.get(d):
                visit(d)
        stack.pop()
        state[m] = 2

    sys.setrecursionlimit(10000)
    for m in sorted(graph):
        if not state.get(m):
            visit(m)
    for p in problems:
        print(p)
    print("%d modules, %d problems" % (len(graph), len(problems)), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

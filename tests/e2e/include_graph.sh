#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/e2e/include_graph.sh - the project's include graph has no circle
# and no file includes a .c (tests/lint/include_graph.py), and the check
# does fail: on a scratch copy of the tree with a circle planted, and with
# a test that includes a .c file.
. "$(dirname "$0")/lib.sh"

ROOT=$KURA_TEST_ROOT
CHECK=$ROOT/tests/lint/include_graph.py

note "the tree"
python3 "$CHECK" "$ROOT" || fail "include check fails on the tree"

copy() { # DIR: a scratch copy of the tree's sources
	rm -rf "$1"; mkdir -p "$1"
	for d in include lib cli server tests bench; do
		[ -d "$ROOT/$d" ] && cp -r "$ROOT/$d" "$1/"
	done
	rm -rf "$1/tests/fuzz/corpus" "$1/tests/vectors"
}

note "a planted circle: audit.h includes vault_state.h, which includes audit.h"
copy "$WORK/circle"
sed -i 's|^#include <stdio.h>$|#include <stdio.h>\n#include "vault_state.h"|' "$WORK/circle/server/audit.h"
grep -q '"vault_state.h"' "$WORK/circle/server/audit.h" || fail "could not plant the circle"
expect_exit 1 python3 "$CHECK" "$WORK/circle"
grep -qE '^include circle: server/(audit -> server/vault_state -> server/audit|vault_state -> server/audit -> server/vault_state)$' <<<"$OUT" ||
	fail "the audit.h <-> vault_state.h circle is not reported: $OUT"

note "a planted circle through a .c file and three modules"
copy "$WORK/circle3"
printf '#include "deletion_run.h"\n' >>"$WORK/circle3/server/files.c"
expect_exit 1 python3 "$CHECK" "$WORK/circle3"
assert_contains "circle reported" "include circle:" "$OUT"
assert_contains "circle names files.c's module" "server/files" "$OUT"

note "a test that includes a .c file"
copy "$WORK/inc"
printf '#include "../../server/route.c"\n' >>"$WORK/inc/tests/unit/test_route.c"
expect_exit 1 python3 "$CHECK" "$WORK/inc"
assert_contains "source include reported" \
	"tests/unit/test_route.c includes the source file server/route.c" "$OUT"

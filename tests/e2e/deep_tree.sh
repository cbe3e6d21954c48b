#!/usr/bin/env bash
# deep_tree.sh - trees of any shape (issue 9, finding 5) and symlinks on the
# way to a source (finding 8).
#
# 20,000 nested directories used to crash the backup (recursion, one fd per
# level) and 8,000 made a snapshot that check and ls called damaged forever.
# Now: backup stores the tree down to KURA_TREE_MAX_DEPTH, warns naming the
# first directory it skips and exits 3; check --read-data passes; ls, diff
# and restore see exactly the levels the limit allows; a tree at the limit
# round-trips byte-identical; the backup keeps a bounded number of fds
# (ulimit -n 64).  A snapshot deeper than the limit (what a hostile writer
# could store, made by build/tools/deepsnap) is reported by ls and diff,
# which go on past it.  Trees this deep are built and compared by deep_tree.py
# through directory fds: mkdir -p, rsync and diff -r stop at PATH_MAX.
# slow (tens of thousands of directories; about 10 s on an idle machine)
. "$(dirname "$0")/lib.sh"

HELPER=$(cd "$(dirname "$0")" && pwd)/deep_tree.py
MAX=4096 # KURA_TREE_MAX_DEPTH, lib/format/tree.h
# Tens of thousands of directories: on tmpfs when there is one (a disk takes ~1 ms each to remove).
D=$(mktemp -d /dev/shm/kura-e2e-deep.XXXXXX 2>/dev/null) || D=$WORK/deep
at_exit "rm -rf '$D'"
SRC=$D/data/deep
mkdir -p "$D/data"
# The snapshot root is depth 0 and $SRC is at depth $base: $LIMIT levels of d/ fit below it.
base=$(python3 -c 'import sys; print(len(sys.argv[1].strip("/").split("/")))' "$SRC")
LIMIT=$((MAX - base))

init_repo

note "20000 nested directories; files at levels 1, 3000 (with a hard link and a symlink), $LIMIT, $((LIMIT + 1)), 10000, 20000"
python3 "$HELPER" make "$SRC" 20000 3000 1 "$LIMIT" $((LIMIT + 1)) 10000
expect_exit 3 kura backup "$SRC"
SNAP_A=$(kura --json snapshots | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
skipped=$SRC$(printf '/d%.0s' $(seq $((LIMIT + 1))))
assert_contains "the warning names the first directory beyond the limit" \
	"$skipped: directories nested deeper than $MAX levels are not backed up" "$ERR"
assert_eq "depth warnings" 1 "$(grep -c 'nested deeper' <<<"$ERR")"
assert_contains "the summary says files were left out" "unreadable" "$ERR"

note "check --read-data accepts it, ls lists exactly the levels the limit allows"
expect_exit 0 kura check --read-data
expect_exit 0 kura ls latest "$SRC"
assert_eq "directories listed below $SRC" "$LIMIT" "$(grep -c '/d$' <<<"$OUT")"
assert_eq "files listed (levels 1, 3000 twice, $LIMIT)" 4 "$(grep -c '/[fh]$' <<<"$OUT")"
assert_contains "the symlink at level 3000" "/s" "$(grep '/s$' <<<"$OUT")"

note "restore brings back exactly the $LIMIT levels, identical to the source cut there"
expect_exit 0 kura restore "latest:$SRC" --target "$D/rst"
assert_eq "levels restored" "$LIMIT" "$(python3 "$HELPER" depth "$D/rst")"
python3 "$HELPER" compare "$SRC" "$D/rst" "$LIMIT" || fail "the restored tree differs from the source"

note "the backup keeps a bounded number of fds (ulimit -n 64) and does not crash"
expect_exit 3 bash -c 'ulimit -n 64 && exec "$KURA" backup "$1" </dev/null' _ "$SRC"
assert_not_contains "no fd exhaustion" "Too many open files" "$ERR"
assert_eq "the only warning is the depth" 1 "$(grep -c '^warning' <<<"$ERR")"

note "a tree exactly at the limit: exit 0, round-trips byte-identical, and diff agrees"
mv "$SRC" "$D/orig"
mv "$D/rst" "$SRC"
chmod --reference="$D/orig" "$SRC"
touch -r "$D/orig" "$SRC"
expect_exit 0 kura backup "$SRC"
assert_not_contains "no warning" "warning" "$ERR"
expect_exit 0 kura --json diff "$SNAP_A" latest
assert_eq "changes at or below $SRC (only the directories above it changed)" 0 \
	"$(ndjson_get "$OUT" 'len([x for x in d if x.get("path", "").startswith("'"$SRC"'")])')"
expect_exit 0 kura restore "latest:$SRC" --target "$D/rst2"
python3 "$HELPER" compare "$SRC" "$D/rst2" || fail "the tree at the limit did not round-trip"

note "symlinks on the way to a source are followed; the source itself is not"
mkdir -p "$WORK/data/real/share/sub"
printf 'content\n' >"$WORK/data/real/share/sub/file"
ln -s real "$WORK/data/link"
ln -s real/share "$WORK/data/sharelink"
(cd "$WORK/data" && expect_exit 0 kura backup link/share)
expect_exit 0 kura --json ls latest
types=$(ndjson_get "$OUT" '" ".join(x["type"] + ":" + x["path"][len("'"$WORK"'"):] for x in d)')
assert_contains "link is stored as the directory it points to" "dir:/data/link " "$types"
assert_contains "the file is below the name given" "file:/data/link/share/sub/file" "$types"
expect_exit 0 kura restore "latest:$WORK/data/link/share" --target "$WORK/rst3"
same_contents "$WORK/data/real/share" "$WORK/rst3"
for given in sharelink sharelink/; do
	(cd "$WORK/data" && expect_exit 0 kura backup "$given")
	expect_exit 0 kura --json ls latest "$WORK/data/sharelink"
	assert_eq "$given: stored as the symlink it is" "symlink real/share" \
		"$(ndjson_get "$OUT" '" ".join(x["type"] + " " + x["target"] for x in d)')"
done

note "diff walks the whole deep tree where it differs: all of it removed"
expect_exit 0 kura --json diff "$SNAP_A" latest
assert_eq "paths removed at or below $SRC: it, $LIMIT directories, 5 files" $((LIMIT + 6)) \
	"$(ndjson_get "$OUT" 'len([x for x in d if x.get("change") == "-" and x["path"].startswith("'"$SRC"'")])')"

note "a hostile writer's snapshot nested deeper than the limit: ls and diff report it and go on"
DEEPSNAP=${DEEPSNAP:-$(dirname "$KURA")/tools/deepsnap}
[ -x "$DEEPSNAP" ] || fail "no $DEEPSNAP ('make tests' builds it)"
# /a holds $((MAX + 2)) nested d and a file at the bottom; /z comes after /a
hostile=$("$DEEPSNAP" "$KURA_REPOSITORY" $((MAX + 3))) || fail "deepsnap failed"
expect_exit 4 kura ls "$hostile"
assert_contains "ls names what it did not list" \
	"directories nested deeper than $MAX levels are not listed: /a/d/d/d" "$ERR"
assert_eq "directories listed below /a (trees at depth 1..$MAX)" "$MAX" "$(grep -c '/d$' <<<"$OUT")"
assert_eq "ls goes on after the directory too deep" "/z" "$(tail -n 1 <<<"$OUT")"
assert_not_contains "nothing below the limit" "/f" "$OUT"
expect_exit 4 kura --json diff "$SNAP_A" "$hostile"
assert_contains "diff names what it did not compare" \
	"directories nested deeper than $MAX levels are not compared: /a/d/d/d" "$ERR"
assert_eq "diff goes on: /z is added" '["+"]' \
	"$(ndjson_get "$OUT" '[x["change"] for x in d if x.get("path") == "/z"]')"
assert_eq "diff lists the directories it compared" "$MAX" \
	"$(ndjson_get "$OUT" 'len([x for x in d if x.get("change") == "+" and x["path"].startswith("/a/") and x["path"].endswith("/d")])')"
expect_exit 4 kura check
assert_contains "check names it too" "directories nested more than $MAX deep" "$ERR"

note "ok"

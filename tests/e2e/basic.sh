#!/usr/bin/env bash
# basic.sh - the everyday cycle: init, backup, snapshots, ls, restore, a
# second backup and diff, check, version, snapshot names.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
make_tree "$SRC"
nfiles=$(count_files "$SRC")

note "version"
expect_exit 0 kura version
[[ $OUT =~ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "kura version printed no version number: '$OUT'"

note "init"
init_repo
for d in config keys snapshots index data; do
	[ -d "$KURA_REPOSITORY/$d" ] || fail "init did not create $KURA_REPOSITORY/$d"
done
for f in "$KURA_REPOSITORY"/config/* "$KURA_REPOSITORY"/keys/*; do
	name=$(basename "$f")
	[[ $name =~ ^[0-9a-f]{64}$ ]] || fail "repository file $f is not named by 64 hex digits"
	sum=$(sha256sum "$f" | cut -d' ' -f1)
	assert_eq "name of $f (SHA-256 of its bytes)" "$sum" "$name"
done
note "init again on the same repository is refused"
expect_fail kura init --kdf interactive

note "first backup"
backup_json "$SRC"
snap1=$SNAP_ID
files_new=$(json_get "$OUT" 'd["files_new"]')
assert_eq "backup 1 files_new" "$nfiles" "$files_new"
for k in files_changed files_unmodified files_unreadable; do
	v=$(json_get "$OUT" "d[\"$k\"]")
	assert_eq "backup 1 $k" 0 "$v"
done
v=$(json_get "$OUT" 'd["bytes_read"] >= 5*1024*1024 and d["total_bytes_processed"] >= d["bytes_read"] and d["data_added"] > 0 and d["blobs_new"] > 0 and d["dirs_processed"] >= 6')
assert_eq "backup 1 statistics are plausible ($OUT)" true "$v"
for f in "$KURA_REPOSITORY"/snapshots/*; do
	sum=$(sha256sum "$f" | cut -d' ' -f1)
	assert_eq "name of snapshot file $f" "$sum" "$(basename "$f")"
done
[ -f "$KURA_REPOSITORY/snapshots/$snap1" ] || fail "snapshot_id $snap1 is not a file in snapshots/"

note "snapshots"
expect_exit 0 kura snapshots
assert_contains "snapshots lists the snapshot" "${snap1:0:8}" "$OUT"
expect_exit 0 kura --json snapshots
v=$(json_get "$OUT" 'len(d)')
assert_eq "snapshots --json length" 1 "$v"
v=$(json_get "$OUT" 'd[0]["id"]')
assert_eq "snapshots --json id" "$snap1" "$v"
v=$(json_get "$OUT" 'd[0]["id"].startswith(d[0]["short_id"]) and len(d[0]["short_id"]) >= 8')
assert_eq "snapshots --json short_id is a prefix of id" true "$v"
v=$(json_get "$OUT" 'd[0]["paths"]')
assert_eq "snapshots --json paths" "[\"$SRC\"]" "$v"
v=$(json_get "$OUT" 'd[0]["readable"]')
assert_eq "snapshots --json readable (restore key)" true "$v"
v=$(json_get "$OUT" 'd[0]["hostname"]')
assert_eq "snapshots --json hostname" "$(hostname)" "$v"
v=$(json_get "$OUT" 'd[0]["files"]')
assert_eq "snapshots --json files" "$nfiles" "$v"
v=$(json_get "$OUT" 'd[0]["packs"] >= 1 and len(d[0]["tree"]) == 64 and d[0]["time"][:2] == "20"')
assert_eq "snapshots --json packs/tree/time plausible" true "$v"

note "ls latest"
expect_exit 0 kura ls latest
ls_all=$OUT
for p in "$SRC" "$SRC/big.bin" "$SRC/sub/deeper/deepest/leaf.txt" "$SRC/name with spaces.txt" \
	"$SRC/日本語/ファイル.txt" "$SRC/-leading-dash" "$SRC/empty dir" "$SRC/empty" \
	"$SRC/link-to-file" "$SRC/sub/hardlink-b" "$SRC/docs/doc07.txt"; do
	grep -qxF -- "$p" <<<"$ls_all" || fail "ls latest: expected a line '$p'; got:
$ls_all"
done
n=$(grep -c "^$SRC/" <<<"$ls_all")
want=$(find "$SRC" -mindepth 1 | wc -l)
assert_eq "number of entries under $SRC in ls latest" "$want" "$n"

note "ls SNAP /sub/path"
expect_exit 0 kura ls "$snap1" "$SRC/sub/deeper"
grep -qxF -- "$SRC/sub/deeper/file.txt" <<<"$OUT" || fail "ls SNAP $SRC/sub/deeper lacks file.txt: $OUT"
grep -qxF -- "$SRC/sub/deeper/deepest/leaf.txt" <<<"$OUT" || fail "ls SNAP $SRC/sub/deeper lacks deepest/leaf.txt: $OUT"
assert_not_contains "ls SNAP $SRC/sub/deeper lists only that subtree" "$SRC/big.bin" "$OUT"
assert_not_contains "ls SNAP $SRC/sub/deeper lists only that subtree" "$SRC/sub/small.bin" "$OUT"

note "ls -l and ls --json"
expect_exit 0 kura ls -l latest "$SRC"
assert_contains "ls -l shows big.bin" "big.bin" "$OUT"
expect_exit 0 kura --json ls latest
lsj=$OUT
v=$(ndjson_get "$lsj" '[(e["type"], e["size"]) for e in d if e["path"] == "'"$SRC"'/big.bin"]')
assert_eq "ls --json big.bin" '[["file", 5242880]]' "$v"
v=$(ndjson_get "$lsj" '[(e["type"], e["target"]) for e in d if e["path"] == "'"$SRC"'/link-to-file"]')
assert_eq "ls --json link-to-file" '[["symlink", "sub/deeper/file.txt"]]' "$v"
v=$(ndjson_get "$lsj" '[(e["type"], e["mode"] & 0o7777) for e in d if e["path"] == "'"$SRC"'/sub/script.sh"]')
assert_eq "ls --json script.sh type and mode" '[["file", 493]]' "$v"
v=$(ndjson_get "$lsj" '[e["type"] for e in d if e["path"] == "'"$SRC"'/empty dir"]')
assert_eq "ls --json 'empty dir'" '["dir"]' "$v"

note "restore latest"
expect_exit 0 kura restore latest --target "$WORK/r1"
same_tree "$SRC" "$WORK/r1$SRC"
hl_a=$(stat -c %i "$WORK/r1$SRC/hardlink-a")
hl_b=$(stat -c %i "$WORK/r1$SRC/sub/hardlink-b")
assert_eq "hard link pair restored as one inode" "$hl_a" "$hl_b"

note "restore SNAP:$SRC/sub restores the contents of sub"
expect_exit 0 kura restore "$snap1:$SRC/sub" --target "$WORK/r2"
[ -f "$WORK/r2/deeper/file.txt" ] || fail "restore SNAP:$SRC/sub did not put deeper/file.txt at the top of the target: $(find "$WORK/r2" | sed -n 1,10p)"
same_contents "$SRC/sub" "$WORK/r2"

note "restore --include of the second name of a hard link alone"
expect_exit 0 kura restore "$snap1" --target "$WORK/r-hl" --include "$SRC/sub/hardlink-b"
cmp "$SRC/sub/hardlink-b" "$WORK/r-hl$SRC/sub/hardlink-b" ||
	fail "the second name of a hard link, restored without the first, lost its content"
[ ! -e "$WORK/r-hl$SRC/hardlink-a" ] || fail "--include of hardlink-b also restored hardlink-a"

note "second backup after modifying one file"
sleep 1.1 # a clear mtime change even on coarse clocks
printf 'a changed line\n' >>"$SRC/sub/deeper/file.txt"
backup_json "$SRC"
snap2=$SNAP_ID
[ "$snap1" != "$snap2" ] || fail "second backup returned the same snapshot id"
v=$(json_get "$OUT" '(d["files_new"], d["files_changed"], d["files_unmodified"])')
assert_eq "backup 2 new/changed/unmodified" "[0, 1, $((nfiles - 1))]" "$v"

note "diff"
expect_exit 0 kura -q diff "$snap1" "$snap2"
# Lines about our tree must be exactly the one change.  The directories
# above it (/tmp...) are shared with other processes and may legitimately
# show metadata changes; they are reported but not judged here.
ours=$(grep -F -- "$SRC/" <<<"$OUT" || true)
assert_eq "diff lines for $SRC" "M    $SRC/sub/deeper/file.txt" "$ours"
others=$(grep -vF -- "$SRC/" <<<"$OUT" || true)
while IFS= read -r line; do
	[ -z "$line" ] && continue
	p=${line:5}
	case "$SRC" in "$p"|"$p"/*) echo "(diff also reports the ancestor directory: $line)" ;;
	*) fail "diff printed an unexpected line: '$line' (full output: $OUT)" ;;
	esac
done <<<"$others"
expect_exit 0 kura -q diff "$snap1" "$snap1"
ours=$(grep -F -- "$SRC" <<<"$OUT" || true)
assert_eq "diff of a snapshot with itself" "" "$ours"

note "latest and a unique prefix resolve"
expect_exit 0 kura ls "$snap2"
ls_full=$OUT
expect_exit 0 kura ls latest
assert_eq "ls latest == ls <id of the newest>" "$ls_full" "$OUT"
expect_exit 0 kura ls "${snap2:0:8}"
assert_eq "ls <8-digit prefix> == ls <full id>" "$ls_full" "$OUT"
expect_exit 0 kura ls "${snap1:0:10}"
assert_eq "ls <prefix of snap1> == first listing" "$ls_all" "$OUT"
# a name that matches nothing
nomatch=0000000000000000
[ "${snap1:0:16}" = $nomatch ] || [ "${snap2:0:16}" = $nomatch ] || expect_fail kura ls $nomatch
expect_fail kura restore zzzz --target "$WORK/r3"
[ ! -e "$WORK/r3" ] || [ -z "$(ls -A "$WORK/r3")" ] || fail "a failed restore of an unknown snapshot wrote files"

note "restore the second snapshot by prefix"
expect_exit 0 kura restore "${snap2:0:12}" --target "$WORK/r4"
same_tree "$SRC" "$WORK/r4$SRC"

note "check"
expect_exit 0 kura check
expect_exit 0 kura check --read-data
expect_exit 0 kura --json check --read-data
v=$(json_get "$OUT" '(d["problems"], d["errors"])')
assert_eq "check --json problems/errors" '[0, []]' "$v"

note "repository named with -r instead of KURA_REPOSITORY"
repo=$KURA_REPOSITORY
expect_exit 0 env -u KURA_REPOSITORY "$KURA" -r "$repo" --json snapshots
v=$(json_get "$OUT" 'len(d)')
assert_eq "snapshots via -r" 2 "$v"
expect_exit 0 env -u KURA_REPOSITORY "$KURA" --repo "$repo" ls latest
assert_eq "ls via --repo" "$ls_full" "$OUT"

echo "PASS basic"

#!/usr/bin/env bash
# stdin_exclude_include.sh - backup --stdin, backup --exclude, restore --include.
. "$(dirname "$0")/lib.sh"

init_repo

note "backup --stdin: small text"
printf 'CREATE TABLE patients (id int);\nINSERT INTO patients VALUES (1);\n' >"$WORK/small.sql"
rc=0
"$KURA" --json backup --stdin --stdin-filename db.sql <"$WORK/small.sql" >"$WORK/o" 2>"$WORK/e" || rc=$?
[ $rc -eq 0 ] || fail "backup --stdin exited $rc: $(cat "$WORK/e")"
snap_small=$(json_get "$(cat "$WORK/o")" 'd["snapshot_id"]')
expect_exit 0 kura ls "$snap_small"
assert_eq "ls of a --stdin snapshot" "/db.sql" "$OUT"
expect_exit 0 kura --json ls "$snap_small"
v=$(ndjson_get "$OUT" '[(e["path"], e["type"], e["size"]) for e in d]')
assert_eq "ls --json of a --stdin snapshot" "[[\"/db.sql\", \"file\", $(stat -c %s "$WORK/small.sql")]]" "$v"
expect_exit 0 kura restore "$snap_small" --target "$WORK/r-small"
cmp "$WORK/small.sql" "$WORK/r-small/db.sql" || fail "restored db.sql differs from what was piped in"

note "backup --stdin: 12 MiB of binary data through a pipe, with NULs"
gen_random "$WORK/big.dump" $((12 * 1024 * 1024)) stdin
head -c 100000 /dev/zero >>"$WORK/big.dump"
rc=0
cat "$WORK/big.dump" | "$KURA" --json backup --tag dump --stdin --stdin-filename pg.dump >"$WORK/o" 2>"$WORK/e" || rc=$?
[ $rc -eq 0 ] || fail "cat | backup --stdin exited $rc: $(cat "$WORK/e")"
snap_big=$(json_get "$(cat "$WORK/o")" 'd["snapshot_id"]')
expect_exit 0 kura restore "$snap_big" --target "$WORK/r-big"
cmp "$WORK/big.dump" "$WORK/r-big/pg.dump" || fail "restored pg.dump differs from what was piped in"
expect_exit 0 kura --json snapshots
v=$(json_get "$OUT" '[s["tags"] for s in d if s["id"] == "'"$snap_big"'"]')
assert_eq "tags of the --stdin snapshot" '[["dump"]]' "$v"

note "backup --stdin: empty input"
rc=0
"$KURA" --json backup --stdin --stdin-filename empty.sql </dev/null >"$WORK/o" 2>"$WORK/e" || rc=$?
[ $rc -eq 0 ] || fail "backup --stdin of empty input exited $rc: $(cat "$WORK/e")"
snap_empty=$(json_get "$(cat "$WORK/o")" 'd["snapshot_id"]')
expect_exit 0 kura restore "$snap_empty" --target "$WORK/r-empty"
[ -f "$WORK/r-empty/empty.sql" ] && [ ! -s "$WORK/r-empty/empty.sql" ] ||
	fail "empty --stdin backup did not restore as an empty file"

note "backup --exclude '*.tmp'"
SRC=$WORK/data/src
mkdir -p "$SRC/sub/deep" "$SRC/cache.tmp"
printf 'keep\n' >"$SRC/keep.txt"
printf 'drop\n' >"$SRC/a.tmp"
printf 'keep\n' >"$SRC/sub/c.txt"
printf 'drop\n' >"$SRC/sub/b.tmp"
printf 'drop\n' >"$SRC/sub/deep/x.tmp"
printf 'keep\n' >"$SRC/sub/deep/y.tmp.txt"
printf 'drop\n' >"$SRC/cache.tmp/inside.txt"
backup_json --exclude '*.tmp' "$SRC"
snap_ex=$SNAP_ID
expect_exit 0 kura ls "$snap_ex"
for p in "$SRC/keep.txt" "$SRC/sub/c.txt" "$SRC/sub/deep/y.tmp.txt"; do
	grep -qxF -- "$p" <<<"$OUT" || fail "ls after --exclude '*.tmp': '$p' missing:
$OUT"
done
if grep -E '\.tmp(/|$)' <<<"$OUT"; then
	fail "ls after --exclude '*.tmp' still lists .tmp paths (above)"
fi
expect_exit 0 kura restore "$snap_ex" --target "$WORK/r-ex"
got=$(cd "$WORK/r-ex$SRC" && find . -mindepth 1 | sort | tr '\n' ' ')
assert_eq "restored tree after --exclude" "./keep.txt ./sub ./sub/c.txt ./sub/deep ./sub/deep/y.tmp.txt " "$got"

note "restore --include '$SRC/sub*'"
rm -rf "$SRC"
mkdir -p "$SRC/sub1/a" "$SRC/sub2" "$SRC/other/sub3" "$SRC/subway"
printf '1\n' >"$SRC/sub1/a/one.txt"
printf '2\n' >"$SRC/sub1/two.txt"
printf '3\n' >"$SRC/sub2/three.txt"
printf '4\n' >"$SRC/other/sub3/four.txt"
printf '5\n' >"$SRC/top.txt"
printf '6\n' >"$SRC/subfile.txt"
printf '7\n' >"$SRC/subway/seven.txt"
backup_json "$SRC"
snap_in=$SNAP_ID
expect_exit 0 kura restore "$snap_in" --target "$WORK/r-in" --include "$SRC/sub*"
got=$(cd "$WORK/r-in$SRC" && find . -mindepth 1 | sort | tr '\n' ' ')
assert_eq "restored paths with --include '$SRC/sub*'" \
	"./sub1 ./sub1/a ./sub1/a/one.txt ./sub1/two.txt ./sub2 ./sub2/three.txt ./subfile.txt ./subway ./subway/seven.txt " "$got"
for f in sub1/a/one.txt sub1/two.txt sub2/three.txt subfile.txt subway/seven.txt; do
	cmp "$SRC/$f" "$WORK/r-in$SRC/$f" || fail "--include restore: $f differs"
done
# the parents of the restored paths exist, and nothing else next to them
got=$(find "$WORK/r-in" -mindepth 1 -maxdepth 1 | wc -l)
assert_eq "entries at the top of the --include target" 1 "$got"

note "restore --include of one file"
expect_exit 0 kura restore "$snap_in" --target "$WORK/r-one" --include "$SRC/other/sub3/four.txt"
got=$(cd "$WORK/r-one$SRC" && find . -mindepth 1 | sort | tr '\n' ' ')
assert_eq "restored paths with --include of one file" "./other ./other/sub3 ./other/sub3/four.txt " "$got"
cmp "$SRC/other/sub3/four.txt" "$WORK/r-one$SRC/other/sub3/four.txt" || fail "--include of one file: content differs"

note "an --include matching nothing restores nothing"
rc=0
kura restore "$snap_in" --target "$WORK/r-none" --include "$SRC/nothing-here*" >/dev/null 2>"$WORK/e" || rc=$?
no_crash $rc "$WORK/e" "restore --include matching nothing"
[ -z "$(find "$WORK/r-none" -type f 2>/dev/null)" ] || fail "restore --include matching nothing restored files"

echo "PASS stdin_exclude_include"

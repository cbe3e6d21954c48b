#!/usr/bin/env bash
# incremental.sh - unchanged files are not read again; changed ones are;
# without the cache, deduplication still keeps the repository from growing;
# sources given in reverse order are still served by the cache.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
make_tree "$SRC"
nfiles=$(count_files "$SRC")
total=$(find "$SRC" -type f -printf '%i %s\n' | sort -u | awk '{s+=$2} END {print s}') # hard links once
init_repo
sleep 1.1 # no file is younger than a second when the first backup starts

note "first backup"
backup_json "$SRC"
v=$(json_get "$OUT" '(d["files_new"], d["files_unmodified"])')
assert_eq "backup 1 files_new/files_unmodified" "[$nfiles, 0]" "$v"

note "second backup of the unchanged tree reads nothing"
backup_json "$SRC"
v=$(json_get "$OUT" '(d["files_new"], d["files_changed"], d["files_unmodified"], d["bytes_read"])')
assert_eq "backup 2 files_new/changed/unmodified/bytes_read" "[0, 0, $nfiles, 0]" "$v"
v=$(json_get "$OUT" 'd["total_bytes_processed"]')
[ "$v" -ge "$total" ] || fail "backup 2 total_bytes_processed $v < size of the tree $total"
# only the trees of the ancestors of $SRC (/, /tmp, ...) may be new: their
# mtimes change as this script and others create files next to them
v=$(json_get "$OUT" 'd["blobs_new"]')
ancestors=$(tr -cd / <<<"$SRC" | wc -c)
[ "$v" -le "$ancestors" ] || fail "backup 2 of an unchanged tree stored $v new blobs (at most $ancestors ancestor trees may change): $OUT"

note "change one file: only it is read"
gen_text "$SRC/docs/notes.txt" 20001 notes2 # same name, new content
size=$(stat -c %s "$SRC/docs/notes.txt")
sleep 1.1
backup_json "$SRC"
v=$(json_get "$OUT" '(d["files_new"], d["files_changed"], d["files_unmodified"], d["bytes_read"])')
assert_eq "backup 3 files_new/changed/unmodified/bytes_read" "[0, 1, $((nfiles - 1)), $size]" "$v"
snap3=$SNAP_ID

note "add one file"
printf 'brand new\n' >"$SRC/sub/new.txt"
sleep 1.1
backup_json "$SRC"
v=$(json_get "$OUT" '(d["files_new"], d["files_changed"], d["files_unmodified"], d["bytes_read"])')
assert_eq "backup 4 files_new/changed/unmodified/bytes_read" "[1, 0, $nfiles, 10]" "$v"
nfiles=$((nfiles + 1))
total=$((total + 10))

note "the cache is gone: the backup works and adds almost nothing"
rm -rf "$KURA_CACHE_DIR"
before=$(du_bytes "$KURA_REPOSITORY")
backup_json "$SRC"
after=$(du_bytes "$KURA_REPOSITORY")
v=$(json_get "$OUT" '(d["files_unreadable"], d["files_new"] + d["files_changed"] + d["files_unmodified"])')
assert_eq "backup 5 (no cache) files_unreadable/files seen" "[0, $nfiles]" "$v"
limit=$((before / 100 + 65536))
[ $((after - before)) -lt $limit ] ||
	fail "backup without the cache grew the repository from $before to $after bytes (limit +$limit): $OUT"
[ -d "$KURA_CACHE_DIR" ] || fail "the backup did not recreate the cache in $KURA_CACHE_DIR"

note "and the cache is back in use"
backup_json "$SRC"
v=$(json_get "$OUT" '(d["files_unmodified"], d["bytes_read"])')
assert_eq "backup 6 files_unmodified/bytes_read" "[$nfiles, 0]" "$v"

note "every snapshot restores what was there at the time"
expect_exit 0 kura restore latest --target "$WORK/r-latest"
same_tree "$SRC" "$WORK/r-latest$SRC"
expect_exit 0 kura restore "$snap3" --target "$WORK/r3"
[ ! -e "$WORK/r3$SRC/sub/new.txt" ] || fail "snapshot 3 holds a file created after it"
cmp "$SRC/docs/notes.txt" "$WORK/r3$SRC/docs/notes.txt" || fail "snapshot 3 restored a wrong notes.txt"
expect_exit 0 kura check --read-data

# The cache is read and written in walk order: sources given in any order
# are walked sorted, and a cache of the whole tree serves a part of it.
note "two sources in reverse order, after a backup of the whole tree, read nothing"
n2=$(($(count_files "$SRC/sub") + $(count_files "$SRC/docs")))
for run in 1 2; do
	backup_json "$SRC/sub" "$SRC/docs"
	v=$(json_get "$OUT" '(d["files_new"], d["files_changed"], d["files_unmodified"], d["bytes_read"])')
	assert_eq "sources in reverse order, run $run: files_new/changed/unmodified/bytes_read" "[0, 0, $n2, 0]" "$v"
done

echo "PASS incremental"

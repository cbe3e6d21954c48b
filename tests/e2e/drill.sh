#!/usr/bin/env bash
# drill.sh - `kura drill` on a local repository: a drill restores, verifies
# and records; the record is listed; --sample rotates so that successive
# drills read every file; a verify command's failure fails the drill (7);
# a flipped byte in a pack and a chunk uploaded under a false id with the
# backup key (docs/THREATS.md, dedup poisoning) fail it (6) naming the
# file; the scratch tree is always removed.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

SRC=$WORK/data/src
make_tree "$SRC"
# a sparse file whose hole is far larger than any chunk
truncate -s 80M "$SRC/disk.img"
printf 'boot sector' | dd of="$SRC/disk.img" bs=1 seek=$((70 << 20)) conv=notrunc status=none
init_repo
export TMPDIR=$WORK/tmp
mkdir -p "$TMPDIR"
scratch_left() { find "$TMPDIR" -mindepth 1 | sed -n 1,3p; }

note "a full drill passes, reports its RTO and is recorded"
expect_exit 0 kura --json backup "$SRC"
snap=$(json_get "$OUT" 'd["snapshot_id"]')
expect_exit 0 kura --json drill
assert_eq "result" passed "$(json_get "$OUT" 'd["result"]')"
assert_eq "snapshot" "$snap" "$(json_get "$OUT" 'd["snapshot_id"]')"
assert_eq "mode" full "$(json_get "$OUT" 'd["mode"]')"
files=$(find "$SRC" ! -type d | wc -l)
assert_eq "every file verified" "$files" "$(json_get "$OUT" 'd["files_verified"]')"
bytes=$(find "$SRC" -type f -links 1 -printf '%s\n' | awk '{s+=$1} END {print s}')
v=$(json_get "$OUT" 'd["bytes_verified"] >= '"$bytes")
assert_eq "every byte re-hashed (at least $bytes)" true "$v"
v=$(json_get "$OUT" 'd["rto_seconds"] > 0 and d["bytes_per_second"] > 0')
assert_eq "rto_seconds and throughput" true "$v"
rec=$(json_get "$OUT" 'd["record_id"]')
[ -f "$KURA_REPOSITORY/drills/$rec" ] || fail "no drill record drills/$rec"
assert_eq "record named by its SHA-256" "$rec" "$(sha256sum "$KURA_REPOSITORY/drills/$rec" | cut -c1-64)"
assert_eq "scratch tree removed" "" "$(scratch_left)"
expect_exit 0 kura --json drill --list
assert_eq "the record is listed, passed" "passed" \
	"$(json_get "$OUT" '[r["result"] for r in d if r["id"] == "'"$rec"'"][0]')"
assert_eq "listed with its snapshot" "$snap" "$(json_get "$OUT" 'd[0]["snapshot_id"]')"
expect_exit 0 kura drill --list
assert_contains "text listing" "${rec:0:8}" "$OUT"
note "the summary is plaintext, the file names are not"
grep -q 'KURADRIL' "$KURA_REPOSITORY/drills/$rec" || fail "record lacks its magic"
! grep -q 'notes.txt' "$KURA_REPOSITORY/drills/$rec" || fail "file names in the clear"

note "a verify command sees the restored tree, as \$1 and \$KURA_DRILL_DIR"
cat >"$WORK/verify.sh" <<EOS
#!/bin/sh
[ "\$1" = "\$KURA_DRILL_DIR" ] || exit 3
grep -q 'file 07' "\$1$SRC/docs/doc07.txt" || exit 4
echo "verify saw \$1" >&2
EOS
chmod +x "$WORK/verify.sh"
expect_exit 0 kura --json drill --verify-command "$WORK/verify.sh"
assert_eq "verify status" 0 "$(json_get "$OUT" 'd["verify_status"]')"
assert_contains "the command ran" "verify saw" "$ERR"
expect_exit 7 kura --json drill --verify-command "$WORK/verify.sh --broken; exit 5"
assert_eq "verify status of a failing command" 5 "$(json_get "$OUT" 'd["verify_status"]')"
assert_eq "failed by the command" '["verify-command"]' "$(json_get "$OUT" 'd["failed"]')"
assert_eq "scratch removed after a failed command" "" "$(scratch_left)"

note "the scratch directory: a non-empty one is refused, a given one is used and emptied"
mkdir -p "$WORK/busy" && echo keep >"$WORK/busy/precious"
expect_exit 1 kura drill --scratch "$WORK/busy"
assert_contains "refusal" "not empty" "$ERR"
assert_eq "nothing touched" keep "$(cat "$WORK/busy/precious")"
mkdir "$WORK/empty-scratch"
expect_exit 0 kura drill --scratch "$WORK/empty-scratch"
assert_eq "given scratch emptied" "" "$(find "$WORK/empty-scratch" -mindepth 1)"

note "--sample: a share of the files, rotating from drill to drill"
expect_exit 0 kura --json drill --sample 25
assert_eq "mode" sample "$(json_get "$OUT" 'd["mode"]')"
sel=$(json_get "$OUT" 'd["files_selected"]')
[ "$sel" -ge $((files / 4)) ] && [ "$sel" -le $((files / 4 + 1)) ] ||
	fail "--sample 25 chose $sel of $files files"
n1=$(json_get "$OUT" 'd["drill_number"]')
expect_exit 0 kura --json drill --sample 25
assert_eq "the drill counter advances" $((n1 + 1)) "$(json_get "$OUT" 'd["drill_number"]')"
note "--random picks a readable snapshot within the window"
expect_exit 0 kura --json backup "$SRC/docs"
snap2=$(json_get "$OUT" 'd["snapshot_id"]')
expect_exit 0 kura --json drill --random --window 1 --sample 50
v=$(json_get "$OUT" 'd["snapshot_id"] in ("'"$snap"'", "'"$snap2"'")')
assert_eq "a random snapshot of the repository" true "$v"
expect_exit 2 kura drill --random "$snap"
expect_exit 2 kura drill --window 3
expect_exit 2 kura drill --sample 0
expect_exit 2 kura drill --sample 25 --full

note "the backup key cannot drill"
expect_exit 0 kura key backup-key --output "$WORK/backup.key"
bk() { setsid -w env -u KURA_PASSWORD_FILE KURA_KEY_FILE="$WORK/backup.key" "$KURA" "$@" </dev/null; }
expect_exit 13 bk drill

note "a chunk uploaded under a false id with the backup key is caught"
mkdir -p "$WORK/data/ward"
printf 'blood type: A+\nallergies: penicillin\n' >"$WORK/data/ward/patient-17.txt"
cp -a "$KURA_REPOSITORY" "$WORK/clean-repo"
python3 "$HERE/drill_poison.py" "$KURA_REPOSITORY" "$WORK/backup.key" \
	"$WORK/data/ward/patient-17.txt" >/dev/null || fail "could not mount the attack"
expect_exit 0 bk --json backup "$WORK/data/ward"
poisoned=$(json_get "$OUT" 'd["snapshot_id"]')
expect_exit 6 kura --json drill "$poisoned"
assert_contains "names the poisoned file" "patient-17.txt" "$ERR"
assert_contains "names the snapshot" "${poisoned:0:8}" "$ERR"
assert_eq "result" failed "$(json_get "$OUT" 'd["result"]')"
prec=$(json_get "$OUT" 'd["record_id"]')
expect_exit 0 kura --json drill --list
v=$(json_get "$OUT" '[r["result"] for r in d if r["id"] == "'"$prec"'"][0]')
assert_eq "the failure is recorded" failed "$v"
v=$(json_get "$OUT" '[r["details"] for r in d if r["id"] == "'"$prec"'"][0]')
assert_contains "the record names the file (for the restore key)" "patient-17.txt" "$v"
expect_exit 0 bk --json drill --list
v=$(json_get "$OUT" '[r["details"] for r in d if r["id"] == "'"$prec"'"][0]')
assert_eq "the backup key cannot read the names" null "$v"
note "the snapshot taken before the poisoning still passes"
expect_exit 0 kura drill "$snap"

note "a flipped byte in one pack fails the drill and names the file"
rm -rf "$KURA_REPOSITORY"
cp -a "$WORK/clean-repo" "$KURA_REPOSITORY"
pack=$(find "$KURA_REPOSITORY/data" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
chmod u+w "$pack"
printf '\xff' | dd of="$pack" bs=1 seek=4096 conv=notrunc status=none
expect_exit 6 kura drill "$snap"
assert_contains "names the damaged file" "big.bin" "$ERR"
assert_contains "drill failure line" "drill failed: snapshot ${snap:0:8}" "$ERR"
assert_eq "scratch removed after a failed drill" "" "$(scratch_left)"
note "four 25 % samples read every file, so one of them meets the damage"
failed=0
for i in 1 2 3 4; do
	"$KURA" drill --sample 25 "$snap" </dev/null >/dev/null 2>"$WORK/err" && rc=0 || rc=$?
	case $rc in
	0) ;;
	6) failed=$((failed + 1)); grep -q big.bin "$WORK/err" || fail "sample drill failed without naming big.bin" ;;
	*) cat "$WORK/err" >&2; fail "sample drill exit $rc" ;;
	esac
done
assert_eq "sample drills that met the flipped byte" 1 "$failed"

echo "PASS drill"

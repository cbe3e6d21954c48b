#!/usr/bin/env bash
# restore_clean.sh - `kura restore SNAPSHOT --clean` (docs/DETECTION.md,
# "restore --clean"): every file at its newest clean version, on a few MB
# of bench/mkdata.py's hospital tree, in a local repository (the vault adds
# nothing to a restore).
#   s0 the first day; s1 a normal day of work (--mutate); then another day
#   of work and mkdata's ransomware on documents/ only (encrypted, renamed
#   to .locked, a note per directory): s2, exit 5; then a user, unaware,
#   adds a file and edits one outside documents/: s3.  `restore latest
#   --clean` gives back documents/ as it was in s1 (the last clean
#   snapshot), the rest at its newest (s3: day 2's edits and the new
#   file), without notes or .locked files, compared byte for byte with
#   copies the test kept; the --json list names the snapshot each file
#   came from and why, and what was left out (the encrypted copies of
#   files too small for the scan to judge too).  A snapshot with no attack
#   in its chain restores as it is; --clean with a path is refused.  A slow
#   attack on another source (3 % of the files encrypted in place a day:
#   listed on day 1, suspect on day 2) is undone from before day 1.
. "$(dirname "$0")/lib.sh"

ROOT=${KURA_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$WORK/data
mk() { python3 "$ROOT/bench/mkdata.py" --seed 12 "$@" >/dev/null; }
mk --size 3M "$DATA"
# small files: their encrypted copies are too small for the scan to judge (blockstat.h)
for i in 1 2 3; do printf 'ward %d: key in the drawer\n' "$i" >"$DATA/documents/tiny_$i.txt"; done
init_repo
sid() { json_get "$OUT" 'd["snapshot_id"]'; }

expect_exit 0 kura --json backup "$DATA"
s0=$(sid)
mk --mutate 5 --day 1 "$DATA"
expect_exit 0 kura --json backup "$DATA"
s1=$(sid)
cp -a "$DATA" "$WORK/day1"
mk --mutate 5 --day 2 "$DATA"
cp -a "$DATA" "$WORK/day2"
mk --ransomware "$DATA/documents"
expect_exit 5 kura --json backup "$DATA"
s2=$(sid)
nlocked=$(find "$DATA/documents" -name '*.locked' | wc -l)
[ "$nlocked" -ge 10 ] || fail "mkdata encrypted only $nlocked files"
printf 'shift handover, ward 3\n' >"$DATA/shared/after-the-attack.txt"
printf 'edited after the attack\n' >>"$(find "$DATA/shared" -name '*.txt' -o -name '*.csv' | sort | sed -n 1p)"
expect_exit 0 kura --json backup --no-detect "$DATA"
s3=$(sid)

# What the clean restore must give: documents/ as in s1, the rest as now.
EXPECT=$WORK/expect
cp -a "$DATA" "$EXPECT"
rm -rf "$EXPECT/documents"
cp -a "$WORK/day1/documents" "$EXPECT/documents"
changed_docs=$( (cd "$WORK/day1" && diff -rq documents "$WORK/day2/documents" || true) | wc -l)
changed_rest=$( (diff -rq "$WORK/day1" "$WORK/day2" || true) | grep -vc "/documents" || true)
note "day 2 changed $changed_docs entries in documents/ (lost: never backed up clean) and $changed_rest elsewhere (kept)"
[ "$changed_rest" -ge 1 ] || fail "day 2 changed nothing outside documents/: the test would prove nothing"

note "restore latest --clean --json"
rm -rf "$KURA_CACHE_DIR"
expect_exit 0 kura --json restore latest --clean --target "$WORK/out"
J=$OUT
assert_eq "the snapshot" "$s3" "$(json_get "$J" 'd["clean"]["snapshot"]')"
assert_eq "first suspect" "$s2" "$(json_get "$J" 'd["clean"]["first_suspect"]')"
assert_eq "clean point" "$s1" "$(json_get "$J" 'd["clean"]["clean_point"]')"
assert_eq "errors" 0 "$(json_get "$J" 'd["errors"]')"
root="$WORK/out$DATA"
[ -d "$root" ] || fail "no $root"
assert_eq "no .locked file restored" 0 "$(find "$root" -name '*.locked' | wc -l)"
assert_eq "no ransom note restored" 0 "$(find "$root" -name 'README_RESTORE.txt' | wc -l)"
same_contents "$EXPECT" "$root"
cmp "$DATA/shared/after-the-attack.txt" "$root/shared/after-the-attack.txt" ||
	fail "the file added after the attack is not its newest version"

note "the list: every file once, from where and why"
list() { json_get "$J" "$1"; }
[ -n "${CLEAN_DEBUG:-}" ] && printf "%s\n" "$J" >"$CLEAN_DEBUG"
nfiles=$(find "$EXPECT" -type f | wc -l)
assert_eq "every restored file listed" "$nfiles" "$(list 'len(d["clean"]["files"])')"
assert_eq "files listed as restored" "$(list 'd["files_restored"]')" "$nfiles"
assert_eq "documents/ from s1" true \
	"$(list 'all(f["from"] == "'"$s1"'" for f in d["clean"]["files"] if "/documents/" in f["path"])')"
assert_eq "documents/ as before-attack, suspect from s2" true \
	"$(list 'all(f["why"] == "before-attack" and f.get("first_suspect") == "'"$s2"'" for f in d["clean"]["files"] if "/documents/" in f["path"])')"
assert_eq "the rest from s3, newest" true \
	"$(list 'all(f["from"] == "'"$s3"'" and f["why"] == "newest" for f in d["clean"]["files"] if "/documents/" not in f["path"])')"
nnotes=$(find "$DATA/documents" -name README_RESTORE.txt | wc -l)
assert_eq "every .locked file and note left out as the attack's" "$((nlocked + nnotes))" \
	"$(list 'len([f for f in d["clean"]["left_out"] if f["why"] in ("attack-output", "renamed-copy")])')"
ndeleted=$(comm -23 <(cd "$WORK/day1" && find . -type f ! -path './documents/*' | sort) \
	<(cd "$DATA" && find . -type f | sort) | wc -l)
note "day 2 deleted $ndeleted files outside documents/: they stay deleted"
assert_eq "files deleted cleanly left out as deleted" "$ndeleted" \
	"$(list 'len([f for f in d["clean"]["left_out"] if f["why"] == "deleted" and f["gone_in"] == "'"$s2"'"])')"
assert_eq "the tiny .locked copies, unjudged, left out as renamed copies" \
	"$DATA/documents/tiny_1.txt $DATA/documents/tiny_2.txt $DATA/documents/tiny_3.txt" \
	"$(list '" ".join(sorted(f["original"] for f in d["clean"]["left_out"] if f["why"] == "renamed-copy"))')"
assert_eq "and nothing else left out" "$((nlocked + nnotes + ndeleted))" "$(list 'len(d["clean"]["left_out"])')"
# a .locked copy of a file of s1 names it; one of a file day 2 made (never backed up clean) cannot
with_orig=$(cd "$DATA" && find . -name '*.locked' | while read -r f; do
	[ -f "$WORK/day1/${f%.locked}" ] && echo "$DATA${f#.}"; done | sort)
assert_eq ".locked copies name their original" "$with_orig" \
	"$(list '"\n".join(sorted(f["path"] for f in d["clean"]["left_out"] if f["path"].endswith(".locked") and f.get("original") == f["path"][:-7]))')"
assert_eq "notes left out as attack output" true \
	"$(list 'all(f["why"] == "attack-output" and "ransom-note" in f["reasons"] for f in d["clean"]["left_out"] if f["path"].endswith("README_RESTORE.txt"))')"
assert_eq "counts" "$nfiles" "$(list 'd["clean"]["counts"]["newest"] + d["clean"]["counts"]["before-attack"] + d["clean"]["counts"]["gone"]')"

note "the human list"
expect_exit 0 kura restore "${s3:0:8}" --clean --target "$WORK/out2"
assert_contains "header" "first suspect snapshot ${s2:0:8}, clean point ${s1:0:8}" "$OUT"
assert_contains "a document from before" "before-attack  $DATA/documents/" "$OUT"
assert_contains "a note left out" "README_RESTORE.txt  (attack output" "$OUT"
same_contents "$EXPECT" "$WORK/out2$DATA"

note "restoring the attack snapshot itself: documents/ from s1, the rest from s2"
expect_exit 0 kura --json restore "$s2" --clean --target "$WORK/out3"
rm -rf "$WORK/expect2" && cp -a "$WORK/day2" "$WORK/expect2"
rm -rf "$WORK/expect2/documents" && cp -a "$WORK/day1/documents" "$WORK/expect2/documents"
same_contents "$WORK/expect2" "$WORK/out3$DATA"

note "a snapshot before the attack: restored as it is"
expect_exit 0 kura --json restore "$s1" --clean --target "$WORK/out4"
assert_eq "no suspect" null "$(json_get "$OUT" 'd["clean"]["first_suspect"]')"
assert_eq "all newest" true "$(json_get "$OUT" 'all(f["why"] == "newest" for f in d["clean"]["files"])')"
same_contents "$WORK/day1" "$WORK/out4$DATA"

note "a slow attack: files encrypted a day before the first suspect snapshot come back from before it"
W=$WORK/ward
mkdir -p "$W/notes"
for i in $(seq -w 1 100); do gen_text "$W/notes/n$i.txt" 60 "$i"; done
cp -a "$W" "$WORK/ward0"
expect_exit 0 kura --json backup "$W"
w0=$(sid)
enc() { for i in "$@"; do gen_random "$W/notes/n$i.txt" "$(stat -c %s "$W/notes/n$i.txt")" "x$i"; done; }
enc 001 002 003 # 3 %: listed, but not yet an attack
printf 'a new note, written cleanly\n' >"$W/notes/new.txt"
expect_exit 0 kura --json backup "$W"
w1=$(sid)
enc 004 005 006 # the accumulator crosses its line
expect_exit 5 kura --json backup "$W"
w2=$(sid)
expect_exit 0 kura --json restore "$w2" --clean --target "$WORK/ward-out"
assert_eq "first suspect" "$w2" "$(json_get "$OUT" 'd["clean"]["first_suspect"]')"
assert_eq "clean point: the day before" "$w1" "$(json_get "$OUT" 'd["clean"]["clean_point"]')"
assert_eq "the window starts before the first listed day" "$w0" "$(json_get "$OUT" 'd["clean"]["window_start"]')"
assert_eq "day 1's three from day 0, day 2's from day 1" "$w0 $w0 $w0 $w1 $w1 $w1" \
	"$(json_get "$OUT" '" ".join(f["from"] for f in d["clean"]["files"] if f["why"] == "before-attack")')"
assert_eq "each suspect from its own day" "$w1 $w1 $w1 $w2 $w2 $w2" \
	"$(json_get "$OUT" '" ".join(f["first_suspect"] for f in d["clean"]["files"] if f["why"] == "before-attack")')"
cp "$W/notes/new.txt" "$WORK/ward0/notes/new.txt"
# byte for byte (notes/ itself has the newest snapshot's times, which the copy cannot have)
diff -r "$WORK/ward0" "$WORK/ward-out$W" || fail "the slow attack's clean restore differs from day 0 plus the new note"

note "--clean restores a whole snapshot"
expect_exit 2 kura restore "$s3:$DATA/shared" --clean --target "$WORK/out5"
assert_contains "why" "--clean restores a whole snapshot" "$ERR"
echo "restore_clean: ok"

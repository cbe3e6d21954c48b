#!/usr/bin/env bash
# scan_accept.sh - `kura scan --accept` (docs/DETECTION.md, "Accepting a
# false alarm"), in a local repository.
#   A hospital tree from bench/mkdata.py plus an exports/ directory of CSV
#   files.  Day 1 is normal.  On day 2 a legitimate job packs half of the
#   exports into a proprietary format (random-looking, no known signature,
#   x.csv -> x.csv.pak): the backup raises a false alarm (exit 5).  The
#   operator accepts it (kura scan --accept, with a reason): a write-once
#   record in accepts/.  On day 3 the job packs the rest: the backup is
#   clean and says that an acceptance was applied (human output and
#   --json), the accumulator restarted.  On day 4 the same packing in
#   another directory is still an alarm, and on day 5 mkdata's ransomware
#   on documents/ is caught as before.  Notes cannot be accepted; a backup
#   key cannot accept; a damaged record is reported, not applied.
. "$(dirname "$0")/lib.sh"

ROOT=${KURA_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$WORK/data
python3 "$ROOT/bench/mkdata.py" --size 3M --seed 13 "$DATA" >/dev/null
mkdir -p "$DATA/exports/lab" "$DATA/other"
for i in $(seq -w 1 40); do
	gen_text "$DATA/exports/lab/result_$i.csv" 200 "$i"
	gen_text "$DATA/other/report_$i.csv" 200 "1$i"
done
init_repo
sid() { json_get "$OUT" 'd["snapshot_id"]'; }
# pack DIR FIRST LAST: the legitimate job: x.csv -> x.csv.pak, random-looking, same size
pack() {
	for i in $(seq -w "$2" "$3"); do
		local f=$1/$(basename "$1" | sed 's/lab/result/; s/other/report/')_$i.csv
		gen_random "$f.pak" "$(stat -c %s "$f")" "$i$(basename "$1")" # not $WORK: the same bytes every run
		rm -f "$f"
	done
}

expect_exit 0 kura --json backup "$DATA"
python3 "$ROOT/bench/mkdata.py" --mutate 5 --day 1 --seed 13 "$DATA" >/dev/null
expect_exit 0 kura --json backup "$DATA"
s1=$(sid)

note "day 2: the packing job raises a false alarm"
pack "$DATA/exports/lab" 01 20
expect_exit 5 kura --json backup "$DATA"
s2=$(sid)
assert_eq "renames to noise" 20 "$(json_get "$OUT" 'd["detection"]["counts"]["renamed-to-noise"]')"

note "a backup key cannot accept"
expect_exit 0 kura key backup-key --output "$WORK/backup.key"
bk() { setsid -w env -u KURA_PASSWORD_FILE KURA_KEY_FILE="$WORK/backup.key" "$KURA" "$@" </dev/null; }
expect_exit 13 bk scan --accept "$s2"

note "kura scan --accept: the record"
expect_exit 0 kura --json scan --accept "${s2:0:10}" --reason "nightly export packer (ticket 4711)"
assert_eq "the snapshot" "$s2" "$(json_get "$OUT" 'd["snapshot"]')"
assert_eq "one directory" 1 "$(json_get "$OUT" 'd["directories"]')"
assert_eq "one extension" 1 "$(json_get "$OUT" 'd["extensions"]')"
assert_contains "the reason, sealed" "reason nightly export packer (ticket 4711)" "$(json_get "$OUT" 'd["details"]')"
assert_contains "the directory" "dir $DATA/exports/lab" "$(json_get "$OUT" 'd["details"]')"
rec=$(json_get "$OUT" 'd["record"]')
[ -f "$KURA_REPOSITORY/accepts/$rec" ] || fail "no record $rec in accepts/"
assert_eq "named by its hash" "$rec" "$(sha256sum "$KURA_REPOSITORY/accepts/$rec" | cut -c1-64)"
assert_not_contains "no name in the clear" "exports" "$(strings "$KURA_REPOSITORY/accepts/$rec")"

note "day 3: the job again, in the accepted directory: clean, and said"
pack "$DATA/exports/lab" 21 40
expect_exit 0 kura backup "$DATA"
assert_contains "human note" "1 acceptance(s) of false alarms applied (snapshot(s) $s2" "$OUT"
assert_contains "restarted" "the slow-attack accumulator restarted" "$OUT"
assert_contains "clean" "detection: clean" "$OUT"
expect_exit 0 kura --json snapshots
s3=$(json_get "$OUT" 'd[-1]["id"]')
note "kura scan applies the acceptance too: the accepted snapshot and the next are no alarm"
expect_exit 0 kura --json scan "$s2" "$s3"
assert_eq "accepted" "true false" "$(json_get "$OUT" '" ".join(str(s["accepted"]).lower() for s in d["snapshots"])')"
assert_eq "verdicts" "clean clean" "$(json_get "$OUT" '" ".join(s["verdict"] for s in d["snapshots"])')"
assert_eq "no first suspect" null "$(json_get "$OUT" 'd["sources"][0]["first_suspect"]')"

note "day 4: the same packing elsewhere is no accepted false alarm"
pack "$DATA/other" 01 20
expect_exit 5 kura --json backup "$DATA"
assert_eq "accepted files in this backup" 0 "$(json_get "$OUT" 'd["detection"]["accepted"]["files"]')"
assert_eq "the others are renames" 20 "$(json_get "$OUT" 'd["detection"]["counts"]["renamed-to-noise"]')"
assert_eq "and said as applied" "$s2" "$(json_get "$OUT" 'd["detection"]["accepted"]["snapshots"]')"

note "day 5: a real attack on documents/ is caught"
expect_exit 0 kura --json scan --accept latest --reason "the other packer too"
python3 "$ROOT/bench/mkdata.py" --ransomware --seed 13 "$DATA/documents" >/dev/null
expect_exit 5 kura --json backup "$DATA"
assert_eq "two acceptances applied" 2 "$(json_get "$OUT" 'd["detection"]["accepted"]["records"]')"
assert_eq "suspect" suspect "$(json_get "$OUT" 'd["detection"]["verdict"]')"
[ "$(json_get "$OUT" 'd["detection"]["counts"]["renamed-to-noise"]')" -ge 10 ] || fail "the attack's renames are not counted"
assert_eq "notes" true "$(json_get "$OUT" 'd["detection"]["counts"]["ransom-note"] > 0')"

note "notes alone cannot be accepted"
s5=$(sid)
mkdir -p "$WORK/notes"
for d in a b c; do
	mkdir -p "$WORK/notes/$d"
	printf 'Your files are encrypted. Contact us at %s.onion to pay the ransom in bitcoin.\n' \
		abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx >"$WORK/notes/$d/README_RESTORE.txt"
done
expect_exit 0 kura --json backup --no-detect "$WORK/notes"
notes=$(sid)
expect_exit 1 kura scan --accept "$notes"
assert_contains "why" "never accepted" "$ERR"

note "a damaged record is reported, not applied"
chmod u+w "$KURA_REPOSITORY/accepts" "$KURA_REPOSITORY/accepts/$rec" 2>/dev/null || true
printf 'X' | dd of="$KURA_REPOSITORY/accepts/$rec" bs=1 seek=30 conv=notrunc status=none
echo "one more line" >>"$DATA/shared/after.txt"
expect_exit 5 kura --json backup "$DATA"
assert_eq "one applied" 1 "$(json_get "$OUT" 'd["detection"]["accepted"]["records"]')"
assert_contains "the damage is named" "$rec" "$(json_get "$OUT" 'd["damaged_files"]')"
echo "scan_accept: ok"

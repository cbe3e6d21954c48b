#!/usr/bin/env bash
# scan.sh - `kura scan` (docs/DETECTION.md, "kura scan"): post-hoc detection
# with the restore key, on a few MB of bench/mkdata.py's hospital tree.
#   Four backups: the first day, two normal days of work (--mutate), then
#   mkdata's ransomware (everything encrypted, renamed to .locked, notes),
#   the attack backed up with --no-detect so that only the scan can judge
#   it.  The scan names the attack snapshot as the first suspect, the last
#   normal day as the clean point, the .locked files with --files (each
#   first suspect in the attack snapshot), shows the backup's own verdict
#   beside its own, and exits 5; a scan of the clean snapshots alone exits
#   0; the scan needs no client cache; a backup key is refused; a damaged
#   snapshot is skipped and its successor judged against the one before.
. "$(dirname "$0")/lib.sh"

ROOT=${KURA_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$WORK/data
python3 "$ROOT/bench/mkdata.py" --size 3M --seed 11 "$DATA" >/dev/null
init_repo

sid() { json_get "$OUT" 'd["snapshot_id"]'; }

expect_exit 0 kura --json backup "$DATA"
s0=$(sid)
python3 "$ROOT/bench/mkdata.py" --mutate 5 --day 1 --seed 11 "$DATA" >/dev/null
expect_exit 0 kura --json backup "$DATA"
s1=$(sid)
python3 "$ROOT/bench/mkdata.py" --mutate 5 --day 2 --seed 11 "$DATA" >/dev/null
expect_exit 0 kura --json backup "$DATA"
s2=$(sid)
python3 "$ROOT/bench/mkdata.py" --ransomware --seed 11 "$DATA" >/dev/null
expect_exit 0 kura --json backup --no-detect "$DATA"
s3=$(sid)
locked=$(cd "$DATA" && find . -name '*.locked' | sed 's|^\.||' | sort)
nlocked=$(printf '%s\n' "$locked" | grep -c .)
[ "$nlocked" -ge 10 ] || fail "mkdata encrypted only $nlocked files"

note "kura scan --json: the attack is the first suspect, the last normal day the clean point"
rm -rf "$KURA_CACHE_DIR" # the scan needs no client cache
expect_exit 5 kura --json scan --files
assert_eq "snapshots scanned" 4 "$(json_get "$OUT" 'len(d["snapshots"])')"
assert_eq "one source" 1 "$(json_get "$OUT" 'len(d["sources"])')"
assert_eq "first suspect" "$s3" "$(json_get "$OUT" 'd["sources"][0]["first_suspect"]')"
assert_eq "clean point" "$s2" "$(json_get "$OUT" 'd["sources"][0]["clean_point"]')"
assert_eq "verdicts" "partial clean clean suspect" \
	"$(json_get "$OUT" '" ".join(s["verdict"] for s in d["snapshots"])')"
assert_eq "predecessor of the attack" "$s2" "$(json_get "$OUT" 'd["snapshots"][3]["previous"]')"
assert_eq "the backup made no verdict on the attack" null \
	"$(json_get "$OUT" 'd["snapshots"][3]["backup"]["verdict"]')"
assert_eq "the backup's verdict on a normal day" clean \
	"$(json_get "$OUT" 'd["snapshots"][2]["backup"]["verdict"]')"
assert_eq "its stored record beside it" clean \
	"$(json_get "$OUT" 'd["snapshots"][2]["backup"]["record"]["verdict"]')"
renamed=$(json_get "$OUT" 'd["snapshots"][3]["detection"]["counts"]["renamed-to-noise"]')
assert_eq "every .locked file is a rename to noise" "$nlocked" "$renamed"
blast=$(json_get "$OUT" 'd["sources"][0]["blast_files"]')
[ "$blast" -ge "$nlocked" ] || fail "blast radius $blast below the $nlocked encrypted files"

note "--files: the encrypted files, first suspect in the attack snapshot"
listed=$(json_get "$OUT" '"\n".join(sorted(f["path"] for f in d["snapshots"][3]["detection"]["files"] if f["path"].endswith(".locked")))')
assert_eq "every encrypted file listed, and no other .locked file" "$locked" \
	"$(printf '%s\n' "$listed" | sed "s|^$DATA||" | sort)"
assert_eq "each as a rename to noise" true \
	"$(json_get "$OUT" 'all("renamed-to-noise" in f["reasons"] for f in d["snapshots"][3]["detection"]["files"] if f["path"].endswith(".locked"))')"
assert_eq "the notes listed as notes" true \
	"$(json_get "$OUT" 'any("ransom-note" in f["reasons"] for f in d["snapshots"][3]["detection"]["files"])')"
assert_eq "one entry a path" true \
	"$(json_get "$OUT" 'len(set(f["path"] for f in d["snapshots"][3]["detection"]["files"])) == len(d["snapshots"][3]["detection"]["files"])')"
assert_eq "every listed file turned suspect in the attack snapshot" true \
	"$(json_get "$OUT" 'all(f["first-suspect"] == d["snapshots"][3]["id"] for f in d["snapshots"][3]["detection"]["files"])')"
note "without --files the records carry no file names"
expect_exit 5 kura --json scan
assert_eq "no files" false "$(json_get "$OUT" '"files" in d["snapshots"][3]["detection"]')"

note "the human report"
expect_exit 5 kura scan --files
assert_contains "clean point" "clean point:   $s2" "$OUT"
assert_contains "first suspect" "first suspect: $s3" "$OUT"
assert_contains "a .locked file" ".locked  (renamed-to-noise" "$OUT"

note "scanning the clean snapshots alone: exit 0; one named snapshot is judged against its predecessor"
expect_exit 0 kura --json scan "$s1" "${s2:0:8}"
assert_eq "two reported" "$s1 $s2" "$(json_get "$OUT" '" ".join(s["id"] for s in d["snapshots"])')"
assert_eq "judged against the first day" "$s0" "$(json_get "$OUT" 'd["snapshots"][0]["previous"]')"
assert_eq "no suspect" null "$(json_get "$OUT" 'd["sources"][0]["first_suspect"]')"
expect_exit 5 kura --json scan latest
assert_eq "latest alone" suspect "$(json_get "$OUT" 'd["snapshots"][0]["verdict"]')"

note "a backup key cannot scan: exit 13"
expect_exit 0 kura key backup-key --output "$WORK/backup.key"
bk() { setsid -w env -u KURA_PASSWORD_FILE KURA_KEY_FILE="$WORK/backup.key" "$KURA" "$@" </dev/null; }
expect_exit 13 bk scan
assert_contains "why" "restore key" "$ERR"

note "a snapshot that does not exist: a clear error, not a scan"
expect_exit 1 kura scan ffffffffff

note "a damaged snapshot is skipped, and the next one is judged against the one before it"
snapfile=$KURA_REPOSITORY/snapshots/$s1
[ -f "$snapfile" ] || snapfile=$(find "$KURA_REPOSITORY/snapshots" -name "$s1*" | sed -n 1p)
[ -f "$snapfile" ] || fail "no snapshot file for $s1"
chmod u+w "$snapfile" "$(dirname "$snapfile")" 2>/dev/null || true
size=$(stat -c %s "$snapfile")
printf '\xff' | dd of="$snapfile" bs=1 seek=$((size - 20)) conv=notrunc status=none
expect_exit 5 kura --json scan
assert_eq "skipped" 1 "$(json_get "$OUT" 'd["skipped"]')"
assert_eq "three judged" "$s0 $s2 $s3" "$(json_get "$OUT" '" ".join(s["id"] for s in d["snapshots"])')"
assert_eq "the day after the damage judged against the first day" "$s0" \
	"$(json_get "$OUT" 'd["snapshots"][1]["previous"]')"
assert_eq "still the first suspect" "$s3" "$(json_get "$OUT" 'd["sources"][0]["first_suspect"]')"
assert_eq "still the clean point" "$s2" "$(json_get "$OUT" 'd["sources"][0]["clean_point"]')"

note "another source is judged apart, and not read when none of its snapshots is asked for"
mkdir -p "$WORK/other"
for i in 1 2 3; do printf 'minutes of meeting %s\n' "$i" >"$WORK/other/m$i.txt"; done
expect_exit 0 kura --json backup "$WORK/other"
s4=$(sid)
expect_exit 0 kura --json scan "$s2"
assert_eq "one source read" 1 "$(json_get "$OUT" 'len(d["sources"])')"
assert_eq "only s2 reported" "$s2" "$(json_get "$OUT" '" ".join(s["id"] for s in d["snapshots"])')"
expect_exit 5 kura --json scan
assert_eq "two sources" 2 "$(json_get "$OUT" 'len(d["sources"])')"
assert_eq "the other source's only snapshot" "partial" \
	"$(json_get "$OUT" '[s["verdict"] for s in d["snapshots"] if s["id"] == "'"$s4"'"][0]')"
assert_eq "judged against nothing" null \
	"$(json_get "$OUT" '[s["previous"] for s in d["snapshots"] if s["id"] == "'"$s4"'"][0]')"
assert_eq "no suspect there" null "$(json_get "$OUT" 'd["sources"][1]["first_suspect"]')"
assert_eq "its clean point" "$s4" "$(json_get "$OUT" 'd["sources"][1]["clean_point"]')"

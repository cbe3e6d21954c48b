#!/usr/bin/env bash
# copy.sh - `kura copy` local -> local: a new mirror is created and
# verified; a copy killed midway (a real SIGKILL at a known file, through
# the test hook KURA_TEST_COPY_KILL_AFTER) leaves no snapshot without its
# packs, and a rerun copies only what is missing; the copy restores
# byte-identical with the source moved away; a second run copies nothing;
# a flipped byte in a source pack is named, not copied, and the snapshot
# that needs it is left behind; a target holding another repository is
# refused.  An acceptance record (kura scan --accept) goes with the
# snapshot it accepts: the mirror's scan still calls the alarm accepted.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
make_tree "$SRC"
for i in 1 2 3 4 5 6; do gen_random "$SRC/big$i.bin" $((1 << 20)) "$i"; done
init_repo --pack-size 1M
backup_json "$SRC"
first=$SNAP_ID
gen_random "$SRC/later.bin" $((1 << 20)) 77
backup_json "$SRC"
second=$SNAP_ID
npacks=$(find "$KURA_REPOSITORY/data" -type f | wc -l)
[ "$npacks" -ge 6 ] || fail "want at least 6 packs for the kill test, have $npacks"
MIRROR=$WORK/mirror
stored() { find "$MIRROR/$1" -type f 2>/dev/null | wc -l; }

note "a copy killed after 3 files leaves packs but no snapshot; the rerun finishes it"
rc=0
KURA_TEST_COPY_KILL_AFTER=3 "$KURA" copy --to "$MIRROR" >"$WORK/kill.out" 2>"$WORK/kill.err" </dev/null || rc=$?
[ "$rc" -eq 137 ] || fail "the copy should have been killed (137), got $rc: $(cat "$WORK/kill.err")"
assert_eq "snapshots after the kill" 0 "$(stored snapshots)"
assert_eq "config after the kill" 1 "$(stored config)"
[ "$(stored data)" -ge 1 ] || fail "no pack reached the mirror before the kill"
before=$(stored data)
expect_exit 0 kura --json copy --to "$MIRROR"
assert_eq "result" ok "$(json_get "$OUT" 'd["result"]')"
assert_eq "snapshots" 2 "$(json_get "$OUT" 'd["snapshots"]')"
assert_eq "failed" 0 "$(json_get "$OUT" 'd["files_failed"]')"
needed=$(json_get "$OUT" 'd["files_needed"]')
copied=$(json_get "$OUT" 'd["files_copied"]')
present=$(json_get "$OUT" 'd["files_present"]')
[ "$present" -ge "$before" ] || fail "the rerun counted $present present files, $before packs were there"
[ "$((copied + present))" -ge "$needed" ] || fail "copied $copied + present $present < needed $needed"
assert_eq "verified by hash" "$needed" "$(json_get "$OUT" 'd["files_verified"]')"
assert_eq "packs in the mirror" "$npacks" "$(stored data)"
assert_eq "snapshots in the mirror" 2 "$(stored snapshots)"
assert_eq "keys in the mirror" "$(find "$KURA_REPOSITORY/keys" -type f | wc -l)" "$(stored keys)"
assert_eq "no drill records copied" 0 "$(stored drills)"

note "a second copy copies nothing and still verifies"
expect_exit 0 kura --json copy --to "$MIRROR"
assert_eq "copied again" 0 "$(json_get "$OUT" 'd["files_copied"]')"
assert_eq "present" "$needed" "$(json_get "$OUT" 'd["files_present"]')"

note "the mirror restores byte-identical with the source moved away"
mv "$KURA_REPOSITORY" "$WORK/away"
expect_exit 0 kura --repo "$MIRROR" check --read-data
expect_exit 0 kura --repo "$MIRROR" restore "$second" --target "$WORK/restored"
same_tree "$SRC" "$WORK/restored$SRC"
expect_exit 0 kura --repo "$MIRROR" restore "$first" --target "$WORK/restored1"
[ ! -e "$WORK/restored1$SRC/later.bin" ] || fail "the first snapshot restored a later file"
cmp "$SRC/big3.bin" "$WORK/restored1$SRC/big3.bin"
mv "$WORK/away" "$KURA_REPOSITORY"

note "one named snapshot by prefix; a name the source lacks is refused"
expect_exit 0 kura --json copy --to "$WORK/one" "${first:0:12}" "$first"
assert_eq "one snapshot" 1 "$(find "$WORK/one/snapshots" -type f | wc -l)"
assert_eq "named twice, counted once" 1 "$(json_get "$OUT" 'd["snapshots"]')"
assert_eq "its name" "$first" "$(basename "$(find "$WORK/one/snapshots" -type f)")"
expect_fail kura copy --to "$WORK/one" ffffffffffff
assert_contains "stderr" "no snapshot ffffffffffff" "$ERR"

note "a flipped byte in a source pack is named and not copied; its snapshot stays behind"
gen_random "$SRC/third.bin" $((1 << 20)) 99
backup_json "$SRC"
third=$SNAP_ID
for p in $(find "$KURA_REPOSITORY/data" -type f -newer "$KURA_REPOSITORY/snapshots/$second"); do
	victim=$p
done
[ -n "${victim:-}" ] || fail "the third backup wrote no new pack"
chmod u+w "$victim"
python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(200); b=f.read(1); f.seek(200); f.write(bytes([b[0]^1]))' "$victim"
expect_exit 4 kura --json copy --to "$MIRROR"
assert_eq "result" incomplete "$(json_get "$OUT" 'd["result"]')"
assert_contains "stderr" "$(basename "$victim")" "$ERR"
assert_contains "stderr" "not to its name" "$ERR"
assert_contains "stderr" "left behind: snapshot $third needs pack $(basename "$victim")" "$ERR"
[ ! -e "$MIRROR/data/$(basename "$(dirname "$victim")")/$(basename "$victim")" ] ||
	fail "the damaged pack reached the mirror"
[ ! -e "$MIRROR/snapshots/$third" ] || fail "the snapshot of the damaged pack reached the mirror"
assert_eq "skipped" 1 "$(json_get "$OUT" 'd["snapshots_skipped"]')"

note "a damaged source snapshot and a pack missing from the source are named; nothing else stops"
# flip the byte back: the third snapshot is whole again
python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(200); b=f.read(1); f.seek(200); f.write(bytes([b[0]^1]))' "$victim"
gen_random "$SRC/fourth.bin" $((1 << 20)) 444
find "$KURA_REPOSITORY/data" -type f | sort >"$WORK/packs.before"
backup_json "$SRC"
fourth=$SNAP_ID
gone=$(find "$KURA_REPOSITORY/data" -type f | sort | comm -13 "$WORK/packs.before" - | sed -n 1p)
[ -n "$gone" ] || fail "the fourth backup wrote no new pack"
mv "$gone" "$WORK/gone.pack"
chmod u+w "$KURA_REPOSITORY/snapshots/$first"
python3 -c 'import sys; f=open(sys.argv[1],"ab"); f.write(b"x")' "$KURA_REPOSITORY/snapshots/$first"
expect_exit 4 kura --json copy --to "$WORK/fresh"
assert_contains "stderr" "not copied: snapshot $first" "$ERR"
assert_contains "stderr" "$(basename "$gone")" "$ERR"
assert_contains "stderr" "left behind: snapshot $fourth" "$ERR"
assert_eq "the good snapshots" "$(printf '%s\n' "$second" "$third" | sort)" "$(ls "$WORK/fresh/snapshots")"
expect_exit 0 kura --repo "$WORK/fresh" check --read-data
mv "$WORK/gone.pack" "$gone"

note "a source file named by its hash but not a valid file of its type is named and not copied"
printf 'not a snapshot' >"$WORK/junk"
junk=$(sha256sum "$WORK/junk" | cut -d' ' -f1)
cp "$WORK/junk" "$KURA_REPOSITORY/snapshots/$junk"
expect_exit 4 kura copy --to "$WORK/fresh" "$junk"
assert_contains "stderr" "not copied: snapshot $junk: snapshot" "$ERR"
[ ! -e "$WORK/fresh/snapshots/$junk" ] || fail "the junk snapshot reached the mirror"
rm -f "$KURA_REPOSITORY/snapshots/$junk"

note "a target that holds another repository is refused"
expect_exit 0 kura init --kdf interactive --repo "$WORK/other"
expect_fail kura copy --to "$WORK/other"
assert_contains "stderr" "another repository" "$ERR"
[ -z "$(find "$WORK/other/data" -type f)" ] || fail "a pack was copied into another repository"

note "an accepted false alarm stays accepted in the copy"
ACC=$WORK/acc-src
mkdir -p "$ACC/exports"
for i in $(seq -w 1 20); do gen_text "$ACC/exports/result_$i.csv" 200 "acc$i"; done
acc() { env KURA_REPOSITORY="$WORK/acc-repo" "$KURA" "$@" </dev/null; }
expect_exit 0 acc init --kdf interactive
expect_exit 0 acc --json backup "$ACC"
a1=$(json_get "$OUT" 'd["snapshot_id"]')
# a packing job: every file renamed and turned to noise, a false alarm
for f in "$ACC"/exports/*.csv; do gen_random "$f.pak" "$(stat -c %s "$f")" "$(basename "$f")"; rm "$f"; done
expect_exit 5 acc --json backup "$ACC"
a2=$(json_get "$OUT" 'd["snapshot_id"]')
expect_exit 0 acc --json scan --accept "$a2" --reason "export packer"
rec=$(json_get "$OUT" 'd["record"]')
expect_exit 0 acc --json copy --to "$WORK/acc-one" "$a1"
assert_eq "a copy of another snapshot leaves the record" 0 "$(find "$WORK/acc-one/accepts" -type f 2>/dev/null | wc -l)"
expect_exit 0 acc --json copy --to "$WORK/acc-mirror"
assert_eq "result" ok "$(json_get "$OUT" 'd["result"]')"
assert_eq "nothing refused" 0 "$(json_get "$OUT" 'd["acceptances_refused"]')"
cmp "$WORK/acc-repo/accepts/$rec" "$WORK/acc-mirror/accepts/$rec" || fail "the record is not in the mirror as in the source"
expect_exit 0 acc --json copy --to "$WORK/acc-one" "$a2"
assert_eq "a copy of the accepted snapshot carries its record" "$rec" "$(ls "$WORK/acc-one/accepts")"
mv "$WORK/acc-repo" "$WORK/acc-away"
expect_exit 0 kura --repo "$WORK/acc-mirror" --json scan
assert_eq "accepted in the mirror" "false true" \
	"$(json_get "$OUT" '" ".join(str(s["accepted"]).lower() for s in d["snapshots"])')"
assert_eq "no alarm in the mirror" "null" "$(json_get "$OUT" 'd["sources"][0]["first_suspect"]')"
expect_exit 0 kura --repo "$WORK/acc-one" --json scan "$a2"
assert_eq "and in the copy of those two snapshots" "true clean" \
	"$(json_get "$OUT" 'str(d["snapshots"][0]["accepted"]).lower() + " " + d["snapshots"][0]["verdict"]')"
mv "$WORK/acc-away" "$WORK/acc-repo"

note "a target equal to the source, and no --to, are usage errors"
expect_exit 2 kura copy --to "$KURA_REPOSITORY"
expect_exit 2 kura copy
echo "PASS copy"

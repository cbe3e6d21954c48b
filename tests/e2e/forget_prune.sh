#!/usr/bin/env bash
# forget_prune.sh - forget and prune on a local repository: exactly the
# packs only the forgotten snapshot listed are removed, check still passes
# (removed packs the index names count as pruned), the other snapshots
# restore identical, a later backup neither references removed packs nor
# loses deduplication; --dry-run changes nothing; the grace period keeps
# fresh packs; a backup key forgets by prefix only; a snapshot that cannot
# be read stops prune before it removes anything; bad names are clear
# errors.
. "$(dirname "$0")/lib.sh"

D=$WORK/data
for n in one two three four; do
	mkdir -p "$D/$n/sub"
	gen_random "$D/$n/big.bin" $((3 * 1024 * 1024)) "big-$n"
	gen_text "$D/$n/sub/notes.txt" 2000 "notes-$n"
done

# repo_state: every repository file with its size, sorted (what a dry run must not change)
repo_state() { (cd "$KURA_REPOSITORY" && find . -type f -printf '%p %s\n' | LC_ALL=C sort); }

# packs_of (lib.sh) reads the snapshot files from the repository directory
snapshot_bytes() { cp "$KURA_REPOSITORY/snapshots/$1" "$2"; }

pack_exists() { [ -f "$KURA_REPOSITORY/data/${1:0:2}/$1" ]; }

# set_minus A B: lines of A not in B (both sorted)
set_minus() { LC_ALL=C comm -23 <(printf '%s\n' "$1" | sed '/^$/d') <(printf '%s\n' "$2" | sed '/^$/d'); }

init_repo
backup_json "$D/one"; s1=$SNAP_ID
backup_json "$D/two"; s2=$SNAP_ID
backup_json "$D/three"; s3=$SNAP_ID

expected=$(set_minus "$(packs_of "$s1")" "$(packs_of "$s2" "$s3")")
nexp=$(printf '%s\n' "$expected" | sed '/^$/d' | wc -l)
[ "$nexp" -ge 1 ] || fail "snapshot 1 has no pack of its own: the test data is not distinct"
note "snapshot 1 alone lists $nexp packs"

note "prune with nothing unreferenced removes nothing"
expect_exit 0 kura --json prune --grace 0
assert_eq "packs_unreferenced" 0 "$(json_get "$OUT" 'd["packs_unreferenced"]')"

note "--dry-run changes nothing and shows the plan"
before=$(repo_state)
expect_exit 0 kura forget --dry-run --prune --grace 0 "${s1:0:8}"
assert_contains "dry run names the snapshot" "would forget snapshot $s1" "$OUT"
assert_contains "dry run counts packs" "would remove $nexp unreferenced pack" "$OUT"
expect_exit 0 kura --json forget --dry-run --prune --grace 0 "${s1:0:8}"
plan=$(json_get "$OUT" '"\n".join(sorted(d["prune"]["would_remove"]))')
assert_eq "dry-run plan = packs only snapshot 1 lists" "$expected" "$plan"
assert_eq "dry run would_forget" "[\"$s1\"]" "$(json_get "$OUT" 'd["would_forget"]')"
expect_exit 0 kura prune --dry-run
assert_eq "repository unchanged by dry runs" "$before" "$(repo_state)"

note "forget --prune --grace 0 removes exactly the packs only snapshot 1 listed"
all_packs=$(cd "$KURA_REPOSITORY/data" && find . -type f -printf '%f\n' | LC_ALL=C sort)
expect_exit 0 kura forget --prune --grace 0 "${s1:0:10}"
assert_contains "forget says what it forgot" "forgot snapshot $s1" "$OUT"
assert_contains "prune summary" "removed $nexp unreferenced pack" "$OUT"
[ ! -e "$KURA_REPOSITORY/snapshots/$s1" ] || fail "snapshot file $s1 is still there"
left=$(cd "$KURA_REPOSITORY/data" && find . -type f -printf '%f\n' | LC_ALL=C sort)
assert_eq "packs left = packs before minus the expected ones" "$(set_minus "$all_packs" "$expected")" "$left"
while read -r p; do
	[ -n "$p" ] && pack_exists "$p" && fail "pack $p should have been removed"
done <<<"$expected"
expect_exit 0 kura --json snapshots
assert_eq "two snapshots left" 2 "$(json_get "$OUT" 'len(d)')"

note "check --read-data passes; the removed packs count as pruned"
expect_exit 0 kura check --read-data
assert_contains "check mentions pruned packs" "removed by a prune" "$OUT"
expect_exit 0 kura --json check
assert_eq "check packs_pruned" "$nexp" "$(json_get "$OUT" 'd["packs_pruned"]')"
assert_eq "check problems" 0 "$(json_get "$OUT" 'd["problems"]')"

note "the remaining snapshots restore identical"
expect_exit 0 kura restore "$s2:$D/two" --target "$WORK/r2"
same_contents "$D/two" "$WORK/r2"
expect_exit 0 kura restore "$s3:$D/three" --target "$WORK/r3"
same_contents "$D/three" "$WORK/r3"

note "backing up the forgotten data again stores it again (no stale index entry is used)"
backup_json "$D/one"; s5=$SNAP_ID
v=$(json_get "$OUT" 'd["data_added"] >= 3*1024*1024')
assert_eq "the data of the pruned packs is uploaded again ($OUT)" true "$v"
while read -r p; do
	[ -z "$p" ] || pack_exists "$p" || fail "snapshot $s5 lists pack $p, which does not exist"
done <<<"$(packs_of "$s5")"
expect_exit 0 kura restore "$s5:$D/one" --target "$WORK/r5"
same_contents "$D/one" "$WORK/r5"
note "and unchanged data still deduplicates"
backup_json "$D/two"
v=$(json_get "$OUT" 'd["data_added"] < 64*1024')
assert_eq "a second backup of unchanged data adds almost nothing ($OUT)" true "$v"
expect_exit 0 kura check --read-data

note "prune keeps unreferenced packs younger than the grace period (default 1h)"
backup_json "$D/four"; s4=$SNAP_ID
others=$(ls "$KURA_REPOSITORY/snapshots" | grep -v "^$s4\$")
# shellcheck disable=SC2086 # one snapshot id a word
young=$(set_minus "$(packs_of "$s4")" "$(packs_of $others)")
nyoung=$(printf '%s\n' "$young" | sed '/^$/d' | wc -l)
[ "$nyoung" -ge 1 ] || fail "snapshot 4 has no pack of its own"
expect_exit 0 kura forget "${s4:0:12}"
assert_contains "forget without --prune says the data stays" "kura prune" "$OUT"
expect_exit 0 kura --json prune
assert_eq "nothing removed within the grace period" 0 "$(json_get "$OUT" 'd["packs_removed"]')"
assert_eq "young packs kept" "$nyoung" "$(json_get "$OUT" 'd["packs_kept_young"]')"
while read -r p; do
	[ -z "$p" ] || pack_exists "$p" || fail "young pack $p was removed"
done <<<"$young"
expect_exit 0 kura prune
assert_contains "prune explains the kept packs" "a backup running now may still need" "$OUT"
expect_exit 0 kura --json prune --grace 0
assert_eq "--grace 0 removes them" "$nyoung" "$(json_get "$OUT" 'd["packs_removed"]')"

note "prune removes what crashed writers left in tmp/ once a day old, and nothing younger"
head -c 70000 /dev/urandom >"$KURA_REPOSITORY/tmp/stale.tmp"
touch -d '2 days ago' "$KURA_REPOSITORY/tmp/stale.tmp"
head -c 500 /dev/urandom >"$KURA_REPOSITORY/tmp/fresh.tmp"
touch -d '23 hours ago' "$KURA_REPOSITORY/tmp/fresh.tmp"
expect_exit 0 kura --json prune --dry-run
assert_eq "dry run counts the stale file" 1 "$(json_get "$OUT" 'd["tmp_files_would_remove"]')"
[ -e "$KURA_REPOSITORY/tmp/stale.tmp" ] || fail "a dry run removed a temporary file"
expect_exit 0 kura --json prune
assert_eq "stale temporary files removed" 1 "$(json_get "$OUT" 'd["tmp_files_removed"]')"
assert_eq "their bytes" 70000 "$(json_get "$OUT" 'd["tmp_bytes_removed"]')"
[ ! -e "$KURA_REPOSITORY/tmp/stale.tmp" ] || fail "the day-old temporary file is still there"
[ -e "$KURA_REPOSITORY/tmp/fresh.tmp" ] || fail "prune removed a temporary file younger than a day"
rm -f "$KURA_REPOSITORY/tmp/fresh.tmp"

note "a snapshot that cannot be read stops prune before it removes anything"
backup_json "$D/four"; s6=$SNAP_ID
expect_exit 0 kura forget "$s6"
bad=$WORK/badsnap
printf 'not a snapshot at all' >"$bad"
badname=$(sha256sum "$bad" | cut -d' ' -f1)
cp "$bad" "$KURA_REPOSITORY/snapshots/$badname"
before=$(repo_state)
expect_exit 4 kura prune --grace 0
assert_contains "prune names the unreadable snapshot" "$badname" "$ERR"
assert_contains "prune says nothing was removed" "nothing was removed" "$ERR"
assert_eq "repository unchanged by a failed prune" "$before" "$(repo_state)"
rm -f "$KURA_REPOSITORY/snapshots/$badname"
expect_exit 0 kura prune --grace 0

note "a backup key forgets by id prefix, never 'latest'"
expect_exit 0 kura key backup-key --output "$WORK/backup.key"
backup_json "$D/four"; s7=$SNAP_ID
expect_exit 13 env KURA_KEY_FILE="$WORK/backup.key" "$KURA" forget latest
assert_contains "latest refused with a backup key" "needs the restore key" "$ERR"
[ -e "$KURA_REPOSITORY/snapshots/$s7" ] || fail "a refused forget removed a snapshot"
expect_exit 0 env KURA_KEY_FILE="$WORK/backup.key" "$KURA" forget "${s7:0:6}"
[ ! -e "$KURA_REPOSITORY/snapshots/$s7" ] || fail "backup key: forget ${s7:0:6} left the snapshot"
expect_exit 0 env KURA_KEY_FILE="$WORK/backup.key" "$KURA" prune --grace 0

note "the restore key may forget 'latest'"
backup_json "$D/four"; s8=$SNAP_ID
expect_exit 0 kura forget --dry-run latest
assert_contains "latest resolves to the newest" "$s8" "$OUT"

note "errors: unknown, malformed and ambiguous names, missing names; nothing is forgotten"
nsnaps=$(ls "$KURA_REPOSITORY/snapshots" | wc -l)
expect_exit 1 kura forget "${s2:0:8}" ffffffffffff
assert_contains "unknown snapshot" "no snapshot ffffffffffff" "$ERR"
assert_contains "nothing forgotten" "Nothing was forgotten" "$ERR"
expect_exit 1 kura forget not-hex
assert_contains "malformed name" "is not a snapshot name" "$ERR"
expect_exit 1 kura forget abc
# a second listing entry that shares s2's first 8 digits (resolution uses the listing only)
twin=${s2:0:8}$(printf '0%.0s' $(seq 1 56))
[ "$twin" != "$s2" ] || twin=${s2:0:8}$(printf '1%.0s' $(seq 1 56))
cp "$KURA_REPOSITORY/snapshots/$s2" "$KURA_REPOSITORY/snapshots/$twin"
expect_exit 1 kura forget "${s2:0:8}"
assert_contains "ambiguous prefix" "give more digits" "$ERR"
rm -f "$KURA_REPOSITORY/snapshots/$twin"
expect_exit 2 kura forget
expect_exit 2 kura forget --grace 0 "$s2"
expect_exit 2 kura prune --grace forever
expect_exit 2 kura prune "$s2"
assert_eq "no snapshot was forgotten by the failed commands" "$nsnaps" "$(ls "$KURA_REPOSITORY/snapshots" | wc -l)"

note "without a key of the repository nothing is forgotten"
printf 'not the passphrase of this repository\n' >"$WORK/wrong"
expect_exit 12 env KURA_PASSWORD_FILE="$WORK/wrong" "$KURA" forget "${s2:0:8}"
[ -e "$KURA_REPOSITORY/snapshots/$s2" ] || fail "forget without the passphrase removed a snapshot"

note "the repository is whole at the end"
expect_exit 0 kura check --read-data
expect_exit 0 kura restore "$s2:$D/two" --target "$WORK/r-end"
same_contents "$D/two" "$WORK/r-end"

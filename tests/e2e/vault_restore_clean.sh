#!/usr/bin/env bash
# vault_restore_clean.sh - `kura restore --clean` through a real kurad on
# loopback (docs/DETECTION.md, "restore --clean"), where the person
# recovering is not the one who backed up: a writer backs up
# bench/mkdata.py's tree with the backup key (day 0, a normal day, then a
# day of work and mkdata's ransomware on documents/: exit 5, then a user
# who adds a file elsewhere); a READER credential with the restore key
# restores the newest snapshot --clean, with no local cache of the
# writer's.  documents/ comes back as it was on the normal day (the last
# clean version), everything else at its newest, compared byte for byte;
# --json names each pick and what was left out.  The writer cannot.
. "$(dirname "$0")/lib.sh"

ROOT=${KURA_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$WORK/data
mk() { python3 "$ROOT/bench/mkdata.py" --seed 21 "$@" >/dev/null; }
mk --size 2M "$DATA"

init_vault "$WORK/vault"
vault_client ward2 writer clinic "$WORK/writer.cred"
vault_client restore1 reader clinic "$WORK/reader.cred"
start_vault

export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key --output "$WORK/backup.key"
export KURA_KEY_FILE=$WORK/backup.key
sid() { json_get "$OUT" 'd["snapshot_id"]'; }

note "the writer: a first day, a normal day, the attack, a day after it"
expect_exit 0 kura --json backup "$DATA"
mk --mutate 5 --day 1 "$DATA"
expect_exit 0 kura --json backup "$DATA"
s1=$(sid)
cp -a "$DATA" "$WORK/day1"
mk --mutate 5 --day 2 "$DATA"
mk --ransomware "$DATA/documents"
expect_exit 5 kura --json backup "$DATA"
s2=$(sid)
assert_eq "the backup's verdict" suspect "$(json_get "$OUT" 'd["detection"]["verdict"]')"
nlocked=$(find "$DATA/documents" -name '*.locked' | wc -l)
[ "$nlocked" -ge 10 ] || fail "mkdata encrypted only $nlocked files"
printf 'shift handover, ward 2\n' >"$DATA/shared/after-the-attack.txt"
expect_exit 0 kura --json backup --no-detect "$DATA"
s3=$(sid)

# What the clean restore must give: documents/ as in s1, the rest as now.
EXPECT=$WORK/expect
cp -a "$DATA" "$EXPECT"
find "$EXPECT" -name README_RESTORE.txt -delete
rm -rf "$EXPECT/documents"
cp -a "$WORK/day1/documents" "$EXPECT/documents"
untouched=$(cd "$EXPECT" && find . -type f ! -path './documents/*' | wc -l)
[ "$untouched" -ge 10 ] || fail "only $untouched files outside documents/: the test would prove little"

note "the writer cannot restore: the vault refuses it the snapshots"
expect_exit 1 kura restore latest --clean --target "$WORK/nope"
assert_contains "why" "refused by the vault" "$ERR"

note "a reader with the restore key restores latest --clean"
reader() { env -u KURA_KEY_FILE KURA_VAULT_CREDENTIALS="$WORK/reader.cred" \
	KURA_CACHE_DIR="$WORK/reader-cache" "$KURA" "$@" </dev/null; }
expect_exit 0 reader --json restore latest --clean --target "$WORK/out"
J=$OUT
list() { json_get "$J" "$1"; }
assert_eq "the snapshot" "$s3" "$(list 'd["clean"]["snapshot"]')"
assert_eq "first suspect" "$s2" "$(list 'd["clean"]["first_suspect"]')"
assert_eq "clean point" "$s1" "$(list 'd["clean"]["clean_point"]')"
assert_eq "errors" 0 "$(list 'd["errors"]')"
root=$WORK/out$DATA
[ -d "$root" ] || fail "no $root"
same_contents "$EXPECT" "$root"
assert_eq "no .locked file restored" 0 "$(find "$root" -name '*.locked' | wc -l)"
assert_eq "no ransom note restored" 0 "$(find "$root" -name 'README_RESTORE.txt' | wc -l)"

note "--json names every pick"
nfiles=$(find "$EXPECT" -type f | wc -l)
assert_eq "every restored file listed" "$nfiles" "$(list 'len(d["clean"]["files"])')"
assert_eq "files restored" "$nfiles" "$(list 'd["files_restored"]')"
ndocs=$(find "$EXPECT/documents" -type f | wc -l)
assert_eq "documents/ before the attack, from s1, suspect from s2" "$ndocs" \
	"$(list 'len([f for f in d["clean"]["files"] if "/documents/" in f["path"] and f["why"] == "before-attack" and f["from"] == "'"$s1"'" and f["first_suspect"] == "'"$s2"'"])')"
assert_eq "the rest at its newest, from s3" "$untouched" \
	"$(list 'len([f for f in d["clean"]["files"] if "/documents/" not in f["path"] and f["why"] == "newest" and f["from"] == "'"$s3"'"])')"
assert_eq "the file added after the attack is picked" newest \
	"$(list '[f["why"] for f in d["clean"]["files"] if f["path"] == "'"$DATA/shared/after-the-attack.txt"'"][0]')"
nnotes=$(find "$DATA" -name README_RESTORE.txt | wc -l)
assert_eq "the .locked files and notes left out" "$((nlocked + nnotes))" \
	"$(list 'len([f for f in d["clean"]["left_out"] if f["why"] in ("attack-output", "renamed-copy") and (f["path"].endswith(".locked") or f["path"].endswith("README_RESTORE.txt"))])')"
echo "vault_restore_clean: ok"

#!/usr/bin/env bash
# vault_scan.sh - `kura scan` through a real kurad (docs/DETECTION.md,
# "kura scan"): a writer backs up bench/mkdata.py's tree with the backup
# key (a first day, a normal day, then mkdata's ransomware with
# --no-detect, as an attacker who owns the client would run it); a reader
# with the restore key scans the vault's snapshots, ordered by the vault's
# receive times, and gets the attack as the first suspect snapshot, the
# normal day as the clean point, the .locked files, and exit 5.
. "$(dirname "$0")/lib.sh"

ROOT=${KURA_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$WORK/data
python3 "$ROOT/bench/mkdata.py" --size 2M --seed 13 "$DATA" >/dev/null

init_vault "$WORK/vault"
vault_client ward7 writer clinic "$WORK/writer.cred"
vault_client restore1 reader clinic "$WORK/reader.cred"
start_vault

export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key --output "$WORK/backup.key"
export KURA_KEY_FILE=$WORK/backup.key

expect_exit 0 kura --json backup "$DATA"
python3 "$ROOT/bench/mkdata.py" --mutate 5 --day 1 --seed 13 "$DATA" >/dev/null
expect_exit 0 kura --json backup "$DATA"
clean=$(json_get "$OUT" 'd["snapshot_id"]')
python3 "$ROOT/bench/mkdata.py" --ransomware --seed 13 "$DATA" >/dev/null
expect_exit 0 kura --json backup --no-detect "$DATA"
attack=$(json_get "$OUT" 'd["snapshot_id"]')
nlocked=$(find "$DATA" -name '*.locked' | wc -l)
[ "$nlocked" -ge 10 ] || fail "mkdata encrypted only $nlocked files"

note "the writer's backup key cannot scan"
expect_exit 13 kura scan

note "a reader with the restore key scans the vault"
reader() { env -u KURA_KEY_FILE KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" "$@" </dev/null; }
expect_exit 5 reader --json scan --files
assert_eq "first suspect" "$attack" "$(json_get "$OUT" 'd["sources"][0]["first_suspect"]')"
assert_eq "clean point" "$clean" "$(json_get "$OUT" 'd["sources"][0]["clean_point"]')"
assert_eq "the backup judged nothing" null "$(json_get "$OUT" 'd["snapshots"][2]["backup"]["verdict"]')"
# a file under 512 bytes has no block to judge (blockstat.h): a 12-byte "photo" turned
# to 12 random bytes is not told from noise, by the backup or by the scan
judged=$(find "$DATA" -name '*.locked' -size +511c | sort)
assert_eq "every .locked file of 512 bytes or more listed" "$judged" \
	"$(json_get "$OUT" '"\n".join(sorted(f["path"] for f in d["snapshots"][2]["detection"]["files"] if f["path"].endswith(".locked")))')"
echo "PASS vault_scan"

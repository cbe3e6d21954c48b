#!/usr/bin/env bash
# vault_detect_verdict.sh - the backup's own verdict reaches the vault
# (server/watch.c, docs/DETECTION.md "On the vault"): a backup through a
# real kurad of bench/mkdata.py's tree is clean and raises nothing; after
# mkdata's ransomware the backup exits 5, and the vault, reading only the
# snapshot's plaintext summary, raises a "detection" alert naming the
# snapshot, the client and the score, with no file name in it.
. "$(dirname "$0")/lib.sh"

ROOT=${KURA_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$WORK/data
python3 "$ROOT/bench/mkdata.py" --size 2M --seed 11 "$DATA" >/dev/null

init_vault "$WORK/vault"
vault_client ward7 writer clinic "$WORK/writer.cred"
vault_client restore1 reader clinic "$WORK/reader.cred"
start_vault

export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key --output "$WORK/backup.key"
export KURA_KEY_FILE=$WORK/backup.key

alerts() { expect_exit 0 "$KURAD" status "$VAULT_DIR" --json; OUT=$(json_get "$OUT" 'd["alerts"]'); }

note "a first backup and a normal day: no detection alert"
backup_json "$DATA"
python3 "$ROOT/bench/mkdata.py" --mutate 5 --day 1 --seed 11 "$DATA" >/dev/null
backup_json "$DATA"
alerts
assert_eq "no detection alert on ordinary days" 0 "$(json_get "$OUT" 'len([a for a in d if a["kind"] == "detection"])')"

note "ransomware: the backup exits 5 and the vault raises a detection alert"
python3 "$ROOT/bench/mkdata.py" --ransomware --seed 11 "$DATA" >/dev/null
expect_exit 5 kura --json backup "$DATA"
suspect=$(json_get "$OUT" 'd["snapshot_id"]')
assert_eq "the client's verdict" suspect "$(json_get "$OUT" 'd["detection"]["verdict"]')"
alerts
det='[a for a in d if a["kind"] == "detection"]'
assert_eq "one detection alert" 1 "$(json_get "$OUT" "len($det)")"
assert_eq "it names the snapshot" "$suspect" "$(json_get "$OUT" "$det[0]['details']['snapshot']")"
assert_eq "and the client" ward7 "$(json_get "$OUT" "$det[0]['details']['client']")"
assert_eq "open" open "$(json_get "$OUT" "$det[0]['state']")"
summary=$(json_get "$OUT" "$det[0]['summary']")
assert_contains "the summary says whose verdict" "the backup's own detector" "$summary"
case $summary in *.locked* | *README* | *.docx*) fail "a file name in the clear: $summary" ;; esac
log=$(cat "$VAULT_DIR/audit/log.jsonl")
assert_eq "the audit log has it" 1 "$(ndjson_get "$log" "len([e for e in d if e.get('method') == 'ALERT' and 'kind=detection&repo=clinic' in e['path']])")"

note "a reader lists all three, the suspect one marked"
expect_exit 0 env -u KURA_KEY_FILE KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" snapshots
assert_contains "the suspect snapshot is marked" "SUSPECT" "$OUT"
echo "PASS vault_detect_verdict"

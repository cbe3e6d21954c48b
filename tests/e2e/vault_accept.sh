#!/usr/bin/env bash
# vault_accept.sh - `kura scan --accept` through a real kurad
# (docs/DETECTION.md, "Accepting a false alarm"; PROTOCOL.md): a writer
# backs up with the backup key; a legitimate job packs CSV exports into a
# random-looking format and the backup raises a false alarm (exit 5, a
# "detection" alert on the vault).  A writer credential cannot upload an
# acceptance, even with the restore key (403).  A reader with the restore
# key accepts it: the vault records ACCEPT in its audit log, naming the
# snapshot, and shows the acceptance with the alert, which stays open
# (only approvers resolve).  The writer's next backup reads the acceptance
# from the vault and is clean, saying so.  VAULT_ACCEPT_STORE=s3
# (tests/e2e/vault_s3_accept.sh): the same with the vault's repositories on
# a real Ceph RGW (kurad init --store).
. "$(dirname "$0")/lib.sh"
store=()
if [ "${VAULT_ACCEPT_STORE:-disk}" = s3 ]; then
	need_rgw
	s3_bucket accept
	store=(--store "s3:$S3_ENDPOINT/$S3_BUCKET/accept" --lock-days 1)
fi
stored_record() { # NAME OUT: the record as the vault stored it
	if [ ${#store[@]} -gt 0 ]; then
		s3curl -o "$2" "$S3_ENDPOINT/$S3_BUCKET/accept/clinic/accepts/$1"
	else
		cp "$VAULT_DIR/repos/clinic/accepts/$1" "$2"
	fi
}

ROOT=${KURA_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
DATA=$WORK/data
python3 "$ROOT/bench/mkdata.py" --size 2M --seed 17 "$DATA" >/dev/null
mkdir -p "$DATA/exports/lab"
for i in $(seq -w 1 40); do gen_text "$DATA/exports/lab/result_$i.csv" 200 "$i"; done
pack() {
	for i in $(seq -w "$1" "$2"); do
		local f=$DATA/exports/lab/result_$i.csv
		gen_random "$f.pak" "$(stat -c %s "$f")" "$i"
		rm -f "$f"
	done
}

init_vault "$WORK/vault" "${store[@]+"${store[@]}"}"
vault_client ward7 writer clinic "$WORK/writer.cred"
vault_client restore1 reader clinic "$WORK/reader.cred"
start_vault

export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key --output "$WORK/backup.key"
writer() { env -u KURA_PASSWORD_FILE KURA_KEY_FILE="$WORK/backup.key" "$KURA" "$@" </dev/null; }
reader() { env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" "$@" </dev/null; }

expect_exit 0 writer --json backup "$DATA"
expect_exit 0 writer --json backup "$DATA"
pack 01 20
expect_exit 5 writer --json backup "$DATA"
alarm=$(json_get "$OUT" 'd["snapshot_id"]')
alerts() { expect_exit 0 "$KURAD" status "$VAULT_DIR" --json; OUT=$(json_get "$OUT" 'd["alerts"]'); }
alerts
det='[a for a in d if a["kind"] == "detection"]'
assert_eq "a detection alert for it" "$alarm" "$(json_get "$OUT" "$det[0]['details']['snapshot']")"

note "a reader accepts it"
expect_exit 0 reader --json scan --accept "$alarm" --reason "export packer, change 2291"
rec=$(json_get "$OUT" 'd["record"]')

note "a writer credential may not upload an acceptance (a stolen client cannot accept its own attack)"
stored_record "$rec" "$WORK/record"
[ -s "$WORK/record" ] || fail "the record $rec is not in the store"
status=$(curl -sS -o "$WORK/body" -w '%{http_code}' --max-time 20 --noproxy '*' \
	--pinnedpubkey "$(cred_get "$WORK/writer.cred" pin)" --insecure -X PUT \
	-H "Authorization: Bearer $(cred_get "$WORK/writer.cred" token)" --data-binary "@$WORK/record" \
	"https://$VAULT_ADDR/v1/repos/clinic/accepts/$rec" 2>"$WORK/curl.err") || true
assert_eq "refused" 403 "$status"
assert_contains "why" "writers may not upload acceptance records" "$(cat "$WORK/body")"
log=$(cat "$VAULT_DIR/audit/log.jsonl")
assert_eq "ACCEPT in the audit log, naming the snapshot, by the reader" 1 \
	"$(ndjson_get "$log" "len([e for e in d if e.get('method') == 'ACCEPT' and e.get('client') == 'restore1' and 'snapshot=$alarm' in e['path'] and '$rec' in e['path']])")"
alerts
assert_eq "shown with the alert" "$rec" "$(json_get "$OUT" "$det[0]['acceptances'][0]['record']")"
assert_eq "which stays open" open "$(json_get "$OUT" "$det[0]['state']")"
expect_exit 0 "$KURAD" alert list "$VAULT_DIR"
assert_contains "kurad alert list says it" "accepted as a false alarm by an operator" "$OUT"
assert_contains "and who resolves" "only approvers resolve it" "$OUT"

note "the writer's next backup applies it"
pack 21 40
expect_exit 0 writer --json backup "$DATA"
assert_eq "clean" clean "$(json_get "$OUT" 'd["detection"]["verdict"]')"
assert_eq "the acceptance applied" "$alarm" "$(json_get "$OUT" 'd["detection"]["accepted"]["snapshots"]')"
assert_eq "to the packed files" 20 "$(json_get "$OUT" 'd["detection"]["accepted"]["files"]')"
stop_vault
echo "PASS vault_accept"

#!/usr/bin/env bash
# vault_detect.sh - the vault's own judgment, end to end through a real
# kurad on loopback (server/watch.c, hold.c, alerts.c).
#
# Vault 1: a writer's history of small backups, then one that adds 4 MiB of
# random (encrypted-looking) data: a bytes-surge alert in `kurad status
# --json`, the operator's alert command ran (it writes a file), the audit
# log has it.  A deletion request for the last clean snapshot is refused
# with the hold's reason (an older one is not held); one approver does not
# resolve the alert, the quorum does (audited), and then the same deletion
# is filed, approved and carried out as the policy allows.  A burst of
# failed logins raises exactly one aggregated login-burst alert.
# Vault 2: a writer that stops backing up past its usual interval raises
# "silence" ("silence_min" made small in vault.json).
# slow
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
mkdir -p "$SRC"
ALERTS_RAN=$WORK/alerts-ran.log

# set_detect JSON: vault.json's "detect" and an alert command that appends to $ALERTS_RAN.
set_settings() {
	python3 - "$VAULT_DIR/vault.json" "$1" "$ALERTS_RAN" <<'EOF'
import json, sys
path, detect, out = sys.argv[1], sys.argv[2], sys.argv[3]
d = json.load(open(path))
d["detect"] = json.loads(detect)
d["alert_command"] = ["/bin/sh", "-c",
                      'echo "$KURA_ALERT_ID $KURA_ALERT_KIND $KURA_ALERT_REPO" >> "$0"', out]
open(path, "w").write(json.dumps(d, indent=2) + "\n")
EOF
}

# alerts_json: the "alerts" array of `kurad status --json`, in $OUT.
alerts_json() {
	expect_exit 0 "$KURAD" status "$VAULT_DIR" --json
	OUT=$(json_get "$OUT" 'd["alerts"]')
}

# wait_for WHAT PYTHON_EXPR: poll the alerts (d) for up to 10 s until EXPR is true.
wait_for() {
	local i
	for i in $(seq 1 50); do
		alerts_json
		[ "$(json_get "$OUT" "$2")" = true ] && return 0
		sleep 0.2
	done
	fail "$1: not within 10 s; alerts: $OUT"
}

init_vault "$WORK/vault"
vault_client ward4 writer clinic "$WORK/writer.cred"
vault_client restore1 reader clinic "$WORK/reader.cred"
vault_client soc auditor "" "$WORK/auditor.cred"
for a in alice bob carol; do
	expect_exit 0 "$KURAD" approver add "$VAULT_DIR" "$a" --output "$WORK/$a.key" --kdf interactive
done
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quorum 2 --delay 1s --min-age 0 \
	--keep-daily 0 --keep-weekly 0 --keep-monthly 0
set_settings '{"surge_min": 1048576}'
start_vault

note "a history of small backups"
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key --output "$WORK/backup.key"
export KURA_KEY_FILE=$WORK/backup.key
snaps=()
for day in 1 2 3 4; do
	gen_text "$SRC/notes-$day.txt" 300 "day$day"
	backup_json "$SRC"
	snaps+=("$SNAP_ID")
done
clean=${snaps[3]}
alerts_json
assert_eq "no alert from ordinary days" "[]" "$OUT"
[ "$(wc -l <"$VAULT_DIR/meta/clinic/volumes")" -eq 4 ] || fail "volumes: $(cat "$VAULT_DIR/meta/clinic/volumes")"

note "the backup that first holds 4 MiB of ciphertext-like data raises bytes-surge"
gen_random "$SRC/ward4.db.locked" $((4 * 1024 * 1024)) locked
backup_json "$SRC"
suspect=$SNAP_ID
alerts_json
assert_eq "one alert" 1 "$(json_get "$OUT" 'len(d)')"
assert_eq "its kind" bytes-surge "$(json_get "$OUT" 'd[0]["kind"]')"
assert_eq "its repository" clinic "$(json_get "$OUT" 'd[0]["repo"]')"
assert_eq "open" open "$(json_get "$OUT" 'd[0]["state"]')"
assert_eq "it names the snapshot" "$suspect" "$(json_get "$OUT" 'd[0]["details"]["snapshot"]')"
assert_eq "and the client" ward4 "$(json_get "$OUT" 'd[0]["details"]["client"]')"
[ "$(json_get "$OUT" 'd[0]["details"]["new_bytes"]')" -ge $((4 * 1024 * 1024)) ] ||
	fail "new_bytes below the data added: $OUT"
alert_id=$(json_get "$OUT" 'd[0]["id"]')
for _ in $(seq 1 50); do [ -s "$ALERTS_RAN" ] && break; sleep 0.1; done
assert_eq "the alert command ran" "$alert_id bytes-surge clinic" "$(cat "$ALERTS_RAN" 2>/dev/null)"
expect_exit 0 "$KURAD" status "$VAULT_DIR"
assert_contains "status shows the alert" "bytes-surge" "$OUT"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/auditor.cred" "$KURA" vault status
assert_contains "an auditor sees it too" "bytes-surge" "$OUT"
log=$(cat "$VAULT_DIR/audit/log.jsonl")
assert_eq "the audit log has it" 1 "$(ndjson_get "$log" "len([e for e in d if e.get('method') == 'ALERT' and 'kind=bytes-surge&repo=clinic' in e['path']])")"

note "the hold: the last clean snapshot cannot be deleted, an older one can be asked for"
expect_exit 1 kura forget --prune "${clean:0:12}"
assert_contains "forget names the held snapshot" "$clean" "$ERR"
assert_contains "with the hold's reason" "held while an alert on this repository is open" "$ERR"
expect_exit 1 kura forget "${suspect:0:12}"
assert_contains "what came after the alert is held too" "after it" "$ERR"
expect_exit 0 kura --json forget "${snaps[0]:0:12}"
old_req=$(json_get "$OUT" 'd["id"]')
expect_exit 0 "$KURAD" cancel "$VAULT_DIR" "$old_req" --key "$WORK/carol.key"

note "one approver does not resolve the alert; the quorum does"
expect_exit 2 "$KURAD" alert resolve "$VAULT_DIR" "$alert_id"
expect_exit 1 "$KURAD" alert resolve "$VAULT_DIR" "$alert_id" --key "$WORK/writer.cred"
expect_exit 0 "$KURAD" alert resolve "$VAULT_DIR" "$alert_id" --key "$WORK/alice.key"
assert_contains "resolve summary" "1 of 2 needed" "$OUT"
expect_exit 1 "$KURAD" alert resolve "$VAULT_DIR" "$alert_id" --key "$WORK/alice.key"
assert_contains "twice" "already" "$ERR"
alerts_json
assert_eq "still open" open "$(json_get "$OUT" 'd[0]["state"]')"
expect_exit 1 kura forget --prune "${clean:0:12}"
expect_exit 0 "$KURAD" alert resolve "$VAULT_DIR" "$alert_id" --key "$WORK/bob.key"
assert_contains "resolve summary" "The alert is resolved" "$OUT"
alerts_json
assert_eq "resolved" resolved "$(json_get "$OUT" 'd[0]["state"]')"
for _ in $(seq 1 50); do
	log=$(cat "$VAULT_DIR/audit/log.jsonl")
	[ "$(ndjson_get "$log" "len([e for e in d if e.get('method') == 'RESOLVE'])")" = 1 ] && break
	sleep 0.2
done
assert_eq "resolution logged" 1 "$(ndjson_get "$log" "len([e for e in d if e.get('method') == 'RESOLVE'])")"
assert_eq "approvals logged" "alice bob" "$(ndjson_get "$log" "' '.join(e['client'] for e in d if e.get('method') == 'RESOLVE-APPROVE' and e['status'] == 200)")"

note "then the deletion of that snapshot proceeds as the policy allows"
expect_exit 0 kura --json forget --prune "${clean:0:12}"
req=$(json_get "$OUT" 'd["id"]')
expect_exit 0 "$KURAD" approve "$VAULT_DIR" "$req" --key "$WORK/alice.key"
expect_exit 0 "$KURAD" approve "$VAULT_DIR" "$req" --key "$WORK/bob.key"
state=pending
for _ in $(seq 1 50); do
	expect_exit 0 "$KURAD" deletions "$VAULT_DIR" --json
	state=$(json_get "$OUT" "[r['state'] for r in d if r['id'] == $req][0]")
	[ "$state" = done ] && break
	sleep 0.2
done
assert_eq "the request is carried out" done "$state"
assert_eq "the snapshot was removed" "[\"$clean\"]" "$(json_get "$OUT" "[r for r in d if r['id'] == $req][0]['result']['snapshots_removed']")"
[ ! -e "$VAULT_DIR/repos/clinic/snapshots/$clean" ] || fail "snapshot $clean is still stored"

note "a burst of failed logins raises one aggregated alert"
PIN=$(cred_get "$WORK/writer.cred" pin)
urls=()
for i in $(seq 1 130); do urls+=("https://$VAULT_ADDR/v1/repos/clinic/snapshots/"); done
curl -s -o /dev/null --noproxy '*' --pinnedpubkey "$PIN" --insecure --max-time 60 \
	-H "Authorization: Bearer not-a-token-$RANDOM" "${urls[@]}" >/dev/null || true
wait_for "a login-burst alert" 'len([a for a in d if a["kind"] == "login-burst"]) == 1'
assert_eq "of the whole vault" null "$(json_get "$OUT" '[a for a in d if a["kind"] == "login-burst"][0]["repo"]')"
curl -s -o /dev/null --noproxy '*' --pinnedpubkey "$PIN" --insecure --max-time 60 \
	-H "Authorization: Bearer still-not-a-token" "${urls[@]}" >/dev/null || true
sleep 2
alerts_json
assert_eq "still one login-burst alert" 1 "$(json_get "$OUT" 'len([a for a in d if a["kind"] == "login-burst"])')"
assert_eq "raised once for one burst" 1 "$(json_get "$OUT" '[a for a in d if a["kind"] == "login-burst"][0]["count"]')"
stop_vault
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"

note "vault 2: a writer silent past its usual interval raises silence"
init_vault "$WORK/vault2"
vault_client lab1 writer lab "$WORK/lab.cred"
vault_client labr reader lab "$WORK/labr.cred"
set_settings '{"silence_min": "1s"}'
start_vault
export KURA_REPOSITORY=vault://$VAULT_ADDR/lab KURA_VAULT_CREDENTIALS=$WORK/lab.cred
unset KURA_KEY_FILE
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/labr.cred" "$KURA" key backup-key --output "$WORK/lab.key"
export KURA_KEY_FILE=$WORK/lab.key
for run in 1 2 3 4; do
	gen_text "$SRC/lab-$run.txt" 50 "lab$run"
	backup_json "$SRC"
done
alerts_json
assert_eq "no silence while it backs up" 0 "$(json_get "$OUT" 'len([a for a in d if a["kind"] == "silence"])')"
wait_for "a silence alert" 'len([a for a in d if a["kind"] == "silence" and a["repo"] == "lab"]) == 1'
assert_eq "it names the client" lab1 "$(json_get "$OUT" '[a for a in d if a["kind"] == "silence"][0]["details"]["client"]')"
sleep 2
alerts_json
assert_eq "raised once for one silence" 1 "$(json_get "$OUT" '[a for a in d if a["kind"] == "silence"][0]["count"]')"
stop_vault

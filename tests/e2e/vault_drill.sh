#!/usr/bin/env bash
# vault_drill.sh - drills through the real kurad: a reader credential runs
# the drill and uploads its record, the vault reads the summary without a
# key and `kurad status` (text and --json, and GET /v1/status for an
# auditor) shows the last drill, its age, result and RTO; a writer cannot
# upload a drill record (it would be a forgery) and a reader cannot upload
# anything else; a drill that finds damage reaches the vault as failed and
# raises the alert drill-failed; a repository not drilled within the
# policy's drill_every is overdue and raises drill-overdue (server/alerts.c).
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
mkdir -p "$SRC/ward4"
for i in 1 2 3 4 5 6; do gen_random "$SRC/ward4/scan$i.dcm" $((i * 70000)) "scan$i"; done
gen_text "$SRC/ward4/notes.txt" 2000 notes

init_vault "$WORK/vault"
vault_client ward4-backup writer clinic "$WORK/writer.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"
vault_client soc auditor "" "$WORK/auditor.cred"
start_vault
REPO_DIR=$VAULT_DIR/repos/clinic
PIN=$(cred_get "$WORK/writer.cred" pin)
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic

note "a repository on the vault, one backup with the backup key"
export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key \
	--output "$WORK/backup.key"
# random bytes named .dcm are what encrypted scans look like: detection
# (another test's subject) would rightly call this backup suspect (exit 5)
expect_exit 0 env KURA_KEY_FILE="$WORK/backup.key" "$KURA" backup --no-detect "$SRC"

note "no drill yet: status says never"
expect_exit 0 "$KURAD" status "$VAULT_DIR" --json
assert_eq "last_drill before any drill" null \
	"$(json_get "$OUT" '[r["last_drill"] for r in d["repositories"] if r["name"] == "clinic"][0]')"

note "the reader drills; the record reaches the vault"
export KURA_VAULT_CREDENTIALS=$WORK/reader.cred
expect_exit 0 kura --json drill
rec=$(json_get "$OUT" 'd["record_id"]')
rto=$(json_get "$OUT" 'd["rto_seconds"]')
[ -f "$REPO_DIR/drills/$rec" ] || fail "the vault does not hold drills/$rec"
expect_exit 0 "$KURAD" status "$VAULT_DIR" --json
clinic='[r for r in d["repositories"] if r["name"] == "clinic"][0]'
assert_eq "last drill id" "$rec" "$(json_get "$OUT" "$clinic"'["last_drill"]["id"]')"
assert_eq "last drill result" passed "$(json_get "$OUT" "$clinic"'["last_drill"]["result"]')"
v=$(json_get "$OUT" 'abs('"$clinic"'["last_drill"]["rto_seconds"] - '"$rto"') < 0.002')
assert_eq "the vault's RTO is the drill's ($rto s)" true "$v"
v=$(json_get "$OUT" '0 <= '"$clinic"'["last_drill"]["age_seconds"] < 120')
assert_eq "age of the drill" true "$v"
assert_eq "not overdue without a policy" false "$(json_get "$OUT" "$clinic"'["drill_overdue"]')"
expect_exit 0 "$KURAD" status "$VAULT_DIR"
assert_contains "text status: drill table" "DRILL" "$OUT"
assert_contains "text status: the drill" "${rec:0:8}" "$OUT"
assert_contains "text status: passed" "passed" "$OUT"
note "an auditor sees the same through GET /v1/status"
A_TOKEN=$(cred_get "$WORK/auditor.cred" token)
body=$(curl -sS --max-time 20 --noproxy '*' --pinnedpubkey "$PIN" --insecure \
	-H "Authorization: Bearer $A_TOKEN" "https://$VAULT_ADDR/v1/status")
assert_eq "auditor's view of the last drill" "$rec" "$(json_get "$body" "$clinic"'["last_drill"]["id"]')"
expect_exit 0 kura --json drill --list
assert_eq "the reader lists the record" "$rec" "$(json_get "$OUT" 'd[-1]["id"]')"

note "who may upload a drill record: readers only, and readers nothing else but proof records"
put() { # TOKEN_CRED TYPE FILE: prints the HTTP status
	local name
	name=$(sha256sum "$3" | cut -c1-64)
	curl -sS -o "$WORK/body" -w '%{http_code}' --max-time 20 --noproxy '*' \
		--pinnedpubkey "$PIN" --insecure -X PUT --data-binary "@$3" -H 'Expect: 100-continue' \
		-H "Authorization: Bearer $(cred_get "$1" token)" \
		"https://$VAULT_ADDR/v1/repos/clinic/$2/$name"
}
cp "$REPO_DIR/drills/$rec" "$WORK/record"
printf 'x' >>"$WORK/forged" && cat "$WORK/record" >>"$WORK/forged"
assert_eq "a writer's drill record" 403 "$(put "$WORK/writer.cred" drills "$WORK/record")"
assert_contains "why" "writers may not upload drill records" "$(cat "$WORK/body")"
# the smallest pack: the vault refuses before reading the body and closes,
# and a body larger than the socket's buffers would end in a broken pipe
pack=$(find "$REPO_DIR/data" -type f -printf '%s %p\n' | sort -n | sed -n 1p | cut -d' ' -f2-)
assert_eq "a reader's pack" 403 "$(put "$WORK/reader.cred" data "$pack")"
assert_contains "why" "readers may upload only drill, proof and acceptance records" "$(cat "$WORK/body")"
assert_eq "junk as a drill record" 400 "$(put "$WORK/reader.cred" drills "$WORK/forged")"
assert_contains "why" "drill record" "$(cat "$WORK/body")"
assert_eq "the reader's record again" 200 "$(put "$WORK/reader.cred" drills "$WORK/record")"

note "proof records: check --read-data through the reader leaves one; a writer may not, junk is refused"
expect_exit 0 kura check --read-data
prec=$(find "$REPO_DIR/proofs" -type f | sed -n 1p)
[ -n "$prec" ] || fail "check --read-data left no proof record on the vault"
cp "$prec" "$WORK/proof"
assert_eq "a writer's proof record" 403 "$(put "$WORK/writer.cred" proofs "$WORK/proof")"
assert_contains "why" "writers may not upload proof records" "$(cat "$WORK/body")"
printf 'KURAPROF junk' >"$WORK/junkproof"
assert_eq "junk as a proof record" 400 "$(put "$WORK/reader.cred" proofs "$WORK/junkproof")"
assert_contains "why" "proof record" "$(cat "$WORK/body")"

note "a drill that finds damage reaches the vault as failed"
big=$(find "$REPO_DIR/data" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
chattr -i "$big" 2>/dev/null || true
chmod u+w "$big"
printf '\xff' | dd of="$big" bs=1 seek=200 conv=notrunc status=none
expect_exit 6 kura --json drill
frec=$(json_get "$OUT" 'd["record_id"]')
assert_contains "the drill names a file" "$SRC/ward4/" "$ERR"
expect_exit 0 "$KURAD" status "$VAULT_DIR" --json
assert_eq "the vault's last drill is the failed one" "$frec" \
	"$(json_get "$OUT" "$clinic"'["last_drill"]["id"]')"
assert_eq "result" failed "$(json_get "$OUT" "$clinic"'["last_drill"]["result"]')"
assert_not_contains "no file name reaches the vault's status" "$SRC" "$OUT"
assert_not_contains "no file name reaches the vault's status" ".dcm" "$OUT"
# wait_alert KIND: until `kurad status --json` lists an open alert of KIND for clinic
wait_alert() {
	local i
	for i in $(seq 1 40); do
		"$KURAD" status "$VAULT_DIR" --json >"$WORK/status.json" 2>/dev/null || true
		python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if any(a.get("repo") == "clinic" and a.get("kind") == sys.argv[2]
                  and a.get("state") == "open" for a in d.get("alerts", [])) else 1)' \
			"$WORK/status.json" "$1" && return 0
		sleep 0.5
	done
	fail "no open $1 alert for clinic after 20 s: $(cat "$WORK/status.json")"
}
wait_alert drill-failed
v=$(json_get "$(cat "$WORK/status.json")" '[a["details"]["drill"] for a in d["alerts"] if a["kind"] == "drill-failed"][0]')
assert_eq "the alert names the failed drill" "$frec" "$v"

note "a drill older than drill_every is overdue"
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --drill-every 2s
assert_contains "policy shows it" "drill every" "$OUT"
sleep 3
expect_exit 0 "$KURAD" status "$VAULT_DIR" --json
assert_eq "overdue" true "$(json_get "$OUT" "$clinic"'["drill_overdue"]')"
assert_eq "drill_every" 2s "$(json_get "$OUT" "$clinic"'["drill_every"]')"
expect_exit 0 "$KURAD" status "$VAULT_DIR"
assert_contains "text status says overdue" "OVERDUE" "$OUT"
wait_alert drill-overdue
assert_contains "the alert is in the audit log" 'kind=drill-overdue' "$(cat "$VAULT_DIR/audit/log.jsonl")"

stop_vault
echo "PASS vault_drill"

#!/usr/bin/env bash
# vault_quota.sh - a stolen writer cannot store more than its quota (issue
# 10, finding 3), against the real kurad on loopback:
# - the policy gives repository clinic 12 MiB a day; a clean backup (~6
#   MiB) within it succeeds;
# - the same writer then backs up random data, 3 MiB a run: stored until
#   the allowance is used up, then refused with 507, and `kura` says it was
#   the vault's quota, which limit and when it refills; more junk PUTs get 507 with the JSON body naming the limit,
#   its value and the refill time (and Retry-After);
# - the refusal raises the repository's "quota" alert: in the status, in
#   the log, and the operator's alert_command runs;
# - meanwhile a reader restores the clean snapshot byte-identical and
#   GET /v1/status answers, showing the limits and the day's usage;
# - the audit log holds one 507 request entry for the writer and one
#   REFUSED summary counting the rest; it verifies;
# - after a restart the day's usage is still counted: `kurad status`
#   shows it and another upload is still refused; so it is when the
#   ledger was lost (rebuilt from the stored files' times and sizes);
# - a writer of another repository is refused for its credential's burst
#   (never fits) and its repository's cap;
# - `kurad policy set` keeps the quota member.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
make_tree "$SRC"
init_vault "$WORK/vault"
vault_client ward writer clinic "$WORK/writer.cred"
vault_client reader reader clinic "$WORK/reader.cred"
vault_client au auditor "" "$WORK/au.cred"
vault_client labw writer lab "$WORK/labw.cred"
note "quotas set with kurad policy set"
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quota-for repo:clinic --quota-daily 12MiB
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quota-for repo:lab --quota-cap 2MiB
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quota-for clients --quota-burst 64GiB
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quota-for client:labw --quota-daily 1GiB --quota-burst 512KiB
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quota-for client:gone --quota-daily 5GiB
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quota-for client:gone --quota-daily derived
expect_exit 2 "$KURAD" policy set "$VAULT_DIR" --quota-for client:labw --quota-cap 1GiB
assert_contains "a client has no cap" "no cap" "$ERR"
expect_exit 2 "$KURAD" policy set "$VAULT_DIR" --quota-daily 12MB
assert_contains "the bad size is named" "'12MB' is not a size" "$ERR"
expect_exit 2 "$KURAD" policy set "$VAULT_DIR" --quota-for 'repo:../x' --quota-daily 1GiB
python3 - "$VAULT_DIR/vault.json" "$WORK/alerted" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["alert_command"] = ["/bin/sh", "-c", 'printf "%s %s\\n" "$KURA_ALERT_KIND" "$KURA_ALERT_REPO" >>' + sys.argv[2]]
json.dump(d, open(sys.argv[1], "w"))
EOF
expect_exit 0 "$KURAD" policy "$VAULT_DIR" --json
assert_eq "the quota as the policy shows it" '{"client": {"burst": "64GiB"}, "clients": {"labw": {"burst": "512KiB", "daily": "1GiB"}}, "repositories": {"clinic": {"daily": "12MiB"}, "lab": {"cap": "2MiB"}}}' \
	"$(json_get "$OUT" 'json.dumps(d["quota"], sort_keys=True)')"
start_vault
PIN=$(cred_get "$WORK/au.cred" pin)
AU_TOKEN=$(cred_get "$WORK/au.cred" token)
W_TOKEN=$(cred_get "$WORK/writer.cred" token)
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic KURA_VAULT_CREDENTIALS=$WORK/writer.cred

# vcurl OUTFILE ARGS...: a request to the vault; prints the HTTP status
vcurl() {
	local out=$1
	shift
	curl -sS -o "$out" -D "$out.headers" -w '%{http_code}' --max-time 20 --noproxy '*' \
		--pinnedpubkey "$PIN" --insecure "$@"
}

note "a clean backup within the quota"
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key --output "$WORK/backup.key"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key export --output "$WORK/restore.key"
export KURA_KEY_FILE=$WORK/backup.key
backup_json "$SRC"
clean=$SNAP_ID

note "the writer uploads junk past the quota: 507 naming the quota"
# 3 MiB of random data a run: stored while the day's allowance lasts, then refused
stored=0 refused=0
for i in 1 2 3 4 5; do
	mkdir -p "$WORK/data/junk$i"
	gen_random "$WORK/data/junk$i/f" $((3 << 20)) "junk$i"
	rc=0
	kura backup "$WORK/data/junk$i" >"$WORK/junk.out" 2>"$WORK/junk.err" || rc=$?
	no_crash "$rc" "$WORK/junk.err" "kura backup"
	if [ "$rc" -eq 0 ]; then
		stored=$((stored + 1))
		continue
	fi
	ERR=$(cat "$WORK/junk.err")
	refused=1
	break
done
[ "$stored" -ge 1 ] && [ "$refused" = 1 ] || fail "junk runs: $stored stored, then refused: $refused"
assert_contains "kura names the quota" "refused by the vault's quota (HTTP 507)" "$ERR"
assert_contains "which limit" "repository clinic may store 12.0 MiB a day" "$ERR"
assert_contains "when it refills" "it fits again at" "$ERR"

gen_random "$WORK/junk.bin" $((1 << 20)) more-junk
name=$(sha256sum "$WORK/junk.bin" | cut -d' ' -f1)
PUTS=5
for i in $(seq 1 $PUTS); do
	code=$(vcurl "$WORK/put.out" -X PUT -H "Expect: 100-continue" -H "Authorization: Bearer $W_TOKEN" \
		--data-binary @"$WORK/junk.bin" "https://$VAULT_ADDR/v1/repos/clinic/data/$name")
	assert_eq "junk PUT $i" 507 "$code"
done
body=$(cat "$WORK/put.out")
assert_eq "the limit" daily "$(json_get "$body" 'd["quota"]["limit"]')"
assert_eq "its scope" repository "$(json_get "$body" 'd["quota"]["scope"]')"
assert_eq "its value" $((12 << 20)) "$(json_get "$body" 'd["quota"]["value"]')"
refill=$(json_get "$body" 'd["quota"]["refill"]')
[[ $refill =~ ^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:]+Z$ ]] || fail "refill is not a time: $refill"
assert_contains "the message" "it fits again at $refill" "$(json_get "$body" 'd["error"]')"
grep -qi '^Retry-After: [1-9][0-9]*' "$WORK/put.out.headers" || fail "no Retry-After: $(cat "$WORK/put.out.headers")"

note "a credential's burst and a repository's cap"
L_TOKEN=$(cred_get "$WORK/labw.cred" token)
code=$(vcurl "$WORK/lab.out" -X PUT -H "Expect: 100-continue" -H "Authorization: Bearer $L_TOKEN" \
	--data-binary @"$WORK/junk.bin" "https://$VAULT_ADDR/v1/repos/lab/data/$name")
assert_eq "1 MiB over a 512 KiB burst" 507 "$code"
assert_eq "the limit" burst "$(json_get "$(cat "$WORK/lab.out")" 'd["quota"]["limit"]')"
assert_eq "whose" "client labw" "$(json_get "$(cat "$WORK/lab.out")" 'd["quota"]["scope"] + " " + d["quota"]["name"]')"
assert_eq "no refill time" None "$(json_get "$(cat "$WORK/lab.out")" 'str(d["quota"].get("refill"))')"
assert_contains "never fits" "it can never be stored under this limit" "$(cat "$WORK/lab.out")"
gen_random "$WORK/big.bin" $((3 << 20)) big
big=$(sha256sum "$WORK/big.bin" | cut -d' ' -f1)
code=$(vcurl "$WORK/lab.out" -X PUT -H "Expect: 100-continue" -H "Authorization: Bearer $L_TOKEN" \
	--data-binary @"$WORK/big.bin" "https://$VAULT_ADDR/v1/repos/lab/data/$big")
assert_eq "3 MiB over a 2 MiB cap" 507 "$code"
assert_eq "the limit" cap "$(json_get "$(cat "$WORK/lab.out")" 'd["quota"]["limit"]')"
assert_eq "its value" $((2 << 20)) "$(json_get "$(cat "$WORK/lab.out")" 'd["quota"]["value"]')"
assert_contains "the message" "past its hard cap of 2.0 MiB" "$(cat "$WORK/lab.out")"

note "reads and the status keep working"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" --json snapshots
assert_eq "snapshots: the clean one and the stored junk runs" $((1 + stored)) "$(json_get "$OUT" 'len(d)')"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" KURA_KEY_FILE="$WORK/restore.key" \
	"$KURA" restore "$clean" --target "$WORK/restored"
same_tree "$SRC" "$WORK/restored$SRC"
code=$(vcurl "$WORK/status.out" -H "Authorization: Bearer $AU_TOKEN" "https://$VAULT_ADDR/v1/status")
assert_eq "GET /v1/status over quota" 200 "$code"
status=$(cat "$WORK/status.out")
assert_eq "daily in the status" $((12 << 20)) "$(json_get "$status" 'd["repositories"][0]["quota"]["daily"]')"
assert_eq "set by" policy "$(json_get "$status" 'd["repositories"][0]["quota"]["set_by"]["daily"]')"
assert_eq "cap" null "$(json_get "$status" 'd["repositories"][0]["quota"]["cap"]')"
assert_eq "the writer's burst" $((64 << 30)) "$(json_get "$status" 'd["repositories"][0]["quota"]["clients"][0]["burst"]')"
used=$(json_get "$status" 'd["repositories"][0]["quota"]["stored_today"]')
[ "$used" -ge $((5 << 20)) ] && [ "$used" -le $((12 << 20)) ] || fail "stored_today is $used"
left=$(json_get "$status" 'd["repositories"][0]["quota"]["available"]')
[ "$left" -lt $((4 << 20)) ] || fail "available is $left after the refusals"
assert_contains "the operator is told" "refused (507): quota: repository clinic" "$(cat "$WORK/kurad.err")"
alerts=$(json_get "$status" '[a for a in d["alerts"] if a["kind"] == "quota" and a["repo"] == "clinic"]')
assert_eq "one quota alert" 1 "$(json_get "$alerts" 'len(d)')"
assert_eq "for the repository" clinic "$(json_get "$alerts" 'd[0]["repo"]')"
assert_eq "open" open "$(json_get "$alerts" 'd[0]["state"]')"
assert_contains "its summary" "writer ward refused (507): quota: repository clinic may store 12.0 MiB a day" \
	"$(json_get "$alerts" 'd[0]["summary"]')"
for i in $(seq 1 50); do [ -s "$WORK/alerted" ] && break; sleep 0.1; done
assert_contains "the alert command ran" "quota clinic" "$(cat "$WORK/alerted" 2>/dev/null)"

note "after a restart the day's usage still counts"
stop_vault
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"
log=$(cat "$VAULT_DIR/audit/log.jsonl")
n507=$(ndjson_get "$log" 'sum(1 for e in d if e.get("status") == 507 and e.get("method") == "PUT")')
assert_eq "507 requests logged one by one (ward's first, labw's first)" 2 "$n507"
summary=$(ndjson_get "$log" '[e for e in d if e.get("method") == "REFUSED" and e.get("client") == "ward"]')
assert_eq "one aggregated entry" 1 "$(json_get "$summary" 'len(d)')"
assert_eq "its status" 507 "$(json_get "$summary" 'd[0]["status"]')"
assert_eq "its path" /v1/repos/clinic/quota/daily "$(json_get "$summary" 'd[0]["path"]')"
count=$(json_get "$summary" 'd[0]["count"]')
[ "$count" -ge "$PUTS" ] || fail "the summary counts $count refusals, want at least $PUTS"
[ -f "$VAULT_DIR/meta/clinic/quota.json" ] || fail "no quota ledger"
assert_eq "one alert entry per repository for the window" 2 "$(ndjson_get "$log" 'sum(1 for e in d if e.get("method", "").startswith("ALERT"))')"
assert_eq "labw's second refusal in its summary" 1 "$(ndjson_get "$log" '[e["count"] for e in d if e.get("method") == "REFUSED" and e.get("client") == "labw"][0]')"

expect_exit 0 "$KURAD" status "$VAULT_DIR" --json
assert_eq "stored_today after the stop" "$used" "$(json_get "$OUT" 'd["repositories"][0]["quota"]["stored_today"]')"
expect_exit 0 "$KURAD" status "$VAULT_DIR"
assert_contains "the quota table" "UPLOAD QUOTA" "$OUT"
assert_contains "clinic's row" "12.0 MiB   12.0 MiB" "$OUT"
expect_exit 0 "$KURAD" policy "$VAULT_DIR"
assert_contains "the policy shows its quotas" '"clinic": {"daily": "12MiB"}' "$OUT"
start_vault
code=$(vcurl "$WORK/put.out" -X PUT -H "Expect: 100-continue" -H "Authorization: Bearer $W_TOKEN" \
	--data-binary @"$WORK/junk.bin" "https://$VAULT_ADDR/v1/repos/clinic/data/$name")
assert_eq "junk PUT after the restart" 507 "$code"
code=$(vcurl "$WORK/status.out" -H "Authorization: Bearer $AU_TOKEN" "https://$VAULT_ADDR/v1/status")
assert_eq "status after the restart" 200 "$code"
assert_eq "stored_today after the restart" "$used" \
	"$(json_get "$(cat "$WORK/status.out")" 'd["repositories"][0]["quota"]["stored_today"]')"
stop_vault
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"

note "a lost ledger is rebuilt from the stored files: the last 24 hours still count"
chmod u+w "$VAULT_DIR/meta/clinic/quota.json" 2>/dev/null || true
echo 'not json' >"$VAULT_DIR/meta/clinic/quota.json"
start_vault
code=$(vcurl "$WORK/put.out" -X PUT -H "Expect: 100-continue" -H "Authorization: Bearer $W_TOKEN" \
	--data-binary @"$WORK/junk.bin" "https://$VAULT_ADDR/v1/repos/clinic/data/$name")
assert_eq "junk PUT after the ledger was lost" 507 "$code"
assert_contains "the operator is told" "not a quota ledger; rebuilt from the repository's files" "$(cat "$WORK/kurad.err")"
stop_vault
expect_exit 0 "$KURAD" status "$VAULT_DIR" --json
assert_eq "stored_today rebuilt" "$used" "$(json_get "$OUT" 'd["repositories"][0]["quota"]["stored_today"]')"

note "kurad policy set keeps the quotas"
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quorum 1 --json
assert_eq "quota kept" 12MiB "$(json_get "$OUT" 'd["quota"]["repositories"]["clinic"]["daily"]')"

echo "PASS $TEST_NAME"

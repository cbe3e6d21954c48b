#!/usr/bin/env bash
# vault_admin.sh - what the operator changes on the vault host takes effect
# in a running `kurad serve` and lands in its audit log: a client issued
# while serving works within seconds, a revoked one (a stolen backup
# client's) is refused from then on, also after a restart; approvers added
# and policy changes are logged; the log still verifies.
. "$(dirname "$0")/lib.sh"

init_vault "$WORK/vault"
vault_client ward4-backup writer clinic "$WORK/writer.cred"
start_vault
PIN=$(cred_get "$WORK/writer.cred" pin)

# status_of TOKEN PATH: the HTTP status of one GET.
status_of() {
	curl -sS -o /dev/null -w '%{http_code}' --max-time 20 --noproxy '*' --pinnedpubkey "$PIN" \
		--insecure -H "Authorization: Bearer $1" "https://$VAULT_ADDR$2" || true
}
# wait_status WANT TOKEN PATH: poll for up to 10 s (the reload runs every second).
wait_status() {
	local got i
	for i in $(seq 1 50); do
		got=$(status_of "$2" "$3")
		[ "$got" = "$1" ] && return 0
		sleep 0.2
	done
	fail "GET $3: expected $1 within 10 s, still $got"
}
W_TOKEN=$(cred_get "$WORK/writer.cred" token)
[ "$(status_of "$W_TOKEN" /v1/repos/clinic/config/)" = 200 ] || fail "the writer cannot list config"

note "a reader and an auditor issued while serving work without a restart"
vault_client restore-host reader clinic "$WORK/reader.cred"
vault_client soc auditor "" "$WORK/auditor.cred"
R_TOKEN=$(cred_get "$WORK/reader.cred" token)
A_TOKEN=$(cred_get "$WORK/auditor.cred" token)
wait_status 200 "$R_TOKEN" /v1/repos/clinic/snapshots/
wait_status 200 "$A_TOKEN" /v1/status
note "a client for a new repository gets that repository"
vault_client lab-backup writer lab "$WORK/lab.cred"
wait_status 200 "$(cred_get "$WORK/lab.cred" token)" /v1/repos/lab/config/

note "revoking the stolen writer: refused within seconds, and after a restart"
expect_exit 0 "$KURAD" client revoke "$VAULT_DIR" ward4-backup
wait_status 401 "$W_TOKEN" /v1/repos/clinic/config/
[ "$(status_of "$R_TOKEN" /v1/repos/clinic/snapshots/)" = 200 ] || fail "revoking one client hurt another"
expect_fail "$KURAD" client revoke "$VAULT_DIR" ward4-backup
assert_contains "revoking twice" "already" "$ERR"
expect_fail "$KURAD" client revoke "$VAULT_DIR" nobody
assert_contains "revoking an unknown client" "no client" "$ERR"
expect_fail "$KURAD" client add "$VAULT_DIR" ward4-backup --role writer --repo clinic --output "$WORK/again.cred"
assert_contains "a revoked name is not issued again" "already exists" "$ERR"
expect_exit 0 "$KURAD" status "$VAULT_DIR" --json
assert_eq "status marks the revoked client" true \
	"$(json_get "$OUT" '[c["revoked"] for c in d["clients"] if c["name"] == "ward4-backup"][0]')"
expect_exit 0 "$KURAD" status "$VAULT_DIR"
assert_contains "human status marks it" "(revoked)" "$OUT"

note "approvers and policy changes are logged"
expect_exit 0 "$KURAD" approver add "$VAULT_DIR" alice --output "$WORK/alice.key" --kdf interactive
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quorum 1
sleep 2.5 # two reloads
stop_vault
start_vault
[ "$(status_of "$W_TOKEN" /v1/repos/clinic/config/)" = 401 ] || fail "the revoked token works after a restart"
stop_vault

log=$(cat "$VAULT_DIR/audit/log.jsonl")
entry() { ndjson_get "$log" "len([e for e in d if e.get('method') == '$1' and e['client'] == '$2' and e['peer'] == 'local'])"; }
assert_eq "issue of restore-host logged" 1 "$(entry ISSUE restore-host)"
assert_eq "issue of soc logged" 1 "$(entry ISSUE soc)"
assert_eq "issue of lab-backup logged" 1 "$(entry ISSUE lab-backup)"
assert_eq "revocation logged" 1 "$(entry REVOKE ward4-backup)"
assert_eq "approver logged" 1 "$(entry ADD-APPROVER alice)"
assert_eq "policy change logged" 1 "$(entry POLICY kurad)"
# the issue comes before the client's first request
first_req=$(ndjson_get "$log" "[e['seq'] for e in d if e.get('client') == 'restore-host' and e.get('method') == 'GET'][0]")
issued=$(ndjson_get "$log" "[e['seq'] for e in d if e.get('client') == 'restore-host' and e.get('method') == 'ISSUE'][0]")
[ "$issued" -lt "$first_req" ] || fail "the issue (entry $issued) is logged after the first request ($first_req)"
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"

echo "PASS vault_admin"

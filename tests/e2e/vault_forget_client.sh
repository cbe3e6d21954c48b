#!/usr/bin/env bash
# vault_forget_client.sh - the client side of deletion requests, against a
# stand-in vault (fake_vault.py) that serves a local repository and answers
# POST /v1/repos/REPO/deletions as scripted: forget and prune send the
# documented JSON with the credential's token over the pinned TLS key and
# remove nothing themselves; the vault's acceptance and each refusal (409
# with the protected snapshots and reasons, 404, 403, 429, an old kurad)
# are explained with the right exit status; --dry-run sends nothing; hostile
# text from the vault reaches the terminal without control characters.
# The real kurad's endpoint is tested once it exists (vault_*.sh).
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || { echo "SKIP $TEST_NAME: no openssl"; exit 0; }

D=$WORK/data
mkdir -p "$D/a" "$D/b"
gen_random "$D/a/f.bin" 200000 a
gen_random "$D/b/f.bin" 200000 b
init_repo
backup_json "$D/a"; s1=$SNAP_ID
backup_json "$D/b"; s2=$SNAP_ID
expect_exit 0 kura key backup-key --output "$WORK/backup.key"
LOCAL_REPO=$KURA_REPOSITORY

note "a stand-in vault over TLS with a pinned key"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=fake-vault \
	-days 2 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null || fail "openssl req"
pin=sha256//$(openssl x509 -in "$WORK/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)
token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
STATE=$WORK/state
mkdir -p "$STATE"
: >"$STATE/posts"
echo '[]' >"$STATE/list"
python3 "$(dirname "$0")/fake_vault.py" "$WORK/cert.pem" "$WORK/key.pem" "$WORK/port" \
	"$LOCAL_REPO" clinic "$token" "$STATE" 2>"$WORK/fake.err" &
FAKE_PID=$!
at_exit "kill $FAKE_PID 2>/dev/null; wait $FAKE_PID 2>/dev/null"
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || fail "the stand-in vault did not start: $(cat "$WORK/fake.err")"
port=$(cat "$WORK/port")
cat >"$WORK/writer.cred" <<EOF
{"kura_vault_credential": 1, "vault": "127.0.0.1:$port", "repo": "clinic", "client": "ward4",
 "role": "writer", "token": "$token", "pin": "$pin"}
EOF
chmod 600 "$WORK/writer.cred"
export KURA_REPOSITORY=vault://127.0.0.1:$port/clinic
export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
export KURA_KEY_FILE=$WORK/backup.key

answer() { # STATUS BODY: the stand-in's answer to the next POST
	printf '%s\n%s' "$1" "$2" >"$STATE/answer"
}
posts() { wc -l <"$STATE/posts"; }
last_post() { tail -n 1 "$STATE/posts"; }
state_before=$(cd "$LOCAL_REPO" && find . -type f | LC_ALL=C sort)

note "forget --prune files one request and removes nothing itself"
answer 202 "{\"id\": 7, \"repo\": \"clinic\", \"state\": \"pending\", \"requested_by\": \"ward4\",
 \"requested_ns\": 1, \"snapshots\": [\"$s1\"], \"prune\": true, \"approvals\": [],
 \"quorum\": 2, \"approvals_valid\": 0, \"effective_ns\": null, \"delay\": \"7d\"}"
expect_exit 0 kura forget --prune "${s1:0:8}"
assert_contains "filed" "Deletion request 7 filed: 1 snapshot, then unreferenced data." "$OUT"
assert_contains "quorum and approve command" "after 2 approvals (kurad approve VAULT_DIR 7 --key FILE" "$OUT"
assert_contains "delay" "a delay of 7d" "$OUT"
assert_contains "cancel" "any approver can cancel it" "$OUT"
assert_eq "one POST" 1 "$(posts)"
p=$(last_post)
assert_eq "path" /v1/repos/clinic/deletions "$(json_get "$p" 'd["path"]')"
assert_eq "content type" application/json "$(json_get "$p" 'd["content_type"]')"
body=$(json_get "$p" 'd["body"]')
assert_eq "body snapshots" "[\"$s1\"]" "$(json_get "$body" 'd["snapshots"]')"
assert_eq "body prune" true "$(json_get "$body" 'd["prune"]')"
assert_eq "body has only snapshots and prune" '["prune", "snapshots"]' "$(json_get "$body" 'sorted(d)')"
assert_eq "nothing removed by the client" "$state_before" "$(cd "$LOCAL_REPO" && find . -type f | LC_ALL=C sort)"

note "--json prints the vault's request object; several snapshots, no prune"
answer 202 "{\"id\": 8, \"state\": \"pending\", \"snapshots\": [\"$s1\", \"$s2\"], \"prune\": false, \"quorum\": 1, \"delay_s\": 90000}"
expect_exit 0 kura --json forget "${s1:0:8}" "$s2" "${s1:0:12}"
assert_eq "json id" 8 "$(json_get "$OUT" 'd["id"]')"
body=$(json_get "$(last_post)" 'd["body"]')
assert_eq "both snapshots, once each" "2 False" "$(json_get "$body" '"%d %s" % (len(set(d["snapshots"]) & {"'"$s1"'", "'"$s2"'"}), d["prune"])')"
expect_exit 0 kura forget "${s2:0:8}"
assert_contains "one approval, delay in seconds" "after 1 approval (" "$OUT"
assert_contains "delay_s formatted" "a delay of 25h" "$OUT"

note "prune files {snapshots: [], prune: true}; --grace is for local repositories"
answer 202 '{"id": 9, "state": "pending", "snapshots": [], "prune": true, "quorum": 3}'
expect_exit 0 kura prune
assert_contains "prune request" "Deletion request 9 filed: unreferenced data" "$OUT"
assert_contains "no delay known" "the vault's delay" "$OUT"
body=$(json_get "$(last_post)" 'd["body"]')
assert_eq "prune body" '{"snapshots": [], "prune": true}' "$(json_get "$body" 'd')"
n=$(posts)
expect_exit 2 kura prune --grace 0
expect_exit 2 kura forget --prune --grace 0 "${s1:0:8}"
assert_eq "no POST for usage errors" "$n" "$(posts)"

note "--dry-run sends nothing"
expect_exit 0 kura forget --dry-run --prune "${s1:0:8}"
assert_contains "dry run" "Would ask vault://127.0.0.1:$port/clinic to delete 1 snapshot, then unreferenced data" "$OUT"
assert_contains "dry run lists" "$s1" "$OUT"
expect_exit 0 kura --json prune --dry-run
assert_eq "dry-run json" '{"snapshots": [], "prune": true}' "$(json_get "$OUT" 'd["request"]')"
assert_eq "no POST for dry runs" "$n" "$(posts)"

note "names that do not resolve send nothing"
expect_exit 13 kura forget latest
expect_exit 1 kura forget ffffffff
expect_exit 1 kura forget "$s1" ffffffff
assert_eq "no POST for bad names" "$n" "$(posts)"

note "409: each protected snapshot with the vault's reason, control characters stripped"
answer 409 "{\"error\": \"retention protects 1 of 2 snapshots\", \"protected\": [{\"snapshot\": \"$s1\", \"reason\": \"received 2 days ago, younger than the minimum age of 30d\\u001b[2J\"}]}"
expect_exit 1 kura forget "${s1:0:8}" "${s2:0:8}"
assert_contains "409 explained" "retention protects some of these snapshots, so nothing was requested" "$ERR"
assert_contains "409 names the snapshot and reason" "$s1: received 2 days ago, younger than the minimum age of 30d?[2J" "$ERR"
if printf '%s' "$ERR" | grep -q $'\x1b'; then fail "an escape character from the vault reached the terminal"; fi
expect_exit 1 kura --json forget "${s1:0:8}"
assert_eq "--json prints the refusal" "$s1" "$(json_get "$OUT" 'd["protected"][0]["snapshot"]')"

note "404, 403, 429, an old kurad, an odd status"
answer 404 "{\"error\": \"snapshot $s2 is not stored\"}"
expect_exit 1 kura forget "${s2:0:8}"
assert_contains "404" "does not hold a snapshot of the request: snapshot $s2 is not stored" "$ERR"
answer 403 '{"error": "role auditor may not request deletions"}'
expect_exit 1 kura prune
assert_contains "403" "does not let this credential request deletions" "$ERR"
answer 429 '{"error": "32 requests are pending"}'
expect_exit 1 kura prune
assert_contains "429" "too many pending deletion requests" "$ERR"
assert_contains "429 hint" "kurad cancel" "$ERR"
answer 404 'Not Found'
expect_exit 1 kura prune
assert_contains "old kurad" "does not take deletion requests" "$ERR"
answer 500 '{"error": "disk full"}'
expect_exit 1 kura prune
assert_contains "500" "HTTP 500" "$ERR"
answer 202 'filed, but not JSON'
expect_exit 0 kura prune
assert_contains "unreadable acceptance is a warning" "not a JSON object" "$ERR"

assert_eq "repository untouched by every request" "$state_before" "$(cd "$LOCAL_REPO" && find . -type f | LC_ALL=C sort)"

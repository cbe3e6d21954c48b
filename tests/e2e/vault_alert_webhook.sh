#!/usr/bin/env bash
# vault_alert_webhook.sh - alerts out (server/alert_out.c, alert_webhook.c;
# docs/PROTOCOL.md "Alert webhook"), through a real kurad on loopback and
# a Python receiver (tests/e2e/alert_receiver.py) on 127.0.0.1.
#
# A burst of refused logins opens a login-burst alert: the receiver gets
# exactly one POST, "opened", whose X-Kura-Signature the test checks with
# Python's own HMAC-SHA256; the alert command gets the same document.  The
# approver quorum resolves it: exactly one "closed" POST (and command run).
# A receiver answering 500 first gets the retry, signed again.  A receiver
# that never answers does not slow a reader's request, and the failed try
# is logged.  (Syslog's line is checked in unit/test_alert_out: syslog(3)
# writes to /dev/log, which a test cannot redirect.)
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/alert_hooks.bash"

init_vault "$WORK/vault"
vault_client soc auditor "" "$WORK/auditor.cred"
for a in alice bob carol; do
	expect_exit 0 "$KURAD" approver add "$VAULT_DIR" "$a" --output "$WORK/$a.key" --kdf interactive
done
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quorum 2 --delay 1s --min-age 0
PIN=$(cred_get "$WORK/auditor.cred" pin)

note "a bad webhook setting stops serve with the reason"
python3 - "$VAULT_DIR/vault.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["alert_webhook"] = {"url": "http://hooks.example.org/kura", "secret_file": "/s"}
open(sys.argv[1], "w").write(json.dumps(d))
PY
expect_exit 1 "$KURAD" serve "$VAULT_DIR" --listen "$VAULT_ADDR"
assert_contains "names the rule" "only to a loopback address" "$ERR"

note "an alert opens: one signed POST, the command gets the same document"
receiver ok ok
set_webhook "http://127.0.0.1:$PORT/hook"
start_vault
burst
wait_posts ok 1
assert_eq "the POST verifies" "opened 1 login-burst None" "$(verify ok 0)"
posts ok
assert_eq "to the URL's path" /hook "$(json_get "$OUT" 'd[0]["path"]')"
body=$(json_get "$OUT" 'd[0]["body"]')
for _ in $(seq 1 50); do [ -s "$CMD_LOG" ] && break; sleep 0.1; done
assert_eq "the command got the same document" "opened $body" "$(cat "$CMD_LOG")"
note "refreshed, not re-sent"
burst
sleep 2
posts ok
assert_eq "still one POST" 1 "$(json_get "$OUT" 'len(d)')"

note "the quorum resolves it: one closed POST"
expect_exit 0 "$KURAD" alert resolve "$VAULT_DIR" 1 --key "$WORK/alice.key"
sleep 1.5
posts ok
assert_eq "one approval does not close it" 1 "$(json_get "$OUT" 'len(d)')"
expect_exit 0 "$KURAD" alert resolve "$VAULT_DIR" 1 --key "$WORK/bob.key"
wait_posts ok 2
assert_eq "the closing POST verifies" "closed 1 login-burst None" "$(verify ok 1)"
posts ok
[ "$(json_get "$OUT" 'd[1]["body"]')" != "$body" ] || fail "closed body is the opened one"
assert_eq "it says when" true "$(json_get "$OUT" 'json.loads(d[1]["body"])["resolved_ns"] > 0')"
for _ in $(seq 1 50); do [ "$(wc -l <"$CMD_LOG")" -ge 2 ] && break; sleep 0.1; done
assert_eq "the command ran on close too" closed "$(sed -n 2p "$CMD_LOG" | cut -d' ' -f1)"
sleep 1.5
posts ok
assert_eq "sent once" 2 "$(json_get "$OUT" 'len(d)')"
assert_eq "the command too" 2 "$(wc -l <"$CMD_LOG")"
stop_vault

note "a receiver answering 500 first gets the retry"
receiver fail-once flaky
set_webhook "http://127.0.0.1:$PORT/hook"
start_vault
burst
wait_posts flaky 2
posts flaky
assert_eq "first answered 500" 500 "$(json_get "$OUT" 'd[0]["status"]')"
assert_eq "the same delivery again" "$(json_get "$OUT" 'd[0]["headers"]["X-Kura-Delivery"]')" \
	"$(json_get "$OUT" 'd[1]["headers"]["X-Kura-Delivery"]')"
assert_eq "the retry verifies" "opened 2 login-burst None" "$(verify flaky 1)"
for _ in $(seq 1 30); do grep -q "delivered on try 2" "$WORK/kurad.err" && break; sleep 0.1; done
assert_contains "the failed try is logged" "HTTP 500 (try 1 of 6" "$(cat "$WORK/kurad.err")"
assert_contains "and the delivery" "alert 2-opened delivered on try 2" "$(cat "$WORK/kurad.err")"
expect_exit 0 "$KURAD" alert resolve "$VAULT_DIR" 2 --key "$WORK/alice.key"
expect_exit 0 "$KURAD" alert resolve "$VAULT_DIR" 2 --key "$WORK/carol.key"
wait_posts flaky 3
assert_eq "its close verifies" "closed 2 login-burst None" "$(verify flaky 2)"
stop_vault

note "a receiver that never answers does not slow the vault"
receiver hang dead
set_webhook "http://127.0.0.1:$PORT/hook"
start_vault
export KURA_VAULT_CREDENTIALS=$WORK/auditor.cred KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
t0=$(date +%s%N)
expect_exit 0 "$KURA" vault status
base_ms=$((($(date +%s%N) - t0) / 1000000))
burst
for _ in $(seq 1 50); do
	expect_exit 0 "$KURAD" status "$VAULT_DIR" --json
	[ "$(json_get "$OUT" 'len([a for a in d["alerts"] if a["id"] == 3])')" = 1 ] && break
	sleep 0.2
done
assert_eq "a new alert" 1 "$(json_get "$OUT" 'len([a for a in d["alerts"] if a["id"] == 3])')"
t0=$(date +%s%N)
expect_exit 0 "$KURA" vault status
busy_ms=$((($(date +%s%N) - t0) / 1000000))
echo "reader's request: ${base_ms} ms before, ${busy_ms} ms with the webhook hung"
# The hung try lasts 10 s; a request that waited on it would take that long.
[ "$busy_ms" -lt 3000 ] || fail "a reader's request took $busy_ms ms with the receiver down"
for _ in $(seq 1 150); do grep -q "alert 3-opened to" "$WORK/kurad.err" && break; sleep 0.1; done
assert_contains "the failure is logged" "alert webhook: alert 3-opened to http://127.0.0.1:$PORT/hook" \
	"$(cat "$WORK/kurad.err")"
t0=$(date +%s%N)
stop_vault
stop_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$stop_ms" -lt 5000 ] || fail "kurad took $stop_ms ms to stop with a delivery pending"
echo "PASS vault_alert_webhook"

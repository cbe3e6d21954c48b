#!/usr/bin/env bash
# vault_alert_webhook_tls.sh - the alert webhook over HTTPS
# (server/alert_webhook.c; docs/PROTOCOL.md "Alert webhook"), through a
# real kurad on loopback and a real HTTPS receiver (tests/e2e/
# alert_receiver.py with Python's ssl) whose self-signed certificate for
# IP 127.0.0.1 openssl makes here.
#
# With that certificate as the webhook's ca_file, a burst of refused
# logins reaches the receiver as one signed POST.  With another
# certificate as ca_file (a CA that did not sign the receiver's), or with
# none (the system's CAs, which do not know it), kurad refuses the
# receiver: the receiver gets no POST, and kurad logs the failed try with
# curl's reason.  Each case has its own vault: an open alert is refreshed,
# not sent again, so a second burst on the same vault would send nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/alert_hooks.bash"

command -v openssl >/dev/null || fail "openssl is needed to make the receiver's certificate"

# cert NAME: a self-signed P-256 certificate for IP 127.0.0.1, $WORK/NAME.crt and .key.
cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
		-keyout "$WORK/$1.key" -out "$WORK/$1.crt" 2>"$WORK/openssl.err" ||
		fail "openssl req: $(cat "$WORK/openssl.err")"
}
cert hook
cert other

# case_vault NAME [CA_FILE]: a new vault whose webhook goes to a new HTTPS
# receiver NAME over $WORK/hook.crt, a burst of refused logins.
case_vault() {
	init_vault "$WORK/vault-$1"
	vault_client soc auditor "" "$WORK/$1.cred"
	PIN=$(cred_get "$WORK/$1.cred" pin)
	receiver ok "$1" "$WORK/hook.crt" "$WORK/hook.key"
	set_webhook "https://127.0.0.1:$PORT/hook" "${2:-}"
	start_vault
	burst
}

# refused NAME: kurad's first try failed on the certificate, and NAME got nothing.
refused() {
	local i
	for i in $(seq 1 150); do
		grep -q "alert 1-opened to https://127.0.0.1:$PORT/hook" "$WORK/kurad.err" && break
		sleep 0.1
	done
	assert_contains "the failed try is logged" \
		"alert webhook: alert 1-opened to https://127.0.0.1:$PORT/hook:" "$(cat "$WORK/kurad.err")"
	assert_contains "with the certificate as the reason" "certificate" \
		"$(grep "alert 1-opened" "$WORK/kurad.err")"
	assert_contains "and the retry" "(try 1 of 6, again in" "$(cat "$WORK/kurad.err")"
	posts "$1"
	assert_eq "the receiver got no POST" 0 "$(json_get "$OUT" 'len(d)')"
	stop_vault
}

note "the receiver's certificate as ca_file: the alert arrives, signed"
case_vault good "$WORK/hook.crt"
wait_posts good 1
assert_eq "the POST verifies" "opened 1 login-burst None" "$(verify good 0)"
posts good
assert_eq "to the URL's path" /hook "$(json_get "$OUT" 'd[0]["path"]')"
for _ in $(seq 1 50); do [ -s "$CMD_LOG" ] && break; sleep 0.1; done
assert_eq "the command got the same document" "opened $(json_get "$OUT" 'd[0]["body"]')" \
	"$(cat "$CMD_LOG")"
stop_vault
assert_not_contains "no failed try" "alert webhook: alert" "$(cat "$WORK/kurad.err")"

note "another CA as ca_file: the receiver is refused"
case_vault wrongca "$WORK/other.crt"
refused wrongca

note "no ca_file: the system's CAs do not know a self-signed receiver"
case_vault noca
refused noca
echo "PASS vault_alert_webhook_tls"

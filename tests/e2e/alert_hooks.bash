# shellcheck shell=bash
# alert_hooks.bash - what the alert webhook tests (vault_alert_webhook.sh,
# vault_alert_webhook_tls.sh) share, sourced after lib.sh: a receiver
# (alert_receiver.py) on 127.0.0.1, the vault.json settings that point
# the vault at it, a burst of refused logins that opens an alert, and the
# checks of what the receiver got.  Not a test itself: tests/run.sh runs
# only *.sh.
#
#   receiver MODE NAME [CERT KEY]  start one (over TLS with CERT and KEY),
#                                  its port in $PORT, its log $WORK/NAME.log
#   set_webhook URL [CA_FILE]      vault.json's alert_webhook (ca_file if
#                                  given), alert_syslog and an alert command
#                                  appending to $CMD_LOG
#   burst                          130 refused logins (uses $PIN)
#   posts NAME / wait_posts NAME N the receiver's POSTs as a JSON list in $OUT
#   verify NAME I                  POST I has a valid, fresh signature;
#                                  prints "EVENT ID KIND REPO"
ALERT_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SECRET=$WORK/hook.secret
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$SECRET"
echo >>"$SECRET"
CMD_LOG=$WORK/command.log

receiver() {
	local i
	python3 "$ALERT_HERE/alert_receiver.py" "$1" "$WORK/$2.port" "$WORK/$2.log" "${@:3}" &
	at_exit "kill $! 2>/dev/null"
	for i in $(seq 1 100); do
		[ -s "$WORK/$2.port" ] && break
		sleep 0.05
	done
	PORT=$(cat "$WORK/$2.port") || fail "receiver $2 did not start"
}

set_webhook() {
	python3 - "$VAULT_DIR/vault.json" "$1" "$SECRET" "$CMD_LOG" "${2:-}" <<'PY'
import json, sys
path, url, secret, out, ca = sys.argv[1:]
d = json.load(open(path))
d["alert_webhook"] = {"url": url, "secret_file": secret}
if ca:
    d["alert_webhook"]["ca_file"] = ca
d["alert_syslog"] = True
d["alert_command"] = ["/bin/sh", "-c", 'echo "$KURA_ALERT_EVENT $KURA_ALERT_JSON" >> "$0"', out]
open(path, "w").write(json.dumps(d, indent=2) + "\n")
PY
}

burst() {
	local urls=() i
	for i in $(seq 1 130); do urls+=("https://$VAULT_ADDR/v1/repos/clinic/snapshots/"); done
	curl -s -o /dev/null --noproxy '*' --pinnedpubkey "$PIN" --insecure --max-time 60 \
		-H "Authorization: Bearer not-a-token-$RANDOM" "${urls[@]}" >/dev/null || true
}

posts() { OUT=$(python3 -c 'import json,sys
try: print(json.dumps([json.loads(l) for l in open(sys.argv[1])]))
except FileNotFoundError: print("[]")' "$WORK/$1.log"); }

wait_posts() {
	local i
	for i in $(seq 1 150); do
		posts "$1"
		[ "$(json_get "$OUT" 'len(d)')" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "receiver $1: not $2 POSTs within 15 s: $OUT"
}

verify() {
	python3 - "$WORK/$1.log" "$2" "$SECRET" <<'PY' || fail "POST $2 to $1: bad signature"
import hashlib, hmac, json, sys, time
posts = [json.loads(l) for l in open(sys.argv[1])]
p = posts[int(sys.argv[2])]
secret = open(sys.argv[3], "rb").read().rstrip(b"\n")
h = {k.lower(): v for k, v in p["headers"].items()}
ts = h["x-kura-timestamp"]
want = "sha256=" + hmac.new(secret, ts.encode() + b"." + p["body"].encode(), hashlib.sha256).hexdigest()
assert hmac.compare_digest(want, h["x-kura-signature"]), (want, h["x-kura-signature"])
assert abs(time.time() - int(ts)) < 300, ts
assert h["content-type"] == "application/json"
# a forged body does not verify
forged = "sha256=" + hmac.new(secret, ts.encode() + b"." + p["body"].replace("login", "logon").encode(), hashlib.sha256).hexdigest()
assert forged != h["x-kura-signature"]
b = json.loads(p["body"])
assert h["x-kura-delivery"] == "%d-%s" % (b["id"], b["event"]), h["x-kura-delivery"]
print(b["event"], b["id"], b["kind"], b["repo"])
PY
}

#!/usr/bin/env bash
# ui_chromium.sh - the status page (/ui/) in a real headless Chromium
# against a real kurad on loopback.  A vault is populated: two writers'
# backups, a third writer last seen three days ago (late: red), a restore
# drill with its RTO, two copies (their proof records) and a check
# --read-data, an alert (deletion-burst), a pending deletion request with
# one of two approvals, and a hostile path in the audit log.  Checked
# over HTTPS with curl: 401 without or with a forged cookie, the login
# (bad token 401, writer token 403, auditor 303 with an HttpOnly, Secure,
# SameSite=Strict cookie), the strict CSP and the other headers; in
# Chromium (--dump-dom): the login form and the 401 page straight from
# kurad over TLS, and the page itself with every section showing the
# vault's own figures (compared with `kurad status --json`; 3-2-1-1-0 with
# each copy's media, site, result and the verdict), no script, no
# inline style, no external resource, no CSP violation in Chromium's
# console; a screenshot is saved ($BUILD/test-logs/status-page.png).
# Then a few hundred hostile requests at /ui/ and /metrics: only the
# expected codes, and kurad still serves; last, signing out.
#
# Chromium is kept on loopback: --no-proxy-server, and a host resolver
# that maps every name but 127.0.0.1 to nothing.  Headless Chromium cannot
# post the login form (no JavaScript) nor take a cookie on its command
# line, so the session cookie is obtained with a scripted POST to
# /ui/login (ui_helper.py login) and the page is loaded through a loopback
# forwarder (ui_helper.py forward) that adds only that Cookie header and
# relays kurad's answer, headers included, unchanged.
. "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
	echo "SKIP $TEST_NAME: no chromium (scripts/deps.sh installs it)"
	exit 0
fi
HELPER="python3 $(dirname "$0")/ui_helper.py"
ARTIFACTS=$(dirname "$KURA")/test-logs
mkdir -p "$ARTIFACTS"

SRC=$WORK/data/src
mkdir -p "$SRC/ward4" "$SRC/ward5"
gen_text "$SRC/ward4/notes.txt" 3000 notes4
gen_text "$SRC/ward5/notes.txt" 2000 notes5

init_vault "$WORK/vault"
vault_client ward4 writer clinic "$WORK/ward4.cred"
vault_client ward5 writer clinic "$WORK/ward5.cred"
vault_client ward6 writer clinic "$WORK/ward6.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"
vault_client soc auditor "" "$WORK/auditor.cred"
for a in alice bob; do expect_exit 0 "$KURAD" approver add "$VAULT_DIR" "$a" --output "$WORK/$a.key" --kdf interactive; done
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quorum 2 --delay 7d --min-age 0 \
	--keep-daily 0 --keep-weekly 0 --keep-monthly 0
start_vault
CERT=$VAULT_DIR/tls/cert.pem
PIN=$(cred_get "$WORK/ward4.cred" pin)
A_TOKEN=$(cred_get "$WORK/auditor.cred" token)
W_TOKEN=$(cred_get "$WORK/ward4.cred" token)
URL=https://$VAULT_ADDR
c() { curl -sS --max-time 20 --noproxy 127.0.0.1 --pinnedpubkey "$PIN" --insecure "$@"; }

note "populate: two writers back up, a drill, a deletion request, an approval"
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
export KURA_VAULT_CREDENTIALS=$WORK/ward4.cred
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key --output "$WORK/backup.key"
export KURA_KEY_FILE=$WORK/backup.key
backup_json "$SRC/ward4"
first=$SNAP_ID
KURA_VAULT_CREDENTIALS=$WORK/ward5.cred backup_json "$SRC/ward5"
expect_exit 0 kura --json forget "$first"
req=$(json_get "$OUT" 'd["id"]')
unset KURA_KEY_FILE
expect_exit 0 "$KURAD" approve "$VAULT_DIR" "$req" --key "$WORK/alice.key"
KURA_VAULT_CREDENTIALS=$WORK/reader.cred expect_exit 0 kura --json drill
rto=$(json_get "$OUT" 'd["rto_seconds"]')
note "copies: a removable disk kept off-site and a NAS, and a read of every blob"
# `kura copy` and `check --read-data` leave plaintext proof records in the
# repository: the vault reads them without a key for 3-2-1-1-0
KURA_VAULT_CREDENTIALS=$WORK/reader.cred expect_exit 0 kura copy --to "$WORK/usb" \
	--media removable --site offsite --label 'usb <b>&'
KURA_VAULT_CREDENTIALS=$WORK/reader.cred expect_exit 0 kura copy --to "$WORK/nas" --label nas
KURA_VAULT_CREDENTIALS=$WORK/reader.cred expect_exit 0 kura check --read-data
# ward6 last backed up three days ago: its line as the vault writes it
printf '%064d %d ward6\n' 6 $(( $(date +%s) - 3 * 86400 ))000000000 >>"$VAULT_DIR/meta/clinic/snapshot-times"
# a hostile path, logged as it came (the token is valid: logged in full)
c -o /dev/null -H "Authorization: Bearer $A_TOKEN" "$URL/v1/%3Cscript%3Ealert(1)%3C%2Fscript%3E"
note "an alert: a burst of deletion requests (a stolen writer would)"
for i in $(seq 1 10); do
	c -o /dev/null -H "Authorization: Bearer $W_TOKEN" -H 'Content-Type: application/json' \
		--data '{"snapshots": ["'"$first"'"], "prune": false}' "$URL/v1/repos/clinic/deletions"
done
for i in $(seq 1 40); do
	"$KURAD" status "$VAULT_DIR" --json >"$WORK/status.json" 2>/dev/null || true
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if any(a["kind"]=="deletion-burst" and a["state"]=="open" for a in d["alerts"]) else 1)' "$WORK/status.json" && break
	[ "$i" -lt 40 ] || fail "no deletion-burst alert after 10 s"
	sleep 0.25
done

note "without a session: 401; the login form and the style sheet are public"
code=$(c -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' "$URL/ui/")
assert_eq "GET /ui/ without a cookie" 401 "$code"
assert_contains "the 401 page links to the login" 'href="/ui/login"' "$(cat "$WORK/body")"
assert_eq "GET /ui/ with a forged cookie" 401 \
	"$(c -o /dev/null -w '%{http_code}' -b "kura_ui=$(printf '%064d' 0)" "$URL/ui/")"
assert_eq "GET /ui/login" 200 "$(c -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' "$URL/ui/login")"
tr -d '\r' <"$WORK/headers" >"$WORK/h"
assert_contains "CSP" "Content-Security-Policy: default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'" "$(cat "$WORK/h")"
assert_contains "nosniff" "X-Content-Type-Options: nosniff" "$(cat "$WORK/h")"
assert_contains "Referrer-Policy" "Referrer-Policy: no-referrer" "$(cat "$WORK/h")"
assert_eq "the style sheet" 200 "$(c -o /dev/null -w '%{http_code}' "$URL/ui/style.css")"
assert_eq "/ui redirects" 303 "$(c -o /dev/null -w '%{http_code}' "$URL/ui")"
assert_eq "a bad token" 401 "$(c -o /dev/null -w '%{http_code}' --data-urlencode "token=${A_TOKEN}x" "$URL/ui/login")"
assert_eq "a writer's token" 403 "$(c -o /dev/null -w '%{http_code}' --data-urlencode "token=$W_TOKEN" "$URL/ui/login")"
assert_eq "a query string" 400 "$(c -o /dev/null -w '%{http_code}' "$URL/ui/login?token=$A_TOKEN")"
assert_eq "PUT on the login" 405 "$(c -o /dev/null -w '%{http_code}' -X PUT --data x "$URL/ui/login")"

note "log in as the auditor"
COOKIE=$($HELPER login "$VAULT_ADDR" "$CERT" "$A_TOKEN") || fail "login failed"
[[ $COOKIE =~ ^[0-9a-f]{64}$ ]] || fail "session id is not 64 hex digits: $COOKIE"
assert_eq "GET /ui/ with the session" 200 \
	"$(c -o "$WORK/page.html" -D "$WORK/headers" -w '%{http_code}' -b "kura_ui=$COOKIE" "$URL/ui/")"
assert_contains "CSP on the page" "default-src 'none'" "$(cat "$WORK/headers")"
assert_eq "POST /ui/ is refused (read-only)" 405 \
	"$(c -o /dev/null -w '%{http_code}' -b "kura_ui=$COOKIE" -X POST --data x "$URL/ui/")"
assert_not_contains "the token never appears in the log" "$A_TOKEN" "$(cat "$VAULT_DIR/audit/log.jsonl")"
assert_contains "the page's request is logged as the auditor's" '"client":"soc","role":"auditor","method":"GET","path":"/ui/"' \
	"$(cat "$VAULT_DIR/audit/log.jsonl")"

# chromium URL OUT ERR [ARGS...]: a fresh profile of its own, loopback only
chromium_run() {
	local url=$1 out=$2 err=$3 rc=0 profile
	shift 3
	profile=$(mktemp -d "$WORK/profile.XXXXXX")
	timeout 90 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$profile" --no-proxy-server \
		--host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
		--ignore-certificate-errors --disable-background-networking --disable-sync \
		--disable-component-update --disable-default-apps --enable-logging=stderr --v=0 \
		"$@" "$url" >"$out" 2>"$err" || rc=$?
	[ "$rc" -eq 0 ] || fail "chromium $url exited $rc: $(tail -n 5 "$err")"
}

note "Chromium, straight to kurad over TLS: the login form, the 401 page"
# Two at a time: each waits mostly for its own start-up.
chromium_run "$URL/ui/login" "$WORK/login.dom" "$WORK/chromium1.err" --dump-dom &
one=$!
chromium_run "$URL/ui/" "$WORK/nocookie.dom" "$WORK/chromium2.err" --dump-dom &
two=$!
wait "$one" || fail "chromium (login form)"
wait "$two" || fail "chromium (no session)"
assert_contains "login form in Chromium" 'name="token"' "$(cat "$WORK/login.dom")"
assert_contains "the form posts to /ui/login" 'action="/ui/login"' "$(cat "$WORK/login.dom")"
assert_contains "401 page in Chromium" "needs a session" "$(cat "$WORK/nocookie.dom")"
assert_not_contains "no figures without a session" 'id="clients"' "$(cat "$WORK/nocookie.dom")"

note "Chromium with the session (through the loopback forwarder)"
$HELPER forward "$VAULT_ADDR" "$CERT" "$COOKIE" "$WORK/fwd.port" "$WORK/fwd.log" 2>"$WORK/fwd.err" &
FWD_PID=$!
at_exit "kill $FWD_PID 2>/dev/null"
for i in $(seq 1 50); do [ -f "$WORK/fwd.port" ] && break; sleep 0.1; done
[ -f "$WORK/fwd.port" ] || fail "the forwarder did not start: $(cat "$WORK/fwd.err")"
FWD=http://127.0.0.1:$(cat "$WORK/fwd.port")
chromium_run "$FWD/ui/" "$WORK/page.dom" "$WORK/chromium3.err" --dump-dom &
dump=$!
chromium_run "$FWD/ui/" /dev/null "$WORK/chromium4.err" --screenshot="$WORK/shot.png" \
	--window-size=1280,3400 --hide-scrollbars
wait "$dump" || fail "chromium (the page)"
[ "$(stat -c %s "$WORK/shot.png")" -gt 20000 ] || fail "the screenshot is too small"
cp "$WORK/shot.png" "$ARTIFACTS/status-page.png"
for e in "$WORK"/chromium[34].err; do
	! grep -iE "Content Security Policy|Refused to (load|apply|execute|frame)" "$e" ||
		fail "Chromium reports a CSP violation on the page ($e)"
done
paths=$(sort -u "$WORK/fwd.log" | tr '\n' ' ')
assert_eq "what Chromium fetched" "/favicon.ico /ui/ /ui/style.css " "$paths"

note "each section shows the vault's figures"
"$KURAD" status "$VAULT_DIR" --json >"$WORK/status.json"
$HELPER page "$WORK/page.dom" >"$WORK/page.json"
# One interpreter for every check (python starts slowly on a busy machine).
python3 - "$WORK/page.json" "$WORK/status.json" "$WORK/page.html" "$req" "$rto" <<'PY' || fail "the page's figures (above)"
import json, sys
P = json.load(open(sys.argv[1])); S = json.load(open(sys.argv[2]))
html = open(sys.argv[3], encoding="utf-8").read()
req, rto = sys.argv[4], float(sys.argv[5])
bad = []
def check(what, ok):
    if not ok:
        bad.append(what)
def row(section, pred):
    rows = [r for r in P["rows"] if r["_section"] == section and pred(r)]
    check("a row in %s" % section, rows)
    return rows[0] if rows else {}
text = P["text"]
check("sections %s" % P["sections"], P["sections"] == ["repositories", "clients", "snapshots",
      "alerts", "drills", "deletions", "audit", "copies"])
check("nothing active or external: %s" % P["bad"], P["bad"] == [])
clinic = [r for r in S["repositories"] if r["name"] == "clinic"][0]
r = row("repositories", lambda r: r.get("repo") == "clinic")
check("repository snapshots %s vs %s" % (r.get("snapshots"), clinic["snapshots"]),
      r.get("snapshots") == str(clinic["snapshots"]))
check("repository bytes", r.get("bytes") == str(clinic["bytes"]))
for w in ("ward4", "ward5"):
    check("%s on time" % w, row("clients", lambda r: r.get("client") == w).get("state") == "ok")
w6 = row("clients", lambda r: r.get("client") == "ward6")
check("ward6 late: %s" % w6, w6.get("state") == "LATE")
check("ward6's age is three days: %s" % w6.get("age-seconds"),
      3 * 86400 - 5 <= int(w6.get("age-seconds", 0)) <= 3 * 86400 + 300)
check("ward6 shown red", 'class="num late"' in html)
check("the auditor has no backup age", row("clients", lambda r: r.get("client") == "soc").get("state") == "-")
plot = row("snapshots", lambda r: r["_tag"] == "figure")
check("snapshots in the plot's window: %s" % plot.get("snapshots-30d"), plot.get("snapshots-30d") == "3")
bars = sum(int(r["bytes"]) for r in P["rows"] if r["_tag"] == "rect")
check("bars add up to the figure (%d vs %s)" % (bars, plot.get("bytes-30d")),
      str(bars) == plot.get("bytes-30d") and bars > 0)
check("bars: 30 days", len([r for r in P["rows"] if r["_tag"] == "rect"]) == 30)
check("the alert", row("alerts", lambda r: r.get("kind") == "deletion-burst"))
open_alerts = [a for a in S["alerts"] if a["state"] == "open"]
check("every open alert shown", len([r for r in P["rows"] if r["_section"] == "alerts"]) == len(open_alerts))
d = row("drills", lambda r: r.get("repo") == "clinic")
check("drill result", d.get("result") == "passed")
check("drill RTO %s vs %s" % (d.get("rto-seconds"), rto), abs(float(d.get("rto-seconds", -1)) - rto) < 0.002)
dl = row("deletions", lambda r: r.get("deletion") == req)
check("approvals 1 of quorum 2: %s" % dl, dl.get("approvals") == "1" and dl.get("quorum") == "2")
pending = [x for x in S["deletions"] if x["state"] == "pending"]
check("every pending request shown", len([r for r in P["rows"] if r["_section"] == "deletions"]) == len(pending))
check("the approver's name", "1 of 2: alice" in text)
check("not yet in effect", "waiting for approvals" in text)
a = row("audit", lambda r: "verified" in r)
check("audit log verified", a.get("verified") == "intact")
check("audit entries", int(a.get("entries", 0)) > 10)
check("the hostile path shown as text", "/v1/<script>alert(1)</script>" in text)
check("escaped in the HTML", "/v1/&lt;script&gt;alert(1)&lt;/script&gt;" in html)
C = clinic["copies"]
v = row("copies", lambda r: r.get("repo") == "clinic" and "verdict" in r)
check("3-2-1-1-0 verdict %s vs %s" % (v.get("verdict"), C["verdict"]),
      v.get("verdict") == C["verdict"] == "holds")
check("copies: the vault and two (%s)" % v.get("copies"), v.get("copies") == "3" == str(len(C["stores"])))
rules = [r for r in P["rows"] if r["_section"] == "copies" and "rule" in r]
check("five rules: %s" % rules, [r["rule"] for r in rules] == ["copies", "media", "offsite", "offline", "errors"])
for r, s in zip(rules, C["rules"]):
    check("rule %s as the vault says" % r["rule"], r["ok"] == ("1" if s["ok"] else "0") == "1")
usb = row("copies", lambda r: r.get("copy") == "usb <b>&")
check("the usb copy: %s" % usb, usb.get("media") == "removable" and usb.get("site") == "offsite"
      and usb.get("result") == "passed" and usb.get("current") == "1")
nas = row("copies", lambda r: r.get("copy") == "nas")
check("the nas copy: %s" % nas, nas.get("media") == "disk" and nas.get("site") == "onsite"
      and nas.get("current") == "1")
vault = row("copies", lambda r: r.get("copy") == "")
check("the vault itself: %s" % vault, vault.get("media") == "vault" and vault.get("current") == "1")
check("the check --read-data", row("copies", lambda r: "check" in r).get("check") == "passed")
check("the drill", row("copies", lambda r: "drill" in r).get("drill") == "passed")
check("a label is escaped", "usb &lt;b&gt;&amp;" in html)
check("the page says where it comes from", "without a key" in text)
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY

note "hostile requests at /ui/ and /metrics"
$HELPER hammer "$VAULT_ADDR" "$CERT" "$COOKIE" "$A_TOKEN" 200 >"$WORK/hammer.out" 2>&1 ||
	fail "hammer: $(cat "$WORK/hammer.out")"
note "codes: $(cat "$WORK/hammer.out")"
kill -0 "$VAULT_PID" || fail "kurad died under the hammer"
assert_eq "the page still serves" 200 "$(c -o /dev/null -w '%{http_code}' -b "kura_ui=$COOKIE" "$URL/ui/")"
assert_eq "/metrics still serves" 200 \
	"$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $A_TOKEN" "$URL/metrics")"
note "signing out ends the session"
assert_eq "POST /ui/logout" 303 "$(c -o /dev/null -D "$WORK/headers" -w '%{http_code}' -b "kura_ui=$COOKIE" -X POST --data '' "$URL/ui/logout")"
assert_contains "the cookie is cleared" "kura_ui=; Path=/ui/; Max-Age=0" "$(cat "$WORK/headers")"
assert_eq "the old cookie opens nothing" 401 "$(c -o /dev/null -w '%{http_code}' -b "kura_ui=$COOKIE" "$URL/ui/")"
stop_vault
echo "PASS ui_chromium"

#!/usr/bin/env bash
# vault_attack.sh - the ransomware scenario at the protocol level.  A thief
# holds the backup client: its writer credential (token and pin) and its
# backup key.  Speaking HTTP to the vault directly, they try to delete,
# overwrite, shorten, read, re-key and escape the repository, to plant a
# snapshot that points at data the vault does not hold, and to back-date a
# snapshot and request deletion of the good ones.  Every attempt must
# be refused with the documented status, change no stored byte, and land in
# the audit log; the vault keeps serving, the last clean snapshot restores,
# and an edit of the audit log is detected.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
make_tree "$SRC"

init_vault "$WORK/vault"
vault_client ward4-backup writer clinic "$WORK/writer.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"
vault_client soc auditor "" "$WORK/auditor.cred"
start_vault
REPO_DIR=$VAULT_DIR/repos/clinic
PIN=$(cred_get "$WORK/writer.cred" pin)
W_TOKEN=$(cred_get "$WORK/writer.cred" token)
R_TOKEN=$(cred_get "$WORK/reader.cred" token)
A_TOKEN=$(cred_get "$WORK/auditor.cred" token)

note "a clean repository: init, backup key, one backup"
vault_repo_init
backup_json "$SRC"
clean_snap=$SNAP_ID
unset KURA_KEY_FILE

first() { find "$REPO_DIR/$1" -type f -print -quit; }
PACK_FILE=$(first data) SNAP_FILE=$(first snapshots) KEY_FILE=$(first keys)
INDEX_FILE=$(first index) CONFIG_FILE=$(first config)
PACK=$(basename "$PACK_FILE") SNAP=$(basename "$SNAP_FILE") KEY=$(basename "$KEY_FILE")
INDEX=$(basename "$INDEX_FILE")
[ -n "$PACK" ] && [ -n "$SNAP" ] && [ -n "$KEY" ] && [ -n "$INDEX" ] ||
	fail "the vault's repository lacks a pack, snapshot, key or index: $(find "$REPO_DIR" -type f)"
R=/v1/repos/clinic

# Every stored byte, by name; tmp/ must hold nothing afterwards.
stored_state() {
	(cd "$REPO_DIR" && find . -path ./tmp -prune -o -type f -print0 | LC_ALL=C sort -z |
		xargs -0 sha256sum)
}
before=$(stored_state)

# vreq WANT METHOD PATH [CURL ARGS...]: one request as $TOKEN (none if
# empty) from $FROM (default 127.0.0.1); fail unless the status is one of
# WANT ("403" or "400|404").  The body is left in $WORK/body, the status in
# $STATUS, and the attempt recorded for the audit log check.
TOKEN=$W_TOKEN FROM=127.0.0.1
vreq() {
	local want=$1 method=$2 path=$3 auth=()
	shift 3
	[ -n "$TOKEN" ] && auth=(-H "Authorization: Bearer $TOKEN")
	STATUS=$(curl -sS -o "$WORK/body" -w '%{http_code}' --max-time 20 --noproxy '*' \
		--interface "$FROM" --pinnedpubkey "$PIN" --insecure --path-as-is \
		-X "$method" "${auth[@]}" "$@" "https://$VAULT_ADDR$path" 2>"$WORK/curl.err") || true
	[[ $STATUS =~ ^($want)$ ]] ||
		fail "$method $path: expected HTTP $want, got $STATUS: $(head -c 500 "$WORK/body") $(cat "$WORK/curl.err")"
	printf '%s %s %s %s\n' "$method" "$path" "$STATUS" "$FROM" >>"$WORK/attempts"
}

note "the pin is enforced: the thief cannot talk to an impostor either way"
expect_fail curl -sS --noproxy '*' --insecure \
	--pinnedpubkey "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" \
	-H "Authorization: Bearer $W_TOKEN" "https://$VAULT_ADDR$R/config/"

note "a writer may list and read config and index, and nothing else"
vreq 200 GET "$R/data/"
grep -q "$PACK" "$WORK/body" || fail "the writer's data/ listing lacks pack $PACK"
vreq 200 GET "$R/index/$INDEX"
cmp -s "$WORK/body" "$INDEX_FILE" || fail "GET index/$INDEX returned other bytes"
vreq 403 GET "$R/data/$PACK"
vreq 403 GET "$R/snapshots/$SNAP"
vreq 403 GET "$R/keys/$KEY"
vreq 403 GET "$R/keys/"
vreq 403 GET "$R/data/$PACK" -H "Range: bytes=0-99"

note "delete, overwrite, shorten"
vreq 405 DELETE "$R/data/$PACK"
allow=$(curl -sS -D - -o /dev/null --noproxy '*' --pinnedpubkey "$PIN" --insecure -X DELETE \
	-H "Authorization: Bearer $W_TOKEN" "https://$VAULT_ADDR$R/data/$PACK" | grep -i '^allow:' || true)
[ -n "$allow" ] || fail "405 without an Allow header"
assert_not_contains "the Allow header" DELETE "$allow"
gen_random "$WORK/junk" 4096 junk
# Other bytes under a stored name: refused as a wrong hash, not answered 200
# like a harmless re-upload, so the audit log shows the attempt for what it is.
vreq 400 PUT "$R/data/$PACK" --data-binary @"$WORK/junk"
head -c 100 "$PACK_FILE" >"$WORK/short"
vreq 400 PUT "$R/data/$PACK" --data-binary @"$WORK/short"
: >"$WORK/empty"
vreq 400 PUT "$R/snapshots/$SNAP" --data-binary @"$WORK/empty"
vreq 405 POST "$R/data/$PACK" -H "X-HTTP-Method-Override: DELETE" --data-binary @"$WORK/empty"
vreq 400 PUT "$R/data/$PACK" -H "X-HTTP-Method-Override: DELETE" -H "X-HTTP-Method: DELETE" \
	--data-binary @"$WORK/empty"
vreq 405 PATCH "$R/data/$PACK" --data-binary @"$WORK/junk"
vreq 405 MOVE "$R/data/$PACK" -H "Destination: $R/data/$(sha256sum "$WORK/junk" | cut -c1-64)"

note "uploads whose name, length or framing lie"
junk_name=$(sha256sum "$WORK/junk" | cut -c1-64)
other_name=$(printf 'x' | sha256sum | cut -c1-64)
vreq 400 PUT "$R/data/$other_name" --data-binary @"$WORK/junk"
vreq 400 PUT "$R/snapshots/$other_name" --data-binary @"$WORK/junk"
# Content-Length shorter than the body: the first 1000 bytes do not hash to the name
vreq 400 PUT "$R/data/$junk_name" -H "Content-Length: 1000" --data-binary @"$WORK/junk"
# Content-Length longer than the body: the vault waits for bytes that never
# come; whatever it answers, nothing may be stored
STATUS=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 3 --noproxy '*' --pinnedpubkey "$PIN" \
	--insecure -X PUT -H "Authorization: Bearer $W_TOKEN" -H "Content-Length: 5000" \
	--data-binary @"$WORK/junk" "https://$VAULT_ADDR$R/data/$junk_name" 2>/dev/null) || true
[[ $STATUS =~ ^(000|400|408)$ ]] || fail "PUT with a Content-Length beyond the body: got $STATUS"
vreq 411 PUT "$R/data/$junk_name" -H "Transfer-Encoding: chunked" --data-binary @"$WORK/junk"
vreq 413 PUT "$R/data/$junk_name" -H "Content-Length: 2147483648" -H "Expect: 100-continue" \
	--data-binary @"$WORK/empty"
[ ! -e "$REPO_DIR/data/${junk_name:0:2}/$junk_name" ] || fail "a refused upload was stored"

note "re-keying and re-configuring after init"
printf 'a planted config' >"$WORK/cfg"
cfg_name=$(sha256sum "$WORK/cfg" | cut -c1-64)
vreq 403 PUT "$R/config/$cfg_name" --data-binary @"$WORK/cfg"
vreq 403 PUT "$R/keys/$cfg_name" --data-binary @"$WORK/cfg"

note "escaping the repository"
vreq '400|404' GET "$R/data/../keys/$KEY"
vreq '400|404' GET "$R/data/%2e%2e/keys/$KEY"
vreq '400|404' GET "$R/data/%2E%2E%2Fkeys%2F$KEY"
vreq '400|404' GET "$R/data/%252e%252e/keys/$KEY"
vreq '400|404' GET "/v1/repos/clinic/../../clients/ward4-backup.json"
vreq '400|404' GET "/v1/repos/%2e%2e/clients/"
vreq '400|404' GET "$R/data/${PACK:0:2}/$PACK"
vreq '400|404' GET "$R/data/$PACK%00"
vreq '400|404' GET "$R/data/$(tr a-f A-F <<<"$PACK")"
vreq '400|404' PUT "$R/data/../config/$cfg_name" --data-binary @"$WORK/cfg"
vreq '403|404' GET "/v1/repos/other/data/"
vreq '403|404' PUT "/v1/repos/other/data/$cfg_name" --data-binary @"$WORK/cfg"
vreq 403 GET "/v1/log"
vreq 403 GET "/v1/status"

note "a planted snapshot that names packs the vault does not hold"
# The thief backs up new data with the backup key into a copy of the
# repository; its snapshot names packs that exist only in the copy.
cp -r "$REPO_DIR" "$WORK/thief-repo"
chmod -R u+w "$WORK/thief-repo"
mkdir -p "$WORK/thief-src"
gen_random "$WORK/thief-src/fresh.bin" 300000 fresh
(
	export KURA_REPOSITORY=$WORK/thief-repo KURA_KEY_FILE=$WORK/backup.key
	export KURA_CACHE_DIR=$WORK/thief-cache
	unset KURA_VAULT_CREDENTIALS
	backup_json "$WORK/thief-src"
	printf '%s' "$SNAP_ID" >"$WORK/thief-snap"
)
thief_snap=$(cat "$WORK/thief-snap")
vreq 409 PUT "$R/snapshots/$thief_snap" --data-binary @"$WORK/thief-repo/snapshots/$thief_snap"
[ ! -e "$REPO_DIR/snapshots/$thief_snap" ] || fail "a snapshot naming absent packs was stored"

note "other roles: a reader cannot write, an auditor cannot read the repository"
TOKEN=$R_TOKEN
vreq 403 PUT "$R/data/$junk_name" --data-binary @"$WORK/junk"
vreq 405 DELETE "$R/snapshots/$SNAP"
TOKEN=$A_TOKEN
vreq 403 GET "$R/data/$PACK"
vreq 403 GET "$R/keys/"

note "no token, a wrong token, then the rate limit (from 127.0.0.2)"
TOKEN=
vreq 401 GET "$R/config/"
TOKEN=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
vreq 401 PUT "$R/data/$junk_name" --data-binary @"$WORK/junk"
FROM=127.0.0.2
for i in $(seq 1 10); do vreq '401|429' GET "$R/config/"; done
vreq 429 GET "$R/config/"
# the lockout slows guessing; it never locks out a valid token (issue 10, finding 5)
TOKEN=$W_TOKEN
vreq 200 GET "$R/config/"
FROM=127.0.0.1
vreq 200 GET "$R/config/"

note "nothing stored changed, nothing was left behind"
after=$(stored_state)
[ "$before" = "$after" ] || fail "stored files changed under attack:
$(diff <(echo "$before") <(echo "$after"))"
left=$(find "$REPO_DIR/tmp" -type f 2>/dev/null | wc -l)
assert_eq "files left in the vault's tmp/" 0 "$left"

note "the vault still serves: a normal backup"
mkdir -p "$WORK/data/later"
printf 'after the attack\n' >"$WORK/data/later/note.txt"
export KURA_KEY_FILE=$WORK/backup.key
backup_json "$WORK/data/later"
unset KURA_KEY_FILE

note "back-dating: a snapshot claiming 2001 is received now, and retention protects the good ones"
# The thief crafts a snapshot from the one it planted above: the claimed
# time set to 2001 and the pack list cut to one pack the vault holds.  The
# body no longer decrypts (the header is its AEAD's associated data), but
# the vault cannot tell: it takes the upload and records its own time.
python3 - "$WORK/thief-repo/snapshots/$thief_snap" "$PACK" "$WORK/backdated" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"KURASNAP"
n, = struct.unpack_from("<I", d, 20)
head = bytearray(d[:24])
struct.pack_into("<q", head, 12, 978307200 * 10**9)  # 2001-01-01
struct.pack_into("<I", head, 20, 1)
open(sys.argv[3], "wb").write(bytes(head) + bytes.fromhex(sys.argv[2]) + d[24 + 32 * n:])
EOF
backdated=$(sha256sum "$WORK/backdated" | cut -c1-64)
vreq 201 PUT "$R/snapshots/$backdated" --data-binary @"$WORK/backdated"
received=$(awk -v n="$backdated" '$1 == n { print $2; exit }' "$VAULT_DIR/meta/clinic/snapshot-times")
[ -n "$received" ] && [ $(($(date +%s) - received / 1000000000)) -lt 600 ] ||
	fail "the vault recorded '$received' for the back-dated snapshot, not its own receive time"
# Deleting the good snapshots (or anything) is only a request, and the
# default retention refuses it: everything was received minutes ago.
vreq 409 POST "$R/deletions" -H 'Content-Type: application/json' \
	--data-binary '{"snapshots": ["'"$clean_snap"'", "'"$backdated"'"], "prune": true}'
assert_contains "409 explains the minimum age" "minimum age" "$(cat "$WORK/body")"
expect_exit 1 env KURA_KEY_FILE="$WORK/backup.key" "$KURA" forget --prune "$clean_snap"
assert_contains "kura forget is refused by retention" "minimum age" "$ERR"
# An approval over HTTP is an approver's signature (vault_approve_remote.sh);
# a client's token counts for nothing there, and junk is refused.
vreq 400 POST "/v1/deletions/1/approve" --data-binary '{}'
vreq 400 POST "/v1/deletions/1" --data-binary '{}'
vreq '400|404|405' POST "$R/deletions/1" --data-binary '{}'
vreq 200 GET "$R/deletions"
assert_eq "no deletion request exists" "[]" "$(cat "$WORK/body")"
assert_eq "the clean snapshot is still stored" 1 "$(find "$REPO_DIR/snapshots" -name "$clean_snap" | wc -l)"

note "the last clean snapshot restores with the reader credential and the restore key"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" KURA_KEY_FILE="$WORK/restore.key" \
	"$KURA" restore "$clean_snap" --target "$WORK/restored"
same_tree "$SRC" "$WORK/restored$SRC"

note "every refused attempt is in the audit log, with its status"
TOKEN=$A_TOKEN
vreq 200 GET /v1/log
cp "$WORK/body" "$WORK/log-http"
python3 - "$WORK/attempts" "$WORK/log-http" "$VAULT_DIR/audit/log.jsonl" <<'EOF' || fail "audit log check"
import json, sys, urllib.parse
attempts = [l.split() for l in open(sys.argv[1]) if l.strip()]
def load(path):
    out = []
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        if line.strip():
            out.append(json.loads(line))
    return out
http_log, disk_log = load(sys.argv[2]), load(sys.argv[3])
entries = [e for e in disk_log if "method" in e]
# the log over HTTP is the log on disk, up to the request that fetched it
if http_log != disk_log[:len(http_log)]:
    sys.exit("FAIL: GET /v1/log differs from audit/log.jsonl")
missing = []
used = set()
for method, path, status, peer in attempts:
    if status == "000" or status.startswith("2"):
        continue
    # refusals without a valid token are aggregated: checked after the stop
    if status in ("401", "429"):
        continue
    forms = {path, urllib.parse.unquote(path)}
    hit = None
    for i, e in enumerate(entries):
        if i in used:
            continue
        if (e.get("method") == method and str(e.get("status")) == status
                and e.get("peer") == peer and e.get("path") in forms):
            hit = i
            break
    if hit is None:
        missing.append("%s %s -> %s from %s" % (method, path, status, peer))
    else:
        used.add(hit)
if missing:
    sys.exit("FAIL: no audit entry for:\n  " + "\n  ".join(missing))
print("audit log: %d refused attempts found among %d entries" % (
    sum(1 for a in attempts if not a[2].startswith("2") and a[2] != "000"), len(entries)))
EOF

note "the log verifies; an edited entry does not"
stop_vault
# Refusals without a valid token: the first of each address in its window
# has an entry of its own, the rest are counted in "REFUSED" summaries,
# written when the window closes or kurad stops.
python3 - "$WORK/attempts" "$VAULT_DIR/audit/log.jsonl" <<'EOF' || fail "refusal summaries"
import collections, json, sys
want = collections.Counter(a[3] for a in (l.split() for l in open(sys.argv[1]) if l.strip())
                           if a[2] in ("401", "429"))
got = collections.Counter()
for line in open(sys.argv[2]):
    e = json.loads(line)
    if e.get("method") == "REFUSED":
        got[e["peer"]] += e["count"]
    elif e.get("status") in (401, 429) and e.get("client") == "":
        got[e["peer"]] += 1
if want != got:
    sys.exit("FAIL: refusals per address: attempted %s, logged %s" % (dict(want), dict(got)))
print("refusals per address, all accounted for: %s" % dict(got))
EOF
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"
logf=$VAULT_DIR/audit/log.jsonl
chmod u+w "$logf" 2>/dev/null || true
cp "$logf" "$WORK/log.orig"
line=$(grep -n -m1 '"status": *403' "$logf" | cut -d: -f1)
[ -n "$line" ] || fail "no 403 entry to edit in $logf"
# one byte: the refused request now claims to have succeeded (403 -> 203)
python3 - "$logf" "$line" <<'EOF'
import re, sys
path, n = sys.argv[1], int(sys.argv[2])
lines = open(path, "rb").read().split(b"\n")
lines[n - 1] = re.sub(rb'("status": *)4(03)', rb"\g<1>2\2", lines[n - 1], count=1)
open(path, "wb").write(b"\n".join(lines))
EOF
assert_eq "bytes changed by the edit" 1 "$(cmp -l "$logf" "$WORK/log.orig" | wc -l)"
expect_fail "$KURAD" log verify "$VAULT_DIR"
note "a removed entry is detected too"
cp "$WORK/log.orig" "$logf"
sed -i "${line}d" "$logf"
expect_fail "$KURAD" log verify "$VAULT_DIR"
cp "$WORK/log.orig" "$logf"
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"

echo "PASS vault_attack"

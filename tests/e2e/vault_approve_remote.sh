#!/usr/bin/env bash
# vault_approve_remote.sh - approvals from the approvers' own machines over
# HTTPS (docs/PROTOCOL.md, "Remote approval").  A backup client files a
# deletion request with `kura forget`; alice and bob, each in a home of
# their own (their key, their passphrase file, an auditor credential for
# the vault's address and pin), sign it with `kura approve`; it takes
# effect after the delay.  Refused, each with its reason and in the audit
# log: alice's recorded signature sent again (same request, another
# request, as a cancellation), a flipped byte, random bytes, a key that is
# not the registered one (an old unencrypted key file, which is still read
# with a warning), a key of another vault, a wrong passphrase, no terminal
# without --yes.  carol cancels a second request remotely.  `kurad approve`
# on the console still signs with an old unencrypted key.
. "$(dirname "$0")/lib.sh"

DELAY=3
SRC=$WORK/data/src
mkdir -p "$SRC"
gen_text "$SRC/keep.txt" 2000 keep
gen_random "$SRC/old.bin" $((512 * 1024)) old

init_vault "$WORK/vault"
vault_client ward4-backup writer clinic "$WORK/writer.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"
PIN=$(cred_get "$WORK/writer.cred" pin)

# Each approver's machine: a home with a passphrase file of their own, their
# key, and an auditor credential (the vault's address and pin).
for a in alice bob carol; do
	mkdir -p "$WORK/$a"
	printf '%s\n' "$a keeps a long passphrase for deletions" >"$WORK/$a/pass"
	expect_exit 0 env KURA_APPROVER_PASSWORD_FILE="$WORK/$a/pass" "$KURAD" approver add \
		"$VAULT_DIR" "$a" --output "$WORK/$a/$a.key" --kdf interactive
	vault_client "$a-audit" auditor "" "$WORK/$a/vault.cred"
done
assert_eq "a new key file is sealed" 2 "$(json_get "$(cat "$WORK/alice/alice.key")" 'd["kura_approver_key"]')"
assert_not_contains "no secret in the clear" secret_key "$(cat "$WORK/alice/alice.key")"
printf 'password\n' >"$WORK/weak.pass"
expect_exit 1 env KURA_APPROVER_PASSWORD_FILE="$WORK/weak.pass" "$KURAD" approver add "$VAULT_DIR" \
	weak --output "$WORK/weak.key" --kdf interactive
[ ! -e "$WORK/weak.key" ] || fail "a key was written under a weak passphrase"
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quorum 2 --delay ${DELAY}s --min-age 0 \
	--keep-daily 0 --keep-weekly 0 --keep-monthly 0
start_vault

# as APPROVER: run CMD... on that approver's machine
as() {
	local who=$1
	shift
	env KURA_VAULT_CREDENTIALS="$WORK/$who/vault.cred" \
		KURA_APPROVER_PASSWORD_FILE="$WORK/$who/pass" KURA_REPOSITORY= "$@"
}

note "two backups; the client asks to forget the first (request 1) and the second (request 2)"
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
expect_exit 0 kura init --kdf interactive --pack-size 1M
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key --output "$WORK/backup.key"
export KURA_KEY_FILE=$WORK/backup.key
backup_json "$SRC"
old_snap=$SNAP_ID
rm "$SRC/old.bin"
backup_json "$SRC"
new_snap=$SNAP_ID
expect_exit 0 kura --json forget --prune "$old_snap"
req1=$(json_get "$OUT" 'd["id"]')
expect_exit 0 kura --json forget "$new_snap"
req2=$(json_get "$OUT" 'd["id"]')
unset KURA_KEY_FILE KURA_VAULT_CREDENTIALS

# vreq WANT METHOD PATH [CURL ARGS...]: a request without a token, from the
# loopback address $FROM (the approvers' kura runs from 127.0.0.1, the
# forger from 127.0.0.2: the gate locks out an address, not the vault);
# the body is in $WORK/body
FROM=127.0.0.2
vreq() {
	local want=$1 method=$2 path=$3
	shift 3
	STATUS=$(curl -sS -o "$WORK/body" -w '%{http_code}' --max-time 20 --noproxy '*' --interface "$FROM" \
		--pinnedpubkey "$PIN" --insecure -X "$method" "$@" "https://$VAULT_ADDR$path" \
		2>"$WORK/curl.err") || true
	[[ $STATUS =~ ^($want)$ ]] ||
		fail "$method $path: expected HTTP $want, got $STATUS: $(head -c 800 "$WORK/body") $(cat "$WORK/curl.err")"
}
post_sig() { # WANT ID ACTION APPROVER SIGNATURE
	vreq "$1" POST "/v1/deletions/$2" -H 'Content-Type: application/json' \
		--data-binary "{\"action\": \"$3\", \"approver\": \"$4\", \"signature\": \"$5\"}"
}

note "the statement is served without a token, for pending requests only"
vreq 200 GET "/v1/deletions/$req1"
stmt=$(json_get "$(cat "$WORK/body")" 'd["statements"]["approve"]')
assert_eq "statement magic" kura-deletion-v1 "$(head -n 1 <<<"$stmt")"
assert_contains "statement names the old snapshot" "$old_snap" "$stmt"
assert_eq "statement names the vault" "$(cred_get "$WORK/alice/vault.cred" signing_key)" "$(sed -n 2p <<<"$stmt")"
vreq 404 GET /v1/deletions/999
vreq 400 GET /v1/deletions/01
vreq 405 PUT "/v1/deletions/$req1" --data-binary '{}'

note "no terminal and no --yes: nothing is signed"
expect_exit 2 as alice setsid -w "$KURA" approve "$req1" --key "$WORK/alice/alice.key"
assert_contains "asks for --yes" "--yes" "$ERR"

note "a wrong passphrase: a clear error, nothing signed"
printf 'not the passphrase of this key at all\n' >"$WORK/wrong.pass"
expect_exit 12 as alice env KURA_APPROVER_PASSWORD_FILE="$WORK/wrong.pass" "$KURA" approve "$req1" \
	--key "$WORK/alice/alice.key" --yes
assert_contains "wrong passphrase named" "wrong passphrase" "$ERR"
assert_contains "nothing signed" "nothing was signed" "$ERR"

note "alice approves request 1 from her machine"
expect_exit 0 as alice "$KURA" approve "$req1" --key "$WORK/alice/alice.key" --yes
assert_contains "shows the snapshot" "$old_snap" "$OUT"
assert_contains "shows the prune" "prune" "$OUT"
assert_contains "shows who filed it" ward4-backup "$OUT"
assert_contains "counts" "1 of 2 approvals" "$OUT"
alice_sig=$(json_get "$(cat "$VAULT_DIR/deletions/$req1.json")" 'd["approvals"][0]["sig"]')

note "replays and forgeries are refused"
post_sig 409 "$req1" approve alice "$alice_sig"
assert_contains "replay on the same request" "already" "$(cat "$WORK/body")"
post_sig 403 "$req2" approve alice "$alice_sig"
assert_contains "replay on another request" "another request" "$(cat "$WORK/body")"
post_sig 403 "$req1" cancel alice "$alice_sig"
flipped=$(python3 -c 'import base64,sys; b=bytearray(base64.b64decode(sys.argv[1])); b[10]^=1; print(base64.b64encode(bytes(b)).decode())' "$alice_sig")
post_sig 403 "$req2" approve alice "$flipped"
random=$(head -c 64 /dev/urandom | base64 -w0)
post_sig 403 "$req1" approve bob "$random"
post_sig 403 "$req1" approve mallory "$alice_sig"
assert_contains "unknown approver" "no approver mallory" "$(cat "$WORK/body")"
post_sig 400 "$req1" approve bob "not base64"
vreq 400 POST "/v1/deletions/$req1" --data-binary '{"action": "approve", "approver": "bob"}'
# the tenth failure from this address within a minute: it is locked out (the gate's rule)
post_sig 403 "$req1" cancel carol "$random"
vreq 429 GET "/v1/deletions/$req1"
FROM=127.0.0.3

# An old, unencrypted key file (version 1) named bob, but not bob's key.
openssl genpkey -algorithm ed25519 -out "$WORK/fake.pem" 2>/dev/null
v1_key() { # NAME VAULT_KEY PEM OUT: a version 1 key file from an OpenSSL Ed25519 key
	python3 - "$1" "$2" "$3" "$4" <<'EOF'
import base64, json, re, subprocess, sys
name, vkey, pem, out = sys.argv[1:]
text = subprocess.run(["openssl", "pkey", "-in", pem, "-text", "-noout"], check=True,
                      capture_output=True, text=True).stdout
priv = bytes.fromhex("".join(re.search(r"priv:(.*?)pub:", text, re.S).group(1).split()).replace(":", ""))
pub = bytes.fromhex("".join(re.search(r"pub:(.*)", text, re.S).group(1).split()).replace(":", ""))
json.dump({"kura_approver_key": 1, "vault_signing_key": vkey, "name": name,
           "secret_key": base64.b64encode(priv + pub).decode()}, open(out, "w"))
print(base64.b64encode(pub).decode())
EOF
}
VKEY=$(cred_get "$WORK/alice/vault.cred" signing_key)
v1_key bob "$VKEY" "$WORK/fake.pem" "$WORK/fake-bob.key" >/dev/null
chmod 600 "$WORK/fake-bob.key"
expect_exit 12 as bob "$KURA" approve "$req1" --key "$WORK/fake-bob.key" --yes
assert_contains "an old key file is read, with a warning" "not protected by a passphrase" "$ERR"
assert_contains "the vault refuses a key that is not bob's" "refused the signature" "$ERR"
assert_contains "and says why" "forged" "$ERR"

# A key of another vault: refused before anything is sent.
init_vault_dir=$WORK/vault2
"$KURAD" init "$init_vault_dir" --listen 127.0.0.1:1 >/dev/null 2>&1 || fail "kurad init vault2"
at_exit "chattr -R -i '$init_vault_dir' 2>/dev/null"
expect_exit 0 env KURA_APPROVER_PASSWORD_FILE="$WORK/bob/pass" "$KURAD" approver add "$init_vault_dir" \
	bob --output "$WORK/bob/other-vault.key" --kdf interactive
expect_exit 12 as bob "$KURA" approve "$req1" --key "$WORK/bob/other-vault.key" --yes
assert_contains "another vault's key" "another vault" "$ERR"
expect_exit 0 "$KURAD" deletions "$VAULT_DIR" --json
assert_eq "still one approval" 1 "$(json_get "$OUT" "[r['approvals_valid'] for r in d if r['id'] == $req1][0]")"

note "bob approves from his machine: the quorum is complete, and after the delay it is carried out"
expect_exit 0 as bob "$KURA" --json approve "$req1" --key "$WORK/bob/bob.key" --yes
assert_eq "two valid approvals" 2 "$(json_get "$OUT" 'd["approvals_valid"]')"
assert_contains "the display went to stderr with --json" "$old_snap" "$ERR"
[ -e "$VAULT_DIR/repos/clinic/snapshots/$old_snap" ] || fail "removed before the delay"
state=pending
for _ in $(seq 1 150); do
	expect_exit 0 "$KURAD" deletions "$VAULT_DIR" --json
	state=$(json_get "$OUT" "[r['state'] for r in d if r['id'] == $req1][0]")
	[ "$state" = done ] && break
	sleep 0.2
done
assert_eq "request 1 carried out" done "$state"
[ ! -e "$VAULT_DIR/repos/clinic/snapshots/$old_snap" ] || fail "the old snapshot is still stored"
expect_exit 1 as alice "$KURA" approve "$req1" --key "$WORK/alice/alice.key" --yes
assert_contains "a done request" "not pending" "$ERR"

note "carol cancels request 2 from her machine; a cancellation sent again is refused"
expect_exit 0 as carol "$KURA" cancel "$req2" --key "$WORK/carol/carol.key" --yes
assert_contains "cancelled" "Cancelled deletion request $req2 as carol" "$OUT"
cancel_sig=$(json_get "$(cat "$VAULT_DIR/deletions/$req2.json")" 'd["cancellation"]["sig"]')
post_sig 409 "$req2" cancel carol "$cancel_sig"
assert_contains "not pending" "cancelled, not pending" "$(cat "$WORK/body")"
expect_exit 0 "$KURAD" deletions "$VAULT_DIR" --json
assert_eq "request 2 cancelled" cancelled "$(json_get "$OUT" "[r['state'] for r in d if r['id'] == $req2][0]")"
[ -e "$VAULT_DIR/repos/clinic/snapshots/$new_snap" ] || fail "a cancelled request removed its snapshot"

note "kurad approve on the console still signs with an old unencrypted key file"
expect_exit 0 env KURA_KEY_FILE="$WORK/backup.key" KURA_VAULT_CREDENTIALS="$WORK/writer.cred" \
	"$KURA" --json forget "$new_snap"
req3=$(json_get "$OUT" 'd["id"]')
openssl genpkey -algorithm ed25519 -out "$WORK/dave.pem" 2>/dev/null
dave_pk=$(v1_key dave "$VKEY" "$WORK/dave.pem" "$WORK/dave.key")
printf '{"name": "dave", "public_key": "%s", "created": "2026-01-01T00:00:00Z"}\n' "$dave_pk" \
	>"$VAULT_DIR/approvers/dave.json"
expect_exit 0 env -u KURA_APPROVER_PASSWORD_FILE "$KURAD" approve "$VAULT_DIR" "$req3" --key "$WORK/dave.key"
assert_contains "console approval with the old key" "approvals: 1 of 2" "$OUT"
assert_contains "with a warning" "not protected by a passphrase" "$ERR"
expect_exit 0 as carol "$KURA" approve "$req3" --key "$WORK/carol/carol.key" --yes
assert_contains "a remote approval completes a console one" "The quorum is complete" "$OUT"
expect_exit 0 as carol "$KURA" cancel "$req3" --key "$WORK/carol/carol.key" --yes

note "every signature sent is in the audit log, with its approver and outcome"
sleep 1.5 # the tick logs the approvals and the cancellation
stop_vault
log=$(cat "$VAULT_DIR/audit/log.jsonl")
posts() { ndjson_get "$log" "len([e for e in d if e.get('method') == 'POST' and e['path'].startswith('/v1/deletions/') and $1])"; }
assert_eq "accepted signatures" 5 "$(posts "e['status'] == 200 and e['role'] == 'approver'")"
assert_eq "forged or replayed (403)" 7 "$(posts "e['status'] == 403")"
assert_eq "replays of a recorded one (409)" 2 "$(posts "e['status'] == 409")"
assert_eq "alice's accepted approval" 1 "$(posts "e['status'] == 200 and e['client'] == 'alice'")"
assert_eq "approvals logged by the tick" 4 "$(ndjson_get "$log" "len([e for e in d if e.get('method') == 'APPROVE' and e['status'] == 200])")"
assert_eq "cancellations logged by the tick" 2 "$(ndjson_get "$log" "len([e for e in d if e.get('method') == 'CANCEL' and e['status'] == 200])")"
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"

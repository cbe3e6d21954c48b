#!/usr/bin/env bash
# vault_delete.sh - deletion only by policy, approval and delay, end to
# end.  Two backups through the vault; the backup client files deletion
# requests for the older snapshot with `kura forget` (writer and reader
# credentials; the HTTP surface's refusals are probed with curl);
# approvers sign with `kurad approve` / `kurad cancel`.  Policy:
# quorum 2 of 3 approvers, delay 3 s, no retention.  Checked: a request
# without quorum does nothing after the delay; with the quorum it waits for
# the delay; a cancelled one does nothing; the approved one removes the
# old snapshot and exactly the packs only it listed, each removal in the
# audit log; afterwards `kura check --read-data` passes (the index records
# of collected packs count as pruned), the newer snapshot restores
# identical, and a new backup of the collected data stores it again
# instead of deduplicating against packs that are gone.
. "$(dirname "$0")/lib.sh"

DELAY=3
SRC=$WORK/data/src
mkdir -p "$SRC/docs"
gen_text "$SRC/docs/keep.txt" 20000 keep
gen_random "$SRC/old.bin" $((3 * 1024 * 1024)) old # only in the first snapshot

init_vault "$WORK/vault"
vault_client ward4-backup writer clinic "$WORK/writer.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"
vault_client soc auditor "" "$WORK/auditor.cred"
for a in alice bob carol; do
	expect_exit 0 "$KURAD" approver add "$VAULT_DIR" "$a" --output "$WORK/$a.key" --kdf interactive
	[ "$(stat -c %a "$WORK/$a.key")" = 600 ] || fail "approver key $a has mode $(stat -c %a "$WORK/$a.key")"
done
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quorum 2 --delay ${DELAY}s --min-age 0 \
	--keep-daily 0 --keep-weekly 0 --keep-monthly 0
start_vault
REPO_DIR=$VAULT_DIR/repos/clinic
PIN=$(cred_get "$WORK/writer.cred" pin)
W_TOKEN=$(cred_get "$WORK/writer.cred" token)
R_TOKEN=$(cred_get "$WORK/reader.cred" token)
A_TOKEN=$(cred_get "$WORK/auditor.cred" token)
D=/v1/repos/clinic/deletions

note "two backups: the second no longer has old.bin"
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
expect_exit 0 kura init --kdf interactive --pack-size 1M
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key --output "$WORK/backup.key"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key export --output "$WORK/restore.key"
export KURA_KEY_FILE=$WORK/backup.key
backup_json "$SRC"
old_snap=$SNAP_ID
rm "$SRC/old.bin"
gen_text "$SRC/docs/new.txt" 100 new
backup_json "$SRC"
new_snap=$SNAP_ID
unset KURA_KEY_FILE

# The plaintext pack list of a stored snapshot (docs/FORMAT.md).
packs_of() {
	python3 - "$REPO_DIR/snapshots/$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"KURASNAP", "not a snapshot"
n, = struct.unpack_from("<I", d, 20)
for i in range(n):
    print(d[24 + 32 * i:56 + 32 * i].hex())
EOF
}
stored_packs() { find "$REPO_DIR/data" -type f -printf '%f\n' | LC_ALL=C sort; }
stored_snaps() { find "$REPO_DIR/snapshots" -type f -printf '%f\n' | LC_ALL=C sort; }

packs_before=$(stored_packs)
snaps_before=$(stored_snaps)
new_packs=$(packs_of "$new_snap" | LC_ALL=C sort)
old_packs=$(packs_of "$old_snap" | LC_ALL=C sort)
# What the approved request must remove: every stored pack the newer
# snapshot does not list (all were stored before the request).
expected_gone=$(LC_ALL=C comm -23 <(echo "$packs_before") <(echo "$new_packs"))
[ -n "$expected_gone" ] || fail "the test needs packs only the old snapshot lists; there are none"
[ -z "$(LC_ALL=C comm -23 <(echo "$expected_gone") <(echo "$old_packs"))" ] ||
	fail "packs that no snapshot lists before any deletion: $(LC_ALL=C comm -23 <(echo "$expected_gone") <(echo "$old_packs"))"
note "expect $(echo "$expected_gone" | wc -l) of $(echo "$packs_before" | wc -l) packs to go"

# dreq WANT METHOD TOKEN [CURL ARGS...]: one request to $D; the body is in
# $WORK/body, the status in $STATUS.
dreq() {
	local want=$1 method=$2 token=$3
	shift 3
	STATUS=$(curl -sS -o "$WORK/body" -w '%{http_code}' --max-time 20 --noproxy '*' \
		--pinnedpubkey "$PIN" --insecure -X "$method" -H "Authorization: Bearer $token" \
		"$@" "https://$VAULT_ADDR$D" 2>"$WORK/curl.err") || true
	[[ $STATUS =~ ^($want)$ ]] ||
		fail "$method $D: expected HTTP $want, got $STATUS: $(head -c 800 "$WORK/body") $(cat "$WORK/curl.err")"
}
post() { dreq "$1" POST "$W_TOKEN" -H 'Content-Type: application/json' --data-binary "$2"; }

note "requests the vault refuses"
post 400 '{"snapshots": [], "prune": false}'
post 400 '{"snapshots": ["'"$old_snap"'", "'"$old_snap"'"], "prune": false}'
post 400 '{"snapshots": ["'"${old_snap^^}"'"], "prune": false}'
post 400 '{"snapshots": ["'"$old_snap"'"]}'
post 400 '{"snapshots": ["'"$old_snap"'"], "prune": false, "force": true}'
post 400 'not json'
post 404 '{"snapshots": ["'"${new_packs%%$'\n'*}"'"], "prune": false}'
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --min-age 1h
post 409 '{"snapshots": ["'"$old_snap"'"], "prune": true}'
assert_eq "409 names the protected snapshot" "$old_snap" "$(json_get "$(cat "$WORK/body")" 'd["protected"][0]["snapshot"]')"
expect_exit 1 env KURA_KEY_FILE="$WORK/backup.key" "$KURA" forget --prune "${old_snap:0:12}"
assert_contains "kura forget names the protected snapshot" "$old_snap" "$ERR"
assert_contains "kura forget gives the vault's reason" "minimum age" "$ERR"
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --min-age 0
head -c $(((1 << 20) + 1)) /dev/zero >"$WORK/big.json"
dreq 413 POST "$W_TOKEN" --data-binary @"$WORK/big.json"
dreq 405 PUT "$W_TOKEN" --data-binary '{}'
dreq 403 GET "$A_TOKEN"
dreq 200 GET "$R_TOKEN"
assert_eq "no requests yet" "[]" "$(cat "$WORK/body")"
allow=$(curl -sS -D - -o /dev/null --noproxy '*' --pinnedpubkey "$PIN" --insecure -X DELETE \
	-H "Authorization: Bearer $W_TOKEN" "https://$VAULT_ADDR$D" | tr -d '\r' | grep -i '^allow:' || true)
assert_eq "Allow on the deletions path" "Allow: GET, POST" "$allow"
[ "$(stored_packs)" = "$packs_before" ] && [ "$(stored_snaps)" = "$snaps_before" ] ||
	fail "a refused request changed the repository"

note "file two requests for the old snapshot: 1 with prune, 2 without"
expect_exit 0 env KURA_KEY_FILE="$WORK/backup.key" "$KURA" forget --prune "${old_snap:0:12}"
assert_contains "kura forget says what happens next" "2 approvals" "$OUT"
expect_exit 0 env KURA_KEY_FILE="$WORK/backup.key" "$KURA" --json forget --prune --dry-run "$old_snap"
dreq 200 GET "$W_TOKEN"
req1=$(json_get "$(cat "$WORK/body")" 'd[0]["id"]')
assert_eq "request 1 state" pending "$(json_get "$(cat "$WORK/body")" 'd[0]["state"]')"
assert_eq "request 1 filed by" ward4-backup "$(json_get "$(cat "$WORK/body")" 'd[0]["requested_by"]')"
assert_eq "request 1 prunes" true "$(json_get "$(cat "$WORK/body")" 'd[0]["prune"]')"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" KURA_KEY_FILE="$WORK/restore.key" "$KURA" --json forget "$old_snap"
req2=$(json_get "$OUT" 'd["id"]')
assert_eq "request 2 filed by" restore-host "$(json_get "$OUT" 'd["requested_by"]')"
dreq 200 GET "$W_TOKEN"
assert_eq "listed requests" "[$req1, $req2]" "$(json_get "$(cat "$WORK/body")" '[r["id"] for r in d]')"

note "request 1 gets one approval; request 2 two, then a cancellation"
expect_exit 0 "$KURAD" approve "$VAULT_DIR" "$req1" --key "$WORK/alice.key"
assert_contains "approve summary" "1 of 2 needed" "$OUT"
expect_exit 0 "$KURAD" approve "$VAULT_DIR" "$req2" --key "$WORK/alice.key"
expect_exit 0 "$KURAD" approve "$VAULT_DIR" "$req2" --key "$WORK/bob.key"
assert_contains "approve summary" "The quorum is complete" "$OUT"
expect_exit 0 "$KURAD" cancel "$VAULT_DIR" "$req2" --key "$WORK/carol.key"
assert_contains "cancel summary" "Nothing will be deleted" "$OUT"
expect_fail "$KURAD" approve "$VAULT_DIR" "$req1" --key "$WORK/alice.key"
assert_contains "double approval" "already" "$ERR"
expect_fail "$KURAD" approve "$VAULT_DIR" "$req2" --key "$WORK/bob.key"
assert_contains "approving a cancelled request" "not pending" "$ERR"

note "after the delay: no quorum and cancelled both leave everything in place"
sleep $((DELAY + 2))
expect_exit 0 "$KURAD" deletions "$VAULT_DIR" --json
assert_eq "states" '["pending", "cancelled"]' "$(json_get "$OUT" '[r["state"] for r in d]')"
[ "$(stored_packs)" = "$packs_before" ] && [ "$(stored_snaps)" = "$snaps_before" ] ||
	fail "a request without quorum, or a cancelled one, removed files"

note "the quorum completes: nothing before the delay, then exactly the old snapshot's own packs"
expect_exit 0 "$KURAD" approve "$VAULT_DIR" "$req1" --key "$WORK/carol.key"
expect_exit 0 "$KURAD" status "$VAULT_DIR"
assert_contains "status lists the pending request" "ward4-backup" "$OUT"
assert_not_contains "status: quorum complete" "waiting for approvals" "$OUT"
[ "$(stored_snaps)" = "$snaps_before" ] || fail "removed before the delay"
state=pending
for _ in $(seq 1 100); do
	expect_exit 0 "$KURAD" deletions "$VAULT_DIR" --json
	state=$(json_get "$OUT" "[r['state'] for r in d if r['id'] == $req1][0]")
	[ "$state" = done ] && break
	sleep 0.2
done
assert_eq "request 1 state" done "$state"
result=$OUT
eff=$(json_get "$result" "[r for r in d if r['id'] == $req1][0]['done_ns'] - [r for r in d if r['id'] == $req1][0]['quorum_ns']")
[ "$eff" -ge $((DELAY * 1000000000)) ] || fail "carried out ${eff} ns after the quorum, before the delay of ${DELAY}s"
assert_eq "snapshots left" "$new_snap" "$(stored_snaps)"
assert_eq "packs left" "$new_packs" "$(stored_packs)"
assert_eq "packs removed (result)" "$(echo "$expected_gone" | wc -l)" \
	"$(json_get "$result" "[r for r in d if r['id'] == $req1][0]['result']['packs_removed']")"

note "every removal, approval and cancellation is in the audit log"
log=$(cat "$VAULT_DIR/audit/log.jsonl")
logged=$(ndjson_get "$log" "'\n'.join(sorted(e['path'].rsplit('/', 1)[1] for e in d if e.get('method') == 'DELETE' and e['status'] == 200 and '/data/' in e['path']))")
assert_eq "packs removed (audit log)" "$expected_gone" "$logged"
assert_eq "snapshot removal logged" 1 "$(ndjson_get "$log" "len([e for e in d if e.get('method') == 'DELETE' and e['path'] == '/v1/repos/clinic/snapshots/$old_snap' and e['client'] == 'kurad'])")"
assert_eq "approvals logged" 4 "$(ndjson_get "$log" "len([e for e in d if e.get('method') == 'APPROVE' and e['role'] == 'approver' and e['status'] == 200])")"
assert_eq "cancellation logged" carol "$(ndjson_get "$log" "[e['client'] for e in d if e.get('method') == 'CANCEL'][0]")"
assert_eq "requests logged" 2 "$(ndjson_get "$log" "len([e for e in d if e.get('method') == 'POST' and e['status'] == 202])")"

note "the repository checks clean and the newer snapshot restores identical"
export KURA_VAULT_CREDENTIALS=$WORK/reader.cred KURA_KEY_FILE=$WORK/restore.key
expect_exit 0 kura --json check --read-data
assert_eq "index records of collected packs count as pruned" "$(echo "$expected_gone" | wc -l)" \
	"$(json_get "$OUT" 'd["packs_pruned"]')"
expect_exit 0 kura restore "$new_snap" --target "$WORK/restored"
same_tree "$SRC" "$WORK/restored$SRC"
expect_fail kura restore "$old_snap" --target "$WORK/restored-old"

note "backing up the collected data again stores it again (no dedup against removed packs)"
gen_random "$SRC/old.bin" $((3 * 1024 * 1024)) old
KURA_VAULT_CREDENTIALS=$WORK/writer.cred KURA_KEY_FILE=$WORK/backup.key backup_json "$SRC"
expect_exit 0 kura check --read-data
expect_exit 0 kura restore "$SNAP_ID" --target "$WORK/restored-again"
same_tree "$SRC" "$WORK/restored-again$SRC"

stop_vault
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"

#!/usr/bin/env bash
# vault_log_rollback.sh - an audit log that cannot be rolled back quietly
# (issue 10, finding 7): (a) a log cut back to an earlier checkpoint, or
# emptied, while kurad is stopped: kurad refuses to start and names the
# head it recorded; the override starts it and is logged.  (b) a client
# that saw a newer head warns when the vault answers with an older one
# (DIR/audit restored from an older copy), and `kura log verify` fails.
# (c) a client added, the policy changed and an approver removed while
# kurad is stopped: each is logged when it starts.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
mkdir -p "$SRC"
gen_text "$SRC/notes.txt" 200 notes

note "vault up: a writer, a reader, an auditor, two approvers"
init_vault "$WORK/vault"
vault_client ward4-backup writer clinic "$WORK/writer.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"
vault_client soc auditor "" "$WORK/auditor.cred"
expect_exit 0 "$KURAD" approver add "$VAULT_DIR" alice --output "$WORK/alice.key" --kdf interactive
expect_exit 0 "$KURAD" approver add "$VAULT_DIR" bob --output "$WORK/bob.key" --kdf interactive
start_vault
note "every answer carries a signed log head"
hdr=$(curl -sk -o /dev/null -D - "https://$VAULT_ADDR/v1/log" | tr -d '\r' | grep -i '^kura-log-head:' || true)
[[ $hdr =~ ^[Kk]ura-[Ll]og-[Hh]ead:\ 1\ [0-9a-f]{64}\ [A-Za-z0-9+/]{86}==$ ]] ||
	fail "an unauthenticated answer has no Kura-Log-Head header of 1 entry: '$hdr'"
stop_vault # a checkpoint after that first entry
start_vault
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key \
	--output "$WORK/backup.key"
KURA_KEY_FILE=$WORK/backup.key backup_json "$SRC"

stop_vault
logf=$VAULT_DIR/audit/log.jsonl
chattr -i "$logf" 2>/dev/null || true
[ -s "$VAULT_DIR/audit/head" ] || fail "kurad keeps no DIR/audit/head"
read -r head_seq head_hash _ <"$VAULT_DIR/audit/head"
assert_eq "the recorded head is the log's last entry" "$head_hash" \
	"$(grep -v checkpoint "$logf" | tail -n1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["hash"])')"
cp -a "$VAULT_DIR/audit" "$WORK/audit.full"

note "(a) the log cut back to its first checkpoint: kurad refuses to start"
first_cp=$(grep -n -m1 '"checkpoint"' "$logf" | cut -d: -f1)
[ -n "$first_cp" ] && [ "$first_cp" -lt "$(wc -l <"$logf")" ] ||
	fail "want a checkpoint before the end of the log (line $first_cp of $(wc -l <"$logf"))"
head -n "$first_cp" "$WORK/audit.full/log.jsonl" >"$logf"
expect_exit 0 "$KURAD" log verify "$VAULT_DIR" # the cut log is intact on its own
expect_fail "$KURAD" serve "$VAULT_DIR" --listen "$VAULT_ADDR"
assert_contains "refusal names the recorded head" "recorded last in $VAULT_DIR/audit/head is $head_seq entries, the last ${head_hash:0:16}" "$ERR"
assert_contains "refusal says why" "cut back or replaced by an older copy" "$ERR"
assert_contains "refusal names the override" "--accept-log-rollback" "$ERR"

note "(a) the log emptied: refused as well"
: >"$logf"
expect_fail "$KURAD" serve "$VAULT_DIR" --listen "$VAULT_ADDR"
assert_contains "empty log refused" "has 0 entries" "$ERR"

note "(a) the whole log back: serves again"
cp "$WORK/audit.full/log.jsonl" "$logf"
start_vault
stop_vault
cp -a "$VAULT_DIR/audit" "$WORK/audit.old"

note "(b) the client sees newer heads; then the vault's log is restored from an older copy"
start_vault
export KURA_VAULT_CREDENTIALS=$WORK/auditor.cred
unset KURA_REPOSITORY
expect_exit 0 kura log verify
expect_exit 0 kura log verify # the second run checks the head the first one saw
heads=$(ls "$KURA_CACHE_DIR/vault-heads")
[ "$(echo "$heads" | wc -l)" = 1 ] || fail "want one remembered head, got: $heads"
read -r seen_seq _ <"$KURA_CACHE_DIR/vault-heads/$heads"
stop_vault
# the log from an older copy; kurad's own head says it is older ...
cp "$WORK/audit.old/log.jsonl" "$logf"
expect_fail "$KURAD" serve "$VAULT_DIR" --listen "$VAULT_ADDR"
# ... and the operator's override (a disk restored from a backup) starts it
"$KURAD" serve "$VAULT_DIR" --listen "$VAULT_ADDR" --accept-log-rollback \
	>"$WORK/kurad.out" 2>"$WORK/kurad.err" </dev/null &
VAULT_PID=$!
at_exit stop_vault quiet
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/${VAULT_ADDR%:*}/${VAULT_ADDR##*:}") 2>/dev/null && break
	sleep 0.1
done
expect_exit 0 kura vault status
assert_contains "the client warns of the rollback" "WARNING" "$ERR"
assert_contains "warning: what" "AUDIT LOG WENT BACK" "$ERR"
assert_contains "warning names the head seen before" "saw $seen_seq entries" "$ERR"
expect_exit 4 kura log verify
assert_contains "verify: the head seen before is missing" "does not hold the head this client saw before ($seen_seq entries" "$ERR"
expect_exit 4 kura log verify --json
v=$(json_get "$OUT" '[d["intact"], [p["line"] for p in d["problems"]]]')
assert_eq "verify --json" "[false, [0]]" "$v"
stop_vault
grep -q '"method":"ACCEPT-LOG-ROLLBACK","path":"/v1/log/head/' "$VAULT_DIR/audit/log.jsonl" ||
	fail "the override is not in the log"

note "(c) changes while kurad is stopped are logged when it starts"
vault_client late-writer writer clinic "$WORK/late.cred"
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quorum 1
rm -f "$VAULT_DIR/approvers/bob.json"
start_vault
expect_exit 0 kura log --json
for want in '"client":"late-writer","role":"writer","method":"ISSUE","path":"/v1/clients/late-writer?while-stopped"' \
	'"method":"POLICY","path":"/v1/policy?while-stopped"' \
	'"client":"bob","role":"approver","method":"REMOVE-APPROVER","path":"/v1/approvers/bob?while-stopped"'; do
	assert_contains "logged at start" "$want" "$OUT"
done
assert_not_contains "nothing else changed while stopped" '"client":"alice","role":"approver"' "$OUT"
stop_vault
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"

echo "PASS vault_log_rollback"

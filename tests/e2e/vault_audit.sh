#!/usr/bin/env bash
# vault_audit.sh - an auditor's view of a vault: `kura log` shows the
# requests (a backup, refused requests), `kura log verify` checks the
# fetched log with the signing key from the credential and agrees with
# `kurad log verify` before and after a byte of an entry is edited on the
# vault host, and `kura vault status` counts the snapshot.  A writer
# credential is refused the log.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
mkdir -p "$SRC"
gen_text "$SRC/notes.txt" 2000 notes
gen_random "$SRC/blob.bin" 300000 blob

note "vault up: a writer, a reader and an auditor"
init_vault "$WORK/vault"
vault_client ward4-backup writer clinic "$WORK/writer.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"
vault_client soc auditor "" "$WORK/auditor.cred"
[[ $(cred_get "$WORK/auditor.cred" signing_key) =~ ^[A-Za-z0-9+/]{43}=$ ]] ||
	fail "auditor credential: signing_key is not the base64 of 32 bytes"
assert_eq "signing_key is the vault's signing.pub" "$(base64 -w0 "$VAULT_DIR/signing.pub")" \
	"$(cred_get "$WORK/auditor.cred" signing_key)"
start_vault

note "a backup, and some refused requests"
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key \
	--output "$WORK/backup.key"
KURA_KEY_FILE=$WORK/backup.key backup_json "$SRC"
snap=$SNAP_ID
# a writer may not restore, a reader may not add
expect_fail env KURA_KEY_FILE="$WORK/backup.key" "$KURA" restore latest --target "$WORK/nope"
expect_fail env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" KURA_KEY_FILE="$WORK/backup.key" \
	"$KURA" backup "$SRC"

note "a writer is refused the log and the status"
expect_fail kura log
assert_contains "writer asking for the log" "refused by the vault" "$ERR"
assert_contains "writer asking for the log: hint" "auditor credential" "$ERR"
expect_fail kura vault status
assert_contains "writer asking for the status" "refused by the vault" "$ERR"

note "kura log: the timeline (auditor; no repository needed)"
unset KURA_REPOSITORY
export KURA_VAULT_CREDENTIALS=$WORK/auditor.cred
expect_exit 0 kura log
timeline=$OUT
assert_contains "timeline: header" "CLIENT (ROLE)" "$timeline"
assert_contains "timeline: the snapshot upload" "ward4-backup (writer)" "$timeline"
assert_contains "timeline: the snapshot path" "/v1/repos/clinic/snapshots/$snap" "$timeline"
assert_contains "timeline: the reader" "restore-host (reader)" "$timeline"
grep -qE 'restore-host \(reader\) +PUT +403 ' <<<"$timeline" ||
	fail "timeline does not show the reader's refused PUT: $timeline"
grep -qE 'ward4-backup \(writer\) +GET +403 ' <<<"$timeline" ||
	fail "timeline does not show the writer's refused GET: $timeline"
grep -qE 'ward4-backup \(writer\) +GET +403 +[0-9.]+ [KMG]?i?B +/v1/log$' <<<"$timeline" ||
	fail "timeline does not show the writer's refused /v1/log: $timeline"
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}  127\.0\.0\.1 ' <<<"$timeline" ||
	fail "timeline lines do not start with a local time and the peer: $timeline"

note "kura log --json: the vault's lines unchanged"
expect_exit 0 kura log --json
log_json=$OUT
v=$(ndjson_get "$log_json" 'any(e.get("status") == 201 and e.get("path") == "/v1/repos/clinic/snapshots/'"$snap"'" for e in d)')
assert_eq "log --json: the snapshot upload" true "$v"
v=$(ndjson_get "$log_json" 'all(e["seq"] == i for i, e in enumerate(x for x in d if "checkpoint" not in x))')
assert_eq "log --json: entries numbered from 0" true "$v"
# what the vault sent is a prefix of the file (the fetch itself is logged after)
n=$(printf '%s\n' "$log_json" | wc -c)
cmp -n "$n" <(printf '%s\n' "$log_json") "$VAULT_DIR/audit/log.jsonl" ||
	fail "kura log --json differs from the vault's audit/log.jsonl"

note "kura log verify: intact"
expect_exit 0 kura log verify
assert_contains "verify intact" "intact" "$OUT"
assert_contains "verify: uncovered entries are information" "not yet covered by a signed checkpoint" "$OUT"
expect_exit 0 kura log verify --json
assert_eq "verify --json" "[true, []]" "$(json_get "$OUT" '[d["intact"], d["problems"]]')"

note "kura vault status --json counts the snapshot"
expect_exit 0 kura vault status --json
v=$(json_get "$OUT" '[r["snapshots"] for r in d["repositories"] if r["name"] == "clinic"]')
assert_eq "status: snapshots of clinic" "[1]" "$v"
v=$(json_get "$OUT" 'sorted((c["name"], c["role"]) for c in d["clients"])')
assert_eq "status: clients" '[["restore-host", "reader"], ["soc", "auditor"], ["ward4-backup", "writer"]]' "$v"
expect_exit 0 kura vault status
assert_contains "status table: repository" "clinic" "$OUT"
assert_contains "status table: auditor" "soc" "$OUT"

note "one byte of an entry edited on the vault host"
stop_vault
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"
logf=$VAULT_DIR/audit/log.jsonl
# the first PUT 201 entry's status becomes 202, a one-byte edit of a byte
# that is neither the hash nor a link
line=$(grep -n -m1 '"method":"PUT".*"status":201' "$logf" | cut -d: -f1)
[ -n "$line" ] || fail "no PUT 201 entry in $logf"
chattr -i "$logf" 2>/dev/null || true
sed -i "${line}s/\"status\":201/\"status\":202/" "$logf"
expect_exit 4 "$KURAD" log verify "$VAULT_DIR"
assert_contains "kurad log verify names the line" "line $line:" "$OUT$ERR"
start_vault
expect_exit 4 kura log verify
assert_contains "kura log verify names the line" "audit log line $line:" "$ERR"
assert_contains "kura log verify: edited" "does not match its hash" "$ERR"
assert_contains "kura log verify: summary" "PROBLEMS FOUND" "$OUT"
expect_exit 4 kura log verify --json
v=$(json_get "$OUT" '[d["intact"], [p["line"] for p in d["problems"]]]')
assert_eq "verify --json: the edited line" "[false, [$line]]" "$v"

note "a credential without a signing key, or no credential at all"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); del d["signing_key"]; json.dump(d, open(sys.argv[2], "w"))' \
	"$WORK/auditor.cred" "$WORK/old.cred"
expect_fail env KURA_VAULT_CREDENTIALS="$WORK/old.cred" "$KURA" log verify
assert_contains "old credential" "no \"signing_key\"" "$ERR"
expect_exit 2 env KURA_VAULT_CREDENTIALS= "$KURA" log
assert_contains "no credential" "KURA_VAULT_CREDENTIALS" "$ERR"

stop_vault
echo "PASS vault_audit"

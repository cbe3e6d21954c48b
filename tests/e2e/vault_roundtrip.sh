#!/usr/bin/env bash
# vault_roundtrip.sh - a repository held by kurad: init and back up through
# the vault with a writer credential and the backup key, then list, restore
# and check with a reader credential and the passphrase.  The restored tree
# equals the original and a restore from a local repository of the same
# tree; the vault's audit log verifies and its status counts the snapshots.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
make_tree "$SRC"
nfiles=$(count_files "$SRC")

note "vault up, credentials issued"
init_vault "$WORK/vault"
vault_client ward4-backup writer clinic "$WORK/writer.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"
vault_client soc auditor "" "$WORK/auditor.cred"
start_vault
assert_eq "writer credential vault" "$VAULT_ADDR" "$(cred_get "$WORK/writer.cred" vault)"
assert_eq "writer credential repo" clinic "$(cred_get "$WORK/writer.cred" repo)"
assert_eq "writer credential role" writer "$(cred_get "$WORK/writer.cred" role)"
[[ $(cred_get "$WORK/writer.cred" pin) =~ ^sha256//[A-Za-z0-9+/]{43}=$ ]] ||
	fail "writer credential pin is not sha256//BASE64"
[ "$(cred_get "$WORK/writer.cred" token)" != "$(cred_get "$WORK/reader.cred" token)" ] ||
	fail "two credentials share a token"

export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
export KURA_VAULT_CREDENTIALS=$WORK/writer.cred

note "the location and the credential must agree"
expect_exit 1 env KURA_VAULT_CREDENTIALS= "$KURA" snapshots
assert_contains "no credential" "KURA_VAULT_CREDENTIALS" "$ERR"
expect_fail kura -r "vault://$VAULT_ADDR/other" snapshots
assert_contains "credential for another repository" 'for repository "clinic", not "other"' "$ERR"
expect_fail kura -r "vault://127.0.0.1:1/clinic" snapshots
assert_contains "credential for another vault" "is for the vault at $VAULT_ADDR" "$ERR"
expect_fail kura -r "vault://$VAULT_ADDR/" snapshots
assert_contains "bad location" "not a vault location" "$ERR"
note "before init the vault holds no repository"
expect_exit 10 kura snapshots

note "init through the vault (writer credential)"
expect_exit 0 kura init --kdf interactive
n=$(find "$VAULT_DIR/repos/clinic/config" -type f | wc -l)
assert_eq "config files on the vault" 1 "$n"
for f in "$VAULT_DIR"/repos/clinic/config/* "$VAULT_DIR"/repos/clinic/keys/*; do
	assert_eq "name of $f (SHA-256 of its bytes)" "$(sha256sum "$f" | cut -d' ' -f1)" "$(basename "$f")"
done
expect_exit 1 kura init --kdf interactive
assert_contains "second init" "already holds a repository" "$ERR"

note "a writer cannot read the key files: the backup key is made on a reader host"
expect_fail kura key backup-key --output "$WORK/nope.key"
assert_contains "writer reading keys/" "refused by the vault" "$ERR"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key \
	--output "$WORK/backup.key"

note "backups with the writer credential and the backup key"
export KURA_KEY_FILE=$WORK/backup.key
backup_json "$SRC"
snap1=$SNAP_ID
assert_eq "backup 1 files_new" "$nfiles" "$(json_get "$OUT" 'd["files_new"]')"
[ -f "$VAULT_DIR/repos/clinic/snapshots/$snap1" ] || fail "snapshot $snap1 is not on the vault"
sleep 1.1
printf 'a changed line\n' >>"$SRC/sub/deeper/file.txt"
backup_json "$SRC"
snap2=$SNAP_ID
assert_eq "backup 2 new/changed" "[0, 1]" "$(json_get "$OUT" '[d["files_new"], d["files_changed"]]')"
note "the writer cannot list snapshots or restore"
expect_fail kura restore latest --target "$WORK/nope"
assert_contains "writer restoring" "refused by the vault" "$ERR"
[ ! -e "$WORK/nope" ] || [ -z "$(ls -A "$WORK/nope")" ] || fail "a refused restore wrote files"

note "a reader cannot add"
unset KURA_KEY_FILE
expect_fail env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" backup "$SRC"
assert_contains "reader backup" "refused by the vault" "$ERR"

note "snapshots, restore, check with the reader credential and the passphrase"
export KURA_VAULT_CREDENTIALS=$WORK/reader.cred
expect_exit 0 kura --json snapshots
assert_eq "snapshots on the vault" "[\"$snap1\", \"$snap2\"]" "$(json_get "$OUT" '[s["id"] for s in d]')"
expect_exit 0 kura restore latest --target "$WORK/r-vault"
same_tree "$SRC" "$WORK/r-vault$SRC"
expect_exit 0 kura --json check --read-data
assert_eq "check --read-data problems/errors" '[0, []]' "$(json_get "$OUT" '[d["problems"], d["errors"]]')"
expect_exit 0 kura --json ls latest
ls_vault=$OUT

note "requests share kept-alive connections"
# One curl run, one connection: a listing, a whole pack, a range of it, a
# 404 and a 401 (--next keeps curl's connections); %{num_connects} is the
# number of connections each transfer had to open.
R_TOKEN=$(cred_get "$WORK/reader.cred" token)
PIN=$(cred_get "$WORK/reader.cred" pin)
# the largest pack: kurad sends files in 256 KiB pieces
PACK_FILE=$(find "$VAULT_DIR/repos/clinic/data" -type f -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2-)
[ "$(stat -c %s "$PACK_FILE")" -gt 300000 ] || fail "no pack of more than 300000 bytes on the vault"
PACK=$(basename "$PACK_FILE")
U=https://$VAULT_ADDR/v1/repos/clinic/data
copt=(-sS --noproxy '*' --max-time 20 --pinnedpubkey "$PIN" --insecure -w '%{http_code}:%{num_connects} ')
got=$(curl "${copt[@]}" -H "Authorization: Bearer $R_TOKEN" -o "$WORK/ka-list" "$U/" \
	--next "${copt[@]}" -H "Authorization: Bearer $R_TOKEN" -o "$WORK/ka-pack" "$U/$PACK" \
	--next "${copt[@]}" -H "Authorization: Bearer $R_TOKEN" -r 262000-263999 -o "$WORK/ka-range" "$U/$PACK" \
	--next "${copt[@]}" -H "Authorization: Bearer $R_TOKEN" -o /dev/null "$U/$(printf '0%.0s' {1..64})" \
	--next "${copt[@]}" -H "Authorization: Bearer not-a-token" -o /dev/null "$U/$PACK" \
	2>"$WORK/curl.err") || fail "curl: $(cat "$WORK/curl.err")"
assert_eq "status:new connections of five requests in one curl run" "200:1 200:0 206:0 404:0 401:0 " "$got"
cmp -s "$WORK/ka-pack" "$PACK_FILE" || fail "GET of pack $PACK differs from the stored file"
cmp -s "$WORK/ka-range" <(tail -c +262001 "$PACK_FILE" | head -c 2000) ||
	fail "GET of bytes 262000-263999 of pack $PACK differs from the stored file"

note "the same tree through a local repository restores the same"
(
	export KURA_REPOSITORY=$WORK/local
	unset KURA_VAULT_CREDENTIALS
	init_repo
	backup_json "$SRC"
	expect_exit 0 kura restore latest --target "$WORK/r-local"
	expect_exit 0 kura --json ls latest
	printf '%s' "$OUT" >"$WORK/ls-local"
)
same_tree "$WORK/r-local$SRC" "$WORK/r-vault$SRC"
# the directories above $SRC changed between the two backups (restores into $WORK)
ours() { grep -F "\"path\":\"$SRC" || true; }
assert_eq "ls --json latest under $SRC, vault vs local" "$(ours <"$WORK/ls-local")" "$(ours <<<"$ls_vault")"
[ "$(ours <<<"$ls_vault" | wc -l)" -gt 30 ] || fail "ls --json latest lists too little of $SRC: $ls_vault"

note "kurad status --json"
expect_exit 0 "$KURAD" status "$VAULT_DIR" --json
status=$OUT
v=$(json_get "$status" '[r.get("snapshots") for r in (d["repos"] if "repos" in d else d["repositories"]) if r["name"] == "clinic"]')
assert_eq "status: snapshots of clinic" "[2]" "$v"

note "the audit log verifies, and holds what happened"
stop_vault
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"
log=$(cat "$VAULT_DIR/audit/log.jsonl")
v=$(ndjson_get "$log" 'sorted(set(e["client"] for e in d if e.get("method") == "PUT" and e.get("status") == 201))')
assert_eq "clients that stored files" '["restore-host", "ward4-backup"]' "$v"
# the reader stored one thing: the proof record of its check --read-data
v=$(ndjson_get "$log" 'sorted(set(e["path"].split("/")[4] for e in d if e.get("method") == "PUT" and e.get("status") == 201 and e.get("client") == "restore-host"))')
assert_eq "what the reader stored" '["proofs"]' "$v"
v=$(ndjson_get "$log" 'any(e.get("method") == "PUT" and e.get("status") == 403 and e.get("client") == "restore-host" for e in d)')
assert_eq "the reader's refused PUT is logged" true "$v"
v=$(ndjson_get "$log" 'any(e.get("status") == 201 and e.get("path") == "/v1/repos/clinic/snapshots/'"$snap2"'" for e in d)')
assert_eq "snapshot 2's upload is logged" true "$v"

note "serve clears interrupted uploads an hour old from tmp/, and nothing younger"
head -c 4096 /dev/urandom >"$VAULT_DIR/repos/clinic/tmp/stale-upload.tmp"
touch -d '2 hours ago' "$VAULT_DIR/repos/clinic/tmp/stale-upload.tmp"
head -c 100 /dev/urandom >"$VAULT_DIR/repos/clinic/tmp/fresh-upload.tmp"
start_vault
KURA_VAULT_CREDENTIALS=$WORK/reader.cred expect_exit 0 kura snapshots
[ ! -e "$VAULT_DIR/repos/clinic/tmp/stale-upload.tmp" ] || fail "kurad left an hour-old upload in tmp/"
[ -e "$VAULT_DIR/repos/clinic/tmp/fresh-upload.tmp" ] || fail "kurad removed a fresh file from tmp/"
assert_contains "kurad says what it removed" "removed 1 interrupted upload" "$(cat "$WORK/kurad.err")"
stop_vault

echo "PASS vault_roundtrip"

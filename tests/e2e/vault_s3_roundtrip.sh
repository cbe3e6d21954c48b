#!/usr/bin/env bash
# vault_s3_roundtrip.sh - kurad with its repositories on a real Ceph RGW
# (kurad init --store s3:...): the vault keeps its state in DIR and every
# repository file in the bucket under PREFIX/REPO/, locked COMPLIANCE and
# read back by a request of our own; the S3 keys live in DIR/s3.json (mode
# 0600) and serve reads no AWS_* variable; backup through the vault and
# restore are byte-identical; nothing of the repository is left on the
# vault's disk; the same repository also opens directly on S3 with the
# restore key (the vault host is gone); a second vault on the same prefix
# is refused by init and by serve.
. "$(dirname "$0")/lib.sh"
need_rgw
s3_bucket vaults3
B=$S3_BUCKET
STORE=s3:$S3_ENDPOINT/$B/site/vault
SRC=$WORK/data/src
make_tree "$SRC"

note "kurad init --store: bucket with Object Lock, prefix claimed, keys in DIR/s3.json"
init_vault "$WORK/vault" --store "$STORE" --lock-days 1
assert_contains "init names the store" "Object Lock" "$(cat "$WORK/kurad-init.out")"
assert_eq "s3.json mode" 600 "$(stat -c %a "$VAULT_DIR/s3.json")"
assert_eq "s3.json key" "$S3_ACCESS_KEY" "$(cred_get "$VAULT_DIR/s3.json" access_key_id)"
assert_eq "store in vault.json" "$STORE" "$(json_get "$(cat "$VAULT_DIR/vault.json")" 'd["store"]["url"]')"
s3curl -o "$WORK/ol.xml" "$S3_ENDPOINT/$B?object-lock="
assert_contains "object lock enabled" "<ObjectLockEnabled>Enabled</ObjectLockEnabled>" "$(cat "$WORK/ol.xml")"
vault_client ward4-backup writer clinic "$WORK/writer.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"
s3curl -o "$WORK/settings.json" "$S3_ENDPOINT/$B/site/vault/clinic/kura-s3.json"
assert_eq "the repository's lock days" 1 "$(json_get "$(cat "$WORK/settings.json")" 'd["lock_days"]')"

note "serve reads its keys from DIR/s3.json, not from the environment"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ENDPOINT_URL
start_vault
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key \
	--output "$WORK/backup.key"
export KURA_KEY_FILE=$WORK/backup.key
backup_json "$SRC"
sleep 1.1
T=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1
printf 'a changed line\n' >>"$SRC/sub/deeper/file.txt"
backup_json "$SRC"
snap2=$SNAP_ID
unset KURA_KEY_FILE

note "restore through the vault is byte-identical; check --read-data is clean"
export KURA_VAULT_CREDENTIALS=$WORK/reader.cred
expect_exit 0 kura --json snapshots
assert_eq "two snapshots" 2 "$(json_get "$OUT" 'len(d)')"
expect_exit 0 kura restore latest --target "$WORK/r-vault"
same_tree "$SRC" "$WORK/r-vault$SRC"
expect_exit 0 kura --json check --read-data
assert_eq "check problems/errors" '[0, []]' "$(json_get "$OUT" '[d["problems"], d["errors"]]')"
expect_exit 0 "$KURAD" status "$VAULT_DIR" --json
assert_eq "status: snapshots of clinic" "[2]" \
	"$(json_get "$OUT" '[r.get("snapshots") for r in (d["repos"] if "repos" in d else d["repositories"]) if r["name"] == "clinic"]')"
stop_vault
unset KURA_VAULT_CREDENTIALS KURA_REPOSITORY
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY

note "the files are in the bucket, each locked COMPLIANCE; none on the vault's disk"
s3curl -o "$WORK/list.xml" "$S3_ENDPOINT/$B?list-type=2&prefix=site%2Fvault%2Fclinic%2F"
grep -o '<Key>[^<]*</Key>' "$WORK/list.xml" | sed 's/<[^>]*>//g' >"$WORK/keys"
for t in config keys snapshots index data; do
	grep -q "^site/vault/clinic/$t/" "$WORK/keys" || fail "no $t file in the bucket: $(cat "$WORK/keys")"
done
grep -q "^site/vault/clinic/snapshots/$snap2$" "$WORK/keys" || fail "snapshot $snap2 is not in the bucket"
now=$(date +%s)
while read -r k; do
	s3curl -o "$WORK/ret.xml" "$S3_ENDPOINT/$B/$k?retention="
	assert_contains "retention of $k" "<Mode>COMPLIANCE</Mode>" "$(cat "$WORK/ret.xml")"
done <"$WORK/keys"
assert_eq "repository files on the vault's disk" 0 "$(find "$VAULT_DIR" -path "$VAULT_DIR/repos/*" -type f | wc -l)"
assert_eq "spool left over" 0 "$(find "$VAULT_DIR/spool" -type f | wc -l)"
[ -s "$VAULT_DIR/meta/clinic/snapshot-times" ] || fail "no snapshot receive times in DIR/meta"
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"

note "the vault's own checks see the files on S3: new bytes per snapshot, what a revoke quarantines"
first_new=$(head -n1 "$VAULT_DIR/meta/clinic/volumes" | cut -d' ' -f4,5)
[ "${first_new% *}" -gt 5000000 ] && [ "${first_new#* }" -ge 1 ] ||
	fail "the first snapshot's new bytes and packs are not seen: $first_new"
expect_exit 0 "$KURAD" client revoke "$VAULT_DIR" ward4-backup --since "$T"
assert_contains "revoke quarantines the second backup's files" "Quarantined" "$OUT"

note "lock extension is the vault's: serve ran it (audited), kurad s3 extend-locks moves the dates"
assert_contains "serve extended the locks" '"EXTEND-LOCKS"' "$(cat "$VAULT_DIR/audit/log.jsonl")"
k=site/vault/clinic/snapshots/$snap2
before=$(s3_retain_until "$B/$k")
sleep 2
expect_exit 0 "$KURAD" s3 extend-locks "$VAULT_DIR" --json
assert_eq "clinic: every needed file extended" \
	"$(json_get "$OUT" '[r["files"] for r in d["repos"] if r["repo"] == "clinic"]')" \
	"$(json_get "$OUT" '[r["extended"] for r in d["repos"] if r["repo"] == "clinic"]')"
[ "$(json_get "$OUT" '[r["files"] for r in d["repos"]][0]')" -ge 5 ] || fail "too few files extended: $OUT"
assert_eq "the claim extended" 1 "$(json_get "$OUT" 'd["claim"]["extended"]')"
after=$(s3_retain_until "$B/$k")
[ "$after" -ge $((before + 2)) ] || fail "the lock of $k did not move: $before -> $after"
expect_exit 0 "$KURAD" s3 extend-locks "$VAULT_DIR" --dry-run
assert_contains "dry run" "would extend" "$OUT"

note "the vault host is gone: the restore key opens the repository on S3 directly"
mkdir -p "$WORK/direct"
expect_exit 0 env KURA_REPOSITORY="$STORE/clinic" "$KURA" restore "$snap2" \
	--target "$WORK/direct"
same_tree "$SRC" "$WORK/direct$SRC"

note "one vault per prefix: a second init is refused, and so is serving another's prefix"
V1=$VAULT_DIR A1=$VAULT_ADDR
expect_exit 1 "$KURAD" init "$WORK/vault2" --store "$STORE"
assert_contains "second vault on the prefix" "claimed by another vault" "$ERR"
[ ! -e "$WORK/vault2/vault.json" ] || fail "a refused init left a vault.json"
init_vault "$WORK/vault3" --store "s3:$S3_ENDPOINT/$B/site/other" --lock-days 1
python3 - "$WORK/vault3/vault.json" "$STORE" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["store"]["url"] = sys.argv[2]
json.dump(d, open(sys.argv[1], "w"))
PY
expect_exit 1 "$KURAD" serve "$WORK/vault3"
assert_contains "serving another vault's prefix" "belongs to another vault" "$ERR"
chmod 644 "$V1/s3.json"
expect_exit 1 "$KURAD" serve "$V1" --listen "$A1"
assert_contains "readable keys refused" "readable by kurad's user only" "$ERR"
chmod 600 "$V1/s3.json"
echo "PASS vault_s3_roundtrip"

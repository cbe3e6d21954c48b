#!/usr/bin/env bash
# vault_s3_attack.sh - the ransomware scenario with kurad's repositories on
# a real Ceph RGW, and a stronger thief: they hold the backup client (its
# writer credential and backup key) AND a root shell on the vault host,
# modelled by the vault's own S3 keys read from DIR/s3.json.  Through the
# vault they cannot delete or overwrite a file; straight at the bucket,
# with the keys that wrote every object, RGW refuses to delete any locked
# version (with or without the governance bypass, one by one or in a
# multi-object delete), to shorten or weaken its retention, to lift the
# bucket's Object Lock or suspend its versioning, to delete the bucket (it
# may drop the bucket's default retention, which reaches only later
# objects: kurad locks and confirms each file itself); the overwrites and delete
# markers it does accept only add versions.  Afterwards every version
# stored before the attack is still there, byte for byte, locked
# COMPLIANCE until no earlier than before; and kurad's own check of the
# prefix's claim still names this vault.
. "$(dirname "$0")/lib.sh"
need_rgw
s3_bucket vaultattack
B=$S3_BUCKET
EP=$S3_ENDPOINT
P=hosp/vault
SRC=$WORK/data/src
mkdir -p "$SRC/docs"
gen_random "$SRC/scan.bin" $((1024 * 1024)) scan
gen_text "$SRC/docs/notes.txt" 5000 notes

init_vault "$WORK/vault" --store "s3:$EP/$B/$P" --lock-days 1
vault_client ward4-backup writer clinic "$WORK/writer.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"
start_vault
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key --output "$WORK/backup.key"
export KURA_KEY_FILE=$WORK/backup.key
backup_json --no-detect "$SRC"
unset KURA_KEY_FILE
clean_snap=$SNAP_ID

# the thief's S3 keys: the vault's own, as root on its host reads them
AK=$(cred_get "$WORK/vault/s3.json" access_key_id)
SK=$(cred_get "$WORK/vault/s3.json" secret_access_key)
root_s3() {
	curl -s --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AK:$SK" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}
code() { root_s3 -o "$WORK/body" -w '%{http_code}' "$@"; }
md5() { openssl dgst -md5 -binary "$1" | base64; }

# versions: "KEY VERSION-ID" of every version under the repository (one page: few objects)
versions() {
	root_s3 "$EP/$B?prefix=$(sed 's:/:%2F:g' <<<"$P/clinic/")&versions=" |
		python3 -c '
import re, sys
x = sys.stdin.read()
for v in re.findall(r"<Version>(.*?)</Version>", x, re.S):
    k = re.search(r"<Key>([^<]*)</Key>", v).group(1)
    i = re.search(r"<VersionId>([^<]*)</VersionId>", v).group(1)
    print(k, i)'
}
# state: "KEY VERSION SHA256 MODE UNTIL" of every version, for before/after
state() {
	while read -r k v; do
		root_s3 -o "$WORK/obj" "$EP/$B/$k?versionId=$v"
		root_s3 -o "$WORK/ret.xml" "$EP/$B/$k?retention=&versionId=$v"
		mode=$(sed -n 's:.*<Mode>\([^<]*\)</Mode>.*:\1:p' "$WORK/ret.xml")
		until=$(sed -n 's:.*<RetainUntilDate>\([^<.Z]*\).*:\1:p' "$WORK/ret.xml")
		printf '%s %s %s %s %s\n' "$k" "$v" "$(sha256sum <"$WORK/obj" | cut -c1-64)" "$mode" "$until"
	done < <(versions | LC_ALL=C sort)
}
before=$(state)
n=$(wc -l <<<"$before")
[ "$n" -ge 6 ] || fail "want at least 6 stored objects, have $n: $before"
while read -r k v h mode until; do
	assert_eq "lock of $k" COMPLIANCE "$mode"
	name=${k##*/}
	[[ $name =~ ^[0-9a-f]{64}$ ]] && assert_eq "bytes of $k hash to its name" "$name" "$h"
done <<<"$before"
PACK_KEY=$(grep " " <<<"$before" | awk '{print $1}' | grep "/data/" | sed -n 1p)
PACK=${PACK_KEY##*/}

note "the stolen writer, through the vault: no delete, no overwrite"
PIN=$(cred_get "$WORK/writer.cred" pin)
W_TOKEN=$(cred_get "$WORK/writer.cred" token)
vault_code() {
	curl -sS -o "$WORK/body" -w '%{http_code}' --max-time 20 --noproxy '*' --pinnedpubkey "$PIN" \
		--insecure -H "Authorization: Bearer $W_TOKEN" "$@"
}
gen_random "$WORK/junk" 4096 junk
assert_eq "DELETE a pack" 405 "$(vault_code -X DELETE "https://$VAULT_ADDR/v1/repos/clinic/data/$PACK")"
assert_eq "PUT junk over a pack" 400 "$(vault_code -X PUT --data-binary @"$WORK/junk" \
	"https://$VAULT_ADDR/v1/repos/clinic/data/$PACK")"
assert_contains "  why" "does not match its name" "$(cat "$WORK/body")"
assert_eq "PUT junk over the snapshot" 400 "$(vault_code -X PUT --data-binary @"$WORK/junk" \
	"https://$VAULT_ADDR/v1/repos/clinic/snapshots/$clean_snap")"
stop_vault

note "root on the vault host, with the vault's own S3 keys, straight at the bucket"
while read -r k v h mode until; do
	assert_eq "DELETE $k?versionId" 403 "$(code -X DELETE "$EP/$B/$k?versionId=$v")"
	assert_eq "DELETE $k?versionId with governance bypass" 403 \
		"$(code -X DELETE -H 'x-amz-bypass-governance-retention: true' "$EP/$B/$k?versionId=$v")"
done <<<"$before"
read -r k v _ <<<"$(grep "/data/" <<<"$before" | sed -n 1p)"
short=$(date -u -d '+60 seconds' +%Y-%m-%dT%H:%M:%SZ)
printf '<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>%s</RetainUntilDate></Retention>' "$short" >"$WORK/r.xml"
assert_eq "shorten the retention" 403 "$(code -X PUT -H "Content-MD5: $(md5 "$WORK/r.xml")" \
	--data-binary @"$WORK/r.xml" "$EP/$B/$k?retention=&versionId=$v")"
printf '<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>%s</RetainUntilDate></Retention>' \
	"$(date -u -d '+3 days' +%Y-%m-%dT%H:%M:%SZ)" >"$WORK/r.xml"
assert_eq "COMPLIANCE to GOVERNANCE" 403 "$(code -X PUT -H "Content-MD5: $(md5 "$WORK/r.xml")" \
	-H 'x-amz-bypass-governance-retention: true' --data-binary @"$WORK/r.xml" "$EP/$B/$k?retention=&versionId=$v")"
{
	printf '<Delete>'
	while read -r k v _; do printf '<Object><Key>%s</Key><VersionId>%s</VersionId></Object>' "$k" "$v"; done <<<"$before"
	printf '</Delete>'
} >"$WORK/d.xml"
code -X POST -H "Content-MD5: $(md5 "$WORK/d.xml")" --data-binary @"$WORK/d.xml" "$EP/$B?delete=" >/dev/null
assert_eq "multi-object delete: versions deleted" 0 "$(grep -c '<Deleted>' "$WORK/body" || true)"
# RGW lets the owner drop the bucket's default retention: that reaches only
# objects written later without lock headers; kurad sets and confirms each
# file's own lock, and the versions stored so far keep theirs (below).
printf '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>' >"$WORK/ol.xml"
code -X PUT -H "Content-MD5: $(md5 "$WORK/ol.xml")" --data-binary @"$WORK/ol.xml" "$EP/$B?object-lock=" >/dev/null
s3curl -o "$WORK/olnow.xml" "$EP/$B?object-lock="
assert_contains "Object Lock itself cannot be lifted" "<ObjectLockEnabled>Enabled</ObjectLockEnabled>" "$(cat "$WORK/olnow.xml")"
printf '<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>' >"$WORK/v.xml"
st=$(code -X PUT -H "Content-MD5: $(md5 "$WORK/v.xml")" --data-binary @"$WORK/v.xml" "$EP/$B?versioning=")
[ "$st" != 200 ] || fail "versioning of an Object Lock bucket was suspended"
assert_eq "DELETE the bucket" 409 "$(code -X DELETE "$EP/$B")"
# what RGW accepts adds versions: junk over a pack, a delete marker on the snapshot
assert_eq "overwrite (a new version)" 200 "$(code -T "$WORK/junk" "$EP/$B/$PACK_KEY")"
assert_eq "delete marker" 204 "$(code -X DELETE "$EP/$B/$P/clinic/snapshots/$clean_snap")"

note "every version stored before the attack is still there, unchanged and locked"
after=$(state)
while read -r k v h mode until; do
	line=$(grep -F "$k $v " <<<"$after") || fail "version $v of $k is gone"
	read -r _ _ h2 mode2 until2 <<<"$line"
	assert_eq "bytes of $k ($v)" "$h" "$h2"
	assert_eq "lock mode of $k ($v)" COMPLIANCE "$mode2"
	[[ ! $until2 < $until ]] || fail "the lock of $k ($v) was shortened: $until -> $until2"
done <<<"$before"
[ "$(wc -l <<<"$after")" -gt "$n" ] || fail "the attacker's overwrite did not even add a version"

note "the prefix is still this vault's, and its audit log verifies"
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"
start_vault
stop_vault
echo "PASS vault_s3_attack"

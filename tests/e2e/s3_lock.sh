#!/usr/bin/env bash
# s3_lock.sh - Object Lock on a real Ceph RGW, checked with requests of our
# own, not kura's word: every stored object, a multipart-sized pack
# included, carries COMPLIANCE retention until about now + the lock period
# (GET ?retention per object); with the
# bucket owner's own keys RGW refuses to delete a locked version (with and
# without the governance bypass), to shorten or weaken its retention, and
# an overwrite leaves the locked version intact (kura check names the
# shadowing junk); the store refuses an upload whose Content-MD5 or
# x-amz-content-sha256 does not match the body; forget keeps a locked
# snapshot and says until when; prune deletes a file whose lock has run
# out and keeps a locked one; kura s3 extend-locks moves the lock dates of
# what snapshots need (read back, not waited for) and leaves a
# --let-expire snapshot alone.
. "$(dirname "$0")/lib.sh"
need_rgw
s3_bucket lock
B=$S3_BUCKET
P=repo
export KURA_REPOSITORY=s3:$S3_ENDPOINT/$B/$P
EP=$S3_ENDPOINT

# keys KEYPREFIX: every object key under it (ListObjectsV2, all pages)
keys() {
	python3 - "$1" <<'PY'
import os, re, subprocess, sys, urllib.parse
prefix, token, out = sys.argv[1], None, []
while True:
    q = ("continuation-token=%s&" % urllib.parse.quote(token, safe="") if token else "") + \
        "list-type=2&prefix=" + urllib.parse.quote(prefix, safe="")
    x = subprocess.run(["curl", "-s", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
                        os.environ["S3_ACCESS_KEY"] + ":" + os.environ["S3_SECRET_KEY"],
                        "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                        os.environ["S3_ENDPOINT"] + "/" + os.environ["B"] + "?" + q],
                       capture_output=True, text=True, check=True).stdout
    out += re.findall(r"<Key>([^<]*)</Key>", x)
    m = re.search(r"<NextContinuationToken>([^<]*)</NextContinuationToken>", x)
    if "<IsTruncated>true</IsTruncated>" not in x:
        break
    token = m.group(1)
print("\n".join(out))
PY
}
export B
# retention KEY: "MODE EPOCH" from GET ?retention
retention() {
	s3curl "$EP/$B/$1?retention=" | python3 -c '
import re, sys, calendar, time
x = sys.stdin.read()
m = re.search(r"<Mode>([^<]*)</Mode>", x); d = re.search(r"<RetainUntilDate>([^<.Z]*)", x)
print((m.group(1) if m else "NONE"), calendar.timegm(time.strptime(d.group(1), "%Y-%m-%dT%H:%M:%S")) if d else 0)'
}
code() { s3curl -o "$WORK/body" -w '%{http_code}' "$@"; }
xml_code() { sed -n 's:.*<Code>\([^<]*\)</Code>.*:\1:p' "$WORK/body"; }

SRC=$WORK/src
mkdir -p "$SRC/a" "$SRC/b"
gen_random "$SRC/a/one.bin" 400000 one
gen_text "$SRC/a/notes.txt" 2000 notes
expect_exit 0 kura init --kdf interactive --lock-days 1
backup_json --no-detect "$SRC/a"
first=$SNAP_ID
# a pack past the 8 MiB where S3 tools switch to multipart: kura sends it in one PUT, locked
gen_random "$SRC/b/two.bin" 9000000 two
backup_json --threads 1 --no-detect "$SRC/b"
second=$SNAP_ID

note "every stored object has COMPLIANCE retention until about now + 1 day"
now=$(date +%s)
keys "$P/" >"$WORK/keys"
n=$(wc -l <"$WORK/keys")
[ "$n" -ge 8 ] || fail "want at least 8 objects (config, key, settings, 2 snapshots, packs, indexes), have $n"
while read -r k; do
	read -r mode until < <(retention "$k")
	assert_eq "retention mode of $k" COMPLIANCE "$mode"
	[ "$until" -ge $((now + 86400 - 600)) ] && [ "$until" -le $((now + 86400 + 60)) ] ||
		fail "$k: retain-until $until is not about now + 1 day ($now)"
done <"$WORK/keys"

big=0
for k in $(grep "^$P/data/" "$WORK/keys"); do
	len=$(s3curl -o /dev/null -I -D - "$EP/$B/$k" | tr -d '\r' | sed -n 's/^content-length: //Ip')
	[ "$len" -gt "$big" ] && big=$len
done
[ "$big" -ge $((8 << 20)) ] || fail "want a pack of 8 MiB or more (multipart-sized), the largest is $big bytes"
PACK=$(grep "^$P/data/" "$WORK/keys" | sed -n 1p)
s3curl -o /dev/null -D "$WORK/h" -I "$EP/$B/$PACK"
V=$(tr -d '\r' <"$WORK/h" | sed -n 's/^x-amz-version-id: //Ip')
[ -n "$V" ] || fail "no version id for $PACK"
s3curl -o "$WORK/pack.orig" "$EP/$B/$PACK?versionId=$V"

note "the bucket owner's keys cannot delete, shorten or weaken a locked version"
assert_eq "DELETE locked version" 403 "$(code -X DELETE "$EP/$B/$PACK?versionId=$V")"
assert_eq "  error" AccessDenied "$(xml_code)"
assert_eq "DELETE with governance bypass" 403 \
	"$(code -X DELETE -H 'x-amz-bypass-governance-retention: true' "$EP/$B/$PACK?versionId=$V")"
short=$(date -u -d '+60 seconds' +%Y-%m-%dT%H:%M:%SZ)
printf '<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>%s</RetainUntilDate></Retention>' "$short" >"$WORK/r.xml"
assert_eq "shorten retention" 403 "$(code -X PUT -H "Content-MD5: $(openssl dgst -md5 -binary "$WORK/r.xml" | base64)" \
	--data-binary @"$WORK/r.xml" "$EP/$B/$PACK?retention=&versionId=$V")"
long=$(date -u -d '+3 days' +%Y-%m-%dT%H:%M:%SZ)
printf '<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>%s</RetainUntilDate></Retention>' "$long" >"$WORK/r.xml"
assert_eq "COMPLIANCE to GOVERNANCE" 403 "$(code -X PUT -H "Content-MD5: $(openssl dgst -md5 -binary "$WORK/r.xml" | base64)" \
	-H 'x-amz-bypass-governance-retention: true' --data-binary @"$WORK/r.xml" "$EP/$B/$PACK?retention=&versionId=$V")"
printf '<Delete><Object><Key>%s</Key><VersionId>%s</VersionId></Object></Delete>' "$PACK" "$V" >"$WORK/d.xml"
code -X POST -H "Content-MD5: $(openssl dgst -md5 -binary "$WORK/d.xml" | base64)" --data-binary @"$WORK/d.xml" "$EP/$B?delete=" >/dev/null
assert_eq "multi-object delete of the locked version" AccessDenied "$(xml_code)"

note "the store refuses a corrupted upload (Content-MD5, x-amz-content-sha256)"
gen_random "$WORK/up" 10000 up
printf 'something else' >"$WORK/other"
assert_eq "wrong Content-MD5" 400 "$(code -T "$WORK/up" -H "Content-MD5: $(openssl dgst -md5 -binary "$WORK/other" | base64)" "$EP/$B/$P/data/$(sha256sum "$WORK/up" | cut -c1-64)")"
assert_eq "  error" BadDigest "$(xml_code)"
assert_eq "wrong x-amz-content-sha256" 400 "$(curl -s -o "$WORK/body" -w '%{http_code}' --aws-sigv4 aws:amz:us-east-1:s3 \
	--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: $(sha256sum "$WORK/other" | cut -c1-64)" \
	-T "$WORK/up" "$EP/$B/$P/data/$(sha256sum "$WORK/up" | cut -c1-64)")"
assert_eq "  error" XAmzContentSHA256Mismatch "$(xml_code)"
assert_eq "nothing stored" 404 "$(code -I "$EP/$B/$P/data/$(sha256sum "$WORK/up" | cut -c1-64)")"

note "forget keeps a locked snapshot and says until when"
expect_exit 1 kura forget "$first"
assert_contains "forget names the lock" "locked (COMPLIANCE) until" "$ERR"
expect_exit 0 kura --json snapshots
assert_eq "both snapshots still there" 2 "$(json_get "$OUT" 'len(d)')"

note "kura s3 extend-locks moves the lock of what snapshots need, not of a --let-expire one"
snapkey=$P/snapshots/$second
firstkey=$P/snapshots/$first
read -r _ before < <(retention "$snapkey")
read -r _ first_before < <(retention "$firstkey")
read -r _ cfg_before < <(retention "$(grep "^$P/config/" "$WORK/keys")")
sleep 2
expect_exit 0 kura --json s3 extend-locks --let-expire "${first:0:8}"
ext=$(json_get "$OUT" 'd["extended"]')
files=$(json_get "$OUT" 'd["files"]')
assert_eq "every needed file extended" "$files" "$ext"
[ "$(json_get "$OUT" 'd["let_expire"]')" -ge 2 ] || fail "want the first snapshot and its pack let expire: $OUT"
read -r mode after < <(retention "$snapkey")
assert_eq "mode after extension" COMPLIANCE "$mode"
[ "$after" -ge $((before + 2)) ] || fail "snapshot lock not moved: $before -> $after"
read -r _ cfg_after < <(retention "$(grep "^$P/config/" "$WORK/keys")")
[ "$cfg_after" -ge $((cfg_before + 2)) ] || fail "config lock not moved: $cfg_before -> $cfg_after"
read -r _ first_after < <(retention "$firstkey")
assert_eq "let-expire snapshot's lock unchanged" "$first_before" "$first_after"
expect_exit 0 kura s3 extend-locks --dry-run
assert_contains "dry run" "would extend" "$OUT"
expect_fail kura s3 extend-locks --let-expire 0000
assert_contains "unknown snapshot" "no such snapshot" "$ERR"

note "prune deletes a file whose lock has run out and keeps a locked one"
# a lock bucket without default retention, so that a short lock is possible
B2=$B-short
assert_eq "create $B2" 200 "$(code -X PUT -H 'x-amz-bucket-object-lock-enabled: true' "$EP/$B2")"
R2=s3:$EP/$B2/r
expect_exit 0 env KURA_REPOSITORY="$R2" "$KURA" init --kdf interactive --lock-days 1
expect_exit 0 env KURA_REPOSITORY="$R2" "$KURA" backup --no-detect "$SRC/a"
gen_random "$WORK/junk1" 5000 j1
gen_random "$WORK/junk2" 5000 j2
j1=$(sha256sum "$WORK/junk1" | cut -c1-64)
j2=$(sha256sum "$WORK/junk2" | cut -c1-64)
assert_eq "short-locked junk" 200 "$(code -T "$WORK/junk1" -H 'x-amz-object-lock-mode: COMPLIANCE' \
	-H "x-amz-object-lock-retain-until-date: $(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)" "$EP/$B2/r/data/$j1")"
assert_eq "day-locked junk" 200 "$(code -T "$WORK/junk2" -H 'x-amz-object-lock-mode: COMPLIANCE' \
	-H "x-amz-object-lock-retain-until-date: $(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)" "$EP/$B2/r/data/$j2")"
sleep 3
expect_exit 1 env KURA_REPOSITORY="$R2" "$KURA" --json prune --grace 0s
assert_eq "removed" 1 "$(json_get "$OUT" 'd["packs_removed"]')"
assert_eq "kept (locked)" 1 "$(json_get "$OUT" 'd["packs_failed"]')"
assert_contains "prune names the lock" "$j2 is locked" "$ERR"
s3curl -o /dev/null -D "$WORK/h" -I "$EP/$B2/r/data/$j1"
assert_contains "expired junk gone" " 404" "$(head -n1 "$WORK/h")"
s3curl -o "$WORK/vers" "$EP/$B2?versions=&prefix=r/data/$j1"
assert_not_contains "no version of it left" "<Version>" "$(cat "$WORK/vers")"
expect_exit 4 env KURA_REPOSITORY="$R2" "$KURA" check --read-data
assert_contains "check: the kept junk is not a pack" "$j2" "$ERR"
assert_not_contains "check: the deleted one is gone" "$j1" "$ERR"

note "an overwrite adds a version: the locked one stays intact, and check names the junk"
printf 'junk from an attacker' >"$WORK/junk"
assert_eq "overwrite accepted as a new version" 200 "$(code -T "$WORK/junk" "$EP/$B/$PACK")"
s3curl -o "$WORK/pack.after" "$EP/$B/$PACK?versionId=$V"
cmp -s "$WORK/pack.orig" "$WORK/pack.after" || fail "the locked version changed"
assert_eq "locked version still hashes to its name" "${PACK##*/}" "$(sha256sum "$WORK/pack.after" | cut -c1-64)"
expect_exit 4 kura check --read-data
assert_contains "check names the shadowed pack" "${PACK##*/}" "$OUT$ERR"
echo "PASS s3_lock"

#!/usr/bin/env bash
# s3_roundtrip.sh - kura directly on a real Ceph RGW (the run's shared one):
# init creates the bucket with Object Lock and a default COMPLIANCE
# retention; backup, restore byte-identical, check --read-data, a backup
# key's backup; both location forms (s3:http://HOST:PORT/BUCKET/PREFIX and
# s3://BUCKET/PREFIX with AWS_ENDPOINT_URL); an existing bucket without
# Object Lock is refused unless --no-object-lock; a second init is
# refused; lock settings rewritten shorter by a writer do not shorten the
# locks below the bucket's default; wrong credentials name the store's
# error; kura copy --to s3:
# makes an S3 copy that restores byte-identical.
. "$(dirname "$0")/lib.sh"
need_rgw
s3_bucket roundtrip
B=$S3_BUCKET
export KURA_REPOSITORY=s3:$S3_ENDPOINT/$B/site-a/repo

SRC=$WORK/src
make_tree "$SRC"

note "init creates a bucket with Object Lock and a default COMPLIANCE retention"
expect_exit 0 kura init --kdf interactive --lock-days 2
s3curl -o "$WORK/ol.xml" "$S3_ENDPOINT/$B?object-lock="
assert_contains "object lock enabled" "<ObjectLockEnabled>Enabled</ObjectLockEnabled>" "$(cat "$WORK/ol.xml")"
assert_contains "default retention mode" "<Mode>COMPLIANCE</Mode>" "$(cat "$WORK/ol.xml")"
assert_contains "default retention days" "<Days>2</Days>" "$(cat "$WORK/ol.xml")"
s3curl -o "$WORK/settings.json" "$S3_ENDPOINT/$B/site-a/repo/kura-s3.json"
assert_eq "lock days recorded" 2 "$(json_get "$(cat "$WORK/settings.json")" 'd["lock_days"]')"

note "a second init on the same prefix is refused"
expect_fail kura init --kdf interactive
assert_contains "second init" "already holds a repository" "$ERR"

note "backup, restore byte-identical, check --read-data"
backup_json --no-detect "$SRC"
first=$SNAP_ID
expect_exit 0 kura restore latest --target "$WORK/out"
same_contents "$SRC" "$WORK/out$SRC"
expect_exit 0 kura check --read-data

note "a backup key adds a snapshot through S3"
expect_exit 0 kura key backup-key --output "$WORK/backup.key"
gen_random "$SRC/later.bin" 300000 later
expect_exit 0 env -u KURA_PASSWORD_FILE KURA_KEY_FILE="$WORK/backup.key" "$KURA" --json backup --no-detect "$SRC"
second=$(json_get "$OUT" 'd["snapshot_id"]')
[ "$second" != "$first" ] || fail "the backup key's snapshot has the first one's id"
expect_exit 0 kura --json snapshots
assert_eq "snapshots" 2 "$(json_get "$OUT" 'len(d)')"

note "lock settings rewritten shorter by a writer do not undercut the bucket's default retention"
printf '{"format": 1, "object_lock": true, "lock_days": 1}\n' >"$WORK/forged.json"
[ "$(s3curl -o /dev/null -w '%{http_code}' -T "$WORK/forged.json" "$S3_ENDPOINT/$B/site-a/repo/kura-s3.json")" = 200 ] ||
	fail "could not write a new version of kura-s3.json"
gen_random "$SRC/later2.bin" 200000 later2
backup_json --no-detect "$SRC"
third=$SNAP_ID
until=$(s3curl "$S3_ENDPOINT/$B/site-a/repo/snapshots/$third?retention=" |
	sed -n 's:.*<RetainUntilDate>\([^<.Z]*\).*:\1:p')
[ -n "$until" ] || fail "no retention on snapshot $third"
left=$(($(date -u -d "$until" +%s) - $(date +%s)))
[ "$left" -gt $((2 * 86400 - 600)) ] || fail "the forged 1-day settings shortened the lock: $left s left"
expect_exit 0 kura --json snapshots
assert_eq "snapshots" 3 "$(json_get "$OUT" 'len(d)')"

note "s3://BUCKET/PREFIX with AWS_ENDPOINT_URL names the same repository"
expect_exit 0 env KURA_REPOSITORY="s3://$B/site-a/repo" "$KURA" restore "$third" --target "$WORK/out2"
same_contents "$SRC" "$WORK/out2$SRC"
expect_exit 1 env -u AWS_ENDPOINT_URL KURA_REPOSITORY="s3://$B/site-a/repo" "$KURA" snapshots
assert_contains "no endpoint" "AWS_ENDPOINT_URL" "$ERR"

note "wrong credentials: the store's own error code is named"
expect_fail env AWS_SECRET_ACCESS_KEY=not-the-secret "$KURA" snapshots
assert_contains "bad secret" "SignatureDoesNotMatch" "$ERR"
expect_fail env -u AWS_ACCESS_KEY_ID "$KURA" snapshots
assert_contains "no key" "AWS_ACCESS_KEY_ID" "$ERR"

note "hostile locations are refused before any request"
expect_fail env KURA_REPOSITORY="s3:$S3_ENDPOINT/$B/../other" "$KURA" snapshots
assert_contains "dot-dot prefix" "'..'" "$ERR"
expect_fail env KURA_REPOSITORY="s3:$S3_ENDPOINT/Bad_Bucket/x" "$KURA" snapshots
assert_contains "bad bucket" "not a valid bucket name" "$ERR"

note "an existing bucket without Object Lock is refused, unless --no-object-lock"
PLAIN=$B-plain
[ "$(s3curl -o /dev/null -w '%{http_code}' -X PUT "$S3_ENDPOINT/$PLAIN")" = 200 ] || fail "could not create $PLAIN"
expect_fail env KURA_REPOSITORY="s3:$S3_ENDPOINT/$PLAIN/r" "$KURA" init --kdf interactive
assert_contains "plain bucket refused" "has no Object Lock" "$ERR"
expect_exit 0 env KURA_REPOSITORY="s3:$S3_ENDPOINT/$PLAIN/r" "$KURA" init --kdf interactive --no-object-lock
expect_exit 0 env KURA_REPOSITORY="s3:$S3_ENDPOINT/$PLAIN/r" "$KURA" backup --no-detect "$SRC/docs"
s3curl -o /dev/null -D "$WORK/h" -I "$S3_ENDPOINT/$PLAIN/r/kura-s3.json"
assert_not_contains "no lock without Object Lock" "x-amz-object-lock-mode" "$(cat "$WORK/h")"

note "kura copy --to s3: an Object Lock copy of a local repository, restored byte-identical"
LOCAL=$WORK/local-repo
expect_exit 0 env KURA_REPOSITORY="$LOCAL" "$KURA" init --kdf interactive
expect_exit 0 env KURA_REPOSITORY="$LOCAL" "$KURA" backup --no-detect "$SRC"
COPY="s3:$S3_ENDPOINT/$B/site-a/copy"
expect_exit 0 env KURA_REPOSITORY="$LOCAL" KURA_S3_LOCK_DAYS=3 "$KURA" --json copy --to "$COPY"
assert_eq "copy result" ok "$(json_get "$OUT" 'd["result"]')"
s3curl -o "$WORK/copy-settings.json" "$S3_ENDPOINT/$B/site-a/copy/kura-s3.json"
assert_eq "copy lock days" 3 "$(json_get "$(cat "$WORK/copy-settings.json")" 'd["lock_days"]')"
expect_exit 0 env KURA_REPOSITORY="$COPY" "$KURA" restore latest --target "$WORK/out3"
same_contents "$SRC" "$WORK/out3$SRC"
expect_exit 0 env KURA_REPOSITORY="$COPY" "$KURA" check --read-data
note "a second copy copies nothing"
expect_exit 0 env KURA_REPOSITORY="$LOCAL" "$KURA" --json copy --to "$COPY"
assert_eq "second copy copied" 0 "$(json_get "$OUT" 'd["files_copied"]')"
echo "PASS s3_roundtrip"

#!/usr/bin/env bash
# vault_s3_doctor.sh - `kurad doctor DIR` on a serving vault whose
# repositories are on a real Ceph RGW (kurad init --store s3:...): the
# "immutable" check reads the store's Object Lock back (COMPLIANCE, the
# lock period, the prefix's claim naming this vault) instead of trying the
# immutable flag on DIR; "free-space" speaks of the upload spool, not of
# the repositories; an s3.json readable by others fails key-modes, naming
# it, and mending it passes again.
. "$(dirname "$0")/lib.sh"
need_rgw
s3_bucket doctor
init_vault "$WORK/vault" --store "s3:$S3_ENDPOINT/$S3_BUCKET/doc" --lock-days 2
vault_client ward4 writer pacs "$WORK/ward4.cred"
start_vault
doctor_host

note "the store's lock is read back"
doctor_ok
assert_eq "immutable" pass "$(doctor_status "$J" immutable)"
assert_contains "what protects" "COMPLIANCE Object Lock for 2 day(s)" "$(doctor_reason "$J" immutable)"
assert_contains "the claim" "claim names this vault" "$(doctor_reason "$J" immutable)"
assert_contains "the store named" "$S3_BUCKET/doc" "$(doctor_reason "$J" immutable)"
assert_eq "free-space" pass "$(doctor_status "$J" free-space)"
assert_contains "the spool" "upload spool" "$(doctor_reason "$J" free-space)"
assert_eq "key-modes" pass "$(doctor_status "$J" key-modes)"

note "the claim of another vault fails"
stop_vault
cp -a "$VAULT_DIR/signing.pub" "$WORK/signing.pub"
expect_exit 0 "$KURAD" init "$WORK/other" --listen 127.0.0.1:1
cp "$WORK/other/signing.pub" "$VAULT_DIR/signing.pub"
expect_exit 3 "$KURAD" doctor "$VAULT_DIR" --json
assert_eq "immutable" fail "$(doctor_status "$OUT" immutable)"
cp "$WORK/signing.pub" "$VAULT_DIR/signing.pub"

note "the S3 keys readable by others fail, then pass once mended"
doctor_key_mode s3.json
echo "PASS vault_s3_doctor"

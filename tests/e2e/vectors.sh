#!/usr/bin/env bash
# vectors.sh - the golden repository made by kura 0.1.0 (format version 1,
# tests/vectors/repo-v1) must stay readable by every later version: its
# listing, its contents, its metadata, and a clean check --read-data.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
V=$KURA_TEST_ROOT/tests/vectors
export KURA_PASSWORD_FILE=$V/repo-v1.passphrase
cp -a "$V/repo-v1" "$WORK/repo"   # opening may recreate tmp/; keep the source pristine

note "check --read-data"
expect_exit 0 kura check --read-data

note "ls matches the recorded listing"
kura ls latest | sed "s|/tmp/kura-vector-src||" >"$WORK/ls"
diff -u "$V/repo-v1.ls" "$WORK/ls" || fail "listing of the golden repository changed"

note "restore gives back the recorded contents"
expect_exit 0 kura restore latest:/tmp/kura-vector-src --target "$WORK/out"
(cd "$WORK/out" && find . -type f -exec sha256sum {} + | sort -k2) >"$WORK/sums"
diff -u "$V/repo-v1.sha256" "$WORK/sums" || fail "restored contents differ"
assert_eq "mtime of docs/report.txt" "2026-01-02 03:04:05.123456789" \
	"$(TZ=UTC stat -c %y "$WORK/out/docs/report.txt" | cut -c1-29)"
assert_eq "mode of docs/report.txt" 640 "$(stat -c %a "$WORK/out/docs/report.txt")"
assert_eq "symlink target" ../docs/report.txt "$(readlink "$WORK/out/bin/report-link")"
assert_eq "hard link" "$(stat -c %i "$WORK/out/docs/scan.bin")" \
	"$(stat -c %i "$WORK/out/docs/scan-hardlink.bin")"

note "the backup key of the golden repository still adds to it"
echo new >"$WORK/new.txt"
KURA_KEY_FILE=$V/repo-v1.backup-key expect_exit 0 kura backup "$WORK/new.txt"
expect_exit 0 kura check --read-data
echo "vectors ok"

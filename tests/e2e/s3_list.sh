#!/usr/bin/env bash
# s3_list.sh - listings past one page on a real Ceph RGW: 1,100 objects
# under a repository's data/ (filled with curl, named by their SHA-256 like
# packs) make kura page through ListObjectsV2 with continuation tokens
# (RGW gives at most 1,000 keys a page): prune --dry-run counts every one
# as unreferenced and removes none; names that are not kura's are skipped.
. "$(dirname "$0")/lib.sh"
need_rgw
s3_bucket list
B=$S3_BUCKET
export KURA_REPOSITORY=s3:$S3_ENDPOINT/$B/many
N=1100

mkdir -p "$WORK/src" "$WORK/junk"
gen_text "$WORK/src/notes.txt" 100 notes
expect_exit 0 kura init --kdf interactive --lock-days 1
backup_json --no-detect "$WORK/src"

note "fill data/ with $N junk objects named by their SHA-256, and a few foreign names"
python3 - "$WORK/junk" "$N" "$S3_ENDPOINT/$B/many/data" >"$WORK/curl.cfg" <<'PY'
import hashlib, os, sys
d, n, base = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(n):
    body = b"junk object %d\n" % i
    name = hashlib.sha256(body).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(body)
    print('upload-file = "%s/%s"\nurl = "%s/%s"\noutput = "/dev/null"' % (d, name, base, name))
for name in ("README", "UPPERCASE" + "A" * 55, "x/../y"):
    print('upload-file = "%s/%s"\nurl = "%s/%s"\noutput = "/dev/null"' % (d, os.listdir(d)[0], base, name))
PY
s3curl --no-progress-meter --parallel --parallel-max 16 -f -K "$WORK/curl.cfg" || fail "curl could not upload the junk objects"

note "prune --dry-run lists every page"
expect_exit 0 kura --json prune --dry-run --grace 0s
assert_eq "unreferenced" "$N" "$(json_get "$OUT" 'd["packs_unreferenced"]')"
assert_eq "would remove" "$N" "$(json_get "$OUT" 'd["packs_would_remove"]')"
expect_exit 0 kura --json snapshots
assert_eq "snapshots" 1 "$(json_get "$OUT" 'len(d)')"
expect_exit 0 kura restore latest --target "$WORK/out"
same_contents "$WORK/src" "$WORK/out$WORK/src"
echo "PASS s3_list"

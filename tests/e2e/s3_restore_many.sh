#!/usr/bin/env bash
# s3_restore_many.sh - a restore from S3 with many reads in flight (trees
# read ahead, pack spans read apart from the decoding workers) loses and
# misplaces nothing: many small files across many small packs come back
# byte-identical, through a loopback proxy that shows the reads really
# overlapped; and a pack that fails mid-read every time (the proxy sends
# half of each answer) fails only the files that need it: each is listed
# with a reason and not left under its name, every other file is
# identical, and the exit status is 4.
. "$(dirname "$0")/lib.sh"
need_rgw
s3_bucket many
B=$S3_BUCKET
start_fault_proxy pass
export KURA_REPOSITORY=s3:$S3_ENDPOINT/$B/r
PROXIED=s3:http://127.0.0.1:$PPORT/$B/r

# 240 files of 2-200 KiB of random bytes in 24 directories, and a few
# larger ones split into several chunks
SRC=$WORK/src
python3 - "$SRC" <<'EOF'
import os, random, sys
rnd = random.Random(13)
root = sys.argv[1]
for d in range(24):
    sub = os.path.join(root, "dept%02d" % d, "notes")
    os.makedirs(sub)
    for f in range(10):
        with open(os.path.join(sub, "n%02d.bin" % f), "wb") as fh:
            fh.write(rnd.randbytes(rnd.randint(2048, 200 * 1024)))
for b in range(3):
    with open(os.path.join(root, "big%d.bin" % b), "wb") as fh:
        fh.write(rnd.randbytes(3 * 1024 * 1024 + b))
EOF
expect_exit 0 kura init --kdf interactive --lock-days 1 --pack-size 1M --chunk-min 64K --chunk-avg 256K --chunk-max 1M
backup_json --no-detect "$SRC"
npacks=$(s3curl "$S3_ENDPOINT/$B?list-type=2&prefix=r%2Fdata%2F" | grep -o '<Key>' | wc -l)
[ "$npacks" -ge 12 ] || fail "only $npacks packs: the test wants many"
echo "packs: $npacks"

note "restore through the proxy: byte-identical, with reads in flight at once"
expect_exit 0 kura -r "$PROXIED" restore latest --target "$WORK/out"
same_contents "$SRC" "$WORK/out$SRC"
most=$(grep ' GET ' "$WORK/proxy.log" | sed 's/.*inflight=//' | sort -n | tail -n1)
[ "${most:-0}" -ge 2 ] || fail "the restore never had two reads in flight (most: ${most:-none})"
echo "most reads in flight at once: $most"

note "a pack that fails mid-read every time fails only its own files"
victim=$(s3curl "$S3_ENDPOINT/$B?list-type=2&prefix=r%2Fdata%2F" | python3 -c '
import re, sys
xml = sys.stdin.read()
packs = re.findall(r"<Key>([^<]*)</Key>.*?<Size>(\d+)</Size>", xml)
print(max(packs, key=lambda p: int(p[1]))[0].rsplit("/", 1)[1])')
printf 'short %s\n' "$victim" >"$WORK/mode"
: >"$WORK/proxy.log"
T=$WORK/r-short
expect_exit 4 kura -r "$PROXIED" --json restore latest --target "$T"
json=$OUT
n=$(grep -c " short GET " "$WORK/proxy.log" || true)
[ "$n" -ge 1 ] || fail "the proxy cut no read of pack $victim"
# a failed file, or one below a failed directory (its tree was in the pack)
partly_restored "$SRC" "$T" "$json" below
[ "${#FAILED[@]}" -ge 1 ] || fail "nothing failed with pack $victim unreadable"
[ "$NRESTORED" -ge $((NALL / 2)) ] ||
	fail "one pack of $npacks failed $((NALL - NRESTORED)) of $NALL files: more than its own"
echo "(${#FAILED[@]} failed, $NRESTORED of $NALL restored identical, $n reads of the pack cut)"

note "the same pack readable again: the restore is whole"
printf 'pass\n' >"$WORK/mode"
expect_exit 0 kura -r "$PROXIED" restore latest --target "$WORK/again"
same_contents "$SRC" "$WORK/again$SRC"
echo "OK"

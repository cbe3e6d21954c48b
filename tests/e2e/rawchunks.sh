#!/usr/bin/env bash
# rawchunks.sh - chunks stored by the per-chunk compression choice
# (lib/format/compchoice.c): ciphertext-like chunks raw (told by the
# detector's scan, or without detection by the sample), barely compressible
# ones at the cheap level, text with zstd.  Every kind must verify under
# check --read-data and restore exactly; raw storage must not grow the
# repository past the data, and the choice must store about what the
# sample alone does.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
mkdir -p "$SRC/media" "$SRC/notes"
for i in 1 2 3; do gen_random "$SRC/media/scan$i.dat" $((3 * 1024 * 1024 + i * 4097)) "r$i"; done
for i in 1 2; do gen_text "$SRC/notes/chart$i.txt" 30000 "t$i"; done
# 160 letters in random order: not uniform (the scan does not call it random), barely compressible
python3 - "$SRC/media/border.dat" <<'PY'
import random, sys
r = random.Random("border")
with open(sys.argv[1], "wb") as f:
    f.write(bytes(r.randrange(160) for _ in range(3 * 1024 * 1024)))
PY
# a file that is random but for a compressible middle: both kinds in one file
python3 - "$SRC/media/mixed.dat" <<'PY'
import random, sys
r = random.Random("mixed")
with open(sys.argv[1], "wb") as f:
    f.write(r.randbytes(2 << 20))
    f.write(b"".join(b"%08d ward admission discharge\n" % i for i in range(80000)))
    f.write(r.randbytes(2 << 20))
PY
random_bytes=$(( $(du_bytes "$SRC/media") ))

init_repo --chunk-min 64K --chunk-avg 256K --chunk-max 1M
note "backup with detection: the scan settles ciphertext-like chunks"
backup_json "$SRC"
expect_exit 0 kura check --read-data
with_detect=$(du_bytes "$KURA_REPOSITORY/data")

note "restore: every kind of chunk comes back exactly"
expect_exit 0 kura restore latest --target "$WORK/r1"
same_contents "$SRC" "$WORK/r1$SRC"

note "the same data without detection: the sample alone decides"
export KURA_REPOSITORY=$WORK/repo2
init_repo --chunk-min 64K --chunk-avg 256K --chunk-max 1M
backup_json --no-detect "$SRC"
expect_exit 0 kura check --read-data
without=$(du_bytes "$KURA_REPOSITORY/data")
echo "(pack bytes: $with_detect with the scan, $without with the sample only; media $random_bytes)"
# random chunks cost their size and 28 bytes; text shrinks: the whole stays below the media
[ "$with_detect" -lt "$random_bytes" ] || fail "repository $with_detect bytes for $random_bytes bytes of media and text"
python3 - "$with_detect" "$without" <<'PY' || fail "the scan's choice stores $with_detect bytes, the sample's $without"
import sys
a, b = int(sys.argv[1]), int(sys.argv[2])
sys.exit(0 if abs(a - b) <= b / 100 else 1)
PY

echo "PASS rawchunks"

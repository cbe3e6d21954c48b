#!/usr/bin/env bash
# s3-refs.sh -- what restoring chunks stored against another blob (a
# database file's changed pieces, lib/repo/archbase.c) costs on S3: two kura
# binaries (e.g. before and after the restore's read-ahead of references,
# lib/repo/refahead.c) restore the same snapshot from one Ceph RGW
# (loopback).  A fake PostgreSQL relation segment (base/16384/16385, 8 KiB
# pages of rows) is backed up, then one row is rewritten in CHANGED random
# pages and it is backed up again (by KURA_B, with its client cache of
# bases: the changed pieces are stored against their last version).  The
# second snapshot is restored by each binary REPS times (synced, verified
# with cmp), then once more under strace to count the HTTP GETs sent.
# Prints medians and the ratio.
#
#   KURA_A [required] KURA_B [build/kura]  the two kura binaries
#   PAGES [8192: 64 MiB]  CHANGED [2000]  REPS [3]  BASE [/tmp/bench-s3refs] (removed first)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
KURA_A=${KURA_A:?KURA_A: the kura binary to compare against}
KURA_B=${KURA_B:-$ROOT/build/kura}
PAGES=${PAGES:-8192} CHANGED=${CHANGED:-2000} REPS=${REPS:-3} BASE=${BASE:-/tmp/bench-s3refs}
case "$BASE" in /tmp/bench-*) ;; *) echo "BASE must be /tmp/bench-*" >&2; exit 2 ;; esac
command -v strace >/dev/null || { echo "strace is not installed" >&2; exit 2; }

# shellcheck source=bench/rgw.sh
. "$HERE/rgw.sh"
# shellcheck source=bench/timed.sh
. "$HERE/timed.sh"

rm -rf "$BASE" && mkdir -p "$BASE"
export RGW_OSD_SIZE=${RGW_OSD_SIZE:-$((4 << 30))}
trap rgw_down EXIT
rgw_up
EP=$S3_ENDPOINT

REL=$BASE/src/base/16384/16385
mkdir -p "$(dirname "$REL")"
python3 - "$REL" "$PAGES" <<'PY'
import random, sys
r = random.Random(5)
with open(sys.argv[1], "wb") as f:
    for p in range(int(sys.argv[2])):
        rows = b"".join(b"%08d|%s|%d\n" % (p * 100 + i, bytes(r.choice(b"abcdefghij") for _ in range(30)), r.randrange(10**6))
                        for i in range(140))
        f.write((rows + bytes(8192))[:8192])
PY
echo "bench passphrase kura not secret quokka" >"$BASE/pass"
export KURA_PASSWORD_FILE=$BASE/pass KURA_CACHE_DIR=$BASE/kcache
s3curl -X PUT "$EP/refs-$$" >/dev/null
export KURA_REPOSITORY=s3:$EP/refs-$$/r
"$KURA_B" init --kdf interactive --no-object-lock >/dev/null
"$KURA_B" backup --no-detect "$BASE/src" >/dev/null
python3 - "$REL" "$PAGES" "$CHANGED" <<'PY'
import random, sys
path, pages, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(1)
with open(path, "r+b") as f:
    for p in r.sample(range(pages), n):
        f.seek(p * 8192 + 41 * r.randrange(100))
        f.write(b"%08d|UPDATED %012d|" % (p, r.randrange(10**12)))
PY
sleep 1.1 # a new mtime: the file cache reads it again
"$KURA_B" backup --no-detect "$BASE/src" >"$BASE/backup2.out"
cp "$REL" "$BASE/v2"

# gets SETUP CMD...: append "restore SETUP GETS" (HTTP GET requests sent) to $BASE/gets
gets() {
  local setup=$1
  shift
  strace -f -qq -e trace=sendto,sendmsg,write -s 8 -o "$BASE/strace" "$@" >/dev/null 2>&1 ||
    { echo "$setup failed under strace" >&2; exit 1; }
  echo "restore $setup $(grep -c '"GET ' "$BASE/strace" || true)" >>"$BASE/gets"
}

for rep in $(seq 1 "$REPS"); do
  for setup in kura-a kura-b; do
    kura=$KURA_A
    [ "$setup" = kura-b ] && kura=$KURA_B
    rm -rf "$BASE/out" && sync
    timed restore "$setup" "$kura" restore latest --target "$BASE/out"
    cmp -s "$BASE/v2" "$BASE/out$REL" || { echo "restore of $setup differs" >&2; exit 1; }
    if [ "$rep" = 1 ]; then
      rm -rf "$BASE/out"
      gets "$setup" "$kura" restore latest --target "$BASE/out"
    fi
  done
done
rm -rf "$BASE/out"

python3 - "$BASE/times" "$BASE/gets" "$PAGES" "$CHANGED" <<'PY'
import statistics, sys
t, g = {}, {}
for line in open(sys.argv[1]):
    name, setup, s = line.split()
    t.setdefault(setup, []).append(float(s))
for line in open(sys.argv[2]):
    name, setup, n = line.split()
    g[setup] = int(n)
a, b = statistics.median(t["kura-a"]), statistics.median(t["kura-b"])
print("%s pages (%d MiB), one row rewritten in %s; medians of %d restores; GETs counted once (strace)"
      % (sys.argv[3], int(sys.argv[3]) * 8192 >> 20, sys.argv[4], len(t["kura-a"])))
print("| restore | kura-a | kura-b | b / a | GETs a | GETs b |")
print("|---|---|---|---|---|---|")
print("| snapshot 2 | %.2f s | %.2f s | %.2f | %d | %d |" % (a, b, b / a, g["kura-a"], g["kura-b"]))
PY

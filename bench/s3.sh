#!/usr/bin/env bash
# s3.sh -- kura against restic on the same Ceph RGW (loopback), on the same
# mkdata.py dataset, back to back: initial backup, then restore (synced,
# verified with diff -r, not timed).  Each repetition gets new buckets, so
# every backup is an initial one.  Three setups:
#   kura-lock    kura init on a new bucket: Object Lock, default COMPLIANCE
#                retention, every file's lock confirmed by a separate HEAD
#                (kura's real S3 setup)
#   kura-nolock  kura init --no-object-lock on a plain bucket (like for like
#                with restic)
#   restic       restic 0.14 on a plain bucket: restic removes its lock
#                files and prunes by deleting, so it is run without Object
#                Lock (on a locked bucket its deletions only leave delete
#                markers and prune cannot free anything)
# Also measured: the latency of one HEAD (a lock confirmation) against one
# PUT of a pack-sized object, to see what confirming locks costs.
# Prints medians, MB/s and the ratios restic / kura (above 1: kura faster).
#
#   SIZE [1G]    dataset size for mkdata.py
#   REPS [3]     repetitions of each setup
#   BASE [/tmp/bench-s3]  scratch directory (removed first)
#   RGW_DIR      an RGW already up (its env file is read); default: one is
#                started in $BASE/rgw (bench/rgw.sh) and stopped at the end
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
KURA=${KURA:-$ROOT/build/kura}
SIZE=${SIZE:-1G} REPS=${REPS:-3} BASE=${BASE:-/tmp/bench-s3}
case "$BASE" in /tmp/bench-*) ;; *) echo "BASE must be /tmp/bench-*" >&2; exit 2 ;; esac
command -v restic >/dev/null || { echo "restic is not installed" >&2; exit 2; }

# shellcheck source=bench/rgw.sh
. "$HERE/rgw.sh"
# shellcheck source=bench/timed.sh
. "$HERE/timed.sh"

rm -rf "$BASE" && mkdir -p "$BASE"
trap rgw_down EXIT
rgw_up
EP=$S3_ENDPOINT
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_DEFAULT_REGION=$S3_REGION
unset AWS_ENDPOINT_URL || true

python3 "$HERE/mkdata.py" --size "$SIZE" --seed 42 "$BASE/src" >/dev/null
bytes=$(find "$BASE/src" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f", s}')
echo "bench passphrase kura not secret quokka" >"$BASE/pass"
export KURA_PASSWORD_FILE=$BASE/pass RESTIC_PASSWORD_FILE=$BASE/pass



for rep in $(seq 1 "$REPS"); do
  # kura, Object Lock (kura creates the bucket with it)
  export KURA_REPOSITORY=s3:$EP/kura-lock-$rep-$$/r KURA_CACHE_DIR=$BASE/kcache-lock-$rep
  "$KURA" init --kdf interactive --lock-days 1 >/dev/null
  timed backup kura-lock "$KURA" backup --no-detect "$BASE/src"
  rm -rf "$BASE/out" && sync
  timed restore kura-lock "$KURA" restore latest --target "$BASE/out"
  verify "$BASE/out$BASE/src" kura-lock

  # kura, no Object Lock (a plain bucket made first)
  s3curl -X PUT "$EP/kura-plain-$rep-$$" >/dev/null
  export KURA_REPOSITORY=s3:$EP/kura-plain-$rep-$$/r KURA_CACHE_DIR=$BASE/kcache-plain-$rep
  "$KURA" init --kdf interactive --no-object-lock >/dev/null
  timed backup kura-nolock "$KURA" backup --no-detect "$BASE/src"
  rm -rf "$BASE/out" && sync
  timed restore kura-nolock "$KURA" restore latest --target "$BASE/out"
  verify "$BASE/out$BASE/src" kura-nolock

  # restic on a plain bucket (restic creates it)
  export RESTIC_REPOSITORY=s3:$EP/restic-$rep-$$
  restic init --cache-dir "$BASE/rcache-$rep" >/dev/null
  timed backup restic restic backup --cache-dir "$BASE/rcache-$rep" "$BASE/src"
  rm -rf "$BASE/out" && sync
  timed restore restic restic restore latest --cache-dir "$BASE/rcache-$rep" --target "$BASE/out"
  verify "$BASE/out$BASE/src" restic
done

# what a lock confirmation costs: HEAD against PUT of a 16 MiB object, 20 each
head -c $((16 << 20)) /dev/urandom >"$BASE/obj"
s3curl -X PUT "$EP/kura-lat-$$" >/dev/null
put_s=$( { time -p for i in $(seq 1 20); do s3curl -o /dev/null -T "$BASE/obj" "$EP/kura-lat-$$/o$i"; done; } 2>&1 | awk '/^real/{print $2}')
head_s=$( { time -p for i in $(seq 1 20); do s3curl -o /dev/null -I "$EP/kura-lat-$$/o$i"; done; } 2>&1 | awk '/^real/{print $2}')

python3 - "$BASE/times" "$bytes" "$put_s" "$head_s" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    name, setup, s = line.split()
    t.setdefault((name, setup), []).append(float(s))
mb = int(sys.argv[2]) / 1e6
print("dataset: %.0f MB; medians of %d runs" % (mb, len(t[("backup", "restic")])))
print("| phase | kura-lock | kura-nolock | restic | restic / kura-lock | restic / kura-nolock |")
print("|---|---|---|---|---|---|")
for name in ("backup", "restore"):
    kl, kn, r = (statistics.median(t[(name, s)]) for s in ("kura-lock", "kura-nolock", "restic"))
    print("| %s | %.2f s (%.0f MB/s) | %.2f s (%.0f MB/s) | %.2f s (%.0f MB/s) | %.2f | %.2f |" %
          (name, kl, mb / kl, kn, mb / kn, r, mb / r, r / kl, r / kn))
put, head = float(sys.argv[3]) / 20, float(sys.argv[4]) / 20
print("one PUT of 16 MiB: %.1f ms; one HEAD: %.1f ms (curl process start included)" % (put * 1000, head * 1000))
PY

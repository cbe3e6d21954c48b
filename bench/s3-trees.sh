#!/usr/bin/env bash
# s3-trees.sh -- what reading a snapshot's trees costs on S3: two kura
# binaries (e.g. before and after a change to how trees are packed and read)
# and restic on the same Ceph RGW (loopback), the same mkdata.py dataset.
# For each: an initial backup into a new plain bucket, then `restore` and
# `ls -l` timed (restore synced, verified with diff -r), then both again
# under strace to count the HTTP GETs they send (not timed; strace slows).
# Each binary reads what it wrote itself (a binary's writer policy is part
# of what is measured).  Prints medians and the ratios.
#
#   KURA_A [build/kura of main]  KURA_B [build/kura]  the two kura binaries
#   SIZE [256M]  REPS [3]  BASE [/tmp/bench-s3trees] (removed first)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
KURA_A=${KURA_A:?KURA_A: the kura binary to compare against}
KURA_B=${KURA_B:-$ROOT/build/kura}
SIZE=${SIZE:-256M} REPS=${REPS:-3} BASE=${BASE:-/tmp/bench-s3trees}
case "$BASE" in /tmp/bench-*) ;; *) echo "BASE must be /tmp/bench-*" >&2; exit 2 ;; esac
command -v restic >/dev/null || { echo "restic is not installed" >&2; exit 2; }
command -v strace >/dev/null || { echo "strace is not installed" >&2; exit 2; }

# shellcheck source=bench/rgw.sh
. "$HERE/rgw.sh"
# shellcheck source=bench/timed.sh
. "$HERE/timed.sh"

rm -rf "$BASE" && mkdir -p "$BASE"
export RGW_OSD_SIZE=${RGW_OSD_SIZE:-$((6 << 30))}
trap rgw_down EXIT
rgw_up
EP=$S3_ENDPOINT
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_DEFAULT_REGION=$S3_REGION
unset AWS_ENDPOINT_URL || true

python3 "$HERE/mkdata.py" --size "$SIZE" --seed 42 "$BASE/src" >/dev/null
echo "bench passphrase kura not secret quokka" >"$BASE/pass"
export KURA_PASSWORD_FILE=$BASE/pass RESTIC_PASSWORD_FILE=$BASE/pass

# gets NAME SETUP CMD...: append "NAME SETUP GETS" (HTTP GET requests sent) to $BASE/gets
gets() {
  local name=$1 setup=$2
  shift 2
  strace -f -qq -e trace=sendto,sendmsg,write -s 8 -o "$BASE/strace" "$@" >/dev/null 2>&1 ||
    { echo "$name $setup failed under strace" >&2; exit 1; }
  echo "$name $setup $(grep -c '"GET ' "$BASE/strace" || true)" >>"$BASE/gets"
}

for rep in $(seq 1 "$REPS"); do
  for setup in kura-a kura-b; do
    kura=$KURA_A
    [ "$setup" = kura-b ] && kura=$KURA_B
    s3curl -X PUT "$EP/$setup-$rep-$$" >/dev/null
    export KURA_REPOSITORY=s3:$EP/$setup-$rep-$$/r KURA_CACHE_DIR=$BASE/kcache-$setup-$rep
    "$kura" init --kdf interactive --no-object-lock >/dev/null
    timed backup "$setup" "$kura" backup --no-detect "$BASE/src"
    rm -rf "$BASE/out" && sync
    timed restore "$setup" "$kura" restore latest --target "$BASE/out"
    verify "$BASE/out$BASE/src" "$setup"
    timed ls "$setup" "$kura" ls -l latest
    if [ "$rep" = 1 ]; then
      rm -rf "$BASE/out"
      gets restore "$setup" "$kura" restore latest --target "$BASE/out"
      gets ls "$setup" "$kura" ls -l latest
    fi
    rm -rf "$BASE/out"
  done
  export RESTIC_REPOSITORY=s3:$EP/restic-$rep-$$
  restic init --cache-dir "$BASE/rcache-$rep" >/dev/null
  timed backup restic restic backup --cache-dir "$BASE/rcache-$rep" "$BASE/src"
  rm -rf "$BASE/out" && sync
  timed restore restic restic restore latest --cache-dir "$BASE/rcache-$rep" --target "$BASE/out"
  verify "$BASE/out$BASE/src" restic
  timed ls restic restic ls -l latest --cache-dir "$BASE/rcache-$rep"
  rm -rf "$BASE/out"
done

python3 - "$BASE/times" "$BASE/gets" <<'PY'
import statistics, sys
t, g = {}, {}
for line in open(sys.argv[1]):
    name, setup, s = line.split()
    t.setdefault((name, setup), []).append(float(s))
for line in open(sys.argv[2]):
    name, setup, n = line.split()
    g[(name, setup)] = int(n)
print("medians of %d runs; GETs counted once (strace)" % len(t[("backup", "restic")]))
print("| phase | kura-a | kura-b | restic | b / a | b / restic | GETs a | GETs b |")
print("|---|---|---|---|---|---|---|---|")
for name in ("backup", "restore", "ls"):
    a, b, r = (statistics.median(t[(name, s)]) for s in ("kura-a", "kura-b", "restic"))
    print("| %s | %.2f s | %.2f s | %.2f s | %.2f | %.2f | %s | %s |" %
          (name, a, b, r, b / a, b / r, g.get((name, "kura-a"), "-"), g.get((name, "kura-b"), "-")))
PY

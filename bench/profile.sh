#!/usr/bin/env bash
# profile.sh -- where kura's CPU goes: perf profiles (software cpu-clock, flat, every thread) of
# `kura backup` (backup key), `kura restore` and `kura check --read-data` on a mkdata.py tree, and
# the top functions of each by share of samples. Profiles and reports in $OUT.
#
#   bench/profile.sh                 # SIZE=1G; needs perf (linux-perf) and root or perf_event_paranoid <= 1
#
#   SIZE [1G]  SEED [42]  TOP [25]  KURA [<script dir>/../build/kura]
#   BASE [/tmp/bench-profile]  scratch (wiped)     OUT [<script dir>/results-profile]
#   SRC  [$BASE/src]  an existing tree to back up instead of a fresh mkdata.py one
# A virtual machine often has no hardware cycle counter: cpu-clock samples at 999 Hz per CPU stand
# in for cycles (the same thing for CPU-bound code; time waiting for I/O is not sampled).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SIZE=${SIZE:-1G} SEED=${SEED:-42} TOP=${TOP:-25}
KURA=${KURA:-$HERE/../build/kura}
BASE=${BASE:-/tmp/bench-profile}
OUT=${OUT:-$HERE/results-profile}
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
need "$KURA" perf python3 /usr/bin/time bc
bench_prepare
rm -rf "$OUT" "$BASE/repo" "$BASE/cache" "$BASE/restore"
mkdir -p "$OUT/logs"
# shellcheck disable=SC2034 # read by lib.sh's log
T_START=$(date +%s)
if [ -z "${SRC:-}" ]; then
  SRC=$BASE/src
  rm -rf "$SRC"
  log "mkdata.py --size $SIZE --seed $SEED"
  python3 "$HERE/mkdata.py" --size "$SIZE" --seed "$SEED" "$SRC" >"$OUT/dataset.txt"
fi
export KURA_CACHE_DIR=$BASE/cache
"$KURA" -r "$BASE/repo" init >/dev/null
"$KURA" -r "$BASE/repo" key backup-key --output "$BASE/backup.key" >/dev/null

# prof NAME CMD...: run CMD under perf record (all its threads) and time -v; the top TOP symbols.
prof() {
  local name=$1; shift
  sync
  /usr/bin/time -v -o "$OUT/logs/$name.time" \
    perf record -q -e cpu-clock -F 999 -o "$OUT/$name.data" -- "$@" >"$OUT/logs/$name.out" 2>&1 ||
    { log "FAILED: $name"; tail -20 "$OUT/logs/$name.out"; exit 1; }
  perf report -i "$OUT/$name.data" --no-children --sort dso,sym --percent-limit 0.3 --stdio 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -n "$TOP" >"$OUT/$name.top"
  log "$name: $(awk -F': ' '/Elapsed/{print "wall " $2} /User time/{print "user " $2} /System time/{print "sys " $2}' \
    "$OUT/logs/$name.time" | tr '\n' ' ')"
  cat "$OUT/$name.top"
}

warm
prof backup env KURA_KEY_FILE="$BASE/backup.key" "$KURA" -q -r "$BASE/repo" backup --host bench "$SRC"
warm_repo "$BASE/repo"
prof restore "$KURA" -q -r "$BASE/repo" restore latest --target "$BASE/restore"
sync
diff -r -q "$SRC" "$BASE/restore$SRC" >/dev/null || { log "restore differs"; exit 1; }
rm -rf "$BASE/restore"
warm_repo "$BASE/repo"
prof check "$KURA" -q -r "$BASE/repo" check --read-data
log "profile done"

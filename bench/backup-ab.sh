#!/usr/bin/env bash
# backup-ab.sh -- two kura binaries side by side on the backup path only: initial backup of a
# mkdata.py tree, then the incremental after `mkdata.py --mutate`, for each binary in turn, REPS
# times, interleaved so that a noisy neighbour hurts both alike.  Prints one TSV row per run and
# the medians (wall, CPU = user+sys, repository bytes after each phase).
#
#   bench/backup-ab.sh OLD_KURA NEW_KURA        # REPS [3] SIZE [1G] SEED [42] MUTATE [5]
#   BASE [/tmp/bench-backupab]  scratch (the generated tree is kept there for the next run)
#   OUT [<script dir>/results-backupab]
# Every run backs up a fresh copy of the same tree (cp -a, then the same mutation), with the
# backup key, detection on, warm page cache, after a sync.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { echo "usage: $0 OLD_KURA NEW_KURA" >&2; exit 2; }
OLD=$(realpath "$1") NEW=$(realpath "$2")
SIZE=${SIZE:-1G} SEED=${SEED:-42} MUTATE=${MUTATE:-5} REPS=${REPS:-3} RANSOM=${RANSOM:-1}
PHASES="init incr"; [ "$RANSOM" = 1 ] && PHASES="init incr ransom"
BASE=${BASE:-/tmp/bench-backupab}
OUT=${OUT:-$HERE/results-backupab}
KURA=$NEW
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
need "$OLD" "$NEW" python3 /usr/bin/time
bench_prepare
rm -rf "$OUT" "$BASE/src" "$BASE/runs"
mkdir -p "$OUT/logs" "$BASE/runs"
# shellcheck disable=SC2034 # read by lib.sh's log
T_START=$(date +%s)
RAW=$OUT/raw.tsv
SRC=$BASE/src
# the tree is a pure function of (size, seed): kept between runs
if [ "$(cat "$BASE/pristine.id" 2>/dev/null)" != "$SIZE $SEED" ]; then
  rm -rf "$BASE/pristine" "$BASE/pristine.id"
  log "mkdata.py --size $SIZE --seed $SEED"
  python3 "$HERE/mkdata.py" --size "$SIZE" --seed "$SEED" "$BASE/pristine" >"$BASE/pristine.txt"
  echo "$SIZE $SEED" >"$BASE/pristine.id"
fi
cp "$BASE/pristine.txt" "$OUT/dataset.txt"
printf 'rep\tbinary\tphase\twall_s\tcpu_s\trss_kib\trepo_bytes\n' >"$RAW"

# timed NAME OK_RC CMD...: run CMD under time -v after a sync (exit 0 or OK_RC); sets WALL, CPU, RSS.
timed() {
  local name=$1 ok=$2 t0 t1 rc=0; shift 2
  sync
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$OUT/logs/$name.time" "$@" >"$OUT/logs/$name.out" 2>&1 || rc=$?
  [ $rc -eq 0 ] || [ $rc -eq "$ok" ] || { log "FAILED: $name (exit $rc)"; tail -20 "$OUT/logs/$name.out"; exit 1; }
  t1=$(date +%s.%N)
  WALL=$(echo "$t1 - $t0" | bc)
  CPU=$(awk -F': ' '/User time/{u=$2} /System time/{s=$2} END{print u+s}' "$OUT/logs/$name.time")
  RSS=$(awk -F': ' '/Maximum resident/{print $2}' "$OUT/logs/$name.time")
}

for rep in $(seq 1 "$REPS"); do
  for which in old new; do
    bin=$OLD; [ $which = new ] && bin=$NEW
    r=$BASE/runs/$which-$rep c=$BASE/runs/$which-$rep-cache
    rm -rf "$SRC" "$r" "$c"
    cp -a "$BASE/pristine" "$SRC"
    "$bin" -q -r "$r" init >/dev/null
    KURA_CACHE_DIR=$c "$bin" -q -r "$r" key backup-key --output "$c.key" >/dev/null
    for phase in $PHASES; do
      ok=0
      case $phase in
        incr) python3 "$HERE/mkdata.py" --mutate "$MUTATE" --seed "$SEED" "$SRC" >/dev/null ;;
        ransom) python3 "$HERE/mkdata.py" --ransomware --seed "$SEED" "$SRC" >/dev/null; ok=5 ;;
      esac
      warm
      timed "$which-$rep-$phase" $ok env KURA_CACHE_DIR="$c" KURA_KEY_FILE="$c.key" "$bin" -q \
        -r "$r" backup --host bench "$SRC"
      bytes=$(du -sb "$r" | cut -f1)
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$which" "$phase" "$WALL" "$CPU" "$RSS" "$bytes" |
        tee -a "$RAW"
    done
    rm -rf "$r" "$c" "$c.key"
  done
done
rm -rf "$SRC"
log "medians"
python3 - "$RAW" <<'EOF' | tee "$OUT/summary.md"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print("| phase | old wall s | new wall s | new/old | old CPU s | new CPU s | new/old | old repo bytes | new repo bytes | new/old |")
print("|---|---|---|---|---|---|---|---|---|---|")
for phase in ("init", "incr", "ransom"):
    m = {}
    for w in ("old", "new"):
        sel = [r for r in rows if r["binary"] == w and r["phase"] == phase]
        if not sel:
            break
        m[w] = [statistics.median(float(r[k]) for r in sel) for k in ("wall_s", "cpu_s", "repo_bytes")]
    if len(m) < 2:
        continue
    print(f"| {phase} | {m['old'][0]:.2f} | {m['new'][0]:.2f} | {m['new'][0]/m['old'][0]:.3f} | "
          f"{m['old'][1]:.2f} | {m['new'][1]:.2f} | {m['new'][1]/m['old'][1]:.3f} | "
          f"{m['old'][2]:.0f} | {m['new'][2]:.0f} | {m['new'][2]/m['old'][2]:.4f} |")
EOF

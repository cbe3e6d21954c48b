#!/usr/bin/env bash
# run-peers.sh -- kura, restic and borg side by side on a fresh synthetic hospital dataset.
# (Brought into the project from the shared benchmark; kura is one more configuration.)
#
#   SIZE=2G REPS=3 ../shared/bench/run-peers.sh
#
# Environment knobs (defaults in brackets):
#   SIZE [2G]          dataset size for mkdata.py (K/M/G = KiB/MiB/GiB)
#   SEED [42]          dataset seed
#   MUTATE [5]         percent of bytes touched by the "day of work" before the incremental backup
#   REPS [3]           repetitions per measurement (each repetition has its own repository)
#   CHECK_REPS [REPS]  repetitions of the full-verification step
#   CONFIGS            ["kura restic borg-lz4 borg-zstd3"]
#   KURA               [<script dir>/../build/kura]  the kura binary (make first)
#   BASE [/tmp/bench-peers]   scratch dir (must match /tmp/bench-*; wiped at start and, if CLEAN=1, at end)
#   OUT  [<script dir>/results-$SIZE]  logs, raw.tsv, summary.md, limits.md
#   LIMITS [1]         also run limits.sh (hardware reference numbers) at the end
#   CLEAN [1]          remove $BASE at the end
#   RANSOM [1]         extra phase: mkdata.py --ransomware on the tree, then one more backup per repo
#
# Method (all numbers are warm page cache: before every timed backup the source tree is read with
# tar, before every restore/check the repository files are read with cat; fs_in_blocks in raw.tsv
# (512-byte blocks read from disk during the run, from time -v) shows how warm it really was):
#   1. mkdata.py generates $BASE/src; source bytes = sum of regular-file sizes.
#   2. for rep in 1..REPS, for cfg in CONFIGS: fresh repo, initial backup        (phase "init")
#   3. mkdata.py --mutate $MUTATE on $BASE/src in place (same inodes for untouched files)
#   4. for rep, cfg: backup again into the same repo                            (phase "incr")
#   5. for rep, cfg: restore latest snapshot into an empty dir, then `sync`     (phase "restore")
#      and verify: diff -r (content + tree) and a size/mtime/mode listing compare
#   6. for rep<=CHECK_REPS, cfg: restic check --read-data / borg check --verify-data (phase "check")
#   7. (LIMITS=1) limits.sh: openssl/zstd/lz4/memory/disk reference numbers -> limits.md
#   8. (RANSOM=1) mkdata.py --ransomware, then for rep, cfg: backup again  (phase "ransom")
# Every timed command runs under /usr/bin/time -v after a `sync` (dirty pages of the previous step
# are flushed first). wall = date +%s.%N around the command; CPU = user+sys from time -v; RSS = max RSS.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SIZE=${SIZE:-2G}
SEED=${SEED:-42}
MUTATE=${MUTATE:-5}
REPS=${REPS:-3}
CHECK_REPS=${CHECK_REPS:-$REPS}
CONFIGS=${CONFIGS:-"kura restic borg-lz4 borg-zstd3"}
KURA=${KURA:-$HERE/../build/kura}
BASE=${BASE:-/tmp/bench-peers}
OUT=${OUT:-$HERE/results-$SIZE}
LIMITS=${LIMITS:-1}
CLEAN=${CLEAN:-1}
RANSOM=${RANSOM:-1}

# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
need "$KURA" restic borg /usr/bin/time python3 bc diff zstd lz4 openssl
bench_prepare

SRC=$BASE/src
RESTORE=$BASE/restore
rm -rf "$OUT"
find "$BASE" -mindepth 1 -maxdepth 1 ! -name kura-pass -exec rm -rf {} +
mkdir -p "$BASE/repos" "$BASE/home" "$OUT/logs"
RAW=$OUT/raw.tsv
printf 'phase\tcfg\trep\twall_s\tuser_s\tsys_s\tmaxrss_kb\tfs_in_blocks\tsrc_bytes\trepo_bytes\trepo_delta\tcache_bytes\tsync_s\tverify\n' >"$RAW"
T_START=$(date +%s)

write_meta "$CONFIGS" "SIZE=$SIZE SEED=$SEED MUTATE=$MUTATE REPS=$REPS CHECK_REPS=$CHECK_REPS RANSOM=$RANSOM"

# ---------------------------------------------------------------------------------------------
log "generating dataset SIZE=$SIZE SEED=$SEED into $SRC"
python3 "$HERE/mkdata.py" --size "$SIZE" --seed "$SEED" "$SRC" | tee "$OUT/dataset.txt"
SRC0=$(src_bytes)
NFILES0=$(find "$SRC" -type f | wc -l)
NDIRS0=$(find "$SRC" -type d | wc -l)
echo "source: $SRC0 bytes, $NFILES0 files, $NDIRS0 dirs" | tee -a "$OUT/dataset.txt"
# per-category compressibility (whole-category tar streams, single thread), for the record
for c in imaging documents databases shared; do
  raw=$(tar cf - -C "$SRC" "$c" | wc -c)
  z3=$(tar cf - -C "$SRC" "$c" | zstd -3 -T1 -c | wc -c)
  l1=$(tar cf - -C "$SRC" "$c" | lz4 -1 -c | wc -c)
  echo "compressibility $c: tar $raw bytes, zstd -3 x$(echo "scale=2; $raw/$z3" | bc), lz4 -1 x$(echo "scale=2; $raw/$l1" | bc)"
done | tee -a "$OUT/dataset.txt"
warm; warm

# phase init ------------------------------------------------------------------------------------
for rep in $(seq 1 "$REPS"); do
  for cfg in $CONFIGS; do
    do_init_repo "$cfg" "$rep"
    r=$(repo "$cfg" "$rep"); before=$(dsize "$r")
    backup_cmd "$cfg" "$rep" day0
    warm
    measure "init.$cfg.$rep" "${BCMD[@]}"
    after=$(dsize "$r")
    record init "$cfg" "$rep" "$SRC0" "$after" $((after - before)) "$(dsize "$(cache_of "$cfg" "$rep")")" - -
  done
done

# mutate ------------------------------------------------------------------------------------------
log "mutating $MUTATE% (day 1)"
python3 "$HERE/mkdata.py" --mutate "$MUTATE" --day 1 --seed "$SEED" "$SRC" | tee -a "$OUT/dataset.txt"
SRC1=$(src_bytes)
echo "source after mutate: $SRC1 bytes, $(find "$SRC" -type f | wc -l) files" | tee -a "$OUT/dataset.txt"
warm; warm

# phase incr ------------------------------------------------------------------------------------
for rep in $(seq 1 "$REPS"); do
  for cfg in $CONFIGS; do
    r=$(repo "$cfg" "$rep"); before=$(dsize "$r")
    backup_cmd "$cfg" "$rep" day1
    warm
    measure "incr.$cfg.$rep" "${BCMD[@]}"
    after=$(dsize "$r")
    record incr "$cfg" "$rep" "$SRC1" "$after" $((after - before)) "$(dsize "$(cache_of "$cfg" "$rep")")" - -
  done
done

# phase restore -----------------------------------------------------------------------------------
tree_list "$SRC" >"$BASE/src.list"
for rep in $(seq 1 "$REPS"); do
  for cfg in $CONFIGS; do
    r=$(repo "$cfg" "$rep")
    rm -rf "$RESTORE"; mkdir -p "$RESTORE"; sync
    warm_repo "$r"
    restore_cmd "$cfg" "$rep" "$RESTORE" day1
    measure "restore.$cfg.$rep" "${RCMD[@]}"
    syncs=$(timed_sync)
    verify=$(verify_tree "$SRC" "$RESTORE$SRC" "$cfg.$rep" "$BASE/src.list")
    record restore "$cfg" "$rep" "$SRC1" "$(dsize "$r")" - - "$syncs" "$verify"
  done
done
rm -rf "$RESTORE"

# phase check -------------------------------------------------------------------------------------
for rep in $(seq 1 "$CHECK_REPS"); do
  for cfg in $CONFIGS; do
    r=$(repo "$cfg" "$rep")
    warm_repo "$r"
    check_cmd "$cfg" "$rep"
    measure "check.$cfg.$rep" "${CCMD[@]}"
    record check "$cfg" "$rep" "$SRC1" "$(dsize "$r")" - - - -
  done
done

# limits (before the ransomware phase: it needs the compressible documents/ tree) -----------------------
if [ "$LIMITS" = 1 ]; then
  log "limits"
  "$HERE/limits.sh" "$SRC" "$BASE" >"$OUT/limits.md"
  log "limits done"
fi

# phase ransom (extra): encrypt the whole tree in place (mkdata.py --ransomware) and back it up once more
if [ "$RANSOM" = 1 ]; then
  log "ransomware"
  python3 "$HERE/mkdata.py" --ransomware --seed "$SEED" "$SRC" | tee -a "$OUT/dataset.txt"
  SRC2=$(src_bytes)
  echo "source after ransomware: $SRC2 bytes, $(find "$SRC" -type f | wc -l) files" | tee -a "$OUT/dataset.txt"
  for rep in $(seq 1 "$REPS"); do
    for cfg in $CONFIGS; do
      r=$(repo "$cfg" "$rep"); before=$(dsize "$r")
      backup_cmd "$cfg" "$rep" day2
      warm
      measure "ransom.$cfg.$rep" "${BCMD[@]}"
      after=$(dsize "$r")
      record ransom "$cfg" "$rep" "$SRC2" "$after" $((after - before)) "$(dsize "$(cache_of "$cfg" "$rep")")" - -
    done
  done
fi

log "peers done"
python3 "$HERE/summarize.py" "$OUT" | tee "$OUT/summary.md"
[ "$LIMITS" = 1 ] && cat "$OUT/limits.md"

log "total wall $(( $(date +%s) - T_START )) s"
if [ "$CLEAN" = 1 ]; then rm -rf "$BASE"; fi

#!/usr/bin/env bash
# inplace.sh -- the worst day: restore over a tree ransomware encrypted, kura against restic 0.14.
#
#   SIZE=2G bench/inplace.sh            (as root: every restore gets a fresh ext4 on a loop device)
#
# Environment knobs (defaults in brackets):
#   SIZE [2G]     dataset size for mkdata.py (K/M/G = KiB/MiB/GiB)
#   SEED [42]     dataset seed
#   REPS [1]      repetitions of every restore
#   KURA          [<script dir>/../build/kura]  the kura binary (make first)
#   BASE [/tmp/bench-inplace]  scratch dir (must match /tmp/bench-*; wiped at start, and if CLEAN=1 at end)
#   OUT  [<script dir>/results-inplace-$SIZE]  logs, raw.tsv, summary.md
#   FRESH_FS [1]  a fresh ext4 (loop device) per restore, so no run pays for another's deletions and
#                 the bytes written are the file system's own count; 0: plain directories under $BASE
#   CLEAN [1]     remove $BASE at the end
#
# Method:
#   1. mkdata.py generates $BASE/orig/src (kept intact: every result is compared with it).
#   2. kura (backup key, --no-detect) and restic back it up, once each.
#   3. Two attacked copies (cp -a, then mkdata.py --ransomware): "full", the whole tree encrypted,
#      renamed to *.locked, a README_RESTORE.txt in every directory; "part", only documents/ and
#      shared/ attacked (about half the bytes), imaging/ and databases/ as they were.
#   4. Restores, each on a fresh ext4 (its image sized 2x the tree + 1 GiB), repository warm in
#      the page cache, the attacked tree copied in (untimed) and synced first:
#        empty  / kura         kura restore latest:SRC into an empty target
#        empty  / restic       restic restore latest into an empty target
#        full|part / kura      kura restore --overwrite if-changed --delete over the attacked tree
#        full|part / restic    restic restore over the attacked tree (0.14 has no in-place mode:
#                              it writes every file of the snapshot, over what has its name, and
#                              leaves every other file: the *.locked copies and the notes)
#        full|part / restic+rm the same, then the paths restic left are listed by comparing
#                              `restic ls latest` with `find` of the target and removed
#                              (timed as one step after the restore: rm_s)
#   The wall time includes a final `sync` (the data is on disk, as after a real recovery).
#   Bytes written: the ext4 file system's lifetime_write_kbytes before and after (data, metadata
#   and journal: what the disk was asked to write), and the process's own (time -v file system
#   outputs, 512-byte blocks). Result check: rsync -aHAXn --checksum --delete --itemize-changes of
#   the original against the result, counting the lines (0 = identical; kura must be 0).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SIZE=${SIZE:-2G}
SEED=${SEED:-42}
REPS=${REPS:-1}
KURA=${KURA:-$HERE/../build/kura}
BASE=${BASE:-/tmp/bench-inplace}
OUT=${OUT:-$HERE/results-inplace-$SIZE}
FRESH_FS=${FRESH_FS:-1}
CLEAN=${CLEAN:-1}

# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
need "$KURA" restic rsync /usr/bin/time python3 bc
if [ "$FRESH_FS" = 1 ]; then need mkfs.ext4 mount umount mountpoint; fi
bench_prepare

ORIG=$BASE/orig
SRC=$ORIG/src
MNT=$BASE/mnt
IMG=$BASE/target.img
umount_target() { if mountpoint -q "$MNT"; then umount "$MNT"; fi; }
trap umount_target EXIT
umount_target
rm -rf "$OUT"
find "$BASE" -mindepth 1 -maxdepth 1 ! -name kura-pass -exec rm -rf {} +
mkdir -p "$BASE/repos" "$BASE/home" "$OUT/logs" "$ORIG"
RAW=$OUT/raw.tsv
printf 'phase\tcfg\trep\twall_s\tuser_s\tsys_s\tmaxrss_kb\tfs_in_blocks\tfs_written_bytes\tproc_written_bytes\trm_s\trsync_diffs\tfile_diffs\n' >"$RAW"
T_START=$(date +%s)
write_meta "kura restic" "SIZE=$SIZE SEED=$SEED REPS=$REPS FRESH_FS=$FRESH_FS"

log "generating dataset SIZE=$SIZE SEED=$SEED into $SRC"
python3 "$HERE/mkdata.py" --size "$SIZE" --seed "$SEED" "$SRC" | tee "$OUT/dataset.txt"
SRCB=$(src_bytes)
echo "source: $SRCB bytes, $(src_files) files, $(find "$SRC" -type d | wc -l) dirs" | tee -a "$OUT/dataset.txt"

# backups (recorded, not the point) ------------------------------------------------------------------
KREPO=$(repo kura 1) RREPO=$(repo restic 1) RCACHE=$(cache_of restic 1)
do_init_repo kura 1
do_init_repo restic 1
warm
measure backup.kura env KURA_CACHE_DIR="$(cache_of kura 1)" KURA_KEY_FILE="$(cache_of kura 1)/backup.key" \
  "$KURA" -q -r "$KREPO" backup --no-detect --host bench "$SRC"
record backup kura 1 - - - - -
warm
# from inside $ORIG, so the snapshot holds src/ at its top and `restore --target T` makes T/src
# shellcheck disable=SC2016 # expanded by the inner shell
measure backup.restic bash -c 'cd "$1" && exec restic -r "$2" --cache-dir "$3" backup --host bench src' _ \
  "$ORIG" "$RREPO" "$RCACHE"
record backup restic 1 - - - - -

# attacked copies ----------------------------------------------------------------------------------
for kind in full part; do
  mkdir -p "$BASE/$kind"
  cp -a "$SRC" "$BASE/$kind/src"
  if [ $kind = full ]; then
    python3 "$HERE/mkdata.py" --ransomware --seed "$SEED" "$BASE/$kind/src" | tee -a "$OUT/dataset.txt"
  else
    for d in documents shared; do
      python3 "$HERE/mkdata.py" --ransomware --seed "$SEED" "$BASE/$kind/src/$d" | tee -a "$OUT/dataset.txt"
    done
  fi
  echo "attacked ($kind): $(find "$BASE/$kind/src" -type f | wc -l) files," \
    "$(find "$BASE/$kind/src" -name '*.locked' | wc -l) *.locked" | tee -a "$OUT/dataset.txt"
done

# fresh_target KIND: an empty file system on $MNT holding the attacked tree KIND at $MNT/src (none: empty)
fresh_target() {
  local kind=$1
  umount_target
  rm -rf "$MNT" "$IMG"; mkdir -p "$MNT"
  if [ "$FRESH_FS" = 1 ]; then
    truncate -s $((SRCB * 2 + (1 << 30))) "$IMG"
    mkfs.ext4 -q -F "$IMG"
    mount -o loop "$IMG" "$MNT"
  fi
  if [ "$kind" != none ]; then cp -a "$BASE/$kind/src" "$MNT/src"; fi
  sync
}

# fs_written: bytes the target's file system has written since it was made (0 without FRESH_FS)
fs_written() {
  local dev
  if [ "$FRESH_FS" != 1 ]; then echo 0; return; fi
  dev=$(basename "$(findmnt -n -o SOURCE "$MNT")")
  echo $(($(cat "/sys/fs/ext4/$dev/lifetime_write_kbytes") * 1024))
}

# rsync_diffs NAME: the lines rsync would change to make $MNT/src equal to the original (0 0:
# identical), all of them and those that are not only a directory's metadata (".d" lines); the list
# in $OUT/logs/rsync.NAME
rsync_diffs() {
  rsync -aHAXn --checksum --delete --numeric-ids --itemize-changes "$SRC/" "$MNT/src/" >"$OUT/logs/rsync.$1" 2>&1 || true
  echo "$(wc -l <"$OUT/logs/rsync.$1") $(grep -cv '^\.d' "$OUT/logs/rsync.$1" || true)"
}

# restic_extras: remove every path under $MNT/src that the snapshot does not have (what a user of
# restic 0.14 must do by hand: its restore leaves them); the removed paths in $OUT/logs/extras.NAME
restic_extras() {
  local name=$1
  restic -r "$RREPO" --cache-dir "$RCACHE" --no-lock ls latest 2>/dev/null | grep '^/' | LC_ALL=C sort >"$BASE/snap.list"
  (cd "$MNT" && find src -mindepth 1 | sed 's|^|/|' | LC_ALL=C sort) >"$BASE/have.list"
  # deepest first is not needed: a removed directory takes its contents along (rm -rf)
  LC_ALL=C comm -23 "$BASE/have.list" "$BASE/snap.list" >"$OUT/logs/extras.$name"
  (cd "$MNT" && sed 's|^/||' "$OUT/logs/extras.$name" | tr '\n' '\0' | xargs -0 -r rm -rf --)
  sync
}

M_FSOUT=0
# run_restore PHASE CFG REP cmd...: time cmd plus a sync, measure the bytes written, check the result
run_restore() {
  local phase=$1 cfg=$2 rep=$3 w0 w1 t0 t1 wall rms=- name=$1.$2.$3; shift 3
  w0=$(fs_written)
  log "$name: load average before $(cut -d' ' -f1-3 /proc/loadavg)"
  measure "$name" "$@"
  t0=$(date +%s.%N); sync; t1=$(date +%s.%N)
  wall=$(echo "$M_WALL + $t1 - $t0" | bc)
  M_FSOUT=$(awk -F': ' '/File system outputs/{printf "%.0f", $2 * 512}' "$OUT/logs/$name.time")
  if [ "$cfg" = restic+rm ]; then
    t0=$(date +%s.%N); restic_extras "$name"; t1=$(date +%s.%N)
    rms=$(echo "$t1 - $t0" | bc)
  fi
  w1=$(fs_written)
  M_WALL=$wall
  local diffs; read -r -a diffs <<<"$(rsync_diffs "$name")"
  record "$phase" "$cfg" "$rep" $((w1 - w0)) "$M_FSOUT" "$rms" "${diffs[@]}"
}

KURA_RESTORE=("$KURA" -q -r "$KREPO" restore "latest:$SRC" --target "$MNT/src")
RESTIC_RESTORE=(restic -r "$RREPO" --cache-dir "$RCACHE" restore latest --target "$MNT")
for rep in $(seq 1 "$REPS"); do
  fresh_target none; warm_repo "$KREPO"
  run_restore empty kura "$rep" "${KURA_RESTORE[@]}"
  fresh_target none; warm_repo "$RREPO"
  run_restore empty restic "$rep" "${RESTIC_RESTORE[@]}"
  for kind in full part; do
    fresh_target $kind; warm_repo "$KREPO"
    run_restore "$kind" kura "$rep" "${KURA_RESTORE[@]}" --overwrite if-changed --delete
    fresh_target $kind; warm_repo "$RREPO"
    run_restore "$kind" restic "$rep" "${RESTIC_RESTORE[@]}"
    fresh_target $kind; warm_repo "$RREPO"
    run_restore "$kind" restic+rm "$rep" "${RESTIC_RESTORE[@]}"
  done
done
umount_target
rm -rf "$MNT" "$IMG"

log "inplace done"
python3 "$HERE/inplace_summary.py" "$RAW" "$SRCB" | tee "$OUT/summary.md"
log "total wall $(($(date +%s) - T_START)) s"
if [ "$CLEAN" = 1 ]; then rm -rf "$BASE"; fi

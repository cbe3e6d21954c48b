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

case "$BASE" in /tmp/bench-*) ;; *) echo "BASE must be /tmp/bench-*" >&2; exit 2 ;; esac
for t in "$KURA" restic borg /usr/bin/time python3 bc diff zstd lz4 openssl; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 2; }; done

export RESTIC_PASSWORD=bench-password-not-secret
mkdir -p "$BASE"; echo "bench passphrase kura not secret quokka" >"$BASE/kura-pass"
export KURA_PASSWORD_FILE=$BASE/kura-pass
export BORG_PASSPHRASE=bench-password-not-secret
export BORG_DISPLAY_PASSPHRASE=no
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes

SRC=$BASE/src
RESTORE=$BASE/restore
rm -rf "$OUT"
find "$BASE" -mindepth 1 -maxdepth 1 ! -name kura-pass -exec rm -rf {} +
mkdir -p "$BASE/repos" "$BASE/home" "$OUT/logs"
RAW=$OUT/raw.tsv
printf 'phase\tcfg\trep\twall_s\tuser_s\tsys_s\tmaxrss_kb\tfs_in_blocks\tsrc_bytes\trepo_bytes\trepo_delta\tcache_bytes\tsync_s\tverify\n' >"$RAW"
T_START=$(date +%s)
log() { echo "[$(date +%T) +$(( $(date +%s) - T_START ))s] $*" | tee -a "$OUT/progress.log"; }

# ---------------------------------------------------------------------------------------------
{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(uname -a)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "cpu flags of interest: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|sha_ni|aes|vaes|avx512f|avx512bw|avx512vl|pclmulqdq|vpclmulqdq' | sort | tr '\n' ' ')"
  echo "mem: $(free -b | awk '/Mem:/{printf "%.1f GiB", $2/2^30}')"
  echo "fs for $BASE: $(df -T /tmp | awk 'NR==2{print $1" "$2}')"
  echo "kura: $("$KURA" version)"
  echo "restic: $(restic version)"
  echo "borg: $(borg --version)"
  echo "python: $(python3 --version)"
  echo "SIZE=$SIZE SEED=$SEED MUTATE=$MUTATE REPS=$REPS CHECK_REPS=$CHECK_REPS RANSOM=$RANSOM CONFIGS=$CONFIGS"
} >"$OUT/meta.txt"
cat "$OUT/meta.txt"

# ---------------------------------------------------------------------------------------------
M_WALL=0 M_USER=0 M_SYS=0 M_RSS=0 M_FSIN=0
measure() {   # measure NAME cmd...   -> sets M_WALL M_USER M_SYS M_RSS
  local name=$1; shift
  local lf=$OUT/logs/$name
  sync
  local t0 t1
  t0=$(date +%s.%N)
  if ! /usr/bin/time -v -o "$lf.time" "$@" >"$lf.out" 2>&1; then
    log "FAILED: $name: $*"; tail -30 "$lf.out"; exit 1
  fi
  t1=$(date +%s.%N)
  M_WALL=$(echo "$t1 - $t0" | bc)
  M_USER=$(awk -F': ' '/User time \(seconds\)/{print $2}' "$lf.time")
  M_SYS=$(awk -F': ' '/System time \(seconds\)/{print $2}' "$lf.time")
  M_RSS=$(awk -F': ' '/Maximum resident set size/{print $2}' "$lf.time")
  M_FSIN=$(awk -F': ' '/File system inputs/{print $2}' "$lf.time")
}
record() {  # record phase cfg rep src_bytes repo_bytes repo_delta cache_bytes sync_s verify
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$M_WALL" "$M_USER" "$M_SYS" "$M_RSS" \
    "$M_FSIN" "$4" "$5" "$6" "$7" "$8" "$9" >>"$RAW"
  log "$1 $2 #$3: wall=${M_WALL}s user=${M_USER}s sys=${M_SYS}s rss=${M_RSS}kB fs_in=${M_FSIN}blk src=$4 repo=$5 delta=$6 sync=$8 verify=$9"
}
src_bytes() { find "$SRC" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f", s}'; }   # not %d: mawk clamps it to 2^31-1
dsize() { if [ -e "$1" ]; then du -sb "$1" | cut -f1; else echo 0; fi; }
# borg posix_fadvise(DONTNEED)s every source file it reads and every repo segment it writes, so the
# page cache state depends on what ran before; warm the inputs explicitly before every timed command.
warm() { tar cf - -C "$BASE" src | cat >/dev/null; }
warm_repo() { find "$1" -type f -print0 | xargs -0 cat >/dev/null; }

repo() { echo "$BASE/repos/$1.$2"; }
cache_of() { echo "$BASE/home/$1.$2"; }   # restic --cache-dir, or BORG_BASE_DIR (holds borg's cache+security dir)

do_init_repo() { # cfg rep
  local cfg=$1 rep=$2 r; r=$(repo "$cfg" "$rep")
  case $cfg in
    kura)   { "$KURA" -r "$r" init && mkdir -p "$(cache_of "$cfg" "$rep")" &&
              "$KURA" -r "$r" key backup-key --output "$(cache_of "$cfg" "$rep")/backup.key"; } \
              >"$OUT/logs/repoinit.$cfg.$rep.out" 2>&1 ;;
    restic) restic -r "$r" --cache-dir "$(cache_of "$cfg" "$rep")" init >"$OUT/logs/repoinit.$cfg.$rep.out" 2>&1 ;;
    borg-*) BORG_BASE_DIR=$(cache_of "$cfg" "$rep") borg init --encryption=repokey-blake2 "$r" \
              >"$OUT/logs/repoinit.$cfg.$rep.out" 2>&1 ;;
  esac
}
backup_cmd() { # cfg rep archive-name -> prints the command words into BCMD array
  local cfg=$1 rep=$2 name=$3 r; r=$(repo "$cfg" "$rep")
  case $cfg in
    kura)       BCMD=(env KURA_CACHE_DIR="$(cache_of "$cfg" "$rep")" KURA_KEY_FILE="$(cache_of "$cfg" "$rep")/backup.key" "$KURA" -q -r "$r" backup --host bench "$SRC") ;;
    restic)     BCMD=(restic -r "$r" --cache-dir "$(cache_of "$cfg" "$rep")" --compression auto backup --host bench "$SRC") ;;
    borg-lz4)   BCMD=(env BORG_BASE_DIR="$(cache_of "$cfg" "$rep")" borg create --stats "$r::$name" "$SRC") ;;
    borg-zstd3) BCMD=(env BORG_BASE_DIR="$(cache_of "$cfg" "$rep")" borg create --stats --compression zstd,3 "$r::$name" "$SRC") ;;
  esac
}

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
(cd "$SRC" && find . -printf '%y %P %s %T@ %m\n' | grep -v '^d' | sort) >"$BASE/src.list"
for rep in $(seq 1 "$REPS"); do
  for cfg in $CONFIGS; do
    r=$(repo "$cfg" "$rep")
    rm -rf "$RESTORE"; mkdir -p "$RESTORE"; sync
    warm_repo "$r"
    case $cfg in
      kura)   measure "restore.$cfg.$rep" "$KURA" -q -r "$r" restore latest --target "$RESTORE" ;;
      restic) measure "restore.$cfg.$rep" restic -r "$r" --cache-dir "$(cache_of "$cfg" "$rep")" restore latest --target "$RESTORE" ;;
      borg-*) measure "restore.$cfg.$rep" env BORG_BASE_DIR="$(cache_of "$cfg" "$rep")" \
                bash -c 'cd "$1" && exec borg extract "$2::day1"' _ "$RESTORE" "$r" ;;
    esac
    ts0=$(date +%s.%N); sync; ts1=$(date +%s.%N); syncs=$(echo "$ts1 - $ts0" | bc)
    got=$RESTORE$SRC
    verify=ok
    if ! diff -r -q --no-dereference "$SRC" "$got" >"$OUT/logs/verify.$cfg.$rep.diff" 2>&1; then verify=DIFF; fi
    (cd "$got" && find . -printf '%y %P %s %T@ %m\n' | grep -v '^d' | sort) >"$BASE/rst.list"
    if ! cmp -s "$BASE/src.list" "$BASE/rst.list"; then
      diff "$BASE/src.list" "$BASE/rst.list" | head -20 >"$OUT/logs/verify.$cfg.$rep.meta" || true
      [ "$verify" = ok ] && verify=content-ok/meta-differs
    fi
    record restore "$cfg" "$rep" "$SRC1" "$(dsize "$r")" - - "$syncs" "$verify"
  done
done
rm -rf "$RESTORE"

# phase check -------------------------------------------------------------------------------------
for rep in $(seq 1 "$CHECK_REPS"); do
  for cfg in $CONFIGS; do
    r=$(repo "$cfg" "$rep")
    warm_repo "$r"
    case $cfg in
      kura)   measure "check.$cfg.$rep" "$KURA" -q -r "$r" check --read-data ;;
      restic) measure "check.$cfg.$rep" restic -r "$r" --cache-dir "$(cache_of "$cfg" "$rep")" check --read-data ;;
      borg-*) measure "check.$cfg.$rep" env BORG_BASE_DIR="$(cache_of "$cfg" "$rep")" borg check --verify-data "$r" ;;
    esac
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

# shellcheck shell=bash
# The command arrays BCMD, RCMD and CCMD are for the caller; zstd,3 is one argument; the borg
# extract script expands its own positional parameters:
# shellcheck disable=SC2034,SC2054,SC2016
# lib.sh -- shell functions shared by run-peers.sh, scale.sh and manyfiles.sh (sourced, not run).
#
# The caller sets, before sourcing or at least before calling anything:
#   BASE    scratch dir, /tmp/bench-* (repos in $BASE/repos, caches and keys in $BASE/home)
#   OUT     results dir (logs in $OUT/logs, progress in $OUT/progress.log, rows in $RAW)
#   RAW     the TSV that `record` appends to
#   SRC     the source tree being backed up
#   KURA    the kura binary
#   T_START epoch seconds at the start (for log lines)
# and may set KURA_INIT_ARGS (an array, extra `kura init` arguments, e.g. (--kdf interactive)).
#
# Timing method: every timed command runs under /usr/bin/time -v after a `sync` (dirty pages of the
# previous step are flushed first); wall = date +%s.%N around the command, CPU = user+sys from
# time -v, RSS = its maximum resident set size, fs_in = 512-byte blocks read from disk.

if ! declare -p KURA_INIT_ARGS >/dev/null 2>&1; then KURA_INIT_ARGS=(); fi

export RESTIC_PASSWORD=bench-password-not-secret
export BORG_PASSPHRASE=bench-password-not-secret
export BORG_DISPLAY_PASSPHRASE=no
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes

# bench_prepare: check the scratch dir name, write the kura passphrase file, export its path.
bench_prepare() {
  case "$BASE" in /tmp/bench-*|/work/tmp/bench-*) ;; *) echo "BASE must be /tmp/bench-* or /work/tmp/bench-*" >&2; exit 2 ;; esac
  mkdir -p "$BASE"
  echo "bench passphrase kura not secret quokka" >"$BASE/kura-pass"
  export KURA_PASSWORD_FILE=$BASE/kura-pass
}

# need TOOL...: exit 2 naming the first tool that is missing.
need() {
  local t
  for t in "$@"; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 2; }; done
}

log() { echo "[$(date +%T) +$(( $(date +%s) - T_START ))s] $*" | tee -a "$OUT/progress.log"; }

# write_meta CONFIGS KNOBS: machine and tool versions into $OUT/meta.txt (and on stdout).
write_meta() {
  local cfgs=$1 knobs=$2
  {
    echo "date: $(date -u +%FT%TZ)"
    echo "host: $(uname -a)"
    echo "nproc: $(nproc)"
    echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "cpu flags of interest: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|sha_ni|aes|vaes|avx512f|avx512bw|avx512vl|pclmulqdq|vpclmulqdq' | sort | tr '\n' ' ')"
    echo "mem: $(free -b | awk '/Mem:/{printf "%.1f GiB", $2/2^30}')"
    echo "fs for $BASE: $(df -T "$BASE" | awk 'NR==2{print $1" "$2}')"
    echo "kura: $("$KURA" version)"
    case " $cfgs " in *" restic "*) echo "restic: $(restic version)" ;; esac
    case " $cfgs " in *" borg-"*) echo "borg: $(borg --version)" ;; esac
    echo "python: $(python3 --version)"
    echo "$knobs CONFIGS=$cfgs"
  } >"$OUT/meta.txt"
  cat "$OUT/meta.txt"
}

M_WALL=0 M_USER=0 M_SYS=0 M_RSS=0 M_FSIN=0
# measure NAME cmd...: run cmd under time -v, stdout+stderr in $OUT/logs/NAME.out;
# sets M_WALL M_USER M_SYS M_RSS M_FSIN; exits the script if cmd fails.
measure() {
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

# record PHASE CFG REP FIELD...: append PHASE CFG REP wall user sys maxrss_kb fs_in_blocks FIELD...
# (tab-separated) to $RAW; the caller's header names the FIELDs.
record() {
  local phase=$1 cfg=$2 rep=$3; shift 3
  local f line=$phase$'\t'$cfg$'\t'$rep$'\t'$M_WALL$'\t'$M_USER$'\t'$M_SYS$'\t'$M_RSS$'\t'$M_FSIN
  for f in "$@"; do line+=$'\t'$f; done
  printf '%s\n' "$line" >>"$RAW"
  log "$phase $cfg #$rep: wall=${M_WALL}s user=${M_USER}s sys=${M_SYS}s rss=${M_RSS}kB fs_in=${M_FSIN}blk $*"
}

# timed_sync: run sync, print its wall seconds.
timed_sync() {
  local t0 t1
  t0=$(date +%s.%N); sync; t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}

src_bytes() { find "$SRC" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f", s}'; }   # not %d: mawk clamps it to 2^31-1
src_files() { find "$SRC" -type f -printf x | wc -c; }
dsize() { if [ -e "$1" ]; then du -sb "$1" | cut -f1; else echo 0; fi; }
# borg posix_fadvise(DONTNEED)s every source file it reads and every repo segment it writes, so the
# page cache state depends on what ran before; warm the inputs explicitly before every timed command.
warm() { tar cf - -C "$(dirname "$SRC")" "$(basename "$SRC")" | cat >/dev/null; }
warm_repo() { find "$1" -type f -print0 | xargs -0 -r cat >/dev/null; }

repo() { echo "$BASE/repos/$1.$2"; }
cache_of() { echo "$BASE/home/$1.$2"; }   # restic --cache-dir, or BORG_BASE_DIR (holds borg's cache+security dir)

# do_init_repo CFG REP: a fresh repository (kura: plus its backup key in cache_of).
do_init_repo() {
  local cfg=$1 rep=$2 r c; r=$(repo "$cfg" "$rep"); c=$(cache_of "$cfg" "$rep")
  case $cfg in
    kura)   { "$KURA" -r "$r" init "${KURA_INIT_ARGS[@]}" && mkdir -p "$c" &&
              "$KURA" -r "$r" key backup-key --output "$c/backup.key"; } \
              >"$OUT/logs/repoinit.$cfg.$rep.out" 2>&1 ;;
    restic) restic -r "$r" --cache-dir "$c" init >"$OUT/logs/repoinit.$cfg.$rep.out" 2>&1 ;;
    borg-*) BORG_BASE_DIR=$c borg init --encryption=repokey-blake2 "$r" \
              >"$OUT/logs/repoinit.$cfg.$rep.out" 2>&1 ;;
  esac
}

# backup_cmd CFG REP ARCHIVE [KURA_ARGS...]: the backup command words of $SRC into the array BCMD.
# kura backs up with the backup key, as a backup client would; KURA_ARGS go before `backup`.
backup_cmd() {
  local cfg=$1 rep=$2 name=$3 r c; shift 3
  r=$(repo "$cfg" "$rep"); c=$(cache_of "$cfg" "$rep")
  case $cfg in
    kura)       BCMD=(env KURA_CACHE_DIR="$c" KURA_KEY_FILE="$c/backup.key" "$KURA" -q "$@" -r "$r" backup --host bench "$SRC") ;;
    restic)     BCMD=(restic -r "$r" --cache-dir "$c" --compression auto backup --host bench "$SRC") ;;
    borg-lz4)   BCMD=(env BORG_BASE_DIR="$c" borg create --stats "$r::$name" "$SRC") ;;
    borg-zstd3) BCMD=(env BORG_BASE_DIR="$c" borg create --stats --compression zstd,3 "$r::$name" "$SRC") ;;
  esac
}

# restore_cmd CFG REP TARGET ARCHIVE: the command that restores the latest snapshot (borg: ARCHIVE)
# into TARGET, so that $SRC comes back as TARGET$SRC, into the array RCMD. kura uses the restore key.
restore_cmd() {
  local cfg=$1 rep=$2 target=$3 name=$4 r c
  r=$(repo "$cfg" "$rep"); c=$(cache_of "$cfg" "$rep")
  case $cfg in
    kura)   RCMD=("$KURA" -q -r "$r" restore latest --target "$target") ;;
    restic) RCMD=(restic -r "$r" --cache-dir "$c" restore latest --target "$target") ;;
    borg-*) RCMD=(env BORG_BASE_DIR="$c" bash -c 'cd "$1" && exec borg extract "$2::$3"' _ "$target" "$r" "$name") ;;
  esac
}

# check_cmd CFG REP: the full data verification command into the array CCMD.
check_cmd() {
  local cfg=$1 rep=$2 r c
  r=$(repo "$cfg" "$rep"); c=$(cache_of "$cfg" "$rep")
  case $cfg in
    kura)   CCMD=("$KURA" -q -r "$r" check --read-data) ;;
    restic) CCMD=(restic -r "$r" --cache-dir "$c" check --read-data) ;;
    borg-*) CCMD=(env BORG_BASE_DIR="$c" borg check --verify-data "$r") ;;
  esac
}

# tree_list DIR: one sorted line per non-directory entry: type, path, size, mtime, mode.
tree_list() { (cd "$1" && find . -printf '%y %P %s %T@ %m\n' | awk '$1 != "d"' | LC_ALL=C sort); }

# verify_tree SRC GOT NAME SRC_LIST: print ok, DIFF (content or tree differs: diff -r) or
# content-ok/meta-differs (sizes, mtimes or modes differ from SRC_LIST, made by tree_list SRC).
# Details in $OUT/logs/verify.NAME.diff and .meta.
verify_tree() {
  local src=$1 got=$2 name=$3 list=$4 v=ok
  if ! diff -r -q --no-dereference "$src" "$got" >"$OUT/logs/verify.$name.diff" 2>&1; then v=DIFF; fi
  tree_list "$got" >"$BASE/rst.list"
  if ! cmp -s "$list" "$BASE/rst.list"; then
    { diff "$list" "$BASE/rst.list" || true; } | awk 'NR <= 20' >"$OUT/logs/verify.$name.meta"
    [ "$v" = ok ] && v=content-ok/meta-differs
  fi
  rm -f "$BASE/rst.list"
  echo "$v"
}

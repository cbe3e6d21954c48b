#!/usr/bin/env bash
# manyfiles.sh -- a million small files: initial backup, no-change incremental, restore.
#
#   bench/manyfiles.sh                        # results in bench/results-manyfiles/summary.md
#   FILES=300000 CONFIGS="kura restic" bench/manyfiles.sh
#
# mkfiles.py makes a deterministic tree of FILES small files (100 B - 8 KiB, log-uniform) in DIRS
# leaf directories; then, for each configuration in CONFIGS, one repetition each:
#   init     initial backup into a fresh repository (kura: with the backup key)
#   noop     the same backup again with nothing changed: files per second. For kura this must not
#            read any file: the --json summary must say bytes_read 0, files_unmodified FILES, no new
#            or changed file (the verify column says noread-ok, or FAIL and the script exits 1 at the end)
#   strace   (kura, STRACE=1, not timed) one more no-change backup under strace: how many regular
#            files under the source it opened (must be 0), in $OUT/strace.txt
#   restore  restore the latest snapshot into an empty dir, then `sync` (timed apart), then verify
#            with diff -r and a type/size/mtime/mode listing against the source
#   check    (CHECK=1) full data verification
# Rows go to $OUT/raw.tsv, tables to $OUT/summary.md.
#
# Knobs (defaults in brackets):
#   FILES [1000000]  DIRS [1000]  SEED [42]
#   CONFIGS ["kura restic borg-lz4"]  any of kura restic borg-lz4 borg-zstd3
#   KURA_KDF [interactive]  kura init --kdf (64 MiB Argon2id: restore RSS is then mostly restore)
#   CHECK [0]  STRACE [1]  CLEAN [1] (remove $BASE at the end)
#   KURA [<script dir>/../build/kura]  BASE [/tmp/bench-many]  OUT [<script dir>/results-manyfiles]
# Needs about 3 x FILES x 4 KiB of disk (source, one restore, repositories) and as many inodes.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
FILES=${FILES:-1000000}
DIRS=${DIRS:-1000}
SEED=${SEED:-42}
CONFIGS=${CONFIGS:-"kura restic borg-lz4"}
KURA_KDF=${KURA_KDF:-interactive}
CHECK=${CHECK:-0}
STRACE=${STRACE:-1}
CLEAN=${CLEAN:-1}
KURA=${KURA:-$HERE/../build/kura}
BASE=${BASE:-/tmp/bench-many}
OUT=${OUT:-$HERE/results-manyfiles}
KURA_INIT_ARGS=(--kdf "$KURA_KDF")

# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
need "$KURA" /usr/bin/time python3 bc diff tar
case " $CONFIGS " in *" restic "*) need restic ;; esac
case " $CONFIGS " in *" borg-"*) need borg ;; esac
[ "$STRACE" = 1 ] && need strace
bench_prepare

SRC=$BASE/src
RESTORE=$BASE/restore
rm -rf "$OUT"
find "$BASE" -mindepth 1 -maxdepth 1 ! -name kura-pass -exec rm -rf {} +
mkdir -p "$BASE/repos" "$BASE/home" "$OUT/logs"
RAW=$OUT/raw.tsv
printf 'phase\tcfg\trep\twall_s\tuser_s\tsys_s\tmaxrss_kb\tfs_in_blocks\tsize\tsrc_bytes\tfiles\trepo_bytes\trepo_delta\tsync_s\tverify\tbytes_read\n' >"$RAW"
T_START=$(date +%s)
write_meta "$CONFIGS" "FILES=$FILES DIRS=$DIRS SEED=$SEED KURA_KDF=$KURA_KDF CHECK=$CHECK STRACE=$STRACE"
LABEL=$FILES
FAILED=0

# warm_meta: bring the source's directories and inodes into the cache (all a no-change backup needs).
warm_meta() { find "$SRC" -printf '%s %T@\n' >/dev/null; }

log "generating $FILES files in $DIRS dirs, SEED=$SEED, into $SRC"
python3 "$HERE/mkfiles.py" --files "$FILES" --dirs "$DIRS" --seed "$SEED" "$SRC" | tee "$OUT/dataset.txt"
SRCB=$(src_bytes); NF=$(src_files)
echo "source: $SRCB bytes, $NF files, $(find "$SRC" -type d | wc -l) dirs" | tee -a "$OUT/dataset.txt"
[ "$NF" = "$FILES" ] || { log "mkfiles.py made $NF files, not $FILES"; exit 1; }
warm

for cfg in $CONFIGS; do
  do_init_repo "$cfg" 1
  r=$(repo "$cfg" 1)
  backup_cmd "$cfg" 1 day0 --json
  warm
  measure "init.$cfg" "${BCMD[@]}"
  after=$(dsize "$r")
  record init "$cfg" 1 "$LABEL" "$SRCB" "$NF" "$after" "$after" - - -
done

# json_check FILE: "noread-ok BYTES_READ" if the kura --json summary in FILE shows a backup that
# read nothing and found every file unmodified, else "FAIL BYTES_READ".
json_check() {
  python3 -c 'import json,sys
s = None
for line in open(sys.argv[1]):
    if line.startswith("{"):
        s = json.loads(line)
if s is None:
    print("FAIL -"); sys.exit()
ok = (s["bytes_read"] == 0 and s["files_unmodified"] == int(sys.argv[2])
      and s["files_new"] == 0 and s["files_changed"] == 0)
print("%s %d" % ("noread-ok" if ok else "FAIL", s["bytes_read"]))' "$1" "$2"
}

for cfg in $CONFIGS; do
  r=$(repo "$cfg" 1); before=$(dsize "$r")
  backup_cmd "$cfg" 1 day1 --json
  warm_meta
  measure "noop.$cfg" "${BCMD[@]}"
  after=$(dsize "$r")
  v=- br=-
  if [ "$cfg" = kura ]; then
    read -r v br < <(json_check "$OUT/logs/noop.$cfg.out" "$NF")
    [ "$v" = noread-ok ] || FAILED=1
  fi
  record noop "$cfg" 1 "$LABEL" "$SRCB" "$NF" "$after" $((after - before)) - "$v" "$br"
done

if [ "$STRACE" = 1 ] && case " $CONFIGS " in *" kura "*) true ;; *) false ;; esac; then
  # -y prints the path behind each returned descriptor; regular files are opened without O_DIRECTORY
  backup_cmd kura 1 day2
  strace -f -qq -y -e trace=open,openat,openat2 -e status=successful -o "$BASE/strace.log" "${BCMD[@]}" \
    >"$OUT/logs/strace.kura.out" 2>&1
  opened=$(awk -v p="<$SRC/" 'index($0, p) && !/O_DIRECTORY/ { n++ } END { print n + 0 }' "$BASE/strace.log")
  dirs=$(awk -v p="<$SRC" 'index($0, p) && /O_DIRECTORY/ { n++ } END { print n + 0 }' "$BASE/strace.log")
  echo "no-change kura backup under strace: $opened regular files under $SRC opened, $dirs directories opened" \
    | tee "$OUT/strace.txt"
  awk -v p="<$SRC/" 'index($0, p) && !/O_DIRECTORY/' "$BASE/strace.log" | awk 'NR <= 20' >>"$OUT/strace.txt"
  rm -f "$BASE/strace.log"
  log "strace: $opened files, $dirs dirs opened"
  [ "$opened" = 0 ] || FAILED=1
fi

tree_list "$SRC" >"$BASE/src.list"
for cfg in $CONFIGS; do
  r=$(repo "$cfg" 1)
  rm -rf "$RESTORE"; mkdir -p "$RESTORE"; sync
  warm_repo "$r"
  restore_cmd "$cfg" 1 "$RESTORE" day1
  measure "restore.$cfg" "${RCMD[@]}"
  syncs=$(timed_sync)
  verify=$(verify_tree "$SRC" "$RESTORE$SRC" "$cfg" "$BASE/src.list")
  [ "$verify" = ok ] || FAILED=1
  record restore "$cfg" 1 "$LABEL" "$SRCB" "$NF" "$(dsize "$r")" - "$syncs" "$verify" -
  rm -rf "$RESTORE"
done

if [ "$CHECK" = 1 ]; then
  for cfg in $CONFIGS; do
    r=$(repo "$cfg" 1)
    warm_repo "$r"
    check_cmd "$cfg" 1
    measure "check.$cfg" "${CCMD[@]}"
    record check "$cfg" 1 "$LABEL" "$SRCB" "$NF" "$(dsize "$r")" - - - -
  done
fi

log "manyfiles done"
python3 "$HERE/scalesum.py" "$OUT" | tee "$OUT/summary.md"
if [ -e "$OUT/strace.txt" ]; then tee -a "$OUT/summary.md" <"$OUT/strace.txt"; fi
log "total wall $(( $(date +%s) - T_START )) s"
if [ "$CLEAN" = 1 ]; then rm -rf "$BASE"; fi
if [ "$FAILED" = 1 ]; then log "FAILED: a no-change backup read files, or a restore differs"; exit 1; fi

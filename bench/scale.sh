#!/usr/bin/env bash
# scale.sh -- does time grow linearly and memory stay flat as the data grows?
#
#   SIZES="1G 2G 4G 8G" bench/scale.sh          # results in bench/results-scale/summary.md
#
# For each size in SIZES, on a fresh mkdata.py dataset (deterministic: same SEED and size, same
# bytes), for each configuration in CONFIGS, one repetition each:
#   init     initial backup into a fresh repository (kura: with the backup key)
#   open     kura only: `kura snapshots`, the cost of opening the repository with the passphrase
#            (the Argon2id floor under the restore and check RSS figures)
#   incr     backup again after `mkdata.py --mutate $MUTATE` (a day of work, ~MUTATE % of bytes)
#   restore  restore the latest snapshot into an empty dir, then `sync` (timed apart), then verify
#            against the source: diff -r (content and tree) plus a type/size/mtime/mode listing
#   check    kura check --read-data / restic check --read-data / borg check --verify-data
# and then removes that size's dataset, repositories and restore before the next size.
# Rows go to $OUT/raw.tsv, tables (seconds per GiB and peak RSS per size) to $OUT/summary.md.
#
# Knobs (defaults in brackets):
#   SIZES ["1G 2G 4G 8G"]   dataset sizes for mkdata.py (K/M/G = KiB/MiB/GiB)
#   SEED [42]  MUTATE [5]
#   CONFIGS ["kura restic"] any of kura restic borg-lz4 borg-zstd3
#   KURA_KDF [interactive]  kura init --kdf: the 64 MiB Argon2id profile, so that the data-dependent
#                           part of the restore/check memory is not hidden under the default 256 MiB
#   KURA [<script dir>/../build/kura]
#   BASE [/tmp/bench-scale] scratch dir (/tmp/bench-* or /work/tmp/bench-*); wiped at start
#   OUT [<script dir>/results-scale]
#   CLEAN [1]               remove $BASE at the end
# Needs about 3.5 x the largest size free under BASE with kura and restic (source, two
# repositories, one restore at a time).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SIZES=${SIZES:-"1G 2G 4G 8G"}
SEED=${SEED:-42}
MUTATE=${MUTATE:-5}
CONFIGS=${CONFIGS:-"kura restic"}
KURA_KDF=${KURA_KDF:-interactive}
KURA=${KURA:-$HERE/../build/kura}
BASE=${BASE:-/tmp/bench-scale}
OUT=${OUT:-$HERE/results-scale}
CLEAN=${CLEAN:-1}
KURA_INIT_ARGS=(--kdf "$KURA_KDF")

# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
need "$KURA" /usr/bin/time python3 bc diff tar
case " $CONFIGS " in *" restic "*) need restic ;; esac
case " $CONFIGS " in *" borg-"*) need borg ;; esac
bench_prepare

SRC=$BASE/src
RESTORE=$BASE/restore
rm -rf "$OUT"
find "$BASE" -mindepth 1 -maxdepth 1 ! -name kura-pass -exec rm -rf {} +
mkdir -p "$OUT/logs"
RAW=$OUT/raw.tsv
printf 'phase\tcfg\trep\twall_s\tuser_s\tsys_s\tmaxrss_kb\tfs_in_blocks\tsize\tsrc_bytes\tfiles\trepo_bytes\trepo_delta\tsync_s\tverify\tbytes_read\n' >"$RAW"
T_START=$(date +%s)
write_meta "$CONFIGS" "SIZES=$SIZES SEED=$SEED MUTATE=$MUTATE KURA_KDF=$KURA_KDF"

# json_field FILE KEY: the number KEY of the last JSON object line in FILE (kura --json), or -.
json_field() {
  python3 -c 'import json,sys
v = "-"
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        v = json.loads(line).get(sys.argv[2], "-")
print(v)' "$1" "$2"
}

for size in $SIZES; do
  rm -rf "$SRC" "$RESTORE" "${BASE:?}/repos" "${BASE:?}/home"
  mkdir -p "${BASE:?}/repos" "${BASE:?}/home"
  log "[$size] generating dataset SEED=$SEED into $SRC"
  python3 "$HERE/mkdata.py" --size "$size" --seed "$SEED" "$SRC" >"$OUT/dataset.$size.txt"
  SRC0=$(src_bytes); NF0=$(src_files)
  log "[$size] source: $SRC0 bytes, $NF0 files"
  warm

  for cfg in $CONFIGS; do
    do_init_repo "$cfg" 1
    r=$(repo "$cfg" 1)
    backup_cmd "$cfg" 1 day0 --json
    warm
    measure "init.$size.$cfg" "${BCMD[@]}"
    br=-; [ "$cfg" = kura ] && br=$(json_field "$OUT/logs/init.$size.$cfg.out" bytes_read)
    after=$(dsize "$r")
    record init "$cfg" 1 "$size" "$SRC0" "$NF0" "$after" "$after" - - "$br"
  done
  case " $CONFIGS " in *" kura "*)
    r=$(repo kura 1)
    measure "open.$size.kura" "$KURA" -q -r "$r" snapshots
    record open kura 1 "$size" "$SRC0" "$NF0" "$(dsize "$r")" - - - - ;;
  esac

  log "[$size] mutating $MUTATE% (day 1)"
  python3 "$HERE/mkdata.py" --mutate "$MUTATE" --day 1 --seed "$SEED" "$SRC" >>"$OUT/dataset.$size.txt"
  SRC1=$(src_bytes); NF1=$(src_files)
  log "[$size] source after mutate: $SRC1 bytes, $NF1 files"
  warm

  for cfg in $CONFIGS; do
    r=$(repo "$cfg" 1); before=$(dsize "$r")
    backup_cmd "$cfg" 1 day1 --json
    warm
    measure "incr.$size.$cfg" "${BCMD[@]}"
    br=-; [ "$cfg" = kura ] && br=$(json_field "$OUT/logs/incr.$size.$cfg.out" bytes_read)
    after=$(dsize "$r")
    record incr "$cfg" 1 "$size" "$SRC1" "$NF1" "$after" $((after - before)) - - "$br"
  done

  tree_list "$SRC" >"$BASE/src.list"
  for cfg in $CONFIGS; do
    r=$(repo "$cfg" 1)
    rm -rf "$RESTORE"; mkdir -p "$RESTORE"; sync
    warm_repo "$r"
    restore_cmd "$cfg" 1 "$RESTORE" day1
    measure "restore.$size.$cfg" "${RCMD[@]}"
    syncs=$(timed_sync)
    verify=$(verify_tree "$SRC" "$RESTORE$SRC" "$size.$cfg" "$BASE/src.list")
    record restore "$cfg" 1 "$size" "$SRC1" "$NF1" "$(dsize "$r")" - "$syncs" "$verify" -
    rm -rf "$RESTORE"
  done

  for cfg in $CONFIGS; do
    r=$(repo "$cfg" 1)
    warm_repo "$r"
    check_cmd "$cfg" 1
    measure "check.$size.$cfg" "${CCMD[@]}"
    record check "$cfg" 1 "$size" "$SRC1" "$NF1" "$(dsize "$r")" - - - -
  done
done
rm -rf "$SRC" "$RESTORE" "${BASE:?}/repos" "${BASE:?}/home" "$BASE/src.list"

log "scale done"
python3 "$HERE/scalesum.py" "$OUT" | tee "$OUT/summary.md"
log "total wall $(( $(date +%s) - T_START )) s"
if [ "$CLEAN" = 1 ]; then rm -rf "$BASE"; fi

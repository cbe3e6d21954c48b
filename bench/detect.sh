#!/usr/bin/env bash
# detect.sh -- how well `kura backup` detects ransomware, and what it costs (docs/DETECTION.md).
# Not part of `make check`: it takes minutes.
#
#   SIZE=64M bench/detect.sh          # results in bench/results-detect-$SIZE/summary.md
#
# Knobs: SIZE [64M] dataset size (bench/mkdata.py); SEED [42]; DAYS [10] normal days;
#        REPS [3] repetitions of the CPU measurement; KURA [build/kura];
#        BASE [/tmp/bench-detect] scratch (wiped); OUT [bench/results-detect-$SIZE].
#
# Method:
#   1. mkdata.py generates the tree; a first backup (no history: "partial"), then DAYS days of
#      `mkdata.py --mutate 5 --day N`, each backed up: every "suspect" there is a false alarm.
#   2. From that clean point (tree, repository and cache copied back each time), each scenario of
#      bench/detect_scenarios.py, then one backup: benign ones (dense, archive, migrate) must stay
#      clean; attacks (mkdata --ransomware, half-way, partial, in-place, notes only) must be flagged
#      in that first backup.  "encrypted" is how many files the attack had encrypted when the
#      backup ran, i.e. before the flag.
#   3. Slow attack: from the clean point, each day a normal --mutate 5 day plus 2 % of the files
#      encrypted in place, backed up; the day of the first flag and the files encrypted by then.
#   4. CPU: a first backup of the whole tree into a fresh repository, with and without detection
#      (--no-detect), REPS times each; user+sys seconds (min), and the overhead.  On 1 GiB,
#      initial and incremental, medians: bench/detect_cpu.sh.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SIZE=${SIZE:-64M}
SEED=${SEED:-42}
DAYS=${DAYS:-10}
REPS=${REPS:-3}
KURA=${KURA:-$HERE/../build/kura}
BASE=${BASE:-/tmp/bench-detect}
OUT=${OUT:-$HERE/results-detect-$SIZE}
case $BASE in /tmp/bench-*) ;; *) echo "BASE must be under /tmp/bench-*" >&2; exit 2 ;; esac
[ -x "$KURA" ] || { echo "build kura first (make)" >&2; exit 2; }

rm -rf "$BASE" && mkdir -p "$BASE" "$OUT"
export KURA_REPOSITORY=$BASE/repo KURA_CACHE_DIR=$BASE/cache KURA_PASSWORD_FILE=$BASE/pw
echo "correct horse battery staple detection bench" >"$BASE/pw"
SRC=$BASE/src
RAW=$OUT/raw.tsv
printf 'phase\tscenario\tday\tverdict\tscore\tencrypted\tsignals\n' >"$RAW"

# backup_judge PHASE SCENARIO DAY ENCRYPTED: back up $SRC, append a row, echo the verdict
backup_judge() {
	local rc=0
	"$KURA" --json backup --exclude .slow-attack-done "$SRC" >"$BASE/out.json" 2>"$BASE/err" || rc=$?
	[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || { cat "$BASE/err" >&2; echo "backup failed: $rc" >&2; exit 1; }
	python3 - "$1" "$2" "$3" "$4" "$rc" "$BASE/out.json" >>"$RAW" <<'PY'
import json, sys
d = json.loads(open(sys.argv[6]).read().strip().split("\n")[-1])["detection"]
sig = ",".join("%s:%d" % (s["signal"], s["files"]) for s in d["signals"]) or "-"
assert (d["verdict"] == "suspect") == (sys.argv[5] == "5"), "exit status disagrees with verdict"
print("\t".join(sys.argv[1:4] + [d["verdict"], str(d["score"]), sys.argv[4], sig]))
PY
	tail -n1 "$RAW" | cut -f4
}

nfiles() { find "$SRC" -type f ! -name .slow-attack-done ! -name README_RESTORE.txt | wc -l; }

echo "# generating $SIZE"
python3 "$HERE/mkdata.py" --size "$SIZE" --seed "$SEED" "$BASE/clean" >/dev/null
cp -a "$BASE/clean" "$SRC"
"$KURA" init --kdf interactive >/dev/null
backup_judge first - 0 0 >/dev/null
for d in $(seq 1 "$DAYS"); do
	python3 "$HERE/mkdata.py" --mutate 5 --day "$d" --seed "$SEED" "$SRC" >/dev/null
	echo "# normal day $d: $(backup_judge normal mutate-5 "$d" 0)"
done
cp -a "$SRC" "$BASE/point-src"; cp -a "$KURA_REPOSITORY" "$BASE/point-repo"
cp -a "$KURA_CACHE_DIR" "$BASE/point-cache"
back_to_point() {
	rm -rf "$SRC" "$KURA_REPOSITORY" "$KURA_CACHE_DIR"
	cp -a "$BASE/point-src" "$SRC"; cp -a "$BASE/point-repo" "$KURA_REPOSITORY"
	cp -a "$BASE/point-cache" "$KURA_CACHE_DIR"
}

for s in dense archive migrate; do
	back_to_point
	python3 "$HERE/detect_scenarios.py" "$s" --seed "$SEED" "$SRC"
	echo "# benign $s: $(backup_judge benign "$s" 1 0)"
done
for s in ransomware half partial inplace notes; do
	back_to_point
	n=$(nfiles)
	case $s in
	ransomware) python3 "$HERE/mkdata.py" --ransomware --seed "$SEED" "$SRC" >/dev/null ;;
	half) python3 "$HERE/detect_scenarios.py" half --seed "$SEED" "$SRC"; n=$((n / 2)) ;;
	notes) python3 "$HERE/detect_scenarios.py" notes --seed "$SEED" "$SRC"; n=0 ;;
	*) python3 "$HERE/detect_scenarios.py" "$s" --seed "$SEED" "$SRC" ;;
	esac
	echo "# attack $s: $(backup_judge attack "$s" 1 "$n")"
done
back_to_point
for d in 1 2 3 4 5; do
	python3 "$HERE/mkdata.py" --mutate 5 --day $((DAYS + d)) --seed "$SEED" "$SRC" >/dev/null
	n=$(python3 "$HERE/detect_scenarios.py" slow --pct 2 --day "$d" --seed "$SEED" "$SRC")
	v=$(backup_judge slow slow-2pct "$d" "$n")
	echo "# slow day $d ($n files encrypted): $v"
	[ "$v" = suspect ] && break
done

echo "# CPU: first backup with and without detection, $REPS times"
cpu() { # prints user+sys seconds of one first backup into a fresh repository
	rm -rf "$BASE/cpu-repo" "$BASE/cpu-cache"
	KURA_REPOSITORY=$BASE/cpu-repo "$KURA" init --kdf interactive >/dev/null
	/usr/bin/time -f '%U %S' -o "$BASE/time" env KURA_REPOSITORY="$BASE/cpu-repo" \
		KURA_CACHE_DIR="$BASE/cpu-cache" "$KURA" -q backup "$@" "$BASE/clean" >/dev/null 2>&1 || true
	awk '{ print $1 + $2 }' "$BASE/time"
}
on=() off=()
for r in $(seq 1 "$REPS"); do
	off+=("$(cpu --no-detect)")
	on+=("$(cpu)")
done
printf 'cpu\tno-detect\t-\t%s\t-\t-\t-\n' "${off[*]}" >>"$RAW"
printf 'cpu\tdetect\t-\t%s\t-\t-\t-\n' "${on[*]}" >>"$RAW"

python3 - "$RAW" "$SIZE" "$DAYS" >"$OUT/summary.md" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
size, days = sys.argv[2], int(sys.argv[3])
print("Detection benchmark, %s of bench/mkdata.py data\n" % size)
print("| phase | scenario | day | verdict | score | files encrypted at the backup | signals (files) |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    if r[0] != "cpu":
        print("| " + " | ".join(r) + " |")
normal = [r for r in rows if r[0] == "normal"]
fa = sum(r[3] == "suspect" for r in normal)
benign = [r for r in rows if r[0] == "benign"]
fb = sum(r[3] == "suspect" for r in benign)
att = [r for r in rows if r[0] == "attack"]
caught = sum(r[3] == "suspect" for r in att)
slow = [r for r in rows if r[0] == "slow"]
cpu = {r[1]: [float(x) for x in r[3].split()] for r in rows if r[0] == "cpu"}
on, off = min(cpu["detect"]), min(cpu["no-detect"])
print("\nFalse alarms: %d of %d normal days, %d of %d benign days." % (fa, len(normal), fb, len(benign)))
print("Attacks flagged in the first backup that contains them: %d of %d." % (caught, len(att)))
if slow:
    last = slow[-1]
    print("Slow attack (2 %% of files a day): %s on day %s, %s files encrypted by then." % (
        "flagged" if last[3] == "suspect" else "NOT flagged", last[2], last[5]))
print("\nCPU of a first backup (user+sys, min of %d): %.2f s without detection, %.2f s with: %+.1f %%." % (
    len(cpu["detect"]), off, on, 100.0 * (on - off) / off))
PY
cat "$OUT/summary.md"
rm -rf "$BASE"

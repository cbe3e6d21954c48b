#!/usr/bin/env bash
# detect_cpu.sh -- what ransomware detection adds to `kura backup`'s CPU time (docs/DETECTION.md;
# goal: at most 10 %).  Not part of `make check`: it takes minutes.
#
#   SIZE=1G bench/detect_cpu.sh        # a table on stdout, raw figures in $OUT/detect-cpu.tsv
#
# Knobs: SIZE [1G] dataset size (bench/mkdata.py); SEED [42]; REPS [3]; KURA [build/kura];
#        BASE [/tmp/bench-detect-cpu] scratch (wiped); TREE [generated in BASE]: an existing
#        `mkdata.py --size SIZE --seed SEED` tree to copy instead of generating one (it is not
#        modified); OUT [bench/results-detect-cpu-$SIZE].
#
# Method: user+sys seconds (GNU time) of one `kura -q backup` process, with detection and with
# --no-detect, alternated, REPS times each; the median.
#   initial      the whole tree into a fresh repository and cache.
#   incremental  after `mkdata.py --mutate 5 --day 1` (a normal day), from a copy of the
#                repository and cache of one initial backup with detection (the same for both
#                modes: detection's per-file history is in that cache), the source untouched
#                in between so the file cache matches.
# CPU time, not wall time: the machine is shared, and CPU time moves much less with the load.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SIZE=${SIZE:-1G}
SEED=${SEED:-42}
REPS=${REPS:-3}
KURA=${KURA:-$HERE/../build/kura}
BASE=${BASE:-/tmp/bench-detect-cpu}
OUT=${OUT:-$HERE/results-detect-cpu-$SIZE}
case $BASE in /tmp/bench-*) ;; *) echo "BASE must be under /tmp/bench-*" >&2; exit 2 ;; esac
[ -x "$KURA" ] || { echo "build kura first (make)" >&2; exit 2; }

rm -rf "$BASE" && mkdir -p "$BASE" "$OUT"
export KURA_PASSWORD_FILE=$BASE/pw
echo "correct horse battery staple detection cpu bench" >"$BASE/pw"
SRC=$BASE/src
RAW=$OUT/detect-cpu.tsv
printf 'phase\tmode\trep\tuser_s\tsys_s\tcpu_s\n' >"$RAW"

if [ -n "${TREE:-}" ]; then
	cp -a "$TREE" "$SRC"
else
	echo "# generating $SIZE" >&2
	python3 "$HERE/mkdata.py" --size "$SIZE" --seed "$SEED" "$SRC" >/dev/null
fi

# run PHASE MODE REP REPO CACHE [ARG...]: one backup of $SRC, a row in $RAW
run() {
	local phase=$1 mode=$2 rep=$3 repo=$4 cache=$5 rc=0
	shift 5
	/usr/bin/time -f '%U %S' -o "$BASE/time" env KURA_REPOSITORY="$repo" KURA_CACHE_DIR="$cache" \
		"$KURA" -q backup "$@" "$SRC" >/dev/null 2>"$BASE/err" || rc=$?
	# 5: suspect; the bench's normal data must not be, but the figure is still a backup's cost
	[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || { cat "$BASE/err" >&2; echo "backup failed: $rc" >&2; exit 1; }
	awk -v p="$phase" -v m="$mode" -v r="$rep" '{ printf "%s\t%s\t%s\t%.2f\t%.2f\t%.2f\n", p, m, r, $1, $2, $1 + $2 }' \
		"$BASE/time" | tee -a "$RAW" >&2
}

fresh() { # DIR: an empty repository there
	rm -rf "$1" "$1.cache"
	KURA_REPOSITORY=$1 "$KURA" init --kdf interactive >/dev/null
}

for r in $(seq 1 "$REPS"); do
	fresh "$BASE/repo"
	run initial no-detect "$r" "$BASE/repo" "$BASE/repo.cache" --no-detect
	fresh "$BASE/repo"
	run initial detect "$r" "$BASE/repo" "$BASE/repo.cache"
done
# the last initial backup (with detection) is the incremental's starting point
mv "$BASE/repo" "$BASE/point" && mv "$BASE/repo.cache" "$BASE/point.cache"
python3 "$HERE/mkdata.py" --mutate 5 --day 1 --seed "$SEED" "$SRC" >/dev/null
for r in $(seq 1 "$REPS"); do
	for mode in no-detect detect; do
		rm -rf "$BASE/repo" "$BASE/repo.cache"
		cp -a "$BASE/point" "$BASE/repo" && cp -a "$BASE/point.cache" "$BASE/repo.cache"
		args=()
		[ "$mode" = no-detect ] && args=(--no-detect)
		run incremental "$mode" "$r" "$BASE/repo" "$BASE/repo.cache" "${args[@]}"
	done
done

python3 - "$RAW" "$SIZE" <<'PY' | tee "$OUT/summary.md"
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
print("Detection's CPU cost, %s of bench/mkdata.py data (user+sys s, median of %d)\n"
      % (sys.argv[2], len([r for r in rows if r[0] == "initial" and r[1] == "detect"])))
print("| backup | --no-detect | detect | overhead | runs (no-detect / detect) |")
print("|---|---|---|---|---|")
for phase in ("initial", "incremental"):
    runs = {m: [float(r[5]) for r in rows if r[0] == phase and r[1] == m] for m in ("no-detect", "detect")}
    off, on = statistics.median(runs["no-detect"]), statistics.median(runs["detect"])
    print("| %s | %.2f s | %.2f s | %+.1f %% | %s / %s |" % (
        phase, off, on, 100.0 * (on - off) / off,
        " ".join("%.2f" % x for x in runs["no-detect"]), " ".join("%.2f" % x for x in runs["detect"])))
PY
rm -rf "$BASE"

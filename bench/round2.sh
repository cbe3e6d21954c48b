#!/usr/bin/env bash
# round2.sh -- the performance round two report (issue 16) in one run: the peers comparison at
# 1 GiB and 2 GiB (run-peers.sh), the PostgreSQL incremental comparison (postgres.sh), and the
# index's memory per chunk at 10 M chunks (index_cost), then one summary (round2sum.py) as
# markdown on stdout and $OUT/summary.md, and as $OUT/summary.json.
#
#   make && bench/round2.sh          # root (run-peers.sh restores as root); about an hour on 2 cores
#
# Environment knobs (defaults in brackets):
#   SIZES [1G 2G]      peers comparison sizes (run-peers.sh SIZE)
#   REPS [1]           run-peers.sh repetitions per size
#   CONFIGS            ["kura restic borg-lz4 borg-zstd3"], for both comparisons
#   SCALE, N, ROUNDS   postgres.sh's knobs [64, 10000, 3]
#   CHUNKS [10000000]  index_cost entries
#   OUT [<script dir>/results-round2]   one folder per part inside, and the summary
#   BUILD [build]      where `make index-cost` puts index_cost
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
SIZES=${SIZES:-"1G 2G"}
REPS=${REPS:-1}
CONFIGS=${CONFIGS:-"kura restic borg-lz4 borg-zstd3"}
CHUNKS=${CHUNKS:-10000000}
OUT=${OUT:-$HERE/results-round2}
BUILD=${BUILD:-build}
export CONFIGS

rm -rf "$OUT"
mkdir -p "$OUT"
T0=$(date +%s)
say() { echo "[$(date +%T) +$(( $(date +%s) - T0 ))s] round2: $*" | tee -a "$OUT/progress.log"; }

# The index first: it is the shortest and needs ~0.5 GiB that the others then get back.
say "index_cost $CHUNKS"
make -C "$ROOT" -j2 BUILD="$BUILD" index-cost >"$OUT/index_cost.build.log" 2>&1
"$ROOT/$BUILD/bench/index_cost" "$CHUNKS" | tee "$OUT/index_cost.txt"

for size in $SIZES; do
  say "peers $size"
  SIZE=$size REPS=$REPS LIMITS=0 RANSOM=0 OUT="$OUT/peers-$size" BASE=/tmp/bench-round2-peers \
    "$HERE/run-peers.sh" >"$OUT/peers-$size.log" 2>&1 || { tail -30 "$OUT/peers-$size.log"; exit 1; }
done

say "postgres"
OUT="$OUT/pg" BASE=/tmp/bench-round2-pg "$HERE/postgres.sh" >"$OUT/pg.log" 2>&1 ||
  { tail -30 "$OUT/pg.log"; exit 1; }

say "done in $(( $(date +%s) - T0 )) s"
# shellcheck disable=SC2086 # one argument per size
python3 "$HERE/round2sum.py" "$OUT" $SIZES | tee "$OUT/summary.md"

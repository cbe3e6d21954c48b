#!/usr/bin/env bash
# postgres.sh -- kura, restic and borg on a real PostgreSQL workload: incremental backups of a
# cluster's data directory (cluster stopped) and of its pg_dump output after N pgbench transactions.
#
#   bench/postgres.sh                        # SCALE=64: ~1 GiB of tables, 1.87 GB of data directory with its WAL
#   SCALE=4 N=2000 ROUNDS=2 bench/postgres.sh   # a quick look (~70 MB)
#
# Environment knobs (defaults in brackets):
#   SCALE [64]         pgbench -i -s SCALE (one unit is 100,000 accounts, ~16 MB of tables and indexes)
#   N [10000]          pgbench -t N between two backups: TPC-B-like transactions per client, 2 clients
#                      (-c 2 -j 2), so 2N in all; each updates one random row of pgbench_accounts
#   ROUNDS [3]         incremental rounds after the initial backup
#   CONFIGS            ["kura restic borg-lz4 borg-zstd3"]
#   KURA               [<script dir>/../build/kura]  the kura binary (make first)
#   PGBIN              [newest /usr/lib/postgresql/*/bin]
#   BASE [/tmp/bench-pg]   scratch dir (must match /tmp/bench-*; wiped at start and, if CLEAN=1, at end)
#   OUT  [<script dir>/results-pg]  logs, raw.tsv, summary.md, summary.json
#   CLEAN [1]          remove $BASE at the end
#   PIECES [0]         1: also model each data-directory incremental cut into aligned pieces of 8 KiB to
#                      1 MiB, each compressed alone (pgpieces.py; $OUT/pieces.ROUND.tsv, by area)
#   REF [0]            1: also model a format whose blobs may be stored as a difference against the
#                      blob they replace: each changed block compressed with its old version as a zstd
#                      prefix (pgref.py against a copy of the last round's data directory;
#                      $OUT/ref.ROUND.tsv, by area; costs a copy of the data directory per round)
#
# Method:
#   1. a throwaway cluster in $BASE/pg (initdb; Unix socket only, no TCP; fsync=off: the cluster is
#      stopped cleanly before every backup, so what is on disk is complete), pgbench -i -s SCALE.
#   2. round 0: stop the cluster; each tool backs up the data directory into its own repository
#      (phase "pgdata"); start it; pg_dump (plain SQL) into $BASE/dump/bench.sql; each tool backs up
#      that directory into a second repository of its own (phase "pgdump").
#   3. rounds 1..ROUNDS: pgbench -t N, then the same two backups, each an incremental.
# The floor beside them (data directory only: a dump's text shifts, so every block of it differs):
# the 8 KiB blocks of the data directory that changed since the previous round (or
# all, at round 0), and what they weigh through zstd -3 (pgdelta.py; $OUT/changed.tsv): an
# incremental cannot store much less than that.
# Bytes added = growth of the repository directory, `du -sb` (apparent size: the sum of the file
# sizes, the same for every tool, as run-peers.sh measures); restic's and borg's caches are kept
# outside the repositories and not counted. kura backs up with its backup key and its ransomware
# detection on. Timing: bench/lib.sh's `measure` (time -v after a sync; the source read once with
# tar first, so every tool starts from a warm page cache).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SCALE=${SCALE:-64}
N=${N:-10000}
ROUNDS=${ROUNDS:-3}
CONFIGS=${CONFIGS:-"kura restic borg-lz4 borg-zstd3"}
KURA=${KURA:-$HERE/../build/kura}
PGBIN=${PGBIN:-$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n1)}
BASE=${BASE:-/tmp/bench-pg}
OUT=${OUT:-$HERE/results-pg}
CLEAN=${CLEAN:-1}
PIECES=${PIECES:-0}
REF=${REF:-0}

# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
need "$KURA" restic borg /usr/bin/time python3 bc setpriv zstd
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pgbench" ]; then
  echo "missing PostgreSQL server (initdb, pgbench) in /usr/lib/postgresql/*/bin: scripts/deps.sh" >&2; exit 2
fi
bench_prepare

PG=$BASE/pg
PGDATA=$PG/data
DUMPDIR=$BASE/dump
if [ -f "$PGDATA/postmaster.pid" ]; then "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true; fi
rm -rf "$OUT"
find "$BASE" -mindepth 1 -maxdepth 1 ! -name kura-pass -exec rm -rf {} +
mkdir -p "$BASE/repos" "$BASE/home" "$OUT/logs" "$PG/sock" "$DUMPDIR"
RAW=$OUT/raw.tsv
printf 'phase\tcfg\trep\twall_s\tuser_s\tsys_s\tmaxrss_kb\tfs_in_blocks\tround\tsrc_bytes\trepo_bytes\trepo_delta\n' >"$RAW"
printf 'phase\tround\tchanged_bytes\tchanged_zstd3_bytes\tfiles_changed\twal_changed_bytes\n' >"$OUT/changed.tsv"
T_START=$(date +%s)
SRC=$PGDATA   # for write_meta; set again before every backup
write_meta "$CONFIGS" "SCALE=$SCALE N=$N ROUNDS=$ROUNDS postgres: $("$PGBIN/postgres" --version)"

# The server refuses to run as root: as root, run it (and initdb, pgbench, pg_dump) as postgres or
# nobody, the way tests/e2e/drill_postgres.sh does.
AS=()
if [ "$(id -u)" -eq 0 ]; then
  pguser=postgres
  id "$pguser" >/dev/null 2>&1 || pguser=nobody
  AS=(setpriv --reuid="$pguser" --regid="$(id -g "$pguser")" --clear-groups --)
  chmod 711 "$BASE"
  chown -R "$pguser:" "$PG" "$DUMPDIR"
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PGHOST=$PG/sock PGPORT=$PORT PGUSER=bench PGDATABASE=bench

pg_start() {
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PG/server.log" -w -t 120 \
    -o "-c listen_addresses='' -k $PG/sock -p $PORT -c fsync=off" start >/dev/null ||
    { tail -n 20 "$PG/server.log" >&2; exit 1; }
}
pg_stop() { "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 300 stop >/dev/null; }
pg_kill() { if [ -f "$PGDATA/postmaster.pid" ]; then "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true; fi; }
trap pg_kill EXIT

log "initdb and pgbench -i -s $SCALE"
"${AS[@]}" "$PGBIN/initdb" -D "$PGDATA" -U bench -A trust --no-sync -E UTF8 >"$OUT/logs/initdb.out" 2>&1
pg_start
"${AS[@]}" "$PGBIN/createdb" bench
"${AS[@]}" "$PGBIN/pgbench" -i -q -s "$SCALE" >"$OUT/logs/pgbench-init.out" 2>&1
log "data directory: $(dsize "$PGDATA") bytes"

# backup_round ROUND KIND (SRC is read by lib.sh's warm, src_bytes and backup_cmd): each configuration backs up KIND (pgdata: the stopped cluster's data
# directory, pgdump: the pg_dump output) into its own repository for that kind.
backup_round() {
  local round=$1 kind=$2 cfg r before after
  # shellcheck disable=SC2034
  case $kind in pgdata) SRC=$PGDATA ;; pgdump) SRC=$DUMPDIR ;; esac
  local src_b; src_b=$(src_bytes)
  if [ "$kind" = pgdata ]; then
    printf '%s\t%s\t%s\n' "$kind" "$round" "$(python3 "$HERE/pgdelta.py" "$SRC" "$BASE/blocks.$kind" pg_wal/ | tr ' ' '\t')" \
      >>"$OUT/changed.tsv"
    if [ "$PIECES" = 1 ]; then python3 "$HERE/pgpieces.py" "$SRC" "$BASE/pieces.$kind" >"$OUT/pieces.$round.tsv"; fi
    if [ "$REF" = 1 ]; then
      [ "$round" = 0 ] || python3 "$HERE/pgref.py" "$BASE/ref.last" "$SRC" >"$OUT/ref.$round.tsv"
      rm -rf "$BASE/ref.last" && cp -a "$SRC" "$BASE/ref.last"
    fi
  fi
  for cfg in $CONFIGS; do
    [ "$round" = 0 ] && do_init_repo "$cfg" "$kind"
    r=$(repo "$cfg" "$kind"); before=$(dsize "$r")
    backup_cmd "$cfg" "$kind" "round$round"
    warm
    measure "$kind.$round.$cfg" "${BCMD[@]}"
    after=$(dsize "$r")
    record "$kind" "$cfg" 1 "$round" "$src_b" "$after" $((after - before))
  done
}

for round in $(seq 0 "$ROUNDS"); do
  if [ "$round" -gt 0 ]; then
    log "round $round: pgbench -t $N"
    "${AS[@]}" "$PGBIN/pgbench" -n -c 2 -j 2 -t "$N" >"$OUT/logs/pgbench.$round.out" 2>&1
    grep -E '^(number of transactions actually processed|tps)' "$OUT/logs/pgbench.$round.out" | tee -a "$OUT/progress.log"
  fi
  pg_stop
  backup_round "$round" pgdata
  pg_start
  "${AS[@]}" "$PGBIN/pg_dump" -f "$DUMPDIR/bench.sql" bench
  backup_round "$round" pgdump
done
pg_stop

log "postgres done"
python3 "$HERE/pgsum.py" "$OUT" | tee "$OUT/summary.md"
log "total wall $(( $(date +%s) - T_START )) s"
if [ "$CLEAN" = 1 ]; then rm -rf "$BASE"; fi

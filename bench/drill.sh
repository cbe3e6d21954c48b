#!/usr/bin/env bash
# drill.sh -- what proving a backup costs, on a mkdata.py dataset backed up
# once: a plain `kura restore` of the snapshot beside `kura drill --full`
# (the same restore, then every byte re-hashed and the metadata compared,
# the record written) and `kura drill --sample 10` with the RTO it
# projects; then `kura copy` local -> local and vault -> vault (a reader
# credential on the first vault, a writer on the second, over loopback).
# Prints a markdown table: seconds, MB/s of the snapshot's bytes, and the
# drill's own RTO figure.
#
#   SIZE [256M]  dataset size for mkdata.py
#   BASE [/tmp/bench-drill]  scratch directory (removed first)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
KURA=${KURA:-$ROOT/build/kura}
KURAD=${KURAD:-$ROOT/build/kurad}
SIZE=${SIZE:-256M} BASE=${BASE:-/tmp/bench-drill}
case "$BASE" in /tmp/bench-*) ;; *) echo "BASE must be /tmp/bench-*" >&2; exit 2 ;; esac

for v in v1 v2; do [ -d "$BASE/$v" ] && chattr -R -i "$BASE/$v" 2>/dev/null; done || true
rm -rf "$BASE" && mkdir -p "$BASE"
python3 "$HERE/mkdata.py" --size "$SIZE" --seed 42 "$BASE/src" >/dev/null
echo "bench passphrase kura not secret quokka" >"$BASE/pass"
export KURA_PASSWORD_FILE=$BASE/pass KURA_CACHE_DIR=$BASE/cache KURA_REPOSITORY=$BASE/repo
"$KURA" init --kdf interactive >/dev/null
"$KURA" backup --no-detect "$BASE/src" >/dev/null
snap_bytes=$(du -sb --apparent-size "$BASE/src" | cut -f1)
repo_bytes=$(du -sb "$BASE/repo" | cut -f1)

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  chattr -R -i "$BASE/v1" "$BASE/v2" 2>/dev/null || true
}
trap cleanup EXIT
vault() { # NAME: init and serve a vault; its address in $ADDR
  local dir=$BASE/$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$KURAD" init "$dir" --listen "127.0.0.1:$port" >/dev/null
  "$KURAD" client add "$dir" w --role writer --repo r --output "$BASE/$1-w.cred" >/dev/null
  "$KURAD" client add "$dir" r --role reader --repo r --output "$BASE/$1-r.cred" >/dev/null
  "$KURAD" serve "$dir" >"$BASE/$1.out" 2>"$BASE/$1.err" </dev/null &
  pids+=($!)
  ADDR=127.0.0.1:$port
}
vault v1
V1=$ADDR
vault v2
V2=$ADDR
sleep 1

# timed NAME BYTES CMD...: "| NAME | SECONDS | MB/s |", the command's stdout in $BASE/out
timed() {
  local name=$1 bytes=$2 t0 s
  shift 2
  sync
  t0=$(date +%s.%N)
  "$@" >"$BASE/out" 2>>"$BASE/stderr"
  sync
  s=$(echo "$(date +%s.%N) - $t0" | bc)
  printf '| %s | %.2f s | %.1f MB/s |' "$name" "$s" "$(echo "$bytes / $s / 1000000" | bc -l)"
}
rto() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.2f s (restore %.2f s, %.1f MB/s)" % (d["rto_seconds"], d["restore_seconds"], d["bytes_per_second"]/1e6))' "$BASE/out"; }

echo "snapshot: $snap_bytes bytes of files; repository: $repo_bytes bytes"
echo "| phase | time | throughput | projected RTO |"
echo "|---|---|---|---|"
timed "restore (plain)" "$snap_bytes" "$KURA" restore latest --target "$BASE/restored"; echo " |"
rm -rf "$BASE/restored"
timed "drill --full" "$snap_bytes" "$KURA" --json drill --full --scratch "$BASE/scratch"; echo " $(rto) |"
timed "drill --sample 10" "$snap_bytes" "$KURA" --json drill --sample 10 --scratch "$BASE/scratch"; echo " $(rto) |"
timed "copy local -> local" "$repo_bytes" "$KURA" copy --to "$BASE/mirror"; echo " |"
timed "copy local -> vault 1 (setup)" "$repo_bytes" "$KURA" copy --to "vault://$V1/r" \
  --to-credentials "$BASE/v1-w.cred"; echo " |"
timed "copy vault 1 (reader) -> vault 2 (writer)" "$repo_bytes" env KURA_VAULT_CREDENTIALS="$BASE/v1-r.cred" \
  "$KURA" --repo "vault://$V1/r" copy --to "vault://$V2/r" --to-credentials "$BASE/v2-w.cred"; echo " |"
cmp <(cd "$BASE/repo/data" && find . -type f | sort) <(cd "$BASE/v2/repos/r/data" && find . -type f | sort) ||
  { echo "packs differ" >&2; exit 1; }

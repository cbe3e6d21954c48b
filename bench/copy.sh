#!/usr/bin/env bash
# copy.sh -- `kura copy` throughput on a mkdata.py dataset backed up once:
# local -> new local mirror (full copy, then a rerun that copies nothing
# and only re-verifies), beside `cp -a` of the same repository directory
# with a sync (the floor: same bytes, no hashing); then local -> vault with
# a writer credential and vault -> local with a reader credential, over
# loopback.  Prints seconds and MB/s per phase.
#
#   SIZE [512M]  dataset size for mkdata.py
#   BASE [/tmp/bench-copy]  scratch directory (removed first)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
KURA=${KURA:-$ROOT/build/kura}
KURAD=${KURAD:-$ROOT/build/kurad}
SIZE=${SIZE:-512M} BASE=${BASE:-/tmp/bench-copy}
case "$BASE" in /tmp/bench-*) ;; *) echo "BASE must be /tmp/bench-*" >&2; exit 2 ;; esac

if [ -d "$BASE/vault" ]; then chattr -R -i "$BASE/vault" 2>/dev/null || true; fi
rm -rf "$BASE" && mkdir -p "$BASE"
python3 "$HERE/mkdata.py" --size "$SIZE" --seed 42 "$BASE/src" >/dev/null
echo "bench passphrase kura not secret quokka" >"$BASE/pass"
export KURA_PASSWORD_FILE=$BASE/pass KURA_CACHE_DIR=$BASE/cache KURA_REPOSITORY=$BASE/repo
"$KURA" init --kdf interactive >/dev/null
"$KURA" backup "$BASE/src" >/dev/null
bytes=$(du -sb "$BASE/repo" | cut -f1)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$KURAD" init "$BASE/vault" --listen "127.0.0.1:$port" >/dev/null
"$KURAD" client add "$BASE/vault" w --role writer --repo offsite --output "$BASE/w.cred" >/dev/null
"$KURAD" client add "$BASE/vault" r --role reader --repo offsite --output "$BASE/r.cred" >/dev/null
"$KURAD" serve "$BASE/vault" 2>"$BASE/kurad.err" &
kurad_pid=$!
trap 'kill $kurad_pid 2>/dev/null; wait $kurad_pid 2>/dev/null; chattr -R -i "$BASE/vault" 2>/dev/null || true' EXIT
sleep 1

# timed NAME CMD...: print "NAME SECONDS MB/s" for the repository's size.
timed() {
  local name=$1 t0 s
  shift
  sync
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>>"$BASE/stderr"
  sync
  s=$(echo "$(date +%s.%N) - $t0" | bc)
  printf '| %s | %.2f s | %.1f MB/s |\n' "$name" "$s" "$(echo "$bytes / $s / 1000000" | bc -l)"
}

echo "repository: $bytes bytes"
echo "| phase | time | throughput |"
echo "|---|---|---|"
timed "cp -a (floor)" cp -a "$BASE/repo" "$BASE/cp"
timed "copy local -> local" "$KURA" copy --to "$BASE/mirror"
timed "rerun: nothing to copy, verify" "$KURA" copy --to "$BASE/mirror"
timed "copy local -> vault (writer)" "$KURA" copy --to "vault://127.0.0.1:$port/offsite" \
  --to-credentials "$BASE/w.cred"
timed "copy vault (reader) -> local" env KURA_VAULT_CREDENTIALS="$BASE/r.cred" \
  "$KURA" --repo "vault://127.0.0.1:$port/offsite" copy --to "$BASE/offline"
diff -r "$BASE/repo/data" "$BASE/offline/data" >/dev/null || { echo "packs differ" >&2; exit 1; }

#!/usr/bin/env bash
# vault-vs-local.sh -- kura through a kurad vault on loopback against the same
# work on a local repository, on the same mkdata.py dataset, back to back:
# initial backup (writer credential + backup key), restore + sync (reader
# credential + restore key, verified with diff -r), check --read-data.
# Prints medians and the ratio vault / local for each phase.
#
#   SIZE [1G]   dataset size for mkdata.py
#   REPS [3]    repetitions of each phase (alternating local and vault)
#   BASE [/tmp/bench-vault]  scratch directory (removed first)
#
# Both ends share the machine's cores here, so the vault's TLS and request
# handling compete with the client: on separate hosts the ratio is lower.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/timed.sh
. "$HERE/timed.sh"
KURA=${KURA:-$ROOT/build/kura}
KURAD=${KURAD:-$ROOT/build/kurad}
SIZE=${SIZE:-1G} REPS=${REPS:-3} BASE=${BASE:-/tmp/bench-vault}
case "$BASE" in /tmp/bench-*) ;; *) echo "BASE must be /tmp/bench-*" >&2; exit 2 ;; esac

if [ -d "$BASE/vault" ]; then chattr -R -i "$BASE/vault" 2>/dev/null || true; fi
rm -rf "$BASE" && mkdir -p "$BASE"
python3 "$HERE/mkdata.py" --size "$SIZE" --seed 42 "$BASE/src" >/dev/null
echo "bench passphrase kura not secret quokka" >"$BASE/pass"
export KURA_PASSWORD_FILE=$BASE/pass KURA_CACHE_DIR=$BASE/cache

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$KURAD" init "$BASE/vault" --listen "127.0.0.1:$port" >/dev/null
for rep in $(seq 1 "$REPS"); do # a repository per repetition: each backup is an initial one
  "$KURAD" client add "$BASE/vault" "writer$rep" --role writer --repo "bench$rep" --output "$BASE/writer$rep.cred" >/dev/null
  "$KURAD" client add "$BASE/vault" "reader$rep" --role reader --repo "bench$rep" --output "$BASE/reader$rep.cred" >/dev/null
done
"$KURAD" serve "$BASE/vault" 2>"$BASE/kurad.err" &
kurad_pid=$!
trap 'kill $kurad_pid 2>/dev/null; wait $kurad_pid 2>/dev/null; chattr -R -i "$BASE/vault" 2>/dev/null || true' EXIT
sleep 1

# kura_at WHERE ROLE ARGS...: run kura against repetition $rep's local repository or vault repository.
kura_at() {
  local where=$1 role=$2
  shift 2
  if [ "$where" = local ]; then
    KURA_REPOSITORY=$BASE/local$rep "$KURA" "$@"
  else
    KURA_REPOSITORY=vault://127.0.0.1:$port/bench$rep KURA_VAULT_CREDENTIALS=$BASE/$role$rep.cred "$KURA" "$@"
  fi
}

for rep in $(seq 1 "$REPS"); do
  for where in local vault; do
    kura_at "$where" writer init --kdf interactive >/dev/null
    kura_at "$where" reader key backup-key --output "$BASE/$where$rep.backup-key" >/dev/null
    kura_at "$where" reader key export --output "$BASE/$where$rep.restore-key" >/dev/null
    rm -rf "$BASE/cache"
    KURA_KEY_FILE=$BASE/$where$rep.backup-key timed backup "$where" kura_at "$where" writer backup "$BASE/src"
    rm -rf "$BASE/restored" && sync
    KURA_KEY_FILE=$BASE/$where$rep.restore-key timed restore "$where" kura_at "$where" reader restore latest --target "$BASE/restored"
    diff -r "$BASE/src" "$BASE/restored$BASE/src" >/dev/null || { echo "restore from $where differs" >&2; exit 1; }
    KURA_KEY_FILE=$BASE/$where$rep.restore-key timed check "$where" kura_at "$where" reader check --read-data
  done
done

python3 - "$BASE/times" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    name, where, s = line.split()
    t.setdefault((name, where), []).append(float(s))
print("| phase | local (median) | vault (median) | vault / local |")
print("|---|---|---|---|")
for name in ("backup", "restore", "check"):
    l, v = statistics.median(t[(name, "local")]), statistics.median(t[(name, "vault")])
    print("| %s | %.2f s | %.2f s | %.2f |" % (name, l, v, v / l))
PY

#!/usr/bin/env bash
# vault_s3.sh -- kura through kurad with the vault's repositories on its own
# disk against the same vault setup with its repositories on a Ceph RGW
# (loopback, `kurad init --store s3:...`, Object Lock COMPLIANCE, every file
# confirmed locked), on the same mkdata.py dataset, in the same run, back to
# back: initial backup (writer credential + backup key), then restore + sync
# (reader credential + restore key, verified with diff -r).  Each
# repetition backs up into a new repository of each vault, so every backup is
# an initial one.  Prints medians, MB/s and the ratio s3 / disk (above 1:
# the vault on S3 is slower).
#
#   SIZE [1G]    dataset size for mkdata.py
#   REPS [3]     repetitions (alternating disk and s3)
#   BASE [/tmp/bench-vault-s3]  scratch directory (removed first)
#   RGW_DIR      an RGW already up (its env file is read); default: one is
#                started in $BASE/rgw (bench/rgw.sh, as for bench/s3.sh) and
#                stopped at the end
#
# kurad, kura and RGW share the machine's cores here: on separate hosts both
# vaults are faster and the S3 vault's extra hop costs less.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
KURA=${KURA:-$ROOT/build/kura}
KURAD=${KURAD:-$ROOT/build/kurad}
SIZE=${SIZE:-1G} REPS=${REPS:-3} BASE=${BASE:-/tmp/bench-vault-s3}
case "$BASE" in /tmp/bench-*) ;; *) echo "BASE must be /tmp/bench-*" >&2; exit 2 ;; esac

# shellcheck source=bench/rgw.sh
. "$HERE/rgw.sh"
# shellcheck source=bench/timed.sh
. "$HERE/timed.sh"

if [ -d "$BASE" ]; then chattr -R -i "$BASE" 2>/dev/null || true; fi
rm -rf "$BASE" && mkdir -p "$BASE"
pids=()
cleanup() {
  local p
  for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  chattr -R -i "$BASE" 2>/dev/null || true
  rgw_down
}
trap cleanup EXIT
rgw_up
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_REGION=$S3_REGION
unset AWS_ENDPOINT_URL AWS_SESSION_TOKEN || true

python3 "$HERE/mkdata.py" --size "$SIZE" --seed 42 "$BASE/src" >/dev/null
bytes=$(find "$BASE/src" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f", s}')
echo "bench passphrase kura not secret quokka" >"$BASE/pass"
export KURA_PASSWORD_FILE=$BASE/pass KURA_CACHE_DIR=$BASE/cache

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
declare -A port
for where in disk s3; do
  port[$where]=$(free_port)
  store=()
  [ "$where" = s3 ] && store=(--store "s3:$S3_ENDPOINT/kura-vault-bench-$$/v" --lock-days 1)
  "$KURAD" init "$BASE/vault-$where" --listen "127.0.0.1:${port[$where]}" "${store[@]+"${store[@]}"}" >/dev/null
  for rep in $(seq 1 "$REPS"); do
    "$KURAD" client add "$BASE/vault-$where" "writer$rep" --role writer --repo "bench$rep" --output "$BASE/$where-writer$rep.cred" >/dev/null
    "$KURAD" client add "$BASE/vault-$where" "reader$rep" --role reader --repo "bench$rep" --output "$BASE/$where-reader$rep.cred" >/dev/null
  done
  "$KURAD" serve "$BASE/vault-$where" 2>"$BASE/kurad-$where.err" &
  pids+=($!)
done
sleep 1

# kura_at WHERE ROLE ARGS...: run kura against repetition $rep's repository in vault WHERE.
kura_at() {
  local where=$1 role=$2
  shift 2
  KURA_REPOSITORY=vault://127.0.0.1:${port[$where]}/bench$rep KURA_VAULT_CREDENTIALS=$BASE/$where-$role$rep.cred "$KURA" "$@"
}

for rep in $(seq 1 "$REPS"); do
  for where in disk s3; do
    kura_at "$where" writer init --kdf interactive >/dev/null
    kura_at "$where" reader key backup-key --output "$BASE/$where$rep.backup-key" >/dev/null
    kura_at "$where" reader key export --output "$BASE/$where$rep.restore-key" >/dev/null
    rm -rf "$BASE/cache"
    KURA_KEY_FILE=$BASE/$where$rep.backup-key timed backup "$where" kura_at "$where" writer backup --no-detect "$BASE/src"
    rm -rf "$BASE/restored" && sync
    KURA_KEY_FILE=$BASE/$where$rep.restore-key timed restore "$where" kura_at "$where" reader restore latest --target "$BASE/restored"
    diff -r "$BASE/src" "$BASE/restored$BASE/src" >/dev/null || { echo "restore from the $where vault differs" >&2; exit 1; }
  done
done

python3 - "$BASE/times" "$bytes" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    name, where, s = line.split()
    t.setdefault((name, where), []).append(float(s))
mb = int(sys.argv[2]) / 1e6
print("dataset: %.0f MB; medians of %d runs" % (mb, len(t[("backup", "disk")])))
print("| phase | kurad on disk | kurad on RGW | RGW / disk |")
print("|---|---|---|---|")
for name in ("backup", "restore"):
    d, s = statistics.median(t[(name, "disk")]), statistics.median(t[(name, "s3")])
    print("| %s | %.2f s (%.0f MB/s) | %.2f s (%.0f MB/s) | %.2f |" % (name, d, mb / d, s, mb / s, s / d))
PY

#!/usr/bin/env bash
# vault-under-attack.sh -- issue 10's "Done when" benchmark: restore
# throughput through a kurad vault on loopback while it is attacked,
# against the same restore on a quiet vault, on the same mkdata.py dataset.
#
# The attack, running for the whole of each attacked restore:
#   - idle: four loopback addresses (127.0.0.2-5) each try to hold IDLE
#     plain TCP connections open (never a TLS handshake or a request),
#     reopening every second whatever the vault cut or refused;
#   - junk: the repository's own writer credential (a stolen backup
#     client, with the backup key) backs up fresh random data from
#     /dev/urandom, JUNK bytes a run, one run after the other, as fast as
#     it goes (the vault stores it: see QUOTA).
# Each repetition restores the same snapshot once quiet and once attacked
# (quiet first, then attacked), verified with diff -r, with the reader
# credential and the restore key from 127.0.0.1.  Prints both medians,
# the throughput ratio (quiet time / attacked time; the goal is >= 0.8) and
# what the attack did (connections held, junk stored, 507s).
#
#   SIZE [256M]  dataset size for mkdata.py
#   REPS [3]     repetitions
#   IDLE [300]   connections each attacking address tries to hold
#   JUNK [64M]   bytes of random data per junk backup run
#   QUOTA [none] the repository's daily quota: "none" lets the junk flow at
#                full speed for the whole restore (the harder case for the
#                reader); "default" leaves the quota derived by the vault
#                (the writer is refused with 507 once it is used up)
#   NICE [19]    niceness of the attacker's own processes (the junk
#                writer's kura, the idle holder); 0 to run them at full
#                priority
#   BASE [/tmp/bench-attack]  scratch directory (removed first)
#
# Client, vault and attackers share the machine's cores.  A real attacker
# runs its client on the host it stole, not on the reader's or the vault's
# cores, so its own processes run at NICE: what the vault spends on the
# junk (TLS, hashing, writing, checking every upload) and on the idle
# connections runs at normal priority, as does the reader.  The writer and
# the reader keep separate client caches, as on separate hosts.  On a busy
# shared machine the figure is noisy; compare ratios from the same run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
KURA=${KURA:-$ROOT/build/kura}
KURAD=${KURAD:-$ROOT/build/kurad}
SIZE=${SIZE:-256M} REPS=${REPS:-3} IDLE=${IDLE:-300} JUNK=${JUNK:-64M} QUOTA=${QUOTA:-none}
NICE=${NICE:-19}
BASE=${BASE:-/tmp/bench-attack}
case "$BASE" in /tmp/bench-*) ;; *) echo "BASE must be /tmp/bench-*" >&2; exit 2 ;; esac
case "$QUOTA" in none | default) ;; *) echo "QUOTA must be none or default" >&2; exit 2 ;; esac

if [ -d "$BASE/vault" ]; then chattr -R -i "$BASE/vault" 2>/dev/null || true; fi
rm -rf "$BASE" && mkdir -p "$BASE"
python3 "$HERE/mkdata.py" --size "$SIZE" --seed 42 "$BASE/src" >/dev/null
echo "bench passphrase kura not secret quokka" >"$BASE/pass"
export KURA_PASSWORD_FILE=$BASE/pass KURA_CACHE_DIR=$BASE/cache

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$KURAD" init "$BASE/vault" --listen "127.0.0.1:$port" >/dev/null
"$KURAD" client add "$BASE/vault" writer --role writer --repo bench --output "$BASE/writer.cred" >/dev/null
"$KURAD" client add "$BASE/vault" reader --role reader --repo bench --output "$BASE/reader.cred" >/dev/null
if [ "$QUOTA" = none ]; then
  python3 - "$BASE/vault/policy.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["quota"] = {"repositories": {"bench": {"daily": "none"}}}
json.dump(d, open(sys.argv[1], "w"))
PY
fi
pids=()
cleanup() {
  local p
  for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  chattr -R -i "$BASE/vault" 2>/dev/null || true
}
trap cleanup EXIT
"$KURAD" serve "$BASE/vault" 2>"$BASE/kurad.err" &
pids+=($!)
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

export KURA_REPOSITORY=vault://127.0.0.1:$port/bench
as_writer() {
  KURA_CACHE_DIR=$BASE/writer-cache KURA_VAULT_CREDENTIALS=$BASE/writer.cred KURA_KEY_FILE=$BASE/backup.key \
    nice -n "$NICE" "$KURA" "$@"
}
as_reader() { KURA_VAULT_CREDENTIALS=$BASE/reader.cred KURA_KEY_FILE=$BASE/restore.key "$KURA" "$@"; }
KURA_VAULT_CREDENTIALS=$BASE/writer.cred KURA_CACHE_DIR=$BASE/writer-cache "$KURA" init --kdf interactive >/dev/null
KURA_VAULT_CREDENTIALS=$BASE/reader.cred "$KURA" key backup-key --output "$BASE/backup.key" >/dev/null
KURA_VAULT_CREDENTIALS=$BASE/reader.cred "$KURA" key export --output "$BASE/restore.key" >/dev/null
NICE=0 as_writer --json backup "$BASE/src" >"$BASE/backup.json"
snap=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$BASE/backup.json")

# The idle holder: IDLE plain TCP connections per address, topped up every second.
cat >"$BASE/idle.py" <<'PY'
import socket, sys, time
port, per, stats = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
addrs = ["127.0.0.%d" % i for i in range(2, 6)]
held = {a: [] for a in addrs}
opened = closed = 0
while True:
    for a in addrs:
        alive = []
        for s in held[a]:
            try:
                if s.recv(1, socket.MSG_DONTWAIT) == b"":
                    s.close()
                    closed += 1
                    continue
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                closed += 1
                continue
            alive.append(s)
        while len(alive) < per:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=1, source_address=(a, 0))
            except OSError:
                break
            opened += 1
            alive.append(s)
        held[a] = alive
    with open(stats, "w") as f:
        f.write("%d %d %d\n" % (sum(len(v) for v in held.values()), opened, closed))
    time.sleep(1)
PY

# restore NAME: time one verified restore of $snap into $BASE/restored, appended to $BASE/times.
restore() {
  local t0 t1
  rm -rf "$BASE/restored" && sync
  t0=$(date +%s.%N)
  as_reader restore "$snap" --target "$BASE/restored" >/dev/null
  sync
  t1=$(date +%s.%N)
  diff -r "$BASE/src" "$BASE/restored$BASE/src" >/dev/null || { echo "$1 restore differs" >&2; exit 1; }
  echo "$1 $(echo "$t1 - $t0" | bc)" >>"$BASE/times"
}

# junk_loop: the stolen writer, one junk backup after the other.
junk_loop() {
  local i=0
  while :; do
    i=$((i + 1))
    if head -c "$JUNK" /dev/urandom | as_writer backup --stdin --stdin-filename "junk$i" >/dev/null 2>>"$BASE/junk.err"; then
      echo ok >>"$BASE/junk.runs"
    else
      echo refused >>"$BASE/junk.runs"
      sleep 0.2
    fi
  done
}

for rep in $(seq 1 "$REPS"); do
  restore quiet
  nice -n "$NICE" python3 "$BASE/idle.py" "$port" "$IDLE" "$BASE/idle.stats" &
  idle_pid=$!
  junk_loop &
  junk_pid=$!
  pids+=("$idle_pid" "$junk_pid")
  sleep 3 # let the attack reach its stride
  restore attacked
  read -r held opened closed <"$BASE/idle.stats"
  echo "rep $rep: the holder opened $opened connections ($held right after its last top-up); the vault closed $closed of them (64 per address at most, 10 s without headers)" >>"$BASE/attack.log"
  kill "$junk_pid" "$idle_pid" 2>/dev/null || true
  wait "$junk_pid" "$idle_pid" 2>/dev/null || true
done

stored=$(du -sb "$BASE/vault/repos/bench" | cut -f1)
runs_ok=$(grep -c ok "$BASE/junk.runs" 2>/dev/null || true)
runs_refused=$(grep -c refused "$BASE/junk.runs" 2>/dev/null || true)
cat "$BASE/attack.log"
echo "the vault logged $(grep -c '"method":"CONNECT"' "$BASE/vault/audit/log.jsonl" || true) connections cut for their deadline (one per address and window) and $(grep -c '"method":"REFUSED"' "$BASE/vault/audit/log.jsonl" || true) summaries"
echo "junk runs of $JUNK stored: ${runs_ok:-0}, refused: ${runs_refused:-0}; repository now $((stored >> 20)) MiB (dataset $SIZE); QUOTA=$QUOTA NICE=$NICE"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
python3 - "$BASE/times" "$SIZE" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    name, s = line.split()
    t.setdefault(name, []).append(float(s))
q, a = statistics.median(t["quiet"]), statistics.median(t["attacked"])
print("| restore of %s | quiet (median) | attacked (median) | throughput attacked / quiet |" % sys.argv[2])
print("|---|---|---|---|")
print("| seconds | %.2f (%s) | %.2f (%s) | **%.2f** |" % (
    q, ", ".join("%.2f" % x for x in t["quiet"]), a, ", ".join("%.2f" % x for x in t["attacked"]), q / a))
PY

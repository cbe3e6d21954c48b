#!/usr/bin/env bash
# vault_gate.sh - connections without a token never take the slots kept
# for clients (issue 10, finding 4; server/gate.c).  A vault serving at
# most 16 connections (`kurad serve --connections 16`) lets connections
# without a valid token hold 12; the attacker opens 12 idle ones from
# 127.0.0.2, then one more from 127.0.0.3: the vault cuts the OLDEST idle
# one to make room (it, and only it, sees the end of the stream), and a
# reader with a valid token still lists and restores while the 12 are held.
# Also: --connections outside 8..65536 is a usage error.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
make_tree "$SRC"
init_vault "$WORK/vault"
vault_client ward4-backup writer clinic "$WORK/writer.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"

note "--connections is checked before the vault is opened"
expect_exit 2 "$KURAD" serve "$VAULT_DIR" --connections 7
assert_contains "the usage error gives the range" "8 to 65536" "$ERR"
expect_exit 2 "$KURAD" serve "$VAULT_DIR" --connections-per-address x

start_vault --connections 16
HOST=${VAULT_ADDR%:*} PORT=${VAULT_ADDR##*:}

note "a repository with one snapshot"
vault_repo_init
backup_json "$SRC"
snap=$SNAP_ID
export KURA_VAULT_CREDENTIALS=$WORK/reader.cred KURA_KEY_FILE=$WORK/restore.key

# hold: 12 idle connections from 127.0.0.2, one at a time so their age
# order is known; "ready" once all are accepted (each answered nothing for
# 0.3 s, so the vault has not cut it); then one more from 127.0.0.3; then
# report which of the 13 the vault closed, and wait for "stop".
cat >"$WORK/hold.py" <<'PY'
import socket, sys, time
host, port, ready, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def is_closed(s):
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True

held = []
for i in range(12):
    held.append(socket.create_connection((host, port), timeout=10, source_address=("127.0.0.2", 0)))
    time.sleep(0.05)
time.sleep(0.3)
early = [i for i, s in enumerate(held) if is_closed(s)]
open(ready, "w").write("ready %s\n" % early)
time.sleep(0.5)
held.append(socket.create_connection((host, port), timeout=10, source_address=("127.0.0.3", 0)))
deadline = time.monotonic() + 5
while time.monotonic() < deadline:
    closed = [i for i, s in enumerate(held) if is_closed(s)]
    if closed:
        break
    time.sleep(0.1)
time.sleep(0.3)
closed = [i for i, s in enumerate(held) if is_closed(s)]
print("closed", " ".join(map(str, closed)), flush=True)
for _ in range(100):
    if open(stop).read().strip() == "stop":
        break
    time.sleep(0.1)
PY
: >"$WORK/stop"
python3 "$WORK/hold.py" "$HOST" "$PORT" "$WORK/ready" "$WORK/stop" >"$WORK/hold.out" 2>"$WORK/hold.err" &
hold_pid=$!
at_exit "kill $hold_pid 2>/dev/null"
for _ in $(seq 1 100); do [ -s "$WORK/hold.out" ] && break; sleep 0.1; done
[ -s "$WORK/hold.out" ] || fail "the attacker's connections did not settle: $(cat "$WORK/hold.err" "$WORK/ready" 2>/dev/null)"
grep -q '^ready \[\]$' "$WORK/ready" || fail "the vault cut connections before the limit: $(cat "$WORK/ready")"
note "the attacker holds the slots: $(cat "$WORK/hold.out")"
[ "$(cat "$WORK/hold.out")" = "closed 0" ] ||
	fail "the vault should have cut only the oldest idle connection (0), it closed: $(cat "$WORK/hold.out")"

note "a reader with a valid token still gets in while the attacker holds 12 connections"
expect_exit 0 kura snapshots --json
assert_contains "the reader lists the snapshot" "$snap" "$OUT"
expect_exit 0 kura restore "$snap" --target "$WORK/restored"
same_tree "$SRC" "$WORK/restored$SRC"
echo stop >"$WORK/stop"
wait "$hold_pid" || true
stop_vault
echo "PASS $TEST_NAME"

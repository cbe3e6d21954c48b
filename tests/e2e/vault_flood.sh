#!/usr/bin/env bash
# vault_flood.sh - the vault's front door under a flood (issue 10,
# findings 4 and 5), from loopback addresses 127.0.0.2-9 as the attacker
# and 127.0.0.1 as the reader:
# (a) four addresses hold idle TCP connections up to the per-address cap
#     and a fifth trickles its request headers one byte a second: the
#     reader still lists and restores, the trickle is cut off by the
#     absolute headers deadline (10 s) and the cuts are logged;
# (b) ten bad tokens from the reader's own address lock out tokenless
#     requests from it (429) but never the reader's valid token;
# (c) a few seconds of bad-token requests from one address grow the audit
#     log by a bounded number of bytes, the log counts every one of them,
#     and `kurad log verify` and an auditor's `kura log verify` pass.
. "$(dirname "$0")/lib.sh"

DEADLINE=10 MARGIN=4 IDLE_PER_ADDR=60

SRC=$WORK/data/src
make_tree "$SRC"
init_vault "$WORK/vault"
vault_client ward4-backup writer clinic "$WORK/writer.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"
vault_client soc auditor "" "$WORK/auditor.cred"
start_vault
HOST=${VAULT_ADDR%:*} PORT=${VAULT_ADDR##*:}
R_TOKEN=$(cred_get "$WORK/reader.cred" token)

note "a repository with one snapshot"
vault_repo_init
backup_json "$SRC"
snap=$SNAP_ID
export KURA_VAULT_CREDENTIALS=$WORK/reader.cred KURA_KEY_FILE=$WORK/restore.key

# The attacker's tools.  `hold`: idle connections from several addresses
# and one that trickles its headers after a TLS handshake; writes "ready"
# once all are open, then waits for the trickle to be cut.  `req`: N
# requests from one address with a token, printing each status.
cat >"$WORK/flood.py" <<'PY'
import os, socket, ssl, sys, time
host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

def connect(src):
    s = socket.create_connection((host, port), timeout=30, source_address=(src, 0))
    return s

if mode == "hold":
    addrs, per, ready, limit = sys.argv[4].split(","), int(sys.argv[5]), sys.argv[6], float(sys.argv[7])
    idle = []
    for a in addrs:
        for _ in range(per):
            idle.append(connect(a))
    t0 = time.monotonic()
    slow = ctx.wrap_socket(connect("127.0.0.6"))
    open(ready, "w").write("ready %d\n" % len(idle))
    req = b"GET /v1/status HTTP/1.1\r\nHost: vault\r\nX-Slow: " + b"a" * 200
    cut = None
    for i in range(len(req)):
        try:
            slow.send(req[i:i + 1])
        except OSError:
            cut = time.monotonic() - t0
            break
        slow.settimeout(1.0)
        try:
            if slow.recv(4096) == b"":
                cut = time.monotonic() - t0
                break
        except socket.timeout:
            pass
        except (OSError, ssl.SSLError):
            cut = time.monotonic() - t0
            break
        if time.monotonic() - t0 > limit:
            break
    # how many idle connections the vault has closed by now
    closed = 0
    for s in idle:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    print("idle=%d idle_closed=%d trickle_cut=%s" % (len(idle), closed,
          "%.1f" % cut if cut is not None else "never"), flush=True)
    sys.exit(0 if cut is not None else 1)

if mode == "req":
    src, token, n = sys.argv[4], sys.argv[5], int(sys.argv[6])
    seconds = float(sys.argv[7]) if len(sys.argv) > 7 else 0
    t0, count, conn = time.monotonic(), 0, None
    while count < n or time.monotonic() - t0 < seconds:
        if conn is None:
            conn = ctx.wrap_socket(connect(src))
        hdr = "Authorization: Bearer %s\r\n" % token if token else ""
        conn.sendall(("GET /v1/repos/clinic/config/ HTTP/1.1\r\nHost: vault\r\n%s\r\n" % hdr).encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status = head.split(b" ")[1].decode() if head else "000"
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(body) < length:
            body += conn.recv(4096)
        print(status, flush=True)
        count += 1
        if b"connection: close" in head.lower():
            conn.close()
            conn = None
        if n and count >= n and not seconds:
            break
    sys.exit(0)
PY
flood() { python3 "$WORK/flood.py" "$HOST" "$PORT" "$@"; }

note "(a) $IDLE_PER_ADDR idle connections from each of 4 addresses, and a trickle"
t0=$SECONDS
flood hold 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5 "$IDLE_PER_ADDR" "$WORK/ready" \
	$((DEADLINE + MARGIN + 5)) >"$WORK/hold.out" 2>&1 &
hold_pid=$!
at_exit "kill $hold_pid 2>/dev/null"
for i in $(seq 1 100); do [ -s "$WORK/ready" ] && break; sleep 0.1; done
[ -s "$WORK/ready" ] || fail "the attacker could not open its connections: $(cat "$WORK/hold.out")"
expect_exit 0 kura ls "$snap"
expect_exit 0 kura restore "$snap" --target "$WORK/restored"
same_tree "$SRC" "$WORK/restored$SRC"
note "... the reader listed and restored in $((SECONDS - t0)) s with the connections held"
rc=0
wait "$hold_pid" || rc=$?
cat "$WORK/hold.out"
[ "$rc" -eq 0 ] || fail "the trickling connection was never cut: $(cat "$WORK/hold.out")"
cut=$(sed -n 's/.*trickle_cut=\([0-9.]*\).*/\1/p' "$WORK/hold.out")
python3 -c "import sys; sys.exit(0 if float('$cut') <= $DEADLINE + $MARGIN else 1)" ||
	fail "the trickle was cut after $cut s, past the ${DEADLINE} s deadline + ${MARGIN} s"

note "(b) ten bad tokens from the reader's address"
flood req 127.0.0.1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA 10 >"$WORK/bad.out"
assert_eq "ten bad tokens" "401" "$(sort -u "$WORK/bad.out")"
flood req 127.0.0.1 "" 1 >"$WORK/none.out"
assert_eq "a tokenless request from the locked-out address" "429" "$(cat "$WORK/none.out")"
flood req 127.0.0.1 "$R_TOKEN" 1 >"$WORK/good.out"
assert_eq "the reader's valid token from the locked-out address" "200" "$(cat "$WORK/good.out")"
expect_exit 0 kura ls "$snap"

note "(c) bad tokens from 127.0.0.7 for 3 s"
log=$VAULT_DIR/audit/log.jsonl
before=$(stat -c %s "$log")
flood req 127.0.0.7 BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB 0 3 >"$WORK/flood.out"
grown=$(($(stat -c %s "$log") - before))
sent=$(wc -l <"$WORK/flood.out")
note "... $sent refused requests grew the log by $grown bytes"
[ "$sent" -ge 50 ] || fail "the flood sent only $sent requests"
[ "$grown" -le 2048 ] || fail "the audit log grew by $grown bytes under a refused flood (bound 2048)"
stop_vault
python3 - "$log" "$sent" <<'PY' || fail "the audit log does not count the flood"
import json, sys
sent, single, counted = int(sys.argv[2]), 0, 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("peer") != "127.0.0.7":
        continue
    if e["method"] == "REFUSED":
        counted += e["count"]
        assert e["first"] <= e["last"], e
    elif e["status"] in (401, 429):
        single += 1
print("127.0.0.7: %d entries of their own, %d counted in summaries, %d sent" % (single, counted, sent))
sys.exit(0 if single == 1 and single + counted == sent else 1)
PY
grep -q '"peer":"127.0.0.6","client":"","role":"","method":"CONNECT","path":"","status":408' "$log" ||
	fail "the cut trickle is not in the audit log"
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"
assert_contains "kurad log verify" "intact" "$OUT"
note "an auditor sees the summary and verifies the log"
start_vault
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/auditor.cred" "$KURA" log verify
assert_contains "kura log verify" "intact" "$OUT"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/auditor.cred" "$KURA" log
assert_contains "kura log shows the summary" "$((sent - 1)) refused," "$OUT"

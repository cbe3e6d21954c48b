#!/usr/bin/env bash
# vault_load.sh - one kurad under several clients at once: four writers
# backing up into four repositories and two more into one shared
# repository, all concurrently; every backup succeeds and restores
# identical through a reader, and kurad's peak memory stays under 200 MiB.
# Then 20 slow connections that trickle a request one byte every few
# seconds neither stop a normal backup meanwhile nor outlive kurad's 30 s
# timeout.
. "$(dirname "$0")/lib.sh"

RSS_LIMIT_KB=$((200 * 1024))
# A sanitizer runtime (shadow memory, quarantine) multiplies resident memory;
# there the bound only guards against runaway growth.
# (ldd's output is taken whole: `ldd | grep -q` under pipefail fails when
# grep stops reading early and ldd gets SIGPIPE.)
case "$(ldd "$KURAD" 2>/dev/null)" in *libasan* | *libtsan*) RSS_LIMIT_KB=$((RSS_LIMIT_KB * 4)) ;; esac
SLOW=20 SLOW_INTERVAL=3 SLOW_LIMIT=38

note "vault up: a writer and a reader for each of r1..r4 and shared"
init_vault "$WORK/vault"
for r in r1 r2 r3 r4 shared; do
	vault_client "w-$r" writer "$r" "$WORK/w-$r.cred"
	vault_client "rd-$r" reader "$r" "$WORK/rd-$r.cred"
done
vault_client w2-shared writer shared "$WORK/w2-shared.cred"
start_vault

note "repositories initialised, backup keys made on the reader side"
for r in r1 r2 r3 r4 shared; do
	expect_exit 0 env KURA_REPOSITORY="vault://$VAULT_ADDR/$r" \
		KURA_VAULT_CREDENTIALS="$WORK/w-$r.cred" "$KURA" init --kdf interactive
	expect_exit 0 env KURA_REPOSITORY="vault://$VAULT_ADDR/$r" \
		KURA_VAULT_CREDENTIALS="$WORK/rd-$r.cred" "$KURA" key backup-key \
		--output "$WORK/$r.key"
done

# src/NAME: a few MiB each, partly shared between the clients of "shared"
for c in r1 r2 r3 r4 sa sb; do
	mkdir -p "$WORK/src/$c/docs"
	gen_random "$WORK/src/$c/big.bin" $((3 * 1024 * 1024)) "big-$c"
	gen_text "$WORK/src/$c/docs/notes.txt" 5000 "notes-$c"
	for i in 1 2 3 4 5 6 7 8; do gen_random "$WORK/src/$c/docs/f$i.bin" 40000 "f$i-$c"; done
done
cp "$WORK/src/sa/big.bin" "$WORK/src/sb/common.bin"

# backup_bg NAME REPO CRED: kura --json backup in the background; pid in BG[NAME]
declare -A BG
backup_bg() {
	env KURA_REPOSITORY="vault://$VAULT_ADDR/$2" KURA_VAULT_CREDENTIALS="$3" \
		KURA_KEY_FILE="$WORK/$2.key" KURA_CACHE_DIR="$WORK/cache-$1" \
		"$KURA" --json backup "$WORK/src/$1" </dev/null >"$WORK/b-$1.out" 2>"$WORK/b-$1.err" &
	BG[$1]=$!
}
wait_bg() { # NAME
	local rc=0
	wait "${BG[$1]}" || rc=$?
	no_crash "$rc" "$WORK/b-$1.err" "backup $1"
	[ "$rc" -eq 0 ] || fail "backup $1 exited $rc: $(tail -n 20 "$WORK/b-$1.err")"
}

note "six backups at once"
t0=$SECONDS
for r in r1 r2 r3 r4; do backup_bg "$r" "$r" "$WORK/w-$r.cred"; done
backup_bg sa shared "$WORK/w-shared.cred"
backup_bg sb shared "$WORK/w2-shared.cred"
for c in r1 r2 r3 r4 sa sb; do wait_bg "$c"; done
note "... done in $((SECONDS - t0)) s"

note "every backup restores identical through a reader"
restore_check() { # NAME REPO SNAPSHOT
	expect_exit 0 env KURA_REPOSITORY="vault://$VAULT_ADDR/$2" \
		KURA_VAULT_CREDENTIALS="$WORK/rd-$2.cred" "$KURA" restore "$3" \
		--target "$WORK/r-$1"
	same_contents "$WORK/src/$1" "$WORK/r-$1$WORK/src/$1"
}
for r in r1 r2 r3 r4; do
	restore_check "$r" "$r" "$(json_get "$(cat "$WORK/b-$r.out")" 'd["snapshot_id"]')"
done
restore_check sa shared "$(json_get "$(cat "$WORK/b-sa.out")" 'd["snapshot_id"]')"
restore_check sb shared "$(json_get "$(cat "$WORK/b-sb.out")" 'd["snapshot_id"]')"
expect_exit 0 env KURA_REPOSITORY="vault://$VAULT_ADDR/shared" \
	KURA_VAULT_CREDENTIALS="$WORK/rd-shared.cred" "$KURA" --json check
assert_eq "check of the shared repository" 0 "$(json_get "$OUT" 'd["problems"]')"

note "slow clients: $SLOW connections trickling a request, one byte every $SLOW_INTERVAL s"
# From 127.0.0.2, like another host: kurad limits connections per peer
# address, so the slow peer cannot take the normal client's share.
cat >"$WORK/slow.py" <<'PY'
import socket, sys, time, select
host, port = sys.argv[1], int(sys.argv[2])
n, interval, limit, src = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
payload = b"PUT /v1/repos/r1/data/" + b"0" * 64 + b" HTTP/1.1\r\nX-Slow: " + b"a" * 4096
socks, refused, closed, pos = [], 0, {}, 0
t0 = time.monotonic()
for i in range(n):
    s = socket.socket()
    s.bind((src, 0))
    try:
        s.connect((host, port))
        socks.append(s)
    except OSError:
        refused += 1
print("connected", len(socks), flush=True)
while time.monotonic() - t0 < limit and len(closed) < len(socks):
    for i, s in enumerate(socks):
        if i in closed:
            continue
        try:
            s.send(payload[pos:pos + 1])
            r, _, _ = select.select([s], [], [], 0)
            if r and not s.recv(4096):
                raise OSError("closed")
        except OSError:
            closed[i] = time.monotonic() - t0
    pos += 1
    time.sleep(interval)
print("connected=%d refused=%d open=%d last_drop=%.1f" % (len(socks), refused,
      len(socks) - len(closed), max(closed.values()) if closed else -1), flush=True)
sys.exit(0 if len(closed) == len(socks) else 1)
PY
python3 "$WORK/slow.py" "${VAULT_ADDR%:*}" "${VAULT_ADDR##*:}" "$SLOW" "$SLOW_INTERVAL" \
	"$SLOW_LIMIT" 127.0.0.2 >"$WORK/slow.out" 2>&1 &
slow_pid=$!
at_exit "kill $slow_pid 2>/dev/null"
for i in $(seq 1 50); do grep -q connected "$WORK/slow.out" && break; sleep 0.1; done
sleep 1
gen_random "$WORK/src/r1/during-slow.bin" 500000 during
t0=$SECONDS
backup_bg r1 r1 "$WORK/w-r1.cred"
wait_bg r1
note "... a normal backup took $((SECONDS - t0)) s meanwhile"
rc=0
wait "$slow_pid" || rc=$?
cat "$WORK/slow.out"
[ "$rc" -eq 0 ] || fail "kurad did not drop every slow connection within $SLOW_LIMIT s: $(tail -n1 "$WORK/slow.out")"

note "kurad's peak memory"
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$VAULT_PID/status")
note "... VmHWM ${hwm} kB"
[ "$hwm" -lt "$RSS_LIMIT_KB" ] || fail "kurad's peak RSS ${hwm} kB is over ${RSS_LIMIT_KB} kB"
stop_vault
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"

echo "PASS vault_load"

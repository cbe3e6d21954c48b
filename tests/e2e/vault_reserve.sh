#!/usr/bin/env bash
# vault_reserve.sh - a writer that fills the vault's disk stops at the
# reserve (issue 10, finding 3): on a 64 MiB tmpfs with "reserve" set to
# 40 MiB in vault.json, a backup of 32 MiB of random data is refused with
# 507 ("out of storage space" for the user) and saves no snapshot, while
# the restore of the clean snapshot, GET /v1/status, GET /v1/log and the
# audit log keep working; the refusals are in the log, which verifies.
# Needs root for the mount; skips otherwise.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP $TEST_NAME: needs root for mounts"
	exit 0
fi
MNT=$WORK/mnt
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=64m,mode=0755 tmpfs "$MNT" 2>/dev/null; then
	echo "SKIP $TEST_NAME: cannot mount a tmpfs here"
	exit 0
fi
at_exit "umount -l '$MNT' 2>/dev/null"

SRC=$WORK/data/src
make_tree "$SRC"
init_vault "$MNT/vault"
vault_client ward writer clinic "$WORK/writer.cred"
vault_client reader reader clinic "$WORK/reader.cred"
vault_client au auditor "" "$WORK/au.cred"
python3 - "$VAULT_DIR/vault.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["reserve"] = 40 << 20
json.dump(d, open(sys.argv[1], "w"))
EOF
start_vault
PIN=$(cred_get "$WORK/au.cred" pin)
AU_TOKEN=$(cred_get "$WORK/au.cred" token)
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic KURA_VAULT_CREDENTIALS=$WORK/writer.cred

note "a clean backup while there is room"
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key --output "$WORK/backup.key"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key export --output "$WORK/restore.key"
export KURA_KEY_FILE=$WORK/backup.key
backup_json "$SRC"
clean=$SNAP_ID

note "32 MiB of random data: refused at the reserve"
mkdir -p "$WORK/data/big"
for i in 1 2 3 4; do gen_random "$WORK/data/big/f$i" $((8 << 20)) "big$i"; done
expect_exit 1 kura backup "$WORK/data/big"
assert_contains "the cause" "out of storage space" "$ERR"
free_kb=$(df --output=avail -k "$MNT" | tail -n1)
[ "$free_kb" -ge $((40 * 1024 - 1024)) ] || fail "only $free_kb KiB left free: the reserve was not kept"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" --json snapshots
assert_eq "snapshots after the refused backup" 1 "$(json_get "$OUT" 'len(d)')"

note "reads, the status and the log keep working"
unset KURA_KEY_FILE
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" KURA_KEY_FILE="$WORK/restore.key" \
	"$KURA" restore "$clean" --target "$WORK/restored"
same_tree "$SRC" "$WORK/restored$SRC"
for what in status log; do
	code=$(curl -sS -o "$WORK/$what.out" -w '%{http_code}' --max-time 20 --noproxy '*' \
		--pinnedpubkey "$PIN" --insecure -H "Authorization: Bearer $AU_TOKEN" \
		"https://$VAULT_ADDR/v1/$what")
	assert_eq "GET /v1/$what on the full vault" 200 "$code"
done
assert_contains "the operator is told" "below the reserve" "$(cat "$WORK/kurad.err")"
stop_vault
expect_exit 0 "$KURAD" status "$VAULT_DIR"
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"
n507=$(python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if l.strip() and json.loads(l).get("status") == 507))
' "$VAULT_DIR/audit/log.jsonl")
[ "$n507" -ge 1 ] || fail "no 507 in the audit log"
echo "refusals logged: $n507"

echo "PASS $TEST_NAME"

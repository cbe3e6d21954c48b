#!/usr/bin/env bash
# vault_junk.sh - a stolen writer credential uploads junk that is correctly
# named (its name is its SHA-256, so the hash check passes): a 0-byte index,
# a snapshot with a valid header but a pack list its body cannot hold, a
# truncated pack, a config-sized file of random bytes, a backup key filed
# as a repository key.  The vault judges each without a key
# (kura_keyless_validate) and refuses it with 400 and the reason; nothing
# is stored, every refusal is in the audit log, and backups and restores
# through the vault keep working.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
make_tree "$SRC"

init_vault "$WORK/vault"
vault_client ward4-backup writer clinic "$WORK/writer.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"
vault_client newcomer writer fresh "$WORK/fresh.cred"
start_vault
REPO_DIR=$VAULT_DIR/repos/clinic
PIN=$(cred_get "$WORK/writer.cred" pin)
W_TOKEN=$(cred_get "$WORK/writer.cred" token)
F_TOKEN=$(cred_get "$WORK/fresh.cred" token)

note "a clean repository through the vault: init, backup key, one backup"
vault_repo_init
backup_json "$SRC"
clean_snap=$SNAP_ID

# the largest pack: cutting 100 bytes off a small one leaves it too short
# to reach its end magic, which is another refusal than the one tested
PACK_FILE=$(find "$REPO_DIR/data" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
SNAP_FILE=$(find "$REPO_DIR/snapshots" -type f -print -quit)
[ -n "$PACK_FILE" ] && [ -n "$SNAP_FILE" ] || fail "the backup stored no pack or no snapshot"

stored_state() {
	(cd "$VAULT_DIR/repos" && find . -path './*/tmp' -prune -o -type f -print0 |
		LC_ALL=C sort -z | xargs -0 -r sha256sum)
}
before=$(stored_state)

# junk_put TOKEN REPO TYPE FILE REASON: PUT FILE under its own SHA-256;
# expect 400 with REASON in {"error": ...}, and the file not stored.
junk_put() {
	local token=$1 repo=$2 type=$3 file=$4 reason=$5 name status err
	name=$(sha256sum "$file" | cut -c1-64)
	status=$(curl -sS -o "$WORK/body" -w '%{http_code}' --max-time 20 --noproxy '*' \
		--pinnedpubkey "$PIN" --insecure -X PUT -H "Authorization: Bearer $token" \
		--data-binary @"$file" "https://$VAULT_ADDR/v1/repos/$repo/$type/$name") ||
		fail "PUT $type/$name: curl failed"
	[ "$status" = 400 ] || fail "PUT $type/$name ($(basename "$file")): expected 400, got $status: $(cat "$WORK/body")"
	err=$(json_get "$(cat "$WORK/body")" 'd["error"]')
	assert_contains "the refusal of $(basename "$file")" "$reason" "$err"
	[ -z "$(find "$VAULT_DIR/repos/$repo" -name "$name" 2>/dev/null)" ] ||
		fail "refused $type/$name was stored"
	printf 'PUT /v1/repos/%s/%s/%s\n' "$repo" "$type" "$name" >>"$WORK/refused"
}

note "a 0-byte index (named by the SHA-256 of nothing)"
: >"$WORK/empty"
junk_put "$W_TOKEN" clinic index "$WORK/empty" "index: empty file"

note "a snapshot with a valid header whose pack list runs past the file"
python3 - "$SNAP_FILE" "$WORK/snap-junk" <<'EOF'
import os, struct, sys
head = bytearray(open(sys.argv[1], "rb").read()[:24])
assert head[:8] == b"KURASNAP"
struct.pack_into("<I", head, 20, 1 << 20)  # a million packs, in 4 KiB
open(sys.argv[2], "wb").write(bytes(head) + os.urandom(4096))
EOF
junk_put "$W_TOKEN" clinic snapshots "$WORK/snap-junk" "snapshot: truncated at offset 24 reading pack names"

note "a snapshot with a valid header and unsorted pack names"
python3 - "$SNAP_FILE" "$WORK/snap-unsorted" <<'EOF'
import os, struct, sys
head = bytearray(open(sys.argv[1], "rb").read()[:24])
head[8] = 1  # the version 1 layout below (a backup writes version 2, with a detection summary)
struct.pack_into("<I", head, 20, 2)
names = b"\xff" * 32 + b"\x00" * 32
open(sys.argv[2], "wb").write(bytes(head) + names + os.urandom(80 + 300))
EOF
junk_put "$W_TOKEN" clinic snapshots "$WORK/snap-unsorted" "snapshot: pack name 1 is not sorted"

note "a truncated pack"
size=$(stat -c %s "$PACK_FILE")
head -c $((size - 100)) "$PACK_FILE" >"$WORK/pack-cut"
junk_put "$W_TOKEN" clinic data "$WORK/pack-cut" "pack: bad end magic"

note "an index-sized run of random bytes"
gen_random "$WORK/index-junk" 4096 junk
junk_put "$W_TOKEN" clinic index "$WORK/index-junk" "index: bad magic"

note "a config-sized file of random bytes and a backup key, to a repository not yet initialised"
gen_random "$WORK/config-junk" 96 config
junk_put "$F_TOKEN" fresh config "$WORK/config-junk" "config: bad magic"
junk_put "$F_TOKEN" fresh keys "$WORK/backup.key" "key file: kind 2 is a backup key"

note "nothing stored changed, nothing left behind"
after=$(stored_state)
[ "$before" = "$after" ] || fail "stored files changed:
$(diff <(echo "$before") <(echo "$after"))"
left=$(find "$VAULT_DIR"/repos/*/tmp -type f | wc -l)
assert_eq "files left in the vault's tmp/" 0 "$left"

note "a normal backup and a restore through the vault still work"
mkdir -p "$WORK/data/later"
printf 'after the junk\n' >"$WORK/data/later/note.txt"
backup_json "$WORK/data/later"
later_snap=$SNAP_ID
unset KURA_KEY_FILE
for snap in "$clean_snap" "$later_snap"; do
	expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" KURA_KEY_FILE="$WORK/restore.key" \
		"$KURA" restore "$snap" --target "$WORK/restored-$snap"
done
same_tree "$SRC" "$WORK/restored-$clean_snap$SRC"
same_tree "$WORK/data/later" "$WORK/restored-$later_snap$WORK/data/later"

note "every refusal is in the audit log as a 400"
stop_vault
python3 - "$WORK/refused" "$VAULT_DIR/audit/log.jsonl" <<'EOF' || fail "audit log check"
import json, sys
want = [l.split() for l in open(sys.argv[1]) if l.strip()]
log = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
got = {(e.get("method"), e.get("path")) for e in log if e.get("status") == 400}
missing = [" ".join(w) for w in want if tuple(w) not in got]
if missing:
    sys.exit("FAIL: no 400 in the audit log for:\n  " + "\n  ".join(missing))
print("audit log: %d refusals found" % len(want))
EOF
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"

echo "PASS vault_junk"

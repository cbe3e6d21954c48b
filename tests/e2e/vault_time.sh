#!/usr/bin/env bash
# vault_time.sh - a writer whose clock says 2056 cannot make its snapshot
# `latest`.  On a vault the vault's own receive time orders the snapshots
# (issue 9 finding 3, issue 10 finding 2): `kura snapshots` lists the
# 2056 snapshot where it was received and flags the claim, `restore
# latest` restores the backup taken after it, and --json has `time` (the
# receive time), `claimed_time` and `received_time`.  On a local repository
# the claimed time is all there is, and orders (documented in kura(1)).
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
make_tree "$SRC"
mkdir -p "$WORK/data/future"
printf 'planted by a client whose clock is wrong\n' >"$WORK/data/future/note.txt"

init_vault "$WORK/vault"
vault_client ward4-backup writer clinic "$WORK/writer.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"
start_vault

export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
export KURA_VAULT_CREDENTIALS=$WORK/writer.cred
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key --output "$WORK/backup.key"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key export --output "$WORK/restore.key"

note "a writer uploads a snapshot claiming 2056, then a normal backup follows"
export KURA_KEY_FILE=$WORK/backup.key
expect_exit 2 kura backup --time 2056-13-01T00:00:00Z "$WORK/data/future"
backup_json --time 2056-01-01T00:00:00Z "$WORK/data/future"
future=$SNAP_ID
backup_json "$SRC"
normal=$SNAP_ID

note "the reader sees them in receive order, the claim flagged"
export KURA_VAULT_CREDENTIALS=$WORK/reader.cred KURA_KEY_FILE=$WORK/restore.key
expect_exit 0 kura snapshots
table=$OUT
first_row=$(grep -n "^${future:0:8} " <<<"$table" | cut -d: -f1)
second_row=$(grep -n "^${normal:0:8} " <<<"$table" | cut -d: -f1)
[ -n "$first_row" ] && [ -n "$second_row" ] && [ "$first_row" -lt "$second_row" ] ||
	fail "kura snapshots does not list the 2056 snapshot before the later backup:
$table"
assert_contains "the 2056 row shows when it was received" "$(date +%Y-)" \
	"$(grep "^${future:0:8} " <<<"$table")"
assert_contains "the claim is shown beneath it, flagged" "claimed 2056-01-0" \
	"$(sed -n "$((first_row + 1))p" <<<"$table")"
assert_contains "the flag" "(clock skew!)" "$(sed -n "$((first_row + 1))p" <<<"$table")"
[ "$(grep -c 'clock skew!' <<<"$table")" = 1 ] || fail "only the 2056 snapshot is flagged:
$table"

expect_exit 0 kura --json snapshots
json=$OUT
assert_eq "json: receive order" "$future $normal" "$(json_get "$json" '" ".join(s["id"] for s in d)')"
assert_eq "json: the claim" "2056-01-01T00:00:00.000000000Z" "$(json_get "$json" 'd[0]["claimed_time"]')"
assert_eq "json: time is the receive time" "$(json_get "$json" 'd[0]["received_time"]')" \
	"$(json_get "$json" 'd[0]["time"]')"
assert_eq "json: the 2056 snapshot is flagged, the other not" "[true, false]" \
	"$(json_get "$json" '[s["clock_skew"] for s in d]')"
# received within the last 10 minutes, by this machine's clock (the vault's)
age=$(json_get "$json" 'int(__import__("time").time() - __import__("datetime").datetime.strptime(d[0]["time"][:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=__import__("datetime").timezone.utc).timestamp())')
[ "$age" -ge 0 ] && [ "$age" -lt 600 ] || fail "json: time of the 2056 snapshot is $age s ago, not its receive time"

note "restore latest restores the normal backup, not the 2056 one"
expect_exit 0 kura restore latest --target "$WORK/restored"
same_tree "$SRC" "$WORK/restored$SRC"
[ ! -e "$WORK/restored$WORK/data/future" ] || fail "restore latest restored the 2056 snapshot"

note "the vault's listing carries its receive time for every snapshot"
PIN=$(cred_get "$WORK/reader.cred" pin)
TOKEN=$(cred_get "$WORK/reader.cred" token)
curl -sS --fail --max-time 20 --noproxy '*' --pinnedpubkey "$PIN" --insecure \
	-H "Authorization: Bearer $TOKEN" "https://$VAULT_ADDR/v1/repos/clinic/snapshots/" >"$WORK/listing" ||
	fail "GET snapshots/ failed"
assert_eq "every entry has received" 2 \
	"$(json_get "$(cat "$WORK/listing")" 'sum(1 for e in d if e["received"].endswith("Z") and len(e["received"]) == 30)')"

note "a receive time the reader cannot use (here: 2100) falls back to the claim, with a warning"
# Vault root edits the record; a reader must not crash or order by 2100.
sed -i "s/^$normal [0-9]* /$normal 4102444800000000000 /" "$VAULT_DIR/meta/clinic/snapshot-times"
expect_exit 0 kura --json snapshots
assert_contains "the warning names the reason" "no usable receive time for 1 snapshot (${normal:0:8}: more than a day in the future)" "$ERR"
assert_eq "json: no receive time for it, time is its claim" "null" "$(json_get "$OUT" 'd[1]["received_time"]')"
assert_eq "json: still after the 2056 one" "$future $normal" "$(json_get "$OUT" '" ".join(s["id"] for s in d)')"
stop_vault

note "a local repository: the claimed time is all there is, and orders"
export KURA_REPOSITORY=$WORK/local
unset KURA_VAULT_CREDENTIALS KURA_KEY_FILE
init_repo
backup_json --time 2056-01-01T00:00:00Z "$WORK/data/future"
future=$SNAP_ID
backup_json "$SRC"
expect_exit 0 kura --json snapshots
assert_eq "local: claimed order" "$SNAP_ID $future" "$(json_get "$OUT" '" ".join(s["id"] for s in d)')"
assert_eq "local: no receive time, time is the claim" "[null, null]" \
	"$(json_get "$OUT" '[s["received_time"] for s in d]')"
assert_eq "local: time is the claim" "2056-01-01T00:00:00.000000000Z" "$(json_get "$OUT" 'd[1]["time"]')"

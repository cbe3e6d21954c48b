#!/usr/bin/env bash
# backup_key.sh - the write-only backup key: it backs up and deduplicates
# without a passphrase, but cannot read anything back; the restore key can.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
make_tree "$SRC"
init_repo

note "export the backup key and the restore key"
expect_exit 0 kura key backup-key --output "$WORK/backup.key"
expect_exit 0 kura key export --output "$WORK/restore.key"
bsize=$(stat -c %s "$WORK/backup.key")
rsize=$(stat -c %s "$WORK/restore.key")
assert_eq "backup key file size" 204 "$bsize"
assert_eq "restore key file size" 276 "$rsize"
bhead=$(head -c 10 "$WORK/backup.key" | od -An -tx1 | tr -d ' \n')
rhead=$(head -c 10 "$WORK/restore.key" | od -An -tx1 | tr -d ' \n')
assert_eq "backup key header (KURAKEY\\0, version 1, kind 2)" 4b5552414b4559000102 "$bhead"
assert_eq "restore key header (KURAKEY\\0, version 1, kind 1)" 4b5552414b4559000101 "$rhead"
perm=$(stat -c %a "$WORK/backup.key")
assert_eq "backup key file mode" 600 "$perm"
perm=$(stat -c %a "$WORK/restore.key")
assert_eq "restore key file mode" 600 "$perm"
cmp -s "$WORK/backup.key" "$WORK/restore.key" && fail "backup and restore key files are identical"
note "key files are never overwritten"
cp "$WORK/backup.key" "$WORK/backup.key.orig"
expect_fail kura key backup-key --output "$WORK/backup.key"
cmp -s "$WORK/backup.key" "$WORK/backup.key.orig" || fail "key backup-key overwrote an existing file"
echo "precious" >"$WORK/other-file"
expect_fail kura key export --output "$WORK/other-file"
assert_eq "key export must not overwrite" precious "$(cat "$WORK/other-file")"

# From here on: the backup key, no passphrase at all.
# setsid: no controlling terminal, so a passphrase prompt cannot hang the test
bk() { setsid -w env -u KURA_PASSWORD_FILE KURA_KEY_FILE="$WORK/backup.key" "$KURA" "$@" </dev/null; }

note "backup with the backup key, no passphrase"
expect_exit 0 bk --json backup "$SRC"
snap1=$(json_get "$OUT" 'd["snapshot_id"]')
data1=$(du_bytes "$KURA_REPOSITORY/data")
repo1=$(du_bytes "$KURA_REPOSITORY")

note "second backup of identical data adds almost nothing"
rm -rf "$KURA_CACHE_DIR" # force a full re-read: deduplication, not the cache
expect_exit 0 bk --json backup "$SRC"
snap2=$(json_get "$OUT" 'd["snapshot_id"]')
[ "$snap1" != "$snap2" ] || fail "two backups gave the same snapshot id"
added=$(json_get "$OUT" 'd["data_added"]')
data2=$(du_bytes "$KURA_REPOSITORY/data")
limit=$((data1 / 100 + 65536))
[ $((data2 - data1)) -lt $limit ] ||
	fail "second backup with the backup key grew data/ from $data1 to $data2 bytes (limit +$limit; data_added=$added): no deduplication?"
repo2=$(du_bytes "$KURA_REPOSITORY")
[ $((repo2 - repo1)) -lt $((repo1 / 100 + 65536)) ] ||
	fail "second backup grew the repository from $repo1 to $repo2 bytes"

note "snapshots with the backup key: listed, unreadable"
expect_exit 0 bk --json snapshots
v=$(json_get "$OUT" 'sorted(s["id"] for s in d)')
want=$(python3 -c 'import json,sys; print(json.dumps(sorted(sys.argv[1:])))' "$snap1" "$snap2")
assert_eq "snapshot ids listed with the backup key" "$want" "$v"
v=$(json_get "$OUT" '[s["readable"] for s in d]')
assert_eq "snapshots are unreadable with the backup key" '[false, false]' "$v"
expect_exit 0 bk snapshots
assert_contains "snapshots (text) lists snap1" "${snap1:0:8}" "$OUT"

note "reading needs the restore key: exit 13"
for cmd in "restore latest --target $WORK/r-denied" "restore $snap1 --target $WORK/r-denied" \
	"ls latest" "ls $snap1" "diff $snap1 $snap2" "check --read-data"; do
	# shellcheck disable=SC2086
	expect_exit 13 bk $cmd
	grep -qi 'restore key' <<<"$ERR$OUT" ||
		fail "kura $cmd with a backup key: the message does not mention the restore key: $ERR"
done
[ ! -e "$WORK/r-denied" ] || [ -z "$(find "$WORK/r-denied" -type f)" ] ||
	fail "a denied restore wrote files: $(find "$WORK/r-denied" -type f | sed -n 1,10p)"

note "the backup key cannot export the restore key"
expect_fail bk key export --output "$WORK/stolen.key"
[ ! -s "$WORK/stolen.key" ] || fail "the backup key exported a restore key file"

note "with the passphrase everything restores identically"
expect_exit 0 kura --json snapshots
v=$(json_get "$OUT" '[s["readable"] for s in d]')
assert_eq "snapshots are readable with the restore key" '[true, true]' "$v"
expect_exit 0 kura restore "$snap1" --target "$WORK/r1"
same_tree "$SRC" "$WORK/r1$SRC"
expect_exit 0 kura restore "$snap2" --target "$WORK/r2"
same_tree "$SRC" "$WORK/r2$SRC"
expect_exit 0 kura -q diff "$snap1" "$snap2"
ours=$(grep -F -- "$SRC/" <<<"$OUT" || true)
assert_eq "diff of two backups of the same tree" "" "$ours"
expect_exit 0 kura check --read-data

note "the exported restore key file works with the passphrase"
expect_exit 0 env KURA_KEY_FILE="$WORK/restore.key" "$KURA" restore latest --target "$WORK/r3"
same_tree "$SRC" "$WORK/r3$SRC"
note "the exported restore key file without the passphrase does not"
expect_fail setsid -w env -u KURA_PASSWORD_FILE KURA_KEY_FILE="$WORK/restore.key" "$KURA" ls latest </dev/null
printf 'not the passphrase at all, sorry\n' >"$WORK/wrong"
expect_exit 12 env KURA_PASSWORD_FILE="$WORK/wrong" KURA_KEY_FILE="$WORK/restore.key" "$KURA" ls latest

echo "PASS backup_key"

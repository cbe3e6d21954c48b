#!/usr/bin/env bash
# store_errors.sh - a backup whose store fails says why: the repository on a
# full file system (ENOSPC), on a read-only mount (EROFS), not writable by
# the user (EACCES), on a failing disk (EIO, where device-mapper exists;
# tests/e2e/eio.sh covers EIO everywhere with a FUSE file system), and
# a vault whose disk is full; and a restore into a full or read-only target
# names that, not damage in the repository.  The failure happens in a worker thread while
# the walker is still reading, which is where the message used to be lost
# ("wrong passphrase: ..." or "no error" was printed instead).  Each case:
# a non-zero exit, the real cause in the message, no "saved", no snapshot.
# Needs root for the mounts; skips otherwise.
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
at_exit "umount -l '$MNT/ro' 2>/dev/null; umount -l '$MNT' 2>/dev/null"
# readable by the unprivileged user of the EACCES case
chmod 755 "$WORK"

# ~24 MiB of incompressible data in several files: the walker is still
# reading when the first pack cannot be written
SRC=$WORK/src
mkdir -p "$SRC"
for i in 1 2 3 4 5 6; do gen_random "$SRC/f$i.bin" $((4 * 1024 * 1024)) "f$i"; done
chmod -R a+rX "$SRC"

export KURA_REPOSITORY=$MNT/repo
init_repo
expect_exit 0 kura key backup-key --output "$WORK/backup.key"

# refused BACKUP_ARGS...: the backup must fail naming `$CAUSE`, and leave no snapshot
refused() {
	expect_exit 1 "$@"
	assert_contains "the cause" "$CAUSE" "$ERR"
	assert_not_contains "a stale message" "passphrase" "$ERR"
	assert_not_contains "a message-less error" "no error" "$ERR"
	assert_not_contains "a success claim" "saved" "$OUT$ERR"
}
no_snapshot() {
	expect_exit 0 kura --json snapshots
	assert_eq "snapshots after the failed backups" 0 "$(json_get "$OUT" 'len(d)')"
}

note "ENOSPC: the repository's file system fills up"
mount -o remount,size=2m "$MNT"
CAUSE="No space left on device"
refused kura backup "$SRC"
refused env KURA_KEY_FILE="$WORK/backup.key" "$KURA" backup "$SRC"
refused kura --json backup "$SRC"
mount -o remount,size=64m "$MNT"
no_snapshot

note "EROFS: the repository is mounted read-only"
mkdir -p "$MNT/ro"
mount --bind "$MNT/repo" "$MNT/ro"
mount -o remount,bind,ro "$MNT/ro"
CAUSE="Read-only file system"
refused kura -r "$MNT/ro" backup "$SRC"
refused env KURA_KEY_FILE="$WORK/backup.key" "$KURA" -r "$MNT/ro" backup "$SRC"
assert_not_contains "a vault hint for a local store" "through a vault" "${ERR%%hint:*}"
umount "$MNT/ro"
no_snapshot

note "EACCES: the user may not write into the repository"
if command -v setpriv >/dev/null; then
	chmod 644 "$WORK/backup.key"
	chmod -R o+rX "$MNT/repo"
	mkdir -p "$WORK/nobody-cache"
	chown 65534:65534 "$WORK/nobody-cache"
	CAUSE="Permission denied"
	refused setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$WORK" \
		KURA_CACHE_DIR="$WORK/nobody-cache" KURA_KEY_FILE="$WORK/backup.key" "$KURA" backup "$SRC"
	no_snapshot
else
	echo "SKIP (part) $TEST_NAME: no setpriv for the EACCES case"
fi

note "restore into a full or read-only target: the cause, not 'damage'"
expect_exit 0 kura backup "$SRC"
TGT=$WORK/target
mkdir -p "$TGT"
mount -t tmpfs -o size=6m tmpfs "$TGT"
at_exit "umount -l '$TGT' 2>/dev/null"
expect_exit 1 kura restore latest --target "$TGT/full"
assert_contains "restore into a full target" "cannot write: No space left on device" "$ERR"
assert_contains "the file that did not fit" "write at offset" "$ERR"
assert_not_contains "no damage hint" "check --read-data" "$ERR"
mkdir "$TGT/ro"
mount -o remount,ro "$TGT"
expect_exit 1 kura restore latest --target "$TGT/ro"
assert_contains "restore into a read-only target" "cannot write: Read-only file system" "$ERR"
assert_not_contains "no damage hint" "check --read-data" "$ERR"
umount "$TGT"

note "EIO: a disk that fails reads and writes"
if dmsetup version >/dev/null 2>&1 && command -v mkfs.ext4 >/dev/null; then
	# a file system whose data area turns into an error target after init;
	# no journal and errors=continue, so a failed write stays an EIO
	# rather than turning the mount read-only.  (Not run where this was
	# written: the kernel there has no device-mapper.)
	img=$MNT/disk.img
	truncate -s 32m "$img"
	mkfs.ext4 -q -O ^has_journal "$img"
	loop=$(losetup -f --show "$img")
	at_exit "losetup -d '$loop' 2>/dev/null"
	sectors=$(blockdev --getsz "$loop")
	dmsetup create "kura-e2e-$$" --table "0 $sectors linear $loop 0"
	at_exit "dmsetup remove -f 'kura-e2e-$$' 2>/dev/null"
	mkdir -p "$WORK/eio"
	mount -o errors=continue "/dev/mapper/kura-e2e-$$" "$WORK/eio"
	at_exit "umount -l '$WORK/eio' 2>/dev/null"
	expect_exit 0 kura -r "$WORK/eio/repo" init --kdf interactive
	sync
	# everything from 8 MiB on fails
	dmsetup suspend "kura-e2e-$$"
	dmsetup reload "kura-e2e-$$" --table "0 16384 linear $loop 0
16384 $((sectors - 16384)) error"
	dmsetup resume "kura-e2e-$$"
	CAUSE="Input/output error"
	refused kura -r "$WORK/eio/repo" backup "$SRC"
else
	echo "SKIP (part) $TEST_NAME: no device-mapper here for the EIO case"
fi

note "a full vault: its refusal reaches the user"
init_vault "$MNT/vault"
vault_client ward writer vault-full "$WORK/writer.cred"
vault_client reader reader vault-full "$WORK/reader.cred"
start_vault
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/writer.cred" "$KURA" \
	-r "vault://$VAULT_ADDR/vault-full" init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" \
	-r "vault://$VAULT_ADDR/vault-full" key backup-key --output "$WORK/vault-backup.key"
used=$(df --output=used -k "$MNT" | tail -n1)
mount -o remount,size=$((used + 2048))k "$MNT"
CAUSE="out of storage space"
refused env KURA_VAULT_CREDENTIALS="$WORK/writer.cred" KURA_KEY_FILE="$WORK/vault-backup.key" \
	"$KURA" -r "vault://$VAULT_ADDR/vault-full" backup "$SRC"
mount -o remount,size=64m "$MNT"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" \
	-r "vault://$VAULT_ADDR/vault-full" --json snapshots
assert_eq "snapshots on the vault after the failed backup" 0 "$(json_get "$OUT" 'len(d)')"
stop_vault

echo "PASS $TEST_NAME"

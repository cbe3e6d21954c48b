#!/usr/bin/env bash
# mount.sh - kura mount: snapshots as a read-only FUSE file system
# (issue 14).  On a local repository:
#   - `all` shows snapshots/<id> for each snapshot, by-time/<time> and
#     latest as symlinks to them;
#   - a mounted snapshot equals a `kura restore` of it (rsync -aAX
#     --checksum, nanosecond mtimes, diff -r), xattrs and ACLs as stored,
#     a sparse file reads back with its hole;
#   - a 64 MiB file read at random offsets and lengths (python) equals
#     the original;
#   - the peak memory of the kura mount process (VmHWM) stays bounded by
#     the cache and a few chunks during a full cat of both snapshots
#     (~140 MiB of content);
#   - a hostile snapshot (tests/tools/hostilesnap.c: a directory named
#     "..", a name with "/", a chunk shorter than its tree says) does not
#     escape the mount: the bad directories and the file answer EIO, the
#     rest is served, the process lives on;
#   - SIGTERM, SIGINT and fusermount3 -u each unmount and exit 0; writes
#     are refused; a backup key is refused with exit 13.
# Through a vault: a reader credential and the passphrase mount the
# snapshots, a writer credential is refused.
# Needs root and /dev/fuse; says SKIP with the reason otherwise.
. "$(dirname "$0")/lib.sh"

HOSTILESNAP=$(dirname "$KURA")/tools/hostilesnap
if [ "$(id -u)" != 0 ]; then
	echo "SKIP $TEST_NAME: needs root to mount"
	exit 0
fi
if [ ! -c /dev/fuse ]; then
	echo "SKIP $TEST_NAME: no /dev/fuse here (modprobe fuse, or give the container the device)"
	exit 0
fi
[ -x "$HOSTILESNAP" ] || fail "no $HOSTILESNAP (make tests builds it)"

MOUNT_PID=
# mount_kura MOUNTPOINT ARGS...: kura mount ARGS MOUNTPOINT in the background, until mounted
mount_kura() {
	local mnt=$1 i rc=0
	shift
	mkdir -p "$mnt"
	# a background job starts with SIGINT ignored, and libfuse keeps an ignored signal
	# ignored (as nohup wants): give kura the default disposition, as a terminal would
	python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
		"$KURA" mount "$@" "$mnt" </dev/null >"$WORK/mount.out" 2>"$WORK/mount.err" &
	MOUNT_PID=$!
	at_exit "kill $MOUNT_PID 2>/dev/null; fusermount3 -u -z '$mnt' 2>/dev/null"
	for i in $(seq 1 200); do
		mountpoint -q "$mnt" && return 0
		if ! kill -0 "$MOUNT_PID" 2>/dev/null; then
			wait "$MOUNT_PID" || rc=$?
			fail "kura mount $* exited ($rc) before mounting: $(cat "$WORK/mount.err")"
		fi
		sleep 0.05
	done
	fail "kura mount $* did not mount $mnt within 10 s"
}

# unmount_kura MOUNTPOINT term|int|fusermount: the process ends with 0 and the mount is gone
unmount_kura() {
	local rc=0
	case $2 in
	term) kill -TERM "$MOUNT_PID" ;;
	int) kill -INT "$MOUNT_PID" ;;
	fusermount) fusermount3 -u "$1" || fail "fusermount3 -u $1 failed" ;;
	esac
	wait "$MOUNT_PID" || rc=$?
	no_crash "$rc" "$WORK/mount.err" "kura mount"
	[ "$rc" -eq 0 ] || fail "kura mount exited $rc after $2: $(tail -n 5 "$WORK/mount.err")"
	! mountpoint -q "$1" || fail "$1 is still mounted after $2"
}

vm_hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$MOUNT_PID/status"; }

SRC=$WORK/src
make_tree "$SRC"
gen_random "$SRC/large.bin" $((64 * 1024 * 1024)) large
setfattr -n user.kura.note -v "ward 4" "$SRC/docs/notes.txt"
setfacl -m u:1234:r "$SRC/sub/small.bin"
chown 1234:5678 "$SRC/docs/doc01.txt"
truncate -s 3M "$SRC/sparse.img"
printf 'in the middle' | dd of="$SRC/sparse.img" bs=1 seek=$((1536 * 1024)) conv=notrunc status=none
init_repo
backup_json --no-detect "$SRC"
snap1=$SNAP_ID
printf 'a changed line\n' >>"$SRC/sub/deeper/file.txt"
backup_json --no-detect "$SRC"
snap2=$SNAP_ID

MNT=$WORK/mnt
note "mount all (cache 16 MiB): the layout"
mount_kura "$MNT" all --cache-size 16M
assert_eq "root" "by-time latest snapshots" "$(ls "$MNT" | tr '\n' ' ' | sed 's/ $//')"
assert_eq "snapshots/" "$(printf '%s\n' "$snap1" "$snap2" | sort)" "$(ls "$MNT/snapshots")"
assert_eq "latest" "snapshots/$snap2" "$(readlink "$MNT/latest")"
n=0
for l in "$MNT"/by-time/*; do
	[[ $(basename "$l") =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{4}(-[0-9]+)?$ ]] ||
		fail "by-time name $(basename "$l")"
	t=$(readlink "$l")
	[ "$t" = "../snapshots/$snap1" ] || [ "$t" = "../snapshots/$snap2" ] || fail "by-time link to $t"
	n=$((n + 1))
done
assert_eq "by-time entries" 2 "$n"
assert_eq "latest leads to the newest content" "$(cat "$SRC/sub/deeper/file.txt")" \
	"$(cat "$MNT/latest$SRC/sub/deeper/file.txt")"
assert_eq "by-time leads to a snapshot" "$(ls "$MNT/snapshots/$snap1$SRC")" \
	"$(ls "$MNT/by-time/$(ls "$MNT/by-time" | sed -n 1p)$SRC")"

note "the first snapshot equals its restore (rsync -aAX --checksum, mtimes in ns, diff -r)"
expect_exit 0 kura restore "$snap1" --target "$WORK/restore"
# hard links are files of their own in the mount: compare without -H
out=$(rsync -aAXn --checksum --itemize-changes --numeric-ids --delete "$WORK/restore$SRC/" \
	"$MNT/snapshots/$snap1$SRC/" 2>&1) || fail "rsync: $out"
out=$(grep -v -E '^\.d[^ ]* \./$' <<<"$out" || true)
[ -z "$out" ] || fail "mounted snapshot differs from its restore (rsync -i):
$out"
la=$(_listing "$WORK/restore$SRC" | grep -v -P '\t\.$') lb=$(_listing "$MNT/snapshots/$snap1$SRC" | grep -v -P '\t\.$')
[ "$la" = "$lb" ] || fail "type mode uid gid mtime size target differ:
$(diff <(echo "$la") <(echo "$lb") | sed -n 1,20p)"
diff -r --no-dereference "$WORK/restore$SRC" "$MNT/snapshots/$snap1$SRC" || fail "diff -r differs"
assert_eq "xattr" "ward 4" "$(getfattr --only-values -n user.kura.note "$MNT/latest$SRC/docs/notes.txt")"
assert_contains "ACL" "user:1234:r--" "$(getfacl -n "$MNT/latest$SRC/sub/small.bin" 2>&1)"
assert_eq "owner" "1234:5678" "$(stat -c %u:%g "$MNT/latest$SRC/docs/doc01.txt")"
assert_eq "mtime (ns)" "$(stat -c %y "$SRC/docs/doc02.txt")" "$(stat -c %y "$MNT/latest$SRC/docs/doc02.txt")"
cmp "$SRC/sparse.img" "$MNT/latest$SRC/sparse.img" || fail "sparse file differs"
cmp "$SRC/sub/deeper/file.txt" "$MNT/latest$SRC/sub/deeper/file.txt" || fail "changed file differs"

note "random reads of the 64 MiB file equal the original"
python3 - "$SRC/large.bin" "$MNT/snapshots/$snap1$SRC/large.bin" <<'EOF' || fail "random reads differ"
import os, random, sys
want, got = open(sys.argv[1], "rb"), open(sys.argv[2], "rb")
size = os.fstat(want.fileno()).st_size
assert os.fstat(got.fileno()).st_size == size, "size"
r = random.Random(14)
cases = [(0, 1), (size - 1, 1), (size - 5000, 10000), (size, 10), (1 << 20, 3 << 20)]
cases += [(r.randrange(size), r.choice((1, 511, 4096, 131072, 1 << 20, 5 << 20))) for _ in range(300)]
for off, n in cases:
    a = os.pread(want.fileno(), n, off)
    b = os.pread(got.fileno(), n, off)
    if a != b:
        sys.exit("differs at offset %d, %d bytes (got %d)" % (off, n, len(b)))
print("%d reads compared" % len(cases))
EOF

note "memory stays bounded during a full cat of both snapshots"
# the peak so far is the passphrase's Argon2id (64 MiB): start the count afresh
echo 5 >"/proc/$MOUNT_PID/clear_refs"
before=$(vm_hwm_kib)
bytes=$(find "$MNT/snapshots" -type f -exec cat {} + | wc -c)
[ "$bytes" -gt $((130 * 1024 * 1024)) ] || fail "cat read only $bytes bytes"
after=$(vm_hwm_kib)
note "VmHWM $before KiB before, $after KiB after reading $((bytes / 1048576)) MiB"
# the 16 MiB cache, the chunks in flight (1 MiB on average) and the heap's slack;
# sanitizers keep freed memory in quarantine and shadow it: their builds get room for that
limit=$((40 * 1024))
case $KURA in */san/* | */tsan/*) limit=$((320 * 1024)) ;; esac
[ $((after - before)) -lt "$limit" ] ||
	fail "VmHWM grew by $((after - before)) KiB while reading, more than $limit KiB"
case $KURA in */san/* | */tsan/*) ;; *)
	[ "$after" -lt $((64 * 1024)) ] || fail "VmHWM reached $after KiB while reading (a 16 MiB cache)" ;;
esac

note "read-only"
! touch "$MNT/latest$SRC/empty" 2>/dev/null || fail "a write succeeded"
! mkdir "$MNT/latest$SRC/new" 2>/dev/null || fail "a mkdir succeeded"
note "SIGTERM unmounts"
unmount_kura "$MNT" term

note "one snapshot at the root; SIGINT unmounts"
mount_kura "$MNT" "${snap2:0:8}"
# large.bin was compared above: not read a third time
out=$(rsync -aAXn --checksum --itemize-changes --numeric-ids --exclude=/large.bin "$SRC/" "$MNT$SRC/" 2>&1) ||
	fail "rsync: $out"
cmp -n 1048576 "$SRC/large.bin" "$MNT$SRC/large.bin" || fail "large.bin differs"
out=$(grep -v -E '^\.d[^ ]* \./$' <<<"$out" || true)
[ -z "$out" ] || fail "snapshot 2 differs from the source (rsync -i):
$out"
unmount_kura "$MNT" int

note "a hostile snapshot does not escape the mount; fusermount3 -u unmounts"
hostile=$("$HOSTILESNAP" "$KURA_REPOSITORY") || fail "hostilesnap failed"
mount_kura "$MNT" "$hostile"
assert_eq "entries" "evil liar ok slash up" "$(ls "$MNT" | tr '\n' ' ' | sed 's/ $//')"
assert_eq "ok" "fine" "$(cat "$MNT/ok")"
assert_eq "symlink as stored" "../../../../../../etc" "$(readlink "$MNT/up")"
for d in evil slash; do
	! ls "$MNT/$d" >"$WORK/ls.out" 2>&1 || fail "$d/ was listed: $(cat "$WORK/ls.out")"
	assert_contains "$d/" "Input/output error" "$(cat "$WORK/ls.out")"
done
! stat "$MNT/evil/.." >/dev/null 2>&1 || [ "$(stat -c %i "$MNT/evil/..")" = "$(stat -c %i "$MNT")" ] ||
	fail "evil/.. is not the mount's root"
! cat "$MNT/slash/a/b" >/dev/null 2>&1 || fail "slash/a/b was read"
! cat "$MNT/liar" >/dev/null 2>"$WORK/cat.err" || fail "a short chunk was read"
assert_contains "short chunk" "Input/output error" "$(cat "$WORK/cat.err")"
assert_eq "find sees only the mount" \
	"$(printf '%s\n' "$MNT" "$MNT/evil" "$MNT/liar" "$MNT/ok" "$MNT/slash" "$MNT/up")" \
	"$(find "$MNT" 2>/dev/null | sort)"
kill -0 "$MOUNT_PID" || fail "kura mount died"
assert_contains "damage said" "name is '..'" "$(cat "$WORK/mount.err")"
assert_contains "damage said" "holds 5 bytes where its file's tree says 10" "$(cat "$WORK/mount.err")"
unmount_kura "$MNT" fusermount

note "refusals: a backup key, an unknown snapshot, a missing mount point"
expect_exit 0 kura key backup-key --output "$WORK/backup.key"
expect_exit 13 env KURA_KEY_FILE="$WORK/backup.key" "$KURA" mount all "$MNT"
! mountpoint -q "$MNT" || fail "mounted with a backup key"
expect_exit 1 kura mount ffffffff "$MNT"
assert_contains "unknown snapshot" "kura snapshots" "$ERR"
expect_exit 1 kura mount all "$WORK/nowhere"
assert_contains "missing mount point" "does not exist" "$ERR"
expect_exit 2 kura mount all
expect_exit 2 kura mount all "$MNT" --cache-size 1K

note "through a vault: a reader credential mounts, a writer is refused"
VSRC=$WORK/vsrc
make_tree "$VSRC"
init_vault "$WORK/vault"
vault_client ward4 writer clinic "$WORK/writer.cred"
vault_client restore1 reader clinic "$WORK/reader.cred"
start_vault
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/writer.cred" "$KURA" init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key \
	--output "$WORK/vault-backup.key"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/writer.cred" KURA_KEY_FILE="$WORK/vault-backup.key" \
	"$KURA" backup --no-detect "$VSRC"
expect_fail env KURA_VAULT_CREDENTIALS="$WORK/writer.cred" "$KURA" mount all "$MNT"
! mountpoint -q "$MNT" || fail "mounted with a writer credential"
export KURA_VAULT_CREDENTIALS=$WORK/reader.cred
mount_kura "$MNT" all
out=$(rsync -aAXn --checksum --itemize-changes --numeric-ids "$VSRC/" "$MNT/latest$VSRC/" 2>&1) ||
	fail "rsync: $out"
out=$(grep -v -E '^\.d[^ ]* \./$' <<<"$out" || true)
[ -z "$out" ] || fail "the vault's snapshot differs from the source (rsync -i):
$out"
diff -r --no-dereference "$VSRC" "$MNT/latest$VSRC" || fail "diff -r differs through the vault"
unmount_kura "$MNT" term
stop_vault

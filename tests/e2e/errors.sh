#!/usr/bin/env bash
# errors.sh - refusals and exit codes: wrong passphrase, no repository, weak
# passphrase, usage errors, damaged or hostile key files, bad paths,
# unreadable files, and a restore target with a planted symlink.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
mkdir -p "$SRC/dir/inner"
printf 'one\n' >"$SRC/dir/one.txt"
printf 'two\n' >"$SRC/dir/inner/two.txt"
printf 'top\n' >"$SRC/top.txt"

note "a weak passphrase is refused at init"
printf 'password1234\n' >"$WORK/weak"
expect_fail env KURA_PASSWORD_FILE="$WORK/weak" KURA_REPOSITORY="$WORK/weakrepo" "$KURA" init --kdf interactive
[ ! -e "$WORK/weakrepo/config" ] && [ -z "$(find "$WORK/weakrepo" -type f 2>/dev/null)" ] ||
	fail "init with a weak passphrase left a repository behind: $(find "$WORK/weakrepo" | sed -n 1,10p)"
[ -n "$ERR$OUT" ] || fail "init with a weak passphrase gave no message"
for weak in 'P@ssw0rd' 'administrator' 'aaaaaaaaaaaaaaaaaaaa' ''; do
	printf '%s\n' "$weak" >"$WORK/weak"
	expect_fail env KURA_PASSWORD_FILE="$WORK/weak" KURA_REPOSITORY="$WORK/weakrepo" "$KURA" init --kdf interactive
	[ -z "$(find "$WORK/weakrepo" -type f 2>/dev/null)" ] || fail "init accepted the passphrase '$weak'"
done

init_repo
expect_exit 0 kura backup "$SRC"

note "wrong passphrase: exit 12"
printf 'a wrong but long enough passphrase here\n' >"$WORK/wrongpass"
for cmd in "snapshots" "ls latest" "backup $SRC" "check" "key backup-key --output $WORK/never.key"; do
	# shellcheck disable=SC2086
	expect_exit 12 env KURA_PASSWORD_FILE="$WORK/wrongpass" "$KURA" $cmd
done
[ ! -e "$WORK/never.key" ] || fail "a backup key was written with a wrong passphrase"

note "no repository there: exit 10"
expect_exit 10 env KURA_REPOSITORY="$WORK/nonexistent" "$KURA" snapshots
expect_exit 10 kura -r "$WORK/nonexistent" ls latest
expect_exit 10 kura -r "$WORK/nonexistent" backup "$SRC"
[ ! -e "$WORK/nonexistent" ] || fail "backup to a missing repository created $WORK/nonexistent"
mkdir "$WORK/emptydir"
expect_exit 10 kura -r "$WORK/emptydir" snapshots
expect_exit 10 kura -r "$SRC" snapshots

note "usage errors: exit 2"
expect_exit 2 kura no-such-command
expect_exit 2 kura backup --no-such-option "$SRC"
expect_exit 2 kura --no-such-global-option snapshots
expect_exit 2 kura restore latest # no --target
expect_exit 2 kura init --kdf bogus
expect_exit 2 kura init --chunk-avg 12345x
expect_exit 2 kura --threads notanumber snapshots

note "damaged and hostile key files are refused cleanly"
expect_exit 0 kura key backup-key --output "$WORK/backup.key"
expect_exit 0 kura key export --output "$WORK/restore.key"
keyfile_refused() { # FILE WHAT
	expect_fail setsid -w env -u KURA_PASSWORD_FILE KURA_KEY_FILE="$1" "$KURA" backup "$SRC" </dev/null
	[ -n "$ERR" ] || fail "$2: refused without any message"
	expect_fail setsid -w env KURA_KEY_FILE="$1" "$KURA" snapshots </dev/null
	[ -n "$ERR" ] || fail "$2: refused without any message"
}
head -c 204 /dev/urandom >"$WORK/k-random"
keyfile_refused "$WORK/k-random" "204 random bytes as a key file"
head -c 100 "$WORK/backup.key" >"$WORK/k-short"
keyfile_refused "$WORK/k-short" "a truncated backup key"
: >"$WORK/k-empty"
keyfile_refused "$WORK/k-empty" "an empty key file"
keyfile_refused "$WORK/k-missing" "a missing key file"
case $ERR in *"hint: check KURA_KEY_FILE"*) ;; *) fail "a missing key file: hint does not name KURA_KEY_FILE: $ERR" ;; esac
flip() { # FILE OFFSET: invert one byte in place
	python3 -c '
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xff]))
' "$1" "$2"
}
cp "$WORK/backup.key" "$WORK/k-flipped"; flip "$WORK/k-flipped" 120
keyfile_refused "$WORK/k-flipped" "a backup key with a damaged id_key"
cp "$WORK/backup.key" "$WORK/k-kind"; flip "$WORK/k-kind" 9
keyfile_refused "$WORK/k-kind" "a backup key with a bad kind byte"
cp "$WORK/backup.key" "$WORK/k-version"; flip "$WORK/k-version" 8
keyfile_refused "$WORK/k-version" "a backup key with a bad version"
{ cat "$WORK/backup.key"; printf 'x'; } >"$WORK/k-long"
keyfile_refused "$WORK/k-long" "a backup key with a trailing byte"
cp "$WORK/restore.key" "$WORK/k-rflip"; flip "$WORK/k-rflip" 200
keyfile_refused "$WORK/k-rflip" "a restore key with damaged ciphertext"
# hostile Argon2 limits must be refused before any work is done
python3 - "$WORK/restore.key" "$WORK/k-hugemem" "$WORK/k-hugeops" <<'EOF'
import struct, sys
k = bytearray(open(sys.argv[1], "rb").read())
m = bytearray(k); m[100:108] = struct.pack("<Q", 1 << 42)
open(sys.argv[2], "wb").write(m)
o = bytearray(k); o[92:100] = struct.pack("<Q", 1 << 40)
open(sys.argv[3], "wb").write(o)
EOF
t0=$SECONDS
keyfile_refused "$WORK/k-hugemem" "a restore key asking for 4 TiB of Argon2 memory"
keyfile_refused "$WORK/k-hugeops" "a restore key asking for 2^40 Argon2 passes"
[ $((SECONDS - t0)) -lt 30 ] || fail "hostile Argon2 limits were not refused quickly ($((SECONDS - t0)) s)"
note "a key of another repository: exit 12"
expect_exit 0 env KURA_REPOSITORY="$WORK/repo2" "$KURA" init --kdf interactive
expect_exit 0 env KURA_REPOSITORY="$WORK/repo2" "$KURA" key backup-key --output "$WORK/other-backup.key"
expect_exit 12 setsid -w env -u KURA_PASSWORD_FILE KURA_KEY_FILE="$WORK/other-backup.key" "$KURA" backup "$SRC"
expect_exit 0 env KURA_REPOSITORY="$WORK/repo2" "$KURA" key export --output "$WORK/other-restore.key"
expect_exit 12 env KURA_KEY_FILE="$WORK/other-restore.key" "$KURA" ls latest
nsnap=$(ls "$KURA_REPOSITORY/snapshots" | wc -l)
assert_eq "snapshots after the refused key files" 1 "$nsnap"

note "backup of a nonexistent path fails"
expect_fail kura backup "$WORK/does/not/exist"
expect_fail kura backup "$SRC" "$WORK/does/not/exist"
nsnap=$(ls "$KURA_REPOSITORY/snapshots" | wc -l)
assert_eq "snapshots after failed backups of missing paths" 1 "$nsnap"

note "backup with an unreadable file: exit 3"
if [ "$(id -u)" -ne 0 ]; then
	U=$WORK/unr
	mkdir -p "$U/src"; printf 'ok\n' >"$U/src/ok.txt"; printf 'secret\n' >"$U/src/locked.txt"
	chmod 000 "$U/src/locked.txt"
	expect_exit 3 kura --json backup "$U/src"
	v=$(json_get "$OUT" 'd["files_unreadable"]')
	assert_eq "files_unreadable" 1 "$v"
	id=$(json_get "$OUT" 'd["snapshot_id"]')
	expect_exit 0 kura restore "$id" --target "$WORK/r-unr"
	cmp "$U/src/ok.txt" "$WORK/r-unr$U/src/ok.txt" || fail "the readable file was not restored"
elif command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$KURA"; then
	# we are root: run that backup as nobody, who cannot read a 0600 root file
	U=$WORK/unr
	chmod 755 "$WORK" # nobody must be able to read the ancestors too
	mkdir -p "$U/src"; chown 65534:65534 "$U"
	printf 'ok\n' >"$U/src/ok.txt"; printf 'secret\n' >"$U/src/locked.txt"
	chmod 600 "$U/src/locked.txt"; chmod 644 "$U/src/ok.txt"
	cp "$PASSFILE" "$U/pass"; chown 65534 "$U/pass"
	asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$U" \
		KURA_REPOSITORY="$U/repo" KURA_CACHE_DIR="$U/cache" KURA_PASSWORD_FILE="$U/pass" "$KURA" "$@" </dev/null; }
	expect_exit 0 asnobody init --kdf interactive
	expect_exit 3 asnobody --json backup "$U/src"
	v=$(json_get "$OUT" 'd["files_unreadable"]')
	assert_eq "files_unreadable" 1 "$v"
	grep -qF "locked.txt" <<<"$ERR" || fail "the unreadable file is not named on stderr: $ERR"
	id=$(json_get "$OUT" 'd["snapshot_id"]')
	expect_exit 0 asnobody ls "$id"
	grep -qxF "$U/src/ok.txt" <<<"$OUT" || fail "the snapshot with an unreadable file lacks the readable one: $OUT"
	expect_exit 0 env KURA_REPOSITORY="$U/repo" KURA_CACHE_DIR="$U/cache" "$KURA" restore "$id" --target "$WORK/r-unr"
	cmp "$U/src/ok.txt" "$WORK/r-unr$U/src/ok.txt" || fail "the readable file was not restored"
	if [ -e "$WORK/r-unr$U/src/locked.txt" ] && cmp -s "$U/src/locked.txt" "$WORK/r-unr$U/src/locked.txt"; then
		fail "the unreadable file was restored with content nobody could read"
	fi
	chmod 700 "$WORK"
else
	echo "SKIP unreadable-file check (root and no setpriv)"
fi

note "restore refuses to follow a symlink planted in the target"
OUTSIDE=$(mktemp -d "${TMPDIR:-/tmp}/kura-e2e-outside.XXXXXX")
at_exit "rm -rf '$OUTSIDE'"
printf 'sentinel\n' >"$OUTSIDE/sentinel"
touch -d '2001-01-01' "$OUTSIDE/sentinel" "$OUTSIDE"
state_outside() { find "$OUTSIDE" -printf '%p %y %m %U %G %T@ %s\n' | sort; cat "$OUTSIDE/sentinel"; }
before=$(state_outside)
top=${SRC#/}; top=${top%%/*} # first component of $SRC, e.g. tmp
T=$WORK/target1
mkdir "$T"
ln -s "$OUTSIDE" "$T/$top"
rc=0
kura restore latest --target "$T" >"$WORK/o" 2>"$WORK/e" || rc=$?
no_crash $rc "$WORK/e" "restore into $T with a planted symlink"
after=$(state_outside)
assert_eq "directory outside the target (planted symlink at $T/$top)" "$before" "$after"
# what the symlink blocks is not restored: never a silent success, but no damage
# either: the name is taken (exit 5, not the integrity error 4)
assert_eq "restore exit status with a planted symlink at the top" 5 "$rc"
echo "(planted symlink at the top: exit $rc, stderr: $(head -c 300 "$WORK/e"))"

note "... and deeper in the tree"
before=$(state_outside)
T=$WORK/target2
mkdir -p "$T$SRC"
ln -s "$OUTSIDE" "$T$SRC/dir"
rc=0
kura restore latest --target "$T" >"$WORK/o" 2>"$WORK/e" || rc=$?
no_crash $rc "$WORK/e" "restore into $T with a planted symlink"
after=$(state_outside)
assert_eq "directory outside the target (planted symlink at $T$SRC/dir)" "$before" "$after"
cmp "$SRC/top.txt" "$T$SRC/top.txt" || fail "restore next to a planted symlink did not restore top.txt"
assert_eq "restore exit status with a planted symlink deeper" 5 "$rc"
echo "(planted symlink deeper: exit $rc, stderr: $(head -c 300 "$WORK/e"))"

note "a symlink planted at a file's place is not written through"
T=$WORK/target3
mkdir -p "$T$SRC"
ln -s "$OUTSIDE/sentinel" "$T$SRC/top.txt"
before=$(state_outside)
rc=0
kura restore latest --target "$T" >"$WORK/o" 2>"$WORK/e" || rc=$?
no_crash $rc "$WORK/e" "restore into $T with a planted symlink"
after=$(state_outside)
assert_eq "file outside the target (planted symlink at $T$SRC/top.txt)" "$before" "$after"

note "--stdin-filename cannot escape the restore target"
rc=0
printf 'escape\n' | "$KURA" --json backup --stdin --stdin-filename ../../escaped.txt >"$WORK/o" 2>"$WORK/e" || rc=$?
no_crash $rc "$WORK/e" "backup --stdin-filename ../../escaped.txt"
if [ $rc -eq 0 ]; then
	id=$(json_get "$(cat "$WORK/o")" 'd["snapshot_id"]')
	mkdir -p "$WORK/deep/a/b/target"
	rc=0
	kura restore "$id" --target "$WORK/deep/a/b/target" >/dev/null 2>"$WORK/e" || rc=$?
	no_crash $rc "$WORK/e" "restore of a '../../escaped.txt' snapshot"
	[ -z "$(find "$WORK/deep" -name escaped.txt ! -path "$WORK/deep/a/b/target/*")" ] ||
		fail "restore wrote outside the target: $(find "$WORK/deep" -name escaped.txt)"
fi

echo "PASS errors"

#!/usr/bin/env bash
# slow
# fidelity.sh - back up real system trees nobody here wrote, plus a crafted
# tree of every file type and attribute kura claims to keep, restore them,
# and compare everything: content, type, mode, owner, nanosecond mtimes,
# hard links, xattrs, ACLs, device numbers, sparseness.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP fidelity: needs root (mknod, chown)"; exit 0; }

C=$WORK/crafted
mkdir -p "$C"
note "crafting a tree of special cases in $C"
mkdir -p "$C/hl" "$C/empty-dir" "$C/private" "$C/acl-dir" "$C/setgid-dir" "$C/sticky-dir" "$C/devs"
gen_random "$C/hl/data.bin" 300000 hl
ln "$C/hl/data.bin" "$C/hl/link2.bin"
ln "$C/hl/data.bin" "$C/private/link3.bin"
printf 'two names\n' >"$C/pair-a"; ln "$C/pair-a" "$C/pair-b"
# sparse: 1 GiB with a few bytes in the middle and at the end
truncate -s 1G "$C/sparse.img"
printf 'in the middle' | dd of="$C/sparse.img" bs=1 seek=$((512 * 1024 * 1024)) conv=notrunc status=none
printf 'at the end' | dd of="$C/sparse.img" bs=1 seek=$((1024 * 1024 * 1024 - 10)) conv=notrunc status=none
# a file that is all hole
truncate -s 100M "$C/all-hole.img"
# data, hole, data
gen_random "$C/holey.bin" 70000 holey
truncate -s 20M "$C/holey.bin"
gen_random "$C/tail.tmp" 70000 tail; cat "$C/tail.tmp" >>"$C/holey.bin"; rm "$C/tail.tmp"
mkfifo "$C/fifo"
mknod "$C/devs/null-like" c 1 3
mknod "$C/devs/block" b 7 200
mknod "$C/devs/bigdev" c 259 1048575
printf 'xattrs\n' >"$C/xattr-file"
setfattr -n user.x -v 1 "$C/xattr-file"
setfattr -n user.empty "$C/xattr-file"
setfattr -n user.binary -v 0x00ff10fe00 "$C/xattr-file"
setfattr -n user.long -v "$(head -c 3000 /dev/zero | tr '\0' 'v')" "$C/xattr-file"
setfattr -n user.on-dir -v yes "$C/empty-dir"
printf 'acl\n' >"$C/acl-file"
setfacl -m u:nobody:r "$C/acl-file"
setfacl -m g:nogroup:rw "$C/acl-file"
setfacl -m u:nobody:rx "$C/acl-dir"
setfacl -d -m u:nobody:rx "$C/acl-dir"
printf 'owned\n' >"$C/owned-numeric"; chown 12345:54321 "$C/owned-numeric"
printf 'owned\n' >"$C/owned-nobody"; chown nobody:nogroup "$C/owned-nobody"
ln -s owned-nobody "$C/symlink-owned"; chown -h 12345:54321 "$C/symlink-owned"
printf '#!/bin/sh\n' >"$C/setuid"; chmod 4755 "$C/setuid"
printf '#!/bin/sh\n' >"$C/setgid"; chown 0:12345 "$C/setgid"; chmod 2711 "$C/setgid"
printf 'odd\n' >"$C/odd-mode"; chmod 0407 "$C/odd-mode"
printf 'none\n' >"$C/no-perms"; chmod 0000 "$C/no-perms"
chmod 2775 "$C/setgid-dir"; chmod 1777 "$C/sticky-dir"
printf 'secret\n' >"$C/private/secret"
ln -s ../hl/data.bin "$C/private/rel-link"
ln -s "/absolute/$(head -c 200 /dev/zero | tr '\0' 'p')" "$C/long-target-link"
: >"$C/empty-file"
printf 'newline\n' >"$C/name with
newline"
printf 'bad utf8\n' >"$C/$(printf 'bad-\xff\xfe-utf8')"
printf 'long name\n' >"$C/$(head -c 255 /dev/zero | tr '\0' 'L')"
mkdir -p "$C/deep/$(printf 'd%.0s/' $(seq 1 60))"
printf 'deep\n' >"$C/deep/$(printf 'd%.0s/' $(seq 1 60))leaf"
# nanosecond mtimes on everything, directories last (children change them)
find "$C" ! -type d -exec touch -h -d '2020-01-02 03:04:05.123456789' {} +
touch -h -d '1970-01-01 00:00:00.000000001' "$C/symlink-owned"
touch -d '1969-07-20 20:17:40.5' "$C/odd-mode" # before the epoch
touch -d '2100-12-31 23:59:59.999999999' "$C/owned-numeric"
find "$C" -depth -type d -exec touch -d '2019-05-06 07:08:09.987654321' {} +
chmod 0700 "$C/private"
chmod 0500 "$C/devs"

alloc_kib() { du -k "$1" | cut -f1; }
src_alloc=$(alloc_kib "$C/sparse.img")
[ "$src_alloc" -lt 10240 ] || fail "this file system does not keep $C/sparse.img sparse ($src_alloc KiB); cannot test"

# FIDELITY_EXTRA="/usr/lib/x86_64-linux-gnu ..." adds more trees
# shellcheck disable=SC2206
SOURCES=(/etc /usr/share/doc /usr/share/zoneinfo /usr/share/man /usr/include /usr/share/locale
	/usr/share/i18n /usr/lib/python3 ${FIDELITY_EXTRA:-} "$C")
present=()
for s in "${SOURCES[@]}"; do [ -d "$s" ] && present+=("$s"); done
# the system trees must not change under us: take a copy-free fingerprint now
listing() { _listing "$1"; } # type mode uid gid mtime(ns) size target path
devs() { (cd "$1" && find . \( -type c -o -type b \) -exec stat -c '%n %t:%T' {} + | LC_ALL=C sort); }
xattrs() { (cd "$1" && getfattr -R -P -d -m - -e hex . 2>/dev/null | grep -v '^$' || true); }
acls() { (cd "$1" && getfacl -R -P -n . 2>/dev/null || true); }
links() { # groups of names that share an inode, as name lists
	(cd "$1" && find . -type f -links +1 -printf '%i %p\n' | LC_ALL=C sort |
		awk '{ if ($1 != prev && NR > 1) print line; if ($1 != prev) line = $2; else line = line " " $2; prev = $1 } END { if (NR) print line }' | LC_ALL=C sort)
}

note "backing up ${present[*]}"
t0=$SECONDS
init_repo
backup_json "${present[@]}"
snap=$SNAP_ID
echo "(backup took $((SECONDS - t0)) s: $(json_get "$OUT" '"%d files, %d bytes" % (d["files_new"], d["total_bytes_processed"])'))"
v=$(json_get "$OUT" 'd["files_unreadable"]')
assert_eq "files_unreadable" 0 "$v"

note "restoring"
t0=$SECONDS
expect_exit 0 kura restore latest --target "$WORK/r"
echo "(restore took $((SECONDS - t0)) s)"

problems=0
report() { echo "DIFFERENCE: $*" >&2; problems=$((problems + 1)); }
for s in "${present[@]}"; do
	r=$WORK/r$s
	note "comparing $s with $r"
	[ -d "$r" ] || { report "$r was not restored"; continue; }
	out=$(rsync -aHAXn --checksum --itemize-changes --numeric-ids --delete "$s/" "$r/" 2>&1) || report "rsync failed on $s: $out"
	[ -z "$out" ] || report "rsync -aHAXn --checksum: $s differs from $r:
$(head -n 40 <<<"$out")"
	for what in listing devs xattrs acls links; do
		a=$($what "$s") b=$($what "$r")
		[ "$a" = "$b" ] || report "$what of $s differs from $r:
$(diff <(echo "$a") <(echo "$b") | sed -n 1,40p)"
	done
done

note "sparse files stay sparse"
for f in sparse.img all-hole.img; do
	got=$(alloc_kib "$WORK/r$C/$f")
	[ "$got" -lt 10240 ] || report "restored $f occupies $got KiB (source: $(alloc_kib "$C/$f") KiB): not sparse"
done
cmp "$C/sparse.img" "$WORK/r$C/sparse.img" || report "sparse.img content differs"

note "restore with --numeric-owner"
expect_exit 0 kura restore "$snap:$C" --target "$WORK/rn" --numeric-owner
for f in owned-numeric owned-nobody symlink-owned setgid; do
	a=$(stat -c '%u:%g %a' "$C/$f") b=$(stat -c '%u:%g %a' "$WORK/rn/$f")
	[ "$a" = "$b" ] || report "--numeric-owner: $f is $b, expected $a"
done
out=$(rsync -aHAXn --checksum --itemize-changes --numeric-ids --delete "$C/" "$WORK/rn/" | grep -v -E '^\.d[^ ]* \./$' || true)
[ -z "$out" ] || report "--numeric-owner restore of $C differs:
$out"

[ "$problems" -eq 0 ] || fail "$problems difference(s) between the sources and their restored copies (above)"
expect_exit 0 kura check
echo "PASS fidelity"

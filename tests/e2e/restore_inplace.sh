#!/usr/bin/env bash
# restore_inplace.sh - restore in place over a tree ransomware encrypted
# (issue 14): `--overwrite if-changed --delete` makes the target equal to
# the pre-attack tree (rsync -aHAXn --checksum --delete: no difference),
# files the attack did not touch keep their inode, `--dry-run` changes
# nothing and lists exactly what the real run then does, a restore killed
# with SIGKILL mid-file leaves the old file or the new one under each name
# and a second run converges to the same result (removing its
# temporaries), a symlink planted in the target is not followed, --verify
# catches a file changed behind an unchanged size and mtime, and without
# --overwrite nothing is touched (exit 5).
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
CLEAN=$WORK/clean
OUTSIDE=$WORK/outside
mkdir -p "$(dirname "$SRC")" "$OUTSIDE"
python3 "$_lib_root/bench/mkdata.py" --size 3M --seed 7 "$SRC" >/dev/null
mkdir -p "$SRC/links"
ln -s ../documents "$SRC/links/docs"
ln "$(find "$SRC/documents" -type f | sort | sed -n 1p)" "$SRC/links/hard"
# a bigger file, for the kill mid-restore
gen_random "$SRC/big.bin" $((24 * 1024 * 1024)) big
cp -a "$SRC" "$CLEAN"
init_repo --chunk-min 64K --chunk-avg 256K --chunk-max 1M
backup_json --no-detect "$SRC"
SNAP=$SNAP_ID

# checksums of every file of a tree, with its type, mode and mtime
tree_sum() {
	(cd "$1" && find . -printf '%y %m %T@ %s %l %p\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) | sha256sum | cut -d' ' -f1
}
inode_of() { stat -c %i "$1"; }

# The attack: two of the four areas encrypted and renamed (*.locked, a note
# per directory); the others untouched.
attack() {
	python3 "$_lib_root/bench/mkdata.py" --ransomware --seed 7 "$SRC/documents" >/dev/null
	python3 "$_lib_root/bench/mkdata.py" --ransomware --seed 7 "$SRC/shared" >/dev/null
	# and a file outside the target, reached only through a planted symlink
	echo "outside, must not change" >"$OUTSIDE/victim"
	rm -rf "$SRC/databases/planted"
	ln -s "$OUTSIDE" "$SRC/planted"
	# a symlink where a directory of the snapshot should be
	rm -rf "$SRC/imaging"
	ln -s "$OUTSIDE" "$SRC/imaging"
}
attack
[ -n "$(find "$SRC" -name '*.locked' | sed -n 1p)" ] || fail "mkdata --ransomware made no *.locked file"
untouched=$(find "$SRC/databases" -type f | sort | sed -n 1p)
ino_before=$(inode_of "$untouched")
# every file of the area the attack left alone, by inode
untouched_inodes() { (cd "$SRC/databases" && find . -type f -printf '%i %p\n' | LC_ALL=C sort); }
inodes_before=$(untouched_inodes)
[ "$(wc -l <<<"$inodes_before")" -ge 4 ] || fail "databases/ holds too few files to compare inodes"
outside_sum=$(sha256sum "$OUTSIDE/victim")

note "without --overwrite nothing already there is touched (exit 5)"
before=$(tree_sum "$SRC")
cp -a "$SRC" "$WORK/copy"
expect_exit 5 kura restore "$SNAP:$SRC" --target "$WORK/copy"
out=$(rsync -aHAXn --checksum --itemize-changes --numeric-ids "$SRC/" "$WORK/copy/" | grep -v -E '^\.d' || true)
assert_eq "paths already there that a restore without --overwrite changed" "" "$out"
[ -n "$(find "$WORK/copy" -name '*.locked' | sed -n 1p)" ] || fail "*.locked removed without --delete"
rm -rf "$WORK/copy"

note "--dry-run changes nothing and lists every create, replace and delete"
expect_exit 0 kura --json restore "$SNAP:$SRC" --target "$SRC" --overwrite if-changed --delete --dry-run
DRY=$OUT
assert_eq "tree after --dry-run" "$before" "$(tree_sum "$SRC")"
assert_eq "dry_run" true "$(json_get "$DRY" 'd["dry_run"]')"
ndel=$(json_get "$DRY" 'len(d["deleted"])')
nlocked=$(find "$SRC" -name '*.locked' | wc -l)
[ "$ndel" -gt "$nlocked" ] || fail "dry run deletes $ndel paths, fewer than the $nlocked *.locked files"
v=$(json_get "$DRY" 'all(p.endswith(".locked") or p.endswith("README_RESTORE.txt") or p.endswith("/planted") or "/imaging" in p for p in d["deleted"])')
assert_eq "dry run deletes only the attack's files" true "$v"
v=$(json_get "$DRY" 'any(p.endswith("/imaging") for p in d["replaced"])')
assert_eq "the symlink in place of imaging/ is to be replaced" true "$v"
v=$(json_get "$DRY" "\"$untouched\" in d[\"created\"] + d[\"replaced\"]")
assert_eq "an untouched file is neither created nor replaced" false "$v"

note "kill -9 in the middle of a big file, then run again"
echo "ransomed" >"$SRC/big.bin" # the attack got it too: replaced by a short file
truncate -s $((24 * 1024 * 1024)) "$SRC/big.bin"
big_ino=$(inode_of "$SRC/big.bin")
"$KURA" restore "$SNAP:$SRC" --target "$SRC" --overwrite if-changed --delete --threads 1 \
	</dev/null >"$WORK/kill.out" 2>&1 &
pid=$!
# wait until the big file's temporary is being written
for _ in $(seq 1 400); do
	t=$(find "$SRC" -maxdepth 1 -name '.kura-tmp.*' -size +1M 2>/dev/null | sed -n 1p)
	[ -n "$t" ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.05
done
if [ -n "${t:-}" ] && kill -9 $pid 2>/dev/null; then
	wait $pid || true
	note "killed with $(find "$SRC" -name '.kura-tmp.*' | wc -l) temporaries left"
	# under its name: the old file (never half the new one)
	assert_eq "big.bin after the kill is still the old file" "$big_ino" "$(inode_of "$SRC/big.bin")"
	[ "$(head -c 8 "$SRC/big.bin")" = "ransomed" ] || fail "big.bin after the kill is not the old file"
else
	wait $pid || true
	note "the restore finished before it could be killed (a fast machine): the rerun still runs"
fi

note "restore in place (again): the target equals the pre-attack tree"
expect_exit 0 kura --json restore "$SNAP:$SRC" --target "$SRC" --overwrite if-changed --delete
REAL=$OUT
[ -z "$(find "$SRC" -name '.kura-tmp.*')" ] || fail "temporaries left after the rerun"
[ -z "$(find "$SRC" -name '*.locked')" ] || fail "*.locked files left"
same_contents "$CLEAN" "$SRC"
out=$(rsync -aHAXn --checksum --itemize-changes --numeric-ids --delete "$CLEAN/" "$SRC/")
assert_eq "rsync -aHAXn --checksum --delete differences" "" "$out"
assert_eq "untouched file's inode" "$ino_before" "$(inode_of "$untouched")"
assert_eq "inodes of every untouched file" "$inodes_before" "$(untouched_inodes)"
assert_eq "the file outside the target" "$outside_sum" "$(sha256sum "$OUTSIDE/victim")"
[ -d "$SRC/imaging" ] && [ ! -L "$SRC/imaging" ] || fail "imaging/ is not a directory again"
[ "$(find "$OUTSIDE" | wc -l)" = 2 ] || fail "something was written outside the target: $(find "$OUTSIDE")"

note "second run: nothing to do, every inode kept"
inodes=$(cd "$SRC" && find . -printf '%i %p\n' | sort)
expect_exit 0 kura --json restore "$SNAP:$SRC" --target "$SRC" --overwrite if-changed --delete
v=$(json_get "$OUT" 'd["paths_created"] + d["paths_replaced"] + d["paths_deleted"]')
assert_eq "changes made by a second run" 0 "$v"
assert_eq "inodes after a second run" "$inodes" "$(cd "$SRC" && find . -printf '%i %p\n' | sort)"

note "the dry run's lists match what a real run does (from the same attacked state)"
rm -rf "$SRC" && cp -a "$CLEAN" "$SRC"
attack
expect_exit 0 kura --json restore "$SNAP:$SRC" --target "$SRC" --overwrite if-changed --delete --dry-run
DRY=$OUT
expect_exit 0 kura --json restore "$SNAP:$SRC" --target "$SRC" --overwrite if-changed --delete
REAL=$OUT
for k in created replaced deleted; do
	a=$(json_get "$DRY" "\"\\n\".join(sorted(d[\"$k\"]))")
	b=$(json_get "$REAL" "\"\\n\".join(sorted(d[\"$k\"]))")
	[ "$a" = "$b" ] || fail "dry run's $k differs from the real run's:
$(diff <(echo "$a") <(echo "$b") | sed -n 1,20p)"
done
same_contents "$CLEAN" "$SRC"

note "--verify catches content changed behind the same size and mtime"
f=$(find "$SRC/databases" -type f | sort | sed -n 1p)
python3 - "$f" <<'EOF'
import os, sys
p = sys.argv[1]
st = os.stat(p)
with open(p, "r+b") as fh:
    fh.seek(100)
    fh.write(b"\xde\xad\xbe\xef")
os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
EOF
expect_exit 0 kura --json restore "$SNAP:$SRC" --target "$SRC" --overwrite if-changed
assert_eq "if-changed without --verify keeps it" 0 "$(json_get "$OUT" 'd["paths_replaced"]')"
expect_exit 0 kura --json restore "$SNAP:$SRC" --target "$SRC" --overwrite if-changed --verify
assert_eq "if-changed --verify replaces it" "[\"$f\"]" "$(json_get "$OUT" 'd["replaced"]')"
cmp -s "$f" "$CLEAN/${f#"$SRC"/}" || fail "$f not restored by --verify"

note "--overwrite always replaces every file"
n=$(find "$SRC" -type f | wc -l)
expect_exit 0 kura --json restore "$SNAP:$SRC" --target "$SRC" --overwrite always
v=$(json_get "$OUT" 'd["paths_replaced"]')
[ "$v" -ge "$n" ] || fail "--overwrite always replaced $v paths, fewer than the $n files"
same_contents "$CLEAN" "$SRC"

note "--delete leaves what is above the paths the backup was given"
W=$WORK/whole
mkdir -p "$W"
expect_exit 0 kura restore "$SNAP" --target "$W" --include "$SRC/documents*"
echo keep >"$W/stray-above"
echo gone >"$W$SRC/documents/stray-below"
expect_exit 0 kura --json restore "$SNAP" --target "$W" --include "$SRC/documents*" --overwrite if-changed --delete
assert_eq "deleted" "[\"$W$SRC/documents/stray-below\"]" "$(json_get "$OUT" 'd["deleted"]')"
[ -f "$W/stray-above" ] || fail "--delete removed a file above the backed-up path"

note "another file system mounted inside the target is left alone without --cross-fs"
M=$SRC/databases/mnt
mkdir -p "$M"
if mount -t tmpfs -o size=1M kura-test "$M" 2>/dev/null; then
	at_exit "umount '$M' 2>/dev/null || true"
	echo other >"$M/on-other-fs"
	expect_exit 0 kura --json restore "$SNAP:$SRC" --target "$SRC" --overwrite if-changed --delete
	[ -f "$M/on-other-fs" ] || fail "--delete removed a file on another file system"
	assert_contains "the warning" "another file system" "$ERR"
	expect_exit 0 kura --json restore "$SNAP:$SRC" --target "$SRC" --overwrite if-changed --delete --cross-fs
	[ ! -e "$M/on-other-fs" ] || fail "--delete --cross-fs left the file on the other file system"
	umount "$M"
	rmdir "$M"
else
	note "SKIP the other file system part: cannot mount a tmpfs here (not root?)"
	rmdir "$M"
fi

note "bad usage"
expect_exit 2 kura restore "$SNAP" --target "$SRC" --overwrite sometimes
echo "PASS"

#!/usr/bin/env bash
# eio.sh - a disk that answers EIO: kura names the file and the errno, does
# everything that does not need the failing file, and exits non-zero with
# the truth (issue 9: errors name the cause, one test per errno class).
#
# The failing disk is build/tools/eiofs (tests/tools/eiofs.c), a FUSE file
# system that mirrors a directory and answers EIO to reads or writes of
# the files matching a pattern; it logs every EIO it gives, so each case
# also proves that the failure really happened.  Four cases:
#   1. backup of a tree where one file reads EIO: the file and the errno
#      are named, the rest is stored, exit 3;
#   2. restore from a repository whose one pack reads EIO: the pack is
#      named, every file that does not need it is restored byte-identical,
#      the others are listed as failed in --json, exit 4;
#   3. restore into a target where one file's writes fail: the file and
#      the errno are named, the rest is restored;
#   4. backup into a repository whose writes fail: the errno, no snapshot.
# Needs root and /dev/fuse; says SKIP with the reason otherwise.
. "$(dirname "$0")/lib.sh"

EIOFS=${EIOFS:-$(dirname "$KURA")/tools/eiofs}
if [ "$(id -u)" != 0 ]; then
	echo "SKIP $TEST_NAME: needs root to mount eiofs"
	exit 0
fi
if [ ! -c /dev/fuse ]; then
	echo "SKIP $TEST_NAME: no /dev/fuse here (modprobe fuse, or give the container the device)"
	exit 0
fi
if [ ! -x "$EIOFS" ]; then
	echo "SKIP $TEST_NAME: no $EIOFS (built only where libfuse3-dev is installed: scripts/deps.sh)"
	exit 0
fi
CAUSE="Input/output error"
LOG=$WORK/eiofs.log
: >"$LOG"

mount_eiofs() { # SOURCE MOUNTPOINT [--read-eio|--write-eio PATTERN]...
	local src=$1 mnt=$2 pid i
	shift 2
	mkdir -p "$mnt"
	"$EIOFS" "$@" "$src" "$mnt" 2>>"$LOG" &
	pid=$!
	at_exit "kill $pid 2>/dev/null; umount -l '$mnt' 2>/dev/null"
	for i in $(seq 1 100); do
		mountpoint -q "$mnt" && return 0
		kill -0 "$pid" 2>/dev/null || fail "eiofs exited before mounting $mnt: $(tail -n 5 "$LOG")"
		sleep 0.05
	done
	fail "eiofs did not mount $mnt within 5 s"
}

gave_eio() { # OP PATH: eiofs really answered EIO to it
	grep -qF "eiofs: EIO $1 $2" "$LOG" || fail "eiofs gave no EIO on $1 of $2; its log:
$(cat "$LOG")"
}

note "1. backup: one file of the tree reads EIO"
SRC=$WORK/src
make_tree "$SRC"
gen_random "$SRC/sub/broken.bin" $((300 * 1024)) broken
mount_eiofs "$SRC" "$WORK/m-src" --read-eio /sub/broken.bin
init_repo --pack-size 1M --chunk-min 64K --chunk-avg 256K --chunk-max 1M
expect_exit 3 kura --json backup "$WORK/m-src"
gave_eio read /sub/broken.bin
assert_contains "names the file" "$WORK/m-src/sub/broken.bin" "$ERR"
assert_contains "names the errno" "$CAUSE" "$(grep -F broken.bin <<<"$ERR")"
assert_eq "one file unreadable" 1 "$(json_get "$OUT" 'd["files_unreadable"]')"
snap=$(json_get "$OUT" 'd["snapshot_id"]')
expect_exit 0 kura restore "$snap" --target "$WORK/r1"
[ ! -e "$WORK/r1$WORK/m-src/sub/broken.bin" ] || fail "the unreadable file was stored"
cp -a "$SRC" "$WORK/expect1"
rm "$WORK/expect1/sub/broken.bin"
touch -r "$SRC/sub" "$WORK/expect1/sub"
same_contents "$WORK/expect1" "$WORK/r1$WORK/m-src"

note "2. restore: one pack of the repository reads EIO"
DATA=$WORK/data2
mkdir -p "$DATA/small"
for i in 1 2 3 4 5; do gen_random "$DATA/big$i.bin" $((1200 * 1024)) "big$i"; done
for i in $(seq 1 10); do gen_text "$DATA/small/s$i.txt" 40 "s$i"; done
R2=$WORK/repo2
expect_exit 0 kura -r "$R2" init --kdf interactive --pack-size 1M --chunk-min 64K \
	--chunk-avg 256K --chunk-max 1M
expect_exit 0 kura -r "$R2" backup "$DATA"
# a full data pack (the trees go into the last, small one)
pack=$(find "$R2/data" -type f -size +900k -printf '%s %f\n' | sort -n | tail -n1 | cut -d' ' -f2)
[ -n "$pack" ] || fail "no full pack in $R2/data"
mount_eiofs "$R2" "$WORK/m-repo" --read-eio "*/$pack"
expect_exit 4 kura -r "$WORK/m-repo" --json restore latest --target "$WORK/r2"
gave_eio read "/data/${pack:0:2}/$pack"
assert_contains "names the pack" "$pack" "$ERR"
assert_contains "names the errno" "$CAUSE" "$(grep -F "$pack" <<<"$ERR")"
assert_not_contains "an unreadable pack is not called damaged data" "holds it intact" "$ERR"
python3 - "$OUT" "$DATA" "$WORK/r2$DATA" <<'EOF' || fail "restore from a repository with an EIO pack"
import filecmp, json, os, sys
d, src, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
failed = {f["path"] for f in d["failed"]}
assert failed, "no file is listed as failed: %r" % d
assert all(f["error"] for f in d["failed"]), d["failed"]
files = [os.path.relpath(os.path.join(r, n), src) for r, _, ns in os.walk(src) for n in ns]
restored = 0
for rel in files:
    mine = os.path.join(out, rel)
    if any(p.endswith("/" + rel) for p in failed):
        assert not os.path.exists(mine), "failed %s left under its name" % rel
        continue
    assert filecmp.cmp(os.path.join(src, rel), mine, shallow=False), "%s differs" % rel
    restored += 1
assert restored == d["files_restored"], (restored, d["files_restored"])
assert restored + len(failed) == len(files), (restored, failed, len(files))
assert restored >= len(files) // 2, "too few restored: %d of %d" % (restored, len(files))
print("restored %d, failed %d: %s" % (restored, len(failed), sorted(failed)))
EOF

note "3. restore into a target where one file's writes fail"
TGT=$WORK/target
mkdir -p "$TGT"
mount_eiofs "$TGT" "$WORK/m-tgt" --write-eio '*/docs/notes.txt'
expect_exit 1 kura --json restore "$snap" --target "$WORK/m-tgt/out"
gave_eio write "/out$WORK/m-src/docs/notes.txt"
assert_contains "names the file" "docs/notes.txt" "$(grep -F "$CAUSE" <<<"$ERR")"
assert_eq "the failed file in --json" "['$WORK/m-tgt/out$WORK/m-src/docs/notes.txt']" \
	"$(json_get "$OUT" 'str([f["path"] for f in d["failed"]])')"
[ ! -e "$TGT/out$WORK/m-src/docs/notes.txt" ] || fail "the file that failed is left under its name"
cmp "$SRC/big.bin" "$TGT/out$WORK/m-src/big.bin" || fail "the other files were not restored"
cmp "$SRC/sub/deeper/file.txt" "$TGT/out$WORK/m-src/sub/deeper/file.txt" ||
	fail "the other files were not restored"

note "4. backup into a repository whose writes fail"
R4=$WORK/repo4
expect_exit 0 kura -r "$R4" init --kdf interactive
mount_eiofs "$R4" "$WORK/m-repo4" --write-eio '/tmp/*'
expect_exit 1 kura -r "$WORK/m-repo4" backup "$SRC"
gave_eio write /tmp/
assert_contains "names the errno" "$CAUSE" "$ERR"
assert_not_contains "no snapshot saved" "saved" "$OUT$ERR"
[ -z "$(ls "$R4/snapshots")" ] || fail "a snapshot was written"

echo "PASS eio"

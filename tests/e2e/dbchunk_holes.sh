#!/usr/bin/env bash
# dbchunk_holes.sh - pieces of pages (docs/FORMAT.md "Small chunks") follow
# the file's 16 KiB grid, not the start of each data region: in a sparse
# PostgreSQL relation segment whose data resumes 8 KiB off the grid after a
# hole, rewriting 8 aligned 16 KiB pieces stores 8 pieces, where pieces
# counted from the region's start would straddle them and store 16.  Every
# version restores byte for byte, holes included.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/src
REL=$SRC/pg/base/16384/16390
mkdir -p "$(dirname "$REL")"
init_repo

# random 8 KiB pages (incompressible) at [0, 40 KiB) and [1 MiB + 8 KiB, 3 MiB), a hole between
python3 - "$REL" <<'PY'
import random, sys
r = random.Random(5)
with open(sys.argv[1], "wb") as f:
    f.write(r.randbytes(5 * 8192))
    f.seek((1 << 20) + 8192)
    f.write(r.randbytes(3 * (1 << 20) - (1 << 20) - 8192))
PY
blocks=$(stat -c %b "$REL")
if [ $((blocks * 512)) -ge $((3 * 1048576)) ]; then
	echo "SKIP $TEST_NAME: the file system made no hole"
	exit 0
fi
sleep 1.1

note "first backup"
stored_by_backup
snap1=$SNAP_ID
cp -a "$SRC" "$WORK/copy-$snap1"

note "8 whole pieces on the file's grid rewritten after the hole"
python3 - "$REL" <<'PY'
import random, sys
r = random.Random(6)
with open(sys.argv[1], "r+b") as f:
    # pieces 66 .. 191 lie wholly in the second region (1 MiB + 8 KiB .. 3 MiB)
    for piece in r.sample(range(66, 192), 8):
        f.seek(piece * 16384)
        f.write(r.randbytes(16384))
PY
sleep 1.1
stored_by_backup
snap2=$SNAP_ID
cp -a "$SRC" "$WORK/copy-$snap2"
# + the trees (the file's ~130 extents), the index and the snapshot: well under 64 KiB
[ "$ADDED" -ge $((8 * 16384)) ] && [ "$ADDED" -lt $((8 * 16384 + 65536)) ] ||
	fail "backup added $ADDED bytes for 8 rewritten pieces: not between $((8 * 16384)) and $((8 * 16384 + 65536))"

note "both versions restore byte for byte"
for s in "$snap1" "$snap2"; do
	expect_exit 0 kura restore "$s" --target "$WORK/restore-$s"
	same_contents "$WORK/copy-$s" "$WORK/restore-$s$SRC"
done
note "ok"

#!/usr/bin/env bash
# db_against.sh - a backup stores a database file's changed pieces against
# their last version (docs/FORMAT.md, "Blobs stored against another"; the
# client's copies of those versions, lib/repo/basestore.h):
#   - a PostgreSQL relation segment with a few rows rewritten adds well
#     under half of what the same backup adds without the client's copies
#     (a second repository backed up alike, its cache removed first);
#   - every snapshot restores byte for byte and checks clean (--read-data);
#   - forget + prune of the first snapshot keeps what later ones need;
#   - a lost or damaged client cache, or a copy of a piece that no longer
#     matches its id, only costs bytes: the next backup is still right.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/src
REL=$SRC/base/16384/16385
mkdir -p "$(dirname "$REL")"
init_repo

pg_relation "$REL"

# update_rows SEED N: one row rewritten in place in each of N random pages
update_rows() {
	pg_update_rows "$REL" "$@"
	sleep 1.1 # a new mtime, so the file cache reads it again
}

# restores SNAP COPY: SNAP restores byte for byte as COPY
restores() {
	rm -rf "$WORK/out"
	expect_exit 0 kura restore "$1" --target "$WORK/out"
	cmp -s "$2" "$WORK/out$REL" || fail "snapshot $1 does not restore byte for byte"
}

# The control: the same backups into a second repository, without the client's copies.
CONTROL=$WORK/control
expect_exit 0 kura --repo "$CONTROL" init --kdf interactive
control_added() {
	local before after
	before=$(du_bytes "$CONTROL")
	rm -rf "$WORK/control-cache"
	expect_exit 0 env KURA_CACHE_DIR="$WORK/control-cache" "$KURA" --repo "$CONTROL" backup --no-detect "$SRC"
	after=$(du_bytes "$CONTROL")
	CONTROL_ADDED=$((after - before))
	note "added $CONTROL_ADDED bytes to the control"
}

note "first backup: every piece becomes its own base, in a 0600 file of a 0700 directory"
stored_by_backup
snap1=$SNAP_ID
control_added
cp "$REL" "$WORK/v1"
bases=$(ls -d "$KURA_CACHE_DIR"/*/bases)
[ "$(stat -c %a "$bases")" = 700 ] || fail "$bases is mode $(stat -c %a "$bases"), not 700"
idx=$(ls "$bases"/*.idx)
[ "$(stat -c %a "$idx")" = 600 ] || fail "$idx is mode $(stat -c %a "$idx"), not 600"

note "12 rows rewritten: stored against their last version"
update_rows 1 12
stored_by_backup
snap2=$SNAP_ID
control_added
cp "$REL" "$WORK/v2"
[ $((ADDED * 2)) -lt "$CONTROL_ADDED" ] ||
	fail "backup 2 added $ADDED bytes, not under half of $CONTROL_ADDED without the client's copies"
restores "$snap2" "$WORK/v2"
restores "$snap1" "$WORK/v1"
expect_exit 0 kura check --read-data

note "the same pieces changed again, and others: against the same bases"
update_rows 2 40
stored_by_backup
snap3=$SNAP_ID
cp "$REL" "$WORK/v3"
restores "$snap3" "$WORK/v3"

note "forget and prune the first two snapshots: the bases they stored stay for the third"
expect_exit 0 kura forget "$snap1" "$snap2"
expect_exit 0 kura prune --grace 0s
restores "$snap3" "$WORK/v3"
expect_exit 0 kura check --read-data

note "a damaged client copy of the bases: nothing wrong is stored"
for f in "$bases"/*.dat; do
	python3 - "$f" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
for i in range(0, len(b), 97):
    b[i] ^= 0x5A
open(sys.argv[1], "wb").write(b)
EOF
done
update_rows 3 12
stored_by_backup
snap4=$SNAP_ID
cp "$REL" "$WORK/v4"
restores "$snap4" "$WORK/v4"

note "the whole cache lost: the next backup stores pieces on their own, and is right"
rm -rf "$KURA_CACHE_DIR"
update_rows 4 12
stored_by_backup
snap5=$SNAP_ID
restores "$snap5" "$REL"
update_rows 5 12
stored_by_backup
restores "$SNAP_ID" "$REL"
expect_exit 0 kura check --read-data
restores "$snap3" "$WORK/v3"
note "ok"

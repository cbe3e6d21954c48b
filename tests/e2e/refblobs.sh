#!/usr/bin/env bash
# refblobs.sh - chunks stored against another blob (docs/FORMAT.md, "Blobs
# stored against another"), written by tests/tools/refsnap.c (which can
# also write the lies a stolen key could; db_against.sh has the backup's
# own): a database file whose every 64 KiB piece changed by a few bytes is
# stored against its previous version.
#   - it restores byte for byte, checks clean (--read-data too) and drills;
#   - forget + prune of the snapshot that stored the references keeps
#     their pack while the later snapshot needs it: restore still works;
#   - kura copy to a mirror restores byte for byte and checks clean there;
#   - kura mount reads it (root and /dev/fuse only);
#   - with the references' pack deleted, check names the file and the
#     reference, and restore fails that file alone, naming the reference.
. "$(dirname "$0")/lib.sh"

REFSNAP=$(dirname "$KURA")/tools/refsnap
[ -x "$REFSNAP" ] || fail "no $REFSNAP (make tests builds it)"

python3 - "$WORK" <<'PY'
import random, sys
w = sys.argv[1]
r = random.Random(16)
v1 = bytearray(r.randbytes(1 << 20))
v2 = bytearray(v1)
for at in range(300, len(v2), 65536):
    v2[at:at + 8] = b"PAGE-LSN"
open(w + "/db.v1", "wb").write(v1)
open(w + "/db.v2", "wb").write(v2)
open(w + "/other", "wb").write(r.randbytes(300000))
PY

init_repo
snapshot_bytes() { cp "$KURA_REPOSITORY/snapshots/$1" "$2"; } # for packs_of
# refsnap ARGS...: sets SNAP and REFS
refsnap() {
	local out
	out=$("$REFSNAP" "$KURA_REPOSITORY" "$@") || fail "refsnap $* failed"
	SNAP=$(sed -n 1p <<<"$out")
	REFS=$(sed -n 2p <<<"$out")
}
refsnap "db=$WORK/db.v1"
first=$SNAP
assert_eq "first snapshot" "refs 0" "$REFS"
refsnap "db=$WORK/db.v2:$WORK/db.v1" "other=$WORK/other"
second=$SNAP
assert_eq "second snapshot" "refs 16" "$REFS"
# the references' pack: the largest of the first snapshot's (it holds db.v1)
refpack=$(packs_of "$first" | while read -r p; do
	echo "$(stat -c %s "$KURA_REPOSITORY/data/${p:0:2}/$p") $p"
done | sort -n | tail -1 | cut -d' ' -f2)
packs_of "$second" >"$WORK/second.packs"
grep -qx "$refpack" "$WORK/second.packs" || fail "the second snapshot does not list $refpack"

# restored_ok REPO SNAPSHOT DIR: db and other restore byte for byte
restored_ok() {
	expect_exit 0 kura --repo "$1" restore "$2" --target "$3"
	cmp "$WORK/db.v2" "$3/db" || fail "db restored from $1 differs"
	cmp "$WORK/other" "$3/other" || fail "other restored from $1 differs"
}

note "restores byte for byte; checks clean"
restored_ok "$KURA_REPOSITORY" "$second" "$WORK/r1"
expect_exit 0 kura check
expect_exit 0 kura check --read-data

note "a full drill restores and re-hashes it"
expect_exit 0 kura --json drill "$second" --scratch "$WORK/drill"
assert_eq "drill" passed "$(json_get "$OUT" 'd["result"]')"
assert_eq "drill files" 2 "$(json_get "$OUT" 'd["files_verified"]')"

note "forget + prune of the first snapshot keeps the references' pack"
expect_exit 0 kura forget --prune --grace 0 "$first"
[ -f "$KURA_REPOSITORY/data/${refpack:0:2}/$refpack" ] || fail "prune removed $refpack"
restored_ok "$KURA_REPOSITORY" "$second" "$WORK/r2"
expect_exit 0 kura check --read-data

note "a copy to a mirror restores byte for byte and checks clean"
MIRROR=$WORK/mirror
expect_exit 0 kura copy --to "$MIRROR"
restored_ok "$MIRROR" "$second" "$WORK/r3"
expect_exit 0 kura --repo "$MIRROR" check --read-data

if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
	note "kura mount reads it"
	MNT=$WORK/mnt
	mkdir -p "$MNT"
	"$KURA" mount "$second" "$MNT" </dev/null >"$WORK/mount.out" 2>"$WORK/mount.err" &
	mpid=$!
	at_exit "kill $mpid 2>/dev/null; fusermount3 -u -z '$MNT' 2>/dev/null"
	for _ in $(seq 1 200); do
		mountpoint -q "$MNT" && break
		kill -0 "$mpid" 2>/dev/null || fail "kura mount exited: $(cat "$WORK/mount.err")"
		sleep 0.05
	done
	mountpoint -q "$MNT" || fail "kura mount did not mount within 10 s"
	cmp "$WORK/db.v2" "$MNT/db" || fail "db read through the mount differs"
	fusermount3 -u "$MNT" || fail "fusermount3 -u failed"
	rc=0
	wait "$mpid" || rc=$?
	assert_eq "kura mount exit" 0 "$rc"
else
	echo "(mount part skipped: needs root, /dev/fuse and fusermount3)"
fi

note "the references' pack deleted: check and restore name the reference"
rm "$MIRROR/data/${refpack:0:2}/$refpack"
expect_exit 4 kura --repo "$MIRROR" check
assert_contains "check names the reference" "is stored against blob" "$OUT$ERR"
assert_contains "check names the file" "path /db" "$OUT$ERR"
assert_not_contains "other is whole" "path /other" "$OUT$ERR"
expect_exit 4 kura --repo "$MIRROR" restore "$second" --target "$WORK/r4"
assert_contains "restore names the reference" "is stored against blob" "$ERR"
cmp "$WORK/other" "$WORK/r4/other" || fail "other was not restored beside the failed db"
[ ! -e "$WORK/r4/db" ] || fail "the failed db was left under its name"
echo "PASS $TEST_NAME"

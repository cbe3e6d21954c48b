#!/usr/bin/env bash
# dbchunk.sh - files rewritten in place a few pages at a time are cut with
# smaller chunks (docs/FORMAT.md "Small chunks"): a SQLite database (by its
# header) and a PostgreSQL relation segment (by its path) from their first
# backup into fixed 16 KiB pieces of pages, so that each rewritten page
# costs exactly its piece; a page-structured file of no known format into
# content-defined small chunks once a backup found it rewritten in place.  After a few pages change, a backup
# adds far fewer bytes than the file (bound: a quarter), and every version
# restores byte for byte.  A file only appended to keeps the large set.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/src
mkdir -p "$SRC/pg/base/16384" "$SRC/plain"
init_repo

# A SQLite database of ~6 MiB, 4 KiB pages, rows of random text (so that
# zstd does not hide what is stored again).
python3 - "$SRC/emr.sqlite" <<'EOF'
import random, sqlite3, sys
r = random.Random(7)
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA page_size = 4096")
db.execute("PRAGMA journal_mode = DELETE")
db.execute("CREATE TABLE visit (id INTEGER PRIMARY KEY, note TEXT)")
db.executemany("INSERT INTO visit VALUES (?, ?)",
               ((i, "%0400x" % r.getrandbits(1600)) for i in range(12000)))
db.commit()
EOF
# Page-structured files of random 8 KiB pages: a PostgreSQL segment by its
# path, and one under a name no rule knows.
python3 - "$SRC/pg/base/16384/16385" "$SRC/plain/pages.bin" <<'EOF'
import random, sys
for k, path in enumerate(sys.argv[1:]):
    r = random.Random(11 + k)
    with open(path, "wb") as f:
        f.write(r.randbytes((768, 1536)[k] * 8192))
EOF
gen_random "$SRC/plain/app.log" 3000000 logseed
sleep 1.1

# rewrite_pages FILE SEED N: N random 8 KiB pages rewritten in place
rewrite_pages() {
	python3 - "$@" <<'EOF'
import os, random, sys
path, seed, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
pages = os.path.getsize(path) // 8192
with open(path, "r+b") as f:
    for p in r.sample(range(pages), n):
        f.seek(p * 8192)
        f.write(r.randbytes(8192))
EOF
}

# update_rows DB SEED N: N scattered rows updated in place (same length)
update_rows() {
	python3 - "$@" <<'EOF'
import random, sqlite3, sys
path, seed, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
db = sqlite3.connect(path)
for i in r.sample(range(12000), n):
    db.execute("UPDATE visit SET note = ? WHERE id = ?", ("%0400x" % r.getrandbits(1600), i))
db.commit()
db.close()
EOF
}

# restore_check SNAP: the snapshot restores byte for byte as $WORK/copy-SNAP
restore_check() {
	local dir=$WORK/restore-$1
	expect_exit 0 kura restore "$1" --target "$dir"
	same_contents "$WORK/copy-$1" "$dir$SRC"
}

keep_copy() { cp -a "$SRC" "$WORK/copy-$1"; }

note "first backup"
stored_by_backup
snap1=$SNAP_ID
keep_copy "$snap1"
db_size=$(stat -c %s "$SRC/emr.sqlite")
pg_size=$(stat -c %s "$SRC/pg/base/16384/16385")
[ "$db_size" -gt 4000000 ] || fail "the SQLite database is only $db_size bytes"

note "a few pages of each file rewritten in place"
update_rows "$SRC/emr.sqlite" 1 6
rewrite_pages "$SRC/pg/base/16384/16385" 2 6
# two pages of 12 MiB: some of its ~12 large chunks (4 MiB at most) are certainly kept,
# which is what tells a rewrite in place from a file made anew
rewrite_pages "$SRC/plain/pages.bin" 3 2
sleep 1.1
stored_by_backup
snap2=$SNAP_ID
# the large set would store ~6 MiB of each: the two known formats cost far less
bound=$(((db_size + pg_size) / 4 + 8388608 + 1048576)) # + two large chunks of pages.bin + trees
[ "$ADDED" -lt "$bound" ] ||
	fail "backup 2 added $ADDED bytes, not below $bound: the database files were not cut small"

note "only the known formats changed now: a quarter of them is the bound"
update_rows "$SRC/emr.sqlite" 2 6
rewrite_pages "$SRC/pg/base/16384/16385" 4 6
sleep 1.1
stored_by_backup
snap3=$SNAP_ID
keep_copy "$snap3"
bound=$(((db_size + pg_size) / 4))
[ "$ADDED" -lt "$bound" ] || fail "backup 3 added $ADDED bytes, not below a quarter ($bound) of the two files"

note "the PostgreSQL segment alone: each rewritten page costs exactly its 16 KiB piece"
# one page in each of 24 distinct pieces (random, so incompressible): content-defined small
# chunks around them would store about twice that, and a page on a boundary two chunks
python3 - "$SRC/pg/base/16384/16385" <<'EOF'
import os, random, sys
r = random.Random(13)
path = sys.argv[1]
with open(path, "r+b") as f:
    for piece in r.sample(range(os.path.getsize(path) // 16384), 24):
        f.seek(piece * 16384 + r.choice((0, 8192)))
        f.write(r.randbytes(8192))
EOF
sleep 1.1
stored_by_backup
snap35=$SNAP_ID
keep_copy "$snap35"
# + trees (the segment's ~770 extents, ~32 KB) and the index and snapshot files
[ "$ADDED" -ge $((24 * 16384)) ] && [ "$ADDED" -lt $((24 * 16384 + 131072)) ] ||
	fail "backup added $ADDED bytes for 24 pieces of 16 KiB: not between $((24 * 16384)) and $((24 * 16384 + 131072))"
v=$(json_get "$OUT" 'd["blobs_new"]')
ancestors=$(tr -cd / <<<"$SRC/pg/base/16384" | wc -c)
[ "$v" -ge 24 ] && [ "$v" -le $((24 + ancestors + 1)) ] ||
	fail "backup stored $v blobs for 24 rewritten pieces (24 and at most $((ancestors + 1)) trees)"

note "pages.bin was found rewritten in place: its next backup cuts it small (one full copy)"
rewrite_pages "$SRC/plain/pages.bin" 5 6
sleep 1.1
stored_by_backup
snap4=$SNAP_ID
plain_size=$(stat -c %s "$SRC/plain/pages.bin")
[ "$ADDED" -gt $((plain_size * 3 / 4)) ] ||
	fail "backup 4 added only $ADDED bytes: pages.bin ($plain_size bytes) was not cut anew with the small set"

note "from then on a few pages of pages.bin cost little"
rewrite_pages "$SRC/plain/pages.bin" 6 6
sleep 1.1
stored_by_backup
snap5=$SNAP_ID
keep_copy "$snap5"
bound=$((plain_size / 4))
[ "$ADDED" -lt "$bound" ] || fail "backup 5 added $ADDED bytes for 6 pages of pages.bin, not below $bound"

note "an appended log keeps the large set: appending stores about the appended bytes"
head -c 200000 /dev/urandom >>"$SRC/plain/app.log"
sleep 1.1
stored_by_backup
head -c 200000 /dev/urandom >>"$SRC/plain/app.log"
sleep 1.1
stored_by_backup
snap7=$SNAP_ID
keep_copy "$snap7"
# large chunks: its last chunk or two, and the trees above; small ones would be a dozen or more
v=$(json_get "$OUT" 'd["blobs_new"]')
ancestors=$(tr -cd / <<<"$SRC/plain" | wc -c)
[ "$v" -le $((ancestors + 3)) ] ||
	fail "backup 7 stored $v blobs for a 200 KB append (at most $((ancestors + 3))): app.log was cut small"

note "the versions restore byte for byte"
# first cut small, then after page rewrites in each file, in the PostgreSQL segment alone, after
# the switch of pages.bin, after appends
for s in "$snap1" "$snap3" "$snap35" "$snap5" "$snap7"; do
	restore_check "$s"
done
expect_exit 0 kura check --read-data
note "ok"

#!/usr/bin/env bash
# hostile_repo.sh - readers trust nothing they read from a repository
# (issue 9, findings 1 and 2).  One damaged, empty, junk or lying index
# file must not make the repository unrestorable; one damaged or junk
# snapshot file must not hide the others.  Each case works on a fresh copy
# of one repository with three snapshots.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
mkdir -p "$SRC/small"
gen_random "$SRC/big.bin" $((3 * 1024 * 1024)) big
for i in $(seq 1 12); do gen_text "$SRC/small/s$i.txt" 60 "s$i"; done
init_repo --pack-size 1M --chunk-min 64K --chunk-avg 256K --chunk-max 1M
backup_json "$SRC"
snap1=$SNAP_ID
cp -a "$SRC" "$WORK/v1"
gen_random "$SRC/second.bin" $((700 * 1024)) second
backup_json "$SRC"
snap2=$SNAP_ID
cp -a "$SRC" "$WORK/v2"
gen_text "$SRC/small/third.txt" 50 third
backup_json "$SRC"
snap3=$SNAP_ID
cp -a "$SRC" "$WORK/v3"
ORIG=$WORK/orig
cp -a "$KURA_REPOSITORY" "$ORIG"
[ "$(ls "$ORIG"/index | wc -l)" -ge 2 ] || fail "expected several index files"

fresh() { # a clean copy of the repository as $KURA_REPOSITORY
	rm -rf "$WORK/repo"
	cp -a "$ORIG" "$WORK/repo"
}

restores() { # SNAP EXPECTED_TREE WHAT: restore must bring back the tree intact
	rm -rf "$WORK/out"
	expect_exit 0 kura restore "$1" --target "$WORK/out"
	same_contents "$2" "$WORK/out$SRC" || fail "$3: restore differs"
}

restores_all() { # WHAT: the oldest and the newest (the middle one shares their blobs)
	restores "$snap1" "$WORK/v1" "$1 (snapshot 1)"
	restores latest "$WORK/v3" "$1 (latest)"
}

largest_index() { ls -S "$KURA_REPOSITORY"/index/* | sed -n 1p; }

note "truncated index: restores and backups go on, the file is named"
fresh
victim=$(largest_index)
truncate -s 100 "$victim"
restores_all "truncated index"
assert_contains "warning names the file" "index/$(basename "$victim")" "$ERR"
expect_exit 0 kura backup "$SRC"
assert_contains "backup warns" "index/$(basename "$victim")" "$ERR"
expect_exit 4 kura check
assert_contains "check names the index" "$(basename "$victim")" "$ERR"

note "0-byte index (the name of nothing): the same"
fresh
empty=$(printf '' | sha256sum | cut -d' ' -f1)
: >"$KURA_REPOSITORY/index/$empty"
restores_all "empty index"
assert_contains "warning names the empty index" "index/$empty" "$ERR"
expect_exit 0 kura --json restore "$snap1" --target "$WORK/out-json"
assert_contains "restore --json lists the damage" "index/$empty" \
	"$(json_get "$OUT" 'd["damaged_files"]')"
expect_exit 4 kura check
assert_contains "check names it" "$empty" "$ERR"

note "junk index files (random bytes, named by their hash): the same"
fresh
for i in 1 2 3; do
	gen_random "$WORK/junk" $((i * 1000)) "junk$i"
	cp "$WORK/junk" "$KURA_REPOSITORY/index/$(sha256sum "$WORK/junk" | cut -d' ' -f1)"
done
restores_all "junk index"
expect_exit 4 kura check

note "deleted index: restore finds the blobs in the packs' trailers, repair index writes them down"
fresh
rm -f "$KURA_REPOSITORY"/index/*
restores_all "no index at all"
expect_exit 0 kura --json repair index
assert_eq "packs scanned" "$(find "$KURA_REPOSITORY/data" -type f | wc -l)" \
	"$(json_get "$OUT" 'd["packs_scanned"]')"
[ "$(json_get "$OUT" 'd["files_written"]')" -ge 1 ] || fail "repair wrote no index file"
[ "$(json_get "$OUT" 'd["damaged_packs"]')" = 0 ] || fail "repair found damaged packs"
expect_exit 0 kura check --read-data
restores_all "after repair"
assert_not_contains "no damage after repair" "damaged" "$ERR"
expect_exit 0 kura --json repair index
assert_eq "a second repair writes nothing" 0 "$(json_get "$OUT" 'd["files_written"]')"

note "truncated index + repair: check is clean again"
fresh
victim=$(largest_index)
truncate -s 100 "$victim"
expect_exit 0 kura repair index
expect_exit 4 kura check # repair never deletes: the damaged file stays, and is named
assert_contains "check names it" "$(basename "$victim")" "$ERR"
rm -f "$victim"
expect_exit 0 kura check --read-data
restores_all "after repair of a truncated index"

note "a pack deleted: backup does not deduplicate against it"
fresh
gone=$(find "$KURA_REPOSITORY/data" -type f -size +900k | sed -n 1p)
rm -f "$gone"
backup_json "$SRC"
rm -rf "$WORK/out"
expect_exit 0 kura restore "$SNAP_ID" --target "$WORK/out"
same_contents "$WORK/v3" "$WORK/out$SRC" || fail "backup after a lost pack is not whole"

note "one flipped byte in a snapshot file hides nothing else"
fresh
victim=$KURA_REPOSITORY/snapshots/$snap3
python3 -c '
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x40
open(p, "wb").write(bytes(b))' "$victim"
expect_exit 0 kura snapshots
assert_contains "the others are listed" "${snap1:0:8}" "$OUT"
assert_contains "the others are listed" "${snap2:0:8}" "$OUT"
assert_contains "the damaged one is marked" "${snap3:0:8}  (damaged)" "$OUT"
assert_contains "stderr says why" "snapshots/$snap3" "$ERR"
expect_exit 4 kura snapshots --fail-on-damage
expect_exit 0 kura --json snapshots
assert_eq "json marks it" "true" "$(json_get "$OUT" "[s['damaged'] for s in d if s['id'] == '$snap3'][0]")"
assert_eq "json keeps the others" 2 "$(json_get "$OUT" "len([s for s in d if not s['damaged']])")"
restores latest "$WORK/v2" "latest is the newest good snapshot"
expect_exit 4 kura check
assert_contains "check names the snapshot" "$snap3" "$ERR"
backup_json "$SRC"
restores latest "$WORK/v3" "latest after a new good backup"

note "a junk snapshot (a valid header, a random body) hides nothing"
fresh
python3 -c '
import hashlib, os, sys
d = sys.argv[1]
good = open(os.path.join(d, sys.argv[2]), "rb").read()
junk = good[:16] + os.urandom(len(good) - 16)
open(os.path.join(d, hashlib.sha256(junk).hexdigest()), "wb").write(junk)' \
	"$KURA_REPOSITORY/snapshots" "$snap1"
expect_exit 0 kura snapshots
assert_contains "junk marked" "(damaged)" "$OUT"
restores_all "junk snapshot"
expect_exit 4 kura check


#!/usr/bin/env bash
# restore_report.sh - a restore tells the truth about what it did (issue 9,
# finding 7): with a pack missing, the files that needed it are listed as
# failed with their cause, are not left under their names (the part that
# was restored is kept as NAME.kura-partial), are not counted as restored,
# and the exit status is 4, while everything else restores byte-identical;
# a second restore into the same target skips every path as existing, says
# so, changes nothing and exits 5 (no damage); a target that fills up
# names ENOSPC and leaves no truncated file behind.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
mkdir -p "$SRC/small" "$SRC/medium" "$SRC/keep"
# big.bin is most of the data, so the largest pack holds only part of it
gen_random "$SRC/big.bin" $((8 * 1024 * 1024)) big
for i in 1 2 3; do gen_random "$SRC/medium/m$i.bin" $((100 * 1024)) "m$i"; done
for i in $(seq 1 10); do gen_text "$SRC/small/s$i.txt" 40 "s$i"; done
ln "$SRC/big.bin" "$SRC/keep/big-link"
ln -s ../big.bin "$SRC/keep/sym"
chmod 750 "$SRC/keep"
touch -d '2001-02-03 04:05:06' "$SRC/big.bin" "$SRC/keep" "$SRC"
init_repo --pack-size 1M --chunk-min 64K --chunk-avg 256K --chunk-max 1M
backup_json "$SRC"
nfiles=$(find "$SRC" -type f | wc -l) # the hard link counts twice, as restore counts it
nleaves=$(find "$SRC" ! -type d | wc -l)

# partial_ok SRCFILE PARTIAL: same size, and each byte is the original's or a zero
partial_ok() {
	python3 - "$1" "$2" <<'EOF'
import sys
a = open(sys.argv[1], "rb").read()
b = open(sys.argv[2], "rb").read()
if len(a) != len(b):
    sys.exit("size %d, not %d" % (len(b), len(a)))
good = 0
for i in range(0, len(a), 4096):
    x, y = a[i:i + 4096], b[i:i + 4096]
    if x == y:
        good += len(x)
    elif any(c and c != d for c, d in zip(y, x)):
        sys.exit("bytes at %d are neither the original's nor zeros" % i)
if good == 0 or good == len(a):
    sys.exit("%d of %d bytes restored: not a partial file" % (good, len(a)))
EOF
}

note "remove the largest pack: the files needing it fail, the rest restore identical"
R=$WORK/repo-missing
cp -a "$KURA_REPOSITORY" "$R"
victim=$(find "$R/data" -type f -printf '%s %p\n' | sort -n | tail -n1 | cut -d' ' -f2)
rm "$victim"
T=$WORK/r-missing
expect_exit 4 kura -r "$R" --json restore latest --target "$T"
json=$OUT
partly_restored "$SRC" "$T" "$json"
v=$(json_get "$json" '[d["errors"], len(d["failed"]), d["skipped_existing"]]')
assert_eq "--json errors, failed[], skipped_existing" "[${#FAILED[@]}, ${#FAILED[@]}, 0]" "$v"
for p in "$T$SRC/big.bin" "$T$SRC/keep/big-link"; do
	grep -qxF -- "$p" <<<"$(printf '%s\n' "${FAILED[@]}")" || fail "$p is not listed as failed: ${FAILED[*]}"
done
[ "$NRESTORED" -gt 0 ] || fail "nothing restored beside the failed files"
[ ! -e "$T$SRC/keep/sym" ] || [ -L "$T$SRC/keep/sym" ] || fail "the symlink is not a symlink"
# big.bin's other chunks are in the other packs: kept as a partial file for salvage
P=$T$SRC/big.bin.kura-partial
[ -f "$P" ] || fail "no $P: $(ls -la "$T$SRC")"
why=$(partial_ok "$SRC/big.bin" "$P" 2>&1) || fail "big.bin.kura-partial: $why"
v=$(json_get "$json" '[e.get("partial") for e in d["failed"] if e["path"].endswith("/big.bin")]')
assert_eq "--json partial of big.bin" "[\"$P\"]" "$v"
assert_eq "mode of the partial file" 600 "$(stat -c %a "$P")"
[ "$(stat -c %Y "$P")" -ne "$(stat -c %Y "$SRC/big.bin")" ] ||
	fail "the partial file got the original's mtime: it looks complete"
# the directories of failed files still get their metadata
assert_eq "mtime of the directory holding a failed file" "$(stat -c %Y "$SRC")" "$(stat -c %Y "$T$SRC")"
assert_eq "mode of keep/" 750 "$(stat -c %a "$T$SRC/keep")"
assert_eq "mtime of keep/" "$(stat -c %Y "$SRC/keep")" "$(stat -c %Y "$T$SRC/keep")"
echo "(${#FAILED[@]} failed, $NRESTORED restored identical; big.bin kept as a partial file)"

note "the same restore in text: each failure named with its cause, and at the end"
T=$WORK/r-missing-text
expect_exit 4 kura -r "$R" restore latest --target "$T"
assert_contains "summary line" "restored $NRESTORED files" "$OUT"
assert_contains "summary line" "${#FAILED[@]} failed, 0 skipped" "$OUT"
grep -qE "^error: $T$SRC/big.bin: .*missing" <<<"$ERR" || fail "big.bin's failure does not say its content is missing: $ERR"
assert_contains "partial file named" "$T$SRC/big.bin.kura-partial" "$ERR"
grep -q "^kura: failed.*$T$SRC/big.bin" <<<"$ERR" || fail "the closing message does not name big.bin: $ERR"
assert_not_contains "a generic hint instead of the files" "check --read-data" "$ERR"

note "restore twice into the same target: the second skips everything, exit 5, changes nothing"
T=$WORK/r-twice
expect_exit 0 kura restore latest --target "$T"
same_contents "$SRC" "$T$SRC"
state() { find "$T" -printf '%p %y %m %s %T@ %i\n' | sort; find "$T" -type f -exec cksum {} + | sort; }
before=$(state)
expect_exit 5 kura --json restore latest --target "$T"
v=$(json_get "$OUT" '[d["files_restored"], d["errors"], d["failed"], d["skipped_existing"]]')
assert_eq "second restore: files_restored, errors, failed, skipped_existing" "[0, 0, [], $nleaves]" "$v"
assert_contains "second restore says why" "already existed" "$ERR"
assert_not_contains "second restore calls it damage" "error:" "$ERR"
assert_eq "target after the second restore" "$before" "$(state)"
expect_exit 5 kura restore latest --target "$T"
assert_contains "summary line" "restored 0 files" "$OUT"
assert_contains "summary line" "0 failed, $nleaves skipped (already there)" "$OUT"
grep -q "^skipped: $T$SRC/.*already exists" <<<"$ERR" || fail "existing paths are not named: $ERR"
assert_eq "target after the third restore" "$before" "$(state)"
echo "($nleaves paths skipped as existing, $nfiles files)"

note "a target that fills up: the files that did not fit fail with ENOSPC and are removed"
M=$WORK/small-fs
mkdir -p "$M"
if mount -t tmpfs -o size=2M tmpfs "$M" 2>/dev/null; then
	at_exit "umount '$M'"
	# a target that cannot be written is an error (1), not damage in the repository (4)
	expect_exit 1 kura --json restore latest --target "$M"
	json=$OUT
	v=$(json_get "$json" '[e["path"] for e in d["failed"] if "No space left on device" in e["error"]]')
	assert_contains "big.bin fails with ENOSPC" "\"$M$SRC/big.bin\"" "$v"
	v=$(json_get "$json" '[e for e in d["failed"] if e.get("partial")]')
	assert_eq "partial files after write errors" "[]" "$v"
	[ ! -e "$M$SRC/big.bin" ] && [ ! -e "$M$SRC/big.bin.kura-partial" ] ||
		fail "big.bin, which did not fit, is left behind: $(ls -la "$M$SRC")"
	partly_restored "$SRC" "$M" "$json"
	echo "(full target: ${#FAILED[@]} failed with ENOSPC, $NRESTORED restored identical, $(df --output=used -k "$M" | tail -n1) KiB used)"
else
	echo "SKIP the full-target check (cannot mount a tmpfs here)"
fi

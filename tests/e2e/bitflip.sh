#!/usr/bin/env bash
# bitflip.sh - damage one byte of a pack, a snapshot, an index: check must
# find it and name what it hurts (and only that); restore must still bring
# back everything that is intact.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
mkdir -p "$SRC/small" "$SRC/medium"
gen_random "$SRC/big.bin" $((8 * 1024 * 1024)) big
for i in 1 2 3 4 5; do gen_random "$SRC/medium/m$i.bin" $((600 * 1024)) "m$i"; done
for i in $(seq 1 20); do gen_text "$SRC/small/s$i.txt" 40 "s$i"; done
init_repo --pack-size 1M --chunk-min 64K --chunk-avg 256K --chunk-max 1M
backup_json "$SRC"
snap=$SNAP_ID
expect_exit 0 kura check --read-data

mapfile -t packs < <(find "$KURA_REPOSITORY/data" -type f -printf '%s %p\n' | sort -n | cut -d' ' -f2)
[ ${#packs[@]} -ge 8 ] || fail "expected many packs with --pack-size 1M, got ${#packs[@]}"
for p in "${packs[@]}"; do
	name=$(basename "$p"); dir=$(basename "$(dirname "$p")")
	assert_eq "pack directory of $name" "${name:0:2}" "$dir"
	sum=$(sha256sum "$p" | cut -d' ' -f1)
	assert_eq "pack $p named by its SHA-256" "$sum" "$name"
done

flip() { # FILE [OFFSET]: invert one byte (default: the middle)
	python3 -c '
import os, sys
p = sys.argv[1]
off = int(sys.argv[2]) if len(sys.argv) > 2 else os.path.getsize(p) // 2
with open(p, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x40]))
' "$@"
}

note "flip one byte in the middle of the largest pack"
R=$WORK/repo-pack
cp -a "$KURA_REPOSITORY" "$R"
victim=${packs[${#packs[@]} - 1]#"$KURA_REPOSITORY"/}
vname=$(basename "$victim")
flip "$R/$victim"
echo "(damaged pack $vname, $(stat -c %s "$R/$victim") bytes)"
expect_exit 4 kura -r "$R" check --read-data
text_out=$OUT$ERR
expect_exit 4 kura -r "$R" --json check --read-data
json_out=$OUT
grep -qF "${vname:0:12}" <<<"$json_out$text_out" || fail "check --read-data does not name the damaged pack $vname:
$json_out
$text_out"
v=$(json_get "$json_out" 'd["problems"] >= 1 and len(d["errors"]) >= 1')
assert_eq "check --json problems and errors" true "$v"
v=$(json_get "$json_out" 'sorted(set(e.get("snapshot") or "" for e in d["errors"]))')
python3 - "$v" "$snap" <<'EOF' || fail "check --json errors do not name snapshot $snap (they name: $v)"
import json, sys
named = [s for s in json.loads(sys.argv[1]) if s]
sys.exit(0 if named and all(sys.argv[2].startswith(s) for s in named) else 1)
EOF
affected=$(json_get "$json_out" '"\n".join(sorted(set(e["path"] for e in d["errors"] if e.get("path"))))')
[ -n "$affected" ] || fail "check --json names no affected file path: $json_out"
echo "(affected paths: $(tr '\n' ' ' <<<"$affected"))"
all_files=$(cd "$SRC" && find . -type f | sed "s|^\.|$SRC|" | sort)
while IFS= read -r p; do
	grep -qxF -- "$p" <<<"$all_files" || fail "check names '$p', which is not a file of the snapshot (paths must look like $SRC/big.bin)"
done <<<"$affected"
naff=$(wc -l <<<"$affected"); nall=$(wc -l <<<"$all_files")
[ "$naff" -lt "$nall" ] || fail "one damaged 1 MiB pack is blamed on all $nall files: $affected"

note "restore from the damaged repository: exit 4, everything else intact"
rc=0
kura -r "$R" restore latest --target "$WORK/r" >"$WORK/o" 2>"$WORK/e" || rc=$?
no_crash $rc "$WORK/e" "restore from a repository with a damaged pack"
[ $rc -eq 4 ] || fail "restore from a repository with a damaged pack: expected exit 4, got $rc: $(tail -n 5 "$WORK/e")"
[ -s "$WORK/e" ] || fail "restore exit 4 without saying what was lost"
lost=0
while IFS= read -r f; do
	if [ -f "$WORK/r$f" ] && cmp -s "$f" "$WORK/r$f"; then
		grep -qxF -- "$f" <<<"$affected" && echo "(named by check, restored intact: $f - it shares the pack, not the damaged blob)"
		continue
	fi
	lost=$((lost + 1))
	grep -qxF -- "$f" <<<"$affected" || fail "$f did not restore intact, but check --read-data did not name it (named: $affected)"
	grep -qF -- "$f" "$WORK/e" || fail "restore did not name the damaged file $f: $(cat "$WORK/e")"
done <<<"$all_files"
[ "$lost" -ge 1 ] || fail "restore exited 4 but every file restored intact"
echo "($lost file(s) lost to the damaged byte, all others restored identical)"

note "the original repository is unharmed"
expect_exit 0 kura check

note "flip one byte in a snapshot file"
R=$WORK/repo-snap
cp -a "$KURA_REPOSITORY" "$R"
flip "$R/snapshots/$snap"
expect_exit 4 kura -r "$R" check
grep -qF "${snap:0:12}" <<<"$OUT$ERR" || fail "check does not name the damaged snapshot $snap: $OUT $ERR"

note "flip one byte in an index file"
R=$WORK/repo-index
cp -a "$KURA_REPOSITORY" "$R"
idx=$(find "$R/index" -type f -print -quit)
iname=$(basename "$idx")
flip "$idx"
expect_exit 4 kura -r "$R" check
grep -qF "${iname:0:12}" <<<"$OUT$ERR" || fail "check does not name the damaged index $iname: $OUT $ERR"

note "flip one byte in a pack's header (its sealed data key)"
R=$WORK/repo-header
cp -a "$KURA_REPOSITORY" "$R"
victim=${packs[0]#"$KURA_REPOSITORY"/}
flip "$R/$victim" 60
expect_exit 4 kura -r "$R" check --read-data
grep -qF "$(basename "$victim" | head -c 12)" <<<"$OUT$ERR" || fail "check --read-data does not name the pack with a damaged header"

note "a missing pack"
R=$WORK/repo-missing
cp -a "$KURA_REPOSITORY" "$R"
victim=${packs[${#packs[@]} - 3]#"$KURA_REPOSITORY"/}
rm "$R/$victim"
expect_exit 4 kura -r "$R" check
grep -qF "$(basename "$victim" | head -c 12)" <<<"$OUT$ERR" || fail "check does not name the missing pack"
rc=0
kura -r "$R" restore latest --target "$WORK/r-missing" >/dev/null 2>"$WORK/e" || rc=$?
no_crash $rc "$WORK/e" "restore with a missing pack"
assert_eq "restore with a missing pack: exit status" 4 "$rc"


note "a truncated pack"
R=$WORK/repo-trunc
cp -a "$KURA_REPOSITORY" "$R"
victim=${packs[${#packs[@]} - 2]#"$KURA_REPOSITORY"/}
truncate -s -100 "$R/$victim"
expect_exit 4 kura -r "$R" check --read-data
grep -qF "$(basename "$victim" | head -c 12)" <<<"$OUT$ERR" || fail "check --read-data does not name the truncated pack"
# the index gives every pack's exact size (header, blobs, trailer of 48 bytes
# an entry): a check without --read-data can see a shortened pack by its size
expect_exit 4 kura -r "$R" check
grep -qF "$(basename "$victim" | head -c 12)" <<<"$OUT$ERR" || fail "check does not name the truncated pack"

echo "PASS bitflip"

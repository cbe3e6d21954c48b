#!/usr/bin/env bash
# key_split.sh - the restore key split among people: split 3 of 5, combine
# two different subsets, restore with each combined key file (byte-identical
# trees), M-1 shares refused with the count, a mistyped character caught by
# file and line, shares of another repository refused, a backup key cannot
# split, files never overwritten.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/src
mkdir -p "$SRC/sub"
gen_text "$SRC/notes.txt" 2000 notes
gen_random "$SRC/sub/scan.bin" 300000 scan
printf 'hello\n' >"$SRC/sub/hello.txt"
init_repo
backup_json --no-detect "$SRC"
snap=$SNAP_ID

NEWPASS=$WORK/newpass
printf '%s\n' "a different passphrase for the rebuilt key" >"$NEWPASS"
chmod 600 "$NEWPASS"

note "split 3 of 5"
expect_exit 0 kura --json key split --shares 5 --threshold 3 --output-dir "$WORK/shares"
repo_id=$(json_get "$OUT" 'd["repository"]')
split_id=$(json_get "$OUT" 'd["split"]')
[[ $repo_id =~ ^[0-9a-f]{64}$ ]] || fail "split --json: repository is not 64 hex digits: $repo_id"
[[ $split_id =~ ^[0-9a-f]{16}$ ]] || fail "split --json: split is not 16 hex digits: $split_id"
assert_eq "shares listed" 5 "$(json_get "$OUT" 'len(d["files"])')"
assert_eq "output dir mode" 700 "$(stat -c %a "$WORK/shares")"
for i in 1 2 3 4 5; do
	f=$WORK/shares/share-$i-of-5.txt h=$WORK/shares/share-$i-of-5.html
	[ -f "$f" ] && [ -f "$h" ] || fail "share $i: $f or $h missing"
	assert_eq "share $i mode" 600 "$(stat -c %a "$f")"
	assert_eq "sheet $i mode" 600 "$(stat -c %a "$h")"
	t=$(cat "$f") s=$(cat "$h")
	assert_contains "share $i names the repository" "repository $repo_id" "$t"
	assert_contains "share $i names the split" "split $split_id" "$t"
	assert_contains "share $i index" "share $i of 5" "$t"
	assert_contains "share $i threshold" "threshold 3" "$t"
	assert_contains "sheet $i QR code" "<svg" "$s"
	assert_contains "sheet $i instructions" "For the holder of this sheet" "$s"
	# every typed line of the share is on its sheet
	while IFS= read -r line; do
		assert_contains "sheet $i shows the line '$line'" "$line" "$s"
	done < <(grep -v '^#' "$f")
done
# no two shares alike, and none holds a key file's bytes
[ "$(cat "$WORK"/shares/*.txt | grep -E '^[1-7]:' | sort | uniq -d | wc -l)" = 0 ] ||
	fail "two shares have a data line in common"

note "files are never overwritten"
cp "$WORK/shares/share-1-of-5.txt" "$WORK/share1.orig"
expect_fail kura key split --shares 5 --threshold 3 --output-dir "$WORK/shares"
cmp -s "$WORK/shares/share-1-of-5.txt" "$WORK/share1.orig" || fail "a second split overwrote share 1"
[ "$(ls "$WORK/shares" | wc -l)" = 10 ] || fail "a refused split left files behind: $(ls "$WORK/shares")"

note "usage errors"
expect_exit 2 kura key split --shares 3 --threshold 4 --output-dir "$WORK/x"
assert_contains "threshold above shares" "never be rebuilt" "$ERR"
expect_exit 2 kura key split --shares 3 --threshold 1 --output-dir "$WORK/x"
expect_exit 2 kura key split --shares 300 --threshold 2 --output-dir "$WORK/x"
expect_exit 2 kura key combine "$WORK/shares/share-1-of-5.txt"
[ ! -e "$WORK/x" ] || fail "a refused split made its output directory"

note "a backup key cannot split (exit 13)"
expect_exit 0 kura key backup-key --output "$WORK/backup.key"
expect_exit 13 env KURA_KEY_FILE="$WORK/backup.key" "$KURA" key split --shares 3 --threshold 2 \
	--output-dir "$WORK/bk-shares"
assert_contains "backup key refused" "restore key" "$ERR"
[ ! -e "$WORK/bk-shares" ] || [ -z "$(ls -A "$WORK/bk-shares")" ] || fail "backup key split wrote shares"

# combine with the new passphrase, without trying a repository
combine() { env -u KURA_REPOSITORY KURA_PASSWORD_FILE="$NEWPASS" "$KURA" key combine --kdf interactive "$@" </dev/null; }
S=$WORK/shares

note "M-1 shares are refused, saying how many are missing"
expect_exit 1 combine "$S/share-2-of-5.txt" "$S/share-4-of-5.txt" --output "$WORK/two.key"
assert_contains "M-1 message" "need 3 shares, have 2" "$ERR"
[ ! -e "$WORK/two.key" ] || fail "M-1 shares wrote a key file"
note "the same share twice counts once"
expect_exit 1 combine "$S/share-2-of-5.txt" "$S/share-2-of-5.txt" "$S/share-4-of-5.txt" --output "$WORK/dup.key"
assert_contains "duplicate message" "need 3 shares, have 2" "$ERR"

note "a share with one wrong character is caught by file and line, before combining"
cp "$S/share-5-of-5.txt" "$WORK/typo.txt"
python3 - "$WORK/typo.txt" <<'EOF'
import sys
p = sys.argv[1]
lines = open(p).read().split("\n")
for i, l in enumerate(lines):
    if l.startswith("4: "):
        c = l[3]
        lines[i] = "4: " + ("X" if c != "X" else "Y") + l[4:]
        break
open(p, "w").write("\n".join(lines))
EOF
typo_line=$(grep -n '^4: ' "$WORK/typo.txt" | cut -d: -f1)
expect_exit 4 combine "$S/share-1-of-5.txt" "$WORK/typo.txt" "$S/share-3-of-5.txt" --output "$WORK/typo.key"
assert_contains "typo names file and line" "typo.txt: line $typo_line: checksum" "$ERR"
assert_contains "nothing combined" "nothing combined" "$ERR"
[ ! -e "$WORK/typo.key" ] || fail "a mistyped share wrote a key file"

note "shares of another repository are refused"
OTHER=$WORK/other
expect_exit 0 env KURA_REPOSITORY="$OTHER" "$KURA" init --kdf interactive
expect_exit 0 env KURA_REPOSITORY="$OTHER" "$KURA" key split --shares 3 --threshold 2 --output-dir "$WORK/other-shares"
expect_exit 1 combine "$S/share-1-of-5.txt" "$WORK/other-shares/share-2-of-3.txt" "$S/share-3-of-5.txt" \
	--output "$WORK/mixed.key"
assert_contains "other repository" "different repositories" "$ERR"
[ ! -e "$WORK/mixed.key" ] || fail "mixed shares wrote a key file"

note "combine two different subsets"
t0=$(date +%s%N)
expect_exit 0 combine "$S/share-1-of-5.txt" "$S/share-3-of-5.txt" "$S/share-5-of-5.txt" --output "$WORK/a.key"
t1=$(date +%s%N)
note "combine took $(((t1 - t0) / 1000000)) ms (Argon2id interactive included)"
assert_contains "combine says the repository" "$repo_id" "$OUT"
# the second subset takes share 2 as its holder would: scanned from the sheet's QR code
share2=$S/share-2-of-5.txt
if command -v zbarimg >/dev/null; then
	note "scan the QR code of sheet 2 (zbarimg) and combine with the scanned share"
	python3 - "$S/share-2-of-5.html" "$WORK/sheet2.pgm" <<'EOF'
import re, sys
html = open(sys.argv[1]).read()
w = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', html).group(1))
px = [[255] * w for _ in range(w)]
for x, y, run in re.findall(r'M(\d+) (\d+)h(\d+)v1h-\d+z', re.search(r'<path fill="#000" d="([^"]*)"', html).group(1)):
    for i in range(int(run)):
        px[int(y)][int(x) + i] = 0
s = 6  # pixels per module
with open(sys.argv[2], "wb") as f:
    f.write(b"P5 %d %d 255\n" % (w * s, w * s))
    for row in px:
        line = bytes(v for v in row for _ in range(s))
        f.write(line * s)
EOF
	zbarimg --nodbus -q --raw "$WORK/sheet2.pgm" >"$WORK/scanned-2.txt" 2>"$WORK/zbar.err" ||
		fail "zbarimg could not read the QR code of sheet 2: $(cat "$WORK/zbar.err")"
	assert_eq "the QR code holds the share's lines" "$(grep -v '^#' "$share2")" "$(cat "$WORK/scanned-2.txt")"
	share2=$WORK/scanned-2.txt
else
	echo "SKIP QR decoding: no zbarimg (scripts/deps.sh installs zbar-tools)"
fi
expect_exit 0 combine "$S/share-4-of-5.txt" "$share2" "$S/share-1-of-5.txt" "$S/share-5-of-5.txt" \
	--output "$WORK/b.key" --json
assert_eq "combine --json repository" "$repo_id" "$(json_get "$OUT" 'd["repository"]')"
for k in a b; do
	assert_eq "$k.key mode" 600 "$(stat -c %a "$WORK/$k.key")"
	assert_eq "$k.key size" 276 "$(stat -c %s "$WORK/$k.key")"
done
note "combined key files are never overwritten"
cp "$WORK/a.key" "$WORK/a.key.orig"
expect_fail combine "$S/share-2-of-5.txt" "$S/share-3-of-5.txt" "$S/share-4-of-5.txt" --output "$WORK/a.key"
cmp -s "$WORK/a.key" "$WORK/a.key.orig" || fail "combine overwrote a key file"

note "with a repository given, combine proves the key opens it"
expect_exit 0 env KURA_PASSWORD_FILE="$NEWPASS" "$KURA" key combine --kdf interactive \
	"$S/share-2-of-5.txt" "$S/share-3-of-5.txt" "$S/share-4-of-5.txt" --output "$WORK/c.key" </dev/null
assert_contains "combine opened the repository" "it opens the repository" "$OUT"

note "restore with each combined key: byte-identical trees"
for k in a b; do
	expect_exit 0 env KURA_KEY_FILE="$WORK/$k.key" KURA_PASSWORD_FILE="$NEWPASS" "$KURA" \
		restore "$snap" --target "$WORK/restore-$k" </dev/null
	same_tree "$SRC" "$WORK/restore-$k$SRC"
done
diff -r "$WORK/restore-a" "$WORK/restore-b" >/dev/null || fail "the two restores differ"
note "the old passphrase does not open the rebuilt key; the new one does"
expect_exit 12 env KURA_KEY_FILE="$WORK/a.key" "$KURA" snapshots </dev/null
expect_exit 0 env KURA_KEY_FILE="$WORK/a.key" KURA_PASSWORD_FILE="$NEWPASS" "$KURA" check </dev/null
note "the rebuilt key is a restore key: it exports and splits again"
expect_exit 0 env KURA_KEY_FILE="$WORK/a.key" KURA_PASSWORD_FILE="$NEWPASS" "$KURA" key split \
	--shares 2 --threshold 2 --output-dir "$WORK/again" </dev/null
echo "PASS key_split"

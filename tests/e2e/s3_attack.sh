#!/usr/bin/env bash
# s3_attack.sh - what a thief with the writer's S3 keys can do to a
# versioned, locked bucket, and how kura sees through it (issue 13): PUT
# junk as a new version over a pack and over an index, and place delete
# markers over a pack and over a snapshot, and junk and a delete marker over
# the lock settings kura-s3.json (the locked versions stay, but a
# plain GET or ListObjectsV2 shows junk or nothing).  Then: snapshots
# lists both snapshots, restore of each is byte-identical, check names
# every attacked file as an attack on the store (exit 4, s3_attacked 4),
# s3 heal --dry-run changes nothing, s3 heal deletes the markers and
# copies the intact versions back on top (plain GETs hash right again, the
# copies are locked), and check --read-data passes.  A name none of whose
# versions is intact is reported and not healed (exit 4).
. "$(dirname "$0")/lib.sh"
need_rgw
s3_bucket attack
B=$S3_BUCKET
P=repo
EP=$S3_ENDPOINT
export KURA_REPOSITORY=s3:$EP/$B/$P

code() { s3curl -o "$WORK/body" -w '%{http_code}' "$@"; }
# v2_keys DIR: the keys a plain ListObjectsV2 shows under $P/DIR/
v2_keys() { s3curl "$EP/$B?list-type=2&prefix=$P%2F$1%2F" | grep -o '<Key>[^<]*</Key>' | sed 's:</\?Key>::g'; }
# plain_sha KEY: SHA-256 of what a plain GET returns, or the HTTP status
plain_sha() {
	local c
	c=$(s3curl -o "$WORK/plain" -w '%{http_code}' "$EP/$B/$1")
	if [ "$c" = 200 ]; then sha256sum "$WORK/plain" | cut -c1-64; else echo "$c"; fi
}

SRC=$WORK/src
mkdir -p "$SRC/a" "$SRC/b"
gen_random "$SRC/a/one.bin" 700000 one
gen_text "$SRC/a/notes.txt" 3000 notes
gen_random "$SRC/b/two.bin" 500000 two
expect_exit 0 kura init --kdf interactive --lock-days 1
backup_json --no-detect "$SRC/a"
first=$SNAP_ID
backup_json --no-detect "$SRC/b"
second=$SNAP_ID

mapfile -t packs < <(v2_keys data | sort)
mapfile -t indexes < <(v2_keys index | sort)
[ "${#packs[@]}" -ge 2 ] || fail "want at least 2 packs, have ${#packs[@]}"
OVER_PACK=${packs[0]}
HIDE_PACK=${packs[1]}
OVER_INDEX=${indexes[0]}
HIDE_SNAP=$P/snapshots/$first

note "the thief overwrites a pack and an index, and hides a pack and a snapshot"
printf 'junk over a pack' >"$WORK/junk1"
printf 'junk over an index' >"$WORK/junk2"
assert_eq "overwrite pack" 200 "$(code -T "$WORK/junk1" "$EP/$B/$OVER_PACK")"
assert_eq "overwrite index" 200 "$(code -T "$WORK/junk2" "$EP/$B/$OVER_INDEX")"
assert_eq "delete marker on pack" 204 "$(code -X DELETE "$EP/$B/$HIDE_PACK")"
assert_eq "delete marker on snapshot" 204 "$(code -X DELETE "$EP/$B/$HIDE_SNAP")"
# and the lock settings: junk on top, then a delete marker over that
assert_eq "overwrite kura-s3.json" 200 "$(code -T "$WORK/junk2" "$EP/$B/$P/kura-s3.json")"
assert_eq "delete marker on kura-s3.json" 204 "$(code -X DELETE "$EP/$B/$P/kura-s3.json")"
# the attack is real: plain reads and listings see junk or nothing
assert_eq "plain GET of the overwritten pack is junk" "$(sha256sum "$WORK/junk1" | cut -c1-64)" "$(plain_sha "$OVER_PACK")"
assert_eq "plain GET of the hidden pack" 404 "$(plain_sha "$HIDE_PACK")"
assert_not_contains "ListObjectsV2 hides the snapshot" "$first" "$(v2_keys snapshots)"
assert_not_contains "ListObjectsV2 hides the pack" "$HIDE_PACK" "$(v2_keys data)"

note "snapshots and restores see through it"
expect_exit 0 kura --json snapshots
assert_eq "both snapshots listed" 2 "$(json_get "$OUT" 'len(d)')"
assert_contains "the hidden snapshot is listed" "$first" "$OUT"
expect_exit 0 kura restore "$first" --target "$WORK/r1"
same_contents "$SRC/a" "$WORK/r1$SRC/a"
expect_exit 0 kura restore "$second" --target "$WORK/r2"
same_contents "$SRC/b" "$WORK/r2$SRC/b"

note "check names every attacked file as an attack on the store"
expect_exit 4 kura --json check --read-data --no-record
assert_eq "s3_attacked" 4 "$(json_get "$OUT" 'd["s3_attacked"]')"
assert_eq "no other problem" 4 "$(json_get "$OUT" 'd["problems"]')"
for k in "$OVER_PACK" "$HIDE_PACK" "$OVER_INDEX" "$HIDE_SNAP"; do
	assert_contains "check names ${k#$P/}" "${k##*/}" "$ERR"
done
assert_contains "says attack" "attack on the S3 store" "$ERR"
assert_contains "says overwritten" "overwritten by a newer version" "$ERR"
assert_contains "says hidden" "hidden by a delete marker" "$ERR"
assert_contains "says the locked version is intact" "the locked version is intact" "$ERR"

note "s3 heal --dry-run changes nothing"
expect_exit 0 kura --json s3 heal --dry-run
assert_eq "dry run: attacked" 4 "$(json_get "$OUT" 'd["attacked"]')"
assert_eq "dry run: healed" 0 "$(json_get "$OUT" 'd["healed"]')"
assert_eq "still hidden" 404 "$(plain_sha "$HIDE_PACK")"

note "s3 heal deletes the markers and copies the intact versions back on top"
expect_exit 0 kura --json s3 heal
assert_eq "healed" 4 "$(json_get "$OUT" 'd["healed"]')"
for k in "$OVER_PACK" "$HIDE_PACK" "$OVER_INDEX" "$HIDE_SNAP"; do
	assert_eq "plain GET of ${k#$P/} hashes to its name" "${k##*/}" "$(plain_sha "$k")"
	mode=$(s3curl "$EP/$B/$k?retention=" | sed -n 's:.*<Mode>\([^<]*\)</Mode>.*:\1:p')
	assert_eq "${k#$P/} is locked" COMPLIANCE "$mode"
done
assert_contains "ListObjectsV2 shows the snapshot again" "$first" "$(v2_keys snapshots)"
expect_exit 0 kura check --read-data --no-record
expect_exit 0 kura --json s3 heal
assert_eq "nothing left to heal" 0 "$(json_get "$OUT" 'd["attacked"]')"

note "a name with no intact version is reported, not healed"
gen_random "$WORK/fake" 4000 fake
fake=$(sha256sum "$WORK/fake" | cut -c1-64)
gen_random "$WORK/fake2" 4000 fake2
assert_eq "junk under a name" 200 "$(code -T "$WORK/fake2" "$EP/$B/$P/data/$fake")"
printf 'more junk' >"$WORK/fake3"
assert_eq "more junk over it" 200 "$(code -T "$WORK/fake3" "$EP/$B/$P/data/$fake")"
expect_exit 4 kura s3 heal
assert_contains "not healed" "NOT healed data/$fake" "$OUT"
assert_contains "why" "no stored version hashes to the name" "$OUT"
echo "PASS s3_attack"

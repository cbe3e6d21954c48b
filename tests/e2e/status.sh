#!/usr/bin/env bash
# status.sh - `kura status` turns each rule of 3-2-1-1-0 red and green as
# copies, checks and drills come and go: a local repository, a removable
# copy (a local directory recorded as --media removable), a copy to a real
# kurad vault (off-site, immutable); a new backup makes the copies stale;
# --now ages the drill and the copies past the policy, and wider
# thresholds make them count again; a pack damaged in the removable copy
# fails its verification and its own drill, both red until repaired and
# redone.  The copy records are plaintext files in proofs/, named by hash.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
mkdir -p "$SRC"
for i in 1 2 3; do gen_random "$SRC/part$i.bin" $((256 << 10)) "$i"; done
gen_text "$SRC/notes.txt" 200 4
init_repo --pack-size 1M
backup_json --no-detect "$SRC"
first=$SNAP_ID

# rule N of the last `kura --json status`: true/false
rule() { json_get "$OUT" "d['rules'][$1]['ok']"; }
reason() { json_get "$OUT" "d['rules'][$1]['reason']"; }
fix() { json_get "$OUT" "d['rules'][$1]['fix']"; }
status_json() { # EXPECTED_EXIT [ARGS...]
	local want=$1
	shift
	expect_exit "$want" kura --json status "$@"
}

note "a lone repository: every rule red, exit 8, each with its fix"
status_json 8
assert_eq "ok" false "$(json_get "$OUT" 'd["ok"]')"
assert_eq "newest" "$first" "$(json_get "$OUT" 'd["newest_snapshot"]')"
for r in 0 1 2 3 4; do assert_eq "rule $r" false "$(rule $r)"; done
assert_contains "3 copies" "1 of 3 copies" "$(reason 0)"
assert_contains "0 errors" "never drilled" "$(reason 4)"
assert_contains "0 errors fix" "kura drill" "$(fix 4)"
assert_contains "0 errors fix" "kura check --read-data" "$(fix 4)"
expect_exit 8 kura status
assert_contains "human output" "[FAIL] 0 errors" "$OUT"

note "a drill and a check --read-data: the zero holds"
expect_exit 0 kura drill
expect_exit 0 kura check --read-data
assert_eq "a check record" 1 "$(find "$KURA_REPOSITORY/proofs" -type f | wc -l)"
status_json 8
assert_eq "0 errors" true "$(rule 4)"

note "a removable copy: 2 copies, 2 media, offline"
expect_exit 0 kura copy --to "$WORK/usb" --media removable --label usb
status_json 8
assert_eq "copies holding the newest" 2 "$(json_get "$OUT" 'd["copies_holding_newest"]')"
assert_eq "2 media" true "$(rule 1)"
assert_eq "offline" true "$(rule 3)"
assert_eq "off-site" false "$(rule 2)"
assert_eq "usb media" removable "$(json_get "$OUT" '[c for c in d["copies"] if c["label"]=="usb"][0]["media"]')"
assert_eq "usb looked at (mounted)" true "$(json_get "$OUT" '[c for c in d["copies"] if c["label"]=="usb"][0]["looked"]')"
rec=$(find "$KURA_REPOSITORY/proofs" -type f -newer "$KURA_REPOSITORY/snapshots/$first" | sed -n 1,20p)
for f in $rec; do
	assert_eq "record $f named by its SHA-256" "$(basename "$f")" "$(sha256sum "$f" | cut -c1-64)"
done
grep -lq "KURAPROF" $rec || fail "records lack their magic"
assert_eq "no proof record copied to the mirror" 0 "$(find "$WORK/usb/proofs" -type f | wc -l)"

note "a copy to a second store, a vault: off-site and immutable; every rule green, exit 0"
init_vault "$WORK/vault"
vault_client offsite-copy writer offsite "$WORK/writer.cred"
start_vault
TO=vault://$VAULT_ADDR/offsite
expect_exit 0 kura copy --to "$TO" --to-credentials "$WORK/writer.cred"
status_json 0
assert_eq "ok" true "$(json_get "$OUT" 'd["ok"]')"
assert_eq "holding" 3 "$(json_get "$OUT" 'd["copies_holding_newest"]')"
assert_eq "vault copy's default label, media and site" "vault offsite" \
	"$(json_get "$OUT" '" ".join([c["media"]+" "+c["site"] for c in d["copies"] if c["label"]=="'"$TO"'"])')"
expect_exit 0 kura status
assert_contains "human output" "3-2-1-1-0 holds" "$OUT"

note "a new backup: the copies hold an older snapshot; rule 3 red, fixed by copying again"
gen_random "$SRC/part4.bin" $((128 << 10)) 9
backup_json --no-detect "$SRC"
status_json 8
assert_eq "3 copies" false "$(rule 0)"
assert_contains "fix names the removable copy" "kura copy --to $WORK/usb --label 'usb'" "$(fix 0)"
assert_contains "fix names the vault copy" "kura copy --to $TO" "$(fix 0)"
assert_eq "media still counts recent copies" true "$(rule 1)"
expect_exit 0 kura copy --to "$WORK/usb" --media removable --label usb
expect_exit 0 kura copy --to "$TO" --to-credentials "$WORK/writer.cred"
status_json 0

note "ten days later: the drill and the copies are too old; wider thresholds accept them"
status_json 8 --now +10d
assert_eq "0 errors" false "$(rule 4)"
assert_contains "drill age" "old" "$(reason 4)"
assert_eq "offline" false "$(rule 3)"
assert_contains "offline reason" "usb on removable last synced" "$(reason 3)"
assert_eq "off-site" false "$(rule 2)"
assert_eq "3 copies still hold the newest" true "$(rule 0)"
status_json 0 --now +10d --drill-age 30d --copy-age 14d
expect_exit 2 kura status --drill-age soon

note "a damaged pack in the removable copy: its drill and its verification fail, red until redone"
victim=$(find "$WORK/usb/data" -type f -printf "%s %p\n" | sort -n | tail -n 1 | cut -d" " -f2-) # a data pack: the largest
chmod u+w "$victim"
printf '\xff' | dd of="$victim" bs=1 seek=200 conv=notrunc status=none
expect_exit 6 kura --repo "$WORK/usb" drill
status_json 8
assert_eq "0 errors" false "$(rule 4)"
assert_contains "the copy's drill failed" "the last drill of usb failed" "$(reason 4)"
expect_exit 4 kura copy --to "$WORK/usb" --media removable --label usb
status_json 8
assert_contains "the copy's verification failed" "the last copy to usb" "$(reason 4)"
assert_eq "a failed copy does not count as holding" 2 "$(json_get "$OUT" 'd["copies_holding_newest"]')"
rm -f "$victim"
expect_exit 0 kura copy --to "$WORK/usb" --media removable --label usb
expect_exit 0 kura --repo "$WORK/usb" drill
status_json 0

note "a junk proof record in a local repository is counted and turns the zero red"
printf 'KURAPROF junk' >"$WORK/junk"
j=$(sha256sum "$WORK/junk" | cut -c1-64)
cp "$WORK/junk" "$KURA_REPOSITORY/proofs/$j"
status_json 8
assert_eq "damaged records" 1 "$(json_get "$OUT" 'd["damaged_records"]')"
assert_contains "0 errors" "do not parse" "$(reason 4)"
rm -f "$KURA_REPOSITORY/proofs/$j"
expect_exit 0 kura status
echo "PASS status"

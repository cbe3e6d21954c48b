#!/usr/bin/env bash
# vault_policy.sh - `kurad policy`: `kurad init` writes the default
# policy, `policy set` changes only what it is given and prints the
# result, bad values are usage errors that leave the file alone, a broken
# file is an error (never a silent fallback to the defaults), and a vault
# without the file (made before policies) shows the defaults.
. "$(dirname "$0")/lib.sh"

V=$WORK/vault
expect_exit 0 "$KURAD" init "$V"
[ -f "$V/policy.json" ] || fail "init wrote no policy.json"
assert_eq "policy.json mode" 600 "$(stat -c %a "$V/policy.json")"

note "the defaults"
expect_exit 0 "$KURAD" policy "$V" --json
assert_eq "default min_age" 30d "$(json_get "$OUT" 'd["min_age"]')"
assert_eq "default keep_daily" 7 "$(json_get "$OUT" 'd["keep_daily"]')"
assert_eq "default keep_weekly" 4 "$(json_get "$OUT" 'd["keep_weekly"]')"
assert_eq "default keep_monthly" 12 "$(json_get "$OUT" 'd["keep_monthly"]')"
assert_eq "default quorum" 2 "$(json_get "$OUT" 'd["quorum"]')"
assert_eq "default delay" 7d "$(json_get "$OUT" 'd["delay"]')"
assert_eq "--json is the file" "$(cat "$V/policy.json")" "$OUT"
expect_exit 0 "$KURAD" policy "$V"
assert_contains "human output" "keep weekly   4" "$OUT"
assert_contains "human output" "ISO weeks" "$OUT"

note "set changes only what it is given"
expect_exit 0 "$KURAD" policy set "$V" --keep-daily 14 --min-age=36h --delay 0
assert_contains "set prints the policy" "keep daily    14" "$OUT"
assert_contains "set says when it applies" "next deletion tick" "$OUT"
expect_exit 0 "$KURAD" policy "$V" --json
assert_eq "keep_daily" 14 "$(json_get "$OUT" 'd["keep_daily"]')"
assert_eq "min_age" 36h "$(json_get "$OUT" 'd["min_age"]')"
assert_eq "delay" 0 "$(json_get "$OUT" 'd["delay"]')"
assert_eq "quorum unchanged" 2 "$(json_get "$OUT" 'd["quorum"]')"

note "bad values are usage errors and change nothing"
before=$(cat "$V/policy.json")
for args in "--quorum 0" "--quorum 101" "--keep-daily -1" "--keep-weekly 100001" \
	"--keep-monthly 7x" "--min-age 1x" "--min-age -1d" "--delay 99999999999d" "--delay 0d" \
	"--keep-daily ''" ""; do
	eval "expect_exit 2 \"\$KURAD\" policy set \"\$V\" $args"
done
expect_exit 2 "$KURAD" policy "$V" --quorum 3
assert_contains "show does not set" "policy set" "$ERR"
expect_exit 2 "$KURAD" policy
expect_exit 2 "$KURAD" policy set
expect_exit 2 "$KURAD" policy "$V" extra
assert_eq "policy.json unchanged" "$before" "$(cat "$V/policy.json")"
[ -z "$(ls -A "$V" | grep '^\.\(policy\|tmp-\)' || true)" ] || fail "a temporary policy file was left"

note "a broken file is an error, not the defaults"
echo '{"min_age": "30d", "keep_daily": 7}' >"$V/policy.json"
expect_exit 1 "$KURAD" policy "$V"
assert_contains "names the member" "keep_weekly" "$ERR"
expect_exit 1 "$KURAD" policy set "$V" --quorum 3
assert_contains "says how to recover" "fix or remove" "$ERR"

note "a vault made before policies has the defaults"
rm "$V/policy.json"
expect_exit 0 "$KURAD" policy "$V"
assert_contains "says these are defaults" "defaults" "$OUT"
expect_exit 0 "$KURAD" policy set "$V" --quorum 3
expect_exit 0 "$KURAD" policy "$V" --json
assert_eq "quorum" 3 "$(json_get "$OUT" 'd["quorum"]')"
assert_eq "the rest are defaults" 12 "$(json_get "$OUT" 'd["keep_monthly"]')"

note "not a vault"
expect_exit 1 "$KURAD" policy "$WORK/nothing"
assert_contains "not a vault" "no vault" "$ERR"
expect_exit 0 "$KURAD" policy --help
assert_contains "help" "re-reads" "$OUT"

#!/usr/bin/env bash
# vault_s3_delete.sh - approved deletions on a vault whose repositories are
# on a real Ceph RGW: the request is carried out as on disk, but a file
# still under its COMPLIANCE lock stays; the request's result names the
# kept snapshot with "locked in the store ... until" and counts the kept
# packs (an unreferenced pack put there by hand), the audit log records each attempt with 423, and the objects are
# still in the bucket.  Lock extension afterwards lets exactly the deleted
# snapshot (and the packs only it needs) expire: its lock date stays, the
# kept snapshot's moves.
. "$(dirname "$0")/lib.sh"
need_rgw
s3_bucket vaultdel
B=$S3_BUCKET
P=del/vault
SRC=$WORK/data/src
vault_two_snapshots "$SRC" --store "s3:$S3_ENDPOINT/$B/$P" --lock-days 1
old_snap=$OLD_SNAP
new_snap=$NEW_SNAP

old_key=$P/clinic/snapshots/$old_snap
new_key=$P/clinic/snapshots/$new_snap
old_until=$(s3_retain_until "$B/$old_key")

# a pack no snapshot names (what an interrupted backup leaves), locked for a day
gen_random "$WORK/orphan" 5000 orphan
orphan=$(sha256sum "$WORK/orphan" | cut -c1-64)
assert_eq "orphan pack stored" 200 "$(s3curl -o /dev/null -w '%{http_code}' -T "$WORK/orphan" \
	-H 'x-amz-object-lock-mode: COMPLIANCE' \
	-H "x-amz-object-lock-retain-until-date: $(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)" \
	"$S3_ENDPOINT/$B/$P/clinic/data/$orphan")"
sleep 1.1

note "an approved deletion of a locked snapshot: kept, and the result says why"
expect_exit 0 kura forget --prune "$old_snap"
unset KURA_KEY_FILE
expect_exit 0 "$KURAD" deletions "$VAULT_DIR" --json
req=$(json_get "$OUT" 'd[0]["id"]')
expect_exit 0 "$KURAD" approve "$VAULT_DIR" "$req" --key "$WORK/alice.key"
state=pending
for _ in $(seq 1 100); do
	expect_exit 0 "$KURAD" deletions "$VAULT_DIR" --json
	state=$(json_get "$OUT" "[r['state'] for r in d if r['id'] == $req][0]")
	[ "$state" = done ] && break
	sleep 0.2
done
assert_eq "request state" done "$state"
result=$(json_get "$OUT" "[r for r in d if r['id'] == $req][0]['result']")
assert_eq "snapshots removed" "[]" "$(json_get "$OUT" "[r for r in d if r['id'] == $req][0]['result']['snapshots_removed']")"
assert_eq "snapshot kept" "[\"$old_snap\"]" "$(json_get "$OUT" "[k['snapshot'] for k in [r for r in d if r['id'] == $req][0]['result']['snapshots_kept']]")"
assert_contains "why it was kept" "locked in the store" "$result"
assert_contains "until when" "until" "$result"
kept=$(json_get "$OUT" "[r for r in d if r['id'] == $req][0]['result'].get('packs_kept_locked', 0)")
[ "$kept" -ge 1 ] || fail "no pack counted as kept by its lock: $result"
assert_contains "the kept pack named" "$orphan" "$result"
assert_eq "packs removed" 0 "$(json_get "$OUT" "[r for r in d if r['id'] == $req][0]['result']['packs_removed']")"
assert_eq "packs failed" 0 "$(json_get "$OUT" "[r for r in d if r['id'] == $req][0]['result']['packs_failed']")"
assert_eq "the old snapshot is still in the bucket" 200 \
	"$(s3curl -o /dev/null -w '%{http_code}' -I "$S3_ENDPOINT/$B/$old_key")"
n423=$(ndjson_get "$(cat "$VAULT_DIR/audit/log.jsonl")" \
	'len([e for e in d if e.get("method") == "DELETE" and e.get("status") == 423])')
[ "$n423" -ge 2 ] || fail "want the kept snapshot and pack(s) in the audit log with 423, have $n423"

note "the restore still works"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" restore latest --target "$WORK/r"
same_contents "$SRC" "$WORK/r$SRC"
stop_vault

note "extension lets the deleted snapshot and its own packs expire, and extends the rest"
new_until=$(s3_retain_until "$B/$new_key")
sleep 2
expect_exit 0 "$KURAD" s3 extend-locks "$VAULT_DIR" --json
let=$(json_get "$OUT" '[r["let_expire"] for r in d["repos"] if r["repo"] == "clinic"][0]')
[ "$let" -ge 2 ] || fail "want the deleted snapshot and its packs let expire: $OUT"
assert_eq "the deleted snapshot's lock stays" "$old_until" "$(s3_retain_until "$B/$old_key")"
[ "$(s3_retain_until "$B/$new_key")" -ge $((new_until + 2)) ] || fail "the kept snapshot's lock did not move"
echo "PASS vault_s3_delete"

#!/usr/bin/env bash
# vault_s3_sweep.sh - an approved deletion that the store's Object Lock
# kept is retried once the lock has run out.  A vault on a real Ceph RGW;
# its repository "ward" is a copy of "clinic" made with the bucket owner's
# keys, every object locked for LOCK_S seconds only (the shortest lock
# kurad itself sets is a day).  The approved forget --prune of ward's old
# snapshot keeps it and its packs (423 in the audit log, "locked_retry" in
# the request's result); lock extension leaves their locks alone; `kurad
# s3 sweep` refuses while serve runs, and before the lock runs out tries
# again (423) and keeps the record; after it, serve's S3 maintenance
# thread (run at start) removes the snapshot and the packs only it needed,
# each audited with 200, and the record goes.  The rest still restores.
. "$(dirname "$0")/lib.sh"
need_rgw
s3_bucket vaultsweep
B=$S3_BUCKET
P=sweep/vault
LOCK_S=20
SRC=$WORK/data/src
vault_two_snapshots "$SRC" --store "s3:$S3_ENDPOINT/$B/$P" --lock-days 1
old_snap=$OLD_SNAP
stop_vault

note "ward: a copy of clinic whose every object is locked for $LOCK_S s"
# ward exists (empty) and serve's lock extension at start has run over it
# before the copy: the next run is hours away.
vault_client ward-backup writer ward "$WORK/ward.cred"
vault_client ward-restore reader ward "$WORK/ward-reader.cred"
mkdir -p "$VAULT_DIR/meta/ward" # the receive times the vault recorded (retention reads them)
cp "$VAULT_DIR/meta/clinic/snapshot-times" "$VAULT_DIR/meta/ward/snapshot-times"
start_vault
for _ in $(seq 1 100); do
	grep -q '"EXTEND-LOCKS".*/v1/repos/ward"' "$VAULT_DIR/audit/log.jsonl" && break
	sleep 0.2
done
grep -q '"EXTEND-LOCKS".*/v1/repos/ward"' "$VAULT_DIR/audit/log.jsonl" ||
	fail "serve's lock extension did not run at start: $(tail -n 5 "$WORK/kurad.err")"
list=$(s3curl "$S3_ENDPOINT/$B?list-type=2&prefix=$(printf %s "$P/clinic/" | sed 's:/:%2F:g')")
assert_contains "one page of keys" "<IsTruncated>false</IsTruncated>" "$list"
until_iso=$(date -u -d "+$LOCK_S seconds" +%Y-%m-%dT%H:%M:%SZ)
until_s=$(date -u -d "$until_iso" +%s)
n=0
for key in $(printf '%s' "$list" | grep -o '<Key>[^<]*</Key>' | sed 's:<Key>\(.*\)</Key>:\1:'); do
	case $key in */kura-s3.json) continue ;; esac # ward has its own, the same
	s3curl -o "$WORK/obj" "$S3_ENDPOINT/$B/$key"
	assert_eq "copy of $key" 200 "$(s3curl -o /dev/null -w '%{http_code}' -T "$WORK/obj" \
		-H 'x-amz-object-lock-mode: COMPLIANCE' \
		-H "x-amz-object-lock-retain-until-date: $until_iso" \
		"$S3_ENDPOINT/$B/$P/ward/${key#"$P/clinic/"}")"
	n=$((n + 1))
done
[ "$n" -ge 6 ] || fail "clinic has too few objects to copy: $n"

old_key=$P/ward/snapshots/$old_snap
assert_eq "the copy's lock" "$until_s" "$(s3_retain_until "$B/$old_key")"

note "the approved deletion keeps what is locked and records it for a retry"
export KURA_REPOSITORY=vault://$VAULT_ADDR/ward KURA_VAULT_CREDENTIALS=$WORK/ward.cred
expect_exit 0 kura forget --prune "$old_snap"
unset KURA_KEY_FILE
expect_exit 0 "$KURAD" deletions "$VAULT_DIR" --json
req=$(json_get "$OUT" 'd[0]["id"]')
expect_exit 0 "$KURAD" approve "$VAULT_DIR" "$req" --key "$WORK/alice.key"
rq() { # PY-EXPR over the request r: from a fresh `kurad deletions --json`
	expect_exit 0 "$KURAD" deletions "$VAULT_DIR" --json
	json_get "$OUT" "(lambda r: $1)([r for r in d if r['id'] == $req][0])"
}
state=pending
for _ in $(seq 1 100); do
	state=$(rq "r['state']")
	[ "$state" = done ] && break
	sleep 0.2
done
assert_eq "request state" done "$state"
assert_eq "kept by the lock" "[\"$old_snap\"]" "$(rq "r['result']['locked_retry']['snapshots']")"
assert_eq "its packs wait for it" true "$(rq "r['result']['locked_retry']['packs']")"
assert_eq "snapshots removed" "[]" "$(rq "r['result']['snapshots_removed']")"
assert_eq "no pack removed yet" 0 "$(rq "r['result']['packs_removed']")"
[ "$(date +%s)" -lt "$until_s" ] || fail "too slow: the lock ran out before the first attempt"

note "lock extension leaves alone what is due for deletion"
expect_exit 0 "$KURAD" s3 extend-locks "$VAULT_DIR" --json
assert_eq "the kept snapshot's lock" "$until_s" "$(s3_retain_until "$B/$old_key")"

note "sweep: refused while serve runs; before the lock runs out it keeps the record"
expect_exit 1 "$KURAD" s3 sweep "$VAULT_DIR"
assert_contains "why" "in use by another kurad" "$ERR"
stop_vault
want="[200, 423, 200]"
if [ "$(date +%s)" -lt $((until_s - 3)) ]; then # a machine slow enough skips this part
	expect_exit 0 "$KURAD" s3 sweep "$VAULT_DIR" --json
	assert_eq "still locked" 1 "$(json_get "$OUT" 'd["requests"][0]["snapshots_locked"]')"
	assert_eq "tried once" 1 "$(rq "r['result']['locked_retry']['tries']")"
	assert_eq "still in the bucket" 200 "$(s3curl -o /dev/null -w '%{http_code}' -I "$S3_ENDPOINT/$B/$old_key")"
	want="[200, 423, 200, 423, 200]"
fi

note "once the lock has run out, serve's maintenance thread removes them"
while [ "$(date +%s)" -le "$until_s" ]; do sleep 1; done
start_vault
for _ in $(seq 1 150); do
	[ "$(rq "'locked_retry' in r['result']")" = false ] && break
	sleep 0.2
done
assert_eq "the retry record is gone" false "$(rq "'locked_retry' in r['result']")"
assert_eq "snapshot removed" "[\"$old_snap\"]" "$(rq "r['result']['snapshots_removed']")"
assert_eq "nothing kept" "[]" "$(rq "r['result']['snapshots_kept']")"
[ "$(rq "r['result']['packs_removed']")" -ge 1 ] || fail "no pack removed: $(rq "r['result']")"
assert_eq "gone from the bucket" 404 "$(s3curl -o /dev/null -w '%{http_code}' -I "$S3_ENDPOINT/$B/$old_key")"
log=$(cat "$VAULT_DIR/audit/log.jsonl")
path=/v1/repos/ward/snapshots/$old_snap
assert_eq "its attempts in the audit log" "$want" \
	"$(ndjson_get "$log" "[e['status'] for e in d if e.get('method') == 'DELETE' and e.get('path') == '$path']")"

note "the rest still restores"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/ward-reader.cred" "$KURA" restore latest --target "$WORK/r"
same_contents "$SRC" "$WORK/r$SRC"
stop_vault
expect_exit 0 "$KURAD" s3 sweep "$VAULT_DIR"
assert_contains "nothing left" "no deletion waits" "$OUT"
echo "PASS vault_s3_sweep"

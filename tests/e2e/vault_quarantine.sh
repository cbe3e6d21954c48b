#!/usr/bin/env bash
# vault_quarantine.sh - a stolen writer uploads junk after a known time T:
# a backup of random data, and a "poisoned" snapshot claiming the year 2056
# (with its index and packs).  `kurad client revoke W --since T` revokes it
# and quarantines what it uploaded since T: a reader then lists only the
# clean snapshots, restores `latest` byte-identical and checks the
# repository clean, while `kurad quarantine list` and GET .../quarantine
# show the junk.  An approver quorum removes the junk long before the
# policy's minimum age; a second stolen writer's junk is released instead
# and is visible again.  Every step is in the audit log, which verifies.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
make_tree "$SRC"

init_vault "$WORK/vault"
vault_client ward4 writer clinic "$WORK/writer.cred"
vault_client ward5 writer clinic "$WORK/writer2.cred"
vault_client ward6 writer clinic "$WORK/writer3.cred"
vault_client restore-host reader clinic "$WORK/reader.cred"
vault_client soc auditor "" "$WORK/auditor.cred"
for a in alice bob; do
	expect_exit 0 "$KURAD" approver add "$VAULT_DIR" "$a" --output "$WORK/$a.key" --kdf interactive
done
# A month of minimum age: only the quarantine's exemption lets junk go sooner.
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quorum 2 --delay 0 --min-age 30d
start_vault
REPO_DIR=$VAULT_DIR/repos/clinic
PIN=$(cred_get "$WORK/writer.cred" pin)
W_TOKEN=$(cred_get "$WORK/writer.cred" token)
R_TOKEN=$(cred_get "$WORK/reader.cred" token)
A_TOKEN=$(cred_get "$WORK/auditor.cred" token)

# api TOKEN PATH: GET into $WORK/body; prints the status.
api() {
	curl -sS -o "$WORK/body" -w '%{http_code}' --max-time 20 --noproxy '*' \
		--pinnedpubkey "$PIN" --insecure -H "Authorization: Bearer $1" \
		"https://$VAULT_ADDR$2" || fail "GET $2: curl failed"
}

# reader_snapshots: the ids a reader lists, sorted, on one line, in $SNAPS
# (and kura's stderr in $ERR).
reader_snapshots() {
	expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" --json snapshots
	SNAPS=$(json_get "$OUT" '" ".join(sorted(s["id"] for s in d))')
}

# wait_record_state QID STATE: until `kurad quarantine list` says so (10 s at most).
wait_record_state() {
	local i state=
	for i in $(seq 1 50); do
		expect_exit 0 "$KURAD" quarantine list "$VAULT_DIR" --json
		state=$(json_get "$OUT" "[r['state'] for r in d if r['id'] == $1][0]")
		[ "$state" = "$2" ] && return 0
		sleep 0.2
	done
	fail "quarantine record $1 is '$state', not '$2', after 10 s"
}

note "clean backups by writer ward4"
vault_repo_init
backup_json "$SRC"
clean1=$SNAP_ID
printf 'a second clean day\n' >"$SRC/day2.txt"
backup_json "$SRC"
clean2=$SNAP_ID
clean="$(printf '%s\n' "$clean1" "$clean2" | sort | tr '\n' ' ' | sed 's/ $//')"
reader_snapshots
assert_eq "snapshots before the attack" "$clean" "$SNAPS"

note "provenance: every stored file has its uploader and vault time"
stored=$(cd "$REPO_DIR" && find config keys snapshots index data -type f | wc -l)
recorded=$(cut -d' ' -f2 "$VAULT_DIR/meta/clinic/uploads" | sort -u | wc -l)
assert_eq "files with an upload record" "$stored" "$recorded"
assert_eq "uploaders" ward4 "$(cut -d' ' -f4 "$VAULT_DIR/meta/clinic/uploads" | sort -u)"

sleep 1.1
T=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1

note "after T=$T the stolen writer uploads junk and a poisoned snapshot"
mkdir -p "$WORK/junk"
gen_random "$WORK/junk/encrypted.bin" $((512 * 1024)) junk1
gen_random "$WORK/junk/README-RANSOM.txt" 2048 junk2
# --no-detect: a thief turns kura's own detector off (docs/DETECTION.md)
backup_json --no-detect "$WORK/junk"
junk1=$SNAP_ID
gen_random "$WORK/junk/more-noise.bin" $((256 * 1024)) junk4
backup_json --no-detect --time 2056-01-01T00:00:00Z "$WORK/junk"
junk2=$SNAP_ID
note "meanwhile an honest writer backs up data that deduplicates against the thief's packs"
mkdir -p "$WORK/honest"
cp "$WORK/junk/encrypted.bin" "$WORK/honest/same-bytes.bin"
printf 'an honest file\n' >"$WORK/honest/note.txt"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/writer3.cred" "$KURA" --json backup "$WORK/honest"
honest=$(json_get "$OUT" 'd["snapshot_id"]')
clean="$(printf '%s\n' "$clean1" "$clean2" "$honest" | sort | tr '\n' ' ' | sed 's/ $//')"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" --json snapshots
assert_eq "the reader sees the junk before the revocation" 5 "$(json_get "$OUT" 'len(d)')"

note "kurad client revoke ward4 --since T"
expect_fail "$KURAD" client revoke "$VAULT_DIR" ward4 --since yesterday
expect_exit 0 "$KURAD" client revoke "$VAULT_DIR" ward4 --since "$T"
assert_contains "revoke output" "Quarantined" "$OUT"
assert_contains "revoke output" "as record 1" "$OUT"
wait_record_state 1 quarantined
sleep 1.5 # serve's tick: revocation and quarantine take effect within a second

note "the stolen token opens nothing"
assert_eq "writer token after revocation" 401 "$(api "$W_TOKEN" /v1/repos/clinic/index/)"

note "a reader lists only the clean snapshots, restores latest byte-identical, checks clean"
reader_snapshots
assert_eq "snapshots after the quarantine" "$clean" "$SNAPS"
assert_contains "kura snapshots --json note" "2 quarantined snapshots hidden" "$ERR"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" snapshots
assert_contains "kura snapshots says what is hidden" "2 quarantined snapshots hidden" "$OUT"
unset KURA_KEY_FILE
# latest is the honest writer's snapshot, whose data shares the thief's packs
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" KURA_KEY_FILE="$WORK/restore.key" \
	"$KURA" restore latest --target "$WORK/restored-latest"
same_tree "$WORK/honest" "$WORK/restored-latest$WORK/honest"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" KURA_KEY_FILE="$WORK/restore.key" \
	"$KURA" restore "$clean2" --target "$WORK/restored"
same_tree "$SRC" "$WORK/restored$SRC"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" KURA_KEY_FILE="$WORK/restore.key" \
	"$KURA" check --read-data

note "quarantined files are not listed and not served"
expect_exit 0 "$KURAD" quarantine list "$VAULT_DIR" --json
junk_index=$(json_get "$OUT" '[f["name"] for f in d[0]["files"] if f["type"] == "index"][0]')
assert_eq "GET a quarantined snapshot" 404 "$(api "$R_TOKEN" "/v1/repos/clinic/snapshots/$junk2")"
assert_contains "its refusal" "quarantined" "$(cat "$WORK/body")"
assert_eq "GET a quarantined index" 404 "$(api "$R_TOKEN" "/v1/repos/clinic/index/$junk_index")"
assert_eq "list index" 200 "$(api "$R_TOKEN" /v1/repos/clinic/index/)"
assert_not_contains "index listing" "$junk_index" "$(cat "$WORK/body")"
[ -f "$REPO_DIR/snapshots/$junk1" ] || fail "a quarantined snapshot is gone from the disk (evidence)"

note "kurad quarantine list and GET .../quarantine show the junk"
expect_exit 0 "$KURAD" quarantine list "$VAULT_DIR" --json
assert_eq "quarantined snapshots" "$(printf '%s\n' "$junk1" "$junk2" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"$(json_get "$OUT" '" ".join(sorted(f["name"] for f in d[0]["files"] if f["type"] == "snapshots"))')"
assert_eq "record client" ward4 "$(json_get "$OUT" 'd[0]["client"]')"
assert_eq "record state" quarantined "$(json_get "$OUT" 'd[0]["state"]')"
assert_eq "packs left visible for the honest snapshot" true "$(json_get "$OUT" 'len(d[0]["kept_visible"]) > 0')"
assert_eq "clean files quarantined" 0 "$(json_get "$OUT" "len([f for f in d[0]['files'] if f['name'] in '$clean'])")"
expect_exit 0 "$KURAD" quarantine list "$VAULT_DIR"
assert_contains "list text" "uploaded by ward4 since" "$OUT"
assert_eq "reader GET quarantine" 200 "$(api "$R_TOKEN" /v1/repos/clinic/quarantine)"
assert_eq "reader sees 2 quarantined snapshots" 2 "$(json_get "$(cat "$WORK/body")" 'd[0]["counts"]["snapshots"]')"
assert_eq "auditor GET quarantine" 200 "$(api "$A_TOKEN" /v1/repos/clinic/quarantine)"
assert_eq "revoked writer GET quarantine" 401 "$(api "$W_TOKEN" /v1/repos/clinic/quarantine)"
assert_eq "writer GET quarantine" 403 \
	"$(api "$(cred_get "$WORK/writer3.cred" token)" /v1/repos/clinic/quarantine)"

note "an approver quorum removes the junk, although the minimum age is 30 days"
expect_exit 0 "$KURAD" quarantine remove "$VAULT_DIR" 1
req=$(sed -n 's/^Filed request \([0-9]*\) .*/\1/p' <<<"$OUT")
[ -n "$req" ] || fail "no request id in: $OUT"
expect_fail "$KURAD" quarantine release "$VAULT_DIR" 1 # one request per record at a time
expect_exit 0 "$KURAD" approve "$VAULT_DIR" "$req" --key "$WORK/alice.key"
assert_contains "approve summary" "quarantine-remove" "$OUT"
sleep 1.5
[ -f "$REPO_DIR/snapshots/$junk1" ] || fail "removed on one approval"
expect_exit 0 "$KURAD" approve "$VAULT_DIR" "$req" --key "$WORK/bob.key"
wait_record_state 1 removed
for s in "$junk1" "$junk2"; do
	[ ! -e "$REPO_DIR/snapshots/$s" ] || fail "quarantined snapshot $s was not removed"
done
[ -z "$(find "$REPO_DIR/index" -name "$junk_index")" ] || fail "the junk index was not removed"
reader_snapshots
assert_eq "snapshots after the removal" "$clean" "$SNAPS"
assert_not_contains "nothing hidden after the removal" "quarantined" "$ERR"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" KURA_KEY_FILE="$WORK/restore.key" \
	"$KURA" check --read-data
expect_exit 0 "$KURAD" deletions "$VAULT_DIR" --json
assert_eq "request state" done "$(json_get "$OUT" "[r['state'] for r in d if r['id'] == $req][0]")"
assert_eq "request kind" quarantine-remove "$(json_get "$OUT" "[r['kind'] for r in d if r['id'] == $req][0]")"

note "a second stolen writer's junk is released by a quorum instead, and visible again"
sleep 1.1
T2=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1
mkdir -p "$WORK/junk2"
gen_random "$WORK/junk2/more.bin" $((256 * 1024)) junk3
export KURA_KEY_FILE=$WORK/backup.key
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/writer2.cred" "$KURA" --json backup --no-detect "$WORK/junk2"
junk3=$(json_get "$OUT" 'd["snapshot_id"]')
unset KURA_KEY_FILE
expect_exit 0 "$KURAD" client revoke "$VAULT_DIR" ward5 --since "$T2"
assert_contains "second revoke" "as record 2" "$OUT"
wait_record_state 2 quarantined
sleep 1.5
reader_snapshots
assert_eq "snapshots with record 2 held" "$clean" "$SNAPS"
expect_exit 0 "$KURAD" quarantine release "$VAULT_DIR" 2
req2=$(sed -n 's/^Filed request \([0-9]*\) .*/\1/p' <<<"$OUT")
expect_exit 0 "$KURAD" approve "$VAULT_DIR" "$req2" --key "$WORK/bob.key"
expect_exit 0 "$KURAD" approve "$VAULT_DIR" "$req2" --key "$WORK/alice.key"
wait_record_state 2 released
sleep 1.5
reader_snapshots
assert_eq "snapshots after the release" "$(printf '%s\n' "$clean1" "$clean2" "$honest" "$junk3" | sort | tr '\n' ' ' | sed 's/ $//')" "$SNAPS"
assert_eq "GET the released snapshot" 200 "$(api "$R_TOKEN" "/v1/repos/clinic/snapshots/$junk3")"

note "a revoke --since on a revoked client with nothing new quarantines nothing"
expect_exit 0 "$KURAD" client revoke "$VAULT_DIR" ward4 --since "$T"
assert_contains "repeat revoke" "revoked already" "$OUT"
assert_contains "repeat revoke" "Nothing ward4 uploaded" "$OUT"

note "revoke --after SNAPSHOT: the boundary is when the vault received it"
expect_fail "$KURAD" client revoke "$VAULT_DIR" ward4 --after zz
assert_contains "not an id" "is not a snapshot id" "$ERR"
expect_fail "$KURAD" client revoke "$VAULT_DIR" ward4 --after 0000000000
assert_contains "unknown id" "has no snapshot 0000000000 on record" "$ERR"
expect_fail "$KURAD" client revoke "$VAULT_DIR" ward4 --since "$T" --after "$clean2"
assert_contains "one boundary" "give one" "$ERR"
expect_fail "$KURAD" client add "$VAULT_DIR" ward9 --role writer --repo clinic --output "$WORK/x.cred" --after "$clean2"
assert_contains "--after is revoke's" "--after belongs to client revoke" "$ERR"
received2=$(awk -v s="$clean2" '$1 == "snapshots" && $2 == s { print $3; exit }' "$VAULT_DIR/meta/clinic/uploads")
after2=$(awk -v t="$received2" '$3 > t && !seen[$2]++' "$VAULT_DIR/meta/clinic/uploads" | wc -l)
[ "$after2" -gt 0 ] || fail "the uploads record has nothing after clean2's receipt"
expect_exit 0 "$KURAD" client revoke "$VAULT_DIR" ward4 --after "${clean2:0:12}"
assert_contains "after clean2: all of it quarantined or released already" "Nothing ward4 uploaded" "$OUT"

note "every step is in the audit log, which verifies"
stop_vault
log=$(cat "$VAULT_DIR/audit/log.jsonl")
assert_eq "quarantines logged" '["ward4", "ward5"]' \
	"$(ndjson_get "$log" "[e['client'] for e in d if e.get('method') == 'QUARANTINE']")"
assert_eq "removal logged" 1 "$(ndjson_get "$log" "len([e for e in d if e.get('method') == 'QUARANTINE-REMOVE' and e['status'] == 200])")"
assert_eq "release logged" 1 "$(ndjson_get "$log" "len([e for e in d if e.get('method') == 'QUARANTINE-RELEASE' and e['status'] == 200])")"
assert_eq "junk snapshot removals logged" 2 \
	"$(ndjson_get "$log" "len([e for e in d if e.get('method') == 'DELETE' and e['path'] in ('/v1/repos/clinic/snapshots/$junk1', '/v1/repos/clinic/snapshots/$junk2')])")"
assert_eq "approvals logged" 4 "$(ndjson_get "$log" "len([e for e in d if e.get('method') == 'APPROVE' and e['status'] == 200])")"
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"

echo "PASS vault_quarantine"

#!/usr/bin/env bash
# vault_copy.sh - `kura copy` with a real kurad: a local repository to a
# vault with a writer credential (killed midway and resumed; the writer
# cannot read packs back, so the target check re-hashes what it may read
# and lists the rest), then the vault to a new local mirror with a reader
# credential only; the vault copy restores byte-identical with the source
# moved away, and the offline one with the vault stopped too.  A reader
# cannot copy to the vault, nor a writer out of it.  Vault -> vault: the
# first vault with a reader credential to a second vault with a writer
# credential, killed after 3 files and resumed, verified, recorded on the
# first vault (kura status counts the copy), and restored byte-identical
# from the second vault with the first one stopped.  An acceptance record
# (kura scan --accept) is refused by a vault to a writer: counted, said,
# not a failure.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
make_tree "$SRC"
for i in 1 2 3 4; do gen_random "$SRC/big$i.bin" $((1 << 20)) "$i"; done
init_repo --pack-size 1M
backup_json "$SRC"
snap=$SNAP_ID
npacks=$(find "$KURA_REPOSITORY/data" -type f | wc -l)

init_vault "$WORK/vault"
vault_client offsite-copy writer offsite "$WORK/writer.cred"
vault_client offsite-read reader offsite "$WORK/reader.cred"
start_vault
TO=vault://$VAULT_ADDR/offsite

note "a reader credential cannot copy to the vault"
expect_exit 1 kura copy --to "$TO" --to-credentials "$WORK/reader.cred"
assert_contains "refusal" "writer credential" "$ERR"
assert_eq "nothing stored" 0 "$(find "$VAULT_DIR/repos/offsite/data" -type f 2>/dev/null | wc -l)"

note "local -> vault with a writer credential, killed after 3 files, then resumed"
rc=0
KURA_TEST_COPY_KILL_AFTER=3 KURA_COPY_TO_CREDENTIALS=$WORK/writer.cred "$KURA" copy --to "$TO" \
	>"$WORK/kill.out" 2>"$WORK/kill.err" </dev/null || rc=$?
[ "$rc" -eq 137 ] || fail "the copy should have been killed (137), got $rc: $(cat "$WORK/kill.err")"
assert_eq "snapshots on the vault after the kill" 0 \
	"$(find "$VAULT_DIR/repos/offsite/snapshots" -type f 2>/dev/null | wc -l)"
expect_exit 0 kura --json copy --to "$TO" --to-credentials "$WORK/writer.cred"
assert_eq "result" ok "$(json_get "$OUT" 'd["result"]')"
assert_eq "target problems" 0 "$(json_get "$OUT" 'd["target_problems"]')"
listed=$(json_get "$OUT" 'd["files_verified_listed"]')
[ "$listed" -ge "$npacks" ] || fail "a writer should verify packs by listing: $listed < $npacks"
assert_eq "packs on the vault" "$npacks" "$(find "$VAULT_DIR/repos/offsite/data" -type f | wc -l)"
for f in "$VAULT_DIR"/repos/offsite/snapshots/* "$VAULT_DIR"/repos/offsite/config/*; do
	assert_eq "name of $f" "$(sha256sum "$f" | cut -d' ' -f1)" "$(basename "$f")"
done

note "the vault copy restores byte-identical with the source moved away"
mv "$KURA_REPOSITORY" "$WORK/away"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" --repo "$TO" restore "$snap" \
	--target "$WORK/from-vault"
same_tree "$SRC" "$WORK/from-vault$SRC"
mv "$WORK/away" "$KURA_REPOSITORY"

note "vault -> local with a reader credential only"
export KURA_VAULT_CREDENTIALS=$WORK/reader.cred
expect_exit 0 kura --json --repo "$TO" copy --to "$WORK/offline"
assert_eq "result" ok "$(json_get "$OUT" 'd["result"]')"
assert_eq "verified by hash" "$(json_get "$OUT" 'd["files_needed"]')" \
	"$(json_get "$OUT" 'd["files_verified"]')"
expect_exit 0 kura --json --repo "$TO" copy --to "$WORK/offline"
assert_eq "a second copy copies nothing" 0 "$(json_get "$OUT" 'd["files_copied"]')"

note "a writer credential cannot copy out of the vault: one clean refusal"
expect_exit 1 env KURA_VAULT_CREDENTIALS="$WORK/writer.cred" "$KURA" --repo "$TO" copy \
	--to "$WORK/nope"
assert_contains "refusal" "reader credential" "$ERR"
[ "$(grep -c 'not copied' <<<"$ERR")" = 0 ] || fail "a refusal reported file by file: $ERR"

note "vault -> vault: reader on the first, writer on the second, killed after 3 files and resumed"
V1_PID=$VAULT_PID V1_DIR=$VAULT_DIR
at_exit "kill -TERM $V1_PID 2>/dev/null; wait $V1_PID 2>/dev/null"
VAULT_PID=
init_vault "$WORK/vault2"
vault_client second-copy writer second "$WORK/writer2.cred"
vault_client second-read reader second "$WORK/reader2.cred"
start_vault
TO2=vault://$VAULT_ADDR/second
rc=0
KURA_TEST_COPY_KILL_AFTER=3 KURA_COPY_TO_CREDENTIALS=$WORK/writer2.cred "$KURA" --repo "$TO" copy \
	--to "$TO2" >"$WORK/kill2.out" 2>"$WORK/kill2.err" </dev/null || rc=$?
[ "$rc" -eq 137 ] || fail "the vault -> vault copy should have been killed (137), got $rc: $(cat "$WORK/kill2.err")"
assert_eq "snapshots on the second vault after the kill" 0 \
	"$(find "$VAULT_DIR/repos/second/snapshots" -type f 2>/dev/null | wc -l)"
[ "$(find "$VAULT_DIR/repos/second/data" -type f 2>/dev/null | wc -l)" -ge 1 ] ||
	fail "no pack reached the second vault before the kill"
expect_exit 0 kura --json --repo "$TO" copy --to "$TO2" --to-credentials "$WORK/writer2.cred" \
	--label second-vault
assert_eq "result" ok "$(json_get "$OUT" 'd["result"]')"
assert_eq "target problems" 0 "$(json_get "$OUT" 'd["target_problems"]')"
[ "$(json_get "$OUT" 'd["files_present"]')" -ge 1 ] || fail "the resumed copy found nothing already there"
assert_eq "packs on the second vault" "$npacks" "$(find "$VAULT_DIR/repos/second/data" -type f | wc -l)"
for f in "$VAULT_DIR"/repos/second/snapshots/* "$VAULT_DIR"/repos/second/data/*/*; do
	assert_eq "name of $f" "$(sha256sum "$f" | cut -d' ' -f1)" "$(basename "$f")"
done
assert_eq "copy records on the first vault (the reader uploaded them)" 3 \
	"$(find "$V1_DIR/repos/offsite/proofs" -type f | wc -l)"
expect_exit 8 kura --json --repo "$TO" status
assert_eq "the second vault counts: off-site, vault, holds the newest" "vault offsite True" \
	"$(json_get "$OUT" '" ".join([c["media"]+" "+c["site"]+" "+str(c["holds_newest"]) for c in d["copies"] if c["label"]=="second-vault"])')"
assert_eq "copies holding the newest" 3 "$(json_get "$OUT" 'd["copies_holding_newest"]')"

note "an acceptance record: a vault takes it only from a reader, so a writer's copy counts it refused"
ACC=$WORK/data/acc
mkdir -p "$ACC"
for i in $(seq -w 1 20); do gen_text "$ACC/result_$i.csv" 200 "acc$i"; done
expect_exit 0 kura --json backup "$ACC"
for f in "$ACC"/*.csv; do gen_random "$f.pak" "$(stat -c %s "$f")" "$(basename "$f")"; rm "$f"; done
expect_exit 5 kura --json backup "$ACC"
accepted=$(json_get "$OUT" 'd["snapshot_id"]')
expect_exit 0 kura --json scan --accept "$accepted"
expect_exit 0 kura --json copy --to "$TO2" --to-credentials "$WORK/writer2.cred" --no-record
assert_eq "result" ok "$(json_get "$OUT" 'd["result"]')"
assert_eq "refused, not failed" "1 0" "$(json_get "$OUT" '"%d %d" % (d["acceptances_refused"], d["files_failed"])')"
assert_contains "said" "1 acceptance record(s) (kura scan --accept) not copied" "$ERR"
assert_eq "the snapshot is there" 1 "$(find "$VAULT_DIR/repos/second/snapshots" -name "$accepted" | wc -l)"
assert_eq "no record" 0 "$(find "$VAULT_DIR/repos/second/accepts" -type f 2>/dev/null | wc -l)"

note "the second vault restores byte-identical with the first vault stopped and the source away"
kill -TERM "$V1_PID"
wait "$V1_PID" || true
mv "$KURA_REPOSITORY" "$WORK/away"
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader2.cred" "$KURA" --repo "$TO2" check --read-data
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader2.cred" "$KURA" --repo "$TO2" restore "$snap" \
	--target "$WORK/from-vault2"
same_tree "$SRC" "$WORK/from-vault2$SRC"
mv "$WORK/away" "$KURA_REPOSITORY"

note "the offline copy restores byte-identical with the vaults stopped and the source away"
stop_vault
unset KURA_VAULT_CREDENTIALS
mv "$KURA_REPOSITORY" "$WORK/away"
expect_exit 0 kura --repo "$WORK/offline" check --read-data
expect_exit 0 kura --repo "$WORK/offline" restore "$snap" --target "$WORK/restored"
same_tree "$SRC" "$WORK/restored$SRC"
echo "PASS vault_copy"

#!/usr/bin/env bash
# vault_repair.sh - `kura repair index` through the real kurad (issue 9).
#
# No one credential can repair a vault's index, on purpose: a reader reads
# packs but may not upload, a writer uploads but may not read packs.  So
# repair reads with the reader (KURA_VAULT_CREDENTIALS) and uploads with a
# writer (--writer-credentials or KURA_VAULT_WRITER_CREDENTIALS).  The
# damage is what a vault host's disk can do and a client cannot undo:
# every index file lost, then one rotted.  Before the repair `check`
# reports the blobs no index places; after it, `check` is clean of them,
# both snapshots restore byte-identical, nothing stored was deleted or
# changed, and every new index file is in the audit log as the writer's
# upload.  Wrong pairs of credentials are refused before any key is asked
# for, with the reason.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
make_tree "$SRC"
for i in $(seq 1 6); do gen_random "$SRC/part$i.bin" $((400 * 1024)) "part$i"; done

init_vault "$WORK/vault"
vault_client ward4 writer clinic "$WORK/writer.cred"
vault_client restore1 reader clinic "$WORK/reader.cred"
vault_client elsewhere writer other "$WORK/other-writer.cred"
start_vault
REPO_DIR=$VAULT_DIR/repos/clinic
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic

W=$WORK/writer.cred R=$WORK/reader.cred
as_writer() { env KURA_VAULT_CREDENTIALS="$W" "$@"; }
as_reader() { env KURA_VAULT_CREDENTIALS="$R" "$@"; }

note "a repository on the vault with two snapshots in small packs"
expect_exit 0 as_writer "$KURA" init --kdf interactive --pack-size 1M \
	--chunk-min 64K --chunk-avg 256K --chunk-max 1M
expect_exit 0 as_reader "$KURA" key backup-key --output "$WORK/backup.key"
expect_exit 0 as_reader "$KURA" key export --output "$WORK/restore.key"
expect_exit 0 as_writer env KURA_KEY_FILE="$WORK/backup.key" "$KURA" --json backup "$SRC"
snap1=$(json_get "$OUT" 'd["snapshot_id"]')
cp -a "$SRC" "$WORK/v1"
gen_random "$SRC/later.bin" $((700 * 1024)) later
expect_exit 0 as_writer env KURA_KEY_FILE="$WORK/backup.key" "$KURA" --json backup "$SRC"
snap2=$(json_get "$OUT" 'd["snapshot_id"]')
nindex=$(find "$REPO_DIR/index" -type f | wc -l)
[ "$nindex" -ge 2 ] || fail "expected several index files on the vault, found $nindex"
expect_exit 0 as_reader "$KURA" check

stored() { # every stored file of the repository with its hash
	(cd "$REPO_DIR" && find config keys snapshots index data -type f -print0 |
		xargs -0 -r sha256sum | LC_ALL=C sort)
}

restores() { # SNAP EXPECTED_TREE
	rm -rf "$WORK/out"
	expect_exit 0 as_reader "$KURA" restore "$1" --target "$WORK/out"
	same_contents "$2" "$WORK/out$SRC"
}

note "the vault host loses every index file"
chattr -R -i "$REPO_DIR/index" 2>/dev/null || true
rm -f "$REPO_DIR"/index/*
before=$(stored)
export KURA_PASSWORD_FILE=$PASSFILE
expect_exit 4 as_reader "$KURA" check
assert_contains "check reports blobs no index places" "no index" "$ERR$OUT"

note "wrong credentials are refused before any key is asked for"
expect_exit 2 as_reader "$KURA" repair index
assert_contains "names the missing writer" "--writer-credentials" "$ERR"
expect_exit 2 as_reader "$KURA" repair index --writer-credentials "$R"
assert_contains "a reader cannot upload" "is a reader credential; it must be a writer" "$ERR"
expect_exit 2 as_writer "$KURA" repair index --writer-credentials "$W"
assert_contains "a writer cannot read packs" "is a writer credential; it must be a reader" "$ERR"
expect_exit 1 as_reader "$KURA" repair index --writer-credentials "$WORK/other-writer.cred"
assert_contains "another repository's writer" 'for repository "other"' "$ERR"
expect_exit 2 kura repair index --repo "$WORK/local" --writer-credentials "$W"
assert_contains "local repositories are repaired in place" "repaired in place" "$ERR"
assert_eq "nothing written by the refused repairs" "$before" "$(stored)"

note "repair with the reader and a writer: new index files, nothing deleted"
expect_exit 0 as_reader "$KURA" --json repair index --writer-credentials "$W"
written=$(json_get "$OUT" 'd["files_written"]')
[ "$written" -ge 1 ] || fail "repair wrote no index file: $OUT"
assert_eq "damaged packs" 0 "$(json_get "$OUT" 'd["damaged_packs"]')"
[ "$(json_get "$OUT" 'd["packs_scanned"]')" -ge 2 ] || fail "repair scanned too few packs: $OUT"
after=$(stored)
kept=$(LC_ALL=C comm -23 <(echo "$before") <(echo "$after"))
assert_eq "stored files removed or changed by the repair" "" "$kept"
new=$(LC_ALL=C comm -13 <(echo "$before") <(echo "$after") | awk '{print $2}')
assert_eq "new files are index files, as many as reported" "$written" \
	"$(grep -c '^index/' <<<"$new")"
assert_eq "no other new files" "$written" "$(grep -c . <<<"$new")"

note "the writer uploaded them, in the audit log"
for f in $new; do
	grep -F "\"/v1/repos/clinic/$f\"" "$VAULT_DIR/audit/log.jsonl" |
		python3 -c '
import json, sys
e = [json.loads(l) for l in sys.stdin]
ok = [x for x in e if x["method"] == "PUT" and x["client"] == "ward4" and x["status"] in (200, 201)]
sys.exit(0 if ok else "no PUT by ward4 for " + sys.argv[1] + ": " + repr(e))' "$f" ||
		fail "audit log: $f"
done

note "check is clean, both snapshots restore byte-identical"
expect_exit 0 as_reader "$KURA" check --read-data
restores "$snap1" "$WORK/v1"
restores "$snap2" "$SRC"

note "a second repair (writer from KURA_VAULT_WRITER_CREDENTIALS) writes nothing"
expect_exit 0 as_reader env KURA_VAULT_WRITER_CREDENTIALS="$W" "$KURA" --json repair index
assert_eq "a second repair writes nothing" 0 "$(json_get "$OUT" 'd["files_written"]')"

note "one index file rots on the vault's disk: repair with the backup key rewrites it"
victim=$(ls -S "$REPO_DIR"/index/* | sed -n 1p)
chattr -i "$victim" 2>/dev/null || true
truncate -s 100 "$victim"
expect_exit 4 as_reader "$KURA" check
assert_contains "check names the rotted index" "$(basename "$victim")" "$ERR$OUT"
expect_exit 0 as_reader env KURA_KEY_FILE="$WORK/backup.key" KURA_VAULT_WRITER_CREDENTIALS="$W" \
	"$KURA" --json repair index
[ "$(json_get "$OUT" 'd["files_written"]')" -ge 1 ] || fail "repair wrote nothing: $OUT"
assert_contains "repair names the damaged index" "index/$(basename "$victim")" \
	"$(json_get "$OUT" 'd["damaged_files"]')"
# the rotted file stays (nothing is deleted): check still names it, and only it
expect_exit 4 as_reader "$KURA" --json check
assert_contains "check still names it" "$(basename "$victim")" "$ERR$OUT"
assert_not_contains "no blob is missing" "no index" "$ERR$OUT"
restores "$snap1" "$WORK/v1"
restores latest "$SRC"

stop_vault
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"
echo "PASS vault_repair"

#!/usr/bin/env bash
# recovery_runbook.sh - docs/RECOVERY.md, step by step, on a real kurad.
#
# Before: a vault with a writer client (ward4, backup key only), two
# approvers (quorum 2), the restore key split 3 of 5 among five holders, a
# small bench/mkdata.py file server backed up twice.  The attack:
# mkdata.py --ransomware, and the next backup exits 5 (the vault raises a
# detection alert and holds).  Then the runbook: every command a step runs
# goes through `runbook`, which first checks that the command is written,
# verbatim, in a ```sh block of docs/RECOVERY.md.  The clean point is
# looked at through `kura mount` (where FUSE is there), then restored in
# place over the encrypted tree: a dry run first (which must change
# nothing: checksums before and after), then `--overwrite if-changed
# --delete`.  The tree must then equal the tree as it was before the attack
# (rsync -aHAXn --checksum --delete: zero differences), with no `.locked`
# file or ransom note left; the alternative, a restore into an empty
# target, must give the same tree.
. "$(dirname "$0")/lib.sh"

ROOT=${KURA_TEST_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
DOC=$ROOT/docs/RECOVERY.md
[ -f "$DOC" ] || fail "no $DOC"
DOC_CMDS=$(awk '/^```sh$/ { f = 1; next } /^```$/ { f = 0 } f' "$DOC")

kurad() { "$KURAD" "$@" </dev/null; }

# runbook CODE 'COMMAND': COMMAND must be a line of RECOVERY.md's sh blocks; run it, expect CODE.
runbook() {
	grep -qxF -- "$2" <<<"$DOC_CMDS" || fail "the script runs a command RECOVERY.md does not show: $2"
	note "runbook: $2"
	expect_exit "$1" eval "$2"
}

# the tree as mkdata.py leaves it, before and after
DATA=$WORK/fileserver/srv/files
python3 "$ROOT/bench/mkdata.py" --size 2M --seed 21 "$DATA" >/dev/null

note "before the worst day: vault, clients, approvers, a split restore key, two clean backups"
VH=$WORK/vault-host
mkdir -p "$VH"
init_vault "$VH/kura"
VAULT_DIR=$VH/kura
vault_client ward4 writer clinic "$WORK/ward4.cred"
vault_client setup reader clinic "$WORK/setup.cred"
for a in alice bob; do
	expect_exit 0 "$KURAD" approver add "$VAULT_DIR" "$a" --output "$VH/$a.key" --kdf interactive
done
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --quorum 2 --delay 1s --min-age 0 \
	--keep-daily 0 --keep-weekly 0 --keep-monthly 0
start_vault
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic
export KURA_VAULT_CREDENTIALS=$WORK/setup.cred
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/ward4.cred" "$KURA" init --kdf interactive
expect_exit 0 kura key backup-key --output "$WORK/backup.key"
expect_exit 0 kura key split --shares 5 --threshold 3 --output-dir "$WORK/sheets"
for i in 1 2 3 4 5; do
	mkdir -p "$WORK/holder-$i"
	mv "$WORK/sheets/share-$i-of-5.txt" "$WORK/sheets/share-$i-of-5.html" "$WORK/holder-$i/"
done
rmdir "$WORK/sheets"
# the backup client: its writer credential and the backup key, nothing else
client() { env -u KURA_PASSWORD_FILE KURA_VAULT_CREDENTIALS="$WORK/ward4.cred" \
	KURA_KEY_FILE="$WORK/backup.key" "$KURA" "$@" </dev/null; }
expect_exit 0 client --json backup "$DATA"
python3 "$ROOT/bench/mkdata.py" --mutate 5 --day 1 --seed 21 "$DATA" >/dev/null
expect_exit 0 client --json backup "$DATA"
clean_truth=$(json_get "$OUT" 'd["snapshot_id"]')
cp -a "$DATA" "$WORK/pre-attack"

note "the attack: ransomware on the file server; the next backup exits 5"
python3 "$ROOT/bench/mkdata.py" --ransomware --seed 21 "$DATA" >/dev/null
[ "$(find "$DATA" -name '*.locked' | wc -l)" -ge 10 ] || fail "mkdata.py encrypted too little"
expect_exit 5 client --json backup "$DATA"
suspect_truth=$(json_get "$OUT" 'd["snapshot_id"]')
unset KURA_VAULT_CREDENTIALS

cd "$VH"
note "step 1: isolate"
runbook 0 'kurad client revoke "$VAULT_DIR" ward4'
runbook 0 'kurad status "$VAULT_DIR"'
assert_contains "status shows the detection alert" "detection" "$OUT"
refused=
for _ in $(seq 1 50); do
	rc=0
	client backup "$DATA" >/dev/null 2>"$WORK/revoked.err" || rc=$?
	no_crash "$rc" "$WORK/revoked.err" "backup with a revoked credential"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 5 ] && { refused=1; break; }
	sleep 0.1
done
[ -n "$refused" ] || fail "the revoked client could still back up"

note "step 2: a clean restore host with a reader credential"
runbook 0 'kurad client add "$VAULT_DIR" restore-host --role reader --repo clinic --output restore-host.cred'
RH=$WORK/restore-host
mkdir -p "$RH"
mv "$VH/restore-host.cred" "$RH/"
cd "$RH"
unset KURA_KEY_FILE KURA_REPOSITORY KURA_VAULT_CREDENTIALS
printf '%s\n' "the rebuilt key for the day of recovery" >"$RH/newpass"
export KURA_PASSWORD_FILE=$RH/newpass # what the holders type at the prompt
runbook 0 'export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic'
runbook 0 'export KURA_VAULT_CREDENTIALS=$PWD/restore-host.cred'
# the stick takes minutes; the test does not: wait for the vault's reload (every 100 ms) to know the token
PIN=$(cred_get "$RH/restore-host.cred" pin)
RTOKEN=$(cred_get "$RH/restore-host.cred" token)
known=
for _ in $(seq 1 100); do
	code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 20 --noproxy '*' --pinnedpubkey "$PIN" \
		--insecure -H "Authorization: Bearer $RTOKEN" "https://$VAULT_ADDR/v1/repos/clinic/config/" || true)
	[ "$code" = 200 ] && { known=1; break; }
	sleep 0.1
done
[ -n "$known" ] || fail "the vault does not accept the new reader credential within 10 s (last answer: $code)"

note "step 3: bring the restore key together"
for i in 1 3 4; do cp "$WORK/holder-$i/share-$i-of-5.txt" "$RH/"; done
expect_exit 1 kura key combine share-1-of-5.txt share-3-of-5.txt --output two.key --kdf interactive
assert_contains "two holders are not enough" "need 3 shares, have 2" "$ERR"
runbook 0 'kura key combine share-1-of-5.txt share-3-of-5.txt share-4-of-5.txt --output restore.key --kdf interactive'
assert_contains "combine proved the key opens the repository" "it opens the repository" "$OUT"
runbook 0 'export KURA_KEY_FILE=$PWD/restore.key'

note "step 4: find the clean point"
runbook 0 'kura snapshots'
assert_contains "the suspect backup is marked" "SUSPECT" "$OUT"
runbook 5 'kura scan --files'
assert_contains "scan names the clean point" "clean point:   $clean_truth" "$OUT"
assert_contains "scan lists an encrypted file" ".locked" "$OUT"
expect_exit 5 kura --json scan
CLEAN=$(json_get "$OUT" 'd["sources"][0]["clean_point"]')
SUSPECT=$(json_get "$OUT" 'd["sources"][0]["first_suspect"]')
assert_eq "clean point" "$clean_truth" "$CLEAN"
assert_eq "first suspect" "$suspect_truth" "$SUSPECT"
runbook 0 'kura diff "$CLEAN" "$SUSPECT"'
assert_contains "diff shows the ransom note" "README_RESTORE.txt" "$OUT"
FILES=$DATA
if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
	note "step 4: look at the clean point through kura mount"
	runbook 0 'mkdir clean-view'
	cmd='kura mount "$CLEAN" clean-view'
	grep -qxF -- "$cmd" <<<"$DOC_CMDS" || fail "the script runs a command RECOVERY.md does not show: $cmd"
	note "runbook (second terminal): $cmd"
	eval "$cmd" >"$WORK/mount.out" 2>"$WORK/mount.err" &
	MOUNT_PID=$!
	at_exit "kill $MOUNT_PID 2>/dev/null; fusermount3 -u -z '$RH/clean-view' 2>/dev/null"
	for _ in $(seq 1 200); do
		mountpoint -q clean-view && break
		kill -0 "$MOUNT_PID" 2>/dev/null || fail "kura mount exited before mounting: $(cat "$WORK/mount.err")"
		sleep 0.05
	done
	mountpoint -q clean-view || fail "kura mount did not mount clean-view within 10 s"
	runbook 0 'ls -l "clean-view$FILES"'
	assert_contains "the mount shows the clean tree" "$(ls "$WORK/pre-attack" | sed -n 1p)" "$OUT"
	diff -r "$WORK/pre-attack" "clean-view$FILES" >/dev/null || fail "the mounted clean point differs from the tree before the attack"
	runbook 0 'fusermount3 -u clean-view'
	rc=0
	wait "$MOUNT_PID" || rc=$?
	no_crash "$rc" "$WORK/mount.err" "kura mount"
	[ "$rc" -eq 0 ] || fail "kura mount exited $rc after fusermount3 -u: $(tail -n 5 "$WORK/mount.err")"
else
	note "step 4: kura mount not tried (needs root, /dev/fuse and fusermount3)"
fi

note "step 5: hide what the stolen client uploaded after the clean point"
cd "$VH"
runbook 0 'kurad client revoke "$VAULT_DIR" ward4 --after "$CLEAN"'
assert_contains "revoke quarantined what came after the clean point" "Quarantined" "$OUT"
cd "$RH"
hidden=
for _ in $(seq 1 50); do
	expect_exit 0 kura --json snapshots
	ids=$(json_get "$OUT" '" ".join(s["id"] for s in d)')
	case " $ids " in *" $SUSPECT "*) sleep 0.1 ;; *) hidden=1; break ;; esac
done
[ -n "$hidden" ] || fail "the suspect snapshot is still listed after the quarantine: $ids"
case " $ids " in *" $CLEAN "*) ;; *) fail "the quarantine hid the clean point too: $ids" ;; esac

# checksums of the tree with every file's type, mode, owner and mtime
tree_sum() {
	(cd "$1" && find . -printf '%y %m %U %G %T@ %s %l %p\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) | sha256sum | cut -d' ' -f1
}
nlocked=$(find "$FILES" -name '*.locked' | wc -l)
nnotes=$(find "$FILES" -name README_RESTORE.txt | wc -l)
untouched=$(find "$FILES" -type d | LC_ALL=C sort | sed -n 1p)
ino_before=$(stat -c %i "$untouched")

note "step 6: restore in place: the dry run first"
before=$(tree_sum "$FILES")
runbook 0 'kura restore "$CLEAN:$FILES" --target "$FILES" --overwrite if-changed --delete --dry-run > plan.txt'
assert_eq "the tree after the dry run (checksums)" "$before" "$(tree_sum "$FILES")"
runbook 0 'tail -n 1 plan.txt'
assert_contains "the dry run's summary" "dry run, nothing changed" "$OUT"
ndel=$(grep -c '^delete ' plan.txt || true)
assert_eq "deletes listed: every *.locked copy and ransom note" $((nlocked + nnotes)) "$ndel"
assert_eq "creates listed: every renamed file" "$nlocked" "$(grep -c '^create ' plan.txt || true)"
[ -z "$(grep -v -E '^(create|replace|delete) '"$FILES"'/|^dry run, nothing changed' plan.txt)" ] ||
	fail "the dry run lists something outside $FILES or not a create/replace/delete: $(grep -v -E '^(create|replace|delete) '"$FILES"'/' plan.txt | sed -n 1,5p)"
runbook 0 "grep '^delete ' plan.txt | grep -v '\\.locked\$'"
assert_eq "deletes that are not .locked copies: the ransom notes" \
	"$(find "$FILES" -name README_RESTORE.txt | sed 's/^/delete /' | LC_ALL=C sort)" "$(LC_ALL=C sort <<<"$OUT")"

note "step 6: restore in place"
runbook 0 'kura restore "$CLEAN:$FILES" --target "$FILES" --overwrite if-changed --delete'
assert_eq "an untouched directory keeps its inode" "$ino_before" "$(stat -c %i "$untouched")"

note "step 6, the alternative: a restore into an empty target"
runbook 0 'kura restore "$CLEAN" --target target'
diff -r "$WORK/pre-attack" "target$FILES" >/dev/null || fail "diff -r: the restore into an empty target differs"

note "step 7: verify"
runbook 0 'kura check --read-data'
runbook 0 'kura restore "$CLEAN:$FILES" --target "$FILES" --overwrite if-changed --delete --verify --dry-run'
assert_contains "the verifying dry run finds nothing to do" "would create 0, replace 0, delete 0" "$OUT"
runbook 0 'find "$FILES" -type f -exec sha256sum {} + | sort -k 2 > restored.sha256'
[ "$(wc -l <restored.sha256)" -eq "$(find "$WORK/pre-attack" -type f | wc -l)" ] ||
	fail "restored $(wc -l <restored.sha256) files, the tree had $(find "$WORK/pre-attack" -type f | wc -l)"
# the manifest against the tree as it was before the attack, paths made relative to it
want=$(cd "$WORK/pre-attack" && find . -type f -exec sha256sum {} + | sort -k 2)
got=$(sed "s|  $FILES/|  ./|" restored.sha256)
[ "$want" = "$got" ] || fail "the restored tree differs from the tree before the attack:
$(diff <(echo "$want") <(echo "$got") | sed -n 1,20p)"
out=$(rsync -aHAXn --checksum --itemize-changes --numeric-ids --delete "$WORK/pre-attack/" "$FILES/")
assert_eq "rsync -aHAXn --checksum --delete: differences from the tree before the attack" "" "$out"
[ -z "$(find "$FILES" target -name '*.locked' -o -name README_RESTORE.txt -o -name '.kura-tmp.*' | sed -n 1p)" ] ||
	fail "encrypted files, ransom notes or temporaries are left: $(find "$FILES" target -name '*.locked' -o -name README_RESTORE.txt -o -name '.kura-tmp.*' | sed -n 1,5p)"

note "step 8: tell the vault, and close"
cd "$VH"
expect_exit 0 "$KURAD" status "$VAULT_DIR" --json
ALERT=$(json_get "$OUT" '[a["id"] for a in d["alerts"] if a["kind"] == "detection"][0]')
assert_eq "the hold stayed open through the recovery" open \
	"$(json_get "$OUT" "[a['state'] for a in d['alerts'] if a['id'] == $ALERT][0]")"
runbook 0 'kurad alert resolve "$VAULT_DIR" "$ALERT" --key alice.key'
assert_contains "one approver is not enough" "1 of 2 needed" "$OUT"
runbook 0 'kurad alert resolve "$VAULT_DIR" "$ALERT" --key bob.key'
assert_contains "the quorum resolves it" "The alert is resolved" "$OUT"
cd "$RH"
runbook 0 'shred -u restore.key'
[ ! -e restore.key ] || fail "restore.key is still there"
stop_vault
expect_exit 0 "$KURAD" log verify "$VAULT_DIR"
echo "PASS recovery_runbook"

#!/usr/bin/env bash
# prune_overlap.sh - a prune that overlaps a backup never loses the
# backup's data (issue 9, finding 4).  Deterministic: the backup reads
# --stdin from a FIFO that this script holds open; once `head -c` of the
# first MiB returns, the backup has read most of it, so it runs (and holds
# the repository's lock) while the script acts; then the script writes the
# rest and closes the FIFO.  The data is the same bytes an earlier
# snapshot stored, so the paused backup deduplicates against that
# snapshot's packs, exactly the packs a prune of that snapshot removes.
#   (a) forget --prune --grace 0 --wait 0 of the old snapshot refuses,
#       naming the running backup, and removes no pack; the backup is
#       saved, check --read-data passes, the restore is byte-identical;
#   (a2) prune --wait 1m waits for a paused backup (it says so) and
#       removes none of the packs the backup then references;
#   (b) packs removed behind the lock's back (rm, as a prune from another
#       host would): the backup fails, exit 1, naming the missing packs and
#       a concurrent prune, and writes no snapshot;
#   (c) the same through a vault (which has no client-side lock): packs
#       removed from the vault's store while a writer's backup runs make
#       the backup fail the same way, and the vault holds no new snapshot.
. "$(dirname "$0")/lib.sh"

gen_random "$WORK/data.bin" $((6 * 1024 * 1024)) overlap

# the store as the lib's prune-overlap helpers read it: the repository's files
snapshot_bytes() { cp "${REPO_DIR:-$KURA_REPOSITORY}/snapshots/$1" "$2"; }
pack_stored() { [ -f "$KURA_REPOSITORY/data/${1:0:2}/$1" ]; }
npacks() { find "$KURA_REPOSITORY/data" -type f | wc -l; }
nsnaps() { find "${REPO_DIR:-$KURA_REPOSITORY}/snapshots" -type f | wc -l; }
# age every pack past any grace period
age_packs() { find "$KURA_REPOSITORY/data" -type f -exec touch -d '2 hours ago' {} +; }

init_repo --chunk-min 16K --chunk-avg 64K --chunk-max 256K --pack-size 1M
"$KURA" --json backup --stdin --stdin-filename first.bin <"$WORK/data.bin" >"$WORK/b.out" ||
	fail "the first backup failed"
s1=$(json_get "$(cat "$WORK/b.out")" 'd["snapshot_id"]')
old=$(packs_of "$s1")
nold=$(printf '%s\n' "$old" | wc -l)
[ "$nold" -ge 3 ] || fail "the first snapshot lists only $nold packs: the test needs several"
age_packs
note "snapshot 1 lists $nold packs, aged past the grace period"

note "(a) forget --prune --wait 0 while a backup of the same bytes runs"
start_paused second.bin
expect_exit 1 kura forget --prune --grace 0 --wait 0 "$s1"
assert_contains "forget still forgets" "forgot snapshot $s1" "$OUT"
assert_contains "prune names the running backup" "a backup holds the repository" "$ERR"
assert_contains "prune says nothing was removed" "nothing was removed" "$ERR"
assert_eq "no pack removed" "$nold" "$(npacks)"
finish_paused
[ "$BRC" -eq 0 ] || fail "the backup beside the refused prune failed ($BRC): $(cat "$WORK/b.err")"
s2=$(json_get "$(cat "$WORK/b.out")" 'd["snapshot_id"]')
# all but the pack with snapshot 1's root tree (another file name)
shared=$(LC_ALL=C comm -12 <(printf '%s\n' "$old") <(packs_of "$s2") | wc -l)
[ "$shared" -ge $((nold - 1)) ] || fail "snapshot 2 shares only $shared of $nold packs with snapshot 1"
expect_exit 0 kura check --read-data
expect_exit 0 kura restore "$s2" --target "$WORK/r2"
cmp "$WORK/data.bin" "$WORK/r2/second.bin" || fail "restore of snapshot 2 differs"
note "a prune now removes none of the packs snapshot 2 needs"
expect_exit 0 kura prune --grace 0
all_stored "$s2"
expect_exit 0 kura check --read-data

note "(a2) prune --wait waits for a running backup, then keeps what it saved"
age_packs
overlap_waiting_prune "$s2"
s3=$THIRD_SNAP

note "(b) packs removed behind the lock's back: the backup fails loudly"
start_paused fourth.bin
before=$(nsnaps)
removed=$(packs_of "$s3")
while read -r p; do rm -f "$KURA_REPOSITORY/data/${p:0:2}/$p"; done < <(packs_of "$s3")
finish_paused
[ "$BRC" -eq 1 ] || fail "a backup whose packs were removed exited $BRC, want 1: $(cat "$WORK/b.err")"
err=$(cat "$WORK/b.err")
named=$(grep -oE '[0-9a-f]{64}' <<<"$err" | LC_ALL=C sort -u)
[ -n "$named" ] || fail "the failure names no pack: $err"
[ -z "$(LC_ALL=C comm -23 <(printf '%s\n' "$named") <(printf '%s\n' "$removed"))" ] ||
	fail "the failure names packs that were not removed: $err"
assert_contains "says the packs are gone" "gone from the repository" "$err"
assert_contains "names the likely cause" "a prune ran while the backup did" "$err"
assert_contains "says no snapshot was written" "No snapshot was written" "$err"
assert_not_contains "never says saved" "saved" "$(cat "$WORK/b.out") $err"
assert_eq "no snapshot written" "$before" "$(nsnaps)"

note "(c) through a vault: packs removed from its store while a backup runs"
init_vault "$WORK/vault"
vault_client ward writer clinic "$WORK/writer.cred"
vault_client restore reader clinic "$WORK/reader.cred"
start_vault
export KURA_REPOSITORY=vault://$VAULT_ADDR/clinic KURA_VAULT_CREDENTIALS=$WORK/writer.cred
REPO_DIR=$VAULT_DIR/repos/clinic
expect_exit 0 kura init --kdf interactive
expect_exit 0 env KURA_VAULT_CREDENTIALS="$WORK/reader.cred" "$KURA" key backup-key \
	--output "$WORK/backup.key"
export KURA_KEY_FILE=$WORK/backup.key
"$KURA" --json backup --stdin --stdin-filename first.bin <"$WORK/data.bin" >"$WORK/b.out" ||
	fail "the first backup through the vault failed"
v1=$(json_get "$(cat "$WORK/b.out")" 'd["snapshot_id"]')
start_paused second.bin
before=$(nsnaps)
removed=$(packs_of "$v1")
chattr -R -i "$REPO_DIR/data" 2>/dev/null || true
while read -r p; do rm -f "$REPO_DIR/data/${p:0:2}/$p"; done <<<"$removed"
finish_paused
[ "$BRC" -eq 1 ] || fail "a vault backup whose packs were removed exited $BRC, want 1: $(cat "$WORK/b.err")"
err=$(cat "$WORK/b.err")
assert_contains "names the cause" "a prune ran while the backup did" "$err"
assert_contains "says no snapshot was written" "No snapshot was written" "$err"
assert_not_contains "never says saved" "saved" "$(cat "$WORK/b.out") $err"
assert_eq "the vault holds no new snapshot" "$before" "$(nsnaps)"

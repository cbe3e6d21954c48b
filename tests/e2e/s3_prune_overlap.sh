#!/usr/bin/env bash
# s3_prune_overlap.sh - prune_overlap.sh on a real Ceph RGW: on a direct
# S3 repository (KURA_REPOSITORY=s3:...) a prune that overlaps a backup
# never loses the backup's data.  The bucket has no Object Lock (with it,
# prune could not delete young packs at all).  The backup reads --stdin
# from a FIFO this script holds open, paused after its first MiB; the data
# is the bytes of an earlier snapshot, so it deduplicates against exactly
# the packs a prune of that snapshot would remove.
#   (a) forget --prune --grace 0 --wait 0 refuses, naming the running
#       backup (its lock object under locks/), removes nothing; the backup
#       is saved; check --read-data passes; the restore is byte-identical;
#   (a2) prune --wait 1m waits for the paused backup, then keeps its packs;
#   (b) a lock left by another host's prune (planted) makes prune refuse
#       ("another prune"), and a name under locks/ that is no lock blocks
#       too, named; once both are gone, prune runs;
#   (c) packs deleted behind the lock's back while a backup runs: the
#       backup fails (exit 1), names the cause, and writes no snapshot.
. "$(dirname "$0")/lib.sh"
need_rgw
s3_bucket overlap
B=$S3_BUCKET
P=repo
EP=$S3_ENDPOINT
export KURA_REPOSITORY=s3:$EP/$B/$P

gen_random "$WORK/data.bin" $((6 * 1024 * 1024)) overlap

code() { s3curl -o "$WORK/body" -w '%{http_code}' "$@"; }
v2_keys() { s3curl "$EP/$B?list-type=2&prefix=$P%2F$1%2F" | grep -o '<Key>[^<]*</Key>' | sed 's:</\?Key>::g'; }
npacks() { v2_keys data | wc -l; }
nsnaps() { v2_keys snapshots | wc -l; }
# the store as the lib's prune-overlap helpers read it: the bucket
snapshot_bytes() { s3curl -o "$2" "$EP/$B/$P/snapshots/$1"; }
pack_stored() { [ "$(code -I "$EP/$B/$P/data/$1")" = 200 ]; }
# the backup holds its lock once it reads: its lock object
overlap_backup_holds() { [ -n "$(v2_keys locks)" ]; }
CHECK_ARGS=--no-record

expect_exit 0 kura init --kdf interactive --no-object-lock --chunk-min 16K --chunk-avg 64K --chunk-max 256K --pack-size 1M
"$KURA" --json backup --stdin --stdin-filename first.bin <"$WORK/data.bin" >"$WORK/b.out" ||
	fail "the first backup failed"
s1=$(json_get "$(cat "$WORK/b.out")" 'd["snapshot_id"]')
old=$(packs_of "$s1")
nold=$(printf '%s\n' "$old" | wc -l)
[ "$nold" -ge 3 ] || fail "the first snapshot lists only $nold packs: the test needs several"
assert_eq "no lock left after the backup" "" "$(v2_keys locks)"

note "(a) forget --prune --wait 0 while a backup of the same bytes runs"
start_paused second.bin
assert_contains "the backup's lock is shared" "$P/locks/shared-" "$(v2_keys locks)"
expect_exit 1 kura forget --prune --grace 0 --wait 0 "$s1"
assert_contains "forget still forgets" "forgot snapshot $s1" "$OUT"
assert_contains "prune names the running backup" "a backup holds the repository" "$ERR"
assert_contains "prune names the lock object" "locks/shared-" "$ERR"
assert_contains "prune says nothing was removed" "nothing was removed" "$ERR"
assert_eq "no pack removed" "$nold" "$(npacks)"
finish_paused
[ "$BRC" -eq 0 ] || fail "the backup beside the refused prune failed ($BRC): $(cat "$WORK/b.err")"
s2=$(json_get "$(cat "$WORK/b.out")" 'd["snapshot_id"]')
assert_eq "the backup's lock is gone" "" "$(v2_keys locks)"
expect_exit 0 kura check --read-data --no-record
expect_exit 0 kura restore "$s2" --target "$WORK/r2"
cmp "$WORK/data.bin" "$WORK/r2/second.bin" || fail "restore of snapshot 2 differs"
expect_exit 0 kura prune --grace 0
all_stored "$s2"

note "(a2) prune --wait waits for a running backup, then keeps what it saved"
overlap_waiting_prune "$s2"
s3=$THIRD_SNAP

note "(b) another host's prune lock, and a name under locks/ that is no lock, block a prune"
printf '{"mode": "exclusive", "host": "elsewhere", "pid": 1}\n' >"$WORK/lock.json"
other=$P/locks/exclusive-0123456789abcdef0123456789abcdef
assert_eq "plant a prune lock" 200 "$(code -T "$WORK/lock.json" "$EP/$B/$other")"
expect_exit 1 kura prune --grace 0 --wait 0
assert_contains "names another prune" "another prune holds the repository" "$ERR"
assert_contains "names its lock" "exclusive-0123456789abcdef" "$ERR"
assert_eq "remove it" 204 "$(code -X DELETE "$EP/$B/$other")"
assert_eq "plant junk under locks/" 200 "$(code -T "$WORK/lock.json" "$EP/$B/$P/locks/junk")"
expect_exit 1 kura prune --grace 0 --wait 0
assert_contains "names the junk" "locks/junk, which is not a lock kura wrote" "$ERR"
assert_eq "remove it" 204 "$(code -X DELETE "$EP/$B/$P/locks/junk")"
expect_exit 0 kura prune --grace 0

note "(c) packs deleted behind the lock's back: the backup fails loudly"
start_paused fourth.bin
before=$(nsnaps)
while read -r p; do code -X DELETE "$EP/$B/$P/data/$p" >/dev/null; done < <(packs_of "$s3")
finish_paused
[ "$BRC" -eq 1 ] || fail "a backup whose packs were removed exited $BRC, want 1: $(cat "$WORK/b.err")"
err=$(cat "$WORK/b.err")
assert_contains "names the likely cause" "a prune ran while the backup did" "$err"
assert_contains "says no snapshot was written" "No snapshot was written" "$err"
assert_not_contains "never says saved" "saved" "$(cat "$WORK/b.out") $err"
assert_eq "no snapshot written" "$before" "$(nsnaps)"
echo "PASS s3_prune_overlap"

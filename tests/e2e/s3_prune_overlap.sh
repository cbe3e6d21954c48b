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
# packs_of ID...: the snapshots' plaintext pack lists (FORMAT.md, "Snapshot files")
packs_of() {
	local i
	for i in "$@"; do s3curl -o "$WORK/snap.$i" "$EP/$B/$P/snapshots/$i"; done
	python3 - "$WORK" "$@" <<'PY'
import struct, sys
work, ids = sys.argv[1], sys.argv[2:]
out = set()
for i in ids:
    b = open("%s/snap.%s" % (work, i), "rb").read()
    (n,) = struct.unpack_from("<I", b, 20)
    out.update(b[24 + 32 * k:56 + 32 * k].hex() for k in range(n))
print("\n".join(sorted(out)))
PY
}
all_stored() {
	local p
	while read -r p; do
		[ "$(code -I "$EP/$B/$P/data/$p")" = 200 ] || fail "pack $p of snapshot $1 was removed"
	done < <(packs_of "$1")
}

FIFO=$WORK/fifo
BPID=
start_paused() {
	rm -f "$FIFO" && mkfifo "$FIFO"
	"$KURA" --json backup --stdin --stdin-filename "$1" <"$FIFO" >"$WORK/b.out" 2>"$WORK/b.err" &
	BPID=$!
	exec 3>"$FIFO"
	head -c $((1024 * 1024)) "$WORK/data.bin" >&3
	# the backup holds its lock once it reads: wait for the lock object
	for _ in $(seq 1 200); do
		[ -n "$(v2_keys locks)" ] && return 0
		sleep 0.05
	done
	fail "the paused backup wrote no lock object under $P/locks/"
}
finish_paused() {
	tail -c +$((1024 * 1024 + 1)) "$WORK/data.bin" >&3 || true
	exec 3>&-
	BRC=0
	wait "$BPID" || BRC=$?
	BPID=
	no_crash "$BRC" "$WORK/b.err" "the paused backup"
}
at_exit '[ -n "$BPID" ] && kill "$BPID"'

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
expect_exit 0 kura forget "$s2"
start_paused third.bin
nbefore=$(npacks)
"$KURA" --json prune --grace 0 --wait 1m </dev/null >"$WORK/p.out" 2>"$WORK/p.err" 3>&- &
PPID_=$!
at_exit '[ -n "$PPID_" ] && kill "$PPID_"'
for _ in $(seq 1 600); do
	grep -q "waiting up to" "$WORK/p.err" && break
	kill -0 "$PPID_" 2>/dev/null || break
	sleep 0.05
done
assert_contains "prune says who it waits for" "a backup holds the repository" "$(cat "$WORK/p.err")"
assert_contains "prune says how long it waits" "waiting up to 1m" "$(cat "$WORK/p.err")"
assert_eq "nothing removed while it waits" "$nbefore" "$(npacks)"
finish_paused
[ "$BRC" -eq 0 ] || fail "the backup beside the waiting prune failed ($BRC): $(cat "$WORK/b.err")"
s3=$(json_get "$(cat "$WORK/b.out")" 'd["snapshot_id"]')
prc=0
wait "$PPID_" || prc=$?
PPID_=
no_crash "$prc" "$WORK/p.err" "the waiting prune"
[ "$prc" -eq 0 ] || fail "the waiting prune exited $prc: $(cat "$WORK/p.err")"
all_stored "$s3"
expect_exit 0 kura check --read-data --no-record
expect_exit 0 kura restore "$s3" --target "$WORK/r3"
cmp "$WORK/data.bin" "$WORK/r3/third.bin" || fail "restore of snapshot 3 differs"

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

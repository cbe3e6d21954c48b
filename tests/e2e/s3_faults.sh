#!/usr/bin/env bash
# s3_faults.sh - the S3 backend under a faulty network, through a loopback
# proxy in front of the real RGW (tests/tools/s3_fault_proxy.py): 503
# answers, connections dropped before a request reaches the store, and
# answers cut halfway after the store did the work.  init, backup, restore
# and check through the proxy all succeed byte-identical, the proxy's log
# shows every kind of fault was injected, and the repository read directly
# from RGW is consistent (check --read-data).  A store that keeps answering
# 503 makes the command fail after its retries, naming the error; a 4xx
# answer is never retried.
. "$(dirname "$0")/lib.sh"
need_rgw
s3_bucket faults
B=$S3_BUCKET
start_fault_proxy faults
export KURA_REPOSITORY=s3:http://127.0.0.1:$PPORT/$B/r
DIRECT=s3:$S3_ENDPOINT/$B/r

SRC=$WORK/src
mkdir -p "$SRC/sub"
gen_random "$SRC/one.bin" 3000000 one
gen_random "$SRC/sub/two.bin" 1500000 two
gen_text "$SRC/sub/notes.txt" 3000 notes

note "init, backup, restore and check through injected faults"
expect_exit 0 kura init --kdf interactive --lock-days 1 --pack-size 1M
backup_json --no-detect "$SRC"
expect_exit 0 kura restore latest --target "$WORK/out"
same_contents "$SRC" "$WORK/out$SRC"
expect_exit 0 kura check --read-data
for a in 503 drop cut; do
	n=$(grep -c " $a " "$WORK/proxy.log" || true)
	[ "$n" -ge 1 ] || fail "the proxy injected no '$a' fault: $(cut -d' ' -f2 "$WORK/proxy.log" | sort | uniq -c)"
	echo "injected $a: $n"
done

note "the repository read directly from RGW is consistent"
expect_exit 0 env KURA_REPOSITORY="$DIRECT" "$KURA" check --read-data
expect_exit 0 env KURA_REPOSITORY="$DIRECT" "$KURA" --json snapshots
assert_eq "one snapshot" 1 "$(json_get "$OUT" 'len(d)')"

note "a store that keeps answering 503 fails the command after its retries"
printf 'always503\n' >"$WORK/mode"
: >"$WORK/proxy.log"
expect_fail kura snapshots
assert_contains "names the answer" "503 SlowDown" "$ERR"
tries=$(wc -l <"$WORK/proxy.log")
assert_eq "one request tried 5 times" 5 "$tries"

note "a 4xx answer is not retried"
printf 'pass\n' >"$WORK/mode"
: >"$WORK/proxy.log"
expect_fail env AWS_SECRET_ACCESS_KEY=wrong "$KURA" snapshots
assert_contains "bad signature" "SignatureDoesNotMatch" "$ERR"
assert_eq "asked once" 1 "$(wc -l <"$WORK/proxy.log")"
echo "PASS s3_faults"

#!/usr/bin/env bash
# s3_treepacks.sh - a snapshot's trees on S3 are read in merged ranges: the
# backup puts trees in packs of their own, so `ls` (trees only) reads a
# snapshot of 121 directories in a handful of GETs, not one a directory;
# a restore and a check through a proxy that injects 503s, dropped
# connections and answers cut halfway (tests/tools/s3_fault_proxy.py,
# "faults") still give byte-identical files and no errors; and `diff` of
# two snapshots reads only the directories it compares, also in a few GETs,
# and reports exactly what changed.
. "$(dirname "$0")/lib.sh"
need_rgw
s3_bucket treepacks
B=$S3_BUCKET
start_fault_proxy pass
export KURA_REPOSITORY=s3:$S3_ENDPOINT/$B/r
PROXIED=s3:http://127.0.0.1:$PPORT/$B/r
NDIRS=60

# NDIRS directories with a subdirectory each, small files of random bytes
SRC=$WORK/src
python3 - "$SRC" "$NDIRS" <<'EOF'
import os, random, sys
rnd = random.Random(29)
root, n = sys.argv[1], int(sys.argv[2])
for d in range(n):
    sub = os.path.join(root, "ward%02d" % d, "charts")
    os.makedirs(sub)
    for f in range(3):
        with open(os.path.join(root, "ward%02d" % d, "r%d.bin" % f), "wb") as fh:
            fh.write(rnd.randbytes(rnd.randint(1024, 40 * 1024)))
    with open(os.path.join(sub, "c.bin"), "wb") as fh:
        fh.write(rnd.randbytes(rnd.randint(1024, 90 * 1024)))
EOF
expect_exit 0 kura init --kdf interactive --lock-days 1
backup_json --no-detect "$SRC"
OLD=$SNAP_ID

note "ls reads the trees in a few ranged GETs"
: >"$WORK/proxy.log"
expect_exit 0 kura -r "$PROXIED" ls latest
n=$(grep -c "$SRC/ward" <<<"$OUT" || true)
assert_eq "ls lists every directory and file" $((NDIRS * 6)) "$n"
gets=$(grep -c ' GET /[^ ]*/r/data/' "$WORK/proxy.log" || true)
echo "pack GETs for $((2 * NDIRS + 1)) trees: $gets"
# one range a level and tree pack, a header each: nowhere near one a tree
[ "$gets" -le $((NDIRS / 4)) ] || fail "ls sent $gets GETs of packs for $((2 * NDIRS + 1)) trees"

note "restore through injected faults: byte-identical"
printf 'faults\n' >"$WORK/mode"
: >"$WORK/proxy.log"
expect_exit 0 kura -r "$PROXIED" restore latest --target "$WORK/out"
same_contents "$SRC" "$WORK/out$SRC"
injected=$(grep -c -E '^[0-9]+ (503|drop|cut) ' "$WORK/proxy.log" || true)
[ "$injected" -ge 3 ] || fail "only $injected faults were injected"
echo "($injected faults injected)"

note "check through injected faults: no errors"
: >"$WORK/proxy.log"
expect_exit 0 kura -r "$PROXIED" check
grep -q "no errors were found" <<<"$OUT" || fail "check: $OUT"
note "diff reads the directories it compares in a few GETs, and misses nothing"
# a file changed in every third ward's subdirectory, one removed, a ward added
for d in $(seq 0 3 $((NDIRS - 1))); do
	printf 'changed %d\n' "$d" >>"$SRC/$(printf 'ward%02d' "$d")/charts/c.bin"
done
rm "$SRC/ward40/r1.bin"
mkdir -p "$SRC/ward99/charts" && echo new >"$SRC/ward99/charts/n.txt"
printf 'pass\n' >"$WORK/mode"
backup_json --no-detect "$SRC"
: >"$WORK/proxy.log"
expect_exit 0 kura -r "$PROXIED" diff "$OLD" "$SNAP_ID"
diff_out=$OUT
nchanged=$(grep -c '^M *.*/charts/c.bin$' <<<"$diff_out" || true)
assert_eq "changed files reported" $(((NDIRS + 2) / 3)) "$nchanged"
grep -q "^- *$SRC/ward40/r1.bin$" <<<"$diff_out" || fail "the removed file is not reported: $diff_out"
grep -q "^+ *$SRC/ward99/charts/n.txt$" <<<"$diff_out" || fail "the added file is not reported: $diff_out"
unchanged=$(grep -c -E '/ward(01|02|04)/r' <<<"$diff_out" || true)
assert_eq "unchanged files reported" 0 "$unchanged"
gets=$(grep -c ' GET /[^ ]*/r/data/' "$WORK/proxy.log" || true)
# 40-odd pairs of directories compared, ~90 trees: a range a level in each
# snapshot's tree pack, headers; one GET a tree would be ~90
echo "pack GETs for diff: $gets"
[ "$gets" -le $((NDIRS / 2)) ] || fail "diff sent $gets GETs of packs"
echo "OK"

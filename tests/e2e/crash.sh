#!/usr/bin/env bash
# slow
# crash.sh - kill -9 backups at random moments: the repository must stay
# consistent (check passes), list only complete snapshots, each restorable,
# and a later backup must work normally.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
note "generating a ~200 MB tree"
python3 - "$SRC" <<'EOF'
import os, random, sys
root = sys.argv[1]
r = random.Random(20261125)
words = "ward chart dose admission discharge nurse archive image record".split()
for d in range(8):
    os.makedirs(os.path.join(root, "bin%d" % d), exist_ok=True)
    for i in range(5):
        with open(os.path.join(root, "bin%d" % d, "blob%d.bin" % i), "wb") as f:
            f.write(r.randbytes(r.randint(2, 6) << 20))
for d in range(20):
    p = os.path.join(root, "text", "t%02d" % d)
    os.makedirs(p, exist_ok=True)
    for i in range(100):
        with open(os.path.join(p, "f%03d.txt" % i), "w") as f:
            n = r.randint(50, 400)
            f.write("".join("%d %s\n" % (k, " ".join(r.choice(words) for _ in range(8))) for k in range(n)))
EOF
echo "($(du -sh "$SRC" | cut -f1), $(count_files "$SRC") files)"
init_repo

RANDOM=4242 # the same kill moments every run

# Each round writes ~40 MB of new data (so new packs must be written) and
# drops the cache (so every file is read again).  Round 0, run to its end,
# tells how long such a round takes; kills are spread
# uniformly over that time, so they land while packs, index files or the
# snapshot are being written.
fresh_data() { # ROUND: rewrite bin1/ with new random content
	python3 - "$SRC/bin1" "$1" <<'PY'
import os, random, sys
r = random.Random(int(sys.argv[2]))
for i in range(5):
    with open(os.path.join(sys.argv[1], "blob%d.bin" % i), "wb") as f:
        f.write(r.randbytes(8 << 20))
PY
}
kura backup "$SRC" >/dev/null   # the first backup stores everything
fresh_data 0
rm -rf "$KURA_CACHE_DIR"
t0=$(date +%s%N)
kura backup "$SRC" >/dev/null   # round 0, timed and left to finish
span=$(( ($(date +%s%N) - t0) / 1000000 ))
rm -rf "$KURA_CACHE_DIR"
echo "(a round takes about $span ms here)"

expected_listing() { # PATH...: what ls must print under each path
	local p
	for p in "$@"; do find "$p"; done | LC_ALL=C sort
}
# A loaded machine makes rounds faster or slower than round 0: a round that
# finishes before its kill shortens the span for the next ones, and rounds
# go on (up to 30) until 8 kills have landed.
kills=0 completed=0 rounds=0
for i in $(seq 1 30); do
	[ "$kills" -ge 8 ] && break
	rounds=$i
	fresh_data "$i"
	rm -rf "$KURA_CACHE_DIR"
	ms=$((20 + RANDOM % (span > 40 ? span - 20 : 20)))
	"$KURA" backup "$SRC" </dev/null >"$WORK/bk.out" 2>"$WORK/bk.err" &
	pid=$!
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -9 "$pid" 2>/dev/null || true
	rc=0; wait "$pid" 2>/dev/null || rc=$?
	if [ $rc -eq 137 ]; then kills=$((kills + 1)); elif [ $rc -eq 0 ]; then
		completed=$((completed + 1))
		span=$((span * 2 / 3))
	else
		fail "round $i: backup failed on its own (exit $rc): $(tail -n 5 "$WORK/bk.err")"
	fi
	expect_exit 0 kura check
	expect_exit 0 kura --json snapshots
	snaps_json=$OUT
	ids=$(json_get "$snaps_json" '"\n".join(s["id"] for s in d)')
	n=0
	for id in $ids; do
		expect_exit 0 kura ls "$id"
		got=$(grep -F -- "$SRC" <<<"$OUT" | LC_ALL=C sort | grep -vxF -- "$SRC" || true)
		want=$(expected_listing "$SRC" | grep -vxF -- "$SRC" || true)
		[ "$got" = "$want" ] || fail "round $i: snapshot $id is incomplete:
$(diff <(echo "$want") <(echo "$got") | sed -n 1,20p)"
		n=$((n + 1))
	done
	echo "(round $i: killed after ${ms} ms: exit $rc; $n snapshot(s); $(find "$KURA_REPOSITORY/data" -type f | wc -l) packs; $(find "$KURA_REPOSITORY/index" -type f | wc -l) indexes)"
done
echo "($kills of $rounds backups killed mid-way, $completed completed first)"
# a test whose kills all miss tests nothing
[ "$kills" -ge 8 ] || fail "only $kills of $rounds kills landed during a backup"

note "every snapshot the killed runs left is whole: check --read-data, restore"
expect_exit 0 kura check --read-data
if [ -n "${ids:-}" ]; then
	newest=$(json_get "$snaps_json" 'sorted(d, key=lambda s: s["time"])[-1]["id"]')
	expect_exit 0 kura restore "$newest" --target "$WORK/r-killed"
fi

note "a normal backup afterwards"
backup_json "$SRC"
final=$SNAP_ID
expect_exit 0 kura check --read-data
expect_exit 0 kura restore "$final" --target "$WORK/r-final"
same_tree "$SRC" "$WORK/r-final$SRC"

echo "PASS crash"

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
# Odd rounds back up the whole tree (never finishes in time: kills land while
# packs are written); even rounds a ~25 MB part of it, which often finishes
# or dies while the index and snapshot are written.
PART=("$SRC/text" "$SRC/bin0")
expected_listing() { # PATH...: what ls must print under each path
	local p
	for p in "$@"; do find "$p"; done | LC_ALL=C sort
}
kills=0 completed=0 newest=
for i in $(seq 1 15); do
	if [ $((i % 2)) -eq 1 ]; then paths=("$SRC"); else paths=("${PART[@]}"); fi
	# sometimes drop the cache so the killed backup re-reads (and dedups) everything
	[ $((i % 4)) -eq 0 ] && rm -rf "$KURA_CACHE_DIR"
	ms=$((50 + RANDOM % 1451))
	"$KURA" backup "${paths[@]}" </dev/null >"$WORK/bk.out" 2>"$WORK/bk.err" &
	pid=$!
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
	rc=0; wait "$pid" 2>/dev/null || rc=$?
	if [ $rc -eq 0 ]; then completed=$((completed + 1)); elif [ $rc -ne 137 ]; then
		fail "round $i: backup failed on its own (exit $rc): $(tail -n 5 "$WORK/bk.err")"
	fi
	expect_exit 0 kura check
	expect_exit 0 kura --json snapshots
	snaps_json=$OUT
	ids=$(json_get "$snaps_json" '"\n".join(s["id"] for s in d)')
	n=0
	for id in $ids; do
		mapfile -t spaths < <(json_get "$snaps_json" '"\n".join([s for s in d if s["id"] == "'"$id"'"][0]["paths"])')
		expect_exit 0 kura ls "$id"
		got=$(grep -F -- "$SRC" <<<"$OUT" | LC_ALL=C sort | grep -vxF -- "$SRC" || true)
		want=$(expected_listing "${spaths[@]}" | grep -vxF -- "$SRC" || true)
		[ "$got" = "$want" ] || fail "round $i: snapshot $id of ${spaths[*]} is incomplete:
$(diff <(echo "$want") <(echo "$got") | head -n 20)"
		n=$((n + 1))
	done
	echo "(round $i: ${paths[*]#"$SRC"/}: killed after ${ms} ms (exit $rc); $n snapshot(s); $(find "$KURA_REPOSITORY/data" -type f | wc -l) packs; tmp: $(find "$KURA_REPOSITORY/tmp" -type f 2>/dev/null | wc -l) files)"
done
echo "($kills backups killed, $completed completed before the kill)"

if [ -n "${ids:-}" ]; then
	note "restoring the newest snapshot left by the killed runs"
	newest=$(json_get "$snaps_json" 'sorted(d, key=lambda s: s["time"])[-1]["id"]')
	mapfile -t spaths < <(json_get "$snaps_json" '"\n".join(sorted(d, key=lambda s: s["time"])[-1]["paths"])')
	expect_exit 0 kura restore "$newest" --target "$WORK/r-killed"
	for p in "${spaths[@]}"; do same_tree "$p" "$WORK/r-killed$p"; done
fi

note "a normal backup afterwards"
backup_json "$SRC"
final=$SNAP_ID
expect_exit 0 kura check --read-data
expect_exit 0 kura restore "$final" --target "$WORK/r-final"
same_tree "$SRC" "$WORK/r-final$SRC"

echo "PASS crash"

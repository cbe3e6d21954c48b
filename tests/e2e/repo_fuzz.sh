#!/usr/bin/env bash
# slow
# repo_fuzz.sh - the repository fuzzer of issue 9: damage one random file
# of a repository with three snapshots (truncate, flip a byte, delete, or
# add junk of any type), many times over, and each time require: no crash
# and no sanitizer report from any command; every snapshot whose data the
# damage did not touch still lists and restores byte-identical (after
# `kura repair index` at most); `kura check` names the damage.
#
# Bounded here (FUZZ_ROUNDS, default 8, from FUZZ_SEED); for a long run:
#   FUZZ_ROUNDS=500 FUZZ_SEED=$RANDOM tests/e2e/repo_fuzz.sh
. "$(dirname "$0")/lib.sh"

ROUNDS=${FUZZ_ROUNDS:-8}
SEED=${FUZZ_SEED:-9}

SRC=$WORK/data/src
mkdir -p "$SRC"
init_repo --pack-size 1M --chunk-min 64K --chunk-avg 256K --chunk-max 1M
ls_packs() { find "$KURA_REPOSITORY/data" -type f -printf '%f\n' | sort; }
snaps=()
for k in 1 2 3; do
	gen_random "$SRC/r$k.bin" $((900 * 1024)) "r$k"
	gen_text "$SRC/t$k.txt" 40 "t$k"
	backup_json "$SRC"
	snaps+=("$SNAP_ID")
	cp -a "$SRC" "$WORK/v$k"
	ls_packs >"$WORK/packs-after-$k"
done
ORIG=$WORK/orig
cp -a "$KURA_REPOSITORY" "$ORIG"

# run CMD...: like expect_exit without the status check; $RC, $OUT, $ERR
run() {
	RC=0
	"$@" </dev/null >"$WORK/o" 2>"$WORK/e" || RC=$?
	OUT=$(cat "$WORK/o") ERR=$(cat "$WORK/e")
	no_crash "$RC" "$WORK/e" "round $round ($what): $*"
}

for round in $(seq 1 "$ROUNDS"); do
	rm -rf "$KURA_REPOSITORY"
	cp -a "$ORIG" "$KURA_REPOSITORY"
	# one damage: prints KIND TYPE NAME
	read -r kind type name < <(python3 - "$KURA_REPOSITORY" $((SEED * 1000 + round)) <<'EOF'
import hashlib, os, random, sys
repo, seed = sys.argv[1], int(sys.argv[2])
rnd = random.Random(seed)
files = []
for t in ("index", "snapshots", "data"):
    for d, _, names in os.walk(os.path.join(repo, t)):
        files += [(t, os.path.join(d, n)) for n in names]
kind = rnd.choice(["truncate", "flip", "flip", "delete", "junk"])
if kind == "junk":
    t = rnd.choice(["index", "snapshots", "data"])
    size = rnd.choice([0, 1, 12, 16, 100, 4000])
    body = bytes(rnd.getrandbits(8) for _ in range(size))
    if t != "data" and size >= 16 and rnd.random() < 0.5:
        # a valid header of the type, then junk
        src = [p for (ft, p) in files if ft == t][0]
        body = open(src, "rb").read(16) + body[16:]
    name = hashlib.sha256(body).hexdigest()
    d = os.path.join(repo, t, name[:2]) if t == "data" else os.path.join(repo, t)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, name), "wb").write(body)
    print(kind, t, name)
    sys.exit(0)
t, p = rnd.choice(files)
data = bytearray(open(p, "rb").read())
if kind == "truncate":
    data = data[:rnd.randrange(len(data))]
elif kind == "flip" and data:
    i = rnd.randrange(len(data))
    data[i] ^= 1 << rnd.randrange(8)
if kind == "delete":
    os.remove(p)
else:
    open(p, "wb").write(bytes(data))
print(kind, t, os.path.basename(p))
EOF
)
	what="$kind $type/${name:0:12}"
	note "round $round: $what"

	run "$KURA" snapshots
	[ "$RC" -eq 0 ] || fail "round $round ($what): snapshots exited $RC: $ERR"
	run "$KURA" check --read-data
	[ "$RC" -eq 0 ] || [ "$RC" -eq 4 ] || fail "round $round ($what): check exited $RC: $ERR"
	# damage to a file a reader needs is named (a removed snapshot or a junk pack is not damage)
	if [ "$kind" != delete ] && [ "$kind$type" != junkdata ]; then
		[ "$RC" -eq 4 ] || fail "round $round ($what): check found nothing"
		assert_contains "round $round: check names it" "${name:0:16}" "$ERR"
	fi

	# which snapshots the damage leaves whole
	repaired=0
	for k in 1 2 3; do
		s=${snaps[$((k - 1))]}
		[ "$type" = snapshots ] && [ "$name" = "$s" ] && continue
		[ "$type" = data ] && [ "$kind" != junk ] && grep -qx "$name" "$WORK/packs-after-$k" && continue
		rm -rf "$WORK/out"
		run "$KURA" restore "$s" --target "$WORK/out"
		if [ "$RC" -ne 0 ] && [ $repaired -eq 0 ]; then
			run "$KURA" repair index
			[ "$RC" -eq 0 ] || [ "$RC" -eq 4 ] || fail "round $round ($what): repair exited $RC: $ERR"
			repaired=1
			rm -rf "$WORK/out"
			run "$KURA" restore "$s" --target "$WORK/out"
		fi
		[ "$RC" -eq 0 ] || fail "round $round ($what): snapshot $k does not restore ($RC): $ERR"
		same_contents "$WORK/v$k" "$WORK/out$SRC" || fail "round $round ($what): snapshot $k differs"
	done
done

#!/usr/bin/env bash
# mount_large.sh - kura mount serves a 1 GiB file (issue 14): reads at
# random offsets and lengths equal the original, and a full cat of it
# equals the original while the mount process's peak memory (VmHWM) grows
# by no more than its cache and a few chunks.  The file is sparse-ish, so
# that it is quick to make and back up: 1 GiB with 40 islands of random
# data (1 MiB each, at random offsets, one at each end) and holes between
# them; half the random reads fall on an island or its edges, half
# anywhere.  Needs root and /dev/fuse; says SKIP with the reason otherwise.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP $TEST_NAME: needs root to mount"
	exit 0
fi
if [ ! -c /dev/fuse ]; then
	echo "SKIP $TEST_NAME: no /dev/fuse here (modprobe fuse, or give the container the device)"
	exit 0
fi

SRC=$WORK/src
BIG=$SRC/images/study.img
mkdir -p "$(dirname "$BIG")"
python3 - "$BIG" "$WORK/islands" <<'EOF'
import os, random, sys
size, island, n = 1 << 30, 1 << 20, 40
r = random.Random(1401)
offs = sorted({0, size - island} | {r.randrange(0, size - island) & ~4095 for _ in range(n - 2)})
with open(sys.argv[1], "wb") as f:
    f.truncate(size)
    for off in offs:
        f.seek(off)
        f.write(r.randbytes(island))
with open(sys.argv[2], "w") as f:
    f.write("\n".join("%d %d" % (o, island) for o in offs) + "\n")
EOF
printf 'small\n' >"$SRC/note.txt"
init_repo
backup_json --no-detect "$SRC"
snap=$SNAP_ID

MNT=$WORK/mnt
mkdir -p "$MNT"
python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
	"$KURA" mount "$snap" "$MNT" --cache-size 16M </dev/null >"$WORK/mount.out" 2>"$WORK/mount.err" &
MOUNT_PID=$!
at_exit "kill $MOUNT_PID 2>/dev/null; fusermount3 -u -z '$MNT' 2>/dev/null"
for _ in $(seq 1 200); do
	mountpoint -q "$MNT" && break
	kill -0 "$MOUNT_PID" 2>/dev/null || fail "kura mount exited before mounting: $(cat "$WORK/mount.err")"
	sleep 0.05
done
mountpoint -q "$MNT" || fail "kura mount did not mount $MNT within 10 s"
GOT=$MNT$BIG
assert_eq "stat size" $((1 << 30)) "$(stat -c %s "$GOT")"

note "random reads of the 1 GiB file equal the original"
python3 - "$BIG" "$GOT" "$WORK/islands" <<'EOF' || fail "random reads differ"
import os, random, sys
want, got = os.open(sys.argv[1], os.O_RDONLY), os.open(sys.argv[2], os.O_RDONLY)
size = os.fstat(want).st_size
islands = [tuple(map(int, l.split())) for l in open(sys.argv[3])]
r = random.Random(14)
lens = (1, 7, 4096, 65536, 131073, 1 << 20, 3 << 20)
cases = [(0, 1), (size - 1, 1), (size - 4096, 8192), (size, 10), (size + 4096, 1)]
for _ in range(200):
    off, n = r.choice(islands)
    # inside an island, across its start or across its end into the hole
    cases.append((r.choice((off + r.randrange(n), max(0, off - r.randrange(1, 1 << 20)),
                            off + n - r.randrange(1, 65536))), r.choice(lens)))
cases += [(r.randrange(size), r.choice(lens)) for _ in range(200)]
r.shuffle(cases)
for off, n in cases:
    a, b = os.pread(want, n, off), os.pread(got, n, off)
    if a != b:
        sys.exit("differs at offset %d, %d bytes (got %d, want %d)" % (off, n, len(b), len(a)))
print("%d reads compared" % len(cases))
EOF

note "a full read of it (cmp) equals the original, in bounded memory"
# the peak so far is the passphrase's Argon2id: start the count afresh
echo 5 >"/proc/$MOUNT_PID/clear_refs"
before=$(awk '/^VmHWM:/ { print $2 }' "/proc/$MOUNT_PID/status")
cmp "$BIG" "$GOT" || fail "a full read of the mounted file differs from the original"
after=$(awk '/^VmHWM:/ { print $2 }' "/proc/$MOUNT_PID/status")
note "VmHWM $before KiB before, $after KiB after reading 1 GiB"
# the 16 MiB cache, the chunks in flight and the heap's slack; sanitizers
# keep freed memory in quarantine and shadow it: their builds get room for that
limit=$((40 * 1024))
case $KURA in */san/* | */tsan/* | *asan*) limit=$((320 * 1024)) ;; esac
[ $((after - before)) -lt "$limit" ] ||
	fail "VmHWM grew by $((after - before)) KiB during a full cat, more than $limit KiB"

kill -TERM "$MOUNT_PID"
rc=0
wait "$MOUNT_PID" || rc=$?
no_crash "$rc" "$WORK/mount.err" "kura mount"
assert_eq "kura mount exit after SIGTERM" 0 "$rc"
! mountpoint -q "$MNT" || fail "$MNT is still mounted after SIGTERM"
echo "PASS"

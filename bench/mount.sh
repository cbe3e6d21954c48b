#!/usr/bin/env bash
# mount.sh -- `kura mount` on a large file (issue 14): a random file of
# SIZE (1 GiB) backed up once, mounted, then
#   - 2000 reads at random offsets and lengths (1 B .. 4 MiB) compared with
#     the original (python), with their time;
#   - a sequential cat of the whole file: seconds and MB/s, beside cat of
#     the original (page cache dropped first where allowed);
#   - the kura mount process's peak memory (VmHWM) during that cat, which
#     must stay near the cache size (CACHE, 64M) and not grow with SIZE.
# Needs root and /dev/fuse.
#
#   SIZE [1G]  CACHE [64M]  BASE [/tmp/bench-mount]  scratch directory (removed first)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
KURA=${KURA:-$ROOT/build/kura}
SIZE=${SIZE:-1G} CACHE=${CACHE:-64M} BASE=${BASE:-/tmp/bench-mount}
case "$BASE" in /tmp/bench-*) ;; *) echo "BASE must be /tmp/bench-*" >&2; exit 2 ;; esac
bytes=$(numfmt --from=iec "$SIZE")

rm -rf "$BASE" && mkdir -p "$BASE/src" "$BASE/mnt"
python3 - "$BASE/src/large.bin" "$bytes" <<'EOF'
import random, sys
r = random.Random(14)
n = int(sys.argv[2])
with open(sys.argv[1], "wb") as f:
    while n > 0:
        k = min(n, 1 << 24)
        f.write(r.randbytes(k))
        n -= k
EOF
echo "bench passphrase kura not secret quokka" >"$BASE/pass"
export KURA_PASSWORD_FILE=$BASE/pass KURA_CACHE_DIR=$BASE/cache KURA_REPOSITORY=$BASE/repo
"$KURA" init --kdf interactive >/dev/null
t0=$(date +%s.%N)
"$KURA" -q backup --no-detect "$BASE/src" >/dev/null
echo "backup of $SIZE: $(echo "$(date +%s.%N) - $t0" | bc) s"

"$KURA" mount latest "$BASE/mnt" --cache-size "$CACHE" 2>"$BASE/mount.err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; fusermount3 -u -z "$BASE/mnt" 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do mountpoint -q "$BASE/mnt" && break; sleep 0.05; done
mountpoint -q "$BASE/mnt" || { cat "$BASE/mount.err"; exit 1; }
M=$BASE/mnt$BASE/src/large.bin

python3 - "$BASE/src/large.bin" "$M" <<'EOF'
import os, random, sys, time
want, got = os.open(sys.argv[1], os.O_RDONLY), os.open(sys.argv[2], os.O_RDONLY)
size = os.fstat(want).st_size
r = random.Random(1)
t0, n = time.monotonic(), 0
for _ in range(2000):
    off, k = r.randrange(size), r.choice((1, 4096, 65536, 1 << 20, 4 << 20))
    a, b = os.pread(want, k, off), os.pread(got, k, off)
    if a != b:
        sys.exit("random read differs at %d (%d bytes)" % (off, k))
    n += len(b)
dt = time.monotonic() - t0
print("random reads: 2000 compared, %.1f MiB in %.2f s (%.1f reads/s)" % (n / 2**20, dt, 2000 / dt))
EOF

sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
echo 5 >"/proc/$pid/clear_refs"
rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
t0=$(date +%s.%N)
cat "$M" >/dev/null
t=$(echo "$(date +%s.%N) - $t0" | bc)
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
printf 'cat through the mount: %.2f s, %.0f MB/s\n' "$t" "$(echo "$bytes / $t / 1000000" | bc -l)"
t0=$(date +%s.%N)
cat "$BASE/src/large.bin" >/dev/null
t=$(echo "$(date +%s.%N) - $t0" | bc)
printf 'cat of the original:   %.2f s, %.0f MB/s\n' "$t" "$(echo "$bytes / $t / 1000000" | bc -l)"
echo "kura mount memory: VmRSS $((rss0 / 1024)) MiB before the cat, peak (VmHWM) $((hwm / 1024)) MiB during it (cache $CACHE, file $SIZE)"
kill -TERM $pid
wait $pid

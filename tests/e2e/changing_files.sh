#!/usr/bin/env bash
# changing_files.sh - files that change while kura backs them up.  One is
# truncated, one grows, one is written in place, between the walk's stat
# and the read: the backup
# stores what it read, up to the size it saw (the growing file's backup
# ends there), warns naming each path and what changed, counts them in
# --json, exits 3, and marks them in the snapshot (ls -l, ls --json,
# restore warns).  The next backup, with the files at rest, is clean.
#
# Deterministic without sleeps: a helper holds a write lease (F_SETLEASE)
# on each file, so kura's open() waits until the helper has changed the
# file and released the lease.
. "$(dirname "$0")/lib.sh"

SRC=$WORK/data/src
mkdir -p "$SRC"
SIZE=$((4 * 1024 * 1024))
gen_random "$SRC/grows.bin" "$SIZE" grows
gen_random "$SRC/shrinks.bin" "$SIZE" shrinks
gen_random "$SRC/rewritten.bin" "$SIZE" rewritten
touch -d '2026-01-01 00:00:00' "$SRC/rewritten.bin"
gen_text "$SRC/steady.txt" 100 steady
cp "$SRC/grows.bin" "$WORK/grows.orig"
cp "$SRC/shrinks.bin" "$WORK/shrinks.orig"

cat >"$WORK/lease.py" <<'EOF'
# lease.py FILE truncate|append|rewrite N: when someone opens FILE, change it first
import fcntl, os, signal, sys
F_SETLEASE = 1024  # Linux: F_LINUX_SPECIFIC_BASE + 0
path, action, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGIO})
fd = os.open(path, os.O_RDWR)
fcntl.fcntl(fd, F_SETLEASE, fcntl.F_WRLCK)
print("ready", flush=True)
signal.sigwait({signal.SIGIO})  # the lease is being broken: an open() waits for us
if action == "truncate":
    os.ftruncate(fd, n)
elif action == "rewrite":
    os.pwrite(fd, b"r" * n, 0)  # same size, new mtime
else:
    os.lseek(fd, 0, os.SEEK_END)
    os.write(fd, b"appended while backed up\n" * n)
fcntl.fcntl(fd, F_SETLEASE, fcntl.F_UNLCK)
os.close(fd)
EOF

# start_helper FILE ACTION N: returns once the lease is held
start_helper() {
	local fifo=$WORK/helper.$RANDOM line=
	mkfifo "$fifo"
	python3 "$WORK/lease.py" "$@" >"$fifo" 2>"$WORK/helper.err" &
	HELPERS+=($!)
	read -r line <"$fifo" || true
	rm -f "$fifo"
	if [ "$line" != ready ]; then
		echo "SKIP $TEST_NAME: no file leases here ($(cat "$WORK/helper.err"))"
		exit 0
	fi
}
HELPERS=()
at_exit 'for p in "${HELPERS[@]+"${HELPERS[@]}"}"; do kill "$p" 2>/dev/null; done'

init_repo
note "a file truncated and a file growing while they are backed up"
start_helper "$SRC/shrinks.bin" truncate 1000
start_helper "$SRC/grows.bin" append 40000
start_helper "$SRC/rewritten.bin" rewrite 4096
expect_exit 3 timeout 120 "$KURA" --json backup "$SRC"
for p in "${HELPERS[@]}"; do wait "$p" || fail "a lease helper failed: $(cat "$WORK/helper.err")"; done
HELPERS=()
assert_eq "files_changed_during_read" 3 "$(json_get "$OUT" 'd["files_changed_during_read"]')"
assert_eq "files_unreadable" 0 "$(json_get "$OUT" 'd["files_unreadable"]')"
assert_contains "warning for the truncated file" \
	"$SRC/shrinks.bin: changed while it was read (size $SIZE -> 1000 bytes): stored as read, 1000 bytes" "$ERR"
assert_contains "warning for the growing file" \
	"$SRC/grows.bin: changed while it was read (size $SIZE -> $((SIZE + 40000 * 25)) bytes): stored as read, $SIZE bytes" "$ERR"
assert_contains "warning for the file written in place" \
	"$SRC/rewritten.bin: changed while it was read (written to, same size)" "$ERR"
assert_not_contains "no warning for the steady file" "steady.txt" "$ERR"
assert_contains "the summary says so" "3 file(s) that changed while they were read" "$ERR"

note "the snapshot marks them: ls -l, ls --json"
expect_exit 0 kura ls -l latest
assert_contains "ls -l marks the truncated file" "$SRC/shrinks.bin  [changed while backed up]" "$OUT"
assert_contains "ls -l marks the growing file" "$SRC/grows.bin  [changed while backed up]" "$OUT"
grep -F "steady.txt" <<<"$OUT" | grep -qv "changed while" || fail "ls -l marks the steady file: $OUT"
expect_exit 0 kura ls latest
assert_not_contains "plain ls stays one path a line" "changed while" "$OUT"
expect_exit 0 kura --json ls latest
assert_eq "marked in --json" "[true, true, true, false]" "$(ndjson_get "$OUT" \
	'[e["changed_during_read"] for p in ("grows.bin", "rewritten.bin", "shrinks.bin", "steady.txt") for e in d if e["path"].endswith("/" + p)]')"
assert_eq "the growing file's stored size is its size when reached" "$SIZE" "$(ndjson_get "$OUT" \
	'[e["size"] for e in d if e["path"].endswith("/grows.bin")][0]')"

note "restore says so, and restores what was read"
expect_exit 0 kura restore latest --target "$WORK/restored"
assert_contains "restore warns about the truncated file" "shrinks.bin: changed while it was backed up" "$ERR"
assert_contains "restore warns about the growing file" "grows.bin: changed while it was backed up" "$ERR"
assert_not_contains "restore is quiet about the steady file" "steady.txt" "$ERR"
R=$WORK/restored$SRC
cmp -n "$SIZE" "$R/grows.bin" "$WORK/grows.orig" || fail "the growing file's first $SIZE bytes differ"
assert_eq "restored growing file size" "$SIZE" "$(stat -c %s "$R/grows.bin")"
cmp "$R/shrinks.bin" <(head -c 1000 "$WORK/shrinks.orig") || fail "the truncated file's 1000 bytes differ"
cmp "$R/steady.txt" "$SRC/steady.txt" || fail "steady.txt differs"
expect_exit 0 kura restore latest:"$SRC/steady.txt" --target "$WORK/restored-one"
assert_not_contains "a restore without changed files is quiet" "changed while" "$ERR"

note "at rest again: the next backup is clean and reads them again"
expect_exit 0 kura --json backup "$SRC"
assert_eq "no changed files" 0 "$(json_get "$OUT" 'd["files_changed_during_read"]')"
assert_eq "all three read again, not taken from the cache" 1 "$(json_get "$OUT" 'd["files_unmodified"]')"
expect_exit 0 kura ls -l latest
assert_not_contains "no marks in the clean snapshot" "changed while" "$OUT"
expect_exit 0 kura check --read-data

echo "PASS $TEST_NAME"

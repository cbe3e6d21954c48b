#!/usr/bin/env bash
# deep_tree_memory.sh - a deep tree costs memory in its depth, not in the
# square of it (issue 9, finding 5: deep trees).
#
# A chain of 4,000 directories with 200-byte names (the bottom is 800 KB
# of path) used to cost backup and restore 1.6 GB each, because a full path
# was kept per level.  Here both run under a fixed address-space cap
# (ulimit -v 512 MiB; under a sanitizer, which needs a huge address space,
# a peak-RSS cap instead) and with 64 fds (ulimit -n 64), and the tree
# comes back byte-identical (names, modes, owners, mtimes, content, a hard
# link and a symlink deep down), compared by deep_tree.py through
# directory fds.  Then a restore in place (--overwrite if-changed --delete,
# first as a dry run) over that chain, with a file rewritten and a ransom
# note left at levels 2,500 and 4,000, under the same caps: the in-place
# parts reach directories by single names too.  Nothing is timed:
# quadratic memory fails the cap.
. "$(dirname "$0")/lib.sh"

HELPER=$(cd "$(dirname "$0")" && pwd)/deep_tree.py
LEVELS=4000 NAMELEN=200
CAP_KB=524288 # 512 MiB: the chain's paths alone, kept per level, are 1.6 GB
# On tmpfs when there is one: thousands of directories are slow to remove from a disk.
D=$(mktemp -d /dev/shm/kura-e2e-deepmem.XXXXXX 2>/dev/null) || D=$WORK/deep
at_exit "rm -rf '$D'"
SRC=$D/src

# capped CMD...: run CMD with the memory cap and 64 fds
# Sanitizers reserve terabytes of address space: cap the peak RSS instead, at twice the
# address-space cap under ASan (140 MiB here; the old code kept 1.6 GB of paths alone), four
# times under TSan (its shadow is several times the memory it watches).
case "$(ldd "$KURA" 2>/dev/null)" in
*libtsan*) RSS_CAP_KB=$((CAP_KB * 4)) ;;
*libasan*) RSS_CAP_KB=$((CAP_KB * 2)) ;;
*) RSS_CAP_KB= ;;
esac
if [ -n "$RSS_CAP_KB" ]; then
	capped() {
		python3 - "$RSS_CAP_KB" "$@" <<'PY'
import resource, subprocess, sys
cap = int(sys.argv[1])
rc = subprocess.call(sys.argv[2:], preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)))
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
if kb > cap:
    sys.exit("peak RSS %d KiB, over the cap of %d KiB" % (kb, cap))
sys.exit(rc)
PY
	}
else
	capped() { bash -c 'ulimit -v "$1" -n 64 && shift && exec "$@"' _ "$CAP_KB" "$@" </dev/null; }
fi

init_repo

note "a chain of $LEVELS directories of $NAMELEN-byte names; files at levels 1000 (with a hard link and a symlink), 2500 and the bottom"
python3 "$HELPER" chain "$SRC" "$LEVELS" "$NAMELEN" 1000 2500

note "backup under the cap"
expect_exit 0 capped "$KURA" backup --no-detect "$SRC"
assert_not_contains "no warning" "warning" "$ERR"

note "restore under the cap, byte-identical"
expect_exit 0 capped "$KURA" restore "latest:$SRC" --target "$D/rst"
assert_eq "levels restored" "$LEVELS" \
	"$(python3 -c 'import os,sys
fd, n = os.open(sys.argv[1], os.O_RDONLY), 0
while True:
    try: sub = os.open(sys.argv[2], os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    except FileNotFoundError: break
    os.close(fd); fd, n = sub, n + 1
print(n)' "$D/rst" "$(printf 'd%.0s' $(seq "$NAMELEN"))")"
python3 "$HELPER" compare "$SRC" "$D/rst" || fail "the restored chain differs from the source"

# inplace_at ROOT LEVEL...: at each LEVEL of ROOT's chain, f rewritten and a ransom note left
inplace_at() {
	python3 - "$NAMELEN" "$@" <<'PY'
import os, sys
name, root, levels = "d" * int(sys.argv[1]), sys.argv[2], {int(x) for x in sys.argv[3:]}
DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
fd, n = os.open(root, DIR), 0
while levels:
    sub = os.open(name, DIR, dir_fd=fd)
    os.close(fd)
    fd, n = sub, n + 1
    if n in levels:
        levels.discard(n)
        for f in ("f", "README_RESTORE.txt"):
            w = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=fd)
            os.write(w, b"pay us\n")
            os.close(w)
PY
}

note "in place over the restored chain under the cap (directories by single names, never by path)"
inplace_at "$D/rst" 2500 "$LEVELS"
expect_exit 0 capped "$KURA" --json restore "latest:$SRC" --target "$D/rst" --overwrite if-changed \
	--delete --dry-run
assert_eq "dry run: replaced, deleted, created" "2 2 0" \
	"$(json_get "$OUT" '"%d %d %d" % (len(d["replaced"]), len(d["deleted"]), len(d["created"]))')"
assert_eq "dry run: the ransom notes deep down" true \
	"$(json_get "$OUT" 'all(p.endswith("/README_RESTORE.txt") and p.count("/") > 2500 for p in d["deleted"])')"
python3 "$HELPER" compare "$SRC" "$D/rst" >/dev/null && fail "the dry run changed the target"
expect_exit 0 capped "$KURA" --json restore "latest:$SRC" --target "$D/rst" --overwrite if-changed \
	--delete
assert_eq "replaced, deleted, created" "2 2 0" \
	"$(json_get "$OUT" '"%d %d %d" % (d["paths_replaced"], d["paths_deleted"], d["paths_created"])')"
python3 "$HELPER" compare "$SRC" "$D/rst" || fail "in place: the chain differs from the source (or a temporary is left)"

note "a second backup under the cap (paths this long are past the file cache's 64 KiB: read again)"
expect_exit 0 capped "$KURA" --json backup --no-detect "$SRC"
assert_eq "files read again (f at three levels, h), none lost" 4 \
	"$(json_get "$OUT" 'd["files_new"] + d["files_changed"] + d["files_unmodified"]')"

note "ok"

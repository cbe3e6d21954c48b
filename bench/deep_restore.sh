#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/deep_restore.sh - what a chain of nested directories costs backup
# and restore, by depth and name length (issue 9: deep trees).  A chain of
# LEVELS directories whose names are NAMELEN bytes, one file at the bottom;
# the time and peak RSS of `kura backup` and `kura restore` for each pair.
# Work that grows with the square of the depth shows as a 4x step from one
# depth to twice that.  Not a test: figures only (bench/README.md).
#
#   DEPTHS="1000 2000 4000" NAMELENS="1 200" bench/deep_restore.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KURA=${KURA:-$ROOT/build/kura}
DEPTHS=${DEPTHS:-1000 2000 4000}
NAMELENS=${NAMELENS:-1 200}
W=$(mktemp -d "${TMPDIR:-/dev/shm}/kura-deep-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
printf 'correct horse battery staple kura bench\n' >"$W/pw"
export KURA_PASSWORD_FILE=$W/pw KURA_CACHE_DIR=$W/cache

mkchain() { # DIR LEVELS NAMELEN: through directory fds (paths outgrow PATH_MAX)
	python3 - "$@" <<'EOF'
import os, sys
root, levels, nlen = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(root)
fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
name = "d" * nlen
for _ in range(levels):
    os.mkdir(name, dir_fd=fd)
    sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = sub
f = os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
os.write(f, b"bottom\n")
os.close(f)
EOF
}

measure() { # OUT-PREFIX CMD...: "seconds KiB"
	/usr/bin/time -f '%e %M' -o "$W/time" "$@" >/dev/null 2>"$W/err" ||
		{ tail -n 3 "$W/err" >&2; echo "failed: $*" >&2; exit 1; }
	cat "$W/time"
}

echo "| levels | name bytes | backup s | backup peak KiB | restore s | restore peak KiB |"
echo "|---|---|---|---|---|---|"
for n in $NAMELENS; do
	for l in $DEPTHS; do
		rm -rf "$W/src" "$W/repo" "$W/out" "$W/cache"
		mkchain "$W/src" "$l" "$n"
		"$KURA" -r "$W/repo" init --kdf interactive >/dev/null 2>&1
		read -r bs bk < <(cd "$W/src" && measure "$KURA" -r "$W/repo" backup .)
		read -r rs rk < <(measure "$KURA" -r "$W/repo" restore latest --target "$W/out")
		echo "| $l | $n | $bs | $bk | $rs | $rk |"
	done
done

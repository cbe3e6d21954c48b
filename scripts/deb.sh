#!/usr/bin/env bash
# scripts/deb.sh - build the kura and kurad Debian packages (`make deb`).
#   DEB_OUT=DIR   where the .deb files go (default build/deb)
# The files git tracks (as they are in the work tree: `git add` a new one
# first) are copied with packaging/debian/ as debian/ into
# DEB_OUT/src and dpkg-buildpackage runs there: a package build writes
# nothing into the work tree, and tests can build one from a scratch
# directory while other tests use build/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${DEB_OUT:-$ROOT/build/deb}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

for tool in dpkg-buildpackage dh fakeroot; do
	command -v "$tool" >/dev/null || {
		echo "deb.sh: $tool not found: scripts/deps.sh installs it (debhelper, fakeroot)" >&2
		exit 1
	}
done

# The package version is the program's: one place to change both.
version=$(sed -n 's/^#define KURA_VERSION "\(.*\)"$/\1/p' include/kura/kura.h)
deb_version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
if [ "$deb_version" != "$version" ]; then
	echo "deb.sh: packaging/debian/changelog is at $deb_version but KURA_VERSION is $version:" \
		"add a changelog entry (dch -c packaging/debian/changelog -v $version)" >&2
	exit 1
fi

SRC=$OUT/src/kura-$version
rm -rf "$OUT/src"
mkdir -p "$SRC"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$ROOT" ls-files -z --cached |
		(cd "$ROOT" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' _) |
		tar -C "$ROOT" --null --no-recursion -T - -cf - | tar -C "$SRC" -xf -
else
	tar -C "$ROOT" --exclude=./build -cf - . | tar -C "$SRC" -xf -
fi
rm -rf "$SRC/debian" "$SRC/build"
cp -r "$ROOT/packaging/debian" "$SRC/debian"

echo "building kura $version packages in $OUT"
(cd "$SRC" && dpkg-buildpackage -b -us -uc -j"${DEB_JOBS:-2}") >"$OUT/build.log" 2>&1 || {
	tail -n 40 "$OUT/build.log" >&2
	echo "deb.sh: dpkg-buildpackage failed; the whole log is $OUT/build.log" >&2
	exit 1
}
ls "$OUT"/src/*.deb >/dev/null
mv "$OUT"/src/*.deb "$OUT"/src/*.changes "$OUT"/src/*.buildinfo "$OUT"/ 2>/dev/null || true
rm -rf "$OUT/src"
ls -1 "$OUT"/*.deb

#!/usr/bin/env bash
# deb_packages.sh - `make deb`'s packages, built from a copy of the tree in
# this test's scratch directory (never build/, which other tests use),
# lintian clean of errors, then installed with `apt-get install ./kura_*.deb`
# into a scratch root: an overlay over / in a private mount namespace, so
# the machine itself never sees the packages, the user or the units.  In
# there: kura and kurad run from /usr/bin, the system user kura exists, the
# units are installed and verified by systemd-analyze and none is enabled,
# no credential exists before `kurad init`; remove and purge leave nothing
# of the packages but the user and a vault made meanwhile (never removed).
# slow: the package build compiles everything once (about 30 s on 2 cores).
. "$(dirname "$0")/lib.sh"

for tool in dpkg-buildpackage dh lintian unshare systemd-analyze; do
	command -v "$tool" >/dev/null || {
		echo "SKIP $TEST_NAME: no $tool (scripts/deps.sh installs it)"
		exit 0
	}
done
# The packages are built from the sources with the distribution's flags,
# whatever build is under test: once per suite run is enough.
case $KURA in */san/* | */tsan/* | *asan*)
	echo "SKIP $TEST_NAME: a sanitizer run (the packages do not depend on it)"
	exit 0
	;;
esac
[ "$(id -u)" = 0 ] || {
	echo "SKIP $TEST_NAME: the scratch root needs root (a mount namespace)"
	exit 0
}
version=$(sed -n 's/^#define KURA_VERSION "\(.*\)"$/\1/p' "$_lib_root/include/kura/kura.h")

note "make deb, into the test's scratch directory"
expect_exit 0 env DEB_OUT="$WORK/deb" DEB_BUILD_OPTIONS=noautodbgsym "$_lib_root/scripts/deb.sh"
for p in kura kurad; do
	[ -f "$WORK/deb/${p}_${version}_$(dpkg --print-architecture).deb" ] || fail "no $p package: $OUT"
done
[ ! -e "$_lib_root/debian" ] || fail "the package build left debian/ in the tree"

note "lintian"
lintian --tag-display-limit 0 "$WORK"/deb/*.deb >"$WORK/lintian.out" 2>&1 || true
grep -v '^running with root privileges' "$WORK/lintian.out" | sed 's/^/    /' || true
if grep -q '^E: ' "$WORK/lintian.out"; then
	fail "lintian errors: $(grep '^E: ' "$WORK/lintian.out")"
fi
# the check itself: lintian must see a package and name a planted error
cp -r "$WORK/deb" "$WORK/bad"
dpkg-deb -R "$WORK/bad/kurad_${version}_"*.deb "$WORK/bad/tree"
sed -i '/^Maintainer:/d' "$WORK/bad/tree/DEBIAN/control"
dpkg-deb -b "$WORK/bad/tree" "$WORK/bad/kurad-bad.deb" >/dev/null 2>&1 || true
lintian "$WORK/bad/kurad-bad.deb" >"$WORK/lintian-bad.out" 2>&1 || true
grep -q '^E: kurad: required-field .*Maintainer' "$WORK/lintian-bad.out" ||
	fail "lintian did not catch a missing Maintainer: $(cat "$WORK/lintian-bad.out")"

note "install into a scratch root (overlay over /), check, remove, purge"
ROOT=$WORK/root
host_kura=$(getent passwd kura || true)
host_kurad=$(dpkg-query -W -f='${Status}' kurad 2>/dev/null || true)
mkdir -p "$ROOT"
cp "$_lib_root/tests/tools/deb_inside.sh" "$WORK/deb/"
rc=0
unshare --mount --propagation private bash -euo pipefail -c '
	R=$1 DEB=$2 VERSION=$3
	mount -t tmpfs -o mode=0755 kura-deb-test "$R"
	mkdir "$R/upper" "$R/work" "$R/merged"
	mount -t overlay overlay -o "lowerdir=/,upperdir=$R/upper,workdir=$R/work" "$R/merged"
	mount -t proc proc "$R/merged/proc"
	mount --rbind /dev "$R/merged/dev"
	mount -t tmpfs tmpfs "$R/merged/run"
	mount -t tmpfs tmpfs "$R/merged/tmp"
	mkdir "$R/merged/kura-deb-test"
	cp "$DEB"/*.deb "$DEB/deb_inside.sh" "$R/merged/kura-deb-test/"
	chroot "$R/merged" bash /kura-deb-test/deb_inside.sh "$VERSION"
	umount -l "$R/merged/dev" "$R/merged/proc" "$R/merged/run" "$R/merged/tmp"
	rm -rf "$R/merged/kura-deb-test"
	# What the install, remove and purge left in the scratch root, besides
	# the bookkeeping of dpkg, apt and logs: the user, and the vault.
	cd "$R/upper"
	find . -mindepth 1 ! -type c -printf "%y %p\n" | sort >"$R/../left.txt"
' _ "$ROOT" "$WORK/deb" "$version" >"$WORK/inside.out" 2>&1 || rc=$?
cat "$WORK/inside.out"
[ "$rc" = 0 ] || fail "in the scratch root (exit $rc): $(tail -n 5 "$WORK/inside.out")"
grep -q '^inside: all checks passed$' "$WORK/inside.out" || fail "the checks inside did not finish"
[ "$(getent passwd kura || true)" = "$host_kura" ] || fail "the machine's own accounts changed"
[ "$(dpkg-query -W -f='${Status}' kurad 2>/dev/null || true)" = "$host_kurad" ] ||
	fail "the machine's own package list changed"

note "what remove + purge left in the scratch root"
python3 - "$WORK/left.txt" <<'PY' || fail "left behind (above)"
import re, sys
# what may stay: the accounts (the user kura is kept on purge), dpkg's and
# apt's own records, logs and caches, and the vault, which is never removed
allowed = [r"\./etc$", r"\./etc/(passwd|group|shadow|gshadow)-?$", r"\./etc/\.pwd\.lock$",
           r"\./etc/ld\.so\.cache$",
           r"\./var$", r"\./var/lib$", r"\./var/lib/(dpkg|apt|ucf)(/.*)?$",
           r"\./var/lib/systemd(/deb-systemd-helper-enabled)?$", r"\./var/log(/.*)?$",
           r"\./var/cache(/(apt|debconf|ldconfig|man)(/.*)?)?$",
           r"\./var/lib/kura$", r"\./var/lib/kura/vault(/.*)?$",
           r"\./(proc|dev|run|tmp|root|kura-deb-test)$"]
bad = []
for line in open(sys.argv[1]):
    kind, path = line.rstrip("\n").split(" ", 1)
    # a directory is copied up when something in it changes: empty ones stay
    if kind != "d" and not any(re.fullmatch(a, path) for a in allowed):
        bad.append(line.strip())
    if re.search(r"kura", path) and not re.match(r"\./var/lib/kura(/vault(/.*)?)?$", path):
        bad.append("a kura file: " + line.strip())
if bad:
    print("\n".join(sorted(set(bad))))
    sys.exit(1)
PY
grep -q '^d \./var/lib/kura/vault$' "$WORK/left.txt" || fail "purge removed the vault"
echo "deb packages: built, lintian without errors ($(grep -c '^W: ' "$WORK/lintian.out" || true) warning(s)), installed, checked, purged clean"

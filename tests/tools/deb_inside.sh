#!/usr/bin/env bash
# deb_inside.sh VERSION - run by tests/e2e/deb_packages.sh inside its
# scratch root (a chroot on an overlay over /), with the packages in
# /kura-deb-test: install them as an operator would, check what they hold,
# make a vault, then remove and purge.  Prints "inside: all checks passed".
set -euo pipefail
VERSION=$1
D=/kura-deb-test
arch=$(dpkg --print-architecture)
fail() { echo "FAIL (inside): $*" >&2; exit 1; }
step() { echo "-- $*"; }

step "apt-get install ./kura_*.deb ./kurad_*.deb"
cd "$D"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	"./kura_${VERSION}_${arch}.deb" "./kurad_${VERSION}_${arch}.deb" >"$D/install.log" 2>&1 ||
	fail "apt-get install: $(tail -n 15 "$D/install.log")"
cd /
# every dependency is on the machine already (scripts/deps.sh): nothing else comes in
grep -q '^0 upgraded, 2 newly installed, 0 to remove' "$D/install.log" ||
	fail "apt-get install did more than install the two packages: $(cat "$D/install.log")"

step "the programs run from their installed paths"
case "$(/usr/bin/kura version)" in "kura $VERSION "*) ;; *) false ;; esac || fail "kura version: $(/usr/bin/kura version 2>&1)"
[ "$(/usr/bin/kurad version)" = "kurad $VERSION" ] || fail "kurad version: $(/usr/bin/kurad version 2>&1)"
[ -f /usr/share/man/man1/kura.1.gz ] || fail "no kura(1)"
[ -f /usr/share/man/man8/kurad.8.gz ] || fail "no kurad(8)"
grep -q '^\.TH KURAD 8' <(zcat /usr/share/man/man8/kurad.8.gz) || fail "kurad.8 is not the man page"

step "the system user kura"
IFS=: read -r name _ uid gid _ home shell < <(getent passwd kura) || fail "no user kura"
[ "$uid" -lt 1000 ] || fail "kura is not a system user (uid $uid)"
[ "$home" = /var/lib/kura ] || fail "kura's home is $home"
case $shell in */nologin | */false) ;; *) fail "kura has the login shell $shell" ;; esac
[ "$(getent group kura | cut -d: -f3)" = "$gid" ] || fail "no group kura as kura's primary group"
[ "$(stat -c '%U:%G %a' /var/lib/kura)" = "kura:kura 750" ] ||
	fail "/var/lib/kura is $(stat -c '%U:%G %a' /var/lib/kura)"
grep -q '^kura:[!*]' /etc/shadow || fail "kura has a password"

step "no credential and no vault before kurad init"
[ -z "$(ls -A /var/lib/kura)" ] || fail "/var/lib/kura is not empty: $(ls -A /var/lib/kura)"
[ ! -e /etc/kura ] || fail "/etc/kura exists after install: $(ls -la /etc/kura)"

step "the units: installed, none enabled, each verified"
units=(kurad.service kura-backup@.service kura-backup@.timer kura-copy.service kura-copy.timer
	kura-drill.service kura-drill.timer)
for u in "${units[@]}"; do
	[ -f "/lib/systemd/system/$u" ] || fail "$u is not installed"
done
for u in kurad.service kura-copy.timer kura-drill.timer kura-copy.service kura-drill.service; do
	state=$(systemctl is-enabled "$u" 2>&1 || true)
	[ "$state" = disabled ] || [ "$state" = static ] || fail "$u is $state"
done
if find /etc/systemd/system -name '*kura*' | grep -q .; then
	fail "enabled: $(find /etc/systemd/system -name '*kura*')"
fi
for u in kurad.service kura-backup@pacs.service kura-backup@pacs.timer kura-copy.service \
	kura-copy.timer kura-drill.service kura-drill.timer; do
	out=$(systemd-analyze verify --man=no "$u" 2>&1) || fail "systemd-analyze verify $u: $out"
	[ -z "$out" ] || fail "systemd-analyze verify $u warned: $out"
done
out=$(systemd-analyze verify --man=no kurad-typo.service 2>&1) && fail "verify passed a missing unit"

step "the operator's first step: kurad init as the user kura"
runuser -u kura -- /usr/bin/kurad init /var/lib/kura/vault --listen 127.0.0.1:7443 \
	>"$D/init.out" 2>&1 || fail "kurad init: $(cat "$D/init.out")"
[ -f /var/lib/kura/vault/vault.json ] || fail "kurad init made no vault.json"
[ "$(stat -c %U /var/lib/kura/vault)" = kura ] || fail "the vault is not kura's"
find /var/lib/kura/vault -type f | sort >"$D/vault-before.txt"

step "apt-get remove: programs and units go, the vault and the user stay"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -q kura kurad >"$D/remove.log" 2>&1 ||
	fail "apt-get remove: $(tail -n 15 "$D/remove.log")"
for f in /usr/bin/kura /usr/bin/kurad /lib/systemd/system/kurad.service \
	/lib/systemd/system/kura-drill.timer /usr/share/man/man8/kurad.8.gz; do
	[ ! -e "$f" ] || fail "$f is still there after remove"
done
getent passwd kura >/dev/null || fail "remove took the user kura"

step "apt-get purge: the vault stays, file for file"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q kura kurad >"$D/purge.log" 2>&1 ||
	fail "apt-get purge: $(tail -n 15 "$D/purge.log")"
for p in kura kurad; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ -z "$st" ] || [ "$st" = "unknown ok not-installed" ] || fail "$p after purge: $st"
done
find /var/lib/kura/vault -type f | sort >"$D/vault-after.txt"
cmp -s "$D/vault-before.txt" "$D/vault-after.txt" ||
	fail "purge changed the vault: $(diff "$D/vault-before.txt" "$D/vault-after.txt")"
[ -s "$D/vault-after.txt" ] || fail "the vault has no file"
getent passwd kura >/dev/null || fail "purge took the user kura (it may still own a vault)"
echo "inside: all checks passed"

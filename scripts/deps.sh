#!/usr/bin/env bash
# scripts/deps.sh - install what kura needs to build and test on Debian 12.
# Safe to run again: installs only what is missing.
set -euo pipefail
PKGS=(build-essential pkg-config clang libsodium-dev libzstd-dev libssl-dev libjansson-dev
      libpwquality-dev cracklib-runtime libcmocka-dev libcurl4-openssl-dev libmicrohttpd-dev
      e2fsprogs rsync attr acl libarchive-tools python3 python3-cryptography
      libfuse3-dev fuse3
      libgfshare-dev libqrencode-dev # kura key split: Shamir shares, QR codes on the sheets
      zbar-tools # zbarimg: tests/e2e/key_split.sh reads a sheet's QR code back
      postgresql # postgresql: the database drill (tests/e2e/drill_postgres.sh)
      chromium prometheus # the status page in a browser, /metrics scraped (tests/e2e/ui_chromium.sh, metrics_prometheus.sh)
      libexpat1-dev # the S3 backend's XML answers (lib/backend/s3_xml.c)
      systemd # systemd-analyze verify and security: tests/e2e/systemd_units.sh
      debhelper devscripts lintian fakeroot # make deb, tests/e2e/deb_packages.sh
      ceph-mon ceph-osd radosgw ceph-common uuid-runtime) # a real Ceph RGW for tests/e2e/s3_*.sh
[ "${WITH_BENCH:-0}" = 1 ] && PKGS+=(restic borgbackup zstd lz4 bc time)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
	echo "installing: ${missing[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

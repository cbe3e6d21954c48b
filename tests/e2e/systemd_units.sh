#!/usr/bin/env bash
# systemd_units.sh - contrib/systemd/: every unit passes `systemd-analyze
# verify` (any warning fails), with ExecStart= pointed at the binaries under
# test, and kurad.service's `systemd-analyze security` exposure stays below
# 2.0 (issue 15's goal).
. "$(dirname "$0")/lib.sh"

if ! command -v systemd-analyze >/dev/null; then
	echo "SKIP $TEST_NAME: no systemd-analyze"
	exit 0
fi
SRC=$_lib_root/contrib/systemd
BIN=$(dirname "$KURA")
[ -x "$BIN/kurad" ] || fail "no kurad next to $KURA"
U=$WORK/units
mkdir -p "$U"

units=()
for f in "$SRC"/*.service "$SRC"/*.timer; do
	name=$(basename "$f")
	# A template is verified as an instance.
	name=${name/@./@pacs.}
	sed "s|/usr/bin/kura|$BIN/kura|g" "$f" >"$U/$name"
	units+=("$U/$name")
done
assert_eq "units in contrib/systemd" 7 "${#units[@]}"
grep -q "ExecStart=$BIN/kurad serve /var/lib/kura/vault" "$U/kurad.service" ||
	fail "kurad.service: ExecStart not as documented"

for u in "${units[@]}"; do
	note "verify $(basename "$u")"
	expect_exit 0 systemd-analyze verify --man=no "$u"
	[ -z "$ERR$OUT" ] || fail "systemd-analyze verify $(basename "$u") warned: $ERR$OUT"
done

# The check itself must catch a mistake: an unknown key and a missing binary.
sed 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' "$U/kurad.service" >"$U/typo.service"
expect_exit 0 systemd-analyze verify --man=no "$U/typo.service"
assert_contains "verify names the typo" "NoNewPrivilege" "$ERR"
sed "s|$BIN/kurad|$WORK/nonexistent/kurad|" "$U/kurad.service" >"$U/nobin.service"
expect_fail systemd-analyze verify --man=no "$U/nobin.service"

note "security of kurad.service"
expect_exit 0 systemd-analyze security --offline=true --no-pager "$U/kurad.service"
score=$(sed -n 's/.*Overall exposure level for kurad.service: \([0-9.]*\).*/\1/p' <<<"$OUT")
[ -n "$score" ] || fail "no exposure score in: $OUT"
echo "kurad.service exposure: $score"
python3 -c "import sys; sys.exit(0 if float('$score') < 2.0 else 1)" ||
	fail "kurad.service exposure $score, the goal is below 2.0"
# The directives the issue asks for, each checked by name.
for d in User=kura ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
	NoNewPrivileges=yes CapabilityBoundingSet=CAP_LINUX_IMMUTABLE \
	ReadWritePaths=/var/lib/kura/vault SystemCallFilter=@system-service LimitNOFILE=8192 \
	Restart=on-failure; do
	grep -qx "$d" "$U/kurad.service" || fail "kurad.service lacks $d"
done
grep -q '^RestrictAddressFamilies=' "$U/kurad.service" || fail "no RestrictAddressFamilies"
[ "$(grep -c '^ReadWritePaths=' "$U/kurad.service")" = 1 ] || fail "more than one ReadWritePaths"
grep -q '^EnvironmentFile=/etc/kura/backup-%i.env' "$U/kura-backup@pacs.service" ||
	fail "kura-backup@: no per-source environment file"
echo "systemd units: all verified; kurad.service exposure $score"

#!/usr/bin/env bash
# kurad_doctor.sh - `kurad doctor DIR` on a real vault that is serving: a
# hardened fake /etc (KURAD_DOCTOR_ROOT; /proc is the real one, so the
# vault's own socket is seen) passes; a key file's mode makes a check fail
# (exit 3) and mending it passes again; an approver key left in the vault
# directory fails; a listen address of 0.0.0.0 warns; --json is valid; a
# hostile sshd_config and an unprivileged run are reported, not crashed on.
. "$(dirname "$0")/lib.sh"

init_vault "$WORK/vault"
start_vault
vault_client ward4 writer pacs "$WORK/ward4.cred"
doctor_host

note "a hardened vault host passes"
doctor_ok
assert_eq "checks" 11 "$(json_get "$J" 'len(d["checks"])')"
for c in listen key-modes clock ssh approvers approver-keys policy credentials free-space; do
	assert_eq "$c" pass "$(doctor_status "$J" "$c")"
done
assert_contains "listener seen in /proc" "listening on 127.0.0.1" "$(doctor_reason "$J" listen)"
case $(doctor_status "$J" immutable) in
pass | warn | unchecked) ;;
*) fail "immutable: $(doctor_reason "$J" immutable)" ;;
esac
[ "$(id -u)" != 0 ] || [ "$(doctor_status "$J" immutable)" != unchecked ] ||
	fail "as root the immutable flag must be tried: $(doctor_reason "$J" immutable)"
json_get "$J" 'all(set(c) == {"name","status","reason","fix"} for c in d["checks"])' | grep -qx true ||
	fail "check objects not as documented"

note "a TLS key readable by others fails, then passes once mended"
doctor_key_mode tls/key.pem

note "an approver key left in the vault directory fails"
cp "$WORK/approvers/alice.key" "$VAULT_DIR/alice.key"
expect_exit 3 "$KURAD" doctor "$VAULT_DIR" --json
assert_eq "approver-keys" fail "$(doctor_status "$OUT" approver-keys)"
rm "$VAULT_DIR/alice.key"

note "SSH passwords on, PermitRootLogin yes"
rm "$R/etc/ssh/sshd_config.d/10-kura.conf"
expect_exit 0 "$KURAD" doctor "$VAULT_DIR" --json
assert_eq "ssh passwords" warn "$(doctor_status "$OUT" ssh)"
printf 'PermitRootLogin yes\n' >"$R/etc/ssh/sshd_config.d/00-bad.conf"
expect_exit 3 "$KURAD" doctor "$VAULT_DIR" --json
assert_eq "ssh root" fail "$(doctor_status "$OUT" ssh)"
note "a hostile sshd_config: binary, then 3 MiB"
printf 'PasswordAuthentication no\nPermitRootLogin no\n' >"$R/etc/ssh/sshd_config"
head -c 4096 /dev/urandom >"$R/etc/ssh/sshd_config.d/00-bad.conf"
printf '\0' >>"$R/etc/ssh/sshd_config.d/00-bad.conf"
expect_exit 0 "$KURAD" doctor "$VAULT_DIR" --json
assert_eq "ssh binary" unchecked "$(doctor_status "$OUT" ssh)"
rm "$R/etc/ssh/sshd_config.d/00-bad.conf"
python3 -c 'print("PasswordAuthentication no\n" * 120000, end="")' >"$R/etc/ssh/sshd_config"
expect_exit 0 "$KURAD" doctor "$VAULT_DIR" --json
assert_eq "ssh huge" unchecked "$(doctor_status "$OUT" ssh)"
printf 'PasswordAuthentication no\nPermitRootLogin no\n' >"$R/etc/ssh/sshd_config"

note "listening on every interface warns"
stop_vault
python3 - "$VAULT_DIR/vault.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p)); port = d["listen"].rsplit(":", 1)[1]
d["listen"] = "0.0.0.0:" + port; json.dump(d, open(p, "w"))
PY
expect_exit 0 "$KURAD" doctor "$VAULT_DIR" --json
assert_eq "listen" warn "$(doctor_status "$OUT" listen)"
assert_contains "says why" "every interface" "$(doctor_reason "$OUT" listen)"

note "a policy that keeps nothing fails"
expect_exit 0 "$KURAD" policy set "$VAULT_DIR" --min-age 0 --keep-daily 0 --keep-weekly 0 --keep-monthly 0
expect_exit 3 "$KURAD" doctor "$VAULT_DIR" --json
assert_eq "policy" fail "$(doctor_status "$OUT" policy)"

note "unprivileged: says what it could not check"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups "$KURAD" doctor "$VAULT_DIR" --json \
		>"$WORK/np.out" 2>"$WORK/np.err" || rc=$?
	no_crash "$rc" "$WORK/np.err" "kurad doctor unprivileged"
	[ "$rc" = 0 ] || [ "$rc" = 3 ] || fail "unprivileged doctor exited $rc: $(cat "$WORK/np.err")"
	NP=$(cat "$WORK/np.out")
	assert_eq "immutable unprivileged" unchecked "$(doctor_status "$NP" immutable)"
	assert_contains "says why" "could not check" "$(doctor_reason "$NP" immutable)"
	assert_eq "modes unprivileged" unchecked "$(doctor_status "$NP" key-modes)"
fi

expect_exit 2 "$KURAD" doctor
expect_exit 2 "$KURAD" doctor "$VAULT_DIR" --bogus

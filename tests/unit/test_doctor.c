/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_doctor.c - `kurad doctor`'s checks (server/doctor*.c) on fake host
 * roots: hostile host files (huge, binary, missing), the sshd_config and
 * /proc/net/tcp parsers, and the vault checks on a real vault directory
 * whose modes, policy and ledgers the tests spoil and mend.
 */
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "doctor.h"
#include "policy.h"
#include "vault_admin.h"

static char root[256], vdir[300];

static int setup(void **state)
{
	char *pin = NULL;

	snprintf(root, sizeof(root), "%s/kura-doctor-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(root))
		return -1;
	snprintf(vdir, sizeof(vdir), "%s/vault", root);
	if (vault_init(vdir, "127.0.0.1:7443", &pin) < 0)
		return -1;
	free(pin);
	return 0;
}

static int teardown(void **state)
{
	return test_remove_tree(root);
}

/* Write ROOT/REL (directories made), `len` bytes of `text`. */
static void put(const char *rel, const char *text, size_t len)
{
	char path[1024], cmd[1200];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void put_s(const char *rel, const char *text)
{
	put(rel, text, strlen(text));
}

static void zap(const char *rel)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s%s'", root, rel);
	assert_int_equal(system(cmd), 0);
}

static doctor_ctx ctx_of(void)
{
	doctor_ctx c = {.dir = vdir, .root = root, .privileged = false, .now_s = time(NULL)};

	return c;
}

static doctor_status run(void (*fn)(const doctor_ctx *, doctor_result *), doctor_result *r)
{
	doctor_ctx c = ctx_of();

	memset(r, 0, sizeof(*r));
	r->status = (doctor_status)99;
	fn(&c, r);
	assert_true(r->status <= DOCTOR_UNCHECKED);
	assert_true(r->reason[0] != '\0');
	if (r->status != DOCTOR_PASS)
		assert_true(r->fix[0] != '\0');
	return r->status;
}

static void test_sshd_parse(void **state)
{
	doctor_sshd s = {-1, -1};
	const char *a = "# comment\n  passwordauthentication=no\nPermitRootLogin  yes # tail\n"
			"PasswordAuthentication yes\n";
	const char *b = "Match User backup\nPermitRootLogin no\n";

	doctor_sshd_parse(a, strlen(a), &s);
	assert_int_equal(s.password_auth, 0); /* first value wins */
	assert_int_equal(s.root_login, 1);
	s.root_login = -1;
	doctor_sshd_parse(b, strlen(b), &s);
	assert_int_equal(s.root_login, -1); /* only inside Match */
	doctor_sshd_parse("PermitRootLogin without-password", 32, &s);
	assert_int_equal(s.root_login, 2);
	doctor_sshd_parse("", 0, &s);
	doctor_sshd_parse("=\n=\n\t\n#", 7, &s);
}

static void test_ssh_hostile(void **state)
{
	doctor_result r;
	char *huge;

	zap("/etc");
	assert_int_equal(run(doctor_check_ssh, &r), DOCTOR_PASS); /* no sshd at all */
	put_s("/etc/ssh/sshd_config", "PermitRootLogin yes\n");
	assert_int_equal(run(doctor_check_ssh, &r), DOCTOR_FAIL);
	put_s("/etc/ssh/sshd_config",
	      "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\n");
	assert_int_equal(run(doctor_check_ssh, &r), DOCTOR_WARN);
	put_s("/etc/ssh/sshd_config.d/10-hard.conf",
	      "PasswordAuthentication no\nPermitRootLogin no\n");
	assert_int_equal(run(doctor_check_ssh, &r), DOCTOR_PASS);
	/* binary: not read, and said so */
	put("/etc/ssh/sshd_config", "Pass\0word", 9);
	assert_int_equal(run(doctor_check_ssh, &r), DOCTOR_UNCHECKED);
	assert_non_null(strstr(r.reason, "not a text file"));
	/* huge: not read */
	assert_non_null(huge = malloc(DOCTOR_FILE_MAX + 10));
	memset(huge, '#', DOCTOR_FILE_MAX + 10);
	put("/etc/ssh/sshd_config", huge, DOCTOR_FILE_MAX + 10);
	free(huge);
	assert_int_equal(run(doctor_check_ssh, &r), DOCTOR_UNCHECKED);
	assert_non_null(strstr(r.reason, "larger than"));
	/* a FIFO in place of the file: refused, not waited on */
	{
		char fifo[512];

		zap("/etc/ssh/sshd_config");
		snprintf(fifo, sizeof(fifo), "%s/etc/ssh/sshd_config", root);
		assert_int_equal(mkfifo(fifo, 0600), 0);
		assert_int_equal(run(doctor_check_ssh, &r), DOCTOR_UNCHECKED);
		zap("/etc/ssh/sshd_config");
	}
	/* a drop-in that is binary leaves the answer open */
	put_s("/etc/ssh/sshd_config", "PasswordAuthentication no\n");
	put("/etc/ssh/sshd_config.d/00-bin.conf", "\0\0\0", 3);
	zap("/etc/ssh/sshd_config.d/10-hard.conf");
	assert_int_equal(run(doctor_check_ssh, &r), DOCTOR_UNCHECKED);
	zap("/etc");
}

static void collect(const char *addr, void *arg)
{
	strcat(arg, addr);
	strcat(arg, ";");
}

static void test_tcp_parse(void **state)
{
	const char *v4 =
	    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
	    "   0: 0100007F:1D13 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0\n"
	    "   1: 00000000:1D13 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0\n"
	    "   2: 0100007F:1D13 0100007F:C350 01 00000000:00000000 00:00000000 00000000 0\n"
	    "   3: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0\n"
	    "   4: ZZZZZZZZ:1D13 00000000:0000 0A\n"
	    "   5: 0100007F:1D1\n"
	    "garbage\n";
	const char *v6 =
	    "  sl  local_address                         remote_address                        st\n"
	    "   0: 00000000000000000000000000000000:1D13 00000000000000000000000000000000:0000 0A "
	    "0\n"
	    "   1: 00000000000000000000000001000000:1D13 00000000000000000000000000000000:0000 0A "
	    "0\n";
	char got[256] = "";

	assert_int_equal(doctor_tcp_listeners(v4, strlen(v4), false, 7443, collect, got), 2);
	assert_string_equal(got, "127.0.0.1;0.0.0.0;");
	got[0] = '\0';
	assert_int_equal(doctor_tcp_listeners(v6, strlen(v6), true, 7443, collect, got), 2);
	assert_string_equal(got, "::;::1;");
	assert_int_equal(doctor_tcp_listeners(v4, strlen(v4), false, 1, NULL, NULL), 0);
	assert_int_equal(doctor_tcp_listeners(v4, strlen(v4), true, 7443, NULL, NULL), 0);
}

static void test_addr(void **state)
{
	assert_true(doctor_addr_wildcard("0.0.0.0:7443"));
	assert_true(doctor_addr_wildcard("[::]:7443"));
	assert_false(doctor_addr_wildcard("127.0.0.1:7443"));
	assert_false(doctor_addr_wildcard("[::1]:7443"));
	assert_int_equal(doctor_addr_port("[::1]:7443"), 7443);
	assert_int_equal(doctor_addr_port("1.2.3.4:99999"), 0);
	assert_int_equal(doctor_addr_port("1.2.3.4:"), 0);
	assert_int_equal(doctor_addr_port("nonsense"), 0);
}

static void test_listen(void **state)
{
	doctor_result r;

	put_s("/proc/net/tcp",
	      "  sl  local_address\n   0: 0100007F:1D13 00000000:0000 0A 00000000:00000000\n");
	assert_int_equal(run(doctor_check_listen, &r), DOCTOR_PASS);
	assert_non_null(strstr(r.reason, "127.0.0.1"));
	put_s("/proc/net/tcp",
	      "  sl  local_address\n   0: 00000000:1D13 00000000:0000 0A 00000000:00000000\n");
	assert_int_equal(run(doctor_check_listen, &r), DOCTOR_WARN);
	zap("/proc");
}

static void test_domain(void **state)
{
	doctor_result r;

	zap("/proc");
	zap("/etc");
	assert_int_equal(run(doctor_check_domain, &r), DOCTOR_UNCHECKED); /* no /proc to read */
	put_s("/proc/1/comm", "systemd\n");
	put_s("/proc/77/comm", "bash\n");
	assert_int_equal(run(doctor_check_domain, &r), DOCTOR_PASS);
	put_s("/proc/78/comm", "winbindd\n");
	assert_int_equal(run(doctor_check_domain, &r), DOCTOR_FAIL);
	assert_non_null(strstr(r.reason, "winbindd"));
	zap("/proc/78");
	put_s("/etc/samba/smb.conf", "[global]\n  SECURITY = ADS\n");
	assert_int_equal(run(doctor_check_domain, &r), DOCTOR_FAIL);
	zap("/etc/samba");
	put_s("/etc/sssd/sssd.conf", "[sssd]\n");
	assert_int_equal(run(doctor_check_domain, &r), DOCTOR_FAIL);
	zap("/etc");
	zap("/proc");
}

static void test_clock(void **state)
{
	doctor_result r;

	zap("/run");
	assert_int_equal(run(doctor_check_clock, &r), DOCTOR_UNCHECKED);
	put_s("/run/systemd/timesync/synchronized", "");
	assert_int_equal(run(doctor_check_clock, &r), DOCTOR_PASS);
	zap("/run");
}

static void test_modes(void **state)
{
	doctor_result r;
	char path[512];

	assert_int_equal(run(doctor_check_modes, &r), DOCTOR_PASS);
	snprintf(path, sizeof(path), "%s/signing.key", vdir);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(run(doctor_check_modes, &r), DOCTOR_FAIL);
	assert_non_null(strstr(r.reason, "signing.key (mode 0644)"));
	assert_int_equal(chmod(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/clients", vdir);
	assert_int_equal(chmod(path, 0777), 0);
	assert_int_equal(run(doctor_check_modes, &r), DOCTOR_FAIL);
	assert_int_equal(chmod(path, 0700), 0);
	assert_int_equal(run(doctor_check_modes, &r), DOCTOR_PASS);
}

static void test_policy_and_approvers(void **state)
{
	doctor_result r;
	vault_policy p;

	assert_int_equal(run(doctor_check_policy, &r), DOCTOR_PASS);
	assert_int_equal(run(doctor_check_approvers, &r), DOCTOR_FAIL); /* 0 for quorum 2 */
	put_s("/vault/approvers/a.json", "{}");
	put_s("/vault/approvers/b.json", "{}");
	assert_int_equal(run(doctor_check_approvers, &r), DOCTOR_PASS);
	policy_default(&p);
	p.min_age_s = 0;
	assert_ok(policy_save(vdir, &p));
	assert_int_equal(run(doctor_check_policy, &r), DOCTOR_FAIL);
	p.min_age_s = 86400;
	p.keep_daily = p.keep_weekly = p.keep_monthly = 0;
	assert_ok(policy_save(vdir, &p));
	assert_int_equal(run(doctor_check_policy, &r), DOCTOR_WARN);
	policy_default(&p);
	assert_ok(policy_save(vdir, &p));
	/* approver key files left on the host */
	assert_int_equal(run(doctor_check_approver_keys, &r), DOCTOR_PASS);
	put_s("/vault/tls/alice.key", "{\"kura_approver_key\": 1, \"name\": \"alice\"}");
	assert_int_equal(run(doctor_check_approver_keys, &r), DOCTOR_FAIL);
	assert_non_null(strstr(r.reason, "alice.key"));
	zap("/vault/tls/alice.key");
	zap("/vault/approvers/a.json");
	zap("/vault/approvers/b.json");
}

static void test_credentials_and_space(void **state)
{
	doctor_result r;
	char text[512];
	long today = (long)(time(NULL) / 86400);

	assert_int_equal(run(doctor_check_credentials, &r), DOCTOR_PASS);
	put_s("/vault/clients/old.json",
	      "{\"name\": \"old\", \"created\": \"2020-01-01T00:00:00Z\"}");
	put_s("/vault/clients/junk.json", "\x01\x02 not json");
	assert_int_equal(run(doctor_check_credentials, &r), DOCTOR_WARN);
	assert_non_null(strstr(r.reason, "old"));
	/* a recent audit entry by it makes it used */
	put_s("/vault/audit/log.jsonl",
	      "{\"seq\":0,\"time\":\"2099-01-01T00:00:00Z\",\"client\":\"old\"}\n"
	      "not json at all\n");
	assert_int_equal(run(doctor_check_credentials, &r), DOCTOR_PASS);
	zap("/vault/clients/old.json");
	zap("/vault/clients/junk.json");

	assert_int_equal(run(doctor_check_space, &r), DOCTOR_PASS);
	/* 8 EiB a day for the last days: no file system lasts */
	snprintf(text, sizeof(text),
		 "{\"version\":1,\"days\":[[%ld, 9000000000000000000],[%ld, 1]]}", today,
		 today - 1);
	put_s("/vault/meta/r1/quota.json", text);
	put_s("/vault/meta/r2/quota.json", "[[[[[");
	assert_int_equal(run(doctor_check_space, &r), DOCTOR_FAIL);
	/* growth older than 30 days does not count */
	snprintf(text, sizeof(text), "{\"version\":1,\"days\":[[%ld, 9000000000000000000]]}",
		 today - 40);
	put_s("/vault/meta/r1/quota.json", text);
	assert_int_equal(run(doctor_check_space, &r), DOCTOR_PASS);
	zap("/vault/meta/r1");
	zap("/vault/meta/r2");
}

static void test_immutable_unprivileged(void **state)
{
	doctor_result r;

	assert_int_equal(run(doctor_check_immutable, &r), DOCTOR_UNCHECKED);
	assert_non_null(strstr(r.reason, "could not check"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sshd_parse),
	    cmocka_unit_test(test_tcp_parse),
	    cmocka_unit_test(test_addr),
	    cmocka_unit_test_setup_teardown(test_ssh_hostile, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_domain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_policy_and_approvers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_credentials_and_space, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_immutable_unprivileged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

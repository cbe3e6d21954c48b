/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vault.c - the vault directory (server/vault_admin.c,
 * vault_state.c, status.c, tls.c): init, credentials, authentication,
 * status.
 *
 * The pin is checked against the openssl command line (the recipe curl's
 * documentation gives for CURLOPT_PINNEDPUBLICKEY), run through popen.
 */
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/buf.h"
#include "files.h"
#include "policy.h"
#include "reserve.h"
#include "status.h"
#include "tls.h"
#include "vault_admin.h"
#include "vault_state.h"

typedef struct {
	char dir[64];	/* the mkdtemp directory */
	char vault[96]; /* dir/v */
	char *pin;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-vault-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->vault, sizeof(f->vault), "%s/v", f->dir);
	if (vault_init(f->vault, NULL, &f->pin) < 0) {
		print_error("vault_init: %s\n", kura_error_message());
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	if (test_remove_tree(f->dir) != 0)
		return -1;
	free(f->pin);
	free(f);
	return 0;
}

static char *path_in(const fixture *f, const char *rel)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", f->dir, rel) > 0);
	return p;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static json_t *load_json(const char *path)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);

	if (!doc)
		print_error("%s: %s\n", path, jerr.text);
	assert_non_null(doc);
	return doc;
}

static void test_init_layout(void **state)
{
	fixture *f = *state;
	char *p, *pin = NULL;

	assert_int_equal(mode_of(f->vault), 0700);
	p = path_in(f, "v/signing.key");
	assert_int_equal(mode_of(p), 0600);
	free(p);
	p = path_in(f, "v/tls/key.pem");
	assert_int_equal(mode_of(p), 0600);
	free(p);
	p = path_in(f, "v/clients");
	assert_int_equal(mode_of(p), 0700);
	free(p);
	assert_true(strncmp(f->pin, "sha256//", 8) == 0);
	assert_int_equal(strlen(f->pin), 8 + 44);

	/* Never over an existing vault, or with an address that is not one. */
	assert_int_equal(vault_init(f->vault, NULL, &pin), KURA_EEXISTS);
	p = path_in(f, "w");
	assert_int_equal(vault_init(p, "localhost:7443", &pin), KURA_EINVAL);
	assert_int_equal(vault_init(p, "127.0.0.1:0", &pin), KURA_EINVAL);
	assert_int_equal(vault_init(p, "::1:7443", &pin), KURA_EINVAL);
	assert_ok(vault_init(p, "[::1]:7443", &pin));
	free(pin);
	free(p);
}

static void test_pin_matches_openssl(void **state)
{
	fixture *f = *state;
	char cmd[512], out[128] = "", *nl;
	FILE *pipe;

	snprintf(cmd, sizeof(cmd),
		 "openssl x509 -in '%s/tls/cert.pem' -pubkey -noout | openssl pkey -pubin "
		 "-outform der | openssl dgst -sha256 -binary | openssl enc -base64",
		 f->vault);
	pipe = popen(cmd, "r");
	assert_non_null(pipe);
	assert_non_null(fgets(out, sizeof(out), pipe));
	assert_int_equal(pclose(pipe), 0);
	if ((nl = strchr(out, '\n')))
		*nl = '\0';
	assert_string_equal(f->pin + 8, out);

	/* The certificate names what the protocol says. */
	snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s/tls/cert.pem' -noout -text", f->vault);
	pipe = popen(cmd, "r");
	assert_non_null(pipe);
	{
		char line[512];
		int san = 0, cn = 0, ec = 0;

		while (fgets(line, sizeof(line), pipe)) {
			san |= strstr(line, "IP Address:127.0.0.1") &&
			       strstr(line, "DNS:localhost") &&
			       strstr(line, "IP Address:0:0:0:0:0:0:0:1");
			cn |= strstr(line, "Subject: CN = kurad") != NULL;
			ec |= strstr(line, "NIST CURVE: P-256") != NULL;
		}
		assert_int_equal(pclose(pipe), 0);
		assert_true(san && cn && ec);
	}
}

static void test_client_add_and_authenticate(void **state)
{
	fixture *f = *state;
	char *cred = path_in(f, "ward4.cred"), *p;
	const vault_client *c;
	kura_backend *b;
	json_t *doc;
	vault *v = NULL;
	char token[200], *text;

	assert_ok(vault_client_add(f->vault, "ward4", VAULT_ROLE_WRITER, "clinic", cred));
	assert_int_equal(mode_of(cred), 0600);
	doc = load_json(cred);
	assert_int_equal(json_integer_value(json_object_get(doc, "kura_vault_credential")), 1);
	assert_string_equal(json_string_value(json_object_get(doc, "vault")), "127.0.0.1:7443");
	assert_string_equal(json_string_value(json_object_get(doc, "repo")), "clinic");
	assert_string_equal(json_string_value(json_object_get(doc, "client")), "ward4");
	assert_string_equal(json_string_value(json_object_get(doc, "role")), "writer");
	assert_string_equal(json_string_value(json_object_get(doc, "pin")), f->pin);
	assert_int_equal(strlen(json_string_value(json_object_get(doc, "token"))), 43);
	strcpy(token, json_string_value(json_object_get(doc, "token")));
	json_decref(doc);

	/* The vault keeps the hash, never the token. */
	p = path_in(f, "v/clients/ward4.json");
	doc = load_json(p);
	assert_int_equal(json_object_size(doc), 5);
	text = json_dumps(doc, 0);
	assert_null(strstr(text, token));
	free(text);
	json_decref(doc);
	free(p);
	p = path_in(f, "v/meta/clinic");
	assert_int_equal(mode_of(p), 0700);
	free(p);

	assert_ok(vault_open(&v, f->vault));
	c = vault_authenticate(v, token);
	assert_non_null(c);
	assert_string_equal(c->name, "ward4");
	assert_int_equal(c->role, VAULT_ROLE_WRITER);
	assert_string_equal(c->repo, "clinic");
	token[10] ^= 1;
	assert_null(vault_authenticate(v, token));
	assert_null(vault_authenticate(v, ""));
	assert_null(vault_authenticate(v, NULL));
	memset(token, 'a', 199);
	token[199] = '\0';
	assert_null(vault_authenticate(v, token));

	assert_ok(vault_repo(v, "clinic", &b));
	assert_non_null(b);
	assert_int_equal(vault_repo(v, "other", &b), KURA_ENOTFOUND);
	assert_int_equal(vault_repo_initialised(v, "clinic"), 0);
	assert_int_equal(vault_repo_initialised(v, "other"), 1);
	assert_string_equal(vault_listen_addr(v), "127.0.0.1:7443");
	assert_non_null(strstr(vault_tls_cert(v), "BEGIN CERTIFICATE"));
	assert_non_null(strstr(vault_tls_key(v), "PRIVATE KEY"));
	assert_non_null(vault_get_audit(v));
	assert_int_equal(vault_set_listen(v, "nonsense"), KURA_EINVAL);
	assert_ok(vault_set_listen(v, "[::1]:8443"));
	assert_string_equal(vault_listen_addr(v), "[::1]:8443");
	vault_free(v);
	free(cred);
}

static void test_refusals(void **state)
{
	fixture *f = *state;
	char *cred = path_in(f, "a.cred"), *cred2 = path_in(f, "b.cred"), name[80];

	assert_ok(vault_client_add(f->vault, "ward4", VAULT_ROLE_WRITER, "clinic", cred));
	/* A taken name, and an existing output file. */
	assert_int_equal(vault_client_add(f->vault, "ward4", VAULT_ROLE_READER, "clinic", cred2),
			 KURA_EEXISTS);
	assert_int_equal(access(cred2, F_OK), -1);
	assert_int_equal(vault_client_add(f->vault, "ward5", VAULT_ROLE_WRITER, "clinic", cred),
			 KURA_EEXISTS);

	static const char *const bad[] = {"", "Ward4", "../x", "-x", ".x", "a/b", "a b", "é"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    vault_client_add(f->vault, bad[i], VAULT_ROLE_WRITER, "clinic", cred2),
		    KURA_EINVAL);
		assert_int_equal(vault_client_add(f->vault, "ok", VAULT_ROLE_WRITER, bad[i], cred2),
				 KURA_EINVAL);
	}
	memset(name, 'a', 64);
	name[64] = '\0';
	assert_int_equal(vault_client_add(f->vault, name, VAULT_ROLE_WRITER, "clinic", cred2),
			 KURA_EINVAL);
	name[63] = '\0';
	assert_ok(vault_client_add(f->vault, name, VAULT_ROLE_READER, "clinic", cred2));
	unlink(cred2);
	assert_int_equal(vault_client_add(f->vault, "r", VAULT_ROLE_READER, NULL, cred2),
			 KURA_EINVAL);
	assert_int_equal(vault_client_add(f->vault, "x", (vault_role)9, "clinic", cred2),
			 KURA_EINVAL);
	assert_int_equal(access(cred2, F_OK), -1);
	free(cred);
	free(cred2);
}

static void test_strict_client_records(void **state)
{
	fixture *f = *state;
	char *p = path_in(f, "v/clients/evil.json");
	vault *v = NULL;
	FILE *out;

	out = fopen(p, "w");
	assert_non_null(out);
	fputs("{\"name\":\"evil\",\"role\":\"admin\",\"repo\":\"clinic\",\"token_sha256\":"
	      "\"0000000000000000000000000000000000000000000000000000000000000000\","
	      "\"created\":\"now\"}\n",
	      out);
	fclose(out);
	assert_int_equal(vault_open(&v, f->vault), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "evil.json: unknown role 'admin'"));

	out = fopen(p, "w");
	fputs("{\"name\":\"other\",\"role\":\"writer\",\"repo\":\"clinic\",\"token_sha256\":"
	      "\"0000000000000000000000000000000000000000000000000000000000000000\","
	      "\"created\":\"now\"}\n",
	      out);
	fclose(out);
	assert_int_equal(vault_open(&v, f->vault), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "evil.json: bad client name 'other'"));
	free(p);
}

static void test_status(void **state)
{
	fixture *f = *state;
	char *cred = path_in(f, "a.cred"), *cred2 = path_in(f, "b.cred"), *text = NULL;
	vault *v = NULL, *ro = NULL;
	json_t *doc, *r;
	char name[65];

	assert_ok(vault_client_add(f->vault, "ward4", VAULT_ROLE_WRITER, "clinic", cred));
	assert_ok(vault_client_add(f->vault, "audit1", VAULT_ROLE_AUDITOR, NULL, cred2));
	assert_ok(vault_open(&v, f->vault));
	/* Status may run beside `serve`, which holds the audit log. */
	assert_ok(vault_open_readonly(&ro, f->vault));
	assert_null(vault_get_audit(ro));
	vault_free(ro);

	assert_ok(status_json(v, &text));
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	r = json_array_get(json_object_get(doc, "repositories"), 0);
	assert_string_equal(json_string_value(json_object_get(r, "name")), "clinic");
	assert_int_equal(json_integer_value(json_object_get(r, "snapshots")), 0);
	assert_true(json_is_null(json_object_get(r, "last_snapshot_received")));
	assert_int_equal(json_array_size(json_object_get(doc, "clients")), 2);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(doc, "clients"), 0), "role")),
			    "auditor");
	json_decref(doc);
	free(text);

	memset(name, 'a', 64);
	name[64] = '\0';
	assert_ok(vault_record_snapshot(v, "clinic", name, 1764106800123456789LL, "ward4"));
	assert_int_equal(vault_record_snapshot(v, "nope", name, 1, "ward4"), KURA_ENOTFOUND);
	assert_int_equal(vault_record_snapshot(v, "clinic", "../x", 1, "ward4"), KURA_EINVAL);
	assert_ok(status_json(v, &text));
	doc = json_loads(text, 0, NULL);
	r = json_array_get(json_object_get(doc, "repositories"), 0);
	assert_string_equal(json_string_value(json_object_get(r, "last_snapshot_received")),
			    "2025-11-25T21:40:00.123456789Z");
	json_decref(doc);
	free(text);
	vault_free(v);

	/* The served vault's log verifies (nothing appended: no entries). */
	assert_ok(audit_verify(f->vault, NULL));
	free(cred);
	free(cred2);
}

/*
 * A snapshot-times file of any size, with damaged lines, never fails the
 * status: lines that do not parse are skipped, and the newest receive time
 * is the largest one, wherever it is.
 */
static void test_status_big_times(void **state)
{
	fixture *f = *state;
	char cred[PATH_MAX], *text = NULL, *p;
	vault *v = NULL;
	json_t *doc, *r, *c;
	FILE *out;
	int i;

	snprintf(cred, sizeof(cred), "%s/w.cred", f->dir);
	assert_ok(vault_client_add(f->vault, "ward4", VAULT_ROLE_WRITER, "clinic", cred));
	assert_ok(vault_open(&v, f->vault));
	p = path_in(f, "v/meta/clinic/snapshot-times");
	out = fopen(p, "w");
	assert_non_null(out);
	for (i = 0; i < 25000; i++) /* about 2 MiB */
		fprintf(out, "%064x %lld ward4\n", i, 1764106800000000000LL + i);
	fputs("damaged\n\n", out);
	fprintf(out, "%064x 1764106900000000000 ward4\n", 1 << 30);
	fprintf(out, "%064x 1764106800000000000 ward4\n", (1 << 30) + 1);
	fprintf(out, "%064x 1 %s\n", 7,
		"a-name-far-longer-than-any-client-name-may-be-"
		"so-sscanf-stops-short-of-it");
	fprintf(out, "%064x 1764107000000000000 torn", 8); /* no newline: skipped */
	assert_int_equal(fclose(out), 0);
	free(p);

	assert_ok(status_json(v, &text));
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	r = json_array_get(json_object_get(doc, "repositories"), 0);
	assert_string_equal(json_string_value(json_object_get(r, "last_snapshot_received")),
			    "2025-11-25T21:41:40.000000000Z");
	c = json_array_get(json_object_get(doc, "clients"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "last_backup")),
			    "2025-11-25T21:41:40.000000000Z");
	json_decref(doc);
	free(text);
	vault_free(v);
}

/*
 * Each repository's locks are its own: a commit held in one does not stop
 * another's, nor its own snapshot record (taken inside the commit), and
 * garbage collection counts its turns so an unlocked pack check can tell
 * whether it must be made again.
 */
static void test_repo_locks(void **state)
{
	fixture *f = *state;
	char cred[PATH_MAX], name[65];
	vault *v = NULL;

	snprintf(cred, sizeof(cred), "%s/a.cred", f->dir);
	assert_ok(vault_client_add(f->vault, "wa", VAULT_ROLE_WRITER, "alpha", cred));
	snprintf(cred, sizeof(cred), "%s/b.cred", f->dir);
	assert_ok(vault_client_add(f->vault, "wb", VAULT_ROLE_WRITER, "beta", cred));
	assert_ok(vault_open(&v, f->vault));
	memset(name, 'b', 64);
	name[64] = '\0';

	assert_ok(vault_repo_commit_lock(v, "alpha"));
	assert_ok(vault_repo_lock_shared(v, "alpha"));
	assert_ok(vault_repo_commit_lock(v, "beta"));
	assert_ok(vault_record_snapshot(v, "beta", name, 5, "wb"));
	assert_ok(vault_record_snapshot(v, "alpha", name, 5, "wa"));
	vault_repo_commit_unlock(v, "beta");
	assert_ok(vault_repo_lock_exclusive(v, "beta"));
	vault_repo_unlock(v, "beta");
	vault_repo_unlock(v, "alpha");
	vault_repo_commit_unlock(v, "alpha");
	assert_int_equal(vault_repo_commit_lock(v, "nope"), KURA_ENOTFOUND);

	assert_int_equal(vault_repo_gc_generation(v, "alpha"), 0);
	assert_int_equal(vault_repo_gc_generation(v, "beta"), 1);
	assert_ok(vault_repo_lock_shared(v, "beta"));
	vault_repo_unlock(v, "beta");
	assert_int_equal(vault_repo_gc_generation(v, "beta"), 1);
	assert_ok(vault_repo_lock_exclusive(v, "beta"));
	vault_repo_unlock(v, "beta");
	assert_int_equal(vault_repo_gc_generation(v, "beta"), 2);
	assert_int_equal(vault_repo_gc_generation(v, "nope"), 0);
	vault_free(v);
}

/* The reserve: vault.json's "reserve" (bytes, never negative) and the check. */
static void test_reserve(void **state)
{
	fixture *f = *state;
	char *p = path_in(f, "v/vault.json"), *listen = NULL;
	uint64_t avail, want;
	int64_t reserve;
	bool ok;
	FILE *out;

	assert_ok(vault_settings_load(f->vault, &listen, &reserve));
	assert_int_equal(reserve, -1);
	free(listen);
	assert_ok(reserve_check(f->vault, -1, 0, &ok, &avail, &want));
	assert_true(want > 0 && want <= RESERVE_DEFAULT_MAX);
	assert_ok(reserve_check(f->vault, 0, 0, &ok, &avail, &want));
	assert_true(ok);
	assert_int_equal(want, 0);
	assert_ok(reserve_check(f->vault, 0, avail + 1, &ok, &avail, &want));
	assert_false(ok);
	assert_ok(reserve_check(f->vault, INT64_MAX, 0, &ok, &avail, &want));
	assert_false(ok);
	assert_int_equal(reserve_check("/nonexistent/kura", 0, 0, &ok, &avail, &want), KURA_EIO);

	out = fopen(p, "w");
	assert_non_null(out);
	fputs("{\"listen\": \"127.0.0.1:1\", \"version\": 1, \"reserve\": 1048576}", out);
	assert_int_equal(fclose(out), 0);
	assert_ok(vault_settings_load(f->vault, &listen, &reserve));
	assert_int_equal(reserve, 1048576);
	free(listen);
	out = fopen(p, "w");
	fputs("{\"listen\": \"127.0.0.1:1\", \"version\": 1, \"reserve\": -5}", out);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(vault_settings_load(f->vault, &listen, &reserve), KURA_ECORRUPT);
	assert_null(listen);
	out = fopen(p, "w");
	fputs("{\"listen\": \"127.0.0.1:1\", \"version\": 1, \"reserve\": \"1G\"}", out);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(vault_settings_load(f->vault, &listen, &reserve), KURA_ECORRUPT);
	free(p);
}

/*
 * A revocation that lands in the same file-system time tick as the
 * reload's last look still takes effect: the reload does not trust a
 * directory time that is that recent.  The tick is modelled by putting
 * the directory's time back to what the first look saw.
 */
static void test_reload_sees_revocation_in_same_tick(void **state)
{
	fixture *f = *state;
	char *cred = path_in(f, "ward4.cred"), *clients = path_in(f, "v/clients");
	struct timespec seen[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
	struct stat st;
	vault *v = NULL;
	char token[64];
	json_t *doc;

	assert_ok(vault_client_add(f->vault, "ward4", VAULT_ROLE_WRITER, "clinic", cred));
	doc = load_json(cred);
	snprintf(token, sizeof(token), "%s", json_string_value(json_object_get(doc, "token")));
	json_decref(doc);
	assert_ok(vault_open(&v, f->vault));
	assert_int_equal(utimensat(AT_FDCWD, clients, seen, 0), 0);
	assert_int_equal(stat(clients, &st), 0);
	assert_ok(vault_reload(v));
	assert_non_null(vault_authenticate(v, token));

	assert_ok(vault_client_revoke(f->vault, "ward4"));
	seen[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, clients, seen, 0), 0);
	assert_ok(vault_reload(v));
	assert_null(vault_authenticate(v, token));
	vault_free(v);
	free(clients);
	free(cred);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_init_layout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pin_matches_openssl, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_add_and_authenticate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strict_client_records, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_big_times, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_repo_locks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reserve, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload_sees_revocation_in_same_tick, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

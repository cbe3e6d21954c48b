/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_deletion.c - deletion only by policy, approval and delay
 * (server/approvers.c, deletion_*.c): approvers, requests, signatures, the quorum, the
 * delay, cancellation, execution with retention and keyless GC, and
 * hostile request and key files.
 *
 * Every test builds a vault with one repository "clinic" holding two
 * real snapshot files (encoded with a backup key) and five packs:
 *
 *	S1 lists P1 P2       S2 lists P2 P3
 *	P5 no snapshot lists it, stored before the request
 *	P4 no snapshot lists it, stored after the request
 *
 * A request for S1 with prune must remove S1, P1 and P5, nothing else.
 * The policy is quorum 2 of three approvers, delay 5 s, no retention;
 * times are passed explicitly (pack times set with utimensat), so no
 * test sleeps.
 */
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "approvers.h"
#include "common/buf.h"
#include "deletion_intake.h"
#include "deletion_run.h"
#include "deletion_sign.h"
#include "files.h"
#include "policy.h"
#include "status.h"
#include "vault_admin.h"
#include "vault_state.h"

#include "crypto/keyfile.h"
#include "format/snapshot.h"

#define S(x) ((int64_t)(x)*1000000000LL)
#define DELAY 5

typedef struct {
	char dir[64];	   /* the mkdtemp directory */
	char vault[96];	   /* dir/v */
	char keys[3][128]; /* approver key files: alice, bob, carol */
	vault *v;
	kura_backend *b;
	int64_t t;		    /* when the request is filed */
	char packs[6][KURA_ID_HEX]; /* [1]..[5] */
	char s1[KURA_ID_HEX], s2[KURA_ID_HEX];
} fixture;

static void set_policy(fixture *f, int64_t min_age_s, unsigned quorum)
{
	vault_policy p;

	policy_default(&p);
	p.min_age_s = min_age_s;
	p.keep_daily = p.keep_weekly = p.keep_monthly = 0;
	p.quorum = quorum;
	p.delay_s = DELAY;
	assert_ok(policy_save(f->vault, &p));
}

static void set_mtime(fixture *f, const char *pack, int64_t ns)
{
	struct timespec ts[2] = {{(time_t)(ns / S(1)), (long)(ns % S(1))},
				 {(time_t)(ns / S(1)), (long)(ns % S(1))}};
	char path[256];

	snprintf(path, sizeof(path), "%s/repos/clinic/data/%.2s/%s", f->vault, pack, pack);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void put_pack(fixture *f, int i, int64_t mtime)
{
	uint8_t data[100], hash[KURA_HASH_SIZE];

	memset(data, 0x40 + i, sizeof(data));
	kura_sha256(hash, data, sizeof(data));
	kura_hex(f->packs[i], hash, sizeof(hash));
	assert_ok(f->b->put(f->b, KURA_FILE_PACK, f->packs[i], data, sizeof(data)));
	set_mtime(f, f->packs[i], mtime);
}

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, KURA_HASH_SIZE);
}

/* A real snapshot listing packs a and b, stored and given a receive time. */
static void put_snapshot(fixture *f, const kura_keys *keys, int a, int b, int64_t received,
			 char out[KURA_ID_HEX])
{
	uint8_t packs[2][KURA_HASH_SIZE], name[KURA_HASH_SIZE], *data = NULL;
	char *paths[] = {"/srv"};
	kura_snapshot s;
	size_t len;

	memset(&s, 0, sizeof(s));
	assert_ok(kura_unhex(packs[0], f->packs[a], KURA_HASH_SIZE));
	assert_ok(kura_unhex(packs[1], f->packs[b], KURA_HASH_SIZE));
	qsort(packs, 2, KURA_HASH_SIZE, cmp_hash);
	s.time_ns = received;
	s.packs = packs;
	s.npacks = 2;
	s.hostname = "web1";
	s.username = "root";
	s.paths = paths;
	s.npaths = 1;
	s.program = "kura test";
	assert_ok(kura_snapshot_encode(&data, &len, name, keys, &s));
	kura_hex(out, name, KURA_HASH_SIZE);
	assert_ok(f->b->put(f->b, KURA_FILE_SNAPSHOT, out, data, len));
	assert_ok(vault_record_snapshot(f->v, "clinic", out, received, "w"));
	free(data);
}

static int setup(void **state)
{
	static const char *const names[3] = {"alice", "bob", "carol"};
	fixture *f = calloc(1, sizeof(*f));
	kura_keys restore, backup;
	struct timespec now;
	char *pin = NULL, cred[128], dir[sizeof(f->dir)];

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-deletion-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	/* From a copy: GCC cannot tell the members apart (-Wrestrict). */
	memcpy(dir, f->dir, sizeof(dir));
	snprintf(f->vault, sizeof(f->vault), "%s/v", dir);
	/* the approver keys' passphrase (approver_pass.h) */
	snprintf(cred, sizeof(cred), "%s/approver.pass", dir);
	{
		FILE *pf = fopen(cred, "w");

		assert_non_null(pf);
		fputs("correct horse battery staple approver\n", pf);
		fclose(pf);
		setenv("KURA_APPROVER_PASSWORD_FILE", cred, 1);
	}
	assert_ok(vault_init(f->vault, NULL, &pin));
	free(pin);
	snprintf(cred, sizeof(cred), "%s/w.cred", dir);
	assert_ok(vault_client_add(f->vault, "w", VAULT_ROLE_WRITER, "clinic", cred));
	for (int i = 0; i < 3; i++) {
		snprintf(f->keys[i], sizeof(f->keys[i]), "%s/%s.key", dir, names[i]);
		assert_ok(approvers_add(f->vault, names[i], f->keys[i], KURA_KDF_INTERACTIVE));
	}
	set_policy(f, 0, 2);
	assert_ok(vault_open(&f->v, f->vault));
	assert_ok(vault_repo(f->v, "clinic", &f->b));

	clock_gettime(CLOCK_REALTIME, &now);
	f->t = (int64_t)now.tv_sec * S(1) + now.tv_nsec;
	for (int i = 1; i <= 5; i++)
		put_pack(f, i, f->t - S(100));
	set_mtime(f, f->packs[4], f->t + S(1)); /* stored after the request */
	assert_ok(kura_keys_generate(&restore));
	kura_keys_to_backup(&backup, &restore);
	put_snapshot(f, &backup, 1, 2, f->t - S(3600), f->s1);
	put_snapshot(f, &backup, 2, 3, f->t - S(1800), f->s2);
	kura_keys_wipe(&restore);
	kura_keys_wipe(&backup);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	vault_free(f->v);
	if (test_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

static bool stored(fixture *f, kura_file_type type, const char *name)
{
	uint8_t none;

	return f->b->get_range(f->b, type, name, 0, 0, &none) == 0;
}

/* File "delete S1, prune" at f->t; returns its id. */
static unsigned long request_s1(fixture *f)
{
	json_t *out = NULL, *prot = NULL;
	unsigned long id;

	assert_ok(deletion_intake_file(f->v, "clinic", "w", (const char(*)[KURA_ID_HEX])f->s1, 1,
					 true, f->t, &out, &prot));
	assert_null(prot);
	assert_string_equal(json_string_value(json_object_get(out, "state")), "pending");
	assert_string_equal(json_string_value(json_object_get(out, "requested_by")), "w");
	assert_int_equal(json_integer_value(json_object_get(out, "approvals_valid")), 0);
	assert_true(json_is_null(json_object_get(out, "effective_ns")));
	id = (unsigned long)json_integer_value(json_object_get(out, "id"));
	json_decref(out);
	return id;
}

static void sign(fixture *f, unsigned long id, int who, bool cancel, int64_t when)
{
	char *summary = NULL;

	assert_ok(deletion_sign(f->vault, id, f->keys[who], cancel, when, &summary));
	assert_non_null(summary);
	free(summary);
}

/* The request `id` as listed (a new reference). */
static json_t *listed(fixture *f, unsigned long id)
{
	json_t *arr = NULL, *d, *found = NULL;
	size_t i;

	assert_ok(deletion_intake_list(f->v, NULL, &arr));
	json_array_foreach(arr, i, d) {
		if ((unsigned long)json_integer_value(json_object_get(d, "id")) == id)
			found = json_incref(d);
	}
	json_decref(arr);
	assert_non_null(found);
	return found;
}

static const char *state_of(fixture *f, unsigned long id)
{
	static char state[32];
	json_t *d = listed(f, id);

	snprintf(state, sizeof(state), "%s", json_string_value(json_object_get(d, "state")));
	json_decref(d);
	return state;
}

static void assert_nothing_removed(fixture *f)
{
	assert_true(stored(f, KURA_FILE_SNAPSHOT, f->s1));
	assert_true(stored(f, KURA_FILE_SNAPSHOT, f->s2));
	for (int i = 1; i <= 5; i++)
		assert_true(stored(f, KURA_FILE_PACK, f->packs[i]));
}

static char *audit_text(fixture *f)
{
	char *path = NULL, *text = NULL;
	size_t len;

	assert_true(asprintf(&path, "%s/audit/log.jsonl", f->vault) > 0);
	assert_ok(files_read(path, 1 << 24, &text, &len));
	free(path);
	return text;
}

/* ------------------------------------------------------------------ */

static void test_approver_key_file(void **state)
{
	fixture *f = *state;
	struct stat st;
	char *text = NULL, other[160];
	size_t len;

	assert_int_equal(stat(f->keys[0], &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_ok(files_read(f->keys[0], 65536, &text, &len));
	/* version 2: the secret sealed under the passphrase, never in the clear */
	assert_non_null(strstr(text, "\"kura_approver_key\": 2"));
	assert_non_null(strstr(text, "\"sealed_seed\""));
	assert_null(strstr(text, "\"secret_key\""));
	free(text);
	/* A taken name, an existing output file, a bad name. */
	snprintf(other, sizeof(other), "%s/other.key", f->dir);
	assert_int_equal(approvers_add(f->vault, "alice", other, KURA_KDF_INTERACTIVE), KURA_EEXISTS);
	assert_int_equal(access(other, F_OK), -1);
	assert_int_equal(approvers_add(f->vault, "dave", f->keys[0], KURA_KDF_INTERACTIVE), KURA_EEXISTS);
	assert_int_equal(access(f->keys[0], F_OK), 0);
	assert_int_equal(approvers_add(f->vault, "../x", other, KURA_KDF_INTERACTIVE), KURA_EINVAL);
}

static void test_no_quorum_does_nothing(void **state)
{
	fixture *f = *state;
	unsigned long id = request_s1(f);

	sign(f, id, 0, false, f->t + S(1));
	assert_ok(deletion_run(f->v, f->t + S(2)));
	assert_ok(deletion_run(f->v, f->t + S(1000)));
	assert_string_equal(state_of(f, id), "pending");
	assert_nothing_removed(f);
}

static void test_quorum_waits_for_delay(void **state)
{
	fixture *f = *state;
	unsigned long id = request_s1(f);
	json_t *d;

	sign(f, id, 0, false, f->t + S(1));
	sign(f, id, 1, false, f->t + S(2));
	d = listed(f, id);
	assert_int_equal(json_integer_value(json_object_get(d, "approvals_valid")), 2);
	assert_true(json_integer_value(json_object_get(d, "effective_ns")) == f->t + S(2 + DELAY));
	json_decref(d);
	/* The tick sees the quorum at t+3: the delay runs from there. */
	assert_ok(deletion_run(f->v, f->t + S(3)));
	assert_ok(deletion_run(f->v, f->t + S(3 + DELAY) - 1));
	assert_string_equal(state_of(f, id), "pending");
	assert_nothing_removed(f);
	assert_ok(deletion_run(f->v, f->t + S(3 + DELAY)));
	assert_string_equal(state_of(f, id), "done");
}

static void test_cancelled_does_nothing(void **state)
{
	fixture *f = *state;
	unsigned long id = request_s1(f);
	char *summary = NULL;
	json_t *d;

	sign(f, id, 0, false, f->t + S(1));
	sign(f, id, 1, false, f->t + S(2));
	assert_ok(deletion_run(f->v, f->t + S(3)));
	sign(f, id, 2, true, f->t + S(4));
	assert_ok(deletion_run(f->v, f->t + S(1000)));
	assert_string_equal(state_of(f, id), "cancelled");
	assert_nothing_removed(f);
	d = listed(f, id);
	assert_true(json_is_true(json_object_get(json_object_get(d, "cancellation"), "valid")));
	json_decref(d);
	/* Not pending any more: neither approve nor cancel. */
	assert_int_equal(deletion_sign(f->vault, id, f->keys[2], false, f->t, &summary),
			 KURA_EINVAL);
	assert_int_equal(deletion_sign(f->vault, id, f->keys[0], true, f->t, &summary),
			 KURA_EINVAL);
	assert_null(summary);
}

static void test_quorum_and_delay_remove_exactly(void **state)
{
	fixture *f = *state;
	unsigned long id = request_s1(f);
	json_t *d, *res;
	char *log, needle[200];

	sign(f, id, 2, false, f->t + S(1));
	sign(f, id, 0, false, f->t + S(2));
	assert_ok(deletion_run(f->v, f->t + S(2)));
	assert_ok(deletion_run(f->v, f->t + S(2 + DELAY)));

	assert_false(stored(f, KURA_FILE_SNAPSHOT, f->s1));
	assert_true(stored(f, KURA_FILE_SNAPSHOT, f->s2));
	assert_false(stored(f, KURA_FILE_PACK, f->packs[1])); /* only S1 listed it */
	assert_true(stored(f, KURA_FILE_PACK, f->packs[2]));  /* S2 lists it too */
	assert_true(stored(f, KURA_FILE_PACK, f->packs[3]));  /* S2's */
	assert_true(stored(f, KURA_FILE_PACK, f->packs[4]));  /* stored after the request */
	assert_false(stored(f, KURA_FILE_PACK, f->packs[5])); /* an old orphan */

	d = listed(f, id);
	assert_string_equal(json_string_value(json_object_get(d, "state")), "done");
	assert_true(json_integer_value(json_object_get(d, "done_ns")) == f->t + S(2 + DELAY));
	res = json_object_get(d, "result");
	assert_int_equal(json_array_size(json_object_get(res, "snapshots_removed")), 1);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(res, "snapshots_removed"), 0)), f->s1);
	assert_int_equal(json_array_size(json_object_get(res, "snapshots_kept")), 0);
	assert_int_equal(json_integer_value(json_object_get(res, "packs_removed")), 2);
	assert_int_equal(json_integer_value(json_object_get(res, "packs_kept_recent")), 1);
	assert_true(json_is_null(json_object_get(res, "prune_error")));
	json_decref(d);

	/* Everything is in the audit log: approvals, then each removal. */
	log = audit_text(f);
	snprintf(needle, sizeof(needle),
		 "\"peer\":\"local\",\"client\":\"carol\",\"role\":\"approver\",\"method\":"
		 "\"APPROVE\",\"path\":\"/v1/deletions/%lu\",\"status\":200",
		 id);
	assert_non_null(strstr(log, needle));
	snprintf(needle, sizeof(needle),
		 "\"client\":\"kurad\",\"role\":\"vault\",\"method\":"
		 "\"DELETE\",\"path\":\"/v1/repos/clinic/snapshots/%s\",\"status\":200",
		 f->s1);
	assert_non_null(strstr(log, needle));
	for (int i = 1; i <= 5; i++) {
		snprintf(needle, sizeof(needle), "/v1/repos/clinic/data/%s", f->packs[i]);
		assert_int_equal(strstr(log, needle) != NULL, i == 1 || i == 5);
	}
	free(log);

	/* A done request stays done; the next ticks change nothing. */
	assert_ok(deletion_run(f->v, f->t + S(100)));
	assert_true(stored(f, KURA_FILE_SNAPSHOT, f->s2));
}

static void test_tampered_request_voids_approvals(void **state)
{
	fixture *f = *state;
	unsigned long id = request_s1(f);
	char path[160], *text = NULL, *at;
	size_t len;
	json_t *d;

	sign(f, id, 0, false, f->t + S(1));
	sign(f, id, 1, false, f->t + S(2));
	/* Someone with write access to the vault directory swaps S1 for S2. */
	snprintf(path, sizeof(path), "%s/deletions/%lu.json", f->vault, id);
	assert_ok(files_read(path, 1 << 20, &text, &len));
	assert_non_null(at = strstr(text, f->s1));
	memcpy(at, f->s2, KURA_ID_HEX - 1);
	assert_int_equal(unlink(path), 0);
	assert_ok(files_write_new(path, text, len, 0600));
	free(text);

	d = listed(f, id);
	assert_int_equal(json_integer_value(json_object_get(d, "approvals_valid")), 0);
	assert_true(json_is_null(json_object_get(d, "effective_ns")));
	json_decref(d);
	assert_ok(deletion_run(f->v, f->t + S(3)));
	assert_ok(deletion_run(f->v, f->t + S(1000)));
	assert_string_equal(state_of(f, id), "pending");
	assert_nothing_removed(f);
	/* The forged approvals are logged as refused. */
	text = audit_text(f);
	assert_non_null(strstr(text, "\"method\":\"APPROVE\",\"path\":\"/v1/deletions/1\","
				     "\"status\":403"));
	free(text);
}

static void test_replaced_key_voids_approval(void **state)
{
	fixture *f = *state;
	unsigned long id = request_s1(f);
	char path[160], other[160];
	json_t *d;

	sign(f, id, 0, false, f->t + S(1));
	sign(f, id, 1, false, f->t + S(2));
	assert_ok(deletion_run(f->v, f->t + S(3)));
	/* bob's registered key is replaced: his approval no longer counts. */
	snprintf(path, sizeof(path), "%s/approvers/bob.json", f->vault);
	snprintf(other, sizeof(other), "%s/bob2.key", f->dir);
	assert_int_equal(unlink(path), 0);
	assert_ok(approvers_add(f->vault, "bob", other, KURA_KDF_INTERACTIVE));
	d = listed(f, id);
	assert_int_equal(json_integer_value(json_object_get(d, "approvals_valid")), 1);
	json_decref(d);
	assert_ok(deletion_run(f->v, f->t + S(1000)));
	assert_string_equal(state_of(f, id), "pending");
	assert_nothing_removed(f);
}

static void test_foreign_keys_refused(void **state)
{
	fixture *f = *state;
	unsigned long id = request_s1(f);
	char vault2[128], key2[128], *pin = NULL, *summary = NULL, *text = NULL, *at;
	char mine[VAULT_SIGNING_KEY_B64], theirs[VAULT_SIGNING_KEY_B64];
	size_t len;

	/* An approver "alice" of another vault. */
	snprintf(vault2, sizeof(vault2), "%s/v2", f->dir);
	snprintf(key2, sizeof(key2), "%s/alice2.key", f->dir);
	assert_ok(vault_init(vault2, NULL, &pin));
	free(pin);
	assert_ok(approvers_add(vault2, "alice", key2, KURA_KDF_INTERACTIVE));
	assert_int_equal(deletion_sign(f->vault, id, key2, false, f->t, &summary),
			 KURA_EDENIED);
	assert_non_null(strstr(kura_error_message(), "another vault"));
	/* The same key relabelled for this vault: not the registered key. */
	assert_ok(vault_signing_key_b64(f->vault, mine));
	assert_ok(vault_signing_key_b64(vault2, theirs));
	assert_ok(files_read(key2, 65536, &text, &len));
	assert_non_null(at = strstr(text, theirs));
	memcpy(at, mine, strlen(mine));
	assert_int_equal(unlink(key2), 0);
	assert_ok(files_write_new(key2, text, len, 0600));
	free(text);
	assert_int_equal(deletion_sign(f->vault, id, key2, false, f->t, &summary),
			 KURA_EDENIED);
	assert_non_null(strstr(kura_error_message(), "not the key registered"));
	/* Not a key file at all; a key file that is missing. */
	assert_int_equal(deletion_sign(f->vault, id, f->vault, false, f->t, &summary) < 0, 1);
	snprintf(key2, sizeof(key2), "%s/deletions/%lu.json", f->vault, id);
	assert_int_equal(deletion_sign(f->vault, id, key2, false, f->t, &summary),
			 KURA_EINVAL);
	assert_null(summary);
	assert_string_equal(state_of(f, id), "pending");
}

static void test_double_approval_refused(void **state)
{
	fixture *f = *state;
	unsigned long id = request_s1(f);
	char *summary = NULL;
	json_t *d;

	sign(f, id, 0, false, f->t + S(1));
	assert_int_equal(
	    deletion_sign(f->vault, id, f->keys[0], false, f->t + S(2), &summary),
	    KURA_EEXISTS);
	assert_null(summary);
	d = listed(f, id);
	assert_int_equal(json_array_size(json_object_get(d, "approvals")), 1);
	json_decref(d);
	/* Unknown request ids. */
	assert_int_equal(deletion_sign(f->vault, 99, f->keys[0], false, f->t, &summary),
			 KURA_ENOTFOUND);
	assert_int_equal(deletion_sign(f->vault, 0, f->keys[0], false, f->t, &summary),
			 KURA_EINVAL);
}

static void test_retention_refuses_request(void **state)
{
	fixture *f = *state;
	char names[2][KURA_ID_HEX];
	json_t *out = NULL, *prot = NULL;

	set_policy(f, 2 * 3600, 2); /* S1 (1 h old) and S2 (30 min) are too young */
	memcpy(names[0], f->s2, KURA_ID_HEX);
	memcpy(names[1], f->s1, KURA_ID_HEX);
	assert_int_equal(deletion_intake_file(f->v, "clinic", "w",
						(const char(*)[KURA_ID_HEX])names, 2, false, f->t,
						&out, &prot),
			 KURA_EDENIED);
	assert_null(out);
	assert_int_equal(json_array_size(prot), 2);
	assert_non_null(json_string_value(json_object_get(json_array_get(prot, 0), "reason")));
	json_decref(prot);
	prot = NULL;
	/* Old enough now: accepted. */
	assert_ok(deletion_intake_file(f->v, "clinic", "w", (const char(*)[KURA_ID_HEX])names, 2,
					 false, f->t + S(2 * 3600), &out, &prot));
	json_decref(out);
}

static void test_retention_keeps_at_execution(void **state)
{
	fixture *f = *state;
	unsigned long id = request_s1(f);
	json_t *d, *kept;

	sign(f, id, 0, false, f->t + S(1));
	sign(f, id, 1, false, f->t + S(2));
	assert_ok(deletion_run(f->v, f->t + S(2)));
	set_policy(f, 30 * 86400, 2); /* the policy changed meanwhile */
	assert_ok(deletion_run(f->v, f->t + S(2 + DELAY)));
	assert_true(stored(f, KURA_FILE_SNAPSHOT, f->s1));
	assert_true(stored(f, KURA_FILE_PACK, f->packs[1])); /* S1 still lists it */
	assert_false(stored(f, KURA_FILE_PACK, f->packs[5]));
	d = listed(f, id);
	assert_string_equal(json_string_value(json_object_get(d, "state")), "done");
	kept = json_object_get(json_object_get(d, "result"), "snapshots_kept");
	assert_int_equal(json_array_size(kept), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(kept, 0), "snapshot")),
			    f->s1);
	print_message("kept: %s\n",
		      json_string_value(json_object_get(json_array_get(kept, 0), "reason")));
	json_decref(d);
}

static void test_unreadable_snapshot_stops_prune(void **state)
{
	fixture *f = *state;
	static const char junk[] = "not a snapshot";
	uint8_t hash[KURA_HASH_SIZE];
	char name[KURA_ID_HEX];
	unsigned long id;
	json_t *d, *res;

	kura_sha256(hash, junk, strlen(junk));
	kura_hex(name, hash, sizeof(hash));
	assert_ok(f->b->put(f->b, KURA_FILE_SNAPSHOT, name, junk, strlen(junk)));
	id = request_s1(f);
	sign(f, id, 0, false, f->t + S(1));
	sign(f, id, 1, false, f->t + S(2));
	assert_ok(deletion_run(f->v, f->t + S(2)));
	assert_ok(deletion_run(f->v, f->t + S(2 + DELAY)));
	assert_false(stored(f, KURA_FILE_SNAPSHOT, f->s1)); /* the snapshot part is done */
	for (int i = 1; i <= 5; i++)
		assert_true(stored(f, KURA_FILE_PACK, f->packs[i]));
	d = listed(f, id);
	res = json_object_get(d, "result");
	assert_non_null(json_string_value(json_object_get(res, "prune_error")));
	assert_int_equal(json_integer_value(json_object_get(res, "packs_removed")), 0);
	json_decref(d);
}

static void test_bad_requests(void **state)
{
	fixture *f = *state;
	char names[2][KURA_ID_HEX];
	json_t *out = NULL, *prot = NULL;

	/* nothing requested */
	assert_int_equal(
	    deletion_intake_file(f->v, "clinic", "w", NULL, 0, false, f->t, &out, &prot),
	    KURA_EINVAL);
	/* named twice */
	memcpy(names[0], f->s1, KURA_ID_HEX);
	memcpy(names[1], f->s1, KURA_ID_HEX);
	assert_int_equal(deletion_intake_file(f->v, "clinic", "w",
						(const char(*)[KURA_ID_HEX])names, 2, false, f->t,
						&out, &prot),
			 KURA_EINVAL);
	/* not a name */
	memcpy(names[1], f->s2, KURA_ID_HEX);
	names[1][3] = 'X';
	assert_int_equal(deletion_intake_file(f->v, "clinic", "w",
						(const char(*)[KURA_ID_HEX])names, 2, false, f->t,
						&out, &prot),
			 KURA_EINVAL);
	/* not stored (a pack's name) */
	memcpy(names[1], f->packs[1], KURA_ID_HEX);
	assert_int_equal(deletion_intake_file(f->v, "clinic", "w",
						(const char(*)[KURA_ID_HEX])names, 2, false, f->t,
						&out, &prot),
			 KURA_ENOTFOUND);
	assert_non_null(strstr(kura_error_message(), f->packs[1]));
	/* unknown repository */
	assert_int_equal(
	    deletion_intake_file(f->v, "other", "w", NULL, 0, true, f->t, &out, &prot),
	    KURA_ENOTFOUND);
	assert_null(out);
	assert_null(prot);
	/* too many pending */
	for (int i = 0; i < VAULT_PENDING_MAX; i++) {
		assert_ok(
		    deletion_intake_file(f->v, "clinic", "w", NULL, 0, true, f->t, &out, &prot));
		json_decref(out);
	}
	assert_int_equal(
	    deletion_intake_file(f->v, "clinic", "w", NULL, 0, true, f->t, &out, &prot),
	    KURA_EEXISTS);
}

static void test_hostile_request_files(void **state)
{
	fixture *f = *state;
	static const char *const bodies[] = {
	    "", "{", "[]", "{\"id\": 2}", "\x01\x02\x03",
	};
	unsigned long id = request_s1(f);
	char path[160], *text = NULL;
	size_t len;
	json_t *arr = NULL, *d;

	sign(f, id, 0, false, f->t + S(1));
	sign(f, id, 1, false, f->t + S(2));
	snprintf(path, sizeof(path), "%s/deletions/%lu.json", f->vault, id);
	assert_ok(files_read(path, 1 << 20, &text, &len));
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]) + 3; i++) {
		char *edited = NULL;

		if (i < sizeof(bodies) / sizeof(bodies[0]))
			edited = strdup(bodies[i]);
		else if (i == sizeof(bodies) / sizeof(bodies[0]))
			/* a member added */
			assert_true(asprintf(&edited, "{\"extra\": 1,%s", text + 1) > 0);
		else if (i == sizeof(bodies) / sizeof(bodies[0]) + 1) {
			/* "done" without done_ns and result: the state contradicts the rest */
			assert_non_null(edited = strdup(text));
			memcpy(strstr(edited, "\"pending\""), "\"done\"   ", 9);
		} else
			/* a duplicate member */
			assert_true(asprintf(&edited, "{\"state\": \"done\",%s", text + 1) > 0);
		assert_int_equal(unlink(path), 0);
		assert_ok(files_write_new(path, edited, strlen(edited), 0600));
		free(edited);
		assert_ok(deletion_intake_list(f->v, NULL, &arr));
		d = json_array_get(arr, 0);
		assert_string_equal(json_string_value(json_object_get(d, "state")), "corrupt");
		json_decref(arr);
		assert_int_equal(deletion_run(f->v, f->t + S(1000)), KURA_ECORRUPT);
		assert_nothing_removed(f);
	}
	/* A symlink where a request should be is not followed. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(deletion_run(f->v, f->t + S(1000)), KURA_ECORRUPT);
	/* A new request still gets a fresh id. */
	assert_int_equal(request_s1(f), id + 1);
	free(text);
}

static void test_status_lists_deletions(void **state)
{
	fixture *f = *state;
	char *text = NULL;
	json_t *doc, *c;

	request_s1(f);
	assert_ok(status_json(f->v, &text));
	assert_non_null(doc = json_loads(text, 0, NULL));
	assert_int_equal(json_array_size(json_object_get(doc, "deletions")), 1);
	c = json_array_get(json_object_get(doc, "clients"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "name")), "w");
	assert_non_null(json_string_value(json_object_get(c, "last_backup")));
	json_decref(doc);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_approver_key_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_quorum_does_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quorum_waits_for_delay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancelled_does_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quorum_and_delay_remove_exactly, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tampered_request_voids_approvals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replaced_key_voids_approval, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_keys_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_double_approval_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retention_refuses_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retention_keeps_at_execution, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unreadable_snapshot_stops_prune, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_request_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_lists_deletions, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

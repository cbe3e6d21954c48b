/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_prune.c - the library's one prune (lib/repo/prune.c), the local
 * backend's repository lock (lib/backend/repolock.c) and the check a
 * backup makes before its snapshot (kura_gc__packs_stored), on a
 * repository with two real snapshots of distinct data: the plan is removed
 * exactly, a dry run removes nothing, the cutoff keeps young packs, the
 * callback vetoes one pack or stops the prune, a pack that cannot be
 * removed is skipped and the others still go, a backup's shared lock makes
 * a prune refuse (or wait, then refuse) and remove nothing.
 */
#include "testutil.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kura/backend.h"
#include "kura/keyless.h"
#include "common/error.h"
#include "repo/repo.h"

#define PASSPHRASE "correct horse battery staple vertically integrated marmalade"
#define NSNAPS 2

typedef struct {
	char dir[64];
	char repo[96];
	kura_repo *r;
	kura_backend *b;
	char snaps[NSNAPS][KURA_ID_HEX];
	kura_pack_list plan; /* what forgetting snapshot 0 leaves unreferenced */
} fixture;

/* The repository every test starts from, built once: backups fsync, copies need not. */
static char template_dir[64];

static int group_setup(void **state)
{
	char repo[96], cache[96], src[160], file[192];
	kura_init_options io;
	kura_backup_result br;
	kura_repo *r = NULL;

	strcpy(template_dir, "/tmp/kura-test-prune-XXXXXX");
	if (!mkdtemp(template_dir))
		return -1;
	snprintf(repo, sizeof(repo), "%s/repo", template_dir);
	snprintf(cache, sizeof(cache), "%s/cache", template_dir);
	kura_init_options_default(&io);
	io.kdf_profile = KURA_KDF_INTERACTIVE;
	io.pack_size = 1 << 20; /* several packs per snapshot */
	if (kura_repo_init(&r, repo, PASSPHRASE, &io) < 0)
		return -1;
	for (int i = 0; i < NSNAPS; i++) {
		snprintf(src, sizeof(src), "%s/src%d", template_dir, i);
		if (mkdir(src, 0700) < 0)
			return -1;
		snprintf(file, sizeof(file), "%s/data.bin", src);
		test_write_random(file, 2200000 + 1000u * (unsigned)i, 20 + (unsigned)i);
		if (test_backup_dir(r, src, cache, &br) < 0) {
			print_error("backup: %s\n", kura_error_message());
			return -1;
		}
		/* the snapshot ids, in order, for every test */
		snprintf(file, sizeof(file), "%s/snap%d", template_dir, i);
		FILE *fp = fopen(file, "w");
		if (!fp || fputs(br.snapshot_id, fp) < 0 || fclose(fp) != 0)
			return -1;
	}
	kura_repo_free(r);
	return 0;
}

static int group_teardown(void **state)
{
	return test_remove_tree(template_dir);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char cmd[256], file[128];

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kura-test-prune-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	snprintf(cmd, sizeof(cmd), "cp -a '%s/repo' '%s'", template_dir, f->repo);
	if (system(cmd) != 0 || kura_repo_open_passphrase(&f->r, f->repo, PASSPHRASE) < 0)
		return -1;
	f->b = kura_repo_backend(f->r);
	for (int i = 0; i < NSNAPS; i++) {
		FILE *fp;

		snprintf(file, sizeof(file), "%s/snap%d", template_dir, i);
		if (!(fp = fopen(file, "r")) || !fgets(f->snaps[i], KURA_ID_HEX, fp))
			return -1;
		fclose(fp);
	}
	/* forget snapshot 0: its packs are the plan */
	if (kura_backend_remove(f->b, KURA_FILE_SNAPSHOT, f->snaps[0]) < 0 ||
	    kura_gc_unreferenced(f->b, NULL, 0, &f->plan) < 0 || f->plan.count < 2)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	kura_pack_list_free(&f->plan);
	kura_repo_free(f->r);
	if (test_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

static bool pack_stored(const fixture *f, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/data/%.2s/%s", f->repo, name, name);
	return access(path, F_OK) == 0;
}

static size_t packs_stored(const fixture *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->plan.count; i++)
		n += pack_stored(f, f->plan.names[i]);
	return n;
}

/* The pack list of stored snapshot `id`, from its plaintext header (FORMAT.md). */
static int snapshot_packs(fixture *f, const char *id, uint8_t (**out)[KURA_HASH_SIZE],
			  size_t *out_n)
{
	uint8_t *data = NULL;
	size_t len, n;

	assert_ok(f->b->get(f->b, KURA_FILE_SNAPSHOT, id, &data, &len));
	assert_true(len >= 24);
	n = (size_t)data[20] | (size_t)data[21] << 8 | (size_t)data[22] << 16 |
	    (size_t)data[23] << 24;
	assert_true(n >= 1 && len >= 24 + 32 * n);
	*out = malloc(n * KURA_HASH_SIZE);
	assert_non_null(*out);
	memcpy(*out, data + 24, n * KURA_HASH_SIZE);
	*out_n = n;
	free(data);
	return 0;
}

/* What the callback saw, and what it should answer. */
typedef struct {
	unsigned events[KURA_PRUNE_FAILED + 1];
	const char *veto;		      /* keep this pack */
	const char *sabotage, *sabotage_path; /* make this pack unremovable when asked */
	size_t stop_after;   /* stop at the REMOVING after this many removals (0: never) */
	bool stop_on_failed; /* as the vault does when it cannot log a failed removal */
	char failed[KURA_ID_HEX];
	char message[512];
} recorder;

static int record(const kura_prune_event *ev, void *ctx)
{
	recorder *r = ctx;

	r->events[ev->type]++;
	if (ev->type == KURA_PRUNE_FAILED) {
		snprintf(r->failed, sizeof(r->failed), "%s", ev->name);
		snprintf(r->message, sizeof(r->message), "%s", ev->message);
		assert_true(ev->error < 0);
		if (r->stop_on_failed)
			return kura_error_set(KURA_EIO, "cannot log the failed removal");
	}
	if (ev->type != KURA_PRUNE_REMOVING)
		return ev->type == KURA_PRUNE_REMOVED; /* >0 means nothing here */
	assert_true(ev->done >= 1 && ev->done <= ev->total);
	if (r->veto && strcmp(ev->name, r->veto) == 0)
		return 1;
	if (r->sabotage && strcmp(ev->name, r->sabotage) == 0) {
		/* a directory where the pack was: unlink() fails with EISDIR */
		assert_int_equal(unlink(r->sabotage_path), 0);
		assert_int_equal(mkdir(r->sabotage_path, 0700), 0);
	}
	if (r->stop_after && r->events[KURA_PRUNE_REMOVED] == r->stop_after)
		return kura_error_set(KURA_ECANCELED, "the audit log is full");
	return 0;
}

static kura_prune_options options(recorder *rec)
{
	kura_prune_options o = KURA_PRUNE_OPTIONS_INIT;

	o.cutoff_ns = INT64_MAX; /* every pack is old enough */
	o.fn = record;
	o.ctx = rec;
	return o;
}

/* The plan is removed, exactly: snapshot 1 still has every pack. */
static void test_removes_the_plan(void **state)
{
	fixture *f = *state;
	recorder rec = {0};
	kura_prune_options o = options(&rec);
	kura_prune_result res;
	uint8_t(*packs)[KURA_HASH_SIZE] = NULL;
	size_t n;

	assert_ok(kura_prune(f->b, &o, &res));
	assert_int_equal(res.unreferenced, f->plan.count);
	assert_int_equal(res.removed, f->plan.count);
	assert_int_equal(res.removed_bytes, res.unreferenced_bytes);
	assert_int_equal(res.failed + res.kept + res.young + res.gone, 0);
	assert_int_equal(rec.events[KURA_PRUNE_REMOVED], f->plan.count);
	assert_int_equal(rec.events[KURA_PRUNE_WAITING], 0);
	assert_int_equal(packs_stored(f), 0);
	/* what is left is what snapshot 1 needs, and all of it is there */
	assert_ok(snapshot_packs(f, f->snaps[1], &packs, &n));
	assert_ok(kura_gc__packs_stored(f->b, (const uint8_t(*)[KURA_HASH_SIZE])packs, n));
	free(packs);
	/* a second prune finds nothing */
	assert_ok(kura_prune(f->b, &o, &res));
	assert_int_equal(res.unreferenced, 0);
}

/* A dry run decides the same, removes nothing, and takes no lock. */
static void test_dry_run(void **state)
{
	fixture *f = *state;
	recorder rec = {0};
	kura_prune_options o = options(&rec);
	kura_prune_result res;
	kura_backend_lock *backup;

	assert_ok(f->b->lock(f->b, KURA_LOCK_SHARED, 0, &backup));
	o.dry_run = 1;
	assert_ok(kura_prune(f->b, &o, &res));
	assert_int_equal(res.removed, f->plan.count);
	assert_int_equal(packs_stored(f), f->plan.count);
	f->b->unlock(f->b, backup);
}

/* Packs written at or after the cutoff are kept. */
static void test_cutoff_keeps_young(void **state)
{
	fixture *f = *state;
	recorder rec = {0};
	kura_prune_options o = options(&rec);
	kura_prune_result res;

	o.cutoff_ns = 0;
	assert_ok(kura_prune(f->b, &o, &res));
	assert_int_equal(res.young, f->plan.count);
	assert_int_equal(res.removed, 0);
	assert_int_equal(rec.events[KURA_PRUNE_YOUNG], f->plan.count);
	assert_int_equal(packs_stored(f), f->plan.count);
}

/* The callback keeps one pack; then it stops the prune after one removal. */
static void test_callback_veto_and_stop(void **state)
{
	fixture *f = *state;
	recorder rec = {.veto = f->plan.names[0]};
	kura_prune_options o = options(&rec);
	kura_prune_result res;

	assert_ok(kura_prune(f->b, &o, &res));
	assert_int_equal(res.kept, 1);
	assert_int_equal(res.removed, f->plan.count - 1);
	assert_true(pack_stored(f, f->plan.names[0]));
	assert_int_equal(packs_stored(f), 1);

	/* stop: a negative answer ends the prune with that code and message */
	assert_ok(teardown(state));
	assert_ok(setup(state));
	f = *state;
	memset(&rec, 0, sizeof(rec));
	rec.stop_after = 1;
	o = options(&rec);
	assert_int_equal(kura_prune(f->b, &o, &res), KURA_ECANCELED);
	assert_string_equal(kura_error_message(), "the audit log is full");
	assert_int_equal(res.removed, 1);
	assert_int_equal(packs_stored(f), f->plan.count - 1);
}

/* A pack that cannot be removed is skipped and named; the others go. */
static void test_failure_skips_one(void **state)
{
	fixture *f = *state;
	char path[256];
	const char *bad = f->plan.names[1];
	recorder rec = {.sabotage = bad, .sabotage_path = path};
	kura_prune_options o = options(&rec);
	kura_prune_result res;

	/* the callback breaks the pack just before its removal */
	snprintf(path, sizeof(path), "%s/data/%.2s/%s", f->repo, bad, bad);
	assert_ok(kura_prune(f->b, &o, &res));
	assert_int_equal(res.failed, 1);
	assert_int_equal(res.removed, f->plan.count - 1);
	assert_int_equal(rec.events[KURA_PRUNE_FAILED], 1);
	assert_string_equal(rec.failed, bad);
	assert_non_null(strstr(rec.message, bad));
	assert_true(pack_stored(f, bad));
	assert_int_equal(packs_stored(f), 1);
}

/* A callback that fails on a failed removal stops the prune there. */
static void test_stop_on_failed(void **state)
{
	fixture *f = *state;
	char path[256];
	const char *bad = f->plan.names[1];
	recorder rec = {.sabotage = bad, .sabotage_path = path, .stop_on_failed = true};
	kura_prune_options o = options(&rec);
	kura_prune_result res;

	snprintf(path, sizeof(path), "%s/data/%.2s/%s", f->repo, bad, bad);
	assert_int_equal(kura_prune(f->b, &o, &res), KURA_EIO);
	assert_string_equal(kura_error_message(), "cannot log the failed removal");
	assert_int_equal(res.removed, 1); /* the plan is sorted: only names[0] went */
	assert_int_equal(res.failed, 1);
	assert_false(pack_stored(f, f->plan.names[0]));
	for (size_t i = 2; i < f->plan.count; i++)
		assert_true(pack_stored(f, f->plan.names[i]));
}

/* A backup's shared lock: a prune refuses at once, or waits, then refuses. */
static void test_lock_refuses_prune(void **state)
{
	fixture *f = *state;
	recorder rec = {0};
	kura_prune_options o = options(&rec);
	kura_prune_result res;
	kura_backend_lock *b1, *b2, *p;

	/* backups share; a prune is alone */
	assert_ok(f->b->lock(f->b, KURA_LOCK_SHARED, 0, &b1));
	assert_ok(f->b->lock(f->b, KURA_LOCK_SHARED, 0, &b2));
	assert_int_equal(f->b->lock(f->b, KURA_LOCK_EXCLUSIVE, 0, &p), KURA_EBUSY);
	assert_null(p);
	assert_non_null(strstr(kura_error_message(), "a backup holds the repository"));

	assert_int_equal(kura_prune(f->b, &o, &res), KURA_EBUSY);
	assert_non_null(strstr(kura_error_message(), "nothing was removed"));
	assert_int_equal(rec.events[KURA_PRUNE_WAITING], 0);
	o.lock_wait_ms = 50;
	assert_int_equal(kura_prune(f->b, &o, &res), KURA_EBUSY);
	assert_int_equal(rec.events[KURA_PRUNE_WAITING], 1);
	assert_int_equal(res.unreferenced + res.removed, 0);
	assert_int_equal(packs_stored(f), f->plan.count);

	/* the backups done, the prune runs, and a backup now waits for it */
	f->b->unlock(f->b, b1);
	f->b->unlock(f->b, b2);
	f->b->unlock(f->b, NULL);
	assert_ok(f->b->lock(f->b, KURA_LOCK_EXCLUSIVE, 0, &p));
	assert_int_equal(f->b->lock(f->b, KURA_LOCK_SHARED, 20, &b1), KURA_EBUSY);
	assert_non_null(strstr(kura_error_message(), "a prune holds the repository"));
	assert_int_equal(f->b->lock(f->b, KURA_LOCK_EXCLUSIVE, 0, &b2), KURA_EBUSY);
	assert_non_null(strstr(kura_error_message(), "another prune"));
	f->b->unlock(f->b, p);
	assert_ok(kura_prune(f->b, &o, &res));
	assert_int_equal(res.removed, f->plan.count);
}

/* A lock file that is not a regular file is refused, never waited on. */
static void test_hostile_lock_file(void **state)
{
	fixture *f = *state;
	kura_backend_lock *l;
	char path[256];

	snprintf(path, sizeof(path), "%s/lock", f->repo);
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(f->b->lock(f->b, KURA_LOCK_SHARED, 0, &l), KURA_ECORRUPT);
	assert_non_null(strstr(kura_error_message(), "not a regular file"));
	unlink(path);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_true(f->b->lock(f->b, KURA_LOCK_SHARED, 0, &l) < 0);
	unlink(path);
	assert_int_equal(f->b->lock(f->b, (kura_lock_mode)7, 0, &l), KURA_EINVAL);
}

/* The backup's last check names the packs that are gone. */
static void test_packs_stored_names_missing(void **state)
{
	fixture *f = *state;
	uint8_t(*packs)[KURA_HASH_SIZE] = NULL;
	char hex[KURA_ID_HEX];
	size_t n;

	assert_ok(snapshot_packs(f, f->snaps[1], &packs, &n));
	assert_ok(kura_gc__packs_stored(f->b, (const uint8_t(*)[KURA_HASH_SIZE])packs, n));
	kura_hex(hex, packs[n - 1], KURA_HASH_SIZE);
	assert_ok(kura_backend_remove(f->b, KURA_FILE_PACK, hex));
	assert_int_equal(kura_gc__packs_stored(f->b, (const uint8_t(*)[KURA_HASH_SIZE])packs, n),
			 KURA_ENOTFOUND);
	assert_non_null(strstr(kura_error_message(), hex));
	assert_non_null(strstr(kura_error_message(), "prune"));
	free(packs);
}

/* kura_prune refuses what it cannot do. */
static void test_bad_arguments(void **state)
{
	fixture *f = *state;
	kura_prune_options o = KURA_PRUNE_OPTIONS_INIT;
	kura_backend other = {.version = KURA_BACKEND_VERSION};
	kura_prune_result res;

	assert_int_equal(kura_prune(&other, &o, &res), KURA_EINVAL);
	o.version = 99;
	assert_int_equal(kura_prune(f->b, &o, &res), KURA_EINVAL);
	assert_int_equal(packs_stored(f), f->plan.count);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_removes_the_plan, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cutoff_keeps_young, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_callback_veto_and_stop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failure_skips_one, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_on_failed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lock_refuses_prune, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_lock_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_packs_stored_names_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

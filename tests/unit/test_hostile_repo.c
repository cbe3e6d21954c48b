/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_hostile_repo.c - a repository written by a hostile client (one that
 * holds a backup key and writes whatever bytes it likes) must never make
 * restore write outside its target, nor crash ls or check.
 *
 * The trees here are encoded by hand, bypassing kura_tree_encode()'s
 * validation, stored as properly encrypted blobs, and referenced from a
 * real snapshot: exactly what a stolen backup key can produce.
 *
 * Index entries are hints (lib/repo/locate.c): index files made with the
 * backup key that map every existing blob to a wrong pack and offset must
 * not break the snapshots taken before them, nor a backup that
 * deduplicates against them.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "format/indexfile.h"
#include "format/snapshot.h"
#include "repo/blobstore.h"
#include "repo/repo.h"

static char base[64];

static int count_node(const kura_node_info *n, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

/* One node in the on-disk layout of docs/FORMAT.md "Trees", no checks. */
static void put_node(kura_buf *b, uint8_t type, const char *name, const char *target,
		     const uint8_t *subtree)
{
	kura_buf_put_u8(b, type);
	kura_buf_put_u16(b, (uint16_t)strlen(name));
	kura_buf_put(b, name, strlen(name));
	kura_buf_put_u32(b, 0644);
	kura_buf_put_u32(b, 0);
	kura_buf_put_u32(b, 0);
	kura_buf_put_u8(b, 0);	/* user */
	kura_buf_put_u8(b, 0);	/* group */
	kura_buf_put_u64(b, 0); /* mtime */
	kura_buf_put_u32(b, 0);
	if (type == KURA_NODE_SYMLINK) {
		kura_buf_put_u64(b, strlen(target));
		kura_buf_put_u16(b, (uint16_t)strlen(target));
		kura_buf_put(b, target, strlen(target));
	} else if (type == KURA_NODE_DIR) {
		kura_buf_put_u64(b, 0);
		kura_buf_put(b, subtree, KURA_HASH_SIZE);
	} else if (type == KURA_NODE_HARDLINK) {
		kura_buf_put_u64(b, 0);
		kura_buf_put_u16(b, (uint16_t)strlen(target));
		kura_buf_put(b, target, strlen(target));
		kura_buf_put_u32(b, 0);
	} else {
		kura_buf_put_u64(b, 0);
		kura_buf_put_u32(b, 0); /* no extents */
	}
	kura_buf_put_u16(b, 0); /* xattrs */
}

static void tree_header(kura_buf *b, uint32_t count)
{
	kura_buf_put(b, "KTRE\1\0\0\0", 8);
	kura_buf_put_u32(b, count);
}

/* Store raw tree bytes as the root of a new snapshot; return its id. */
static void write_snapshot(kura_repo *repo, kura_blobstore *s, const uint8_t root[32],
			   char out[KURA_ID_HEX])
{
	kura_snapshot snap = {0};
	uint8_t *data, name[32];
	size_t len;

	assert_ok(kura_blobstore_flush(s));
	assert_ok(kura_blobstore_packs(s, &snap.packs, &snap.npacks));
	snap.time_ns = 1;
	snap.readable = true;
	memcpy(snap.tree, root, 32);
	snap.program = "hostile";
	assert_ok(kura_snapshot_encode(&data, &len, name, &repo->keys, &snap));
	kura_hex(out, name, 32);
	assert_ok(repo->backend->put(repo->backend, KURA_FILE_SNAPSHOT, out, data, len));
	free(data);
	free(snap.packs);
}

static kura_repo *new_repo(const char *sub)
{
	kura_init_options o;
	kura_repo *repo;
	char path[128];

	kura_init_options_default(&o);
	o.kdf_profile = KURA_KDF_INTERACTIVE;
	snprintf(path, sizeof(path), "%s/%s", base, sub);
	assert_ok(kura_repo_init(&repo, path, "correct horse battery staple hostile", &o));
	assert_ok(kura_repo__load_index(repo));
	return repo;
}

/* Restore must refuse the snapshot and create nothing outside target. */
static void restore_refused(kura_repo *repo, const char *snap, const char *victim)
{
	kura_restore_options o = {0};
	kura_restore_result r;
	char target[128], path[160];
	int rc;

	snprintf(target, sizeof(target), "%s/target-%.8s", base, snap);
	o.target = target;
	o.threads = 2;
	rc = kura_restore(repo, snap, &o, &r);
	assert_int_not_equal(rc, 0);
	snprintf(path, sizeof(path), "%s/%s", base, victim);
	assert_int_not_equal(access(path, F_OK), 0);
}

static void test_dotdot_names(void **state)
{
	static const char *const names[] = {"..", ".", "victim/x", "/victim", ""};
	kura_repo *repo = new_repo("dotdot");
	kura_blobstore *s;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		kura_buf t = KURA_BUF_INIT;
		uint8_t root[32];
		char snap[KURA_ID_HEX];

		assert_ok(kura_blobstore_new(&s, repo));
		tree_header(&t, 1);
		put_node(&t, KURA_NODE_FILE, names[i], NULL, NULL);
		assert_ok(kura_blobstore_add(s, 2, t.data, t.len, root));
		write_snapshot(repo, s, root, snap);
		restore_refused(repo, snap, "victim");
		int nodes = 0;

		assert_int_not_equal(kura_ls(repo, snap, "/", count_node, &nodes), 0);
		kura_blobstore_free(s);
		kura_buf_free(&t);
	}
	kura_repo_free(repo);
}

static void test_hardlink_escape(void **state)
{
	static const char *const targets[] = {"../victim", "/etc/passwd", "a/../../victim"};
	kura_repo *repo = new_repo("hardlink");

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		kura_blobstore *s;
		kura_buf t = KURA_BUF_INIT;
		uint8_t root[32];
		char snap[KURA_ID_HEX];

		assert_ok(kura_blobstore_new(&s, repo));
		tree_header(&t, 1);
		put_node(&t, KURA_NODE_HARDLINK, "h", targets[i], NULL);
		assert_ok(kura_blobstore_add(s, 2, t.data, t.len, root));
		write_snapshot(repo, s, root, snap);
		restore_refused(repo, snap, "victim");
		kura_blobstore_free(s);
		kura_buf_free(&t);
	}
	kura_repo_free(repo);
}

/*
 * A snapshot holding a symlink that points outside the target is legal
 * (it is restored as a symlink); what must never happen is a write through
 * a symlink, whether the snapshot's or one planted in the target.
 */
static void test_link_through_symlink(void **state)
{
	kura_repo *repo = new_repo("through");
	kura_blobstore *s;
	kura_buf t = KURA_BUF_INIT;
	uint8_t root[32];
	char snap[KURA_ID_HEX];
	kura_restore_options o = {0};
	kura_restore_result r;
	char target[128], victim[160];
	int nodes = 0;

	assert_ok(kura_blobstore_new(&s, repo));
	tree_header(&t, 2);
	put_node(&t, KURA_NODE_SYMLINK, "d", base, NULL);
	put_node(&t, KURA_NODE_FILE, "e", NULL, NULL);
	assert_ok(kura_blobstore_add(s, 2, t.data, t.len, root));
	write_snapshot(repo, s, root, snap);
	assert_ok(kura_ls(repo, snap, "/", count_node, &nodes));
	assert_int_equal(nodes, 2);

	/* plant the same symlink in the target first: restore must not follow it */
	snprintf(target, sizeof(target), "%s/target-through", base);
	assert_int_equal(mkdir(target, 0700), 0);
	snprintf(victim, sizeof(victim), "%s/e", target);
	assert_int_equal(symlink(base, victim), 0);
	o.target = target;
	(void)kura_restore(repo, snap, &o, &r);
	snprintf(victim, sizeof(victim), "%s/e", base);
	assert_int_not_equal(access(victim, F_OK), 0); /* nothing written through the link */
	kura_blobstore_free(s);
	kura_buf_free(&t);
	kura_repo_free(repo);
}

/* A truncated or garbage root tree: a clear error, never a crash. */
static void test_garbage_tree(void **state)
{
	kura_repo *repo = new_repo("garbage");
	uint8_t garbage[64];

	for (int i = 0; i < 3; i++) {
		kura_blobstore *s;
		uint8_t root[32];
		char snap[KURA_ID_HEX];
		size_t len = i == 0 ? 8 : sizeof(garbage);

		memcpy(garbage, "KTRE\1\0\0\0\377\377\377\377", 12);
		for (size_t j = 12; j < sizeof(garbage); j++)
			garbage[j] = (uint8_t)(j * 37 + (size_t)i);
		assert_ok(kura_blobstore_new(&s, repo));
		assert_ok(kura_blobstore_add(s, 2, garbage, len, root));
		write_snapshot(repo, s, root, snap);
		restore_refused(repo, snap, "victim");
		int nodes = 0;

		assert_int_equal(kura_ls(repo, snap, "/", count_node, &nodes), KURA_ECORRUPT);
		kura_blobstore_free(s);
	}
	kura_repo_free(repo);
}

/* ------------------------------------------------------------------ */
/* Lying index files                                                   */

static kura_repo *open_repo(const char *sub)
{
	kura_repo *repo;
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", base, sub);
	assert_ok(kura_repo_open_passphrase(&repo, path, "correct horse battery staple hostile"));
	return repo;
}

static kura_repo *new_repo_small(const char *sub)
{
	kura_init_options o;
	kura_repo *repo;
	char path[128];

	kura_init_options_default(&o);
	o.kdf_profile = KURA_KDF_INTERACTIVE;
	o.chunk_min = 64 * 1024;
	o.chunk_avg = 256 * 1024;
	o.chunk_max = 1024 * 1024;
	o.pack_size = 1024 * 1024;
	snprintf(path, sizeof(path), "%s/%s", base, sub);
	assert_ok(kura_repo_init(&repo, path, "correct horse battery staple hostile", &o));
	return repo;
}

typedef struct {
	kura_blob_loc *v;
	size_t n;
} loc_list;

static int collect_loc(const kura_blob_loc *loc, void *ctx)
{
	loc_list *l = ctx;

	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	assert_non_null(l->v);
	l->v[l->n++] = *loc;
	return 0;
}

/* Draws per index file in encode_ordered. */
#define ORDER_DRAWS 64

/*
 * Encode idx ORDER_DRAWS times and keep the encoding whose name sorts
 * lowest (or highest).  A name is the hash of the bytes, which hold a
 * fresh random salt, so it cannot be chosen, only drawn.  Readers load
 * index files in name order: the lowest of 64 draws sorts after the
 * highest of another 64 only if the 64 lowest of the 128 are all the
 * other file's, with probability 1 / C(128, 64) < 10^-37 whatever the
 * names drawn.
 */
static void encode_ordered(uint8_t **out, size_t *out_len, char name[KURA_ID_HEX],
			   const kura_keys *keys, const kura_indexfile *idx, bool lowest)
{
	*out = NULL;
	for (int i = 0; i < ORDER_DRAWS; i++) {
		uint8_t *data, id[32];
		char hex[KURA_ID_HEX];
		size_t len;

		assert_ok(kura_indexfile_encode(&data, &len, id, keys, idx));
		kura_hex(hex, id, 32);
		if (*out && (strcmp(hex, name) < 0) != lowest) {
			free(data);
			continue;
		}
		free(*out);
		*out = data;
		*out_len = len;
		memcpy(name, hex, KURA_ID_HEX);
	}
}

typedef struct {
	char (*v)[KURA_ID_HEX];
	size_t n;
} name_list;

static int collect_name(const char *name, uint64_t size, void *ctx)
{
	name_list *l = ctx;

	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	assert_non_null(l->v);
	snprintf(l->v[l->n++], KURA_ID_HEX, "%s", name);
	return 0;
}

/*
 * Write each index file the backup wrote again, with the same records and
 * the same keys, under the highest of ORDER_DRAWS names, and remove the
 * original: an honest index that a lowest-drawn liar is sure to precede.
 * `first` gets the lowest of their names.
 */
static void honest_last(kura_repo *repo, char first[KURA_ID_HEX])
{
	name_list l = {0};

	first[0] = '\0';
	assert_ok(repo->backend->list(repo->backend, KURA_FILE_INDEX, collect_name, &l));
	assert_true(l.n > 0);
	for (size_t i = 0; i < l.n; i++) {
		kura_indexfile *idx = NULL;
		uint8_t *data;
		char hex[KURA_ID_HEX];
		size_t len;

		assert_ok(repo->backend->get(repo->backend, KURA_FILE_INDEX, l.v[i], &data, &len));
		assert_ok(kura_indexfile_decode(&idx, &repo->keys, data, len));
		free(data);
		encode_ordered(&data, &len, hex, &repo->keys, idx, false);
		assert_ok(repo->backend->put(repo->backend, KURA_FILE_INDEX, hex, data, len));
		assert_ok(repo->backend->remove(repo->backend, KURA_FILE_INDEX, l.v[i]));
		if (!first[0] || strcmp(hex, first) < 0)
			snprintf(first, KURA_ID_HEX, "%s", hex);
		free(data);
		kura_indexfile_free(idx);
	}
	free(l.v);
}

/*
 * An index file that authenticates (made with the backup key alone) and
 * maps every blob of the repository to the next pack, at the offset of
 * another blob, with the blob's own lengths and type; its name is the
 * lowest of ORDER_DRAWS.
 */
static void write_lying_index(kura_repo *repo, char out[KURA_ID_HEX])
{
	kura_keys backup;
	kura_indexfile idx = {0};
	loc_list l = {0};
	uint8_t *data;
	size_t len;

	assert_ok(kura_repo__load_index(repo));
	assert_ok(kura_idmap_each(repo->index, collect_loc, &l));
	assert_true(l.n > 4 && repo->npacks > 1);
	idx.packs = repo->packs;
	idx.npacks = repo->npacks;
	idx.records = calloc(l.n, sizeof(*idx.records));
	assert_non_null(idx.records);
	for (size_t i = 0; i < l.n; i++) {
		const kura_blob_loc *a = &l.v[i], *b = &l.v[(i + 1) % l.n];
		kura_index_record *r = &idx.records[idx.nrecords++];

		r->pack = (a->pack + 1) % (uint32_t)repo->npacks;
		r->blob.type = a->type;
		r->blob.flags = a->flags;
		memcpy(r->blob.id, a->id, 32);
		r->blob.offset = b->offset;
		r->blob.stored_len = a->stored_len;
		r->blob.raw_len = a->raw_len;
	}
	kura_keys_to_backup(&backup, &repo->keys);
	encode_ordered(&data, &len, out, &backup, &idx, true);
	kura_keys_wipe(&backup);
	assert_ok(repo->backend->put(repo->backend, KURA_FILE_INDEX, out, data, len));
	free(data);
	free(idx.records);
	free(l.v);
}

struct problems {
	int total, lost;
};

static void on_problem(const char *object, const char *message, const char *snapshot_id,
		       const char *path, void *ctx)
{
	struct problems *p = ctx;

	p->total++;
	if (strstr(message, "lost")) {
		p->lost++;
		print_message("problem: %s: %s\n", object, message);
	}
}

static void same_file(const char *a, const char *b)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	assert_int_equal(system(cmd), 0);
}

static void restore_same(kura_repo *repo, const char *snap, const char *src, const char *tag,
			 int nfiles)
{
	kura_restore_options o = {0};
	kura_restore_result r;
	char target[160], a[256], b[320];

	snprintf(target, sizeof(target), "%s/out-%s", base, tag);
	o.target = target;
	o.threads = 2;
	assert_ok(kura_restore(repo, snap, &o, &r));
	assert_int_equal(r.errors, 0);
	for (int i = 0; i < nfiles; i++) {
		snprintf(a, sizeof(a), "%s/f%d", src, i);
		snprintf(b, sizeof(b), "%s%s/f%d", target, src, i);
		same_file(a, b);
	}
}

static size_t damage_count(kura_repo *repo)
{
	kura_damage *d;
	size_t n;

	assert_ok(kura_repo_damage(repo, &d, &n));
	free(d);
	return n;
}

static void test_lying_index(void **state)
{
	kura_repo *repo = new_repo_small("lying");
	kura_backup_result br;
	char src[128], cache[128], file[160], snap1[KURA_ID_HEX], snap2[KURA_ID_HEX];
	int nfiles = 4;

	snprintf(src, sizeof(src), "%s/lying-src", base);
	snprintf(cache, sizeof(cache), "%s/lying-cache", base);
	assert_int_equal(mkdir(src, 0700), 0);
	for (int i = 0; i < nfiles; i++) {
		snprintf(file, sizeof(file), "%s/f%d", src, i);
		test_write_random(file, 700 * 1024 + (size_t)i * 1000, 40u + (unsigned)i);
	}
	assert_ok(test_backup_dir(repo, src, cache, &br));
	snprintf(snap1, sizeof(snap1), "%s", br.snapshot_id);
	/*
	 * One liar, read before every true index file (readers load them in
	 * name order): then its lies are the blobs' entries.
	 */
	char first[KURA_ID_HEX], liar[KURA_ID_HEX];

	honest_last(repo, first);
	write_lying_index(repo, liar);
	assert_true(strcmp(liar, first) < 0);
	kura_repo_free(repo);

	/* the snapshot taken before the poisoning restores byte-identical */
	repo = open_repo("lying");
	restore_same(repo, snap1, src, "before", nfiles);
	assert_true(damage_count(repo) > 0);
	/* the warnings name the lying index file, and no true one */
	{
		char want[KURA_ID_HEX + 8], honest[KURA_ID_HEX + 8];
		kura_damage *d;
		size_t n;
		bool named = false;

		snprintf(want, sizeof(want), "index/%s", liar);
		snprintf(honest, sizeof(honest), "index/%s", first);
		assert_ok(kura_repo_damage(repo, &d, &n));
		for (size_t i = 0; i < n; i++) {
			if (strcmp(d[i].file, want) == 0) {
				named = true;
				assert_non_null(strstr(d[i].message, "lies: it puts blob"));
			}
			assert_string_not_equal(d[i].file, honest);
		}
		free(d);
		assert_true(named);
	}
	kura_repo_free(repo);

	/* a backup deduplicating against the liars still makes a whole snapshot */
	repo = open_repo("lying");
	snprintf(file, sizeof(file), "%s/f%d", src, nfiles);
	test_write_random(file, 300 * 1024, 99);
	nfiles++;
	assert_ok(test_backup_dir(repo, src, NULL, &br));
	snprintf(snap2, sizeof(snap2), "%s", br.snapshot_id);
	kura_repo_free(repo);
	repo = open_repo("lying");
	restore_same(repo, snap2, src, "after", nfiles);
	kura_repo_free(repo);

	/* check names the lies, but loses no file: every blob has an intact copy */
	for (int read_data = 0; read_data < 2; read_data++) {
		kura_check_options co = {0};
		kura_check_result cr;
		struct problems pr = {0};

		co.read_data = read_data;
		co.threads = 2;
		co.problem = on_problem;
		co.problem_ctx = &pr;
		repo = open_repo("lying");
		assert_int_equal(kura_check(repo, &co, &cr), KURA_ECORRUPT);
		assert_true(pr.total > 0);
		assert_int_equal(pr.lost, 0);
		kura_repo_free(repo);
	}

	/* repair writes nothing: the true index files still cover every pack */
	repo = open_repo("lying");
	kura_repair_result rr;
	assert_ok(kura_repair_index(repo, NULL, &rr));
	assert_int_equal(rr.files_written, 0);
	assert_int_equal(rr.damaged_packs, 0);
	/* a separate upload backend is only for a vault: a local repository is repaired in place */
	{
		kura_backend *other = NULL;
		char path[128];

		snprintf(path, sizeof(path), "%s/lying", base);
		assert_ok(kura_backend_local_open(&other, path));
		assert_int_equal(kura_repair_index(repo, other, &rr), KURA_EINVAL);
		assert_int_equal(rr.files_written, 0);
		other->free(other);
	}
	kura_repo_free(repo);
}

/*
 * One lying record at an intact blob's place: a forged index (backup key
 * alone) says blob `liar` sits at `place`, with a length that runs into
 * what follows or past the pack's end.  A snapshot that needs both blobs
 * still restores: the lie fails only for `liar`, never for the blob that
 * is there or for the place, and `liar` is found where it really is.
 */
static void write_shared_offset_index(kura_repo *repo, const kura_blob_loc *place,
				      const kura_blob_loc *liar, uint32_t stored_len,
				      char out[KURA_ID_HEX])
{
	kura_keys backup;
	kura_indexfile idx = {0};
	kura_index_record rec = {0};
	uint8_t *data, name[32];
	size_t len;

	idx.packs = repo->packs;
	idx.npacks = repo->npacks;
	idx.records = &rec;
	idx.nrecords = 1;
	rec.pack = place->pack;
	rec.blob.type = liar->type;
	rec.blob.flags = liar->flags;
	memcpy(rec.blob.id, liar->id, 32);
	rec.blob.offset = place->offset;
	rec.blob.stored_len = stored_len;
	rec.blob.raw_len = liar->raw_len;
	kura_keys_to_backup(&backup, &repo->keys);
	assert_ok(kura_indexfile_encode(&data, &len, name, &backup, &idx));
	kura_keys_wipe(&backup);
	kura_hex(out, name, 32);
	assert_ok(repo->backend->put(repo->backend, KURA_FILE_INDEX, out, data, len));
	free(data);
}

struct named {
	const char *liar;
	int liar_named, packs_named;
};

static void on_named(const char *object, const char *message, const char *snapshot_id,
		     const char *path, void *ctx)
{
	struct named *n = ctx;
	char want[96];

	snprintf(want, sizeof(want), "index %s", n->liar);
	n->liar_named += strcmp(object, want) == 0;
	n->packs_named += strncmp(object, "pack ", 5) == 0;
}

static void test_shared_offset(void **state)
{
	kura_repo *repo = new_repo_small("shared");
	kura_backup_result br;
	kura_blob_loc a = {0}, b = {0};
	loc_list l = {0};
	char src[128], file[160], snap[KURA_ID_HEX];

	snprintf(src, sizeof(src), "%s/shared-src", base);
	assert_int_equal(mkdir(src, 0700), 0);
	/* two backups: f0's one blob (a) in one pack, f1's (b, compressed) in another */
	for (int i = 0; i < 2; i++) {
		snprintf(file, sizeof(file), "%s/f%d", src, i);
		if (i == 0) {
			test_write_random(file, 40 * 1024, 70);
		} else { /* compressible: a forged record may give it any stored length */
			FILE *f = fopen(file, "w");

			assert_non_null(f);
			for (int k = 0; k < 4000; k++)
				fprintf(f, "line %d of a compressible file\n", k % 97);
			assert_int_equal(fclose(f), 0);
		}
		assert_ok(test_backup_dir(repo, src, NULL, &br));
		kura_repo_free(repo);
		repo = open_repo("shared");
	}
	snprintf(snap, sizeof(snap), "%s", br.snapshot_id);
	assert_ok(kura_repo__load_index(repo));
	assert_ok(kura_idmap_each(repo->index, collect_loc, &l));
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].type == KURA_BLOB_DATA)
			*(l.v[i].flags ? &b : &a) = l.v[i];
	free(l.v);
	assert_true(a.stored_len && b.stored_len && a.pack != b.pack);
	assert_true(b.raw_len > a.stored_len + 64);

	/*
	 * b into a's pack, past a; b past the end of a's pack; a past the end
	 * of b's pack.  Whichever id sorts first at the shared offset, one of
	 * the last two made restore fail there before.
	 */
	const struct {
		const kura_blob_loc *place, *liar;
		uint32_t stored_len;
	} lies[] = {{&a, &b, a.stored_len + 64}, {&a, &b, b.raw_len}, {&b, &a, a.stored_len}};
	for (size_t v = 0; v < sizeof(lies) / sizeof(lies[0]); v++) {
		char liar[KURA_ID_HEX], path[192], tag[16];
		kura_blob_loc lie = *lies[v].liar;

		write_shared_offset_index(repo, lies[v].place, lies[v].liar, lies[v].stored_len,
					  liar);
		/*
		 * The lie is the entry when its file is read first (name order):
		 * make it so whatever the names; the true location stays a
		 * candidate.
		 */
		kura_repo_free(repo);
		repo = open_repo("shared");
		assert_ok(kura_repo__load_index(repo));
		lie.pack = lies[v].place->pack;
		lie.offset = lies[v].place->offset;
		lie.stored_len = lies[v].stored_len;
		pthread_mutex_lock(&repo->lock);
		assert_ok(kura_idmap_put(repo->index, &lie));
		assert_ok(kura_repo__add_loc(repo, lies[v].liar));
		pthread_mutex_unlock(&repo->lock);
		snprintf(tag, sizeof(tag), "shared%zu", v);
		restore_same(repo, snap, src, tag, 2);
		assert_true(damage_count(repo) > 0);
		kura_repo_free(repo);

		/* check --read-data names the lying index file, and no pack: both are intact */
		kura_check_options co = {0};
		kura_check_result cr;
		struct named nm = {liar, 0, 0};

		co.read_data = true;
		co.threads = 2;
		co.problem = on_named;
		co.problem_ctx = &nm;
		repo = open_repo("shared");
		assert_int_equal(kura_check(repo, &co, &cr), KURA_ECORRUPT);
		assert_int_equal(nm.liar_named, 1);
		assert_int_equal(nm.packs_named, 0);
		kura_repo_free(repo);
		snprintf(path, sizeof(path), "%s/shared/index/%s", base, liar);
		assert_int_equal(unlink(path), 0);
		repo = open_repo("shared");
		assert_ok(kura_repo__load_index(repo));
	}
	kura_repo_free(repo);
}

/* The side table: other locations of an id, sorted, deduplicated; reads fall back and promote. */
static void test_side_table(void **state)
{
	kura_repo *repo = new_repo("side");
	kura_blobstore *s;
	kura_blob_loc good, bad, entry;
	const kura_blob_loc *alts;
	uint8_t id[32], *out;
	size_t len;
	const char text[] = "a blob that some index misplaces";

	assert_ok(kura_blobstore_new(&s, repo));
	assert_ok(kura_blobstore_add(s, KURA_BLOB_DATA, (const uint8_t *)text, sizeof(text), id));
	assert_ok(kura_blobstore_flush(s));
	kura_blobstore_free(s);
	assert_true(kura_idmap_get(&good, repo->index, id));

	/* a lie about the same id: a second location, kept once */
	bad = good;
	bad.offset += 1;
	pthread_mutex_lock(&repo->lock);
	assert_ok(kura_repo__add_loc(repo, &bad));
	assert_ok(kura_repo__add_loc(repo, &bad));
	assert_ok(kura_repo__add_loc(repo, &good));
	assert_int_equal(kura_repo__alts(repo, id, &alts), 1);
	assert_int_equal(alts[0].offset, bad.offset);
	pthread_mutex_unlock(&repo->lock);

	/* make the lie the entry: the read fails there, falls back, and promotes */
	assert_ok(kura_idmap_put(repo->index, &bad));
	pthread_mutex_lock(&repo->lock);
	repo->alts[0] = good;
	pthread_mutex_unlock(&repo->lock);
	assert_ok(kura_repo__read_blob_any(repo, id, NULL, &out, &len, NULL));
	assert_int_equal(len, sizeof(text));
	assert_memory_equal(out, text, sizeof(text));
	free(out);
	assert_true(kura_idmap_get(&entry, repo->index, id));
	assert_int_equal(entry.offset, good.offset);
	assert_int_equal(damage_count(repo), 1);

	/* every location a lie: the trailer scan still finds it */
	bad.offset += 1;
	assert_ok(kura_idmap_put(repo->index, &bad));
	pthread_mutex_lock(&repo->lock);
	repo->nalts = 0;
	pthread_mutex_unlock(&repo->lock);
	repo->pack_sizes[good.pack] = 0;
	{
		char path[160], hex[KURA_ID_HEX];
		struct stat st;

		kura_hex(hex, repo->packs[good.pack], 32);
		snprintf(path, sizeof(path), "%s/side/data/%.2s/%s", base, hex, hex);
		assert_int_equal(stat(path, &st), 0);
		repo->pack_sizes[good.pack] = (uint64_t)st.st_size;
	}
	assert_ok(kura_repo__read_blob_any(repo, id, NULL, &out, &len, NULL));
	assert_memory_equal(out, text, sizeof(text));
	free(out);

	/* and an id no index and no pack knows is not found */
	id[0] ^= 1;
	assert_int_equal(kura_repo__read_blob_any(repo, id, NULL, &out, &len, NULL),
			 KURA_ENOTFOUND);
	kura_repo_free(repo);
}

/*
 * Index files that repeat one location (many liars telling the same lie,
 * honest files repeating each other, the trailer scan adding what an index
 * already gave) fill the side table with repeats, dropped when it is next
 * sorted.  The lookup that sorts must search the shrunk table: the stale
 * entries past its new end are not in order, and a search among them
 * missed ids that were there, so a reader tried only the lying entry.
 */
static void test_side_table_repeats(void **state)
{
	kura_repo *repo = new_repo("repeats");
	kura_blob_loc loc = {0}, entry;
	const kura_blob_loc *alts;
	enum { IDS = 10, REPEATS = 30 };

	loc.stored_len = 100 + KURA_AEAD_OVERHEAD;
	loc.raw_len = 100;
	loc.type = KURA_BLOB_DATA;
	pthread_mutex_lock(&repo->lock);
	for (int i = 0; i < IDS; i++) {
		loc.id[0] = (uint8_t)(16 * i + 1); /* ids in order: 0x01…, 0x11…, … 0x91… */
		loc.offset = 124;		   /* the entry */
		assert_ok(kura_idmap_put(repo->index, &loc));
		loc.offset = 4096; /* another index's word */
		assert_ok(kura_repo__add_loc(repo, &loc));
	}
	for (int i = IDS - 1; i >= 0; i--) {
		/* the first id said again and again, then a lookup of id i sorts the table */
		loc.id[0] = 1;
		for (int k = 0; k < REPEATS; k++)
			assert_ok(kura_repo__add_loc(repo, &loc));
		assert_false(repo->alts_sorted);
		loc.id[0] = (uint8_t)(16 * i + 1);
		assert_int_equal(kura_repo__alts(repo, loc.id, &alts), 1);
		assert_memory_equal(alts[0].id, loc.id, KURA_HASH_SIZE);
		assert_int_equal(alts[0].offset, 4096);
		assert_int_equal(repo->nalts, IDS);
		assert_true(kura_idmap_get(&entry, repo->index, loc.id));
		assert_int_equal(entry.offset, 124);
	}
	pthread_mutex_unlock(&repo->lock);
	kura_repo_free(repo);
}

static int setup(void **state)
{
	snprintf(base, sizeof(base), "/tmp/kura-hostile-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	return test_remove_tree(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dotdot_names),	 cmocka_unit_test(test_hardlink_escape),
	    cmocka_unit_test(test_link_through_symlink), cmocka_unit_test(test_garbage_tree),
	    cmocka_unit_test(test_lying_index),		 cmocka_unit_test(test_side_table),
	    cmocka_unit_test(test_side_table_repeats),	 cmocka_unit_test(test_shared_offset),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

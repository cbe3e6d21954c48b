/* SPDX-License-Identifier: Apache-2.0 */
/*
 * repo.c - creating and opening repositories, and the
 * shared read path (index, pack keys, blobs, trees) used by backup,
 * restore, browse and check.
 *
 * Opening never trusts the store: the config must be the only one and
 * must hash to its name, and it must carry the repository id and public
 * key of the key we hold, so a planted config cannot redirect new backups
 * to an attacker's public key.
 */
#include "repo/repo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/array.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/pool.h"
#include "format/indexfile.h"
#include "kura/keyless.h"

#define KEY_FILE_MAX 4096
#define KEY_CACHE_SLOTS 256

void kura_init_options_default(kura_init_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->version = KURA_INIT_OPTIONS_VERSION;
	opts->chunk_min = KURA_CHUNK_MIN_DEFAULT;
	opts->chunk_avg = KURA_CHUNK_AVG_DEFAULT;
	opts->chunk_max = KURA_CHUNK_MAX_DEFAULT;
	opts->pack_size = 16u * 1024 * 1024;
	opts->compression_level = 3;
	opts->kdf_profile = KURA_KDF_MODERATE;
}

#define VAULT_SCHEME "vault://"

static bool is_vault(const char *location)
{
	return strncmp(location, VAULT_SCHEME, sizeof(VAULT_SCHEME) - 1) == 0;
}

/* A vault repository: its credential comes from the caller's options. */
static int vault_backend_open(kura_backend **out, const char *location, const char *cred)
{
	*out = NULL;
	if (!cred || !*cred)
		return kura_error_set(KURA_EINVAL,
				      "no vault credential given for %s: the open options must name "
				      "the credential file (issued by 'kurad client add')",
				      location);
	return kura_backend_vault_open(out, location, cred);
}

/*
 * Every backend a repository opens is checked before use; one of another
 * interface version is refused before any of its slots is read.
 */
static int backend_checked(kura_backend *backend, const char *location)
{
	int err;

	if ((err = kura_backend_check(backend)) < 0)
		return kura_error_wrap(err, "%s", location);
	return 0;
}

static int config_seen(const char *name, uint64_t size, void *ctx)
{
	*(bool *)ctx = true;
	return 1;
}

/*
 * The vault makes the repository's directory when it issues the first
 * credential for it; "new" there means no config yet.
 */
static int vault_backend_create(kura_backend **out, const char *location, const char *cred)
{
	kura_backend *backend;
	bool has_config = false;
	int err;

	if ((err = vault_backend_open(&backend, location, cred)) < 0)
		return err;
	if ((err = backend_checked(backend, location)) < 0)
		goto done;
	if ((err = backend->list(backend, KURA_FILE_CONFIG, config_seen, &has_config)) < 0)
		goto done;
	if (has_config)
		err = kura_error_set(KURA_EEXISTS, "%s already holds a repository", location);
done:
	if (err < 0)
		backend->free(backend);
	else
		*out = backend;
	return err;
}

/* An S3 repository: how to reach the store comes from the caller's options. */
static int s3_backend_open(kura_backend **out, const char *location, const kura_s3_options *o)
{
	*out = NULL;
	if (!o)
		return kura_error_set(KURA_EINVAL,
				      "no S3 options given for %s: the open options must say how "
				      "to reach the store",
				      location);
	return kura_backend_s3_open(out, location, o);
}

static int s3_backend_create(kura_backend **out, const char *location, const kura_s3_options *o)
{
	int err;

	*out = NULL;
	if (!o)
		return kura_error_set(KURA_EINVAL, "no S3 options given for %s", location);
	if ((err = kura_backend_s3_create(out, location, o)) == 0 &&
	    (err = backend_checked(*out, location)) < 0) {
		kura_backend_free(*out);
		*out = NULL;
	}
	return err;
}

static int repo_new(kura_repo **out, kura_backend *backend)
{
	kura_repo *repo = calloc(1, sizeof(*repo));

	*out = NULL;
	if (!repo)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	repo->backend = backend;
	pthread_mutex_init(&repo->lock, NULL);
	pthread_mutex_init(&repo->scan_lock, NULL);
	pthread_mutex_init(&repo->damage_lock, NULL);
	*out = repo;
	return 0;
}

void kura_repo_free(kura_repo *repo)
{
	if (!repo)
		return;
	kura_prehash_free(repo->prehash); /* its thread reads through the backend */
	if (repo->backend)
		repo->backend->free(repo->backend);
	kura_repo__treeahead_free(repo);
	kura_repo__refahead_free(repo);
	kura_mac_free(repo->mac);
	kura_idmap_free(repo->index);
	kura_idmap_free(repo->pack_ordinals);
	free(repo->packs);
	free(repo->pack_sizes);
	free(repo->alts);
	free(repo->damage);
	free(repo->suspects);
	if (repo->key_cache) {
		kura_wipe(repo->key_cache, repo->key_cache_size * sizeof(*repo->key_cache));
		free(repo->key_cache);
	}
	free(repo->keyfile);
	kura_keys_wipe(&repo->keys);
	pthread_mutex_destroy(&repo->lock);
	pthread_mutex_destroy(&repo->scan_lock);
	pthread_mutex_destroy(&repo->damage_lock);
	free(repo);
}

/* ---------------------------------------------------------------------- */
/* Damage notes                                                            */

bool kura_repo__is_damage(int err)
{
	return err == KURA_ECORRUPT || err == KURA_EAUTH || err == KURA_EUNSUPPORTED ||
	       err == KURA_EINVAL;
}

void kura_repo__damaged(kura_repo *repo, kura_file_type type, const char *name, const char *fmt,
			...)
{
	kura_damage d;
	va_list ap;

	snprintf(d.file, sizeof(d.file), "%s/%s", kura_file_type_name(type), name);
	va_start(ap, fmt);
	vsnprintf(d.message, sizeof(d.message), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&repo->damage_lock);
	for (size_t i = 0; i < repo->ndamage; i++)
		if (strcmp(repo->damage[i].file, d.file) == 0)
			goto done;
	if (KURA_ARRAY_GROW(repo->damage, repo->damage_cap, repo->ndamage + 1) == 0)
		repo->damage[repo->ndamage++] = d;
done:
	pthread_mutex_unlock(&repo->damage_lock);
}

int kura_repo_damage(kura_repo *repo, kura_damage **out, size_t *out_count)
{
	int err = 0;

	*out = NULL;
	*out_count = 0;
	kura_repo__blame_indexes(repo);
	pthread_mutex_lock(&repo->damage_lock);
	if (repo->ndamage && !(*out = malloc(repo->ndamage * sizeof(**out))))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
	else if (repo->ndamage) {
		memcpy(*out, repo->damage, repo->ndamage * sizeof(**out));
		*out_count = repo->ndamage;
	}
	pthread_mutex_unlock(&repo->damage_lock);
	return err;
}

/* Called once the keys are in place: derived state shared by every operation. */
static int repo_finish_open(kura_repo *repo)
{
	int err;

	if (memcmp(repo->keys.repo_id, repo->config.repo_id, 32) != 0 ||
	    memcmp(repo->keys.repo_pk, repo->config.repo_pk, KURA_PUBKEY_SIZE) != 0)
		return kura_error_set(KURA_EAUTH, "the key does not belong to this repository");
	kura_hex(repo->id_hex, repo->config.repo_id, 32);
	if ((err = kura_mac_new(&repo->mac, repo->keys.id_key)) < 0)
		return err;
	repo->key_cache = calloc(KEY_CACHE_SLOTS, sizeof(*repo->key_cache));
	if (!repo->key_cache)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	repo->key_cache_size = KEY_CACHE_SLOTS;
	return 0;
}

/* Fetch a small repository file and check it hashes to its name. */
static int get_verified(kura_repo *repo, kura_file_type type, const char *name, uint8_t **out,
			size_t *out_len)
{
	return kura_backend_get_verified(repo->backend, type, name, out, out_len);
}

typedef struct {
	kura_listed_file *names;
	size_t count;
} name_list;

/* Sorted by name (kura_list_files). */
static int list_names(kura_repo *repo, kura_file_type type, name_list *out)
{
	return kura_list_files(&out->names, &out->count, repo->backend, type);
}

static int load_config(kura_repo *repo)
{
	name_list names;
	uint8_t *data = NULL;
	size_t len;
	int err;

	if ((err = list_names(repo, KURA_FILE_CONFIG, &names)) < 0)
		goto done;
	if (names.count != 1) {
		err = kura_error_set(names.count ? KURA_ECORRUPT : KURA_ENOTFOUND,
				     "repository has %zu config files, expected exactly one",
				     names.count);
		goto done;
	}
	if ((err = get_verified(repo, KURA_FILE_CONFIG, names.names[0].name, &data, &len)) < 0)
		goto done;
	if ((err = kura_config_decode(&repo->config, data, len)) < 0)
		kura_error_wrap(err, "config %s", names.names[0].name);
done:
	free(data);
	free(names.names);
	return err;
}

int kura_repo_init(kura_repo **out, const char *location, const char *passphrase,
		   const kura_init_options *opts)
{
	kura_init_options defaults;
	kura_repo *repo = NULL;
	kura_backend *backend = NULL;
	uint8_t config_bytes[KURA_CONFIG_SIZE], hash[KURA_HASH_SIZE];
	char name[KURA_ID_HEX];
	int err;

	*out = NULL;
	if (!opts) {
		kura_init_options_default(&defaults);
		opts = &defaults;
	}
	if (opts->version > KURA_INIT_OPTIONS_VERSION)
		return kura_error_set(KURA_EUNSUPPORTED,
				      "init options version %u: this library knows up to %d",
				      opts->version, KURA_INIT_OPTIONS_VERSION);
	if ((err = kura_crypto_init()) < 0)
		return err;
	if ((err = kura_passphrase_check(passphrase)) < 0)
		return err;
	if (opts->compression_level < 0 || opts->compression_level > 19)
		return kura_error_set(KURA_EINVAL, "compression level %d is not in 0..19",
				      opts->compression_level);
	if (is_vault(location))
		err = vault_backend_create(&backend, location, opts->vault_credentials);
	else if (kura_location_is_s3(location))
		err = s3_backend_create(&backend, location, opts->version >= 2 ? opts->s3 : NULL);
	else if ((err = kura_backend_local_create(&backend, location)) == 0 &&
		 (err = backend_checked(backend, location)) < 0)
		kura_backend_free(backend);
	if (err < 0)
		return err;
	if ((err = repo_new(&repo, backend)) < 0) {
		backend->free(backend);
		return err;
	}
	if ((err = kura_keys_generate(&repo->keys)) < 0)
		goto done;
	repo->config.version = KURA_FORMAT_VERSION;
	memcpy(repo->config.repo_id, repo->keys.repo_id, 32);
	memcpy(repo->config.repo_pk, repo->keys.repo_pk, KURA_PUBKEY_SIZE);
	repo->config.chunker = (kura_chunker_params){opts->chunk_min, opts->chunk_avg, opts->chunk_max};
	repo->config.pack_size = opts->pack_size;
	repo->config.compression = opts->compression_level ? KURA_COMPRESS_ZSTD : KURA_COMPRESS_NONE;
	repo->config.level = (int8_t)opts->compression_level;
	kura_config_encode(config_bytes, &repo->config);
	/* decoding what we encoded validates every parameter in one place */
	if ((err = kura_config_decode(&repo->config, config_bytes, sizeof(config_bytes))) < 0)
		goto done;
	if ((err = kura_keyfile_encode_restore(&repo->keyfile, &repo->keyfile_len, &repo->keys,
					       passphrase, opts->kdf_profile)) < 0)
		goto done;
	kura_sha256(hash, repo->keyfile, repo->keyfile_len);
	kura_hex(name, hash, sizeof(hash));
	if ((err = backend->put(backend, KURA_FILE_KEY, name, repo->keyfile, repo->keyfile_len)) < 0)
		goto done;
	/* the config last: a repository without one is not a repository yet */
	kura_sha256(hash, config_bytes, sizeof(config_bytes));
	kura_hex(name, hash, sizeof(hash));
	if ((err = backend->put(backend, KURA_FILE_CONFIG, name, config_bytes, sizeof(config_bytes))) < 0)
		goto done;
	err = repo_finish_open(repo);
done:
	if (err < 0)
		kura_repo_free(repo);
	else
		*out = repo;
	return err;
}

static int open_backend(kura_repo **out, const char *location,
			const kura_repo_open_options *opts)
{
	kura_backend *backend = opts->backend;
	int err;

	if ((err = kura_crypto_init()) < 0)
		return err;
	if (backend) {
		/* the caller's until the repository holds it: not freed on failure */
		if ((err = backend_checked(backend, location)) < 0)
			return err;
		if ((err = repo_new(out, backend)) < 0)
			return err;
	} else {
		if (is_vault(location))
			err = vault_backend_open(&backend, location, opts->vault_credentials);
		else if (kura_location_is_s3(location))
			err = s3_backend_open(&backend, location, opts->version >= 2 ? opts->s3 : NULL);
		else
			err = kura_backend_local_open(&backend, location);
		if (err < 0)
			return err;
		if ((err = backend_checked(backend, location)) < 0 ||
		    (err = repo_new(out, backend)) < 0) {
			kura_backend_free(backend);
			return err;
		}
		(*out)->local = !is_vault(location) && !kura_location_is_s3(location);
	}
	if ((err = load_config(*out)) < 0) {
		if (opts->backend)
			(*out)->backend = NULL;
		kura_repo_free(*out);
		*out = NULL;
	}
	return err;
}

/*
 * Start hashing packs for a following check --read-data, when asked and
 * worth it (see prehash.h); the Argon2id the caller is about to run is
 * what it overlaps.  Best effort: a failure to start only loses the
 * overlap, and the check hashes every pack itself.
 */
static void prehash_begin(kura_repo *repo, const kura_repo_open_options *opts)
{
	/* one CPU: the hashing would only slow Argon2id down by as much */
	if (opts->version < 3 || !opts->hash_packs_while_unlocking || !repo->local ||
	    repo->prehash || kura_cpu_count() < 2)
		return;
	if (kura_prehash_start(&repo->prehash, repo->backend) < 0)
		repo->prehash = NULL;
}

/* A repository open_backend() made, freed on a failed open (the caller's backend kept). */
static void repo_drop(kura_repo *repo, const kura_repo_open_options *opts)
{
	if (repo && opts->backend)
		repo->backend = NULL;
	kura_repo_free(repo);
}

static int open_with_passphrase(kura_repo **out, const char *location,
				const kura_repo_open_options *opts)
{
	const char *passphrase = opts->passphrase;
	kura_repo *repo;
	name_list names = {0};
	int err;

	*out = NULL;
	if ((err = open_backend(&repo, location, opts)) < 0)
		return err;
	if ((err = list_names(repo, KURA_FILE_KEY, &names)) < 0)
		goto done;
	if (names.count)
		prehash_begin(repo, opts);
	err = kura_error_set(KURA_EAUTH, "wrong passphrase: no key of the repository opens with it");
	for (size_t i = 0; i < names.count; i++) {
		uint8_t *data = NULL;
		size_t len;
		int rc;

		if (get_verified(repo, KURA_FILE_KEY, names.names[i].name, &data, &len) < 0)
			continue;
		rc = kura_keyfile_decode(&repo->keys, data, len, passphrase);
		if (rc == 0 && memcmp(repo->keys.repo_id, repo->config.repo_id, 32) == 0) {
			repo->keyfile = data;
			repo->keyfile_len = len;
			err = repo_finish_open(repo);
			break;
		}
		kura_keys_wipe(&repo->keys);
		free(data);
		if (rc != KURA_EAUTH)
			err = kura_error_wrap(rc, "key %s", names.names[i].name);
		else
			kura_error_set(KURA_EAUTH,
				       "wrong passphrase: no key of the repository opens with it");
	}
done:
	free(names.names);
	kura_prehash_stop(repo->prehash);
	if (err < 0)
		repo_drop(repo, opts);
	else
		*out = repo;
	return err;
}

static int read_small_file(const char *path, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = NULL;
	ssize_t n;
	size_t len = 0;
	int fd, err = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return kura_error_errno(errno == ENOENT ? KURA_ENOTFOUND : KURA_EIO, errno,
					"key file %s", path);
	if (!(buf = malloc(KEY_FILE_MAX + 1))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	while ((n = read(fd, buf + len, KEY_FILE_MAX + 1 - len)) > 0 && len < KEY_FILE_MAX + 1)
		len += (size_t)n;
	if (n < 0) {
		err = kura_error_errno(KURA_EIO, errno, "key file %s", path);
		goto done;
	}
	if (len > KEY_FILE_MAX) {
		err = kura_error_set(KURA_ECORRUPT, "key file %s: too large to be a kura key", path);
		goto done;
	}
	*out = buf;
	*out_len = len;
	buf = NULL;
done:
	free(buf);
	close(fd);
	return err;
}

static int open_with_keyfile(kura_repo **out, const char *location,
			     const kura_repo_open_options *opts)
{
	const char *key_path = opts->key_path, *passphrase = opts->passphrase;
	kura_repo *repo = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int kind, err;

	*out = NULL;
	if ((err = kura_crypto_init()) < 0)
		return err;
	if ((err = read_small_file(key_path, &data, &len)) < 0)
		return err;
	if ((kind = kura_keyfile_kind(data, len)) < 0) {
		err = kura_error_wrap(kind, "key file %s", key_path);
		goto done;
	}
	if (kind == KURA_KEY_RESTORE && !passphrase) {
		err = kura_error_set(KURA_EAUTH, "key file %s is a restore key: its passphrase is needed",
				     key_path);
		goto done;
	}
	if ((err = open_backend(&repo, location, opts)) < 0)
		goto done;
	if (kind == KURA_KEY_RESTORE)
		prehash_begin(repo, opts);
	err = kura_keyfile_decode(&repo->keys, data, len, passphrase);
	kura_prehash_stop(repo->prehash);
	if (err < 0) {
		kura_error_wrap(err, "key file %s", key_path);
		goto done;
	}
	if (kind == KURA_KEY_RESTORE) {
		repo->keyfile = data;
		repo->keyfile_len = len;
		data = NULL;
	}
	if ((err = repo_finish_open(repo)) < 0)
		kura_error_wrap(err, "key file %s", key_path);
done:
	free(data);
	if (err < 0)
		repo_drop(repo, opts);
	else
		*out = repo;
	return err;
}

int kura_repo_open_ext(kura_repo **out, const char *location, const kura_repo_open_options *opts)
{
	*out = NULL;
	if (!opts)
		return kura_error_set(KURA_EINVAL, "no open options given (start from "
						   "KURA_REPO_OPEN_OPTIONS_INIT)");
	if (opts->version > KURA_REPO_OPEN_OPTIONS_VERSION)
		return kura_error_set(KURA_EUNSUPPORTED,
				      "open options version %u: this library knows up to %d",
				      opts->version, KURA_REPO_OPEN_OPTIONS_VERSION);
	if (!location)
		return kura_error_set(KURA_EINVAL, "no repository location given");
	if (opts->key_path)
		return open_with_keyfile(out, location, opts);
	return open_with_passphrase(out, location, opts);
}

int kura_repo_open_passphrase(kura_repo **out, const char *location, const char *passphrase)
{
	kura_repo_open_options o = KURA_REPO_OPEN_OPTIONS_INIT;

	o.passphrase = passphrase;
	return kura_repo_open_ext(out, location, &o);
}

int kura_repo_open_keyfile(kura_repo **out, const char *location, const char *key_path,
			   const char *passphrase)
{
	kura_repo_open_options o = KURA_REPO_OPEN_OPTIONS_INIT;

	o.key_path = key_path;
	o.passphrase = passphrase;
	return kura_repo_open_ext(out, location, &o);
}

bool kura_repo_can_read(const kura_repo *repo) { return repo->keys.kind == KURA_KEY_RESTORE; }

const char *kura_repo_id(const kura_repo *repo) { return repo->id_hex; }

kura_backend *kura_repo_backend(kura_repo *repo) { return repo ? repo->backend : NULL; }

int kura_repo__need_restore_key(const kura_repo *repo, const char *what)
{
	if (kura_repo_can_read(repo))
		return 0;
	return kura_error_set(KURA_ENEEDKEY,
			      "%s needs the restore key: the repository was opened with a backup "
			      "key, which can add backups but never read them",
			      what);
}

static int write_new_file(const char *path, const uint8_t *data, size_t len)
{
	int fd, err = 0;
	size_t done = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return kura_error_errno(errno == EEXIST ? KURA_EEXISTS : KURA_EIO, errno,
					"cannot create %s", path);
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = kura_error_errno(KURA_EIO, errno, "writing %s", path);
			break;
		}
		done += (size_t)n;
	}
	if (!err && fsync(fd) < 0)
		err = kura_error_errno(KURA_EIO, errno, "fsync %s", path);
	close(fd);
	if (err)
		unlink(path);
	return err;
}

int kura_repo_export_backup_key(const kura_repo *repo, const char *path)
{
	kura_keys backup;
	uint8_t *data = NULL;
	size_t len;
	int err;

	kura_keys_to_backup(&backup, &repo->keys);
	err = kura_keyfile_encode_backup(&data, &len, &backup);
	kura_keys_wipe(&backup);
	if (err < 0)
		return err;
	err = write_new_file(path, data, len);
	kura_wipe(data, len);
	free(data);
	return err;
}

int kura_repo_export_restore_key(const kura_repo *repo, const char *path)
{
	int err;

	if ((err = kura_repo__need_restore_key(repo, "exporting the restore key")) < 0)
		return err;
	if (!repo->keyfile)
		return kura_error_set(KURA_ENOTFOUND, "no wrapped restore key is loaded");
	return write_new_file(path, repo->keyfile, repo->keyfile_len);
}

/* ---------------------------------------------------------------------- */
/* Index                                                                   */

int kura_repo__pack_ordinal(kura_repo *repo, const uint8_t name[KURA_HASH_SIZE], uint32_t *out)
{
	kura_blob_loc found, loc = {0};
	int err;

	if (kura_idmap_get(&found, repo->pack_ordinals, name)) {
		*out = found.pack;
		return 0;
	}
	if ((err = KURA_ARRAY_GROW(repo->packs, repo->packs_cap, repo->npacks + 1)) < 0 ||
	    (err = KURA_ARRAY_GROW(repo->pack_sizes, repo->pack_sizes_cap, repo->npacks + 1)) < 0)
		return err;
	memcpy(repo->packs[repo->npacks], name, KURA_HASH_SIZE);
	repo->pack_sizes[repo->npacks] = 0;
	memcpy(loc.id, name, KURA_HASH_SIZE);
	loc.pack = (uint32_t)repo->npacks;
	if ((err = kura_idmap_put(repo->pack_ordinals, &loc)) < 0)
		return err;
	*out = (uint32_t)repo->npacks++;
	return 0;
}

typedef struct {
	kura_repo *repo;
	int err;
} pack_scan;

static int add_listed_pack(const char *name, uint64_t size, void *ctx)
{
	pack_scan *scan = ctx;
	uint8_t id[KURA_HASH_SIZE];
	uint32_t ordinal;

	if (kura_unhex(id, name, sizeof(id)) < 0)
		return 0;
	if ((scan->err = kura_repo__pack_ordinal(scan->repo, id, &ordinal)) < 0)
		return scan->err;
	scan->repo->pack_sizes[ordinal] = size;
	return 0;
}

/*
 * Add one index file's records.  A file that does not verify, parse or
 * decrypt is noted as damaged and skipped: every other file still counts.
 */
static int load_index_file(kura_repo *repo, const char *name, kura_idmap *existing)
{
	kura_indexfile *idx = NULL;
	uint8_t *data = NULL;
	size_t len;
	int err;

	if ((err = get_verified(repo, KURA_FILE_INDEX, name, &data, &len)) < 0 ||
	    (err = kura_indexfile_decode(&idx, &repo->keys, data, len)) < 0) {
		if (kura_repo__is_damage(err)) {
			kura_repo__damaged(repo, KURA_FILE_INDEX, name, "%s", kura_error_message());
			err = 0;
		} else {
			kura_error_wrap(err, "index %s", name);
		}
		goto done;
	}
	for (size_t i = 0; i < idx->nrecords; i++) {
		const kura_index_record *r = &idx->records[i];
		kura_blob_loc pack, loc;

		if (!kura_idmap_get(&pack, existing, idx->packs[r->pack]))
			continue; /* pack removed by garbage collection, or never finished */
		kura_repo__loc_from_entry(&loc, &r->blob, pack.pack);
		if ((err = kura_repo__add_loc(repo, &loc)) == KURA_EINVAL) {
			/* a record beyond what the format allows: the rest of the file is suspect */
			kura_repo__damaged(repo, KURA_FILE_INDEX, name, "%s", kura_error_message());
			err = 0;
			break;
		}
		if (err < 0)
			goto done;
	}
done:
	kura_indexfile_free(idx);
	free(data);
	return err;
}


static int loc_cmp(const void *a, const void *b)
{
	const kura_blob_loc *x = a, *y = b;
	int c = memcmp(x->id, y->id, KURA_HASH_SIZE);

	if (c)
		return c;
	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static bool same_loc(const kura_blob_loc *a, const kura_blob_loc *b)
{
	return a->pack == b->pack && a->offset == b->offset && a->stored_len == b->stored_len &&
	       a->raw_len == b->raw_len && a->type == b->type && a->flags == b->flags;
}

/* Appends only (a load may add millions): sorting and duplicates wait for the first lookup. */
int kura_repo__add_loc(kura_repo *repo, const kura_blob_loc *loc)
{
	kura_blob_loc cur;
	int err;

	if (!kura_idmap_get(&cur, repo->index, loc->id) || cur.pack == KURA_PACK_PENDING)
		return kura_idmap_put(repo->index, loc);
	if (same_loc(&cur, loc))
		return 0;
	if ((err = KURA_ARRAY_GROW(repo->alts, repo->alts_cap, repo->nalts + 1)) < 0)
		return err;
	repo->alts[repo->nalts++] = *loc;
	repo->alts_sorted = false;
	return 0;
}

/* Sort the side table by id and drop repeated locations. */
static void alts_sort(kura_repo *repo)
{
	size_t n = 0;

	qsort(repo->alts, repo->nalts, sizeof(*repo->alts), loc_cmp);
	for (size_t i = 0; i < repo->nalts; i++) {
		if (n && memcmp(repo->alts[n - 1].id, repo->alts[i].id, KURA_HASH_SIZE) == 0 &&
		    same_loc(&repo->alts[n - 1], &repo->alts[i]))
			continue;
		repo->alts[n++] = repo->alts[i];
	}
	repo->nalts = n;
	repo->alts_sorted = true;
}

size_t kura_repo__alts(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE],
		       const kura_blob_loc **out)
{
	size_t lo = 0, hi, n = 0;

	*out = NULL;
	if (!repo->nalts)
		return 0;
	if (!repo->alts_sorted)
		alts_sort(repo);
	/* after the sort, which drops repeats: past the new end lie stale entries, not sorted */
	hi = repo->nalts;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(repo->alts[mid].id, id, KURA_HASH_SIZE) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + n < repo->nalts && memcmp(repo->alts[lo + n].id, id, KURA_HASH_SIZE) == 0)
		n++;
	*out = n ? &repo->alts[lo] : NULL;
	return n;
}

int kura_repo__load_index(kura_repo *repo)
{
	name_list names = {0};
	pack_scan scan = {repo, 0};
	int err;

	pthread_mutex_lock(&repo->lock);
	if (repo->index_loaded) {
		pthread_mutex_unlock(&repo->lock);
		return 0;
	}
	if ((err = kura_idmap_new(&repo->index)) < 0 ||
	    (err = kura_idmap_new(&repo->pack_ordinals)) < 0)
		goto done;
	if ((err = repo->backend->list(repo->backend, KURA_FILE_PACK, add_listed_pack, &scan)) < 0)
		goto done;
	if ((err = list_names(repo, KURA_FILE_INDEX, &names)) < 0)
		goto done;
	/* in name order, so that which location is tried first does not vary by store */
	for (size_t i = 0; i < names.count; i++)
		if ((err = load_index_file(repo, names.names[i].name, repo->pack_ordinals)) < 0)
			goto done;
	repo->index_loaded = true;
done:
	if (err < 0) {
		kura_idmap_free(repo->index);
		kura_idmap_free(repo->pack_ordinals);
		repo->index = repo->pack_ordinals = NULL;
		repo->npacks = 0;
		repo->nalts = 0;
	}
	free(names.names);
	pthread_mutex_unlock(&repo->lock);
	return err;
}

int kura_repo__pack_key(kura_repo *repo, uint32_t pack, uint8_t out[KURA_KEY_SIZE])
{
	uint8_t header[KURA_PACK_HEADER_SIZE], name_bytes[KURA_HASH_SIZE];
	kura_pack_key_slot *slot;
	char name[KURA_ID_HEX];
	int err;

	if ((err = kura_repo__need_restore_key(repo, "reading data")) < 0)
		return err;
	pthread_mutex_lock(&repo->lock);
	if (pack >= repo->npacks) {
		pthread_mutex_unlock(&repo->lock);
		return kura_error_set(KURA_EINVAL, "pack ordinal %u out of range", pack);
	}
	memcpy(name_bytes, repo->packs[pack], KURA_HASH_SIZE);
	slot = &repo->key_cache[pack % repo->key_cache_size];
	if (memcmp(slot->name, name_bytes, KURA_HASH_SIZE) == 0) {
		memcpy(out, slot->key, KURA_KEY_SIZE);
		pthread_mutex_unlock(&repo->lock);
		return 0;
	}
	pthread_mutex_unlock(&repo->lock);

	kura_hex(name, name_bytes, KURA_HASH_SIZE);
	if ((err = repo->backend->get_range(repo->backend, KURA_FILE_PACK, name, 0, sizeof(header),
					    header)) < 0)
		return err;
	if ((err = kura_pack_open_key(out, &repo->keys, header, sizeof(header))) < 0)
		return kura_error_wrap(err, "pack %s", name);
	pthread_mutex_lock(&repo->lock);
	memcpy(slot->name, name_bytes, KURA_HASH_SIZE);
	memcpy(slot->key, out, KURA_KEY_SIZE);
	pthread_mutex_unlock(&repo->lock);
	return 0;
}

/* The repository's reference reader (kura_repo__refs), noting whether it failed. */
typedef struct {
	kura_blob_refs repo;
	bool failed;
} noting_refs;

static int fetch_noting(void *ctx, const uint8_t id[KURA_HASH_SIZE], uint8_t **out, size_t *out_len)
{
	noting_refs *r = ctx;
	int err = r->repo.fetch(r->repo.ctx, id, out, out_len);

	if (err < 0 && err != KURA_ENOMEM)
		r->failed = true;
	return err;
}

int kura_repo__decode_blob_noting(kura_repo *repo, const kura_blob_loc *loc, const uint8_t *stored,
				  uint8_t **out, bool *out_ref_failed)
{
	uint8_t key[KURA_KEY_SIZE];
	noting_refs r = {.failed = false};
	kura_blob_refs refs = {.fetch = fetch_noting, .ctx = &r};
	kura_pack_entry e;
	int err;

	*out_ref_failed = false;
	if ((err = kura_repo__pack_key(repo, loc->pack, key)) < 0)
		return err;
	e.type = loc->type;
	e.flags = loc->flags;
	memcpy(e.id, loc->id, KURA_HASH_SIZE);
	e.offset = loc->offset;
	e.stored_len = loc->stored_len;
	e.raw_len = loc->raw_len;
	kura_repo__refs(repo, &r.repo);
	err = kura_blob_decode_with(out, key, repo->mac, &e, stored, loc->stored_len, &refs);
	kura_wipe(key, sizeof(key));
	*out_ref_failed = err < 0 && r.failed;
	return err;
}

int kura_repo__decode_blob(kura_repo *repo, const kura_blob_loc *loc, const uint8_t *stored,
			   uint8_t **out)
{
	bool ref_failed;

	return kura_repo__decode_blob_noting(repo, loc, stored, out, &ref_failed);
}

int kura_repo__read_blob(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE], uint8_t **out,
			 size_t *out_len)
{
	size_t len;
	int err;

	*out = NULL;
	if ((err = kura_repo__load_index(repo)) < 0)
		return err;
	if ((err = kura_repo__read_blob_any(repo, id, NULL, out, &len, NULL)) < 0)
		return err;
	if (out_len)
		*out_len = len;
	return 0;
}

int kura_repo__load_tree(kura_repo *repo, const uint8_t id[KURA_HASH_SIZE], kura_tree **out)
{
	uint8_t *data;
	size_t len;
	char hex[KURA_ID_HEX];
	int err;

	*out = NULL;
	if ((err = kura_repo__need_restore_key(repo, "reading trees")) < 0)
		return err;
	if (!kura_repo__treeahead_take(repo, id, &data, &len) &&
	    (err = kura_repo__read_blob(repo, id, &data, &len)) < 0)
		return err;
	if ((err = kura_tree_decode(out, data, len)) < 0) {
		kura_hex(hex, id, KURA_HASH_SIZE);
		kura_error_wrap(err, "tree %s", hex);
	}
	kura_wipe(data, len);
	free(data);
	return err;
}

int kura_repo__load_snapshot(kura_repo *repo, const char *id_hex, kura_snapshot **out)
{
	uint8_t *data;
	size_t len;
	int err;

	*out = NULL;
	if ((err = get_verified(repo, KURA_FILE_SNAPSHOT, id_hex, &data, &len)) < 0)
		return err;
	if ((err = kura_snapshot_decode(out, &repo->keys, data, len)) < 0)
		kura_error_wrap(err, "snapshot %s", id_hex);
	free(data);
	return err;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_store.c - where the vault's repositories live (vault_store.h):
 * the disk, or an S3 bucket with Object Lock.
 *
 * On S3, vault.json's "store" is {"url": URL, "lock_days": N, "region":
 * R?, "endpoint": E?, "addressing": "path"|"virtual"} and DIR/s3.json is
 * {"access_key_id": K, "secret_access_key": S, "session_token": T?},
 * mode 0600: JSON read strictly by jansson, so no parser of our own.
 * Every repository is PREFIX/REPO/ in the layout of the S3 backend
 * (lib/backend/s3.c), so `kura` with the restore key can also read it
 * there directly when the vault host is gone.  The prefix's claim is
 * PREFIX/_kurad/ ('_' starts no repository name): a marker "repository"
 * whose config files each hold the id of a vault that claimed it.
 */
#include "vault_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "files.h"
#include "kura/backend.h"
#include "kura/keyless.h"
#include "store_spool.h"

#define MARKER_REPO "_kurad"
#define MARKER_MAX 4096
#define LOCK_DAYS_MAX 36500

struct vault_store {
	char *url; /* NULL: the disk; else without a final '/' */
	char *endpoint, *region, *access_key, *secret_key, *session_token;
	bool virtual_host;
	uint32_t lock_days;
};

void vault_store_free(vault_store *s)
{
	if (!s)
		return;
	if (s->secret_key)
		kura_wipe(s->secret_key, strlen(s->secret_key));
	if (s->session_token)
		kura_wipe(s->session_token, strlen(s->session_token));
	free(s->url);
	free(s->endpoint);
	free(s->region);
	free(s->access_key);
	free(s->secret_key);
	free(s->session_token);
	free(s);
}

bool vault_store_on_disk(const vault_store *s)
{
	return !s || !s->url;
}

const char *vault_store_describe(const vault_store *s)
{
	return vault_store_on_disk(s) ? "disk" : s->url;
}

uint32_t vault_store_lock_days(const vault_store *s)
{
	return vault_store_on_disk(s) ? 0 : s->lock_days;
}

static void s3_options(const vault_store *s, kura_s3_options *o)
{
	memset(o, 0, sizeof(*o));
	o->version = KURA_S3_OPTIONS_VERSION;
	o->access_key = s->access_key;
	o->secret_key = s->secret_key;
	o->session_token = s->session_token;
	o->region = s->region;
	o->endpoint = s->endpoint;
	o->virtual_host = s->virtual_host;
	o->lock_days = s->lock_days;
}

/* URL/SUB, malloc'd (NULL when out of memory). */
static char *url_of(const vault_store *s, const char *sub)
{
	char *u = NULL;

	if (asprintf(&u, "%s/%s", s->url, sub) < 0)
		return NULL;
	return u;
}

static int dup_opt(char **out, const char *in)
{
	*out = NULL;
	if (in && *in && !(*out = strdup(in)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	return 0;
}

int vault_store_vault_id(const char *dir, char out[65])
{
	char *path = NULL, *pk = NULL;
	size_t len;
	int err;

	out[0] = '\0';
	if (asprintf(&path, "%s/signing.pub", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = files_read(path, VAULT_SMALL_FILE_MAX, &pk, &len)) == 0) {
		if (len != KURA_SIGN_PUBKEY_SIZE)
			err = kura_error_set(KURA_ECORRUPT, "%s: not a %d-byte public key", path,
					     KURA_SIGN_PUBKEY_SIZE);
		else
			kura_hex(out, (const uint8_t *)pk, len);
	}
	free(pk);
	free(path);
	return err;
}

/* ------------------------------------------------------------------ */
/* The claim of a prefix                                               */

/* The vault id a marker holds, into out; KURA_ECORRUPT if it is not a marker. */
static int marker_id(const uint8_t *data, size_t len, char out[65])
{
	json_t *doc = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, NULL);
	const char *id = NULL, *when = NULL;
	int version = 0, err = 0;

	if (!doc ||
	    json_unpack(doc, "{s:i, s:s, s:s}", "kurad_vault", &version, "vault_id", &id, "claimed",
			&when) < 0 ||
	    version != 1 || strlen(id) != 64)
		err = kura_error_set(KURA_ECORRUPT, "not a vault's claim");
	else
		memcpy(out, id, 65);
	json_decref(doc);
	return err;
}

typedef struct {
	kura_backend *b;
	const char *want;
	unsigned markers, ours;
	char other[65];
	int err;
} claim_scan;

static int scan_marker(const char *name, uint64_t size, void *ctx)
{
	claim_scan *c = ctx;
	uint8_t *data = NULL;
	size_t len;
	char id[65];

	if (size > MARKER_MAX)
		return 0; /* not one we wrote */
	if ((c->err = c->b->get(c->b, KURA_FILE_CONFIG, name, &data, &len)) < 0)
		return c->err;
	if (marker_id(data, len, id) == 0) {
		c->markers++;
		if (strcmp(id, c->want) == 0)
			c->ours++;
		else
			memcpy(c->other, id, sizeof(id));
	}
	kura_error_clear();
	free(data);
	return 0;
}

static int scan_claims(kura_backend *m, const char *vault_id, claim_scan *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	out->b = m;
	out->want = vault_id;
	if ((err = m->list(m, KURA_FILE_CONFIG, scan_marker, out)) < 0)
		return err;
	return out->err;
}

/* Write this vault's marker, then make sure it is the only one. */
static int claim(const vault_store *s, const char *vault_id)
{
	kura_s3_options o;
	kura_backend *m = NULL;
	char *url = url_of(s, MARKER_REPO), *text = NULL, when[40], name[KURA_ID_HEX];
	uint8_t hash[KURA_HASH_SIZE];
	claim_scan c;
	int err;

	if (!url)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	s3_options(s, &o);
	if ((err = kura_backend_s3_create(&m, url, &o)) < 0) {
		if (err == KURA_EEXISTS)
			err = kura_error_set(KURA_EEXISTS,
					     "%s is claimed by another vault already: one vault "
					     "per prefix (give this one a prefix of its own)",
					     s->url);
		goto done;
	}
	files_format_time_s(when, kura_now_ns(CLOCK_REALTIME));
	if (asprintf(&text, "{\"kurad_vault\": 1, \"vault_id\": \"%s\", \"claimed\": \"%s\"}\n",
		     vault_id, when) < 0) {
		text = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	kura_sha256(hash, text, strlen(text));
	kura_hex(name, hash, sizeof(hash));
	if ((err = m->put(m, KURA_FILE_CONFIG, name, text, strlen(text))) < 0)
		goto done;
	/* Two inits at once: each sees the other's marker afterwards, and stops. */
	if ((err = scan_claims(m, vault_id, &c)) < 0)
		goto done;
	if (c.ours != 1 || c.markers != 1)
		err = kura_error_set(KURA_EEXISTS,
				     "%s: another vault (%.16s...) claimed this prefix at the same "
				     "time: one vault per prefix",
				     s->url, c.other);
done:
	kura_backend_free(m);
	free(text);
	free(url);
	return err;
}

int vault_store_check_claim(const vault_store *s, const char *vault_id)
{
	kura_backend *m = NULL;
	claim_scan c;
	int err;

	if (vault_store_on_disk(s))
		return 0;
	if ((err = vault_store_open_marker(s, &m)) < 0) {
		if (err == KURA_ENOTFOUND)
			err = kura_error_set(KURA_EDENIED,
					     "%s: no vault has claimed this prefix (no %s/): not "
					     "serving a store made by something else",
					     s->url, MARKER_REPO);
		return err;
	}
	if ((err = scan_claims(m, vault_id, &c)) == 0 && !c.ours)
		err = kura_error_set(KURA_EDENIED,
				     "%s belongs to another vault (%.16s...), not to this one "
				     "(%.16s...): two vaults never share a prefix",
				     s->url, c.markers ? c.other : "none", vault_id);
	kura_backend_free(m);
	return err;
}

/* ------------------------------------------------------------------ */
/* Settings                                                            */

static int check_url(const char *url)
{
	if (!url || !kura_location_is_s3(url))
		return kura_error_set(
		    KURA_EINVAL,
		    "store '%s': want s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX] or "
		    "s3://BUCKET[/PREFIX]",
		    url ? url : "");
	if (strlen(url) > 1024)
		return kura_error_set(KURA_EINVAL, "store URL: longer than 1024 bytes");
	return 0;
}

/* A copy of `url` without final slashes. */
static char *trimmed(const char *url)
{
	char *u = strdup(url);
	size_t n;

	if (u)
		for (n = strlen(u); n > 0 && u[n - 1] == '/'; n--)
			u[n - 1] = '\0';
	return u;
}

static int write_credentials(const char *dir, const vault_store_init_options *o)
{
	json_t *doc = json_pack("{s:s, s:s}", "access_key_id", o->access_key, "secret_access_key",
				o->secret_key);
	char *text = NULL, *path = NULL;
	int err;

	if (doc && o->session_token && *o->session_token &&
	    json_object_set_new(doc, "session_token", json_string(o->session_token)) < 0) {
		json_decref(doc);
		doc = NULL;
	}
	text = doc ? files_json_text(doc) : NULL;

	json_decref(doc);
	if (!text || asprintf(&path, "%s/s3.json", dir) < 0) {
		free(text);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	err = files_write_new(path, text, strlen(text), 0600);
	kura_wipe(text, strlen(text));
	free(text);
	free(path);
	return err;
}

int vault_store_init(const char *dir, const char *vault_id, const vault_store_init_options *o,
		     json_t **out_json)
{
	vault_store s = {0};
	int err;

	*out_json = NULL;
	if ((err = check_url(o->url)) < 0)
		return err;
	if (!o->access_key || !*o->access_key || !o->secret_key || !*o->secret_key)
		return kura_error_set(KURA_EAUTH,
				      "--store %s: no S3 credentials (set "
				      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
				      o->url);
	if (o->lock_days > LOCK_DAYS_MAX)
		return kura_error_set(KURA_EINVAL, "a lock of %u days is more than 100 years",
				      o->lock_days);
	s.lock_days = o->lock_days ? o->lock_days : KURA_S3_LOCK_DAYS_DEFAULT;
	s.virtual_host = o->virtual_host;
	if (!(s.url = trimmed(o->url)) || (err = dup_opt(&s.endpoint, o->endpoint)) < 0 ||
	    (err = dup_opt(&s.region, o->region)) < 0 ||
	    (err = dup_opt(&s.access_key, o->access_key)) < 0 ||
	    (err = dup_opt(&s.secret_key, o->secret_key)) < 0 ||
	    (err = dup_opt(&s.session_token, o->session_token)) < 0) {
		err = err < 0 ? err : kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = claim(&s, vault_id)) < 0 || (err = write_credentials(dir, o)) < 0)
		goto done;
	*out_json = json_pack("{s:s, s:i, s:s}", "url", s.url, "lock_days", (int)s.lock_days,
			      "addressing", s.virtual_host ? "virtual" : "path");
	/* absent, not null: vault_store_load reads strings or nothing */
	if (*out_json && s.region &&
	    json_object_set_new(*out_json, "region", json_string(s.region)) < 0)
		err = KURA_ENOMEM;
	if (*out_json && s.endpoint &&
	    json_object_set_new(*out_json, "endpoint", json_string(s.endpoint)) < 0)
		err = KURA_ENOMEM;
	if (!*out_json || err < 0) {
		json_decref(*out_json);
		*out_json = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
	}
done:
	free(s.url);
	free(s.endpoint);
	free(s.region);
	free(s.access_key);
	if (s.secret_key)
		kura_wipe(s.secret_key, strlen(s.secret_key));
	free(s.secret_key);
	if (s.session_token)
		kura_wipe(s.session_token, strlen(s.session_token));
	free(s.session_token);
	return err;
}

/* DIR/s3.json into s: only kurad's user may read it. */
static int load_credentials(vault_store *s, const char *dir)
{
	char *path = NULL, *text = NULL;
	const char *ak, *sk, *tok = NULL;
	json_t *doc = NULL;
	json_error_t jerr;
	struct stat st;
	size_t len = 0;
	int err;

	if (asprintf(&path, "%s/s3.json", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = files_read(path, VAULT_SMALL_FILE_MAX, &text, &len)) < 0)
		goto done;
	if (lstat(path, &st) < 0 || (st.st_mode & 077) || st.st_uid != geteuid()) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: the S3 keys must be readable by kurad's user only "
				     "(mode 0600, owned by uid %u)",
				     path, (unsigned)geteuid());
		goto done;
	}
	if (!(doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr)) ||
	    json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s:s, s?s}", "access_key_id", &ak,
			   "secret_access_key", &sk, "session_token", &tok) < 0) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: %s (want {\"access_key_id\", \"secret_access_key\", "
				     "\"session_token\"?})",
				     path, jerr.text);
		goto done;
	}
	if ((err = dup_opt(&s->access_key, ak)) < 0 || (err = dup_opt(&s->secret_key, sk)) < 0 ||
	    (err = dup_opt(&s->session_token, tok)) < 0)
		goto done;
done:
	if (doc) {
		const char *v = json_string_value(json_object_get(doc, "secret_access_key"));

		if (v)
			kura_wipe((char *)v, strlen(v));
		json_decref(doc);
	}
	if (text) {
		kura_wipe(text, len);
		free(text);
	}
	free(path);
	return err;
}

int vault_store_load(vault_store **out, const char *dir)
{
	char *path = NULL, *text = NULL;
	const char *url = NULL, *region = NULL, *endpoint = NULL, *addressing = "path";
	json_t *doc = NULL, *store;
	json_error_t jerr;
	json_int_t days = 0;
	vault_store *s;
	int err = 0;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if (asprintf(&path, "%s/vault.json", dir) < 0) {
		path = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if ((err = files_read(path, VAULT_SMALL_FILE_MAX, &text, NULL)) < 0)
		goto done;
	if (!(doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
		goto done;
	}
	if (!(store = json_object_get(doc, "store")))
		goto done; /* the disk */
	if (json_unpack_ex(store, &jerr, JSON_STRICT, "{s:s, s:I, s?s, s?s, s?s}", "url", &url,
			   "lock_days", &days, "region", &region, "endpoint", &endpoint,
			   "addressing", &addressing) < 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: \"store\": %s", path, jerr.text);
		goto done;
	}
	if (check_url(url) < 0 || days < 1 || days > LOCK_DAYS_MAX ||
	    (strcmp(addressing, "path") && strcmp(addressing, "virtual"))) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: \"store\" needs an s3: URL, lock_days 1 to %d and "
				     "addressing \"path\" or \"virtual\"",
				     path, LOCK_DAYS_MAX);
		goto done;
	}
	s->lock_days = (uint32_t)days;
	s->virtual_host = strcmp(addressing, "virtual") == 0;
	if (!(s->url = trimmed(url)) || (err = dup_opt(&s->region, region)) < 0 ||
	    (err = dup_opt(&s->endpoint, endpoint)) < 0) {
		err = err < 0 ? err : kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	err = load_credentials(s, dir);
done:
	json_decref(doc);
	free(text);
	free(path);
	if (err < 0)
		vault_store_free(s);
	else
		*out = s;
	return err;
}

/* ------------------------------------------------------------------ */
/* Repositories                                                        */

int vault_store_open_s3(const vault_store *s, const char *repo, kura_backend **out)
{
	kura_s3_options o;
	char *url;
	int err;

	*out = NULL;
	if (vault_store_on_disk(s))
		return kura_error_set(KURA_EINVAL, "this vault keeps its repositories on its disk, "
						   "not on S3");
	if (!(url = url_of(s, repo)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	s3_options(s, &o);
	err = kura_backend_s3_open(out, url, &o);
	free(url);
	return err;
}

int vault_store_open_marker(const vault_store *s, kura_backend **out)
{
	return vault_store_open_s3(s, MARKER_REPO, out);
}

int vault_store_open_repo(const vault_store *s, const char *dir, const char *repo,
			  kura_backend **out)
{
	kura_backend *inner = NULL;
	char *path = NULL;
	int err;

	*out = NULL;
	if (vault_store_on_disk(s)) {
		if (asprintf(&path, "%s/repos/%s", dir, repo) < 0)
			return kura_error_set(KURA_ENOMEM, "out of memory");
		err = kura_backend_local_open(out, path);
		free(path);
		return err;
	}
	if ((err = vault_store_open_s3(s, repo, &inner)) < 0)
		return kura_error_wrap(err, "repository %s", repo);
	if ((err = files_make_dir(dir, "spool")) < 0 ||
	    asprintf(&path, "%s/spool/%s", dir, repo) < 0) {
		err = err < 0 ? err : kura_error_set(KURA_ENOMEM, "out of memory");
		path = NULL;
		kura_backend_free(inner);
		goto done;
	}
	err = store_spool_open(out, inner, path); /* takes inner */
done:
	free(path);
	return err;
}

int vault_store_create_repo(const vault_store *s, const char *dir, const char *repo)
{
	kura_backend *b = NULL;
	kura_s3_options o;
	struct stat st;
	char *path = NULL;
	int err;

	if (vault_store_on_disk(s)) {
		if (asprintf(&path, "%s/repos/%s", dir, repo) < 0)
			return kura_error_set(KURA_ENOMEM, "out of memory");
		if (lstat(path, &st) < 0) {
			if (errno != ENOENT)
				err = kura_error_errno(kura_errno_code(errno), errno, "%s", path);
			else
				err = kura_backend_local_create(&b, path);
		} else {
			err = S_ISDIR(st.st_mode)
				  ? 0
				  : kura_error_set(KURA_ECORRUPT, "%s: not a directory", path);
		}
		goto done;
	}
	/* Opened: it exists (its lock settings are there). */
	if ((err = vault_store_open_s3(s, repo, &b)) != KURA_ENOTFOUND)
		goto done;
	kura_error_clear();
	if (!(path = url_of(s, repo))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	s3_options(s, &o);
	err = kura_backend_s3_create(&b, path, &o);
done:
	kura_backend_free(b);
	free(path);
	return err;
}

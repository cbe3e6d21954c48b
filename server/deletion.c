/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deletion.c - deletion only by policy, approval and delay (deletion.h,
 * docs/PROTOCOL.md, "Deletion").
 *
 * The request files in DIR/deletions/ are the whole state.  Every change
 * is a read-modify-write under an exclusive flock on DIR/deletions/.lock
 * (held by `kurad serve`'s request threads and its tick, and by `kurad
 * approve` / `kurad cancel` in their own processes), written to a
 * temporary file, fsynced, renamed into place and the directory fsynced:
 * a reader without the lock sees the old file or the new one, whole.
 *
 * Nothing in a request file is trusted.  It is parsed strictly each time
 * it is read, and an approval counts only if its signature verifies over
 * the statement rebuilt from the file as it is now, under the approver's
 * current public key in DIR/approvers/: editing a file or replacing a key
 * can void approvals, never add one.
 *
 * Every doubt resolves to keeping data: a request with a cancellation, a
 * file that does not parse, a snapshot without a recorded receive time,
 * a garbage-collection plan that cannot be made, an audit entry that
 * cannot be written - each means nothing (more) is removed.  Each removal
 * is written to the audit log before the file is removed.
 *
 * Static names carry a dl_ prefix: the unit tests compile this file
 * together with vault.c and policy.c in one translation unit.
 */
#include "deletion.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "files.h"
#include "kura/keyless.h"
#include "policy.h"

#define DL_MAGIC "kura-deletion-v1\n"
#define DL_REQUEST_MAX (8 << 20) /* one request file (a 1 MiB body makes about 1.2 MiB) */
#define DL_SMALL_MAX (64 << 10)	 /* approver records and key files */
#define DL_SNAPSHOTS_MAX 100000
#define DL_APPROVALS_MAX 100 /* the largest quorum a policy may ask for */
#define DL_ID_MAX 999999999UL
#define DL_NS 1000000000LL

#define DL_PK_B64                                                                                  \
	sodium_base64_ENCODED_LEN(crypto_sign_PUBLICKEYBYTES, sodium_base64_VARIANT_ORIGINAL)
#define DL_SK_B64                                                                                  \
	sodium_base64_ENCODED_LEN(crypto_sign_SECRETKEYBYTES, sodium_base64_VARIANT_ORIGINAL)
#define DL_SIG_B64 sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)

typedef enum { DL_PENDING = 1, DL_CANCELLED = 2, DL_DONE = 3 } dl_state;

typedef struct {
	char approver[VAULT_NAME_MAX + 1];
	int64_t time_ns;
	uint8_t sig[crypto_sign_BYTES];
	bool logged;
} dl_sig;

typedef struct {
	unsigned long id;
	char *corrupt; /* why the file could not be read; then only `id` is set */
	char repo[VAULT_NAME_MAX + 1];
	char requested_by[VAULT_NAME_MAX + 1];
	int64_t requested_ns;
	char (*snaps)[KURA_ID_HEX]; /* sorted, unique */
	size_t nsnaps;
	bool prune;
	dl_state state;
	dl_sig *approvals;
	size_t napprovals;
	bool has_cancel;
	dl_sig cancel;
	int64_t quorum_ns; /* 0: null */
	int64_t done_ns;   /* 0: null */
	json_t *result;	   /* NULL: null */
} dl_req;

static const char *dl_state_name(dl_state s)
{
	return s == DL_PENDING ? "pending" : s == DL_CANCELLED ? "cancelled" : "done";
}

static void dl_req_free(dl_req *r)
{
	if (!r)
		return;
	free(r->corrupt);
	free(r->snaps);
	free(r->approvals);
	json_decref(r->result);
	memset(r, 0, sizeof(*r));
}

static void dl_reqs_free(dl_req *rs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dl_req_free(&rs[i]);
	free(rs);
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

/* DIR/SUB, made (mode 0700) if missing; *out malloc'd. */
static int dl_subdir(const char *dir, const char *sub, char **out)
{
	if (asprintf(out, "%s/%s", dir, sub) < 0) {
		*out = NULL;
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	if (mkdir(*out, 0700) < 0 && errno != EEXIST) {
		int err = kura_error_errno(kura_errno_code(errno), errno, "%s: mkdir", *out);

		free(*out);
		*out = NULL;
		return err;
	}
	return 0;
}

/* A JSON document as text with a final newline; malloc'd. */
static char *dl_dump(const json_t *doc)
{
	char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(2)), *out = NULL;

	if (text && asprintf(&out, "%s\n", text) < 0)
		out = NULL;
	free(text);
	return out;
}

static void dl_format_time(char out[40], int64_t ns)
{
	time_t sec = (time_t)(ns / DL_NS);
	struct tm tm;

	if (ns % DL_NS < 0)
		sec--;
	gmtime_r(&sec, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */

/* The vault's public signing key (DIR/signing.pub) as base64. */
static int dl_vault_key(const char *dir, char out[DL_PK_B64])
{
	char *path = NULL, *pk = NULL;
	size_t len = 0;
	int err;

	if (asprintf(&path, "%s/signing.pub", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = vault_read_file(path, DL_SMALL_MAX, &pk, &len)) < 0) {
		if (err == KURA_ENOTFOUND)
			err = kura_error_set(KURA_ENOTFOUND, "%s: no vault here (no signing.pub)",
					     dir);
		goto done;
	}
	if (len != crypto_sign_PUBLICKEYBYTES) {
		err = kura_error_set(KURA_ECORRUPT, "%s: not a %d-byte Ed25519 public key", path,
				     crypto_sign_PUBLICKEYBYTES);
		goto done;
	}
	sodium_bin2base64(out, DL_PK_B64, (const unsigned char *)pk, len,
			  sodium_base64_VARIANT_ORIGINAL);
done:
	free(pk);
	free(path);
	return err;
}

/* Exactly `len` bytes of standard base64 (with padding). */
static int dl_unbase64(uint8_t *out, size_t len, const char *b64)
{
	size_t got = 0;

	if (!b64 ||
	    sodium_base642bin(out, len, b64, strlen(b64), NULL, &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != len)
		return -1;
	return 0;
}

/* The public key of approver `name` (DIR/approvers/NAME.json). */
static int dl_approver_load(const char *dir, const char *name,
			    uint8_t pk[crypto_sign_PUBLICKEYBYTES])
{
	char *path = NULL, *text = NULL;
	const char *jname, *jpk, *created;
	json_t *doc = NULL;
	json_error_t jerr;
	size_t len;
	int err;

	if (!vault_name_ok(name))
		return kura_error_set(KURA_EINVAL, "bad approver name");
	if (asprintf(&path, "%s/approvers/%s.json", dir, name) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = vault_read_file(path, DL_SMALL_MAX, &text, &len)) < 0) {
		if (err == KURA_ENOTFOUND)
			err =
			    kura_error_set(KURA_ENOTFOUND, "no approver '%s' in this vault", name);
		goto done;
	}
	if (!(doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
		goto done;
	}
	if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s:s, s:s}", "name", &jname, "public_key",
			   &jpk, "created", &created) < 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: %s", path, jerr.text);
		goto done;
	}
	if (strcmp(jname, name) != 0 || dl_unbase64(pk, crypto_sign_PUBLICKEYBYTES, jpk) < 0) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: \"name\" must match the file name and \"public_key\" "
				     "be a base64 Ed25519 public key",
				     path);
		goto done;
	}
done:
	json_decref(doc);
	free(text);
	free(path);
	return err;
}

int vault_approver_add(const char *dir, const char *name, const char *output)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	char vkey[DL_PK_B64], pk64[DL_PK_B64], sk64[DL_SK_B64], created[40];
	char *adir = NULL, *path = NULL, *keytext = NULL, *rectext = NULL, *name_json = NULL;
	json_t *key = NULL, *rec = NULL;
	bool wrote_output = false;
	int err;

	if (!vault_name_ok(name))
		return kura_error_set(KURA_EINVAL,
				      "bad approver name '%s' (lowercase letters, digits, . _ -; "
				      "starting with a letter or digit; at most %d)",
				      name ? name : "", VAULT_NAME_MAX);
	if (!output)
		return kura_error_set(KURA_EINVAL, "the approver key needs an output file");
	if ((err = kura_crypto_init()) < 0 || (err = dl_vault_key(dir, vkey)) < 0)
		return err;
	if ((err = dl_subdir(dir, "approvers", &adir)) < 0)
		return err;
	if (asprintf(&path, "%s/%s.json", adir, name) < 0) {
		path = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (asprintf(&name_json, "%s.json", name) < 0) {
		name_json = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (access(path, F_OK) == 0) {
		err = kura_error_set(KURA_EEXISTS, "approver '%s' already exists", name);
		goto done;
	}
	crypto_sign_keypair(pk, sk);
	sodium_bin2base64(pk64, sizeof(pk64), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(sk64, sizeof(sk64), sk, sizeof(sk), sodium_base64_VARIANT_ORIGINAL);
	dl_format_time(created, (int64_t)time(NULL) * DL_NS);
	key = json_pack("{s:i, s:s, s:s, s:s}", "kura_approver_key", 1, "vault_signing_key", vkey,
			"name", name, "secret_key", sk64);
	rec = json_pack("{s:s, s:s, s:s}", "name", name, "public_key", pk64, "created", created);
	if (!key || !rec || !(keytext = dl_dump(key)) || !(rectext = dl_dump(rec))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	/* The key first: a registered approver whose key nobody holds is useless. */
	if ((err = vault_write_new(output, keytext, strlen(keytext), 0600)) < 0)
		goto done;
	wrote_output = true;
	if ((err = vault_write_atomic(adir, name_json, rectext, true)) < 0) {
		if (err == KURA_EEXISTS)
			err = kura_error_set(KURA_EEXISTS, "approver '%s' already exists", name);
		goto done;
	}
done:
	if (err < 0 && wrote_output)
		unlink(output);
	if (key)
		sodium_memzero((char *)json_string_value(json_object_get(key, "secret_key")),
			       strlen(sk64));
	if (keytext) {
		sodium_memzero(keytext, strlen(keytext));
		free(keytext);
	}
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(sk64, sizeof(sk64));
	json_decref(key);
	json_decref(rec);
	free(rectext);
	free(name_json);
	free(path);
	free(adir);
	return err;
}

/* An approver key file: its name and secret key (wipe it), checked against this vault. */
static int dl_key_load(const char *dir, const char *key_path, char name[VAULT_NAME_MAX + 1],
		       uint8_t sk[crypto_sign_SECRETKEYBYTES])
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], registered[crypto_sign_PUBLICKEYBYTES];
	char vkey[DL_PK_B64], *text = NULL;
	const char *jvkey, *jname, *jsk;
	json_int_t version;
	json_t *doc = NULL;
	json_error_t jerr;
	size_t len = 0;
	int err;

	if ((err = dl_vault_key(dir, vkey)) < 0)
		return err;
	if ((err = vault_read_file(key_path, DL_SMALL_MAX, &text, &len)) < 0)
		return err;
	if (!(doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr))) {
		err = kura_error_set(KURA_EINVAL, "%s: not an approver key file (line %d: %s)",
				     key_path, jerr.line, jerr.text);
		goto done;
	}
	if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:I, s:s, s:s, s:s}", "kura_approver_key",
			   &version, "vault_signing_key", &jvkey, "name", &jname, "secret_key",
			   &jsk) < 0) {
		err = kura_error_set(KURA_EINVAL, "%s: not an approver key file: %s", key_path,
				     jerr.text);
		goto done;
	}
	if (version != 1) {
		err = kura_error_set(KURA_EUNSUPPORTED,
				     "%s: approver key version %" JSON_INTEGER_FORMAT
				     " not understood",
				     key_path, version);
		goto done;
	}
	if (!vault_name_ok(jname) || dl_unbase64(sk, crypto_sign_SECRETKEYBYTES, jsk) < 0) {
		err = kura_error_set(KURA_EINVAL, "%s: bad \"name\" or \"secret_key\"", key_path);
		goto done;
	}
	if (strcmp(jvkey, vkey) != 0) {
		err = kura_error_set(KURA_EDENIED,
				     "%s: this approver key belongs to another vault (its "
				     "vault_signing_key is not %s's)",
				     key_path, dir);
		goto done;
	}
	if ((err = dl_approver_load(dir, jname, registered)) < 0)
		goto done;
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	if (sodium_memcmp(pk, registered, sizeof(pk)) != 0 ||
	    sodium_memcmp(pk, sk + crypto_sign_SECRETKEYBYTES - crypto_sign_PUBLICKEYBYTES,
			  sizeof(pk)) != 0) {
		err = kura_error_set(KURA_EDENIED,
				     "%s: this is not the key registered for approver '%s'",
				     key_path, jname);
		goto done;
	}
	strcpy(name, jname);
done:
	if (err < 0)
		sodium_memzero(sk, crypto_sign_SECRETKEYBYTES);
	if (doc && json_is_string(json_object_get(doc, "secret_key")))
		sodium_memzero((char *)json_string_value(json_object_get(doc, "secret_key")),
			       strlen(json_string_value(json_object_get(doc, "secret_key"))));
	json_decref(doc);
	sodium_memzero(text, len);
	free(text);
	return err;
}

/* ------------------------------------------------------------------ */
/* Request files                                                       */

static int dl_cmp_name(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static int dl_sig_parse(const json_t *o, const char *path, const char *what, dl_sig *out)
{
	const char *approver, *sig;
	json_int_t t;
	json_error_t jerr;
	int logged;

	memset(out, 0, sizeof(*out));
	if (json_unpack_ex((json_t *)o, &jerr, JSON_STRICT, "{s:s, s:I, s:s, s:b}", "approver",
			   &approver, "time_ns", &t, "sig", &sig, "logged", &logged) < 0)
		return kura_error_set(KURA_ECORRUPT, "%s: %s: %s", path, what, jerr.text);
	if (!vault_name_ok(approver) || t <= 0 || dl_unbase64(out->sig, sizeof(out->sig), sig) < 0)
		return kura_error_set(KURA_ECORRUPT, "%s: %s: bad approver, time_ns or sig", path,
				      what);
	strcpy(out->approver, approver);
	out->time_ns = (int64_t)t;
	out->logged = logged != 0;
	return 0;
}

/* null, or an integer > 0, into *out (0 for null). */
static int dl_opt_time(const json_t *j, int64_t *out)
{
	*out = 0;
	if (json_is_null(j))
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) <= 0)
		return -1;
	*out = (int64_t)json_integer_value(j);
	return 0;
}

static int dl_req_parse(dl_req *r, const char *text, size_t len, const char *path, unsigned long id)
{
	json_t *doc = NULL, *snaps, *apps, *cancel, *quorum, *done_j, *result, *item;
	const char *repo, *by, *state;
	json_int_t jid, rns;
	json_error_t jerr;
	int prune, err = 0;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->id = id;
	if (!(doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)))
		return kura_error_set(KURA_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
	if (json_unpack_ex(doc, &jerr, JSON_STRICT,
			   "{s:I, s:s, s:s, s:I, s:o, s:b, s:s, s:o, s:o, s:o, s:o, s:o}", "id",
			   &jid, "repo", &repo, "requested_by", &by, "requested_ns", &rns,
			   "snapshots", &snaps, "prune", &prune, "state", &state, "approvals",
			   &apps, "cancellation", &cancel, "quorum_ns", &quorum, "done_ns", &done_j,
			   "result", &result) < 0) {
		err = kura_error_set(KURA_ECORRUPT, "%s: %s", path, jerr.text);
		goto done;
	}
	if (jid < 0 || (unsigned long)jid != id || !vault_name_ok(repo) || !vault_name_ok(by) ||
	    rns <= 0) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: bad id (must match the file name), repo, requested_by or "
				     "requested_ns",
				     path);
		goto done;
	}
	strcpy(r->repo, repo);
	strcpy(r->requested_by, by);
	r->requested_ns = (int64_t)rns;
	r->prune = prune != 0;
	if (!json_is_array(snaps) || json_array_size(snaps) > DL_SNAPSHOTS_MAX ||
	    !json_is_array(apps) || json_array_size(apps) > DL_APPROVALS_MAX) {
		err = kura_error_set(KURA_ECORRUPT, "%s: bad snapshots or approvals", path);
		goto done;
	}
	if (json_array_size(snaps) &&
	    !(r->snaps = calloc(json_array_size(snaps), sizeof(*r->snaps)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	json_array_foreach(snaps, i, item) {
		if (!kura_file_name_ok(json_string_value(item))) {
			err = kura_error_set(KURA_ECORRUPT, "%s: snapshot %zu is not a file name",
					     path, i);
			goto done;
		}
		memcpy(r->snaps[i], json_string_value(item), KURA_ID_HEX);
	}
	r->nsnaps = json_array_size(snaps);
	if (r->nsnaps)
		qsort(r->snaps, r->nsnaps, sizeof(*r->snaps), dl_cmp_name);
	for (i = 1; i < r->nsnaps; i++)
		if (strcmp(r->snaps[i - 1], r->snaps[i]) == 0) {
			err = kura_error_set(KURA_ECORRUPT, "%s: snapshot %s named twice", path,
					     r->snaps[i]);
			goto done;
		}
	if (r->nsnaps == 0 && !r->prune) {
		err = kura_error_set(KURA_ECORRUPT, "%s: requests nothing", path);
		goto done;
	}
	if (json_array_size(apps) &&
	    !(r->approvals = calloc(json_array_size(apps), sizeof(*r->approvals)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	json_array_foreach(apps, i, item) {
		if ((err = dl_sig_parse(item, path, "approval", &r->approvals[i])) < 0)
			goto done;
		for (size_t j = 0; j < i; j++)
			if (strcmp(r->approvals[j].approver, r->approvals[i].approver) == 0) {
				err = kura_error_set(KURA_ECORRUPT, "%s: approver %s listed twice",
						     path, r->approvals[i].approver);
				goto done;
			}
		r->napprovals = i + 1;
	}
	if (!json_is_null(cancel)) {
		if ((err = dl_sig_parse(cancel, path, "cancellation", &r->cancel)) < 0)
			goto done;
		r->has_cancel = true;
	}
	if (dl_opt_time(quorum, &r->quorum_ns) < 0 || dl_opt_time(done_j, &r->done_ns) < 0 ||
	    !(json_is_null(result) || json_is_object(result))) {
		err = kura_error_set(KURA_ECORRUPT, "%s: bad quorum_ns, done_ns or result", path);
		goto done;
	}
	if (json_is_object(result))
		r->result = json_incref(result);
	r->state = strcmp(state, "pending") == 0     ? DL_PENDING
		   : strcmp(state, "cancelled") == 0 ? DL_CANCELLED
		   : strcmp(state, "done") == 0	     ? DL_DONE
						     : 0;
	/* A state that contradicts the rest is a sign of editing: refuse it. */
	if (!r->state || (r->state == DL_CANCELLED) != r->has_cancel ||
	    (r->state == DL_DONE) != (r->done_ns != 0 && r->result != NULL)) {
		err = kura_error_set(KURA_ECORRUPT,
				     "%s: state \"%s\" does not agree with cancellation, done_ns "
				     "and result",
				     path, state);
		goto done;
	}
done:
	json_decref(doc);
	if (err < 0) {
		dl_req_free(r);
		r->id = id;
	}
	return err;
}

static json_t *dl_sig_json(const dl_sig *s)
{
	char sig[DL_SIG_B64];

	sodium_bin2base64(sig, sizeof(sig), s->sig, sizeof(s->sig), sodium_base64_VARIANT_ORIGINAL);
	return json_pack("{s:s, s:I, s:s, s:b}", "approver", s->approver, "time_ns",
			 (json_int_t)s->time_ns, "sig", sig, "logged", s->logged);
}

static json_t *dl_opt_int(int64_t v)
{
	return v ? json_integer((json_int_t)v) : json_null();
}

/* The request as its file's JSON object. */
static json_t *dl_req_json(const dl_req *r)
{
	json_t *snaps = json_array(), *apps = json_array(), *o;
	size_t i;

	for (i = 0; snaps && i < r->nsnaps; i++)
		if (json_array_append_new(snaps, json_string(r->snaps[i])) < 0)
			goto fail;
	for (i = 0; apps && i < r->napprovals; i++)
		if (json_array_append_new(apps, dl_sig_json(&r->approvals[i])) < 0)
			goto fail;
	if (!snaps || !apps)
		goto fail;
	o = json_pack("{s:I, s:s, s:s, s:I, s:o, s:b, s:s, s:o, s:o, s:o, s:o, s:o}", "id",
		      (json_int_t)r->id, "repo", r->repo, "requested_by", r->requested_by,
		      "requested_ns", (json_int_t)r->requested_ns, "snapshots", snaps, "prune",
		      r->prune, "state", dl_state_name(r->state), "approvals", apps, "cancellation",
		      r->has_cancel ? dl_sig_json(&r->cancel) : json_null(), "quorum_ns",
		      dl_opt_int(r->quorum_ns), "done_ns", dl_opt_int(r->done_ns), "result",
		      r->result ? json_incref(r->result) : json_null());
	return o; /* json_pack's "o" took the references, even when it failed */
fail:
	json_decref(snaps);
	json_decref(apps);
	return NULL;
}

static int dl_req_save(const char *ddir, const dl_req *r, bool fresh)
{
	char name[32], *text;
	json_t *doc = dl_req_json(r);
	int err;

	snprintf(name, sizeof(name), "%lu.json", r->id);
	text = doc ? dl_dump(doc) : NULL;
	json_decref(doc);
	if (!text)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	err = vault_write_atomic(ddir, name, text, fresh);
	free(text);
	return err;
}

/* "N.json" with N in 1..DL_ID_MAX, no leading zero: N, else 0. */
static unsigned long dl_file_id(const char *name)
{
	unsigned long id = 0;
	size_t i;

	for (i = 0; name[i] >= '0' && name[i] <= '9' && i < 9; i++)
		id = id * 10 + (unsigned long)(name[i] - '0');
	if (i == 0 || name[0] == '0' || strcmp(name + i, ".json") != 0 || id > DL_ID_MAX)
		return 0;
	return id;
}

static int dl_load_one(const char *ddir, unsigned long id, dl_req *out)
{
	char *path = NULL, *text = NULL;
	size_t len;
	int err;

	memset(out, 0, sizeof(*out));
	out->id = id;
	if (asprintf(&path, "%s/%lu.json", ddir, id) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if ((err = vault_read_file(path, DL_REQUEST_MAX, &text, &len)) == 0)
		err = dl_req_parse(out, text, len, path, id);
	else if (err == KURA_ENOTFOUND)
		err = kura_error_set(KURA_ENOTFOUND, "no deletion request %lu", id);
	free(text);
	free(path);
	return err;
}

static int dl_cmp_id(const void *a, const void *b)
{
	unsigned long x = ((const dl_req *)a)->id, y = ((const dl_req *)b)->id;

	return x < y ? -1 : x > y;
}

/*
 * Every request in DIR/deletions, by id; one that cannot be read is
 * returned with `corrupt` set to why.  Other names in the directory are
 * ignored (temporary files start with a dot).
 */
static int dl_load_all(const char *dir, dl_req **out, size_t *out_n)
{
	char *ddir = NULL;
	dl_req *rs = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = NULL;
	int err = 0;

	*out = NULL;
	*out_n = 0;
	if (asprintf(&ddir, "%s/deletions", dir) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if (!(d = opendir(ddir))) {
		if (errno != ENOENT)
			err = kura_error_errno(kura_errno_code(errno), errno, "%s", ddir);
		goto done;
	}
	while ((de = readdir(d)) != NULL) {
		unsigned long id = dl_file_id(de->d_name);

		if (!id)
			continue;
		if (n == cap) {
			dl_req *grown = realloc(rs, (cap ? cap * 2 : 16) * sizeof(*rs));

			if (!grown) {
				err = kura_error_set(KURA_ENOMEM, "out of memory");
				goto done;
			}
			rs = grown;
			cap = cap ? cap * 2 : 16;
		}
		if ((err = dl_load_one(ddir, id, &rs[n])) < 0) {
			if (err == KURA_ENOMEM)
				goto done;
			if (!(rs[n].corrupt = strdup(kura_error_message()))) {
				err = kura_error_set(KURA_ENOMEM, "out of memory");
				goto done;
			}
			err = 0;
		}
		n++;
	}
	if (n)
		qsort(rs, n, sizeof(*rs), dl_cmp_id);
	*out = rs;
	*out_n = n;
	rs = NULL;
	n = 0;
done:
	if (d)
		closedir(d);
	dl_reqs_free(rs, n);
	free(ddir);
	return err;
}

/* The exclusive lock on DIR/deletions/.lock (the directory made if missing). */
static int dl_lock(const char *dir, int *out_fd, char **out_ddir)
{
	char *path = NULL;
	int fd, err;

	*out_fd = -1;
	if ((err = dl_subdir(dir, "deletions", out_ddir)) < 0)
		return err;
	if (asprintf(&path, "%s/.lock", *out_ddir) < 0) {
		free(*out_ddir);
		*out_ddir = NULL;
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err = kura_error_errno(kura_errno_code(errno), errno, "%s", path);
	} else {
		while ((err = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
			;
		if (err < 0) {
			err = kura_error_errno(KURA_EIO, errno, "%s: flock", path);
			close(fd);
			fd = -1;
		}
	}
	free(path);
	if (err < 0) {
		free(*out_ddir);
		*out_ddir = NULL;
		return err;
	}
	*out_fd = fd;
	return 0;
}

static void dl_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* ------------------------------------------------------------------ */
/* Signatures                                                          */

/* The bytes an approver signs (deletion.h); *out malloc'd. */
static int dl_statement(const dl_req *r, const char *vkey, bool cancel, char **out, size_t *out_len)
{
	size_t cap = 256 + strlen(vkey) + r->nsnaps * KURA_ID_HEX, len;
	char *s = malloc(cap);
	int n;

	*out = NULL;
	if (!s)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	n = snprintf(s, cap, DL_MAGIC "%s\n%s\n%lu\n%s\n%" PRId64 "\n%c\n", vkey,
		     cancel ? "cancel" : "approve", r->id, r->repo, r->requested_ns,
		     r->prune ? '1' : '0');
	len = (size_t)n;
	/* r->snaps is sorted: dl_req_parse sorts what it reads. */
	for (size_t i = 0; i < r->nsnaps; i++) {
		memcpy(s + len, r->snaps[i], KURA_ID_HEX - 1);
		len += KURA_ID_HEX - 1;
		s[len++] = '\n';
	}
	*out = s;
	*out_len = len;
	return 0;
}

/* Does `s` verify over r's statement under its approver's current key? */
static bool dl_sig_ok(const char *dir, const char *vkey, const dl_req *r, const dl_sig *s,
		      bool cancel)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	char *st = NULL;
	size_t len;
	bool ok;

	if (dl_approver_load(dir, s->approver, pk) < 0 ||
	    dl_statement(r, vkey, cancel, &st, &len) < 0) {
		kura_error_clear();
		return false;
	}
	ok = crypto_sign_verify_detached(s->sig, (const unsigned char *)st, len, pk) == 0;
	free(st);
	return ok;
}

static int dl_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The valid approvals of `r` (valid[i] for each, if not NULL), and in
 * *out_complete_ns the time of the approval that completes `quorum` of
 * them (0 if they do not).
 */
static size_t dl_count_valid(const char *dir, const char *vkey, const dl_req *r, unsigned quorum,
			     bool *valid, int64_t *out_complete_ns)
{
	int64_t times[DL_APPROVALS_MAX];
	size_t n = 0;

	for (size_t i = 0; i < r->napprovals; i++) {
		bool ok = dl_sig_ok(dir, vkey, r, &r->approvals[i], false);

		if (valid)
			valid[i] = ok;
		if (ok)
			times[n++] = r->approvals[i].time_ns;
	}
	*out_complete_ns = 0;
	if (n && quorum && n >= quorum) {
		qsort(times, n, sizeof(times[0]), dl_cmp_i64);
		*out_complete_ns = times[quorum - 1];
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Listing                                                             */

/* The request as GET .../deletions shows it: the file plus what it means now. */
static json_t *dl_listing(const char *dir, const char *vkey, const vault_policy *p, const dl_req *r)
{
	bool valid[DL_APPROVALS_MAX];
	int64_t complete = 0, effective = 0;
	json_t *o, *apps;
	size_t n, i;

	if (r->corrupt)
		return json_pack("{s:I, s:s, s:s}", "id", (json_int_t)r->id, "state", "corrupt",
				 "error", r->corrupt);
	if (!(o = dl_req_json(r)))
		return NULL;
	n = dl_count_valid(dir, vkey, r, p->quorum, valid, &complete);
	apps = json_object_get(o, "approvals");
	for (i = 0; i < r->napprovals; i++)
		json_object_set_new(json_array_get(apps, i), "valid", json_boolean(valid[i]));
	if (r->has_cancel)
		json_object_set_new(json_object_get(o, "cancellation"), "valid",
				    json_boolean(dl_sig_ok(dir, vkey, r, &r->cancel, true)));
	if (r->state == DL_PENDING && complete)
		effective = (r->quorum_ns ? r->quorum_ns : complete) + p->delay_s * DL_NS;
	if (json_object_set_new(o, "quorum", json_integer(p->quorum)) < 0 ||
	    json_object_set_new(o, "approvals_valid", json_integer((json_int_t)n)) < 0 ||
	    json_object_set_new(o, "delay_s", json_integer(p->delay_s)) < 0 ||
	    json_object_set_new(o, "effective_ns", dl_opt_int(effective)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int vault_deletions_list(vault *v, const char *repo, json_t **out)
{
	const char *dir = vault_dir(v);
	char vkey[DL_PK_B64];
	vault_policy p;
	dl_req *rs = NULL;
	size_t n = 0;
	json_t *arr = NULL;
	int err;

	*out = NULL;
	if ((err = vault_policy_load(dir, &p)) < 0 || (err = dl_vault_key(dir, vkey)) < 0 ||
	    (err = dl_load_all(dir, &rs, &n)) < 0)
		return err;
	if (!(arr = json_array())) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (repo && (rs[i].corrupt || strcmp(rs[i].repo, repo) != 0))
			continue;
		if (json_array_append_new(arr, dl_listing(dir, vkey, &p, &rs[i])) < 0) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
	}
	*out = arr;
	arr = NULL;
done:
	json_decref(arr);
	dl_reqs_free(rs, n);
	return err;
}

/* ------------------------------------------------------------------ */
/* Filing a request                                                    */

typedef struct {
	const char *name;
	size_t index; /* into the vault_snapshot_times array */
} dl_time_ref;

static int dl_cmp_ref(const void *a, const void *b)
{
	return strcmp(((const dl_time_ref *)a)->name, ((const dl_time_ref *)b)->name);
}

/*
 * The retention reasons for each of `names` at now_ns (reasons[i]; a
 * snapshot with no receive time on record counts as protected, with
 * UINT_MAX), and each one's receive time (received[i]).
 */
static int dl_retention(vault *v, const char *repo, kura_backend *b, const vault_policy *p,
			const char (*names)[KURA_ID_HEX], size_t n, int64_t now_ns,
			unsigned *reasons, int64_t *received)
{
	vault_snapshot_time *times = NULL;
	dl_time_ref *refs = NULL;
	unsigned *all = NULL;
	size_t nt = 0;
	int err;

	if ((err = vault_snapshot_times(vault_dir(v), repo, b, &times, &nt)) < 0)
		return err;
	if (nt && (!(all = calloc(nt, sizeof(*all))) || !(refs = calloc(nt, sizeof(*refs))))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (nt) {
		vault_retention(p, times, nt, now_ns, all);
		for (size_t i = 0; i < nt; i++)
			refs[i] = (dl_time_ref){times[i].name, i};
		qsort(refs, nt, sizeof(*refs), dl_cmp_ref);
	}
	for (size_t i = 0; i < n; i++) {
		dl_time_ref key = {names[i], 0}, *hit = NULL;

		if (nt)
			hit = bsearch(&key, refs, nt, sizeof(*refs), dl_cmp_ref);
		reasons[i] = hit ? all[hit->index] : UINT_MAX;
		received[i] = hit ? times[hit->index].received_ns : 0;
	}
done:
	free(refs);
	free(all);
	vault_snapshot_times_free(times, nt);
	return err;
}

static void dl_explain(unsigned reasons, const vault_policy *p, int64_t received, int64_t now,
		       char *out, size_t len)
{
	if (reasons == UINT_MAX)
		snprintf(out, len, "the vault has no receive time on record for it");
	else
		vault_retention_explain(reasons, p, received, now, out, len);
}

static bool dl_stored(kura_backend *b, kura_file_type type, const char *name)
{
	uint8_t none;

	return b->get_range(b, type, name, 0, 0, &none) == 0;
}

int vault_deletion_request(vault *v, const char *repo, const char *client,
			   const char (*snapshots)[KURA_ID_HEX], size_t n, bool prune,
			   int64_t now_ns, json_t **out, json_t **out_protected)
{
	const char *dir = vault_dir(v);
	char vkey[DL_PK_B64], *ddir = NULL;
	dl_req r = {0}, *all = NULL;
	size_t nall = 0, pending = 0, i;
	unsigned long id = 0;
	unsigned *reasons = NULL;
	int64_t *received = NULL;
	json_t *prot = NULL;
	kura_backend *b;
	vault_policy p;
	int fd = -1, err;

	*out = NULL;
	if (out_protected)
		*out_protected = NULL;
	if (!vault_name_ok(client))
		return kura_error_set(KURA_EINVAL, "bad client name");
	if (n == 0 && !prune)
		return kura_error_set(KURA_EINVAL, "the request names no snapshot and no prune");
	if (n > DL_SNAPSHOTS_MAX)
		return kura_error_set(KURA_EINVAL, "at most %d snapshots per request",
				      DL_SNAPSHOTS_MAX);
	if ((err = vault_repo(v, repo, &b)) < 0 || (err = vault_policy_load(dir, &p)) < 0 ||
	    (err = dl_vault_key(dir, vkey)) < 0)
		return err;
	strcpy(r.repo, repo);
	strcpy(r.requested_by, client);
	r.requested_ns = now_ns;
	r.prune = prune;
	r.state = DL_PENDING;
	r.nsnaps = n;
	if (n && !(r.snaps = calloc(n, sizeof(*r.snaps)))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (!kura_file_name_ok(snapshots[i])) {
			err = kura_error_set(KURA_EINVAL,
					     "snapshot %zu is not a snapshot name (64 "
					     "lowercase hex digits)",
					     i);
			goto done;
		}
		memcpy(r.snaps[i], snapshots[i], KURA_ID_HEX);
	}
	if (n)
		qsort(r.snaps, n, sizeof(*r.snaps), dl_cmp_name);
	for (i = 1; i < n; i++)
		if (strcmp(r.snaps[i - 1], r.snaps[i]) == 0) {
			err = kura_error_set(KURA_EINVAL, "snapshot %s is named twice", r.snaps[i]);
			goto done;
		}
	for (i = 0; i < n; i++)
		if (!dl_stored(b, KURA_FILE_SNAPSHOT, r.snaps[i])) {
			err = kura_error_set(KURA_ENOTFOUND, "no snapshot %s in repository %s",
					     r.snaps[i], repo);
			goto done;
		}
	if (n && (!(reasons = calloc(n, sizeof(*reasons))) ||
		  !(received = calloc(n, sizeof(*received))))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (n && (err = dl_retention(v, repo, b, &p, (const char(*)[KURA_ID_HEX])r.snaps, n, now_ns,
				     reasons, received)) < 0)
		goto done;
	for (i = 0; i < n; i++) {
		char why[256];
		json_t *item;

		if (!reasons[i])
			continue;
		dl_explain(reasons[i], &p, received[i], now_ns, why, sizeof(why));
		if ((!prot && !(prot = json_array())) ||
		    !(item = json_pack("{s:s, s:s}", "snapshot", r.snaps[i], "reason", why)) ||
		    json_array_append_new(prot, item) < 0) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
	}
	if (prot) {
		err = kura_error_set(
		    KURA_EDENIED, "retention protects %zu of the snapshots; nothing was requested",
		    json_array_size(prot));
		if (out_protected) {
			*out_protected = prot;
			prot = NULL;
		}
		goto done;
	}

	if ((err = dl_lock(dir, &fd, &ddir)) < 0 || (err = dl_load_all(dir, &all, &nall)) < 0)
		goto done;
	for (i = 0; i < nall; i++) {
		if (all[i].id > id)
			id = all[i].id;
		if (!all[i].corrupt && all[i].state == DL_PENDING && strcmp(all[i].repo, repo) == 0)
			pending++;
	}
	if (pending >= VAULT_PENDING_MAX) {
		err = kura_error_set(KURA_EEXISTS,
				     "repository %s has %zu pending deletion requests already (the "
				     "limit); approvers must decide on those first",
				     repo, pending);
		goto done;
	}
	if (id >= DL_ID_MAX) {
		err = kura_error_set(KURA_EEXISTS, "no deletion request ids left");
		goto done;
	}
	r.id = id + 1;
	if ((err = dl_req_save(ddir, &r, true)) < 0)
		goto done;
	if (!(*out = dl_listing(dir, vkey, &p, &r)))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
done:
	dl_unlock(fd);
	dl_reqs_free(all, nall);
	dl_req_free(&r);
	json_decref(prot);
	free(reasons);
	free(received);
	free(ddir);
	return err;
}

/* ------------------------------------------------------------------ */
/* Approving and cancelling                                            */

static void dl_duration(int64_t s, char out[32])
{
	vault_duration_format(s < 0 ? 0 : s, out);
}

/* What `r` does and what happens next, for the approver; malloc'd. */
static char *dl_summary(const char *dir, const char *vkey, const vault_policy *p, const dl_req *r,
			const char *who, bool cancel)
{
	char when[40], delay[32], *text = NULL, *snaps = NULL;
	int64_t complete = 0;
	size_t valid, i, len = 0;

	dl_format_time(when, r->requested_ns);
	dl_duration(p->delay_s, delay);
	if (!(snaps = malloc(r->nsnaps * (KURA_ID_HEX + 4) + 8)))
		return NULL;
	snaps[0] = '\0';
	for (i = 0; i < r->nsnaps; i++)
		len += (size_t)sprintf(snaps + len, "    %s\n", r->snaps[i]);
	if (r->nsnaps == 0)
		sprintf(snaps, "    (none)\n");
	valid = dl_count_valid(dir, vkey, r, p->quorum, NULL, &complete);
	if (cancel) {
		if (asprintf(
			&text,
			"Cancelled deletion request %lu on repository %s (filed by %s at %s) "
			"as %s.\n  snapshots:\n%s  prune: %s\nNothing will be deleted for it.\n",
			r->id, r->repo, r->requested_by, when, who, snaps,
			r->prune ? "yes" : "no") < 0)
			text = NULL;
	} else {
		char next[256], eff[40];

		if (complete) {
			dl_format_time(eff, (r->quorum_ns ? r->quorum_ns : complete) +
						p->delay_s * DL_NS);
			snprintf(next, sizeof(next),
				 "The quorum is complete: it takes effect at about %s (after the "
				 "delay of %s), unless an approver cancels it before then with "
				 "'kurad cancel %s %lu --key FILE'.",
				 eff, delay, dir, r->id);
		} else {
			snprintf(next, sizeof(next),
				 "It needs %zu more approval%s; it takes effect %s after the "
				 "approval that completes the quorum.",
				 (size_t)p->quorum - valid, p->quorum - valid == 1 ? "" : "s",
				 delay);
		}
		if (asprintf(&text,
			     "Approved deletion request %lu on repository %s (filed by %s at %s) "
			     "as %s.\n  snapshots:\n%s  prune: %s\n  approvals: %zu of %u needed\n"
			     "%s\n",
			     r->id, r->repo, r->requested_by, when, who, snaps,
			     r->prune ? "yes" : "no", valid, p->quorum, next) < 0)
			text = NULL;
	}
	free(snaps);
	return text;
}

int vault_deletion_sign(const char *dir, unsigned long id, const char *key_path, bool cancel,
			int64_t now_ns, char **out_summary)
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	char name[VAULT_NAME_MAX + 1], vkey[DL_PK_B64], *ddir = NULL, *st = NULL;
	dl_sig *grown, sig = {0};
	vault_policy p;
	dl_req r = {0};
	size_t len;
	int fd = -1, err;

	*out_summary = NULL;
	if (id == 0 || id > DL_ID_MAX)
		return kura_error_set(KURA_EINVAL, "bad request id %lu", id);
	if ((err = kura_crypto_init()) < 0 || (err = dl_vault_key(dir, vkey)) < 0 ||
	    (err = vault_policy_load(dir, &p)) < 0)
		return err;
	if ((err = dl_key_load(dir, key_path, name, sk)) < 0)
		return err;
	if ((err = dl_lock(dir, &fd, &ddir)) < 0 || (err = dl_load_one(ddir, id, &r)) < 0)
		goto done;
	if (r.state != DL_PENDING) {
		err = kura_error_set(KURA_EINVAL, "deletion request %lu is %s, not pending", id,
				     dl_state_name(r.state));
		goto done;
	}
	if (!cancel) {
		for (size_t i = 0; i < r.napprovals; i++)
			if (strcmp(r.approvals[i].approver, name) == 0) {
				err = kura_error_set(KURA_EEXISTS,
						     "approver %s has approved request %lu already",
						     name, id);
				goto done;
			}
		if (r.napprovals >= DL_APPROVALS_MAX) {
			err = kura_error_set(KURA_EINVAL,
					     "request %lu has the most approvals a "
					     "request may have",
					     id);
			goto done;
		}
	}
	if ((err = dl_statement(&r, vkey, cancel, &st, &len)) < 0)
		goto done;
	strcpy(sig.approver, name);
	sig.time_ns = now_ns;
	crypto_sign_detached(sig.sig, NULL, (const unsigned char *)st, len, sk);
	if (cancel) {
		r.cancel = sig;
		r.has_cancel = true;
		r.state = DL_CANCELLED;
	} else {
		if (!(grown = realloc(r.approvals, (r.napprovals + 1) * sizeof(*grown)))) {
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			goto done;
		}
		r.approvals = grown;
		r.approvals[r.napprovals++] = sig;
	}
	if ((err = dl_req_save(ddir, &r, false)) < 0)
		goto done;
	if (!(*out_summary = dl_summary(dir, vkey, &p, &r, name, cancel)))
		err = kura_error_set(KURA_ENOMEM, "out of memory");
done:
	dl_unlock(fd);
	sodium_memzero(sk, sizeof(sk));
	dl_req_free(&r);
	free(st);
	free(ddir);
	return err;
}

/* ------------------------------------------------------------------ */
/* kurad serve's tick                                                  */

static int dl_audit(vault_audit *a, const char *client, const char *role, const char *method,
		    const char *path, int status, uint64_t bytes)
{
	vault_audit_entry e = {
	    .peer = "local",
	    .client = client,
	    .role = role,
	    .method = method,
	    .path = path,
	    .status = status,
	    .bytes = bytes,
	};

	return vault_audit_append(a, &e);
}

typedef struct {
	char (*names)[KURA_ID_HEX];
	uint64_t *sizes;
	size_t n, cap;
	int err;
} dl_sizes;

static int dl_collect_size(const char *name, uint64_t size, void *ctx)
{
	dl_sizes *s = ctx;

	if (!kura_file_name_ok(name))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char(*names)[KURA_ID_HEX] = realloc(s->names, cap * sizeof(*names));
		uint64_t *sizes;

		if (names)
			s->names = names;
		sizes = names ? realloc(s->sizes, cap * sizeof(*sizes)) : NULL;
		if (!names || !sizes)
			return s->err = kura_error_set(KURA_ENOMEM, "out of memory");
		s->sizes = sizes;
		s->cap = cap;
	}
	memcpy(s->names[s->n], name, KURA_ID_HEX);
	s->sizes[s->n++] = size;
	return 0;
}

/* The size of stored snapshot `name`, or -1 when it is not stored. */
static int64_t dl_size_of(const dl_sizes *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return (int64_t)s->sizes[i];
	return -1;
}

/* Audit, then remove; a failed removal is audited too.  <0 only if the log fails. */
static int dl_remove(vault_audit *a, kura_backend *b, const char *repo, kura_file_type type,
		     const char *name, uint64_t size, char *why, size_t why_len)
{
	char path[160];
	int err;

	why[0] = '\0';
	snprintf(path, sizeof(path), "/v1/repos/%s/%s/%s", repo, kura_file_type_name(type), name);
	if ((err = dl_audit(a, "kurad", "vault", "DELETE", path, 200, size)) < 0)
		return kura_error_wrap(err, "cannot log the removal of %s, so it is not removed",
				       path);
	if (kura_backend_local_remove(b, type, name) < 0) {
		snprintf(why, why_len, "removal failed: %s", kura_error_message());
		if ((err = dl_audit(a, "kurad", "vault", "DELETE", path, 500, 0)) < 0)
			return err;
		return 1;
	}
	return 0;
}

/* Remove the packs no snapshot lists that were stored before the request. */
static int dl_prune(vault_audit *a, kura_backend *b, const dl_req *r, json_t *result,
		    uint64_t *bytes)
{
	kura_pack_list plan = {0};
	uint64_t removed = 0, recent = 0;
	char why[512];
	int err, rc;

	if (kura_gc_unreferenced(b, NULL, 0, &plan) < 0) {
		/* A snapshot that cannot be read hides which packs it needs: keep them all. */
		json_object_set_new(result, "prune_error", json_string(kura_error_message()));
		return 0;
	}
	for (size_t i = 0; i < plan.count; i++) {
		int64_t mtime;

		if (kura_backend_local_mtime(b, KURA_FILE_PACK, plan.names[i], &mtime) < 0) {
			kura_error_clear();
			continue; /* gone meanwhile */
		}
		/* Stored after the request: maybe part of a backup in progress. */
		if (mtime >= r->requested_ns) {
			recent++;
			continue;
		}
		rc = dl_remove(a, b, r->repo, KURA_FILE_PACK, plan.names[i], plan.sizes[i], why,
			       sizeof(why));
		if (rc < 0) {
			err = rc;
			goto done;
		}
		if (rc > 0) {
			json_object_set_new(result, "prune_error", json_string(why));
			break;
		}
		removed++;
		*bytes += plan.sizes[i];
	}
	json_object_set_new(result, "packs_removed", json_integer((json_int_t)removed));
	json_object_set_new(result, "packs_kept_recent", json_integer((json_int_t)recent));
	err = 0;
done:
	kura_pack_list_free(&plan);
	return err;
}

/* Carry out `r` now: its snapshots that retention allows, then prune. */
static int dl_execute(vault *v, vault_audit *a, const vault_policy *p, dl_req *r, int64_t now_ns)
{
	dl_sizes sizes = {0};
	unsigned *reasons = NULL;
	int64_t *received = NULL;
	json_t *result = NULL, *removed, *kept;
	uint64_t bytes = 0;
	kura_backend *b;
	bool locked = false;
	char why[512];
	int err, rc;

	if ((err = vault_repo(v, r->repo, &b)) < 0)
		return err;
	if ((err = vault_repo_lock_exclusive(v, r->repo)) < 0)
		return err;
	locked = true;
	result = json_pack("{s:[], s:[], s:i, s:i, s:i, s:n}", "snapshots_removed",
			   "snapshots_kept", "packs_removed", 0, "bytes_removed", 0,
			   "packs_kept_recent", 0, "prune_error");
	if (!result || (r->nsnaps && (!(reasons = calloc(r->nsnaps, sizeof(*reasons))) ||
				      !(received = calloc(r->nsnaps, sizeof(*received)))))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	removed = json_object_get(result, "snapshots_removed");
	kept = json_object_get(result, "snapshots_kept");
	if (r->nsnaps) {
		if ((err = b->list(b, KURA_FILE_SNAPSHOT, dl_collect_size, &sizes)) < 0 ||
		    (err = sizes.err) < 0)
			goto done;
		if ((err = dl_retention(v, r->repo, b, p, (const char(*)[KURA_ID_HEX])r->snaps,
					r->nsnaps, now_ns, reasons, received)) < 0)
			goto done;
	}
	for (size_t i = 0; i < r->nsnaps; i++) {
		int64_t size = dl_size_of(&sizes, r->snaps[i]);

		if (size < 0) {
			snprintf(why, sizeof(why), "not stored any more");
		} else if (reasons[i]) {
			dl_explain(reasons[i], p, received[i], now_ns, why, sizeof(why));
		} else {
			rc = dl_remove(a, b, r->repo, KURA_FILE_SNAPSHOT, r->snaps[i],
				       (uint64_t)size, why, sizeof(why));
			if (rc < 0) {
				err = rc;
				goto done;
			}
			if (rc == 0) {
				json_array_append_new(removed, json_string(r->snaps[i]));
				bytes += (uint64_t)size;
				continue;
			}
		}
		json_array_append_new(
		    kept, json_pack("{s:s, s:s}", "snapshot", r->snaps[i], "reason", why));
	}
	if (r->prune && (err = dl_prune(a, b, r, result, &bytes)) < 0)
		goto done;
	json_object_set_new(result, "bytes_removed", json_integer((json_int_t)bytes));
	json_decref(r->result);
	r->result = result;
	result = NULL;
	r->state = DL_DONE;
	r->done_ns = now_ns;
done:
	if (locked)
		vault_repo_unlock(v, r->repo);
	json_decref(result);
	free(sizes.names);
	free(sizes.sizes);
	free(reasons);
	free(received);
	return err;
}

/* One request's tick; *dirty when it must be written back. */
static int dl_tick(vault *v, vault_audit *a, const char *vkey, const vault_policy *p, dl_req *r,
		   int64_t now_ns, bool *dirty)
{
	const char *dir = vault_dir(v);
	char path[48];
	int64_t complete = 0;
	size_t valid;
	int err;

	snprintf(path, sizeof(path), "/v1/deletions/%lu", r->id);
	for (size_t i = 0; i < r->napprovals; i++) {
		dl_sig *s = &r->approvals[i];

		if (s->logged)
			continue;
		/* An approval that does not verify is logged as refused. */
		if ((err = dl_audit(a, s->approver, "approver", "APPROVE", path,
				    dl_sig_ok(dir, vkey, r, s, false) ? 200 : 403, 0)) < 0)
			return err;
		s->logged = *dirty = true;
	}
	if (r->has_cancel && !r->cancel.logged) {
		if ((err = dl_audit(a, r->cancel.approver, "approver", "CANCEL", path,
				    dl_sig_ok(dir, vkey, r, &r->cancel, true) ? 200 : 403, 0)) < 0)
			return err;
		r->cancel.logged = *dirty = true;
	}
	if (r->state != DL_PENDING || r->has_cancel)
		return 0;
	valid = dl_count_valid(dir, vkey, r, p->quorum, NULL, &complete);
	if (valid < p->quorum || !complete) {
		/* A voided approval (key replaced, file edited) restarts the wait. */
		if (r->quorum_ns) {
			r->quorum_ns = 0;
			*dirty = true;
		}
		return 0;
	}
	if (!r->quorum_ns) {
		/* The delay runs from when the vault saw the quorum, at the earliest. */
		r->quorum_ns = now_ns > complete ? now_ns : complete;
		*dirty = true;
	}
	if (now_ns < r->quorum_ns + p->delay_s * DL_NS)
		return 0;
	if ((err = dl_execute(v, a, p, r, now_ns)) < 0)
		return err;
	*dirty = true;
	return 0;
}

int vault_deletions_run(vault *v, int64_t now_ns)
{
	const char *dir = vault_dir(v);
	vault_audit *a = vault_get_audit(v);
	char vkey[DL_PK_B64], *ddir = NULL;
	dl_req *rs = NULL;
	size_t n = 0;
	vault_policy p;
	int fd = -1, err, first = 0;

	if (!a)
		return kura_error_set(KURA_EINVAL, "deletions run only in a vault opened for "
						   "serving (with its audit log)");
	if ((err = vault_policy_load(dir, &p)) < 0 || (err = dl_vault_key(dir, vkey)) < 0)
		return err;
	if ((err = dl_lock(dir, &fd, &ddir)) < 0 || (err = dl_load_all(dir, &rs, &n)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		bool dirty = false;

		if (rs[i].corrupt) {
			if (!first)
				first = kura_error_set(KURA_ECORRUPT,
						       "deletion request %lu is not "
						       "carried out: %s",
						       rs[i].id, rs[i].corrupt);
			continue;
		}
		err = dl_tick(v, a, vkey, &p, &rs[i], now_ns, &dirty);
		if (err < 0 && !first)
			first = kura_error_wrap(err, "deletion request %lu", rs[i].id);
		if (dirty && (err = dl_req_save(ddir, &rs[i], false)) < 0 && !first)
			first = kura_error_wrap(err, "deletion request %lu", rs[i].id);
	}
	err = first;
done:
	dl_unlock(fd);
	dl_reqs_free(rs, n);
	free(ddir);
	return err;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stock.c - what kurad last saw of the operator's files (stock.h).
 *
 * The running kurad logs every client issued or revoked, approver added,
 * replaced or removed, and policy change within a second (vault_reload).
 * While it is stopped nobody watches, so root could issue a credential,
 * weaken the policy or drop an approver and the log would never say so.
 * DIR/audit/stock holds what kurad saw last, one sorted line per thing:
 *
 *	approver NAME SHA256-HEX-OF-ITS-FILE
 *	client NAME ROLE issued|revoked
 *	policy SHA256-HEX-OF-policy.json
 *
 * rewritten (atomically) whenever it changes while serving; on start the
 * difference to the disk is logged, each entry's path marked
 * "?while-stopped".  Root can also rewrite this file, but not without
 * the change showing in the next start's entries or in the files.
 */
#include "stock.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "files.h"

#define STOCK_NAME "stock"
#define LINES_MAX 4096 /* clients and approvers together, far beyond VAULT_CLIENTS_MAX */

typedef struct {
	char kind[16], name[VAULT_NAME_MAX + 1], rest[80];
} stock_line;

/* Parse text into at most LINES_MAX lines (malloc'd array, sorted by kind and name). */
static int cmp_line(const void *a, const void *b)
{
	const stock_line *x = a, *y = b;
	int c = strcmp(x->kind, y->kind);

	return c ? c : strcmp(x->name, y->name);
}

static int parse(const char *text, stock_line **out, size_t *n)
{
	const char *p = text ? text : "";
	stock_line *l;

	*n = 0;
	if (!(*out = l = calloc(LINES_MAX, sizeof(*l))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	while (*p && *n < LINES_MAX) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char buf[200];

		if (len < sizeof(buf)) {
			memcpy(buf, p, len);
			buf[len] = '\0';
			/* %79[^\n] keeps the rest of the line (a client's "ROLE STATE"). */
			if (sscanf(buf, "%15s %63s %79[^\n]", l[*n].kind, l[*n].name, l[*n].rest) ==
				3 &&
			    (strcmp(l[*n].kind, "policy") == 0 || vault_name_ok(l[*n].name)))
				(*n)++;
		}
		p += len + (nl ? 1 : 0);
	}
	qsort(l, *n, sizeof(*l), cmp_line);
	return 0;
}

/* One side only, or both with another value: what it means for the log. */
static int change(const stock_line *before, const stock_line *after, stock_change_fn fn,
		  void *ctx)
{
	const stock_line *l = after ? after : before;
	char path[VAULT_NAME_MAX + 32], role[16] = "";
	int err;

	if (strcmp(l->kind, "policy") == 0)
		return fn("POLICY", "kurad", "vault", "/v1/policy", ctx);
	if (strcmp(l->kind, "approver") == 0) {
		snprintf(path, sizeof(path), "/v1/approvers/%s", l->name);
		return fn(!before  ? "ADD-APPROVER"
			  : !after ? "REMOVE-APPROVER"
				   : "REPLACE-APPROVER",
			  l->name, "approver", path, ctx);
	}
	if (strcmp(l->kind, "client") != 0)
		return 0;
	snprintf(path, sizeof(path), "/v1/clients/%s", l->name);
	sscanf(l->rest, "%15s", role);
	if (!before) {
		if ((err = fn("ISSUE", l->name, role, path, ctx)) < 0)
			return err;
		return strstr(l->rest, " revoked") ? fn("REVOKE", l->name, role, path, ctx) : 0;
	}
	if (!after)
		return fn("REMOVE-CLIENT", l->name, role, path, ctx);
	if (strstr(before->rest, " issued") && strstr(after->rest, " revoked")) {
		char brole[16] = "";

		sscanf(before->rest, "%15s", brole);
		if (strcmp(brole, role) == 0)
			return fn("REVOKE", l->name, role, path, ctx);
	}
	return fn("REPLACE-CLIENT", l->name, role, path, ctx);
}

int stock_diff(const char *before, const char *after, stock_change_fn fn, void *ctx)
{
	stock_line *a = NULL, *b = NULL;
	size_t na = 0, nb = 0, i = 0, j = 0;
	int err;

	if ((err = parse(before, &a, &na)) < 0 || (err = parse(after, &b, &nb)) < 0)
		goto done;
	while (err == 0 && (i < na || j < nb)) {
		int c = i == na ? 1 : j == nb ? -1 : cmp_line(&a[i], &b[j]);

		if (c < 0)
			err = change(&a[i++], NULL, fn, ctx);
		else if (c > 0)
			err = change(NULL, &b[j++], fn, ctx);
		else if (strcmp(a[i++].rest, b[j++].rest) != 0)
			err = change(&a[i - 1], &b[j - 1], fn, ctx);
	}
done:
	free(a);
	free(b);
	return err;
}

/* "KIND NAME SHA256-HEX\n" for a file that reads; nothing for one that does not. */
static int put_file(kura_buf *out, const char *kind, const char *name, const char *path)
{
	uint8_t h[KURA_HASH_SIZE];
	char hex[2 * KURA_HASH_SIZE + 1], line[200];
	char *text = NULL;
	size_t len;

	if (files_read(path, VAULT_SMALL_FILE_MAX, &text, &len) < 0)
		return 0; /* unreadable: vault_reload reports it */
	kura_sha256(h, text, len);
	free(text);
	kura_hex(hex, h, sizeof(h));
	snprintf(line, sizeof(line), "%s %s %s\n", kind, name, hex);
	return kura_buf_put(out, line, strlen(line));
}

int stock_take(const vault *v, char **out)
{
	kura_buf b = KURA_BUF_INIT;
	char *dir = NULL, *path = NULL, line[200];
	struct dirent *de;
	DIR *d = NULL;
	size_t i, n = vault_client_count(v);
	int err = 0;

	*out = NULL;
	for (i = 0; i < n && err == 0; i++) {
		const vault_client *c = vault_client_at(v, i);

		snprintf(line, sizeof(line), "client %s %s %s\n", c->name,
			 vault_role_name(c->role), atomic_load(&c->revoked) ? "revoked" : "issued");
		err = kura_buf_put(&b, line, strlen(line));
	}
	if (err == 0 && asprintf(&dir, "%s/approvers", vault_dir(v)) < 0) {
		dir = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
	}
	d = err == 0 ? opendir(dir) : NULL;
	while (d && err == 0 && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char stem[VAULT_NAME_MAX + 1];

		if (len <= 5 || len - 5 > VAULT_NAME_MAX || strcmp(de->d_name + len - 5, ".json"))
			continue;
		memcpy(stem, de->d_name, len - 5);
		stem[len - 5] = '\0';
		if (!vault_name_ok(stem))
			continue;
		free(path);
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			path = NULL;
			err = kura_error_set(KURA_ENOMEM, "out of memory");
			break;
		}
		err = put_file(&b, "approver", stem, path);
	}
	if (d)
		closedir(d);
	free(path);
	path = NULL;
	if (err == 0 && asprintf(&path, "%s/policy.json", vault_dir(v)) < 0) {
		path = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
	}
	if (err == 0)
		err = put_file(&b, "policy", "policy.json", path);
	if (err == 0)
		err = kura_buf_put_u8(&b, '\0');
	if (err == 0) {
		*out = (char *)b.data;
		b.data = NULL;
	}
	kura_buf_free(&b);
	free(path);
	free(dir);
	return err;
}

static int log_change(const char *method, const char *name, const char *role, const char *path,
		      void *ctx)
{
	vault *v = ctx;
	char marked[VAULT_NAME_MAX + 64];
	vault_audit_entry e = {.peer = "local",
			       .client = name,
			       .role = role,
			       .method = method,
			       .path = marked,
			       .status = 200};

	snprintf(marked, sizeof(marked), "%s?while-stopped", path);
	return vault_get_audit(v) ? audit_append(vault_get_audit(v), &e) : 0;
}

static int store(vault *v, const char *text)
{
	char *dir = NULL;
	int err;

	if (asprintf(&dir, "%s/audit", vault_dir(v)) < 0)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	err = files_write_atomic(dir, STOCK_NAME, text, false);
	free(dir);
	return err;
}

int stock_start(vault *v, char **last)
{
	char *path = NULL, *before = NULL, *now = NULL;
	int err;

	if ((err = stock_take(v, &now)) < 0)
		goto done;
	if (asprintf(&path, "%s/audit/%s", vault_dir(v), STOCK_NAME) < 0) {
		path = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	/* No stock yet (a new vault, or one from before it existed): nothing to compare. */
	err = files_read(path, VAULT_SMALL_FILE_MAX, &before, NULL);
	if (err == 0)
		err = stock_diff(before, now, log_change, v);
	else if (err == KURA_ENOTFOUND)
		err = 0;
	if (err < 0 || (err = store(v, now)) < 0)
		goto done;
	free(*last);
	*last = now;
	now = NULL;
done:
	free(path);
	free(before);
	free(now);
	return err;
}

int stock_update(vault *v, char **last)
{
	char *now = NULL;
	int err;

	if ((err = stock_take(v, &now)) < 0)
		return err;
	if (*last && strcmp(*last, now) == 0) {
		free(now);
		return 0;
	}
	if ((err = store(v, now)) < 0) {
		free(now);
		return err;
	}
	free(*last);
	*last = now;
	return 0;
}

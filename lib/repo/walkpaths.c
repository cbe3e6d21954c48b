/* SPDX-License-Identifier: Apache-2.0 */
/*
 * walkpaths.c - the backup paths as a tree (see walkpaths.h).
 */
#include "repo/walkpaths.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "kura/kura.h"

/* Absolute and lexically clean: no "", "." or ".." components. */
static int clean_path(char **out, const char *path)
{
	char cwd[PATH_MAX], *joined = NULL, *result = NULL, *save = NULL, *tok;
	size_t len = 0;
	int err = 0;

	*out = NULL;
	if (path[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)))
			return kura_error_errno(KURA_EIO, errno, "cannot get the current directory");
		if (asprintf(&joined, "%s/%s", cwd, path) < 0)
			return kura_error_set(KURA_ENOMEM, "out of memory");
	} else if (!(joined = strdup(path)))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	if (!(result = malloc(strlen(joined) + 2))) {
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	for (tok = strtok_r(joined, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			while (len > 0 && result[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			continue;
		}
		result[len++] = '/';
		memcpy(result + len, tok, strlen(tok));
		len += strlen(tok);
	}
	if (len == 0)
		result[len++] = '/';
	result[len] = '\0';
	*out = result;
	result = NULL;
done:
	free(joined);
	free(result);
	return err;
}

static kura_walkpath *new_node(const char *name, const char *real)
{
	kura_walkpath *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	n->real = strdup(real);
	if (!n->name || !n->real) {
		kura_walkpaths_free(n);
		return NULL;
	}
	return n;
}

static void free_children(kura_walkpath *n)
{
	for (size_t i = 0; i < n->nchildren; i++)
		kura_walkpaths_free(n->children[i]);
	free(n->children);
	n->children = NULL;
	n->nchildren = 0;
}

static int insert(kura_walkpath *root, const char *clean)
{
	kura_walkpath *cur = root;
	const char *p = clean + 1;

	while (*p && !cur->leaf) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		kura_walkpath *next = NULL;

		for (size_t i = 0; i < cur->nchildren; i++)
			if (strlen(cur->children[i]->name) == len &&
			    memcmp(cur->children[i]->name, p, len) == 0)
				next = cur->children[i];
		if (!next) {
			char *name = strndup(p, len), *real = strndup(clean, (size_t)(p - clean) + len);
			void *grown = realloc(cur->children, (cur->nchildren + 1) * sizeof(*cur->children));

			if (grown)
				cur->children = grown;
			if (!name || !real || !grown || !(next = new_node(name, real))) {
				free(name);
				free(real);
				return kura_error_set(KURA_ENOMEM, "out of memory");
			}
			free(name);
			free(real);
			cur->children[cur->nchildren++] = next;
		}
		cur = next;
		p += len + (slash ? 1 : 0);
	}
	if (!cur->leaf) {
		cur->leaf = 1;
		free_children(cur); /* everything below is covered */
	}
	return 0;
}

/* Set n->resolved and its children's: the path to open, symlinks on the way followed. */
static int resolve_tree(kura_walkpath *n)
{
	char *parent = NULL;
	int err = 0;

	if (!n->leaf) {
		n->resolved = realpath(n->real, NULL);
	} else if (strcmp(n->real, "/") == 0) {
		n->resolved = strdup("/");
	} else {
		/* The last component is not followed: a symlink given is stored as one. */
		const char *slash = strrchr(n->real, '/');
		char *dir = slash == n->real ? strdup("/") : strndup(n->real, (size_t)(slash - n->real));

		if (dir && (parent = realpath(dir, NULL)) &&
		    asprintf(&n->resolved, "%s%s", strcmp(parent, "/") ? parent : "", slash) < 0)
			n->resolved = NULL;
		free(dir);
	}
	if (!n->resolved) {
		err = errno == ENOMEM ? kura_error_set(KURA_ENOMEM, "out of memory")
				      : kura_error_errno(KURA_ENOTFOUND, errno, "cannot back up %s",
							 n->real);
		goto done;
	}
	for (size_t i = 0; i < n->nchildren; i++)
		if ((err = resolve_tree(n->children[i])) < 0)
			break;
done:
	free(parent);
	return err;
}

static int child_cmp(const void *a, const void *b)
{
	return strcmp((*(kura_walkpath *const *)a)->name, (*(kura_walkpath *const *)b)->name);
}

static void sort_tree(kura_walkpath *n)
{
	if (n->nchildren > 1)
		qsort(n->children, n->nchildren, sizeof(*n->children), child_cmp);
	for (size_t i = 0; i < n->nchildren; i++)
		sort_tree(n->children[i]);
}

int kura_walkpaths_build(kura_walkpath **out, const char *const *paths, size_t count)
{
	kura_walkpath *root = new_node("", "/");
	int err = 0;

	*out = NULL;
	if (!root || !(root->given = calloc(count + 1, sizeof(char *)))) {
		kura_walkpaths_free(root);
		return kura_error_set(KURA_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < count; i++) {
		struct stat st;
		char *clean;

		if ((err = clean_path(&clean, paths[i])) < 0)
			break;
		root->given[root->ngiven++] = clean;
		if (lstat(clean, &st) < 0) {
			err = kura_error_errno(KURA_ENOTFOUND, errno, "cannot back up %s", paths[i]);
			break;
		}
		if ((err = insert(root, clean)) < 0)
			break;
	}
	if (err < 0) {
		kura_walkpaths_free(root);
		return err;
	}
	sort_tree(root);
	if ((err = resolve_tree(root)) < 0) {
		kura_walkpaths_free(root);
		return err;
	}
	*out = root;
	return 0;
}

void kura_walkpaths_free(kura_walkpath *root)
{
	if (!root)
		return;
	free_children(root);
	for (size_t i = 0; i < root->ngiven; i++)
		free(root->given[i]);
	free(root->given);
	free(root->name);
	free(root->real);
	free(root->resolved);
	free(root);
}

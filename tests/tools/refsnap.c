/* SPDX-License-Identifier: Apache-2.0 */
/*
 * refsnap.c - write a snapshot whose file's chunks are stored against
 * another version's (refsnap.h), for tests/e2e/refblobs.sh:
 *
 *   refsnap REPO NAME=FILE[:OLD]...   (the passphrase: first line of KURA_PASSWORD_FILE)
 *
 * Each NAME=FILE becomes the file NAME in the snapshot's root; with :OLD,
 * its pieces that differ from OLD's (stored by an earlier refsnap run) are
 * stored against OLD's.  Prints the snapshot's id, then "refs N": how many
 * chunks are stored against another.  Test code: not installed.
 */
#include "refsnap.h"

#include <errno.h>

/* The whole of `path`, malloc'd. */
static int slurp(const char *path, uint8_t **out, size_t *out_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	*out = NULL;
	if (!f)
		return kura_error_set(KURA_EIO, "%s: %s", path, strerror(errno));
	do {
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap = cap ? cap * 2 : 1 << 20);

			if (!nb) {
				free(buf);
				fclose(f);
				return kura_error_set(KURA_ENOMEM, "%s: out of memory", path);
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	*out = buf;
	*out_len = len;
	return 0;
}

int main(int argc, char **argv)
{
	refsnap_file files[REFSNAP_MAX_FILES] = {{0}};
	uint8_t *bufs[2 * REFSNAP_MAX_FILES] = {0};
	char *specs[REFSNAP_MAX_FILES] = {0};
	char id[KURA_ID_HEX];
	kura_repo *repo = NULL;
	size_t count = (size_t)argc - 2;
	unsigned refs = 0;
	int rc = 1;

	if (argc < 3 || count > REFSNAP_MAX_FILES) {
		fprintf(stderr,
			"usage: KURA_PASSWORD_FILE=FILE refsnap REPO NAME=FILE[:OLD]... "
			"(at most %d)\n",
			REFSNAP_MAX_FILES);
		return 2;
	}
	for (size_t i = 0; i < count; i++) {
		char *eq, *colon;

		if (!(specs[i] = strdup(argv[i + 2])) || !(eq = strchr(specs[i], '='))) {
			fprintf(stderr, "refsnap: %s: not NAME=FILE[:OLD]\n", argv[i + 2]);
			goto done;
		}
		*eq = '\0';
		files[i].name = specs[i];
		if ((colon = strchr(eq + 1, ':')))
			*colon = '\0';
		if (slurp(eq + 1, &bufs[2 * i], &files[i].len) < 0 ||
		    (colon && slurp(colon + 1, &bufs[2 * i + 1], &files[i].old_len) < 0)) {
			fprintf(stderr, "refsnap: %s\n", kura_error_message());
			goto done;
		}
		files[i].data = bufs[2 * i];
		files[i].old = bufs[2 * i + 1];
	}
	if (snaptool_open(&repo, "refsnap", argv[1]) != 0)
		goto done;
	if (refsnap_write(repo, files, count, id, &refs) < 0) {
		fprintf(stderr, "refsnap: %s\n", kura_error_message());
		goto done;
	}
	printf("%s\nrefs %u\n", id, refs);
	rc = 0;
done:
	kura_repo_free(repo);
	for (size_t i = 0; i < 2 * REFSNAP_MAX_FILES; i++)
		free(bufs[i]);
	for (size_t i = 0; i < REFSNAP_MAX_FILES; i++)
		free(specs[i]);
	return rc;
}

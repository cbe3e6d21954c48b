/* SPDX-License-Identifier: Apache-2.0 */
/*
 * archscan.c - the backup's scanner: a thread beside the walk that counts
 * the files and bytes to be backed up, so that progress can show an ETA.
 *
 * Only an estimate: it stats by path, follows no symlink, stops when the
 * backup sets a->scan_stop, and writes nothing but the two atomic
 * counters in the archiver.  Nothing it sees decides what is stored.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/array.h"
#include "repo/archiver.h"

/* ---------------------------------------------------------------------- */
/* Scanner: counts what is to be backed up, for the progress ETA.          */

/*
 * Count what is below the directory `path`.  Only an estimate, so it may
 * open directories by path (one at a time; beyond PATH_MAX it stops
 * counting): an explicit stack of paths, no recursion, one fd.
 */
static void scan_tree(archiver *a, const char *path)
{
	char **todo = NULL, *dir;
	size_t n = 0, cap = 0;

	if (KURA_ARRAY_GROW(todo, cap, 1) < 0 || !(todo[0] = strdup(path))) {
		free(todo);
		return;
	}
	for (n = 1; n > 0 && !atomic_load(&a->scan_stop); free(dir)) {
		int fd = open((dir = todo[--n]), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct dirent *de;
		DIR *d;

		if (fd < 0 || !(d = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((de = readdir(d)) && !atomic_load(&a->scan_stop)) {
			struct stat st;
			char *child;

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (!(child = kura_backup__join_path(dir, de->d_name)))
				break;
			if (!kura_backup__excluded(a, child, de->d_name) &&
			    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
				if (S_ISREG(st.st_mode)) {
					atomic_fetch_add(&a->scan_files, 1);
					atomic_fetch_add(&a->scan_bytes, (uint64_t)st.st_size);
				} else if (S_ISDIR(st.st_mode) && KURA_ARRAY_GROW(todo, cap, n + 1) == 0) {
					todo[n++] = child;
					child = NULL;
				}
			}
			free(child);
		}
		closedir(d);
	}
	while (n > 0)
		free(todo[--n]);
	free(todo);
}

static void scan_vdir(archiver *a, const kura_walkpath *v)
{
	for (size_t i = 0; i < v->nchildren && !atomic_load(&a->scan_stop); i++) {
		const kura_walkpath *c = v->children[i];
		struct stat st;

		if (!c->leaf) {
			scan_vdir(a, c);
		} else if (lstat(c->resolved, &st) == 0) {
			if (S_ISREG(st.st_mode)) {
				atomic_fetch_add(&a->scan_files, 1);
				atomic_fetch_add(&a->scan_bytes, (uint64_t)st.st_size);
			} else if (S_ISDIR(st.st_mode)) {
				scan_tree(a, c->resolved);
			}
		}
	}
}

void *kura_backup__scan(void *arg)
{
	scanner *s = arg;

	scan_vdir(s->arch, s->paths);
	return NULL;
}

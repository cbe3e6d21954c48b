/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor_vault.c - the checks of `kurad doctor` that look at the vault
 * directory itself (doctor.h): modes and owners of its keys and
 * credentials, the immutable flag on its file system, approvers and their
 * key files, the deletion policy, credentials left unused, and free space
 * against the last 30 days' growth (the quota ledgers).
 */
#include "doctor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"

/* A file of the vault directory, read as host files are (bounded, text). */
static int read_dir_file(const doctor_ctx *ctx, const char *path, char **out, size_t *len)
{
	doctor_ctx plain = *ctx;

	plain.root = "";
	return doctor_read_host(&plain, path, out, len);
}

/* Append "NAME (why)" to a list kept within its buffer. */
static void list_add(char *list, size_t max, const char *name, const char *why)
{
	size_t n = strlen(list);

	if (n + strlen(name) + strlen(why) + 6 < max)
		snprintf(list + n, max - n, "%s%s (%s)", n ? ", " : "", name, why);
	else if (n + 5 < max && strcmp(list + n - 3, "...") != 0)
		snprintf(list + n, max - n, ", ...");
}

/* One secret file: group/other bits and owner against the vault directory's owner. */
static void mode_one(const char *dir, const char *rel, uid_t owner, bool secret, char *bad,
		     size_t max, int *worst)
{
	char path[4096], why[64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (lstat(path, &st) < 0)
		return;
	if (S_ISLNK(st.st_mode)) {
		list_add(bad, max, rel, "a symbolic link");
		*worst = DOCTOR_FAIL;
	} else if (st.st_mode & (secret ? 0077 : 0022)) {
		snprintf(why, sizeof(why), "mode %04o", (unsigned)(st.st_mode & 07777));
		list_add(bad, max, rel, why);
		*worst = DOCTOR_FAIL;
	} else if (st.st_uid != owner) {
		snprintf(why, sizeof(why), "owner %u, vault %u", (unsigned)st.st_uid,
			 (unsigned)owner);
		list_add(bad, max, rel, why);
		if (*worst < DOCTOR_WARN)
			*worst = DOCTOR_WARN;
	}
}

void doctor_check_modes(const doctor_ctx *ctx, doctor_result *out)
{
	/* s3.json and spool/ only on a vault whose repositories are on S3 */
	static const char *const secrets[] = {"tls/key.pem", "signing.key", "s3.json", NULL};
	static const char *const dirs[] = {".",	    "clients", "approvers", "tls",
					   "audit", "spool",   NULL};
	char bad[DOCTOR_TEXT_MAX - 64] = "", path[4096], rel[300];
	struct stat st;
	struct dirent *de;
	int worst = DOCTOR_PASS;
	size_t i, nclients = 0;
	DIR *d;

	if (stat(ctx->dir, &st) < 0) {
		doctor_set(out, DOCTOR_UNCHECKED, "give the vault directory", "%s: %s", ctx->dir,
			   strerror(errno));
		return;
	}
	for (i = 0; secrets[i]; i++)
		mode_one(ctx->dir, secrets[i], st.st_uid, true, bad, sizeof(bad), &worst);
	/* Directories: nobody else may add or swap files in them. */
	for (i = 0; dirs[i]; i++)
		mode_one(ctx->dir, dirs[i], st.st_uid, false, bad, sizeof(bad), &worst);
	snprintf(path, sizeof(path), "%s/clients", ctx->dir);
	if ((d = opendir(path))) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			nclients++;
			snprintf(rel, sizeof(rel), "clients/%.200s", de->d_name);
			mode_one(ctx->dir, rel, st.st_uid, true, bad, sizeof(bad), &worst);
		}
		closedir(d);
	}
	if (worst == DOCTOR_PASS)
		doctor_set(
		    out, DOCTOR_PASS, "",
		    "TLS key, signing key and %zu credential record(s): mode 0600 or tighter, "
		    "owned by the vault's owner",
		    nclients);
	else
		doctor_set(out, (doctor_status)worst,
			   "chmod 600 the key and credential files, chmod go-w the directories, "
			   "chown them to the vault's user (e.g. kura)",
			   "%s", bad);
}

void doctor_check_immutable(const doctor_ctx *ctx, doctor_result *out)
{
	static const char fix[] = "keep the vault on ext4, XFS or btrfs and run kurad with "
				  "CAP_LINUX_IMMUTABLE (contrib/systemd/kurad.service)";
	char path[4096];
	int fd, flags = 0, set, e;

	if (doctor_store_immutable(ctx, out))
		return; /* on S3 the store's Object Lock protects, not this flag */
	if (!ctx->privileged) {
		doctor_set(out, DOCTOR_UNCHECKED, fix,
			   "could not check: setting the immutable flag needs root "
			   "(CAP_LINUX_IMMUTABLE); run kurad doctor as root to test it");
		return;
	}
	snprintf(path, sizeof(path), "%s/.doctor-immutable-XXXXXX", ctx->dir);
	if ((fd = mkstemp(path)) < 0) {
		doctor_set(out, DOCTOR_UNCHECKED, fix, "could not make a scratch file in %s: %s",
			   ctx->dir, strerror(errno));
		return;
	}
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0) {
		e = errno;
		close(fd);
		unlink(path);
		doctor_set(out, DOCTOR_WARN, fix,
			   "the file system of %s has no immutable flag (%s): stored files are "
			   "protected by modes only",
			   ctx->dir, strerror(e));
		return;
	}
	flags |= FS_IMMUTABLE_FL;
	set = ioctl(fd, FS_IOC_SETFLAGS, &flags);
	e = errno;
	close(fd);
	if (set < 0) {
		unlink(path);
		doctor_set(out, DOCTOR_WARN, fix,
			   "setting the immutable flag on a scratch file failed (%s): stored files "
			   "are protected by modes only",
			   strerror(e));
		return;
	}
	/* The flag must stop even root from removing the file. */
	if (unlink(path) == 0) {
		doctor_set(out, DOCTOR_FAIL, fix,
			   "a scratch file flagged immutable could still be removed");
		return;
	}
	if ((fd = open(path, O_RDONLY)) >= 0) {
		flags &= ~FS_IMMUTABLE_FL;
		ioctl(fd, FS_IOC_SETFLAGS, &flags);
		close(fd);
	}
	unlink(path);
	doctor_set(out, DOCTOR_PASS, "",
		   "the immutable flag works on %s (a flagged scratch file "
		   "could not be removed)",
		   ctx->dir);
}

/* Approver records: DIR/approvers/NAME.json. */
static size_t count_approvers(const char *dir)
{
	char path[4096];
	struct dirent *de;
	size_t n = 0, l;
	DIR *d;

	snprintf(path, sizeof(path), "%s/approvers", dir);
	if (!(d = opendir(path)))
		return 0;
	while ((de = readdir(d)))
		if ((l = strlen(de->d_name)) > 5 && de->d_name[0] != '.' &&
		    strcmp(de->d_name + l - 5, ".json") == 0)
			n++;
	closedir(d);
	return n;
}

void doctor_check_approvers(const doctor_ctx *ctx, doctor_result *out)
{
	vault_policy p;
	size_t n;

	if (policy_load(ctx->dir, &p) < 0) {
		doctor_set(out, DOCTOR_UNCHECKED, "kurad policy DIR shows what is wrong",
			   "the policy could not be read");
		return;
	}
	n = count_approvers(ctx->dir);
	if (n < p.quorum)
		doctor_set(
		    out, DOCTOR_FAIL,
		    "add approvers (kurad approver add DIR NAME --output FILE, then move each "
		    "key to its approver's machine) or lower the quorum",
		    "%zu approver(s) for a quorum of %u: no deletion can ever be approved, "
		    "and adding one later means root on this host",
		    n, p.quorum);
	else
		doctor_set(out, DOCTOR_PASS, "", "%zu approver(s) for a quorum of %u", n, p.quorum);
}

/* Look for approver key files in dir (and one level below); adds to list. */
static void scan_keys(const char *dir, int depth, char *list, size_t max, size_t *found,
		      size_t *budget)
{
	struct dirent *de;
	DIR *d;

	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d)) && *budget > 0) {
		char path[4096], buf[4096];
		struct stat st;
		ssize_t n;
		int fd;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "repos") == 0)
			continue; /* repositories hold only encrypted data */
		(*budget)--;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
			sizeof(path) ||
		    lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth > 0)
				scan_keys(path, depth - 1, list, max, found, budget);
			continue;
		}
		if (!S_ISREG(st.st_mode) || st.st_size > 65536 ||
		    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n > 0 && doctor_is_approver_key(buf, (size_t)n)) {
			(*found)++;
			list_add(list, max, path, "approver key");
		}
	}
	closedir(d);
}

void doctor_check_approver_keys(const doctor_ctx *ctx, doctor_result *out)
{
	static const char *const places[] = {"/root",	      "/home", "/etc/kura",
					     "/var/lib/kura", "/tmp",  NULL};
	char list[DOCTOR_TEXT_MAX - 64] = "", path[4096];
	size_t found = 0, budget = 20000, i;

	scan_keys(ctx->dir, 2, list, sizeof(list), &found, &budget);
	for (i = 0; places[i]; i++) {
		snprintf(path, sizeof(path), "%s%s", ctx->root, places[i]);
		scan_keys(path, 2, list, sizeof(list), &found, &budget);
	}
	if (found)
		doctor_set(
		    out, DOCTOR_FAIL,
		    "move each approver key to its approver's own machine and delete it here: "
		    "whoever holds root here would hold the quorum too",
		    "%zu approver key file(s) on this host: %s", found, list);
	else
		doctor_set(
		    out, budget ? DOCTOR_PASS : DOCTOR_WARN,
		    budget ? "" : "look for files holding \"kura_approver_key\" yourself",
		    "no approver key file in DIR, /root, /home, /etc/kura, /var/lib/kura, /tmp%s",
		    budget ? "" : " (search stopped after 20000 entries)");
}

void doctor_check_policy(const doctor_ctx *ctx, doctor_result *out)
{
	vault_policy p;

	if (policy_load(ctx->dir, &p) < 0) {
		doctor_set(out, DOCTOR_UNCHECKED, "kurad policy DIR shows what is wrong",
			   "the policy could not be read");
		return;
	}
	if (p.min_age_s <= 0 && p.keep_daily + p.keep_weekly + p.keep_monthly == 0)
		doctor_set(out, DOCTOR_FAIL,
			   "kurad policy set DIR --min-age 30d --keep-daily 7 ...",
			   "the policy keeps nothing: min_age 0 and every keep_* 0; an approved "
			   "deletion may remove every snapshot");
	else if (p.min_age_s <= 0)
		doctor_set(out, DOCTOR_FAIL, "kurad policy set DIR --min-age 30d",
			   "min_age is 0: a snapshot received a minute ago may be deleted");
	else if (p.keep_daily + p.keep_weekly + p.keep_monthly == 0)
		doctor_set(out, DOCTOR_WARN,
			   "kurad policy set DIR --keep-daily 7 --keep-monthly 12",
			   "every keep_* is 0: only the last %lld day(s) are kept",
			   (long long)(p.min_age_s / 86400));
	else
		doctor_set(out, DOCTOR_PASS, "",
			   "keeps %lld day(s), %u daily, %u weekly, %u monthly; quorum %u",
			   (long long)(p.min_age_s / 86400), p.keep_daily, p.keep_weekly,
			   p.keep_monthly, p.quorum);
}

/* "YYYY-MM-DDTHH:MM:SS..." to seconds; -1 if not one. */
static int64_t parse_time(const char *s)
{
	struct tm tm = {0};

	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return -1;
	return (int64_t)timegm(&tm);
}

typedef struct {
	char name[64];
	int64_t created, last;
} cred;

void doctor_check_credentials(const doctor_ctx *ctx, doctor_result *out)
{
	char path[4096], list[DOCTOR_TEXT_MAX - 64] = "", *line = NULL;
	cred creds[256];
	size_t n = 0, i, cap = 0, stale = 0, lines = 0;
	struct dirent *de;
	ssize_t got;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "%s/clients", ctx->dir);
	if (!(d = opendir(path))) {
		doctor_set(out, DOCTOR_UNCHECKED, "run as the vault's user or root", "%s: %s", path,
			   strerror(errno));
		return;
	}
	while ((de = readdir(d)) && n < 256) {
		char *text, file[4096];
		size_t len;
		json_t *doc;

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(file, sizeof(file), "%s/%.200s", path, de->d_name) >=
		    sizeof(file))
			continue;
		if (read_dir_file(ctx, file, &text, &len) < 0)
			continue;
		if ((doc = json_loadb(text, len, 0, NULL)) &&
		    json_string_value(json_object_get(doc, "name"))) {
			snprintf(creds[n].name, sizeof(creds[n].name), "%s",
				 json_string_value(json_object_get(doc, "name")));
			creds[n].created =
			    parse_time(json_string_value(json_object_get(doc, "created")));
			creds[n].last = -1;
			n++;
		}
		json_decref(doc);
		free(text);
	}
	closedir(d);
	/* Last use: the newest audit entry naming the client. */
	snprintf(path, sizeof(path), "%s/audit/log.jsonl", ctx->dir);
	if ((f = fopen(path, "re"))) {
		while ((got = getline(&line, &cap, f)) > 0 && lines++ < 10000000) {
			json_t *e;
			const char *who;
			int64_t t;

			if (got > 65536 || !strstr(line, "\"client\""))
				continue;
			if (!(e = json_loadb(line, (size_t)got, 0, NULL)))
				continue;
			who = json_string_value(json_object_get(e, "client"));
			t = parse_time(json_string_value(json_object_get(e, "time")));
			for (i = 0; who && i < n; i++)
				if (strcmp(who, creds[i].name) == 0 && t > creds[i].last)
					creds[i].last = t;
			json_decref(e);
		}
		free(line);
		fclose(f);
	}
	for (i = 0; i < n; i++) {
		int64_t since = creds[i].last >= 0 ? creds[i].last : creds[i].created;
		char why[64];

		if (since < 0 || ctx->now_s - since < (int64_t)DOCTOR_UNUSED_DAYS * 86400)
			continue;
		stale++;
		snprintf(why, sizeof(why), "%s %lld days ago",
			 creds[i].last >= 0 ? "last used" : "issued, never used",
			 (long long)((ctx->now_s - since) / 86400));
		list_add(list, sizeof(list), creds[i].name, why);
	}
	if (stale)
		doctor_set(out, DOCTOR_WARN,
			   "revoke what is no longer used: kurad client revoke DIR NAME",
			   "%zu credential(s) unused for %d days or more (audit log): %s", stale,
			   DOCTOR_UNUSED_DAYS, list);
	else
		doctor_set(out, DOCTOR_PASS, "",
			   "%zu credential(s), each used or issued in the last %d days", n,
			   DOCTOR_UNUSED_DAYS);
}

/* Bytes stored in the last 30 days by every repository (DIR/meta/REPO/quota.json). */
static uint64_t growth_30d(const doctor_ctx *ctx, size_t *nledgers)
{
	int64_t today = ctx->now_s / 86400;
	char path[4096];
	uint64_t sum = 0;
	struct dirent *de;
	DIR *d;

	*nledgers = 0;
	snprintf(path, sizeof(path), "%s/meta", ctx->dir);
	if (!(d = opendir(path)))
		return 0;
	while ((de = readdir(d))) {
		char file[4096], *text;
		json_t *doc, *day;
		size_t len, i;

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(file, sizeof(file), "%s/%.200s/quota.json", path,
				     de->d_name) >= sizeof(file))
			continue;
		if (read_dir_file(ctx, file, &text, &len) < 0)
			continue;
		doc = json_loadb(text, len, 0, NULL);
		free(text);
		if (!json_is_array(json_object_get(doc, "days"))) {
			json_decref(doc);
			continue;
		}
		(*nledgers)++;
		json_array_foreach(json_object_get(doc, "days"), i, day)
		{
			json_int_t dn = json_integer_value(json_array_get(day, 0));
			json_int_t b = json_integer_value(json_array_get(day, 1));

			if (b > 0 && dn > today - 30 && dn <= today && sum + (uint64_t)b >= sum)
				sum += (uint64_t)b;
		}
		json_decref(doc);
	}
	closedir(d);
	return sum;
}

void doctor_check_space(const doctor_ctx *ctx, doctor_result *out)
{
	static const char fix[] = "add space to the vault's file system before it fills: a full "
				  "vault refuses new backups";
	struct statvfs vfs;
	uint64_t avail, grow;
	double days;
	size_t nl;

	if (doctor_store_space(ctx, out))
		return; /* on S3 DIR holds only the spool */
	if (statvfs(ctx->dir, &vfs) < 0) {
		doctor_set(out, DOCTOR_UNCHECKED, fix, "statvfs %s: %s", ctx->dir, strerror(errno));
		return;
	}
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	grow = growth_30d(ctx, &nl);
	if (grow == 0) {
		doctor_set(out, DOCTOR_PASS, "",
			   "%.1f GiB free; no growth recorded in the last 30 days "
			   "(%zu quota ledger(s))",
			   (double)avail / (1 << 30), nl);
		return;
	}
	days = (double)avail / ((double)grow / 30.0);
	doctor_set(out,
		   days < 30   ? DOCTOR_FAIL
		   : days < 90 ? DOCTOR_WARN
			       : DOCTOR_PASS,
		   days < 90 ? fix : "",
		   "%.1f GiB free, %.2f GiB stored in the last 30 days: about %.0f days left",
		   (double)avail / (1 << 30), (double)grow / (1 << 30), days);
}

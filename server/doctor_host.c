/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor_host.c - the checks of `kurad doctor` that look at the host
 * around the vault (doctor.h): what listens on the vault's port, the
 * clock (retention runs on vault time: a wrong clock is a deletion risk),
 * SSH logins, and membership of a Windows domain (the incident's attacker
 * held the domain).  /etc and /proc are read under ctx->root.
 */
#include "doctor.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>

/* The vault's configured listen address (vault.json); NULL if unreadable. */
static char *vault_listen(const doctor_ctx *ctx)
{
	doctor_ctx plain = *ctx;
	char path[4096], *text = NULL, *out = NULL;
	const char *s;
	size_t len;
	json_t *doc;

	plain.root = "";
	snprintf(path, sizeof(path), "%s/vault.json", ctx->dir);
	if (doctor_read_host(&plain, path, &text, &len) < 0)
		return NULL;
	if ((doc = json_loadb(text, len, 0, NULL)) &&
	    (s = json_string_value(json_object_get(doc, "listen"))))
		out = strdup(s);
	json_decref(doc);
	free(text);
	return out;
}

typedef struct {
	char list[DOCTOR_TEXT_MAX / 2];
	bool wildcard;
} listeners;

static void add_listener(const char *addr, void *arg)
{
	listeners *l = arg;
	size_t n = strlen(l->list);

	if (strcmp(addr, "0.0.0.0") == 0 || strcmp(addr, "::") == 0)
		l->wildcard = true;
	if (n + strlen(addr) + 3 < sizeof(l->list))
		snprintf(l->list + n, sizeof(l->list) - n, "%s%s", n ? ", " : "", addr);
}

void doctor_check_listen(const doctor_ctx *ctx, doctor_result *out)
{
	static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	char *listen = vault_listen(ctx), *text;
	listeners l = {.list = "", .wildcard = false};
	size_t len, found = 0, i;
	unsigned port;
	int err, readable = 0;

	if (!listen) {
		doctor_set(out, DOCTOR_UNCHECKED, "check that DIR is a vault (kurad init DIR)",
			   "no listen address in %s/vault.json", ctx->dir);
		return;
	}
	port = doctor_addr_port(listen);
	for (i = 0; i < 2; i++) {
		if ((err = doctor_read_host(ctx, files[i], &text, &len)) < 0)
			continue;
		readable++;
		found += doctor_tcp_listeners(text, len, i == 1, port, add_listener, &l);
		free(text);
	}
	if (doctor_addr_wildcard(listen))
		doctor_set(
		    out, DOCTOR_WARN,
		    "unless every interface is meant, serve on the backup network's address: "
		    "kurad serve DIR --listen ADDR:PORT (or edit \"listen\" in vault.json)",
		    "the vault is configured to listen on every interface (%s)", listen);
	else if (l.wildcard)
		doctor_set(
		    out, DOCTOR_WARN,
		    "find what holds the port (ss -ltnp) and bind it to the configured address",
		    "configured for %s, but something listens on port %u of every interface (%s)",
		    listen, port, l.list);
	else if (!readable)
		doctor_set(
		    out, DOCTOR_PASS, "",
		    "configured for %s only (/proc/net/tcp not readable: sockets not checked)",
		    listen);
	else if (found)
		doctor_set(out, DOCTOR_PASS, "", "configured for %s; listening on %s only", listen,
			   l.list);
	else
		doctor_set(out, DOCTOR_PASS, "",
			   "configured for %s; nothing listens on port %u now", listen, port);
	free(listen);
}

void doctor_check_clock(const doctor_ctx *ctx, doctor_result *out)
{
	static const char fix[] = "enable time synchronisation (timedatectl set-ntp true, "
				  "or chrony/ntpsec) against a time source you trust";
	struct timex tx = {0};
	char *text;
	size_t len;
	int state;

	/* systemd-timesyncd leaves this file while it is synchronised. */
	if (doctor_read_host(ctx, "/run/systemd/timesync/synchronized", &text, &len) == 0) {
		free(text);
		doctor_set(out, DOCTOR_PASS, "", "synchronised (systemd-timesyncd)");
		return;
	}
	if (ctx->root[0]) {
		/* A fake root: the kernel's clock is not the fake host's. */
		doctor_set(out, DOCTOR_UNCHECKED, fix,
			   "no /run/systemd/timesync/synchronized under %s; the kernel clock of "
			   "another root cannot be asked",
			   ctx->root);
		return;
	}
	if ((state = ntp_adjtime(&tx)) < 0) {
		doctor_set(out, DOCTOR_UNCHECKED, fix, "adjtimex: %s", strerror(errno));
		return;
	}
	if (state == TIME_ERROR || (tx.status & STA_UNSYNC))
		doctor_set(out, DOCTOR_FAIL, fix,
			   "the kernel clock is not synchronised (adjtimex: STA_UNSYNC); retention "
			   "and deletion delays run on this clock");
	else
		doctor_set(out, DOCTOR_PASS, "", "synchronised (adjtimex: max error %ld us)",
			   (long)tx.maxerror);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void doctor_check_ssh(const doctor_ctx *ctx, doctor_result *out)
{
	static const char fix[] = "in /etc/ssh/sshd_config(.d): PasswordAuthentication no, "
				  "PermitRootLogin no; then systemctl reload ssh";
	doctor_sshd sshd = {-1, -1};
	char dpath[4096], *names[64], *text, bad[160] = "";
	size_t len, n = 0, i;
	struct dirent *de;
	DIR *d;
	int err;

	/* Debian's sshd_config includes sshd_config.d/NAME.conf first: first value wins. */
	snprintf(dpath, sizeof(dpath), "%s/etc/ssh/sshd_config.d", ctx->root);
	if ((d = opendir(dpath))) {
		while ((de = readdir(d)) && n < 64) {
			size_t l = strlen(de->d_name);

			if (l > 5 && strcmp(de->d_name + l - 5, ".conf") == 0 &&
			    (names[n] = strdup(de->d_name)))
				n++;
		}
		closedir(d);
	}
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (i = 0; i < n; i++) {
		char p[4096];

		snprintf(p, sizeof(p), "/etc/ssh/sshd_config.d/%s", names[i]);
		if ((err = doctor_read_host(ctx, p, &text, &len)) == 0) {
			doctor_sshd_parse(text, len, &sshd);
			free(text);
		} else if (!bad[0]) {
			snprintf(bad, sizeof(bad), "sshd_config.d/%.60s: %s", names[i],
				 doctor_read_error(err));
		}
		free(names[i]);
	}
	err = doctor_read_host(ctx, "/etc/ssh/sshd_config", &text, &len);
	if (err == -ENOENT && n == 0) {
		doctor_set(out, DOCTOR_PASS, "",
			   "no SSH server configured (no /etc/ssh/sshd_config)");
		return;
	}
	if (err < 0) {
		doctor_set(out, DOCTOR_UNCHECKED, fix, "/etc/ssh/sshd_config: %s",
			   doctor_read_error(err));
		return;
	}
	doctor_sshd_parse(text, len, &sshd);
	free(text);
	/* sshd's defaults: passwords allowed, root only without a password. */
	if (sshd.password_auth < 0)
		sshd.password_auth = 1;
	if (sshd.root_login < 0)
		sshd.root_login = 2;
	if (sshd.root_login == 1)
		doctor_set(out, DOCTOR_FAIL, fix,
			   "PermitRootLogin yes: root logs in over SSH with a password%s%s",
			   bad[0] ? "; unread: " : "", bad);
	else if (sshd.password_auth)
		doctor_set(out, DOCTOR_WARN, fix,
			   "PasswordAuthentication yes: stolen or guessed passwords open the vault "
			   "host%s%s",
			   bad[0] ? "; unread: " : "", bad);
	else if (bad[0])
		doctor_set(out, DOCTOR_UNCHECKED, fix, "passwords off in what was read, but %s",
			   bad);
	else
		doctor_set(out, DOCTOR_PASS, "", "SSH: no passwords, root %s",
			   sshd.root_login ? "by key only" : "not allowed");
}

/* A running process whose name is one of `names`: its name, or NULL. */
static const char *running(const doctor_ctx *ctx, const char *const *names, bool *readable)
{
	char path[4096], *text;
	struct dirent *de;
	const char *hit = NULL;
	size_t len, i, seen = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/proc", ctx->root);
	*readable = false;
	if (!(d = opendir(path)))
		return NULL;
	while (!hit && (de = readdir(d)) && seen < 100000) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		seen++;
		snprintf(path, sizeof(path), "/proc/%.20s/comm", de->d_name);
		if (doctor_read_host(ctx, path, &text, &len) < 0)
			continue;
		*readable = true;
		if (len && text[len - 1] == '\n')
			text[--len] = '\0';
		for (i = 0; names[i]; i++)
			if (strcmp(text, names[i]) == 0)
				hit = names[i];
		free(text);
	}
	closedir(d);
	return hit;
}

void doctor_check_domain(const doctor_ctx *ctx, doctor_result *out)
{
	static const char fix[] = "take the vault host out of the domain (realm leave; remove sssd/"
				  "winbind), use local accounts only for its administrators";
	static const char *const procs[] = {"sssd", "winbindd", "realmd", "sssd_be", NULL};
	static const char *const files[] = {"/etc/sssd/sssd.conf", "/etc/krb5.keytab", NULL};
	const char *hit;
	char *text;
	size_t len, i;
	bool readable;
	int err;

	for (i = 0; files[i]; i++) {
		err = doctor_read_host(ctx, files[i], &text, &len);
		free(text);
		if (err != -ENOENT) {
			doctor_set(out, DOCTOR_FAIL, fix,
				   "%s exists: the host looks joined to a directory domain",
				   files[i]);
			return;
		}
	}
	if (doctor_read_host(ctx, "/etc/samba/smb.conf", &text, &len) == 0) {
		bool ads = false;
		char *p;

		for (p = text; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		ads = strstr(text, "security = ads") || strstr(text, "security=ads");
		free(text);
		if (ads) {
			doctor_set(
			    out, DOCTOR_FAIL, fix,
			    "/etc/samba/smb.conf says security = ads: joined to Active Directory");
			return;
		}
	}
	if ((hit = running(ctx, procs, &readable))) {
		doctor_set(out, DOCTOR_FAIL, fix,
			   "%s is running: the host takes logins from a domain", hit);
		return;
	}
	if (!readable)
		doctor_set(
		    out, DOCTOR_UNCHECKED, fix,
		    "no sssd, krb5.keytab or ADS samba config; processes in /proc not readable");
	else
		doctor_set(out, DOCTOR_PASS, "",
			   "no sssd, winbind or realmd: not joined to a Windows domain");
}

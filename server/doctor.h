/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor.h - `kurad doctor DIR`: the vault host checked against a
 * hardening list.  Each check is a small function that fills a
 * doctor_result (pass, warn, fail, or "could not check" with the reason
 * and the fix).  The checks of the vault directory are in
 * doctor_vault.c (what depends on the repositories' store: doctor_store.c),
 * those of the host in doctor_host.c, the readers of host
 * files (pure parsers, fuzzed) in doctor_probe.c and the command and its
 * output in doctor_out.c.
 *
 * Host files are read under a root (ctx->root, "" for the real /), which
 * the environment variable KURAD_DOCTOR_ROOT overrides so that tests can
 * feed fake or hostile /etc and /proc trees.  Every host file is input
 * from outside: read bounded (DOCTOR_FILE_MAX), NUL bytes refused.
 */
#ifndef KURA_SERVER_DOCTOR_H
#define KURA_SERVER_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOCTOR_FILE_MAX (1u << 20) /* a host file larger than this is not read */
#define DOCTOR_TEXT_MAX 400
#define DOCTOR_EXIT_FAIL 3    /* `kurad doctor`: at least one check failed */
#define DOCTOR_UNUSED_DAYS 90 /* a credential unused this long is reported */

typedef enum { DOCTOR_PASS, DOCTOR_WARN, DOCTOR_FAIL, DOCTOR_UNCHECKED } doctor_status;

typedef struct {
	doctor_status status;
	char reason[DOCTOR_TEXT_MAX];
	char fix[DOCTOR_TEXT_MAX];
} doctor_result;

typedef struct {
	const char *dir;  /* the vault directory */
	const char *root; /* prefix of /etc and /proc paths; "" for the host's own */
	bool privileged;  /* running as root: the checks that need it may run */
	int64_t now_s;	  /* CLOCK_REALTIME seconds */
} doctor_ctx;

typedef struct {
	const char *name; /* short, stable: the JSON "name" */
	void (*run)(const doctor_ctx *ctx, doctor_result *out);
} doctor_check;

/* Every check, in the order they are reported; ends with a NULL name. */
extern const doctor_check doctor_checks[];

/* Set a result: status, reason and fix (printf-style reason, fix as given). */
void doctor_set(doctor_result *out, doctor_status st, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "pass", "warn", "fail", "unchecked". */
const char *doctor_status_name(doctor_status st);

/* The checks (doctor_vault.c, doctor_host.c). */
void doctor_check_listen(const doctor_ctx *ctx, doctor_result *out);
void doctor_check_modes(const doctor_ctx *ctx, doctor_result *out);
void doctor_check_immutable(const doctor_ctx *ctx, doctor_result *out);
void doctor_check_clock(const doctor_ctx *ctx, doctor_result *out);
void doctor_check_ssh(const doctor_ctx *ctx, doctor_result *out);
void doctor_check_domain(const doctor_ctx *ctx, doctor_result *out);
void doctor_check_approvers(const doctor_ctx *ctx, doctor_result *out);
void doctor_check_approver_keys(const doctor_ctx *ctx, doctor_result *out);
void doctor_check_policy(const doctor_ctx *ctx, doctor_result *out);
void doctor_check_credentials(const doctor_ctx *ctx, doctor_result *out);
void doctor_check_space(const doctor_ctx *ctx, doctor_result *out);

/*
 * doctor_store.c: the S3 store's side of "immutable" and "free-space".
 * 1 when the vault's repositories are on S3 (*out filled), 0 on disk.
 */
int doctor_store_immutable(const doctor_ctx *ctx, doctor_result *out);
int doctor_store_space(const doctor_ctx *ctx, doctor_result *out);

/* --- doctor_probe.c: reading host files and the parsers of their text --- */

/*
 * Read ROOT/PATH (path absolute) into a NUL-terminated buffer the caller
 * frees.  0; -ENOENT if missing; -EFBIG past DOCTOR_FILE_MAX; -EINVAL if it
 * holds a NUL byte (not a text file); another -errno otherwise.
 */
int doctor_read_host(const doctor_ctx *ctx, const char *path, char **out, size_t *out_len);

/* Short words for the errors of doctor_read_host. */
const char *doctor_read_error(int err);

typedef struct {
	int password_auth; /* -1 not set, 0 no, 1 yes */
	int root_login;	   /* -1 not set, 0 no, 1 yes, 2
			      prohibit-password/without-password/forced-commands-only */
} doctor_sshd;

/*
 * Fold one sshd_config text into *sshd: sshd keeps the first value it
 * obtains for a keyword, so a keyword already set is left alone; a
 * "Match" line ends what applies to every connection.
 */
void doctor_sshd_parse(const char *text, size_t len, doctor_sshd *sshd);

/*
 * The listening TCP sockets of a /proc/net/tcp or tcp6 text on `port`:
 * each one's local address, as text ("0.0.0.0", "::", "127.0.0.1"), is
 * passed to fn.  Returns how many; malformed lines are skipped.
 */
size_t doctor_tcp_listeners(const char *text, size_t len, bool v6, unsigned port,
			    void (*fn)(const char *addr, void *arg), void *arg);

/* Is this listen address (vault.json, "ADDR:PORT" or "[V6]:PORT") every interface? */
bool doctor_addr_wildcard(const char *listen);

/* The port of "ADDR:PORT" / "[V6]:PORT"; 0 if none. */
unsigned doctor_addr_port(const char *listen);

/* Does a file's start mark it as an approver key file? */
bool doctor_is_approver_key(const char *text, size_t len);

#endif

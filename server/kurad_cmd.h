/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kurad_cmd.h - what the files of the `kurad` command line share: exit
 * codes, the option parser, the error and usage messages, and the entry
 * point of each command (one file per command group, server/kurad_*.c;
 * main.c dispatches).  The command files are in libkurad.a like the rest
 * of the vault; only main.c stays out.
 */
#ifndef KURA_SERVER_KURAD_CMD_H
#define KURA_SERVER_KURAD_CMD_H

#include <stdbool.h>

#include <jansson.h>

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_LOG_BAD = 4 };

/* "kurad: MESSAGE", a blank line and `usage` on stderr; returns EXIT_USAGE. */
int kurad_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "kurad: WHAT: " and the library's error message on stderr; returns EXIT_ERROR. */
int kurad_fail(const char *what);

typedef struct {
	const char *name; /* "--listen" */
	bool has_value;
	const char **value; /* has_value: where the value goes */
	bool *flag;	    /* !has_value: set when given */
} kurad_option;

/*
 * Split argv (after the command words) into options and positional
 * arguments.  "--opt VALUE" and "--opt=VALUE" both work; "--" ends the
 * options.  *help is set by -h/--help.  Returns EXIT_OK or EXIT_USAGE
 * (message printed).
 */
int kurad_parse_args(int argc, char **argv, const kurad_option *opts, const char **pos, int max_pos,
		     int *npos, bool *help, const char *usage);

/* RFC 3339 UTC, to the second, of a JSON integer of nanoseconds; NULL if not one. */
const char *kurad_ns_time(const json_t *ns, char out[40]);

/* The string member `key` of `o`, or "?". */
const char *kurad_jstr(const json_t *o, const char *key);

/* A request id: 1 to 999999999, decimal digits only. */
bool kurad_parse_id(const char *s, unsigned long *out);

/* The commands: argv after the command word; each returns an exit status. */
int kurad_cmd_init(int argc, char **argv);	 /* kurad_serve.c */
int kurad_cmd_serve(int argc, char **argv);	 /* kurad_serve.c */
int kurad_cmd_client(int argc, char **argv);	 /* kurad_client.c */
int kurad_cmd_status(int argc, char **argv);	 /* kurad_status.c */
int kurad_cmd_log(int argc, char **argv);	 /* kurad_status.c */
int kurad_cmd_approver(int argc, char **argv);	 /* kurad_approver.c */
int kurad_cmd_approve(int argc, char **argv);	 /* kurad_approver.c */
int kurad_cmd_cancel(int argc, char **argv);	 /* kurad_approver.c */
int kurad_cmd_deletions(int argc, char **argv);	 /* kurad_deletions.c */
int kurad_cmd_policy(int argc, char **argv);	 /* kurad_policy.c */
int kurad_cmd_quarantine(int argc, char **argv); /* kurad_quarantine.c */
int kurad_cmd_doctor(int argc, char **argv);	 /* doctor_out.c */
int kurad_cmd_s3(int argc, char **argv);	 /* kurad_s3.c */

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h - declarations shared by the files of the `kura` command.
 *
 * The command line is a thin layer over the public API in kura/kura.h: it
 * parses arguments, obtains the repository and its key, turns library
 * results into text for people or JSON for scripts, and maps library error
 * codes to the documented exit statuses.  It never reaches into lib/.
 *
 * Every command is a `cli_command` in its own cmd_*.c file; its run function
 * receives the global options and its own argv (argv[0] is the command name)
 * and returns the process exit status.  Standard output carries results,
 * standard error carries progress, warnings and errors, so `--json` output
 * can be piped while a person still sees what went wrong.
 */
#ifndef KURA_CLI_H
#define KURA_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kura/backend.h"
#include "kura/keyshare.h"
#include "kura/kura.h"

/* Exit statuses; kura(1) "EXIT STATUS" documents them. */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FATAL = 1,
	CLI_EXIT_USAGE = 2,
	CLI_EXIT_PARTIAL = 3,   /* backup written, but some files were unreadable */
	CLI_EXIT_INTEGRITY = 4, /* check found problems, or restore lost content */
	CLI_EXIT_EXISTS = 5,    /* restore left paths already in the target as they were */
	CLI_EXIT_SUSPECT = 5,   /* backup saved, and it shows signs of ransomware */
	CLI_EXIT_DRILL = 6,     /* a drill failed: damage, missing data, a file that differs */
	CLI_EXIT_DRILL_VERIFY = 7, /* a drill restored intact data but its verify command failed */
	CLI_EXIT_STATUS = 8,    /* kura status: a rule of 3-2-1-1-0 does not hold */
	CLI_EXIT_NOREPO = 10,   /* no repository at the location */
	CLI_EXIT_AUTH = 12,     /* wrong passphrase or foreign key */
	CLI_EXIT_NEEDKEY = 13,  /* the operation needs the restore key */
};

/* Options accepted before or after the command name. */
struct cli_global {
	const char *repo; /* --repo, else $KURA_REPOSITORY */
	bool json;
	bool quiet;
	int threads; /* 0: the library picks one per CPU */
};

struct cli_command {
	const char *name;
	const char *summary; /* one line for `kura help` */
	const char *usage;   /* "kura backup [OPTIONS] PATH..." lines */
	const char *help;    /* description and options, for --help */
	int (*run)(struct cli_global *g, int argc, char **argv);
};

extern const struct cli_command cli_cmd_init, cli_cmd_key, cli_cmd_backup, cli_cmd_snapshots,
	cli_cmd_ls, cli_cmd_restore, cli_cmd_diff, cli_cmd_check, cli_cmd_version, cli_cmd_log,
	cli_cmd_vault, cli_cmd_forget, cli_cmd_prune, cli_cmd_repair, cli_cmd_drill, cli_cmd_scan,
	cli_cmd_copy, cli_cmd_mount, cli_cmd_status, cli_cmd_s3, cli_cmd_approve, cli_cmd_cancel;

/* main.c: help text */
void cli_help_command(const struct cli_command *cmd);

/* ------------------------------------------------------------------ */
/* options.c: argument parsing                                          */

/* Returned by cli_getopt_next() when the command must end with p->status. */
#define CLI_OPT_STOP (-2)

/* First value for long-only options of a command (avoids the globals). */
#define CLI_OPT_LONG 0x200

struct cli_getopt {
	struct cli_global *g;
	const struct cli_command *cmd;
	int argc;
	char **argv;
	const char *arg; /* the current option's argument */
	int status;      /* exit status after CLI_OPT_STOP */
	char shorts[64];
	struct option longs[32];
};

/*
 * Prepare to parse argv (argv[0] is the command name) with the command's
 * own `shorts` and `longs` (terminated by a zero entry) merged with the
 * global options, which cli_getopt_next() handles by itself.
 */
void cli_getopt_init(struct cli_getopt *p, struct cli_global *g, const struct cli_command *cmd,
		     int argc, char **argv, const char *shorts, const struct option *longs);

/*
 * The next command option (its argument in p->arg), -1 after the last one
 * (operands then start at argv[optind]), or CLI_OPT_STOP after --help
 * (p->status 0) or a usage error (p->status 2, message printed).
 */
int cli_getopt_next(struct cli_getopt *p);

/* Print "kura: MESSAGE", the command's usage and a pointer to --help on
 * stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "512", "512K", "4M", "1G", "1GiB" (binary multiples) into *out. */
int cli_parse_size(uint64_t *out, const char *s);

/* A decimal integer in [min, max]. */
int cli_parse_int(int *out, const char *s, int min, int max);

#define CLI_DURATION_MAX ((int64_t)100 * 366 * 86400) /* a century, in seconds */

/* "0", "90", "90s", "15m", "1h", "7d" (at most CLI_DURATION_MAX) into seconds. */
int cli_parse_duration(int64_t *out, const char *s);

/* A growable list of option arguments (--tag, --exclude...), borrowed from argv. */
struct cli_strlist {
	const char **items;
	size_t count;
};
int cli_strlist_add(struct cli_strlist *l, const char *s);
void cli_strlist_free(struct cli_strlist *l);

/* ------------------------------------------------------------------ */
/* repo_open.c: repository, key and snapshot names                      */

/* The repository location from --repo or KURA_REPOSITORY, or NULL after
 * printing a usage error. */
const char *cli_repo_location(const struct cli_global *g, const struct cli_command *cmd);

/*
 * Open the repository with KURA_KEY_FILE (asking for a passphrase only if
 * it is an exported restore key) or with the passphrase of the stored
 * restore key.  Returns an exit status; on 0 *out is open.
 */
int cli_repo_open(kura_repo **out, const struct cli_global *g, const struct cli_command *cmd);

/* cli_repo_open(), hashing the packs of a local repository while the
 * passphrase is being stretched when hash_packs (for check --read-data). */
int cli_repo_open_for_data(kura_repo **out, const struct cli_global *g,
			   const struct cli_command *cmd, bool hash_packs);

/*
 * Warn on stderr, once each, about the damaged files the library skipped,
 * then free the repository.  Every command that opened one ends with it.
 */
void cli_repo_close(kura_repo *repo);

/* The same list as a JSON array of {file, message}, for --json summaries. */
json_t *cli_damage_json(kura_repo *repo);

/* Resolve a user's snapshot name; returns an exit status. */
int cli_snapshot_resolve(kura_repo *repo, const char *name, char out[KURA_ID_HEX]);

/*
 * Print "kura: " and the library's message for `err`, then a hint on what
 * to do (`hint`, or a default for the code), on stderr.  Returns the exit
 * status for the code.
 */
int cli_fail(int err, const char *hint);

/* The exit status that goes with a library error code. */
int cli_exit_status(int err);

/* KURA_VAULT_CREDENTIALS when set and not empty, else NULL. */
const char *cli_vault_credentials_env(void);

/* kura_s3_options from the AWS_* variables (s3_env.c): CLI_EXIT_OK or a usage error. */
int cli_s3_options(kura_s3_options *o);

/*
 * For a vault:// location without KURA_VAULT_CREDENTIALS: prints what to
 * set and returns the exit status; CLI_EXIT_OK otherwise.
 */
int cli_vault_credentials_missing(const char *loc);

/* ------------------------------------------------------------------ */
/* cmd_log.c: auditor requests to a vault (also used by cmd_vault.c)    */

/* KURA_VAULT_CREDENTIALS, or NULL after printing a usage error. */
const char *cli_vault_credential(const struct cli_command *cmd);

/*
 * Fetch "log" or "status" from the vault with the credential `cred`;
 * *out is malloc'd.  Returns an exit status, the error already printed.
 */
int cli_vault_fetch(const char *cred, const char *what, uint8_t **out, size_t *out_len);

/* ------------------------------------------------------------------ */
/* deletion.c and cmd_prune.c: what `kura forget` and `kura prune` share */

/*
 * Resolve the SNAPSHOT operands (full ids or unique prefixes; `latest` only
 * with a key that can read snapshots) against the listing, without
 * duplicates.  *out is malloc'd.  Returns an exit status, the error
 * already printed; nothing is resolved unless every name is.
 */
int cli_snapshots_resolve_all(kura_repo *repo, char *const *names, size_t n,
			      char (**out)[KURA_ID_HEX], size_t *out_count);

struct kura_backend;

/*
 * Ask the vault to delete the snapshots `ids` and, with `prune`, the
 * data no remaining snapshot lists; with `dry_run` only say what would be
 * asked.  Prints the vault's answer (or its refusal, with each protected
 * snapshot and the reason); returns an exit status.
 */
int cli_vault_request_deletion(const struct cli_global *g, struct kura_backend *b,
			       const char *location, const char (*ids)[KURA_ID_HEX], size_t n,
			       bool prune, bool dry_run);

/* How a local prune runs: `kura prune` and `kura forget --prune` options. */
struct cli_prune_opts {
	int64_t grace_s;   /* --grace: keep unreferenced packs younger than this */
	int64_t wait_s;    /* --wait: wait this long for backups holding the repository */
	bool dry_run;
	bool local_given;  /* --grace or --wait given: refused on a vault */
};

#define CLI_GRACE_DEFAULT 3600 /* prune keeps unreferenced packs younger than this */
#define CLI_WAIT_DEFAULT 600   /* and waits this long for running backups */
#define CLI_PRUNE_OPTS_INIT {CLI_GRACE_DEFAULT, CLI_WAIT_DEFAULT, false, false}

/*
 * Prune a local repository (kura_prune): remove every pack that no
 * snapshot lists (counting the snapshots `gone` as removed already:
 * forget --dry-run) and that was written at least po->grace_s seconds
 * ago, waiting up to po->wait_s for backups that hold the repository.
 * Also cleans tmp/.  Returns an exit status; `json` adds the result to
 * that object instead of printing it.
 */
int cli_prune_local(const struct cli_global *g, struct kura_backend *b,
		    const char (*gone)[KURA_ID_HEX], size_t ngone, const struct cli_prune_opts *po,
		    json_t *json);

/*
 * The options --grace and --wait that `kura prune` and `kura forget`
 * share, as getopt values (above any short option and below each
 * command's own CLI_OPT_LONG + n)...
 */
#define CLI_OPT_GRACE (CLI_OPT_LONG + 100)
#define CLI_OPT_WAIT (CLI_OPT_LONG + 101)

/*
 * ...into `po`: CLI_EXIT_OK, a usage error's exit status, or -1 when `c`
 * is neither.
 */
int cli_prune_opt(const struct cli_command *cmd, int c, const char *arg,
		  struct cli_prune_opts *po);

/* --grace's argument into *out: CLI_EXIT_OK, or the usage error for `cmd`. */
int cli_grace_arg(const struct cli_command *cmd, const char *arg, int64_t *out);

/* --wait's argument into *out, likewise. */
int cli_wait_arg(const struct cli_command *cmd, const char *arg, int64_t *out);

/* The usage error for `cmd` when --grace or --wait is given for a vault. */
int cli_grace_on_vault(const struct cli_command *cmd);

/*
 * For `kura forget` and `kura prune` on a store that neither removes files
 * nor takes deletion requests: says so, naming `location`, and returns
 * the exit status.
 */
int cli_store_cannot_remove(const char *location);

/* ------------------------------------------------------------------ */
/* passphrase.c                                                         */

#define CLI_PASSPHRASE_MAX 4096

/*
 * Read a passphrase into buf (NUL-terminated): the first line of
 * $KURA_PASSWORD_FILE, else from /dev/tty without echo after `prompt`;
 * with `confirm`, a terminal user types it twice.  Returns an exit status
 * with the error already printed.  The caller wipes buf with
 * cli_passphrase_wipe().
 */
int cli_passphrase_read(char *buf, size_t size, const char *prompt, bool confirm);

/* The same from the file named by `env` (KURA_APPROVER_PASSWORD_FILE for an approver key). */
int cli_passphrase_read_env(const char *env, char *buf, size_t size, const char *prompt,
			    bool confirm);

void cli_passphrase_wipe(char *buf, size_t size);

/*
 * Ask `question` on the terminal (/dev/tty): 1 if the answer is "yes", 0
 * for anything else, -1 when there is no terminal.
 */
int cli_tty_confirm(const char *question);

/* true if cli_passphrase_read() has a file or a terminal to read from. */
bool cli_passphrase_available(void);

/* ------------------------------------------------------------------ */
/* progress.c                                                           */

struct cli_progress {
	bool enabled; /* stderr is a terminal, and neither --json nor --quiet */
	bool drawn;   /* a line is on screen and must be cleared */
	uint64_t warnings;
};

void cli_progress_init(struct cli_progress *p, const struct cli_global *g);

/* kura_progress_fn; ctx is a struct cli_progress. */
void cli_progress_update(const kura_progress *progress, void *ctx);

/* kura_warning_fn printing "warning: PATH: MESSAGE"; ctx is a struct cli_progress. */
void cli_progress_warning(const char *path, const char *message, void *ctx);

/* Remove the progress line, if any, so other text can be printed. */
void cli_progress_clear(struct cli_progress *p);

/* ------------------------------------------------------------------ */
/* output.c: formatting                                                 */

#define CLI_FMT_MAX 48

/* "512 B", "1.21 GiB" */
const char *cli_fmt_size(char buf[CLI_FMT_MAX], uint64_t bytes);
/* "2026-11-25 20:31:07" in local time */
const char *cli_fmt_time_local(char buf[CLI_FMT_MAX], int64_t sec);
/* "2026-11-25T11:31:07.123456789Z" */
const char *cli_fmt_time_rfc3339(char buf[CLI_FMT_MAX], int64_t sec, uint32_t nsec);
/* "M:SS", or "H:MM:SS" from an hour on */
const char *cli_fmt_duration(char buf[CLI_FMT_MAX], double seconds);
/* The shortest exact form of a duration in seconds: "7d", "36h", "90s", "0" */
const char *cli_fmt_duration_short(char buf[CLI_FMT_MAX], int64_t seconds);
/* "drwxr-xr-x" */
const char *cli_fmt_mode(char buf[CLI_FMT_MAX], int type, uint32_t mode);
/* "file", "dir", "symlink"... */
const char *cli_node_type_name(int type);

/* A JSON string from bytes that may not be UTF-8 (bad bytes become U+FFFD). */
json_t *cli_json_str(const char *s);
/* A JSON integer from an unsigned count (clamped to the JSON range). */
json_t *cli_json_u64(uint64_t v);
/* Print `value` as one compact line on stdout and release it; an exit status. */
int cli_json_print(json_t *value);

/* ------------------------------------------------------------------ */
/* cmd_key_split.c and keysheet.c: the restore key split among people   */

/* `kura key split` and `kura key combine`, reached through cmd_key.c. */
extern const struct cli_command cli_cmd_key_split, cli_cmd_key_combine;

/* Write the printable HTML sheet (QR code, typed lines, instructions) of
 * one share to `path` (mode 0600, never overwritten); an exit status. */
int cli_keysheet_write(const char *path, const char *share_text, const kura_keyshare_info *info);

#endif

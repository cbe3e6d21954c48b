/* SPDX-License-Identifier: Apache-2.0 */
/*
 * repo_open.c - how a command gets its repository, its key and its
 * snapshot, and how library errors become messages and exit statuses.
 *
 * The location comes from --repo or KURA_REPOSITORY.  The key comes from
 * KURA_KEY_FILE when it is set (a backup key on a backup client, or an
 * exported restore key), else from the restore key stored in the
 * repository, unwrapped with the passphrase.  A key file is first tried
 * without a passphrase: a backup key needs none, and the library answers
 * KURA_EAUTH for a restore key that does, so only then is one asked for.
 *
 * A vault's credential file comes from KURA_VAULT_CREDENTIALS and reaches
 * the library through the open options: the library reads no environment.
 *
 * Every error names what to do next: an operator at 3 a.m. with a
 * ransomed hospital should not have to guess which variable is wrong.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *default_hint(int err)
{
	switch (err) {
	case KURA_ENEEDKEY:
		return "this needs the restore key; you opened the repository with a backup key "
		       "(KURA_KEY_FILE), which can only add backups. Unset KURA_KEY_FILE to use "
		       "the passphrase, or point it at an exported restore key";
	case KURA_ECORRUPT:
		return "the repository holds damaged data; run 'kura check --read-data' to see "
		       "what is affected";
	case KURA_EUNSUPPORTED:
		return "this repository needs a newer version of kura";
	case KURA_EAMBIGUOUS:
		return "give more hex digits of the snapshot id (see 'kura snapshots')";
	case KURA_EWEAK:
		return "choose a longer passphrase: four or more unrelated words work well";
	case KURA_ENOMEM:
		return "free some memory, or lower --threads";
	case KURA_EDENIED:
		return "the store refused: a local repository must be writable by this user "
		       "and mounted read-write; through a vault, a writer credential can only "
		       "add backups, and listing, restoring and checking need a reader "
		       "credential";
	default:
		return NULL;
	}
}

int cli_exit_status(int err)
{
	switch (err) {
	case 0:
		return CLI_EXIT_OK;
	case KURA_EAUTH:
		return CLI_EXIT_AUTH;
	case KURA_ENEEDKEY:
		return CLI_EXIT_NEEDKEY;
	case KURA_ECORRUPT:
		return CLI_EXIT_INTEGRITY;
	default:
		return CLI_EXIT_FATAL;
	}
}

int cli_fail(int err, const char *hint)
{
	/* a code that came without a message: say what it is, never "no error" */
	fprintf(stderr, "kura: %s\n",
		kura_error_code() ? kura_error_message() : kura_error_name(err));
	if (!hint)
		hint = default_hint(err);
	if (hint)
		fprintf(stderr, "hint: %s\n", hint);
	return cli_exit_status(err);
}

const char *cli_repo_location(const struct cli_global *g, const struct cli_command *cmd)
{
	const char *loc = g->repo;

	if (!loc || !*loc)
		loc = getenv("KURA_REPOSITORY");
	if (!loc || !*loc) {
		cli_usage_error(cmd, "no repository given: use --repo PATH or set KURA_REPOSITORY");
		return NULL;
	}
	return loc;
}

/* The library's answer to an open, as an exit status. */
static int open_failed(int err, const char *loc, const char *keyfile)
{
	char hint[512];

	/* the vault answers before any key is tried: its refusals are about the credential */
	if (strncmp(loc, "vault://", 8) == 0 && (err == KURA_EAUTH || err == KURA_EDENIED) &&
	    strstr(kura_error_message(), "vault")) {
		snprintf(hint, sizeof(hint),
			 "check KURA_VAULT_CREDENTIALS: the credential's token, role (a writer "
			 "can only add backups; restores need a reader), repository and the "
			 "vault's pinned key");
		return cli_fail(err, hint);
	}
	if (err == KURA_EAUTH && keyfile) {
		snprintf(hint, sizeof(hint),
			 "check that KURA_KEY_FILE (%s) is a key of this repository and, for an "
			 "exported restore key, its passphrase",
			 keyfile);
		return cli_fail(err, hint);
	}
	if (err == KURA_EAUTH)
		return cli_fail(err, "check the passphrase (typed, or the first line of "
				     "KURA_PASSWORD_FILE); to use a key file, set KURA_KEY_FILE");

	if (err == KURA_ENOTFOUND && keyfile && strstr(kura_error_message(), keyfile)) {
		snprintf(hint, sizeof(hint),
			 "check KURA_KEY_FILE (%s); 'kura key backup-key --output FILE' makes a "
			 "backup key, 'kura key export' a restore key",
			 keyfile);
		return cli_fail(err, hint);
	}
	if (err == KURA_ENOTFOUND) {
		snprintf(hint, sizeof(hint),
			 "check --repo / KURA_REPOSITORY (now %s), or create a repository there "
			 "with 'kura init'",
			 loc);
		cli_fail(err, hint);
		return CLI_EXIT_NOREPO;
	}
	return cli_fail(err, NULL);
}

const char *cli_vault_credentials_env(void)
{
	const char *cred = getenv("KURA_VAULT_CREDENTIALS");

	return cred && *cred ? cred : NULL;
}

int cli_vault_credentials_missing(const char *loc)
{
	if (strncmp(loc, "vault://", 8) != 0 || cli_vault_credentials_env())
		return CLI_EXIT_OK;
	fprintf(stderr,
		"kura: KURA_VAULT_CREDENTIALS must name the credential file for %s (issued by "
		"'kurad client add')\n",
		loc);
	return CLI_EXIT_FATAL;
}

/* Open with a key file (or the stored restore key when keyfile is NULL). */
static int open_repo(kura_repo **out, const char *loc, const char *keyfile, const char *pass,
		     bool hash_packs)
{
	kura_repo_open_options o = KURA_REPO_OPEN_OPTIONS_INIT;
	kura_s3_options s3;

	/* a bad variable was named on stderr; the library then says what is missing */
	if (kura_location_is_s3(loc) && cli_s3_options(&s3) == CLI_EXIT_OK)
		o.s3 = &s3;
	o.key_path = keyfile;
	o.passphrase = pass;
	o.vault_credentials = cli_vault_credentials_env();
	o.hash_packs_while_unlocking = hash_packs;
	return kura_repo_open_ext(out, loc, &o);
}

static int open_keyfile(kura_repo **out, const char *loc, const char *keyfile, bool hash_packs)
{
	char *pass = NULL;
	char text[512];
	int err, rc;

	err = open_repo(out, loc, keyfile, NULL, false);
	if (err != KURA_EAUTH)
		return err < 0 ? open_failed(err, loc, keyfile) : CLI_EXIT_OK;

	/*
	 * An exported restore key, wrapped under a passphrase; or a key of
	 * another repository, which the same code reports.  With no way to
	 * ask, the library's answer stands.
	 */
	if (!cli_passphrase_available()) {
		snprintf(
		    text, sizeof(text),
		    "if KURA_KEY_FILE (%s) is an exported restore key, its passphrase is "
		    "needed: set KURA_PASSWORD_FILE or run on a terminal; otherwise check that "
		    "it is a key of this repository",
		    keyfile);
		return cli_fail(err, text);
	}
	if (!(pass = malloc(CLI_PASSPHRASE_MAX))) {
		fputs("kura: out of memory\n", stderr);
		return CLI_EXIT_FATAL;
	}
	snprintf(text, sizeof(text), "enter the passphrase for key file %s: ", keyfile);
	if ((rc = cli_passphrase_read(pass, CLI_PASSPHRASE_MAX, text, false)) != CLI_EXIT_OK)
		goto done;
	err = open_repo(out, loc, keyfile, pass, hash_packs);
	rc = err < 0 ? open_failed(err, loc, keyfile) : CLI_EXIT_OK;
done:
	cli_passphrase_wipe(pass, CLI_PASSPHRASE_MAX);
	free(pass);
	return rc;
}

static int open_passphrase(kura_repo **out, const char *loc, bool hash_packs)
{
	char *pass;
	int err, rc;

	if (!(pass = malloc(CLI_PASSPHRASE_MAX))) {
		fputs("kura: out of memory\n", stderr);
		return CLI_EXIT_FATAL;
	}
	rc = cli_passphrase_read(pass, CLI_PASSPHRASE_MAX, "enter the repository passphrase: ",
				 false);
	if (rc == CLI_EXIT_OK) {
		err = open_repo(out, loc, NULL, pass, hash_packs);
		rc = err < 0 ? open_failed(err, loc, NULL) : CLI_EXIT_OK;
	}
	cli_passphrase_wipe(pass, CLI_PASSPHRASE_MAX);
	free(pass);
	return rc;
}

int cli_repo_open_for_data(kura_repo **out, const struct cli_global *g,
			   const struct cli_command *cmd, bool hash_packs)
{
	const char *loc, *keyfile;
	int rc;

	*out = NULL;
	if (!(loc = cli_repo_location(g, cmd)))
		return CLI_EXIT_USAGE;
	if ((rc = cli_vault_credentials_missing(loc)) != CLI_EXIT_OK)
		return rc;
	keyfile = getenv("KURA_KEY_FILE");
	if (keyfile && *keyfile)
		return open_keyfile(out, loc, keyfile, hash_packs);
	return open_passphrase(out, loc, hash_packs);
}

int cli_repo_open(kura_repo **out, const struct cli_global *g, const struct cli_command *cmd)
{
	return cli_repo_open_for_data(out, g, cmd, false);
}

int cli_snapshot_resolve(kura_repo *repo, const char *name, char out[KURA_ID_HEX])
{
	int err = kura_snapshot_resolve(repo, name, out);

	if (err == KURA_ENOTFOUND)
		return cli_fail(err, "name a snapshot by 'latest' or by 4 or more hex digits of "
				     "its id; 'kura snapshots' lists them");
	if (err < 0)
		return cli_fail(err, NULL);
	return CLI_EXIT_OK;
}

void cli_repo_close(kura_repo *repo)
{
	kura_damage *d = NULL;
	size_t n = 0, len;
	bool index_hint = false;

	if (!repo)
		return;
	if (kura_repo_damage(repo, &d, &n) < 0)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		const char *why = d[i].message;

		/* most messages name the file already */
		len = strlen(d[i].file);
		if (strncmp(why, d[i].file, len) == 0 && strncmp(why + len, ": ", 2) == 0)
			why += len + 2;
		fprintf(stderr, "kura: warning: damaged %s skipped: %s\n", d[i].file, why);
		index_hint |= strncmp(d[i].file, "snapshots/", 10) != 0;
	}
	if (n)
		fprintf(stderr, "hint: 'kura check' names every damaged file%s\n",
			index_hint ? "; 'kura repair index' rebuilds the index from the packs" : "");
	free(d);
	kura_repo_free(repo);
}

json_t *cli_damage_json(kura_repo *repo)
{
	kura_damage *d = NULL;
	size_t n = 0;
	json_t *a = json_array();

	if (!a || kura_repo_damage(repo, &d, &n) < 0)
		return a;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "file", cli_json_str(d[i].file));
		json_object_set_new(o, "message", cli_json_str(d[i].message));
		json_array_append_new(a, o);
	}
	free(d);
	return a;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_key_split.c - `kura key split` and `kura key combine`: the restore
 * key split among people, so that recovery depends on no single one.
 *
 *	kura key split --shares N --threshold M --output-dir DIR
 *	kura key combine SHARE... --output FILE [--kdf PROFILE]
 *
 * split writes, for each share, share-I-of-N.txt (the share text, what
 * combine reads) and share-I-of-N.html (the sheet to print: QR code,
 * typed lines, instructions).  combine reads every share and reports every
 * bad one, line by line, before it asks for anything; only then does it
 * ask for the passphrase of the new restore key file.  All files are
 * created with mode 0600 and never overwritten.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

enum { OPT_SHARES = CLI_OPT_LONG, OPT_THRESHOLD, OPT_OUTPUT_DIR, OPT_KDF };

#define PATH_MAX_LEN 4096

/* -------------------------------------------------------------------- */
/* split                                                                  */

static const struct option split_longs[] = {
	{"shares", required_argument, NULL, OPT_SHARES},
	{"threshold", required_argument, NULL, OPT_THRESHOLD},
	{"output-dir", required_argument, NULL, OPT_OUTPUT_DIR},
	{NULL, 0, NULL, 0},
};

static int write_text(const char *path, const char *text)
{
	int fd, rc = CLI_EXIT_OK;
	size_t len = strlen(text), done = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		fprintf(stderr, "kura: cannot create %s: %s\n", path, strerror(errno));
		return CLI_EXIT_FATAL;
	}
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "kura: writing %s: %s\n", path, strerror(errno));
			rc = CLI_EXIT_FATAL;
			break;
		}
		done += (size_t)n;
	}
	if (rc == CLI_EXIT_OK && fsync(fd) < 0) {
		fprintf(stderr, "kura: fsync %s: %s\n", path, strerror(errno));
		rc = CLI_EXIT_FATAL;
	}
	close(fd);
	if (rc != CLI_EXIT_OK)
		unlink(path);
	return rc;
}

/* DIR, made 0700 when missing; an existing one must be a directory. */
static int output_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0 || (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)))
		return CLI_EXIT_OK;
	fprintf(stderr, "kura: --output-dir %s: %s\n", dir,
		errno == EEXIST ? "exists and is not a directory" : strerror(errno));
	return CLI_EXIT_FATAL;
}

/* Write share i's text and sheet; their paths into txt and html. */
static int write_share(const char *dir, const char *text, char *txt, char *html)
{
	kura_keyshare *s = NULL;
	kura_keyshare_info info;
	int err, rc;

	/* read back what was made: a share that does not parse is never handed out */
	if ((err = kura_keyshare_parse(&s, text, strlen(text), "new share")) < 0)
		return cli_fail(err, NULL);
	kura_keyshare_get_info(&info, s);
	kura_keyshare_free(s);
	snprintf(txt, PATH_MAX_LEN, "%s/share-%u-of-%u.txt", dir, info.index, info.total);
	snprintf(html, PATH_MAX_LEN, "%s/share-%u-of-%u.html", dir, info.index, info.total);
	if ((rc = write_text(txt, text)) != CLI_EXIT_OK)
		return rc;
	if ((rc = cli_keysheet_write(html, text, &info)) != CLI_EXIT_OK) {
		unlink(txt);
		return rc;
	}
	return CLI_EXIT_OK;
}

static int split_report(const struct cli_global *g, const char *text0, unsigned n,
			const char *dir, char (*txt)[PATH_MAX_LEN], char (*html)[PATH_MAX_LEN])
{
	kura_keyshare *s = NULL;
	kura_keyshare_info info;
	json_t *files;
	int err;

	if ((err = kura_keyshare_parse(&s, text0, strlen(text0), "new share")) < 0)
		return cli_fail(err, NULL);
	kura_keyshare_get_info(&info, s);
	kura_keyshare_free(s);
	if (g->json) {
		files = json_array();
		for (unsigned i = 0; i < n; i++)
			json_array_append_new(files, json_pack("{s:i, s:o, s:o}", "index", (int)i + 1,
							       "share", cli_json_str(txt[i]),
							       "sheet", cli_json_str(html[i])));
		return cli_json_print(json_pack("{s:s, s:s, s:s, s:i, s:i, s:o}", "message_type",
						"key_split", "repository", info.repo_id, "split",
						info.split_id, "threshold", (int)info.threshold,
						"shares", (int)info.total, "files", files));
	}
	if (g->quiet)
		return CLI_EXIT_OK;
	printf("restore key of repository %s split into %u shares (split %s);\n"
	       "any %u of them rebuild it, fewer reveal nothing. In %s:\n",
	       info.repo_id, info.total, info.split_id, info.threshold, dir);
	for (unsigned i = 0; i < n; i++)
		printf("  %s  (sheet to print: %s)\n", txt[i], html[i]);
	printf("Print each sheet, give each to a different person, and then delete %s:\n"
	       "the shares must not stay together on one machine.\n",
	       dir);
	return CLI_EXIT_OK;
}

static int run_split(struct cli_global *g, int argc, char **argv)
{
	struct cli_getopt p;
	kura_repo *repo = NULL;
	const char *dir = NULL;
	char **texts = NULL, (*txt)[PATH_MAX_LEN] = NULL, (*html)[PATH_MAX_LEN] = NULL;
	int c, rc = CLI_EXIT_OK, shares = 0, threshold = 0, err;
	unsigned written = 0;

	cli_getopt_init(&p, g, &cli_cmd_key_split, argc, argv, "", split_longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return p.status;
		if (c == OPT_SHARES && cli_parse_int(&shares, p.arg, 2, KURA_KEYSHARE_MAX) < 0)
			return cli_usage_error(&cli_cmd_key_split,
					       "--shares wants a number from 2 to %d, not '%s'",
					       KURA_KEYSHARE_MAX, p.arg);
		if (c == OPT_THRESHOLD &&
		    cli_parse_int(&threshold, p.arg, 2, KURA_KEYSHARE_MAX) < 0)
			return cli_usage_error(&cli_cmd_key_split,
					       "--threshold wants a number from 2 to %d, not '%s'",
					       KURA_KEYSHARE_MAX, p.arg);
		if (c == OPT_OUTPUT_DIR)
			dir = p.arg;
	}
	if (optind < argc)
		return cli_usage_error(&cli_cmd_key_split, "unexpected argument '%s'", argv[optind]);
	if (!shares || !threshold || !dir || !*dir)
		return cli_usage_error(&cli_cmd_key_split,
				       "--shares N, --threshold M and --output-dir DIR are required");
	if (threshold > shares)
		return cli_usage_error(&cli_cmd_key_split,
				       "--threshold %d is more than the %d shares: the key could "
				       "never be rebuilt",
				       threshold, shares);

	if ((rc = cli_repo_open(&repo, g, &cli_cmd_key_split)) != CLI_EXIT_OK)
		return rc;
	if ((err = kura_repo_key_split(&texts, repo, (unsigned)threshold, (unsigned)shares)) < 0) {
		rc = cli_fail(err, err == KURA_ENEEDKEY
				       ? "only the restore key can be split: unset KURA_KEY_FILE to "
					 "use the passphrase, or point it at an exported restore key"
				       : NULL);
		goto done;
	}
	if ((rc = output_dir(dir)) != CLI_EXIT_OK)
		goto done;
	if (!(txt = calloc((size_t)shares, sizeof(*txt))) ||
	    !(html = calloc((size_t)shares, sizeof(*html)))) {
		fputs("kura: out of memory\n", stderr);
		rc = CLI_EXIT_FATAL;
		goto done;
	}
	for (; written < (unsigned)shares; written++)
		if ((rc = write_share(dir, texts[written], txt[written], html[written])) !=
		    CLI_EXIT_OK)
			break;
	if (rc != CLI_EXIT_OK) {
		/* half a split is no split: take back what was written */
		for (unsigned i = 0; i < written; i++) {
			unlink(txt[i]);
			unlink(html[i]);
		}
		fputs("hint: no share of this split was left in the output directory; choose an "
		      "empty one (share files are never overwritten)\n",
		      stderr);
		goto done;
	}
	rc = split_report(g, texts[0], (unsigned)shares, dir, txt, html);
done:
	kura_keyshare_texts_free(texts, (size_t)shares);
	free(txt);
	free(html);
	cli_repo_close(repo);
	return rc;
}

const struct cli_command cli_cmd_key_split = {
	.name = "key split",
	.summary = "split the restore key among people",
	.usage = "kura key split --shares N --threshold M --output-dir DIR",
	.help = "Splits the restore key (Shamir secret sharing over GF(256), libgfshare) into N\n"
		"shares, any M of which rebuild it with 'kura key combine'; fewer than M\n"
		"reveal nothing about it.  Opens the repository with the restore key (the\n"
		"passphrase, or an exported restore key in KURA_KEY_FILE); a backup key is\n"
		"refused (exit status 13).\n"
		"\n"
		"For each share I, DIR gets share-I-of-N.txt, the share as text, and\n"
		"share-I-of-N.html, a sheet to print with the share as a QR code, as typed\n"
		"lines with a checksum each, and instructions for its holder.  DIR is made\n"
		"(mode 0700) if missing; files are created with mode 0600 and never\n"
		"overwritten.  Print the sheets, give each to a different person, then\n"
		"delete DIR.\n"
		"\n"
		"Options:\n"
		"      --shares N        how many shares to make (2 to 255)\n"
		"      --threshold M     how many rebuild the key (2 to N)\n"
		"      --output-dir DIR  where to write the shares and their sheets\n",
	.run = run_split,
};

/* -------------------------------------------------------------------- */
/* combine                                                                */

static const struct option combine_longs[] = {
	{"output", required_argument, NULL, 'o'},
	{"kdf", required_argument, NULL, OPT_KDF},
	{NULL, 0, NULL, 0},
};

/* Read and parse one share file; prints what is wrong.  An exit status. */
static int read_share(kura_keyshare **out, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, err, rc = CLI_EXIT_FATAL;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "kura: %s: %s\n", path, strerror(errno));
		return CLI_EXIT_FATAL;
	}
	if (!(buf = malloc(KURA_KEYSHARE_TEXT_MAX + 1))) {
		fputs("kura: out of memory\n", stderr);
		goto done;
	}
	sodium_mlock(buf, KURA_KEYSHARE_TEXT_MAX + 1);
	while (len <= KURA_KEYSHARE_TEXT_MAX) {
		n = read(fd, buf + len, KURA_KEYSHARE_TEXT_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "kura: reading %s: %s\n", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if ((err = kura_keyshare_parse(out, buf, len, path)) < 0) {
		rc = cli_fail(err, err == KURA_EUNSUPPORTED
				       ? "this share was made by a newer kura; combine with that version"
				       : "compare the file with its printed sheet line by line (or scan "
					 "the sheet's QR code again); O may be typed as 0, I and L as 1");
		goto done;
	}
	rc = CLI_EXIT_OK;
done:
	if (buf) {
		sodium_munlock(buf, KURA_KEYSHARE_TEXT_MAX + 1);
		free(buf);
	}
	close(fd);
	return rc;
}

/* With a repository given, prove the new key opens it. */
static int open_with(const struct cli_global *g, const char *keyfile, const char *pass)
{
	kura_repo_open_options o = KURA_REPO_OPEN_OPTIONS_INIT;
	kura_repo *repo = NULL;
	const char *loc = g->repo && *g->repo ? g->repo : getenv("KURA_REPOSITORY");
	int err;

	if (!loc || !*loc)
		return CLI_EXIT_OK;
	o.key_path = keyfile;
	o.passphrase = pass;
	o.vault_credentials = cli_vault_credentials_env();
	if ((err = kura_repo_open_ext(&repo, loc, &o)) < 0) {
		fprintf(stderr, "kura: %s was written, but it does not open %s:\n", keyfile, loc);
		return cli_fail(err, "check that the shares belong to this repository (the "
				     "repository id is on every share), or unset KURA_REPOSITORY "
				     "to combine without trying the key");
	}
	if (!g->quiet && !g->json)
		printf("it opens the repository at %s\n", loc);
	cli_repo_close(repo);
	return CLI_EXIT_OK;
}

static int combine_report(const struct cli_global *g, kura_keyshare *const *shares, size_t n,
			  const char *output)
{
	kura_keyshare_info info;

	kura_keyshare_get_info(&info, shares[0]);
	if (g->json)
		return cli_json_print(json_pack(
		    "{s:s, s:s, s:s, s:i, s:i, s:i, s:o}", "message_type", "key_combined",
		    "repository", info.repo_id, "split", info.split_id, "shares_given", (int)n,
		    "threshold", (int)info.threshold, "shares", (int)info.total, "path",
		    cli_json_str(output)));
	if (!g->quiet)
		printf("restore key of repository %s rebuilt from shares of split %s\n"
		       "(%u of %u needed) and written to %s, wrapped under the new passphrase.\n"
		       "Open the repository with KURA_KEY_FILE=%s; keep the file offline.\n",
		       info.repo_id, info.split_id, info.threshold, info.total, output, output);
	return CLI_EXIT_OK;
}

static int run_combine(struct cli_global *g, int argc, char **argv)
{
	struct cli_getopt p;
	const char *output = NULL;
	kura_keyshare **shares = NULL;
	char *pass = NULL;
	int c, rc = CLI_EXIT_OK, kdf = KURA_KDF_MODERATE, err;
	size_t n = 0, bad = 0;

	cli_getopt_init(&p, g, &cli_cmd_key_combine, argc, argv, "o:", combine_longs);
	while ((c = cli_getopt_next(&p)) != -1) {
		if (c == CLI_OPT_STOP)
			return p.status;
		if (c == 'o')
			output = p.arg;
		if (c == OPT_KDF) {
			if (strcmp(p.arg, "interactive") == 0)
				kdf = KURA_KDF_INTERACTIVE;
			else if (strcmp(p.arg, "moderate") == 0)
				kdf = KURA_KDF_MODERATE;
			else if (strcmp(p.arg, "sensitive") == 0)
				kdf = KURA_KDF_SENSITIVE;
			else
				return cli_usage_error(&cli_cmd_key_combine,
						       "--kdf wants interactive, moderate or "
						       "sensitive, not '%s'",
						       p.arg);
		}
	}
	if (!output || !*output)
		return cli_usage_error(&cli_cmd_key_combine, "--output FILE is required");
	if (optind >= argc)
		return cli_usage_error(&cli_cmd_key_combine, "name the share files to combine");
	if (!(shares = calloc((size_t)(argc - optind), sizeof(*shares)))) {
		fputs("kura: out of memory\n", stderr);
		return CLI_EXIT_FATAL;
	}
	/* every share is checked, and every bad one named, before anything else */
	for (int i = optind; i < argc; i++) {
		int r = read_share(&shares[n], argv[i]);

		if (r != CLI_EXIT_OK) {
			bad++;
			rc = rc == CLI_EXIT_OK ? r : rc;
			continue;
		}
		n++;
	}
	if (bad) {
		fprintf(stderr,
			"kura: %zu of %d share file%s unreadable or mistyped; nothing combined\n",
			bad, argc - optind, argc - optind == 1 ? "" : "s");
		goto done;
	}
	if ((err = kura_keyshare_verify((const kura_keyshare *const *)shares, n)) < 0) {
		rc = cli_fail(err, err == KURA_ECORRUPT ? "combine other shares of the split, and "
							   "find out who altered this one"
							: NULL);
		goto done;
	}
	if (!(pass = malloc(CLI_PASSPHRASE_MAX))) {
		fputs("kura: out of memory\n", stderr);
		rc = CLI_EXIT_FATAL;
		goto done;
	}
	if ((rc = cli_passphrase_read(pass, CLI_PASSPHRASE_MAX,
				      "enter a new passphrase for the rebuilt restore key: ", true)) !=
	    CLI_EXIT_OK)
		goto done;
	if ((err = kura_keyshare_combine_file((const kura_keyshare *const *)shares, n, pass, kdf,
					      output, NULL)) < 0) {
		rc = cli_fail(err, err == KURA_EEXISTS ? "key files are never overwritten; choose "
							  "another name or move the old file away"
						       : NULL);
		goto done;
	}
	if ((rc = combine_report(g, shares, n, output)) != CLI_EXIT_OK)
		goto done;
	rc = open_with(g, output, pass);
done:
	if (pass) {
		cli_passphrase_wipe(pass, CLI_PASSPHRASE_MAX);
		free(pass);
	}
	for (size_t i = 0; i < n; i++)
		kura_keyshare_free(shares[i]);
	free(shares);
	return rc;
}

const struct cli_command cli_cmd_key_combine = {
	.name = "key combine",
	.summary = "rebuild the restore key from shares",
	.usage = "kura key combine SHARE... --output FILE [--kdf interactive|moderate|sensitive]",
	.help = "Rebuilds the restore key from shares made by 'kura key split' and writes it\n"
		"to FILE (mode 0600, never overwritten), wrapped under a new passphrase: the\n"
		"first line of KURA_PASSWORD_FILE, or typed twice on the terminal.  Point\n"
		"KURA_KEY_FILE at FILE to open the repository with it.\n"
		"\n"
		"Every share is checked first: a mistyped character is reported with its file\n"
		"and line.  Shares of different repositories or of different splits are\n"
		"refused, and so are fewer than the split's threshold (\"need M shares, have\n"
		"K\").  The rebuilt key must match the check value the shares carry and\n"
		"authenticate again from the file written, or nothing is written.  With a\n"
		"repository given (--repo or KURA_REPOSITORY), the new key file must also\n"
		"open it.\n"
		"\n"
		"Options:\n"
		"  -o, --output FILE     where to write the restore key (required)\n"
		"      --kdf PROFILE     passphrase hashing cost of the new file: interactive,\n"
		"                        moderate (default) or sensitive\n",
	.run = run_combine,
};

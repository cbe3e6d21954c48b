/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - the `kurad` command: create a vault, issue credentials, serve,
 * show status and verify the audit log.  This file only dispatches and
 * holds the overall usage; each command group lives in its own
 * server/kurad_*.c (kurad_cmd.h lists them), built into libkurad.a.
 *
 *	kurad init DIR [--listen ADDR:PORT] [--store URL [--lock-days N]]
 *	kurad serve DIR [--listen ADDR:PORT]
 *	kurad client add DIR NAME --role writer|reader|auditor [--repo REPO] --output FILE
 *	kurad client revoke DIR NAME [--since TIME]
 *	kurad status DIR [--json]
 *	kurad approver add DIR NAME --output FILE
 *	kurad approve DIR ID --key FILE
 *	kurad cancel DIR ID --key FILE
 *	kurad deletions DIR [--json]
 *	kurad policy [set] DIR [--json] [--min-age D] [--keep-daily N] ... [--delay D]
 *	kurad quarantine list DIR [REPO] [--json] | release DIR QID | remove DIR QID
 *	kurad log verify DIR
 *	kurad alert list DIR [--all] [--json] | resolve DIR ID --key FILE  (alert_cli.c)
 *	kurad version
 *
 * Every command takes --help (printed to stdout, status 0).  Exit status:
 * 0 success, 1 error, 2 usage error, 4 the audit log failed verification.
 * Errors go to stderr as "kurad: message"; nothing secret is ever printed
 * except the credential written to the file the operator names.
 */
#include <stdio.h>
#include <string.h>

#include "alert_cli.h"
#include "kura/kura.h"
#include "kurad_cmd.h"

static const char usage_all[] =
    "Usage: kurad COMMAND [ARGS...]\n"
    "\n"
    "kurad is the kura vault: it stores repositories that backup clients can only\n"
    "add to, holds no key that decrypts them, and logs every request in a\n"
    "tamper-evident audit log.\n"
    "\n"
    "Commands:\n"
    "  init DIR [--listen ADDR:PORT] [--store s3:URL [--lock-days N]]\n"
    "                                       create a vault (default 127.0.0.1:7443)\n"
    "  serve DIR [--listen ADDR:PORT] [--accept-log-rollback]\n"
    "                                       serve the vault over HTTPS\n"
    "  client add DIR NAME --role ROLE [--repo REPO] --output FILE\n"
    "                                       issue a credential (writer, reader, auditor)\n"
    "  client revoke DIR NAME [--since TIME]\n"
    "                                       void a client's token for good; with\n"
    "                                       --since, quarantine what it uploaded since\n"
    "  status DIR [--json]                  repositories, clients, deletions, alerts\n"
    "  log verify DIR                       check the audit log's chain and signatures\n"
    "  approver add DIR NAME --output FILE  create an approver key for deletions\n"
    "  approve DIR ID --key FILE            approve deletion request ID\n"
    "  cancel DIR ID --key FILE             cancel deletion request ID\n"
    "  deletions DIR [--json]               list deletion requests\n"
    "  policy [set] DIR [OPTIONS]           show or change the deletion policy\n"
    "  quarantine list|release|remove DIR ...\n"
    "                                       what a revoked client uploaded, set aside\n"
    "  alert list|resolve DIR ...           the vault's alerts; resolve needs a quorum\n"
    "  doctor DIR [--json]                  check the vault host against a hardening list\n"
    "  s3 extend-locks DIR [--dry-run]      a vault on S3: extend the locks snapshots need\n"
    "  s3 sweep DIR                         a vault on S3: retry deletions a lock kept\n"
    "  version                              print the version\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error, 4 audit log verification failed.\n"
    "See kurad(8) for details.\n";

static int finish(int rc)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("kurad: cannot write to standard output");
		return rc ? rc : EXIT_ERROR;
	}
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	int rc;

	if (!cmd)
		return kurad_usage_error(usage_all, "no command given");
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_all, stdout);
		return finish(EXIT_OK);
	}
	if (strcmp(cmd, "init") == 0)
		rc = kurad_cmd_init(argc - 2, argv + 2);
	else if (strcmp(cmd, "serve") == 0)
		rc = kurad_cmd_serve(argc - 2, argv + 2);
	else if (strcmp(cmd, "client") == 0)
		rc = kurad_cmd_client(argc - 2, argv + 2);
	else if (strcmp(cmd, "status") == 0)
		rc = kurad_cmd_status(argc - 2, argv + 2);
	else if (strcmp(cmd, "policy") == 0)
		rc = kurad_cmd_policy(argc - 2, argv + 2);
	else if (strcmp(cmd, "log") == 0)
		rc = kurad_cmd_log(argc - 2, argv + 2);
	else if (strcmp(cmd, "approver") == 0)
		rc = kurad_cmd_approver(argc - 2, argv + 2);
	else if (strcmp(cmd, "approve") == 0)
		rc = kurad_cmd_approve(argc - 2, argv + 2);
	else if (strcmp(cmd, "cancel") == 0)
		rc = kurad_cmd_cancel(argc - 2, argv + 2);
	else if (strcmp(cmd, "quarantine") == 0)
		rc = kurad_cmd_quarantine(argc - 2, argv + 2);
	else if (strcmp(cmd, "deletions") == 0)
		rc = kurad_cmd_deletions(argc - 2, argv + 2);
	else if (strcmp(cmd, "alert") == 0)
		rc = alert_cli_main(argc - 2, argv + 2);
	else if (strcmp(cmd, "doctor") == 0)
		rc = kurad_cmd_doctor(argc - 2, argv + 2);
	else if (strcmp(cmd, "s3") == 0)
		rc = kurad_cmd_s3(argc - 2, argv + 2);
	else if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("kurad %s\n", kura_version());
		rc = EXIT_OK;
	} else
		rc = kurad_usage_error(usage_all, "no command '%s'", cmd);
	return finish(rc);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kurad_serve.c - `kurad init` (create a vault) and `kurad serve` (serve it
 * over HTTPS until a signal, then close the audit log with a checkpoint).
 */
#include "kurad_cmd.h"

#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "http.h"
#include "vault_admin.h"
#include "vault_state.h"

static const char usage_init[] =
    "Usage: kurad init DIR [--listen ADDR:PORT] [--store URL [--lock-days N]]\n"
    "\n"
    "Create a vault in DIR (missing or empty): settings, a TLS key and self-signed\n"
    "certificate, an Ed25519 key that signs the audit log's checkpoints, and empty\n"
    "clients, repos, meta and audit directories.  Prints the TLS pin that client\n"
    "credentials carry.  There are no default credentials: issue them with\n"
    "'kurad client add'.\n"
    "\n"
    "  --listen ADDR:PORT  where 'serve' listens: A.B.C.D:PORT or [IPv6]:PORT\n"
    "                      (default 127.0.0.1:7443)\n"
    "  --store URL         keep the repositories' files in an S3 bucket with Object\n"
    "                      Lock: s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX], or\n"
    "                      s3://BUCKET[/PREFIX] with AWS_ENDPOINT_URL; keys from\n"
    "                      AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and\n"
    "                      AWS_SESSION_TOKEN, AWS_REGION), kept in DIR/s3.json\n"
    "  --lock-days N       COMPLIANCE retention of every stored file (default 30)\n";

static const char usage_serve[] =
    "Usage: kurad serve DIR [--listen ADDR:PORT] [--connections N]\n"
    "                       [--connections-per-address N] [--accept-log-rollback]\n"
    "\n"
    "Serve the vault in DIR over HTTPS until SIGINT or SIGTERM; then finish the\n"
    "running requests and close the audit log with a signed checkpoint.  Refuses\n"
    "to start when the audit log no longer holds the head recorded last in\n"
    "DIR/audit/head (the log was cut back or replaced by an older copy).\n"
    "\n"
    "  --listen ADDR:PORT     listen here instead of the address in DIR/vault.json\n"
    "  --connections N        connections held at once, 8 to 65536 (default 1024);\n"
    "                         a quarter of them is kept for clients with a valid\n"
    "                         token, whatever the others do\n"
    "  --connections-per-address N\n"
    "                         from one address (default 64)\n"
    "  --accept-log-rollback  start anyway (a disk restored from a backup); the\n"
    "                         lost head is logged as ACCEPT-LOG-ROLLBACK\n";

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* --store's options from the conventional AWS_* variables; EXIT_USAGE when wrong. */
static int store_options(vault_store_init_options *o, const char *url, const char *days)
{
	const char *addr = env("KURA_S3_ADDRESSING");
	unsigned long d = 0;

	memset(o, 0, sizeof(*o));
	if (days && (!kurad_parse_id(days, &d) || d > 36500))
		return kurad_usage_error(usage_init, "--lock-days wants 1 to 36500, not '%s'",
					 days);
	if (addr && strcmp(addr, "virtual") != 0 && strcmp(addr, "path") != 0)
		return kurad_usage_error(
		    usage_init, "KURA_S3_ADDRESSING wants 'path' or 'virtual', not '%s'", addr);
	o->url = url;
	o->lock_days = (uint32_t)d;
	o->access_key = env("AWS_ACCESS_KEY_ID");
	o->secret_key = env("AWS_SECRET_ACCESS_KEY");
	o->session_token = env("AWS_SESSION_TOKEN");
	o->region = env("AWS_REGION") ? env("AWS_REGION") : env("AWS_DEFAULT_REGION");
	o->endpoint = env("AWS_ENDPOINT_URL");
	o->virtual_host = addr && strcmp(addr, "virtual") == 0;
	return EXIT_OK;
}

int kurad_cmd_init(int argc, char **argv)
{
	const char *listen = NULL, *store = NULL, *days = NULL, *pos[1];
	const kurad_option opts[] = {{"--listen", true, &listen, NULL},
				     {"--store", true, &store, NULL},
				     {"--lock-days", true, &days, NULL},
				     {NULL, false, NULL, NULL}};
	vault_store_init_options so;
	char *pin = NULL;
	bool help;
	int npos, rc;

	if ((rc = kurad_parse_args(argc, argv, opts, pos, 1, &npos, &help, usage_init)) || help) {
		if (help)
			fputs(usage_init, stdout);
		return rc;
	}
	if (npos != 1)
		return kurad_usage_error(usage_init, "init needs the vault directory");
	if (days && !store)
		return kurad_usage_error(usage_init, "--lock-days goes with --store");
	if (store && (rc = store_options(&so, store, days)) != EXIT_OK)
		return rc;
	if (vault_init_store(pos[0], listen, store ? &so : NULL, &pin) < 0)
		return kurad_fail(pos[0]);
	printf("Created the vault in %s (it will listen on %s).\n"
	       "TLS pin: %s\n"
	       "\n"
	       "Next steps:\n"
	       "  kurad client add %s NAME --role writer --repo REPO --output NAME.credential\n"
	       "      and move the credential to the backup client (then delete it here);\n"
	       "  kurad serve %s\n",
	       pos[0], listen ? listen : "127.0.0.1:7443", pin, pos[0], pos[0]);
	if (store)
		printf("\nRepositories are kept in %s under Object Lock (its keys: %s/s3.json);\n"
		       "run 'kurad s3 extend-locks %s' (or leave it to 'kurad serve') before\n"
		       "the locks run out.\n",
		       store, pos[0], pos[0]);
	free(pin);
	return EXIT_OK;
}

/*
 * Set by SIGINT/SIGTERM, which may arrive on any thread (libmicrohttpd's
 * included): a lock-free atomic is both async-signal-safe and race-free.
 */
static atomic_int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

/*
 * Each connection holds a socket and, while it runs, files: raise the soft
 * limit on open files to the hard one, and say so when that is still too
 * few for the connections asked for.
 */
static void raise_file_limit(const gate_limits *lim)
{
	struct rlimit rl;
	const rlim_t need = (rlim_t)lim->connections * 2 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		fprintf(stderr,
			"kurad: warning: %llu open files allowed, %u connections need about %llu "
			"(raise LimitNOFILE, or lower --connections)\n",
			(unsigned long long)rl.rlim_cur, lim->connections,
			(unsigned long long)need);
}

static bool parse_connections(const char *s, unsigned long *out)
{
	return !s || (kurad_parse_id(s, out) && *out > 0 && *out <= GATE_CONNECTIONS_MAX);
}

int kurad_cmd_serve(int argc, char **argv)
{
	const char *listen = NULL, *conns = NULL, *per_addr = NULL, *pos[1];
	bool accept_rollback = false, help;
	const kurad_option opts[] = {{"--listen", true, &listen, NULL},
				     {"--connections", true, &conns, NULL},
				     {"--connections-per-address", true, &per_addr, NULL},
				     {"--accept-log-rollback", false, NULL, &accept_rollback},
				     {NULL, false, NULL, NULL}};
	unsigned long nconns = 0, nper = 0;
	gate_limits limits;
	struct sigaction sa;
	vault *v = NULL;
	int npos, rc, err;

	if ((rc = kurad_parse_args(argc, argv, opts, pos, 1, &npos, &help, usage_serve)) || help) {
		if (help)
			fputs(usage_serve, stdout);
		return rc;
	}
	if (npos != 1)
		return kurad_usage_error(usage_serve, "serve needs the vault directory");
	if (!parse_connections(conns, &nconns) || !parse_connections(per_addr, &nper) ||
	    gate_limits_make((unsigned)nconns, (unsigned)nper, &limits) < 0)
		return kurad_usage_error(usage_serve,
					 "--connections and --connections-per-address take a "
					 "whole number, %d to %d in all",
					 GATE_CONNECTIONS_MIN, GATE_CONNECTIONS_MAX);
	raise_file_limit(&limits);
	if (vault_open_serve(&v, pos[0], accept_rollback) < 0)
		return kurad_fail(pos[0]);
	if (listen && vault_set_listen(v, listen) < 0) {
		vault_free(v);
		return kurad_usage_error(usage_serve, "%s", kura_error_message());
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "kurad: serving %s on %s\n", pos[0], vault_listen_addr(v));
	err = vault_http_serve(v, &limits, &stop_flag);
	if (err < 0)
		kurad_fail("serve");
	else
		fprintf(stderr, "kurad: stopped\n");
	/* Closes the audit log with a signed checkpoint. */
	vault_free(v);
	return err < 0 ? EXIT_ERROR : EXIT_OK;
}

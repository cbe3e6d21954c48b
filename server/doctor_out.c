/* SPDX-License-Identifier: Apache-2.0 */
/*
 * doctor_out.c - the `kurad doctor DIR [--json]` command (doctor.h): runs
 * every check and prints them, as lines for a person or as one JSON
 * document.  Exit 0 when no check failed, DOCTOR_EXIT_FAIL (3) when one
 * did; "warn" and "unchecked" do not change the exit status.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "doctor.h"
#include "kurad_cmd.h"

const doctor_check doctor_checks[] = {
    {"listen", doctor_check_listen},
    {"key-modes", doctor_check_modes},
    {"immutable", doctor_check_immutable},
    {"clock", doctor_check_clock},
    {"ssh", doctor_check_ssh},
    {"domain", doctor_check_domain},
    {"approvers", doctor_check_approvers},
    {"approver-keys", doctor_check_approver_keys},
    {"policy", doctor_check_policy},
    {"credentials", doctor_check_credentials},
    {"free-space", doctor_check_space},
    {NULL, NULL},
};

void doctor_set(doctor_result *out, doctor_status st, const char *fix, const char *fmt, ...)
{
	va_list ap;

	out->status = st;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	snprintf(out->fix, sizeof(out->fix), "%s", fix ? fix : "");
}

const char *doctor_status_name(doctor_status st)
{
	static const char *const names[] = {"pass", "warn", "fail", "unchecked"};

	return (unsigned)st < 4 ? names[st] : "?";
}

static const char usage[] =
    "Usage: kurad doctor DIR [--json]\n"
    "\n"
    "Check the vault host against a hardening list: listen address, key modes,\n"
    "the immutable flag, the clock, SSH, domain membership, approvers and their\n"
    "keys, the policy, unused credentials, free space.  Each check says pass,\n"
    "warn, fail or unchecked, with the reason and the fix.\n"
    "\n"
    "Exit status: 0 no check failed, 3 at least one failed, 1 error, 2 usage.\n";

int kurad_cmd_doctor(int argc, char **argv)
{
	const char *pos[1], *root = getenv("KURAD_DOCTOR_ROOT");
	bool json = false, help;
	const kurad_option opts[] = {{"--json", false, NULL, &json}, {NULL, false, NULL, NULL}};
	size_t count[4] = {0}, i;
	json_t *doc = NULL, *arr = NULL;
	doctor_ctx ctx;
	int npos, rc;

	if ((rc = kurad_parse_args(argc, argv, opts, pos, 1, &npos, &help, usage)) != EXIT_OK)
		return rc;
	if (help) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (npos != 1)
		return kurad_usage_error(usage, "give the vault directory");
	ctx.dir = pos[0];
	ctx.root = root && root[0] ? root : "";
	ctx.privileged = geteuid() == 0;
	ctx.now_s = (int64_t)time(NULL);
	if (json && (!(doc = json_object()) || !(arr = json_array()))) {
		json_decref(doc);
		json_decref(arr);
		fputs("kurad: out of memory\n", stderr);
		return EXIT_ERROR;
	}
	for (i = 0; doctor_checks[i].name; i++) {
		doctor_result r;

		doctor_set(&r, DOCTOR_UNCHECKED, "", "not run");
		doctor_checks[i].run(&ctx, &r);
		count[r.status]++;
		if (json)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "name",
							     doctor_checks[i].name, "status",
							     doctor_status_name(r.status), "reason",
							     r.reason, "fix", r.fix));
		else {
			printf("%-9s %-14s %s\n", doctor_status_name(r.status),
			       doctor_checks[i].name, r.reason);
			if (r.fix[0] && r.status != DOCTOR_PASS)
				printf("%-9s %-14s fix: %s\n", "", "", r.fix);
		}
	}
	if (json) {
		char *text;

		json_object_set_new(doc, "vault", json_string(ctx.dir));
		json_object_set_new(doc, "checks", arr);
		json_object_set_new(doc, "summary",
				    json_pack("{s:I, s:I, s:I, s:I}", "pass", (json_int_t)count[0],
					      "warn", (json_int_t)count[1], "fail",
					      (json_int_t)count[2], "unchecked",
					      (json_int_t)count[3]));
		json_object_set_new(doc, "ok", json_boolean(count[DOCTOR_FAIL] == 0));
		if ((text = json_dumps(doc, JSON_INDENT(2)))) {
			puts(text);
			free(text);
		}
		json_decref(doc);
	} else {
		printf("\n%zu pass, %zu warn, %zu fail, %zu unchecked\n", count[0], count[1],
		       count[2], count[3]);
	}
	return count[DOCTOR_FAIL] ? DOCTOR_EXIT_FAIL : EXIT_OK;
}

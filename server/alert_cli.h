/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alert_cli.h - the `kurad alert` command and the alerts table of `kurad
 * status` (docs/kurad.8, "Alerts").
 */
#ifndef KURA_SERVER_ALERT_CLI_H
#define KURA_SERVER_ALERT_CLI_H

#include <stdbool.h>

#include <jansson.h>

extern const char alert_cli_usage[];

/*
 * `kurad alert list DIR [--all] [--json]` and `kurad alert resolve DIR ID
 * --key FILE`; argv after the word "alert".  Returns the exit status (0,
 * 1 error, 2 usage), having printed what to print.
 */
int alert_cli_main(int argc, char **argv);

/* A table of the alerts array of a status or listing; "No alerts." if `empty_line` and none. */
void alert_cli_print(const json_t *alerts, bool empty_line);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acceptances.h - what the vault does with an operator's acceptance of a
 * false alarm (`kura scan --accept`, docs/DETECTION.md): it records it in
 * the audit log and shows it beside the alerts that name its snapshot.
 * It never closes an alert: only a quorum of approvers does (`kurad alert
 * resolve`, alert_resolve.c), so a stolen reader credential cannot lift a
 * hold by "accepting" the attack.
 */
#ifndef KURA_SERVER_ACCEPTANCES_H
#define KURA_SERVER_ACCEPTANCES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "vault_state.h"

/*
 * Record `name` (an acceptance record of `repo`, uploaded by `client`,
 * `data` its bytes) in the audit log: ACCEPT, naming the snapshot.  A
 * failure is reported on stderr; the record stays stored.
 */
void acceptances_stored(vault *v, const char *repo, const char *name, const char *client,
			const uint8_t *data, size_t len);

/*
 * Add to each alert of `alerts` (alerts_list's items) whose details name
 * a snapshot the acceptance records of that snapshot in its repository:
 * "acceptances": [{"record", "accepted_ns", "received_ns"}].
 */
void acceptances_annotate(const char *dir, json_t *alerts);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_approval.c - the parsers of remote approval on arbitrary bytes:
 * the statement an approver signs (lib/format/statement.c), the body of
 * POST /v1/deletions/ID (server/approve_remote.c), its path
 * (server/route.c) and the approver key file (lib/crypto/approverkey.c;
 * parsed only: unsealing would run Argon2id).
 *
 * Promises checked: a statement that parses builds back to exactly the
 * bytes it was parsed from (what an approver is shown is what is
 * signed), with its names ascending; a body that parses has a valid
 * approver name; an id that parses is 1..999999999; a key file that
 * parses has a name and a vault key of the right shape.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "approve_remote.h"
#include "kura/approve.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[VAULT_NAME_MAX + 1], why[256], *text = NULL, *path;
	uint8_t sig[KURA_SIGNATURE_SIZE];
	kura_approver_key *k = NULL;
	kura_statement st;
	unsigned long id;
	size_t len = 0;
	bool cancel;

	if (kura_statement_parse(&st, (const char *)data, size) == 0) {
		if (kura_statement_build(&text, &len, &st) < 0 || len != size ||
		    memcmp(text, data, size) != 0)
			abort();
		for (size_t i = 1; i < st.nnames; i++)
			if (strcmp(st.names[i - 1], st.names[i]) >= 0)
				abort();
		free(text);
		kura_statement_free(&st);
	}
	if (approve_body_parse((const char *)data, size, &cancel, name, sig, why, sizeof(why)) ==
	    0) {
		if (!vault_name_ok(name))
			abort();
	}
	if ((path = malloc(size + 1)) != NULL) {
		memcpy(path, data, size);
		path[size] = '\0';
		if (route_deletion_id(path, &id) == 0 && (id == 0 || id > 999999999UL))
			abort();
		free(path);
	}
	if (kura_approver_key_parse(&k, data, size, "fuzz") == 0) {
		if (!vault_name_ok(kura_approver_key_name(k)) ||
		    strlen(kura_approver_key_vault(k)) != KURA_VAULT_KEY_B64 - 1)
			abort();
		kura_approver_key_free(k);
	}
	return 0;
}

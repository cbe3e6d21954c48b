/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault_approve.c - the approver's two requests to a vault
 * (kura/approve.h; docs/PROTOCOL.md, "Remote approval"): GET and POST
 * /v1/deletions/ID.
 *
 * The vault's address and the pin of its public key come from a
 * credential file, as for `kura vault status`; its token is wiped before
 * anything is sent, because these routes take none: an approval is
 * authenticated by the approver's signature, and a GET only shows what
 * the approver is about to sign.
 */
#include "kura/approve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "kura/backend.h"
#include "vault_cred.h"
#include "vault_http.h"

#define APPROVAL_ANSWER_MAX ((size_t)16 << 20) /* a request of 100,000 snapshots, twice */
#define APPROVAL_BODY_MAX 4096

static void approval_vb_free(vault_backend *vb)
{
	if (!vb)
		return;
	for (size_t i = 0; i < vb->pooled; i++)
		curl_easy_cleanup(vb->pool[i]);
	vault_http_headers_free(vb->headers);
	pthread_mutex_destroy(&vb->lock);
	free(vb->location);
	free(vb->base);
	free(vb->pin);
	free(vb);
}

int kura_vault_approval(const char *credentials_path, unsigned long id, const char *post_body,
			long *out_status, uint8_t **out_body, size_t *out_len)
{
	vault_response r = {.any_status = true, .max = APPROVAL_ANSWER_MAX};
	vault_upload up = {0};
	vault_backend *vb = NULL;
	char *url = NULL;
	int err;

	*out_status = 0;
	*out_body = NULL;
	*out_len = 0;
	if (id == 0 || id > KURA_STATEMENT_ID_MAX)
		return kura_error_set(KURA_EINVAL, "bad request id %lu", id);
	if (!credentials_path || !*credentials_path)
		return kura_error_set(KURA_EINVAL,
				      "no vault credential given (any credential of the vault, for "
				      "its address and pin; an auditor's is best)");
	if (post_body && strlen(post_body) > APPROVAL_BODY_MAX)
		return kura_error_set(KURA_EINVAL, "an approval body is at most %d bytes",
				      APPROVAL_BODY_MAX);
	if ((err = vault_http_ready()) < 0)
		return err;
	if (!(vb = calloc(1, sizeof(*vb))))
		return kura_error_set(KURA_ENOMEM, "out of memory");
	pthread_mutex_init(&vb->lock, NULL);
	if ((err = vault_cred_load_auditor(vb, credentials_path, NULL)) < 0)
		goto done;
	/* the token stays home: these routes are not a client's */
	vault_http_headers_free(vb->headers);
	vb->headers = NULL;
	if (asprintf(&url, "%sdeletions/%lu", vb->base, id) < 0) {
		url = NULL;
		err = kura_error_set(KURA_ENOMEM, "out of memory");
		goto done;
	}
	if (post_body) {
		up.data = (const uint8_t *)post_body;
		up.len = strlen(post_body);
	}
	if ((err = vault_http_perform(vb, post_body ? "POST" : "GET", url, post_body ? &up : NULL,
				      NULL, &r, out_status)) < 0 ||
	    (err = kura_buf_reserve(&r.data, 1)) < 0)
		goto done;
	r.data.data[r.data.len] = '\0';
	*out_body = kura_buf_detach(&r.data, out_len);
done:
	kura_buf_free(&r.data);
	free(url);
	approval_vb_free(vb);
	return err;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * approve_remote.c - approvals over HTTPS (approve_remote.h).
 *
 * A signature is checked, and recorded, under the deletion requests' lock,
 * against the statement rebuilt from the request file as it is at that
 * moment, under the approver's key as registered at that moment, exactly
 * as `kurad approve` and the tick check it (deletion_sign.c).  Hence: a
 * signature over another request, action or vault does not verify (403);
 * the same approval sent again finds its approver on the request already
 * (409); a cancellation sent again finds the request no longer pending
 * (409).  What is recorded is the signature the approver made, so `kurad
 * serve`'s tick logs and counts it like one made on the console.
 */
#include "approve_remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "approvers.h"
#include "common/error.h"
#include "deletion_intake.h"
#include "deletion_sign.h"
#include "deletion_store.h"
#include "policy.h"
#include "route.h"

bool approve_remote_path(const char *path)
{
	return path && strncmp(path, "/v1/deletions/", 14) == 0;
}

int approve_body_parse(const char *body, size_t len, bool *out_cancel,
		       char out_name[VAULT_NAME_MAX + 1], uint8_t out_sig[KURA_SIGNATURE_SIZE],
		       char *why, size_t why_size)
{
	const char *action, *name, *sig;
	json_error_t jerr;
	json_t *doc;
	int err = KURA_EINVAL;

	if (!(doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr))) {
		snprintf(why, why_size, "the body is not JSON: %s", jerr.text);
		return KURA_EINVAL;
	}
	if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s:s, s:s}", "action", &action,
			   "approver", &name, "signature", &sig) < 0) {
		snprintf(
		    why, why_size,
		    "the body must be {\"action\": \"approve\"|\"cancel\", \"approver\": NAME, "
		    "\"signature\": BASE64}");
		goto done;
	}
	if (strcmp(action, "approve") != 0 && strcmp(action, "cancel") != 0) {
		snprintf(why, why_size, "\"action\" is approve or cancel");
		goto done;
	}
	if (!vault_name_ok(name)) {
		snprintf(why, why_size, "\"approver\" is not an approver name");
		goto done;
	}
	if (kura_unbase64(out_sig, KURA_SIGNATURE_SIZE, sig) < 0) {
		snprintf(why, why_size, "\"signature\" is not the base64 of 64 bytes");
		goto done;
	}
	*out_cancel = strcmp(action, "cancel") == 0;
	snprintf(out_name, VAULT_NAME_MAX + 1, "%s", name);
	err = 0;
done:
	json_decref(doc);
	return err;
}

/* A refusal that counts as a failed login from the peer. */
static enum MHD_Result refuse(request *rq, struct MHD_Connection *con, unsigned status,
			      const char *msg)
{
	gate_peer_failed(rq->srv->gate, rq->peer);
	return request_respond_error(rq, con, status, NULL, "%s", msg);
}

/* The request file `id`, pending; an answer already queued otherwise (*answered). */
static int load_pending(request *rq, struct MHD_Connection *con, const char *ddir, unsigned long id,
			deletion_req *r, enum MHD_Result *answered)
{
	int err = deletion_store_load_one(ddir, id, r);
	char msg[64];

	if (err == KURA_ENOTFOUND) {
		snprintf(msg, sizeof(msg), "no deletion request %lu", id);
		*answered = refuse(rq, con, MHD_HTTP_NOT_FOUND, msg);
		return err;
	}
	if (err == KURA_ECORRUPT) {
		*answered = request_respond_error(rq, con, MHD_HTTP_CONFLICT, NULL,
						  "deletion request %lu cannot be read on the "
						  "vault; it is never carried out",
						  id);
		return err;
	}
	if (err < 0) {
		*answered = request_respond_internal(rq, con, "cannot read the deletion request");
		return err;
	}
	if (r->state != DELETION_PENDING) {
		*answered = request_respond_error(rq, con, MHD_HTTP_CONFLICT, NULL,
						  "deletion request %lu is %s, not pending", id,
						  deletion_store_state_name(r->state));
		return KURA_EINVAL;
	}
	return 0;
}

/* The request as a listing shows it, and the two statements it may be signed over. */
static json_t *answer_doc(const char *dir, const char *vkey, const vault_policy *p,
			  const deletion_req *r)
{
	json_t *o = deletion_intake_listing(dir, vkey, p, r), *sts = NULL;
	char *a = NULL, *c = NULL;
	size_t alen, clen;

	if (!o)
		return NULL;
	if (r->state == DELETION_PENDING) {
		if (deletion_statement(r, vkey, false, &a, &alen) < 0 ||
		    deletion_statement(r, vkey, true, &c, &clen) < 0 ||
		    !(sts = json_pack("{s:s%, s:s%}", "approve", a, alen, "cancel", c, clen)) ||
		    json_object_set_new(o, "statements", sts) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	free(a);
	free(c);
	return o;
}

static enum MHD_Result answer(request *rq, struct MHD_Connection *con, unsigned status, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	json_decref(doc);
	if (!text) {
		kura_error_set(KURA_ENOMEM, "out of memory");
		return request_respond_internal(rq, con, "cannot answer");
	}
	return request_respond_buffer(rq, con, status, text, "application/json",
				      REQUEST_BYTES_BODY);
}

static enum MHD_Result get_statement(request *rq, struct MHD_Connection *con, unsigned long id)
{
	const char *dir = vault_dir(rq->srv->v);
	char vkey[VAULT_SIGNING_KEY_B64], *ddir = NULL;
	enum MHD_Result ret = MHD_NO;
	deletion_req r = {0};
	vault_policy p;

	if (policy_load(dir, &p) < 0 || vault_signing_key_b64(dir, vkey) < 0)
		return request_respond_internal(rq, con, "cannot read the policy or signing key");
	if (asprintf(&ddir, "%s/deletions", dir) < 0) {
		kura_error_set(KURA_ENOMEM, "out of memory");
		return request_respond_internal(rq, con, "cannot answer");
	}
	if (load_pending(rq, con, ddir, id, &r, &ret) == 0)
		ret = answer(rq, con, MHD_HTTP_OK, answer_doc(dir, vkey, &p, &r));
	deletion_store_req_free(&r);
	free(ddir);
	return ret;
}

enum MHD_Result approve_remote_begin(request *rq, struct MHD_Connection *con)
{
	bool get = strcmp(rq->method, MHD_HTTP_METHOD_GET) == 0;
	bool post = strcmp(rq->method, MHD_HTTP_METHOD_POST) == 0;
	unsigned long id;
	const char *cl;

	/* No token here: an address locked out for failed logins is locked out of these too. */
	if (gate_peer_blocked(rq->srv->gate, rq->peer)) {
		rq->quiet = !gate_refusal(rq->srv->gate, rq->peer, MHD_HTTP_TOO_MANY_REQUESTS);
		return request_respond_error(rq, con, MHD_HTTP_TOO_MANY_REQUESTS, NULL,
					     "too many failed logins from %s; try again later",
					     rq->peer);
	}
	if (MHD_get_connection_values(con, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0)
		return refuse(rq, con, MHD_HTTP_BAD_REQUEST, "query strings are not accepted");
	if (route_deletion_id(rq->path, &id) < 0)
		return refuse(rq, con, MHD_HTTP_BAD_REQUEST,
			      "bad path: want /v1/deletions/ID (ID 1 to 999999999)");
	if (!get && !post)
		return request_respond_error(rq, con, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, POST",
					     "method %s is not allowed here", rq->method);
	if (get) {
		/* A GET shows what would be signed; its log entries are the gate's, by address. */
		rq->quiet = !gate_refusal(rq->srv->gate, rq->peer, MHD_HTTP_OK);
		return get_statement(rq, con, id);
	}
	if (MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
	    !(cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
					       MHD_HTTP_HEADER_CONTENT_LENGTH)))
		return request_respond_error(rq, con, MHD_HTTP_LENGTH_REQUIRED, NULL,
					     "an approval must have a Content-Length");
	if (route_length_parse(cl, &rq->expected) < 0 || rq->expected > APPROVE_BODY_MAX)
		return refuse(rq, con, MHD_HTTP_CONTENT_TOO_LARGE,
			      "an approval is at most 4096 bytes");
	if (!(rq->body = malloc(rq->expected + 1))) {
		kura_error_set(KURA_ENOMEM, "out of memory");
		return request_respond_internal(rq, con, "cannot take the request");
	}
	rq->posting = true;
	rq->uploading = true;
	rq->approving = true;
	return MHD_YES;
}

enum MHD_Result approve_remote_finish(request *rq, struct MHD_Connection *con)
{
	const char *dir = vault_dir(rq->srv->v);
	char vkey[VAULT_SIGNING_KEY_B64], name[VAULT_NAME_MAX + 1], why[256], *ddir = NULL,
									      *st = NULL;
	uint8_t pk[KURA_SIGN_PUBKEY_SIZE];
	enum MHD_Result ret = MHD_NO;
	deletion_sig sig = {0}, *grown;
	deletion_req r = {0};
	vault_policy p;
	unsigned long id;
	size_t len;
	bool cancel = false;
	int fd = -1;

	if (rq->fail_status || rq->received != rq->expected)
		return refuse(rq, con, MHD_HTTP_BAD_REQUEST, "the body did not arrive whole");
	if (route_deletion_id(rq->path, &id) < 0)
		return refuse(rq, con, MHD_HTTP_BAD_REQUEST, "bad path");
	if (approve_body_parse(rq->body, (size_t)rq->received, &cancel, name, sig.sig, why,
			       sizeof(why)) < 0)
		return refuse(rq, con, MHD_HTTP_BAD_REQUEST, why);
	/* The entry names whom the signature claims: 200 if it verified, 403 if not. */
	snprintf(rq->approver, sizeof(rq->approver), "%s", name);
	if (policy_load(dir, &p) < 0 || vault_signing_key_b64(dir, vkey) < 0)
		return request_respond_internal(rq, con, "cannot read the policy or signing key");
	if (deletion_store_lock(dir, &fd, &ddir) < 0)
		return request_respond_internal(rq, con, "cannot lock the deletion requests");
	if (load_pending(rq, con, ddir, id, &r, &ret) < 0)
		goto done;
	if (approvers_load(dir, name, pk) < 0) {
		char msg[128];

		kura_error_clear();
		snprintf(msg, sizeof(msg), "no approver %s in this vault", name);
		ret = refuse(rq, con, MHD_HTTP_FORBIDDEN, msg);
		goto done;
	}
	if (deletion_statement(&r, vkey, cancel, &st, &len) < 0) {
		ret = request_respond_internal(rq, con, "cannot build the statement");
		goto done;
	}
	if (kura_sign_verify(sig.sig, st, len, pk) < 0) {
		char msg[300];

		snprintf(msg, sizeof(msg),
			 "the signature is not approver %s's over the statement to %s request %lu "
			 "(a forged signature, or one made for another request, action or vault)",
			 name, cancel ? "cancel" : "approve", id);
		ret = refuse(rq, con, MHD_HTTP_FORBIDDEN, msg);
		goto done;
	}
	strcpy(sig.approver, name);
	sig.time_ns = kura_now_ns(CLOCK_REALTIME);
	if (cancel) {
		r.cancel = sig;
		r.has_cancel = true;
		r.state = DELETION_CANCELLED;
	} else {
		for (size_t i = 0; i < r.napprovals; i++)
			if (strcmp(r.approvals[i].approver, name) == 0) {
				ret = request_respond_error(
				    rq, con, MHD_HTTP_CONFLICT, NULL,
				    "approver %s has approved request %lu already (each approver "
				    "approves once; a signature sent again is a replay)",
				    name, id);
				goto done;
			}
		if (r.napprovals >= DELETION_APPROVALS_MAX ||
		    !(grown = realloc(r.approvals, (r.napprovals + 1) * sizeof(*grown)))) {
			ret = request_respond_error(rq, con, MHD_HTTP_CONFLICT, NULL,
						    "request %lu can take no more approvals", id);
			goto done;
		}
		r.approvals = grown;
		r.approvals[r.napprovals++] = sig;
	}
	if (deletion_store_save(ddir, &r, false) < 0) {
		ret = request_respond_internal(rq, con, "cannot record the signature");
		goto done;
	}
	ret = answer(rq, con, MHD_HTTP_OK, deletion_intake_listing(dir, vkey, &p, &r));
done:
	deletion_store_unlock(fd);
	deletion_store_req_free(&r);
	free(st);
	free(ddir);
	return ret;
}

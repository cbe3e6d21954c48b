/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quota_answer.c - an upload's quota, from the request's side
 * (quota_answer.h).  The 507 body names the limit, its value and when it
 * refills, in words for the writer's log and as members for scripts:
 *
 *   {"error": "quota: repository clinic may store 20.0 MiB a day ...",
 *    "quota": {"limit": "daily", "scope": "repository", "name": "clinic",
 *              "value": N, "burst": N, "available": N,
 *              "refill": "2026-12-02T10:40:12Z"}}
 *
 * with Retry-After when waiting helps.  Refusals are logged aggregated
 * per credential (quota_refused): the first of a window as a request,
 * the rest in one REFUSED summary.  The first of a window also raises (or
 * refreshes) the repository's "quota" alert (alerts.h), so the operator
 * hears of a writer at its limit at most once a minute per credential,
 * and the alert stays open until approvers resolve it.
 */
#include "quota_answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alerts.h"
#include "common/error.h"
#include "files.h"
#include "kura/kura.h"

static enum MHD_Result refuse(request *rq, struct MHD_Connection *con, const quota_refusal *why)
{
	struct MHD_Response *resp;
	char refill[40], retry[32];
	json_t *doc;
	char *text;

	if (why->refill_ns)
		files_format_time_s(refill, why->refill_ns);
	doc = json_pack("{s:s, s:{s:s, s:s, s:s, s:I, s:I, s:I, s:s?}}", "error", why->message,
			"quota", "limit", quota_limit_name(why->limit), "scope",
			why->client ? "client" : "repository", "name",
			why->client ? rq->client->name : rq->route.repo, "value",
			(json_int_t)why->value, "burst", (json_int_t)why->burst, "available",
			(json_int_t)why->available, "refill", why->refill_ns ? refill : NULL);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (why->refill_ns) {
		int64_t wait = (why->refill_ns - kura_now_ns(CLOCK_REALTIME)) / 1000000000LL + 1;

		snprintf(retry, sizeof(retry), "%lld", (long long)(wait > 0 ? wait : 1));
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	}
	fprintf(stderr, "kurad: %s %s from %s (%s): refused (507): %s\n", rq->method, rq->path,
		rq->peer, rq->client->name, why->message);
	return request_respond(rq, con, MHD_HTTP_INSUFFICIENT_STORAGE, resp, 0);
}

/* Tell the operator (alerts.h); a failure is printed: the refusal stands either way. */
static void raise_alert(request *rq, quota_limit limit, const char *message)
{
	char summary[512];
	json_t *d = json_pack("{s:s, s:s, s:s}", "client", rq->client->name, "limit",
			      quota_limit_name(limit), "peer", rq->peer);
	char *details = d ? json_dumps(d, JSON_COMPACT) : NULL;

	json_decref(d);
	snprintf(summary, sizeof(summary), "writer %s refused (507): %s", rq->client->name,
		 message);
	if (alerts_raise(rq->srv->v, rq->route.repo, "quota", summary, details) < 0)
		fprintf(stderr, "kurad: quota alert for repository %s not raised: %s\n",
			rq->route.repo, kura_error_message());
	free(details);
}

bool quota_answer_admit(request *rq, struct MHD_Connection *con, enum MHD_Result *ret)
{
	quota_refusal why;
	int rc;

	if (!rq->srv->quota)
		return true;
	rc = quota_admit(rq->srv->quota, rq->route.repo, rq->client->name, rq->expected, &why);
	if (rc == 0) {
		rq->quota_held = rq->expected;
		rq->quota_holding = true;
	}
	if (rc <= 0)
		return true;
	rq->quiet = !quota_refused(rq->srv->quota, rq->route.repo, rq->client->name, rq->peer,
				   why.limit);
	if (!rq->quiet)
		raise_alert(rq, why.limit, why.message);
	*ret = refuse(rq, con, &why);
	return false;
}

void quota_answer_stored(request *rq)
{
	if (!rq->quota_holding)
		return;
	rq->quota_holding = false;
	quota_stored(rq->srv->quota, rq->route.repo, rq->client->name, rq->quota_held);
}

void quota_answer_release(request *rq)
{
	if (!rq->quota_holding)
		return;
	rq->quota_holding = false;
	quota_release(rq->srv->quota, rq->route.repo, rq->client->name, rq->quota_held);
}

void quota_answer_reserve_refused(request *rq)
{
	if (!rq->srv->quota)
		return;
	rq->quiet = !quota_refused(rq->srv->quota, rq->route.repo, rq->client->name, rq->peer,
				   QUOTA_LIMIT_RESERVE);
	if (!rq->quiet)
		raise_alert(rq, QUOTA_LIMIT_RESERVE,
			    "the vault's disk is full down to its reserve (kept for reads and the log)");
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ui_session.c - the status page's session table and the parsers of its
 * cookie and login form (ui_session.h).
 */
#include "ui_session.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"

typedef struct {
	uint8_t id[UI_SESSION_ID_BYTES];
	const vault_client *client; /* NULL: free */
	int64_t expires_ns;
} slot;

struct ui_sessions {
	pthread_mutex_t lock;
	slot slots[UI_SESSION_MAX];
};

int ui_sessions_new(ui_sessions **out)
{
	ui_sessions *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return kura_error_set(KURA_ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
}

void ui_sessions_free(ui_sessions *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	kura_wipe(s->slots, sizeof(s->slots));
	free(s);
}

static bool live(const slot *sl, int64_t now_ns)
{
	return sl->client && sl->expires_ns > now_ns && !atomic_load(&sl->client->revoked);
}

void ui_session_open(ui_sessions *s, const vault_client *c, int64_t now_ns,
		     char out_id[UI_SESSION_ID_HEX])
{
	size_t i, pick = 0;

	pthread_mutex_lock(&s->lock);
	/* A free or dead slot, else the one that expires first. */
	for (i = 0; i < UI_SESSION_MAX; i++) {
		if (!live(&s->slots[i], now_ns)) {
			pick = i;
			break;
		}
		if (s->slots[i].expires_ns < s->slots[pick].expires_ns)
			pick = i;
	}
	kura_random(s->slots[pick].id, UI_SESSION_ID_BYTES);
	s->slots[pick].client = c;
	s->slots[pick].expires_ns = now_ns + (int64_t)UI_SESSION_TTL_S * 1000000000;
	kura_hex(out_id, s->slots[pick].id, UI_SESSION_ID_BYTES);
	pthread_mutex_unlock(&s->lock);
}

const vault_client *ui_session_find(ui_sessions *s, const char *id_hex, int64_t now_ns)
{
	uint8_t id[UI_SESSION_ID_BYTES];
	const vault_client *found = NULL;
	size_t i;

	if (!id_hex || kura_unhex(id, id_hex, UI_SESSION_ID_BYTES) < 0)
		return NULL;
	pthread_mutex_lock(&s->lock);
	/* Every slot is compared, in constant time, whatever matches. */
	for (i = 0; i < UI_SESSION_MAX; i++) {
		bool eq = kura_ct_equal(s->slots[i].id, id, UI_SESSION_ID_BYTES);

		if (eq && live(&s->slots[i], now_ns))
			found = s->slots[i].client;
	}
	pthread_mutex_unlock(&s->lock);
	kura_wipe(id, sizeof(id));
	return found;
}

void ui_session_close(ui_sessions *s, const char *id_hex)
{
	uint8_t id[UI_SESSION_ID_BYTES];
	size_t i;

	if (!id_hex || kura_unhex(id, id_hex, UI_SESSION_ID_BYTES) < 0)
		return;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < UI_SESSION_MAX; i++)
		if (kura_ct_equal(s->slots[i].id, id, UI_SESSION_ID_BYTES)) {
			kura_wipe(&s->slots[i], sizeof(s->slots[i]));
			s->slots[i].client = NULL;
		}
	pthread_mutex_unlock(&s->lock);
	kura_wipe(id, sizeof(id));
}

size_t ui_session_count(ui_sessions *s, int64_t now_ns)
{
	size_t i, n = 0;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < UI_SESSION_MAX; i++)
		n += live(&s->slots[i], now_ns);
	pthread_mutex_unlock(&s->lock);
	return n;
}

static bool lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int ui_cookie_parse(const char *header, char out[UI_SESSION_ID_HEX])
{
	const size_t nlen = strlen(UI_COOKIE_NAME);
	const char *p = header;
	bool found = false;

	out[0] = '\0';
	if (!header)
		return KURA_ENOTFOUND;
	while (*p) {
		const char *end;
		size_t len, i;

		while (*p == ' ' || *p == '\t')
			p++;
		end = strchr(p, ';');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len > nlen && strncmp(p, UI_COOKIE_NAME, nlen) == 0 && p[nlen] == '=') {
			const char *v = p + nlen + 1;
			size_t vlen = len - nlen - 1;

			while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (found || vlen != UI_SESSION_ID_HEX - 1)
				return KURA_EINVAL;
			for (i = 0; i < vlen; i++)
				if (!lower_hex(v[i]))
					return KURA_EINVAL;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			found = true;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return found ? 0 : KURA_ENOTFOUND;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode one field value of `len` bytes into out; false if it is not a token. */
static bool decode_token(const char *v, size_t len, char out[UI_TOKEN_MAX + 1])
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)v[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (i + 2 >= len || (hi = hexval(v[i + 1])) < 0 ||
			    (lo = hexval(v[i + 2])) < 0)
				return false;
			c = hi * 16 + lo;
			i += 2;
		}
		/* Printable ASCII, no space: what route_bearer_token accepts. */
		if (c <= 0x20 || c >= 0x7f || n >= UI_TOKEN_MAX)
			return false;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return n > 0;
}

int ui_form_token(const char *body, size_t len, char out[UI_TOKEN_MAX + 1])
{
	size_t i = 0;
	bool found = false;

	out[0] = '\0';
	while (i <= len) {
		size_t start = i, end = i;

		while (end < len && body[end] != '&')
			end++;
		if (end - start >= 6 && memcmp(body + start, "token=", 6) == 0) {
			if (found || !decode_token(body + start + 6, end - start - 6, out)) {
				kura_wipe(out, UI_TOKEN_MAX + 1);
				out[0] = '\0';
				return KURA_EINVAL;
			}
			found = true;
		}
		i = end + 1;
	}
	return found ? 0 : KURA_EINVAL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_ui_session.c - the status page's parsers and escaping on arbitrary
 * bytes: the session cookie in a Cookie header and the token of a login
 * form (server/ui_session.c), and HTML text escaping (ui_html.c).  What a
 * parser accepts must keep its promises: a cookie is 64 lowercase hex
 * digits, a token 1..256 printable characters without spaces; escaped
 * text holds no markup character.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui_html.h"
#include "ui_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[UI_SESSION_ID_HEX], token[UI_TOKEN_MAX + 1], *s, *text = NULL;
	size_t i, len = 0;
	FILE *f;

	if (ui_form_token((const char *)data, size, token) == 0) {
		size_t n = strlen(token);

		if (n == 0 || n > UI_TOKEN_MAX)
			abort();
		for (i = 0; i < n; i++)
			if (token[i] <= 0x20 || token[i] >= 0x7f)
				abort();
	}
	if (!(s = malloc(size + 1)))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (ui_cookie_parse(s, id) == 0) {
		if (strlen(id) != UI_SESSION_ID_HEX - 1)
			abort();
		for (i = 0; id[i]; i++)
			if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
				abort();
	}
	if ((f = open_memstream(&text, &len)) != NULL) {
		ui_html_text(f, s);
		ui_html_text_cut(f, s, size % 600);
		fclose(f);
		if (text && strpbrk(text, "<>\"'"))
			abort();
		for (i = 0; text && i < len; i++)
			if ((unsigned char)text[i] < 0x20 && text[i] != '\t')
				abort();
		free(text);
	}
	free(s);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keysheet.c - the printable sheet for one restore key share: an HTML page
 * (any browser prints it) with the share as a QR code in inline SVG, drawn
 * with libqrencode, the same share as typed lines, and what its holder must
 * do with it.
 *
 * The QR code holds the share text without its '#' comment lines, so that
 * scanning it gives a file `kura key combine` reads as it is.  The sheet
 * holds a secret: it is created with mode 0600 and never overwrites.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <qrencode.h>

#define IOBUF_SIZE 16384
#define QUIET_ZONE 4 /* modules of white around the code, as the standard asks */

/* The share text without comment lines: what the QR code carries. */
static char *strip_comments(const char *text)
{
	size_t len = strlen(text), o = 0;
	char *out = malloc(len + 1);
	const char *p = text;

	if (!out)
		return NULL;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);

		if (*p != '#') {
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	out[o] = '\0';
	return out;
}

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else
			fputc(*s, f);
	}
}

static void put_qr_svg(FILE *f, const QRcode *qr)
{
	int size = qr->width + 2 * QUIET_ZONE;

	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"70mm\" "
		"height=\"70mm\" shape-rendering=\"crispEdges\" role=\"img\" "
		"aria-label=\"QR code of the share\">\n<rect width=\"%d\" height=\"%d\" "
		"fill=\"#fff\"/>\n<path fill=\"#000\" d=\"",
		size, size, size, size);
	/* one rectangle per horizontal run of dark modules */
	for (int y = 0; y < qr->width; y++) {
		for (int x = 0; x < qr->width;) {
			int run = 0;

			while (x + run < qr->width && (qr->data[y * qr->width + x + run] & 1))
				run++;
			if (run)
				fprintf(f, "M%d %dh%dv1h-%dz", x + QUIET_ZONE, y + QUIET_ZONE, run, run);
			x += run ? run : 1;
		}
		fputc('\n', f);
	}
	fputs("\"/>\n</svg>\n", f);
}

static void put_page(FILE *f, const char *text, const QRcode *qr, const kura_keyshare_info *in)
{
	char when[CLI_FMT_MAX];

	cli_fmt_time_local(when, (int64_t)time(NULL));
	fprintf(f,
		"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<title>kura restore key share %u of %u</title>\n<style>\n"
		"body { font-family: sans-serif; max-width: 180mm; margin: 8mm auto; }\n"
		"pre { font-size: 11pt; line-height: 1.35; border: 1px solid #000; padding: 3mm; }\n"
		"h1 { font-size: 16pt; } h2 { font-size: 12pt; } li { margin: 1mm 0; }\n"
		"</style>\n</head>\n<body>\n",
		in->index, in->total);
	fprintf(f,
		"<h1>kura restore key share %u of %u &mdash; SECRET</h1>\n"
		"<p>Repository <code>%s</code><br>split <code>%s</code>, made %s.<br>\n"
		"Any <b>%u</b> of the %u shares of this split rebuild the repository's restore "
		"key; fewer reveal nothing about it.</p>\n",
		in->index, in->total, in->repo_id, in->split_id, when, in->threshold, in->total);
	put_qr_svg(f, qr);
	fputs("<pre>", f);
	put_escaped(f, text);
	fputs("</pre>\n", f);
	fprintf(f,
		"<h2>For the holder of this sheet</h2>\n<ol>\n"
		"<li>Keep it where only you can reach it: a sealed envelope in a safe. Do not "
		"photograph, scan or mail it, and never keep a copy on a computer that is backed "
		"up or on the network.</li>\n"
		"<li>Do not hand it to anyone who asks for it by phone or mail. It is needed only "
		"on the day of a recovery, when %u holders meet at a clean restore host "
		"(docs/RECOVERY.md).</li>\n"
		"<li>On that day, scan the QR code into a text file, or type the lines of the "
		"box above into one exactly as printed (upper or lower case; O may be typed as 0, "
		"I and L as 1). Each numbered line ends with a checksum, so a mistyped character "
		"is reported with its line before anything is combined. Then run:<br>\n"
		"<code>kura key combine share-%u-of-%u.txt SHARE... --output restore.key</code><br>\n"
		"which asks for a new passphrase and writes a restore key that "
		"<code>KURA_KEY_FILE</code> opens.</li>\n"
		"<li>If this sheet is lost or its holder leaves, say so at once. A new split does "
		"not make old shares useless: %u old shares still rebuild the key, so every old "
		"sheet must be destroyed.</li>\n</ol>\n</body>\n</html>\n",
		in->threshold, in->index, in->total, in->threshold);
}

int cli_keysheet_write(const char *path, const char *share_text, const kura_keyshare_info *info)
{
	QRcode *qr = NULL;
	char *qr_text = NULL, *iobuf = NULL;
	FILE *f = NULL;
	bool created = false;
	int fd, rc = CLI_EXIT_FATAL;

	if (!(qr_text = strip_comments(share_text))) {
		fputs("kura: out of memory\n", stderr);
		return CLI_EXIT_FATAL;
	}
	if (!(qr = QRcode_encodeString8bit(qr_text, 0, QR_ECLEVEL_M))) {
		fprintf(stderr, "kura: cannot draw the QR code for %s: %s\n", path, strerror(errno));
		goto done;
	}
	/* our own stdio buffer, so that the copy of the share in it can be wiped */
	if (!(iobuf = calloc(1, IOBUF_SIZE))) {
		fputs("kura: out of memory\n", stderr);
		goto done;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		fprintf(stderr, "kura: cannot create %s: %s\n", path, strerror(errno));
		goto done;
	}
	created = true;
	if (!(f = fdopen(fd, "w"))) {
		fprintf(stderr, "kura: cannot write %s: %s\n", path, strerror(errno));
		close(fd);
		goto done;
	}
	setvbuf(f, iobuf, _IOFBF, IOBUF_SIZE);
	put_page(f, share_text, qr, info);
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0) {
		fprintf(stderr, "kura: writing %s: %s\n", path, strerror(errno));
		goto done;
	}
	rc = CLI_EXIT_OK;
done:
	if (f && fclose(f) != 0 && rc == CLI_EXIT_OK) {
		fprintf(stderr, "kura: writing %s: %s\n", path, strerror(errno));
		rc = CLI_EXIT_FATAL;
	}
	if (rc != CLI_EXIT_OK && created)
		unlink(path);
	if (iobuf) {
		cli_passphrase_wipe(iobuf, IOBUF_SIZE);
		free(iobuf);
	}
	QRcode_free(qr);
	cli_passphrase_wipe(qr_text, strlen(qr_text));
	free(qr_text);
	return rc;
}

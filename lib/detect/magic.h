/* SPDX-License-Identifier: Apache-2.0 */
/*
 * magic.h - a file's type from its first bytes, and the type its name
 * promises.
 *
 * Why a small table and not libmagic: the backup needs about thirty
 * answers, not a thousand, and it asks them for every file it reads, on a
 * host the attacker may own.  libmagic parses a large rule database at
 * start-up (tens of milliseconds and megabytes per process), walks it for
 * every call, and is a parser of hostile input with its own history of
 * CVEs; its "data" and "text" answers are also the ones we need most and
 * trust least.  The table in magic.c names each signature with its
 * offset and its source (the format's own specification), and is tested
 * on crafted headers (tests/unit/test_detect.c).
 *
 * A recognised signature means the format's own header survived: a dense,
 * random-looking body is then that format's business (JPEG, ZIP, a user's
 * gpg file).  Ransomware that encrypts a file in place overwrites the
 * header with the rest, which is what a lost or mismatched type shows.
 */
#ifndef KURA_DETECT_MAGIC_H
#define KURA_DETECT_MAGIC_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	KURA_FT_UNKNOWN = 0, /* no signature, not text */
	KURA_FT_TEXT,	     /* no signature, first block is text */
	KURA_FT_ZIP,	     /* also docx/xlsx/pptx/odt/jar/epub */
	KURA_FT_PDF,
	KURA_FT_JPEG,
	KURA_FT_PNG,
	KURA_FT_GIF,
	KURA_FT_TIFF,
	KURA_FT_DICOM,
	KURA_FT_MP4, /* ISO base media: mp4, mov, m4a, heic */
	KURA_FT_GZIP,
	KURA_FT_XZ,
	KURA_FT_ZSTD,
	KURA_FT_BZIP2,
	KURA_FT_7Z,
	KURA_FT_RAR,
	KURA_FT_OLE2, /* doc, xls, ppt, msg */
	KURA_FT_SQLITE,
	KURA_FT_ELF,
	KURA_FT_PE,
	KURA_FT_OPENPGP, /* binary OpenPGP message (gpg -e) */
	KURA_FT_AGE,
	KURA_FT_OPENSSL, /* openssl enc "Salted__" */
	KURA_FT_KDBX,	 /* KeePass */
	KURA_FT_RIFF,	 /* wav, avi, webp */
	KURA_FT_OGG,
	KURA_FT_FLAC,
	KURA_FT_MP3,
	KURA_FT_MATROSKA, /* mkv, webm */
	KURA_FT_TAR,
	KURA_FT_CAB,
	KURA_FT_LUKS,
	KURA_FT_JKS,	 /* Java keystore */
	KURA_FT_DER,	 /* PKCS#12, certificates: an ASN.1 SEQUENCE */
	KURA_FT_ZLIB,	 /* a zlib stream: git's loose objects, many application caches */
	KURA_FT_GITPACK, /* git pack files */
	KURA_FT_COUNT
} kura_filetype;

/* Bytes of a file's start that kura_detect_magic looks at (DICOM's is at 128, tar's at 257). */
#define KURA_DETECT_HEAD 264

/*
 * The type of a file from its first bytes (`n` of them, fewer for a short
 * file) and whether its first block is text (blockstat.h).
 */
kura_filetype kura_detect_magic(const uint8_t *head, size_t n, int first_text);

/*
 * The type a file name promises by its last extension (case-insensitive),
 * or KURA_FT_UNKNOWN when the extension promises nothing we can check.
 */
kura_filetype kura_detect_expected(const char *name);

/* A short name for a type ("zip", "text"). */
const char *kura_detect_type_name(kura_filetype t);

/*
 * Whether a type may hold a dense, random-looking body: compressed or
 * encrypted formats, media, archives, executables.  Text and SQLite may
 * not: random blocks inside them are partial encryption's mark.
 */
int kura_detect_type_dense(kura_filetype t);

/* Whether `a` and `b` are the same family (a ".zip" read as ZIP, TIFF read as DNG...). */
int kura_detect_type_compatible(kura_filetype expected, kura_filetype actual);

#endif

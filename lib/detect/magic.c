/* SPDX-License-Identifier: Apache-2.0 */
/*
 * magic.c - the signature table and the extension table (magic.h).
 *
 * Each signature is (offset, bytes) from the format's own specification,
 * noted beside it.  Longer and later signatures are tried first where two
 * could match (DICOM's "DICM" at 128 before anything at 0).  Extensions
 * map to the type their files must start with; an extension missing here
 * promises nothing, and a file under it is judged by content and history
 * alone.
 */
#include "detect/magic.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

typedef struct {
	uint16_t offset;
	uint8_t len;
	const char *bytes;
	kura_filetype type;
} signature;

static const signature signatures[] = {
    {128, 4, "DICM", KURA_FT_DICOM},	      /* DICOM PS3.10 7.1: preamble, prefix */
    {257, 5, "ustar", KURA_FT_TAR},	      /* POSIX.1-1988 ustar header */
    {0, 4, "PK\x03\x04", KURA_FT_ZIP},	      /* APPNOTE 4.3.7 local file header */
    {0, 4, "PK\x05\x06", KURA_FT_ZIP},	      /* APPNOTE 4.3.16: an empty archive */
    {0, 4, "PK\x07\x08", KURA_FT_ZIP},	      /* APPNOTE 8.5.3: spanned archive */
    {0, 5, "%PDF-", KURA_FT_PDF},	      /* ISO 32000-1 7.5.2 */
    {0, 3, "\xff\xd8\xff", KURA_FT_JPEG},     /* ITU T.81 SOI + marker */
    {0, 8, "\x89PNG\r\n\x1a\n", KURA_FT_PNG}, /* PNG spec 5.2 */
    {0, 6, "GIF87a", KURA_FT_GIF},
    {0, 6, "GIF89a", KURA_FT_GIF},
    {0, 4, "II*\0", KURA_FT_TIFF}, /* TIFF 6.0 section 2 */
    {0, 4, "MM\0*", KURA_FT_TIFF},
    {4, 4, "ftyp", KURA_FT_MP4},      /* ISO/IEC 14496-12 4.3 */
    {0, 2, "\x1f\x8b", KURA_FT_GZIP}, /* RFC 1952 2.3.1 */
    {0, 6,
     "\xfd"
     "7zXZ\0",
     KURA_FT_XZ},			      /* xz file format 2.1.1.1 */
    {0, 4, "\x28\xb5\x2f\xfd", KURA_FT_ZSTD}, /* RFC 8878 3.1.1 */
    {0, 3, "BZh", KURA_FT_BZIP2},
    {0, 6, "7z\xbc\xaf\x27\x1c", KURA_FT_7Z},		      /* 7z format: signature header */
    {0, 6, "Rar!\x1a\x07", KURA_FT_RAR},		      /* RAR 4 and 5 */
    {0, 8, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", KURA_FT_OLE2}, /* MS-CFB 2.2 */
    {0, 16, "SQLite format 3\0", KURA_FT_SQLITE},	      /* sqlite fileformat 1.3 */
    {0, 4,
     "\x7f"
     "ELF",
     KURA_FT_ELF},
    {0, 2, "MZ", KURA_FT_PE},
    {0, 21, "age-encryption.org/v1", KURA_FT_AGE}, /* age v1 spec: header */
    {0, 8, "Salted__", KURA_FT_OPENSSL},	   /* openssl enc -salt */
    {0, 4, "\x03\xd9\xa2\x9a", KURA_FT_KDBX},	   /* KeePass 2 signature 1 */
    {0, 4, "RIFF", KURA_FT_RIFF},
    {0, 4, "OggS", KURA_FT_OGG}, /* RFC 3533 6 */
    {0, 4, "fLaC", KURA_FT_FLAC},
    {0, 3, "ID3", KURA_FT_MP3},			  /* ID3v2 tag */
    {0, 2, "\xff\xfb", KURA_FT_MP3},		  /* MPEG-1 layer III frame sync */
    {0, 4, "\x1a\x45\xdf\xa3", KURA_FT_MATROSKA}, /* EBML header */
    {0, 4, "MSCF", KURA_FT_CAB},
    {0, 6, "LUKS\xba\xbe", KURA_FT_LUKS},
    {0, 4, "\xfe\xed\xfe\xed", KURA_FT_JKS},
    {0, 2, "\x30\x82", KURA_FT_DER},  /* X.690 SEQUENCE, long length */
    {0, 2, "\x30\x80", KURA_FT_DER},  /* X.690 SEQUENCE, indefinite */
    {0, 2, "\x78\x01", KURA_FT_ZLIB}, /* RFC 1950 2.2: CM 8, CINFO 7, */
    {0, 2, "\x78\x5e", KURA_FT_ZLIB}, /*   the four FLEVELs zlib writes */
    {0, 2, "\x78\x9c", KURA_FT_ZLIB},
    {0, 2, "\x78\xda", KURA_FT_ZLIB},
    {0, 4, "PACK", KURA_FT_GITPACK}, /* git pack-format.txt */
};

/*
 * A binary OpenPGP message starts with a public-key (tag 1) or symmetric-
 * key (tag 3) encrypted session key packet, RFC 4880 4.2, 5.1, 5.3 and RFC
 * 9580: the packet header, then a version byte (3 or 6 for tag 1; 4, 5 or
 * 6 for tag 3).  Checking the version keeps random bytes from passing:
 * about 1 in 2,000 would, against 1 in 25 for the tag byte alone.
 */
static int openpgp(const uint8_t *h, size_t n)
{
	size_t lenbytes;
	int tag;

	if (n < 7 || !(h[0] & 0x80))
		return 0;
	if (h[0] & 0x40) { /* new format */
		tag = h[0] & 0x3f;
		lenbytes = h[1] < 192 ? 1 : h[1] < 224 ? 2 : h[1] == 255 ? 5 : 0;
	} else {
		static const size_t old_len[4] = {1, 2, 4, 0};

		tag = (h[0] >> 2) & 0x0f;
		lenbytes = old_len[h[0] & 3];
	}
	if (!lenbytes || (tag != 1 && tag != 3))
		return 0;
	if (tag == 1)
		return h[1 + lenbytes] == 3 || h[1 + lenbytes] == 6;
	return h[1 + lenbytes] >= 4 && h[1 + lenbytes] <= 6;
}

kura_filetype kura_detect_magic(const uint8_t *head, size_t n, int first_text)
{
	for (size_t i = 0; i < sizeof(signatures) / sizeof(*signatures); i++) {
		const signature *s = &signatures[i];

		if ((size_t)s->offset + s->len <= n &&
		    memcmp(head + s->offset, s->bytes, s->len) == 0)
			return s->type;
	}
	if (first_text)
		return KURA_FT_TEXT;
	if (openpgp(head, n))
		return KURA_FT_OPENPGP;
	return KURA_FT_UNKNOWN;
}

typedef struct {
	const char *ext;
	kura_filetype type;
} extension;

static const extension extensions[] = {
    {"zip", KURA_FT_ZIP},	{"docx", KURA_FT_ZIP},	    {"xlsx", KURA_FT_ZIP},
    {"pptx", KURA_FT_ZIP},	{"docm", KURA_FT_ZIP},	    {"xlsm", KURA_FT_ZIP},
    {"odt", KURA_FT_ZIP},	{"ods", KURA_FT_ZIP},	    {"odp", KURA_FT_ZIP},
    {"jar", KURA_FT_ZIP},	{"apk", KURA_FT_ZIP},	    {"epub", KURA_FT_ZIP},
    {"pdf", KURA_FT_PDF},	{"jpg", KURA_FT_JPEG},	    {"jpeg", KURA_FT_JPEG},
    {"jfif", KURA_FT_JPEG},	{"png", KURA_FT_PNG},	    {"gif", KURA_FT_GIF},
    {"tif", KURA_FT_TIFF},	{"tiff", KURA_FT_TIFF},	    {"dcm", KURA_FT_DICOM},
    {"dicom", KURA_FT_DICOM},	{"mp4", KURA_FT_MP4},	    {"m4a", KURA_FT_MP4},
    {"m4v", KURA_FT_MP4},	{"mov", KURA_FT_MP4},	    {"heic", KURA_FT_MP4},
    {"3gp", KURA_FT_MP4},	{"gz", KURA_FT_GZIP},	    {"tgz", KURA_FT_GZIP},
    {"xz", KURA_FT_XZ},		{"txz", KURA_FT_XZ},	    {"zst", KURA_FT_ZSTD},
    {"bz2", KURA_FT_BZIP2},	{"7z", KURA_FT_7Z},	    {"rar", KURA_FT_RAR},
    {"doc", KURA_FT_OLE2},	{"xls", KURA_FT_OLE2},	    {"ppt", KURA_FT_OLE2},
    {"msg", KURA_FT_OLE2},	{"sqlite", KURA_FT_SQLITE}, {"sqlite3", KURA_FT_SQLITE},
    {"exe", KURA_FT_PE},	{"dll", KURA_FT_PE},	    {"age", KURA_FT_AGE},
    {"kdbx", KURA_FT_KDBX},	{"wav", KURA_FT_RIFF},	    {"avi", KURA_FT_RIFF},
    {"webp", KURA_FT_RIFF},	{"ogg", KURA_FT_OGG},	    {"opus", KURA_FT_OGG},
    {"flac", KURA_FT_FLAC},	{"mp3", KURA_FT_MP3},	    {"mkv", KURA_FT_MATROSKA},
    {"webm", KURA_FT_MATROSKA}, {"tar", KURA_FT_TAR},	    {"cab", KURA_FT_CAB},
    {"jks", KURA_FT_JKS},	{"p12", KURA_FT_DER},	    {"pfx", KURA_FT_DER},
    {"txt", KURA_FT_TEXT},	{"csv", KURA_FT_TEXT},	    {"log", KURA_FT_TEXT},
    {"md", KURA_FT_TEXT},	{"xml", KURA_FT_TEXT},	    {"json", KURA_FT_TEXT},
    {"html", KURA_FT_TEXT},	{"htm", KURA_FT_TEXT},	    {"rtf", KURA_FT_TEXT},
    {"hl7", KURA_FT_TEXT},	{"sql", KURA_FT_TEXT},	    {"ini", KURA_FT_TEXT},
    {"cfg", KURA_FT_TEXT},	{"conf", KURA_FT_TEXT},	    {"yaml", KURA_FT_TEXT},
    {"yml", KURA_FT_TEXT},	{"eml", KURA_FT_TEXT},	    {"ics", KURA_FT_TEXT},
    {"vcf", KURA_FT_TEXT},	{"c", KURA_FT_TEXT},	    {"h", KURA_FT_TEXT},
    {"py", KURA_FT_TEXT},	{"sh", KURA_FT_TEXT},	    {"tsv", KURA_FT_TEXT},
};

kura_filetype kura_detect_expected(const char *name)
{
	const char *base = strrchr(name, '/'), *dot;

	base = base ? base + 1 : name;
	dot = strrchr(base, '.');
	if (!dot || dot == base || !dot[1])
		return KURA_FT_UNKNOWN;
	for (size_t i = 0; i < sizeof(extensions) / sizeof(*extensions); i++)
		if (strcasecmp(dot + 1, extensions[i].ext) == 0)
			return extensions[i].type;
	return KURA_FT_UNKNOWN;
}

static const char *const type_names[KURA_FT_COUNT] = {
    "unknown", "text",	   "zip",     "pdf",  "jpeg",	 "png",	 "gif",	 "tiff", "dicom",
    "mp4",     "gzip",	   "xz",      "zstd", "bzip2",	 "7z",	 "rar",	 "ole2", "sqlite",
    "elf",     "pe",	   "openpgp", "age",  "openssl", "kdbx", "riff", "ogg",	 "flac",
    "mp3",     "matroska", "tar",     "cab",  "luks",	 "jks",	 "der",	 "zlib", "gitpack",
};

const char *kura_detect_type_name(kura_filetype t)
{
	return (unsigned)t < KURA_FT_COUNT ? type_names[t] : "unknown";
}

int kura_detect_type_dense(kura_filetype t)
{
	return t != KURA_FT_UNKNOWN && t != KURA_FT_TEXT && t != KURA_FT_SQLITE &&
	       t < KURA_FT_COUNT;
}

int kura_detect_type_compatible(kura_filetype expected, kura_filetype actual)
{
	if (expected == actual)
		return 1;
	/* a text extension over UTF-16 or a BOM-less Latin-1 file: no claim we can hold */
	if (expected == KURA_FT_TEXT)
		return actual != KURA_FT_UNKNOWN;
	/* ZIP-based and OLE2 office files are saved under each other's names */
	if ((expected == KURA_FT_OLE2 && actual == KURA_FT_ZIP) ||
	    (expected == KURA_FT_ZIP && actual == KURA_FT_OLE2))
		return 1;
	/* a .tar.gz is gzip; DNG and some camera raws are TIFF; .mp3 without ID3 */
	return 0;
}

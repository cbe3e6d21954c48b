/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pwpolicy.c - kura_passphrase_check(): refuse restore-key passphrases
 * that are short, dictionary-based or trivially simple.
 *
 * libpwquality (with cracklib's dictionary) does the real work.  We ask it
 * for a minimum length of 12 and switch off its character-class rules, so
 * a long passphrase of plain words passes while "P@ssw0rd" does not: length
 * and unpredictability matter, punctuation does not.  The system's
 * pwquality.conf is deliberately not read, so the policy is the same on
 * every machine.  A few checks of our own (length in characters, too few
 * different characters, one word repeated) run first, so that a missing
 * cracklib dictionary still leaves a floor.
 *
 * cracklib judges the whole string, so "password1234" or "Hospital2024!"
 * pass it.  We therefore also check the passphrase's *core*: digits and
 * symbols stripped from both ends, common look-alike substitutions undone
 * ("p@ssw0rd" -> "password"), lower-cased; a core that is a dictionary
 * word is refused.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <pwquality.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "kura/kura.h"

#define MIN_CHARS 12
#define MIN_DISTINCT 5

/* cracklib keeps static state; passphrase checks are rare, so serialise them */
static pthread_mutex_t pwq_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static size_t distinct_bytes(const char *s)
{
	unsigned char seen[256] = {0};
	size_t n = 0;

	for (; *s; s++)
		if (!seen[(unsigned char)*s]++)
			n++;
	return n;
}

/* true if s is some shorter string written two or more times */
static int is_repetition(const char *s)
{
	size_t len = strlen(s);

	for (size_t period = 1; period <= len / 2; period++) {
		size_t i;

		if (len % period)
			continue;
		for (i = period; i < len && s[i] == s[i - period]; i++)
			;
		if (i == len)
			return 1;
	}
	return 0;
}

static int own_checks(const char *passphrase)
{
	if (utf8_chars(passphrase) < MIN_CHARS)
		return kura_error_set(
		    KURA_EWEAK, "passphrase refused: it is shorter than %d characters", MIN_CHARS);
	if (distinct_bytes(passphrase) < MIN_DISTINCT)
		return kura_error_set(
		    KURA_EWEAK,
		    "passphrase refused: it does not contain enough different characters");
	if (is_repetition(passphrase))
		return kura_error_set(KURA_EWEAK, "passphrase refused: it is one word repeated");
	return 0;
}

/* The core described above into `out` (at least strlen(s) + 1 bytes). */
static void passphrase_core(char *out, const char *s)
{
	static const char from[] = "@48310!5$7", to[] = "abbeloisst";
	size_t start = 0, end = strlen(s), n = 0;

	while (start < end && !isalpha((unsigned char)s[start]))
		start++;
	while (end > start && !isalpha((unsigned char)s[end - 1]))
		end--;
	for (size_t i = start; i < end; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *sub = c ? strchr(from, c) : NULL;

		if (isalpha(c))
			out[n++] = (char)tolower(c);
		else if (sub)
			out[n++] = to[sub - from];
	}
	out[n] = '\0';
}

/* KURA_EWEAK if the core of the passphrase is a dictionary word (lock held). */
static int core_check(const char *passphrase)
{
	pwquality_settings_t *pwq = pwquality_default_settings();
	char *core = malloc(strlen(passphrase) + 1);
	void *aux = NULL;
	int err = 0, rc;

	if (!pwq || !core) {
		err = kura_error_set(KURA_ENOMEM, "passphrase check: out of memory");
		goto done;
	}
	passphrase_core(core, passphrase);
	/* pwquality's smallest minimum length is 6; shorter cores are no word it knows */
	if (strlen(core) < 6 || pwquality_set_option(pwq, "minlen=6") != 0)
		goto done;
	rc = pwquality_check(pwq, core, NULL, NULL, &aux);
	if (rc == PWQ_ERROR_CRACKLIB_CHECK && aux && strstr((const char *)aux, "dictionary word"))
		err = kura_error_set(KURA_EWEAK, "passphrase refused: it is a dictionary word with a "
						 "few characters changed or added; use several "
						 "unrelated words instead");
done:
	if (core) {
		kura_wipe(core, strlen(core));
		free(core);
	}
	if (pwq)
		pwquality_free_settings(pwq);
	return err;
}

static int set_options(pwquality_settings_t *pwq)
{
	static const char *const options[] = {
	    "minlen=12", "minclass=0", "dcredit=0",   "ucredit=0",
	    "lcredit=0", "ocredit=0",  "dictcheck=1",
	};

	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (pwquality_set_option(pwq, options[i]) != 0)
			return kura_error_set(KURA_ERROR,
					      "passphrase check: libpwquality refused option %s",
					      options[i]);
	return 0;
}

int kura_passphrase_check(const char *passphrase)
{
	pwquality_settings_t *pwq = NULL;
	void *aux = NULL;
	char reason[PWQ_MAX_ERROR_MESSAGE_LEN];
	int rc, err;

	if (!passphrase)
		return kura_error_set(KURA_EINVAL, "passphrase check: no passphrase given");
	if ((err = own_checks(passphrase)) < 0)
		return err;

	pthread_mutex_lock(&pwq_lock);
	if (!(pwq = pwquality_default_settings())) {
		err = kura_error_set(KURA_ENOMEM, "passphrase check: out of memory");
		goto done;
	}
	if ((err = set_options(pwq)) < 0)
		goto done;
	rc = pwquality_check(pwq, passphrase, NULL, NULL, &aux);
	if (rc >= 0) {
		/* rc is a 0..100 score; any is acceptable past the checks */
		err = core_check(passphrase);
		goto done;
	}

	switch (rc) {
	case PWQ_ERROR_CRACKLIB_CHECK:
		/*
		 * Without a dictionary cracklib fails every passphrase; the
		 * checks above are then all we have, so do not refuse here.
		 */
		if (aux && strstr((const char *)aux, "dictionary") &&
		    strstr((const char *)aux, "error"))
			goto done;
		err = kura_error_set(KURA_EWEAK, "passphrase refused: %s",
				     aux ? (const char *)aux : "it fails the dictionary check");
		break;
	case PWQ_ERROR_PALINDROME:
		err = kura_error_set(KURA_EWEAK, "passphrase refused: it is a palindrome");
		break;
	case PWQ_ERROR_MIN_LENGTH:
		err = kura_error_set(
		    KURA_EWEAK, "passphrase refused: it is shorter than %d characters", MIN_CHARS);
		break;
	case PWQ_ERROR_MEM_ALLOC:
		err = kura_error_set(KURA_ENOMEM, "passphrase check: out of memory");
		break;
	default:
		pwquality_strerror(reason, sizeof(reason), rc, aux);
		err = kura_error_set(KURA_EWEAK, "passphrase refused: %s", reason);
		break;
	}
done:
	if (pwq)
		pwquality_free_settings(pwq);
	pthread_mutex_unlock(&pwq_lock);
	return err;
}

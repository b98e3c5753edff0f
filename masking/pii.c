/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pii.c - detectors of personal data in free text (e-mail addresses, phone
 * numbers, payment cards, US SSNs, IBANs), for the "pii" masking method and
 * for `spotfs scan`.
 *
 * The scanner tries the detectors at each byte where a match may start (the
 * previous byte is not a letter or digit) and takes the first that matches,
 * in the order email, IBAN, card, SSN, phone. Every detector looks at a
 * bounded window, so a scan is linear in the text. The detectors work on
 * ASCII; other bytes (UTF-8 included) count as separators between words.
 * They err on the side of redacting: a 10..15 digit number written like a
 * phone number is redacted as one.
 */
#include "methods.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define PII_LOCAL_MAX 64 /* RFC 5321 limit of the local part */
#define PII_DOMAIN_MAX 253
#define PII_CARD_MIN 13
#define PII_CARD_MAX 19
#define PII_CARD_GROUP 3    /* shortest group of digits between separators */
#define PII_PHONE_MIN 10    /* E.164 without the country code is >= 10 */
#define PII_PHONE_MAX 15    /* E.164 maximum */
#define PII_PHONE_SEP_RUN 2 /* ") " between area code and number */
#define PII_IBAN_MIN 15	    /* Norway */
#define PII_IBAN_MAX 34

static bool pii_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool pii_upper(uint8_t c)
{
	return c >= 'A' && c <= 'Z';
}

static bool pii_alpha(uint8_t c)
{
	return pii_upper(c) || (c >= 'a' && c <= 'z');
}

static bool pii_alnum(uint8_t c)
{
	return pii_alpha(c) || pii_digit(c);
}

static bool pii_local_char(uint8_t c)
{
	return pii_alnum(c) || (c && strchr("._%+-", c));
}

/* True when the byte at i may end a match: end of text or not alnum. */
static bool pii_end_ok(const uint8_t *p, size_t len, size_t i)
{
	return i >= len || !pii_alnum(p[i]);
}

/* ---- email ---- */

/* Labels of letters, digits and '-', the last of >= 2 letters. */
static size_t pii_domain(const uint8_t *p, size_t len, size_t i)
{
	size_t k = i, end = 0, labels = 0;

	for (;;) {
		size_t s = k;
		bool tld = true;

		while (k < len && k - i < PII_DOMAIN_MAX &&
		       (pii_alnum(p[k]) || p[k] == '-')) {
			tld = tld && pii_alpha(p[k]);
			k++;
		}
		if (k == s || p[s] == '-' || p[k - 1] == '-')
			break;
		labels++;
		if (labels >= 2 && tld && k - s >= 2)
			end = k;
		if (k + 1 < len && p[k] == '.')
			k++;
		else
			break;
	}
	return end;
}

static size_t pii_email(const uint8_t *p, size_t len, size_t i)
{
	size_t k = i, end;

	if (i > 0 && pii_local_char(p[i - 1]))
		return 0;
	while (k < len && k - i <= PII_LOCAL_MAX && pii_local_char(p[k]))
		k++;
	if (k == i || k - i > PII_LOCAL_MAX || k >= len || p[k] != '@')
		return 0;
	end = pii_domain(p, len, k + 1);
	if (!end || !pii_end_ok(p, len, end))
		return 0;
	return end;
}

/* ---- card ---- */

static bool pii_luhn(const uint8_t *d, size_t n)
{
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned v = d[n - 1 - i];

		if (i % 2) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

/*
 * 13..19 digits in groups of at least three, single spaces or dashes between
 * the groups, Luhn-valid. The longest candidate that ends a group wins, so a
 * number that follows the card ("4111 1111 1111 1111 2024") does not hide it.
 */
static size_t pii_card(const uint8_t *p, size_t len, size_t i)
{
	uint8_t d[PII_CARD_MAX], glen[PII_CARD_MAX + 1] = { 0 };
	size_t ends[PII_CARD_MAX + 1];
	size_t k = i, n = 0, g = 0;

	while (k < len && n < PII_CARD_MAX) {
		if (pii_digit(p[k])) {
			d[n++] = (uint8_t)(p[k++] - '0');
			ends[n] = k;
			glen[n] = (uint8_t)++g;
		} else if ((p[k] == ' ' || p[k] == '-') &&
			   g >= PII_CARD_GROUP && k + 1 < len &&
			   pii_digit(p[k + 1])) {
			k++;
			g = 0;
		} else {
			break;
		}
	}
	for (; n >= PII_CARD_MIN; n--)
		if (glen[n] >= PII_CARD_GROUP && pii_end_ok(p, len, ends[n]) &&
		    pii_luhn(d, n))
			return ends[n];
	return 0;
}

/* ---- SSN ---- */

static bool pii_digits(const uint8_t *p, size_t n, unsigned *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!pii_digit(p[i]))
			return false;
		*v = *v * 10 + (unsigned)(p[i] - '0');
	}
	return true;
}

/* ddd-dd-dddd; areas 000, 666 and 900..999, group 00, serial 0000 excluded */
static size_t pii_ssn(const uint8_t *p, size_t len, size_t i)
{
	unsigned area, group, serial;

	if (len - i < 11 || p[i + 3] != '-' || p[i + 6] != '-')
		return 0;
	if (!pii_digits(p + i, 3, &area) || !pii_digits(p + i + 4, 2, &group) ||
	    !pii_digits(p + i + 7, 4, &serial))
		return 0;
	if (area == 0 || area == 666 || area >= 900 || group == 0 ||
	    serial == 0)
		return 0;
	if (!pii_end_ok(p, len, i + 11) ||
	    (i + 12 < len && p[i + 11] == '-' && pii_digit(p[i + 12])))
		return 0;
	return i + 11;
}

/* ---- phone ---- */

static bool pii_phone_sep(uint8_t c)
{
	return c == ' ' || c == '-' || c == '.';
}

/* '+' then 10..15 digits, separated by runs of at most two of " -.()". */
static size_t pii_e164(const uint8_t *p, size_t len, size_t i)
{
	size_t k = i + 1, n = 0, end = 0, seps = 0;

	if (k >= len || !(pii_digit(p[k]) || p[k] == '('))
		return 0;
	for (; k < len; k++) {
		if (pii_digit(p[k])) {
			if (++n > PII_PHONE_MAX)
				return 0;
			seps = 0;
			end = k + 1;
		} else if (pii_phone_sep(p[k]) || p[k] == '(' || p[k] == ')') {
			if (++seps > PII_PHONE_SEP_RUN)
				break;
		} else {
			break;
		}
	}
	if (n < PII_PHONE_MIN || !pii_end_ok(p, len, end))
		return 0;
	return end;
}

/* Exactly n digits at *k; advance past them. */
static bool pii_take_digits(const uint8_t *p, size_t len, size_t *k, size_t n)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (*k + j >= len || !pii_digit(p[*k + j]))
			return false;
	*k += n;
	return true;
}

/* An optional single separator at *k. */
static void pii_skip_sep(const uint8_t *p, size_t len, size_t *k)
{
	if (*k < len && pii_phone_sep(p[*k]))
		(*k)++;
}

/* NANP: (ddd) ddd-dddd, ddd-ddd-dddd, ddd.ddd.dddd, dddddddddd. */
static size_t pii_nanp_at(const uint8_t *p, size_t len, size_t k)
{
	if (k < len && p[k] == '(') {
		k++;
		if (!pii_take_digits(p, len, &k, 3) || k >= len || p[k] != ')')
			return 0;
		k++;
	} else if (!pii_take_digits(p, len, &k, 3)) {
		return 0;
	}
	pii_skip_sep(p, len, &k);
	if (!pii_take_digits(p, len, &k, 3))
		return 0;
	pii_skip_sep(p, len, &k);
	if (!pii_take_digits(p, len, &k, 4) || !pii_end_ok(p, len, k))
		return 0;
	return k;
}

static size_t pii_phone(const uint8_t *p, size_t len, size_t i)
{
	size_t end;

	if (p[i] == '+')
		return pii_e164(p, len, i);
	/* A leading country code "1 ", "1-" or "1.". */
	if (p[i] == '1' && i + 1 < len && pii_phone_sep(p[i + 1])) {
		end = pii_nanp_at(p, len, i + 2);
		if (end)
			return end;
	}
	return pii_nanp_at(p, len, i);
}

/* ---- IBAN ---- */

/* ISO 13616: move the first four characters to the end, mod 97 == 1. */
static bool pii_iban_ok(const uint8_t *c, size_t n)
{
	unsigned rem = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t ch = c[(i + 4) % n];

		if (pii_digit(ch))
			rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
		else
			rem = (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97;
	}
	return rem == 1;
}

/*
 * Two capital letters, two digits, then capitals and digits, optionally in
 * groups separated by single spaces; 15..34 characters in all. The longest
 * candidate that ends a word and passes mod-97 wins.
 */
static size_t pii_iban(const uint8_t *p, size_t len, size_t i)
{
	uint8_t c[PII_IBAN_MAX];
	size_t ends[PII_IBAN_MAX + 1];
	size_t k = i, n = 0;

	if (len - i < PII_IBAN_MIN || !pii_upper(p[i]) ||
	    !pii_upper(p[i + 1]) || !pii_digit(p[i + 2]) ||
	    !pii_digit(p[i + 3]))
		return 0;
	while (k < len && n < PII_IBAN_MAX) {
		if (pii_upper(p[k]) || pii_digit(p[k])) {
			c[n++] = p[k++];
			ends[n] = k;
		} else if (p[k] == ' ' && k + 1 < len &&
			   (pii_upper(p[k + 1]) || pii_digit(p[k + 1]))) {
			k++;
		} else {
			break;
		}
	}
	for (; n >= PII_IBAN_MIN; n--)
		if (pii_end_ok(p, len, ends[n]) && pii_iban_ok(c, n))
			return ends[n];
	return 0;
}

/* ---- scanner ---- */

/* The kind found at i (0 if none) and where its match ends. */
static unsigned pii_match(const uint8_t *p, size_t len, size_t i,
			  unsigned kinds, size_t *end)
{
	uint8_t c = p[i];

	if ((kinds & MSK_PII_EMAIL) && pii_local_char(c) &&
	    (*end = pii_email(p, len, i)))
		return MSK_PII_EMAIL;
	if (i > 0 && pii_alnum(p[i - 1]))
		return 0;
	if ((kinds & MSK_PII_IBAN) && pii_upper(c) &&
	    (*end = pii_iban(p, len, i)))
		return MSK_PII_IBAN;
	if (!pii_digit(c) && c != '+' && c != '(')
		return 0;
	if ((kinds & MSK_PII_CARD) && pii_digit(c) &&
	    (*end = pii_card(p, len, i)))
		return MSK_PII_CARD;
	if ((kinds & MSK_PII_SSN) && pii_digit(c) &&
	    (*end = pii_ssn(p, len, i)))
		return MSK_PII_SSN;
	if ((kinds & MSK_PII_PHONE) && (*end = pii_phone(p, len, i)))
		return MSK_PII_PHONE;
	return 0;
}

static const char *pii_tag(unsigned kind)
{
	switch (kind) {
	case MSK_PII_EMAIL:
		return "[EMAIL]";
	case MSK_PII_PHONE:
		return "[PHONE]";
	case MSK_PII_CARD:
		return "[CARD]";
	case MSK_PII_SSN:
		return "[SSN]";
	default:
		return "[IBAN]";
	}
}

/* Scan (p, len); with out, copy it there with matches replaced by tags. */
static int pii_scan(const uint8_t *p, size_t len, unsigned kinds,
		    struct spot_buf *out, unsigned *found)
{
	size_t i = 0, copied = 0, end = 0;
	unsigned k;
	int rc;

	while (i < len) {
		k = pii_match(p, len, i, kinds, &end);
		if (!k) {
			i++;
			continue;
		}
		*found |= k;
		if (out) {
			const char *tag = pii_tag(k);

			rc = spot_buf_append(out, p + copied, i - copied);
			if (!rc)
				rc = spot_buf_append(out, tag, strlen(tag));
			if (rc)
				return rc;
		} else if (*found == (kinds & MSK_PII_ALL)) {
			break; /* every kind asked for is found */
		}
		i = copied = end;
	}
	return out ? spot_buf_append(out, p + copied, len - copied) : 0;
}

unsigned msk_pii_detect(const uint8_t *p, size_t len)
{
	unsigned found = 0;

	pii_scan(p, len, MSK_PII_ALL, NULL, &found);
	return found;
}

int msk_pii_redact(const uint8_t *p, size_t len, unsigned kinds,
		   struct spot_buf *out)
{
	unsigned found = 0;
	size_t mark = out->len;
	int rc;

	rc = pii_scan(p, len, kinds, out, &found);
	if (rc) {
		out->len = mark;
		if (out->p)
			out->p[mark] = 0;
	}
	return rc;
}

const char *msk_pii_name(unsigned kind)
{
	switch (kind) {
	case MSK_PII_EMAIL:
		return "email";
	case MSK_PII_PHONE:
		return "phone";
	case MSK_PII_CARD:
		return "card";
	case MSK_PII_SSN:
		return "ssn";
	case MSK_PII_IBAN:
		return "iban";
	default:
		return "unknown";
	}
}

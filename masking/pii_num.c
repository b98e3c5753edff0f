/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pii_num.c - the PII detectors of numbers and addresses: payment cards,
 * US SSNs, phone numbers, IBANs, IPv4 and IPv6 addresses (pii_i.h); the
 * scanner and the e-mail and URL detectors are in pii.c.
 */
#include "pii_i.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define PII_CARD_MIN 13
#define PII_CARD_MAX 19
#define PII_CARD_GROUP 3    /* shortest group of digits between separators */
#define PII_PHONE_MIN 10    /* E.164 without the country code is >= 10 */
#define PII_PHONE_MAX 15    /* E.164 maximum */
#define PII_PHONE_SEP_RUN 2 /* ") " between area code and number */
#define PII_IBAN_MIN 15	    /* Norway */
#define PII_IBAN_MAX 34
#define PII_SSN_BEFORE 32 /* bytes before a bare 9-digit SSN to find "SSN" */
#define PII_SSN_AFTER 16  /* ... and after it */
#define PII_IPV6_MAX 45	  /* INET6_ADDRSTRLEN - 1 */
#define PII_VERSION_WORD 10

#define D (PII_C_DIGIT | PII_C_HEX | PII_C_START)
#define UH (PII_C_UPPER | PII_C_HEX | PII_C_START)
#define U (PII_C_UPPER | PII_C_START)
#define LH (PII_C_LOWER | PII_C_HEX | PII_C_START)
#define L (PII_C_LOWER | PII_C_START)
#define LOC (PII_C_LOCAL | PII_C_START)

const uint8_t pii_cls[256] = {
	['0' ... '9'] = D,
	['A' ... 'F'] = UH,
	['G' ... 'Z'] = U,
	['a' ... 'f'] = LH,
	['g' ... 'z'] = L,
	['.'] = LOC,
	['_'] = LOC,
	['%'] = LOC,
	['+'] = LOC,
	['-'] = LOC,
	['\''] = LOC, /* the rest of RFC 5322 atext */
	['='] = LOC,
	['/'] = LOC,
	['!'] = LOC,
	['#'] = LOC,
	['$'] = LOC,
	['&'] = LOC,
	['*'] = LOC,
	['?'] = LOC,
	['^'] = LOC,
	['`'] = LOC,
	['{'] = LOC,
	['|'] = LOC,
	['}'] = LOC,
	['~'] = LOC,
	['"'] = PII_C_START, /* a quoted local part */
	['('] = PII_C_START,
	[':'] = PII_C_START,
	[' '] = PII_C_SPACE,
	['\t'] = PII_C_SPACE,
	[0x80 ... 0xff] = PII_C_HIGH | PII_C_START,
};

#undef D
#undef UH
#undef U
#undef LH
#undef L
#undef LOC

size_t pii_u8len(const uint8_t *p, size_t len, size_t i)
{
	uint8_t c = p[i];
	size_t n, k;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (len - i < n)
		return 0;
	for (k = 1; k < n; k++)
		if ((p[i + k] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] >= 0xa0) ||
	    (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] >= 0x90))
		return 0;
	return n;
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
 * 13..19 digits in groups of at least three, single spaces, dashes or dots
 * between the groups, Luhn-valid. The longest candidate that ends a group wins, so a
 * number that follows the card ("4111 1111 1111 1111 2024") does not hide it.
 */
size_t pii_card(const uint8_t *p, size_t len, size_t i)
{
	uint8_t d[PII_CARD_MAX], glen[PII_CARD_MAX + 1] = { 0 };
	size_t ends[PII_CARD_MAX + 1];
	size_t k = i, n = 0, g = 0;

	while (k < len && n < PII_CARD_MAX) {
		if (pii_digit(p[k])) {
			d[n++] = (uint8_t)(p[k++] - '0');
			ends[n] = k;
			glen[n] = (uint8_t)++g;
		} else if ((p[k] == ' ' || p[k] == '-' || p[k] == '.') &&
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

/* Areas 000, 666 and 900..999, group 00 and serial 0000 are never issued. */
static bool pii_ssn_valid(unsigned area, unsigned group, unsigned serial)
{
	return area && area != 666 && area < 900 && group && serial;
}

/* Whether (p, n) says "SSN": ssn, social security, soc sec, ss#, ss no. */
static bool pii_ssn_word(const uint8_t *p, size_t n)
{
	static const char *const words[] = { "ssn",	"social security",
					     "soc sec", "soc. sec",
					     "ss#",	"ss #",
					     "ss no",	"ss-no" };
	char w[PII_SSN_BEFORE + 1];
	size_t i, k;

	for (i = 0; i < n && i < PII_SSN_BEFORE; i++)
		w[i] = (char)pii_lower(p[i]);
	n = i;
	for (k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		size_t wl = strlen(words[k]);

		for (i = 0; i + wl <= n; i++)
			if (!memcmp(w + i, words[k], wl) &&
			    (!i || !pii_alpha((uint8_t)w[i - 1])))
				return true;
	}
	return false;
}

/*
 * ddd-dd-dddd and ddd dd dddd (the grouping is the SSN's own), or nine
 * digits in a row when "SSN" (or "social security"...) is written up to 32
 * bytes before or 16 after: alone, nine digits are any number.
 */
size_t pii_ssn(const uint8_t *p, size_t len, size_t i)
{
	unsigned area, group, serial;
	uint8_t sep;
	size_t lo;

	if (len - i < 9 || !pii_digits(p + i, 3, &area))
		return 0;
	sep = p[i + 3];
	if (pii_digit(sep)) {
		if (!pii_digits(p + i + 3, 2, &group) ||
		    !pii_digits(p + i + 5, 4, &serial) ||
		    !pii_ssn_valid(area, group, serial) ||
		    !pii_end_ok(p, len, i + 9))
			return 0;
		lo = i > PII_SSN_BEFORE ? i - PII_SSN_BEFORE : 0;
		if (pii_ssn_word(p + lo, i - lo) ||
		    pii_ssn_word(p + i + 9, len - i - 9 < PII_SSN_AFTER
						    ? len - i - 9
						    : PII_SSN_AFTER))
			return i + 9;
		return 0;
	}
	if (len - i < 11 || (sep != '-' && sep != ' ') || p[i + 6] != sep)
		return 0;
	if (!pii_digits(p + i + 4, 2, &group) ||
	    !pii_digits(p + i + 7, 4, &serial) ||
	    !pii_ssn_valid(area, group, serial))
		return 0;
	if (!pii_end_ok(p, len, i + 11) ||
	    (sep == '-' && i + 12 < len && p[i + 11] == '-' &&
	     pii_digit(p[i + 12])))
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

size_t pii_phone(const uint8_t *p, size_t len, size_t i)
{
	size_t end;

	if (p[i] == '+')
		return pii_e164(p, len, i);
	/* "00" and a country code (not 0): the international prefix most of
	 * the world dials for '+'; not a group inside a longer number
	 * ("DE88 3704 0044 0532") */
	if (p[i] == '0' && len - i > 3 && p[i + 1] == '0' &&
	    !(i >= 2 && pii_phone_sep(p[i - 1]) && pii_digit(p[i - 2])) &&
	    pii_digit(p[i + 2]) && p[i + 2] != '0' &&
	    (end = pii_e164(p, len, i + 1)))
		return end;
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

static bool pii_lower_ch(uint8_t c)
{
	return pii_cls[c] & PII_C_LOWER;
}

/*
 * Whether (a, b), in lower case, is the country code of an IBAN: those of
 * the SWIFT IBAN registry and the IBAN-like numbers of other countries
 * (ad ae al ao at az ba be bf bg bh bi bj br by cf cg ch ci cm cr cv cy cz
 * de dj dk do dz ee eg es fi fk fo fr ga gb ge gi gl gq gr gt gw hn hr hu
 * ie il iq ir is it jo km kw kz lb lc li lt lu lv ly ma mc md me mg mk ml
 * mn mr mt mu mz ne ni nl no om pk pl ps pt qa ro rs ru sa sc sd se si sk
 * sm sn so st sv td tg tl tn tr ua va vg xk ye).
 * Asked only of IBANs in lower case, where a word like "ab12" is common:
 * bit b - 'a' of row a - 'a'.
 */
static bool pii_iban_country(uint8_t a, uint8_t b)
{
	static const uint32_t rows[26] = {
		0x2084818, 0x10203f1, 0x32211e0, 0x2004610, 0x0040050,
		0x0024500, 0x04b0913, 0x0122000, 0x00f0810, 0x0004000,
		0x2401000, 0x1380106, 0x21a2c5d, 0x0004910, 0x0001000,
		0x00c0c00, 0x0000001, 0x0144000, 0x028751d, 0x0022848,
		0x0000001, 0x0000041, 0x0000000, 0x0000400, 0x0000010,
		0x0000000
	};

	return a >= 'a' && a <= 'z' && b >= 'a' && b <= 'z' &&
	       (rows[a - 'a'] >> (b - 'a') & 1);
}

/*
 * Whether a lower-case IBAN may start at i: a country code, and a first
 * group of four ("de89 3704 ...") or fifteen characters and more in a row
 * ("de89370400440532013000"); words like "ab12c" are common in text.
 */
static bool pii_iban_lower(const uint8_t *p, size_t len, size_t i)
{
	size_t k = i + 4;

	if (!pii_iban_country(p[i], p[i + 1]))
		return false;
	if (k < len && (p[k] == ' ' || p[k] == '-'))
		return true;
	while (k < len && k - i < PII_IBAN_MIN && pii_alnum(p[k]))
		k++;
	return k - i >= PII_IBAN_MIN;
}

/*
 * Two letters of one case, two digits, then letters and digits, optionally
 * in groups separated by single spaces or dashes; 15..34 characters in
 * all. Read in capitals (IBANs are written in lower case too: then the
 * country code must be one). The longest candidate that ends a word and
 * passes mod-97 wins.
 */
size_t pii_iban(const uint8_t *p, size_t len, size_t i)
{
	uint8_t c[PII_IBAN_MAX];
	size_t ends[PII_IBAN_MAX + 1];
	size_t k = i, n = 0;

	if (len - i < PII_IBAN_MIN || !pii_alpha(p[i]) ||
	    pii_upper(p[i]) != pii_upper(p[i + 1]) || !pii_alpha(p[i + 1]) ||
	    !pii_digit(p[i + 2]) || !pii_digit(p[i + 3]) ||
	    (pii_lower_ch(p[i]) && !pii_iban_lower(p, len, i)))
		return 0;
	while (k < len && n < PII_IBAN_MAX) {
		if (pii_alnum(p[k])) {
			c[n++] = pii_lower_ch(p[k]) ? (uint8_t)(p[k] - 32)
						    : p[k];
			k++;
			ends[n] = k;
		} else if ((p[k] == ' ' || p[k] == '-') && k + 1 < len &&
			   pii_alnum(p[k + 1])) {
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

/* ---- IP addresses ---- */

/*
 * Whether a version number, not an address, starts at i: the word before
 * it (blanks, ':', '=', '.', '#' between) is version, ver, v, release,
 * rel, build, rev, firmware or fw.
 */
static bool pii_after_version(const uint8_t *p, size_t i)
{
	static const char *const words[] = { "version", "ver",	    "v",
					     "release", "rel",	    "build",
					     "rev",	"firmware", "fw" };
	char w[PII_VERSION_WORD];
	size_t k = i, n = 0;

	while (k && (p[k - 1] == ' ' || p[k - 1] == ':' || p[k - 1] == '=' ||
		     p[k - 1] == '.' || p[k - 1] == '#'))
		k--;
	while (k && pii_alpha(p[k - 1]) && n < PII_VERSION_WORD)
		k--, n++;
	if (!n || (k && pii_alpha(p[k - 1])))
		return false;
	for (size_t j = 0; j < n; j++)
		w[j] = (char)pii_lower(p[k + j]);
	for (size_t j = 0; j < sizeof(words) / sizeof(words[0]); j++)
		if (strlen(words[j]) == n && !memcmp(w, words[j], n))
			return true;
	return false;
}

/*
 * Four decimal parts of 0..255 (leading zeros allowed) joined by dots, not
 * part of a longer dotted number (1.2.3.4.5: a version or an OID) and not
 * after a version word.
 */
size_t pii_ipv4(const uint8_t *p, size_t len, size_t i)
{
	size_t k = i;

	if (i >= 2 && p[i - 1] == '.' && pii_digit(p[i - 2]))
		return 0;
	for (int part = 0; part < 4; part++) {
		unsigned v = 0, nd = 0;

		if (part && (k >= len || p[k++] != '.'))
			return 0;
		while (k < len && pii_digit(p[k]) && nd < 4)
			v = v * 10 + (unsigned)(p[k++] - '0'), nd++;
		if (!nd || nd > 3 || v > 255)
			return 0;
	}
	if (!pii_end_ok(p, len, k) ||
	    (k + 1 < len && p[k] == '.' && pii_digit(p[k + 1])))
		return 0;
	if (pii_after_version(p, i))
		return 0;
	return k;
}

static bool pii_ip6_char(uint8_t c)
{
	return (pii_cls[c] & PII_C_HEX) || c == ':' || c == '.';
}

/*
 * Hex groups and colons (an IPv4 tail allowed) that inet_pton reads as an
 * IPv6 address, with two or more non-empty groups ("::1" and "::" are not
 * about anyone); times (10:30:00) and MAC addresses do not parse.
 */
size_t pii_ipv6(const uint8_t *p, size_t len, size_t i)
{
	char buf[PII_IPV6_MAX + 1];
	struct in6_addr a;
	size_t k = i, n, groups = 0, colons = 0;
	bool in_group = false;

	if (i && (p[i - 1] == ':' || p[i - 1] == '.'))
		return 0;
	while (k < len && pii_ip6_char(p[k]) && k - i <= PII_IPV6_MAX)
		k++;
	if (k - i > PII_IPV6_MAX)
		return 0;
	while (k > i && p[k - 1] == '.')
		k--;
	if (k - i >= 2 && p[k - 1] == ':' && p[k - 2] != ':')
		k--;
	if (k - i < 3 || !pii_end_ok(p, len, k))
		return 0;
	n = k - i;
	for (size_t j = i; j < k; j++) {
		if (p[j] == ':') {
			colons++;
			in_group = false;
		} else if (!in_group) {
			in_group = true;
			groups++;
		}
	}
	if (colons < 2 || groups < 2)
		return 0;
	memcpy(buf, p + i, n);
	buf[n] = 0;
	return inet_pton(AF_INET6, buf, &a) == 1 ? k : 0;
}

size_t pii_ip_canon(const uint8_t *p, size_t n, char *buf, size_t cap)
{
	char tmp[PII_IPV6_MAX + 1];
	struct in6_addr a;
	unsigned v[4] = { 0 };
	size_t part = 0;
	int w;

	if (n > PII_IPV6_MAX || cap <= PII_IPV6_MAX)
		return 0;
	memcpy(tmp, p, n);
	tmp[n] = 0;
	if (memchr(p, ':', n)) {
		if (inet_pton(AF_INET6, tmp, &a) != 1 ||
		    !inet_ntop(AF_INET6, &a, buf, (socklen_t)cap))
			return 0;
		return strlen(buf);
	}
	for (size_t j = 0; j < n; j++) {
		if (p[j] == '.' && part < 3)
			part++;
		else if (pii_digit(p[j]) && v[part] < 1000)
			v[part] = v[part] * 10 + (unsigned)(p[j] - '0');
		else
			return 0;
	}
	w = snprintf(buf, cap, "%u.%u.%u.%u", v[0], v[1], v[2], v[3]);
	return w > 0 && (size_t)w < cap ? (size_t)w : 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pii_fold.c - the folded copy of a value the PII detectors read (pii_i.h):
 * escapes decoded, look-alike characters (fullwidth forms, Unicode spaces
 * and dashes, other scripts' digits) as their ASCII character, Latin-1
 * bytes as letters, with a map back to the source, so pii.c replaces whole
 * source characters and escapes, never part of one.
 */
#include "pii_i.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "methods_i.h"

#define PII_NO_CP UINT32_MAX
#define PII_FOLD_GROW 2	   /* folded bytes per source byte, at most */
#define PII_ND_FIRST 0x660 /* no decimal digit outside ASCII before it */

static int pii_hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The value of n hex digits at p, or -1. */
static long pii_hexn(const uint8_t *p, size_t n)
{
	long v = 0;

	for (size_t j = 0; j < n; j++) {
		int h = pii_hex(p[j]);

		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* The code point of the valid UTF-8 sequence of n (2-4) bytes at p. */
static uint32_t pii_cp(const uint8_t *p, size_t n)
{
	uint32_t cp = p[0] & (0x7Fu >> n);

	for (size_t j = 1; j < n; j++)
		cp = cp << 6 | (p[j] & 0x3Fu);
	return cp;
}

/* \uXXXX, or a surrogate pair \uD8xx\uDCxx: source bytes and *cp, or 0. */
static size_t pii_json_esc(const uint8_t *p, size_t len, size_t i, uint32_t *cp)
{
	long hi, lo;

	if (len - i < 6 || p[i + 1] != 'u' || (hi = pii_hexn(p + i + 2, 4)) < 0)
		return 0;
	if (hi < 0xD800 || hi > 0xDFFF) {
		*cp = (uint32_t)hi;
		return 6;
	}
	if (hi > 0xDBFF || len - i < 12 || p[i + 6] != '\\' ||
	    p[i + 7] != 'u' || (lo = pii_hexn(p + i + 8, 4)) < 0xDC00 ||
	    lo > 0xDFFF) {
		*cp = (uint32_t)hi; /* a lone surrogate: read as U+FFFD */
		return 6;
	}
	*cp = 0x10000 + ((uint32_t)(hi - 0xD800) << 10) +
	      (uint32_t)(lo - 0xDC00);
	return 12;
}

/*
 * %XX: an ASCII letter, digit, '@' or local-part character (one that
 * joins, never splits, what the detectors read), or the UTF-8 sequence
 * %XX%XX... of one character, or a Latin-1 byte. Source bytes and *cp, or
 * 0 (the '%' is read as itself).
 */
static size_t pii_pct(const uint8_t *p, size_t len, size_t i, uint32_t *cp)
{
	uint8_t b[4];
	size_t n, j;
	long v;

	if (len - i < 3 || (v = pii_hexn(p + i + 1, 2)) < 0)
		return 0;
	if (v < 0x80) {
		if (!(pii_cls[v] & (PII_C_ALNUM | PII_C_LOCAL)) && v != '@')
			return 0;
		*cp = (uint32_t)v;
		return 3;
	}
	n = v >= 0xf0 ? 4 : v >= 0xe0 ? 3 : 2;
	for (j = 0; j < n; j++) {
		long w;

		if (len - i < 3 * (j + 1) || p[i + 3 * j] != '%' ||
		    (w = pii_hexn(p + i + 3 * j + 1, 2)) < 0)
			break;
		b[j] = (uint8_t)w;
	}
	if (j == n && pii_u8len(b, n, 0) == n) {
		*cp = pii_cp(b, n);
		return 3 * n;
	}
	*cp = (uint32_t)v; /* Latin-1 */
	return 3;
}

/*
 * An HTML character reference at i ("&#64;", "&#x40;", "&commat;"): its
 * source bytes and *cp, or 0 (the '&' is read as itself). As for %XX, an
 * ASCII result must be one that joins what the detectors read.
 */
static size_t pii_html(const uint8_t *p, size_t len, size_t i, uint32_t *cp)
{
	static const struct {
		const char *name;
		uint32_t cp;
	} named[] = {
		{ "commat", '@' }, { "period", '.' }, { "plus", '+' },
		{ "hyphen", '-' }, { "dash", '-' },   { "lowbar", '_' },
		{ "num", '#' },	   { "dollar", '$' },
	};
	size_t j = i + 1, end = len - i > 12 ? i + 12 : len;
	uint32_t v = 0;

	if (j < end && p[j] == '#') {
		bool hex = ++j < end && (p[j] == 'x' || p[j] == 'X');
		size_t d = 0;

		j += hex;
		for (; j < end && d < 7; j++, d++) {
			int h = hex ? pii_hex(p[j])
				    : (p[j] >= '0' && p[j] <= '9' ? p[j] - '0'
								  : -1);

			if (h < 0)
				break;
			v = v * (hex ? 16 : 10) + (uint32_t)h;
		}
		if (!d || j >= end || p[j] != ';' || !v || v > 0x10ffff ||
		    (v >= 0xd800 && v <= 0xdfff))
			return 0;
	} else {
		size_t k;

		for (k = 0; k < SPOT_ARRAY_SIZE(named); k++) {
			size_t n = strlen(named[k].name);

			if (len - j > n && !memcmp(p + j, named[k].name, n) &&
			    p[j + n] == ';')
				break;
		}
		if (k == SPOT_ARRAY_SIZE(named))
			return 0;
		v = named[k].cp;
		j += strlen(named[k].name);
	}
	if (v < 0x80 && !(pii_cls[v] & (PII_C_ALNUM | PII_C_LOCAL)) &&
	    v != '@' && v != '.')
		return 0;
	*cp = v;
	return j + 1 - i;
}

/* One source character at i: its code point and its source bytes. */
static size_t pii_next(const uint8_t *p, size_t len, size_t i, uint32_t *cp)
{
	uint8_t c = p[i];
	size_t n;

	if (c == '\\' && (n = pii_json_esc(p, len, i, cp)))
		return n;
	if (c == '%' && (n = pii_pct(p, len, i, cp)))
		return n;
	if (c == '&' && (n = pii_html(p, len, i, cp)))
		return n;
	if (c >= 0x80 && (n = pii_u8len(p, len, i))) {
		*cp = pii_cp(p + i, n);
		return n;
	}
	*cp = c; /* ASCII, or a byte that is not UTF-8: Latin-1 */
	return 1;
}

/* What cp reads as, in ASCII: a byte, 0 for nothing, PII_NO_CP when it
 * reads as itself. */
static uint32_t pii_ascii(uint32_t cp)
{
	uint8_t d;

	if (cp < 0x80)
		return cp;
	if (cp >= 0xFF01 && cp <= 0xFF5E)
		return cp - 0xFF01 + 0x21; /* fullwidth */
	switch (cp) {
	case 0xA0:
	case 0x1680:
	case 0x2000 ... 0x200A:
	case 0x2028:
	case 0x2029:
	case 0x202F:
	case 0x205F:
	case 0x3000:
		return ' ';
	case 0x2010 ... 0x2015:
	case 0x2212:
	case 0xFE58:
	case 0xFE63:
		return '-';
	case 0x3002:
	case 0xFF61:
		return '.';
	case 0xFE6B:
		return '@';
	case 0xAD:
	case 0x180E:
	case 0x200B ... 0x200D:
	case 0x2060:
	case 0xFEFF:
		return 0; /* invisible: soft hyphen, zero-width */
	default:
		break;
	}
	d = cp >= PII_ND_FIRST ? msk_nd_digit(cp) : 0;
	return d ? d : PII_NO_CP;
}

/* cp as UTF-8 at o (cp >= 0x80, <= 0x10FFFF). */
static size_t pii_put_u8(uint32_t cp, uint8_t *o)
{
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xC0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xE0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (uint8_t)(0xF0 | cp >> 18);
	o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

/* The folded bytes of the character cp at o (at most 4; a surrogate or a
 * Latin-1 byte that is no character reads as U+FFFD). */
static size_t pii_emit(uint32_t cp, uint8_t *o)
{
	uint32_t a = pii_ascii(cp);

	if (a == 0)
		return 0;
	if (a != PII_NO_CP) {
		o[0] = (uint8_t)a;
		return 1;
	}
	if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		cp = 0xFFFD;
	return pii_put_u8(cp, o);
}

/*
 * Whether folding changes (src, len) from byte i on: an escape, a byte that
 * is not UTF-8 or a character that reads as another. Most text outside
 * ASCII (accented letters, other scripts) does not: it is read in place.
 */
static bool pii_fold_changes(const uint8_t *src, size_t len, size_t i)
{
	uint32_t cp;
	size_t n;

	while (i < len) {
		uint8_t c = src[i];

		if (c < 0x80 && c != '%' && c != '\\' && c != '&') {
			i++;
			continue;
		}
		n = pii_next(src, len, i, &cp);
		if (c < 0x80 ? n > 1 : n == 1 || pii_ascii(cp) != PII_NO_CP)
			return true; /* an escape, Latin-1, a look-alike */
		i += n;
	}
	return false;
}

int pii_fold(const uint8_t *src, size_t len, struct pii_text *t)
{
	uint8_t *buf;
	size_t *map, i = 0, o = 0;

	t->p = src;
	t->len = len;
	t->buf = NULL;
	t->map = NULL;
	if (!pii_fold_changes(src, len, 0))
		return 0;
	if (len > (SIZE_MAX - 1) / (PII_FOLD_GROW * sizeof(size_t)))
		return -ENOMEM;
	buf = malloc(PII_FOLD_GROW * len + 1);
	map = malloc((PII_FOLD_GROW * len + 1) * sizeof(*map));
	if (!buf || !map) {
		free(buf);
		free(map);
		return -ENOMEM;
	}
	while (i < len) {
		uint32_t cp;
		size_t n, w;

		if (src[i] < 0x80 && src[i] != '%' && src[i] != '\\' &&
		    src[i] != '&') {
			map[o] = i;
			buf[o++] = src[i++];
			continue;
		}
		/* Each source byte folds to at most two bytes: a Latin-1 byte
		 * to two, %XX to at most two, \uXXXX to at most three. */
		n = pii_next(src, len, i, &cp);
		w = pii_emit(cp, buf + o);
		for (size_t j = 0; j < w; j++)
			map[o + j] = i;
		o += w;
		i += n;
	}
	map[o] = len;
	t->p = buf;
	t->len = o;
	t->buf = buf;
	t->map = map;
	return 0;
}

void pii_text_fini(struct pii_text *t)
{
	if (t->buf) {
		sodium_memzero(t->buf, t->len);
		free(t->buf);
		free(t->map);
	}
	t->buf = NULL;
	t->map = NULL;
}

void pii_text_span(const struct pii_text *t, size_t a, size_t b, size_t *s,
		   size_t *e)
{
	const size_t *m = t->map;
	size_t j = b;

	if (!m) {
		*s = a;
		*e = b;
		return;
	}
	/* the end of the source character of folded byte b - 1: the next
	 * folded byte from a later character (or the source's end) */
	while (j < t->len && b > a && m[j] == m[b - 1])
		j++;
	*s = m[a];
	*e = b > a ? m[j] : m[a];
}

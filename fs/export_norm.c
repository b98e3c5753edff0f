/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * export_norm.c - the normal form of a value for the export review's keyed
 * sets (xrec_norm, export_set.h): the same at record and at review time,
 * so that spacing, case and the Unicode form a tool happened to write do
 * not hide a raw value.
 *
 *   - every run of white space (ASCII, U+0085, no-break and typographic
 *     spaces U+00A0, U+1680, U+2000-U+200A, U+2028-U+2029, U+202F,
 *     U+205F, U+3000) becomes one ASCII space; runs at both ends go;
 *   - invisible code points go: byte order marks and zero-width
 *     characters (U+FEFF, U+200B-U+200D, U+2060) and the soft hyphen;
 *   - a Latin, Greek or Cyrillic letter followed by a combining mark
 *     (U+0300-U+036F) is composed when Unicode has the composed letter
 *     (NFD -> NFC for these scripts; repeatedly, so two marks work);
 *   - letters are case-folded one to one: ASCII, Latin-1, Latin
 *     Extended-A and -B, IPA, Greek, Cyrillic and Latin Extended
 *     Additional (Unicode's simple folding; no ß -> ss).
 * Bytes that are not UTF-8 pass through as they are.
 *
 * The tables were generated from Python's unicodedata (Unicode 14.0):
 * casefold(), else lower(), where the result is one code point; and every
 * canonical decomposition into a letter and one mark of U+0300-U+036F
 * whose NFC is the composed letter. No library is linked for this.
 */
#include "export_set.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "export_norm_tab.h"

/* ASCII white space: tab, LF, VT, FF, CR, space. */
static bool xn_ascii_space(uint8_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Decode one code point at p (len > 0, p[0] >= 0x80): its length, 0 if
 * it is not UTF-8 (the byte then passes as it is). */
static size_t xn_decode(const uint8_t *p, size_t len, uint32_t *cp)
{
	uint32_t c = p[0];
	size_t n;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, c &= 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

size_t xrec_utf8_len(const uint8_t *p, size_t len, uint32_t *cp)
{
	return len && p[0] >= 0x80 ? xn_decode(p, len, cp) : 0;
}

static size_t xn_encode(uint32_t c, uint8_t *o)
{
	if (c < 0x80) {
		o[0] = (uint8_t)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (uint8_t)(0xc0 | c >> 6);
		o[1] = (uint8_t)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (uint8_t)(0xe0 | c >> 12);
		o[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
		o[2] = (uint8_t)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | c >> 18);
	o[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
	o[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
	o[3] = (uint8_t)(0x80 | (c & 0x3f));
	return 4;
}

static bool xn_space(uint32_t c)
{
	return c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202f || c == 0x205f || c == 0x3000;
}

static bool xn_invisible(uint32_t c)
{
	return c == 0xad || (c >= 0x200b && c <= 0x200d) || c == 0x2060 ||
	       c == 0xfeff;
}

static uint32_t xn_fold(uint32_t c)
{
	uint32_t f = 0;

	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if (c >= 0x00c0 && c < 0x0530)
		f = xn_fold_lat[c - 0x00c0];
	else if (c >= 0x1e00 && c < 0x1f00)
		f = xn_fold_ext[c - 0x1e00];
	return f ? f : c;
}

/* The composition of base and mark (U+0300-U+036F), or 0. */
static uint32_t xn_compose(uint32_t base, uint32_t mark)
{
	uint64_t key = (uint64_t)base << 8 | (mark - 0x300);
	size_t lo = 0, hi = SPOT_ARRAY_SIZE(xn_comp);

	if (base > 0xffff)
		return 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint64_t k = xn_comp[mid] >> 16;

		if (k == key)
			return (uint32_t)(xn_comp[mid] & 0xffff);
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The code point ending at out[o - 1] and where it starts; 0 if none. */
static uint32_t xn_last(const uint8_t *out, size_t o, size_t *at)
{
	size_t s = o;
	uint32_t c;

	while (s > 0 && o - s < 4 && (out[s - 1] & 0xc0) == 0x80)
		s--;
	if (!s)
		return 0;
	s--;
	if (out[s] < 0x80) {
		*at = s;
		return s == o - 1 ? out[s] : 0;
	}
	if (xn_decode(out + s, o - s, &c) != o - s)
		return 0;
	*at = s;
	return c;
}

size_t xrec_norm(const uint8_t *p, size_t len, uint8_t *out, size_t cap)
{
	size_t o = 0, i = 0;
	bool sp = false; /* white space seen since the last output */

	/* Most values: ASCII, no white space inside. Trimmed, they cannot
	 * outgrow len, so no bound is checked until anything else comes. */
	while (len && xn_ascii_space(*p))
		p++, len--;
	while (len && xn_ascii_space(p[len - 1]))
		len--;
	if (len <= cap)
		for (; i < len && p[i] > ' ' && p[i] < 0x80; i++)
			out[o++] =
				(uint8_t)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32
								     : p[i]);
	for (; i < len; i++) {
		uint8_t c = p[i], enc[4];
		uint32_t cp;
		size_t n, k, at;

		if (c < 0x80) {
			if (xn_ascii_space(c)) {
				sp = o > 0;
				continue;
			}
			if (o + sp >= cap)
				return (size_t)-1;
			if (sp)
				out[o++] = ' ', sp = false;
			out[o++] = (uint8_t)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			continue;
		}
		n = xn_decode(p + i, len - i, &cp);
		if (!n) { /* not UTF-8: the byte as it is */
			if (o + sp >= cap)
				return (size_t)-1;
			if (sp)
				out[o++] = ' ', sp = false;
			out[o++] = c;
			continue;
		}
		i += n - 1;
		if (xn_space(cp)) {
			sp = o > 0;
			continue;
		}
		if (xn_invisible(cp))
			continue;
		if (cp >= 0x300 && cp <= 0x36f && !sp && o) {
			uint32_t base = xn_last(out, o, &at), comp;

			comp = base ? xn_compose(base, cp) : 0;
			if (comp) {
				o = at; /* the base is rewritten composed */
				cp = comp;
			}
		}
		k = xn_encode(xn_fold(cp), enc);
		if (o + sp + k > cap)
			return (size_t)-1;
		if (sp)
			out[o++] = ' ', sp = false;
		for (size_t j = 0; j < k; j++)
			out[o++] = enc[j];
	}
	return o;
}

/* ---- JSON text ---- */

static int xn_hex4(const uint8_t *p, size_t len, uint32_t *v)
{
	*v = 0;
	if (len < 4)
		return -1;
	for (size_t i = 0; i < 4; i++) {
		uint8_t c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*v |= (c | 0x20) - 'a' + 10;
		else
			return -1;
	}
	return 0;
}

/*
 * The escape at p[0] == '\\' decoded into enc: its length in p (0: not an
 * escape, the backslash stays) and *k bytes in enc.
 */
static size_t xn_json_escape(const uint8_t *p, size_t len, uint8_t *enc,
			     size_t *k)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	uint32_t u, lo;
	const char *e;

	if (len < 2)
		return 0;
	if (p[1] != 'u') {
		e = p[1] ? strchr(from, p[1]) : NULL;
		if (!e)
			return 0;
		enc[0] = (uint8_t)to[e - from];
		*k = 1;
		return 2;
	}
	if (xn_hex4(p + 2, len - 2, &u))
		return 0;
	if (u >= 0xd800 && u <= 0xdbff && len >= 12 && p[6] == '\\' &&
	    p[7] == 'u' && !xn_hex4(p + 8, len - 8, &lo) && lo >= 0xdc00 &&
	    lo <= 0xdfff) {
		*k = xn_encode(0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00),
			       enc);
		return 12;
	}
	if (u >= 0xd800 && u <= 0xdfff)
		return 0; /* a lone surrogate: left as written */
	*k = xn_encode(u, enc);
	return 6;
}

int xrec_json_unescape(const uint8_t *p, size_t len, struct spot_buf *out)
{
	size_t i = 0;

	spot_buf_reset(out);
	while (i < len) {
		const uint8_t *q = memchr(p + i, '\\', len - i);
		size_t e = q ? (size_t)(q - p) : len, n, k = 0;
		uint8_t enc[4];

		if (spot_buf_append(out, p + i, e - i))
			return -ENOMEM;
		i = e;
		if (i == len)
			break;
		n = xn_json_escape(p + i, len - i, enc, &k);
		if (!n) {
			if (spot_buf_putc(out, '\\'))
				return -ENOMEM;
			i++;
			continue;
		}
		if (spot_buf_append(out, enc, k))
			return -ENOMEM;
		i += n;
	}
	return 0;
}

/*
 * A JSON string at p[0] == '"': decoded into buf (at most cap bytes kept),
 * *blen set; returns the bytes it spans, the closing quote included (all
 * of len when it is not closed).
 */
static size_t xn_json_string(const uint8_t *p, size_t len, uint8_t *buf,
			     size_t cap, size_t *blen)
{
	size_t i = 1, o = 0;

	while (i < len && p[i] != '"') {
		uint8_t enc[4];
		size_t n = 0, k = 1;

		if (p[i] == '\\')
			n = xn_json_escape(p + i, len - i, enc, &k);
		if (!n) {
			enc[0] = p[i];
			n = p[i] == '\\' && i + 1 < len ? 2 : 1;
			k = 1;
			if (n == 2)
				enc[0] = p[i + 1];
		}
		for (size_t j = 0; j < k && o < cap; j++)
			buf[o++] = enc[j];
		i += n;
	}
	*blen = o;
	return i < len ? i + 1 : len;
}

static bool xn_json_delim(uint8_t c)
{
	return c == ',' || c == '}' || c == ']' || c == ':' || c == '"' ||
	       c == '{' || c == '[' || xn_ascii_space(c);
}

ssize_t xrec_json_cells(const struct xrec *r, const uint8_t *p, size_t len,
			uint64_t *cells, size_t cap, uint64_t *fp)
{
	uint8_t buf[2 * XREC_VAL_MAX];
	size_t i = 0, n = 0;

	*fp = 0;
	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		i = 3;
	while (i < len && xn_ascii_space(p[i]))
		i++;
	if (i == len || (p[i] != '{' && p[i] != '['))
		return -1;
	while (i < len) {
		uint8_t c = p[i];
		size_t s = i, blen = 0, j;
		uint64_t h;

		if (c == '{' || c == '}' || c == '[' || c == ']' || c == ',' ||
		    c == ':' || xn_ascii_space(c)) {
			i++;
			continue;
		}
		if (c == '"') {
			i += xn_json_string(p + i, len - i, buf, sizeof(buf),
					    &blen);
			for (j = i; j < len && xn_ascii_space(p[j]); j++)
				;
			if (j < len && p[j] == ':')
				continue; /* a key: not a value */
			h = xrec_cell_hash(r, buf, blen);
		} else {
			while (i < len && !xn_json_delim(p[i]))
				i++;
			/* null is the empty cell a CSV of it holds */
			if (i - s == 4 && !memcmp(p + s, "null", 4))
				h = xrec_cell_hash(r, NULL, 0);
			else
				h = xrec_cell_hash(r, p + s, i - s);
		}
		if (n < cap)
			cells[n] = h;
		*fp = xrec_row_add(*fp, h);
		n++;
	}
	return (ssize_t)n;
}

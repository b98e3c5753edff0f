/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * detect.c - column detectors for `spotfs scan`: by sampled values, and
 * the rule a starter config proposes (names: detect_name.c).
 */
#include "detect_i.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define DET_IPV6_MAX 45
#define DET_TEXT_WORDS 3 /* free text: at least this many words */
#define DET_TEXT_LEN 20	 /* and this many bytes */

/* ---- values ---- */

static bool det_alpha(uint8_t c)
{
	return det_lower((char)c) || det_upper((char)c);
}

static bool det_ipv4(const uint8_t *p, size_t len)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0, nd = 0;

		if (part && (i >= len || p[i++] != '.'))
			return false;
		while (i < len && det_digit(p[i]) && nd < 4)
			v = v * 10 + (unsigned)(p[i++] - '0'), nd++;
		if (!nd || nd > 3 || v > 255)
			return false;
	}
	return i == len;
}

static bool det_ipv6(const uint8_t *p, size_t len)
{
	char buf[DET_IPV6_MAX + 1];
	struct in6_addr a;
	size_t colons = 0;

	if (len < 2 || len > DET_IPV6_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == ':')
			colons++;
		else if (!det_digit(p[i]) && !strchr("abcdefABCDEF.", p[i]))
			return false;
	}
	if (colons < 2)
		return false;
	memcpy(buf, p, len);
	buf[len] = 0;
	return inet_pton(AF_INET6, buf, &a) == 1;
}

static bool det_prefix_ci(const uint8_t *p, size_t len, const char *pre)
{
	size_t n = strlen(pre);

	if (len < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = det_upper((char)p[i]) ? (uint8_t)(p[i] + 32) : p[i];

		if (c != (uint8_t)pre[i])
			return false;
	}
	return true;
}

static bool det_url(const uint8_t *p, size_t len)
{
	static const char *const pre[] = { "http://", "https://", "ftp://",
					   "www." };

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(pre); i++)
		if (det_prefix_ci(p, len, pre[i]) && len > strlen(pre[i]) + 2)
			return !memchr(p, ' ', len);
	return false;
}

/* n digits at p[*i] as a number; advances *i. */
static bool det_num(const uint8_t *p, size_t len, size_t *i, size_t n,
		    unsigned *v)
{
	*v = 0;
	if (*i + n > len)
		return false;
	for (size_t k = 0; k < n; k++) {
		if (!det_digit(p[*i + k]))
			return false;
		*v = *v * 10 + (unsigned)(p[*i + k] - '0');
	}
	*i += n;
	return true;
}

static bool det_ymd_ok(unsigned y, unsigned m, unsigned d)
{
	return y >= 1000 && y <= 2999 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* A date alone or followed by a time: YYYY-MM-DD, DD.MM.YYYY, M/D/YYYY. */
static bool det_date(const uint8_t *p, size_t len)
{
	unsigned y, m, d;
	size_t i = 0;
	uint8_t sep;

	if (det_num(p, len, &i, 4, &y)) {
		if (i >= len || !strchr("-/.", p[i]))
			return false;
		sep = p[i++];
		if (!det_num(p, len, &i, 2, &m) || i >= len || p[i++] != sep ||
		    !det_num(p, len, &i, 2, &d) || !det_ymd_ok(y, m, d))
			return false;
	} else {
		unsigned a, b;

		i = 0;
		if (!det_num(p, len, &i, 2, &a) &&
		    (i = 0, !det_num(p, len, &i, 1, &a)))
			return false;
		if (i >= len || !strchr("-/.", p[i]))
			return false;
		sep = p[i++];
		if (!det_num(p, len, &i, 2, &b) && !det_num(p, len, &i, 1, &b))
			return false;
		if (i >= len || p[i++] != sep || !det_num(p, len, &i, 4, &y))
			return false;
		/* Day first (Europe) or month first (US): either will do. */
		if (!det_ymd_ok(y, b, a) && !det_ymd_ok(y, a, b))
			return false;
	}
	if (i == len)
		return true;
	return (p[i] == 'T' || p[i] == ' ') && i + 1 < len &&
	       det_digit(p[i + 1]);
}

/* UK ("SW1A 1AA"), Canadian ("K1A 0B1") and Dutch ("1012 AB") codes. */
static bool det_postcode(const uint8_t *p, size_t len)
{
	char s[16];
	size_t n = 0;

	if (len > 10)
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ')
			s[n++] = det_lower((char)p[i]) ? (char)(p[i] - 32)
						       : (char)p[i];
	s[n] = 0;
	/* Canada: A9A9A9. */
	if (n == 6 && det_upper(s[0]) && det_digit((uint8_t)s[1]) &&
	    det_upper(s[2]) && det_digit((uint8_t)s[3]) && det_upper(s[4]) &&
	    det_digit((uint8_t)s[5]))
		return true;
	/* Netherlands: 9999AA, first digit not 0. */
	if (n == 6 && s[0] >= '1' && s[0] <= '9' && det_digit((uint8_t)s[1]) &&
	    det_digit((uint8_t)s[2]) && det_digit((uint8_t)s[3]) &&
	    det_upper(s[4]) && det_upper(s[5]))
		return true;
	/* UK: outward A9, A99, AA9, AA99, A9A, AA9A; inward 9AA. */
	if (n >= 5 && n <= 7 && det_digit((uint8_t)s[n - 3]) &&
	    det_upper(s[n - 2]) && det_upper(s[n - 1]) && det_upper(s[0])) {
		size_t k = det_upper(s[1]) ? 2 : 1;

		if (!det_digit((uint8_t)s[k]))
			return false;
		k++;
		if (k < n - 3 && (det_digit((uint8_t)s[k]) || det_upper(s[k])))
			k++;
		return k == n - 3 && memchr(p, ' ', len);
	}
	return false;
}

static bool det_number(const uint8_t *p, size_t len)
{
	size_t i = 0, digits = 0;

	if (i < len && (p[i] == '-' || p[i] == '+'))
		i++;
	for (; i < len && det_digit(p[i]); i++)
		digits++;
	if (i < len && p[i] == '.')
		for (i++; i < len && det_digit(p[i]); i++)
			digits++;
	if (digits && i < len && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < len && (p[i] == '-' || p[i] == '+'))
			i++;
		if (i >= len || !det_digit(p[i]))
			return false;
		while (i < len && det_digit(p[i]))
			i++;
	}
	return digits && i == len;
}

static bool det_text(const uint8_t *p, size_t len)
{
	size_t words = 0;
	bool in = false;

	if (len < DET_TEXT_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		bool w = p[i] > ' ';

		if (w && !in)
			words++;
		in = w;
	}
	return words >= DET_TEXT_WORDS;
}

unsigned det_value(const uint8_t *p, size_t len)
{
	unsigned bits = msk_pii_detect(p, len);

	while (len && (p[0] == ' ' || p[0] == '\t'))
		p++, len--;
	while (len &&
	       (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
		len--;
	if (!len)
		return bits;
	if (det_ipv4(p, len))
		bits |= DET_V_IPV4;
	else if (det_ipv6(p, len))
		bits |= DET_V_IPV6;
	else if (det_url(p, len))
		bits |= DET_V_URL;
	else if (det_date(p, len))
		bits |= DET_V_DATE;
	else if (det_number(p, len))
		bits |= DET_V_NUMBER;
	else if (det_alpha(p[0]) || det_digit(p[0]))
		bits |= det_postcode(p, len) ? DET_V_POSTCODE : 0;
	if (det_text(p, len))
		bits |= DET_V_TEXT;
	return bits;
}

bool det_name_is_value(const char *name, size_t len)
{
	const uint8_t *p = (const uint8_t *)name;
	unsigned bits = det_value(p, len);
	size_t digits = 0;

	if (bits & (DET_V_PII | DET_V_IPV4 | DET_V_IPV6 | DET_V_URL |
		    DET_V_DATE | DET_V_POSTCODE))
		return true;
	if (!(bits & DET_V_NUMBER))
		return false;
	/* A year ("2024") or a small count names a column; an amount, a
	 * signed or decimal number or a long code does not. */
	for (size_t i = 0; i < len; i++) {
		if (det_digit(p[i]))
			digits++;
		else if (p[i] != ' ' && p[i] != '\t')
			return true;
	}
	return digits > 4;
}

const char *det_value_name(unsigned bit)
{
	switch (bit) {
	case DET_V_EMAIL:
		return "e-mail addresses";
	case DET_V_PHONE:
		return "phone numbers";
	case DET_V_CARD:
		return "card numbers";
	case DET_V_SSN:
		return "SSNs";
	case DET_V_IBAN:
		return "IBANs";
	case DET_V_IPV4:
		return "IPv4 addresses";
	case DET_V_IPV6:
		return "IPv6 addresses";
	case DET_V_URL:
		return "URLs";
	case DET_V_DATE:
		return "dates";
	case DET_V_POSTCODE:
		return "postcodes";
	case DET_V_NUMBER:
		return "numbers";
	case DET_V_TEXT:
		return "free text";
	default:
		return "unknown";
	}
}

/* Whether generalize (to) accepts the cell: it fails the read if not. */
static bool det_try(enum msk_gen_to to, const struct pipe_cell *cell)
{
	struct msk_rule r;
	struct spot_buf out;
	enum pipe_type t;
	int rc;

	msk_rule_init(&r, MSK_GENERALIZE);
	r.gen_to = to;
	spot_buf_init(&out);
	rc = msk_apply(&r, NULL, NULL, cell->p, cell->len,
		       (enum pipe_type)cell->type, &out, &t);
	spot_buf_fini(&out);
	msk_rule_fini(&r);
	return rc == 0;
}

/* Whether (p, len) is UTF-8 text: valid, no NUL, no other C0 control
 * but tab and line breaks (what a text column would hold). */
static bool det_utf8_text(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = p[i] < 0x80	       ? 1
			   : (p[i] >> 5) == 6  ? 2
			   : (p[i] >> 4) == 14 ? 3
			   : (p[i] >> 3) == 30 ? 4
					       : 0;

		if (!n || i + n > len)
			return false;
		if (n == 1 && p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' &&
		    p[i] != '\r')
			return false;
		for (size_t k = 1; k < n; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		if ((n == 2 && p[i] < 0xc2) ||
		    (n == 3 && p[i] == 0xe0 && p[i + 1] < 0xa0) ||
		    (n == 3 && p[i] == 0xed && p[i + 1] >= 0xa0) ||
		    (n == 4 && p[i] == 0xf0 && p[i + 1] < 0x90) ||
		    (n == 4 &&
		     (p[i] > 0xf4 || (p[i] == 0xf4 && p[i + 1] >= 0x90))))
			return false;
		i += n;
	}
	return true;
}

void det_col_add(struct det_col *c, const struct pipe_cell *cell)
{
	unsigned bits;

	c->seen++;
	if (cell->type == PIPE_NULL || !cell->len)
		return;
	c->values++;
	if (cell->type == PIPE_BLOB) {
		c->blobs++;
		if (!det_utf8_text(cell->p, cell->len))
			c->opaque++;
	}
	c->len_sum += cell->len;
	bits = det_value(cell->p, cell->len);
	for (unsigned i = 0; i < DET_V_COUNT; i++)
		if (bits & (1u << i))
			c->bits[i]++;
	if (bits & DET_V_PII)
		c->pii_any++;
	if (det_try(MSK_GEN_YEAR, cell))
		c->year_ok++;
	if ((bits & DET_V_NUMBER) && det_try(MSK_GEN_RANGE, cell))
		c->range_ok++;
}

/* ---- the proposed rule ---- */

static unsigned det_pct(uint64_t n, uint64_t of)
{
	return of ? (unsigned)(n * 100 / of) : 0;
}

/* Append a and b (either may be "") to the reason, cut to fit. */
static void det_why_add(struct det_rule *r, const char *a, const char *b)
{
	size_t off = strlen(r->why);

	if (off < sizeof(r->why))
		snprintf(r->why + off, sizeof(r->why) - off, "%s%s", a, b);
}

/* "values: 98% of 1000 sampled look like e-mail addresses, 3% like ..." */
static void det_why_values(const struct det_col *c, struct det_rule *r)
{
	char part[96];
	bool any = false;

	if (!c->values) {
		det_why_add(r, r->why[0] ? "; " : "",
			    c->seen ? "no value in the sample (all empty)"
				    : "no row to sample");
		return;
	}
	snprintf(part, sizeof(part), "values: %llu sampled",
		 (unsigned long long)c->values);
	det_why_add(r, r->why[0] ? "; " : "", part);
	for (unsigned i = 0; i < DET_V_COUNT; i++) {
		unsigned p = det_pct(c->bits[i], c->values);

		if (!c->bits[i] || (1u << i) == DET_V_NUMBER)
			continue;
		if (p)
			snprintf(part, sizeof(part), "%u%%", p);
		else
			snprintf(part, sizeof(part), "<1%%");
		det_why_add(r, ", ", part);
		det_why_add(r, " ", det_value_name(1u << i));
		any = true;
	}
	if (!any)
		det_why_add(r, ", none look personal", "");
}

static void det_set(struct det_rule *r, const char *yaml, bool keep)
{
	snprintf(r->yaml, sizeof(r->yaml), "%s", yaml);
	r->keep = keep;
}

static bool det_major(const struct det_col *c, unsigned bit)
{
	for (unsigned i = 0; i < DET_V_COUNT; i++)
		if (bit == 1u << i)
			return c->values && det_pct(c->bits[i], c->values) >=
						    DET_MAJORITY_PCT;
	return false;
}

/* A rule from what the name says; false if the name says nothing. */
static bool det_by_name(const struct det_col *c, enum det_kind k,
			struct det_rule *r)
{
	switch (k) {
	case DET_SECRET:
		det_set(r, "{ method: null }", false);
		det_why_add(r, "; secrets are never served", "");
		return true;
	case DET_EMAIL:
		det_set(r, "{ method: email }", false);
		det_why_add(r, "; hash instead to join on it across datasets",
			    "");
		return true;
	case DET_BIRTH:
		r->quasi = true;
		if (c->values && c->year_ok == c->values) {
			det_set(r, "{ method: generalize, to: year }", false);
			return true;
		}
		det_set(r, "{ method: null }", false);
		if (c->values)
			det_why_add(r,
				    "; not every sampled value is a date "
				    "generalize reads (YYYY-MM-DD, "
				    "YYYY/MM/DD): served as NULL",
				    "");
		return true;
	case DET_SSN:
		det_set(r, "{ method: mask, pattern: \"***-**-####\" }", false);
		return true;
	case DET_NATIONAL_ID:
	case DET_USERNAME:
	case DET_IP:
		det_set(r, "{ method: hash }", false);
		det_why_add(r, "; a keyed pseudonym keeps joins", "");
		return true;
	case DET_CARD:
		det_set(r, "{ method: partial, keep_last: 4 }", false);
		det_why_add(r,
			    "; fpe is the reversible, format-preserving "
			    "choice",
			    "");
		return true;
	case DET_IBAN:
		det_set(r, "{ method: partial, keep_first: 2, keep_last: 4 }",
			false);
		return true;
	case DET_PHONE:
		det_set(r, "{ method: fake, kind: phone }", false);
		return true;
	case DET_FIRST_NAME:
		det_set(r, "{ method: fake, kind: first_name }", false);
		return true;
	case DET_LAST_NAME:
		det_set(r, "{ method: fake, kind: last_name }", false);
		return true;
	case DET_NAME:
		det_set(r, "{ method: fake, kind: name }", false);
		return true;
	case DET_COMPANY:
		det_set(r, "{ method: fake, kind: company }", false);
		return true;
	case DET_PERSON:
		if (det_major(c, DET_V_NUMBER)) {
			det_set(r, "{ method: hash }", false);
			det_why_add(r,
				    "; numbers: an identifier of a person, a "
				    "keyed pseudonym keeps joins",
				    "");
		} else {
			det_set(r, "{ method: fake, kind: name }", false);
			det_why_add(r,
				    "; hash instead if it identifies the "
				    "person by a code",
				    "");
		}
		return true;
	case DET_NAMED:
	case DET_PERSONAL:
		det_set(r, "{ method: hash }", false);
		det_why_add(r,
			    "; spotfs check calls the name personal: keep it "
			    "only if it is not about people",
			    "");
		return true;
	case DET_ADDRESS:
		det_set(r, "{ method: fake, kind: address }", false);
		return true;
	case DET_POSTCODE:
		r->quasi = true;
		det_set(r, "{ method: generalize, to: prefix, keep: 3 }",
			false);
		return true;
	case DET_AGE:
		r->quasi = true;
		if (c->values && c->range_ok == c->values)
			det_set(r,
				"{ method: generalize, to: range, step: 10 }",
				false);
		else
			det_set(r, "keep", true);
		return true;
	case DET_CITY:
	case DET_GENDER:
		r->quasi = true;
		det_set(r, "keep", true);
		return true;
	default:
		return false;
	}
}

/* A rule from the values alone. */
static void det_by_values(const struct det_col *c, struct det_rule *r)
{
	if (!c->values) {
		det_set(r, "{ method: null }", false);
		det_why_add(r,
			    "; nothing to judge by (an empty column, or a list "
			    "or map leaf): served as NULL until reviewed",
			    "");
	} else if (det_major(c, DET_V_TEXT)) {
		det_set(r, "{ method: pii }", false);
		det_why_add(r,
			    "; free text: pii replaces what the detectors find",
			    "");
	} else if (det_major(c, DET_V_IPV4) || det_major(c, DET_V_IPV6)) {
		det_set(r, "{ method: hash }", false);
	} else if (det_major(c, DET_V_EMAIL)) {
		det_set(r, "{ method: email }", false);
	} else if (det_major(c, DET_V_CARD)) {
		det_set(r, "{ method: partial, keep_last: 4 }", false);
		det_why_add(r,
			    "; fpe is the reversible, format-preserving "
			    "choice",
			    "");
	} else if (det_major(c, DET_V_SSN)) {
		det_set(r, "{ method: mask, pattern: \"***-**-####\" }", false);
	} else if (det_major(c, DET_V_IBAN)) {
		det_set(r, "{ method: partial, keep_first: 2, keep_last: 4 }",
			false);
	} else if (det_major(c, DET_V_PHONE)) {
		det_set(r, "{ method: fake, kind: phone }", false);
	} else if (det_major(c, DET_V_URL)) {
		det_set(r, "{ method: hash }", false);
		det_why_add(r,
			    "; URLs carry names, e-mails and tokens in their "
			    "paths and queries",
			    "");
	} else if (det_major(c, DET_V_POSTCODE)) {
		r->quasi = true;
		det_set(r, "{ method: generalize, to: prefix, keep: 3 }",
			false);
	} else {
		det_set(r, "keep", true);
	}
}

/* Whether a rule replaces the whole value, whatever its bytes. */
static bool det_whole(const char *yaml)
{
	return !strcmp(yaml, "{ method: null }") ||
	       !strcmp(yaml, "{ method: hash }") ||
	       !strcmp(yaml, "{ method: email }") ||
	       !strncmp(yaml, "{ method: fake,", 15);
}

void det_col_decide(const struct det_col *c, const char *name, size_t len,
		    struct det_rule *out)
{
	struct det_name_hit hit;

	memset(out, 0, sizeof(*out));
	out->kind = det_name(name, len, &hit);
	for (unsigned i = 0; i < DET_V_COUNT; i++) {
		if (!c->bits[i])
			continue;
		if (det_major(c, 1u << i))
			out->major |= 1u << i;
		else
			out->minor |= 1u << i;
	}
	if (hit.kind != DET_NONE) {
		snprintf(out->why, sizeof(out->why), "name: '%s' (%s) = %s",
			 hit.word, hit.lang, det_kind_name(hit.kind));
	}
	det_why_values(c, out);
	if (!det_by_name(c, hit.kind, out))
		det_by_values(c, out);
	/* Bytes no detector can read are not served until reviewed. */
	if (c->opaque && out->yaml[0] &&
	    strcmp(out->yaml, "{ method: null }")) {
		char part[128];

		det_set(out, "{ method: null }", false);
		snprintf(part, sizeof(part),
			 "; %llu of %llu sampled values are binary (BLOBs "
			 "that are not text): no detector can read them, "
			 "served as NULL until reviewed",
			 (unsigned long long)c->opaque,
			 (unsigned long long)c->values);
		det_why_add(out, part, "");
	}
	/* Nothing the detectors see is ever served raw. */
	if (out->keep && c->pii_any) {
		det_set(out, "{ method: pii }", false);
		det_why_add(out,
			    "; some values hold personal data: pii replaces "
			    "it",
			    "");
	}
	/*
	 * A SQLite table's CSV form holds a BLOB as hex text, and the
	 * methods that look into a value (pii, partial, mask, generalize)
	 * see those hex digits, not the text: only rules that replace the
	 * whole value are proposed for BLOBs.
	 */
	if (c->blobs && !out->keep && !det_whole(out->yaml)) {
		det_set(out, "{ method: null }", false);
		det_why_add(out,
			    "; BLOB values: a table's CSV form holds them as "
			    "hex, which pii, partial, mask and generalize "
			    "cannot read: served as NULL until reviewed",
			    "");
	}
	if (out->quasi)
		det_why_add(out,
			    "; a quasi-identifier: measure with spotfs report",
			    "");
}

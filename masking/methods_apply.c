/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * methods_apply.c - msk_apply and the built-in masking methods it runs:
 * hash, tokenize, mask, partial, email, redact, generalize and noise (fake
 * values are made in fake.c, PII found in pii.c). Keys and rules are set
 * up in methods.c.
 *
 * Text methods work on UTF-8 characters; a byte that does not start a valid
 * UTF-8 sequence counts as one character, so any input is handled and a
 * masked character is never half-revealed.
 */
#include "methods.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fake.h"
#include "methods_i.h"
#include "spot.h"

#define MSK_DOMAIN_HEX 8
#define MSK_DOMAIN_SMALL 256 /* longer domains are lower-cased on the heap */
#define MSK_NUM_MAX 100	     /* longest number text we parse, in bytes */
#define MSK_DECIMALS_MAX 30
#define MSK_NOISE_DAYS_MAX 3650000.0 /* ~10,000 years */
#define MSK_INT_NOISE_MAX 9e18	     /* below INT64_MAX, exact in a double */
#define MSK_DEFAULT_REDACT "[REDACTED]"
#define MSK_DEFAULT_PREFIX "tok_"

/* ---- UTF-8 ---- */

/* Length of the character at i: 1..4, or 1 for a byte that is not valid. */
size_t u8_len(const uint8_t *p, size_t len, size_t i)
{
	uint8_t c = p[i], lo = 0x80, hi = 0xBF;
	size_t n, j;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 1;
	if (c == 0xE0)
		lo = 0xA0; /* overlong */
	else if (c == 0xED)
		hi = 0x9F; /* surrogates */
	else if (c == 0xF0)
		lo = 0x90; /* overlong */
	else if (c == 0xF4)
		hi = 0x8F; /* above U+10FFFF */
	if (len - i < n || p[i + 1] < lo || p[i + 1] > hi)
		return 1;
	for (j = 2; j < n; j++)
		if ((p[i + j] & 0xC0) != 0x80)
			return 1;
	return n;
}

/*
 * Start of the character that ends at i (i > 0), agreeing with a forward
 * walk by u8_len: continuation bytes belong to the nearest lead byte before
 * them only if that lead's sequence is valid and ends exactly at i.
 */
static size_t u8_prev(const uint8_t *p, size_t i)
{
	size_t s = i - 1;

	while (s > 0 && i - s < 4 && (p[s] & 0xC0) == 0x80)
		s--;
	return u8_len(p, i, s) == i - s ? s : i - 1;
}

static size_t u8_count(const uint8_t *p, size_t len)
{
	size_t i = 0, n = 0;

	while (i < len) {
		i += u8_len(p, len, i);
		n++;
	}
	return n;
}

bool u8_valid(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = u8_len((const uint8_t *)s, len, i);

		if (n == 1 && (uint8_t)s[i] >= 0x80)
			return false;
		i += n;
	}
	return true;
}

/* Whether (p, len) is all ASCII: then a byte is a character. */
static bool msk_ascii(const uint8_t *p, size_t len)
{
	uint64_t acc = 0, x;
	size_t i = 0;

	for (; len - i >= 8; i += 8) {
		memcpy(&x, p + i, 8);
		acc |= x;
	}
	for (; i < len; i++)
		acc |= p[i];
	return !(acc & 0x8080808080808080ull);
}

/* ---- hash, tokenize ---- */

/*
 * SipHash-2-4 under keys[i] gives hex characters 16i..16i+15: a keyed PRF
 * with 64-bit outputs, one call per 16 hex characters (one for the default
 * length), so a shorter hash is a prefix of a longer one of the same value.
 * Blocks under independent keys concatenate to a PRF of the full length.
 * The README (Performance) says why SipHash and not BLAKE2b.
 */
static int msk_keyed_hex(const uint8_t keys[MSK_SIP_BLOCKS][MSK_SIP_KEY_LEN],
			 const uint8_t *p, size_t len, unsigned hex_len,
			 struct spot_buf *out)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[crypto_shorthash_siphash24_BYTES];
	uint8_t *w;
	unsigned i, b;

	if (hex_len < MSK_HASH_MIN || hex_len > MSK_HASH_MAX)
		return -EINVAL;
	if (out->cap - out->len <= hex_len) {
		int rc = spot_buf_reserve(out, hex_len);

		if (rc)
			return rc;
	}
	w = out->p + out->len;
	for (b = 0; b * MSK_SIP_HEX < hex_len; b++) {
		unsigned n = hex_len - b * MSK_SIP_HEX;

		crypto_shorthash_siphash24(d, p, len, keys[b]);
		if (n > MSK_SIP_HEX)
			n = MSK_SIP_HEX;
		for (i = 0; i < n / 2; i++) {
			*w++ = (uint8_t)hex[d[i] >> 4];
			*w++ = (uint8_t)hex[d[i] & 0xf];
		}
		if (n % 2)
			*w++ = (uint8_t)hex[d[i] >> 4];
	}
	out->len += hex_len;
	out->p[out->len] = 0;
	return 0;
}

int msk_hash_hex(const struct msk_keys *k, const uint8_t *p, size_t len,
		 unsigned hex_len, struct spot_buf *out)
{
	if (!k)
		return -EINVAL;
	return msk_keyed_hex(k->hash, p, len, hex_len, out);
}

/*
 * hash or tokenize under the rule's group: the SipHash keys of the group,
 * derived per call for the blocks the length needs (two SipHash calls per
 * block), so a group keeps no state and needs no lock.
 */
static int msk_group_hex(const struct msk_rule *r, const struct msk_keys *k,
			 const uint8_t *p, size_t len, struct spot_buf *out)
{
	uint8_t keys[MSK_SIP_BLOCKS][MSK_SIP_KEY_LEN];
	unsigned blocks = (r->hash_len + MSK_SIP_HEX - 1) / MSK_SIP_HEX;
	int rc;

	if (blocks > MSK_SIP_BLOCKS)
		return -EINVAL;
	for (unsigned b = 0; b < blocks; b++)
		msk_group_key(k, r->method, b, r->group, r->group_len, keys[b]);
	rc = msk_keyed_hex(keys, p, len, r->hash_len, out);
	sodium_memzero(keys, sizeof(keys));
	return rc;
}

static int msk_hash(const struct msk_rule *r, const struct msk_keys *k,
		    const uint8_t *in, size_t len, struct spot_buf *out)
{
	if (r->group)
		return msk_group_hex(r, k, in, len, out);
	return msk_keyed_hex(k->hash, in, len, r->hash_len, out);
}

static int msk_tokenize(const struct msk_rule *r, const struct msk_keys *k,
			const uint8_t *in, size_t len, struct spot_buf *out)
{
	int rc;

	if (r->text)
		rc = spot_buf_append(out, r->text, r->text_len);
	else
		rc = spot_buf_append(out, MSK_DEFAULT_PREFIX,
				     strlen(MSK_DEFAULT_PREFIX));
	if (rc)
		return rc;
	if (r->group)
		return msk_group_hex(r, k, in, len, out);
	return msk_keyed_hex(k->token, in, len, r->hash_len, out);
}

/* ---- mask, partial, email ---- */

/*
 * Walk the value and the pattern from their ends (see methods.h and the
 * README): '#' keeps the value's character, '*' gives the mask character,
 * a literal is written and consumes the value's character only when the two
 * are equal. Value characters left over on the left are masked; pattern
 * characters left over on the left are dropped. Returns the output size and,
 * with end, writes the output backwards ending at end.
 */
static size_t msk_mask_walk(const uint8_t *pat, size_t plen, uint8_t mc,
			    const uint8_t *in, size_t len, uint8_t *end)
{
	size_t i = plen, j = len, total = 0;

	while (j > 0) {
		size_t vs = u8_prev(in, j), ps, n = 1;
		const uint8_t *src = &mc;
		bool consume = true;

		if (i > 0) {
			ps = u8_prev(pat, i);
			if (i - ps == 1 && pat[ps] == '#') {
				src = in + vs;
				n = j - vs;
			} else if (i - ps != 1 || pat[ps] != '*') {
				src = pat + ps;
				n = i - ps;
				consume =
					j - vs == n && !memcmp(in + vs, src, n);
			}
			i = ps;
		}
		total += n;
		if (end) {
			end -= n;
			memcpy(end, src, n);
		}
		if (consume)
			j = vs;
	}
	return total;
}

/*
 * msk_mask_walk when the pattern and the value are ASCII, the common case
 * (SSNs, card and phone numbers): a byte is a character, so one pass
 * writes the output backwards ending at end and returns its size (at most
 * len + plen bytes: every step consumes a pattern or a value byte).
 */
static size_t msk_mask_ascii(const uint8_t *pat, size_t plen, uint8_t mc,
			     const uint8_t *in, size_t len, uint8_t *end)
{
	uint8_t *w = end;

	while (len > 0) {
		uint8_t c = mc, v = in[len - 1];

		if (plen > 0) {
			uint8_t pc = pat[--plen];

			if (pc == '#')
				c = v;
			else if (pc != '*') {
				c = pc;
				if (v != pc) {
					*--w = c; /* a literal not in the value */
					continue;
				}
			}
		}
		*--w = c;
		len--;
	}
	return (size_t)(end - w);
}

static int msk_mask(const struct msk_rule *r, const uint8_t *in, size_t len,
		    struct spot_buf *out)
{
	const uint8_t *pat = (const uint8_t *)r->pattern;
	uint8_t mc = (uint8_t)r->mask_char;
	size_t n;
	int rc;

	if (!pat)
		return -EINVAL;
	if (len <= SIZE_MAX / 2 - r->pattern_len &&
	    msk_ascii(pat, r->pattern_len) && msk_ascii(in, len)) {
		size_t room = len + r->pattern_len;

		if (out->cap - out->len <= room) {
			rc = spot_buf_reserve(out, room);
			if (rc)
				return rc;
		}
		n = msk_mask_ascii(pat, r->pattern_len, mc, in, len,
				   out->p + out->len + room);
		memmove(out->p + out->len, out->p + out->len + room - n, n);
		out->len += n;
		out->p[out->len] = 0;
		return 0;
	}
	n = msk_mask_walk(pat, r->pattern_len, mc, in, len, NULL);
	rc = spot_buf_reserve(out, n);
	if (rc)
		return rc;
	msk_mask_walk(pat, r->pattern_len, mc, in, len, out->p + out->len + n);
	out->len += n;
	out->p[out->len] = 0;
	return 0;
}

/*
 * Keep the first and last characters, mask the rest, one mask character per
 * character. When first + last would keep the whole value, at most half of
 * it (rounded down) is kept, the end first.
 */
static int msk_keep_ends(const uint8_t *in, size_t len, size_t first,
			 size_t last, uint8_t mc, struct spot_buf *out)
{
	bool ascii = msk_ascii(in, len);
	size_t n = ascii ? len : u8_count(in, len), i = 0, c = 0;
	uint8_t *w;
	int rc;

	if (first + last >= n) {
		last = last < n / 2 ? last : n / 2;
		first = first < n / 2 - last ? first : n / 2 - last;
	}
	rc = spot_buf_reserve(out, len); /* output never longer than input */
	if (rc)
		return rc;
	w = out->p + out->len;
	if (ascii) { /* a byte is a character */
		memcpy(w, in, first);
		memset(w + first, mc, n - first - last);
		memcpy(w + n - last, in + n - last, last);
		out->len += n;
		out->p[out->len] = 0;
		return 0;
	}
	for (; i < len; c++) {
		size_t cl = u8_len(in, len, i);

		if (c < first || c >= n - last) {
			memcpy(w, in + i, cl);
			w += cl;
		} else {
			*w++ = mc;
		}
		i += cl;
	}
	out->len = (size_t)(w - out->p);
	out->p[out->len] = 0;
	return 0;
}

/*
 * "@" + the hash method's first 8 hex characters of the lower-cased domain
 * + ".invalid".
 */
static int msk_email_domain_hash(const struct msk_keys *k, const uint8_t *d,
				 size_t len, struct spot_buf *out)
{
	uint8_t small[MSK_DOMAIN_SMALL], *low = NULL;
	const uint8_t *h = d;
	size_t i;
	int rc;

	for (i = 0; i < len && !(d[i] >= 'A' && d[i] <= 'Z'); i++)
		;
	if (i < len) { /* some upper case: hash a lower-cased copy */
		low = len <= sizeof(small) ? small : malloc(len);
		if (!low)
			return -ENOMEM;
		for (i = 0; i < len; i++)
			low[i] = (uint8_t)(d[i] >= 'A' && d[i] <= 'Z'
						   ? d[i] + ('a' - 'A')
						   : d[i]);
		h = low;
	}
	rc = spot_buf_putc(out, '@');
	if (!rc)
		rc = msk_keyed_hex(k->hash, h, len, MSK_DOMAIN_HEX, out);
	if (!rc)
		rc = spot_buf_append(out, ".invalid", 8);
	if (low != small)
		free(low);
	return rc;
}

/*
 * The address of a value (msk_email_split) keeps the first character of
 * its local part and its host name; text around the address is dropped,
 * and a value with no address (no '@', no host name after one) is served
 * as the mask characters alone.
 */
static int msk_email(const struct msk_rule *r, const struct msk_keys *k,
		     const uint8_t *in, size_t len, struct spot_buf *out)
{
	uint8_t mc = (uint8_t)r->mask_char, stars[3] = { mc, mc, mc };
	struct msk_email_addr a;
	bool addr = msk_email_split(in, len, &a);
	int rc = 0;

	if (addr && a.at > a.local)
		rc = spot_buf_append(out, in + a.local,
				     u8_len(in, a.at, a.local));
	if (!rc)
		rc = spot_buf_append(out, stars, sizeof(stars));
	if (rc || !addr)
		return rc;
	if (r->email_domain == MSK_EMAIL_KEEP)
		return spot_buf_append(out, in + a.at, a.end - a.at);
	if (!k)
		return -EINVAL;
	return msk_email_domain_hash(k, in + a.at + 1, a.end - a.at - 1, out);
}

/* ---- numbers and dates ---- */

static bool msk_is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Scan [sign] digits [. digits] [e [sign] digits]; returns the end. */
static size_t msk_num_scan(const uint8_t *p, size_t len, size_t i,
			   struct msk_num *n)
{
	size_t digits = 0, ed = 0;
	bool dot = false;

	if (i < len && (p[i] == '+' || p[i] == '-'))
		i++;
	for (; i < len; i++) {
		if (msk_is_digit(p[i])) {
			digits++;
			n->decimals += dot;
		} else if (p[i] == '.' && !dot) {
			dot = true;
		} else {
			break;
		}
	}
	if (!digits)
		return 0;
	if (i < len && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < len && (p[i] == '+' || p[i] == '-'))
			i++;
		for (; i < len && msk_is_digit(p[i]); i++)
			ed++;
		if (!ed)
			return 0;
		n->exp = true;
	}
	n->is_int = !dot && !n->exp;
	return i;
}

/* A decimal number, surrounding blanks allowed; no hex, inf or nan. */
int msk_num_parse(const uint8_t *p, size_t len, struct msk_num *n)
{
	char buf[MSK_NUM_MAX + 1];
	size_t s = 0;
	long long v;
	char *end;

	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	while (s < len && (p[s] == ' ' || p[s] == '\t'))
		s++;
	memset(n, 0, sizeof(*n));
	if (len - s > MSK_NUM_MAX || msk_num_scan(p, len, s, n) != len)
		return -EINVAL;
	memcpy(buf, p + s, len - s);
	buf[len - s] = 0;
	if (n->is_int) {
		errno = 0;
		v = strtoll(buf, &end, 10);
		if (!errno) {
			n->i = v;
			n->d = (double)v;
			return 0;
		}
		n->is_int = false; /* too large: a real */
	}
	n->d = strtod(buf, &end);
	return isfinite(n->d) ? 0 : -EINVAL;
}

static bool msk_2digits(const uint8_t *p, int max, int *v)
{
	if (!msk_is_digit(p[0]) || !msk_is_digit(p[1]))
		return false;
	*v = (p[0] - '0') * 10 + (p[1] - '0');
	return *v <= max;
}

/* HH:MM[:SS[.frac]][Z|+HH[:]MM|-HH[:]MM|+HH|-HH] */
static bool msk_time_ok(const uint8_t *p, size_t len)
{
	size_t i = 5;
	int v;

	if (len < 5 || !msk_2digits(p, 23, &v) || p[2] != ':' ||
	    !msk_2digits(p + 3, 59, &v))
		return false;
	if (i + 2 < len && p[i] == ':' && msk_2digits(p + i + 1, 60, &v)) {
		i += 3;
		if (i + 1 < len && (p[i] == '.' || p[i] == ',') &&
		    msk_is_digit(p[i + 1]))
			for (i++; i < len && msk_is_digit(p[i]); i++)
				;
	}
	if (i == len || (p[i] == 'Z' && i + 1 == len))
		return true;
	if ((p[i] != '+' && p[i] != '-') || len - i < 3 ||
	    !msk_2digits(p + i + 1, 23, &v))
		return false;
	i += 3;
	if (i < len && p[i] == ':')
		i++;
	return i == len || (len - i == 2 && msk_2digits(p + i, 59, &v));
}

static int msk_month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* YYYY-MM-DD or YYYY/MM/DD; with time_ok, a time may follow (T or ' '). */
int msk_date_parse(const uint8_t *p, size_t len, bool time_ok,
		   struct msk_date *dt)
{
	int hi, lo;

	if (len < 10 || (p[4] != '-' && p[4] != '/') || p[7] != p[4] ||
	    !msk_2digits(p, 99, &hi) || !msk_2digits(p + 2, 99, &lo) ||
	    !msk_2digits(p + 5, 12, &dt->m) || !msk_2digits(p + 8, 31, &dt->d))
		return -EINVAL;
	dt->y = hi * 100 + lo;
	dt->sep = (char)p[4];
	if (dt->y < 1 || dt->m < 1 || dt->d < 1 ||
	    dt->d > msk_month_days(dt->y, dt->m))
		return -EINVAL;
	if (len == 10)
		return 0;
	if (!time_ok || (p[10] != 'T' && p[10] != ' ') ||
	    !msk_time_ok(p + 11, len - 11))
		return -EINVAL;
	return 0;
}

/* ---- generalize ---- */

static int msk_range(const struct msk_rule *r, const uint8_t *in, size_t len,
		     struct spot_buf *out)
{
	double step = r->gen_step, lo, hi;
	struct msk_num n;

	if (msk_num_parse(in, len, &n))
		return -EINVAL;
	if (n.is_int && step == floor(step)) {
		int64_t s = (int64_t)step, m = n.i % s, ilo, ihi;

		if (m < 0)
			m += s;
		if (__builtin_sub_overflow(n.i, m, &ilo) ||
		    __builtin_add_overflow(ilo, s - 1, &ihi))
			return -EINVAL;
		return spot_buf_printf(out, "%" PRId64 "-%" PRId64, ilo, ihi);
	}
	lo = floor(n.d / step) * step;
	hi = lo + step;
	if (!isfinite(lo) || !isfinite(hi))
		return -EINVAL;
	/* + 0.0 turns -0 into 0. */
	return spot_buf_printf(out, "%.15g-%.15g", lo + 0.0, hi + 0.0);
}

static int msk_generalize(const struct msk_rule *r, const uint8_t *in,
			  size_t len, struct spot_buf *out)
{
	struct msk_date dt;

	switch (r->gen_to) {
	case MSK_GEN_YEAR:
		if (msk_date_parse(in, len, true, &dt))
			return -EINVAL;
		return spot_buf_printf(out, "%04d", dt.y);
	case MSK_GEN_MONTH:
		if (msk_date_parse(in, len, true, &dt))
			return -EINVAL;
		return spot_buf_printf(out, "%04d-%02d", dt.y, dt.m);
	case MSK_GEN_RANGE:
		return msk_range(r, in, len, out);
	case MSK_GEN_PREFIX:
		return msk_keep_ends(in, len, r->gen_keep, 0,
				     (uint8_t)r->mask_char, out);
	}
	return -EINVAL;
}

/* ---- noise ---- */

static void msk_hash_field(crypto_generichash_state *st, const void *p,
			   size_t len)
{
	uint8_t le[8];
	uint64_t v = len;
	size_t i;

	for (i = 0; i < sizeof(le); i++, v >>= 8)
		le[i] = (uint8_t)v;
	crypto_generichash_update(st, le, sizeof(le));
	crypto_generichash_update(st, p, len);
}

/*
 * Laplace(0, scale) by inverse CDF from a uniform in (0, 1) that is a keyed
 * hash of (dataset, column, row, value): the same cell always gets the same
 * noise, other cells independent noise.
 */
static double msk_laplace(const struct msk_keys *k, const struct msk_cell *c,
			  const uint8_t *in, size_t len, double scale)
{
	crypto_generichash_state st;
	const char *ds = c->dataset ? c->dataset : "";
	const char *col = c->column ? c->column : "";
	uint8_t d[8];
	uint64_t x = 0, row = c->row;
	double u, h;
	size_t i;

	crypto_generichash_init(&st, k->noise, MSK_KEY_LEN, sizeof(d));
	msk_hash_field(&st, ds, strlen(ds));
	msk_hash_field(&st, col, strlen(col));
	msk_hash_field(&st, in, len);
	for (i = 0; i < sizeof(d); i++, row >>= 8)
		d[i] = (uint8_t)row;
	crypto_generichash_update(&st, d, sizeof(d));
	crypto_generichash_final(&st, d, sizeof(d));
	for (i = 0; i < sizeof(d); i++)
		x |= (uint64_t)d[i] << (8 * i);
	u = ((double)(x >> 11) + 0.5) / 9007199254740992.0; /* 2^53 */
	h = u - 0.5;
	return (h < 0 ? scale : -scale) * log1p(-2 * fabs(h));
}

/*
 * ±v plus noise z, exactly (methods_dec.c): whole noise for an integer
 * (an integer literal or column), else z at the places the text shows
 * (at most MSK_DECIMALS_MAX), added to the value's digits, never through
 * a double, so a number past a double's precision keeps its digits. A
 * value or a sum past 36 digits is refused, and an integer that fits
 * int64 stays within int64 (its column may be INT64).
 */
static int msk_noise_num(const struct msk_dec *v, double z,
			 enum pipe_type in_type, struct spot_buf *out)
{
	int places =
		v->places < MSK_DECIMALS_MAX ? v->places : MSK_DECIMALS_MAX;
	u128 vu, zu, ru, lim;
	bool zn, neg;

	if (v->lit_int || in_type == PIPE_INT) {
		places = 0;
		if (!(fabs(round(z)) < MSK_INT_NOISE_MAX))
			return -EINVAL;
	} else {
		z *= pow(10, places);
	}
	if (msk_dec_units(v, places, &vu) || msk_dec_from_double(z, &zn, &zu) ||
	    msk_dec_add(v->neg, vu, zn, zu, &neg, &ru))
		return -EINVAL;
	if (!places) {
		lim = (u128)INT64_MAX + (v->neg ? 1 : 0);
		if (vu <= lim && ru > (u128)INT64_MAX + (neg ? 1 : 0))
			return -EINVAL;
	}
	return msk_dec_put(out, neg, ru, places);
}

static int msk_noise(const struct msk_rule *r, const struct msk_keys *k,
		     const struct msk_cell *cell, const uint8_t *in, size_t len,
		     enum pipe_type in_type, struct spot_buf *out)
{
	double scale = r->noise_sensitivity / r->noise_epsilon, z;
	struct msk_date dt;
	struct msk_dec n;
	unsigned m, d;
	int64_t y;
	int rc;

	if (!cell || !isfinite(scale) || !(scale > 0))
		return -EINVAL;
	z = msk_laplace(k, cell, in, len, scale);
	rc = msk_dec_parse(in, len, &n);
	if (!rc)
		return msk_noise_num(&n, z, in_type, out);
	if (rc == -ERANGE)
		return -EINVAL; /* a number past 36 digits: refused */
	if (msk_date_parse(in, len, false, &dt) ||
	    !(fabs(z) < MSK_NOISE_DAYS_MAX))
		return -EINVAL;
	spot_civil_from_days(
		spot_days_from_civil(dt.y, (unsigned)dt.m, (unsigned)dt.d) +
			llround(z),
		&y, &m, &d);
	if (y < 1 || y > 9999)
		return -EINVAL;
	dt.y = (int)y;
	dt.m = (int)m;
	dt.d = (int)d;
	return spot_buf_printf(out, "%04d%c%02d%c%02d", dt.y, dt.sep, dt.m,
			       dt.sep, dt.d);
}

/* ---- fake ---- */

/* The seed of a fake value: keyed BLAKE2b, under the group's key if any. */
static int msk_fake(const struct msk_rule *r, const struct msk_keys *k,
		    const uint8_t *in, size_t len, struct spot_buf *out)
{
	uint8_t seed[MSK_FAKE_SEED_LEN], gk[2 * MSK_SIP_KEY_LEN];

	if (!r->group) {
		/* crypto_generichash(seed, 32, in, len, k->fake, 32), one
		 * compression cheaper (fake_prf.c) */
		msk_fake_prf(&k->fake_prf, in, len, seed);
		return msk_fake_write_rule(r, seed, out);
	}
	msk_group_key(k, MSK_FAKE, 0, r->group, r->group_len, gk);
	msk_group_key(k, MSK_FAKE, 1, r->group, r->group_len,
		      gk + MSK_SIP_KEY_LEN);
	crypto_generichash(seed, sizeof(seed), in, len, gk, sizeof(gk));
	sodium_memzero(gk, sizeof(gk));
	return msk_fake_write_rule(r, seed, out);
}

/* ---- apply ---- */

static int msk_apply_value(const struct msk_rule *r, const struct msk_keys *k,
			   const struct msk_cell *cell, const uint8_t *in,
			   size_t len, enum pipe_type in_type,
			   struct spot_buf *out)
{
	switch (r->method) {
	case MSK_KEEP:
		return spot_buf_append(out, in, len);
	case MSK_HASH:
		return msk_hash(r, k, in, len, out);
	case MSK_TOKENIZE:
		return msk_tokenize(r, k, in, len, out);
	case MSK_MASK:
		return msk_mask(r, in, len, out);
	case MSK_PARTIAL:
		return msk_keep_ends(in, len, r->keep_first, r->keep_last,
				     (uint8_t)r->mask_char, out);
	case MSK_EMAIL:
		return msk_email(r, k, in, len, out);
	case MSK_REDACT:
		if (r->text)
			return spot_buf_append(out, r->text, r->text_len);
		return spot_buf_append(out, MSK_DEFAULT_REDACT,
				       strlen(MSK_DEFAULT_REDACT));
	case MSK_FAKE:
		return msk_fake(r, k, in, len, out);
	case MSK_GENERALIZE:
		return msk_generalize(r, in, len, out);
	case MSK_NOISE:
		return msk_noise(r, k, cell, in, len, in_type, out);
	case MSK_PII:
		return msk_pii_replace(in, len, r->pii_kinds,
				       r->pii_hash ? k : NULL, r->hash_len,
				       out);
	case MSK_FPE:
		return msk_fpe(r, k, in, len, false, out);
	case MSK_SHIFT:
		return msk_shift(r, k, cell, in, len, in_type, out);
	case MSK_TRUNCATE:
		return msk_truncate(r, in, len, out);
	case MSK_ROUND:
		return msk_round(r, in, len, in_type, out);
	case MSK_SCRAMBLE:
		return msk_scramble(k, in, len, out);
	default:
		return -EINVAL;
	}
}

static bool msk_needs_keys(const struct msk_rule *r)
{
	return r->method == MSK_HASH || r->method == MSK_TOKENIZE ||
	       r->method == MSK_FAKE || r->method == MSK_NOISE ||
	       r->method == MSK_FPE || r->method == MSK_SHIFT ||
	       r->method == MSK_SCRAMBLE ||
	       (r->method == MSK_EMAIL && r->email_domain == MSK_EMAIL_HASH) ||
	       (r->method == MSK_PII && r->pii_hash);
}

int msk_apply(const struct msk_rule *r, const struct msk_keys *k,
	      const struct msk_cell *cell, const uint8_t *in, size_t len,
	      enum pipe_type in_type, struct spot_buf *out,
	      enum pipe_type *out_type)
{
	size_t mark = out->len;
	int rc;

	if (in_type == PIPE_NULL || r->method == MSK_NULL) {
		*out_type = PIPE_NULL;
		return 0;
	}
	if (!len) {
		*out_type = in_type;
		return 0;
	}
	if (msk_needs_keys(r) && !k)
		return -EINVAL;
	rc = msk_apply_value(r, k, cell, in, len, in_type, out);
	if (rc) {
		out->len = mark; /* no partial output */
		if (out->p)
			out->p[mark] = 0;
		return rc;
	}
	/* Only keep, noise, round and shift of a number keep the input
	 * type; the rest make text. */
	*out_type =
		r->method == MSK_KEEP || r->method == MSK_NOISE ||
				r->method == MSK_ROUND ||
				(r->method == MSK_SHIFT &&
				 (in_type == PIPE_INT || in_type == PIPE_REAL))
			? in_type
			: PIPE_TEXT;
	return 0;
}

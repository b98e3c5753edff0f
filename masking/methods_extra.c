/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * methods_extra.c - shift, truncate, round and scramble: the date, number
 * and text methods of issue 13, with their parameters.
 *
 *   shift     a date or timestamp moved by a keyed whole number of days in
 *             [-max, -1] or [1, max] (never 0): with per: COLUMN the offset
 *             is keyed by that column's value in the row (one offset per
 *             patient, so intervals between one person's dates are kept),
 *             else by the cell (dataset, column, row, value), like noise.
 *   truncate  a date or timestamp with the fields below hour, day, month or
 *             year set to their first value; shape and zone kept.
 *   round     a number rounded (half away from zero) to a multiple of
 *             step, then clamped to min/max (top and bottom coding).
 *   scramble  ASCII letters and digits replaced by keyed ones of the same
 *             class (digit, lower, upper), everything else kept: the length
 *             and the character classes survive, the characters do not.
 *
 * Inputs these methods cannot read fail the read (-EINVAL), as generalize
 * and noise do: never served raw. The row sample of `sample:` is here too.
 */
#include "methods.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "methods_i.h"
#include "spot.h"

#define MSK_SHIFT_MAX_DAYS 3650
#define MSK_PER_MAX 256	     /* bytes of a per: column name */
#define MSK_ROUND_LIMIT 1e15 /* |step|, |min|, |max| */
#define MSK_ROUND_PLACES 15  /* decimals of a fractional step */
#define MSK_INT_EXACT 9e15   /* reals beyond this print as integers */
#define MSK_DATE_LEN 10	     /* YYYY-MM-DD */
#define MSK_TIME_AT 11	     /* HH of YYYY-MM-DDTHH:MM */
#define MSK_YEAR_MAX 9999
#define MSK_UNIX_MIN 62135596800LL  /* -this: 0001-01-01T00:00:00Z */
#define MSK_UNIX_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define MSK_SHIFT_PLACES 18	    /* decimals of a Unix time */

/* ---- parameters ---- */

static int msk_set_days(struct msk_rule *r, const char *v, struct spot_err *err)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (end == v || v[0] == '-' || v[0] == '+' ||
	    (*end && strcmp(end, "d")) || n < 1 || n > MSK_SHIFT_MAX_DAYS) {
		spot_err_set(err,
			     "max: expected days from 1d to %dd (for example "
			     "30d)",
			     MSK_SHIFT_MAX_DAYS);
		return -EINVAL;
	}
	r->shift_days = (uint32_t)n;
	return 0;
}

static int msk_set_per(struct msk_rule *r, const char *v, struct spot_err *err)
{
	size_t len = strlen(v);
	char *d;

	if (!len || len > MSK_PER_MAX || !u8_valid(v, len)) {
		spot_err_set(err,
			     "per: expected a column name (UTF-8, 1 to %d "
			     "bytes)",
			     MSK_PER_MAX);
		return -EINVAL;
	}
	d = strdup(v);
	if (!d)
		return -ENOMEM;
	free(r->per);
	r->per = d;
	r->per_len = len;
	return 0;
}

/* A finite number within the limit; decimals of its text, if asked. */
static int msk_set_num(const char *key, const char *v, bool positive,
		       double *out, int *decimals, struct spot_err *err)
{
	struct msk_num n;

	if (msk_num_parse((const uint8_t *)v, strlen(v), &n) ||
	    fabs(n.d) > MSK_ROUND_LIMIT || (positive && !(n.d > 0)) ||
	    (decimals && (n.exp || n.decimals > MSK_ROUND_PLACES))) {
		spot_err_set(err,
			     "%s: expected a %snumber of at most %g (and %d "
			     "decimals)",
			     key, positive ? "positive " : "", MSK_ROUND_LIMIT,
			     MSK_ROUND_PLACES);
		return -EINVAL;
	}
	*out = n.d;
	if (decimals)
		*decimals = n.decimals;
	return 0;
}

int msk_extra_set(struct msk_rule *r, const char *key, const char *v,
		  struct spot_err *err)
{
	static const char *const tos[] = { "hour", "day", "month", "year" };

	if (r->method == MSK_SHIFT)
		return !strcmp(key, "max") ? msk_set_days(r, v, err)
					   : msk_set_per(r, v, err);
	if (r->method == MSK_TRUNCATE) {
		for (size_t i = 0; i < SPOT_ARRAY_SIZE(tos); i++)
			if (!strcmp(v, tos[i])) {
				r->trunc_to = (enum msk_trunc_to)i;
				return 0;
			}
		spot_err_set(err, "to: expected hour, day, month or year");
		return -EINVAL;
	}
	if (!strcmp(key, "step"))
		return msk_set_num(key, v, true, &r->round_step,
				   &r->round_decimals, err);
	if (!strcmp(key, "min")) {
		r->round_has_min = false;
		if (msk_set_num(key, v, false, &r->round_min, NULL, err))
			return -EINVAL;
		r->round_has_min = true;
		return 0;
	}
	r->round_has_max = false;
	if (msk_set_num(key, v, false, &r->round_max, NULL, err))
		return -EINVAL;
	r->round_has_max = true;
	return 0;
}

int msk_extra_check(const struct msk_rule *r, struct spot_err *err)
{
	switch (r->method) {
	case MSK_SHIFT:
		if (r->shift_days < 1 || r->shift_days > MSK_SHIFT_MAX_DAYS) {
			spot_err_set(err, "shift: 'max' is required (days, "
					  "for example 30d)");
			return -EINVAL;
		}
		return 0;
	case MSK_TRUNCATE:
		if ((unsigned)r->trunc_to > MSK_TRUNC_YEAR) {
			spot_err_set(err, "truncate: 'to' is required (hour, "
					  "day, month or year)");
			return -EINVAL;
		}
		return 0;
	case MSK_ROUND:
		if (!(r->round_step > 0) || r->round_step > MSK_ROUND_LIMIT ||
		    (r->round_has_min && r->round_has_max &&
		     r->round_min > r->round_max)) {
			spot_err_set(err, "round: 'step' must be above 0 and "
					  "'min' not above 'max'");
			return -EINVAL;
		}
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- dates ---- */

static void msk_put2(uint8_t *w, unsigned v)
{
	w[0] = (uint8_t)('0' + v / 10);
	w[1] = (uint8_t)('0' + v % 10);
}

/*
 * The keyed offset: SipHash of the entity, or BLAKE2b of the cell; a sign
 * bit and a magnitude 1..max (the scaling's bias is below max / 2^63).
 */
static int64_t msk_shift_offset(const struct msk_rule *r,
				const struct msk_keys *k,
				const struct msk_cell *c, const uint8_t *in,
				size_t len)
{
	uint8_t h[8];
	uint64_t x = 0;

	if (c && c->entity) {
		crypto_shorthash_siphash24(h, c->entity, c->entity_len,
					   k->shift);
	} else {
		crypto_generichash_state st;
		const char *ds = c && c->dataset ? c->dataset : "";
		const char *col = c && c->column ? c->column : "";
		uint8_t row[8];
		uint64_t rv = c ? c->row : 0;

		for (size_t i = 0; i < sizeof(row); i++, rv >>= 8)
			row[i] = (uint8_t)rv;
		crypto_generichash_init(&st, k->shift + MSK_SIP_KEY_LEN,
					MSK_KEY_LEN, sizeof(h));
		/* NUL-terminated names: the encoding is unambiguous. */
		crypto_generichash_update(&st, (const uint8_t *)ds,
					  strlen(ds) + 1);
		crypto_generichash_update(&st, (const uint8_t *)col,
					  strlen(col) + 1);
		crypto_generichash_update(&st, row, sizeof(row));
		crypto_generichash_update(&st, in, len);
		crypto_generichash_final(&st, h, sizeof(h));
	}
	for (size_t i = 0; i < sizeof(h); i++)
		x |= (uint64_t)h[i] << (8 * i);
	/* 63 bits scaled to [0, max) by a multiplication, not a division. */
	return (x & 1 ? -1 : 1) *
	       (int64_t)(1 + (uint64_t)(((unsigned __int128)(x >> 1) *
					 r->shift_days) >>
					63));
}

/* Whether ±u (units of 10^-places) is a time of the years 1..9999. */
static bool msk_shift_in_range(bool neg, u128 u, int places)
{
	u128 p = msk_dec_pow10(places);

	return neg ? u <= (u128)MSK_UNIX_MIN * p : u <= (u128)MSK_UNIX_MAX * p;
}

/*
 * A number under shift: a Unix time in seconds (an integer or with a
 * fraction, no exponent), moved by the same days as a date of that cell
 * or entity, exactly, the fraction's digits as written. Before and after,
 * within the years 1..9999 (milliseconds read as seconds are past them).
 */
static int msk_shift_num(const struct msk_rule *r, const struct msk_keys *k,
			 const struct msk_cell *cell, const uint8_t *in,
			 size_t len, struct spot_buf *out)
{
	int64_t off = msk_shift_offset(r, k, cell, in, len) * 86400;
	struct msk_dec v;
	u128 u, du, res;
	bool neg;

	if (msk_dec_parse(in, len, &v) || v.exp ||
	    v.places > MSK_SHIFT_PLACES || msk_dec_units(&v, v.places, &u) ||
	    !msk_shift_in_range(v.neg, u, v.places))
		return -EINVAL;
	du = (u128)(off < 0 ? -off : off) * msk_dec_pow10(v.places);
	if (msk_dec_add(v.neg, u, off < 0, du, &neg, &res) ||
	    !msk_shift_in_range(neg, res, v.places))
		return -EINVAL;
	return msk_dec_put(out, neg, res, v.places);
}

int msk_shift(const struct msk_rule *r, const struct msk_keys *k,
	      const struct msk_cell *cell, const uint8_t *in, size_t len,
	      enum pipe_type in_type, struct spot_buf *out)
{
	struct msk_date dt;
	int64_t y;
	unsigned m, d;
	uint8_t *w;
	int rc;

	if (in_type == PIPE_INT || in_type == PIPE_REAL)
		return msk_shift_num(r, k, cell, in, len, out);
	if (msk_date_parse(in, len, true, &dt))
		return -EINVAL;
	spot_civil_from_days(
		spot_days_from_civil(dt.y, (unsigned)dt.m, (unsigned)dt.d) +
			msk_shift_offset(r, k, cell, in, len),
		&y, &m, &d);
	if (y < 1 || y > MSK_YEAR_MAX)
		return -EINVAL;
	rc = spot_buf_reserve(out, len);
	if (rc)
		return rc;
	/* The date's digits change; separators and any time stay. */
	w = out->p + out->len;
	memcpy(w, in, len);
	msk_put2(w, (unsigned)(y / 100));
	msk_put2(w + 2, (unsigned)(y % 100));
	msk_put2(w + 5, m);
	msk_put2(w + 8, d);
	out->len += len;
	out->p[out->len] = 0;
	return 0;
}

static bool msk_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* End of the time of a valid timestamp: where its zone (or the end) is. */
static size_t msk_time_end(const uint8_t *p, size_t len)
{
	size_t i = MSK_TIME_AT + 5; /* HH:MM */

	if (i + 2 < len && p[i] == ':' && msk_digit(p[i + 1]))
		i += 3;
	if (i + 1 < len && (p[i] == '.' || p[i] == ',') && msk_digit(p[i + 1]))
		for (i++; i < len && msk_digit(p[i]); i++)
			;
	return i;
}

int msk_truncate(const struct msk_rule *r, const uint8_t *in, size_t len,
		 struct spot_buf *out)
{
	struct msk_date dt;
	size_t from = MSK_TIME_AT, end;
	uint8_t *w;
	int rc;

	if (msk_date_parse(in, len, true, &dt))
		return -EINVAL;
	rc = spot_buf_reserve(out, len);
	if (rc)
		return rc;
	w = out->p + out->len;
	memcpy(w, in, len);
	if (r->trunc_to == MSK_TRUNC_YEAR)
		msk_put2(w + 5, 1);
	if (r->trunc_to >= MSK_TRUNC_MONTH)
		msk_put2(w + 8, 1);
	if (r->trunc_to == MSK_TRUNC_HOUR)
		from = MSK_TIME_AT + 3; /* keep HH */
	if (len > MSK_DATE_LEN) {
		end = msk_time_end(in, len);
		for (size_t i = from; i < end; i++)
			if (msk_digit(w[i]))
				w[i] = '0';
	}
	out->len += len;
	out->p[out->len] = 0;
	return 0;
}

/* ---- numbers ---- */

/* Integers rounded half away from zero to a multiple of s, exactly. */
static int msk_round_int(int64_t v, int64_t s, int64_t *out)
{
	int64_t m = v % s, a = m < 0 ? -m : m;

	if (a && a >= s - a) /* half or past it: away from zero */
		return __builtin_add_overflow(v - m, m < 0 ? -s : s, out)
			       ? -EINVAL
			       : 0;
	*out = v - m;
	return 0;
}

static int msk_put_int(int64_t v, struct spot_buf *out)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return spot_buf_append(out, p, (size_t)(buf + sizeof(buf) - p));
}

/* [-]digits of at most 18 digits (the common cell), without strtoll. */
static bool msk_small_int(const uint8_t *p, size_t len, struct msk_num *n)
{
	size_t i = len && p[0] == '-';
	int64_t v = 0;

	if (len - i < 1 || len - i > 18)
		return false;
	for (; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	memset(n, 0, sizeof(*n));
	n->is_int = true;
	n->i = p[0] == '-' ? -v : v;
	n->d = (double)n->i;
	return true;
}

/* A value clamped to bound x (a config number): as the column's type. */
static int msk_round_bound(const struct msk_rule *r, double x, bool as_int,
			   bool is_min, struct spot_buf *out)
{
	if (as_int) {
		x = is_min ? ceil(x) : floor(x);
		if (!(fabs(x) < MSK_INT_EXACT))
			return -EINVAL;
		return msk_put_int((int64_t)x, out);
	}
	if (fabs(x) < 0.5 * pow(10, -r->round_decimals))
		x = 0; /* no "-0.00" */
	return spot_buf_printf(out, "%.*f", r->round_decimals, x);
}

/*
 * round, exactly: the value ±a * 10^e and the step b * 10^-d are
 * decimals, k = round half away from zero of value / step, served as
 * k * b with d places (an integer column: rounded to a whole number).
 * A number of more than MSK_DEC_DIGITS significant digits, or whose
 * multiple would have more, is refused; none goes through a double.
 */
int msk_round(const struct msk_rule *r, const uint8_t *in, size_t len,
	      enum pipe_type in_type, struct spot_buf *out)
{
	double s = r->round_step, sd, rd;
	int d = r->round_decimals, t;
	struct msk_dec v;
	struct msk_num n;
	u128 num, den, k, q, b, rem;
	bool as_int;
	int64_t iv;

	if (msk_small_int(in, len, &n) && s == floor(s)) {
		/* The common cell: int64 arithmetic, refused past int64. */
		if (msk_round_int(n.i, (int64_t)s, &iv))
			return -EINVAL;
		if (r->round_has_min && (double)iv < r->round_min)
			iv = (int64_t)ceil(r->round_min);
		if (r->round_has_max && (double)iv > r->round_max)
			iv = (int64_t)floor(r->round_max);
		return msk_put_int(iv, out);
	}
	if (d < 0 || d > MSK_ROUND_PLACES || msk_dec_parse(in, len, &v))
		return -EINVAL;
	/* The step's digits: below 10^30, exact from its d-place text. */
	sd = round(s * pow(10, d));
	if (!(sd >= 1) || sd >= 1e17)
		return -EINVAL;
	b = (u128)sd;
	t = v.e + d;
	if (!v.a) {
		num = 0;
		den = 1;
	} else if (t >= 0) {
		if (v.digits + t > MSK_DEC_DIGITS)
			return -EINVAL; /* a multiple of more than 36 digits */
		num = v.a * msk_dec_pow10(t);
		den = b;
	} else if (v.digits + 1 < msk_dec_ndigits(b) - t) {
		num = 0; /* below a tenth of the step */
		den = 1;
	} else {
		num = v.a;
		den = b * msk_dec_pow10(-t); /* at most 10^37 */
	}
	k = num / den;
	rem = num % den;
	k += rem && rem >= den - rem;
	q = k * b; /* units of 10^-d */
	as_int = in_type == PIPE_INT || (v.lit_int && !d);
	rd = (double)q / pow(10, d) * (v.neg ? -1 : 1);
	if (r->round_has_min && rd < r->round_min)
		return msk_round_bound(r, r->round_min, as_int, true, out);
	if (r->round_has_max && rd > r->round_max)
		return msk_round_bound(r, r->round_max, as_int, false, out);
	if (as_int && d) {
		u128 p = msk_dec_pow10(d);

		rem = q % p;
		q = q / p + (rem && rem >= p - rem);
		d = 0;
	}
	/* An integer that fits int64 stays within it (an INT64 column). */
	if (!d && !msk_dec_units(&v, 0, &num) &&
	    num <= (u128)INT64_MAX + v.neg && q > (u128)INT64_MAX + v.neg)
		return -EINVAL;
	return msk_dec_put(out, v.neg, q, d);
}

/* ---- text ---- */

int msk_scramble(const struct msk_keys *k, const uint8_t *in, size_t len,
		 struct spot_buf *out)
{
	uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
	uint8_t *w, *f;
	int rc;

	rc = spot_buf_reserve(out, 2 * len);
	if (rc)
		return rc;
	/* A keystream per value: the nonce is a keyed hash of the value. */
	crypto_shorthash_siphash24(nonce, in, len, k->scramble);
	/* Its characters as scramble sees them (methods_fold.c): all ASCII,
	 * fullwidth and other scripts' digits as ASCII ones, any other
	 * character outside ASCII masked. */
	f = out->p + out->len + len;
	len = msk_fold(in, len, '*', f);
	w = out->p + out->len;
	crypto_stream_chacha20(w, len, nonce, k->scramble + MSK_SIP_KEY_LEN);
	for (size_t i = 0; i < len; i++) {
		uint8_t c = f[i], z = w[i];

		if (c >= '0' && c <= '9')
			w[i] = (uint8_t)('0' + (z * 10u >> 8));
		else if (c >= 'a' && c <= 'z')
			w[i] = (uint8_t)('a' + (z * 26u >> 8));
		else if (c >= 'A' && c <= 'Z')
			w[i] = (uint8_t)('A' + (z * 26u >> 8));
		else
			w[i] = c;
	}
	out->len += len;
	out->p[out->len] = 0;
	return 0;
}

/* ---- row samples ---- */

static uint64_t msk_le64(const uint8_t h[8])
{
	uint64_t x = 0;

	for (size_t i = 0; i < 8; i++)
		x |= (uint64_t)h[i] << (8 * i);
	return x;
}

void msk_dp_seed(const struct msk_keys *k, const char *label, uint8_t seed[32])
{
	crypto_generichash(seed, 32, (const uint8_t *)label, strlen(label),
			   k->dp, sizeof(k->dp));
}

uint64_t msk_sample_seed(const struct msk_keys *k, const char *view)
{
	uint8_t h[8];

	crypto_shorthash_siphash24(h, (const uint8_t *)view, strlen(view),
				   k->sample);
	return msk_le64(h);
}

bool msk_sample_keep(const struct msk_keys *k, uint64_t seed, uint64_t row,
		     double rate)
{
	uint8_t in[16], h[8];

	for (size_t i = 0; i < 8; i++) {
		in[i] = (uint8_t)(seed >> (8 * i));
		in[8 + i] = (uint8_t)(row >> (8 * i));
	}
	crypto_shorthash_siphash24(h, in, sizeof(in), k->sample);
	/* 53 bits as a uniform number in [0, 1). */
	return (double)(msk_le64(h) >> 11) * 0x1p-53 < rate;
}

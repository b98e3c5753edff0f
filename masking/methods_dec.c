/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * methods_dec.c - exact decimal arithmetic for round, noise and shift on
 * numbers: a number's text is read as ±a * 10^e with a of at most
 * MSK_DEC_DIGITS significant digits (unsigned __int128), so rounding to a
 * step, adding noise or seconds never goes through a double and a number
 * past a double's precision is served exactly; a number with more
 * significant digits is refused (-EINVAL), never rounded silently.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "methods_i.h"

#define MSK_DEC_EXP_MAX 100000 /* |exponent| read; beyond: refused */

u128 msk_dec_pow10(int n)
{
	u128 x = 1;

	while (n-- > 0)
		x *= 10;
	return x;
}

int msk_dec_ndigits(u128 a)
{
	int n = 1;

	for (u128 p = 10; n <= MSK_DEC_DIGITS && a >= p; p *= 10)
		n++;
	return n;
}

static bool msk_dec_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

int msk_dec_parse(const uint8_t *p, size_t len, struct msk_dec *d)
{
	size_t i = 0, s = 0, pend = 0, frac = 0, nd = 0;
	long ex = 0;
	bool dot = false, eneg = false;

	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	while (s < len && (p[s] == ' ' || p[s] == '\t'))
		s++;
	memset(d, 0, sizeof(*d));
	i = s;
	if (i < len && (p[i] == '+' || p[i] == '-'))
		d->neg = p[i++] == '-';
	for (; i < len; i++) {
		if (p[i] == '.' && !dot) {
			dot = true;
			continue;
		}
		if (!msk_dec_digit(p[i]))
			break;
		nd++;
		frac += dot;
		if (p[i] == '0') {
			pend += d->a != 0; /* zeros after a digit: pending */
			continue;
		}
		/* pend zeros then this digit; 10^(pend + 1) * a must fit */
		if (d->digits + (int)pend + 1 > MSK_DEC_DIGITS)
			return -ERANGE;
		d->a = d->a * msk_dec_pow10((int)pend + 1) + (u128)(p[i] - '0');
		d->digits += (int)pend + 1;
		pend = 0;
	}
	if (!nd)
		return -EINVAL;
	if (i < len && (p[i] == 'e' || p[i] == 'E')) {
		size_t e0;

		d->exp = true;
		if (++i < len && (p[i] == '+' || p[i] == '-'))
			eneg = p[i++] == '-';
		for (e0 = i; i < len && msk_dec_digit(p[i]); i++)
			if (ex <= MSK_DEC_EXP_MAX)
				ex = ex * 10 + (p[i] - '0');
		if (i == e0)
			return -EINVAL;
		if (ex > MSK_DEC_EXP_MAX)
			return -ERANGE;
	}
	if (i != len)
		return -EINVAL;
	if (eneg)
		ex = -ex;
	d->lit_int = !dot && !d->exp;
	d->places = (long)frac - ex > 0 ? (int)((long)frac - ex) : 0;
	if (!d->a) {
		d->neg = false; /* -0 is 0 */
		return 0;
	}
	d->e = (int)(ex - (long)frac + (long)pend);
	return 0;
}

/*
 * The value of d in units of 10^-places, rounded half away from zero
 * when d has more places: *u, its magnitude. -ERANGE when it has more
 * than MSK_DEC_DIGITS digits.
 */
int msk_dec_units(const struct msk_dec *d, int places, u128 *u)
{
	int t = d->e + places;

	if (!d->a) {
		*u = 0;
		return 0;
	}
	if (t >= 0) {
		if (d->digits + t > MSK_DEC_DIGITS)
			return -ERANGE;
		*u = d->a * msk_dec_pow10(t);
		return 0;
	}
	if (-t > d->digits) { /* below half a unit */
		*u = 0;
		return 0;
	}
	{
		u128 den = msk_dec_pow10(-t), q = d->a / den, r = d->a % den;

		*u = q + (r && r >= den - r);
	}
	return 0;
}

/* The magnitude a as decimal digits; places of them after a '.'. */
int msk_dec_put(struct spot_buf *out, bool neg, u128 a, int places)
{
	char buf[MSK_DEC_DIGITS + 8];
	size_t n = 0, at = out->len;
	int rc;

	do {
		buf[n++] = (char)('0' + (int)(a % 10));
		a /= 10;
	} while (a || (int)n < places + 1);
	if (neg) {
		bool zero = true;

		for (size_t i = 0; i < n; i++)
			zero &= buf[i] == '0';
		neg = !zero; /* no "-0.00" */
	}
	rc = spot_buf_reserve(out, n + 2);
	if (rc)
		return rc;
	if (neg)
		out->p[at++] = '-';
	while (n--) {
		out->p[at++] = (uint8_t)buf[n];
		if (places && (int)n == places)
			out->p[at++] = '.';
	}
	out->len = at;
	out->p[at] = 0;
	return 0;
}

/* A signed sum of magnitudes: ±a + ±b, as a sign and a magnitude. */
int msk_dec_add(bool an, u128 a, bool bn, u128 b, bool *neg, u128 *out)
{
	const u128 lim = msk_dec_pow10(MSK_DEC_DIGITS);

	if (an == bn) {
		if (a >= lim || b >= lim || a + b >= lim)
			return -ERANGE;
		*out = a + b;
		*neg = an;
	} else if (a >= b) {
		*out = a - b;
		*neg = an;
	} else {
		*out = b - a;
		*neg = bn;
	}
	return 0;
}

/* The whole number nearest x (|x| below 10^MSK_DEC_DIGITS). -ERANGE. */
int msk_dec_from_double(double x, bool *neg, u128 *out)
{
	double r = round(fabs(x));

	if (!isfinite(r) || !(r < 1e36))
		return -ERANGE;
	*neg = x < 0;
	*out = (u128)r;
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dp_sample.c - exact rationals, a ChaCha20 bit stream and the exact
 * integer samplers of Canonne, Kamath and Steinke (2020): Bernoulli(p),
 * Bernoulli(exp(-gamma)), the discrete Laplace and the discrete Gaussian;
 * then the declared domains of dp.h and ISO dates.
 *
 * No floating-point value takes part in sampling: every probability is a
 * rational of unsigned 128-bit integers, every coin a uniform integer
 * below a denominator, drawn by rejection so that it is unbiased.
 *
 * Limits (what the samplers refuse or round):
 *  - dp_dlaplace works for any scale num/den (num, den >= 1); a draw whose
 *    magnitude passes INT64_MAX saturates there. Callers keep the scale
 *    at most DP_SCALE_MAX, where that has probability below exp(-2^23).
 *  - dp_dgauss needs sigma^2 = num/den <= DP_SIGMA2_MAX (2^62); above it
 *    the draw is refused: it returns INT64_MAX, which callers must never
 *    reach (dp_query_check refuses such parameters). A den above 2^62 is
 *    num or den above 2^62 is coarsened first, rounding sigma^2 UP (more
 *    noise, never less). A candidate whose |y| den t does not fit 128
 *    bits (its acceptance exponent is then above 2^128) is rejected: a
 *    change of the distribution smaller than exp(-2^128).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dp.h"

typedef unsigned __int128 u128;

#define DP_TWO62 ((uint64_t)1 << 62)

/* ---- exact rationals ---- */

static uint64_t dp_gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

int dp_ratio_parse(const char *s, struct dp_ratio *out)
{
	uint64_t num = 0, den = 1;
	size_t ip = 0, fp = 0;
	const char *p = s;

	if (!s)
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++, ip++) {
		if (num > 1000000)
			return -EINVAL; /* the value passes 1e6: stop early */
		num = num * 10 + (uint64_t)(*p - '0');
	}
	if (!ip)
		return -EINVAL; /* "", ".5", "-1", " 1" */
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, fp++) {
			if (fp == 9)
				return -EINVAL;
			num = num * 10 + (uint64_t)(*p - '0');
			den *= 10;
		}
		if (!fp)
			return -EINVAL; /* "1." */
	}
	if (*p)
		return -EINVAL; /* sign, exponent, space, a second '.' */
	if (num > 1000000 * den)
		return -EINVAL;
	while (den > 1 && num % 10 == 0) {
		num /= 10;
		den /= 10;
	}
	out->num = num;
	out->den = den;
	return 0;
}

uint64_t dp_ratio_nano(struct dp_ratio r)
{
	u128 v;

	if (!r.den)
		return UINT64_MAX;
	/* Rounded up: a charge is never smaller than the epsilon spent. */
	v = ((u128)r.num * 1000000000u + r.den - 1) / r.den;
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

void dp_nano_text(uint64_t nano, char *buf, size_t len)
{
	size_t l;

	snprintf(buf, len, "%llu.%09llu",
		 (unsigned long long)(nano / 1000000000u),
		 (unsigned long long)(nano % 1000000000u));
	for (l = strlen(buf); l > 2 && buf[l - 1] == '0' && buf[l - 2] != '.';
	     l--)
		buf[l - 1] = 0;
}

double dp_ratio_value(struct dp_ratio r)
{
	return r.den ? (double)r.num / (double)r.den : 0.0;
}

void dp_ratio_text(struct dp_ratio r, char *buf, size_t len)
{
	uint64_t g, den, dred, p10 = 1;
	unsigned twos = 0, fives = 0, k, i;
	u128 scaled, ipart, frac;
	char digits[24];

	if (!len)
		return;
	if (!r.den) {
		snprintf(buf, len, "nan");
		return;
	}
	g = dp_gcd(r.num, r.den); /* den >= 1: g >= 1 */
	dred = den = r.den / g;
	r.num /= g;
	while (den % 2 == 0) {
		den /= 2;
		twos++;
	}
	while (den % 5 == 0) {
		den /= 5;
		fives++;
	}
	k = twos > fives ? twos : fives;
	if (den != 1 || k > 18)
		goto approx; /* no short exact decimal */
	for (i = 0; i < k; i++)
		p10 *= 10;
	/* r = num / (2^twos 5^fives) = num * (10^k / den) / 10^k */
	scaled = (u128)r.num * (p10 / dred);
	ipart = scaled / p10;
	frac = scaled % p10;
	if (ipart > UINT64_MAX)
		goto approx;
	if (!k) {
		snprintf(buf, len, "%llu", (unsigned long long)ipart);
		return;
	}
	snprintf(digits, sizeof(digits), "%0*llu", (int)k,
		 (unsigned long long)frac);
	for (i = k; i > 1 && digits[i - 1] == '0'; i--)
		digits[i - 1] = '\0';
	snprintf(buf, len, "%llu.%s", (unsigned long long)ipart, digits);
	return;
approx:
	snprintf(buf, len, "%.9g", dp_ratio_value(r));
}

/* ---- the bit stream ---- */

void dp_rng_init(struct dp_rng *r, const uint8_t seed[32])
{
	memcpy(r->key, seed, sizeof(r->key));
	r->block = 0;
	r->pos = sizeof(r->buf); /* empty: the first draw fills it */
}

void dp_rng_wipe(struct dp_rng *r)
{
	sodium_memzero(r, sizeof(*r));
}

static void dp_rng_fill(struct dp_rng *r)
{
	static const uint8_t zero[sizeof(r->buf)];
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];

	/* Keystream blocks block.. of ChaCha20 (64-bit counter): the
	 * stream is a pure function of the key. */
	crypto_stream_chacha20_xor_ic(r->buf, zero, sizeof(r->buf), nonce,
				      r->block, r->key);
	r->block += sizeof(r->buf) / 64;
	r->pos = 0;
}

uint64_t dp_rng_u64(struct dp_rng *r)
{
	uint64_t v = 0;
	unsigned i;

	if (r->pos + 8 > sizeof(r->buf))
		dp_rng_fill(r);
	for (i = 0; i < 8; i++) /* little endian, whatever the host */
		v |= (uint64_t)r->buf[r->pos + i] << (8 * i);
	r->pos += 8;
	return v;
}

uint64_t dp_rng_below(struct dp_rng *r, uint64_t n)
{
	uint64_t lim, x;

	if (n <= 1)
		return 0;
	/* Reject the lowest 2^64 mod n values: what is left is a whole
	 * number of copies of [0, n). */
	lim = (0 - n) % n;
	do
		x = dp_rng_u64(r);
	while (x < lim);
	return x % n;
}

static u128 dp_rng_below128(struct dp_rng *r, u128 n)
{
	u128 lim, x;

	if (n <= UINT64_MAX)
		return dp_rng_below(r, (uint64_t)n);
	lim = (0 - n) % n;
	do {
		x = (u128)dp_rng_u64(r) << 64;
		x |= dp_rng_u64(r);
	} while (x < lim);
	return x % n;
}

/* ---- Bernoulli coins ---- */

bool dp_bernoulli(struct dp_rng *r, uint64_t num, uint64_t den)
{
	if (!den || num >= den)
		return num >= den && den;
	return dp_rng_below(r, den) < num;
}

static bool dp_bern128(struct dp_rng *r, u128 num, u128 den)
{
	if (num >= den)
		return true;
	return dp_rng_below128(r, den) < num;
}

/*
 * Bernoulli(exp(-num/den)) for num <= den: draw A_k ~ Bernoulli(gamma/k)
 * for k = 1, 2, ... until one is 0; the answer is whether that k is odd
 * (P = sum of (-gamma)^j / j! = exp(-gamma)).
 */
static bool dp_bexp_frac(struct dp_rng *r, u128 num, u128 den)
{
	u128 k = 1, dk;
	bool a;

	for (;;) {
		if (__builtin_mul_overflow(den, k, &dk))
			/* Bernoulli(gamma/k) as Bernoulli(gamma) and
			 * Bernoulli(1/k), independent. */
			a = dp_bern128(r, num, den) && dp_bern128(r, 1, k);
		else
			a = dp_rng_below128(r, dk) < num;
		if (!a)
			break;
		k++;
	}
	return k & 1;
}

/* Bernoulli(exp(-num/den)) for any rational: one Bernoulli(exp(-1)) per
 * unit of the integer part, then the fraction. */
static bool dp_bexp128(struct dp_rng *r, u128 num, u128 den)
{
	u128 q = num / den, i;

	for (i = 0; i < q; i++)
		if (!dp_bexp_frac(r, 1, 1))
			return false; /* almost surely after a few */
	return dp_bexp_frac(r, num % den, den);
}

bool dp_bernoulli_exp(struct dp_rng *r, uint64_t num, uint64_t den)
{
	if (!den)
		return false;
	return dp_bexp128(r, num, den);
}

/*
 * Bernoulli(exp(-a^2/b)) without forming a^2: with m = b / a (at least 1)
 * and a = q m + rem, a^2/b = q (a m / b) + a rem / b, where a m <= max(a, b)
 * and a rem < a m fit 128 bits, and each of the q factors is about exp(-1).
 */
static bool dp_bexp_sq(struct dp_rng *r, u128 a, u128 b)
{
	u128 m, q, i;

	if (!a)
		return true;
	m = b / a;
	if (!m)
		m = 1;
	q = a / m;
	for (i = 0; i < q; i++)
		if (!dp_bexp128(r, a * m, b))
			return false;
	return dp_bexp128(r, a * (a % m), b);
}

/* ---- discrete Laplace and Gaussian ---- */

/* Discrete Laplace of scale t/s (CKS20 Algorithm 2), s, t >= 1. */
static int64_t dp_dlap(struct dp_rng *r, uint64_t t, uint64_t s)
{
	for (;;) {
		uint64_t u = dp_rng_below(r, t), v = 0;
		u128 x, y;
		bool neg;

		if (!dp_bexp_frac(r, u, t))
			continue;
		while (dp_bexp_frac(r, 1, 1))
			v++;
		x = (u128)u + (u128)t * v; /* v < 2^64: fits */
		y = x / s;
		neg = dp_rng_u64(r) & 1;
		if (neg && !y)
			continue; /* 0 would be counted twice */
		if (y > INT64_MAX)
			y = INT64_MAX;
		return neg ? -(int64_t)y : (int64_t)y;
	}
}

int64_t dp_dlaplace(struct dp_rng *r, uint64_t num, uint64_t den)
{
	if (!num || !den)
		return 0;
	return dp_dlap(r, num, den);
}

static uint64_t dp_isqrt(uint64_t n)
{
	uint64_t x = (uint64_t)sqrtl((long double)n);

	/* The float is only a guess: the answer is checked on integers. */
	while (x && (u128)x * x > n)
		x--;
	while ((u128)(x + 1) * (x + 1) <= n)
		x++;
	return x;
}

int64_t dp_dgauss(struct dp_rng *r, uint64_t num, uint64_t den)
{
	uint64_t g, t;
	u128 dt, b;

	if (!num || !den)
		return 0;
	g = dp_gcd(num, den);
	num /= g;
	den /= g;
	while ((den > DP_TWO62 || num > DP_TWO62) && den > 1) {
		den >>= 1; /* coarser: sigma^2 rounded up */
		num = (num >> 1) + 1;
	}
	if (num > DP_SIGMA2_MAX)
		return INT64_MAX;    /* refused: see the top of this file */
	t = dp_isqrt(num / den) + 1; /* floor(sigma) + 1 */
	dt = (u128)den * t;
	b = 2 * (u128)num * dt * t; /* < 2^127 with num, den <= 2^62 */
	for (;;) {
		int64_t y = dp_dlap(r, t, 1);
		uint64_t ay = y < 0 ? -(uint64_t)y : (uint64_t)y;
		u128 ydt, a;

		/* Accept with exp(-(|y| - sigma^2/t)^2 / (2 sigma^2))
		 * = exp(-(|y| den t - num)^2 / (2 num den t^2)). */
		if (__builtin_mul_overflow((u128)ay, dt, &ydt))
			continue; /* exponent above 2^128 */
		a = ydt >= num ? ydt - num : num - ydt;
		if (dp_bexp_sq(r, a, b))
			return y;
	}
}

/* ---- declared domains ---- */

size_t dp_domain_size(const struct dp_domain *d)
{
	if (d->cats)
		return d->ncats;
	return d->nedges >= 2 ? d->nedges - 1 : 0;
}

static bool dp_is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static unsigned dp_num2(const uint8_t *p)
{
	return (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
}

int dp_date_days(const uint8_t *p, size_t len, int64_t *days)
{
	static const unsigned mdays[12] = { 31, 28, 31, 30, 31, 30,
					    31, 31, 30, 31, 30, 31 };
	unsigned y, m, d, dim;
	size_t i;

	if (len < 10 || p[4] != '-' || p[7] != '-')
		return -EINVAL;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !dp_is_digit(p[i]))
			return -EINVAL;
	if (len > 10 && dp_is_digit(p[10]))
		return -EINVAL; /* "2020-01-011": not a day */
	y = dp_num2(p) * 100 + dp_num2(p + 2);
	m = dp_num2(p + 5);
	d = dp_num2(p + 8);
	if (m < 1 || m > 12 || d < 1)
		return -EINVAL;
	dim = mdays[m - 1];
	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		dim = 29;
	if (d > dim)
		return -EINVAL;
	*days = spot_days_from_civil(y, m, d);
	return 0;
}

int dp_cell_number(const struct pipe_cell *c, double *v)
{
	char tmp[72], *end;
	size_t i = 0, n, digits = 0;
	const uint8_t *p;
	double x;

	if (!c || !c->p || c->type == PIPE_NULL || c->type == PIPE_BLOB)
		return -EINVAL;
	p = c->p;
	n = c->len;
	if (!n || n >= sizeof(tmp))
		return -EINVAL;
	if (p[i] == '+' || p[i] == '-')
		i++;
	for (; i < n && dp_is_digit(p[i]); i++)
		digits++;
	if (i < n && p[i] == '.')
		for (i++; i < n && dp_is_digit(p[i]); i++)
			digits++;
	if (!digits)
		return -EINVAL;
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		size_t ed = 0;

		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		for (; i < n && dp_is_digit(p[i]); i++)
			ed++;
		if (!ed)
			return -EINVAL;
	}
	if (i != n)
		return -EINVAL;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	x = strtod(tmp, &end);
	if (end != tmp + n || !isfinite(x))
		return -EINVAL; /* 1e999 */
	*v = x;
	return 0;
}

long dp_domain_index(const struct dp_domain *d, const struct pipe_cell *c)
{
	size_t lo, hi, n;
	double v;

	if (!c || c->type == PIPE_NULL || (!c->p && c->len))
		return -1;
	if (d->cats) {
		for (size_t i = 0; i < d->ncats; i++)
			if (d->cats[i] && strlen(d->cats[i]) == c->len &&
			    (!c->len || !memcmp(d->cats[i], c->p, c->len)))
				return (long)i;
		return -1;
	}
	n = d->nedges;
	if (n < 2)
		return -1;
	if (d->dates) {
		int64_t days;

		if (c->type == PIPE_BLOB || dp_date_days(c->p, c->len, &days))
			return -1;
		v = (double)days;
	} else if (dp_cell_number(c, &v)) {
		return -1;
	}
	if (!(v >= d->edges[0]) || v > d->edges[n - 1])
		return -1;
	if (v == d->edges[n - 1])
		return (long)(n - 2); /* the last bin is closed */
	lo = 0;			      /* edges[lo] <= v < edges[hi] */
	hi = n - 1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->edges[mid] <= v)
			lo = mid;
		else
			hi = mid;
	}
	return (long)lo;
}

/* An edge as short text that reads back as the same double. */
static int dp_edge_text(const struct dp_domain *d, double e,
			struct spot_buf *out)
{
	char tmp[40];

	if (d->dates) {
		int64_t y;
		unsigned m, dd;

		spot_civil_from_days((int64_t)e, &y, &m, &dd);
		return spot_buf_printf(out, "%04lld-%02u-%02u", (long long)y, m,
				       dd);
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, e);
		if (strtod(tmp, NULL) == e)
			break;
	}
	return spot_buf_printf(out, "%s", tmp);
}

int dp_domain_label(const struct dp_domain *d, size_t i, struct spot_buf *out)
{
	int rc;

	if (d->cats)
		return i < d->ncats ? spot_buf_printf(out, "%s", d->cats[i])
				    : -EINVAL;
	if (i + 1 >= d->nedges)
		return -EINVAL;
	rc = spot_buf_putc(out, '[');
	if (!rc)
		rc = dp_edge_text(d, d->edges[i], out);
	if (!rc)
		rc = spot_buf_printf(out, ", ");
	if (!rc)
		rc = dp_edge_text(d, d->edges[i + 1], out);
	if (!rc)
		rc = spot_buf_putc(out, i + 2 == d->nedges ? ']' : ')');
	return rc;
}

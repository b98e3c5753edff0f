/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_value.c - text forms of Parquet values for the masking pipeline, and
 * parsing masked text back into the column's physical type.
 */
#include "pq_value.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PQ_TEXT_MAX 96 /* longest text form (a 38-digit decimal, a date) */
#define PQ_NANOS_PER_DAY 86400000000000LL
#define PQ_JULIAN_EPOCH 2440588 /* Julian day of 1970-01-01 (INT96) */

static int64_t pq_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static const int64_t pq_unit_per_sec[] = { 1000, 1000000, 1000000000 };
static const int pq_unit_digits[] = { 3, 6, 9 };

/* ---- formatting ---- */

static int pq_fmt_date(char *buf, size_t n, int64_t days)
{
	int64_t y;
	unsigned m, d;

	spot_civil_from_days(days, &y, &m, &d);
	return snprintf(buf, n, "%04" PRId64 "-%02u-%02u", y, m, d);
}

/* Time of day: v in unit since midnight (0 <= v < one day). */
static int pq_fmt_tod(char *buf, size_t n, int64_t v, int unit)
{
	int64_t ups = pq_unit_per_sec[unit], s = v / ups;

	return snprintf(
		buf, n, "%02" PRId64 ":%02" PRId64 ":%02" PRId64 ".%0*" PRId64,
		s / 3600, s / 60 % 60, s % 60, pq_unit_digits[unit], v % ups);
}

static int pq_fmt_ts(char *buf, size_t n, int64_t v, int unit)
{
	int64_t per_day = 86400 * pq_unit_per_sec[unit];
	int64_t days = pq_floordiv(v, per_day);
	/* The time of day from the remainder: days * per_day may overflow
	 * for v near INT64_MIN (found by fuzz_parquet). */
	int64_t tod = v % per_day < 0 ? v % per_day + per_day : v % per_day;
	int k = pq_fmt_date(buf, n, days);

	if (k < 0 || (size_t)k + 1 >= n)
		return -1;
	buf[k++] = ' ';
	return k + pq_fmt_tod(buf + k, n - (size_t)k, tod, unit);
}

static int pq_fmt_dec(char *buf, size_t n, __int128 v, int32_t scale)
{
	char dig[48];
	int nd = 0, k = 0, i;
	unsigned __int128 u =
		v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;

	if (scale < 0 || scale > 38 || n < 48 + 4)
		return -1;
	do {
		dig[nd++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	while (nd <= scale)
		dig[nd++] = '0';
	if (v < 0)
		buf[k++] = '-';
	for (i = nd - 1; i >= 0; i--) {
		buf[k++] = dig[i];
		if (i == scale && scale > 0)
			buf[k++] = '.';
	}
	buf[k] = 0;
	return k;
}

/* Big-endian two's complement (1..16 bytes) to an integer. */
static int pq_be_to_i128(const uint8_t *p, uint32_t len, __int128 *out)
{
	unsigned __int128 u;
	uint32_t i;

	if (!len || len > 16)
		return -EINVAL;
	u = (p[0] & 0x80) ? ~(unsigned __int128)0 : 0;
	for (i = 0; i < len; i++)
		u = u << 8 | p[i];
	*out = (__int128)u;
	return 0;
}

static int pq_fmt_uuid(char *buf, const uint8_t *p)
{
	static const char hex[] = "0123456789abcdef";
	int i, k = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[k++] = '-';
		buf[k++] = hex[p[i] >> 4];
		buf[k++] = hex[p[i] & 15];
	}
	buf[k] = 0;
	return k;
}

static int64_t pq_get_i64(const uint8_t *p, int ptype)
{
	int32_t v32;
	int64_t v64;

	if (ptype == PQ_INT32) {
		memcpy(&v32, p, 4);
		return v32;
	}
	memcpy(&v64, p, 8);
	return v64;
}

/* Text of a fixed-width or decimal value into buf; cell type in *type. */
static int pq_fmt(const struct pq_leaf *l, const uint8_t *p, uint32_t len,
		  char *buf, size_t n, uint8_t *type)
{
	__int128 dv;
	int64_t v = 0, nanos;
	float f;
	double d;

	*type = PIPE_TEXT;
	if (l->ptype == PQ_INT32 || l->ptype == PQ_INT64)
		v = pq_get_i64(p, l->ptype);
	if (l->ltype == PQ_LT_DECIMAL) {
		*type = PIPE_REAL;
		if (l->ptype == PQ_INT32 || l->ptype == PQ_INT64)
			dv = v;
		else if (pq_be_to_i128(p, len, &dv))
			return -1;
		return pq_fmt_dec(buf, n, dv, l->scale);
	}
	switch (l->ptype) {
	case PQ_BOOLEAN:
		return snprintf(buf, n, "%s", p[0] ? "true" : "false");
	case PQ_INT32:
	case PQ_INT64:
		if (l->ltype == PQ_LT_DATE && l->ptype == PQ_INT32)
			return pq_fmt_date(buf, n, v);
		if (l->ltype == PQ_LT_TIMESTAMP)
			return pq_fmt_ts(buf, n, v, l->unit);
		if (l->ltype == PQ_LT_TIME && v >= 0 &&
		    v < 86400 * pq_unit_per_sec[l->unit])
			return pq_fmt_tod(buf, n, v, l->unit);
		*type = PIPE_INT;
		return snprintf(buf, n, "%" PRId64, v);
	case PQ_FLOAT:
		memcpy(&f, p, 4);
		*type = PIPE_REAL;
		return snprintf(buf, n, "%.9g", (double)f);
	case PQ_DOUBLE:
		memcpy(&d, p, 8);
		*type = PIPE_REAL;
		return snprintf(buf, n, "%.17g", d);
	case PQ_INT96:
		memcpy(&nanos, p, 8);
		memcpy(&v, p + 8, 4);
		v = (int32_t)v; /* the day is a 32-bit field */
		if (nanos < 0 || nanos >= PQ_NANOS_PER_DAY)
			return -1;
		return pq_fmt_ts(buf, n,
				 (v - PQ_JULIAN_EPOCH) * PQ_NANOS_PER_DAY +
					 nanos,
				 PQ_NANOS);
	default: /* FLBA */
		if (l->ltype == PQ_LT_UUID && len == 16)
			return pq_fmt_uuid(buf, p);
		return -1;
	}
}

int pq_value_to_cell(const struct pq_leaf *l, const uint8_t *p, uint32_t len,
		     struct spot_arena *a, struct pipe_cell *out)
{
	char buf[PQ_TEXT_MAX];
	int k = -1;

	memset(out, 0, sizeof(*out));
	if (l->ptype != PQ_BYTE_ARRAY || l->ltype == PQ_LT_DECIMAL)
		k = pq_fmt(l, p, len, buf, sizeof(buf), &out->type);
	if (k < 0 || (size_t)k >= sizeof(buf)) {
		/* Strings and raw bytes are served as they are. */
		out->type = l->ltype == PQ_LT_STRING ? PIPE_TEXT : PIPE_BLOB;
		out->p = p;
		out->len = len;
		return 0;
	}
	out->p = spot_arena_dup(a, buf, (size_t)k);
	out->len = (size_t)k;
	return out->p ? 0 : -ENOMEM;
}

/* ---- parsing ---- */

struct pq_scan {
	const char *s;
	size_t n, i;
};

static bool pq_scan_digits(struct pq_scan *sc, size_t min, size_t max,
			   int64_t *v, size_t *got)
{
	size_t k = 0;

	*v = 0;
	while (sc->i < sc->n && k < max && sc->s[sc->i] >= '0' &&
	       sc->s[sc->i] <= '9') {
		*v = *v * 10 + (sc->s[sc->i++] - '0');
		k++;
	}
	if (got)
		*got = k;
	return k >= min;
}

static bool pq_scan_char(struct pq_scan *sc, char c)
{
	if (sc->i < sc->n && sc->s[sc->i] == c) {
		sc->i++;
		return true;
	}
	return false;
}

static bool pq_parse_date(struct pq_scan *sc, int64_t *days)
{
	int64_t y, m, d;
	bool neg = pq_scan_char(sc, '-');

	if (!pq_scan_digits(sc, 4, 6, &y, NULL) || !pq_scan_char(sc, '-') ||
	    !pq_scan_digits(sc, 2, 2, &m, NULL) || !pq_scan_char(sc, '-') ||
	    !pq_scan_digits(sc, 2, 2, &d, NULL) || m < 1 || m > 12 || d < 1 ||
	    d > 31)
		return false;
	*days = spot_days_from_civil(neg ? -y : y, (unsigned)m, (unsigned)d);
	return true;
}

/* HH:MM:SS[.frac] as a count of unit. */
static bool pq_parse_tod(struct pq_scan *sc, int unit, int64_t *v)
{
	int64_t h, mi, s, frac = 0;
	size_t nd = 0;
	int k;

	if (!pq_scan_digits(sc, 2, 2, &h, NULL) || !pq_scan_char(sc, ':') ||
	    !pq_scan_digits(sc, 2, 2, &mi, NULL) || !pq_scan_char(sc, ':') ||
	    !pq_scan_digits(sc, 2, 2, &s, NULL) || h > 23 || mi > 59 || s > 60)
		return false;
	if (pq_scan_char(sc, '.') &&
	    !pq_scan_digits(sc, 1, (size_t)pq_unit_digits[unit], &frac, &nd))
		return false;
	for (k = (int)nd; k < pq_unit_digits[unit]; k++)
		frac *= 10;
	*v = ((h * 60 + mi) * 60 + s) * pq_unit_per_sec[unit] + frac;
	return true;
}

static bool pq_parse_ts(struct pq_scan *sc, int unit, int64_t *v)
{
	int64_t days, tod = 0;

	if (!pq_parse_date(sc, &days))
		return false;
	if (pq_scan_char(sc, ' ') || pq_scan_char(sc, 'T')) {
		if (!pq_parse_tod(sc, unit, &tod))
			return false;
	}
	if (!pq_scan_char(sc, 'Z') && pq_scan_char(sc, '+')) {
		int64_t z;

		if (!pq_scan_digits(sc, 2, 2, &z, NULL) || z != 0)
			return false;
		if (pq_scan_char(sc, ':') &&
		    (!pq_scan_digits(sc, 2, 2, &z, NULL) || z != 0))
			return false;
	}
	if (days > INT64_MAX / (86400 * pq_unit_per_sec[unit]) - 1 ||
	    days < INT64_MIN / (86400 * pq_unit_per_sec[unit]) + 1)
		return false;
	*v = days * 86400 * pq_unit_per_sec[unit] + tod;
	return true;
}

static bool pq_parse_dec(struct pq_scan *sc, int32_t scale, int32_t prec,
			 __int128 *out)
{
	__int128 v = 0, lim = 1;
	int ndig = 0, kept = 0, i;
	bool neg = pq_scan_char(sc, '-'), frac = false, round = false;
	bool dropped = false;

	if (!neg)
		pq_scan_char(sc, '+');
	for (; sc->i < sc->n; sc->i++) {
		char c = sc->s[sc->i];

		if (c == '.' && !frac) {
			frac = true;
			continue;
		}
		if (c < '0' || c > '9')
			break;
		ndig++;
		if (frac && kept == scale) {
			/* Round half up on the first digit past the scale. */
			if (!dropped)
				round = c >= '5';
			dropped = true;
			continue;
		}
		kept += frac;
		if (v > ((__int128)1 << 120))
			return false;
		v = v * 10 + (c - '0');
	}
	if (!ndig || scale < 0 || scale > 38)
		return false;
	for (i = kept; i < scale; i++)
		v *= 10;
	v += round;
	for (i = 0; i < (prec > 0 && prec <= 38 ? prec : 38); i++)
		lim *= 10;
	if (v >= lim)
		return false;
	*out = neg ? -v : v;
	return true;
}

static bool pq_parse_i64(struct pq_scan *sc, int64_t *v)
{
	char buf[32];
	char *end;

	if (sc->n == 0 || sc->n >= sizeof(buf))
		return false;
	memcpy(buf, sc->s, sc->n);
	buf[sc->n] = 0;
	errno = 0;
	*v = strtoll(buf, &end, 10);
	if (errno || *end || buf[0] == ' ' || buf[0] == '\t')
		return false;
	sc->i = sc->n;
	return true;
}

static bool pq_parse_real(struct pq_scan *sc, double *v)
{
	char buf[PQ_TEXT_MAX];
	char *end;

	if (sc->n == 0 || sc->n >= sizeof(buf))
		return false;
	memcpy(buf, sc->s, sc->n);
	buf[sc->n] = 0;
	*v = strtod(buf, &end);
	if (*end || buf[0] == ' ' || buf[0] == '\t')
		return false;
	sc->i = sc->n;
	return true;
}

static bool pq_parse_uuid(struct pq_scan *sc, uint8_t *out)
{
	int nib = 0;

	for (; sc->i < sc->n && nib < 32; sc->i++) {
		char c = sc->s[sc->i];
		int x;

		if (c == '-')
			continue;
		if (c >= '0' && c <= '9')
			x = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			x = (c | 0x20) - 'a' + 10;
		else
			return false;
		if (nib & 1)
			out[nib / 2] |= (uint8_t)x;
		else
			out[nib / 2] = (uint8_t)(x << 4);
		nib++;
	}
	return nib == 32;
}

/* Minimal big-endian two's complement of v in w bytes (0: minimal). */
static bool __int128_to_be(__int128 v, uint32_t w, uint8_t *out, uint32_t *len)
{
	uint32_t need = 1, i;

	while (need < 16 && (v >> (need * 8 - 1)) != 0 &&
	       (v >> (need * 8 - 1)) != -1)
		need++;
	if (w && need > w)
		return false;
	if (!w)
		w = need;
	for (i = 0; i < w; i++)
		out[w - 1 - i] = (uint8_t)(v >> (8 * (i < 16 ? i : 15)));
	*len = w;
	return true;
}

static bool pq_parse_int_type(const struct pq_leaf *l, struct pq_scan *sc,
			      int64_t *v)
{
	if (l->ltype == PQ_LT_DATE)
		return pq_parse_date(sc, v);
	if (l->ltype == PQ_LT_TIMESTAMP)
		return pq_parse_ts(sc, l->unit, v);
	if (l->ltype == PQ_LT_TIME)
		return pq_parse_tod(sc, l->unit, v) || pq_parse_i64(sc, v);
	return pq_parse_i64(sc, v);
}

static bool pq_parse_fixed(const struct pq_leaf *l, struct pq_scan *sc,
			   uint8_t *fixed, uint32_t *len)
{
	int64_t v;
	double d;
	float f;
	int32_t v32;

	switch (l->ptype) {
	case PQ_BOOLEAN:
		*len = 1;
		if ((sc->n == 4 && !memcmp(sc->s, "true", 4)) ||
		    (sc->n == 1 && sc->s[0] == '1'))
			fixed[0] = 1;
		else if ((sc->n == 5 && !memcmp(sc->s, "false", 5)) ||
			 (sc->n == 1 && sc->s[0] == '0'))
			fixed[0] = 0;
		else
			return false;
		sc->i = sc->n;
		return true;
	case PQ_INT32:
	case PQ_INT64:
		if (!pq_parse_int_type(l, sc, &v))
			return false;
		if (l->ptype == PQ_INT64) {
			memcpy(fixed, &v, 8);
			*len = 8;
			return true;
		}
		if (v < INT32_MIN || v > INT32_MAX)
			return false;
		v32 = (int32_t)v;
		memcpy(fixed, &v32, 4);
		*len = 4;
		return true;
	case PQ_FLOAT:
		if (!pq_parse_real(sc, &d))
			return false;
		f = (float)d;
		memcpy(fixed, &f, 4);
		*len = 4;
		return true;
	case PQ_DOUBLE:
		*len = 8;
		if (!pq_parse_real(sc, &d))
			return false;
		memcpy(fixed, &d, 8);
		return true;
	case PQ_INT96: {
		int64_t days, nanos;

		if (!pq_parse_ts(sc, PQ_NANOS, &v))
			return false;
		days = pq_floordiv(v, PQ_NANOS_PER_DAY);
		nanos = v - days * PQ_NANOS_PER_DAY;
		v32 = (int32_t)(days + PQ_JULIAN_EPOCH);
		memcpy(fixed, &nanos, 8);
		memcpy(fixed + 8, &v32, 4);
		*len = 12;
		return true;
	}
	default: /* FLBA */
		*len = (uint32_t)l->type_length;
		if (l->ltype == PQ_LT_UUID && l->type_length == 16)
			return pq_parse_uuid(sc, fixed);
		return false;
	}
}

int pq_value_from_cell(const struct pq_leaf *l, const struct pipe_cell *c,
		       uint8_t *fixed, const uint8_t **bytes, uint32_t *len)
{
	struct pq_scan sc = { (const char *)c->p, c->len, 0 };
	uint32_t w = pq_type_width(l->ptype, l->type_length);
	__int128 dv;

	*bytes = fixed;
	if (c->type == PIPE_NULL || c->len > UINT32_MAX)
		return -EINVAL;
	if (l->ltype == PQ_LT_DECIMAL && (l->ptype != PQ_FLBA || w <= 16)) {
		if (!pq_parse_dec(&sc, l->scale, l->precision, &dv) ||
		    sc.i != sc.n)
			return -EINVAL;
		if (l->ptype == PQ_INT32 || l->ptype == PQ_INT64) {
			int64_t v = (int64_t)dv;
			int32_t v32 = (int32_t)dv;

			if (dv != (__int128)v ||
			    (l->ptype == PQ_INT32 && dv != (__int128)v32))
				return -EINVAL;
			*len = w;
			memcpy(fixed,
			       l->ptype == PQ_INT32 ? (void *)&v32 : (void *)&v,
			       w);
			return 0;
		}
		return __int128_to_be(dv, l->ptype == PQ_FLBA ? w : 0, fixed,
				      len)
			       ? 0
			       : -EINVAL;
	}
	if (l->ptype == PQ_BYTE_ARRAY ||
	    (l->ptype == PQ_FLBA && l->ltype != PQ_LT_UUID)) {
		if (l->ptype == PQ_FLBA && c->len != w)
			return -EINVAL;
		*bytes = c->p;
		*len = (uint32_t)c->len;
		return 0;
	}
	if (!pq_parse_fixed(l, &sc, fixed, len) || sc.i != sc.n)
		return -EINVAL;
	return 0;
}

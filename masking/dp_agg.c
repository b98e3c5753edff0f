/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dp_agg.c - DP aggregates: exact counts and sums per cell of the declared
 * domains, then noise from dp_sample.c, served as a pipeline source.
 *
 * Which cells exist is a function of the query only (the declared domains,
 * never the data); a row whose group or bin falls outside them counts in
 * no cell. Sums are taken in integer units of 10^res_exp after clamping,
 * so one row moves a sum by at most `sens` units, and the noise is drawn
 * in those units: nothing but integers is perturbed. Noise is drawn cell
 * by cell in row order, the count's before the sum's, from one stream
 * keyed by the seed: the output is a pure function of (seed, exact cells).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dp.h"

typedef __int128 i128;
typedef unsigned __int128 u128;

/* Sums wider than this many units are refused (and kept exact below). */
#define DP_SENS_MAX ((uint64_t)1 << 53)
#define DP_MIN_COUNT_MAX ((uint64_t)1 << 62)
#define DP_DEN_MAX ((uint64_t)1 << 62) /* of epsilon and delta */
/* sigma^2 is rounded up to a multiple of 2^-DP_S2_FRAC_BITS. */
#define DP_S2_FRAC_BITS 20

/* The noise of one measured quantity: a discrete Laplace scale or a
 * discrete Gaussian sigma^2, num / den, in units. */
struct dp_noise {
	bool gauss;
	uint64_t num, den;
	struct dp_ratio eps;   /* its share of epsilon (num / den) */
	struct dp_ratio delta; /* its share of delta */
};

/* What a query measures, derived from it alone. */
struct dp_params {
	uint64_t sens; /* of the sum, in units */
	int64_t lo_u, hi_u;
	bool has_count, has_sum;
	struct dp_noise cnt, sum;
};

static const char *const dp_kind_names[] = { "count", "sum", "mean",
					     "histogram" };

static long double dp_pow10(int e)
{
	long double p = 1;

	for (int i = 0; i < (e < 0 ? -e : e); i++)
		p *= 10;
	return e < 0 ? 1 / p : p;
}

/* v in units of 10^r, rounded half away from zero. */
static long double dp_to_units(double v, int r)
{
	return r <= 0 ? (long double)v * dp_pow10(-r)
		      : (long double)v / dp_pow10(r);
}

static uint64_t dp_gcd64(u128 a, u128 b)
{
	while (b) {
		u128 t = a % b;

		a = b;
		b = t;
	}
	return (uint64_t)a;
}

/* Noise for sensitivity sens at epsilon / k (and delta / k). */
static int dp_noise_make(const struct dp_query *q, uint64_t sens, unsigned k,
			 struct dp_noise *n, struct spot_err *err)
{
	n->gauss = q->mech == DP_MECH_GAUSSIAN;
	n->eps = (struct dp_ratio){ q->epsilon.num, q->epsilon.den * k };
	n->delta = (struct dp_ratio){ q->delta.num, q->delta.den * k };
	if (!n->gauss) {
		/* scale = sens / (num / (den k)) = sens den k / num, exact */
		u128 a = (u128)sens * q->epsilon.den * k, b = q->epsilon.num;
		u128 g = dp_gcd64(a, b);

		a /= g;
		b /= g;
		if (a > (u128)DP_SCALE_MAX * b) {
			spot_err_set(err,
				     "aggregate %s: noise scale above 2^40 "
				     "units (raise epsilon or coarsen the "
				     "resolution)",
				     q->name);
			return -EINVAL;
		}
		while (a > UINT64_MAX) { /* coarser, rounded up */
			a = (a >> 1) + 1;
			b >>= 1;
		}
		n->num = (uint64_t)a;
		n->den = (uint64_t)b;
	} else {
		/* sigma^2 = 2 ln(1.25 / delta) (sens / eps)^2: computed in
		 * long double, enlarged by 1e-9 and rounded up, so never
		 * below the exact value; sampling itself stays exact. */
		long double eps = (long double)n->eps.num / n->eps.den;
		long double del = (long double)n->delta.num / n->delta.den;
		long double s2 = 2 * logl(1.25L / del) * (long double)sens *
				 (long double)sens / (eps * eps);

		s2 *= 1 + 1e-9L;
		if (!(s2 <= (long double)DP_SIGMA2_MAX / 2)) {
			spot_err_set(err,
				     "aggregate %s: Gaussian sigma^2 above "
				     "2^61 units (raise epsilon or delta, or "
				     "coarsen the resolution)",
				     q->name);
			return -EINVAL;
		}
		if (s2 >= (long double)((uint64_t)1 << 40)) {
			n->num = (uint64_t)ceill(s2);
			n->den = 1;
		} else {
			n->den = (uint64_t)1 << DP_S2_FRAC_BITS;
			n->num = (uint64_t)ceill(s2 * n->den);
		}
	}
	return 0;
}

static int dp_params_make(const struct dp_query *q, struct dp_params *p,
			  struct spot_err *err)
{
	unsigned k;
	int rc;

	memset(p, 0, sizeof(*p));
	p->sens = 1;
	if (q->kind == DP_SUM || q->kind == DP_MEAN) {
		long double m = fmaxl(fabsl(q->lo), fabsl(q->hi));
		long double s = ceill(dp_to_units((double)m, q->res_exp));

		if (!(s >= 1 && s <= (long double)DP_SENS_MAX)) {
			spot_err_set(err,
				     "aggregate %s: bounds span more than "
				     "2^53 units of the resolution",
				     q->name);
			return -EINVAL;
		}
		p->sens = (uint64_t)s;
		p->lo_u = (int64_t)roundl(dp_to_units(q->lo, q->res_exp));
		p->hi_u = (int64_t)roundl(dp_to_units(q->hi, q->res_exp));
	}
	p->has_count = q->kind != DP_SUM || q->min_count;
	p->has_sum = q->kind == DP_SUM || q->kind == DP_MEAN;
	k = p->has_count && p->has_sum ? 2 : 1;
	if (p->has_count) {
		rc = dp_noise_make(q, 1, k, &p->cnt, err);
		if (rc)
			return rc;
	}
	if (p->has_sum) {
		rc = dp_noise_make(q, p->sens, k, &p->sum, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- checking a query ---- */

static int dp_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int dp_domain_check(const struct dp_query *q, const struct dp_domain *d,
			   const char *what, struct spot_err *err)
{
	if (d->cats && d->nedges) {
		spot_err_set(err,
			     "aggregate %s: %s has both categories and "
			     "bins",
			     q->name, what);
		return -EINVAL;
	}
	if (d->cats) {
		char **s;
		int dup = 0;

		if (!d->ncats || d->dates)
			goto bad;
		s = malloc(d->ncats * sizeof(*s));
		if (!s)
			return -ENOMEM;
		for (size_t i = 0; i < d->ncats; i++) {
			if (!d->cats[i]) {
				free(s);
				goto bad;
			}
			s[i] = d->cats[i];
		}
		qsort(s, d->ncats, sizeof(*s), dp_cmp_str);
		for (size_t i = 1; i < d->ncats; i++)
			dup |= !strcmp(s[i - 1], s[i]);
		free(s);
		if (dup) {
			spot_err_set(err,
				     "aggregate %s: %s lists a category "
				     "twice",
				     q->name, what);
			return -EINVAL;
		}
		return 0;
	}
	if (d->nedges < 2 || !d->edges)
		goto bad;
	for (size_t i = 0; i < d->nedges; i++) {
		double e = d->edges[i];

		if (!isfinite(e) || (i && !(e > d->edges[i - 1]))) {
			spot_err_set(err,
				     "aggregate %s: the bin edges of %s "
				     "must be finite and increasing",
				     q->name, what);
			return -EINVAL;
		}
		/* Day numbers of 0000-01-01 .. 9999-12-31. */
		if (d->dates && (e != floor(e) || e < -719528 || e > 2932896)) {
			spot_err_set(err,
				     "aggregate %s: the date edges of %s "
				     "must be days of years 0-9999",
				     q->name, what);
			return -EINVAL;
		}
	}
	return 0;
bad:
	spot_err_set(err,
		     "aggregate %s: %s needs a declared domain (a "
		     "list of categories or at least two bin edges)",
		     q->name, what);
	return -EINVAL;
}

/* The number of cells of q, or 0 when it passes DP_MAX_CELLS. */
static size_t dp_cells(const struct dp_query *q)
{
	uint64_t n = 1;

	for (size_t i = 0; i < q->nby && i < DP_MAX_BY; i++)
		if (__builtin_mul_overflow(n, dp_domain_size(&q->by_dom[i]),
					   &n) ||
		    n > DP_MAX_CELLS)
			return 0;
	if (q->kind == DP_HISTOGRAM &&
	    __builtin_mul_overflow(n, dp_domain_size(&q->bins), &n))
		return 0;
	return n > DP_MAX_CELLS ? 0 : (size_t)n;
}

static const char *dp_value_name(enum dp_kind k)
{
	return k == DP_SUM ? "sum" : k == DP_MEAN ? "mean" : "count";
}

static int dp_check_names(const struct dp_query *q, struct spot_err *err)
{
	const char *names[DP_MAX_BY + 2];
	size_t n = 0;

	for (size_t i = 0; i < q->nby; i++) {
		if (!q->by[i] || !q->by[i][0]) {
			spot_err_set(err,
				     "aggregate %s: a by: column has no "
				     "name",
				     q->name);
			return -EINVAL;
		}
		names[n++] = q->by[i];
	}
	if (q->kind == DP_HISTOGRAM)
		names[n++] = q->column;
	names[n++] = dp_value_name(q->kind);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(names[i], names[j])) {
				spot_err_set(err,
					     "aggregate %s: a column name "
					     "appears twice in the result (the "
					     "by: columns, the histogram "
					     "column and \"%s\" must differ)",
					     q->name, names[n - 1]);
				return -EINVAL;
			}
	return 0;
}

int dp_query_check(const struct dp_query *q, struct spot_err *err)
{
	struct dp_params p;
	bool valued;
	int rc;

	if (!q->name || !q->name[0] || strchr(q->name, '/')) {
		spot_err_set(err, "aggregate: a name without '/' is needed");
		return -EINVAL;
	}
	if ((unsigned)q->kind > DP_HISTOGRAM ||
	    (unsigned)q->mech > DP_MECH_GAUSSIAN) {
		spot_err_set(err, "aggregate %s: unknown kind or mechanism",
			     q->name);
		return -EINVAL;
	}
	valued = q->kind != DP_COUNT;
	if (valued != (q->column && q->column[0])) {
		spot_err_set(err, "aggregate %s: %s", q->name,
			     valued ? "a column is needed"
				    : "count takes no column (use by:)");
		return -EINVAL;
	}
	if (q->kind == DP_SUM || q->kind == DP_MEAN) {
		if (!isfinite(q->lo) || !isfinite(q->hi) || !(q->lo < q->hi)) {
			spot_err_set(err,
				     "aggregate %s: bounds [lo, hi] with "
				     "lo < hi are needed",
				     q->name);
			return -EINVAL;
		}
		if (q->res_exp < -9 || q->res_exp > 9) {
			spot_err_set(err,
				     "aggregate %s: the resolution must "
				     "be 1e-9 .. 1e9",
				     q->name);
			return -EINVAL;
		}
	}
	if (q->kind == DP_HISTOGRAM) {
		rc = dp_domain_check(q, &q->bins, "the histogram column", err);
		if (rc)
			return rc;
	} else if (q->bins.cats || q->bins.nedges) {
		spot_err_set(err, "aggregate %s: only a histogram has bins",
			     q->name);
		return -EINVAL;
	}
	if (q->nby > DP_MAX_BY) {
		spot_err_set(err, "aggregate %s: at most %d by: columns",
			     q->name, DP_MAX_BY);
		return -EINVAL;
	}
	for (size_t i = 0; i < q->nby; i++) {
		rc = dp_domain_check(q, &q->by_dom[i], "a by: column", err);
		if (rc)
			return rc;
	}
	rc = dp_check_names(q, err);
	if (rc)
		return rc;
	if (!dp_cells(q)) {
		spot_err_set(err, "aggregate %s: more than %u cells", q->name,
			     DP_MAX_CELLS);
		return -EINVAL;
	}
	if (q->epsilon.den > DP_DEN_MAX || q->delta.den > DP_DEN_MAX) {
		spot_err_set(err, "aggregate %s: epsilon or delta too fine",
			     q->name);
		return -EINVAL;
	}
	if (!q->epsilon.num || !q->epsilon.den ||
	    q->epsilon.num > 1000000 * (u128)q->epsilon.den) {
		spot_err_set(err,
			     "aggregate %s: epsilon must be positive "
			     "(and at most 1e6)",
			     q->name);
		return -EINVAL;
	}
	if (q->mech == DP_MECH_GAUSSIAN) {
		if (q->epsilon.num >= q->epsilon.den) {
			spot_err_set(err,
				     "aggregate %s: the Gaussian "
				     "mechanism needs epsilon < 1",
				     q->name);
			return -EINVAL;
		}
		if (!q->delta.den || !q->delta.num ||
		    q->delta.num >= q->delta.den) {
			spot_err_set(err,
				     "aggregate %s: the Gaussian "
				     "mechanism needs 0 < delta < 1",
				     q->name);
			return -EINVAL;
		}
	} else if (q->delta.num) {
		spot_err_set(err,
			     "aggregate %s: delta applies to the "
			     "Gaussian mechanism only",
			     q->name);
		return -EINVAL;
	}
	if (q->min_count > DP_MIN_COUNT_MAX) {
		spot_err_set(err, "aggregate %s: min_count too large", q->name);
		return -EINVAL;
	}
	return dp_params_make(q, &p, err);
}

static int dp_put_units(struct spot_buf *out, i128 v, int r);

/* ---- the statement of a release ---- */

static int dp_json_ratio(struct spot_buf *out, const char *key,
			 struct dp_ratio r)
{
	char t[48];

	if (!r.num || !r.den) /* delta of a pure mechanism: 0 */
		r = (struct dp_ratio){ 0, 1 };
	dp_ratio_text(r, t, sizeof(t));
	return spot_buf_printf(out, ",\"%s\":%s", key, t);
}

/* v as the shortest text that reads back as the same double. */
static int dp_json_double(struct spot_buf *out, double v)
{
	char t[48];

	if (!isfinite(v))
		return spot_buf_printf(out, "null");
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(t, sizeof(t), "%.*g", prec, v);
		if (strtod(t, NULL) == v)
			break;
	}
	return spot_buf_printf(out, "%s", t);
}

/* The noise of n in units: the Laplace scale, or sigma. */
static double dp_noise_units(const struct dp_noise *n)
{
	long double v;

	if (!n->den)
		return NAN;
	v = (long double)n->num / n->den;
	return (double)(n->gauss ? sqrtl(v) : v);
}

/* One measured quantity: what it measures, its share of the budget and
 * its noise in the column's units (sigma for the Gaussian). */
static int dp_json_noise(struct spot_buf *out, const struct dp_query *q,
			 const char *what, const struct dp_noise *n,
			 uint64_t sens, bool first)
{
	double unit = what[0] == 's' ? (double)dp_pow10(q->res_exp) : 1;
	int rc;

	rc = spot_buf_printf(out, "%s{\"measures\":\"%s\"", first ? "" : ",",
			     what);
	if (!rc)
		rc = dp_json_ratio(out, "epsilon", n->eps);
	if (!rc)
		rc = dp_json_ratio(out, "delta", n->delta);
	if (!rc)
		rc = spot_buf_printf(out, ",\"sensitivity\":");
	if (!rc)
		rc = dp_json_double(out, (double)sens * unit);
	if (!rc)
		rc = spot_buf_printf(out,
				     ",\"%s\":", n->gauss ? "sigma" : "scale");
	if (!rc)
		rc = dp_json_double(out, dp_noise_units(n) * unit);
	if (!rc)
		rc = spot_buf_putc(out, '}');
	return rc;
}

int dp_query_json(const struct dp_query *q, struct spot_buf *out)
{
	struct spot_err err;
	struct dp_params p;
	const struct dp_noise *main_n;
	bool sum = q->kind == DP_SUM || q->kind == DP_MEAN;
	double unit = sum ? (double)dp_pow10(q->res_exp) : 1;
	int rc;

	if (dp_params_make(q, &p, &err))
		memset(&p, 0, sizeof(p)); /* unchecked: say what is known */
	rc = spot_buf_printf(out, "{\"name\":");
	if (!rc)
		rc = spot_buf_json_str(out, q->name ? q->name : "");
	if (!rc)
		rc = spot_buf_printf(
			out, ",\"kind\":\"%s\",\"mechanism\":\"%s\"",
			(unsigned)q->kind <= DP_HISTOGRAM
				? dp_kind_names[q->kind]
				: "unknown",
			q->mech == DP_MECH_GAUSSIAN ? "discrete_gaussian"
						    : "discrete_laplace");
	if (!rc)
		rc = dp_json_ratio(out, "epsilon", q->epsilon);
	if (!rc)
		rc = dp_json_ratio(out, "delta", q->delta);
	if (!rc)
		rc = spot_buf_printf(out, ",\"column\":");
	if (!rc)
		rc = q->column ? spot_buf_json_str(out, q->column)
			       : spot_buf_printf(out, "null");
	if (!rc && sum) {
		rc = spot_buf_printf(out, ",\"bounds\":[");
		if (!rc)
			rc = dp_json_double(out, q->lo);
		if (!rc)
			rc = spot_buf_putc(out, ',');
		if (!rc)
			rc = dp_json_double(out, q->hi);
		if (!rc)
			rc = spot_buf_printf(out, "],\"resolution\":");
		if (!rc)
			rc = dp_put_units(out, 1, q->res_exp);
	} else if (!rc) {
		rc = spot_buf_printf(out, ",\"bounds\":null,"
					  "\"resolution\":null");
	}
	if (!rc)
		rc = spot_buf_printf(out, ",\"by\":[");
	for (size_t i = 0; !rc && i < q->nby && i < DP_MAX_BY; i++) {
		if (i)
			rc = spot_buf_putc(out, ',');
		if (!rc)
			rc = spot_buf_json_str(out, q->by[i] ? q->by[i] : "");
	}
	main_n = p.has_sum ? &p.sum : &p.cnt;
	if (!rc)
		rc = spot_buf_printf(
			out, "],\"cells\":%zu,\"sensitivity\":", dp_cells(q));
	if (!rc)
		rc = dp_json_double(out, p.has_sum ? (double)p.sens * unit : 1);
	if (!rc)
		rc = spot_buf_printf(out, ",\"noise_scale\":");
	if (!rc)
		rc = dp_json_double(out, dp_noise_units(main_n) *
						 (p.has_sum ? unit : 1));
	if (!rc)
		rc = spot_buf_printf(out, ",\"noise\":[");
	if (!rc && p.has_count)
		rc = dp_json_noise(out, q, "count", &p.cnt, 1, true);
	if (!rc && p.has_sum)
		rc = dp_json_noise(out, q, "sum", &p.sum, p.sens, !p.has_count);
	if (!rc)
		rc = spot_buf_printf(
			out,
			"],\"min_count\":%llu,\"composition\":\"basic\","
			"\"one_row_per_person\":true,\"assumption\":\"each "
			"person contributes at most one row of the source; "
			"neighbouring datasets differ by one row added or "
			"removed\"}",
			(unsigned long long)q->min_count);
	return rc;
}

/* ---- counting ---- */

/* A sorted view of a domain's categories, for a binary search per row. */
struct dp_look {
	const struct dp_domain *d;
	size_t *order; /* category indexes by (length, bytes); NULL: bins */
};

struct dp_agg {
	const struct dp_query *q;
	struct dp_params p;
	size_t ncols;		 /* of the source */
	size_t vcol;		 /* SUM, MEAN, HISTOGRAM: the column */
	size_t bycol[DP_MAX_BY]; /* the by columns */
	struct dp_look look[DP_MAX_BY + 1]; /* by columns, then bins */
	size_t ndims;
	size_t dims[DP_MAX_BY + 1]; /* domain sizes */
	size_t ncells;
	uint64_t *count;
	i128 *sum; /* SUM, MEAN */
	struct pipe_col *ocols;
	size_t nocols;
	struct spot_buf labels;	     /* every label of every dimension */
	size_t *loff[DP_MAX_BY + 1]; /* dims[i] + 1 offsets into labels */
};

static int dp_look_cmp(const void *a, const void *b, void *arg)
{
	const struct dp_domain *d = arg;
	const char *x = d->cats[*(const size_t *)a];
	const char *y = d->cats[*(const size_t *)b];
	size_t lx = strlen(x), ly = strlen(y);

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return memcmp(x, y, lx);
}

static int dp_look_init(struct dp_look *l, const struct dp_domain *d)
{
	l->d = d;
	l->order = NULL;
	if (!d->cats || d->ncats < 8)
		return 0;
	l->order = malloc(d->ncats * sizeof(*l->order));
	if (!l->order)
		return -ENOMEM;
	for (size_t i = 0; i < d->ncats; i++)
		l->order[i] = i;
	qsort_r(l->order, d->ncats, sizeof(*l->order), dp_look_cmp, (void *)d);
	return 0;
}

static long dp_look_find(const struct dp_look *l, const struct pipe_cell *c)
{
	size_t lo = 0, hi;

	if (!l->order)
		return dp_domain_index(l->d, c);
	if (!c || c->type == PIPE_NULL || (!c->p && c->len))
		return -1;
	hi = l->d->ncats;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *s = l->d->cats[l->order[mid]];
		size_t ls = strlen(s);
		int r = ls != c->len ? (ls < c->len ? -1 : 1)
				     : (c->len ? memcmp(s, c->p, c->len) : 0);

		if (!r)
			return (long)l->order[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int dp_find_col(const struct dp_query *q, const struct pipe_col *cols,
		       size_t ncols, const char *name, size_t *out,
		       struct spot_err *err)
{
	int i = pipe_col_find(cols, ncols, name, strlen(name));
	char pr[64];

	if (i < 0) {
		spot_printable(name, pr, sizeof(pr));
		spot_err_set(err, "aggregate %s: the source has no column %s",
			     q->name, pr);
		return -EINVAL;
	}
	*out = (size_t)i;
	return 0;
}

static int dp_add_col(struct dp_agg *a, const char *name, uint8_t type)
{
	struct pipe_col *c = &a->ocols[a->nocols];

	c->name = strdup(name);
	if (!c->name)
		return -ENOMEM;
	c->name_len = strlen(name);
	c->type = type;
	c->flags = 0;
	a->nocols++;
	return 0;
}

/* The output columns and every label, made once. */
static int dp_agg_layout(struct dp_agg *a)
{
	const struct dp_query *q = a->q;
	int rc = 0;

	a->ocols = calloc(a->ndims + 1, sizeof(*a->ocols));
	if (!a->ocols)
		return -ENOMEM;
	for (size_t i = 0; !rc && i < q->nby; i++)
		rc = dp_add_col(a, q->by[i], PIPE_TEXT);
	if (!rc && q->kind == DP_HISTOGRAM)
		rc = dp_add_col(a, q->column, PIPE_TEXT);
	if (!rc)
		rc = dp_add_col(a, dp_value_name(q->kind),
				q->kind == DP_COUNT ||
						q->kind == DP_HISTOGRAM ||
						q->res_exp >= 0
					? PIPE_INT
					: PIPE_REAL);
	for (size_t i = 0; !rc && i < a->ndims; i++) {
		a->loff[i] = malloc((a->dims[i] + 1) * sizeof(size_t));
		if (!a->loff[i])
			return -ENOMEM;
		for (size_t v = 0; !rc && v < a->dims[i]; v++) {
			a->loff[i][v] = a->labels.len;
			rc = dp_domain_label(a->look[i].d, v, &a->labels);
		}
		a->loff[i][a->dims[i]] = a->labels.len;
	}
	return rc;
}

int dp_agg_new(const struct dp_query *q, const struct pipe_col *cols,
	       size_t ncols, struct dp_agg **out, struct spot_err *err)
{
	struct dp_agg *a;
	int rc;

	rc = dp_query_check(q, err);
	if (rc)
		return rc;
	a = calloc(1, sizeof(*a));
	if (!a)
		goto nomem;
	a->q = q;
	a->ncols = ncols;
	spot_buf_init(&a->labels);
	if (spot_buf_reserve(&a->labels, 1)) /* labels.p never NULL */
		goto nomem_a;
	rc = dp_params_make(q, &a->p, err);
	for (size_t i = 0; !rc && i < q->nby; i++)
		rc = dp_find_col(q, cols, ncols, q->by[i], &a->bycol[i], err);
	if (!rc && q->kind != DP_COUNT)
		rc = dp_find_col(q, cols, ncols, q->column, &a->vcol, err);
	if (rc) {
		dp_agg_free(a);
		return rc;
	}
	for (size_t i = 0; i < q->nby; i++)
		a->look[a->ndims++].d = &q->by_dom[i];
	if (q->kind == DP_HISTOGRAM)
		a->look[a->ndims++].d = &q->bins;
	a->ncells = 1;
	for (size_t i = 0; i < a->ndims; i++) {
		a->dims[i] = dp_domain_size(a->look[i].d);
		a->ncells *= a->dims[i];
		if (dp_look_init(&a->look[i], a->look[i].d))
			goto nomem_a;
	}
	a->count = calloc(a->ncells, sizeof(*a->count));
	if (!a->count)
		goto nomem_a;
	if (a->p.has_sum) {
		a->sum = calloc(a->ncells, sizeof(*a->sum));
		if (!a->sum)
			goto nomem_a;
	}
	if (dp_agg_layout(a))
		goto nomem_a;
	*out = a;
	return 0;
nomem_a:
	dp_agg_free(a);
nomem:
	spot_err_set(err, "aggregate %s: out of memory", q->name);
	return -ENOMEM;
}

int dp_agg_rows(struct dp_agg *a, const struct pipe_batch *b,
		struct spot_err *err)
{
	const struct dp_query *q = a->q;
	size_t nby = q->nby;

	if (b->ncols != a->ncols) {
		spot_err_set(err, "aggregate %s: %zu columns, not %zu", q->name,
			     b->ncols, a->ncols);
		return -EINVAL;
	}
	for (size_t r = 0; r < b->nrows; r++) {
		const struct pipe_cell *row = &b->in[r * b->ncols];
		size_t cell = 0, i;
		long double u;
		double v;
		int64_t units;

		if (!b->keep[r])
			continue;
		for (i = 0; i < a->ndims; i++) {
			size_t c = i < nby ? a->bycol[i] : a->vcol;
			long x = dp_look_find(&a->look[i], &row[c]);

			if (x < 0)
				break; /* outside the domain: no cell */
			cell = cell * a->dims[i] + (size_t)x;
		}
		if (i < a->ndims)
			continue;
		if (!a->p.has_sum) {
			a->count[cell]++;
			continue;
		}
		if (q->kind == DP_SUM)
			a->count[cell]++; /* rows of the group */
		if (dp_cell_number(&row[a->vcol], &v))
			continue; /* NULL, not a number: in no sum */
		if (q->kind == DP_MEAN)
			a->count[cell]++;
		v = v < q->lo ? q->lo : v > q->hi ? q->hi : v;
		u = roundl(dp_to_units(v, q->res_exp));
		units = (int64_t)u;
		units = units < a->p.lo_u   ? a->p.lo_u
			: units > a->p.hi_u ? a->p.hi_u
					    : units;
		a->sum[cell] += units;
	}
	return 0;
}

void dp_agg_free(struct dp_agg *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nocols; i++)
		free(a->ocols[i].name);
	free(a->ocols);
	for (size_t i = 0; i < DP_MAX_BY + 1; i++) {
		free(a->look[i].order);
		free(a->loff[i]);
	}
	spot_buf_fini(&a->labels);
	/* Exact counts and sums: wiped like anything derived from rows. */
	if (a->count)
		sodium_memzero(a->count, a->ncells * sizeof(*a->count));
	if (a->sum)
		sodium_memzero(a->sum, a->ncells * sizeof(*a->sum));
	free(a->count);
	free(a->sum);
	free(a);
}

/* ---- the noisy answers as a source ---- */

struct dp_src {
	struct dp_agg *a;
	struct spot_buf vals; /* the value text of every cell */
	size_t *voff;	      /* ncells + 1 offsets; */
	uint8_t *vnull;	      /* per cell: suppressed */
	size_t next;	      /* the next cell to serve */
};

static int64_t dp_draw(struct dp_rng *r, const struct dp_noise *n)
{
	return n->gauss ? dp_dgauss(r, n->num, n->den)
			: dp_dlaplace(r, n->num, n->den);
}

/* v units of 10^r as exact decimal text. */
static int dp_put_units(struct spot_buf *out, i128 v, int r)
{
	char d[64];
	size_t n = 0, k = r < 0 ? (size_t)-r : 0;
	u128 m = v < 0 ? -(u128)v : (u128)v;
	int rc = 0;

	do {
		d[n++] = (char)('0' + (int)(m % 10));
		m /= 10;
	} while (m);
	while (n <= k)
		d[n++] = '0'; /* 0.05: a digit before the point */
	if (v < 0)
		rc = spot_buf_putc(out, '-');
	while (!rc && n) {
		rc = spot_buf_putc(out, (uint8_t)d[--n]);
		if (!rc && k && n == k)
			rc = spot_buf_putc(out, '.');
	}
	for (int i = 0; !rc && v && i < r; i++)
		rc = spot_buf_putc(out, '0');
	return rc;
}

/* round(s / c) half away from zero, c >= 1. */
static i128 dp_div_round(i128 s, i128 c)
{
	i128 q = s / c, rem = s % c;

	if (rem < 0)
		rem = -rem;
	if (2 * rem >= c)
		q += s < 0 ? -1 : 1;
	return q;
}

static int dp_src_fill(struct dp_src *s, const uint8_t seed[32])
{
	struct dp_agg *a = s->a;
	const struct dp_query *q = a->q;
	struct dp_rng rng;
	int rc = 0;

	dp_rng_init(&rng, seed);
	for (size_t c = 0; !rc && c < a->ncells; c++) {
		i128 cnt = a->count[c], sum = a->p.has_sum ? a->sum[c] : 0;

		/* Every draw is made, in the same order, whatever the
		 * counts: the stream never depends on the data. */
		if (a->p.has_count)
			cnt += dp_draw(&rng, &a->p.cnt);
		if (a->p.has_sum)
			sum += dp_draw(&rng, &a->p.sum);
		s->voff[c] = s->vals.len;
		s->vnull[c] = q->min_count &&
			      (!a->p.has_count || cnt < (i128)q->min_count);
		if (s->vnull[c])
			continue;
		if (q->kind == DP_MEAN) {
			i128 m = dp_div_round(sum, cnt < 1 ? 1 : cnt);

			m = m < a->p.lo_u   ? a->p.lo_u
			    : m > a->p.hi_u ? a->p.hi_u
					    : m;
			rc = dp_put_units(&s->vals, m, q->res_exp);
		} else if (q->kind == DP_SUM) {
			rc = dp_put_units(&s->vals, sum, q->res_exp);
		} else {
			rc = dp_put_units(&s->vals, cnt, 0);
		}
	}
	s->voff[a->ncells] = s->vals.len;
	dp_rng_wipe(&rng);
	return rc;
}

static int dp_src_columns(void *state, const struct pipe_col **cols,
			  size_t *ncols, struct spot_err *err)
{
	struct dp_src *s = state;

	(void)err;
	*cols = s->a->ocols;
	*ncols = s->a->nocols;
	return 0;
}

static int dp_src_next_batch(void *state, struct pipe_batch *b,
			     struct spot_err *err)
{
	struct dp_src *s = state;
	struct dp_agg *a = s->a;
	size_t nr = 0;

	if (b->ncols != a->nocols) {
		spot_err_set(err, "aggregate %s: batch of %zu columns",
			     a->q->name, b->ncols);
		return -EINVAL;
	}
	for (; nr < b->cap && s->next < a->ncells; nr++, s->next++) {
		struct pipe_cell *row = &b->in[nr * b->ncols];
		size_t cell = s->next, c = cell;
		struct pipe_cell *v = &row[a->ndims];

		for (size_t i = a->ndims; i-- > 0;) {
			size_t x = c % a->dims[i];

			c /= a->dims[i];
			row[i] = (struct pipe_cell){
				a->labels.p + a->loff[i][x],
				a->loff[i][x + 1] - a->loff[i][x], PIPE_TEXT, 0
			};
		}
		if (s->vnull[cell]) {
			*v = (struct pipe_cell){ NULL, 0, PIPE_NULL, 0 };
		} else {
			*v = (struct pipe_cell){ s->vals.p + s->voff[cell],
						 s->voff[cell + 1] -
							 s->voff[cell],
						 a->ocols[a->ndims].type, 0 };
		}
		b->rowmeta[nr] = 0;
	}
	b->nrows = nr;
	return 0;
}

static const struct pipe_source_ops dp_src_ops = {
	.columns = dp_src_columns,
	.next_batch = dp_src_next_batch,
	.dialect = NULL,
};

static void dp_src_free(void *obj)
{
	struct dp_src *s = obj;

	if (!s)
		return;
	spot_buf_fini(&s->vals);
	free(s->voff);
	free(s->vnull);
	free(s);
}

int dp_agg_source(struct dp_agg *a, const uint8_t seed[32],
		  struct view_source *src, struct spot_err *err)
{
	struct dp_src *s = calloc(1, sizeof(*s));

	if (!s)
		goto nomem;
	s->a = a;
	spot_buf_init(&s->vals);
	if (spot_buf_reserve(&s->vals, 1)) /* vals.p never NULL */
		goto nomem;
	s->voff = malloc((a->ncells + 1) * sizeof(*s->voff));
	s->vnull = malloc(a->ncells ? a->ncells : 1);
	if (!s->voff || !s->vnull || dp_src_fill(s, seed))
		goto nomem;
	src->ops = &dp_src_ops;
	src->state = s;
	src->free = dp_src_free;
	src->obj = s;
	return 0;
nomem:
	dp_src_free(s);
	spot_err_set(err, "aggregate %s: out of memory", a->q->name);
	return -ENOMEM;
}

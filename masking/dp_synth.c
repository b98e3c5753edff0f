/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dp_synth.c - DP synthetic tables: the spec's check and its JSON
 * statement, the model (exact marginals counted from the kept source
 * rows) and the utility distances between two models. Measuring the
 * marginals and sampling rows from them is dp_synth_gen.c.
 */
#include "dp_synth.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_synth_i.h"

/* Multiples of 10^res_exp a number's edges may reach: exact in a double. */
#define DP_SYN_MAX_UNITS 4e15
#define DP_SYN_RES_MIN (-9)
#define DP_SYN_RES_MAX 9
/* The largest denominator of epsilon and delta (parsed ones: 10^9). */
#define DP_SYN_MAX_DEN ((uint64_t)1 << 40)

/* ---- bins ---- */

static double dp_syn_pow10(int e)
{
	double p = 1;

	for (int i = 0; i < e; i++)
		p *= 10; /* exact up to 1e22 */
	return p;
}

/*
 * The double that the text of k * 10^e reads as (strtod rounds the
 * decimal correctly; so does one IEEE operation on exact operands, as k
 * and 10^|e| are here).
 */
static double dp_syn_val(int64_t k, int e)
{
	return e >= 0 ? (double)k * dp_syn_pow10(e)
		      : (double)k / dp_syn_pow10(-e);
}

int dp_syn_bin_range(const struct dp_scol *c, size_t i, int64_t *lo,
		     int64_t *hi)
{
	double a = c->dom.edges[i], z = c->dom.edges[i + 1];
	bool last = i + 2 == c->dom.nedges;
	int e = c->res_exp;
	int64_t l, h;

	if (c->kind == DP_SCOL_DATE) {
		l = (int64_t)ceil(a);
		h = last ? (int64_t)floor(z) : (int64_t)ceil(z) - 1;
	} else {
		/* An estimate, then the exact first and last multiple. */
		l = (int64_t)ceil(e >= 0 ? a / dp_syn_pow10(e)
					 : a * dp_syn_pow10(-e));
		h = (int64_t)floor(e >= 0 ? z / dp_syn_pow10(e)
					  : z * dp_syn_pow10(-e));
		while (dp_syn_val(l - 1, e) >= a)
			l--;
		while (dp_syn_val(l, e) < a)
			l++;
		while (last ? dp_syn_val(h + 1, e) <= z
			    : dp_syn_val(h + 1, e) < z)
			h++;
		while (last ? dp_syn_val(h, e) > z : dp_syn_val(h, e) >= z)
			h--;
	}
	if (l > h)
		return -EINVAL;
	*lo = l;
	*hi = h;
	return 0;
}

/* ---- the spec's check ---- */

static size_t dp_syn_dom_size(const struct dp_scol *c)
{
	if (c->kind == DP_SCOL_CAT)
		return c->dom.ncats;
	return c->dom.nedges - 1;
}

static int dp_syn_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int dp_syn_check_cats(const char *sn, const struct dp_scol *c,
			     struct spot_err *err)
{
	const struct dp_domain *d = &c->dom;
	char **sorted;
	int rc = 0;

	if (!d->cats || !d->ncats || d->nedges || d->edges || d->dates) {
		spot_err_set(err,
			     "synthetic %s: column %s: a category column needs "
			     "declared categories and no bins",
			     sn, c->name);
		return -EINVAL;
	}
	if (d->ncats > DP_MAX_CELLS) {
		spot_err_set(err,
			     "synthetic %s: column %s: %zu categories, more "
			     "than %u",
			     sn, c->name, d->ncats, DP_MAX_CELLS);
		return -EINVAL;
	}
	for (size_t i = 0; i < d->ncats; i++)
		if (!d->cats[i]) {
			spot_err_set(err,
				     "synthetic %s: column %s: category %zu "
				     "missing",
				     sn, c->name, i + 1);
			return -EINVAL;
		}
	sorted = malloc(d->ncats * sizeof(*sorted));
	if (!sorted) {
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	memcpy(sorted, d->cats, d->ncats * sizeof(*sorted));
	qsort(sorted, d->ncats, sizeof(*sorted), dp_syn_cmp_str);
	for (size_t i = 1; i < d->ncats && !rc; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0) {
			/* The category is config, but say which by number. */
			spot_err_set(err,
				     "synthetic %s: column %s: a category is "
				     "declared twice",
				     sn, c->name);
			rc = -EINVAL;
		}
	free(sorted);
	return rc;
}

static int dp_syn_check_bins(const char *sn, const struct dp_scol *c,
			     struct spot_err *err)
{
	const struct dp_domain *d = &c->dom;
	double lim, min_day, max_day;
	int64_t lo, hi;

	if (!d->edges || d->nedges < 2 || d->cats || d->ncats) {
		spot_err_set(err,
			     "synthetic %s: column %s: a %s column needs "
			     "bins (at least two edges) and no categories",
			     sn, c->name,
			     c->kind == DP_SCOL_DATE ? "date" : "number");
		return -EINVAL;
	}
	if (d->dates != (c->kind == DP_SCOL_DATE)) {
		spot_err_set(err, "synthetic %s: column %s: %s", sn, c->name,
			     d->dates ? "date bins on a number column"
				      : "a date column needs date bins");
		return -EINVAL;
	}
	if (d->nedges - 1 > DP_MAX_CELLS) {
		spot_err_set(err,
			     "synthetic %s: column %s: %zu bins, more than %u",
			     sn, c->name, d->nedges - 1, DP_MAX_CELLS);
		return -EINVAL;
	}
	if (c->kind == DP_SCOL_NUM &&
	    (c->res_exp < DP_SYN_RES_MIN || c->res_exp > DP_SYN_RES_MAX)) {
		spot_err_set(err,
			     "synthetic %s: column %s: resolution 10^%d "
			     "outside 10^%d..10^%d",
			     sn, c->name, c->res_exp, DP_SYN_RES_MIN,
			     DP_SYN_RES_MAX);
		return -EINVAL;
	}
	min_day = (double)spot_days_from_civil(1, 1, 1);
	max_day = (double)spot_days_from_civil(9999, 12, 31);
	lim = c->res_exp >= 0 ? DP_SYN_MAX_UNITS * dp_syn_pow10(c->res_exp)
			      : DP_SYN_MAX_UNITS / dp_syn_pow10(-c->res_exp);
	for (size_t i = 0; i < d->nedges; i++) {
		double x = d->edges[i];
		bool bad = !isfinite(x) || (i && !(d->edges[i - 1] < x));

		if (c->kind == DP_SCOL_DATE)
			bad = bad || x < min_day || x > max_day;
		else
			bad = bad || fabs(x) > lim;
		if (bad) {
			spot_err_set(err,
				     "synthetic %s: column %s: edge %zu: edges "
				     "must increase strictly and stay %s",
				     sn, c->name, i + 1,
				     c->kind == DP_SCOL_DATE
					     ? "within years 1..9999"
					     : "within 4e15 units of the "
					       "resolution");
			return -EINVAL;
		}
	}
	for (size_t i = 0; i + 1 < d->nedges; i++)
		if (dp_syn_bin_range(c, i, &lo, &hi)) {
			spot_err_set(err,
				     "synthetic %s: column %s: bin %zu holds "
				     "no %s",
				     sn, c->name, i + 1,
				     c->kind == DP_SCOL_DATE
					     ? "whole day"
					     : "multiple of the resolution");
			return -EINVAL;
		}
	return 0;
}

static int dp_syn_check_col(const char *sn, const struct dp_scol *c,
			    struct spot_err *err)
{
	const struct dp_domain *d = &c->dom;

	switch (c->kind) {
	case DP_SCOL_CAT:
		return dp_syn_check_cats(sn, c, err);
	case DP_SCOL_NUM:
	case DP_SCOL_DATE:
		return dp_syn_check_bins(sn, c, err);
	case DP_SCOL_FAKE:
	case DP_SCOL_SEQ:
		if (d->cats || d->ncats || d->edges || d->nedges) {
			spot_err_set(err,
				     "synthetic %s: column %s: a generated "
				     "column has no domain",
				     sn, c->name);
			return -EINVAL;
		}
		if (c->kind == DP_SCOL_FAKE &&
		    ((unsigned)c->fake >= MSK_FAKE_KIND_COUNT)) {
			spot_err_set(err,
				     "synthetic %s: column %s: unknown fake "
				     "kind",
				     sn, c->name);
			return -EINVAL;
		}
		return 0;
	}
	spot_err_set(err, "synthetic %s: column %s: unknown kind", sn, c->name);
	return -EINVAL;
}

size_t dp_syn_measured(const struct dp_scol *cols, size_t ncols,
		       const size_t (*pairs)[2], size_t npairs)
{
	size_t k = npairs;

	for (size_t c = 0; c < ncols; c++) {
		bool paired = false;

		for (size_t p = 0; p < npairs && !paired; p++)
			paired = pairs[p][0] == c || pairs[p][1] == c;
		k += dp_syn_modelled(cols[c].kind) && !paired;
	}
	return k;
}

int dp_syn_sigma2(struct dp_ratio eps, struct dp_ratio delta, size_t k,
		  uint64_t *num, uint64_t *den)
{
	/* The classic Gaussian mechanism for (eps / k, delta / k), L2
	 * sensitivity 1: sigma = sqrt(2 ln(1.25 / delta_i)) / eps_i, rounded
	 * up (a larger sigma only adds privacy). */
	long double r = (long double)k * eps.den / eps.num;
	long double s2 = 2.0L * logl(1.25L * k * delta.den / delta.num) * r *
			 r * (1.0L + 1e-12L);

	if (!(s2 < 0x1p62L))
		return -ERANGE;
	if (s2 < 0x1p40L) {
		*den = 1u << 20;
		*num = (uint64_t)ceill(s2 * (long double)(1u << 20));
	} else {
		*den = 1;
		*num = (uint64_t)ceill(s2);
	}
	if (!*num)
		*num = 1;
	return 0;
}

static size_t dp_syn_find(size_t *uf, size_t x)
{
	while (uf[x] != x) {
		uf[x] = uf[uf[x]];
		x = uf[x];
	}
	return x;
}

static int dp_syn_check_pairs(const char *sn, const struct dp_synth_spec *s,
			      size_t *total, struct spot_err *err)
{
	size_t *uf = malloc(s->ncols * sizeof(*uf));
	int rc = -EINVAL;

	if (!uf) {
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	for (size_t c = 0; c < s->ncols; c++)
		uf[c] = c;
	for (size_t p = 0; p < s->npairs; p++) {
		size_t a = s->pairs[p][0], b = s->pairs[p][1], cells, ra, rb;

		if (a >= s->ncols || b >= s->ncols) {
			spot_err_set(err,
				     "synthetic %s: pair %zu names no column",
				     sn, p + 1);
			goto out;
		}
		if (!dp_syn_modelled(s->cols[a].kind) ||
		    !dp_syn_modelled(s->cols[b].kind) || a == b) {
			spot_err_set(err,
				     "synthetic %s: pair %s x %s: a pair joins "
				     "two different category, number or date "
				     "columns",
				     sn, s->cols[a].name, s->cols[b].name);
			goto out;
		}
		for (size_t q = 0; q < p; q++)
			if ((s->pairs[q][0] == a && s->pairs[q][1] == b) ||
			    (s->pairs[q][0] == b && s->pairs[q][1] == a)) {
				spot_err_set(err,
					     "synthetic %s: pair %s x %s "
					     "named twice",
					     sn, s->cols[a].name,
					     s->cols[b].name);
				goto out;
			}
		cells = dp_syn_dom_size(&s->cols[a]) *
			dp_syn_dom_size(&s->cols[b]);
		if (cells > DP_MAX_CELLS) {
			spot_err_set(err,
				     "synthetic %s: pair %s x %s: a table of "
				     "%zu cells, more than %u",
				     sn, s->cols[a].name, s->cols[b].name,
				     cells, DP_MAX_CELLS);
			goto out;
		}
		*total += cells;
		ra = dp_syn_find(uf, a);
		rb = dp_syn_find(uf, b);
		if (ra == rb) {
			spot_err_set(err,
				     "synthetic %s: pair %s x %s closes a "
				     "cycle: pairs must form a forest",
				     sn, s->cols[a].name, s->cols[b].name);
			goto out;
		}
		uf[ra] = rb;
	}
	rc = 0;
out:
	free(uf);
	return rc;
}

static int dp_syn_check_mech(const char *sn, const struct dp_synth_spec *s,
			     struct spot_err *err)
{
	uint64_t num, den;

	if (!s->epsilon.num || !s->epsilon.den) {
		spot_err_set(err, "synthetic %s: epsilon must be positive", sn);
		return -EINVAL;
	}
	/* Splitting multiplies denominators by k (< 2^11): keep them exact. */
	if (s->epsilon.den > DP_SYN_MAX_DEN || s->delta.den > DP_SYN_MAX_DEN) {
		spot_err_set(err,
			     "synthetic %s: epsilon or delta too finely "
			     "divided",
			     sn);
		return -EINVAL;
	}
	if (s->mech == DP_MECH_LAPLACE) {
		/* The scale k / epsilon the sampler serves exactly. */
		if ((unsigned __int128)dp_syn_measured(s->cols, s->ncols,
						       s->pairs, s->npairs) *
			    s->epsilon.den >
		    (unsigned __int128)DP_SCALE_MAX * s->epsilon.num) {
			spot_err_set(err,
				     "synthetic %s: epsilon too small for "
				     "its marginals",
				     sn);
			return -EINVAL;
		}
		if (s->delta.num) {
			spot_err_set(err,
				     "synthetic %s: delta is for the gaussian "
				     "mechanism only",
				     sn);
			return -EINVAL;
		}
		return 0;
	}
	if (s->mech != DP_MECH_GAUSSIAN) {
		spot_err_set(err, "synthetic %s: unknown mechanism", sn);
		return -EINVAL;
	}
	if (!s->delta.den || !s->delta.num || s->delta.num >= s->delta.den) {
		spot_err_set(err,
			     "synthetic %s: the gaussian mechanism needs "
			     "0 < delta < 1",
			     sn);
		return -EINVAL;
	}
	if (s->epsilon.num >= s->epsilon.den) {
		spot_err_set(err,
			     "synthetic %s: the gaussian mechanism needs "
			     "epsilon < 1",
			     sn);
		return -EINVAL;
	}
	if (dp_syn_sigma2(
		    s->epsilon, s->delta,
		    dp_syn_measured(s->cols, s->ncols, s->pairs, s->npairs),
		    &num, &den)) {
		spot_err_set(err,
			     "synthetic %s: epsilon too small for the "
			     "gaussian mechanism",
			     sn);
		return -EINVAL;
	}
	return 0;
}

int dp_synth_check(const struct dp_synth_spec *s, struct spot_err *err)
{
	const char *sn = s && s->name ? s->name : "table";
	size_t total = 0, nmod = 0;
	int rc;

	if (!s || !s->cols || !s->ncols || s->ncols > DP_SYN_MAX_COLS) {
		spot_err_set(err, "synthetic %s: needs 1 to %u columns", sn,
			     DP_SYN_MAX_COLS);
		return -EINVAL;
	}
	for (size_t c = 0; c < s->ncols; c++) {
		const struct dp_scol *col = &s->cols[c];

		if (!col->name || !*col->name) {
			spot_err_set(err, "synthetic %s: column %zu unnamed",
				     sn, c + 1);
			return -EINVAL;
		}
		for (size_t d = 0; d < c; d++)
			if (strcmp(s->cols[d].name, col->name) == 0) {
				spot_err_set(err,
					     "synthetic %s: column %s named "
					     "twice",
					     sn, col->name);
				return -EINVAL;
			}
		rc = dp_syn_check_col(sn, col, err);
		if (rc)
			return rc;
		if (dp_syn_modelled(col->kind)) {
			nmod++;
			total += dp_syn_dom_size(col);
		}
	}
	if (!nmod) {
		spot_err_set(err,
			     "synthetic %s: models no column (categories, "
			     "numbers or dates): nothing to measure",
			     sn);
		return -EINVAL;
	}
	if (s->npairs && !s->pairs) {
		spot_err_set(err, "synthetic %s: pairs missing", sn);
		return -EINVAL;
	}
	rc = dp_syn_check_pairs(sn, s, &total, err);
	if (rc)
		return rc;
	if (total > DP_SYN_MAX_TOTAL_CELLS) {
		spot_err_set(err,
			     "synthetic %s: tables of %zu cells in all, more "
			     "than %u",
			     sn, total, DP_SYN_MAX_TOTAL_CELLS);
		return -EINVAL;
	}
	if (s->rows < 1 || s->rows > DP_SYN_MAX_ROWS) {
		spot_err_set(err, "synthetic %s: rows must be 1 to %llu", sn,
			     DP_SYN_MAX_ROWS);
		return -EINVAL;
	}
	return dp_syn_check_mech(sn, s, err);
}

/* ---- the statement ---- */

static const char *const dp_syn_kind_names[] = {
	[DP_SCOL_CAT] = "category", [DP_SCOL_NUM] = "number",
	[DP_SCOL_DATE] = "date",    [DP_SCOL_FAKE] = "fake",
	[DP_SCOL_SEQ] = "sequence",
};

static int dp_syn_json_cols(const struct dp_synth_spec *s, struct spot_buf *o)
{
	bool first = true;
	int rc = spot_buf_printf(o, ",\"columns\":[");

	for (size_t c = 0; c < s->ncols && !rc; c++) {
		const struct dp_scol *col = &s->cols[c];
		bool paired = false;

		if (!dp_syn_modelled(col->kind))
			continue;
		for (size_t p = 0; p < s->npairs; p++)
			paired = paired || s->pairs[p][0] == c ||
				 s->pairs[p][1] == c;
		rc = spot_buf_printf(o, "%s{\"name\":", first ? "" : ",") ||
		     spot_buf_json_str(o, col->name) ||
		     spot_buf_printf(
			     o,
			     ",\"kind\":\"%s\",\"domain_size\":%zu,"
			     "\"measured_by\":\"%s\"",
			     dp_syn_kind_names[col->kind], dp_syn_dom_size(col),
			     paired ? "its pairs" : "its 1-way marginal");
		if (!rc && col->kind == DP_SCOL_NUM)
			rc = spot_buf_printf(o, ",\"resolution\":\"1e%d\"",
					     col->res_exp);
		rc = rc || spot_buf_putc(o, '}');
		first = false;
	}
	rc = rc || spot_buf_printf(o, "],\"pairs\":[");
	for (size_t p = 0; p < s->npairs && !rc; p++)
		rc = spot_buf_printf(o, "%s[", p ? "," : "") ||
		     spot_buf_json_str(o, s->cols[s->pairs[p][0]].name) ||
		     spot_buf_putc(o, ',') ||
		     spot_buf_json_str(o, s->cols[s->pairs[p][1]].name) ||
		     spot_buf_putc(o, ']');
	rc = rc || spot_buf_printf(o, "],\"generated\":[");
	first = true;
	for (size_t c = 0; c < s->ncols && !rc; c++) {
		const struct dp_scol *col = &s->cols[c];

		if (dp_syn_modelled(col->kind))
			continue;
		rc = spot_buf_printf(o, "%s{\"name\":", first ? "" : ",") ||
		     spot_buf_json_str(o, col->name) ||
		     spot_buf_printf(o, ",\"kind\":\"%s\"",
				     dp_syn_kind_names[col->kind]);
		if (!rc && col->kind == DP_SCOL_FAKE)
			rc = spot_buf_printf(o, ",\"fake\":\"%s\"",
					     msk_fake_kind_name(col->fake));
		rc = rc || spot_buf_putc(o, '}');
		first = false;
	}
	return rc || spot_buf_putc(o, ']') ? -ENOMEM : 0;
}

int dp_synth_json(const struct dp_synth_spec *s, struct spot_buf *out)
{
	struct spot_err err;
	size_t k;
	bool gauss = s->mech == DP_MECH_GAUSSIAN;
	char eps[64], epsi[64], del[64], deli[64], noise[64];
	struct spot_buf o;
	uint64_t num = 1, den = 1;
	int rc;

	rc = dp_synth_check(s, &err); /* it indexes columns by the pairs */
	if (rc)
		return rc;
	k = dp_syn_measured(s->cols, s->ncols, s->pairs, s->npairs);
	spot_buf_init(&o);
	dp_ratio_text(s->epsilon, eps, sizeof(eps));
	dp_ratio_text((struct dp_ratio){ s->epsilon.num, s->epsilon.den * k },
		      epsi, sizeof(epsi));
	dp_ratio_text(gauss ? s->delta : (struct dp_ratio){ 0, 1 }, del,
		      sizeof(del));
	dp_ratio_text(
		gauss ? (struct dp_ratio){ s->delta.num, s->delta.den * k }
		      : (struct dp_ratio){ 0, 1 },
		deli, sizeof(deli));
	if (gauss && dp_syn_sigma2(s->epsilon, s->delta, k, &num, &den))
		return -EINVAL;
	if (gauss) {
		snprintf(noise, sizeof(noise), "\"noise_sigma\":%.9g",
			 sqrt((double)num / (double)den));
	} else {
		char t[48];

		dp_ratio_text(
			(struct dp_ratio){ s->epsilon.den * k, s->epsilon.num },
			t, sizeof(t));
		snprintf(noise, sizeof(noise), "\"noise_scale\":%s", t);
	}
	rc = spot_buf_printf(&o, "{\"name\":") ||
	     spot_buf_json_str(&o, s->name ? s->name : "") ||
	     spot_buf_printf(
		     &o,
		     ",\"release\":\"synthetic table\",\"mechanism\":\"%s\","
		     "\"epsilon\":%s,\"delta\":%s,\"marginals\":%zu,"
		     "\"epsilon_per_marginal\":%s,\"delta_per_marginal\":%s,"
		     "\"sensitivity_per_marginal\":1,%s,"
		     "\"composition\":\"basic: the marginals' epsilons and "
		     "deltas add up\"",
		     gauss ? "discrete_gaussian" : "discrete_laplace", eps, del,
		     k, epsi, deli, noise) ||
	     dp_syn_json_cols(s, &o) ||
	     spot_buf_printf(&o,
			     ",\"rows\":%llu,\"assumes\":\"one row per "
			     "person\"}",
			     (unsigned long long)s->rows);
	rc = rc || spot_buf_append(out, o.p, o.len) ? -ENOMEM : 0;
	spot_buf_fini(&o);
	return rc;
}

/* ---- the model ---- */

static int dp_syn_copy_col(struct dp_syn_col *d, const struct dp_scol *c)
{
	const struct dp_domain *s = &c->dom;

	d->name = strdup(c->name);
	d->kind = c->kind;
	d->res_exp = c->res_exp;
	d->fake = c->fake;
	d->dom.dates = s->dates;
	d->src = DP_SYN_NONE;
	if (!d->name)
		return -ENOMEM;
	if (!dp_syn_modelled(c->kind))
		return 0;
	d->n = dp_syn_dom_size(c);
	if (c->kind == DP_SCOL_CAT) {
		d->dom.cats = calloc(s->ncats, sizeof(*d->dom.cats));
		d->cat_len = calloc(s->ncats, sizeof(*d->cat_len));
		if (!d->dom.cats || !d->cat_len)
			return -ENOMEM;
		d->dom.ncats = s->ncats;
		for (size_t i = 0; i < s->ncats; i++) {
			d->dom.cats[i] = strdup(s->cats[i]);
			if (!d->dom.cats[i])
				return -ENOMEM;
			d->cat_len[i] = strlen(s->cats[i]);
		}
		return 0;
	}
	d->dom.edges = malloc(s->nedges * sizeof(*d->dom.edges));
	d->lo = malloc(d->n * sizeof(*d->lo));
	d->hi = malloc(d->n * sizeof(*d->hi));
	if (!d->dom.edges || !d->lo || !d->hi)
		return -ENOMEM;
	memcpy(d->dom.edges, s->edges, s->nedges * sizeof(*d->dom.edges));
	d->dom.nedges = s->nedges;
	for (size_t i = 0; i < d->n; i++)
		if (dp_syn_bin_range(c, i, &d->lo[i], &d->hi[i]))
			return -EINVAL; /* checked: cannot happen */
	return 0;
}

static void dp_syn_free_col(struct dp_syn_col *d)
{
	for (size_t i = 0; d->dom.cats && i < d->dom.ncats; i++)
		free(d->dom.cats[i]);
	free(d->dom.cats);
	free(d->cat_len);
	free(d->dom.edges);
	free(d->lo);
	free(d->hi);
	free(d->name);
}

void dp_synth_free(struct dp_synth *m)
{
	if (!m)
		return;
	for (size_t c = 0; m->cols && c < m->ncols; c++) {
		dp_syn_free_col(&m->cols[c]);
		if (m->one)
			free(m->one[c]);
	}
	for (size_t p = 0; m->two && p < m->npairs; p++)
		free(m->two[p]);
	free(m->one);
	free(m->two);
	free(m->cols);
	free(m->pairs);
	free(m->idx);
	free(m->name);
	free(m);
}

static int dp_syn_alloc(struct dp_synth *m, const struct dp_synth_spec *s)
{
	m->name = strdup(s->name ? s->name : "table");
	m->cols = calloc(s->ncols, sizeof(*m->cols));
	m->one = calloc(s->ncols, sizeof(*m->one));
	m->idx = calloc(s->ncols, sizeof(*m->idx));
	m->two = calloc(s->npairs ? s->npairs : 1, sizeof(*m->two));
	m->pairs = calloc(s->npairs ? s->npairs : 1, sizeof(*m->pairs));
	if (!m->name || !m->cols || !m->one || !m->idx || !m->two || !m->pairs)
		return -ENOMEM;
	m->ncols = s->ncols;
	m->npairs = s->npairs;
	for (size_t c = 0; c < s->ncols; c++) {
		int rc = dp_syn_copy_col(&m->cols[c], &s->cols[c]);

		if (rc)
			return rc;
		if (m->cols[c].n) {
			m->one[c] = calloc(m->cols[c].n, sizeof(**m->one));
			if (!m->one[c])
				return -ENOMEM;
		}
	}
	for (size_t p = 0; p < s->npairs; p++) {
		m->pairs[p][0] = s->pairs[p][0];
		m->pairs[p][1] = s->pairs[p][1];
		m->two[p] = calloc(m->cols[s->pairs[p][0]].n *
					   m->cols[s->pairs[p][1]].n,
				   sizeof(**m->two));
		if (!m->two[p])
			return -ENOMEM;
	}
	return 0;
}

int dp_synth_new(const struct dp_synth_spec *s, const struct pipe_col *cols,
		 size_t ncols, struct dp_synth **out, struct spot_err *err)
{
	struct dp_synth *m;
	int rc = dp_synth_check(s, err);

	if (rc)
		return rc;
	m = calloc(1, sizeof(*m));
	if (!m || (rc = dp_syn_alloc(m, s))) {
		dp_synth_free(m);
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	m->rows = s->rows;
	m->epsilon = s->epsilon;
	m->delta = s->delta;
	m->mech = s->mech;
	m->src_ncols = ncols;
	for (size_t c = 0; c < m->ncols; c++) {
		struct dp_syn_col *col = &m->cols[c];
		int i;

		if (!col->n)
			continue;
		i = pipe_col_find(cols, ncols, col->name, strlen(col->name));
		if (i < 0) {
			spot_err_set(err,
				     "synthetic %s: the source has no column "
				     "%s",
				     m->name, col->name);
			dp_synth_free(m);
			return -EINVAL;
		}
		col->src = (size_t)i;
	}
	*out = m;
	return 0;
}

int dp_synth_rows(struct dp_synth *m, const struct pipe_batch *b,
		  struct spot_err *err)
{
	if (b->ncols != m->src_ncols) {
		spot_err_set(err,
			     "synthetic %s: a batch of %zu columns, the model "
			     "was made for %zu",
			     m->name, b->ncols, m->src_ncols);
		return -EINVAL;
	}
	for (size_t r = 0; r < b->nrows; r++) {
		const struct pipe_cell *row = &b->in[r * b->ncols];

		if (!b->keep[r])
			continue;
		for (size_t c = 0; c < m->ncols; c++) {
			const struct dp_syn_col *col = &m->cols[c];
			long i;

			if (!col->n)
				continue;
			i = dp_domain_index(&col->dom, &row[col->src]);
			/* A value outside the domain counts in no cell. */
			m->idx[c] = i >= 0 && (size_t)i < col->n ? i : -1;
			if (m->idx[c] >= 0)
				m->one[c][m->idx[c]]++;
		}
		for (size_t p = 0; p < m->npairs; p++) {
			long i = m->idx[m->pairs[p][0]];
			long j = m->idx[m->pairs[p][1]];

			if (i >= 0 && j >= 0)
				m->two[p]
				      [(size_t)i * m->cols[m->pairs[p][1]].n +
				       (size_t)j]++;
		}
	}
	return 0;
}

/* ---- utility ---- */

/* 0.5 * sum |a_i / A - b_i / B|, from integers: exact but for the last
 * division. Both empty: 0; one empty: 1. */
static double dp_syn_tvd_of(const uint64_t *a, const uint64_t *b, size_t n)
{
	unsigned __int128 sa = 0, sb = 0, d = 0;

	for (size_t i = 0; i < n; i++) {
		sa += a[i];
		sb += b[i];
	}
	if (!sa || !sb)
		return sa == sb ? 0.0 : 1.0;
	for (size_t i = 0; i < n; i++) {
		unsigned __int128 x = a[i] * sb, y = b[i] * sa;

		d += x > y ? x - y : y - x;
	}
	return (double)d / (2.0 * (double)sa * (double)sb);
}

static bool dp_syn_same_spec(const struct dp_synth *a, const struct dp_synth *b)
{
	if (a->ncols != b->ncols || a->npairs != b->npairs)
		return false;
	for (size_t c = 0; c < a->ncols; c++)
		if (a->cols[c].n != b->cols[c].n ||
		    a->cols[c].kind != b->cols[c].kind)
			return false;
	for (size_t p = 0; p < a->npairs; p++)
		if (a->pairs[p][0] != b->pairs[p][0] ||
		    a->pairs[p][1] != b->pairs[p][1])
			return false;
	return true;
}

int dp_synth_tvd(const struct dp_synth *a, const struct dp_synth *b,
		 char ***names, double **tvd, size_t *n)
{
	size_t k = a->npairs, i = 0;
	char **nm;
	double *t;

	if (!dp_syn_same_spec(a, b))
		return -EINVAL;
	for (size_t c = 0; c < a->ncols; c++)
		k += a->cols[c].n > 0;
	nm = calloc(k, sizeof(*nm));
	t = calloc(k, sizeof(*t));
	if (!nm || !t)
		goto nomem;
	for (size_t c = 0; c < a->ncols; c++) {
		if (!a->cols[c].n)
			continue;
		nm[i] = strdup(a->cols[c].name);
		if (!nm[i])
			goto nomem;
		t[i++] = dp_syn_tvd_of(a->one[c], b->one[c], a->cols[c].n);
	}
	for (size_t p = 0; p < a->npairs; p++) {
		const struct dp_syn_col *x = &a->cols[a->pairs[p][0]];
		const struct dp_syn_col *y = &a->cols[a->pairs[p][1]];

		if (asprintf(&nm[i], "%s x %s", x->name, y->name) < 0) {
			nm[i] = NULL;
			goto nomem;
		}
		t[i++] = dp_syn_tvd_of(a->two[p], b->two[p], x->n * y->n);
	}
	*names = nm;
	*tvd = t;
	*n = k;
	return 0;
nomem:
	for (size_t j = 0; nm && j < k; j++)
		free(nm[j]);
	free(nm);
	free(t);
	return -ENOMEM;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config_dp.c - the differential privacy keys: dp_budget: at the top,
 * aggregates: and synthetic: in a dataset (masking/dp.h says what they
 * compute, policy/ledger.h how they are charged).
 *
 *   dp_budget: { per_role: 1.0, per_sandbox: 3.0, ledger: sandbox }
 *   aggregates:
 *     by_region: { kind: count, by: { region: [north, south] },
 *                  epsilon: 0.2, min_count: 5 }
 *     income: { kind: mean, column: income, bounds: [0, 200000],
 *               epsilon: 0.2 }
 *     ages: { kind: histogram, column: age, bins: [0, 18, 65, 120],
 *             epsilon: 0.3 }
 *   synthetic:
 *     rows: 100000
 *     epsilon: 1.0
 *     columns: { id: { generate: sequence }, name: { generate: name },
 *                age: { bins: { from: 0, to: 100, count: 20 } },
 *                city: [a, b, c] }
 *     pairs: [[age, city]]
 *
 * Every domain is declared here, never read from the data.
 */
#include "config_i.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_DP_MAX_AGGS 256
#define CFG_DP_MAX_DOMAIN 100000
#define CFG_DP_MAX_SYNTH_ROWS 1000000000ull

/* ---- numbers ---- */

/* A finite number, the whole scalar. */
static int cfg_dp_num(struct cfg_ctx *x, const struct cfg_node *n,
		      const char *what, double *out)
{
	char *end;
	const char *s;
	int rc = cfg_str(x, n, what, &s);

	if (rc)
		return rc;
	*out = strtod(s, &end);
	if (end == s || *end || !isfinite(*out))
		return cfg_fail(x, n, "%s: '%.40s' is not a number", what, s);
	return 0;
}

/* A rational from decimal text; "1e-6" style accepted for small values. */
static int cfg_dp_ratio(struct cfg_ctx *x, const struct cfg_node *n,
			const char *what, struct dp_ratio *out)
{
	char buf[64];
	const char *s;
	double v;
	char *end;
	int rc = cfg_str(x, n, what, &s);

	if (rc)
		return rc;
	if (strpbrk(s, "eE")) {
		v = strtod(s, &end);
		if (end == s || *end || !(v >= 1e-9) || v > 1e6)
			goto bad;
		snprintf(buf, sizeof(buf), "%.9f", v);
		s = buf;
	}
	if (!dp_ratio_parse(s, out) && out->num)
		return 0;
bad:
	return cfg_fail(x, n,
			"%s: expected a positive decimal number with at most "
			"9 digits after the point (like 0.5), not '%.40s'",
			what, n->s);
}

static int cfg_dp_count(struct cfg_ctx *x, const struct cfg_node *n,
			const char *what, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;
	const char *s;
	int rc = cfg_str(x, n, what, &s);

	if (rc)
		return rc;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || s[0] < '0' || s[0] > '9' || v > max)
		return cfg_fail(x, n, "%s must be a whole number up to %llu",
				what, (unsigned long long)max);
	*out = v;
	return 0;
}

/* ---- domains ---- */

static void cfg_dp_domain_fini(struct dp_domain *d)
{
	for (size_t i = 0; i < d->ncats; i++)
		free(d->cats[i]);
	free(d->cats);
	free(d->edges);
	memset(d, 0, sizeof(*d));
}

static int cfg_dp_edge(struct cfg_ctx *x, const struct cfg_node *n, bool dates,
		       double *out)
{
	int64_t days;
	const char *s;
	int rc;

	if (!dates)
		return cfg_dp_num(x, n, "a bin edge", out);
	if ((rc = cfg_str(x, n, "a date", &s)))
		return rc;
	if (dp_date_days((const uint8_t *)s, strlen(s), &days))
		return cfg_fail(x, n, "'%.40s' is not a date (YYYY-MM-DD)", s);
	*out = (double)days;
	return 0;
}

/* bins: [e0, e1, ...] or { from, to, count } (dates alike). */
static int cfg_dp_bins(struct cfg_ctx *x, const struct cfg_node *n, bool dates,
		       struct dp_domain *d)
{
	static const char *const keys[] = { "from", "to", "count", NULL };
	size_t ne;
	int rc;

	d->dates = dates;
	if (n->kind == CFG_NODE_MAP) {
		const struct cfg_node *f = cfg_node_get(n, "from"),
				      *t = cfg_node_get(n, "to"),
				      *c = cfg_node_get(n, "count");
		double lo, hi;
		uint64_t k;

		if ((rc = cfg_check_keys(x, n, keys, "bins")))
			return rc;
		if (!f || !t || !c)
			return cfg_fail(x, n,
					"bins need from:, to: and count:");
		if ((rc = cfg_dp_edge(x, f, dates, &lo)) ||
		    (rc = cfg_dp_edge(x, t, dates, &hi)) ||
		    (rc = cfg_dp_count(x, c, "count", CFG_DP_MAX_DOMAIN, &k)))
			return rc;
		if (!(hi > lo) || !k)
			return cfg_fail(x, n,
					"bins: to must be above from, and "
					"count at least 1");
		d->edges = calloc(k + 1, sizeof(*d->edges));
		if (!d->edges)
			return cfg_oom(x);
		for (uint64_t i = 0; i <= k; i++)
			d->edges[i] = lo + (hi - lo) * (double)i / (double)k;
		if (dates) /* whole days */
			for (uint64_t i = 0; i <= k; i++)
				d->edges[i] = floor(d->edges[i]);
		d->nedges = k + 1;
	} else {
		if (n->kind != CFG_NODE_SEQ || n->n < 2 ||
		    n->n > CFG_DP_MAX_DOMAIN + 1)
			return cfg_fail(x, n,
					"bins: a list of at least two edges "
					"(at most %d), or { from, to, count }",
					CFG_DP_MAX_DOMAIN + 1);
		d->edges = calloc(n->n, sizeof(*d->edges));
		if (!d->edges)
			return cfg_oom(x);
		for (size_t i = 0; i < n->n; i++)
			if ((rc = cfg_dp_edge(x, n->kids[i], dates,
					      &d->edges[i])))
				return rc;
		d->nedges = n->n;
	}
	ne = d->nedges;
	for (size_t i = 1; i < ne; i++)
		if (!(d->edges[i] > d->edges[i - 1]))
			return cfg_fail(x, n,
					"bin edges must increase (bins of "
					"at least one day for dates)");
	return 0;
}

static int cfg_dp_cats(struct cfg_ctx *x, const struct cfg_node *n,
		       struct dp_domain *d)
{
	const struct cfg_node *dup, *first;
	const char *s;
	int rc;

	if (n->kind != CFG_NODE_SEQ || !n->n || n->n > CFG_DP_MAX_DOMAIN)
		return cfg_fail(x, n, "categories: a list of 1 to %d values",
				CFG_DP_MAX_DOMAIN);
	if (cfg_node_dups(n->kids, n->n, 1, &dup, &first))
		return cfg_oom(x);
	if (dup)
		return cfg_fail(x, dup, "category '%.80s' is listed twice",
				dup->s);
	d->cats = calloc(n->n, sizeof(*d->cats));
	if (!d->cats)
		return cfg_oom(x);
	for (size_t i = 0; i < n->n; i++) {
		if ((rc = cfg_str(x, n->kids[i], "a category", &s)) ||
		    (rc = cfg_strdup(x, s, &d->cats[i])))
			return rc;
		d->ncats++;
	}
	return 0;
}

/*
 * A domain written in map m (categories:, bins: or dates:), exactly one
 * of them; none is an error naming what.
 */
static int cfg_dp_domain_in(struct cfg_ctx *x, const struct cfg_node *m,
			    const char *what, struct dp_domain *d)
{
	const struct cfg_node *c = cfg_node_get(m, "categories"),
			      *b = cfg_node_get(m, "bins"),
			      *t = cfg_node_get(m, "dates");

	if (!!c + !!b + !!t != 1)
		return cfg_fail(x, m,
				"%s needs its domain: one of categories: "
				"[..], bins: [..] or dates: [..]",
				what);
	if (c)
		return cfg_dp_cats(x, c, d);
	return cfg_dp_bins(x, b ? b : t, !b, d);
}

/* A by: or synthetic column's domain: a list (categories) or a map. */
static int cfg_dp_domain(struct cfg_ctx *x, const struct cfg_node *n,
			 const char *what, struct dp_domain *d)
{
	static const char *const keys[] = { "categories", "bins", "dates",
					    NULL };
	int rc;

	if (n->kind == CFG_NODE_SEQ)
		return cfg_dp_cats(x, n, d);
	if ((rc = cfg_expect(x, n, CFG_NODE_MAP, what)) ||
	    (rc = cfg_check_keys(x, n, keys, what)))
		return rc;
	return cfg_dp_domain_in(x, n, what, d);
}

/* resolution: a power of ten ("0.01", "1", "100") into *exp. */
static int cfg_dp_resolution(struct cfg_ctx *x, const struct cfg_node *n,
			     int *exp)
{
	const char *s;
	int rc = cfg_str(x, n, "resolution", &s);
	int e = 0;

	if (rc)
		return rc;
	if (!strncmp(s, "0.", 2)) {
		const char *p = s + 2;

		while (*p == '0')
			p++;
		e = -(int)(p - (s + 2)) - 1;
		if (strcmp(p, "1"))
			e = 99;
	} else if (s[0] == '1') {
		const char *p = s + 1;

		while (*p == '0')
			p++;
		e = *p ? 99 : (int)(p - (s + 1));
	} else {
		e = 99;
	}
	if (e < -9 || e > 9)
		return cfg_fail(x, n,
				"resolution must be a power of ten from "
				"0.000000001 to 1000000000 (like 0.01 or 1)");
	*exp = e;
	return 0;
}

/* Common keys: epsilon, mechanism, delta. */
static int cfg_dp_mech(struct cfg_ctx *x, const struct cfg_node *v,
		       struct dp_ratio *eps, enum dp_mech *mech,
		       struct dp_ratio *delta)
{
	const struct cfg_node *e = cfg_node_get(v, "epsilon"),
			      *m = cfg_node_get(v, "mechanism"),
			      *d = cfg_node_get(v, "delta");
	const char *s;
	int rc;

	if (!e)
		return cfg_fail(x, v, "epsilon: is required");
	if ((rc = cfg_dp_ratio(x, e, "epsilon", eps)))
		return rc;
	*mech = DP_MECH_LAPLACE;
	if (m) {
		if ((rc = cfg_str(x, m, "mechanism", &s)))
			return rc;
		if (!strcmp(s, "gaussian"))
			*mech = DP_MECH_GAUSSIAN;
		else if (strcmp(s, "laplace"))
			return cfg_fail(x, m,
					"mechanism: laplace or gaussian, not "
					"'%.40s'",
					s);
	}
	if (d && (rc = cfg_dp_ratio(x, d, "delta", delta)))
		return rc;
	return 0;
}

/* ---- aggregates ---- */

static void cfg_dp_agg_fini(struct cfg_dp_agg *a)
{
	free(a->name);
	free(a->column);
	free(a->table);
	for (size_t i = 0; i < DP_MAX_BY; i++) {
		free(a->by[i]);
		cfg_dp_domain_fini(&a->q.by_dom[i]);
	}
	cfg_dp_domain_fini(&a->q.bins);
}

static int cfg_dp_kind(struct cfg_ctx *x, const struct cfg_node *n,
		       enum dp_kind *k)
{
	static const char *const names[] = { "count", "sum", "mean",
					     "histogram" };
	const char *s;
	int rc;

	if ((rc = cfg_str(x, n, "kind", &s)))
		return rc;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(s, names[i])) {
			*k = (enum dp_kind)i;
			return 0;
		}
	return cfg_fail(x, n,
			"kind: count, sum, mean or histogram, not '%.40s'", s);
}

static int cfg_dp_by(struct cfg_ctx *x, const struct cfg_node *n,
		     struct cfg_dp_agg *a)
{
	int rc;

	if ((rc = cfg_expect(x, n, CFG_NODE_MAP, "by")))
		return rc;
	if (!n->n || n->n / 2 > DP_MAX_BY)
		return cfg_fail(x, n,
				"by: one or two columns, each with its "
				"declared values: { region: [north, south] }");
	for (size_t i = 0; i < n->n / 2; i++) {
		if ((rc = cfg_strdup(x, n->kids[2 * i]->s, &a->by[i])) ||
		    (rc = cfg_dp_domain(x, n->kids[2 * i + 1], "a by column",
					&a->q.by_dom[i])))
			return rc;
		a->q.by[i] = a->by[i];
		a->q.nby++;
	}
	return 0;
}

static int cfg_dp_agg(struct cfg_ctx *x, const struct cfg_dataset *d,
		      const struct cfg_node *k, const struct cfg_node *v,
		      struct cfg_dp_agg *a)
{
	static const char *const keys[] = {
		"kind",	      "column",	   "bounds", "resolution", "by",
		"categories", "bins",	   "dates",  "epsilon",	   "delta",
		"mechanism",  "min_count", "table",  NULL
	};
	const struct cfg_node *n;
	char what[160];
	struct spot_err e;
	bool ctl = false;
	int rc;

	a->line = k->line;
	a->col = k->col;
	snprintf(what, sizeof(what), "aggregate '%.40s' of '%.80s'", k->s,
		 d->name);
	for (const char *c = k->s; *c; c++)
		ctl |= (unsigned char)*c < 0x20 || *c == 0x7f;
	if (!k->len || strchr(k->s, '/') || k->s[0] == '.' || k->len > 200 ||
	    ctl)
		return cfg_fail(x, k,
				"%s: aggregate names are file names: no '/', "
				"no control character, not starting with '.', "
				"at most 200 bytes",
				what);
	if ((rc = cfg_strdup(x, k->s, &a->name)))
		return rc;
	a->q.name = a->name;
	if ((rc = cfg_expect(x, v, CFG_NODE_MAP, what)) ||
	    (rc = cfg_check_keys(x, v, keys, what)))
		return rc;
	if (!cfg_node_get(v, "kind"))
		return cfg_fail(x, v,
				"%s: kind: is required (count, sum, mean or "
				"histogram)",
				what);
	if ((rc = cfg_dp_kind(x, cfg_node_get(v, "kind"), &a->q.kind)) ||
	    (rc = cfg_dp_mech(x, v, &a->q.epsilon, &a->q.mech, &a->q.delta)))
		return rc;
	if ((n = cfg_node_get(v, "column"))) {
		const char *s;

		if ((rc = cfg_str(x, n, "column", &s)) ||
		    (rc = cfg_strdup(x, s, &a->column)))
			return rc;
		a->q.column = a->column;
	}
	if ((n = cfg_node_get(v, "table"))) {
		const char *s;

		if ((rc = cfg_str(x, n, "table", &s)) ||
		    (rc = cfg_strdup(x, s, &a->table)))
			return rc;
	}
	if ((n = cfg_node_get(v, "bounds"))) {
		if (n->kind != CFG_NODE_SEQ || n->n != 2)
			return cfg_fail(x, n, "bounds: [low, high]");
		if ((rc = cfg_dp_num(x, n->kids[0], "bounds", &a->q.lo)) ||
		    (rc = cfg_dp_num(x, n->kids[1], "bounds", &a->q.hi)))
			return rc;
		a->q.res_exp =
			a->q.lo == floor(a->q.lo) && a->q.hi == floor(a->q.hi)
				? 0
				: -2;
	}
	if ((n = cfg_node_get(v, "resolution")) &&
	    (rc = cfg_dp_resolution(x, n, &a->q.res_exp)))
		return rc;
	if ((n = cfg_node_get(v, "by")) && (rc = cfg_dp_by(x, n, a)))
		return rc;
	if (a->q.kind == DP_HISTOGRAM &&
	    (rc = cfg_dp_domain_in(x, v, what, &a->q.bins)))
		return rc;
	if (a->q.kind != DP_HISTOGRAM &&
	    (cfg_node_get(v, "categories") || cfg_node_get(v, "bins") ||
	     cfg_node_get(v, "dates")))
		return cfg_fail(x, v,
				"%s: categories:, bins: and dates: are for "
				"kind: histogram (use by: to group)",
				what);
	if ((n = cfg_node_get(v, "min_count")) &&
	    (rc = cfg_dp_count(x, n, "min_count", 1000000000, &a->q.min_count)))
		return rc;
	if ((a->q.kind == DP_SUM || a->q.kind == DP_MEAN) &&
	    !cfg_node_get(v, "bounds"))
		return cfg_fail(x, v,
				"%s: kind %s needs bounds: [low, high] (values "
				"are clamped to them; they set the noise)",
				what, a->q.kind == DP_SUM ? "sum" : "mean");
	if (a->q.kind != DP_COUNT && !a->column)
		return cfg_fail(x, v, "%s needs column:", what);
	if (a->q.kind == DP_COUNT && a->column)
		return cfg_fail(x, v,
				"%s: kind count takes no column: (it counts "
				"rows)",
				what);
	if (dp_query_check(&a->q, &e))
		return cfg_fail(x, v, "%s: %s", what, e.msg);
	return 0;
}

static int cfg_dp_agg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cfg_dp_agg *)a)->name,
		      ((const struct cfg_dp_agg *)b)->name);
}

static int cfg_dp_aggs(struct cfg_ctx *x, struct cfg_dataset *d,
		       const struct cfg_node *n)
{
	int rc;

	/* The YAML layer refuses a key written twice. */
	if ((rc = cfg_expect(x, n, CFG_NODE_MAP, "aggregates")))
		return rc;
	if (n->n / 2 > CFG_DP_MAX_AGGS)
		return cfg_fail(x, n, "at most %d aggregates per dataset",
				CFG_DP_MAX_AGGS);
	d->aggs = calloc(n->n / 2 + 1, sizeof(*d->aggs));
	if (!d->aggs)
		return cfg_oom(x);
	for (size_t i = 0; i < n->n / 2; i++) {
		rc = cfg_dp_agg(x, d, n->kids[2 * i], n->kids[2 * i + 1],
				&d->aggs[i]);
		d->naggs++;
		if (rc)
			return rc;
	}
	qsort(d->aggs, d->naggs, sizeof(*d->aggs), cfg_dp_agg_cmp);
	return 0;
}

/* ---- synthetic ---- */

static int cfg_dp_scol(struct cfg_ctx *x, const struct cfg_node *k,
		       const struct cfg_node *v, struct dp_scol *c)
{
	static const char *const keys[] = { "categories", "bins",	"dates",
					    "generate",	  "resolution", NULL };
	const struct cfg_node *g;
	char *name;
	int rc;

	if ((rc = cfg_strdup(x, k->s, &name)))
		return rc;
	c->name = name;
	if (v->kind == CFG_NODE_SEQ) {
		c->kind = DP_SCOL_CAT;
		return cfg_dp_cats(x, v, &c->dom);
	}
	if ((rc = cfg_expect(x, v, CFG_NODE_MAP, "a synthetic column")) ||
	    (rc = cfg_check_keys(x, v, keys, "a synthetic column")))
		return rc;
	if ((g = cfg_node_get(v, "generate"))) {
		const char *s;

		if (v->n != 2)
			return cfg_fail(x, v,
					"a generated column takes only "
					"generate:");
		if ((rc = cfg_str(x, g, "generate", &s)))
			return rc;
		if (!strcmp(s, "sequence")) {
			c->kind = DP_SCOL_SEQ;
			return 0;
		}
		c->kind = DP_SCOL_FAKE;
		if (msk_fake_kind_parse(s, &c->fake))
			return cfg_fail(x, g,
					"generate: sequence or a fake kind "
					"(name, email, ...), not '%.40s'",
					s);
		return 0;
	}
	if ((rc = cfg_dp_domain_in(x, v, "a synthetic column", &c->dom)))
		return rc;
	c->kind = c->dom.ncats	 ? DP_SCOL_CAT
		  : c->dom.dates ? DP_SCOL_DATE
				 : DP_SCOL_NUM;
	c->res_exp = 0;
	if (c->kind == DP_SCOL_NUM && c->dom.nedges)
		for (size_t i = 0; i < c->dom.nedges; i++)
			if (c->dom.edges[i] != floor(c->dom.edges[i]))
				c->res_exp = -2;
	if ((g = cfg_node_get(v, "resolution")) &&
	    (rc = cfg_dp_resolution(x, g, &c->res_exp)))
		return rc;
	return 0;
}

static void cfg_dp_synth_free(struct cfg_dp_synth *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->spec.ncols; i++) {
		free((char *)s->cols[i].name);
		cfg_dp_domain_fini(&s->cols[i].dom);
	}
	free(s->cols);
	free(s->pairs);
	free(s->table);
	free(s);
}

static int cfg_dp_pairs(struct cfg_ctx *x, const struct cfg_node *n,
			struct cfg_dp_synth *s)
{
	if (n->kind != CFG_NODE_SEQ)
		return cfg_fail(x, n, "pairs: a list of [column, column]");
	s->pairs = calloc(n->n + 1, sizeof(*s->pairs));
	if (!s->pairs)
		return cfg_oom(x);
	for (size_t i = 0; i < n->n; i++) {
		const struct cfg_node *p = n->kids[i];

		if (p->kind != CFG_NODE_SEQ || p->n != 2)
			return cfg_fail(x, p, "a pair: [column, column]");
		for (size_t j = 0; j < 2; j++) {
			size_t c = 0;

			while (c < s->spec.ncols &&
			       (p->kids[j]->kind != CFG_NODE_SCALAR ||
				strcmp(s->cols[c].name, p->kids[j]->s)))
				c++;
			if (c == s->spec.ncols)
				return cfg_fail(x, p->kids[j],
						"pairs: '%.80s' is not one "
						"of the synthetic columns",
						p->kids[j]->s ? p->kids[j]->s
							      : "?");
			s->pairs[i][j] = c;
		}
		s->spec.npairs++;
	}
	return 0;
}

static int cfg_dp_synth(struct cfg_ctx *x, struct cfg_dataset *d,
			const struct cfg_node *v)
{
	static const char *const keys[] = { "rows",	 "epsilon", "delta",
					    "mechanism", "columns", "pairs",
					    "table",	 NULL };
	const struct cfg_node *c = cfg_node_get(v, "columns"), *n;
	struct cfg_dp_synth *s;
	struct spot_err e;
	char what[128];
	int rc;

	snprintf(what, sizeof(what), "synthetic of '%.80s'", d->name);
	if ((rc = cfg_expect(x, v, CFG_NODE_MAP, what)) ||
	    (rc = cfg_check_keys(x, v, keys, what)))
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return cfg_oom(x);
	d->synth = s;
	s->line = v->line;
	s->col = v->col;
	s->spec.name = d->name;
	if ((rc = cfg_dp_mech(x, v, &s->spec.epsilon, &s->spec.mech,
			      &s->spec.delta)))
		return rc;
	if (!(n = cfg_node_get(v, "rows")))
		return cfg_fail(x, v, "%s: rows: is required", what);
	if ((rc = cfg_dp_count(x, n, "rows", CFG_DP_MAX_SYNTH_ROWS,
			       &s->spec.rows)))
		return rc;
	if (!s->spec.rows)
		return cfg_fail(x, n, "rows must be at least 1");
	if ((n = cfg_node_get(v, "table"))) {
		const char *t;

		if ((rc = cfg_str(x, n, "table", &t)) ||
		    (rc = cfg_strdup(x, t, &s->table)))
			return rc;
	}
	if (!c || c->kind != CFG_NODE_MAP || !c->n)
		return cfg_fail(x, c ? c : v,
				"%s: columns: { NAME: domain or generate }, "
				"the columns the table has",
				what);
	s->cols = calloc(c->n / 2, sizeof(*s->cols));
	if (!s->cols)
		return cfg_oom(x);
	for (size_t i = 0; i < c->n / 2; i++) {
		rc = cfg_dp_scol(x, c->kids[2 * i], c->kids[2 * i + 1],
				 &s->cols[i]);
		s->spec.ncols++;
		if (rc)
			return rc;
	}
	s->spec.cols = s->cols;
	if ((n = cfg_node_get(v, "pairs")) && (rc = cfg_dp_pairs(x, n, s)))
		return rc;
	s->spec.pairs = (const size_t(*)[2])s->pairs;
	if (dp_synth_check(&s->spec, &e))
		return cfg_fail(x, v, "%s: %s", what, e.msg);
	return 0;
}

/* ---- the dataset's keys and the budget ---- */

int cfg_dp_dataset(struct cfg_ctx *x, struct cfg_dataset *d,
		   const struct cfg_node *v)
{
	const struct cfg_node *a = cfg_node_get(v, "aggregates"),
			      *s = cfg_node_get(v, "synthetic");
	int rc;

	if ((a || s) && !x->c->dp.set)
		return cfg_fail(x, a ? a : s,
				"dataset '%.80s': aggregates: and synthetic: "
				"need a dp_budget: (per_role, per_sandbox) at "
				"the top of the config",
				d->name);
	if (a && (rc = cfg_dp_aggs(x, d, a)))
		return rc;
	if (s && (rc = cfg_dp_synth(x, d, s)))
		return rc;
	return 0;
}

void cfg_dp_dataset_fini(struct cfg_dataset *d)
{
	for (size_t i = 0; i < d->naggs; i++)
		cfg_dp_agg_fini(&d->aggs[i]);
	free(d->aggs);
	cfg_dp_synth_free(d->synth);
}

int cfg_dp_budget_parse(struct cfg_ctx *x, const struct cfg_node *n)
{
	static const char *const keys[] = { "per_role", "per_sandbox", "ledger",
					    NULL };
	struct cfg_dp_budget *b = &x->c->dp;
	const struct cfg_node *r, *s, *l;
	struct dp_ratio v;
	const char *t;
	int rc;

	if (!n)
		return 0;
	if ((rc = cfg_expect(x, n, CFG_NODE_MAP, "dp_budget")) ||
	    (rc = cfg_check_keys(x, n, keys, "dp_budget")))
		return rc;
	r = cfg_node_get(n, "per_role");
	s = cfg_node_get(n, "per_sandbox");
	l = cfg_node_get(n, "ledger");
	if (!r && !s)
		return cfg_fail(x, n,
				"dp_budget needs per_role:, per_sandbox: or "
				"both (epsilon)");
	if (r) {
		if ((rc = cfg_dp_ratio(x, r, "per_role", &v)))
			return rc;
		b->per_role = dp_ratio_nano(v);
	}
	if (s) {
		if ((rc = cfg_dp_ratio(x, s, "per_sandbox", &v)))
			return rc;
		b->per_sandbox = dp_ratio_nano(v);
	}
	if (l) {
		if ((rc = cfg_str(x, l, "ledger", &t)))
			return rc;
		if (!strcmp(t, "persistent"))
			b->persistent = true;
		else if (strcmp(t, "sandbox"))
			return cfg_fail(x, l,
					"ledger: sandbox (the default: ends "
					"with the sandbox) or persistent, not "
					"'%.40s'",
					t);
		if (b->persistent && x->c->secret != CFG_SECRET_FILE)
			return cfg_fail(x, l,
					"ledger: persistent needs a stable "
					"secret (secret: FILE): with a fresh "
					"secret every sandbox draws new noise");
	}
	b->set = true;
	return 0;
}

/* ---- queries ---- */

const struct cfg_dp_agg *cfg_dp_agg_find(const struct cfg_dataset *d,
					 const char *name)
{
	for (size_t i = 0; i < d->naggs; i++)
		if (!strcmp(d->aggs[i].name, name))
			return &d->aggs[i];
	return NULL;
}

int cfg_synth_name(const struct cfg_dataset *d, enum view_fmt form, char *buf,
		   size_t len)
{
	int n = snprintf(buf, len, "%.*s.synthetic.%s", (int)cfg_stem_len(d),
			 d->name, view_fmt_name(form));

	return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

uint64_t cfg_dp_total(const struct cfg *c)
{
	uint64_t t = 0;

	for (size_t i = 0; i < c->ndatasets; i++) {
		const struct cfg_dataset *d = &c->datasets[i];

		for (size_t j = 0; j < d->naggs; j++)
			t += dp_ratio_nano(d->aggs[j].q.epsilon);
		if (d->synth)
			t += dp_ratio_nano(d->synth->spec.epsilon);
	}
	return t;
}

/*
 * The files DP releases are served as must not hide a configured dataset
 * or form: a dataset named like a synthetic table's file, or under _dp/
 * when aggregates are served there, is refused (it would be shadowed,
 * and reading it would charge a release instead).
 */
int cfg_dp_names_check(struct cfg_ctx *x)
{
	static const char *const exts[] = { "csv", "json", "parquet" };
	const struct cfg *c = x->c;
	char name[PATH_MAX + 32], other[PATH_MAX + 16];
	bool aggs = false;

	for (size_t i = 0; i < c->ndatasets; i++)
		aggs |= c->datasets[i].naggs > 0;
	for (size_t i = 0; aggs && i < c->ndatasets; i++)
		if (!strncmp(c->datasets[i].name, "_dp/", 4))
			return cfg_fail_at(x, c->datasets[i].line,
					   c->datasets[i].col,
					   "dataset '%.200s': _dp/ is where DP "
					   "aggregates are served; move it",
					   c->datasets[i].name);
	for (size_t i = 0; i < c->ndatasets; i++) {
		const struct cfg_dataset *d = &c->datasets[i];

		for (size_t k = 0; d->synth && k < 3; k++) {
			if (cfg_synth_name(d, VIEW_FMT_CSV, name,
					   sizeof(name)) ||
			    strlen(name) + 8 >= sizeof(name))
				continue;
			strcpy(name + strlen(name) - 3, exts[k]);
			for (size_t j = 0; j < c->ndatasets; j++) {
				const struct cfg_dataset *e = &c->datasets[j];
				bool clash = !strcmp(e->name, name);

				for (int f = VIEW_FMT_UNKNOWN + 1;
				     !clash && f < VIEW_FMT_COUNT; f++)
					clash = (e->as & VIEW_FMT_BIT(f)) &&
						!cfg_form_name(
							e, VIEW_FMT_BIT(f),
							other, sizeof(other)) &&
						!strcmp(other, name);
				if (clash)
					return cfg_fail_at(
						x, e->line, e->col,
						"'%.200s' is the synthetic "
						"table of dataset '%.200s': "
						"rename one of them",
						name, d->name);
				if (j < i && e->synth &&
				    !cfg_synth_name(e, VIEW_FMT_CSV, other,
						    sizeof(other)) &&
				    !strncmp(other, name, strlen(other) - 3))
					return cfg_fail_at(
						x, d->line, d->col,
						"datasets '%.200s' and "
						"'%.200s' would both serve "
						"their synthetic table as "
						"'%.200s'",
						e->name, d->name, name);
			}
		}
	}
	return 0;
}

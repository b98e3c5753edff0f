/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dp_synth_gen.c - a DP synthetic table as a pipeline source: measure the
 * model's marginals once with noise keyed by the seed, then sample rows
 * from the noisy tables, a batch at a time (memory does not grow with
 * the rows asked for).
 *
 * Everything after the noise is post-processing of the noisy tables:
 * clamping at 0, the roots' marginals (sums of their pairs' margins), the
 * conditional rows and the fallbacks. Sampling is exact integer sampling
 * from cumulative noisy counts (dp_rng_below); no floating point.
 *
 * Three keystreams, each derived from the seed: the noise; the sampled
 * values (re-keyed every PIPE_BATCH_ROWS rows by the chunk's number, so
 * chunks could be made in parallel); the generated columns (fake values),
 * kept apart so that they never depend on the data, not even through how
 * many random numbers the sampling of a row consumed.
 */
#include "dp_synth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dp_synth_i.h"

#define DP_SYN_CHUNK PIPE_BATCH_ROWS
/* A noisy count's ceiling: cumulative sums over a model's cells fit. */
#define DP_SYN_COUNT_CAP (1ull << 40)

/* One modelled column in sampling order. */
struct dp_syn_node {
	size_t col;
	size_t n;
	size_t parent; /* column, or DP_SYN_NONE for a root */
	/* Root: cumulative noisy counts (n). Child: one row of n cumulative
	 * counts per value of the parent, and fb, the cumulative margin of
	 * the pair's table for a parent value whose row is all zero. */
	uint64_t *cum;
	uint64_t *fb;
};

struct dp_syn_src {
	const struct dp_synth *m;
	uint8_t seed[32];
	struct pipe_col *cols;
	struct dp_syn_node *order;
	size_t norder;
	size_t *val; /* per column: the value index sampled for this row */
	uint64_t row;
	struct dp_rng rv, rg;
	struct spot_buf tmp;
};

/* ---- keys ---- */

static void dp_syn_derive(uint8_t out[32], const uint8_t seed[32],
			  const char *what, uint64_t n)
{
	crypto_generichash_state st;
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(n >> (8 * i));
	crypto_generichash_init(&st, seed, 32, 32);
	crypto_generichash_update(&st, (const uint8_t *)what, strlen(what) + 1);
	crypto_generichash_update(&st, le, sizeof(le));
	crypto_generichash_final(&st, out, 32);
	sodium_memzero(&st, sizeof(st));
}

static void dp_syn_rekey(struct dp_rng *r, const uint8_t seed[32],
			 const char *what, uint64_t n)
{
	uint8_t k[32];

	dp_syn_derive(k, seed, what, n);
	dp_rng_wipe(r);
	dp_rng_init(r, k);
	sodium_memzero(k, sizeof(k));
}

/* ---- measuring ---- */

struct dp_syn_noise {
	struct dp_rng r;
	bool gauss;
	uint64_t num, den; /* Laplace scale t or Gaussian sigma^2 */
};

/* Noisy copies of counts[0..n), clamped at 0 (post-processing). */
static uint64_t *dp_syn_measure(struct dp_syn_noise *z, const uint64_t *counts,
				size_t n)
{
	uint64_t *v = malloc((n ? n : 1) * sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int64_t e = z->gauss ? dp_dgauss(&z->r, z->num, z->den)
				     : dp_dlaplace(&z->r, z->num, z->den);

		if (e >= 0)
			v[i] = counts[i] + (uint64_t)e;
		else
			v[i] = counts[i] > (uint64_t) - (e + 1)
				       ? counts[i] - (uint64_t) - (e + 1) - 1
				       : 0;
		if (v[i] > DP_SYN_COUNT_CAP || (e >= 0 && v[i] < counts[i]))
			v[i] = DP_SYN_COUNT_CAP;
	}
	return v;
}

/* In place: counts to cumulative counts. */
static void dp_syn_cumulate(uint64_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		v[i] += v[i - 1];
}

/* The margin of the noisy table t (na x nb) on axis 0 or 1, added to m. */
static void dp_syn_margin_add(uint64_t *m, const uint64_t *t, size_t na,
			      size_t nb, int axis)
{
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			m[axis ? j : i] += t[i * nb + j];
}

/* ---- sampling order ---- */

static struct dp_syn_node *dp_syn_node_add(struct dp_syn_src *s, size_t col,
					   size_t parent)
{
	struct dp_syn_node *x = &s->order[s->norder++];

	x->col = col;
	x->n = s->m->cols[col].n;
	x->parent = parent;
	return x;
}

/*
 * The forest walked from each tree's first column, in column order:
 * parents before children. Roots get their marginal (noisy 1-way, or the
 * sum of their pairs' margins); children their conditional rows.
 */
static int dp_syn_plan(struct dp_syn_src *s, uint64_t **one, uint64_t **two)
{
	const struct dp_synth *m = s->m;
	bool *seen = calloc(m->ncols, sizeof(*seen));
	int rc = -ENOMEM;

	if (!seen)
		return -ENOMEM;
	for (size_t c = 0; c < m->ncols; c++) {
		size_t head;
		struct dp_syn_node *x;

		if (!m->cols[c].n || seen[c])
			continue;
		head = s->norder;
		x = dp_syn_node_add(s, c, DP_SYN_NONE);
		seen[c] = true;
		x->cum = calloc(x->n, sizeof(*x->cum));
		if (!x->cum)
			goto out;
		if (one[c])
			memcpy(x->cum, one[c], x->n * sizeof(*x->cum));
		for (size_t p = 0; p < m->npairs; p++)
			if (m->pairs[p][0] == c || m->pairs[p][1] == c)
				dp_syn_margin_add(x->cum, two[p],
						  m->cols[m->pairs[p][0]].n,
						  m->cols[m->pairs[p][1]].n,
						  m->pairs[p][1] == c);
		dp_syn_cumulate(x->cum, x->n);
		/* Breadth first through the tree (a forest: no revisit). */
		for (size_t q = head; q < s->norder; q++) {
			size_t u = s->order[q].col;

			for (size_t p = 0; p < m->npairs; p++) {
				size_t a = m->pairs[p][0], b = m->pairs[p][1];
				size_t na = m->cols[a].n, nb = m->cols[b].n;
				size_t v = a == u ? b : a;

				if ((a != u && b != u) || seen[v])
					continue;
				seen[v] = true;
				x = dp_syn_node_add(s, v, u);
				x->cum = malloc(na * nb * sizeof(*x->cum));
				x->fb = calloc(x->n, sizeof(*x->fb));
				if (!x->cum || !x->fb)
					goto out;
				/* Rows indexed by the parent's value. */
				for (size_t i = 0; i < na; i++)
					for (size_t j = 0; j < nb; j++)
						x->cum[a == u ? i * nb + j
							      : j * na + i] =
							two[p][i * nb + j];
				dp_syn_margin_add(x->fb, two[p], na, nb,
						  v == b);
				dp_syn_cumulate(x->fb, x->n);
				for (size_t i = 0; i < m->cols[u].n; i++)
					dp_syn_cumulate(x->cum + i * x->n,
							x->n);
			}
		}
	}
	rc = 0;
out:
	free(seen);
	return rc;
}

static int dp_syn_measure_all(struct dp_syn_src *s, const uint8_t seed[32])
{
	const struct dp_synth *m = s->m;
	size_t k = m->npairs;
	uint64_t **one = calloc(m->ncols, sizeof(*one));
	uint64_t **two = calloc(m->npairs ? m->npairs : 1, sizeof(*two));
	struct dp_syn_noise z = { .gauss = m->mech == DP_MECH_GAUSSIAN };
	int rc = -ENOMEM;

	if (!one || !two)
		goto out;
	for (size_t c = 0; c < m->ncols; c++) {
		bool paired = false;

		for (size_t p = 0; p < m->npairs; p++)
			paired = paired || m->pairs[p][0] == c ||
				 m->pairs[p][1] == c;
		k += m->cols[c].n && !paired;
	}
	if (z.gauss) {
		rc = dp_syn_sigma2(m->epsilon, m->delta, k, &z.num, &z.den);
		if (rc)
			goto out;
	} else {
		z.num = m->epsilon.den * k; /* scale k / epsilon */
		z.den = m->epsilon.num;
	}
	dp_syn_rekey(&z.r, seed, "spotfs dp_synth noise", 0);
	rc = -ENOMEM;
	/* One stream, in a fixed order: unpaired columns, then pairs. */
	for (size_t c = 0; c < m->ncols; c++) {
		bool paired = false;

		for (size_t p = 0; p < m->npairs; p++)
			paired = paired || m->pairs[p][0] == c ||
				 m->pairs[p][1] == c;
		if (m->cols[c].n && !paired) {
			one[c] = dp_syn_measure(&z, m->one[c], m->cols[c].n);
			if (!one[c])
				goto out;
		}
	}
	for (size_t p = 0; p < m->npairs; p++) {
		two[p] = dp_syn_measure(&z, m->two[p],
					m->cols[m->pairs[p][0]].n *
						m->cols[m->pairs[p][1]].n);
		if (!two[p])
			goto out;
	}
	rc = dp_syn_plan(s, one, two);
out:
	dp_rng_wipe(&z.r);
	for (size_t c = 0; one && c < m->ncols; c++)
		free(one[c]);
	for (size_t p = 0; two && p < m->npairs; p++)
		free(two[p]);
	free(one);
	free(two);
	return rc;
}

/* ---- sampling ---- */

/* An index drawn with probability cum[i] - cum[i - 1] over cum[n - 1];
 * uniform when all counts are zero. */
static size_t dp_syn_pick(struct dp_rng *r, const uint64_t *cum, size_t n)
{
	uint64_t total = cum[n - 1], u;
	size_t lo = 0, hi = n - 1;

	if (!total)
		return (size_t)dp_rng_below(r, n);
	u = dp_rng_below(r, total);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cum[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* k * 10^e as exact decimal text. */
static int dp_syn_num_text(int64_t k, int e, char *t, size_t len)
{
	uint64_t u = k < 0 ? (uint64_t)0 - (uint64_t)k : (uint64_t)k, p = 1;
	const char *sign = k < 0 ? "-" : "";

	if (e >= 0)
		return k ? snprintf(t, len, "%s%llu%.*s", sign,
				    (unsigned long long)u, e, "000000000")
			 : snprintf(t, len, "0");
	for (int i = 0; i < -e; i++)
		p *= 10;
	return snprintf(t, len, "%s%llu.%0*llu", sign,
			(unsigned long long)(u / p), -e,
			(unsigned long long)(u % p));
}

/* A value uniform in lo..hi. */
static int64_t dp_syn_between(struct dp_rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t)dp_rng_below(r, (uint64_t)(hi - lo) + 1);
}

static int dp_syn_cell(struct dp_syn_src *s, struct pipe_batch *b, size_t r,
		       size_t c)
{
	const struct dp_syn_col *col = &s->m->cols[c];
	struct pipe_cell *cell = &b->in[r * b->ncols + c];
	size_t v = s->val[c];
	const void *p;
	char t[64];
	int n = 0;

	cell->type = PIPE_TEXT;
	cell->flags = 0;
	switch (col->kind) {
	case DP_SCOL_CAT:
		cell->p = (const uint8_t *)col->dom.cats[v];
		cell->len = col->cat_len[v];
		return 0;
	case DP_SCOL_NUM:
		n = dp_syn_num_text(
			dp_syn_between(&s->rv, col->lo[v], col->hi[v]),
			col->res_exp, t, sizeof(t));
		cell->type = col->res_exp >= 0 ? PIPE_INT : PIPE_REAL;
		break;
	case DP_SCOL_DATE: {
		int64_t y;
		unsigned mo, d;

		spot_civil_from_days(
			dp_syn_between(&s->rv, col->lo[v], col->hi[v]), &y, &mo,
			&d);
		n = snprintf(t, sizeof(t), "%04lld-%02u-%02u", (long long)y, mo,
			     d);
		break;
	}
	case DP_SCOL_FAKE: {
		uint8_t seed[MSK_FAKE_SEED_LEN];

		for (size_t i = 0; i < sizeof(seed); i += 8) {
			uint64_t x = dp_rng_u64(&s->rg);

			for (size_t j = 0; j < 8; j++)
				seed[i + j] = (uint8_t)(x >> (8 * j));
		}
		spot_buf_reset(&s->tmp);
		if (msk_fake_write(col->fake, seed, &s->tmp))
			return -ENOMEM;
		p = s->tmp.len ? spot_arena_dup(&b->src_arena, s->tmp.p,
						s->tmp.len)
			       : "";
		if (!p)
			return -ENOMEM;
		cell->p = p;
		cell->len = s->tmp.len;
		return 0;
	}
	case DP_SCOL_SEQ:
		n = snprintf(t, sizeof(t), "%llu",
			     (unsigned long long)s->row + 1);
		cell->type = PIPE_INT;
		break;
	}
	if (n <= 0 || (size_t)n >= sizeof(t))
		return -EINVAL;
	p = spot_arena_dup(&b->src_arena, t, (size_t)n);
	if (!p)
		return -ENOMEM;
	cell->p = p;
	cell->len = (size_t)n;
	return 0;
}

static int dp_syn_row(struct dp_syn_src *s, struct pipe_batch *b, size_t r)
{
	int rc;

	if (s->row % DP_SYN_CHUNK == 0) {
		dp_syn_rekey(&s->rv, s->seed, "spotfs dp_synth values",
			     s->row / DP_SYN_CHUNK);
		dp_syn_rekey(&s->rg, s->seed, "spotfs dp_synth generated",
			     s->row / DP_SYN_CHUNK);
	}
	for (size_t i = 0; i < s->norder; i++) {
		const struct dp_syn_node *x = &s->order[i];
		const uint64_t *cum = x->cum;

		if (x->parent != DP_SYN_NONE) {
			cum = x->cum + s->val[x->parent] * x->n;
			if (!cum[x->n - 1])
				cum = x->fb;
		}
		s->val[x->col] = dp_syn_pick(&s->rv, cum, x->n);
	}
	for (size_t c = 0; c < s->m->ncols; c++) {
		rc = dp_syn_cell(s, b, r, c);
		if (rc)
			return rc;
	}
	s->row++;
	return 0;
}

/* ---- the source ---- */

static int dp_syn_columns(void *arg, const struct pipe_col **cols,
			  size_t *ncols, struct spot_err *err)
{
	struct dp_syn_src *s = arg;

	(void)err;
	*cols = s->cols;
	*ncols = s->m->ncols;
	return 0;
}

static int dp_syn_next(void *arg, struct pipe_batch *b, struct spot_err *err)
{
	struct dp_syn_src *s = arg;
	uint64_t left = s->m->rows - s->row;
	size_t n = left < b->cap ? (size_t)left : b->cap;

	if (b->ncols != s->m->ncols) {
		spot_err_set(err, "synthetic %s: a batch of %zu columns",
			     s->m->name, b->ncols);
		return -EINVAL;
	}
	for (size_t r = 0; r < n; r++) {
		int rc = dp_syn_row(s, b, r);

		if (rc) {
			spot_err_set(err, "synthetic %s: out of memory",
				     s->m->name);
			return rc;
		}
		b->keep[r] = 1;
		b->rowmeta[r] = 0;
	}
	b->nrows = n;
	return 0;
}

static const struct pipe_source_ops dp_syn_ops = {
	.columns = dp_syn_columns,
	.next_batch = dp_syn_next,
	.dialect = NULL,
};

static void dp_syn_src_free(void *obj)
{
	struct dp_syn_src *s = obj;

	if (!s)
		return;
	for (size_t i = 0; s->order && i < s->norder; i++) {
		free(s->order[i].cum);
		free(s->order[i].fb);
	}
	free(s->order);
	free(s->cols);
	free(s->val);
	spot_buf_fini(&s->tmp);
	dp_rng_wipe(&s->rv);
	dp_rng_wipe(&s->rg);
	sodium_memzero(s->seed, sizeof(s->seed));
	free(s);
}

int dp_synth_source(struct dp_synth *m, const uint8_t seed[32],
		    struct view_source *src, struct spot_err *err)
{
	struct dp_syn_src *s = calloc(1, sizeof(*s));
	int rc = -ENOMEM;

	if (!s)
		goto fail;
	s->m = m;
	spot_buf_init(&s->tmp);
	memcpy(s->seed, seed, sizeof(s->seed));
	s->cols = calloc(m->ncols, sizeof(*s->cols));
	s->order = calloc(m->ncols, sizeof(*s->order));
	s->val = calloc(m->ncols, sizeof(*s->val));
	if (!s->cols || !s->order || !s->val)
		goto fail;
	for (size_t c = 0; c < m->ncols; c++) {
		const struct dp_syn_col *col = &m->cols[c];

		s->cols[c].name = col->name;
		s->cols[c].name_len = strlen(col->name);
		s->cols[c].type = col->kind == DP_SCOL_SEQ   ? PIPE_INT
				  : col->kind != DP_SCOL_NUM ? PIPE_TEXT
				  : col->res_exp >= 0	     ? PIPE_INT
							     : PIPE_REAL;
	}
	rc = dp_syn_measure_all(s, seed);
	if (rc)
		goto fail;
	src->ops = &dp_syn_ops;
	src->state = s;
	src->free = dp_syn_src_free;
	src->obj = s;
	return 0;
fail:
	dp_syn_src_free(s);
	spot_err_set(err, "synthetic %s: out of memory", m->name);
	return rc;
}

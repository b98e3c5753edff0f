/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dp.h - differential privacy: exact samplers, DP aggregates and DP
 * synthetic tables, served as files (fs/) and charged to an epsilon
 * ledger (policy/ledger.h).
 *
 * Noise is drawn on integers only, with the exact algorithms of Canonne,
 * Kamath and Steinke ("The Discrete Gaussian for Differential Privacy",
 * 2020): a Bernoulli(exp(-gamma)) for rational gamma, the discrete Laplace
 * and the discrete Gaussian, from uniform integers of a ChaCha20 keystream.
 * No floating-point value is ever perturbed, so the floating-point attack
 * on naive Laplace (Mironov 2012) has nothing to work with. The keystream
 * is keyed by a seed (msk_dp_seed): one release reads the same every time
 * within a sandbox, so rereading it cannot average its noise away.
 *
 * Parameters (epsilon, delta, scales) are exact rationals (struct
 * dp_ratio) parsed from the config's decimal text; the ledger counts
 * epsilon in units of 1e-9 (dp_ratio_nano), exactly.
 *
 * Neighbouring datasets differ by one row added or removed (one row per
 * person is assumed: the README says so). A row falls in exactly one cell
 * of every table below, so each release's sensitivity is that of one cell.
 */
#ifndef SPOT_DP_H
#define SPOT_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fake.h"
#include "format.h"
#include "pipe.h"
#include "spot.h"

/* ---- exact arithmetic and samplers (dp_sample.c) ---- */

/* A non-negative rational num / den, den >= 1. */
struct dp_ratio {
	uint64_t num;
	uint64_t den;
};

/*
 * Parse decimal text ("1", "0.5", "0.000001", "2.25"): digits with at
 * most one '.', at most 9 digits after it, value at most 1e6; no sign, no
 * exponent, no spaces. den is a power of ten. 0 or -EINVAL.
 */
int dp_ratio_parse(const char *s, struct dp_ratio *out);
/* The value in units of 1e-9 (exact for anything dp_ratio_parse made). */
uint64_t dp_ratio_nano(struct dp_ratio r);
double dp_ratio_value(struct dp_ratio r);
/* An amount in units of 1e-9 as the shortest exact decimal ("0.25"). */
void dp_nano_text(uint64_t nano, char *buf, size_t len);
/* Print r as the shortest exact decimal when it has one ("0.25"), else
 * as a %.9g double, into buf. */
void dp_ratio_text(struct dp_ratio r, char *buf, size_t len);

/* A deterministic stream of uniform bits: ChaCha20 under seed. */
struct dp_rng {
	uint8_t key[32];
	uint64_t block; /* next keystream block */
	uint8_t buf[512];
	size_t pos; /* bytes of buf used */
};
void dp_rng_init(struct dp_rng *r, const uint8_t seed[32]);
/* Wipe the key (sodium_memzero). */
void dp_rng_wipe(struct dp_rng *r);
uint64_t dp_rng_u64(struct dp_rng *r);
/* Uniform in [0, n), n >= 1, unbiased (rejection sampling). */
uint64_t dp_rng_below(struct dp_rng *r, uint64_t n);

/* Bernoulli(num / den), 0 <= num <= den, den >= 1. */
bool dp_bernoulli(struct dp_rng *r, uint64_t num, uint64_t den);
/* Bernoulli(exp(-num / den)), den >= 1. */
bool dp_bernoulli_exp(struct dp_rng *r, uint64_t num, uint64_t den);
/*
 * Discrete Laplace of scale t = num / den (num, den >= 1):
 * P(x) proportional to exp(-|x| / t) for every integer x.
 */
int64_t dp_dlaplace(struct dp_rng *r, uint64_t num, uint64_t den);
/*
 * Discrete Gaussian of variance parameter sigma^2 = num / den (num, den
 * >= 1): P(x) proportional to exp(-x^2 / (2 sigma^2)).
 */
int64_t dp_dgauss(struct dp_rng *r, uint64_t num, uint64_t den);
/*
 * The parameters the samplers serve exactly (dp_sample.c says why):
 * callers refuse more. A discrete Laplace scale above DP_SCALE_MAX may
 * saturate at INT64_MAX; a sigma^2 above DP_SIGMA2_MAX is refused by
 * dp_dgauss (it returns INT64_MAX).
 */
#define DP_SCALE_MAX ((uint64_t)1 << 40)
#define DP_SIGMA2_MAX ((uint64_t)1 << 62)

/* ---- declared domains ---- */

/*
 * The public domain of a column, declared in the config (never read from
 * the data): categories, matched exactly against the cell's bytes, or
 * numeric bins edges[0] < edges[1] < ... : bin i is [edges[i],
 * edges[i+1]), the last one closed. With dates, cells are ISO dates
 * (YYYY-MM-DD, anything after the day ignored) counted as days since
 * 1970-01-01, and edges are such day numbers.
 */
struct dp_domain {
	char **cats;
	size_t ncats;
	double *edges;
	size_t nedges; /* bins: nedges - 1 */
	bool dates;
};

/* Number of values of d: its categories or its bins. */
size_t dp_domain_size(const struct dp_domain *d);
/*
 * The index of cell c in d, or -1 when c is NULL, not a number (a date),
 * or outside the domain (such a row counts in no cell).
 */
long dp_domain_index(const struct dp_domain *d, const struct pipe_cell *c);
/* The label of value i of d: the category, or "[lo, hi)" ("[lo, hi]"
 * for the last bin; dates as YYYY-MM-DD). 0 or -ENOMEM. */
int dp_domain_label(const struct dp_domain *d, size_t i, struct spot_buf *out);
/* ISO date text (YYYY-MM-DD...) to days since 1970-01-01: 0 or -EINVAL
 * (a real calendar date; a digit right after the day is refused). */
int dp_date_days(const uint8_t *p, size_t len, int64_t *days);
/*
 * The whole of a cell (INT, REAL or TEXT) as a finite number:
 * [+-]digits[.digits][(e|E)[+-]digits], digits on one side of the point
 * at least, nothing else (no space, "inf", "nan", hex), at most 71
 * bytes, finite as a double. 0 or -EINVAL.
 */
int dp_cell_number(const struct pipe_cell *c, double *v);

/* ---- aggregates (dp_agg.c) ---- */

enum dp_kind {
	DP_COUNT = 0, /* rows */
	DP_SUM,	      /* sum of a column, values clamped to [lo, hi] */
	DP_MEAN,      /* sum / count: epsilon split in halves */
	DP_HISTOGRAM, /* rows per value of a column's declared domain */
};

enum dp_mech {
	DP_MECH_LAPLACE = 0, /* discrete Laplace; pure epsilon-DP */
	DP_MECH_GAUSSIAN,    /* discrete Gaussian; (epsilon, delta), eps < 1 */
};

#define DP_MAX_BY 2
#define DP_MAX_CELLS (1u << 20) /* groups x bins of one aggregate */

/* One aggregate: a named query over the source rows after the row filter. */
struct dp_query {
	const char *name; /* its file stem ("by_region") */
	enum dp_kind kind;
	enum dp_mech mech;
	const char *column; /* SUM, MEAN, HISTOGRAM; NULL for COUNT */
	double lo, hi;	    /* SUM, MEAN: bounds, lo < hi */
	/* SUM, MEAN: values are rounded to multiples of 10^res_exp
	 * (-9..9) and noise is drawn in those units. */
	int res_exp;
	struct dp_domain bins; /* HISTOGRAM: the column's domain */
	const char *by[DP_MAX_BY];
	struct dp_domain by_dom[DP_MAX_BY];
	size_t nby;
	struct dp_ratio epsilon; /* > 0 */
	struct dp_ratio delta;	 /* GAUSSIAN: 0 < delta < 1; else 0 */
	/* Cells whose noisy count is below it are served empty (0: none).
	 * SUM with min_count spends half its epsilon on that count. */
	uint64_t min_count;
};

/*
 * Check q (bounds, domains, epsilon, delta, mechanism, cell count): 0 or
 * -EINVAL with err saying what is wrong (no data is read).
 */
int dp_query_check(const struct dp_query *q, struct spot_err *err);
/*
 * What q's release states, as a JSON object: name, kind, mechanism,
 * epsilon, delta, column, bounds, resolution, by, sensitivity, noise
 * scale, min_count, and that one row per person is assumed. 0 or -ENOMEM.
 */
int dp_query_json(const struct dp_query *q, struct spot_buf *out);

struct dp_agg;
/*
 * An aggregate of q over rows with columns cols[0..ncols): -EINVAL with
 * err naming a column q needs that is missing; -ENOMEM.
 */
int dp_agg_new(const struct dp_query *q, const struct pipe_col *cols,
	       size_t ncols, struct dp_agg **out, struct spot_err *err);
/* Count the kept rows of b (raw cells b->in, b->keep). 0 or -errno. */
int dp_agg_rows(struct dp_agg *a, const struct pipe_batch *b,
		struct spot_err *err);
/*
 * The noisy answers with noise keyed by seed, as a pipeline source: one
 * row per cell in the order of the declared domains (by columns, then
 * the histogram's bins), the same rows whatever the data; columns: the
 * by columns, the histogram column, then "count", "sum" or "mean"
 * (NULL where min_count suppressed the cell). a must outlive src.
 * The noise stream is keyed by seed and everything q states (domains
 * included): a query changed in any way draws other noise. Whatever
 * else must change the noise (the source's version, the row filter in
 * force) belongs in seed.
 */
int dp_agg_source(struct dp_agg *a, const uint8_t seed[32],
		  struct view_source *src, struct spot_err *err);
void dp_agg_free(struct dp_agg *a);

#endif /* SPOT_DP_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dp_synth.h - DP synthetic tables (dp_synth.c): rows drawn from a model
 * fitted under differential privacy to the source, so no row is a real
 * person's.
 *
 * The model, in the spirit of MST: the noisy 1-way marginal of every
 * modelled column and the noisy 2-way marginal of every configured pair
 * (pairs must form a forest over the columns: no cycle), each measured
 * once with the spec's mechanism, epsilon split evenly among the
 * measured marginals (a column in a pair is measured by its pairs only).
 * Noisy counts are clamped at 0. Sampling walks each tree of the forest
 * from its root: the root from its marginal, every other column from
 * its pair's table conditioned on its parent's sampled value. Numbers and
 * dates are drawn uniformly inside their sampled bin (numbers rounded to
 * 10^res_exp); generated columns (fake kinds, a row sequence) never read
 * the data. Everything is a function of the seed: the same table every
 * read within a sandbox.
 */
#ifndef SPOT_DP_SYNTH_H
#define SPOT_DP_SYNTH_H

#include "dp.h"

enum dp_scol_kind {
	DP_SCOL_CAT = 0, /* a category of dom.cats */
	DP_SCOL_NUM,	 /* a number in dom's bins */
	DP_SCOL_DATE,	 /* a date in dom's bins (dom.dates) */
	DP_SCOL_FAKE,	 /* a fake value of kind fake: not from the data */
	DP_SCOL_SEQ,	 /* the row number, 1.. : not from the data */
};

/* One column of the synthetic table, in output order. */
struct dp_scol {
	const char *name;
	enum dp_scol_kind kind;
	struct dp_domain dom;	 /* CAT, NUM, DATE */
	int res_exp;		 /* NUM: printed in multiples of 10^res_exp */
	enum msk_fake_kind fake; /* FAKE */
};

struct dp_synth_spec {
	const char *name; /* for messages */
	const struct dp_scol *cols;
	size_t ncols;
	const size_t (*pairs)[2]; /* indexes into cols (CAT, NUM, DATE) */
	size_t npairs;
	uint64_t rows; /* rows to generate, public */
	struct dp_ratio epsilon;
	enum dp_mech mech;
	struct dp_ratio delta; /* GAUSSIAN only */
};

/* Check spec (kinds, domains, pairs a forest, sizes): 0, -EINVAL with
 * err saying what is wrong, or -ENOMEM. */
int dp_synth_check(const struct dp_synth_spec *s, struct spot_err *err);
/* The JSON statement of the release (mechanism, epsilon, marginals),
 * appended to out. 0, -EINVAL (s fails the check) or -ENOMEM. */
int dp_synth_json(const struct dp_synth_spec *s, struct spot_buf *out);

struct dp_synth;
/*
 * A model of spec over rows with source columns cols[0..ncols): -EINVAL
 * with err naming a modelled column the source lacks. The model copies
 * what it needs of spec. One thread at a time counts rows into a model;
 * once counted, sources of one model may run on several threads.
 */
int dp_synth_new(const struct dp_synth_spec *s, const struct pipe_col *cols,
		 size_t ncols, struct dp_synth **out, struct spot_err *err);
/* Count the kept rows of b into the exact marginals. */
int dp_synth_rows(struct dp_synth *m, const struct pipe_batch *b,
		  struct spot_err *err);
/*
 * Measure the marginals with noise keyed by seed, then serve spec->rows
 * sampled rows as a pipeline source (columns in spec order, typed: TEXT,
 * INT or REAL, dates TEXT). m must outlive src.
 */
int dp_synth_source(struct dp_synth *m, const uint8_t seed[32],
		    struct view_source *src, struct spot_err *err);

/*
 * Utility: the total variation distance between the exact marginals of a
 * and b (models of one spec fed different rows: the source, the
 * synthetic table), one per modelled column and per pair, in that order:
 * names ("age", "age x city") into names[i] (malloc'd) and distances into
 * tvd[i]; *n of them. Free names with free() each, then the arrays.
 */
int dp_synth_tvd(const struct dp_synth *a, const struct dp_synth *b,
		 char ***names, double **tvd, size_t *n);
void dp_synth_free(struct dp_synth *m);

#endif /* SPOT_DP_SYNTH_H */

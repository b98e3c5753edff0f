/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dp_synth_i.h - what dp_synth.c (check, statement, model, distances) and
 * dp_synth_gen.c (measuring and sampling) share: the model's layout.
 */
#ifndef SPOT_DP_SYNTH_I_H
#define SPOT_DP_SYNTH_I_H

#include "dp_synth.h"

/* Limits of a spec besides DP_MAX_CELLS per table. */
#define DP_SYN_MAX_COLS 1024
#define DP_SYN_MAX_ROWS 1000000000ull
/* Cells of all the tables of a model together (memory bound). */
#define DP_SYN_MAX_TOTAL_CELLS (1u << 22)
#define DP_SYN_NONE ((size_t)-1)

/* A column of the model: a deep copy of the spec's. */
struct dp_syn_col {
	char *name;
	enum dp_scol_kind kind;
	struct dp_domain dom;
	size_t *cat_len; /* CAT: strlen of each category */
	int res_exp;
	enum msk_fake_kind fake;
	size_t n;   /* CAT, NUM, DATE: values of the domain; else 0 */
	size_t src; /* CAT, NUM, DATE: its source column */
	/* NUM: the multiples of 10^res_exp inside bin i are lo[i]..hi[i];
	 * DATE: the whole days inside bin i. */
	int64_t *lo, *hi;
};

struct dp_synth {
	char *name;
	struct dp_syn_col *cols;
	size_t ncols;
	size_t (*pairs)[2];
	size_t npairs;
	uint64_t rows;
	struct dp_ratio epsilon, delta;
	enum dp_mech mech;
	size_t src_ncols;
	/* Exact counts: every modelled column's 1-way (unpaired ones are
	 * measured; the others serve the utility distances only), and every
	 * pair's table, row-major over (pairs[p][0], pairs[p][1]). */
	uint64_t **one;
	uint64_t **two;
	long *idx; /* scratch of dp_synth_rows, one per column */
};

static inline bool dp_syn_modelled(enum dp_scol_kind k)
{
	return k == DP_SCOL_CAT || k == DP_SCOL_NUM || k == DP_SCOL_DATE;
}

/*
 * The values of bin i of column c (NUM, DATE, checked): *lo..*hi, both
 * included. 0, or -EINVAL when the bin holds none.
 */
int dp_syn_bin_range(const struct dp_scol *c, size_t i, int64_t *lo,
		     int64_t *hi);
/* Marginals measured: unpaired modelled columns plus pairs. */
size_t dp_syn_measured(const struct dp_scol *cols, size_t ncols,
		       const size_t (*pairs)[2], size_t npairs);
/*
 * The discrete Gaussian's sigma^2 for one of k marginals of a gaussian
 * spec, as num / den, rounded up. 0 or -ERANGE when too large.
 */
int dp_syn_sigma2(struct dp_ratio eps, struct dp_ratio delta, size_t k,
		  uint64_t *num, uint64_t *den);

#endif /* SPOT_DP_SYNTH_I_H */

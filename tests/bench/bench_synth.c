/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_synth.c - DP synthetic table generation (issue 18: 1M rows x 10
 * columns under 30 s). Not a test: it checks nothing but that the work
 * succeeds.
 *
 *   bench_synth [-n ROWS] [-r RUNS] [-o FILE] [-p]
 *
 * A model of 10 columns (a row sequence, a fake email, a fake name,
 * region x city and age x income as pairs, a date, a category and a
 * number) is fitted on ROWS generated source rows (default 1,000,000),
 * then each run measures the marginals with a new seed and writes ROWS
 * synthetic rows through the CSV sink of the table of formats into
 * memory. Prints the fitting time, and the median of RUNS (default 3)
 * generation times, in seconds of wall-clock time. -o FILE writes the
 * last run's table there; -p uses the Parquet sink instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dp_synth.h"
#include "format.h"

#define BS_RUNS_MAX 20

static double bs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bs_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static uint64_t bs_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

enum {
	B_SEQ,
	B_EMAIL,
	B_NAME,
	B_REGION,
	B_CITY,
	B_AGE,
	B_INCOME,
	B_JOINED,
	B_STATUS,
	B_SCORE,
	B_NCOLS
};

static char *regions[10], *cities[50], *statuses[4];
static double age_edges[21], income_edges[51], joined_edges[61],
	score_edges[11];

static void bs_set(struct pipe_batch *b, size_t r, size_t c, const char *s)
{
	struct pipe_cell *x = &b->in[r * b->ncols + c];

	x->len = strlen(s);
	x->p = spot_arena_dup(&b->src_arena, s, x->len);
	x->type = PIPE_TEXT;
}

/* A source row: city follows region, income follows age. */
static void bs_row(struct pipe_batch *b, size_t r, uint64_t i)
{
	uint64_t s = i + 1;
	size_t reg = bs_rand(&s) % 10, age = bs_rand(&s) % 100;
	char t[32];
	int64_t y;
	unsigned m, d;

	bs_set(b, r, B_REGION, regions[reg]);
	bs_set(b, r, B_CITY,
	       cities[bs_rand(&s) % 4 ? reg * 5 + bs_rand(&s) % 5
				      : bs_rand(&s) % 50]);
	snprintf(t, sizeof(t), "%zu", age);
	bs_set(b, r, B_AGE, t);
	snprintf(t, sizeof(t), "%.2f",
		 (double)(age * 1000 + bs_rand(&s) % 20000) + 0.5);
	bs_set(b, r, B_INCOME, t);
	spot_civil_from_days(17532 + (int64_t)(bs_rand(&s) % 1800), &y, &m, &d);
	snprintf(t, sizeof(t), "%04lld-%02u-%02u", (long long)y, m, d);
	bs_set(b, r, B_JOINED, t);
	bs_set(b, r, B_STATUS, statuses[bs_rand(&s) % 4]);
	snprintf(t, sizeof(t), "%.1f", (double)(bs_rand(&s) % 1000) / 10);
	bs_set(b, r, B_SCORE, t);
	bs_set(b, r, B_SEQ, "x");
	bs_set(b, r, B_EMAIL, "x");
	bs_set(b, r, B_NAME, "x");
}

static void bs_spec(struct dp_synth_spec *s, struct dp_scol *c, uint64_t rows)
{
	static const size_t pairs[][2] = { { B_REGION, B_CITY },
					   { B_AGE, B_INCOME } };
	char t[16];

	for (int i = 0; i < 10; i++) {
		snprintf(t, sizeof(t), "region%d", i);
		regions[i] = strdup(t);
	}
	for (int i = 0; i < 50; i++) {
		snprintf(t, sizeof(t), "city%d", i);
		cities[i] = strdup(t);
	}
	for (int i = 0; i < 4; i++) {
		snprintf(t, sizeof(t), "status%d", i);
		statuses[i] = strdup(t);
	}
	for (int i = 0; i <= 20; i++)
		age_edges[i] = i * 5;
	for (int i = 0; i <= 50; i++)
		income_edges[i] = i * 2500;
	for (int i = 0; i <= 60; i++)
		joined_edges[i] = (double)spot_days_from_civil(
			2018 + i / 12, (unsigned)(i % 12) + 1, 1);
	for (int i = 0; i <= 10; i++)
		score_edges[i] = i * 10;
	memset(c, 0, B_NCOLS * sizeof(*c));
	c[B_SEQ] = (struct dp_scol){ .name = "n", .kind = DP_SCOL_SEQ };
	c[B_EMAIL] = (struct dp_scol){ .name = "email",
				       .kind = DP_SCOL_FAKE,
				       .fake = MSK_FAKE_EMAIL };
	c[B_NAME] = (struct dp_scol){ .name = "name",
				      .kind = DP_SCOL_FAKE,
				      .fake = MSK_FAKE_NAME };
	c[B_REGION] =
		(struct dp_scol){ .name = "region",
				  .dom = { .cats = regions, .ncats = 10 } };
	c[B_CITY] = (struct dp_scol){ .name = "city",
				      .dom = { .cats = cities, .ncats = 50 } };
	c[B_AGE] =
		(struct dp_scol){ .name = "age",
				  .kind = DP_SCOL_NUM,
				  .dom = { .edges = age_edges, .nedges = 21 } };
	c[B_INCOME] = (struct dp_scol){ .name = "income",
					.kind = DP_SCOL_NUM,
					.res_exp = -2,
					.dom = { .edges = income_edges,
						 .nedges = 51 } };
	c[B_JOINED] = (struct dp_scol){
		.name = "joined",
		.kind = DP_SCOL_DATE,
		.dom = { .edges = joined_edges, .nedges = 61, .dates = true }
	};
	c[B_STATUS] =
		(struct dp_scol){ .name = "status",
				  .dom = { .cats = statuses, .ncats = 4 } };
	c[B_SCORE] = (struct dp_scol){ .name = "score",
				       .kind = DP_SCOL_NUM,
				       .res_exp = -1,
				       .dom = { .edges = score_edges,
						.nedges = 11 } };
	memset(s, 0, sizeof(*s));
	s->name = "bench";
	s->cols = c;
	s->ncols = B_NCOLS;
	s->pairs = pairs;
	s->npairs = 2;
	s->rows = rows;
	s->epsilon = (struct dp_ratio){ 1, 1 };
	s->mech = DP_MECH_LAPLACE;
}

/* Fit m on n source rows; the seconds spent counting into *t. */
static int bs_fit(struct dp_synth *m, uint64_t n, double *t)
{
	struct pipe_batch b;
	struct spot_err err;
	int rc = pipe_batch_init(&b, B_NCOLS, PIPE_BATCH_ROWS);

	*t = 0;
	for (uint64_t i = 0; !rc && i < n; i += b.nrows) {
		double t0;

		pipe_batch_clear(&b);
		b.nrows = n - i < b.cap ? (size_t)(n - i) : b.cap;
		for (size_t r = 0; r < b.nrows; r++) {
			bs_row(&b, r, i + r);
			b.keep[r] = 1;
		}
		t0 = bs_now();
		rc = dp_synth_rows(m, &b, &err);
		*t += bs_now() - t0;
	}
	pipe_batch_fini(&b);
	return rc;
}

int main(int argc, char **argv)
{
	struct dp_scol cols[B_NCOLS];
	struct pipe_col pc[B_NCOLS];
	struct dp_synth_spec s;
	struct dp_synth *m = NULL;
	struct spot_err err;
	double t[BS_RUNS_MAX], tfit;
	size_t runs = 3, bytes = 0;
	uint64_t n = 1000000;
	const char *keep = NULL;
	enum view_fmt fmt = VIEW_FMT_CSV;
	int opt;

	while ((opt = getopt(argc, argv, "n:r:o:p")) != -1) {
		if (opt == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (opt == 'r')
			runs = strtoul(optarg, NULL, 10);
		else if (opt == 'o')
			keep = optarg;
		else if (opt == 'p')
			fmt = VIEW_FMT_PARQUET;
		else
			return 2;
	}
	if (!n || !runs || runs > BS_RUNS_MAX)
		return 2;
	bs_spec(&s, cols, n);
	for (size_t c = 0; c < B_NCOLS; c++)
		pc[c] = (struct pipe_col){ .name = (char *)cols[c].name,
					   .name_len = strlen(cols[c].name) };
	if (dp_synth_new(&s, pc, B_NCOLS, &m, &err) || bs_fit(m, n, &tfit)) {
		fprintf(stderr, "bench_synth: %s\n", err.msg);
		return 1;
	}
	for (size_t i = 0; i < runs; i++) {
		const struct view_format *f = view_format_get(fmt);
		struct view_source src = { 0 };
		struct view_sink sink = { 0 };
		struct spot_buf out;
		uint8_t seed[32] = { (uint8_t)i, 0x42 };
		double t0 = bs_now();
		int rc;

		spot_buf_init(&out);
		rc = dp_synth_source(m, seed, &src, &err) ||
		     f->sink_new(&out, &sink, &err) ||
		     pipe_run(src.ops, src.state, NULL, sink.ops, sink.state,
			      NULL, &err);
		t[i] = bs_now() - t0;
		bytes = out.len;
		if (!rc && keep && i + 1 == runs) {
			FILE *fo = fopen(keep, "wb");

			rc = !fo || fwrite(out.p, 1, out.len, fo) != out.len;
			if (fo)
				fclose(fo);
			if (rc)
				spot_err_set(&err, "cannot write %s", keep);
		}
		if (sink.free)
			sink.free(sink.state);
		if (src.free)
			src.free(src.obj);
		spot_buf_fini(&out);
		if (rc) {
			fprintf(stderr, "bench_synth: %s\n", err.msg);
			return 1;
		}
	}
	qsort(t, runs, sizeof(*t), bs_cmp);
	printf("fit: %llu source rows counted in %.2f s\n",
	       (unsigned long long)n, tfit);
	printf("synthetic: %llu rows x %d columns, %.1f MB of %s: median "
	       "%.2f s of %zu runs (min %.2f, max %.2f)\n",
	       (unsigned long long)n, B_NCOLS, (double)bytes / 1e6,
	       view_fmt_name(fmt), t[runs / 2], runs, t[0], t[runs - 1]);
	dp_synth_free(m);
	return 0;
}

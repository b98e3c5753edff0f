/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_dp_synth.c - DP synthetic tables (masking/dp_synth.c,
 * dp_synth_gen.c): the spec's refusals, the statement, exact counting and
 * distances, determinism, row counts, values inside the declared
 * domains, a 100k-row fit whose marginals stay within the distance that
 * epsilon predicts, independence where no pair was declared, generated
 * columns that never come from the data, no source row served verbatim,
 * the CSV and Parquet sinks, and bounded memory for any row count.
 */
#include "dp_synth.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc_fail.h"
#include "check.h"
#include "format.h"

/* ---- a deterministic source of test rows ---- */

static uint64_t sm_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const char *const regions[] = { "north", "south", "east", "west",
				       "centre" };
static const char *const cities[] = { "ays", "bree", "cole", "dun", "esk" };
static const char *const abc[] = { "p", "q", "r", "s" };
static const double age_edges[] = { 0, 18, 30, 45, 65, 100 };
static double income_edges[11];
static double joined_edges[13];

/* Source columns, in source order. */
enum {
	S_ID,
	S_NAME,
	S_ROW,
	S_REGION,
	S_CITY,
	S_AGE,
	S_INCOME,
	S_JOINED,
	S_A,
	S_B,
	S_NCOLS
};
static struct pipe_col src_cols[S_NCOLS] = {
	{ (char *)"id", 2, 0, 0 },     { (char *)"name", 4, 0, 0 },
	{ (char *)"row", 3, 0, 0 },    { (char *)"region", 6, 0, 0 },
	{ (char *)"city", 4, 0, 0 },   { (char *)"age", 3, 0, 0 },
	{ (char *)"income", 6, 0, 0 }, { (char *)"joined", 6, 0, 0 },
	{ (char *)"a", 1, 0, 0 },      { (char *)"b", 1, 0, 0 },
};

static void set_cell(struct pipe_batch *b, size_t r, size_t c, const char *s)
{
	struct pipe_cell *x = &b->in[r * b->ncols + c];
	size_t n = strlen(s);

	x->p = n ? spot_arena_dup(&b->src_arena, s, n) : (const uint8_t *)"";
	x->len = n;
	x->type = PIPE_TEXT;
	x->flags = 0;
}

/*
 * Row i of the test data (variant v changes every value but the ids'
 * shape). city follows region (85 %), income follows age, b equals a (90
 * %); 1 % of rows hold a region outside the domain and an empty age.
 */
static void make_row(struct pipe_batch *b, size_t r, uint64_t i, unsigned v)
{
	uint64_t s = i * 7919 + v * 104729 + 1;
	uint64_t x = sm_next(&s);
	size_t reg = x % 5, city, a, bb;
	double age, income;
	char t[64];

	snprintf(t, sizeof(t), "ID-%07llu-%u", (unsigned long long)i, v);
	set_cell(b, r, S_ID, t);
	snprintf(t, sizeof(t), "person %llu/%u", (unsigned long long)i, v);
	set_cell(b, r, S_NAME, t);
	snprintf(t, sizeof(t), "%llu",
		 (unsigned long long)(1000000000ull + sm_next(&s) % 1000000));
	set_cell(b, r, S_ROW, t);
	set_cell(b, r, S_REGION,
		 sm_next(&s) % 100 == 0 ? "atlantis" : regions[reg]);
	city = sm_next(&s) % 100 < 85 ? reg : sm_next(&s) % 5;
	set_cell(b, r, S_CITY, cities[city]);
	age = (double)(sm_next(&s) % 100);
	if (sm_next(&s) % 100 == 0)
		set_cell(b, r, S_AGE, "");
	else {
		snprintf(t, sizeof(t), "%g", age);
		set_cell(b, r, S_AGE, t);
	}
	income = age * 900 + (double)(sm_next(&s) % 10000);
	snprintf(t, sizeof(t), "%.2f", income + 0.25);
	set_cell(b, r, S_INCOME, t);
	{
		int64_t y;
		unsigned m, d;

		spot_civil_from_days(18262 + (int64_t)(sm_next(&s) % 366), &y,
				     &m, &d);
		snprintf(t, sizeof(t), "%04lld-%02u-%02u", (long long)y, m, d);
		set_cell(b, r, S_JOINED, t);
	}
	a = sm_next(&s) % 4;
	bb = sm_next(&s) % 100 < 90 ? a : sm_next(&s) % 4;
	set_cell(b, r, S_A, abc[a]);
	set_cell(b, r, S_B, abc[bb]);
}

/* Count n rows of variant v into m. */
static int fit(struct dp_synth *m, uint64_t n, unsigned v)
{
	struct pipe_batch b;
	struct spot_err err;
	int rc = pipe_batch_init(&b, S_NCOLS, PIPE_BATCH_ROWS);

	for (uint64_t i = 0; !rc && i < n; i += b.nrows) {
		pipe_batch_clear(&b);
		b.nrows = n - i < b.cap ? (size_t)(n - i) : b.cap;
		for (size_t r = 0; r < b.nrows; r++) {
			make_row(&b, r, i + r, v);
			b.keep[r] = 1;
		}
		rc = dp_synth_rows(m, &b, &err);
	}
	pipe_batch_fini(&b);
	return rc;
}

/* ---- the spec of the tests ---- */

enum {
	C_ROW,
	C_ID,
	C_NAME,
	C_REGION,
	C_CITY,
	C_AGE,
	C_INCOME,
	C_JOINED,
	C_A,
	C_B,
	C_NCOLS
};
static struct dp_scol cols[C_NCOLS];
static const size_t pairs2[][2] = { { C_REGION, C_CITY }, { C_AGE, C_INCOME } };

static void init_spec(struct dp_synth_spec *s, uint64_t rows)
{
	for (size_t i = 0; i < 11; i++)
		income_edges[i] = (double)i * 10000;
	for (unsigned i = 0; i < 13; i++)
		joined_edges[i] = (double)spot_days_from_civil(
			2020 + (i == 12), i == 12 ? 1 : i + 1, 1);
	memset(cols, 0, sizeof(cols));
	cols[C_ROW] = (struct dp_scol){ .name = "row", .kind = DP_SCOL_SEQ };
	cols[C_ID] = (struct dp_scol){ .name = "id",
				       .kind = DP_SCOL_FAKE,
				       .fake = MSK_FAKE_EMAIL };
	cols[C_NAME] = (struct dp_scol){ .name = "name",
					 .kind = DP_SCOL_FAKE,
					 .fake = MSK_FAKE_NAME };
	cols[C_REGION].name = "region";
	cols[C_REGION].dom.cats = (char **)regions;
	cols[C_REGION].dom.ncats = 5;
	cols[C_CITY].name = "city";
	cols[C_CITY].dom.cats = (char **)cities;
	cols[C_CITY].dom.ncats = 5;
	cols[C_AGE] = (struct dp_scol){ .name = "age", .kind = DP_SCOL_NUM };
	cols[C_AGE].dom.edges = (double *)age_edges;
	cols[C_AGE].dom.nedges = 6;
	cols[C_INCOME] = (struct dp_scol){ .name = "income",
					   .kind = DP_SCOL_NUM,
					   .res_exp = -2 };
	cols[C_INCOME].dom.edges = income_edges;
	cols[C_INCOME].dom.nedges = 11;
	cols[C_JOINED] =
		(struct dp_scol){ .name = "joined", .kind = DP_SCOL_DATE };
	cols[C_JOINED].dom.edges = joined_edges;
	cols[C_JOINED].dom.nedges = 13;
	cols[C_JOINED].dom.dates = true;
	cols[C_A].name = "a";
	cols[C_A].dom.cats = (char **)abc;
	cols[C_A].dom.ncats = 4;
	cols[C_B].name = "b";
	cols[C_B].dom.cats = (char **)abc;
	cols[C_B].dom.ncats = 4;
	memset(s, 0, sizeof(*s));
	s->name = "people";
	s->cols = cols;
	s->ncols = C_NCOLS;
	s->pairs = pairs2;
	s->npairs = 2;
	s->rows = rows;
	s->epsilon = (struct dp_ratio){ 1, 1 };
	s->mech = DP_MECH_LAPLACE;
}

static void seed_of(uint8_t seed[32], unsigned x)
{
	memset(seed, 0, 32);
	seed[0] = (uint8_t)x;
	seed[1] = 0x5a;
}

/* ---- check() ---- */

static int check_with(struct dp_synth_spec *s, const char *want)
{
	struct spot_err err = { { 0 } };
	int rc = dp_synth_check(s, &err);

	if (rc && want && !strstr(err.msg, want)) {
		printf("# message: %s\n", err.msg);
		return 1;
	}
	return rc;
}

static char *many_cats[1100];

static void test_check(void)
{
	struct dp_synth_spec s;
	const size_t cyc[][2] = { { C_REGION, C_CITY },
				  { C_CITY, C_A },
				  { C_A, C_REGION } };
	const size_t twice[][2] = { { C_REGION, C_CITY },
				    { C_CITY, C_REGION } };
	const size_t fake[][2] = { { C_ID, C_REGION } };
	const size_t self[][2] = { { C_A, C_A } };
	const size_t out[][2] = { { C_A, C_NCOLS } };
	const size_t big[][2] = { { C_A, C_B } };
	const double bad_edges[] = { 0, 10, 10, 20 };
	const double day_edges[] = { 0.2, 0.5, 3 };
	char buf[16][8];
	struct dp_scol dup_cat;

	init_spec(&s, 100);
	CHECK(check_with(&s, NULL) == 0, "the test spec (two pairs) passes");
	s.pairs = cyc;
	s.npairs = 3;
	CHECK(check_with(&s, "cycle") == -EINVAL,
	      "pairs closing a cycle are refused");
	s.npairs = 2;
	CHECK(check_with(&s, NULL) == 0, "a tree of three columns passes");
	s.pairs = twice;
	CHECK(check_with(&s, "twice") == -EINVAL,
	      "a pair named twice (either way) is refused");
	s.pairs = fake;
	s.npairs = 1;
	CHECK(check_with(&s, "pair") == -EINVAL,
	      "a pair with a generated column is refused");
	s.pairs = self;
	CHECK(check_with(&s, "pair") == -EINVAL,
	      "a column paired with itself is refused");
	s.pairs = out;
	CHECK(check_with(&s, "names no column") == -EINVAL,
	      "a pair naming no column is refused");

	init_spec(&s, 100);
	cols[C_REGION].kind = DP_SCOL_NUM;
	CHECK(check_with(&s, "region") == -EINVAL,
	      "a number column with categories is refused");
	init_spec(&s, 100);
	cols[C_AGE].kind = DP_SCOL_CAT;
	CHECK(check_with(&s, "age") == -EINVAL,
	      "a category column with bins is refused");
	init_spec(&s, 100);
	cols[C_AGE].dom.dates = true;
	CHECK(check_with(&s, "date bins") == -EINVAL,
	      "date bins on a number column are refused");
	init_spec(&s, 100);
	cols[C_JOINED].dom.dates = false;
	CHECK(check_with(&s, "date bins") == -EINVAL,
	      "a date column without date bins is refused");
	init_spec(&s, 100);
	cols[C_JOINED].dom.nedges = 1;
	CHECK(check_with(&s, "joined") == -EINVAL,
	      "a date column with one edge is refused");
	init_spec(&s, 100);
	cols[C_ID].dom = cols[C_REGION].dom;
	CHECK(check_with(&s, "no domain") == -EINVAL,
	      "a fake column with a domain is refused");
	init_spec(&s, 100);
	cols[C_ID].fake = MSK_FAKE_KIND_COUNT;
	CHECK(check_with(&s, "fake kind") == -EINVAL,
	      "an unknown fake kind is refused");
	init_spec(&s, 100);
	cols[C_ID].kind = (enum dp_scol_kind)42;
	CHECK(check_with(&s, "unknown kind") == -EINVAL,
	      "an unknown column kind is refused");
	init_spec(&s, 100);
	cols[C_AGE].dom.edges = (double *)bad_edges;
	cols[C_AGE].dom.nedges = 4;
	CHECK(check_with(&s, "increase") == -EINVAL,
	      "edges that do not increase are refused");
	init_spec(&s, 100);
	cols[C_INCOME].res_exp = 5;
	CHECK(check_with(&s, "holds no multiple") == -EINVAL,
	      "a bin narrower than the resolution is refused");
	init_spec(&s, 100);
	cols[C_INCOME].res_exp = 10;
	CHECK(check_with(&s, "resolution") == -EINVAL,
	      "a resolution beyond 10^9 is refused");
	init_spec(&s, 100);
	cols[C_JOINED].dom.edges = (double *)day_edges;
	cols[C_JOINED].dom.nedges = 3;
	CHECK(check_with(&s, "whole day") == -EINVAL,
	      "a date bin without a whole day is refused");

	init_spec(&s, 100);
	for (size_t i = 0; i < 1100; i++) {
		many_cats[i] = malloc(8);
		snprintf(many_cats[i], 8, "c%zu", i);
	}
	cols[C_A].dom.cats = many_cats;
	cols[C_A].dom.ncats = 1100;
	cols[C_B].dom.cats = many_cats;
	cols[C_B].dom.ncats = 1100;
	CHECK(check_with(&s, NULL) == 0,
	      "two unpaired columns of 1100 categories pass");
	s.pairs = big;
	s.npairs = 1;
	CHECK(check_with(&s, "cells") == -EINVAL,
	      "a pair table of 1100 x 1100 cells (over 2^20) is refused");
	for (size_t i = 0; i < 1100; i++)
		free(many_cats[i]);

	/* Five columns of a million bins: 5e6 cells in all, over 2^22. */
	{
		double *edges = malloc(1000001 * sizeof(*edges));

		for (size_t i = 0; edges && i <= 1000000; i++)
			edges[i] = (double)i;
		init_spec(&s, 100);
		s.npairs = 0;
		for (size_t c = C_REGION; c < C_REGION + 5; c++)
			cols[c] = (struct dp_scol){
				.name = cols[c].name,
				.kind = DP_SCOL_NUM,
				.dom = { .edges = edges, .nedges = 1000001 }
			};
		CHECK(edges && check_with(&s, "in all") == -EINVAL,
		      "tables of over 2^22 cells in all are refused");
		free(edges);
	}

	init_spec(&s, 100);
	for (size_t i = 0; i < 16; i++)
		snprintf(buf[i], sizeof(buf[i]), "k%zu", i % 15);
	dup_cat = cols[C_A];
	{
		char *cs[16];

		for (size_t i = 0; i < 16; i++)
			cs[i] = buf[i];
		cols[C_A].dom.cats = cs;
		cols[C_A].dom.ncats = 16;
		CHECK(check_with(&s, "twice") == -EINVAL,
		      "a category declared twice is refused");
	}
	cols[C_A] = dup_cat;
	cols[C_B].name = "a";
	CHECK(check_with(&s, "named twice") == -EINVAL,
	      "two columns of one name are refused");

	init_spec(&s, 0);
	CHECK(check_with(&s, "rows") == -EINVAL, "0 rows are refused");
	s.rows = 1000000001;
	CHECK(check_with(&s, "rows") == -EINVAL, "1e9 + 1 rows are refused");
	s.rows = 1000000000;
	CHECK(check_with(&s, NULL) == 0, "1e9 rows pass");
	s.epsilon = (struct dp_ratio){ 0, 1 };
	CHECK(check_with(&s, "epsilon") == -EINVAL, "epsilon 0 is refused");
	s.epsilon = (struct dp_ratio){ 1, 1 };
	s.delta = (struct dp_ratio){ 1, 1000000 };
	CHECK(check_with(&s, "delta") == -EINVAL,
	      "a delta with the Laplace mechanism is refused");
	s.mech = DP_MECH_GAUSSIAN;
	CHECK(check_with(&s, "epsilon < 1") == -EINVAL,
	      "the gaussian mechanism with epsilon 1 is refused");
	s.epsilon = (struct dp_ratio){ 5, 10 };
	CHECK(check_with(&s, NULL) == 0,
	      "the gaussian mechanism with epsilon 0.5, delta 1e-6 passes");
	s.delta = (struct dp_ratio){ 0, 1 };
	CHECK(check_with(&s, "delta") == -EINVAL,
	      "the gaussian mechanism without delta is refused");
	s.mech = DP_MECH_LAPLACE;
	s.delta = (struct dp_ratio){ 0, 1 };
	s.epsilon = (struct dp_ratio){ 1, 1000000000000ull };
	CHECK(check_with(&s, "too small") == -EINVAL,
	      "a Laplace scale k/epsilon over DP_SCALE_MAX is refused");
	s.epsilon = (struct dp_ratio){ 1ull << 41, 1ull << 42 };
	CHECK(check_with(&s, "finely") == -EINVAL,
	      "an epsilon of a denominator over 2^40 is refused");
	s.epsilon = (struct dp_ratio){ 1, 1 };
	s.mech = (enum dp_mech)7;
	CHECK(check_with(&s, "mechanism") == -EINVAL,
	      "an unknown mechanism is refused");

	init_spec(&s, 100);
	s.cols = cols; /* only the generated columns */
	s.ncols = 3;
	s.npairs = 0;
	CHECK(check_with(&s, "nothing to measure") == -EINVAL,
	      "a table of generated columns only is refused");
}

/* ---- the statement ---- */

static bool json_valid(const struct spot_buf *b)
{
	FILE *p = popen("/usr/bin/python3 -c 'import json,sys; "
			"json.load(sys.stdin)' 2>/dev/null",
			"w");

	if (!p)
		return false;
	fwrite(b->p, 1, b->len, p);
	return pclose(p) == 0;
}

static void test_json(void)
{
	static const char *const want[] = {
		"\"mechanism\":\"discrete_laplace\"",
		"\"epsilon\":1,",
		"\"marginals\":5,",
		"\"epsilon_per_marginal\":0.2,",
		"\"noise_scale\":5,",
		"\"name\":\"income\",\"kind\":\"number\",\"domain_size\":10",
		"[\"region\",\"city\"]",
		"{\"name\":\"row\",\"kind\":\"sequence\"}",
		"\"fake\":\"email\"",
		"\"rows\":100,",
		"one row per person",
	};
	static const size_t bad[][2] = { { C_A, 99 } };
	struct dp_synth_spec s;
	struct spot_buf b;

	init_spec(&s, 100);
	spot_buf_init(&b);
	CHECK(dp_synth_json(&s, &b) == 0 && json_valid(&b),
	      "the statement is valid JSON");
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(want); i++)
		CHECK(b.len && strstr((char *)b.p, want[i]),
		      "the statement holds %s", want[i]);
	spot_buf_reset(&b);
	s.mech = DP_MECH_GAUSSIAN;
	s.epsilon = (struct dp_ratio){ 5, 10 };
	s.delta = (struct dp_ratio){ 1, 1000000 };
	CHECK(dp_synth_json(&s, &b) == 0 && json_valid(&b) &&
		      strstr((char *)b.p, "discrete_gaussian") &&
		      strstr((char *)b.p, "\"noise_sigma\":") &&
		      strstr((char *)b.p, "\"epsilon_per_marginal\":0.1,"),
	      "the gaussian statement: mechanism, sigma, epsilon split");
	spot_buf_reset(&b);
	s.pairs = bad;
	s.npairs = 1;
	CHECK(dp_synth_json(&s, &b) == -EINVAL && b.len == 0,
	      "no statement for a spec that fails the check");
	spot_buf_fini(&b);
}

/* ---- counting and distances ---- */

static void test_tvd_exact(void)
{
	static const char *const xy[] = { "u", "v" };
	static const char *const rows_a[][2] = { { "u", "u" },
						 { "u", "v" },
						 { "v", "v" } };
	static const char *const rows_b[][2] = {
		{ "u", "u" }, { "v", "v" }, { "v", "v" }, { "zzz", "u" }
	};
	struct pipe_col pc[2] = { { (char *)"x", 1, 0, 0 },
				  { (char *)"y", 1, 0, 0 } };
	struct dp_scol sc[2] = { { .name = "x" }, { .name = "y" } };
	const size_t pr[][2] = { { 0, 1 } };
	struct dp_synth_spec s = { .name = "t",
				   .cols = sc,
				   .ncols = 2,
				   .pairs = pr,
				   .npairs = 1,
				   .rows = 10,
				   .epsilon = { 1, 1 } };
	struct dp_synth *a = NULL, *b = NULL, *c = NULL;
	struct pipe_batch bt;
	struct spot_err err;
	char **names = NULL;
	double *t = NULL;
	size_t n = 0;

	for (int i = 0; i < 2; i++) {
		sc[i].dom.cats = (char **)xy;
		sc[i].dom.ncats = 2;
	}
	CHECK(dp_synth_new(&s, pc, 2, &a, &err) == 0 &&
		      dp_synth_new(&s, pc, 2, &b, &err) == 0,
	      "two models of one spec");
	pc[1].name = (char *)"why";
	pc[1].name_len = 3;
	CHECK(dp_synth_new(&s, pc, 2, &c, &err) == -EINVAL &&
		      strstr(err.msg, "no column y"),
	      "a source without a modelled column is refused by name");
	pc[1].name = (char *)"y";
	pc[1].name_len = 1;
	pipe_batch_init(&bt, 2, 8);
	for (size_t r = 0; r < 3; r++) {
		set_cell(&bt, r, 0, rows_a[r][0]);
		set_cell(&bt, r, 1, rows_a[r][1]);
		bt.keep[r] = 1;
	}
	bt.nrows = 3;
	CHECK(dp_synth_rows(a, &bt, &err) == 0, "rows counted into a");
	pipe_batch_clear(&bt);
	for (size_t r = 0; r < 5; r++) {
		set_cell(&bt, r, 0, r < 4 ? rows_b[r][0] : "u");
		set_cell(&bt, r, 1, r < 4 ? rows_b[r][1] : "u");
		bt.keep[r] = r < 4; /* the last row was dropped by a filter */
	}
	bt.nrows = 5;
	CHECK(dp_synth_rows(b, &bt, &err) == 0, "rows counted into b");
	CHECK(dp_synth_tvd(a, b, &names, &t, &n) == 0 && n == 3,
	      "three distances: x, y, x x y");
	if (n == 3) {
		CHECK(strcmp(names[0], "x") == 0 &&
			      fabs(t[0] - 1.0 / 3) < 1e-12,
		      "x: 1/3 (the value outside the domain counts nowhere)");
		CHECK(strcmp(names[1], "y") == 0 &&
			      fabs(t[1] - 1.0 / 6) < 1e-12,
		      "y: 1/6 (the out-of-domain x still counts for y)");
		CHECK(strcmp(names[2], "x x y") == 0 &&
			      fabs(t[2] - 1.0 / 3) < 1e-12,
		      "x x y: 1/3 (rows outside a domain count in no cell)");
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		free(t);
	}
	CHECK(dp_synth_tvd(a, a, &names, &t, &n) == 0 && t[0] == 0 && t[2] == 0,
	      "a model is at distance 0 from itself");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(t);
	s.npairs = 0;
	CHECK(dp_synth_new(&s, pc, 2, &c, &err) == 0 &&
		      dp_synth_tvd(a, c, &names, &t, &n) == -EINVAL,
	      "models of different specs have no distance");
	CHECK(dp_synth_rows(a, &(struct pipe_batch){ .ncols = 3 }, &err) ==
		      -EINVAL,
	      "a batch of other columns is refused");
	pipe_batch_fini(&bt);
	dp_synth_free(a);
	dp_synth_free(b);
	dp_synth_free(c);
}

/* ---- generation ---- */

/* The bytes of src through the sink of format f; the source is freed. */
static int run_into(struct view_source *src, enum view_fmt f,
		    struct spot_buf *out)
{
	struct view_sink sink = { 0 };
	struct spot_err err;
	int rc;

	spot_buf_init(out);
	rc = view_format_get(f)->sink_new(out, &sink, &err);
	if (!rc)
		rc = pipe_run(src->ops, src->state, NULL, sink.ops, sink.state,
			      NULL, &err);
	if (rc)
		printf("# run_into: %s\n", err.msg);
	if (sink.free)
		sink.free(sink.state);
	src->free(src->obj);
	return rc;
}

static int csv_of(struct dp_synth *m, unsigned seed, struct spot_buf *out)
{
	struct view_source src;
	struct spot_err err;
	uint8_t k[32];

	seed_of(k, seed);
	spot_buf_init(out);
	if (!m || dp_synth_source(m, k, &src, &err))
		return -1;
	return run_into(&src, VIEW_FMT_CSV, out);
}

static struct dp_synth *fitted(const struct dp_synth_spec *s, uint64_t n,
			       unsigned v)
{
	struct dp_synth *m = NULL;
	struct spot_err err;

	if (dp_synth_new(s, src_cols, S_NCOLS, &m, &err) || fit(m, n, v)) {
		printf("# fitted: %s\n", err.msg);
		dp_synth_free(m);
		return NULL;
	}
	return m;
}

static size_t lines(const struct spot_buf *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->len; i++)
		n += b->p[i] == '\n';
	return n;
}

static void test_determinism(void)
{
	static const char hdr[] = "row,id,name,region,city,age,income,joined,"
				  "a,b\n";
	struct dp_synth_spec s;
	struct dp_synth *m;
	struct spot_buf x, y, z, w;
	struct view_source src;
	struct view_sink sink = { 0 };
	struct pipe_batch b;
	struct spot_err err;
	uint8_t k[32];
	int rc;

	init_spec(&s, 2500);
	m = fitted(&s, 5000, 0);
	CHECK(m != NULL, "a model fitted on 5000 rows");
	if (!m)
		return;
	CHECK(csv_of(m, 1, &x) == 0 && csv_of(m, 1, &y) == 0 &&
		      csv_of(m, 2, &z) == 0,
	      "three tables made");
	CHECK(x.len && x.len == y.len && memcmp(x.p, y.p, x.len) == 0,
	      "the same seed gives the same bytes");
	CHECK(x.len != z.len || memcmp(x.p, z.p, x.len) != 0,
	      "another seed gives other bytes");
	CHECK(lines(&x) == 2501 && lines(&z) == 2501,
	      "exactly 2500 rows and the header");
	CHECK(x.len > 50 && memcmp(x.p, hdr, strlen(hdr)) == 0,
	      "the header names the columns in spec order");

	/* Batches of 333 rows: the same rows (the keystreams are keyed by
	 * row chunks, not by the caller's batches). */
	seed_of(k, 1);
	spot_buf_init(&w);
	rc = dp_synth_source(m, k, &src, &err) ||
	     view_format_get(VIEW_FMT_CSV)->sink_new(&w, &sink, &err) ||
	     pipe_batch_init(&b, C_NCOLS, 333);
	if (!rc) {
		const struct pipe_col *pc;
		size_t nc;

		rc = src.ops->columns(src.state, &pc, &nc, &err) ||
		     sink.ops->begin(sink.state, pc, nc, NULL, &err);
		do {
			pipe_batch_clear(&b);
			rc = rc || src.ops->next_batch(src.state, &b, &err) ||
			     sink.ops->rows(sink.state, &b, &err);
		} while (!rc && b.nrows);
		rc = rc || sink.ops->end(sink.state, &err);
		pipe_batch_fini(&b);
		sink.free(sink.state);
		src.free(src.obj);
	}
	CHECK(!rc && w.len == x.len && memcmp(w.p, x.p, x.len) == 0,
	      "batches of 333 rows give the same bytes as batches of %d",
	      PIPE_BATCH_ROWS);
	spot_buf_fini(&w);

	/* One row, a row past a batch. */
	s.rows = 1;
	dp_synth_free(m);
	m = fitted(&s, 10, 0);
	CHECK(m && csv_of(m, 1, &w) == 0 && lines(&w) == 2,
	      "a table of 1 row has 1 row");
	spot_buf_fini(&w);
	dp_synth_free(m);
	s.rows = PIPE_BATCH_ROWS + 1;
	m = fitted(&s, 10, 0);
	CHECK(m && csv_of(m, 1, &w) == 0 && lines(&w) == PIPE_BATCH_ROWS + 2,
	      "a table of %d rows has %d rows", PIPE_BATCH_ROWS + 1,
	      PIPE_BATCH_ROWS + 1);
	spot_buf_fini(&w);
	spot_buf_fini(&x);
	spot_buf_fini(&y);
	spot_buf_fini(&z);
	dp_synth_free(m);
}

/* Sorted copies of strings, for lookups. */
struct strset {
	char **v;
	size_t n, cap;
};

static void strset_add(struct strset *s, const void *p, size_t len)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n] = malloc(len + 1);
	memcpy(s->v[s->n], p, len);
	s->v[s->n++][len] = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strset_sort(struct strset *s)
{
	qsort(s->v, s->n, sizeof(*s->v), cmp_str);
}

static bool strset_has(const struct strset *s, const char *x)
{
	return bsearch(&x, s->v, s->n, sizeof(*s->v), cmp_str) != NULL;
}

static void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

/* The row's cells of the given columns joined by '\x1f'. */
static void row_text(const struct pipe_batch *b, size_t r, const size_t *idx,
		     size_t n, struct spot_buf *out)
{
	spot_buf_reset(out);
	for (size_t i = 0; i < n; i++) {
		const struct pipe_cell *c = &b->in[r * b->ncols + idx[i]];

		spot_buf_append(out, c->p, c->len);
		spot_buf_putc(out, 0x1f);
	}
	spot_buf_putc(out, 0);
}

/* Source values of every column and whole source rows in spec order. */
static void source_sets(uint64_t n, unsigned v, struct strset *ids,
			struct strset *names, struct strset *rowv,
			struct strset *whole)
{
	static const size_t order[C_NCOLS] = { S_ROW,	 S_ID,	   S_NAME,
					       S_REGION, S_CITY,   S_AGE,
					       S_INCOME, S_JOINED, S_A,
					       S_B };
	struct pipe_batch b;
	struct spot_buf t;

	spot_buf_init(&t);
	pipe_batch_init(&b, S_NCOLS, PIPE_BATCH_ROWS);
	for (uint64_t i = 0; i < n; i += b.nrows) {
		pipe_batch_clear(&b);
		b.nrows = n - i < b.cap ? (size_t)(n - i) : b.cap;
		for (size_t r = 0; r < b.nrows; r++) {
			const struct pipe_cell *c = &b.in[r * b.ncols];

			make_row(&b, r, i + r, v);
			strset_add(ids, c[S_ID].p, c[S_ID].len);
			strset_add(names, c[S_NAME].p, c[S_NAME].len);
			strset_add(rowv, c[S_ROW].p, c[S_ROW].len);
			row_text(&b, r, order, C_NCOLS, &t);
			strset_add(whole, t.p, t.len - 1);
		}
	}
	pipe_batch_fini(&b);
	spot_buf_fini(&t);
	strset_sort(ids);
	strset_sort(names);
	strset_sort(rowv);
	strset_sort(whole);
}

/* TVD of a 2-way count table against the product of its margins. */
static double dependence(const uint64_t *t, size_t na, size_t nb)
{
	double n = 0, d = 0, ma[8] = { 0 }, mb[8] = { 0 };

	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++) {
			ma[i] += (double)t[i * nb + j];
			mb[j] += (double)t[i * nb + j];
			n += (double)t[i * nb + j];
		}
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			d += fabs((double)t[i * nb + j] / n -
				  ma[i] * mb[j] / (n * n));
	return d / 2;
}

/* Joint counts of columns x and y (domains dx, dy) over kept rows of b. */
static void joint_add(uint64_t *t, const struct pipe_batch *b, size_t x,
		      size_t y, const struct dp_domain *dx,
		      const struct dp_domain *dy)
{
	for (size_t r = 0; r < b->nrows; r++) {
		long i = dp_domain_index(dx, &b->in[r * b->ncols + x]);
		long j = dp_domain_index(dy, &b->in[r * b->ncols + y]);

		if (i >= 0 && j >= 0)
			t[i * (long)dp_domain_size(dy) + j]++;
	}
}

/*
 * The distance a marginal of m cells may reach, its cells' noise tails
 * below tail (20 b for the discrete Laplace of scale b: P(|e| > 20 b) <
 * e^-20 a cell; 7 sigma for the discrete Gaussian), counted from n
 * source rows, sampled ns times:
 *  - noise: clamping keeps |x_i - y_i| <= |e_i|, and for counts x, y
 *    0.5 |x/|x| - y/|y||_1 <= |x - y|_1 / |y|, so at most tail * m / n;
 *  - sampling: E TVD(empirical, p) <= 0.5 sqrt(m / ns) (Cauchy-Schwarz),
 *    and above that by 0.015 with probability < e^(-2 ns 0.015^2) (e^-45
 *    for ns = 100000; McDiarmid).
 * A paired column's 1-way is a margin of its pair's joint, whose distance
 * bounds it: it gets the pair's m.
 */
static double tvd_bound(double m, double tail, double n, double ns)
{
	return tail * m / n + 0.5 * sqrt(m / ns) + 0.015;
}

static const double fit_cells[] = { 25, 25, 50, 50, 12, 4, 4, 25, 50 };
static const char *const fit_names[] = {
	"region", "city", "age",	   "income",	  "joined",
	"a",	  "b",	  "region x city", "age x income"
};

/* Fit 100k rows with spec s, sample 100k, and check what the table
 * promises; tail: the noise bound of one cell (see tvd_bound). */
static void check_fit(const struct dp_synth_spec *s, double tail,
		      const char *what)
{
	struct strset ids = { 0 }, names = { 0 }, rowv = { 0 }, whole = { 0 };
	static const size_t all[C_NCOLS] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	uint64_t ab[16] = { 0 }, rc2[25] = { 0 }, total = 0, outside = 0;
	uint64_t fake_hit = 0, verbatim = 0, seq_bad = 0, ab_src[16] = { 0 };
	struct dp_synth *src = fitted(s, 100000, 0), *syn = NULL;
	const struct pipe_col *pc;
	struct view_source gs;
	struct pipe_batch b;
	struct spot_buf t;
	struct spot_err err;
	char **nm = NULL;
	double *tv = NULL;
	size_t nc, n = 0;
	uint8_t k[32];
	int rc;

	seed_of(k, 1);
	rc = !src || dp_synth_source(src, k, &gs, &err);
	CHECK(!rc, "%s: model fitted on 100000 rows, source open", what);
	if (rc) {
		dp_synth_free(src);
		return;
	}
	gs.ops->columns(gs.state, &pc, &nc, &err);
	CHECK(dp_synth_new(s, pc, nc, &syn, &err) == 0,
	      "%s: a model of the synthetic table's own columns", what);
	source_sets(100000, 0, &ids, &names, &rowv, &whole);
	spot_buf_init(&t);
	pipe_batch_init(&b, nc, PIPE_BATCH_ROWS);
	for (;;) {
		pipe_batch_clear(&b);
		if (gs.ops->next_batch(gs.state, &b, &err) || !b.nrows)
			break;
		dp_synth_rows(syn, &b, &err);
		joint_add(ab, &b, C_A, C_B, &cols[C_A].dom, &cols[C_B].dom);
		joint_add(rc2, &b, C_REGION, C_CITY, &cols[C_REGION].dom,
			  &cols[C_CITY].dom);
		for (size_t r = 0; r < b.nrows; r++) {
			const struct pipe_cell *c = &b.in[r * b.ncols];
			char want[32];

			for (size_t j = C_REGION; j < C_NCOLS; j++)
				outside += dp_domain_index(&cols[j].dom,
							   &c[j]) < 0;
			row_text(&b, r, &all[C_ID], 1, &t);
			t.p[t.len - 2] = 0;
			fake_hit += strset_has(&ids, (char *)t.p);
			row_text(&b, r, &all[C_NAME], 1, &t);
			t.p[t.len - 2] = 0;
			fake_hit += strset_has(&names, (char *)t.p);
			row_text(&b, r, &all[C_ROW], 1, &t);
			t.p[t.len - 2] = 0;
			fake_hit += strset_has(&rowv, (char *)t.p);
			snprintf(want, sizeof(want), "%llu",
				 (unsigned long long)(total + r + 1));
			seq_bad += strcmp(want, (char *)t.p) != 0;
			row_text(&b, r, all, C_NCOLS, &t);
			t.p[t.len - 1] = 0;
			verbatim += strset_has(&whole, (char *)t.p);
		}
		total += b.nrows;
	}
	gs.free(gs.obj);
	CHECK(total == 100000, "%s: %llu rows, 100000 asked", what,
	      (unsigned long long)total);
	CHECK(outside == 0,
	      "%s: every sampled value inside its domain (%llu "
	      "outside)",
	      what, (unsigned long long)outside);
	CHECK(seq_bad == 0, "%s: the sequence is 1..rows", what);
	CHECK(fake_hit == 0,
	      "%s: no fake id or name and no row number equals a source "
	      "value of its column (%llu do)",
	      what, (unsigned long long)fake_hit);
	CHECK(verbatim == 0, "%s: no source row verbatim (%llu)", what,
	      (unsigned long long)verbatim);

	CHECK(syn && dp_synth_tvd(src, syn, &nm, &tv, &n) == 0 && n == 9,
	      "%s: 9 distances", what);
	for (size_t i = 0; i < n && n == 9; i++) {
		double bound = tvd_bound(fit_cells[i], tail, 95000, 100000);

		CHECK(strcmp(nm[i], fit_names[i]) == 0 && tv[i] < bound,
		      "%s: TVD %s = %.4f, below %.4f", what, nm[i], tv[i],
		      bound);
		free(nm[i]);
	}
	free(nm);
	free(tv);

	/* The source's a and b depend; the table's do not (no pair). */
	pipe_batch_clear(&b);
	pipe_batch_fini(&b);
	pipe_batch_init(&b, S_NCOLS, PIPE_BATCH_ROWS);
	for (uint64_t i = 0; i < 100000; i += b.nrows) {
		pipe_batch_clear(&b);
		b.nrows = PIPE_BATCH_ROWS;
		if (100000 - i < b.nrows)
			b.nrows = (size_t)(100000 - i);
		for (size_t r = 0; r < b.nrows; r++)
			make_row(&b, r, i + r, 0);
		joint_add(ab_src, &b, S_A, S_B, &cols[C_A].dom, &cols[C_B].dom);
	}
	CHECK(dependence(ab_src, 4, 4) > 0.5,
	      "%s: the source's a and b depend (%.3f from independent)", what,
	      dependence(ab_src, 4, 4));
	/* 0.5 sqrt(16 / ns) + 0.015 for the joint, 0.5 sqrt(4 / ns) +
	 * 0.015 for each margin (see tvd_bound): 0.057. */
	CHECK(dependence(ab, 4, 4) < 0.057,
	      "%s: the table's unpaired a and b are independent (%.4f)", what,
	      dependence(ab, 4, 4));
	CHECK(dependence(rc2, 5, 5) > 0.5,
	      "%s: the table keeps the pair region x city (%.3f from "
	      "independent)",
	      what, dependence(rc2, 5, 5));
	pipe_batch_fini(&b);
	spot_buf_fini(&t);
	strset_free(&ids);
	strset_free(&names);
	strset_free(&rowv);
	strset_free(&whole);
	dp_synth_free(syn);
	dp_synth_free(src);
}

static void test_fit(void)
{
	struct dp_synth_spec s;
	double sigma;

	init_spec(&s, 100000);
	/* 5 marginals, epsilon 1: discrete Laplace of scale b = 5. */
	check_fit(&s, 20 * 5, "laplace");
	s.mech = DP_MECH_GAUSSIAN;
	s.epsilon = (struct dp_ratio){ 9, 10 };
	s.delta = (struct dp_ratio){ 1, 1000000 };
	/* The classic sigma for (0.18, 2e-7) a marginal. */
	sigma = sqrt(2 * log(1.25 / 2e-7)) / 0.18;
	check_fit(&s, 7 * sigma, "gaussian");
}

/* Generated columns read no data: other source rows, same values. */
static void test_generated_ignore_data(void)
{
	struct dp_synth_spec s;
	struct dp_synth *m0, *m1;
	struct view_source g0, g1;
	struct pipe_batch b0, b1;
	struct spot_err err;
	uint64_t same_gen = 0, diff_model = 0, rows = 0;
	uint8_t k[32];

	init_spec(&s, 3000);
	m0 = fitted(&s, 5000, 0);
	m1 = fitted(&s, 5000, 1);
	seed_of(k, 3);
	if (!m0 || !m1 || dp_synth_source(m0, k, &g0, &err) ||
	    dp_synth_source(m1, k, &g1, &err)) {
		CHECK(0, "generated: sources open");
		return;
	}
	pipe_batch_init(&b0, C_NCOLS, PIPE_BATCH_ROWS);
	pipe_batch_init(&b1, C_NCOLS, PIPE_BATCH_ROWS);
	for (;;) {
		pipe_batch_clear(&b0);
		pipe_batch_clear(&b1);
		if (g0.ops->next_batch(g0.state, &b0, &err) ||
		    g1.ops->next_batch(g1.state, &b1, &err) || !b0.nrows ||
		    b0.nrows != b1.nrows)
			break;
		for (size_t r = 0; r < b0.nrows; r++) {
			bool same = true;

			for (size_t c = 0; c < C_NCOLS; c++) {
				const struct pipe_cell *x =
					&b0.in[r * C_NCOLS + c];
				const struct pipe_cell *y =
					&b1.in[r * C_NCOLS + c];
				bool eq = x->len == y->len &&
					  memcmp(x->p, y->p, x->len) == 0;

				if (c <= C_NAME)
					same = same && eq;
				else
					diff_model += !eq;
			}
			same_gen += same;
		}
		rows += b0.nrows;
	}
	CHECK(rows == 3000 && same_gen == 3000,
	      "the generated columns (sequence, fake id, fake name) are the "
	      "same whatever the data (%llu of %llu rows)",
	      (unsigned long long)same_gen, (unsigned long long)rows);
	CHECK(diff_model > 1000,
	      "while the modelled columns follow the data (%llu cells "
	      "differ)",
	      (unsigned long long)diff_model);
	pipe_batch_fini(&b0);
	pipe_batch_fini(&b1);
	g0.free(g0.obj);
	g1.free(g1.obj);
	dp_synth_free(m0);
	dp_synth_free(m1);
}

/* The noise is there: a tiny epsilon drowns a one-category source. */
static void test_noise_dominates(void)
{
	static char names[20][4];
	char *cats[20];
	struct pipe_col pc = { (char *)"c", 1, 0, 0 };
	struct dp_scol sc = { .name = "c", .kind = DP_SCOL_CAT };
	struct dp_synth_spec s = { .name = "t",
				   .cols = &sc,
				   .ncols = 1,
				   .rows = 10000,
				   .epsilon = { 1, 1000 } };
	struct dp_synth *m = NULL;
	struct view_source g;
	struct pipe_batch b;
	struct spot_err err;
	uint64_t first = 0, total = 0;
	uint8_t k[32];

	for (int i = 0; i < 20; i++) {
		snprintf(names[i], sizeof(names[i]), "v%d", i);
		cats[i] = names[i];
	}
	sc.dom.cats = cats;
	sc.dom.ncats = 20;
	pipe_batch_init(&b, 1, PIPE_BATCH_ROWS);
	for (size_t r = 0; r < 100; r++) {
		set_cell(&b, r, 0, "v0");
		b.keep[r] = 1;
	}
	b.nrows = 100;
	seed_of(k, 4);
	if (dp_synth_new(&s, &pc, 1, &m, &err) || dp_synth_rows(m, &b, &err) ||
	    dp_synth_source(m, k, &g, &err)) {
		CHECK(0, "noise: model and source");
		pipe_batch_fini(&b);
		dp_synth_free(m);
		return;
	}
	for (;;) {
		pipe_batch_clear(&b);
		if (g.ops->next_batch(g.state, &b, &err) || !b.nrows)
			break;
		for (size_t r = 0; r < b.nrows; r++)
			first += b.in[r].len == 2 &&
				 memcmp(b.in[r].p, "v0", 2) == 0;
		total += b.nrows;
	}
	/* Scale 1000 against a count of 100: the 19 empty cells get about
	 * 500 each on average; v0 keeps most rows only if nearly all of
	 * them drew no positive noise (probability about 2^-19). */
	CHECK(total == 10000 && first < total / 2,
	      "epsilon 0.001: v0, the only value of the source, is %llu of "
	      "%llu rows",
	      (unsigned long long)first, (unsigned long long)total);
	g.free(g.obj);
	pipe_batch_fini(&b);
	dp_synth_free(m);
}

/*
 * The noise has the scale of the epsilon split: four unpaired columns of
 * two values (k = 4 marginals), 1000 source rows all "x". Value "y" of a
 * column has the noisy count m = max(0, e) against about 1000 for "x",
 * so a table of 1000 rows holds about m of them: averaged over 4 columns
 * and 400 seeds, E max(0, e) = a / ((1 + a)(1 - a)), a = exp(-1/t), for
 * the discrete Laplace of scale t (1.98 for t = k/epsilon = 4, 0.43 for
 * t = 1/epsilon), and sigma / sqrt(2 pi) for the Gaussian (17.7 for the
 * classic sigma of (0.5/4, 1e-6/4); 4.4 without the split). The standard
 * errors (about 0.09 and 0.9) are a quarter of the margins allowed.
 */
static double mean_y(enum dp_mech mech, struct dp_ratio eps,
		     struct dp_ratio delta)
{
	static const char *const xy[] = { "x", "y" };
	struct pipe_col pc[4] = { { (char *)"c0", 2, 0, 0 },
				  { (char *)"c1", 2, 0, 0 },
				  { (char *)"c2", 2, 0, 0 },
				  { (char *)"c3", 2, 0, 0 } };
	struct dp_scol sc[4];
	struct dp_synth_spec s = { .name = "t",
				   .cols = sc,
				   .ncols = 4,
				   .rows = 1000,
				   .epsilon = eps,
				   .mech = mech,
				   .delta = delta };
	struct dp_synth *m = NULL;
	struct pipe_batch b;
	struct spot_err err;
	uint64_t ys = 0;
	uint8_t k[32];

	for (int i = 0; i < 4; i++)
		sc[i] = (struct dp_scol){ .name = pc[i].name,
					  .dom = { .cats = (char **)xy,
						   .ncats = 2 } };
	pipe_batch_init(&b, 4, PIPE_BATCH_ROWS);
	for (size_t r = 0; r < 1000; r++) {
		for (size_t c = 0; c < 4; c++)
			set_cell(&b, r, c, "x");
		b.keep[r] = 1;
	}
	b.nrows = 1000;
	if (dp_synth_new(&s, pc, 4, &m, &err) || dp_synth_rows(m, &b, &err)) {
		pipe_batch_fini(&b);
		dp_synth_free(m);
		return -1;
	}
	for (unsigned seed = 0; seed < 400; seed++) {
		struct view_source g;

		memset(k, 0, sizeof(k));
		k[0] = (uint8_t)seed;
		k[1] = (uint8_t)(seed >> 8);
		k[2] = 0x77;
		if (dp_synth_source(m, k, &g, &err))
			break;
		for (;;) {
			pipe_batch_clear(&b);
			if (g.ops->next_batch(g.state, &b, &err) || !b.nrows)
				break;
			for (size_t i = 0; i < b.nrows * 4; i++)
				ys += b.in[i].p[0] == 'y';
		}
		g.free(g.obj);
	}
	pipe_batch_fini(&b);
	dp_synth_free(m);
	return (double)ys / (400 * 4);
}

static void test_noise_scale(void)
{
	double a = exp(-1.0 / 4), want = a / ((1 + a) * (1 - a));
	double lap = mean_y(DP_MECH_LAPLACE, (struct dp_ratio){ 1, 1 },
			    (struct dp_ratio){ 0, 1 });
	double sigma = sqrt(2 * log(1.25 / 2.5e-7)) / 0.125;
	double gwant = sigma / sqrt(2 * M_PI);
	double gau = mean_y(DP_MECH_GAUSSIAN, (struct dp_ratio){ 1, 2 },
			    (struct dp_ratio){ 1, 1000000 });

	CHECK(fabs(lap - want) < 0.4,
	      "laplace, epsilon 1 over 4 marginals: %.3f \"y\" a column, "
	      "%.3f expected for scale 4",
	      lap, want);
	CHECK(fabs(gau - gwant) < 3.6,
	      "gaussian, epsilon 0.5 and delta 1e-6 over 4 marginals: %.2f "
	      "\"y\" a column, %.2f expected for sigma %.1f",
	      gau, gwant, sigma);
}

/*
 * A tree of three columns, its pairs named in every orientation: source
 * rows have y = x and z = y + 1 (mod 5), 4000 rows per value. With
 * epsilon 1 over 2 tables (scale 2), an empty cell's clamped noise
 * averages 0.9 (a / ((1 + a)(1 - a)), a = exp(-1/2)) against about 4000
 * in the cell that holds the rows: each conditional strays with
 * probability about 4 x 0.9 / 4000 (0.1 %), so over 95 % of the rows
 * keep both relations (a sampler reading a table the wrong way round
 * would keep about 20 %).
 */
static double chain_kept(const size_t (*pairs)[2])
{
	static const char *const v5[] = { "0", "1", "2", "3", "4" };
	struct pipe_col pc[3] = { { (char *)"x", 1, 0, 0 },
				  { (char *)"y", 1, 0, 0 },
				  { (char *)"z", 1, 0, 0 } };
	struct dp_scol sc[3];
	struct dp_synth_spec s = { .name = "t",
				   .cols = sc,
				   .ncols = 3,
				   .pairs = pairs,
				   .npairs = 2,
				   .rows = 5000,
				   .epsilon = { 1, 1 } };
	struct dp_synth *m = NULL;
	struct view_source g;
	struct pipe_batch b;
	struct spot_err err;
	uint64_t kept = 0, total = 0;
	uint8_t k[32];

	for (int i = 0; i < 3; i++)
		sc[i] = (struct dp_scol){ .name = pc[i].name,
					  .dom = { .cats = (char **)v5,
						   .ncats = 5 } };
	if (dp_synth_new(&s, pc, 3, &m, &err))
		return -1;
	pipe_batch_init(&b, 3, PIPE_BATCH_ROWS);
	for (size_t i = 0; i < 20000; i += b.nrows) {
		pipe_batch_clear(&b);
		b.nrows = PIPE_BATCH_ROWS;
		if (20000 - i < b.nrows)
			b.nrows = 20000 - i;
		for (size_t r = 0; r < b.nrows; r++) {
			size_t x = (i + r) % 5;

			set_cell(&b, r, 0, v5[x]);
			set_cell(&b, r, 1, v5[x]);
			set_cell(&b, r, 2, v5[(x + 1) % 5]);
			b.keep[r] = 1;
		}
		dp_synth_rows(m, &b, &err);
	}
	seed_of(k, 7);
	if (dp_synth_source(m, k, &g, &err)) {
		pipe_batch_fini(&b);
		dp_synth_free(m);
		return -1;
	}
	for (;;) {
		pipe_batch_clear(&b);
		if (g.ops->next_batch(g.state, &b, &err) || !b.nrows)
			break;
		for (size_t r = 0; r < b.nrows; r++) {
			int x = b.in[r * 3].p[0] - '0';
			int y = b.in[r * 3 + 1].p[0] - '0';
			int z = b.in[r * 3 + 2].p[0] - '0';

			kept += y == x && z == (y + 1) % 5;
		}
		total += b.nrows;
	}
	g.free(g.obj);
	pipe_batch_fini(&b);
	dp_synth_free(m);
	return total == 5000 ? (double)kept / (double)total : -1;
}

static void test_chain(void)
{
	static const size_t fwd[][2] = { { 0, 1 }, { 1, 2 } };
	static const size_t rev[][2] = { { 1, 0 }, { 2, 1 } };
	static const size_t mix[][2] = { { 2, 1 }, { 0, 1 } };
	static const size_t mid[][2] = { { 1, 2 }, { 1, 0 } };
	const size_t(*const all[])[2] = { fwd, rev, mix, mid };
	static const char *const what[] = { "x-y, y-z", "y-x, z-y", "z-y, x-y",
					    "y-z, y-x" };

	for (size_t i = 0; i < 4; i++) {
		double f = chain_kept(all[i]);

		CHECK(f > 0.95,
		      "a tree x - y - z named as %s: %.4f of rows keep y = x "
		      "and z = y + 1",
		      what[i], f);
	}
}

#define AW_N 5

/*
 * Bins whose edges are not multiples of the resolution, negative ones,
 * a resolution above 1, date bins that start mid-day, the first and
 * last days of years 1..9999: every value drawn reads back inside the
 * domain and inside its bin, and every bin (each holding a quarter, a
 * third or a half of 20000 source rows) is reached.
 */
static void test_awkward_bins(void)
{
	static const double e1[] = { 0.1, 0.2, 0.3, 0.35, 1 };
	static const double e2[] = { -5.5, -0.05, 0, 3.3 };
	static const double e3[] = { -10000, 0, 5000, 1e6 };
	static const double e4[] = { 18262.5, 18264, 18300.25, 18301 };
	static const double e5[] = { -719162, -719160, 2932896 };
	struct pipe_col pc[AW_N] = { { (char *)"p", 1, 0, 0 },
				     { (char *)"q", 1, 0, 0 },
				     { (char *)"r", 1, 0, 0 },
				     { (char *)"d", 1, 0, 0 },
				     { (char *)"e", 1, 0, 0 } };
	struct dp_scol sc[AW_N] = {
		{ .name = "p",
		  .kind = DP_SCOL_NUM,
		  .res_exp = -1,
		  .dom = { .edges = (double *)e1, .nedges = 5 } },
		{ .name = "q",
		  .kind = DP_SCOL_NUM,
		  .res_exp = -2,
		  .dom = { .edges = (double *)e2, .nedges = 4 } },
		{ .name = "r",
		  .kind = DP_SCOL_NUM,
		  .res_exp = 3,
		  .dom = { .edges = (double *)e3, .nedges = 4 } },
		{ .name = "d",
		  .kind = DP_SCOL_DATE,
		  .dom = { .edges = (double *)e4,
			   .nedges = 4,
			   .dates = true } },
		{ .name = "e",
		  .kind = DP_SCOL_DATE,
		  .dom = { .edges = (double *)e5,
			   .nedges = 3,
			   .dates = true } },
	};
	struct dp_synth_spec s = { .name = "t",
				   .cols = sc,
				   .ncols = AW_N,
				   .rows = 8000,
				   .epsilon = { 1, 1 } };
	struct dp_synth *m = NULL, *syn = NULL;
	struct view_source g;
	struct pipe_batch b;
	struct spot_err err;
	uint64_t outside = 0, seen[AW_N][4] = { { 0 } }, reached = 0;
	char **nm = NULL;
	double *tv = NULL;
	size_t n = 0;
	uint8_t k[32];

	static const char *const pv[] = { "0.1", "0.25", "0.3", "0.5" };
	static const char *const qv[] = { "-3", "-0.05", "1" };
	static const char *const rv[] = { "-5000", "1000", "500000" };
	static const char *const dv[] = { "2020-01-02", "2020-01-20",
					  "2020-02-09" };
	static const char *const ev[] = { "0001-01-02", "9999-12-31" };

	seed_of(k, 8);
	pipe_batch_init(&b, AW_N, PIPE_BATCH_ROWS);
	if (dp_synth_new(&s, pc, AW_N, &m, &err) ||
	    dp_synth_new(&s, pc, AW_N, &syn, &err)) {
		CHECK(0, "awkward bins: %s", err.msg);
		goto out;
	}
	for (size_t i = 0; i < 20; i++) {
		pipe_batch_clear(&b);
		for (size_t r = 0; r < 1000; r++) {
			set_cell(&b, r, 0, pv[r % 4]);
			set_cell(&b, r, 1, qv[r % 3]);
			set_cell(&b, r, 2, rv[r % 3]);
			set_cell(&b, r, 3, dv[r % 3]);
			set_cell(&b, r, 4, ev[r % 2]);
			b.keep[r] = 1;
		}
		b.nrows = 1000;
		dp_synth_rows(m, &b, &err);
	}
	if (dp_synth_source(m, k, &g, &err)) {
		CHECK(0, "awkward bins: %s", err.msg);
		goto out;
	}
	for (;;) {
		pipe_batch_clear(&b);
		if (g.ops->next_batch(g.state, &b, &err) || !b.nrows)
			break;
		dp_synth_rows(syn, &b, &err);
		for (size_t r = 0; r < b.nrows; r++)
			for (size_t c = 0; c < AW_N; c++) {
				long i = dp_domain_index(&sc[c].dom,
							 &b.in[r * AW_N + c]);

				if (i < 0)
					outside++;
				else
					seen[c][i]++;
			}
	}
	g.free(g.obj);
	for (size_t c = 0; c < AW_N; c++)
		for (size_t i = 0; i + 1 < sc[c].dom.nedges; i++)
			reached += seen[c][i] > 0;
	CHECK(outside == 0,
	      "values of awkward bins all read back inside their domain "
	      "(%llu outside)",
	      (unsigned long long)outside);
	CHECK(reached == 4 + 3 + 3 + 3 + 2, "every bin is reached (%llu of 15)",
	      (unsigned long long)reached);
	/* A value drawn in its bin reads back in that bin: the shares of
	 * the bins follow the source's (a value of a bin's upper edge
	 * would move half a bin's rows to the next: 0.125 or more). */
	if (dp_synth_tvd(m, syn, &nm, &tv, &n) == 0 && n == AW_N)
		for (size_t c = 0; c < AW_N; c++) {
			double bound = tvd_bound((double)(sc[c].dom.nedges - 1),
						 20 * 4, 20000, 8000);

			CHECK(tv[c] < bound, "bins of %s: TVD %.4f below %.4f",
			      nm[c], tv[c], bound);
		}
	else
		CHECK(0, "awkward bins: distances");
	for (size_t i = 0; i < n; i++)
		free(nm[i]);
	free(nm);
	free(tv);
out:
	pipe_batch_fini(&b);
	dp_synth_free(m);
	dp_synth_free(syn);
}

/*
 * Hostile cells: random bytes (NUL, quotes, digits, dashes), NULL and
 * BLOB types, cells without bytes, over-long numbers: counting never
 * crashes (ASan watches) and a value the domains do not hold counts in
 * no cell, so the table made afterwards is whole.
 */
static void test_hostile_cells(void)
{
	static const char alpha[] = "0123456789-.eE+ \"\\,\n\0xnorthays";
	struct dp_synth_spec s;
	struct dp_synth *m;
	struct pipe_batch b;
	struct spot_buf out;
	struct spot_err err;
	uint64_t st = 42;
	int rc = 0;

	init_spec(&s, 500);
	m = fitted(&s, 100, 0);
	pipe_batch_init(&b, S_NCOLS, PIPE_BATCH_ROWS);
	for (int round = 0; m && !rc && round < 20; round++) {
		pipe_batch_clear(&b);
		b.nrows = b.cap;
		for (size_t i = 0; i < b.nrows * S_NCOLS; i++) {
			struct pipe_cell *c = &b.in[i];
			uint64_t x = sm_next(&st);
			size_t len = x % 4 == 0 ? 80 + x % 200 : x % 12;
			uint8_t *p = spot_arena_alloc(&b.src_arena, len + 1);

			for (size_t j = 0; p && j < len; j++)
				p[j] = (uint8_t)alpha[sm_next(&st) %
						      (sizeof(alpha) - 1)];
			c->p = x % 17 == 0 ? NULL : p;
			c->len = x % 17 == 0 ? 0 : len;
			c->type = (uint8_t)((x >> 8) % 5);
		}
		memset(b.keep, 1, b.nrows);
		rc = dp_synth_rows(m, &b, &err);
	}
	CHECK(m && !rc, "20480 rows of hostile cells counted without error");
	CHECK(m && csv_of(m, 1, &out) == 0 && lines(&out) == 501,
	      "and the table made afterwards is whole");
	spot_buf_fini(&out);
	pipe_batch_fini(&b);
	dp_synth_free(m);
}

/* The CSV and the Parquet sink of the table of formats; the Parquet
 * file read back holds the same cells. */
static void test_sinks(void)
{
	struct dp_synth_spec s;
	struct dp_synth *m;
	struct view_source g, p;
	struct view_req req = { .form = VIEW_FMT_PARQUET, .fd = -1 };
	struct pipe_batch b0, b1;
	struct spot_buf pq, csv;
	struct spot_err err;
	uint64_t rows = 0, same = 0;
	uint8_t k[32];
	int fd;

	init_spec(&s, 2500);
	m = fitted(&s, 5000, 0);
	seed_of(k, 5);
	CHECK(m && dp_synth_source(m, k, &g, &err) == 0 &&
		      run_into(&g, VIEW_FMT_PARQUET, &pq) == 0,
	      "the table through the Parquet sink");
	CHECK(pq.len > 8 && memcmp(pq.p, "PAR1", 4) == 0 &&
		      memcmp(pq.p + pq.len - 4, "PAR1", 4) == 0,
	      "a Parquet file");
	CHECK(m && csv_of(m, 5, &csv) == 0 && lines(&csv) == 2501,
	      "and through the CSV sink");
	fd = memfd_create("synth.parquet", 0);
	if (fd < 0 || write(fd, pq.p, pq.len) != (ssize_t)pq.len) {
		CHECK(0, "memfd");
		return;
	}
	req.fd = fd;
	if (!m || dp_synth_source(m, k, &g, &err) ||
	    view_format_get(VIEW_FMT_PARQUET)->source_open(&req, &p, &err)) {
		CHECK(0, "parquet read back: %s", err.msg);
		return;
	}
	pipe_batch_init(&b0, C_NCOLS, PIPE_BATCH_ROWS);
	pipe_batch_init(&b1, C_NCOLS, PIPE_BATCH_ROWS);
	for (;;) {
		pipe_batch_clear(&b0);
		pipe_batch_clear(&b1);
		if (g.ops->next_batch(g.state, &b0, &err) ||
		    p.ops->next_batch(p.state, &b1, &err) || !b0.nrows ||
		    b0.nrows != b1.nrows)
			break;
		for (size_t i = 0; i < b0.nrows * C_NCOLS; i++)
			same += b0.in[i].len == b1.in[i].len &&
				memcmp(b0.in[i].p, b1.in[i].p, b0.in[i].len) ==
					0;
		rows += b0.nrows;
	}
	CHECK(rows == 2500 && same == 2500 * C_NCOLS,
	      "the Parquet file holds the table's %llu rows cell for cell",
	      (unsigned long long)rows);
	pipe_batch_fini(&b0);
	pipe_batch_fini(&b1);
	g.free(g.obj);
	p.free(p.obj);
	close(fd);
	spot_buf_fini(&pq);
	spot_buf_fini(&csv);
	dp_synth_free(m);
}

/* A billion rows asked: batches come at once, memory does not grow. */
static void test_bounded(void)
{
	struct dp_synth_spec s;
	struct dp_synth *m;
	struct view_source g;
	struct pipe_batch b;
	struct spot_err err;
	bool ok = true;
	uint8_t k[32];

	init_spec(&s, 1000000000);
	m = fitted(&s, 1000, 0);
	seed_of(k, 6);
	if (!m || dp_synth_source(m, k, &g, &err)) {
		CHECK(0, "bounded: source");
		dp_synth_free(m);
		return;
	}
	pipe_batch_init(&b, C_NCOLS, PIPE_BATCH_ROWS);
	for (int i = 0; i < 3 && ok; i++) {
		pipe_batch_clear(&b);
		ok = g.ops->next_batch(g.state, &b, &err) == 0 &&
		     b.nrows == PIPE_BATCH_ROWS;
	}
	CHECK(ok && b.in[(b.nrows - 1) * C_NCOLS + C_ROW].len == 4 &&
		      memcmp(b.in[(b.nrows - 1) * C_NCOLS + C_ROW].p, "3072",
			     4) == 0,
	      "1e9 rows asked: three full batches served, row 3072 last");
	pipe_batch_fini(&b);
	g.free(g.obj);
	dp_synth_free(m);
}

/*
 * Every allocation of a whole release failing in turn: model, counting,
 * statement, source, the CSV sink, distances. Each failure must come
 * back as an error, with nothing leaked (LeakSanitizer) and nothing
 * half-made served.
 */
static int whole_release(void *arg)
{
	struct dp_synth_spec s;
	struct dp_synth *m = NULL, *syn = NULL;
	struct view_source g = { 0 };
	struct view_sink sink = { 0 };
	struct spot_buf out, js;
	struct spot_err err;
	char **nm = NULL;
	double *tv = NULL;
	size_t n = 0;
	uint8_t k[32];
	int rc;

	(void)arg;
	init_spec(&s, PIPE_BATCH_ROWS + 10);
	seed_of(k, 9);
	spot_buf_init(&out);
	spot_buf_init(&js);
	rc = dp_synth_new(&s, src_cols, S_NCOLS, &m, &err);
	rc = rc ? rc : fit(m, 300, 0);
	rc = rc ? rc : dp_synth_json(&s, &js);
	rc = rc ? rc : dp_synth_source(m, k, &g, &err);
	if (!rc) {
		const struct pipe_col *pc;
		size_t nc;

		g.ops->columns(g.state, &pc, &nc, &err);
		rc = dp_synth_new(&s, pc, nc, &syn, &err);
	}
	rc = rc ? rc
		: view_format_get(VIEW_FMT_CSV)->sink_new(&out, &sink, &err);
	rc = rc ? rc
		: pipe_run(g.ops, g.state, NULL, sink.ops, sink.state, NULL,
			   &err);
	rc = rc ? rc : dp_synth_tvd(m, m, &nm, &tv, &n);
	if (!rc && (lines(&out) != PIPE_BATCH_ROWS + 11 || !js.len || n != 9))
		rc = 1; /* succeeded but incomplete */
	for (size_t i = 0; i < n; i++)
		free(nm[i]);
	free(nm);
	free(tv);
	if (sink.free)
		sink.free(sink.state);
	if (g.free)
		g.free(g.obj);
	spot_buf_fini(&out);
	spot_buf_fini(&js);
	dp_synth_free(syn);
	dp_synth_free(m);
	return rc;
}

static void test_alloc_fail(void)
{
	alloc_fail_loop("a synthetic release", whole_release, NULL);
}

int main(void)
{
	test_check();
	test_json();
	test_tvd_exact();
	test_determinism();
	test_generated_ignore_data();
	test_noise_dominates();
	test_noise_scale();
	test_chain();
	test_awkward_bins();
	test_hostile_cells();
	test_sinks();
	test_bounded();
	test_alloc_fail();
	test_fit();
	return check_done();
}

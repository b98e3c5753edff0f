/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_dp.c - the exact samplers against their distributions (mean,
 * variance, P(0), tails over many draws with fixed keys), the rationals,
 * the declared domains, and the DP aggregates end to end into CSV.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "dp.h"

static void seed_of(uint8_t seed[32], uint8_t v)
{
	memset(seed, 0, 32);
	seed[0] = v;
	seed[31] = 0x5a;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- rationals ---- */

static void test_ratio(void)
{
	static const struct {
		const char *s;
		uint64_t num, den, nano;
	} good[] = {
		{ "1", 1, 1, 1000000000 },
		{ "0.5", 5, 10, 500000000 },
		{ "0.50", 5, 10, 500000000 },
		{ "0.000001", 1, 1000000, 1000 },
		{ "2.25", 225, 100, 2250000000 },
		{ "0.000000001", 1, 1000000000, 1 },
		{ "1000000", 1000000, 1, 1000000000000000 },
		{ "1000000.000000000", 1000000, 1, 1000000000000000 },
		{ "0", 0, 1, 0 },
		{ "007", 7, 1, 7000000000 },
	};
	static const char *const bad[] = {
		"",
		".5",
		"1.",
		"-1",
		"+1",
		" 1",
		"1 ",
		"1e3",
		"1.2.3",
		"0.0000000001",
		"1000001",
		"abc",
		"0x10",
		"1000000.000000001",
		"99999999999999999999999",
		"1,5",
		"nan",
		"inf",
	};
	struct dp_ratio r;
	char buf[64];

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(good); i++) {
		int rc = dp_ratio_parse(good[i].s, &r);

		CHECK(rc == 0 && r.num == good[i].num && r.den == good[i].den &&
			      dp_ratio_nano(r) == good[i].nano,
		      "ratio \"%s\" parses to %llu/%llu, %llu nano", good[i].s,
		      (unsigned long long)good[i].num,
		      (unsigned long long)good[i].den,
		      (unsigned long long)good[i].nano);
	}
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(bad); i++)
		CHECK(dp_ratio_parse(bad[i], &r) == -EINVAL,
		      "ratio \"%s\" refused", bad[i]);
	CHECK(dp_ratio_parse(NULL, &r) == -EINVAL, "ratio NULL refused");

	r = (struct dp_ratio){ 1, 4 };
	dp_ratio_text(r, buf, sizeof(buf));
	CHECK(!strcmp(buf, "0.25"), "1/4 prints 0.25 (%s)", buf);
	r = (struct dp_ratio){ 225, 100 };
	dp_ratio_text(r, buf, sizeof(buf));
	CHECK(!strcmp(buf, "2.25"), "225/100 prints 2.25 (%s)", buf);
	r = (struct dp_ratio){ 10, 2 };
	dp_ratio_text(r, buf, sizeof(buf));
	CHECK(!strcmp(buf, "5"), "10/2 prints 5 (%s)", buf);
	r = (struct dp_ratio){ 1, 1000000000 };
	dp_ratio_text(r, buf, sizeof(buf));
	CHECK(!strcmp(buf, "0.000000001"), "1e-9 prints exactly (%s)", buf);
	r = (struct dp_ratio){ 1, 3 };
	dp_ratio_text(r, buf, sizeof(buf));
	CHECK(!strcmp(buf, "0.333333333"), "1/3 prints as %%.9g (%s)", buf);
	r = (struct dp_ratio){ 1, 3 };
	CHECK(dp_ratio_nano(r) == 333333334, "nano rounds up (1/3)");
}

/* ---- the bit stream ---- */

static void test_rng(void)
{
	struct dp_rng a, b;
	uint8_t s1[32], s2[32];
	uint64_t cnt[10] = { 0 }, c3[3] = { 0 };
	bool same = true, differ = false;
	double chi = 0, e;
	const int n = 100000;

	/* ChaCha20 with a zero key and nonce: its published first block
	 * starts 76 b8 e0 ad a0 f1 3d 90 (read little endian). */
	memset(s1, 0, sizeof(s1));
	dp_rng_init(&a, s1);
	CHECK(dp_rng_u64(&a) == 0x903df1a0ade0b876ull,
	      "the stream is ChaCha20's keystream");
	seed_of(s1, 1);
	seed_of(s2, 2);
	dp_rng_init(&a, s1);
	dp_rng_init(&b, s1);
	for (int i = 0; i < 1000; i++)
		same &= dp_rng_u64(&a) == dp_rng_u64(&b);
	CHECK(same, "same seed, same 1000 words (across buffer refills)");
	dp_rng_init(&a, s1);
	dp_rng_init(&b, s2);
	for (int i = 0; i < 8; i++)
		differ |= dp_rng_u64(&a) != dp_rng_u64(&b);
	CHECK(differ, "another seed, other words");

	dp_rng_init(&a, s1);
	for (int i = 0; i < n; i++)
		cnt[dp_rng_below(&a, 10)]++;
	e = n / 10.0;
	for (int i = 0; i < 10; i++)
		chi += (cnt[i] - e) * (cnt[i] - e) / e;
	CHECK(chi < 27.88, "below(10) uniform: chi2 %.2f < 27.88 (9 df)", chi);
	/* 3 * 2^62: rejection drops a quarter of the words; uneven
	 * reduction would show in the thirds. */
	chi = 0;
	for (int i = 0; i < n; i++)
		c3[dp_rng_below(&a, 3ull << 62) >> 62]++;
	e = n / 3.0;
	for (int i = 0; i < 3; i++)
		chi += (c3[i] - e) * (c3[i] - e) / e;
	CHECK(chi < 13.82, "below(3*2^62) uniform: chi2 %.2f < 13.82", chi);
	CHECK(dp_rng_below(&a, 1) == 0 && dp_rng_below(&a, 0) == 0,
	      "below(1) and below(0) are 0");
	dp_rng_wipe(&a);
	CHECK(a.key[0] == 0 && a.key[31] == 0, "wipe clears the key");
}

/* ---- Bernoulli ---- */

static void test_bernoulli(void)
{
	static const uint64_t g[][2] = { { 0, 1 }, { 1, 3 },	  { 1, 2 },
					 { 1, 1 }, { 3, 2 },	  { 5, 2 },
					 { 7, 3 }, { 1000000, 7 } };
	struct dp_rng r;
	uint8_t s[32];
	const int n = 100000;
	int hits = 0;

	seed_of(s, 3);
	dp_rng_init(&r, s);
	for (int i = 0; i < n; i++)
		hits += dp_bernoulli(&r, 3, 10);
	CHECK(fabs(hits / (double)n - 0.3) < 5 * sqrt(0.21 / n),
	      "Bernoulli(3/10): %.4f", hits / (double)n);
	CHECK(dp_bernoulli(&r, 5, 5) && !dp_bernoulli(&r, 0, 5),
	      "Bernoulli(1) and Bernoulli(0)");
	for (size_t k = 0; k < SPOT_ARRAY_SIZE(g); k++) {
		double p = exp(-(double)g[k][0] / (double)g[k][1]), f;

		hits = 0;
		for (int i = 0; i < n; i++)
			hits += dp_bernoulli_exp(&r, g[k][0], g[k][1]);
		f = hits / (double)n;
		CHECK(fabs(f - p) <= 5 * sqrt(p * (1 - p) / n) + 1e-12,
		      "Bernoulli(exp(-%llu/%llu)): %.4f vs %.4f",
		      (unsigned long long)g[k][0], (unsigned long long)g[k][1],
		      f, p);
	}
	/* A huge denominator: the k-th coin goes through the product. */
	hits = 0;
	for (int i = 0; i < n; i++)
		hits += dp_bernoulli_exp(&r, UINT64_MAX / 2, UINT64_MAX);
	CHECK(fabs(hits / (double)n - exp(-0.5)) < 5 * sqrt(0.25 / n),
	      "Bernoulli(exp(-(2^63-1)/(2^64-1))): %.4f", hits / (double)n);
}

/* ---- discrete Laplace ---- */

static void test_dlaplace(void)
{
	static const uint64_t sc[][2] = {
		{ 1, 2 }, { 1, 1 }, { 3, 1 }, { 100, 7 }, { 20, 1 }
	};
	struct dp_rng r;
	uint8_t s[32];
	const int n = 200000;

	seed_of(s, 4);
	dp_rng_init(&r, s);
	for (size_t k = 0; k < SPOT_ARRAY_SIZE(sc); k++) {
		double t = (double)sc[k][0] / (double)sc[k][1];
		double q = exp(-1 / t), var = 2 * q / ((1 - q) * (1 - q));
		double p0 = (1 - q) / (1 + q), sum = 0, sq = 0, mean, v;
		long kt = (long)ceil(3 * t), zeros = 0, tail = 0;
		double ptail = 2 * pow(q, (double)kt) / (1 + q);

		for (int i = 0; i < n; i++) {
			int64_t x = dp_dlaplace(&r, sc[k][0], sc[k][1]);

			sum += (double)x;
			sq += (double)x * (double)x;
			zeros += x == 0;
			tail += labs((long)x) >= kt;
		}
		mean = sum / n;
		v = sq / n - mean * mean;
		CHECK(fabs(mean) < 5 * sqrt(var / n),
		      "dlaplace t=%.3f: mean %.4f ~ 0", t, mean);
		CHECK(fabs(v - var) < 6 * var * sqrt(5.0 / n),
		      "dlaplace t=%.3f: variance %.4f vs %.4f", t, v, var);
		CHECK(fabs(zeros / (double)n - p0) <
			      5 * sqrt(p0 * (1 - p0) / n),
		      "dlaplace t=%.3f: P(0) %.4f vs %.4f", t,
		      zeros / (double)n, p0);
		CHECK(fabs(tail / (double)n - ptail) <
			      5 * sqrt(ptail * (1 - ptail) / n),
		      "dlaplace t=%.3f: P(|x|>=%ld) %.5f vs %.5f", t, kt,
		      tail / (double)n, ptail);
	}
	{
		int64_t x = 0;
		bool ok = true;

		for (int i = 0; i < 1000; i++) {
			x = dp_dlaplace(&r, DP_SCALE_MAX, 1);
			ok &= x > -(int64_t)(DP_SCALE_MAX * 64) &&
			      x < (int64_t)(DP_SCALE_MAX * 64);
		}
		CHECK(ok, "dlaplace at DP_SCALE_MAX stays within 64 scales");
		ok = true;
		for (int i = 0; i < 1000; i++)
			ok &= dp_dlaplace(&r, 1, UINT64_MAX) == 0;
		CHECK(ok, "dlaplace with a tiny scale is 0");
		CHECK(dp_dlaplace(&r, 0, 1) == 0 && dp_dlaplace(&r, 1, 0) == 0,
		      "dlaplace with a 0 parameter is 0");
	}
}

/* ---- discrete Gaussian ---- */

static void test_dgauss(void)
{
	static const uint64_t sg[][2] = {
		{ 1, 2 }, { 1, 1 }, { 4, 1 }, { 25, 2 }, { 100, 1 }
	};
	struct dp_rng r;
	uint8_t s[32];
	const int n = 200000;

	seed_of(s, 5);
	dp_rng_init(&r, s);
	for (size_t k = 0; k < SPOT_ARRAY_SIZE(sg); k++) {
		double s2 = (double)sg[k][0] / (double)sg[k][1];
		double z = 0, m2 = 0, var, p0, sum = 0, sq = 0, mean, v;
		long zeros = 0, lim = (long)(40 * sqrt(s2)) + 40;

		/* The exact variance: the sum over the support. */
		for (long x = -lim; x <= lim; x++) {
			double w = exp(-(double)x * x / (2 * s2));

			z += w;
			m2 += (double)x * x * w;
		}
		var = m2 / z;
		p0 = 1 / z;
		for (int i = 0; i < n; i++) {
			int64_t x = dp_dgauss(&r, sg[k][0], sg[k][1]);

			sum += (double)x;
			sq += (double)x * (double)x;
			zeros += x == 0;
		}
		mean = sum / n;
		v = sq / n - mean * mean;
		CHECK(fabs(mean) < 5 * sqrt(var / n),
		      "dgauss s2=%.2f: mean %.4f ~ 0", s2, mean);
		CHECK(fabs(v - var) < 6 * var * sqrt(2.0 / n),
		      "dgauss s2=%.2f: variance %.4f vs exact %.4f", s2, v,
		      var);
		CHECK(fabs(zeros / (double)n - p0) <
			      5 * sqrt(p0 * (1 - p0) / n),
		      "dgauss s2=%.2f: P(0) %.4f vs %.4f", s2,
		      zeros / (double)n, p0);
	}
	{
		bool ok = true;
		int64_t x;

		for (int i = 0; i < 200; i++) {
			x = dp_dgauss(&r, DP_SIGMA2_MAX, 1); /* sigma 2^31 */
			ok &= x > -((int64_t)1 << 37) && x < ((int64_t)1 << 37);
		}
		CHECK(ok, "dgauss at DP_SIGMA2_MAX within 64 sigma");
		CHECK(dp_dgauss(&r, DP_SIGMA2_MAX + 2, 1) == INT64_MAX,
		      "dgauss refuses sigma^2 above DP_SIGMA2_MAX");
		ok = true;
		for (int i = 0; i < 200; i++) {
			x = dp_dgauss(&r, UINT64_MAX, UINT64_MAX / 4);
			ok &= x > -64 && x < 64;
		}
		CHECK(ok, "dgauss with a coarsened den (sigma^2 ~ 4)");
	}
}

static void bench(void)
{
	static const struct {
		bool gauss;
		uint64_t num, den;
	} cases[] = {
		{ false, 10, 1 }, { false, 1000000, 1 },      { false, 1, 10 },
		{ true, 100, 1 }, { true, 1000000000000, 1 }, { true, 1, 2 },
	};
	struct dp_rng r;
	uint8_t s[32];
	const int n = 100000;
	int64_t acc = 0;

	seed_of(s, 6);
	dp_rng_init(&r, s);
	for (size_t k = 0; k < SPOT_ARRAY_SIZE(cases); k++) {
		double t0 = now_s(), dt;

		for (int i = 0; i < n; i++)
			acc += cases[k].gauss ? dp_dgauss(&r, cases[k].num,
							  cases[k].den)
					      : dp_dlaplace(&r, cases[k].num,
							    cases[k].den);
		dt = now_s() - t0;
		printf("# bench: %s(%llu/%llu) %.0f draws/s\n",
		       cases[k].gauss ? "dgauss sigma^2=" : "dlaplace t=",
		       (unsigned long long)cases[k].num,
		       (unsigned long long)cases[k].den, n / dt);
	}
	printf("# bench: (sum %lld)\n", (long long)acc);
}

/* ---- domains ---- */

static struct pipe_cell txt(const char *s)
{
	return (struct pipe_cell){ (const uint8_t *)s, strlen(s), PIPE_TEXT,
				   0 };
}

static void test_domains(void)
{
	char c0[] = "north", c1[] = "south", c2[] = "";
	char *cats[] = { c0, c1, c2 };
	double edges[] = { 0, 10, 20.5, 100 };
	double dedges[] = { 0, 31, 365 }; /* 1970-01-01, -02-01, 1971-01-01 */
	struct dp_domain dc = { .cats = cats, .ncats = 3 };
	struct dp_domain db = { .edges = edges, .nedges = 4 };
	struct dp_domain dd = { .edges = dedges, .nedges = 3, .dates = true };
	struct pipe_cell nul = { NULL, 0, PIPE_NULL, 0 };
	struct pipe_cell c;
	struct spot_buf b;
	int64_t days;

	CHECK(dp_domain_size(&dc) == 3 && dp_domain_size(&db) == 3 &&
		      dp_domain_size(&dd) == 2,
	      "domain sizes");
	c = txt("south");
	CHECK(dp_domain_index(&dc, &c) == 1, "category found");
	c = txt("South");
	CHECK(dp_domain_index(&dc, &c) == -1, "categories match exactly");
	c = (struct pipe_cell){ (const uint8_t *)"south\0x", 7, PIPE_TEXT, 0 };
	CHECK(dp_domain_index(&dc, &c) == -1, "a NUL inside does not match");
	c = txt("");
	CHECK(dp_domain_index(&dc, &c) == 2, "empty category");
	CHECK(dp_domain_index(&dc, &nul) == -1 &&
		      dp_domain_index(&dc, NULL) == -1,
	      "NULL in no category");

	static const struct {
		const char *s;
		long idx;
	} nums[] = {
		{ "0", 0 },	    { "9.99", 0 },   { "10", 1 },
		{ "20.4999", 1 },   { "20.5", 2 },   { "100", 2 },
		{ "1e2", 2 },	    { "-0", 0 },     { "+5", 0 },
		{ ".5", 0 },	    { "5.", 0 },     { "100.0001", -1 },
		{ "-1", -1 },	    { "nan", -1 },   { "inf", -1 },
		{ "-inf", -1 },	    { "1e999", -1 }, { " 5", -1 },
		{ "5 ", -1 },	    { "0x10", -1 },  { "", -1 },
		{ "5e", -1 },	    { "1,5", -1 },   { "12abc", -1 },
		{ ".", -1 },	    { "--1", -1 },   { "NaN", -1 },
		{ "Infinity", -1 },
	};
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(nums); i++) {
		c = txt(nums[i].s);
		CHECK(dp_domain_index(&db, &c) == nums[i].idx,
		      "bin of \"%s\" is %ld", nums[i].s, nums[i].idx);
	}
	c = (struct pipe_cell){ (const uint8_t *)"15", 2, PIPE_INT, 0 };
	CHECK(dp_domain_index(&db, &c) == 1, "an INT cell is binned");
	c = (struct pipe_cell){ (const uint8_t *)"15", 2, PIPE_BLOB, 0 };
	CHECK(dp_domain_index(&db, &c) == -1, "a BLOB cell is not");

	static const struct {
		const char *s;
		long idx;
	} dates[] = {
		{ "1970-01-01", 0 },	      { "1970-01-31", 0 },
		{ "1970-02-01", 1 },	      { "1971-01-01", 1 },
		{ "1970-03-15T10:00:00", 1 }, { "1971-01-02", -1 },
		{ "1969-12-31", -1 },	      { "1970-02-30", -1 },
		{ "1970-13-01", -1 },	      { "1970-00-10", -1 },
		{ "1970-1-01", -1 },	      { "1970-01-011", -1 },
		{ "19700101", -1 },	      { "", -1 },
	};
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(dates); i++) {
		c = txt(dates[i].s);
		CHECK(dp_domain_index(&dd, &c) == dates[i].idx,
		      "date bin of \"%s\" is %ld", dates[i].s, dates[i].idx);
	}
	CHECK(dp_date_days((const uint8_t *)"2000-02-29", 10, &days) == 0 &&
		      days == 11016,
	      "2000-02-29 is a day (11016)");
	CHECK(dp_date_days((const uint8_t *)"1900-02-29", 10, &days) == -EINVAL,
	      "1900-02-29 is not");
	CHECK(dp_date_days((const uint8_t *)"2024-02-29", 10, &days) == 0,
	      "2024-02-29 is");
	CHECK(dp_date_days((const uint8_t *)"2023-04-31", 10, &days) == -EINVAL,
	      "2023-04-31 is not");

	{
		/* Random short cells from a number-ish alphabet: never a
		 * crash, never a non-finite value, never an edge outside. */
		static const char al[] = "0123456789.-+eE xinfaT:";
		struct dp_rng r;
		uint8_t seed[32], buf[16];
		bool ok = true;
		int parsed = 0;

		seed_of(seed, 11);
		dp_rng_init(&r, seed);
		for (int i = 0; i < 20000; i++) {
			size_t len = dp_rng_below(&r, sizeof(buf));
			double v;
			long x;

			for (size_t j = 0; j < len; j++)
				buf[j] = (uint8_t)
					al[dp_rng_below(&r, sizeof(al) - 1)];
			c = (struct pipe_cell){ buf, len, PIPE_TEXT, 0 };
			if (!dp_cell_number(&c, &v)) {
				parsed++;
				ok &= isfinite(v);
			}
			x = dp_domain_index(&db, &c);
			ok &= x >= -1 && x < 3;
			x = dp_domain_index(&dd, &c);
			ok &= x >= -1 && x < 2;
		}
		CHECK(ok && parsed > 100,
		      "20000 random cells: finite numbers only (%d parsed)",
		      parsed);
	}
	spot_buf_init(&b);
	CHECK(dp_domain_label(&db, 1, &b) == 0 && b.len &&
		      !strcmp((char *)b.p, "[10, 20.5)"),
	      "bin label [10, 20.5)");
	spot_buf_reset(&b);
	CHECK(dp_domain_label(&db, 2, &b) == 0 &&
		      !strcmp((char *)b.p, "[20.5, 100]"),
	      "last bin label closed");
	spot_buf_reset(&b);
	CHECK(dp_domain_label(&dd, 0, &b) == 0 &&
		      !strcmp((char *)b.p, "[1970-01-01, 1970-02-01)"),
	      "date bin label");
	spot_buf_reset(&b);
	CHECK(dp_domain_label(&dc, 0, &b) == 0 && !strcmp((char *)b.p, "north"),
	      "category label");
	CHECK(dp_domain_label(&dc, 3, &b) == -EINVAL &&
		      dp_domain_label(&db, 3, &b) == -EINVAL,
	      "label out of range refused");
	spot_buf_fini(&b);
}

/* ---- aggregates ---- */

/* Rows of text cells (NULL pointer: a NULL cell) in a batch. */
static void fill(struct pipe_batch *b, const char *const *cells, size_t nrows)
{
	pipe_batch_clear(b);
	for (size_t i = 0; i < nrows * b->ncols; i++)
		b->in[i] =
			cells[i] ? txt(cells[i])
				 : (struct pipe_cell){ NULL, 0, PIPE_NULL, 0 };
	b->nrows = nrows;
	memset(b->keep, 1, nrows);
}

static const struct pipe_col src_cols[] = {
	{ (char *)"region", 6, PIPE_TEXT, 0 },
	{ (char *)"amount", 6, PIPE_TEXT, 0 },
	{ (char *)"sex", 3, PIPE_TEXT, 0 },
};

static char cn[] = "north", cs[] = "south", ce[] = "east", cf[] = "F",
	    cm[] = "M";
static char *region_cats[] = { cn, cs, ce };
static char *sex_cats[] = { cf, cm };

static struct dp_query base_query(enum dp_kind kind, const char *eps)
{
	struct dp_query q = { .name = "q", .kind = kind };

	q.by[0] = "region";
	q.by_dom[0] = (struct dp_domain){ .cats = region_cats, .ncats = 3 };
	q.nby = 1;
	if (kind != DP_COUNT)
		q.column = "amount";
	q.lo = 0;
	q.hi = 100;
	dp_ratio_parse(eps, &q.epsilon);
	return q;
}

/* Run q over rows (3 columns each) with seed v into CSV text. */
static int run_csv(const struct dp_query *q, const char *const *cells,
		   size_t nrows, uint8_t v, struct spot_buf *out)
{
	const struct view_format *csv = view_format_get(VIEW_FMT_CSV);
	struct spot_err err = { "" };
	struct view_source src;
	struct view_sink sink;
	struct pipe_batch b;
	struct dp_agg *a = NULL;
	uint8_t seed[32];
	int rc;

	seed_of(seed, v);
	spot_buf_reset(out);
	rc = pipe_batch_init(&b, 3, 64);
	if (rc)
		return rc;
	fill(&b, cells, nrows);
	rc = dp_agg_new(q, src_cols, 3, &a, &err);
	if (!rc)
		rc = dp_agg_rows(a, &b, &err);
	if (!rc)
		rc = dp_agg_source(a, seed, &src, &err);
	if (!rc) {
		rc = csv->sink_new(out, &sink, &err);
		if (!rc) {
			rc = pipe_run(src.ops, src.state, NULL, sink.ops,
				      sink.state, NULL, &err);
			sink.free(sink.state);
		}
		src.free(src.obj);
	}
	if (rc)
		printf("# run_csv: %d %s\n", rc, err.msg);
	dp_agg_free(a);
	pipe_batch_fini(&b);
	return rc;
}

static bool csv_is(struct spot_buf *b, const char *want)
{
	bool ok = b->len == strlen(want) && !memcmp(b->p, want, b->len);

	if (!ok)
		printf("# got:\n%.*s# want:\n%s", (int)b->len, (char *)b->p,
		       want);
	return ok;
}

static void test_agg_basic(void)
{
	static const char *const rows[] = {
		"north", "10", "F", "south", "500",  "M", "north", "-20", "F",
		"west",	 "30", "F", "north", "abc",  "M", NULL,	   "40",  "F",
		"north", NULL, "M", "east",  "0.25", "F",
	};
	static const char *const rows2[] = {
		"east", "1", "F", "east", "2", "M", "east", "3", "F",
	};
	struct dp_query q = base_query(DP_COUNT, "1000000");
	struct spot_buf o, o2;

	spot_buf_init(&o);
	spot_buf_init(&o2);
	CHECK(run_csv(&q, rows, 8, 1, &o) == 0 &&
		      csv_is(&o, "region,count\nnorth,4\nsouth,1\neast,1\n"),
	      "count by region at epsilon 1e6 is exact, domain order, "
	      "west and NULL in no cell");
	CHECK(run_csv(&q, rows2, 3, 1, &o) == 0 &&
		      csv_is(&o, "region,count\nnorth,0\nsouth,0\neast,3\n"),
	      "the same cells whatever the data (empty groups served)");

	q = base_query(DP_SUM, "1000000");
	CHECK(run_csv(&q, rows, 8, 1, &o) == 0 &&
		      csv_is(&o, "region,sum\nnorth,10\nsouth,100\neast,0\n"),
	      "sum clamps to [0, 100] (500 -> 100, -20 -> 0), skips text and "
	      "NULL; 0.25 rounds to 0 at resolution 1");
	q.res_exp = -2;
	CHECK(run_csv(&q, rows, 8, 1, &o) == 0 &&
		      csv_is(&o, "region,sum\nnorth,10.00\nsouth,100.00\n"
				 "east,0.25\n"),
	      "sum at resolution 0.01 prints exact decimals");
	q.res_exp = 1;
	q.hi = 1000;
	CHECK(run_csv(&q, rows, 8, 1, &o) == 0 &&
		      csv_is(&o, "region,sum\nnorth,10\nsouth,500\neast,0\n"),
	      "sum at resolution 10: units of ten, printed whole");

	q = base_query(DP_MEAN, "1000000");
	CHECK(run_csv(&q, rows, 8, 1, &o) == 0 &&
		      csv_is(&o, "region,mean\nnorth,5\nsouth,100\neast,0\n"),
	      "mean: clamped values over counted rows (north (10+0)/2)");
	q.res_exp = -1;
	CHECK(run_csv(&q, rows2, 3, 1, &o) == 0 &&
		      csv_is(&o, "region,mean\nnorth,0.0\nsouth,0.0\n"
				 "east,2.0\n"),
	      "mean printed to the resolution; empty groups clamp to lo");

	q = base_query(DP_COUNT, "1000000");
	q.min_count = 2;
	CHECK(run_csv(&q, rows, 8, 1, &o) == 0 &&
		      csv_is(&o, "region,count\nnorth,4\nsouth,\neast,\n"),
	      "min_count 2 suppresses groups of 1 (NULL cells)");
	q = base_query(DP_SUM, "1000000");
	q.min_count = 2;
	CHECK(run_csv(&q, rows, 8, 1, &o) == 0 &&
		      csv_is(&o, "region,sum\nnorth,10\nsouth,\neast,\n"),
	      "sum with min_count suppresses small groups");

	/* Noise keyed by the seed. */
	q = base_query(DP_COUNT, "0.1");
	CHECK(run_csv(&q, rows, 8, 7, &o) == 0 &&
		      run_csv(&q, rows, 8, 7, &o2) == 0 && o.len == o2.len &&
		      !memcmp(o.p, o2.p, o.len),
	      "same seed, same noisy release");
	CHECK(run_csv(&q, rows, 8, 8, &o2) == 0 &&
		      (o.len != o2.len || memcmp(o.p, o2.p, o.len)),
	      "another seed, another release");
	{
		/* One more north row, the same seed: the noise of every cell
		 * is the same draw, so north moves by exactly 1 and the other
		 * cells not at all (the stream never depends on the data). */
		static const char *const more[] = { "north", "1", "F" };
		const char *rows9[9 * 3];
		long n1, s1, e1, n2, s2, e2;

		memcpy(rows9, rows, sizeof(rows));
		memcpy(rows9 + 24, more, sizeof(more));
		CHECK(run_csv(&q, rows9, 9, 7, &o2) == 0 &&
			      sscanf((char *)o.p,
				     "region,count\nnorth,%ld\nsouth,%ld\n"
				     "east,%ld",
				     &n1, &s1, &e1) == 3 &&
			      sscanf((char *)o2.p,
				     "region,count\nnorth,%ld\nsouth,%ld\n"
				     "east,%ld",
				     &n2, &s2, &e2) == 3 &&
			      n2 == n1 + 1 && s2 == s1 && e2 == e1,
		      "a row more moves its own cell by exactly 1");
	}
	CHECK(strcmp((char *)o.p, "region,count\nnorth,4\nsouth,1\neast,1\n"),
	      "epsilon 0.1 adds noise");
	spot_buf_fini(&o);
	spot_buf_fini(&o2);
}

/* Rows the row filter dropped (keep 0) count nowhere. */
static void test_agg_keep(void)
{
	static const char *const rows[] = { "north", "5",     "F", "north", "7",
					    "M",     "south", "9", "F" };
	struct dp_query q = base_query(DP_SUM, "1000000");
	struct spot_err err = { "" };
	struct dp_agg *a = NULL;
	struct view_source src;
	struct pipe_batch b, o;
	uint8_t seed[32];
	bool ok = false;

	seed_of(seed, 1);
	pipe_batch_init(&b, 3, 8);
	pipe_batch_init(&o, 2, 8);
	fill(&b, rows, 3);
	b.keep[1] = 0;
	b.keep[2] = 0;
	if (!dp_agg_new(&q, src_cols, 3, &a, &err) &&
	    !dp_agg_rows(a, &b, &err) && !dp_agg_source(a, seed, &src, &err)) {
		ok = !src.ops->next_batch(src.state, &o, &err) &&
		     o.nrows == 3 && o.in[1].len == 1 && o.in[1].p[0] == '5' &&
		     o.in[3].len == 1 && o.in[3].p[0] == '0' &&
		     o.in[1].type == PIPE_INT && o.in[0].type == PIPE_TEXT;
		pipe_batch_clear(&o);
		ok &= !src.ops->next_batch(src.state, &o, &err) && !o.nrows;
		src.free(src.obj);
	}
	CHECK(ok, "rows the row filter dropped are in no sum; typed cells");
	b.ncols = 2;
	CHECK(a && dp_agg_rows(a, &b, &err) == -EINVAL,
	      "a batch of other columns is refused");
	b.ncols = 3;
	dp_agg_free(a);
	pipe_batch_fini(&b);
	pipe_batch_fini(&o);
}

/* The same source into the Parquet sink: typed columns, NULL cells. */
static void test_agg_parquet(void)
{
	static const char *const rows[] = { "north", "1.5",  "F",
					    "north", "2.25", "M",
					    "south", "3",    "F" };
	const struct view_format *pq = view_format_get(VIEW_FMT_PARQUET);
	struct dp_query q = base_query(DP_SUM, "1000000");
	struct spot_err err = { "" };
	struct dp_agg *a = NULL;
	struct view_source src;
	struct view_sink sink;
	struct pipe_batch b;
	struct spot_buf o;
	uint8_t seed[32];
	int rc;

	q.res_exp = -2;
	q.min_count = 2;
	seed_of(seed, 1);
	spot_buf_init(&o);
	pipe_batch_init(&b, 3, 8);
	fill(&b, rows, 3);
	rc = dp_agg_new(&q, src_cols, 3, &a, &err);
	if (!rc)
		rc = dp_agg_rows(a, &b, &err);
	if (!rc)
		rc = dp_agg_source(a, seed, &src, &err);
	if (!rc) {
		rc = pq->sink_new(&o, &sink, &err);
		if (!rc) {
			rc = pipe_run(src.ops, src.state, NULL, sink.ops,
				      sink.state, NULL, &err);
			sink.free(sink.state);
		}
		src.free(src.obj);
	}
	CHECK(rc == 0 && o.len > 8 && !memcmp(o.p, "PAR1", 4) &&
		      !memcmp(o.p + o.len - 4, "PAR1", 4),
	      "a sum with suppressed cells runs into the Parquet sink (%s)",
	      err.msg);
	dp_agg_free(a);
	pipe_batch_fini(&b);
	spot_buf_fini(&o);
}

static void test_agg_hist(void)
{
	static const char *const rows[] = {
		"north", "5",	 "F",	  "north", "15",   "M",	    "south",
		"20",	 "F",	 "south", "25",	   "F",	   "north", "5.5",
		"F",	 "east", "-1",	  "M",	   "east", "2e1",   "M",
	};
	double edges[] = { 0, 10, 20 };
	struct dp_query q = base_query(DP_HISTOGRAM, "1000000");
	struct spot_buf o;

	q.bins = (struct dp_domain){ .edges = edges, .nedges = 3 };
	spot_buf_init(&o);
	CHECK(run_csv(&q, rows, 7, 1, &o) == 0 &&
		      csv_is(&o, "region,amount,count\n"
				 "north,\"[0, 10)\",2\nnorth,\"[10, 20]\",1\n"
				 "south,\"[0, 10)\",0\nsouth,\"[10, 20]\",1\n"
				 "east,\"[0, 10)\",0\neast,\"[10, 20]\",1\n"),
	      "histogram by region: cells in (group, bin) order, 25 and -1 "
	      "outside the bins");
	q.by[1] = "sex";
	q.by_dom[1] = (struct dp_domain){ .cats = sex_cats, .ncats = 2 };
	q.nby = 2;
	q.kind = DP_COUNT;
	q.column = NULL;
	q.bins = (struct dp_domain){ 0 };
	CHECK(run_csv(&q, rows, 7, 1, &o) == 0 &&
		      csv_is(&o, "region,sex,count\nnorth,F,2\nnorth,M,1\n"
				 "south,F,2\nsouth,M,0\neast,F,0\neast,M,2\n"),
	      "count by two columns");
	spot_buf_fini(&o);
}

/* Many empty cells: the noise alone, whose variance shows the scale. */
static double noise_var(struct dp_query *q, size_t ncells, double *mean)
{
	char **cats = calloc(ncells, sizeof(*cats));
	char *names = calloc(ncells, 8);
	struct spot_err err = { "" };
	struct dp_agg *a = NULL;
	struct view_source src;
	struct pipe_batch b;
	uint8_t seed[32];
	double s = 0, sq = 0;
	size_t n = 0;

	for (size_t i = 0; i < ncells; i++) {
		cats[i] = names + 8 * i;
		snprintf(cats[i], 8, "c%u", (unsigned)(i % 1000000));
	}
	q->by_dom[0] = (struct dp_domain){ .cats = cats, .ncats = ncells };
	seed_of(seed, 9);
	pipe_batch_init(&b, q->nby + 1, PIPE_BATCH_ROWS);
	if (dp_agg_new(q, src_cols, 3, &a, &err) == 0 &&
	    dp_agg_source(a, seed, &src, &err) == 0) {
		for (;;) {
			pipe_batch_clear(&b);
			if (src.ops->next_batch(src.state, &b, &err) ||
			    !b.nrows)
				break;
			for (size_t r = 0; r < b.nrows; r++) {
				const struct pipe_cell *c =
					&b.in[r * b.ncols + 1];
				char t[64];
				double x;

				if (c->type == PIPE_NULL)
					continue; /* suppressed */
				snprintf(t, sizeof(t), "%.*s", (int)c->len,
					 (const char *)c->p);
				x = strtod(t, NULL);
				s += x;
				sq += x * x;
				n++;
			}
		}
		src.free(src.obj);
	} else {
		printf("# noise_var: %s\n", err.msg);
	}
	dp_agg_free(a);
	pipe_batch_fini(&b);
	free(cats);
	free(names);
	if (!n)
		return -1;
	*mean = s / n;
	return sq / n - (*mean) * (*mean);
}

static double dlap_var(double t)
{
	double q = exp(-1 / t);

	return 2 * q / ((1 - q) * (1 - q));
}

static void test_agg_scale(void)
{
	const size_t n = 4000;
	struct dp_query q;
	double v, m, want;

	q = base_query(DP_COUNT, "0.5");
	v = noise_var(&q, n, &m);
	want = dlap_var(2);
	CHECK(fabs(v - want) < 6 * want * sqrt(5.0 / n) &&
		      fabs(m) < 5 * sqrt(want / n),
	      "count noise at epsilon 0.5: scale 2 (var %.2f vs %.2f)", v,
	      want);
	q = base_query(DP_SUM, "1");
	q.lo = -5;
	q.hi = 10;
	v = noise_var(&q, n, &m);
	want = dlap_var(10);
	CHECK(fabs(v - want) < 6 * want * sqrt(5.0 / n),
	      "sum [-5, 10] at epsilon 1: scale 10 (var %.1f vs %.1f)", v,
	      want);
	/* Half the epsilon to the count: scale 20; about half the cells
	 * (noisy count < 1) suppressed, the others' noise unchanged. */
	q.min_count = 1;
	q.res_exp = -1; /* and units of 0.1: scale 200 units */
	v = noise_var(&q, n, &m) * 100;
	want = dlap_var(200);
	CHECK(fabs(v - want) < 6 * want * sqrt(5.0 / n),
	      "sum with min_count at 0.1: scale 200 units (var %.0f vs %.0f)",
	      v, want);
	q = base_query(DP_COUNT, "0.5");
	q.mech = DP_MECH_GAUSSIAN;
	dp_ratio_parse("0.00001", &q.delta);
	v = noise_var(&q, n, &m);
	/* sigma = sqrt(2 ln(1.25e5)) / 0.5: far from 0, the discrete
	 * Gaussian's variance is sigma^2 to many digits. */
	want = 2 * log(1.25e5) / 0.25;
	CHECK(fabs(v - want) < 6 * want * sqrt(2.0 / n),
	      "Gaussian count: sigma^2 %.1f vs %.1f", v, want);
}

static void test_agg_check(void)
{
	struct {
		struct dp_query q;
		const char *want;
	} bad[24];
	struct spot_err err;
	char c1[] = "a", c2[] = "a";
	char *dup[] = { c1, c2 };
	double dec[] = { 0, 10, 5 };
	double nan_e[] = { 0, NAN };
	char **many = calloc(1100, sizeof(*many));
	size_t n = 0;

	for (size_t i = 0; i < 1100; i++)
		many[i] = calloc(1, 8), snprintf(many[i], 8, "%u", (unsigned)i);
	bad[n].q = base_query(DP_SUM, "1");
	bad[n].q.column = NULL;
	bad[n++].want = "column is needed";
	bad[n].q = base_query(DP_COUNT, "1");
	bad[n].q.column = "amount";
	bad[n++].want = "count takes no column";
	bad[n].q = base_query(DP_SUM, "1");
	bad[n].q.lo = 5;
	bad[n].q.hi = 5;
	bad[n++].want = "bounds";
	bad[n].q = base_query(DP_MEAN, "1");
	bad[n].q.hi = NAN;
	bad[n++].want = "bounds";
	bad[n].q = base_query(DP_SUM, "1");
	bad[n].q.res_exp = 10;
	bad[n++].want = "resolution";
	bad[n].q = base_query(DP_HISTOGRAM, "1");
	bad[n++].want = "declared domain";
	bad[n].q = base_query(DP_HISTOGRAM, "1");
	bad[n].q.bins = (struct dp_domain){ .cats = dup, .ncats = 2 };
	bad[n++].want = "twice";
	bad[n].q = base_query(DP_HISTOGRAM, "1");
	bad[n].q.bins = (struct dp_domain){ .edges = dec, .nedges = 3 };
	bad[n++].want = "increasing";
	bad[n].q = base_query(DP_HISTOGRAM, "1");
	bad[n].q.bins = (struct dp_domain){ .edges = nan_e, .nedges = 2 };
	bad[n++].want = "increasing";
	bad[n].q = base_query(DP_COUNT, "1");
	bad[n].q.by_dom[0] = (struct dp_domain){ 0 };
	bad[n++].want = "declared domain";
	bad[n].q = base_query(DP_COUNT, "1");
	bad[n].q.nby = 3;
	bad[n++].want = "at most 2";
	bad[n].q = base_query(DP_HISTOGRAM, "1");
	bad[n].q.by_dom[0] = (struct dp_domain){ .cats = many, .ncats = 1100 };
	bad[n].q.bins = (struct dp_domain){ .cats = many, .ncats = 1000 };
	bad[n++].want = "cells";
	bad[n].q = base_query(DP_COUNT, "0");
	bad[n++].want = "epsilon must be positive";
	bad[n].q = base_query(DP_COUNT, "1");
	bad[n].q.mech = DP_MECH_GAUSSIAN;
	dp_ratio_parse("0.001", &bad[n].q.delta);
	bad[n++].want = "epsilon < 1";
	bad[n].q = base_query(DP_COUNT, "0.5");
	bad[n].q.mech = DP_MECH_GAUSSIAN;
	bad[n++].want = "0 < delta < 1";
	bad[n].q = base_query(DP_COUNT, "1");
	dp_ratio_parse("0.001", &bad[n].q.delta);
	bad[n++].want = "delta applies";
	bad[n].q = base_query(DP_SUM, "1");
	bad[n].q.lo = -1e300;
	bad[n++].want = "2^53";
	bad[n].q = base_query(DP_SUM, "0.000000001");
	bad[n].q.hi = 1e9;
	bad[n++].want = "2^40";
	bad[n].q = base_query(DP_SUM, "0.000001");
	bad[n].q.mech = DP_MECH_GAUSSIAN;
	dp_ratio_parse("0.000001", &bad[n].q.delta);
	bad[n].q.hi = 1e7;
	bad[n++].want = "sigma^2";
	bad[n].q = base_query(DP_COUNT, "1");
	bad[n].q.by[0] = "count";
	bad[n++].want = "twice";
	bad[n].q = base_query(DP_COUNT, "1");
	bad[n].q.name = "a/b";
	bad[n++].want = "name";
	bad[n].q = base_query(DP_COUNT, "1");
	bad[n].q.kind = (enum dp_kind)9;
	bad[n++].want = "unknown kind";
	for (size_t i = 0; i < n; i++) {
		err.msg[0] = '\0';
		CHECK(dp_query_check(&bad[i].q, &err) == -EINVAL &&
			      strstr(err.msg, bad[i].want),
		      "query %zu refused: %s", i, err.msg);
	}
	{
		struct dp_query q = base_query(DP_COUNT, "1");
		struct dp_agg *a = NULL;

		q.by[0] = "nosuch";
		CHECK(dp_agg_new(&q, src_cols, 3, &a, &err) == -EINVAL &&
			      strstr(err.msg, "no column nosuch") && !a,
		      "a missing column is named: %s", err.msg);
		q = base_query(DP_COUNT, "1");
		CHECK(dp_query_check(&q, &err) == 0, "a good query passes");
	}
	for (size_t i = 0; i < 1100; i++)
		free(many[i]);
	free(many);
}

static void test_agg_json(void)
{
	struct dp_query q = base_query(DP_SUM, "0.5");
	struct spot_buf o;
	const char *s;

	spot_buf_init(&o);
	q.name = "s\"um\n";
	q.lo = -5;
	q.hi = 10;
	q.res_exp = -2;
	q.min_count = 3;
	CHECK(dp_query_json(&q, &o) == 0, "json made");
	s = (const char *)o.p;
	printf("# %s\n", s);
	CHECK(strstr(s, "\"name\":\"s\\\"um\\u000a\"") != NULL, "name escaped");
	CHECK(strstr(s, "\"kind\":\"sum\"") &&
		      strstr(s, "\"mechanism\":\"discrete_laplace\"") &&
		      strstr(s, "\"epsilon\":0.5") &&
		      strstr(s, "\"bounds\":[-5,10]") &&
		      strstr(s, "\"resolution\":0.01,") &&
		      strstr(s, "\"by\":[\"region\"]") &&
		      strstr(s, "\"sensitivity\":10") &&
		      strstr(s, "\"noise_scale\":40") &&
		      strstr(s, "\"min_count\":3") &&
		      strstr(s, "\"one_row_per_person\":true") &&
		      strstr(s, "\"delta\":0,") && !strstr(s, "nan"),
	      "json states mechanism, epsilon, bounds, resolution, by, "
	      "sensitivity, scale (10 / 0.25), min_count");
	spot_buf_fini(&o);
}

int main(void)
{
	test_ratio();
	test_rng();
	test_bernoulli();
	test_dlaplace();
	test_dgauss();
	test_domains();
	test_agg_basic();
	test_agg_keep();
	test_agg_parquet();
	test_agg_hist();
	test_agg_scale();
	test_agg_check();
	test_agg_json();
	bench();
	return check_done();
}

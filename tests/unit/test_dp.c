/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_dp.c - the exact samplers against their distributions (mean,
 * variance, P(0), tails over many draws with fixed keys), the rationals,
 * the declared domains, and the DP aggregates end to end into CSV.
 */
#include <errno.h>
#include <math.h>
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
	struct dp_rng r;
	uint8_t s[32];
	const int n = 200000;
	double t0, t1, t2;
	int64_t acc = 0;

	seed_of(s, 6);
	dp_rng_init(&r, s);
	t0 = now_s();
	for (int i = 0; i < n; i++)
		acc += dp_dlaplace(&r, 10, 1);
	t1 = now_s();
	for (int i = 0; i < n; i++)
		acc += dp_dgauss(&r, 100, 1);
	t2 = now_s();
	printf("# bench: dlaplace(t=10) %.0f draws/s, dgauss(s2=100) %.0f "
	       "draws/s (acc %lld)\n",
	       n / (t1 - t0), n / (t2 - t1), (long long)acc);
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

int main(void)
{
	test_ratio();
	test_rng();
	test_bernoulli();
	test_dlaplace();
	test_dgauss();
	test_domains();
	bench();
	return check_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_methods_extra.c - unit tests of shift, truncate, round and scramble
 * (methods_extra.c): the README's examples, the properties each promises
 * (intervals kept per entity, never a zero shift, clamps, classes kept),
 * bad options and hostile cells.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "methods.h"
#include "spot.h"

static struct msk_keys *keys, *keys2;
static struct spot_buf ob;
static enum pipe_type ot;

static int rule(struct msk_rule *r, enum msk_method m, ...)
{
	struct spot_err err = { "" };
	const char *k;
	va_list ap;
	int rc = 0;

	msk_rule_init(r, m);
	va_start(ap, m);
	while (!rc && (k = va_arg(ap, const char *)))
		rc = msk_rule_set(r, k, va_arg(ap, const char *), &err);
	va_end(ap);
	if (!rc)
		rc = msk_rule_check(r, &err);
	if (rc)
		printf("# rule error: %s\n", err.msg);
	return rc;
}

static int run_t(const struct msk_rule *r, const struct msk_keys *k,
		 const struct msk_cell *c, const char *in, enum pipe_type t)
{
	spot_buf_reset(&ob);
	return msk_apply(r, k, c, (const uint8_t *)in, strlen(in), t, &ob, &ot);
}

static const char *app(const struct msk_rule *r, const struct msk_cell *c,
		       const char *in)
{
	static char s[256];

	if (run_t(r, keys, c, in, PIPE_TEXT))
		return "(error)";
	snprintf(s, sizeof(s), "%.*s", (int)ob.len, (const char *)ob.p);
	return s;
}

static bool eq(const struct msk_rule *r, const char *in, const char *want)
{
	const char *got = app(r, NULL, in);

	if (strcmp(got, want))
		printf("# %s -> got '%s' want '%s'\n", in, got, want);
	return !strcmp(got, want);
}

static int64_t days_of(const char *s)
{
	return spot_days_from_civil(atoi(s), (unsigned)atoi(s + 5),
				    (unsigned)atoi(s + 8));
}

static void test_shift(void)
{
	struct msk_rule r, bad;
	struct msk_cell c = { "visits.csv", "admitted", 0, NULL, 0 };
	char a[256], b[256];
	int kept = 0, zero = 0, within = 0, spread = 0;

	CHECK(!rule(&r, MSK_SHIFT, "max", "30d", "per", "patient_id", NULL),
	      "shift rule with max and per");
	/* One patient's admission and discharge: the interval is kept. */
	for (int p = 0; p < 200; p++) {
		char ent[16];
		int64_t d0, d1;

		snprintf(ent, sizeof(ent), "P%04d", p);
		c.entity = (const uint8_t *)ent;
		c.entity_len = strlen(ent);
		c.row = (uint64_t)p;
		snprintf(a, sizeof(a), "%s", app(&r, &c, "2024-02-27"));
		c.row += 1000;
		snprintf(b, sizeof(b), "%s",
			 app(&r, &c, "2024-03-04T08:15:00Z"));
		d0 = days_of(a) - days_of("2024-02-27");
		d1 = days_of(b) - days_of("2024-03-04");
		kept += d0 == d1 && !strcmp(b + 10, "T08:15:00Z");
		zero += d0 == 0;
		within += d0 >= -30 && d0 <= 30;
		spread += d0 > 15 || d0 < -15;
	}
	CHECK(kept == 200, "per entity: both dates move by the same days, "
			   "the time stays");
	CHECK(zero == 0 && within == 200, "offsets within +-30 days, never 0");
	CHECK(spread > 60,
	      "offsets spread over the range (%d of 200 beyond "
	      "15 days)",
	      spread);
	c.entity = NULL;
	snprintf(a, sizeof(a), "%s", app(&r, &c, "2024-02-27"));
	c.row = 1;
	snprintf(b, sizeof(b), "%s", app(&r, &c, "2024-02-27"));
	CHECK(strcmp(a, "2024-02-27") && strcmp(b, "2024-02-27"),
	      "without an entity: per cell, never unchanged");
	CHECK(!strcmp(app(&r, &c, "2024-02-27"), b), "deterministic");
	{
		int differ = 0;

		for (c.row = 0; c.row < 20; c.row++) {
			snprintf(a, sizeof(a), "%s", app(&r, &c, "2024-02-27"));
			run_t(&r, keys2, &c, "2024-02-27", PIPE_TEXT);
			differ += memcmp(ob.p, a, 10) != 0;
		}
		CHECK(differ > 10, "another secret, other offsets (%d/20)",
		      differ);
	}
	CHECK(strcmp(app(&r, &c, "2024/02/27"), "(error)") &&
		      app(&r, &c, "2024/02/27")[4] == '/',
	      "slashes kept");
	CHECK(!strcmp(app(&r, &c, "27.02.2024"), "(error)") &&
		      !strcmp(app(&r, &c, "2024-02-30"), "(error)") &&
		      !strcmp(app(&r, &c, "2024-02-27junk"), "(error)"),
	      "an unreadable date fails the read (never raw)");
	{
		/* A typed number is a Unix time: the entity's days, exact. */
		int same = 0, typed = 0;

		c.entity = (const uint8_t *)"P0007";
		c.entity_len = 5;
		for (c.row = 0; c.row < 20; c.row++) {
			int64_t dd, t;

			snprintf(a, sizeof(a), "%s", app(&r, &c, "2024-02-27"));
			dd = days_of(a) - days_of("2024-02-27");
			t = 1709020800 + dd * 86400; /* 2024-02-27 + dd */
			if (run_t(&r, keys, &c, "1709020800", PIPE_INT) == 0 &&
			    ot == PIPE_INT &&
			    strtoll((char *)ob.p, NULL, 10) == t)
				same++;
			snprintf(b, sizeof(b), "%" PRId64 ".250",
				 t - 86400 * 400);
			typed += run_t(&r, keys, &c, "1674460800.250",
				       PIPE_REAL) == 0 &&
				 ot == PIPE_REAL && ob.len == strlen(b) &&
				 !memcmp(ob.p, b, ob.len);
		}
		CHECK(same == 20 && typed == 20,
		      "a number moves by the entity's days, fraction kept "
		      "(%d, %d)",
		      same, typed);
		c.entity = NULL;
		CHECK(run_t(&r, keys, &c, "-0.5", PIPE_REAL) == 0 &&
			      strcmp((char *)ob.p, "-0.5") &&
			      run_t(&r, keys, &c, "1.7e9", PIPE_REAL) ==
				      -EINVAL &&
			      run_t(&r, keys, &c, "1700000000000", PIPE_INT) ==
				      -EINVAL &&
			      run_t(&r, keys, &c, "-62135596801", PIPE_INT) ==
				      -EINVAL &&
			      !strcmp(app(&r, &c, "1700000000"), "(error)"),
		      "exponents, times past 9999 and numbers as text fail");
	}
	CHECK(rule(&bad, MSK_SHIFT, NULL) == -EINVAL &&
		      rule(&bad, MSK_SHIFT, "max", "0d", NULL) == -EINVAL &&
		      rule(&bad, MSK_SHIFT, "max", "30h", NULL) == -EINVAL &&
		      rule(&bad, MSK_SHIFT, "max", "9999d", NULL) == -EINVAL &&
		      rule(&bad, MSK_SHIFT, "max", "7", "per", "", NULL) ==
			      -EINVAL,
	      "shift: max is required, in days 1..3650; per names a column");
	msk_rule_fini(&bad);
	msk_rule_fini(&r);
}

static void test_truncate(void)
{
	struct msk_rule h, d, m, y, bad;

	CHECK(!rule(&h, MSK_TRUNCATE, "to", "hour", NULL) &&
		      !rule(&d, MSK_TRUNCATE, "to", "day", NULL) &&
		      !rule(&m, MSK_TRUNCATE, "to", "month", NULL) &&
		      !rule(&y, MSK_TRUNCATE, "to", "year", NULL),
	      "truncate rules");
	CHECK(eq(&h, "2024-05-17T14:37:12.345+02:00",
		 "2024-05-17T14:00:00.000+02:00"),
	      "hour: minutes, seconds and fraction zeroed, zone kept");
	CHECK(eq(&d, "2024-05-17 14:37:12", "2024-05-17 00:00:00") &&
		      eq(&d, "2024-05-17", "2024-05-17"),
	      "day");
	CHECK(eq(&m, "2024-05-17T14:37Z", "2024-05-01T00:00Z") &&
		      eq(&m, "2024/05/17", "2024/05/01"),
	      "month");
	CHECK(eq(&y, "2024-05-17", "2024-01-01"), "year");
	CHECK(!strcmp(app(&d, NULL, "yesterday"), "(error)") &&
		      !strcmp(app(&d, NULL, "2024-05-17T25:00"), "(error)"),
	      "unreadable timestamps fail the read");
	CHECK(rule(&bad, MSK_TRUNCATE, NULL) == -EINVAL &&
		      rule(&bad, MSK_TRUNCATE, "to", "week", NULL) == -EINVAL,
	      "truncate: to is required");
	msk_rule_fini(&bad);
	msk_rule_fini(&h);
	msk_rule_fini(&d);
	msk_rule_fini(&m);
	msk_rule_fini(&y);
}

static void test_round(void)
{
	struct msk_rule one, five, cents, clamp, bad, ten, tenth, hund;

	CHECK(!rule(&ten, MSK_ROUND, "step", "10", NULL) &&
		      !rule(&tenth, MSK_ROUND, "step", "0.1", NULL) &&
		      !rule(&hund, MSK_ROUND, "step", "0.01", NULL),
	      "more round rules");
	CHECK(!rule(&one, MSK_ROUND, NULL) &&
		      !rule(&five, MSK_ROUND, "step", "5", NULL) &&
		      !rule(&cents, MSK_ROUND, "step", "0.05", NULL) &&
		      !rule(&clamp, MSK_ROUND, "step", "10", "min", "20", "max",
			    "90", NULL),
	      "round rules");
	CHECK(eq(&one, "3.5", "4") && eq(&one, "-3.5", "-4") &&
		      eq(&one, "42", "42"),
	      "step 1: half away from zero");
	CHECK(eq(&five, "12", "10") && eq(&five, "13", "15") &&
		      eq(&five, "-12", "-10") && eq(&five, "-13", "-15") &&
		      eq(&five, "12.4", "10"),
	      "step 5");
	CHECK(eq(&cents, "19.99", "20.00") && eq(&cents, "0.01", "0.00") &&
		      eq(&cents, "-0.01", "0.00"),
	      "step 0.05 keeps two places, no -0.00");
	CHECK(eq(&clamp, "17", "20") && eq(&clamp, "37", "40") &&
		      eq(&clamp, "104", "90") && eq(&clamp, "-5", "20"),
	      "top and bottom coding");
	CHECK(run_t(&cents, keys, NULL, "7", PIPE_INT) == 0 && ot == PIPE_INT &&
		      ob.len == 1 && ob.p[0] == '7',
	      "an integer column stays integers");
	CHECK(run_t(&ten, keys, NULL, "9223372036854775807", PIPE_INT) ==
			      -EINVAL &&
		      run_t(&ten, keys, NULL, "-9223372036854775808",
			    PIPE_INT) == -EINVAL &&
		      !strcmp(app(&five, NULL, "abc"), "(error)") &&
		      !strcmp(app(&five, NULL, "1e400"), "(error)"),
	      "int64 overflow and non-numbers fail the read");
	CHECK(eq(&clamp, "9223372036854775807", "90"),
	      "a value past int64 after rounding is still top-coded");
	CHECK(eq(&one, "123456789012345678901234567890.5",
		 "123456789012345678901234567891") &&
		      eq(&ten, "12345678901234567890",
			 "12345678901234567890") &&
		      eq(&ten, "-12345678901234567895",
			 "-12345678901234567900") &&
		      eq(&one, "9007199254740993.5", "9007199254740994") &&
		      eq(&one, "2.5e3", "2500") && eq(&ten, "1E+2", "100"),
	      "numbers past a double's precision round exactly");
	CHECK(eq(&tenth, "0.15", "0.2") && eq(&tenth, "0.35", "0.4") &&
		      eq(&tenth, "-0.35", "-0.4") &&
		      eq(&cents, "1.025", "1.05") &&
		      eq(&hund, "1.005", "1.01") &&
		      eq(&tenth, "0.000000000000000000000000000000000000000049",
			 "0.0") &&
		      eq(&tenth, "1e-300", "0.0"),
	      "ties a double misses are rounded half away from zero");
	CHECK(!strcmp(app(&one, NULL,
			  "1234567890123456789012345678901234567.5"),
		      "(error)") &&
		      !strcmp(app(&one, NULL, "1e300"), "(error)") &&
		      !strcmp(app(&tenth, NULL, "1e35"), "(error)"),
	      "a number or multiple past 36 digits is refused, not rounded");
	CHECK(rule(&bad, MSK_ROUND, "step", "0", NULL) == -EINVAL &&
		      rule(&bad, MSK_ROUND, "min", "9", "max", "1", NULL) ==
			      -EINVAL &&
		      rule(&bad, MSK_ROUND, "step", "nan", NULL) == -EINVAL,
	      "round: bad step, min above max");
	msk_rule_fini(&bad);
	msk_rule_fini(&one);
	msk_rule_fini(&five);
	msk_rule_fini(&cents);
	msk_rule_fini(&clamp);
	msk_rule_fini(&ten);
	msk_rule_fini(&tenth);
	msk_rule_fini(&hund);
}

static bool same_classes(const char *a, const uint8_t *b, size_t n)
{
	if (strlen(a) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t x = (uint8_t)a[i], y = b[i];
		bool ok = (x >= '0' && x <= '9')   ? (y >= '0' && y <= '9')
			  : (x >= 'a' && x <= 'z') ? (y >= 'a' && y <= 'z')
			  : (x >= 'A' && x <= 'Z') ? (y >= 'A' && y <= 'Z')
						   : x == y;

		if (!ok)
			return false;
	}
	return true;
}

static void test_scramble(void)
{
	/* Each value and its classes as scramble sees them (methods_fold.c):
	 * fullwidth and other scripts' digits as ASCII, other non-ASCII '*'. */
	static const char *const v[][2] = {
		{ "AB-1234-cd", "AB-1234-cd" },
		{ "Jean-Luc Picard", "Jean-Luc Picard" },
		{ "Gr\xc3\xbc\xc3\x9f Gott 42", "Gr** Gott 42" },
		{ "\xff\xfe bad utf-8 9", "** bad utf-8 9" },
		/* fullwidth AB-1234, Arabic-Indic 12-34 */
		{ "\xef\xbc\xa1\xef\xbc\xa2-\xef\xbc\x91\xef\xbc\x92"
		  "\xef\xbc\x93\xef\xbc\x94",
		  "AB-1234" },
		{ "\xd9\xa1\xd9\xa2-\xd9\xa3\xd9\xa4", "12-34" },
	};
	struct msk_rule r;
	int classes = 0, changed = 0, ascii = 0;
	char a[256];

	CHECK(!rule(&r, MSK_SCRAMBLE, NULL), "scramble rule");
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(v); i++) {
		bool all_ascii = true;

		run_t(&r, keys, NULL, v[i][0], PIPE_TEXT);
		classes += same_classes(v[i][1], ob.p, ob.len);
		changed += memcmp(v[i][1], ob.p, ob.len) != 0;
		for (size_t j = 0; j < ob.len; j++)
			all_ascii &= ob.p[j] < 0x80;
		ascii += all_ascii;
	}
	CHECK(classes == 6, "length and classes kept; ASCII separators stay");
	CHECK(changed == 6, "the characters change");
	CHECK(ascii == 6, "nothing outside ASCII is served as it was");
	snprintf(a, sizeof(a), "%s", app(&r, NULL, "AB-1234-cd"));
	CHECK(!strcmp(app(&r, NULL, "AB-1234-cd"), a), "deterministic");
	run_t(&r, keys2, NULL, "AB-1234-cd", PIPE_TEXT);
	CHECK(memcmp(ob.p, a, ob.len) != 0, "another secret, another output");
	CHECK(msk_rule_set(&r, "length", "3", NULL) == -ENOENT,
	      "scramble takes no parameters");
	msk_rule_fini(&r);
}

/* Hostile cells: no crash, 0 or -EINVAL, never the raw value for shift. */
static void test_hostile(void)
{
	static const enum msk_method ms[] = { MSK_SHIFT, MSK_TRUNCATE,
					      MSK_ROUND, MSK_SCRAMBLE };
	struct msk_rule r[4];
	uint64_t s = 0x9e3779b97f4a7c15ull;
	int bad = 0;
	uint8_t v[64];
	static uint8_t big[1 << 20];

	rule(&r[0], MSK_SHIFT, "max", "10d", NULL);
	rule(&r[1], MSK_TRUNCATE, "to", "hour", NULL);
	rule(&r[2], MSK_ROUND, "step", "2.5", "max", "100", NULL);
	rule(&r[3], MSK_SCRAMBLE, NULL);
	for (int i = 0; i < 20000; i++) {
		static const char al[] = "0123456789-/:T .Z+eE";
		size_t len;

		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		len = s % sizeof(v);
		for (size_t j = 0; j < len; j++) {
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			v[j] = s % 4 ? (uint8_t)al[s % (sizeof(al) - 1)]
				     : (uint8_t)s;
		}
		for (size_t m = 0; m < SPOT_ARRAY_SIZE(ms); m++) {
			int rc;

			spot_buf_reset(&ob);
			rc = msk_apply(&r[m], keys, NULL, v, len, PIPE_TEXT,
				       &ob, &ot);
			if ((rc && rc != -EINVAL) ||
			    (m == 0 && !rc && len && ob.len == len &&
			     !memcmp(ob.p, v, len)))
				bad++;
		}
	}
	memset(big, '7', sizeof(big));
	for (size_t m = 0; m < SPOT_ARRAY_SIZE(ms); m++) {
		spot_buf_reset(&ob);
		int rc = msk_apply(&r[m], keys, NULL, big, sizeof(big),
				   PIPE_TEXT, &ob, &ot);

		bad += rc && rc != -EINVAL;
	}
	CHECK(!bad, "random and 1 MiB cells: 0 or -EINVAL, shift never raw");
	for (size_t m = 0; m < SPOT_ARRAY_SIZE(ms); m++)
		msk_rule_fini(&r[m]);
}

/* sample: the share asked for, the same rows every time, keyed. */
static void test_sample(void)
{
	uint64_t s1 = msk_sample_seed(keys, "a.csv");
	uint64_t s2 = msk_sample_seed(keys, "b.csv");
	uint64_t s3 = msk_sample_seed(keys2, "a.csv");
	int kept = 0, again = 0, other_ds = 0, other_key = 0, all = 0;

	for (uint64_t r = 0; r < 100000; r++) {
		bool k1 = msk_sample_keep(keys, s1, r, 0.1);

		kept += k1;
		again += k1 == msk_sample_keep(keys, s1, r, 0.1);
		other_ds += k1 && msk_sample_keep(keys, s2, r, 0.1);
		other_key += k1 && msk_sample_keep(keys2, s3, r, 0.1);
		all += msk_sample_keep(keys, s1, r, 1.0);
		/* A smaller share is a subset of a larger one. */
		if (msk_sample_keep(keys, s1, r, 0.05) && !k1)
			again = -1000000;
	}
	CHECK(kept > 9500 && kept < 10500,
	      "sample 0.1 keeps about 10%% (%d "
	      "of 100000)",
	      kept);
	CHECK(again == 100000, "the same rows on every call; 0.05 within 0.1");
	CHECK(other_ds < 1300 && other_key < 1300,
	      "another dataset or secret: other rows (%d, %d in common)",
	      other_ds, other_key);
	CHECK(all == 100000, "1.0 keeps every row");
}

int main(void)
{
	static const char secret[] = "0123456789abcdef-test-secret";
	static const char secret2[] = "0123456789abcdef-other-secret";

	spot_buf_init(&ob);
	if (msk_keys_new((const uint8_t *)secret, sizeof(secret) - 1, &keys) ||
	    msk_keys_new((const uint8_t *)secret2, sizeof(secret2) - 1,
			 &keys2)) {
		CHECK(0, "keys");
		return check_done();
	}
	test_shift();
	test_truncate();
	test_round();
	test_scramble();
	test_hostile();
	test_sample();
	msk_keys_free(keys);
	msk_keys_free(keys2);
	spot_buf_fini(&ob);
	return check_done();
}

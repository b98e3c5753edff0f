/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_xset.c - the export review's keyed-hash sets: exact membership,
 * growth, the switch to a Bloom filter at the budget (no false negatives,
 * a measured false-positive rate near the stated one), normalisation and
 * the recorder's keyed hashes (another key, another hash).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "export_review.h"
#include "export_set.h"

static uint64_t rnd64(void)
{
	uint64_t v;

	randombytes_buf(&v, sizeof(v));
	return v;
}

static void test_exact(void)
{
	struct xset *s;
	uint64_t v[20000];
	bool all = true, none = true;

	CHECK(xset_new(1024, &s) == -EINVAL, "a budget under 64 KiB refused");
	CHECK(!xset_new(1u << 20, &s), "new set");
	for (size_t i = 0; i < 20000; i++)
		v[i] = rnd64();
	for (size_t i = 0; i < 10000; i++)
		xset_add(s, v[i]);
	CHECK(!xset_is_bloom(s), "10000 hashes in 1 MiB stay exact");
	CHECK(xset_count(s) == 10000, "count %llu",
	      (unsigned long long)xset_count(s));
	xset_add(s, v[0]);
	CHECK(xset_count(s) == 10000, "a duplicate is not counted");
	for (size_t i = 0; i < 10000; i++)
		all &= xset_has(s, v[i]);
	for (size_t i = 10000; i < 20000; i++)
		none &= !xset_has(s, v[i]);
	CHECK(all, "every added hash is found");
	CHECK(none, "no other hash is found (exact)");
	CHECK(xset_fp_rate(s) == 0, "exact: no false positives stated");
	CHECK(!xset_add(s, 0) && xset_has(s, 0), "hash 0 is a value too");
	xset_free(s);
}

static void test_bloom(void)
{
	struct xset *s;
	static uint64_t v[200000];
	size_t fp = 0, n_in = 100000, probes = 100000;
	bool all = true;
	double stated, seen;

	CHECK(!xset_new(256u << 10, &s), "new 256 KiB set");
	for (size_t i = 0; i < n_in + probes; i++)
		v[i] = rnd64();
	for (size_t i = 0; i < n_in; i++)
		xset_add(s, v[i]);
	CHECK(xset_is_bloom(s), "100000 hashes past 256 KiB: a Bloom filter");
	CHECK(xset_bytes(s) <= (256u << 10) + (16u << 10),
	      "within the budget and its 1/16 filter (%llu)",
	      (unsigned long long)xset_bytes(s));
	for (size_t i = 0; i < n_in; i++)
		all &= xset_has(s, v[i]);
	CHECK(all, "no false negatives after the switch");
	for (size_t i = n_in; i < n_in + probes; i++)
		fp += xset_has(s, v[i]);
	stated = xset_fp_rate(s);
	seen = (double)fp / (double)probes;
	printf("# bloom: stated fp %.5f, measured %.5f\n", stated, seen);
	CHECK(stated > 0 && stated < 0.05, "stated rate %.5f", stated);
	CHECK(fabs(seen - stated) < stated * 0.5 + 0.001,
	      "measured rate %.5f near stated %.5f", seen, stated);
	xset_free(s);
}

static void test_rec(void)
{
	struct xrec *a, *b;
	uint8_t n[64];
	size_t k;
	const char *raw = "Alice.Smith@Example.org";

	k = xrec_norm((const uint8_t *)"  MiXeD Case\t", 13, n, sizeof(n));
	CHECK(k == 10 && !memcmp(n, "mixed case", 10), "normalised");
	CHECK(xrec_norm((const uint8_t *)"abcdef", 6, n, 3) == (size_t)-1,
	      "too long for the buffer");
	CHECK(!xrec_new(NULL, &a) && !xrec_new(NULL, &b), "two recorders");
	CHECK(!xrec_raw_add(a, (const uint8_t *)raw, strlen(raw)), "add raw");
	k = xrec_norm((const uint8_t *)" alice.smith@EXAMPLE.ORG", 24, n,
		      sizeof(n));
	CHECK(xrec_raw_has(a, n, k), "found in another case and spacing");
	CHECK(!xrec_raw_has(b, n, k), "not in another sandbox's set");
	CHECK(xrec_hash(a, n, k) != xrec_hash(b, n, k),
	      "another key, another hash");
	xrec_raw_add(a, (const uint8_t *)"abc", 3);
	CHECK(!xrec_raw_has(a, (const uint8_t *)"abc", 3),
	      "values under %d bytes are not recorded", XREC_VAL_MIN);
	xrec_free(a);
	xrec_free(b);
}

/* One normal form whatever the spacing, case and Unicode form. */
static void test_norm(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "Jasmine007  Payne", "jasmine007 payne" },
		{ "Jasmine007\tPayne", "jasmine007 payne" },
		{ "Jasmine007\xc2\xa0Payne", "jasmine007 payne" },
		{ "Jasmine007\xe2\x80\x83Payne", "jasmine007 payne" },
		{ "QX0049TV\xc2\xa0", "qx0049tv" },
		{ "\xef\xbb\xbfQX0049TV", "qx0049tv" },
		{ "QX00\xe2\x80\x8b"
		  "49TV",
		  "qx0049tv" },
		/* NFD: u + U+0308, a + U+0301; upper case */
		{ "Mu\xcc\x88llerova\xcc\x81", "m\xc3\xbcllerov\xc3\xa1" },
		{ "M\xc3\x9cLLEROV\xc3\x81", "m\xc3\xbcllerov\xc3\xa1" },
		/* Greek: final sigma and capital sigma fold alike */
		{ "\xce\xa3\xce\xa9\xce\xa3", "\xcf\x83\xcf\x89\xcf\x83" },
		{ "\xcf\x83\xcf\x89\xcf\x82", "\xcf\x83\xcf\x89\xcf\x83" },
		/* Cyrillic: capital short i; i + U+0306 composes to it */
		{ "\xd0\x99", "\xd0\xb9" },
		{ "\xd0\xb8\xcc\x86", "\xd0\xb9" },
		/* not UTF-8: the bytes as they are */
		{ "A\xff\xc3", "a\xff\xc3" },
	};
	uint8_t n[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t k = xrec_norm((const uint8_t *)cases[i].in,
				     strlen(cases[i].in), n, sizeof(n));

		CHECK(k == strlen(cases[i].want) &&
			      !memcmp(n, cases[i].want, k),
		      "normal form of case %zu", i);
	}
}

/* A JSON record's cells are a CSV row's cells. */
static void test_json_cells(void)
{
	const char *rec = "{\"id\": 7, \"n\": \"M\\u00fcller\", "
			  "\"x\": null, \"t\": [true, \"a\\\"b\"]}";
	const char *cells[] = { "7", "M\xc3\xbcller", "", "true", "a\"b" };
	uint64_t got[8], fp, want = 0;
	struct xrec *r;
	ssize_t n;

	CHECK(!xrec_new(NULL, &r), "recorder");
	n = xrec_json_cells(r, (const uint8_t *)rec, strlen(rec), got, 8, &fp);
	CHECK(n == 5, "five leaves, keys are not cells (%zd)", n);
	for (size_t i = 0; i < 5 && n == 5; i++) {
		uint64_t h = xrec_cell_hash(r, (const uint8_t *)cells[i],
					    strlen(cells[i]));

		CHECK(got[i] == h, "leaf %zu is its CSV cell", i);
		want = xrec_row_add(want, h);
	}
	CHECK(fp == want, "the fingerprint is the row's");
	CHECK(xrec_json_cells(r, (const uint8_t *)"a,b", 3, got, 8, &fp) == -1,
	      "not a record");
	xrec_free(r);
}

static void test_many(void)
{
	struct xset *s;
	uint64_t v[600];
	uint8_t out[600];
	bool same = true;

	CHECK(!xset_new(1u << 20, &s), "new set");
	for (size_t i = 0; i < 600; i++)
		v[i] = rnd64();
	for (size_t i = 0; i < 600; i += 2)
		xset_add(s, v[i]);
	xset_has_many(s, v, 600, out);
	for (size_t i = 0; i < 600; i++)
		same &= out[i] == (i % 2 == 0) && out[i] == xset_has(s, v[i]);
	CHECK(same, "batched lookups agree with single ones");
	xset_free(s);
}

/* Review bytes named name; the first finding's kind, line and column. */
static int review(struct xrec *r, const char *name, const char *text,
		  struct xrv_result *res)
{
	struct xrv_opts o = { 5, 0.01, false };

	return xrv_review(r, NULL, &o, name, (const uint8_t *)text,
			  strlen(text), res);
}

/* The first finding of kind, or NULL. */
static const struct xrv_finding *kind_of(const struct xrv_result *res,
					 enum xrv_kind k)
{
	for (size_t i = 0; i < res->n; i++)
		if (res->f[i].kind == k)
			return &res->f[i];
	return NULL;
}

static void test_review(void)
{
	const struct xrv_finding *f;
	static struct xrv_result res;
	const char *raw = "Alice.Smith@Example.org";
	struct xrec *r;

	CHECK(!xrec_new(NULL, &r), "recorder");
	xrec_raw_add(r, (const uint8_t *)raw, strlen(raw));
	xrec_raw_add(r, (const uint8_t *)"Jane Q Public", 13);
	CHECK(!review(r, "a.csv", "k,v\nx,1\n", &res) && !res.total,
	      "clean CSV passes");
	CHECK(!review(r, "a.csv",
		      "k,v\n\"multi\nline \"\"quoted\"\"\",1\n"
		      "y,\"  alice.smith@example.ORG \"\n",
		      &res),
	      "review");
	f = kind_of(&res, XRV_RAW_VALUE);
	CHECK(f && f->line == 4 && f->column == 2 && res.total == 2 &&
		      kind_of(&res, XRV_PII),
	      "quoted raw value after a multi-line cell: line 4 col 2, and "
	      "the email detector");
	CHECK(!review(r, "a.tsv", "k\tv\nz\tjane q public\n", &res) &&
		      res.total == 1 && res.f[0].line == 2 &&
		      res.f[0].column == 2,
	      "TSV, a whole multi-word value in another case");
	CHECK(!review(r, "notes.txt",
		      "one\nsent to (alice.smith@example.org).\n", &res),
	      "review text");
	f = kind_of(&res, XRV_RAW_VALUE);
	CHECK(f && f->line == 2 && f->column == 0, "a word of a text line");
	CHECK(!review(r, "a.csv", "city,count\nA,3\nB,30\n", &res) &&
		      res.total == 1 && res.f[0].kind == XRV_SMALL_COUNT &&
		      res.f[0].line == 2,
	      "a small count");
	CHECK(!review(r, "a.csv", "city,label\nA,3\n", &res) && !res.total,
	      "a number in a column not named like a count is not one");
	{
		/* The digit prefilter lets every detector's input through. */
		static const char *const pii[] = {
			"call +1 415 555 0100 today",
			"ssn 123-45-6789 here",
			"iban DE89370400440532013000 ok",
			"card 4111 1111 1111 1111 ok",
			"mail bob@nowhere.net",
		};

		for (size_t i = 0; i < sizeof(pii) / sizeof(pii[0]); i++) {
			char text[128];

			snprintf(text, sizeof(text), "note\n%s\n", pii[i]);
			CHECK(!review(r, "n.txt", text, &res) &&
				      kind_of(&res, XRV_PII),
			      "PII found: case %zu", i);
		}
	}
	CHECK(!review(r, "x.bin", "\x1f\x8b\x08", &res) && res.total == 1 &&
		      res.f[0].kind == XRV_OPAQUE,
	      "gzip is opaque");
	xrec_free(r);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_exact();
	test_bloom();
	test_rec();
	test_norm();
	test_json_cells();
	test_many();
	test_review();
	return check_done();
}

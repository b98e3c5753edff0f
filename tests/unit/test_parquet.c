/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_parquet.c - unit tests of the Parquet codec: Thrift compact round
 * trips and limits, every encoding against hand-built vectors, codecs, value
 * text forms, the chunk writer/reader pair, hostile files; and, given a
 * fixture folder (tests/fixtures/make_parquet.mjs) and an output folder, an
 * end-to-end run that writes masked and pass-through views of every fixture
 * for tests/unit/parquet_duckdb_check.mjs to verify with DuckDB:
 *
 *   test_parquet [FIXTURE_DIR OUT_DIR]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "parquet.h"
#include "pq_rows.h"
#include "pq_chunk.h"
#include "pq_codec.h"
#include "pq_meta.h"
#include "pq_page.h"
#include "pq_thrift.h"
#include "pq_value.h"
#include "pq_view_i.h"

/* ---- thrift ---- */

static struct pq_tval tv_int(enum pq_ttype t, int64_t v)
{
	struct pq_tval x;

	memset(&x, 0, sizeof(x));
	x.type = t;
	x.u.i = v;
	return x;
}

static void test_thrift_roundtrip(void)
{
	struct spot_arena a;
	struct spot_buf b1, b2;
	struct pq_tstruct *st, *inner, *back;
	struct pq_tval v, *g;
	struct spot_err err = { { 0 } };
	size_t used = 0;
	uint32_t i;
	int rc;

	spot_arena_init(&a);
	spot_buf_init(&b1);
	spot_buf_init(&b2);
	st = pq_tstruct_new(&a);
	inner = pq_tstruct_new(&a);
	v = tv_int(PQ_TT_BOOL, 1);
	pq_tstruct_set(&a, st, 1, &v);
	v = tv_int(PQ_TT_BOOL, 0);
	pq_tstruct_set(&a, st, 2, &v);
	pq_tstruct_set_int(&a, st, 3, PQ_TT_I8, -5);
	pq_tstruct_set_int(&a, st, 4, PQ_TT_I16, -300);
	pq_tstruct_set_int(&a, st, 5, PQ_TT_I32, INT32_MIN);
	pq_tstruct_set_int(&a, st, 40, PQ_TT_I64, INT64_MAX); /* long form */
	memset(&v, 0, sizeof(v));
	v.type = PQ_TT_DOUBLE;
	v.u.d = -2.5;
	pq_tstruct_set(&a, st, 7, &v);
	pq_tstruct_set_bin(&a, st, 8, "hello\0x", 7);
	pq_tval_list(&a, &v, PQ_TT_I32, 20); /* >= 15: long list header */
	for (i = 0; i < 20; i++)
		v.u.elems[i] = tv_int(PQ_TT_I32, (int64_t)i * 1000 - 7);
	pq_tstruct_set(&a, st, 9, &v);
	pq_tval_list(&a, &v, PQ_TT_BOOL, 3);
	for (i = 0; i < 3; i++)
		v.u.elems[i] = tv_int(PQ_TT_BOOL, i & 1);
	pq_tstruct_set(&a, st, 10, &v);
	pq_tstruct_set_int(&a, inner, 1, PQ_TT_I32, 42);
	memset(&v, 0, sizeof(v));
	v.type = PQ_TT_STRUCT;
	v.u.st = inner;
	pq_tstruct_set(&a, st, 12, &v);
	memset(&v, 0, sizeof(v)); /* a map<i32, binary> of 2 pairs */
	v.type = PQ_TT_MAP;
	v.etype = PQ_TT_I32;
	v.vtype = PQ_TT_BINARY;
	v.n = 2;
	v.u.elems = spot_arena_alloc(&a, 4 * sizeof(struct pq_tval));
	memset(v.u.elems, 0, 4 * sizeof(struct pq_tval));
	for (i = 0; i < 2; i++) {
		v.u.elems[2 * i] = tv_int(PQ_TT_I32, i);
		v.u.elems[2 * i + 1].type = PQ_TT_BINARY;
		v.u.elems[2 * i + 1].u.bin = (const uint8_t *)"ab";
		v.u.elems[2 * i + 1].n = 2;
	}
	pq_tstruct_set(&a, st, 11, &v);
	CHECK(pq_thrift_write(&b1, st) == 0, "thrift: write all types");
	rc = pq_thrift_read(&a, b1.p, b1.len, &back, &used, &err);
	CHECK(rc == 0 && used == b1.len, "thrift: read back (%s)", err.msg);
	CHECK(!rc && pq_thrift_write(&b2, back) == 0 && b2.len == b1.len &&
		      !memcmp(b1.p, b2.p, b1.len),
	      "thrift: round trip is byte-identical");
	if (!rc) {
		int64_t x;

		CHECK(!pq_tstruct_int(back, 1, &x) && x == 1 &&
			      !pq_tstruct_int(back, 2, &x) && x == 0,
		      "thrift: bools");
		CHECK(!pq_tstruct_int(back, 40, &x) && x == INT64_MAX &&
			      !pq_tstruct_int(back, 5, &x) && x == INT32_MIN &&
			      !pq_tstruct_int(back, 3, &x) && x == -5,
		      "thrift: integers");
		g = pq_tstruct_get(back, 9);
		CHECK(g && g->n == 20 && g->u.elems[19].u.i == 18993,
		      "thrift: long list");
		g = pq_tstruct_get(back, 8);
		CHECK(g && g->n == 7 && !memcmp(g->u.bin, "hello\0x", 7),
		      "thrift: binary with NUL");
		g = pq_tstruct_get(back, 11);
		CHECK(g && g->type == PQ_TT_MAP && g->n == 2, "thrift: map");
		g = pq_tstruct_get(back, 7);
		CHECK(g && g->u.d == -2.5, "thrift: double");
	}
	spot_buf_fini(&b1);
	spot_buf_fini(&b2);
	spot_arena_fini(&a);
}

static int thrift_try(const uint8_t *p, size_t len)
{
	struct spot_arena a;
	struct pq_tstruct *st;
	struct spot_err err = { { 0 } };
	int rc;

	spot_arena_init(&a);
	rc = pq_thrift_read(&a, p, len, &st, NULL, &err);
	spot_arena_fini(&a);
	return rc;
}

static void test_thrift_limits(void)
{
	uint8_t deep[400], big[16];
	struct spot_buf b;
	struct spot_arena a;
	struct pq_tstruct *st;
	size_t i, bad = 0;

	/* Field 1 of type struct, nested 200 times. */
	for (i = 0; i < 200; i++)
		deep[i] = 0x1c;
	memset(deep + 200, 0, 200);
	CHECK(thrift_try(deep, sizeof(deep)) == -EINVAL,
	      "thrift: absurd nesting refused");
	/* A list claiming 2^31 i32 elements in a few bytes. */
	big[0] = 0x19;
	big[1] = 0xf5;
	big[2] = 0x80;
	big[3] = 0x80;
	big[4] = 0x80;
	big[5] = 0x80;
	big[6] = 0x08;
	big[7] = 0;
	CHECK(thrift_try(big, 8) == -EINVAL, "thrift: absurd list length");
	/* A binary longer than the input. */
	big[0] = 0x18;
	big[1] = 0xff;
	big[2] = 0xff;
	big[3] = 0x7f;
	big[4] = 'a';
	CHECK(thrift_try(big, 5) == -EINVAL, "thrift: absurd binary length");
	big[0] = 0x16; /* i64 with an 11-byte varint */
	memset(big + 1, 0xff, 11);
	CHECK(thrift_try(big, 12) == -EINVAL, "thrift: overlong varint");
	/* Every truncation of a valid struct fails cleanly. */
	spot_arena_init(&a);
	spot_buf_init(&b);
	st = pq_tstruct_new(&a);
	pq_tstruct_set_bin(&a, st, 1, "abcdef", 6);
	pq_tstruct_set_int(&a, st, 2, PQ_TT_I64, -123456789);
	pq_tstruct_set_int(&a, st, 30, PQ_TT_I32, 7);
	pq_thrift_write(&b, st);
	for (i = 0; i < b.len; i++)
		bad += thrift_try(b.p, i) != -EINVAL;
	CHECK(bad == 0 && thrift_try(b.p, b.len) == 0,
	      "thrift: all %zu truncations refused", b.len);
	spot_buf_fini(&b);
	spot_arena_fini(&a);
}

/* ---- encodings ---- */

static void test_rle(void)
{
	/* Encodings.md: 0..7 bit-packed at width 3, then a run of five 4s. */
	static const uint8_t vec[] = { 0x03, 0x88, 0xc6, 0xfa, 0x0a, 0x04 };
	uint32_t out[13], in[5000], back[5000];
	struct spot_buf b;
	int bw, ok = 1;
	uint32_t i;

	CHECK(pq_rle_decode(vec, sizeof(vec), 3, 13, out) == 0 && out[0] == 0 &&
		      out[7] == 7 && out[3] == 3 && out[8] == 4 && out[12] == 4,
	      "rle: spec vector");
	CHECK(pq_rle_decode(vec, sizeof(vec), 3, 14, out) == -EINVAL,
	      "rle: short input refused");
	spot_buf_init(&b);
	for (bw = 0; bw <= 20 && ok; bw++) {
		uint32_t mask = bw ? (uint32_t)((1ull << bw) - 1) : 0;

		for (i = 0; i < 5000; i++)
			in[i] = ((i / 37) % 3 ? i * 2654435761u : 5) & mask;
		spot_buf_reset(&b);
		ok = !pq_rle_encode(&b, in, 5000, bw) &&
		     !pq_rle_decode(b.p, b.len, bw, 5000, back) &&
		     !memcmp(in, back, sizeof(in));
	}
	CHECK(ok, "rle: round trips at widths 0..20");
	spot_buf_fini(&b);
}

/* A DELTA_BINARY_PACKED encoder for test vectors: one block per 128. */
static void delta_enc(struct spot_buf *b, const int64_t *v, uint32_t n)
{
	uint8_t tmp[16];
	uint32_t i, m, k;

	tmp[0] = 0x80;
	tmp[1] = 0x01; /* block 128 */
	tmp[2] = 4;    /* miniblocks */
	spot_buf_append(b, tmp, 3);
	spot_buf_putc(b, (uint8_t)n); /* n < 128 in these tests */
	spot_buf_putc(b, (uint8_t)(n ? (v[0] << 1) ^ (v[0] >> 63) : 0));
	for (i = 1; i < n; i += 128) {
		int64_t d[128], min = INT64_MAX;
		uint32_t cnt = n - i < 128 ? n - i : 128;
		uint64_t zz;

		for (k = 0; k < cnt; k++) {
			d[k] = v[i + k] - v[i + k - 1];
			min = d[k] < min ? d[k] : min;
		}
		zz = ((uint64_t)min << 1) ^ (uint64_t)(min >> 63);
		spot_buf_putc(b, (uint8_t)zz); /* small deltas only */
		for (m = 0; m < 4; m++)
			spot_buf_putc(b, 8); /* width 8: one byte each */
		for (m = 0; m < 4 && m * 32 < cnt; m++)
			for (k = 0; k < 32; k++)
				spot_buf_putc(
					b,
					m * 32 + k < cnt
						? (uint8_t)(d[m * 32 + k] - min)
						: 0);
	}
}

static void test_delta(void)
{
	/* Encodings.md examples: 1..5, and 7 5 3 1 2 3 4 5. */
	static const uint8_t ex1[] = { 0x80, 0x01, 0x04, 0x05, 0x02,
				       0x02, 0,	   0,	 0,    0 };
	uint8_t ex2[] = { 0x80, 0x01, 0x04, 0x08, 0x0e, 0x03, 2, 0, 0,
			  0,	0xc0, 0xff, 0,	  0,	0,    0, 0, 0 };
	int64_t out[8];
	size_t used;

	CHECK(pq_delta_decode(ex1, sizeof(ex1), 5, out, &used) == 0 &&
		      out[0] == 1 && out[4] == 5 && used == sizeof(ex1),
	      "delta: spec example 1");
	CHECK(pq_delta_decode(ex2, sizeof(ex2), 8, out, &used) == 0 &&
		      out[0] == 7 && out[3] == 1 && out[4] == 2 &&
		      out[7] == 5 && used == sizeof(ex2),
	      "delta: spec example 2");
	CHECK(pq_delta_decode(ex2, 12, 8, out, &used) == -EINVAL,
	      "delta: truncated miniblock refused");
	ex2[1] = 0x00; /* block size 0 */
	CHECK(pq_delta_decode(ex2, sizeof(ex2), 8, out, &used) == -EINVAL,
	      "delta: bad block size refused");
}

static void test_values(void)
{
	struct spot_arena a;
	struct spot_buf b;
	struct pq_vals v, dict;
	struct spot_err err = { { 0 } };
	static const uint8_t ba[] = { 2, 0, 0, 0, 'h', 'i', 0,	 0,  0,
				      0, 3, 0, 0, 0,   'x', 'y', 'z' };
	static const uint8_t dvals[] = {
		1, 0, 0, 0, 'a', 2, 0, 0, 0, 'b', 'c', 3, 0, 0, 0, 'c', 'd', 'e'
	};
	/* Width 2, then a bit-packed group: 0 1 2 2 1 0 0 0. */
	static const uint8_t idx[] = { 2, 0x03, 0xa4, 0x01 };
	static const uint8_t bad_idx[] = { 2, 0x03, 0xff, 0xff };
	/* RLE booleans: length 4, bit-packed 1 0 1 1 0 0 0 0. */
	static const uint8_t rbool[] = { 2, 0, 0, 0, 0x03, 0x0d };
	float fl[2] = { 1.0f, -2.5f }, fo[2];
	uint8_t bss[8];
	int64_t pre[4] = { 0, 2, 0, 3 }, sl[4] = { 4, 2, 6, 5 };
	int i, rc;

	spot_arena_init(&a);
	spot_buf_init(&b);
	rc = pq_vals_decode(PQ_ENC_PLAIN, PQ_BYTE_ARRAY, 0, NULL, ba,
			    sizeof(ba), 3, &a, &v, &err);
	CHECK(rc == 0 && v.ba[0].len == 2 && v.ba[1].len == 0 &&
		      !memcmp(v.ba[2].p, "xyz", 3),
	      "plain: byte arrays");
	CHECK(pq_vals_decode(PQ_ENC_PLAIN, PQ_BYTE_ARRAY, 0, NULL, ba,
			     sizeof(ba) - 1, 3, &a, &v, &err) == -EINVAL,
	      "plain: byte array length past the page refused");
	rc = pq_vals_decode(PQ_ENC_PLAIN, PQ_BYTE_ARRAY, 0, NULL, dvals,
			    sizeof(dvals), 3, &a, &dict, &err);
	rc = rc ? rc
		: pq_vals_decode(PQ_ENC_RLE_DICTIONARY, PQ_BYTE_ARRAY, 0, &dict,
				 idx, sizeof(idx), 8, &a, &v, &err);
	CHECK(rc == 0 && v.ba[0].len == 1 && v.ba[2].len == 3 &&
		      !memcmp(v.ba[3].p, "cde", 3) && v.ba[4].len == 2,
	      "dictionary: indexes resolve");
	CHECK(pq_vals_decode(PQ_ENC_RLE_DICTIONARY, PQ_BYTE_ARRAY, 0, &dict,
			     bad_idx, sizeof(bad_idx), 8, &a, &v,
			     &err) == -EINVAL &&
		      strstr(err.msg, "out of range"),
	      "dictionary: index out of range refused");
	rc = pq_vals_decode(PQ_ENC_RLE, PQ_BOOLEAN, 1, NULL, rbool,
			    sizeof(rbool), 5, &a, &v, &err);
	CHECK(rc == 0 && v.fixed[0] == 1 && v.fixed[1] == 0 &&
		      v.fixed[2] == 1 && v.fixed[3] == 1 && v.fixed[4] == 0,
	      "rle booleans");
	for (i = 0; i < 4; i++) { /* BYTE_STREAM_SPLIT of two floats */
		bss[i * 2] = ((uint8_t *)&fl[0])[i];
		bss[i * 2 + 1] = ((uint8_t *)&fl[1])[i];
	}
	rc = pq_vals_decode(PQ_ENC_BYTE_STREAM_SPLIT, PQ_FLOAT, 4, NULL, bss,
			    sizeof(bss), 2, &a, &v, &err);
	memcpy(fo, v.fixed, 8);
	CHECK(rc == 0 && fo[0] == 1.0f && fo[1] == -2.5f, "byte stream split");
	/* DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY from the spec. */
	delta_enc(&b, (int64_t[]){ 5, 5, 6, 6 }, 4);
	spot_buf_append(&b, "HelloWorldFoobarABCDEF", 22);
	rc = pq_vals_decode(PQ_ENC_DELTA_LENGTH_BYTE_ARRAY, PQ_BYTE_ARRAY, 0,
			    NULL, b.p, b.len, 4, &a, &v, &err);
	CHECK(rc == 0 && v.ba[2].len == 6 && !memcmp(v.ba[2].p, "Foobar", 6) &&
		      !memcmp(v.ba[3].p, "ABCDEF", 6),
	      "delta length byte array");
	spot_buf_reset(&b);
	delta_enc(&b, pre, 4);
	delta_enc(&b, sl, 4);
	spot_buf_append(&b, "axislebabbleyhood", 17);
	rc = pq_vals_decode(PQ_ENC_DELTA_BYTE_ARRAY, PQ_BYTE_ARRAY, 0, NULL,
			    b.p, b.len, 4, &a, &v, &err);
	CHECK(rc == 0 && v.ba[1].len == 4 && !memcmp(v.ba[1].p, "axle", 4) &&
		      v.ba[3].len == 8 && !memcmp(v.ba[3].p, "babyhood", 8),
	      "delta byte array");
	pre[1] = 9; /* a prefix longer than the previous value */
	spot_buf_reset(&b);
	delta_enc(&b, pre, 4);
	delta_enc(&b, sl, 4);
	spot_buf_append(&b, "axislebabbleyhood", 17);
	CHECK(pq_vals_decode(PQ_ENC_DELTA_BYTE_ARRAY, PQ_BYTE_ARRAY, 0, NULL,
			     b.p, b.len, 4, &a, &v, &err) == -EINVAL,
	      "delta byte array: bad prefix refused");
	spot_buf_fini(&b);
	spot_arena_fini(&a);
}

/* ---- codecs ---- */

static void test_codecs(void)
{
	static const int64_t codecs[] = {
		PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY,	 PQ_CODEC_GZIP,
		PQ_CODEC_ZSTD,	       PQ_CODEC_LZ4_RAW, PQ_CODEC_LZ4
	};
	size_t n = 100000, i;
	uint8_t *src = malloc(n), *dst = malloc(n + 1);
	struct spot_err err = { { 0 } };
	struct spot_buf b;

	spot_buf_init(&b);
	for (i = 0; i < n; i++)
		src[i] = (uint8_t)((i % 251) ^ (i / 1000));
	for (i = 0; i < SPOT_ARRAY_SIZE(codecs); i++) {
		int64_t c = codecs[i];

		spot_buf_reset(&b);
		CHECK(!pq_codec_compress(c, src, n, &b, &err) &&
			      !pq_codec_decompress(c, b.p, b.len, dst, n,
						   &err) &&
			      !memcmp(src, dst, n),
		      "codec %s round trip", pq_codec_name(c));
		CHECK(pq_codec_decompress(c, b.p, b.len, dst, n - 1, &err) ==
			      -EINVAL,
		      "codec %s: wrong claimed size refused", pq_codec_name(c));
	}
	CHECK(pq_codec_check(PQ_CODEC_BROTLI, &err) == -ENOTSUP &&
		      strstr(err.msg, "BROTLI"),
	      "codec BROTLI refused with a clear message");
	spot_buf_fini(&b);
	free(src);
	free(dst);
}

/* ---- value text forms ---- */

static int value_rt(const struct pq_leaf *l, const void *raw, uint32_t len,
		    const char *text)
{
	struct spot_arena a;
	struct pipe_cell c;
	uint8_t fixed[32];
	const uint8_t *p;
	uint32_t n;
	int ok;

	spot_arena_init(&a);
	ok = !pq_value_to_cell(l, raw, len, &a, &c) && c.len == strlen(text) &&
	     !memcmp(c.p, text, c.len) &&
	     !pq_value_from_cell(l, &c, fixed, &p, &n) && n == len &&
	     !memcmp(p, raw, len);
	spot_arena_fini(&a);
	return ok;
}

static void test_value_forms(void)
{
	struct pq_leaf l;
	struct pipe_cell c = { (const uint8_t *)"2024-02-30x", 11, PIPE_TEXT,
			       0 };
	int32_t d = 19782, i32 = -12345;
	int64_t ts = 1709251199123456LL, i64 = -1;
	double dv = 0.1;
	uint8_t flba[9] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x0c
	}; /* -500 */
	uint8_t i96[12], fixed[32], uuid[16];
	int64_t nanos = 3600LL * 1000000000LL;
	int32_t jd = 2440589;
	const uint8_t *p;
	uint32_t n, k;

	memset(&l, 0, sizeof(l));
	l.ptype = PQ_INT32;
	l.ltype = PQ_LT_DATE;
	CHECK(value_rt(&l, &d, 4, "2024-02-29"), "value: DATE");
	CHECK(pq_value_from_cell(&l, &c, fixed, &p, &n) == -EINVAL,
	      "value: bad DATE text refused");
	l.ltype = PQ_LT_DECIMAL;
	l.scale = 2;
	l.precision = 9;
	CHECK(value_rt(&l, &i32, 4, "-123.45"), "value: DECIMAL(9,2) INT32");
	l.ltype = PQ_LT_NONE;
	CHECK(value_rt(&l, &i32, 4, "-12345"), "value: INT32");
	l.ptype = PQ_INT64;
	l.ltype = PQ_LT_TIMESTAMP;
	l.unit = PQ_MICROS;
	CHECK(value_rt(&l, &ts, 8, "2024-02-29 23:59:59.123456"),
	      "value: TIMESTAMP(us)");
	l.ltype = PQ_LT_NONE;
	CHECK(value_rt(&l, &i64, 8, "-1"), "value: INT64");
	l.ptype = PQ_DOUBLE;
	CHECK(value_rt(&l, &dv, 8, "0.10000000000000001"), "value: DOUBLE");
	l.ptype = PQ_FLBA;
	l.type_length = 9;
	l.ltype = PQ_LT_DECIMAL;
	l.scale = 3;
	l.precision = 20;
	CHECK(value_rt(&l, flba, 9, "-0.500"), "value: DECIMAL(20,3) FLBA");
	memcpy(i96, &nanos, 8);
	memcpy(i96 + 8, &jd, 4);
	l.ptype = PQ_INT96;
	l.ltype = PQ_LT_NONE;
	CHECK(value_rt(&l, i96, 12, "1970-01-02 01:00:00.000000000"),
	      "value: INT96");
	for (k = 0; k < 16; k++)
		uuid[k] = (uint8_t)(k * 17);
	l.ptype = PQ_FLBA;
	l.type_length = 16;
	l.ltype = PQ_LT_UUID;
	CHECK(value_rt(&l, uuid, 16, "00112233-4455-6677-8899-aabbccddeeff"),
	      "value: UUID");
	l.ptype = PQ_BOOLEAN;
	l.ltype = PQ_LT_NONE;
	CHECK(value_rt(&l, "\1", 1, "true"), "value: BOOLEAN");
}

/* ---- chunk writer and reader ---- */

static void test_chunk_rt(int page_type, int64_t codec, bool unique)
{
	struct pq_chunk_wr w;
	struct pq_chunk_rd r;
	struct pq_leaf l;
	struct pq_page pg;
	struct spot_err err = { { 0 } };
	struct spot_buf all;
	char v[32];
	uint32_t i, page, got = 0, nulls = 0, bad = 0;
	int rc;

	memset(&l, 0, sizeof(l));
	l.ptype = PQ_BYTE_ARRAY;
	l.ltype = PQ_LT_STRING;
	l.max_def = 1;
	l.repetition = PQ_OPTIONAL;
	spot_buf_init(&all);
	CHECK(pq_chunk_wr_init(&w, PQ_BYTE_ARRAY, 0, codec, true, 1) == 0,
	      "chunk writer init");
	for (page = 0; page < 3; page++) {
		for (i = 0; i < 1000; i++) {
			uint32_t row = page * 1000 + i;
			int n = snprintf(v, sizeof(v), "v%u",
					 unique ? row : row % 10);

			if (row % 9 == 0)
				pq_chunk_wr_null(&w, 0);
			else
				pq_chunk_wr_put(&w, (uint8_t *)v, (uint32_t)n);
		}
		pq_chunk_wr_page(&w, page_type, &err);
	}
	CHECK(pq_chunk_wr_finish(&w, &err) == 0, "chunk writer finish");
	CHECK((w.dict_page.len > 0) == !unique,
	      "chunk: dictionary used only where it pays");
	spot_buf_append(&all, w.dict_page.p, w.dict_page.len);
	spot_buf_append(&all, w.data.p, w.data.len);
	CHECK(w.csize == (int64_t)all.len && w.num_values == 3000 &&
		      w.null_count == 334,
	      "chunk: sizes and counts");
	pq_chunk_rd_init(&r, &l, codec, 3000, all.p, all.len);
	while ((rc = pq_chunk_next(&r, &pg, &err)) == 1) {
		uint32_t vi = 0;

		for (i = 0; i < pg.num_values; i++, got++) {
			int n = snprintf(v, sizeof(v), "v%u",
					 unique ? got : got % 10);

			if (pg.def[i] == 0) {
				nulls++;
				bad += got % 9 != 0;
				continue;
			}
			bad += pg.vals.ba[vi].len != (uint32_t)n ||
			       memcmp(pg.vals.ba[vi].p, v, (size_t)n);
			vi++;
		}
	}
	CHECK(rc == 0 && got == 3000 && nulls == 334 && bad == 0 && r.had_crc,
	      "chunk %s %s %s: read back (%s)",
	      page_type == PQ_PAGE_DATA ? "v1" : "v2", pq_codec_name(codec),
	      unique ? "plain" : "dict", err.msg);
	all.p[all.len / 2] ^= 0x55; /* the CRC catches a flipped byte */
	pq_chunk_rd_fini(&r);
	pq_chunk_rd_init(&r, &l, codec, 3000, all.p, all.len);
	while ((rc = pq_chunk_next(&r, &pg, &err)) == 1)
		;
	CHECK(rc < 0, "chunk: corrupted page detected");
	pq_chunk_rd_fini(&r);
	pq_chunk_wr_fini(&w);
	spot_buf_fini(&all);
}

/* A dictionary that overflows mid-chunk falls back to PLAIN pages. */
static void test_chunk_fallback(void)
{
	struct pq_chunk_wr w;
	struct pq_chunk_rd r;
	struct pq_leaf l;
	struct pq_page pg;
	struct spot_err err = { { 0 } };
	struct spot_buf all;
	static uint8_t big[2048];
	uint32_t i, got = 0, bad = 0;
	int rc;

	memset(&l, 0, sizeof(l));
	l.ptype = PQ_BYTE_ARRAY;
	spot_buf_init(&all);
	pq_chunk_wr_init(&w, PQ_BYTE_ARRAY, 0, PQ_CODEC_LZ4_RAW, false, 0);
	for (i = 0; i < 1000; i++) /* page 1: one value, dictionary */
		pq_chunk_wr_put(&w, (const uint8_t *)"same", 4);
	pq_chunk_wr_page(&w, PQ_PAGE_DATA, &err);
	for (i = 0; i < 2000; i++) { /* page 2: 4 MB of distinct values */
		memcpy(big, &i, sizeof(i));
		pq_chunk_wr_put(&w, big, sizeof(big));
	}
	pq_chunk_wr_page(&w, PQ_PAGE_DATA, &err);
	CHECK(pq_chunk_wr_finish(&w, &err) == 0 && w.ndata[0][1] == 1 &&
		      w.ndata[0][0] == 1 && w.dict_page.len > 0,
	      "chunk: dictionary overflow falls back to PLAIN");
	spot_buf_append(&all, w.dict_page.p, w.dict_page.len);
	spot_buf_append(&all, w.data.p, w.data.len);
	pq_chunk_rd_init(&r, &l, PQ_CODEC_LZ4_RAW, 3000, all.p, all.len);
	while ((rc = pq_chunk_next(&r, &pg, &err)) == 1) {
		for (i = 0; i < pg.vals.n; i++, got++) {
			uint32_t k = got - 1000;

			if (got < 1000)
				bad += pg.vals.ba[i].len != 4;
			else
				bad += pg.vals.ba[i].len != sizeof(big) ||
				       memcmp(pg.vals.ba[i].p, &k, sizeof(k));
		}
	}
	CHECK(rc == 0 && got == 3000 && !bad, "chunk: mixed pages read back");
	pq_chunk_rd_fini(&r);
	pq_chunk_wr_fini(&w);
	spot_buf_fini(&all);
}

/* ---- end-to-end ---- */

/* Masked columns of the end-to-end run and what they become. */
enum e2e_kind { E2E_XLEN, E2E_CONST, E2E_PREFIX_DATE, E2E_ID };

struct e2e_rule {
	const char *col;
	enum e2e_kind kind;
	const char *text; /* E2E_CONST: the value; E2E_PREFIX_DATE: suffix */
	int keep;	  /* E2E_PREFIX_DATE: leading characters kept */
	bool keeps_type;  /* parse outputs back into the column's type */
};

static const struct e2e_rule e2e_rules[] = {
	{ "email", E2E_XLEN, NULL, 0, false },
	{ "name", E2E_XLEN, NULL, 0, false },
	{ "qty", E2E_CONST, "7", 0, true },
	{ "amount", E2E_CONST, "1.50", 0, true },
	{ "score", E2E_CONST, "0.25", 0, true },
	{ "active", E2E_CONST, "false", 0, true },
	{ "born", E2E_PREFIX_DATE, "-01-01", 4, true },
	{ "seen", E2E_PREFIX_DATE, " 00:00:00", 10, true },
	{ "id", E2E_ID, NULL, 0, true },
};

static int e2e_fn(void *arg, struct pipe_batch *b, size_t col,
		  struct spot_err *err)
{
	const struct e2e_rule *r = arg;
	char buf[64];
	size_t i;
	int n;

	(void)err;
	for (i = 0; i < b->nrows; i++) {
		const struct pipe_cell *c = &b->in[i * b->ncols + col];

		if (c->type == PIPE_NULL)
			continue;
		switch (r->kind) {
		case E2E_XLEN:
			n = snprintf(buf, sizeof(buf), "X%zu", c->len);
			break;
		case E2E_CONST:
			n = snprintf(buf, sizeof(buf), "%s", r->text);
			break;
		case E2E_PREFIX_DATE:
			n = snprintf(buf, sizeof(buf), "%.*s%s",
				     (int)(c->len < (size_t)r->keep
						   ? c->len
						   : (size_t)r->keep),
				     (const char *)c->p, r->text);
			break;
		default:
			n = snprintf(buf, sizeof(buf), "ID-%.*s", (int)c->len,
				     (const char *)c->p);
		}
		if (pipe_batch_set(b, i, col, buf, (size_t)n, PIPE_TEXT))
			return -ENOMEM;
	}
	return 0;
}

static int write_view(struct pq_view *v, int fd, const char *path)
{
	uint64_t size = pq_view_size(v), off = 0;
	static uint8_t buf[1 << 16];
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (out < 0)
		return -errno;
	while (off < size) {
		ssize_t n = pq_view_read(v, fd, buf, sizeof(buf), off);

		if (n <= 0 || write(out, buf, (size_t)n) != n) {
			close(out);
			return -EIO;
		}
		off += (uint64_t)n;
	}
	close(out);
	return 0;
}

/* Random-offset reads must match the sequential ones. */
static int check_random_reads(struct pq_view *v, int fd)
{
	uint64_t size = pq_view_size(v);
	uint8_t *all = malloc(size), part[777];
	unsigned seed = 12345;
	int i, bad = 0;

	if (!all || pq_view_read(v, fd, all, size, 0) != (ssize_t)size) {
		free(all);
		return -1;
	}
	for (i = 0; i < 200 && !bad; i++) {
		uint64_t off;
		ssize_t n;

		seed = seed * 1103515245 + 12345;
		off = (seed >> 4) % size;
		n = pq_view_read(v, fd, part, sizeof(part), off);
		bad = n < 0 ||
		      (uint64_t)n != (size - off < sizeof(part)
					      ? size - off
					      : sizeof(part)) ||
		      memcmp(part, all + off, (size_t)n);
	}
	free(all);
	return bad;
}

/* Worker plans for parallel builds: the test transforms keep no state. */
struct par_arg {
	const struct pipe_plan *plan;
	unsigned calls, fail_at; /* fail_at: the call that fails, 0 = none */
};

static int par_more_plan(void *arg, const struct pipe_plan **plan,
			 struct spot_err *err)
{
	struct par_arg *pa = arg;

	if (++pa->calls == pa->fail_at) {
		spot_err_set(err, "no plan for worker %u", pa->calls);
		return -EIO;
	}
	*plan = pa->plan;
	return 0;
}

/* A transform that fails from source row fail_row on. */
static int fail_fn(void *arg, struct pipe_batch *b, size_t col,
		   struct spot_err *err)
{
	uint64_t fail_row = *(const uint64_t *)arg;

	(void)col;
	if (b->first_row + b->nrows <= fail_row)
		return 0;
	spot_err_set(err, "policy failed in the batch of row %" PRIu64,
		     b->first_row);
	return -EIO;
}

/* An emit target: the streamed bytes, and how often it was rewound. */
struct emit_to {
	struct spot_buf b;
	unsigned rewinds, writes;
};

static int emit_put(void *arg, const void *p, size_t len)
{
	struct emit_to *t = arg;

	t->writes++;
	return spot_buf_append(&t->b, p, len);
}

static int emit_rewind(void *arg)
{
	struct emit_to *t = arg;

	t->rewinds++;
	t->b.len = 0;
	return 0;
}

/* A transform serving text from source row text_row on: an integer column
 * whose transform said it keeps the type becomes a string column, found
 * half way (the build starts again). */
static int text_fn(void *arg, struct pipe_batch *b, size_t col,
		   struct spot_err *err)
{
	uint64_t text_row = *(const uint64_t *)arg;

	(void)err;
	for (size_t i = 0; i < b->nrows; i++)
		if (b->first_row + i >= text_row)
			b->out[i * b->ncols + col] =
				(struct pipe_cell){ (const uint8_t *)"n/a", 3,
						    PIPE_TEXT, PIPE_F_SET };
	return 0;
}

static unsigned e2e_rewinds; /* over every file: streamed builds redone */

/* Streamed from byte `after` of generated pages on, on `threads` workers:
 * the emitted bytes must be exactly want. */
static bool e2e_streamed(struct pq_file *f, int fd, struct pipe_plan *plan,
			 unsigned threads, uint64_t after, const uint8_t *want,
			 uint64_t size, struct emit_to *t)
{
	struct par_arg pa = { plan, 0, 0 };
	struct pq_build_opts o = { .threads = threads,
				   .more_plan = par_more_plan,
				   .arg = &pa,
				   .emit = emit_put,
				   .emit_rewind = emit_rewind,
				   .emit_arg = t,
				   .emit_after = after };
	struct spot_err err = { { 0 } };
	struct pq_view *sv = NULL;
	bool ok;

	spot_buf_init(&t->b);
	t->rewinds = t->writes = 0;
	ok = pq_view_build(f, fd, plan, &o, &sv, &err) == 0 &&
	     pq_view_streamed(sv) && pq_view_size(sv) == size &&
	     t->b.len == size && !memcmp(t->b.p, want, size);

	pq_view_free(sv);
	spot_buf_fini(&t->b);
	return ok;
}

/*
 * Streaming (views over the memory budget): the emitted bytes are the
 * served file, whenever streaming starts and whatever the workers; a
 * build whose column types change after streaming started rewinds, or
 * fails without a rewind.
 */
static void e2e_stream(const char *name, struct pq_file *f, int fd,
		       struct pipe_plan *plan, const struct pq_view *v)
{
	uint64_t size = pq_view_size(v), text_row = pq_file_num_rows(f) / 2;
	uint8_t *want = malloc(size + 1);
	struct pipe_xform *xf0 = plan->xf, xf[16];
	struct emit_to t;
	struct pq_view *nv = NULL, *sv = NULL;
	struct spot_err err = { { 0 } };
	struct pq_build_opts o = { .emit = emit_put,
				   .emit_arg = &t,
				   .emit_after = 0 };
	size_t nxf0 = plan->nxf;
	int rc;

	if (!want || pq_view_read(v, fd, want, size, 0) != (ssize_t)size) {
		CHECK(0, "%s: read the view to stream", name);
		free(want);
		return;
	}
	CHECK(e2e_streamed(f, fd, plan, 1, 0, want, size, &t) && t.rewinds == 0,
	      "%s: streamed from the first byte: the same file", name);
	CHECK(e2e_streamed(f, fd, plan, 3, pq_view_mem(v) / 3, want, size, &t),
	      "%s: streamed from a third on, 3 workers: the same file", name);
	CHECK(!e2e_streamed(f, fd, plan, 1, UINT64_MAX, want, size, &t) &&
		      t.writes == 0,
	      "%s: under the room nothing is streamed", name);
	/* The integer column qty (third rule) turns to text half way. */
	if (nxf0 < 3 || nxf0 > SPOT_ARRAY_SIZE(xf) ||
	    strcmp(e2e_rules[2].col, "qty"))
		goto out;
	memcpy(xf, xf0, nxf0 * sizeof(*xf));
	xf[2].fn = text_fn;
	xf[2].arg = &text_row;
	xf[2].keeps_type = true;
	plan->xf = xf;
	rc = pq_view_build(f, fd, plan, NULL, &nv, &err);
	if (rc || pq_view_size(nv) > (1ull << 32))
		goto out;
	size = pq_view_size(nv);
	free(want);
	want = malloc(size + 1);
	if (!want || pq_view_read(nv, fd, want, size, 0) != (ssize_t)size)
		goto out;
	CHECK(e2e_streamed(f, fd, plan, 1, 0, want, size, &t),
	      "%s: text half way, streamed: the same file (%u rewinds)", name,
	      t.rewinds);
	if (t.rewinds) {
		e2e_rewinds++;
		spot_buf_init(&t.b);
		rc = pq_view_build(f, fd, plan, &o, &sv, &err);
		CHECK(rc == -EIO && !sv && strstr(err.msg, "restart"),
		      "%s: no rewind: the redone streamed build fails (%s)",
		      name, err.msg);
		spot_buf_fini(&t.b);
	}
out:
	plan->xf = xf0;
	plan->nxf = nxf0;
	pq_view_free(nv);
	free(want);
}

/*
 * Built on several threads, v's file must come out byte for byte; a
 * failing transform or worker plan must fail the build the same way.
 */
static void e2e_parallel(const char *name, struct pq_file *f, int fd,
			 struct pipe_plan *plan, const struct pq_view *v)
{
	struct par_arg pa = { plan, 0, 0 };
	struct pq_build_opts opts = { .threads = 3,
				      .more_plan = par_more_plan,
				      .arg = &pa };
	uint64_t size = pq_view_size(v), fail_row = pq_file_num_rows(f) / 2;
	struct pipe_xform *xf0 = plan->xf, xf[2];
	size_t nxf0 = plan->nxf;
	struct spot_err e1 = { { 0 } }, e2 = { { 0 } };
	struct pq_view *pv = NULL, *sv = NULL;
	uint8_t *a = malloc(size + 1), *b = malloc(size + 1);
	int rc, rc2;

	rc = pq_view_build(f, fd, plan, &opts, &pv, &e1);
	CHECK(rc == 0 && a && b && pq_view_size(pv) == size &&
		      pq_view_read(v, fd, a, size, 0) == (ssize_t)size &&
		      pq_view_read(pv, fd, b, size, 0) == (ssize_t)size &&
		      !memcmp(a, b, size) && pa.calls == 2,
	      "%s: 3 workers build the same bytes (%.100s, %u plans)", name,
	      e1.msg, pa.calls);
	pq_view_free(pv);
	pv = NULL;
	pa.calls = 0;
	pa.fail_at = 2;
	rc = pq_view_build(f, fd, plan, &opts, &pv, &e1);
	CHECK(rc == -EIO && !pv && strstr(e1.msg, "no plan for worker 2"),
	      "%s: a worker plan that fails to bind fails the build (%.100s)",
	      name, e1.msg);
	/* A transform failing half way: the same first error either way. */
	xf[0] = plan->xf[0];
	xf[1] = (struct pipe_xform){ plan->xf[0].col == 0 ? 1 : 0,
				     fail_fn,
				     &fail_row,
				     false,
				     false,
				     false };
	plan->xf = xf;
	plan->nxf = 2;
	pa.fail_at = 0;
	rc = pq_view_build(f, fd, plan, NULL, &sv, &e1);
	rc2 = pq_view_build(f, fd, plan, &opts, &pv, &e2);
	CHECK(rc == -EIO && rc2 == -EIO && !sv && !pv &&
		      !strcmp(e1.msg, e2.msg) &&
		      strstr(e1.msg, "policy failed"),
	      "%s: a failing transform fails both builds alike (%.100s)", name,
	      e2.msg);
	plan->xf = xf0;
	plan->nxf = nxf0;
	free(a);
	free(b);
}

static void e2e_file(const char *dir, const char *name, const char *outdir)
{
	struct pipe_xform xf[SPOT_ARRAY_SIZE(e2e_rules)] = { { 0 } };
	struct pipe_plan plan = { 0 };
	const struct pipe_col *cols;
	struct pq_file *f = NULL;
	struct pq_view *v = NULL, *pv = NULL;
	struct spot_err err = { { 0 } };
	char path[1024], out[1024];
	size_t ncols, i;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	rc = fd < 0 ? -errno : pq_file_open(fd, &f, &err);
	CHECK(rc == 0, "%s: open (%s)", name, err.msg);
	if (rc)
		goto out;
	pq_file_columns(f, &cols, &ncols);
	for (i = 0; i < SPOT_ARRAY_SIZE(e2e_rules); i++) {
		int c = pipe_col_find(cols, ncols, e2e_rules[i].col,
				      strlen(e2e_rules[i].col));

		CHECK(c >= 0, "%s: column %s found", name, e2e_rules[i].col);
		if (c < 0)
			goto out;
		xf[plan.nxf].col = (size_t)c;
		xf[plan.nxf].fn = e2e_fn;
		xf[plan.nxf].arg = (void *)&e2e_rules[i];
		xf[plan.nxf].keeps_type = e2e_rules[i].keeps_type;
		plan.nxf++;
	}
	plan.xf = xf;
	rc = pq_view_build(f, fd, NULL, NULL, &pv, &err);
	CHECK(rc == 0, "%s: pass-through view (%s)", name, err.msg);
	snprintf(out, sizeof(out), "%s/pass_%s", outdir, name);
	CHECK(!rc && !write_view(pv, fd, out), "%s: pass-through written",
	      name);
	rc = pq_view_build(f, fd, &plan, NULL, &v, &err);
	CHECK(rc == 0, "%s: masked view (%s)", name, err.msg);
	if (rc)
		goto out;
	snprintf(out, sizeof(out), "%s/masked_%s", outdir, name);
	CHECK(!write_view(v, fd, out), "%s: masked view written", name);
	CHECK(!check_random_reads(v, fd), "%s: random reads match", name);
	if (f->m->nrgs > 1) {
		size_t nxf = plan.nxf;

		e2e_parallel(name, f, fd, &plan, v);
		e2e_stream(name, f, fd, &plan, v);
		plan.nxf = nxf;
	}
out:
	pq_view_free(v);
	pq_view_free(pv);
	pq_file_free(f);
	if (fd >= 0)
		close(fd);
}

/* ---- hostile files ---- */

static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	off_t n = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
	uint8_t *p = n > 0 ? malloc((size_t)n) : NULL;

	if (p && pread(fd, p, (size_t)n, 0) != n) {
		free(p);
		p = NULL;
	}
	if (fd >= 0)
		close(fd);
	*len = p ? (size_t)n : 0;
	return p;
}

/* Open bytes as a file and build a masked view of every flat column. */
static int try_bytes(const uint8_t *p, size_t len, const char *tmp,
		     struct spot_err *err)
{
	static const struct e2e_rule rule = { "x", E2E_XLEN, NULL, 0, false };
	struct pipe_xform xf[64] = { { 0 } };
	struct pipe_plan plan = { 0 };
	const struct pipe_col *cols;
	struct pq_file *f = NULL;
	struct pq_view *v = NULL;
	size_t ncols, i;
	uint8_t buf[4096];
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600), rc;

	if (fd < 0 || write(fd, p, len) != (ssize_t)len) {
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	rc = pq_file_open(fd, &f, err);
	if (rc)
		goto out;
	pq_file_columns(f, &cols, &ncols);
	for (i = 0; i < ncols && plan.nxf < SPOT_ARRAY_SIZE(xf); i++) {
		if (pq_column_is_nested(f, i))
			continue;
		xf[plan.nxf].col = i;
		xf[plan.nxf].fn = e2e_fn;
		xf[plan.nxf].arg = (void *)&rule;
		xf[plan.nxf].keeps_type = i % 2;
		plan.nxf++;
	}
	plan.xf = xf;
	rc = pq_view_build(f, fd, &plan, NULL, &v, err);
	if (!rc &&
	    pq_view_read(v, fd, buf, sizeof(buf),
			 pq_view_size(v) > 100 ? pq_view_size(v) - 100 : 0) < 0)
		rc = -EIO;
out:
	pq_view_free(v);
	pq_file_free(f);
	close(fd);
	return rc;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void hostile(const char *dir, const char *name, const char *outdir)
{
	char path[1024], tmp[1024];
	struct spot_err err = { { 0 } };
	size_t len, i, flen, flips, errors = 0, clear = 0;
	uint8_t *src, *p;
	unsigned seed = 7;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/hostile_%d.parquet", outdir,
		 (int)getpid());
	src = slurp(path, &len);
	CHECK(src && len > 100, "hostile: read %s", name);
	if (!src)
		return;
	p = malloc(len);
	CHECK(try_bytes(src, len, tmp, &err) == 0,
	      "hostile: intact file ok (%s)", err.msg);
	CHECK(try_bytes(src, len / 2, tmp, &err) == -EINVAL,
	      "hostile: truncated file refused (%s)", err.msg);
	CHECK(try_bytes(src, 11, tmp, &err) == -EINVAL,
	      "hostile: tiny file refused (%s)", err.msg);
	memcpy(p, src, len);
	put_le32(p + len - 8, 0xfffffff0u);
	CHECK(try_bytes(p, len, tmp, &err) == -EINVAL &&
		      strstr(err.msg, "footer length"),
	      "hostile: bad footer length refused (%s)", err.msg);
	memcpy(p, src, len);
	put_le32(p + len - 8, (uint32_t)len - 8);
	CHECK(try_bytes(p, len, tmp, &err) == -EINVAL,
	      "hostile: footer outside the file refused (%s)", err.msg);
	memcpy(p, src, len);
	memcpy(p + len - 4, "PARE", 4);
	CHECK(try_bytes(p, len, tmp, &err) == -ENOTSUP &&
		      strstr(err.msg, "encrypted"),
	      "hostile: encrypted footer refused (%s)", err.msg);
	/* Every truncation of the footer itself. */
	flen = (size_t)src[len - 8] | (size_t)src[len - 7] << 8 |
	       (size_t)src[len - 6] << 16;
	for (i = 0; i < flen; i += 7) {
		memcpy(p, src, len);
		put_le32(p + len - 8, (uint32_t)i);
		memmove(p + len - 8 - flen + i, p + len - 8, 8);
		errors += try_bytes(p, len - flen + i, tmp, &err) < 0;
	}
	CHECK(errors == (flen + 6) / 7,
	      "hostile: %zu footer truncations "
	      "refused",
	      errors);
	/* Random byte flips anywhere: errors or clean views, never a crash.
	 * Each is a whole build under ASan: the suite tries 120 per file,
	 * TEST_PARQUET_FLIPS=N more (the fuzz target goes further). */
	flips = getenv("TEST_PARQUET_FLIPS")
			? strtoul(getenv("TEST_PARQUET_FLIPS"), NULL, 10)
			: 120;
	errors = 0;
	for (i = 0; i < flips; i++) {
		size_t k, at;

		memcpy(p, src, len);
		for (k = 0; k < 1 + i % 4; k++) {
			seed = seed * 1103515245 + 12345;
			at = 4 + (seed >> 3) % (len - 12);
			p[at] ^= (uint8_t)(1u << (seed % 8));
		}
		if (try_bytes(p, len, tmp, &err) < 0) {
			errors++;
			clear += err.msg[0] != 0;
		} else {
			clear++;
		}
	}
	CHECK(errors > 0 && clear == flips,
	      "hostile: %zu corruptions handled "
	      "(%zu refused with a message)",
	      flips, errors);
	unlink(tmp);
	free(p);
	free(src);
}

/* ---- a synthetic file: type promotions without fixtures ---- */

#define SYN_ROWS 100

static struct pq_tstruct *syn_md(struct spot_arena *a, int ptype,
				 const char *name, int64_t codec,
				 const struct pq_chunk_wr *w, int64_t off)
{
	struct pq_tstruct *cc = pq_tstruct_new(a), *md = pq_tstruct_new(a);
	struct pq_tstruct *st = pq_tstruct_new(a);
	struct pq_tval v;

	pq_tstruct_set_int(a, md, 1, PQ_TT_I32, ptype);
	pq_tval_list(a, &v, PQ_TT_I32, 1);
	v.u.elems[0].type = PQ_TT_I32;
	pq_tstruct_set(a, md, 2, &v);
	pq_tval_list(a, &v, PQ_TT_BINARY, 1);
	v.u.elems[0].type = PQ_TT_BINARY;
	v.u.elems[0].u.bin = (const uint8_t *)name;
	v.u.elems[0].n = (uint32_t)strlen(name);
	pq_tstruct_set(a, md, 3, &v);
	pq_tstruct_set_int(a, md, 4, PQ_TT_I32, codec);
	pq_tstruct_set_int(a, md, 5, PQ_TT_I64, SYN_ROWS);
	pq_tstruct_set_int(a, md, 6, PQ_TT_I64, w->usize);
	pq_tstruct_set_int(a, md, 7, PQ_TT_I64, w->csize);
	pq_tstruct_set_int(a, md, 9, PQ_TT_I64, off);
	pq_tstruct_set_bin(a, st, 5, "s99", 3); /* raw max_value */
	pq_tstruct_set_bin(a, st, 6, "s0", 2);
	memset(&v, 0, sizeof(v));
	v.type = PQ_TT_STRUCT;
	v.u.st = st;
	pq_tstruct_set(a, md, 12, &v);
	v.u.st = md;
	pq_tstruct_set_int(a, cc, 2, PQ_TT_I64, 0);
	pq_tstruct_set(a, cc, 3, &v);
	return cc;
}

static struct pq_tval syn_struct(struct pq_tstruct *st)
{
	struct pq_tval v;

	memset(&v, 0, sizeof(v));
	v.type = PQ_TT_STRUCT;
	v.u.st = st;
	return v;
}

/* PAR1, an INT64 column n and a STRING column s (both REQUIRED), footer. */
static void syn_file(struct spot_buf *f)
{
	struct pq_chunk_wr wn, ws;
	struct spot_arena a;
	struct spot_err err;
	struct pq_tstruct *root, *rg, *se[3], *kv;
	struct pq_tval v;
	char buf[32];
	int64_t i, off_n, off_s;
	size_t flen;
	uint8_t le[4];

	spot_arena_init(&a);
	pq_chunk_wr_init(&wn, PQ_INT64, 8, PQ_CODEC_UNCOMPRESSED, false, 0);
	pq_chunk_wr_init(&ws, PQ_BYTE_ARRAY, 0, PQ_CODEC_SNAPPY, true, 0);
	for (i = 0; i < SYN_ROWS; i++) {
		int64_t x = i * 10;
		int n = snprintf(buf, sizeof(buf), "s%" PRId64, i);

		pq_chunk_wr_put(&wn, (uint8_t *)&x, 8);
		pq_chunk_wr_put(&ws, (uint8_t *)buf, (uint32_t)n);
	}
	pq_chunk_wr_page(&wn, PQ_PAGE_DATA, &err);
	pq_chunk_wr_page(&ws, PQ_PAGE_DATA_V2, &err);
	pq_chunk_wr_finish(&wn, &err);
	pq_chunk_wr_finish(&ws, &err);
	spot_buf_append(f, "PAR1", 4);
	off_n = (int64_t)f->len;
	spot_buf_append(f, wn.data.p, wn.data.len);
	off_s = (int64_t)f->len;
	spot_buf_append(f, ws.data.p, ws.data.len);
	root = pq_tstruct_new(&a);
	pq_tstruct_set_int(&a, root, 1, PQ_TT_I32, 1);
	for (i = 0; i < 3; i++)
		se[i] = pq_tstruct_new(&a);
	pq_tstruct_set_bin(&a, se[0], 4, "schema", 6);
	pq_tstruct_set_int(&a, se[0], 5, PQ_TT_I32, 2);
	pq_tstruct_set_int(&a, se[1], 1, PQ_TT_I32, PQ_INT64);
	pq_tstruct_set_int(&a, se[1], 3, PQ_TT_I32, PQ_REQUIRED);
	pq_tstruct_set_bin(&a, se[1], 4, "n", 1);
	pq_tstruct_set_int(&a, se[2], 1, PQ_TT_I32, PQ_BYTE_ARRAY);
	pq_tstruct_set_int(&a, se[2], 3, PQ_TT_I32, PQ_REQUIRED);
	pq_tstruct_set_bin(&a, se[2], 4, "s", 1);
	pq_tstruct_set_int(&a, se[2], 6, PQ_TT_I32, 0); /* UTF8 */
	pq_tval_list(&a, &v, PQ_TT_STRUCT, 3);
	for (i = 0; i < 3; i++)
		v.u.elems[i] = syn_struct(se[i]);
	pq_tstruct_set(&a, root, 2, &v);
	pq_tstruct_set_int(&a, root, 3, PQ_TT_I64, SYN_ROWS);
	rg = pq_tstruct_new(&a);
	pq_tval_list(&a, &v, PQ_TT_STRUCT, 2);
	v.u.elems[0] = syn_struct(
		syn_md(&a, PQ_INT64, "n", PQ_CODEC_UNCOMPRESSED, &wn, off_n));
	v.u.elems[1] = syn_struct(
		syn_md(&a, PQ_BYTE_ARRAY, "s", PQ_CODEC_SNAPPY, &ws, off_s));
	pq_tstruct_set(&a, rg, 1, &v);
	pq_tstruct_set_int(&a, rg, 2, PQ_TT_I64, wn.usize + ws.usize);
	pq_tstruct_set_int(&a, rg, 3, PQ_TT_I64, SYN_ROWS);
	pq_tval_list(&a, &v, PQ_TT_STRUCT, 1);
	v.u.elems[0] = syn_struct(rg);
	pq_tstruct_set(&a, root, 4, &v);
	kv = pq_tstruct_new(&a);
	pq_tstruct_set_bin(&a, kv, 1, "ARROW:schema", 12);
	pq_tstruct_set_bin(&a, kv, 2, "stale", 5);
	pq_tval_list(&a, &v, PQ_TT_STRUCT, 1);
	v.u.elems[0] = syn_struct(kv);
	pq_tstruct_set(&a, root, 5, &v);
	flen = f->len;
	pq_thrift_write(f, root);
	flen = f->len - flen;
	put_le32(le, (uint32_t)flen);
	spot_buf_append(f, le, 4);
	spot_buf_append(f, "PAR1", 4);
	pq_chunk_wr_fini(&wn);
	pq_chunk_wr_fini(&ws);
	spot_arena_fini(&a);
}

static int syn_fn(void *arg, struct pipe_batch *b, size_t col,
		  struct spot_err *err)
{
	char buf[48];
	size_t r;
	int n;

	(void)err;
	for (r = 0; r < b->nrows; r++) {
		const struct pipe_cell *c = &b->in[r * b->ncols + col];
		uint64_t row = b->first_row + r;

		if (arg) { /* n: "ID-<value>" cannot stay INT64 */
			n = snprintf(buf, sizeof(buf), "ID-%.*s", (int)c->len,
				     (const char *)c->p);
			pipe_batch_set(b, r, col, buf, (size_t)n, PIPE_TEXT);
		} else if (row % 10 == 0) { /* s: NULL makes it OPTIONAL */
			pipe_batch_set(b, r, col, NULL, 0, PIPE_NULL);
		} else {
			n = snprintf(buf, sizeof(buf), "m%" PRIu64, row);
			pipe_batch_set(b, r, col, buf, (size_t)n, PIPE_TEXT);
		}
	}
	return 0;
}

static void test_synthetic(const char *tmpdir)
{
	/* n: text outputs make a STRING column; s: a NULL output. */
	struct pipe_xform xf[2] = { { 0, syn_fn, (void *)"n", false, false,
				      false },
				    { 1, syn_fn, NULL, true, false, false } };
	struct pipe_plan plan = { NULL, NULL, xf, 2, NULL, 0, NULL, NULL };
	struct spot_err err = { { 0 } };
	struct pq_file *f = NULL, *g = NULL;
	struct pq_view *v = NULL;
	struct spot_buf src;
	char path[1024];
	uint8_t *out = NULL;
	size_t bad = 0, nulls = 0, k;
	int fd, ofd = -1, rc;

	spot_buf_init(&src);
	syn_file(&src);
	snprintf(path, sizeof(path), "%s/spot_pq_syn_%d.parquet", tmpdir,
		 (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, src.p, src.len) == (ssize_t)src.len,
	      "synthetic: file written");
	rc = pq_file_open(fd, &f, &err);
	CHECK(rc == 0 && pq_file_num_rows(f) == SYN_ROWS,
	      "synthetic: source opens (%s)", err.msg);
	if (rc)
		goto out;
	rc = pq_view_build(f, fd, &plan, NULL, &v, &err);
	CHECK(rc == 0, "synthetic: masked view with type changes (%s)",
	      err.msg);
	if (rc)
		goto out;
	out = malloc(pq_view_size(v));
	CHECK(pq_view_read(v, fd, out, pq_view_size(v), 0) ==
		      (ssize_t)pq_view_size(v),
	      "synthetic: view read");
	for (k = 0; k + 5 <= pq_view_size(v); k++)
		bad += !memcmp(out + k, "s99", 3) ||
		       !memcmp(out + k, "ARROW", 5);
	CHECK(bad == 0, "synthetic: no raw statistics, no stale Arrow schema");
	snprintf(path + strlen(path), 8, ".out");
	ofd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(ofd >= 0 && write(ofd, out, pq_view_size(v)) ==
				  (ssize_t)pq_view_size(v),
	      "synthetic: served file written");
	rc = pq_file_open(ofd, &g, &err);
	CHECK(rc == 0, "synthetic: served file parses (%s)", err.msg);
	if (rc)
		goto out;
	CHECK(g->m->leaves[0].ptype == PQ_BYTE_ARRAY &&
		      g->m->leaves[0].ltype == PQ_LT_STRING &&
		      g->m->leaves[1].repetition == PQ_OPTIONAL &&
		      g->m->leaves[1].max_def == 1,
	      "synthetic: n became STRING, s became OPTIONAL");
	{
		const struct pq_chunk *ch = &g->m->rgs[0].chunks[1];
		const struct pq_chunk *cn = &g->m->rgs[0].chunks[0];
		struct pq_chunk_rd r;
		struct pq_page pg;
		uint32_t i, vi = 0;

		pq_chunk_rd_init(&r, &g->m->leaves[1], ch->codec,
				 ch->num_values, out + ch->start,
				 (size_t)ch->csize);
		bad = 0;
		while ((rc = pq_chunk_next(&r, &pg, &err)) == 1)
			for (i = 0; i < pg.num_values; i++) {
				char want[16];
				int n = snprintf(want, sizeof(want), "m%u", i);

				if (!pg.def[i]) {
					nulls++;
					bad += i % 10 != 0;
					continue;
				}
				bad += pg.vals.ba[vi].len != (uint32_t)n ||
				       memcmp(pg.vals.ba[vi].p, want,
					      (size_t)n);
				vi++;
			}
		CHECK(rc == 0 && r.had_crc && nulls == 10 && !bad,
		      "synthetic: s holds masked values, NULLs and CRCs");
		pq_chunk_rd_fini(&r);
		pq_chunk_rd_init(&r, &g->m->leaves[0], cn->codec,
				 cn->num_values, out + cn->start,
				 (size_t)cn->csize);
		rc = pq_chunk_next(&r, &pg, &err);
		CHECK(rc == 1 && pg.vals.n == SYN_ROWS &&
			      pg.vals.ba[7].len == 5 &&
			      !memcmp(pg.vals.ba[7].p, "ID-70", 5),
		      "synthetic: n holds strings");
		pq_chunk_rd_fini(&r);
	}
out:
	free(out);
	pq_view_free(v);
	pq_file_free(f);
	pq_file_free(g);
	if (fd >= 0)
		close(fd);
	if (ofd >= 0)
		close(ofd);
	unlink(path);
	path[strlen(path) - 4] = 0;
	unlink(path);
	spot_buf_fini(&src);
}

/* ---- layout: served source ranges are validated unmasked chunks ---- */

/*
 * The synthetic file with ColumnMetaData field f1 of chunk (0, col) set to
 * v1 (and f2 to v2, if f2), written to path. 0 or -1.
 */
static int syn_patched(const char *path, size_t col, int16_t f1, int64_t v1,
		       int16_t f2, int64_t v2)
{
	struct spot_buf src, out;
	struct spot_arena a;
	struct spot_err err;
	struct pq_tstruct *root, *cc;
	struct pq_tval *md;
	uint8_t le[4];
	size_t flen, used, dend;
	int fd, rc = -1;

	spot_buf_init(&src);
	spot_buf_init(&out);
	spot_arena_init(&a);
	syn_file(&src);
	flen = (size_t)src.p[src.len - 8] | (size_t)src.p[src.len - 7] << 8;
	dend = src.len - 8 - flen;
	if (pq_thrift_read(&a, src.p + dend, flen, &root, &used, &err))
		goto out;
	cc = pq_meta_clone_chunk(root, 0, col);
	md = cc ? pq_tstruct_get(cc, 3) : NULL;
	if (!md || pq_tstruct_set_int(&a, md->u.st, f1, PQ_TT_I64, v1) ||
	    (f2 && pq_tstruct_set_int(&a, md->u.st, f2, PQ_TT_I64, v2)))
		goto out;
	spot_buf_append(&out, src.p, dend);
	flen = out.len;
	pq_thrift_write(&out, root);
	put_le32(le, (uint32_t)(out.len - flen));
	spot_buf_append(&out, le, 4);
	spot_buf_append(&out, "PAR1", 4);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0 && write(fd, out.p, out.len) == (ssize_t)out.len)
		rc = 0;
	if (fd >= 0)
		close(fd);
out:
	spot_arena_fini(&a);
	spot_buf_fini(&src);
	spot_buf_fini(&out);
	return rc;
}

/* Open path and build a view masking column col (-1: none). */
static int layout_try(const char *path, int col, struct pq_range *rs,
		      size_t *nrs, struct spot_err *err)
{
	struct pipe_xform xf = {
		(size_t)col, syn_fn, NULL, true, false, false
	};
	struct pipe_plan plan = {
		NULL, NULL, &xf, col >= 0, NULL, 0, NULL, NULL
	};
	struct pq_file *f = NULL;
	struct pq_view *v = NULL;
	int fd = open(path, O_RDONLY), rc;

	rc = fd < 0 ? -errno : pq_file_open(fd, &f, err);
	if (!rc)
		rc = pq_view_build(f, fd, &plan, NULL, &v, err);
	if (!rc)
		*nrs = pq_view_src_ranges(v, rs, 4);
	pq_view_free(v);
	pq_file_free(f);
	if (fd >= 0)
		close(fd);
	return rc;
}

static void test_layout(const char *tmpdir)
{
	struct spot_err err = { { 0 } };
	struct pq_range rs[4], n, s;
	struct pq_file *f = NULL;
	char path[1024];
	size_t nrs = 0;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/spot_pq_layout_%d.parquet", tmpdir,
		 (int)getpid());
	/* Set num_values to what it is: the file as syn_file() makes it. */
	CHECK(syn_patched(path, 0, 5, SYN_ROWS, 0, 0) == 0,
	      "layout: file written");
	fd = open(path, O_RDONLY);
	rc = pq_file_open(fd, &f, &err);
	CHECK(rc == 0 && pq_file_num_rowgroups(f) == 1 &&
		      !pq_file_chunk_range(f, 0, 0, &n) &&
		      !pq_file_chunk_range(f, 0, 1, &s) &&
		      pq_file_bloom_range(f, 0, 0, &n) == -ENOENT,
	      "layout: chunk ranges (%s)", err.msg);
	pq_file_free(f);
	close(fd);
	rc = layout_try(path, -1, rs, &nrs, &err);
	CHECK(rc == 0 && nrs == 1 && rs[0].off == n.off &&
		      rs[0].len == n.len + s.len,
	      "layout: nothing masked serves both chunks, merged (%s)",
	      err.msg);
	rc = layout_try(path, 1, rs, &nrs, &err);
	CHECK(rc == 0 && nrs == 1 && rs[0].off == n.off && rs[0].len == n.len,
	      "layout: s masked serves only n's chunk (%s)", err.msg);
	/* n's total_compressed_size widened over s's pages. */
	syn_patched(path, 0, 7, (int64_t)(n.len + s.len), 0, 0);
	rc = layout_try(path, 1, rs, &nrs, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "row group 0") &&
		      strstr(err.msg, "\"n\"") && strstr(err.msg, "\"s\""),
	      "layout: a chunk widened over a masked one is refused (%s)",
	      err.msg);
	/* s's data_page_offset moved back into n. */
	syn_patched(path, 1, 9, (int64_t)(n.off + 8), 0, 0);
	rc = layout_try(path, 1, rs, &nrs, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "overlaps"),
	      "layout: a chunk moved into another is refused (%s)", err.msg);
	/* Served chunk: its pages hold fewer values than it says. */
	syn_patched(path, 0, 5, SYN_ROWS + 1, 0, 0);
	rc = layout_try(path, 1, rs, &nrs, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "num_values"),
	      "layout: pages must add up to the chunk's values (%s)", err.msg);
	/* Served chunk: a size one byte short cuts the last page. */
	syn_patched(path, 0, 7, (int64_t)n.len - 1, 0, 0);
	rc = layout_try(path, 1, rs, &nrs, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "runs past"),
	      "layout: a page running past its chunk is refused (%s)", err.msg);
	/* A bloom filter of n over the masked chunk, then over n's own. */
	syn_patched(path, 0, 14, (int64_t)s.off, 15, (int64_t)s.len);
	rc = layout_try(path, 1, rs, &nrs, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "overlaps the bloom filter"),
	      "layout: a bloom filter over a masked chunk is refused (%s)",
	      err.msg);
	/* A bloom filter range clear of everything, but not a filter. */
	syn_patched(path, 0, 14, 1, 15, 2);
	rc = layout_try(path, 1, rs, &nrs, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "outside the data area"),
	      "layout: a bloom filter over the magic is refused (%s)", err.msg);
	unlink(path);
}

/* ---- writing: rows through pq_sink_ops and back through pq_rows ---- */

#define WR_ROWS 250000u
#define WR_BIG (3u << 20) /* one value larger than a page */

/* Row r's expected cell of column c: NULLs in c 1, a big value in c 2. */
static int wr_cell(uint32_t r, size_t c, char *buf, size_t len,
		   const uint8_t *big, struct spot_arena *a,
		   struct pipe_cell *out)
{
	int n;

	memset(out, 0, sizeof(*out));
	if (c == 1 && r % 7 == 3) {
		out->type = PIPE_NULL;
		return 0;
	}
	if (c == 2 && r == 130000) {
		out->p = big;
		out->len = WR_BIG;
		return 0;
	}
	n = snprintf(buf, len,
		     c == 0   ? "%u"
		     : c == 1 ? "v%u"
			      : "k%u",
		     c == 2 ? r % 50 : r);
	out->p = a ? spot_arena_dup(a, buf, (size_t)n) : (const uint8_t *)buf;
	out->len = (size_t)n;
	return out->p ? 0 : -ENOMEM;
}

static void test_writer(const char *tmpdir)
{
	static const char *const names[] = { "id", "val", "key" };
	struct pipe_col cols[3];
	struct pipe_batch b;
	struct pq_writer *w = NULL;
	struct spot_buf out;
	struct spot_err err = { { 0 } };
	struct pq_file *f = NULL;
	struct pq_rows *rows = NULL;
	uint8_t *big = malloc(WR_BIG);
	char path[1024], bufs[3][32];
	uint32_t r = 0, got = 0, bad = 0, i;
	size_t c;
	int fd = -1, rc;

	spot_buf_init(&out);
	memset(big, 'z', WR_BIG);
	for (c = 0; c < 3; c++) {
		cols[c].name = (char *)names[c];
		cols[c].name_len = strlen(names[c]);
		cols[c].type = PIPE_TEXT;
		cols[c].flags = 0;
	}
	rc = pipe_batch_init(&b, 3, PIPE_BATCH_ROWS) || pq_writer_new(&out, &w);
	rc = rc ? rc : pq_sink_ops.begin(w, cols, 3, NULL, &err);
	while (!rc && r < WR_ROWS) {
		pipe_batch_clear(&b);
		for (i = 0; i < PIPE_BATCH_ROWS && r < WR_ROWS; i++, r++) {
			b.keep[i] = r % 1000 != 999; /* dropped by a filter */
			for (c = 0; c < 3; c++)
				wr_cell(r, c, bufs[c], sizeof(bufs[c]), big,
					&b.src_arena, &b.in[i * 3 + c]);
			if (r % 11 == 0) /* a transform's output */
				pipe_batch_set(&b, i, 0, "T", 1, PIPE_TEXT);
		}
		b.nrows = i;
		rc = pq_sink_ops.rows(w, &b, &err);
	}
	rc = rc ? rc : pq_sink_ops.end(w, &err);
	CHECK(rc == 0, "writer: %u rows written (%s)", WR_ROWS, err.msg);
	snprintf(path, sizeof(path), "%s/spot_pq_wr_%d.parquet", tmpdir,
		 (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, out.p, out.len) == (ssize_t)out.len,
	      "writer: file written");
	rc = pq_file_open(fd, &f, &err);
	CHECK(rc == 0 && pq_file_num_rows(f) == WR_ROWS - WR_ROWS / 1000 &&
		      f->m->nrgs == 3 && f->m->nleaves == 3 &&
		      f->m->leaves[1].ltype == PQ_LT_STRING &&
		      f->m->leaves[1].repetition == PQ_OPTIONAL,
	      "writer: the file parses: rows, 3 row groups, nullable strings "
	      "(%s)",
	      err.msg);
	if (!rc)
		rc = pq_rows_open(f, fd, &rows, &err);
	for (r = 0; !rc;) {
		pipe_batch_clear(&b);
		rc = pq_source_ops.next_batch(rows, &b, &err);
		if (rc || !b.nrows)
			break;
		for (i = 0; i < b.nrows; i++, r++) {
			struct pipe_cell want;

			while (r % 1000 == 999)
				r++;
			for (c = 0; c < 3; c++) {
				const struct pipe_cell *h = &b.in[i * 3 + c];

				wr_cell(r, c, bufs[c], sizeof(bufs[c]), big,
					NULL, &want);
				if (c == 0 && r % 11 == 0) {
					want.p = (const uint8_t *)"T";
					want.len = 1;
				}
				bad += h->type == PIPE_NULL
					       ? want.type != PIPE_NULL
					       : want.type == PIPE_NULL ||
							 h->len != want.len ||
							 memcmp(h->p, want.p,
								want.len);
			}
			got++;
		}
	}
	CHECK(rc == 0 && got == WR_ROWS - WR_ROWS / 1000 && bad == 0,
	      "writer: every kept row reads back (%u rows, %u bad, %s)", got,
	      bad, err.msg);
	pq_rows_free(rows);
	pq_file_free(f);
	if (fd >= 0)
		close(fd);
	unlink(path);
	pq_writer_free(w);
	pipe_batch_fini(&b);
	spot_buf_fini(&out);
	free(big);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void e2e(const char *dir, const char *outdir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *names[256];
	size_t n = 0, i;

	CHECK(d != NULL, "fixture folder %s opens", dir);
	if (!d)
		return;
	while ((e = readdir(d)) && n < SPOT_ARRAY_SIZE(names)) {
		size_t l = strlen(e->d_name);

		if (l > 8 && !strcmp(e->d_name + l - 8, ".parquet"))
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	CHECK(n > 0, "fixtures found (%zu)", n);
	for (i = 0; i < n; i++) {
		e2e_file(dir, names[i], outdir);
		if (strstr(names[i], "uncompressed_v1_plain") ||
		    strstr(names[i], "snappy_v2_dict"))
			hostile(dir, names[i], outdir);
		free(names[i]);
	}
	CHECK(!n || e2e_rewinds > 0, "some fixture redid a streamed build (%u)",
	      e2e_rewinds);
}

/* ---- what is structural (pq_scrub.c) ---- */

static struct pq_tstruct *scrub_sub(struct spot_arena *a, struct pq_tstruct *st,
				    int16_t id)
{
	struct pq_tstruct *s = pq_tstruct_new(a);
	struct pq_tval v = pq_tval_struct(s);

	pq_tstruct_set(a, st, id, &v);
	return s;
}

/* created_by after pq_meta_scrub, or "-" when dropped. */
static const char *scrub_created_by(const char *in, char *buf, size_t len)
{
	struct spot_arena a;
	struct pq_tstruct *root;
	const struct pq_tval *v;

	spot_arena_init(&a);
	root = pq_tstruct_new(&a);
	pq_tstruct_set_bin(&a, root, 6, in, strlen(in));
	pq_meta_scrub(&a, root, false);
	v = pq_tstruct_get(root, 6);
	snprintf(buf, len, "%.*s", v ? (int)v->n : 1,
		 v ? (const char *)v->u.bin : "-");
	spot_arena_fini(&a);
	return buf;
}

static bool scrub_has(const struct spot_buf *b, const char *s)
{
	size_t n = strlen(s);

	for (size_t k = 0; k + n <= b->len; k++)
		if (!memcmp((const uint8_t *)b->p + k, s, n))
			return true;
	return false;
}

static void test_scrub(void)
{
	static const char *const cb[][2] = {
		{ "DuckDB version v1.1.3 (build 19864453f7)",
		  "DuckDB version v1.1.3" },
		{ "parquet-cpp-arrow version 14.0.1",
		  "parquet-cpp-arrow version 14.0.1" },
		{ "parquet-mr version 1.12.3 (build f8dced18)",
		  "parquet-mr version 1.12.3" },
		{ "parquet-mr version SECRET", "parquet-mr" },
		{ "Polars", "Polars" },
		{ "DuckDBSECRET version 1", "-" },
		{ "SECRET", "-" },
		{ "", "-" },
	};
	struct spot_arena a;
	struct pq_tstruct *root, *se[4], *lt, *kv[2], *md, *st, *ph;
	struct spot_buf b;
	struct pq_tval v;
	char buf[128];
	size_t i;
	int mode;

	for (i = 0; i < SPOT_ARRAY_SIZE(cb); i++)
		CHECK(!strcmp(scrub_created_by(cb[i][0], buf, sizeof(buf)),
			      cb[i][1]),
		      "scrub: created_by \"%s\" -> \"%s\" (got \"%s\")",
		      cb[i][0], cb[i][1], buf);
	/* mode 0: not embedded; 1: embedded, with a custom key; 2: without */
	for (mode = 0; mode < 3; mode++) {
		spot_arena_init(&a);
		spot_buf_init(&b);
		root = pq_tstruct_new(&a);
		for (i = 0; i < 4; i++)
			se[i] = pq_tstruct_new(&a);
		pq_tstruct_set_bin(&a, se[0], 4, "ROOTSECRET", 10);
		pq_tstruct_set_int(&a, se[0], 5, PQ_TT_I32, 3);
		pq_tstruct_set_bin(&a, se[0], 30, "UNKSECRET", 9);
		/* STRING: kept */
		pq_tstruct_set_bin(&a, se[1], 4, "s", 1);
		scrub_sub(&a, scrub_sub(&a, se[1], 10), 1);
		/* GEOMETRY with a crs: the whole LogicalType goes */
		pq_tstruct_set_bin(&a, se[2], 4, "g", 1);
		pq_tstruct_set_bin(&a,
				   scrub_sub(&a, scrub_sub(&a, se[2], 10), 17),
				   1, "CRSSECRET", 9);
		/* TIMESTAMP with an unknown member inside its unit */
		pq_tstruct_set_bin(&a, se[3], 4, "t", 1);
		lt = scrub_sub(&a, scrub_sub(&a, se[3], 10), 8);
		pq_tstruct_set_int(&a, lt, 1, PQ_TT_BOOL, 1);
		pq_tstruct_set_bin(&a, scrub_sub(&a, scrub_sub(&a, lt, 2), 2),
				   9, "LTSECRET", 8);
		pq_tval_list(&a, &v, PQ_TT_STRUCT, 4);
		for (i = 0; i < 4; i++)
			v.u.elems[i] = pq_tval_struct(se[i]);
		pq_tstruct_set(&a, root, 2, &v);
		/* num_rows of the wrong type: dropped */
		pq_tstruct_set_bin(&a, root, 3, "NUMSECRET", 9);
		kv[0] = pq_tstruct_new(&a);
		kv[1] = pq_tstruct_new(&a);
		pq_tstruct_set_bin(&a, kv[0], 1, "note", 4);
		pq_tstruct_set_bin(&a, kv[0], 2, "KVSECRET", 8);
		pq_tstruct_set_bin(&a, kv[1], 1, "pandas", 6);
		pq_tstruct_set_bin(&a, kv[1], 2, "{}", 2);
		pq_tval_list(&a, &v, PQ_TT_STRUCT, mode < 2 ? 2 : 1);
		v.u.elems[0] = pq_tval_struct(kv[1]);
		if (mode < 2)
			v.u.elems[1] = pq_tval_struct(kv[0]);
		pq_tstruct_set(&a, root, 5, &v);
		/* a row group's chunk: column key/value, unknown stats field */
		md = pq_tstruct_new(&a);
		pq_tstruct_set_int(&a, md, 1, PQ_TT_I32, PQ_BYTE_ARRAY);
		pq_tval_list(&a, &v, PQ_TT_STRUCT, 1);
		v.u.elems[0] = pq_tval_struct(kv[0]);
		pq_tstruct_set(&a, md, 8, &v);
		st = scrub_sub(&a, md, 12);
		pq_tstruct_set_int(&a, st, 3, PQ_TT_I64, 0);
		pq_tstruct_set_bin(&a, st, 30, "STSECRET", 8);
		st = pq_tstruct_new(&a);
		v = pq_tval_struct(md);
		pq_tstruct_set(&a, st, 3, &v);
		pq_tval_list(&a, &v, PQ_TT_STRUCT, 1);
		v.u.elems[0] = pq_tval_struct(st);
		st = pq_tstruct_new(&a);
		pq_tstruct_set(&a, st, 1, &v);
		pq_tval_list(&a, &v, PQ_TT_STRUCT, 1);
		v.u.elems[0] = pq_tval_struct(st);
		pq_tstruct_set(&a, root, 4, &v);
		pq_tstruct_set_bin(&a, root, 9, "SIGNSECRET", 10);
		CHECK(pq_meta_scrub(&a, root, mode > 0) == 0 &&
			      pq_thrift_write(&b, root) == 0,
		      "scrub: footer written");
		CHECK(!scrub_has(&b, "SECRET"),
		      "scrub: no free-form text is left (mode %d)", mode);
		CHECK(scrub_has(&b, "pandas") == (mode == 2),
		      "scrub: pandas kept only when embedded and alone (mode "
		      "%d)",
		      mode);
		CHECK(pq_tstruct_get(se[1], 10) && !pq_tstruct_get(se[2], 10) &&
			      !pq_tstruct_get(se[3], 10) &&
			      pq_tstruct_get(se[0], 4)->n == 6,
		      "scrub: known LogicalType kept, unknown ones dropped, "
		      "root renamed");
		spot_buf_fini(&b);
		spot_arena_fini(&a);
	}
	/* Page headers: anything Parquet does not define is foreign. */
	spot_arena_init(&a);
	ph = pq_tstruct_new(&a);
	pq_tstruct_set_int(&a, ph, 1, PQ_TT_I32, PQ_PAGE_DATA);
	st = scrub_sub(&a, ph, 5);
	pq_tstruct_set_int(&a, st, 1, PQ_TT_I32, 3);
	pq_tstruct_set_bin(&a, scrub_sub(&a, st, 5), 6, "min", 3);
	CHECK(!pq_page_hdr_foreign(ph), "scrub: a page header with statistics "
					"is clean");
	pq_tstruct_set_bin(&a, scrub_sub(&a, st, 5), 30, "x", 1);
	CHECK(pq_page_hdr_foreign(ph), "scrub: an unknown statistics field is "
				       "foreign");
	pq_tstruct_set_bin(&a, ph, 9, "x", 1);
	CHECK(pq_page_hdr_foreign(ph), "scrub: an unknown header field is "
				       "foreign");
	spot_arena_fini(&a);
}

int main(int argc, char **argv)
{
	test_thrift_roundtrip();
	test_thrift_limits();
	test_rle();
	test_delta();
	test_values();
	test_codecs();
	test_value_forms();
	test_chunk_rt(PQ_PAGE_DATA, PQ_CODEC_SNAPPY, false);
	test_chunk_rt(PQ_PAGE_DATA_V2, PQ_CODEC_ZSTD, true);
	test_chunk_rt(PQ_PAGE_DATA, PQ_CODEC_UNCOMPRESSED, true);
	test_chunk_rt(PQ_PAGE_DATA_V2, PQ_CODEC_GZIP, false);
	test_chunk_fallback();
	test_scrub();
	test_synthetic(argc >= 3 ? argv[2] : "/tmp");
	test_layout(argc >= 3 ? argv[2] : "/tmp");
	test_writer(argc >= 3 ? argv[2] : "/tmp");
	if (argc >= 3)
		e2e(argv[1], argv[2]);
	return check_done();
}

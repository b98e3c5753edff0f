/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_page.c - Parquet value and level encodings (decoders for every
 * encoding of the format, PLAIN/dictionary/level encoders).
 */
#include "pq_page.h"

#include <errno.h>
#include <string.h>

#include "pq_thrift.h"

/* DELTA_BINARY_PACKED sanity limits. */
#define PQ_DELTA_MAX_BLOCK (1u << 16)
#define PQ_DELTA_MAX_MINI 256u

uint32_t pq_type_width(int ptype, int32_t type_length)
{
	switch (ptype) {
	case PQ_BOOLEAN:
		return 1;
	case PQ_INT32:
	case PQ_FLOAT:
		return 4;
	case PQ_INT64:
	case PQ_DOUBLE:
		return 8;
	case PQ_INT96:
		return 12;
	case PQ_FLBA:
		return type_length > 0 ? (uint32_t)type_length : 0;
	default:
		return 0;
	}
}

int pq_bit_width(uint64_t max)
{
	int bw = 0;

	while (max) {
		bw++;
		max >>= 1;
	}
	return bw;
}

static uint32_t pq_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static int pq_uvarint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	uint64_t x = 0;
	unsigned shift = 0;

	for (;;) {
		uint8_t c;

		if (*pos >= len || shift > 63)
			return -EINVAL;
		c = p[(*pos)++];
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
		shift += 7;
	}
	*v = x;
	return 0;
}

/* Read bit-packed LSB-first values of width bw starting at bit offset. */
static uint64_t pq_bits_get(const uint8_t *p, uint64_t bit, int bw)
{
	uint64_t v = 0;
	int got = 0;

	while (got < bw) {
		uint8_t byte = p[bit >> 3];
		int off = (int)(bit & 7), take = 8 - off;

		if (take > bw - got)
			take = bw - got;
		v |= (uint64_t)((byte >> off) & ((1u << take) - 1)) << got;
		got += take;
		bit += (uint64_t)take;
	}
	return v;
}

/* ---- RLE / bit-packed hybrid ---- */

int pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t n,
		  uint32_t *out)
{
	size_t pos = 0, vbytes = ((size_t)bw + 7) / 8;
	uint32_t i = 0;

	if (bw < 0 || bw > 32)
		return -EINVAL;
	while (i < n) {
		uint64_t h, cnt, k;

		if (pq_uvarint(p, len, &pos, &h))
			return -EINVAL;
		if (h & 1) {
			/* Bit-packed: groups of 8; the last may be short. */
			uint64_t bytes = (h >> 1) * (uint64_t)bw;

			if (bytes > len - pos)
				bytes = len - pos;
			cnt = bw ? bytes * 8 / (uint64_t)bw : (h >> 1) * 8;
			if (!cnt)
				return -EINVAL;
			for (k = 0; k < cnt && i < n; k++)
				out[i++] = (uint32_t)pq_bits_get(
					p + pos, k * (uint64_t)bw, bw);
			pos += bytes;
		} else {
			uint32_t v = 0;
			size_t b;

			cnt = h >> 1;
			if (!cnt || vbytes > len - pos)
				return -EINVAL;
			for (b = 0; b < vbytes; b++)
				v |= (uint32_t)p[pos + b] << (8 * b);
			pos += vbytes;
			if (bw < 32 && v >> bw)
				return -EINVAL;
			for (k = 0; k < cnt && i < n; k++)
				out[i++] = v;
		}
	}
	return 0;
}

static uint32_t pq_run_len(const uint32_t *v, uint32_t i, uint32_t n)
{
	uint32_t j = i + 1;

	while (j < n && v[j] == v[i])
		j++;
	return j - i;
}

static int pq_rle_packed(struct spot_buf *b, const uint32_t *v, uint32_t i,
			 uint32_t groups, uint32_t n, int bw)
{
	size_t bytes = (size_t)groups * (size_t)bw, start;
	uint64_t bit = 0;
	uint32_t k;
	int rc;

	rc = pq_uvarint_put(b, (uint64_t)groups << 1 | 1);
	if (!rc)
		rc = spot_buf_reserve(b, bytes);
	if (rc)
		return rc;
	start = b->len;
	memset(b->p + start, 0, bytes);
	for (k = 0; k < groups * 8; k++) {
		uint64_t val = i + k < n ? v[i + k] : 0;
		int w;

		for (w = 0; w < bw; w++, bit++)
			if (val >> w & 1)
				b->p[start + (bit >> 3)] |=
					(uint8_t)(1u << (bit & 7));
	}
	b->len += bytes;
	return 0;
}

int pq_rle_encode(struct spot_buf *b, const uint32_t *v, uint32_t n, int bw)
{
	uint32_t i = 0;
	int rc = 0;

	while (!rc && i < n) {
		uint32_t run = pq_run_len(v, i, n), groups = 1;

		if (run >= 8 || (bw == 0)) {
			uint8_t tmp[4];
			size_t k, vb = ((size_t)bw + 7) / 8;

			for (k = 0; k < vb; k++)
				tmp[k] = (uint8_t)(v[i] >> (8 * k));
			rc = pq_uvarint_put(b, (uint64_t)run << 1);
			if (!rc)
				rc = spot_buf_append(b, tmp, vb);
			i += run;
			continue;
		}
		/* Literal groups of 8 until a long run starts. */
		while (i + groups * 8 < n && groups < 1024 &&
		       pq_run_len(v, i + groups * 8, n) < 8)
			groups++;
		rc = pq_rle_packed(b, v, i, groups, n, bw);
		i = i + groups * 8 < n ? i + groups * 8 : n;
	}
	return rc;
}

/* ---- value decoders ---- */

static int pq_vals_alloc(struct spot_arena *a, struct pq_vals *out, int ptype,
			 uint32_t width, uint32_t n)
{
	memset(out, 0, sizeof(*out));
	out->ptype = ptype;
	out->width = width;
	out->n = n;
	if (ptype == PQ_BYTE_ARRAY) {
		out->ba = spot_arena_alloc(a, (size_t)n * sizeof(*out->ba) + 1);
		return out->ba ? 0 : -ENOMEM;
	}
	out->fixed = spot_arena_alloc(a, (size_t)n * width + 1);
	return out->fixed ? 0 : -ENOMEM;
}

static int pq_dec_plain(int ptype, uint32_t width, const uint8_t *p, size_t len,
			uint32_t n, struct spot_arena *a, struct pq_vals *out)
{
	size_t pos = 0;
	uint32_t i;

	if (ptype == PQ_BOOLEAN) {
		if (((size_t)n + 7) / 8 > len)
			return -EINVAL;
	} else if (ptype == PQ_BYTE_ARRAY) {
		if ((size_t)n > len / 4)
			return -EINVAL;
	} else if ((size_t)n * width > len) {
		return -EINVAL;
	}
	if (pq_vals_alloc(a, out, ptype, width, n))
		return -ENOMEM;
	if (ptype == PQ_BOOLEAN) {
		for (i = 0; i < n; i++)
			out->fixed[i] = (p[i >> 3] >> (i & 7)) & 1;
	} else if (ptype != PQ_BYTE_ARRAY) {
		memcpy(out->fixed, p, (size_t)n * width);
	} else {
		for (i = 0; i < n; i++) {
			uint32_t l;

			if (len - pos < 4)
				return -EINVAL;
			l = pq_le32(p + pos);
			pos += 4;
			if (l > len - pos)
				return -EINVAL;
			out->ba[i].p = p + pos;
			out->ba[i].len = l;
			pos += l;
		}
	}
	return 0;
}

static int pq_dec_dict(const struct pq_vals *dict, const uint8_t *p, size_t len,
		       uint32_t n, struct spot_arena *a, struct pq_vals *out)
{
	uint32_t *idx, i;

	if (!dict || (n && len < 1) || (len && p[0] > 32))
		return -EINVAL;
	idx = spot_arena_alloc(a, (size_t)n * sizeof(*idx) + 1);
	if (!idx || pq_vals_alloc(a, out, dict->ptype, dict->width, n))
		return -ENOMEM;
	if (n && pq_rle_decode(p + 1, len - 1, p[0], n, idx))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (idx[i] >= dict->n)
			return -ERANGE;
		if (out->ba)
			out->ba[i] = dict->ba[idx[i]];
		else
			memcpy(out->fixed + (size_t)i * dict->width,
			       dict->fixed + (size_t)idx[i] * dict->width,
			       dict->width);
	}
	return 0;
}

static int pq_dec_rle_bool(const uint8_t *p, size_t len, uint32_t n,
			   struct spot_arena *a, struct pq_vals *out)
{
	uint32_t *tmp, i, l;

	if (len < 4)
		return -EINVAL;
	l = pq_le32(p);
	if (l > len - 4)
		return -EINVAL;
	tmp = spot_arena_alloc(a, (size_t)n * sizeof(*tmp) + 1);
	if (!tmp || pq_vals_alloc(a, out, PQ_BOOLEAN, 1, n))
		return -ENOMEM;
	if (pq_rle_decode(p + 4, l, 1, n, tmp))
		return -EINVAL;
	for (i = 0; i < n; i++)
		out->fixed[i] = (uint8_t)tmp[i];
	return 0;
}

static int pq_delta_block(const uint8_t *p, size_t len, size_t *pos,
			  uint32_t mini_n, uint32_t per_mini, uint64_t *last,
			  uint64_t *done, uint64_t total, uint32_t n,
			  int64_t *out)
{
	const uint8_t *widths;
	uint64_t u, min_delta;
	uint32_t m;

	if (pq_uvarint(p, len, pos, &u))
		return -EINVAL;
	min_delta = (u >> 1) ^ -(u & 1);
	if (mini_n > len - *pos)
		return -EINVAL;
	widths = p + *pos;
	*pos += mini_n;
	for (m = 0; m < mini_n && *done < total; m++) {
		size_t bytes = (size_t)widths[m] * per_mini / 8;
		uint32_t k;

		if (widths[m] > 64 || bytes > len - *pos)
			return -EINVAL;
		for (k = 0; k < per_mini && *done < total; k++) {
			uint64_t d = pq_bits_get(
				p + *pos, (uint64_t)k * widths[m], widths[m]);

			*last += min_delta + d; /* wrapping, as specified */
			if (*done < n)
				out[*done] = (int64_t)*last;
			(*done)++;
		}
		*pos += bytes;
	}
	return 0;
}

int pq_delta_decode(const uint8_t *p, size_t len, uint32_t n, int64_t *out,
		    size_t *used)
{
	uint64_t block, mini_n, total, u, last, done = 0;
	uint32_t per_mini;
	size_t pos = 0;

	if (pq_uvarint(p, len, &pos, &block) ||
	    pq_uvarint(p, len, &pos, &mini_n) ||
	    pq_uvarint(p, len, &pos, &total) || pq_uvarint(p, len, &pos, &u))
		return -EINVAL;
	if (!block || block > PQ_DELTA_MAX_BLOCK || block % 128 || !mini_n ||
	    mini_n > PQ_DELTA_MAX_MINI || block % mini_n ||
	    (block / mini_n) % 32 || total < n || total > PQ_MAX_PAGE_VALUES)
		return -EINVAL;
	per_mini = (uint32_t)(block / mini_n);
	last = (u >> 1) ^ -(u & 1);
	if (total) {
		if (n)
			out[0] = (int64_t)last;
		done = 1;
	}
	while (done < total)
		if (pq_delta_block(p, len, &pos, (uint32_t)mini_n, per_mini,
				   &last, &done, total, n, out))
			return -EINVAL;
	if (used)
		*used = pos;
	return 0;
}

static int pq_dec_delta_int(int ptype, const uint8_t *p, size_t len, uint32_t n,
			    struct spot_arena *a, struct pq_vals *out)
{
	int64_t *tmp = spot_arena_alloc(a, (size_t)n * 8 + 8);
	uint32_t i;

	if (!tmp || pq_vals_alloc(a, out, ptype, ptype == PQ_INT32 ? 4 : 8, n))
		return -ENOMEM;
	if (pq_delta_decode(p, len, n, tmp, NULL))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (ptype == PQ_INT32) {
			int32_t v = (int32_t)(uint32_t)tmp[i];

			memcpy(out->fixed + (size_t)i * 4, &v, 4);
		} else {
			memcpy(out->fixed + (size_t)i * 8, &tmp[i], 8);
		}
	}
	return 0;
}

/* Lengths (DELTA_BINARY_PACKED) then the concatenated bytes. */
static int pq_dec_dlba(const uint8_t *p, size_t len, uint32_t n,
		       struct spot_arena *a, struct pq_vals *out, size_t *used)
{
	int64_t *lens = spot_arena_alloc(a, (size_t)n * 8 + 8);
	size_t pos;
	uint32_t i;

	if (!lens || pq_vals_alloc(a, out, PQ_BYTE_ARRAY, 0, n))
		return -ENOMEM;
	if (pq_delta_decode(p, len, n, lens, &pos))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (lens[i] < 0 || (uint64_t)lens[i] > len - pos)
			return -EINVAL;
		out->ba[i].p = p + pos;
		out->ba[i].len = (uint32_t)lens[i];
		pos += (size_t)lens[i];
	}
	if (used)
		*used = pos;
	return 0;
}

/* Prefix lengths, then suffixes as DELTA_LENGTH_BYTE_ARRAY. */
static int pq_dec_dba(int ptype, uint32_t width, const uint8_t *p, size_t len,
		      uint32_t n, struct spot_arena *a, struct pq_vals *out)
{
	int64_t *pre = spot_arena_alloc(a, (size_t)n * 8 + 8);
	struct pq_vals suf;
	size_t pos;
	uint32_t i;
	const uint8_t *prev = NULL;
	uint32_t prev_len = 0;

	if (!pre || pq_vals_alloc(a, out, ptype, width, n))
		return -ENOMEM;
	if (pq_delta_decode(p, len, n, pre, &pos) ||
	    pq_dec_dlba(p + pos, len - pos, n, a, &suf, NULL))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		uint64_t tot;
		uint8_t *v;

		if (pre[i] < 0 || (uint64_t)pre[i] > prev_len)
			return -EINVAL;
		tot = (uint64_t)pre[i] + suf.ba[i].len;
		if (tot > UINT32_MAX || (ptype == PQ_FLBA && tot != width))
			return -EINVAL;
		v = spot_arena_alloc(a, (size_t)tot + 1);
		if (!v)
			return -ENOMEM;
		if (pre[i])
			memcpy(v, prev, (size_t)pre[i]);
		if (suf.ba[i].len)
			memcpy(v + pre[i], suf.ba[i].p, suf.ba[i].len);
		if (ptype == PQ_FLBA) {
			memcpy(out->fixed + (size_t)i * width, v, width);
		} else {
			out->ba[i].p = v;
			out->ba[i].len = (uint32_t)tot;
		}
		prev = v;
		prev_len = (uint32_t)tot;
	}
	return 0;
}

static int pq_dec_bss(int ptype, uint32_t width, const uint8_t *p, size_t len,
		      uint32_t n, struct spot_arena *a, struct pq_vals *out)
{
	uint32_t i, k;

	if (!width || (size_t)n * width > len)
		return -EINVAL;
	if (pq_vals_alloc(a, out, ptype, width, n))
		return -ENOMEM;
	for (k = 0; k < width; k++)
		for (i = 0; i < n; i++)
			out->fixed[(size_t)i * width + k] =
				p[(size_t)k * n + i];
	return 0;
}

int pq_vals_decode(int enc, int ptype, uint32_t width,
		   const struct pq_vals *dict, const uint8_t *p, size_t len,
		   uint32_t n, struct spot_arena *a, struct pq_vals *out,
		   struct spot_err *err)
{
	int rc;

	if (n > PQ_MAX_PAGE_VALUES) {
		spot_err_set(err, "parquet: page has too many values");
		return -EINVAL;
	}
	switch (enc) {
	case PQ_ENC_PLAIN:
		rc = pq_dec_plain(ptype, width, p, len, n, a, out);
		break;
	case PQ_ENC_PLAIN_DICTIONARY:
	case PQ_ENC_RLE_DICTIONARY:
		rc = pq_dec_dict(dict, p, len, n, a, out);
		if (rc == -ERANGE) {
			spot_err_set(err, "parquet: dictionary index out of "
					  "range");
			return -EINVAL;
		}
		break;
	case PQ_ENC_RLE:
		rc = ptype == PQ_BOOLEAN ? pq_dec_rle_bool(p, len, n, a, out)
					 : -ENOTSUP;
		break;
	case PQ_ENC_DELTA_BINARY_PACKED:
		rc = ptype == PQ_INT32 || ptype == PQ_INT64
			     ? pq_dec_delta_int(ptype, p, len, n, a, out)
			     : -ENOTSUP;
		break;
	case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
		rc = ptype == PQ_BYTE_ARRAY
			     ? pq_dec_dlba(p, len, n, a, out, NULL)
			     : -ENOTSUP;
		break;
	case PQ_ENC_DELTA_BYTE_ARRAY:
		rc = ptype == PQ_BYTE_ARRAY || ptype == PQ_FLBA
			     ? pq_dec_dba(ptype, width, p, len, n, a, out)
			     : -ENOTSUP;
		break;
	case PQ_ENC_BYTE_STREAM_SPLIT:
		rc = ptype != PQ_BYTE_ARRAY && ptype != PQ_BOOLEAN
			     ? pq_dec_bss(ptype, width, p, len, n, a, out)
			     : -ENOTSUP;
		break;
	default:
		rc = -ENOTSUP;
	}
	if (rc == -ENOTSUP)
		spot_err_set(err,
			     "parquet: encoding %d is not supported for "
			     "%s values",
			     enc, pq_ptype_name(ptype));
	else if (rc == -EINVAL)
		spot_err_set(err, "parquet: corrupt page values (encoding %d)",
			     enc);
	else if (rc == -ENOMEM)
		spot_err_set(err, "parquet: out of memory decoding a page");
	return rc;
}

/* ---- encoders ---- */

int pq_plain_put(struct spot_buf *b, int ptype, const uint8_t *p, uint32_t len)
{
	uint8_t l[4];

	if (ptype != PQ_BYTE_ARRAY)
		return spot_buf_append(b, p, len);
	l[0] = (uint8_t)len;
	l[1] = (uint8_t)(len >> 8);
	l[2] = (uint8_t)(len >> 16);
	l[3] = (uint8_t)(len >> 24);
	if (spot_buf_append(b, l, 4))
		return -ENOMEM;
	return spot_buf_append(b, p, len);
}

int pq_plain_encode(struct spot_buf *b, const struct pq_vals *v)
{
	uint32_t i;

	if (v->ptype == PQ_BOOLEAN) {
		size_t bytes = ((size_t)v->n + 7) / 8, start = b->len;

		if (spot_buf_reserve(b, bytes))
			return -ENOMEM;
		memset(b->p + start, 0, bytes);
		for (i = 0; i < v->n; i++)
			if (v->fixed[i])
				b->p[start + (i >> 3)] |=
					(uint8_t)(1u << (i & 7));
		b->len += bytes;
		return 0;
	}
	if (v->ptype != PQ_BYTE_ARRAY)
		return spot_buf_append(b, v->fixed, (size_t)v->n * v->width);
	for (i = 0; i < v->n; i++)
		if (pq_plain_put(b, PQ_BYTE_ARRAY, v->ba[i].p, v->ba[i].len))
			return -ENOMEM;
	return 0;
}

int pq_dict_idx_encode(struct spot_buf *b, const uint32_t *idx, uint32_t n,
		       uint32_t dict_size)
{
	int bw = pq_bit_width(dict_size ? dict_size - 1 : 0);

	/* Width 0 is legal but some readers mishandle it. */
	if (bw == 0)
		bw = 1;

	if (spot_buf_putc(b, (uint8_t)bw))
		return -ENOMEM;
	return pq_rle_encode(b, idx, n, bw);
}

int pq_levels_encode(struct spot_buf *b, const uint32_t *lv, uint32_t n,
		     int max_level, bool v1_prefix)
{
	size_t at = b->len, body;
	int rc;

	if (!max_level)
		return 0;
	if (v1_prefix && spot_buf_append(b, "\0\0\0\0", 4))
		return -ENOMEM;
	rc = pq_rle_encode(b, lv, n, pq_bit_width((uint64_t)max_level));
	if (rc || !v1_prefix)
		return rc;
	body = b->len - at - 4;
	b->p[at] = (uint8_t)body;
	b->p[at + 1] = (uint8_t)(body >> 8);
	b->p[at + 2] = (uint8_t)(body >> 16);
	b->p[at + 3] = (uint8_t)(body >> 24);
	return 0;
}

/* The deprecated BIT_PACKED level encoding packs from the high bit down. */
static int pq_levels_bitpacked(const uint8_t *p, size_t len, int bw, uint32_t n,
			       uint32_t *out, size_t *used)
{
	size_t bytes = ((size_t)n * (size_t)bw + 7) / 8;
	uint64_t bit = 0;
	uint32_t i;

	if (bytes > len)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		uint32_t v = 0;
		int k;

		for (k = 0; k < bw; k++, bit++)
			v = v << 1 | ((p[bit >> 3] >> (7 - (bit & 7))) & 1);
		out[i] = v;
	}
	*used = bytes;
	return 0;
}

int pq_levels_decode_v1(int enc, const uint8_t *p, size_t len, int max_level,
			uint32_t n, uint32_t *out, size_t *used)
{
	int bw = pq_bit_width((uint64_t)max_level);
	uint32_t l, i;

	if (enc == PQ_ENC_BIT_PACKED) {
		if (pq_levels_bitpacked(p, len, bw, n, out, used))
			return -EINVAL;
	} else if (enc == PQ_ENC_RLE) {
		if (len < 4)
			return -EINVAL;
		l = pq_le32(p);
		if (l > len - 4 || pq_rle_decode(p + 4, l, bw, n, out))
			return -EINVAL;
		*used = (size_t)l + 4;
	} else {
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		if (out[i] > (uint32_t)max_level)
			return -EINVAL;
	return 0;
}

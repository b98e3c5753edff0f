/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_chunk.c - page walking over a column chunk, and the masked chunk
 * writer (dictionary with PLAIN fallback, compression, page headers).
 */
#include "pq_chunk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pq_codec.h"

/* Keep the dictionary only if it is this much smaller than the values. */
#define PQ_DICT_MAX_RATIO_PCT 60

/* ---- reader ---- */

void pq_chunk_rd_init(struct pq_chunk_rd *r, const struct pq_leaf *leaf,
		      int64_t codec, int64_t num_values, const uint8_t *p,
		      size_t len)
{
	memset(r, 0, sizeof(*r));
	r->leaf = leaf;
	r->codec = codec;
	r->width = pq_type_width(leaf->ptype, leaf->type_length);
	r->p = p;
	r->len = len;
	r->values_left = num_values;
	spot_arena_init(&r->dict_arena);
	spot_arena_init(&r->page_arena);
}

void pq_chunk_rd_fini(struct pq_chunk_rd *r)
{
	spot_arena_fini(&r->dict_arena);
	spot_arena_fini(&r->page_arena);
}

static int pq_rd_bad(struct spot_err *err, const char *what)
{
	spot_err_set(err, "parquet: corrupt column chunk: %s", what);
	return -EINVAL;
}

/* Decompress (src, slen) to exactly dlen bytes in a (or borrow src). */
static int pq_rd_inflate(struct pq_chunk_rd *r, struct spot_arena *a,
			 const uint8_t *src, size_t slen, size_t dlen,
			 bool compressed, const uint8_t **out,
			 struct spot_err *err)
{
	uint8_t *dst;

	if (!compressed || r->codec == 0) {
		if (slen != dlen)
			return pq_rd_bad(err, "page sizes disagree");
		*out = src;
		return 0;
	}
	dst = spot_arena_alloc(a, dlen + 1);
	if (!dst)
		return -ENOMEM;
	*out = dst;
	return pq_codec_decompress(r->codec, src, slen, dst, dlen, err);
}

static int pq_rd_dict(struct pq_chunk_rd *r, const struct pq_page_hdr *h,
		      const uint8_t *body, struct spot_err *err)
{
	const uint8_t *u;
	int rc;

	if (r->has_dict || r->seen_data)
		return pq_rd_bad(err, "misplaced dictionary page");
	if (h->encoding != PQ_ENC_PLAIN &&
	    h->encoding != PQ_ENC_PLAIN_DICTIONARY)
		return pq_rd_bad(err, "dictionary page is not PLAIN");
	rc = pq_rd_inflate(r, &r->dict_arena, body, (size_t)h->csize,
			   (size_t)h->usize, true, &u, err);
	if (rc)
		return rc;
	rc = pq_vals_decode(PQ_ENC_PLAIN, r->leaf->ptype, r->width, NULL, u,
			    (size_t)h->usize, (uint32_t)h->num_values,
			    &r->dict_arena, &r->dict, err);
	if (rc)
		return rc;
	r->has_dict = true;
	return 0;
}

/* Levels and values of a data page whose sections are at hand. */
static int pq_rd_values(struct pq_chunk_rd *r, const struct pq_page_hdr *h,
			const uint8_t *v, size_t vlen, struct pq_page *pg,
			struct spot_err *err)
{
	uint32_t i, nn = pg->num_values;

	if (pg->def) {
		nn = 0;
		for (i = 0; i < pg->num_values; i++)
			nn += pg->def[i] == (uint32_t)r->leaf->max_def;
	}
	return pq_vals_decode(h->encoding, r->leaf->ptype, r->width,
			      r->has_dict ? &r->dict : NULL, v, vlen, nn,
			      &r->page_arena, &pg->vals, err);
}

static int pq_rd_alloc_levels(struct pq_chunk_rd *r, struct pq_page *pg)
{
	size_t n = (size_t)pg->num_values * sizeof(uint32_t) + 4;

	if (r->leaf->max_def) {
		pg->def = spot_arena_alloc(&r->page_arena, n);
		if (!pg->def)
			return -ENOMEM;
	}
	if (r->leaf->max_rep) {
		pg->rep = spot_arena_alloc(&r->page_arena, n);
		if (!pg->rep)
			return -ENOMEM;
	}
	return 0;
}

static int pq_rd_v1(struct pq_chunk_rd *r, const struct pq_page_hdr *h,
		    const uint8_t *body, struct pq_page *pg,
		    struct spot_err *err)
{
	const uint8_t *u;
	size_t pos = 0, used;
	int rc;

	rc = pq_rd_inflate(r, &r->page_arena, body, (size_t)h->csize,
			   (size_t)h->usize, true, &u, err);
	if (rc)
		return rc;
	if (pg->rep) {
		if (pq_levels_decode_v1(h->rep_enc, u, (size_t)h->usize,
					r->leaf->max_rep, pg->num_values,
					pg->rep, &used))
			return pq_rd_bad(err, "bad repetition levels");
		pos += used;
	}
	if (pg->def) {
		if (pq_levels_decode_v1(
			    h->def_enc, u + pos, (size_t)h->usize - pos,
			    r->leaf->max_def, pg->num_values, pg->def, &used))
			return pq_rd_bad(err, "bad definition levels");
		pos += used;
	}
	return pq_rd_values(r, h, u + pos, (size_t)h->usize - pos, pg, err);
}

static int pq_rd_levels_v2(const uint8_t *p, size_t len, int max_level,
			   uint32_t n, uint32_t *out)
{
	uint32_t i;

	if (pq_rle_decode(p, len, pq_bit_width((uint64_t)max_level), n, out))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (out[i] > (uint32_t)max_level)
			return -EINVAL;
	return 0;
}

static int pq_rd_v2(struct pq_chunk_rd *r, const struct pq_page_hdr *h,
		    const uint8_t *body, struct pq_page *pg,
		    struct spot_err *err)
{
	size_t lv = (size_t)h->rep_len + (size_t)h->def_len;
	const uint8_t *u;
	int rc;

	if (pg->rep &&
	    pq_rd_levels_v2(body, (size_t)h->rep_len, r->leaf->max_rep,
			    pg->num_values, pg->rep))
		return pq_rd_bad(err, "bad repetition levels");
	if (pg->def &&
	    pq_rd_levels_v2(body + h->rep_len, (size_t)h->def_len,
			    r->leaf->max_def, pg->num_values, pg->def))
		return pq_rd_bad(err, "bad definition levels");
	rc = pq_rd_inflate(r, &r->page_arena, body + lv, (size_t)h->csize - lv,
			   (size_t)h->usize - lv, h->compressed, &u, err);
	if (rc)
		return rc;
	return pq_rd_values(r, h, u, (size_t)h->usize - lv, pg, err);
}

static int pq_rd_data(struct pq_chunk_rd *r, const struct pq_page_hdr *h,
		      const uint8_t *body, struct pq_page *pg,
		      struct spot_err *err)
{
	int rc;

	memset(pg, 0, sizeof(*pg));
	if ((int64_t)h->num_values > r->values_left ||
	    (uint32_t)h->num_values > PQ_MAX_PAGE_VALUES)
		return pq_rd_bad(err, "page has more values than its chunk");
	r->seen_data = true;
	pg->type = h->type;
	pg->num_values = (uint32_t)h->num_values;
	rc = pq_rd_alloc_levels(r, pg);
	if (rc)
		return rc;
	rc = h->type == PQ_PAGE_DATA ? pq_rd_v1(r, h, body, pg, err)
				     : pq_rd_v2(r, h, body, pg, err);
	if (rc)
		return rc;
	r->values_left -= h->num_values;
	return 1;
}

int pq_chunk_next(struct pq_chunk_rd *r, struct pq_page *pg,
		  struct spot_err *err)
{
	struct pq_page_hdr h;
	const uint8_t *body;
	int rc;

	spot_arena_reset(&r->page_arena);
	for (;;) {
		if (r->values_left == 0)
			return 0;
		if (r->pos >= r->len)
			return pq_rd_bad(err, "chunk ends before its values");
		rc = pq_page_hdr_parse(&r->page_arena, r->p + r->pos,
				       r->len - r->pos, &h, err);
		if (rc)
			return rc;
		body = r->p + r->pos + h.hdr_len;
		r->pos += h.hdr_len + (size_t)h.csize;
		if ((uint32_t)h.usize > PQ_MAX_PAGE_BYTES)
			return pq_rd_bad(err, "page larger than the limit");
		if (h.has_crc) {
			r->had_crc = true;
			if (pq_crc32(body, (size_t)h.csize) != h.crc)
				return pq_rd_bad(err, "page CRC mismatch");
		}
		if (h.type == PQ_PAGE_DICTIONARY) {
			rc = pq_rd_dict(r, &h, body, err);
			if (rc)
				return rc;
			continue;
		}
		if (h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2)
			return pq_rd_data(r, &h, body, pg, err);
		/* Index pages and unknown page types carry no values. */
	}
}

/* ---- writer ---- */

int pq_chunk_wr_init(struct pq_chunk_wr *w, int ptype, uint32_t width,
		     int64_t codec, bool crc, int max_def)
{
	memset(w, 0, sizeof(*w));
	w->ptype = ptype;
	w->width = width;
	w->codec = codec;
	w->crc = crc;
	w->max_def = max_def;
	w->dict_on = ptype != PQ_BOOLEAN;
	spot_buf_init(&w->dict_bytes);
	spot_buf_init(&w->plain);
	spot_buf_init(&w->dict_page);
	spot_buf_init(&w->data);
	spot_buf_init(&w->body);
	spot_buf_init(&w->comp);
	return pq_codec_check(codec, NULL) ? -ENOTSUP : 0;
}

void pq_chunk_wr_trim(struct pq_chunk_wr *w)
{
	spot_buf_fini(&w->dict_bytes);
	spot_buf_fini(&w->plain);
	spot_buf_fini(&w->body);
	spot_buf_fini(&w->comp);
	free(w->dict);
	free(w->slots);
	free(w->idx);
	free(w->def);
	free(w->rep);
	w->dict = NULL;
	w->slots = w->idx = w->def = w->rep = NULL;
	w->dict_n = w->nslots = 0;
	w->nidx = w->nlev = w->cap_idx = w->cap_lev = w->cap_rep = 0;
}

void pq_chunk_wr_fini(struct pq_chunk_wr *w)
{
	pq_chunk_wr_trim(w);
	spot_buf_fini(&w->dict_page);
	spot_buf_fini(&w->data);
	memset(w, 0, sizeof(*w));
}

static int pq_grow_u32(uint32_t **a, uint32_t *cap, uint32_t need)
{
	uint32_t ncap;
	uint32_t *na;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 1024;
	while (ncap < need) {
		if (ncap > UINT32_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	na = realloc(*a, (size_t)ncap * sizeof(**a));
	if (!na)
		return -ENOMEM;
	*a = na;
	*cap = ncap;
	return 0;
}

static uint64_t pq_hash(const uint8_t *p, uint32_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ len;
	uint32_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

static int pq_dict_rehash(struct pq_chunk_wr *w)
{
	uint32_t n = w->nslots ? w->nslots * 2 : 4096, i;
	uint32_t *s = calloc(n, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (i = 0; i < w->dict_n; i++) {
		uint32_t k = (uint32_t)w->dict[i].hash & (n - 1);

		while (s[k])
			k = (k + 1) & (n - 1);
		s[k] = i + 1;
	}
	free(w->slots);
	w->slots = s;
	w->nslots = n;
	return 0;
}

/*
 * Index of the value in the dictionary, adding it if new. -ENOSPC when the
 * dictionary is full (the caller falls back to PLAIN).
 */
static int pq_dict_index(struct pq_chunk_wr *w, const uint8_t *p, uint32_t len,
			 uint32_t *out)
{
	uint64_t h = pq_hash(p, len);
	struct pq_dict_ent *e;
	uint32_t k;

	if ((w->dict_n + 1) * 2 > w->nslots && pq_dict_rehash(w))
		return -ENOMEM;
	for (k = (uint32_t)h & (w->nslots - 1); w->slots[k];
	     k = (k + 1) & (w->nslots - 1)) {
		e = &w->dict[w->slots[k] - 1];
		/* len 0: p or the dictionary's bytes may be NULL. */
		if (e->hash == h && e->len == len &&
		    (!len || !memcmp(w->dict_bytes.p + e->off, p, len))) {
			*out = w->slots[k] - 1;
			return 0;
		}
	}
	if (w->dict_n >= PQ_DICT_MAX_ENTRIES ||
	    w->dict_bytes.len + len > PQ_DICT_MAX_BYTES)
		return -ENOSPC;
	if (!w->dict_n || (w->dict_n >= 64 && !(w->dict_n & (w->dict_n - 1)))) {
		size_t ncap = w->dict_n ? (size_t)w->dict_n * 2 : 64;
		struct pq_dict_ent *nd = realloc(w->dict, ncap * sizeof(*nd));

		if (!nd)
			return -ENOMEM;
		w->dict = nd;
	}
	e = &w->dict[w->dict_n];
	e->hash = h;
	e->off = (uint32_t)w->dict_bytes.len;
	e->len = len;
	if (spot_buf_append(&w->dict_bytes, p, len))
		return -ENOMEM;
	w->slots[k] = ++w->dict_n;
	*out = w->dict_n - 1;
	return 0;
}

void pq_chunk_wr_set_rep(struct pq_chunk_wr *w, int max_rep)
{
	w->max_rep = max_rep;
}

void pq_chunk_wr_rep(struct pq_chunk_wr *w, uint32_t rep)
{
	w->next_rep = rep;
}

static int pq_wr_level(struct pq_chunk_wr *w, uint32_t lv)
{
	if (w->max_rep) {
		if (pq_grow_u32(&w->rep, &w->cap_rep, w->nlev + 1))
			return -ENOMEM;
		w->rep[w->nlev] = w->next_rep;
		w->page_rows += w->next_rep == 0;
		w->next_rep = 0;
	}
	if (!w->max_def)
		return 0;
	if (pq_grow_u32(&w->def, &w->cap_lev, w->nlev + 1))
		return -ENOMEM;
	w->def[w->nlev] = lv;
	return 0;
}

int pq_chunk_wr_put(struct pq_chunk_wr *w, const uint8_t *p, uint32_t len)
{
	int rc;

	if (pq_wr_level(w, (uint32_t)w->max_def))
		return -ENOMEM;
	if (w->dict_on) {
		uint32_t ix;

		rc = pq_dict_index(w, p, len, &ix);
		if (rc == -ENOSPC) {
			w->dict_on = false; /* this page onwards: PLAIN */
		} else if (rc) {
			return rc;
		} else {
			if (pq_grow_u32(&w->idx, &w->cap_idx, w->nidx + 1))
				return -ENOMEM;
			w->idx[w->nidx++] = ix;
		}
	}
	rc = pq_plain_put(&w->plain, w->ptype, p, len);
	if (rc)
		return rc;
	w->nlev++;
	return 0;
}

int pq_chunk_wr_null(struct pq_chunk_wr *w, uint32_t def)
{
	if (!w->max_def || def >= (uint32_t)w->max_def)
		return -EINVAL;
	if (pq_wr_level(w, def))
		return -ENOMEM;
	w->nlev++;
	w->page_nulls++;
	return 0;
}

/* Compress body and append header + page to out. */
static int pq_wr_emit(struct pq_chunk_wr *w, struct pq_page_hdr *h,
		      size_t raw_prefix, struct spot_buf *out,
		      struct spot_err *err)
{
	size_t hdr_at;
	int rc;

	spot_buf_reset(&w->comp);
	/* v2 pages keep their levels (raw_prefix bytes) uncompressed. */
	rc = spot_buf_append(&w->comp, w->body.p, raw_prefix);
	if (!rc)
		rc = pq_codec_compress(w->codec, w->body.p + raw_prefix,
				       w->body.len - raw_prefix, &w->comp, err);
	if (rc)
		return rc;
	if (w->body.len > INT32_MAX || w->comp.len > INT32_MAX) {
		spot_err_set(err, "parquet: masked page too large");
		return -EFBIG;
	}
	h->usize = (int32_t)w->body.len;
	h->csize = (int32_t)w->comp.len;
	h->has_crc = w->crc;
	if (w->crc)
		h->crc = pq_crc32(w->comp.p, w->comp.len);
	hdr_at = out->len;
	rc = pq_page_hdr_write(out, h);
	if (!rc)
		rc = spot_buf_append(out, w->comp.p, w->comp.len);
	if (rc)
		return rc;
	w->usize += (int64_t)(out->len - hdr_at - w->comp.len + w->body.len);
	w->csize += (int64_t)(out->len - hdr_at);
	return 0;
}

static int pq_wr_values(struct pq_chunk_wr *w, bool use_dict)
{
	struct pq_vals v;

	if (use_dict)
		return pq_dict_idx_encode(&w->body, w->idx, w->nidx, w->dict_n);
	if (w->ptype != PQ_BOOLEAN)
		return spot_buf_append(&w->body, w->plain.p, w->plain.len);
	memset(&v, 0, sizeof(v));
	v.ptype = PQ_BOOLEAN;
	v.width = 1;
	v.n = (uint32_t)w->plain.len;
	v.fixed = w->plain.p;
	return pq_plain_encode(&w->body, &v);
}

int pq_chunk_wr_page(struct pq_chunk_wr *w, int page_type, struct spot_err *err)
{
	bool v2 = page_type == PQ_PAGE_DATA_V2, use_dict;
	uint32_t nn = w->nlev - w->page_nulls;
	struct pq_page_hdr h;
	size_t lv_len, rep_len = 0;
	int rc = 0;

	if (!w->dict_decided && nn) {
		/* Keep the dictionary only where it pays. */
		w->dict_decided = true;
		if (w->dict_on && (uint64_t)w->dict_n * 100 >
					  (uint64_t)nn * PQ_DICT_MAX_RATIO_PCT)
			w->dict_on = false;
	}
	use_dict = w->dict_on && w->dict_n > 0;
	spot_buf_reset(&w->body);
	if (w->max_rep)
		rc = pq_levels_encode(&w->body, w->rep, w->nlev,
				      (uint32_t)w->max_rep, !v2);
	rep_len = w->body.len;
	if (!rc)
		rc = pq_levels_encode(&w->body, w->def, w->nlev, w->max_def,
				      !v2);
	lv_len = w->body.len;
	if (!rc)
		rc = pq_wr_values(w, use_dict);
	if (rc)
		goto nomem;
	memset(&h, 0, sizeof(h));
	h.type = v2 ? PQ_PAGE_DATA_V2 : PQ_PAGE_DATA;
	h.num_values = (int32_t)w->nlev;
	h.encoding = use_dict ? PQ_ENC_RLE_DICTIONARY : PQ_ENC_PLAIN;
	h.def_enc = h.rep_enc = PQ_ENC_RLE;
	h.num_nulls = (int32_t)w->page_nulls;
	h.num_rows = (int32_t)(w->max_rep ? w->page_rows : w->nlev);
	h.rep_len = (int32_t)rep_len;
	h.def_len = (int32_t)(lv_len - rep_len);
	h.compressed = w->codec != 0;
	rc = pq_wr_emit(w, &h, v2 ? lv_len : 0, &w->data, err);
	if (rc)
		return rc;
	w->ndata[v2][use_dict]++;
	w->num_values += w->nlev;
	w->null_count += w->page_nulls;
	w->nlev = w->nidx = w->page_nulls = w->page_rows = 0;
	spot_buf_reset(&w->plain);
	return 0;
nomem:
	spot_err_set(err, "parquet: out of memory encoding a page");
	return rc;
}

int pq_chunk_wr_finish(struct pq_chunk_wr *w, struct spot_err *err)
{
	struct pq_page_hdr h;
	uint32_t i;

	if (!w->ndata[0][1] && !w->ndata[1][1])
		return 0; /* no page used the dictionary */
	spot_buf_reset(&w->body);
	for (i = 0; i < w->dict_n; i++)
		if (pq_plain_put(&w->body, w->ptype,
				 w->dict_bytes.p + w->dict[i].off,
				 w->dict[i].len)) {
			spot_err_set(err, "parquet: out of memory");
			return -ENOMEM;
		}
	memset(&h, 0, sizeof(h));
	h.type = PQ_PAGE_DICTIONARY;
	h.num_values = (int32_t)w->dict_n;
	h.encoding = PQ_ENC_PLAIN;
	return pq_wr_emit(w, &h, 0, &w->dict_page, err);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_review.c - the strings of a Parquet file that its rows do not show,
 * for the export review (view_parquet_strings, format.h): the footer's
 * key-value metadata, every entry of every dictionary page (a dictionary
 * may hold values no row refers to), and every value of a leaf inside a
 * list or map (the table reader serves those columns empty).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "pq_chunk.h"
#include "pq_meta.h"
#include "pq_thrift.h"

#define PQR_TRAILER 8

/* Every value of vals to fn: byte arrays as they are, numbers as text. */
static int pqr_vals(const struct pq_vals *v, view_string_fn fn, void *arg)
{
	char t[40];
	int rc = 0;

	for (uint32_t i = 0; i < v->n && !rc; i++) {
		const uint8_t *f =
			v->fixed ? v->fixed + (size_t)i * v->width : NULL;
		int32_t i32;
		int64_t i64;
		double d;
		float fl;

		switch (v->ptype) {
		case PQ_BYTE_ARRAY:
			rc = fn(arg, v->ba[i].p, v->ba[i].len);
			break;
		case PQ_INT32:
			memcpy(&i32, f, 4);
			rc = fn(arg, (const uint8_t *)t,
				(size_t)snprintf(t, sizeof(t), "%" PRId32,
						 i32));
			break;
		case PQ_INT64:
			memcpy(&i64, f, 8);
			rc = fn(arg, (const uint8_t *)t,
				(size_t)snprintf(t, sizeof(t), "%" PRId64,
						 i64));
			break;
		case PQ_FLOAT:
			memcpy(&fl, f, 4);
			rc = fn(arg, (const uint8_t *)t,
				(size_t)snprintf(t, sizeof(t), "%.9g",
						 (double)fl));
			break;
		case PQ_DOUBLE:
			memcpy(&d, f, 8);
			rc = fn(arg, (const uint8_t *)t,
				(size_t)snprintf(t, sizeof(t), "%.17g", d));
			break;
		case PQ_BOOLEAN:
			break;
		default: /* INT96, fixed-length bytes */
			rc = fn(arg, f, v->width);
		}
	}
	return rc;
}

/* FileMetaData.key_value_metadata (field 5): KeyValue {1: key, 2: value}. */
static int pqr_kv(const struct pq_meta *m, view_string_fn fn, void *arg)
{
	const struct pq_tval *kv = pq_tstruct_get(m->root, 5);
	int rc = 0;

	if (!kv || kv->type != PQ_TT_LIST || kv->etype != PQ_TT_STRUCT)
		return 0;
	for (uint32_t i = 0; i < kv->n && !rc; i++) {
		for (int16_t id = 1; id <= 2 && !rc; id++) {
			const struct pq_tval *s =
				pq_tstruct_get(kv->u.elems[i].u.st, id);

			if (s && s->type == PQ_TT_BINARY)
				rc = fn(arg, s->u.bin, s->n);
		}
	}
	return rc;
}

static int pqr_chunk(const uint8_t *p, size_t len, const struct pq_leaf *l,
		     const struct pq_chunk *c, view_string_fn fn, void *arg,
		     struct spot_err *err)
{
	struct pq_chunk_rd r;
	struct pq_page pg;
	bool dict_done = false;
	int rc;

	if (c->start < 0 || c->csize < 0 || (uint64_t)c->start > len ||
	    (uint64_t)c->csize > len - (uint64_t)c->start)
		return -EINVAL;
	if (l->max_rep == 0 && c->dict_off < 0)
		return 0; /* flat, no dictionary: its rows show it all */
	if (c->num_values <= 0)
		return c->dict_off < 0 ? 0 : -EINVAL; /* a dictionary unread */
	pq_chunk_rd_init(&r, l, c->codec, c->num_values, p + c->start,
			 (size_t)c->csize);
	while ((rc = pq_chunk_next(&r, &pg, err)) == 1) {
		if (r.has_dict && !dict_done) { /* read before the page */
			dict_done = true;
			rc = pqr_vals(&r.dict, fn, arg);
			if (rc)
				break;
		}
		if (l->max_rep == 0)
			break; /* flat: the dictionary was all */
		rc = pqr_vals(&pg.vals, fn, arg);
		if (rc)
			break;
	}
	pq_chunk_rd_fini(&r);
	return rc < 0 ? rc : 0;
}

int view_parquet_strings(const uint8_t *p, size_t len, view_string_fn fn,
			 void *arg, struct spot_err *err)
{
	struct pq_meta *m = NULL;
	uint32_t flen;
	int rc;

	if (len < 4 + PQR_TRAILER || memcmp(p + len - 4, "PAR1", 4))
		return -EINVAL;
	flen = (uint32_t)p[len - 8] | (uint32_t)p[len - 7] << 8 |
	       (uint32_t)p[len - 6] << 16 | (uint32_t)p[len - 5] << 24;
	if (!flen || flen > len - 4 - PQR_TRAILER)
		return -EINVAL;
	rc = pq_meta_parse(p + len - PQR_TRAILER - flen, flen,
			   len - PQR_TRAILER - flen, &m, err);
	if (rc)
		return rc;
	rc = pqr_kv(m, fn, arg);
	for (size_t g = 0; !rc && g < m->nrgs; g++)
		for (size_t c = 0; !rc && c < m->nleaves; c++)
			rc = pqr_chunk(p, len, &m->leaves[c],
				       &m->rgs[g].chunks[c], fn, arg, err);
	pq_meta_free(m);
	return rc;
}

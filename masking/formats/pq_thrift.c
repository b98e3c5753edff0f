/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_thrift.c - Thrift compact protocol: hostile-input reader into a field
 * tree, writer from a tree, and small tree-editing helpers.
 */
#include "pq_thrift.h"

#include <errno.h>
#include <string.h>

/* ---- reader ---- */

struct pq_trd {
	const uint8_t *p;
	size_t len;
	size_t pos;
	struct spot_arena *a;
	struct spot_err *err;
};

static int pq_trd_fail(struct pq_trd *r, const char *what)
{
	spot_err_set(r->err, "parquet: malformed thrift at byte %zu: %s",
		     r->pos, what);
	return -EINVAL;
}

static size_t pq_trd_left(const struct pq_trd *r)
{
	return r->len - r->pos;
}

static int pq_trd_varint(struct pq_trd *r, uint64_t *v)
{
	uint64_t x = 0;
	unsigned shift = 0;

	for (;;) {
		uint8_t c;

		if (r->pos >= r->len)
			return pq_trd_fail(r, "truncated varint");
		c = r->p[r->pos++];
		if (shift == 63 && (c & 0x7e))
			return pq_trd_fail(r, "varint overflow");
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
		shift += 7;
		if (shift > 63)
			return pq_trd_fail(r, "varint too long");
	}
	*v = x;
	return 0;
}

static int pq_trd_zigzag(struct pq_trd *r, int64_t *v)
{
	uint64_t u;
	int rc = pq_trd_varint(r, &u);

	if (rc)
		return rc;
	*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return 0;
}

static int pq_trd_value(struct pq_trd *r, uint8_t type, struct pq_tval *v,
			int depth);

static int pq_trd_struct(struct pq_trd *r, struct pq_tstruct **out, int depth)
{
	struct pq_tstruct *st;
	int16_t last = 0;
	int rc;

	if (depth >= PQ_THRIFT_MAX_DEPTH)
		return pq_trd_fail(r, "nesting too deep");
	st = pq_tstruct_new(r->a);
	if (!st)
		return -ENOMEM;
	for (;;) {
		struct pq_tval v;
		uint8_t b, type;
		int64_t id;

		if (r->pos >= r->len)
			return pq_trd_fail(r, "truncated struct");
		b = r->p[r->pos++];
		type = b & 0x0f;
		if (type == PQ_TT_STOP) {
			if (b != 0)
				return pq_trd_fail(r, "bad stop byte");
			break;
		}
		if (b >> 4) {
			id = last + (b >> 4);
		} else {
			rc = pq_trd_zigzag(r, &id);
			if (rc)
				return rc;
		}
		if (id < INT16_MIN || id > INT16_MAX)
			return pq_trd_fail(r, "field id out of range");
		memset(&v, 0, sizeof(v));
		if (type == PQ_TT_BOOL || type == PQ_TT_BOOL_FALSE) {
			v.type = PQ_TT_BOOL;
			v.u.i = type == PQ_TT_BOOL;
		} else {
			rc = pq_trd_value(r, type, &v, depth + 1);
			if (rc)
				return rc;
		}
		last = (int16_t)id;
		/* Appended in wire order; duplicates are kept as they came. */
		if (st->n == st->cap) {
			uint32_t ncap = st->cap ? st->cap * 2 : 8;
			struct pq_tfield *nf;

			nf = spot_arena_alloc(r->a, ncap * sizeof(*nf));
			if (!nf)
				return -ENOMEM;
			if (st->n)
				memcpy(nf, st->f, st->n * sizeof(*nf));
			st->f = nf;
			st->cap = ncap;
		}
		st->f[st->n].id = (int16_t)id;
		st->f[st->n].v = v;
		st->n++;
	}
	*out = st;
	return 0;
}

static int pq_trd_elems(struct pq_trd *r, struct pq_tval *v, uint64_t count,
			int depth)
{
	uint64_t i, total = v->type == PQ_TT_MAP ? count * 2 : count;

	/* Every element takes at least one byte: bounds the allocation. */
	if (count > pq_trd_left(r) || count > UINT32_MAX / 2)
		return pq_trd_fail(r, "container longer than the input");
	v->n = (uint32_t)count;
	v->u.elems = NULL;
	if (!total)
		return 0;
	v->u.elems = spot_arena_alloc(r->a, total * sizeof(struct pq_tval));
	if (!v->u.elems)
		return -ENOMEM;
	memset(v->u.elems, 0, total * sizeof(struct pq_tval));
	for (i = 0; i < total; i++) {
		uint8_t t = v->type != PQ_TT_MAP ? v->etype
			    : (i & 1)		 ? v->vtype
						 : v->etype;
		int rc = pq_trd_value(r, t, &v->u.elems[i], depth);

		if (rc)
			return rc;
	}
	return 0;
}

static int pq_trd_container(struct pq_trd *r, uint8_t type, struct pq_tval *v,
			    int depth)
{
	uint64_t count;
	uint8_t b;
	int rc;

	if (depth >= PQ_THRIFT_MAX_DEPTH)
		return pq_trd_fail(r, "nesting too deep");
	if (type == PQ_TT_MAP) {
		rc = pq_trd_varint(r, &count);
		if (rc)
			return rc;
		v->etype = v->vtype = 0;
		if (count) {
			if (r->pos >= r->len)
				return pq_trd_fail(r, "truncated map");
			b = r->p[r->pos++];
			v->etype = b >> 4;
			v->vtype = b & 0x0f;
		}
	} else {
		if (r->pos >= r->len)
			return pq_trd_fail(r, "truncated list");
		b = r->p[r->pos++];
		v->etype = b & 0x0f;
		count = b >> 4;
		if (count == 15) {
			rc = pq_trd_varint(r, &count);
			if (rc)
				return rc;
		}
	}
	if (v->etype == PQ_TT_BOOL_FALSE)
		v->etype = PQ_TT_BOOL;
	if (count && (v->etype == PQ_TT_STOP || v->etype > PQ_TT_STRUCT ||
		      v->vtype > PQ_TT_STRUCT ||
		      (type == PQ_TT_MAP && v->vtype == PQ_TT_STOP)))
		return pq_trd_fail(r, "bad element type");
	if (v->vtype == PQ_TT_BOOL_FALSE)
		v->vtype = PQ_TT_BOOL;
	return pq_trd_elems(r, v, count, depth + 1);
}

static int pq_trd_value(struct pq_trd *r, uint8_t type, struct pq_tval *v,
			int depth)
{
	uint64_t u;
	int rc;

	v->type = type;
	switch (type) {
	case PQ_TT_BOOL:
	case PQ_TT_BOOL_FALSE: /* list/map element: one byte */
	case PQ_TT_I8:
		if (r->pos >= r->len)
			return pq_trd_fail(r, "truncated byte");
		if (type == PQ_TT_I8) {
			v->u.i = (int8_t)r->p[r->pos++];
		} else {
			v->type = PQ_TT_BOOL;
			v->u.i = r->p[r->pos++] == 1;
		}
		return 0;
	case PQ_TT_I16:
	case PQ_TT_I32:
	case PQ_TT_I64:
		rc = pq_trd_zigzag(r, &v->u.i);
		if (rc)
			return rc;
		if ((type == PQ_TT_I16 &&
		     (v->u.i < INT16_MIN || v->u.i > INT16_MAX)) ||
		    (type == PQ_TT_I32 &&
		     (v->u.i < INT32_MIN || v->u.i > INT32_MAX)))
			return pq_trd_fail(r, "integer out of range");
		return 0;
	case PQ_TT_DOUBLE:
		if (pq_trd_left(r) < 8)
			return pq_trd_fail(r, "truncated double");
		memcpy(&v->u.d, r->p + r->pos, 8); /* little-endian hosts */
		r->pos += 8;
		return 0;
	case PQ_TT_BINARY:
		rc = pq_trd_varint(r, &u);
		if (rc)
			return rc;
		if (u > pq_trd_left(r))
			return pq_trd_fail(r, "binary longer than the input");
		v->n = (uint32_t)u;
		v->u.bin = r->p + r->pos;
		r->pos += u;
		return 0;
	case PQ_TT_LIST:
	case PQ_TT_SET:
	case PQ_TT_MAP:
		return pq_trd_container(r, type, v, depth);
	case PQ_TT_STRUCT:
		return pq_trd_struct(r, &v->u.st, depth);
	default:
		return pq_trd_fail(r, "unknown type");
	}
}

int pq_thrift_read(struct spot_arena *a, const uint8_t *p, size_t len,
		   struct pq_tstruct **out, size_t *used, struct spot_err *err)
{
	struct pq_trd r = { .p = p, .len = len, .pos = 0, .a = a, .err = err };
	struct pq_tstruct *st;
	int rc = pq_trd_struct(&r, &st, 0);

	if (rc == -ENOMEM)
		spot_err_set(err, "parquet: out of memory parsing thrift");
	if (rc)
		return rc;
	*out = st;
	if (used)
		*used = r.pos;
	return 0;
}

/* ---- writer ---- */

int pq_uvarint_put(struct spot_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n] = v & 0x7f;
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	return spot_buf_append(b, tmp, n);
}

static int pq_twr_zigzag(struct spot_buf *b, int64_t v)
{
	return pq_uvarint_put(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static int pq_twr_struct(struct spot_buf *b, const struct pq_tstruct *st,
			 int depth);

static int pq_twr_value(struct spot_buf *b, const struct pq_tval *v, int depth)
{
	uint32_t i, total;
	int rc = 0;

	if (depth >= PQ_THRIFT_MAX_DEPTH)
		return -EINVAL;
	switch (v->type) {
	case PQ_TT_BOOL:
		return spot_buf_putc(b, v->u.i ? 1 : 2);
	case PQ_TT_I8:
		return spot_buf_putc(b, (uint8_t)v->u.i);
	case PQ_TT_I16:
	case PQ_TT_I32:
	case PQ_TT_I64:
		return pq_twr_zigzag(b, v->u.i);
	case PQ_TT_DOUBLE:
		return spot_buf_append(b, &v->u.d, 8);
	case PQ_TT_BINARY:
		rc = pq_uvarint_put(b, v->n);
		return rc ? rc : spot_buf_append(b, v->u.bin, v->n);
	case PQ_TT_STRUCT:
		return pq_twr_struct(b, v->u.st, depth + 1);
	case PQ_TT_MAP:
		rc = pq_uvarint_put(b, v->n);
		if (!rc && v->n)
			rc = spot_buf_putc(b,
					   (uint8_t)(v->etype << 4 | v->vtype));
		total = v->n * 2;
		break;
	case PQ_TT_LIST:
	case PQ_TT_SET:
		if (v->n < 15) {
			rc = spot_buf_putc(b, (uint8_t)(v->n << 4 | v->etype));
		} else {
			rc = spot_buf_putc(b, (uint8_t)(0xf0 | v->etype));
			if (!rc)
				rc = pq_uvarint_put(b, v->n);
		}
		total = v->n;
		break;
	default:
		return -EINVAL;
	}
	for (i = 0; !rc && i < total; i++)
		rc = pq_twr_value(b, &v->u.elems[i], depth + 1);
	return rc;
}

static int pq_twr_struct(struct spot_buf *b, const struct pq_tstruct *st,
			 int depth)
{
	int16_t last = 0;
	uint32_t i;
	int rc = 0;

	if (depth >= PQ_THRIFT_MAX_DEPTH)
		return -EINVAL;
	for (i = 0; !rc && i < st->n; i++) {
		const struct pq_tfield *f = &st->f[i];
		uint8_t t = f->v.type;
		int delta = f->id - last;

		if (t == PQ_TT_BOOL && !f->v.u.i)
			t = PQ_TT_BOOL_FALSE;
		if (delta > 0 && delta <= 15) {
			rc = spot_buf_putc(b, (uint8_t)(delta << 4 | t));
		} else {
			rc = spot_buf_putc(b, t);
			if (!rc)
				rc = pq_twr_zigzag(b, f->id);
		}
		last = f->id;
		if (!rc && f->v.type != PQ_TT_BOOL)
			rc = pq_twr_value(b, &f->v, depth);
	}
	return rc ? rc : spot_buf_putc(b, PQ_TT_STOP);
}

int pq_thrift_write(struct spot_buf *b, const struct pq_tstruct *st)
{
	return pq_twr_struct(b, st, 0);
}

/* ---- tree helpers ---- */

struct pq_tstruct *pq_tstruct_new(struct spot_arena *a)
{
	struct pq_tstruct *st = spot_arena_alloc(a, sizeof(*st));

	if (st)
		memset(st, 0, sizeof(*st));
	return st;
}

static int pq_tval_clone(struct spot_arena *a, struct pq_tval *dst,
			 const struct pq_tval *src)
{
	uint32_t i, total;

	*dst = *src;
	if (src->type == PQ_TT_STRUCT) {
		dst->u.st = pq_tstruct_clone(a, src->u.st);
		return dst->u.st ? 0 : -ENOMEM;
	}
	if (src->type != PQ_TT_LIST && src->type != PQ_TT_SET &&
	    src->type != PQ_TT_MAP)
		return 0;
	total = src->type == PQ_TT_MAP ? src->n * 2 : src->n;
	if (!total)
		return 0;
	dst->u.elems = spot_arena_alloc(a, total * sizeof(struct pq_tval));
	if (!dst->u.elems)
		return -ENOMEM;
	for (i = 0; i < total; i++)
		if (pq_tval_clone(a, &dst->u.elems[i], &src->u.elems[i]))
			return -ENOMEM;
	return 0;
}

struct pq_tstruct *pq_tstruct_clone(struct spot_arena *a,
				    const struct pq_tstruct *st)
{
	struct pq_tstruct *c = pq_tstruct_new(a);
	uint32_t i;

	if (!c)
		return NULL;
	if (!st->n)
		return c;
	c->f = spot_arena_alloc(a, st->n * sizeof(*c->f));
	if (!c->f)
		return NULL;
	c->n = c->cap = st->n;
	for (i = 0; i < st->n; i++) {
		c->f[i].id = st->f[i].id;
		if (pq_tval_clone(a, &c->f[i].v, &st->f[i].v))
			return NULL;
	}
	return c;
}

struct pq_tval *pq_tstruct_get(const struct pq_tstruct *st, int16_t id)
{
	uint32_t i;

	for (i = 0; i < st->n; i++)
		if (st->f[i].id == id)
			return &st->f[i].v;
	return NULL;
}

void pq_tstruct_del(struct pq_tstruct *st, int16_t id)
{
	uint32_t i, j = 0;

	for (i = 0; i < st->n; i++)
		if (st->f[i].id != id)
			st->f[j++] = st->f[i];
	st->n = j;
}

void pq_tstruct_keep_only(struct pq_tstruct *st, const int16_t *keep,
			  size_t nkeep)
{
	uint32_t i, j = 0;
	size_t k;

	for (i = 0; i < st->n; i++) {
		for (k = 0; k < nkeep; k++)
			if (keep[k] == st->f[i].id)
				break;
		if (k < nkeep)
			st->f[j++] = st->f[i];
	}
	st->n = j;
}

int pq_tstruct_set(struct spot_arena *a, struct pq_tstruct *st, int16_t id,
		   const struct pq_tval *v)
{
	struct pq_tval *old = pq_tstruct_get(st, id);
	uint32_t i, at;

	if (old) {
		*old = *v;
		return 0;
	}
	if (st->n == st->cap) {
		uint32_t ncap = st->cap ? st->cap * 2 : 8;
		struct pq_tfield *nf = spot_arena_alloc(a, ncap * sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		if (st->n)
			memcpy(nf, st->f, st->n * sizeof(*nf));
		st->f = nf;
		st->cap = ncap;
	}
	for (at = 0; at < st->n && st->f[at].id < id; at++)
		;
	for (i = st->n; i > at; i--)
		st->f[i] = st->f[i - 1];
	st->f[at].id = id;
	st->f[at].v = *v;
	st->n++;
	return 0;
}

int pq_tstruct_set_int(struct spot_arena *a, struct pq_tstruct *st, int16_t id,
		       enum pq_ttype type, int64_t v)
{
	struct pq_tval t;

	memset(&t, 0, sizeof(t));
	t.type = type;
	t.u.i = v;
	return pq_tstruct_set(a, st, id, &t);
}

int pq_tstruct_set_bin(struct spot_arena *a, struct pq_tstruct *st, int16_t id,
		       const void *p, size_t len)
{
	struct pq_tval t;

	if (len > UINT32_MAX)
		return -EINVAL;
	memset(&t, 0, sizeof(t));
	t.type = PQ_TT_BINARY;
	t.n = (uint32_t)len;
	t.u.bin = len ? spot_arena_dup(a, p, len) : (const uint8_t *)"";
	if (!t.u.bin)
		return -ENOMEM;
	return pq_tstruct_set(a, st, id, &t);
}

int pq_tstruct_int(const struct pq_tstruct *st, int16_t id, int64_t *v)
{
	const struct pq_tval *t = pq_tstruct_get(st, id);

	if (!t)
		return -ENOENT;
	switch (t->type) {
	case PQ_TT_BOOL:
	case PQ_TT_I8:
	case PQ_TT_I16:
	case PQ_TT_I32:
	case PQ_TT_I64:
		*v = t->u.i;
		return 0;
	default:
		return -EINVAL;
	}
}

struct pq_tval pq_tval_struct(struct pq_tstruct *st)
{
	struct pq_tval v;

	memset(&v, 0, sizeof(v));
	v.type = PQ_TT_STRUCT;
	v.u.st = st;
	return v;
}

int pq_tval_list(struct spot_arena *a, struct pq_tval *out, enum pq_ttype etype,
		 uint32_t n)
{
	memset(out, 0, sizeof(*out));
	out->type = PQ_TT_LIST;
	out->etype = etype;
	out->n = n;
	if (!n)
		return 0;
	out->u.elems = spot_arena_alloc(a, (size_t)n * sizeof(struct pq_tval));
	if (!out->u.elems)
		return -ENOMEM;
	memset(out->u.elems, 0, (size_t)n * sizeof(struct pq_tval));
	return 0;
}

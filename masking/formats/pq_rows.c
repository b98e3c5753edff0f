/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_rows.c - reading the flat columns of a row group in step (the cursor
 * shared by the row source and the view builder), and the Parquet row
 * source for the view pipeline.
 *
 * Columns page independently, so a batch may span page boundaries of some
 * columns. Decoded values live in the page arena of their column's reader,
 * which the next page replaces: before a column loads another page in the
 * middle of a batch, the values the batch already took from the old page
 * are copied into the batch's src_arena.
 */
#include "pq_rows.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pq_codec.h"
#include "pq_value.h"
#include "pq_view_i.h"

/* ---- row-group cursor ---- */

static int pq_cc_open(struct pq_rgcur *c, int fd, size_t col,
		      struct spot_err *err)
{
	const struct pq_file *f = c->f;
	const struct pq_chunk *ch = &f->m->rgs[c->g].chunks[col];
	struct pq_ccur *cc = &c->cc[col];
	int rc;

	cc->leaf = &f->m->leaves[col];
	if (ch->num_values != f->m->rgs[c->g].num_rows) {
		spot_err_set(err,
			     "parquet: row group %zu: column \"%s\" has %lld "
			     "values for %lld rows",
			     c->g, cc->leaf->path, (long long)ch->num_values,
			     (long long)f->m->rgs[c->g].num_rows);
		return -EINVAL;
	}
	rc = pq_codec_check(ch->codec, err);
	if (rc)
		return rc;
	cc->raw = malloc(ch->csize ? (size_t)ch->csize : 1);
	cc->rv = malloc(c->cap * sizeof(*cc->rv));
	cc->brk = malloc(c->cap);
	if (!cc->raw || !cc->rv || !cc->brk)
		return -ENOMEM;
	rc = pq_pread_full(fd, cc->raw, (size_t)ch->csize, (uint64_t)ch->start);
	if (rc) {
		spot_err_set(err, "parquet: cannot read a column chunk: %s",
			     strerror(-rc));
		return rc;
	}
	pq_chunk_rd_init(&cc->rd, cc->leaf, ch->codec, ch->num_values, cc->raw,
			 (size_t)ch->csize);
	cc->open = true;
	cc->last_type = PQ_PAGE_DATA;
	return 0;
}

static void pq_cc_close(struct pq_ccur *cc)
{
	if (cc->open)
		pq_chunk_rd_fini(&cc->rd);
	free(cc->raw);
	free(cc->rv);
	free(cc->brk);
	memset(cc, 0, sizeof(*cc));
}

/* Load the next non-empty data page; running out is an error here. */
static int pq_cc_page(struct pq_ccur *cc, struct spot_err *err)
{
	int rc;

	for (;;) {
		rc = pq_chunk_next(&cc->rd, &cc->pg, err);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			spot_err_set(err,
				     "parquet: column \"%s\" has fewer rows "
				     "than its row group",
				     cc->leaf->path);
			return -EINVAL;
		}
		if (cc->pg.num_values)
			break;
	}
	cc->have_page = true;
	cc->last_type = cc->pg.type;
	cc->pos = cc->vi = 0;
	return 0;
}

void pq_rgcur_close(struct pq_rgcur *c)
{
	size_t i;

	for (i = 0; c->cc && i < c->f->m->nleaves; i++)
		pq_cc_close(&c->cc[i]);
	free(c->cc);
	c->cc = NULL;
}

int pq_rgcur_open(struct pq_rgcur *c, const struct pq_file *f, int fd, size_t g,
		  uint32_t cap, const bool *want, struct spot_err *err)
{
	size_t i;
	int rc = -ENOMEM;

	memset(c, 0, sizeof(*c));
	c->f = f;
	c->g = g;
	c->cap = cap ? cap : 1;
	c->rows_left = (uint64_t)f->m->rgs[g].num_rows;
	c->cc = calloc(f->m->nleaves ? f->m->nleaves : 1, sizeof(*c->cc));
	if (!c->cc)
		goto fail;
	rc = 0;
	for (i = 0; i < f->m->nleaves; i++) {
		if (f->m->leaves[i].max_rep > 0 || (want && !want[i]))
			continue;
		rc = pq_cc_open(c, fd, i, err);
		/* The first page brings the dictionary (pq_build.c's cue). */
		if (!rc && c->rows_left)
			rc = pq_cc_page(&c->cc[i], err);
		if (rc)
			goto fail;
	}
	return 0;
fail:
	if (rc == -ENOMEM)
		spot_err_set(err, "parquet: out of memory reading a row group");
	pq_rgcur_close(c);
	return rc;
}

/* Copy rows [from, to) of cc out of the page about to be replaced. */
static int pq_cc_detach(struct pq_ccur *cc, struct spot_arena *a, uint32_t from,
			uint32_t to)
{
	uint32_t r;

	for (r = from; r < to; r++) {
		struct pq_rv *v = &cc->rv[r];

		if (v->def != (uint32_t)cc->leaf->max_def || !v->len)
			continue;
		v->p = spot_arena_dup(a, v->p, v->len);
		if (!v->p)
			return -ENOMEM;
	}
	return 0;
}

/* Take rows [*r, n) from the current page, as many as it has. */
static int pq_cc_take(struct pq_ccur *cc, uint32_t *r, uint32_t n)
{
	const struct pq_vals *v = &cc->pg.vals;
	uint32_t max_def = (uint32_t)cc->leaf->max_def;
	uint32_t left = cc->pg.num_values - cc->pos;
	uint32_t end = n - *r < left ? n : *r + left, i = *r;

	for (; i < end; i++, cc->pos++) {
		struct pq_rv *o = &cc->rv[i];

		o->def = cc->pg.def ? cc->pg.def[cc->pos] : max_def;
		cc->brk[i] = 0;
		if (o->def != max_def) {
			o->p = NULL;
			o->len = 0;
			continue;
		}
		if (cc->vi >= v->n)
			return -EINVAL;
		if (v->ba) {
			o->p = v->ba[cc->vi].p;
			o->len = v->ba[cc->vi].len;
		} else {
			o->p = v->fixed + (size_t)cc->vi * v->width;
			o->len = v->width;
		}
		cc->vi++;
	}
	*r = end;
	if (cc->pos == cc->pg.num_values) {
		cc->brk[end - 1] = (uint8_t)(cc->pg.type + 1);
		cc->have_page = false;
	}
	return 0;
}

static int pq_cc_fill(struct pq_ccur *cc, struct spot_arena *a, uint32_t n,
		      struct spot_err *err)
{
	uint32_t r = 0, from = 0;
	int rc;

	while (r < n) {
		if (!cc->have_page) {
			if (pq_cc_detach(cc, a, from, r))
				return -ENOMEM;
			rc = pq_cc_page(cc, err);
			if (rc)
				return rc;
			from = r;
		}
		if (pq_cc_take(cc, &r, n)) {
			spot_err_set(err,
				     "parquet: column \"%s\": page has fewer "
				     "values than its levels say",
				     cc->leaf->path);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- text cells, fast paths ---- */

#define PQ_NUM_MAX 48 /* room for any text made below */

static const int64_t pq_per_sec[] = { 1000, 1000000, 1000000000 };

/* Write the decimal digits of u ending just before end; returns start. */
static char *pq_put_u64(char *end, uint64_t u)
{
	do {
		*--end = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	return end;
}

/* n digits of v, zero-padded, at p. */
static void pq_put_fixed(char *p, uint64_t v, int n)
{
	while (n--) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* "YYYY-MM-DD" for years 0..9999; -1 outside (left to pq_value.c). */
static int pq_put_date(char *p, int64_t days)
{
	int64_t y;
	unsigned m, d;

	if (days < -719528 || days > 2932896)
		return -1;
	spot_civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		return -1;
	pq_put_fixed(p, (uint64_t)y, 4);
	p[4] = '-';
	pq_put_fixed(p + 5, m, 2);
	p[7] = '-';
	pq_put_fixed(p + 8, d, 2);
	return 10;
}

static int pq_put_ts(char *p, int64_t v, int unit)
{
	int64_t per_day = 86400 * pq_per_sec[unit], days = v / per_day;
	int64_t tod = v % per_day, s;
	int k, nd = 3 * (unit + 1);

	if (tod < 0) {
		tod += per_day;
		days--;
	}
	k = pq_put_date(p, days);
	if (k < 0)
		return -1;
	s = tod / pq_per_sec[unit];
	p[k++] = ' ';
	pq_put_fixed(p + k, (uint64_t)(s / 3600), 2);
	p[k + 2] = ':';
	pq_put_fixed(p + k + 3, (uint64_t)(s / 60 % 60), 2);
	p[k + 5] = ':';
	pq_put_fixed(p + k + 6, (uint64_t)(s % 60), 2);
	p[k + 8] = '.';
	pq_put_fixed(p + k + 9, (uint64_t)(tod % pq_per_sec[unit]), nd);
	return k + 9 + nd;
}

/* Decimal text of v with scale digits after the point (0..18). */
static int pq_put_dec(char *p, int64_t v, int32_t scale)
{
	char dig[PQ_NUM_MAX], *e = dig + sizeof(dig), *s;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	int nd, k = 0, i;

	s = pq_put_u64(e, u);
	while (e - s <= scale)
		*--s = '0';
	nd = (int)(e - s);
	if (v < 0)
		p[k++] = '-';
	for (i = 0; i < nd; i++) {
		if (nd - i == scale)
			p[k++] = '.';
		p[k++] = s[i];
	}
	return k;
}

static int64_t pq_fixed_i64(const struct pq_leaf *l, const uint8_t *p)
{
	int32_t v32;
	int64_t v64;

	if (l->ptype == PQ_INT32) {
		memcpy(&v32, p, 4);
		return v32;
	}
	memcpy(&v64, p, 8);
	return v64;
}

/* Text of the common integer-based types into p; -1 for the others. */
static int pq_put_num(const struct pq_leaf *l, const uint8_t *v, uint32_t len,
		      char *p, uint8_t *type)
{
	int64_t x;
	char *s;

	if ((l->ptype != PQ_INT32 || len != 4) &&
	    (l->ptype != PQ_INT64 || len != 8))
		return -1;
	x = pq_fixed_i64(l, v);
	switch (l->ltype) {
	case PQ_LT_NONE:
	case PQ_LT_INT:
		*type = PIPE_INT;
		s = pq_put_u64(p + PQ_NUM_MAX,
			       x < 0 ? -(uint64_t)x : (uint64_t)x);
		if (x < 0)
			*--s = '-';
		memmove(p, s, (size_t)(p + PQ_NUM_MAX - s));
		return (int)(p + PQ_NUM_MAX - s);
	case PQ_LT_DECIMAL:
		*type = PIPE_REAL;
		return l->scale >= 0 && l->scale <= 18
			       ? pq_put_dec(p, x, l->scale)
			       : -1;
	case PQ_LT_DATE:
		*type = PIPE_TEXT;
		return l->ptype == PQ_INT32 ? pq_put_date(p, x) : -1;
	case PQ_LT_TIMESTAMP:
		*type = PIPE_TEXT;
		return l->unit >= PQ_MILLIS && l->unit <= PQ_NANOS
			       ? pq_put_ts(p, x, l->unit)
			       : -1;
	default:
		return -1;
	}
}

static const uint64_t pq_pow5[] = {
	1ull,
	5ull,
	25ull,
	125ull,
	625ull,
	3125ull,
	15625ull,
	78125ull,
	390625ull,
	1953125ull,
	9765625ull,
	48828125ull,
	244140625ull,
	1220703125ull,
	6103515625ull,
	30517578125ull,
	152587890625ull,
	762939453125ull,
	3814697265625ull,
	19073486328125ull,
	95367431640625ull,
};

/*
 * printf's "%.*g" (precision prec, 9 or 17) of d, computed exactly for
 * 1e-4 <= |d| < 1e16 and 0: d is m * 2^e, so d * 10^k = m * 5^k * 2^(k+e)
 * is an integer shift of a 128-bit product, rounded half to even like
 * glibc. -1 outside that range (left to snprintf).
 */
static int pq_put_g(char *p, double d, int prec)
{
	static const double lim[] = {
		1e-4, 1e-3, 1e-2, 1e-1, 1,    1e1,  1e2,  1e3,	1e4,  1e5, 1e6,
		1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16
	};
	unsigned __int128 q, r;
	char dig[20];
	int x, k, e, sh, n = 0, sig, i;
	double a = d < 0 ? -d : d;
	uint64_t bits, m, lo, hi, u;

	memcpy(&bits, &d, sizeof(bits));
	if (bits >> 63)
		p[n++] = '-';
	if (a == 0) {
		p[n++] = '0';
		return n;
	}
	if (!(a >= lim[0] && a < lim[20]))
		return -1;
	m = (bits & ((1ull << 52) - 1)) | (1ull << 52);
	e = (int)((bits >> 52) & 0x7ff) - 1075;
	for (x = -4; x < 15 && a >= lim[x + 5]; x++)
		;
	if (x > prec - 1)
		return -1;
	for (lo = 1, i = 1; i < prec; i++)
		lo *= 10;
	hi = lo * 10;
	for (;;) { /* q = round(d * 10^(prec - 1 - x)), prec digits */
		k = prec - 1 - x; /* 0 <= k <= prec + 3 <= 20 */
		q = (unsigned __int128)m * pq_pow5[k];
		sh = -(k + e);
		if (sh <= 0) {
			q <<= -sh;
		} else {
			r = q & (((unsigned __int128)1 << sh) - 1);
			q >>= sh;
			if (r > (unsigned __int128)1 << (sh - 1) ||
			    (r == (unsigned __int128)1 << (sh - 1) && (q & 1)))
				q++;
		}
		if (q >= hi)
			x++;
		else if (q < lo)
			x--;
		else
			break;
		if (x < -4 || x > prec - 1)
			return -1;
	}
	for (u = (uint64_t)q, i = prec - 1; i >= 0; i--, u /= 10)
		dig[i] = (char)('0' + (int)(u % 10));
	for (sig = prec; sig > 1 && dig[sig - 1] == '0'; sig--)
		;
	if (x < 0) {
		p[n++] = '0';
		p[n++] = '.';
		for (i = -1; i > x; i--)
			p[n++] = '0';
		memcpy(p + n, dig, (size_t)sig);
		return n + sig;
	}
	memcpy(p + n, dig, (size_t)x + 1);
	n += x + 1;
	if (sig > x + 1) {
		p[n++] = '.';
		memcpy(p + n, dig + x + 1, (size_t)(sig - x - 1));
		n += sig - x - 1;
	}
	return n;
}

/* FLOAT and DOUBLE: exact fast path, else pq_value.c's snprintf. */
static int pq_real_cell(const struct pq_leaf *l, const uint8_t *v, uint32_t len,
			struct spot_arena *a, struct pipe_cell *out)
{
	float f;
	double d;
	char *p = spot_arena_alloc(a, PQ_NUM_MAX);
	int k;

	if (!p)
		return -ENOMEM;
	if (l->ptype == PQ_FLOAT && len == 4) {
		memcpy(&f, v, 4);
		k = pq_put_g(p, (double)f, 9);
	} else if (l->ptype == PQ_DOUBLE && len == 8) {
		memcpy(&d, v, 8);
		k = pq_put_g(p, d, 17);
	} else {
		k = -1;
	}
	if (k < 0)
		return pq_value_to_cell(l, v, len, a, out);
	out->type = PIPE_REAL;
	out->p = (const uint8_t *)p;
	out->len = (size_t)k;
	return 0;
}

int pq_rows_cell(const struct pq_leaf *l, const uint8_t *v, uint32_t len,
		 struct spot_arena *a, struct pipe_cell *out)
{
	static const char t[] = "true", f[] = "false";
	char *p;
	int k;

	memset(out, 0, sizeof(*out));
	if (l->ptype == PQ_BYTE_ARRAY && l->ltype != PQ_LT_DECIMAL) {
		out->type = l->ltype == PQ_LT_STRING ? PIPE_TEXT : PIPE_BLOB;
		out->p = v;
		out->len = len;
		return 0;
	}
	if (l->ptype == PQ_BOOLEAN && len == 1 && l->ltype != PQ_LT_DECIMAL) {
		out->type = PIPE_TEXT;
		out->p = (const uint8_t *)(v[0] ? t : f);
		out->len = v[0] ? 4 : 5;
		return 0;
	}
	if ((l->ptype == PQ_FLOAT || l->ptype == PQ_DOUBLE) &&
	    l->ltype != PQ_LT_DECIMAL)
		return pq_real_cell(l, v, len, a, out);
	if (l->ptype != PQ_INT32 && l->ptype != PQ_INT64)
		return pq_value_to_cell(l, v, len, a, out);
	p = spot_arena_alloc(a, PQ_NUM_MAX);
	if (!p)
		return -ENOMEM;
	k = pq_put_num(l, v, len, p, &out->type);
	if (k < 0)
		return pq_value_to_cell(l, v, len, a, out);
	out->p = (const uint8_t *)p;
	out->len = (size_t)k;
	return 0;
}

/* The cells of column col from its rows. */
static int pq_cc_cells(struct pq_ccur *cc, struct pipe_batch *b, size_t col,
		       uint32_t n)
{
	uint32_t r;

	for (r = 0; r < n; r++) {
		struct pipe_cell *c = &b->in[r * b->ncols + col];
		const struct pq_rv *v = &cc->rv[r];

		if (v->def != (uint32_t)cc->leaf->max_def) {
			memset(c, 0, sizeof(*c));
			c->type = PIPE_NULL;
			continue;
		}
		if (pq_rows_cell(cc->leaf, v->p, v->len, &b->src_arena, c))
			return -ENOMEM;
	}
	return 0;
}

int pq_rgcur_fill(struct pq_rgcur *c, struct pipe_batch *b, uint32_t n,
		  struct spot_err *err)
{
	size_t col, ncols = c->f->m->nleaves;
	uint32_t r;
	int rc;

	if (n > c->cap || n > c->rows_left || n > b->cap || b->ncols != ncols) {
		spot_err_set(err, "parquet: bad batch request");
		return -EINVAL;
	}
	memset(b->out, 0, (size_t)n * ncols * sizeof(*b->out));
	memset(b->keep, 1, n);
	for (col = 0; col < ncols; col++) {
		struct pq_ccur *cc = &c->cc[col];

		if (!cc->open) {
			for (r = 0; r < n; r++) {
				struct pipe_cell *x = &b->in[r * ncols + col];

				memset(x, 0, sizeof(*x));
				x->type = PIPE_NULL;
			}
			continue;
		}
		rc = pq_cc_fill(cc, &b->src_arena, n, err);
		if (!rc && pq_cc_cells(cc, b, col, n))
			rc = -ENOMEM;
		if (rc) {
			if (rc == -ENOMEM)
				spot_err_set(err, "parquet: out of memory "
						  "reading rows");
			return rc;
		}
	}
	c->rows_left -= n;
	b->nrows = n;
	return 0;
}

/* ---- row source ---- */

struct pq_rows {
	struct pq_file *f;
	int fd;
	size_t next_g; /* next row group to open */
	uint64_t row;  /* rows handed out so far */
	bool have_cur;
	struct pq_rgcur cur;
};

int pq_rows_open(struct pq_file *f, int fd, struct pq_rows **out,
		 struct spot_err *err)
{
	struct pq_rows *r = calloc(1, sizeof(*r));

	if (!r) {
		spot_err_set(err, "parquet: out of memory");
		return -ENOMEM;
	}
	r->f = f;
	r->fd = fd;
	*out = r;
	return 0;
}

void pq_rows_free(struct pq_rows *r)
{
	if (!r)
		return;
	if (r->have_cur)
		pq_rgcur_close(&r->cur);
	free(r);
}

static int pq_rows_columns(void *src, const struct pipe_col **cols,
			   size_t *ncols, struct spot_err *err)
{
	struct pq_rows *r = src;

	(void)err;
	return pq_file_columns(r->f, cols, ncols);
}

/* Make the cursor point at a row group with rows left; false at the end. */
static int pq_rows_group(struct pq_rows *r, uint32_t cap, bool *more,
			 struct spot_err *err)
{
	int rc;

	while (!r->have_cur || !r->cur.rows_left) {
		if (r->have_cur) {
			pq_rgcur_close(&r->cur);
			r->have_cur = false;
		}
		if (r->next_g == r->f->m->nrgs) {
			*more = false;
			return 0;
		}
		if (!r->f->m->rgs[r->next_g].num_rows) {
			r->next_g++;
			continue;
		}
		rc = pq_rgcur_open(&r->cur, r->f, r->fd, r->next_g, cap, NULL,
				   err);
		if (rc) {
			spot_err_prefix(err, "row group %zu: ", r->next_g);
			return rc;
		}
		r->have_cur = true;
		r->next_g++;
	}
	*more = true;
	return 0;
}

static int pq_rows_next(void *src, struct pipe_batch *b, struct spot_err *err)
{
	struct pq_rows *r = src;
	bool more;
	uint32_t n;
	int rc;

	b->nrows = 0;
	if (b->ncols != r->f->m->nleaves) {
		spot_err_set(err, "parquet: batch has %zu columns, file %zu",
			     b->ncols, r->f->m->nleaves);
		return -EINVAL;
	}
	rc = pq_rows_group(r,
			   b->cap > UINT32_MAX ? UINT32_MAX : (uint32_t)b->cap,
			   &more, err);
	if (rc || !more)
		return rc;
	n = r->cur.cap;
	if (n > b->cap)
		n = (uint32_t)b->cap;
	if (n > r->cur.rows_left)
		n = (uint32_t)r->cur.rows_left;
	rc = pq_rgcur_fill(&r->cur, b, n, err);
	if (rc)
		return rc;
	memset(b->rowmeta, 0, n * sizeof(*b->rowmeta));
	b->first_row = r->row;
	r->row += n;
	return 0;
}

const struct pipe_source_ops pq_source_ops = {
	.columns = pq_rows_columns,
	.next_batch = pq_rows_next,
	.dialect = NULL,
};

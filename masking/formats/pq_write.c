/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_write.c - a pipeline sink that writes Parquet: the rows of any source
 * (a CSV file served "as: parquet") become a file of nullable STRING
 * columns, written with the same chunk writer as masked columns. A column
 * the source marks PIPE_F_TYPED is written in its declared type instead:
 * PIPE_INT as INT64, PIPE_REAL as DOUBLE (a cell that is not such a
 * number fails the write).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pq_codec.h"
#include "pq_view_i.h"

#define PQ_MAGIC "PAR1"
/* Rows per row group (as DuckDB writes) and its size bound. */
#define PQ_WR_RG_ROWS 122880
#define PQ_WR_RG_BYTES (64u << 20)
/* A page ends after this many values or PLAIN bytes. */
#define PQ_WR_PAGE_VALUES 20000
#define PQ_WR_PAGE_BYTES (1u << 20)
#define PQ_WR_CODEC PQ_CODEC_SNAPPY
#define PQ_WR_SE_TYPE 1	  /* SchemaElement.type */
#define PQ_WR_SE_REP 3	  /* SchemaElement.repetition_type */
#define PQ_WR_SE_NCHILD 5 /* SchemaElement.num_children */
#define PQ_WR_SE_CONV 6	  /* SchemaElement.converted_type */
#define PQ_WR_SE_LOGICAL 10
#define PQ_WR_CT_LIST 3	 /* ConvertedType LIST */
#define PQ_WR_LT_LIST 3	 /* LogicalType.LIST */
#define PQ_WR_CC_META 3	 /* ColumnChunk.meta_data */
#define PQ_WR_CMD_PATH 3 /* ColumnMetaData.path_in_schema */
#define PQ_WR_NUM_MAX 64 /* bytes of a number's text */

struct pq_writer {
	struct spot_buf *out;
	struct spot_arena a; /* the footer's tree and the column names */
	char **names;
	size_t *lens;
	int *ptype; /* per column: PQ_BYTE_ARRAY, PQ_INT64 or PQ_DOUBLE */
	bool *list; /* per column: a LIST of STRING (PIPE_F_LIST) */
	size_t ncols;
	struct pq_chunk_wr *w; /* one per column, for the open row group */
	uint64_t rg_rows, rows;
	struct pq_tstruct **rgs;
	size_t nrgs, caprgs;
	bool begun;
	uint64_t drained; /* bytes of the file no longer in out */
};

/* Where the next byte appended to out sits in the file. */
static int64_t pq_wr_pos(const struct pq_writer *x)
{
	return (int64_t)(x->drained + x->out->len);
}

void pq_writer_drained(struct pq_writer *x, uint64_t n)
{
	x->drained += n;
}

int pq_writer_new(struct spot_buf *out, struct pq_writer **w)
{
	struct pq_writer *x = calloc(1, sizeof(*x));

	if (!x)
		return -ENOMEM;
	x->out = out;
	spot_arena_init(&x->a);
	*w = x;
	return 0;
}

void pq_writer_free(struct pq_writer *x)
{
	if (!x)
		return;
	for (size_t c = 0; x->w && c < x->ncols; c++)
		pq_chunk_wr_fini(&x->w[c]);
	free(x->w);
	free(x->rgs);
	spot_arena_fini(&x->a);
	free(x);
}

/*
 * A list column is the three-level LIST of the Parquet spec: an optional
 * group (null list: level 0), a repeated group "list" (empty: 1), an
 * optional "element" (null: 2, a value: 3); repetition 1 for every
 * element after a list's first.
 */
#define PQ_WR_LIST_DEF 3

static int pq_wr_col_init(struct pq_writer *x, size_t c)
{
	int t = x->ptype[c];
	int rc = pq_chunk_wr_init(&x->w[c], t, t == PQ_BYTE_ARRAY ? 0 : 8,
				  PQ_WR_CODEC, false,
				  x->list[c] ? PQ_WR_LIST_DEF : 1);

	if (!rc && x->list[c])
		pq_chunk_wr_set_rep(&x->w[c], 1);
	return rc;
}

/* The physical type column col is written as. */
static int pq_wr_ptype(const struct pipe_col *col)
{
	if (!(col->flags & PIPE_F_TYPED))
		return PQ_BYTE_ARRAY;
	return col->type == PIPE_INT	? PQ_INT64
	       : col->type == PIPE_REAL ? PQ_DOUBLE
					: PQ_BYTE_ARRAY;
}

static int pq_wr_begin(void *sink, const struct pipe_col *cols, size_t ncols,
		       const void *dialect, struct spot_err *err)
{
	struct pq_writer *x = sink;
	size_t c;

	(void)dialect;
	x->ncols = ncols;
	x->names = spot_arena_alloc(&x->a, (ncols + 1) * sizeof(*x->names));
	x->lens = spot_arena_alloc(&x->a, (ncols + 1) * sizeof(*x->lens));
	x->ptype = spot_arena_alloc(&x->a, (ncols + 1) * sizeof(*x->ptype));
	x->list = spot_arena_alloc(&x->a, (ncols + 1) * sizeof(*x->list));
	x->w = calloc(ncols + 1, sizeof(*x->w));
	if (!x->names || !x->lens || !x->ptype || !x->list || !x->w)
		goto nomem;
	for (c = 0; c < ncols; c++) {
		x->ptype[c] = pq_wr_ptype(&cols[c]);
		x->list[c] = (cols[c].flags & PIPE_F_TYPED) &&
			     (cols[c].flags & PIPE_F_LIST);
		x->names[c] = spot_arena_alloc(&x->a, cols[c].name_len + 1);
		if (!x->names[c] || pq_wr_col_init(x, c))
			goto nomem;
		memcpy(x->names[c], cols[c].name, cols[c].name_len);
		x->lens[c] = cols[c].name_len;
	}
	x->begun = true;
	return spot_buf_append(x->out, PQ_MAGIC, 4) ? -ENOMEM : 0;
nomem:
	spot_err_set(err, "parquet: out of memory");
	return -ENOMEM;
}

/* A list column's chunk: its path is name.list.element. */
static int pq_wr_list_path(struct pq_writer *x, struct pq_tstruct *cc, size_t c)
{
	struct pq_tval *md = pq_tstruct_get(cc, PQ_WR_CC_META), v;

	if (!md || md->type != PQ_TT_STRUCT ||
	    pq_tval_list(&x->a, &v, PQ_TT_BINARY, 3))
		return -ENOMEM;
	for (int i = 0; i < 3; i++)
		v.u.elems[i].type = PQ_TT_BINARY;
	v.u.elems[0].u.bin = (const uint8_t *)x->names[c];
	v.u.elems[0].n = (uint32_t)x->lens[c];
	v.u.elems[1].u.bin = (const uint8_t *)"list";
	v.u.elems[1].n = 4;
	v.u.elems[2].u.bin = (const uint8_t *)"element";
	v.u.elems[2].n = 7;
	return pq_tstruct_set(&x->a, md->u.st, PQ_WR_CMD_PATH, &v);
}

/* Append column c's finished chunk to the file; its ColumnChunk to *cc. */
static int pq_wr_chunk(struct pq_writer *x, size_t c, struct pq_tstruct **cc,
		       struct spot_err *err)
{
	struct pq_chunk_wr *w = &x->w[c];
	struct pq_chunk_out o;
	int rc = 0;

	if (w->nlev || !w->num_values)
		rc = pq_chunk_wr_page(w, PQ_PAGE_DATA, err);
	if (!rc)
		rc = pq_chunk_wr_finish(w, err);
	if (rc)
		return rc;
	pq_chunk_out_of(w, pq_wr_pos(x), &o);
	if (spot_buf_append(x->out, w->dict_page.p, w->dict_page.len) ||
	    spot_buf_append(x->out, w->data.p, w->data.len))
		return -ENOMEM;
	*cc = pq_meta_chunk_new(&x->a, x->names[c], x->lens[c], PQ_WR_CODEC,
				&o);
	if (*cc && x->list[c])
		return pq_wr_list_path(x, *cc, c);
	return *cc ? 0 : -ENOMEM;
}

/* Close the open row group: its chunks into the file, its metadata kept. */
static int pq_wr_rowgroup(struct pq_writer *x, struct spot_err *err)
{
	struct pq_tstruct *rg = pq_tstruct_new(&x->a), *cc;
	int64_t start = pq_wr_pos(x), usize = 0;
	struct pq_tval cols;
	size_t c;
	int rc;

	if (!rg || pq_tval_list(&x->a, &cols, PQ_TT_STRUCT, (uint32_t)x->ncols))
		return -ENOMEM;
	for (c = 0; c < x->ncols; c++) {
		rc = pq_wr_chunk(x, c, &cc, err);
		if (rc)
			return rc;
		cols.u.elems[c] = pq_tval_struct(cc);
		usize += x->w[c].usize;
		pq_chunk_wr_fini(&x->w[c]);
		if (pq_wr_col_init(x, c))
			return -ENOMEM;
	}
	if (x->nrgs == x->caprgs) {
		size_t n = x->caprgs ? 2 * x->caprgs : 16;
		struct pq_tstruct **nr = realloc(x->rgs, n * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		x->rgs = nr;
		x->caprgs = n;
	}
	if (pq_tstruct_set(&x->a, rg, 1, &cols) ||
	    pq_tstruct_set_int(&x->a, rg, 2, PQ_TT_I64, usize) ||
	    pq_tstruct_set_int(&x->a, rg, 3, PQ_TT_I64, (int64_t)x->rg_rows) ||
	    pq_tstruct_set_int(&x->a, rg, 5, PQ_TT_I64, start) ||
	    pq_tstruct_set_int(&x->a, rg, 6, PQ_TT_I64, pq_wr_pos(x) - start) ||
	    pq_tstruct_set_int(&x->a, rg, 7, PQ_TT_I16, (int64_t)x->nrgs))
		return -ENOMEM;
	x->rgs[x->nrgs++] = rg;
	x->rg_rows = 0;
	return 0;
}

/*
 * A number's text as the column's INT64 or DOUBLE, little-endian. -EDOM
 * when it is not one (an integer column: a decimal integer that fits).
 */
static int pq_wr_num(struct pq_chunk_wr *w, const struct pipe_cell *v)
{
	char t[PQ_WR_NUM_MAX + 1], *end;
	uint8_t le[8];
	uint64_t u;

	if (!v->len || v->len > PQ_WR_NUM_MAX)
		return -EDOM;
	memcpy(t, v->p, v->len);
	t[v->len] = 0;
	errno = 0;
	if (w->ptype == PQ_INT64) {
		long long i = strtoll(t, &end, 10);

		u = (uint64_t)i;
	} else {
		double d = strtod(t, &end);

		if (!isfinite(d))
			return -EDOM;
		memcpy(&u, &d, sizeof(u));
	}
	if (errno || end != t + v->len || t[0] == ' ' || t[0] == '+')
		return -EDOM;
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(u >> (8 * i));
	return pq_chunk_wr_put(w, le, 8);
}

/* A list cell (PIPE_F_LIST in pipe.h) into w. -EDOM when malformed. */
static int pq_wr_list(struct pq_chunk_wr *w, const struct pipe_cell *v)
{
	const uint8_t *p = v->p;
	size_t i = 0, n = v->len;
	uint32_t len;
	int rc = 0;

	if (v->type != PIPE_BLOB)
		return -EDOM;
	if (!n)
		return pq_chunk_wr_null(w, 1); /* an empty list */
	while (!rc && i < n) {
		pq_chunk_wr_rep(w, i ? 1 : 0);
		if (p[i] == PIPE_LIST_NULL) {
			rc = pq_chunk_wr_null(w, PQ_WR_LIST_DEF - 1);
			i++;
			continue;
		}
		if (p[i] != PIPE_LIST_TEXT || n - i < 5)
			return -EDOM;
		len = (uint32_t)p[i + 1] | (uint32_t)p[i + 2] << 8 |
		      (uint32_t)p[i + 3] << 16 | (uint32_t)p[i + 4] << 24;
		i += 5;
		if (len > n - i || len > UINT32_MAX / 2)
			return -EDOM;
		rc = pq_chunk_wr_put(w, p + i, len);
		i += len;
	}
	return rc;
}

/* One cell into column c's writer, ending the page when it is full. */
static int pq_wr_cell(struct pq_writer *x, size_t c, const struct pipe_cell *v,
		      struct spot_err *err)
{
	struct pq_chunk_wr *w = &x->w[c];
	int rc;

	if (v->type == PIPE_NULL)
		rc = pq_chunk_wr_null(w, 0);
	else if (x->list[c])
		rc = pq_wr_list(w, v);
	else if (x->ptype[c] != PQ_BYTE_ARRAY)
		rc = pq_wr_num(w, v);
	else if (v->len > UINT32_MAX / 2)
		rc = -EFBIG;
	else
		rc = pq_chunk_wr_put(w, v->p, (uint32_t)v->len);
	if (!rc &&
	    (w->nlev >= PQ_WR_PAGE_VALUES || w->plain.len >= PQ_WR_PAGE_BYTES))
		rc = pq_chunk_wr_page(w, PQ_PAGE_DATA, err);
	return rc;
}

static int pq_wr_rows(void *sink, const struct pipe_batch *b,
		      struct spot_err *err)
{
	struct pq_writer *x = sink;
	size_t r, c, bytes, bad = 0;
	int rc = 0;

	for (r = 0; !rc && r < b->nrows; r++) {
		if (!b->keep[r])
			continue;
		for (c = 0; !rc && c < x->ncols; c++) {
			rc = pq_wr_cell(x, c, pipe_batch_cell(b, r, c), err);
			bad = c;
		}
		x->rg_rows++;
		x->rows++;
		for (c = 0, bytes = 0; c < x->ncols; c++)
			bytes += x->w[c].data.len + x->w[c].plain.len;
		if (!rc &&
		    (x->rg_rows >= PQ_WR_RG_ROWS || bytes >= PQ_WR_RG_BYTES))
			rc = pq_wr_rowgroup(x, err);
	}
	if (rc == -ENOMEM)
		spot_err_set(err, "parquet: out of memory");
	else if (rc == -EFBIG)
		spot_err_set(err, "parquet: a value is larger than 2 GiB");
	else if (rc == -EDOM) {
		char name[128];

		spot_printable(x->names[bad], name, sizeof(name));
		spot_err_set(err,
			     "parquet: a value of column '%s' is not of its "
			     "type (%s)",
			     name,
			     x->list[bad]		 ? "LIST"
			     : x->ptype[bad] == PQ_INT64 ? "INT64"
							 : "DOUBLE");
		rc = -EIO;
	}
	return rc;
}

/* A list column's two groups into e[0] (name, LIST) and e[1] ("list"). */
static int pq_wr_list_schema(struct pq_writer *x, size_t c, struct pq_tval *e)
{
	struct pq_tstruct *g = pq_tstruct_new(&x->a);
	struct pq_tstruct *r = pq_tstruct_new(&x->a);
	struct pq_tstruct *lt = pq_tstruct_new(&x->a);
	struct pq_tstruct *l = pq_tstruct_new(&x->a);
	struct pq_tval v;

	if (!g || !r || !lt || !l)
		return -ENOMEM;
	v = pq_tval_struct(l);
	if (pq_tstruct_set(&x->a, lt, PQ_WR_LT_LIST, &v) ||
	    pq_tstruct_set_bin(&x->a, g, 4, x->names[c], x->lens[c]) ||
	    pq_tstruct_set_int(&x->a, g, PQ_WR_SE_REP, PQ_TT_I32,
			       PQ_OPTIONAL) ||
	    pq_tstruct_set_int(&x->a, g, PQ_WR_SE_NCHILD, PQ_TT_I32, 1) ||
	    pq_tstruct_set_int(&x->a, g, PQ_WR_SE_CONV, PQ_TT_I32,
			       PQ_WR_CT_LIST))
		return -ENOMEM;
	v = pq_tval_struct(lt);
	if (pq_tstruct_set(&x->a, g, PQ_WR_SE_LOGICAL, &v) ||
	    pq_tstruct_set_bin(&x->a, r, 4, "list", 4) ||
	    pq_tstruct_set_int(&x->a, r, PQ_WR_SE_REP, PQ_TT_I32,
			       PQ_REPEATED) ||
	    pq_tstruct_set_int(&x->a, r, PQ_WR_SE_NCHILD, PQ_TT_I32, 1))
		return -ENOMEM;
	e[0] = pq_tval_struct(g);
	e[1] = pq_tval_struct(r);
	return 0;
}

/* The schema: the root, then one nullable leaf per column (STRING, or
 * INT64 or DOUBLE for typed ones). */
static int pq_wr_schema(struct pq_writer *x, struct pq_tstruct *root)
{
	struct pq_tstruct *se = pq_tstruct_new(&x->a);
	struct pq_tval v;
	size_t c, k, nse = 1;

	for (c = 0; c < x->ncols; c++)
		nse += x->list[c] ? 3 : 1;
	if (!se || pq_tval_list(&x->a, &v, PQ_TT_STRUCT, (uint32_t)nse) ||
	    pq_tstruct_set_bin(&x->a, se, 4, "schema", 6) ||
	    pq_tstruct_set_int(&x->a, se, 5, PQ_TT_I32, (int64_t)x->ncols))
		return -ENOMEM;
	v.u.elems[0] = pq_tval_struct(se);
	for (c = 0, k = 1; c < x->ncols; c++) {
		if (x->list[c]) {
			if (pq_wr_list_schema(x, c, &v.u.elems[k]))
				return -ENOMEM;
			k += 2;
		}
		se = pq_tstruct_new(&x->a);
		if (!se ||
		    (x->list[c] ? pq_tstruct_set_bin(&x->a, se, 4, "element", 7)
				: pq_tstruct_set_bin(&x->a, se, 4, x->names[c],
						     x->lens[c])) ||
		    pq_meta_schema_promote(
			    &x->a, se, x->ptype[c] == PQ_BYTE_ARRAY, true) ||
		    (x->ptype[c] != PQ_BYTE_ARRAY &&
		     pq_tstruct_set_int(&x->a, se, PQ_WR_SE_TYPE, PQ_TT_I32,
					x->ptype[c])))
			return -ENOMEM;
		v.u.elems[k++] = pq_tval_struct(se);
	}
	return pq_tstruct_set(&x->a, root, 2, &v);
}

static int pq_wr_end(void *sink, struct spot_err *err)
{
	static const char by[] = "spotfs " SPOTFS_VERSION;
	struct pq_writer *x = sink;
	struct pq_tstruct *root = pq_tstruct_new(&x->a);
	struct pq_tval rgs;
	size_t at, g;
	uint8_t le[4];
	int rc = 0;

	if (x->rg_rows)
		rc = pq_wr_rowgroup(x, err);
	if (rc)
		return rc;
	if (!root || pq_tstruct_set_int(&x->a, root, 1, PQ_TT_I32, 1) ||
	    pq_wr_schema(x, root) ||
	    pq_tstruct_set_int(&x->a, root, 3, PQ_TT_I64, (int64_t)x->rows) ||
	    pq_tval_list(&x->a, &rgs, PQ_TT_STRUCT, (uint32_t)x->nrgs))
		goto nomem;
	for (g = 0; g < x->nrgs; g++)
		rgs.u.elems[g] = pq_tval_struct(x->rgs[g]);
	if (pq_tstruct_set(&x->a, root, 4, &rgs) ||
	    pq_tstruct_set_bin(&x->a, root, 6, by, sizeof(by) - 1))
		goto nomem;
	at = x->out->len;
	if (pq_thrift_write(x->out, root))
		goto nomem;
	at = x->out->len - at;
	le[0] = (uint8_t)at;
	le[1] = (uint8_t)(at >> 8);
	le[2] = (uint8_t)(at >> 16);
	le[3] = (uint8_t)(at >> 24);
	if (spot_buf_append(x->out, le, 4) ||
	    spot_buf_append(x->out, PQ_MAGIC, 4))
		goto nomem;
	return 0;
nomem:
	spot_err_set(err, "parquet: out of memory writing the footer");
	return -ENOMEM;
}

const struct pipe_sink_ops pq_sink_ops = {
	pq_wr_begin,
	pq_wr_rows,
	pq_wr_end,
};

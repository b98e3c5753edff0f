/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_write.c - a pipeline sink that writes Parquet: the rows of any source
 * (a CSV file served "as: parquet") become a file of nullable STRING
 * columns, written with the same chunk writer as masked columns. A column
 * the source marks PIPE_F_TYPED is written in its declared type instead:
 * PIPE_INT as INT64, PIPE_REAL as DOUBLE (a cell that is not such a
 * number fails the write), PIPE_F_LIST as a LIST of STRING. A column
 * given a shape (pq_writer_set_shapes) is written as that tree of
 * structs, lists and typed leaves (pq_shred.c fills the leaves).
 *
 * Every column is a tree of nodes (pq_write_i.h); its leaves, in schema
 * order, are the file's leaf columns: their chunks make the row groups,
 * their paths the ColumnMetaData, and the nodes the SchemaElements.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pq_codec.h"
#include "pq_write_i.h"

#define PQ_MAGIC "PAR1"
/* Rows per row group (as DuckDB writes) and its size bound. */
#define PQ_WR_RG_ROWS 122880
#define PQ_WR_RG_BYTES (64u << 20)
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
	spot_buf_init(&x->dec);
	*w = x;
	return 0;
}

void pq_writer_free(struct pq_writer *x)
{
	if (!x)
		return;
	for (size_t l = 0; l < x->nleaves; l++)
		pq_chunk_wr_fini(&x->leaves[l].w);
	free(x->leaves);
	free(x->nodes);
	free(x->spans);
	free(x->rgs);
	spot_buf_fini(&x->dec);
	spot_arena_fini(&x->a);
	free(x);
}

/* Whether shape s is at most depth deep and every LIST has one element. */
static bool pq_wr_shape_ok(const struct pq_shape *s, unsigned depth)
{
	if (depth > PQ_SHAPE_MAX_DEPTH || s->kind > PQ_SH_LIST)
		return false;
	if (s->kind == PQ_SH_LIST && (s->nkids != 1 || !s->kids))
		return false;
	if (s->kind == PQ_SH_STRUCT && (!s->nkids || !s->kids))
		return false;
	for (uint32_t i = 0; s->kind >= PQ_SH_STRUCT && i < s->nkids; i++)
		if (!pq_wr_shape_ok(&s->kids[i], depth + 1))
			return false;
	return true;
}

int pq_writer_set_shapes(struct pq_writer *x, const struct pq_shape *shapes,
			 size_t n)
{
	for (size_t c = 0; c < n; c++)
		if (!pq_wr_shape_ok(&shapes[c], 1))
			return -EINVAL;
	x->shapes = shapes;
	x->nshapes = n;
	return 0;
}

int pq_sh_ptype(uint8_t kind)
{
	return kind == PQ_SH_INT64     ? PQ_INT64
	       : kind == PQ_SH_DOUBLE  ? PQ_DOUBLE
	       : kind == PQ_SH_BOOLEAN ? PQ_BOOLEAN
				       : PQ_BYTE_ARRAY;
}

static int pq_wr_leaf_init(struct pq_wleaf *l)
{
	int t = l->ptype;
	int rc = pq_chunk_wr_init(&l->w, t,
				  t == PQ_BYTE_ARRAY ? 0
				  : t == PQ_BOOLEAN  ? 1
						     : 8,
				  PQ_WR_CODEC, false, (int)l->max_def);

	if (!rc && l->max_rep)
		pq_chunk_wr_set_rep(&l->w, (int)l->max_rep);
	return rc;
}

/* The path of the leaf being added (components up to the root). */
struct pq_wr_path {
	struct pq_wname c[3 * PQ_SHAPE_MAX_DEPTH + 2];
	uint32_t n;
};

/*
 * Add the nodes of shape s (named name, len) below a node whose values
 * are defined at def and repeated at rep; its index into *out. Depth is
 * bounded by pq_wr_shape_ok.
 */
static int pq_wr_add(struct pq_writer *x, const struct pq_shape *s,
		     const char *name, size_t len, uint32_t def, uint32_t rep,
		     struct pq_wr_path *path, uint32_t *out)
{
	struct pq_wnode *n;
	uint32_t ni = (uint32_t)x->nnodes, kd, kr;
	int rc = 0;

	if (x->nnodes == x->capnodes) {
		size_t cap = x->capnodes ? 2 * x->capnodes : 64;
		struct pq_wnode *nn = realloc(x->nodes, cap * sizeof(*nn));

		if (!nn)
			return -ENOMEM;
		x->nodes = nn;
		x->capnodes = cap;
	}
	n = &x->nodes[x->nnodes++];
	memset(n, 0, sizeof(*n));
	n->kind = s->kind;
	n->def = def + 1;
	n->rep = rep;
	n->name = name;
	n->name_len = len;
	n->leaf0 = (uint32_t)x->nleaves;
	path->c[path->n].p = name;
	path->c[path->n++].n = len;
	*out = ni;
	if (s->kind < PQ_SH_STRUCT) {
		struct pq_wleaf *l;

		if (x->nleaves == x->capleaves) {
			size_t cap = x->capleaves ? 2 * x->capleaves : 64;
			struct pq_wleaf *nl =
				realloc(x->leaves, cap * sizeof(*nl));

			if (!nl)
				return -ENOMEM;
			x->leaves = nl;
			x->capleaves = cap;
		}
		l = &x->leaves[x->nleaves];
		memset(l, 0, sizeof(*l));
		l->kind = s->kind;
		l->ptype = pq_sh_ptype(s->kind);
		l->max_def = def + 1;
		l->max_rep = rep;
		l->npath = path->n;
		l->path = spot_arena_alloc(&x->a, path->n * sizeof(*l->path));
		if (!l->path)
			return -ENOMEM;
		memcpy(l->path, path->c, path->n * sizeof(*l->path));
		rc = pq_wr_leaf_init(l);
		if (rc)
			return rc;
		x->nleaves++;
		x->nodes[ni].nleaf = 1;
		path->n--;
		return 0;
	}
	kd = def + 1;
	kr = rep;
	if (s->kind == PQ_SH_LIST) {
		path->c[path->n].p = "list";
		path->c[path->n++].n = 4;
		kd = def + 2; /* an entry of the list */
		kr = rep + 1;
		n->rep = kr;
	}
	n->kids = spot_arena_alloc(&x->a, s->nkids * sizeof(*n->kids));
	if (!n->kids)
		return -ENOMEM;
	n->nkids = s->nkids;
	for (uint32_t i = 0; !rc && i < s->nkids; i++) {
		const struct pq_shape *k = &s->kids[i];
		uint32_t ki = 0;

		rc = s->kind == PQ_SH_LIST
			     ? pq_wr_add(x, k, "element", 7, kd, kr, path, &ki)
			     : pq_wr_add(x, k, k->name, k->name_len, kd, kr,
					 path, &ki);
		x->nodes[ni].kids[i] = ki;
	}
	if (s->kind == PQ_SH_LIST)
		path->n--;
	path->n--;
	x->nodes[ni].nleaf = (uint32_t)x->nleaves - x->nodes[ni].leaf0;
	return rc;
}

/* The shape of column col when no shape was set: its pipe_col type. */
static const struct pq_shape *pq_wr_flat(const struct pipe_col *col)
{
	static const struct pq_shape text = { PQ_SH_STRING, NULL, 0, NULL, 0 };
	static const struct pq_shape i64 = { PQ_SH_INT64, NULL, 0, NULL, 0 };
	static const struct pq_shape dbl = { PQ_SH_DOUBLE, NULL, 0, NULL, 0 };
	static const struct pq_shape list = { PQ_SH_LIST, NULL, 0, &text, 1 };

	if (!(col->flags & PIPE_F_TYPED))
		return &text;
	if (col->flags & PIPE_F_LIST)
		return &list;
	return col->type == PIPE_INT	? &i64
	       : col->type == PIPE_REAL ? &dbl
					: &text;
}

static int pq_wr_begin(void *sink, const struct pipe_col *cols, size_t ncols,
		       const void *dialect, struct spot_err *err)
{
	struct pq_writer *x = sink;
	struct pq_wr_path *path = calloc(1, sizeof(*path));
	size_t c;

	(void)dialect;
	if (x->shapes && x->nshapes != ncols) {
		free(path);
		spot_err_set(err, "parquet: %zu shapes for %zu columns",
			     x->nshapes, ncols);
		return -EINVAL;
	}
	x->ncols = ncols;
	x->names = spot_arena_alloc(&x->a, (ncols + 1) * sizeof(*x->names));
	x->lens = spot_arena_alloc(&x->a, (ncols + 1) * sizeof(*x->lens));
	x->mode = spot_arena_alloc(&x->a, (ncols + 1) * sizeof(*x->mode));
	x->top = spot_arena_alloc(&x->a, (ncols + 1) * sizeof(*x->top));
	if (!path || !x->names || !x->lens || !x->mode || !x->top)
		goto nomem;
	for (c = 0; c < ncols; c++) {
		const struct pq_shape *s =
			x->shapes ? &x->shapes[c] : pq_wr_flat(&cols[c]);

		x->names[c] = spot_arena_alloc(&x->a, cols[c].name_len + 1);
		if (!x->names[c])
			goto nomem;
		memcpy(x->names[c], cols[c].name, cols[c].name_len);
		x->names[c][cols[c].name_len] = 0;
		x->lens[c] = cols[c].name_len;
		x->mode[c] = s->kind < PQ_SH_STRUCT ? PQ_WM_TEXT
			     : x->shapes	    ? PQ_WM_JSON
						    : PQ_WM_BLOB;
		path->n = 0;
		if (pq_wr_add(x, s, x->names[c], x->lens[c], 0, 0, path,
			      &x->top[c]))
			goto nomem;
	}
	free(path);
	x->begun = true;
	return spot_buf_append(x->out, PQ_MAGIC, 4) ? -ENOMEM : 0;
nomem:
	free(path);
	spot_err_set(err, "parquet: out of memory");
	return -ENOMEM;
}

/* A nested leaf's chunk: its path_in_schema, every component. */
static int pq_wr_path_set(struct pq_writer *x, struct pq_tstruct *cc,
			  const struct pq_wleaf *l)
{
	struct pq_tval *md = pq_tstruct_get(cc, PQ_WR_CC_META), v;

	if (!md || md->type != PQ_TT_STRUCT ||
	    pq_tval_list(&x->a, &v, PQ_TT_BINARY, l->npath))
		return -ENOMEM;
	for (uint32_t i = 0; i < l->npath; i++) {
		v.u.elems[i].type = PQ_TT_BINARY;
		v.u.elems[i].u.bin = (const uint8_t *)l->path[i].p;
		v.u.elems[i].n = (uint32_t)l->path[i].n;
	}
	return pq_tstruct_set(&x->a, md->u.st, PQ_WR_CMD_PATH, &v);
}

/* Append leaf l's finished chunk to the file; its ColumnChunk to *cc. */
static int pq_wr_chunk(struct pq_writer *x, struct pq_wleaf *l,
		       struct pq_tstruct **cc, struct spot_err *err)
{
	struct pq_chunk_wr *w = &l->w;
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
	*cc = pq_meta_chunk_new(&x->a, l->path[0].p, l->path[0].n, PQ_WR_CODEC,
				&o);
	if (*cc && l->npath > 1)
		return pq_wr_path_set(x, *cc, l);
	return *cc ? 0 : -ENOMEM;
}

/* Close the open row group: its chunks into the file, its metadata kept. */
static int pq_wr_rowgroup(struct pq_writer *x, struct spot_err *err)
{
	struct pq_tstruct *rg = pq_tstruct_new(&x->a), *cc;
	int64_t start = pq_wr_pos(x), usize = 0;
	struct pq_tval cols;
	size_t l;
	int rc;

	if (!rg ||
	    pq_tval_list(&x->a, &cols, PQ_TT_STRUCT, (uint32_t)x->nleaves))
		return -ENOMEM;
	for (l = 0; l < x->nleaves; l++) {
		rc = pq_wr_chunk(x, &x->leaves[l], &cc, err);
		if (rc)
			return rc;
		cols.u.elems[l] = pq_tval_struct(cc);
		usize += x->leaves[l].w.usize;
		pq_chunk_wr_fini(&x->leaves[l].w);
		if (pq_wr_leaf_init(&x->leaves[l]))
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

static const char *pq_wr_kind_name(uint8_t kind)
{
	static const char *const n[] = { "STRING",  "INT64",  "DOUBLE",
					 "BOOLEAN", "STRUCT", "LIST" };

	return kind < sizeof(n) / sizeof(n[0]) ? n[kind] : "?";
}

static int pq_wr_rows(void *sink, const struct pipe_batch *b,
		      struct spot_err *err)
{
	struct pq_writer *x = sink;
	size_t r, c, l, bytes, bad = 0;
	int rc = 0;

	for (r = 0; !rc && r < b->nrows; r++) {
		if (!b->keep[r])
			continue;
		for (c = 0; !rc && c < x->ncols; c++) {
			rc = pq_sh_cell(x, c, pipe_batch_cell(b, r, c), err);
			bad = c;
		}
		x->rg_rows++;
		x->rows++;
		for (l = 0, bytes = 0; l < x->nleaves; l++)
			bytes += x->leaves[l].w.data.len +
				 x->leaves[l].w.plain.len;
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
			     name, pq_wr_kind_name(x->nodes[x->top[bad]].kind));
		rc = -EIO;
	}
	return rc;
}

/* A LIST node's two groups into e[0] (name, LIST) and e[1] ("list"). */
static int pq_wr_list_schema(struct pq_writer *x, const struct pq_wnode *n,
			     struct pq_tval *e)
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
	    pq_tstruct_set_bin(&x->a, g, 4, n->name, n->name_len) ||
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

/* SchemaElements of node ni (depth first) into e from *k on. */
static int pq_wr_node_schema(struct pq_writer *x, uint32_t ni,
			     struct pq_tval *e, size_t *k)
{
	const struct pq_wnode *n = &x->nodes[ni];
	struct pq_tstruct *se;
	int rc = 0;

	if (n->kind == PQ_SH_LIST) {
		if (pq_wr_list_schema(x, n, &e[*k]))
			return -ENOMEM;
		*k += 2;
		return pq_wr_node_schema(x, n->kids[0], e, k);
	}
	se = pq_tstruct_new(&x->a);
	if (!se || pq_tstruct_set_bin(&x->a, se, 4, n->name, n->name_len))
		return -ENOMEM;
	e[(*k)++] = pq_tval_struct(se);
	if (n->kind == PQ_SH_STRUCT) {
		if (pq_tstruct_set_int(&x->a, se, PQ_WR_SE_REP, PQ_TT_I32,
				       PQ_OPTIONAL) ||
		    pq_tstruct_set_int(&x->a, se, PQ_WR_SE_NCHILD, PQ_TT_I32,
				       n->nkids))
			return -ENOMEM;
		for (uint32_t i = 0; !rc && i < n->nkids; i++)
			rc = pq_wr_node_schema(x, n->kids[i], e, k);
		return rc;
	}
	if (pq_meta_schema_promote(&x->a, se, n->kind == PQ_SH_STRING, true) ||
	    (n->kind != PQ_SH_STRING &&
	     pq_tstruct_set_int(&x->a, se, PQ_WR_SE_TYPE, PQ_TT_I32,
				pq_sh_ptype(n->kind))))
		return -ENOMEM;
	return 0;
}

/* The schema: the root, then every column's nodes depth first. */
static int pq_wr_schema(struct pq_writer *x, struct pq_tstruct *root)
{
	struct pq_tstruct *se = pq_tstruct_new(&x->a);
	struct pq_tval v;
	size_t c, k, nse = 1;
	int rc = 0;

	for (size_t i = 0; i < x->nnodes; i++)
		nse += x->nodes[i].kind == PQ_SH_LIST ? 2 : 1;
	if (!se || pq_tval_list(&x->a, &v, PQ_TT_STRUCT, (uint32_t)nse) ||
	    pq_tstruct_set_bin(&x->a, se, 4, "schema", 6) ||
	    pq_tstruct_set_int(&x->a, se, 5, PQ_TT_I32, (int64_t)x->ncols))
		return -ENOMEM;
	v.u.elems[0] = pq_tval_struct(se);
	for (c = 0, k = 1; !rc && c < x->ncols; c++)
		rc = pq_wr_node_schema(x, x->top[c], v.u.elems, &k);
	if (rc || k != nse)
		return -ENOMEM;
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

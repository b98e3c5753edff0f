/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view_jsonl_form.c - the CSV and Parquet forms of a JSON Lines dataset
 * (as: [jsonl, csv, parquet]).
 *
 * Every record is first masked exactly as the JSON Lines form serves it
 * (vjl_line, the same plan bound on the same field-path columns, the same
 * record numbers for noise, the same row filter), and the row is then cut
 * out of that masked record: nothing is masked twice and nothing is
 * masked another way, so the three forms hold the same values by
 * construction, and no raw byte can reach a form except through the
 * masked record.
 *
 * The columns, sorted by name:
 *   - every field path outside arrays ("id", "user.email"), as before:
 *     its value (strings decoded, numbers and true/false as their JSON
 *     text, null as NULL, an empty object or array as "{}" or "[]");
 *   - every outermost array ("messages" for "messages[].content",
 *     "user.tags" for "user.tags[]"): the array's JSON text as the JSON
 *     Lines form serves it (every element masked by its rule, unlisted
 *     fields null, white space as in the source). A path that holds a
 *     scalar in some records and an array in others is one column.
 * So every leaf value of a record is in exactly one column. Two columns
 * of one name (the array "a.b" and the field b of object a) are refused,
 * as two fields of one path are.
 *
 * CSV cells are text. Parquet columns are typed where discovery saw every
 * value of the path agree and the rule keeps it so (vjl_form_type: INT64,
 * DOUBLE; vjl_form_is_list: LIST of STRING), else text; a masked value
 * that does not fit its column fails the build, naming the line and the
 * field (vjl_form_misfit).
 *
 * The rows stream through the sink (view_stream_ops), one batch at a
 * time, as every conversion does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "view_jsonl_i.h"

struct vjl_form {
	struct vjl v; /* paths and field-path columns: the plan's */
	struct vjl_plan *wp;
	struct vjl_part whole; /* for the BOM of line 1 */
	struct vjl_reader r;
	struct spot_buf rbuf;
	struct spot_buf mline; /* the masked record */
	struct spot_buf dec;
	struct jsonl_parser *mp; /* parses masked records */
	struct pipe_col *ocols;	 /* the form's columns */
	size_t nocols;
	int32_t *ocol;	    /* per path node: its column, -1 inside an array */
	bool *lists;	    /* per column: a Parquet LIST of STRING */
	struct spot_buf lb; /* a list cell being made */
	bool typed;	    /* Parquet: numbers typed (vjl_form_type) */
	uint64_t line, rec, kept, limit, nlines;
};

/* ---- the columns ---- */

/*
 * Per node n: the outermost array n is in (the node holding it), or n
 * itself when it is in none. Walks up at most JSONL_MAX_DEPTH segments.
 */
static uint32_t vjl_form_top(const struct jsonl_paths *t, uint32_t n,
			     bool *in_arr)
{
	uint32_t top = n;

	*in_arr = false;
	for (uint32_t m = n; m != JSONL_ROOT; m = jsonl_paths_parent(t, m))
		if (jsonl_paths_is_elem(t, m)) {
			top = jsonl_paths_parent(t, m);
			*in_arr = true;
		}
	return top;
}

struct vjl_form_col {
	struct pipe_col col;
	uint32_t node;
	bool arr; /* holds arrays in some records */
};

static int vjl_form_cmp(const void *a, const void *b)
{
	const struct pipe_col *x = &((const struct vjl_form_col *)a)->col;
	const struct pipe_col *y = &((const struct vjl_form_col *)b)->col;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	return c ? c
		 : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/*
 * The Parquet type of the column of leaf node: INT64 for integers served
 * as they are (no rule changes them) that fit, DOUBLE for numbers whose
 * rules keep numbers numbers (keep, noise, round), else text (strings,
 * mixed kinds, an integer literal of more than 18 characters, methods
 * that make text). null does not count: every column is nullable.
 */
static void vjl_form_type(struct vjl_form *fm, struct pipe_col *col,
			  uint32_t node)
{
	unsigned k =
		jsonl_paths_kinds(fm->v.paths, node) & ~JSONL_K(JSONL_NULL);
	int32_t fc = jsonl_paths_tag(fm->v.paths, node);
	bool none, keeps;

	if (fc < 0 || (k & JSONL_K_BIGINT) ||
	    (k & ~JSONL_K_FRAC) != JSONL_K(JSONL_NUM))
		return;
	keeps = vjl_plan_keeps(fm->wp, (size_t)fc, &none);
	if (none && !(k & JSONL_K_FRAC))
		col->type = PIPE_INT;
	else if (keeps)
		col->type = PIPE_REAL;
	else
		return;
	col->flags |= PIPE_F_TYPED;
}

/*
 * Parquet: whether the array column of node nd is a LIST of STRING: it
 * only ever holds arrays ([] included, never a scalar or {}) whose
 * elements are strings or null (no nested array or object). Its elements'
 * node is the only child of nd. kids[i]: children of node i; elem[i]:
 * its array elements' node, 0 for none.
 */
static bool vjl_form_is_list(const struct vjl_form *fm, uint32_t nd,
			     const uint32_t *kids, const uint32_t *elem)
{
	const struct jsonl_paths *t = fm->v.paths;
	unsigned k = jsonl_paths_kinds(t, nd), ek;
	uint32_t e = elem[nd];

	if (!e || kids[nd] != 1 || kids[e] ||
	    (k & ~(JSONL_K(JSONL_NULL) | JSONL_K(JSONL_EMPTY))))
		return false;
	ek = jsonl_paths_kinds(t, e);
	return !(ek & ~(JSONL_K(JSONL_STR) | JSONL_K(JSONL_NULL)));
}

/* Parquet: the list columns (vjl_form_is_list) among the array ones. */
static int vjl_form_lists(struct vjl_form *fm, const struct vjl_form_col *cn,
			  size_t k)
{
	const struct jsonl_paths *t = fm->v.paths;
	uint32_t n = jsonl_paths_count(t);
	uint32_t *kids = calloc(n, sizeof(*kids));
	uint32_t *elem = calloc(n, sizeof(*elem));

	fm->lists = calloc(k ? k : 1, sizeof(*fm->lists));
	if (!kids || !elem || !fm->lists) {
		free(kids);
		free(elem);
		return -ENOMEM;
	}
	for (uint32_t i = 1; i < n; i++) {
		uint32_t p = jsonl_paths_parent(t, i);

		kids[p]++;
		if (jsonl_paths_is_elem(t, i))
			elem[p] = i;
	}
	for (size_t i = 0; i < k; i++) {
		if (!cn[i].arr || !vjl_form_is_list(fm, cn[i].node, kids, elem))
			continue;
		fm->lists[i] = true;
		fm->ocols[i].flags |= PIPE_F_TYPED | PIPE_F_LIST;
		fm->ocols[i].type = PIPE_BLOB;
	}
	free(kids);
	free(elem);
	return 0;
}

/* The form's columns: leaves outside arrays, and outermost arrays. */
static int vjl_form_columns(struct vjl_form *fm)
{
	const struct jsonl_paths *t = fm->v.paths;
	uint32_t n = jsonl_paths_count(t);
	struct vjl_form_col *cn = calloc(n, sizeof(*cn));
	struct spot_buf name;
	size_t k = 0;
	bool in_arr;
	int rc = -ENOMEM;

	spot_buf_init(&name);
	fm->ocol = malloc(n * sizeof(*fm->ocol));
	fm->ocols = calloc(n, sizeof(*fm->ocols));
	if (!fm->ocol || !fm->ocols || !cn)
		goto out;
	for (uint32_t i = 0; i < n; i++)
		fm->ocol[i] = -1;
	/* Mark the columns' nodes (ocol 0, 1 holding arrays), then name
	 * them. */
	for (uint32_t i = 1; i < n; i++) {
		uint32_t top = vjl_form_top(t, i, &in_arr);

		if (in_arr)
			fm->ocol[top] = 1;
		else if (jsonl_paths_is_leaf(t, i) && fm->ocol[top] < 0)
			fm->ocol[top] = 0;
	}
	rc = 0;
	for (uint32_t i = 1; i < n && !rc; i++) {
		if (fm->ocol[i] < 0)
			continue;
		spot_buf_reset(&name);
		rc = jsonl_paths_name(t, i, &name);
		if (!rc)
			rc = spot_buf_putc(&name, 0);
		if (rc)
			break;
		cn[k].col.name_len = name.len - 1;
		cn[k].col.name = (char *)spot_buf_steal(&name, &name.len);
		cn[k].col.type = PIPE_TEXT;
		cn[k].node = i;
		cn[k].arr = fm->ocol[i] == 1;
		k++;
	}
	if (!rc)
		qsort(cn, k, sizeof(*cn), vjl_form_cmp);
	for (size_t i = 0; i < k; i++) {
		fm->ocols[i] = cn[i].col;
		fm->ocol[cn[i].node] = (int32_t)i;
		if (fm->typed && !cn[i].arr)
			vjl_form_type(fm, &fm->ocols[i], cn[i].node);
		if (!rc && i && !vjl_form_cmp(&cn[i - 1], &cn[i]))
			rc = -ENOTUNIQ;
	}
	fm->nocols = k;
	if (!rc && fm->typed)
		rc = vjl_form_lists(fm, cn, k);
out:
	free(cn);
	spot_buf_fini(&name);
	return rc;
}

/* ---- the rows ---- */

static int vjl_form_cols(void *state, const struct pipe_col **cols,
			 size_t *ncols, struct spot_err *err)
{
	struct vjl_form *fm = state;

	(void)err;
	*cols = fm->ocols;
	*ncols = fm->nocols;
	return 0;
}

/* Cell c: bytes (p, n) of the masked record, copied into arena a. */
static int vjl_form_bytes(struct spot_arena *a, const uint8_t *p, size_t n,
			  struct pipe_cell *c)
{
	c->p = n ? spot_arena_dup(a, p, n) : NULL;
	c->len = n;
	return n && !c->p ? -ENOMEM : 0;
}

/* The cell of leaf l (outside arrays) of masked record m. */
static int vjl_form_leaf(struct vjl_form *fm, struct spot_arena *a,
			 const uint8_t *m, const struct jsonl_leaf *l,
			 struct pipe_cell *c)
{
	c->flags = 0;
	c->type = PIPE_TEXT;
	switch (l->kind) {
	case JSONL_NULL:
		c->type = PIPE_NULL;
		c->p = NULL;
		c->len = 0;
		return 0;
	case JSONL_STR:
		spot_buf_reset(&fm->dec);
		if (jsonl_str_decode(m + l->off, l->end - l->off, &fm->dec))
			return -ENOMEM;
		return vjl_form_bytes(a, fm->dec.p, fm->dec.len, c);
	case JSONL_NUM:
		c->type = l->is_int ? PIPE_INT : PIPE_REAL;
		break;
	default: /* true, false, {} and []: their JSON text */
		break;
	}
	return vjl_form_bytes(a, m + l->off, l->end - l->off, c);
}

/*
 * Whether masked leaf l (of record m) fits column col's type: text holds
 * anything, a list column null or [] (its arrays are vjl_form_list's).
 */
static bool vjl_form_fits(const struct pipe_col *col, const uint8_t *m,
			  const struct jsonl_leaf *l)
{
	if (!(col->flags & PIPE_F_TYPED) || l->kind == JSONL_NULL)
		return true;
	if (col->flags & PIPE_F_LIST)
		return l->kind == JSONL_EMPTY && m[l->off] == '[';
	if (l->kind != JSONL_NUM)
		return false;
	return col->type == PIPE_REAL ||
	       (l->is_int && l->end - l->off <= JSONL_INT64_DIGITS);
}

/* A masked value that does not fit its column: fail, naming the field. */
static int vjl_form_misfit(const struct vjl_form *fm, size_t c,
			   struct spot_err *err)
{
	char name[128];

	spot_printable(fm->ocols[c].name, name, sizeof(name));
	spot_err_set(err,
		     "line %llu, field '%s': the masked value is not of the "
		     "Parquet column's type",
		     (unsigned long long)fm->line, name);
	return -EIO;
}

/*
 * The list cell (pipe.h, PIPE_F_LIST) of array sp of masked record m: its
 * elements are the leaves inside it, from ls[*j] on (leaves and arrays
 * are both in document order). -EDOM for an element that is not a
 * string or null.
 */
static int vjl_form_list(struct vjl_form *fm, struct spot_arena *a,
			 const uint8_t *m, const struct jsonl_leaf *ls,
			 size_t nl, size_t *j, const struct jsonl_span *sp,
			 struct pipe_cell *c)
{
	uint8_t h[5];

	spot_buf_reset(&fm->lb);
	while (*j < nl && ls[*j].off < sp->off)
		(*j)++;
	for (; *j < nl && ls[*j].end <= sp->end; (*j)++) {
		const struct jsonl_leaf *l = &ls[*j];

		if (l->kind == JSONL_NULL) {
			if (spot_buf_putc(&fm->lb, PIPE_LIST_NULL))
				return -ENOMEM;
			continue;
		}
		if (l->kind != JSONL_STR)
			return -EDOM;
		spot_buf_reset(&fm->dec);
		if (jsonl_str_decode(m + l->off, l->end - l->off, &fm->dec))
			return -ENOMEM;
		if (fm->dec.len > UINT32_MAX / 2)
			return -EDOM;
		h[0] = PIPE_LIST_TEXT;
		for (int i = 0; i < 4; i++)
			h[1 + i] = (uint8_t)(fm->dec.len >> (8 * i));
		if (spot_buf_append(&fm->lb, h, sizeof(h)) ||
		    spot_buf_append(&fm->lb, fm->dec.p, fm->dec.len))
			return -ENOMEM;
	}
	c->type = PIPE_BLOB;
	return vjl_form_bytes(a, fm->lb.p, fm->lb.len, c);
}

/* Row b->nrows from masked record (m, n). 0, -ENOMEM or -EIO. */
static int vjl_form_row(struct vjl_form *fm, struct pipe_batch *b,
			const uint8_t *m, size_t n, struct spot_err *err)
{
	struct pipe_cell *row = &b->in[b->nrows * b->ncols];
	const struct jsonl_leaf *ls;
	const struct jsonl_span *sp;
	size_t nl, ns, j = 0;
	int rc = jsonl_parse(fm->mp, m, n);

	if (rc != 1) {
		/* Never: the masked record is JSON by construction. */
		spot_err_set(err, "line %llu: the masked record is not JSON",
			     (unsigned long long)fm->line);
		return rc == -ENOMEM ? rc : -EIO;
	}
	for (size_t c = 0; c < b->ncols; c++) {
		memset(&row[c], 0, sizeof(row[c]));
		row[c].type = PIPE_NULL;
	}
	ls = jsonl_parser_leaves(fm->mp, &nl);
	rc = 0;
	for (size_t i = 0; !rc && i < nl; i++) {
		int32_t c = fm->ocol[ls[i].node];

		if (c < 0)
			continue; /* inside an array: in the array's cell */
		if (!vjl_form_fits(&fm->ocols[c], m, &ls[i]))
			return vjl_form_misfit(fm, (size_t)c, err);
		if (fm->lists && fm->lists[c]) /* null, or [] (fits) */
			rc = vjl_form_bytes(&b->src_arena, NULL, 0, &row[c]);
		else
			rc = vjl_form_leaf(fm, &b->src_arena, m, &ls[i],
					   &row[c]);
		if (fm->lists && fm->lists[c] && ls[i].kind == JSONL_EMPTY)
			row[c].type = PIPE_BLOB; /* an empty list */
	}
	sp = jsonl_parser_arrays(fm->mp, &ns);
	for (size_t i = 0; !rc && i < ns; i++) {
		int32_t c = fm->ocol[sp[i].node];

		if (c < 0) { /* every outermost array is a column */
			spot_err_set(err, "line %llu: %s",
				     (unsigned long long)fm->line,
				     jsonl_err_text(JSONL_E_STALE));
			return -EIO;
		}
		if (fm->lists && fm->lists[c]) {
			rc = vjl_form_list(fm, &b->src_arena, m, ls, nl, &j,
					   &sp[i], &row[c]);
			if (rc == -EDOM)
				return vjl_form_misfit(fm, (size_t)c, err);
			continue;
		}
		row[c].type = PIPE_TEXT;
		rc = vjl_form_bytes(&b->src_arena, m + sp[i].off,
				    sp[i].end - sp[i].off, &row[c]);
	}
	if (rc) {
		spot_err_set(err, "out of memory");
		return rc;
	}
	b->keep[b->nrows++] = 1;
	return 0;
}

static int vjl_form_next_batch(void *state, struct pipe_batch *b,
			       struct spot_err *err)
{
	struct vjl_form *fm = state;
	uint64_t rec0 = fm->rec, pos0 = fm->r.pos;
	const uint8_t *p;
	size_t n, bom;
	bool lf;
	int rc = 0;

	while (b->nrows < b->cap && fm->kept < fm->limit &&
	       (rc = vjl_next(&fm->r, &p, &n, &lf)) == 1) {
		bom = vjl_bom(&fm->whole, fm->line, p, n);
		spot_buf_reset(&fm->mline);
		rc = vjl_line(&fm->v, fm->wp, p, n, bom, fm->rec, fm->line,
			      &fm->mline, err);
		if (rc < 0)
			return rc;
		if (rc)
			fm->rec++;
		if (rc == 1) {
			rc = vjl_form_row(fm, b, fm->mline.p + bom,
					  fm->mline.len - bom, err);
			if (rc)
				return rc;
			fm->kept++;
		}
		fm->line++;
		rc = 0;
	}
	spot_progress_add(fm->v.prog, fm->r.pos - pos0, fm->rec - rec0);
	if (rc == -E2BIG) {
		spot_err_set(err, "line %llu: %s", (unsigned long long)fm->line,
			     jsonl_err_text(JSONL_E_TOO_LONG));
		return -EIO;
	}
	if (rc < 0) {
		spot_err_set(err, "cannot read the source: %s", strerror(-rc));
		return rc;
	}
	if (!b->nrows && fm->kept < fm->limit && fm->line - 1 != fm->nlines) {
		spot_err_set(err, "%s", jsonl_err_text(JSONL_E_STALE));
		return -EIO;
	}
	return 0;
}

static const struct pipe_source_ops vjl_form_ops = {
	.columns = vjl_form_cols,
	.next_batch = vjl_form_next_batch,
	.dialect = NULL,
};

/* ---- the build ---- */

static void vjl_form_fini(struct vjl_form *fm)
{
	vjl_plan_free(fm->wp);
	jsonl_parser_free(fm->mp);
	view_cols_free(fm->ocols, fm->nocols);
	free(fm->ocol);
	free(fm->lists);
	spot_buf_fini(&fm->lb);
	spot_buf_fini(&fm->rbuf);
	spot_buf_fini(&fm->mline);
	spot_buf_fini(&fm->dec);
	for (size_t i = 0; fm->v.parts && i < fm->v.nparts; i++) {
		spot_buf_fini(&fm->v.parts[i].buf);
		jsonl_paths_free(fm->v.parts[i].paths);
	}
	free(fm->v.parts);
	free(fm->v.wk);
	spot_buf_fini(&fm->v.rbuf);
	view_cols_free(fm->v.cols, fm->v.ncols);
	jsonl_paths_free(fm->v.paths);
	pthread_cond_destroy(&fm->v.cv);
	pthread_mutex_destroy(&fm->v.mu);
}

/* Discover the paths (step 1, in parallel), bind the plan, the columns. */
static int vjl_form_open(struct vjl_form *fm, const struct view_req *req,
			 struct spot_err *err)
{
	size_t threads = req->threads ? req->threads : 1, nwp = 0;
	struct stat sb;
	int rc;

	if (fstat(req->fd, &sb)) {
		rc = -errno;
		spot_err_set(err, "cannot read the source: %s", strerror(-rc));
		return rc;
	}
	fm->v.size = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
	if (threads > 8)
		threads = 8;
	fm->v.wk = calloc(threads, sizeof(*fm->v.wk));
	rc = fm->v.wk ? jsonl_paths_new(&fm->v.paths) : -ENOMEM;
	if (!rc)
		rc = vjl_cut(&fm->v, VJL_CHUNK);
	if (rc) {
		spot_err_set(err, "cannot read the source: %s", strerror(-rc));
		return rc;
	}
	rc = vjl_step1(&fm->v, fm->v.nparts > 1 ? threads : 1, err);
	if (!rc)
		rc = vjl_plans(&fm->v, 1, &fm->wp, &nwp, err);
	if (rc)
		return rc;
	rc = vjl_form_columns(fm);
	if (rc == -ENOTUNIQ)
		spot_err_set(err, "an array and a field have one name in the "
				  "CSV and Parquet forms (a key holding '.')");
	else if (!rc && jsonl_parser_new(fm->v.paths, false, &fm->mp))
		rc = -ENOMEM;
	if (rc == -ENOMEM)
		spot_err_set(err, "out of memory");
	for (size_t i = 0; i < fm->v.nparts; i++)
		fm->nlines += fm->v.parts[i].nlines;
	return rc;
}

int view_jsonl_convert(const struct view_format *f, const struct view_req *req,
		       struct view_out *out, struct spot_err *err)
{
	const struct view_format *to = view_format_get(req->form);
	struct view_sink sink = { NULL, NULL, NULL, NULL };
	struct view_stream str = { &sink, req, &out->buf, false };
	const struct pipe_plan none = { 0 }; /* masked already */
	struct pipe_stats st = { 0, 0 };
	struct vjl_form fm;
	int rc;

	(void)f;
	if (!to || !to->sink_new) {
		spot_err_set(err, "no format %d", (int)req->form);
		return -ENOTSUP;
	}
	memset(&fm, 0, sizeof(fm));
	fm.v.fd = req->fd;
	fm.v.req = req;
	fm.v.prog = spot_progress_cur;
	fm.limit = req->limit;
	fm.typed = req->form == VIEW_FMT_PARQUET;
	fm.line = 1;
	spot_buf_init(&fm.v.rbuf);
	spot_buf_init(&fm.rbuf);
	spot_buf_init(&fm.mline);
	spot_buf_init(&fm.dec);
	spot_buf_init(&fm.lb);
	pthread_mutex_init(&fm.v.mu, NULL);
	pthread_cond_init(&fm.v.cv, NULL);
	rc = vjl_form_open(&fm, req, err);
	if (rc || !req->limit)
		goto out; /* a limit of 0: nothing, not even the header */
	vjl_reader_init(&fm.r, req->fd, 0, 0, &fm.rbuf);
	rc = to->sink_new(&out->buf, &sink, err);
	if (rc)
		goto out;
	view_sink_csv_injection(&sink, req->form, req->csv_injection);
	if (req->emit && req->limit == UINT64_MAX)
		rc = pipe_run(&vjl_form_ops, &fm, &none, &view_stream_ops, &str,
			      &st, err);
	else
		rc = pipe_run(&vjl_form_ops, &fm, &none, sink.ops, sink.state,
			      &st, err);
	if (sink.free)
		sink.free(sink.state);
out:
	out->rows_in = fm.rec;
	out->rows_out = fm.kept;
	vjl_form_fini(&fm);
	return rc;
}

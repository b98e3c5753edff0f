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
 * The columns (view_jsonl_schema.c): one per top-level key, sorted by its
 * bytes. A cell is the key's masked value: a string decoded, a number
 * and true/false their JSON text, null (or a key the record lacks) NULL,
 * an object or an array its JSON text exactly as the JSON Lines form
 * serves it (every element masked by its rule, unlisted fields null,
 * white space as in the source). CSV and Parquet get the same cells; the
 * Parquet writer is given each column's shape (pq_writer_set_shapes) and
 * shreds the JSON text of objects and arrays into structs and lists of
 * typed leaves. A masked value that does not fit its column's shape
 * fails the build, naming the line and the field (vjl_form_misfit).
 *
 * The rows stream through the sink (view_stream_ops), one batch at a
 * time, as every conversion does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "parquet.h"
#include "view_jsonl_i.h"

struct vjl_form {
	struct vjl v; /* paths and field-path columns: the plan's */
	struct vjl_plan *wp;
	struct vjl_part whole; /* for the BOM of line 1 */
	struct vjl_reader r;
	struct spot_buf rbuf;
	struct spot_buf mline; /* the masked record */
	struct spot_buf dec;
	struct vjl_fschema fs; /* the form's columns and shapes */
	uint64_t *served;      /* vjl_form_served: bit r, record r kept */
	uint64_t nserved;      /* records it saw */
	uint64_t nserved_cap;  /* words of served */
	bool typed;	       /* Parquet: shapes */
	uint64_t line, rec, kept, limit, nlines;
};

/* Note that the first pass kept record rec or not. 0 or -ENOMEM. */
static int vjl_form_note(struct vjl_form *fm, uint64_t rec, bool kept)
{
	if (rec / 64 >= fm->nserved_cap) {
		uint64_t cap = fm->nserved_cap ? fm->nserved_cap * 2 : 1024;
		uint64_t *nb;

		while (rec / 64 >= cap)
			cap *= 2;
		nb = realloc(fm->served, cap * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		memset(nb + fm->nserved_cap, 0,
		       (cap - fm->nserved_cap) * sizeof(*nb));
		fm->served = nb;
		fm->nserved_cap = cap;
	}
	if (kept)
		fm->served[rec / 64] |= 1ull << (rec % 64);
	fm->nserved = rec + 1;
	return 0;
}

/*
 * Whether the second pass decides on record rec as the first did. A
 * policy keeping state between records (a Lua global counting calls)
 * could keep a record on one pass and drop it on the other: the columns
 * would then name keys of a record not served, or a row be served whose
 * keys the columns never saw. Either fails the build.
 */
static bool vjl_form_agrees(const struct vjl_form *fm, uint64_t rec, bool kept)
{
	if (!fm->served)
		return true; /* one pass: nothing to agree with */
	if (rec >= fm->nserved)
		return false;
	return !!(fm->served[rec / 64] & (1ull << (rec % 64))) == kept;
}

/* ---- the rows ---- */

static int vjl_form_cols(void *state, const struct pipe_col **cols,
			 size_t *ncols, struct spot_err *err)
{
	struct vjl_form *fm = state;

	(void)err;
	*cols = fm->fs.cols;
	*ncols = fm->fs.ncols;
	return 0;
}

/* A masked value that does not fit its column: fail, naming the field. */
static int vjl_form_misfit(const struct vjl_form *fm, size_t c,
			   struct spot_err *err)
{
	char name[128];

	spot_printable(fm->fs.cols[c].name, name, sizeof(name));
	spot_err_set(err,
		     "line %llu, field '%s': the masked value is not of the "
		     "Parquet column's type",
		     (unsigned long long)fm->line, name);
	return -EIO;
}

/* Whether number text (p, n) is an integer literal (no '.', 'e'). */
static bool vjl_form_is_int(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '.' || p[i] == 'e' || p[i] == 'E')
			return false;
	return true;
}

/*
 * Whether value (p, n) of the masked record fits column c's shape at the
 * top (the writer checks the rest as it shreds).
 */
static bool vjl_form_fits(const struct vjl_form *fm, size_t c, const uint8_t *p,
			  size_t n)
{
	const struct pq_shape *sh = &fm->fs.shapes[c];

	if (!fm->typed || p[0] == 'n')
		return true;
	switch (sh->kind) {
	case PQ_SH_STRUCT:
		return p[0] == '{';
	case PQ_SH_LIST:
		return p[0] == '[';
	case PQ_SH_BOOLEAN:
		return p[0] == 't' || p[0] == 'f';
	case PQ_SH_INT64:
		return (p[0] == '-' || (p[0] >= '0' && p[0] <= '9')) &&
		       vjl_form_is_int(p, n) && n <= JSONL_INT64_DIGITS;
	case PQ_SH_DOUBLE:
		return p[0] == '-' || (p[0] >= '0' && p[0] <= '9');
	default:
		return true;
	}
}

/* The cell of masked value (p, n) (a value token), in arena a. */
static int vjl_form_cell(struct vjl_form *fm, struct spot_arena *a,
			 const uint8_t *p, size_t n, struct pipe_cell *c)
{
	c->flags = 0;
	c->type = PIPE_TEXT;
	if (p[0] == 'n') { /* null */
		c->type = PIPE_NULL;
		c->p = NULL;
		c->len = 0;
		return 0;
	}
	if (p[0] == '"') {
		spot_buf_reset(&fm->dec);
		if (jsonl_str_decode(p, n, &fm->dec))
			return -ENOMEM;
		p = fm->dec.p;
		n = fm->dec.len;
	} else if (p[0] == '-' || (p[0] >= '0' && p[0] <= '9')) {
		c->type = vjl_form_is_int(p, n) ? PIPE_INT : PIPE_REAL;
	}
	c->p = n ? spot_arena_dup(a, p, n) : NULL;
	c->len = n;
	return n && !c->p ? -ENOMEM : 0;
}

static void vjl_form_ws(const uint8_t *m, size_t n, size_t *i)
{
	while (*i < n && (m[*i] == ' ' || m[*i] == '\t' || m[*i] == '\r' ||
			  m[*i] == '\n'))
		(*i)++;
}

/*
 * The column of the key token at m[*i] (past it after). -EIO for a key
 * that is no column, -ENOMEM.
 */
static int vjl_form_key(struct vjl_form *fm, const uint8_t *m, size_t n,
			size_t *i, int64_t *c)
{
	size_t ks = *i;
	bool esc = false;

	if (ks >= n || m[ks] != '"')
		return -EIO;
	for (size_t j = ks + 1; j < n; j++) {
		if (m[j] == '\\') {
			esc = true;
			j++;
		} else if (m[j] == '"') {
			*i = j + 1;
			break;
		}
	}
	if (*i == ks)
		return -EIO;
	if (!esc) {
		*c = vjl_fschema_find(&fm->fs, m + ks + 1, *i - ks - 2);
	} else {
		spot_buf_reset(&fm->dec);
		if (jsonl_str_decode(m + ks, *i - ks, &fm->dec))
			return -ENOMEM;
		*c = vjl_fschema_find(&fm->fs, fm->dec.p, fm->dec.len);
	}
	return *c < 0 ? -EIO : 0;
}

/* Row b->nrows from masked record (m, n). 0, -ENOMEM or -EIO. */
static int vjl_form_row(struct vjl_form *fm, struct pipe_batch *b,
			const uint8_t *m, size_t n, struct spot_err *err)
{
	struct pipe_cell *row = &b->in[b->nrows * b->ncols];
	size_t i = 0, vs;
	int64_t c;
	int rc = 0;

	for (size_t k = 0; k < b->ncols; k++) {
		memset(&row[k], 0, sizeof(row[k]));
		row[k].type = PIPE_NULL;
	}
	vjl_form_ws(m, n, &i);
	if (i >= n || m[i++] != '{')
		goto stale;
	vjl_form_ws(m, n, &i);
	if (i < n && m[i] == '}')
		goto done;
	for (;;) {
		vjl_form_ws(m, n, &i);
		rc = vjl_form_key(fm, m, n, &i, &c);
		if (rc)
			break;
		vjl_form_ws(m, n, &i);
		if (i >= n || m[i++] != ':')
			goto stale;
		vjl_form_ws(m, n, &i);
		vs = i;
		if (pq_json_skip(m, n, &i) || i == vs)
			goto stale;
		if (!vjl_form_fits(fm, (size_t)c, m + vs, i - vs))
			return vjl_form_misfit(fm, (size_t)c, err);
		rc = vjl_form_cell(fm, &b->src_arena, m + vs, i - vs, &row[c]);
		if (rc)
			break;
		vjl_form_ws(m, n, &i);
		if (i >= n)
			goto stale;
		if (m[i++] == '}')
			break;
		if (m[i - 1] != ',')
			goto stale;
	}
	if (rc == -ENOMEM) {
		spot_err_set(err, "out of memory");
		return rc;
	}
	if (rc)
		goto stale;
done:
	b->keep[b->nrows++] = 1;
	return 0;
stale:
	/* Never: the masked record is JSON of the discovered keys. */
	spot_err_set(err, "line %llu: %s", (unsigned long long)fm->line,
		     jsonl_err_text(JSONL_E_STALE));
	return -EIO;
}

/*
 * The next line of r through the masking into fm->mline (record number
 * rec, line number line): 1 with *what as vjl_line says (1 a kept record,
 * 2 one the row filter dropped, 0 white space), the line in (*p, *n) and
 * its BOM's length in *bom; 0 at the end; -errno with err set.
 */
static int vjl_form_step(struct vjl_form *fm, struct vjl_reader *r,
			 uint64_t rec, uint64_t line, const uint8_t **p,
			 size_t *n, size_t *bom, int *what,
			 struct spot_err *err)
{
	bool lf;
	int rc = vjl_next(r, p, n, &lf);

	if (rc == -E2BIG) {
		spot_err_set(err, "line %llu: %s", (unsigned long long)line,
			     jsonl_err_text(JSONL_E_TOO_LONG));
		return -EIO;
	}
	if (rc < 0) {
		spot_err_set(err, "cannot read the source: %s", strerror(-rc));
		return rc;
	}
	if (!rc)
		return 0;
	*bom = vjl_bom(&fm->whole, line, *p, *n);
	spot_buf_reset(&fm->mline);
	rc = vjl_line(&fm->v, fm->wp, *p, *n, *bom, rec, line, &fm->mline, err);
	if (rc < 0)
		return rc;
	*what = rc;
	return 1;
}

static int vjl_form_next_batch(void *state, struct pipe_batch *b,
			       struct spot_err *err)
{
	struct vjl_form *fm = state;
	uint64_t rec0 = fm->rec, pos0 = fm->r.pos;
	const uint8_t *p;
	size_t n, bom;
	int rc = 0, what;

	while (b->nrows < b->cap && fm->kept < fm->limit &&
	       (rc = vjl_form_step(fm, &fm->r, fm->rec, fm->line, &p, &n, &bom,
				   &what, err)) == 1) {
		if (what && !vjl_form_agrees(fm, fm->rec, what == 1)) {
			spot_err_set(err,
				     "line %llu: the row filter decided "
				     "otherwise than on the first pass (a "
				     "policy keeping state between records?)",
				     (unsigned long long)fm->line);
			return -EIO;
		}
		if (what)
			fm->rec++;
		if (what == 1) {
			rc = vjl_form_row(fm, b, fm->mline.p, fm->mline.len,
					  err); /* no BOM served */
			if (rc)
				return rc;
			fm->kept++;
		}
		fm->line++;
		rc = 0;
	}
	if (rc < 0)
		return rc;
	spot_progress_add(fm->v.prog, fm->r.pos - pos0, fm->rec - rec0);
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
	vjl_fschema_fini(&fm->fs);
	free(fm->served);
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

/*
 * The paths of the records the forms serve, into *out (tagged like the
 * file's): with a row filter (row(), sample:, k_anonymity) or a limit,
 * the columns and their shapes must come from the served records alone,
 * or a header or a Parquet schema would name the keys (keys can be data:
 * "votes": {"Jasmine Payne": 1}) or the kinds of values of records that
 * are not served. Every record is masked as the rows will be (vjl_line)
 * and a kept one's source is discovered again; the pass after masks them
 * again, from the same record numbers, so a kept record that brings a
 * key this pass did not see fails the build (JSONL_E_STALE), never
 * serves it.
 */
static int vjl_form_served(struct vjl_form *fm, struct jsonl_paths **out,
			   struct spot_err *err)
{
	struct view_req q = *fm->v.req;
	const struct view_req *req = fm->v.req;
	struct jsonl_parser *dp = NULL;
	struct jsonl_paths *t = NULL;
	struct vjl_reader r;
	uint64_t rec = 0, line = 1, kept = 0;
	const uint8_t *p;
	size_t n, bom;
	int rc;

	q.record = NULL; /* the export review records the served rows once */
	fm->v.req = &q;
	vjl_reader_init(&r, req->fd, 0, 0, &fm->rbuf);
	rc = jsonl_paths_new(&t);
	if (!rc)
		rc = jsonl_parser_new(t, true, &dp);
	if (rc) {
		spot_err_set(err, "out of memory");
		goto out;
	}
	while (kept < fm->limit) {
		int what;

		if (!(line & 1023) &&
		    (rc = spot_progress_check(fm->v.prog, err)))
			break;
		rc = vjl_form_step(fm, &r, rec, line, &p, &n, &bom, &what, err);
		if (rc <= 0)
			break;
		if (what && vjl_form_note(fm, rec, what == 1)) {
			spot_err_set(err, "out of memory");
			rc = -ENOMEM;
			break;
		}
		rec += what > 0;
		if (what == 1) {
			kept++;
			rc = jsonl_parse(dp, p + bom, n - bom);
			if (rc < 0) { /* parsed once already: never */
				spot_err_set(err, "line %llu: %s",
					     (unsigned long long)line,
					     jsonl_err_text(JSONL_E_STALE));
				rc = rc == -ENOMEM ? rc : -EIO;
				break;
			}
		}
		line++;
		rc = 0;
	}
	if (!rc && (rc = jsonl_paths_tags_from(t, fm->v.paths))) {
		spot_err_set(err, "%s",
			     rc == -ENOMEM ? "out of memory"
					   : jsonl_err_text(JSONL_E_STALE));
		rc = rc == -ENOMEM ? rc : -EIO;
	}
out:
	jsonl_parser_free(dp);
	fm->v.req = req;
	vjl_plan_restart(fm->wp);
	if (rc)
		jsonl_paths_free(t);
	else
		*out = t;
	return rc;
}

/* Discover the paths (step 1, in parallel), bind the plan, the columns. */
static int vjl_form_open(struct vjl_form *fm, const struct view_req *req,
			 struct spot_err *err)
{
	size_t threads = req->threads ? req->threads : 1, nwp = 0;
	struct jsonl_paths *served = NULL;
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
	if (!rc && (vjl_plan_filters(fm->wp) || fm->limit != UINT64_MAX))
		rc = vjl_form_served(fm, &served, err);
	if (rc)
		return rc;
	rc = vjl_fschema_make(&fm->fs, served ? served : fm->v.paths, fm->wp,
			      fm->typed);
	jsonl_paths_free(served);
	if (rc == -ENOMEM)
		spot_err_set(err, "out of memory");
	else if (rc)
		spot_err_set(err, "the field paths cannot be read");
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
	spot_arena_init(&fm.fs.a);
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
	if (fm.typed &&
	    pq_writer_set_shapes(sink.state, fm.fs.shapes, fm.fs.ncols)) {
		spot_err_set(err, "a JSON Lines shape the Parquet writer "
				  "refuses");
		rc = -EIO;
	}
	if (rc)
		goto out_sink;
	if (req->emit && req->limit == UINT64_MAX)
		rc = pipe_run(&vjl_form_ops, &fm, &none, &view_stream_ops, &str,
			      &st, err);
	else
		rc = pipe_run(&vjl_form_ops, &fm, &none, sink.ops, sink.state,
			      &st, err);
out_sink:
	if (sink.free)
		sink.free(sink.state);
out:
	out->rows_in = fm.rec;
	out->rows_out = fm.kept;
	vjl_form_fini(&fm);
	return rc;
}

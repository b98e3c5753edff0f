/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view_sqlite.c - views of SQLite datasets: one CSV per table or view, and
 * the masked database itself. Each build reads one snapshot of the source.
 *
 * Views (configured SELECTs and the database's own views) run against the
 * masked tables, never against the source: the tables are built into a
 * private in-memory database first (never a file), and the view's SQL
 * reads that. A view's own column rules then apply on top.
 */
#include "view.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "csv.h"
#include "format.h"
#include "sqlite.h"

/* view_sqlite_list hands the codec's kinds through unchanged. */
_Static_assert((int)VIEW_SQL_TABLE == (int)SQLC_KIND_TABLE &&
		       (int)VIEW_SQL_VIEW == (int)SQLC_KIND_VIEW &&
		       (int)VIEW_SQL_VIRTUAL == (int)SQLC_KIND_VIRTUAL &&
		       (int)VIEW_SQL_SHADOW == (int)SQLC_KIND_SHADOW &&
		       (int)VIEW_SQL_INTERNAL == (int)SQLC_KIND_INTERNAL,
	       "view_sqlkind and sqlc_kind differ");

/* Builds of a live source that changed mid-build before giving up. */
#define VIEW_SQLITE_TRIES 3

static int view_sqlite_open(const char *path, struct sqlc_db **db,
			    struct spot_err *err)
{
	struct sqlc_opts o;

	sqlc_opts_init(&o);
	return sqlc_db_open(path, &o, db, err);
}

int view_sqlite_list(const char *path, char ***names, unsigned **kinds,
		     size_t *n, struct spot_err *err)
{
	struct sqlc_db *db = NULL;
	int rc = view_sqlite_open(path, &db, err);

	if (!rc)
		rc = sqlc_db_objects(db, names, kinds, n, err);
	sqlc_db_free(db);
	return rc;
}

void view_names_free(char **names, size_t n)
{
	sqlc_names_free(names, n);
}

int view_sqlite_check(const char *path, const char *name, const char *sql,
		      struct spot_err *err)
{
	struct sqlc_db *db = NULL;
	int rc = view_sqlite_open(path, &db, err);

	if (!rc)
		rc = sqlc_check_view_sql(db, name, sql, err);
	sqlc_db_free(db);
	return rc;
}

/* Whether c may be part of a bare SQL word (SQLite's identifier bytes). */
static bool view_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$' ||
	       (unsigned char)c >= 0x80;
}

/*
 * The end of the SQL token at p: a comment, a quoted string or name ('..',
 * "..", `..`, [..]), a bare word, or one other byte. NULL when a quoted
 * text or a block comment never ends.
 */
static const char *view_tok_end(const char *p)
{
	const char *e;
	char q;

	if (p[0] == '-' && p[1] == '-') {
		e = strchr(p, '\n');
		return e ? e + 1 : p + strlen(p);
	}
	if (p[0] == '/' && p[1] == '*') {
		e = strstr(p + 2, "*/");
		return e ? e + 2 : NULL;
	}
	if (*p == '\'' || *p == '"' || *p == '`' || *p == '[') {
		q = *p == '[' ? ']' : *p;
		for (e = p + 1; *e; e++) {
			if (*e != q)
				continue;
			if (q != ']' && e[1] == q) {
				e++; /* a doubled quote stands for itself */
				continue;
			}
			return e + 1;
		}
		return NULL;
	}
	if (view_word_char(*p)) {
		for (e = p; view_word_char(*e); e++)
			;
		return e;
	}
	return p + 1;
}

/*
 * The SELECT of a CREATE VIEW statement: what follows its AS keyword, the
 * first bare word AS outside parentheses (the optional column list) and
 * outside comments, strings and quoted names. NULL if there is none.
 */
static const char *view_after_as(const char *create)
{
	const char *p = create, *e;
	long depth = 0;

	for (; *p; p = e) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		e = view_tok_end(p);
		if (!e)
			return NULL;
		if (*p == '(')
			depth++;
		else if (*p == ')' && --depth < 0)
			return NULL;
		else if (!depth && e - p == 2 && !strncasecmp(p, "AS", 2)) {
			while (isspace((unsigned char)*e))
				e++;
			return *e ? e : NULL;
		}
	}
	return NULL;
}

int view_sqlite_view_sql(const char *path, const char *name, char **sql,
			 struct spot_err *err)
{
	struct sqlc_db *db = NULL;
	const char *sel;
	char *create = NULL;
	int rc = view_sqlite_open(path, &db, err);

	/* Schema text only, read through the hardened codec. */
	if (!rc)
		rc = sqlc_db_view_sql(db, name, &create, err);
	sqlc_db_free(db);
	if (rc)
		return rc;
	sel = view_after_as(create);
	if (!sel) {
		spot_err_set(err, "view '%s': cannot read its SELECT", name);
		rc = -EINVAL;
	} else {
		*sql = strdup(sel);
		rc = *sql ? 0 : -ENOMEM;
	}
	free(create);
	return rc;
}

/*
 * Generated columns recomputed from the served values (sqlc_regen): the
 * caller's plan plus one last transform, after every other has written
 * its output.
 */
struct view_regen {
	struct sqlc_regen *g; /* NULL: the table's definition is not usable */
	bool *gen;	      /* per column: generated */
	const char *table;    /* for messages */
	const char *colname;  /* a generated column without a rule */
	struct pipe_xform *xf;
	struct pipe_plan plan;
};

static int view_regen_fn(void *arg, struct pipe_batch *b, size_t col,
			 struct spot_err *err)
{
	struct view_regen *v = arg;
	int rc = 0;

	(void)col;
	if (v->g) {
		rc = sqlc_regen_batch(v->g, b, err);
		if (rc && rc != -ENOMEM)
			spot_err_prefix(err,
					"table %s: generated column '%s': ",
					v->table, v->colname);
		return rc;
	}
	for (size_t r = 0; r < b->nrows; r++) {
		if (!b->keep[r] || !sqlc_regen_needed(v->gen, b, r))
			continue;
		spot_err_set(err,
			     "table %s: generated column '%s' cannot be "
			     "recomputed from the masked values (its "
			     "definition is not usable here); give it a "
			     "masking rule (not served raw)",
			     v->table, v->colname);
		return -EIO;
	}
	return 0;
}

static void view_regen_fini(struct view_regen *v)
{
	sqlc_regen_free(v->g);
	free(v->gen);
	free(v->xf);
}

/*
 * A generated column was computed by SQLite from the row's raw values.
 * When a transform may change another column, one last transform
 * recomputes, row by row, every generated cell no transform set, from the
 * served values (which columns an expression reads is not known here, so
 * any changed column counts); a generated column with a masking rule of
 * its own is served through it. *plan becomes the plan to run. Rows that
 * cannot be recomputed fail the view (fail closed: never the raw value).
 */
static int view_regen_init(struct view_regen *v, const struct sqlc_source *src,
			   const char *name, const struct pipe_col *cols,
			   size_t ncols, const struct pipe_plan **plan,
			   struct spot_err *err)
{
	const struct pipe_plan *p = *plan;
	size_t first = SIZE_MAX, nxf = p ? p->nxf : 0;
	bool masked = false, own;
	struct spot_err ignored = { "" };
	int rc;

	for (size_t i = 0; i < nxf; i++)
		if (!sqlc_source_generated(src, p->xf[i].col))
			masked = true;
	for (size_t c = ncols; masked && c-- > 0;) {
		own = false;
		for (size_t i = 0; i < nxf; i++)
			own = own || p->xf[i].col == c;
		if (sqlc_source_generated(src, c) &&
		    (!own || first == SIZE_MAX))
			first = c;
	}
	if (first == SIZE_MAX)
		return 0; /* nothing masked, or no generated column */
	/* A recomputed column the row filter decided on: fail closed. */
	for (size_t i = 0; p && i < p->npinned; i++) {
		size_t c = p->pinned[i];
		bool own_xf = false;

		for (size_t j = 0; j < nxf; j++)
			own_xf = own_xf || p->xf[j].col == c;
		if (c < ncols && sqlc_source_generated(src, c) && !own_xf) {
			spot_err_set(err,
				     "table %s: column '%s' is a quasi-"
				     "identifier of k_anonymity and a "
				     "generated column recomputed from masked "
				     "values: give it a rule of its own",
				     name, cols[c].name);
			return -EIO;
		}
	}
	v->gen = calloc(ncols, sizeof(*v->gen));
	v->xf = calloc(nxf + 1, sizeof(*v->xf));
	if (!v->gen || !v->xf)
		return -ENOMEM;
	for (size_t c = 0; c < ncols; c++)
		v->gen[c] = sqlc_source_generated(src, c);
	/* Unusable definition: fail only if a row needs it (view_regen_fn). */
	rc = sqlc_regen_new(src, &v->g, &ignored);
	if (rc == -ENOMEM) {
		spot_err_set(err, "out of memory");
		return rc;
	}
	if (nxf)
		memcpy(v->xf, p->xf, nxf * sizeof(*v->xf));
	v->table = name;
	v->colname = cols[first].name;
	v->xf[nxf].col = first;
	v->xf[nxf].fn = view_regen_fn;
	v->xf[nxf].arg = v;
	v->xf[nxf].keeps_type = true; /* SQLite's own result types */
	v->xf[nxf].needs_row = true;
	v->plan.row_fn = p->row_fn;
	v->plan.row_arg = p->row_arg;
	v->plan.xf = v->xf;
	v->plan.nxf = nxf + 1;
	*plan = &v->plan;
	return 0;
}

/*
 * Run one object of db through bind and sink. BLOB cells are raw bytes
 * (PIPE_BLOB) for the plan, so methods mask the bytes, never their hex
 * form; a CSV sink writes them as hex (csv_writer_hex_blobs).
 */
static int view_sqlite_run(struct sqlc_db *db, const struct view_sqlobj *obj,
			   view_bind_tbl_fn bind, void *arg,
			   const struct pipe_sink_ops *kops, void *sink,
			   struct sqlc_dbwriter *w, struct pipe_stats *st,
			   struct spot_err *err)
{
	struct sqlc_source_opts so = { 0 };
	struct sqlc_source *src = NULL;
	const struct pipe_plan *plan = NULL;
	const struct pipe_col *cols;
	struct pipe_stats one = { 0, 0 };
	struct view_regen vr = { 0 };
	size_t ncols;
	int rc;

	if (obj->refused) {
		spot_err_set(err, "table %s: %s", obj->name, obj->refused);
		return -EIO;
	}
	rc = sqlc_source_new(db, obj->sql ? NULL : obj->name, obj->name,
			     obj->sql, &so, &src, err);
	if (rc)
		return rc;
	rc = sqlc_source_ops.columns(src, &cols, &ncols, err);
	if (!rc && bind)
		rc = bind(arg, obj->name, cols, ncols, &plan, err);
	if (!rc && !obj->sql)
		rc = view_regen_init(&vr, src, obj->name, cols, ncols, &plan,
				     err);
	if (!rc && w) {
		rc = sqlc_dbwriter_table(w, obj->name, src, err);
		for (size_t i = 0; !rc && plan && i < plan->nxf; i++)
			if (!plan->xf[i].keeps_type)
				rc = sqlc_dbwriter_coltype(w, plan->xf[i].col,
							   PIPE_TEXT);
	}
	if (!rc)
		rc = pipe_run(&sqlc_source_ops, src, plan, kops, sink, &one,
			      err);
	view_regen_fini(&vr);
	sqlc_source_free(src);
	if (!rc && st) {
		st->rows_in += one.rows_in;
		st->rows_out += one.rows_out;
	}
	return rc;
}

/*
 * Build a database of objs[i] for which (objs[i].sql == NULL) == tables
 * (all of them with both), reading db, into out.
 */
static int view_sqlite_tables(struct sqlc_db *db,
			      const struct view_sqlobj *objs, size_t n,
			      bool tables, bool views, view_bind_tbl_fn bind,
			      void *arg, const struct spot_rwfile *rw,
			      struct spot_buf *out, struct pipe_stats *st,
			      struct spot_err *err)
{
	struct sqlc_dbwriter *w = NULL;
	int rc, rc2;

	for (int tries = 0; tries < VIEW_SQLITE_TRIES; tries++) {
		struct spot_err scratch;

		/* In rw: from an empty file at every try. */
		rc = rw ? rw->truncate(rw->arg, 0) : 0;
		if (!rc)
			rc = rw ? sqlc_dbwriter_new_rw(&w, rw, err)
				: sqlc_dbwriter_new(&w, err);
		if (!rc)
			rc = sqlc_db_begin(db, err);
		if (rc)
			break;
		for (size_t i = 0; !rc && i < n; i++)
			if (objs[i].sql ? views : tables)
				rc = view_sqlite_run(db, &objs[i], bind, arg,
						     &sqlc_dbwriter_ops, w, w,
						     st, err);
		rc2 = sqlc_db_end(db, rc ? &scratch : err);
		if (!rc)
			rc = rc2;
		if (!rc)
			rc = sqlc_dbwriter_finish(w, out, err);
		sqlc_dbwriter_free(w);
		w = NULL;
		if (rc != -EAGAIN || tries == VIEW_SQLITE_TRIES - 1)
			break;
		spot_buf_reset(out); /* changed under us: build again */
	}
	sqlc_dbwriter_free(w);
	return rc;
}

static bool view_has_views(const struct view_sqlobj *objs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (objs[i].sql)
			return true;
	return false;
}

/*
 * Open the database the views read: the source itself when nothing needs
 * views, else the masked tables, built into memory first.
 */
/*
 * The staging database's place: a scratch file of req when the source is
 * past the room in memory (the masked tables are about its size), else
 * memory (*scratch untouched). 0 or -errno with err set.
 */
static int view_sqlite_scratch(const struct view_req *req,
			       struct spot_rwfile *scratch, bool *have,
			       struct spot_err *err)
{
	struct stat st;
	int rc;

	*have = false;
	if (!req || !req->scratch_new || fstat(req->fd, &st) ||
	    (uint64_t)st.st_size <= req->emit_after)
		return 0;
	rc = req->scratch_new(req->scratch_arg, scratch);
	if (rc)
		spot_err_set(err, "cannot make a scratch file in the store: %s",
			     strerror(-rc));
	*have = !rc;
	return rc;
}

/*
 * Open the source, or with views the staging database: the source's
 * tables masked by their rules, where views then run. The staging is in
 * memory, or in *scratch (*have set; free it after the database) when
 * req gives scratch files and the source is past the room in memory.
 */
static int view_sqlite_open_for(const char *path,
				const struct view_sqlobj *objs, size_t n,
				bool need_views, view_bind_tbl_fn bind,
				void *arg, const struct view_req *req,
				struct spot_rwfile *scratch, bool *have,
				struct pipe_stats *st, struct sqlc_db **db,
				struct spot_err *err)
{
	struct spot_buf tabs;
	int rc;

	*have = false;
	rc = view_sqlite_open(path, db, err);
	if (rc || !need_views)
		return rc;
	spot_buf_init(&tabs);
	rc = view_sqlite_scratch(req, scratch, have, err);
	if (!rc)
		rc = view_sqlite_tables(*db, objs, n, true, false, bind, arg,
					*have ? scratch : NULL, &tabs, st, err);
	sqlc_db_free(*db);
	*db = NULL;
	if (!rc && *have) {
		spot_log(SPOT_LOG_INFO,
			 "masked tables for database views: %" PRIu64
			 " bytes staged in the store",
			 scratch->size(scratch->arg));
		rc = sqlc_db_open_rw("masked tables", scratch, NULL, db, err);
	} else if (!rc)
		rc = sqlc_db_open_mem("masked tables", tabs.p, tabs.len, NULL,
				      db, err);
	spot_buf_fini(&tabs);
	return rc;
}

static void view_sqlite_scratch_free(const struct view_req *req,
				     struct spot_rwfile *scratch, bool have)
{
	if (have)
		req->scratch_free(req->scratch_arg, scratch);
}

/* view_sqlite_csv, streaming when req asks (req->emit; NULL: never). */
static int view_sqlite_csv_to(const char *path, const struct view_sqlobj *objs,
			      size_t n, size_t which, view_bind_tbl_fn bind,
			      void *arg, const struct view_req *req,
			      struct spot_buf *out, struct pipe_stats *st,
			      struct spot_err *err)
{
	struct sqlc_db *db = NULL;
	struct csv_writer *w = NULL;
	struct pipe_stats ignore = { 0, 0 };
	struct view_sqlobj obj = objs[which];
	struct view_sink inner = { &csv_sink_ops, NULL, NULL, NULL };
	struct view_stream str = { &inner, req, out, false };
	bool stream = req && req->emit, have = false;
	struct spot_rwfile staging;
	int rc, rc2;

	rc = view_sqlite_open_for(path, objs, n, obj.sql != NULL, bind, arg,
				  req, &staging, &have, &ignore, &db, err);
	if (!rc)
		rc = csv_writer_new(out, &w) ? -ENOMEM : 0;
	if (!rc) /* masked as bytes, written as hex */
		csv_writer_hex_blobs(w);
	if (!rc && req && req->csv_injection == VIEW_CSV_INJ_OFF)
		csv_writer_guard(w, false);
	inner.state = w;
	for (int tries = 0; !rc && tries < VIEW_SQLITE_TRIES; tries++) {
		struct spot_err scratch;
		size_t start = out->len;

		rc = sqlc_db_begin(db, err);
		if (rc)
			break;
		rc = view_sqlite_run(db, &obj, bind, arg,
				     stream ? &view_stream_ops : &csv_sink_ops,
				     stream ? (void *)&str : (void *)w, NULL,
				     st, err);
		rc2 = sqlc_db_end(db, rc ? &scratch : err);
		if (!rc)
			rc = rc2;
		if (rc != -EAGAIN || tries == VIEW_SQLITE_TRIES - 1)
			break;
		/* Another snapshot: from the first byte again. */
		rc = stream ? view_stream_restart(&str) : 0;
		if (!stream)
			out->len = start;
		if (rc)
			spot_err_set(err, "cannot restart the streamed view");
	}
	csv_writer_free(w);
	sqlc_db_free(db);
	view_sqlite_scratch_free(req, &staging, have);
	return rc;
}

int view_sqlite_csv(const char *path, const struct view_sqlobj *objs, size_t n,
		    size_t which, view_bind_tbl_fn bind, void *arg,
		    struct spot_buf *out, struct pipe_stats *st,
		    struct spot_err *err)
{
	return view_sqlite_csv_to(path, objs, n, which, bind, arg, NULL, out,
				  st, err);
}

/* Rules for views only: staged tables are masked already. */
struct view_views_only {
	view_bind_tbl_fn bind;
	void *arg;
	const struct view_sqlobj *objs;
	size_t n;
};

static int view_bind_views_only(void *arg, const char *table,
				const struct pipe_col *cols, size_t ncols,
				const struct pipe_plan **plan,
				struct spot_err *err)
{
	struct view_views_only *v = arg;

	for (size_t i = 0; i < v->n; i++)
		if (v->objs[i].sql && !strcmp(v->objs[i].name, table))
			return v->bind(v->arg, table, cols, ncols, plan, err);
	*plan = NULL;
	return 0;
}

/* view_sqlite_db, built in rw when it is not NULL; req (NULL: none) may
 * give a scratch file for the staging database. */
static int view_sqlite_db_to(const char *path, const struct view_sqlobj *objs,
			     size_t n, view_bind_tbl_fn bind, void *arg,
			     const struct view_req *req,
			     const struct spot_rwfile *rw, struct spot_buf *out,
			     struct pipe_stats *st, struct spot_err *err)
{
	struct view_views_only vo = { bind, arg, objs, n };
	bool views = view_has_views(objs, n), have = false;
	struct spot_rwfile staging;
	struct sqlc_db *db = NULL;
	int rc;

	/* With views: tables masked once into the staging database, then
	 * copied as they are, and views run there with their own rules. */
	rc = view_sqlite_open_for(path, objs, n, views, bind, arg, req,
				  &staging, &have, st, &db, err);
	if (!rc)
		rc = view_sqlite_tables(db, objs, n, true, true,
					views ? view_bind_views_only : bind,
					views ? (void *)&vo : arg, rw, out,
					views ? NULL : st, err);
	sqlc_db_free(db);
	view_sqlite_scratch_free(req, &staging, have);
	return rc;
}

int view_sqlite_db(const char *path, const struct view_sqlobj *objs, size_t n,
		   view_bind_tbl_fn bind, void *arg, struct spot_buf *out,
		   struct pipe_stats *st, struct spot_err *err)
{
	return view_sqlite_db_to(path, objs, n, bind, arg, NULL, NULL, out, st,
				 err);
}

/* Append the columns of one object of db to (*cols, *n). */
static int view_obj_cols(struct sqlc_db *db, const struct view_sqlobj *o,
			 struct pipe_col **all, size_t *n, struct spot_err *err)
{
	struct sqlc_source_opts so = { 0 };
	struct sqlc_source *src = NULL;
	const struct pipe_col *cols;
	struct pipe_col *nc;
	size_t ncols;
	int rc = sqlc_source_new(db, o->sql ? NULL : o->name, o->name, o->sql,
				 &so, &src, err);

	if (!rc)
		rc = sqlc_source_ops.columns(src, &cols, &ncols, err);
	if (!rc) {
		nc = realloc(*all, (*n + ncols + 1) * sizeof(*nc));
		rc = nc ? 0 : -ENOMEM;
		*all = nc ? nc : *all;
	}
	for (size_t i = 0; !rc && i < ncols; i++) {
		nc = &(*all)[*n];
		*nc = cols[i];
		nc->name = malloc(cols[i].name_len + 1);
		if (!nc->name) {
			rc = -ENOMEM;
			break;
		}
		memcpy(nc->name, cols[i].name, cols[i].name_len + 1);
		(*n)++;
	}
	if (rc == -ENOMEM)
		spot_err_set(err, "out of memory");
	sqlc_source_free(src);
	return rc;
}

int view_sqlite_columns(const char *path, const struct view_sqlobj *objs,
			size_t n, struct pipe_col **cols, size_t *ncols,
			struct spot_err *err)
{
	struct sqlc_db *db = NULL;
	struct spot_err scratch;
	struct sqlc_opts o;
	int rc;

	*cols = NULL;
	*ncols = 0;
	sqlc_opts_init(&o);
	rc = sqlc_db_open(path, &o, &db, err);
	if (!rc)
		rc = sqlc_db_begin(db, err);
	for (size_t i = 0; !rc && i < n; i++)
		rc = view_obj_cols(db, &objs[i], cols, ncols, err);
	if (db) {
		int rc2 = sqlc_db_end(db, rc ? &scratch : err);

		rc = rc ? rc : rc2;
	}
	sqlc_db_free(db);
	if (!rc && !*cols)
		*cols = calloc(1, sizeof(**cols)); /* none: not NULL */
	if (!rc && !*cols) {
		spot_err_set(err, "out of memory");
		rc = -ENOMEM;
	}
	if (rc) {
		view_cols_free(*cols, *ncols);
		*cols = NULL;
		*ncols = 0;
	}
	return rc;
}

/*
 * Where the whole database is built: in memory, or in req->rw (the view's
 * spill file) when the source alone is past the room left in memory (a
 * masked database is about its tables' size).
 */
static const struct spot_rwfile *view_sqlite_rw(const struct view_req *req)
{
	struct stat st;

	if (!req->rw || fstat(req->fd, &st) ||
	    (uint64_t)st.st_size <= req->emit_after)
		return NULL;
	return req->rw;
}

/* A table's CSV (req->sub), or the whole database. */
int view_sqlite_build(const struct view_format *f, const struct view_req *req,
		      struct view_out *out, struct spot_err *err)
{
	struct pipe_stats st = { 0, 0 };
	size_t which = SIZE_MAX;
	int rc;

	(void)f;
	for (size_t i = 0; req->sub[0] && i < req->nobjs; i++)
		if (!strcmp(req->objs[i].name, req->sub))
			which = i;
	if (req->sub[0] && which == SIZE_MAX) {
		spot_err_set(err, "no table or view '%s'", req->sub);
		return -ENOENT;
	}
	if (req->sub[0])
		rc = view_sqlite_csv_to(req->path, req->objs, req->nobjs, which,
					req->bind, req->arg, req, &out->buf,
					&st, err);
	else
		rc = view_sqlite_db_to(
			req->path, req->objs, req->nobjs, req->bind, req->arg,
			req, view_sqlite_rw(req), &out->buf, &st, err);
	out->rows_in = st.rows_in;
	out->rows_out = st.rows_out;
	return rc;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * report_rows.c - the rows `spotfs report` counts: the dataset built for
 * a role as it is served, held in memory (a memfd; a database
 * deserialized into SQLite's memory, read-only) and read back with each
 * cell's type, in the form that keeps the most values apart.
 */
#include "report_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "plan.h"

/* ---- reading ---- */

static int rpt_read_db(struct rpt *r, rpt_row_fn fn, struct spot_err *err);

int rpt_read(struct rpt *r, rpt_row_fn fn, struct spot_err *err)
{
	const struct view_format *f = view_format_get(r->rfmt);
	struct view_req req = { 0 };
	struct view_source src = { NULL, NULL, NULL, NULL };
	const struct pipe_col *cols;
	struct pipe_batch b;
	uint64_t index = 0;
	size_t ncols;
	int rc;

	if (r->db)
		return rpt_read_db(r, fn, err);
	req.fd = r->fd;
	req.delim = r->delim;
	req.sub = "";
	if (r->field_paths)
		req.form = r->rfmt; /* JSON Lines records, not a conversion */
	if (lseek(r->fd, 0, SEEK_SET) < 0)
		return -errno;
	rc = f->source_open(&req, &src, err);
	if (!rc)
		rc = src.ops->columns(src.state, &cols, &ncols, err);
	if (!rc && (rc = pipe_batch_init(&b, ncols, PIPE_BATCH_ROWS)))
		spot_err_set(err, "out of memory");
	if (rc)
		goto out;
	for (;;) {
		pipe_batch_clear(&b);
		rc = src.ops->next_batch(src.state, &b, err);
		if (rc || !b.nrows)
			break;
		for (size_t i = 0; !rc && i < b.nrows; i++)
			rc = fn(r, &b, i, index++);
		if (rc)
			break;
	}
	pipe_batch_fini(&b);
out:
	if (src.free)
		src.free(src.obj);
	return rc;
}

/* Say which quasi-identifier the served table lacks (names only). */
static void rpt_db_missing(struct rpt *r, const char *table,
			   struct spot_err *err)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(r->db,
			       "SELECT 1 FROM pragma_table_info(?1) "
			       "WHERE name = ?2",
			       -1, &st, NULL) == SQLITE_OK)
		for (size_t q = 0; q < r->nquasi; q++) {
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, r->quasi[q], -1,
					  SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_ROW) {
				spot_err_set(err,
					     "'%s' is not a column of %s as "
					     "served",
					     r->quasi[q], r->dataset);
				break;
			}
		}
	sqlite3_finalize(st);
	if (!err->msg[0])
		spot_err_set(err, "%s: the served table cannot be read",
			     r->dataset);
}

/* SELECT "q1", "q2", ... FROM "table" of the served database. */
static int rpt_db_select(struct rpt *r, const char *table, struct spot_err *err)
{
	struct spot_buf sql;
	int rc = 0;

	spot_buf_init(&sql);
	rc = spot_buf_printf(&sql, "SELECT ");
	for (size_t q = 0; !rc && q < r->nquasi; q++) {
		rc = spot_buf_printf(&sql, "%s\"", q ? ", " : "");
		for (const char *c = r->quasi[q]; !rc && *c; c++)
			rc = spot_buf_printf(&sql, *c == '"' ? "\"\"" : "%c",
					     *c);
		if (!rc)
			rc = spot_buf_putc(&sql, '"');
	}
	if (!rc)
		rc = spot_buf_printf(&sql, " FROM main.\"");
	for (const char *c = table; !rc && *c; c++)
		rc = spot_buf_printf(&sql, *c == '"' ? "\"\"" : "%c", *c);
	if (!rc)
		rc = spot_buf_printf(&sql, "\"");
	if (!rc)
		rc = spot_buf_putc(&sql, 0);
	if (rc) {
		spot_buf_fini(&sql);
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	/* "nope" must not read as the string 'nope' for a missing column. */
	sqlite3_db_config(r->db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
	if (sqlite3_prepare_v2(r->db, (const char *)sql.p, -1, &r->sel, NULL) !=
	    SQLITE_OK) {
		rpt_db_missing(r, table, err);
		rc = -ENOENT;
	}
	spot_buf_fini(&sql);
	return rc;
}

/* Read the served table's rows, each cell with its type. */
static int rpt_read_db(struct rpt *r, rpt_row_fn fn, struct spot_err *err)
{
	struct pipe_cell cells[RPT_MAX_QUASI];
	char reals[RPT_MAX_QUASI][32];
	struct pipe_batch b;
	uint64_t index = 0;
	int rc = 0, step;

	memset(&b, 0, sizeof(b));
	b.in = cells;
	b.ncols = r->nquasi;
	b.nrows = 1;
	sqlite3_reset(r->sel);
	while (!rc && (step = sqlite3_step(r->sel)) == SQLITE_ROW) {
		for (size_t q = 0; q < r->nquasi; q++) {
			struct pipe_cell *c = &cells[q];
			int i = (int)q;

			memset(c, 0, sizeof(*c));
			switch (sqlite3_column_type(r->sel, i)) {
			case SQLITE_NULL:
				c->type = PIPE_NULL;
				continue;
			case SQLITE_INTEGER:
				c->type = PIPE_INT;
				c->p = sqlite3_column_text(r->sel, i);
				break;
			case SQLITE_FLOAT:
				/* Every bit of the double: round-trips. */
				c->type = PIPE_REAL;
				snprintf(reals[q], sizeof(reals[q]), "%.17g",
					 sqlite3_column_double(r->sel, i));
				c->p = (const uint8_t *)reals[q];
				c->len = strlen(reals[q]);
				continue;
			case SQLITE_BLOB:
				c->type = PIPE_BLOB;
				c->p = sqlite3_column_blob(r->sel, i);
				break;
			default:
				c->type = PIPE_TEXT;
				c->p = sqlite3_column_text(r->sel, i);
				break;
			}
			c->len = (size_t)sqlite3_column_bytes(r->sel, i);
			if (!c->p && c->len)
				return -ENOMEM;
		}
		rc = fn(r, &b, 0, index++);
	}
	if (!rc && step != SQLITE_DONE) {
		spot_err_set(err, "%s: reading the served table failed",
			     r->dataset);
		rc = -EIO;
	}
	return rc;
}

/* Find the columns of the quasi-identifiers in the served header. */
int rpt_columns(struct rpt *r, struct spot_err *err)
{
	const struct view_format *f = view_format_get(r->rfmt);
	struct view_req req = { 0 };
	struct view_source src = { NULL, NULL, NULL, NULL };
	const struct pipe_col *cols;
	size_t ncols;
	int rc;

	if (r->db) {
		for (size_t q = 0; q < r->nquasi; q++)
			r->qcol[q] = q;
		return 0; /* rpt_db_select found them */
	}
	req.fd = r->fd;
	req.delim = r->delim;
	req.sub = "";
	if (r->field_paths)
		req.form = r->rfmt; /* JSON Lines records, not a conversion */
	if (lseek(r->fd, 0, SEEK_SET) < 0)
		return -errno;
	rc = f->source_open(&req, &src, err);
	if (!rc)
		rc = src.ops->columns(src.state, &cols, &ncols, err);
	for (size_t q = 0; !rc && q < r->nquasi; q++) {
		int i = pipe_col_find(cols, ncols, r->quasi[q],
				      strlen(r->quasi[q]));

		/* The same refusals as k_anonymity's (a list element, a
		 * JSON Lines field some record holds as an object). */
		rc = plan_kanon_quasi_check(r->dataset, r->quasi[q], cols,
					    ncols, r->field_paths, err);
		if (rc)
			break;
		if (i < 0) {
			spot_err_set(err,
				     "'%s' is not a column of %s as served",
				     r->quasi[q], r->dataset);
			rc = -ENOENT;
		}
		r->qcol[q] = (size_t)i;
	}
	if (src.free)
		src.free(src.obj);
	return rc;
}

/* ---- building ---- */

/* Copy a built view into r->fd. */
static int rpt_copy(struct rpt *r, struct vc_content *out, struct spot_err *err)
{
	uint8_t *chunk = malloc(RPT_COPY_CHUNK);
	int rc = chunk ? 0 : -ENOMEM;

	for (uint64_t off = 0; !rc && off < out->size;) {
		ssize_t n = out->read(out->obj, chunk, RPT_COPY_CHUNK, off);

		if (n <= 0) {
			rc = n < 0 ? (int)n : -EIO;
			spot_err_set(err, "reading the view: %s",
				     strerror(-rc));
			break;
		}
		for (ssize_t w = 0; !rc && w < n;) {
			ssize_t k = write(r->fd, chunk + w, (size_t)(n - w));

			if (k < 0)
				rc = -errno;
			else
				w += k;
		}
		off += (uint64_t)n;
	}
	if (rc == -ENOMEM)
		spot_err_set(err, "out of memory");
	free(chunk);
	out->free(out->obj);
	return rc;
}

/*
 * A table of a database: the served database itself, in memory, read
 * typed (its CSV form merges NULL and "", 1 and '1'; the database keeps
 * them apart, so its classes are the smaller ones).
 */
static int rpt_served_db(struct rpt *r, struct sbx *s,
			 const struct cfg_dataset *d, const char *sub,
			 struct spot_err *err)
{
	struct vc_content out;
	uint8_t *mem = NULL;
	int rc = sbx_build(s, d, "", r->role, &out, err);

	if (rc)
		return rc;
	if (out.size > (uint64_t)INT64_MAX ||
	    !(mem = sqlite3_malloc64(out.size ? out.size : 1)))
		rc = -ENOMEM;
	for (uint64_t off = 0; !rc && off < out.size;) {
		ssize_t n = out.read(out.obj, mem + off,
				     (size_t)(out.size - off), off);

		if (n <= 0)
			rc = n < 0 ? (int)n : -EIO;
		else
			off += (uint64_t)n;
	}
	out.free(out.obj);
	if (!rc && sqlite3_open_v2(":memory:", &r->db, SQLITE_OPEN_READWRITE,
				   NULL) != SQLITE_OK)
		rc = -ENOMEM;
	if (!rc && sqlite3_deserialize(
			   r->db, "main", mem, (sqlite3_int64)out.size,
			   (sqlite3_int64)out.size,
			   SQLITE_DESERIALIZE_FREEONCLOSE |
				   SQLITE_DESERIALIZE_READONLY) != SQLITE_OK) {
		mem = NULL; /* freed by sqlite3_deserialize */
		rc = -EIO;
	} else if (!rc) {
		mem = NULL;
	}
	sqlite3_free(mem);
	if (rc) {
		spot_err_set(err, "%s: the served database: %s", d->name,
			     strerror(-rc));
		return rc;
	}
	return rpt_db_select(r, sub, err);
}

/*
 * The served rows of d (table sub) for role in r->fd: a dataset served as
 * a Parquet file (its own, or a CSV's form) as that file (NULL and ""
 * apart, typed values), a JSON Lines dataset as its masked records, and
 * anything else as its CSV form.
 */
int rpt_served(struct rpt *r, struct sbx *s, const struct cfg_dataset *d,
	       const char *sub, struct spot_err *err)
{
	const struct view_format *f = view_format_get(sbx_format(s, d));
	struct spot_buf csv;
	struct vc_content out;
	const char *form;
	unsigned forms;
	bool self = true;
	int rc;

	r->fd = memfd_create("spotfs-report", MFD_CLOEXEC);
	if (r->fd < 0) {
		spot_err_set(err, "memfd_create: %s", strerror(errno));
		return -errno;
	}
	r->rfmt = VIEW_FMT_CSV;
	r->field_paths = f && f->field_paths;
	if (r->field_paths && !sub[0]) {
		/* JSON Lines: the masked records as its own form serves them,
		 * whatever forms are served (the same values in every form;
		 * their columns are top-level keys, a quasi field is a field
		 * path), each field typed (1 and "1", null and "" apart). */
		r->rfmt = f->id;
		rc = sbx_build(s, d, "", r->role, &out, err);
		return rc ? rc : rpt_copy(r, &out, err);
	}
	forms = f && !sub[0] ? sbx_forms(s, d, &self) : 0;
	form = forms & CFG_AS_PARQUET ? "parquet" : NULL;
	if (f && f->id == VIEW_FMT_PARQUET && !sub[0] && self)
		form = ""; /* the Parquet file itself */
	if (form) {
		/* A Parquet file or form served: classes as its readers see
		 * them (NULL is not "", a CSV's form holds NULLs a rule
		 * made; the CSV form merges them with ""). */
		r->rfmt = VIEW_FMT_PARQUET;
		rc = sbx_build(s, d, form, r->role, &out, err);
		return rc ? rc : rpt_copy(r, &out, err);
	}
	spot_buf_init(&csv);
	if (f && f->id != VIEW_FMT_CSV && !sub[0]) {
		/* Other formats (a Parquet file served only as CSV): their
		 * rows as the CSV form serves them. */
		rc = sbx_csv_rows(s, d, r->role, UINT64_MAX, &csv, err);
		for (size_t off = 0; !rc && off < csv.len;) {
			ssize_t n = write(r->fd, csv.p + off, csv.len - off);

			if (n < 0)
				rc = -errno;
			else
				off += (size_t)n;
		}
		spot_buf_fini(&csv);
		return rc;
	}
	if (sub[0])
		return rpt_served_db(r, s, d, sub, err);
	r->delim = d->delimiter;
	rc = sbx_build(s, d, sub, r->role, &out, err);
	return rc ? rc : rpt_copy(r, &out, err);
}

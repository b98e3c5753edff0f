/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view_parquet.c - Parquet view builds: the Parquet entry of the table of
 * formats. Parquet in, Parquet out serves unmasked column chunks from the
 * source at read time; Parquet in, CSV out (as: csv, and previews) runs the
 * decoded rows through the pipeline.
 */
#include "format.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "parquet.h"
#include "pq_rows.h"

/* A built Parquet view: the served segments; the source is the caller's. */
struct view_pq {
	struct pq_file *file;
	struct pq_view *view;
};

static ssize_t view_pq_read(void *obj, int fd, void *buf, size_t len,
			    uint64_t off)
{
	struct view_pq *p = obj;

	return pq_view_read(p->view, fd, buf, len, off);
}

static void view_pq_free(void *obj)
{
	struct view_pq *p = obj;

	if (!p)
		return;
	pq_view_free(p->view);
	pq_file_free(p->file);
	free(p);
}

/* Further plans for the build's workers, bound like the first. */
struct view_pq_more {
	const struct view_req *req;
	const struct pipe_col *cols;
	size_t ncols;
};

static int view_pq_more_plan(void *arg, const struct pipe_plan **plan,
			     struct spot_err *err)
{
	struct view_pq_more *m = arg;

	return m->req->more(m->req->arg, NULL, m->cols, m->ncols, plan, err);
}

/*
 * Parquet in, Parquet out: only masked column chunks are rebuilt and the
 * rest is read from the source at each read; a row filter rebuilds every
 * column of the file (see parquet.h).
 */
static int view_pq_same(const struct view_req *req, struct view_out *out,
			struct spot_err *err)
{
	const struct pipe_plan *plan = NULL;
	const struct pipe_col *cols = NULL;
	struct view_pq *p = calloc(1, sizeof(*p));
	struct view_pq_more pm = { req, NULL, 0 };
	struct pq_build_opts opts = { req->threads, view_pq_more_plan, &pm };
	size_t ncols = 0;
	int rc;

	if (!p)
		return -ENOMEM;
	rc = pq_file_open(req->fd, &p->file, err);
	if (!rc)
		rc = pq_file_columns(p->file, &cols, &ncols);
	if (!rc)
		rc = view_req_bind((void *)req, cols, ncols, &plan, err);
	for (size_t i = 0; !rc && i < plan->nxf; i++)
		rc = pq_column_check_maskable(p->file, plan->xf[i].col, err);
	pm.cols = cols;
	pm.ncols = ncols;
	if (!rc)
		rc = pq_view_build(p->file, req->fd, plan, &opts, &p->view,
				   err);
	if (rc) {
		view_pq_free(p);
		return rc;
	}
	out->obj = p;
	out->size = pq_view_size(p->view);
	out->mem = pq_view_mem(p->view);
	out->read = view_pq_read;
	out->free = view_pq_free;
	out->rows_in = pq_file_num_rows(p->file);
	out->rows_out = pq_view_num_rows(p->view);
	return 0;
}

/* A CSV sink that stops the pipeline after a number of kept rows. */
struct view_limit {
	struct csv_writer *w;
	uint64_t left;
};

static int view_limit_begin(void *sink, const struct pipe_col *cols,
			    size_t ncols, const void *dialect,
			    struct spot_err *err)
{
	struct view_limit *l = sink;

	return csv_sink_ops.begin(l->w, cols, ncols, dialect, err);
}

static int view_limit_rows(void *sink, const struct pipe_batch *b,
			   struct spot_err *err)
{
	struct view_limit *l = sink;
	struct pipe_batch part = *b;
	uint64_t kept = 0;
	size_t r;

	for (r = 0; r < b->nrows && kept < l->left; r++)
		kept += b->keep[r];
	part.nrows = r;
	if (csv_sink_ops.rows(l->w, &part, err))
		return -ENOMEM;
	l->left -= kept;
	return l->left ? 0 : -ECANCELED; /* enough: stop reading */
}

static int view_limit_end(void *sink, struct spot_err *err)
{
	struct view_limit *l = sink;

	return csv_sink_ops.end(l->w, err);
}

static const struct pipe_sink_ops view_limit_ops = {
	view_limit_begin,
	view_limit_rows,
	view_limit_end,
};

/* The first req->limit rows as CSV. */
static int view_pq_csv(const struct view_req *req, struct view_out *out,
		       struct spot_err *err)
{
	struct view_limit lim = { NULL, req->limit };
	struct pipe_stats st = { 0, 0 };
	const struct pipe_plan *plan = NULL;
	const struct pipe_col *cols;
	struct pq_file *f = NULL;
	struct pq_rows *rows = NULL;
	size_t ncols;
	int rc;

	rc = pq_file_open(req->fd, &f, err);
	if (!rc)
		rc = pq_rows_open(f, req->fd, &rows, err);
	if (!rc)
		rc = pq_file_columns(f, &cols, &ncols);
	if (!rc)
		rc = view_req_bind((void *)req, cols, ncols, &plan, err);
	if (!rc)
		rc = csv_writer_new(&out->buf, &lim.w);
	if (!rc && req->limit)
		rc = pipe_run(&pq_source_ops, rows, plan, &view_limit_ops, &lim,
			      &st, err);
	if (rc == -ECANCELED)
		rc = 0;
	csv_writer_free(lim.w);
	pq_rows_free(rows);
	pq_file_free(f);
	out->rows_in = st.rows_in;
	out->rows_out = st.rows_out;
	return rc;
}

int view_parquet_build(const struct view_req *req, struct view_out *out,
		       struct spot_err *err)
{
	if (req->form == VIEW_FMT_PARQUET)
		return view_pq_same(req, out, err);
	if (req->form == VIEW_FMT_CSV)
		return view_pq_csv(req, out, err);
	return -ENOTSUP;
}

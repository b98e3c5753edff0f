/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view_parquet.c - Parquet view builds: the Parquet entry of the table of
 * formats. Parquet in, Parquet out serves unmasked column chunks from the
 * source at read time; conversions (as: csv, previews, CSV as Parquet) use
 * the decoded rows (the source) and the writer (the sink).
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
 * column of the file (see parquet.h). With req->emit, a view whose rebuilt
 * chunks outgrow req->emit_after is streamed whole (source chunks copied)
 * and becomes self-contained.
 */
static int view_pq_same(const struct view_req *req, struct view_out *out,
			struct spot_err *err)
{
	const struct pipe_plan *plan = NULL;
	const struct pipe_col *cols = NULL;
	struct view_pq *p = calloc(1, sizeof(*p));
	struct view_pq_more pm = { req, NULL, 0 };
	struct pq_build_opts opts = {
		.threads = req->threads,
		.more_plan = view_pq_more_plan,
		.arg = &pm,
		.emit = req->emit,
		.emit_rewind = req->emit_rewind,
		.emit_arg = req->emit_arg,
		.emit_after = req->emit_after,
	};
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
	out->rows_in = pq_file_num_rows(p->file);
	out->rows_out = pq_view_num_rows(p->view);
	if (pq_view_streamed(p->view)) {
		/* Every byte went to emit: out->buf (the tail) stays empty
		 * and the view never reads the source again. */
		out->size = pq_view_size(p->view);
		view_pq_free(p);
		return 0;
	}
	out->obj = p;
	out->size = pq_view_size(p->view);
	out->mem = pq_view_mem(p->view);
	out->read = view_pq_read;
	out->free = view_pq_free;
	return 0;
}

/* The decoded rows of a Parquet file, in step across its columns. */
struct view_pq_rows {
	struct pq_file *file;
	struct pq_rows *rows;
};

static void view_pq_rows_free(void *state)
{
	struct view_pq_rows *r = state;

	if (!r)
		return;
	pq_rows_free(r->rows);
	pq_file_free(r->file);
	free(r);
}

int view_parquet_source(const struct view_req *req, struct view_source *src,
			struct spot_err *err)
{
	struct view_pq_rows *r = calloc(1, sizeof(*r));
	int rc;

	if (!r) {
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	rc = pq_file_open(req->fd, &r->file, err);
	if (!rc)
		rc = pq_rows_open(r->file, req->fd, &r->rows, err);
	if (rc) {
		view_pq_rows_free(r);
		return rc;
	}
	src->ops = &pq_source_ops;
	src->state = r->rows;
	src->free = view_pq_rows_free;
	src->obj = r;
	return 0;
}

int view_parquet_build(const struct view_format *f, const struct view_req *req,
		       struct view_out *out, struct spot_err *err)
{
	(void)f;
	return view_pq_same(req, out, err);
}

static void view_pq_sink_free(void *state)
{
	pq_writer_free(state);
}

static void view_pq_sink_drained(void *state, uint64_t n)
{
	pq_writer_drained(state, n);
}

int view_parquet_sink(struct spot_buf *out, struct view_sink *sink,
		      struct spot_err *err)
{
	struct pq_writer *w = NULL;
	int rc = pq_writer_new(out, &w);

	if (rc) {
		spot_err_set(err, "out of memory");
		return rc;
	}
	sink->ops = &pq_sink_ops;
	sink->state = w;
	sink->free = view_pq_sink_free;
	sink->drained = view_pq_sink_drained;
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view.c - CSV view builds: the CSV entry of the table of formats.
 */
#include "view.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "csv.h"
#include "format.h"

/* A CSV source through the bound plan into a sink. */
static int view_csv_run(int fd, char delim, view_bind_fn bind, void *arg,
			const struct pipe_sink_ops *kops, void *sink,
			struct pipe_stats *st, struct spot_err *err)
{
	struct csv_reader *r = NULL;
	const struct pipe_plan *plan = NULL;
	const struct pipe_col *cols;
	size_t ncols;
	int rc;

	rc = csv_reader_open_fd(fd, delim, &r);
	if (rc) {
		spot_err_set(err, "cannot read CSV: %s", strerror(-rc));
		goto out;
	}
	rc = csv_source_ops.columns(r, &cols, &ncols, err);
	if (!rc)
		rc = bind(arg, cols, ncols, &plan, err);
	if (!rc)
		rc = pipe_run(&csv_source_ops, r, plan, kops, sink, st, err);
out:
	csv_reader_free(r);
	return rc;
}

int view_build_csv(int fd, char delim, view_bind_fn bind, void *arg,
		   struct spot_buf *out, struct pipe_stats *st,
		   struct spot_err *err)
{
	return view_build_csv_guard(fd, delim, bind, arg, true, out, st, err);
}

int view_build_csv_guard(int fd, char delim, view_bind_fn bind, void *arg,
			 bool guard, struct spot_buf *out,
			 struct pipe_stats *st, struct spot_err *err)
{
	struct csv_writer *w = NULL;
	int rc = csv_writer_new(out, &w);

	if (rc) {
		spot_err_set(err, "out of memory");
		return rc;
	}
	csv_writer_guard(w, guard);
	rc = view_csv_run(fd, delim, bind, arg, &csv_sink_ops, w, st, err);
	csv_writer_free(w);
	return rc;
}

/* A single-table format's bind through the request's table binder. */
int view_req_bind(void *arg, const struct pipe_col *cols, size_t ncols,
		  const struct pipe_plan **plan, struct spot_err *err)
{
	const struct view_req *req = arg;

	return req->bind(req->arg, NULL, cols, ncols, plan, err);
}

int view_req_more(void *arg, const struct pipe_col *cols, size_t ncols,
		  const struct pipe_plan **plan, struct spot_err *err)
{
	const struct view_req *req = arg;

	return req->more(req->arg, NULL, cols, ncols, plan, err);
}

int view_csv_build(const struct view_format *f, const struct view_req *req,
		   struct view_out *out, struct spot_err *err)
{
	struct view_csv_opts copts = { .threads = req->threads,
				       .more_plan = view_req_more,
				       .arg = (void *)req,
				       .emit = req->emit,
				       .emit_arg = req->emit_arg,
				       .emit_after = req->emit_after,
				       .formulas_raw = req->csv_injection ==
						       VIEW_CSV_INJ_OFF };
	struct pipe_stats st = { 0, 0 };
	int rc;

	(void)f;
	rc = view_build_csv_opts(req->fd, req->delim, view_req_bind,
				 (void *)req, &copts, &out->buf, &st, err);
	out->rows_in = st.rows_in;
	out->rows_out = st.rows_out;
	return rc;
}

static void view_csv_source_free(void *state)
{
	csv_reader_free(state);
}

int view_csv_source(const struct view_req *req, struct view_source *src,
		    struct spot_err *err)
{
	struct csv_reader *r = NULL;
	int rc = csv_reader_open_fd(req->fd, req->delim, &r);

	if (rc) {
		spot_err_set(err, "cannot read CSV: %s", strerror(-rc));
		return rc;
	}
	src->ops = &csv_source_ops;
	src->state = r;
	src->free = view_csv_source_free;
	src->obj = r;
	return 0;
}

void view_sink_csv_injection(struct view_sink *sink, enum view_fmt form,
			     enum view_csv_injection m)
{
	if (form == VIEW_FMT_CSV && sink->ops == &csv_sink_ops && sink->state)
		csv_writer_guard(sink->state, m != VIEW_CSV_INJ_OFF);
}

static void view_csv_sink_free(void *state)
{
	csv_writer_free(state);
}

int view_csv_sink(struct spot_buf *out, struct view_sink *sink,
		  struct spot_err *err)
{
	struct csv_writer *w = NULL;
	int rc = csv_writer_new(out, &w);

	if (rc) {
		spot_err_set(err, "out of memory");
		return rc;
	}
	sink->ops = &csv_sink_ops;
	sink->state = w;
	sink->free = view_csv_sink_free;
	return 0;
}

int view_csv_head(const void *p, size_t len, uint64_t n, struct spot_buf *out)
{
	struct spot_err err = { "" };
	struct csv_reader *r = NULL;
	struct csv_writer *w = NULL;
	const struct pipe_col *cols;
	struct pipe_batch b;
	bool have_batch = false;
	size_t ncols;
	int rc;

	rc = csv_reader_open_mem(p, len, 0, &r);
	if (!rc)
		rc = csv_source_ops.columns(r, &cols, &ncols, &err);
	if (!rc)
		rc = csv_writer_new(out, &w);
	if (!rc)
		rc = csv_sink_ops.begin(w, cols, ncols,
					csv_source_ops.dialect(r), &err);
	if (!rc) {
		rc = pipe_batch_init(&b, ncols, PIPE_BATCH_ROWS);
		have_batch = !rc;
	}
	while (!rc && n) {
		pipe_batch_clear(&b);
		rc = csv_source_ops.next_batch(r, &b, &err);
		if (rc || !b.nrows)
			break;
		if (b.nrows > n)
			b.nrows = (size_t)n;
		memset(b.keep, 1, b.nrows);
		rc = csv_sink_ops.rows(w, &b, &err);
		n -= b.nrows;
	}
	if (have_batch)
		pipe_batch_fini(&b);
	csv_writer_free(w);
	csv_reader_free(r);
	return rc;
}

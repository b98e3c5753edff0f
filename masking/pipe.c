/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pipe.c - runs the view pipeline: batches from a source, the plan's row
 * filter and column transforms, then the sink.
 */
#include "pipe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pipe_batch_init(struct pipe_batch *b, size_t ncols, size_t cap)
{
	size_t cells;

	memset(b, 0, sizeof(*b));
	spot_arena_init(&b->arena);
	spot_arena_init(&b->src_arena);
	b->ncols = ncols;
	b->cap = cap;
	if (ncols && cap > SIZE_MAX / ncols / sizeof(struct pipe_cell))
		return -ENOMEM;
	cells = ncols * cap;
	/* calloc(0) may return NULL: allocate at least one cell. */
	b->in = calloc(cells ? cells : 1, sizeof(*b->in));
	b->out = calloc(cells ? cells : 1, sizeof(*b->out));
	b->keep = calloc(cap ? cap : 1, 1);
	b->rowmeta = calloc(cap ? cap : 1, sizeof(*b->rowmeta));
	if (!b->in || !b->out || !b->keep || !b->rowmeta) {
		pipe_batch_fini(b);
		return -ENOMEM;
	}
	return 0;
}

void pipe_batch_fini(struct pipe_batch *b)
{
	free(b->in);
	free(b->out);
	free(b->keep);
	free(b->rowmeta);
	spot_arena_fini(&b->arena);
	spot_arena_fini(&b->src_arena);
	b->in = b->out = NULL;
	b->keep = NULL;
	b->rowmeta = NULL;
	b->nrows = b->cap = 0;
}

void pipe_batch_clear(struct pipe_batch *b)
{
	/* Only the rows used last time need clearing. */
	memset(b->out, 0, b->nrows * b->ncols * sizeof(*b->out));
	b->nrows = 0;
	spot_arena_reset(&b->arena);
	spot_arena_reset(&b->src_arena);
}

int pipe_batch_set(struct pipe_batch *b, size_t row, size_t col, const void *p,
		   size_t len, enum pipe_type type)
{
	struct pipe_cell *o = &b->out[row * b->ncols + col];
	void *d = NULL;

	if (len) {
		d = spot_arena_dup(&b->arena, p, len);
		if (!d)
			return -ENOMEM;
	}
	o->p = d;
	o->len = len;
	o->type = (uint8_t)type;
	o->flags = PIPE_F_SET;
	return 0;
}

int pipe_col_find(const struct pipe_col *cols, size_t ncols, const char *name,
		  size_t name_len)
{
	for (size_t i = 0; i < ncols; i++)
		if (cols[i].name_len == name_len &&
		    memcmp(cols[i].name, name, name_len) == 0)
			return (int)i;
	return -ENOENT;
}

static int pipe_apply(const struct pipe_plan *plan, struct pipe_batch *b,
		      struct spot_err *err)
{
	int rc;

	memset(b->keep, 1, b->nrows);
	if (plan && plan->row_fn) {
		rc = plan->row_fn(plan->row_arg, b, err);
		if (rc)
			return rc;
	}
	for (size_t i = 0; plan && i < plan->nxf; i++) {
		const struct pipe_xform *x = &plan->xf[i];

		if (x->col >= b->ncols) {
			spot_err_set(err,
				     "transform bound to column %zu of %zu",
				     x->col, b->ncols);
			return -EINVAL;
		}
		rc = x->fn(x->arg, b, x->col, err);
		if (rc)
			return rc;
	}
	if (plan && plan->post_fn)
		return plan->post_fn(plan->post_arg, b, err);
	return 0;
}

int pipe_run(const struct pipe_source_ops *sops, void *src,
	     const struct pipe_plan *plan, const struct pipe_sink_ops *kops,
	     void *sink, struct pipe_stats *stats, struct spot_err *err)
{
	const struct pipe_col *cols;
	struct pipe_batch b;
	struct pipe_stats st = { 0, 0 };
	size_t ncols;
	uint64_t row = 0;
	int rc;

	rc = sops->columns(src, &cols, &ncols, err);
	if (rc)
		return rc;
	rc = pipe_batch_init(&b, ncols, PIPE_BATCH_ROWS);
	if (rc) {
		spot_err_set(err, "out of memory");
		return rc;
	}
	rc = kops->begin(sink, cols, ncols,
			 sops->dialect ? sops->dialect(src) : NULL, err);
	if (rc)
		goto out;
	for (;;) {
		pipe_batch_clear(&b);
		b.first_row = row;
		rc = sops->next_batch(src, &b, err);
		if (rc)
			goto out;
		if (!b.nrows)
			break;
		row += b.nrows;
		st.rows_in += b.nrows;
		spot_progress_add(spot_progress_cur, 0, b.nrows);
		rc = spot_progress_check(spot_progress_cur, err);
		if (rc)
			goto out;
		rc = pipe_apply(plan, &b, err);
		if (rc)
			goto out;
		for (size_t r = 0; r < b.nrows; r++)
			st.rows_out += b.keep[r];
		rc = kops->rows(sink, &b, err);
		if (rc)
			goto out;
	}
	rc = kops->end(sink, err);
out:
	pipe_batch_fini(&b);
	if (!rc && stats)
		*stats = st;
	return rc;
}

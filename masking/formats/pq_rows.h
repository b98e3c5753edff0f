/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_rows.h - a Parquet file as a pipeline row source (pipe.h), for
 * `spotfs preview` and for serving Parquet data in row formats (CSV).
 *
 *   struct pq_rows *r;
 *   pq_rows_open(f, fd, &r, err);
 *   pipe_run(&pq_source_ops, r, plan, sink_ops, sink, &stats, err);
 *   pq_rows_free(r);
 *
 * columns() gives the leaf columns, the same list and order as
 * pq_file_columns() (dotted paths, e.g. "tags.list.element"). next_batch()
 * fills up to b->cap rows, row group by row group (a batch never spans two
 * row groups, so it may hold fewer rows than b->cap before the end), with
 * one cell per leaf column in the text forms of pq_value.h (the same forms
 * column transforms see, parquet.h); a NULL value is a PIPE_NULL cell.
 * All columns advance in step: row r of a batch is the same source row in
 * every column, whatever the columns' page boundaries. Repeated leaves
 * (list and map elements) hold several values per row, which are not cells:
 * their cells are always PIPE_NULL and their chunks are not read.
 * b->rowmeta is set to 0. b->ncols must be the number of leaf columns
 * (-EINVAL otherwise).
 *
 * Memory: one row group's chunks of the flat columns plus one decoded page
 * per column. Cells stay valid until the next next_batch() call. Errors
 * (corrupt pages, row counts that disagree, I/O) are -errno with err set and
 * never contain a row value; the row group and column are named.
 *
 * Threads: a pq_rows belongs to one thread; several may share one pq_file.
 * f and fd must outlive the pq_rows.
 */
#ifndef SPOT_PQ_ROWS_H
#define SPOT_PQ_ROWS_H

#include "parquet.h"
#include "pipe.h"
#include "spot.h"

struct pq_rows;

/* The source operations; the src argument is a struct pq_rows *. */
extern const struct pipe_source_ops pq_source_ops;

/* Start reading the rows of f (open on fd). 0 or -ENOMEM with err set. */
int pq_rows_open(struct pq_file *f, int fd, struct pq_rows **out,
		 struct spot_err *err);
/* Free r (NULL is a no-op); the file and fd stay the caller's. */
void pq_rows_free(struct pq_rows *r);

#endif /* SPOT_PQ_ROWS_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_view_i.h - private to the Parquet codec: the parsed file, the view's
 * segment list, the row-group cursor (pq_rows.c) and the row group builder
 * (pq_build.c). Nothing here is thread-safe: each object belongs to one view
 * build or one row source.
 */
#ifndef SPOT_PQ_VIEW_I_H
#define SPOT_PQ_VIEW_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parquet.h"
#include "pq_chunk.h"
#include "pq_meta.h"

struct pq_file {
	struct pq_meta *m;
	struct pipe_col *cols; /* one per leaf */
	uint64_t size;	       /* source file size */
	uint64_t data_end; /* footer offset: the data area is [4, data_end) */
};

/* A piece of the served file: a source range or bytes in memory. */
struct pq_seg {
	uint64_t off; /* in the served file */
	uint64_t len;
	int64_t src; /* source offset, or -1 for mem */
	const uint8_t *mem;
};

struct pq_view {
	struct pq_seg *segs;
	size_t nsegs, cap;
	uint64_t size;
	uint64_t rows;	/* rows served (after the row filter) */
	uint8_t **bufs; /* generated buffers, owned */
	size_t nbufs, capbufs;
	uint64_t held; /* bytes in bufs */
	bool streamed; /* every byte so far went to the build's emit */
};

/* A masked column and how its type had to change (kept across retries). */
struct pq_mcol {
	size_t col;
	const struct pipe_xform *xf;
	bool to_string;	  /* served as BYTE_ARRAY STRING */
	bool to_optional; /* REQUIRED made OPTIONAL for NULL outputs */
};

/* ---- row-group cursor (pq_rows.c) ---- */

/* One row's value of a column in the current batch. */
struct pq_rv {
	const uint8_t *p; /* value bytes (fixed width or BYTE_ARRAY) */
	uint32_t len;
	uint32_t def; /* definition level; max_def means a value */
};

/* A flat column of the row group being read. */
struct pq_ccur {
	const struct pq_leaf *leaf;
	uint8_t *raw; /* the chunk's bytes */
	struct pq_chunk_rd rd;
	struct pq_page pg;
	bool open, have_page;
	int last_type;	  /* page type of the last page read */
	uint32_t pos;	  /* next level entry of pg */
	uint32_t vi;	  /* next non-null value of pg */
	struct pq_rv *rv; /* cap: the rows of the current batch */
	uint8_t *brk; /* cap: page type + 1 where a source page ends, else 0 */
};

/*
 * Reads the flat (non-repeated) leaf columns of one row group in step. Only
 * one row group's column chunks (plus one decoded page per column) are in
 * memory. Repeated columns are not read: their cells are PIPE_NULL.
 */
struct pq_rgcur {
	const struct pq_file *f;
	size_t g;
	uint32_t cap;	    /* rows per fill at most */
	uint64_t rows_left; /* rows of the group not yet filled */
	struct pq_ccur *cc; /* one per leaf; .open for flat columns */
};

/*
 * Open row group g of f (on fd) for batches of up to cap rows: reads every
 * flat column's chunk and its first page. 0 or -errno with err set; on
 * error the cursor is closed already.
 */
/* want[leaf]: decode that flat column (NULL: every flat column). */
int pq_rgcur_open(struct pq_rgcur *c, const struct pq_file *f, int fd, size_t g,
		  uint32_t cap, const bool *want, struct spot_err *err);
void pq_rgcur_close(struct pq_rgcur *c);
/*
 * The next n rows (n <= cap and <= rows_left) of every flat column: fills
 * cc[].rv and cc[].brk, the cells b->in[0 .. n * ncols) (text forms of
 * pq_value.h; NULL and repeated columns PIPE_NULL), b->out cleared,
 * b->keep set to 1 and b->nrows = n. Values live in the cursor's pages or
 * b->src_arena until the next fill. 0 or -errno with err set.
 */
int pq_rgcur_fill(struct pq_rgcur *c, struct pipe_batch *b, uint32_t n,
		  struct spot_err *err);

/*
 * The cell of one non-null value: exactly what pq_value_to_cell() gives,
 * faster for integers, booleans, dates, timestamps and integer decimals
 * (formatted without printf). 0 or -ENOMEM.
 */
int pq_rows_cell(const struct pq_leaf *l, const uint8_t *v, uint32_t len,
		 struct spot_arena *a, struct pipe_cell *out);

/* ---- building a row group (pq_build.c) ---- */

/*
 * Decode row group g, run the plan (row filter, then column transforms) on
 * batches of every flat column's cells, and re-encode into w[0..nleaves)
 * (indexed by leaf; initialised here, the caller frees them all with
 * pq_chunk_wr_fini in every case). Written columns: the masked columns
 * mc[0..nmc), and with a row filter every column (the caller refuses
 * repeated columns then). *kept gets the rows kept. first_row is the row
 * group's first row in the source file. -EAGAIN when a masked column needs a
 * type change it did not have (mc[].to_string / to_optional are then set:
 * build again), else 0 or -errno with err set.
 */
int pq_build_rowgroup(const struct pq_file *f, int fd, size_t g,
		      uint64_t first_row, const struct pipe_plan *plan,
		      struct pq_mcol *mc, size_t nmc, struct pq_chunk_wr *w,
		      uint64_t *kept, struct spot_err *err);

/*
 * What a finished chunk writer's pages become when they are laid out at
 * start (dictionary page first), for pq_meta_chunk_masked/_new.
 */
void pq_chunk_out_of(const struct pq_chunk_wr *w, int64_t start,
		     struct pq_chunk_out *o);

/* ---- building row groups on several threads (pq_pool.c) ---- */

struct pq_pool;

/*
 * Start building the row groups of f with up to nthreads workers, worker i
 * running plans[i] (nplans of them, bound alike; each worker also gets its
 * own copy of mc[0..nmc)). nthreads 0: every row group is built on the
 * caller's thread inside pq_pool_take. 0 or -ENOMEM.
 */
int pq_pool_start(struct pq_pool **out, const struct pq_file *f, int fd,
		  const struct pipe_plan *const *plans, size_t nplans,
		  size_t nthreads, const struct pq_mcol *mc, size_t nmc);
/*
 * Wait for row group g (take them in order) and take its chunks: *w (one
 * writer per leaf; free with pq_chunk_wr_fini each and free()) and the rows
 * kept. Otherwise the row group's error: pq_build_rowgroup's codes, -EAGAIN
 * for a type change (see pq_pool_stop).
 */
int pq_pool_take(struct pq_pool *p, size_t g, struct pq_chunk_wr **w,
		 uint64_t *kept, struct spot_err *err);
/*
 * Stop claiming row groups, wait for the workers and free everything. The
 * type changes (to_string, to_optional) any worker found are merged into
 * mc (may be NULL).
 */
void pq_pool_stop(struct pq_pool *p, struct pq_mcol *mc);

/* pread exactly len bytes at off. 0, -EIO (short file) or -errno. */
int pq_pread_full(int fd, void *buf, size_t len, uint64_t off);

#endif /* SPOT_PQ_VIEW_I_H */

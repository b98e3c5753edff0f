/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_view_i.h - private to the Parquet codec: the parsed file, the view's
 * segment list and the masked row group builder (pq_build.c).
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
	uint8_t **bufs; /* generated buffers, owned */
	size_t nbufs, capbufs;
};

/* A masked column and how its type had to change (kept across retries). */
struct pq_mcol {
	size_t col;
	const struct pipe_xform *xf;
	bool to_string;	  /* served as BYTE_ARRAY STRING */
	bool to_optional; /* REQUIRED made OPTIONAL for NULL outputs */
};

/*
 * Decode, transform and re-encode the masked chunks of row group g into
 * w[0..nmc) (initialised here, finished on success; the caller frees them
 * with pq_chunk_wr_fini in every case). first_row is the row group's first
 * row in the file. -EAGAIN when a column needs a type change it did not
 * have (mc[].to_string / to_optional are then set: build again), else 0 or
 * -errno with err set.
 */
int pq_build_rowgroup(const struct pq_file *f, int fd, size_t g,
		      uint64_t first_row, struct pq_mcol *mc, size_t nmc,
		      struct pq_chunk_wr *w, struct spot_err *err);

/* pread exactly len bytes at off. 0, -EIO (short file) or -errno. */
int pq_pread_full(int fd, void *buf, size_t len, uint64_t off);

#endif /* SPOT_PQ_VIEW_I_H */

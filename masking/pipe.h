/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pipe.h - the view pipeline: source -> column batches -> row filter ->
 * column transforms -> sink -> view bytes.
 *
 * The pipeline knows neither Lua nor YAML nor FUSE. A source (a format
 * reader: CSV, SQLite, ...) fills batches of raw cells; the plan's row filter
 * may clear rows; each column transform writes masked cells for one column;
 * the sink (a format writer) turns the result into bytes.
 *
 * Cells are (ptr, len, type). Raw input cells stay valid until the source's
 * next next_batch() call; transform outputs are allocated in the batch arena
 * and live until the batch is reset. Transforms read b->in (raw values, so a
 * column function sees the raw values of the other columns of its row) and
 * write b->out; a cell of b->out with PIPE_F_SET clear means "unchanged".
 */
#ifndef SPOT_PIPE_H
#define SPOT_PIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spot.h"

/* Rows per batch: large enough to amortise per-batch policy calls. */
#define PIPE_BATCH_ROWS 1024

enum pipe_type {
	PIPE_TEXT = 0, /* bytes, not necessarily valid UTF-8 */
	PIPE_INT = 1,  /* decimal text of an integer */
	PIPE_REAL = 2, /* text of a real ("%.17g") */
	PIPE_BLOB = 3, /* raw bytes */
	PIPE_NULL = 4, /* SQL NULL; CSV writes it as an empty field */
};

enum pipe_cell_flags {
	PIPE_F_SET = 1u << 0,	 /* out cell: a transform wrote it */
	PIPE_F_QUOTED = 1u << 1, /* CSV: the source field was quoted */
	/* A column (pipe_col.flags) whose declared type a writer with types
	 * writes as that type (Parquet: PIPE_INT INT64, PIPE_REAL DOUBLE);
	 * without it every column is text. */
	PIPE_F_TYPED = 1u << 2,
	/*
	 * A column (pipe_col.flags, with PIPE_F_TYPED) of lists of text: a
	 * writer with types writes a list (Parquet: LIST of STRING). Each
	 * cell is a PIPE_NULL (no list) or a PIPE_BLOB of the elements one
	 * after the other, each PIPE_LIST_NULL or PIPE_LIST_TEXT then, for
	 * text, its length (4 bytes, little-endian) and bytes; an empty
	 * blob is an empty list.
	 */
	PIPE_F_LIST = 1u << 3,
	/* A column (pipe_col.flags): a Parquet leaf inside a list or map,
	 * several values per row, so its cells are NULL (pq_rows.h). */
	PIPE_F_REPEATED = 1u << 4,
	/* A cell: a JSON literal (PIPE_TEXT true or false, not the string
	 * of its text; PIPE_NULL null written, not a key absent);
	 * k_anonymity keeps them apart. */
	PIPE_F_LITERAL = 1u << 5,
	/* Columns (pipe_col.flags) of JSON Lines field paths, for spotfs
	 * check: some record holds {} or [] there (served as it is, no
	 * method applies), some record a value (not null, {} or []). */
	PIPE_F_EMPTY = 1u << 6,
	PIPE_F_VALUES = 1u << 7,
};

#define PIPE_LIST_NULL 0
#define PIPE_LIST_TEXT 1

struct pipe_cell {
	const uint8_t *p;
	size_t len;
	uint8_t type;  /* enum pipe_type */
	uint8_t flags; /* enum pipe_cell_flags */
};

/* A column of the source, in source order. */
struct pipe_col {
	char *name;	 /* NUL-terminated copy of the header name */
	size_t name_len; /* header names may contain NUL: the real length */
	uint8_t type;	 /* declared type if the source knows it, else TEXT */
	uint8_t flags;	 /* PIPE_F_QUOTED (CSV header), PIPE_F_REPEATED */
};

struct pipe_batch {
	size_t ncols;
	size_t nrows;	       /* rows filled */
	size_t cap;	       /* rows allocated */
	uint64_t first_row;    /* source index of row 0 (0 = first data row) */
	struct pipe_cell *in;  /* nrows * ncols, row-major: in[r * ncols + c] */
	struct pipe_cell *out; /* same shape; see PIPE_F_SET */
	uint8_t *keep; /* per row: 1 = serve, 0 = dropped by the row filter */
	uint32_t *rowmeta; /* per row, opaque: passed from source to sink */
	/*
	 * Per row, or NULL: the whole record as JSON text (JSON Lines), which
	 * a policy's row sees as a table instead of the columns. Set and
	 * owned by the source; raw data, like b->in.
	 */
	const struct pipe_cell *recs;
	struct spot_arena arena;     /* transform outputs; reset per batch */
	struct spot_arena src_arena; /* the source's per-batch values */
};

/*
 * Column transform: for every kept row r, write b->out[r*ncols+col] (or leave
 * it unset to serve the raw value unchanged). Allocate output bytes from
 * b->arena. Return 0 or -errno; any error fails the whole view (fail closed):
 * -EIO for a policy failure. Set err (no row values!) on failure.
 */
typedef int (*pipe_col_fn)(void *arg, struct pipe_batch *b, size_t col,
			   struct spot_err *err);

/* Row filter: clear b->keep[r] for rows the caller may not see. */
typedef int (*pipe_row_fn)(void *arg, struct pipe_batch *b,
			   struct spot_err *err);

struct pipe_xform {
	size_t col; /* index into the source columns */
	pipe_col_fn fn;
	void *arg;
	bool keeps_type; /* outputs keep the input's type (else: text) */
	/*
	 * fn reads other columns of the row (b->in): Lua column functions do,
	 * built-in methods do not. Readers of formats that decode columns
	 * separately (Parquet) fill the other cells only when some transform
	 * or the row filter needs them.
	 */
	bool needs_row;
	/* Its output holds nothing of its input (NULL, a constant text):
	 * JSON Lines serves a container of such fields as null whole. */
	bool hides;
};

/* What to do to a source: bound to column indexes by the caller. */
struct pipe_plan {
	pipe_row_fn row_fn; /* NULL: keep every row */
	void *row_arg;
	struct pipe_xform *xf; /* at most one per column */
	size_t nxf;
	/*
	 * Columns the row filter decided on as this plan serves them
	 * (k_anonymity's quasi-identifiers): a stage after the plan that
	 * would serve other values in them must fail instead.
	 */
	const size_t *pinned;
	size_t npinned;
	/*
	 * Called with each batch once every transform has run, before the
	 * sink: what will be served, to check (k_anonymity: the quasi cells
	 * are those its row filter decided on). Nonzero fails the build.
	 */
	pipe_row_fn post_fn;
	void *post_arg;
};

/* A format reader. */
struct pipe_source_ops {
	/* Columns in source order; the array stays owned by the source. */
	int (*columns)(void *src, const struct pipe_col **cols, size_t *ncols,
		       struct spot_err *err);
	/*
	 * Fill b->in/b->rowmeta with up to b->cap rows, set b->nrows (0 at the
	 * end). Values may point into the source's own memory or b->src_arena,
	 * valid until the next call. 0 or -errno with err set (with a line or
	 * row number where the source has one).
	 */
	int (*next_batch)(void *src, struct pipe_batch *b,
			  struct spot_err *err);
	/*
	 * Format-specific details the matching sink may reuse (CSV: delimiter,
	 * BOM, line ending). NULL when there are none.
	 */
	const void *(*dialect)(void *src);
};

/* A format writer. */
struct pipe_sink_ops {
	int (*begin)(void *sink, const struct pipe_col *cols, size_t ncols,
		     const void *dialect, struct spot_err *err);
	/* Write kept rows; out cells with PIPE_F_SET replace in cells. */
	int (*rows)(void *sink, const struct pipe_batch *b,
		    struct spot_err *err);
	int (*end)(void *sink, struct spot_err *err);
};

/* Totals of one pipeline run. */
struct pipe_stats {
	uint64_t rows_in;
	uint64_t rows_out;
};

/* Batch set-up for sources and tests. 0 or -ENOMEM. */
int pipe_batch_init(struct pipe_batch *b, size_t ncols, size_t cap);
void pipe_batch_fini(struct pipe_batch *b);
/* Forget rows and transform outputs, keep allocations. */
void pipe_batch_clear(struct pipe_batch *b);

/*
 * The value the sink should write for (row, col): the out cell when a
 * transform set it, else the in cell.
 */
static inline const struct pipe_cell *
pipe_batch_cell(const struct pipe_batch *b, size_t row, size_t col)
{
	const struct pipe_cell *o = &b->out[row * b->ncols + col];

	return (o->flags & PIPE_F_SET) ? o : &b->in[row * b->ncols + col];
}

/*
 * Set an out cell to a copy of (p, len) in the batch arena. 0 or -ENOMEM.
 */
int pipe_batch_set(struct pipe_batch *b, size_t row, size_t col, const void *p,
		   size_t len, enum pipe_type type);

/*
 * Run the pipeline: read every batch from src, apply plan, write to sink.
 * Returns 0 or -errno with err set; on error the sink's output is partial
 * and must be discarded by the caller (fail closed).
 */
int pipe_run(const struct pipe_source_ops *sops, void *src,
	     const struct pipe_plan *plan, const struct pipe_sink_ops *kops,
	     void *sink, struct pipe_stats *stats, struct spot_err *err);

/* Column index by header name, or -ENOENT. */
int pipe_col_find(const struct pipe_col *cols, size_t ncols, const char *name,
		  size_t name_len);

#endif /* SPOT_PIPE_H */

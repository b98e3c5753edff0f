/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * parquet.h - masked Parquet views, FUSE-free and fd-based.
 *
 * pq_file_open() reads and validates the footer of a source file, and its
 * layout: every column chunk, bloom filter and page index lies inside the
 * data area and no two share a byte (pq_layout.h). A view
 * (pq_view_build) is the file a reader sees: the column chunks of unmasked
 * columns are served byte for byte from the source at new offsets, the
 * chunks of masked columns are decoded, transformed through the plan's
 * column functions, re-encoded (dictionary where it pays, else PLAIN) and
 * compressed with the source codec, and a new footer is written. The view is
 * a list of segments (source ranges and generated buffers): its size is
 * exact once built and any offset can be read without building more.
 *
 * Footer hygiene: for masked columns every field that could carry a source
 * value is dropped (statistics except null_count, page index, bloom filter,
 * size and geospatial statistics, chunk key/value metadata, unknown fields).
 * Page indexes and bloom filters of unmasked columns are dropped as well
 * (their bytes are not served). sorting_columns is dropped from row groups
 * with a masked column. The file's key/value metadata is kept, except the
 * embedded "ARROW:schema" and "pandas" schemas when a column's type changed.
 *
 * Transform contract (struct pipe_plan, pipe.h). Row groups are processed
 * one at a time; each batch holds up to PIPE_BATCH_ROWS rows of one row
 * group. The batch has one cell per leaf column (ncols = number of leaf
 * columns, in schema order) and every flat (non-repeated) column's cells
 * are filled, masked or not, so that a column function (a Lua function
 * reading row.other) and the row filter see the whole row; cells of
 * repeated (list/map) leaves are PIPE_NULL with length 0. first_row is the
 * row index in the source file. Values are text, see pq_value.h (integers,
 * "%.17g" reals, "true"/"false", dates "YYYY-MM-DD", timestamps
 * "YYYY-MM-DD HH:MM:SS.ffffff", decimals "-12.34", strings as bytes); the
 * same forms as the row source (pq_rows.h). A transform without keeps_type
 * makes text: its column is served as a BYTE_ARRAY STRING column (the
 * schema does not depend on the values). With keeps_type, masked values are
 * parsed back into the column's physical type; if any value does not parse,
 * the whole column is served as STRING instead. A type change drops the
 * embedded Arrow/pandas schemas. A NULL output makes a REQUIRED column
 * OPTIONAL (the embedded schemas are dropped then too). A leaf inside a
 * list or map is masked element by element (each element alone in a batch
 * row numbered by its row; the other cells are not filled, so transforms
 * with needs_row are refused there), its levels kept. A type change rebuilds the view from the start, so
 * transforms and the row filter may run more than once per row: they must
 * be deterministic.
 *
 * Row filters (plan->row_fn) run on each batch before the transforms; a
 * cleared b->keep[r] drops the row from every column. Every column chunk is
 * then re-encoded from the kept rows: unmasked columns keep their physical
 * type, codec, page version and encoding family (dictionary where the
 * source chunk had one and it still pays, else PLAIN); their statistics are
 * reduced to null_count, like masked columns'. Row groups without kept rows
 * are left out of the served file; num_rows of the row groups and of the
 * file count kept rows (pq_view_num_rows()). Files with a repeated (list or
 * map) column are refused with a row filter (-ENOTSUP). A filtered view
 * holds the whole served file in memory (all chunks are generated).
 *
 * Threads: a pq_file is read-only after opening and may be shared; a view is
 * read-only after building and pq_view_read() may run concurrently on it.
 * Errors never contain row values.
 */
#ifndef SPOT_PARQUET_H
#define SPOT_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pipe.h"
#include "spot.h"

/* Largest footer accepted. */
#define PQ_MAX_FOOTER (256u << 20)

struct pq_file;
struct pq_view;

/*
 * Read the footer of the Parquet file open on fd: magic "PAR1" at both ends,
 * footer length within the file, footer contents and the byte layout
 * validated (errors name the row group and column). Files with an
 * encrypted footer ("PARE") are refused. The fd is not kept. 0, -EINVAL (not
 * Parquet, corrupt), -ENOTSUP (encrypted, external chunks), -EIO or -ENOMEM,
 * with err set. Free with pq_file_free().
 */
int pq_file_open(int fd, struct pq_file **out, struct spot_err *err);
void pq_file_free(struct pq_file *f);

/*
 * The leaf columns in schema order, named by their dotted path ("email",
 * "tags.list.element"). Types: PIPE_INT for integers, PIPE_REAL for floats
 * and decimals, PIPE_BLOB for binary, PIPE_TEXT otherwise. Owned by f.
 */
int pq_file_columns(const struct pq_file *f, const struct pipe_col **cols,
		    size_t *ncols);
/* Whether leaf col sits below a repeated field (a list or map element). */
bool pq_column_is_nested(const struct pq_file *f, size_t col);
/*
 * 0 if leaf col exists (every leaf can be masked; one inside a list or map
 * only by a transform without needs_row, element by element), else -EINVAL.
 */
int pq_column_check_maskable(const struct pq_file *f, size_t col,
			     struct spot_err *err);
/* Rows in the file (from the footer). */
uint64_t pq_file_num_rows(const struct pq_file *f);
/* Physical type name of a leaf ("INT64", "BYTE_ARRAY"), for messages. */
const char *pq_column_type_name(const struct pq_file *f, size_t col);

/*
 * Build the view of f (open on fd) under plan. Reads and transforms every
 * masked column chunk now (decoding the row groups' other flat columns for
 * the transforms' rows); unmasked chunks are only referenced, unless a row
 * filter rewrites them, after their page headers walked exactly to their
 * stated size (and their bloom filters' headers to theirs): the only
 * source bytes a view serves are those of validated unmasked chunks and
 * their bloom filters. 0 or
 * -errno with err set; a transform's error fails the whole build (fail
 * closed). Free with pq_view_free(); f must outlive the view.
 */
/*
 * Building on several threads: row groups are rebuilt by up to threads
 * workers at once, each with a plan of its own from more_plan (bound like
 * the first: transforms keep scratch buffers and Lua states that are not
 * shared). more_plan is called on the caller's thread, at most threads - 1
 * times per build; the plans must outlive the build. The served file is the
 * same byte for byte as a build on one thread. NULL opts, threads <= 1 or
 * no more_plan: the caller's thread builds everything.
 */
struct pq_build_opts {
	unsigned threads;
	int (*more_plan)(void *arg, const struct pipe_plan **plan,
			 struct spot_err *err);
	void *arg;
	/*
	 * Streaming (optional): once the view's generated bytes in memory
	 * pass emit_after, every byte of the served file so far (source
	 * chunks read now, generated pages, magic) goes to emit in order,
	 * and so does each row group after it and the footer: the view is
	 * then self-contained in what was emitted (pq_view_streamed) and
	 * holds no generated bytes. A build that must start again after
	 * streaming (a masked column's type changed) calls emit_rewind
	 * first, or fails with -EIO when it is NULL.
	 */
	int (*emit)(void *emit_arg, const void *p, size_t len);
	int (*emit_rewind)(void *emit_arg);
	void *emit_arg;
	uint64_t emit_after;
};

int pq_view_build(struct pq_file *f, int fd, const struct pipe_plan *plan,
		  const struct pq_build_opts *opts, struct pq_view **out,
		  struct spot_err *err);
/* Whether the build streamed the whole file to opts->emit: then only its
 * size and rows are of use (no read). */
bool pq_view_streamed(const struct pq_view *v);
/* Exact size in bytes of the served file. */
uint64_t pq_view_size(const struct pq_view *v);
/* Bytes of the view held in memory (generated pages, footer), at least 1. */
uint64_t pq_view_mem(const struct pq_view *v);
/* Rows of the served file: the source's, or those the row filter kept. */
uint64_t pq_view_num_rows(const struct pq_view *v);
/*
 * Copy up to len bytes at off into buf: source ranges with pread(fd), the
 * rest from memory. Bytes copied (short only at the end), or -errno.
 */
ssize_t pq_view_read(const struct pq_view *v, int fd, void *buf, size_t len,
		     uint64_t off);
void pq_view_free(struct pq_view *v);

/* ---- served source ranges (for tests and the fuzz oracle) ---- */

/* A byte range [off, off + len) of the source file. */
struct pq_range {
	uint64_t off, len;
};

/* Row groups of f. */
size_t pq_file_num_rowgroups(const struct pq_file *f);
/* The bytes of column chunk (g, col) in the source. 0 or -EINVAL. */
int pq_file_chunk_range(const struct pq_file *f, size_t g, size_t col,
			struct pq_range *r);
/*
 * The bloom filter of chunk (g, col), if the footer gives its offset and
 * length (0; a view serves it when col is unmasked and there is no row
 * filter), else -ENOENT (-EINVAL for no such chunk).
 */
int pq_file_bloom_range(const struct pq_file *f, size_t g, size_t col,
			struct pq_range *r);
/*
 * The source ranges v serves, in served order (adjacent ranges merged):
 * the first max of them into out. Returns how many there are in all.
 */
size_t pq_view_src_ranges(const struct pq_view *v, struct pq_range *out,
			  size_t max);

/* ---- writing a pipeline's rows as Parquet (as: parquet) ---- */

/*
 * A pipe sink that appends the kept rows as a whole Parquet file to out:
 * every column a nullable BYTE_ARRAY STRING (PIPE_NULL cells are nulls, any
 * other cell its text; a PIPE_F_TYPED column INT64, DOUBLE or LIST of
 * STRING; a column given a shape that tree: pq_writer_set_shapes), snappy
 * pages, dictionary encoding where it pays,
 * row groups of up to 122,880 rows (or 64 MiB), no statistics but null
 * counts. Give pq_sink_ops a writer from pq_writer_new.
 */
struct pq_writer;

int pq_writer_new(struct spot_buf *out, struct pq_writer **w);
void pq_writer_free(struct pq_writer *w);

/*
 * Nested columns (the Parquet form of a JSON Lines dataset). A shape is a
 * tree: a leaf (STRING, INT64, DOUBLE, BOOLEAN), a STRUCT (an optional
 * group of its fields, each optional) or a LIST (the three-level LIST of
 * LogicalTypes.md: an optional group, a repeated group "list", an
 * optional "element" of the element's shape). Levels (Dremel): each
 * optional level adds one to the definition level, each list one to the
 * repetition level, so a null struct, a struct of null fields, a null
 * list, an empty list and a null element all stay apart.
 */
enum pq_shape_kind {
	PQ_SH_STRING = 0, /* a string's bytes; any other value its JSON text */
	PQ_SH_INT64,
	PQ_SH_DOUBLE,
	PQ_SH_BOOLEAN,
	PQ_SH_STRUCT,
	PQ_SH_LIST,
};

struct pq_shape {
	uint8_t kind;	  /* enum pq_shape_kind */
	const char *name; /* a struct field's key (bytes), else unused */
	size_t name_len;
	/* STRUCT: its fields, sorted by key (memcmp; a prefix first), keys
	 * unique; LIST: one, the element */
	const struct pq_shape *kids;
	uint32_t nkids;
};

/* Deepest shape pq_writer_set_shapes accepts (groups on a path). */
#define PQ_SHAPE_MAX_DEPTH 48

/*
 * Before begin: column c (of the n columns begin gets) is written in
 * shapes[c] instead of by its pipe_col type (borrowed until the writer is
 * freed). A cell of a leaf shape is as for flat columns (PIPE_NULL a
 * null; STRING its bytes; INT64 and DOUBLE a number's text; BOOLEAN
 * "true" or "false"); a cell of a STRUCT or LIST shape is PIPE_NULL or
 * the value's JSON text, shredded into the leaves: a struct field the
 * object lacks, or that is null, is null; a key the shape lacks is not
 * written (the shape is the union of the keys). A value that does not
 * fit its shape (an array where a struct is, a string where INT64 is, a
 * key twice in one object, malformed JSON) fails the write (-EIO, the
 * column named, never the value). 0, -EINVAL (a shape too deep or a
 * LIST without one element), -ENOMEM.
 */
int pq_writer_set_shapes(struct pq_writer *w, const struct pq_shape *shapes,
			 size_t n);
/*
 * Past the JSON value at p[*i] (white space before it skipped; its
 * strings, brackets and separators checked, not its numbers and
 * literals), as the shredding reads it: 0, or -EDOM.
 */
int pq_json_skip(const uint8_t *p, size_t n, size_t *i);
/* The first n bytes of out were taken away (streamed): later offsets in
 * the file count them. */
void pq_writer_drained(struct pq_writer *w, uint64_t n);
extern const struct pipe_sink_ops pq_sink_ops;

#endif /* SPOT_PARQUET_H */

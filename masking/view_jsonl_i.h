/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view_jsonl_i.h - shared by the two halves of the JSON Lines build:
 * view_jsonl.c (reading lines, masking and rewriting records; plans and
 * columns) and view_jsonl_par.c (cutting the file into parts, the two
 * steps of one part, the workers, and the two steps over the parts).
 * Private to masking/.
 */
#ifndef SPOT_VIEW_JSONL_I_H
#define SPOT_VIEW_JSONL_I_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "format.h"
#include "jsonl.h"

#define VJL_CHUNK ((size_t)8 << 20)
#define VJL_CHUNK_STREAM ((size_t)2 << 20)
#define VJL_BLOCK ((size_t)1 << 20) /* bytes read at a time */
#define VJL_AHEAD 1		    /* parts masked ahead per worker */
#define VJL_THREADS 8		    /* workers at most */
/*
 * Noise seeds (the row of a cell): record number + occurrence in the
 * record << VJL_OCC_SHIFT, so a field a record holds once is seeded by
 * the record's number, as its row in the CSV and Parquet forms is.
 */
#define VJL_OCC_SHIFT 40

struct vjl_part {
	uint64_t off, end;  /* end 0: to EOF */
	uint64_t line, rec; /* its first line (1-based) and record (0-based) */
	/* step 1 */
	uint64_t nlines, nrecs;
	struct jsonl_paths *paths;
	int skim_rc;
	enum jsonl_err jerr;
	uint64_t err_line; /* in the part, 1-based */
	size_t err_byte;
	bool skimmed; /* protected by vjl.mu */
	/* vjl.whole: its lines and leaves as step 1 found them (a tape,
	 * at tape_off in *tape: the arena of the thread that read it) */
	struct spot_buf *tape;
	size_t tape_off, tape_len;
	uint32_t *map; /* its trie's nodes in vjl.paths (with a tape) */
	bool taped;
	/* step 2 */
	struct spot_buf buf;
	struct pipe_stats st;
	int rc;
	bool done;
	struct spot_err err;
};

/* One worker's plan, ready for leaf-by-leaf masking (view_jsonl.c). */
struct vjl_plan;

struct vjl;

struct vjl_worker {
	struct vjl *v;
	struct vjl_plan *wp;
	struct spot_buf rbuf; /* its read buffer */
	pthread_t tid;
};

struct vjl {
	int fd;
	uint64_t size;
	struct jsonl_paths *paths; /* every part's, merged after step 1 */
	struct pipe_col *cols;
	size_t ncols;
	struct vjl_part *parts;
	size_t nparts;
	struct vjl_worker *wk;
	size_t nwk;
	bool building; /* step 2, else step 1 */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t next;	  /* next part to claim */
	size_t claim_end; /* parts below it may be claimed */
	bool stop;
	struct spot_progress *prog;
	const struct view_req *req;
	struct spot_buf rbuf; /* the caller's read buffer */
	/*
	 * Read once (view_jsonl_build): the file is read into src at base,
	 * and the view written over it from 0 (wpos) while in_src; parts
	 * keep tapes while kept (bytes, atomic) stays under keep_max.
	 */
	bool whole, in_src;
	struct spot_buf src;
	size_t base, wpos;
	uint64_t kept, keep_max;
	struct spot_buf *pool; /* parts' output buffers to reuse (mu) */
	size_t npool;
	struct spot_buf tapes[VJL_THREADS + 1]; /* per worker, the caller */
};

/* Reading the lines of [off, end) (end 0: to EOF) into the caller's m. */
struct vjl_reader {
	int fd;
	uint64_t pos, end; /* next byte to read; end of the part */
	struct spot_buf *m;
	size_t start, scan;
	bool eof;
};

void vjl_reader_init(struct vjl_reader *r, int fd, uint64_t off, uint64_t end,
		     struct spot_buf *m);
/*
 * The next line (without its LF; *lf says whether it had one): 1, 0 at
 * the end, -E2BIG for a line over JSONL_MAX_LINE (+1 for a CR), -errno.
 */
int vjl_next(struct vjl_reader *r, const uint8_t **line, size_t *n, bool *lf);
/* 3 when line line_no of part p starts with the file's UTF-8 BOM, else 0. */
size_t vjl_bom(const struct vjl_part *p, uint64_t line_no, const uint8_t *s,
	       size_t n);

/* view_jsonl_par.c: step 1 and step 2 of one part, on read buffer m. */
void vjl_skim(struct vjl *v, struct vjl_part *p, struct spot_buf *m,
	      struct spot_buf *tape);
void vjl_build(struct vjl *v, struct vjl_part *p, struct vjl_plan *wp,
	       struct spot_buf *m);
/*
 * vjl_line on a line already tokenized: is_rec and its leaves ls (nodes
 * of v->paths).
 */
int vjl_rewrite(struct vjl *v, struct vjl_plan *wp, const uint8_t *s, size_t n,
		size_t bom, int is_rec, const struct jsonl_leaf *ls, size_t nl,
		uint64_t rec, uint64_t line, struct spot_buf *out,
		struct spot_err *err);
/* wp's scratch for n leaves (NULL: out of memory). */
struct jsonl_leaf *vjl_plan_leaves(struct vjl_plan *wp, size_t n);
/* The merged paths' leaves as v->cols, sorted; -ENOTUNIQ, -ENOMEM. */
int vjl_columns(struct vjl *v);
/*
 * Rewrite one line (s, n; a BOM of bom bytes) into out, masked as the
 * JSON Lines form serves it: 1 for a record (record rec), 2 for a record
 * the row filter dropped (nothing written), 0 for a line of white space
 * (copied), -errno with err set (line in it, never a value).
 */
int vjl_line(struct vjl *v, struct vjl_plan *wp, const uint8_t *s, size_t n,
	     size_t bom, uint64_t rec, uint64_t line, struct spot_buf *out,
	     struct spot_err *err);
/* Bind up to threads plans (at least one) on v->cols into wps. */
int vjl_plans(struct vjl *v, size_t threads, struct vjl_plan **wps, size_t *n,
	      struct spot_err *err);
void vjl_plan_free(struct vjl_plan *wp);
/* Whether wp's plan drops records (row(), sample:, k_anonymity). */
bool vjl_plan_filters(const struct vjl_plan *wp);
/* Forget which record wp masked last: the next vjl_line of record 0 is
 * masked as a first pass over the file masks it. */
void vjl_plan_restart(struct vjl_plan *wp);
/*
 * Whether every transform of column col keeps its value's type (built-in
 * methods that say so, no Lua); *none when it has no transform at all
 * (the value is served as it is).
 */
/* Whether column col is served with nothing of its value (null, redact,
 * unlisted redact; never Lua). */
bool vjl_plan_blank(const struct vjl_plan *wp, size_t col);
bool vjl_plan_keeps(const struct vjl_plan *wp, size_t col, bool *none);

/*
 * view_jsonl_schema.c: the columns of the CSV and Parquet forms, one per
 * top-level key (sorted by bytes), and with typed each one's Parquet
 * shape (struct pq_shape, parquet.h), from the discovered paths and the
 * rules of wp.
 */
#define VJL_FORM_MAX_FIELDS 256	 /* keys of a struct; more: JSON text */
#define VJL_FORM_MAX_DEPTH 32	 /* groups on a path; deeper: JSON text */
#define VJL_FORM_MAX_LEAVES 1024 /* leaf columns of a column; more: text */

struct pq_shape;

struct vjl_fschema {
	struct pipe_col *cols;
	size_t ncols;
	struct pq_shape *shapes; /* per column (typed), else zeroed */
	struct spot_arena a;	 /* the shapes' fields and keys */
};

/* fs zeroed with its arena initialised. 0, -ENOMEM. */
int vjl_fschema_make(struct vjl_fschema *fs, const struct jsonl_paths *t,
		     const struct vjl_plan *wp, bool typed);
void vjl_fschema_fini(struct vjl_fschema *fs);
/* The column of top-level key (k, len), or -1. */
int64_t vjl_fschema_find(const struct vjl_fschema *fs, const uint8_t *k,
			 size_t len);

/* view_jsonl_form.c: the CSV and Parquet forms (req->form). */
int view_jsonl_convert(const struct view_format *f, const struct view_req *req,
		       struct view_out *out, struct spot_err *err);

/* view_jsonl_par.c */
/* Cut the file into parts of about chunk bytes at line feeds. */
int vjl_cut(struct vjl *v, size_t chunk);
/* Discover every part, merge their paths, make the columns. */
int vjl_step1(struct vjl *v, size_t threads, struct spot_err *err);
/* Rewrite every part with wps (one per worker) into out, or emit it. */
int vjl_step2(struct vjl *v, struct vjl_plan **wps, size_t nwps,
	      struct view_out *out, struct spot_err *err);

/* ---- containers served as null whole (view_jsonl_hide.c) ---- */

#define VJL_HIDE_NONE UINT32_MAX

/* Per node of a file's paths, for one plan. */
struct vjl_hide {
	const struct jsonl_paths *t;
	bool *blank;	/* per column: served with nothing of its value */
	bool *all;	/* every field at or under the node is hidden */
	uint32_t *up;	/* the node above whose value is served as null, or
			 * VJL_HIDE_NONE */
	uint8_t *depth; /* levels below the record */
};

/*
 * The hidden containers of paths t, blank[c] saying whether column c (a
 * node's tag, ncols of them) is served with nothing of its value. *out
 * NULL when no column is hidden. 0 or -ENOMEM.
 */
int vjl_hide_new(const struct jsonl_paths *t, const bool *blank, size_t ncols,
		 struct vjl_hide **out);
void vjl_hide_free(struct vjl_hide *h);
/*
 * Whether leaf ls[0] (of the nl leaves left of the record in line (s,
 * len), the leaf before it ending at from, or from 0) starts a container
 * served as null: one hidden in every record, the outermost one opened
 * since the leaf before that holds no served field in this record, or
 * the leaf itself when it is an empty {} or [] of a hidden column. 1 with
 * its bytes in [*off, *end), 0 for none, -EIO when the line does not hold
 * it so (never for a line the tokenizer accepted).
 */
int vjl_hide_at(const struct vjl_hide *h, const uint8_t *s, size_t len,
		size_t from, const struct jsonl_leaf *ls, size_t nl,
		size_t *off, size_t *end);

#endif /* SPOT_VIEW_JSONL_I_H */

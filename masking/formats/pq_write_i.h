/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_write_i.h - private to the Parquet writer (pq_write.c: the sink, row
 * groups, schema and footer; pq_shred.c: cells into leaf columns, JSON
 * values shredded by their shapes).
 *
 * A column of the sink is a tree of nodes (struct pq_wnode), its leaves
 * the file's leaf columns, each with its own chunk writer. Every node is
 * optional except the repeated "list" group of a LIST, which has no node
 * of its own: a LIST node's def is its own presence, def + 1 an entry of
 * the list, and its element node's def (def + 2) a non-null element.
 */
#ifndef SPOT_PQ_WRITE_I_H
#define SPOT_PQ_WRITE_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pq_view_i.h"

/* How a column's cells are written (struct pq_writer.mode). */
enum pq_wmode {
	PQ_WM_TEXT = 0, /* a leaf: the cell's text (pq_sh_text) */
	PQ_WM_BLOB,	/* a LIST of STRING: a PIPE_F_LIST cell (pipe.h) */
	PQ_WM_JSON,	/* a STRUCT or LIST: the value's JSON text */
};

struct pq_wnode {
	uint8_t kind;	/* enum pq_shape_kind */
	uint32_t def;	/* definition level of a non-null value here */
	uint32_t rep;	/* LIST: its elements' repetition level */
	uint32_t leaf0; /* its leaves: [leaf0, leaf0 + nleaf) */
	uint32_t nleaf;
	uint32_t *kids; /* node indices: fields, or the element */
	uint32_t nkids;
	const char *name; /* field key (bytes); "element" in a list */
	size_t name_len;
};

/* A path component of a leaf (path_in_schema). */
struct pq_wname {
	const char *p;
	size_t n;
};

struct pq_wleaf {
	struct pq_chunk_wr w;
	uint8_t kind; /* enum pq_shape_kind, a leaf one */
	int ptype;    /* PQ_BYTE_ARRAY, PQ_INT64, PQ_DOUBLE, PQ_BOOLEAN */
	uint32_t max_def, max_rep;
	struct pq_wname *path;
	uint32_t npath;
};

/* Where a struct field's value starts in the JSON text (pq_shred.c). */
struct pq_wspan {
	size_t off; /* SIZE_MAX: the object lacks it */
};

struct pq_writer {
	struct spot_buf *out;
	struct spot_arena a; /* the footer's tree, names, nodes' kids */
	char **names;	     /* per column */
	size_t *lens;
	uint8_t *mode; /* per column: enum pq_wmode */
	uint32_t *top; /* per column: its node */
	size_t ncols;
	const struct pq_shape *shapes; /* pq_writer_set_shapes, or NULL */
	size_t nshapes;
	struct pq_wnode *nodes;
	size_t nnodes, capnodes;
	struct pq_wleaf *leaves; /* one chunk writer each, open row group */
	size_t nleaves, capleaves;
	struct pq_wspan *spans; /* a stack: the objects being shredded */
	size_t nspans, capspans;
	struct spot_buf dec; /* a decoded string */
	uint64_t rg_rows, rows;
	struct pq_tstruct **rgs;
	size_t nrgs, caprgs;
	bool begun;
	uint64_t drained; /* bytes of the file no longer in out */
};

/* The physical type of a leaf shape. */
int pq_sh_ptype(uint8_t kind);
/*
 * Column c's cell v into its leaves (by x->mode[c]), ending the pages
 * that are full. -EDOM for a value that does not fit, -EFBIG for one
 * over 2 GiB, -ENOMEM.
 */
int pq_sh_cell(struct pq_writer *x, size_t c, const struct pipe_cell *v,
	       struct spot_err *err);

#endif /* SPOT_PQ_WRITE_I_H */

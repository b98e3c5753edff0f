/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_thrift.h - a generic Thrift compact protocol reader and writer, used for
 * the Parquet footer (FileMetaData) and page headers.
 *
 * A struct is parsed into a small tree of fields (pq_tstruct), kept in an
 * arena, whatever the field ids mean. Unknown fields therefore survive a
 * parse/write round trip losslessly; pq_meta.c gives the fields their
 * Parquet meaning and decides which ones to drop.
 *
 * Hostile input is expected. The reader never allocates more than a small
 * constant times the input length: a list, set, map or binary may not claim
 * more elements or bytes than remain in the input (every element takes at
 * least one byte), and nesting is bounded by PQ_THRIFT_MAX_DEPTH. Errors are
 * -EINVAL with a message naming the byte offset, never a row value.
 *
 * Binary values of a parsed tree point into the input buffer (zero copy): the
 * input must outlive the tree. Trees are freed with their arena. No locking:
 * a tree belongs to one thread at a time.
 */
#ifndef SPOT_PQ_THRIFT_H
#define SPOT_PQ_THRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "spot.h"

/* Deepest struct/list nesting accepted; Parquet metadata needs about 8. */
#define PQ_THRIFT_MAX_DEPTH 48

/* Compact protocol type codes (as on the wire; BOOL is 1 for either value). */
enum pq_ttype {
	PQ_TT_STOP = 0,
	PQ_TT_BOOL = 1,	      /* wire: 1 = true, 2 = false */
	PQ_TT_BOOL_FALSE = 2, /* wire only; trees always use PQ_TT_BOOL */
	PQ_TT_I8 = 3,
	PQ_TT_I16 = 4,
	PQ_TT_I32 = 5,
	PQ_TT_I64 = 6,
	PQ_TT_DOUBLE = 7,
	PQ_TT_BINARY = 8,
	PQ_TT_LIST = 9,
	PQ_TT_SET = 10,
	PQ_TT_MAP = 11,
	PQ_TT_STRUCT = 12,
};

struct pq_tstruct;

/* One value of any type. */
struct pq_tval {
	uint8_t type;  /* enum pq_ttype */
	uint8_t etype; /* LIST/SET: element type; MAP: key type */
	uint8_t vtype; /* MAP: value type */
	uint32_t n;    /* BINARY: bytes; LIST/SET: elements; MAP: pairs */
	union {
		int64_t i; /* BOOL (0/1), I8, I16, I32, I64 */
		double d;
		const uint8_t *bin;
		struct pq_tstruct *st;
		struct pq_tval
			*elems; /* LIST/SET: n; MAP: 2n, key then value */
	} u;
};

struct pq_tfield {
	int16_t id;
	struct pq_tval v;
};

/* A struct: its fields in wire order (pq_tstruct_set keeps ids sorted). */
struct pq_tstruct {
	uint32_t n;
	uint32_t cap;
	struct pq_tfield *f;
};

/*
 * Parse one struct from (p, len). The tree is allocated in a; *used gets the
 * number of bytes consumed (trailing bytes are the caller's business).
 * 0, -EINVAL (malformed, err set) or -ENOMEM.
 */
int pq_thrift_read(struct spot_arena *a, const uint8_t *p, size_t len,
		   struct pq_tstruct **out, size_t *used, struct spot_err *err);

/* Serialise st (compact protocol) at the end of b. 0, -EINVAL or -ENOMEM. */
int pq_thrift_write(struct spot_buf *b, const struct pq_tstruct *st);

/* ---- tree access and editing ---- */

/* A new empty struct in a, or NULL on ENOMEM. */
struct pq_tstruct *pq_tstruct_new(struct spot_arena *a);
/* Deep copy of st into a (binary bytes are shared, not copied). */
struct pq_tstruct *pq_tstruct_clone(struct spot_arena *a,
				    const struct pq_tstruct *st);
/* The first field with this id, or NULL. */
struct pq_tval *pq_tstruct_get(const struct pq_tstruct *st, int16_t id);
/* Remove every field with this id. */
void pq_tstruct_del(struct pq_tstruct *st, int16_t id);
/* Remove every field whose id is not in keep[0..nkeep). */
void pq_tstruct_keep_only(struct pq_tstruct *st, const int16_t *keep,
			  size_t nkeep);
/* Replace the field with this id or insert it in id order. 0 or -ENOMEM. */
int pq_tstruct_set(struct spot_arena *a, struct pq_tstruct *st, int16_t id,
		   const struct pq_tval *v);
/* Shorthands for pq_tstruct_set. type is PQ_TT_I32, PQ_TT_I64, ... */
int pq_tstruct_set_int(struct spot_arena *a, struct pq_tstruct *st, int16_t id,
		       enum pq_ttype type, int64_t v);
int pq_tstruct_set_bin(struct spot_arena *a, struct pq_tstruct *st, int16_t id,
		       const void *p, size_t len);

/*
 * Integer field (any integer or bool type) into *v. 0, -ENOENT when absent,
 * -EINVAL when present with a non-integer type.
 */
int pq_tstruct_int(const struct pq_tstruct *st, int16_t id, int64_t *v);

/* A struct value holding st. */
struct pq_tval pq_tval_struct(struct pq_tstruct *st);

/*
 * Make *out a list of n zeroed elements of etype, allocated in a (fill
 * out->u.elems). 0 or -ENOMEM.
 */
int pq_tval_list(struct spot_arena *a, struct pq_tval *out, enum pq_ttype etype,
		 uint32_t n);

/*
 * Append v as an unsigned LEB128 varint (Thrift compact integers, and the
 * RLE/bit-packed run headers of pq_page.c). 0 or -ENOMEM.
 */
int pq_uvarint_put(struct spot_buf *b, uint64_t v);

#endif /* SPOT_PQ_THRIFT_H */

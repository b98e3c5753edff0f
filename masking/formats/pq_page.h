/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_page.h - Parquet page encodings: the RLE/bit-packed hybrid (levels,
 * dictionary indexes, booleans), PLAIN, PLAIN_DICTIONARY/RLE_DICTIONARY,
 * DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and
 * BYTE_STREAM_SPLIT decoders; PLAIN, dictionary-index and level encoders.
 * Walking the pages of a column chunk is pq_chunk.h's job.
 *
 * All decoders take untrusted (ptr, len) input and a value count and fail
 * with -EINVAL when the input is short, a length lies, a dictionary index is
 * out of range or a bit width is impossible. Output arrays are sized from the
 * value count, which callers bound beforehand (page headers are checked
 * against the chunk's value count and PQ_MAX_PAGE_VALUES).
 *
 * Memory: decoded values live in the arena passed in; BYTE_ARRAY values may
 * point into the input buffer, which must outlive them. No locking.
 */
#ifndef SPOT_PQ_PAGE_H
#define SPOT_PQ_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pq_meta.h"
#include "spot.h"

/* Caps for hostile pages: uncompressed bytes and values per page. */
#define PQ_MAX_PAGE_BYTES (512u << 20)
#define PQ_MAX_PAGE_VALUES (4u << 20)

/* A byte array value. */
struct pq_ba {
	const uint8_t *p;
	uint32_t len;
};

/* Decoded non-null values of one page (or a dictionary). */
struct pq_vals {
	int ptype;	/* enum pq_ptype */
	uint32_t width; /* bytes per fixed value; BOOLEAN: 1 (0 or 1) */
	uint32_t n;
	uint8_t *fixed;	  /* n * width bytes, for every type but BYTE_ARRAY */
	struct pq_ba *ba; /* n values, BYTE_ARRAY only */
};

/* Bytes per value of a fixed-width type (0 for BYTE_ARRAY). */
uint32_t pq_type_width(int ptype, int32_t type_length);

/* ---- RLE / bit-packed hybrid ---- */

/*
 * Decode exactly n values of bit width bw (0..32) from (p, len) into out.
 * 0 or -EINVAL when the data runs out first.
 */
int pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t n,
		  uint32_t *out);
/* Append the hybrid encoding of v[0..n) at width bw to b. 0 or -ENOMEM. */
int pq_rle_encode(struct spot_buf *b, const uint32_t *v, uint32_t n, int bw);
/* Bits needed for values up to max (0 for 0). */
int pq_bit_width(uint64_t max);

/* ---- value decoders ---- */

/*
 * Decode n non-null values stored with encoding enc from (p, len) into out
 * (allocated in a). dict is the column's dictionary for the dictionary
 * encodings (NULL when the chunk has none). 0, -EINVAL (err set, no values
 * in the message), -ENOTSUP for an encoding the type cannot use, -ENOMEM.
 */
int pq_vals_decode(int enc, int ptype, uint32_t width,
		   const struct pq_vals *dict, const uint8_t *p, size_t len,
		   uint32_t n, struct spot_arena *a, struct pq_vals *out,
		   struct spot_err *err);

/*
 * DELTA_BINARY_PACKED: decode n integers into out; *used gets the bytes
 * consumed (the encoding is self-delimiting). 0 or -EINVAL.
 */
int pq_delta_decode(const uint8_t *p, size_t len, uint32_t n, int64_t *out,
		    size_t *used);

/* ---- encoders ---- */

/* Append the PLAIN encoding of v[0..n) to b. 0 or -ENOMEM. */
int pq_plain_encode(struct spot_buf *b, const struct pq_vals *v);
/* Append one PLAIN value (fixed bytes, or a BYTE_ARRAY's bytes). */
int pq_plain_put(struct spot_buf *b, int ptype, const uint8_t *p, uint32_t len);
/* Dictionary indexes: one bit-width byte then the hybrid. 0 or -ENOMEM. */
int pq_dict_idx_encode(struct spot_buf *b, const uint32_t *idx, uint32_t n,
		       uint32_t dict_size);
/*
 * Decode n levels (max_level > 0) of a v1 data page encoded with enc (RLE
 * with a 4-byte length prefix, or the deprecated BIT_PACKED); *used gets
 * the bytes consumed. 0 or -EINVAL.
 */
int pq_levels_decode_v1(int enc, const uint8_t *p, size_t len, int max_level,
			uint32_t n, uint32_t *out, size_t *used);

/*
 * Levels: v1 data pages prefix the hybrid with its 4-byte length, v2 pages
 * do not. Nothing is written when max_level is 0. 0 or -ENOMEM.
 */
int pq_levels_encode(struct spot_buf *b, const uint32_t *lv, uint32_t n,
		     int max_level, bool v1_prefix);

#endif /* SPOT_PQ_PAGE_H */

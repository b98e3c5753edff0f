/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_meta.h - the meaning of Parquet's Thrift structures: FileMetaData
 * (schema, row groups, column chunks), page headers, and the footer edits a
 * masked view needs.
 *
 * pq_meta_parse() validates the footer of an untrusted file: the schema tree
 * is consistent, every row group has one chunk per leaf column, chunk byte
 * ranges lie inside the file's data area, types agree with the schema.
 * That the ranges are disjoint and the pages walk is pq_layout.h's job.
 * Encrypted columns and external column chunks are refused. The footer tree
 * (pq_thrift) is kept whole so that fields this module does not know are
 * passed through unchanged for unmasked columns.
 *
 * A pq_meta is immutable after parsing and may be read by several threads;
 * views edit a clone of the tree (pq_tstruct_clone), never the original.
 */
#ifndef SPOT_PQ_META_H
#define SPOT_PQ_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pq_thrift.h"
#include "spot.h"

/* Physical types (parquet.thrift Type). */
enum pq_ptype {
	PQ_BOOLEAN = 0,
	PQ_INT32 = 1,
	PQ_INT64 = 2,
	PQ_INT96 = 3,
	PQ_FLOAT = 4,
	PQ_DOUBLE = 5,
	PQ_BYTE_ARRAY = 6,
	PQ_FLBA = 7,
};

/* Logical types, merged from LogicalType and ConvertedType. */
enum pq_ltype {
	PQ_LT_NONE = 0,
	PQ_LT_STRING, /* STRING, UTF8, ENUM, JSON */
	PQ_LT_DECIMAL,
	PQ_LT_DATE,
	PQ_LT_TIME,
	PQ_LT_TIMESTAMP,
	PQ_LT_UUID,
	PQ_LT_INT,   /* INTEGER(bits, signed) */
	PQ_LT_OTHER, /* anything else: served as raw bytes or numbers */
};

enum pq_tunit { PQ_MILLIS = 0, PQ_MICROS = 1, PQ_NANOS = 2 };

enum pq_repetition { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };

/* Encodings (parquet.thrift Encoding). */
enum pq_encoding {
	PQ_ENC_PLAIN = 0,
	PQ_ENC_PLAIN_DICTIONARY = 2,
	PQ_ENC_RLE = 3,
	PQ_ENC_BIT_PACKED = 4,
	PQ_ENC_DELTA_BINARY_PACKED = 5,
	PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
	PQ_ENC_DELTA_BYTE_ARRAY = 7,
	PQ_ENC_RLE_DICTIONARY = 8,
	PQ_ENC_BYTE_STREAM_SPLIT = 9,
};

enum pq_page_type {
	PQ_PAGE_DATA = 0,
	PQ_PAGE_INDEX = 1,
	PQ_PAGE_DICTIONARY = 2,
	PQ_PAGE_DATA_V2 = 3,
};

/* Largest FIXED_LEN_BYTE_ARRAY width accepted. */
#define PQ_MAX_FLBA_LEN (1u << 20)
/* Deepest schema nesting accepted. */
#define PQ_MAX_SCHEMA_DEPTH 32

/* A leaf (primitive) column of the schema. */
struct pq_leaf {
	char *path; /* "a.b.c", NUL-terminated, in the meta arena */
	size_t path_len;
	uint32_t schema_idx;	  /* index in FileMetaData.schema */
	uint32_t depth;		  /* path components */
	int ptype;		  /* enum pq_ptype */
	int32_t type_length;	  /* FLBA width */
	int repetition;		  /* the leaf's own enum pq_repetition */
	int ltype;		  /* enum pq_ltype */
	int unit;		  /* TIME/TIMESTAMP: enum pq_tunit */
	bool utc;		  /* TIME/TIMESTAMP: isAdjustedToUTC */
	int32_t scale, precision; /* DECIMAL */
	int16_t max_def, max_rep;
};

/* One column chunk: row group g, leaf c. */
struct pq_chunk {
	struct pq_tstruct *cc; /* ColumnChunk */
	struct pq_tstruct *md; /* its ColumnMetaData */
	int64_t codec;
	int64_t num_values;
	int64_t data_off; /* first data page */
	int64_t dict_off; /* dictionary page, or -1 */
	int64_t start;	  /* first byte of the chunk */
	int64_t csize;	  /* total_compressed_size: bytes from start */
	int64_t usize;	  /* total_uncompressed_size */
};

struct pq_rowgroup {
	struct pq_tstruct *rg;
	int64_t num_rows;
	struct pq_chunk *chunks; /* nleaves */
};

struct pq_meta {
	struct spot_arena arena; /* everything below */
	uint8_t *footer;	 /* the footer bytes the tree points into */
	size_t footer_len;
	struct pq_tstruct *root; /* FileMetaData */
	struct pq_leaf *leaves;
	size_t nleaves;
	struct pq_rowgroup *rgs;
	size_t nrgs;
	int64_t num_rows;
};

/*
 * Parse and validate a footer (the Thrift bytes between the data and the
 * 8-byte trailer). data_end is the footer's file offset: every column chunk
 * must lie in [4, data_end). The bytes are copied. 0, -EINVAL or -ENOTSUP
 * (encrypted columns, external chunks; err set), -ENOMEM. Free with
 * pq_meta_free().
 */
int pq_meta_parse(const uint8_t *footer, size_t len, uint64_t data_end,
		  struct pq_meta **out, struct spot_err *err);
void pq_meta_free(struct pq_meta *m);

/* Type name for messages ("INT64", "BYTE_ARRAY"). */
const char *pq_ptype_name(int ptype);

/* ---- page headers ---- */

struct pq_page_hdr {
	int type;      /* enum pq_page_type */
	int32_t usize; /* uncompressed_page_size */
	int32_t csize; /* compressed_page_size */
	bool has_crc;
	uint32_t crc;
	int32_t num_values;	     /* data v1/v2, dictionary */
	int encoding;		     /* data v1/v2, dictionary */
	int def_enc, rep_enc;	     /* data v1 */
	int32_t num_nulls, num_rows; /* data v2 */
	int32_t def_len, rep_len;    /* data v2: level bytes, uncompressed */
	bool compressed;	     /* data v2: is_compressed (default true) */
	bool foreign;		     /* parse: holds fields Parquet does not
					define (pq_page_hdr_foreign) */
	size_t hdr_len;		     /* parse: bytes of the serialised header */
};

/*
 * Parse a PageHeader at (p, len) into h (scratch allocations in a, which the
 * caller resets). Sizes are checked to be non-negative and the page body to
 * fit in len. 0 or -EINVAL (err set) or -ENOMEM.
 */
int pq_page_hdr_parse(struct spot_arena *a, const uint8_t *p, size_t len,
		      struct pq_page_hdr *h, struct spot_err *err);
/*
 * Parse only the PageHeader at (p, len), whatever the page body's length
 * (for walking page headers without reading the bodies). 0, -EINVAL (err
 * set, also for a header cut short by len) or -ENOMEM.
 */
int pq_page_hdr_read(struct spot_arena *a, const uint8_t *p, size_t len,
		     struct pq_page_hdr *h, struct spot_err *err);
/* Append the PageHeader for h to b (no statistics). 0 or -ENOMEM. */
int pq_page_hdr_write(struct spot_buf *b, const struct pq_page_hdr *h);

/* ---- footer edits for views (on a clone of m->root) ---- */

/* The ColumnChunk of (g, c) inside a clone of the FileMetaData root. */
struct pq_tstruct *pq_meta_clone_chunk(struct pq_tstruct *root, size_t g,
				       size_t c);
/* The RowGroup g inside a clone. */
struct pq_tstruct *pq_meta_clone_rowgroup(struct pq_tstruct *root, size_t g);
/* The SchemaElement of leaf l inside a clone. */
struct pq_tstruct *pq_meta_clone_schema(struct pq_tstruct *root,
					const struct pq_leaf *l);

/*
 * An unmasked chunk moved to new_start: page offsets shifted, page index and
 * bloom filter references dropped (the caller may serve the bloom filter
 * again: pq_meta_set_bloom). Fields this
 * module does not know are kept. 0 or -ENOMEM.
 */
int pq_meta_chunk_move(struct spot_arena *a, struct pq_tstruct *cc,
		       const struct pq_chunk *src, int64_t new_start);
/*
 * Byte ranges a chunk's metadata declares besides its pages: its bloom
 * filter (bloom_filter_offset and _length) and page indexes (offset and
 * column index). 0 with off and len as stored (not checked; len -1 when
 * only the offset is given), -ENOENT when there is no offset.
 */
enum pq_side { PQ_SIDE_BLOOM, PQ_SIDE_OFFSET_INDEX, PQ_SIDE_COLUMN_INDEX };
#define PQ_NSIDES 3
int pq_meta_side_range(const struct pq_chunk *ch, int which, int64_t *off,
		       int64_t *len);
/*
 * The bloom filter of a source chunk: its offset and length, if both are
 * given and lie inside the data area [4, data_end) (0), else -ENOENT.
 */
int pq_meta_bloom(const struct pq_chunk *src, uint64_t data_end, int64_t *off,
		  int64_t *len);
/* Point a moved chunk's bloom filter at off (served there, len bytes). */
int pq_meta_set_bloom(struct spot_arena *a, struct pq_tstruct *cc, int64_t off,
		      int64_t len);

/* What a masked chunk became. */
struct pq_chunk_out {
	int ptype;	  /* physical type written */
	int64_t start;	  /* file offset of the first page */
	int64_t dict_off; /* dictionary page offset or -1 */
	int64_t data_off;
	int64_t csize, usize; /* page bytes incl. headers */
	int64_t num_values;
	int64_t null_count;
	int32_t ndict_pages; /* PLAIN dictionary pages (0 or 1) */
	int32_t ndata[2][2]; /* [0 = v1, 1 = v2][0 = PLAIN, 1 = RLE_DICT] */
};

/*
 * A masked chunk: ColumnChunk and ColumnMetaData rebuilt from a whitelist of
 * fields (type, encodings, path, codec, sizes, offsets, encoding_stats and a
 * Statistics holding only null_count). Everything that could carry a source
 * value (statistics, page index, bloom filter, size and geospatial stats,
 * key/value metadata, unknown fields) is dropped. 0 or -ENOMEM.
 */
int pq_meta_chunk_masked(struct spot_arena *a, struct pq_tstruct *cc,
			 const struct pq_chunk_out *o);
/*
 * A new ColumnChunk for a flat column named name (len bytes, borrowed)
 * written with codec, filled from o as pq_meta_chunk_masked() does. NULL on
 * ENOMEM.
 */
struct pq_tstruct *pq_meta_chunk_new(struct spot_arena *a, const char *name,
				     size_t len, int64_t codec,
				     const struct pq_chunk_out *o);

/*
 * Change a leaf's schema element: to_string makes it BYTE_ARRAY STRING,
 * to_optional makes a REQUIRED leaf OPTIONAL. 0 or -ENOMEM.
 */
int pq_meta_schema_promote(struct spot_arena *a, struct pq_tstruct *se,
			   bool to_string, bool to_optional);

/* ---- what is structural (pq_scrub.c) ---- */

/*
 * Reduce a view's footer (the clone, after the view's edits) to what
 * parquet.thrift defines, each field of its declared type, in every nested
 * struct: unknown fields, column key/value metadata, encryption and
 * signing fields, LogicalTypes with unknown or free-form members (whole)
 * are dropped; the schema root is renamed "schema"; created_by is kept
 * only as "<known writer> version <n.n.n>". File key/value metadata keeps
 * "ARROW:schema" and "pandas" if embedded (a view that changes nothing:
 * no masked or redacted column, no row filter) and the file has no other
 * key, else none. 0 or -ENOMEM.
 */
int pq_meta_scrub(struct spot_arena *a, struct pq_tstruct *root, bool embedded);
/*
 * Whether a PageHeader tree holds anything parquet.thrift does not define
 * (it is edited to what it does). A page served byte for byte must not.
 */
bool pq_page_hdr_foreign(struct pq_tstruct *ph);
/* The same for a BloomFilterHeader. */
bool pq_bloom_hdr_foreign(struct pq_tstruct *bh);

#endif /* SPOT_PQ_META_H */

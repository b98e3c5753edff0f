/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_chunk.h - walking the pages of one Parquet column chunk (reader) and
 * building a new column chunk page by page (writer).
 *
 * The reader takes the chunk's bytes in memory, checks every page header
 * against the chunk (sizes inside the chunk, value counts within the chunk's
 * total and PQ_MAX_PAGE_VALUES, uncompressed size capped by
 * PQ_MAX_PAGE_BYTES, CRC when present), decompresses into a buffer of the
 * exact claimed size and decodes levels and values.
 *
 * The writer takes values one by one, ends a page when told (masked chunks
 * keep the source's page boundaries), dictionary-encodes while it pays and
 * falls back to PLAIN when the dictionary grows too large or does not help,
 * compresses pages with the chunk's codec and writes page headers (with a CRC
 * when asked). Its result is two buffers: the dictionary page (possibly
 * empty) and the data pages.
 *
 * Neither is thread-safe; each belongs to one view build.
 */
#ifndef SPOT_PQ_CHUNK_H
#define SPOT_PQ_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pq_meta.h"
#include "pq_page.h"
#include "spot.h"

/* Dictionary limits of the writer. */
#define PQ_DICT_MAX_BYTES (2u << 20)
#define PQ_DICT_MAX_ENTRIES (1u << 20)

/* ---- reader ---- */

/* One decoded data page. Valid until the next pq_chunk_next(). */
struct pq_page {
	int type;	     /* PQ_PAGE_DATA or PQ_PAGE_DATA_V2 */
	uint32_t num_values; /* level entries (rows for flat columns) */
	uint32_t *def;	     /* num_values levels, NULL if max_def == 0 */
	uint32_t *rep;	     /* num_values levels, NULL if max_rep == 0 */
	struct pq_vals vals; /* the non-null values */
};

struct pq_chunk_rd {
	const struct pq_leaf *leaf;
	int64_t codec;
	uint32_t width;
	const uint8_t *p; /* the chunk's bytes (caller owned) */
	size_t len;
	size_t pos;
	int64_t values_left; /* from the chunk metadata */
	bool has_dict;
	bool seen_data;
	bool had_crc; /* some page of the chunk carried a CRC */
	struct pq_vals dict;
	struct spot_arena dict_arena;
	struct spot_arena page_arena;
};

/* Start reading a chunk of num_values level entries from (p, len). */
void pq_chunk_rd_init(struct pq_chunk_rd *r, const struct pq_leaf *leaf,
		      int64_t codec, int64_t num_values, const uint8_t *p,
		      size_t len);
void pq_chunk_rd_fini(struct pq_chunk_rd *r);
/*
 * Decode the next data page into pg (dictionary pages are absorbed on the
 * way, index pages skipped). 1 with pg filled, 0 at the end of the chunk,
 * -EINVAL/-ENOTSUP/-ENOMEM with err set.
 */
int pq_chunk_next(struct pq_chunk_rd *r, struct pq_page *pg,
		  struct spot_err *err);

/* ---- writer ---- */

struct pq_dict_ent {
	uint64_t hash;
	uint32_t off; /* in dict_bytes */
	uint32_t len;
};

struct pq_chunk_wr {
	int ptype;
	uint32_t width; /* fixed types */
	int64_t codec;
	bool crc;
	int max_def;
	/* dictionary */
	bool dict_on;		    /* still dictionary-encoding */
	bool dict_decided;	    /* first page seen: keep or drop decided */
	struct spot_buf dict_bytes; /* raw value bytes */
	struct pq_dict_ent *dict;   /* entries in index order */
	uint32_t dict_n;
	uint32_t *slots; /* open addressing: index + 1, 0 = empty */
	uint32_t nslots;
	/* the page being built */
	struct spot_buf plain; /* PLAIN values (BOOLEAN: one byte each) */
	uint32_t *idx, *def;
	uint32_t nidx, nlev, cap_idx, cap_lev;
	uint32_t page_nulls;
	/* repeated columns (pq_chunk_wr_set_rep) */
	int max_rep;
	uint32_t *rep, cap_rep;
	uint32_t next_rep;  /* level of the next put or null */
	uint32_t page_rows; /* entries at level 0: rows begun in the page */
	/* output */
	struct spot_buf dict_page;
	struct spot_buf data;
	struct spot_buf body, comp; /* scratch */
	int64_t usize, csize;	    /* headers included */
	int64_t num_values, null_count;
	int32_t ndata[2][2];
};

/*
 * Start a chunk of physical type ptype (width for fixed types), compressed
 * with codec, with page CRCs if crc, for a flat column with max_def 0 or 1
 * (or deeper for non-repeated nesting). 0 or -ENOTSUP for a codec that
 * cannot be written.
 */
int pq_chunk_wr_init(struct pq_chunk_wr *w, int ptype, uint32_t width,
		     int64_t codec, bool crc, int max_def);
void pq_chunk_wr_fini(struct pq_chunk_wr *w);
/*
 * A repeated column (inside a list or map): every put and null also gets a
 * repetition level, 0 (a new row) unless pq_chunk_wr_rep() says otherwise
 * just before. Pages should end at row boundaries (v2 pages must).
 */
void pq_chunk_wr_set_rep(struct pq_chunk_wr *w, int max_rep);
/* The repetition level of the next put or null. */
void pq_chunk_wr_rep(struct pq_chunk_wr *w, uint32_t rep);
/* A non-null value: width bytes, or the BYTE_ARRAY bytes. 0 or -ENOMEM. */
int pq_chunk_wr_put(struct pq_chunk_wr *w, const uint8_t *p, uint32_t len);
/* A null at definition level def (< max_def). 0 or -ENOMEM. */
int pq_chunk_wr_null(struct pq_chunk_wr *w, uint32_t def);
/* End the current page as a v1 (PQ_PAGE_DATA) or v2 page. */
int pq_chunk_wr_page(struct pq_chunk_wr *w, int page_type,
		     struct spot_err *err);
/* Write the dictionary page (if any); dict_page and data are then final. */
int pq_chunk_wr_finish(struct pq_chunk_wr *w, struct spot_err *err);
/* After finishing: free the scratch, keep dict_page, data and the counts. */
void pq_chunk_wr_trim(struct pq_chunk_wr *w);

#endif /* SPOT_PQ_CHUNK_H */

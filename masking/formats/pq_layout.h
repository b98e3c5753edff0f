/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_layout.h - structural validation of where an untrusted Parquet file
 * says its bytes are, so that a view serves source bytes only from ranges
 * that provably hold what the footer says (issue 11, finding 4).
 *
 * pq_layout_check() runs once when a file is opened, for every chunk
 * (served or decoded): every column chunk, bloom filter and page index
 * range lies inside the data area (after the leading "PAR1", before the
 * footer) and no two of them share a byte. So a chunk served byte for byte
 * can never cover another column's pages, a bloom filter or an index of a
 * masked column, or the footer.
 *
 * pq_layout_walk_chunk() runs when a view is built, for each chunk served
 * byte for byte: its page headers (only the headers are read, the bodies
 * are skipped) walk exactly to total_compressed_size, the dictionary page
 * comes first where dictionary_page_offset is declared and nowhere else,
 * data_page_offset is the first data page (or the first page), only
 * dictionary and data pages occur, and the data pages' num_values add up to
 * the chunk's num_values (the row group's num_rows for a flat column). pq_layout_bloom() checks a served bloom filter's
 * header: its bitset ends exactly at bloom_filter_length.
 *
 * Errors name the row group and the column, never a value. Nothing here
 * keeps state: safe from any thread on a shared pq_meta.
 */
#ifndef SPOT_PQ_LAYOUT_H
#define SPOT_PQ_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "pq_meta.h"
#include "spot.h"

/* Largest page or bloom filter header the walk accepts. */
#define PQ_MAX_PAGE_HDR (16u << 20)

/*
 * Check that the byte ranges m declares (chunks, bloom filters, page
 * indexes) lie in [4, data_end) and are pairwise disjoint. 0, -EINVAL (err
 * names the row groups and columns) or -ENOMEM.
 */
int pq_layout_check(const struct pq_meta *m, uint64_t data_end,
		    struct spot_err *err);

/*
 * Walk the page headers of chunk (g, c) of m in the file open on fd (see
 * above). 0, -EINVAL (err set), -EIO (short file) or -errno of pread, or
 * -ENOMEM.
 */
int pq_layout_walk_chunk(const struct pq_meta *m, int fd, size_t g, size_t c,
			 struct spot_err *err);

/*
 * Check the header of chunk (g, c)'s bloom filter at [off, off + len): a
 * BloomFilterHeader whose numBytes bitset ends exactly at off + len. 0,
 * -EINVAL (err set), -EIO or -errno of pread, or -ENOMEM.
 */
int pq_layout_bloom(const struct pq_meta *m, int fd, size_t g, size_t c,
		    int64_t off, int64_t len, struct spot_err *err);

#endif /* SPOT_PQ_LAYOUT_H */

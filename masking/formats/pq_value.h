/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_value.h - Parquet values as pipeline cells (text) and back.
 *
 * Text forms handed to column transforms (and expected back):
 *   BOOLEAN                  "true" / "false"                    PIPE_TEXT
 *   INT32, INT64             decimal                             PIPE_INT
 *   FLOAT / DOUBLE           "%.9g" / "%.17g"                    PIPE_REAL
 *   DECIMAL (any physical)   "-123.45" (scale digits)            PIPE_REAL
 *   DATE                     "YYYY-MM-DD"                        PIPE_TEXT
 *   TIMESTAMP, INT96         "YYYY-MM-DD HH:MM:SS.fff[fff[fff]]" PIPE_TEXT
 *   TIME                     "HH:MM:SS.fff[fff[fff]]"            PIPE_TEXT
 *   UUID (FLBA 16)           "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" PIPE_TEXT
 *   BYTE_ARRAY STRING/ENUM/JSON  the bytes                       PIPE_TEXT
 *   other BYTE_ARRAY / FLBA  the bytes                           PIPE_BLOB
 * Parsing back also accepts "1"/"0" for booleans, a 'T' between date and
 * time, a missing fraction and a trailing "Z" or "+00[:00]"; a timestamp
 * given as a bare date means midnight. A value that does not parse is
 * reported (-EINVAL) so that the caller can serve the column as strings.
 *
 * Pure functions; no row value ever goes into an error message.
 */
#ifndef SPOT_PQ_VALUE_H
#define SPOT_PQ_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "pipe.h"
#include "pq_meta.h"
#include "pq_page.h"
#include "spot.h"

/*
 * The cell for one non-null value: p/len are the value's fixed bytes (width
 * of the physical type) or its BYTE_ARRAY bytes. Text is allocated in a
 * (BYTE_ARRAY text points at p). 0 or -ENOMEM.
 */
int pq_value_to_cell(const struct pq_leaf *l, const uint8_t *p, uint32_t len,
		     struct spot_arena *a, struct pipe_cell *out);

/*
 * Parse the text of cell c back into the physical encoding of leaf l:
 * fixed-width bytes into fixed (at least 16 bytes of room; *len gets the
 * width) or, for BYTE_ARRAY, *bytes and *len give the cell bytes (or a
 * re-encoded DECIMAL in fixed). 0 or -EINVAL when the text does not fit.
 */
int pq_value_from_cell(const struct pq_leaf *l, const struct pipe_cell *c,
		       uint8_t *fixed, const uint8_t **bytes, uint32_t *len);

#endif /* SPOT_PQ_VALUE_H */

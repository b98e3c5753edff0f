/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * export_review.h - the review of one file leaving the sandbox (spotfs
 * export): its bytes against what the daemon recorded (export_set.h).
 *
 * Kinds of file: CSV (by extension .csv/.tsv; a .csv's separator is
 * sniffed from its first line), Parquet (by its magic at both ends: read
 * through the table of formats, its cells reviewed as a CSV's, then its
 * key-value metadata, dictionaries and list/map values), plain text (any
 * other name whose bytes are valid UTF-8 with no control byte but tab,
 * LF, FF and CR; a line that is a JSON object or array is also a row of
 * its leaf values, and a line with a backslash is also reviewed with its
 * JSON escapes decoded), and opaque (gzip, zip, a Parquet file that
 * cannot be read, anything else): an opaque file is one finding unless
 * the policy allows opaque files.
 *
 * Findings (each with a 1-based line and, for CSV, column; never a value):
 *   raw_value   a cell, a word inside a cell, or a line equals a raw value
 *               of a masked column (after xrec_norm: case, spacing and
 *               NFD do not hide it; CSV quoting and "" escapes are undone
 *               first); line 0 for Parquet strings outside the rows
 *   pii         the pii detectors match inside a text cell or line
 *   small_count a count column (a count-like header, whole numbers only,
 *               3.0 being whole) holds a value from 1 to min_count - 1
 *   row_copy    the file's rows (as they are, or with one cell left out
 *               where the dataset served rows that wide) match more than
 *               max_row_share of the rows served from one dataset (line
 *               0; the dataset is named)
 *   opaque      the file cannot be reviewed
 * At most XRV_MAX_FINDINGS are kept; total counts them all.
 */
#ifndef SPOT_EXPORT_REVIEW_H
#define SPOT_EXPORT_REVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "export_set.h"

#define XRV_MAX_FINDINGS 50
#define XRV_DEFAULT_MIN_COUNT 5
#define XRV_DEFAULT_ROW_SHARE 0.01

enum xrv_kind {
	XRV_RAW_VALUE = 0,
	XRV_PII,
	XRV_SMALL_COUNT,
	XRV_ROW_COPY,
	XRV_OPAQUE,
};

struct xrv_finding {
	enum xrv_kind kind;
	uint64_t line;	 /* 1-based; 0 = the whole file */
	uint32_t column; /* 1-based CSV column; 0 = none */
	char what[96];	 /* pii kind, dataset and share, file type: no value */
};

struct xrv_opts {
	uint64_t min_count;
	double max_row_share;
	bool allow_opaque;
};

struct xrv_result {
	const char *type; /* "csv", "parquet", "text" or "opaque" */
	struct xrv_finding f[XRV_MAX_FINDINGS];
	size_t n;
	uint64_t total;
	uint64_t rows; /* records (CSV) or lines (text) reviewed */
};

/* The name of a finding kind ("raw_value"). */
const char *xrv_kind_name(enum xrv_kind k);

/*
 * Review the file name (for its extension) with bytes (p, len). cfg names
 * the datasets of rec's row sets. 0 (out filled; out->total 0 = pass) or
 * -ENOMEM.
 */
int xrv_review(struct xrec *rec, const struct cfg *cfg,
	       const struct xrv_opts *o, const char *name, const uint8_t *p,
	       size_t len, struct xrv_result *out);

#endif /* SPOT_EXPORT_REVIEW_H */

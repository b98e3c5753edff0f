/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view.h - builds a masked view of one source file: detects the format,
 * opens the matching pipeline source, lets the caller bind a plan to the
 * columns the source really has, and runs the pipeline into bytes.
 *
 * The caller's bind callback is where policy comes in; this layer knows no
 * policy. Nothing here opens files: the caller passes an O_RDONLY fd.
 */
#ifndef SPOT_VIEW_H
#define SPOT_VIEW_H

#include <stddef.h>

#include "pipe.h"
#include "spot.h"

enum view_fmt {
	VIEW_FMT_UNKNOWN = 0,
	VIEW_FMT_CSV,
	VIEW_FMT_PARQUET,
	VIEW_FMT_SQLITE,
};

/*
 * Bind a plan to the source's columns. *plan must stay valid until the
 * pipeline run ends; the callback's owner frees it afterwards.
 */
typedef int (*view_bind_fn)(void *arg, const struct pipe_col *cols,
			    size_t ncols, const struct pipe_plan **plan,
			    struct spot_err *err);

/*
 * The format of an open file: by magic bytes ("PAR1", "SQLite format 3"),
 * else by the name's suffix (.csv .tsv .txt .parquet .db .sqlite .sqlite3),
 * else CSV. Reads at most the first 16 bytes with pread.
 */
enum view_fmt view_detect(int fd, const char *name);
const char *view_fmt_name(enum view_fmt f);

/*
 * CSV in, CSV out: the served file keeps the source's dialect (delimiter,
 * BOM, line endings, quoting) for every unchanged cell. delim 0 detects.
 * 0 or -errno with err set (line numbers for malformed input).
 */
int view_build_csv(int fd, char delim, view_bind_fn bind, void *arg,
		   struct spot_buf *out, struct pipe_stats *st,
		   struct spot_err *err);

#endif /* SPOT_VIEW_H */

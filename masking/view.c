/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view.c - format detection and single-file view builds.
 */
#include "view.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "csv.h"
#include "parquet.h"

static int view_suffix(const char *name, const char *sfx)
{
	size_t n = strlen(name), s = strlen(sfx);

	return n > s && strcasecmp(name + n - s, sfx) == 0;
}

enum view_fmt view_detect(int fd, const char *name)
{
	uint8_t head[16];
	ssize_t n = pread(fd, head, sizeof(head), 0);

	if (n >= 4 && memcmp(head, "PAR1", 4) == 0)
		return VIEW_FMT_PARQUET;
	if (n >= 16 && memcmp(head, "SQLite format 3", 16) == 0)
		return VIEW_FMT_SQLITE;
	if (name && (view_suffix(name, ".parquet") || view_suffix(name, ".pq")))
		return VIEW_FMT_PARQUET;
	if (name && (view_suffix(name, ".db") || view_suffix(name, ".sqlite") ||
		     view_suffix(name, ".sqlite3")))
		return VIEW_FMT_SQLITE;
	return VIEW_FMT_CSV;
}

const char *view_fmt_name(enum view_fmt f)
{
	switch (f) {
	case VIEW_FMT_CSV:
		return "csv";
	case VIEW_FMT_PARQUET:
		return "parquet";
	case VIEW_FMT_SQLITE:
		return "sqlite";
	default:
		return "unknown";
	}
}

/* A CSV source through the bound plan into a sink. */
static int view_csv_run(int fd, char delim, view_bind_fn bind, void *arg,
			const struct pipe_sink_ops *kops, void *sink,
			struct pipe_stats *st, struct spot_err *err)
{
	struct csv_reader *r = NULL;
	const struct pipe_plan *plan = NULL;
	const struct pipe_col *cols;
	size_t ncols;
	int rc;

	rc = csv_reader_open_fd(fd, delim, &r);
	if (rc) {
		spot_err_set(err, "cannot read CSV: %s", strerror(-rc));
		goto out;
	}
	rc = csv_source_ops.columns(r, &cols, &ncols, err);
	if (!rc)
		rc = bind(arg, cols, ncols, &plan, err);
	if (!rc)
		rc = pipe_run(&csv_source_ops, r, plan, kops, sink, st, err);
out:
	csv_reader_free(r);
	return rc;
}

int view_build_csv(int fd, char delim, view_bind_fn bind, void *arg,
		   struct spot_buf *out, struct pipe_stats *st,
		   struct spot_err *err)
{
	struct csv_writer *w = NULL;
	int rc = csv_writer_new(out, &w);

	if (rc) {
		spot_err_set(err, "out of memory");
		return rc;
	}
	rc = view_csv_run(fd, delim, bind, arg, &csv_sink_ops, w, st, err);
	csv_writer_free(w);
	return rc;
}

int view_build_csv_parquet(int fd, char delim, view_bind_fn bind, void *arg,
			   struct spot_buf *out, struct pipe_stats *st,
			   struct spot_err *err)
{
	struct pq_writer *w = NULL;
	int rc = pq_writer_new(out, &w);

	if (rc) {
		spot_err_set(err, "out of memory");
		return rc;
	}
	rc = view_csv_run(fd, delim, bind, arg, &pq_sink_ops, w, st, err);
	pq_writer_free(w);
	return rc;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view.h - builds a masked view of one source file: opens the matching
 * pipeline source, lets the caller bind a plan to the columns the source
 * really has, and runs the pipeline into bytes. Callers above masking/ go
 * through the table of formats (format.h), which detects the format and
 * picks these builds.
 *
 * The caller's bind callback is where policy comes in; this layer knows no
 * policy. Nothing here opens files: the caller passes an O_RDONLY fd.
 */
#ifndef SPOT_VIEW_H
#define SPOT_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipe.h"
#include "spot.h"

/*
 * Bind a plan to the source's columns. *plan must stay valid until the
 * pipeline run ends; the callback's owner frees it afterwards.
 */
typedef int (*view_bind_fn)(void *arg, const struct pipe_col *cols,
			    size_t ncols, const struct pipe_plan **plan,
			    struct spot_err *err);

/*
 * CSV in, CSV out: the served file keeps the source's dialect (delimiter,
 * BOM, line endings, quoting) for every unchanged cell. delim 0 detects.
 * 0 or -errno with err set (line numbers for malformed input).
 */
int view_build_csv(int fd, char delim, view_bind_fn bind, void *arg,
		   struct spot_buf *out, struct pipe_stats *st,
		   struct spot_err *err);
/* The same, with the formula guard (csv.h) on or off. */
int view_build_csv_guard(int fd, char delim, view_bind_fn bind, void *arg,
			 bool guard, struct spot_buf *out,
			 struct pipe_stats *st, struct spot_err *err);
/*
 * view_build_csv on several threads (view_csv.c): the same bytes, the same
 * error message and the same stats whatever the number of threads. Parts
 * of about chunk bytes (0: 8 MiB) are masked by opts->threads workers, the
 * first with the plan of bind, the others with plans of more_plan (called
 * like bind, once per further worker; each plan is used by one thread).
 * Files under min_size bytes (0: 4 MiB; VIEW_CSV_ALWAYS: none), pipes and
 * threads < 2 build on the caller's thread, as view_build_csv. A plan must
 * give the same output for a row whichever plan masks it (row-seeded
 * state only: a Lua function keeping state across rows sees only its
 * worker's rows).
 */
#define VIEW_CSV_ALWAYS UINT64_MAX
struct view_csv_opts {
	unsigned threads;
	size_t chunk;
	uint64_t min_size;
	view_bind_fn more_plan;
	void *arg; /* for more_plan */
	/*
	 * Streaming (optional): the view's bytes go to emit, in order, as
	 * parts are masked, instead of into out; workers run at most a few
	 * parts ahead of emit, so memory stays bounded whatever the file's
	 * size. Files under min_size, or of one part, still go into out:
	 * the view is the emitted bytes followed by out. emit returns 0 or
	 * -errno (the build then fails with it). With emit, one thread
	 * (threads < 2 or no more_plan) also builds in parts.
	 */
	int (*emit)(void *emit_arg, const void *p, size_t len);
	void *emit_arg;
	/* With emit: bytes kept in out before streaming starts (0: stream
	 * from the first part), so a view that fits stays in memory and one
	 * that grows past it (masking can lengthen values) is streamed. */
	uint64_t emit_after;
	/* Serve formula cells as they are (csv_injection: off; csv.h). */
	bool formulas_raw;
};

int view_build_csv_opts(int fd, char delim, view_bind_fn bind, void *arg,
			const struct view_csv_opts *opts, struct spot_buf *out,
			struct pipe_stats *st, struct spot_err *err);
/*
 * The header and first n records of CSV bytes (p, len) appended to out, in
 * the same dialect (spotfs preview). 0 or -errno.
 */
int view_csv_head(const void *p, size_t len, uint64_t n, struct spot_buf *out);

/* ---- SQLite datasets ---- */

/*
 * A table (sql NULL) or a view (name + SELECT) to serve. refused, when
 * set, says why this name may not be served (no row value in it): every
 * build that needs the object fails with -EIO and that message.
 */
struct view_sqlobj {
	const char *name;
	const char *sql;
	const char *refused;
};

/* Bind a plan for one table or view of a SQLite dataset. */
typedef int (*view_bind_tbl_fn)(void *arg, const char *table,
				const struct pipe_col *cols, size_t ncols,
				const struct pipe_plan **plan,
				struct spot_err *err);

/* What a name in a SQLite database is (see enum sqlc_kind). */
enum view_sqlkind {
	VIEW_SQL_TABLE = 1,    /* ordinary table: served by tables: all */
	VIEW_SQL_VIEW = 2,     /* CREATE VIEW: served by db_views */
	VIEW_SQL_VIRTUAL = 4,  /* FTS3/4/5, rtree...: only named with rules */
	VIEW_SQL_SHADOW = 8,   /* a virtual table's storage: likewise */
	VIEW_SQL_INTERNAL = 16 /* sqlite_*: never served */
};

/*
 * Every table and view of the SQLite file at path, sorted by name, with
 * its kind (enum view_sqlkind) in (*kinds)[i]. Free names with
 * view_names_free and kinds with free(). 0 or -errno with err set.
 */
int view_sqlite_list(const char *path, char ***names, unsigned **kinds,
		     size_t *n, struct spot_err *err);
void view_names_free(char **names, size_t n);
/* Validate configured view SQL (one read-only SELECT). 0 or -EINVAL. */
int view_sqlite_check(const char *path, const char *name, const char *sql,
		      struct spot_err *err);

/*
 * The SELECT of the database's own view name (the text after AS in its
 * CREATE VIEW; the name matched as SQLite does, ignoring ASCII case),
 * malloc'd into *sql. 0, -ENOENT or -errno.
 */
int view_sqlite_view_sql(const char *path, const char *name, char **sql,
			 struct spot_err *err);

/*
 * Views never see raw data: every object with SQL (a configured view, or a
 * database view given its SELECT) runs against the masked tables of objs,
 * built first; a view using a table the dataset does not serve fails.
 *
 * Generated columns (GENERATED ALWAYS AS) of a table are computed by the
 * source from raw values. One with a transform of its own is served
 * through it. When any other column of its table is masked, the others
 * are recomputed from the served (masked) values by SQLite, from the
 * table's own definition (sqlc_regen); when that is not possible (the
 * definition, or a constraint such as NOT NULL, refuses the masked
 * values) the table fails with -EIO and a message naming the table and
 * the column (fail closed, never the raw value).
 */

/* objs[which] as CSV (BLOBs as hex); objs lists everything served. */
int view_sqlite_csv(const char *path, const struct view_sqlobj *objs, size_t n,
		    size_t which, view_bind_tbl_fn bind, void *arg,
		    struct spot_buf *out, struct pipe_stats *st,
		    struct spot_err *err);

/*
 * A fresh SQLite database holding objs[0..n) as masked tables (views
 * materialised), built from one snapshot of the source; no indexes,
 * statistics or free pages. Masked columns become TEXT unless their
 * transform keeps the type.
 */
int view_sqlite_db(const char *path, const struct view_sqlobj *objs, size_t n,
		   view_bind_tbl_fn bind, void *arg, struct spot_buf *out,
		   struct pipe_stats *st, struct spot_err *err);

#endif /* SPOT_VIEW_H */

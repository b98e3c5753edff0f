/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox_i.h - what sandbox.c and sandbox_sqlite.c share: the binding
 * state of one build and the pinned source file it reads.
 */
#ifndef SPOT_SANDBOX_I_H
#define SPOT_SANDBOX_I_H

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "format.h"
#include "plan.h"
#include "sandbox.h"
#include "srcdir.h"

/* Binding state of one build: one plan per table of a SQLite build. */
struct sbx_bind {
	struct sbx *s;
	const struct cfg_dataset *d;
	const char *role;
	struct plan **plans;
	size_t nplans;
	bool quiet; /* a further plan of the same table: warned already */
	/* Formats with objects: the objects served (views have SQL) and the
	 * columns of all of them, for dataset-wide rules (see plan_env). */
	const struct view_sqlobj *objs;
	size_t nobjs;
	struct pipe_col *ds_cols;
	size_t nds_cols;
	/* k_anonymity: the class counts, and whether this build counts
	 * them (sandbox_kanon.c); NULL for a dataset without it. */
	struct plan_kanon *kanon;
	bool counting;
	/* A DP release's rows pass (sandbox_dp.c): plans bind the row
	 * filter alone and feed the tap; NULL otherwise. */
	struct sbx_dp_tap *dp;
};

/* The bind callbacks of a build (view_req.bind, .more; arg: sbx_bind). */
int sbx_bind_tbl_cb(void *arg, const char *table, const struct pipe_col *cols,
		    size_t ncols, const struct pipe_plan **plan,
		    struct spot_err *err);
int sbx_bind_more_cb(void *arg, const char *table, const struct pipe_col *cols,
		     size_t ncols, const struct pipe_plan **plan,
		     struct spot_err *err);

/*
 * A DP release's tap (sandbox_dp.c): given the columns and the row
 * filter's plan of the table it reads, replace *plan with one that runs
 * the filter, feeds the kept rows to the release and serves none.
 */
struct sbx_dp_tap;
int sbx_dp_tap_bind(struct sbx_dp_tap *t, const char *table,
		    const struct pipe_col *cols, size_t ncols,
		    const struct pipe_plan **plan, struct spot_err *err);

/*
 * The source file of one build, opened confined (srcdir.h) and pinned:
 * its identity (and contents) in id. For a format that opens the file by
 * name (by_path), path is the name it uses, checked to lead to the same
 * file (see sandbox_sqlite.c).
 */
struct sbx_src {
	int fd;
	bool by_path;
	struct stat st;
	struct src_id id;
	char path[PATH_MAX];
};

/* Pin the source file fd for a build: its identity in *id (srcdir.c). */
int sbx_pin(struct sbx *s, int fd, struct src_id *id, struct spot_err *err);
/* Open and pin dataset d's file for a build. On error src->fd is -1. */
int sbx_src_open(struct sbx *s, const struct cfg_dataset *d, bool by_path,
		 struct sbx_src *src, struct spot_err *err);
/*
 * After a build that ended with rc: whether the file stayed the pinned one
 * (and, by_path, its path still leads to it). rc, or -ESTALE with err set.
 */
int sbx_src_check(struct sbx_src *src, int rc, struct spot_err *err);
void sbx_src_close(struct sbx_src *src);

/*
 * Formats with objects (sandbox_sqlite.c): the objects dataset d serves
 * into *objs (SQL of views in *sqls, owned), sub ("" or one of them)
 * checked, and the columns of all of them in b->ds_cols when d has
 * dataset-wide rules. Free with sbx_objs_free, also after an error.
 */
int sbx_objs_prepare(struct sbx *s, const struct cfg_dataset *d,
		     const struct view_format *f, const char *path,
		     const char *sub, struct sbx_bind *b,
		     struct view_sqlobj **objs, char ***sqls, size_t *n,
		     struct spot_err *err);
void sbx_objs_free(struct view_sqlobj *objs, char **sqls, size_t n);

/* Whether d or one of its tables has k_anonymity. */
bool sbx_kanon_wanted(const struct cfg_dataset *d);
/*
 * The counting build of a view with k_anonymity: real's source and
 * objects through plans bound like b's, on one thread; *out gets the
 * counts, ready to filter the real build (bind it with them). 0 or -errno
 * with err set.
 */
int sbx_kanon_count(const struct sbx_bind *b, const struct view_format *f,
		    const struct view_req *real, struct plan_kanon **out,
		    struct spot_err *err);
/* Say how many rows a filtering build left out (s->warn or the log). */
void sbx_kanon_note(struct sbx *s, const struct cfg_dataset *d, const char *sub,
		    const struct plan_kanon *k);

/*
 * A database read by name (SQLite) is not pinned to a descriptor, and a
 * WAL writer commits without touching the main file: the two passes of
 * k_anonymity must have read the same data. What identifies it: the
 * file and its -wal (identity, size, mtime).
 */
struct sbx_kstamp {
	dev_t dev[2];
	ino_t ino[2];
	off_t size[2];
	struct timespec mtime[2];
	bool wal;
};

void sbx_kanon_stamp(const char *path, struct sbx_kstamp *k);
/* -ESTALE with err set when the database changed between a and now. */
int sbx_kanon_same(const char *path, const struct sbx_kstamp *a,
		   struct spot_err *err);

#endif /* SPOT_SANDBOX_I_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * scan_i.h - `spotfs scan`'s findings (cmd_scan.c samples, scan_out.c
 * writes the config and the JSON report). Counters and names only: a
 * finding never holds a value. One thread.
 */
#ifndef SPOT_SCAN_I_H
#define SPOT_SCAN_I_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "detect.h"
#include "format.h"
#include "spot.h"

/* One column: its name (UTF-8, no NUL) and what its values looked like. */
struct scan_col {
	char *name;
	struct det_col det;
	/* JSON Lines: the field paths of keys that are data this one rule
	 * ("votes.*") stands for (scan_keys.c); 0 for a column of its own. */
	uint32_t keys;
};

/* A table: the one of a CSV or Parquet file (name NULL) or a SQLite one. */
struct scan_tbl {
	char *name;
	struct scan_col *cols;
	size_t ncols;
	uint64_t rows; /* sampled */
	char *skip;    /* why it is left out of the config, or NULL */
};

/* A file of the folder that scan read, or left out (skip). */
struct scan_ds {
	char *rel;
	const struct view_format *f; /* NULL when left out before reading */
	struct scan_tbl *tbls;
	size_t ntbls;
	char *skip;
};

struct scan_opts {
	const char *dir;
	const char *out; /* -o FILE, or NULL: stdout */
	bool json;
	bool force;
	uint64_t rows; /* sampled per table */
};

struct scan {
	struct scan_opts o;
	int srcfd;
	char srcpath[PATH_MAX]; /* the folder, resolved */
	struct scan_ds *ds;
	size_t nds;
	unsigned files;	 /* regular files seen */
	unsigned others; /* regular files that are no dataset scan reads */
	int problems;	 /* lines printed about files left out */
	bool tty;	 /* progress on stderr */
	bool progress_shown;
	bool capped; /* stopped at SCAN_FILES files: said once */
};

/* A new finding (f NULL: left out) and a table of it; NULL on ENOMEM.
 * Pointers returned stay valid until the next add of the same kind. */
struct scan_ds *scan_ds_add(struct scan *sc, const char *rel,
			    const struct view_format *f);
struct scan_tbl *scan_tbl_add(struct scan_ds *d, const char *name);
void scan_fini(struct scan *sc);

/* Whether (s, len) is UTF-8 YAML can hold (control bytes are escaped). */
bool scan_utf8(const char *s, size_t len);

/*
 * Sample table t of req: of a format with a row source (CSV, Parquet), or
 * the table name of a format with objects (SQLite), up to max rows. 0, or
 * -errno with err saying why the table cannot be listed (no value in it).
 */
int scan_source(const struct view_format *f, struct view_req *req,
		struct scan_tbl *t, uint64_t max, struct spot_err *err);
int scan_object(const struct view_format *f, struct view_req *req,
		const char *name, struct scan_tbl *t, uint64_t max,
		struct spot_err *err);

/*
 * JSON Lines: the columns of t (field paths) whose path holds a key that
 * is data (a name, a date, a number, what the detectors read as a value,
 * or one of many keys of one object) become one column on its parent
 * ("votes.*"), their counters merged. 0 or -ENOMEM (err set).
 */
int scan_keys_summarise(struct scan_tbl *t, struct spot_err *err);

/* Progress on a terminal: the file being read; cleared before a line. */
void scan_progress(struct scan *sc, const char *rel);
void scan_progress_clear(struct scan *sc);

/* s for one line (a comment, stderr): invalid UTF-8, control characters
 * and line breaks (NEL, U+2028, U+2029) as '?'; cut to len. */
void scan_comment_text(const char *s, char *out, size_t len);

/* The starter config, and the findings as JSON, appended to out. 0 or
 * -ENOMEM. */
int scan_write_yaml(const struct scan *sc, struct spot_buf *out);
int scan_write_json(const struct scan *sc, struct spot_buf *out);

#endif /* SPOT_SCAN_I_H */

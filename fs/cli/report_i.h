/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * report_i.h - `spotfs report`'s state, shared by cmd_report.c (options,
 * counting, output) and report_rows.c (the served rows: built for a role,
 * held in memory, read back typed). One thread.
 */
#ifndef SPOT_REPORT_I_H
#define SPOT_REPORT_I_H

#include <stdbool.h>
#include <stdint.h>

#include <sodium.h>
#include <sqlite3.h>

#include "format.h"
#include "pipe.h"
#include "sandbox.h"

#define RPT_KEY_LEN 16
#define RPT_TOP 10		    /* offending classes printed */
#define RPT_BUDGET_DEFAULT 1000000u /* classes held at once (64 MiB) */
#define RPT_MAX_QUASI 32
#define RPT_MAX_PASSES 4096
#define RPT_COPY_CHUNK (1u << 20)
#define RPT_SHOW_MAX 64 /* bytes of a served cell printed */

struct rpt_class {
	uint8_t key[RPT_KEY_LEN];
	uint64_t count; /* 0: an empty slot */
	uint64_t first; /* row of its first member: a stable order */
};

struct rpt_top {
	uint8_t key[RPT_KEY_LEN];
	uint64_t count;
	uint64_t first;
	char *cells[RPT_MAX_QUASI]; /* served cells, printable, cut */
	bool null[RPT_MAX_QUASI];   /* the served cell is NULL */
};

struct rpt {
	/* what was asked */
	const char *dataset;
	const char *role;
	const char *quasi[RPT_MAX_QUASI];
	size_t nquasi;
	uint64_t k;
	uint64_t budget;
	bool json;
	/* the served rows as CSV or Parquet, in a memory file */
	int fd;
	enum view_fmt rfmt; /* the format of fd's bytes */
	bool field_paths;   /* its columns are JSON Lines field paths */
	char delim;
	/* or a table of the served database, in memory (typed values) */
	sqlite3 *db;
	sqlite3_stmt *sel;	    /* SELECT the quasi-identifiers FROM it */
	size_t qcol[RPT_MAX_QUASI]; /* column index of each quasi */
	uint8_t hkey[crypto_generichash_KEYBYTES];
	/* one pass's table */
	struct rpt_class *tab;
	size_t cap; /* slots, a power of two */
	size_t used;
	/* results */
	uint64_t rows, classes, smallest, below_classes, below_rows;
	unsigned passes;
	unsigned pass; /* the one being read */
	struct rpt_top top[RPT_TOP];
	size_t ntop;
};

/* Called for each served row (index: its number, from 0). 0 or -errno. */
typedef int (*rpt_row_fn)(struct rpt *r, const struct pipe_batch *b, size_t row,
			  uint64_t index);

/*
 * Build d (table sub) for r->role and hold its served rows: a dataset
 * served as a Parquet file (its own, or a CSV's form) as that file, a
 * table of a database in the served database, anything else as CSV.
 */
int rpt_served(struct rpt *r, struct sbx *s, const struct cfg_dataset *d,
	       const char *sub, struct spot_err *err);

/* Find the quasi-identifiers' columns (r->qcol) in the served rows. */
int rpt_columns(struct rpt *r, struct spot_err *err);

/* Read the served rows once, calling fn for each. 0 or -errno. */
int rpt_read(struct rpt *r, rpt_row_fn fn, struct spot_err *err);

#endif /* SPOT_REPORT_I_H */

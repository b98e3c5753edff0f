/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_sqlite.c - libFuzzer target for the SQLite glue: the input is a
 * database file, opened in memory and hardened as a source. It lists the
 * objects with their kinds, reads every table (ordinary, virtual, shadow)
 * through a table source, and for tables with generated columns
 * recomputes them from "masked" values (column 0 replaced) from the
 * file's own CREATE TABLE text. Beyond "no crash, no leak, no hang", it
 * checks:
 *   - kinds are one of the five, and every sqlite_* name is internal;
 *   - a name listed as a view, or as internal, is never read as a table
 *     (its SQL would run on raw tables);
 *   - a recompute from the served row (every non-generated cell set to
 *     NULL) that succeeds has set every generated cell of every row.
 *
 *   tests/fuzz/run 60 sqlite
 * Linked with fuzz_main.c it replays the files named on the command
 * line, so the unit suite runs the seed corpus.
 */
#include "sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FZ_BATCH 16

static void fz_fail(const char *what, const char *name)
{
	fprintf(stderr, "fuzz_sqlite: oracle failed: %s (%s)\n", what, name);
	abort();
}

static void fz_regen(struct sqlc_regen *g, struct pipe_batch *b,
		     const bool *gen, const char *name)
{
	struct spot_err err = { "" };

	for (size_t r = 0; r < b->nrows; r++)
		for (size_t c = 0; c < b->ncols; c++)
			if (!gen[c] &&
			    pipe_batch_set(b, r, c, NULL, 0, PIPE_NULL))
				fz_fail("out of memory", name);
	if (sqlc_regen_batch(g, b, &err))
		return;
	for (size_t r = 0; r < b->nrows; r++)
		for (size_t c = 0; c < b->ncols; c++)
			if (gen[c] && b->keep[r] &&
			    !(b->out[r * b->ncols + c].flags & PIPE_F_SET))
				fz_fail("a generated cell was not recomputed",
					name);
}

static void fz_table(struct sqlc_db *db, const char *name, unsigned kind,
		     bool hex)
{
	struct sqlc_source_opts so = { .hex_blobs = hex };
	struct spot_err err = { "" };
	struct sqlc_source *s = NULL;
	struct sqlc_regen *g = NULL;
	const struct pipe_col *cols;
	struct pipe_batch b;
	bool *gen = NULL, any = false;
	size_t ncols = 0;
	int rc;

	rc = sqlc_source_new(db, name, NULL, NULL, &so, &s, &err);
	if (!rc && (kind == SQLC_KIND_VIEW || kind == SQLC_KIND_INTERNAL))
		fz_fail("a view or sqlite_* table read as a table", name);
	if (rc)
		return;
	if (sqlc_source_ops.columns(s, &cols, &ncols, &err) || !ncols ||
	    pipe_batch_init(&b, ncols, FZ_BATCH)) {
		sqlc_source_free(s);
		return;
	}
	gen = calloc(ncols, sizeof(*gen));
	if (!gen)
		fz_fail("out of memory", name);
	for (size_t c = 0; c < ncols; c++)
		any |= gen[c] = sqlc_source_generated(s, c);
	if (any && sqlc_regen_new(s, &g, &err))
		g = NULL;
	for (int i = 0; i < 64; i++) {
		if (sqlc_source_ops.next_batch(s, &b, &err) || !b.nrows)
			break;
		memset(b.keep, 1, b.nrows);
		for (size_t j = 0; j < b.nrows * ncols; j++)
			b.out[j].flags = 0;
		if (g)
			fz_regen(g, &b, gen, name);
		spot_arena_reset(&b.arena);
	}
	free(gen);
	sqlc_regen_free(g);
	pipe_batch_fini(&b);
	sqlc_source_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sqlc_opts o;
	struct spot_err err = { "" };
	struct sqlc_db *db = NULL;
	char **names = NULL;
	unsigned *kinds = NULL;
	size_t n = 0;

	sqlc_opts_init(&o);
	o.budget_ms = 200; /* hostile schemas must not hang the fuzzer */
	o.row_limit = 10000;
	if (sqlc_db_open_mem("fuzz", data, size, &o, &db, &err))
		return 0;
	if (sqlc_db_objects(db, &names, &kinds, &n, &err) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (kinds[i] != SQLC_KIND_TABLE &&
			    kinds[i] != SQLC_KIND_VIEW &&
			    kinds[i] != SQLC_KIND_VIRTUAL &&
			    kinds[i] != SQLC_KIND_SHADOW &&
			    kinds[i] != SQLC_KIND_INTERNAL)
				fz_fail("unknown kind", names[i]);
			if (!strncasecmp(names[i], "sqlite_", 7) &&
			    kinds[i] != SQLC_KIND_INTERNAL)
				fz_fail("sqlite_* not internal", names[i]);
			fz_table(db, names[i], kinds[i], i % 2);
		}
		sqlc_names_free(names, n);
		free(kinds);
	}
	sqlc_db_free(db);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sqlite_regen.c - generated columns recomputed from the values a view
 * serves. A generated column (GENERATED ALWAYS AS ..., VIRTUAL or STORED)
 * read from the source was computed from the row's raw values; serving it
 * next to a masked column would leak what the mask hides. Instead, the
 * row as it will be served is put into a private in-memory table created
 * with the source table's own definition, one row at a time, and SQLite
 * computes the generated columns from those values. The contract is in
 * sqlite.h.
 *
 * The definition is the source's CREATE TABLE text, so it is hostile
 * input: it runs on a fresh connection hardened like a source (defensive,
 * untrusted schema, no extensions, no triggers), under an authorizer that
 * lets it create that one table and nothing else; the result must be one
 * table whose columns are the source's, in order. CHECK constraints are
 * ignored (masked values rarely satisfy them); any other constraint that
 * refuses a row fails the view (fail closed).
 */
#include "sqlite.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sqlite_i.h"

#define SQLC_REGEN_REAL_MAX 40
#define SQLC_REGEN_PROGRESS_OPS 1000 /* VM steps between budget checks */

struct sqlc_regen {
	sqlite3 *db;	    /* private, in memory */
	sqlite3_stmt *ins;  /* INSERT of the non-generated columns */
	sqlite3_stmt *sel;  /* SELECT of every column */
	sqlite3_stmt *del;  /* DELETE the one row */
	size_t ncols;	    /* columns of the source (SELECT *) */
	bool *gen;	    /* per column: generated */
	bool hex_blobs;	    /* BLOBs are hex text in the batch */
	bool creating;	    /* authorizer: the source's CREATE TABLE runs */
	uint64_t budget_ns; /* the source's time budget, for all rows */
	uint64_t used_ns;
	uint64_t deadline;   /* monotonic ns; 0: none armed */
	struct spot_buf tmp; /* a hex BLOB decoded for binding */
};

/* While the source's CREATE TABLE runs: that table, nothing else. */
static int sqlc_regen_auth(void *arg, int op, const char *a1, const char *a2,
			   const char *dbname, const char *trigger)
{
	struct sqlc_regen *g = arg;

	(void)a1;
	(void)dbname;
	(void)trigger;
	if (!g->creating)
		return SQLITE_OK;
	switch (op) {
	case SQLITE_CREATE_TABLE:
	case SQLITE_INSERT: /* into sqlite_schema */
	case SQLITE_UPDATE:
	case SQLITE_READ:
	case SQLITE_SELECT:
	case SQLITE_CREATE_INDEX: /* UNIQUE and PRIMARY KEY */
		return SQLITE_OK;
	case SQLITE_FUNCTION:
		return a2 && sqlite3_stricmp(a2, "load_extension") == 0
			       ? SQLITE_DENY
			       : SQLITE_OK;
	default:
		return SQLITE_DENY;
	}
}

/* The definition's expressions run under the source's time budget. */
static int sqlc_regen_progress(void *arg)
{
	struct sqlc_regen *g = arg;

	return g->deadline && sqlc_now_ns() >= g->deadline;
}

static int sqlc_regen_exec(sqlite3 *c, const char *sql)
{
	return sqlite3_exec(c, sql, NULL, NULL, NULL);
}

/* Run the source's CREATE TABLE: exactly one statement, one new table. */
static int sqlc_regen_create(struct sqlc_regen *g, const char *create,
			     struct spot_buf *name)
{
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	int rc, n = 0;

	g->creating = true;
	rc = sqlite3_prepare_v2(g->db, create, -1, &st, &tail);
	if (rc == SQLITE_OK && (!st || (tail && *tail)))
		rc = SQLITE_ERROR; /* the schema text is one statement */
	if (rc == SQLITE_OK && sqlite3_step(st) != SQLITE_DONE)
		rc = SQLITE_ERROR;
	sqlite3_finalize(st);
	g->creating = false;
	st = NULL;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(g->db,
					"SELECT name FROM main.sqlite_schema "
					"WHERE type <> 'index' AND name NOT "
					"LIKE 'sqlite\\_%' ESCAPE '\\'",
					-1, &st, NULL);
	while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);

		if (n++ || !s || spot_buf_append(name, s, strlen(s) + 1))
			rc = SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK && n == 1 ? 0 : -EIO;
}

/* The new table's columns must be the source's: names and generated. */
static int sqlc_regen_match(struct sqlc_regen *g, const struct sqlc_source *s,
			    const char *table)
{
	sqlite3_stmt *st = NULL;
	size_t i = 0;
	int rc;

	rc = sqlite3_prepare_v2(g->db,
				"SELECT name, hidden FROM "
				"pragma_table_xinfo(?1, 'main') ORDER BY cid",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int hidden = sqlite3_column_int(st, 1);

		if (i >= s->ncols || !name || hidden == 1 ||
		    strcmp(name, s->cols[i].name) || (hidden != 0) != s->gen[i])
			rc = SQLITE_ERROR;
		i++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK && i == s->ncols ? 0 : -EIO;
}

/* INSERT, SELECT and DELETE on the one table. */
static int sqlc_regen_prepare(struct sqlc_regen *g, const struct sqlc_source *s,
			      const char *table)
{
	struct spot_buf ins, sel, del;
	bool first = true;
	int rc;

	spot_buf_init(&ins);
	spot_buf_init(&sel);
	spot_buf_init(&del);
	rc = spot_buf_printf(&ins, "INSERT INTO main.");
	rc = rc ? rc : sqlc_quote(&ins, table);
	rc = rc ? rc : spot_buf_putc(&ins, '(');
	for (size_t i = 0; !rc && i < g->ncols; i++) {
		if (g->gen[i])
			continue;
		rc = first ? 0 : spot_buf_putc(&ins, ',');
		rc = rc ? rc : sqlc_quote(&ins, s->cols[i].name);
		first = false;
	}
	rc = rc ? rc : spot_buf_printf(&ins, ") VALUES (");
	first = true;
	for (size_t i = 0; !rc && i < g->ncols; i++) {
		if (g->gen[i])
			continue;
		rc = spot_buf_printf(&ins, "%s?", first ? "" : ",");
		first = false;
	}
	rc = rc ? rc : spot_buf_putc(&ins, ')');
	rc = rc ? rc : spot_buf_putc(&ins, 0);
	rc = rc ? rc : spot_buf_printf(&sel, "SELECT * FROM main.");
	rc = rc ? rc : sqlc_quote(&sel, table);
	rc = rc ? rc : spot_buf_putc(&sel, 0);
	rc = rc ? rc : spot_buf_printf(&del, "DELETE FROM main.");
	rc = rc ? rc : sqlc_quote(&del, table);
	rc = rc ? rc : spot_buf_putc(&del, 0);
	if (!rc && (first ||
		    sqlite3_prepare_v2(g->db, (const char *)ins.p, -1, &g->ins,
				       NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(g->db, (const char *)sel.p, -1, &g->sel,
				       NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(g->db, (const char *)del.p, -1, &g->del,
				       NULL) != SQLITE_OK ||
		    (size_t)sqlite3_column_count(g->sel) != g->ncols))
		rc = -EIO; /* first: no column to insert */
	spot_buf_fini(&ins);
	spot_buf_fini(&sel);
	spot_buf_fini(&del);
	return rc;
}

int sqlc_regen_new(const struct sqlc_source *s, struct sqlc_regen **out,
		   struct spot_err *err)
{
	struct sqlc_regen *g;
	struct spot_buf table;
	int rc;

	if (!s->create || !s->gen) {
		spot_err_set(err, "table %s: no generated columns", s->name);
		return -EINVAL;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	spot_buf_init(&table);
	spot_buf_init(&g->tmp);
	g->ncols = s->ncols;
	g->hex_blobs = s->hex_blobs;
	g->budget_ns = (uint64_t)s->db->opts.budget_ms * 1000000u;
	g->gen = malloc(s->ncols ? s->ncols : 1);
	if (!g->gen) {
		rc = -ENOMEM;
		goto fail;
	}
	memcpy(g->gen, s->gen, s->ncols * sizeof(*g->gen));
	rc = sqlite3_open_v2(":memory:", &g->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlc_harden_early(g->db);
		rc = sqlc_regen_exec(g->db, "PRAGMA temp_store=MEMORY;"
					    "PRAGMA ignore_check_constraints=1;"
					    "PRAGMA foreign_keys=0");
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_set_authorizer(g->db, sqlc_regen_auth, g);
	sqlite3_progress_handler(g->db, SQLC_REGEN_PROGRESS_OPS,
				 sqlc_regen_progress, g);
	rc = rc == SQLITE_OK ? 0 : sqlc_errno(NULL, rc);
	if (!rc)
		rc = sqlc_regen_create(g, s->create, &table);
	if (!rc)
		rc = sqlc_regen_match(g, s, (const char *)table.p);
	if (!rc)
		rc = sqlc_regen_prepare(g, s, (const char *)table.p);
	if (rc)
		goto fail;
	spot_buf_fini(&table);
	*out = g;
	return 0;
fail:
	if (rc == -ENOMEM)
		spot_err_set(err, "out of memory");
	else
		spot_err_set(err,
			     "table %s: cannot recompute its generated "
			     "columns from its definition",
			     s->name);
	spot_buf_fini(&table);
	sqlc_regen_free(g);
	return rc;
}

void sqlc_regen_free(struct sqlc_regen *g)
{
	if (!g)
		return;
	sqlite3_finalize(g->ins);
	sqlite3_finalize(g->sel);
	sqlite3_finalize(g->del);
	sqlc_close(&g->db);
	spot_buf_fini(&g->tmp);
	free(g->gen);
	free(g);
}

static int sqlc_unhex(const uint8_t *p, size_t n, struct spot_buf *out)
{
	static const char digits[] = "0123456789abcdef";

	spot_buf_reset(out);
	if (n % 2)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 2) {
		const char *hi = memchr(digits, p[i], 16);
		const char *lo = memchr(digits, p[i + 1], 16);

		if (!hi || !lo ||
		    spot_buf_putc(
			    out, (uint8_t)((hi - digits) << 4 | (lo - digits))))
			return hi && lo ? -ENOMEM : -EINVAL;
	}
	return 0;
}

/* Bind the cell as it will be served (hex BLOBs decoded back). */
static int sqlc_regen_bind(struct sqlc_regen *g, int i,
			   const struct pipe_cell *c)
{
	struct pipe_cell raw = *c;

	if (g->hex_blobs && c->type == PIPE_BLOB && c->len) {
		if (sqlc_unhex(c->p, c->len, &g->tmp))
			return SQLITE_MISMATCH;
		raw.p = g->tmp.p;
		raw.len = g->tmp.len;
	}
	return sqlc_bind_cell(g->ins, i, &raw);
}

/* Column col of the staged row into out cell (r, col) of b. */
static int sqlc_regen_cell(struct sqlc_regen *g, struct pipe_batch *b, size_t r,
			   size_t col)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[SQLC_REGEN_REAL_MAX];
	const uint8_t *p;
	size_t n;
	int c = (int)col, rc;

	switch (sqlite3_column_type(g->sel, c)) {
	case SQLITE_NULL:
		return pipe_batch_set(b, r, col, NULL, 0, PIPE_NULL);
	case SQLITE_INTEGER:
		n = sqlc_fmt_int(sqlite3_column_int64(g->sel, c), tmp);
		return pipe_batch_set(b, r, col, tmp, n, PIPE_INT);
	case SQLITE_FLOAT:
		n = sqlc_fmt_real(sqlite3_column_double(g->sel, c), tmp,
				  sizeof(tmp));
		return pipe_batch_set(b, r, col, tmp, n, PIPE_REAL);
	case SQLITE_BLOB:
		p = sqlite3_column_blob(g->sel, c);
		n = (size_t)sqlite3_column_bytes(g->sel, c);
		if (!g->hex_blobs || !n)
			return pipe_batch_set(b, r, col, p, n, PIPE_BLOB);
		spot_buf_reset(&g->tmp);
		for (size_t i = 0; i < n; i++) {
			rc = spot_buf_putc(&g->tmp, (uint8_t)digits[p[i] >> 4]);
			if (!rc)
				rc = spot_buf_putc(&g->tmp,
						   (uint8_t)digits[p[i] & 15]);
			if (rc)
				return rc;
		}
		return pipe_batch_set(b, r, col, g->tmp.p, g->tmp.len,
				      PIPE_BLOB);
	default:
		p = sqlite3_column_text(g->sel, c);
		n = (size_t)sqlite3_column_bytes(g->sel, c);
		if (!p && n)
			return -ENOMEM;
		return pipe_batch_set(b, r, col, p, n, PIPE_TEXT);
	}
}

static bool sqlc_set(const struct pipe_batch *b, size_t r, size_t c)
{
	return b->out[r * b->ncols + c].flags & PIPE_F_SET;
}

bool sqlc_regen_needed(const bool *gen, const struct pipe_batch *b, size_t r)
{
	bool changed = false, raw = false;

	for (size_t c = 0; c < b->ncols; c++) {
		if (gen[c])
			raw = raw || !sqlc_set(b, r, c);
		else
			changed = changed || sqlc_set(b, r, c);
	}
	return changed && raw;
}

/* One row: insert it as served, read the generated values back, delete. */
static int sqlc_regen_row(struct sqlc_regen *g, struct pipe_batch *b, size_t r)
{
	int rc = SQLITE_OK, i = 0, erc = 0;

	for (size_t c = 0; rc == SQLITE_OK && c < g->ncols; c++)
		if (!g->gen[c])
			rc = sqlc_regen_bind(g, ++i, pipe_batch_cell(b, r, c));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(g->ins);
	sqlite3_reset(g->ins);
	sqlite3_clear_bindings(g->ins);
	if (rc != SQLITE_DONE)
		return rc;
	rc = sqlite3_step(g->sel);
	for (size_t c = 0; rc == SQLITE_ROW && !erc && c < g->ncols; c++)
		if (g->gen[c] && !sqlc_set(b, r, c))
			erc = sqlc_regen_cell(g, b, r, c);
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(g->sel) == SQLITE_DONE ? SQLITE_DONE
							 : SQLITE_ERROR;
	sqlite3_reset(g->sel);
	if (rc == SQLITE_DONE)
		rc = sqlite3_step(g->del);
	sqlite3_reset(g->del);
	if (erc)
		return erc == -ENOMEM ? SQLITE_NOMEM : SQLITE_ERROR;
	return rc;
}

int sqlc_regen_batch(struct sqlc_regen *g, struct pipe_batch *b,
		     struct spot_err *err)
{
	uint64_t t0 = sqlc_now_ns();
	int rc = SQLITE_DONE;
	size_t r;

	if (b->ncols != g->ncols)
		return -EINVAL;
	if (g->budget_ns)
		g->deadline = t0 + (g->used_ns < g->budget_ns
					    ? g->budget_ns - g->used_ns
					    : 1);
	/* One transaction per batch: no commit per row. */
	if (sqlc_regen_exec(g->db, "BEGIN") != SQLITE_OK)
		rc = SQLITE_ERROR;
	for (r = 0; rc == SQLITE_DONE && r < b->nrows; r++)
		if (b->keep[r] && sqlc_regen_needed(g->gen, b, r))
			rc = sqlc_regen_row(g, b, r);
	sqlc_regen_exec(g->db, rc == SQLITE_DONE ? "COMMIT" : "ROLLBACK");
	g->deadline = 0;
	g->used_ns += sqlc_now_ns() - t0;
	if (rc == SQLITE_DONE)
		return 0;
	/* Generic text: a constraint message could quote a value. */
	spot_err_set(err,
		     "row %llu: cannot be recomputed from the masked values "
		     "(%s); give it a masking rule (not served raw)",
		     (unsigned long long)(b->first_row + r),
		     rc == SQLITE_INTERRUPT ? "time budget spent"
					    : sqlite3_errstr(rc));
	if (rc == SQLITE_NOMEM)
		return -ENOMEM;
	return rc == SQLITE_INTERRUPT ? -ETIMEDOUT : -EIO;
}

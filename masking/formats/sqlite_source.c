/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sqlite_source.c - SQLite tables and SELECT views as pipeline sources:
 * column types from declared types, and cells rendered as text (integers,
 * shortest round-trip reals, blobs as bytes or hex). The contract is in
 * sqlite.h.
 */
#include "sqlite.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "sqlite_i.h"

#define SQLC_REAL_MAX 40 /* "%.17g" of any double fits */

/* ---- source ---- */

static bool sqlc_has(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (; *s; s++)
		if (strncasecmp(s, word, n) == 0)
			return true;
	return false;
}

/* Column pipe type and CREATE TABLE type from a declared type. */
static uint8_t sqlc_decl_type(const char *decl, const char **aff)
{
	if (!decl || !*decl) {
		*aff = "";
		return PIPE_TEXT;
	}
	if (sqlc_has(decl, "INT")) {
		*aff = "INTEGER";
		return PIPE_INT;
	}
	if (sqlc_has(decl, "CHAR") || sqlc_has(decl, "CLOB") ||
	    sqlc_has(decl, "TEXT")) {
		*aff = "TEXT";
		return PIPE_TEXT;
	}
	if (sqlc_has(decl, "BLOB")) {
		*aff = "BLOB";
		return PIPE_BLOB;
	}
	if (sqlc_has(decl, "REAL") || sqlc_has(decl, "FLOA") ||
	    sqlc_has(decl, "DOUB")) {
		*aff = "REAL";
		return PIPE_REAL;
	}
	*aff = "NUMERIC"; /* dates, decimals, booleans: any storage class */
	return PIPE_TEXT;
}

/*
 * A declared type is copied into CREATE TABLE only when it is a type
 * name: words of SQL's and SQLite's type names, each at most once, then
 * at most one "(N)" or "(N, M)". Anything else is replaced by its
 * affinity: a declared type is whatever words the schema's author wrote
 * ("alice smith example com"), so it can hold data.
 */
static bool sqlc_decl_plain(const char *decl)
{
	static const char *const words[] = {
		"INT",	  "INTEGER",   "TINYINT",  "SMALLINT", "MEDIUMINT",
		"BIGINT", "UNSIGNED",  "BIG",	   "INT2",     "INT4",
		"INT8",	  "CHARACTER", "CHAR",	   "VARCHAR",  "VARYING",
		"NCHAR",  "NATIVE",    "NVARCHAR", "TEXT",     "CLOB",
		"STRING", "BLOB",      "REAL",	   "DOUBLE",   "PRECISION",
		"FLOAT",  "NUMERIC",   "DECIMAL",  "NUMBER",   "BOOLEAN",
		"BOOL",	  "DATE",      "DATETIME", "TIME",     "TIMESTAMP",
		"JSON",	  "UUID",
	};
	uint64_t seen = 0;
	size_t i = 0, nwords = 0;

	if (strlen(decl) > 64)
		return false;
	while (decl[i]) {
		size_t n = 0, w;

		while (decl[i] == ' ')
			i++;
		if (decl[i] == '(' || !decl[i])
			break;
		while ((decl[i + n] >= 'a' && decl[i + n] <= 'z') ||
		       (decl[i + n] >= 'A' && decl[i + n] <= 'Z') ||
		       (decl[i + n] >= '0' && decl[i + n] <= '9'))
			n++;
		for (w = 0; w < SPOT_ARRAY_SIZE(words); w++)
			if (strlen(words[w]) == n &&
			    !strncasecmp(decl + i, words[w], n))
				break;
		if (!n || w == SPOT_ARRAY_SIZE(words) || (seen >> w & 1))
			return false;
		seen |= (uint64_t)1 << w;
		nwords++;
		i += n;
		if (decl[i] && decl[i] != ' ' && decl[i] != '(')
			return false;
	}
	if (!nwords)
		return false;
	if (decl[i] == '(') {
		/* "(N)" or "(N, M)": digits only, then the end. */
		int nums = 0;

		for (i++;;) {
			size_t d = 0;

			while (decl[i] == ' ')
				i++;
			while (decl[i + d] >= '0' && decl[i + d] <= '9')
				d++;
			if (!d || d > 10 || ++nums > 2)
				return false;
			i += d;
			while (decl[i] == ' ')
				i++;
			if (decl[i] == ',') {
				i++;
				continue;
			}
			if (decl[i] != ')')
				return false;
			i++;
			break;
		}
		while (decl[i] == ' ')
			i++;
	}
	return !decl[i];
}

static int sqlc_source_columns(struct sqlc_source *s)
{
	size_t n = (size_t)sqlite3_column_count(s->st);

	s->cols = calloc(n, sizeof(*s->cols));
	s->decl = calloc(n, sizeof(*s->decl));
	if (!s->cols || !s->decl)
		return -ENOMEM;
	s->ncols = n;
	for (size_t i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(s->st, (int)i);
		const char *decl = sqlite3_column_decltype(s->st, (int)i);
		const char *aff;

		if (!name)
			return -ENOMEM;
		s->cols[i].name = strdup(name);
		s->cols[i].name_len = strlen(name);
		s->cols[i].type = sqlc_decl_type(decl, &aff);
		s->decl[i] = strdup(decl && sqlc_decl_plain(decl) ? decl : aff);
		if (!s->cols[i].name || !s->decl[i])
			return -ENOMEM;
	}
	return 0;
}

/*
 * Step an internal one-parameter query (sql, ?1 = name) of db once, under
 * the source's budget: the SQLite code of the step (SQLITE_ROW with the
 * row in *st), or of the failing prepare or bind. The caller finalizes *st.
 */
static int sqlc_source_step1(struct sqlc_db *db, const char *sql,
			     const char *name, sqlite3_stmt **st)
{
	int rc;

	*st = NULL;
	sqlc_arm(db, 0);
	db->internal = true;
	rc = sqlite3_prepare_v2(db->rd, sql, -1, st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(*st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(*st);
	db->internal = false;
	db->deadline = 0;
	return rc;
}

/*
 * A table source reads only what SQLite's parsed schema says is a table
 * (ordinary, virtual or shadow) of main, never a view (its SQL would run
 * on raw tables) nor a sqlite_* table. 0 or -EINVAL with err set.
 */
static int sqlc_source_is_table(struct sqlc_db *db, const char *table,
				struct spot_err *err)
{
	static const char sql[] =
		"SELECT 1 FROM pragma_table_list WHERE schema = 'main' AND "
		"name = ?1 COLLATE NOCASE AND type IN ('table', 'virtual', "
		"'shadow') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlc_source_step1(db, sql, table, &st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	spot_err_set(err,
		     "table %s: no such table (views and sqlite_* "
		     "tables are not read as tables)",
		     table);
	return rc == SQLITE_DONE ? -EINVAL : sqlc_errno(db, rc);
}

/*
 * The CREATE TABLE text of a table with generated columns, kept for
 * sqlc_regen_new (which recomputes them from masked values).
 */
static int sqlc_source_create(struct sqlc_source *s, const char *table,
			      struct spot_err *err)
{
	static const char sql[] = "SELECT sql FROM main.sqlite_schema WHERE "
				  "type = 'table' AND name = ?1 COLLATE NOCASE";
	struct sqlc_db *db = s->db;
	sqlite3_stmt *st = NULL;
	const char *text;
	int rc;

	rc = sqlc_source_step1(db, sql, table, &st);
	text = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0)
				: NULL;
	if (text)
		s->create = strdup(text);
	sqlite3_finalize(st);
	if (text)
		return s->create ? 0 : -ENOMEM;
	spot_err_set(err, "table %s: cannot read its definition", s->name);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? -EIO
						     : sqlc_errno(db, rc);
}

/*
 * Mark generated columns. `SELECT *` returns the table_xinfo columns that
 * are not hidden (hidden 1: a virtual table's hidden columns), in order;
 * a column count that does not match fails closed.
 */
static int sqlc_source_gen(struct sqlc_source *s, const char *table,
			   struct spot_err *err)
{
	static const char sql[] = "SELECT hidden FROM pragma_table_xinfo(?1, "
				  "'main') ORDER BY cid";
	struct sqlc_db *db = s->db;
	sqlite3_stmt *st = NULL;
	size_t i = 0;
	int rc;

	s->gen = calloc(s->ncols ? s->ncols : 1, sizeof(*s->gen));
	if (!s->gen)
		return -ENOMEM;
	sqlc_arm(db, 0);
	db->internal = true;
	rc = sqlite3_prepare_v2(db->rd, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int hidden = sqlite3_column_int(st, 0);

		rc = SQLITE_OK;
		if (hidden == 1)
			continue;
		if (i == s->ncols)
			break;
		s->gen[i++] = hidden != 0;
	}
	db->internal = false;
	db->deadline = 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || i != s->ncols) {
		spot_err_set(err, "table %s: cannot read its columns", s->name);
		return rc == SQLITE_DONE || rc == SQLITE_ROW || rc == SQLITE_OK
			       ? -EIO
			       : sqlc_errno(db, rc);
	}
	for (i = 0; i < s->ncols; i++)
		if (s->gen[i])
			return sqlc_source_create(s, table, err);
	return 0;
}

int sqlc_quote(struct spot_buf *b, const char *name)
{
	int rc = spot_buf_putc(b, '"');

	for (; !rc && *name; name++) {
		if (*name == '"')
			rc = spot_buf_putc(b, '"');
		if (!rc)
			rc = spot_buf_putc(b, (uint8_t)*name);
	}
	return rc ? rc : spot_buf_putc(b, '"');
}

int sqlc_source_new(struct sqlc_db *db, const char *table, const char *name,
		    const char *sql, const struct sqlc_source_opts *opts,
		    struct sqlc_source **out, struct spot_err *err)
{
	struct sqlc_source *s;
	struct spot_buf q;
	int rc;

	if ((!table && !sql) || (table && sql))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	spot_buf_init(&q);
	s->kind = table ? "table" : "view";
	s->name = strdup(table ? table : name ? name : "(unnamed)");
	s->hex_blobs = opts && opts->hex_blobs;
	rc = s->name ? 0 : -ENOMEM;
	if (!rc && table) {
		rc = spot_buf_printf(&q, "SELECT * FROM main.");
		if (!rc)
			rc = sqlc_quote(&q, table);
		sql = (const char *)q.p;
	}
	if (rc)
		goto fail;
	rc = sqlc_db_begin(db, err);
	if (rc)
		goto fail;
	s->db = db; /* holds a snapshot reference from here */
	if (table) {
		/*
		 * Our own SQL over a checked table: the authorizer is for
		 * configured SQL, and would stop a virtual table's module
		 * from running its own statements.
		 */
		rc = sqlc_source_is_table(db, table, err);
		if (rc)
			goto fail;
		s->ours = true;
		db->internal = true;
	}
	rc = sqlc_prepare_view(db, s->kind, s->name, sql, &s->st, err);
	db->internal = false;
	if (rc)
		goto fail;
	rc = sqlc_source_columns(s);
	if (rc) {
		spot_err_set(err, "%s %s: out of memory", s->kind, s->name);
		goto fail;
	}
	if (table) {
		rc = sqlc_source_gen(s, table, err);
		if (rc)
			goto fail;
	}
	spot_buf_fini(&q);
	*out = s;
	return 0;
fail:
	if (rc == -ENOMEM && !err->msg[0])
		spot_err_set(err, "out of memory");
	spot_buf_fini(&q);
	sqlc_source_free(s);
	return rc;
}

void sqlc_source_free(struct sqlc_source *s)
{
	struct spot_err ignored;

	if (!s)
		return;
	sqlite3_finalize(s->st);
	if (s->db)
		sqlc_db_end(s->db, &ignored);
	for (size_t i = 0; i < s->ncols; i++) {
		free(s->cols[i].name);
		free(s->decl[i]);
	}
	free(s->cols);
	free(s->decl);
	free(s->gen);
	free(s->create);
	free(s->name);
	free(s);
}

const char *sqlc_source_decltype(const struct sqlc_source *s, size_t col)
{
	return col < s->ncols ? s->decl[col] : "";
}

bool sqlc_source_generated(const struct sqlc_source *s, size_t col)
{
	return s->gen && col < s->ncols && s->gen[col];
}

static int sqlc_src_columns(void *arg, const struct pipe_col **cols,
			    size_t *ncols, struct spot_err *err)
{
	struct sqlc_source *s = arg;

	(void)err;
	*cols = s->cols;
	*ncols = s->ncols;
	return 0;
}

/* Decimal text of v into buf (at least 21 bytes); the length. */
size_t sqlc_fmt_int(int64_t v, char *buf)
{
	char tmp[24];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = tmp[--n];
	return len;
}

/* Integral doubles below this print exactly as integers. */
#define SQLC_REAL_EXACT_INT 1e15
#define SQLC_REAL_DIGITS 17 /* always enough to read back the same double */

/*
 * Render sign, digits dg[0..n) and decimal exponent x the way "%.<n>g"
 * would, trailing zeros removed, always marked as a real ("1.0", "1e+20").
 */
static size_t sqlc_render_real(bool neg, char *dg, int n, int x, char *buf)
{
	size_t len = 0;

	while (n > 1 && dg[n - 1] == '0')
		n--;
	if (neg)
		buf[len++] = '-';
	if (x < -4 || x >= SQLC_REAL_DIGITS) {
		buf[len++] = dg[0];
		if (n > 1) {
			buf[len++] = '.';
			memcpy(buf + len, dg + 1, (size_t)n - 1);
			len += (size_t)n - 1;
		}
		return len + (size_t)sprintf(buf + len, "e%c%02d",
					     x < 0 ? '-' : '+', abs(x));
	}
	if (x < 0) {
		memcpy(buf + len, "0.", 2);
		len += 2;
		for (int i = -1; i > x; i--)
			buf[len++] = '0';
		memcpy(buf + len, dg, (size_t)n);
		return len + (size_t)n;
	}
	for (int i = 0; i <= x; i++)
		buf[len++] = i < n ? dg[i] : '0';
	buf[len++] = '.';
	if (n <= x + 1)
		buf[len++] = '0';
	for (int i = x + 1; i < n; i++)
		buf[len++] = dg[i];
	return len;
}

/*
 * Round the 17 significant digits of d to p digits (in dg, exponent *x)
 * and check that they read back as d.
 */
static bool sqlc_round_ok(double d, const char *d17, int x17, int p, char *dg,
			  int *x)
{
	char tmp[SQLC_REAL_MAX];
	int i;

	memcpy(dg, d17, (size_t)p);
	*x = x17;
	if (d17[p] >= '5') {
		for (i = p - 1; i >= 0 && dg[i] == '9'; i--)
			dg[i] = '0';
		if (i >= 0) {
			dg[i]++;
		} else {
			dg[0] = '1';
			++*x;
		}
	}
	/* "-d.ddde<x>", built by hand: snprintf here costs as much as strtod */
	i = 0;
	if (d < 0)
		tmp[i++] = '-';
	tmp[i++] = dg[0];
	tmp[i++] = '.';
	memcpy(tmp + i, dg + 1, (size_t)p - 1);
	i += p - 1;
	tmp[i++] = 'e';
	i += (int)sqlc_fmt_int(*x, tmp + i);
	tmp[i] = 0;
	return strtod(tmp, NULL) == d;
}

/*
 * The shortest decimal (15, 16 or 17 significant digits) that reads back
 * as d, marked as a real: pandas and Python then read the same double.
 * One "%.16e" conversion and at most two strtod() calls.
 */
size_t sqlc_fmt_real(double d, char *buf, size_t cap)
{
	char e[SQLC_REAL_MAX], d17[SQLC_REAL_DIGITS + 1], dg[SQLC_REAL_DIGITS];
	const char *p;
	int n, x;

	if (isnan(d))
		return (size_t)snprintf(buf, cap, "nan");
	if (isinf(d))
		return (size_t)snprintf(buf, cap, d < 0 ? "-inf" : "inf");
	if (fabs(d) < SQLC_REAL_EXACT_INT && d == (double)(int64_t)d) {
		n = (int)sqlc_fmt_int((int64_t)d,
				      buf); /* the common fast case */
		memcpy(buf + n, ".0", 3);
		return (size_t)n + 2;
	}
	snprintf(e, sizeof(e), "%.*e", SQLC_REAL_DIGITS - 1, fabs(d));
	d17[0] = e[0]; /* "d.dddddddddddddddde+XX" */
	memcpy(d17 + 1, e + 2, SQLC_REAL_DIGITS - 1);
	d17[SQLC_REAL_DIGITS] = 0;
	p = strchr(e, 'e');
	x = p ? atoi(p + 1) : 0;
	for (n = 15; n < SQLC_REAL_DIGITS; n++) {
		int xr;

		if (sqlc_round_ok(d, d17, x, n, dg, &xr))
			return sqlc_render_real(d < 0, dg, n, xr, buf);
	}
	return sqlc_render_real(d < 0, d17, SQLC_REAL_DIGITS, x, buf);
}

static int sqlc_cell_bytes(struct sqlc_source *s, struct pipe_batch *b,
			   struct pipe_cell *cell, const uint8_t *p, size_t n,
			   bool hex)
{
	static const char digits[] = "0123456789abcdef";
	uint8_t *d;

	if (!n) {
		cell->p = (const uint8_t *)"";
		return 0;
	}
	if (hex) {
		if (n > SIZE_MAX / 2)
			return -EFBIG;
		d = spot_arena_alloc(&b->src_arena, 2 * n);
		if (!d)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			d[2 * i] = (uint8_t)digits[p[i] >> 4];
			d[2 * i + 1] = (uint8_t)digits[p[i] & 15];
		}
		cell->p = d;
		cell->len = 2 * n;
		return 0;
	}
	(void)s;
	d = spot_arena_dup(&b->src_arena, p, n);
	if (!d)
		return -ENOMEM;
	cell->p = d;
	return 0;
}

static int sqlc_cell(struct sqlc_source *s, struct pipe_batch *b,
		     struct pipe_cell *cell, int c)
{
	char tmp[SQLC_REAL_MAX];
	const uint8_t *p;
	size_t n;

	cell->flags = 0;
	switch (sqlite3_column_type(s->st, c)) {
	case SQLITE_NULL:
		cell->p = NULL;
		cell->len = 0;
		cell->type = PIPE_NULL;
		return 0;
	case SQLITE_INTEGER:
		n = sqlc_fmt_int(sqlite3_column_int64(s->st, c), tmp);
		cell->type = PIPE_INT;
		break;
	case SQLITE_FLOAT:
		n = sqlc_fmt_real(sqlite3_column_double(s->st, c), tmp,
				  sizeof(tmp));
		cell->type = PIPE_REAL;
		break;
	case SQLITE_BLOB:
		p = sqlite3_column_blob(s->st, c);
		cell->len = (size_t)sqlite3_column_bytes(s->st, c);
		cell->type = PIPE_BLOB;
		if (!p && cell->len)
			return -ENOMEM;
		return sqlc_cell_bytes(s, b, cell, p, cell->len, s->hex_blobs);
	default:
		p = sqlite3_column_text(s->st, c);
		cell->len = (size_t)sqlite3_column_bytes(s->st, c);
		cell->type = PIPE_TEXT;
		if (!p)
			return -ENOMEM;
		return sqlc_cell_bytes(s, b, cell, p, cell->len, false);
	}
	cell->len = n;
	cell->p = spot_arena_dup(&b->src_arena, tmp, n);
	return cell->p ? 0 : -ENOMEM;
}

static int sqlc_step_error(struct sqlc_source *s, int rc, struct spot_err *err)
{
	int e = sqlc_errno(s->db, rc);

	if (e == -ETIMEDOUT)
		spot_err_set(err, "%s %s: time budget of %u ms spent", s->kind,
			     s->name, s->db->opts.budget_ms);
	else if (e == -ECANCELED)
		spot_err_set(err, "%s %s: the sandbox is ending", s->kind,
			     s->name);
	else /* generic text: SQLite's own message could quote a value */
		spot_err_set(err, "%s %s: %s", s->kind, s->name,
			     sqlite3_errstr(rc));
	return e;
}

static int sqlc_fill(struct sqlc_source *s, struct pipe_batch *b,
		     struct spot_err *err)
{
	uint64_t limit = s->db->opts.row_limit;
	int rc;

	while (b->nrows < b->cap) {
		rc = sqlite3_step(s->st);
		if (rc == SQLITE_DONE) {
			s->done = true;
			return s->db->rd == s->db->src
				       ? sqlc_fp_check(s->db, err)
				       : 0;
		}
		if (rc != SQLITE_ROW)
			return sqlc_step_error(s, rc, err);
		if (limit && s->rows >= limit) {
			spot_err_set(err, "%s %s: more than %llu rows", s->kind,
				     s->name, (unsigned long long)limit);
			return -EFBIG;
		}
		for (size_t c = 0; c < s->ncols; c++) {
			rc = sqlc_cell(s, b, &b->in[b->nrows * s->ncols + c],
				       (int)c);
			if (rc) {
				spot_err_set(err, "%s %s: row %llu: %s",
					     s->kind, s->name,
					     (unsigned long long)s->rows + 1,
					     strerror(-rc));
				return rc;
			}
		}
		b->rowmeta[b->nrows] = 0;
		b->keep[b->nrows] = 1;
		b->nrows++;
		s->rows++;
	}
	return 0;
}

static int sqlc_src_next(void *arg, struct pipe_batch *b, struct spot_err *err)
{
	struct sqlc_source *s = arg;
	uint64_t t0;
	int rc;

	spot_arena_reset(&b->src_arena);
	b->nrows = 0;
	if (s->failed) {
		*err = s->failed_err;
		return s->failed;
	}
	if (s->done)
		return 0;
	if (b->ncols != s->ncols)
		return -EINVAL;
	t0 = sqlc_now_ns();
	sqlc_arm(s->db, s->used_ns);
	s->db->internal = s->ours; /* a module may prepare statements */
	rc = sqlc_fill(s, b, err);
	s->db->internal = false;
	s->db->deadline = 0;
	s->used_ns += sqlc_now_ns() - t0;
	if (rc) {
		b->nrows = 0;
		s->failed = rc; /* sticky: no partial view after an error */
		s->failed_err = *err;
	}
	return rc;
}

const struct pipe_source_ops sqlc_source_ops = {
	.columns = sqlc_src_columns,
	.next_batch = sqlc_src_next,
	.dialect = NULL,
};

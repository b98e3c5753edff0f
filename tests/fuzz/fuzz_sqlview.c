/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_sqlview.c - libFuzzer target for view SQL: the text that cuts a
 * database's own CREATE VIEW down to its SELECT (view_sqlite_view_sql) and
 * the judge of configured view SQL (sqlc_check_view_sql). The input is SQL
 * text. Its CREATE statements (views mostly; nothing else is run) go into a
 * fresh database holding two small tables; then the input itself is judged
 * as configured view SQL, and each view of the database is cut down and
 * its SELECT judged. Beyond "no crash, no leak, no hang", it checks:
 *   - the SELECT cut from a view is a tail of the view's CREATE text and
 *     compiles; when both run to the end (deterministic functions only),
 *     it returns the same rows as the view itself;
 *   - SQL the judge accepts is, on a plain connection, exactly one
 *     statement (nothing but blanks and comments after it), read-only, not
 *     EXPLAIN, returning columns, and asks the authorizer for nothing but
 *     SELECT, reads of tables other than SQLite's raw page tables, and
 *     functions other than load_extension.
 *
 *   tests/fuzz/run 60 sqlview
 * Linked with fuzz_main.c it replays the files named on the command
 * line, so the unit suite runs the seed corpus.
 */
#include "sqlite.h"
#include "view.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define FZ_MAX_SQL 4096
#define FZ_MAX_VIEWS 4
#define FZ_MAX_ROWS 256
#define FZ_OPS 20000 /* progress callbacks of 100 ops before giving up */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fz_path[64];

static void fz_fail(const char *what, const char *sql)
{
	fprintf(stderr, "fuzz_sqlview: oracle failed: %s\n--- SQL:\n%s\n", what,
		sql);
	abort();
}

static int fz_progress(void *arg)
{
	return ++*(int *)arg > FZ_OPS;
}

/* Authorizer of the set-up connection: no ATTACH, no PRAGMA. */
static int fz_setup_auth(void *arg, int op, const char *a1, const char *a2,
			 const char *d, const char *t)
{
	(void)arg;
	(void)a1;
	(void)a2;
	(void)d;
	(void)t;
	return op == SQLITE_ATTACH || op == SQLITE_DETACH || op == SQLITE_PRAGMA
		       ? SQLITE_DENY
		       : SQLITE_OK;
}

/* Whether the statement text starts (after blanks and comments) with
 * CREATE: the only statements of the input that are run. */
static bool fz_is_create(const char *s)
{
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
		       *s == '\f')
			s++;
		if (s[0] == '-' && s[1] == '-') {
			s = strchr(s, '\n');
			if (!s)
				return false;
		} else if (s[0] == '/' && s[1] == '*') {
			s = strstr(s + 2, "*/");
			if (!s)
				return false;
			s += 2;
		} else {
			return !strncasecmp(s, "CREATE", 6);
		}
	}
}

static sqlite3 *fz_open(int *ops)
{
	sqlite3 *c = NULL;

	if (sqlite3_open_v2(fz_path, &c, SQLITE_OPEN_READWRITE, NULL)) {
		sqlite3_close(c);
		return NULL;
	}
	sqlite3_db_config(c, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(c, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_limit(c, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_progress_handler(c, 100, fz_progress, ops);
	return c;
}

/* A fresh database: two tables, then the input's CREATE statements. */
static int fz_setup(const char *sql)
{
	static const char base[] =
		"PRAGMA synchronous = OFF; PRAGMA journal_mode = MEMORY;"
		"CREATE TABLE t(a INTEGER, b TEXT, c);"
		"INSERT INTO t VALUES (1, 'x', NULL), (2, 'AS', 3.5),"
		" (3, 'y', x'00ff'), (2, 'z', 'w');"
		"CREATE TABLE \"as\"(k, \"AS\" TEXT);"
		"INSERT INTO \"as\" VALUES (1, 'one'), (7, NULL);";
	const char *p = sql, *tail;
	sqlite3_stmt *st;
	int ops = 0, n = 0;
	sqlite3 *c;
	FILE *f = fopen(fz_path, "w"); /* empty: a new database */

	if (!f)
		return -1;
	fclose(f);
	c = fz_open(&ops);
	if (!c || sqlite3_exec(c, base, NULL, NULL, NULL)) {
		sqlite3_close(c);
		return -1;
	}
	sqlite3_set_authorizer(c, fz_setup_auth, NULL);
	while (*p && n++ < 16) {
		st = NULL;
		tail = NULL;
		ops = 0;
		if (sqlite3_prepare_v2(c, p, -1, &st, &tail) != SQLITE_OK ||
		    !tail)
			break;
		if (st && fz_is_create(sqlite3_sql(st)))
			while (sqlite3_step(st) == SQLITE_ROW)
				;
		sqlite3_finalize(st);
		if (tail == p)
			break;
		p = tail;
	}
	sqlite3_close(c);
	return 0;
}

/* ---- the judge's oracle ---- */

struct fz_seen {
	bool bad;
	int op;
};

static int fz_record_auth(void *arg, int op, const char *a1, const char *a2,
			  const char *d, const char *t)
{
	struct fz_seen *s = arg;

	(void)d;
	(void)t;
	switch (op) {
	case SQLITE_SELECT:
	case SQLITE_RECURSIVE:
		break;
	case SQLITE_READ:
		if (a1 && (!sqlite3_stricmp(a1, "sqlite_dbpage") ||
			   !sqlite3_stricmp(a1, "sqlite_dbdata") ||
			   !sqlite3_stricmp(a1, "sqlite_dbptr")))
			s->bad = true;
		break;
	case SQLITE_FUNCTION:
		if (a2 && !sqlite3_stricmp(a2, "load_extension"))
			s->bad = true;
		break;
	default:
		s->bad = true;
		s->op = op;
	}
	return SQLITE_OK;
}

/* sql was accepted by the judge: check it on a plain connection. */
static void fz_accepted(const char *sql)
{
	struct fz_seen seen = { false, 0 };
	sqlite3_stmt *st = NULL, *st2 = NULL;
	const char *tail = NULL;
	int ops = 0;
	sqlite3 *c = fz_open(&ops);

	if (!c)
		return;
	sqlite3_set_authorizer(c, fz_record_auth, &seen);
	if (sqlite3_prepare_v2(c, sql, -1, &st, &tail) != SQLITE_OK || !st) {
		/* The judge's connection is stricter (limits); a plain one
		 * giving up on the same text is no finding, only a hostile
		 * schema's time limit is: ignore. */
		goto out;
	}
	if (seen.bad)
		fz_fail("accepted SQL asks for more than reads", sql);
	if (!sqlite3_stmt_readonly(st) || sqlite3_stmt_isexplain(st) ||
	    !sqlite3_column_count(st))
		fz_fail("accepted SQL is not a read-only SELECT", sql);
	if (tail && *tail &&
	    (sqlite3_prepare_v2(c, tail, -1, &st2, NULL) != SQLITE_OK || st2))
		fz_fail("accepted SQL holds more than one statement", sql);
out:
	sqlite3_finalize(st2);
	sqlite3_finalize(st);
	sqlite3_close(c);
}

/* ---- the cut's oracle ---- */

struct fz_rows {
	char *row[FZ_MAX_ROWS];
	size_t n;
	bool done; /* ran to the end within the limits */
	bool compiled;
};

static int fz_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run sql on c and keep its rows as text (type and hex per cell), sorted. */
static void fz_run(sqlite3 *c, int *ops, const char *sql, struct fz_rows *r)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	*ops = 0;
	if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK || !st) {
		sqlite3_finalize(st);
		return;
	}
	r->compiled = true;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int nc = sqlite3_column_count(st);
		sqlite3_str *s;

		if (r->n == FZ_MAX_ROWS)
			break;
		s = sqlite3_str_new(NULL);
		for (int i = 0; i < nc; i++) {
			const unsigned char *p;
			int len;

			sqlite3_str_appendf(s,
					    "%d:", sqlite3_column_type(st, i));
			p = sqlite3_column_blob(st, i);
			len = sqlite3_column_bytes(st, i);
			for (int j = 0; p && j < len; j++)
				sqlite3_str_appendf(s, "%02x", p[j]);
			sqlite3_str_appendchar(s, 1, '|');
		}
		r->row[r->n] = sqlite3_str_finish(s);
		if (!r->row[r->n])
			break;
		r->n++;
	}
	r->done = rc == SQLITE_DONE;
	sqlite3_finalize(st);
	qsort(r->row, r->n, sizeof(char *), fz_strcmp);
}

static void fz_rows_free(struct fz_rows *r)
{
	for (size_t i = 0; i < r->n; i++)
		sqlite3_free(r->row[i]);
}

/* Functions whose results differ between two runs. */
static bool fz_nondeterministic(const char *sql)
{
	static const char *const words[] = { "random",	    "now",
					     "current_",    "changes",
					     "last_insert", "sqlite_" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasestr(sql, words[i]))
			return true;
	return false;
}

static void fz_cut(const char *name, const char *sel)
{
	struct fz_rows a, b;
	sqlite3_stmt *st = NULL;
	const char *create = NULL;
	char *q = NULL;
	int ops = 0;
	sqlite3 *c = fz_open(&ops);
	size_t cl, sl = strlen(sel);

	if (!c)
		return;
	if (sqlite3_prepare_v2(c,
			       "SELECT sql FROM sqlite_schema WHERE type = "
			       "'view' AND name = ?1 COLLATE NOCASE",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		create = (const char *)sqlite3_column_text(st, 0);
	if (!create)
		fz_fail("a view was cut that the schema does not hold", sel);
	cl = strlen(create);
	if (sl > cl || strcmp(create + cl - sl, sel))
		fz_fail("the cut SELECT is not a tail of the CREATE VIEW", sel);
	q = sqlite3_mprintf("SELECT * FROM \"%w\"", name);
	if (!q)
		abort();
	fz_run(c, &ops, q, &a);
	fz_run(c, &ops, sel, &b);
	if (a.compiled && !b.compiled)
		fz_fail("the cut SELECT does not compile", create);
	if (a.done && b.done && !fz_nondeterministic(create)) {
		if (a.n != b.n)
			fz_fail("the cut SELECT returns other rows", create);
		for (size_t i = 0; i < a.n; i++)
			if (strcmp(a.row[i], b.row[i]))
				fz_fail("the cut SELECT returns other rows",
					create);
	}
	fz_rows_free(&a);
	fz_rows_free(&b);
	sqlite3_free(q);
	sqlite3_finalize(st);
	sqlite3_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spot_err err = { "" };
	struct sqlc_opts o;
	struct sqlc_db *db = NULL;
	char *sql, **names = NULL;
	unsigned *kinds = NULL;
	size_t n = 0, nv = 0;

	if (size > FZ_MAX_SQL)
		return 0;
	if (!fz_path[0])
		snprintf(fz_path, sizeof(fz_path), "%s/fuzz_sqlview.%d.db",
			 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm",
			 (int)getpid());
	sql = malloc(size + 1);
	if (!sql)
		abort();
	memcpy(sql, data, size);
	sql[size] = '\0';
	if (fz_setup(sql))
		goto out;
	sqlc_opts_init(&o);
	o.budget_ms = 2000;
	if (sqlc_db_open(fz_path, &o, &db, &err))
		goto out;
	/* The input as configured view SQL. */
	if (!sqlc_check_view_sql(db, "cfg", sql, &err))
		fz_accepted(sql);
	/* The database's own views, cut down to their SELECT and judged. */
	if (sqlc_db_objects(db, &names, &kinds, &n, &err))
		goto out;
	for (size_t i = 0; i < n && nv < FZ_MAX_VIEWS; i++) {
		char *sel = NULL;

		if (kinds[i] != SQLC_KIND_VIEW)
			continue;
		nv++;
		if (view_sqlite_view_sql(fz_path, names[i], &sel, &err))
			continue;
		fz_cut(names[i], sel);
		if (!sqlc_check_view_sql(db, names[i], sel, &err))
			fz_accepted(sel);
		free(sel);
	}
out:
	sqlc_names_free(names, n);
	free(kinds);
	sqlc_db_free(db);
	free(sql);
	unlink(fz_path);
	return 0;
}

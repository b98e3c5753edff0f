/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_sqlite.c - unit tests of the SQLite codec (masking/formats/sqlite*.c):
 * type mapping, table listing, view SQL validation and the authorizer, time
 * and row limits, read-only behaviour on rollback and WAL databases with a
 * concurrent writer, the masked-database writer (no raw value, no freelist,
 * legacy header), and a read benchmark. Fixtures are made in a private
 * directory under /tmp at run time with the SQLite C API.
 *
 * SQLC_BENCH_ROWS=1000000 sets the benchmark size (default 200000).
 */

#include "sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "pipe.h"
#include "spot.h"

static char dir[64];

static const char *fx(const char *name)
{
	static char buf[8][256];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int mkdb(const char *path, const char *sql)
{
	sqlite3 *c;
	int rc;

	if (sqlite3_open(path, &c) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(c, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "# fixture: %s\n", sqlite3_errmsg(c));
	sqlite3_close(c);
	return rc;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct spot_buf b;
	uint8_t tmp[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	spot_buf_init(&b);
	if (fd < 0)
		return NULL;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		spot_buf_append(&b, tmp, (size_t)n);
	close(fd);
	return spot_buf_steal(&b, len);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* ---- a sink that keeps every cell ---- */

struct cell {
	uint8_t type;
	size_t len;
	uint8_t *p;
};

struct keep {
	size_t ncols, nrows;
	char names[16][32];
	uint8_t types[16];
	struct cell *cells;
	size_t cap;
};

static int keep_begin(void *arg, const struct pipe_col *cols, size_t ncols,
		      const void *d, struct spot_err *err)
{
	struct keep *k = arg;

	(void)d;
	(void)err;
	k->ncols = ncols;
	for (size_t i = 0; i < ncols && i < 16; i++) {
		snprintf(k->names[i], sizeof(k->names[i]), "%s", cols[i].name);
		k->types[i] = cols[i].type;
	}
	return 0;
}

static int keep_rows(void *arg, const struct pipe_batch *b,
		     struct spot_err *err)
{
	struct keep *k = arg;

	(void)err;
	for (size_t r = 0; r < b->nrows; r++) {
		if (!b->keep[r])
			continue;
		if ((k->nrows + 1) * k->ncols > k->cap) {
			k->cap = (k->cap + k->ncols) * 2;
			k->cells =
				realloc(k->cells, k->cap * sizeof(*k->cells));
		}
		for (size_t c = 0; c < k->ncols; c++) {
			const struct pipe_cell *in = pipe_batch_cell(b, r, c);
			struct cell *o = &k->cells[k->nrows * k->ncols + c];

			o->type = in->type;
			o->len = in->len;
			o->p = malloc(in->len + 1);
			if (in->len)
				memcpy(o->p, in->p, in->len);
			o->p[in->len] = 0;
		}
		k->nrows++;
	}
	return 0;
}

static int keep_end(void *arg, struct spot_err *err)
{
	(void)arg;
	(void)err;
	return 0;
}

static const struct pipe_sink_ops keep_ops = { keep_begin, keep_rows,
					       keep_end };

static void keep_free(struct keep *k)
{
	for (size_t i = 0; i < k->nrows * k->ncols; i++)
		free(k->cells[i].p);
	free(k->cells);
	memset(k, 0, sizeof(*k));
}

static const struct cell *kc(const struct keep *k, size_t r, size_t c)
{
	return &k->cells[r * k->ncols + c];
}

static bool is(const struct cell *c, uint8_t type, const char *text)
{
	return c->type == type && c->len == strlen(text) &&
	       memcmp(c->p, text, c->len) == 0;
}

/* Read a table or view of db into k. */
static int run(struct sqlc_db *db, const char *table, const char *sql, bool hex,
	       struct keep *k, struct spot_err *err)
{
	struct sqlc_source_opts so = { .hex_blobs = hex };
	struct sqlc_source *s;
	int rc;

	memset(k, 0, sizeof(*k));
	err->msg[0] = 0;
	rc = sqlc_source_new(db, table, "v", sql, &so, &s, err);
	if (rc)
		return rc;
	rc = pipe_run(&sqlc_source_ops, s, NULL, &keep_ops, k, NULL, err);
	sqlc_source_free(s);
	return rc;
}

/* ---- fixtures ---- */

static const char people_sql[] =
	"CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, score REAL,"
	" photo BLOB, note, born DATE, amount DECIMAL(10,2));"
	"INSERT INTO people VALUES (1, 'alice', 0.1, x'00ff10', NULL,"
	" '1990-01-02', 12.5);"
	"INSERT INTO people VALUES (2, NULL, 1.0, x'', 'x', NULL, 3);"
	"INSERT INTO people VALUES (9223372036854775807, 'b\"q', 1e300, NULL,"
	" 42, NULL, NULL);"
	"INSERT INTO people VALUES (-9223372036854775808, '', -0.0, NULL,"
	" 1.5, NULL, NULL);"
	"INSERT INTO people VALUES (5, 'pi', 3.141592653589793, NULL, NULL,"
	" NULL, NULL);"
	"CREATE TABLE \"we\"\"ird\"(a); INSERT INTO \"we\"\"ird\" VALUES (7);"
	"CREATE TABLE zeta(a INTEGER PRIMARY KEY AUTOINCREMENT);"
	"INSERT INTO zeta VALUES (NULL);"
	"CREATE TABLE alpha(a); CREATE INDEX alpha_a ON alpha(a);"
	"INSERT INTO alpha VALUES (1), (2); ANALYZE;"
	"CREATE VIEW v_people AS SELECT id, name FROM people WHERE id < 3;"
	"CREATE VIEW v_bad AS SELECT load_extension('/nonexistent');";

static void test_types(struct sqlc_db *db)
{
	struct spot_err err = { "" };
	struct keep k;
	int rc = run(db, "people", NULL, false, &k, &err);
	static const uint8_t types[] = { PIPE_INT,  PIPE_TEXT, PIPE_REAL,
					 PIPE_BLOB, PIPE_TEXT, PIPE_TEXT,
					 PIPE_TEXT };

	CHECK(rc == 0, "read table people (%s)", err.msg);
	CHECK(k.ncols == 7 && k.nrows == 5, "5 rows of 7 columns");
	CHECK(!strcmp(k.names[0], "id") && !strcmp(k.names[6], "amount"),
	      "column names");
	CHECK(k.ncols == 7 && !memcmp(k.types, types, 7),
	      "declared types map to pipe types");
	if (k.nrows != 5)
		goto out;
	/* Rows come in rowid order: INT64_MIN, 1, 2, 5, INT64_MAX. */
	CHECK(is(kc(&k, 1, 0), PIPE_INT, "1"), "int cell");
	CHECK(is(kc(&k, 1, 1), PIPE_TEXT, "alice"), "text cell");
	CHECK(is(kc(&k, 1, 2), PIPE_REAL, "0.1"), "real 0.1 shortest");
	CHECK(kc(&k, 1, 3)->type == PIPE_BLOB && kc(&k, 1, 3)->len == 3 &&
		      !memcmp(kc(&k, 1, 3)->p, "\x00\xff\x10", 3),
	      "blob raw bytes");
	CHECK(is(kc(&k, 1, 4), PIPE_NULL, ""), "NULL cell");
	CHECK(is(kc(&k, 1, 5), PIPE_TEXT, "1990-01-02"), "date stays text");
	CHECK(is(kc(&k, 1, 6), PIPE_REAL, "12.5"), "numeric real cell");
	CHECK(is(kc(&k, 2, 1), PIPE_NULL, ""), "NULL text");
	CHECK(is(kc(&k, 2, 2), PIPE_REAL, "1.0"), "real 1.0 keeps a point");
	CHECK(is(kc(&k, 2, 3), PIPE_BLOB, ""), "empty blob");
	CHECK(is(kc(&k, 2, 6), PIPE_INT, "3"), "numeric int cell");
	CHECK(is(kc(&k, 4, 0), PIPE_INT, "9223372036854775807"), "INT64_MAX");
	CHECK(is(kc(&k, 4, 1), PIPE_TEXT, "b\"q"), "quote in text");
	CHECK(kc(&k, 4, 2)->type == PIPE_REAL &&
		      strtod((char *)kc(&k, 4, 2)->p, NULL) == 1e300,
	      "1e300 round-trips (%s)", kc(&k, 4, 2)->p);
	CHECK(is(kc(&k, 4, 4), PIPE_INT, "42"), "untyped int");
	CHECK(is(kc(&k, 0, 0), PIPE_INT, "-9223372036854775808"), "INT64_MIN");
	CHECK(is(kc(&k, 0, 1), PIPE_TEXT, ""), "empty text is not NULL");
	CHECK(is(kc(&k, 0, 2), PIPE_REAL, "0.0"),
	      "zero real (sign lost by SQLite)");
	CHECK(is(kc(&k, 0, 4), PIPE_REAL, "1.5"), "untyped real");
	CHECK(is(kc(&k, 3, 2), PIPE_REAL, "3.141592653589793"),
	      "pi round-trips");
out:
	keep_free(&k);
	rc = run(db, "people", NULL, true, &k, &err);
	CHECK(rc == 0 && k.nrows == 5 && is(kc(&k, 1, 3), PIPE_BLOB, "00ff10"),
	      "hex_blobs gives lowercase hex typed BLOB");
	keep_free(&k);
	rc = run(db, "we\"ird", NULL, false, &k, &err);
	CHECK(rc == 0 && k.nrows == 1 && is(kc(&k, 0, 0), PIPE_INT, "7"),
	      "table name with a quote is quoted");
	keep_free(&k);
	rc = run(db, "v_people", NULL, false, &k, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "v_people"),
	      "a database view is not read as a table (%s)", err.msg);
	keep_free(&k);
	rc = run(db, "sqlite_schema", NULL, false, &k, &err);
	CHECK(rc == -EINVAL, "sqlite_schema is not read as a table");
	keep_free(&k);
	rc = run(db, NULL, "SELECT * FROM v_people", false, &k, &err);
	CHECK(rc == 0 && k.nrows == 3, "database view readable as SQL");
	keep_free(&k);
	rc = run(db, "v_bad", NULL, false, &k, &err);
	CHECK(rc < 0 && strstr(err.msg, "v_bad"),
	      "view using load_extension fails (%d: %s)", rc, err.msg);
	keep_free(&k);
	rc = run(db, "nosuch", NULL, false, &k, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "nosuch"), "missing table: %s",
	      err.msg);
	keep_free(&k);
}

/* Shortest significant digits of "%.Ng" that reads back as d. */
static int shortest_digits(double d)
{
	char buf[64];

	for (int p = 1; p < 17; p++) {
		snprintf(buf, sizeof(buf), "%.*g", p, d);
		if (strtod(buf, NULL) == d)
			return p;
	}
	return 17;
}

static int sig_digits(const char *s)
{
	int n = 0, lead = 1, zeros = 0;

	for (; *s && *s != 'e'; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (lead && *s == '0')
			continue;
		lead = 0;
		if (*s == '0') {
			zeros++;
		} else {
			n += zeros + 1;
			zeros = 0;
		}
	}
	return n ? n : 1;
}

static bool pis(const struct pipe_cell *c, uint8_t type, const char *text)
{
	return c->type == type && c->len == strlen(text) &&
	       memcmp(c->p, text, c->len) == 0;
}

/*
 * Generated columns recomputed from served values: the row as served
 * (a transform's output where set, hex BLOBs decoded back) goes into a
 * table made from the source's definition; NOT NULL still applies.
 */
static void test_regen(void)
{
	static const char sql[] =
		"CREATE TABLE gb(id INTEGER PRIMARY KEY AUTOINCREMENT,"
		" e TEXT NOT NULL,"
		" b BLOB, u TEXT GENERATED ALWAYS AS (upper(e)) VIRTUAL,"
		" n INTEGER GENERATED ALWAYS AS (length(b)) STORED,"
		" CHECK (e LIKE '%@%'));"
		"INSERT INTO gb(id, e, b) VALUES (1, 'a@b.example', x'00ff10'),"
		" (2, 'c@d.example', NULL);";
	struct sqlc_source_opts so = { .hex_blobs = true };
	struct spot_err err = { "" };
	struct sqlc_db *db = NULL;
	struct sqlc_source *s = NULL;
	struct sqlc_regen *g = NULL;
	struct pipe_batch b;
	int rc;

	CHECK(mkdb(fx("regen.db"), sql) == 0, "regen fixture");
	rc = sqlc_db_open(fx("regen.db"), NULL, &db, &err);
	if (!rc)
		rc = sqlc_source_new(db, "gb", NULL, NULL, &so, &s, &err);
	if (!rc)
		rc = sqlc_regen_new(s, &g, &err);
	CHECK(rc == 0, "regen set up (%s)", err.msg);
	if (rc || pipe_batch_init(&b, 5, 8)) {
		sqlc_source_free(s);
		sqlc_db_free(db);
		return;
	}
	rc = sqlc_source_ops.next_batch(s, &b, &err);
	CHECK(rc == 0 && b.nrows == 2, "rows read (%s)", err.msg);
	pipe_batch_set(&b, 0, 1, "xy", 2, PIPE_TEXT); /* e "masked" */
	pipe_batch_set(&b, 1, 1, "zz", 2, PIPE_TEXT);
	rc = sqlc_regen_batch(g, &b, &err);
	CHECK(rc == 0 && pis(pipe_batch_cell(&b, 0, 3), PIPE_TEXT, "XY") &&
		      pis(pipe_batch_cell(&b, 1, 3), PIPE_TEXT, "ZZ"),
	      "recomputed from the served value, CHECK ignored (%s)", err.msg);
	CHECK(pis(pipe_batch_cell(&b, 0, 4), PIPE_INT, "3") &&
		      pipe_batch_cell(&b, 1, 4)->type == PIPE_NULL,
	      "hex BLOB decoded back before computing");
	pipe_batch_set(&b, 0, 1, NULL, 0, PIPE_NULL);
	for (size_t r = 0; r < 2; r++) /* a fresh batch: nothing computed */
		b.out[r * 5 + 3].flags = b.out[r * 5 + 4].flags = 0;
	err.msg[0] = 0;
	rc = sqlc_regen_batch(g, &b, &err);
	CHECK(rc == -EIO && strstr(err.msg, "row 1") &&
		      !strstr(err.msg, "example"),
	      "NOT NULL refuses a nulled value: fail closed (%s)", err.msg);
	for (size_t i = 0; i < 2 * 5; i++)
		b.out[i].flags = 0;
	pipe_batch_set(&b, 0, 1, "qq", 2, PIPE_TEXT);
	pipe_batch_set(&b, 0, 3, "own", 3, PIPE_TEXT); /* u's own rule */
	rc = sqlc_regen_batch(g, &b, &err);
	CHECK(rc == 0 && pis(pipe_batch_cell(&b, 0, 3), PIPE_TEXT, "own") &&
		      pis(pipe_batch_cell(&b, 0, 4), PIPE_INT, "3"),
	      "a cell its own rule set is kept, the others recomputed (%s)",
	      err.msg);
	CHECK(!(b.out[5 + 3].flags & PIPE_F_SET) &&
		      !(b.out[5 + 4].flags & PIPE_F_SET),
	      "a row with nothing changed is left as read");
	pipe_batch_fini(&b);
	sqlc_regen_free(g);
	sqlc_source_free(s);
	sqlc_db_free(db);
}

static void test_reals(void)
{
	enum { N = 30000 };
	const char *p = fx("reals.db");
	static double v[N];
	struct sqlc_db *db = NULL;
	struct spot_err err = { "" };
	struct keep k;
	sqlite3 *c;
	sqlite3_stmt *st;
	int bad = 0, longer = 0, rc;
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < N; i++) {
		uint64_t bits;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		bits = x;
		if (i % 3 == 0)
			memcpy(&v[i], &bits, sizeof(v[i]));
		else if (i % 3 == 1)
			v[i] = (double)(i - N / 2) / 7.0;
		else
			v[i] = (double)(int64_t)(x % 2000000) / 100.0;
		if (isnan(v[i]) || v[i] == 0)
			v[i] = 0.5; /* NaN is NULL in SQLite, -0.0 loses its sign */
	}
	sqlite3_open(p, &c);
	sqlite3_exec(c, "CREATE TABLE r(x REAL); BEGIN", NULL, NULL, NULL);
	sqlite3_prepare_v2(c, "INSERT INTO r VALUES (?)", -1, &st, NULL);
	for (int i = 0; i < N; i++) {
		sqlite3_bind_double(st, 1, v[i]);
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sqlite3_exec(c, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(c);
	rc = sqlc_db_open(p, NULL, &db, &err);
	if (!rc)
		rc = run(db, "r", NULL, false, &k, &err);
	CHECK(rc == 0 && k.nrows == N, "read %d reals", N);
	for (size_t i = 0; !rc && i < k.nrows; i++) {
		const char *t = (const char *)kc(&k, i, 0)->p;

		if (kc(&k, i, 0)->type != PIPE_REAL ||
		    strtod(t, NULL) != v[i] || !strpbrk(t, ".ein"))
			bad++;
		else if (sig_digits(t) > shortest_digits(v[i]) &&
			 sig_digits(t) > 15)
			longer++;
	}
	CHECK(!rc && bad == 0,
	      "every real reads back as the same double (%d bad)", bad);
	CHECK(!rc && longer < N / 1000,
	      "shortest form (%d of %d longer than needed)", longer, N);
	keep_free(&k);
	sqlc_db_free(db);
}

/* The kind listed for name, or 0. */
static unsigned kind_of(char **v, const unsigned *k, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return k[i];
	return 0;
}

static void test_tables(struct sqlc_db *db)
{
	struct spot_err err = { "" };
	char **v = NULL;
	unsigned *k = NULL;
	size_t n = 0, tables = 0;
	int rc = sqlc_db_objects(db, &v, &k, &n, &err);

	for (size_t i = 0; !rc && i < n; i++)
		tables += k[i] == SQLC_KIND_TABLE;
	CHECK(rc == 0 && tables == 4 && n == 9 &&
		      kind_of(v, k, n, "alpha") == SQLC_KIND_TABLE &&
		      kind_of(v, k, n, "we\"ird") == SQLC_KIND_TABLE &&
		      kind_of(v, k, n, "v_people") == SQLC_KIND_VIEW &&
		      kind_of(v, k, n, "sqlite_sequence") ==
			      SQLC_KIND_INTERNAL &&
		      kind_of(v, k, n, "sqlite_stat1") == SQLC_KIND_INTERNAL &&
		      kind_of(v, k, n, "sqlite_schema") == SQLC_KIND_INTERNAL,
	      "tables, views and internal tables told apart (n=%zu)", n);
	for (size_t i = 1; !rc && i < n; i++)
		CHECK(strcmp(v[i - 1], v[i]) < 0, "sorted: %s", v[i]);
	sqlc_names_free(v, n);
	free(k);
}

/*
 * Virtual tables (FTS3/4/5, rtree), their shadow tables, generated
 * columns and WITHOUT ROWID tables; a crafted virtual table whose module
 * SQLite does not know still makes "<name>_..." tables shadow tables.
 */
static void test_kinds(void)
{
	static const char sql[] =
		"CREATE TABLE plain(a);"
		"CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
		"CREATE VIRTUAL TABLE f5 USING fts5(body);"
		"CREATE VIRTUAL TABLE f4 USING fts4(body);"
		"CREATE VIRTUAL TABLE f3 USING fts3(body);"
		"CREATE VIRTUAL TABLE r USING rtree(id, a, b);"
		"INSERT INTO f5 VALUES ('x@y.example');"
		"CREATE TABLE g(id INTEGER PRIMARY KEY, e TEXT,"
		" u TEXT GENERATED ALWAYS AS (upper(e)) VIRTUAL,"
		" s TEXT GENERATED ALWAYS AS (lower(e)) STORED);"
		"INSERT INTO g(id, e) VALUES (1, 'Ab');"
		"CREATE VIEW gv AS SELECT u FROM g;"
		"CREATE TABLE odd_content(a); CREATE TABLE f5_notes(a);"
		"PRAGMA writable_schema=1;"
		"INSERT INTO sqlite_schema VALUES ('table', 'odd', 'odd', 0,"
		" 'CREATE VIRTUAL TABLE odd USING nosuchmodule(a)');";
	static const char *const shadows[] = {
		"f5_data",     "f5_idx",     "f5_content",  "f5_docsize",
		"f5_config",   "f4_content", "f4_segments", "f4_segdir",
		"f4_docsize",  "f4_stat",    "f3_content",  "f3_segments",
		"f3_segdir",   "r_node",     "r_rowid",	    "r_parent",
		"odd_content",
	};
	struct spot_err err = { "" };
	struct sqlc_db *db = NULL;
	struct sqlc_source *s = NULL;
	const struct pipe_col *cols;
	char **v = NULL, *vsql = NULL;
	unsigned *k = NULL;
	size_t n = 0, ncols = 0;
	struct keep kp;
	int rc;

	CHECK(mkdb(fx("kinds.db"), sql) == 0, "kinds fixture");
	rc = sqlc_db_open(fx("kinds.db"), NULL, &db, &err);
	CHECK(rc == 0, "open kinds.db (%s)", err.msg);
	if (rc)
		return;
	rc = sqlc_db_objects(db, &v, &k, &n, &err);
	CHECK(rc == 0, "list kinds.db (%s)", err.msg);
	CHECK(kind_of(v, k, n, "plain") == SQLC_KIND_TABLE &&
		      kind_of(v, k, n, "w") == SQLC_KIND_TABLE &&
		      kind_of(v, k, n, "g") == SQLC_KIND_TABLE &&
		      kind_of(v, k, n, "gv") == SQLC_KIND_VIEW &&
		      kind_of(v, k, n, "f5_notes") == SQLC_KIND_TABLE,
	      "ordinary tables (also beside an FTS table) and views");
	CHECK(kind_of(v, k, n, "f5") == SQLC_KIND_VIRTUAL &&
		      kind_of(v, k, n, "f4") == SQLC_KIND_VIRTUAL &&
		      kind_of(v, k, n, "f3") == SQLC_KIND_VIRTUAL &&
		      kind_of(v, k, n, "r") == SQLC_KIND_VIRTUAL &&
		      kind_of(v, k, n, "odd") == SQLC_KIND_VIRTUAL,
	      "virtual tables, also of an unknown module");
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(shadows); i++)
		CHECK(kind_of(v, k, n, shadows[i]) == SQLC_KIND_SHADOW,
		      "shadow table %s", shadows[i]);
	sqlc_names_free(v, n);
	free(k);

	rc = sqlc_source_new(db, "g", NULL, NULL, NULL, &s, &err);
	if (!rc)
		rc = sqlc_source_ops.columns(s, &cols, &ncols, &err);
	CHECK(rc == 0 && ncols == 4 && !sqlc_source_generated(s, 0) &&
		      !sqlc_source_generated(s, 1) &&
		      sqlc_source_generated(s, 2) &&
		      sqlc_source_generated(s, 3),
	      "generated columns VIRTUAL and STORED marked (%s)", err.msg);
	sqlc_source_free(s);
	s = NULL;
	rc = sqlc_source_new(db, "f5", NULL, NULL, NULL, &s, &err);
	if (!rc)
		rc = sqlc_source_ops.columns(s, &cols, &ncols, &err);
	CHECK(rc == 0 && ncols == 1 && !sqlc_source_generated(s, 0),
	      "FTS5 hidden columns are not in SELECT * (%s)", err.msg);
	sqlc_source_free(s);
	s = NULL;
	err.msg[0] = 0;
	rc = sqlc_source_new(db, "GV", NULL, NULL, NULL, &s, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "GV"),
	      "a view read as a table fails closed (%d: %s)", rc, err.msg);
	sqlc_source_free(s);
	rc = sqlc_db_view_sql(db, "GV", &vsql, &err);
	CHECK(rc == 0 && !strcmp(vsql, "CREATE VIEW gv AS SELECT u FROM g"),
	      "a view's SQL, name in any case (%s)", rc ? err.msg : vsql);
	free(vsql);
	rc = sqlc_db_view_sql(db, "g", &vsql, &err);
	CHECK(rc == -ENOENT, "a table has no view SQL");
	rc = run(db, NULL, "SELECT u, s FROM g", false, &kp, &err);
	CHECK(rc == 0 && kp.nrows == 1 && is(kc(&kp, 0, 0), PIPE_TEXT, "AB"),
	      "generated columns read (%s)", err.msg);
	keep_free(&kp);
	sqlc_db_free(db);
}

static void test_view_sql(struct sqlc_db *db)
{
	static const char *const ok[] = {
		"SELECT id, name FROM people WHERE id > 1",
		"WITH x AS (SELECT 1 AS a) SELECT a FROM x",
		"SELECT 1;",
		"SELECT upper(name), count(*) FROM people GROUP BY 1; -- hi",
		"VALUES (1, 2)",
	};
	static const char *const bad[] = {
		"INSERT INTO people(id) VALUES (6)",
		"DELETE FROM people",
		"UPDATE people SET name = 'x'",
		"ATTACH '/tmp/sqlc-attach.db' AS x",
		"PRAGMA writable_schema=ON",
		"PRAGMA table_info(people)",
		"SELECT 1; DELETE FROM people",
		"CREATE TABLE z(a)",
		"DROP TABLE people",
		"BEGIN",
		"EXPLAIN SELECT 1",
		"SELECT load_extension('/nonexistent')",
		"SELECT * FROM sqlite_dbpage",
		"SELECT * FROM nosuch",
		"SELEC 1",
		"",
		"-- only a comment",
	};
	struct spot_err err = { "" };
	struct keep k;
	int rc;

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(ok); i++) {
		rc = sqlc_check_view_sql(db, "good", ok[i], &err);
		CHECK(rc == 0, "view accepted: %s (%s)", ok[i],
		      rc ? err.msg : "");
	}
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(bad); i++) {
		err.msg[0] = 0;
		rc = sqlc_check_view_sql(db, "evil", bad[i], &err);
		CHECK(rc < 0 && strstr(err.msg, "view evil"),
		      "view rejected: %s (%d: %s)", bad[i], rc, err.msg);
		rc = run(db, NULL, bad[i], false, &k, &err);
		CHECK(rc < 0, "source refuses it too");
		keep_free(&k);
	}
	rc = run(db, NULL,
		 "SELECT id * 2 AS d, typeof(score) FROM people "
		 "WHERE id > 0 ORDER BY id LIMIT 2",
		 false, &k, &err);
	CHECK(rc == 0 && k.nrows == 2 && !strcmp(k.names[0], "d") &&
		      is(kc(&k, 0, 0), PIPE_INT, "2") &&
		      is(kc(&k, 0, 1), PIPE_TEXT, "real"),
	      "view runs with expression columns (%s)", err.msg);
	keep_free(&k);
	rc = run(db, "people", NULL, false, &k, &err);
	CHECK(rc == 0 && k.nrows == 5, "source unchanged after attempts");
	keep_free(&k);
}

static void test_limits(void)
{
	struct sqlc_opts o;
	struct sqlc_db *db = NULL;
	struct spot_err err = { "" };
	struct keep k;
	double t0;
	int rc;

	sqlc_opts_init(&o);
	o.budget_ms = 300;
	o.row_limit = 1000;
	rc = sqlc_db_open(fx("types.db"), &o, &db, &err);
	CHECK(rc == 0, "open with limits");
	if (rc)
		return;
	t0 = now_s();
	rc = run(db, NULL,
		 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
		 "FROM c) SELECT count(*) FROM c",
		 false, &k, &err);
	t0 = now_s() - t0;
	CHECK(rc == -ETIMEDOUT && strstr(err.msg, "time budget"),
	      "endless CTE hits the time budget (%d: %s)", rc, err.msg);
	CHECK(t0 > 0.25 && t0 < 3.0, "stopped after %.2f s", t0);
	keep_free(&k);
	rc = run(db, NULL,
		 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
		 "FROM c) SELECT x FROM c",
		 false, &k, &err);
	CHECK(rc == -EFBIG && k.nrows == 0,
	      "endless rows hit the row limit before the sink saw them (%d: "
	      "%s)",
	      rc, err.msg);
	keep_free(&k);
	sqlc_db_free(db);
}

static void test_open_errors(void)
{
	struct sqlc_db *db = NULL;
	struct spot_err err = { "" };
	uint8_t hdr[16] = "SQLite format 3";
	int fd;

	CHECK(sqlc_is_sqlite(hdr, 16), "magic recognised");
	CHECK(!sqlc_is_sqlite(hdr, 15), "short header rejected");
	hdr[3] = 'X';
	CHECK(!sqlc_is_sqlite(hdr, 16), "wrong magic rejected");
	CHECK(sqlc_db_open(fx("missing.db"), NULL, &db, &err) == -ENOENT,
	      "missing file: %s", err.msg);
	fd = open(fx("text.db"), O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "hello, world\n", 13) == 13, "text file");
	close(fd);
	CHECK(sqlc_db_open(fx("text.db"), NULL, &db, &err) == -ENOMEDIUM,
	      "not SQLite: %s", err.msg);
	fd = open(fx("trunc.db"), O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "SQLite format 3\0\x10\0\1\1", 20) == 20,
	      "truncated db");
	close(fd);
	CHECK(sqlc_db_open(fx("trunc.db"), NULL, &db, &err) < 0,
	      "truncated database refused: %s", err.msg);
}

/* ---- read-only behaviour ---- */

/* Read every table of path in both snapshot modes. */
static int read_all(const char *path, uint64_t snapshot_max)
{
	struct sqlc_opts o;
	struct sqlc_db *db = NULL;
	struct spot_err err = { "" };
	struct keep k;
	char **v = NULL;
	unsigned *kinds = NULL;
	size_t n = 0;
	int rc;

	sqlc_opts_init(&o);
	o.snapshot_max = snapshot_max;
	rc = sqlc_db_open(path, &o, &db, &err);
	if (!rc)
		rc = sqlc_db_objects(db, &v, &kinds, &n, &err);
	for (size_t i = 0; !rc && i < n; i++) {
		if (kinds[i] == SQLC_KIND_VIEW ||
		    kinds[i] == SQLC_KIND_INTERNAL)
			continue; /* not read as tables (test_types) */
		rc = run(db, v[i], NULL, false, &k, &err);
		keep_free(&k);
	}
	if (rc)
		printf("# read_all: %s\n", err.msg);
	sqlc_names_free(v, n);
	free(kinds);
	sqlc_db_free(db);
	return rc;
}

static void test_readonly(void)
{
	const char *p = fx("wal.db");
	uint8_t *before, *after;
	size_t lb, la;
	char side[300];

	CHECK(mkdb(p, "PRAGMA journal_mode=WAL; CREATE TABLE t(a, b);"
		      "INSERT INTO t VALUES (1, 'x'), (2, 'y');") == 0,
	      "WAL fixture");
	snprintf(side, sizeof(side), "%s-wal", p);
	CHECK(!exists(side), "fixture closed: no -wal");
	before = slurp(p, &lb);
	CHECK(read_all(p, SQLC_SNAPSHOT_MAX_DEFAULT) == 0,
	      "WAL db read via a copy");
	CHECK(read_all(p, 0) == 0, "WAL db read in place");
	after = slurp(p, &la);
	CHECK(!exists(side), "no -wal created beside the source");
	snprintf(side, sizeof(side), "%s-shm", p);
	CHECK(!exists(side), "no -shm created beside the source");
	CHECK(before && after && la == lb && !memcmp(before, after, la),
	      "WAL source byte-identical");
	free(before);
	free(after);
	p = fx("types.db");
	before = slurp(p, &lb);
	CHECK(read_all(p, SQLC_SNAPSHOT_MAX_DEFAULT) == 0 &&
		      read_all(p, 0) == 0,
	      "rollback db read both ways");
	after = slurp(p, &la);
	snprintf(side, sizeof(side), "%s-journal", p);
	CHECK(!exists(side) && la == lb && !memcmp(before, after, la),
	      "rollback source byte-identical, no journal");
	free(before);
	free(after);
}

/*
 * The writer child commits a row into a and b in one transaction, with no
 * busy timeout: any lock of ours would make it fail.
 */
static void writer_child(const char *path, double secs, int fd)
{
	sqlite3 *c;
	long commits = 0, fails = 0;
	double end = now_s() + secs;

	if (sqlite3_open(path, &c) != SQLITE_OK)
		_exit(2);
	while (now_s() < end) {
		if (sqlite3_exec(c,
				 "BEGIN IMMEDIATE; INSERT INTO a VALUES "
				 "(randomblob(200)); INSERT INTO b VALUES "
				 "(randomblob(200)); COMMIT",
				 NULL, NULL, NULL) == SQLITE_OK)
			commits++;
		else {
			fails++;
			sqlite3_exec(c, "ROLLBACK", NULL, NULL, NULL);
		}
	}
	sqlite3_close(c);
	if (write(fd, &commits, sizeof(commits)) != sizeof(commits))
		_exit(3);
	_exit(fails ? 1 : 0);
}

static int count_of(struct sqlc_db *db, const char *sql, long *n)
{
	struct spot_err err = { "" };
	struct keep k;
	int rc = run(db, NULL, sql, false, &k, &err);

	if (!rc && k.nrows == 1)
		*n = strtol((char *)kc(&k, 0, 0)->p, NULL, 10);
	keep_free(&k);
	return rc;
}

static void test_concurrent(void)
{
	const char *p = fx("live.db");
	struct sqlc_db *db[2] = { NULL, NULL };
	struct sqlc_opts o;
	struct spot_err err = { "" };
	long commits = 0, na, nb;
	int builds = 0, same = 0, fd[2], st = -1;
	char side[300];
	pid_t pid;

	CHECK(mkdb(p, "PRAGMA journal_mode=WAL; CREATE TABLE a(x);"
		      "CREATE TABLE b(x);") == 0,
	      "live fixture");
	if (pipe(fd) < 0)
		return;
	pid = fork();
	if (pid == 0)
		writer_child(p, 1.5, fd[1]);
	snprintf(side, sizeof(side), "%s-wal", p);
	for (int i = 0; i < 1000 && !exists(side); i++)
		usleep(5000);
	sqlc_opts_init(&o);
	sqlc_db_open(p, &o, &db[0], &err);
	o.snapshot_max = 0; /* read in place, in one read transaction */
	sqlc_db_open(p, &o, &db[1], &err);
	CHECK(db[0] && db[1], "opened while being written (%s)", err.msg);
	for (double end = now_s() + 1.0; db[0] && db[1] && now_s() < end;) {
		struct sqlc_db *d = db[builds % 2];

		if (sqlc_db_begin(d, &err))
			break;
		na = -1;
		nb = -2;
		count_of(d, "SELECT count(*) FROM a", &na);
		usleep(2000); /* the writer commits in between */
		count_of(d, "SELECT count(*) FROM b", &nb);
		if (sqlc_db_end(d, &err) == 0) {
			builds++;
			same += na == nb;
		}
	}
	waitpid(pid, &st, 0);
	if (read(fd[0], &commits, sizeof(commits)) != sizeof(commits))
		commits = -1;
	close(fd[0]);
	close(fd[1]);
	CHECK(builds > 10 && same == builds,
	      "every build saw one snapshot (%d of %d)", same, builds);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0 && commits > 50,
	      "writer never blocked (%ld commits, status %d)", commits, st);
	sqlc_db_free(db[0]);
	sqlc_db_free(db[1]);
	CHECK(!exists(side), "no -wal left after the writer closed");
}

/* ---- masked database ---- */

struct mask_arg {
	int fail_batch; /* 0: never; else fail on this batch (1-based) */
	int batches;
	bool raw_first; /* leave cells raw (to test rollback clean-up) */
};

/* name -> "user-<row>", secret -> NULL, id -> "id-<row>" as TEXT. */
static int mask_fn(void *arg, struct pipe_batch *b, size_t col,
		   struct spot_err *err)
{
	struct mask_arg *m = arg;
	char buf[64];
	int n, rc = 0;

	if (col == 1 && ++m->batches == m->fail_batch) {
		spot_err_set(err, "policy failed");
		return -EIO;
	}
	if (m->raw_first && m->batches == 1)
		return 0;
	for (size_t r = 0; !rc && r < b->nrows; r++) {
		if (col == 2) {
			rc = pipe_batch_set(b, r, col, NULL, 0, PIPE_NULL);
			continue;
		}
		n = snprintf(buf, sizeof(buf), "%s-%llu", col ? "user" : "id",
			     (unsigned long long)(b->first_row + r));
		rc = pipe_batch_set(b, r, col, buf, (size_t)n, PIPE_TEXT);
	}
	return rc;
}

static int write_table(struct sqlc_dbwriter *w, struct sqlc_db *db,
		       const char *out, const char *table, const char *sql,
		       struct mask_arg *m, struct spot_err *err)
{
	struct pipe_xform xf[3] = { { 0, mask_fn, m, false, false, false },
				    { 1, mask_fn, m, false, false, false },
				    { 2, mask_fn, m, false, false, false } };
	struct pipe_plan plan = {
		NULL, NULL, xf, m ? 3 : 0, NULL, 0, NULL, NULL
	};
	struct sqlc_source *s = NULL;
	int rc;

	rc = sqlc_source_new(db, table, out, sql, NULL, &s, err);
	if (!rc)
		rc = sqlc_dbwriter_table(w, out, s, err);
	if (!rc && m)
		rc = sqlc_dbwriter_coltype(w, 0, PIPE_TEXT);
	if (!rc)
		rc = pipe_run(&sqlc_source_ops, s, &plan, &sqlc_dbwriter_ops, w,
			      NULL, err);
	sqlc_source_free(s);
	return rc;
}

static long long q1(sqlite3 *c, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void check_image(const uint8_t *img, size_t len, const char *path)
{
	sqlite3 *c = NULL;
	char uri[300], cmd[600], line[64] = "";
	FILE *f;
	int fd;

	CHECK(len > 100 && sqlc_is_sqlite(img, len), "image has the magic");
	CHECK(len > 100 && img[18] == 1 && img[19] == 1,
	      "header says legacy (not WAL)");
	CHECK(len > 100 && !img[32] && !img[33] && !img[34] && !img[35] &&
		      !img[36] && !img[37] && !img[38] && !img[39],
	      "no freelist pages (trunk and count zero)");
	CHECK(len > 100 && img[16] == 0x10 && img[17] == 0, "page size 4096");
	CHECK(!memmem(img, len, "RAWMARKER", 9) &&
		      !memmem(img, len, "RAWSECRET", 9),
	      "no raw marker anywhere in the image");
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0400);
	CHECK(fd >= 0 && write(fd, img, len) == (ssize_t)len, "image saved");
	close(fd);
	snprintf(uri, sizeof(uri), "file:%s?mode=ro", path);
	CHECK(sqlite3_open_v2(uri, &c, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
			      NULL) == SQLITE_OK,
	      "image opens read-only");
	CHECK(q1(c, "SELECT count(*) FROM users") == 2000, "users: 2000 rows");
	CHECK(q1(c, "SELECT count(*) FROM users WHERE typeof(id) = 'text' "
		    "AND typeof(name) = 'text' AND typeof(secret) = 'null' "
		    "AND typeof(n) = 'real' AND typeof(b) = 'blob'") == 2000,
	      "masked types: id text, secret NULL; real and blob kept");
	CHECK(q1(c,
		 "SELECT count(*) FROM users WHERE n = (rowid - 1) * 0.1 "
		 "AND b = x'00ff00' AND name = 'user-' || (rowid - 1)") == 2000,
	      "reals exact, blobs raw, masked names");
	CHECK(q1(c,
		 "SELECT count(*) FROM evens WHERE typeof(id) = 'integer'") ==
		      1000,
	      "view table: integers stay integers");
	CHECK(q1(c, "SELECT max(id) FROM evens") == 2000, "view values");
	CHECK(q1(c, "SELECT count(*) FROM pragma_table_info('dups') "
		    "WHERE name IN ('id', 'ID:1')") == 2,
	      "duplicate column became ID:1");
	CHECK(q1(c, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' "
		    "OR name LIKE 'sqlite_stat%' OR name = 'failed'") == 0,
	      "no index, no stats, failed table gone");
	CHECK(q1(c, "SELECT count(*) FROM pragma_integrity_check "
		    "WHERE integrity_check = 'ok'") == 1,
	      "integrity_check ok");
	sqlite3_close(c);
	if (access("/usr/bin/sqlite3", X_OK) == 0) {
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/sqlite3 -readonly '%s' "
			 "'SELECT count(*) FROM users' 2>&1",
			 path);
		f = popen(cmd, "r");
		if (f && !fgets(line, sizeof(line), f))
			line[0] = 0;
		if (f)
			pclose(f);
		line[strcspn(line, "\n")] = 0;
		CHECK(!strcmp(line, "2000"), "sqlite3 -readonly: %s", line);
	}
	if (access("/usr/bin/python3", X_OK) == 0) {
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/python3 -c \"import sqlite3; c = "
			 "sqlite3.connect('file:%s?mode=ro', uri=True); "
			 "print(c.execute('select count(*), sum(n) from "
			 "users').fetchone())\" 2>&1",
			 path);
		f = popen(cmd, "r");
		if (f && !fgets(line, sizeof(line), f))
			line[0] = 0;
		if (f)
			pclose(f);
		line[strcspn(line, "\n")] = 0;
		CHECK(!strncmp(line, "(2000, 199900", 13), "python sqlite3: %s",
		      line);
	}
}

/* A spot_rwfile in memory; pwrite fails with ENOSPC from fail_at on. */
struct memrw {
	struct spot_buf b;
	uint64_t size;
	unsigned writes, fail_at;
};

static int memrw_pwrite(void *arg, const void *p, size_t len, uint64_t off)
{
	struct memrw *m = arg;

	if (m->fail_at && ++m->writes >= m->fail_at)
		return -ENOSPC;
	if (off + len > m->b.len) {
		if (spot_buf_reserve(&m->b, off + len - m->b.len))
			return -ENOMEM;
		memset(m->b.p + m->b.len, 0, off + len - m->b.len);
		m->b.len = off + len;
	}
	memcpy(m->b.p + off, p, len);
	if (off + len > m->size)
		m->size = off + len;
	return 0;
}

static ssize_t memrw_pread(void *arg, void *buf, size_t len, uint64_t off)
{
	struct memrw *m = arg;

	if (off >= m->size)
		return 0;
	if (len > m->size - off)
		len = (size_t)(m->size - off);
	memcpy(buf, m->b.p + off, len);
	return (ssize_t)len;
}

static int memrw_truncate(void *arg, uint64_t size)
{
	((struct memrw *)arg)->size = size;
	return 0;
}

static uint64_t memrw_size(void *arg)
{
	return ((struct memrw *)arg)->size;
}

/* The writer's tables of test_writer, into w. */
static int writer_tables(struct sqlc_dbwriter *w, struct sqlc_db *db,
			 struct spot_err *err)
{
	struct mask_arg m1 = { 0, 0, false }, mf = { 2, 0, true };
	int rc = sqlc_db_begin(db, err);

	if (!rc)
		rc = write_table(w, db, "users", "users", NULL, &m1, err);
	if (!rc &&
	    write_table(w, db, "failed", "users", NULL, &mf, err) != -EIO)
		rc = -EINVAL;
	if (!rc)
		rc = write_table(w, db, "evens", NULL,
				 "SELECT id, n FROM users WHERE id % 2 = 0",
				 NULL, err);
	sqlc_db_end(db, err);
	return rc;
}

/*
 * Built in a file through the VFS (a view past the memory budget): the
 * same bytes as in memory, a rolled-back table vacuumed out too; a file
 * that fills up fails the build.
 */
static void test_writer_rw(const char *p)
{
	struct memrw m;
	struct spot_rwfile rw = { memrw_pwrite, memrw_pread, memrw_truncate,
				  memrw_size, &m };
	struct sqlc_dbwriter *w = NULL;
	struct sqlc_db *db = NULL;
	struct spot_err err = { "" };
	struct spot_buf mem, none;
	int rc;

	memset(&m, 0, sizeof(m));
	spot_buf_init(&m.b);
	spot_buf_init(&mem);
	spot_buf_init(&none);
	CHECK(sqlc_db_open(p, NULL, &db, &err) == 0, "rw: open");
	rc = sqlc_dbwriter_new(&w, &err);
	if (!rc)
		rc = writer_tables(w, db, &err);
	if (!rc)
		rc = sqlc_dbwriter_finish(w, &mem, &err);
	sqlc_dbwriter_free(w);
	w = NULL;
	CHECK(rc == 0 && mem.len > 4096, "rw: the in-memory build (%s)",
	      err.msg);
	rc = sqlc_dbwriter_new_rw(&w, &rw, &err);
	if (!rc)
		rc = writer_tables(w, db, &err);
	if (!rc)
		rc = sqlc_dbwriter_finish(w, &none, &err);
	sqlc_dbwriter_free(w);
	w = NULL;
	CHECK(rc == 0 && none.len == 0 && m.size == mem.len &&
		      !memcmp(m.b.p, mem.p, mem.len),
	      "rw: built in the file, the same bytes as in memory "
	      "(%llu and %zu, %s)",
	      (unsigned long long)m.size, mem.len, err.msg);
	spot_buf_reset(&m.b);
	m.size = 0;
	m.fail_at = 5;
	m.writes = 0;
	rc = sqlc_dbwriter_new_rw(&w, &rw, &err);
	if (!rc)
		rc = writer_tables(w, db, &err);
	if (!rc)
		rc = sqlc_dbwriter_finish(w, &none, &err);
	sqlc_dbwriter_free(w);
	CHECK(rc == -ENOSPC,
	      "rw: a full file fails the build, transiently (%d, %s)", rc,
	      err.msg);
	spot_buf_fini(&m.b);
	spot_buf_fini(&mem);
	sqlc_db_free(db);
}

static void test_writer(void)
{
	const char *p = fx("markers.db");
	struct mask_arg m1 = { 0, 0, false }, mf = { 2, 0, true };
	struct sqlc_dbwriter *w = NULL;
	struct sqlc_db *db = NULL;
	struct spot_err err = { "" };
	struct spot_buf out;
	uint8_t *src;
	size_t lsrc;
	int rc;

	CHECK(mkdb(p, "CREATE TABLE users(id INTEGER, name TEXT, secret TEXT,"
		      " n REAL, b BLOB);"
		      "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1"
		      " FROM c WHERE i < 1999) INSERT INTO users SELECT i + 1,"
		      " 'RAWMARKER_' || i, 'RAWSECRET' || i, i * 0.1, x'00ff00'"
		      " FROM c; CREATE INDEX users_name ON users(name);"
		      "ANALYZE;") == 0,
	      "marker fixture");
	src = slurp(p, &lsrc);
	CHECK(src && memmem(src, lsrc, "RAWMARKER_1999", 14),
	      "markers are in the source (the scan can fail)");
	free(src);
	spot_buf_init(&out);
	CHECK(sqlc_db_open(p, NULL, &db, &err) == 0, "open marker db");
	CHECK(sqlc_dbwriter_new(&w, &err) == 0, "writer");
	if (!db || !w)
		goto out;
	CHECK(sqlc_db_begin(db, &err) == 0, "one snapshot for the build");
	rc = write_table(w, db, "users", "users", NULL, &m1, &err);
	CHECK(rc == 0, "masked users written (%s)", rc ? err.msg : "");
	rc = write_table(w, db, "failed", "users", NULL, &mf, &err);
	CHECK(rc == -EIO, "a failing policy fails the table after raw rows");
	rc = write_table(w, db, "evens", NULL,
			 "SELECT id, n FROM users WHERE id % 2 = 0", NULL,
			 &err);
	CHECK(rc == 0, "view written as a table (%s)", rc ? err.msg : "");
	rc = write_table(w, db, "dups", NULL, "SELECT id, id AS ID FROM users",
			 NULL, &err);
	CHECK(rc == 0, "duplicate column names are renamed (%s)", err.msg);
	rc = write_table(w, db, "users", "users", NULL, &m1, &err);
	CHECK(rc == -EINVAL && strstr(err.msg, "users"),
	      "duplicate table name is an error: %s", err.msg);
	CHECK(sqlc_dbwriter_table(w, "sqlite_stat1", NULL, &err) == -EINVAL,
	      "reserved table name refused");
	CHECK(sqlc_db_end(db, &err) == 0, "snapshot ended");
	rc = sqlc_dbwriter_finish(w, &out, &err);
	CHECK(rc == 0 && out.len > 0, "finish: %zu bytes", out.len);
	if (!rc)
		check_image(out.p, out.len, fx("masked.db"));
out:
	spot_buf_fini(&out);
	sqlc_dbwriter_free(w);
	sqlc_db_free(db);
	test_writer_rw(p);
}

/* ---- benchmark ---- */

static int null_begin(void *a, const struct pipe_col *c, size_t n,
		      const void *d, struct spot_err *e)
{
	(void)a, (void)c, (void)n, (void)d, (void)e;
	return 0;
}

static int null_rows(void *a, const struct pipe_batch *b, struct spot_err *e)
{
	(void)e;
	*(uint64_t *)a += b->nrows;
	return 0;
}

static int null_end(void *a, struct spot_err *e)
{
	(void)a, (void)e;
	return 0;
}

static const struct pipe_sink_ops null_ops = { null_begin, null_rows,
					       null_end };

static void bench(void)
{
	const char *p = fx("bench.db");
	const char *env = getenv("SQLC_BENCH_ROWS");
	long rows = env ? atol(env) : 200000;
	char sql[512], cmd[512];
	struct sqlc_db *db = NULL;
	struct sqlc_source *s = NULL;
	struct spot_err err = { "" };
	uint64_t got = 0;
	double t0, t_open, t_read, t_cli = -1;
	int rc;

	snprintf(
		sql, sizeof(sql),
		"CREATE TABLE t(id INTEGER, name TEXT, email TEXT, score REAL);"
		"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c"
		" WHERE i < %ld) INSERT INTO t SELECT i, 'name ' || i,"
		" 'user' || i || '@example.com', i / 7.0 FROM c",
		rows);
	CHECK(mkdb(p, sql) == 0, "bench fixture of %ld rows", rows);
	t0 = now_s();
	rc = sqlc_db_open(p, NULL, &db, &err);
	if (!rc)
		rc = sqlc_source_new(db, "t", NULL, NULL, NULL, &s, &err);
	t_open = now_s() - t0;
	t0 = now_s();
	if (!rc)
		rc = pipe_run(&sqlc_source_ops, s, NULL, &null_ops, &got, NULL,
			      &err);
	t_read = now_s() - t0;
	CHECK(rc == 0 && got == (uint64_t)rows, "bench read all rows");
	sqlc_source_free(s);
	sqlc_db_free(db);
	if (access("/usr/bin/sqlite3", X_OK) == 0) {
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/sqlite3 -csv '%s' 'SELECT * FROM t' "
			 ">/dev/null",
			 p);
		t0 = now_s();
		if (system(cmd) == 0)
			t_cli = now_s() - t0;
	}
	printf("# bench: %ld rows: open+snapshot %.3f s, read %.3f s "
	       "(%.0f rows/s); sqlite3 -csv %.3f s\n",
	       rows, t_open, t_read, (double)rows / t_read, t_cli);
}

int main(void)
{
	struct sqlc_db *db = NULL;
	struct spot_err err = { "" };
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/sqlc-test-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	CHECK(mkdb(fx("types.db"), people_sql) == 0, "types fixture");
	CHECK(sqlc_db_open(fx("types.db"), NULL, &db, &err) == 0,
	      "open types.db (%s)", err.msg);
	if (db) {
		test_types(db);
		test_tables(db);
		test_view_sql(db);
		sqlc_db_free(db);
	}
	test_kinds();
	test_regen();
	test_reals();
	test_limits();
	test_open_errors();
	test_readonly();
	test_concurrent();
	test_writer();
	bench();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return check_done();
}

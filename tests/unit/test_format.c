/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_format.c - the table of formats (masking/format.c): every entry
 * complete, lookups by id, name, magic and suffix, detection of real files,
 * unknown formats and forms refused cleanly, builds of every entry and
 * output form through the table, and the same builds with each allocation
 * failing in turn (alloc_fail.h).
 *
 * Works in a fresh folder under /tmp that it removes at the end.
 */
#include "format.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "alloc_fail.h"
#include "check.h"

static char tdir[64];

static void tpath(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tdir, name);
}

static void put(const char *name, const void *p, size_t len)
{
	char path[256];
	FILE *f;

	tpath(path, sizeof(path), name);
	f = fopen(path, "wb");
	if (!f || (len && fwrite(p, 1, len, f) != len)) {
		perror(path);
		exit(2);
	}
	fclose(f);
}

static int open_ro(const char *name)
{
	char path[256];

	tpath(path, sizeof(path), name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static enum view_fmt detect_bytes(const char *name, const void *p, size_t len)
{
	enum view_fmt f;
	int fd;

	put(name, p, len);
	fd = open_ro(name);
	f = view_detect(fd, name);
	close(fd);
	return f;
}

/* ---- the table ---- */

static bool lower_word(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s))
			return false;
	return true;
}

static void test_entries(void)
{
	size_t fallback = 0;

	CHECK(VIEW_FMT_COUNT > 1, "the table has formats");
	for (int i = VIEW_FMT_UNKNOWN + 1; i < VIEW_FMT_COUNT; i++) {
		const struct view_format *f = view_format_get((enum view_fmt)i);
		size_t nsfx = 0;
		bool sfx_ok = true, form_ok = true;

		CHECK(f && (int)f->id == i, "format %d has its entry", i);
		if (!f)
			continue;
		CHECK(lower_word(f->name),
		      "%d: name '%s' is one lower-case word", i,
		      f->name ? f->name : "(null)");
		CHECK(f->title && f->title[0], "%s: has a title", f->name);
		CHECK(f->suffixes != NULL, "%s: has a suffix list", f->name);
		for (const char *const *s = f->suffixes; s && *s; s++) {
			nsfx++;
			sfx_ok &= (*s)[0] == '.' && lower_word(*s + 1);
		}
		CHECK(sfx_ok, "%s: suffixes are '.word'", f->name);
		CHECK((f->magic == NULL) == (f->magic_len == 0),
		      "%s: magic and its length agree", f->name);
		if (!f->magic)
			fallback++;
		CHECK(nsfx > 0 || !f->magic, "%s: found by suffix or magic",
		      f->name);
		CHECK(f->build && f->source_open && f->sink_new,
		      "%s: build, source_open and sink_new are set", f->name);
		CHECK(!f->objects ||
			      (f->objects->list && f->objects->view_sql &&
			       f->objects->columns),
		      "%s: objects, when it has them, are complete", f->name);
		for (int k = 0; k < 32; k++)
			if (f->forms & (1u << k))
				form_ok &= k != i &&
					   view_format_get((enum view_fmt)k);
		CHECK(form_ok,
		      "%s: its forms are other formats of the table, with "
		      "a writer",
		      f->name);
		CHECK(view_format_by_name(f->name) == f,
		      "%s: found by its name", f->name);
		CHECK(!strcmp(view_fmt_name(f->id), f->name),
		      "%s: view_fmt_name gives it", f->name);
		if (f->magic)
			CHECK(view_format_by_magic(f->magic, f->magic_len) ==
					      f &&
				      !view_format_by_magic(f->magic,
							    f->magic_len - 1),
			      "%s: found by its whole magic only", f->name);
		for (const char *const *s = f->suffixes; s && *s; s++) {
			char name[64];

			snprintf(name, sizeof(name), "dir/file%s", *s);
			for (char *c = name; *c; c++)
				*c = (char)toupper((unsigned char)*c);
			/* Also: no earlier entry claims the suffix. */
			CHECK(view_format_by_suffix(name) == f,
			      "%s: found by suffix %s (any case)", f->name,
			      name);
		}
	}
	CHECK(fallback >= 1, "text formats without magic exist (the fallback)");
	for (int i = VIEW_FMT_UNKNOWN + 1; i < VIEW_FMT_COUNT; i++)
		for (int j = i + 1; j < VIEW_FMT_COUNT; j++)
			CHECK(strcmp(view_fmt_name((enum view_fmt)i),
				     view_fmt_name((enum view_fmt)j)),
			      "formats %d and %d have different names", i, j);
}

static void test_unknown(void)
{
	const struct view_format *csv = view_format_get(VIEW_FMT_CSV);
	struct view_req req = { .sub = "", .fd = -1, .limit = UINT64_MAX };
	struct spot_err err = { "" };
	struct view_out out;
	int rc;

	CHECK(!view_format_get(VIEW_FMT_UNKNOWN), "no entry for UNKNOWN");
	CHECK(!view_format_get(VIEW_FMT_COUNT), "no entry past the table");
	CHECK(!view_format_get((enum view_fmt) - 1) &&
		      !view_format_get((enum view_fmt)1000),
	      "no entry for ids out of range");
	CHECK(!view_format_by_name(NULL) && !view_format_by_name("") &&
		      !view_format_by_name("auto") &&
		      !view_format_by_name("CSV") &&
		      !view_format_by_name("xml"),
	      "unknown names (and auto, and upper case) find nothing");
	CHECK(!view_format_by_suffix(NULL) && !view_format_by_suffix("x") &&
		      !view_format_by_suffix(".csv") &&
		      !view_format_by_suffix("a.xml"),
	      "a bare suffix or an unknown one finds nothing");
	CHECK(!view_format_by_magic(NULL, 0) &&
		      !view_format_by_magic((const uint8_t *)"PAR", 3),
	      "short or no bytes match no magic");
	CHECK(!strcmp(view_fmt_name(VIEW_FMT_UNKNOWN), "unknown") &&
		      !strcmp(view_fmt_name(VIEW_FMT_COUNT), "unknown"),
	      "the name of no format is 'unknown'");

	view_out_init(&out);
	rc = view_format_build(NULL, &req, &out, &err);
	CHECK(rc == -ENOTSUP && err.msg[0] && !out.buf.len && !out.read,
	      "building an unknown format fails cleanly: %s", err.msg);
	req.form = VIEW_FMT_SQLITE;
	err.msg[0] = 0;
	rc = view_format_build(csv, &req, &out, &err);
	CHECK(rc == -ENOTSUP && strstr(err.msg, "sqlite") && !out.buf.len,
	      "a form the format has not is refused: %s", err.msg);
	req.form = VIEW_FMT_UNKNOWN;
	err.msg[0] = 0;
	rc = view_format_build(csv, &req, &out, &err);
	CHECK(rc == -ENOTSUP && err.msg[0], "form UNKNOWN is refused: %s",
	      err.msg);
	view_out_fini(&out);
}

static void test_detect(void)
{
	static const uint8_t sq[16] = "SQLite format 3";
	uint8_t sq_bad[16];

	memcpy(sq_bad, sq, 16);
	sq_bad[15] = 'x';
	CHECK(detect_bytes("a.csv", "PAR1xxxx", 8) == VIEW_FMT_PARQUET,
	      "Parquet magic wins over a .csv suffix");
	CHECK(detect_bytes("b.parquet", sq, 16) == VIEW_FMT_SQLITE,
	      "SQLite magic wins over a .parquet suffix");
	CHECK(detect_bytes("c.csv", sq_bad, 16) == VIEW_FMT_CSV,
	      "SQLite magic is all 16 bytes, NUL included");
	CHECK(detect_bytes("d.parquet", "", 0) == VIEW_FMT_PARQUET,
	      "an empty file: by suffix (.parquet)");
	CHECK(detect_bytes("e.PQ", "a,b\n", 4) == VIEW_FMT_PARQUET,
	      "suffixes ignore case (.PQ)");
	CHECK(detect_bytes("f.SQLite3", "", 0) == VIEW_FMT_SQLITE &&
		      detect_bytes("g.db", "x", 1) == VIEW_FMT_SQLITE &&
		      detect_bytes("h.sqlite", "x", 1) == VIEW_FMT_SQLITE,
	      "SQLite suffixes .db .sqlite .sqlite3");
	CHECK(detect_bytes("i.tsv", "a\tb\n", 4) == VIEW_FMT_CSV &&
		      detect_bytes("noext", "a,b\n", 4) == VIEW_FMT_CSV &&
		      detect_bytes("j.xml", "{}\n", 3) == VIEW_FMT_CSV,
	      "anything else is CSV (the fallback)");
	CHECK(detect_bytes("k.jsonl", "{}\n", 3) == VIEW_FMT_JSONL &&
		      detect_bytes("l.NDJSON", "", 0) == VIEW_FMT_JSONL &&
		      detect_bytes("m.json", "{}\n", 3) == VIEW_FMT_JSONL,
	      "JSON Lines suffixes .jsonl .ndjson .json");
	CHECK(detect_bytes("k", "PAR", 3) == VIEW_FMT_CSV,
	      "a file shorter than the magic is not Parquet");
	/* Not by name: the answer is remembered, and a SQLite file named
	 * like a CSV would stay a CSV (issue 17, fault injection). */
	CHECK(view_detect(-1, "l.parquet") == VIEW_FMT_UNKNOWN &&
		      view_detect(-1, NULL) == VIEW_FMT_UNKNOWN,
	      "an unreadable fd: no format (asked again later)");
}

/* ---- builds through the table ---- */

static const char csv_src[] = "id;secret\r\n1;\"a;b\"\r\n2;x\r\n3;y\r\n";

/* Keeps every column; counts calls and remembers the last table. */
struct bind_rec {
	struct pipe_plan plan;
	unsigned binds, mores;
	char table[32];
	size_t ncols;
};

static int rec_bind(void *arg, const char *table, const struct pipe_col *cols,
		    size_t ncols, const struct pipe_plan **plan,
		    struct spot_err *err)
{
	struct bind_rec *r = arg;

	(void)cols;
	(void)err;
	r->binds++;
	r->ncols = ncols;
	snprintf(r->table, sizeof(r->table), "%s", table ? table : "(null)");
	*plan = &r->plan;
	return 0;
}

static int rec_more(void *arg, const char *table, const struct pipe_col *cols,
		    size_t ncols, const struct pipe_plan **plan,
		    struct spot_err *err)
{
	struct bind_rec *r = arg;

	r->mores++;
	r->binds--;
	return rec_bind(arg, table, cols, ncols, plan, err);
}

/* One build: the request and what it built. */
struct build {
	enum view_fmt fmt; /* the source's */
	enum view_fmt form;
	const char *file;
	const char *sub;
	uint64_t limit;
	const struct view_sqlobj *objs;
	size_t nobjs;
	struct bind_rec rec;
	struct view_out out;
	struct spot_err err;
};

/* 0, -errno, or 1 when a success built something broken. */
static int build_run(struct build *b)
{
	char path[256];
	struct view_req req = {
		.form = b->form,
		.sub = b->sub ? b->sub : "",
		.delim = 0,
		.threads = 1,
		.limit = b->limit,
		.objs = b->objs,
		.nobjs = b->nobjs,
		.bind = rec_bind,
		.more = rec_more,
		.arg = &b->rec,
	};
	int rc;

	tpath(path, sizeof(path), b->file);
	req.path = path;
	req.fd = open_ro(b->file);
	memset(&b->rec, 0, sizeof(b->rec));
	b->err.msg[0] = 0;
	view_out_init(&b->out);
	rc = view_format_build(view_format_get(b->fmt), &req, &b->out, &b->err);
	close(req.fd);
	if (rc) {
		view_out_fini(&b->out);
		return rc;
	}
	/* A view is bytes, or a read with its free: never half of one. */
	if (b->out.read && (!b->out.free || !b->out.obj || b->out.buf.len))
		return 1;
	if (!b->out.read && (b->out.obj || b->out.free || b->out.size))
		return 1;
	return 0;
}

/* The bytes a build produced (reading the source for lazy views). */
static void build_bytes(struct build *b, struct spot_buf *out)
{
	spot_buf_init(out);
	if (!b->out.read) {
		spot_buf_append(out, b->out.buf.p, b->out.buf.len);
		return;
	}
	int fd = open_ro(b->file);

	if (!spot_buf_reserve(out, b->out.size))
		out->len = (size_t)b->out.read(b->out.obj, fd, out->p,
					       b->out.size, 0);
	close(fd);
}

static int build_op(void *arg)
{
	struct build *b = arg;
	int rc = build_run(b);

	view_out_fini(&b->out);
	return rc;
}

static void make_sqlite(void)
{
	char path[256];
	sqlite3 *db = NULL;

	tpath(path, sizeof(path), "crm.db");
	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db,
			 "CREATE TABLE users(id INTEGER, email TEXT);"
			 "INSERT INTO users VALUES (1,'a@x.org'),(2,'b@y.org');"
			 "CREATE TABLE orders(id INTEGER, user INTEGER);"
			 "INSERT INTO orders VALUES (10,1);"
			 "CREATE VIEW v AS SELECT email FROM users;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "cannot make %s\n", path);
		exit(2);
	}
	sqlite3_close(db);
}

static void test_sqlite_objects(void)
{
	static const struct view_sqlobj objs[] = {
		{ "orders", NULL, NULL },
		{ "users", NULL, NULL },
	};
	const struct view_format *f = view_format_get(VIEW_FMT_SQLITE);
	struct build b = { .fmt = VIEW_FMT_SQLITE,
			   .form = VIEW_FMT_SQLITE,
			   .file = "crm.db",
			   .limit = UINT64_MAX,
			   .objs = objs,
			   .nobjs = 2 };
	struct spot_err err = { "" };
	struct pipe_col *cols = NULL;
	unsigned *kinds = NULL;
	char path[256], **names = NULL, *sql = NULL;
	size_t n = 0, ncols = 0;
	int rc;

	struct view_source src = { NULL, NULL, NULL, NULL };
	struct view_sink sink = { NULL, NULL, NULL, NULL };
	struct view_req sreq = { .fd = -1, .sub = "" };

	CHECK(f->source_open(&sreq, &src, &err) == -ENOTSUP && !src.ops &&
		      f->sink_new(NULL, &sink, &err) == -ENOTSUP && !sink.ops,
	      "SQLite: no row source, no writer (its build reads tables)");
	CHECK(!view_format_get(VIEW_FMT_CSV)->objects &&
		      !view_format_get(VIEW_FMT_PARQUET)->objects && f->objects,
	      "only SQLite holds objects");
	tpath(path, sizeof(path), "crm.db");
	rc = f->objects->list(path, &names, &kinds, &n, &err);
	CHECK(rc == 0 && n == 4 && !strcmp(names[0], "orders") &&
		      kinds[0] == VIEW_SQL_TABLE &&
		      !strcmp(names[1], "sqlite_schema") &&
		      kinds[1] == VIEW_SQL_INTERNAL &&
		      !strcmp(names[2], "users") &&
		      kinds[2] == VIEW_SQL_TABLE && !strcmp(names[3], "v") &&
		      kinds[3] == VIEW_SQL_VIEW,
	      "objects: tables and views, sorted, with their kinds");
	if (names)
		view_names_free(names, n);
	free(kinds);
	rc = f->objects->view_sql(path, "V", &sql, &err);
	CHECK(rc == 0 && sql && strstr(sql, "SELECT email FROM users"),
	      "objects: a view's SELECT, its name matched ignoring case");
	free(sql);
	sql = NULL;
	rc = f->objects->view_sql(path, "users", &sql, &err);
	CHECK(rc == -ENOENT && !sql, "objects: a table has no SELECT");
	rc = f->objects->columns(path, objs, 2, &cols, &ncols, &err);
	CHECK(rc == 0 && ncols == 4 && !strcmp(cols[0].name, "id") &&
		      !strcmp(cols[1].name, "user") &&
		      !strcmp(cols[3].name, "email"),
	      "objects: the columns of all tables one after the other");
	view_cols_free(cols, ncols);
	cols = NULL;
	rc = f->objects->columns(path, objs, 0, &cols, &ncols, &err);
	CHECK(rc == 0 && cols && ncols == 0, "objects: no table, no column, "
					     "not NULL");
	view_cols_free(cols, ncols);

	b.sub = "users";
	rc = build_run(&b);
	CHECK(rc == 0 && b.out.buf.len &&
		      !strncmp((char *)b.out.buf.p,
			       "id,email\n1,a@x.org\n2,b@y.org\n",
			       b.out.buf.len) &&
		      !strcmp(b.rec.table, "users"),
	      "SQLite table as CSV through the table, bound as 'users'");
	view_out_fini(&b.out);
	b.sub = "nope";
	rc = build_run(&b);
	CHECK(rc == -ENOENT && strstr(b.err.msg, "nope"),
	      "a table the dataset does not serve: %s", b.err.msg);
	b.sub = "";
	rc = build_run(&b);
	CHECK(rc == 0 && b.out.buf.len > 100 &&
		      !memcmp(b.out.buf.p, "SQLite format 3", 16) &&
		      b.rec.binds == 2,
	      "SQLite as SQLite: a database of both tables");
	view_out_fini(&b.out);
	b.form = VIEW_FMT_CSV;
	rc = build_run(&b);
	CHECK(rc == -ENOTSUP, "SQLite has no converted form");
}

static void test_builds(void)
{
	struct build b = { .fmt = VIEW_FMT_CSV,
			   .form = VIEW_FMT_CSV,
			   .file = "src.csv",
			   .limit = UINT64_MAX };
	struct spot_buf bytes;
	int rc;

	put("src.csv", csv_src, sizeof(csv_src) - 1);
	rc = build_run(&b);
	CHECK(rc == 0 && b.out.buf.len == sizeof(csv_src) - 1 &&
		      !memcmp(b.out.buf.p, csv_src, b.out.buf.len) &&
		      !b.out.read && b.out.rows_in == 3 && b.out.rows_out == 3,
	      "CSV as CSV through the table: the same bytes (dialect kept)");
	CHECK(b.rec.binds == 1 && !strcmp(b.rec.table, "(null)") &&
		      b.rec.ncols == 2,
	      "CSV binds one plan, table NULL, over its 2 columns");
	view_out_fini(&b.out);

	{
		/* What a new format's entry would use: source -> own sink. */
		struct view_req req = { .form = VIEW_FMT_CSV,
					.sub = "",
					.threads = 1,
					.limit = UINT64_MAX,
					.bind = rec_bind,
					.more = rec_more,
					.arg = &b.rec };
		struct view_out out;

		req.fd = open_ro("src.csv");
		view_out_init(&out);
		rc = view_build_rows(view_format_get(VIEW_FMT_CSV), &req, &out,
				     &b.err);
		close(req.fd);
		CHECK(rc == 0 && out.buf.len == sizeof(csv_src) - 1 &&
			      !memcmp(out.buf.p, csv_src, out.buf.len) &&
			      out.rows_out == 3,
		      "view_build_rows: CSV source into CSV sink, the same "
		      "bytes");
		view_out_fini(&out);
	}
	b.form = VIEW_FMT_PARQUET;
	rc = build_run(&b);
	CHECK(rc == 0 && b.out.buf.len > 8 && !memcmp(b.out.buf.p, "PAR1", 4) &&
		      !memcmp(b.out.buf.p + b.out.buf.len - 4, "PAR1", 4),
	      "CSV as Parquet through the table: a Parquet file");
	put("src.parquet", b.out.buf.p, b.out.buf.len);
	view_out_fini(&b.out);

	b = (struct build){ .fmt = VIEW_FMT_PARQUET,
			    .form = VIEW_FMT_PARQUET,
			    .file = "src.parquet",
			    .limit = UINT64_MAX };
	rc = build_run(&b);
	build_bytes(&b, &bytes);
	CHECK(rc == 0 && b.out.read && b.out.size == bytes.len &&
		      bytes.len > 8 && !memcmp(bytes.p, "PAR1", 4) &&
		      b.out.rows_in == 3 && b.out.mem >= 1,
	      "Parquet as Parquet: a view read from the source, %zu bytes",
	      bytes.len);
	spot_buf_fini(&bytes);
	view_out_fini(&b.out);

	b.form = VIEW_FMT_CSV;
	rc = build_run(&b);
	CHECK(rc == 0 && b.out.buf.len &&
		      !memcmp(b.out.buf.p, "id,secret\n", 10) &&
		      strstr((char *)b.out.buf.p, "\"a;b\"") == NULL &&
		      b.out.rows_out == 3,
	      "Parquet as CSV: the rows as CSV");
	view_out_fini(&b.out);
	b.limit = 1;
	rc = build_run(&b);
	CHECK(rc == 0 && b.out.buf.len == strlen("id,secret\n1,a;b\n") &&
		      !memcmp(b.out.buf.p, "id,secret\n1,a;b\n", b.out.buf.len),
	      "Parquet as CSV, limit 1: header and one row");
	view_out_fini(&b.out);
	b.limit = 0;
	rc = build_run(&b);
	CHECK(rc == 0 && b.out.buf.len == 0, "limit 0: nothing at all");
	view_out_fini(&b.out);
	b.form = VIEW_FMT_SQLITE;
	rc = build_run(&b);
	CHECK(rc == -ENOTSUP, "Parquet as SQLite is refused");

	make_sqlite();
	test_sqlite_objects();
}

/* An emit target for streamed builds. */
struct sbuf {
	struct spot_buf b;
	unsigned writes;
};

static int sbuf_emit(void *arg, const void *p, size_t len)
{
	struct sbuf *t = arg;

	t->writes++;
	return spot_buf_append(&t->b, p, len);
}

static int sbuf_rewind(void *arg)
{
	((struct sbuf *)arg)->b.len = 0;
	return 0;
}

/*
 * fmt as form, streamed from byte `after` on: the emitted bytes followed
 * by the tail in out.buf must be want, and the view holds no reader.
 */
static bool streamed_same(enum view_fmt fmt, enum view_fmt form,
			  const char *file, uint64_t after,
			  const struct spot_buf *want, unsigned *writes)
{
	struct bind_rec rec;
	struct sbuf t;
	struct view_out out;
	struct spot_err err = { "" };
	struct view_req req = { .form = form,
				.sub = "",
				.threads = 2,
				.limit = UINT64_MAX,
				.bind = rec_bind,
				.more = rec_more,
				.arg = &rec,
				.emit = sbuf_emit,
				.emit_rewind = sbuf_rewind,
				.emit_arg = &t,
				.emit_after = after };
	bool ok;
	int rc;

	memset(&rec, 0, sizeof(rec));
	memset(&t, 0, sizeof(t));
	spot_buf_init(&t.b);
	view_out_init(&out);
	req.fd = open_ro(file);
	rc = view_format_build(view_format_get(fmt), &req, &out, &err);
	close(req.fd);
	ok = rc == 0 && !out.read &&
	     !spot_buf_append(&t.b, out.buf.p, out.buf.len) &&
	     t.b.len == want->len && !memcmp(t.b.p, want->p, want->len);
	*writes = t.writes;
	view_out_fini(&out);
	spot_buf_fini(&t.b);
	return ok;
}

/* A SQLite table as CSV streams like a conversion. */
static void test_streamed_sqlite(void)
{
	static const struct view_sqlobj objs[] = { { "big", NULL, NULL } };
	struct build b = { .fmt = VIEW_FMT_SQLITE,
			   .form = VIEW_FMT_SQLITE,
			   .file = "big.db",
			   .sub = "big",
			   .limit = UINT64_MAX,
			   .objs = objs,
			   .nobjs = 1 };
	struct spot_buf csv;
	struct bind_rec rec;
	struct sbuf t;
	struct view_out out;
	struct spot_err err = { "" };
	struct view_req req = { .form = VIEW_FMT_SQLITE,
				.sub = "big",
				.threads = 1,
				.limit = UINT64_MAX,
				.objs = objs,
				.nobjs = 1,
				.bind = rec_bind,
				.more = rec_more,
				.arg = &rec,
				.emit = sbuf_emit,
				.emit_arg = &t,
				.emit_after = 0 };
	char path[256];
	sqlite3 *db = NULL;
	int rc;

	tpath(path, sizeof(path), "big.db");
	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db,
			 "CREATE TABLE big(id INTEGER, note TEXT);"
			 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT "
			 "i + 1 FROM n WHERE i < 200000) INSERT INTO big "
			 "SELECT i, 'note ' || i FROM n;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		CHECK(0, "make big.db");
		sqlite3_close(db);
		return;
	}
	sqlite3_close(db);
	CHECK(build_run(&b) == 0 && !b.out.read,
	      "SQLite table as CSV, in memory (%s)", b.err.msg);
	build_bytes(&b, &csv);
	view_out_fini(&b.out);
	memset(&rec, 0, sizeof(rec));
	memset(&t, 0, sizeof(t));
	spot_buf_init(&t.b);
	view_out_init(&out);
	req.path = path;
	req.fd = open_ro("big.db");
	rc = view_format_build(view_format_get(VIEW_FMT_SQLITE), &req, &out,
			       &err);
	close(req.fd);
	CHECK(rc == 0 && t.writes >= 2 &&
		      !spot_buf_append(&t.b, out.buf.p, out.buf.len) &&
		      t.b.len == csv.len && !memcmp(t.b.p, csv.p, csv.len),
	      "SQLite table as CSV streamed: the same bytes (%u writes, %s)",
	      t.writes, err.msg);
	view_out_fini(&out);
	spot_buf_fini(&t.b);
	spot_buf_fini(&csv);
}

/*
 * Conversions and Parquet views past the memory budget stream their bytes
 * (issue 12): the same file, whenever streaming starts, in bounded memory.
 */
static void test_streamed(void)
{
	struct build b = { .fmt = VIEW_FMT_CSV,
			   .form = VIEW_FMT_PARQUET,
			   .file = "big.csv",
			   .limit = UINT64_MAX };
	struct spot_buf src, pq, csv, view;
	unsigned writes = 0;

	spot_buf_init(&src);
	spot_buf_printf(&src, "id,secret,note\n");
	for (int i = 0; i < 300000; i++)
		spot_buf_printf(&src, "%d,s%d,note %d\n", i, i * 7, i % 97);
	put("big.csv", src.p, src.len);
	spot_buf_fini(&src);
	CHECK(build_run(&b) == 0, "CSV as Parquet, in memory (%s)", b.err.msg);
	build_bytes(&b, &pq);
	view_out_fini(&b.out);
	CHECK(streamed_same(VIEW_FMT_CSV, VIEW_FMT_PARQUET, "big.csv", 0, &pq,
			    &writes) &&
		      writes >= 3,
	      "CSV as Parquet streamed from the first row group: the same "
	      "file (%u writes)",
	      writes);
	CHECK(streamed_same(VIEW_FMT_CSV, VIEW_FMT_PARQUET, "big.csv",
			    pq.len / 2, &pq, &writes) &&
		      writes >= 1,
	      "CSV as Parquet streamed from half way: the same file");
	CHECK(streamed_same(VIEW_FMT_CSV, VIEW_FMT_PARQUET, "big.csv",
			    UINT64_MAX, &pq, &writes) &&
		      writes == 0,
	      "within the room nothing is streamed");
	put("big.parquet", pq.p, pq.len);
	b = (struct build){ .fmt = VIEW_FMT_PARQUET,
			    .form = VIEW_FMT_CSV,
			    .file = "big.parquet",
			    .limit = UINT64_MAX };
	CHECK(build_run(&b) == 0, "Parquet as CSV, in memory");
	build_bytes(&b, &csv);
	view_out_fini(&b.out);
	CHECK(streamed_same(VIEW_FMT_PARQUET, VIEW_FMT_CSV, "big.parquet", 0,
			    &csv, &writes) &&
		      writes >= 3,
	      "Parquet as CSV streamed: the same bytes (%u writes)", writes);
	b.form = VIEW_FMT_PARQUET;
	CHECK(build_run(&b) == 0 && b.out.read, "Parquet view, in memory");
	build_bytes(&b, &view);
	view_out_fini(&b.out);
	/* Nothing masked: no rebuilt chunk in memory, nothing to stream
	 * (masked views stream: unit parquet). */
	CHECK(!streamed_same(VIEW_FMT_PARQUET, VIEW_FMT_PARQUET, "big.parquet",
			     0, &view, &writes) &&
		      writes == 0,
	      "a Parquet view with no rebuilt chunk reads the source, "
	      "never streamed");
	spot_buf_fini(&pq);
	spot_buf_fini(&csv);
	spot_buf_fini(&view);
	test_streamed_sqlite();
}

static void test_oom(void)
{
	static const struct view_sqlobj objs[] = {
		{ "orders", NULL, NULL },
		{ "users", NULL, NULL },
	};
	struct build b = { .fmt = VIEW_FMT_CSV,
			   .form = VIEW_FMT_CSV,
			   .file = "src.csv",
			   .limit = UINT64_MAX };

	alloc_fail_loop("CSV as CSV", build_op, &b);
	b.form = VIEW_FMT_PARQUET;
	alloc_fail_loop("CSV as Parquet", build_op, &b);
	b.fmt = VIEW_FMT_PARQUET;
	b.file = "src.parquet";
	alloc_fail_loop("Parquet as Parquet", build_op, &b);
	b.form = VIEW_FMT_CSV;
	alloc_fail_loop("Parquet as CSV", build_op, &b);
	b.fmt = b.form = VIEW_FMT_SQLITE;
	b.file = "crm.db";
	b.objs = objs;
	b.nobjs = 2;
	b.sub = "users";
	alloc_fail_loop("SQLite table as CSV", build_op, &b);
	b.sub = "";
	alloc_fail_loop("SQLite database", build_op, &b);
}

int main(void)
{
	char cmd[128];

	snprintf(tdir, sizeof(tdir), "/tmp/spot_fmt_XXXXXX");
	if (!mkdtemp(tdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_entries();
	test_unknown();
	test_detect();
	test_builds();
	test_streamed();
	test_oom();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", tdir);
	return check_done();
}

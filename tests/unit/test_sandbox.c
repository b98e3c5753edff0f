/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_sandbox.c - fs/sandbox*.c without FUSE: formats from the config or
 * detected, converted forms and their names, the tables of a SQLite
 * dataset, views of every format and form built through the table of
 * formats, a view read from the source failing once the source changes,
 * an unknown or missing dataset failing cleanly, and every build with each
 * allocation failing in turn: a failure never yields a view with a NULL
 * callback (alloc_fail.h).
 *
 * Works in a fresh folder under /tmp that it removes at the end.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "alloc_fail.h"
#include "check.h"
#include "format.h"

static char tdir[64];

static void put(const char *rel, const void *p, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tdir, rel);
	f = fopen(path, "wb");
	if (!f || (len && fwrite(p, 1, len, f) != len)) {
		perror(path);
		exit(2);
	}
	fclose(f);
}

static const char people[] = "id,email\n1,ann@example.com\n2,bob@x.org\n";

/* A Parquet file of people, made through the table (CSV as Parquet). */
static int keep_all(void *arg, const char *table, const struct pipe_col *cols,
		    size_t ncols, const struct pipe_plan **plan,
		    struct spot_err *err)
{
	static const struct pipe_plan none = { 0 };

	(void)arg;
	(void)table;
	(void)cols;
	(void)ncols;
	(void)err;
	*plan = &none;
	return 0;
}

static void make_sources(void)
{
	struct view_req req = { .form = VIEW_FMT_PARQUET,
				.sub = "",
				.threads = 1,
				.limit = UINT64_MAX,
				.bind = keep_all,
				.more = keep_all };
	struct spot_err err = { "" };
	struct view_out out;
	char path[256];
	sqlite3 *db = NULL;

	put("src/p.csv", people, sizeof(people) - 1);
	snprintf(path, sizeof(path), "%s/src/p.csv", tdir);
	req.fd = open(path, O_RDONLY | O_CLOEXEC);
	view_out_init(&out);
	if (view_format_build(view_format_get(VIEW_FMT_CSV), &req, &out,
			      &err)) {
		fprintf(stderr, "cannot make Parquet: %s\n", err.msg);
		exit(2);
	}
	close(req.fd);
	put("src/x.parquet", out.buf.p, out.buf.len);
	put("src/data.bin", out.buf.p, out.buf.len);
	view_out_fini(&out);
	snprintf(path, sizeof(path), "%s/src/crm.db", tdir);
	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db,
			 "CREATE TABLE users(id INTEGER, email TEXT);"
			 "INSERT INTO users VALUES (1,'a@x.org');"
			 "CREATE TABLE orders(id INTEGER, total REAL);"
			 "CREATE TABLE \"ann.lee@example.com\"(id INTEGER);"
			 "CREATE TABLE \"415-555-0142\"(id INTEGER);",
			 NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "cannot make %s\n", path);
		exit(2);
	}
	sqlite3_close(db);
}

static const char yaml[] =
	"source: src\n"
	"datasets:\n"
	"  p.csv:\n"
	"    as: [native, parquet]\n"
	"    columns: { id: keep, email: hash }\n"
	"  x.parquet: { as: [csv], unlisted_columns: keep }\n"
	"  data.bin: { format: parquet, unlisted_columns: keep }\n"
	"  crm.db:\n"
	"    tables: all\n"
	"    unlisted_columns: keep\n"
	"    columns: { email: redact }\n"
	"  gone.csv: {}\n";

static struct sbx *new_sandbox(void)
{
	struct spot_err err = { "" };
	struct cfg *c = NULL;
	struct sbx *s = NULL;
	char path[256];

	snprintf(path, sizeof(path), "%s/c.yaml", tdir);
	put("c.yaml", yaml, strlen(yaml));
	if (cfg_load(path, &c, &err) || sbx_new(c, &s, &err)) {
		fprintf(stderr, "sandbox: %s\n", err.msg);
		exit(2);
	}
	s->warn = NULL;
	return s;
}

static const struct cfg_dataset *ds(struct sbx *s, const char *name)
{
	return cfg_dataset_find(s->cfg, name);
}

static void test_formats(struct sbx *s)
{
	char buf[256], **names = NULL;
	const char *form = NULL;
	struct spot_err err = { "" };
	bool self = false;
	size_t n = 0, withheld = 0;
	unsigned kinds = 0;

	CHECK(sbx_format(s, ds(s, "p.csv")) == VIEW_FMT_CSV &&
		      sbx_format(s, ds(s, "x.parquet")) == VIEW_FMT_PARQUET &&
		      sbx_format(s, ds(s, "crm.db")) == VIEW_FMT_SQLITE,
	      "formats detected");
	CHECK(sbx_format(s, ds(s, "data.bin")) == VIEW_FMT_PARQUET,
	      "format: from the config");
	CHECK(sbx_format(s, ds(s, "gone.csv")) == VIEW_FMT_UNKNOWN,
	      "a missing file has no format (yet)");
	CHECK(sbx_has_objects(s, ds(s, "crm.db")) &&
		      !sbx_has_objects(s, ds(s, "p.csv")) &&
		      !sbx_has_objects(s, ds(s, "gone.csv")),
	      "only the database holds objects");
	CHECK(!strcmp(sbx_form(s, ds(s, "p.csv"), &self), "parquet") && self,
	      "p.csv is also served as parquet, and as itself");
	CHECK(!strcmp(sbx_form(s, ds(s, "x.parquet"), &self), "csv") && !self,
	      "x.parquet only as csv (native not listed)");
	CHECK(!sbx_form(s, ds(s, "crm.db"), &self) && self,
	      "a database has no converted form");
	CHECK(!sbx_form_name(s, ds(s, "p.csv"), &form, buf, sizeof(buf)) &&
		      !strcmp(form, "parquet") && !strcmp(buf, "p.parquet"),
	      "the form's name: p.parquet");
	CHECK(!sbx_form_name(s, ds(s, "x.parquet"), &form, buf, sizeof(buf)) &&
		      !strcmp(buf, "x.csv"),
	      "the form's name: x.csv");
	CHECK(sbx_form_name(s, ds(s, "data.bin"), &form, buf, sizeof(buf)) ==
		      -ENOENT,
	      "no as: no form name");
	sbx_sqlite_dirname(ds(s, "crm.db"), buf, sizeof(buf));
	CHECK(!strcmp(buf, "crm"), "the database's folder: crm");
	sbx_sqlite_dirname(ds(s, "data.bin"), buf, sizeof(buf));
	CHECK(!strcmp(buf, "data.bin.d"), "without a database suffix: NAME.d");
	CHECK(!sbx_sqlite_objs(s, ds(s, "crm.db"), &names, &n, &withheld,
			       &kinds, &err) &&
		      n == 2 && !strcmp(names[0], "orders") &&
		      !strcmp(names[1], "users"),
	      "tables: all lists the ordinary tables (%s)", err.msg);
	CHECK(withheld == 2 && kinds == (MSK_PII_EMAIL | MSK_PII_PHONE),
	      "tables named like an e-mail address or a phone number are "
	      "left out (%zu, %x)",
	      withheld, kinds);
	sbx_names_free(names, n);
	CHECK(sbx_sqlite_withheld(s, ds(s, "crm.db"), buf, sizeof(buf)) == 2 &&
		      strstr(buf, "crm.db: 2 tables or views have a name") &&
		      !strstr(buf, "example") && !strstr(buf, "0142"),
	      "the message counts them, naming none: %s", buf);
	CHECK(sbx_sqlite_objs(s, ds(s, "p.csv"), &names, &n, NULL, NULL,
			      &err) == -ENOTDIR &&
		      !names && !n,
	      "a CSV has no tables: %s", err.msg);
}

/* The bytes of a built view. */
static size_t view_read(struct vc_content *v, char *buf, size_t len)
{
	ssize_t n = v->read(v->obj, buf, len < v->size ? len : v->size, 0);

	return n < 0 ? 0 : (size_t)n;
}

static void test_builds(struct sbx *s)
{
	struct spot_err err = { "" };
	struct vc_content v;
	struct spot_buf csv;
	char buf[4096];
	size_t n;
	int rc;

	err.msg[0] = 0;
	rc = sbx_build(s, ds(s, "p.csv"), "", "guest", &v, &err);
	n = rc ? 0 : view_read(&v, buf, sizeof(buf));
	CHECK(rc == 0 && n == v.size && !strncmp(buf, "id,email\n1,", 11) &&
		      !memmem(buf, n, "ann@", 4) && v.src_mtime.tv_sec &&
		      v.rows_in == 2,
	      "p.csv: masked CSV (%s)", err.msg);
	if (!rc)
		v.free(v.obj);
	err.msg[0] = 0;
	rc = sbx_build(s, ds(s, "p.csv"), "parquet", "guest", &v, &err);
	n = rc ? 0 : view_read(&v, buf, sizeof(buf));
	CHECK(rc == 0 && n > 8 && !memcmp(buf, "PAR1", 4) &&
		      !memmem(buf, n, "ann@", 4),
	      "p.csv as parquet (%s)", err.msg);
	if (!rc)
		v.free(v.obj);
	err.msg[0] = 0;
	rc = sbx_build(s, ds(s, "p.csv"), "sqlite", "guest", &v, &err);
	CHECK(rc == -ENOTSUP && strstr(err.msg, "p.csv as sqlite: "),
	      "a form the format has not: %s", err.msg);
	err.msg[0] = 0;
	rc = sbx_build(s, ds(s, "p.csv"), "nope", "guest", &v, &err);
	CHECK(rc == -ENOENT && strstr(err.msg, "no such form"),
	      "no such form: %s", err.msg);

	err.msg[0] = 0;
	rc = sbx_build(s, ds(s, "x.parquet"), "", "guest", &v, &err);
	n = rc ? 0 : view_read(&v, buf, sizeof(buf));
	CHECK(rc == 0 && v.check && n == v.size && !memcmp(buf, "PAR1", 4) &&
		      v.check(v.obj) == 0 && v.src_mtime.tv_sec && v.mem >= 1 &&
		      !v.data,
	      "x.parquet: a view read from the source (%s)", err.msg);
	if (!rc) {
		/* Rewritten in place: the view reads no more of it. */
		char path[256];
		int fd;

		snprintf(path, sizeof(path), "%s/src/x.parquet", tdir);
		fd = open(path, O_WRONLY | O_APPEND);
		if (fd >= 0 && write(fd, "!", 1) == 1)
			CHECK(v.check(v.obj) == -ESTALE &&
				      v.read(v.obj, buf, 4, 0) == -ESTALE,
			      "a changed source: check and read say ESTALE");
		if (fd >= 0)
			close(fd);
		v.free(v.obj);
		make_sources(); /* as it was */
	}
	err.msg[0] = 0;
	rc = sbx_build(s, ds(s, "x.parquet"), "csv", "guest", &v, &err);
	n = rc ? 0 : view_read(&v, buf, sizeof(buf));
	CHECK(rc == 0 && n == strlen(people) && !memcmp(buf, people, n),
	      "x.parquet as csv: all rows, kept (%s)", err.msg);
	if (!rc)
		v.free(v.obj);
	spot_buf_init(&csv);
	err.msg[0] = 0;
	rc = sbx_csv_rows(s, ds(s, "data.bin"), "guest", 1, &csv, &err);
	CHECK(rc == 0 && csv.len == strlen("id,email\n1,ann@example.com\n") &&
		      !memcmp(csv.p, "id,email\n1,ann@example.com\n", csv.len),
	      "sbx_csv_rows: the first row of a Parquet dataset (%s)", err.msg);
	spot_buf_fini(&csv);

	err.msg[0] = 0;
	rc = sbx_build(s, ds(s, "crm.db"), "users", "guest", &v, &err);
	n = rc ? 0 : view_read(&v, buf, sizeof(buf));
	CHECK(rc == 0 && n == strlen("id,email\n1,[REDACTED]\n") &&
		      !memcmp(buf, "id,email\n1,[REDACTED]\n", n) &&
		      !v.src_mtime.tv_sec,
	      "crm.db/users: a table as CSV, email redacted (%s)", err.msg);
	if (!rc)
		v.free(v.obj);
	err.msg[0] = 0;
	rc = sbx_build(s, ds(s, "crm.db"), "", "guest", &v, &err);
	n = rc ? 0 : view_read(&v, buf, sizeof(buf));
	CHECK(rc == 0 && n > 100 && !memcmp(buf, "SQLite format 3", 16),
	      "crm.db: the masked database (%s)", err.msg);
	if (!rc)
		v.free(v.obj);
	err.msg[0] = 0;
	rc = sbx_build(s, ds(s, "crm.db"), "nope", "guest", &v, &err);
	CHECK(rc == -ENOENT && strstr(err.msg, "crm.db/nope: no table"),
	      "a table the database does not serve: %s", err.msg);
	err.msg[0] = 0;
	rc = sbx_build(s, ds(s, "gone.csv"), "", "guest", &v, &err);
	CHECK(rc == -ENOENT && !strcmp(err.msg, "gone.csv: cannot open the "
						"source file"),
	      "a missing dataset fails cleanly: %s", err.msg);
}

struct oom_build {
	struct sbx *s;
	const char *ds;
	const char *sub;
};

/* 1 when a build succeeded with a view that cannot be read whole. */
static int oom_op(void *arg)
{
	struct oom_build *o = arg;
	struct spot_err err = { "" };
	struct vc_content v;
	char *buf;
	int rc;

	memset(&v, 0, sizeof(v));
	rc = sbx_build(o->s, ds(o->s, o->ds), o->sub, "guest", &v, &err);
	if (rc)
		return err.msg[0] ? rc : 1;
	if (!v.read || !v.free || !v.obj)
		return 1;
	buf = __real_malloc(v.size + 1); /* never failed */
	rc = buf && v.read(v.obj, buf, v.size, 0) == (ssize_t)v.size ? 0 : 1;
	free(buf);
	v.free(v.obj);
	return rc;
}

static void test_oom(struct sbx *s)
{
	static const char *const cases[][2] = {
		{ "p.csv", "" },       { "p.csv", "parquet" },
		{ "x.parquet", "" },   { "x.parquet", "csv" },
		{ "crm.db", "users" }, { "crm.db", "" },
	};

	/*
	 * The tables of a database are listed once per sandbox and the
	 * result kept, a failure too (the daemon lists them at the first
	 * lookup, before any build): listed here, outside the loops.
	 */
	CHECK(sbx_sqlite_objs_cached(s, ds(s, "crm.db")) != NULL,
	      "crm.db listed");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct oom_build o = { s, cases[i][0], cases[i][1] };
		char what[64];

		snprintf(what, sizeof(what), "sbx_build %s%s%s", o.ds,
			 o.sub[0] ? " " : "", o.sub);
		alloc_fail_loop(what, oom_op, &o);
	}
}

int main(void)
{
	char cmd[128];
	struct sbx *s;

	snprintf(tdir, sizeof(tdir), "/tmp/spot_sbx_XXXXXX");
	if (!mkdtemp(tdir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(cmd, sizeof(cmd), "%s/src", tdir);
	mkdir(cmd, 0755);
	make_sources();
	s = new_sandbox();
	test_formats(s);
	test_builds(s);
	sbx_free(s);
	/* Sources as they were (the ESTALE test appended to one). */
	make_sources();
	s = new_sandbox();
	test_oom(s);
	sbx_free(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", tdir);
	return check_done();
}

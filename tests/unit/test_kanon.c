/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_kanon.c - policy/plan_kanon.c, k_anonymity in the plan: a CSV is
 * built through the table of formats twice (count, then filter) and the
 * served rows are checked. Covers classes over masked values, the fail-
 * closed paths (no counts, a view never counted, rows the count never
 * saw) and a counting build bound twice (a retry) counting from zero.
 *
 * Works in a fresh folder under /tmp that it removes at the end.
 */
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "format.h"

static char tdir[64];
static struct msk_keys *keys;

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	f = fopen(path, "wb");
	if (!f || fputs(text, f) < 0) {
		perror(path);
		exit(2);
	}
	fclose(f);
}

static struct cfg *load(const char *yaml)
{
	struct spot_err err = { "" };
	struct cfg *c = NULL;
	char path[256];

	put("c.yaml", yaml);
	snprintf(path, sizeof(path), "%s/c.yaml", tdir);
	if (cfg_load(path, &c, &err)) {
		CHECK(0, "config loads: %s", err.msg);
		return NULL;
	}
	return c;
}

struct bind {
	struct plan_env env;
	const struct cfg_dataset *d;
	const char *view; /* the name bound (a view's key in the counts) */
	struct plan *plans[4];
	size_t nplans;
};

static int bind_cb(void *arg, const char *table, const struct pipe_col *cols,
		   size_t ncols, const struct pipe_plan **plan,
		   struct spot_err *err)
{
	struct bind *b = arg;
	struct plan *p = NULL;
	int rc;

	(void)table;
	if (b->nplans == 4)
		return -ENOSPC;
	rc = plan_bind(&b->env, b->d, NULL, "default", b->view, cols, ncols, &p,
		       err);
	if (rc)
		return rc;
	b->plans[b->nplans++] = p;
	*plan = plan_pipe(p);
	return 0;
}

/* Build data.csv through b; the served CSV (malloc'd) or NULL, *rc. */
static char *build(struct bind *b, int *rc, struct spot_err *err)
{
	struct view_req req = { .form = VIEW_FMT_CSV,
				.sub = "",
				.threads = 1,
				.limit = UINT64_MAX,
				.bind = bind_cb,
				.more = bind_cb,
				.arg = b };
	struct view_out out;
	char path[256], *text = NULL;

	snprintf(path, sizeof(path), "%s/data/data.csv", tdir);
	req.fd = open(path, O_RDONLY | O_CLOEXEC);
	view_out_init(&out);
	err->msg[0] = 0;
	*rc = view_format_build(view_format_get(VIEW_FMT_CSV), &req, &out, err);
	close(req.fd);
	if (!*rc && (text = malloc(out.buf.len + 1))) {
		memcpy(text, out.buf.p, out.buf.len);
		text[out.buf.len] = 0;
	}
	view_out_fini(&out);
	for (size_t i = 0; i < b->nplans; i++)
		plan_free(b->plans[i]);
	b->nplans = 0;
	return text;
}

static size_t lines(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static const char config[] =
	"source: data\n"
	"datasets:\n"
	"  data.csv:\n"
	"    k_anonymity: { quasi: [zip, age], k: 3 }\n"
	"    columns:\n"
	"      id: keep\n"
	"      zip: { method: generalize, to: prefix, keep: 3 }\n"
	"      age: { method: generalize, to: range, step: 10 }\n";

/* Classes as served: (941**, 30-39) x3, (941**, 40-49) x2, (100**, ..) x1. */
static const char data[] = "id,zip,age\n"
			   "1,94107,31\n"
			   "2,94110,35\n"
			   "3,94103,39\n"
			   "4,94107,41\n"
			   "5,94107,42\n"
			   "6,10001,50\n";

static void test_filter(void)
{
	struct cfg *c = load(config);
	struct spot_err err;
	struct plan_kanon *k = NULL;
	struct bind b = { .env = { .cfg = c, .keys = keys },
			  .view = "data.csv" };
	char *out;
	int rc;

	if (!c)
		return;
	b.d = cfg_dataset_find(c, "data.csv");
	out = build(&b, &rc, &err);
	CHECK(rc == -EIO && !out && strstr(err.msg, "two-pass"),
	      "without counts the plan does not bind (fail closed): %s",
	      err.msg);
	free(out);

	CHECK(plan_kanon_new(&k) == 0, "counts");
	b.env.kanon = k;
	out = build(&b, &rc, &err);
	CHECK(rc == 0 && lines(out) == 1, "counting serves no row (%d)", rc);
	free(out);
	/* A retry of the count binds again: it must count from zero, or
	 * classes would look twice their size. */
	out = build(&b, &rc, &err);
	free(out);
	plan_kanon_filter(k);
	out = build(&b, &rc, &err);
	CHECK(rc == 0 && out && lines(out) == 4,
	      "only the class of 3 is served (%d, %zu lines)", rc, lines(out));
	CHECK(out && strstr(out, "941**,30-39") && !strstr(out, "40-49") &&
		      !strstr(out, "100**"),
	      "classes are over the served values: %s", out ? out : "");
	CHECK(plan_kanon_suppressed(k) == 3, "3 rows not served (%llu)",
	      (unsigned long long)plan_kanon_suppressed(k));
	free(out);

	/* A row served with other quasi cells than the count classed it
	 * by, or one the count never saw: the build fails, nothing is
	 * served. */
	put("data/data.csv", "id,zip,age\n7,77777,77\n2,94110,35\n"
			     "3,94103,39\n4,94107,41\n");
	out = build(&b, &rc, &err);
	CHECK(rc == -EIO && !out &&
		      strstr(err.msg, "row 1: the row filter or a quasi"),
	      "a row the count saw in another class fails the build (%s)",
	      err.msg);
	free(out);
	/* A row of a class under k is not served, whatever it holds now. */
	put("data/data.csv", "id,zip,age\n1,94107,31\n2,94110,35\n"
			     "3,94103,39\n7,77777,77\n");
	out = build(&b, &rc, &err);
	CHECK(rc == 0 && out && lines(out) == 4 && !strstr(out, "777"),
	      "a moved row of a class under k is not served (%d)", rc);
	free(out);
	{
		char more[sizeof(data) + 16];

		snprintf(more, sizeof(more), "%s7,77777,77\n", data);
		put("data/data.csv", more);
	}
	out = build(&b, &rc, &err);
	CHECK(rc == -EIO && strstr(err.msg, "row 7:"),
	      "a row the count never saw fails the build (%s)", err.msg);
	free(out);
	put("data/data.csv", data);

	/* Filtering a view the count never bound fails closed. */
	b.view = "other.csv";
	out = build(&b, &rc, &err);
	CHECK(rc == -EIO && strstr(err.msg, "not counted"),
	      "an uncounted view fails: %s", err.msg);
	free(out);
	plan_kanon_free(k);
	cfg_free(c);
}

static void test_missing_quasi(void)
{
	struct cfg *c =
		load("source: data\n"
		     "datasets:\n"
		     "  data.csv:\n"
		     "    k_anonymity: { quasi: [Zip], k: 2 }\n"
		     "    columns: { id: keep, zip: keep, age: keep }\n");
	struct spot_err err;
	struct plan_kanon *k = NULL;
	struct bind b = { .env = { .cfg = c, .keys = keys },
			  .view = "data.csv" };
	char *out;
	int rc;

	if (!c || plan_kanon_new(&k))
		return;
	b.d = cfg_dataset_find(c, "data.csv");
	b.env.kanon = k;
	out = build(&b, &rc, &err);
	CHECK(rc == -EIO && strstr(err.msg, "no column 'Zip'") &&
		      strstr(err.msg, "did you mean 'zip'"),
	      "a missing quasi column fails the view: %s", err.msg);
	free(out);
	plan_kanon_free(k);
	cfg_free(c);
}

/* Quasi columns no row has one value of (plan_kanon_quasi_check). */
#define QC(n, t, f)                                                            \
	{                                                                      \
		(char *)(n), sizeof(n) - 1, t, f                               \
	}
static void test_quasi_check(void)
{
	struct pipe_col pq[] = {
		QC("id", PIPE_INT, 0),
		QC("zips.list.element", PIPE_TEXT, PIPE_F_REPEATED),
		QC("addr.zip", PIPE_TEXT, 0),
	};
	struct pipe_col jl[] = {
		QC("age", PIPE_TEXT, 0),      QC("zip", PIPE_TEXT, 0),
		QC("zip.code", PIPE_TEXT, 0), QC("zipper", PIPE_TEXT, 0),
		QC("tags[]", PIPE_TEXT, 0),   QC("u", PIPE_TEXT, 0),
		QC("u[]x", PIPE_TEXT, 0),     QC("w", PIPE_TEXT, 0),
		QC("w[]", PIPE_TEXT, 0),
	};
	struct spot_err err = { 0 };

	CHECK(plan_kanon_quasi_check("p", "zips.list.element", pq, 3, false,
				     &err) == -EIO &&
		      strstr(err.msg, "inside a list or a map"),
	      "a list leaf is refused (%s)", err.msg);
	CHECK(!plan_kanon_quasi_check("p", "addr.zip", pq, 3, false, &err),
	      "a struct leaf counts");
	CHECK(!plan_kanon_quasi_check("p", "addr", pq, 3, false, &err),
	      "not a column: left to the caller");
	CHECK(!plan_kanon_quasi_check("c", "zip", jl, 4, false, &err),
	      "CSV: zip.code is a column of its own");
	err.msg[0] = 0;
	CHECK(plan_kanon_quasi_check("j", "zip", jl, 4, true, &err) == -EIO &&
		      strstr(err.msg, "holds an object or an array") &&
		      !strstr(err.msg, "code"),
	      "JSON Lines: zip held as an object (%s)", err.msg);
	CHECK(!plan_kanon_quasi_check("j", "age", jl, 9, true, &err) &&
		      !plan_kanon_quasi_check("j", "zipper", jl, 9, true, &err),
	      "a scalar field, and one whose name starts alike");
	CHECK(plan_kanon_quasi_check("j", "tags[]", jl, 9, true, &err) ==
			      -EIO &&
		      strstr(err.msg, "inside an array"),
	      "a field inside an array");
	CHECK(plan_kanon_quasi_check("j", "u", jl, 9, true, &err) == -EIO &&
		      plan_kanon_quasi_check("j", "w", jl, 9, true, &err) ==
			      -EIO,
	      "u held as an array, in some record");
	CHECK(plan_kanon_quasi_check("j", "nope", jl, 9, true, &err) == 0,
	      "a missing quasi column is the caller's");

	/* A field above the quasi held as an array (round 8, finding 1). */
	struct pipe_col up[] = {
		QC("addr.zip", PIPE_TEXT, 0),	 QC("addr[].zip", PIPE_TEXT, 0),
		QC("a.b[].c.d", PIPE_TEXT, 0),	 QC("e[].f[].g", PIPE_TEXT, 0),
		QC("h[].zipcode", PIPE_TEXT, 0), QC("hx[].zip", PIPE_TEXT, 0),
		QC("h.zip", PIPE_TEXT, 0),	 QC("k[].z.y", PIPE_TEXT, 0),
	};
	err.msg[0] = 0;
	CHECK(plan_kanon_quasi_check("j", "addr.zip", up, 8, true, &err) ==
			      -EIO &&
		      strstr(err.msg, "a field above quasi column"),
	      "addr held as an array beside addr.zip (%s)", err.msg);
	CHECK(plan_kanon_quasi_check("j", "a.b.c", up, 8, true, &err) == -EIO &&
		      plan_kanon_quasi_check("j", "e.f.g", up, 8, true, &err) ==
			      -EIO &&
		      plan_kanon_quasi_check("j", "k.z", up, 8, true, &err) ==
			      -EIO,
	      "any level above, several arrays, a quasi held as an object");
	CHECK(!plan_kanon_quasi_check("j", "h.zip", up, 8, true, &err),
	      "h[].zipcode and hx[].zip are other fields");
	struct pipe_col sc[] = {
		QC("addr.zip", PIPE_TEXT, 0),
		QC("addr[]", PIPE_TEXT, 0),
		QC("ad[]", PIPE_TEXT, 0),
	};
	CHECK(plan_kanon_quasi_check("j", "addr.zip", sc, 2, true, &err) ==
			      -EIO &&
		      !plan_kanon_quasi_check("j", "addr.zip", sc + 1, 2, false,
					      &err),
	      "an array of scalars above the quasi (round 9, finding 4)");
	CHECK(!plan_kanon_quasi_check("j", "addr.zip", sc + 2, 1, true, &err),
	      "ad[] is not above addr.zip");
	CHECK(!plan_kanon_quasi_check("c", "addr.zip", up, 8, false, &err),
	      "CSV and Parquet: column names are not field paths");
}

int main(void)
{
	static const uint8_t secret[32] = "spotfs test secret, kanon tests.";
	char cmd[128];

	snprintf(tdir, sizeof(tdir), "/tmp/spot_kanon_XXXXXX");
	if (!mkdtemp(tdir) || msk_keys_new(secret, sizeof(secret), &keys)) {
		perror("set-up");
		return 2;
	}
	snprintf(cmd, sizeof(cmd), "%s/data", tdir);
	mkdir(cmd, 0755);
	put("data/data.csv", data);
	test_filter();
	test_missing_quasi();
	test_quasi_check();
	msk_keys_free(keys);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", tdir);
	return check_done();
}

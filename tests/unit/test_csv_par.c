/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_csv_par.c - parallel CSV view builds (masking/view_csv.c) give the
 * bytes, the error message and the stats of a build on one thread, for 2,
 * 3 and 7 workers and parts from 1 byte (every cut a line feed, many
 * inside quoted fields) up to larger than the file.
 *
 * Plans are built here (no policy layer): a row-seeded transform (what
 * noise and Lua per-row values depend on: the global row number and the
 * batch), a row filter by row number and value, and a transform failing
 * on a value (the first failure in file order is reported). Each plan
 * checks it is never used by two threads at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "csv.h"
#include "view.h"

enum kind { K_NONE, K_SEED, K_FILTER, K_FAIL };

struct tplan {
	struct pipe_plan plan;
	struct pipe_xform xf;
	atomic_int busy;
	bool shared;	      /* two threads used it at once */
	uint64_t batches_off; /* batches not starting at a multiple of 1024 */
};

#define MAXPLANS 8
static struct tplan plans[MAXPLANS];
static size_t nplans;
static enum kind kind;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static void enter(struct tplan *t)
{
	if (atomic_fetch_add(&t->busy, 1))
		t->shared = true;
}

/* Column 1: "row/batch-offset/hash of the value". */
static int xf_seed(void *arg, struct pipe_batch *b, size_t col,
		   struct spot_err *err)
{
	struct tplan *t = arg;
	char s[96];
	int rc = 0;

	enter(t);
	if (b->first_row % PIPE_BATCH_ROWS)
		t->batches_off++;
	for (size_t r = 0; r < b->nrows && !rc; r++) {
		const struct pipe_cell *c = &b->in[r * b->ncols + col];
		uint64_t h = 1469598103934665603ull;

		for (size_t i = 0; i < c->len; i++)
			h = (h ^ c->p[i]) * 1099511628211ull;
		if (kind == K_FAIL && c->len == 4 && !memcmp(c->p, "BOOM", 4)) {
			spot_err_set(err, "row %llu: boom",
				     (unsigned long long)(b->first_row + r));
			rc = -EINVAL;
			break;
		}
		snprintf(s, sizeof(s), "%llu/%zu/%llx",
			 (unsigned long long)(b->first_row + r), r,
			 (unsigned long long)mix(h ^ (b->first_row + r)));
		rc = pipe_batch_set(b, r, col, s, strlen(s), PIPE_TEXT);
	}
	atomic_fetch_sub(&t->busy, 1);
	return rc;
}

static int row_filter(void *arg, struct pipe_batch *b, struct spot_err *err)
{
	struct tplan *t = arg;

	(void)err;
	enter(t);
	for (size_t r = 0; r < b->nrows; r++) {
		const struct pipe_cell *c = &b->in[r * b->ncols];

		if ((b->first_row + r) % 3 == 1 || (c->len && c->p[0] == 'x'))
			b->keep[r] = 0;
	}
	atomic_fetch_sub(&t->busy, 1);
	return 0;
}

static int bind(void *arg, const struct pipe_col *cols, size_t ncols,
		const struct pipe_plan **plan, struct spot_err *err)
{
	struct tplan *t;

	(void)arg;
	(void)cols;
	if (nplans >= MAXPLANS) {
		spot_err_set(err, "too many plans");
		return -EINVAL;
	}
	t = &plans[nplans++];
	memset(t, 0, sizeof(*t));
	if (kind != K_NONE && ncols >= 2) {
		t->xf.col = 1;
		t->xf.fn = xf_seed;
		t->xf.arg = t;
		t->plan.xf = &t->xf;
		t->plan.nxf = 1;
	}
	if (kind == K_FILTER) {
		t->plan.row_fn = row_filter;
		t->plan.row_arg = t;
	}
	*plan = &t->plan;
	return 0;
}

struct res {
	int rc;
	struct spot_buf out;
	struct pipe_stats st;
	struct spot_err err;
};

/* Streaming: emitted bytes collect here; emit_fail_at fails that call. */
static bool streaming;
static uint64_t stream_after; /* emit_after: in memory first, then stream */
static struct spot_buf emitted;
static int emit_calls, emit_fail_at;

static int emit(void *arg, const void *p, size_t len)
{
	(void)arg;
	if (++emit_calls == emit_fail_at)
		return -ENOSPC;
	return spot_buf_append(&emitted, p, len);
}

static char path[] = "/tmp/test_csv_par_XXXXXX";
static bool formulas_raw; /* build(): csv_injection: off */

static void build(const char *src, size_t len, unsigned threads, size_t chunk,
		  struct res *res)
{
	struct view_csv_opts o = { threads, chunk, VIEW_CSV_ALWAYS,
				   bind,    NULL,  NULL,
				   NULL,    0,	   false };
	int fd = open(path, O_RDWR | O_TRUNC);

	o.formulas_raw = formulas_raw;
	if (streaming) {
		o.emit = emit;
		o.emit_after = stream_after;
		spot_buf_reset(&emitted);
		emit_calls = 0;
	}

	memset(res, 0, sizeof(*res));
	spot_buf_init(&res->out);
	if (fd < 0 || write(fd, src, len) != (ssize_t)len) {
		res->rc = -EIO;
		if (fd >= 0)
			close(fd);
		return;
	}
	nplans = 0;
	res->rc = view_build_csv_opts(fd, 0, bind, NULL, &o, &res->out,
				      &res->st, &res->err);
	close(fd);
	if (streaming && !res->rc) {
		/* The view: the emitted bytes, then what is left in out. */
		struct spot_buf all;

		spot_buf_init(&all);
		if (spot_buf_append(&all, emitted.p, emitted.len) ||
		    spot_buf_append(&all, res->out.p, res->out.len))
			res->rc = -ENOMEM;
		spot_buf_fini(&res->out);
		res->out = all;
	}
	for (size_t i = 0; i < nplans; i++) {
		if (plans[i].shared)
			res->rc = -EDEADLK;
		if (plans[i].batches_off)
			res->rc = -EXDEV;
	}
}

/* Every (threads, chunk) against one thread. */
static void same(const char *what, const char *src, size_t len, enum kind k)
{
	static const unsigned th_mem[] = { 2, 3, 7 }, th_str[] = { 1, 2, 3 };
	static const size_t ch_mem[] = { 1, 100, 4096, 1 << 20 },
			    ch_str[] = { 100, 4096 };
	/* Streaming: one thread too, fewer part sizes (ThreadSanitizer runs
	 * every mode: the matrix is what costs). */
	const unsigned *th = streaming ? th_str : th_mem;
	const size_t *ch = streaming ? ch_str : ch_mem;
	size_t nth = streaming ? SPOT_ARRAY_SIZE(th_str)
			       : SPOT_ARRAY_SIZE(th_mem),
	       nch = streaming ? SPOT_ARRAY_SIZE(ch_str)
			       : SPOT_ARRAY_SIZE(ch_mem);
	struct res one, par;
	size_t bad = 0, n = 0;

	bool was = streaming;

	kind = k;
	streaming = false; /* the reference: one thread, in memory */
	build(src, len, 1, 0, &one);
	streaming = was;
	for (size_t i = 0; i < nth; i++) {
		for (size_t j = 0; j < nch; j++) {
			/* Parts of one byte cost a part per byte: only the
			 * small inputs (test_valid has 200-row ones). */
			if (ch[j] == 1 && len > 16384)
				continue;
			build(src, len, th[i], ch[j], &par);
			n++;
			/* on failure the partial output is discarded */
			if (par.rc != one.rc ||
			    (!one.rc && par.out.len != one.out.len) ||
			    (!one.rc && one.out.len &&
			     memcmp(par.out.p, one.out.p, one.out.len)) ||
			    (one.rc && strcmp(par.err.msg, one.err.msg)) ||
			    (!one.rc && (par.st.rows_in != one.st.rows_in ||
					 par.st.rows_out != one.st.rows_out))) {
				if (!bad)
					printf("# %s: %u threads, chunk %zu: "
					       "rc "
					       "%d/%d len %zu/%zu err "
					       "'%s'/'%s'\n",
					       what, th[i], ch[j], par.rc,
					       one.rc, par.out.len, one.out.len,
					       par.err.msg, one.err.msg);
				bad++;
			}
			spot_buf_fini(&par.out);
		}
	}
	CHECK(!bad,
	      "%s: %zu parallel builds identical to one thread (rc %d%s%s)",
	      what, n, one.rc, one.rc ? ": " : "", one.rc ? one.err.msg : "");
	spot_buf_fini(&one.out);
}

/* A CSV of n rows with quoted line breaks, doubled quotes, every EOL. */
static char *gen(size_t n, bool bom, const char *eols, size_t *len,
		 size_t bad_row, size_t bad_row2, const char *bad)
{
	struct spot_buf b;
	static const char *cells[] = {
		"plain",
		"\"multi\nline\"",
		"\"crlf\r\ninside\"",
		"\"a \"\"q\"\" b\"",
		"\"\"",
		"",
		"ab\"c",
		"\"x,y\"",
		"\"\n\"",
		"\"\r\n\r\n\"",
		"xlead",
		"\"\"\"\"",
	};
	uint64_t s = 42;

	spot_buf_init(&b);
	if (bom)
		spot_buf_append(&b, "\xEF\xBB\xBF", 3);
	spot_buf_printf(&b, "id,val,\"no\nte\"\r\n");
	for (size_t r = 0; r < n; r++) {
		const char *eol;

		s = mix(s + r);
		if (eols[s % strlen(eols)] == 'L')
			eol = "\n";
		else if (eols[s % strlen(eols)] == 'W')
			eol = "\r\n";
		else
			eol = "\r";
		if (r == bad_row || r == bad_row2) {
			spot_buf_printf(&b, "%s%s", bad, eol);
			continue;
		}
		spot_buf_printf(&b, "%s,%s,%s%s", cells[(s >> 8) % 12],
				cells[(s >> 16) % 12], cells[(s >> 24) % 12],
				eol);
	}
	*len = b.len;
	return (char *)spot_buf_steal(&b, len);
}

static void test_valid(void)
{
	static const enum kind ks[] = { K_NONE, K_SEED, K_FILTER };
	static const char *kn[] = { "unchanged", "row-seeded", "row filter" };
	size_t len;
	char *s;

	for (size_t k = 0; k < 3; k++) {
		char what[128];

		s = gen(1200, false, "LW", &len, SIZE_MAX, SIZE_MAX, NULL);
		snprintf(what, sizeof(what), "%s, LF/CRLF", kn[k]);
		same(what, s, len, ks[k]);
		free(s);
		s = gen(1100, true, "LWC", &len, SIZE_MAX, SIZE_MAX, NULL);
		snprintf(what, sizeof(what), "%s, BOM, LF/CRLF/CR", kn[k]);
		same(what, s, len, ks[k]);
		/* no final line end */
		while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
			len--;
		snprintf(what, sizeof(what), "%s, no final EOL", kn[k]);
		same(what, s, len, ks[k]);
		free(s);
		s = gen(200, true, "LWC", &len, SIZE_MAX, SIZE_MAX, NULL);
		snprintf(what, sizeof(what), "%s, 200 rows, BOM, LF/CRLF/CR",
			 kn[k]);
		same(what, s, len, ks[k]);
		free(s);
	}
	same("header only", "a,b\n", 4, K_SEED);
	same("header only, no EOL", "a,b", 3, K_SEED);
	same("empty file", "", 0, K_SEED);
	same("one column, blank lines", "a\n\n1\n\n2\n", 9, K_SEED);
}

static void test_errors(void)
{
	static const struct {
		const char *what, *bad;
		size_t row;
	} cases[] = {
		{ "ragged row late", "1,2", 1150 },
		{ "ragged row early", "1,2,3,4", 3 },
		{ "char after closing quote", "1,\"a\"b,3", 1050 },
		{ "unterminated quote", "1,\"open,3", 1100 },
		{ "unterminated quote in last row", "1,2,\"open", 1199 },
	};
	size_t len;
	char *s;

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(cases); i++) {
		s = gen(1200, true, "LW", &len, cases[i].row, SIZE_MAX,
			cases[i].bad);
		same(cases[i].what, s, len, K_SEED);
		free(s);
	}
	/* a transform failing on two rows: the first is reported */
	s = gen(1200, false, "LW", &len, 1100, SIZE_MAX, "1,BOOM,3");
	same("transform error", s, len, K_FAIL);
	free(s);
	s = gen(1200, false, "LW", &len, 1030, 1150, "1,BOOM,3");
	same("two transform errors", s, len, K_FAIL);
	free(s);
}

static void test_small_file_one_worker(void)
{
	struct view_csv_opts o = { 4, 1, 0, bind, NULL, NULL, NULL, 0, false };
	struct res r;
	int fd = open(path, O_RDWR | O_TRUNC);

	CHECK(fd >= 0 && write(fd, "a,b\n1,2\n3,4\n", 12) == 12,
	      "small file written");
	kind = K_SEED;
	nplans = 0;
	spot_buf_init(&r.out);
	r.rc = view_build_csv_opts(fd, 0, bind, NULL, &o, &r.out, &r.st,
				   &r.err);
	CHECK(!r.rc && nplans == 1,
	      "a file under min_size is built with one plan (%zu)", nplans);
	spot_buf_fini(&r.out);
	close(fd);
}

static void test_streaming(void)
{
	struct res r;
	size_t len;
	char *s = gen(1200, true, "LW", &len, SIZE_MAX, SIZE_MAX, NULL);

	streaming = true;
	printf("# streaming: the same tests, bytes emitted part by part\n");
	test_valid();
	test_errors();
	printf("# streaming once past 1000 bytes (in memory before)\n");
	stream_after = 1000;
	test_valid();
	test_errors();
	stream_after = 0;
	kind = K_SEED;
	emit_fail_at = 3;
	build(s, len, 2, 100, &r);
	CHECK(r.rc == -ENOSPC && strstr(r.err.msg, "cannot write the view"),
	      "an emit failing stops the build with its error (%d '%s')", r.rc,
	      r.err.msg);
	CHECK(emit_calls == 3, "and nothing is emitted after it (%d)",
	      emit_calls);
	spot_buf_fini(&r.out);
	emit_fail_at = 0;
	streaming = false;
	spot_buf_fini(&emitted);
	free(s);
}

/* The formula guard (csv.h) in every part, and off in every part. */
static void test_formulas(void)
{
	struct spot_buf src;
	struct res one, par;
	bool ok = true, raw_ok = true;

	spot_buf_init(&src);
	spot_buf_append(&src, "id,f,n\n", 7);
	for (int i = 0; i < 2000; i++)
		spot_buf_printf(&src, "%d,=A%d+1,-%d\n", i, i, i);
	kind = K_NONE;
	build((const char *)src.p, src.len, 1, 0, &one);
	ok = !one.rc &&
	     memmem(one.out.p, one.out.len, "\n1999,'=A1999+1,-1999", 21);
	for (unsigned t = 2; t <= 3 && ok; t++) {
		build((const char *)src.p, src.len, t, 100, &par);
		ok = !par.rc && par.out.len == one.out.len &&
		     !memcmp(par.out.p, one.out.p, one.out.len);
		spot_buf_fini(&par.out);
	}
	CHECK(ok, "every part guards formula cells, numbers kept");
	formulas_raw = true;
	for (unsigned t = 1; t <= 3 && raw_ok; t++) {
		build((const char *)src.p, src.len, t, 100, &par);
		raw_ok = !par.rc && par.out.len == src.len &&
			 !memcmp(par.out.p, src.p, src.len);
		spot_buf_fini(&par.out);
	}
	formulas_raw = false;
	CHECK(raw_ok, "formulas_raw: every part served as it is");
	spot_buf_fini(&one.out);
	spot_buf_fini(&src);
}

int main(void)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return 1;
	close(fd);
	test_valid();
	test_errors();
	test_small_file_one_worker();
	test_formulas();
	test_streaming();
	unlink(path);
	return check_done();
}

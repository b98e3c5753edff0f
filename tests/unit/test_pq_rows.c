/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_pq_rows.c - the Parquet row source (pq_rows.h), whole rows for
 * column transforms and row filters on Parquet views (parquet.h).
 *
 * Without arguments, synthetic files built here (columns with different
 * page sizes, page versions, codecs and encodings, several row groups, a
 * list column) are read back and filtered. Given the fixture folder of
 * tests/fixtures/make_parquet.mjs, every fixture is also read back row by
 * row against the generator's formulas (and refused with a row filter, for
 * its list column); given an output folder and the folder of flat fixtures
 * f_*.parquet (tests/unit/pq_rows_duckdb.mjs gen), those are read back too
 * and served filtered and masked into OUT_DIR for pq_rows_duckdb.mjs check:
 *
 *   test_pq_rows [FIXTURE_DIR [OUT_DIR [FLAT_DIR]]]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "parquet.h"
#include "pq_codec.h"
#include "pq_page.h"
#include "pq_rows.h"
#include "pq_value.h"
#include "pq_view_i.h"

#define LINE_MAX_LEN 512

/* ---- reading rows back as lines "v|v|~" (~ is NULL) ---- */

struct rows {
	char **line;
	size_t n, cap;
	size_t bad_batches; /* batches spanning a row group, or misnumbered */
};

static void rows_free(struct rows *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->line[i]);
	free(r->line);
	memset(r, 0, sizeof(*r));
}

static int rows_add(struct rows *r, const struct pipe_batch *b, size_t row)
{
	char buf[LINE_MAX_LEN];
	size_t c, o = 0;

	for (c = 0; c < b->ncols; c++) {
		const struct pipe_cell *x = &b->in[row * b->ncols + c];
		int k = x->type == PIPE_NULL
				? snprintf(buf + o, sizeof(buf) - o, "%s~",
					   c ? "|" : "")
				: snprintf(buf + o, sizeof(buf) - o, "%s%.*s",
					   c ? "|" : "", (int)x->len,
					   (const char *)x->p);

		if (k < 0 || (size_t)k >= sizeof(buf) - o)
			return -1;
		o += (size_t)k;
	}
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 1024;
		char **nl = realloc(r->line, ncap * sizeof(*nl));

		if (!nl)
			return -1;
		r->line = nl;
		r->cap = ncap;
	}
	r->line[r->n] = strdup(buf);
	return r->line[r->n++] ? 0 : -1;
}

/* Every row of the file at path through pq_source_ops, batches of cap. */
static int rows_read(const char *path, size_t cap, struct rows *out,
		     struct spot_err *err)
{
	struct pq_file *f = NULL;
	struct pq_rows *src = NULL;
	const struct pipe_col *cols;
	struct pipe_batch b;
	size_t ncols, r, g = 0;
	uint64_t grp_end, seen = 0;
	int fd = open(path, O_RDONLY), rc;

	memset(out, 0, sizeof(*out));
	rc = fd < 0 ? -errno : pq_file_open(fd, &f, err);
	if (rc)
		goto out;
	pq_file_columns(f, &cols, &ncols);
	rc = pq_rows_open(f, fd, &src, err);
	if (rc || (rc = pipe_batch_init(&b, ncols, cap)))
		goto out;
	grp_end = f->m->nrgs ? (uint64_t)f->m->rgs[0].num_rows : 0;
	for (;;) {
		pipe_batch_clear(&b);
		rc = pq_source_ops.next_batch(src, &b, err);
		if (rc || !b.nrows)
			break;
		while (seen >= grp_end && g + 1 < f->m->nrgs)
			grp_end += (uint64_t)f->m->rgs[++g].num_rows;
		out->bad_batches +=
			b.first_row != seen || seen + b.nrows > grp_end;
		seen += b.nrows;
		for (r = 0; r < b.nrows && !rc; r++)
			rc = rows_add(out, &b, r) ? -ENOMEM : 0;
		if (rc)
			break;
	}
	pipe_batch_fini(&b);
out:
	pq_rows_free(src);
	pq_file_free(f);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- synthetic files ---- */

struct syn_col {
	const char *name;
	int ptype;
	bool optional, string, nested, dict;
	uint32_t page_rows;
	int page_type;
	int64_t codec;
};

static const struct syn_col syn_cols[] = {
	{ "a", PQ_INT64, false, false, false, false, 100, PQ_PAGE_DATA,
	  PQ_CODEC_UNCOMPRESSED },
	{ "s", PQ_BYTE_ARRAY, true, true, false, false, 333, PQ_PAGE_DATA_V2,
	  PQ_CODEC_SNAPPY },
	{ "l", PQ_INT32, true, false, true, false, 1000, PQ_PAGE_DATA,
	  PQ_CODEC_UNCOMPRESSED },
	{ "c", PQ_BYTE_ARRAY, false, true, false, true, 1500, PQ_PAGE_DATA,
	  PQ_CODEC_ZSTD },
	{ "b", PQ_INT32, true, false, false, false, 257, PQ_PAGE_DATA_V2,
	  PQ_CODEC_GZIP },
};
#define SYN_NCOLS SPOT_ARRAY_SIZE(syn_cols)
#define SYN_NESTED 2 /* index of the list column */

static const char *const cities[] = { "Paris", "Lyon", "Nice", "Oslo" };

/* The value of column c in row i: false for NULL. */
static bool syn_val(size_t c, uint64_t i, uint8_t *buf, uint32_t *len)
{
	int64_t v64 = (int64_t)i * 10;
	int32_t v32 = (int32_t)(i % 100);

	switch (c) {
	case 0:
		memcpy(buf, &v64, 8);
		*len = 8;
		return true;
	case 1:
		*len = (uint32_t)snprintf((char *)buf, 32, "s%" PRIu64, i);
		return i % 7 != 3;
	case 2:
		v32 = (int32_t)i;
		memcpy(buf, &v32, 4);
		*len = 4;
		return true;
	case 3:
		*len = (uint32_t)strlen(cities[i % 4]);
		memcpy(buf, cities[i % 4], *len);
		return true;
	default:
		memcpy(buf, &v32, 4);
		*len = 4;
		return i % 5 != 0;
	}
}

/* The line rows_read() gives for source row i of a synthetic file. */
static void syn_line(uint64_t i, bool nested, char *out, size_t len)
{
	char s[32] = "~", b[16] = "~";

	if (i % 7 != 3)
		snprintf(s, sizeof(s), "s%" PRIu64, i);
	if (i % 5)
		snprintf(b, sizeof(b), "%u", (unsigned)(i % 100));
	snprintf(out, len, "%" PRIu64 "|%s%s|%s|%s", i * 10, s,
		 nested ? "|~" : "", cities[i % 4], b);
}

static struct pq_tval tv_st(struct pq_tstruct *st)
{
	struct pq_tval v;

	memset(&v, 0, sizeof(v));
	v.type = PQ_TT_STRUCT;
	v.u.st = st;
	return v;
}

static struct pq_tstruct *syn_se(struct spot_arena *a, const char *name,
				 int ptype, int rep, int nchild, int conv)
{
	struct pq_tstruct *se = pq_tstruct_new(a);

	if (ptype >= 0)
		pq_tstruct_set_int(a, se, 1, PQ_TT_I32, ptype);
	if (rep >= 0)
		pq_tstruct_set_int(a, se, 3, PQ_TT_I32, rep);
	pq_tstruct_set_bin(a, se, 4, name, strlen(name));
	if (nchild >= 0)
		pq_tstruct_set_int(a, se, 5, PQ_TT_I32, nchild);
	if (conv >= 0)
		pq_tstruct_set_int(a, se, 6, PQ_TT_I32, conv);
	return se;
}

static struct pq_tval syn_schema(struct spot_arena *a, bool nested)
{
	struct pq_tval v;
	size_t c, n = 0;

	pq_tval_list(a, &v, PQ_TT_STRUCT, (uint32_t)SYN_NCOLS + 3);
	v.u.elems[n++] = tv_st(
		syn_se(a, "schema", -1, -1, (int)SYN_NCOLS - !nested, -1));
	for (c = 0; c < SYN_NCOLS; c++) {
		const struct syn_col *sc = &syn_cols[c];

		if (sc->nested && !nested)
			continue;
		if (sc->nested) { /* l: optional LIST of optional INT32 */
			v.u.elems[n++] =
				tv_st(syn_se(a, "l", -1, PQ_OPTIONAL, 1, 3));
			v.u.elems[n++] = tv_st(
				syn_se(a, "list", -1, PQ_REPEATED, 1, -1));
			v.u.elems[n++] = tv_st(syn_se(a, "element", PQ_INT32,
						      PQ_OPTIONAL, -1, -1));
			continue;
		}
		v.u.elems[n++] =
			tv_st(syn_se(a, sc->name, sc->ptype,
				     sc->optional ? PQ_OPTIONAL : PQ_REQUIRED,
				     -1, sc->string ? 0 : -1));
	}
	v.n = (uint32_t)n;
	return v;
}

/*
 * Row i of the list column: a null list (i % 5 == 0), else i % 4 elements
 * (0: an empty list), element j null when (i + j) % 3 == 0.
 */
static void syn_list(struct pq_chunk_wr *w, size_t c, uint64_t i, uint8_t *buf)
{
	uint32_t len, j, n = (uint32_t)(i % 4);

	if (i % 5 == 0) {
		pq_chunk_wr_null(w, 0);
		return;
	}
	if (!n) {
		pq_chunk_wr_null(w, 1);
		return;
	}
	for (j = 0; j < n; j++) {
		pq_chunk_wr_rep(w, j ? 1 : 0);
		if ((i + j) % 3 == 0) {
			pq_chunk_wr_null(w, 2);
			continue;
		}
		syn_val(c, i + 1000 * j + 1, buf, &len);
		pq_chunk_wr_put(w, buf, len);
	}
}

/* Write one chunk of column c (rows [first, first + n)) at the end of f. */
static struct pq_tstruct *syn_chunk(struct spot_arena *a, struct spot_buf *f,
				    size_t c, uint64_t first, uint64_t n,
				    int64_t *usize)
{
	static const char *const lpath[] = { "l", "list", "element" };
	const struct syn_col *sc = &syn_cols[c];
	struct pq_tstruct *cc = pq_tstruct_new(a), *md = pq_tstruct_new(a);
	struct pq_chunk_wr w;
	struct spot_err err;
	struct pq_tval v;
	uint8_t buf[32];
	uint32_t len, np = sc->nested ? 3 : 1, k;
	int64_t off = (int64_t)f->len;
	uint64_t i;

	pq_chunk_wr_init(&w, sc->ptype, sc->ptype == PQ_INT64 ? 8 : 4,
			 sc->codec, false, sc->nested ? 3 : sc->optional);
	w.dict_on = sc->dict;
	if (sc->nested)
		pq_chunk_wr_set_rep(&w, 1);
	for (i = first; i < first + n; i++) {
		if (sc->nested) /* i % 4 elements, a null one now and then */
			syn_list(&w, c, i, buf);
		else if (syn_val(c, i, buf, &len))
			pq_chunk_wr_put(&w, buf, len);
		else
			pq_chunk_wr_null(&w, 0);
		if ((i - first + 1) % sc->page_rows == 0 || i + 1 == first + n)
			pq_chunk_wr_page(&w, sc->page_type, &err);
	}
	if (!n) /* an empty chunk still has a page */
		pq_chunk_wr_page(&w, sc->page_type, &err);
	pq_chunk_wr_finish(&w, &err);
	spot_buf_append(f, w.dict_page.p, w.dict_page.len);
	spot_buf_append(f, w.data.p, w.data.len);
	pq_tstruct_set_int(a, md, 1, PQ_TT_I32, sc->ptype);
	pq_tval_list(a, &v, PQ_TT_I32, 3);
	for (k = 0; k < 3; k++)
		v.u.elems[k].type = PQ_TT_I32;
	v.u.elems[0].u.i = PQ_ENC_PLAIN;
	v.u.elems[1].u.i = PQ_ENC_RLE;
	v.u.elems[2].u.i = PQ_ENC_RLE_DICTIONARY;
	pq_tstruct_set(a, md, 2, &v);
	pq_tval_list(a, &v, PQ_TT_BINARY, np);
	for (k = 0; k < np; k++) {
		const char *p = sc->nested ? lpath[k] : sc->name;

		v.u.elems[k].type = PQ_TT_BINARY;
		v.u.elems[k].u.bin = (const uint8_t *)p;
		v.u.elems[k].n = (uint32_t)strlen(p);
	}
	pq_tstruct_set(a, md, 3, &v);
	pq_tstruct_set_int(a, md, 4, PQ_TT_I32, sc->codec);
	pq_tstruct_set_int(a, md, 5, PQ_TT_I64, w.num_values);
	pq_tstruct_set_int(a, md, 6, PQ_TT_I64, w.usize);
	pq_tstruct_set_int(a, md, 7, PQ_TT_I64, w.csize);
	pq_tstruct_set_int(a, md, 9, PQ_TT_I64, off + (int64_t)w.dict_page.len);
	if (w.dict_page.len)
		pq_tstruct_set_int(a, md, 11, PQ_TT_I64, off);
	pq_tstruct_set_int(a, cc, 2, PQ_TT_I64, off);
	v = tv_st(md);
	pq_tstruct_set(a, cc, 3, &v);
	*usize += w.usize;
	pq_chunk_wr_fini(&w);
	return cc;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* A file with row groups of rg[0..nrg) rows, written to path. */
static int syn_write(const char *path, const uint64_t *rg, size_t nrg,
		     bool nested)
{
	struct spot_arena a;
	struct spot_buf f;
	struct pq_tstruct *root;
	struct pq_tval v, cl;
	uint64_t first = 0;
	size_t g, c, k, flen;
	uint8_t le[4];
	int fd, rc = 0;

	spot_arena_init(&a);
	spot_buf_init(&f);
	spot_buf_append(&f, "PAR1", 4);
	root = pq_tstruct_new(&a);
	pq_tstruct_set_int(&a, root, 1, PQ_TT_I32, 1);
	v = syn_schema(&a, nested);
	pq_tstruct_set(&a, root, 2, &v);
	pq_tval_list(&a, &v, PQ_TT_STRUCT, (uint32_t)nrg);
	for (g = 0; g < nrg; g++) {
		struct pq_tstruct *rgs = pq_tstruct_new(&a);
		int64_t usize = 0;

		pq_tval_list(&a, &cl, PQ_TT_STRUCT,
			     (uint32_t)SYN_NCOLS - !nested);
		for (c = 0, k = 0; c < SYN_NCOLS; c++)
			if (nested || !syn_cols[c].nested)
				cl.u.elems[k++] = tv_st(syn_chunk(
					&a, &f, c, first, rg[g], &usize));
		pq_tstruct_set(&a, rgs, 1, &cl);
		pq_tstruct_set_int(&a, rgs, 2, PQ_TT_I64, usize);
		pq_tstruct_set_int(&a, rgs, 3, PQ_TT_I64, (int64_t)rg[g]);
		v.u.elems[g] = tv_st(rgs);
		first += rg[g];
	}
	pq_tstruct_set(&a, root, 4, &v);
	pq_tstruct_set_int(&a, root, 3, PQ_TT_I64, (int64_t)first);
	flen = f.len;
	pq_thrift_write(&f, root);
	put_le32(le, (uint32_t)(f.len - flen));
	spot_buf_append(&f, le, 4);
	spot_buf_append(&f, "PAR1", 4);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, f.p, f.len) != (ssize_t)f.len)
		rc = -EIO;
	if (fd >= 0)
		close(fd);
	spot_buf_fini(&f);
	spot_arena_fini(&a);
	return rc;
}

/* Compare lines with syn_line() of the source rows picked by want(). */
static size_t syn_compare(const struct rows *r, uint64_t nsrc, bool nested,
			  bool (*want)(uint64_t), size_t *matched)
{
	char exp[LINE_MAX_LEN];
	size_t bad = 0, k = 0;
	uint64_t i;

	for (i = 0; i < nsrc; i++) {
		if (want && !want(i))
			continue;
		syn_line(i, nested, exp, sizeof(exp));
		bad += k >= r->n || strcmp(r->line[k], exp) != 0;
		k++;
	}
	*matched = k;
	return bad + (k != r->n);
}

/* ---- views ---- */

/* Build the view of src under plan and write it to dst. */
static int view_write(const char *src, const struct pipe_plan *plan,
		      const char *dst, uint64_t *rows, struct spot_err *err)
{
	struct pq_file *f = NULL;
	struct pq_view *v = NULL;
	uint8_t *all = NULL, part[999];
	int fd = open(src, O_RDONLY), ofd = -1, rc, i;
	uint64_t size;

	rc = fd < 0 ? -errno : pq_file_open(fd, &f, err);
	if (!rc)
		rc = pq_view_build(f, fd, plan, NULL, &v, err);
	if (rc)
		goto out;
	size = pq_view_size(v);
	*rows = pq_view_num_rows(v);
	all = malloc(size);
	rc = -EIO;
	if (!all || pq_view_read(v, fd, all, size, 0) != (ssize_t)size)
		goto out;
	/* Reads at other offsets agree with the whole read. */
	for (i = 0; i < 50; i++) {
		uint64_t off = (uint64_t)i * 7919 % size;
		ssize_t n = pq_view_read(v, fd, part, sizeof(part), off);

		if (n <= 0 || memcmp(part, all + off, (size_t)n)) {
			spot_err_set(err, "random read mismatch");
			goto out;
		}
	}
	ofd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (ofd >= 0 && write(ofd, all, size) == (ssize_t)size)
		rc = 0;
out:
	if (ofd >= 0)
		close(ofd);
	free(all);
	pq_view_free(v);
	pq_file_free(f);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* A row filter keeping the rows whose source index want() accepts. */
static int filter_fn(void *arg, struct pipe_batch *b, struct spot_err *err)
{
	bool (*want)(uint64_t) = (bool (*)(uint64_t))(uintptr_t)arg;

	(void)err;
	for (size_t r = 0; r < b->nrows; r++)
		b->keep[r] = want(b->first_row + r);
	return 0;
}

static bool want_even(uint64_t i)
{
	return i % 2 == 0;
}

static bool want_not_mid(uint64_t i)
{
	return i < 2000 || i >= 3500;
}

static bool want_none(uint64_t i)
{
	(void)i;
	return false;
}

static bool want_all(uint64_t i)
{
	(void)i;
	return true;
}

/* The integer in a cell (cells are not NUL-terminated). */
static uint64_t cell_u64(const struct pipe_cell *c)
{
	uint64_t v = 0;

	for (size_t i = 0; i < c->len && c->p[i] >= '0' && c->p[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(c->p[i] - '0');
	return v;
}

/* The source row index of synthetic cell "a" (i * 10). */
static uint64_t cell_row(const struct pipe_batch *b, size_t r)
{
	return cell_u64(&b->in[r * b->ncols]) / 10;
}

/*
 * Column transform on s of a file without the list column: "<a>:<c>" from
 * the other columns' cells (c is column 2 there); counts
 * rows where any flat column's cell was left unfilled.
 */
static int whole_row_fn(void *arg, struct pipe_batch *b, size_t col,
			struct spot_err *err)
{
	size_t *unfilled = arg;
	char buf[96];

	(void)err;
	for (size_t r = 0; r < b->nrows; r++) {
		const struct pipe_cell *a = &b->in[r * b->ncols];
		const struct pipe_cell *c = &b->in[r * b->ncols + 2];
		uint64_t i = b->first_row + r;
		int n;

		*unfilled += a->type == PIPE_NULL || c->type == PIPE_NULL ||
			     cell_row(b, r) != i;
		n = snprintf(buf, sizeof(buf), "%.*s:%.*s", (int)a->len,
			     (const char *)a->p, (int)c->len,
			     (const char *)c->p);
		if (pipe_batch_set(b, r, col, buf, (size_t)n, PIPE_TEXT))
			return -ENOMEM;
	}
	return 0;
}

/* Column transform on a: NULL for rows i % 4 == 0, else "A<i>". */
static int a_fn(void *arg, struct pipe_batch *b, size_t col,
		struct spot_err *err)
{
	char buf[32];

	(void)arg;
	(void)err;
	for (size_t r = 0; r < b->nrows; r++) {
		uint64_t i = cell_row(b, r);
		int n = snprintf(buf, sizeof(buf), "A%" PRIu64, i);

		if (i % 4 == 0 ? pipe_batch_set(b, r, col, NULL, 0, PIPE_NULL)
			       : pipe_batch_set(b, r, col, buf, (size_t)n,
						PIPE_TEXT))
			return -ENOMEM;
	}
	return 0;
}

/* ---- synthetic tests ---- */

static char tmpdir[512] = "/tmp";

static void tmp_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/pqrows_%d_%s", tmpdir, (int)getpid(), name);
}

static void test_source(void)
{
	static const uint64_t rg[] = { 3000, 2000 };
	static const size_t caps[] = { PIPE_BATCH_ROWS, 77, 1 };
	struct spot_err err = { { 0 } };
	struct rows r;
	char path[600];
	size_t i, matched;
	int rc;

	tmp_path(path, sizeof(path), "src.parquet");
	CHECK(syn_write(path, rg, 2, true) == 0, "synthetic file written");
	for (i = 0; i < SPOT_ARRAY_SIZE(caps); i++) {
		rc = rows_read(path, caps[i], &r, &err);
		CHECK(rc == 0 && r.n == 5000,
		      "source: %zu rows in batches of %zu (%s)", r.n, caps[i],
		      err.msg);
		CHECK(syn_compare(&r, 5000, true, NULL, &matched) == 0,
		      "source: every row aligned across columns with "
		      "different page sizes (batches of %zu)",
		      caps[i]);
		CHECK(r.bad_batches == 0,
		      "source: batches numbered, within one row group");
		rows_free(&r);
	}
	unlink(path);
}

static void test_source_misc(void)
{
	static const uint64_t rg[] = { 10, 0, 5 };
	struct spot_err err = { { 0 } };
	const struct pipe_col *cols;
	struct pq_file *f = NULL;
	struct pq_rows *src = NULL;
	struct pipe_batch b;
	size_t ncols, matched;
	struct rows r;
	char path[600];
	int fd, rc;

	tmp_path(path, sizeof(path), "misc.parquet");
	CHECK(syn_write(path, rg, 3, true) == 0, "file with an empty group");
	rc = rows_read(path, 4, &r, &err);
	CHECK(rc == 0 && r.n == 15 &&
		      syn_compare(&r, 15, true, NULL, &matched) == 0 &&
		      !r.bad_batches,
	      "source: empty row group skipped (%s)", err.msg);
	rows_free(&r);
	fd = open(path, O_RDONLY);
	rc = pq_file_open(fd, &f, &err);
	CHECK(rc == 0, "open (%s)", err.msg);
	if (rc)
		goto out;
	pq_file_columns(f, &cols, &ncols);
	CHECK(ncols == 5 && !strcmp(cols[2].name, "l.list.element") &&
		      cols[0].type == PIPE_INT && cols[1].type == PIPE_TEXT,
	      "source: columns as pq_file_columns");
	pq_rows_open(f, fd, &src, &err);
	pipe_batch_init(&b, ncols - 1, 8);
	rc = pq_source_ops.next_batch(src, &b, &err);
	CHECK(rc == -EINVAL && b.nrows == 0,
	      "source: batch of the wrong width refused (%s)", err.msg);
	pipe_batch_fini(&b);
	pipe_batch_init(&b, ncols, 8);
	rc = pq_source_ops.next_batch(src, &b, &err);
	CHECK(rc == 0 && b.nrows == 8 && b.in[0].type == PIPE_INT &&
		      b.in[2].type == PIPE_NULL && b.in[3].type == PIPE_TEXT &&
		      b.in[1 * ncols + 4].type == PIPE_INT &&
		      b.in[0 * ncols + 4].type == PIPE_NULL,
	      "source: cell types, NULL and list cells");
	pipe_batch_fini(&b);
out:
	pq_rows_free(src);
	pq_file_free(f);
	if (fd >= 0)
		close(fd);
	unlink(path);
}

static void test_whole_row(void)
{
	static const uint64_t rg[] = { 3000, 2000 };
	struct spot_err err = { { 0 } };
	size_t unfilled = 0, bad = 0, i;
	struct pipe_xform xf = {
		1, whole_row_fn, &unfilled, false, true, false
	};
	struct pipe_plan plan = { NULL, NULL, &xf, 1, NULL, 0, NULL, NULL };
	char src[600], dst[600], exp[LINE_MAX_LEN];
	struct rows r;
	uint64_t rows = 0;
	int rc;

	tmp_path(src, sizeof(src), "wr.parquet");
	tmp_path(dst, sizeof(dst), "wr.out.parquet");
	syn_write(src, rg, 2, false);
	rc = view_write(src, &plan, dst, &rows, &err);
	CHECK(rc == 0 && rows == 5000, "whole row: view built (%s)", err.msg);
	CHECK(unfilled == 0,
	      "whole row: transforms see every flat column (%zu rows "
	      "without)",
	      unfilled);
	rc = rows_read(dst, PIPE_BATCH_ROWS, &r, &err);
	CHECK(rc == 0 && r.n == 5000, "whole row: served rows read (%s)",
	      err.msg);
	for (i = 0; i < r.n; i++) {
		char b[16] = "~";

		if (i % 5)
			snprintf(b, sizeof(b), "%u", (unsigned)(i % 100));
		/* s becomes "<a>:<c>" */
		snprintf(exp, sizeof(exp), "%zu|%zu:%s|%s|%s", i * 10, i * 10,
			 cities[i % 4], cities[i % 4], b);
		bad += strcmp(r.line[i], exp) != 0;
	}
	CHECK(bad == 0 && r.n == 5000,
	      "whole row: masked column built from other columns");
	rows_free(&r);
	unlink(src);
	unlink(dst);
}

/* Open dst and return the chunk metadata of (g, c); NULL on failure. */
static struct pq_file *open_out(const char *dst, int *fd)
{
	struct spot_err err = { { 0 } };
	struct pq_file *f = NULL;

	*fd = open(dst, O_RDONLY);
	if (*fd < 0 || pq_file_open(*fd, &f, &err))
		return NULL;
	return f;
}

static void test_filter_even(void)
{
	static const uint64_t rg[] = { 3000, 2000 };
	struct pipe_plan plan = { filter_fn, (void *)(uintptr_t)want_even,
				  NULL,	     0,
				  NULL,	     0,
				  NULL,	     NULL };
	struct spot_err err = { { 0 } };
	char src[600], dst[600];
	struct pq_file *f;
	struct rows r;
	uint64_t rows = 0;
	size_t matched;
	int rc, fd;

	tmp_path(src, sizeof(src), "fe.parquet");
	tmp_path(dst, sizeof(dst), "fe.out.parquet");
	syn_write(src, rg, 2, false);
	rc = view_write(src, &plan, dst, &rows, &err);
	CHECK(rc == 0 && rows == 2500, "filter: every other row (%s)", err.msg);
	rc = rows_read(dst, PIPE_BATCH_ROWS, &r, &err);
	CHECK(rc == 0 && r.n == 2500 &&
		      syn_compare(&r, 5000, false, want_even, &matched) == 0,
	      "filter: kept rows consistent in every column (%s)", err.msg);
	rows_free(&r);
	f = open_out(dst, &fd);
	CHECK(f && pq_file_num_rows(f) == 2500 && f->m->nrgs == 2 &&
		      f->m->rgs[0].num_rows == 1500 &&
		      f->m->rgs[1].num_rows == 1000,
	      "filter: footer counts kept rows");
	CHECK(f && f->m->rgs[0].chunks[2].dict_off >= 0 &&
		      f->m->rgs[0].chunks[0].dict_off < 0 &&
		      f->m->rgs[1].chunks[3].codec == PQ_CODEC_GZIP,
	      "filter: dictionary only where the source had one, codecs "
	      "kept");
	pq_file_free(f);
	if (fd >= 0)
		close(fd);
	unlink(dst);
	unlink(src);
}

static void test_filter_masked(void)
{
	static const uint64_t rg[] = { 3000, 2000 };
	struct pipe_xform xf = { 0, a_fn, NULL, false, false, false };
	struct pipe_plan plan = { filter_fn, (void *)(uintptr_t)want_even,
				  &xf,	     1,
				  NULL,	     0,
				  NULL,	     NULL };
	struct spot_err err = { { 0 } };
	char src[600], dst[600], exp[LINE_MAX_LEN], a[32];
	struct pq_file *f;
	struct rows r;
	uint64_t rows = 0, i;
	size_t bad = 0, k = 0;
	int rc, fd;

	tmp_path(src, sizeof(src), "fm.parquet");
	tmp_path(dst, sizeof(dst), "fm.out.parquet");
	syn_write(src, rg, 2, false);
	rc = view_write(src, &plan, dst, &rows, &err);
	CHECK(rc == 0 && rows == 2500,
	      "filter + transform with type changes (%s)", err.msg);
	rc = rows_read(dst, PIPE_BATCH_ROWS, &r, &err);
	for (i = 0; i < 5000 && rc == 0; i += 2, k++) {
		syn_line(i, false, exp, sizeof(exp));
		if (i % 4 == 0)
			snprintf(a, sizeof(a), "~");
		else
			snprintf(a, sizeof(a), "A%" PRIu64, i);
		bad += k >= r.n || strncmp(r.line[k], a, strlen(a)) ||
		       strcmp(strchr(r.line[k], '|'), strchr(exp, '|'));
	}
	CHECK(rc == 0 && r.n == 2500 && bad == 0,
	      "filter + transform: masked and unmasked columns agree (%s)",
	      err.msg);
	rows_free(&r);
	f = open_out(dst, &fd);
	CHECK(f && f->m->leaves[0].ptype == PQ_BYTE_ARRAY &&
		      f->m->leaves[0].repetition == PQ_OPTIONAL,
	      "filter + transform: a became an optional string");
	pq_file_free(f);
	if (fd >= 0)
		close(fd);
	unlink(dst);
	unlink(src);
}

static void test_filter_groups(void)
{
	static const uint64_t rg[] = { 2000, 1500, 1500 };
	struct pipe_plan plan = { filter_fn, (void *)(uintptr_t)want_not_mid,
				  NULL,	     0,
				  NULL,	     0,
				  NULL,	     NULL };
	struct spot_err err = { { 0 } };
	char src[600], dst[600];
	struct pq_file *f;
	struct rows r;
	uint64_t rows = 0;
	size_t matched;
	int rc, fd;

	tmp_path(src, sizeof(src), "fg.parquet");
	tmp_path(dst, sizeof(dst), "fg.out.parquet");
	syn_write(src, rg, 3, false);
	rc = view_write(src, &plan, dst, &rows, &err);
	CHECK(rc == 0 && rows == 3500, "filter: a whole row group dropped (%s)",
	      err.msg);
	rc = rows_read(dst, 100, &r, &err);
	CHECK(rc == 0 && r.n == 3500 && !r.bad_batches &&
		      syn_compare(&r, 5000, false, want_not_mid, &matched) == 0,
	      "filter: rows around the dropped group (%s)", err.msg);
	rows_free(&r);
	f = open_out(dst, &fd);
	CHECK(f && f->m->nrgs == 2 && f->m->rgs[0].num_rows == 2000 &&
		      f->m->rgs[1].num_rows == 1500 &&
		      pq_file_num_rows(f) == 3500,
	      "filter: the empty row group left the footer");
	pq_file_free(f);
	if (fd >= 0)
		close(fd);

	plan.row_arg = (void *)(uintptr_t)want_none;
	rc = view_write(src, &plan, dst, &rows, &err);
	f = open_out(dst, &fd);
	CHECK(rc == 0 && rows == 0 && f && f->m->nrgs == 0 &&
		      pq_file_num_rows(f) == 0,
	      "filter: no rows left is an empty valid file (%s)", err.msg);
	pq_file_free(f);
	if (fd >= 0)
		close(fd);
	rc = rows_read(dst, 100, &r, &err);
	CHECK(rc == 0 && r.n == 0, "filter: empty file reads no rows");
	rows_free(&r);

	plan.row_arg = (void *)(uintptr_t)want_all;
	rc = view_write(src, &plan, dst, &rows, &err);
	rc = rc ? rc : rows_read(dst, 1000, &r, &err);
	CHECK(rc == 0 && rows == 5000 && r.n == 5000 &&
		      syn_compare(&r, 5000, false, NULL, &matched) == 0,
	      "filter: keeping every row re-encodes identical rows");
	rows_free(&r);
	unlink(dst);
	unlink(src);
}

/*
 * The level entries of every repeated leaf of a file, one string per row:
 * "rep.def[=value];" for each entry, values as hex bytes.
 */
static int rep_rows(const char *path, char ***out, size_t *nout)
{
	struct spot_err err = { { 0 } };
	struct pq_file *f = NULL;
	char **rows = NULL;
	size_t n = 0, g, c;
	int fd = open(path, O_RDONLY), rc;

	rc = fd < 0 ? -errno : pq_file_open(fd, &f, &err);
	if (!rc)
		rows = calloc((size_t)pq_file_num_rows(f) + 1, sizeof(*rows));
	for (g = 0; !rc && rows && g < f->m->nrgs; g++) {
		size_t base = n;

		for (c = 0; !rc && c < f->m->nleaves; c++) {
			const struct pq_leaf *l = &f->m->leaves[c];
			const struct pq_chunk *ch = &f->m->rgs[g].chunks[c];
			uint8_t *raw = malloc((size_t)ch->csize + 1);
			struct pq_chunk_rd rd;
			struct pq_page pg;
			size_t row = base - 1;

			if (!l->max_rep || !raw) {
				free(raw);
				continue;
			}
			rc = pq_pread_full(fd, raw, (size_t)ch->csize,
					   (uint64_t)ch->start);
			pq_chunk_rd_init(&rd, l, ch->codec, ch->num_values, raw,
					 (size_t)ch->csize);
			while (!rc &&
			       (rc = pq_chunk_next(&rd, &pg, &err)) == 1) {
				uint32_t i, vi = 0;

				rc = 0;
				for (i = 0; i < pg.num_values; i++) {
					char tok[96];
					const uint8_t *vp = NULL;
					uint32_t vl = 0, k2;
					size_t k, o;

					row += pg.rep[i] == 0;
					if (row >=
					    (size_t)pq_file_num_rows(f)) {
						rc = -EINVAL;
						break;
					}
					o = (size_t)snprintf(tok, sizeof(tok),
							     "%u.%u", pg.rep[i],
							     pg.def[i]);
					if (pg.def[i] == (uint32_t)l->max_def &&
					    vi < pg.vals.n) {
						tok[o++] = '=';
						vp = pg.vals.ba
							     ? pg.vals.ba[vi].p
							     : pg.vals.fixed +
								       (size_t)vi *
									       pg.vals.width;
						vl = pg.vals.ba ? pg.vals.ba[vi]
									  .len
								: pg.vals.width;
						vi++;
					}
					for (k2 = 0;
					     k2 < vl && o + 3 < sizeof(tok);
					     k2++)
						o += (size_t)snprintf(tok + o,
								      3, "%02x",
								      vp[k2]);
					tok[o] = 0;
					k = rows[row] ? strlen(rows[row]) : 0;
					rows[row] =
						realloc(rows[row], k + o + 2);
					memcpy(rows[row] + k, tok, o);
					rows[row][k + o] = ';';
					rows[row][k + o + 1] = 0;
				}
			}
			pq_chunk_rd_fini(&rd);
			free(raw);
			if (row + 1 > n)
				n = row + 1;
		}
	}
	pq_file_free(f);
	if (fd >= 0)
		close(fd);
	*out = rows;
	*nout = n;
	return rc < 0 ? rc : 0;
}

static void rep_rows_free(char **rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		free(rows[i]);
	free(rows);
}

/* A row filter over a file with a list column keeps every list whole. */
static void test_filter_nested(void)
{
	static const uint64_t rg[] = { 700, 300 };
	struct pipe_plan plan = { filter_fn, (void *)(uintptr_t)want_even,
				  NULL,	     0,
				  NULL,	     0,
				  NULL,	     NULL };
	struct spot_err err = { { 0 } };
	char src[600], dst[600], **a = NULL, **b = NULL;
	size_t na = 0, nb = 0, i, k = 0, bad = 0, nonempty = 0;
	uint64_t rows = 0;
	struct rows r;
	int rc;

	tmp_path(src, sizeof(src), "fn.parquet");
	tmp_path(dst, sizeof(dst), "fn.out.parquet");
	syn_write(src, rg, 2, true);
	rc = view_write(src, &plan, dst, &rows, &err);
	CHECK(rc == 0 && rows == 500,
	      "filter: a file with a list column is filtered (%s)", err.msg);
	if (rc)
		goto out;
	rc = rows_read(dst, 300, &r, &err);
	CHECK(rc == 0 && syn_compare(&r, 1000, true, want_even, &i) == 0,
	      "filter: flat columns of the kept rows (%s)", err.msg);
	if (!rc)
		rows_free(&r);
	rc = rep_rows(src, &a, &na);
	rc = rc ? rc : rep_rows(dst, &b, &nb);
	for (i = 0; !rc && i < na; i++) {
		if (!want_even(i))
			continue;
		bad += k >= nb || !a[i] || !b[k] || strcmp(a[i], b[k]);
		nonempty += a[i] && strchr(a[i], ';') != strrchr(a[i], ';');
		k++;
	}
	CHECK(rc == 0 && na == 1000 && nb == 500 && k == nb && !bad &&
		      nonempty > 50,
	      "filter: list entries of the kept rows, levels and values "
	      "(%zu rows, %zu bad, %zu lists of 2+)",
	      nb, bad, nonempty);
	rep_rows_free(a, na);
	rep_rows_free(b, nb);
out:
	unlink(dst);
	unlink(src);
}

/* List elements -> arg ("M", "7" or NULL for a NULL) when not NULL. */
static int elem_fn(void *arg, struct pipe_batch *b, size_t col,
		   struct spot_err *err)
{
	const char *out = arg;

	(void)err;
	for (size_t r = 0; r < b->nrows; r++) {
		if (b->in[r * b->ncols + col].type == PIPE_NULL)
			continue;
		if (pipe_batch_set(b, r, col, out, out ? strlen(out) : 0,
				   out ? PIPE_TEXT : PIPE_NULL))
			return -ENOMEM;
	}
	return 0;
}

/*
 * Row i's entries with value v in place of every value and value_def the
 * level of a value ("r.d" tokens as rep_rows writes them).
 */
static void expect_masked(const char *src, const char *v, uint32_t value_def,
			  char *out, size_t len)
{
	size_t o = 0;

	out[0] = 0;
	while (src && *src && o + 40 < len) {
		unsigned rep, def;
		const char *end = strchr(src, ';');

		if (sscanf(src, "%u.%u", &rep, &def) != 2 || !end)
			return;
		if (def == 3 && value_def == 3) /* a masked value */
			o += (size_t)snprintf(out + o, len - o, "%u.%u=%s;",
					      rep, value_def, v);
		else if (def == 3) /* masked to NULL */
			o += (size_t)snprintf(out + o, len - o, "%u.%u;", rep,
					      value_def);
		else
			o += (size_t)snprintf(out + o, len - o, "%u.%u;", rep,
					      def);
		src = end + 1;
	}
}

/* Masking a list column: element by element, levels and rows kept. */
static void test_mask_nested(void)
{
	static const uint64_t rg[] = { 600, 400 };
	static const struct {
		const char *out;
		bool keeps_type, filter;
		const char *hex; /* the masked value as rep_rows shows it */
		uint32_t def;	 /* its definition level */
	} cases[] = {
		{ "M", false, false, "4d", 3 },
		{ "7", true, false, "07000000", 3 },
		{ NULL, true, false, "", 2 },
		{ "M", false, true, "4d", 3 },
	};
	struct spot_err err = { { 0 } };
	char src[600], dst[600], **a = NULL, **b = NULL, exp[4096];
	size_t na = 0, nb = 0, i, k, bad, c, lc = 0;
	uint64_t rows;
	struct pq_file *f = NULL;
	int fd, rc;

	tmp_path(src, sizeof(src), "mn.parquet");
	tmp_path(dst, sizeof(dst), "mn.out.parquet");
	syn_write(src, rg, 2, true);
	fd = open(src, O_RDONLY);
	if (fd < 0 || pq_file_open(fd, &f, &err)) {
		CHECK(0, "mask list: source opens (%s)", err.msg);
		goto out;
	}
	for (lc = 0; lc < f->m->nleaves && !f->m->leaves[lc].max_rep; lc++)
		;
	pq_file_free(f);
	close(fd);
	rc = rep_rows(src, &a, &na);
	CHECK(rc == 0 && na == 1000, "mask list: source lists read");
	for (c = 0; c < SPOT_ARRAY_SIZE(cases); c++) {
		struct pipe_xform xf = { lc,
					 elem_fn,
					 (void *)cases[c].out,
					 cases[c].keeps_type,
					 false,
					 false };
		struct pipe_plan plan = { cases[c].filter ? filter_fn : NULL,
					  (void *)(uintptr_t)want_even,
					  &xf,
					  1,
					  NULL,
					  0,
					  NULL,
					  NULL };

		rc = view_write(src, &plan, dst, &rows, &err);
		rc = rc ? rc : rep_rows(dst, &b, &nb);
		for (i = k = bad = 0; !rc && i < na; i++) {
			if (cases[c].filter && !want_even(i))
				continue;
			expect_masked(a[i], cases[c].hex, cases[c].def, exp,
				      sizeof(exp));
			bad += k >= nb || !b[k] || strcmp(b[k], exp);
			k++;
		}
		CHECK(rc == 0 && k == nb && !bad &&
			      nb == (cases[c].filter ? 500u : 1000u),
		      "mask list: case %zu (%s): every element masked, levels "
		      "kept (%zu rows, %zu bad, %s)",
		      c, cases[c].out ? cases[c].out : "NULL", nb, bad,
		      err.msg);
		rep_rows_free(b, nb);
		b = NULL;
		nb = 0;
	}
	{
		struct pipe_xform xf = { lc,	elem_fn, (void *)"M",
					 false, true,	 false };
		struct pipe_plan plan = { NULL, NULL, &xf,  1,
					  NULL, 0,    NULL, NULL };

		rc = view_write(src, &plan, dst, &rows, &err);
		CHECK(rc == -ENOTSUP && strstr(err.msg, "inside a list") &&
			      strstr(err.msg, "l.list.element"),
		      "mask list: a transform reading whole rows is refused "
		      "(%s)",
		      err.msg);
	}
out:
	rep_rows_free(a, na);
	unlink(dst);
	unlink(src);
}

/* b from row 1500 on -> "x": a type change found late, in one worker. */
static int late_fn(void *arg, struct pipe_batch *b, size_t col,
		   struct spot_err *err)
{
	(void)arg;
	(void)err;
	for (size_t r = 0; r < b->nrows; r++)
		if (b->first_row + r >= 1500 &&
		    b->in[r * b->ncols + col].type != PIPE_NULL &&
		    pipe_batch_set(b, r, col, "x", 1, PIPE_TEXT))
			return -ENOMEM;
	return 0;
}

/* The test transforms keep no state: every worker may share the plan. */
static int same_plan(void *arg, const struct pipe_plan **plan,
		     struct spot_err *err)
{
	(void)err;
	*plan = arg;
	return 0;
}

/* The bytes of f's view under plan, built with opts. NULL on error. */
static uint8_t *view_bytes(struct pq_file *f, int fd,
			   const struct pipe_plan *plan,
			   const struct pq_build_opts *opts, uint64_t *size,
			   struct spot_err *err)
{
	struct pq_view *v = NULL;
	uint8_t *p = NULL;

	if (pq_view_build(f, fd, plan, opts, &v, err))
		return NULL;
	*size = pq_view_size(v);
	p = malloc(*size + 1);
	if (p && pq_view_read(v, fd, p, *size, 0) != (ssize_t)*size) {
		free(p);
		p = NULL;
	}
	pq_view_free(v);
	return p;
}

/*
 * Row groups built by 4 workers: a row filter, a masked list column and a
 * type change found late must give the bytes of a build on one thread.
 * (tests/run also runs this under ThreadSanitizer.)
 */
static void test_parallel(void)
{
	static const uint64_t rg[] = { 300, 500, 250, 700, 400,
				       350, 500, 300, 400, 300 };
	struct pipe_xform xf[2] = { { 4, late_fn, NULL, true, false, false },
				    { SYN_NESTED, elem_fn, (void *)"M", false,
				      false, false } };
	struct pipe_plan plan = { filter_fn, (void *)(uintptr_t)want_not_mid,
				  xf,	     2,
				  NULL,	     0,
				  NULL,	     NULL };
	struct pq_build_opts opts = { .threads = 4,
				      .more_plan = same_plan,
				      .arg = &plan };
	struct spot_err err = { { 0 } };
	struct pq_file *f = NULL;
	uint64_t n1 = 0, n2 = 0;
	uint8_t *one = NULL, *par = NULL;
	char src[600];
	int fd, rc;

	tmp_path(src, sizeof(src), "par.parquet");
	syn_write(src, rg, SPOT_ARRAY_SIZE(rg), true);
	fd = open(src, O_RDONLY);
	rc = fd < 0 ? -errno : pq_file_open(fd, &f, &err);
	CHECK(rc == 0 && f->m->nrgs == 10, "parallel: source opens (%s)",
	      err.msg);
	if (rc)
		goto out;
	one = view_bytes(f, fd, &plan, NULL, &n1, &err);
	par = view_bytes(f, fd, &plan, &opts, &n2, &err);
	CHECK(one && par && n1 == n2 && !memcmp(one, par, n1),
	      "parallel: 4 workers give the bytes of one (%" PRIu64
	      " bytes, %s)",
	      n1, err.msg);
	if (one) {
		struct pq_file *g = NULL;
		int ofd = memfd_create("par_out", 0);

		rc = ofd < 0 || write(ofd, one, n1) != (ssize_t)n1
			     ? -EIO
			     : pq_file_open(ofd, &g, &err);
		CHECK(rc == 0 && g->m->leaves[4].ptype == PQ_BYTE_ARRAY &&
			      g->m->leaves[SYN_NESTED].ptype == PQ_BYTE_ARRAY &&
			      g->m->num_rows == 2500,
		      "parallel: the late type change made b a string column "
		      "(%s)",
		      err.msg);
		pq_file_free(g);
		if (ofd >= 0)
			close(ofd);
	}
out:
	free(one);
	free(par);
	pq_file_free(f);
	if (fd >= 0)
		close(fd);
	unlink(src);
}

/* ---- fast text cells agree with pq_value_to_cell ---- */

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Values of one kind: mostly random bits, sometimes small or special. */
static void cell_value(int ptype, uint64_t i, uint8_t *v)
{
	static const double specials[] = {
		0.0,
		-0.0,
		1.0,
		-1.5,
		0.1,
		1e-4,
		9.99999e-5,
		1e16,
		9999999999999998.0,
		1e17,
		123456789.0,
		0.0001220703125,
		2.5e-4,
		1.0 / 3,
		5e-324,
		1.7976931348623157e308,
	};
	uint64_t x = rnd();
	int64_t s;
	double d;
	float f;

	switch (i % 4) {
	case 0: /* a few digits */
		s = (int64_t)(x % 2000001) - 1000000;
		memcpy(&x, &s, 8);
		break;
	case 1: /* magnitudes of everyday data */
		d = ((double)(x >> 11) / 9007199254740992.0 - 0.5) *
		    (double)(1ull << (x % 60));
		if (ptype == PQ_DOUBLE || ptype == PQ_FLOAT) {
			f = (float)d;
			if (ptype == PQ_FLOAT)
				memcpy(&x, &f, 4);
			else
				memcpy(&x, &d, 8);
		} else {
			s = (int64_t)d;
			memcpy(&x, &s, 8);
		}
		break;
	case 2:
		if (ptype == PQ_DOUBLE) {
			d = specials[x % SPOT_ARRAY_SIZE(specials)];
			memcpy(&x, &d, 8);
		} else if (ptype == PQ_FLOAT) {
			f = (float)specials[x % SPOT_ARRAY_SIZE(specials)];
			memcpy(&x, &f, 4);
		}
		break;
	default:
		break;
	}
	memcpy(v, &x, 8);
	x = rnd(); /* FIXED_LEN_BYTE_ARRAY(16) */
	memcpy(v + 8, &x, 8);
}

static void test_fast_cells(void)
{
	static const struct {
		int ptype, ltype, unit, scale;
	} kinds[] = {
		{ PQ_INT64, PQ_LT_NONE, 0, 0 },
		{ PQ_INT32, PQ_LT_INT, 0, 0 },
		{ PQ_INT32, PQ_LT_DECIMAL, 0, 2 },
		{ PQ_INT64, PQ_LT_DECIMAL, 0, 0 },
		{ PQ_INT64, PQ_LT_DECIMAL, 0, 7 },
		{ PQ_INT64, PQ_LT_DECIMAL, 0, 18 },
		{ PQ_INT64, PQ_LT_DECIMAL, 0, 25 },
		{ PQ_INT32, PQ_LT_DATE, 0, 0 },
		{ PQ_INT64, PQ_LT_DATE, 0, 0 },
		{ PQ_INT64, PQ_LT_TIMESTAMP, PQ_MILLIS, 0 },
		{ PQ_INT64, PQ_LT_TIMESTAMP, PQ_MICROS, 0 },
		{ PQ_INT64, PQ_LT_TIMESTAMP, PQ_NANOS, 0 },
		{ PQ_INT64, PQ_LT_TIME, PQ_MICROS, 0 },
		{ PQ_INT32, PQ_LT_STRING, 0, 0 },
		{ PQ_BOOLEAN, PQ_LT_NONE, 0, 0 },
		{ PQ_DOUBLE, PQ_LT_NONE, 0, 0 },
		{ PQ_FLOAT, PQ_LT_NONE, 0, 0 },
		{ PQ_BYTE_ARRAY, PQ_LT_STRING, 0, 0 },
		{ PQ_BYTE_ARRAY, PQ_LT_NONE, 0, 0 },
		{ PQ_FLBA, PQ_LT_UUID, 0, 0 },
	};
	struct spot_arena a;
	struct pipe_cell c1, c2;
	struct pq_leaf l;
	uint8_t v[16];
	size_t k, bad, total = 0;
	uint64_t i, n;

	spot_arena_init(&a);
	for (k = 0; k < SPOT_ARRAY_SIZE(kinds); k++) {
		memset(&l, 0, sizeof(l));
		l.ptype = kinds[k].ptype;
		l.ltype = kinds[k].ltype;
		l.unit = kinds[k].unit;
		l.scale = kinds[k].scale;
		l.precision = 38;
		l.type_length = 16;
		n = l.ptype == PQ_DOUBLE || l.ptype == PQ_FLOAT ? 400000
								: 40000;
		bad = 0;
		for (i = 0; i < n; i++) {
			uint32_t len = pq_type_width(l.ptype, 16);

			cell_value(l.ptype, i, v);
			if (l.ptype == PQ_BOOLEAN)
				v[0] &= 1;
			if (!len)
				len = (uint32_t)(i % 9);
			if (pq_rows_cell(&l, v, len, &a, &c1) ||
			    pq_value_to_cell(&l, v, len, &a, &c2)) {
				bad++;
				break;
			}
			if (c1.type != c2.type || c1.len != c2.len ||
			    memcmp(c1.p, c2.p, c1.len)) {
				if (!bad++)
					printf("# kind %zu: got %.*s want "
					       "%.*s\n",
					       k, (int)c1.len,
					       (const char *)c1.p, (int)c2.len,
					       (const char *)c2.p);
			}
			if (i % 1024 == 0)
				spot_arena_reset(&a);
		}
		total += bad;
		CHECK(bad == 0,
		      "fast cells: kind %zu (type %d, logical %d) "
		      "matches pq_value_to_cell on %" PRIu64 " values",
		      k, l.ptype, l.ltype, n);
	}
	spot_arena_fini(&a);
	(void)total;
}

/* ---- fixtures (tests/fixtures/make_parquet.mjs) ---- */

/* The line of fixture row i; email and qty as given when not NULL. */
static void fix_line(uint64_t i, bool tags, const char *email, const char *qty,
		     char *out, size_t len)
{
	static const char *const city[] = { "Paris", "Lyon", "Nice", "Oslo" };
	char name[32] = "~", em[64], q[16] = "~", born[16], seen[32];
	time_t t = (time_t)(i % 20000) * 86400;
	struct tm tm;

	if (i % 7)
		snprintf(name, sizeof(name), "name_%" PRIu64, i);
	snprintf(em, sizeof(em), "user%" PRIu64 "@example.com", i);
	if (i % 5)
		snprintf(q, sizeof(q), "%u", (unsigned)(i % 100));
	gmtime_r(&t, &tm);
	strftime(born, sizeof(born), "%Y-%m-%d", &tm);
	t = (time_t)1577836800 + (time_t)i * 37;
	gmtime_r(&t, &tm);
	strftime(seen, sizeof(seen), "%Y-%m-%d %H:%M:%S.000000", &tm);
	snprintf(out, len,
		 "%" PRIu64 "|%s|%s|%s|%.17g|%" PRIu64 ".%02u|%" PRIu64
		 ".%03u|%s|%s|%s|%s%s",
		 i, name, city[i % 4], email ? email : em, (double)i * 1.5 / 7,
		 i * 317 / 100, (unsigned)(i * 317 % 100), i * 12345678 / 1000,
		 (unsigned)(i * 12345678 % 1000), born, seen,
		 i % 3 ? "false" : "true", i % 5 && qty ? qty : q,
		 tags ? "|~" : "");
}

static void fixture_source(const char *dir, const char *name)
{
	struct spot_err err = { { 0 } };
	char path[1024], exp[LINE_MAX_LEN];
	size_t bad = 0, i;
	struct rows r;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	rc = rows_read(path, PIPE_BATCH_ROWS, &r, &err);
	CHECK(rc == 0 && r.n == 5000 && !r.bad_batches,
	      "%s: %zu rows read (%s)", name, r.n, err.msg);
	for (i = 0; i < r.n; i++) {
		fix_line(i, name[0] == 't', NULL, NULL, exp, sizeof(exp));
		if (strcmp(r.line[i], exp) && bad++ == 0)
			printf("# row %zu: got %s\n#   want %s\n", i, r.line[i],
			       exp);
	}
	CHECK(r.n && bad == 0, "%s: every row holds the generator's values",
	      name);
	rows_free(&r);
}

static uint64_t fix_id(const struct pipe_batch *b, size_t r)
{
	return cell_u64(&b->in[r * b->ncols]);
}

static int fix_filter(void *arg, struct pipe_batch *b, struct spot_err *err)
{
	(void)arg;
	(void)err;
	for (size_t r = 0; r < b->nrows; r++)
		b->keep[r] = fix_id(b, r) % 3 != 1;
	return 0;
}

/* email -> "m<id>" (another column), qty -> 7 keeping its type. */
static int fix_mask(void *arg, struct pipe_batch *b, size_t col,
		    struct spot_err *err)
{
	char buf[32];
	int n;

	(void)err;
	for (size_t r = 0; r < b->nrows; r++) {
		if (b->in[r * b->ncols + col].type == PIPE_NULL)
			continue;
		n = arg ? snprintf(buf, sizeof(buf), "m%" PRIu64, fix_id(b, r))
			: snprintf(buf, sizeof(buf), "7");
		if (pipe_batch_set(b, r, col, buf, (size_t)n,
				   arg ? PIPE_TEXT : PIPE_INT))
			return -ENOMEM;
	}
	return 0;
}

static void fixture_filter(const char *dir, const char *name,
			   const char *outdir)
{
	struct pipe_xform xf[2] = {
		{ 3, fix_mask, (void *)"e", false, false, false },
		{ 10, fix_mask, NULL, true, false, false }
	};
	struct pipe_plan plan = {
		fix_filter, NULL, xf, 2, NULL, 0, NULL, NULL
	};
	struct spot_err err = { { 0 } };
	char path[1024], dst[1024], exp[LINE_MAX_LEN], em[32];
	size_t bad = 0, k = 0;
	struct rows r;
	uint64_t rows = 0, i;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(dst, sizeof(dst), "%s/filtered_%s", outdir, name);
	rc = view_write(path, &plan, dst, &rows, &err);
	CHECK(rc == 0 && rows == 3333, "%s: filtered view (%s)", name, err.msg);
	rc = rc ? rc : rows_read(dst, 500, &r, &err);
	CHECK(rc == 0 && r.n == 3333, "%s: filtered view reads back (%s)", name,
	      err.msg);
	for (i = 0; !rc && i < 5000; i++) {
		if (i % 3 == 1)
			continue;
		snprintf(em, sizeof(em), "m%" PRIu64, i);
		fix_line(i, false, em, "7", exp, sizeof(exp));
		bad += k >= r.n || strcmp(r.line[k], exp);
		k++;
	}
	CHECK(!rc && bad == 0, "%s: kept rows whole and consistent", name);
	if (!rc)
		rows_free(&r);
}

/* A fixture with a list column: filtered, every kept row's list whole. */
static void fixture_filter_list(const char *dir, const char *name)
{
	struct pipe_plan plan = {
		fix_filter, NULL, NULL, 0, NULL, 0, NULL, NULL
	};
	struct spot_err err = { { 0 } };
	char path[1024], dst[1024], **a = NULL, **b = NULL;
	size_t na = 0, nb = 0, i, k = 0, bad = 0;
	uint64_t rows = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tmp_path(dst, sizeof(dst), "filtered_list.parquet");
	rc = view_write(path, &plan, dst, &rows, &err);
	CHECK(rc == 0 && rows == 3333, "%s: filtered with its list column (%s)",
	      name, err.msg);
	rc = rc ? rc : rep_rows(path, &a, &na);
	rc = rc ? rc : rep_rows(dst, &b, &nb);
	for (i = 0; !rc && i < na; i++) {
		if (i % 3 == 1)
			continue;
		bad += k >= nb || !a[i] || !b[k] || strcmp(a[i], b[k]);
		k++;
	}
	CHECK(rc == 0 && nb == 3333 && k == nb && !bad,
	      "%s: the kept rows' lists (%zu bad)", name, bad);
	rep_rows_free(a, na);
	rep_rows_free(b, nb);
	unlink(dst);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void fixtures(const char *dir, const char *outdir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *names[256];
	size_t n = 0, i, nflat = 0;

	CHECK(d != NULL, "fixture folder %s opens", dir);
	if (!d)
		return;
	while ((e = readdir(d)) && n < SPOT_ARRAY_SIZE(names)) {
		size_t l = strlen(e->d_name);

		if (l > 10 && !strcmp(e->d_name + l - 8, ".parquet") &&
		    (e->d_name[0] == 't' || e->d_name[0] == 'f') &&
		    e->d_name[1] == '_')
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	CHECK(n > 0, "fixtures found (%zu)", n);
	for (i = 0; i < n; i++) {
		fixture_source(dir, names[i]);
		if (names[i][0] == 't')
			fixture_filter_list(dir, names[i]);
		else if (outdir)
			fixture_filter(dir, names[i], outdir);
		nflat += names[i][0] == 'f';
		free(names[i]);
	}
	(void)nflat;
}

int main(int argc, char **argv)
{
	if (argc >= 3)
		snprintf(tmpdir, sizeof(tmpdir), "%s", argv[2]);
	test_fast_cells();
	test_source();
	test_source_misc();
	test_whole_row();
	test_filter_even();
	test_filter_masked();
	test_filter_groups();
	test_filter_nested();
	test_mask_nested();
	test_parallel();
	if (argc >= 2)
		fixtures(argv[1], argc >= 3 ? argv[2] : NULL);
	if (argc >= 4)
		fixtures(argv[3], argv[2]);
	return check_done();
}

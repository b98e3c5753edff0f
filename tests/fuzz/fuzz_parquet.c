/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_parquet.c - libFuzzer target over the Parquet footer and page
 * parsers: the input is opened as a Parquet file and viewed four ways:
 * nothing masked, every flat column masked (so every masked chunk's pages
 * are decoded and re-encoded), every other column masked, and a row filter
 * that rewrites every column (lists included) on two workers; each whole
 * view is read. Any crash, sanitizer report or leak is a bug; errors are
 * expected.
 *
 * The byte-range oracle (issue 11): for every view that builds, each source
 * range it serves lies in the file's data area, inside the chunks and bloom
 * filters of unmasked columns, and shares no byte with a masked column's
 * chunk or bloom filter or with another served range; a row-filtered view
 * serves no source byte at all. A violation aborts (a crash to libFuzzer).
 *
 * The raw-canary oracle (issue 17): every value the mask replaced (to "X"
 * or NULL) is a canary. The served file is decoded again (every page of
 * the masked columns, compressed or not, through the same reader) and no
 * cell of a masked column may equal a canary, unless the mask left an equal
 * value in place elsewhere ("kept"). The served bytes themselves may not
 * contain a canary of 8 bytes or more (at least 4 distinct bytes) that the
 * source holds nowhere outside the masked chunks and that no kept value
 * contains: a masked page or dictionary copied instead of re-encoded.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... fuzz_parquet.c
 *   gcc ... fuzz_parquet.c fuzz_main.c && ./fuzz_parquet FILE...
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CN_MAX 64	      /* canaries kept per view */
#define CN_KEPT_MAX 2048      /* kept values per view */
#define CN_OUT_MAX (4u << 20) /* served bytes checked per view */

/* A value seen by the mask: copied, as the batch's arena is reset. */
struct cn_val {
	uint8_t *p;
	size_t len;
};

/* The raw-canary oracle's record of one view build. */
struct canary {
	struct cn_val can[CN_MAX];
	size_t ncan;
	struct cn_val kept[CN_KEPT_MAX];
	size_t nkept;
	bool kept_full; /* some kept value was not recorded: no check */
	const struct pipe_plan *plan; /* the view's plan (masked columns) */
};

static struct canary cn;

static void cn_reset(void)
{
	for (size_t i = 0; i < cn.ncan; i++)
		free(cn.can[i].p);
	for (size_t i = 0; i < cn.nkept; i++)
		free(cn.kept[i].p);
	memset(&cn, 0, sizeof(cn));
}

static void cn_add(struct cn_val *v, const struct pipe_cell *c)
{
	v->p = malloc(c->len + 1);
	if (!v->p)
		abort();
	memcpy(v->p, c->p, c->len);
	v->len = c->len;
}

static bool cn_eq(const struct cn_val *v, const uint8_t *p, size_t len)
{
	return v->len == len && !memcmp(v->p, p, len);
}

/* Whether the mask left a value equal to (or containing) p in place. */
static bool cn_kept(const uint8_t *p, size_t len, bool contains)
{
	for (size_t i = 0; i < cn.nkept; i++)
		if (contains ? memmem(cn.kept[i].p, cn.kept[i].len, p, len) !=
				       NULL
			     : cn_eq(&cn.kept[i], p, len))
			return true;
	return len == 1 && p[0] == 'X';
}

static int fuzz_fn(void *arg, struct pipe_batch *b, size_t col,
		   struct spot_err *err)
{
	struct canary *st = arg;
	size_t r;

	(void)err;
	for (r = 0; r < b->nrows; r++) {
		const struct pipe_cell *c = &b->in[r * b->ncols + col];
		bool repl = c->type != PIPE_NULL && r % 3 != 0;

		/* Alternate unchanged, replaced and NULL outputs. */
		if (r % 3 == 1 && pipe_batch_set(b, r, col, "X", 1, PIPE_TEXT))
			return -ENOMEM;
		if (r % 3 == 2 && c->type != PIPE_NULL &&
		    pipe_batch_set(b, r, col, NULL, 0, PIPE_NULL))
			return -ENOMEM;
		if (!st || c->type == PIPE_NULL)
			continue;
		if (repl && st->ncan < CN_MAX)
			cn_add(&st->can[st->ncan++], c);
		else if (!repl && st->nkept < CN_KEPT_MAX)
			cn_add(&st->kept[st->nkept++], c);
		else if (!repl)
			st->kept_full = true;
	}
	return 0;
}

/* Drops every third row. */
static int fuzz_row(void *arg, struct pipe_batch *b, struct spot_err *err)
{
	(void)arg;
	(void)err;
	for (size_t r = 0; r < b->nrows; r++)
		b->keep[r] = (b->first_row + r) % 3 != 0;
	return 0;
}

/* The fuzz transforms keep no state: every worker may share one plan. */
static int fuzz_more_plan(void *arg, const struct pipe_plan **plan,
			  struct spot_err *err)
{
	(void)err;
	*plan = arg;
	return 0;
}

static void oracle_fail(const char *what, const struct pq_range *r)
{
	fprintf(stderr,
		"fuzz_parquet: byte-range oracle: %s (source range "
		"%llu+%llu)\n",
		what, r ? (unsigned long long)r->off : 0ULL,
		r ? (unsigned long long)r->len : 0ULL);
	abort();
}

static bool range_meets(const struct pq_range *a, const struct pq_range *b)
{
	return a->off < b->off + b->len && b->off < a->off + a->len;
}

static int range_cmp(const void *a, const void *b)
{
	const struct pq_range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Whether column col is masked by plan. */
static bool plan_masks(const struct pipe_plan *plan, size_t col)
{
	for (size_t i = 0; plan && i < plan->nxf; i++)
		if (plan->xf[i].col == col)
			return true;
	return false;
}

/*
 * The chunks and bloom filters of every chunk of f, split by whether plan
 * masks their column: allowed (unmasked) into ok, the others into bad.
 * Counts into *nok, *nbad; the arrays hold 2 * chunks entries.
 */
static void oracle_ranges(const struct pq_file *f, const struct pipe_plan *plan,
			  struct pq_range *ok, size_t *nok,
			  struct pq_range *bad, size_t *nbad)
{
	const struct pipe_col *cols;
	size_t ncols, g, c;
	struct pq_range r;

	pq_file_columns(f, &cols, &ncols);
	for (g = 0; g < pq_file_num_rowgroups(f); g++) {
		for (c = 0; c < ncols; c++) {
			bool masked = plan_masks(plan, c);

			if (!pq_file_chunk_range(f, g, c, &r)) {
				if (masked)
					bad[(*nbad)++] = r;
				else
					ok[(*nok)++] = r;
			}
			if (!pq_file_bloom_range(f, g, c, &r)) {
				if (masked)
					bad[(*nbad)++] = r;
				else
					ok[(*nok)++] = r;
			}
		}
	}
}

/* Whether ok[0..n) (sorted) covers r without a gap. */
static bool covered(const struct pq_range *ok, size_t n,
		    const struct pq_range *r)
{
	uint64_t at = r->off, end = r->off + r->len;

	for (size_t i = 0; i < n && at < end; i++)
		if (ok[i].off <= at && ok[i].off + ok[i].len > at)
			at = ok[i].off + ok[i].len;
	return at >= end;
}

static void oracle(const struct pq_file *f, const struct pq_view *v,
		   const struct pipe_plan *plan, uint64_t data_end)
{
	const struct pipe_col *cols;
	struct pq_range *ok, *bad, *srv;
	size_t ncols, nchunks, nok = 0, nbad = 0, nsrv, i, j;

	pq_file_columns(f, &cols, &ncols);
	nchunks = pq_file_num_rowgroups(f) * ncols;
	nsrv = pq_view_src_ranges(v, NULL, 0);
	if (plan && plan->row_fn && nsrv)
		oracle_fail("a row-filtered view serves source bytes", NULL);
	ok = calloc(2 * nchunks + 1, sizeof(*ok));
	bad = calloc(2 * nchunks + 1, sizeof(*bad));
	srv = calloc(nsrv + 1, sizeof(*srv));
	if (!ok || !bad || !srv)
		abort();
	oracle_ranges(f, plan, ok, &nok, bad, &nbad);
	qsort(ok, nok, sizeof(*ok), range_cmp);
	pq_view_src_ranges(v, srv, nsrv);
	for (i = 0; i < nsrv; i++) {
		if (srv[i].off < 4 || srv[i].off > data_end ||
		    srv[i].len > data_end - srv[i].off)
			oracle_fail("served outside the data area", &srv[i]);
		if (!covered(ok, nok, &srv[i]))
			oracle_fail("served outside the unmasked chunks and "
				    "bloom filters",
				    &srv[i]);
		for (j = 0; j < nbad; j++)
			if (range_meets(&srv[i], &bad[j]))
				oracle_fail("served bytes of a masked column",
					    &srv[i]);
		for (j = 0; j < i; j++)
			if (range_meets(&srv[i], &srv[j]))
				oracle_fail("a source byte served twice",
					    &srv[i]);
	}
	free(ok);
	free(bad);
	free(srv);
}

static void cn_fail(const char *what)
{
	fprintf(stderr, "fuzz_parquet: raw-canary oracle: %s\n", what);
	abort();
}

/* Decoding the served file again: no masked cell may equal a canary. */
static int cn_check_fn(void *arg, struct pipe_batch *b, size_t col,
		       struct spot_err *err)
{
	(void)arg;
	(void)err;
	for (size_t r = 0; r < b->nrows; r++) {
		const struct pipe_cell *c = &b->in[r * b->ncols + col];

		if (c->type == PIPE_NULL)
			continue;
		for (size_t i = 0; i < cn.ncan; i++)
			if (cn_eq(&cn.can[i], c->p, c->len) &&
			    !cn_kept(c->p, c->len, false))
				cn_fail("a replaced value decodes from the "
					"served file");
	}
	return 0;
}

/* Few distinct bytes (a run of zeros, an int) match encodings by chance. */
static bool cn_distinct(const struct cn_val *v)
{
	bool seen[256] = { false };
	size_t n = 0;

	for (size_t i = 0; i < v->len; i++)
		if (!seen[v->p[i]]) {
			seen[v->p[i]] = true;
			n++;
		}
	return v->len >= 8 && n >= 4;
}

/*
 * The raw-canary oracle over one served file (out, len): raw bytes first,
 * then the masked columns decoded from a copy of it.
 */
static void cn_check(const struct pq_file *f, const uint8_t *src, size_t slen,
		     const uint8_t *out, size_t len)
{
	const struct pipe_plan *plan = cn.plan;
	struct pipe_xform xf[32];
	struct pipe_plan chk = { 0 };
	struct spot_err err;
	struct pq_file *of;
	struct pq_view *v;
	uint8_t *hid;
	size_t i, ng, nc, g, c;
	const struct pipe_col *cols;
	int fd;

	if (cn.kept_full || !cn.ncan)
		return;
	/* The source with every masked chunk and bloom filter blanked. */
	hid = malloc(slen + 1);
	if (!hid)
		abort();
	memcpy(hid, src, slen);
	pq_file_columns(f, &cols, &nc);
	ng = pq_file_num_rowgroups(f);
	for (g = 0; g < ng; g++)
		for (c = 0; c < nc; c++) {
			struct pq_range r;

			if (!plan_masks(plan, c))
				continue;
			if (!pq_file_chunk_range(f, g, c, &r) && r.off < slen)
				memset(hid + r.off, 0,
				       r.len < slen - r.off ? r.len
							    : slen - r.off);
			if (!pq_file_bloom_range(f, g, c, &r) && r.off < slen)
				memset(hid + r.off, 0,
				       r.len < slen - r.off ? r.len
							    : slen - r.off);
		}
	for (i = 0; i < cn.ncan; i++) {
		const struct cn_val *k = &cn.can[i];

		if (cn_distinct(k) && memmem(out, len, k->p, k->len) &&
		    !memmem(hid, slen, k->p, k->len) &&
		    !cn_kept(k->p, k->len, true))
			cn_fail("a replaced value is in the served bytes");
	}
	free(hid);

	fd = memfd_create("fuzz_parquet_out", 0);
	if (fd < 0)
		return;
	if (write(fd, out, len) != (ssize_t)len || pq_file_open(fd, &of, &err))
		goto out;
	pq_file_columns(of, &cols, &c);
	for (i = 0; i < plan->nxf && chk.nxf < 32; i++) {
		if (plan->xf[i].col >= c ||
		    pq_column_check_maskable(of, plan->xf[i].col, &err))
			continue;
		xf[chk.nxf] = (struct pipe_xform){ .col = plan->xf[i].col,
						   .fn = cn_check_fn,
						   .keeps_type = true };
		chk.nxf++;
	}
	chk.xf = xf;
	if (chk.nxf && !pq_view_build(of, fd, &chk, NULL, &v, &err))
		pq_view_free(v);
	pq_file_free(of);
out:
	close(fd);
}

static void fuzz_view(struct pq_file *f, int fd, const struct pipe_plan *plan,
		      unsigned threads, uint64_t data_end, const uint8_t *src,
		      size_t slen)
{
	static uint8_t buf[1 << 16];
	struct pq_build_opts opts = { .threads = threads,
				      .more_plan = fuzz_more_plan,
				      .arg = (void *)plan };
	struct spot_err err;
	struct pq_view *v;
	uint64_t off = 0;
	uint8_t *out = NULL;
	bool masks = plan && plan->nxf;

	cn_reset();
	cn.plan = plan;
	if (pq_view_build(f, fd, plan, &opts, &v, &err))
		return;
	oracle(f, v, plan, data_end);
	if (masks && pq_view_size(v) <= CN_OUT_MAX) {
		out = malloc(pq_view_size(v) + 1);
		if (!out)
			abort();
	}
	while (off < pq_view_size(v)) {
		ssize_t n = pq_view_read(v, fd, buf, sizeof(buf), off);

		if (n <= 0)
			break;
		if (out)
			memcpy(out + off, buf, (size_t)n);
		off += (uint64_t)n;
	}
	if (out && off == pq_view_size(v))
		cn_check(f, src, slen, out, (size_t)off);
	free(out);
	pq_view_free(v);
	cn_reset();
}

/* The footer's offset from the trailer (0 if there is none). */
static uint64_t data_end_of(const uint8_t *data, size_t size)
{
	uint32_t flen;

	if (size < 12)
		return 0;
	flen = (uint32_t)data[size - 8] | (uint32_t)data[size - 7] << 8 |
	       (uint32_t)data[size - 6] << 16 | (uint32_t)data[size - 5] << 24;
	return flen > size - 12 ? 0 : size - 8 - flen;
}

/* Mask columns whose index i has (i & every) == 0 (every 0: all). */
static void fuzz_plan(struct pq_file *f, struct pipe_xform *xf, size_t max,
		      size_t every, struct pipe_plan *plan)
{
	const struct pipe_col *cols;
	struct spot_err err;
	size_t ncols, i;

	memset(plan, 0, sizeof(*plan));
	pq_file_columns(f, &cols, &ncols);
	for (i = 0; i < ncols && plan->nxf < max; i++) {
		if ((i & every) || pq_column_check_maskable(f, i, &err))
			continue;
		xf[plan->nxf].col = i;
		xf[plan->nxf].fn = fuzz_fn;
		xf[plan->nxf].arg = &cn;
		xf[plan->nxf].keeps_type = (i & 1) != 0;
		xf[plan->nxf].needs_row = (i & 2) != 0; /* both decode paths */
		plan->nxf++;
	}
	plan->xf = xf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pipe_xform xf[32];
	struct pipe_plan plan, half,
		filter = { fuzz_row, NULL, NULL, 0, NULL, 0 };
	struct spot_err err;
	struct pq_file *f;
	uint64_t data_end = data_end_of(data, size);
	int fd = memfd_create("fuzz_parquet", 0);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size)
		goto out;
	if (pq_file_open(fd, &f, &err))
		goto out;
	fuzz_view(f, fd, NULL, 1, data_end, data, size);
	fuzz_plan(f, xf, 32, 0, &plan);
	fuzz_view(f, fd, &plan, 1, data_end, data, size);
	fuzz_plan(f, xf, 32, 1, &half); /* even columns masked, odd served */
	fuzz_view(f, fd, &half, 1, data_end, data, size);
	fuzz_view(f, fd, &filter, 2, data_end, data, size);
	pq_file_free(f);
out:
	close(fd);
	return 0;
}

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
 *   clang -fsanitize=fuzzer,address,undefined ... fuzz_parquet.c
 *   gcc -DFUZZ_STANDALONE ... fuzz_parquet.c && ./fuzz_parquet FILE...
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

static int fuzz_fn(void *arg, struct pipe_batch *b, size_t col,
		   struct spot_err *err)
{
	size_t r;

	(void)arg;
	(void)err;
	for (r = 0; r < b->nrows; r++) {
		const struct pipe_cell *c = &b->in[r * b->ncols + col];

		/* Alternate unchanged, replaced and NULL outputs. */
		if (r % 3 == 1 && pipe_batch_set(b, r, col, "X", 1, PIPE_TEXT))
			return -ENOMEM;
		if (r % 3 == 2 && c->type != PIPE_NULL &&
		    pipe_batch_set(b, r, col, NULL, 0, PIPE_NULL))
			return -ENOMEM;
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

static void fuzz_view(struct pq_file *f, int fd, const struct pipe_plan *plan,
		      unsigned threads, uint64_t data_end)
{
	static uint8_t buf[1 << 16];
	struct pq_build_opts opts = { .threads = threads,
				      .more_plan = fuzz_more_plan,
				      .arg = (void *)plan };
	struct spot_err err;
	struct pq_view *v;
	uint64_t off = 0;

	if (pq_view_build(f, fd, plan, &opts, &v, &err))
		return;
	oracle(f, v, plan, data_end);
	while (off < pq_view_size(v)) {
		ssize_t n = pq_view_read(v, fd, buf, sizeof(buf), off);

		if (n <= 0)
			break;
		off += (uint64_t)n;
	}
	pq_view_free(v);
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
		xf[plan->nxf].arg = NULL;
		xf[plan->nxf].keeps_type = (i & 1) != 0;
		xf[plan->nxf].needs_row = (i & 2) != 0; /* both decode paths */
		plan->nxf++;
	}
	plan->xf = xf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pipe_xform xf[32];
	struct pipe_plan plan, half, filter = { fuzz_row, NULL, NULL, 0 };
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
	fuzz_view(f, fd, NULL, 1, data_end);
	fuzz_plan(f, xf, 32, 0, &plan);
	fuzz_view(f, fd, &plan, 1, data_end);
	fuzz_plan(f, xf, 32, 1, &half); /* even columns masked, odd served */
	fuzz_view(f, fd, &half, 1, data_end);
	fuzz_view(f, fd, &filter, 2, data_end);
	pq_file_free(f);
out:
	close(fd);
	return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		FILE *fp = fopen(argv[i], "rb");
		uint8_t *p;
		long n;

		if (!fp || fseek(fp, 0, SEEK_END) || (n = ftell(fp)) < 0) {
			perror(argv[i]);
			return 1;
		}
		rewind(fp);
		p = malloc((size_t)n + 1);
		if (!p || fread(p, 1, (size_t)n, fp) != (size_t)n) {
			perror(argv[i]);
			return 1;
		}
		fclose(fp);
		LLVMFuzzerTestOneInput(p, (size_t)n);
		free(p);
	}
	return 0;
}
#endif

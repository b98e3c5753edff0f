/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_parquet.c - libFuzzer target over the Parquet footer and page
 * parsers: the input is opened as a Parquet file, every flat column is
 * masked (so every masked chunk's pages are decoded and re-encoded), then
 * a row filter rewrites every column (lists included) on two workers, and
 * each whole view is read. Any crash, sanitizer report or leak is a bug; errors
 * are expected.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... fuzz_parquet.c
 *   gcc -DFUZZ_STANDALONE ... fuzz_parquet.c && ./fuzz_parquet FILE...
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

static void fuzz_view(struct pq_file *f, int fd, const struct pipe_plan *plan,
		      unsigned threads)
{
	static uint8_t buf[1 << 16];
	struct pq_build_opts opts = { threads, fuzz_more_plan, (void *)plan };
	struct spot_err err;
	struct pq_view *v;
	uint64_t off = 0;

	if (pq_view_build(f, fd, plan, &opts, &v, &err))
		return;
	while (off < pq_view_size(v)) {
		ssize_t n = pq_view_read(v, fd, buf, sizeof(buf), off);

		if (n <= 0)
			break;
		off += (uint64_t)n;
	}
	pq_view_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pipe_xform xf[32];
	struct pipe_plan plan = { 0 }, filter = { fuzz_row, NULL, NULL, 0 };
	const struct pipe_col *cols;
	struct spot_err err;
	struct pq_file *f;
	size_t ncols, i;
	int fd = memfd_create("fuzz_parquet", 0);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size)
		goto out;
	if (pq_file_open(fd, &f, &err))
		goto out;
	pq_file_columns(f, &cols, &ncols);
	for (i = 0; i < ncols && plan.nxf < 32; i++) {
		if (pq_column_check_maskable(f, i, &err))
			continue;
		xf[plan.nxf].col = i;
		xf[plan.nxf].fn = fuzz_fn;
		xf[plan.nxf].arg = NULL;
		xf[plan.nxf].keeps_type = (i & 1) != 0;
		xf[plan.nxf].needs_row = (i & 2) != 0; /* both decode paths */
		plan.nxf++;
	}
	plan.xf = xf;
	fuzz_view(f, fd, NULL, 1);
	fuzz_view(f, fd, &plan, 1);
	fuzz_view(f, fd, &filter, 2);
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

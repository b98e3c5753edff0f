/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_csv.c - libFuzzer target for the CSV reader and writer.
 *
 * The first input byte picks the delimiter (or detection) and a chunk size;
 * the rest is the CSV. Beyond "no crash, no leak", it checks:
 *   - a zero-copy read and a chunked read (tiny chunks, tiny batches) give
 *     the same columns, cells and line ends, or the same error message;
 *   - an accepted input is written back byte for byte;
 *   - with column 0 replaced by the last column's value (any bytes), the
 *     written file reads back to exactly the values written.
 *
 *   tests/fuzz/run 60 csv   (builds it with clang and every masking/
 *                            source, then fuzzes for 60 s)
 * Linked with fuzz_main.c (no -fsanitize=fuzzer) it replays the files
 * named on the command line, so the unit suite can run a corpus.
 */
#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_SMALL_BATCH 3

struct fz_res {
	int rc;
	struct spot_err err;
	char delim;
	size_t ncols;
	struct spot_buf full;	 /* names, cells with flags, line ends */
	struct spot_buf content; /* cell bytes only; col 0 swapped if xform */
	struct spot_buf out;	 /* the sink's output */
};

static void fz_fail(const char *what)
{
	fprintf(stderr, "fuzz_csv: oracle failed: %s\n", what);
	abort();
}

static void fz_put(struct spot_buf *d, const uint8_t *p, size_t len,
		   uint8_t tag)
{
	if (spot_buf_append(d, &len, sizeof(len)) ||
	    spot_buf_append(d, p, len) || spot_buf_putc(d, tag))
		fz_fail("out of memory");
}

/* Record a batch; with xform set column 0 to a copy of the last column. */
static void fz_batch(struct fz_res *res, struct pipe_batch *b, bool xform)
{
	size_t r, c, n = b->ncols;

	for (r = 0; r < b->nrows; r++) {
		const struct pipe_cell *in = &b->in[r * n];
		struct pipe_cell *o = &b->out[r * n];

		for (c = 0; c < n; c++) {
			const struct pipe_cell *v =
				xform && !c ? &in[n - 1] : &in[c];

			fz_put(&res->full, in[c].p, in[c].len, in[c].flags);
			fz_put(&res->content, v->p, v->len, 0);
		}
		fz_put(&res->full, NULL, 0, (uint8_t)b->rowmeta[r]);
		if (!xform)
			continue;
		o->len = in[n - 1].len;
		o->p = spot_arena_dup(&b->arena, in[n - 1].p, o->len);
		o->type = PIPE_TEXT;
		o->flags = PIPE_F_SET;
		if (!o->p)
			fz_fail("out of memory");
	}
}

static void fz_run(const uint8_t *p, size_t len, char delim, size_t chunk,
		   size_t cap, bool xform, struct fz_res *res)
{
	const struct pipe_col *cols;
	struct csv_reader *r = NULL;
	struct csv_writer *w = NULL;
	struct pipe_batch b;
	size_t i, ncols = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&b, 0, sizeof(b));
	rc = csv_reader_open_mem(p, len, delim, &r);
	if (!rc && chunk)
		rc = csv_reader_set_chunk(r, chunk);
	if (!rc)
		rc = csv_source_ops.columns(r, &cols, &ncols, &res->err);
	if (rc)
		goto out;
	res->ncols = ncols;
	res->delim =
		((const struct csv_dialect *)csv_source_ops.dialect(r))->delim;
	for (i = 0; i < ncols; i++) {
		fz_put(&res->full, (const uint8_t *)cols[i].name,
		       cols[i].name_len, cols[i].flags);
		fz_put(&res->content, (const uint8_t *)cols[i].name,
		       cols[i].name_len, 0);
	}
	b.ncols = ncols;
	b.cap = cap;
	b.in = calloc(ncols * cap + 1, sizeof(*b.in));
	b.out = calloc(ncols * cap + 1, sizeof(*b.out));
	b.keep = calloc(cap, 1);
	b.rowmeta = calloc(cap, sizeof(*b.rowmeta));
	spot_arena_init(&b.arena);
	spot_arena_init(&b.src_arena);
	if (!b.in || !b.out || !b.keep || !b.rowmeta)
		fz_fail("out of memory");
	rc = csv_writer_new(&res->out, &w);
	/* The codec's round trip: the formula guard (csv.h, tested in
	 * test_csv.c) would change cells that start with '=' and the like. */
	if (!rc)
		csv_writer_guard(w, false);
	if (!rc)
		rc = csv_sink_ops.begin(w, cols, ncols,
					csv_source_ops.dialect(r), &res->err);
	while (!rc) {
		memset(b.out, 0, (ncols * cap + 1) * sizeof(*b.out));
		spot_arena_reset(&b.arena);
		rc = csv_source_ops.next_batch(r, &b, &res->err);
		if (rc || !b.nrows)
			break;
		fz_batch(res, &b, xform);
		rc = csv_sink_ops.rows(w, &b, &res->err);
	}
	if (!rc)
		rc = csv_sink_ops.end(w, &res->err);
out:
	res->rc = rc;
	free(b.in);
	free(b.out);
	free(b.keep);
	free(b.rowmeta);
	spot_arena_fini(&b.arena);
	spot_arena_fini(&b.src_arena);
	csv_writer_free(w);
	csv_reader_free(r);
}

static void fz_res_fini(struct fz_res *res)
{
	spot_buf_fini(&res->full);
	spot_buf_fini(&res->content);
	spot_buf_fini(&res->out);
}

static bool fz_eq(const struct spot_buf *a, const void *p, size_t len)
{
	return a->len == len && (!len || !memcmp(a->p, p, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delims[8] = { ',', ';', '\t', '|', 0, ',', ':', 0 };
	struct fz_res a, b, c, d;
	char delim;
	size_t chunk;

	if (!size)
		return 0;
	delim = delims[data[0] & 7];
	chunk = 1 + (size_t)(data[0] >> 3) * 3;
	data++;
	size--;

	fz_run(data, size, delim, 0, PIPE_BATCH_ROWS, false, &a);
	fz_run(data, size, delim, chunk, FZ_SMALL_BATCH, false, &b);
	if (a.rc != b.rc || strcmp(a.err.msg, b.err.msg))
		fz_fail("zero-copy and chunked reads disagree on errors");
	if (!a.rc) {
		if (!fz_eq(&a.full, b.full.p, b.full.len))
			fz_fail("zero-copy and chunked reads disagree on "
				"cells");
		if (!fz_eq(&a.out, data, size) || !fz_eq(&b.out, data, size))
			fz_fail("round trip is not byte-identical");
	}
	if (!a.rc && a.ncols) {
		fz_run(data, size, delim, 0, FZ_SMALL_BATCH + 4, true, &c);
		if (c.rc)
			fz_fail("transformed run failed");
		fz_run(c.out.p, c.out.len, a.delim, 0, PIPE_BATCH_ROWS, false,
		       &d);
		if (d.rc || !fz_eq(&d.content, c.content.p, c.content.len))
			fz_fail("transformed output does not read back");
		fz_res_fini(&c);
		fz_res_fini(&d);
	}
	fz_res_fini(&a);
	fz_res_fini(&b);
	return 0;
}

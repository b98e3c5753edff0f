/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_pipe.c - the view pipeline with an in-memory source and sink:
 * batching, row filter, transforms, error propagation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pipe.h"

#define ROWS 2500 /* more than two batches */

struct mem_src {
	struct pipe_col cols[2];
	size_t next;
	size_t rows;
	char vals[ROWS][2][16];
};

static int src_columns(void *s, const struct pipe_col **cols, size_t *n,
		       struct spot_err *err)
{
	struct mem_src *m = s;

	(void)err;
	*cols = m->cols;
	*n = 2;
	return 0;
}

static int src_next(void *s, struct pipe_batch *b, struct spot_err *err)
{
	struct mem_src *m = s;

	(void)err;
	while (b->nrows < b->cap && m->next < m->rows) {
		for (size_t c = 0; c < 2; c++) {
			struct pipe_cell *cell = &b->in[b->nrows * 2 + c];

			cell->p = (const uint8_t *)m->vals[m->next][c];
			cell->len = strlen(m->vals[m->next][c]);
			cell->type = PIPE_TEXT;
		}
		b->nrows++;
		m->next++;
	}
	return 0;
}

static const struct pipe_source_ops src_ops = { src_columns, src_next, NULL };

struct mem_sink {
	struct spot_buf out;
	int begun, ended;
};

static int sink_begin(void *s, const struct pipe_col *cols, size_t n,
		      const void *dialect, struct spot_err *err)
{
	struct mem_sink *k = s;

	(void)cols;
	(void)dialect;
	(void)err;
	k->begun = (int)n;
	return 0;
}

static int sink_rows(void *s, const struct pipe_batch *b, struct spot_err *e)
{
	struct mem_sink *k = s;

	(void)e;
	for (size_t r = 0; r < b->nrows; r++) {
		if (!b->keep[r])
			continue;
		for (size_t c = 0; c < b->ncols; c++) {
			const struct pipe_cell *cell = pipe_batch_cell(b, r, c);

			spot_buf_append(&k->out, cell->p, cell->len);
			spot_buf_putc(&k->out, c + 1 < b->ncols ? ',' : '\n');
		}
	}
	return 0;
}

static int sink_end(void *s, struct spot_err *err)
{
	struct mem_sink *k = s;

	(void)err;
	k->ended = 1;
	return 0;
}

static const struct pipe_sink_ops sink_ops = { sink_begin, sink_rows,
					       sink_end };

/* Upper-case column col. */
static int xf_upper(void *arg, struct pipe_batch *b, size_t col,
		    struct spot_err *err)
{
	(void)arg;
	(void)err;
	for (size_t r = 0; r < b->nrows; r++) {
		const struct pipe_cell *in = &b->in[r * b->ncols + col];
		char tmp[16];

		for (size_t i = 0; i < in->len; i++)
			tmp[i] = (char)(in->p[i] >= 'a' && in->p[i] <= 'z'
						? in->p[i] - 32
						: in->p[i]);
		if (pipe_batch_set(b, r, col, tmp, in->len, PIPE_TEXT))
			return -ENOMEM;
	}
	return 0;
}

/* Keep rows whose source index is odd. */
static int row_odd(void *arg, struct pipe_batch *b, struct spot_err *err)
{
	(void)arg;
	(void)err;
	for (size_t r = 0; r < b->nrows; r++)
		b->keep[r] = (b->first_row + r) % 2 == 1;
	return 0;
}

static int xf_fail(void *arg, struct pipe_batch *b, size_t col,
		   struct spot_err *err)
{
	(void)arg;
	(void)b;
	(void)col;
	spot_err_set(err, "policy failed");
	return -EIO;
}

static struct mem_src *src_new(void)
{
	struct mem_src *m = calloc(1, sizeof(*m));

	m->cols[0].name = (char *)"id";
	m->cols[0].name_len = 2;
	m->cols[1].name = (char *)"name";
	m->cols[1].name_len = 4;
	m->rows = ROWS;
	for (size_t i = 0; i < ROWS; i++) {
		snprintf(m->vals[i][0], 16, "%zu", i);
		snprintf(m->vals[i][1], 16, "abc%zu", i);
	}
	return m;
}

/* spot_buf_json_str and spot_printable (spot.c): names from data. */
static void test_json_and_printable(void)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{ "plain", "\"plain\"" },
		{ "q\"b\\", "\"q\\\"b\\\\\"" },
		{ "nl\n\x1b[2J", "\"nl\\u000a\\u001b[2J\"" },
		{ "caf\xc3\xa9 \xe2\x80\xa8", "\"caf\xc3\xa9 \xe2\x80\xa8\"" },
		{ "bad\xff\xc3", "\"bad\\ufffd\\ufffd\"" },
		{ "over\xc0\xaf", "\"over\\ufffd\\ufffd\"" },
		{ "sur\xed\xa0\x80", "\"sur\\ufffd\\ufffd\\ufffd\"" },
		{ "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"" },
	};
	char out[16];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct spot_buf b;

		spot_buf_init(&b);
		CHECK(!spot_buf_json_str(&b, t[i].in) &&
			      b.len == strlen(t[i].want) &&
			      !memcmp(b.p, t[i].want, b.len),
		      "json string %zu: valid UTF-8 kept, the rest escaped", i);
		spot_buf_fini(&b);
	}
	spot_printable("a\nb\x1b[31mc", out, sizeof(out));
	CHECK(!strcmp(out, "a?b?[31mc"), "printable: control bytes become ?");
	spot_printable("0123456789abcdefXYZ", out, sizeof(out));
	CHECK(strlen(out) == sizeof(out) - 1, "printable: cut to the buffer");
}

int main(void)
{
	test_json_and_printable();
	struct spot_err err = { "" };
	struct pipe_stats st;
	struct pipe_xform xf = { 1, xf_upper, NULL, false, false, false };
	struct pipe_plan plan = { NULL, NULL, &xf, 1, NULL, 0, NULL, NULL };
	struct mem_src *m = src_new();
	struct mem_sink k;
	int rc;

	spot_buf_init(&k.out);
	k.begun = k.ended = 0;
	rc = pipe_run(&src_ops, m, NULL, &sink_ops, &k, &st, &err);
	CHECK(rc == 0, "run without a plan succeeds");
	CHECK(st.rows_in == ROWS && st.rows_out == ROWS,
	      "every row passes without a plan (%llu/%llu)",
	      (unsigned long long)st.rows_in, (unsigned long long)st.rows_out);
	CHECK(k.begun == 2 && k.ended, "sink begun with 2 columns and ended");
	CHECK(strstr((char *)k.out.p, "2499,abc2499\n") != NULL,
	      "last row reaches the sink unchanged");

	m->next = 0;
	spot_buf_reset(&k.out);
	rc = pipe_run(&src_ops, m, &plan, &sink_ops, &k, &st, &err);
	CHECK(rc == 0, "run with a transform succeeds");
	CHECK(strstr((char *)k.out.p, "1024,ABC1024\n") != NULL &&
		      strstr((char *)k.out.p, "abc") == NULL,
	      "transform applies to every batch, including the third");

	m->next = 0;
	spot_buf_reset(&k.out);
	plan.row_fn = row_odd;
	rc = pipe_run(&src_ops, m, &plan, &sink_ops, &k, &st, &err);
	CHECK(rc == 0 && st.rows_out == ROWS / 2,
	      "row filter drops half the rows (%llu served)",
	      (unsigned long long)st.rows_out);
	CHECK(strstr((char *)k.out.p, "\n2,") == NULL &&
		      strstr((char *)k.out.p, "1025,ABC1025\n") != NULL,
	      "row filter sees source row numbers across batches");

	m->next = 0;
	xf.fn = xf_fail;
	plan.row_fn = NULL;
	k.ended = 0;
	rc = pipe_run(&src_ops, m, &plan, &sink_ops, &k, &st, &err);
	CHECK(rc == -EIO && !k.ended, "a failing transform fails the run");
	CHECK(strcmp(err.msg, "policy failed") == 0,
	      "the transform's message reaches the caller");

	xf.col = 7;
	m->next = 0;
	rc = pipe_run(&src_ops, m, &plan, &sink_ops, &k, &st, &err);
	CHECK(rc == -EINVAL,
	      "a transform bound past the last column is refused");

	CHECK(pipe_col_find(m->cols, 2, "name", 4) == 1 &&
		      pipe_col_find(m->cols, 2, "nam", 3) == -ENOENT,
	      "columns are found by exact name");
	spot_buf_fini(&k.out);
	free(m);
	return check_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * scan_sample.c - `spotfs scan` samples one table: its column names
 * checked (none may be a value, a CSV's first line may be data), its
 * first rows counted by the detectors (detect.h), a BLOB by its bytes.
 * Nothing here keeps a value.
 */
#include "scan_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "format.h"
#include "plan.h"

#define SCAN_CELLS ((size_t)1 << 20) /* cells of a batch, at most */

/* One table being sampled: its columns and the plan that samples them. */
struct scan_sampler {
	struct scan_tbl *t;
	uint64_t max;
	uint64_t rows;
	struct pipe_plan plan;
	struct spot_err *why; /* where a column problem is said */
	bool hex;	      /* BLOB cells as hex text (no source does now) */
	struct spot_buf raw;  /* a BLOB's bytes, decoded from hex */
};

/* Hex text back to the bytes (a SQLite BLOB as its CSV form holds it). */
static int scan_unhex(const uint8_t *p, size_t n, struct spot_buf *out)
{
	static const char digits[] = "0123456789abcdef";

	spot_buf_reset(out);
	if (n % 2)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 2) {
		const char *hi = memchr(digits, p[i], 16);
		const char *lo = memchr(digits, p[i + 1], 16);

		if (!hi || !lo)
			return -EINVAL;
		if (spot_buf_putc(
			    out, (uint8_t)((hi - digits) << 4 | (lo - digits))))
			return -ENOMEM;
	}
	return 0;
}

/* Count one cell: a BLOB by its bytes, never by its hex form. */
static int scan_cell(struct scan_sampler *s, struct det_col *det,
		     const struct pipe_cell *cell)
{
	struct pipe_cell raw = *cell;
	int rc;

	if (s->hex && cell->type == PIPE_BLOB && cell->len) {
		rc = scan_unhex(cell->p, cell->len, &s->raw);
		if (rc) {
			spot_err_set(s->why, "a BLOB cell is not hex text");
			return rc == -ENOMEM ? rc : -EIO;
		}
		raw.p = s->raw.p;
		raw.len = s->raw.len;
	}
	det_col_add(det, &raw);
	return 0;
}

/* Whether (p, len) is UTF-8 YAML can hold (control bytes are escaped). */
bool scan_utf8(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;

	for (size_t i = 0; i < len;) {
		size_t n = p[i] < 0x80	       ? 1
			   : (p[i] >> 5) == 6  ? 2
			   : (p[i] >> 4) == 14 ? 3
			   : (p[i] >> 3) == 30 ? 4
					       : 0;

		if (!n || i + n > len)
			return false;
		for (size_t k = 1; k < n; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		if ((n == 2 && p[i] < 0xc2) ||
		    (n == 3 && p[i] == 0xe0 && p[i + 1] < 0xa0) ||
		    (n == 3 && p[i] == 0xed && p[i + 1] >= 0xa0) ||
		    (n == 4 && p[i] == 0xf0 && p[i + 1] < 0x90) ||
		    (n == 4 &&
		     (p[i] > 0xf4 || (p[i] == 0xf4 && p[i + 1] >= 0x90))))
			return false;
		i += n;
	}
	return true;
}

/*
 * Take the columns of a table, or say why the table cannot be listed in a
 * config (then it is left out: under default: hide, not served). The
 * reasons are the ones `spotfs check` and the mount refuse a view for.
 */
static int scan_tbl_columns(struct scan_tbl *t, const struct pipe_col *cols,
			    size_t ncols, bool header, struct spot_err *err)
{
	size_t numbers = 0;

	if (!ncols) {
		spot_err_set(err, "no columns");
		return -EINVAL;
	}
	for (size_t i = 0; i < ncols; i++) {
		const struct pipe_col *c = &cols[i];

		if (memchr(c->name, 0, c->name_len)) {
			spot_err_set(err,
				     "column %zu (1-based) has a name "
				     "with a NUL byte: no rule can name "
				     "it",
				     i + 1);
			return -EINVAL;
		}
		if (!scan_utf8(c->name, c->name_len)) {
			spot_err_set(err,
				     "column %zu (1-based) has a name "
				     "that is not UTF-8",
				     i + 1);
			return -EINVAL;
		}
		/*
		 * Never copy a value into the config: a missing header. A
		 * CSV's first line (header) may be a row of data: any cell
		 * that reads as a value, or only numbers, says so.
		 */
		if (header && det_value((const uint8_t *)c->name, c->name_len) &
				      DET_V_NUMBER)
			numbers++;
		if (msk_pii_detect((const uint8_t *)c->name, c->name_len) ||
		    (header && det_name_is_value(c->name, c->name_len))) {
			spot_err_set(err,
				     "column %zu (1-based) has a name "
				     "that looks like a value: is the "
				     "header row missing?",
				     i + 1);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (cols[j].name_len == c->name_len &&
			    !memcmp(cols[j].name, c->name, c->name_len)) {
				spot_err_set(err,
					     "columns %zu and %zu "
					     "(1-based) share a name",
					     j + 1, i + 1);
				return -EINVAL;
			}
	}
	if (numbers == ncols) {
		spot_err_set(err, "every column name is a number: is the "
				  "header row missing?");
		return -EINVAL;
	}
	t->cols = calloc(ncols, sizeof(*t->cols));
	if (!t->cols) {
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	t->ncols = ncols;
	for (size_t i = 0; i < ncols; i++) {
		t->cols[i].name = strndup(cols[i].name, cols[i].name_len);
		if (!t->cols[i].name) {
			spot_err_set(err, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

/* Count the rows of a batch until the sample is full. */
static int scan_rows(struct scan_sampler *s, struct pipe_batch *b)
{
	int rc = 0;

	for (size_t r = 0; !rc && r < b->nrows && s->rows < s->max;
	     r++, s->rows++)
		for (size_t c = 0; !rc && c < b->ncols && c < s->t->ncols; c++)
			rc = scan_cell(s, &s->t->cols[c].det,
				       &b->in[r * b->ncols + c]);
	if (rc)
		return rc;
	return s->rows < s->max ? 0 : -ECANCELED;
}

/* The row filter of the sampling plan: sample, serve nothing. */
static int scan_row_fn(void *arg, struct pipe_batch *b, struct spot_err *err)
{
	struct scan_sampler *s = arg;
	int rc = scan_rows(s, b);

	memset(b->keep, 0, b->nrows);
	if (rc == -ECANCELED)
		spot_err_set(err, "sample complete");
	else if (rc && err != s->why)
		spot_err_set(err, "%s", s->why->msg);
	return rc;
}

/* view_bind_tbl_fn for a table of a format with objects. */
static int scan_bind_tbl(void *arg, const char *table,
			 const struct pipe_col *cols, size_t ncols,
			 const struct pipe_plan **plan, struct spot_err *err)
{
	struct scan_sampler *s = arg;
	int rc;

	(void)table;
	if (!s->t->cols) {
		rc = scan_tbl_columns(s->t, cols, ncols, false, err);
		if (rc)
			return rc;
	} else {
		/* Tried again (the database changed): start over. */
		for (size_t i = 0; i < s->t->ncols; i++)
			memset(&s->t->cols[i].det, 0,
			       sizeof(s->t->cols[i].det));
		s->rows = 0;
	}
	s->plan.row_fn = scan_row_fn;
	s->plan.row_arg = s;
	*plan = &s->plan;
	return 0;
}

/* Sample a format with a row source (CSV, Parquet). */
int scan_source(const struct view_format *f, struct view_req *req,
		struct scan_tbl *t, uint64_t max, struct spot_err *err)
{
	struct view_source src = { NULL, NULL, NULL, NULL };
	struct scan_sampler s = { t, max, 0, { 0 }, err, false, { 0 } };
	const struct pipe_col *cols;
	struct pipe_batch b;
	bool have_b = false;
	size_t ncols;
	int rc;

	spot_buf_init(&s.raw);
	rc = f->source_open(req, &src, err);
	if (!rc)
		rc = src.ops->columns(src.state, &cols, &ncols, err);
	if (!rc)
		rc = scan_tbl_columns(t, cols, ncols, f->id == VIEW_FMT_CSV,
				      err);
	if (!rc) {
		/* A wide table (a JSON Lines file of many field paths): fewer
		 * rows a batch, so a batch stays at most SCAN_CELLS cells. */
		size_t rows = ncols > SCAN_CELLS / PIPE_BATCH_ROWS
				      ? SCAN_CELLS / ncols
				      : PIPE_BATCH_ROWS;

		rc = pipe_batch_init(&b, ncols, rows ? rows : 1);
		have_b = !rc;
		if (rc)
			spot_err_set(err, "out of memory");
	}
	while (!rc && s.rows < max) {
		pipe_batch_clear(&b);
		b.first_row = s.rows;
		rc = src.ops->next_batch(src.state, &b, err);
		if (rc || !b.nrows)
			break;
		rc = scan_rows(&s, &b);
	}
	if (rc == -ECANCELED)
		rc = 0;
	if (!rc && f->field_paths)
		rc = scan_keys_summarise(t, err);
	t->rows = s.rows;
	spot_buf_fini(&s.raw);
	if (have_b)
		pipe_batch_fini(&b);
	if (src.free)
		src.free(src.obj);
	return rc;
}

/* Sample one table of a format with objects (SQLite). */
int scan_object(const struct view_format *f, struct view_req *req,
		const char *name, struct scan_tbl *t, uint64_t max,
		struct spot_err *err)
{
	struct view_sqlobj obj = { name, NULL, NULL };
	struct scan_sampler s = { t, max, 0, { 0 }, err, false, { 0 } };
	struct view_out out;
	int rc;

	spot_buf_init(&s.raw);
	req->sub = name;
	req->objs = &obj;
	req->nobjs = 1;
	req->bind = scan_bind_tbl;
	req->more = scan_bind_tbl;
	req->arg = &s;
	view_out_init(&out);
	rc = view_format_build(f, req, &out, err);
	view_out_fini(&out);
	spot_buf_fini(&s.raw);
	if (rc == -ECANCELED)
		rc = 0;
	t->rows = s.rows;
	req->sub = "";
	return rc;
}

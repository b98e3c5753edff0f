/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * csv_write.c - the CSV writer and its pipeline sink; csv.h states the
 * rules (quoting, dialect reuse, byte-identical unchanged views).
 */
#include "csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csv_i.h"

struct csv_writer {
	struct spot_buf *out;
	struct csv_dialect dia; /* sanitised copy */
	bool verbatim;	/* CSV source: unchanged cells are written as read */
	bool open_eol;	/* the last record had no terminator */
	bool body_only; /* no BOM, no header */
	size_t ncols;
};

static void csv_dialect_use(struct csv_writer *w, const struct csv_dialect *d)
{
	w->verbatim = d && d->magic == CSV_DIALECT_MAGIC;
	if (!w->verbatim) {
		memset(&w->dia, 0, sizeof(w->dia));
		w->dia.magic = CSV_DIALECT_MAGIC;
		w->dia.delim = ',';
		w->dia.header_eol = CSV_EOL_LF;
		w->dia.eol = CSV_EOL_LF;
		return;
	}
	w->dia = *d;
	if (!csv_delim_ok(w->dia.delim))
		w->dia.delim = ',';
	if (w->dia.header_eol < CSV_EOL_LF || w->dia.header_eol > CSV_EOL_NONE)
		w->dia.header_eol = CSV_EOL_LF;
	if (w->dia.eol < CSV_EOL_LF || w->dia.eol > CSV_EOL_CR)
		w->dia.eol = CSV_EOL_LF;
}

int csv_writer_new(struct spot_buf *out, struct csv_writer **w)
{
	struct csv_writer *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	n->out = out;
	csv_dialect_use(n, NULL);
	*w = n;
	return 0;
}

void csv_writer_free(struct csv_writer *w)
{
	free(w);
}

void csv_writer_body_only(struct csv_writer *w)
{
	w->body_only = true;
}

/*
 * Output helpers: append in place, growing through spot_buf_reserve (which
 * keeps a spare byte); the NUL after the contents is restored by
 * csv_out_done at the end of each sink call.
 */
static inline int csv_out(struct spot_buf *o, const void *p, size_t n)
{
	int rc;

	if (o->cap - o->len <= n) {
		rc = spot_buf_reserve(o, n);
		if (rc)
			return rc;
	}
	if (n)
		memcpy(o->p + o->len, p, n);
	o->len += n;
	return 0;
}

static inline int csv_out_c(struct spot_buf *o, uint8_t c)
{
	return csv_out(o, &c, 1);
}

static void csv_out_done(struct spot_buf *o)
{
	if (o->p)
		o->p[o->len] = 0;
}

static int csv_put_quoted(struct spot_buf *out, const uint8_t *p, size_t len)
{
	const uint8_t *q;
	size_t run;
	int rc;

	rc = csv_out_c(out, '"');
	while (len && !rc) {
		q = memchr(p, '"', len);
		run = q ? (size_t)(q - p) + 1 : len;
		rc = csv_out(out, p, run);
		if (!rc && q)
			rc = csv_out_c(out, '"');
		p += run;
		len -= run;
	}
	return rc ? rc : csv_out_c(out, '"');
}

static bool csv_needs_quote(const uint8_t *p, size_t len, uint8_t delim)
{
	size_t i;

	if (!len)
		return false;
	if (p[0] == ' ' || p[0] == '\t' || p[len - 1] == ' ' ||
	    p[len - 1] == '\t')
		return true;
	for (i = 0; i < len; i++)
		if (p[i] == delim || p[i] == '"' || p[i] == '\r' ||
		    p[i] == '\n')
			return true;
	return false;
}

int csv_write_field(struct spot_buf *out, const uint8_t *p, size_t len,
		    char delim, bool force_quote)
{
	int rc;

	if (force_quote || csv_needs_quote(p, len, (uint8_t)delim))
		rc = csv_put_quoted(out, p, len);
	else
		rc = csv_out(out, p, len);
	csv_out_done(out);
	return rc;
}

static int csv_put_eol(struct csv_writer *w, unsigned eol)
{
	if (eol == CSV_EOL_DEFAULT || eol > CSV_EOL_NONE)
		eol = w->dia.eol;
	switch (eol) {
	case CSV_EOL_CRLF:
		return csv_out(w->out, "\r\n", 2);
	case CSV_EOL_CR:
		return csv_out_c(w->out, '\r');
	case CSV_EOL_NONE:
		w->open_eol = true;
		return 0;
	default:
		return csv_out_c(w->out, '\n');
	}
}

/* Start a record: end the previous one if it had no terminator. */
static int csv_record_start(struct csv_writer *w)
{
	if (!w->open_eol)
		return 0;
	w->open_eol = false;
	return csv_put_eol(w, w->dia.eol);
}

static int csv_sink_begin(void *sink, const struct pipe_col *cols, size_t ncols,
			  const void *dialect, struct spot_err *err)
{
	struct csv_writer *w = sink;
	const uint8_t *name;
	size_t i;
	bool q;
	int rc = 0;

	csv_dialect_use(w, dialect);
	w->ncols = ncols;
	w->open_eol = false;
	if (w->body_only)
		return 0;
	if (w->dia.bom)
		rc = spot_buf_append(w->out, csv_bom, sizeof(csv_bom));
	for (i = 0; i < ncols && !rc; i++) {
		name = (const uint8_t *)cols[i].name;
		q = cols[i].flags & PIPE_F_QUOTED;
		if (i)
			rc = csv_out_c(w->out, (uint8_t)w->dia.delim);
		if (rc)
			break;
		if (w->verbatim && !q)
			rc = csv_out(w->out, name, cols[i].name_len);
		else
			rc = csv_write_field(
				w->out, name, cols[i].name_len, w->dia.delim,
				q || (ncols == 1 && !cols[i].name_len));
	}
	if (!rc && ncols)
		rc = csv_put_eol(w,
				 w->verbatim ? w->dia.header_eol : w->dia.eol);
	csv_out_done(w->out);
	if (rc)
		spot_err_set(err, "csv: out of memory");
	return rc;
}

static int csv_put_cell(struct csv_writer *w, const struct pipe_cell *in,
			const struct pipe_cell *c)
{
	size_t len;
	bool force;

	if (c == in && w->verbatim) {
		if (in->flags & PIPE_F_QUOTED)
			return csv_put_quoted(w->out, in->p, in->len);
		return csv_out(w->out, in->p, in->len);
	}
	len = c->type == PIPE_NULL ? 0 : c->len;
	force = (c->flags & PIPE_F_QUOTED) ||
		(w->verbatim && (in->flags & PIPE_F_QUOTED)) ||
		(w->ncols == 1 && !len);
	if (force || csv_needs_quote(c->p, len, (uint8_t)w->dia.delim))
		return csv_put_quoted(w->out, c->p, len);
	return csv_out(w->out, c->p, len);
}

static int csv_sink_rows(void *sink, const struct pipe_batch *b,
			 struct spot_err *err)
{
	struct csv_writer *w = sink;
	size_t r, c;
	int rc = 0;

	if (b->ncols != w->ncols) {
		spot_err_set(err, "csv: batch has %zu columns, header %zu",
			     b->ncols, w->ncols);
		return -EINVAL;
	}
	for (r = 0; r < b->nrows && w->ncols; r++) {
		if (b->keep && !b->keep[r])
			continue;
		rc = csv_record_start(w);
		for (c = 0; c < w->ncols && !rc; c++) {
			if (c)
				rc = csv_out_c(w->out, (uint8_t)w->dia.delim);
			if (!rc)
				rc = csv_put_cell(w, &b->in[r * b->ncols + c],
						  pipe_batch_cell(b, r, c));
		}
		if (!rc)
			rc = csv_put_eol(w, w->verbatim && b->rowmeta
						    ? b->rowmeta[r]
						    : CSV_EOL_DEFAULT);
		if (rc) {
			spot_err_set(err, "csv: out of memory");
			break;
		}
	}
	csv_out_done(w->out);
	return rc;
}

static int csv_sink_end(void *sink, struct spot_err *err)
{
	(void)sink;
	(void)err;
	return 0;
}

const struct pipe_sink_ops csv_sink_ops = {
	.begin = csv_sink_begin,
	.rows = csv_sink_rows,
	.end = csv_sink_end,
};

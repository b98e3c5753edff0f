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
	bool hex_blobs; /* PIPE_BLOB cells as hex */
	bool guard;	/* formula cells get a leading ' (csv_writer_guard) */
	size_t ncols;
	uint8_t special[256]; /* bytes that make a field need quotes */
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
	n->guard = true;
	csv_dialect_use(n, NULL);
	*w = n;
	return 0;
}

void csv_writer_hex_blobs(struct csv_writer *w)
{
	w->hex_blobs = true;
}

void csv_writer_guard(struct csv_writer *w, bool on)
{
	w->guard = on;
}

/* ---- formula injection ---- */

/* The first bytes that make a spreadsheet read a cell as a formula. */
static const bool csv_formula_first[256] = {
	['='] = true, ['+'] = true,  ['-'] = true,
	['@'] = true, ['\t'] = true, ['\r'] = true,
};

static bool csv_word_ci(const uint8_t *p, size_t len, const char *w)
{
	size_t n = strlen(w);

	if (len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((p[i] | 0x20) != (uint8_t)w[i])
			return false;
	return true;
}

/*
 * A signed number as spreadsheets, pandas and DuckDB read one: digits with
 * an optional fraction and exponent ("-5", "+3.25", "-.5", "-1e3"), or an
 * infinity or NaN as float writers print them ("-inf", "+Infinity").
 */
bool csv_is_signed_number(const uint8_t *p, size_t len)
{
	size_t i = 1, digits = 0;

	if (len < 2 || (p[0] != '-' && p[0] != '+'))
		return false;
	if (csv_word_ci(p + 1, len - 1, "inf") ||
	    csv_word_ci(p + 1, len - 1, "infinity") ||
	    csv_word_ci(p + 1, len - 1, "nan"))
		return true;
	for (; i < len && p[i] >= '0' && p[i] <= '9'; i++)
		digits++;
	if (i < len && p[i] == '.')
		for (i++; i < len && p[i] >= '0' && p[i] <= '9'; i++)
			digits++;
	if (!digits)
		return false;
	if (i < len && (p[i] == 'e' || p[i] == 'E')) {
		size_t e;

		i++;
		if (i < len && (p[i] == '-' || p[i] == '+'))
			i++;
		for (e = i; i < len && p[i] >= '0' && p[i] <= '9'; i++)
			;
		if (i == e)
			return false;
	}
	return i == len;
}

/* Whether w serves (p, len) with a leading ' (csv.h). */
static inline bool csv_guarded(const struct csv_writer *w, const uint8_t *p,
			       size_t len)
{
	return w->guard && len && csv_formula_first[p[0]] &&
	       !csv_is_signed_number(p, len);
}

/* The bytes csv_needs_quote looks for, for w's delimiter. */
static void csv_special_init(struct csv_writer *w)
{
	memset(w->special, 0, sizeof(w->special));
	w->special[(uint8_t)w->dia.delim] = 1;
	w->special['"'] = 1;
	w->special['\r'] = 1;
	w->special['\n'] = 1;
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

/* A header name with a leading ', quoted as csv_write_field decides. */
static int csv_write_guarded(struct csv_writer *w, const uint8_t *p, size_t len,
			     bool force)
{
	uint8_t *t = malloc(len + 1);
	int rc;

	if (!t)
		return -ENOMEM;
	t[0] = '\'';
	memcpy(t + 1, p, len);
	rc = csv_write_field(w->out, t, len + 1, w->dia.delim, force);
	free(t);
	return rc;
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
	csv_special_init(w);
	w->ncols = ncols;
	w->open_eol = false;
	/*
	 * About the source's size at once, + 1/8: one allocation instead of
	 * a doubling chain that copies. Only a hint: the rows grow it if
	 * masking makes the file longer, and a failure here is not one.
	 */
	if (w->verbatim && w->dia.size && w->dia.size < SIZE_MAX / 2 &&
	    !w->out->len)
		(void)spot_buf_reserve(w->out, (size_t)w->dia.size +
						       (size_t)w->dia.size / 8);
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
		if (csv_guarded(w, name, cols[i].name_len))
			rc = csv_write_guarded(w, name, cols[i].name_len, q);
		else if (w->verbatim && !q)
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

/*
 * The row writer below reserves the worst case of a whole batch once, then
 * writes without bounds checks: cells are short (a call to memcpy per
 * 20-byte cell and a capacity check per byte cost more than the copy) and
 * the output is the view itself, so growth is what a page fault costs.
 */

/* Worst-case bytes of a field of len bytes: quoted, every byte a quote,
 * and a formula guard's '. */
static inline size_t csv_field_max(size_t len)
{
	return 2 * len + 3;
}

/* Copy n bytes, inline for short runs (reads stay within src). */
static inline uint8_t *csv_copy(uint8_t *d, const uint8_t *s, size_t n)
{
	uint64_t a, b;
	uint32_t x, y;

	if (n >= 8 && n <= 16) {
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n > 16 && n <= 32) {
		uint64_t c, e;

		memcpy(&a, s, 8);
		memcpy(&b, s + 8, 8);
		memcpy(&c, s + n - 16, 8);
		memcpy(&e, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + 8, &b, 8);
		memcpy(d + n - 16, &c, 8);
		memcpy(d + n - 8, &e, 8);
	} else if (n >= 4 && n < 8) {
		memcpy(&x, s, 4);
		memcpy(&y, s + n - 4, 4);
		memcpy(d, &x, 4);
		memcpy(d + n - 4, &y, 4);
	} else if (n < 4) {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	} else {
		memcpy(d, s, n);
	}
	return d + n;
}

/* Quoted, quotes doubled, after prefix (0: none); room reserved by the
 * caller. */
static uint8_t *csv_put_quoted_pre(uint8_t *w, uint8_t prefix, const uint8_t *p,
				   size_t len)
{
	const uint8_t *q;
	size_t run;

	*w++ = '"';
	if (prefix)
		*w++ = prefix;
	while (len) {
		q = memchr(p, '"', len);
		run = q ? (size_t)(q - p) + 1 : len;
		w = csv_copy(w, p, run);
		if (q)
			*w++ = '"';
		p += run;
		len -= run;
	}
	*w++ = '"';
	return w;
}

static uint8_t *csv_put_quoted_raw(uint8_t *w, const uint8_t *p, size_t len)
{
	return csv_put_quoted_pre(w, 0, p, len);
}

#define CSV_W_ONES 0x0101010101010101ull
#define CSV_W_HIGHS 0x8080808080808080ull

/* Whether the word may hold the delimiter (dmask), a quote, CR or LF. */
static inline bool csv_word_special(uint64_t x, uint64_t dmask)
{
	uint64_t d = x ^ dmask, q = x ^ (CSV_W_ONES * '"');

	/* bytes equal to 0 after the XORs, or below 0x0E (CR, LF) */
	return ((d - CSV_W_ONES) & ~d & CSV_W_HIGHS) |
	       ((q - CSV_W_ONES) & ~q & CSV_W_HIGHS) |
	       ((x - CSV_W_ONES * 0x0E) & ~x & CSV_W_HIGHS);
}

static inline bool csv_special_in(const struct csv_writer *w, const uint8_t *p,
				  size_t len)
{
	uint64_t dmask = CSV_W_ONES * (uint8_t)w->dia.delim, x;
	size_t i = 0;

	if (!len)
		return false;
	if (p[0] == ' ' || p[0] == '\t' || p[len - 1] == ' ' ||
	    p[len - 1] == '\t')
		return true;
	/* Eight bytes at a time; a word that may match is checked exactly. */
	for (; len - i >= 8; i += 8) {
		memcpy(&x, p + i, 8);
		if (csv_word_special(x, dmask))
			break;
	}
	for (; i < len; i++)
		if (w->special[p[i]])
			return true;
	return false;
}

/* A formula cell with its leading ', quoted when the cell needs it
 * (a leading tab or CR always does). */
static uint8_t *csv_put_guarded(const struct csv_writer *w, uint8_t *o,
				const uint8_t *p, size_t len, bool force)
{
	if (force || csv_special_in(w, p, len))
		return csv_put_quoted_pre(o, '\'', p, len);
	*o++ = '\'';
	return csv_copy(o, p, len);
}

/* One cell, as csv.h says; room reserved by the caller. */
static inline uint8_t *csv_put_cell(const struct csv_writer *w, uint8_t *o,
				    const struct pipe_cell *in,
				    const struct pipe_cell *c)
{
	size_t len;
	bool force;

	if (c == in && w->verbatim) {
		if (csv_guarded(w, in->p, in->len))
			return csv_put_guarded(w, o, in->p, in->len,
					       in->flags & PIPE_F_QUOTED);
		if (in->flags & PIPE_F_QUOTED)
			return csv_put_quoted_raw(o, in->p, in->len);
		return csv_copy(o, in->p, in->len);
	}
	len = c->type == PIPE_NULL ? 0 : c->len;
	if (w->hex_blobs && c->type == PIPE_BLOB && len) {
		static const char digits[] = "0123456789abcdef";

		for (size_t i = 0; i < len; i++) {
			*o++ = (uint8_t)digits[c->p[i] >> 4];
			*o++ = (uint8_t)digits[c->p[i] & 15];
		}
		return o;
	}
	/*
	 * A masked cell is quoted for what it holds, never because the source
	 * cell was: that would tell whether the raw value held a delimiter, a
	 * quote or a line break. (c->flags has PIPE_F_QUOTED only for a cell
	 * copied through unchanged, from a source other than a verbatim one.)
	 */
	force = (c->flags & PIPE_F_QUOTED) || (w->ncols == 1 && !len);
	if (csv_guarded(w, c->p, len))
		return csv_put_guarded(w, o, c->p, len, force);
	if (force || csv_special_in(w, c->p, len))
		return csv_put_quoted_raw(o, c->p, len);
	return csv_copy(o, c->p, len);
}

/* Worst-case output of the kept rows of b, or SIZE_MAX on overflow. */
static size_t csv_batch_max(const struct csv_writer *w,
			    const struct pipe_batch *b)
{
	size_t need = 2, r, c, len; /* 2: an open record's terminator */

	for (r = 0; r < b->nrows; r++) {
		if (b->keep && !b->keep[r])
			continue;
		/* ncols - 1 delimiters, a terminator of up to 2 bytes */
		if (__builtin_add_overflow(need, w->ncols + 2, &need))
			return SIZE_MAX;
		for (c = 0; c < w->ncols; c++) {
			const struct pipe_cell *x = pipe_batch_cell(b, r, c);

			len = x->type == PIPE_NULL ? 0 : x->len;
			if (w->hex_blobs && x->type == PIPE_BLOB)
				len = len > SIZE_MAX / 8 ? SIZE_MAX : 2 * len;
			if (len > SIZE_MAX / 4 ||
			    __builtin_add_overflow(need, csv_field_max(len),
						   &need))
				return SIZE_MAX;
		}
	}
	return need;
}

static inline uint8_t *csv_put_eol_raw(struct csv_writer *w, uint8_t *o,
				       unsigned eol)
{
	if (eol == CSV_EOL_DEFAULT || eol > CSV_EOL_NONE)
		eol = w->dia.eol;
	switch (eol) {
	case CSV_EOL_CRLF:
		*o++ = '\r';
		*o++ = '\n';
		break;
	case CSV_EOL_CR:
		*o++ = '\r';
		break;
	case CSV_EOL_NONE:
		w->open_eol = true;
		break;
	default:
		*o++ = '\n';
	}
	return o;
}

static int csv_sink_rows(void *sink, const struct pipe_batch *b,
			 struct spot_err *err)
{
	struct csv_writer *w = sink;
	const uint8_t delim = (uint8_t)w->dia.delim;
	struct spot_buf *out = w->out;
	size_t r, c, need;
	uint8_t *o;

	if (b->ncols != w->ncols) {
		spot_err_set(err, "csv: batch has %zu columns, header %zu",
			     b->ncols, w->ncols);
		return -EINVAL;
	}
	if (!w->ncols)
		return 0;
	need = csv_batch_max(w, b);
	if (need == SIZE_MAX ||
	    (out->cap - out->len <= need && spot_buf_reserve(out, need))) {
		spot_err_set(err, "csv: out of memory");
		return -ENOMEM;
	}
	o = out->p + out->len;
	for (r = 0; r < b->nrows; r++) {
		if (b->keep && !b->keep[r])
			continue;
		if (w->open_eol) { /* the previous record had no terminator */
			w->open_eol = false;
			o = csv_put_eol_raw(w, o, w->dia.eol);
		}
		for (c = 0; c < w->ncols; c++) {
			if (c)
				*o++ = delim;
			o = csv_put_cell(w, o, &b->in[r * b->ncols + c],
					 pipe_batch_cell(b, r, c));
		}
		o = csv_put_eol_raw(w, o,
				    w->verbatim && b->rowmeta
					    ? b->rowmeta[r]
					    : CSV_EOL_DEFAULT);
	}
	out->len = (size_t)(o - out->p);
	csv_out_done(out);
	return 0;
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

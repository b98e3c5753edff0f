/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * csv.c - streaming CSV reader: the record parser, the header and the
 * pipeline source; csv.h states the rules. Opening a reader, its input and
 * its buffers are in csv_input.c, the writer in csv_write.c.
 *
 * The reader is a resumable state machine over one byte buffer. A record is
 * parsed with offsets relative to its first byte, so when the buffer has to
 * grow or move in the middle of a record the parse continues where it
 * stopped instead of starting over (no quadratic rescans of huge fields).
 * A buffer that holds cells already handed out in the current batch is never
 * moved: the partial record is copied to a fresh buffer and the old one is
 * retired until the next batch, then recycled.
 */
#include "csv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "csv_i.h"

const uint8_t csv_bom[3] = { 0xEF, 0xBB, 0xBF };

bool csv_delim_ok(char d)
{
	return d != '"' && d != '\r' && d != '\n' && d != 0;
}

__attribute__((format(printf, 3, 4))) int csv_fail(struct csv_reader *r, int rc,
						   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	va_end(ap);
	r->failed = rc;
	return rc;
}

void csv_set_delim(struct csv_reader *r, char d)
{
	r->dia.delim = d;
	memset(r->stop, 0, sizeof(r->stop));
	r->stop[(uint8_t)d] = 1;
	r->stop['\r'] = 1;
	r->stop['\n'] = 1;
}

/* ---- sniffing ---- */

int csv_sniff_delimiter(const uint8_t *p, size_t len, char *out)
{
	static const char cand[] = { ',', '\t', ';', '|' };
	size_t count[SPOT_ARRAY_SIZE(cand)] = { 0 }, i, k, best = 0;
	bool inq = false;

	for (i = 0; i < len; i++) {
		if (p[i] == '"')
			inq = !inq;
		else if (!inq && (p[i] == '\n' || p[i] == '\r'))
			break;
		else if (!inq)
			for (k = 0; k < SPOT_ARRAY_SIZE(cand); k++)
				count[k] += p[i] == (uint8_t)cand[k];
	}
	for (k = 1; k < SPOT_ARRAY_SIZE(cand); k++)
		if (count[k] > count[best])
			best = k;
	*out = cand[best];
	return 0;
}

/* ---- reader: the record parser ---- */

static int csv_grow_flds(struct csv_reader *r)
{
	size_t ncap = r->fcap ? r->fcap * 2 : 16;
	struct csv_fld *f;

	if (r->fcap >= CSV_MAX_COLUMNS)
		return csv_fail(r, -EFBIG, "line %llu: more than %u columns",
				(unsigned long long)r->line, CSV_MAX_COLUMNS);
	f = realloc(r->flds, ncap * sizeof(*f));
	if (!f)
		return csv_fail(r, -ENOMEM, "csv: out of memory");
	r->flds = f;
	r->fcap = ncap;
	return 0;
}

/* End the current field at stop; rows only count fields past the width. */
static inline int csv_field_end(struct csv_reader *r, size_t stop)
{
	struct csv_rec *s = &r->rec;
	struct csv_fld *f;
	int rc;

	if (s->nf >= r->fcap) {
		if (!r->grow_flds) {
			s->nf++;
			return 0;
		}
		rc = csv_grow_flds(r);
		if (rc)
			return rc;
	}
	f = &r->flds[s->nf++];
	f->off = s->fstart;
	f->len = stop - s->fstart;
	f->flags = s->fflags;
	return 0;
}

#define CSV_ONES 0x0101010101010101ull
#define CSV_HIGHS 0x8080808080808080ull

/*
 * Skip unquoted content from i: the first delimiter, CR or LF at or after i,
 * or n. Eight bytes at a time: a word with no byte equal to the delimiter
 * and none below 0x0E (CR and LF are) is skipped whole; other words are
 * checked byte by byte.
 */
static inline size_t csv_scan_bare(const struct csv_reader *r, const uint8_t *p,
				   size_t i, size_t n)
{
	const uint64_t dmask = CSV_ONES * (uint8_t)r->dia.delim;
	uint64_t x, y;
	size_t stop;

	for (;;) {
		while (n - i >= 8) {
			memcpy(&x, p + i, 8);
			y = x ^ dmask;
			if (((y - CSV_ONES) & ~y & CSV_HIGHS) |
			    ((x - CSV_ONES * 0x0E) & ~x & CSV_HIGHS))
				break;
			i += 8;
		}
		stop = n - i > 8 ? i + 8 : n;
		while (i < stop && !r->stop[p[i]])
			i++;
		if (i < stop || i == n)
			return i;
	}
}

static uint64_t csv_count_lf(const uint8_t *p, size_t n)
{
	const uint8_t *e = p + n;
	uint64_t c = 0;

	while (p < e && (p = memchr(p, '\n', (size_t)(e - p)))) {
		c++;
		p++;
	}
	return c;
}

static int csv_parse_eof(struct csv_reader *r)
{
	struct csv_rec *s = &r->rec;
	size_t n = r->end - r->start;
	int rc = 0;

	switch (s->st) {
	case CSV_ST_QUOTED:
		if (r->in_end)
			return csv_fail(r, -ERANGE,
					"line %llu: record crosses the part's "
					"end",
					(unsigned long long)s->qline);
		return csv_fail(r, -EBADMSG,
				"line %llu: unterminated quoted field starting "
				"at line %llu",
				(unsigned long long)(r->line + s->nl),
				(unsigned long long)s->qline);
	case CSV_ST_CR:
		s->eol = CSV_EOL_CR;
		s->scan = n;
		return 1;
	case CSV_ST_FIELD:
		s->fflags = 0;
		s->fstart = n;
		rc = csv_field_end(r, n);
		break;
	case CSV_ST_BARE:
		rc = csv_field_end(r, n);
		break;
	default: /* CSV_ST_QSEEN: the closing quote was the last byte */
		rc = csv_field_end(r, n - 1);
		break;
	}
	if (rc)
		return rc;
	s->eol = CSV_EOL_NONE;
	s->scan = n;
	return 1;
}

/*
 * Continue parsing the record at r->start over the bytes buffered so far.
 * 1: complete (r->rec describes it), 0: needs more input, or -errno.
 */
static int csv_parse(struct csv_reader *r)
{
	struct csv_rec *s = &r->rec;
	const uint8_t *rec = r->base + r->start, *q;
	const uint8_t delim = (uint8_t)r->dia.delim;
	size_t n = r->end - r->start, i = s->scan, stop;
	uint8_t c;
	int rc = 0;

	while (i < n) {
		switch (s->st) {
		case CSV_ST_FIELD:
			if (rec[i] == '"') {
				s->fflags = PIPE_F_QUOTED;
				s->qline = r->line + s->nl;
				s->fstart = ++i;
				s->st = CSV_ST_QUOTED;
				continue;
			}
			s->fflags = 0;
			s->fstart = i;
			s->st = CSV_ST_BARE;
			__attribute__((fallthrough));
		case CSV_ST_BARE:
			i = csv_scan_bare(r, rec, i, n);
			if (i == n)
				continue;
			rc = csv_field_end(r, i);
			break;
		case CSV_ST_QUOTED:
			q = memchr(rec + i, '"', n - i);
			stop = q ? (size_t)(q - rec) : n;
			s->nl += csv_count_lf(rec + i, stop - i);
			i = q ? stop + 1 : n;
			if (q)
				s->st = CSV_ST_QSEEN;
			continue;
		case CSV_ST_QSEEN:
			c = rec[i];
			if (c == '"') {
				s->fflags |= CSV_FLD_ESC;
				s->st = CSV_ST_QUOTED;
				i++;
				continue;
			}
			if (c != delim && c != '\r' && c != '\n')
				return csv_fail(
					r, -EBADMSG,
					"line %llu: unexpected character "
					"after closing quote",
					(unsigned long long)(r->line + s->nl));
			rc = csv_field_end(r, i - 1);
			break;
		default: /* CSV_ST_CR */
			s->eol = CSV_EOL_CR;
			if (rec[i] == '\n') {
				s->eol = CSV_EOL_CRLF;
				i++;
			}
			s->scan = i;
			return 1;
		}
		/* A field ended at rec[i]: a delimiter, CR or LF. */
		if (rc)
			return rc;
		c = rec[i++];
		if (c == delim) {
			s->st = CSV_ST_FIELD;
		} else if (c == '\n') {
			s->eol = CSV_EOL_LF;
			s->scan = i;
			return 1;
		} else {
			s->st = CSV_ST_CR;
		}
	}
	s->scan = i;
	return r->eof ? csv_parse_eof(r) : 0;
}

#ifdef __SSE2__
/*
 * The common record, parsed 16 bytes at a time: no quote and no CR before
 * its LF, and exactly ncols fields. It fills r->rec and r->flds as
 * csv_parse would (bare fields, LF ending) and returns 1; for any other
 * record, or one whose LF is not buffered yet, it returns 0 having changed
 * nothing, and csv_parse reads the record byte by byte as before.
 */
static int csv_parse_simple(struct csv_reader *r)
{
	const uint8_t *p = r->base + r->start;
	const size_t n = r->end - r->start, ncols = r->ncols;
	const __m128i vd = _mm_set1_epi8(r->dia.delim);
	const __m128i vl = _mm_set1_epi8('\n'), vq = _mm_set1_epi8('"');
	const __m128i vc = _mm_set1_epi8('\r');
	struct csv_fld *f = r->flds;
	size_t i = 0, nf = 0, fstart = 0, pos;
	unsigned lf, bad, d, before;

	for (;; i += 16) {
		if (n - i < 16)
			return 0; /* the tail: csv_parse, after more input */
		__m128i x = _mm_loadu_si128((const __m128i *)(p + i));
		lf = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vl));
		bad = (unsigned)_mm_movemask_epi8(_mm_or_si128(
			_mm_cmpeq_epi8(x, vq), _mm_cmpeq_epi8(x, vc)));
		d = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vd));
		if (lf) { /* only what comes before the first LF counts */
			before = (lf & -lf) - 1;
			bad &= before;
			d &= before;
		}
		if (bad)
			return 0;
		for (; d; d &= d - 1) {
			pos = i + (size_t)__builtin_ctz(d);
			if (nf + 1 >= ncols)
				return 0; /* more fields than columns */
			f[nf].off = fstart;
			f[nf].len = pos - fstart;
			f[nf].flags = 0;
			nf++;
			fstart = pos + 1;
		}
		if (lf)
			break;
	}
	pos = i + (size_t)__builtin_ctz(lf); /* the LF */
	if (nf + 1 != ncols)
		return 0;
	f[nf].off = fstart;
	f[nf].len = pos - fstart;
	f[nf].flags = 0;
	r->rec.nf = ncols;
	r->rec.eol = CSV_EOL_LF;
	r->rec.scan = pos + 1;
	return 1;
}
#endif

/* Forget the record just used; the next one starts after it. */
static void csv_rec_done(struct csv_reader *r)
{
	r->start += r->rec.scan;
	r->line += r->rec.nl + (r->rec.eol != CSV_EOL_NONE);
	memset(&r->rec, 0, sizeof(r->rec));
}

/* 1: a record is ready in r->rec, 0: end of input, or -errno. */
static int csv_next_record(struct csv_reader *r)
{
	int rc;

	for (;;) {
		if (r->start < r->end) {
#ifdef __SSE2__
			/* A data record not begun yet: try the fast path. */
			if (r->header_done && r->ncols && !r->rec.scan &&
			    r->rec.st == CSV_ST_FIELD && csv_parse_simple(r))
				return 1;
#endif
			rc = csv_parse(r);
			if (rc)
				return rc;
			if (r->end - r->start >= r->max_record)
				return csv_fail(r, -EFBIG,
						"line %llu: record longer than "
						"%zu bytes",
						(unsigned long long)r->line,
						r->max_record);
		} else if (r->eof) {
			return 0;
		}
		rc = csv_fill(r);
		if (rc)
			return rc;
	}
}

/* Copy the content of a quoted field, turning "" into ". */
static size_t csv_unescape(uint8_t *dst, const uint8_t *src, size_t len)
{
	size_t o = 0, run;
	const uint8_t *q;

	while (len) {
		q = memchr(src, '"', len);
		run = q ? (size_t)(q - src) + 1 : len;
		memcpy(dst + o, src, run);
		o += run;
		src += run;
		len -= run;
		if (q && len) {
			src++;
			len--;
		}
	}
	return o;
}

/* ---- reader: header and batches ---- */

static int csv_make_cols(struct csv_reader *r)
{
	const uint8_t *rec = r->base + r->start;
	size_t i, nf = r->rec.nf;
	struct csv_fld *f;
	struct pipe_col *c;

	r->cols = calloc(nf, sizeof(*r->cols));
	if (!r->cols)
		return csv_fail(r, -ENOMEM, "csv: out of memory");
	for (i = 0; i < nf; i++) {
		f = &r->flds[i];
		c = &r->cols[i];
		c->name = malloc(f->len + 1);
		if (!c->name) {
			r->ncols = i;
			return csv_fail(r, -ENOMEM, "csv: out of memory");
		}
		if (f->flags & CSV_FLD_ESC)
			c->name_len = csv_unescape((uint8_t *)c->name,
						   rec + f->off, f->len);
		else
			memcpy(c->name, rec + f->off, c->name_len = f->len);
		c->name[c->name_len] = 0;
		c->type = PIPE_TEXT;
		c->flags = f->flags & PIPE_F_QUOTED;
	}
	r->ncols = nf;
	r->fcap = nf; /* data rows store the first ncols fields only */
	return 0;
}

/* Does (p, n) hold a line end outside quotes? *inq carries over calls. */
static bool csv_has_line_end(const uint8_t *p, size_t n, bool *inq)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '"')
			*inq = !*inq;
		else if (!*inq && (p[i] == '\n' || p[i] == '\r'))
			return true;
	}
	return false;
}

/*
 * Fill until the buffer holds min bytes past start and, if line is set, the
 * end of the first line as csv_sniff_delimiter sees it; or up to EOF.
 */
static int csv_fill_until(struct csv_reader *r, size_t min, bool line)
{
	size_t seen = 0;
	bool inq = false;
	int rc;

	for (;;) {
		size_t have = r->end - r->start;

		if (r->eof || have >= r->max_record)
			return 0;
		if (have >= min &&
		    (!line || csv_has_line_end(r->base + r->start + seen,
					       have - seen, &inq)))
			return 0;
		seen = have;
		rc = csv_fill(r);
		if (rc)
			return rc;
	}
}

/*
 * The encoding named by a UTF-16 or UTF-32 byte order mark at p, or NULL.
 * FF FE 00 00 is UTF-32LE (or UTF-16LE starting with U+0000): wide either
 * way.
 */
static const char *csv_wide_bom(const uint8_t *p, size_t n)
{
	if (n >= 4 && !memcmp(p, "\xFF\xFE\0\0", 4))
		return "UTF-32 (little-endian, byte order mark FF FE 00 00)";
	if (n >= 4 && !memcmp(p, "\0\0\xFE\xFF", 4))
		return "UTF-32 (big-endian, byte order mark 00 00 FE FF)";
	if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE)
		return "UTF-16 (little-endian, byte order mark FF FE)";
	if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF)
		return "UTF-16 (big-endian, byte order mark FE FF)";
	return NULL;
}

#define CSV_WIDE_FIX                                                           \
	"CSV sources are read as UTF-8, so its first row could be served "     \
	"as the header: convert it first (iconv -t UTF-8)"

/*
 * A UTF-16 or UTF-32 file without a byte order mark: ASCII text in it has
 * a NUL byte next to every character, so the header record (the n bytes
 * at rec) holds two NUL bytes or more, or (UTF-16LE, a one-character
 * header) one, with the next record starting with a NUL byte. The names
 * would look like no value to the detectors of headerless files. A single
 * NUL inside a UTF-8 header name stays allowed (a name, never matched by
 * a rule). 0 or -EBADMSG.
 */
static int csv_check_wide(struct csv_reader *r, const uint8_t *rec, size_t n)
{
	size_t nul = 0;
	const uint8_t *q;

	for (q = memchr(rec, 0, n); q && nul < 2;
	     q = memchr(q + 1, 0, n - (size_t)(q + 1 - rec)))
		nul++;
	if (nul < 2 && nul) {
		int rc = csv_fill_until(r, 1, false);

		if (rc)
			return rc;
		if (r->start < r->end && !r->base[r->start])
			nul = 2;
	}
	if (nul < 2)
		return 0;
	return csv_fail(r, -EBADMSG,
			"line 1: the header holds NUL bytes as UTF-16 or "
			"UTF-32 text does (no byte order mark); " CSV_WIDE_FIX);
}

static int csv_read_header(struct csv_reader *r)
{
	const char *wide;
	size_t hdr_len;
	char d;
	int rc;

	if (r->failed)
		return r->failed;
	if (r->header_done)
		return 0;
	r->started = true;
	rc = csv_fill_until(r, 4, false);
	if (rc)
		return rc;
	wide = csv_wide_bom(r->base + r->start, r->end - r->start);
	if (wide)
		return csv_fail(r, -EBADMSG, "the file is %s; " CSV_WIDE_FIX,
				wide);
	if (r->end - r->start >= sizeof(csv_bom) &&
	    !memcmp(r->base + r->start, csv_bom, sizeof(csv_bom))) {
		r->start += sizeof(csv_bom);
		r->dia.bom = true;
	}
	if (r->auto_delim) {
		rc = csv_fill_until(r, 1, true);
		if (rc)
			return rc;
		csv_sniff_delimiter(r->base + r->start, r->end - r->start, &d);
		csv_set_delim(r, d);
	}
	r->grow_flds = true;
	rc = csv_next_record(r);
	r->grow_flds = false;
	if (rc < 0)
		return rc;
	if (rc > 0) {
		rc = csv_make_cols(r);
		if (rc)
			return rc;
		r->dia.header_eol = r->rec.eol;
		if (r->rec.eol != CSV_EOL_NONE)
			r->dia.eol = r->rec.eol;
		hdr_len = r->rec.scan;
		csv_rec_done(r);
		/* The header's bytes stay in the buffer until the next fill */
		rc = csv_check_wide(r, r->base + r->start - hdr_len, hdr_len);
		if (rc)
			return rc;
	}
	r->header_done = true;
	return 0;
}

static int csv_emit(struct csv_reader *r, struct pipe_batch *b)
{
	const uint8_t *rec = r->base + r->start;
	struct pipe_cell *c = &b->in[b->nrows * r->ncols];
	const struct csv_fld *f = r->flds;
	size_t i;
	uint8_t *d;

	for (i = 0; i < r->ncols; i++, c++, f++) {
		c->type = PIPE_TEXT;
		c->flags = f->flags & PIPE_F_QUOTED;
		if (f->flags & CSV_FLD_ESC) {
			d = spot_arena_alloc(&b->src_arena,
					     f->len ? f->len : 1);
			if (!d)
				return csv_fail(r, -ENOMEM,
						"csv: out of memory");
			c->len = csv_unescape(d, rec + f->off, f->len);
			c->p = d;
		} else {
			c->p = rec + f->off;
			c->len = f->len;
		}
	}
	if (b->rowmeta)
		b->rowmeta[b->nrows] = r->rec.eol;
	if (b->keep)
		b->keep[b->nrows] = 1;
	b->nrows++;
	r->pinned = !r->zero_copy;
	return 0;
}

static int csv_src_columns(void *src, const struct pipe_col **cols,
			   size_t *ncols, struct spot_err *err)
{
	struct csv_reader *r = src;
	int rc = csv_read_header(r);

	if (rc) {
		spot_err_set(err, "%s", r->errmsg);
		return rc;
	}
	*cols = r->cols;
	*ncols = r->ncols;
	return 0;
}

/* Parse one record without handing it out: 1, 0 (end) or -errno. */
static int csv_skip_record(struct csv_reader *r)
{
	int rc = csv_next_record(r);

	if (rc <= 0)
		return rc;
	if (r->rec.nf != r->ncols)
		return csv_fail(r, -EBADMSG,
				"line %llu: expected %zu fields, found %zu",
				(unsigned long long)r->line, r->ncols,
				r->rec.nf);
	r->rows++;
	csv_rec_done(r);
	return 1;
}

static int csv_src_next_batch(void *src, struct pipe_batch *b,
			      struct spot_err *err)
{
	struct csv_reader *r = src;
	size_t lim;
	int rc;

	b->nrows = 0;
	rc = csv_read_header(r);
	if (rc)
		goto fail;
	if (b->ncols != r->ncols) {
		spot_err_set(err, "csv: batch has %zu columns, source %zu",
			     b->ncols, r->ncols);
		return -EINVAL;
	}
	csv_recycle(r);
	spot_arena_reset(&b->src_arena);
	while (r->align && r->ncols && b->cap && r->rows % b->cap) {
		rc = csv_skip_record(r);
		if (rc < 0)
			goto fail;
		if (!rc)
			break;
	}
	r->align = false;
	if (r->stop_at && r->in_off - (r->end - r->start) >= r->stop_at)
		return 0;
	b->first_row = r->rows;
	/* Batches end at multiples of cap in file rows, whatever the part. */
	lim = b->cap ? b->cap - (size_t)(r->rows % b->cap) : 0;
	while (r->ncols && b->nrows < lim) {
		rc = csv_next_record(r);
		if (rc < 0)
			goto fail;
		if (!rc)
			break;
		if (r->rec.nf != r->ncols) {
			rc = csv_fail(
				r, -EBADMSG,
				"line %llu: expected %zu fields, found %zu",
				(unsigned long long)r->line, r->ncols,
				r->rec.nf);
			goto fail;
		}
		rc = csv_emit(r, b);
		if (rc)
			goto fail;
		csv_rec_done(r);
	}
	r->rows += b->nrows;
	return 0;
fail:
	b->nrows = 0;
	spot_err_set(err, "%s", r->errmsg);
	return rc;
}

int csv_reader_skim(struct csv_reader *r, struct spot_err *err)
{
	int rc = csv_read_header(r);

	while (!rc && r->ncols) {
		rc = csv_skip_record(r);
		if (rc <= 0)
			break;
		rc = 0;
	}
	if (rc < 0) {
		spot_err_set(err, "%s", r->errmsg);
		return rc;
	}
	return 0;
}

static const void *csv_src_dialect(void *src)
{
	return &((struct csv_reader *)src)->dia;
}

const struct pipe_source_ops csv_source_ops = {
	.columns = csv_src_columns,
	.next_batch = csv_src_next_batch,
	.dialect = csv_src_dialect,
};

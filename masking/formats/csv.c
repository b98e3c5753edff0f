/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * csv.c - streaming CSV reader and writer; csv.h states the rules.
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
#include <unistd.h>

#define CSV_FLD_ESC (1u << 7) /* quoted field holding doubled quotes */
#define CSV_SPARE_MAX 2	      /* recycled buffers kept between batches */

enum csv_state {
	CSV_ST_FIELD = 0, /* at the first byte of a field */
	CSV_ST_BARE,	  /* in an unquoted field */
	CSV_ST_QUOTED,	  /* inside quotes */
	CSV_ST_QSEEN,	  /* just after a quote inside quotes */
	CSV_ST_CR,	  /* after a CR that ends the record: LF may follow */
};

struct csv_fld {
	size_t off; /* from the record's first byte */
	size_t len;
	uint8_t flags; /* PIPE_F_QUOTED, CSV_FLD_ESC */
};

/* Parse state of the record in progress, relative to its first byte. */
struct csv_rec {
	size_t scan;	/* next byte to look at */
	size_t fstart;	/* first content byte of the current field */
	size_t nf;	/* fields ended so far */
	uint64_t nl;	/* LFs seen inside quoted fields */
	uint64_t qline; /* line where the current quoted field began */
	uint8_t st;	/* enum csv_state */
	uint8_t fflags; /* flags of the current field */
	uint8_t eol;	/* enum csv_eol, once complete */
};

struct csv_blk {
	struct csv_blk *next;
	size_t cap;
	_Alignas(16) uint8_t data[];
};

struct csv_reader {
	int fd; /* -1 for memory */
	const uint8_t *mem;
	size_t mem_len;
	uint64_t in_off; /* next input offset to read */
	bool zero_copy;	 /* memory reader whose cells point into mem */
	bool eof;	 /* no more input */
	bool started;	 /* reading began: tuning is closed */
	bool use_read;	 /* fd cannot pread (pipe) */
	bool header_done;
	bool auto_delim;
	bool grow_flds; /* header: the field array grows */
	bool pinned;	/* cells of this batch point into cur */
	size_t chunk;
	size_t max_record;

	struct csv_blk *cur;	 /* NULL when zero_copy */
	struct csv_blk *retired; /* hold cells of this batch */
	struct csv_blk *spare;
	const uint8_t *base; /* cur->data or mem */
	size_t start;	     /* first byte of the record in progress */
	size_t end;	     /* end of valid bytes */
	size_t cap;

	struct csv_rec rec;
	struct csv_fld *flds;
	size_t fcap;
	uint8_t stop[256]; /* bytes that end an unquoted run */

	uint64_t line; /* line of the record in progress, from 1 */
	uint64_t rows;
	struct csv_dialect dia;
	struct pipe_col *cols;
	size_t ncols;
	int failed; /* sticky -errno */
	char errmsg[SPOT_ERR_MAX];
};

static const uint8_t csv_bom[3] = { 0xEF, 0xBB, 0xBF };
static const uint8_t csv_empty[1];

static bool csv_delim_ok(char d)
{
	return d != '"' && d != '\r' && d != '\n' && d != 0;
}

__attribute__((format(printf, 3, 4))) static int
csv_fail(struct csv_reader *r, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	va_end(ap);
	r->failed = rc;
	return rc;
}

static void csv_set_delim(struct csv_reader *r, char d)
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

/* ---- reader: input and buffers ---- */

static int csv_reader_alloc(char delim, struct csv_reader **out)
{
	struct csv_reader *r;

	if (delim && !csv_delim_ok(delim))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = -1;
	r->chunk = CSV_CHUNK_DEFAULT;
	r->max_record = CSV_MAX_RECORD_DEFAULT;
	r->line = 1;
	r->auto_delim = !delim;
	r->dia.magic = CSV_DIALECT_MAGIC;
	r->dia.header_eol = CSV_EOL_LF;
	r->dia.eol = CSV_EOL_LF;
	csv_set_delim(r, delim ? delim : ',');
	*out = r;
	return 0;
}

int csv_reader_open_fd(int fd, char delim, struct csv_reader **out)
{
	struct csv_reader *r;
	int rc;

	if (fd < 0)
		return -EINVAL;
	rc = csv_reader_alloc(delim, &r);
	if (rc)
		return rc;
	r->fd = fd;
	*out = r;
	return 0;
}

int csv_reader_open_mem(const void *p, size_t len, char delim,
			struct csv_reader **out)
{
	struct csv_reader *r;
	int rc;

	rc = csv_reader_alloc(delim, &r);
	if (rc)
		return rc;
	r->mem = len ? p : csv_empty;
	r->mem_len = len;
	r->zero_copy = true;
	r->eof = true;
	r->base = r->mem;
	r->end = len;
	r->cap = len;
	*out = r;
	return 0;
}

int csv_reader_set_chunk(struct csv_reader *r, size_t chunk)
{
	if (!chunk || r->started)
		return -EINVAL;
	r->chunk = chunk;
	if (r->zero_copy) {
		r->zero_copy = false;
		r->eof = false;
		r->base = NULL;
		r->end = 0;
		r->cap = 0;
	}
	return 0;
}

int csv_reader_set_max_record(struct csv_reader *r, size_t max)
{
	if (!max || r->started)
		return -EINVAL;
	r->max_record = max;
	return 0;
}

uint64_t csv_reader_rows(const struct csv_reader *r)
{
	return r->rows;
}

static void csv_blk_free_list(struct csv_blk *b)
{
	while (b) {
		struct csv_blk *next = b->next;

		free(b);
		b = next;
	}
}

void csv_reader_free(struct csv_reader *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->ncols; i++)
		free(r->cols[i].name);
	free(r->cols);
	free(r->flds);
	free(r->cur);
	csv_blk_free_list(r->retired);
	csv_blk_free_list(r->spare);
	free(r);
}

static ssize_t csv_read_some(struct csv_reader *r, uint8_t *dst, size_t n)
{
	ssize_t got;

	if (r->fd < 0) {
		size_t left = r->mem_len - (size_t)r->in_off;

		if (n > left)
			n = left;
		if (n)
			memcpy(dst, r->mem + r->in_off, n);
		r->in_off += n;
		return (ssize_t)n;
	}
	for (;;) {
		if (r->use_read)
			got = read(r->fd, dst, n);
		else
			got = pread(r->fd, dst, n, (off_t)r->in_off);
		if (got >= 0) {
			r->in_off += (uint64_t)got;
			return got;
		}
		if (errno == EINTR)
			continue;
		if (errno == ESPIPE && !r->use_read) {
			r->use_read = true;
			continue;
		}
		return -errno;
	}
}

/* A buffer of at least need bytes: a recycled one or a new one. */
static struct csv_blk *csv_blk_get(struct csv_reader *r, size_t need)
{
	struct csv_blk **pp, *b;

	for (pp = &r->spare; *pp; pp = &(*pp)->next) {
		if ((*pp)->cap >= need) {
			b = *pp;
			*pp = b->next;
			return b;
		}
	}
	if (need > SIZE_MAX - sizeof(*b))
		return NULL;
	b = malloc(sizeof(*b) + need);
	if (b)
		b->cap = need;
	return b;
}

/*
 * Make room for a read of r->chunk bytes after the partial record. Move it
 * to the front (or grow the buffer) when no handed-out cell points into the
 * buffer; otherwise copy it to another buffer and retire this one.
 */
static int csv_make_room(struct csv_reader *r)
{
	size_t keep = r->end - r->start, need = keep + r->chunk, ncap;
	struct csv_blk *b;

	if (need < keep)
		return -ENOMEM;
	if (r->cur && !r->pinned) {
		if (r->start)
			memmove(r->cur->data, r->cur->data + r->start, keep);
		r->start = 0;
		r->end = keep;
		if (r->cap >= need)
			return 0;
		ncap = r->cap > need / 2 ? r->cap * 2 : need;
		b = realloc(r->cur, sizeof(*b) + ncap);
		if (!b)
			return -ENOMEM;
		b->cap = ncap;
	} else {
		ncap = 2 * r->chunk > need ? 2 * r->chunk : need;
		b = csv_blk_get(r, ncap);
		if (!b)
			return -ENOMEM;
		if (keep)
			memcpy(b->data, r->base + r->start, keep);
		if (r->cur) {
			r->cur->next = r->retired;
			r->retired = r->cur;
		}
		r->start = 0;
		r->end = keep;
		r->pinned = false;
	}
	r->cur = b;
	r->base = b->data;
	r->cap = b->cap;
	return 0;
}

static int csv_fill(struct csv_reader *r)
{
	size_t want;
	ssize_t got;
	int rc;

	r->started = true;
	if (!r->cur || r->cap - r->end < r->chunk) {
		rc = csv_make_room(r);
		if (rc)
			return csv_fail(r, rc, "csv: out of memory");
	}
	want = r->cap - r->end < r->chunk ? r->cap - r->end : r->chunk;
	got = csv_read_some(r, r->cur->data + r->end, want);
	if (got < 0)
		return csv_fail(r, (int)got, "line %llu: read failed: %s",
				(unsigned long long)r->line,
				strerror((int)-got));
	if (!got)
		r->eof = true;
	r->end += (size_t)got;
	return 0;
}

/* At a batch start no cell is handed out: retired buffers become spares. */
static void csv_recycle(struct csv_reader *r)
{
	struct csv_blk *b, **pp;
	size_t n = 0;

	while ((b = r->retired)) {
		r->retired = b->next;
		b->next = r->spare;
		r->spare = b;
	}
	for (pp = &r->spare; *pp && n < CSV_SPARE_MAX; pp = &(*pp)->next)
		n++;
	csv_blk_free_list(*pp);
	*pp = NULL;
	r->pinned = false;
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

static int csv_read_header(struct csv_reader *r)
{
	char d;
	int rc;

	if (r->failed)
		return r->failed;
	if (r->header_done)
		return 0;
	r->started = true;
	rc = csv_fill_until(r, sizeof(csv_bom), false);
	if (rc)
		return rc;
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
		csv_rec_done(r);
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

static int csv_src_next_batch(void *src, struct pipe_batch *b,
			      struct spot_err *err)
{
	struct csv_reader *r = src;
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
	b->first_row = r->rows;
	while (r->ncols && b->nrows < b->cap) {
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

static const void *csv_src_dialect(void *src)
{
	return &((struct csv_reader *)src)->dia;
}

const struct pipe_source_ops csv_source_ops = {
	.columns = csv_src_columns,
	.next_batch = csv_src_next_batch,
	.dialect = csv_src_dialect,
};

/* ---- writer ---- */

struct csv_writer {
	struct spot_buf *out;
	struct csv_dialect dia; /* sanitised copy */
	bool verbatim; /* CSV source: unchanged cells are written as read */
	bool open_eol; /* the last record had no terminator */
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * csv_input.c - the CSV reader's input: opening and tuning a reader,
 * reading from a file descriptor or memory, and the buffers records are
 * parsed in. A buffer that holds cells already handed out in the current
 * batch is never moved: the partial record is copied to a fresh buffer and
 * the old one is retired until the next batch, then recycled. The parser is
 * in csv.c; csv.h states the rules.
 */
#include "csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv_i.h"

#define CSV_SPARE_MAX 2 /* recycled buffers kept between batches */
#define CSV_HUGE ((size_t)2 << 20)

static const uint8_t csv_empty[1];

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
	struct stat st;
	int rc;

	if (fd < 0)
		return -EINVAL;
	rc = csv_reader_alloc(delim, &r);
	if (rc)
		return rc;
	r->fd = fd;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode))
		r->dia.size = (uint64_t)st.st_size;
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
	r->dia.size = len;
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

uint64_t csv_reader_data_offset(const struct csv_reader *r)
{
	return r->in_off - (r->end - r->start);
}

uint64_t csv_reader_line(const struct csv_reader *r)
{
	return r->line;
}

void csv_reader_part_batches(struct csv_reader *r)
{
	r->stop_at = r->in_end;
	r->in_end = 0;
	r->align = r->rows != 0;
}

int csv_reader_open_part(int fd, const struct csv_reader *hdr, uint64_t off,
			 uint64_t end, uint64_t line, uint64_t rows,
			 struct csv_reader **out)
{
	struct csv_reader *r;
	int rc;

	if (fd < 0 || !hdr->header_done || hdr->fd < 0 || hdr->use_read ||
	    (end && end < off))
		return -EINVAL;
	rc = csv_reader_alloc(hdr->dia.delim, &r);
	if (rc)
		return rc;
	r->fcap = hdr->ncols ? hdr->ncols : 1;
	r->flds = calloc(r->fcap, sizeof(*r->flds));
	if (!r->flds) {
		free(r);
		return -ENOMEM;
	}
	r->fd = fd;
	r->in_off = off;
	r->in_end = end;
	r->chunk = hdr->chunk;
	if (end && end - off < r->chunk) /* a small part: small buffers */
		r->chunk = end - off > 64 ? (size_t)(end - off) : 64;
	r->max_record = hdr->max_record;
	r->started = true;
	r->header_done = true;
	r->auto_delim = false;
	r->borrowed = true;
	r->cols = hdr->cols;
	r->ncols = hdr->ncols;
	r->dia = hdr->dia;
	r->dia.size = end		    ? end - off
		      : hdr->dia.size > off ? hdr->dia.size - off
					    : 0;
	r->line = line;
	r->rows = rows;
	*out = r;
	return 0;
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
	for (i = 0; !r->borrowed && i < r->ncols; i++)
		free(r->cols[i].name);
	if (!r->borrowed)
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
	if (r->in_end && n > r->in_end - r->in_off)
		n = (size_t)(r->in_end - r->in_off);
	if (!n)
		return 0;
	for (;;) {
		if (r->use_read)
			got = read(r->fd, dst, n);
		else
			got = pread(r->fd, dst, n, (off_t)r->in_off);
		if (got >= 0) {
			r->in_off += (uint64_t)got;
			spot_progress_add(spot_progress_cur, (uint64_t)got, 0);
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
	size_t size;

	for (pp = &r->spare; *pp; pp = &(*pp)->next) {
		if ((*pp)->cap >= need) {
			b = *pp;
			*pp = b->next;
			return b;
		}
	}
	if (need > SIZE_MAX - sizeof(*b) - CSV_HUGE)
		return NULL;
	if (need < CSV_HUGE / 2) {
		b = malloc(sizeof(*b) + need);
		if (b)
			b->cap = need;
		return b;
	}
	/*
	 * A large buffer (a reader of a big file makes one per part and
	 * pass): whole huge pages, so filling it is not one page fault per
	 * 4 KiB (see spot_buf_reserve). Freed with free().
	 */
	size = (sizeof(*b) + need + CSV_HUGE - 1) & ~(CSV_HUGE - 1);
	b = aligned_alloc(CSV_HUGE, size);
	if (!b)
		return NULL;
	(void)madvise(b, size, MADV_HUGEPAGE);
	b->cap = size - sizeof(*b);
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
		/* Two chunks; a huge one less the header, so 2 MiB is one
		 * huge page, not two (csv_blk_get rounds large blocks up). */
		ncap = 2 * r->chunk;
		if (ncap >= CSV_HUGE && ncap - sizeof(*b) >= need)
			ncap -= sizeof(*b);
		if (ncap < need)
			ncap = need;
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

int csv_fill(struct csv_reader *r)
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
void csv_recycle(struct csv_reader *r)
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

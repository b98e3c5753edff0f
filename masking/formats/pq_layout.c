/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_layout.c - the byte layout of an untrusted Parquet file: declared
 * ranges inside the data area and disjoint, served chunks' page headers
 * walking exactly to their stated size, bloom filter headers agreeing with
 * their stated length. See pq_layout.h for the rules and why.
 */
#include "pq_layout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pq_thrift.h"
#include "pq_view_i.h"

/* Bytes read at a time while walking page headers. */
#define PQ_WALK_WINDOW 4096u

/* ---- declared ranges: inside the data area, disjoint ---- */

enum pq_rkind { PQ_R_CHUNK, PQ_R_BLOOM, PQ_R_OFFSET_INDEX, PQ_R_COLUMN_INDEX };

struct pq_rent {
	uint64_t off, end;
	uint32_t g, c;
	int kind;
};

static const char *pq_rkind_name(int kind)
{
	static const char *const names[] = {
		"column chunk",
		"bloom filter",
		"offset index",
		"column index",
	};

	return names[kind];
}

static int pq_rent_cmp(const void *a, const void *b)
{
	const struct pq_rent *x = a, *y = b;

	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

static int pq_layout_bad(struct spot_err *err, const struct pq_meta *m,
			 const struct pq_rent *r, const char *what)
{
	spot_err_set(err,
		     "parquet: invalid layout: row group %u, column \"%s\": "
		     "%s %s",
		     r->g, m->leaves[r->c].path, pq_rkind_name(r->kind), what);
	return -EINVAL;
}

/*
 * Add the side range `which` of chunk (g, c) to rs if declared; a declared
 * range outside the data area is an error.
 */
static int pq_layout_side(const struct pq_meta *m, size_t g, size_t c,
			  int which, uint64_t data_end, struct pq_rent *rs,
			  size_t *n, struct spot_err *err)
{
	static const int kinds[PQ_NSIDES] = { PQ_R_BLOOM, PQ_R_OFFSET_INDEX,
					      PQ_R_COLUMN_INDEX };
	struct pq_rent r = { 0, 0, (uint32_t)g, (uint32_t)c, kinds[which] };
	int64_t off, len;

	if (pq_meta_side_range(&m->rgs[g].chunks[c], which, &off, &len))
		return 0;
	/*
	 * An offset without a length (older writers): nothing is read or
	 * served there, but no served range may cover its first byte.
	 */
	if (len == -1 && (off < 4 || (uint64_t)off >= data_end))
		return 0;
	if (len == -1)
		len = 1;
	if (off < 4 || len <= 0 || (uint64_t)off > data_end ||
	    (uint64_t)len > data_end - (uint64_t)off)
		return pq_layout_bad(err, m, &r,
				     "lies outside the data area of the file");
	r.off = (uint64_t)off;
	r.end = (uint64_t)off + (uint64_t)len;
	rs[(*n)++] = r;
	return 0;
}

int pq_layout_check(const struct pq_meta *m, uint64_t data_end,
		    struct spot_err *err)
{
	size_t max = m->nrgs * m->nleaves * (1 + PQ_NSIDES), n = 0, g, c, i;
	struct pq_rent *rs, *far;
	int rc = 0;

	if (m->nleaves &&
	    m->nrgs > SIZE_MAX / m->nleaves / (1 + PQ_NSIDES) / sizeof(*rs))
		rs = NULL;
	else
		rs = malloc(max ? max * sizeof(*rs) : 1);
	if (!rs) {
		spot_err_set(err, "parquet: out of memory checking the layout");
		return -ENOMEM;
	}
	for (g = 0; !rc && g < m->nrgs; g++) {
		for (c = 0; !rc && c < m->nleaves; c++) {
			const struct pq_chunk *ch = &m->rgs[g].chunks[c];
			int w;

			/* pq_meta_parse put the chunk inside the data area. */
			rs[n++] = (struct pq_rent){ (uint64_t)ch->start,
						    (uint64_t)ch->start +
							    (uint64_t)ch->csize,
						    (uint32_t)g, (uint32_t)c,
						    PQ_R_CHUNK };
			for (w = 0; !rc && w < PQ_NSIDES; w++)
				rc = pq_layout_side(m, g, c, w, data_end, rs,
						    &n, err);
		}
	}
	if (!rc && n > 1)
		qsort(rs, n, sizeof(*rs), pq_rent_cmp);
	/* far: the range reaching furthest among those before rs[i]. */
	for (i = 1, far = rs; !rc && i < n; i++) {
		if (rs[i].off < far->end) {
			spot_err_set(err,
				     "parquet: invalid layout: row group %u, "
				     "column \"%s\": %s overlaps the %s of "
				     "row group %u, column \"%s\"",
				     rs[i].g, m->leaves[rs[i].c].path,
				     pq_rkind_name(rs[i].kind),
				     pq_rkind_name(far->kind), far->g,
				     m->leaves[far->c].path);
			rc = -EINVAL;
		}
		if (rs[i].end > far->end)
			far = &rs[i];
	}
	free(rs);
	return rc;
}

/* ---- page header walk ---- */

/* A read window over the source file. */
struct pq_win {
	int fd;
	uint8_t *buf;
	size_t cap;
	uint64_t off; /* file offset of buf[0] */
	size_t len;   /* valid bytes in buf */
};

/* Read [pos, pos + want) into the window. */
static int pq_win_read(struct pq_win *w, uint64_t pos, size_t want)
{
	int rc;

	if (want > w->cap) {
		uint8_t *nb = realloc(w->buf, want);

		if (!nb)
			return -ENOMEM;
		w->buf = nb;
		w->cap = want;
	}
	w->len = 0;
	rc = pq_pread_full(w->fd, w->buf, want, pos);
	if (rc)
		return rc;
	w->off = pos;
	w->len = want;
	return 0;
}

/* Bytes of the window from pos on (0 if pos is not in it). */
static size_t pq_win_avail(const struct pq_win *w, uint64_t pos)
{
	if (!w->len || pos < w->off || pos >= w->off + w->len)
		return 0;
	return (size_t)(w->off + w->len - pos);
}

/*
 * Parse the page header at pos, with room bytes left in the chunk:
 * first from what the window holds, then from ever larger reads, up to
 * PQ_MAX_PAGE_HDR (a header cut short by the window fails to parse).
 */
static int pq_walk_hdr(struct pq_win *w, struct spot_arena *a, uint64_t pos,
		       uint64_t room, struct pq_page_hdr *h,
		       struct spot_err *err)
{
	uint64_t lim = room < PQ_MAX_PAGE_HDR ? room : PQ_MAX_PAGE_HDR;
	size_t avail = pq_win_avail(w, pos), want = PQ_WALK_WINDOW;
	int rc;

	if (avail > lim)
		avail = (size_t)lim;
	for (;;) {
		if (!avail) {
			if (want > lim)
				want = (size_t)lim;
			rc = pq_win_read(w, pos, want);
			if (rc)
				return rc;
			avail = want;
		}
		spot_arena_reset(a);
		rc = pq_page_hdr_read(a, w->buf + (pos - w->off), avail, h,
				      err);
		if (rc != -EINVAL || avail >= lim)
			return rc;
		want = avail * 4 > want ? avail * 4 : want;
		avail = 0;
	}
}

static int pq_walk_bad(struct spot_err *err, const struct pq_meta *m, size_t g,
		       size_t c, const char *what)
{
	spot_err_set(err,
		     "parquet: invalid layout: row group %zu, column \"%s\": "
		     "%s",
		     g, m->leaves[c].path, what);
	return -EINVAL;
}

/* The rules of one page at pos (the npages-th), given its header h. */
static const char *pq_walk_page(const struct pq_chunk *ch,
				const struct pq_page_hdr *h, uint64_t pos,
				uint64_t end, size_t npages)
{
	bool dict_declared = ch->dict_off >= 0;

	if ((uint64_t)h->csize > end - pos - h->hdr_len)
		return "a page runs past the column chunk";
	/* Served byte for byte: nothing but what Parquet defines. */
	if (h->foreign)
		return "a page header holds fields Parquet does not define";
	if (npages == 0 && dict_declared && h->type != PQ_PAGE_DICTIONARY)
		return "dictionary_page_offset is not a dictionary page";
	if (h->type == PQ_PAGE_DICTIONARY && npages != 0)
		return "a dictionary page follows other pages";
	if (h->type != PQ_PAGE_DICTIONARY && h->type != PQ_PAGE_DATA &&
	    h->type != PQ_PAGE_DATA_V2)
		return "a page is neither a dictionary nor a data page";
	/* data_page_offset: the page after a declared dictionary. */
	if (npages == 1 && dict_declared && pos != (uint64_t)ch->data_off)
		return "data_page_offset is not where the data pages start";
	return NULL;
}

int pq_layout_walk_chunk(const struct pq_meta *m, int fd, size_t g, size_t c,
			 struct spot_err *err)
{
	const struct pq_chunk *ch = &m->rgs[g].chunks[c];
	uint64_t pos = (uint64_t)ch->start, end = pos + (uint64_t)ch->csize;
	struct pq_win w = { fd, NULL, 0, 0, 0 };
	struct spot_arena a;
	struct pq_page_hdr h;
	struct spot_err perr;
	const char *bad = NULL;
	int64_t values = 0;
	size_t npages = 0;
	int rc = 0;

	/* A flat column holds one level entry per row of its group. */
	if (!m->leaves[c].max_rep && ch->num_values != m->rgs[g].num_rows)
		return pq_walk_bad(err, m, g, c,
				   "num_values differs from the row group's "
				   "num_rows");
	spot_arena_init(&a);
	while (!rc && !bad && pos < end) {
		rc = pq_walk_hdr(&w, &a, pos, end - pos, &h, &perr);
		if (rc == -EINVAL) {
			bad = "a page header does not parse";
			rc = 0;
			break;
		}
		if (rc)
			break;
		bad = pq_walk_page(ch, &h, pos, end, npages);
		if (h.type != PQ_PAGE_DICTIONARY)
			values += h.num_values;
		pos += h.hdr_len + (uint64_t)h.csize;
		npages++;
	}
	/* A declared dictionary page alone: no data pages follow it. */
	if (!rc && !bad && npages == 1 && ch->dict_off >= 0 &&
	    (uint64_t)ch->data_off != end)
		bad = "data_page_offset is not where the data pages start";
	if (!rc && !bad && values != ch->num_values)
		bad = "the pages' num_values do not add up to the chunk's";
	if (bad)
		rc = pq_walk_bad(err, m, g, c, bad);
	else if (rc == -ENOMEM)
		spot_err_set(err, "parquet: out of memory walking pages");
	else if (rc)
		spot_err_set(err, "parquet: cannot read a column chunk: %s",
			     strerror(-rc));
	spot_arena_fini(&a);
	free(w.buf);
	return rc;
}

/* ---- bloom filters ---- */

int pq_layout_bloom(const struct pq_meta *m, int fd, size_t g, size_t c,
		    int64_t off, int64_t len, struct spot_err *err)
{
	size_t n = len < PQ_WALK_WINDOW ? (size_t)len : PQ_WALK_WINDOW, used;
	struct pq_tstruct *bh;
	struct spot_arena a;
	struct spot_err perr;
	uint8_t *buf;
	int64_t nbytes;
	int rc;

	buf = malloc(n ? n : 1);
	if (!buf) {
		spot_err_set(err, "parquet: out of memory");
		return -ENOMEM;
	}
	spot_arena_init(&a);
	rc = pq_pread_full(fd, buf, n, (uint64_t)off);
	if (rc) {
		spot_err_set(err, "parquet: cannot read a bloom filter: %s",
			     strerror(-rc));
		goto out;
	}
	rc = pq_thrift_read(&a, buf, n, &bh, &used, &perr);
	if (rc == -ENOMEM) {
		spot_err_set(err, "parquet: out of memory");
		goto out;
	}
	/* BloomFilterHeader.numBytes: the bitset after the header. */
	if (rc || pq_tstruct_int(bh, 1, &nbytes) || nbytes <= 0 ||
	    (int64_t)used + nbytes != len)
		rc = pq_walk_bad(err, m, g, c,
				 "bloom filter header disagrees with "
				 "bloom_filter_length");
	/* Served byte for byte: nothing but what Parquet defines. */
	else if (pq_bloom_hdr_foreign(bh))
		rc = pq_walk_bad(err, m, g, c,
				 "bloom filter header holds fields Parquet "
				 "does not define");
out:
	spot_arena_fini(&a);
	free(buf);
	return rc;
}

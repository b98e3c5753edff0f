/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_build.c - masking the chunks of one row group: every masked column is
 * decoded page by page, its values are handed to the plan's column
 * functions in batches that never cross a page boundary, and the results
 * are re-encoded page for page into new chunks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pq_codec.h"
#include "pq_value.h"
#include "pq_view_i.h"

/* Per masked column state while a row group is processed. */
struct pq_mstate {
	const struct pq_leaf *leaf;
	uint8_t *raw; /* the source chunk bytes */
	struct pq_chunk_rd rd;
	struct pq_page pg;
	bool have_page, ended;
	uint32_t pos; /* next level entry of pg */
	uint32_t vi;  /* next non-null value of pg */
	int out_max_def;
	uint32_t *vidx; /* per batch row: value index, or UINT32_MAX */
};

static int pq_ms_open(const struct pq_file *f, int fd, size_t g,
		      struct pq_mstate *s, const struct pq_mcol *mc,
		      struct pq_chunk_wr *w, struct spot_err *err)
{
	const struct pq_chunk *ch = &f->m->rgs[g].chunks[mc->col];
	uint32_t width;
	int rc;

	s->leaf = &f->m->leaves[mc->col];
	rc = pq_codec_check(ch->codec, err);
	if (rc)
		return rc;
	s->raw = malloc((size_t)ch->csize);
	s->vidx = malloc(PIPE_BATCH_ROWS * sizeof(*s->vidx));
	if (!s->raw || !s->vidx)
		return -ENOMEM;
	rc = pq_pread_full(fd, s->raw, (size_t)ch->csize, (uint64_t)ch->start);
	if (rc) {
		spot_err_set(err, "parquet: cannot read a column chunk: %s",
			     strerror(-rc));
		return rc;
	}
	pq_chunk_rd_init(&s->rd, s->leaf, ch->codec, ch->num_values, s->raw,
			 (size_t)ch->csize);
	s->out_max_def = s->leaf->max_def + mc->to_optional;
	width = pq_type_width(s->leaf->ptype, s->leaf->type_length);
	return pq_chunk_wr_init(
		w, mc->to_string ? PQ_BYTE_ARRAY : s->leaf->ptype,
		mc->to_string ? 0 : width, ch->codec, false, s->out_max_def);
}

static void pq_ms_close(struct pq_mstate *s)
{
	if (s->raw)
		pq_chunk_rd_fini(&s->rd);
	free(s->raw);
	free(s->vidx);
}

/* Make sure s has rows left in its page; flush finished pages. */
static int pq_ms_advance(struct pq_mstate *s, struct pq_chunk_wr *w,
			 struct spot_err *err)
{
	int rc;

	while (!s->ended && (!s->have_page || s->pos == s->pg.num_values)) {
		if (s->have_page) {
			w->crc = s->rd.had_crc;
			rc = pq_chunk_wr_page(w, s->pg.type, err);
			if (rc)
				return rc;
			s->have_page = false;
		}
		rc = pq_chunk_next(&s->rd, &s->pg, err);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			s->ended = true;
			break;
		}
		s->have_page = true;
		s->pos = s->vi = 0;
	}
	return 0;
}

/* The cells of n rows of column s into b. */
static int pq_ms_fill(struct pq_mstate *s, struct pipe_batch *b, size_t col,
		      uint32_t n)
{
	const struct pq_vals *v = &s->pg.vals;
	uint32_t r;

	for (r = 0; r < n; r++) {
		struct pipe_cell *c = &b->in[r * b->ncols + col];
		uint32_t def = s->pg.def ? s->pg.def[s->pos + r]
					 : (uint32_t)s->leaf->max_def;
		const uint8_t *p;
		uint32_t len;

		s->vidx[r] = UINT32_MAX;
		if (def != (uint32_t)s->leaf->max_def)
			continue; /* stays PIPE_NULL */
		if (s->vi >= v->n)
			return -EINVAL;
		s->vidx[r] = s->vi;
		if (v->ba) {
			p = v->ba[s->vi].p;
			len = v->ba[s->vi].len;
		} else {
			p = v->fixed + (size_t)s->vi * v->width;
			len = v->width;
		}
		s->vi++;
		if (pq_value_to_cell(s->leaf, p, len, &b->src_arena, c))
			return -ENOMEM;
	}
	return 0;
}

/* A masked NULL: legal only where the output column is optional. */
static int pq_ms_put_null(struct pq_mstate *s, struct pq_mcol *mc,
			  struct pq_chunk_wr *w)
{
	if (s->leaf->repetition == PQ_OPTIONAL || mc->to_optional)
		return pq_chunk_wr_null(w, (uint32_t)s->out_max_def - 1);
	mc->to_optional = true;
	return -EAGAIN;
}

static int pq_ms_put(struct pq_mstate *s, struct pq_mcol *mc,
		     struct pq_chunk_wr *w, const struct pipe_batch *b,
		     uint32_t r)
{
	const struct pipe_cell *in = &b->in[r * b->ncols + mc->col];
	const struct pipe_cell *c = pipe_batch_cell(b, r, mc->col);
	const struct pq_vals *v = &s->pg.vals;
	uint8_t fixed[32];
	const uint8_t *p;
	uint32_t len, k = s->vidx[r];

	if (c == in && k == UINT32_MAX)
		return pq_chunk_wr_null(w, s->pg.def[s->pos + r]);
	if (c->type == PIPE_NULL)
		return pq_ms_put_null(s, mc, w);
	if (c == in && !mc->to_string) { /* unchanged: the exact bytes */
		if (v->ba)
			return pq_chunk_wr_put(w, v->ba[k].p, v->ba[k].len);
		return pq_chunk_wr_put(w, v->fixed + (size_t)k * v->width,
				       v->width);
	}
	if (mc->to_string || c->len > UINT32_MAX)
		return pq_chunk_wr_put(w, c->p, (uint32_t)c->len);
	if (pq_value_from_cell(s->leaf, c, fixed, &p, &len)) {
		mc->to_string = true;
		return -EAGAIN;
	}
	return pq_chunk_wr_put(w, p, len);
}

/* One batch of n rows through the transforms and into the writers. */
static int pq_batch_run(struct pq_mstate *ms, struct pq_mcol *mc, size_t nmc,
			struct pq_chunk_wr *w, struct pipe_batch *b, uint32_t n,
			struct spot_err *err)
{
	size_t k, i;
	uint32_t r;
	int rc;

	pipe_batch_clear(b);
	b->nrows = n;
	for (i = 0; i < n * b->ncols; i++) {
		memset(&b->in[i], 0, sizeof(b->in[i]));
		memset(&b->out[i], 0, sizeof(b->out[i]));
		b->in[i].type = PIPE_NULL;
	}
	memset(b->keep, 1, n);
	for (k = 0; k < nmc; k++)
		if (pq_ms_fill(&ms[k], b, mc[k].col, n)) {
			spot_err_set(err, "parquet: page has fewer values "
					  "than its levels say");
			return -EINVAL;
		}
	for (k = 0; k < nmc; k++) {
		rc = mc[k].xf->fn(mc[k].xf->arg, b, mc[k].col, err);
		if (rc)
			return rc;
	}
	for (k = 0; k < nmc; k++) {
		for (r = 0; r < n; r++) {
			rc = pq_ms_put(&ms[k], &mc[k], &w[k], b, r);
			if (rc)
				return rc;
		}
		ms[k].pos += n;
	}
	return 0;
}

/* Rows that can go in the next batch: up to the nearest page end. */
static int pq_batch_rows(struct pq_mstate *ms, size_t nmc, uint32_t *n,
			 struct spot_err *err)
{
	size_t k, ended = 0;

	*n = PIPE_BATCH_ROWS;
	for (k = 0; k < nmc; k++) {
		uint32_t left = ms[k].pg.num_values - ms[k].pos;

		if (ms[k].ended) {
			ended++;
			continue;
		}
		if (left < *n)
			*n = left;
	}
	if (ended && ended != nmc) {
		spot_err_set(err, "parquet: masked columns of a row group "
				  "have different row counts");
		return -EINVAL;
	}
	if (ended)
		*n = 0;
	return 0;
}

int pq_build_rowgroup(const struct pq_file *f, int fd, size_t g,
		      uint64_t first_row, struct pq_mcol *mc, size_t nmc,
		      struct pq_chunk_wr *w, struct spot_err *err)
{
	struct pq_mstate *ms = calloc(nmc, sizeof(*ms));
	struct pipe_batch b;
	bool batch = false;
	size_t k;
	uint32_t n;
	int rc = -ENOMEM;

	if (!ms || pipe_batch_init(&b, f->m->nleaves, PIPE_BATCH_ROWS))
		goto out;
	batch = true;
	for (k = 0; k < nmc; k++) {
		rc = pq_ms_open(f, fd, g, &ms[k], &mc[k], &w[k], err);
		if (rc)
			goto out;
	}
	b.first_row = first_row;
	for (;;) {
		for (k = 0; k < nmc; k++) {
			rc = pq_ms_advance(&ms[k], &w[k], err);
			if (rc)
				goto out;
		}
		rc = pq_batch_rows(ms, nmc, &n, err);
		if (rc || !n)
			break;
		rc = pq_batch_run(ms, mc, nmc, w, &b, n, err);
		if (rc)
			goto out;
		b.first_row += n;
	}
	for (k = 0; !rc && k < nmc; k++) {
		/* An empty chunk still needs one (empty) page. */
		if (!w[k].ndata[0][0] && !w[k].ndata[0][1] &&
		    !w[k].ndata[1][0] && !w[k].ndata[1][1])
			rc = pq_chunk_wr_page(&w[k], PQ_PAGE_DATA, err);
		if (!rc)
			rc = pq_chunk_wr_finish(&w[k], err);
	}
	if (!rc && b.first_row - first_row != (uint64_t)f->m->rgs[g].num_rows) {
		spot_err_set(err, "parquet: row group row count does not "
				  "match its pages");
		rc = -EINVAL;
	}
out:
	if (rc == -ENOMEM)
		spot_err_set(err, "parquet: out of memory masking a row group");
	for (k = 0; ms && k < nmc; k++)
		pq_ms_close(&ms[k]);
	if (batch)
		pipe_batch_fini(&b);
	free(ms);
	return rc;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_build.c - rebuilding the chunks of one row group: every flat column is
 * decoded in step (pq_rows.c), batches of whole rows go through the row
 * filter and the column transforms, and the written columns (the masked
 * ones; with a row filter, all of them) are re-encoded from the kept rows.
 * Output pages end where the source pages of the same column ended (pages
 * left empty by the row filter are skipped), with the source page version.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pq_value.h"
#include "pq_view_i.h"

/* A column being re-encoded. */
struct pq_wcol {
	size_t col;
	struct pq_mcol *mc; /* NULL: an unmasked column rewritten as it was */
	int out_max_def;
};

static int pq_wcol_init(const struct pq_file *f, const struct pq_rgcur *cur,
			size_t g, struct pq_wcol *wc, struct pq_chunk_wr *w)
{
	const struct pq_leaf *l = &f->m->leaves[wc->col];
	const struct pq_chunk *ch = &f->m->rgs[g].chunks[wc->col];
	bool to_string = wc->mc && wc->mc->to_string;
	int rc;

	wc->out_max_def = l->max_def + (wc->mc && wc->mc->to_optional);
	rc = pq_chunk_wr_init(
		w, to_string ? PQ_BYTE_ARRAY : l->ptype,
		to_string ? 0 : pq_type_width(l->ptype, l->type_length),
		ch->codec, false, wc->out_max_def);
	if (!rc)
		pq_chunk_wr_set_rep(w, l->max_rep);
	/* Unmasked columns keep their encoding family: no dictionary
	 * where the source had none. */
	if (!rc && !wc->mc &&
	    (l->max_rep ? ch->dict_off < 0 : !cur->cc[wc->col].rd.has_dict))
		w->dict_on = false;
	return rc;
}

/* A masked NULL: legal only where the output column is optional. */
static int pq_put_null(const struct pq_file *f, struct pq_wcol *wc,
		       struct pq_chunk_wr *w)
{
	if (f->m->leaves[wc->col].repetition == PQ_OPTIONAL ||
	    wc->mc->to_optional)
		return pq_chunk_wr_null(w, (uint32_t)wc->out_max_def - 1);
	wc->mc->to_optional = true;
	return -EAGAIN;
}

/* Row r of a masked column: its output cell, or the source value. */
static int pq_put_masked(const struct pq_file *f, struct pq_wcol *wc,
			 struct pq_chunk_wr *w, const struct pipe_batch *b,
			 const struct pq_rv *v, uint32_t r)
{
	const struct pq_leaf *l = &f->m->leaves[wc->col];
	const struct pipe_cell *in = &b->in[r * b->ncols + wc->col];
	const struct pipe_cell *c = pipe_batch_cell(b, r, wc->col);
	uint8_t fixed[32];
	const uint8_t *p;
	uint32_t len;

	if (c == in && v->def != (uint32_t)l->max_def)
		return pq_chunk_wr_null(w, v->def);
	if (c->type == PIPE_NULL)
		return pq_put_null(f, wc, w);
	if (c == in && !wc->mc->to_string) /* unchanged: the exact bytes */
		return pq_chunk_wr_put(w, v->p, v->len);
	if (wc->mc->to_string || c->len > UINT32_MAX)
		return pq_chunk_wr_put(w, c->p, (uint32_t)c->len);
	if (pq_value_from_cell(l, c, fixed, &p, &len)) {
		wc->mc->to_string = true;
		return -EAGAIN;
	}
	return pq_chunk_wr_put(w, p, len);
}

/* The kept rows of one batch into the writer of column wc. */
static int pq_write_batch(const struct pq_file *f, const struct pq_rgcur *cur,
			  struct pq_wcol *wc, struct pq_chunk_wr *w,
			  const struct pipe_batch *b, struct spot_err *err)
{
	const struct pq_ccur *cc = &cur->cc[wc->col];
	uint32_t max_def = (uint32_t)cc->leaf->max_def, r;
	int rc = 0;

	for (r = 0; r < b->nrows; r++) {
		const struct pq_rv *v = &cc->rv[r];

		if (!b->keep[r])
			rc = 0;
		else if (wc->mc)
			rc = pq_put_masked(f, wc, w, b, v, r);
		else if (v->def != max_def)
			rc = pq_chunk_wr_null(w, v->def);
		else
			rc = pq_chunk_wr_put(w, v->p, v->len);
		if (!rc && cc->brk[r] && w->nlev) {
			w->crc = cc->rd.had_crc;
			rc = pq_chunk_wr_page(w, cc->brk[r] - 1, err);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Whether the row filter or a transform reads whole rows. */
static bool pq_needs_row(const struct pipe_plan *plan)
{
	if (!plan)
		return false;
	if (plan->row_fn)
		return true;
	for (size_t i = 0; i < plan->nxf; i++)
		if (plan->xf[i].needs_row)
			return true;
	return false;
}

/*
 * Which flat columns to decode: all of them when whole rows are needed
 * (NULL), else only the masked ones: decoding every column costs about
 * twice the time of a two-column mask.
 */
static bool *pq_want(const struct pq_file *f, const struct pipe_plan *plan,
		     const struct pq_mcol *mc, size_t nmc)
{
	bool *want;

	if (pq_needs_row(plan))
		return NULL;
	want = calloc(f->m->nleaves ? f->m->nleaves : 1, sizeof(*want));
	for (size_t i = 0; want && i < nmc; i++)
		want[mc[i].col] = true;
	return want;
}

/* One batch: fill, row filter, transforms, re-encode. */
static int pq_batch_run(const struct pq_file *f, struct pq_rgcur *cur,
			const struct pipe_plan *plan, struct pq_mcol *mc,
			size_t nmc, struct pq_wcol *wc, size_t nw,
			struct pq_chunk_wr *w, struct pipe_batch *b,
			struct spot_err *err)
{
	uint32_t n = cur->rows_left < PIPE_BATCH_ROWS ? (uint32_t)cur->rows_left
						      : PIPE_BATCH_ROWS;
	size_t k;
	int rc;

	pipe_batch_clear(b);
	rc = spot_progress_check(spot_progress_cur, err);
	if (!rc)
		rc = pq_rgcur_fill(cur, b, n, err);
	if (!rc)
		spot_progress_add(spot_progress_cur, 0, b->nrows);
	if (!rc && plan && plan->row_fn)
		rc = plan->row_fn(plan->row_arg, b, err);
	for (k = 0; !rc && k < nmc; k++)
		rc = mc[k].xf->fn(mc[k].xf->arg, b, mc[k].col, err);
	for (k = 0; !rc && k < nw; k++)
		if (!f->m->leaves[wc[k].col].max_rep)
			rc = pq_write_batch(f, cur, &wc[k], &w[wc[k].col], b,
					    err);
	return rc;
}

/*
 * One element of a masked repeated column through the column's transform,
 * alone in b as row `row` (so per-row seeds and messages name its row).
 */
static int pq_rep_masked(const struct pq_file *f, struct pq_wcol *wc,
			 struct pipe_batch *b, uint64_t row,
			 const struct pq_rv *v, struct pq_chunk_wr *w,
			 struct spot_err *err)
{
	const struct pq_leaf *l = &f->m->leaves[wc->col];
	int rc;

	pipe_batch_clear(b);
	b->nrows = 1;
	b->first_row = row;
	b->keep[0] = 1;
	rc = pq_rows_cell(l, v->p, v->len, &b->src_arena, &b->in[wc->col]);
	if (!rc)
		rc = wc->mc->xf->fn(wc->mc->xf->arg, b, wc->col, err);
	if (!rc)
		rc = pq_put_masked(f, wc, w, b, v, 0);
	return rc;
}

/*
 * A repeated (list or map) column of row group g: the level entries of the
 * kept rows (keep[row], NULL: all) are copied with their levels, masked by
 * the column's transform when it has one (element by element: the
 * transform sees the element, no other column of its row), pages ending
 * where the source's did. 0, -EAGAIN (type change, see pq_put_masked) or
 * -errno with err set.
 */
static int pq_rewrite_repeated(const struct pq_file *f, int fd, size_t g,
			       uint64_t first_row, struct pq_wcol *wc,
			       const uint8_t *keep, struct pipe_batch *b,
			       struct pq_chunk_wr *w, struct spot_err *err)
{
	const struct pq_leaf *l = &f->m->leaves[wc->col];
	const struct pq_chunk *ch = &f->m->rgs[g].chunks[wc->col];
	uint64_t nrows = (uint64_t)f->m->rgs[g].num_rows;
	uint8_t *raw = malloc(ch->csize > 0 ? (size_t)ch->csize : 1);
	uint64_t row = UINT64_MAX; /* the row of the current entry */
	struct pq_chunk_rd rd;
	struct pq_page pg;
	struct pq_rv v;
	uint32_t i, vi;
	int rc, type = PQ_PAGE_DATA;

	if (!raw)
		return -ENOMEM;
	rc = pq_pread_full(fd, raw, (size_t)ch->csize, (uint64_t)ch->start);
	if (rc) {
		spot_err_set(err, "parquet: cannot read a column chunk: %s",
			     strerror(-rc));
		free(raw);
		return rc;
	}
	pq_chunk_rd_init(&rd, l, ch->codec, ch->num_values, raw,
			 (size_t)ch->csize);
	while ((rc = pq_chunk_next(&rd, &pg, err)) == 1) {
		rc = 0;
		type = pg.type;
		for (i = vi = 0; !rc && i < pg.num_values; i++) {
			bool val = !pg.def || pg.def[i] == (uint32_t)l->max_def;
			uint32_t def =
				pg.def ? pg.def[i] : (uint32_t)l->max_def;

			row += pg.rep[i] == 0;
			if (row >= nrows || vi + val > pg.vals.n) {
				spot_err_set(err,
					     "parquet: column %s has more "
					     "rows than its row group",
					     l->path);
				rc = -EINVAL;
				break;
			}
			v = (struct pq_rv){ NULL, 0, def };
			if (val && pg.vals.ba) {
				v.p = pg.vals.ba[vi].p;
				v.len = pg.vals.ba[vi].len;
			} else if (val) {
				v.p = pg.vals.fixed +
				      (size_t)vi * pg.vals.width;
				v.len = pg.vals.width;
			}
			vi += val;
			if (keep && !keep[row])
				continue;
			pq_chunk_wr_rep(w, pg.rep[i]);
			if (val && wc->mc)
				rc = pq_rep_masked(f, wc, b, first_row + row,
						   &v, w, err);
			else if (val)
				rc = pq_chunk_wr_put(w, v.p, v.len);
			else
				rc = pq_chunk_wr_null(w, def);
		}
		w->crc = rd.had_crc;
		if (!rc && w->nlev)
			rc = pq_chunk_wr_page(w, type, err);
		if (rc)
			break;
	}
	/* An empty chunk still gets one (empty) page. */
	if (!rc && !w->num_values)
		rc = pq_chunk_wr_page(w, type, err);
	if (!rc)
		rc = pq_chunk_wr_finish(w, err);
	pq_chunk_rd_fini(&rd);
	free(raw);
	return rc;
}

/* The columns to write: masked ones, or every column with a row filter. */
static struct pq_wcol *pq_wcols(const struct pq_file *f, bool all,
				struct pq_mcol *mc, size_t nmc, size_t *nw)
{
	size_t n = all ? f->m->nleaves : nmc, i, k;
	struct pq_wcol *wc = calloc(n ? n : 1, sizeof(*wc));

	if (!wc)
		return NULL;
	for (i = 0; i < n; i++) {
		wc[i].col = all ? i : mc[i].col;
		for (k = 0; k < nmc && mc[k].col != wc[i].col; k++)
			;
		wc[i].mc = k < nmc ? &mc[k] : NULL;
	}
	*nw = n;
	return wc;
}

static int pq_wcols_finish(const struct pq_rgcur *cur, struct pq_wcol *wc,
			   size_t nw, struct pq_chunk_wr *w,
			   struct spot_err *err)
{
	size_t k;
	int rc = 0;

	for (k = 0; !rc && k < nw; k++) {
		struct pq_chunk_wr *x = &w[wc[k].col];
		int type = cur->cc[wc[k].col].last_type;

		if (cur->f->m->leaves[wc[k].col].max_rep)
			continue; /* pq_rewrite_repeated finished it */

		x->crc = cur->cc[wc[k].col].rd.had_crc;
		/* Rows left in the writer, or an empty chunk: one page. */
		if (x->nlev || (!x->ndata[0][0] && !x->ndata[0][1] &&
				!x->ndata[1][0] && !x->ndata[1][1]))
			rc = pq_chunk_wr_page(x, type, err);
		if (!rc)
			rc = pq_chunk_wr_finish(x, err);
	}
	return rc;
}

/*
 * The repeated columns among wc (after the flat ones: keep holds the kept
 * rows, NULL without a row filter), with b as the entries' batch.
 */
static int pq_repeated_finish(const struct pq_file *f, int fd, size_t g,
			      uint64_t first_row, struct pq_wcol *wc, size_t nw,
			      struct pq_chunk_wr *w, const uint8_t *keep,
			      struct pipe_batch *b, struct spot_err *err)
{
	int rc = 0;

	for (size_t k = 0; !rc && k < nw; k++)
		if (f->m->leaves[wc[k].col].max_rep)
			rc = pq_rewrite_repeated(f, fd, g, first_row, &wc[k],
						 keep, b, &w[wc[k].col], err);
	return rc;
}

/* Room in *keep (when there is one) for need rows. 0 or -ENOMEM. */
static int pq_keep_grow(uint8_t **keep, size_t *cap, uint64_t need)
{
	size_t n = *cap;
	uint8_t *p;

	if (!*keep || need <= n)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	p = realloc(*keep, n);
	if (!p)
		return -ENOMEM;
	*keep = p;
	*cap = n;
	return 0;
}

int pq_build_rowgroup(const struct pq_file *f, int fd, size_t g,
		      uint64_t first_row, const struct pipe_plan *plan,
		      struct pq_mcol *mc, size_t nmc, struct pq_chunk_wr *w,
		      uint64_t *kept, struct spot_err *err)
{
	bool filter = plan && plan->row_fn, cur_open = false, batch = false;
	bool *want = NULL;
	struct pq_wcol *wc = NULL;
	struct pq_rgcur cur;
	struct pipe_batch b;
	uint64_t nkept = 0, nrows = (uint64_t)f->m->rgs[g].num_rows;
	uint8_t *keep = NULL; /* per row, for repeated columns */
	size_t nw = 0, k, keep_cap = PIPE_BATCH_ROWS;
	uint32_t r;
	int rc = -ENOMEM;

	wc = pq_wcols(f, filter, mc, nmc, &nw);
	/* keep grows with the rows decoded, not with the footer's count,
	 * which a hostile file sets to anything (found by fuzz_parquet). */
	for (k = 0; filter && !keep && k < f->m->nleaves; k++)
		if (f->m->leaves[k].max_rep && !(keep = malloc(keep_cap)))
			goto out;
	if (!wc || pipe_batch_init(&b, f->m->nleaves, PIPE_BATCH_ROWS))
		goto out;
	batch = true;
	want = pq_want(f, plan, mc, nmc);
	if (!want && !pq_needs_row(plan)) {
		rc = -ENOMEM;
		goto out;
	}
	rc = pq_rgcur_open(&cur, f, fd, g, PIPE_BATCH_ROWS, want, err);
	if (rc)
		goto out;
	cur_open = true;
	for (k = 0; !rc && k < nw; k++)
		rc = pq_wcol_init(f, &cur, g, &wc[k], &w[wc[k].col]);
	if (rc) {
		spot_err_set(err, "parquet: cannot write this codec");
		goto out;
	}
	b.first_row = first_row;
	while (cur.rows_left) {
		rc = pq_batch_run(f, &cur, plan, mc, nmc, wc, nw, w, &b, err);
		if (rc)
			goto out;
		rc = pq_keep_grow(&keep, &keep_cap,
				  b.first_row - first_row + b.nrows);
		if (rc)
			goto out;
		for (r = 0; r < b.nrows; r++) {
			if (keep)
				keep[b.first_row - first_row + r] = b.keep[r];
			nkept += b.keep[r] != 0;
		}
		b.first_row += b.nrows;
	}
	rc = pq_wcols_finish(&cur, wc, nw, w, err);
	if (!rc)
		rc = pq_repeated_finish(f, fd, g, first_row, wc, nw, w, keep,
					&b, err);
	if (!rc)
		*kept = filter ? nkept : nrows;
out:
	free(keep);
	free(want);
	if (rc == -ENOMEM)
		spot_err_set(err, "parquet: out of memory masking a row group");
	if (cur_open)
		pq_rgcur_close(&cur);
	if (batch)
		pipe_batch_fini(&b);
	free(wc);
	return rc;
}

void pq_chunk_out_of(const struct pq_chunk_wr *w, int64_t start,
		     struct pq_chunk_out *o)
{
	memset(o, 0, sizeof(*o));
	o->ptype = w->ptype;
	o->start = start;
	o->dict_off = w->dict_page.len ? start : -1;
	o->data_off = start + (int64_t)w->dict_page.len;
	o->csize = w->csize;
	o->usize = w->usize;
	o->num_values = w->num_values;
	o->null_count = w->null_count;
	o->ndict_pages = w->dict_page.len ? 1 : 0;
	memcpy(o->ndata, w->ndata, sizeof(o->ndata));
}

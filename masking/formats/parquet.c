/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * parquet.c - opening Parquet sources and assembling masked views as a list
 * of segments (source ranges and generated buffers).
 */
#include "parquet.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pq_layout.h"
#include "pq_view_i.h"

#define PQ_MAGIC "PAR1"
#define PQ_MAGIC_ENC "PARE"
#define PQ_MAGIC_LEN 4
#define PQ_TRAILER_LEN 8 /* footer length + magic */

/* ---- source file ---- */

int pq_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static uint8_t pq_col_type(const struct pq_leaf *l)
{
	if (l->ltype == PQ_LT_DECIMAL || l->ptype == PQ_FLOAT ||
	    l->ptype == PQ_DOUBLE)
		return PIPE_REAL;
	if ((l->ptype == PQ_INT32 || l->ptype == PQ_INT64) &&
	    (l->ltype == PQ_LT_NONE || l->ltype == PQ_LT_INT))
		return PIPE_INT;
	if ((l->ptype == PQ_BYTE_ARRAY || l->ptype == PQ_FLBA) &&
	    l->ltype != PQ_LT_STRING && l->ltype != PQ_LT_UUID)
		return PIPE_BLOB;
	return PIPE_TEXT;
}

static int pq_file_cols(struct pq_file *f)
{
	size_t i;

	f->cols = calloc(f->m->nleaves, sizeof(*f->cols));
	if (!f->cols)
		return -ENOMEM;
	for (i = 0; i < f->m->nleaves; i++) {
		const struct pq_leaf *l = &f->m->leaves[i];

		f->cols[i].name = malloc(l->path_len + 1);
		if (!f->cols[i].name)
			return -ENOMEM;
		memcpy(f->cols[i].name, l->path, l->path_len + 1);
		f->cols[i].name_len = l->path_len;
		f->cols[i].type = pq_col_type(l);
		if (l->max_rep > 0)
			f->cols[i].flags = PIPE_F_REPEATED;
	}
	return 0;
}

static int pq_file_trailer(int fd, uint64_t size, uint32_t *flen,
			   struct spot_err *err)
{
	uint8_t head[PQ_MAGIC_LEN], tail[PQ_TRAILER_LEN];
	int rc;

	if (size < PQ_MAGIC_LEN + PQ_TRAILER_LEN) {
		spot_err_set(err, "parquet: file too small to be Parquet");
		return -EINVAL;
	}
	rc = pq_pread_full(fd, tail, sizeof(tail), size - PQ_TRAILER_LEN);
	if (!rc)
		rc = pq_pread_full(fd, head, sizeof(head), 0);
	if (rc) {
		spot_err_set(err, "parquet: cannot read the file: %s",
			     strerror(-rc));
		return rc;
	}
	if (!memcmp(tail + 4, PQ_MAGIC_ENC, PQ_MAGIC_LEN)) {
		spot_err_set(err, "parquet: files with an encrypted footer "
				  "(PARE) are not supported");
		return -ENOTSUP;
	}
	if (memcmp(tail + 4, PQ_MAGIC, PQ_MAGIC_LEN) ||
	    memcmp(head, PQ_MAGIC, PQ_MAGIC_LEN)) {
		spot_err_set(err,
			     "parquet: not a Parquet file (no PAR1 magic)");
		return -EINVAL;
	}
	*flen = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 |
		(uint32_t)tail[2] << 16 | (uint32_t)tail[3] << 24;
	if (*flen == 0 || *flen > size - PQ_MAGIC_LEN - PQ_TRAILER_LEN ||
	    *flen > PQ_MAX_FOOTER) {
		spot_err_set(err,
			     "parquet: footer length %u does not fit the "
			     "file",
			     *flen);
		return -EINVAL;
	}
	return 0;
}

int pq_file_open(int fd, struct pq_file **out, struct spot_err *err)
{
	struct pq_file *f = calloc(1, sizeof(*f));
	uint8_t *footer = NULL;
	uint64_t data_end;
	struct stat st;
	uint32_t flen;
	int rc = -ENOMEM;

	if (!f)
		goto fail;
	if (fstat(fd, &st)) {
		rc = -errno;
		spot_err_set(err, "parquet: cannot stat the file: %s",
			     strerror(-rc));
		goto fail;
	}
	f->size = (uint64_t)st.st_size;
	rc = pq_file_trailer(fd, f->size, &flen, err);
	if (rc)
		goto fail;
	data_end = f->size - PQ_TRAILER_LEN - flen;
	footer = malloc(flen);
	rc = -ENOMEM;
	if (!footer)
		goto fail;
	rc = pq_pread_full(fd, footer, flen, data_end);
	if (rc) {
		spot_err_set(err, "parquet: cannot read the footer: %s",
			     strerror(-rc));
		goto fail;
	}
	f->data_end = data_end;
	rc = pq_meta_parse(footer, flen, data_end, &f->m, err);
	if (!rc)
		rc = pq_layout_check(f->m, data_end, err);
	if (rc)
		goto fail;
	rc = pq_file_cols(f);
	if (rc)
		goto fail;
	free(footer);
	*out = f;
	return 0;
fail:
	if (rc == -ENOMEM)
		spot_err_set(err, "parquet: out of memory opening the file");
	free(footer);
	pq_file_free(f);
	return rc;
}

void pq_file_free(struct pq_file *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; f->cols && f->m && i < f->m->nleaves; i++)
		free(f->cols[i].name);
	free(f->cols);
	pq_meta_free(f->m);
	free(f);
}

int pq_file_columns(const struct pq_file *f, const struct pipe_col **cols,
		    size_t *ncols)
{
	*cols = f->cols;
	*ncols = f->m->nleaves;
	return 0;
}

bool pq_column_is_nested(const struct pq_file *f, size_t col)
{
	return col < f->m->nleaves && f->m->leaves[col].max_rep > 0;
}

int pq_column_check_maskable(const struct pq_file *f, size_t col,
			     struct spot_err *err)
{
	if (col >= f->m->nleaves) {
		spot_err_set(err, "parquet: no column %zu", col);
		return -EINVAL;
	}
	return 0;
}

uint64_t pq_file_num_rows(const struct pq_file *f)
{
	return (uint64_t)f->m->num_rows;
}

const char *pq_column_type_name(const struct pq_file *f, size_t col)
{
	return col < f->m->nleaves ? pq_ptype_name(f->m->leaves[col].ptype)
				   : "?";
}

size_t pq_file_num_rowgroups(const struct pq_file *f)
{
	return f->m->nrgs;
}

int pq_file_chunk_range(const struct pq_file *f, size_t g, size_t col,
			struct pq_range *r)
{
	const struct pq_chunk *ch;

	if (g >= f->m->nrgs || col >= f->m->nleaves)
		return -EINVAL;
	ch = &f->m->rgs[g].chunks[col];
	r->off = (uint64_t)ch->start;
	r->len = (uint64_t)ch->csize;
	return 0;
}

int pq_file_bloom_range(const struct pq_file *f, size_t g, size_t col,
			struct pq_range *r)
{
	int64_t off, len;

	if (g >= f->m->nrgs || col >= f->m->nleaves)
		return -EINVAL;
	if (pq_meta_bloom(&f->m->rgs[g].chunks[col], f->data_end, &off, &len))
		return -ENOENT;
	r->off = (uint64_t)off;
	r->len = (uint64_t)len;
	return 0;
}

/* ---- view segments ---- */

static int pq_view_add(struct pq_view *v, int64_t src, const uint8_t *mem,
		       uint64_t len)
{
	struct pq_seg *last = v->nsegs ? &v->segs[v->nsegs - 1] : NULL;

	if (!len)
		return 0;
	/* Adjacent source ranges become one segment. */
	if (src >= 0 && last && last->src >= 0 &&
	    (uint64_t)last->src + last->len == (uint64_t)src) {
		last->len += len;
		v->size += len;
		return 0;
	}
	if (v->nsegs == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 64;
		struct pq_seg *ns = realloc(v->segs, ncap * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		v->segs = ns;
		v->cap = ncap;
	}
	v->segs[v->nsegs].off = v->size;
	v->segs[v->nsegs].len = len;
	v->segs[v->nsegs].src = src;
	v->segs[v->nsegs].mem = mem;
	v->nsegs++;
	v->size += len;
	return 0;
}

/* Take ownership of a generated buffer and add it as a segment. */
static int pq_view_add_buf(struct pq_view *v, struct spot_buf *b)
{
	size_t len = b->len;
	uint8_t *p;

	if (!len)
		return 0;
	if (v->nbufs == v->capbufs) {
		size_t ncap = v->capbufs ? v->capbufs * 2 : 16;
		uint8_t **nb = realloc(v->bufs, ncap * sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		v->bufs = nb;
		v->capbufs = ncap;
	}
	p = spot_buf_steal(b, &len);
	v->bufs[v->nbufs++] = p;
	v->held += len;
	return pq_view_add(v, -1, p, len);
}

void pq_view_free(struct pq_view *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->nbufs; i++)
		free(v->bufs[i]);
	free(v->bufs);
	free(v->segs);
	free(v);
}

bool pq_view_streamed(const struct pq_view *v)
{
	return v->streamed;
}

uint64_t pq_view_size(const struct pq_view *v)
{
	return v->size;
}

uint64_t pq_view_mem(const struct pq_view *v)
{
	uint64_t m = 0;

	for (size_t i = 0; i < v->nsegs; i++)
		if (v->segs[i].src < 0)
			m += v->segs[i].len;
	return m ? m : 1; /* never 0: spillable even when all from source */
}

uint64_t pq_view_num_rows(const struct pq_view *v)
{
	return v->rows;
}

ssize_t pq_view_read(const struct pq_view *v, int fd, void *buf, size_t len,
		     uint64_t off)
{
	size_t lo = 0, hi = v->nsegs, done = 0;
	uint8_t *out = buf;

	if (off >= v->size || !len)
		return 0;
	if (len > v->size - off)
		len = (size_t)(v->size - off);
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	while (hi - lo > 1) { /* last segment starting at or before off */
		size_t mid = lo + (hi - lo) / 2;

		if (v->segs[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	for (; done < len && lo < v->nsegs; lo++) {
		const struct pq_seg *s = &v->segs[lo];
		uint64_t in = off + done - s->off;
		size_t n = (size_t)(s->len - in < len - done ? s->len - in
							     : len - done);

		if (s->src < 0) {
			memcpy(out + done, s->mem + in, n);
		} else {
			int rc = pq_pread_full(fd, out + done, n,
					       (uint64_t)s->src + in);

			if (rc)
				return rc;
		}
		done += n;
	}
	return (ssize_t)done;
}

size_t pq_view_src_ranges(const struct pq_view *v, struct pq_range *out,
			  size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < v->nsegs; i++) {
		if (v->segs[i].src < 0)
			continue;
		if (n < max)
			out[n] = (struct pq_range){ (uint64_t)v->segs[i].src,
						    v->segs[i].len };
		n++;
	}
	return n;
}

/* ---- view building ---- */

static int pq_view_plan(const struct pq_file *f, const struct pipe_plan *plan,
			struct pq_mcol **out, size_t *nout,
			struct spot_err *err)
{
	const struct pq_leaf *l;
	struct pq_mcol *mc;
	size_t i, j;
	int rc;

	*out = NULL;
	*nout = 0;
	if (!plan || !plan->nxf)
		return 0;
	mc = calloc(plan->nxf, sizeof(*mc));
	if (!mc)
		return -ENOMEM;
	for (i = 0; i < plan->nxf; i++) {
		rc = pq_column_check_maskable(f, plan->xf[i].col, err);
		l = rc ? NULL : &f->m->leaves[plan->xf[i].col];
		if (l && l->max_rep > 0 && plan->xf[i].needs_row) {
			spot_err_set(err,
				     "parquet: column \"%s\" is inside a list "
				     "or map: mask it with a YAML method (its "
				     "elements are masked one by one), not a "
				     "Lua column function",
				     l->path);
			rc = -ENOTSUP;
		}
		for (j = 0; !rc && j < i; j++)
			if (mc[j].col == plan->xf[i].col) {
				spot_err_set(err, "parquet: two transforms "
						  "for one column");
				rc = -EINVAL;
			}
		if (rc) {
			free(mc);
			return rc;
		}
		mc[i].col = plan->xf[i].col;
		mc[i].xf = &plan->xf[i];
		/* Text outputs make a text column, whatever the values. */
		l = &f->m->leaves[mc[i].col];
		mc[i].to_string = !plan->xf[i].keeps_type &&
				  !(l->ptype == PQ_BYTE_ARRAY &&
				    l->ltype == PQ_LT_STRING);
	}
	*out = mc;
	*nout = plan->nxf;
	return 0;
}

/* A rebuilt chunk (masked, or rewritten by a row filter) from w. */
static int pq_view_masked(struct pq_view *v, struct spot_arena *a,
			  struct pq_tstruct *cc, struct pq_chunk_wr *w)
{
	struct pq_chunk_out o;
	int rc;

	pq_chunk_out_of(w, (int64_t)v->size, &o);
	rc = pq_view_add_buf(v, &w->dict_page);
	if (!rc)
		rc = pq_view_add_buf(v, &w->data);
	if (!rc)
		rc = pq_meta_chunk_masked(a, cc, &o);
	return rc;
}

/* What one build of the view needs besides the file. */
struct pq_vbuild {
	const struct pipe_plan **plans; /* one per worker; [0] the caller's */
	size_t nplans;
	size_t nthreads;
	bool filter; /* plan has a row filter: every chunk rewritten */
	struct pq_mcol *mc;
	size_t nmc;
	uint64_t rows; /* rows served */
	size_t nout;   /* row groups served */
	/* Bloom filters of moved chunks, served after the row groups. */
	struct pq_bloom *blooms;
	size_t nblooms, capblooms;
	/*
	 * Per chunk (g * nleaves + c), what pq_view_validate proved: only
	 * chunks and bloom filters marked here become source segments.
	 */
	uint8_t *valid;
	const struct pq_build_opts *opts; /* streaming: opts->emit */
	int fd;
};

enum { PQ_VALID_PAGES = 1, PQ_VALID_BLOOM = 2 };

/* Source bytes are copied to emit in pieces of this size. */
#define PQ_EMIT_CHUNK (1u << 20)

/*
 * Hand every segment of v to emit, in order (source ranges read from fd
 * now: validated like those served at read time), then let go of them and
 * of the generated buffers. 0 or -errno.
 */
static int pq_view_emit(struct pq_view *v, const struct pq_vbuild *vb)
{
	const struct pq_build_opts *o = vb->opts;
	uint8_t *buf = NULL;
	int rc = 0;

	for (size_t i = 0; !rc && i < v->nsegs; i++) {
		const struct pq_seg *s = &v->segs[i];

		if (s->src < 0) {
			rc = o->emit(o->emit_arg, s->mem, (size_t)s->len);
			continue;
		}
		if (!buf && !(buf = malloc(PQ_EMIT_CHUNK))) {
			rc = -ENOMEM;
			break;
		}
		for (uint64_t at = 0; !rc && at < s->len;) {
			size_t n = s->len - at < PQ_EMIT_CHUNK
					   ? (size_t)(s->len - at)
					   : PQ_EMIT_CHUNK;

			rc = pq_pread_full(vb->fd, buf, n,
					   (uint64_t)s->src + at);
			if (!rc)
				rc = o->emit(o->emit_arg, buf, n);
			at += n;
		}
	}
	free(buf);
	for (size_t i = 0; i < v->nbufs; i++)
		free(v->bufs[i]);
	v->nbufs = 0;
	v->held = 0;
	v->nsegs = 0; /* offsets go on from v->size */
	v->streamed = true;
	return rc;
}

/* After a row group: stream once the generated bytes outgrow the room. */
static int pq_view_maybe_emit(struct pq_view *v, const struct pq_vbuild *vb)
{
	const struct pq_build_opts *o = vb->opts;

	if (!o || !o->emit || (!v->streamed && v->held <= o->emit_after))
		return 0;
	return pq_view_emit(v, vb);
}

static uint8_t pq_vb_valid(const struct pq_vbuild *vb, const struct pq_file *f,
			   size_t g, size_t c)
{
	return vb->valid ? vb->valid[g * f->m->nleaves + c] : 0;
}
/* An unmasked chunk's bloom filter: source range and the moved chunk. */
struct pq_bloom {
	struct pq_tstruct *cc;
	int64_t off, len;
};

/*
 * Remember chunk (g, c)'s bloom filter for the moved chunk cc, if it has
 * one and pq_view_validate checked it.
 */
static int pq_vb_bloom(struct pq_vbuild *vb, const struct pq_file *f, size_t g,
		       size_t c, struct pq_tstruct *cc)
{
	int64_t off, len;

	if (!(pq_vb_valid(vb, f, g, c) & PQ_VALID_BLOOM) ||
	    pq_meta_bloom(&f->m->rgs[g].chunks[c], f->data_end, &off, &len))
		return 0;
	if (vb->nblooms == vb->capblooms) {
		size_t n = vb->capblooms ? 2 * vb->capblooms : 16;
		struct pq_bloom *nb = realloc(vb->blooms, n * sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		vb->blooms = nb;
		vb->capblooms = n;
	}
	vb->blooms[vb->nblooms++] = (struct pq_bloom){ cc, off, len };
	return 0;
}

/* The bloom filters of unmasked chunks, byte for byte from the source. */
static int pq_view_blooms(struct pq_view *v, struct spot_arena *a,
			  const struct pq_vbuild *vb)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < vb->nblooms; i++) {
		const struct pq_bloom *b = &vb->blooms[i];

		rc = pq_meta_set_bloom(a, b->cc, (int64_t)v->size, b->len);
		if (!rc)
			rc = pq_view_add(v, b->off, NULL, (uint64_t)b->len);
	}
	return rc;
}

static bool pq_vb_masked(const struct pq_vbuild *vb, size_t c)
{
	size_t k;

	for (k = 0; k < vb->nmc && vb->mc[k].col != c; k++)
		;
	return k < vb->nmc;
}

static bool pq_vb_written(const struct pq_vbuild *vb, size_t c)
{
	return vb->filter || pq_vb_masked(vb, c);
}

/*
 * A row group's sorting_columns: the prefix before the first masked (or
 * unknown) column. Kept rows of sorted rows stay sorted; a masked
 * column's order is not its served values' order.
 */
static void pq_view_sorting(struct pq_tstruct *rgc, const struct pq_vbuild *vb,
			    size_t nleaves)
{
	struct pq_tval *l = pq_tstruct_get(rgc, 4);
	uint32_t n = 0;
	int64_t c;

	if (l && l->type == PQ_TT_LIST && (!l->n || l->etype == PQ_TT_STRUCT))
		while (n < l->n && !pq_tstruct_int(l->u.elems[n].u.st, 1, &c) &&
		       c >= 0 && (uint64_t)c < nleaves &&
		       !pq_vb_masked(vb, (size_t)c))
			n++;
	if (n)
		l->n = n;
	else
		pq_tstruct_del(rgc, 4);
}

/*
 * Lay out row group g (kept rows): rebuilt chunks from w, the others
 * from the source.
 */
static int pq_view_rowgroup(struct pq_view *v, struct spot_arena *a,
			    const struct pq_file *f, struct pq_tstruct *root,
			    size_t g, struct pq_vbuild *vb,
			    struct pq_chunk_wr *w, uint64_t kept)
{
	const struct pq_rowgroup *rg = &f->m->rgs[g];
	int64_t start = (int64_t)v->size, tot_u = 0;
	struct pq_tstruct *rgc = pq_meta_clone_rowgroup(root, g);
	size_t c;
	int rc = 0;

	for (c = 0; !rc && c < f->m->nleaves; c++) {
		const struct pq_chunk *ch = &rg->chunks[c];
		struct pq_tstruct *cc = pq_meta_clone_chunk(root, g, c);

		if (pq_vb_written(vb, c)) {
			tot_u += w[c].usize;
			rc = pq_view_masked(v, a, cc, &w[c]);
			continue;
		}
		/* Served byte for byte: only a chunk whose pages walked. */
		if (!(pq_vb_valid(vb, f, g, c) & PQ_VALID_PAGES))
			return -EIO;
		tot_u += ch->usize;
		rc = pq_vb_bloom(vb, f, g, c, cc);
		if (!rc)
			rc = pq_meta_chunk_move(a, cc, ch, (int64_t)v->size);
		if (!rc)
			rc = pq_view_add(v, ch->start, NULL,
					 (uint64_t)ch->csize);
	}
	if (rc)
		return rc;
	pq_view_sorting(rgc, vb, f->m->nleaves);
	if (pq_tstruct_set_int(a, rgc, 5, PQ_TT_I64, start) ||
	    pq_tstruct_set_int(a, rgc, 6, PQ_TT_I64,
			       (int64_t)v->size - start) ||
	    pq_tstruct_set_int(a, rgc, 2, PQ_TT_I64, tot_u) ||
	    pq_tstruct_set_int(a, rgc, 3, PQ_TT_I64, (int64_t)kept) ||
	    (pq_tstruct_get(rgc, 7) &&
	     pq_tstruct_set_int(a, rgc, 7, PQ_TT_I16, (int64_t)vb->nout)))
		return -ENOMEM;
	return 0;
}

/*
 * Row groups a row filter emptied leave the footer; the others move up in
 * order. keep[g] says which stay.
 */
static void pq_view_drop_groups(struct pq_tstruct *root, const bool *keep,
				size_t nrgs)
{
	struct pq_tval *l = pq_tstruct_get(root, 4);
	uint32_t g, n = 0;

	if (!l || l->type != PQ_TT_LIST || l->n != nrgs)
		return;
	for (g = 0; g < l->n; g++)
		if (keep[g])
			l->u.elems[n++] = l->u.elems[g];
	l->n = n;
}

static int pq_view_footer(struct pq_view *v, struct spot_arena *a,
			  const struct pq_file *f, struct pq_tstruct *root,
			  const struct pq_vbuild *vb)
{
	const struct pq_mcol *mc = vb->mc;
	size_t nmc = vb->nmc;
	struct spot_buf fb;
	size_t k, flen;
	uint8_t tail[PQ_TRAILER_LEN];
	int rc = 0;

	if (vb->filter &&
	    pq_tstruct_set_int(a, root, 3, PQ_TT_I64, (int64_t)vb->rows))
		return -ENOMEM;
	for (k = 0; !rc && k < nmc; k++) {
		if (!mc[k].to_string && !mc[k].to_optional)
			continue;
		rc = pq_meta_schema_promote(
			a, pq_meta_clone_schema(root, &f->m->leaves[mc[k].col]),
			mc[k].to_string, mc[k].to_optional);
	}
	if (rc)
		return rc;
	/*
	 * The embedded Arrow/pandas schemas describe the source: kept only
	 * when the view changes nothing (no column masked or redacted, no
	 * row filter). Nothing else free-form is ever served.
	 */
	rc = pq_meta_scrub(a, root, !vb->filter && !nmc);
	spot_buf_init(&fb);
	if (!rc)
		rc = pq_thrift_write(&fb, root);
	flen = fb.len;
	tail[0] = (uint8_t)flen;
	tail[1] = (uint8_t)(flen >> 8);
	tail[2] = (uint8_t)(flen >> 16);
	tail[3] = (uint8_t)(flen >> 24);
	memcpy(tail + 4, PQ_MAGIC, PQ_MAGIC_LEN);
	if (!rc && flen > UINT32_MAX)
		rc = -EFBIG;
	if (!rc)
		rc = spot_buf_append(&fb, tail, sizeof(tail));
	if (!rc)
		rc = pq_view_add_buf(v, &fb);
	spot_buf_fini(&fb);
	return rc;
}

/* Lay out row group g, taking its rebuilt chunks from the pool. */
static int pq_view_group(struct pq_file *f, struct pq_pool *pool,
			 struct pq_vbuild *vb, struct pq_view *v,
			 struct spot_arena *a, struct pq_tstruct *root,
			 size_t g, bool *keep, struct spot_err *err)
{
	uint64_t kept = (uint64_t)f->m->rgs[g].num_rows;
	struct pq_chunk_wr *w = NULL;
	size_t k;
	int rc = 0;

	if (pool)
		rc = pq_pool_take(pool, g, &w, &kept, err);
	/* A row group without kept rows is left out. */
	keep[g] = !vb->filter || kept > 0;
	if (!rc && keep[g]) {
		rc = pq_view_rowgroup(v, a, f, root, g, vb, w, kept);
		if (rc == -EIO) /* cannot happen: pq_view_validate ran */
			spot_err_set(err,
				     "parquet: row group %zu: a chunk to "
				     "serve was not validated",
				     g);
	}
	for (k = 0; w && k < f->m->nleaves; k++)
		pq_chunk_wr_fini(&w[k]);
	free(w);
	if (!rc) {
		vb->rows += keep[g] ? kept : 0;
		vb->nout += keep[g];
	}
	return rc;
}

/*
 * Before any source byte is referenced: every chunk the view will serve
 * byte for byte walks page by page to its stated size, and every bloom
 * filter it will serve has a header matching its length (pq_layout.h).
 * pq_file_open already made all declared ranges disjoint.
 */
static int pq_view_validate(const struct pq_file *f, int fd,
			    struct pq_vbuild *vb, struct spot_err *err)
{
	size_t n = f->m->nrgs * f->m->nleaves, g, c;
	uint8_t *valid;
	int64_t off, len;
	int rc = 0;

	if (vb->filter) /* every chunk rebuilt, no bloom filter served */
		return 0;
	valid = calloc(n ? n : 1, 1);
	if (!valid)
		return -ENOMEM;
	for (g = 0; !rc && g < f->m->nrgs; g++) {
		for (c = 0; !rc && c < f->m->nleaves; c++) {
			const struct pq_chunk *ch = &f->m->rgs[g].chunks[c];
			uint8_t *ok = &valid[g * f->m->nleaves + c];

			if (pq_vb_written(vb, c))
				continue;
			rc = pq_layout_walk_chunk(f->m, fd, g, c, err);
			if (rc)
				break;
			*ok = PQ_VALID_PAGES;
			if (pq_meta_bloom(ch, f->data_end, &off, &len))
				continue;
			rc = pq_layout_bloom(f->m, fd, g, c, off, len, err);
			if (!rc)
				*ok |= PQ_VALID_BLOOM;
		}
	}
	if (rc)
		free(valid);
	else
		vb->valid = valid;
	return rc;
}

/* Build or reference every row group, then write the footer. */
static int pq_view_groups(struct pq_file *f, int fd, struct pq_vbuild *vb,
			  struct pq_view *v, struct spot_arena *a,
			  struct pq_tstruct *root, bool *keep,
			  struct spot_err *err)
{
	struct pq_pool *pool = NULL;
	size_t g;
	int rc = 0;

	if ((vb->filter || vb->nmc) &&
	    pq_pool_start(&pool, f, fd, vb->plans, vb->nplans, vb->nthreads,
			  vb->mc, vb->nmc))
		return -ENOMEM;
	for (g = 0; !rc && g < f->m->nrgs; g++) {
		rc = pq_view_group(f, pool, vb, v, a, root, g, keep, err);
		if (!rc)
			rc = pq_view_maybe_emit(v, vb);
	}
	pq_pool_stop(pool, vb->mc);
	if (!rc)
		pq_view_drop_groups(root, keep, f->m->nrgs);
	return rc;
}

static int pq_view_once(struct pq_file *f, int fd, struct pq_vbuild *vb,
			struct pq_view *v, struct spot_err *err)
{
	static const uint8_t magic[] = PQ_MAGIC;
	struct spot_arena a;
	struct pq_tstruct *root;
	bool *keep = NULL;
	int rc = -ENOMEM;

	spot_arena_init(&a);
	vb->rows = 0;
	vb->nblooms = 0;
	vb->nout = 0;
	root = pq_tstruct_clone(&a, f->m->root);
	keep = calloc(f->m->nrgs + 1, sizeof(*keep));
	if (!root || !keep || pq_view_add(v, -1, magic, PQ_MAGIC_LEN))
		goto out;
	rc = pq_view_groups(f, fd, vb, v, &a, root, keep, err);
	if (!rc)
		rc = pq_view_blooms(v, &a, vb);
	if (!rc)
		rc = pq_view_footer(v, &a, f, root, vb);
	if (!rc && v->streamed)
		rc = pq_view_emit(v, vb); /* the rest: blooms and footer */
out:
	if (rc == -ENOMEM)
		spot_err_set(err, "parquet: out of memory building the view");
	free(keep);
	spot_arena_fini(&a);
	return rc;
}

/*
 * The plans of the workers: the caller's, then as many more as opts gives
 * and the row groups can use. Failing to bind one fails the build.
 */
static int pq_view_plans(const struct pq_file *f, const struct pipe_plan *plan,
			 const struct pq_build_opts *opts, struct pq_vbuild *vb,
			 struct spot_err *err)
{
	size_t want = opts && opts->threads > 1 && opts->more_plan
			      ? opts->threads
			      : 1;
	int rc = 0;

	if (want > f->m->nrgs)
		want = f->m->nrgs;
	if (!vb->filter && !vb->nmc)
		want = 1;
	vb->plans = calloc(want + 1, sizeof(*vb->plans));
	if (!vb->plans)
		return -ENOMEM;
	vb->plans[vb->nplans++] = plan;
	while (!rc && vb->nplans < want) {
		const struct pipe_plan *p = NULL;

		rc = opts->more_plan(opts->arg, &p, err);
		if (!rc && (!p || p->nxf != plan->nxf ||
			    !p->row_fn != !plan->row_fn)) {
			spot_err_set(err, "parquet: a worker's plan differs");
			rc = -EINVAL;
		}
		if (!rc)
			vb->plans[vb->nplans++] = p;
	}
	vb->nthreads = want > 1 ? vb->nplans : 0;
	return rc;
}

int pq_view_build(struct pq_file *f, int fd, const struct pipe_plan *plan,
		  const struct pq_build_opts *opts, struct pq_view **out,
		  struct spot_err *err)
{
	static const struct pipe_plan none;
	struct pq_vbuild vb;
	struct pq_view *v = NULL;
	size_t tries;
	int rc;

	memset(&vb, 0, sizeof(vb));
	vb.opts = opts;
	vb.fd = fd;
	vb.filter = plan && plan->row_fn;
	rc = pq_view_plan(f, plan, &vb.mc, &vb.nmc, err);
	if (!rc)
		rc = pq_view_validate(f, fd, &vb, err);
	if (!rc)
		rc = pq_view_plans(f, plan ? plan : &none, opts, &vb, err);
	if (rc) {
		if (rc == -ENOMEM)
			spot_err_set(err, "parquet: out of memory");
		free(vb.mc);
		free(vb.plans);
		free(vb.valid);
		return rc;
	}
	/* Each retry adds a type change to a column: at most two each. */
	for (tries = 0; tries <= 2 * vb.nmc; tries++) {
		if (v && v->streamed) {
			/* Streamed bytes of a try that must start again. */
			rc = opts->emit_rewind
				     ? opts->emit_rewind(opts->emit_arg)
				     : -EIO;
			if (rc) {
				spot_err_set(err, "parquet: cannot restart "
						  "the streamed view");
				break;
			}
		}
		pq_view_free(v);
		v = calloc(1, sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			spot_err_set(err, "parquet: out of memory");
			break;
		}
		rc = pq_view_once(f, fd, &vb, v, err);
		if (rc != -EAGAIN)
			break;
	}
	if (rc == -EAGAIN) {
		spot_err_set(err,
			     "parquet: masked column types did not settle");
		rc = -EIO;
	}
	free(vb.mc);
	free(vb.plans);
	free(vb.blooms);
	free(vb.valid);
	if (rc) {
		pq_view_free(v);
		return rc;
	}
	v->rows = vb.rows;
	*out = v;
	return 0;
}

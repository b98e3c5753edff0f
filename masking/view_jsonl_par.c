/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view_jsonl_par.c - the parts and workers of a JSON Lines build (see
 * view_jsonl.c for the design): the cut at line feeds; each part's step
 * 1 (vjl_skim: tokenize, and when the file is read once, keep the part's
 * bytes and its tape) and step 2 (vjl_build: rewrite it from the tape, or
 * tokenize it again); step 1 over all parts (merge paths in file order)
 * and step 2 over all parts (in order, a few ahead of the caller,
 * appended, written over the file's bytes, or streamed).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "methods.h"
#include "view_jsonl_i.h"

/* ---- one part: step 1 (skim) and step 2 (build) ---- */

/*
 * The lines of a part: read through a vjl_reader, or, read once
 * (vjl.whole), straight from the part's bytes in v->src.
 */
struct vjl_lines {
	struct vjl_reader r;
	const uint8_t *s;
	size_t len, pos;
	bool mem;
};

/* Part p's bytes into v->src (whole): 0, -errno, -ESTALE if it changed. */
static int vjl_read_part(struct vjl *v, struct vjl_part *p)
{
	uint64_t end = p->end ? p->end : v->size;
	uint8_t *d = v->src.p + v->base + p->off, extra;
	size_t got = 0, want = (size_t)(end - p->off);
	ssize_t n;

	while (got < want) {
		n = pread(v->fd, d + got, want - got, (off_t)(p->off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -ESTALE; /* shorter than it was */
		got += (size_t)n;
	}
	if (p->end)
		return 0;
	do {
		n = pread(v->fd, &extra, 1, (off_t)end);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n ? -ESTALE : 0; /* longer than it was */
}

static int vjl_lines_open(struct vjl *v, struct vjl_part *p, struct spot_buf *m,
			  bool read, struct vjl_lines *l)
{
	memset(l, 0, sizeof(*l));
	if (!v->whole) {
		vjl_reader_init(&l->r, v->fd, p->off, p->end, m);
		return 0;
	}
	l->mem = true;
	l->s = v->src.p + v->base + p->off;
	l->len = (size_t)((p->end ? p->end : v->size) - p->off);
	return read ? vjl_read_part(v, p) : 0;
}

/* As vjl_next. */
static int vjl_lines_next(struct vjl_lines *l, const uint8_t **line, size_t *n,
			  bool *lf)
{
	const uint8_t *q;

	if (!l->mem)
		return vjl_next(&l->r, line, n, lf);
	if (l->pos >= l->len)
		return 0;
	*line = l->s + l->pos;
	q = memchr(*line, '\n', l->len - l->pos);
	*n = q ? (size_t)(q - *line) : l->len - l->pos;
	*lf = q != NULL;
	if (*n > JSONL_MAX_LINE + 1)
		return -E2BIG;
	l->pos += *n + (q != NULL);
	return 1;
}

/*
 * A tape (vjl.whole): what step 1 found in each line of a part, so that
 * step 2 rewrites it without tokenizing it again, as unsigned LEB128
 * numbers (a few bytes a leaf: tapes are memory the kernel must fault
 * in). Per line: its length (without its LF), then nleaves << 2 |
 * record << 1 | LF; then per leaf: its node in the part's trie (mapped to
 * vjl.paths by part.map after the merge), its offset after the end of
 * the leaf before it (past a BOM), its length, and one byte of kind
 * (VJL_T_*). Tapes of one thread's parts follow each other in its arena.
 */
#define VJL_T_ESC 8u
#define VJL_T_INT 16u
#define VJL_T_MAX 10 /* bytes of one number at most */

static uint8_t *vjl_put_num(uint8_t *w, uint64_t x)
{
	while (x >= 0x80) {
		*w++ = (uint8_t)(x | 0x80);
		x >>= 7;
	}
	*w++ = (uint8_t)x;
	return w;
}

static const uint8_t *vjl_get_num(const uint8_t *r, uint64_t *x)
{
	uint64_t v = 0;
	unsigned sh = 0;

	while (*r & 0x80) {
		v |= (uint64_t)(*r++ & 0x7f) << sh;
		sh += 7;
	}
	*x = v | (uint64_t)*r++ << sh;
	return r;
}

/*
 * Line (n bytes, lf) of parse result is_rec onto p's tape, at most cap
 * bytes in all: 0, or -E2BIG (the part goes without a tape).
 */
static int vjl_tape_line(struct vjl_part *p, struct jsonl_parser *ps,
			 int is_rec, size_t n, bool lf, size_t cap)
{
	const struct jsonl_leaf *ls = NULL;
	struct spot_buf *t = p->tape;
	size_t nl = 0, prev = 0, need;
	uint8_t *w;

	if (is_rec)
		ls = jsonl_parser_leaves(ps, &nl);
	need = 2 * VJL_T_MAX + nl * (3 * VJL_T_MAX + 1);
	if (nl > SIZE_MAX / 64 || p->tape_len + need > cap + 4 * VJL_T_MAX ||
	    spot_buf_reserve(t, need))
		return -E2BIG;
	w = vjl_put_num(t->p + t->len, n);
	w = vjl_put_num(w, (uint64_t)nl << 2 | (uint64_t) !!is_rec << 1 | lf);
	for (size_t i = 0; i < nl; i++) {
		if (ls[i].off < prev)
			return -E2BIG; /* never: leaves come in order */
		w = vjl_put_num(w, ls[i].node);
		w = vjl_put_num(w, ls[i].off - prev);
		w = vjl_put_num(w, ls[i].end - ls[i].off);
		*w++ = (uint8_t)(ls[i].kind | (ls[i].escaped ? VJL_T_ESC : 0) |
				 (ls[i].is_int ? VJL_T_INT : 0));
		prev = ls[i].end;
	}
	need = (size_t)(w - (t->p + t->len));
	t->len += need;
	p->tape_len += need;
	return p->tape_len > cap ? -E2BIG : 0;
}

/* Whether bytes more may be kept (v->kept under v->keep_max). */
static bool vjl_keep(struct vjl *v, uint64_t bytes)
{
	uint64_t now = __atomic_add_fetch(&v->kept, bytes, __ATOMIC_RELAXED);

	if (now <= v->keep_max)
		return true;
	__atomic_sub_fetch(&v->kept, bytes, __ATOMIC_RELAXED);
	return false;
}

/*
 * Part p goes without its tape: in step 1 (skim: it was the last in its
 * arena), its bytes are given back; after, they stay until the end.
 */
static void vjl_tape_drop(struct vjl_part *p, bool skim)
{
	if (p->taped && skim)
		p->tape->len = p->tape_off;
	free(p->map);
	p->map = NULL;
	p->taped = false;
}

/* Step 1 for part p. */
void vjl_skim(struct vjl *v, struct vjl_part *p, struct spot_buf *m,
	      struct spot_buf *tape)
{
	struct jsonl_parser *ps = NULL;
	struct vjl_lines ln;
	const uint8_t *s;
	size_t n, bom, cap;
	bool lf;
	int rc;

	rc = vjl_lines_open(v, p, m, true, &ln);
	if (!rc)
		rc = jsonl_paths_new(&p->paths);
	if (!rc)
		rc = jsonl_parser_new(p->paths, true, &ps);
	/* A tape longer than the part (tiny leaves) is not worth it. */
	cap = ln.len + 4096;
	p->taped = v->whole && !rc;
	p->tape = tape;
	p->tape_off = tape->len;
	p->tape_len = 0;
	while (!rc && (rc = vjl_lines_next(&ln, &s, &n, &lf)) == 1) {
		p->nlines++;
		bom = vjl_bom(p, p->nlines, s, n);
		rc = jsonl_parse(ps, s + bom, n - bom);
		if (rc == 1)
			p->nrecs++;
		if (rc == -EINVAL) {
			p->jerr = jsonl_parser_error(ps, &p->err_byte);
			p->err_byte += bom;
			p->err_line = p->nlines;
		}
		if (rc >= 0 && p->taped && vjl_tape_line(p, ps, rc, n, lf, cap))
			vjl_tape_drop(p, true); /* tokenized again */
		if (rc >= 0)
			rc = 0;
	}
	if (rc == -E2BIG) {
		p->jerr = JSONL_E_TOO_LONG;
		p->err_line = p->nlines + 1;
		p->err_byte = JSONL_MAX_LINE + 1;
		rc = -EINVAL;
	}
	if (p->taped && (rc || !vjl_keep(v, p->tape_len)))
		vjl_tape_drop(p, true);
	p->skim_rc = rc;
	jsonl_parser_free(ps);
}

/*
 * The next line of p's tape at *t (its bytes from l->pos): the line, its
 * record flag and its leaves (*ls: wp's scratch, nodes of v->paths). 1, 0 at the
 * end, -ENOMEM.
 */
static int vjl_tape_next(const struct vjl_part *p, size_t *t,
			 struct vjl_lines *l, struct vjl_plan *wp,
			 const uint8_t **line, size_t *n, bool *lf, int *is_rec,
			 struct jsonl_leaf **ls, size_t *nl)
{
	const uint8_t *r = p->tape->p + p->tape_off + *t;
	uint64_t x, info, prev = 0;

	if (*t >= p->tape_len)
		return 0;
	r = vjl_get_num(r, &x);
	r = vjl_get_num(r, &info);
	*nl = (size_t)(info >> 2);
	*is_rec = (int)(info >> 1 & 1);
	*lf = info & 1;
	*line = l->s + l->pos;
	*n = (size_t)x;
	l->pos += *n + *lf;
	*ls = vjl_plan_leaves(wp, *nl);
	if (!*ls)
		return -ENOMEM;
	for (size_t i = 0; i < *nl; i++) {
		struct jsonl_leaf *d = &(*ls)[i];

		r = vjl_get_num(r, &x);
		d->node = p->map[x];
		r = vjl_get_num(r, &x);
		d->off = (size_t)(prev + x);
		r = vjl_get_num(r, &x);
		d->end = d->off + (size_t)x;
		d->kind = *r & 7;
		d->escaped = *r & VJL_T_ESC;
		d->is_int = *r & VJL_T_INT;
		r++;
		prev = d->end;
	}
	*t = (size_t)(r - (p->tape->p + p->tape_off));
	return 1;
}

/* An output buffer for part p: one its worker used before, if any. */
static void vjl_pool_take(struct vjl *v, struct vjl_part *p)
{
	pthread_mutex_lock(&v->mu);
	if (v->npool && !p->buf.cap) {
		p->buf = v->pool[--v->npool];
		spot_buf_reset(&p->buf);
	}
	pthread_mutex_unlock(&v->mu);
}

/* Step 2 for part p with wp. */
void vjl_build(struct vjl *v, struct vjl_part *p, struct vjl_plan *wp,
	       struct spot_buf *m)
{
	struct spot_progress *outer = spot_progress_cur;
	uint64_t rec = p->rec, line = p->line, kept = 0, src;
	struct vjl_lines ln;
	const uint8_t *s;
	size_t n, bom, mark, t = 0, nl = 0;
	struct jsonl_leaf *ls = NULL;
	int rc, is_rec = 0;
	bool lf;

	spot_progress_cur = v->prog;
	(void)vjl_lines_open(v, p, m, false, &ln);
	vjl_pool_take(v, p);
	/*
	 * In memory, the first part's buffer becomes the view and the others
	 * are appended to it: reserve it for the whole file (+1/8: masking
	 * may lengthen values). Streaming, or read once (the view is written
	 * over the source), each part is emitted or copied, and its buffer
	 * used again.
	 */
	src = ((p == v->parts && !v->req->emit && !v->whole) || !p->end
		       ? v->size
		       : p->end) -
	      p->off;
	(void)spot_buf_reserve(&p->buf, (size_t)(src + src / 8) + 4096);
	for (;;) {
		rc = p->taped ? vjl_tape_next(p, &t, &ln, wp, &s, &n, &lf,
					      &is_rec, &ls, &nl)
			      : vjl_lines_next(&ln, &s, &n, &lf);
		if (rc != 1)
			break;
		if (!((line - p->line) & 1023) &&
		    (rc = spot_progress_check(v->prog, &p->err)))
			break;
		bom = vjl_bom(p, line - p->line + 1, s, n);
		mark = p->buf.len;
		if (p->taped)
			rc = vjl_rewrite(v, wp, s, n, bom, is_rec, ls, nl, rec,
					 line, &p->buf, &p->err);
		else
			rc = vjl_line(v, wp, s, n, bom, rec, line, &p->buf,
				      &p->err);
		if (rc < 0)
			break;
		rec += rc > 0;
		kept += rc == 1;
		/*
		 * With a row filter, lines of white space are not served
		 * either: a run of blank lines would show where records were
		 * dropped, and how many, in a file that separates records
		 * by blank lines.
		 */
		if (rc == 0 && vjl_plan_filters(wp)) {
			p->buf.len = mark;
			rc = 2;
		}
		rc = lf && rc != 2 ? spot_buf_putc(&p->buf, '\n') : 0;
		if (rc) {
			spot_err_set(&p->err, "out of memory");
			break;
		}
		line++;
	}
	if (rc == -E2BIG) {
		spot_err_set(&p->err, "line %llu: %s", (unsigned long long)line,
			     jsonl_err_text(JSONL_E_TOO_LONG));
		rc = -EIO;
	} else if (rc && !p->err.msg[0]) {
		spot_err_set(&p->err, "cannot read the source: %s",
			     strerror(-rc));
	}
	if (!rc && (rec - p->rec != p->nrecs || line - p->line != p->nlines)) {
		spot_err_set(&p->err, "%s", jsonl_err_text(JSONL_E_STALE));
		rc = -EIO;
	}
	if (p->taped)
		vjl_tape_drop(p, false);
	p->st.rows_in = rec - p->rec;
	p->st.rows_out = kept;
	spot_progress_add(v->prog, ln.mem ? ln.len : ln.r.pos - p->off,
			  rec - p->rec);
	p->rc = rc;
	spot_progress_cur = outer;
}

/* ---- the workers and the steps ---- */

static void *vjl_worker_main(void *arg)
{
	struct vjl_worker *wk = arg;
	struct vjl *v = wk->v;
	struct vjl_part *p;

	for (;;) {
		pthread_mutex_lock(&v->mu);
		while (!v->stop && v->next >= v->claim_end)
			pthread_cond_wait(&v->cv, &v->mu);
		if (v->stop) {
			pthread_mutex_unlock(&v->mu);
			return NULL;
		}
		p = &v->parts[v->next++];
		pthread_mutex_unlock(&v->mu);
		if (!v->building)
			vjl_skim(v, p, &wk->rbuf, &v->tapes[wk - v->wk]);
		else
			vjl_build(v, p, wk->wp, &wk->rbuf);
		pthread_mutex_lock(&v->mu);
		if (!v->building) {
			p->skimmed = true;
		} else {
			p->done = true;
			if (p->rc)
				v->claim_end = 0; /* claim no more */
		}
		pthread_cond_broadcast(&v->cv);
		pthread_mutex_unlock(&v->mu);
	}
}

/* The offset just after the first LF at or after off, or 0 (none). */
static int vjl_next_lf(int fd, uint64_t off, uint64_t size, uint64_t *at)
{
	uint8_t b[4096];
	const uint8_t *q;
	ssize_t n;

	*at = 0;
	while (off < size) {
		n = pread(fd, b, sizeof(b), (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return 0;
		q = memchr(b, '\n', (size_t)n);
		if (q) {
			*at = off + (uint64_t)(q - b) + 1;
			return 0;
		}
		off += (uint64_t)n;
	}
	return 0;
}

/* Cut the file into parts of about chunk bytes at line feeds. */
int vjl_cut(struct vjl *v, size_t chunk)
{
	uint64_t off = 0, at;
	size_t cap = (size_t)(v->size / chunk) + 2;
	int rc;

	v->parts = calloc(cap, sizeof(*v->parts));
	if (!v->parts)
		return -ENOMEM;
	while (v->nparts + 1 < cap) {
		struct vjl_part *p = &v->parts[v->nparts++];

		spot_buf_init(&p->buf);
		p->off = off;
		rc = vjl_next_lf(v->fd, off + chunk, v->size, &at);
		if (rc)
			return rc;
		if (!at || at >= v->size)
			break; /* the last part: to EOF */
		p->end = at;
		off = at;
	}
	return 0;
}

static void vjl_start(struct vjl *v, struct vjl_plan **wps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		v->wk[i].v = v;
		v->wk[i].wp = wps ? wps[i] : NULL;
		spot_buf_init(&v->wk[i].rbuf);
		if (pthread_create(&v->wk[i].tid, NULL, vjl_worker_main,
				   &v->wk[i]))
			break;
		v->nwk++;
	}
}

static void vjl_stop(struct vjl *v)
{
	pthread_mutex_lock(&v->mu);
	v->stop = true;
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	for (size_t i = 0; i < v->nwk; i++) {
		pthread_join(v->wk[i].tid, NULL);
		spot_buf_fini(&v->wk[i].rbuf);
	}
	v->nwk = 0;
	v->stop = false;
}

/*
 * Step 1: discover every part (workers a few parts ahead), then number
 * them and merge their paths in file order, freeing each part's trie as
 * it is merged: memory holds a few parts' paths, not the file's.
 */
int vjl_step1(struct vjl *v, size_t threads, struct spot_err *err)
{
	uint64_t line = 1, rec = 0;
	unsigned kinds;
	size_t ahead;
	int rc = 0;

	vjl_start(v, NULL, threads > 1 ? threads : 0);
	ahead = 2 * v->nwk;
	pthread_mutex_lock(&v->mu);
	v->claim_end = ahead < v->nparts ? ahead : v->nparts;
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	for (size_t i = 0; i < v->nparts && !rc; i++) {
		struct vjl_part *p = &v->parts[i];

		if (!v->nwk) {
			vjl_skim(v, p, &v->rbuf, &v->tapes[VJL_THREADS]);
		} else {
			pthread_mutex_lock(&v->mu);
			while (!p->skimmed)
				pthread_cond_wait(&v->cv, &v->mu);
			if (v->claim_end < v->nparts)
				v->claim_end++;
			pthread_cond_broadcast(&v->cv);
			pthread_mutex_unlock(&v->mu);
		}
		p->line = line;
		p->rec = rec;
		if (p->skim_rc == -EINVAL) {
			spot_err_set(
				err, "line %llu: %s at byte %zu",
				(unsigned long long)(line + p->err_line - 1),
				jsonl_err_text(p->jerr), p->err_byte + 1);
			rc = -EIO;
			break;
		}
		if (p->skim_rc == -ESTALE) {
			spot_err_set(err, "%s", jsonl_err_text(JSONL_E_STALE));
			rc = -EIO;
			break;
		}
		if (p->skim_rc) {
			spot_err_set(err, "cannot read the source: %s",
				     strerror(-p->skim_rc));
			rc = p->skim_rc;
			break;
		}
		/* A tape names the part's nodes: keep where they went. */
		if (p->taped && !(p->map = malloc(jsonl_paths_count(p->paths) *
						  sizeof(*p->map))))
			rc = -ENOMEM;
		else if (p->taped)
			rc = jsonl_paths_merge_map(v->paths, p->paths, p->map);
		else
			rc = jsonl_paths_merge(v->paths, p->paths);
		jsonl_paths_free(p->paths);
		p->paths = NULL;
		line += p->nlines;
		rec += p->nrecs;
	}
	vjl_stop(v);
	if (rc == -E2BIG) {
		spot_err_set(err, "%s", jsonl_err_text(JSONL_E_PATHS));
		return -EIO;
	}
	if (rc == -ENOMEM)
		spot_err_set(err, "out of memory");
	if (rc)
		return rc;
	rc = vjl_columns(v);
	if (rc == -ENOTUNIQ) {
		spot_err_set(err,
			     "two different fields have the same path "
			     "(a key holding '.' or '[]' and a nested "
			     "field): a rule cannot say which it means, so "
			     "the view is refused");
		return -EIO;
	}
	if (rc) {
		spot_err_set(err, "out of memory");
		return rc;
	}
	/* Keys are served as they are: each decoded key on its own, at any
	 * depth, through the detectors a CSV header meets (never named). */
	kinds = jsonl_paths_keys_match(v->paths, msk_pii_detect);
	if (kinds) {
		spot_err_set(err,
			     "a key looks like %s: keys are served as they "
			     "are, so the view is refused",
			     msk_pii_name(kinds & -kinds));
		return -EIO;
	}
	return 0;
}

/* Part p's output buffer, to be used again (or freed). */
static void vjl_pool_put(struct vjl *v, struct vjl_part *p)
{
	struct spot_buf *np;

	if (!p->buf.cap)
		return;
	pthread_mutex_lock(&v->mu);
	np = v->npool < v->nwk + 2
		     ? realloc(v->pool, (v->npool + 1) * sizeof(*np))
		     : NULL;
	if (np) {
		v->pool = np;
		v->pool[v->npool++] = p->buf;
		spot_buf_init(&p->buf);
	}
	pthread_mutex_unlock(&v->mu);
	spot_buf_fini(&p->buf);
}

/*
 * Read once (v->whole, v->in_src): part i's output written over src at
 * wpos, where the bytes of the parts before it were. 1 when it is there;
 * 0 when it would reach the bytes of a part still to be rewritten: then
 * the view so far leaves src, to be emitted (*stream) or copied to out,
 * and the caller handles part i as usual. -errno.
 */
static int vjl_over_src(struct vjl *v, size_t i, struct view_out *out,
			bool *stream)
{
	const struct view_req *req = v->req;
	struct vjl_part *p = &v->parts[i];
	size_t room = i + 1 < v->nparts
			      ? v->base + (size_t)v->parts[i + 1].off - v->wpos
			      : v->src.cap - 1 - v->wpos;

	if (p->buf.len <= room) {
		memcpy(v->src.p + v->wpos, p->buf.p, p->buf.len);
		v->wpos += p->buf.len;
		return 1;
	}
	v->in_src = false;
	if (req->emit) {
		/* src holds all the memory allowed: stream from here on. */
		*stream = true;
		return req->emit(req->emit_arg, v->src.p, v->wpos);
	}
	if (spot_buf_append(&out->buf, v->src.p, v->wpos))
		return -ENOMEM;
	return 0;
}

/* Step 2; parts' bytes appended to out (or emitted) in order. */
int vjl_step2(struct vjl *v, struct vjl_plan **wps, size_t nwps,
	      struct view_out *out, struct spot_err *err)
{
	const struct view_req *req = v->req;
	bool emit = req->emit != NULL;
	bool stream = emit && !req->emit_after;
	size_t ahead;
	int rc = 0;

	v->building = true;
	v->next = 0;
	v->claim_end = 0; /* nothing to claim before the limit below */
	vjl_start(v, wps, nwps > 1 ? nwps : 0);
	ahead = emit ? VJL_AHEAD * (v->nwk ? v->nwk : 1) : v->nparts;
	pthread_mutex_lock(&v->mu);
	v->claim_end = !v->nwk ? 0 : ahead < v->nparts ? ahead : v->nparts;
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	for (size_t i = 0; i < v->nparts && !rc; i++) {
		struct vjl_part *p = &v->parts[i];

		if (!v->nwk) {
			vjl_build(v, p, wps[0], &v->rbuf);
		} else {
			pthread_mutex_lock(&v->mu);
			while (!p->done)
				pthread_cond_wait(&v->cv, &v->mu);
			pthread_mutex_unlock(&v->mu);
		}
		rc = p->rc;
		if (rc) {
			*err = p->err;
			break;
		}
		if (v->in_src) {
			rc = vjl_over_src(v, i, out, &stream);
			if (rc == 1) {
				rc = 0;
				goto next;
			}
			if (rc) {
				spot_err_set(err, "cannot write the view: %s",
					     strerror(-rc));
				break;
			}
		}
		if (emit && !stream &&
		    out->buf.len + p->buf.len > req->emit_after) {
			stream = true; /* grown past the memory allowed */
			rc = req->emit(req->emit_arg, out->buf.p, out->buf.len);
			spot_buf_fini(&out->buf);
		}
		if (stream && !rc)
			rc = req->emit(req->emit_arg, p->buf.p, p->buf.len);
		if (rc) {
			spot_err_set(err, "cannot write the view: %s",
				     strerror(-rc));
			break;
		}
		if (!stream && !out->buf.len && !v->whole) {
			spot_buf_fini(&out->buf);
			out->buf = p->buf; /* no copy */
			spot_buf_init(&p->buf);
		} else if (!stream &&
			   spot_buf_append(&out->buf, p->buf.p, p->buf.len)) {
			spot_err_set(err, "out of memory");
			rc = -ENOMEM;
		}
	next:
		if (emit) {
			pthread_mutex_lock(&v->mu);
			if (v->nwk && v->claim_end && v->claim_end < v->nparts)
				v->claim_end++;
			pthread_cond_broadcast(&v->cv);
			pthread_mutex_unlock(&v->mu);
		}
		vjl_pool_put(v, p);
		out->rows_in += p->st.rows_in;
		out->rows_out += p->st.rows_out;
	}
	vjl_stop(v);
	if (!rc && v->in_src) {
		/* The view is src's first wpos bytes: keep only those. */
		uint8_t *np = realloc(v->src.p, v->wpos + 1);

		if (np) {
			v->src.p = np;
			v->src.cap = v->wpos + 1;
		}
		v->src.len = v->wpos;
		v->src.p[v->wpos] = 0;
		spot_buf_fini(&out->buf);
		out->buf = v->src;
		spot_buf_init(&v->src);
	}
	return rc;
}

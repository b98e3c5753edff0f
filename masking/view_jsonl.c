/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view_jsonl.c - the JSON Lines entry of the table of formats: a masked
 * JSON Lines view of a JSON Lines file, built on several threads.
 *
 * The columns of a JSON Lines dataset are its field paths ("user.email",
 * "messages[].content"): every path that holds a leaf value in some
 * record, sorted by name. A record may hold a path several times (array
 * elements), so the pipeline's batches of rows do not fit; instead each
 * leaf value is masked on its own, through a one-row batch as wide as the
 * columns, by the transforms the plan bound to its path, and the record
 * is rewritten in place: the bytes before, between and after masked
 * values are copied from the source, so key order, white space and
 * unmasked values stay exactly as they were, and a record with nothing
 * masked is byte for byte its source line.
 *
 * Two passes over parts of the file cut at line feeds (a JSON Lines
 * record never holds a raw line feed, so every cut is a record boundary):
 *   1. discover: every part is tokenized and validated (in parallel),
 *      counting lines and records and collecting its paths; the first
 *      malformed line in file order fails the build with its line and
 *      byte. The parts' paths are merged into one trie: the columns.
 *   2. build: workers claim parts in file order and rewrite them, each
 *      with its own plan; the caller appends (or, streaming, emits) the
 *      parts in order, at most a few parts ahead, as view_csv.c does.
 * Randomness per cell (noise) is seeded by record number and the value's
 * occurrence in its record, so the view is the same whatever the threads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "view_jsonl_i.h"

/* ---- reading lines of a part ---- */

/*
 * The read buffer is the caller's (one per thread, reused across parts
 * and passes: a fresh buffer per part would be faulted in page by page),
 * a spot_buf so that a big one asks for huge pages.
 */

void vjl_reader_init(struct vjl_reader *r, int fd, uint64_t off, uint64_t end,
		     struct spot_buf *m)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->pos = off;
	r->end = end;
	r->m = m;
	spot_buf_reset(m);
}

/* More bytes after the unread ones. 0 or -errno. */
static int vjl_fill(struct vjl_reader *r)
{
	struct spot_buf *m = r->m;
	size_t want;
	ssize_t n;

	if (r->start) {
		memmove(m->p, m->p + r->start, m->len - r->start);
		m->len -= r->start;
		r->scan -= r->start;
		r->start = 0;
	}
	if (m->cap - m->len < VJL_BLOCK + 1 &&
	    spot_buf_reserve(m, m->len ? m->len + VJL_BLOCK : 2 * VJL_BLOCK))
		return -ENOMEM;
	want = m->cap - m->len - 1;
	if (r->end && r->end - r->pos < want)
		want = (size_t)(r->end - r->pos);
	if (!want) {
		r->eof = true;
		return 0;
	}
	do {
		n = pread(r->fd, m->p + m->len, want, (off_t)r->pos);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (!n)
		r->eof = true;
	m->len += (size_t)n;
	r->pos += (uint64_t)n;
	return 0;
}

/*
 * The next line (without its LF; *lf says whether it had one): 1, 0 at
 * the end, -E2BIG for a line over JSONL_MAX_LINE (+1 for a CR), -errno.
 */
int vjl_next(struct vjl_reader *r, const uint8_t **line, size_t *n, bool *lf)
{
	struct spot_buf *m = r->m;
	const uint8_t *q;
	int rc;

	for (;;) {
		q = m->len > r->scan
			    ? memchr(m->p + r->scan, '\n', m->len - r->scan)
			    : NULL;
		if (q || r->eof)
			break;
		r->scan = m->len;
		if (m->len - r->start > JSONL_MAX_LINE + 1)
			return -E2BIG;
		rc = vjl_fill(r);
		if (rc)
			return rc;
	}
	*line = m->p + r->start;
	*lf = q != NULL;
	*n = q ? (size_t)(q - *line) : m->len - r->start;
	if (!q && !*n)
		return 0;
	if (*n > JSONL_MAX_LINE + 1)
		return -E2BIG;
	r->start += *n + (q != NULL);
	r->scan = r->start;
	return 1;
}

/* ---- the build ---- */

/* One worker's plan, ready for leaf-by-leaf masking. */
struct vjl_plan {
	const struct pipe_plan *plan;
	size_t *xoff; /* column c's transforms: xs[xoff[c]..xoff[c + 1]) */
	size_t *xs;
	uint64_t *occ_rec; /* per column: record (+1) its occ counts */
	uint32_t *occ;
	bool *lua;    /* per column: a transform reads the row (Lua) */
	bool *qabove; /* per column: a field above a k_anonymity quasi column */
	struct pipe_batch b;  /* one row, every column */
	struct pipe_cell rec; /* the record being masked, b.recs[0] */
	struct jsonl_parser *parser;
	struct spot_buf dec;
	struct jsonl_leaf *tls; /* a tape's record, decoded (vjl_tape_next) */
	size_t captls;
};

size_t vjl_bom(const struct vjl_part *p, uint64_t line_no, const uint8_t *s,
	       size_t n)
{
	return p->off == 0 && line_no == 1 && n >= 3 && s[0] == 0xef &&
			       s[1] == 0xbb && s[2] == 0xbf
		       ? 3
		       : 0;
}

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

/* The output of a masked leaf, as JSON. */
static int vjl_put_value(const struct jsonl_leaf *l, const struct pipe_cell *o,
			 struct spot_buf *out)
{
	if (o->type == PIPE_NULL)
		return spot_buf_append(out, "null", 4);
	/* A number stays a number when the method made one. */
	if (l->kind == JSONL_NUM &&
	    (o->type == PIPE_INT || o->type == PIPE_REAL) &&
	    jsonl_is_number(o->p, o->len))
		return spot_buf_append(out, o->p, o->len);
	return jsonl_str_encode(o->p, o->len, out);
}

/* The input cell of leaf l of line s. */
static int vjl_cell(struct vjl_plan *wp, const uint8_t *s,
		    const struct jsonl_leaf *l, struct pipe_cell *c)
{
	const uint8_t *t = s + l->off;
	size_t n = l->end - l->off;

	c->flags = 0;
	c->type = PIPE_TEXT;
	if (l->kind == JSONL_NULL) {
		c->type = PIPE_NULL;
		c->p = NULL;
		c->len = 0;
		return 0;
	}
	if (l->kind == JSONL_STR && l->escaped) {
		spot_buf_reset(&wp->dec);
		if (jsonl_str_decode(t, n, &wp->dec))
			return -ENOMEM;
		c->p = wp->dec.p;
		c->len = wp->dec.len;
		return 0;
	}
	if (l->kind == JSONL_STR) {
		t++;
		n -= 2;
	} else if (l->kind == JSONL_NUM) {
		c->type = l->is_int ? PIPE_INT : PIPE_REAL;
	}
	c->p = t;
	c->len = n;
	return 0;
}

/* Mask leaf l (column col) of record rec; *set when it changed. */
static int vjl_mask(struct vjl_plan *wp, const uint8_t *s,
		    const struct jsonl_leaf *l, size_t col, uint64_t rec,
		    struct spot_err *err)
{
	struct pipe_batch *b = &wp->b;
	uint32_t k;
	int rc = 0;

	if (wp->occ_rec[col] != rec + 1) {
		wp->occ_rec[col] = rec + 1;
		wp->occ[col] = 0;
	}
	k = wp->occ[col]++;
	b->first_row = rec + ((uint64_t)k << VJL_OCC_SHIFT);
	b->nrows = 1;
	b->keep[0] = 1;
	if (vjl_cell(wp, s, l, &b->in[col])) {
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = wp->xoff[col]; !rc && i < wp->xoff[col + 1]; i++) {
		const struct pipe_xform *x = &wp->plan->xf[wp->xs[i]];

		/* null: only Lua functions see it (as nil); methods keep it */
		if (l->kind != JSONL_NULL || x->needs_row)
			rc = x->fn(x->arg, b, col, err);
	}
	return rc;
}

/*
 * k_anonymity: a quasi column holding {} or [] has no value, as if the
 * record lacked it, but this form serves it apart: fail closed (the
 * caller names the line). Paths under a quasi column are refused when
 * the plan is bound (plan_kanon_quasi_check).
 */
static int vjl_quasi_empty(const struct vjl *v, const struct pipe_plan *plan,
			   size_t col, struct spot_err *err)
{
	char name[128];

	for (size_t q = 0; q < plan->npinned; q++)
		if (plan->pinned[q] == col) {
			/* the quasi column's name is the config's */
			spot_printable(v->cols[col].name, name, sizeof(name));
			spot_err_set(err,
				     "k_anonymity: quasi column '%s' holds an "
				     "empty object or array: the record "
				     "cannot be counted by it",
				     name);
			return -EIO;
		}
	return 0;
}

/*
 * The row filter on record rec (its leaves ls): 1 to serve it, 0 not,
 * -errno. Lua's row gets the record itself (b.recs); a filter reading
 * cells (k_anonymity) gets the value of every field the record holds
 * once, and NULL for fields it holds several times (inside arrays; the
 * config refuses them as quasi columns).
 */
static int vjl_row_filter(struct vjl *v, struct vjl_plan *wp, const uint8_t *s,
			  const struct jsonl_leaf *ls, size_t nl, uint64_t rec,
			  struct spot_err *err)
{
	struct pipe_batch *b = &wp->b;
	int rc = 0;

	for (size_t i = 0; !rc && i < nl; i++) {
		int32_t col = jsonl_paths_tag(v->paths, ls[i].node);
		struct pipe_cell *c;

		if (col < 0) {
			spot_err_set(err, "%s", jsonl_err_text(JSONL_E_STALE));
			rc = -EIO;
			break;
		}
		c = &b->in[col];
		if (ls[i].kind == JSONL_EMPTY &&
		    (rc = vjl_quasi_empty(v, wp->plan, (size_t)col, err)))
			break;
		if (wp->qabove[col] && ls[i].kind != JSONL_NULL &&
		    ls[i].kind != JSONL_EMPTY) {
			/* "addr": "99999 ..." beside records holding
			 * addr.zip: counted with the records lacking it while
			 * it serves a value where the quasi field would be. */
			char name[128];

			spot_printable(v->cols[col].name, name, sizeof(name));
			spot_err_set(err,
				     "k_anonymity: '%s', a field above a quasi "
				     "column, holds a value: the record cannot "
				     "be counted",
				     name);
			rc = -EIO;
			break;
		}
		if (wp->occ_rec[col] == rec + 1 || ls[i].kind == JSONL_EMPTY) {
			memset(c, 0, sizeof(*c)); /* twice: no one value */
			c->type = PIPE_NULL;
			continue;
		}
		wp->occ_rec[col] = rec + 1; /* vjl_mask restarts at 0 */
		wp->occ[col] = 0;
		if (vjl_cell(wp, s, &ls[i], c) ||
		    (c->len &&
		     !(c->p = spot_arena_dup(&b->src_arena, c->p, c->len)))) {
			spot_err_set(err, "out of memory");
			rc = -ENOMEM;
		}
	}
	if (!rc) {
		b->first_row = rec;
		b->nrows = 1;
		b->keep[0] = 1;
		rc = wp->plan->row_fn(wp->plan->row_arg, b, err);
	}
	/* Back to a row of NULLs, nothing set, for the masking after. */
	for (size_t i = 0; i < nl; i++) {
		int32_t col = jsonl_paths_tag(v->paths, ls[i].node);

		if (col < 0)
			continue;
		memset(&b->in[col], 0, sizeof(b->in[col]));
		b->in[col].type = PIPE_NULL;
		memset(&b->out[col], 0, sizeof(b->out[col]));
	}
	spot_arena_reset(&b->src_arena);
	spot_arena_reset(&b->arena);
	return rc ? rc : b->keep[0];
}

/*
 * Rewrite line (s, n), tokenized: is_rec and its leaves ls (nodes of
 * v->paths), as vjl_line.
 */
static int vjl_rewrite(struct vjl *v, struct vjl_plan *wp, const uint8_t *s,
		       size_t n, size_t bom, int is_rec,
		       const struct jsonl_leaf *ls, size_t nl, uint64_t rec,
		       uint64_t line, struct spot_buf *out,
		       struct spot_err *err)
{
	size_t pos = 0, start = out->len;
	int rc = 0;

	wp->rec.p = s + bom;
	wp->rec.len = n - bom;
	wp->rec.type = PIPE_TEXT;
	if (is_rec && wp->plan->row_fn) {
		rc = vjl_row_filter(v, wp, s + bom, ls, nl, rec, err);
		if (rc < 0) {
			spot_err_prefix(
				err, "line %llu: ", (unsigned long long)line);
			return rc == -ENOMEM ? rc : -EIO;
		}
		if (!rc)
			return 2; /* filtered out: nothing of it is served */
		rc = 0;
	}
	for (size_t i = 0; is_rec && i < nl; i++) {
		const struct jsonl_leaf *l = &ls[i];
		int32_t col = jsonl_paths_tag(v->paths, l->node);
		struct pipe_cell *o;

		if (col < 0) {
			spot_err_set(err, "line %llu: %s",
				     (unsigned long long)line,
				     jsonl_err_text(JSONL_E_STALE));
			return -EIO;
		}
		if (wp->xoff[col] == wp->xoff[col + 1] ||
		    (l->kind == JSONL_NULL && !wp->lua[col]) ||
		    l->kind == JSONL_EMPTY)
			continue; /* served as it is: null, {} and [] hold no
				   * value */
		rc = vjl_mask(wp, s + bom, l, (size_t)col, rec, err);
		o = &wp->b.out[col];
		if (!rc && (o->flags & PIPE_F_SET)) {
			rc = spot_buf_append(out, s + pos, l->off + bom - pos);
			if (!rc)
				rc = vjl_put_value(l, o, out);
			if (rc)
				spot_err_set(err, "out of memory");
			pos = l->end + bom;
		}
		memset(o, 0, sizeof(*o));
		memset(&wp->b.in[col], 0, sizeof(wp->b.in[col]));
		wp->b.in[col].type = PIPE_NULL;
		if (rc) {
			char name[128];

			spot_printable(v->cols[col].name, name, sizeof(name));
			spot_err_prefix(err, "line %llu, field '%s': ",
					(unsigned long long)line, name);
			return rc == -ENOMEM ? rc : -EIO;
		}
	}
	spot_arena_reset(&wp->b.arena);
	if (spot_buf_append(out, s + pos, n - pos)) {
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	if (is_rec && v->req->record) /* export review: as served */
		v->req->record(v->req->record_arg, out->p + start + bom,
			       out->len - start - bom);
	return is_rec;
}

/*
 * Rewrite one line (s, n) into out: 1 for a record (record rec), 2 for a
 * record the row filter dropped (nothing written), 0 for a line of white
 * space (copied), -errno with err set.
 */
int vjl_line(struct vjl *v, struct vjl_plan *wp, const uint8_t *s, size_t n,
	     size_t bom, uint64_t rec, uint64_t line, struct spot_buf *out,
	     struct spot_err *err)
{
	const struct jsonl_leaf *ls;
	size_t nl, at;
	int is_rec = jsonl_parse(wp->parser, s + bom, n - bom);

	if (is_rec < 0) {
		enum jsonl_err e = jsonl_parser_error(wp->parser, &at);

		spot_err_set(err, "line %llu: %s at byte %zu",
			     (unsigned long long)line, jsonl_err_text(e),
			     at + bom + 1);
		return is_rec == -ENOMEM ? is_rec : -EIO;
	}
	ls = jsonl_parser_leaves(wp->parser, &nl);
	return vjl_rewrite(v, wp, s, n, bom, is_rec, ls, nl, rec, line, out,
			   err);
}

/*
 * The next line of p's tape at *t (its bytes from l->pos): the line, its
 * record flag and its leaves (in wp->tls, nodes of v->paths). 1, 0 at the
 * end, -ENOMEM.
 */
static int vjl_tape_next(const struct vjl_part *p, size_t *t,
			 struct vjl_lines *l, struct vjl_plan *wp,
			 const uint8_t **line, size_t *n, bool *lf, int *is_rec,
			 size_t *nl)
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
	if (*nl > wp->captls) {
		size_t cap = *nl < 64 ? 64 : *nl * 2;
		struct jsonl_leaf *d = realloc(wp->tls, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		wp->tls = d;
		wp->captls = cap;
	}
	for (size_t i = 0; i < *nl; i++) {
		struct jsonl_leaf *d = &wp->tls[i];

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

bool vjl_plan_filters(const struct vjl_plan *wp)
{
	return wp->plan->row_fn != NULL;
}

void vjl_plan_restart(struct vjl_plan *wp)
{
	memset(wp->occ_rec, 0, wp->b.ncols * sizeof(*wp->occ_rec));
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
					      &is_rec, &nl)
			      : vjl_lines_next(&ln, &s, &n, &lf);
		if (rc != 1)
			break;
		if (!((line - p->line) & 1023) &&
		    (rc = spot_progress_check(v->prog, &p->err)))
			break;
		bom = vjl_bom(p, line - p->line + 1, s, n);
		mark = p->buf.len;
		if (p->taped)
			rc = vjl_rewrite(v, wp, s, n, bom, is_rec, wp->tls, nl,
					 rec, line, &p->buf, &p->err);
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
		if (rc == 0 && wp->plan->row_fn) {
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

/* ---- plans ---- */

bool vjl_plan_keeps(const struct vjl_plan *wp, size_t col, bool *none)
{
	*none = wp->xoff[col] == wp->xoff[col + 1];
	for (size_t i = wp->xoff[col]; i < wp->xoff[col + 1]; i++) {
		const struct pipe_xform *x = &wp->plan->xf[wp->xs[i]];

		if (!x->keeps_type || x->needs_row)
			return false;
	}
	return true;
}

void vjl_plan_free(struct vjl_plan *wp)
{
	if (!wp)
		return;
	free(wp->xoff);
	free(wp->xs);
	free(wp->occ_rec);
	free(wp->occ);
	free(wp->lua);
	free(wp->qabove);
	pipe_batch_fini(&wp->b);
	jsonl_parser_free(wp->parser);
	spot_buf_fini(&wp->dec);
	free(wp->tls);
	free(wp);
}

/* plan's transforms indexed by column, and a worker's scratch. */
static int vjl_plan_new(struct vjl *v, const struct pipe_plan *plan,
			struct vjl_plan **out, struct spot_err *err)
{
	struct vjl_plan *wp = calloc(1, sizeof(*wp));
	size_t nc = v->ncols, k = 0;
	int rc = -ENOMEM;

	if (!wp)
		goto nomem;
	spot_buf_init(&wp->dec);
	rc = pipe_batch_init(&wp->b, nc, 1);
	if (rc) {
		free(wp);
		goto nomem;
	}
	wp->plan = plan;
	wp->b.recs = &wp->rec; /* Lua's row: the record as a table */
	wp->xoff = calloc(nc + 1, sizeof(*wp->xoff));
	wp->xs = calloc(plan->nxf ? plan->nxf : 1, sizeof(*wp->xs));
	wp->occ_rec = calloc(nc ? nc : 1, sizeof(*wp->occ_rec));
	wp->occ = calloc(nc ? nc : 1, sizeof(*wp->occ));
	wp->lua = calloc(nc ? nc : 1, sizeof(*wp->lua));
	wp->qabove = calloc(nc ? nc : 1, sizeof(*wp->qabove));
	if (!wp->xoff || !wp->xs || !wp->occ_rec || !wp->occ || !wp->lua ||
	    !wp->qabove || jsonl_parser_new(v->paths, false, &wp->parser))
		goto fail;
	for (size_t c = 0; c < nc; c++) {
		wp->xoff[c] = k;
		for (size_t i = 0; i < plan->nxf; i++) {
			if (plan->xf[i].col != c)
				continue;
			wp->xs[k++] = i;
			wp->lua[c] |= plan->xf[i].needs_row;
		}
		wp->b.in[c].type = PIPE_NULL;
	}
	wp->xoff[nc] = k;
	for (size_t q = 0; q < plan->npinned; q++) {
		const struct pipe_col *qc = &v->cols[plan->pinned[q]];

		for (size_t c = 0; c < nc; c++)
			wp->qabove[c] |= v->cols[c].name_len < qc->name_len &&
					 qc->name[v->cols[c].name_len] == '.' &&
					 !memcmp(qc->name, v->cols[c].name,
						 v->cols[c].name_len);
	}
	if (k != plan->nxf) {
		spot_err_set(err, "a transform is bound to no field");
		rc = -EINVAL;
		goto fail;
	}
	*out = wp;
	return 0;
fail:
	vjl_plan_free(wp);
	if (rc != -ENOMEM)
		return rc;
nomem:
	spot_err_set(err, "out of memory");
	return -ENOMEM;
}

/* ---- columns ---- */

struct vjl_colnode {
	struct pipe_col col;
	uint32_t node;
};

static int vjl_col_cmp(const void *a, const void *b)
{
	const struct pipe_col *x = &((const struct vjl_colnode *)a)->col;
	const struct pipe_col *y = &((const struct vjl_colnode *)b)->col;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	return c ? c
		 : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* The leaf paths of v->paths as columns, sorted; tags set to indexes. */
int vjl_columns(struct vjl *v)
{
	uint32_t n = jsonl_paths_count(v->paths);
	struct vjl_colnode *cn = calloc(n, sizeof(*cn));
	struct spot_buf name;
	size_t k = 0;
	int rc = 0;

	v->cols = calloc(n, sizeof(*v->cols));
	if (!v->cols || !cn) {
		free(cn);
		return -ENOMEM;
	}
	spot_buf_init(&name);
	for (uint32_t i = 1; i < n && !rc; i++) {
		if (!jsonl_paths_is_leaf(v->paths, i))
			continue;
		spot_buf_reset(&name);
		rc = jsonl_paths_name(v->paths, i, &name);
		if (!rc)
			rc = spot_buf_putc(&name, 0);
		if (rc)
			break;
		cn[k].col.name_len = name.len - 1;
		cn[k].col.name = (char *)spot_buf_steal(&name, &name.len);
		cn[k].col.type = PIPE_TEXT;
		cn[k].node = i;
		k++;
	}
	spot_buf_fini(&name);
	if (rc) {
		for (size_t i = 0; i < k; i++)
			free(cn[i].col.name);
		free(cn);
		return rc;
	}
	qsort(cn, k, sizeof(*cn), vjl_col_cmp);
	/*
	 * Two fields of one path name (a key holding '.' or "[]" and a nested
	 * field: {"a.b": 1, "a": {"b": 2}}) are different leaves no rule can
	 * tell apart: refuse (sorted, they are neighbours).
	 */
	for (size_t i = 1; i < k && !rc; i++)
		if (!vjl_col_cmp(&cn[i - 1], &cn[i]))
			rc = -ENOTUNIQ;
	if (rc) {
		for (size_t i = 0; i < k; i++)
			free(cn[i].col.name);
		free(cn);
		return rc;
	}
	for (size_t i = 0; i < k; i++) {
		v->cols[i] = cn[i].col;
		jsonl_paths_set_tag(v->paths, cn[i].node, (int32_t)i);
	}
	v->ncols = k;
	free(cn);
	return rc;
}

int vjl_plans(struct vjl *v, size_t threads, struct vjl_plan **wps, size_t *n,
	      struct spot_err *err)
{
	const struct view_req *req = v->req;
	const struct pipe_plan *plan;
	int rc;

	*n = 0;
	rc = req->bind(req->arg, NULL, v->cols, v->ncols, &plan, err);
	if (!rc)
		rc = vjl_plan_new(v, plan, &wps[(*n)++], err);
	while (!rc && *n < threads && req->more) {
		rc = req->more(req->arg, NULL, v->cols, v->ncols, &plan, err);
		if (!rc)
			rc = vjl_plan_new(v, plan, &wps[*n], err);
		if (!rc)
			(*n)++;
	}
	if (rc && *n && !wps[*n - 1])
		(*n)--;
	return rc;
}

/*
 * Read once: when the file and the view fit in memory (the view is kept
 * in memory, or it may hold emit_after bytes before streaming), step 1
 * reads each part into v->src, after room for the view to grow (base:
 * 1/8 of the file), and keeps a tape of what it tokenized; step 2
 * rewrites parts from there, without reading or tokenizing them again,
 * and the view is written over src from its start, as long as it does
 * not reach the bytes of a part still to be rewritten (vjl_step2). Tapes
 * are kept while src and every tape fit in the same bytes; a part
 * without one is tokenized again in step 2, from memory.
 */
static void vjl_whole(struct vjl *v)
{
	const struct view_req *req = v->req;
	uint64_t need;

	v->keep_max = req->emit ? req->emit_after : UINT64_MAX;
	if (!v->size || v->size > SIZE_MAX / 4)
		return;
	v->base = (size_t)(v->size / 8);
	need = v->base + v->size + 4096;
	if (need > v->keep_max || spot_buf_reserve(&v->src, (size_t)need))
		return;
	v->kept = need;
	v->whole = true;
	v->in_src = true;
}

int view_jsonl_build(const struct view_format *f, const struct view_req *req,
		     struct view_out *out, struct spot_err *err)
{
	size_t threads = req->threads ? req->threads : 1, nwps = 0;
	size_t chunk = req->emit ? VJL_CHUNK_STREAM : VJL_CHUNK;
	struct vjl_plan **wps = NULL;
	struct stat sb;
	struct vjl v;
	int rc;

	if (req->form != VIEW_FMT_JSONL)
		return view_jsonl_convert(f, req, out, err);
	memset(&v, 0, sizeof(v));
	v.fd = req->fd;
	v.req = req;
	v.prog = spot_progress_cur;
	spot_buf_init(&v.rbuf);
	pthread_mutex_init(&v.mu, NULL);
	pthread_cond_init(&v.cv, NULL);
	if (fstat(req->fd, &sb)) {
		rc = -errno;
		spot_err_set(err, "cannot read the source: %s", strerror(-rc));
		goto out;
	}
	v.size = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
	if (threads > VJL_THREADS)
		threads = VJL_THREADS;
	v.wk = calloc(threads, sizeof(*v.wk));
	wps = calloc(threads, sizeof(*wps));
	rc = v.wk && wps ? jsonl_paths_new(&v.paths) : -ENOMEM;
	if (!rc)
		rc = vjl_cut(&v, chunk);
	if (!rc)
		vjl_whole(&v);
	if (rc) {
		spot_err_set(err, "cannot read the source: %s", strerror(-rc));
		goto out;
	}
	rc = vjl_step1(&v, v.nparts > 1 ? threads : 1, err);
	if (!rc)
		rc = vjl_plans(&v, v.nparts > 1 ? threads : 1, wps, &nwps, err);
	if (!rc)
		rc = vjl_step2(&v, wps, nwps, out, err);
out:
	for (size_t i = 0; i < nwps; i++)
		vjl_plan_free(wps[i]);
	free(wps);
	for (size_t i = 0; v.parts && i < v.nparts; i++) {
		spot_buf_fini(&v.parts[i].buf);
		jsonl_paths_free(v.parts[i].paths);
		vjl_tape_drop(&v.parts[i], false);
	}
	for (size_t i = 0; i < v.npool; i++)
		spot_buf_fini(&v.pool[i]);
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(v.tapes); i++)
		spot_buf_fini(&v.tapes[i]);
	free(v.pool);
	spot_buf_fini(&v.src);
	free(v.parts);
	free(v.wk);
	spot_buf_fini(&v.rbuf);
	view_cols_free(v.cols, v.ncols);
	jsonl_paths_free(v.paths);
	pthread_cond_destroy(&v.cv);
	pthread_mutex_destroy(&v.mu);
	return rc;
}

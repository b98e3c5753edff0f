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
	bool *pin;    /* per column: a quasi column checked as served */
	/*
	 * A transform reads other fields of the record (shift's per:, a
	 * Lua function): every field the record holds once is its raw cell
	 * in b.in while the record is masked (ent: the copies, in
	 * b.src_arena; ent_rec: the record (+1) that set them).
	 */
	bool ents;
	struct pipe_cell *ent;
	uint64_t *ent_rec;
	struct pipe_batch b;  /* one row, every column */
	struct pipe_cell rec; /* the record being masked, b.recs[0] */
	struct jsonl_parser *parser;
	struct spot_buf dec;
	struct jsonl_leaf *tls; /* a tape's record (vjl_plan_leaves) */
	size_t captls;
	struct vjl_hide *hide; /* containers served as null, or NULL */
};

size_t vjl_bom(const struct vjl_part *p, uint64_t line_no, const uint8_t *s,
	       size_t n)
{
	return p->off == 0 && line_no == 1 && n >= 3 && s[0] == 0xef &&
			       s[1] == 0xbb && s[2] == 0xbf
		       ? 3
		       : 0;
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
		c->flags = PIPE_F_LITERAL; /* null written, not a key absent */
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
	} else if (l->kind == JSONL_TRUE || l->kind == JSONL_FALSE) {
		c->flags = PIPE_F_LITERAL;
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

/* Field l's raw cell into column col's input, kept until vjl_unpin: the
 * row filter reads it, and a pinned column served as it is is checked by
 * it (kan_post_fn). */
static int vjl_cell_keep(struct vjl_plan *wp, const uint8_t *s,
			 const struct jsonl_leaf *l, int32_t col)
{
	struct pipe_cell *c = &wp->b.in[col];

	if (vjl_cell(wp, s, l, c) ||
	    (c->len &&
	     !(c->p = spot_arena_dup(&wp->b.src_arena, c->p, c->len))))
		return -ENOMEM;
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
		if (vjl_cell_keep(wp, s, &ls[i], col)) {
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

/* Back to NULL cells for the pinned columns. */
static void vjl_unpin(struct vjl_plan *wp)
{
	for (size_t q = 0; q < wp->plan->npinned; q++) {
		size_t c = wp->plan->pinned[q];

		memset(&wp->b.out[c], 0, sizeof(wp->b.out[c]));
		memset(&wp->b.in[c], 0, sizeof(wp->b.in[c]));
		wp->b.in[c].type = PIPE_NULL;
	}
	spot_arena_reset(&wp->b.src_arena);
}

/*
 * The raw cell of every field record rec holds once into b.in (and
 * ent), NULL for one it holds more than once (inside arrays), so a
 * transform reading another field (shift's per:) reads the record's
 * raw value of it, whatever was masked before.
 */
static int vjl_ents_keep(struct vjl *v, struct vjl_plan *wp, const uint8_t *s,
			 const struct jsonl_leaf *ls, size_t nl, uint64_t rec)
{
	for (size_t i = 0; i < nl; i++) {
		int32_t col = jsonl_paths_tag(v->paths, ls[i].node);
		struct pipe_cell *c;

		if (col < 0)
			continue; /* refused by the masking loop */
		c = &wp->b.in[col];
		if (wp->ent_rec[col] == rec + 1 || ls[i].kind == JSONL_EMPTY) {
			memset(c, 0, sizeof(*c));
			c->type = PIPE_NULL;
		} else if (vjl_cell_keep(wp, s, &ls[i], col)) {
			return -ENOMEM;
		}
		wp->ent_rec[col] = rec + 1;
		wp->ent[col] = *c;
	}
	return 0;
}

/* Back to NULL cells after a record's vjl_ents_keep. */
static void vjl_ents_drop(struct vjl *v, struct vjl_plan *wp,
			  const struct jsonl_leaf *ls, size_t nl)
{
	for (size_t i = 0; i < nl; i++) {
		int32_t col = jsonl_paths_tag(v->paths, ls[i].node);

		if (col < 0)
			continue;
		memset(&wp->b.in[col], 0, sizeof(wp->b.in[col]));
		wp->b.in[col].type = PIPE_NULL;
		wp->ent_rec[col] = 0;
	}
	spot_arena_reset(&wp->b.src_arena);
}

static int vjl_rewrite_rec(struct vjl *v, struct vjl_plan *wp, const uint8_t *s,
			   size_t n, size_t bom, int is_rec,
			   const struct jsonl_leaf *ls, size_t nl, uint64_t rec,
			   uint64_t line, struct spot_buf *out,
			   struct spot_err *err);

/*
 * Rewrite line (s, n), tokenized: is_rec and its leaves ls (nodes of
 * v->paths), as vjl_line.
 */
int vjl_rewrite(struct vjl *v, struct vjl_plan *wp, const uint8_t *s, size_t n,
		size_t bom, int is_rec, const struct jsonl_leaf *ls, size_t nl,
		uint64_t rec, uint64_t line, struct spot_buf *out,
		struct spot_err *err)
{
	int rc = vjl_rewrite_rec(v, wp, s, n, bom, is_rec, ls, nl, rec, line,
				 out, err);

	if (wp->ents && is_rec)
		vjl_ents_drop(v, wp, ls, nl);
	return rc;
}

static int vjl_rewrite_rec(struct vjl *v, struct vjl_plan *wp, const uint8_t *s,
			   size_t n, size_t bom, int is_rec,
			   const struct jsonl_leaf *ls, size_t nl, uint64_t rec,
			   uint64_t line, struct spot_buf *out,
			   struct spot_err *err)
{
	/* A BOM is not served: readers of JSON Lines (pandas, DuckDB)
	 * refuse it, and it is no part of the record. */
	size_t pos = bom, start = out->len, hprev = 0, hend = 0;
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
	if (is_rec && wp->ents && vjl_ents_keep(v, wp, s + bom, ls, nl, rec)) {
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; is_rec && i < nl; i++) {
		const struct jsonl_leaf *l = &ls[i];
		int32_t col = jsonl_paths_tag(v->paths, l->node);
		struct pipe_cell *o;
		bool inhid;

		if (col < 0) {
			spot_err_set(err, "line %llu: %s",
				     (unsigned long long)line,
				     jsonl_err_text(JSONL_E_STALE));
			return -EIO;
		}
		if (wp->hide && l->off >= hend) {
			/* The first leaf of a container served as null whole
			 * (or an empty one): null in its place. Its leaves are
			 * still masked (the export review records them). */
			size_t o0, o1;
			int h = vjl_hide_at(wp->hide, s + bom, n - bom, hprev,
					    l, nl - i, &o0, &o1);

			if (h < 0) {
				spot_err_set(err, "line %llu: %s",
					     (unsigned long long)line,
					     jsonl_err_text(JSONL_E_STALE));
				return -EIO;
			}
			if (h &&
			    (spot_buf_append(out, s + pos, o0 + bom - pos) ||
			     spot_buf_append(out, "null", 4))) {
				spot_err_set(err, "out of memory");
				return -ENOMEM;
			}
			if (h) {
				pos = o1 + bom;
				hend = o1;
			}
		}
		hprev = l->end;
		inhid = l->off < hend;
		if (wp->xoff[col] == wp->xoff[col + 1] ||
		    (l->kind == JSONL_NULL && !wp->lua[col]) ||
		    l->kind == JSONL_EMPTY) {
			/* served as it is: null, {} and [] hold no value */
			if (wp->pin[col] &&
			    vjl_cell_keep(wp, s + bom, l, col)) {
				spot_err_set(err, "out of memory");
				return -ENOMEM;
			}
			continue;
		}
		rc = vjl_mask(wp, s + bom, l, (size_t)col, rec, err);
		o = &wp->b.out[col];
		if (!rc && (o->flags & PIPE_F_SET) && !inhid) {
			rc = spot_buf_append(out, s + pos, l->off + bom - pos);
			if (!rc)
				rc = vjl_put_value(l, o, out);
			if (rc)
				spot_err_set(err, "out of memory");
			pos = l->end + bom;
		}
		if (!wp->pin[col] || rc) { /* a pinned one: checked below */
			memset(o, 0, sizeof(*o));
			memset(&wp->b.in[col], 0, sizeof(wp->b.in[col]));
			wp->b.in[col].type = PIPE_NULL;
			if (wp->ents && !rc)
				wp->b.in[col] = wp->ent[col]; /* raw again */
		}
		if (rc) {
			char name[128];

			vjl_unpin(wp);
			spot_printable(v->cols[col].name, name, sizeof(name));
			spot_err_prefix(err, "line %llu, field '%s': ",
					(unsigned long long)line, name);
			return rc == -ENOMEM ? rc : -EIO;
		}
	}
	if (is_rec && wp->plan->post_fn && wp->plan->npinned) {
		/* k_anonymity: the quasi cells as served are the ones its
		 * filter classed (a Lua function keeping state could give
		 * the second call another value). */
		wp->b.first_row = rec;
		wp->b.nrows = 1;
		wp->b.keep[0] = 1;
		rc = wp->plan->post_fn(wp->plan->post_arg, &wp->b, err);
		vjl_unpin(wp);
		if (rc) {
			spot_err_prefix(
				err, "line %llu: ", (unsigned long long)line);
			return rc == -ENOMEM ? rc : -EIO;
		}
	}
	spot_arena_reset(&wp->b.arena);
	if (spot_buf_append(out, s + pos, n - pos)) {
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	if (is_rec && v->req->record) /* export review: as served */
		v->req->record(v->req->record_arg, out->p + start,
			       out->len - start);
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

bool vjl_plan_filters(const struct vjl_plan *wp)
{
	return wp->plan->row_fn != NULL;
}

void vjl_plan_restart(struct vjl_plan *wp)
{
	memset(wp->occ_rec, 0, wp->b.ncols * sizeof(*wp->occ_rec));
}

struct jsonl_leaf *vjl_plan_leaves(struct vjl_plan *wp, size_t n)
{
	if (n > wp->captls || !wp->tls) { /* never NULL for 0 leaves */
		size_t cap = n < 64 ? 64 : n * 2;
		struct jsonl_leaf *d = realloc(wp->tls, cap * sizeof(*d));

		if (!d)
			return NULL;
		wp->tls = d;
		wp->captls = cap;
	}
	return wp->tls;
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
	free(wp->pin);
	free(wp->ent);
	free(wp->ent_rec);
	pipe_batch_fini(&wp->b);
	jsonl_parser_free(wp->parser);
	spot_buf_fini(&wp->dec);
	free(wp->tls);
	vjl_hide_free(wp->hide);
	free(wp);
}

bool vjl_plan_blank(const struct vjl_plan *wp, size_t col)
{
	bool b = wp->xoff[col] < wp->xoff[col + 1] && !wp->lua[col];

	for (size_t i = wp->xoff[col]; b && i < wp->xoff[col + 1]; i++)
		b = wp->plan->xf[wp->xs[i]].hides;
	return b;
}

/* Which containers wp serves as null whole: those of hidden fields. */
static int vjl_plan_hide(struct vjl *v, struct vjl_plan *wp)
{
	size_t nc = v->ncols;
	bool *blank = calloc(nc ? nc : 1, sizeof(*blank));
	int rc;

	if (!blank)
		return -ENOMEM;
	for (size_t c = 0; c < nc; c++)
		blank[c] = vjl_plan_blank(wp, c);
	rc = vjl_hide_new(v->paths, blank, nc, &wp->hide);
	free(blank);
	return rc;
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
	wp->pin = calloc(nc ? nc : 1, sizeof(*wp->pin));
	for (size_t i = 0; i < plan->nxf; i++)
		wp->ents |= plan->xf[i].needs_row;
	if (wp->ents) {
		wp->ent = calloc(nc ? nc : 1, sizeof(*wp->ent));
		wp->ent_rec = calloc(nc ? nc : 1, sizeof(*wp->ent_rec));
	}
	if (!wp->xoff || !wp->xs || !wp->occ_rec || !wp->occ || !wp->lua ||
	    !wp->qabove || !wp->pin ||
	    (wp->ents && (!wp->ent || !wp->ent_rec)) ||
	    jsonl_parser_new(v->paths, false, &wp->parser))
		goto fail;
	/* By column, in plan order: a counting sort (65,536 columns). */
	for (size_t i = 0; i < plan->nxf; i++)
		if (plan->xf[i].col < nc)
			wp->xoff[plan->xf[i].col + 1]++;
	for (size_t c = 0; c < nc; c++) {
		wp->xoff[c + 1] += wp->xoff[c];
		wp->b.in[c].type = PIPE_NULL;
	}
	for (size_t i = 0; i < plan->nxf; i++) {
		size_t c = plan->xf[i].col;

		if (c >= nc)
			continue;
		wp->xs[wp->xoff[c]++] = i; /* xoff[c]: c's end, after */
		wp->lua[c] |= plan->xf[i].needs_row;
	}
	for (size_t c = nc; c > 0; c--)
		wp->xoff[c] = wp->xoff[c - 1];
	wp->xoff[0] = 0;
	k = wp->xoff[nc];
	rc = vjl_plan_hide(v, wp);
	if (rc)
		goto fail;
	for (size_t q = 0; q < plan->npinned; q++) {
		const struct pipe_col *qc = &v->cols[plan->pinned[q]];

		wp->pin[plan->pinned[q]] = plan->post_fn != NULL;

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

/* What a path holds, as pipe_col.flags (PIPE_F_EMPTY, PIPE_F_VALUES). */
static uint8_t vjl_col_flags(unsigned kinds)
{
	const unsigned none = JSONL_K(JSONL_NULL) | JSONL_K(JSONL_EMPTY) |
			      JSONL_K_EMPTY_OBJ | JSONL_K_EMPTY_ARR;

	return (uint8_t)((kinds & JSONL_K(JSONL_EMPTY) ? PIPE_F_EMPTY : 0) |
			 (kinds & ~none ? PIPE_F_VALUES : 0));
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
		cn[k].col.flags = vjl_col_flags(jsonl_paths_kinds(v->paths, i));
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
		free(v.parts[i].map); /* a tape left by a failure */
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_shred.c - the cells of a row into the Parquet writer's leaf columns
 * (pq_write_i.h): a flat cell as its text or number, a list cell
 * (PIPE_F_LIST) as a LIST of STRING, and the JSON text of a nested value
 * shredded into the leaves of its shape with their definition and
 * repetition levels (Dremel, as parquet-format's LogicalTypes.md lays
 * out LIST: a null list, an empty list, a null element and a value are
 * four definition levels apart; every element after a list's first
 * repeats at the list's level).
 *
 * The JSON text comes from a masked record the codec wrote and parsed
 * already, but it is checked again here, bounds first: a value that is
 * not JSON, or not of its node's shape, is -EDOM (the write fails
 * closed). Nesting is bounded by the shape (PQ_SHAPE_MAX_DEPTH) for the
 * shredding recursion and by PQ_SH_MAX_SKIP for the values skipped (a
 * STRING leaf holding an object, a key the shape lacks).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "pq_write_i.h"

/* A page ends after this many values or PLAIN bytes (at a row's end). */
#define PQ_SH_PAGE_VALUES 20000
#define PQ_SH_PAGE_BYTES (1u << 20)
#define PQ_SH_NUM_MAX 64  /* bytes of a number's text */
#define PQ_SH_MAX_SKIP 96 /* containers a skipped value may nest */

/* A JSON text being read. */
struct pq_js {
	const uint8_t *p;
	size_t n, i;
};

static void pq_js_ws(struct pq_js *s)
{
	while (s->i < s->n && (s->p[s->i] == ' ' || s->p[s->i] == '\t' ||
			       s->p[s->i] == '\n' || s->p[s->i] == '\r'))
		s->i++;
}

/* Past the string token at s->i (its quote); *esc: it holds a '\'. */
static int pq_js_str(struct pq_js *s, bool *esc)
{
	size_t i = s->i + 1;

	*esc = false;
	while (i < s->n) {
		const uint8_t *q = memchr(s->p + i, '"', s->n - i);
		size_t j, k;

		if (!q)
			return -EDOM;
		j = (size_t)(q - s->p);
		for (k = j; k > s->i + 1 && s->p[k - 1] == '\\'; k--)
			;
		if ((j - k) % 2 == 0) { /* not escaped itself */
			*esc = memchr(s->p + s->i + 1, '\\', j - s->i - 1) !=
			       NULL;
			s->i = j + 1;
			return 0;
		}
		i = j + 1;
	}
	return -EDOM;
}

/* Bytes that end a number or a literal. */
static bool pq_js_delim(uint8_t c)
{
	switch (c) {
	case ',':
	case ']':
	case '}':
	case ' ':
	case '\t':
	case '\n':
	case '\r':
	case '"':
	case '{':
	case '[':
	case ':':
		return true;
	default:
		return false;
	}
}

/* Past a number or a literal: bytes up to a delimiter. */
static int pq_js_atom(struct pq_js *s)
{
	size_t i = s->i;

	while (i < s->n && !pq_js_delim(s->p[i]))
		i++;
	if (i == s->i)
		return -EDOM;
	s->i = i;
	return 0;
}

/* Past the value at s->i (white space before it skipped). */
static int pq_js_skip(struct pq_js *s, unsigned depth)
{
	uint8_t close;
	bool esc;
	int rc;

	pq_js_ws(s);
	if (s->i >= s->n)
		return -EDOM;
	if (s->p[s->i] == '"')
		return pq_js_str(s, &esc);
	if (s->p[s->i] != '{' && s->p[s->i] != '[')
		return pq_js_atom(s);
	if (depth >= PQ_SH_MAX_SKIP)
		return -EDOM;
	close = s->p[s->i] == '{' ? '}' : ']';
	s->i++;
	pq_js_ws(s);
	if (s->i < s->n && s->p[s->i] == close) {
		s->i++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			pq_js_ws(s);
			if (s->i >= s->n || s->p[s->i] != '"' ||
			    pq_js_str(s, &esc))
				return -EDOM;
			pq_js_ws(s);
			if (s->i >= s->n || s->p[s->i] != ':')
				return -EDOM;
			s->i++;
		}
		rc = pq_js_skip(s, depth + 1);
		if (rc)
			return rc;
		pq_js_ws(s);
		if (s->i >= s->n)
			return -EDOM;
		if (s->p[s->i++] == close)
			return 0;
		if (s->p[s->i - 1] != ',')
			return -EDOM;
	}
}

int pq_json_skip(const uint8_t *p, size_t n, size_t *i)
{
	struct pq_js s = { p, n, *i };
	int rc = *i <= n ? pq_js_skip(&s, 0) : -EDOM;

	if (!rc)
		*i = s.i;
	return rc;
}

/* Whether the token at s->i is the literal lit (then past it). */
static bool pq_js_lit(struct pq_js *s, const char *lit)
{
	size_t n = strlen(lit), i = s->i + n;

	if (s->n - s->i < n || memcmp(s->p + s->i, lit, n))
		return false;
	if (i < s->n && !pq_js_delim(s->p[i]))
		return false;
	s->i = i;
	return true;
}

/* Whether (p, len) holds only the bytes of a JSON number. */
static bool pq_sh_num_bytes(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || p[i] == '-' ||
		      p[i] == '+' || p[i] == '.' || p[i] == 'e' || p[i] == 'E'))
			return false;
	return true;
}

/*
 * A number's text as the INT64 or DOUBLE of w, little-endian. -EDOM when
 * it is not one (an integer column: a decimal integer that fits). A
 * DOUBLE is the nearest double under IEEE rounding, as strtod gives it:
 * past the range a signed zero, a subnormal or a signed infinity (as
 * json.loads and JSON.parse read the text), so a kept number never fails
 * its column; a text of any length is read.
 */
static int pq_sh_num(struct pq_chunk_wr *w, const uint8_t *p, size_t len)
{
	char buf[PQ_SH_NUM_MAX + 1], *t = buf, *end;
	uint8_t le[8];
	uint64_t u;
	int rc = 0;

	if (!len || p[0] == '+' || !pq_sh_num_bytes(p, len) ||
	    (w->ptype == PQ_INT64 && len > PQ_SH_NUM_MAX))
		return -EDOM;
	if (len > PQ_SH_NUM_MAX && !(t = malloc(len + 1)))
		return -ENOMEM;
	memcpy(t, p, len);
	t[len] = 0;
	errno = 0;
	if (w->ptype == PQ_INT64) {
		long long i = strtoll(t, &end, 10);

		u = (uint64_t)i;
		if (errno)
			rc = -EDOM;
	} else {
		double d = strtod(t, &end); /* ERANGE: rounded as above */

		memcpy(&u, &d, sizeof(u));
		if (isnan(d))
			rc = -EDOM;
	}
	if (end != t + len)
		rc = -EDOM;
	if (t != buf)
		free(t);
	if (rc)
		return rc;
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(u >> (8 * i));
	return pq_chunk_wr_put(w, le, 8);
}

static int pq_sh_put(struct pq_wleaf *l, const uint8_t *p, size_t len)
{
	uint8_t b;

	switch (l->kind) {
	case PQ_SH_INT64:
	case PQ_SH_DOUBLE:
		return pq_sh_num(&l->w, p, len);
	case PQ_SH_BOOLEAN:
		if (len == 4 && !memcmp(p, "true", 4))
			b = 1;
		else if (len == 5 && !memcmp(p, "false", 5))
			b = 0;
		else
			return -EDOM;
		return pq_chunk_wr_put(&l->w, &b, 1);
	default:
		if (len > UINT32_MAX / 2)
			return -EFBIG;
		return pq_chunk_wr_put(&l->w, p, (uint32_t)len);
	}
}

/* Every leaf of node n: a null defined up to def, at repetition rep. */
static int pq_sh_null(struct pq_writer *x, const struct pq_wnode *n,
		      uint32_t def, uint32_t rep)
{
	for (uint32_t l = n->leaf0; l < n->leaf0 + n->nleaf; l++) {
		pq_chunk_wr_rep(&x->leaves[l].w, rep);
		if (pq_chunk_wr_null(&x->leaves[l].w, def))
			return -ENOMEM;
	}
	return 0;
}

static int pq_sh_value(struct pq_writer *x, uint32_t ni, struct pq_js *s,
		       uint32_t rep);

/* The leaf value at s->i (not null) into leaf node n. */
static int pq_sh_leaf(struct pq_writer *x, const struct pq_wnode *n,
		      struct pq_js *s, uint32_t rep)
{
	struct pq_wleaf *l = &x->leaves[n->leaf0];
	size_t at = s->i;
	bool esc;
	int rc;

	pq_chunk_wr_rep(&l->w, rep);
	if (s->p[at] == '"') {
		if (l->kind != PQ_SH_STRING || pq_js_str(s, &esc))
			return -EDOM;
		if (!esc)
			return pq_sh_put(l, s->p + at + 1, s->i - at - 2);
		spot_buf_reset(&x->dec);
		rc = jsonl_str_decode(s->p + at, s->i - at, &x->dec);
		if (rc)
			return rc == -ENOMEM ? rc : -EDOM;
		return pq_sh_put(l, x->dec.p, x->dec.len);
	}
	if ((s->p[at] == '{' || s->p[at] == '[') && l->kind != PQ_SH_STRING)
		return -EDOM;
	rc = pq_js_skip(s, 0);
	return rc ? rc : pq_sh_put(l, s->p + at, s->i - at);
}

/* Index of the field of struct n named (k, len), or -1. */
static int64_t pq_sh_field(const struct pq_writer *x, const struct pq_wnode *n,
			   const uint8_t *k, size_t len)
{
	size_t lo = 0, hi = n->nkids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pq_wnode *f = &x->nodes[n->kids[mid]];
		size_t m = f->name_len < len ? f->name_len : len;
		int c = m ? memcmp(f->name, k, m) : 0;

		if (!c)
			c = (f->name_len > len) - (f->name_len < len);
		if (!c)
			return (int64_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The object at s->i ('{') into struct node ni. */
static int pq_sh_struct(struct pq_writer *x, uint32_t ni, struct pq_js *s,
			uint32_t rep)
{
	size_t base = x->nspans, nk = x->nodes[ni].nkids, end;
	int rc = 0;

	if (x->nspans + nk > x->capspans) {
		size_t cap = x->capspans ? x->capspans : 256;
		struct pq_wspan *ns;

		while (cap < x->nspans + nk)
			cap *= 2;
		ns = realloc(x->spans, cap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		x->spans = ns;
		x->capspans = cap;
	}
	for (size_t i = 0; i < nk; i++)
		x->spans[base + i].off = SIZE_MAX;
	x->nspans += nk;
	s->i++;
	pq_js_ws(s);
	if (s->i < s->n && s->p[s->i] == '}')
		s->i++;
	else
		for (;;) {
			size_t ks;
			int64_t f;
			bool esc;

			pq_js_ws(s);
			ks = s->i;
			if (s->i >= s->n || s->p[s->i] != '"' ||
			    pq_js_str(s, &esc))
				goto bad;
			if (esc) {
				spot_buf_reset(&x->dec);
				if (jsonl_str_decode(s->p + ks, s->i - ks,
						     &x->dec))
					goto bad;
				f = pq_sh_field(x, &x->nodes[ni], x->dec.p,
						x->dec.len);
			} else {
				f = pq_sh_field(x, &x->nodes[ni], s->p + ks + 1,
						s->i - ks - 2);
			}
			pq_js_ws(s);
			if (s->i >= s->n || s->p[s->i] != ':')
				goto bad;
			s->i++;
			pq_js_ws(s);
			if (f >= 0) {
				if (x->spans[base + (size_t)f].off != SIZE_MAX)
					goto bad; /* a key twice */
				x->spans[base + (size_t)f].off = s->i;
			}
			if (pq_js_skip(s, 0))
				goto bad;
			pq_js_ws(s);
			if (s->i >= s->n)
				goto bad;
			if (s->p[s->i++] == '}')
				break;
			if (s->p[s->i - 1] != ',')
				goto bad;
		}
	end = s->i;
	for (size_t i = 0; !rc && i < nk; i++) {
		const struct pq_wnode *n = &x->nodes[ni];
		size_t off = x->spans[base + i].off;

		if (off == SIZE_MAX) {
			rc = pq_sh_null(x, &x->nodes[n->kids[i]], n->def, rep);
			continue;
		}
		s->i = off;
		rc = pq_sh_value(x, n->kids[i], s, rep);
	}
	s->i = end;
	x->nspans = base;
	return rc;
bad:
	x->nspans = base;
	return -EDOM;
}

/* The array at s->i ('[') into list node ni. */
static int pq_sh_list(struct pq_writer *x, uint32_t ni, struct pq_js *s,
		      uint32_t rep)
{
	const struct pq_wnode *n = &x->nodes[ni];
	uint32_t e = n->kids[0], r = rep, lrep = n->rep;
	int rc;

	s->i++;
	pq_js_ws(s);
	if (s->i < s->n && s->p[s->i] == ']') {
		s->i++;
		return pq_sh_null(x, n, n->def, rep); /* an empty list */
	}
	for (;;) {
		rc = pq_sh_value(x, e, s, r);
		if (rc)
			return rc;
		r = lrep;
		pq_js_ws(s);
		if (s->i >= s->n)
			return -EDOM;
		if (s->p[s->i++] == ']')
			return 0;
		if (s->p[s->i - 1] != ',')
			return -EDOM;
	}
}

/* The value at s->i into node ni, its leaves first repeated at rep. */
static int pq_sh_value(struct pq_writer *x, uint32_t ni, struct pq_js *s,
		       uint32_t rep)
{
	const struct pq_wnode *n = &x->nodes[ni];

	pq_js_ws(s);
	if (s->i >= s->n)
		return -EDOM;
	if (s->p[s->i] == 'n') {
		if (!pq_js_lit(s, "null"))
			return -EDOM;
		return pq_sh_null(x, n, n->def - 1, rep);
	}
	if (n->kind == PQ_SH_STRUCT)
		return s->p[s->i] == '{' ? pq_sh_struct(x, ni, s, rep) : -EDOM;
	if (n->kind == PQ_SH_LIST)
		return s->p[s->i] == '[' ? pq_sh_list(x, ni, s, rep) : -EDOM;
	return pq_sh_leaf(x, n, s, rep);
}

/* A list cell (PIPE_F_LIST in pipe.h) into list node n. -EDOM when
 * malformed. */
static int pq_sh_blob(struct pq_writer *x, const struct pq_wnode *n,
		      const struct pipe_cell *v)
{
	struct pq_chunk_wr *w = &x->leaves[n->leaf0].w;
	const uint8_t *p = v->p;
	size_t i = 0, len = v->len;
	uint32_t el;
	int rc = 0;

	if (v->type != PIPE_BLOB)
		return -EDOM;
	if (!len)
		return pq_chunk_wr_null(w, n->def); /* an empty list */
	while (!rc && i < len) {
		pq_chunk_wr_rep(w, i ? n->rep : 0);
		if (p[i] == PIPE_LIST_NULL) {
			rc = pq_chunk_wr_null(w, n->def + 1);
			i++;
			continue;
		}
		if (p[i] != PIPE_LIST_TEXT || len - i < 5)
			return -EDOM;
		el = (uint32_t)p[i + 1] | (uint32_t)p[i + 2] << 8 |
		     (uint32_t)p[i + 3] << 16 | (uint32_t)p[i + 4] << 24;
		i += 5;
		if (el > len - i || el > UINT32_MAX / 2)
			return -EDOM;
		rc = pq_chunk_wr_put(w, p + i, el);
		i += el;
	}
	return rc;
}

int pq_sh_cell(struct pq_writer *x, size_t c, const struct pipe_cell *v,
	       struct spot_err *err)
{
	const struct pq_wnode *n = &x->nodes[x->top[c]];
	struct pq_js s = { v->p, v->len, 0 };
	int rc;

	if (v->type == PIPE_NULL)
		rc = pq_sh_null(x, n, 0, 0);
	else if (x->mode[c] == PQ_WM_BLOB)
		rc = pq_sh_blob(x, n, v);
	else if (x->mode[c] == PQ_WM_TEXT)
		rc = pq_sh_put(&x->leaves[n->leaf0], v->p, v->len);
	else if (!v->len)
		rc = -EDOM;
	else {
		rc = pq_sh_value(x, x->top[c], &s, 0);
		pq_js_ws(&s);
		if (!rc && s.i != s.n)
			rc = -EDOM; /* bytes after the value */
	}
	for (uint32_t l = n->leaf0; !rc && l < n->leaf0 + n->nleaf; l++) {
		struct pq_chunk_wr *w = &x->leaves[l].w;

		if (w->nlev >= PQ_SH_PAGE_VALUES ||
		    w->plain.len >= PQ_SH_PAGE_BYTES)
			rc = pq_chunk_wr_page(w, PQ_PAGE_DATA, err);
	}
	return rc;
}

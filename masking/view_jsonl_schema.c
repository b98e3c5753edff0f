/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view_jsonl_schema.c - the columns of the CSV and Parquet forms of a
 * JSON Lines dataset, and the Parquet shape of each, from discovery (the
 * trie of field paths every record was parsed into before the build) and
 * the plan (which rules make text).
 *
 * One column per top-level key, sorted by its bytes (memcmp, a prefix
 * first): the layout depends only on the keys the file holds. The
 * Parquet shape of a path (struct pq_shape) is, where every record agrees:
 *   - an object: a STRUCT of the union of the keys seen (a key a record
 *     lacks is null there), sorted like the columns;
 *   - an array: a LIST of its elements' shape;
 *   - numbers: INT64 for integer literals of at most 18 characters no
 *     rule changes, DOUBLE where the rules keep numbers numbers (keep,
 *     noise, round), else STRING; true/false: BOOLEAN unless a rule makes
 *     text; strings (and any value a rule makes text): STRING;
 * and STRING otherwise: a path that is an object in some records and an
 * array or a scalar in others, an object only ever {} or an array only
 * ever [] (no shape to give their contents), a struct of more than
 * VJL_FORM_MAX_FIELDS keys (keys that are data), a path nested deeper
 * than VJL_FORM_MAX_DEPTH groups, and a whole column whose shape would
 * have more than VJL_FORM_MAX_LEAVES leaves. A STRING leaf holds a
 * string's decoded bytes and any other value's JSON text as the JSON
 * Lines form serves it, so nothing is lost where no type fits. null does
 * not count: everything is nullable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parquet.h"
#include "view_jsonl_i.h"

/* A node's own key (decoded bytes). */
struct vjs_key {
	const char *p;
	size_t n;
};

struct vjs {
	const struct jsonl_paths *t;
	const struct vjl_plan *wp;
	struct spot_arena *a;
	uint32_t *koff; /* CSR: the key children of node i */
	uint32_t *kids; /* at kids[koff[i] .. koff[i + 1]), sorted */
	uint32_t *elem; /* its elements' node, 0 for none */
	struct vjs_key *key;
};

/* A key node, sorted by parent then key. */
struct vjs_ent {
	struct vjs_key k;
	uint32_t node, parent;
};

static int vjs_ent_cmp(const void *a, const void *b)
{
	const struct vjs_ent *x = a, *y = b;
	size_t m = x->k.n < y->k.n ? x->k.n : y->k.n;
	int c;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	c = m ? memcmp(x->k.p, y->k.p, m) : 0;
	return c ? c : (x->k.n > y->k.n) - (x->k.n < y->k.n);
}

/* The key of node i (its path less its parent's and the '.') into e. */
static int vjs_key_of(struct vjs *s, uint32_t i, uint32_t p,
		      struct spot_buf *nm, struct spot_buf *pm,
		      struct vjs_ent *e)
{
	size_t skip;
	char *k;
	int rc;

	spot_buf_reset(nm);
	spot_buf_reset(pm);
	rc = jsonl_paths_name(s->t, i, nm);
	if (!rc && p != JSONL_ROOT)
		rc = jsonl_paths_name(s->t, p, pm);
	skip = p != JSONL_ROOT ? pm->len + 1 : 0;
	if (rc || skip > nm->len)
		return rc ? rc : -EINVAL;
	k = spot_arena_alloc(s->a, nm->len - skip + 1);
	if (!k)
		return -ENOMEM;
	memcpy(k, nm->p + skip, nm->len - skip);
	k[nm->len - skip] = 0;
	e->k.p = k;
	e->k.n = nm->len - skip;
	e->node = i;
	e->parent = p;
	s->key[i] = e->k;
	return 0;
}

/* Children lists (sorted by key), element nodes and keys of every node. */
static int vjs_index(struct vjs *s)
{
	const struct jsonl_paths *t = s->t;
	uint32_t n = jsonl_paths_count(t);
	struct vjs_ent *ents = calloc(n ? n : 1, sizeof(*ents));
	struct spot_buf nm, pm;
	size_t ne = 0;
	int rc = 0;

	s->koff = calloc((size_t)n + 1, sizeof(*s->koff));
	s->kids = calloc(n ? n : 1, sizeof(*s->kids));
	s->elem = calloc(n ? n : 1, sizeof(*s->elem));
	s->key = calloc(n ? n : 1, sizeof(*s->key));
	if (!ents || !s->koff || !s->kids || !s->elem || !s->key) {
		free(ents);
		return -ENOMEM;
	}
	spot_buf_init(&nm);
	spot_buf_init(&pm);
	for (uint32_t i = 1; !rc && i < n; i++) {
		uint32_t p = jsonl_paths_parent(t, i);

		if (jsonl_paths_is_elem(t, i)) {
			s->elem[p] = i;
			continue;
		}
		s->koff[p + 1]++;
		rc = vjs_key_of(s, i, p, &nm, &pm, &ents[ne++]);
	}
	spot_buf_fini(&nm);
	spot_buf_fini(&pm);
	for (uint32_t i = 0; i < n; i++)
		s->koff[i + 1] += s->koff[i];
	if (!rc) {
		qsort(ents, ne, sizeof(*ents), vjs_ent_cmp);
		for (size_t i = 0; i < ne; i++)
			s->kids[i] = ents[i].node; /* koff order: by parent */
	}
	free(ents);
	return rc;
}

/* The leaf shape of node n's scalars (k: their kinds, null excluded). */
static uint8_t vjs_leaf(unsigned k, bool none, bool keeps)
{
	unsigned sc = k & (JSONL_K(JSONL_STR) | JSONL_K(JSONL_NUM) |
			   JSONL_K(JSONL_TRUE) | JSONL_K(JSONL_FALSE));

	if (sc == JSONL_K(JSONL_NUM)) {
		if (k & JSONL_K_BIGINT)
			return PQ_SH_STRING; /* never rounded */
		if (none && !(k & JSONL_K_FRAC))
			return PQ_SH_INT64;
		return none || keeps ? PQ_SH_DOUBLE : PQ_SH_STRING;
	}
	if (sc && !(sc & ~(JSONL_K(JSONL_TRUE) | JSONL_K(JSONL_FALSE))))
		return none || keeps ? PQ_SH_BOOLEAN : PQ_SH_STRING;
	return PQ_SH_STRING;
}

/*
 * Whether every field at or under node n is hidden (vjl_plan_blank): the
 * JSON Lines form serves n as null whole (view_jsonl_hide.c), so its
 * shape must not name the keys under it nor type a value it held.
 */
static bool vjs_hidden(const struct vjs *s, uint32_t n)
{
	int32_t tag = jsonl_paths_tag(s->t, n);

	if (tag >= 0 && !vjl_plan_blank(s->wp, (size_t)tag))
		return false;
	for (uint32_t i = s->koff[n]; i < s->koff[n + 1]; i++)
		if (!vjs_hidden(s, s->kids[i]))
			return false;
	return !s->elem[n] || vjs_hidden(s, s->elem[n]);
}

/*
 * The shape of node n at depth (the column is 1) into *out; its leaves
 * added to *leaves. -ENOMEM.
 */
static int vjs_shape(const struct vjs *s, uint32_t n, unsigned depth,
		     struct pq_shape *out, size_t *leaves)
{
	unsigned k = jsonl_paths_kinds(s->t, n) & ~JSONL_K(JSONL_NULL);
	int32_t tag = jsonl_paths_tag(s->t, n);
	uint32_t nk = s->koff[n + 1] - s->koff[n], e = s->elem[n];
	bool none = true, keeps = true, obj, arr, sc;
	struct pq_shape *kids;
	int rc = 0;

	if (tag >= 0 && k)
		keeps = vjl_plan_keeps(s->wp, (size_t)tag, &none);
	if (!none && !keeps && (k & JSONL_K(JSONL_EMPTY))) {
		/* A method that makes text makes {} and [] strings too. */
		k &= ~(JSONL_K(JSONL_EMPTY) | JSONL_K_EMPTY_OBJ |
		       JSONL_K_EMPTY_ARR);
		k |= JSONL_K(JSONL_STR);
	}
	obj = nk || (k & JSONL_K_EMPTY_OBJ);
	arr = e || (k & JSONL_K_EMPTY_ARR);
	sc = k & (JSONL_K(JSONL_STR) | JSONL_K(JSONL_NUM) |
		  JSONL_K(JSONL_TRUE) | JSONL_K(JSONL_FALSE));
	memset(out, 0, sizeof(*out));
	out->kind = PQ_SH_STRING;
	if (vjs_hidden(s, n)) {
		(*leaves)++;
		return 0; /* null in every record: no key, no type */
	}
	if ((int)obj + (int)arr + (int)sc > 1 ||
	    (obj && (!nk || nk > VJL_FORM_MAX_FIELDS)) || (arr && !e) ||
	    ((obj || arr) && depth > VJL_FORM_MAX_DEPTH)) {
		(*leaves)++;
		return 0; /* JSON text */
	}
	if (!obj && !arr) {
		out->kind = vjs_leaf(k, none, keeps);
		(*leaves)++;
		return 0;
	}
	out->nkids = obj ? nk : 1;
	kids = spot_arena_alloc(s->a, out->nkids * sizeof(*kids));
	if (!kids)
		return -ENOMEM;
	out->kind = obj ? PQ_SH_STRUCT : PQ_SH_LIST;
	out->kids = kids;
	if (arr)
		return vjs_shape(s, e, depth + 1, kids, leaves);
	for (uint32_t i = 0; !rc && i < nk; i++) {
		uint32_t c = s->kids[s->koff[n] + i];

		rc = vjs_shape(s, c, depth + 1, &kids[i], leaves);
		kids[i].name = s->key[c].p;
		kids[i].name_len = s->key[c].n;
		if (*leaves > VJL_FORM_MAX_LEAVES)
			break; /* the column becomes text anyway */
	}
	return rc;
}

int vjl_fschema_make(struct vjl_fschema *fs, const struct jsonl_paths *t,
		     const struct vjl_plan *wp, bool typed)
{
	struct vjs s = { t, wp, &fs->a, NULL, NULL, NULL, NULL };
	uint32_t nt;
	int rc = vjs_index(&s);

	nt = rc ? 0 : s.koff[1] - s.koff[0];
	if (!rc) {
		fs->cols = calloc(nt ? nt : 1, sizeof(*fs->cols));
		fs->shapes = calloc(nt ? nt : 1, sizeof(*fs->shapes));
		if (!fs->cols || !fs->shapes)
			rc = -ENOMEM;
	}
	for (uint32_t i = 0; !rc && i < nt; i++) {
		uint32_t n = s.kids[s.koff[0] + i];
		struct pipe_col *c = &fs->cols[i];
		size_t leaves = 0;

		c->name = malloc(s.key[n].n + 1);
		if (!c->name) {
			rc = -ENOMEM;
			break;
		}
		memcpy(c->name, s.key[n].p, s.key[n].n + 1);
		c->name_len = s.key[n].n;
		c->type = PIPE_TEXT;
		fs->ncols++;
		if (typed)
			rc = vjs_shape(&s, n, 1, &fs->shapes[i], &leaves);
		if (!rc && leaves > VJL_FORM_MAX_LEAVES)
			memset(&fs->shapes[i], 0, sizeof(fs->shapes[i]));
		fs->shapes[i].name = s.key[n].p;
		fs->shapes[i].name_len = s.key[n].n;
	}
	free(s.koff);
	free(s.kids);
	free(s.elem);
	free(s.key);
	return rc;
}

void vjl_fschema_fini(struct vjl_fschema *fs)
{
	view_cols_free(fs->cols, fs->ncols);
	free(fs->shapes);
	spot_arena_fini(&fs->a);
	memset(fs, 0, sizeof(*fs));
}

int64_t vjl_fschema_find(const struct vjl_fschema *fs, const uint8_t *k,
			 size_t len)
{
	size_t lo = 0, hi = fs->ncols;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pipe_col *c = &fs->cols[mid];
		size_t m = c->name_len < len ? c->name_len : len;
		int d = m ? memcmp(c->name, k, m) : 0;

		if (!d)
			d = (c->name_len > len) - (c->name_len < len);
		if (!d)
			return (int64_t)mid;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

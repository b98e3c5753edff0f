/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plan_kanon.c - k_anonymity enforced on read: rows whose combination of
 * quasi columns, as served, is shared by fewer than k rows are not served.
 *
 * A view with k_anonymity is built twice from one pinned source (see
 * fs/sandbox_kanon.c). The first build counts: the plan's row filter runs
 * the Lua row() filter, then the transforms of the quasi columns, hashes
 * each kept row's served quasi cells (keyed BLAKE2b, key drawn per build)
 * into a table of classes, notes each row's class by its row number, and
 * drops every row, so nothing is written. The second build filters: the
 * row filter runs again and must keep exactly the rows the count kept; a
 * row whose class holds fewer than k rows is dropped, and once every
 * transform ran, the quasi cells a kept row serves must hash to the key
 * of the class it was let through in. Both builds number rows from the
 * source, so per-row seeds (noise, Lua) agree.
 *
 * The table holds hashes and counts, never cells. It is written by one
 * thread at a time (a lock: the count build runs on one thread anyway)
 * and only read while filtering, by any number of workers.
 */
#include "plan_i.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define KAN_KEY_LEN 16
#define KAN_MAX_CLASSES (1u << 22) /* beyond: the view fails closed */
#define KAN_INIT_SLOTS 1024

struct kan_class {
	uint8_t key[KAN_KEY_LEN];
	uint64_t count;
};

/* The classes of one view ("crm.db/users"). */
struct kan_view {
	char *name;
	struct kan_class *classes; /* in order of first sight: ids 1.. */
	size_t used, capcls;
	uint32_t *slots; /* hash table of class ids, 0: empty */
	size_t cap;
	/*
	 * Per row number, what the count saw: 0 for a row the row filter
	 * dropped, else its class id. The build must see the same for
	 * every row, or a policy that keeps state between rows (a Lua
	 * counter) could move a row out of its class after it was counted,
	 * and leave a class under k served.
	 */
	uint32_t *seen;
	uint64_t nseen, capseen;
	uint64_t min; /* its k */
};

struct plan_kanon {
	pthread_mutex_t lock; /* protects views while counting */
	struct kan_view *views;
	size_t nviews;
	bool filtering;
	uint8_t hkey[crypto_generichash_KEYBYTES];
};

/* The row filter of one plan. */
struct plan_kwrap {
	struct plan_kanon *k;
	struct kan_view *v;
	uint64_t min; /* k */
	pipe_row_fn inner;
	void *inner_arg;
	size_t nquasi;
	size_t *qcol;
	const struct pipe_xform **qxf; /* per quasi: its transform or NULL */
};

int plan_kanon_new(struct plan_kanon **out)
{
	struct plan_kanon *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	pthread_mutex_init(&k->lock, NULL);
	randombytes_buf(k->hkey, sizeof(k->hkey));
	*out = k;
	return 0;
}

void plan_kanon_free(struct plan_kanon *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->nviews; i++) {
		free(k->views[i].name);
		free(k->views[i].classes);
		free(k->views[i].slots);
		free(k->views[i].seen);
	}
	free(k->views);
	sodium_memzero(k->hkey, sizeof(k->hkey));
	pthread_mutex_destroy(&k->lock);
	free(k);
}

void plan_kanon_filter(struct plan_kanon *k)
{
	k->filtering = true;
}

uint64_t plan_kanon_suppressed(const struct plan_kanon *k)
{
	uint64_t n = 0;

	/* From the counts, not from the builds: a view built twice (the
	 * JSON Lines forms' first pass) leaves out the same rows. */
	for (size_t i = 0; i < k->nviews; i++)
		for (size_t c = 0; c < k->views[i].used; c++)
			if (k->views[i].classes[c].count < k->views[i].min)
				n += k->views[i].classes[c].count;
	return n;
}

static struct kan_view *kan_view_get(struct plan_kanon *k, const char *name)
{
	struct kan_view *nv = NULL;

	pthread_mutex_lock(&k->lock);
	for (size_t i = 0; i < k->nviews && !nv; i++)
		if (!strcmp(k->views[i].name, name))
			nv = &k->views[i];
	if (!nv && !k->filtering) {
		nv = realloc(k->views, (k->nviews + 1) * sizeof(*nv));
		if (nv) {
			k->views = nv;
			nv = &k->views[k->nviews];
			memset(nv, 0, sizeof(*nv));
			nv->name = strdup(name);
			if (nv->name)
				k->nviews++;
			else
				nv = NULL;
		}
	}
	pthread_mutex_unlock(&k->lock);
	return nv;
}

static size_t kan_slot(const struct kan_view *v, const uint8_t *key)
{
	uint64_t h = 0;

	for (int i = 0; i < 8; i++)
		h |= (uint64_t)key[i] << (8 * i);
	return (size_t)h & (v->cap - 1);
}

/* The slot of key: its class id, or 0 where it would go. */
static uint32_t *kan_find(const struct kan_view *v, const uint8_t *key)
{
	for (size_t i = kan_slot(v, key);; i = (i + 1) & (v->cap - 1)) {
		uint32_t *id = &v->slots[i];

		if (!*id || !memcmp(v->classes[*id - 1].key, key, KAN_KEY_LEN))
			return id;
	}
}

static int kan_grow(struct kan_view *v)
{
	size_t cap = v->cap ? v->cap * 2 : KAN_INIT_SLOTS;
	uint32_t *s = calloc(cap, sizeof(*s));
	struct kan_class *c;

	if (!s)
		return -ENOMEM;
	c = realloc(v->classes, cap / 2 * sizeof(*c));
	if (!c) {
		free(s);
		return -ENOMEM;
	}
	v->classes = c;
	v->capcls = cap / 2;
	free(v->slots);
	v->slots = s;
	v->cap = cap;
	for (size_t i = 0; i < v->used; i++)
		*kan_find(v, v->classes[i].key) = (uint32_t)i + 1;
	return 0;
}

/* Count key once (the lock held); *id: its class. */
static int kan_count(struct kan_view *v, const uint8_t *key, uint32_t *id,
		     struct spot_err *err)
{
	uint32_t *slot;

	if (v->used + 1 > v->capcls) {
		if (v->used >= KAN_MAX_CLASSES) {
			spot_err_set(err,
				     "k_anonymity: more than %u classes "
				     "of quasi-identifiers",
				     KAN_MAX_CLASSES);
			return -EIO;
		}
		if (kan_grow(v)) {
			spot_err_set(err, "out of memory");
			return -ENOMEM;
		}
	}
	slot = kan_find(v, key);
	if (!*slot) {
		memcpy(v->classes[v->used].key, key, KAN_KEY_LEN);
		v->classes[v->used].count = 0;
		*slot = (uint32_t)++v->used;
	}
	v->classes[*slot - 1].count++;
	*id = *slot;
	return 0;
}

static void kan_key(const struct plan_kwrap *w, const struct pipe_batch *b,
		    size_t row, uint8_t key[KAN_KEY_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, w->k->hkey, sizeof(w->k->hkey),
				KAN_KEY_LEN);
	for (size_t q = 0; q < w->nquasi; q++) {
		const struct pipe_cell *c = pipe_batch_cell(b, row, w->qcol[q]);
		const struct pipe_cell *in =
			&b->in[row * b->ncols + w->qcol[q]];
		uint64_t n = c->type == PIPE_NULL ? 0 : c->len;
		bool lit = (c->flags | in->flags) & PIPE_F_LITERAL;
		uint8_t len[9];

		/* Length-prefixed, typed (NULL apart from "", the integer 7
		 * apart from the text "7", as a typed form such as the
		 * served .db keeps them, JSON's true apart from "true", a
		 * written null apart from a key absent, as JSON Lines serves
		 * them, even when a transform made both the same): no two
		 * combinations hash the same input, and no form splits a class
		 * the count merged. */
		for (int i = 0; i < 8; i++)
			len[i] = (uint8_t)(n >> (8 * i));
		len[8] = (uint8_t)(c->type + 1 + (lit ? 0x80 : 0));
		crypto_generichash_update(&st, len, sizeof(len));
		crypto_generichash_update(&st, c->p, (size_t)n);
	}
	crypto_generichash_final(&st, key, KAN_KEY_LEN);
}

/* What the count saw of row rec (counting, under the lock). */
static int kan_seen_set(struct kan_view *v, uint64_t rec, uint32_t what,
			struct spot_err *err)
{
	if (rec >= v->capseen) {
		uint64_t cap = v->capseen ? v->capseen : 4096;
		uint32_t *n;

		while (cap <= rec)
			cap *= 2;
		n = cap < SIZE_MAX / sizeof(*n)
			    ? realloc(v->seen, cap * sizeof(*n))
			    : NULL;
		if (!n) {
			spot_err_set(err, "out of memory");
			return -ENOMEM;
		}
		memset(n + v->capseen, 0, (cap - v->capseen) * sizeof(*n));
		v->seen = n;
		v->capseen = cap;
	}
	v->seen[rec] = what;
	if (v->nseen <= rec)
		v->nseen = rec + 1;
	return 0;
}

/* The class the count saw row rec in (0: dropped by the row filter);
 * UINT32_MAX for a row it never saw. */
static uint32_t kan_seen(const struct kan_view *v, uint64_t rec)
{
	return rec < v->nseen ? v->seen[rec] : UINT32_MAX;
}

static int kan_differs(uint64_t rec, struct spot_err *err)
{
	spot_err_set(err,
		     "k_anonymity: row %llu: the row filter or a quasi "
		     "column's masked value differs between the count and the "
		     "build (a policy that keeps state between rows?): not "
		     "served",
		     (unsigned long long)rec + 1);
	return -EIO;
}

/* Counting: the quasi cells as served (their transforms, run here) are
 * hashed into the table; nothing is kept. */
static int kan_count_rows(struct plan_kwrap *w, struct pipe_batch *b,
			  struct spot_err *err)
{
	uint8_t key[KAN_KEY_LEN];
	int rc = 0;

	for (size_t q = 0; q < w->nquasi; q++)
		if (w->qxf[q] &&
		    (rc = w->qxf[q]->fn(w->qxf[q]->arg, b, w->qcol[q], err)))
			return rc;
	pthread_mutex_lock(&w->k->lock);
	for (size_t r = 0; !rc && r < b->nrows; r++) {
		uint32_t id = 0;

		if (b->keep[r]) {
			kan_key(w, b, r, key);
			rc = kan_count(w->v, key, &id, err);
		}
		if (!rc)
			rc = kan_seen_set(w->v, b->first_row + r, id, err);
		b->keep[r] = 0; /* counting serves nothing */
	}
	pthread_mutex_unlock(&w->k->lock);
	return rc;
}

static int kan_row_fn(void *arg, struct pipe_batch *b, struct spot_err *err)
{
	struct plan_kwrap *w = arg;
	int rc;

	if (w->inner && (rc = w->inner(w->inner_arg, b, err)))
		return rc;
	if (!w->k->filtering)
		return kan_count_rows(w, b, err);
	/* Filtering: the row filter kept what the count saw kept, and the
	 * class the count put a row in decides. Its quasi cells are checked
	 * against that class once they are served (kan_post_fn). */
	for (size_t r = 0; r < b->nrows; r++) {
		uint32_t id = kan_seen(w->v, b->first_row + r);

		if (id == UINT32_MAX || !b->keep[r] != !id)
			return kan_differs(b->first_row + r, err);
		if (id && w->v->classes[id - 1].count < w->min)
			b->keep[r] = 0; /* fewer than k: not served */
	}
	return 0;
}

/*
 * After every transform (pipe_plan.post_fn): the quasi cells served hash
 * to the key of the class the row was let through in. A transform that
 * keeps state (a Lua counter) could serve another value than the one the
 * count classed the row by, moving it out of its class.
 */
static int kan_post_fn(void *arg, struct pipe_batch *b, struct spot_err *err)
{
	struct plan_kwrap *w = arg;
	uint8_t key[KAN_KEY_LEN];

	if (!w->k->filtering)
		return 0;
	for (size_t r = 0; r < b->nrows; r++) {
		uint32_t id = kan_seen(w->v, b->first_row + r);

		if (!b->keep[r])
			continue;
		kan_key(w, b, r, key);
		if (id == UINT32_MAX || !id ||
		    sodium_memcmp(w->v->classes[id - 1].key, key, KAN_KEY_LEN))
			return kan_differs(b->first_row + r, err);
	}
	return 0;
}

void plan_kwrap_free(struct plan_kwrap *w)
{
	if (!w)
		return;
	free(w->qcol);
	free(w->qxf);
	free(w);
}

/* Whether column c is a field path under the field path (q, n): "q.x" or
 * "q[]...". */
static bool kan_under(const struct pipe_col *c, const char *q, size_t n)
{
	if (c->name_len <= n || memcmp(c->name, q, n))
		return false;
	return c->name[n] == '.' || (c->name[n] == '[' && c->name_len > n + 1 &&
				     c->name[n + 1] == ']');
}

/*
 * Whether column c is the field path (q, n), one under it or one above
 * it, once its "[]" are left out, and holds at least one: a record
 * holding the quasi field (or a field above it, "addr" for "addr.zip")
 * as an array serves the value at "addr[].zip" or "addr[]", paths other
 * than the quasi's.
 */
static bool kan_through_array(const struct pipe_col *c, const char *q, size_t n)
{
	size_t i = 0, j = 0;
	bool arr = false;

	while (i < c->name_len) {
		if (c->name[i] == '[' && i + 1 < c->name_len &&
		    c->name[i + 1] == ']') {
			arr = true;
			i += 2;
			continue;
		}
		if (j == n)
			break;
		if (c->name[i] != q[j])
			return false;
		i++;
		j++;
	}
	if (!arr)
		return false;
	if (j == n) /* the quasi's path, or one under it */
		return i == c->name_len || c->name[i] == '.';
	/* a field above it held as an array of scalars: "addr[]" */
	return i == c->name_len && q[j] == '.';
}

int plan_kanon_quasi_check(const char *view, const char *quasi,
			   const struct pipe_col *cols, size_t ncols,
			   bool field_paths, struct spot_err *err)
{
	size_t n = strlen(quasi);
	int i = pipe_col_find(cols, ncols, quasi, n);

	if (i >= 0 && (cols[i].flags & PIPE_F_REPEATED)) {
		spot_err_set(err,
			     "%s: k_anonymity: quasi column '%s' is inside a "
			     "list or a map: a row holds several values of "
			     "it, so rows cannot be counted by it",
			     view, quasi);
		return -EIO;
	}
	if (!field_paths)
		return 0;
	/* JSON Lines: a field inside an array has several values in one
	 * record, so no class of the record can be told from it. */
	if (strstr(quasi, "[]")) {
		spot_err_set(err,
			     "%s: k_anonymity: quasi column '%s' is inside an "
			     "array: records cannot be counted by it",
			     view, quasi);
		return -EIO;
	}
	/* A record holding it as an object or an array: its cell is NULL,
	 * as for a record without it, while what it serves under it sets
	 * the record apart. Which record and field is not said: the paths
	 * under it are keys of the data. */
	for (size_t c = 0; c < ncols; c++)
		if (kan_under(&cols[c], quasi, n)) {
			spot_err_set(err,
				     "%s: k_anonymity: quasi column '%s' holds "
				     "an object or an array in some record: "
				     "records cannot be counted by it (name a "
				     "field that holds a value)",
				     view, quasi);
			return -EIO;
		}
	/* A field above it held as an array: its value is at another path
	 * ("addr[].zip" for "addr.zip"). */
	for (size_t c = 0; c < ncols; c++)
		if (kan_through_array(&cols[c], quasi, n)) {
			spot_err_set(err,
				     "%s: k_anonymity: a field above quasi "
				     "column '%s' is an array in some record: "
				     "records cannot be counted by it",
				     view, quasi);
			return -EIO;
		}
	return 0;
}

int plan_kwrap_new(struct plan_kanon *k, const struct cfg_kanon *ka,
		   const char *view, const struct pipe_col *cols, size_t ncols,
		   bool field_paths, struct pipe_plan *pipe,
		   struct plan_kwrap **out, struct spot_err *err)
{
	struct plan_kwrap *w = calloc(1, sizeof(*w));

	if (!w || !(w->qcol = calloc(ka->nquasi, sizeof(*w->qcol))) ||
	    !(w->qxf = calloc(ka->nquasi, sizeof(*w->qxf))))
		goto nomem;
	w->k = k;
	w->min = ka->k;
	w->nquasi = ka->nquasi;
	for (size_t q = 0; q < ka->nquasi; q++) {
		int i = pipe_col_find(cols, ncols, ka->quasi[q],
				      strlen(ka->quasi[q]));

		if (plan_kanon_quasi_check(view, ka->quasi[q], cols, ncols,
					   field_paths, err)) {
			plan_kwrap_free(w);
			return -EIO;
		}
		if (i < 0) {
			const char *near =
				plan_suggest(ka->quasi[q], cols, ncols);

			spot_err_set(err,
				     "%s: k_anonymity: no column '%s'%s%s%s",
				     view, ka->quasi[q],
				     near ? " (did you mean '" : "",
				     near ? near : "", near ? "'?)" : "");
			plan_kwrap_free(w);
			return -EIO;
		}
		w->qcol[q] = (size_t)i;
		/* A name two columns share: which one is the quasi? */
		for (size_t j = (size_t)i + 1; j < ncols; j++)
			if (cols[j].name_len == cols[i].name_len &&
			    !memcmp(cols[j].name, cols[i].name,
				    cols[i].name_len)) {
				spot_err_set(err,
					     "%s: k_anonymity: two columns "
					     "are named '%s'",
					     view, ka->quasi[q]);
				plan_kwrap_free(w);
				return -EIO;
			}
	}
	w->v = kan_view_get(k, view);
	if (w->v && !k->filtering) {
		/* A count build bound again (a retry): count from zero. */
		pthread_mutex_lock(&k->lock);
		free(w->v->slots);
		w->v->slots = NULL;
		free(w->v->classes);
		w->v->classes = NULL;
		w->v->cap = w->v->used = w->v->capcls = 0;
		w->v->min = w->min;
		free(w->v->seen);
		w->v->seen = NULL;
		w->v->nseen = w->v->capseen = 0;
		pthread_mutex_unlock(&k->lock);
	}
	if (!w->v) {
		/* Filtering a view the count never bound: fail closed. */
		spot_err_set(err, "%s: k_anonymity: the view was not counted",
			     view);
		plan_kwrap_free(w);
		return -EIO;
	}
	w->inner = pipe->row_fn;
	w->inner_arg = pipe->row_arg;
	pipe->row_fn = kan_row_fn;
	pipe->row_arg = w;
	pipe->post_fn = kan_post_fn;
	pipe->post_arg = w;
	/* The filter decided on these cells as served: no later stage (a
	 * generated column recomputed from masked values) may change them. */
	pipe->pinned = w->qcol;
	pipe->npinned = w->nquasi;
	*out = w;
	return 0;
nomem:
	plan_kwrap_free(w);
	spot_err_set(err, "out of memory");
	return -ENOMEM;
}

void plan_kwrap_quasi_xf(struct plan_kwrap *w, const struct pipe_xform *xf)
{
	for (size_t q = 0; q < w->nquasi; q++)
		if (w->qcol[q] == xf->col)
			w->qxf[q] = xf;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jsonl_paths.c - the trie of JSON Lines field paths (see jsonl.h): one
 * node per (parent, key) or (parent, array element), found through an
 * open-addressing hash table, bounded by JSONL_MAX_PATHS nodes and
 * JL_SEG_MAX bytes of keys.
 */
#include "jsonl_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define JL_SEG_MAX ((size_t)64 << 20) /* bytes of all keys in one trie */
#define JL_NONE UINT32_MAX

struct jl_node {
	uint32_t parent;
	bool is_arr; /* the segment is "[]" */
	bool leaf;
	uint16_t kinds; /* of its leaf values: see jsonl_paths_kinds */
	int32_t tag;
	uint64_t hash;
	size_t seg_off, seg_len; /* in jsonl_paths.segs */
};

struct jsonl_paths {
	struct jl_node *nodes;
	uint32_t n, cap;
	struct spot_buf segs;
	uint32_t *tab; /* node ids, 0 = empty (the root is nobody's child) */
	size_t tabcap; /* a power of two */
};

/*
 * The hash of a child: 8 bytes at a time, multiply and rotate, then a
 * final mix. Not keyed: a crafted file can make keys collide, which costs
 * probes, not correctness, and JSONL_MAX_PATHS bounds the table.
 */
static uint64_t jl_hash(uint32_t parent, bool is_arr, const uint8_t *p,
			size_t len)
{
	const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t h = ((uint64_t)parent << 1 | is_arr) * k ^ len;
	uint64_t w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * k;
		h = (h << 29) | (h >> 35);
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);
		h = (h ^ w) * k;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

int jsonl_paths_new(struct jsonl_paths **out)
{
	struct jsonl_paths *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	spot_buf_init(&t->segs);
	t->cap = 64;
	t->tabcap = 128;
	t->nodes = calloc(t->cap, sizeof(*t->nodes));
	t->tab = calloc(t->tabcap, sizeof(*t->tab));
	if (!t->nodes || !t->tab) {
		jsonl_paths_free(t);
		return -ENOMEM;
	}
	t->nodes[0].parent = JL_NONE;
	t->nodes[0].tag = -1;
	t->n = 1;
	*out = t;
	return 0;
}

void jsonl_paths_free(struct jsonl_paths *t)
{
	if (!t)
		return;
	free(t->nodes);
	free(t->tab);
	spot_buf_fini(&t->segs);
	free(t);
}

uint32_t jsonl_paths_count(const struct jsonl_paths *t)
{
	return t->n;
}

bool jsonl_paths_is_leaf(const struct jsonl_paths *t, uint32_t n)
{
	return n < t->n && t->nodes[n].leaf;
}

void jsonl_paths_set_tag(struct jsonl_paths *t, uint32_t n, int32_t tag)
{
	if (n < t->n)
		t->nodes[n].tag = tag;
}

int32_t jsonl_paths_tag(const struct jsonl_paths *t, uint32_t n)
{
	return n < t->n ? t->nodes[n].tag : -1;
}

uint32_t jsonl_paths_parent(const struct jsonl_paths *t, uint32_t n)
{
	return n && n < t->n ? t->nodes[n].parent : JSONL_ROOT;
}

bool jsonl_paths_is_elem(const struct jsonl_paths *t, uint32_t n)
{
	return n && n < t->n && t->nodes[n].is_arr;
}

static uint32_t jl_find(const struct jsonl_paths *t, uint64_t h,
			uint32_t parent, bool is_arr, const uint8_t *p,
			size_t len, size_t *slot)
{
	size_t mask = t->tabcap - 1;

	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		uint32_t id = t->tab[i];
		const struct jl_node *nd = &t->nodes[id];

		if (!id) {
			*slot = i;
			return JL_NONE;
		}
		if (nd->hash == h && nd->parent == parent &&
		    nd->is_arr == is_arr && nd->seg_len == len &&
		    (!len || !memcmp(t->segs.p + nd->seg_off, p, len)))
			return id;
	}
}

static int jl_grow(struct jsonl_paths *t)
{
	if (t->n == t->cap) {
		struct jl_node *nn =
			realloc(t->nodes, (size_t)t->cap * 2 * sizeof(*nn));

		if (!nn)
			return -ENOMEM;
		t->nodes = nn;
		t->cap *= 2;
	}
	if ((size_t)t->n * 2 >= t->tabcap) {
		size_t cap = t->tabcap * 2, mask = cap - 1;
		uint32_t *tab = calloc(cap, sizeof(*tab));

		if (!tab)
			return -ENOMEM;
		for (uint32_t id = 1; id < t->n; id++) {
			size_t i = (size_t)t->nodes[id].hash & mask;

			while (tab[i])
				i = (i + 1) & mask;
			tab[i] = id;
		}
		free(t->tab);
		t->tab = tab;
		t->tabcap = cap;
	}
	return 0;
}

/* The child (is_arr, or key p) of parent; added when add. */
enum jsonl_err jsonl_paths_child(struct jsonl_paths *t, bool add,
				 uint32_t parent, bool is_arr, const uint8_t *p,
				 size_t len, uint32_t *out)
{
	uint64_t h = jl_hash(parent, is_arr, p, len);
	size_t slot = 0;
	uint32_t id = jl_find(t, h, parent, is_arr, p, len, &slot);
	struct jl_node *nd;

	if (id != JL_NONE) {
		*out = id;
		return JSONL_OK;
	}
	if (!add)
		return JSONL_E_STALE;
	/* n counts the root: JSONL_MAX_PATHS paths besides it. */
	if (t->n > JSONL_MAX_PATHS || len > JL_SEG_MAX - t->segs.len)
		return JSONL_E_PATHS;
	if (jl_grow(t) || spot_buf_reserve(&t->segs, len + 1))
		return JSONL_E_NOMEM;
	(void)jl_find(t, h, parent, is_arr, p, len, &slot); /* after a rehash */
	id = t->n++;
	nd = &t->nodes[id];
	nd->parent = parent;
	nd->is_arr = is_arr;
	nd->leaf = false;
	nd->kinds = 0; /* past the first 64, realloc'd memory */
	nd->tag = -1;
	nd->hash = h;
	nd->seg_off = t->segs.len;
	nd->seg_len = len;
	if (len)
		memcpy(t->segs.p + t->segs.len, p, len);
	t->segs.len += len;
	t->tab[slot] = id;
	*out = id;
	return JSONL_OK;
}

int jsonl_paths_name(const struct jsonl_paths *t, uint32_t n,
		     struct spot_buf *out)
{
	uint32_t chain[JSONL_MAX_DEPTH * 2 + 2];
	size_t k = 0;
	int rc = 0;

	while (n != JSONL_ROOT && n < t->n && k < SPOT_ARRAY_SIZE(chain)) {
		chain[k++] = n;
		n = t->nodes[n].parent;
	}
	while (k-- && !rc) {
		const struct jl_node *nd = &t->nodes[chain[k]];

		if (nd->is_arr)
			rc = spot_buf_append(out, "[]", 2);
		else if (nd->parent != JSONL_ROOT && spot_buf_putc(out, '.'))
			rc = -ENOMEM;
		else
			rc = spot_buf_append(out, t->segs.p + nd->seg_off,
					     nd->seg_len);
	}
	return rc;
}

int jsonl_paths_merge(struct jsonl_paths *dst, const struct jsonl_paths *src)
{
	uint32_t *map = calloc(src->n, sizeof(*map));
	int rc;

	if (!map)
		return -ENOMEM;
	rc = jsonl_paths_merge_map(dst, src, map);
	free(map);
	return rc;
}

/*
 * map[i]: the node of dst at the path of src's node i, for every i;
 * added (with src's leaf marks and kinds) when add, else JSONL_E_STALE
 * for a path dst lacks (dst is then only read).
 */
static enum jsonl_err jl_map(struct jsonl_paths *dst, bool add,
			     const struct jsonl_paths *src, uint32_t *map)
{
	enum jsonl_err e = JSONL_OK;

	map[0] = JSONL_ROOT;
	/* Parents come before their children in node order. */
	for (uint32_t i = 1; i < src->n && !e; i++) {
		const struct jl_node *nd = &src->nodes[i];

		e = jsonl_paths_child(dst, add, map[nd->parent], nd->is_arr,
				      src->segs.p + nd->seg_off, nd->seg_len,
				      &map[i]);
		if (!e && add) {
			dst->nodes[map[i]].leaf |= nd->leaf;
			dst->nodes[map[i]].kinds |= nd->kinds;
		}
	}
	return e;
}

int jsonl_paths_merge_map(struct jsonl_paths *dst,
			  const struct jsonl_paths *src, uint32_t *map)
{
	enum jsonl_err e = jl_map(dst, true, src, map);

	return e == JSONL_OK ? 0 : e == JSONL_E_NOMEM ? -ENOMEM : -E2BIG;
}

bool jsonl_paths_key_is(const struct jsonl_paths *t, uint32_t n,
			uint32_t parent, const uint8_t *p, size_t len)
{
	const struct jl_node *nd;

	if (!n || n >= t->n)
		return false;
	nd = &t->nodes[n];
	return nd->parent == parent && !nd->is_arr && nd->seg_len == len &&
	       (!len || !memcmp(t->segs.p + nd->seg_off, p, len));
}

void jsonl_paths_mark_leaf(struct jsonl_paths *t, uint32_t n, unsigned kinds)
{
	if (n < t->n) {
		t->nodes[n].leaf = true;
		t->nodes[n].kinds |= (uint16_t)kinds;
	}
}

unsigned jsonl_paths_kinds(const struct jsonl_paths *t, uint32_t n)
{
	return n < t->n ? t->nodes[n].kinds : 0;
}

unsigned jsonl_paths_keys_match(const struct jsonl_paths *t,
				unsigned (*fn)(const uint8_t *p, size_t len))
{
	unsigned r = 0;

	for (uint32_t i = 1; i < t->n && !r; i++) {
		const struct jl_node *nd = &t->nodes[i];

		if (!nd->is_arr)
			r = fn(t->segs.p + nd->seg_off, nd->seg_len);
	}
	return r;
}

int jsonl_paths_tags_from(struct jsonl_paths *t, const struct jsonl_paths *from)
{
	uint32_t *map = calloc(t->n, sizeof(*map));
	enum jsonl_err e;

	if (!map)
		return -ENOMEM;
	/* Without add, from is only read. */
	e = jl_map((struct jsonl_paths *)from, false, t, map);
	for (uint32_t i = 1; !e && i < t->n; i++)
		jsonl_paths_set_tag(t, i, jsonl_paths_tag(from, map[i]));
	free(map);
	return e == JSONL_OK ? 0 : e == JSONL_E_NOMEM ? -ENOMEM : -ENOENT;
}

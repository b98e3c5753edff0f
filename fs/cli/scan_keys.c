/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * scan_keys.c - JSON Lines keys that are data (`spotfs scan`): an object
 * keyed by people's names, dates, numbers or addresses gives one field
 * path per key ("votes.Jasmine Payne"), and a rule per path would write
 * the keys into the config. Such keys are summarised by one rule on
 * their parent ("votes.*": any one key, and everything under it), the
 * values of all of them counted together; the keys themselves are never
 * written anywhere.
 *
 * A key is data when the detectors read it as a value (what the PII
 * detectors find, an IP address, URL, date, postcode or number: the cells
 * a CSV header may not hold), or, below the top level, when it is not
 * shaped like a name (a space, ':' or '/'...: "Jasmine Payne"), or when
 * its parent has more than SCAN_KEYS_MANY distinct keys (a map, not a
 * schema). Keys holding '.' are read as split there, as rules read them.
 */
#include "scan_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"

#define SCAN_KEYS_MANY 32

/* The value bits that make a key data. */
#define SCAN_KEY_VALUE                                                         \
	(DET_V_PII | DET_V_IPV4 | DET_V_IPV6 | DET_V_URL | DET_V_DATE |        \
	 DET_V_POSTCODE | DET_V_NUMBER)

/* One segment of a field path: a key, or "[]". */
struct scan_seg {
	size_t off, len; /* the key's bytes in the path; the end for "[]" */
	bool arr;
};

/*
 * The next segment of path (p, n) from *at: keys are separated by '.',
 * "[]" is an element. false at the end.
 */
static bool scan_seg_next(const char *p, size_t n, size_t *at,
			  struct scan_seg *s)
{
	size_t i = *at;

	if (i >= n)
		return false;
	if (i + 1 < n && p[i] == '[' && p[i + 1] == ']') {
		s->off = i;
		s->len = 2;
		s->arr = true;
		*at = i + 2;
		if (*at < n && p[*at] == '.')
			(*at)++;
		return true;
	}
	s->off = i;
	s->arr = false;
	while (i < n && p[i] != '.' &&
	       !(p[i] == '[' && i + 1 < n && p[i + 1] == ']'))
		i++;
	s->len = i - s->off;
	*at = i < n && p[i] == '.' ? i + 1 : i;
	return true;
}

/* FNV-1a of (p, n), seeded: the prefixes of paths, not keyed (a crafted
 * collision only miscounts the keys of a parent). */
static uint64_t scan_fnv(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
	return h | 1; /* 0 is an empty slot */
}

/* An open-addressing table of prefix hashes and, per parent, keys. */
struct scan_kset {
	uint64_t *key;
	uint32_t *count;
	size_t cap; /* a power of two */
	size_t used;
};

/* The slot of h (found or empty). */
static size_t scan_kset_slot(const struct scan_kset *s, uint64_t h)
{
	size_t i = (size_t)(h ^ (h >> 29)) & (s->cap - 1);

	while (s->key[i] && s->key[i] != h)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static int scan_kset_grow(struct scan_kset *s)
{
	struct scan_kset n = { NULL, NULL, s->cap ? s->cap * 2 : 256, 0 };

	n.key = calloc(n.cap, sizeof(*n.key));
	n.count = calloc(n.cap, sizeof(*n.count));
	if (!n.key || !n.count) {
		free(n.key);
		free(n.count);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->cap; i++)
		if (s->key[i]) {
			size_t j = scan_kset_slot(&n, s->key[i]);

			n.key[j] = s->key[i];
			n.count[j] = s->count[i];
			n.used++;
		}
	free(s->key);
	free(s->count);
	*s = n;
	return 0;
}

/* Add h; *added says whether it was new; its counter in *count. */
static int scan_kset_add(struct scan_kset *s, uint64_t h, bool *added,
			 uint32_t **count)
{
	size_t i;

	if ((s->used + 1) * 2 > s->cap && scan_kset_grow(s))
		return -ENOMEM;
	i = scan_kset_slot(s, h);
	*added = !s->key[i];
	if (*added) {
		s->key[i] = h;
		s->used++;
	}
	*count = &s->count[i];
	return 0;
}

static uint32_t scan_kset_get(const struct scan_kset *s, uint64_t h)
{
	size_t i = s->cap ? scan_kset_slot(s, h) : 0;

	return s->cap && s->key[i] ? s->count[i] : 0;
}

/* Whether the key (p, n) is shaped like a name: letters (any UTF-8),
 * digits, '_', '-'. */
static bool scan_key_shaped(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)p[i];

		if (!(c >= 0x80 || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

/* Whether key s of path p (depth 0: a top-level key) is data. */
/* Whether the detectors read (p, n) as a value. */
static bool scan_key_value(const char *p, size_t n)
{
	const uint8_t *k = (const uint8_t *)p;

	return n && (msk_pii_detect(k, n) || det_name_is_value(p, n) ||
		     (det_value(k, n) & SCAN_KEY_VALUE));
}

/*
 * Whether key s of path p (depth 0: a top-level key) is data: itself, or
 * joined with the keys after it up to the next "[]" (a key holding '.' is
 * split in the path: "www.example.org" is three segments).
 */
static bool scan_key_data(const char *p, size_t n, const struct scan_seg *s,
			  unsigned depth, uint32_t siblings)
{
	size_t at = s->off + s->len;
	struct scan_seg t;

	if (scan_key_value(p + s->off, s->len))
		return true;
	if (at < n && p[at] == '.')
		at++;
	while (scan_seg_next(p, n, &at, &t) && !t.arr)
		if (scan_key_value(p + s->off, t.off + t.len - s->off))
			return true;
	return depth > 0 && (!scan_key_shaped(p + s->off, s->len) ||
			     siblings > SCAN_KEYS_MANY);
}

/* Count the distinct keys of every parent in the paths of t. */
static int scan_keys_count(const struct scan_tbl *t, struct scan_kset *ks)
{
	for (size_t c = 0; c < t->ncols; c++) {
		const char *p = t->cols[c].name;
		size_t n = strlen(p), at = 0, parent_end = 0;
		struct scan_seg s;

		while (scan_seg_next(p, n, &at, &s)) {
			size_t end = s.off + s.len;
			uint32_t *cnt;
			bool added;

			if (!s.arr) {
				/* the prefix through this key */
				if (scan_kset_add(ks, scan_fnv(p, end) ^ 2,
						  &added, &cnt))
					return -ENOMEM;
				if (added) {
					if (scan_kset_add(
						    ks,
						    scan_fnv(p, parent_end) ^ 4,
						    &added, &cnt))
						return -ENOMEM;
					(*cnt)++;
				}
			}
			parent_end = end;
		}
	}
	return 0;
}

/*
 * The name path p is listed under: p, or the prefix before its first key
 * that is data followed by "*" (in *out, malloc'd; NULL: p itself).
 */
static int scan_key_summary(const char *p, const struct scan_kset *ks,
			    char **out)
{
	size_t n = strlen(p), at = 0, parent_end = 0;
	unsigned depth = 0;
	struct scan_seg s;

	*out = NULL;
	while (scan_seg_next(p, n, &at, &s)) {
		if (!s.arr &&
		    scan_key_data(
			    p, n, &s, depth,
			    scan_kset_get(ks, scan_fnv(p, parent_end) ^ 4))) {
			char *o = malloc(s.off + 2);

			if (!o)
				return -ENOMEM;
			memcpy(o, p, s.off);
			o[s.off] = '*';
			o[s.off + 1] = 0;
			*out = o;
			return 0;
		}
		parent_end = s.off + s.len;
		depth++;
	}
	return 0;
}

/* Add the counters of b to a. */
static void scan_det_merge(struct det_col *a, const struct det_col *b)
{
	a->seen += b->seen;
	a->values += b->values;
	for (unsigned i = 0; i < DET_V_COUNT; i++)
		a->bits[i] += b->bits[i];
	a->pii_any += b->pii_any;
	a->year_ok += b->year_ok;
	a->range_ok += b->range_ok;
	a->len_sum += b->len_sum;
	a->blobs += b->blobs;
	a->opaque += b->opaque;
}

/* The index of the column named name among t->cols[0, k), or k. */
static size_t scan_col_find(const struct scan_tbl *t, size_t k,
			    const struct scan_kset *names, const char *name)
{
	uint32_t at = scan_kset_get(names, scan_fnv(name, strlen(name)) ^ 8);

	if (at && at <= k && !strcmp(t->cols[at - 1].name, name))
		return at - 1;
	if (!at)
		return k;
	for (size_t j = 0; j < k; j++) /* two names of one hash */
		if (!strcmp(t->cols[j].name, name))
			return j;
	return k;
}

int scan_keys_summarise(struct scan_tbl *t, struct spot_err *err)
{
	struct scan_kset ks = { NULL, NULL, 0, 0 }, names = ks;
	size_t k = 0, c = 0;
	int rc = scan_keys_count(t, &ks);

	for (; !rc && c < t->ncols; c++) {
		struct scan_col col = t->cols[c];
		char *sum = NULL;
		uint32_t *at;
		bool added;
		size_t j;

		rc = scan_key_summary(col.name, &ks, &sum);
		if (rc)
			break;
		if (sum) {
			free(col.name);
			col.name = sum;
			col.keys = 1;
			t->cols[c].name = NULL;
		}
		j = scan_col_find(t, k, &names, col.name);
		if (j < k) { /* one rule for both */
			scan_det_merge(&t->cols[j].det, &col.det);
			t->cols[j].keys += col.keys;
			free(col.name);
			continue;
		}
		rc = scan_kset_add(&names,
				   scan_fnv(col.name, strlen(col.name)) ^ 8,
				   &added, &at);
		if (!rc && added)
			*at = (uint32_t)(k + 1);
		t->cols[k++] = col; /* even on ENOMEM: it is freed with t */
		if (rc)
			c++;
	}
	if (rc) {
		/* Keep every column not yet looked at, freed with t. */
		memmove(&t->cols[k], &t->cols[c],
			(t->ncols - c) * sizeof(*t->cols));
		k += t->ncols - c;
		spot_err_set(err, "out of memory");
	}
	t->ncols = k;
	free(ks.key);
	free(ks.count);
	free(names.key);
	free(names.count);
	return rc;
}

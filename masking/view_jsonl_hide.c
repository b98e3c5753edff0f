/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view_jsonl_hide.c - containers whose every field is hidden are served
 * as null, whole.
 *
 * A rule that hides values (unlisted_columns: redact, the null and
 * redact methods) hides each field's value, but an array of hidden
 * values would still tell how many there were ("dx": [null, null, null]
 * against "dx": []), and an object of them which keys a record held.
 * Where every field under a node is hidden, in the whole file, the
 * node's value is served as null in every record: "dx": ["HIV", "flu"]
 * and "dx": [] under `dx: null` both become "dx": null.
 *
 * The tokenizer gives leaves, not containers: the bytes of a hidden
 * container are found from its first leaf. Between the leaf before it
 * and that leaf the line holds only structure and keys, so the openings
 * still open at the leaf are the containers it is in, innermost last;
 * the container is the one as many levels up as the leaf is below it,
 * and it ends at its matching bracket.
 */
#include "view_jsonl_i.h"

#include <errno.h>
#include <stdlib.h>

/* A string token starting at s[i] (a quote): the index after it. */
static size_t vjh_skip_str(const uint8_t *s, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return len;
}

int vjl_hide_new(const struct jsonl_paths *t, const bool *blank,
		 struct vjl_hide **out)
{
	uint32_t nn = jsonl_paths_count(t);
	struct vjl_hide *h = calloc(1, sizeof(*h));
	bool any = false;

	*out = NULL;
	if (!h || !(h->all = calloc(nn, sizeof(*h->all))) ||
	    !(h->up = calloc(nn, sizeof(*h->up))) ||
	    !(h->depth = calloc(nn, sizeof(*h->depth)))) {
		vjl_hide_free(h);
		return -ENOMEM;
	}
	for (uint32_t n = 0; n < nn; n++)
		h->all[n] = n != JSONL_ROOT;
	/* A field served from its value: it and every node above it
	 * hold something that is not hidden. */
	for (uint32_t n = 0; n < nn; n++) {
		int32_t col = jsonl_paths_tag(t, n);

		if (n == JSONL_ROOT || col < 0 || blank[col])
			continue;
		for (uint32_t m = n; m != JSONL_ROOT && h->all[m];
		     m = jsonl_paths_parent(t, m))
			h->all[m] = false;
	}
	for (uint32_t n = 0; n < nn; n++) {
		uint32_t top = JSONL_ROOT;

		h->up[n] = VJL_HIDE_NONE;
		for (uint32_t m = n; m != JSONL_ROOT;
		     m = jsonl_paths_parent(t, m)) {
			h->depth[n]++;
			if (m != n && h->all[m])
				top = m;
		}
		if (top == JSONL_ROOT)
			continue;
		/* An element: the array holding it is what is hidden. */
		if (jsonl_paths_is_elem(t, top))
			top = jsonl_paths_parent(t, top);
		if (top != JSONL_ROOT && top != n) {
			h->up[n] = top;
			any = true;
		}
	}
	for (uint32_t n = 0; n < nn && !any; n++)
		any = h->all[n];
	if (!any) {
		vjl_hide_free(h); /* nothing hidden whole: no cost per record */
		return 0;
	}
	*out = h;
	return 0;
}

void vjl_hide_free(struct vjl_hide *h)
{
	if (!h)
		return;
	free(h->all);
	free(h->up);
	free(h->depth);
	free(h);
}

int vjl_hide_span(const struct vjl_hide *h, const uint8_t *s, size_t len,
		  size_t from, const struct jsonl_leaf *l, uint32_t up,
		  size_t *off, size_t *end)
{
	size_t open[JSONL_MAX_DEPTH + 2], k = 0, i, levels;
	int depth = 0;

	if (h->depth[l->node] <= h->depth[up] || l->off > len || from > l->off)
		return -EIO;
	levels = h->depth[l->node] - h->depth[up];
	for (i = from; i < l->off;) {
		if (s[i] == '"') {
			i = vjh_skip_str(s, l->off, i);
			continue;
		}
		if (s[i] == '[' || s[i] == '{') {
			if (k == sizeof(open) / sizeof(open[0]))
				return -EIO;
			open[k++] = i;
		} else if ((s[i] == ']' || s[i] == '}') && k) {
			k--;
		}
		i++;
	}
	if (k < levels)
		return -EIO;
	*off = open[k - levels];
	for (i = *off; i < len;) {
		if (s[i] == '"') {
			i = vjh_skip_str(s, len, i);
			continue;
		}
		if (s[i] == '[' || s[i] == '{')
			depth++;
		else if ((s[i] == ']' || s[i] == '}') && !--depth)
			break;
		i++;
	}
	if (i >= len)
		return -EIO;
	*end = i + 1;
	return 0;
}

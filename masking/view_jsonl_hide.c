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
 * and "dx": [] under `dx: null` both become "dx": null. Where a
 * container holds no served field in one record only ("m": [{"dx": ..}]
 * beside records whose m[] hold a kept m[].t), that record's container
 * is null as well: its length and keys are not served either.
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
#include <string.h>

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

int vjl_hide_new(const struct jsonl_paths *t, const bool *blank, size_t ncols,
		 struct vjl_hide **out)
{
	uint32_t nn = jsonl_paths_count(t);
	struct vjl_hide *h;
	bool any = false;

	*out = NULL;
	for (size_t c = 0; c < ncols && !any; c++)
		any = blank[c];
	if (!any)
		return 0; /* nothing hidden: no cost per record */
	h = calloc(1, sizeof(*h));
	if (!h || !(h->blank = calloc(ncols ? ncols : 1, sizeof(*h->blank))) ||
	    !(h->all = calloc(nn, sizeof(*h->all))) ||
	    !(h->up = calloc(nn, sizeof(*h->up))) ||
	    !(h->depth = calloc(nn, sizeof(*h->depth)))) {
		vjl_hide_free(h);
		return -ENOMEM;
	}
	memcpy(h->blank, blank, ncols * sizeof(*blank));
	h->t = t;
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
		if (top != JSONL_ROOT && top != n)
			h->up[n] = top;
	}
	*out = h;
	return 0;
}

void vjl_hide_free(struct vjl_hide *h)
{
	if (!h)
		return;
	free(h->blank);
	free(h->all);
	free(h->up);
	free(h->depth);
	free(h);
}

/* The bracket closing the container opened at s[i]: its index + 1, or 0. */
static size_t vjh_close(const uint8_t *s, size_t len, size_t i)
{
	int depth = 0;

	while (i < len) {
		if (s[i] == '"') {
			i = vjh_skip_str(s, len, i);
			continue;
		}
		if (s[i] == '[' || s[i] == '{')
			depth++;
		else if ((s[i] == ']' || s[i] == '}') && !--depth)
			return i + 1;
		i++;
	}
	return 0;
}

/* Whether leaf l serves nothing of the record: a hidden column's value,
 * or an empty {} or [] where every field under its node is hidden. */
static bool vjh_leaf_hidden(const struct vjl_hide *h,
			    const struct jsonl_leaf *l)
{
	int32_t col = jsonl_paths_tag(h->t, l->node);

	if (l->kind == JSONL_EMPTY)
		return h->all[l->node];
	return col >= 0 && h->blank[col];
}

int vjl_hide_at(const struct vjl_hide *h, const uint8_t *s, size_t len,
		size_t from, const struct jsonl_leaf *ls, size_t nl,
		size_t *off, size_t *end)
{
	const struct jsonl_leaf *l = &ls[0];
	size_t open[JSONL_MAX_DEPTH + 2], k = 0, i, c0 = from == 0;
	uint32_t up = h->up[l->node];
	int32_t col = jsonl_paths_tag(h->t, l->node);

	if (col < 0 || l->off > len || from > l->off)
		return -EIO;
	if (up == VJL_HIDE_NONE && !vjh_leaf_hidden(h, l))
		return 0; /* served from its value */
	/* The containers opened since the leaf before, outermost first
	 * (the record's own brace, opened before its first leaf, aside). */
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
	if (up != VJL_HIDE_NONE) {
		/* Hidden in every record: the container as many levels up as
		 * the leaf is below node up. */
		size_t levels = h->depth[l->node] > h->depth[up]
					? h->depth[l->node] - h->depth[up]
					: 0;

		if (!levels || k < levels + c0 ||
		    !(*end = vjh_close(s, len, open[k - levels])))
			return -EIO;
		*off = open[k - levels];
		return 1;
	}
	/* This record's: the outermost one holding no served field. */
	for (size_t c = c0; c < k; c++) {
		size_t e = vjh_close(s, len, open[c]), j;

		if (!e)
			return -EIO;
		for (j = 0; j < nl && ls[j].off < e; j++)
			if (!vjh_leaf_hidden(h, &ls[j]))
				break;
		if (j == nl || ls[j].off >= e) {
			*off = open[c];
			*end = e;
			return 1;
		}
	}
	if (l->kind == JSONL_EMPTY) {
		*off = l->off; /* {} or []: whether empty is not served */
		*end = l->end;
		return 1;
	}
	return 0;
}

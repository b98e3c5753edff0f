/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * export_review.c - tokenise a CSV or text file and look every cell, word
 * and row up in the recorder's sets (see export_review.h). One pass, no
 * allocation per cell: the review must keep up with 100 MB/s of CSV.
 */
#include "export_review.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "format.h"
#include "methods.h"

#define XRV_SMALL_KEPT 8  /* small-count lines kept per column */
#define XRV_NEG 4096	  /* hashes known absent, direct-mapped */
#define XRV_PEND 256	  /* lookups batched (xset_has_many) */
#define XRV_PII_DIGITS 7  /* fewer digits and no '@': no detector matches */
#define XRV_ROW_CELLS 256 /* cells of a row tried one left out */

/* A lookup waiting for its batch. */
struct xrv_pend {
	uint64_t h;
	uint64_t line;
	uint32_t col;
	int ds; /* -1: a raw value; else a row fingerprint of dataset ds */
};

/* Per CSV column. */
struct xrv_col {
	bool count_name; /* the header looks like a count */
	bool all_int;	 /* every data cell so far a whole number */
	uint64_t nsmall;
	uint64_t small_line[XRV_SMALL_KEPT];
};

struct xrv_ctx {
	struct xrec *rec;
	const struct cfg *cfg;
	const struct xrv_opts *o;
	struct xrv_result *out;
	struct xrv_col *cols;
	size_t ncols, cap;
	uint64_t fp;	/* the row fingerprint being built */
	uint64_t *rowh; /* its cells' hashes (XRV_ROW_CELLS at most) */
	size_t nrowh;
	uint64_t *matches; /* per dataset: distinct rows matched */
	struct xset *seen; /* fingerprints matched already */
	uint8_t norm[XREC_VAL_MAX];
	struct spot_buf cell; /* an unescaped quoted cell */
	struct spot_buf dec;  /* a text line, JSON escapes decoded */
	/* Raw-value lookups known to miss: repeated words and categories
	 * cost one compare instead of a cache miss in a large set. */
	uint64_t neg[XRV_NEG];
	bool neg_used[XRV_NEG];
	struct xrv_pend pend[XRV_PEND];
	size_t npend;
	uint64_t last_line; /* of the last raw_value finding */
	uint32_t last_col;
};

/* Bytes that end a word: white space, punctuation that cannot be part of
 * an address or a number. Not '.', '@', '-', '+', '_' (emails, phones). */
static bool xrv_sep[256];

static void xrv_init_seps(void)
{
	static const char seps[] = " \t\r\n,;:|\"'()[]{}<>=/\\`!?*&^~#$%";

	if (xrv_sep[' '])
		return;
	for (const char *s = seps; *s; s++)
		xrv_sep[(uint8_t)*s] = true;
	xrv_sep[0] = true;
}

const char *xrv_kind_name(enum xrv_kind k)
{
	static const char *const names[] = { "raw_value", "pii", "small_count",
					     "row_copy", "opaque" };

	return (size_t)k < SPOT_ARRAY_SIZE(names) ? names[k] : "unknown";
}

static void xrv_add(struct xrv_ctx *x, enum xrv_kind k, uint64_t line,
		    uint32_t col, const char *what)
{
	struct xrv_result *r = x->out;

	r->total++;
	if (r->n == XRV_MAX_FINDINGS)
		return;
	r->f[r->n].kind = k;
	r->f[r->n].line = line;
	r->f[r->n].column = col;
	snprintf(r->f[r->n].what, sizeof(r->f[r->n].what), "%s",
		 what ? what : "");
	r->n++;
}

/* Whether normalised (p, len) is a raw value; the caller has it trimmed. */
static size_t xrv_neg_slot(uint64_t h)
{
	return (size_t)(h ^ (h >> 29)) & (XRV_NEG - 1);
}

/* Look the pending hashes up, one batch per set. */
static void xrv_flush(struct xrv_ctx *x)
{
	uint64_t hs[XRV_PEND];
	uint8_t found[XRV_PEND];
	size_t nds = xrec_ndatasets(x->rec);

	for (int ds = -1; ds < (int)nds; ds++) {
		struct xset *set = ds < 0 ? xrec_raw_set(x->rec)
					  : xrec_row_set(x->rec, (size_t)ds);
		size_t n = 0;

		for (size_t i = 0; i < x->npend; i++)
			if (x->pend[i].ds == ds)
				hs[n++] = x->pend[i].h;
		if (!n || !set)
			continue;
		xset_has_many(set, hs, n, found);
		n = 0;
		for (size_t i = 0; i < x->npend; i++) {
			const struct xrv_pend *e = &x->pend[i];
			uint64_t key;

			if (e->ds != ds)
				continue;
			if (!found[n++]) {
				if (ds < 0) {
					x->neg[xrv_neg_slot(e->h)] = e->h;
					x->neg_used[xrv_neg_slot(e->h)] = true;
				}
				continue;
			}
			if (ds < 0) { /* one finding per cell or line */
				if (e->line == x->last_line &&
				    e->col == x->last_col)
					continue;
				x->last_line = e->line;
				x->last_col = e->col;
				xrv_add(x, XRV_RAW_VALUE, e->line, e->col,
					NULL);
				continue;
			}
			key = e->h ^
			      (0x9e3779b97f4a7c15ull * (uint64_t)(ds + 1));
			if (!xset_has(x->seen, key) && !xset_add(x->seen, key))
				x->matches[ds]++;
		}
	}
	x->npend = 0;
}

/* Queue a lookup of h (a raw value, or ds's row fingerprint). */
static void xrv_lookup(struct xrv_ctx *x, uint64_t h, uint64_t line,
		       uint32_t col, int ds)
{
	size_t slot = xrv_neg_slot(h);

	if (ds < 0 && x->neg_used[slot] && x->neg[slot] == h)
		return; /* known absent */
	if (x->npend == XRV_PEND)
		xrv_flush(x);
	x->pend[x->npend++] = (struct xrv_pend){ h, line, col, ds };
}

/* Queue the normalised (p, len) if it can be a raw value. */
static void xrv_raw(struct xrv_ctx *x, const uint8_t *p, size_t len,
		    uint64_t line, uint32_t col)
{
	size_t k = xrec_norm(p, len, x->norm, sizeof(x->norm));

	if (k == (size_t)-1 || k < XREC_VAL_MIN || k > XREC_VAL_MAX)
		return;
	xrv_lookup(x, xrec_hash(x->rec, x->norm, k), line, col, -1);
}

/* The length of a Unicode space or invisible mark at p (p[0] >= 0x80),
 * which ends a word as a separator does; 0 for anything else. */
static size_t xrv_uspace(const uint8_t *p, size_t len)
{
	if (len >= 2 && p[0] == 0xc2 && (p[1] == 0xa0 || p[1] == 0x85))
		return 2;
	if (len < 3)
		return 0;
	if (p[0] == 0xe2 && p[1] == 0x80 &&
	    (p[2] <= 0x8d || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
		return 3; /* U+2000-U+200D, U+2028, U+2029, U+202F */
	if ((p[0] == 0xe2 && p[1] == 0x81 && (p[2] == 0x9f || p[2] == 0xa0)) ||
	    (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) ||
	    (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) ||
	    (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80))
		return 3; /* U+205F, U+2060, U+3000, U+FEFF, U+1680 */
	return 0;
}

/*
 * Raw values in (p, len): the whole text, then every word in it (a word
 * ends at a separator; dots at its ends are sentence punctuation). At most
 * one finding per cell or line.
 */
static void xrv_scan_raw(struct xrv_ctx *x, const uint8_t *p, size_t len,
			 uint64_t line, uint32_t col, const uint64_t *whole)
{
	size_t i = 0, words = 0;

	if (whole)
		xrv_lookup(x, *whole, line, col, -1);
	else if (len >= XREC_VAL_MIN)
		xrv_raw(x, p, len, line, col);
	while (i < len) {
		size_t s, e;

		size_t u;

		while (i < len &&
		       (xrv_sep[p[i]] ||
			(p[i] >= 0x80 && (u = xrv_uspace(p + i, len - i)))))
			i += xrv_sep[p[i]] ? 1 : u;
		s = i;
		while (i < len && !xrv_sep[p[i]] &&
		       (p[i] < 0x80 || !xrv_uspace(p + i, len - i)))
			i++;
		e = i;
		while (s < e && p[s] == '.')
			s++;
		while (e > s && p[e - 1] == '.')
			e--;
		if (e - s < XREC_VAL_MIN)
			continue;
		if (!words++ && s == 0 && e == len)
			break; /* the whole text, looked up already */
		xrv_raw(x, p + s, e - s, line, col);
	}
}

/* A plain number: digits, at most one sign and one dot. */
static bool xrv_is_number(const uint8_t *p, size_t len, bool *whole)
{
	size_t i = 0, digits = 0, dots = 0;

	if (len && (p[0] == '-' || p[0] == '+'))
		i++;
	for (; i < len; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			digits++;
		else if (p[i] == '.' && !dots)
			dots++;
		else
			return false;
	}
	/* 3.0 is whole (pandas writes counts so once a column has a NaN) */
	*whole = digits && p[0] != '-';
	for (const uint8_t *d = dots ? memchr(p, '.', len) : NULL;
	     d && ++d < p + len;)
		if (*d != '0')
			*whole = false;
	return digits > 0;
}

static void xrv_scan_pii(struct xrv_ctx *x, const uint8_t *p, size_t len,
			 uint64_t line, uint32_t col)
{
	unsigned k;
	bool whole;

	/* Counts and measures are not text; a card number is long. */
	if (len < 5 || (len <= 12 && xrv_is_number(p, len, &whole)))
		return;
	/* Every detector needs an '@' (email, URL with credentials), many
	 * digits (SSN 9, phone 10, card 13, IBAN 11 or more), four digits
	 * and a '.' (IPv4), a ':' (IPv6) or a bracketed "at" (an e-mail
	 * written name(at)domain): most text has none, and the detectors
	 * cost more than this look. */
	if (!memchr(p, '@', len)) {
		size_t digits = 0;
		bool dot = false, colon = false, br = false, at = false;

		for (size_t i = 0; i < len; i++) {
			uint8_t c = p[i];

			digits += c >= '0' && c <= '9';
			dot |= c == '.';
			colon |= c == ':';
			br |= c == '(' || c == '[' || c == '{' || c == '<';
			at |= i + 1 < len && (c | 0x20) == 'a' &&
			      (p[i + 1] | 0x20) == 't';
		}
		if (digits < XRV_PII_DIGITS && !(digits >= 4 && dot) &&
		    !colon && !(br && at))
			return;
	}
	k = msk_pii_detect(p, len);
	if (k)
		xrv_add(x, XRV_PII, line, col, msk_pii_name(k & -k));
}

/* ---- CSV ---- */

static bool xrv_count_name(const uint8_t *p, size_t len)
{
	static const char *const exact[] = {
		"count",       "n",	   "cnt",    "freq",
		"frequency",   "num",	   "number", "total",
		"users",       "patients", "people", "persons",
		"customers",   "records",  "rows",   "individuals",
		"respondents", "visits",   "cases",  "members",
	};
	uint8_t n[64];
	size_t k = xrec_norm(p, len, n, sizeof(n) - 1);

	if (k == (size_t)-1 || !k)
		return false;
	n[k] = 0;
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(exact); i++)
		if (!strcmp((char *)n, exact[i]))
			return true;
	return !strncmp((char *)n, "n_", 2) || !strncmp((char *)n, "num_", 4) ||
	       !strncmp((char *)n, "count_", 6) ||
	       (k > 6 && !strcmp((char *)n + k - 6, "_count")) ||
	       (k > 2 && !strcmp((char *)n + k - 2, "_n")) ||
	       (k > 4 && !strcmp((char *)n + k - 4, "_cnt"));
}

static int xrv_col_get(struct xrv_ctx *x, size_t c)
{
	if (c < x->ncols)
		return 0;
	if (c >= x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct xrv_col *n;

		while (cap <= c)
			cap *= 2;
		n = realloc(x->cols, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		x->cols = n;
		x->cap = cap;
	}
	while (x->ncols <= c) {
		memset(&x->cols[x->ncols], 0, sizeof(x->cols[0]));
		x->cols[x->ncols].all_int = true;
		x->ncols++;
	}
	return 0;
}

static int xrv_cell(struct xrv_ctx *x, const uint8_t *p, size_t len,
		    uint64_t rec, uint64_t line, size_t c)
{
	struct xrv_col *col;
	bool whole = false;
	int rc = xrv_col_get(x, c);

	if (rc)
		return rc;
	col = &x->cols[c];
	{
		/* One hash for the row fingerprint and the whole-cell lookup
		 * (both the normalised cell), when the cell can be a value. */
		size_t k = xrec_norm(p, len, x->norm, sizeof(x->norm));
		uint64_t h;

		if (k == (size_t)-1) {
			h = xrec_cell_hash(x->rec, p, len);
			xrv_scan_raw(x, p, len, line, (uint32_t)(c + 1), NULL);
		} else {
			h = xrec_hash(x->rec, x->norm, k);
			if (k >= XREC_VAL_MIN)
				xrv_scan_raw(x, p, len, line, (uint32_t)(c + 1),
					     &h);
		}
		x->fp = xrec_row_add(x->fp, h);
		if (x->nrowh < XRV_ROW_CELLS)
			x->rowh[x->nrowh] = h;
		x->nrowh++;
	}
	xrv_scan_pii(x, p, len, line, (uint32_t)(c + 1));
	if (rec == 0) {
		col->count_name = xrv_count_name(p, len);
		return 0;
	}
	if (!len || !col->all_int)
		return 0;
	if (!xrv_is_number(p, len, &whole) || !whole || len > 18) {
		col->all_int = false;
		return 0;
	}
	if (col->count_name) {
		uint64_t v = 0;

		for (size_t i = p[0] == '+'; i < len && p[i] != '.'; i++)
			v = v * 10 + (uint64_t)(p[i] - '0'); /* <= 18 digits */
		if (v >= 1 && v < x->o->min_count) {
			if (col->nsmall < XRV_SMALL_KEPT)
				col->small_line[col->nsmall] = line;
			col->nsmall++;
		}
	}
	return 0;
}

/*
 * A row's fingerprint looked up in every dataset's row set, and so is
 * each fingerprint of the row with one of its cells left out (rows of
 * up to XRV_ROW_CELLS cells) where the dataset served rows of one cell
 * fewer (a sum of other widths could match only by a hash collision): a
 * copy with one column added (an index, a constant, an empty note)
 * still matches. Two added columns do not.
 */
static void xrv_row_lookup(struct xrv_ctx *x)
{
	size_t n = x->nrowh <= XRV_ROW_CELLS ? x->nrowh : 0;

	for (size_t i = 0; i < xrec_ndatasets(x->rec); i++) {
		xrv_lookup(x, x->fp, 0, 0, (int)i);
		if (n < 2 || !xrec_row_width(x->rec, i, n - 1))
			continue;
		for (size_t c = 0; c < n; c++)
			xrv_lookup(x, x->fp - x->rowh[c], 0, 0, (int)i);
	}
}

static void xrv_row_end(struct xrv_ctx *x, uint64_t rec)
{
	if (rec > 0 && x->seen)
		xrv_row_lookup(x);
	x->fp = 0;
	x->nrowh = 0;
	x->out->rows++;
}

/*
 * RFC 4180 with either ',' or '\t': quoted fields may hold separators,
 * line breaks and "" for a quote. Lines are counted as the file's lines
 * (a quoted line break counts), and a cell is named by the line it starts
 * on.
 */
static int xrv_csv(struct xrv_ctx *x, const uint8_t *p, size_t len, char sep)
{
	uint64_t line = 1, rec = 0;
	size_t i = 0, c = 0, eol = 0;
	bool eol_ok = false;
	int rc = 0;

	while (i < len && !rc) {
		uint64_t cell_line = line;

		if (p[i] == '"') {
			spot_buf_reset(&x->cell);
			for (i++; i < len;) {
				/* A run up to the next quote, in one copy. */
				const uint8_t *q = memchr(p + i, '"', len - i);
				size_t e = q ? (size_t)(q - p) : len;

				for (const uint8_t *nl = p + i;
				     (nl = memchr(nl, '\n',
						  e - (size_t)(nl - p)));
				     nl++)
					line++;
				if (spot_buf_append(&x->cell, p + i, e - i))
					return -ENOMEM;
				i = e;
				if (i == len)
					break;
				if (i + 1 < len && p[i + 1] == '"') {
					if (spot_buf_putc(&x->cell, '"'))
						return -ENOMEM;
					i += 2; /* "" is one quote */
					continue;
				}
				i++; /* the closing quote */
				break;
			}
			/* Bytes after the closing quote belong to the cell. */
			while (i < len && p[i] != sep && p[i] != '\n') {
				if (p[i] != '\r' &&
				    spot_buf_putc(&x->cell, (char)p[i]))
					return -ENOMEM;
				i++;
			}
			rc = xrv_cell(x, x->cell.p, x->cell.len, rec, cell_line,
				      c);
		} else {
			size_t s = i, e, lim;
			const uint8_t *q;

			if (!eol_ok || eol < i) { /* once per line */
				const uint8_t *nl =
					memchr(p + i, '\n', len - i);

				eol = nl ? (size_t)(nl - p) : len;
				eol_ok = true;
			}
			lim = eol;
			q = memchr(p + i, sep, lim - i);

			i = q ? (size_t)(q - p) : lim;
			e = i;
			if (e > s && p[e - 1] == '\r')
				e--;
			rc = xrv_cell(x, p + s, e - s, rec, cell_line, c);
		}
		if (i < len && p[i] == sep) {
			i++;
			c++;
			if (i == len) /* a trailing separator: one empty cell */
				rc = rc ? rc : xrv_cell(x, p, 0, rec, line, c);
			continue;
		}
		xrv_row_end(x, rec++);
		c = 0;
		if (i < len) { /* '\n' */
			i++;
			line++;
		}
	}
	return rc;
}

static void xrv_csv_findings(struct xrv_ctx *x)
{
	char what[96];

	for (size_t c = 0; c < x->ncols; c++) {
		const struct xrv_col *col = &x->cols[c];

		if (!col->count_name || !col->all_int || !col->nsmall)
			continue;
		snprintf(what, sizeof(what), "below %llu",
			 (unsigned long long)x->o->min_count);
		for (size_t k = 0; k < col->nsmall; k++)
			if (k < XRV_SMALL_KEPT)
				xrv_add(x, XRV_SMALL_COUNT, col->small_line[k],
					(uint32_t)(c + 1), what);
			else
				x->out->total++;
	}
	for (size_t i = 0; i < xrec_ndatasets(x->rec); i++) {
		struct xset *s = xrec_row_set(x->rec, i);
		uint64_t served = s ? xset_count(s) : 0;
		double share;

		if (!served || !x->matches[i])
			continue;
		share = (double)x->matches[i] / (double)served;
		if (share <= x->o->max_row_share)
			continue;
		snprintf(what, sizeof(what),
			 "%.40s: %llu rows served, %.1f%% of them",
			 x->cfg->datasets[i].name,
			 (unsigned long long)x->matches[i], share * 100);
		xrv_add(x, XRV_ROW_COPY, 0, 0, what);
	}
}

/* ---- text ---- */

/*
 * A line that is a JSON record (JSON Lines): its leaf values are a row's
 * cells (xrec_json_cells), looked up as a CSV row's are.
 */
static void xrv_json_row(struct xrv_ctx *x, const uint8_t *p, size_t len)
{
	ssize_t n;

	if (!x->seen || !len ||
	    (p[0] != '{' && p[0] != '[' && p[0] != ' ' && p[0] != '\t' &&
	     p[0] != 0xef))
		return;
	n = xrec_json_cells(x->rec, p, len, x->rowh, XRV_ROW_CELLS, &x->fp);
	if (n <= 0)
		return;
	x->nrowh = (size_t)n;
	xrv_row_lookup(x);
	x->fp = 0;
	x->nrowh = 0;
}

/*
 * Line by line: raw values and PII in the line as written and, when it
 * holds a backslash, with its JSON escapes decoded (json.dumps writes
 * "M\u00fcller"); a JSON record is a row too.
 */
static int xrv_text(struct xrv_ctx *x, const uint8_t *p, size_t len)
{
	uint64_t line = 1;
	size_t i = 0;

	while (i < len) {
		const uint8_t *nl = memchr(p + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - p) : len;

		xrv_scan_raw(x, p + i, e - i, line, 0, NULL);
		uint64_t before = x->out->total;

		xrv_scan_pii(x, p + i, e - i, line, 0);
		if (memchr(p + i, '\\', e - i)) {
			if (xrec_json_unescape(p + i, e - i, &x->dec))
				return -ENOMEM;
			xrv_scan_raw(x, x->dec.p, x->dec.len, line, 0, NULL);
			if (x->out->total == before) /* one pii finding */
				xrv_scan_pii(x, x->dec.p, x->dec.len, line, 0);
		}
		xrv_json_row(x, p + i, e - i);
		x->out->rows++;
		i = e + 1;
		line++;
	}
	return 0;
}

/* ---- Parquet ---- */

/* A string the rows do not show (metadata, dictionary, list or map). */
static int xrv_pq_string(void *arg, const uint8_t *p, size_t len)
{
	struct xrv_ctx *x = arg;

	xrv_scan_raw(x, p, len, 0, 0, NULL);
	xrv_scan_pii(x, p, len, 0, 0);
	return 0;
}

/*
 * A Parquet result, read through the table of formats from a memory file:
 * its column names as the header record, then every row, each cell as
 * the text a CSV of it would hold (NULL as empty), reviewed like a CSV's
 * (raw values, PII, small counts, row copies); then every string the
 * rows do not show (view_parquet_strings: key-value metadata, whole
 * dictionaries, values inside lists and maps), for raw values and PII
 * (line 0). A file either reader refuses is -EINVAL: the caller treats it
 * as opaque (fail closed).
 */
static int xrv_parquet(struct xrv_ctx *x, const uint8_t *p, size_t len)
{
	const struct view_format *f = view_format_get(VIEW_FMT_PARQUET);
	struct view_source src = { NULL, NULL, NULL, NULL };
	struct view_req req = { .sub = "", .fd = -1 };
	struct spot_err err = { "" };
	const struct pipe_col *cols;
	struct pipe_batch b;
	uint64_t rec = 0;
	size_t ncols;
	int rc, fd = memfd_create("spotfs-review", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, p + off, len - off);

		if (n <= 0) {
			close(fd);
			return -EIO;
		}
		off += (size_t)n;
	}
	req.fd = fd;
	rc = f ? f->source_open(&req, &src, &err) : -ENOTSUP;
	if (!rc)
		rc = src.ops->columns(src.state, &cols, &ncols, &err);
	if (!rc && pipe_batch_init(&b, ncols, PIPE_BATCH_ROWS))
		rc = -ENOMEM;
	else if (!rc) {
		for (size_t c = 0; !rc && c < ncols; c++)
			rc = xrv_cell(x, (const uint8_t *)cols[c].name,
				      cols[c].name_len, 0, 1, c);
		xrv_row_end(x, rec++);
		while (!rc) {
			pipe_batch_clear(&b);
			rc = src.ops->next_batch(src.state, &b, &err);
			if (rc || !b.nrows)
				break;
			for (size_t r = 0; !rc && r < b.nrows; r++) {
				for (size_t c = 0; !rc && c < ncols; c++) {
					const struct pipe_cell *v =
						&b.in[r * ncols + c];

					rc = v->type == PIPE_NULL
						     ? xrv_cell(x, v->p, 0, rec,
								rec + 1, c)
						     : xrv_cell(x, v->p, v->len,
								rec, rec + 1,
								c);
				}
				xrv_row_end(x, rec++);
			}
		}
		pipe_batch_fini(&b);
	}
	if (!rc)
		rc = view_parquet_strings(p, len, xrv_pq_string, x, &err);
	if (src.free)
		src.free(src.obj);
	close(fd);
	return rc == -ENOMEM ? rc : rc ? -EINVAL : 0;
}

/* ---- kinds ---- */

static bool xrv_ext(const char *name, const char *const *exts)
{
	const char *dot = strrchr(name, '.');

	if (!dot || strchr(dot, '/'))
		return false;
	for (; *exts; exts++)
		if (!strcasecmp(dot + 1, *exts))
			return true;
	return false;
}

/*
 * Text is valid UTF-8 with no control byte but tab, line feed, form feed
 * and carriage return: anything else (a compressed stream without a NUL,
 * a binary format) cannot be reviewed. Eight ASCII bytes at a time.
 */
static bool xrv_is_text(const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint64_t w;
		uint32_t cp;

		if (i + 8 <= len) {
			memcpy(&w, p + i, 8);
			/* no byte >= 0x80 and none < 0x20 */
			if (!((w | (w - 0x2020202020202020ull)) &
			      0x8080808080808080ull)) {
				i += 8;
				continue;
			}
		}
		if (p[i] >= 0x80) {
			size_t n = xrec_utf8_len(p + i, len - i, &cp);

			if (!n)
				return false;
			i += n;
			continue;
		}
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' &&
		    p[i] != '\f' && p[i] != '\r')
			return false;
		i++;
	}
	return true;
}

/*
 * The separator of a .csv: the most frequent of ',', ';', tab and '|' in
 * its first line outside quotes (',' on a tie or none): a .csv written
 * with sep=";" (Excel in much of Europe) is still cells, not one line.
 */
static char xrv_sniff_sep(const uint8_t *p, size_t len)
{
	static const char cands[] = { ',', ';', '\t', '|' };
	size_t count[4] = { 0 }, best = 0;
	bool q = false;

	for (size_t i = 0; i < len && (q || p[i] != '\n'); i++) {
		if (p[i] == '"')
			q = !q;
		for (size_t k = 0; !q && k < 4; k++)
			count[k] += p[i] == (uint8_t)cands[k];
	}
	for (size_t k = 1; k < 4; k++)
		if (count[k] > count[best])
			best = k;
	return cands[best];
}

/* Binary magic or a NUL in the first 64 KiB: not reviewable. */
static bool xrv_opaque(const uint8_t *p, size_t len)
{
	static const struct {
		const char *m;
		size_t n;
	} magic[] = {
		{ "\x1f\x8b", 2 },	   /* gzip */
		{ "PK\x03\x04", 4 },	   /* zip */
		{ "PAR1", 4 },		   /* Parquet */
		{ "\x28\xb5\x2f\xfd", 4 }, /* zstd */
		{ "BZh", 3 },		   /* bzip2 */
		{ "\xfd"
		  "7zXZ",
		  5 }, /* xz */
		{ "SQLite format 3", 15 },
	};

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(magic); i++)
		if (len >= magic[i].n && !memcmp(p, magic[i].m, magic[i].n))
			return true;
	return memchr(p, 0, len < 65536 ? len : 65536) != NULL;
}

int xrv_review(struct xrec *rec, const struct cfg *cfg,
	       const struct xrv_opts *o, const char *name, const uint8_t *p,
	       size_t len, struct xrv_result *out)
{
	static const char *const csv_ext[] = { "csv", "tsv", NULL };
	static const char *const opaque_ext[] = {
		"gz",  "zip", "xz",  "bz2", "zst",    "db",  "sqlite", "xlsx",
		"pdf", "png", "jpg", "pkl", "pickle", "npy", NULL,
	};
	struct xrv_ctx x = { .rec = rec,
			     .cfg = cfg,
			     .o = o,
			     .out = out,
			     .last_line = UINT64_MAX };
	bool pq = len >= 8 && !memcmp(p, "PAR1", 4) &&
		  !memcmp(p + len - 4, "PAR1", 4);
	int rc = 0;

	xrv_init_seps();
	memset(out, 0, sizeof(*out));
	spot_buf_init(&x.cell);
	spot_buf_init(&x.dec);
	x.matches = calloc(xrec_ndatasets(rec) + 1, sizeof(uint64_t));
	x.rowh = calloc(XRV_ROW_CELLS, sizeof(uint64_t));
	if (!x.matches || !x.rowh || xset_new(1u << 20, &x.seen)) {
		rc = -ENOMEM;
		goto out;
	}
	if (pq) { /* Parquet: its cells, as a CSV's */
		out->type = "parquet";
		rc = xrv_parquet(&x, p, len);
		xrv_flush(&x);
		if (!rc)
			xrv_csv_findings(&x);
		if (rc == -EINVAL) { /* unreadable: opaque, fail closed */
			rc = 0;
			out->type = "opaque";
			if (!o->allow_opaque)
				xrv_add(&x, XRV_OPAQUE, 0, 0,
					"a Parquet file that cannot be read");
		}
		goto out;
	}
	if (xrv_ext(name, (const char *const[]){ "parquet", NULL }) ||
	    xrv_ext(name, opaque_ext) || xrv_opaque(p, len) ||
	    !xrv_is_text(p, len)) {
		out->type = "opaque";
		if (!o->allow_opaque)
			xrv_add(&x, XRV_OPAQUE, 0, 0,
				"binary or compressed: cannot be reviewed");
		goto out;
	}
	if (xrv_ext(name, csv_ext)) {
		out->type = "csv";
		rc = xrv_csv(&x, p, len,
			     xrv_ext(name, (const char *const[]){ "tsv", NULL })
				     ? '\t'
				     : xrv_sniff_sep(p, len));
	} else {
		out->type = "text";
		rc = xrv_text(&x, p, len);
	}
	xrv_flush(&x);
	if (!rc)
		xrv_csv_findings(&x);
out:
	if (x.seen)
		xset_free(x.seen);
	free(x.matches);
	free(x.rowh);
	free(x.cols);
	spot_buf_fini(&x.cell);
	spot_buf_fini(&x.dec);
	return rc;
}

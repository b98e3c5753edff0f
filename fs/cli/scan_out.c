/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * scan_out.c - what `spotfs scan` writes: the starter config (YAML, every
 * column with its rule and why in a comment) and the findings as JSON.
 *
 * Names (files, tables, columns) are written as YAML double-quoted
 * strings, escaped, so any name reads back byte for byte; comments hold
 * only text of the detectors and numbers. No value is ever written.
 */
#include "scan_i.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_PROGRESS_COLS 72

/* ---- findings ---- */

struct scan_ds *scan_ds_add(struct scan *sc, const char *rel,
			    const struct view_format *f)
{
	struct scan_ds *nd = realloc(sc->ds, (sc->nds + 1) * sizeof(*nd));

	if (!nd)
		return NULL;
	sc->ds = nd;
	nd = &sc->ds[sc->nds];
	memset(nd, 0, sizeof(*nd));
	nd->rel = strdup(rel);
	if (!nd->rel)
		return NULL;
	nd->f = f;
	sc->nds++;
	return nd;
}

struct scan_tbl *scan_tbl_add(struct scan_ds *d, const char *name)
{
	struct scan_tbl *nt = realloc(d->tbls, (d->ntbls + 1) * sizeof(*nt));

	if (!nt)
		return NULL;
	d->tbls = nt;
	nt = &d->tbls[d->ntbls];
	memset(nt, 0, sizeof(*nt));
	if (name && !(nt->name = strdup(name)))
		return NULL;
	d->ntbls++;
	return nt;
}

void scan_fini(struct scan *sc)
{
	for (size_t i = 0; i < sc->nds; i++) {
		struct scan_ds *d = &sc->ds[i];

		for (size_t t = 0; t < d->ntbls; t++) {
			for (size_t c = 0; c < d->tbls[t].ncols; c++)
				free(d->tbls[t].cols[c].name);
			free(d->tbls[t].cols);
			free(d->tbls[t].name);
			free(d->tbls[t].skip);
		}
		free(d->tbls);
		free(d->rel);
		free(d->skip);
	}
	free(sc->ds);
	sc->ds = NULL;
	sc->nds = 0;
}

void scan_progress(struct scan *sc, const char *rel)
{
	char name[SCAN_PROGRESS_COLS];

	if (!sc->tty)
		return;
	scan_comment_text(rel, name, sizeof(name) - 24);
	fprintf(stderr, "\r\033[Kspotfs scan: %u files: %s", sc->files, name);
	fflush(stderr);
	sc->progress_shown = true;
}

void scan_progress_clear(struct scan *sc)
{
	if (!sc->progress_shown)
		return;
	fputs("\r\033[K", stderr);
	sc->progress_shown = false;
}

/* ---- YAML ---- */

/*
 * The code point at p (UTF-8, n bytes), or -1 for a byte that starts no
 * valid sequence (then n is 1).
 */
static long scan_cp(const uint8_t *p, size_t *n)
{
	size_t k = p[0] < 0x80	       ? 1
		   : (p[0] >> 5) == 6  ? 2
		   : (p[0] >> 4) == 14 ? 3
		   : (p[0] >> 3) == 30 ? 4
				       : 0;
	long cp = k == 1 ? p[0] : k == 2 ? p[0] & 0x1f : p[0] & 0x0f;

	*n = 1;
	if (k == 4)
		cp = p[0] & 0x07;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80) /* a NUL ends the loop here too */
			return -1;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (!k || (k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) ||
	    (k == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*n = k;
	return cp;
}

/*
 * Whether YAML may hold the code point raw in a scalar or a comment on
 * one line: printable (YAML 1.1 c-printable), not a line break (CR, LF,
 * NEL, U+2028, U+2029), not a byte order mark. Tab is escaped too.
 */
static bool scan_cp_plain(long cp)
{
	if (cp == 0x2028 || cp == 0x2029)
		return false;
	return (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) ||
	       (cp >= 0xe000 && cp <= 0xfffd && cp != 0xfeff) ||
	       (cp >= 0x10000 && cp <= 0x10ffff);
}

/*
 * s as a YAML double-quoted scalar: quotes and backslashes escaped, every
 * code point YAML may not hold raw or reads as a line break (C0, DEL, C1
 * with NEL, U+2028, U+2029, U+FEFF, U+FFFE, U+FFFF) as an escape; other
 * UTF-8 as is. A byte of invalid UTF-8 (the caller checks names are
 * UTF-8) is written as U+FFFD, so the output always parses.
 */
static int scan_yaml_str(struct spot_buf *b, const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	int rc = spot_buf_putc(b, '"');

	while (!rc && *p) {
		size_t n;
		long cp = scan_cp(p, &n);

		if (cp == '"' || cp == '\\')
			rc = spot_buf_printf(b, "\\%c", (int)cp);
		else if (cp < 0)
			rc = spot_buf_printf(b, "\\ufffd");
		else if (scan_cp_plain(cp))
			rc = spot_buf_append(b, p, n);
		else if (cp <= 0xff)
			rc = spot_buf_printf(b, "\\x%02lx", cp);
		else if (cp <= 0xffff)
			rc = spot_buf_printf(b, "\\u%04lx", cp);
		else
			rc = spot_buf_printf(b, "\\U%08lx", cp);
		p += n;
	}
	return rc ? rc : spot_buf_putc(b, '"');
}

/* Text for a comment: what YAML would not hold on the line as '?'. */
void scan_comment_text(const char *s, char *out, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t k = 0;

	while (*p && k + 1 < len) {
		size_t n;
		long cp = scan_cp(p, &n);

		if (cp < 0 || !scan_cp_plain(cp) || k + n >= len) {
			out[k++] = '?';
		} else {
			memcpy(out + k, p, n);
			k += n;
		}
		p += n;
	}
	if (len)
		out[k] = 0;
}

/* A comment line: whatever would break the line (a name's) as '?'. */
static int scan_yaml_comment(struct spot_buf *b, const char *indent,
			     const char *a, const char *c)
{
	char pa[PATH_MAX], pc[SPOT_ERR_MAX + 64];

	scan_comment_text(a, pa, sizeof(pa));
	scan_comment_text(c, pc, sizeof(pc));
	return spot_buf_printf(b, "%s%s%s%s\n", indent, pa, c[0] ? ": " : "",
			       pc);
}

static bool scan_tbl_listed(const struct scan_tbl *t)
{
	return !t->skip && t->ncols;
}

static bool scan_ds_listed(const struct scan_ds *d)
{
	if (d->skip || !d->f)
		return false;
	for (size_t t = 0; t < d->ntbls; t++)
		if (scan_tbl_listed(&d->tbls[t]))
			return true;
	return false;
}

/*
 * The rule of col. One that stands for JSON Lines keys that are data
 * (scan_keys.c) says so; at the top level ("*": every top-level field no
 * other rule names, those of later records too) it is never keep.
 */
static void scan_col_rule(const struct scan_col *col, struct det_rule *r)
{
	size_t n;

	det_col_decide(&col->det, col->name, strlen(col->name), r);
	if (!col->keys)
		return;
	if (!strcmp(col->name, "*") && r->keep) {
		snprintf(r->yaml, sizeof(r->yaml), "{ method: redact }");
		r->keep = false;
	}
	n = strlen(r->why);
	snprintf(r->why + n, sizeof(r->why) - n,
		 "%sone rule for %u field path%s under keys that look like "
		 "data (names, dates, numbers, many keys of one object), "
		 "the keys not written here (they are served as they are)",
		 n ? "; " : "", col->keys, col->keys == 1 ? "" : "s");
}

static int scan_yaml_columns(struct spot_buf *b, const struct scan_tbl *t,
			     const char *indent)
{
	int rc = spot_buf_printf(b, "%scolumns:\n", indent);

	for (size_t c = 0; !rc && c < t->ncols; c++) {
		const struct scan_col *col = &t->cols[c];
		struct det_rule r;

		scan_col_rule(col, &r);
		rc = spot_buf_printf(b, "%s  ", indent);
		if (!rc)
			rc = scan_yaml_str(b, col->name);
		if (!rc)
			rc = spot_buf_printf(b, ": %s  # %s\n", r.yaml, r.why);
	}
	return rc;
}

static int scan_yaml_ds(struct spot_buf *b, const struct scan_ds *d)
{
	int rc = spot_buf_printf(b, "  ");

	if (!rc)
		rc = scan_yaml_str(b, d->rel);
	if (!rc)
		rc = spot_buf_printf(b, ":  # %s\n", d->f->title);
	if (!d->f->objects)
		return rc ? rc : scan_yaml_columns(b, &d->tbls[0], "    ");
	if (!rc)
		rc = spot_buf_printf(b, "    tables:\n");
	for (size_t t = 0; !rc && t < d->ntbls; t++) {
		const struct scan_tbl *tb = &d->tbls[t];

		if (!scan_tbl_listed(tb))
			continue;
		rc = spot_buf_printf(b, "      ");
		if (!rc)
			rc = scan_yaml_str(b, tb->name);
		if (!rc)
			rc = spot_buf_printf(b, ":\n");
		if (!rc)
			rc = scan_yaml_columns(b, tb, "        ");
	}
	return rc;
}

int scan_write_yaml(const struct scan *sc, struct spot_buf *b)
{
	size_t listed = 0, left = 0;
	int rc;

	for (size_t i = 0; i < sc->nds; i++)
		listed += scan_ds_listed(&sc->ds[i]);
	rc = spot_buf_printf(
		b,
		"# A starter config written by spotfs scan: every column of "
		"every\n"
		"# dataset found, with a rule and why (by name, by values: the "
		"share of\n"
		"# up to %llu sampled rows per table that matched). A sample "
		"can be\n"
		"# wrong: review every rule, then run spotfs check --strict.\n",
		(unsigned long long)sc->o.rows);
	if (!rc)
		rc = spot_buf_printf(b, "source: ");
	if (!rc)
		rc = scan_yaml_str(b, sc->srcpath);
	if (!rc)
		rc = spot_buf_printf(
			b,
			"\nsecret: random          # or a file, for "
			"pseudonyms stable across sandboxes\n"
			"default: hide            # files not named here are "
			"not served\n"
			"unlisted_columns: redact # columns not named here "
			"are served empty\n"
			"datasets:%s\n",
			listed ? "" : " {}");
	for (size_t i = 0; !rc && i < sc->nds; i++)
		if (scan_ds_listed(&sc->ds[i]))
			rc = scan_yaml_ds(b, &sc->ds[i]);
	for (size_t i = 0; i < sc->nds; i++) {
		left += !scan_ds_listed(&sc->ds[i]);
		for (size_t t = 0; t < sc->ds[i].ntbls; t++)
			left += !!sc->ds[i].tbls[t].skip;
	}
	if (!rc && left)
		rc = spot_buf_printf(b, "# Left out (not served under default: "
					"hide):\n");
	for (size_t i = 0; !rc && i < sc->nds; i++) {
		const struct scan_ds *d = &sc->ds[i];

		if (d->skip)
			rc = scan_yaml_comment(b, "#   ", d->rel, d->skip);
		else if (!scan_ds_listed(d))
			rc = scan_yaml_comment(b, "#   ", d->rel,
					       "nothing to serve (no table "
					       "with columns)");
		for (size_t t = 0; !rc && t < d->ntbls; t++) {
			char what[SPOT_ERR_MAX + 64];

			if (!d->tbls[t].skip)
				continue;
			snprintf(what, sizeof(what), "%s%s%s",
				 d->tbls[t].name ? "table " : "",
				 d->tbls[t].name ? d->tbls[t].name : "",
				 d->tbls[t].name ? ": " : "");
			snprintf(what + strlen(what),
				 sizeof(what) - strlen(what), "%s",
				 d->tbls[t].skip);
			if (d->skip && !d->tbls[t].name)
				continue; /* said above */
			rc = scan_yaml_comment(b, "#   ", d->rel, what);
		}
	}
	if (!rc && sc->others)
		rc = spot_buf_printf(b,
				     "# %u other files are not datasets scan "
				     "reads (.txt, unknown types): not served "
				     "under default: hide\n",
				     sc->others);
	return rc;
}

/* ---- JSON ---- */

static int scan_json_col(struct spot_buf *b, const struct scan_col *col)
{
	struct det_rule r;
	bool first = true;
	int rc;

	scan_col_rule(col, &r);
	rc = spot_buf_printf(b, "{\"name\":");
	if (!rc)
		rc = spot_buf_json_str(b, col->name);
	if (!rc)
		rc = spot_buf_printf(b, ",\"rule\":");
	if (!rc)
		rc = spot_buf_json_str(b, r.yaml);
	if (!rc)
		rc = spot_buf_printf(b, ",\"keep\":%s,\"quasi\":%s,\"kind\":",
				     r.keep ? "true" : "false",
				     r.quasi ? "true" : "false");
	if (!rc)
		rc = spot_buf_json_str(b, det_kind_name(r.kind));
	if (!rc)
		rc = spot_buf_printf(b, ",\"why\":");
	if (!rc)
		rc = spot_buf_json_str(b, r.why);
	if (!rc)
		rc = spot_buf_printf(b, ",\"data_keys\":%u", col->keys);
	if (!rc)
		rc = spot_buf_printf(b,
				     ",\"sampled\":%llu,\"values\":%llu,"
				     "\"matches\":{",
				     (unsigned long long)col->det.seen,
				     (unsigned long long)col->det.values);
	for (unsigned i = 0; !rc && i < DET_V_COUNT; i++) {
		if (!col->det.bits[i])
			continue;
		rc = spot_buf_printf(b, "%s", first ? "" : ",");
		if (!rc)
			rc = spot_buf_json_str(b, det_value_name(1u << i));
		if (!rc)
			rc = spot_buf_printf(
				b, ":%llu",
				(unsigned long long)col->det.bits[i]);
		first = false;
	}
	return rc ? rc : spot_buf_printf(b, "}}");
}

static int scan_json_tbl(struct spot_buf *b, const struct scan_tbl *t)
{
	int rc = spot_buf_printf(b, "{\"name\":");

	if (!rc && t->name)
		rc = spot_buf_json_str(b, t->name);
	else if (!rc)
		rc = spot_buf_printf(b, "null");
	if (!rc)
		rc = spot_buf_printf(b, ",\"rows_sampled\":%llu,\"skipped\":",
				     (unsigned long long)t->rows);
	if (!rc && t->skip)
		rc = spot_buf_json_str(b, t->skip);
	else if (!rc)
		rc = spot_buf_printf(b, "null");
	if (!rc)
		rc = spot_buf_printf(b, ",\"columns\":[");
	for (size_t c = 0; !rc && !t->skip && c < t->ncols; c++) {
		rc = spot_buf_printf(b, "%s", c ? "," : "");
		if (!rc)
			rc = scan_json_col(b, &t->cols[c]);
	}
	return rc ? rc : spot_buf_printf(b, "]}");
}

int scan_write_json(const struct scan *sc, struct spot_buf *b)
{
	int rc = spot_buf_printf(b, "{\"source\":");

	if (!rc)
		rc = spot_buf_json_str(b, sc->srcpath);
	if (!rc)
		rc = spot_buf_printf(b,
				     ",\"rows\":%llu,\"files\":%u,"
				     "\"other_files\":%u,\"datasets\":[",
				     (unsigned long long)sc->o.rows, sc->files,
				     sc->others);
	for (size_t i = 0; !rc && i < sc->nds; i++) {
		const struct scan_ds *d = &sc->ds[i];

		rc = spot_buf_printf(b, "%s{\"name\":", i ? "," : "");
		if (!rc)
			rc = spot_buf_json_str(b, d->rel);
		if (!rc)
			rc = spot_buf_printf(b, ",\"format\":");
		if (!rc && d->f)
			rc = spot_buf_json_str(b, d->f->name);
		else if (!rc)
			rc = spot_buf_printf(b, "null");
		if (!rc)
			rc = spot_buf_printf(b, ",\"listed\":%s,\"skipped\":",
					     scan_ds_listed(d) ? "true"
							       : "false");
		if (!rc && d->skip)
			rc = spot_buf_json_str(b, d->skip);
		else if (!rc)
			rc = spot_buf_printf(b, "null");
		if (!rc)
			rc = spot_buf_printf(b, ",\"tables\":[");
		for (size_t t = 0; !rc && !d->skip && t < d->ntbls; t++) {
			rc = spot_buf_printf(b, "%s", t ? "," : "");
			if (!rc)
				rc = scan_json_tbl(b, &d->tbls[t]);
		}
		if (!rc)
			rc = spot_buf_printf(b, "]}");
	}
	return rc ? rc : spot_buf_printf(b, "]}\n");
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * check_scan.c - `spotfs check`'s report on what the mount serves: column
 * dispositions and personal data seen while building every view, and
 * passthrough files under default: show.
 */
#include "check_scan.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "format.h"
#include "methods.h"
#include "srcdir.h"

#define CHK_PASS_BYTES (1u << 20) /* sampled per passthrough file */
#define CHK_PASS_LINES 2000
#define CHK_PASS_DEPTH 32
#define CHK_PASS_FILES 10000
#define CHK_BINARY_PROBE 8192 /* a NUL in these bytes: not text */
#define CHK_NAME_MAX 256
#define CHK_WHAT_MAX 320

/* What is done to a column for one role (field paths: every one listed). */
struct chk_what {
	char *role;
	char *what;
};

/* One column of one view, over every role built. */
struct chk_rec {
	char *view;
	size_t idx; /* 0-based column index */
	char *col;  /* col_len bytes (may hold a NUL), then a NUL */
	size_t col_len;
	unsigned disps;		/* 1u << enum plan_disp, for every role */
	unsigned kinds;		/* PII kinds seen in raw-served values */
	char *raw_role;		/* first role it was served raw to, or NULL */
	struct chk_what *whats; /* per role, in the order built */
	size_t nwhats;
	size_t ngroup; /* chk_scan_report: records sharing its name */
};

static bool chk_raw(enum plan_disp d)
{
	return d == PLAN_KEPT || d == PLAN_UNLISTED_KEPT || d == PLAN_COMPUTED;
}

/*
 * What is done to a field path for one role, in words: the method (and the
 * rule when it is a pattern or a parent's), Lua, or what an unlisted field
 * gets. {} and [] are served as they are whatever the rule: they hold no
 * value. Names and rules only, never a value.
 */
static void chk_what_text(const struct plan_scan_col *c, char *buf, size_t len)
{
	const struct cfg_column *rule = c->rule;
	char via[CHK_NAME_MAX + 16] = "", name[CHK_NAME_MAX];
	const char *what = "";

	if ((c->flags & PIPE_F_EMPTY) && !(c->flags & PIPE_F_VALUES)) {
		snprintf(buf, len,
			 "{} or [] served as it is (it holds no "
			 "value)");
		return;
	}
	if (rule && (strlen(rule->name) != c->len ||
		     memcmp(rule->name, c->name, c->len))) {
		spot_printable(rule->name, name, sizeof(name));
		snprintf(via, sizeof(via), " (rule '%s')", name);
	}
	switch (c->disp) {
	case PLAN_MASKED:
		what = rule ? msk_method_name(rule->rule.method) : "masked";
		break;
	case PLAN_KEPT:
		what = "keep (served raw)";
		break;
	case PLAN_LUA:
		if (rule && rule->policy_fn) {
			spot_printable(rule->policy_fn, name, sizeof(name));
			snprintf(buf, len, "Lua columns.%s%s", name, via);
			goto empty;
		}
		what = "Lua (its columns[] function)";
		break;
	case PLAN_UNLISTED_KEPT:
		what = "no rule: served raw (unlisted_columns: keep)";
		break;
	case PLAN_REDACTED:
		what = "no rule: served as null (unlisted_columns: redact)";
		break;
	case PLAN_COMPUTED:
		what = "a view's output";
		break;
	}
	snprintf(buf, len, "%s%s", what, via);
empty:
	if (c->flags & PIPE_F_EMPTY)
		snprintf(buf + strlen(buf), len - strlen(buf),
			 "; {} or [] served as it is");
}

/* Note what is done to r for the role being built (once per role). */
static void chk_note_what(struct chk_scan *c, struct chk_rec *r,
			  const struct plan_scan_col *col)
{
	char what[CHK_WHAT_MAX];
	struct chk_what *nw;

	if (!c->role)
		return;
	for (size_t i = 0; i < r->nwhats; i++)
		if (!strcmp(r->whats[i].role, c->role))
			return;
	chk_what_text(col, what, sizeof(what));
	nw = realloc(r->whats, (r->nwhats + 1) * sizeof(*nw));
	if (!nw)
		return;
	r->whats = nw;
	nw[r->nwhats].role = strdup(c->role);
	nw[r->nwhats].what = strdup(what);
	if (!nw[r->nwhats].role || !nw[r->nwhats].what) {
		free(nw[r->nwhats].role);
		free(nw[r->nwhats].what);
		return;
	}
	r->nwhats++;
}

/* FNV-1a of a record's key (view, idx, name). */
static uint64_t chk_key_hash(const char *view, size_t idx, const char *col,
			     size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const char *p = view; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	h = (h ^ idx) * 0x100000001b3ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)col[i]) * 0x100000001b3ull;
	return h;
}

/* The slot of key in c->tab: its record's, or the empty one to use. */
static size_t chk_slot(const struct chk_scan *c, const char *view, size_t idx,
		       const char *col, size_t len)
{
	size_t mask = c->captab - 1;

	for (size_t i = chk_key_hash(view, idx, col, len) & mask;;
	     i = (i + 1) & mask) {
		const struct chk_rec *r;

		if (!c->tab[i])
			return i;
		r = &c->recs[c->tab[i] - 1];
		if (r->idx == idx && r->col_len == len &&
		    !strcmp(r->view, view) && !memcmp(r->col, col, len))
			return i;
	}
}

/* Room for one more record, in recs and in the table (half full). */
static int chk_grow(struct chk_scan *c)
{
	if (c->nrecs == c->caprecs) {
		size_t cap = c->caprecs ? c->caprecs * 2 : 64;
		struct chk_rec *nr = realloc(c->recs, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		c->recs = nr;
		c->caprecs = cap;
	}
	if ((c->nrecs + 1) * 2 > c->captab) {
		size_t cap = c->captab ? c->captab * 2 : 128;
		size_t *t = calloc(cap, sizeof(*t));

		if (!t)
			return -ENOMEM;
		free(c->tab);
		c->tab = t;
		c->captab = cap;
		for (size_t i = 0; i < c->nrecs; i++) {
			const struct chk_rec *r = &c->recs[i];

			c->tab[chk_slot(c, r->view, r->idx, r->col,
					r->col_len)] = i + 1;
		}
	}
	return 0;
}

static void chk_column(void *arg, const char *view,
		       const struct plan_scan_col *pc)
{
	struct chk_scan *c = arg;
	struct chk_rec *r = NULL;
	const char *col = pc->name;
	size_t idx = pc->index, len = pc->len, slot;
	enum plan_disp disp = pc->disp;
	unsigned kinds = pc->pii_kinds;

	pthread_mutex_lock(&c->lock);
	if (chk_grow(c))
		goto out;
	slot = chk_slot(c, view, idx, col, len);
	if (c->tab[slot])
		r = &c->recs[c->tab[slot] - 1];
	if (!r) {
		r = &c->recs[c->nrecs];
		memset(r, 0, sizeof(*r));
		r->view = strdup(view);
		r->col = malloc(len + 1);
		if (!r->view || !r->col) {
			free(r->view);
			free(r->col);
			goto out;
		}
		memcpy(r->col, col, len);
		r->col[len] = 0;
		r->col_len = len;
		r->idx = idx;
		c->tab[slot] = ++c->nrecs;
	}
	r->disps |= 1u << disp;
	r->kinds |= kinds;
	if (chk_raw(disp) && !r->raw_role && c->role)
		r->raw_role = strdup(c->role);
	chk_note_what(c, r, pc);
out:
	pthread_mutex_unlock(&c->lock);
}

void chk_scan_init(struct chk_scan *c)
{
	memset(c, 0, sizeof(*c));
	c->ops.column = chk_column;
	c->ops.arg = c;
	pthread_mutex_init(&c->lock, NULL);
}

static void chk_scan_clear(struct chk_scan *c)
{
	for (size_t i = 0; i < c->nrecs; i++) {
		free(c->recs[i].view);
		free(c->recs[i].col);
		free(c->recs[i].raw_role);
		for (size_t w = 0; w < c->recs[i].nwhats; w++) {
			free(c->recs[i].whats[w].role);
			free(c->recs[i].whats[w].what);
		}
		free(c->recs[i].whats);
	}
	free(c->recs);
	free(c->tab);
	c->recs = NULL;
	c->tab = NULL;
	c->nrecs = c->caprecs = c->captab = 0;
}

void chk_scan_fini(struct chk_scan *c)
{
	chk_scan_clear(c);
	pthread_mutex_destroy(&c->lock);
}

/* ---- personal data by column name ---- */

/* Words of a column name, lower case: "billingEmail" -> billing, email. */
static size_t chk_words(const char *name, char words[][32], size_t max)
{
	size_t n = 0, len = 0;

	for (const char *p = name;; p++) {
		bool alnum = *p && isalnum((unsigned char)*p);
		bool camel = alnum && len && isupper((unsigned char)*p) &&
			     islower((unsigned char)p[-1]);

		if ((!alnum || camel) && len) {
			words[n][len] = 0;
			if (++n == max)
				return n;
			len = 0;
		}
		if (!*p)
			return n;
		if (alnum && len < 31)
			words[n][len++] = (char)tolower((unsigned char)*p);
	}
}

/* What a column's name says it holds ("e-mail address"), or NULL. */
static const char *chk_name_pii(const char *name)
{
	static const char *const exact[][2] = {
		{ "email", "e-mail addresses" },
		{ "mail", "e-mail addresses" },
		{ "ssn", "social security numbers" },
		{ "phone", "phone numbers" },
		{ "tel", "phone numbers" },
		{ "mobile", "phone numbers" },
		{ "card", "card numbers" },
		{ "iban", "bank accounts" },
		{ "dob", "birth dates" },
		{ "birth", "birth dates" },
		{ "birthday", "birth dates" },
		{ "birthdate", "birth dates" },
		{ "name", "names" },
		{ "firstname", "names" },
		{ "lastname", "names" },
		{ "surname", "names" },
		{ "fullname", "names" },
		{ "address", "addresses" },
		{ "street", "addresses" },
		{ "passport", "passport numbers" },
		{ "ip", "IP addresses" },
	};
	char words[16][32];
	size_t n = chk_words(name, words, 16);

	for (size_t w = 0; w < n; w++)
		for (size_t i = 0; i < SPOT_ARRAY_SIZE(exact); i++)
			if (!strcmp(words[w], exact[i][0]) ||
			    (strlen(exact[i][0]) > 3 &&
			     strstr(words[w], exact[i][0])))
				return exact[i][1];
	return NULL;
}

/* ---- report ---- */

/* A rule of d (or Lua columns[] entry) nearly matching col, not exactly. */
static const char *chk_near_rule(const struct cfg_dataset *d,
				 const struct pol_engine *eng,
				 const struct chk_rec *rec)
{
	struct pipe_col pc = { rec->col, rec->col_len, 0, 0 };
	const struct cfg_rules *sets[64];
	size_t n = 0;

	sets[n++] = &d->rules;
	for (size_t i = 0; i < d->nby_role && n < 64; i++)
		sets[n++] = &d->by_role[i].rules;
	for (size_t t = 0; t < d->ntables && n < 63; t++) {
		sets[n++] = &d->tables[t].rules;
		for (size_t i = 0; i < d->tables[t].nby_role && n < 64; i++)
			sets[n++] = &d->tables[t].by_role[i].rules;
	}
	for (size_t s = 0; s < n; s++)
		for (size_t i = 0; i < sets[s]->ncols; i++) {
			const char *r = sets[s]->cols[i].name;

			if (pipe_col_find(&pc, 1, r, strlen(r)) &&
			    plan_suggest(r, &pc, 1))
				return r;
		}
	for (size_t i = 0; eng && i < pol_engine_column_count(eng); i++) {
		const char *r = pol_engine_column_name(eng, i);

		if (pipe_col_find(&pc, 1, r, strlen(r)) &&
		    plan_suggest(r, &pc, 1))
			return r;
	}
	return NULL;
}

static void chk_kinds(unsigned kinds, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (unsigned k = 1; k <= MSK_PII_ALL && off < len; k <<= 1)
		if (kinds & k)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
						off ? ", " : "",
						msk_pii_name(k));
}

/* PII kinds the detectors see in a column's name: then it is a value. */
static unsigned chk_name_kinds(const struct chk_rec *r)
{
	return msk_pii_detect((const uint8_t *)r->col, r->col_len);
}

/* Whether r's name may be printed: no control byte, not a value. */
static bool chk_name_printable(const struct chk_rec *r)
{
	for (size_t i = 0; i < r->col_len; i++)
		if ((unsigned char)r->col[i] < 0x20 || r->col[i] == 0x7f)
			return false;
	return !chk_name_kinds(r);
}

/* "column 'email'", or "column 3 (1-based)" for a name not printable. */
static const char *chk_label(const struct chk_rec *r, char *buf, size_t len)
{
	if (chk_name_printable(r))
		snprintf(buf, len, "column '%s'", r->col);
	else
		snprintf(buf, len, "column %zu (1-based)", r->idx + 1);
	return buf;
}

/* Warnings about the name of a column; the number printed. */
static int chk_name_report(const struct chk_rec *r)
{
	unsigned k = chk_name_kinds(r);
	char kinds[128];
	const char *first;
	int w = 0;

	if (memchr(r->col, 0, r->col_len)) {
		printf("  warning: %s: column %zu (1-based) has a name with a "
		       "NUL byte: no rule can name it (it is unlisted)\n",
		       r->view, r->idx + 1);
		w++;
	}
	if (k) {
		/* Never the name: it is a value (a missing header row). */
		chk_kinds(k, kinds, sizeof(kinds));
		first = msk_pii_name(k & -k);
		printf("  warning: %s: column %zu (1-based) has a name that "
		       "looks like %s %s: is the header missing?\n",
		       r->view, r->idx + 1,
		       strchr("aeiou", first[0]) || first[0] == 's' ? "an"
								    : "a",
		       kinds);
		w++;
	}
	return w;
}

/*
 * A field path of a JSON Lines view and what is done to it: for the first
 * role built (the default role), then for every role that differs.
 */
static void chk_path_report(const struct chk_rec *r)
{
	char name[CHK_NAME_MAX + 32];

	if (chk_name_printable(r))
		snprintf(name, sizeof(name), "field '%s'", r->col);
	else
		snprintf(name, sizeof(name), "field %zu (1-based)", r->idx + 1);
	printf("  %s: %s: %s", r->view, name,
	       r->nwhats ? r->whats[0].what : "?");
	for (size_t i = 1; i < r->nwhats; i++)
		if (strcmp(r->whats[i].what, r->whats[0].what))
			printf("; role %s: %s", r->whats[i].role,
			       r->whats[i].what);
	putchar('\n');
}

/* Warnings about one column; the number printed. */
static int chk_rec_report(const struct cfg_dataset *d,
			  const struct pol_engine *eng, const struct chk_rec *r,
			  bool paths)
{
	bool kept = r->disps & (1u << PLAN_KEPT);
	bool ukept = r->disps & (1u << PLAN_UNLISTED_KEPT);
	bool redacted = r->disps & (1u << PLAN_REDACTED);
	bool computed = r->disps & (1u << PLAN_COMPUTED);
	const char *near = NULL, *what;
	char kinds[128], col[CHK_NAME_MAX + 32];
	int w = chk_name_report(r);

	chk_label(r, col, sizeof(col));
	if (redacted || ukept)
		near = chk_near_rule(d, eng, r);
	if (paths)
		chk_path_report(r); /* every field path, with what is done */
	else if (redacted)
		printf("  unlisted: %s: %s is named by no rule: "
		       "served as NULL (unlisted_columns: redact)\n",
		       r->view, col);
	if (ukept) {
		printf("  warning: %s: %s is named by no rule and "
		       "is served raw (unlisted_columns: keep)\n",
		       r->view, col);
		w++;
	}
	if (near) {
		printf("  warning: %s: %s nearly matches the rule "
		       "'%s' but rules match names exactly: is it the same "
		       "column?\n",
		       r->view, col, near);
		w++;
	}
	if (!kept && !ukept && !computed)
		return w;
	/* Views compute their columns from masked tables: values only. */
	what = (kept || ukept) && chk_name_printable(r) ? chk_name_pii(r->col)
							: NULL;
	if (what) {
		printf("  warning: %s: %s is named like %s but is "
		       "served unmasked to role %s\n",
		       r->view, col, what, r->raw_role ? r->raw_role : "?");
		w++;
	}
	if (r->kinds) {
		chk_kinds(r->kinds, kinds, sizeof(kinds));
		printf("  warning: %s: %s holds values that look "
		       "like %s but is served unmasked to role %s%s\n",
		       r->view, col, kinds, r->raw_role ? r->raw_role : "?",
		       computed ? " (a view's output)" : "");
		w++;
	}
	return w;
}

/* Records by view, then name, then column index. */
static int chk_name_cmp(const void *pa, const void *pb)
{
	const struct chk_rec *a = *(const struct chk_rec *const *)pa;
	const struct chk_rec *b = *(const struct chk_rec *const *)pb;
	int d = strcmp(a->view, b->view);

	if (!d && a->col_len != b->col_len)
		d = a->col_len < b->col_len ? -1 : 1;
	if (!d)
		d = memcmp(a->col, b->col, a->col_len);
	if (!d && a->idx != b->idx)
		d = a->idx < b->idx ? -1 : 1;
	return d;
}

static bool chk_same_name(const struct chk_rec *a, const struct chk_rec *b)
{
	return !strcmp(a->view, b->view) && a->col_len == b->col_len &&
	       !memcmp(a->col, b->col, a->col_len);
}

/*
 * A name two columns of one view share: every rule of that name applies to
 * each (CSV, SQLite views; Parquet refuses the view). Said once per name,
 * at the column of the lowest index (g: its group, n records sorted by
 * index), unless every such column is redacted. The number printed.
 */
static int chk_dup_report(struct chk_rec *const *g, size_t n)
{
	const struct chk_rec *r = g[0];
	const unsigned ruled =
		(1u << PLAN_KEPT) | (1u << PLAN_MASKED) | (1u << PLAN_LUA);
	unsigned disps = 0;
	size_t cols = 0, second = 0;
	char col[CHK_NAME_MAX + 32];

	for (size_t j = 0; j < n; j++) {
		disps |= g[j]->disps;
		if (j && g[j]->idx == g[j - 1]->idx)
			continue; /* one column */
		if (cols++ == 1)
			second = g[j]->idx + 1;
	}
	if (cols < 2 || disps == 1u << PLAN_REDACTED)
		return 0;
	if (chk_name_printable(r))
		snprintf(col, sizeof(col), "column name '%s'", r->col);
	else
		snprintf(col, sizeof(col),
			 "the name of columns %zu, %zu (1-based)", r->idx + 1,
			 second);
	printf("  warning: %s: %s appears %zu times: %s\n", r->view, col, cols,
	       disps & ruled ? "the rule applies to each"
			     : "each is served the same way");
	return 1;
}

int chk_scan_report(struct chk_scan *c, struct sbx *s,
		    const struct cfg_dataset *d)
{
	const struct pol_engine *eng = sbx_engine(s, d);
	const struct view_format *f = view_format_get(sbx_format(s, d));
	bool paths = f && f->field_paths;
	struct chk_rec **by = calloc(c->nrecs ? c->nrecs : 1, sizeof(*by));
	size_t *grp = calloc(c->nrecs ? c->nrecs : 1, sizeof(*grp));
	int w = 0;

	if (by && grp) {
		/* grp[i]: 1 + where record i's group starts in by, when i is
		 * the first column of a name; 0 for the others. */
		for (size_t i = 0; i < c->nrecs; i++)
			by[i] = &c->recs[i];
		qsort(by, c->nrecs, sizeof(*by), chk_name_cmp);
		for (size_t i = 0, j; i < c->nrecs; i = j) {
			for (j = i + 1;
			     j < c->nrecs && chk_same_name(by[i], by[j]); j++)
				;
			grp[by[i] - c->recs] = i + 1;
			by[i]->ngroup = j - i; /* records of the group */
		}
	}
	for (size_t i = 0; i < c->nrecs; i++) {
		w += chk_rec_report(d, eng, &c->recs[i], paths);
		if (by && grp && grp[i])
			w += chk_dup_report(by + grp[i] - 1, c->recs[i].ngroup);
	}
	free(by);
	free(grp);
	chk_scan_clear(c);
	return w;
}

/* ---- passthrough files ---- */

struct chk_walk {
	struct sbx *s;
	unsigned files;
	int warnings;
};

/*
 * Whether the first bytes of a file say it is not text the line scan can
 * read: a NUL byte or many control bytes (binary, UTF-16/32), a byte order
 * mark of UTF-16/32, or the magic of a compressed or archive format.
 */
static bool chk_not_text(const uint8_t *p, size_t len)
{
	static const struct {
		const char *m;
		size_t len;
	} magic[] = {
		{ "\x1f\x8b", 2 },	   /* gzip */
		{ "\x28\xb5\x2f\xfd", 4 }, /* zstd */
		{ "PK\x03\x04", 4 },	   /* zip, xlsx, docx */
		{ "PK\x05\x06", 4 },	   /* empty zip */
		{ "\xfd"
		  "7zXZ",
		  5 },			     /* xz */
		{ "BZh", 3 },		     /* bzip2 */
		{ "7z\xbc\xaf\x27\x1c", 6 }, /* 7-Zip */
		{ "\x04\x22\x4d\x18", 4 },   /* lz4 */
		{ "\xff\xfe", 2 },	     /* UTF-16/32 LE BOM */
		{ "\xfe\xff", 2 },	     /* UTF-16 BE BOM */
		{ "%PDF", 4 },
	};
	size_t probe = len < CHK_BINARY_PROBE ? len : CHK_BINARY_PROBE;
	size_t ctl = 0;

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(magic); i++)
		if (len >= magic[i].len && !memcmp(p, magic[i].m, magic[i].len))
			return true;
	if (memchr(p, 0, probe))
		return true;
	for (size_t i = 0; i < probe; i++)
		if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' &&
		     p[i] != '\r' && p[i] != '\f') ||
		    p[i] == 0x7f)
			ctl++;
	return ctl * 100 > probe; /* more than 1%: not text */
}

/*
 * PII kinds in the text lines of (p, len): the first CHK_PASS_LINES lines
 * (a sample; *sampled set when the file goes on); -1 if it is not text.
 */
static int chk_text_kinds(const uint8_t *p, size_t len, bool *sampled)
{
	unsigned kinds = 0, lines = 0;

	if (chk_not_text(p, len))
		return -1;
	while (len && lines++ < CHK_PASS_LINES) {
		const uint8_t *nl = memchr(p, '\n', len);
		size_t l = nl ? (size_t)(nl - p) : len;

		kinds |= msk_pii_detect(p, l);
		p += l + (nl ? 1 : 0);
		len -= l + (nl ? 1 : 0);
	}
	if (len)
		*sampled = true;
	return (int)kinds;
}

static void chk_pass_file(struct chk_walk *wk, int dirfd, const char *name,
			  const char *rel)
{
	const struct view_format *f;
	uint8_t *buf = malloc(CHK_PASS_BYTES);
	bool sampled = false;
	ssize_t n = -1;
	char kinds[128];
	struct stat st;
	int fd, k;

	(void)dirfd;
	(void)name;
	if (src_open(wk->s->srcfd, rel, &fd, &st))
		fd = -1; /* confined, regular files only (srcdir.h) */
	if (fd >= 0 && buf)
		n = pread(fd, buf, CHK_PASS_BYTES, 0);
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		free(buf);
		return;
	}
	if (n > 0 && (uint64_t)n < (uint64_t)st.st_size)
		sampled = true;
	if ((f = view_format_by_magic(buf, (size_t)n))) {
		printf("  warning: %s: a %s file the config does not name: the "
		       "mount serves it raw (default: show)\n",
		       rel, f->title);
		wk->warnings++;
		sampled = false;
	} else if ((k = chk_text_kinds(buf, (size_t)n, &sampled)) < 0) {
		/* Unread is not clean: say so rather than give an all-clear. */
		printf("  warning: %s: passthrough file served raw, not "
		       "scanned (binary/compressed): check reads text only "
		       "(default: show)\n",
		       rel);
		wk->warnings++;
		sampled = false;
	} else if (k > 0) {
		chk_kinds((unsigned)k, kinds, sizeof(kinds));
		printf("  warning: %s: passthrough file holds text that looks "
		       "like %s: the mount serves it raw (default: show; "
		       "scanned: a sample of its first %u lines, %u KiB)\n",
		       rel, kinds, CHK_PASS_LINES, CHK_PASS_BYTES >> 10);
		wk->warnings++;
		sampled = false;
	}
	if (sampled)
		printf("  note: %s: passthrough file scanned only in its first "
		       "%u lines or %u KiB (a sample): the rest is served raw "
		       "unchecked (default: show)\n",
		       rel, CHK_PASS_LINES, CHK_PASS_BYTES >> 10);
	free(buf);
}

static void chk_pass_dir(struct chk_walk *wk, int dirfd, const char *rel,
			 int depth)
{
	DIR *dir;
	struct dirent *e;

	dir = fdopendir(dirfd);
	if (!dir) {
		close(dirfd);
		return;
	}
	while ((e = readdir(dir)) && wk->files < CHK_PASS_FILES) {
		char path[PATH_MAX];
		struct stat st;
		int sub;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", rel,
				     rel[0] ? "/" : "",
				     e->d_name) >= sizeof(path) ||
		    fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (cfg_dataset_find(wk->s->cfg, path))
			continue; /* served masked */
		if (S_ISDIR(st.st_mode) && depth < CHK_PASS_DEPTH) {
			if (!src_opendir(wk->s->srcfd, path, &sub))
				chk_pass_dir(wk, sub, path, depth + 1);
		} else if (S_ISREG(st.st_mode) &&
			   !sbx_is_dataset_file(wk->s, path, &st)) {
			/* (a dataset's hard link or journal: never served) */
			wk->files++;
			chk_pass_file(wk, dirfd, e->d_name, path);
		}
		/* Symlinks, FIFOs, sockets, devices: never opened. */
	}
	closedir(dir);
}

int chk_passthrough(struct sbx *s)
{
	struct chk_walk wk = { s, 0, 0 };
	int fd;

	if (s->cfg->dflt != CFG_DEFAULT_SHOW)
		return 0;
	if (!src_opendir(s->srcfd, "", &fd))
		chk_pass_dir(&wk, fd, "", 0);
	return wk.warnings;
}

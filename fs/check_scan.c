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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "methods.h"

#define CHK_PASS_BYTES (1u << 20) /* sampled per passthrough file */
#define CHK_PASS_LINES 2000
#define CHK_PASS_DEPTH 32
#define CHK_PASS_FILES 10000
#define CHK_BINARY_PROBE 8192 /* a NUL in these bytes: not text */
#define CHK_NAME_MAX 256

/* One column of one view, over every role built. */
struct chk_rec {
	char *view;
	char *col;
	unsigned disps; /* 1u << enum plan_disp, for every role */
	unsigned kinds; /* PII kinds seen in raw-served values */
	char *raw_role; /* first role it was served raw to, or NULL */
};

static bool chk_raw(enum plan_disp d)
{
	return d == PLAN_KEPT || d == PLAN_UNLISTED_KEPT || d == PLAN_COMPUTED;
}

static void chk_column(void *arg, const char *view, const char *col,
		       enum plan_disp disp, unsigned kinds)
{
	struct chk_scan *c = arg;
	struct chk_rec *r = NULL;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nrecs && !r; i++)
		if (!strcmp(c->recs[i].view, view) &&
		    !strcmp(c->recs[i].col, col))
			r = &c->recs[i];
	if (!r) {
		struct chk_rec *nr =
			realloc(c->recs, (c->nrecs + 1) * sizeof(*nr));

		if (!nr)
			goto out;
		c->recs = nr;
		r = &c->recs[c->nrecs];
		memset(r, 0, sizeof(*r));
		r->view = strdup(view);
		r->col = strdup(col);
		if (!r->view || !r->col) {
			free(r->view);
			free(r->col);
			goto out;
		}
		c->nrecs++;
	}
	r->disps |= 1u << disp;
	r->kinds |= kinds;
	if (chk_raw(disp) && !r->raw_role && c->role)
		r->raw_role = strdup(c->role);
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
	}
	free(c->recs);
	c->recs = NULL;
	c->nrecs = 0;
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
				 const struct pol_engine *eng, const char *col)
{
	struct pipe_col pc = { (char *)col, strlen(col), 0, 0 };
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

			if (strcmp(r, col) && plan_suggest(r, &pc, 1))
				return r;
		}
	for (size_t i = 0; eng && i < pol_engine_column_count(eng); i++) {
		const char *r = pol_engine_column_name(eng, i);

		if (strcmp(r, col) && plan_suggest(r, &pc, 1))
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

/* Warnings about one column; the number printed. */
static int chk_rec_report(const struct cfg_dataset *d,
			  const struct pol_engine *eng, const struct chk_rec *r)
{
	bool kept = r->disps & (1u << PLAN_KEPT);
	bool ukept = r->disps & (1u << PLAN_UNLISTED_KEPT);
	bool redacted = r->disps & (1u << PLAN_REDACTED);
	bool computed = r->disps & (1u << PLAN_COMPUTED);
	const char *near = NULL, *what;
	char kinds[128];
	int w = 0;

	if (redacted || ukept)
		near = chk_near_rule(d, eng, r->col);
	if (redacted)
		printf("  unlisted: %s: column '%s' is named by no rule: "
		       "served as NULL (unlisted_columns: redact)\n",
		       r->view, r->col);
	if (ukept) {
		printf("  warning: %s: column '%s' is named by no rule and "
		       "is served raw (unlisted_columns: keep)\n",
		       r->view, r->col);
		w++;
	}
	if (near) {
		printf("  warning: %s: column '%s' nearly matches the rule "
		       "'%s' but rules match names exactly: is it the same "
		       "column?\n",
		       r->view, r->col, near);
		w++;
	}
	if (!kept && !ukept && !computed)
		return w;
	/* Views compute their columns from masked tables: values only. */
	what = (kept || ukept) ? chk_name_pii(r->col) : NULL;
	if (what) {
		printf("  warning: %s: column '%s' is named like %s but is "
		       "served unmasked to role %s\n",
		       r->view, r->col, what, r->raw_role ? r->raw_role : "?");
		w++;
	}
	if (r->kinds) {
		chk_kinds(r->kinds, kinds, sizeof(kinds));
		printf("  warning: %s: column '%s' holds values that look "
		       "like %s but is served unmasked to role %s%s\n",
		       r->view, r->col, kinds, r->raw_role ? r->raw_role : "?",
		       computed ? " (a view's output)" : "");
		w++;
	}
	return w;
}

int chk_scan_report(struct chk_scan *c, struct sbx *s,
		    const struct cfg_dataset *d)
{
	const struct pol_engine *eng = sbx_engine(s, d);
	int w = 0;

	for (size_t i = 0; i < c->nrecs; i++)
		w += chk_rec_report(d, eng, &c->recs[i]);
	chk_scan_clear(c);
	return w;
}

/* ---- passthrough files ---- */

struct chk_walk {
	struct sbx *s;
	unsigned files;
	int warnings;
};

/* PII kinds in the text lines of (p, len); -1 if it is not text. */
static int chk_text_kinds(const uint8_t *p, size_t len)
{
	unsigned kinds = 0, lines = 0;
	size_t probe = len < CHK_BINARY_PROBE ? len : CHK_BINARY_PROBE;

	if (memchr(p, 0, probe))
		return -1;
	while (len && lines++ < CHK_PASS_LINES) {
		const uint8_t *nl = memchr(p, '\n', len);
		size_t l = nl ? (size_t)(nl - p) : len;

		kinds |= msk_pii_detect(p, l);
		p += l + (nl ? 1 : 0);
		len -= l + (nl ? 1 : 0);
	}
	return (int)kinds;
}

static void chk_pass_file(struct chk_walk *wk, int dirfd, const char *name,
			  const char *rel)
{
	static const uint8_t sqlite_magic[16] = "SQLite format 3";
	uint8_t *buf = malloc(CHK_PASS_BYTES);
	ssize_t n = -1;
	char kinds[128];
	int fd, k;

	fd = openat(dirfd, name,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0 && buf)
		n = pread(fd, buf, CHK_PASS_BYTES, 0);
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		free(buf);
		return;
	}
	if ((n >= 4 && !memcmp(buf, "PAR1", 4)) ||
	    (n >= 16 && !memcmp(buf, sqlite_magic, 16))) {
		printf("  warning: %s: a %s file the config does not name: the "
		       "mount serves it raw (default: show)\n",
		       rel, buf[0] == 'P' ? "Parquet" : "SQLite");
		wk->warnings++;
	} else if ((k = chk_text_kinds(buf, (size_t)n)) > 0) {
		chk_kinds((unsigned)k, kinds, sizeof(kinds));
		printf("  warning: %s: passthrough file holds text that looks "
		       "like %s: the mount serves it raw (default: show)\n",
		       rel, kinds);
		wk->warnings++;
	}
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
			sub = openat(dirfd, e->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC);
			if (sub >= 0)
				chk_pass_dir(wk, sub, path, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
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
	fd = openat(s->srcfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		chk_pass_dir(&wk, fd, "", 0);
	return wk.warnings;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox_sqlite.c - what a dataset holding tables of its own (SQLite)
 * serves: its folder's name, the tables and views the config names
 * (tables:, db_views:, views:), which of them may be served, and the SQL
 * of views. The database itself is read through the table of formats.
 */
#include "sandbox_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void sbx_sqlite_dirname(const struct cfg_dataset *d, char *buf, size_t len)
{
	const char *base = strrchr(d->name, '/');
	const struct view_format *f;
	size_t n;

	base = base ? base + 1 : d->name;
	n = strlen(base);
	f = view_format_by_suffix(base);
	for (const char *const *s = f && f->objects ? f->suffixes : NULL;
	     s && *s; s++) {
		size_t k = strlen(*s);

		if (n > k && strcasecmp(base + n - k, *s) == 0) {
			snprintf(buf, len, "%.*s", (int)(n - k), base);
			return;
		}
	}
	snprintf(buf, len, "%s.d", base);
}

/*
 * Add name to the list, once; a name that looks like personal data is
 * counted in *withheld instead (its kinds or'ed into *kinds).
 */
static int sbx_names_add(char ***names, size_t *n, const char *name,
			 size_t *withheld, unsigned *kinds)
{
	unsigned k = msk_pii_detect((const uint8_t *)name, strlen(name));
	char **nn;

	if (k) {
		(*withheld)++;
		*kinds |= k;
		return 0;
	}

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*names)[i], name))
			return 0; /* a view named like a table: listed once */
	nn = realloc(*names, (*n + 1) * sizeof(*nn));
	if (!nn)
		return -ENOMEM;
	*names = nn;
	nn[*n] = strdup(name);
	if (!nn[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

void sbx_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * The kind of name in a database's list, ignoring ASCII case as SQLite
 * does; 0 when the database has no such table or view.
 */
static unsigned sbx_sqlite_kind(char **names, const unsigned *kinds, size_t n,
				const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(names[i], name))
			return kinds[i];
	return 0;
}

/*
 * Only what is named: ordinary tables when no table is named (or with
 * "tables: all"), never virtual, shadow or sqlite_* tables; with db_views
 * the database's views and nothing else.
 */
int sbx_sqlite_objs(struct sbx *s, const struct cfg_dataset *d, char ***names,
		    size_t *n, size_t *withheld, unsigned *pii_kinds,
		    struct spot_err *err)
{
	const struct view_format *f = view_format_get(sbx_format(s, d));
	struct sbx_src src;
	char **all = NULL;
	unsigned *kinds = NULL, wk = 0;
	size_t nall = 0, w = 0;
	bool every = d->all_tables || (!d->ntables && !d->nviews);
	int rc;

	*names = NULL;
	*n = 0;
	if (withheld)
		*withheld = 0;
	if (pii_kinds)
		*pii_kinds = 0;
	if (!f || !f->objects) {
		spot_err_set(err, "not a database");
		return -ENOTDIR;
	}
	rc = sbx_src_open(s, d, true, &src, err);
	if (!rc && (every || d->db_views))
		rc = f->objects->list(src.path, &all, &kinds, &nall, err);
	for (size_t i = 0; !rc && every && i < nall; i++)
		if (kinds[i] == VIEW_SQL_TABLE)
			rc = sbx_names_add(names, n, all[i], &w, &wk);
	for (size_t i = 0; !rc && i < d->ntables; i++)
		rc = sbx_names_add(names, n, d->tables[i].name, &w, &wk);
	for (size_t i = 0; !rc && d->db_views && i < nall; i++)
		if (kinds[i] == VIEW_SQL_VIEW)
			rc = sbx_names_add(names, n, all[i], &w, &wk);
	for (size_t i = 0; !rc && i < d->nviews; i++)
		rc = sbx_names_add(names, n, d->views[i].name, &w, &wk);
	if (all)
		view_names_free(all, nall);
	free(kinds);
	rc = sbx_src_check(&src, rc, err);
	sbx_src_close(&src);
	if (rc) {
		if (rc == -ENOMEM)
			spot_err_set(err, "out of memory");
		sbx_names_free(*names, *n);
		*names = NULL;
		*n = 0;
		return rc;
	}
	if (withheld)
		*withheld = w;
	if (pii_kinds)
		*pii_kinds = wk;
	return 0;
}

/* Errors that say nothing about the database: the next call tries again. */
static bool sbx_err_transient(int rc)
{
	return rc == -ENOMEM || rc == -EIO || rc == -EAGAIN || rc == -EBUSY ||
	       rc == -EINTR || rc == -ESTALE || rc == -ECANCELED;
}

/* What sbx_sqlite_withheld says of o's withheld names, in msg. */
static const char *sbx_withheld_text(const struct cfg_dataset *d,
				     const struct sbx_objs *o, char *msg,
				     size_t len)
{
	char pn[PATH_MAX];

	spot_printable(d->name, pn, sizeof(pn));
	snprintf(msg, len,
		 "%s: %zu table%s or view%s ha%s a name that looks like %s: "
		 "not served (not listed, not in the manifest or the masked "
		 "database): names are served as they are",
		 pn, o->withheld, o->withheld > 1 ? "s" : "",
		 o->withheld > 1 ? "s" : "", o->withheld > 1 ? "ve" : "s",
		 msk_pii_name(o->withheld_kinds & -o->withheld_kinds));
	return msg;
}

int sbx_sqlite_objs_get(struct sbx *s, const struct cfg_dataset *d,
			const struct sbx_objs **out)
{
	struct sbx_objs *o = &s->objs[d - s->cfg->datasets];
	struct spot_err err = { "" };
	char msg[PATH_MAX + 256];
	int rc;

	pthread_mutex_lock(&s->lock);
	if (!o->listed) {
		o->err = sbx_sqlite_objs(s, d, &o->names, &o->n, &o->withheld,
					 &o->withheld_kinds, &err);
		/* A transient failure (memory, I/O) once emptied the folder
		 * for the sandbox's life (found by fault injection). */
		o->listed = !sbx_err_transient(o->err);
		if (o->err)
			spot_log(SPOT_LOG_ERR, "%s: %s", d->name, err.msg);
		else if (o->withheld)
			spot_log(SPOT_LOG_WARN, "%s",
				 sbx_withheld_text(d, o, msg, sizeof(msg)));
	}
	rc = o->err;
	if (!o->listed)
		o->err = 0;
	pthread_mutex_unlock(&s->lock);
	*out = rc ? NULL : o;
	return o->listed || !rc ? 0 : rc;
}

const struct sbx_objs *sbx_sqlite_objs_cached(struct sbx *s,
					      const struct cfg_dataset *d)
{
	const struct sbx_objs *o;

	sbx_sqlite_objs_get(s, d, &o);
	return o;
}

size_t sbx_sqlite_withheld(struct sbx *s, const struct cfg_dataset *d,
			   char *msg, size_t len)
{
	const struct sbx_objs *o;

	if (!sbx_has_objects(s, d) || sbx_sqlite_objs_get(s, d, &o) || !o ||
	    !o->withheld)
		return 0;
	sbx_withheld_text(d, o, msg, len);
	return o->withheld;
}

/*
 * Why a served name that is not an ordinary table or a view may not be
 * served, or NULL. Virtual tables (FTS, rtree) and their shadow tables
 * hold copies of other tables' text and tokens: only a table named in
 * tables: with column rules of its own is served.
 */
static const char *sbx_sqlite_refusal(const struct cfg_dataset *d,
				      const char *name, unsigned kind)
{
	const struct cfg_table *t = NULL;

	for (size_t i = 0; i < d->ntables; i++)
		if (!strcmp(d->tables[i].name, name))
			t = &d->tables[i];
	if (kind == VIEW_SQL_INTERNAL || strncasecmp(name, "sqlite_", 7) == 0)
		return "an internal SQLite table, never served";
	if (kind != VIEW_SQL_VIRTUAL && kind != VIEW_SQL_SHADOW)
		return NULL;
	if (t && (t->rules.ncols || t->nby_role))
		return NULL;
	return kind == VIEW_SQL_VIRTUAL
		       ? "a virtual table (FTS, rtree...), served only when "
			 "named in tables: with column rules"
		       : "a virtual table's shadow table, served only when "
			 "named in tables: with column rules";
}

/*
 * The objects a SQLite dataset serves, with SQL for views: configured ones
 * from the config, the database's own (db_views, or a view named in
 * tables:) from its schema, so that they read masked tables. Tables have
 * none.
 */
static int sbx_sqlite_objlist(struct sbx *s, const struct cfg_dataset *d,
			      const struct view_format *f, const char *path,
			      struct view_sqlobj **out, char ***owned,
			      size_t *n, struct spot_err *err)
{
	const struct sbx_objs *o = sbx_sqlite_objs_cached(s, d);
	char **all = NULL, **sqls;
	unsigned *kinds = NULL, kind;
	size_t nall = 0;
	int rc = 0;

	if (!o) {
		spot_err_set(err, "cannot list the database's tables");
		return -EIO;
	}
	*out = calloc(o->n ? o->n : 1, sizeof(**out));
	sqls = calloc(o->n ? o->n : 1, sizeof(*sqls));
	if (!*out || !sqls) {
		free(*out);
		*out = NULL;
		free(sqls);
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	rc = f->objects->list(path, &all, &kinds, &nall, err);
	for (size_t i = 0; !rc && i < o->n; i++) {
		(*out)[i].name = o->names[i];
		for (size_t v = 0; v < d->nviews; v++)
			if (!strcmp(d->views[v].name, o->names[i]))
				(*out)[i].sql = d->views[v].sql;
		if ((*out)[i].sql)
			continue;
		kind = sbx_sqlite_kind(all, kinds, nall, o->names[i]);
		(*out)[i].refused = sbx_sqlite_refusal(d, o->names[i], kind);
		if (kind != VIEW_SQL_VIEW)
			continue;
		rc = f->objects->view_sql(path, o->names[i], &sqls[i], err);
		(*out)[i].sql = sqls[i];
	}
	if (all)
		view_names_free(all, nall);
	free(kinds);
	*owned = sqls;
	*n = o->n;
	return rc;
}

/* Whether d has dataset-wide column rules (defaults for every table). */
static bool sbx_ds_rules(const struct cfg_dataset *d)
{
	for (size_t i = 0; i < d->nby_role; i++)
		if (d->by_role[i].rules.ncols)
			return true;
	return d->rules.ncols > 0;
}

int sbx_objs_prepare(struct sbx *s, const struct cfg_dataset *d,
		     const struct view_format *f, const char *path,
		     const char *sub, struct sbx_bind *b,
		     struct view_sqlobj **objs, char ***sqls, size_t *n,
		     struct spot_err *err)
{
	size_t which = SIZE_MAX;
	int rc;

	*objs = NULL;
	*sqls = NULL;
	*n = 0;
	rc = sbx_sqlite_objlist(s, d, f, path, objs, sqls, n, err);
	for (size_t i = 0; !rc && sub[0] && i < *n; i++)
		if (!strcmp((*objs)[i].name, sub))
			which = i;
	if (!rc && sub[0] && which == SIZE_MAX) {
		spot_err_set(err, "no table or view '%s'", sub);
		rc = -ENOENT;
	}
	b->objs = *objs;
	b->nobjs = *n;
	if (!rc && sbx_ds_rules(d))
		rc = f->objects->columns(path, *objs, *n, &b->ds_cols,
					 &b->nds_cols, err);
	return rc;
}

void sbx_objs_free(struct view_sqlobj *objs, char **sqls, size_t n)
{
	for (size_t i = 0; sqls && i < n; i++)
		free(sqls[i]);
	free(sqls);
	free(objs);
}

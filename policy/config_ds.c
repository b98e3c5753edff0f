/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config_ds.c - the roles and datasets of a config (see config.c): roles
 * with their users and groups, column rules (method: or policy:) of
 * datasets, tables and role overrides, and each dataset's format, policy,
 * allow: list and SQLite tables and views.
 */
#include "config_i.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_PW_BUF_MAX (1u << 20)
/* Each name costs an NSS lookup (a file scan, maybe a network call). */
#define CFG_MAX_NAME_LOOKUPS 1024

/* ---- roles ---- */

/* A user or group id: a number, or a name from the passwd/group database. */
static int cfg_lookup_id(bool group, const char *name, uint32_t *out)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	size_t size = 16384;
	char *buf, *end;
	unsigned long long v;
	int rc;

	if (name[0] >= '0' && name[0] <= '9') {
		errno = 0;
		v = strtoull(name, &end, 10);
		if (*end || errno || v >= (uint32_t)-1)
			return -ERANGE;
		*out = (uint32_t)v;
		return 0;
	}
	for (;;) {
		buf = malloc(size);
		if (!buf)
			return -ENOMEM;
		if (group)
			rc = getgrnam_r(name, &gr, buf, size, &grp);
		else
			rc = getpwnam_r(name, &pw, buf, size, &pwp);
		if (rc != ERANGE || size >= CFG_PW_BUF_MAX)
			break;
		free(buf);
		size *= 2;
	}
	if (!rc && (grp || pwp))
		*out = group ? (uint32_t)grp->gr_gid : (uint32_t)pwp->pw_uid;
	else
		rc = -ENOENT;
	free(buf);
	return rc;
}

static int cfg_role_ids(struct cfg_ctx *x, const struct cfg_node *n, bool group,
			const char *role, uint32_t **out, size_t *nout)
{
	const char *what = group ? "group" : "user";
	const struct cfg_node *one = n;
	const char *s;
	size_t i, cnt = 1;
	int rc;

	if (cfg_node_is_null(n))
		return 0;
	if (n->kind == CFG_NODE_SEQ) {
		cnt = n->n;
	} else if ((rc = cfg_expect(x, n, CFG_NODE_SCALAR, "users/groups"))) {
		return rc;
	}
	*out = calloc(cnt ? cnt : 1, sizeof(**out));
	if (!*out)
		return cfg_oom(x);
	for (i = 0; i < cnt; i++) {
		if (n->kind == CFG_NODE_SEQ)
			one = n->kids[i];
		if ((rc = cfg_str(x, one, what, &s)))
			return rc;
		if (!(s[0] >= '0' && s[0] <= '9') &&
		    ++x->name_lookups > CFG_MAX_NAME_LOOKUPS)
			return cfg_fail(x, one,
					"more than %d user and group names "
					"(use numeric ids)",
					CFG_MAX_NAME_LOOKUPS);
		rc = cfg_lookup_id(group, s, &(*out)[i]);
		if (rc == -ENOMEM)
			return cfg_oom(x);
		if (rc == -ERANGE)
			return cfg_fail(x, one, "%s id '%.40s' out of range",
					what, one->s);
		if (rc)
			return cfg_fail(x, one,
					"unknown %s '%.80s' in role '%.80s'",
					what, one->s, role);
		(*nout)++;
	}
	return 0;
}

int cfg_roles(struct cfg_ctx *x, const struct cfg_node *root)
{
	static const char *const keys[] = { "users", "groups", "quota", NULL };
	const struct cfg_node *n = cfg_node_get(root, "roles"), *v, *k;
	struct cfg_role *r;
	size_t i;
	int rc;

	if (!n || cfg_node_is_null(n))
		return 0;
	if ((rc = cfg_expect(x, n, CFG_NODE_MAP, "roles")))
		return rc;
	x->c->roles = calloc(n->n / 2 + 1, sizeof(*x->c->roles));
	if (!x->c->roles)
		return cfg_oom(x);
	for (i = 0; i < n->n; i += 2) {
		k = n->kids[i];
		v = n->kids[i + 1];
		r = &x->c->roles[x->c->nroles++];
		r->line = k->line;
		r->col = k->col;
		if (!k->len)
			return cfg_fail(x, k, "empty role name");
		if ((rc = cfg_strdup(x, k->s, &r->name)))
			return rc;
		if (cfg_node_is_null(v))
			continue;
		if ((rc = cfg_expect(x, v, CFG_NODE_MAP, "a role")) ||
		    (rc = cfg_check_keys(x, v, keys, "a role")))
			return rc;
		if ((k = cfg_node_get(v, "users")) &&
		    (rc = cfg_role_ids(x, k, false, r->name, &r->uids,
				       &r->nuids)))
			return rc;
		if ((k = cfg_node_get(v, "groups")) &&
		    (rc = cfg_role_ids(x, k, true, r->name, &r->gids,
				       &r->ngids)))
			return rc;
		if ((rc = cfg_quota_parse(x, cfg_node_get(v, "quota"),
					  &r->quota)))
			return rc;
	}
	return 0;
}

static int cfg_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted role names, so checking a long allow: list stays cheap. */
int cfg_role_index(struct cfg_ctx *x)
{
	size_t i;

	x->role_index = calloc(x->c->nroles + 1, sizeof(*x->role_index));
	if (!x->role_index)
		return cfg_oom(x);
	for (i = 0; i < x->c->nroles; i++)
		x->role_index[i] = x->c->roles[i].name;
	qsort(x->role_index, x->c->nroles, sizeof(*x->role_index),
	      cfg_name_cmp);
	return 0;
}

/* A role name that "allow:" or "roles:" of a dataset may use. */
static int cfg_role_known(struct cfg_ctx *x, const struct cfg_node *n)
{
	const struct cfg *c = x->c;
	const char *key = n->s;
	char list[256];
	size_t i, off;

	if (!strcmp(n->s, c->default_role) ||
	    bsearch(&key, x->role_index, c->nroles, sizeof(*x->role_index),
		    cfg_name_cmp))
		return 0;
	off = (size_t)snprintf(list, sizeof(list), "%s", c->default_role);
	for (i = 0; i < c->nroles && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, ", %s",
					c->roles[i].name);
	return cfg_fail(x, n, "undefined role '%.80s' (roles: %s)", n->s, list);
}

/* ---- column rules ---- */

/*
 * Report an msk_rule_set/check error at n, with the column's and the
 * dataset's names.
 */
static int cfg_msk_fail(struct cfg_ctx *x, const struct cfg_node *n,
			const struct cfg_dataset *d,
			const struct cfg_column *col, int rc)
{
	char msg[SPOT_ERR_MAX];

	if (rc == -ENOMEM)
		return cfg_oom(x);
	snprintf(msg, sizeof(msg), "%s", x->err ? x->err->msg : "");
	return cfg_fail(x, n, "column '%.80s': %s (dataset '%.80s')", col->name,
			msg, d->name);
}

static int cfg_method(struct cfg_ctx *x, const struct cfg_node *n,
		      struct cfg_column *col)
{
	enum msk_method m;
	char list[256];
	size_t off = 0;
	const char *s;
	int i, rc = cfg_str(x, n, "method", &s);

	if (rc)
		return rc;
	if (!msk_method_parse(s, &m)) {
		msk_rule_init(&col->rule, m);
		col->has_rule = true;
		return 0;
	}
	list[0] = 0;
	for (i = 0; i < MSK_METHOD_COUNT && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
					i ? ", " : "",
					msk_method_name((enum msk_method)i));
	return cfg_fail(
		x, n, "unknown method '%.40s' for column '%.80s' (methods: %s)",
		s, col->name, list);
}

/* "{ method: hash, length: 12 }": parameters go to msk_rule_set. */
static int cfg_method_params(struct cfg_ctx *x, const struct cfg_dataset *d,
			     const struct cfg_node *v, struct cfg_column *col)
{
	const struct cfg_node *k, *val;
	size_t i;
	int rc;

	for (i = 0; i < v->n; i += 2) {
		k = v->kids[i];
		val = v->kids[i + 1];
		if (!strcmp(k->s, "method") || !strcmp(k->s, "optional"))
			continue;
		if ((rc = cfg_expect(x, val, CFG_NODE_SCALAR, "a parameter")))
			return rc;
		rc = msk_rule_set(&col->rule, k->s, val->s, x->err);
		if (rc)
			return cfg_msk_fail(x, rc == -ENOENT ? k : val, d, col,
					    rc);
	}
	return 0;
}

static int cfg_column(struct cfg_ctx *x, const struct cfg_dataset *d,
		      const struct cfg_node *k, const struct cfg_node *v,
		      struct cfg_column *col)
{
	static const char *const pkeys[] = { "policy", "optional", NULL };
	const struct cfg_node *m, *p, *o;
	const char *s;
	int rc;

	col->line = k->line;
	col->col = k->col;
	if (!k->len)
		return cfg_fail(x, k, "empty column name");
	if ((rc = cfg_strdup(x, k->s, &col->name)))
		return rc;
	if (v->kind == CFG_NODE_SCALAR) {
		rc = cfg_method(x, v, col); /* shorthand "email: hash" */
	} else if (!(rc = cfg_expect(x, v, CFG_NODE_MAP, "a column rule"))) {
		m = cfg_node_get(v, "method");
		p = cfg_node_get(v, "policy");
		o = cfg_node_get(v, "optional");
		if (o && (rc = cfg_bool(x, o, "optional", &col->optional)))
			return rc;
		if (p) {
			if (m)
				return cfg_fail(x, p,
						"column '%.80s' takes method: "
						"or policy:, not both",
						col->name);
			if ((rc = cfg_check_keys(x, v, pkeys, "a column")) ||
			    (rc = cfg_str(x, p, "policy", &s)))
				return rc;
			if (!d->policy)
				return cfg_fail(x, p,
						"column '%.80s' uses policy: "
						"but dataset '%.80s' has no "
						"policy: file",
						col->name, d->name);
			return cfg_strdup(x, s, &col->policy_fn);
		}
		if (!m)
			return cfg_fail(
				x, v, "column '%.80s' needs method: or policy:",
				col->name);
		if (!(rc = cfg_method(x, m, col)))
			rc = cfg_method_params(x, d, v, col);
	}
	if (rc)
		return rc;
	rc = msk_rule_check(&col->rule, x->err);
	return rc ? cfg_msk_fail(x, k, d, col, rc) : 0;
}

static int cfg_rules(struct cfg_ctx *x, const struct cfg_dataset *d,
		     const struct cfg_node *n, struct cfg_rules *r)
{
	size_t i;
	int rc;

	if (!n || cfg_node_is_null(n))
		return 0;
	if ((rc = cfg_expect(x, n, CFG_NODE_MAP, "columns")))
		return rc;
	r->cols = calloc(n->n / 2 + 1, sizeof(*r->cols));
	if (!r->cols)
		return cfg_oom(x);
	r->ncols = n->n / 2;
	for (i = 0; i < r->ncols; i++)
		if ((rc = cfg_column(x, d, n->kids[2 * i], n->kids[2 * i + 1],
				     &r->cols[i])))
			return rc;
	return 0;
}

/* "roles: { steward: { columns: {...} } }" of a dataset or table. */
static int cfg_by_role(struct cfg_ctx *x, const struct cfg_dataset *d,
		       const struct cfg_node *n, struct cfg_role_rules **out,
		       size_t *nout)
{
	static const char *const keys[] = { "columns", NULL };
	const struct cfg_node *k, *v;
	size_t i;
	int rc;

	if (!n || cfg_node_is_null(n))
		return 0;
	if ((rc = cfg_expect(x, n, CFG_NODE_MAP, "roles")))
		return rc;
	*out = calloc(n->n / 2 + 1, sizeof(**out));
	if (!*out)
		return cfg_oom(x);
	*nout = n->n / 2;
	for (i = 0; i < *nout; i++) {
		k = n->kids[2 * i];
		v = n->kids[2 * i + 1];
		if ((rc = cfg_role_known(x, k)) ||
		    (rc = cfg_strdup(x, k->s, &(*out)[i].role)))
			return rc;
		if (cfg_node_is_null(v))
			continue;
		if ((rc = cfg_expect(x, v, CFG_NODE_MAP, "a role override")) ||
		    (rc = cfg_check_keys(x, v, keys, "a role override")) ||
		    (rc = cfg_rules(x, d, cfg_node_get(v, "columns"),
				    &(*out)[i].rules)))
			return rc;
	}
	return 0;
}

/* ---- datasets ---- */

/*
 * The formats any format may be served as (as:), as VIEW_FMT_BIT bits: the
 * other forms, and a format that has some is its own (jsonl in as: [jsonl,
 * csv] means native).
 */
static unsigned cfg_as_forms(void)
{
	unsigned forms = 0;

	for (int f = VIEW_FMT_UNKNOWN + 1; f < VIEW_FMT_COUNT; f++) {
		const struct view_format *e = view_format_get((enum view_fmt)f);

		forms |= e->forms | (e->forms ? VIEW_FMT_BIT(f) : 0);
	}
	return forms;
}

/* "first, a, b, c": first then the names of the formats in bits. */
static void cfg_fmt_list(char *buf, size_t len, const char *first,
			 unsigned bits)
{
	size_t n = (size_t)snprintf(buf, len, "%s", first);

	for (int f = VIEW_FMT_UNKNOWN + 1; f < VIEW_FMT_COUNT && n < len; f++)
		if (bits & VIEW_FMT_BIT(f))
			n += (size_t)snprintf(buf + n, len - n, ", %s",
					      view_fmt_name((enum view_fmt)f));
}

static int cfg_ds_format(struct cfg_ctx *x, struct cfg_dataset *d,
			 const struct cfg_node *v)
{
	const struct view_format *f;
	const struct cfg_node *n, *e;
	unsigned forms = cfg_as_forms();
	char names[128];
	const char *s;
	size_t i;
	int rc;

	if ((n = cfg_node_get(v, "format"))) {
		if ((rc = cfg_str(x, n, "format", &s)))
			return rc;
		f = view_format_by_name(s);
		if (!f && strcmp(s, "auto")) {
			cfg_fmt_list(names, sizeof(names), "auto", ~0u);
			return cfg_fail(x, n,
					"unknown format '%.40s' (formats: %s)",
					s, names);
		}
		d->format = f ? f->id : VIEW_FMT_UNKNOWN;
	}
	if ((n = cfg_node_get(v, "delimiter"))) {
		if ((rc = cfg_str(x, n, "delimiter", &s)))
			return rc;
		if (d->format != VIEW_FMT_UNKNOWN && d->format != VIEW_FMT_CSV)
			return cfg_fail(x, n,
					"delimiter is for CSV datasets only");
		if (!strcmp(s, "\\t"))
			s = "\t";
		if (strlen(s) != 1 || strchr("\"\r\n", s[0]))
			return cfg_fail(x, n,
					"delimiter must be one character other "
					"than a quote or a line break");
		d->delimiter = s[0];
	}
	if (!(n = cfg_node_get(v, "as")) || cfg_node_is_null(n))
		return 0;
	if (n->kind == CFG_NODE_MAP)
		return cfg_expect(x, n, CFG_NODE_SEQ, "as");
	for (i = 0; i < cfg_list_len(n); i++) {
		e = cfg_list_at(n, i);
		if ((rc = cfg_str(x, e, "as", &s)))
			return rc;
		f = view_format_by_name(s);
		if (!strcmp(s, "native")) {
			d->as |= CFG_AS_NATIVE;
		} else if (f && (forms & VIEW_FMT_BIT(f->id))) {
			d->as |= VIEW_FMT_BIT(f->id);
		} else {
			cfg_fmt_list(names, sizeof(names), "native", forms);
			return cfg_fail(x, e,
					"unknown output format '%.40s' (as: "
					"%s)",
					s, names);
		}
	}
	if (d->format == VIEW_FMT_SQLITE)
		return cfg_fail(x, n,
				"as: is for CSV and Parquet datasets (a "
				"SQLite database serves its tables as CSV)");
	f = d->format ? view_format_get((enum view_fmt)d->format)
		      : view_format_by_suffix(d->name);
	if (f && f->forms &&
	    (d->as & ~(CFG_AS_NATIVE | f->forms | VIEW_FMT_BIT(f->id)))) {
		cfg_fmt_list(names, sizeof(names), "native",
			     f->forms | VIEW_FMT_BIT(f->id));
		return cfg_fail(x, n, "as: of %s datasets is one of %s",
				f->title, names);
	}
	return 0;
}

static int cfg_ds_policy(struct cfg_ctx *x, struct cfg_dataset *d,
			 const struct cfg_node *v)
{
	const struct cfg_node *n = cfg_node_get(v, "policy");
	struct stat st;
	const char *s;
	char *abs;
	int rc;

	if (!n)
		return 0;
	if ((rc = cfg_str(x, n, "policy", &s)))
		return rc;
	abs = cfg_join(x->c->dir, s);
	if (!abs)
		return cfg_oom(x);
	if (stat(abs, &st) < 0 || access(abs, R_OK) < 0)
		rc = cfg_fail(x, n, "policy file '%.200s': %s", s,
			      strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = cfg_fail(x, n, "policy '%.200s' is not a regular file", s);
	else if (!(d->policy = realpath(abs, NULL)))
		rc = cfg_oom(x);
	free(abs);
	return rc;
}

static int cfg_ds_allow(struct cfg_ctx *x, struct cfg_dataset *d,
			const struct cfg_node *v)
{
	const struct cfg_node *n = cfg_node_get(v, "allow"), *e;
	size_t i, cnt;
	int rc;

	if (!n)
		return 0;
	if (n->kind == CFG_NODE_MAP)
		return cfg_expect(x, n, CFG_NODE_SEQ, "allow");
	cnt = cfg_node_is_null(n) ? 0 : cfg_list_len(n);
	d->allow = calloc(cnt + 1, sizeof(*d->allow)); /* [] allows none */
	if (!d->allow)
		return cfg_oom(x);
	for (i = 0; i < cnt; i++) {
		e = cfg_list_at(n, i);
		if ((rc = cfg_expect(x, e, CFG_NODE_SCALAR, "a role name")) ||
		    (rc = cfg_role_known(x, e)) ||
		    (rc = cfg_strdup(x, e->s, &d->allow[d->nallow++])))
			return rc;
	}
	return 0;
}

static int cfg_ds_tables(struct cfg_ctx *x, struct cfg_dataset *d,
			 const struct cfg_node *n)
{
	static const char *const keys[] = { "columns", "roles",
					    "unlisted_columns", "k_anonymity",
					    NULL };
	const struct cfg_node *k, *v, *dup, *first, *u;
	bool seq = n->kind == CFG_NODE_SEQ;
	const char *s;
	struct cfg_table *t;
	size_t i, cnt;
	int rc;

	if (n->kind == CFG_NODE_SCALAR) {
		if (strcmp(n->s, "all"))
			return cfg_fail(x, n,
					"tables must be 'all', a list of table "
					"names or a mapping");
		d->all_tables = true;
		return 0;
	}
	for (i = 0; seq && i < n->n; i++)
		if ((rc = cfg_str(x, n->kids[i], "a table name", &s)))
			return rc;
	if (seq) {
		if ((rc = cfg_node_dups(n->kids, n->n, 1, &dup, &first)))
			return cfg_oom(x);
		if (dup)
			return cfg_fail(x, dup, "table '%.80s' is listed twice",
					dup->s);
	}
	cnt = seq ? n->n : n->n / 2;
	d->tables = calloc(cnt + 1, sizeof(*d->tables));
	if (!d->tables)
		return cfg_oom(x);
	d->ntables = cnt;
	for (i = 0; i < cnt; i++) {
		k = seq ? n->kids[i] : n->kids[2 * i];
		v = seq ? NULL : n->kids[2 * i + 1];
		t = &d->tables[i];
		t->line = k->line;
		t->col = k->col;
		if ((rc = cfg_str(x, k, "a table name", &s)) ||
		    (rc = cfg_strdup(x, k->s, &t->name)))
			return rc;
		if (!v || cfg_node_is_null(v))
			continue;
		if ((rc = cfg_expect(x, v, CFG_NODE_MAP, "a table")) ||
		    (rc = cfg_check_keys(x, v, keys, "a table")) ||
		    ((u = cfg_node_get(v, "unlisted_columns")) &&
		     (rc = cfg_unlisted(x, u, &t->unlisted))) ||
		    (rc = cfg_rules(x, d, cfg_node_get(v, "columns"),
				    &t->rules)) ||
		    (rc = cfg_by_role(x, d, cfg_node_get(v, "roles"),
				      &t->by_role, &t->nby_role)) ||
		    (rc = cfg_kanon_parse(x, cfg_node_get(v, "k_anonymity"),
					  &t->kanon)))
			return rc;
	}
	return 0;
}

static int cfg_ds_views(struct cfg_ctx *x, struct cfg_dataset *d,
			const struct cfg_node *n)
{
	struct cfg_sqlview *w;
	const char *s;
	size_t i;
	int rc;

	if ((rc = cfg_expect(x, n, CFG_NODE_MAP, "views")))
		return rc;
	d->views = calloc(n->n / 2 + 1, sizeof(*d->views));
	if (!d->views)
		return cfg_oom(x);
	d->nviews = n->n / 2;
	for (i = 0; i < d->nviews; i++) {
		w = &d->views[i];
		w->line = n->kids[2 * i]->line;
		w->col = n->kids[2 * i]->col;
		if ((rc = cfg_str(x, n->kids[2 * i], "a view name", &s)) ||
		    (rc = cfg_strdup(x, s, &w->name)) ||
		    (rc = cfg_str(x, n->kids[2 * i + 1], "a view", &s)) ||
		    (rc = cfg_strdup(x, s, &w->sql)))
			return rc;
	}
	return 0;
}

/* tables, db_views, views: SQLite only. */
static int cfg_ds_sqlite(struct cfg_ctx *x, struct cfg_dataset *d,
			 const struct cfg_node *v)
{
	static const char *const keys[] = { "tables", "db_views", "views" };
	const struct cfg_node *n;
	size_t i;
	int rc;

	for (i = 0; i < SPOT_ARRAY_SIZE(keys); i++) {
		n = cfg_node_get(v, keys[i]);
		if (!n)
			continue;
		if (d->format != VIEW_FMT_UNKNOWN &&
		    d->format != VIEW_FMT_SQLITE)
			return cfg_fail(x, n, "%s is for SQLite datasets only",
					keys[i]);
		if (i == 0 && !cfg_node_is_null(n))
			rc = cfg_ds_tables(x, d, n);
		else if (i == 1)
			rc = cfg_bool(x, n, "db_views", &d->db_views);
		else if (i == 2 && !cfg_node_is_null(n))
			rc = cfg_ds_views(x, d, n);
		else
			rc = 0;
		if (rc)
			return rc;
	}
	return 0;
}

/* "sample: 0.1": serve a deterministic tenth of the rows (0 < share <= 1). */
static int cfg_ds_sample(struct cfg_ctx *x, struct cfg_dataset *d,
			 const struct cfg_node *v)
{
	const struct cfg_node *n = cfg_node_get(v, "sample");
	const char *s;
	char *end;
	double r;
	int rc;

	if (!n)
		return 0;
	if ((rc = cfg_str(x, n, "sample", &s)))
		return rc;
	r = strtod(s, &end);
	if (end == s || *end || !(r > 0) || r > 1)
		return cfg_fail(x, n,
				"dataset '%.80s': sample: expected a share of "
				"rows above 0 and at most 1 (for example 0.1)",
				d->name);
	d->sample = r < 1 ? r : 0; /* 1: every row, no filter */
	return 0;
}

static int cfg_dataset(struct cfg_ctx *x, const struct cfg_node *k,
		       const struct cfg_node *v, struct cfg_dataset *d)
{
	static const char *const keys[] = {
		"format",	 "delimiter", "as",	     "policy",
		"allow",	 "columns",   "roles",	     "tables",
		"db_views",	 "views",     "k_anonymity", "unlisted_columns",
		"sample",	 "quota",     "aggregates",  "synthetic",
		"csv_injection", NULL
	};
	const struct cfg_node *u;
	char what[128];
	int rc;

	d->line = k->line;
	d->col = k->col;
	d->unlisted = x->c->unlisted;
	d->csv_injection = x->c->csv_injection;
	d->name = malloc(k->len + 1);
	if (!d->name)
		return cfg_oom(x);
	if (cfg_relpath_norm(k->s, d->name) || !d->name[0])
		return cfg_fail(x, k,
				"dataset path '%.200s' must name a file inside "
				"the source (relative, no '..')",
				k->s);
	if (cfg_node_is_null(v))
		return 0;
	snprintf(what, sizeof(what), "dataset '%.80s'", d->name);
	if ((rc = cfg_expect(x, v, CFG_NODE_MAP, what)) ||
	    (rc = cfg_check_keys(x, v, keys, what)) ||
	    (rc = cfg_ds_format(x, d, v)) || (rc = cfg_ds_policy(x, d, v)) ||
	    (rc = cfg_ds_allow(x, d, v)) || (rc = cfg_ds_sample(x, d, v)) ||
	    ((u = cfg_node_get(v, "unlisted_columns")) &&
	     (rc = cfg_unlisted(x, u, &d->unlisted))) ||
	    ((u = cfg_node_get(v, "csv_injection")) &&
	     (rc = cfg_csv_injection(x, u, &d->csv_injection))) ||
	    (rc = cfg_rules(x, d, cfg_node_get(v, "columns"), &d->rules)) ||
	    (rc = cfg_by_role(x, d, cfg_node_get(v, "roles"), &d->by_role,
			      &d->nby_role)) ||
	    (rc = cfg_kanon_parse(x, cfg_node_get(v, "k_anonymity"),
				  &d->kanon)) ||
	    (rc = cfg_quota_parse(x, cfg_node_get(v, "quota"), &d->quota)) ||
	    (rc = cfg_dp_dataset(x, d, v)))
		return rc;
	return cfg_ds_sqlite(x, d, v);
}

static int cfg_ds_cmp(const void *a, const void *b)
{
	const struct cfg_dataset *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	return x->line < y->line ? -1 : x->line > y->line;
}

size_t cfg_stem_len(const struct cfg_dataset *d)
{
	const char *slash = strrchr(d->name, '/');
	const char *dot = strrchr(slash ? slash + 1 : d->name, '.');

	return dot && dot != (slash ? slash + 1 : d->name)
		       ? (size_t)(dot - d->name)
		       : strlen(d->name);
}

int cfg_form_name(const struct cfg_dataset *d, unsigned form, char *buf,
		  size_t len)
{
	size_t stem = cfg_stem_len(d);
	int f = form ? __builtin_ctz(form) : 0;
	int n = snprintf(buf, len, "%.*s.%s", (int)stem, d->name,
			 view_fmt_name((enum view_fmt)f));

	return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/*
 * The first of the datasets before d whose converted forms include name, or
 * NULL.
 */
static const struct cfg_dataset *cfg_form_owner(const struct cfg *c,
						const struct cfg_dataset *d,
						const char *name)
{
	char other[PATH_MAX + 16];

	for (const struct cfg_dataset *e = c->datasets; e < d; e++)
		for (int f = VIEW_FMT_UNKNOWN + 1; f < VIEW_FMT_COUNT; f++)
			if ((e->as & VIEW_FMT_BIT(f)) &&
			    !cfg_form_name(e, VIEW_FMT_BIT(f), other,
					   sizeof(other)) &&
			    !strcmp(other, name))
				return e;
	return NULL;
}

/* A converted form must not take the name of another dataset or form. */
static int cfg_forms_check(struct cfg_ctx *x)
{
	const struct cfg *c = x->c;
	char name[PATH_MAX + 16];

	for (size_t i = 0; i < c->ndatasets; i++) {
		const struct cfg_dataset *d = &c->datasets[i], *o;

		for (int f = VIEW_FMT_UNKNOWN + 1; f < VIEW_FMT_COUNT; f++) {
			if (!(d->as & VIEW_FMT_BIT(f)))
				continue;
			if (cfg_form_name(d, VIEW_FMT_BIT(f), name,
					  sizeof(name)))
				return cfg_fail_at(x, d->line, d->col,
						   "dataset name too long");
			o = cfg_dataset_find(c, name);
			if (o && o != d)
				return cfg_fail_at(
					x, d->line, d->col,
					"as: would serve '%.200s', which "
					"is also a dataset (at %u:%u)",
					name, o->line, o->col);
			o = cfg_form_owner(c, d, name);
			if (o)
				return cfg_fail_at(
					x, d->line, d->col,
					"as: would serve '%.200s', which "
					"dataset '%.200s' (at %u:%u) "
					"serves already",
					name, o->name, o->line, o->col);
		}
	}
	return 0;
}

int cfg_datasets(struct cfg_ctx *x, const struct cfg_node *n)
{
	struct cfg *c = x->c;
	struct cfg_dataset *d;
	size_t i;
	int rc;

	if (!n || cfg_node_is_null(n))
		return 0;
	if ((rc = cfg_expect(x, n, CFG_NODE_MAP, "datasets")))
		return rc;
	c->datasets = calloc(n->n / 2 + 1, sizeof(*c->datasets));
	if (!c->datasets)
		return cfg_oom(x);
	c->ndatasets = n->n / 2;
	for (i = 0; i < c->ndatasets; i++)
		if ((rc = cfg_dataset(x, n->kids[2 * i], n->kids[2 * i + 1],
				      &c->datasets[i])))
			return rc;
	qsort(c->datasets, c->ndatasets, sizeof(*d), cfg_ds_cmp);
	for (i = 0; i < c->ndatasets; i++) {
		d = &c->datasets[i];
		if (i && !strcmp(d[-1].name, d->name))
			return cfg_fail_at(x, d->line, d->col,
					   "dataset '%.200s' is named twice "
					   "(first at %u:%u)",
					   d->name, d[-1].line, d[-1].col);
		if (cfg_is_dataset_parent(c, d->name))
			return cfg_fail_at(
				x, d->line, d->col,
				"dataset '%.200s' is also the folder of "
				"another dataset",
				d->name);
	}
	return cfg_forms_check(x);
}

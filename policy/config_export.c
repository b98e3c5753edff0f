/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config_export.c - the quota key of a role or a dataset: `quota: {
 * read_bytes: 1G, opens: 10000 }` (fs/quota.c), and the export key: `export: { allow: [analyst], approve:
 * [steward], max_bytes: 100M, min_count: 5, max_row_share: 0.01,
 * allow_opaque: false }` (see fs/export.c for what each does).
 */
#include "config_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cfg_export_fini(struct cfg_export *e)
{
	for (size_t i = 0; i < e->nallow; i++)
		free(e->allow[i]);
	free(e->allow);
	for (size_t i = 0; i < e->napprove; i++)
		free(e->approve[i]);
	free(e->approve);
}

bool cfg_role_listed(char *const *list, size_t n, const char *role)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], role))
			return true;
	return false;
}

/* A list of known role names. */
static int cfg_export_roles(struct cfg_ctx *x, const struct cfg_node *n,
			    const char *what, char ***out, size_t *nout)
{
	size_t len = cfg_list_len(n);
	const char *s;
	int rc;

	if (n->kind == CFG_NODE_MAP)
		return cfg_fail(x, n, "export %s must be a list of roles",
				what);
	*out = calloc(len + 1, sizeof(**out));
	if (!*out)
		return cfg_oom(x);
	for (size_t i = 0; i < len; i++) {
		const struct cfg_node *v = cfg_list_at(n, i);
		bool known;

		if ((rc = cfg_str(x, v, what, &s)))
			return rc;
		known = !strcmp(s, x->c->default_role ? x->c->default_role
						      : "default");
		for (size_t k = 0; k < x->c->nroles && !known; k++)
			known = !strcmp(s, x->c->roles[k].name);
		if (!known)
			return cfg_fail(x, v,
					"export %s: no role named '%.80s'",
					what, s);
		if ((rc = cfg_strdup(x, s, &(*out)[i])))
			return rc;
		(*nout)++;
	}
	return 0;
}

int cfg_quota_parse(struct cfg_ctx *x, const struct cfg_node *n,
		    struct cfg_quota *q)
{
	static const char *const keys[] = { "read_bytes", "opens", NULL };
	const struct cfg_node *v;
	const char *s;
	char *end;
	int rc;

	if (!n || cfg_node_is_null(n))
		return 0;
	if ((rc = cfg_expect(x, n, CFG_NODE_MAP, "quota")) ||
	    (rc = cfg_check_keys(x, n, keys, "quota")))
		return rc;
	if ((v = cfg_node_get(n, "read_bytes")) &&
	    (v->kind != CFG_NODE_SCALAR ||
	     cfg_parse_size(v->s, &q->read_bytes) || !q->read_bytes))
		return cfg_fail(x, v,
				"quota read_bytes must be a size above "
				"0 such as 1G");
	if ((v = cfg_node_get(n, "opens"))) {
		if ((rc = cfg_str(x, v, "opens", &s)))
			return rc;
		errno = 0;
		q->opens = strtoull(s, &end, 10);
		if (errno || *end || s[0] == '-' || !s[0] || !q->opens)
			return cfg_fail(x, v,
					"quota opens must be a whole "
					"number above 0");
	}
	return 0;
}

static int cfg_export_share(struct cfg_ctx *x, const struct cfg_node *n,
			    double *out)
{
	const char *s;
	char *end;
	double v;
	int rc = cfg_str(x, n, "max_row_share", &s);

	if (rc)
		return rc;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || (*end && strcmp(end, "%")) || v < 0)
		return cfg_fail(x, n,
				"max_row_share must be a share such as 0.01 "
				"or 1%%");
	if (*end == '%')
		v /= 100;
	if (v > 1)
		return cfg_fail(x, n, "max_row_share is at most 1 (100%%)");
	*out = v;
	return 0;
}

int cfg_export_parse(struct cfg_ctx *x, const struct cfg_node *n)
{
	static const char *const keys[] = {
		"allow",	 "approve",	 "max_bytes", "min_count",
		"max_row_share", "allow_opaque", NULL
	};
	struct cfg_export *e = &x->c->export_;
	const struct cfg_node *v;
	const char *s;
	char *end;
	int rc;

	e->max_bytes = CFG_EXPORT_MAX_BYTES;
	e->min_count = 5;
	e->max_row_share = 0.01;
	if (!n)
		return 0;
	e->enabled = true;
	if (cfg_node_is_null(n))
		return 0;
	if ((rc = cfg_expect(x, n, CFG_NODE_MAP, "export")) ||
	    (rc = cfg_check_keys(x, n, keys, "export")))
		return rc;
	if ((v = cfg_node_get(n, "allow")) &&
	    (rc = cfg_export_roles(x, v, "allow", &e->allow, &e->nallow)))
		return rc;
	if ((v = cfg_node_get(n, "approve")) &&
	    (rc = cfg_export_roles(x, v, "approve", &e->approve, &e->napprove)))
		return rc;
	if ((v = cfg_node_get(n, "max_bytes")) &&
	    (v->kind != CFG_NODE_SCALAR || cfg_parse_size(v->s, &e->max_bytes)))
		return cfg_fail(x, v,
				"export max_bytes must be a size such "
				"as 100M");
	if ((v = cfg_node_get(n, "min_count"))) {
		if ((rc = cfg_str(x, v, "min_count", &s)))
			return rc;
		errno = 0;
		e->min_count = strtoull(s, &end, 10);
		if (errno || *end || s[0] == '-' || !s[0] ||
		    e->min_count > 1000000)
			return cfg_fail(x, v,
					"export min_count must be a whole "
					"number from 0 to 1000000");
	}
	if ((v = cfg_node_get(n, "max_row_share")) &&
	    (rc = cfg_export_share(x, v, &e->max_row_share)))
		return rc;
	if ((v = cfg_node_get(n, "allow_opaque")) &&
	    (rc = cfg_bool(x, v, "allow_opaque", &e->allow_opaque)))
		return rc;
	return 0;
}

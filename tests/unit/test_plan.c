/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_plan.c - policy/plan.c, the binding of a dataset's rules to a
 * pipeline plan, checked on the bytes served: a CSV is built through the
 * table of formats with the plan plan_bind made, for a config and a role.
 * Covers per-role rules, unlisted_columns redact and keep, missing and
 * optional columns, dataset-wide rules over the columns of every table,
 * names a rule cannot tell apart, header rows that look like data, Lua
 * column functions, and every allocation of a binding failing in turn.
 *
 * Works in a fresh folder under /tmp that it removes at the end.
 */
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc_fail.h"
#include "check.h"
#include "config.h"
#include "engine.h"
#include "format.h"

static char tdir[64];
static struct msk_keys *keys;

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	f = fopen(path, "wb");
	if (!f || fputs(text, f) < 0) {
		perror(path);
		exit(2);
	}
	fclose(f);
}

static struct cfg *load(const char *yaml)
{
	struct spot_err err = { "" };
	struct cfg *c = NULL;
	char path[256];

	put("c.yaml", yaml);
	snprintf(path, sizeof(path), "%s/c.yaml", tdir);
	if (cfg_load(path, &c, &err)) {
		CHECK(0, "config loads: %s", err.msg);
		return NULL;
	}
	return c;
}

/* One binding (and build) of a dataset for a role. */
struct bind {
	struct plan_env env;
	const struct cfg_dataset *d;
	const char *role;
	struct plan *plan;
	int rc;
	struct spot_err err;
};

static int bind_cb(void *arg, const char *table, const struct pipe_col *cols,
		   size_t ncols, const struct pipe_plan **plan,
		   struct spot_err *err)
{
	struct bind *b = arg;

	(void)table;
	b->rc = plan_bind(&b->env, b->d, NULL, b->role, b->d->name, cols, ncols,
			  &b->plan, err);
	if (!b->rc)
		*plan = plan_pipe(b->plan);
	return b->rc;
}

/* CSV text as role reads dataset name of c; NULL with *rc on failure. */
static char *serve(struct cfg *c, const char *name, const char *csv,
		   const char *role, struct pol_engine *eng, int *rc,
		   struct spot_err *err)
{
	struct bind b = { .env = { .cfg = c, .keys = keys, .engine = eng },
			  .role = role };
	struct view_req req = { .form = VIEW_FMT_CSV,
				.sub = "",
				.threads = 1,
				.limit = UINT64_MAX,
				.bind = bind_cb,
				.more = bind_cb,
				.arg = &b };
	struct view_out out;
	char path[256];
	char *text = NULL;

	b.d = cfg_dataset_find(c, name);
	if (!b.d) {
		*rc = -ENOENT;
		return NULL;
	}
	put(name, csv);
	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	req.fd = open(path, O_RDONLY | O_CLOEXEC);
	view_out_init(&out);
	err->msg[0] = 0;
	*rc = view_format_build(view_format_get(VIEW_FMT_CSV), &req, &out, err);
	close(req.fd);
	if (!*rc && (text = malloc(out.buf.len + 1))) {
		memcpy(text, out.buf.p, out.buf.len);
		text[out.buf.len] = 0;
	}
	view_out_fini(&out);
	plan_free(b.plan);
	return text;
}

static const char people[] = "id,email,ssn,phone\n"
			     "1,ann@example.com,123-45-6789,555-0100\n"
			     "2,bob@example.org,987-65-4321,555-0199\n";

static void test_roles_unlisted(void)
{
	struct cfg *c =
		load("source: data\n"
		     "roles:\n"
		     "  steward: { users: [root] }\n"
		     "datasets:\n"
		     "  p.csv:\n"
		     "    columns:\n"
		     "      id: keep\n"
		     "      email: { method: email }\n"
		     "      ssn: { method: mask, pattern: \"***-**-####\" }\n"
		     "    roles:\n"
		     "      steward: { columns: { ssn: keep } }\n"
		     "  k.csv:\n"
		     "    unlisted_columns: keep\n"
		     "    columns: { ssn: redact }\n");
	struct spot_err err;
	char *t;
	int rc;

	if (!c)
		return;
	t = serve(c, "p.csv", people, "guest", NULL, &rc, &err);
	CHECK(t && !strncmp(t, "id,email,ssn,phone\n1,", 21) &&
		      strstr(t, "@example.com") && !strstr(t, "ann@") &&
		      strstr(t, "***-**-6789") && !strstr(t, "123-45") &&
		      !strstr(t, "555-01"),
	      "rules apply; unlisted phone is redacted (default): %s",
	      t ? t : err.msg);
	free(t);
	t = serve(c, "p.csv", people, "steward", NULL, &rc, &err);
	CHECK(t && strstr(t, "123-45-6789") && !strstr(t, "ann@") &&
		      !strstr(t, "555-01"),
	      "the steward's override keeps ssn, the rest as the base rule");
	free(t);
	t = serve(c, "k.csv", people, "guest", NULL, &rc, &err);
	CHECK(t && strstr(t, "ann@example.com") && strstr(t, "555-0100") &&
		      !strstr(t, "123-45"),
	      "unlisted_columns: keep serves unnamed columns raw");
	free(t);
	cfg_free(c);
}

static void test_missing(void)
{
	struct cfg *c =
		load("source: data\n"
		     "datasets:\n"
		     "  m.csv:\n"
		     "    columns: { Email: hash, id: keep }\n"
		     "  o.csv:\n"
		     "    columns:\n"
		     "      id: keep\n"
		     "      fax: { method: redact, optional: true }\n"
		     "      pager: { method: redact, optional: true }\n");
	struct plan_env env = { .keys = NULL };
	const struct pipe_col cols[] = {
		{ (char *)"id", 2, PIPE_TEXT, 0 },
		{ (char *)"email", 5, PIPE_TEXT, 0 },
	};
	struct spot_err err;
	struct plan *p = NULL;
	char *t;
	int rc;

	if (!c)
		return;
	t = serve(c, "m.csv", people, "guest", NULL, &rc, &err);
	CHECK(!t && rc == -EINVAL && strstr(err.msg, "'Email'") &&
		      strstr(err.msg, "did you mean 'email'?") &&
		      strstr(err.msg, "m.csv"),
	      "a rule naming no column fails the build, with a hint: %s",
	      err.msg);
	env.cfg = c;
	env.keys = keys;
	rc = plan_bind(&env, cfg_dataset_find(c, "o.csv"), NULL, "guest",
		       "o.csv", cols, 2, &p, &err);
	CHECK(rc == 0 && p && plan_missing(p) &&
		      !strcmp(plan_missing(p), "fax, pager") &&
		      plan_pipe(p)->nxf == 1 && plan_pipe(p)->xf[0].col == 1,
	      "optional rules missing are listed; email redacted");
	plan_free(p);
	cfg_free(c);
}

static void test_names(void)
{
	struct cfg *c = load("source: data\n"
			     "datasets:\n"
			     "  n.parquet: { columns: { a.b: keep } }\n"
			     "  h.csv: { unlisted_columns: keep }\n");
	const struct pipe_col dup[] = {
		{ (char *)"a.b", 3, PIPE_TEXT, 0 },
		{ (char *)"a.b", 3, PIPE_TEXT, 0 },
	};
	struct plan_env env = { .cfg = c, .keys = keys };
	struct spot_err err = { "" };
	struct plan *p = NULL;
	char *t;
	int rc;

	if (!c)
		return;
	env.leaf_paths = true;
	rc = plan_bind(&env, cfg_dataset_find(c, "n.parquet"), NULL, "guest",
		       "n.parquet", dup, 2, &p, &err);
	CHECK(rc == -EIO && !p && strstr(err.msg, "appears 2 times"),
	      "leaf paths: two columns of one name are refused: %s", err.msg);
	env.leaf_paths = false;
	rc = plan_bind(&env, cfg_dataset_find(c, "n.parquet"), NULL, "guest",
		       "n.parquet", dup, 2, &p, &err);
	CHECK(rc == 0 && p && plan_pipe(p)->nxf == 0,
	      "without leaf paths one rule applies to both");
	plan_free(p);
	t = serve(c, "h.csv", "ann@example.com,x\n1,2\n", "guest", NULL, &rc,
		  &err);
	CHECK(!t && rc == -EIO && !strstr(err.msg, "ann@") &&
		      strstr(err.msg, "column 1 "),
	      "a header that looks like data is refused, naming no value: %s",
	      err.msg);
	cfg_free(c);
}

static void test_dataset_wide(void)
{
	struct cfg *c = load("source: data\n"
			     "datasets:\n"
			     "  crm.db:\n"
			     "    tables: [users, orders]\n"
			     "    columns: { email: hash }\n");
	const struct pipe_col users[] = {
		{ (char *)"id", 2, PIPE_TEXT, 0 },
		{ (char *)"email", 5, PIPE_TEXT, 0 },
	};
	const struct pipe_col orders[] = {
		{ (char *)"id", 2, PIPE_TEXT, 0 },
		{ (char *)"total", 5, PIPE_TEXT, 0 },
	};
	struct plan_env env = { .cfg = c, .keys = keys };
	const struct cfg_dataset *d;
	struct spot_err err = { "" };
	struct plan *p = NULL;
	int rc;

	if (!c)
		return;
	d = cfg_dataset_find(c, "crm.db");
	env.ds_cols = users;
	env.nds_cols = 2;
	rc = plan_bind(&env, d, &d->tables[1], "guest", "crm.db/orders", orders,
		       2, &p, &err);
	CHECK(rc == 0 && p, "a dataset-wide rule another table has: %s",
	      err.msg);
	plan_free(p);
	p = NULL;
	env.ds_cols = orders;
	rc = plan_bind(&env, d, &d->tables[1], "guest", "crm.db/orders", orders,
		       2, &p, &err);
	CHECK(rc == -EINVAL && !p && strstr(err.msg, "'email'"),
	      "a dataset-wide rule no table has fails: %s", err.msg);
	cfg_free(c);
}

static void test_lua(void)
{
	struct cfg *c;
	struct pol_limits lim = pol_limits_default();
	struct pol_engine *eng = NULL;
	struct spot_err err = { "" };
	char path[256];
	char *t;
	int rc;

	put("p.lua", "columns = { email = function(v) return 'L' end }\n");
	snprintf(path, sizeof(path), "%s/p.lua", tdir);
	c = load("source: data\n"
		 "datasets:\n"
		 "  l.csv:\n"
		 "    policy: p.lua\n"
		 "    unlisted_columns: keep\n"
		 "  u.csv:\n"
		 "    policy: p.lua\n"
		 "    columns: { ssn: { policy: nothere } }\n");
	if (!c || pol_engine_new(path, keys, &lim, &eng, &err)) {
		CHECK(0, "Lua policy loads: %s", err.msg);
		cfg_free(c);
		return;
	}
	t = serve(c, "l.csv", people, "guest", eng, &rc, &err);
	CHECK(t && strstr(t, "\n1,L,123-45-6789,") && !strstr(t, "ann@"),
	      "a Lua column function masks its column: %s", t ? t : err.msg);
	free(t);
	t = serve(c, "u.csv", people, "guest", eng, &rc, &err);
	CHECK(!t && rc == -EINVAL && strstr(err.msg, "nothere"),
	      "a rule naming a function the policy lacks fails: %s", err.msg);
	pol_engine_free(eng);
	cfg_free(c);
}

/* ---- allocation failures ---- */

struct oom_case {
	struct plan_env env;
	const struct cfg_dataset *d;
	const struct cfg_table *t;
	const char *role;
	const struct pipe_col *cols;
	size_t ncols;
};

/* A plan whose pipe has a NULL transform would crash the pipeline. */
static int oom_bind(void *arg)
{
	struct oom_case *o = arg;
	struct spot_err err = { "" };
	struct plan *p = NULL;
	const struct pipe_plan *pp;
	int rc = plan_bind(&o->env, o->d, o->t, o->role, "x", o->cols, o->ncols,
			   &p, &err);

	if (rc) {
		if (p || !err.msg[0])
			rc = 1; /* a failure leaves no plan and says why */
		return rc;
	}
	pp = plan_pipe(p);
	for (size_t i = 0; pp && i < pp->nxf; i++)
		if (!pp->xf[i].fn)
			rc = 1;
	if (!pp)
		rc = 1;
	plan_free(p);
	return rc;
}

static void test_oom(void)
{
	struct cfg *c =
		load("source: data\n"
		     "roles:\n"
		     "  steward: { users: [root] }\n"
		     "datasets:\n"
		     "  p.csv:\n"
		     "    policy: p.lua\n"
		     "    columns:\n"
		     "      id: keep\n"
		     "      email: { method: hash, length: 12 }\n"
		     "      ssn: { method: partial, keep_last: 4 }\n"
		     "      fax: { method: redact, optional: true }\n"
		     "    roles:\n"
		     "      steward: { columns: { ssn: keep, phone: { policy: "
		     "email } } }\n");
	const struct pipe_col cols[] = {
		{ (char *)"id", 2, PIPE_TEXT, 0 },
		{ (char *)"email", 5, PIPE_TEXT, 0 },
		{ (char *)"ssn", 3, PIPE_TEXT, 0 },
		{ (char *)"phone", 5, PIPE_TEXT, 0 },
		{ (char *)"note", 4, PIPE_TEXT, 0 },
	};
	struct pol_limits lim = pol_limits_default();
	struct oom_case o = { .env = { .cfg = c, .keys = keys },
			      .role = "guest",
			      .cols = cols,
			      .ncols = 5 };
	struct spot_err err = { "" };
	char path[256];

	if (!c)
		return;
	snprintf(path, sizeof(path), "%s/p.lua", tdir);
	if (pol_engine_new(path, keys, &lim, &o.env.engine, &err)) {
		CHECK(0, "Lua policy loads: %s", err.msg);
		cfg_free(c);
		return;
	}
	o.d = cfg_dataset_find(c, "p.csv");
	alloc_fail_loop("plan_bind, built-in rules and unlisted columns",
			oom_bind, &o);
	o.role = "steward";
	alloc_fail_loop("plan_bind, a role's override with a Lua function",
			oom_bind, &o);
	pol_engine_free(o.env.engine);
	cfg_free(c);
}

int main(void)
{
	static const uint8_t secret[32] = "spotfs test secret, plan tests..";
	char cmd[128];

	snprintf(tdir, sizeof(tdir), "/tmp/spot_plan_XXXXXX");
	if (!mkdtemp(tdir) || msk_keys_new(secret, sizeof(secret), &keys)) {
		perror("set-up");
		return 2;
	}
	snprintf(cmd, sizeof(cmd), "%s/data", tdir);
	mkdir(cmd, 0755);
	test_roles_unlisted();
	test_missing();
	test_names();
	test_dataset_wide();
	test_lua();
	test_oom();
	msk_keys_free(keys);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", tdir);
	return check_done();
}

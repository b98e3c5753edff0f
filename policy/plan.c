/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plan.c - config rules + role -> pipeline transforms.
 */
#include "plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* Argument of the built-in method transform for one column. */
struct plan_mcol {
	const struct msk_rule *rule;
	const struct msk_keys *keys;
	const char *view; /* seeds per-cell randomness */
	const char *column;
	struct spot_buf tmp; /* reused output buffer */
};

struct plan {
	struct pipe_plan pipe;
	struct plan_mcol *mcols; /* one per built-in transform */
	size_t nmcols;
	struct pol_run *run; /* Lua bindings, NULL without a policy */
	struct spot_buf missing;
	char *view;
};

static int plan_method_fn(void *arg, struct pipe_batch *b, size_t col,
			  struct spot_err *err)
{
	struct plan_mcol *m = arg;
	struct msk_cell cell = { m->view, m->column, 0 };

	for (size_t r = 0; r < b->nrows; r++) {
		const struct pipe_cell *in = &b->in[r * b->ncols + col];
		enum pipe_type ot;
		int rc;

		if (!b->keep[r])
			continue;
		cell.row = b->first_row + r;
		spot_buf_reset(&m->tmp);
		rc = msk_apply(m->rule, m->keys, &cell, in->p, in->len,
			       (enum pipe_type)in->type, &m->tmp, &ot);
		if (rc) {
			/* Never the value: only where it happened. */
			spot_err_set(err,
				     "%s: column '%s', row %llu: method %s "
				     "cannot mask this value (%s)",
				     m->view, m->column,
				     (unsigned long long)cell.row + 1,
				     msk_method_name(m->rule->method),
				     rc == -ENOMEM ? "out of memory"
						   : "unsupported input");
			return rc == -ENOMEM ? rc : -EIO;
		}
		rc = pipe_batch_set(b, r, col, m->tmp.p, m->tmp.len, ot);
		if (rc) {
			spot_err_set(err, "out of memory");
			return rc;
		}
	}
	return 0;
}

static int plan_add_missing(struct plan *p, const char *name)
{
	if (p->missing.len && spot_buf_append(&p->missing, ", ", 2))
		return -ENOMEM;
	return spot_buf_append(&p->missing, name, strlen(name));
}

/* Bind the policy function columns[fn] to source column ci. */
static int plan_bind_lua(struct plan *p, const char *fn, size_t ci,
			 struct spot_err *err)
{
	struct pipe_xform *x = &p->pipe.xf[p->pipe.nxf];
	int rc = pol_run_bind_column(p->run, fn, ci, x, err);

	if (!rc) {
		x->needs_row = true; /* row.NAME reads the other columns */
		p->pipe.nxf++;
	}
	return rc;
}

/* Bind one configured column rule to source column index ci. */
static int plan_bind_col(struct plan *p, const struct plan_env *env,
			 const struct cfg_column *c, size_t ci,
			 struct spot_err *err)
{
	struct pipe_xform *x = &p->pipe.xf[p->pipe.nxf];

	if (c->policy_fn) {
		if (!p->run) {
			spot_err_set(err,
				     "%s: column '%s' names policy function "
				     "'%s' but the dataset has no policy",
				     p->view, c->name, c->policy_fn);
			return -EINVAL;
		}
		return plan_bind_lua(p, c->policy_fn, ci, err);
	} else {
		struct plan_mcol *m;

		if (c->rule.method == MSK_KEEP)
			return 0;
		m = &p->mcols[p->nmcols++];
		m->rule = &c->rule;
		m->keys = env->keys;
		m->view = p->view;
		m->column = c->name;
		spot_buf_init(&m->tmp);
		x->col = ci;
		x->fn = plan_method_fn;
		x->arg = m;
		x->keeps_type = c->rule.method == MSK_NOISE;
	}
	p->pipe.nxf++;
	return 0;
}

/* Every column name a rule could name: base, table and role overrides. */
static const struct cfg_rules *plan_base_rules(const struct cfg_dataset *d,
					       const struct cfg_table *t)
{
	return t ? &t->rules : &d->rules;
}

int plan_bind(const struct plan_env *env, const struct cfg_dataset *d,
	      const struct cfg_table *t, const char *role, const char *name,
	      const struct pipe_col *cols, size_t ncols, struct plan **out,
	      struct spot_err *err)
{
	const struct cfg_rules *base = plan_base_rules(d, t);
	struct plan *p;
	int rc = -ENOMEM;

	p = calloc(1, sizeof(*p));
	if (!p)
		goto nomem;
	spot_buf_init(&p->missing);
	p->view = strdup(name);
	p->pipe.xf = calloc(ncols ? ncols : 1, sizeof(*p->pipe.xf));
	p->mcols = calloc(ncols ? ncols : 1, sizeof(*p->mcols));
	if (!p->view || !p->pipe.xf || !p->mcols)
		goto nomem;
	if (env->engine) {
		struct pol_ctx ctx = { 0 };

		ctx.role = role;
		ctx.dataset = name;
		ctx.path = d->name;
		rc = pol_run_new(env->engine, &ctx, cols, ncols, &p->run, err);
		if (rc)
			goto fail;
		if (pol_engine_has_row(env->engine)) {
			rc = pol_run_bind_row(p->run, &p->pipe.row_fn,
					      &p->pipe.row_arg, err);
			if (rc)
				goto fail;
		}
	}
	for (size_t i = 0; i < ncols; i++) {
		const struct cfg_column *c =
			cfg_column_rule(d, t, role, cols[i].name);

		/* A YAML rule wins; else the policy's columns[name] applies. */
		if (c)
			rc = plan_bind_col(p, env, c, i, err);
		else if (p->run &&
			 pol_engine_has_column(env->engine, cols[i].name))
			rc = plan_bind_lua(p, cols[i].name, i, err);
		else
			continue;
		if (rc)
			goto fail;
	}
	for (size_t i = 0; i < base->ncols; i++) {
		const char *cn = base->cols[i].name;

		if (pipe_col_find(cols, ncols, cn, strlen(cn)) < 0 &&
		    plan_add_missing(p, cn))
			goto nomem;
	}
	*out = p;
	return 0;
nomem:
	rc = -ENOMEM;
	spot_err_set(err, "out of memory");
fail:
	plan_free(p);
	return rc;
}

const struct pipe_plan *plan_pipe(const struct plan *p)
{
	return &p->pipe;
}

const char *plan_missing(const struct plan *p)
{
	return p->missing.len ? (const char *)p->missing.p : NULL;
}

size_t plan_masked_count(const struct plan *p)
{
	return p->pipe.nxf;
}

void plan_free(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nmcols; i++)
		spot_buf_fini(&p->mcols[i].tmp);
	if (p->run)
		pol_run_free(p->run);
	spot_buf_fini(&p->missing);
	free(p->mcols);
	free(p->pipe.xf);
	free(p->view);
	free(p);
}

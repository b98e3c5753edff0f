/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plan.c - config rules + role -> pipeline transforms.
 */
#include "plan_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine.h"

/* Argument of the built-in method transform for one column. */
struct plan_mcol {
	const struct plan_record *record; /* export review, or NULL */
	const struct msk_rule *rule;
	const struct msk_keys *keys;
	const char *view; /* seeds per-cell randomness */
	const char *column;
	struct spot_buf tmp; /* reused output buffer */
	bool has_per;	     /* shift per: the entity column's index */
	size_t per_col;
};

/* spotfs check: what one source column became, and PII seen in it. */
struct plan_scol {
	char *name; /* name_len bytes (may hold a NUL), then a NUL */
	size_t name_len;
	enum plan_disp disp;
	const struct cfg_column *rule; /* NULL: no YAML rule */
	unsigned flags;		       /* the column's pipe_col.flags */
	unsigned kinds;		       /* enum msk_pii_kind bits seen */
	uint64_t sampled;	       /* rows looked at */
};

struct plan {
	struct pipe_plan pipe;
	struct plan_mcol *mcols; /* one per built-in transform */
	size_t nmcols;
	struct pol_run *run; /* Lua bindings, NULL without a policy */
	struct spot_buf missing;
	char *view;
	struct plan_scan *scan;	 /* NULL but in spotfs check */
	struct plan_scol *scols; /* per source column, with scan */
	size_t nscols;
	/* sample: the dataset's share of rows, with the row filter (Lua's
	 * row(), or NULL) it runs after. */
	double sample;
	uint64_t sample_seed;
	const struct msk_keys *keys;
	pipe_row_fn inner_fn;
	void *inner_arg;
	struct plan_kwrap *kwrap; /* k_anonymity's row filter, or NULL */
	const struct plan_record *record; /* export review, or NULL */
	const struct cfg_dataset *ds;	  /* for record->rows */
	bool field_paths;		  /* JSON Lines (plan_rows_fn) */
	struct plan_lwrap *lwraps;	  /* Lua columns, with record */
	size_t nlwraps;
};

/*
 * sample: drop the rows outside the dataset's keyed sample, then run the
 * policy's row filter on the rest (it skips rows already dropped).
 */
static int plan_sample_rows(void *arg, struct pipe_batch *b,
			    struct spot_err *err)
{
	struct plan *p = arg;

	for (size_t r = 0; r < b->nrows; r++)
		if (b->keep[r] && !msk_sample_keep(p->keys, p->sample_seed,
						   b->first_row + r, p->sample))
			b->keep[r] = 0;
	return p->inner_fn ? p->inner_fn(p->inner_arg, b, err) : 0;
}

/* Export review: a Lua column function, its raw input recorded first. */
struct plan_lwrap {
	pipe_col_fn fn;
	void *arg;
	const struct plan_record *record;
};

static int plan_lua_rec_fn(void *arg, struct pipe_batch *b, size_t col,
			   struct spot_err *err)
{
	struct plan_lwrap *w = arg;

	w->record->raw(w->record->arg, b, col);
	return w->fn(w->arg, b, col, err);
}

/* An unlisted column under unlisted_columns: redact: NULL for every row. */
static int plan_redact_fn(void *arg, struct pipe_batch *b, size_t col,
			  struct spot_err *err)
{
	const struct plan_record *rec = arg;

	(void)err;
	if (rec) /* export review: the hidden values, as keyed hashes */
		rec->raw(rec->arg, b, col);
	for (size_t r = 0; r < b->nrows; r++) {
		struct pipe_cell *o = &b->out[r * b->ncols + col];

		o->p = NULL;
		o->len = 0;
		o->type = PIPE_NULL;
		o->flags = PIPE_F_SET;
	}
	return 0;
}

/* spotfs check: look for PII in a column served raw; writes nothing. */
static int plan_sample_fn(void *arg, struct pipe_batch *b, size_t col,
			  struct spot_err *err)
{
	struct plan_scol *sc = arg;

	(void)err;
	for (size_t r = 0; r < b->nrows && sc->sampled < PLAN_SCAN_ROWS; r++) {
		/* The cell as served so far: the output of the transforms
		 * before this one where they set it, else the source's. */
		const struct pipe_cell *c = pipe_batch_cell(b, r, col);

		if (!b->keep[r])
			continue;
		sc->sampled++;
		if (c->type != PIPE_NULL)
			sc->kinds |= msk_pii_detect(c->p, c->len);
	}
	return 0;
}

/* Export review: the served rows, once every other transform ran. */
static int plan_rows_fn(void *arg, struct pipe_batch *b, size_t col,
			struct spot_err *err)
{
	struct plan *p = arg;

	(void)col;
	(void)err;
	/* JSON Lines' own form masks leaf by leaf in one-row batches: its
	 * records are recorded whole through rec_fn instead. Its CSV and
	 * Parquet forms run whole batches through here. */
	if (p->field_paths && b->cap == 1)
		return 0;
	p->record->rows(p->record->arg, p->ds, b);
	return 0;
}

static int plan_method_fn(void *arg, struct pipe_batch *b, size_t col,
			  struct spot_err *err)
{
	struct plan_mcol *m = arg;
	struct msk_cell cell = { m->view, m->column, 0, NULL, 0 };

	if (m->record) /* export review: the raw values, as keyed hashes */
		m->record->raw(m->record->arg, b, col);
	for (size_t r = 0; r < b->nrows; r++) {
		const struct pipe_cell *in = &b->in[r * b->ncols + col];
		enum pipe_type ot;
		int rc;

		if (!b->keep[r])
			continue;
		cell.row = b->first_row + r;
		if (m->has_per) {
			/* The entity's raw value; NULL is one entity too. */
			const struct pipe_cell *e =
				&b->in[r * b->ncols + m->per_col];

			cell.entity = e->type == PIPE_NULL || !e->p
					      ? (const uint8_t *)""
					      : e->p;
			cell.entity_len = e->type == PIPE_NULL ? 0 : e->len;
		}
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
		if (p->lwraps) { /* export review: record the raw values */
			struct plan_lwrap *w = &p->lwraps[p->nlwraps++];

			w->fn = x->fn;
			w->arg = x->arg;
			w->record = p->record;
			x->fn = plan_lua_rec_fn;
			x->arg = w;
		}
	}
	return rc;
}

/* Bind one configured column rule to source column index ci. */
static int plan_bind_col(struct plan *p, const struct plan_env *env,
			 const struct cfg_column *c, size_t ci,
			 const struct pipe_col *cols, size_t ncols,
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
		m->record = env->record;
		m->rule = &c->rule;
		m->keys = env->keys;
		m->view = p->view;
		m->column = c->name;
		spot_buf_init(&m->tmp);
		if (c->rule.per) {
			int pc = pipe_col_find(cols, ncols, c->rule.per,
					       c->rule.per_len);

			if (pc < 0) {
				spot_err_set(err,
					     "%s: column '%s' (config line "
					     "%u): per: '%s' names no column "
					     "of the data",
					     p->view, c->name, c->line,
					     c->rule.per);
				return -EINVAL;
			}
			m->has_per = true;
			m->per_col = (size_t)pc;
			x->needs_row = true; /* reads the entity column */
		}
		x->col = ci;
		x->fn = plan_method_fn;
		x->arg = m;
		x->keeps_type = c->rule.method == MSK_NOISE ||
				c->rule.method == MSK_ROUND;
		x->hides = c->rule.method == MSK_NULL ||
			   c->rule.method == MSK_REDACT;
	}
	p->pipe.nxf++;
	return 0;
}

/* Bind the transform that serves column ci as NULL. */
static void plan_bind_redact(struct plan *p, size_t ci)
{
	struct pipe_xform *x = &p->pipe.xf[p->pipe.nxf++];

	x->col = ci;
	x->fn = plan_redact_fn;
	x->arg = (void *)p->record;
	x->keeps_type = true; /* NULL fits every type: keep the schema */
	x->hides = true;
}

static bool plan_name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && !strncasecmp(a, b, alen);
}

/* s without surrounding ASCII white space: *len bytes from the result. */
static const char *plan_trim(const char *s, size_t len, size_t *out)
{
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	*out = len;
	return s;
}

const char *plan_suggest(const char *name, const struct pipe_col *cols,
			 size_t ncols)
{
	size_t nlen, clen;
	const char *n = plan_trim(name, strlen(name), &nlen);

	for (size_t i = 0; i < ncols; i++) {
		const char *c =
			plan_trim(cols[i].name, cols[i].name_len, &clen);

		if (plan_name_eq(c, clen, n, nlen))
			return cols[i].name;
	}
	for (size_t i = 0; nlen && i < ncols; i++) {
		const char *c = cols[i].name;
		const char *dot = memrchr(c, '.', cols[i].name_len);

		clen = cols[i].name_len;
		/* "contact.email" for "email"; "tags.list.element" for "tags" */
		if ((dot && plan_name_eq(dot + 1, clen - (size_t)(dot + 1 - c),
					 n, nlen)) ||
		    (clen > nlen && c[nlen] == '.' &&
		     plan_name_eq(c, nlen, n, nlen)))
			return c;
	}
	return NULL;
}

/* ---- field paths (plan_env.field_paths) ---- */

/* The segment of path (s, len) at *i: a key, or "[]"; false at the end. */
static bool plan_seg(const char *s, size_t len, size_t *i, const char **seg,
		     size_t *slen)
{
	size_t k = *i;

	if (k < len && s[k] == '.' && k)
		k++;
	if (k >= len)
		return false;
	*seg = s + k;
	if (len - k >= 2 && s[k] == '[' && s[k + 1] == ']') {
		*slen = 2;
		*i = k + 2;
		return true;
	}
	while (k < len && s[k] != '.' &&
	       !(s[k] == '[' && k + 1 < len && s[k + 1] == ']'))
		k++;
	*slen = (size_t)(k - (size_t)(*seg - s));
	*i = k;
	return true;
}

/*
 * How well pattern pat covers column (name, len): 0 not at all, else
 * higher for more segments, then for fewer "*".
 */
static unsigned plan_path_score(const char *pat, const char *name, size_t len)
{
	size_t plen = strlen(pat), i = 0, j = 0, ps, ns;
	const char *p, *n;
	unsigned segs = 0, stars = 0;

	while (plan_seg(pat, plen, &i, &p, &ps)) {
		bool arr;

		if (!plan_seg(name, len, &j, &n, &ns))
			return 0; /* the pattern is longer than the path */
		arr = ns == 2 && n[0] == '[' && n[1] == ']';
		if (ps == 1 && p[0] == '*' && !arr)
			stars++;
		else if (ps != ns || memcmp(p, n, ns))
			return 0;
		segs++;
	}
	if (!segs)
		return 0;
	return segs * 256 + (255 - (stars > 255 ? 255 : stars));
}

/* The rule of a field path column: see plan_env.field_paths. */
static const struct cfg_column *plan_path_rule(const struct cfg_dataset *d,
					       const struct cfg_table *t,
					       const char *role,
					       const char *name, size_t len)
{
	const struct cfg_rules *sets[4];
	bool ds_level[4];
	size_t n;

	if (memchr(name, 0, len))
		return NULL; /* as for exact names: a NUL matches no rule */
	cfg_rule_sets(d, t, role, sets, ds_level, &n);
	for (size_t s = 0; s < n; s++) {
		const struct cfg_column *best = NULL;
		unsigned best_score = 0;

		for (size_t i = 0; i < sets[s]->ncols; i++) {
			const struct cfg_column *c = &sets[s]->cols[i];
			unsigned sc = plan_path_score(c->name, name, len);

			if (sc > best_score) {
				best = c;
				best_score = sc;
			}
		}
		if (best)
			return best;
	}
	return NULL;
}

static bool plan_path_has(const struct pipe_col *cols, size_t ncols,
			  const char *pat)
{
	for (size_t i = 0; i < ncols; i++)
		if (plan_path_score(pat, cols[i].name, cols[i].name_len))
			return true;
	return false;
}

/* Whether a rule named name matches a column of cols exactly. */
static bool plan_has(const struct pipe_col *cols, size_t ncols,
		     const char *name)
{
	return pipe_col_find(cols, ncols, name, strlen(name)) >= 0;
}

/*
 * Every rule that applies must name a column the data has (exact match):
 * otherwise the column it meant to mask would be served by another rule or
 * none. Optional rules only go to plan_missing.
 */
static int plan_check_rules(struct plan *p, const struct plan_env *env,
			    const struct cfg_dataset *d,
			    const struct cfg_table *t, const char *role,
			    const struct pipe_col *cols, size_t ncols,
			    struct spot_err *err)
{
	const struct cfg_rules *sets[4];
	bool ds_level[4];
	size_t n;

	cfg_rule_sets(d, t, role, sets, ds_level, &n);
	for (size_t s = 0; s < n; s++) {
		for (size_t i = 0; i < sets[s]->ncols; i++) {
			const struct cfg_column *c = &sets[s]->cols[i];
			const struct pipe_col *in = cols;
			size_t nin = ncols;
			const char *near;

			if (env->field_paths
				    ? plan_path_has(cols, ncols, c->name)
				    : plan_has(cols, ncols, c->name))
				continue;
			if (ds_level[s] && env->ds_cols) {
				/* SQLite: a default for every table. */
				in = env->ds_cols;
				nin = env->nds_cols;
				if (plan_has(in, nin, c->name))
					continue;
			}
			if (c->optional) {
				if (plan_add_missing(p, c->name))
					goto nomem;
				continue;
			}
			near = plan_suggest(c->name, in, nin);
			spot_err_set(
				err,
				"%s: the rule for column '%s' (config "
				"line %u) names no column of the data%s%s%s"
				" (write the name exactly, or add "
				"optional: true)",
				p->view, c->name, c->line,
				near ? "; did you mean '" : "",
				near ? near : "", near ? "'?" : "");
			return -EINVAL;
		}
	}
	return 0;
nomem:
	spot_err_set(err, "out of memory");
	return -ENOMEM;
}

/*
 * Parquet: leaf paths are joined with '.', so a top-level column named
 * "a.b" and the leaf b of a struct a (or two leaves a crafted schema names
 * alike) share a name. A rule cannot say which it means: refuse the view
 * rather than apply one rule to data it may not have been written for.
 */
static int plan_check_unique(struct plan *p, const struct pipe_col *cols,
			     size_t ncols, struct spot_err *err)
{
	for (size_t i = 0; i < ncols; i++) {
		size_t n = 1;

		for (size_t j = i + 1; j < ncols; j++)
			if (cols[j].name_len == cols[i].name_len &&
			    !memcmp(cols[j].name, cols[i].name,
				    cols[i].name_len))
				n++;
		if (n > 1) {
			spot_err_set(err,
				     "%s: column name '%s' appears %zu times "
				     "(a column named with dots and a nested "
				     "leaf?): a rule cannot say which it "
				     "means, so the view is refused",
				     p->view, cols[i].name, n);
			return -EIO;
		}
	}
	return 0;
}

/*
 * Column names are served as they are (the CSV header line, the Parquet
 * schema, the SQLite table), so a name that looks like personal data is a
 * value, not a name: most likely a file without a header row, whose first
 * row would be served raw whatever the rules say. Refuse the view; the
 * message gives column numbers, never the names.
 */
static int plan_check_names(struct plan *p, const struct pipe_col *cols,
			    size_t ncols, struct spot_err *err)
{
	char cols_txt[128] = "";
	unsigned kinds = 0;
	size_t n = 0, used = 0;

	for (size_t i = 0; i < ncols; i++) {
		unsigned k = msk_pii_detect((const uint8_t *)cols[i].name,
					    cols[i].name_len);
		int w;

		if (!k)
			continue;
		kinds |= k;
		w = snprintf(cols_txt + used, sizeof(cols_txt) - used, "%s%zu",
			     n ? ", " : "", i + 1);
		if (w > 0 && (size_t)w < sizeof(cols_txt) - used)
			used += (size_t)w;
		n++;
	}
	if (!n)
		return 0;
	spot_err_set(err,
		     "%s: column%s %s (1-based) ha%s a name that looks like "
		     "%s: is the header missing? Names are served as they "
		     "are, so the view is refused",
		     p->view, n > 1 ? "s" : "", cols_txt, n > 1 ? "ve" : "s",
		     msk_pii_name(kinds & -kinds));
	return -EIO;
}

/* Record column ci's disposition for check, with a sampler if raw. */
static int plan_scan_col(struct plan *p, const struct pipe_col *col, size_t ci,
			 enum plan_disp disp, const struct cfg_column *rule)
{
	struct plan_scol *sc = &p->scols[ci];

	sc->name = malloc(col->name_len + 1);
	if (!sc->name)
		return -ENOMEM;
	memcpy(sc->name, col->name, col->name_len);
	sc->name[col->name_len] = 0;
	sc->name_len = col->name_len;
	sc->disp = disp;
	sc->rule = rule;
	sc->flags = col->flags;
	if (disp == PLAN_KEPT || disp == PLAN_UNLISTED_KEPT ||
	    disp == PLAN_COMPUTED) {
		struct pipe_xform *x = &p->pipe.xf[p->pipe.nxf++];

		x->col = ci;
		x->fn = plan_sample_fn;
		x->arg = sc;
		x->keeps_type = true;
	}
	return 0;
}

static int plan_start(const struct plan_env *env, const struct cfg_dataset *d,
		      const char *role, const char *name,
		      const struct pipe_col *cols, size_t ncols, struct plan *p,
		      struct spot_err *err)
{
	int rc;

	spot_buf_init(&p->missing);
	p->view = strdup(name);
	/* One more slot: the export review's row recorder. */
	p->pipe.xf = calloc(ncols + 1, sizeof(*p->pipe.xf));
	p->mcols = calloc(ncols ? ncols : 1, sizeof(*p->mcols));
	if (env->scan) {
		p->scan = env->scan;
		p->scols = calloc(ncols ? ncols : 1, sizeof(*p->scols));
		p->nscols = ncols;
		if (!p->scols)
			return -ENOMEM;
	}
	if (!p->view || !p->pipe.xf || !p->mcols)
		return -ENOMEM;
	p->record = env->record;
	p->ds = d;
	p->field_paths = env->field_paths;
	if (p->record &&
	    !(p->lwraps = calloc(ncols ? ncols : 1, sizeof(*p->lwraps))))
		return -ENOMEM;
	if (env->engine) {
		struct pol_ctx ctx = { 0 };

		/* Never a uid or pid: the view serves the whole role. */
		ctx.role = role;
		ctx.dataset = name;
		ctx.path = d->name;
		rc = pol_run_new(env->engine, &ctx, cols, ncols, &p->run, err);
		if (rc)
			return rc;
		if (pol_engine_has_row(env->engine)) {
			rc = pol_run_bind_row(p->run, &p->pipe.row_fn,
					      &p->pipe.row_arg, err);
			if (rc)
				return rc;
		}
	}
	if (d->sample > 0) {
		if (!env->keys) { /* no secret, no sample: refuse */
			spot_err_set(err, "%s: sample: needs the sandbox keys",
				     p->view);
			return -EINVAL;
		}
		p->sample = d->sample;
		p->keys = env->keys;
		p->sample_seed = msk_sample_seed(env->keys, name);
		p->inner_fn = p->pipe.row_fn;
		p->inner_arg = p->pipe.row_arg;
		p->pipe.row_fn = plan_sample_rows;
		p->pipe.row_arg = p;
	}
	return 0;
}

/* k_anonymity's row filter over the plan's own (plan_kanon.c). */
static int plan_bind_kanon(struct plan *p, const struct plan_env *env,
			   const struct cfg_kanon *ka,
			   const struct pipe_col *cols, size_t ncols,
			   struct spot_err *err)
{
	int rc;

	if (!env->kanon) {
		spot_err_set(err, "%s: k_anonymity needs a two-pass build",
			     p->view);
		return -EIO;
	}
	rc = plan_kwrap_new(env->kanon, ka, p->view, cols, ncols,
			    env->field_paths, &p->pipe, &p->kwrap, err);
	for (size_t i = 0; !rc && i < p->pipe.nxf; i++)
		if (p->pipe.xf[i].fn != plan_sample_fn)
			plan_kwrap_quasi_xf(p->kwrap, &p->pipe.xf[i]);
	return rc;
}

int plan_bind(const struct plan_env *env, const struct cfg_dataset *d,
	      const struct cfg_table *t, const char *role, const char *name,
	      const struct pipe_col *cols, size_t ncols, struct plan **out,
	      struct spot_err *err)
{
	const struct cfg_kanon *ka = t && t->kanon ? t->kanon : d->kanon;
	bool keep = cfg_unlisted_of(d, t) == CFG_UNLISTED_KEEP;
	struct plan *p;
	int rc = -ENOMEM;

	p = calloc(1, sizeof(*p));
	if (!p)
		goto nomem;
	rc = plan_start(env, d, role, name, cols, ncols, p, err);
	if (rc == -ENOMEM)
		goto nomem;
	if (rc)
		goto fail;
	if (env->rows_only) { /* the row filter alone: nothing is served */
		*out = p;
		return 0;
	}
	rc = plan_check_rules(p, env, d, t, role, cols, ncols, err);
	if (!rc)
		rc = plan_check_names(p, cols, ncols, err);
	if (!rc && env->leaf_paths)
		rc = plan_check_unique(p, cols, ncols, err);
	if (rc)
		goto fail;
	for (size_t i = 0; i < ncols; i++) {
		const struct cfg_column *c =
			env->field_paths
				? plan_path_rule(d, t, role, cols[i].name,
						 cols[i].name_len)
				: cfg_column_rule_len(d, t, role, cols[i].name,
						      cols[i].name_len);
		enum plan_disp disp;

		/* A YAML rule wins; else the policy's columns[name] applies;
		 * else the column is unlisted. */
		if (c) {
			disp = c->policy_fn		    ? PLAN_LUA
			       : c->rule.method == MSK_KEEP ? PLAN_KEPT
							    : PLAN_MASKED;
			rc = plan_bind_col(p, env, c, i, cols, ncols, err);
		} else if (p->run &&
			   pol_engine_has_column_len(env->engine, cols[i].name,
						     cols[i].name_len)) {
			disp = PLAN_LUA;
			rc = plan_bind_lua(p, cols[i].name, i, err);
		} else if (env->view_output) {
			disp = PLAN_COMPUTED; /* from masked tables */
		} else if (keep) {
			disp = PLAN_UNLISTED_KEPT;
		} else {
			disp = PLAN_REDACTED;
			plan_bind_redact(p, i);
		}
		if (!rc && p->scan)
			rc = plan_scan_col(p, &cols[i], i, disp, c);
		if (rc == -ENOMEM)
			goto nomem;
		if (rc)
			goto fail;
	}
	/* Views are computed from tables already filtered; a view's own
	 * k_anonymity is refused, never silently ignored. */
	if (env->view_output && t && t->kanon) {
		spot_err_set(err,
			     "%s: k_anonymity is for tables, not views: set it "
			     "on the tables the view reads",
			     p->view);
		rc = -EIO;
		goto fail;
	}
	if (ka && !env->view_output &&
	    (rc = plan_bind_kanon(p, env, ka, cols, ncols, err))) {
		if (rc == -ENOMEM)
			goto nomem;
		goto fail;
	}
	/* Last, so it sees the cells as served (Parquet: see plan.h). */
	if (p->record && p->record->rows && ncols && !env->leaf_paths) {
		struct pipe_xform *x = &p->pipe.xf[p->pipe.nxf++];

		x->col = 0;
		x->fn = plan_rows_fn;
		x->arg = p;
		x->keeps_type = true;
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

/* Names of optional rules the data lacks. */
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
	for (size_t i = 0; p->scols && i < p->nscols; i++) {
		const struct plan_scol *sc = &p->scols[i];
		struct plan_scan_col c = { i,	     sc->name, sc->name_len,
					   sc->disp, sc->rule, sc->flags,
					   sc->kinds };

		if (sc->name)
			p->scan->column(p->scan->arg, p->view, &c);
		free(p->scols[i].name);
	}
	free(p->scols);
	plan_kwrap_free(p->kwrap);
	for (size_t i = 0; i < p->nmcols; i++)
		spot_buf_fini(&p->mcols[i].tmp);
	if (p->run)
		pol_run_free(p->run);
	spot_buf_fini(&p->missing);
	free(p->mcols);
	free(p->lwraps);
	free(p->pipe.xf);
	free(p->view);
	free(p);
}

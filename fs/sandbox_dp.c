/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox_dp.c - differential privacy releases as views (sandbox.h): a
 * DP aggregate (masking/dp.h) or a DP synthetic table (dp_synth.h) of a
 * dataset, built from the rows the role's row filter keeps.
 *
 * The rows pass is a build of the dataset through the table of formats
 * on one thread whose plans bind the row filter alone (plan_env
 * rows_only) and a tap that hands each batch's kept rows to the release,
 * then clears them: the pass serves no row and its output is thrown
 * away. The source is pinned as for any view and must be unchanged at
 * the end (else -ESTALE, built again). Only then is noise drawn, with a
 * seed of the sandbox secret, the release, the role and the source
 * file's identity: one file reads the same for every read of a role, two
 * roles (whose row filters may differ) never share noise, and a changed
 * source is a new release with new noise and a new charge (the same noise
 * on two versions would give away their exact difference).
 */
#include "sandbox_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "dp.h"
#include "dp_synth.h"

struct sbx_dp_tap {
	const struct cfg_dataset *d;
	const struct cfg_dp_agg *agg; /* one of agg, syn */
	const struct cfg_dp_synth *syn;
	bool field_paths;
	struct dp_agg *a;
	struct dp_synth *m;
	struct pipe_plan plan;
	pipe_row_fn inner;
	void *inner_arg;
};

/* What a sub names. */
struct sbx_dp_what {
	const struct cfg_dp_agg *agg; /* NULL: the synthetic table */
	const char *ext;	      /* "csv", "parquet", "json" */
	enum view_fmt form;	      /* VIEW_FMT_UNKNOWN for json */
};

int sbx_dp_sub(const char *name, const char *ext, char *buf, size_t len)
{
	int n = name ? snprintf(buf, len, "%cagg/%s.%s", SBX_DP_MARK, name, ext)
		     : snprintf(buf, len, "%csyn.%s", SBX_DP_MARK, ext);

	return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

static int sbx_dp_parse(const struct cfg_dataset *d, const char *sub,
			struct sbx_dp_what *w)
{
	char name[256];
	const char *dot;
	size_t nl;

	if (!sbx_dp_is(sub))
		return -ENOENT;
	sub++;
	dot = strrchr(sub, '.');
	if (!dot)
		return -ENOENT;
	w->ext = dot + 1;
	if (!strcmp(w->ext, "json"))
		w->form = VIEW_FMT_UNKNOWN;
	else if (!strcmp(w->ext, "csv"))
		w->form = VIEW_FMT_CSV;
	else if (!strcmp(w->ext, "parquet") && (d->as & CFG_AS_PARQUET))
		w->form = VIEW_FMT_PARQUET;
	else
		return -ENOENT;
	if (!strncmp(sub, "syn.", 4) && dot == sub + 3) {
		w->agg = NULL;
		return d->synth ? 0 : -ENOENT;
	}
	if (strncmp(sub, "agg/", 4))
		return -ENOENT;
	nl = (size_t)(dot - (sub + 4));
	if (nl >= sizeof(name))
		return -ENOENT;
	memcpy(name, sub + 4, nl);
	name[nl] = 0;
	w->agg = cfg_dp_agg_find(d, name);
	return w->agg ? 0 : -ENOENT;
}

bool sbx_dp_charged(const char *sub)
{
	const char *dot = sbx_dp_is(sub) ? strrchr(sub, '.') : NULL;

	return dot && strcmp(dot, ".json") != 0;
}

int sbx_dp_cost(const struct cfg_dataset *d, const char *sub, uint64_t *eps,
		uint64_t *delta)
{
	struct sbx_dp_what w;

	if (sbx_dp_parse(d, sub, &w))
		return -ENOENT;
	*eps = 0;
	*delta = 0;
	if (w.form == VIEW_FMT_UNKNOWN)
		return 0;
	const struct dp_ratio *e = w.agg ? &w.agg->q.epsilon
					 : &d->synth->spec.epsilon,
			      *dl = w.agg ? &w.agg->q.delta
					  : &d->synth->spec.delta;

	*eps = dp_ratio_nano(*e);
	*delta = dl->num ? dp_ratio_nano(*dl) : 0; /* none: {0, 0} */
	return 0;
}

/* ---- the rows pass ---- */

static int sbx_dp_tap_row(void *arg, struct pipe_batch *b, struct spot_err *err)
{
	struct sbx_dp_tap *t = arg;
	int rc = 0;

	if (t->inner)
		rc = t->inner(t->inner_arg, b, err);
	if (!rc)
		rc = t->a ? dp_agg_rows(t->a, b, err)
			  : dp_synth_rows(t->m, b, err);
	memset(b->keep, 0, b->nrows); /* the pass serves nothing */
	return rc;
}

/* A column the release reads that is inside an array (JSON Lines): one
 * record would count several times, past the release's sensitivity. */
static const char *sbx_dp_array_col(const struct sbx_dp_tap *t)
{
	if (t->agg) {
		if (t->agg->column && strstr(t->agg->column, "[]"))
			return t->agg->column;
		for (size_t i = 0; i < t->agg->q.nby; i++)
			if (strstr(t->agg->by[i], "[]"))
				return t->agg->by[i];
		return NULL;
	}
	for (size_t i = 0; i < t->syn->spec.ncols; i++)
		if (strstr(t->syn->cols[i].name, "[]"))
			return t->syn->cols[i].name;
	return NULL;
}

int sbx_dp_tap_bind(struct sbx_dp_tap *t, const char *table,
		    const struct pipe_col *cols, size_t ncols,
		    const struct pipe_plan **plan, struct spot_err *err)
{
	const char *want = t->agg ? t->agg->table : t->syn->table;
	const char *arr;
	int rc;

	(void)want;
	if (t->a || t->m) { /* one table, one worker: never a second plan */
		spot_err_set(err, "a DP release reads one table once");
		return -EIO;
	}
	if (t->field_paths && (arr = sbx_dp_array_col(t))) {
		spot_err_set(err,
			     "column '%.80s' is inside an array: a record "
			     "would count more than once",
			     arr);
		return -EIO;
	}
	(void)table;
	rc = t->agg ? dp_agg_new(&t->agg->q, cols, ncols, &t->a, err)
		    : dp_synth_new(&t->syn->spec, cols, ncols, &t->m, err);
	if (rc)
		return rc == -ENOMEM ? rc : -EIO;
	t->plan = **plan;
	t->inner = t->plan.row_fn;
	t->inner_arg = t->plan.row_arg;
	t->plan.row_fn = sbx_dp_tap_row;
	t->plan.row_arg = t;
	t->plan.xf = NULL; /* nothing is served: no transform runs */
	t->plan.nxf = 0;
	t->plan.pinned = NULL;
	t->plan.npinned = 0;
	*plan = &t->plan;
	return 0;
}

/*
 * Count the rows of d (its table) that role's row filter keeps into t;
 * the identity of the file read in *id and, for a database, of it and its
 * WAL before the read in *ks (the same after it, else -ESTALE).
 */
static int sbx_dp_rows(struct sbx *s, const struct cfg_dataset *d,
		       const char *role, struct sbx_dp_tap *t,
		       struct src_id *id, struct sbx_kstamp *ks,
		       struct spot_err *err)
{
	const char *table = t->agg ? t->agg->table : t->syn->table;
	const struct view_format *f = view_format_get(sbx_format(s, d));
	struct sbx_bind bind = { .s = s, .d = d, .role = role, .dp = t };
	struct view_sqlobj *objs = NULL;
	struct sbx_src src = { .fd = -1 };
	char **sqls = NULL;
	size_t nobjs = 0;
	struct view_out v;
	int rc;

	if (!f) {
		spot_err_set(err, "cannot open the source file");
		return -ENOENT;
	}
	if (f->objects && !table) {
		spot_err_set(err, "a DP release of a database needs table:");
		return -EIO;
	}
	if (!f->objects && table) {
		spot_err_set(err, "table: is for databases, and %s is %s",
			     d->name, f->title);
		return -EIO;
	}
	t->field_paths = f->field_paths;
	rc = sbx_src_open(s, d, f->by_path, &src, err);
	sbx_kanon_stamp(!rc && f->by_path ? src.path : NULL, ks);
	if (!rc && f->objects)
		rc = sbx_objs_prepare(s, d, f, src.path, table, &bind, &objs,
				      &sqls, &nobjs, err);
	if (!rc) {
		struct view_req req = {
			.form = f->id,
			.sub = table ? table : "",
			.fd = src.fd,
			.path = src.path,
			.delim = d->delimiter,
			.threads = 1,
			.limit = UINT64_MAX,
			.objs = objs,
			.nobjs = nobjs,
			.bind = sbx_bind_tbl_cb,
			.more = sbx_bind_more_cb,
			.arg = &bind,
		};

		view_out_init(&v);
		rc = view_format_build(f, &req, &v, err);
		view_out_fini(&v);
		if (!rc && !t->a && !t->m) {
			spot_err_set(err, "the build read no table");
			rc = -EIO;
		}
		if (!rc && f->by_path) /* a commit meanwhile: read again */
			rc = sbx_kanon_same(src.path, ks, err);
	}
	rc = sbx_src_check(&src, rc, err);
	*id = src.id;
	bind.objs = NULL;
	bind.nobjs = 0;
	sbx_objs_free(objs, sqls, nobjs);
	bind.dp = NULL;
	for (size_t i = 0; i < bind.nplans; i++)
		plan_free(bind.plans[i]);
	free(bind.plans);
	view_cols_free(bind.ds_cols, bind.nds_cols);
	sbx_src_close(&src);
	return rc;
}

/* ---- the release ---- */

static int sbx_dp_statement(const struct cfg_dataset *d,
			    const struct sbx_dp_what *w, struct spot_buf *b)
{
	return w->agg ? dp_query_json(&w->agg->q, b)
		      : dp_synth_json(&d->synth->spec, b);
}

/* Append the length and bytes of s: no two labels run into each other. */
static int sbx_dp_label_put(struct spot_buf *b, const char *s)
{
	return spot_buf_printf(b, "%zu:%s;", strlen(s), s);
}

/* Append the BLAKE2b of the file at path (a policy), or of nothing. */
static int sbx_dp_file_digest(const char *path, struct spot_buf *b)
{
	crypto_generichash_state st;
	uint8_t buf[65536], h[32];
	ssize_t n = 0;
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		crypto_generichash_update(&st, buf, (size_t)n);
	if (fd >= 0)
		close(fd);
	if (path && (fd < 0 || n < 0))
		return -EIO; /* a policy that cannot be read: no release */
	crypto_generichash_final(&st, h, sizeof(h));
	for (size_t i = 0; i < sizeof(h); i++)
		if (spot_buf_printf(b, "%02x", h[i]))
			return -ENOMEM;
	return spot_buf_putc(b, ';');
}

/*
 * The seed of w of d for role over source id, and the release's name.
 * Everything that decides the release's true answers is in it: the
 * release's definition (its statement), the config and the policy file
 * (the row filter, sample:), the role, and the source file's identity
 * (and, for a database, its WAL's): when any of them changes, the noise
 * is new (the same noise over two versions would give their exact
 * difference away) and the ledger charges it again.
 */
static int sbx_dp_seed(struct sbx *s, const struct cfg_dataset *d,
		       const struct sbx_dp_what *w, const char *role,
		       const struct src_id *id, const struct sbx_kstamp *ks,
		       uint8_t seed[32], uint8_t release[32])
{
	struct spot_buf b;
	int rc;

	spot_buf_init(&b);
	rc = spot_buf_printf(&b, "spotfs dp release v2;");
	if (!rc)
		rc = sbx_dp_statement(d, w, &b);
	if (!rc)
		rc = spot_buf_printf(&b, ";");
	for (size_t i = 0; !rc && i < sizeof(s->cfg->digest); i++)
		rc = spot_buf_printf(&b, "%02x", s->cfg->digest[i]);
	if (!rc)
		rc = spot_buf_printf(&b, ";");
	if (!rc)
		rc = sbx_dp_file_digest(d->policy, &b);
	for (int i = 0; !rc && i < 2; i++) /* a database and its WAL */
		rc = spot_buf_printf(
			&b, "stamp %d:%llu:%llu:%lld:%lld.%09ld;", ks->wal,
			(unsigned long long)ks->dev[i],
			(unsigned long long)ks->ino[i], (long long)ks->size[i],
			(long long)ks->mtime[i].tv_sec, ks->mtime[i].tv_nsec);
	if (!rc)
		rc = sbx_dp_label_put(&b, d->name);
	if (!rc)
		rc = sbx_dp_label_put(&b, w->agg ? w->agg->name : "");
	if (!rc)
		rc = spot_buf_printf(&b, "%s;", w->agg ? "agg" : "syn");
	if (!rc)
		rc = sbx_dp_label_put(&b, role);
	if (!rc)
		rc = spot_buf_printf(
			&b, "%llu:%llu:%lld:%lld.%09ld:%lld.%09ld",
			(unsigned long long)id->dev,
			(unsigned long long)id->ino, (long long)id->size,
			(long long)id->mtime.tv_sec, id->mtime.tv_nsec,
			(long long)id->ctime.tv_sec, id->ctime.tv_nsec);
	if (!rc)
		rc = spot_buf_putc(&b, 0);
	if (!rc) {
		msk_dp_seed(s->keys, (const char *)b.p, seed);
		/* The release's name, which the ledger keeps: not the seed. */
		crypto_generichash(release, 32, seed, 32,
				   (const uint8_t *)"release", 7);
	}
	spot_buf_fini(&b);
	return rc;
}

/* Run the release's rows into the sink of form, streaming into sink. */
static int sbx_dp_write(struct view_source *src, enum view_fmt form,
			struct vc_sink *sink, struct spot_buf *buf,
			struct spot_err *err)
{
	const struct view_format *to = view_format_get(form);
	struct view_sink w = { NULL, NULL, NULL, NULL };
	struct view_req req = {
		.form = form,
		.emit = sink ? vc_sink_write : NULL,
		.emit_arg = sink,
		.emit_rewind = sink ? vc_sink_rewind : NULL,
		.emit_after = vc_sink_room(sink),
	};
	struct view_stream str = { &w, &req, buf, false };
	struct pipe_stats st = { 0, 0 };
	int rc;

	if (!to)
		return -ENOTSUP;
	rc = to->sink_new(buf, &w, err);
	if (!rc)
		rc = pipe_run(src->ops, src->state, NULL,
			      sink ? &view_stream_ops : w.ops,
			      sink ? (void *)&str : w.state, &st, err);
	if (w.free)
		w.free(w.state);
	return rc;
}

int sbx_dp_release(struct sbx *s, const struct cfg_dataset *d, const char *sub,
		   const char *role, uint8_t release[32], struct spot_err *err)
{
	const struct view_format *f = view_format_get(sbx_format(s, d));
	struct sbx_src src = { .fd = -1 };
	struct sbx_dp_what w;
	struct sbx_kstamp ks;
	uint8_t seed[32];
	int rc;

	if (sbx_dp_parse(d, sub, &w) || w.form == VIEW_FMT_UNKNOWN) {
		spot_err_set(err, "%s: no such DP release", d->name);
		return -ENOENT;
	}
	if (!f) {
		spot_err_set(err, "%s: cannot open the source file", d->name);
		return -ENOENT;
	}
	/* The identity a build now would have (sbx_dp_rows pins the same). */
	rc = sbx_src_open(s, d, f->by_path, &src, err);
	if (!rc) {
		sbx_kanon_stamp(f->by_path ? src.path : NULL, &ks);
		rc = sbx_dp_seed(s, d, &w, role, &src.id, &ks, seed, release);
		sodium_memzero(seed, sizeof(seed));
		if (rc)
			spot_err_set(err, "%s: %s", d->name, strerror(-rc));
	}
	sbx_src_close(&src);
	return rc;
}

int sbx_dp_build(struct sbx *s, const struct cfg_dataset *d, const char *sub,
		 const char *role, struct vc_sink *sink, struct vc_content *out,
		 struct spot_err *err)
{
	struct sbx_dp_tap tap = { .d = d };
	struct view_source src = { NULL, NULL, NULL, NULL };
	struct sbx_dp_what w;
	uint8_t seed[32], release[32];
	struct sbx_kstamp ks;
	struct spot_buf buf;
	struct src_id id;
	int rc;

	memset(out, 0, sizeof(*out));
	if (sbx_dp_parse(d, sub, &w)) {
		spot_err_set(err, "%s: no such DP release", d->name);
		return -ENOENT;
	}
	spot_buf_init(&buf);
	if (w.form == VIEW_FMT_UNKNOWN) { /* the statement: no data */
		rc = sbx_dp_statement(d, &w, &buf);
		if (!rc)
			rc = spot_buf_putc(&buf, '\n');
		if (!rc)
			return vc_content_from_buf(out, &buf);
		spot_buf_fini(&buf);
		spot_err_set(err, "%s: out of memory", d->name);
		return rc;
	}
	tap.agg = w.agg;
	tap.syn = w.agg ? NULL : d->synth;
	rc = sbx_dp_rows(s, d, role, &tap, &id, &ks, err);
	if (!rc)
		rc = sbx_dp_seed(s, d, &w, role, &id, &ks, seed, release);
	if (!rc)
		rc = tap.a ? dp_agg_source(tap.a, seed, &src, err)
			   : dp_synth_source(tap.m, seed, &src, err);
	sodium_memzero(seed, sizeof(seed));
	if (!rc)
		rc = sbx_dp_write(&src, w.form, sink, &buf, err);
	if (src.free)
		src.free(src.obj);
	dp_agg_free(tap.a);
	dp_synth_free(tap.m);
	if (!rc)
		rc = vc_sink_used(sink) ? vc_sink_content(sink, &buf, out)
					: vc_content_from_buf(out, &buf);
	else
		spot_buf_fini(&buf);
	if (rc) {
		spot_err_prefix(err, "%s: %s %s: ", d->name,
				w.agg ? "aggregate" : "synthetic",
				w.agg ? w.agg->name : "table");
		return rc;
	}
	memcpy(out->release, release, sizeof(release));
	out->src_mtime = id.mtime;
	return 0;
}

/* ---- the utility report ---- */

/* Feed every row of src into m. */
static int sbx_dp_refit(struct view_source *src, struct dp_synth *m,
			struct spot_err *err)
{
	struct pipe_batch b;
	const struct pipe_col *cols;
	size_t ncols;
	int rc = src->ops->columns(src->state, &cols, &ncols, err);

	if (rc)
		return rc;
	if (pipe_batch_init(&b, ncols, PIPE_BATCH_ROWS)) {
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		pipe_batch_clear(&b);
		rc = src->ops->next_batch(src->state, &b, err);
		if (rc || !b.nrows)
			break;
		memset(b.keep, 1, b.nrows);
		rc = dp_synth_rows(m, &b, err);
		if (rc)
			break;
	}
	pipe_batch_fini(&b);
	return rc;
}

int sbx_dp_tvd(struct sbx *s, const struct cfg_dataset *d, const char *role,
	       struct spot_buf *out, struct spot_err *err)
{
	struct sbx_dp_tap tap = { .d = d, .syn = d->synth };
	struct view_source src = { NULL, NULL, NULL, NULL };
	struct sbx_dp_what w = { NULL, "csv", VIEW_FMT_CSV };
	const struct pipe_col *cols;
	struct dp_synth *again = NULL;
	uint8_t seed[32], release[32];
	char **names = NULL;
	double *tvd = NULL;
	struct sbx_kstamp ks;
	struct src_id id;
	size_t n = 0, ncols;
	int rc;

	if (!d->synth) {
		spot_err_set(err, "%s has no synthetic:", d->name);
		return -ENOENT;
	}
	rc = sbx_dp_rows(s, d, role, &tap, &id, &ks, err);
	if (!rc)
		rc = sbx_dp_seed(s, d, &w, role, &id, &ks, seed, release);
	if (!rc)
		rc = dp_synth_source(tap.m, seed, &src, err);
	sodium_memzero(seed, sizeof(seed));
	if (!rc)
		rc = src.ops->columns(src.state, &cols, &ncols, err);
	if (!rc)
		rc = dp_synth_new(&d->synth->spec, cols, ncols, &again, err);
	if (!rc)
		rc = sbx_dp_refit(&src, again, err);
	if (!rc && dp_synth_tvd(tap.m, again, &names, &tvd, &n)) {
		spot_err_set(err, "out of memory");
		rc = -ENOMEM;
	}
	for (size_t i = 0; !rc && i < n; i++)
		rc = spot_buf_printf(out, "%s\t%.4f\n", names[i], tvd[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(tvd);
	if (src.free)
		src.free(src.obj);
	dp_synth_free(again);
	dp_synth_free(tap.m);
	if (rc)
		spot_err_prefix(err, "%s: synthetic table: ", d->name);
	return rc;
}

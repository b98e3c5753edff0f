/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox_build.c - view builds through the table of formats (format.h):
 * open and pin the dataset's file, bind a plan per table from the config
 * and the policy, let the format's entry build, check the file stayed the
 * one pinned, and hand the result to the view cache. Nothing here knows
 * which formats exist.
 */
#include "sandbox_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"

static int sbx_bind_table(struct sbx_bind *b, const char *table,
			  const struct pipe_col *cols, size_t ncols,
			  const struct pipe_plan **plan, struct spot_err *err)
{
	struct plan_env env = {
		b->s->cfg,  b->s->keys,	  sbx_engine(b->s, b->d),
		false,	    b->ds_cols,	  b->nds_cols,
		b->s->scan, false,	  b->kanon,
		false,	    b->s->record, false
	};
	const struct cfg_table *t = NULL;
	const struct view_format *f;
	char name[PATH_MAX];
	struct plan **np, *p = NULL;
	int rc;

	for (size_t i = 0; table && i < b->d->ntables; i++)
		if (!strcmp(b->d->tables[i].name, table))
			t = &b->d->tables[i];
	for (size_t i = 0; table && i < b->nobjs; i++)
		if (b->objs[i].sql && !strcmp(b->objs[i].name, table))
			env.view_output = true;
	f = view_format_get(sbx_format(b->s, b->d));
	env.leaf_paths = f && f->leaf_paths;
	env.field_paths = f && f->field_paths;
	if (b->counting)
		env.scan = NULL; /* check samples the real build */
	if (b->dp) {		 /* a DP release's rows: the row filter alone */
		env.rows_only = true;
		env.scan = NULL;
		env.record = NULL;
		env.kanon = NULL;
	}
	snprintf(name, sizeof(name), "%s%s%s", b->d->name, table ? "/" : "",
		 table ? table : "");
	np = realloc(b->plans, (b->nplans + 1) * sizeof(*np));
	if (!np) {
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	b->plans = np;
	rc = plan_bind(&env, b->d, t, b->role, name, cols, ncols, &p, err);
	if (rc)
		return rc;
	b->plans[b->nplans++] = p;
	if (plan_missing(p) && !b->quiet) {
		struct spot_err msg;

		/* spot_err truncates long lists safely. */
		spot_err_set(&msg, "%s: optional columns not in the data: %s",
			     name, plan_missing(p));
		if (b->s->warn)
			b->s->warn(b->s->warn_arg, msg.msg);
		else
			spot_log(SPOT_LOG_WARN, "%s", msg.msg);
	}
	*plan = plan_pipe(p);
	if (b->dp)
		return sbx_dp_tap_bind(b->dp, table, cols, ncols, plan, err);
	return 0;
}

int sbx_bind_tbl_cb(void *arg, const char *table, const struct pipe_col *cols,
		    size_t ncols, const struct pipe_plan **plan,
		    struct spot_err *err)
{
	return sbx_bind_table(arg, table, cols, ncols, plan, err);
}

/* A further plan of the same table, for another worker of a build. */
int sbx_bind_more_cb(void *arg, const char *table, const struct pipe_col *cols,
		     size_t ncols, const struct pipe_plan **plan,
		     struct spot_err *err)
{
	struct sbx_bind *b = arg;

	b->quiet = true;
	return sbx_bind_table(b, table, cols, ncols, plan, err);
}

/*
 * Build workers (Parquet row groups, CSV parts): the configured number,
 * else one per CPU (at most 8).
 */
static unsigned sbx_build_threads(const struct sbx *s)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (s->cfg->threads)
		return s->cfg->threads;
	return n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
}

/*
 * Workers for one build from the sandbox's pool of `threads:`: as many as
 * are free, and at least one, so a build never waits for another (it runs
 * on its own thread while the pool is busy). Give them back with
 * sbx_workers_put.
 */
static unsigned sbx_workers_take(struct sbx *s)
{
	unsigned max = sbx_build_threads(s), take,
		 used = __atomic_load_n(&s->workers_busy, __ATOMIC_RELAXED);

	do
		take = used < max ? max - used : 1;
	while (!__atomic_compare_exchange_n(
		&s->workers_busy, &used, used + take, false, __ATOMIC_ACQ_REL,
		__ATOMIC_RELAXED));
	return take;
}

static void sbx_workers_put(struct sbx *s, unsigned n)
{
	__atomic_sub_fetch(&s->workers_busy, n, __ATOMIC_RELEASE);
}

static void sbx_bind_fini(struct sbx_bind *b)
{
	view_cols_free(b->ds_cols, b->nds_cols);
	b->ds_cols = NULL;
	b->nds_cols = 0;
	for (size_t i = 0; i < b->nplans; i++)
		plan_free(b->plans[i]);
	free(b->plans);
	b->plans = NULL;
	b->nplans = 0;
}

/*
 * The SQLite layer opens a database by name: it needs the name for its
 * -wal and -shm files, and it resolves symlinks itself, so handing it
 * "/proc/self/fd/N" would only be resolved back to a name. So the dataset
 * is first opened here, confined (a symlink, a path through one, or
 * anything but a regular file is refused), held open while SQLite reads
 * it, and the name SQLite uses must be that same file (st_dev, st_ino)
 * before and after the build: a swap (of the file, a folder on the way or
 * the source folder's own path) fails the build. What is left is a swap
 * there and back within one build; see README "The source folder".
 */
static bool sbx_path_same(const struct sbx_src *src)
{
	struct stat now;

	return !stat(src->path, &now) && now.st_dev == src->st.st_dev &&
	       now.st_ino == src->st.st_ino && S_ISREG(now.st_mode);
}

int sbx_src_open(struct sbx *s, const struct cfg_dataset *d, bool by_path,
		 struct sbx_src *src, struct spot_err *err)
{
	int n = 0, rc;

	src->fd = -1;
	src->by_path = by_path;
	src->path[0] = '\0';
	memset(&src->id, 0, sizeof(src->id));
	if (by_path)
		n = snprintf(src->path, sizeof(src->path), "%s/%s",
			     s->cfg->source, d->name);
	if (n < 0 || (size_t)n >= sizeof(src->path))
		return -ENAMETOOLONG;
	rc = src_open(s->srcfd, d->name, &src->fd, &src->st);
	if (rc) {
		src->fd = -1;
		spot_err_set(err, "cannot open: %s", strerror(-rc));
		return rc;
	}
	if (by_path && !sbx_path_same(src)) {
		spot_err_set(err, "the source path does not lead to the "
				  "source file (a symlink or a swap)");
		return -ESTALE; /* tried again at the next open */
	}
	return sbx_pin(s, src->fd, &src->id, err);
}

int sbx_src_check(struct sbx_src *src, int rc, struct spot_err *err)
{
	if (src->fd < 0)
		return rc;
	if (src->by_path && !rc && !sbx_path_same(src)) {
		spot_err_set(err, "the source file was replaced while it was "
				  "read");
		rc = -ESTALE; /* tried again at the next open */
	}
	/*
	 * A header (or footer) of one version and rows of another would put
	 * raw values in kept columns, pages of two versions of a database
	 * likewise: the view counts only if fd stayed the file pinned before
	 * the first byte was read. A failure then (a torn row) is transient.
	 */
	if (rc != -ESTALE && src_id_check(src->fd, &src->id)) {
		spot_err_set(err, "the source changed while it was read");
		rc = -ESTALE; /* tried again at the next open */
	}
	return rc;
}

void sbx_src_close(struct sbx_src *src)
{
	if (src->fd >= 0)
		close(src->fd);
	src->fd = -1;
}

/*
 * A view that reads the source at each read (Parquet's unmasked chunks, at
 * the offsets of the file the view was built from): served only while fd
 * still is that file (a rewrite in place would put other bytes there,
 * raw). Checked before and after the read, since a write may land between
 * a check and the pread (why the second check catches it: srcdir.c).
 * -ESTALE when it changed, and the bytes read are wiped, never served.
 */
struct sbx_lazy {
	struct view_out v;
	int fd;		   /* the source, pinned */
	struct src_id pin; /* what fd was when the view was built */
};

static ssize_t sbx_lazy_read(void *obj, void *buf, size_t len, uint64_t off)
{
	struct sbx_lazy *l = obj;
	ssize_t n;
	int rc = src_id_check(l->fd, &l->pin);

	if (rc)
		return rc;
	n = l->v.read(l->v.obj, l->fd, buf, len, off);
	rc = src_id_check(l->fd, &l->pin);
	if (rc) {
		explicit_bzero(buf, len);
		return rc;
	}
	return n;
}

static int sbx_lazy_check(void *obj)
{
	struct sbx_lazy *l = obj;

	return src_id_check(l->fd, &l->pin);
}

static void sbx_lazy_free(void *obj)
{
	struct sbx_lazy *l = obj;

	if (!l)
		return;
	view_out_fini(&l->v);
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

/* One build of dataset d through its format's entry. */
struct sbx_run {
	const struct view_format *f;
	struct view_out v;
	struct sbx_src src; /* open after success: the view may read it */
};

/* A scratch file in the store for a build (view_req.scratch_new). */
static int sbx_scratch_new(void *arg, struct spot_rwfile *out)
{
	struct vc_sink *k = vc_scratch_new(arg);

	if (!k)
		return -ENOMEM;
	*out = (struct spot_rwfile){ vc_sink_pwrite, vc_sink_pread,
				     vc_sink_truncate, vc_sink_size, k };
	return 0;
}

static void sbx_scratch_free(void *arg, struct spot_rwfile *rw)
{
	(void)arg;
	vc_scratch_free(rw->arg); /* deletes its file in the store */
}

/* Export review: a JSON Lines record as served (view_req.record); not
 * while k_anonymity counts classes (nothing is served then). */
static void sbx_record_json(void *arg, const uint8_t *rec, size_t len)
{
	const struct sbx_bind *b = arg;

	if (!b->counting && !b->dp)
		b->s->record->json(b->s->record->arg, b->d, rec, len);
}

/*
 * Build sub ("" or a table of a format with objects) of dataset d for
 * role in format form (VIEW_FMT_UNKNOWN: the dataset's own), at most limit
 * rows (see struct view_req). 0, or -errno with err set and r holding
 * nothing.
 */
static int sbx_run(struct sbx *s, const struct cfg_dataset *d, const char *sub,
		   const char *role, enum view_fmt form, uint64_t limit,
		   struct vc_sink *sink, struct sbx_run *r,
		   struct spot_err *err)
{
	struct sbx_bind bind = { .s = s, .d = d, .role = role };
	/* The sink with random access, for a database built in place. */
	const struct spot_rwfile rw = { vc_sink_pwrite, vc_sink_pread,
					vc_sink_truncate, vc_sink_size, sink };
	struct view_sqlobj *objs = NULL;
	char **sqls = NULL;
	size_t nobjs = 0;
	unsigned workers;
	int rc;

	view_out_init(&r->v);
	r->src.fd = -1;
	r->f = view_format_get(sbx_format(s, d));
	if (!r->f) {
		spot_err_set(err, "cannot open the source file");
		return -ENOENT;
	}
	workers = sbx_workers_take(s);
	rc = sbx_src_open(s, d, r->f->by_path, &r->src, err);
	if (!rc && r->f->objects)
		rc = sbx_objs_prepare(s, d, r->f, r->src.path, sub, &bind,
				      &objs, &sqls, &nobjs, err);
	if (!rc) {
		struct view_req req = {
			.form = form ? form : r->f->id,
			.sub = sub,
			.fd = r->src.fd,
			.path = r->src.path,
			.delim = d->delimiter,
			.threads = workers,
			.limit = limit,
			.objs = objs,
			.nobjs = nobjs,
			.bind = sbx_bind_tbl_cb,
			.more = sbx_bind_more_cb,
			.arg = &bind,
			.emit = sink ? vc_sink_write : NULL,
			.emit_arg = sink,
			.emit_rewind = sink ? vc_sink_rewind : NULL,
			.emit_after = vc_sink_room(sink),
			.rw = sink ? &rw : NULL,
			.scratch_new = sink ? sbx_scratch_new : NULL,
			.scratch_free = sbx_scratch_free,
			.scratch_arg = s->views,
			.csv_injection = d->csv_injection,
			.record = s->record && s->record->json ? sbx_record_json
							       : NULL,
			.record_arg = &bind,
		};

		struct sbx_kstamp ks;

		if (workers < sbx_build_threads(s))
			spot_log(SPOT_LOG_INFO,
				 "view %s: %u of %u build workers free (the "
				 "others build other views)",
				 d->name, workers, sbx_build_threads(s));
		if (sbx_kanon_wanted(d)) {
			sbx_kanon_stamp(r->f->by_path ? r->src.path : NULL,
					&ks);
			rc = sbx_kanon_count(&bind, r->f, &req, &bind.kanon,
					     err);
		}
		if (!rc)
			rc = view_format_build(r->f, &req, &r->v, err);
		if (!rc && bind.kanon)
			rc = sbx_kanon_same(r->f->by_path ? r->src.path : NULL,
					    &ks, err);
		if (!rc && bind.kanon)
			sbx_kanon_note(s, d, sub, bind.kanon);
	}
	sbx_workers_put(s, workers);
	rc = sbx_src_check(&r->src, rc, err);
	bind.objs = NULL; /* freed below */
	bind.nobjs = 0;
	sbx_objs_free(objs, sqls, nobjs);
	sbx_bind_fini(&bind);
	plan_kanon_free(bind.kanon);
	if (rc) {
		view_out_fini(&r->v);
		sbx_src_close(&r->src);
	}
	return rc;
}

int sbx_build(struct sbx *s, const struct cfg_dataset *d, const char *sub,
	      const char *role, struct vc_content *out, struct spot_err *err)
{
	return sbx_build_to(s, d, sub, role, NULL, out, err);
}

int sbx_build_to(struct sbx *s, const struct cfg_dataset *d, const char *sub,
		 const char *role, struct vc_sink *sink, struct vc_content *out,
		 struct spot_err *err)
{
	const struct view_format *f = view_format_get(sbx_format(s, d));
	const struct view_format *as = NULL;
	struct sbx_lazy *l;
	struct sbx_run r;
	int rc;

	if (sbx_dp_is(sub)) /* a DP release (sandbox_dp.c) */
		return sbx_dp_build(s, d, sub, role, sink, out, err);
	/* sub: a table of a format with objects, else a converted form. */
	if (sub[0] && f && !f->objects && !(as = view_format_by_name(sub))) {
		spot_err_set(err, "%s as %s: no such form", d->name, sub);
		return -ENOENT;
	}
	rc = sbx_run(s, d, as ? "" : sub, role, as ? as->id : VIEW_FMT_UNKNOWN,
		     UINT64_MAX, sink, &r, err);
	if (rc) {
		size_t nl = strlen(d->name);

		/* Once: a plan's messages name the view already. */
		if (strncmp(err->msg, d->name, nl) ||
		    (err->msg[nl] != ':' && err->msg[nl] != '/'))
			spot_err_prefix(err, "%s%s%s: ", d->name,
					!sub[0]		  ? ""
					: f && f->objects ? "/"
							  : " as ",
					sub);
		return rc;
	}
	memset(out, 0, sizeof(*out));
	if (r.v.read) {
		l = calloc(1, sizeof(*l));
		if (!l) {
			view_out_fini(&r.v);
			sbx_src_close(&r.src);
			spot_err_set(err, "%s: out of memory", d->name);
			return -ENOMEM;
		}
		l->v = r.v;
		l->fd = r.src.fd;
		l->pin = r.src.id;
		out->size = r.v.size;
		out->mem = r.v.mem;
		out->read = sbx_lazy_read;
		out->free = sbx_lazy_free;
		out->check = sbx_lazy_check;
		out->obj = l;
	} else {
		sbx_src_close(&r.src);
		rc = vc_sink_used(sink) ? vc_sink_content(sink, &r.v.buf, out)
					: vc_content_from_buf(out, &r.v.buf);
		if (rc) {
			spot_err_set(err, "%s: %s", d->name, strerror(-rc));
			return rc;
		}
	}
	/* The file it was built from (a database's tables: none). */
	if (!r.f->objects)
		out->src_mtime = r.src.id.mtime;
	out->rows_in = r.v.rows_in;
	out->rows_out = r.v.rows_out;
	return 0;
}

int sbx_csv_rows(struct sbx *s, const struct cfg_dataset *d, const char *role,
		 uint64_t limit, struct spot_buf *out, struct spot_err *err)
{
	struct sbx_run r;
	int rc = sbx_run(s, d, "", role, VIEW_FMT_CSV, limit, NULL, &r, err);

	if (rc) {
		spot_err_prefix(err, "%s: ", d->name);
		return rc;
	}
	sbx_src_close(&r.src);
	rc = r.v.read ? -ENOTSUP : spot_buf_append(out, r.v.buf.p, r.v.buf.len);
	view_out_fini(&r.v);
	if (rc)
		spot_err_set(err, "%s: out of memory", d->name);
	return rc;
}

unsigned sbx_forms(struct sbx *s, const struct cfg_dataset *d, bool *self)
{
	const struct view_format *f = view_format_get(sbx_format(s, d));
	unsigned own = f && f->forms ? VIEW_FMT_BIT(f->id) : 0;

	*self = !own || !d->as || (d->as & (CFG_AS_NATIVE | own));
	return f ? d->as & f->forms : 0;
}

const char *sbx_form(struct sbx *s, const struct cfg_dataset *d, bool *self)
{
	unsigned other = sbx_forms(s, d, self);

	if (!other)
		return NULL;
	return view_fmt_name((enum view_fmt)__builtin_ctz(other));
}

int sbx_form_name_of(struct sbx *s, const struct cfg_dataset *d,
		     enum view_fmt form, char *buf, size_t len)
{
	bool self;

	if (!(sbx_forms(s, d, &self) & VIEW_FMT_BIT(form)) ||
	    cfg_form_name(d, VIEW_FMT_BIT(form), buf, len))
		return -ENOENT;
	return 0;
}

int sbx_form_name(struct sbx *s, const struct cfg_dataset *d, const char **form,
		  char *buf, size_t len)
{
	const char *f;
	bool self;

	if (!d->as || !(f = sbx_form(s, d, &self)) ||
	    sbx_form_name_of(s, d, view_format_by_name(f)->id, buf, len))
		return -ENOENT;
	*form = f;
	return 0;
}

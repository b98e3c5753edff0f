/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon_build.c - the daemon's side of views as they build and age:
 * spill files in the encrypted store, building every view after mounting
 * (prebuild, mount --wait), and the views part of `spotfs status`.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon_i.h"
#include "overlay/seal.h"
#include "sandbox.h"
#include "vcache.h"
#include "view.h"

/* ---- spill files: seal files of the sandbox's store ---- */

static int dmn_spill_create(void *arg, void **file)
{
	struct seal_file *f;
	int rc = seal_file_create(arg, &f);

	if (!rc)
		*file = f;
	return rc;
}

static ssize_t dmn_spill_pwrite(void *file, const void *buf, size_t len,
				uint64_t off)
{
	return seal_file_pwrite(file, buf, len, (off_t)off);
}

static ssize_t dmn_spill_pread(void *file, void *buf, size_t len, uint64_t off)
{
	ssize_t n = seal_file_pread(file, buf, len, (off_t)off);

	if (n == -EIO)
		spot_log(SPOT_LOG_ERR,
			 "a spilled view's block failed authentication "
			 "(file %s): read refused",
			 seal_file_name(file));
	return n;
}

static void dmn_spill_destroy(void *file)
{
	seal_file_destroy(file);
}

static const struct vc_spill_ops dmn_spill_ops = {
	.create = dmn_spill_create,
	.pwrite = dmn_spill_pwrite,
	.pread = dmn_spill_pread,
	.destroy = dmn_spill_destroy,
};

int dmn_views_setup(struct dmn *d, struct spot_err *err)
{
	int rc = vc_set_spill(d->sbx->views, d->sbx->cfg->view_memory,
			      &dmn_spill_ops, d->store);

	if (rc)
		spot_err_set(err, "cannot start the view spill thread: %s",
			     strerror(-rc));
	return rc;
}

/* ---- prebuild ---- */

struct dmn_pre_tally {
	unsigned built, failed;
	uint64_t bytes;
	struct spot_buf failures; /* lines for mount --wait */
};

static void dmn_pre_one(struct dmn *d, const struct cfg_dataset *ds,
			const char *sub, struct dmn_pre_tally *t)
{
	const char *role = sbx_role_key(ds, d->sbx->cfg->default_role);
	char psub[256], msg[SPOT_ERR_MAX];
	struct vc_view *v;

	if (__atomic_load_n(&d->ending, __ATOMIC_RELAXED) ||
	    vc_get(d->sbx->views, ds->name, sub, role, &v))
		return;
	if (v->state == VC_READY) {
		t->built++;
		t->bytes += v->content.size;
		vc_put(v);
		return;
	}
	t->failed++;
	spot_printable(sub, psub, sizeof(psub));
	spot_printable(v->msg, msg, sizeof(msg));
	vc_put(v);
	spot_buf_printf(&t->failures, "spotfs: view %s%s%s failed: %s\n",
			ds->name, psub[0] ? " " : "", psub, msg);
}

/* Every view of the default role, one after another. */
static void dmn_pre_all(struct dmn *d, struct dmn_pre_tally *t)
{
	const struct cfg *cfg = d->sbx->cfg;

	for (size_t i = 0; i < cfg->ndatasets; i++) {
		const struct cfg_dataset *ds = &cfg->datasets[i];
		unsigned forms;
		bool self = true;

		if (sbx_has_objects(d->sbx, ds)) {
			const struct sbx_objs *o =
				sbx_sqlite_objs_cached(d->sbx, ds);

			for (size_t k = 0; o && k < o->n; k++)
				dmn_pre_one(d, ds, o->names[k], t);
			dmn_pre_one(d, ds, "", t);
			continue;
		}
		forms = sbx_forms(d->sbx, ds, &self);
		if (self)
			dmn_pre_one(d, ds, "", t);
		for (int f = VIEW_FMT_UNKNOWN + 1; f < VIEW_FMT_COUNT; f++)
			if (forms & VIEW_FMT_BIT(f))
				dmn_pre_one(d, ds,
					    view_fmt_name((enum view_fmt)f), t);
	}
}

/* 0 or -1 with errno: every byte written (a pipe may take fewer). */
static int dmn_write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p = (const uint8_t *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

static void *dmn_pre_main(void *arg)
{
	struct dmn *d = arg;
	struct dmn_pre_tally t = { 0 };
	int64_t t0 = vc_now_ms();
	char line[256];

	/* Low priority: the mount's own requests come first (threads the
	 * builds start inherit it). */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19))
		spot_log(SPOT_LOG_DEBUG, "prebuild: setpriority: %s",
			 strerror(errno));
	spot_buf_init(&t.failures);
	dmn_pre_all(d, &t);
	snprintf(line, sizeof(line),
		 "spotfs: prebuild: %u views built (%" PRIu64
		 " bytes), %u failed, in %.1f s\n",
		 t.built, t.bytes, t.failed, (double)(vc_now_ms() - t0) / 1e3);
	spot_log(t.failed ? SPOT_LOG_WARN : SPOT_LOG_INFO, "%.*s",
		 (int)strlen(line) - 9, line + 8); /* without "spotfs: " */
	if (d->pre_ready_fd >= 0) {
		/* mount --wait: the report, a NUL, then readiness. A sandbox
		 * that ended meanwhile (expiry, unmount) is not ready. */
		bool ended = __atomic_load_n(&d->ending, __ATOMIC_RELAXED);

		if (ended)
			spot_buf_printf(&t.failures,
					"spotfs: the sandbox ended before its "
					"views were built\n");
		else
			spot_buf_printf(&t.failures, "%s", line);
		spot_buf_putc(&t.failures, 0);
		if (dmn_write_all(d->pre_ready_fd, t.failures.p,
				  t.failures.len))
			spot_log(SPOT_LOG_WARN, "prebuild: report: %s",
				 strerror(errno));
		dmn_ready(d->pre_ready_fd, d->pre_opts, !ended);
		d->pre_ready_fd = -1;
	}
	spot_buf_fini(&t.failures);
	return NULL;
}

int dmn_prebuild_start(struct dmn *d)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&d->pre_thread, NULL, dmn_pre_main, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!rc)
		d->pre_started = true;
	return rc;
}

void dmn_prebuild_join(struct dmn *d)
{
	if (d->pre_started)
		pthread_join(d->pre_thread, NULL);
	d->pre_started = false;
}

/* ---- status ---- */

struct dmn_st {
	struct spot_buf *out;
	bool json;
	size_t n;
	int64_t now;
};

static const char *dmn_st_state(const struct vc_info *in)
{
	if (in->state == VC_BUILDING)
		return "building";
	if (in->state == VC_FAILED)
		return "failed";
	return in->spilled ? "built, spilled" : "built, in memory";
}

static void dmn_st_text(struct dmn_st *s, const struct vc_info *in)
{
	char ds[256], sub[256], role[128], msg[SPOT_ERR_MAX];
	struct spot_buf *o = s->out;

	/* Table names come from the data: no control bytes on a terminal. */
	spot_printable(in->dataset, ds, sizeof(ds));
	spot_printable(in->sub, sub, sizeof(sub));
	spot_printable(in->role, role, sizeof(role));
	spot_printable(in->msg ? in->msg : "", msg, sizeof(msg));
	spot_buf_printf(o, "view: %s%s%s%s%s: %s", ds, sub[0] ? " " : "", sub,
			role[0] ? " role " : "", role, dmn_st_state(in));
	if (in->state == VC_BUILDING) {
		double el = (double)(s->now - in->started_ms) / 1e3;

		spot_buf_printf(o, ", %" PRIu64 " rows", in->rows_done);
		if (in->src_size && in->bytes_done) {
			double f =
				(double)in->bytes_done / (double)in->src_size;

			spot_buf_printf(o, ", %.0f%% of the source",
					f > 1 ? 100.0 : f * 100);
			if (f > 0.01 && f < 1)
				spot_buf_printf(o, ", eta %.0f s", el / f - el);
		}
		spot_buf_printf(o, ", %.1f s so far", el);
	} else if (in->state == VC_READY) {
		spot_buf_printf(o,
				", %" PRIu64 " bytes, %" PRIu64
				" rows, built in %.1f s",
				in->size, in->rows_out,
				(double)in->built_ms / 1e3);
		if (in->spill_failed)
			spot_buf_printf(o, " (spill failed: kept in memory)");
	} else {
		spot_buf_printf(o, ": %s", msg);
	}
	if (in->retired)
		spot_buf_printf(o, " (replaced: held by open files)");
	spot_buf_printf(o, "\n");
	for (size_t i = 0; i < in->nwaiters && i < VC_WAITERS_SHOWN; i++) {
		int64_t w = s->now - in->wait_since_ms[i];

		if (w >= DMN_WAIT_SHOWN_MS)
			spot_buf_printf(o, "  waiting %.1f s: uid %u pid %d\n",
					(double)w / 1e3,
					(unsigned)in->waiters[i].uid,
					(int)in->waiters[i].pid);
	}
}

static void dmn_st_json(struct dmn_st *s, const struct vc_info *in)
{
	struct spot_buf *o = s->out;
	bool first = true;

	spot_buf_printf(o, "%s{\"dataset\":", s->n ? "," : "");
	spot_buf_json_str(o, in->dataset);
	spot_buf_printf(o, ",\"table\":");
	spot_buf_json_str(o, in->sub);
	spot_buf_printf(o, ",\"role\":");
	spot_buf_json_str(o, in->role);
	spot_buf_printf(o,
			",\"state\":\"%s\",\"generation\":%" PRIu64
			",\"replaced\":%s",
			in->state == VC_BUILDING ? "building"
			: in->state == VC_FAILED ? "failed"
						 : "built",
			in->gen, in->retired ? "true" : "false");
	if (in->state == VC_BUILDING)
		spot_buf_printf(o,
				",\"source_bytes\":%" PRIu64
				",\"source_bytes_read\":%" PRIu64
				",\"rows\":%" PRIu64 ",\"seconds\":%.3f",
				in->src_size, in->bytes_done, in->rows_done,
				(double)(s->now - in->started_ms) / 1e3);
	else if (in->state == VC_READY)
		spot_buf_printf(
			o,
			",\"bytes\":%" PRIu64 ",\"memory_bytes\":%" PRIu64
			",\"spilled\":%s,\"spill_failed\":%s"
			",\"rows_in\":%" PRIu64 ",\"rows\":%" PRIu64
			",\"build_seconds\":%.3f",
			in->size, in->mem, in->spilled ? "true" : "false",
			in->spill_failed ? "true" : "false", in->rows_in,
			in->rows_out, (double)in->built_ms / 1e3);
	else {
		spot_buf_printf(o, ",\"error\":");
		spot_buf_json_str(o, in->msg ? in->msg : "");
	}
	spot_buf_printf(o, ",\"waiting\":[");
	for (size_t i = 0; i < in->nwaiters && i < VC_WAITERS_SHOWN; i++) {
		spot_buf_printf(o, "%s{\"uid\":%u,\"pid\":%d,\"seconds\":%.3f}",
				first ? "" : ",", (unsigned)in->waiters[i].uid,
				(int)in->waiters[i].pid,
				(double)(s->now - in->wait_since_ms[i]) / 1e3);
		first = false;
	}
	spot_buf_printf(o, "]}");
}

static void dmn_st_view(void *arg, const struct vc_info *in)
{
	struct dmn_st *s = arg;

	if (s->json)
		dmn_st_json(s, in);
	else
		dmn_st_text(s, in);
	s->n++;
}

void dmn_views_status(struct dmn *d, struct spot_buf *out, bool json)
{
	struct dmn_st s = { .out = out, .json = json, .now = vc_now_ms() };
	uint64_t budget, mem = vc_mem(d->sbx->views, &budget);

	if (json) {
		spot_buf_printf(out,
				"\"view_memory\":%" PRIu64
				",\"view_memory_used\":%" PRIu64 ",\"views\":[",
				budget, mem);
		vc_foreach(d->sbx->views, dmn_st_view, &s);
		spot_buf_printf(out, "]");
		return;
	}
	spot_buf_printf(out,
			"view memory: %" PRIu64 " of %" PRIu64
			" bytes (beyond: spilled, encrypted, to the store)\n",
			mem, budget);
	vc_foreach(d->sbx->views, dmn_st_view, &s);
}

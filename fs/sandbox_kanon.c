/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox_kanon.c - the first of the two builds of a view with
 * k_anonymity (see plan_kanon.c): the same source, the same plans, on one
 * thread, counting the classes of quasi-identifiers and serving nothing.
 */
#include "sandbox_i.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool sbx_kanon_wanted(const struct cfg_dataset *d)
{
	if (d->kanon)
		return true;
	for (size_t i = 0; i < d->ntables; i++)
		if (d->tables[i].kanon)
			return true;
	return false;
}

int sbx_kanon_count(const struct sbx_bind *b, const struct view_format *f,
		    const struct view_req *real, struct plan_kanon **out,
		    struct spot_err *err)
{
	struct sbx_bind cb = *b;
	struct view_req req = *real;
	struct plan_kanon *k = NULL;
	struct view_out v;
	int rc = plan_kanon_new(&k);

	if (rc) {
		spot_err_set(err, "out of memory");
		return rc;
	}
	/* Plans of its own; the objects and columns are b's (not freed). */
	cb.plans = NULL;
	cb.nplans = 0;
	cb.kanon = k;
	cb.counting = true;
	cb.quiet = true;
	/* The source's own form (a form converts the same rows), whole. */
	req.form = f->id;
	if (!f->objects)
		req.sub = "";
	req.threads = 1;
	req.limit = UINT64_MAX;
	req.arg = &cb;
	req.emit = NULL;
	req.emit_arg = NULL;
	req.emit_after = 0;
	req.rw = NULL;
	view_out_init(&v);
	rc = view_format_build(f, &req, &v, err);
	view_out_fini(&v);
	for (size_t i = 0; i < cb.nplans; i++)
		plan_free(cb.plans[i]);
	free(cb.plans);
	if (rc) {
		plan_kanon_free(k);
		return rc;
	}
	plan_kanon_filter(k);
	*out = k;
	return 0;
}

void sbx_kanon_stamp(const char *path, struct sbx_kstamp *k)
{
	char wal[PATH_MAX];
	struct stat st;

	memset(k, 0, sizeof(*k));
	if (!path)
		return;
	if (!stat(path, &st)) {
		k->dev[0] = st.st_dev;
		k->ino[0] = st.st_ino;
		k->size[0] = st.st_size;
		k->mtime[0] = st.st_mtim;
	}
	if ((size_t)snprintf(wal, sizeof(wal), "%s-wal", path) < sizeof(wal) &&
	    !stat(wal, &st)) {
		k->wal = true;
		k->dev[1] = st.st_dev;
		k->ino[1] = st.st_ino;
		k->size[1] = st.st_size;
		k->mtime[1] = st.st_mtim;
	}
}

int sbx_kanon_same(const char *path, const struct sbx_kstamp *a,
		   struct spot_err *err)
{
	struct sbx_kstamp now;

	if (!path)
		return 0; /* read through a pinned descriptor */
	sbx_kanon_stamp(path, &now);
	if (!memcmp(&now, a, sizeof(now)))
		return 0;
	spot_err_set(err, "k_anonymity: the database changed between the "
			  "count and the build: built again at the next open");
	return -ESTALE;
}

void sbx_kanon_note(struct sbx *s, const struct cfg_dataset *d, const char *sub,
		    const struct plan_kanon *k)
{
	struct spot_err msg;

	/* A count: never which rows. */
	spot_err_set(&msg,
		     "%s%s%s: k_anonymity: %llu rows not served (in "
		     "classes smaller than k)",
		     d->name, sub[0] ? "/" : "", sub,
		     (unsigned long long)plan_kanon_suppressed(k));
	if (s->warn)
		s->warn(s->warn_arg, msg.msg);
	else
		spot_log(SPOT_LOG_INFO, "%s", msg.msg);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox_kanon.c - the first of the two builds of a view with
 * k_anonymity (see plan_kanon.c): the same source, the same plans, on one
 * thread, counting the classes of quasi-identifiers and serving nothing.
 */
#include "sandbox_i.h"

#include <errno.h>
#include <stdlib.h>

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

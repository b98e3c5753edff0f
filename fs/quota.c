/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * quota.c - per-role counters of masked-view reads and opens against the
 * config's limits (see quota.h).
 */
#include "quota.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct qta_ctr {
	struct cfg_quota lim;
	uint64_t bytes; /* atomic */
	uint64_t opens; /* atomic */
	int told;	/* atomic: quota_exceeded audited */
};

struct qta {
	const struct cfg *cfg;
	size_t nroles;	      /* cfg->nroles, + 1 for a default role */
	struct qta_ctr *role; /* nroles */
	struct qta_ctr *ds;   /* ndatasets * nroles */
	const char *dflt;     /* the default role when it is not in roles */
};

int qta_new(const struct cfg *cfg, struct qta **out)
{
	struct qta *q = calloc(1, sizeof(*q));
	const char *dflt = cfg->default_role ? cfg->default_role : "default";

	if (!q)
		return -ENOMEM;
	q->cfg = cfg;
	q->nroles = cfg->nroles;
	q->dflt = dflt;
	for (size_t i = 0; i < cfg->nroles; i++)
		if (!strcmp(cfg->roles[i].name, dflt))
			q->dflt = NULL; /* a configured role */
	if (q->dflt)
		q->nroles++;
	q->role = calloc(q->nroles, sizeof(*q->role));
	q->ds = calloc(cfg->ndatasets * q->nroles + 1, sizeof(*q->ds));
	if (!q->role || !q->ds) {
		qta_free(q);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->nroles; i++)
		q->role[i].lim = cfg->roles[i].quota;
	for (size_t k = 0; k < cfg->ndatasets; k++)
		for (size_t i = 0; i < q->nroles; i++)
			q->ds[k * q->nroles + i].lim = cfg->datasets[k].quota;
	*out = q;
	return 0;
}

void qta_free(struct qta *q)
{
	if (!q)
		return;
	free(q->role);
	free(q->ds);
	free(q);
}

struct qta_ref qta_ref(const struct qta *q, const struct cfg_dataset *d,
		       const char *role)
{
	struct qta_ref r = { -1, -1 };

	for (size_t i = 0; i < q->cfg->nroles && r.role < 0; i++)
		if (!strcmp(q->cfg->roles[i].name, role))
			r.role = (int)i;
	if (r.role < 0 && q->dflt && !strcmp(role, q->dflt))
		r.role = (int)q->nroles - 1;
	if (d && d >= q->cfg->datasets &&
	    d < q->cfg->datasets + q->cfg->ndatasets)
		r.ds = (int)(d - q->cfg->datasets);
	return r;
}

static struct qta_ctr *qta_ds(const struct qta *q, struct qta_ref r)
{
	if (r.role < 0 || r.ds < 0)
		return NULL;
	return &q->ds[(size_t)r.ds * q->nroles + (size_t)r.role];
}

static struct qta_ctr *qta_role(const struct qta *q, struct qta_ref r)
{
	return r.role < 0 ? NULL : &q->role[r.role];
}

bool qta_metered(const struct qta *q, struct qta_ref r)
{
	const struct qta_ctr *a = qta_role(q, r), *b = qta_ds(q, r);

	return (a && a->lim.read_bytes) || (b && b->lim.read_bytes);
}

/* Whether c is past a limit (opens: also at it, for a new open). */
static const char *qta_over(struct qta_ctr *c, bool opening)
{
	uint64_t b, o;

	if (!c)
		return NULL;
	b = __atomic_load_n(&c->bytes, __ATOMIC_RELAXED);
	o = __atomic_load_n(&c->opens, __ATOMIC_RELAXED);
	if (c->lim.read_bytes && b >= c->lim.read_bytes)
		return "read_bytes";
	if (opening && c->lim.opens && o >= c->lim.opens)
		return "opens";
	return NULL;
}

static int qta_check(struct qta *q, struct qta_ref r, bool opening,
		     const char **what, bool *first)
{
	struct qta_ctr *cs[2] = { qta_role(q, r), qta_ds(q, r) };

	for (size_t i = 0; i < 2; i++) {
		const char *w = qta_over(cs[i], opening);

		if (!w)
			continue;
		*what = w;
		*first =
			!__atomic_exchange_n(&cs[i]->told, 1, __ATOMIC_ACQ_REL);
		return -EDQUOT;
	}
	return 0;
}

int qta_open(struct qta *q, struct qta_ref r, const char **what, bool *first)
{
	int rc = qta_check(q, r, true, what, first);

	if (rc)
		return rc;
	if (qta_role(q, r))
		__atomic_add_fetch(&qta_role(q, r)->opens, 1, __ATOMIC_RELAXED);
	if (qta_ds(q, r))
		__atomic_add_fetch(&qta_ds(q, r)->opens, 1, __ATOMIC_RELAXED);
	return 0;
}

int qta_copy(struct qta *q, struct qta_ref r, uint64_t n, const char **what,
	     bool *first)
{
	struct qta_ctr *cs[2] = { qta_role(q, r), qta_ds(q, r) };
	uint64_t after[2] = { 0, 0 };
	int rc = qta_check(q, r, true, what, first);

	if (rc)
		return rc;
	/*
	 * Charged first, then checked against the total this charge made:
	 * of copy-ups at once, only those that fit on top of the ones before
	 * them pass. One that does not fit is taken back (a read refused
	 * meanwhile because of it was refused early, never late).
	 */
	for (size_t i = 0; i < 2; i++)
		if (cs[i]) {
			after[i] = __atomic_add_fetch(&cs[i]->bytes, n,
						      __ATOMIC_RELAXED);
			__atomic_add_fetch(&cs[i]->opens, 1, __ATOMIC_RELAXED);
		}
	for (size_t i = 0; i < 2; i++) {
		if (!cs[i] || !cs[i]->lim.read_bytes ||
		    after[i] <= cs[i]->lim.read_bytes)
			continue;
		for (size_t k = 0; k < 2; k++)
			if (cs[k]) {
				__atomic_sub_fetch(&cs[k]->bytes, n,
						   __ATOMIC_RELAXED);
				__atomic_sub_fetch(&cs[k]->opens, 1,
						   __ATOMIC_RELAXED);
			}
		*what = "read_bytes";
		*first =
			!__atomic_exchange_n(&cs[i]->told, 1, __ATOMIC_ACQ_REL);
		return -EDQUOT;
	}
	return 0;
}

int qta_read(struct qta *q, struct qta_ref r, const char **what, bool *first)
{
	return qta_check(q, r, false, what, first);
}

void qta_served(struct qta *q, struct qta_ref r, uint64_t n)
{
	if (qta_role(q, r))
		__atomic_add_fetch(&qta_role(q, r)->bytes, n, __ATOMIC_RELAXED);
	if (qta_ds(q, r))
		__atomic_add_fetch(&qta_ds(q, r)->bytes, n, __ATOMIC_RELAXED);
}

static void qta_line(struct spot_buf *out, bool json, bool *first,
		     const char *role, const char *ds, struct qta_ctr *c)
{
	uint64_t b = __atomic_load_n(&c->bytes, __ATOMIC_RELAXED);
	uint64_t o = __atomic_load_n(&c->opens, __ATOMIC_RELAXED);
	bool over = qta_over(c, true) != NULL;

	if (json) {
		spot_buf_printf(out, "%s{\"role\":", *first ? "" : ",");
		spot_buf_json_str(out, role);
		spot_buf_printf(out, ",\"dataset\":");
		spot_buf_json_str(out, ds ? ds : "");
		spot_buf_printf(out,
				",\"read_bytes\":%" PRIu64
				",\"read_bytes_limit\":%" PRIu64
				",\"opens\":%" PRIu64
				",\"opens_limit\":%" PRIu64 ",\"exceeded\":%s}",
				b, c->lim.read_bytes, o, c->lim.opens,
				over ? "true" : "false");
	} else {
		char r[128], d[256];

		spot_printable(role, r, sizeof(r));
		spot_printable(ds ? ds : "", d, sizeof(d));
		spot_buf_printf(out, "quota: role %s%s%s: %" PRIu64, r,
				ds ? " dataset " : "", d, b);
		if (c->lim.read_bytes)
			spot_buf_printf(out, " of %" PRIu64, c->lim.read_bytes);
		spot_buf_printf(out, " bytes read, %" PRIu64, o);
		if (c->lim.opens)
			spot_buf_printf(out, " of %" PRIu64, c->lim.opens);
		spot_buf_printf(out, " opens%s\n", over ? " (exceeded)" : "");
	}
	*first = false;
}

void qta_describe(struct qta *q, struct qta_ref r, struct spot_buf *out,
		  bool json)
{
	struct qta_ctr *cs[2] = { qta_role(q, r), qta_ds(q, r) };
	static const char *const scope[2] = { "role", "dataset" };
	bool first = true;

	for (size_t i = 0; i < 2; i++) {
		struct qta_ctr *c = cs[i];
		uint64_t b, o;
		bool over;

		if (!c || (!c->lim.read_bytes && !c->lim.opens))
			continue;
		b = __atomic_load_n(&c->bytes, __ATOMIC_RELAXED);
		o = __atomic_load_n(&c->opens, __ATOMIC_RELAXED);
		over = qta_over(c, true) != NULL;
		if (json)
			spot_buf_printf(
				out,
				"%s{\"scope\":\"%s\",\"read_bytes\":%" PRIu64
				",\"read_bytes_limit\":%" PRIu64
				",\"opens\":%" PRIu64
				",\"opens_limit\":%" PRIu64 ",\"exceeded\":%s}",
				first ? "" : ",", scope[i], b,
				c->lim.read_bytes, o, c->lim.opens,
				over ? "true" : "false");
		else
			spot_buf_printf(out,
					"  quota (%s): %" PRIu64 " of %" PRIu64
					" bytes read, %" PRIu64 " of %" PRIu64
					" opens (0: no limit)%s\n",
					scope[i], b, c->lim.read_bytes, o,
					c->lim.opens, over ? ", exceeded" : "");
		first = false;
	}
}

void qta_status(struct qta *q, struct spot_buf *out, bool json)
{
	bool first = true;

	if (json)
		spot_buf_printf(out, "\"quotas\":[");
	for (size_t i = 0; i < q->nroles; i++) {
		const char *name =
			i < q->cfg->nroles ? q->cfg->roles[i].name : q->dflt;

		if (q->role[i].lim.read_bytes || q->role[i].lim.opens)
			qta_line(out, json, &first, name, NULL, &q->role[i]);
		for (size_t k = 0; k < q->cfg->ndatasets; k++) {
			struct qta_ctr *c = &q->ds[k * q->nroles + i];

			if (c->lim.read_bytes || c->lim.opens)
				qta_line(out, json, &first, name,
					 q->cfg->datasets[k].name, c);
		}
	}
	if (json)
		spot_buf_printf(out, "],");
}

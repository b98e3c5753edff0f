/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon_quota.c - the daemon's hooks into quota.h: opens, reads and
 * copy-ups of masked views, direct I/O for metered opens, quota_exceeded
 * once.
 */
#include <errno.h>
#include <stdio.h>

#include "audit.h"
#include "daemon_i.h"

static void dmn_quota_audit(struct dmn *d, const struct cfg_dataset *ds,
			    const struct dmn_caller *c, const char *what)
{
	struct aud_event ev;
	char detail[64];

	snprintf(detail, sizeof(detail), "%s limit reached", what);
	aud_event_init(&ev, AUD_EV_QUOTA_EXCEEDED, NULL);
	ev.path = ds ? ds->name : "";
	ev.decision = "deny";
	ev.reason = "quota";
	ev.detail = detail;
	dmn_audit(d, &ev, c, false);
	spot_log(SPOT_LOG_WARN, "role %s: %s quota exceeded", c->role, what);
}

int dmn_quota_open(struct dmn *d, const struct ns_node *n,
		   const struct dmn_caller *c, struct dmn_fh *fh,
		   struct fuse_file_info *fi)
{
	const char *what = NULL;
	bool first = false;
	int rc;

	if (!d->quota)
		return 0;
	fh->qref = qta_ref(d->quota, n->ds, c->role);
	rc = qta_open(d->quota, fh->qref, &what, &first);
	if (rc) {
		if (first)
			dmn_quota_audit(d, n->ds, c, what);
		return rc;
	}
	fh->counted = true;
	if (qta_metered(d->quota, fh->qref))
		fi->direct_io = 1; /* every read reaches the daemon */
	return 0;
}

int dmn_quota_read(struct dmn *d, struct dmn_fh *fh)
{
	const char *what = NULL;
	bool first = false;
	int rc;

	if (!fh->counted || !d->quota)
		return 0;
	rc = qta_read(d->quota, fh->qref, &what, &first);
	if (rc && first)
		dmn_quota_audit(d, fh->low ? fh->low->ds : NULL, &fh->who,
				what);
	return rc;
}

int dmn_quota_copy(struct dmn *d, const struct ns_node *n,
		   const struct dmn_caller *c, uint64_t bytes)
{
	const char *what = NULL;
	bool first = false;
	int rc;

	if (!d->quota)
		return 0;
	rc = qta_copy(d->quota, qta_ref(d->quota, n->ds, c->role), bytes, &what,
		      &first);
	if (rc && first)
		dmn_quota_audit(d, n->ds, c, what);
	return rc;
}

void dmn_quota_served(struct dmn *d, struct dmn_fh *fh, uint64_t n)
{
	if (fh->counted && d->quota)
		qta_served(d->quota, fh->qref, n);
}

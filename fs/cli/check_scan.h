/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * check_scan.h - what `spotfs check` reports about the data a mount would
 * serve: how every column of every view is served (masked, Lua, kept raw,
 * unlisted and redacted, unlisted and kept, computed by a SQL view), personal
 * data by column name and by sampled values in columns served raw, rule
 * names that nearly match an unlisted column, and personal data in
 * passthrough files under default: show.
 *
 * Messages name datasets, views, columns and files, never a cell value or a
 * line of a file. Not thread-safe except chk_scan's plan callback, which
 * takes its lock (Parquet row-group workers).
 */
#ifndef SPOT_CHECK_SCAN_H
#define SPOT_CHECK_SCAN_H

#include <pthread.h>
#include <stddef.h>

#include "plan.h"
#include "sandbox.h"

struct chk_rec;

struct chk_scan {
	struct plan_scan ops; /* set as sbx->scan */
	pthread_mutex_t lock; /* protects recs, nrecs */
	struct chk_rec *recs;
	size_t nrecs, caprecs;
	size_t *tab;	  /* recs by (view, idx, name): index + 1, 0 = empty */
	size_t captab;	  /* a power of two, or 0 */
	const char *role; /* role being built (for messages) */
};

void chk_scan_init(struct chk_scan *c);
void chk_scan_fini(struct chk_scan *c);

/*
 * Print what was seen while building dataset d for every role, then forget
 * it. Returns the number of warnings printed.
 */
int chk_scan_report(struct chk_scan *c, struct sbx *s,
		    const struct cfg_dataset *d);

/*
 * With default: show, sample the text of every regular file the mount would
 * pass through raw and warn about personal data in it, and about files that
 * look like datasets the config does not name. Returns the warnings.
 */
int chk_passthrough(struct sbx *s);

#endif /* SPOT_CHECK_SCAN_H */

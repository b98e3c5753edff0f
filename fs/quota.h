/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * quota.h - per-role read quotas (config `quota:` of a role, and of a
 * dataset for every role): bytes of masked views served and opens of
 * masked views. Once a role's readers were served a limit's worth, further
 * opens and reads of masked views fail with EDQUOT.
 *
 * Counting: an open counts when it is granted; bytes count as the daemon
 * replies to reads. Reads the kernel answers from its page cache never
 * reach the daemon, so an open by a role with a read_bytes limit (its own
 * or the dataset's) is made direct I/O (fuse_file_info.direct_io): every
 * read of it reaches the daemon and is counted. A read is refused once the
 * limit is reached; the read that crosses it is served whole (at most
 * DMN_IO_MAX bytes over).
 *
 * Slots: one per role (cfg->roles, then the default role when no role has
 * its name) and one per (dataset, role). Counters are atomics: any thread.
 */
#ifndef SPOT_QUOTA_H
#define SPOT_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "spot.h"

struct qta;

/* Counters for cfg's roles and datasets (cfg borrowed). 0 or -ENOMEM. */
int qta_new(const struct cfg *cfg, struct qta **out);
void qta_free(struct qta *q);

/* Where an open's counts go: the role's slot and the (dataset, role) one. */
struct qta_ref {
	int role; /* -1: role unknown to the config (no limit) */
	int ds;	  /* -1: not a dataset of the config */
};

/* The slots of role reading dataset d. */
struct qta_ref qta_ref(const struct qta *q, const struct cfg_dataset *d,
		       const char *role);
/* Whether a read_bytes limit applies to r (reads must be direct I/O). */
bool qta_metered(const struct qta *q, struct qta_ref r);

/*
 * An open through r: 0 (counted) or -EDQUOT. On -EDQUOT, *what names the
 * limit ("read_bytes", "opens") and *first is true for the first refusal
 * of that slot (the caller audits it once, as quota_exceeded).
 */
int qta_open(struct qta *q, struct qta_ref r, const char **what, bool *first);
/*
 * A copy of n bytes of a masked view into the overlay (a copy-up, whose
 * reads are not metered): an open and the n bytes at once, refused
 * (-EDQUOT, as qta_open) when a limit is reached or when the n bytes do
 * not fit in what is left of a read_bytes limit (a copy is never served
 * in part). 0: counted.
 */
int qta_copy(struct qta *q, struct qta_ref r, uint64_t n, const char **what,
	     bool *first);
/* Before a read through r: 0 or -EDQUOT (as qta_open). */
int qta_read(struct qta *q, struct qta_ref r, const char **what, bool *first);
/* After n bytes were served through r. */
void qta_served(struct qta *q, struct qta_ref r, uint64_t n);

/*
 * The limits that apply to r (the role's, then the dataset's for the
 * role) and their use, for the manifest: JSON array elements
 * {"scope":"role"|"dataset",...} or indented text lines. Nothing when no
 * limit applies.
 */
void qta_describe(struct qta *q, struct qta_ref r, struct spot_buf *out,
		  bool json);

/* Use against limits, per role and per (dataset, role) with a limit, as
 * text lines or (json) a "quotas":[...] member. */
void qta_status(struct qta *q, struct spot_buf *out, bool json);

#endif /* SPOT_QUOTA_H */

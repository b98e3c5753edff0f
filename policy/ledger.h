/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ledger.h - the epsilon ledger of a sandbox (ledger.c): what each role
 * has spent of its differential privacy budget (dp_budget:), and the
 * sandbox as a whole.
 *
 * A release (a DP aggregate or synthetic file, named by a key that
 * includes the identity of the source it was computed from) is charged
 * once per role: the first open by a role charges its epsilon to that
 * role and to the sandbox, and fails with -EDQUOT, charging nothing, when
 * either would pass its budget; opening it again is free (the file reads
 * the same, so it releases nothing new). Composition is basic: spent is
 * the sum of the epsilons charged (and of the deltas, kept alongside).
 * Amounts are exact, in units of 1e-9 epsilon (dp_ratio_nano).
 *
 * In memory the ledger ends with the sandbox. With a path (a stable
 * secret: secret: FILE), it is a file in the state folder shared by every
 * sandbox of the same source and secret: one line per charge, appended
 * and fsync'd under an exclusive flock before the charge is granted, and
 * read back (every line, every sandbox's) under that lock before any
 * decision, so two sandboxes never both spend the last of a budget. A
 * line that cannot be parsed, a file that is not a regular file owned by
 * the daemon's user with mode 0600, or an I/O error fails closed: the
 * charge is refused (-EIO) and never granted on a partial read.
 *
 * All calls are thread-safe.
 */
#ifndef SPOT_LEDGER_H
#define SPOT_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "spot.h"

struct ledger;

struct ledger_opts {
	uint64_t per_role;    /* nano-epsilon; 0: no per-role limit */
	uint64_t per_sandbox; /* nano-epsilon; 0: no sandbox limit */
	/* The file of a ledger that outlives the sandbox, or NULL. Made
	 * 0600 if missing; its folder must exist. */
	const char *path;
};

/* 0 or -errno with err set (the file cannot be opened or read). */
int ledger_open(const struct ledger_opts *o, struct ledger **out,
		struct spot_err *err);
void ledger_free(struct ledger *l);

/*
 * Charge release key (any bytes but '\t' and '\n', at most 1024) to role
 * (the same) for eps and delta nano-units. 0 when charged now (*fresh
 * true) or already charged to that role (*fresh false, nothing spent);
 * -EDQUOT when the role's or the sandbox's budget would be passed;
 * -EINVAL for a bad key or role; -EIO (err set) when the file fails.
 */
int ledger_charge(struct ledger *l, const char *role, const char *key,
		  uint64_t eps, uint64_t delta, bool *fresh,
		  struct spot_err *err);
/* Whether key was charged to role (a persistent ledger is re-read). */
bool ledger_charged(struct ledger *l, const char *role, const char *key);

/* What has been spent: by role (role NULL: by everyone), in nano units. */
struct ledger_use {
	uint64_t eps;
	uint64_t delta;
	uint64_t releases; /* charges */
};
int ledger_spent(struct ledger *l, const char *role, struct ledger_use *u);
/* The budgets the ledger was opened with. */
void ledger_budget(const struct ledger *l, uint64_t *per_role,
		   uint64_t *per_sandbox);

#endif /* SPOT_LEDGER_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plan.h - binds a dataset's rules for one role to a pipeline plan.
 *
 * Given the columns a source actually has, plan_bind() looks up the
 * effective rule of every column (role override, then base rule) and builds
 * one pipe_xform per masked column: built-in methods call msk_apply, Lua
 * column functions and the row filter go through the policy engine. The
 * plan owns everything it allocates; free it with plan_free() after the
 * pipeline run.
 *
 * A view is keyed by (dataset, role): the role is the only caller property a
 * built view depends on. Policy functions running during a build see ctx with
 * role, dataset and path, never a uid or pid (those belong to access()).
 */
#ifndef SPOT_PLAN_H
#define SPOT_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "methods.h"
#include "pipe.h"
#include "spot.h"

struct pol_engine;

/* What a binding needs from the sandbox; all borrowed. */
struct plan_env {
	const struct cfg *cfg;
	const struct msk_keys *keys;
	/* Engine for the dataset's policy file, NULL if it has none. */
	struct pol_engine *engine;
};

struct plan;

/*
 * Build the plan for dataset d (and SQLite table t, or NULL) as seen by role
 * over the given source columns. name is the view's name for per-cell seeds
 * and error messages ("customers.csv", "crm.db/users"). 0 or -errno with err
 * set: -EINVAL for a rule that cannot apply (a Lua function the policy does
 * not define), -ENOMEM.
 */
int plan_bind(const struct plan_env *env, const struct cfg_dataset *d,
	      const struct cfg_table *t, const char *role, const char *name,
	      const struct pipe_col *cols, size_t ncols, struct plan **out,
	      struct spot_err *err);
/* The pipeline plan; valid until plan_free. */
const struct pipe_plan *plan_pipe(const struct plan *p);
/* Names of configured columns the source lacks, for warnings ("a, b"). */
const char *plan_missing(const struct plan *p);
/* Number of masked columns. */
size_t plan_masked_count(const struct plan *p);
void plan_free(struct plan *p);

#endif /* SPOT_PLAN_H */

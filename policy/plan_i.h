/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plan_i.h - between plan.c and plan_kanon.c: the row filter that
 * enforces k_anonymity on one plan.
 */
#ifndef SPOT_PLAN_I_H
#define SPOT_PLAN_I_H

#include "plan.h"

struct plan_kwrap;

/*
 * Wrap pipe's row filter (kept, run first) in k's filter for the view
 * named view, with the quasi columns of ka found in cols (field paths of
 * JSON Lines when field_paths). -EIO with err set when a quasi column is
 * missing, cannot class rows (plan_kanon_quasi_check) or, while
 * filtering, the view was never counted (fail closed); -ENOMEM.
 */
int plan_kwrap_new(struct plan_kanon *k, const struct cfg_kanon *ka,
		   const char *view, const struct pipe_col *cols, size_t ncols,
		   bool field_paths, struct pipe_plan *pipe,
		   struct plan_kwrap **out, struct spot_err *err);
/* Tell w the transform of a column (used when it is a quasi column). */
void plan_kwrap_quasi_xf(struct plan_kwrap *w, const struct pipe_xform *xf);
void plan_kwrap_free(struct plan_kwrap *w);

#endif /* SPOT_PLAN_I_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * engine.h - the Lua policy engine: runs a data steward's Lua 5.4 policy
 * (column functions, a row filter, an access decision) on hostile row data,
 * inside the FUSE daemon, from many threads, failing closed.
 *
 * A policy file may define:
 *
 *   columns = { name = function(value, row, ctx) return string|nil end }
 *   function row(r, ctx) return boolean end
 *   function access(ctx) return boolean[, reason] end
 *
 * ctx is a table. access(ctx) gets { uid, gid, groups = {gid...}, user,
 * role, pid, dataset, path } (absent fields are nil). Column and row
 * functions get { role, dataset, path } only: a view is built once per role
 * and served to every caller of that role, so who triggered the build must
 * not shape it (uid, gid, pid, user and groups are nil there). value is the raw cell as a string (nil for
 * a NULL cell); row (and r) is a read-only view of the raw row: row.country
 * is that column's raw value (string or nil). Built-in masking methods are
 * reachable as mask.hash(v), mask.partial(v, {keep_last = 4}), ... and
 * bounded regular expressions as re.match(s, pat [, init]), re.find and
 * re.test (PCRE2, byte mode, match/depth/heap limits); Lua patterns are not
 * available (string.match/gmatch/gsub removed, string.find plain only).
 *
 * Sandbox (engine_sandbox.c spells the threat out): only base, string,
 * table, math and utf8, minus everything that loads code, touches the
 * process, exposes metatables, or runs unbounded C loops; an instruction
 * budget enforced by a count hook that pcall cannot swallow; a per-state
 * memory cap; a per-string size cap; values longer than value_max fail the
 * call; error messages keep "file:line:" and a fixed reason, never a value.
 *
 * Isolation: every pol_run and every pol_engine_access() call gets a fresh
 * Lua state built from the validated policy text, and the state is closed
 * afterwards. Nothing a policy stores in globals survives into another view
 * build or another caller's access decision, and results cannot depend on
 * which thread ran earlier work (views stay deterministic). A state costs
 * roughly 100 microseconds to build.
 *
 * Budget: instr_per_call is per policy call - one access() call, one column
 * function call for one row, one row() call for one row - counted in VM
 * instructions plus charges for work done in C (string bytes allocated or
 * scanned, table elements moved, 16 units per mask.* call). The count is
 * deterministic. A wall-clock backstop (the budget times POL_NS_PER_INSTR,
 * at least POL_DEADLINE_MIN_MS: 200 ms by default) ends calls whose single
 * instructions are unusually expensive (comparing long strings in a loop);
 * no call outlives it by more than one hook period (128 instructions, each
 * bounded by the string cap). Rows run in batches: one protected call per
 * batch, the budget reset before each row; a whole batch also stops after
 * POL_BATCH_DEADLINE_CALLS call deadlines (at least 1 s). Legitimate calls
 * never come near these; under a heavy debugger (valgrind) they can.
 *
 * Errors: -EIO for any policy failure (error, budget, memory, bad return
 * type), with err set to "path:line: reason". The reason is one of a fixed
 * set of shapes; messages a policy builds itself (error(value), assert(v,
 * msg)) are withheld, so no row value reaches err.
 *
 * Threads: a pol_engine is immutable after pol_engine_new and may be shared
 * by any number of threads without locks. A pol_run belongs to one thread at
 * a time. The msk_keys passed to pol_engine_new are borrowed (never pushed
 * into Lua) and must outlive the engine and its runs.
 */
#ifndef SPOT_POL_ENGINE_H
#define SPOT_POL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "methods.h"
#include "pipe.h"
#include "spot.h"

#define POL_SRC_MAX (1u << 20)	       /* larger policy files are refused */
#define POL_NS_PER_INSTR 200	       /* wall-clock backstop per budget unit */
#define POL_DEADLINE_MIN_MS 20	       /* ... but never less than this */
#define POL_BATCH_DEADLINE_CALLS 4     /* a batch: 4 call deadlines ... */
#define POL_BATCH_DEADLINE_MIN_MS 1000 /* ... but at least 1 s */

struct pol_limits {
	uint64_t instr_per_call; /* per access()/column/row call; 0 = default */
	uint64_t instr_load;	 /* for the main chunk; 0 = default */
	size_t mem_max;		 /* bytes per Lua state; 0 = default */
	size_t value_max;	 /* longest value handed to Lua; 0 = default */
};

/*
 * Defaults: 1,000,000 instructions per call, 10,000,000 for the main chunk,
 * 16 MiB per state, 64 KiB per value. Strings the policy builds are capped
 * at 4 * value_max (at least 256 KiB).
 */
struct pol_limits pol_limits_default(void);

/* The caller of an access decision or a view build; all fields borrowed. */
struct pol_ctx {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
	const char *user; /* NULL: ctx.user is nil */
	const char *role;
	pid_t pid;
	const char *dataset;
	const char *path;
};

struct pol_engine;

/*
 * Load the policy at path (text only, at most POL_SRC_MAX bytes), run its
 * main chunk once under lim->instr_load to validate it, and record which
 * functions it defines. keys are borrowed. lim NULL means defaults.
 * 0 or -errno with err set: syntax and runtime errors as "path:line:
 * message" (-EINVAL), unreadable file (-errno of open/read), -EFBIG for an
 * oversized file, -ENOMEM. *out on success; free with pol_engine_free.
 */
int pol_engine_new(const char *path, const struct msk_keys *keys,
		   const struct pol_limits *lim, struct pol_engine **out,
		   struct spot_err *err);
/* Same from memory; name is used in messages ("customers.lua"). */
int pol_engine_new_mem(const char *name, const char *src, size_t len,
		       const struct msk_keys *keys,
		       const struct pol_limits *lim, struct pol_engine **out,
		       struct spot_err *err);
void pol_engine_free(struct pol_engine *e);

/*
 * columns[name] is a function. The name is (name, len) as the data has it:
 * a name with a NUL byte is never a key (keys with one are ignored), and
 * "id\0x" is not "id". pol_engine_has_column is for NUL-free C strings.
 */
bool pol_engine_has_column_len(const struct pol_engine *e, const char *name,
			       size_t len);
bool pol_engine_has_column(const struct pol_engine *e, const char *name);
/* The names of the function-valued columns[] entries, sorted (i < count). */
size_t pol_engine_column_count(const struct pol_engine *e);
const char *pol_engine_column_name(const struct pol_engine *e, size_t i);
/* The policy defines row(r, ctx) / access(ctx). */
bool pol_engine_has_row(const struct pol_engine *e);
bool pol_engine_has_access(const struct pol_engine *e);

/*
 * Call access(ctx) in a fresh state. On 0, *allowed is set and the reason
 * (a string the policy returned, or empty) is copied into reason (truncated,
 * always NUL-terminated when reasonlen > 0). On a policy error (or a policy
 * without access()) -EIO with err "path:line: reason" and *allowed false:
 * never allowed on error. -ENOMEM when no state can be built.
 */
int pol_engine_access(struct pol_engine *e, const struct pol_ctx *ctx,
		      bool *allowed, char *reason, size_t reasonlen,
		      struct spot_err *err);

/*
 * One view build. pol_run_new builds a fresh Lua state for ctx (only its
 * role, dataset and path are used, see above) and the column layout cols (names copied). Not thread-safe
 * itself: one build = one thread at a time. 0, -EIO (the main chunk failed
 * this time, e.g. over the memory cap), -ENOMEM. Free with pol_run_free
 * after the pipeline run; the transforms bound below point into the run.
 */
struct pol_run;
int pol_run_new(struct pol_engine *e, const struct pol_ctx *ctx,
		const struct pipe_col *cols, size_t ncols, struct pol_run **out,
		struct spot_err *err);
void pol_run_free(struct pol_run *r);

/*
 * Fill xf (col, fn, arg) so that the pipeline calls columns[fn_name](value,
 * row, ctx) for column col of every kept row, one protected call per batch.
 * The result must be a string (served with the input cell's type, TEXT for
 * a NULL input) or nil (a NULL cell); anything else, an error or an overrun
 * fails the batch with -EIO. -EINVAL (err set) if columns[fn_name] is not a
 * function or col is out of range.
 */
int pol_run_bind_column(struct pol_run *r, const char *fn_name, size_t col,
			struct pipe_xform *xf, struct spot_err *err);

/*
 * The row filter: *fn and *arg call row(r, ctx) for every kept row; it must
 * return a boolean (true keeps the row); anything else is -EIO. -EINVAL if
 * the policy has no row function.
 */
int pol_run_bind_row(struct pol_run *r, pipe_row_fn *fn, void **arg,
		     struct spot_err *err);

#endif /* SPOT_POL_ENGINE_H */

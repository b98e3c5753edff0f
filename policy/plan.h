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
 * Names match exactly, as (ptr, len): a column whose name holds a NUL
 * byte matches no rule and no Lua columns[NAME] ("id\0ssn" is not "id").
 * Two columns of one name both get the rule of that name (CSV, SQLite
 * views); for Parquet leaf paths that is refused (plan_env.leaf_paths).
 * Columns no rule names (no YAML rule for the role, no Lua columns[NAME])
 * are unlisted: with unlisted_columns: redact (the default) plan_bind binds
 * a transform that serves them as NULL, so what is served is only what the
 * config positively allowed. Output columns of SQL views are computed from
 * the already masked tables and are served as computed unless a rule names
 * them. A rule naming a column the data lacks fails the binding (unless the
 * rule is optional), with the near-miss spelling in the message.
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

/* How a bound column is served. */
enum plan_disp {
	PLAN_MASKED = 0,    /* a built-in method other than keep */
	PLAN_LUA,	    /* a Lua column function */
	PLAN_KEPT,	    /* a keep rule: served raw */
	PLAN_UNLISTED_KEPT, /* no rule, unlisted_columns: keep: served raw */
	PLAN_REDACTED,	    /* no rule, unlisted_columns: redact: NULL */
	PLAN_COMPUTED,	    /* a SQL view's output column without a rule */
};

struct plan_scan;
struct plan_kanon;
struct plan_record;

/* What a binding needs from the sandbox; all borrowed. */
struct plan_env {
	const struct cfg *cfg;
	const struct msk_keys *keys;
	/* Engine for the dataset's policy file, NULL if it has none. */
	struct pol_engine *engine;
	/* The object is a SQL view (its columns are computed from masked
	 * tables), not a table or file. */
	bool view_output;
	/*
	 * SQLite: the columns of every object the dataset serves. A
	 * dataset-wide rule missing from one table is an error only when it
	 * is missing from all of them. NULL for CSV and Parquet.
	 */
	const struct pipe_col *ds_cols;
	size_t nds_cols;
	/* spotfs check: sample raw-served columns, report at plan_free. */
	struct plan_scan *scan;
	/*
	 * Column names are leaf paths joined with '.' (Parquet): two columns
	 * of one name are different leaves ("a.b" the column, b of struct a)
	 * that no rule can tell apart, so the binding fails (-EIO). Without
	 * it (CSV, SQLite) a rule applies to every column of its name.
	 */
	bool leaf_paths;
	/*
	 * k_anonymity (plan_kanon.c): the class counts of this build. A
	 * dataset or table with k_anonymity fails to bind without it (-EIO),
	 * so no build path can serve it unfiltered.
	 */
	struct plan_kanon *kanon;
	/*
	 * Column names are field paths of nested records (JSON Lines):
	 * "user.email", "messages[].content". A rule names a path pattern
	 * whose segments are keys, "[]" (every element of an array) or "*"
	 * (any one key), and covers every column at or under it ("user"
	 * covers "user.email"). Of the rules of one set that match a
	 * column the one with the most segments wins, then the one with
	 * fewer "*", then the first in the config; sets are searched in
	 * the usual order (role overrides first). A rule must match some
	 * column, as an exact name must for other formats.
	 */
	bool field_paths;
	/* The export review's recorder (plan_record), or NULL. */
	const struct plan_record *record;
	/*
	 * Bind the role's row filter (the policy's row function and
	 * sample:) and nothing else: no column transform, no k_anonymity.
	 * For the rows a DP release counts (fs/sandbox_dp.c), whose cells
	 * are never served; never for a view.
	 */
	bool rows_only;
};

/*
 * The export review (fs/export_set.h) remembers keyed hashes of what a
 * build read and served. raw is called with every batch's raw input cells
 * of a column a built-in method masks or that is redacted, before the
 * transform replaces them (kept rows only); rows with the batch once every
 * transform ran (cells as served, b->keep says which rows are served; not
 * for Parquet, whose readers fill only the cells transforms need). Both
 * run on build threads, concurrently: they must lock what they share.
 */
struct plan_record {
	void (*raw)(void *arg, const struct pipe_batch *b, size_t col);
	void (*rows)(void *arg, const struct cfg_dataset *d,
		     const struct pipe_batch *b);
	/* JSON Lines: each record its own form serves, as written (through
	 * view_req.record); its other forms call rows. */
	void (*json)(void *arg, const struct cfg_dataset *d, const uint8_t *rec,
		     size_t len);
	void *arg;
};

/*
 * spotfs check's view of one binding, called from plan_free: for every
 * source column (its 0-based index, and its name as (name, len): it may
 * hold a NUL byte) its disposition, the rule that applies to it, its
 * pipe_col.flags, and the PII kinds (enum msk_pii_kind bits) seen in up to
 * PLAN_SCAN_ROWS values served raw. The sample is the cell as the plan's
 * transforms leave it; a SQLite generated column is recomputed after them
 * (view_sqlite.c), so for one its source value is sampled. No values are
 * kept.
 */
#define PLAN_SCAN_ROWS 2000
struct plan_scan_col {
	size_t index;
	const char *name; /* len bytes, then a NUL */
	size_t len;
	enum plan_disp disp;
	const struct cfg_column *rule; /* the YAML rule applied, or NULL */
	unsigned flags;		       /* pipe_col.flags (PIPE_F_EMPTY...) */
	unsigned pii_kinds;
};
struct plan_scan {
	void (*column)(void *arg, const char *view,
		       const struct plan_scan_col *col);
	void *arg;
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
/* Names of optional configured columns the source lacks ("a, b"). */
const char *plan_missing(const struct plan *p);

/*
 * A column of cols[0..ncols) that name nearly matches: equal but for ASCII
 * case or surrounding white space ("Email", " email " for "email"), or a
 * Parquet leaf whose path ends in or starts with name ("contact.email" for
 * "email"). NULL if none.
 */
const char *plan_suggest(const char *name, const struct pipe_col *cols,
			 size_t ncols);
/* Number of masked columns. */
size_t plan_masked_count(const struct plan *p);
void plan_free(struct plan *p);

/*
 * k_anonymity: rows whose quasi columns, as served, form a class of fewer
 * than k rows are not served. A view with it is built twice through plans
 * bound with the same plan_kanon: a first build counts the classes (and
 * serves no row: build it on one thread, and throw its output away), then
 * plan_kanon_filter, then the real build drops the rows of small classes
 * (and any row the count did not see). Classes are keyed hashes of the
 * served cells, at most 4M per view (more: the build fails, -EIO).
 */
int plan_kanon_new(struct plan_kanon **out);
/*
 * Whether the quasi column quasi can class the rows of a view over cols:
 * 0, or -EIO with err set (names the view and the quasi column, never a
 * value or another column) when no row has one value of it: a Parquet
 * leaf inside a list or map (PIPE_F_REPEATED: several values per row, its
 * cells NULL), or with field_paths (JSON Lines) a path inside an array
 * ("tags[]") or one that some record holds as an object or an array (a
 * column "zip.code" or "zip[]" under the quasi "zip", a key holding '.'
 * read as split there, as rules read it): that record would be counted
 * with the records that lack the field while its served subtree sets it
 * apart. A quasi column cols lacks is not checked here.
 */
int plan_kanon_quasi_check(const char *view, const char *quasi,
			   const struct pipe_col *cols, size_t ncols,
			   bool field_paths, struct spot_err *err);
void plan_kanon_free(struct plan_kanon *k);
void plan_kanon_filter(struct plan_kanon *k);
/* Rows of classes under k in the views counted (what filtering drops). */
uint64_t plan_kanon_suppressed(const struct plan_kanon *k);

#endif /* SPOT_PLAN_H */

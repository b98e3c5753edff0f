/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config.h - the sandbox configuration: YAML (libyaml) to one validated,
 * immutable in-memory struct cfg.
 *
 * Every error names the file, line and column ("sandbox.yaml:12:5: unknown
 * key 'colums' in dataset 'customers.csv'"). Hostile input is bounded: the
 * file size is capped (CFG_MAX_BYTES), YAML anchors/aliases are refused, and
 * nesting depth and collection sizes are limited, so an alias bomb or a
 * 100 MB file fails fast with a clear error.
 *
 * A loaded cfg is read-only and may be shared between threads.
 */
#ifndef SPOT_CONFIG_H
#define SPOT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dp.h"
#include "dp_synth.h"
#include "format.h"
#include "methods.h"
#include "spot.h"

#define CFG_MAX_BYTES (4u << 20) /* larger configs are refused */
#define CFG_MAX_DEPTH 32
#define CFG_DEFAULT_TTL (2 * 3600) /* when neither --ttl nor ttl: is set */
#define CFG_DEFAULT_MAX_TTL (24 * 3600)
#define CFG_TTL_NONE UINT64_MAX /* "ttl: none" (needs allow_no_ttl) */

/* A rule for one column: a built-in method or a Lua column function. */
struct cfg_column {
	char *name;    /* column name as written */
	bool has_rule; /* rule is a built-in method */
	struct msk_rule rule;
	char *policy_fn;    /* "policy: NAME": Lua function in columns[NAME] */
	bool optional;	    /* "optional: true": the data may lack the column */
	unsigned line, col; /* where it was written */
};

/*
 * What happens to a column no rule names ("unlisted_columns:"), globally, per
 * dataset and per SQLite table (the nearest one set wins).
 */
enum cfg_unlisted {
	CFG_UNLISTED_INHERIT = 0, /* not set here: the enclosing level's */
	CFG_UNLISTED_REDACT,	  /* served as NULL (the default) */
	CFG_UNLISTED_KEEP,	  /* served unchanged */
};

/* The column rules of one dataset, table or view. */
struct cfg_rules {
	struct cfg_column *cols;
	size_t ncols;
};

/* Per-role override: "roles: { steward: { columns: {...} } }". */
struct cfg_role_rules {
	char *role;
	struct cfg_rules rules; /* replaces the base rule per column named */
};

/* A configured SQL view of a SQLite dataset. */
struct cfg_sqlview {
	char *name;
	char *sql;
	unsigned line, col;
};

/* A table (or the database's own view) of a SQLite dataset. */
/*
 * k_anonymity: rows whose combination of quasi columns (as served) is
 * shared by fewer than k rows are not served (plan_kanon.c).
 */
struct cfg_kanon {
	char **quasi; /* column names */
	size_t nquasi;
	uint64_t k; /* at least 2 */
	unsigned line, col;
};

struct cfg_table {
	char *name;
	struct cfg_rules rules;
	struct cfg_role_rules *by_role;
	size_t nby_role;
	enum cfg_unlisted unlisted; /* INHERIT: the dataset's */
	struct cfg_kanon *kanon;    /* NULL: the dataset's */
	unsigned line, col;
};

/*
 * Output formats a dataset is served as ("as: [parquet, csv]"): bit 0 for
 * native, else VIEW_FMT_BIT of the format (any format that is a form of
 * some format in the table, format.h). The form of the dataset's own format
 * is the dataset itself, under its own name; the other one is converted and
 * served under cfg_form_name(). native (or the own format) missing from a
 * non-empty list hides the original.
 */
enum cfg_as {
	CFG_AS_NATIVE = 1u << 0,
	CFG_AS_CSV = VIEW_FMT_BIT(VIEW_FMT_CSV),
	CFG_AS_PARQUET = VIEW_FMT_BIT(VIEW_FMT_PARQUET),
};

/* quota: what a role's readers may be served; 0 = no limit (fs/quota.c). */
struct cfg_quota {
	uint64_t read_bytes; /* bytes of masked views */
	uint64_t opens;	     /* opens of masked views */
};

/*
 * Differential privacy (masking/dp.h, policy/ledger.h, config_dp.c). An
 * aggregate: "aggregates: { NAME: { kind: count, ... } }", served as
 * _dp/DATASET/NAME.csv. Strings of q point into the struct's own.
 */
struct cfg_dp_agg {
	struct dp_query q;
	char *name;
	char *column;
	char *by[DP_MAX_BY];
	char *table; /* SQLite: the table it reads; NULL otherwise */
	unsigned line, col;
};

/* "synthetic: { rows, epsilon, columns, pairs }": STEM.synthetic.csv. */
struct cfg_dp_synth {
	struct dp_synth_spec spec; /* cols and pairs: the arrays below */
	struct dp_scol *cols;
	size_t (*pairs)[2];
	char *table; /* SQLite: the table it models */
	unsigned line, col;
};

/* "dp_budget: { per_role, per_sandbox, ledger }". */
struct cfg_dp_budget {
	bool set;	      /* the config has dp_budget: */
	uint64_t per_role;    /* nano-epsilon (dp_ratio_nano); 0: none */
	uint64_t per_sandbox; /* nano-epsilon; 0: none */
	bool persistent;      /* ledger: persistent (needs secret: FILE) */
};

struct cfg_dataset {
	char *name; /* path relative to source, normalised: "a/b.csv" */
	struct cfg_quota quota; /* per role, for this dataset */
	enum view_fmt format; /* VIEW_FMT_UNKNOWN: auto (magic, then suffix) */
	struct cfg_rules rules;		/* "columns:" */
	struct cfg_role_rules *by_role; /* "roles:" overrides */
	size_t nby_role;
	char *policy; /* absolute path of the Lua policy, or NULL */
	char **allow; /* role names allowed to open; NULL = every role */
	size_t nallow;
	char delimiter; /* CSV: 0 = detect (',' unless the header says) */
	unsigned as;	/* enum cfg_as bits; 0 = native only */
	/* SQLite: "tables: [a, b]" or "tables: { a: { columns: ... } }". */
	struct cfg_table *tables;
	size_t ntables;
	bool all_tables; /* "tables: all" */
	bool db_views;	 /* "db_views: true": include the database's views */
	struct cfg_sqlview *views; /* "views: { name: SELECT ... }" */
	size_t nviews;
	enum cfg_unlisted unlisted; /* never INHERIT after load */
	struct cfg_kanon *kanon;    /* k_anonymity:, or NULL */
	double sample; /* "sample: 0.1": share of rows served; 0 = all */
	/* csv_injection: the config's unless the dataset says (never
	 * DEFAULT after load) */
	enum view_csv_injection csv_injection;
	struct cfg_dp_agg *aggs; /* aggregates:, sorted by name */
	size_t naggs;
	struct cfg_dp_synth *synth; /* synthetic:, or NULL */
	unsigned line, col;
};

/* A role: callers whose uid or any group matches get it. */
struct cfg_role {
	char *name;
	uid_t *uids; /* users: names resolved with getpwnam at load */
	size_t nuids;
	gid_t *gids; /* groups: names resolved with getgrnam at load */
	size_t ngids;
	struct cfg_quota quota; /* the role's readers together */
	unsigned line, col;
};

enum cfg_default {
	CFG_DEFAULT_HIDE = 0, /* files the config does not name are hidden */
	CFG_DEFAULT_SHOW,     /* ... or passed through unchanged */
};

enum cfg_secret {
	CFG_SECRET_RANDOM = 0, /* fresh per sandbox */
	CFG_SECRET_FILE, /* stable across sandboxes: bytes of secret_file */
};

/* export: who may take results out of a sandbox, and the review's limits
 * (fs/export.c). */
struct cfg_export {
	char **allow; /* roles that may export; NULL (absent) = every role */
	size_t nallow;
	char **approve; /* roles whose --override approves findings */
	size_t napprove;
	uint64_t max_bytes;   /* per sandbox, all exports together */
	uint64_t min_count;   /* aggregate cells below it are findings */
	double max_row_share; /* a dataset's served rows in one file */
	bool allow_opaque;    /* binary files pass with size and type only */
	/* The config has an export: section (export: {} takes the
	 * defaults): without one nothing is recorded and export refused. */
	bool enabled;
};

#define CFG_EXPORT_MAX_BYTES (100ull << 20)

struct cfg {
	char *path;   /* the config file, absolute */
	char *dir;    /* its folder: relative paths resolve from here */
	char *source; /* absolute, resolved with realpath; must be a folder */
	uint64_t ttl; /* seconds; 0 = not set; CFG_TTL_NONE = "none" */
	uint64_t max_ttl;  /* seconds; 0 = not set (CFG_DEFAULT_MAX_TTL) */
	bool allow_no_ttl; /* "ttl: none" accepted only with this */
	enum cfg_secret secret;
	char *secret_file; /* absolute */
	enum cfg_default dflt;
	enum cfg_unlisted unlisted; /* REDACT unless the config says keep */
	/* csv_injection: neutralize (the default) or off, for served CSV */
	enum view_csv_injection csv_injection;
	struct cfg_role *roles;
	size_t nroles;
	char *default_role; /* callers matching no role; default "default" */
	struct cfg_dataset *datasets; /* sorted by name (strcmp) */
	size_t ndatasets;
	char *store;	     /* overlay store folder, or NULL for the default */
	bool overlay_shared; /* "overlay: shared": one overlay for all roles */
	char *state_dir; /* registry + audit folder, or NULL for the default */
	char *audit_key; /* Ed25519 seed file signing the audit head, or NULL */
	unsigned threads;     /* workers building a view; 0 = one per CPU */
	uint64_t view_memory; /* bytes of views kept in memory, then spill */
	bool prebuild;	      /* build every view after mounting */
	uint8_t digest[32];   /* BLAKE2b-256 of the config file bytes */
	struct cfg_export export_; /* export: (defaults when absent) */
	struct cfg_dp_budget dp;   /* dp_budget: */
};

/* Whether role is in list[0..n). */
bool cfg_role_listed(char *const *list, size_t n, const char *role);

/* view_memory when the config does not set it. */
#define CFG_DEFAULT_VIEW_MEMORY (256ull << 20)

/*
 * A size: a whole number of bytes, optionally with a unit: K, M, G, T or
 * KiB, MiB, GiB, TiB (powers of 1024), KB, MB, GB, TB (powers of 1000),
 * case-insensitive, with or without a space. 0 or -EINVAL (not a size or
 * over 2^62).
 */
int cfg_parse_size(const char *s, uint64_t *out);

/*
 * Load and validate a config file. Relative paths in it resolve from the
 * file's folder. Checks that the source folder exists, that each policy file
 * exists, and that method parameters are valid (msk_rule_check). Does not
 * read datasets (spotfs check does that).
 * 0 or -errno with err set to "file:line:col: message". *out on success;
 * free with cfg_free.
 */
int cfg_load(const char *path, struct cfg **out, struct spot_err *err);
void cfg_free(struct cfg *c);

/*
 * The name dataset d has as converted form (one cfg_as bit of a format):
 * its path with the last suffix of the file name replaced, or one added
 * ("sub/ev.parquet" -> "sub/ev.csv", "raw" -> "raw.csv"). 0 or
 * -ENAMETOOLONG.
 */
int cfg_form_name(const struct cfg_dataset *d, unsigned form, char *buf,
		  size_t len);

/* The dataset named exactly relpath ("sub/x.csv"), or NULL. */
const struct cfg_dataset *cfg_dataset_find(const struct cfg *c,
					   const char *relpath);

/*
 * True if relpath is a folder on the way to a named dataset ("sub" for
 * "sub/x.csv"; "" is the root and always true).
 */
bool cfg_is_dataset_parent(const struct cfg *c, const char *relpath);

/*
 * The role of a caller: the first role (in file order) whose users contain
 * uid or whose groups contain gid or one of groups[0..ngroups); otherwise
 * default_role. Never NULL.
 */
const char *cfg_role_for(const struct cfg *c, uid_t uid, gid_t gid,
			 const gid_t *groups, size_t ngroups);

/* Whether role may open the dataset by its "allow:" list. */
bool cfg_dataset_allows(const struct cfg_dataset *d, const char *role);

/*
 * The effective rule for a column of a dataset (or of one of its tables:
 * pass the table, or NULL) for role: the role override if any, else the base
 * rule, else NULL (the column is unlisted). The column name is (column,
 * len), as the data has it: names match exactly, byte for byte and length
 * for length, so a name with a NUL byte matches no rule (rule names have
 * none). cfg_column_rule is for NUL-free C-string names only.
 */
const struct cfg_column *cfg_column_rule_len(const struct cfg_dataset *d,
					     const struct cfg_table *t,
					     const char *role,
					     const char *column, size_t len);
const struct cfg_column *cfg_column_rule(const struct cfg_dataset *d,
					 const struct cfg_table *t,
					 const char *role, const char *column);

/* What happens to columns of dataset d (table t, or NULL) no rule names. */
enum cfg_unlisted cfg_unlisted_of(const struct cfg_dataset *d,
				  const struct cfg_table *t);
const char *cfg_unlisted_name(enum cfg_unlisted u);

/*
 * The rules that apply to dataset d (table t or NULL) for role, in lookup
 * order: table role override, dataset role override, table rules, dataset
 * rules (a role's overrides before anyone's rules). Fills out[0..*n) (at most 4) with the non-empty ones; sets
 * ds_level[i] when out[i] is a dataset-level rule set.
 */
void cfg_rule_sets(const struct cfg_dataset *d, const struct cfg_table *t,
		   const char *role, const struct cfg_rules **out,
		   bool *ds_level, size_t *n);

/* The aggregate NAME of d, or NULL. */
const struct cfg_dp_agg *cfg_dp_agg_find(const struct cfg_dataset *d,
					 const char *name);
/*
 * The name of d's synthetic table in form (VIEW_FMT_CSV or _PARQUET):
 * "sub/people.synthetic.csv". 0 or -ENAMETOOLONG.
 */
int cfg_synth_name(const struct cfg_dataset *d, enum view_fmt form, char *buf,
		   size_t len);
/* The epsilon (nano units) every DP release of c declares, summed. */
uint64_t cfg_dp_total(const struct cfg *c);

/* Whether any rule for this dataset differs by role (so views are per role). */
bool cfg_dataset_role_dependent(const struct cfg_dataset *d);

#endif /* SPOT_CONFIG_H */

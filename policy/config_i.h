/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config_i.h - private to policy/config*.c and the config fuzz target: the
 * YAML text of a config as a small tree of nodes.
 *
 * config_yaml.c turns the bytes of a config into this tree with libyaml's
 * event API, refusing what a config never needs and an attacker would love:
 * anchors and aliases (alias bombs), nesting deeper than CFG_MAX_DEPTH,
 * collections over CFG_MAX_ITEMS entries, more than CFG_MAX_NODES nodes,
 * duplicate or non-scalar mapping keys, NUL bytes in strings, and more than
 * one document. config.c and config_ds.c then validate the tree into a
 * struct cfg.
 *
 * Every node and string lives in the tree's arena and is freed at once by
 * cfg_tree_fini. Not thread-safe; a tree is used by one load at a time.
 */
#ifndef SPOT_CONFIG_I_H
#define SPOT_CONFIG_I_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "spot.h"

#define CFG_MAX_ITEMS 10000	 /* entries of one mapping or sequence */
#define CFG_MAX_NODES (1u << 20) /* nodes of one document */

enum cfg_node_kind {
	CFG_NODE_SCALAR = 0,
	CFG_NODE_SEQ,
	CFG_NODE_MAP,
};

struct cfg_node {
	enum cfg_node_kind kind;
	unsigned line, col; /* 1-based, where the node starts */
	char *s;	    /* scalar: NUL-terminated (NUL bytes are refused) */
	size_t len;	    /* scalar: strlen(s) */
	bool plain;	    /* scalar: written without quotes (may be null) */
	/* SEQ: n items. MAP: n / 2 pairs, kids[2i] key, kids[2i+1] value. */
	struct cfg_node **kids;
	size_t n;
};

struct cfg_tree {
	struct spot_arena arena;
	struct cfg_node *root; /* the document's root node */
};

/*
 * Parse (p, len) into t. path is used in messages only. 0 or -EINVAL (err
 * set to "path:line:col: message"), -ENOMEM. Call cfg_tree_fini afterwards
 * in every case.
 */
int cfg_tree_parse(struct cfg_tree *t, const char *path, const uint8_t *p,
		   size_t len, struct spot_err *err);
void cfg_tree_fini(struct cfg_tree *t);

/*
 * Set err to "path:line:col: message" ("path: message" when line is 0), with
 * control characters replaced by '?' so a hostile name cannot drive the
 * terminal that shows the message.
 */
void cfg_err_vat(struct spot_err *err, const char *path, unsigned line,
		 unsigned col, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

/* ---- typed access to nodes, for config.c and config_ds.c ---- */

/* One load in progress. */
struct cfg_ctx {
	const char *path; /* the config path as given, for messages */
	struct spot_err *err;
	struct cfg *c;		 /* being filled */
	const char **role_index; /* role names, sorted, for bsearch */
	unsigned name_lookups;	 /* user/group names resolved so far */
};

/* Set x->err to "path:line:col: message" at n (or at line:col); -EINVAL. */
int cfg_fail(struct cfg_ctx *x, const struct cfg_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int cfg_fail_at(struct cfg_ctx *x, unsigned line, unsigned col, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));
/* "path: out of memory"; -ENOMEM. */
int cfg_oom(struct cfg_ctx *x);
/* n must be of kind k, else an error naming what; 0 or -EINVAL. */
int cfg_expect(struct cfg_ctx *x, const struct cfg_node *n,
	       enum cfg_node_kind k, const char *what);
/* Every key of map must be in allowed (NULL-terminated), else an error
 * listing them; 0 or -EINVAL. */
int cfg_check_keys(struct cfg_ctx *x, const struct cfg_node *map,
		   const char *const *allowed, const char *what);
/* A non-empty scalar; *out points into the tree. 0 or -EINVAL. */
int cfg_str(struct cfg_ctx *x, const struct cfg_node *n, const char *what,
	    const char **out);
/* strdup; 0 or -ENOMEM (with err set). */
int cfg_strdup(struct cfg_ctx *x, const char *s, char **out);
/* true/false (also yes/no, on/off). 0 or -EINVAL. */
int cfg_bool(struct cfg_ctx *x, const struct cfg_node *n, const char *what,
	     bool *out);
/* A positive duration ("90s", "1h30m"). 0 or -EINVAL. */
int cfg_duration(struct cfg_ctx *x, const struct cfg_node *n, const char *what,
		 uint64_t *out);
/* A scalar counts as a list of one: length and i-th element. */
size_t cfg_list_len(const struct cfg_node *n);
const struct cfg_node *cfg_list_at(const struct cfg_node *n, size_t i);
/*
 * Among scalars nodes[0], nodes[stride], ... (count of them: n), the repeat
 * that comes first in the file: *dup (NULL if none) and *first, its earlier
 * twin. 0 or -ENOMEM.
 */
int cfg_node_dups(struct cfg_node *const *nodes, size_t n, size_t stride,
		  const struct cfg_node **dup, const struct cfg_node **first);

/* Value of key in a MAP node, or NULL. */
struct cfg_node *cfg_node_get(const struct cfg_node *map, const char *key);
/* A plain "", "~" or "null" scalar: an empty value. */
bool cfg_node_is_null(const struct cfg_node *n);

/* "redact" or "keep" into *out. 0 or -EINVAL. */
int cfg_unlisted(struct cfg_ctx *x, const struct cfg_node *n,
		 enum cfg_unlisted *out);
/* csv_injection: neutralize or off. */
int cfg_csv_injection(struct cfg_ctx *x, const struct cfg_node *n,
		      enum view_csv_injection *out);

/* k_anonymity: { quasi: [..], k: N } into *out (n NULL: none). 0 or
 * -errno; *out may be set on failure too (free it with the dataset). */
/* quota: { read_bytes, opens } (config_export.c); NULL leaves *q. */
int cfg_quota_parse(struct cfg_ctx *x, const struct cfg_node *n,
		    struct cfg_quota *q);
/* export: (config_export.c); fills c->export_, defaults when absent. */
int cfg_export_parse(struct cfg_ctx *x, const struct cfg_node *n);
void cfg_export_fini(struct cfg_export *e);
int cfg_kanon_parse(struct cfg_ctx *x, const struct cfg_node *n,
		    struct cfg_kanon **out);
void cfg_kanon_free(struct cfg_kanon *k);

/* dp_budget: (config_dp.c) into x->c->dp; n NULL: none. */
int cfg_dp_budget_parse(struct cfg_ctx *x, const struct cfg_node *n);
/* A dataset's aggregates: and synthetic: (after dp_budget:). */
int cfg_dp_dataset(struct cfg_ctx *x, struct cfg_dataset *d,
		   const struct cfg_node *v);
void cfg_dp_dataset_fini(struct cfg_dataset *d);
/* The length of d's name without its file name's last suffix. */
size_t cfg_stem_len(const struct cfg_dataset *d);
/* After the datasets: no dataset hidden by a DP release's file. */
int cfg_dp_names_check(struct cfg_ctx *x);

/* ---- config.c: paths, for config_ds.c ---- */

/* rel resolved from dir (absolute rel is kept). NULL on ENOMEM. */
char *cfg_join(const char *dir, const char *rel);
/*
 * Normalise a path relative to the source into out (at least strlen(in) + 1
 * bytes): drop "." and empty segments. -EINVAL if it is absolute or has a
 * ".." segment.
 */
int cfg_relpath_norm(const char *in, char *out);

/* ---- config_ds.c: roles and datasets, for config.c ---- */

/* The roles: key into x->c->roles. 0, -EINVAL (err set) or -ENOMEM. */
int cfg_roles(struct cfg_ctx *x, const struct cfg_node *root);
/* Sorted role names into x->role_index (after cfg_roles). 0 or -ENOMEM. */
int cfg_role_index(struct cfg_ctx *x);
/*
 * The datasets: node n (may be NULL) into x->c->datasets, sorted by name
 * (after cfg_role_index). 0, -EINVAL (err set) or -ENOMEM.
 */
int cfg_datasets(struct cfg_ctx *x, const struct cfg_node *n);

/*
 * Load a config from its bytes (p, len), as cfg_load does after reading the
 * file at path: path still locates relative paths and names the file in
 * messages. For cfg_load and the fuzz target.
 */
int cfg_load_buf(const char *path, const uint8_t *p, size_t len,
		 struct cfg **out, struct spot_err *err);

#endif /* SPOT_CONFIG_I_H */

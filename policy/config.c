/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config.c - validate the YAML tree of a config (config_yaml.c) into one
 * immutable struct cfg, and answer questions about it (which dataset, which
 * role, which rule). This file reads the config and checks its top-level
 * keys; roles, column rules and datasets are checked in config_ds.c.
 *
 * Every check names the node it failed on. Everything is looked up by key,
 * so the order of keys in the file does not matter; datasets are sorted by
 * name once loaded so lookups are binary searches.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "config_i.h"

#define CFG_READ_CHUNK (64 * 1024)
#define CFG_SECRET_MIN 16
#define CFG_SECRET_MAX 4096

/* rel resolved from dir (absolute rel is kept). NULL on ENOMEM. */
char *cfg_join(const char *dir, const char *rel)
{
	size_t dl = strlen(dir), rl = strlen(rel);
	char *p;

	if (rel[0] == '/')
		return strdup(rel);
	p = malloc(dl + rl + 2);
	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	if (!dl || dir[dl - 1] != '/')
		p[dl++] = '/';
	memcpy(p + dl, rel, rl + 1);
	return p;
}

/*
 * Normalise a path relative to the source into out (at least strlen(in) + 1
 * bytes): drop "." and empty segments. -EINVAL if it is absolute or has a
 * ".." segment (it could leave the source). "" stays "" (the root).
 */
int cfg_relpath_norm(const char *in, char *out)
{
	size_t o = 0, seg;

	if (in[0] == '/')
		return -EINVAL;
	while (*in) {
		seg = strcspn(in, "/");
		if (seg == 2 && in[0] == '.' && in[1] == '.')
			return -EINVAL;
		if (seg && !(seg == 1 && in[0] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, in, seg);
			o += seg;
		}
		in += seg;
		while (*in == '/')
			in++;
	}
	out[o] = 0;
	return 0;
}

/* ---- file and top-level keys ---- */

/* Read at most CFG_MAX_BYTES, whatever the file is (FIFO, /dev/zero). */
static int cfg_read(struct cfg_ctx *x, struct spot_buf *b)
{
	struct stat st;
	ssize_t n;
	int fd, flags, rc = 0;

	fd = open(x->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		spot_err_set(x->err, "%s: cannot open: %s", x->path,
			     strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		spot_err_set(x->err, "%s: %s", x->path, strerror(-rc));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		spot_err_set(x->err, "%s: is a folder, not a config file",
			     x->path);
		rc = -EISDIR;
		goto out;
	}
	if (S_ISREG(st.st_mode) && st.st_size > (off_t)CFG_MAX_BYTES)
		goto too_big;
	/* O_NONBLOCK only kept open() from waiting for a FIFO writer. */
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	for (;;) {
		if (spot_buf_reserve(b, CFG_READ_CHUNK)) {
			rc = cfg_oom(x);
			goto out;
		}
		n = read(fd, b->p + b->len, CFG_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			spot_err_set(x->err, "%s: cannot read: %s", x->path,
				     strerror(-rc));
			goto out;
		}
		if (!n)
			break;
		b->len += (size_t)n;
		if (b->len > CFG_MAX_BYTES)
			goto too_big;
	}
	goto out;
too_big:
	spot_err_set(x->err, "%s: config larger than %u bytes", x->path,
		     CFG_MAX_BYTES);
	rc = -EFBIG;
out:
	close(fd);
	return rc;
}

/* c->dir: the real folder of the file; c->path: that plus its name. */
static int cfg_set_paths(struct cfg_ctx *x)
{
	const char *slash = strrchr(x->path, '/');
	char *dir;
	int rc = 0;

	if (!slash)
		dir = strdup(".");
	else if (slash == x->path)
		dir = strdup("/");
	else
		dir = strndup(x->path, (size_t)(slash - x->path));
	if (!dir)
		return cfg_oom(x);
	x->c->dir = realpath(dir, NULL);
	if (!x->c->dir) {
		rc = -errno;
		spot_err_set(x->err, "%s: cannot resolve its folder: %s",
			     x->path, strerror(-rc));
		goto out;
	}
	x->c->path = cfg_join(x->c->dir, slash ? slash + 1 : x->path);
	if (!x->c->path)
		rc = cfg_oom(x);
out:
	free(dir);
	return rc;
}

static int cfg_ttls(struct cfg_ctx *x, const struct cfg_node *root)
{
	struct cfg *c = x->c;
	const struct cfg_node *ttl = cfg_node_get(root, "ttl");
	const struct cfg_node *max = cfg_node_get(root, "max_ttl");
	const struct cfg_node *allow = cfg_node_get(root, "allow_no_ttl");
	char a[32], b[32];
	int rc;

	if (allow &&
	    (rc = cfg_bool(x, allow, "allow_no_ttl", &c->allow_no_ttl)))
		return rc;
	if (ttl && ttl->kind == CFG_NODE_SCALAR && !strcmp(ttl->s, "none")) {
		if (!c->allow_no_ttl)
			return cfg_fail(x, ttl,
					"ttl: none needs allow_no_ttl: true");
		c->ttl = CFG_TTL_NONE;
	} else if (ttl && (rc = cfg_duration(x, ttl, "ttl", &c->ttl))) {
		return rc;
	}
	if (max && (rc = cfg_duration(x, max, "max_ttl", &c->max_ttl)))
		return rc;
	if (!ttl || !max)
		return 0;
	if (c->ttl == CFG_TTL_NONE)
		return cfg_fail(x, ttl, "ttl: none conflicts with max_ttl");
	if (c->ttl > c->max_ttl) {
		spot_format_duration(c->ttl, a, sizeof(a));
		spot_format_duration(c->max_ttl, b, sizeof(b));
		return cfg_fail(x, ttl, "ttl %s is longer than max_ttl %s", a,
				b);
	}
	return 0;
}

static int cfg_source(struct cfg_ctx *x, const struct cfg_node *root)
{
	const struct cfg_node *n = cfg_node_get(root, "source");
	struct stat st;
	const char *s;
	char *abs;
	int rc;

	if (!n)
		return cfg_fail(x, root, "missing required key 'source'");
	rc = cfg_str(x, n, "source", &s);
	if (rc)
		return rc;
	abs = cfg_join(x->c->dir, s);
	if (!abs)
		return cfg_oom(x);
	x->c->source = realpath(abs, NULL);
	rc = -errno;
	free(abs);
	if (!x->c->source)
		return cfg_fail(x, n, "source '%.200s': %s", s, strerror(-rc));
	if (stat(x->c->source, &st) < 0 || !S_ISDIR(st.st_mode))
		return cfg_fail(x, n, "source '%.200s' is not a folder", s);
	return 0;
}

/* A stable secret: a private regular file of 16..4096 bytes. */
static int cfg_secret(struct cfg_ctx *x, const struct cfg_node *root)
{
	const struct cfg_node *n = cfg_node_get(root, "secret");
	struct stat st;
	const char *s;
	char *abs = NULL;
	int fd = -1, rc;

	if (!n)
		return 0;
	rc = cfg_str(x, n, "secret", &s);
	if (rc || !strcmp(s, "random"))
		return rc;
	abs = cfg_join(x->c->dir, s);
	if (!abs)
		return cfg_oom(x);
	fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = cfg_fail(x, n, "secret file '%.200s': %s", s,
			      strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode))
		rc = cfg_fail(x, n, "secret '%.200s' is not a regular file", s);
	else if (st.st_size < CFG_SECRET_MIN || st.st_size > CFG_SECRET_MAX)
		rc = cfg_fail(x, n,
			      "secret file '%.200s' must hold %d to %d bytes",
			      s, CFG_SECRET_MIN, CFG_SECRET_MAX);
	else if (st.st_mode & (S_IROTH | S_IWOTH))
		rc = cfg_fail(x, n,
			      "secret file '%.200s' is readable or writable "
			      "by other users (chmod 600 it)",
			      s);
	if (rc)
		goto out;
	if (st.st_mode & (S_IRGRP | S_IWGRP))
		spot_log(SPOT_LOG_WARN,
			 "%s:%u:%u: secret file is accessible to its group",
			 x->path, n->line, n->col);
	x->c->secret_file = realpath(abs, NULL);
	if (!x->c->secret_file) {
		rc = cfg_oom(x);
		goto out;
	}
	x->c->secret = CFG_SECRET_FILE;
out:
	if (fd >= 0)
		close(fd);
	free(abs);
	return rc;
}

/* threads: workers building a view, 1-64. */
static int cfg_threads(struct cfg_ctx *x, const struct cfg_node *root)
{
	const struct cfg_node *n = cfg_node_get(root, "threads");
	unsigned long v;
	char *end;

	if (!n)
		return 0;
	if (n->kind != CFG_NODE_SCALAR)
		return cfg_fail(x, n, "threads must be a number from 1 to 64");
	errno = 0;
	v = strtoul(n->s, &end, 10);
	if (n->s[0] < '0' || n->s[0] > '9' || *end || errno || v < 1 || v > 64)
		return cfg_fail(x, n,
				"threads must be a number from 1 to 64, not "
				"'%.40s'",
				n->s);
	x->c->threads = (unsigned)v;
	return 0;
}

int cfg_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} units[] = {
		{ "", 1 },
		{ "k", 1ull << 10 },
		{ "kib", 1ull << 10 },
		{ "kb", 1000ull },
		{ "m", 1ull << 20 },
		{ "mib", 1ull << 20 },
		{ "mb", 1000000ull },
		{ "g", 1ull << 30 },
		{ "gib", 1ull << 30 },
		{ "gb", 1000000000ull },
		{ "t", 1ull << 40 },
		{ "tib", 1ull << 40 },
		{ "tb", 1000000000000ull },
	};
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(units); i++) {
		if (strcasecmp(end, units[i].unit))
			continue;
		if (v > (1ull << 62) / units[i].mul)
			return -EINVAL;
		*out = v * units[i].mul;
		return 0;
	}
	return -EINVAL;
}

/* view_memory: a size; prebuild: a boolean. */
static int cfg_views(struct cfg_ctx *x, const struct cfg_node *root)
{
	const struct cfg_node *n = cfg_node_get(root, "view_memory");
	int rc;

	x->c->view_memory = CFG_DEFAULT_VIEW_MEMORY;
	if (n && (n->kind != CFG_NODE_SCALAR ||
		  cfg_parse_size(n->s, &x->c->view_memory)))
		return cfg_fail(x, n,
				"view_memory must be a size such as 256MiB, "
				"1G or 0 (every view spilled), not '%.40s'",
				n->kind == CFG_NODE_SCALAR ? n->s : "");
	n = cfg_node_get(root, "prebuild");
	if (n && (rc = cfg_bool(x, n, "prebuild", &x->c->prebuild)))
		return rc;
	return 0;
}

int cfg_unlisted(struct cfg_ctx *x, const struct cfg_node *n,
		 enum cfg_unlisted *out)
{
	const char *s;
	int rc = cfg_str(x, n, "unlisted_columns", &s);

	if (rc)
		return rc;
	if (!strcmp(s, "redact"))
		*out = CFG_UNLISTED_REDACT;
	else if (!strcmp(s, "keep"))
		*out = CFG_UNLISTED_KEEP;
	else
		return cfg_fail(x, n,
				"unlisted_columns must be redact or keep, not "
				"'%.40s'",
				s);
	return 0;
}

int cfg_csv_injection(struct cfg_ctx *x, const struct cfg_node *n,
		      enum view_csv_injection *out)
{
	const char *s;
	int rc = cfg_str(x, n, "csv_injection", &s);

	if (rc)
		return rc;
	if (!strcmp(s, "neutralize"))
		*out = VIEW_CSV_INJ_NEUTRALIZE;
	else if (!strcmp(s, "off"))
		*out = VIEW_CSV_INJ_OFF;
	else
		return cfg_fail(x, n,
				"csv_injection must be neutralize or off, not "
				"'%.40s'",
				s);
	return 0;
}

/* default, unlisted_columns, default_role, store, overlay, state_dir,
 * audit_key, threads. */
static int cfg_misc(struct cfg_ctx *x, const struct cfg_node *root)
{
	struct cfg *c = x->c;
	const struct cfg_node *n;
	const char *s = "default";
	int rc;

	n = cfg_node_get(root, "default");
	if (n && (rc = cfg_str(x, n, "default", &s)))
		return rc;
	if (n && !strcmp(s, "show"))
		c->dflt = CFG_DEFAULT_SHOW;
	else if (n && strcmp(s, "hide"))
		return cfg_fail(x, n,
				"default must be hide or show, not '%.40s'", s);
	n = cfg_node_get(root, "unlisted_columns");
	c->unlisted = CFG_UNLISTED_REDACT;
	if (n && (rc = cfg_unlisted(x, n, &c->unlisted)))
		return rc;
	n = cfg_node_get(root, "csv_injection");
	c->csv_injection = VIEW_CSV_INJ_NEUTRALIZE;
	if (n && (rc = cfg_csv_injection(x, n, &c->csv_injection)))
		return rc;
	s = "default";
	n = cfg_node_get(root, "default_role");
	if (n && (rc = cfg_str(x, n, "default_role", &s)))
		return rc;
	if ((rc = cfg_strdup(x, s, &c->default_role)))
		return rc;
	n = cfg_node_get(root, "store");
	if (n && (rc = cfg_str(x, n, "store", &s)))
		return rc;
	if (n && !(c->store = cfg_join(c->dir, s)))
		return cfg_oom(x);
	n = cfg_node_get(root, "overlay");
	if (n && (rc = cfg_str(x, n, "overlay", &s)))
		return rc;
	if (n && strcmp(s, "shared") && strcmp(s, "per-role"))
		return cfg_fail(x, n,
				"overlay must be per-role or shared, not "
				"'%.40s'",
				s);
	c->overlay_shared = n && !strcmp(s, "shared");
	n = cfg_node_get(root, "state_dir");
	if (n && (rc = cfg_str(x, n, "state_dir", &s)))
		return rc;
	if (n && !(c->state_dir = cfg_join(c->dir, s)))
		return cfg_oom(x);
	n = cfg_node_get(root, "audit_key");
	if (n && (rc = cfg_str(x, n, "audit_key", &s)))
		return rc;
	if (n && !(c->audit_key = cfg_join(c->dir, s)))
		return cfg_oom(x);
	if (n && access(c->audit_key, R_OK))
		return cfg_fail(x, n, "audit_key %s: %s", c->audit_key,
				strerror(errno));
	if ((rc = cfg_views(x, root)))
		return rc;
	return cfg_threads(x, root);
}

/* ---- loading ---- */

int cfg_load_buf(const char *path, const uint8_t *p, size_t len,
		 struct cfg **out, struct spot_err *err)
{
	static const char *const keys[] = { "source",
					    "ttl",
					    "max_ttl",
					    "allow_no_ttl",
					    "secret",
					    "default",
					    "default_role",
					    "store",
					    "state_dir",
					    "roles",
					    "datasets",
					    "audit_key",
					    "threads",
					    "unlisted_columns",
					    "overlay",
					    "view_memory",
					    "prebuild",
					    "export",
					    "dp_budget",
					    "csv_injection",
					    NULL };
	struct cfg_ctx x = { .path = path, .err = err };
	struct cfg_tree t = { .root = NULL };
	const struct cfg_node *root;
	int rc;

	if (sodium_init() < 0) {
		spot_err_set(err, "%s: libsodium failed to initialise", path);
		return -EIO;
	}
	x.c = calloc(1, sizeof(*x.c));
	if (!x.c)
		return cfg_oom(&x);
	if ((rc = cfg_set_paths(&x)))
		goto out;
	crypto_generichash(x.c->digest, sizeof(x.c->digest), p, len, NULL, 0);
	if ((rc = cfg_tree_parse(&t, path, p, len, err)))
		goto out;
	root = t.root;
	if ((rc = cfg_expect(&x, root, CFG_NODE_MAP, "the config")) ||
	    (rc = cfg_check_keys(&x, root, keys, "the config")) ||
	    (rc = cfg_ttls(&x, root)) || (rc = cfg_source(&x, root)) ||
	    (rc = cfg_secret(&x, root)) || (rc = cfg_misc(&x, root)) ||
	    (rc = cfg_roles(&x, root)) || (rc = cfg_role_index(&x)) ||
	    (rc = cfg_export_parse(&x, cfg_node_get(root, "export"))) ||
	    (rc = cfg_dp_budget_parse(&x, cfg_node_get(root, "dp_budget"))) ||
	    (rc = cfg_datasets(&x, cfg_node_get(root, "datasets"))) ||
	    (rc = cfg_dp_names_check(&x)))
		goto out;
	*out = x.c;
	x.c = NULL;
out:
	free(x.role_index);
	cfg_tree_fini(&t);
	cfg_free(x.c);
	return rc;
}

int cfg_load(const char *path, struct cfg **out, struct spot_err *err)
{
	struct cfg_ctx x = { .path = path, .err = err };
	struct spot_buf b;
	int rc;

	spot_buf_init(&b);
	rc = cfg_read(&x, &b);
	if (!rc)
		rc = cfg_load_buf(path, b.p, b.len, out, err);
	spot_buf_fini(&b);
	return rc;
}

/* ---- queries ---- */

static void cfg_rules_fini(struct cfg_rules *r)
{
	size_t i;

	for (i = 0; i < r->ncols; i++) {
		free(r->cols[i].name);
		free(r->cols[i].policy_fn);
		if (r->cols[i].has_rule)
			msk_rule_fini(&r->cols[i].rule);
	}
	free(r->cols);
}

static void cfg_by_role_free(struct cfg_role_rules *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(b[i].role);
		cfg_rules_fini(&b[i].rules);
	}
	free(b);
}

static void cfg_dataset_fini(struct cfg_dataset *d)
{
	size_t i;

	free(d->name);
	free(d->policy);
	cfg_kanon_free(d->kanon);
	cfg_dp_dataset_fini(d);
	cfg_rules_fini(&d->rules);
	cfg_by_role_free(d->by_role, d->nby_role);
	for (i = 0; i < d->nallow; i++)
		free(d->allow[i]);
	free(d->allow);
	for (i = 0; i < d->ntables; i++) {
		free(d->tables[i].name);
		cfg_rules_fini(&d->tables[i].rules);
		cfg_by_role_free(d->tables[i].by_role, d->tables[i].nby_role);
		cfg_kanon_free(d->tables[i].kanon);
	}
	free(d->tables);
	for (i = 0; i < d->nviews; i++) {
		free(d->views[i].name);
		free(d->views[i].sql);
	}
	free(d->views);
}

void cfg_free(struct cfg *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->ndatasets; i++)
		cfg_dataset_fini(&c->datasets[i]);
	free(c->datasets);
	for (i = 0; i < c->nroles; i++) {
		free(c->roles[i].name);
		free(c->roles[i].uids);
		free(c->roles[i].gids);
	}
	free(c->roles);
	cfg_export_fini(&c->export_);
	free(c->path);
	free(c->dir);
	free(c->source);
	free(c->secret_file);
	free(c->default_role);
	free(c->store);
	free(c->state_dir);
	free(c->audit_key);
	free(c);
}

/* First dataset whose name is >= key (datasets are sorted by name). */
static size_t cfg_ds_lower(const struct cfg *c, const char *key)
{
	size_t lo = 0, hi = c->ndatasets, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(c->datasets[mid].name, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct cfg_dataset *cfg_dataset_find(const struct cfg *c,
					   const char *relpath)
{
	char buf[PATH_MAX + 1];
	size_t i;

	if (!c || !relpath || strlen(relpath) > PATH_MAX ||
	    cfg_relpath_norm(relpath, buf))
		return NULL;
	i = cfg_ds_lower(c, buf);
	if (i < c->ndatasets && !strcmp(c->datasets[i].name, buf))
		return &c->datasets[i];
	return NULL;
}

bool cfg_is_dataset_parent(const struct cfg *c, const char *relpath)
{
	char buf[PATH_MAX + 2];
	size_t i, len;

	if (!c || !relpath || strlen(relpath) > PATH_MAX ||
	    cfg_relpath_norm(relpath, buf))
		return false;
	len = strlen(buf);
	if (!len)
		return true;
	buf[len++] = '/';
	buf[len] = 0;
	i = cfg_ds_lower(c, buf);
	return i < c->ndatasets && !strncmp(c->datasets[i].name, buf, len);
}

static bool cfg_has_id(const uint32_t *ids, size_t n, uint32_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

const char *cfg_role_for(const struct cfg *c, uid_t uid, gid_t gid,
			 const gid_t *groups, size_t ngroups)
{
	const struct cfg_role *r;
	size_t i, j;

	for (i = 0; i < c->nroles; i++) {
		r = &c->roles[i];
		if (cfg_has_id(r->uids, r->nuids, uid) ||
		    cfg_has_id(r->gids, r->ngids, gid))
			return r->name;
		for (j = 0; groups && j < ngroups; j++)
			if (cfg_has_id(r->gids, r->ngids, groups[j]))
				return r->name;
	}
	return c->default_role;
}

bool cfg_dataset_allows(const struct cfg_dataset *d, const char *role)
{
	size_t i;

	if (!d->allow)
		return true;
	for (i = 0; role && i < d->nallow; i++)
		if (!strcmp(d->allow[i], role))
			return true;
	return false;
}

/*
 * Rule names never hold a NUL (the YAML reader refuses one), so a column
 * name with a NUL byte matches no rule: compare lengths, then bytes.
 */
static const struct cfg_column *cfg_rules_find(const struct cfg_rules *r,
					       const char *column, size_t len)
{
	size_t i;

	for (i = 0; i < r->ncols; i++)
		if (strlen(r->cols[i].name) == len &&
		    !memcmp(r->cols[i].name, column, len))
			return &r->cols[i];
	return NULL;
}

static const struct cfg_column *cfg_role_find(const struct cfg_role_rules *b,
					      size_t n, const char *role,
					      const char *column, size_t len)
{
	size_t i;

	for (i = 0; role && i < n; i++)
		if (!strcmp(b[i].role, role))
			return cfg_rules_find(&b[i].rules, column, len);
	return NULL;
}

const struct cfg_column *cfg_column_rule_len(const struct cfg_dataset *d,
					     const struct cfg_table *t,
					     const char *role,
					     const char *column, size_t len)
{
	const struct cfg_column *col = NULL;

	/*
	 * The role's overrides first (the table's, then the dataset's, which
	 * speaks for every table), then the rules for everyone (the
	 * table's, then the dataset's as defaults): a table's keep never
	 * undoes what a role override masks.
	 */
	if (t)
		col = cfg_role_find(t->by_role, t->nby_role, role, column, len);
	if (!col)
		col = cfg_role_find(d->by_role, d->nby_role, role, column, len);
	if (!col && t)
		col = cfg_rules_find(&t->rules, column, len);
	if (!col)
		col = cfg_rules_find(&d->rules, column, len);
	return col;
}

const struct cfg_column *cfg_column_rule(const struct cfg_dataset *d,
					 const struct cfg_table *t,
					 const char *role, const char *column)
{
	return cfg_column_rule_len(d, t, role, column, strlen(column));
}

enum cfg_unlisted cfg_unlisted_of(const struct cfg_dataset *d,
				  const struct cfg_table *t)
{
	if (t && t->unlisted != CFG_UNLISTED_INHERIT)
		return t->unlisted;
	return d->unlisted == CFG_UNLISTED_KEEP ? CFG_UNLISTED_KEEP
						: CFG_UNLISTED_REDACT;
}

const char *cfg_unlisted_name(enum cfg_unlisted u)
{
	return u == CFG_UNLISTED_KEEP ? "keep" : "redact";
}

static const struct cfg_rules *cfg_role_set(const struct cfg_role_rules *b,
					    size_t n, const char *role)
{
	for (size_t i = 0; role && i < n; i++)
		if (!strcmp(b[i].role, role))
			return &b[i].rules;
	return NULL;
}

void cfg_rule_sets(const struct cfg_dataset *d, const struct cfg_table *t,
		   const char *role, const struct cfg_rules **out,
		   bool *ds_level, size_t *n)
{
	const struct cfg_rules *all[4] = { NULL, NULL, NULL, NULL };

	if (t) {
		all[0] = cfg_role_set(t->by_role, t->nby_role, role);
		all[2] = &t->rules;
	}
	all[1] = cfg_role_set(d->by_role, d->nby_role, role);
	all[3] = &d->rules;
	*n = 0;
	for (size_t i = 0; i < 4; i++)
		if (all[i] && all[i]->ncols) {
			ds_level[*n] = i == 1 || i == 3;
			out[(*n)++] = all[i];
		}
}

bool cfg_dataset_role_dependent(const struct cfg_dataset *d)
{
	size_t i, j;

	for (i = 0; i < d->nby_role; i++)
		if (d->by_role[i].rules.ncols)
			return true;
	for (i = 0; i < d->ntables; i++)
		for (j = 0; j < d->tables[i].nby_role; j++)
			if (d->tables[i].by_role[j].rules.ncols)
				return true;
	return false;
}

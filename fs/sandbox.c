/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox.c - sandbox set-up and view builds.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "engine.h"
#include "csv.h"
#include "parquet.h"
#include "pq_rows.h"
#include "plan.h"
#include "sqlite.h"
#include "srcdir.h"
#include "view.h"

#define SBX_SECRET_LEN 32
#define SBX_SECRET_FILE_MAX 4096
#define SBX_NAME_KEY_LEN 32

static const char sbx_name_label[] = "spotfs overlay names v1";

static int sbx_read_secret(const struct cfg *cfg, uint8_t *secret, size_t *len,
			   struct spot_err *err)
{
	ssize_t n;
	int fd;

	if (cfg->secret == CFG_SECRET_RANDOM) {
		randombytes_buf(secret, SBX_SECRET_LEN);
		*len = SBX_SECRET_LEN;
		return 0;
	}
	fd = open(cfg->secret_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int saverr = errno;

		spot_err_set(err, "%s: cannot open secret file: %s",
			     cfg->secret_file, strerror(saverr));
		return -saverr;
	}
	n = read(fd, secret, SBX_SECRET_FILE_MAX);
	close(fd);
	if (n < 16) {
		spot_err_set(err, "%s: secret file must hold at least 16 bytes",
			     cfg->secret_file);
		return -EINVAL;
	}
	*len = (size_t)n;
	return 0;
}

static int sbx_keys(struct sbx *s, struct spot_err *err)
{
	uint8_t *secret = sodium_malloc(SBX_SECRET_FILE_MAX);
	size_t len = 0;
	int rc;

	if (!secret) {
		spot_err_set(err, "cannot allocate locked memory for keys");
		return -ENOMEM;
	}
	rc = sbx_read_secret(s->cfg, secret, &len, err);
	if (!rc) {
		rc = msk_keys_new(secret, len, &s->keys);
		if (rc)
			spot_err_set(err, "cannot derive keys: %s",
				     strerror(-rc));
	}
	/* Overlay names: a key of its own, apart from the masking keys. */
	if (!rc && (!(s->name_key = sodium_malloc(SBX_NAME_KEY_LEN)) ||
		    crypto_generichash(s->name_key, SBX_NAME_KEY_LEN, secret,
				       len, (const uint8_t *)sbx_name_label,
				       sizeof(sbx_name_label) - 1))) {
		spot_err_set(err, "cannot derive the overlay name key");
		rc = -ENOMEM;
	}
	sodium_free(secret); /* wipes */
	return rc;
}

static int sbx_engines(struct sbx *s, struct spot_err *err)
{
	const struct cfg *cfg = s->cfg;
	struct pol_limits lim = pol_limits_default();

	s->engines = calloc(cfg->ndatasets ? cfg->ndatasets : 1,
			    sizeof(*s->engines));
	if (!s->engines)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->ndatasets; i++) {
		const char *path = cfg->datasets[i].policy;
		int rc;

		if (!path)
			continue;
		for (size_t j = 0; j < i; j++)
			if (cfg->datasets[j].policy &&
			    strcmp(cfg->datasets[j].policy, path) == 0)
				s->engines[i] = s->engines[j];
		if (s->engines[i])
			continue;
		rc = pol_engine_new(path, s->keys, &lim, &s->engines[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

/* What a dataset's name led to when a build failed (srcdir.h identity). */
static int sbx_vc_build(void *arg, const char *dataset, const char *sub,
			const char *role, struct vc_sink *sink,
			struct vc_content *out, struct spot_err *err)
{
	struct sbx *s = arg;
	const struct cfg_dataset *d = cfg_dataset_find(s->cfg, dataset);

	if (!d) {
		spot_err_set(err, "%s: not a dataset", dataset);
		return -ENOENT;
	}
	return sbx_build_to(s, d, sub, role, sink, out, err);
}

static int sbx_remember(struct sbx *s, dev_t dev, ino_t ino);

/* The version of a dataset's source file (a SQLite db for every sub). */
static int sbx_vc_stamp(void *arg, const char *dataset, const char *sub,
			struct vc_stamp *out)
{
	struct sbx *s = arg;
	struct stat st;
	int rc;

	(void)sub;
	rc = src_stat(s->srcfd, dataset, &st);
	if (rc)
		return rc;
	out->dev = (uint64_t)st.st_dev;
	out->ino = (uint64_t)st.st_ino;
	out->size = (uint64_t)st.st_size;
	out->mtime_ns =
		(int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	out->ctime_ns =
		(int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	return 0;
}

/*
 * A configured dataset whose path is or goes through a symlink, or leaves
 * the source folder, is a config error: it would never be served (see
 * srcdir.h), and silently so. A missing one may appear later.
 */
static int sbx_datasets_confined(struct sbx *s, struct spot_err *err)
{
	for (size_t i = 0; i < s->cfg->ndatasets; i++) {
		const char *name = s->cfg->datasets[i].name, *kind;
		int rc = src_dataset_probe(s->srcfd, name, &kind);
		struct stat st;

		if (rc == -ELOOP) {
			spot_err_set(err,
				     "dataset %s: its path is or goes through "
				     "a symlink (symlinks in the source are "
				     "never followed)",
				     name);
			return -ELOOP;
		}
		if (rc == -EXDEV) {
			spot_err_set(err,
				     "dataset %s: its path leaves the source "
				     "folder",
				     name);
			return -EXDEV;
		}
		if (!rc && !src_stat(s->srcfd, name, &st))
			(void)sbx_remember(s, st.st_dev, st.st_ino);
		if (rc == -EINVAL)
			spot_log(SPOT_LOG_WARN,
				 "dataset %s: a %s, not a regular file: not "
				 "served",
				 name, kind);
	}
	return 0;
}

int sbx_new(struct cfg *cfg, struct sbx **out, struct spot_err *err)
{
	struct sbx *s;
	uint8_t idb[8];
	int rc = -ENOMEM;

	if (sodium_init() < 0) {
		spot_err_set(err, "libsodium failed to initialise");
		cfg_free(cfg);
		return -EIO;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		cfg_free(cfg);
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	s->cfg = cfg;
	s->srcfd = -1;
	pthread_mutex_init(&s->pin_lock, NULL);
	randombytes_buf(idb, sizeof(idb));
	sodium_bin2hex(s->id, sizeof(s->id), idb, sizeof(idb));
	/* The source folder may itself be a symlink: resolved once, here. */
	s->srcfd = open(cfg->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->srcfd < 0) {
		rc = -errno;
		spot_err_set(err, "%s: cannot open source: %s", cfg->source,
			     strerror(-rc));
		goto fail;
	}
	rc = sbx_datasets_confined(s, err);
	if (rc)
		goto fail;
	pthread_mutex_init(&s->lock, NULL);
	s->formats = calloc(cfg->ndatasets ? cfg->ndatasets : 1,
			    sizeof(*s->formats));
	s->objs = calloc(cfg->ndatasets ? cfg->ndatasets : 1, sizeof(*s->objs));
	if (!s->formats || !s->objs) {
		rc = -ENOMEM;
		spot_err_set(err, "out of memory");
		goto fail;
	}
	rc = sbx_keys(s, err);
	if (rc)
		goto fail;
	rc = sbx_engines(s, err);
	if (rc)
		goto fail;
	rc = vc_new(sbx_vc_build, s, &s->views);
	if (!rc)
		vc_set_stamp(s->views, sbx_vc_stamp);
	if (rc) {
		spot_err_set(err, "out of memory");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	sbx_free(s);
	return rc;
}

void sbx_free(struct sbx *s)
{
	if (!s)
		return;
	vc_free(s->views);
	sodium_free(s->name_key); /* wipes */
	for (size_t i = 0; s->engines && i < s->cfg->ndatasets; i++) {
		bool shared = false;

		for (size_t j = 0; j < i; j++)
			shared |= s->engines[j] == s->engines[i];
		if (!shared)
			pol_engine_free(s->engines[i]);
	}
	free(s->engines);
	free(s->formats);
	for (size_t i = 0; s->objs && i < s->cfg->ndatasets; i++)
		sbx_names_free(s->objs[i].names, s->objs[i].n);
	free(s->objs);
	pthread_mutex_destroy(&s->lock);
	free(s->pinned);
	pthread_mutex_destroy(&s->pin_lock);
	msk_keys_free(s->keys);
	if (s->srcfd >= 0)
		close(s->srcfd);
	cfg_free(s->cfg);
	free(s);
}

struct pol_engine *sbx_engine(const struct sbx *s, const struct cfg_dataset *d)
{
	size_t i = (size_t)(d - s->cfg->datasets);

	return i < s->cfg->ndatasets ? s->engines[i] : NULL;
}

const char *sbx_role_key(const struct cfg_dataset *d, const char *role)
{
	/*
	 * A policy may branch on ctx.role, and an allow list makes the file
	 * look empty to roles it excludes: both make what a caller sees
	 * depend on the role, so such views (and inodes) are per role.
	 */
	return (d->policy || d->allow || cfg_dataset_role_dependent(d)) ? role
									: "";
}

int sbx_format(struct sbx *s, const struct cfg_dataset *d)
{
	size_t i = (size_t)(d - s->cfg->datasets);
	struct stat st;
	int f;
	int fd;

	switch (d->format) {
	case CFG_FMT_CSV:
		return VIEW_FMT_CSV;
	case CFG_FMT_PARQUET:
		return VIEW_FMT_PARQUET;
	case CFG_FMT_SQLITE:
		return VIEW_FMT_SQLITE;
	default:
		break;
	}
	f = __atomic_load_n(&s->formats[i], __ATOMIC_ACQUIRE);
	if (f)
		return f - 1;
	/* Detection is deterministic: racing threads store the same value. */
	if (src_open(s->srcfd, d->name, &fd, &st))
		return VIEW_FMT_UNKNOWN; /* not cached: may appear later */
	f = (int)view_detect(fd, d->name);
	close(fd);
	__atomic_store_n(&s->formats[i], f + 1, __ATOMIC_RELEASE);
	return f;
}

/* A dataset's own name, and its SQLite journals: they hold raw pages. */
static const char *const sbx_ds_files[] = { "", "-wal", "-shm", "-journal" };

/*
 * Remember a file that is or was a dataset's (a view was built from it,
 * or it was seen at a dataset's name): the list stays for the sandbox's
 * life, so a hard link to it is hidden even after the dataset is replaced
 * (an inode number reused later hides that file too: fail closed).
 */
static int sbx_remember(struct sbx *s, dev_t dev, ino_t ino)
{
	struct sbx_pinned *np;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&s->pin_lock);
	for (i = 0; i < s->npinned; i++)
		if (s->pinned[i].dev == dev && s->pinned[i].ino == ino)
			break;
	if (i == s->npinned) {
		np = realloc(s->pinned, (i + 1) * sizeof(*np));
		if (np) {
			np[i].dev = dev;
			np[i].ino = ino;
			s->pinned = np;
			s->npinned++;
		}
		rc = np ? 0 : -ENOMEM;
	}
	pthread_mutex_unlock(&s->pin_lock);
	return rc;
}

/* Pin the source file fd for a build: its identity in *id (srcdir.c). */
static int sbx_pin(struct sbx *s, int fd, struct src_id *id,
		   struct spot_err *err)
{
	int rc = src_id_pin(fd, id);

	if (rc) {
		spot_err_set(err, "the source keeps changing");
		return rc;
	}
	rc = sbx_remember(s, id->dev, id->ino);
	if (rc)
		spot_err_set(err, "out of memory");
	return rc;
}

static bool sbx_was_pinned(struct sbx *s, const struct stat *st)
{
	bool hit = false;

	pthread_mutex_lock(&s->pin_lock);
	for (size_t i = 0; !hit && i < s->npinned; i++)
		hit = s->pinned[i].dev == st->st_dev &&
		      s->pinned[i].ino == st->st_ino;
	pthread_mutex_unlock(&s->pin_lock);
	return hit;
}

/*
 * The source file that rel is a SQLite journal of (rel without -wal, -shm
 * or -journal, in the same folder) into buf; false when rel is none.
 */
static bool sbx_journal_of(const char *rel, char *buf, size_t len)
{
	size_t n = strlen(rel);

	for (size_t k = 1; k < SPOT_ARRAY_SIZE(sbx_ds_files); k++) {
		size_t m = strlen(sbx_ds_files[k]);
		const char *slash = strrchr(rel, '/');
		size_t base = slash ? (size_t)(slash - rel) + 1 : 0;

		if (n <= base + m || strcmp(rel + n - m, sbx_ds_files[k]) ||
		    n - m >= len)
			continue;
		memcpy(buf, rel, n - m);
		buf[n - m] = '\0';
		return true;
	}
	return false;
}

bool sbx_is_dataset_file(struct sbx *s, const char *rel, const struct stat *st)
{
	char name[PATH_MAX];
	struct stat ds;

	if (sbx_was_pinned(s, st))
		return true;
	for (size_t i = 0; i < s->cfg->ndatasets; i++) {
		for (size_t k = 0; k < SPOT_ARRAY_SIZE(sbx_ds_files); k++) {
			int n = snprintf(name, sizeof(name), "%s%s",
					 s->cfg->datasets[i].name,
					 sbx_ds_files[k]);

			if (n < 0 || (size_t)n >= sizeof(name))
				continue;
			if (k && !strcmp(rel, name))
				return true;
			if (src_stat(s->srcfd, name, &ds) ||
			    !S_ISREG(ds.st_mode))
				continue;
			/* Failing that, the check above still catches it. */
			(void)sbx_remember(s, ds.st_dev, ds.st_ino);
			/* The same file under another name (hard link). */
			if (ds.st_dev == st->st_dev && ds.st_ino == st->st_ino)
				return true;
		}
	}
	/* X-wal of a hidden X (a dataset's alias written through in WAL
	 * mode holds its raw pages): hidden too, at any depth of suffixes. */
	if (sbx_journal_of(rel, name, sizeof(name)) &&
	    !src_stat(s->srcfd, name, &ds) && S_ISREG(ds.st_mode) &&
	    (cfg_dataset_find(s->cfg, name) ||
	     sbx_is_dataset_file(s, name, &ds)))
		return true;
	return false;
}

int sbx_pass_vet(struct sbx *s, const char *rel, const struct stat *st)
{
	return sbx_is_dataset_file(s, rel, st) || cfg_dataset_find(s->cfg, rel)
		       ? -ENOENT
		       : 0;
}

int sbx_pass_open(struct sbx *s, const char *rel, int *fd, struct src_id *pin)
{
	struct stat st;
	int rc = src_open(s->srcfd, rel, fd, &st);

	if (rc)
		return rc;
	/* Checked on the open file: a link made after lookup is caught. */
	if (sbx_pass_vet(s, rel, &st)) {
		close(*fd);
		*fd = -1;
		return -ENOENT;
	}
	if (pin) {
		rc = src_id_pin(*fd, pin);
		if (rc) {
			close(*fd);
			*fd = -1;
			return rc == -ESTALE ? -EIO : rc;
		}
	}
	return 0;
}

void sbx_sqlite_dirname(const struct cfg_dataset *d, char *buf, size_t len)
{
	static const char *const sfx[] = { ".sqlite3", ".sqlite", ".db" };
	const char *base = strrchr(d->name, '/');
	size_t n;

	base = base ? base + 1 : d->name;
	n = strlen(base);
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(sfx); i++) {
		size_t k = strlen(sfx[i]);

		if (n > k && strcasecmp(base + n - k, sfx[i]) == 0) {
			snprintf(buf, len, "%.*s", (int)(n - k), base);
			return;
		}
	}
	snprintf(buf, len, "%s.d", base);
}

/*
 * The SQLite layer opens a database by name: it needs the name for its
 * -wal and -shm files, and it resolves symlinks itself, so handing it
 * "/proc/self/fd/N" would only be resolved back to a name. So the dataset
 * is first opened here, confined (a symlink, a path through one, or
 * anything but a regular file is refused), held open while SQLite reads
 * it, and the name SQLite uses must be that same file (st_dev, st_ino)
 * before and after the build: a swap (of the file, a folder on the way or
 * the source folder's own path) fails the build. What is left is a swap
 * there and back within one build; see README "The source folder".
 */
struct sbx_sqlite_pin {
	int fd;
	struct stat st;
	struct src_id id; /* its contents, too: a rewrite in place fails */
};

static bool sbx_pin_same(const struct sbx_sqlite_pin *pin, const char *path)
{
	struct stat now;

	return !stat(path, &now) && now.st_dev == pin->st.st_dev &&
	       now.st_ino == pin->st.st_ino && S_ISREG(now.st_mode);
}

static int sbx_src_path(struct sbx *s, const struct cfg_dataset *d, char *buf,
			size_t len, struct sbx_sqlite_pin *pin,
			struct spot_err *err)
{
	int n = snprintf(buf, len, "%s/%s", s->cfg->source, d->name), rc;

	pin->fd = -1;
	memset(&pin->id, 0, sizeof(pin->id));
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	rc = src_open(s->srcfd, d->name, &pin->fd, &pin->st);
	if (rc) {
		pin->fd = -1;
		spot_err_set(err, "cannot open: %s", strerror(-rc));
		return rc;
	}
	if (!sbx_pin_same(pin, buf)) {
		spot_err_set(err, "the source path does not lead to the "
				  "source file (a symlink or a swap)");
		return -ESTALE; /* tried again at the next open */
	}
	return sbx_pin(s, pin->fd, &pin->id, err);
}

static int sbx_src_unpin(const char *path, struct sbx_sqlite_pin *pin, int rc,
			 struct spot_err *err)
{
	if (pin->fd < 0)
		return rc;
	if (!rc && !sbx_pin_same(pin, path)) {
		spot_err_set(err, "the source file was replaced while it was "
				  "read");
		rc = -ESTALE; /* tried again at the next open */
	}
	/* Also a failure: pages of two versions of the database. */
	if (rc != -ESTALE && src_id_check(pin->fd, &pin->id)) {
		spot_err_set(err, "the source changed while it was read");
		rc = -ESTALE;
	}
	close(pin->fd);
	pin->fd = -1;
	return rc;
}

static int sbx_names_add(char ***names, size_t *n, const char *name)
{
	char **nn;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*names)[i], name))
			return 0; /* a view named like a table: listed once */
	nn = realloc(*names, (*n + 1) * sizeof(*nn));
	if (!nn)
		return -ENOMEM;
	*names = nn;
	nn[*n] = strdup(name);
	if (!nn[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

void sbx_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * The kind of name in a database's list, ignoring ASCII case as SQLite
 * does; 0 when the database has no such table or view.
 */
static unsigned sbx_sqlite_kind(char **names, const unsigned *kinds, size_t n,
				const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(names[i], name))
			return kinds[i];
	return 0;
}

/*
 * Only what is named: ordinary tables when no table is named (or with
 * "tables: all"), never virtual, shadow or sqlite_* tables; with db_views
 * the database's views and nothing else.
 */
int sbx_sqlite_objs(struct sbx *s, const struct cfg_dataset *d, char ***names,
		    size_t *n, struct spot_err *err)
{
	char path[PATH_MAX], **all = NULL;
	struct sbx_sqlite_pin pin;
	unsigned *kinds = NULL;
	size_t nall = 0;
	bool every = d->all_tables || (!d->ntables && !d->nviews);
	int rc;

	*names = NULL;
	*n = 0;
	rc = sbx_src_path(s, d, path, sizeof(path), &pin, err);
	if (!rc && (every || d->db_views))
		rc = view_sqlite_list(path, &all, &kinds, &nall, err);
	for (size_t i = 0; !rc && every && i < nall; i++)
		if (kinds[i] == VIEW_SQL_TABLE)
			rc = sbx_names_add(names, n, all[i]);
	for (size_t i = 0; !rc && i < d->ntables; i++)
		rc = sbx_names_add(names, n, d->tables[i].name);
	for (size_t i = 0; !rc && d->db_views && i < nall; i++)
		if (kinds[i] == VIEW_SQL_VIEW)
			rc = sbx_names_add(names, n, all[i]);
	for (size_t i = 0; !rc && i < d->nviews; i++)
		rc = sbx_names_add(names, n, d->views[i].name);
	if (all)
		view_names_free(all, nall);
	free(kinds);
	rc = sbx_src_unpin(path, &pin, rc, err);
	if (rc) {
		if (rc == -ENOMEM)
			spot_err_set(err, "out of memory");
		sbx_names_free(*names, *n);
		*names = NULL;
		*n = 0;
	}
	return rc;
}

const struct sbx_objs *sbx_sqlite_objs_cached(struct sbx *s,
					      const struct cfg_dataset *d)
{
	struct sbx_objs *o = &s->objs[d - s->cfg->datasets];
	struct spot_err err = { "" };

	pthread_mutex_lock(&s->lock);
	if (!o->listed) {
		o->err = sbx_sqlite_objs(s, d, &o->names, &o->n, &err);
		o->listed = true;
		if (o->err)
			spot_log(SPOT_LOG_ERR, "%s: %s", d->name, err.msg);
	}
	pthread_mutex_unlock(&s->lock);
	return o->err ? NULL : o;
}

/* Binding state of one build: one plan per table of a SQLite build. */
struct sbx_bind {
	struct sbx *s;
	const struct cfg_dataset *d;
	const char *role;
	struct plan **plans;
	size_t nplans;
	bool quiet; /* a further plan of the same table: warned already */
	/* SQLite: the objects served (views have SQL) and the columns of all
	 * of them, for dataset-wide rules (see plan_env). */
	const struct view_sqlobj *objs;
	size_t nobjs;
	struct pipe_col *ds_cols;
	size_t nds_cols;
};

static int sbx_bind_table(struct sbx_bind *b, const char *table,
			  const struct pipe_col *cols, size_t ncols,
			  const struct pipe_plan **plan, struct spot_err *err)
{
	struct plan_env env = { b->s->cfg,  b->s->keys, sbx_engine(b->s, b->d),
				false,	    b->ds_cols, b->nds_cols,
				b->s->scan, false };
	const struct cfg_table *t = NULL;
	char name[PATH_MAX];
	struct plan **np, *p = NULL;
	int rc;

	for (size_t i = 0; table && i < b->d->ntables; i++)
		if (!strcmp(b->d->tables[i].name, table))
			t = &b->d->tables[i];
	for (size_t i = 0; table && i < b->nobjs; i++)
		if (b->objs[i].sql && !strcmp(b->objs[i].name, table))
			env.view_output = true;
	env.leaf_paths = sbx_format(b->s, b->d) == VIEW_FMT_PARQUET;
	snprintf(name, sizeof(name), "%s%s%s", b->d->name, table ? "/" : "",
		 table ? table : "");
	np = realloc(b->plans, (b->nplans + 1) * sizeof(*np));
	if (!np) {
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	b->plans = np;
	rc = plan_bind(&env, b->d, t, b->role, name, cols, ncols, &p, err);
	if (rc)
		return rc;
	b->plans[b->nplans++] = p;
	if (plan_missing(p) && !b->quiet) {
		struct spot_err msg;

		/* spot_err truncates long lists safely. */
		spot_err_set(&msg, "%s: optional columns not in the data: %s",
			     name, plan_missing(p));
		if (b->s->warn)
			b->s->warn(b->s->warn_arg, msg.msg);
		else
			spot_log(SPOT_LOG_WARN, "%s", msg.msg);
	}
	*plan = plan_pipe(p);
	return 0;
}

static int sbx_bind_cb(void *arg, const struct pipe_col *cols, size_t ncols,
		       const struct pipe_plan **plan, struct spot_err *err)
{
	return sbx_bind_table(arg, NULL, cols, ncols, plan, err);
}

static int sbx_bind_tbl_cb(void *arg, const char *table,
			   const struct pipe_col *cols, size_t ncols,
			   const struct pipe_plan **plan, struct spot_err *err)
{
	return sbx_bind_table(arg, table, cols, ncols, plan, err);
}

/* A further plan of the same table, for another worker of a CSV build. */
static int sbx_bind_more_cb(void *arg, const struct pipe_col *cols,
			    size_t ncols, const struct pipe_plan **plan,
			    struct spot_err *err)
{
	struct sbx_bind *b = arg;

	b->quiet = true;
	return sbx_bind_table(b, NULL, cols, ncols, plan, err);
}

/* ---- Parquet ---- */

/* Further plans for the Parquet build's workers, bound like the first. */
struct sbx_pq_bind {
	struct sbx_bind *bind;
	const struct pipe_col *cols;
	size_t ncols;
};

static int sbx_pq_more_plan(void *arg, const struct pipe_plan **plan,
			    struct spot_err *err)
{
	struct sbx_pq_bind *pb = arg;

	pb->bind->quiet = true;
	return sbx_bind_table(pb->bind, NULL, pb->cols, pb->ncols, plan, err);
}

/*
 * Build workers (Parquet row groups, CSV parts): the configured number,
 * else one per CPU (at most 8).
 */
static unsigned sbx_build_threads(const struct sbx *s)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (s->cfg->threads)
		return s->cfg->threads;
	return n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
}

/* A built Parquet view: the served segments and the source they read. */
struct sbx_pq {
	struct pq_file *file;
	struct pq_view *view;
	int fd;		   /* the source, pinned */
	struct src_id pin; /* what fd was when the view was built */
};

/*
 * Unmasked chunks are read from the source at the offsets of the file the
 * view was built from: only while fd still is that file (a rewrite in
 * place would put other bytes there, raw). Checked before and after the
 * read, since a write may land between a check and the pread (why the
 * second check catches it: srcdir.c). -ESTALE when it changed, and the
 * bytes read are wiped, never served.
 */
static ssize_t sbx_pq_read(void *obj, void *buf, size_t len, uint64_t off)
{
	struct sbx_pq *p = obj;
	ssize_t n;
	int rc = src_id_check(p->fd, &p->pin);

	if (rc)
		return rc;
	n = pq_view_read(p->view, p->fd, buf, len, off);
	rc = src_id_check(p->fd, &p->pin);
	if (rc) {
		explicit_bzero(buf, len);
		return rc;
	}
	return n;
}

static int sbx_pq_check(void *obj)
{
	struct sbx_pq *p = obj;

	return src_id_check(p->fd, &p->pin);
}

static void sbx_pq_free(void *obj)
{
	struct sbx_pq *p = obj;

	if (!p)
		return;
	pq_view_free(p->view);
	pq_file_free(p->file);
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

/*
 * Parquet in, Parquet out: only masked column chunks are rebuilt and the
 * rest is served from the source file, which the view keeps open; a row
 * filter rebuilds every column of the file (see parquet.h).
 */
static int sbx_build_parquet(struct sbx *s, const struct cfg_dataset *d,
			     struct sbx_bind *bind, struct vc_content *out,
			     struct spot_err *err)
{
	const struct pipe_plan *plan = NULL;
	const struct pipe_col *cols;
	struct sbx_pq *p = calloc(1, sizeof(*p));
	struct sbx_pq_bind pb = { bind, NULL, 0 };
	struct pq_build_opts opts = { sbx_build_threads(s), sbx_pq_more_plan,
				      &pb };
	struct stat sst;
	size_t ncols;
	int rc;

	if (!p)
		return -ENOMEM;
	rc = src_open(s->srcfd, d->name, &p->fd, &sst);
	if (rc) {
		p->fd = -1;
		spot_err_set(err, "cannot open: %s", strerror(-rc));
		goto fail;
	}
	rc = sbx_pin(s, p->fd, &p->pin, err);
	if (rc)
		goto fail;
	rc = pq_file_open(p->fd, &p->file, err);
	if (!rc)
		rc = pq_file_columns(p->file, &cols, &ncols);
	if (!rc)
		rc = sbx_bind_cb(bind, cols, ncols, &plan, err);
	for (size_t i = 0; !rc && i < plan->nxf; i++)
		rc = pq_column_check_maskable(p->file, plan->xf[i].col, err);
	pb.cols = cols;
	pb.ncols = ncols;
	if (!rc)
		rc = pq_view_build(p->file, p->fd, plan, &opts, &p->view, err);
	/* Also a failure: a footer of one version and pages of another. */
	if (rc != -ESTALE && src_id_check(p->fd, &p->pin)) {
		spot_err_set(err, "the source changed while it was read");
		rc = -ESTALE; /* tried again at the next open */
	}
	if (rc)
		goto fail;
	memset(out, 0, sizeof(*out));
	out->size = pq_view_size(p->view);
	out->mem = pq_view_mem(p->view);
	out->read = sbx_pq_read;
	out->free = sbx_pq_free;
	out->check = sbx_pq_check;
	out->src_mtime = p->pin.mtime;
	out->obj = p;
	out->rows_in = pq_file_num_rows(p->file);
	out->rows_out = pq_view_num_rows(p->view);
	return 0;
fail:
	sbx_pq_free(p);
	return rc;
}

/* A CSV sink that stops the pipeline after a number of kept rows. */
struct sbx_limit {
	struct csv_writer *w;
	uint64_t left;
};

static int sbx_limit_begin(void *sink, const struct pipe_col *cols,
			   size_t ncols, const void *dialect,
			   struct spot_err *err)
{
	struct sbx_limit *l = sink;

	return csv_sink_ops.begin(l->w, cols, ncols, dialect, err);
}

static int sbx_limit_rows(void *sink, const struct pipe_batch *b,
			  struct spot_err *err)
{
	struct sbx_limit *l = sink;
	struct pipe_batch part = *b;
	uint64_t kept = 0;
	size_t r;

	for (r = 0; r < b->nrows && kept < l->left; r++)
		kept += b->keep[r];
	part.nrows = r;
	if (csv_sink_ops.rows(l->w, &part, err))
		return -ENOMEM;
	l->left -= kept;
	return l->left ? 0 : -ECANCELED; /* enough: stop reading */
}

static int sbx_limit_end(void *sink, struct spot_err *err)
{
	struct sbx_limit *l = sink;

	return csv_sink_ops.end(l->w, err);
}

static const struct pipe_sink_ops sbx_limit_ops = {
	sbx_limit_begin,
	sbx_limit_rows,
	sbx_limit_end,
};

/* The first limit rows of Parquet dataset d as CSV into out, bound by bind. */
static int sbx_pq_csv(struct sbx *s, const struct cfg_dataset *d,
		      struct sbx_bind *bind, uint64_t limit,
		      struct spot_buf *out, struct pipe_stats *st,
		      struct spot_err *err)
{
	struct sbx_limit lim = { NULL, limit };
	const struct pipe_plan *plan = NULL;
	const struct pipe_col *cols;
	struct pq_file *f = NULL;
	struct pq_rows *rows = NULL;
	struct src_id pin;
	struct stat sst;
	size_t ncols;
	int fd, rc;

	rc = src_open(s->srcfd, d->name, &fd, &sst);
	if (rc) {
		spot_err_set(err, "cannot open: %s", strerror(-rc));
		return rc;
	}
	rc = sbx_pin(s, fd, &pin, err);
	if (rc) {
		close(fd);
		return rc;
	}
	rc = pq_file_open(fd, &f, err);
	if (!rc)
		rc = pq_rows_open(f, fd, &rows, err);
	if (!rc)
		rc = pq_file_columns(f, &cols, &ncols);
	if (!rc)
		rc = sbx_bind_cb(bind, cols, ncols, &plan, err);
	if (!rc)
		rc = csv_writer_new(out, &lim.w);
	if (!rc && limit)
		rc = pipe_run(&pq_source_ops, rows, plan, &sbx_limit_ops, &lim,
			      st, err);
	if (rc == -ECANCELED)
		rc = 0;
	/* The footer of one version and the chunks of another would decode
	 * raw values as kept columns: the output counts only if fd stayed
	 * the file pinned before the first byte was read. */
	if (rc != -ESTALE && src_id_check(fd, &pin)) {
		spot_err_set(err, "the source changed while it was read");
		rc = -ESTALE; /* tried again at the next open */
	}
	csv_writer_free(lim.w);
	pq_rows_free(rows);
	pq_file_free(f);
	close(fd);
	return rc;
}

static void sbx_bind_fini(struct sbx_bind *b)
{
	for (size_t i = 0; i < b->nds_cols; i++)
		free(b->ds_cols[i].name);
	free(b->ds_cols);
	b->ds_cols = NULL;
	b->nds_cols = 0;
	for (size_t i = 0; i < b->nplans; i++)
		plan_free(b->plans[i]);
	free(b->plans);
	b->plans = NULL;
	b->nplans = 0;
}

int sbx_parquet_csv(struct sbx *s, const struct cfg_dataset *d,
		    const char *role, uint64_t limit, struct spot_buf *out,
		    struct spot_err *err)
{
	struct sbx_bind bind = { .s = s, .d = d, .role = role };
	int rc = sbx_pq_csv(s, d, &bind, limit, out, NULL, err);

	sbx_bind_fini(&bind);
	if (rc)
		spot_err_prefix(err, "%s: ", d->name);
	return rc;
}

/*
 * Why a served name that is not an ordinary table or a view may not be
 * served, or NULL. Virtual tables (FTS, rtree) and their shadow tables
 * hold copies of other tables' text and tokens: only a table named in
 * tables: with column rules of its own is served.
 */
static const char *sbx_sqlite_refusal(const struct cfg_dataset *d,
				      const char *name, unsigned kind)
{
	const struct cfg_table *t = NULL;

	for (size_t i = 0; i < d->ntables; i++)
		if (!strcmp(d->tables[i].name, name))
			t = &d->tables[i];
	if (kind == VIEW_SQL_INTERNAL || strncasecmp(name, "sqlite_", 7) == 0)
		return "an internal SQLite table, never served";
	if (kind != VIEW_SQL_VIRTUAL && kind != VIEW_SQL_SHADOW)
		return NULL;
	if (t && (t->rules.ncols || t->nby_role))
		return NULL;
	return kind == VIEW_SQL_VIRTUAL
		       ? "a virtual table (FTS, rtree...), served only when "
			 "named in tables: with column rules"
		       : "a virtual table's shadow table, served only when "
			 "named in tables: with column rules";
}

/*
 * The objects a SQLite dataset serves, with SQL for views: configured ones
 * from the config, the database's own (db_views, or a view named in
 * tables:) from its schema, so that they read masked tables. Tables have
 * none.
 */
static int sbx_sqlite_objlist(struct sbx *s, const struct cfg_dataset *d,
			      const char *path, struct view_sqlobj **out,
			      char ***owned, size_t *n, struct spot_err *err)
{
	const struct sbx_objs *o = sbx_sqlite_objs_cached(s, d);
	char **all = NULL, **sqls;
	unsigned *kinds = NULL, kind;
	size_t nall = 0;
	int rc = 0;

	if (!o) {
		spot_err_set(err, "cannot list the database's tables");
		return -EIO;
	}
	*out = calloc(o->n ? o->n : 1, sizeof(**out));
	sqls = calloc(o->n ? o->n : 1, sizeof(*sqls));
	if (!*out || !sqls) {
		free(*out);
		free(sqls);
		return -ENOMEM;
	}
	rc = view_sqlite_list(path, &all, &kinds, &nall, err);
	for (size_t i = 0; !rc && i < o->n; i++) {
		(*out)[i].name = o->names[i];
		for (size_t v = 0; v < d->nviews; v++)
			if (!strcmp(d->views[v].name, o->names[i]))
				(*out)[i].sql = d->views[v].sql;
		if ((*out)[i].sql)
			continue;
		kind = sbx_sqlite_kind(all, kinds, nall, o->names[i]);
		(*out)[i].refused = sbx_sqlite_refusal(d, o->names[i], kind);
		if (kind != VIEW_SQL_VIEW)
			continue;
		rc = view_sqlite_view_sql(path, o->names[i], &sqls[i], err);
		(*out)[i].sql = sqls[i];
	}
	if (all)
		view_names_free(all, nall);
	free(kinds);
	*owned = sqls;
	*n = o->n;
	return rc;
}

/* Whether d has dataset-wide column rules (defaults for every table). */
static bool sbx_ds_rules(const struct cfg_dataset *d)
{
	for (size_t i = 0; i < d->nby_role; i++)
		if (d->by_role[i].rules.ncols)
			return true;
	return d->rules.ncols > 0;
}

/* Append the columns of one object of db to b->ds_cols. */
static int sbx_obj_cols(struct sbx_bind *b, struct sqlc_db *db,
			const struct view_sqlobj *o, struct spot_err *err)
{
	struct sqlc_source_opts so = { 0 };
	struct sqlc_source *src = NULL;
	const struct pipe_col *cols;
	struct pipe_col *nc;
	size_t ncols;
	int rc = sqlc_source_new(db, o->sql ? NULL : o->name, o->name, o->sql,
				 &so, &src, err);

	if (!rc)
		rc = sqlc_source_ops.columns(src, &cols, &ncols, err);
	if (!rc) {
		nc = realloc(b->ds_cols,
			     (b->nds_cols + ncols + 1) * sizeof(*nc));
		rc = nc ? 0 : -ENOMEM;
		b->ds_cols = nc ? nc : b->ds_cols;
	}
	for (size_t i = 0; !rc && i < ncols; i++) {
		nc = &b->ds_cols[b->nds_cols];
		*nc = cols[i];
		nc->name = malloc(cols[i].name_len + 1);
		if (!nc->name) {
			rc = -ENOMEM;
			break;
		}
		memcpy(nc->name, cols[i].name, cols[i].name_len + 1);
		b->nds_cols++;
	}
	if (rc == -ENOMEM)
		spot_err_set(err, "out of memory");
	sqlc_source_free(src);
	return rc;
}

/*
 * The columns of every object a SQLite dataset serves, for rules written
 * once for all its tables: such a rule is an error only when no object has
 * the column.
 */
static int sbx_sqlite_cols(struct sbx_bind *b, const char *path,
			   struct spot_err *err)
{
	struct sqlc_db *db = NULL;
	struct spot_err scratch;
	struct sqlc_opts o;
	int rc;

	sqlc_opts_init(&o);
	rc = sqlc_db_open(path, &o, &db, err);
	if (!rc)
		rc = sqlc_db_begin(db, err);
	for (size_t i = 0; !rc && i < b->nobjs; i++)
		rc = sbx_obj_cols(b, db, &b->objs[i], err);
	if (db) {
		int rc2 = sqlc_db_end(db, rc ? &scratch : err);

		rc = rc ? rc : rc2;
	}
	sqlc_db_free(db);
	if (!rc && !b->ds_cols)
		b->ds_cols =
			calloc(1, sizeof(*b->ds_cols)); /* none: not NULL */
	if (!rc && !b->ds_cols) {
		spot_err_set(err, "out of memory");
		rc = -ENOMEM;
	}
	return rc;
}

/* The view "sub" of a SQLite dataset: a table's CSV, or the database. */
static int sbx_build_sqlite(struct sbx *s, const struct cfg_dataset *d,
			    const char *sub, struct sbx_bind *bind,
			    struct spot_buf *buf, struct pipe_stats *st,
			    struct spot_err *err)
{
	struct view_sqlobj *objs = NULL;
	char path[PATH_MAX], **sqls = NULL;
	struct sbx_sqlite_pin pin;
	size_t n = 0, which = SIZE_MAX;
	int rc;

	rc = sbx_src_path(s, d, path, sizeof(path), &pin, err);
	if (!rc)
		rc = sbx_sqlite_objlist(s, d, path, &objs, &sqls, &n, err);
	for (size_t i = 0; !rc && sub[0] && i < n; i++)
		if (!strcmp(objs[i].name, sub))
			which = i;
	if (!rc && sub[0] && which == SIZE_MAX) {
		spot_err_set(err, "no table or view '%s'", sub);
		rc = -ENOENT;
	}
	bind->objs = objs;
	bind->nobjs = n;
	if (!rc && sbx_ds_rules(d))
		rc = sbx_sqlite_cols(bind, path, err);
	if (!rc && sub[0])
		rc = view_sqlite_csv(path, objs, n, which, sbx_bind_tbl_cb,
				     bind, buf, st, err);
	else if (!rc)
		rc = view_sqlite_db(path, objs, n, sbx_bind_tbl_cb, bind, buf,
				    st, err);
	bind->objs = NULL; /* freed below */
	bind->nobjs = 0;
	for (size_t i = 0; sqls && i < n; i++)
		free(sqls[i]);
	free(sqls);
	free(objs);
	return sbx_src_unpin(path, &pin, rc, err);
}

const char *sbx_form(struct sbx *s, const struct cfg_dataset *d, bool *self)
{
	int fmt = sbx_format(s, d);
	unsigned own = fmt == VIEW_FMT_CSV	 ? CFG_AS_CSV
		       : fmt == VIEW_FMT_PARQUET ? CFG_AS_PARQUET
						 : 0;
	unsigned other = own == CFG_AS_CSV	 ? CFG_AS_PARQUET
			 : own == CFG_AS_PARQUET ? CFG_AS_CSV
						 : 0;

	*self = !own || !d->as || (d->as & (CFG_AS_NATIVE | own));
	if (!(d->as & other))
		return NULL;
	return other == CFG_AS_CSV ? "csv" : "parquet";
}

int sbx_form_name(struct sbx *s, const struct cfg_dataset *d, const char **form,
		  char *buf, size_t len)
{
	const char *f;
	bool self;

	if (!d->as || !(f = sbx_form(s, d, &self)) ||
	    cfg_form_name(d, !strcmp(f, "csv") ? CFG_AS_CSV : CFG_AS_PARQUET,
			  buf, len))
		return -ENOENT;
	*form = f;
	return 0;
}

int sbx_build(struct sbx *s, const struct cfg_dataset *d, const char *sub,
	      const char *role, struct vc_content *out, struct spot_err *err)
{
	return sbx_build_to(s, d, sub, role, NULL, out, err);
}

int sbx_build_to(struct sbx *s, const struct cfg_dataset *d, const char *sub,
		 const char *role, struct vc_sink *sink, struct vc_content *out,
		 struct spot_err *err)
{
	struct sbx_bind bind = { .s = s, .d = d, .role = role };
	struct view_csv_opts copts = { .threads = sbx_build_threads(s),
				       .more_plan = sbx_bind_more_cb,
				       .arg = &bind,
				       .emit = sink ? vc_sink_write : NULL,
				       .emit_arg = sink,
				       .emit_after = vc_sink_room(sink) };
	struct pipe_stats st = { 0, 0 };
	struct spot_buf buf;
	struct src_id pin = { 0 };
	struct stat sst;
	int fd = -1, rc, fmt = sbx_format(s, d);

	spot_buf_init(&buf);
	switch (fmt) {
	case VIEW_FMT_CSV:
		rc = src_open(s->srcfd, d->name, &fd, &sst);
		if (rc) {
			spot_err_set(err, "cannot open: %s", strerror(-rc));
			break;
		}
		rc = sbx_pin(s, fd, &pin, err);
		if (rc) {
			close(fd);
			break;
		}
		if (sub[0]) /* as: parquet */
			rc = view_build_csv_parquet(fd, d->delimiter,
						    sbx_bind_cb, &bind, &buf,
						    &st, err);
		else
			rc = view_build_csv_opts(fd, d->delimiter, sbx_bind_cb,
						 &bind, &copts, &buf, &st, err);
		/* A header of one version and rows of another would put raw
		 * values in kept columns: the view is published only if fd
		 * stayed the file pinned before the first byte was read. A
		 * failure then (a torn row) is transient too. */
		if (rc != -ESTALE && src_id_check(fd, &pin)) {
			spot_err_set(err, "the source changed while it was "
					  "read");
			rc = -ESTALE; /* tried again at the next open */
		}
		close(fd);
		break;
	case VIEW_FMT_SQLITE:
		rc = sbx_build_sqlite(s, d, sub, &bind, &buf, &st, err);
		break;
	case VIEW_FMT_PARQUET:
		if (sub[0]) { /* as: csv */
			rc = sbx_pq_csv(s, d, &bind, UINT64_MAX, &buf, &st,
					err);
			break;
		}
		rc = sbx_build_parquet(s, d, &bind, out, err);
		sbx_bind_fini(&bind);
		if (rc)
			spot_err_prefix(err, "%s: ", d->name);
		return rc;
	case VIEW_FMT_UNKNOWN:
		spot_err_set(err, "cannot open the source file");
		rc = -ENOENT;
		break;
	default:
		spot_err_set(err, "%s datasets are not supported yet",
			     view_fmt_name((enum view_fmt)fmt));
		rc = -ENOTSUP;
		break;
	}
	sbx_bind_fini(&bind);
	if (rc) {
		spot_err_prefix(err, "%s%s%s: ", d->name,
				!sub[0]			 ? ""
				: fmt == VIEW_FMT_SQLITE ? "/"
							 : " as ",
				sub);
		spot_buf_fini(&buf);
		return rc;
	}
	rc = vc_sink_used(sink) ? vc_sink_content(sink, &buf, out)
				: vc_content_from_buf(out, &buf);
	if (rc) {
		spot_err_set(err, "%s: %s", d->name, strerror(-rc));
		return rc;
	}
	if (fmt == VIEW_FMT_CSV)
		out->src_mtime = pin.mtime; /* the file it was built from */
	out->rows_in = st.rows_in;
	out->rows_out = st.rows_out;
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox.c - sandbox set-up and view builds. Views are built through the
 * table of formats (format.h): this file opens and pins the source, binds
 * plans and serves what the format's entry built; the tables of a SQLite
 * dataset are listed in sandbox_sqlite.c.
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
#include "format.h"
#include "plan.h"
#include "sandbox_i.h"
#include "srcdir.h"

#define SBX_SECRET_LEN 32
#define SBX_NAME_KEY_LEN 32

static const char sbx_name_label[] = "spotfs overlay names v1";

int sbx_read_secret(const struct cfg *cfg, uint8_t *secret, size_t *len,
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

	if (view_format_get(d->format))
		return d->format;
	f = __atomic_load_n(&s->formats[i], __ATOMIC_ACQUIRE);
	if (f)
		return f - 1;
	/* Detection is deterministic: racing threads store the same value. */
	if (src_open(s->srcfd, d->name, &fd, &st))
		return VIEW_FMT_UNKNOWN; /* not cached: may appear later */
	f = (int)view_detect(fd, d->name);
	close(fd);
	if (f == VIEW_FMT_UNKNOWN)
		return f; /* the file could not be read: ask again later */
	__atomic_store_n(&s->formats[i], f + 1, __ATOMIC_RELEASE);
	return f;
}

bool sbx_has_objects(struct sbx *s, const struct cfg_dataset *d)
{
	const struct view_format *f = view_format_get(sbx_format(s, d));

	return f && f->objects;
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

int sbx_pin(struct sbx *s, int fd, struct src_id *id, struct spot_err *err)
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

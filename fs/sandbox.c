/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox.c - sandbox set-up and view builds.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "engine.h"
#include "plan.h"
#include "view.h"

#define SBX_SECRET_LEN 32
#define SBX_SECRET_FILE_MAX 4096

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

static int sbx_vc_build(void *arg, const char *dataset, const char *sub,
			const char *role, struct vc_content *out,
			struct spot_err *err)
{
	struct sbx *s = arg;
	const struct cfg_dataset *d = cfg_dataset_find(s->cfg, dataset);

	if (!d) {
		spot_err_set(err, "%s: not a dataset", dataset);
		return -ENOENT;
	}
	return sbx_build(s, d, sub, role, out, err);
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
	randombytes_buf(idb, sizeof(idb));
	sodium_bin2hex(s->id, sizeof(s->id), idb, sizeof(idb));
	s->srcfd = open(cfg->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->srcfd < 0) {
		rc = -errno;
		spot_err_set(err, "%s: cannot open source: %s", cfg->source,
			     strerror(-rc));
		goto fail;
	}
	rc = sbx_keys(s, err);
	if (rc)
		goto fail;
	rc = sbx_engines(s, err);
	if (rc)
		goto fail;
	rc = vc_new(sbx_vc_build, s, &s->views);
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
	for (size_t i = 0; s->engines && i < s->cfg->ndatasets; i++) {
		bool shared = false;

		for (size_t j = 0; j < i; j++)
			shared |= s->engines[j] == s->engines[i];
		if (!shared)
			pol_engine_free(s->engines[i]);
	}
	free(s->engines);
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

/* Binding state of one build. */
struct sbx_bind {
	struct sbx *s;
	const struct cfg_dataset *d;
	const struct cfg_table *t;
	const char *role;
	const char *name;
	struct plan *plan;
};

static int sbx_bind_cb(void *arg, const struct pipe_col *cols, size_t ncols,
		       const struct pipe_plan **plan, struct spot_err *err)
{
	struct sbx_bind *b = arg;
	struct plan_env env = { b->s->cfg, b->s->keys, sbx_engine(b->s, b->d) };
	int rc;

	rc = plan_bind(&env, b->d, b->t, b->role, b->name, cols, ncols,
		       &b->plan, err);
	if (rc)
		return rc;
	if (plan_missing(b->plan))
		spot_log(SPOT_LOG_WARN,
			 "%s: configured columns not in data: %s", b->name,
			 plan_missing(b->plan));
	*plan = plan_pipe(b->plan);
	return 0;
}

int sbx_build(struct sbx *s, const struct cfg_dataset *d, const char *sub,
	      const char *role, struct vc_content *out, struct spot_err *err)
{
	struct sbx_bind bind = { s, d, NULL, role, d->name, NULL };
	struct pipe_stats st = { 0, 0 };
	struct spot_buf buf;
	enum view_fmt fmt;
	int fd, rc;

	(void)sub;
	fd = openat(s->srcfd, d->name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		spot_err_set(err, "%s: cannot open: %s", d->name,
			     strerror(-rc));
		return rc;
	}
	spot_buf_init(&buf);
	fmt = d->format == CFG_FMT_CSV ? VIEW_FMT_CSV
				       : view_detect(fd, d->name);
	switch (fmt) {
	case VIEW_FMT_CSV:
		rc = view_build_csv(fd, d->delimiter, sbx_bind_cb, &bind, &buf,
				    &st, err);
		break;
	default:
		spot_err_set(err, "%s: %s datasets are not supported yet",
			     d->name, view_fmt_name(fmt));
		rc = -ENOTSUP;
		break;
	}
	close(fd);
	plan_free(bind.plan);
	if (rc) {
		spot_err_prefix(err, "%s: ", d->name);
		spot_buf_fini(&buf);
		return rc;
	}
	vc_content_from_buf(out, &buf);
	out->rows_in = st.rows_in;
	out->rows_out = st.rows_out;
	return 0;
}

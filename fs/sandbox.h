/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sandbox.h - one live sandbox: its config, keys, policy engines, view
 * cache and source folder. FUSE-free: the daemon, `spotfs check` and
 * `spotfs preview` all build views through it.
 *
 * Created after the daemon has forked (locked key memory is not inherited
 * by fork) and freed at the end of the session, which wipes the keys.
 */
#ifndef SPOT_SANDBOX_H
#define SPOT_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "spot.h"
#include "vcache.h"

struct pol_engine;

struct sbx {
	struct cfg *cfg; /* owned */
	struct msk_keys *keys;
	int srcfd; /* the source folder, O_RDONLY | O_DIRECTORY */
	struct vc *views;
	/* Engines by dataset index (NULL without a policy); shared files
	 * share one engine. */
	struct pol_engine **engines;
	char id[17]; /* random hex sandbox id */
};

/*
 * Set up a sandbox over a loaded config (taken over: freed with the
 * sandbox, also on error). Reads the secret, derives keys, opens the source
 * and loads every Lua policy. 0 or -errno with err set.
 */
int sbx_new(struct cfg *cfg, struct sbx **out, struct spot_err *err);
void sbx_free(struct sbx *s);

/* The engine for dataset d, or NULL. */
struct pol_engine *sbx_engine(const struct sbx *s, const struct cfg_dataset *d);

/*
 * Build the view of dataset d (sub: "" or a table inside it) for role into
 * *out, bypassing the cache (check and preview use this; the daemon goes
 * through s->views). 0 or -errno with err set.
 */
int sbx_build(struct sbx *s, const struct cfg_dataset *d, const char *sub,
	      const char *role, struct vc_content *out, struct spot_err *err);

/* The role key of a view: role, or "" if d masks the same for all roles. */
const char *sbx_role_key(const struct cfg_dataset *d, const char *role);

#endif /* SPOT_SANDBOX_H */

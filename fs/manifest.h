/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * manifest.h - the virtual folder MNT/.spotfs/ (manifest.c): fixed inode
 * numbers just below the overlay's range (daemon_i.h), never handed out by
 * ns or an overlay tree.
 */
#ifndef SPOT_MANIFEST_H
#define SPOT_MANIFEST_H

#include <stdbool.h>

#include <fuse_lowlevel.h>

#define DMN_META_INO_DIR (DMN_UPPER_INO_BASE - 3)
#define DMN_META_INO_JSON (DMN_UPPER_INO_BASE - 2)
#define DMN_META_INO_README (DMN_UPPER_INO_BASE - 1)
#define DMN_META_NAME ".spotfs"

struct dmn;
struct dmn_caller;
struct spot_buf;

/*
 * The daemon's operations (dmn_ops) with the manifest's in front: 0, or
 * -EINVAL when dmn_ops has a handler manifest.c does not wrap.
 */
int dmn_meta_ops(struct fuse_lowlevel_ops *ops);

/* The manifest (json) or its README (text) as caller c sees it. */
int meta_render(struct dmn *d, const struct dmn_caller *c, bool json,
		struct spot_buf *o);

#endif /* SPOT_MANIFEST_H */

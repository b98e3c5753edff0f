/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon_i.h - state shared by the daemon's source files (fs/ only).
 */
#ifndef SPOT_DAEMON_I_H
#define SPOT_DAEMON_I_H

#include <stdint.h>
#include <sys/types.h>

#include <fuse_lowlevel.h>

#include "ns.h"
#include "sandbox.h"

/* Attribute and entry timeouts, seconds. */
#define DMN_TTL_VIEW 3600.0 /* views are immutable within a sandbox */
#define DMN_TTL_SOURCE 1.0  /* folders and passed-through files may change */

struct dmn {
	struct sbx *sbx;
	struct ns *ns;
	struct fuse_session *se;
	uid_t owner; /* the mounting user: owns every entry */
	gid_t owner_gid;
	uint64_t open_files; /* atomic */
};

/* Who is asking: credentials and role of a request. */
struct dmn_caller {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	gid_t groups[64];
	size_t ngroups;
	const char *role;
};

void dmn_caller_get(struct dmn *d, fuse_req_t req, struct dmn_caller *c);

/* The low-level operations table. */
extern const struct fuse_lowlevel_ops dmn_ops;

#endif /* SPOT_DAEMON_I_H */

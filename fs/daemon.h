/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon.h - the FUSE front end: low-level operations over the sandbox's
 * namespace, served by libfuse's multi-threaded loop.
 *
 * This is the only place that translates between FUSE requests and the
 * FUSE-free core (sandbox, views, policy): errno values are produced here.
 */
#ifndef SPOT_DAEMON_H
#define SPOT_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

struct sbx;
struct cfg;
struct dmn;

struct dmn_opts {
	bool foreground;  /* -f: stay attached, log to stderr */
	bool allow_other; /* let other users in (root, or user_allow_other) */
	bool debug;	  /* libfuse request tracing */
	const char *log_path; /* daemon log file when detached, or NULL */
	/* --wait: build every view first (prebuild); the parent returns
	 * once they are built, printing failures and a summary. */
	bool wait;
};

/*
 * Mount cfg's sandbox on mountpoint and serve it until unmount or a signal.
 * Takes over cfg. Unless opts->foreground, forks: the parent returns 0 once
 * the child reports the mount is live (printing where it mounted), or the
 * child's failure; the child never returns (it exits when the mount ends).
 * In the foreground, returns when the session ends.
 * 0 or -errno; errors are printed to stderr.
 */
int dmn_mount(struct cfg *cfg, const char *mp, const struct dmn_opts *opts);

#endif /* SPOT_DAEMON_H */

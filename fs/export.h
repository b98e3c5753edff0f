/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * export.h - the daemon's side of `spotfs export`: the "export" request of
 * the control channel (ctl.h).
 *
 * Request: "export FLAGS\tREASON\tPATH..." with every field escaped by
 * xprt_escape (so it holds no tab, line break or control byte). FLAGS is
 * "-" or "o" (--override). PATHs are relative to the mount point.
 *
 * The daemon opens each path itself, beneath its own mount point
 * (openat2: no symlinks, no "..", no other mount), reads folders
 * recursively, reads each regular file whole (within the export budget)
 * and reviews those bytes (export_review.h). The reply lists per file
 * "file\tPATH\tSIZE\tBLAKE2B\tTYPE\tFINDINGS", per finding
 * "finding\tPATH\tKIND\tLINE\tCOLUMN\tWHAT", and last "verdict\tV" (pass,
 * findings or approved). The CLI copies only on pass or approved, and only
 * bytes whose BLAKE2b-256 is the one reviewed. Every export is audited
 * before the reply (one record per file, then a summary; never contents):
 * with the audit log down, nothing is released.
 */
#ifndef SPOT_EXPORT_H
#define SPOT_EXPORT_H

#include <stddef.h>
#include <sys/types.h>

#include "spot.h"

#define XPRT_MAX_FILES 1000

struct dmn;

/* Make the recorder and hook it into the sandbox's builds. 0 or -ENOMEM. */
int dmn_export_setup(struct dmn *d, struct spot_err *err);
void dmn_export_fini(struct dmn *d);

/* Serve "export ARGS" (args is what follows "export "). See above. */
int dmn_export_request(struct dmn *d, const char *args, uid_t uid, pid_t pid,
		       struct spot_buf *r);

/* Escape (s, len) for one field: bytes outside '!'..'~' and '%' as %XX. */
int xprt_escape(struct spot_buf *b, const char *s, size_t len);
/* Undo xprt_escape into out (NUL-terminated). 0 or -EINVAL. */
int xprt_unescape(const char *s, size_t len, struct spot_buf *out);

#endif /* SPOT_EXPORT_H */

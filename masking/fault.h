/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fault.h - fault injection for test builds (meson -Dfault_injection=true).
 *
 * In a fault build the spotfs binary is linked with -Wl,--wrap for the
 * allocation and I/O calls of its own code (fault_wrap.c: malloc, calloc,
 * realloc, aligned_alloc, strdup, strndup, sodium_malloc,
 * sodium_allocarray, read, pread, write, pwrite, fallocate, ftruncate,
 * fsync, fdatasync); SQLite's allocator is replaced through
 * sqlite3_config(SQLITE_CONFIG_MALLOC) and its files go through a VFS shim
 * registered as the default. Each wrapper asks flt_fire() whether its
 * point fires now; a point that is not armed costs one relaxed atomic load.
 * Shared libraries' own calls (libc internals, libfuse, Lua's core) are
 * not wrapped.
 *
 * Points are armed once, when the daemon starts, from the environment:
 *
 *     SPOTFS_FAULT="POINT[:after=N][:every=M][:count=K][:from=serve][:trace],..."
 *
 * after=N lets the first N eligible calls pass; then every M-th call fails
 * (every=1, the default: each one), at most K times (count=0, the default:
 * no limit). from=serve counts only once the daemon serves requests
 * (flt_serving), so the mount itself is not hit; trace prints the stack
 * of each logged firing (sanitizer builds). Each firing is logged on
 * stderr as "spotfs: fault injected: POINT (#n)" (the first
 * FLT_LOG_MAX of each point), so a test can tell that its fault was hit;
 * at exit, "spotfs: fault point POINT: N calls counted, K fired".
 *
 * I/O points apply to descriptors (and SQLite files) under the folders
 * named with flt_set_dir: the source folder, the overlay store and the
 * state folder (registry and audit log).
 *
 * A build without SPOT_FAULT_INJECTION compiles every call below to
 * nothing: it never reads SPOTFS_FAULT.
 */
#ifndef SPOT_FAULT_H
#define SPOT_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "spot.h"

enum flt_point {
	FLT_ALLOC,	     /* malloc family of spotfs's own code: NULL */
	FLT_ALLOC_SODIUM,    /* sodium_malloc, sodium_allocarray: NULL */
	FLT_SQLITE_NOMEM,    /* SQLite's allocator: NULL (SQLITE_NOMEM) */
	FLT_SRC_READ_SHORT,  /* read/pread of a source file: half as many */
	FLT_SRC_READ_EIO,    /* read/pread of a source file (SQLite too): EIO */
	FLT_STORE_READ_EIO,  /* read/pread in the store: EIO */
	FLT_STORE_WRITE_EIO, /* write/pwrite/fsync in the store: EIO */
	FLT_STORE_WRITE_ENOSPC, /* write/pwrite/fallocate/ftruncate: ENOSPC */
	FLT_SQLITE_BUSY,	/* registry/audit locks: SQLITE_BUSY */
	FLT_SQLITE_FULL,	/* registry/audit writes: SQLITE_FULL */
	FLT_SQLITE_IOERR,	/* registry/audit reads, writes, syncs: IOERR */
	FLT_NPOINTS
};

/* Folders whose files the I/O points apply to. */
enum flt_dir {
	FLT_DIR_NONE = -1,
	FLT_DIR_SRC = 0,
	FLT_DIR_STORE,
	FLT_DIR_STATE,
	FLT_NDIRS
};

#define FLT_ENV "SPOTFS_FAULT"
#define FLT_LOG_MAX 20 /* firings logged per point */

#ifdef SPOT_FAULT_INJECTION

/*
 * Parse spec (the SPOTFS_FAULT syntax) and arm its points, replacing any
 * earlier arming; counting starts now (or at flt_serving for from=serve).
 * 0, or -EINVAL with err naming the bad part.
 */
int flt_arm(const char *spec, struct spot_err *err);
/*
 * Arm from SPOTFS_FAULT (unset or empty: nothing) and, when a SQLite point
 * is armed, install the SQLite allocator and VFS shim. Call once, early in
 * the daemon, before it opens any SQLite database. 0 or -EINVAL / -EIO
 * with err set.
 */
int flt_setup(struct spot_err *err);
/* Register folder path (canonicalised) as the folder of kind d. */
void flt_set_dir(enum flt_dir d, const char *path);
/* The daemon serves requests now: from=serve points start counting. */
void flt_serving(void);
/* Whether point p fires on this call (counts the call). */
bool flt_fire(enum flt_point p);
/* Firings of p so far. */
uint64_t flt_fired(enum flt_point p);
/* Which registered folder path (absolute) lies in, or FLT_DIR_NONE. */
enum flt_dir flt_path_dir(const char *path);
/* The same for an open descriptor (through /proc/self/fd). */
enum flt_dir flt_fd_dir(int fd);
/* Disarm every point and forget the folders (tests). */
void flt_reset(void);
/* The point's name ("src_read_eio"), NULL when out of range. */
const char *flt_point_name(enum flt_point p);

#else /* !SPOT_FAULT_INJECTION */

static inline int flt_setup(struct spot_err *err)
{
	(void)err;
	return 0;
}

static inline void flt_set_dir(enum flt_dir d, const char *path)
{
	(void)d;
	(void)path;
}

static inline void flt_serving(void)
{
}

#endif /* SPOT_FAULT_INJECTION */

#endif /* SPOT_FAULT_H */

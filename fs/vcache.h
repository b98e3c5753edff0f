/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vcache.h - the view cache: each masked view is built once per sandbox
 * and key, then served from memory.
 *
 * A key is (dataset, sub, role): sub names a table or view inside a SQLite
 * dataset ("" otherwise) and role is the caller's role, or "" when the
 * dataset's masking does not depend on the role. Two callers whose roles
 * mask differently therefore never share built bytes; the daemon gives each
 * (path, role) its own inode, so they never share kernel page cache either.
 *
 * The first vc_get() of a key builds it through the build callback; callers
 * of the same key wait for that build. A failed build is remembered (views
 * are deterministic: building again would fail again) and reported to every
 * reader as EIO; except a build that failed with -ESTALE (its source
 * changed while it was read), which the next vc_get tries again.
 *
 * Locking: vc->lock protects the table and each view's state; a view's
 * content is immutable once its state is VC_READY, so readers need no lock.
 */
#ifndef SPOT_VCACHE_H
#define SPOT_VCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "pipe.h"
#include "spot.h"

/* What a build produces: exact size and random access. */
struct vc_content {
	uint64_t size;
	/* Copy up to len bytes at off into buf; bytes copied or -errno. */
	ssize_t (*read)(void *obj, void *buf, size_t len, uint64_t off);
	void (*free)(void *obj);
	void *obj;
	/*
	 * Whether the source the view reads later still is the one it was
	 * built from: 0, or -ESTALE (the cache then builds the key again for
	 * new opens). NULL for views that never read the source again.
	 * A failed build may set check, obj and free alone: the failure
	 * then stays only until check() says the source changed.
	 */
	int (*check)(void *obj);
	struct timespec src_mtime; /* mtime of the source built from, or 0 */
	const uint8_t *data; /* contiguous bytes when the view is a buffer */
	uint64_t rows_in;    /* rows read from the source */
	uint64_t rows_out;   /* rows served after the row filter */
};

/* Make content served from a malloc'd buffer (taken over; freed later). */
void vc_content_from_buf(struct vc_content *c, struct spot_buf *b);

enum vc_state {
	VC_BUILDING = 0,
	VC_READY,
	VC_FAILED,
};

struct vc_view {
	enum vc_state state;	   /* protected by vc->lock */
	uint64_t gen;		   /* build number of the key, from 1 */
	int err;		   /* VC_FAILED: -errno of the build */
	char msg[SPOT_ERR_MAX];	   /* VC_FAILED: why (no row values) */
	struct vc_content content; /* VC_READY: immutable */
	bool noted; /* VC_FAILED: put on record once (atomic; the daemon's) */
};

/*
 * Build callback: fill *out for (dataset, sub, role) or return -errno with
 * err set. Called without locks held, from the thread of the first vc_get.
 */
typedef int (*vc_build_fn)(void *arg, const char *dataset, const char *sub,
			   const char *role, struct vc_content *out,
			   struct spot_err *err);

struct vc;

/* 0 or -ENOMEM. */
int vc_new(vc_build_fn build, void *arg, struct vc **out);
/* Frees every view; no vc_get may be running. */
void vc_free(struct vc *c);

/*
 * The view for a key, built on first use. Always 0 with *out set, except
 * -ENOMEM; a failed build gives a view in state VC_FAILED. The view lives
 * until vc_free. A ready view whose check() says its source changed is
 * retired (handles holding it keep it, and its reads fail) and the key is
 * built again: *out is then a new view, with a new generation.
 */
int vc_get(struct vc *c, const char *dataset, const char *sub, const char *role,
	   struct vc_view **out);

/* Read from a ready view. Bytes or -EIO for a failed view. */
ssize_t vc_view_read(struct vc_view *v, void *buf, size_t len, uint64_t off);

/* For status: views built and their total size. */
void vc_stats(struct vc *c, size_t *views, uint64_t *bytes);

#endif /* SPOT_VCACHE_H */

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
 * of the same key wait for that build, callers of other keys do not (no
 * lock is held while a build runs, so builds of different keys run at once
 * in their callers' threads). vc_peek() never builds: it is for answers that
 * must not wait (a lookup).
 *
 * A failed build is reported to its waiters as EIO and then classified
 * (vc_err_transient): a transient failure (out of memory or file handles,
 * EAGAIN/EINTR/EBUSY, the source changed while it was read, no space for
 * a streamed view (ENOSPC/EDQUOT), or a first EIO,
 * which a failing disk and a codec's malformed data both give) is built
 * again by the next vc_get; a deterministic one (malformed data, a policy
 * error, a missing column, a second EIO in a row) stays failed until the
 * source's stamp (vc_set_stamp: device, inode, size, times) differs from
 * the one taken when the failed build started.
 *
 * Memory (vc_set_spill): views held in memory count against a budget.
 * When the total passes it, the cache's spill thread moves the least
 * recently read views, whole, into spill files (the daemon's: encrypted
 * files of the sandbox's store) and frees their memory; a spilled view
 * reads from its file. Spilling copies the view through its own read(), so
 * a view that reads its source (Parquet) is copied from the pinned source
 * and afterwards reads only its file. A spill that fails (disk full) leaves
 * the view in memory and is not tried again for that view.
 *
 * Every build is offered a sink (vc_build_fn) with a room: what the budget
 * has left beside the other builds running (0 when its source alone is
 * larger). A build that can streams its bytes into the sink's spill file
 * once they pass the room, so a view of any size, or one that masking
 * makes far longer than its source, is built in bounded memory. A build
 * reserves its source's size until it ends, and the spill thread makes
 * room for the reservations too.
 *
 * Locking: vc->lock protects the table, each view's state and the memory
 * accounting. A view's content is fixed once its state is VC_READY, except
 * that the spill thread swaps it for the spilled copy (same bytes, same
 * size) under the view's rwlock; every read takes that lock shared
 * (vc_view_read, vc_view_data_lock). Lock order: a view's rwlock, then
 * vc->lock.
 */
#ifndef SPOT_VCACHE_H
#define SPOT_VCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
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
	/* Bytes it holds in memory; 0 with data set means size. */
	uint64_t mem;
	uint64_t rows_in;  /* rows read from the source */
	uint64_t rows_out; /* rows served after the row filter */
	/* A DP release (sandbox.h): its identity, charged once per role;
	 * all zero for anything else. */
	uint8_t release[32];
};

/*
 * Make content served from a malloc'd buffer (taken over; freed later).
 * 0, or -ENOMEM with b freed and c empty: the build must then fail.
 */
int vc_content_from_buf(struct vc_content *c, struct spot_buf *b);

/* What identifies a source file's version; all zero when unknown. */
struct vc_stamp {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

/* Stamp of the source of (dataset, sub): 0 or -errno. */
typedef int (*vc_stamp_fn)(void *arg, const char *dataset, const char *sub,
			   struct vc_stamp *out);

enum vc_state {
	VC_BUILDING = 0,
	VC_READY,
	VC_FAILED,
};

struct vc_view {
	pthread_rwlock_t rw;	   /* content: shared to read, see above */
	enum vc_state state;	   /* protected by vc->lock */
	uint64_t gen;		   /* build number of the key, from 1 */
	int err;		   /* VC_FAILED: -errno of the build */
	char msg[SPOT_ERR_MAX];	   /* VC_FAILED: why (no row values) */
	struct vc_content content; /* VC_READY: immutable */
	bool noted; /* VC_FAILED: put on record once (atomic; the daemon's) */
};

/*
 * Where a build may stream the view's bytes instead of holding them: a
 * spill file of the store, offered (non-NULL) when the view would not fit
 * the memory budget beside the views being built. A build that uses it
 * appends the bytes in order with vc_sink_write and ends with
 * vc_sink_content; one that does not just returns its content.
 */
struct vc_sink;
struct vc;

/* Append len bytes (sink is a struct vc_sink *). 0 or -errno. */
int vc_sink_write(void *sink, const void *p, size_t len);
/*
 * Start the bytes again from the first (a build that must redo its
 * output): later writes overwrite the file from offset 0. 0 or -EINVAL.
 */
int vc_sink_rewind(void *sink);
/*
 * Random access (a database built in place): write all of p at off (the
 * size grows to cover it), read up to len bytes below the size, set the
 * size (a smaller size leaves the bytes beyond unread, never served), and
 * the size. Same errors as vc_sink_write.
 */
int vc_sink_pwrite(void *sink, const void *p, size_t len, uint64_t off);
ssize_t vc_sink_pread(void *sink, void *buf, size_t len, uint64_t off);
int vc_sink_truncate(void *sink, uint64_t size);
uint64_t vc_sink_size(void *sink);
/* Whether anything was written to s. */
bool vc_sink_used(const struct vc_sink *s);
/* Bytes the build may keep in memory before it streams (0: stream all). */
uint64_t vc_sink_room(const struct vc_sink *s);
/*
 * Append tail (emptied) and make *c the view of every byte written: read
 * from the spill file, nothing in memory. The sink then belongs to *c.
 * 0 or -errno (c empty: the build must fail).
 */
int vc_sink_content(struct vc_sink *s, struct spot_buf *tail,
		    struct vc_content *c);
/*
 * A scratch file for what a build needs beside its view (a staging
 * database): a sink of the same store, encrypted, never a view; random
 * access with vc_sink_pwrite and the others. vc_scratch_free deletes its
 * file. NULL when out of memory.
 */
struct vc_sink *vc_scratch_new(struct vc *c);
void vc_scratch_free(struct vc_sink *s);

/*
 * Build callback: fill *out for (dataset, sub, role) or return -errno with
 * err set. Called without locks held, from the thread of the first vc_get.
 * sink is NULL or a sink for the view (above).
 */
typedef int (*vc_build_fn)(void *arg, const char *dataset, const char *sub,
			   const char *role, struct vc_sink *sink,
			   struct vc_content *out, struct spot_err *err);

/* 0 or -ENOMEM. */
int vc_new(vc_build_fn build, void *arg, struct vc **out);
/* Frees every view; no vc_get may be running. */
void vc_free(struct vc *c);
/* Set before the first vc_get; called with arg of vc_new. */
void vc_set_stamp(struct vc *c, vc_stamp_fn fn);

/*
 * Whether a build that failed with err (-errno), the fails-th failure in a
 * row of its key, is tried again at the next vc_get whatever the source.
 */
bool vc_err_transient(int err, unsigned fails);
/*
 * A key that failed with EIO twice in a row (a failing disk, or data the
 * codec refuses) is built again once the source changes, or when it is
 * opened after a wait: first_ms (30 s by default) after the last failure,
 * doubled at each failure after that, at most 10 minutes. So a disk that
 * recovers needs no touch and no remount, and a malformed file is not
 * parsed again at every open.
 */
void vc_set_eio_wait(struct vc *c, int64_t first_ms);
int64_t vc_eio_wait_ms(const struct vc *c, unsigned fails);

/*
 * The view for a key, built on first use. Always 0 with *out set, except
 * -ENOMEM; a failed build gives a view in state VC_FAILED. The caller holds
 * *out until vc_put. A ready view whose check() says its source changed
 * (or a failed one built again) is retired: never given out again, kept
 * while holders have it (their reads fail once its source changed), freed
 * (memory and spill file) at the last vc_put; the key is built again and
 * *out is then a new view, with a new generation. Views not retired live
 * until vc_free, held or not.
 */
int vc_get(struct vc *c, const char *dataset, const char *sub, const char *role,
	   struct vc_view **out);

/* The ready, current view of a key, held until vc_put, or NULL (building,
 * failed, none): never builds or waits for a build. */
struct vc_view *vc_peek(struct vc *c, const char *dataset, const char *sub,
			const char *role);

/* Who waits for a view (status shows callers waiting on a build). */
struct vc_caller {
	uint32_t uid;
	int32_t pid;
};

/* Let go of a view from vc_get, vc_get_by or vc_peek (NULL: no-op). */
void vc_put(struct vc_view *v);

/* vc_get, recording who waits while the view builds (who may be NULL). */
int vc_get_by(struct vc *c, const char *dataset, const char *sub,
	      const char *role, const struct vc_caller *who,
	      struct vc_view **out);

/* Read from a ready view. Bytes or -EIO for a failed view. */
ssize_t vc_view_read(struct vc_view *v, void *buf, size_t len, uint64_t off);

/*
 * When the ready view v is held in one buffer: true with *data and *size
 * set and the view locked against spilling until vc_view_data_unlock(v),
 * so the caller may send from the buffer without a copy. False (nothing
 * locked) otherwise: use vc_view_read.
 */
bool vc_view_data_lock(struct vc_view *v, const uint8_t **data, uint64_t *size);
void vc_view_data_unlock(struct vc_view *v);

/* For status: views built and their total size. */
void vc_stats(struct vc *c, size_t *views, uint64_t *bytes);

/* ---- memory budget and spill ---- */

/* Spill files, given by the owner (the daemon: seal files of its store). */
struct vc_spill_ops {
	/* A new empty file: 0 or -errno. */
	int (*create)(void *arg, void **file);
	/* Bytes written or -errno (a short write is an error). */
	ssize_t (*pwrite)(void *file, const void *buf, size_t len,
			  uint64_t off);
	/* Bytes read or -errno. */
	ssize_t (*pread)(void *file, void *buf, size_t len, uint64_t off);
	void (*destroy)(void *file);
};

/*
 * Keep views in memory up to budget bytes and spill the rest through ops
 * (copied). Call once, before the first vc_get; starts the spill thread.
 * 0 or -errno.
 */
int vc_set_spill(struct vc *c, uint64_t budget, const struct vc_spill_ops *ops,
		 void *arg);
/*
 * The sandbox is ending: builds streaming into a sink stop at their next
 * write (-ECANCELED) and no view is spilled any more. Reads still work.
 */
void vc_shutdown(struct vc *c);
/* Bytes of views held in memory now, and the budget (UINT64_MAX: none). */
uint64_t vc_mem(struct vc *c, uint64_t *budget);
/* Wait until views in memory fit the budget or no spill is possible (for
 * tests). */
void vc_spill_settle(struct vc *c);

/* ---- status ---- */

#define VC_WAITERS_SHOWN 8

/* One view as status shows it (pointers valid during the callback). */
struct vc_info {
	const char *dataset, *sub, *role;
	enum vc_state state;
	bool retired;	   /* replaced (source changed): held by open files */
	bool spilled;	   /* served from its spill file */
	bool spill_failed; /* kept in memory: the spill failed */
	uint64_t gen;
	uint64_t size, mem;
	uint64_t src_size;		/* source size when the build began */
	uint64_t bytes_done, rows_done; /* VC_BUILDING: progress so far */
	uint64_t rows_in, rows_out;	/* VC_READY */
	int64_t started_ms;		/* monotonic ms when the build began */
	int64_t built_ms;		/* how long it took (ready/failed) */
	const char *msg;		/* VC_FAILED: why */
	size_t nwaiters;		/* callers waiting now */
	struct vc_caller waiters[VC_WAITERS_SHOWN];
	int64_t wait_since_ms[VC_WAITERS_SHOWN]; /* monotonic ms */
};

/* Call fn for every view, newest first, under the cache's lock (fn must
 * not call into the cache). */
void vc_foreach(struct vc *c, void (*fn)(void *arg, const struct vc_info *),
		void *arg);
/* Monotonic milliseconds, the clock of vc_info. */
int64_t vc_now_ms(void);

#endif /* SPOT_VCACHE_H */

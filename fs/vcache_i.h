/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vcache_i.h - the view cache's internals, shared by vcache.c (the table,
 * builds, reads, status) and vcache_spill.c (memory budget, spill files,
 * streaming sinks). fs/vcache*.c only.
 */
#ifndef SPOT_VCACHE_I_H
#define SPOT_VCACHE_I_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vcache.h"

/* Spilling copies views in pieces of this size. */
#define VC_SPILL_CHUNK (1u << 20)

/* A caller waiting in vc_get_by (on its stack), listed on the entry. */
struct vc_wait {
	struct vc_wait *next;
	struct vc_caller who;
	int64_t since_ms;
};

struct vc_entry {
	struct vc_entry *next;
	bool retired;  /* source changed or failure retried: for holders only */
	unsigned refs; /* holders (vc_get, vc_peek, waiters); vc->lock */
	bool spilling; /* the spill thread is copying it; vc->lock */
	bool spilled;  /* content reads its spill file; vc->lock */
	bool spill_failed; /* do not try again; vc->lock */
	uint64_t mem;	   /* bytes counted against the budget; vc->lock */
	uint64_t reserve;  /* building in memory: its source's size */
	uint64_t last_use; /* vc->clock at its last read (atomic) */
	int64_t started_ms, built_ms;
	struct spot_progress progress; /* while building (atomics) */
	struct vc_wait *waits;	       /* vc->lock */
	struct vc *cache;
	char *key; /* dataset \0 sub \0 role \0 */
	size_t key_len;
	unsigned fails;	       /* failed builds of the key in a row */
	struct vc_stamp stamp; /* of the source when the build started */
	struct vc_view view;
};

struct vc {
	vc_build_fn build;
	void *arg;
	vc_stamp_fn stamp;   /* or NULL: failures never see a source change */
	int64_t eio_wait_ms; /* vc_eio_wait_ms: the first wait after two EIOs */
	pthread_mutex_t lock;
	pthread_cond_t built;  /* broadcast when any build finishes */
	struct vc_entry *head; /* protected by lock */
	uint64_t clock;	       /* reads so far, for LRU (atomic) */
	/* Memory budget and spill (vc_set_spill); under lock. */
	uint64_t budget;   /* 0: no budget */
	uint64_t mem;	   /* bytes of views in memory */
	uint64_t reserved; /* by builds running in memory */
	const struct vc_spill_ops *spill;
	void *spill_arg;
	bool spill_stop, spill_busy, spill_started;
	pthread_cond_t spill_cv;   /* wakes the spill thread */
	pthread_cond_t settled_cv; /* broadcast when it goes idle */
	pthread_t spill_thread;
};

struct vc_spill_obj {
	const struct vc_spill_ops *ops;
	void *file;
};

struct vc_sink {
	struct vc *c;
	void *file;    /* made by the first write; NULL once taken */
	bool taken;    /* vc_sink_content took the file */
	uint64_t size; /* bytes written */
	uint64_t room; /* bytes the build may keep in memory first */
};

/*
 * Under c->lock: unlink e from the table when it is retired and nothing
 * holds or spills it any more. Returns e (free it with vc_entry_free
 * after dropping the lock) or NULL.
 */
struct vc_entry *vc_unhook(struct vc *c, struct vc_entry *e);
/* Free an entry no longer in the table (NULL: no-op); without c->lock. */
void vc_entry_free(struct vc_entry *e);

/* Bytes a content holds in memory (see vc_content.mem). */
uint64_t vc_content_mem(const struct vc_content *c);
/* Under c->lock: wake the spill thread when memory is over budget. */
void vc_over_budget(struct vc *c);
/* A sink whose spill file is made at the first write, for a build that
 * may keep room bytes in memory first; NULL (no memory): none. */
struct vc_sink *vc_sink_new(struct vc *c, uint64_t room);
/* Free k, and its file unless a content took it. NULL is a no-op. */
void vc_sink_free(struct vc_sink *k);
/* Whether c reads a spill file (streamed or spilled). */
bool vc_content_spilled(const struct vc_content *c);

#endif /* SPOT_VCACHE_I_H */

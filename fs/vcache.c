/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vcache.c - build-once cache of masked views.
 */
#include "vcache.h"
#include "vcache_i.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Buffers from this size on are excluded from core dumps. */
#define VC_NODUMP_MIN (128u * 1024)

int64_t vc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ssize_t vc_buf_read(void *obj, void *buf, size_t len, uint64_t off)
{
	struct spot_buf *b = obj;

	if (off >= b->len)
		return 0;
	if (len > b->len - off)
		len = b->len - off;
	memcpy(buf, b->p + off, len);
	return (ssize_t)len;
}

static void vc_buf_free(void *obj)
{
	struct spot_buf *b = obj;

	spot_buf_fini(b);
	free(b);
}

/*
 * Keep a view buffer out of core dumps (the daemon also disables them, this
 * covers a dump taken anyway, e.g. by a debugger): the whole pages inside
 * it. Large buffers are their own mappings, small ones are not worth a VMA.
 */
static void vc_no_dump(void *p, size_t len)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)p + pg - 1) & ~(pg - 1);
	uintptr_t hi = ((uintptr_t)p + len) & ~(pg - 1);

	if (p && len >= VC_NODUMP_MIN && hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTDUMP);
}

int vc_content_from_buf(struct vc_content *c, struct spot_buf *b)
{
	struct spot_buf *own = malloc(sizeof(*own));

	memset(c, 0, sizeof(*c));
	if (!own) {
		/* A failed (transient) build, never a view without read(). */
		spot_buf_fini(b);
		return -ENOMEM;
	}
	*own = *b;
	spot_buf_init(b);
	c->size = own->len;
	c->data = own->p;
	vc_no_dump(own->p, own->cap);
	c->read = vc_buf_read;
	c->free = vc_buf_free;
	c->obj = own;
	return 0;
}

bool vc_err_transient(int err, unsigned fails)
{
	switch (-err) {
	case ENOMEM:
	case ENOBUFS:
	case EAGAIN:
	case EINTR:
	case EBUSY:
	case EMFILE:
	case ENFILE:
	case ESTALE: /* the source changed during the build */
	case ENOSPC: /* the store's disk, while streaming a view */
	case EDQUOT:
	case ECANCELED: /* the sandbox was ending */
		return true;
	case EIO:
		/* A failing disk or a codec's malformed data: try once more. */
		return fails < 2;
	default:
		return false; /* malformed data, policy, missing column, ... */
	}
}

void vc_set_stamp(struct vc *c, vc_stamp_fn fn)
{
	c->stamp = fn;
}

#define VC_EIO_WAIT_MS (30 * 1000)
#define VC_EIO_WAIT_MAX_MS (10 * 60 * 1000)

void vc_set_eio_wait(struct vc *c, int64_t first_ms)
{
	c->eio_wait_ms = first_ms;
}

int64_t vc_eio_wait_ms(const struct vc *c, unsigned fails)
{
	int64_t ms = c->eio_wait_ms, max = VC_EIO_WAIT_MAX_MS;

	if (max < ms)
		max = ms;
	for (unsigned i = 2; i < fails && ms < max; i++)
		ms *= 2;
	return ms < max ? ms : max;
}

int vc_new(vc_build_fn build, void *arg, struct vc **out)
{
	struct vc *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->build = build;
	c->arg = arg;
	c->eio_wait_ms = VC_EIO_WAIT_MS;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->built, NULL);
	pthread_cond_init(&c->spill_cv, NULL);
	pthread_cond_init(&c->settled_cv, NULL);
	*out = c;
	return 0;
}

void vc_entry_free(struct vc_entry *e)
{
	if (!e)
		return;
	if (e->view.content.free) /* a failed build's check too */
		e->view.content.free(e->view.content.obj);
	pthread_rwlock_destroy(&e->view.rw);
	free(e->key);
	free(e);
}

struct vc_entry *vc_unhook(struct vc *c, struct vc_entry *e)
{
	if (!e->retired || e->refs || e->spilling)
		return NULL;
	for (struct vc_entry **p = &c->head; *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			e->next = NULL;
			c->mem -= e->mem;
			e->mem = 0;
			return e;
		}
	return NULL;
}

void vc_put(struct vc_view *v)
{
	struct vc_entry *e, *dead;
	struct vc *c;

	if (!v)
		return;
	e = (struct vc_entry *)(void *)((char *)v -
					offsetof(struct vc_entry, view));
	c = e->cache;
	pthread_mutex_lock(&c->lock);
	e->refs--;
	dead = vc_unhook(c, e);
	pthread_mutex_unlock(&c->lock);
	vc_entry_free(dead);
}

void vc_free(struct vc *c)
{
	struct vc_entry *e, *next;

	if (!c)
		return;
	if (c->spill_started) {
		pthread_mutex_lock(&c->lock);
		c->spill_stop = true;
		pthread_cond_broadcast(&c->spill_cv);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->spill_thread, NULL);
	}
	for (e = c->head; e; e = next) {
		next = e->next;
		vc_entry_free(e);
	}
	pthread_cond_destroy(&c->spill_cv);
	pthread_cond_destroy(&c->settled_cv);
	pthread_cond_destroy(&c->built);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static char *vc_key(const char *dataset, const char *sub, const char *role,
		    size_t *len)
{
	size_t a = strlen(dataset) + 1, b = strlen(sub) + 1,
	       r = strlen(role) + 1;
	char *k = malloc(a + b + r);

	if (!k)
		return NULL;
	memcpy(k, dataset, a);
	memcpy(k + a, sub, b);
	memcpy(k + a + b, role, r);
	*len = a + b + r;
	return k;
}

static void vc_build_one(struct vc *c, struct vc_entry *e, const char *dataset,
			 const char *sub, const char *role,
			 struct vc_sink *sink)
{
	struct spot_progress *outer = spot_progress_cur;
	char psub[256];
	struct vc_content content;
	struct spot_err err = { "" };
	int rc;

	memset(&content, 0, sizeof(content));
	spot_printable(sub, psub, sizeof(psub)); /* a table name: data */
	spot_log(SPOT_LOG_INFO,
		 "view %s%s%s%s%s: build %" PRIu64 " started (source %" PRIu64
		 " bytes)",
		 dataset, psub[0] ? " " : "", psub, role[0] ? " role " : "",
		 role, e->view.gen, e->stamp.size);
	e->progress.stop = &c->spill_stop; /* vc_shutdown stops the build */
	spot_progress_cur = &e->progress;
	rc = c->build(c->arg, dataset, sub, role, sink, &content, &err);
	spot_progress_cur = outer;
	vc_sink_free(sink);
	if (!rc && (!content.read || (content.free && !content.obj))) {
		/* Never a view without callbacks (a build that lost an
		 * allocation but said 0): fail it, transiently. */
		if (content.free)
			content.free(content.obj);
		spot_err_set(&err, "%s: out of memory", dataset);
		rc = -ENOMEM;
	}
	pthread_mutex_lock(&c->lock);
	e->built_ms = vc_now_ms() - e->started_ms;
	c->reserved -= e->reserve;
	e->reserve = 0;
	if (rc) {
		e->view.err = rc > 0 ? -EIO : rc;
		memcpy(e->view.msg, err.msg, sizeof(e->view.msg));
		e->view.state = VC_FAILED;
		e->fails++;
		/* Classified now, for the log; vc_get decides again later. */
		char pmsg[SPOT_ERR_MAX];

		spot_printable(e->view.msg, pmsg, sizeof(pmsg));
		if (vc_err_transient(e->view.err, e->fails))
			spot_log(SPOT_LOG_WARN,
				 "view build failed (transient: tried again "
				 "at the next open): %s",
				 pmsg);
		else if (e->view.err == -EIO)
			spot_log(SPOT_LOG_WARN,
				 "view build failed (kept until the source "
				 "changes, or opened after %llds): %s",
				 (long long)vc_eio_wait_ms(c, e->fails) / 1000,
				 pmsg);
		else
			spot_log(SPOT_LOG_WARN,
				 "view build failed (kept until the source "
				 "changes): %s",
				 pmsg);
	} else {
		double sec = (double)e->built_ms / 1e3;

		spot_log(SPOT_LOG_INFO,
			 "view %s%s%s%s%s: built %" PRIu64 " bytes, %" PRIu64
			 " rows in %.2f s (%.2f MB/s of source)%s",
			 dataset, psub[0] ? " " : "", psub,
			 role[0] ? " role " : "", role, content.size,
			 content.rows_out, sec,
			 sec > 0 ? (double)e->stamp.size / 1e6 / sec : 0.0,
			 vc_content_spilled(&content)
				 ? ", streamed to the store"
				 : "");
		e->view.content = content;
		e->view.state = VC_READY;
		/* Streamed to a spill file: built spilled. */
		e->spilled = vc_content_spilled(&content);
		e->mem = vc_content_mem(&content);
		c->mem += e->mem;
		__atomic_store_n(
			&e->last_use,
			__atomic_add_fetch(&c->clock, 1, __ATOMIC_RELAXED),
			__ATOMIC_RELAXED);
		vc_over_budget(c);
	}
	pthread_cond_broadcast(&c->built);
	pthread_mutex_unlock(&c->lock);
}

static struct vc_entry *vc_find(struct vc *c, const char *key, size_t klen)
{
	struct vc_entry *e;

	for (e = c->head; e; e = e->next)
		if (!e->retired && e->key_len == klen &&
		    memcmp(e->key, key, klen) == 0)
			return e;
	return NULL;
}

static void vc_stamp_of(struct vc *c, const char *dataset, const char *sub,
			struct vc_stamp *st)
{
	memset(st, 0, sizeof(*st));
	if (c->stamp && c->stamp(c->arg, dataset, sub, st))
		memset(st, 0, sizeof(*st)); /* unknown: missing, say */
}

/*
 * Whether a failed build of e is built again: its error was transient, an
 * EIO has waited its time (vc_set_eio_wait), or the source is not the one
 * it failed on (changed or fixed since).
 */
static bool vc_fail_retry(struct vc *c, const struct vc_entry *e,
			  const char *dataset, const char *sub)
{
	struct vc_stamp now;

	if (vc_err_transient(e->view.err, e->fails))
		return true;
	if (e->view.err == -EIO &&
	    vc_now_ms() - (e->started_ms + e->built_ms) >=
		    vc_eio_wait_ms(c, e->fails))
		return true; /* the disk may have recovered */
	if (!c->stamp)
		return false;
	vc_stamp_of(c, dataset, sub, &now);
	return memcmp(&now, &e->stamp, sizeof(now)) != 0;
}

static void vc_wait_add(struct vc_entry *e, struct vc_wait *w,
			const struct vc_caller *who)
{
	if (!who)
		return;
	w->who = *who;
	w->since_ms = vc_now_ms();
	w->next = e->waits;
	e->waits = w;
}

static void vc_wait_del(struct vc_entry *e, struct vc_wait *w)
{
	for (struct vc_wait **p = &e->waits; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			return;
		}
}

/* Free a list of unhooked entries (linked by next); without c->lock. */
static void vc_dead_free(struct vc_entry *dead)
{
	for (struct vc_entry *next; dead; dead = next) {
		next = dead->next;
		vc_entry_free(dead);
	}
}

static struct vc_entry *vc_entry_new(struct vc *c, char *key, size_t klen)
{
	struct vc_entry *e = calloc(1, sizeof(*e));
	pthread_rwlockattr_t a;

	if (!e)
		return NULL;
	/* Readers never starve the spill thread's swap. */
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(
		&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	if (pthread_rwlock_init(&e->view.rw, &a)) {
		pthread_rwlockattr_destroy(&a);
		free(e);
		return NULL;
	}
	pthread_rwlockattr_destroy(&a);
	e->cache = c;
	e->key = key;
	e->key_len = klen;
	return e;
}

int vc_get_by(struct vc *c, const char *dataset, const char *sub,
	      const char *role, const struct vc_caller *who,
	      struct vc_view **out)
{
	struct vc_stamp st;
	uint64_t room;
	struct vc_wait w;
	struct vc_entry *e, *dead = NULL, *x;
	uint64_t gen = 0;
	unsigned fails = 0;
	size_t klen;
	char *key = vc_key(dataset, sub, role, &klen);

	if (!key)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
again:
	e = vc_find(c, key, klen);
	if (e) {
		bool retire = false;

		e->refs++; /* held across the wait, and given to the caller */
		if (e->view.state == VC_BUILDING) {
			vc_wait_add(e, &w, who);
			while (e->view.state == VC_BUILDING)
				pthread_cond_wait(&c->built, &c->lock);
			if (who)
				vc_wait_del(e, &w);
		}
		if (e->retired) {
			/* another thread found it stale, and builds anew */
		} else if (e->view.content.check &&
			   e->view.content.check(e->view.content.obj)) {
			retire = true; /* never serve it to a new open */
		} else if (e->view.state == VC_FAILED &&
			   vc_fail_retry(c, e, dataset, sub)) {
			retire = true; /* its waiters have had their EIO */
			fails = e->fails;
		} else {
			free(key);
			pthread_mutex_unlock(&c->lock);
			vc_dead_free(dead); /* let go of on the way here */
			*out = &e->view;
			return 0;
		}
		if (retire) {
			gen = e->view.gen;
			e->retired = true;
		}
		/* Freed now if no open file holds it. */
		e->refs--;
		if ((x = vc_unhook(c, e))) {
			x->next = dead;
			dead = x;
		}
		if (!retire)
			goto again;
	}
	e = vc_entry_new(c, key, klen);
	if (!e) {
		pthread_mutex_unlock(&c->lock);
		free(key);
		vc_dead_free(dead);
		return -ENOMEM;
	}
	e->refs = 1; /* the caller's */
	e->fails = fails;
	e->view.gen = gen + 1;
	e->view.state = VC_BUILDING;
	e->started_ms = vc_now_ms();
	e->next = c->head;
	c->head = e;
	vc_wait_add(e, &w, who);
	pthread_mutex_unlock(&c->lock);
	vc_dead_free(dead);
	/* Stamped before reading: a change during the build shows later. */
	vc_stamp_of(c, dataset, sub, &st);
	pthread_mutex_lock(&c->lock);
	e->stamp = st; /* status reads it */
	/* Room in memory beside the builds running, or straight to disk. */
	room = 0;
	if (c->spill_started && c->reserved + st.size <= c->budget) {
		room = c->budget - c->reserved;
		e->reserve = st.size;
		c->reserved += st.size;
		vc_over_budget(c);
	}
	pthread_mutex_unlock(&c->lock);
	vc_build_one(c, e, dataset, sub, role,
		     c->spill_started ? vc_sink_new(c, room) : NULL);
	if (who) {
		pthread_mutex_lock(&c->lock);
		vc_wait_del(e, &w);
		pthread_mutex_unlock(&c->lock);
	}
	*out = &e->view;
	return 0;
}

int vc_get(struct vc *c, const char *dataset, const char *sub, const char *role,
	   struct vc_view **out)
{
	return vc_get_by(c, dataset, sub, role, NULL, out);
}

struct vc_view *vc_peek(struct vc *c, const char *dataset, const char *sub,
			const char *role)
{
	struct vc_view *v = NULL;
	struct vc_entry *e;
	size_t klen;
	char *key = vc_key(dataset, sub, role, &klen);

	if (!key)
		return NULL;
	pthread_mutex_lock(&c->lock);
	e = vc_find(c, key, klen);
	if (e && e->view.state == VC_READY &&
	    !(e->view.content.check &&
	      e->view.content.check(e->view.content.obj))) {
		e->refs++; /* the caller's: vc_put */
		v = &e->view;
	}
	pthread_mutex_unlock(&c->lock);
	free(key);
	return v;
}

static struct vc_entry *vc_entry_of(struct vc_view *v)
{
	return (struct vc_entry *)(void *)((char *)v -
					   offsetof(struct vc_entry, view));
}

static void vc_touch(struct vc_view *v)
{
	struct vc_entry *e = vc_entry_of(v);

	__atomic_store_n(
		&e->last_use,
		__atomic_add_fetch(&e->cache->clock, 1, __ATOMIC_RELAXED),
		__ATOMIC_RELAXED);
}

ssize_t vc_view_read(struct vc_view *v, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	if (v->state != VC_READY)
		return -EIO;
	if (off >= v->content.size)
		return 0;
	if (len > v->content.size - off)
		len = (size_t)(v->content.size - off);
	vc_touch(v);
	pthread_rwlock_rdlock(&v->rw);
	n = v->content.read(v->content.obj, buf, len, off);
	pthread_rwlock_unlock(&v->rw);
	return n;
}

bool vc_view_data_lock(struct vc_view *v, const uint8_t **data, uint64_t *size)
{
	if (v->state != VC_READY)
		return false;
	pthread_rwlock_rdlock(&v->rw);
	if (!v->content.data) {
		pthread_rwlock_unlock(&v->rw);
		return false;
	}
	vc_touch(v);
	*data = v->content.data;
	*size = v->content.size;
	return true;
}

void vc_view_data_unlock(struct vc_view *v)
{
	pthread_rwlock_unlock(&v->rw);
}

void vc_stats(struct vc *c, size_t *views, uint64_t *bytes)
{
	size_t n = 0;
	uint64_t total = 0;

	pthread_mutex_lock(&c->lock);
	for (struct vc_entry *e = c->head; e; e = e->next) {
		if (e->view.state != VC_READY || e->retired)
			continue;
		n++;
		total += e->view.content.size;
	}
	pthread_mutex_unlock(&c->lock);
	*views = n;
	*bytes = total;
}

void vc_foreach(struct vc *c, void (*fn)(void *arg, const struct vc_info *),
		void *arg)
{
	struct vc_info in;

	pthread_mutex_lock(&c->lock);
	for (struct vc_entry *e = c->head; e; e = e->next) {
		size_t a = strlen(e->key) + 1, b = strlen(e->key + a) + 1;

		memset(&in, 0, sizeof(in));
		in.dataset = e->key;
		in.sub = e->key + a;
		in.role = e->key + a + b;
		in.state = e->view.state;
		in.retired = e->retired;
		in.spilled = e->spilled;
		in.spill_failed = e->spill_failed;
		in.gen = e->view.gen;
		in.mem = e->mem;
		in.src_size = e->stamp.size;
		in.started_ms = e->started_ms;
		in.built_ms = e->built_ms;
		in.bytes_done =
			__atomic_load_n(&e->progress.bytes, __ATOMIC_RELAXED);
		in.rows_done =
			__atomic_load_n(&e->progress.rows, __ATOMIC_RELAXED);
		if (e->view.state == VC_READY) {
			in.size = e->view.content.size;
			in.rows_in = e->view.content.rows_in;
			in.rows_out = e->view.content.rows_out;
		} else if (e->view.state == VC_FAILED) {
			in.msg = e->view.msg;
		}
		for (struct vc_wait *w = e->waits; w; w = w->next) {
			if (in.nwaiters < VC_WAITERS_SHOWN) {
				in.waiters[in.nwaiters] = w->who;
				in.wait_since_ms[in.nwaiters] = w->since_ms;
			}
			in.nwaiters++;
		}
		fn(arg, &in);
	}
	pthread_mutex_unlock(&c->lock);
}

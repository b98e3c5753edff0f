/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vcache_spill.c - the view cache's memory budget: the spill thread that
 * moves least recently read views into spill files, and the sinks that
 * stream a large view into one while it is built.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "vcache_i.h"

static ssize_t vc_spill_read(void *obj, void *buf, size_t len, uint64_t off);
static void vc_spill_free(void *obj);

uint64_t vc_content_mem(const struct vc_content *c)
{
	return c->mem ? c->mem : c->data ? c->size : 0;
}

void vc_over_budget(struct vc *c)
{
	if (c->spill_started && c->mem + c->reserved > c->budget)
		pthread_cond_signal(&c->spill_cv);
}

struct vc_sink *vc_sink_new(struct vc *c, uint64_t room)
{
	struct vc_sink *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL; /* built in memory, then spilled if it can be */
	k->c = c;
	k->room = room;
	return k;
}

struct vc_sink *vc_scratch_new(struct vc *c)
{
	return vc_sink_new(c, 0);
}

void vc_scratch_free(struct vc_sink *s)
{
	vc_sink_free(s);
}

void vc_sink_free(struct vc_sink *k)
{
	if (!k)
		return;
	if (k->file)
		k->c->spill->destroy(k->file);
	free(k);
}

/*
 * Write all of p at off. A short write is retried for the rest, so the
 * store's real error (ENOSPC: transient) is what the caller sees.
 */
static int vc_spill_put(const struct vc_spill_ops *ops, void *file,
			const void *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = ops->pwrite(file, p, n, off);

		if (w < 0)
			return (int)w;
		if (w == 0)
			return -EIO;
		p = (const uint8_t *)p + w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int vc_sink_write(void *sink, const void *p, size_t len)
{
	struct vc_sink *k = sink;
	int rc;

	if (k->taken)
		return -EINVAL;
	if (!len)
		return 0;
	if (__atomic_load_n(&k->c->spill_stop, __ATOMIC_RELAXED))
		return -ECANCELED; /* the sandbox is ending */
	if (!k->file) {		   /* the file is made by the first write */
		rc = k->c->spill->create(k->c->spill_arg, &k->file);
		if (rc)
			return rc;
	}
	rc = vc_spill_put(k->c->spill, k->file, p, len, k->size);
	if (!rc)
		k->size += len;
	return rc;
}

int vc_sink_pwrite(void *sink, const void *p, size_t len, uint64_t off)
{
	struct vc_sink *k = sink;
	int rc;

	if (k->taken)
		return -EINVAL;
	if (!len)
		return 0;
	if (__atomic_load_n(&k->c->spill_stop, __ATOMIC_RELAXED))
		return -ECANCELED;
	if (!k->file) {
		rc = k->c->spill->create(k->c->spill_arg, &k->file);
		if (rc)
			return rc;
	}
	rc = vc_spill_put(k->c->spill, k->file, p, len, off);
	if (!rc && off + len > k->size)
		k->size = off + len;
	return rc;
}

ssize_t vc_sink_pread(void *sink, void *buf, size_t len, uint64_t off)
{
	struct vc_sink *k = sink;

	if (k->taken)
		return -EINVAL;
	if (!k->file || off >= k->size)
		return 0;
	if (len > k->size - off)
		len = (size_t)(k->size - off);
	return k->c->spill->pread(k->file, buf, len, off);
}

int vc_sink_truncate(void *sink, uint64_t size)
{
	struct vc_sink *k = sink;

	if (k->taken)
		return -EINVAL;
	k->size = size;
	return 0;
}

uint64_t vc_sink_size(void *sink)
{
	return ((struct vc_sink *)sink)->size;
}

int vc_sink_rewind(void *sink)
{
	struct vc_sink *k = sink;

	if (k->taken)
		return -EINVAL;
	k->size = 0;
	return 0;
}

bool vc_sink_used(const struct vc_sink *s)
{
	return s && s->file;
}

uint64_t vc_sink_room(const struct vc_sink *s)
{
	return s ? s->room : 0;
}

int vc_sink_content(struct vc_sink *s, struct spot_buf *tail,
		    struct vc_content *c)
{
	struct vc_spill_obj *o;
	int rc = vc_sink_write(s, tail->p, tail->len);

	spot_buf_fini(tail);
	memset(c, 0, sizeof(*c));
	if (rc)
		return rc;
	o = malloc(sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->ops = s->c->spill;
	o->file = s->file;
	s->file = NULL;
	s->taken = true;
	c->size = s->size;
	c->read = vc_spill_read;
	c->free = vc_spill_free;
	c->obj = o;
	return 0;
}

/* ---- memory budget and spill ---- */

/*
 * All of [off, off + len) or an error: never a short count, which the
 * kernel would take for the end of the file (a failed block must read as
 * EIO, not as a silently truncated view).
 */
static ssize_t vc_spill_read(void *obj, void *buf, size_t len, uint64_t off)
{
	struct vc_spill_obj *o = obj;
	size_t got = 0;

	while (got < len) {
		ssize_t n = o->ops->pread(o->file, (char *)buf + got, len - got,
					  off + got);

		if (n < 0)
			return n;
		if (n == 0) /* the file is shorter than the view: fail */
			return -EIO;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static void vc_spill_free(void *obj)
{
	struct vc_spill_obj *o = obj;

	o->ops->destroy(o->file);
	free(o);
}

/* Under c->lock: the least recently read view that may be spilled. */
static struct vc_entry *vc_spill_pick(struct vc *c)
{
	struct vc_entry *best = NULL;
	uint64_t best_use = UINT64_MAX;

	for (struct vc_entry *e = c->head; e; e = e->next) {
		uint64_t use;

		if (e->view.state != VC_READY || !e->mem || e->spilling ||
		    e->spilled || e->spill_failed)
			continue;
		use = __atomic_load_n(&e->last_use, __ATOMIC_RELAXED);
		if (!best || use < best_use) {
			best = e;
			best_use = use;
		}
	}
	return best;
}

/*
 * Copy e's content into file. The content does not change meanwhile: only
 * this thread swaps contents, and e->spilling keeps e from being freed.
 */
static int vc_spill_copy(struct vc *c, struct vc_entry *e, void *file)
{
	const struct vc_content *ct = &e->view.content;
	uint8_t *buf = NULL;
	uint64_t off = 0;
	int rc = 0;

	if (!ct->data && !(buf = malloc(VC_SPILL_CHUNK)))
		return -ENOMEM;
	while (!rc && off < ct->size) {
		size_t n = ct->size - off < VC_SPILL_CHUNK
				   ? (size_t)(ct->size - off)
				   : VC_SPILL_CHUNK;
		ssize_t got = (ssize_t)n;

		if (__atomic_load_n(&c->spill_stop, __ATOMIC_RELAXED)) {
			rc = -ECANCELED;
			break;
		}
		if (buf)
			got = ct->read(ct->obj, buf, n, off);
		if (got <= 0)
			rc = got ? (int)got : -EIO;
		else
			rc = vc_spill_put(c->spill, file,
					  buf ? buf : ct->data + off,
					  (size_t)got, off);
		off += got > 0 ? (uint64_t)got : 0;
	}
	free(buf);
	return rc;
}

/* Spill e (marked spilling); called and returns without c->lock. */
static void vc_spill_one(struct vc *c, struct vc_entry *e)
{
	struct vc_spill_obj *o = malloc(sizeof(*o));
	struct vc_content old;
	void *file = NULL;
	int rc = o ? c->spill->create(c->spill_arg, &file) : -ENOMEM;

	if (!rc)
		rc = vc_spill_copy(c, e, file);
	if (rc) {
		if (file)
			c->spill->destroy(file);
		free(o);
		pthread_mutex_lock(&c->lock);
		e->spilling = false;
		if (rc != -ECANCELED) {
			e->spill_failed = true;
			spot_log(SPOT_LOG_WARN,
				 "view %s: cannot spill it to the store (%s): "
				 "kept in memory, over the view_memory budget",
				 e->key, strerror(-rc));
		}
		return;
	}
	o->ops = c->spill;
	o->file = file;
	/* Readers finish their read first; new ones wait for the swap. */
	pthread_rwlock_wrlock(&e->view.rw);
	pthread_mutex_lock(&c->lock);
	old = e->view.content;
	e->view.content.read = vc_spill_read;
	e->view.content.free = vc_spill_free;
	e->view.content.obj = o;
	e->view.content.data = NULL;
	e->view.content.mem = 0;
	/* Self-contained now: it never reads the source again. */
	e->view.content.check = NULL;
	c->mem -= e->mem;
	e->mem = 0;
	e->spilled = true;
	e->spilling = false;
	pthread_mutex_unlock(&c->lock);
	pthread_rwlock_unlock(&e->view.rw);
	if (old.free)
		old.free(old.obj);
	pthread_mutex_lock(&c->lock);
}

static void *vc_spill_main(void *arg)
{
	struct vc *c = arg;
	struct vc_entry *e;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->spill_stop && (c->mem + c->reserved <= c->budget ||
					  !(e = vc_spill_pick(c)))) {
			c->spill_busy = false;
			pthread_cond_broadcast(&c->settled_cv);
			pthread_cond_wait(&c->spill_cv, &c->lock);
		}
		if (c->spill_stop)
			break;
		e->spilling = true;
		c->spill_busy = true;
		pthread_mutex_unlock(&c->lock);
		vc_spill_one(c, e); /* returns with c->lock held */
		/* Retired and let go while it was copied: free it now. */
		if ((e = vc_unhook(c, e))) {
			pthread_mutex_unlock(&c->lock);
			vc_entry_free(e);
			pthread_mutex_lock(&c->lock);
		}
	}
	c->spill_busy = false;
	pthread_cond_broadcast(&c->settled_cv);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int vc_set_spill(struct vc *c, uint64_t budget, const struct vc_spill_ops *ops,
		 void *arg)
{
	sigset_t all, old;
	int rc;

	if (c->spill_started || !ops || !ops->create || !ops->pwrite ||
	    !ops->pread || !ops->destroy)
		return -EINVAL;
	c->budget = budget;
	c->spill = ops;
	c->spill_arg = arg;
	/* Signals go to the daemon's own threads, never to this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&c->spill_thread, NULL, vc_spill_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return rc;
	c->spill_started = true;
	return 0;
}

uint64_t vc_mem(struct vc *c, uint64_t *budget)
{
	uint64_t m;

	pthread_mutex_lock(&c->lock);
	m = c->mem;
	if (budget)
		*budget = c->spill_started ? c->budget : UINT64_MAX;
	pthread_mutex_unlock(&c->lock);
	return m;
}

void vc_spill_settle(struct vc *c)
{
	pthread_mutex_lock(&c->lock);
	while (c->spill_started &&
	       (c->spill_busy ||
		(c->mem + c->reserved > c->budget && vc_spill_pick(c))))
		pthread_cond_wait(&c->settled_cv, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

bool vc_content_spilled(const struct vc_content *c)
{
	return c->read == vc_spill_read;
}

void vc_shutdown(struct vc *c)
{
	pthread_mutex_lock(&c->lock);
	__atomic_store_n(&c->spill_stop, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&c->spill_cv);
	pthread_mutex_unlock(&c->lock);
}

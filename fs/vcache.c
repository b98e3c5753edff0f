/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vcache.c - build-once cache of masked views.
 */
#include "vcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Buffers from this size on are excluded from core dumps. */
#define VC_NODUMP_MIN (128u * 1024)

struct vc_entry {
	struct vc_entry *next;
	bool retired; /* source changed or failure retried: for holders only */
	char *key;    /* dataset \0 sub \0 role \0 */
	size_t key_len;
	unsigned fails;	       /* failed builds of the key in a row */
	struct vc_stamp stamp; /* of the source when the build started */
	struct vc_view view;
};

struct vc {
	vc_build_fn build;
	void *arg;
	vc_stamp_fn stamp; /* or NULL: failures never see a source change */
	pthread_mutex_t lock;
	pthread_cond_t built;  /* broadcast when any build finishes */
	struct vc_entry *head; /* protected by lock */
};

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

int vc_new(vc_build_fn build, void *arg, struct vc **out)
{
	struct vc *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->build = build;
	c->arg = arg;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->built, NULL);
	*out = c;
	return 0;
}

void vc_free(struct vc *c)
{
	struct vc_entry *e, *next;

	if (!c)
		return;
	for (e = c->head; e; e = next) {
		next = e->next;
		if (e->view.content.free) /* a failed build's check too */
			e->view.content.free(e->view.content.obj);
		free(e->key);
		free(e);
	}
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
			 const char *sub, const char *role)
{
	struct vc_content content;
	struct spot_err err = { "" };
	int rc;

	memset(&content, 0, sizeof(content));
	rc = c->build(c->arg, dataset, sub, role, &content, &err);
	if (!rc && (!content.read || (content.free && !content.obj))) {
		/* Never a view without callbacks (a build that lost an
		 * allocation but said 0): fail it, transiently. */
		if (content.free)
			content.free(content.obj);
		spot_err_set(&err, "%s: out of memory", dataset);
		rc = -ENOMEM;
	}
	pthread_mutex_lock(&c->lock);
	if (rc) {
		e->view.err = rc > 0 ? -EIO : rc;
		memcpy(e->view.msg, err.msg, sizeof(e->view.msg));
		e->view.state = VC_FAILED;
		e->fails++;
		/* Classified now, for the log; vc_get decides again later. */
		spot_log(SPOT_LOG_WARN, "view build failed (%s): %s",
			 vc_err_transient(e->view.err, e->fails)
				 ? "transient: tried again at the next open"
				 : "kept until the source changes",
			 e->view.msg);
	} else {
		e->view.content = content;
		e->view.state = VC_READY;
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
 * Whether a failed build of e is built again: its error was transient, or
 * the source is not the one it failed on (changed or fixed since).
 */
static bool vc_fail_retry(struct vc *c, const struct vc_entry *e,
			  const char *dataset, const char *sub)
{
	struct vc_stamp now;

	if (vc_err_transient(e->view.err, e->fails))
		return true;
	if (!c->stamp)
		return false;
	vc_stamp_of(c, dataset, sub, &now);
	return memcmp(&now, &e->stamp, sizeof(now)) != 0;
}

int vc_get(struct vc *c, const char *dataset, const char *sub, const char *role,
	   struct vc_view **out)
{
	struct vc_entry *e;
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
		while (e->view.state == VC_BUILDING)
			pthread_cond_wait(&c->built, &c->lock);
		if (e->retired)
			goto again; /* another thread found it stale */
		if (e->view.state != VC_BUILDING && e->view.content.check &&
		    e->view.content.check(e->view.content.obj)) {
			gen = e->view.gen;
			e->retired = true; /* never serve it to a new open */
			goto build;
		}
		if (e->view.state == VC_FAILED &&
		    vc_fail_retry(c, e, dataset, sub)) {
			gen = e->view.gen;
			fails = e->fails;
			e->retired = true; /* its waiters have had their EIO */
			goto build;
		}
		free(key);
		pthread_mutex_unlock(&c->lock);
		*out = &e->view;
		return 0;
	}
build:
	e = calloc(1, sizeof(*e));
	if (!e) {
		pthread_mutex_unlock(&c->lock);
		free(key);
		return -ENOMEM;
	}
	e->key = key;
	e->key_len = klen;
	e->fails = fails;
	e->view.gen = gen + 1;
	e->view.state = VC_BUILDING;
	e->next = c->head;
	c->head = e;
	pthread_mutex_unlock(&c->lock);
	/* Stamped before reading: a change during the build shows later. */
	vc_stamp_of(c, dataset, sub, &e->stamp);
	vc_build_one(c, e, dataset, sub, role);
	*out = &e->view;
	return 0;
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
	      e->view.content.check(e->view.content.obj)))
		v = &e->view;
	pthread_mutex_unlock(&c->lock);
	free(key);
	return v;
}

ssize_t vc_view_read(struct vc_view *v, void *buf, size_t len, uint64_t off)
{
	if (v->state != VC_READY)
		return -EIO;
	if (off >= v->content.size)
		return 0;
	if (len > v->content.size - off)
		len = (size_t)(v->content.size - off);
	return v->content.read(v->content.obj, buf, len, off);
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

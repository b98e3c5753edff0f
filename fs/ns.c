/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ns.c - inode table: two chained hash tables (by ino, by key).
 */
#include "ns.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NS_BUCKETS 4096 /* power of two */

struct ns {
	pthread_mutex_t lock;
	uint64_t next_ino;		    /* protected by lock */
	struct ns_node *by_ino[NS_BUCKETS]; /* protected by lock */
	struct ns_node *by_key[NS_BUCKETS]; /* protected by lock */
};

static uint64_t ns_hash_key(uint64_t parent, const char *name, const char *role)
{
	uint64_t h = 1469598103934665603ULL ^ parent; /* FNV-1a */

	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (const char *p = role; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	return h;
}

static void ns_node_free(struct ns_node *n)
{
	free(n->name);
	free(n->relpath);
	free(n->role);
	free(n->sub);
	free(n);
}

static struct ns_node *ns_node_new(uint64_t ino, uint64_t parent,
				   const char *name, const char *role,
				   enum ns_kind kind, const char *relpath,
				   const struct cfg_dataset *ds,
				   const char *sub)
{
	struct ns_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->ino = ino;
	n->parent = parent;
	n->kind = kind;
	n->ds = ds;
	n->name = strdup(name);
	n->relpath = strdup(relpath);
	n->role = strdup(role);
	n->sub = strdup(sub);
	if (!n->name || !n->relpath || !n->role || !n->sub) {
		ns_node_free(n);
		return NULL;
	}
	return n;
}

static void ns_link(struct ns *ns, struct ns_node *n)
{
	size_t bi = n->ino & (NS_BUCKETS - 1);
	size_t bk = ns_hash_key(n->parent, n->name, n->role) & (NS_BUCKETS - 1);

	n->next_ino = ns->by_ino[bi];
	ns->by_ino[bi] = n;
	n->next_key = ns->by_key[bk];
	ns->by_key[bk] = n;
}

int ns_new(struct ns **out)
{
	struct ns *ns = calloc(1, sizeof(*ns));
	struct ns_node *root;

	if (!ns)
		return -ENOMEM;
	pthread_mutex_init(&ns->lock, NULL);
	root = ns_node_new(NS_ROOT_INO, NS_ROOT_INO, "", "", NS_DIR, "", NULL,
			   "");
	if (!root) {
		free(ns);
		return -ENOMEM;
	}
	/* The root is linked by ino only: nothing looks it up by name. */
	ns->by_ino[NS_ROOT_INO & (NS_BUCKETS - 1)] = root;
	ns->next_ino = NS_ROOT_INO + 1;
	*out = ns;
	return 0;
}

void ns_free(struct ns *ns)
{
	if (!ns)
		return;
	for (size_t i = 0; i < NS_BUCKETS; i++) {
		struct ns_node *n = ns->by_ino[i];

		while (n) {
			struct ns_node *next = n->next_ino;

			ns_node_free(n);
			n = next;
		}
	}
	pthread_mutex_destroy(&ns->lock);
	free(ns);
}

static struct ns_node *ns_get_locked(struct ns *ns, uint64_t ino)
{
	struct ns_node *n = ns->by_ino[ino & (NS_BUCKETS - 1)];

	while (n && n->ino != ino)
		n = n->next_ino;
	return n;
}

struct ns_node *ns_get(struct ns *ns, uint64_t ino)
{
	struct ns_node *n;

	pthread_mutex_lock(&ns->lock);
	n = ns_get_locked(ns, ino);
	pthread_mutex_unlock(&ns->lock);
	return n;
}

struct ns_node *ns_intern(struct ns *ns, uint64_t parent, const char *name,
			  const char *role, enum ns_kind kind,
			  const char *relpath, const struct cfg_dataset *ds,
			  const char *sub)
{
	size_t bk = ns_hash_key(parent, name, role) & (NS_BUCKETS - 1);
	struct ns_node *n;

	pthread_mutex_lock(&ns->lock);
	for (n = ns->by_key[bk]; n; n = n->next_key)
		if (n->parent == parent && strcmp(n->name, name) == 0 &&
		    strcmp(n->role, role) == 0)
			break;
	/* A source entry may change type (file replaced by a folder). */
	if (n && n->kind != kind)
		n = NULL;
	if (!n) {
		n = ns_node_new(ns->next_ino, parent, name, role, kind, relpath,
				ds, sub);
		if (!n)
			goto out;
		ns->next_ino++;
		ns_link(ns, n);
	}
	n->nlookup++;
out:
	pthread_mutex_unlock(&ns->lock);
	return n;
}

uint64_t ns_forget(struct ns *ns, uint64_t ino, uint64_t count)
{
	struct ns_node *n;
	uint64_t took = 0;

	pthread_mutex_lock(&ns->lock);
	n = ns_get_locked(ns, ino);
	if (n) {
		took = count < n->nlookup ? count : n->nlookup;
		n->nlookup -= took;
	}
	pthread_mutex_unlock(&ns->lock);
	return took;
}

uint64_t ns_take_lookups(struct ns *ns, uint64_t ino)
{
	struct ns_node *n;
	uint64_t took = 0;

	pthread_mutex_lock(&ns->lock);
	n = ns_get_locked(ns, ino);
	if (n) {
		took = n->nlookup;
		n->nlookup = 0;
	}
	pthread_mutex_unlock(&ns->lock);
	return took;
}

void ns_ref(struct ns *ns, uint64_t ino)
{
	struct ns_node *n;

	pthread_mutex_lock(&ns->lock);
	n = ns_get_locked(ns, ino);
	if (n)
		n->nlookup++;
	pthread_mutex_unlock(&ns->lock);
}

int ns_inos(struct ns *ns, uint64_t **out, size_t *n)
{
	uint64_t *v;
	size_t k = 0;

	pthread_mutex_lock(&ns->lock);
	v = malloc((ns->next_ino + 1) * sizeof(*v));
	for (size_t i = 0; v && i < NS_BUCKETS; i++)
		for (struct ns_node *p = ns->by_ino[i]; p; p = p->next_ino)
			v[k++] = p->ino;
	pthread_mutex_unlock(&ns->lock);
	*out = v;
	*n = k;
	return v ? 0 : -ENOMEM;
}

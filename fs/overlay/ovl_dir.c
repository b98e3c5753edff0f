/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovl_dir.c - names and directories of the upper tree: lookup, create,
 * mkdir, symlink, link, unlink, rmdir, rename, whiteouts and readdir.
 *
 * Each directory keeps its entries in an array sorted by cookie (cookies
 * only grow, so appending keeps it sorted); removed entries stay as dead
 * tombstones until a compaction, so readdir can resume after any cookie by
 * binary search. Names are found through one tree-wide hash keyed by
 * (directory inode, name) with a random SipHash key, so names chosen by a
 * sandbox user cannot force collisions.
 */

#include "ovl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ovl_i.h"

/*
 * Point de at n (NULL: a whiteout or dead), keeping each node's name hint:
 * one live name of it, so its path is found without a scan.
 */
static void ovl_de_set(struct ovl_dirent *de, struct ovl_node *n)
{
	if (de->node && de->node->name_hint == de)
		de->node->name_hint = NULL;
	de->node = n;
	if (n)
		n->name_hint = de;
}

#define OVL_NAMES_BUCKETS0 256u
#define OVL_COMPACT_MIN 32u

/* ---- names ---- */

static int ovl_name_ok(const char *name, size_t *len)
{
	size_t n = strnlen(name, OVL_NAME_MAX + 1);

	if (n > OVL_NAME_MAX)
		return -ENAMETOOLONG;
	if (!n || !strcmp(name, ".") || !strcmp(name, "..") ||
	    memchr(name, '/', n))
		return -EINVAL;
	*len = n;
	return 0;
}

static uint64_t ovl_name_hash(const struct ovl_tree *t,
			      const struct ovl_node *dir, const char *name,
			      size_t len)
{
	uint8_t in[8 + OVL_NAME_MAX], out[crypto_shorthash_BYTES];
	uint64_t h = 0;
	size_t i;

	for (i = 0; i < 8; i++)
		in[i] = (uint8_t)(dir->ino >> (8 * i));
	memcpy(in + 8, name, len);
	crypto_shorthash(out, in, 8 + len, t->hkey);
	for (i = 0; i < 8; i++)
		h |= (uint64_t)out[i] << (8 * i);
	return h;
}

static struct ovl_dirent *ovl_find(struct ovl_tree *t, struct ovl_node *dir,
				   const char *name, size_t len, uint64_t h)
{
	struct ovl_dirent *de;

	if (!t->nnames_cap)
		return NULL;
	for (de = t->names[h & (t->nnames_cap - 1)]; de; de = de->hnext)
		if (de->hash == h && de->dir == dir && de->namelen == len &&
		    !memcmp(de->name, name, len))
			return de;
	return NULL;
}

static int ovl_names_grow(struct ovl_tree *t)
{
	size_t cap = t->nnames_cap ? t->nnames_cap * 2 : OVL_NAMES_BUCKETS0;
	struct ovl_dirent **nb;
	size_t i;

	if (t->nnames < t->nnames_cap)
		return 0;
	nb = calloc(cap, sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	for (i = 0; i < t->nnames_cap; i++) {
		struct ovl_dirent *de = t->names[i], *next;

		for (; de; de = next) {
			next = de->hnext;
			de->hnext = nb[de->hash & (cap - 1)];
			nb[de->hash & (cap - 1)] = de;
		}
	}
	free(t->names);
	t->names = nb;
	t->nnames_cap = cap;
	return 0;
}

static void ovl_names_remove(struct ovl_tree *t, struct ovl_dirent *de)
{
	struct ovl_dirent **pp = &t->names[de->hash & (t->nnames_cap - 1)];

	while (*pp != de)
		pp = &(*pp)->hnext;
	*pp = de->hnext;
	t->nnames--;
}

/* ---- directory entries ---- */

/* Append an entry for node (NULL: whiteout). 0 or -ENOMEM. */
static int ovl_dirent_add(struct ovl_tree *t, struct ovl_node *dir,
			  const char *name, size_t len, uint64_t h,
			  struct ovl_node *node)
{
	struct ovl_dir *d = &dir->u.dir;
	struct ovl_dirent *de;
	size_t b;

	if (d->next_cookie >= OVL_COOKIE_MAX || ovl_names_grow(t))
		return -ENOMEM;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct ovl_dirent **ne = realloc(d->ents, cap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		d->ents = ne;
		d->cap = cap;
	}
	de = calloc(1, sizeof(*de) + len + 1);
	if (!de)
		return -ENOMEM;
	de->dir = dir;
	ovl_de_set(de, node);
	de->cookie = d->next_cookie++;
	de->hash = h;
	de->namelen = (uint16_t)len;
	memcpy(de->name, name, len);
	d->ents[d->n++] = de;
	d->nvisible += node != NULL;
	b = h & (t->nnames_cap - 1);
	de->hnext = t->names[b];
	t->names[b] = de;
	t->nnames++;
	return 0;
}

static void ovl_dir_compact(struct ovl_dir *d)
{
	size_t i, j = 0;

	for (i = 0; i < d->n; i++) {
		if (d->ents[i]->dead)
			free(d->ents[i]);
		else
			d->ents[j++] = d->ents[i];
	}
	d->n = j;
	d->ndead = 0;
}

/* Remove an entry; its slot stays as a tombstone until compaction. */
static void ovl_dirent_kill(struct ovl_tree *t, struct ovl_dirent *de)
{
	struct ovl_dir *d = &de->dir->u.dir;

	ovl_names_remove(t, de);
	d->nvisible -= de->node != NULL;
	ovl_de_set(de, NULL);
	de->dead = true;
	d->ndead++;
	if (d->ndead >= OVL_COMPACT_MIN && d->ndead > d->n / 2)
		ovl_dir_compact(d);
}

void ovl_dir_fini(struct ovl_tree *t, struct ovl_node *dir)
{
	struct ovl_dir *d = &dir->u.dir;
	size_t i;

	for (i = 0; i < d->n; i++) {
		if (!d->ents[i]->dead)
			ovl_names_remove(t, d->ents[i]);
		free(d->ents[i]);
	}
	free(d->ents);
	d->ents = NULL;
	d->n = d->cap = d->ndead = d->nvisible = 0;
}

/* ---- helpers, t->lock held ---- */

static int ovl_dir_check(const struct ovl_node *dir)
{
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	return dir->nlink ? 0 : -ENOENT;
}

static void ovl_dir_changed(struct ovl_node *dir, const struct timespec *now)
{
	dir->mtime = dir->ctime = *now;
}

/* Count a new name of node in dir. */
static void ovl_link_in(struct ovl_node *dir, struct ovl_node *node)
{
	if (S_ISDIR(node->mode)) {
		node->nlink = 2;
		node->u.dir.parent = dir;
		dir->nlink++;
	} else {
		node->nlink++;
	}
}

/* Forget one name of node, which was in dir; the caller may free it. */
static void ovl_link_out(struct ovl_tree *t, struct ovl_node *dir,
			 struct ovl_node *node, const struct timespec *now)
{
	if (S_ISDIR(node->mode)) {
		node->nlink = 0;
		dir->nlink--;
		ovl_dir_fini(t, node); /* only whiteouts were left */
	} else {
		node->nlink--;
	}
	node->ctime = *now;
}

/* Is a an ancestor of d, or d itself? */
static bool ovl_is_ancestor(const struct ovl_node *a, const struct ovl_node *d)
{
	for (;;) {
		if (d == a)
			return true;
		if (d->u.dir.parent == d)
			return false;
		d = d->u.dir.parent;
	}
}

/* ---- lookup ---- */

int ovl_lookup(struct ovl_tree *t, struct ovl_node *dir, const char *name,
	       enum ovl_hit *hit, struct ovl_node **out)
{
	struct ovl_dirent *de;
	size_t len;
	int rc = ovl_name_ok(name, &len);

	if (rc)
		return rc;
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	pthread_rwlock_rdlock(&t->lock);
	de = ovl_find(t, dir, name, len, ovl_name_hash(t, dir, name, len));
	if (de && de->node) {
		__atomic_add_fetch(&de->node->nlookup, 1, __ATOMIC_RELAXED);
		*out = de->node;
		*hit = OVL_FOUND;
	} else if (de || dir->u.dir.opaque || !dir->nlink) {
		*hit = OVL_HIDDEN;
	} else {
		*hit = OVL_MISS;
	}
	pthread_rwlock_unlock(&t->lock);
	return 0;
}

/* ---- creation ---- */

/* Make a node of nw's type named name in dir (t->lock held). */
static int ovl_make_locked(struct ovl_tree *t, struct ovl_node *dir,
			   const char *name, size_t len,
			   const struct ovl_new *nw, const char *target,
			   struct ovl_node **out)
{
	uint64_t h = ovl_name_hash(t, dir, name, len);
	struct ovl_dirent *de;
	struct ovl_node *n;
	struct timespec now;
	int rc = ovl_dir_check(dir);

	if (rc)
		return rc;
	de = ovl_find(t, dir, name, len, h);
	if (de && de->node)
		return -EEXIST;
	rc = ovl_node_new(t, nw, &n);
	if (rc)
		return rc;
	if (S_ISDIR(nw->mode)) {
		n->u.dir.next_cookie = 1;
		/* Over a whiteout: the deleted lower directory stays hidden. */
		n->u.dir.opaque = de != NULL;
	} else if (S_ISCHR(nw->mode) || S_ISBLK(nw->mode)) {
		n->u.rdev = nw->rdev;
	} else if (S_ISLNK(nw->mode)) {
		n->u.link.p = target ? strdup(target) : NULL;
		n->u.link.len = n->u.link.p ? strlen(n->u.link.p) : 0;
		if (!n->u.link.p)
			rc = target ? -ENOMEM : -EINVAL;
	}
	if (!rc && de) {
		ovl_de_set(de, n);
		dir->u.dir.nvisible++;
	} else if (!rc) {
		rc = ovl_dirent_add(t, dir, name, len, h, n);
	}
	if (rc) {
		ovl_node_maybe_free(t, n);
		return rc;
	}
	ovl_link_in(dir, n);
	n->nlookup = 1;
	ovl_now(&now);
	ovl_dir_changed(dir, &now);
	*out = n;
	return 0;
}

static int ovl_make(struct ovl_tree *t, struct ovl_node *dir, const char *name,
		    const struct ovl_new *nw, const char *target,
		    struct ovl_node **out)
{
	size_t len;
	int rc = ovl_name_ok(name, &len);

	if (rc)
		return rc;
	pthread_rwlock_wrlock(&t->lock);
	rc = ovl_make_locked(t, dir, name, len, nw, target, out);
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

int ovl_create(struct ovl_tree *t, struct ovl_node *dir, const char *name,
	       const struct ovl_new *nw, struct ovl_node **out)
{
	switch (nw->mode & S_IFMT) {
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFCHR: /* inert: see ovl.h */
	case S_IFBLK:
		return ovl_make(t, dir, name, nw, NULL, out);
	default:
		return -EINVAL;
	}
}

int ovl_mkdir(struct ovl_tree *t, struct ovl_node *dir, const char *name,
	      const struct ovl_new *nw, struct ovl_node **out)
{
	struct ovl_new d = *nw;

	d.mode = S_IFDIR | (nw->mode & 07777);
	return ovl_make(t, dir, name, &d, NULL, out);
}

int ovl_symlink(struct ovl_tree *t, struct ovl_node *dir, const char *name,
		const char *target, const struct ovl_new *nw,
		struct ovl_node **out)
{
	size_t tl = strnlen(target, OVL_SYMLINK_MAX + 1);
	struct ovl_new l = *nw;

	if (!tl)
		return -ENOENT;
	if (tl > OVL_SYMLINK_MAX)
		return -ENAMETOOLONG;
	l.mode = S_IFLNK | 0777;
	return ovl_make(t, dir, name, &l, target, out);
}

int ovl_link(struct ovl_tree *t, struct ovl_node *n, struct ovl_node *dir,
	     const char *name, struct ovl_node **out)
{
	struct ovl_dirent *de;
	struct timespec now;
	size_t len;
	uint64_t h;
	int rc = ovl_name_ok(name, &len);

	if (rc)
		return rc;
	if (S_ISDIR(n->mode))
		return -EPERM;
	pthread_rwlock_wrlock(&t->lock);
	rc = ovl_dir_check(dir);
	if (rc)
		goto out;
	rc = !n->nlink ? -ENOENT : n->nlink >= OVL_LINK_MAX ? -EMLINK : 0;
	if (rc)
		goto out;
	h = ovl_name_hash(t, dir, name, len);
	de = ovl_find(t, dir, name, len, h);
	if (de && de->node) {
		rc = -EEXIST;
		goto out;
	}
	if (de) {
		ovl_de_set(de, n);
		dir->u.dir.nvisible++;
	} else {
		rc = ovl_dirent_add(t, dir, name, len, h, n);
		if (rc)
			goto out;
	}
	ovl_link_in(dir, n);
	n->nlookup++;
	ovl_now(&now);
	n->ctime = now;
	ovl_dir_changed(dir, &now);
	*out = n;
out:
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

/* ---- removal ---- */

static int ovl_remove(struct ovl_tree *t, struct ovl_node *dir,
		      const char *name, unsigned flags, bool want_dir)
{
	struct ovl_dirent *de;
	struct ovl_node *n;
	struct timespec now;
	size_t len;
	uint64_t h;
	int rc = ovl_name_ok(name, &len);

	if (rc)
		return rc;
	pthread_rwlock_wrlock(&t->lock);
	rc = ovl_dir_check(dir);
	if (rc)
		goto out;
	h = ovl_name_hash(t, dir, name, len);
	de = ovl_find(t, dir, name, len, h);
	ovl_now(&now);
	if (!de && (flags & OVL_WHITEOUT)) {
		rc = ovl_dirent_add(t, dir, name, len, h, NULL);
		if (!rc)
			ovl_dir_changed(dir, &now);
		goto out;
	}
	if (!de || !de->node) {
		rc = -ENOENT;
		goto out;
	}
	n = de->node;
	if (want_dir && !S_ISDIR(n->mode))
		rc = -ENOTDIR;
	else if (!want_dir && S_ISDIR(n->mode))
		rc = -EISDIR;
	else if (want_dir && n->u.dir.nvisible)
		rc = -ENOTEMPTY;
	if (rc)
		goto out;
	if (flags & OVL_WHITEOUT) {
		ovl_de_set(de, NULL);
		dir->u.dir.nvisible--;
	} else {
		ovl_dirent_kill(t, de);
	}
	ovl_link_out(t, dir, n, &now);
	ovl_dir_changed(dir, &now);
	ovl_node_maybe_free(t, n);
out:
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

int ovl_unlink(struct ovl_tree *t, struct ovl_node *dir, const char *name,
	       unsigned flags)
{
	return ovl_remove(t, dir, name, flags, false);
}

int ovl_rmdir(struct ovl_tree *t, struct ovl_node *dir, const char *name,
	      unsigned flags)
{
	return ovl_remove(t, dir, name, flags, true);
}

int ovl_dir_whiteout(struct ovl_tree *t, struct ovl_node *dir, const char *name)
{
	struct ovl_dirent *de;
	size_t len;
	uint64_t h;
	int rc = ovl_name_ok(name, &len);

	if (rc)
		return rc;
	pthread_rwlock_wrlock(&t->lock);
	rc = ovl_dir_check(dir);
	if (rc)
		goto out;
	h = ovl_name_hash(t, dir, name, len);
	de = ovl_find(t, dir, name, len, h);
	if (de)
		rc = de->node ? -EEXIST : 0;
	else
		rc = ovl_dirent_add(t, dir, name, len, h, NULL);
out:
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

int ovl_dir_set_opaque(struct ovl_tree *t, struct ovl_node *dir, bool opaque)
{
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	pthread_rwlock_wrlock(&t->lock);
	dir->u.dir.opaque = opaque;
	pthread_rwlock_unlock(&t->lock);
	return 0;
}

bool ovl_dir_opaque(struct ovl_tree *t, struct ovl_node *dir)
{
	bool o;

	if (!S_ISDIR(dir->mode))
		return false;
	pthread_rwlock_rdlock(&t->lock);
	o = dir->u.dir.opaque;
	pthread_rwlock_unlock(&t->lock);
	return o;
}

struct ovl_node *ovl_dir_parent(struct ovl_tree *t, struct ovl_node *dir)
{
	struct ovl_node *p;

	if (!S_ISDIR(dir->mode))
		return NULL;
	pthread_rwlock_rdlock(&t->lock);
	p = dir->u.dir.parent;
	pthread_rwlock_unlock(&t->lock);
	return p;
}

/* ---- readdir ---- */

int ovl_readdir(struct ovl_tree *t, struct ovl_node *dir, uint64_t off,
		bool plus, ovl_readdir_fn fn, void *ctx)
{
	struct ovl_dir *d = &dir->u.dir;
	size_t lo = 0, hi;
	struct stat st;

	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	pthread_rwlock_rdlock(&t->lock);
	hi = d->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->ents[mid]->cookie <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < d->n; lo++) {
		struct ovl_dirent *de = d->ents[lo];
		struct ovl_dirent_info e = { .name = de->name,
					     .namelen = de->namelen,
					     .cookie = de->cookie,
					     .whiteout = !de->node,
					     .node = de->node };

		if (de->dead)
			continue;
		if (de->node) {
			e.ino = de->node->ino;
			e.type = de->node->mode & S_IFMT;
			if (plus) {
				ovl_node_fill(de->node, &st);
				e.st = &st;
				__atomic_add_fetch(&de->node->nlookup, 1,
						   __ATOMIC_RELAXED);
			}
		}
		if (fn(ctx, &e)) {
			if (plus && de->node)
				__atomic_sub_fetch(&de->node->nlookup, 1,
						   __ATOMIC_RELAXED);
			break;
		}
	}
	pthread_rwlock_unlock(&t->lock);
	return 0;
}

/* ---- rename ---- */

struct ovl_rename_ctx {
	struct ovl_node *odir, *ndir;
	struct ovl_dirent *src, *dst; /* dst may be a whiteout or NULL */
	const char *nname;
	size_t nlen;
	uint64_t nhash;
	unsigned flags, ovl_flags;
	struct timespec now;
};

/* The checks of rename(2), in the kernel's order. */
static int ovl_rename_check(const struct ovl_rename_ctx *c)
{
	struct ovl_node *s = c->src->node;
	struct ovl_node *d = c->dst ? c->dst->node : NULL;

	if (!d && (c->flags & RENAME_EXCHANGE))
		return -ENOENT;
	if (d && (c->flags & RENAME_NOREPLACE))
		return -EEXIST;
	/* Source an ancestor of the target: EINVAL. */
	if (S_ISDIR(s->mode) && ovl_is_ancestor(s, c->ndir))
		return -EINVAL;
	/* Target an ancestor of the source. */
	if (d && S_ISDIR(d->mode) && ovl_is_ancestor(d, c->odir))
		return (c->flags & RENAME_EXCHANGE) ? -EINVAL : -ENOTEMPTY;
	if (!d || s == d || (c->flags & RENAME_EXCHANGE))
		return 0;
	if (S_ISDIR(s->mode) && !S_ISDIR(d->mode))
		return -ENOTDIR;
	if (!S_ISDIR(s->mode) && S_ISDIR(d->mode))
		return -EISDIR;
	if (S_ISDIR(d->mode) && d->u.dir.nvisible)
		return -ENOTEMPTY;
	return 0;
}

/* Move node n from dir a to dir b in the link counts. */
static void ovl_reparent(struct ovl_node *n, struct ovl_node *a,
			 struct ovl_node *b)
{
	if (!S_ISDIR(n->mode) || a == b)
		return;
	a->nlink--;
	b->nlink++;
	n->u.dir.parent = b;
}

static void ovl_rename_exchange(struct ovl_rename_ctx *c)
{
	struct ovl_node *s = c->src->node, *d = c->dst->node;

	ovl_de_set(c->src, d);
	ovl_de_set(c->dst, s);
	ovl_reparent(s, c->odir, c->ndir);
	ovl_reparent(d, c->ndir, c->odir);
	s->ctime = d->ctime = c->now;
}

static int ovl_rename_move(struct ovl_tree *t, struct ovl_rename_ctx *c)
{
	struct ovl_node *s = c->src->node, *victim = NULL;
	int rc;

	if (!c->dst) {
		rc = ovl_dirent_add(t, c->ndir, c->nname, c->nlen, c->nhash, s);
		if (rc)
			return rc;
	} else if (c->dst->node) {
		victim = c->dst->node;
		ovl_de_set(c->dst, s);
	} else {
		ovl_de_set(c->dst, s);
		c->ndir->u.dir.nvisible++;
	}
	if (c->ovl_flags & OVL_WHITEOUT) {
		ovl_de_set(c->src, NULL);
		c->odir->u.dir.nvisible--;
	} else {
		ovl_dirent_kill(t, c->src);
	}
	ovl_reparent(s, c->odir, c->ndir);
	if (S_ISDIR(s->mode) && (c->ovl_flags & OVL_OPAQUE))
		s->u.dir.opaque = true;
	s->ctime = c->now;
	if (victim) {
		ovl_link_out(t, c->ndir, victim, &c->now);
		ovl_node_maybe_free(t, victim);
	}
	return 0;
}

int ovl_rename(struct ovl_tree *t, struct ovl_node *odir, const char *oname,
	       struct ovl_node *ndir, const char *nname, unsigned flags,
	       unsigned ovl_flags)
{
	struct ovl_rename_ctx c = { .odir = odir,
				    .ndir = ndir,
				    .nname = nname,
				    .flags = flags,
				    .ovl_flags = ovl_flags };
	size_t olen;
	int rc;

	if ((flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) ||
	    flags == (RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	rc = ovl_name_ok(oname, &olen);
	if (!rc)
		rc = ovl_name_ok(nname, &c.nlen);
	if (rc)
		return rc;
	pthread_rwlock_wrlock(&t->lock);
	rc = ovl_dir_check(odir);
	if (!rc)
		rc = ovl_dir_check(ndir);
	if (rc)
		goto out;
	c.src = ovl_find(t, odir, oname, olen,
			 ovl_name_hash(t, odir, oname, olen));
	if (!c.src || !c.src->node) {
		rc = -ENOENT;
		goto out;
	}
	c.nhash = ovl_name_hash(t, ndir, nname, c.nlen);
	c.dst = ovl_find(t, ndir, nname, c.nlen, c.nhash);
	if (c.dst == c.src) {
		rc = (flags & RENAME_NOREPLACE) ? -EEXIST : 0;
		goto out;
	}
	rc = ovl_rename_check(&c);
	/* Two names of one node: rename(2) does nothing. */
	if (rc || (c.dst && c.dst->node == c.src->node))
		goto out;
	ovl_now(&c.now);
	if (flags & RENAME_EXCHANGE)
		ovl_rename_exchange(&c);
	else
		rc = ovl_rename_move(t, &c);
	if (!rc) {
		ovl_dir_changed(odir, &c.now);
		ovl_dir_changed(ndir, &c.now);
	}
out:
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

/* ---- paths and inode lists (audit, expiry) ---- */

/* A live name of n: its hint, else (a hard link removed) a scan. */
static const struct ovl_dirent *ovl_name_of(struct ovl_tree *t,
					    struct ovl_node *n)
{
	if (n->name_hint && !n->name_hint->dead && n->name_hint->node == n)
		return n->name_hint;
	for (size_t i = 0; i < t->nnames_cap; i++)
		for (struct ovl_dirent *e = t->names[i]; e; e = e->hnext)
			if (!e->dead && e->node == n)
				return e;
	return NULL;
}

int ovl_node_path(struct ovl_tree *t, struct ovl_node *n, char *buf, size_t len)
{
	size_t pos = len - 1;
	int rc = 0;

	if (len < 2)
		return -ENAMETOOLONG;
	buf[pos] = 0;
	pthread_rwlock_rdlock(&t->lock);
	while (n != t->root) {
		const struct ovl_dirent *e = ovl_name_of(t, n);

		if (!e) {
			rc = -ENOENT;
			break;
		}
		if (pos < (size_t)e->namelen + 1) {
			rc = -ENAMETOOLONG;
			break;
		}
		pos -= e->namelen;
		memcpy(buf + pos, e->name, e->namelen);
		buf[--pos] = '/';
		n = e->dir;
	}
	pthread_rwlock_unlock(&t->lock);
	if (rc)
		return rc;
	if (pos == len - 1)
		buf[--pos] = '/';
	memmove(buf, buf + pos, len - pos);
	return 0;
}

int ovl_inos(struct ovl_tree *t, uint64_t **out, size_t *n)
{
	uint64_t *v;
	size_t k = 0;

	pthread_rwlock_rdlock(&t->lock);
	v = malloc((t->nnodes + 1) * sizeof(*v));
	for (size_t i = 0; v && i < t->ninos_cap; i++)
		for (struct ovl_node *p = t->inos[i]; p; p = p->ino_next)
			if (k < t->nnodes + 1)
				v[k++] = p->ino;
	pthread_rwlock_unlock(&t->lock);
	*out = v;
	*n = k;
	return v ? 0 : -ENOMEM;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovl.c - the in-memory upper tree: the tree, inode numbers, node lifetime,
 * attributes, file data glue and user.* extended attributes. Names and
 * directories are in ovl_dir.c.
 */
#include "ovl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "ovl_i.h"

#define OVL_INO_BUCKETS0 256u
#define OVL_XATTR_PREFIX "user."

/* ---- tree ---- */

void ovl_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static void ovl_ino_insert(struct ovl_tree *t, struct ovl_node *n)
{
	size_t b = n->ino & (t->ninos_cap - 1);

	n->ino_next = t->inos[b];
	t->inos[b] = n;
	t->nnodes++;
}

static void ovl_ino_remove(struct ovl_tree *t, struct ovl_node *n)
{
	struct ovl_node **pp = &t->inos[n->ino & (t->ninos_cap - 1)];

	while (*pp != n)
		pp = &(*pp)->ino_next;
	*pp = n->ino_next;
	t->nnodes--;
}

static struct ovl_node *ovl_ino_find(struct ovl_tree *t, uint64_t ino)
{
	struct ovl_node *n = t->inos[ino & (t->ninos_cap - 1)];

	while (n && n->ino != ino)
		n = n->ino_next;
	return n;
}

/* Double the inode hash when it gets full. 0 or -ENOMEM. */
static int ovl_ino_grow(struct ovl_tree *t)
{
	size_t cap = t->ninos_cap * 2, i;
	struct ovl_node **nb;

	if (t->nnodes < t->ninos_cap)
		return 0;
	nb = calloc(cap, sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	for (i = 0; i < t->ninos_cap; i++) {
		struct ovl_node *n = t->inos[i], *next;

		for (; n; n = next) {
			next = n->ino_next;
			n->ino_next = nb[n->ino & (cap - 1)];
			nb[n->ino & (cap - 1)] = n;
		}
	}
	free(t->inos);
	t->inos = nb;
	t->ninos_cap = cap;
	return 0;
}

int ovl_node_new(struct ovl_tree *t, const struct ovl_new *nw,
		 struct ovl_node **out)
{
	struct ovl_node *n;
	uint64_t ino = nw->ino;
	int rc;

	if (ino && ovl_ino_find(t, ino))
		return -EBUSY;
	rc = ovl_ino_grow(t);
	if (rc)
		return rc;
	while (!ino) {
		ino = t->next_ino++;
		if (ovl_ino_find(t, ino))
			ino = 0;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	if (S_ISREG(nw->mode)) {
		rc = seal_file_create(t->store, &n->u.file);
		if (rc) {
			free(n);
			return rc;
		}
	}
	n->ino = ino;
	n->mode = nw->mode;
	n->uid = nw->uid;
	n->gid = nw->gid;
	ovl_now(&n->atime);
	n->mtime = n->ctime = n->atime;
	ovl_ino_insert(t, n);
	*out = n;
	return 0;
}

void ovl_node_free(struct ovl_tree *t, struct ovl_node *n)
{
	struct ovl_xattr *x, *next;

	if (S_ISREG(n->mode))
		seal_file_destroy(n->u.file);
	else if (S_ISLNK(n->mode))
		free(n->u.link.p);
	else if (S_ISDIR(n->mode))
		ovl_dir_fini(t, n);
	for (x = n->xattrs; x; x = next) {
		next = x->next;
		sodium_memzero(x->data, x->nlen + 1 + x->vlen);
		free(x);
	}
	free(n);
}

void ovl_node_maybe_free(struct ovl_tree *t, struct ovl_node *n)
{
	if (n == t->root || n->nlink || n->nlookup || n->nopen)
		return;
	ovl_ino_remove(t, n);
	ovl_node_free(t, n);
}

int ovl_tree_new(struct seal_store *store, const struct ovl_tree_opts *o,
		 struct ovl_tree **out)
{
	struct ovl_new nw = { .mode = S_IFDIR | (o->root_mode & 07777),
			      .uid = o->root_uid,
			      .gid = o->root_gid,
			      .ino = o->root_ino };
	pthread_rwlockattr_t attr;
	struct ovl_tree *t;
	int rc;

	if (!o->root_ino || sodium_init() < 0)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->inos = calloc(OVL_INO_BUCKETS0, sizeof(*t->inos));
	if (!t->inos) {
		free(t);
		return -ENOMEM;
	}
	t->ninos_cap = OVL_INO_BUCKETS0;
	t->store = store;
	t->next_ino = o->ino_base ? o->ino_base : o->root_ino + 1;
	randombytes_buf(t->hkey, sizeof(t->hkey));
	rc = ovl_node_new(t, &nw, &t->root);
	if (rc) {
		free(t->inos);
		free(t);
		return rc;
	}
	t->root->nlink = 2;
	t->root->u.dir.parent = t->root;
	t->root->u.dir.next_cookie = 1;
	pthread_rwlockattr_init(&attr);
	/* Metadata writers must not starve behind a stream of lookups. */
	pthread_rwlockattr_setkind_np(
		&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&t->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	*out = t;
	return 0;
}

void ovl_tree_free(struct ovl_tree *t)
{
	size_t i;

	if (!t)
		return;
	/* Directories first: their entries point at nodes, not vice versa. */
	for (i = 0; i < t->ninos_cap; i++) {
		struct ovl_node *n;

		for (n = t->inos[i]; n; n = n->ino_next)
			if (S_ISDIR(n->mode))
				ovl_dir_fini(t, n);
	}
	for (i = 0; i < t->ninos_cap; i++) {
		struct ovl_node *n = t->inos[i], *next;

		for (; n; n = next) {
			next = n->ino_next;
			ovl_node_free(t, n);
		}
	}
	free(t->inos);
	free(t->names);
	pthread_rwlock_destroy(&t->lock);
	free(t);
}

struct ovl_node *ovl_tree_root(struct ovl_tree *t)
{
	return t->root;
}

int ovl_statfs(struct ovl_tree *t, struct statvfs *st)
{
	int rc = seal_store_statfs(t->store, st);

	if (rc)
		return rc;
	pthread_rwlock_rdlock(&t->lock);
	st->f_files = st->f_ffree + t->nnodes;
	pthread_rwlock_unlock(&t->lock);
	st->f_namemax = OVL_NAME_MAX;
	return 0;
}

/* ---- nodes ---- */

struct ovl_node *ovl_node_get(struct ovl_tree *t, uint64_t ino)
{
	struct ovl_node *n;

	pthread_rwlock_rdlock(&t->lock);
	n = ovl_ino_find(t, ino);
	pthread_rwlock_unlock(&t->lock);
	return n;
}

uint64_t ovl_node_ino(const struct ovl_node *n)
{
	return n->ino;
}

mode_t ovl_node_type(const struct ovl_node *n)
{
	return n->mode & S_IFMT;
}

struct seal_file *ovl_node_file(const struct ovl_node *n)
{
	return S_ISREG(n->mode) ? n->u.file : NULL;
}

void ovl_node_ref(struct ovl_tree *t, struct ovl_node *n)
{
	(void)t;
	__atomic_add_fetch(&n->nlookup, 1, __ATOMIC_RELAXED);
}

void ovl_node_forget(struct ovl_tree *t, struct ovl_node *n, uint64_t nlookup)
{
	pthread_rwlock_wrlock(&t->lock);
	n->nlookup = nlookup < n->nlookup ? n->nlookup - nlookup : 0;
	ovl_node_maybe_free(t, n);
	pthread_rwlock_unlock(&t->lock);
}

void ovl_node_open(struct ovl_tree *t, struct ovl_node *n)
{
	(void)t;
	__atomic_add_fetch(&n->nopen, 1, __ATOMIC_RELAXED);
}

void ovl_node_release(struct ovl_tree *t, struct ovl_node *n)
{
	pthread_rwlock_wrlock(&t->lock);
	if (n->nopen)
		n->nopen--;
	ovl_node_maybe_free(t, n);
	pthread_rwlock_unlock(&t->lock);
}

void ovl_node_fill(const struct ovl_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = (ino_t)n->ino;
	st->st_mode = n->mode;
	st->st_nlink = n->nlink;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_atim = n->atime;
	st->st_mtim = n->mtime;
	st->st_ctim = n->ctime;
	st->st_blksize = 4096;
	if (S_ISREG(n->mode)) {
		st->st_size = seal_file_size(n->u.file);
		st->st_blocks = (blkcnt_t)seal_file_blocks(n->u.file);
	} else if (S_ISLNK(n->mode)) {
		st->st_size = (off_t)n->u.link.len;
	} else if (S_ISDIR(n->mode)) {
		st->st_size = 4096;
		st->st_blocks = 8;
	} else if (S_ISCHR(n->mode) || S_ISBLK(n->mode)) {
		st->st_rdev = n->u.rdev;
	}
}

void ovl_node_stat(struct ovl_tree *t, struct ovl_node *n, struct stat *st)
{
	pthread_rwlock_rdlock(&t->lock);
	ovl_node_fill(n, st);
	pthread_rwlock_unlock(&t->lock);
}

void ovl_node_touch(struct ovl_tree *t, struct ovl_node *n, unsigned what)
{
	struct timespec now;

	ovl_now(&now);
	pthread_rwlock_wrlock(&t->lock);
	if (what & OVL_TOUCH_ATIME)
		n->atime = now;
	if (what & OVL_TOUCH_MTIME)
		n->mtime = now;
	if (what & OVL_TOUCH_CTIME)
		n->ctime = now;
	pthread_rwlock_unlock(&t->lock);
}

ssize_t ovl_file_pread(struct ovl_tree *t, struct ovl_node *n, void *buf,
		       size_t len, off_t off)
{
	(void)t;
	if (!S_ISREG(n->mode))
		return S_ISDIR(n->mode) ? -EISDIR : -EINVAL;
	return seal_file_pread(n->u.file, buf, len, off);
}

ssize_t ovl_file_pwrite(struct ovl_tree *t, struct ovl_node *n, const void *buf,
			size_t len, off_t off)
{
	ssize_t r;

	if (!S_ISREG(n->mode))
		return S_ISDIR(n->mode) ? -EISDIR : -EINVAL;
	r = seal_file_pwrite(n->u.file, buf, len, off);
	if (r > 0)
		ovl_node_touch(t, n, OVL_TOUCH_MTIME | OVL_TOUCH_CTIME);
	return r;
}

/* ---- attributes ---- */

static void ovl_set_time(struct timespec *dst, const struct timespec *src,
			 bool now_flag, const struct timespec *now)
{
	if (now_flag || (src && src->tv_nsec == UTIME_NOW))
		*dst = *now;
	else if (src && src->tv_nsec != UTIME_OMIT)
		*dst = *src;
}

int ovl_setattr(struct ovl_tree *t, struct ovl_node *n,
		const struct ovl_setattr *sa, struct stat *st)
{
	unsigned v = sa->valid;
	struct timespec now;
	int rc = 0;

	ovl_now(&now);
	pthread_rwlock_wrlock(&t->lock);
	if (v & OVL_SET_SIZE) {
		if (S_ISDIR(n->mode))
			rc = -EISDIR;
		else if (!S_ISREG(n->mode))
			rc = -EINVAL;
		else if (sa->size != seal_file_size(n->u.file) &&
			 !(rc = seal_file_truncate(n->u.file, sa->size)))
			n->mtime = now;
		if (rc)
			goto out;
	}
	if (v & OVL_SET_MODE)
		n->mode = (n->mode & S_IFMT) | (sa->mode & 07777);
	if ((v & OVL_SET_UID) && sa->uid != (uid_t)-1)
		n->uid = sa->uid;
	if ((v & OVL_SET_GID) && sa->gid != (gid_t)-1)
		n->gid = sa->gid;
	if (v & (OVL_SET_ATIME | OVL_SET_ATIME_NOW))
		ovl_set_time(&n->atime, v & OVL_SET_ATIME ? &sa->atime : NULL,
			     v & OVL_SET_ATIME_NOW, &now);
	if (v & (OVL_SET_MTIME | OVL_SET_MTIME_NOW))
		ovl_set_time(&n->mtime, v & OVL_SET_MTIME ? &sa->mtime : NULL,
			     v & OVL_SET_MTIME_NOW, &now);
	n->ctime = (v & OVL_SET_CTIME) ? sa->ctime : now;
	if (st)
		ovl_node_fill(n, st);
out:
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

ssize_t ovl_readlink(struct ovl_tree *t, struct ovl_node *n, char *buf,
		     size_t size)
{
	ssize_t len;

	if (!S_ISLNK(n->mode))
		return -EINVAL;
	pthread_rwlock_rdlock(&t->lock);
	len = (ssize_t)(n->u.link.len < size ? n->u.link.len : size);
	memcpy(buf, n->u.link.p, (size_t)len);
	pthread_rwlock_unlock(&t->lock);
	return len;
}

/* ---- extended attributes ---- */

/* Check an xattr name. 0, -EOPNOTSUPP, -EINVAL or -ERANGE. */
static int ovl_xattr_name_ok(const char *name)
{
	size_t len = strlen(name), plen = strlen(OVL_XATTR_PREFIX);

	if (strncmp(name, OVL_XATTR_PREFIX, plen))
		return -EOPNOTSUPP;
	if (len == plen)
		return -EINVAL;
	if (len > OVL_XATTR_NAME_MAX)
		return -ERANGE;
	return 0;
}

static struct ovl_xattr **ovl_xattr_find(struct ovl_node *n, const char *name)
{
	struct ovl_xattr **pp;

	for (pp = &n->xattrs; *pp; pp = &(*pp)->next)
		if (!strcmp((const char *)(*pp)->data, name))
			return pp;
	return NULL;
}

static bool ovl_xattr_allowed(const struct ovl_node *n)
{
	return S_ISREG(n->mode) || S_ISDIR(n->mode);
}

ssize_t ovl_getxattr(struct ovl_tree *t, struct ovl_node *n, const char *name,
		     void *buf, size_t size)
{
	struct ovl_xattr **pp;
	ssize_t rc = ovl_xattr_name_ok(name);

	if (rc == -ERANGE)
		return -ENODATA;
	if (rc)
		return rc;
	pthread_rwlock_rdlock(&t->lock);
	pp = ovl_xattr_allowed(n) ? ovl_xattr_find(n, name) : NULL;
	if (!pp) {
		rc = -ENODATA;
	} else if (!size) {
		rc = (ssize_t)(*pp)->vlen;
	} else if (size < (*pp)->vlen) {
		rc = -ERANGE;
	} else {
		memcpy(buf, (*pp)->data + (*pp)->nlen + 1, (*pp)->vlen);
		rc = (ssize_t)(*pp)->vlen;
	}
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

int ovl_setxattr(struct ovl_tree *t, struct ovl_node *n, const char *name,
		 const void *value, size_t size, int flags)
{
	size_t nlen = strlen(name), old = 0;
	struct ovl_xattr **pp, *x;
	int rc = ovl_xattr_name_ok(name);

	if (rc)
		return rc;
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE) ||
	    flags == (XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	if (size > OVL_XATTR_VALUE_MAX)
		return -E2BIG;
	if (!ovl_xattr_allowed(n))
		return -EPERM;
	pthread_rwlock_wrlock(&t->lock);
	pp = ovl_xattr_find(n, name);
	if (pp && (flags & XATTR_CREATE)) {
		rc = -EEXIST;
		goto out;
	}
	if (!pp && (flags & XATTR_REPLACE)) {
		rc = -ENODATA;
		goto out;
	}
	if (pp)
		old = (*pp)->nlen + (*pp)->vlen;
	if (n->xattr_bytes - old + nlen + size > OVL_XATTR_NODE_MAX) {
		rc = -ENOSPC;
		goto out;
	}
	x = malloc(sizeof(*x) + nlen + 1 + size);
	if (!x) {
		rc = -ENOMEM;
		goto out;
	}
	x->nlen = nlen;
	x->vlen = size;
	memcpy(x->data, name, nlen + 1);
	if (size)
		memcpy(x->data + nlen + 1, value, size);
	if (pp) {
		struct ovl_xattr *gone = *pp;

		x->next = gone->next;
		*pp = x;
		sodium_memzero(gone->data, gone->nlen + 1 + gone->vlen);
		free(gone);
	} else {
		x->next = n->xattrs;
		n->xattrs = x;
	}
	n->xattr_bytes = n->xattr_bytes - old + nlen + size;
	ovl_now(&n->ctime);
out:
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

ssize_t ovl_listxattr(struct ovl_tree *t, struct ovl_node *n, char *buf,
		      size_t size)
{
	struct ovl_xattr *x;
	size_t need = 0;
	ssize_t rc;

	pthread_rwlock_rdlock(&t->lock);
	for (x = n->xattrs; x; x = x->next)
		need += x->nlen + 1;
	rc = (ssize_t)need;
	if (size && size < need) {
		rc = -ERANGE;
	} else if (size) {
		char *p = buf;

		for (x = n->xattrs; x; x = x->next) {
			memcpy(p, x->data, x->nlen + 1);
			p += x->nlen + 1;
		}
	}
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

int ovl_removexattr(struct ovl_tree *t, struct ovl_node *n, const char *name)
{
	struct ovl_xattr **pp, *gone;
	int rc = ovl_xattr_name_ok(name);

	if (rc == -ERANGE)
		return -ENODATA;
	if (rc)
		return rc;
	pthread_rwlock_wrlock(&t->lock);
	pp = ovl_xattr_find(n, name);
	if (!pp) {
		rc = -ENODATA;
	} else {
		gone = *pp;
		*pp = gone->next;
		n->xattr_bytes -= gone->nlen + gone->vlen;
		sodium_memzero(gone->data, gone->nlen + 1 + gone->vlen);
		free(gone);
		ovl_now(&n->ctime);
	}
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

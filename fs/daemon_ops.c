/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon_ops.c - FUSE low-level operations: lookup, attributes, folders,
 * opens and reads of masked views and passed-through files.
 */
#include "daemon_i.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "engine.h"

#define DMN_NAME_MAX 255
#define DMN_READ_MAX (1u << 20)

/* Per-open state (fi->fh). */
struct dmn_fh {
	struct vc_view *view; /* NS_VIEW */
	int fd;		      /* NS_PASS: source file */
	uint64_t bytes;	      /* served, atomic */
};

/* One entry of a folder listing snapshot (fi->fh of opendir). */
struct dmn_dirent {
	char *name;
	mode_t type;
	uint64_t ino;
};

struct dmn_dir {
	struct dmn_dirent *ents;
	size_t n;
};

void dmn_caller_get(struct dmn *d, fuse_req_t req, struct dmn_caller *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	const struct cfg *cfg = d->sbx->cfg;
	int n = 0;

	c->uid = ctx->uid;
	c->gid = ctx->gid;
	c->pid = ctx->pid;
	c->ngroups = 0;
	/* Supplementary groups cost a /proc read: only when roles use them. */
	for (size_t i = 0; i < cfg->nroles; i++)
		if (cfg->roles[i].ngids) {
			n = fuse_req_getgroups(req,
					       (int)SPOT_ARRAY_SIZE(c->groups),
					       c->groups);
			break;
		}
	if (n > 0)
		c->ngroups = (size_t)n < SPOT_ARRAY_SIZE(c->groups)
				     ? (size_t)n
				     : SPOT_ARRAY_SIZE(c->groups);
	c->role = cfg_role_for(cfg, c->uid, c->gid, c->groups, c->ngroups);
}

/* Source-relative path of a child: "name" under the root, "p/name" else. */
static int dmn_child_path(const struct ns_node *p, const char *name, char *buf,
			  size_t len)
{
	int n;

	if (p->relpath[0])
		n = snprintf(buf, len, "%s/%s", p->relpath, name);
	else
		n = snprintf(buf, len, "%s", name);
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static int dmn_src_stat(struct dmn *d, const char *relpath, struct stat *st)
{
	int rc;

	if (!relpath[0])
		rc = fstat(d->sbx->srcfd, st);
	else
		rc = fstatat(d->sbx->srcfd, relpath, st, 0);
	return rc ? -errno : 0;
}

/*
 * Whether a source entry is shown, and as what. Hidden entries (and
 * anything that is not a file or folder) are ENOENT: privacy by default.
 */
static int dmn_classify(struct dmn *d, const char *relpath,
			const struct stat *st, enum ns_kind *kind,
			const struct cfg_dataset **ds)
{
	const struct cfg *cfg = d->sbx->cfg;

	*ds = NULL;
	if (S_ISDIR(st->st_mode)) {
		if (cfg->dflt == CFG_DEFAULT_SHOW ||
		    cfg_is_dataset_parent(cfg, relpath)) {
			*kind = NS_DIR;
			return 0;
		}
		return -ENOENT;
	}
	if (!S_ISREG(st->st_mode))
		return -ENOENT;
	*ds = cfg_dataset_find(cfg, relpath);
	if (*ds) {
		*kind = NS_VIEW;
		return 0;
	}
	if (cfg->dflt == CFG_DEFAULT_SHOW) {
		*kind = NS_PASS;
		return 0;
	}
	return -ENOENT;
}

/* The view of a node for attributes: NULL if the role may not open it. */
static struct vc_view *dmn_node_view(struct dmn *d, const struct ns_node *n,
				     const char *role)
{
	struct vc_view *v = NULL;

	if (!cfg_dataset_allows(n->ds, role))
		return NULL; /* no build for a caller who cannot open it */
	if (vc_get(d->sbx->views, n->ds->name, "", n->role, &v))
		return NULL;
	return v;
}

static void dmn_fill_attr(struct dmn *d, const struct ns_node *n,
			  const struct stat *src, struct vc_view *v,
			  struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = d->owner;
	st->st_gid = d->owner_gid;
	st->st_atim = src->st_atim;
	st->st_mtim = src->st_mtim;
	st->st_ctim = src->st_ctim;
	st->st_blksize = 4096;
	switch (n->kind) {
	case NS_DIR:
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		break;
	case NS_VIEW:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (v && v->state == VC_READY)
				      ? (off_t)v->content.size
				      : 0;
		break;
	case NS_PASS:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = src->st_size;
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
}

static double dmn_timeout(const struct ns_node *n)
{
	if (n->kind != NS_VIEW)
		return DMN_TTL_SOURCE;
	/* Per-role views must be looked up again by every caller. */
	return n->role[0] ? 0.0 : DMN_TTL_VIEW;
}

static void dmn_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct dmn *d = fuse_req_userdata(req);
	struct fuse_entry_param e;
	struct dmn_caller c;
	const struct cfg_dataset *ds;
	struct ns_node *p, *n;
	struct vc_view *v = NULL;
	enum ns_kind kind;
	char rel[PATH_MAX];
	struct stat st;
	int rc;

	if (strlen(name) > DMN_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	p = ns_get(d->ns, parent);
	if (!p || p->kind != NS_DIR) {
		fuse_reply_err(req, p ? ENOTDIR : ENOENT);
		return;
	}
	rc = dmn_child_path(p, name, rel, sizeof(rel));
	if (!rc)
		rc = dmn_src_stat(d, rel, &st);
	if (!rc)
		rc = dmn_classify(d, rel, &st, &kind, &ds);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	dmn_caller_get(d, req, &c);
	n = ns_intern(d->ns, parent, name,
		      kind == NS_VIEW ? sbx_role_key(ds, c.role) : "", kind,
		      rel, ds);
	if (!n) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (kind == NS_VIEW)
		v = dmn_node_view(d, n, c.role);
	memset(&e, 0, sizeof(e));
	e.ino = n->ino;
	e.attr_timeout = e.entry_timeout = dmn_timeout(n);
	dmn_fill_attr(d, n, &st, v, &e.attr);
	fuse_reply_entry(req, &e);
}

static void dmn_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct dmn *d = fuse_req_userdata(req);

	ns_forget(d->ns, ino, nlookup);
	fuse_reply_none(req);
}

static void dmn_forget_multi(fuse_req_t req, size_t count,
			     struct fuse_forget_data *forgets)
{
	struct dmn *d = fuse_req_userdata(req);

	for (size_t i = 0; i < count; i++)
		ns_forget(d->ns, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void dmn_getattr(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct dmn *d = fuse_req_userdata(req);
	struct ns_node *n = ns_get(d->ns, ino);
	struct vc_view *v = NULL;
	struct stat src, st;
	int rc;

	(void)fi;
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	rc = dmn_src_stat(d, n->relpath, &src);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (n->kind == NS_VIEW) {
		struct dmn_caller c;

		dmn_caller_get(d, req, &c);
		v = dmn_node_view(d, n, c.role);
	}
	dmn_fill_attr(d, n, &src, v, &st);
	fuse_reply_attr(req, &st, dmn_timeout(n));
}

/* ---- folders ---- */

static void dmn_dir_free(struct dmn_dir *dir)
{
	for (size_t i = 0; i < dir->n; i++)
		free(dir->ents[i].name);
	free(dir->ents);
	free(dir);
}

static int dmn_dir_add(struct dmn_dir *dir, size_t *cap, const char *name,
		       mode_t type, uint64_t ino)
{
	if (dir->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		struct dmn_dirent *ne = realloc(dir->ents, ncap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		dir->ents = ne;
		*cap = ncap;
	}
	dir->ents[dir->n].name = strdup(name);
	if (!dir->ents[dir->n].name)
		return -ENOMEM;
	dir->ents[dir->n].type = type;
	dir->ents[dir->n].ino = ino;
	dir->n++;
	return 0;
}

/* A stable pseudo inode number for readdir; stat gives the real one. */
static uint64_t dmn_dirent_ino(const char *rel)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = rel; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	return h | (1ULL << 63);
}

/* Snapshot the visible entries of a source folder. */
static int dmn_dir_load(struct dmn *d, const struct ns_node *n,
			struct dmn_dir *dir)
{
	struct dirent *de;
	size_t cap = 0;
	DIR *dp;
	int fd, rc = 0;

	fd = n->relpath[0] ? openat(d->sbx->srcfd, n->relpath,
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC)
			   : dup(d->sbx->srcfd);
	if (fd < 0)
		return -errno;
	dp = fdopendir(fd);
	if (!dp) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rewinddir(dp);
	rc = dmn_dir_add(dir, &cap, ".", S_IFDIR, n->ino);
	if (!rc)
		rc = dmn_dir_add(dir, &cap, "..", S_IFDIR, n->parent);
	while (!rc && (de = readdir(dp))) {
		const struct cfg_dataset *ds;
		enum ns_kind kind;
		char rel[PATH_MAX];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (dmn_child_path(n, de->d_name, rel, sizeof(rel)) ||
		    dmn_src_stat(d, rel, &st) ||
		    dmn_classify(d, rel, &st, &kind, &ds))
			continue;
		rc = dmn_dir_add(dir, &cap, de->d_name,
				 kind == NS_DIR ? S_IFDIR : S_IFREG,
				 dmn_dirent_ino(rel));
	}
	closedir(dp);
	return rc;
}

static void dmn_opendir(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct dmn *d = fuse_req_userdata(req);
	struct ns_node *n = ns_get(d->ns, ino);
	struct dmn_dir *dir;
	int rc;

	if (!n || n->kind != NS_DIR) {
		fuse_reply_err(req, n ? ENOTDIR : ENOENT);
		return;
	}
	dir = calloc(1, sizeof(*dir));
	if (!dir) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = dmn_dir_load(d, n, dir);
	if (rc) {
		dmn_dir_free(dir);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)dir;
	fi->cache_readdir = 0;
	fuse_reply_open(req, fi);
}

static void dmn_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	struct dmn_dir *dir = (struct dmn_dir *)(uintptr_t)fi->fh;
	char *buf;
	size_t used = 0;

	(void)ino;
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = (size_t)off; off >= 0 && i < dir->n; i++) {
		struct stat st = { 0 };
		size_t len;

		st.st_ino = dir->ents[i].ino;
		st.st_mode = dir->ents[i].type;
		len = fuse_add_direntry(req, buf + used, size - used,
					dir->ents[i].name, &st, (off_t)i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void dmn_releasedir(fuse_req_t req, fuse_ino_t ino,
			   struct fuse_file_info *fi)
{
	(void)ino;
	dmn_dir_free((struct dmn_dir *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* ---- files ---- */

/* Access decision for opening a view: 0, -EACCES or -EIO (fail closed). */
static int dmn_access(struct dmn *d, const struct ns_node *n,
		      const struct dmn_caller *c, fuse_req_t req)
{
	struct pol_engine *eng = sbx_engine(d->sbx, n->ds);
	struct spot_err err = { "" };
	struct pol_ctx ctx;
	char reason[256] = "";
	bool allowed = false;
	int rc;

	(void)req;
	if (n->role[0] && strcmp(n->role, c->role) != 0)
		return -EACCES; /* a node looked up for another role */
	if (!cfg_dataset_allows(n->ds, c->role))
		return -EACCES;
	if (!eng || !pol_engine_has_access(eng))
		return 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.uid = c->uid;
	ctx.gid = c->gid;
	ctx.groups = c->groups;
	ctx.ngroups = c->ngroups;
	ctx.role = c->role;
	ctx.pid = c->pid;
	ctx.dataset = n->ds->name;
	ctx.path = n->relpath;
	rc = pol_engine_access(eng, &ctx, &allowed, reason, sizeof(reason),
			       &err);
	if (rc) {
		spot_log(SPOT_LOG_ERR, "%s: access policy failed: %s",
			 n->ds->name, err.msg);
		return -EIO;
	}
	return allowed ? 0 : -EACCES;
}

static void dmn_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dmn *d = fuse_req_userdata(req);
	struct ns_node *n = ns_get(d->ns, ino);
	struct dmn_fh *fh;
	struct dmn_caller c;
	int rc;

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (n->kind == NS_DIR) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fh = calloc(1, sizeof(*fh));
	if (!fh) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fh->fd = -1;
	dmn_caller_get(d, req, &c);
	if (n->kind == NS_PASS) {
		fh->fd = openat(d->sbx->srcfd, n->relpath,
				O_RDONLY | O_CLOEXEC | O_NOCTTY);
		rc = fh->fd < 0 ? -errno : 0;
	} else {
		rc = dmn_access(d, n, &c, req);
		if (!rc &&
		    vc_get(d->sbx->views, n->ds->name, "", n->role, &fh->view))
			rc = -ENOMEM;
		if (!rc && fh->view->state != VC_READY) {
			spot_log(SPOT_LOG_ERR, "%s", fh->view->msg);
			rc = -EIO;
		}
		/* Views never change within a sandbox: keep the page cache. */
		fi->keep_cache = 1;
	}
	if (rc) {
		free(fh);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)fh;
	__atomic_add_fetch(&d->open_files, 1, __ATOMIC_RELAXED);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* The opener was interrupted: nothing will release it. */
		if (fh->fd >= 0)
			close(fh->fd);
		free(fh);
		__atomic_sub_fetch(&d->open_files, 1, __ATOMIC_RELAXED);
	}
}

static void dmn_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct dmn_fh *fh = (struct dmn_fh *)(uintptr_t)fi->fh;
	ssize_t n;
	char *buf;

	(void)ino;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (fh->fd >= 0) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

		bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = fh->fd;
		bv.buf[0].pos = off;
		fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
		return;
	}
	if (size > DMN_READ_MAX)
		size = DMN_READ_MAX;
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = vc_view_read(fh->view, buf, size, (uint64_t)off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else {
		__atomic_add_fetch(&fh->bytes, (uint64_t)n, __ATOMIC_RELAXED);
		fuse_reply_buf(req, buf, (size_t)n);
	}
	free(buf);
}

static void dmn_release(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_fh *fh = (struct dmn_fh *)(uintptr_t)fi->fh;

	(void)ino;
	if (fh->fd >= 0)
		close(fh->fd);
	free(fh);
	__atomic_sub_fetch(&d->open_files, 1, __ATOMIC_RELAXED);
	fuse_reply_err(req, 0);
}

static void dmn_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct dmn *d = fuse_req_userdata(req);
	struct statvfs sv;
	uint64_t bytes;
	size_t views;

	(void)ino;
	vc_stats(d->sbx->views, &views, &bytes);
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = (bytes + 4095) / 4096;
	sv.f_files = views;
	sv.f_namemax = DMN_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

/* Extended attributes: views have none; answer without touching storage. */
static void dmn_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			 size_t size)
{
	(void)ino;
	(void)name;
	(void)size;
	fuse_reply_err(req, ENODATA);
}

static void dmn_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	(void)ino;
	if (size == 0)
		fuse_reply_xattr(req, 0);
	else
		fuse_reply_buf(req, NULL, 0);
}

/* ---- writes: refused until the overlay is mounted ---- */

static void dmn_erofs(fuse_req_t req)
{
	fuse_reply_err(req, EROFS);
}

static void dmn_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			int to_set, struct fuse_file_info *fi)
{
	(void)ino;
	(void)attr;
	(void)to_set;
	(void)fi;
	dmn_erofs(req);
}

static void dmn_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	dmn_erofs(req);
}

static void dmn_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode)
{
	(void)parent;
	(void)name;
	(void)mode;
	dmn_erofs(req);
}

static void dmn_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	(void)name;
	dmn_erofs(req);
}

static void dmn_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		       fuse_ino_t newparent, const char *newname,
		       unsigned int flags)
{
	(void)parent;
	(void)name;
	(void)newparent;
	(void)newname;
	(void)flags;
	dmn_erofs(req);
}

static void dmn_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	dmn_erofs(req);
}

static void dmn_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		     const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	dmn_erofs(req);
}

static void dmn_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, struct fuse_file_info *fi)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)fi;
	dmn_erofs(req);
}

static void dmn_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			 const char *value, size_t size, int flags)
{
	(void)ino;
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	dmn_erofs(req);
}

static void dmn_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	dmn_erofs(req);
}

const struct fuse_lowlevel_ops dmn_ops = {
	.lookup = dmn_lookup,
	.forget = dmn_forget,
	.forget_multi = dmn_forget_multi,
	.getattr = dmn_getattr,
	.setattr = dmn_setattr,
	.mknod = dmn_mknod,
	.mkdir = dmn_mkdir,
	.unlink = dmn_unlink,
	.rmdir = dmn_unlink,
	.symlink = dmn_symlink,
	.rename = dmn_rename,
	.link = dmn_link,
	.open = dmn_open,
	.read = dmn_read,
	.release = dmn_release,
	.opendir = dmn_opendir,
	.readdir = dmn_readdir,
	.releasedir = dmn_releasedir,
	.statfs = dmn_statfs,
	.setxattr = dmn_setxattr,
	.getxattr = dmn_getxattr,
	.listxattr = dmn_listxattr,
	.removexattr = dmn_removexattr,
	.create = dmn_create,
};

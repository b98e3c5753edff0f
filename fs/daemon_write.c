/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon_write.c - the writable side of the merged namespace: copy-up,
 * whiteouts, and every operation that changes names or metadata.
 *
 * Copy-up copies the masked view (never the source's raw bytes) into an
 * overlay file that takes the lower inode number. Deleting a lower entry
 * leaves a whiteout. Views whose masking depends on the caller's role are
 * not copied up (EPERM): one role's bytes must not become another's.
 */
#include "daemon_i.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* linux/fs.h, without pulling the whole header in */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* Overlay changes are audited without waiting (they gate no data). */
static void dmn_audit_ovl(struct dmn *d, fuse_req_t req, enum aud_type type,
			  const char *name, const char *detail)
{
	struct dmn_caller c;
	struct aud_event ev;

	dmn_caller_get(d, req, &c);
	aud_event_init(&ev, type, NULL);
	ev.path = name;
	ev.detail = detail;
	dmn_audit(d, &ev, &c, false);
}

void dmn_reply_upper_entry(struct dmn *d, fuse_req_t req, struct ovl_node *n)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	ovl_node_stat(d->ovl, n, &e.attr);
	e.ino = ovl_node_ino(n);
	e.attr_timeout = e.entry_timeout = DMN_TTL_UPPER;
	if (fuse_reply_entry(req, &e) == -ENOENT)
		ovl_node_forget(d->ovl, n, 1); /* the kernel never saw it */
}

/* Give an overlay node that took over a lower inode the kernel's lookups. */
static void dmn_take_over(struct dmn *d, struct ovl_node *n, uint64_t ino)
{
	uint64_t k = ns_take_lookups(d->ns, ino);

	/* Creation gave one reference that no kernel lookup stands for. */
	if (k == 0)
		ovl_node_forget(d->ovl, n, 1);
	for (uint64_t i = 1; i < k; i++)
		ovl_node_ref(d->ovl, n);
}

static int dmn_upper_dir_locked(struct dmn *d, uint64_t ino,
				struct ovl_node **out, int depth)
{
	struct ovl_node *up = ovl_node_get(d->ovl, ino), *pu, *nd = NULL;
	struct ns_node *n;
	struct ovl_new nw;
	struct stat st;
	int rc;

	if (up) {
		if (!S_ISDIR(ovl_node_type(up)))
			return -ENOTDIR;
		*out = up;
		return 0;
	}
	n = ns_get(d->ns, ino);
	if (!n)
		return -ENOENT;
	if (!dmn_lower_is_dir(n))
		return -ENOTDIR;
	if (depth > PATH_MAX / 2)
		return -ELOOP;
	rc = dmn_upper_dir_locked(d, n->parent, &pu, depth + 1);
	if (rc)
		return rc;
	rc = dmn_lower_attr(d, n, d->sbx->cfg->default_role, &st);
	if (rc)
		return rc;
	nw.mode = st.st_mode;
	nw.uid = st.st_uid;
	nw.gid = st.st_gid;
	nw.ino = ino;
	rc = ovl_mkdir(d->ovl, pu, n->name, &nw, &nd);
	if (rc)
		return rc == -EEXIST ? -ESTALE : rc;
	dmn_take_over(d, nd, ino);
	*out = nd;
	return 0;
}

int dmn_upper_dir(struct dmn *d, uint64_t ino, struct ovl_node **out)
{
	int rc;

	pthread_mutex_lock(&d->cu_lock);
	rc = dmn_upper_dir_locked(d, ino, out, 0);
	pthread_mutex_unlock(&d->cu_lock);
	return rc;
}

/* Copy the lower bytes of n into overlay file un. */
static int dmn_copy_data(struct dmn *d, const struct ns_node *n,
			 struct ovl_node *un)
{
	struct vc_view *v = NULL;
	uint64_t off = 0;
	char *buf;
	int fd = -1, rc = 0;

	if (n->kind == NS_VIEW) {
		if (vc_get(d->sbx->views, n->ds->name, n->sub, n->role, &v))
			return -ENOMEM;
		if (v->state != VC_READY)
			return -EIO; /* never fall back to the source */
	} else {
		/* Confined, and never a dataset under another name. */
		rc = sbx_pass_open(d->sbx, n->relpath, &fd, NULL);
		if (rc)
			return rc;
	}
	buf = malloc(DMN_IO_MAX);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t got = v ? vc_view_read(v, buf, DMN_IO_MAX, off)
				: pread(fd, buf, DMN_IO_MAX, (off_t)off);
		ssize_t put;

		if (got < 0) {
			/* -ESTALE: the pinned source changed (fail closed). */
			rc = !v ? -errno : got == -ESTALE ? -EIO : (int)got;
			break;
		}
		if (got == 0)
			break;
		put = ovl_file_pwrite(d->ovl, un, buf, (size_t)got, (off_t)off);
		if (put != got) {
			rc = put < 0 ? (int)put : -EIO;
			break;
		}
		off += (uint64_t)got;
	}
	free(buf);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int dmn_copy_up(struct dmn *d, uint64_t ino, bool with_data,
		struct ovl_node **out)
{
	struct ovl_node *up, *pu, *un = NULL;
	struct ovl_setattr sa;
	struct ns_node *n;
	struct ovl_new nw;
	struct stat st;
	int rc;

	pthread_mutex_lock(&d->cu_lock);
	up = ovl_node_get(d->ovl, ino);
	if (up) {
		*out = up; /* another thread won the race */
		rc = 0;
		goto out;
	}
	n = ns_get(d->ns, ino);
	rc = !n ? -ENOENT : dmn_lower_is_dir(n) ? -EISDIR : 0;
	if (!rc && n->kind == NS_VIEW && n->role[0])
		rc = -EPERM;
	if (!rc)
		rc = dmn_upper_dir_locked(d, n->parent, &pu, 0);
	if (!rc)
		rc = dmn_lower_attr(d, n, d->sbx->cfg->default_role, &st);
	if (rc)
		goto out;
	nw.mode = S_IFREG | (st.st_mode & 07777);
	nw.uid = st.st_uid;
	nw.gid = st.st_gid;
	nw.ino = ino;
	rc = ovl_create(d->ovl, pu, n->name, &nw, &un);
	if (rc)
		goto out;
	if (with_data)
		rc = dmn_copy_data(d, n, un);
	if (rc) {
		spot_log(SPOT_LOG_ERR, "copy-up of %s failed: %s", n->relpath,
			 strerror(-rc));
		ovl_unlink(d->ovl, pu, n->name, 0);
		ovl_node_forget(d->ovl, un, 1);
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.valid = OVL_SET_ATIME | OVL_SET_MTIME;
	sa.atime = st.st_atim;
	sa.mtime = st.st_mtim;
	ovl_setattr(d->ovl, un, &sa, NULL);
	dmn_take_over(d, un, ino);
	*out = un;
out:
	pthread_mutex_unlock(&d->cu_lock);
	return rc;
}

/* The overlay node of ino, copied up (with data) if it is lower only. */
static int dmn_upper_of(struct dmn *d, uint64_t ino, bool with_data,
			struct ovl_node **out)
{
	struct ovl_node *up = ovl_node_get(d->ovl, ino);
	struct ns_node *n;

	if (up) {
		*out = up;
		return 0;
	}
	n = ns_get(d->ns, ino);
	if (!n)
		return -ENOENT;
	if (dmn_lower_is_dir(n))
		return dmn_upper_dir(d, ino, out);
	return dmn_copy_up(d, ino, with_data, out);
}

/* Whether parent (merged) shows name, upper or lower. */
static bool dmn_merged_has(struct dmn *d, uint64_t parent, struct ovl_node *pu,
			   const char *name, bool *is_dir)
{
	struct ovl_node *un = NULL;
	enum ovl_hit hit = OVL_MISS;
	struct ns_node *p;

	if (pu && !ovl_lookup(d->ovl, pu, name, &hit, &un) && hit != OVL_MISS) {
		if (hit == OVL_FOUND) {
			if (is_dir)
				*is_dir = S_ISDIR(ovl_node_type(un));
			ovl_node_forget(d->ovl, un, 1);
		}
		return hit == OVL_FOUND;
	}
	p = ns_get(d->ns, parent);
	return dmn_lower_is_dir(p) && dmn_lower_has(d, p, name, is_dir);
}

/* Whether lower folder parent has name (so removing it needs a whiteout). */
static bool dmn_lower_named(struct dmn *d, uint64_t parent, const char *name)
{
	struct ns_node *p = ns_get(d->ns, parent);

	return dmn_lower_is_dir(p) && dmn_lower_has(d, p, name, NULL);
}

/* ---- creating names ---- */

static void dmn_new_node(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, const char *target,
			 struct fuse_file_info *fi)
{
	struct dmn *d = fuse_req_userdata(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct ovl_node *pu, *un = NULL;
	struct ovl_new nw;
	int rc;

	if (strlen(name) > DMN_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	rc = dmn_upper_dir(d, parent, &pu);
	if (!rc && dmn_merged_has(d, parent, pu, name, NULL))
		rc = -EEXIST;
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	nw.mode = mode;
	nw.uid = ctx->uid;
	nw.gid = ctx->gid;
	nw.ino = 0;
	if (S_ISDIR(mode))
		rc = ovl_mkdir(d->ovl, pu, name, &nw, &un);
	else if (S_ISLNK(mode))
		rc = ovl_symlink(d->ovl, pu, name, target, &nw, &un);
	else
		rc = ovl_create(d->ovl, pu, name, &nw, &un);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	dmn_audit_ovl(d, req, AUD_EV_OVERLAY_CREATE, name,
		      S_ISDIR(mode)   ? "folder"
		      : S_ISLNK(mode) ? "symlink"
				      : "file");
	if (!fi) {
		dmn_reply_upper_entry(d, req, un);
		return;
	}
	{
		struct dmn_fh *fh = calloc(1, sizeof(*fh));
		struct fuse_entry_param e;

		if (!fh) {
			ovl_unlink(d->ovl, pu, name, 0);
			ovl_node_forget(d->ovl, un, 1);
			fuse_reply_err(req, ENOMEM);
			return;
		}
		fh->fd = -1;
		fh->up = un;
		ovl_node_open(d->ovl, un);
		memset(&e, 0, sizeof(e));
		ovl_node_stat(d->ovl, un, &e.attr);
		e.ino = ovl_node_ino(un);
		e.attr_timeout = e.entry_timeout = DMN_TTL_UPPER;
		fi->fh = (uintptr_t)fh;
		fi->keep_cache = 1;
		__atomic_add_fetch(&d->open_files, 1, __ATOMIC_RELAXED);
		dmn_fh_track(d, fh);
		if (fuse_reply_create(req, &e, fi) == -ENOENT) {
			dmn_fh_close(d, fh); /* releases the open count */
			ovl_node_forget(d->ovl, un, 1);
		}
	}
}

void dmn_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, struct fuse_file_info *fi)
{
	if (dmn_closing(fuse_req_userdata(req))) {
		fuse_reply_err(req, EIO); /* expiring, or no audit log */
		return;
	}
	dmn_new_node(req, parent, name, S_IFREG | (mode & 07777), NULL, fi);
}

void dmn_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       dev_t rdev)
{
	if (S_ISCHR(mode) || S_ISBLK(mode) || rdev) {
		fuse_reply_err(req, EPERM); /* no device nodes in a sandbox */
		return;
	}
	dmn_new_node(req, parent, name, mode, NULL, NULL);
}

void dmn_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	dmn_new_node(req, parent, name, S_IFDIR | (mode & 07777), NULL, NULL);
}

void dmn_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		 const char *name)
{
	dmn_new_node(req, parent, name, S_IFLNK | 0777, link, NULL);
}

void dmn_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	      const char *newname)
{
	struct dmn *d = fuse_req_userdata(req);
	struct ovl_node *src, *pu, *un = NULL;
	int rc;

	rc = dmn_upper_of(d, ino, true, &src);
	if (!rc && S_ISDIR(ovl_node_type(src)))
		rc = -EPERM;
	if (!rc)
		rc = dmn_upper_dir(d, newparent, &pu);
	if (!rc && dmn_merged_has(d, newparent, pu, newname, NULL))
		rc = -EEXIST;
	if (!rc)
		rc = ovl_link(d->ovl, src, pu, newname, &un);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		dmn_reply_upper_entry(d, req, un);
}

void dmn_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct dmn *d = fuse_req_userdata(req);
	struct ovl_node *up = ovl_node_get(d->ovl, ino);
	char buf[OVL_SYMLINK_MAX + 1];
	ssize_t n;

	if (!up) {
		fuse_reply_err(req, EINVAL); /* the source shows no links */
		return;
	}
	n = ovl_readlink(d->ovl, up, buf, sizeof(buf) - 1);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	buf[n] = 0;
	fuse_reply_readlink(req, buf);
}

/* ---- removing names ---- */

/*
 * Whether a merged folder shows no entries: 0 or -ENOTEMPTY. Upper entries
 * are the overlay's business (ovl_rmdir checks them); here every visible
 * lower entry must be hidden by a whiteout or replaced by an upper entry
 * (which ovl_rmdir then counts).
 */
struct dmn_empty {
	struct dmn *d;
	struct ovl_node *dir_up;
};

/* A visible lower entry keeps the folder busy unless the overlay has it. */
static int dmn_empty_one(void *arg, const char *name, bool is_dir)
{
	struct dmn_empty *e = arg;
	struct ovl_node *un = NULL;
	enum ovl_hit hit = OVL_MISS;

	(void)is_dir;
	if (e->dir_up && !ovl_lookup(e->d->ovl, e->dir_up, name, &hit, &un) &&
	    hit == OVL_FOUND)
		ovl_node_forget(e->d->ovl, un, 1);
	return hit == OVL_MISS ? -ENOTEMPTY : 0;
}

static int dmn_lower_empty(struct dmn *d, struct ovl_node *dir_up,
			   const struct ns_node *dir_low)
{
	struct dmn_empty e = { d, dir_up };

	if (!dmn_lower_is_dir(dir_low) ||
	    (dir_up && ovl_dir_opaque(d->ovl, dir_up)))
		return 0;
	return dmn_lower_children(d, dir_low, dmn_empty_one, &e);
}

/* unlink(2) and rmdir(2) of a merged entry. */
static int dmn_remove(struct dmn *d, fuse_ino_t parent, const char *name,
		      bool dir)
{
	struct ovl_node *pu, *un = NULL;
	enum ovl_hit hit = OVL_MISS;
	bool lower = dmn_lower_named(d, parent, name), is_dir = false;
	unsigned flags = lower ? OVL_WHITEOUT : 0;
	int rc;

	rc = dmn_upper_dir(d, parent, &pu);
	if (rc)
		return rc;
	rc = ovl_lookup(d->ovl, pu, name, &hit, &un);
	if (rc)
		return rc;
	if (hit == OVL_HIDDEN || (hit == OVL_MISS && !lower))
		return -ENOENT;
	if (hit == OVL_FOUND) {
		uint64_t ino = ovl_node_ino(un);

		is_dir = S_ISDIR(ovl_node_type(un));
		if (dir && is_dir)
			rc = dmn_lower_empty(d, un, ns_get(d->ns, ino));
		ovl_node_forget(d->ovl, un, 1);
		if (rc)
			return rc;
	} else {
		struct ns_node *p = ns_get(d->ns, parent);

		dmn_lower_has(d, p, name, &is_dir);
		if (dir && is_dir) {
			struct ns_node *c;
			struct dmn_caller caller;
			struct stat src;

			memset(&caller, 0, sizeof(caller));
			caller.role = d->sbx->cfg->default_role;
			rc = dmn_lower_lookup(d, p, name, &caller, &c, &src);
			if (!rc) {
				ns_forget(d->ns, c->ino, 1);
				rc = dmn_lower_empty(d, NULL, c);
			}
			if (rc)
				return rc;
		}
	}
	if (dir && !is_dir)
		return -ENOTDIR;
	if (!dir && is_dir)
		return -EISDIR;
	if (hit == OVL_MISS)
		return ovl_dir_whiteout(d->ovl, pu, name);
	return dir ? ovl_rmdir(d->ovl, pu, name, flags)
		   : ovl_unlink(d->ovl, pu, name, flags);
}

static void dmn_remove_req(fuse_req_t req, fuse_ino_t parent, const char *name,
			   bool dir)
{
	struct dmn *d = fuse_req_userdata(req);
	int rc = dmn_remove(d, parent, name, dir);

	if (!rc)
		dmn_audit_ovl(d, req, AUD_EV_OVERLAY_DELETE, name,
			      dir ? "folder" : "file");
	fuse_reply_err(req, -rc);
}

void dmn_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	dmn_remove_req(req, parent, name, false);
}

void dmn_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	dmn_remove_req(req, parent, name, true);
}

/* ---- rename ---- */

/*
 * Bring a merged entry into the overlay so ovl_rename can move it. A lower
 * folder with lower contents cannot move (its children live in the source
 * under the old path): EXDEV, as overlayfs does, and mv falls back to copy.
 */
static int dmn_rename_prepare(struct dmn *d, fuse_ino_t parent,
			      struct ovl_node *pu, const char *name)
{
	struct ovl_node *un = NULL, *cu;
	enum ovl_hit hit = OVL_MISS;
	struct dmn_caller caller;
	struct ns_node *p, *c;
	struct stat src;
	int rc;

	rc = ovl_lookup(d->ovl, pu, name, &hit, &un);
	if (rc)
		return rc;
	if (hit == OVL_FOUND) {
		uint64_t ino = ovl_node_ino(un);
		bool dir = S_ISDIR(ovl_node_type(un));

		ovl_node_forget(d->ovl, un, 1);
		if (dir && ns_get(d->ns, ino) &&
		    dmn_lower_empty(d, un, ns_get(d->ns, ino)))
			return -EXDEV;
		return 0;
	}
	if (hit == OVL_HIDDEN)
		return -ENOENT;
	p = ns_get(d->ns, parent);
	if (!dmn_lower_is_dir(p))
		return -ENOENT;
	memset(&caller, 0, sizeof(caller));
	caller.role = d->sbx->cfg->default_role;
	rc = dmn_lower_lookup(d, p, name, &caller, &c, &src);
	if (rc)
		return rc;
	ns_forget(d->ns, c->ino, 1);
	if (dmn_lower_is_dir(c))
		return dmn_lower_empty(d, NULL, c)
			       ? -EXDEV
			       : dmn_upper_dir(d, c->ino, &cu);
	return dmn_copy_up(d, c->ino, true, &cu);
}

void dmn_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct dmn *d = fuse_req_userdata(req);
	struct ovl_node *opu, *npu;
	bool src_lower, dst_exists;
	int rc;

	if (strlen(newname) > DMN_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	rc = dmn_upper_dir(d, parent, &opu);
	if (!rc)
		rc = dmn_upper_dir(d, newparent, &npu);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	src_lower = dmn_lower_named(d, parent, name);
	dst_exists = dmn_merged_has(d, newparent, npu, newname, NULL);
	if ((flags & RENAME_NOREPLACE) && dst_exists)
		rc = -EEXIST;
	else if ((flags & RENAME_EXCHANGE) && !dst_exists)
		rc = -ENOENT;
	if (!rc)
		rc = dmn_rename_prepare(d, parent, opu, name);
	/* An existing target is replaced or swapped: it must be upper too. */
	if (!rc && dst_exists)
		rc = dmn_rename_prepare(d, newparent, npu, newname);
	if (!rc)
		rc = ovl_rename(d->ovl, opu, name, npu, newname, flags,
				src_lower && !(flags & RENAME_EXCHANGE)
					? OVL_WHITEOUT
					: 0);
	if (!rc)
		dmn_audit_ovl(d, req, AUD_EV_OVERLAY_RENAME, name, newname);
	fuse_reply_err(req, -rc);
}

/* ---- attributes and extended attributes ---- */

/* FUSE's setattr bits and the overlay's. */
static const struct {
	int fuse;
	unsigned ovl;
} dmn_set_map[] = {
	{ FUSE_SET_ATTR_MODE, OVL_SET_MODE },
	{ FUSE_SET_ATTR_UID, OVL_SET_UID },
	{ FUSE_SET_ATTR_GID, OVL_SET_GID },
	{ FUSE_SET_ATTR_SIZE, OVL_SET_SIZE },
	{ FUSE_SET_ATTR_ATIME, OVL_SET_ATIME },
	{ FUSE_SET_ATTR_MTIME, OVL_SET_MTIME },
	{ FUSE_SET_ATTR_ATIME_NOW, OVL_SET_ATIME_NOW },
	{ FUSE_SET_ATTR_MTIME_NOW, OVL_SET_MTIME_NOW },
	{ FUSE_SET_ATTR_CTIME, OVL_SET_CTIME },
};

void dmn_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		 struct fuse_file_info *fi)
{
	struct dmn *d = fuse_req_userdata(req);
	bool to_zero = (to_set & FUSE_SET_ATTR_SIZE) && attr->st_size == 0;
	struct ovl_setattr sa;
	struct ovl_node *up;
	struct stat st;
	int rc;

	(void)fi;
	rc = dmn_upper_of(d, ino, !to_zero, &up);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	memset(&sa, 0, sizeof(sa));
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(dmn_set_map); i++)
		if (to_set & dmn_set_map[i].fuse)
			sa.valid |= dmn_set_map[i].ovl;
	sa.mode = attr->st_mode;
	sa.uid = attr->st_uid;
	sa.gid = attr->st_gid;
	sa.size = attr->st_size;
	sa.atime = attr->st_atim;
	sa.mtime = attr->st_mtim;
	sa.ctime = attr->st_ctim;
	rc = ovl_setattr(d->ovl, up, &sa, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, DMN_TTL_UPPER);
}

void dmn_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		   off_t length, struct fuse_file_info *fi)
{
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_fh *fh = (struct dmn_fh *)(uintptr_t)fi->fh;
	int rc;

	(void)ino;
	if (!fh->up || !ovl_node_file(fh->up)) {
		fuse_reply_err(req, EBADF);
		return;
	}
	rc = seal_file_fallocate(ovl_node_file(fh->up), mode, offset, length);
	if (!rc)
		ovl_node_touch(d->ovl, fh->up,
			       OVL_TOUCH_MTIME | OVL_TOUCH_CTIME);
	fuse_reply_err(req, -rc);
}

void dmn_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags)
{
	struct dmn *d = fuse_req_userdata(req);
	struct ovl_node *up;
	int rc;

	if (strncmp(name, "user.", 5) != 0) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	rc = dmn_upper_of(d, ino, true, &up);
	if (!rc)
		rc = ovl_setxattr(d->ovl, up, name, value, size, flags);
	fuse_reply_err(req, -rc);
}

/* Reply to getxattr/listxattr: the size asked for with size 0, else data. */
static void dmn_xattr_reply(fuse_req_t req, ssize_t n, size_t size,
			    const char *buf)
{
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (!size)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

void dmn_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct dmn *d = fuse_req_userdata(req);
	struct ovl_node *up = ovl_node_get(d->ovl, ino);
	char *buf = NULL;
	ssize_t n;

	/* Lower entries have none; answer without a round trip to storage. */
	if (!up || strncmp(name, "user.", 5) != 0) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (size) {
		buf = malloc(size);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	n = ovl_getxattr(d->ovl, up, name, buf, size);
	dmn_xattr_reply(req, n, size, buf);
	free(buf);
}

void dmn_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct dmn *d = fuse_req_userdata(req);
	struct ovl_node *up = ovl_node_get(d->ovl, ino);
	char *buf = NULL;
	ssize_t n;

	if (!up) {
		if (!size)
			fuse_reply_xattr(req, 0);
		else
			fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size) {
		buf = malloc(size);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	n = ovl_listxattr(d->ovl, up, buf, size);
	dmn_xattr_reply(req, n, size, buf);
	free(buf);
}

void dmn_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct dmn *d = fuse_req_userdata(req);
	struct ovl_node *up = ovl_node_get(d->ovl, ino);

	if (strncmp(name, "user.", 5) != 0) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	fuse_reply_err(req, up ? -ovl_removexattr(d->ovl, up, name) : ENODATA);
}

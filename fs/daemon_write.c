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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

/* linux/fs.h, without pulling the whole header in */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* ---- per-role overlay ---- */

struct ovl_tree *dmn_ovl(struct dmn *d, const char *role)
{
	const struct cfg *cfg = d->sbx->cfg;

	if (!d->per_role)
		return d->ovls[0];
	for (size_t i = 0; i < cfg->nroles; i++)
		if (!strcmp(cfg->roles[i].name, role))
			return d->ovls[i];
	return d->ovls[cfg->nroles]; /* default_role and anything else */
}

struct ovl_tree *dmn_ovl_req(struct dmn *d, fuse_req_t req,
			     struct dmn_caller *c)
{
	if (dmn_caller_get(d, req, c))
		return NULL;
	return dmn_ovl(d, c->role);
}

struct ovl_tree *dmn_ovl_of_ino(struct dmn *d, uint64_t ino)
{
	const struct ns_node *n;
	uint64_t i = ino / DMN_UPPER_INO_BASE;

	if (!d->per_role)
		return d->ovls[0];
	if (i)
		return i <= d->novls ? d->ovls[i - 1] : NULL;
	n = ns_get(d->ns, ino);
	return n && !dmn_lower_is_dir(n) ? dmn_ovl(d, n->role) : NULL;
}

bool dmn_lower_for(struct dmn *d, const struct ns_node *n, const char *role)
{
	return !d->per_role || dmn_lower_is_dir(n) || !strcmp(n->role, role);
}

const char *dmn_view_key(const struct ns_node *n)
{
	if (n->kind != NS_VIEW)
		return "";
	/* A DP release is the role's own (its ledger, its row filter). */
	return sbx_dp_is(n->sub) ? n->role : sbx_role_key(n->ds, n->role);
}

double dmn_upper_entry_ttl(struct dmn *d)
{
	return d->per_role ? DMN_TTL_ROLE : DMN_TTL_UPPER;
}

double dmn_upper_attr_ttl(struct dmn *d, struct ovl_node *n)
{
	/*
	 * Folders are shared inodes (their mode must be asked again), and a
	 * file's getattr must reach the role check even through a reopened
	 * /proc/PID/fd link of another role's process.
	 */
	(void)n;
	return d->per_role ? DMN_TTL_ROLE : DMN_TTL_UPPER;
}

/*
 * Audit paths of overlay entries: names written in the sandbox may hold
 * personal data and the audit log outlives the sandbox, so they are
 * recorded as a keyed digest of the full path (same path, same digest,
 * within a sandbox or across sandboxes sharing a secret file). Paths the
 * config names (datasets) are no secret: they stay readable.
 */
void dmn_ovl_path(struct dmn *d, struct ovl_tree *t, struct ovl_node *dir,
		  const char *name, char *buf, size_t len)
{
	char path[PATH_MAX + DMN_NAME_MAX + 2];
	uint8_t h[8];
	size_t pl;

	if (ovl_node_path(t, dir, path, sizeof(path) - DMN_NAME_MAX - 1))
		snprintf(path, sizeof(path), "/?%llu",
			 (unsigned long long)ovl_node_ino(dir));
	pl = strlen(path);
	if (name)
		snprintf(path + pl, sizeof(path) - pl, "%s%s",
			 pl > 1 ? "/" : "", name);
	if (path[1] && cfg_dataset_find(d->sbx->cfg, path + 1)) {
		snprintf(buf, len, "%s", path + 1);
		return;
	}
	crypto_generichash(h, sizeof(h), (const uint8_t *)path, strlen(path),
			   d->sbx->name_key, 32);
	snprintf(buf, len, "ovl:");
	sodium_bin2hex(buf + 4, len > 4 ? len - 4 : 0, h, sizeof(h));
}

/* Overlay changes are audited without waiting (they gate no data). */
static void dmn_audit_ovl(struct dmn *d, const struct dmn_caller *c,
			  enum aud_type type, const char *path,
			  const char *detail)
{
	struct aud_event ev;

	aud_event_init(&ev, type, NULL);
	ev.path = path;
	ev.detail = detail;
	dmn_audit(d, &ev, c, false);
}

/*
 * Open overlay file up into fh for c, audited first. Queued, not waited
 * for: the bytes are the role's own writes, not a policy decision, and a
 * synchronous commit per open tripled the cost of small-file work; an
 * audit log that is down still refuses the open (dmn_closing, and -EIO
 * from a failed queue). The path is kept: the write record at release
 * names the file as it was opened, not as a rename since left it (the
 * kernel sends RELEASE after close() has returned).
 */
int dmn_fh_open_upper(struct dmn *d, struct dmn_fh *fh, struct ovl_tree *t,
		      struct ovl_node *up, const struct dmn_caller *c,
		      bool writing)
{
	struct aud_event ev;
	char path[PATH_MAX] = "";
	int rc;

	dmn_ovl_path(d, t, up, NULL, path, sizeof(path));
	fh->opath = strdup(path);
	if (!fh->opath)
		return -ENOMEM;
	aud_event_init(&ev, AUD_EV_OVERLAY_OPEN, NULL);
	ev.path = path;
	ev.decision = "allow";
	ev.detail = writing ? "write" : "read";
	rc = dmn_audit(d, &ev, c, false);
	if (rc) {
		free(fh->opath);
		fh->opath = NULL;
		return rc;
	}
	ovl_node_open(t, up);
	fh->up = up;
	fh->ovl = t;
	fh->who = *c;
	fh->who.groups = NULL;
	fh->who.ngroups = 0;
	return 0;
}

void dmn_reply_upper_entry(struct dmn *d, struct ovl_tree *t, fuse_req_t req,
			   struct ovl_node *n)
{
	struct fuse_entry_param e;
	uint64_t ino = ovl_node_ino(n);
	bool twin = d->per_role && ino < DMN_UPPER_INO_BASE &&
		    S_ISDIR(ovl_node_type(n));

	memset(&e, 0, sizeof(e));
	ovl_node_stat(t, n, &e.attr);
	e.ino = ino;
	e.entry_timeout = dmn_upper_entry_ttl(d);
	e.attr_timeout = dmn_upper_attr_ttl(d, n);
	if (twin) {
		/* A shared folder inode: ns counts its kernel lookups. */
		ovl_node_forget(t, n, 1);
		ns_ref(d->ns, ino);
	}
	if (fuse_reply_entry(req, &e) == -ENOENT) {
		if (twin)
			ns_forget(d->ns, ino, 1);
		else
			ovl_node_forget(t, n, 1); /* the kernel never saw it */
	}
}

/* Give an overlay node that took over a lower inode the kernel's lookups. */
static void dmn_take_over(struct dmn *d, struct ovl_tree *t, struct ovl_node *n,
			  uint64_t ino)
{
	uint64_t k;

	/*
	 * Per role, a lower folder is one inode for every role: its lookups
	 * stay in ns, and its twin keeps the creation reference for good
	 * (an unlinked twin lives until the sandbox ends).
	 */
	if (d->per_role && S_ISDIR(ovl_node_type(n)))
		return;
	k = ns_take_lookups(d->ns, ino);
	/* Creation gave one reference that no kernel lookup stands for. */
	if (k == 0)
		ovl_node_forget(t, n, 1);
	for (uint64_t i = 1; i < k; i++)
		ovl_node_ref(t, n);
}

static int dmn_upper_dir_locked(struct dmn *d, struct ovl_tree *t, uint64_t ino,
				struct ovl_node **out, int depth)
{
	struct ovl_node *up = ovl_node_get(t, ino), *pu, *nd = NULL;
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
	if (n->kind == NS_DPDIR)
		return -EROFS; /* _dp/ has no overlay twin: nothing lands there */
	if (depth > PATH_MAX / 2)
		return -ELOOP;
	rc = dmn_upper_dir_locked(d, t, n->parent, &pu, depth + 1);
	if (rc)
		return rc;
	rc = dmn_lower_attr(d, n, d->sbx->cfg->default_role, true, NULL, &st);
	if (rc)
		return rc;
	nw.mode = st.st_mode;
	nw.uid = st.st_uid;
	nw.gid = st.st_gid;
	nw.ino = ino;
	nw.rdev = 0;
	rc = ovl_mkdir(t, pu, n->name, &nw, &nd);
	if (rc)
		return rc == -EEXIST ? -ESTALE : rc;
	dmn_take_over(d, t, nd, ino);
	*out = nd;
	return 0;
}

int dmn_upper_dir(struct dmn *d, struct ovl_tree *t, uint64_t ino,
		  struct ovl_node **out)
{
	int rc;

	pthread_mutex_lock(&d->cu_lock);
	rc = dmn_upper_dir_locked(d, t, ino, out, 0);
	pthread_mutex_unlock(&d->cu_lock);
	return rc;
}

/* Copy the lower bytes of n into overlay file un. */
static int dmn_copy_data(struct dmn *d, struct ovl_tree *t,
			 const struct ns_node *n, struct ovl_node *un)
{
	struct vc_view *v = NULL;
	uint64_t off = 0;
	char *buf;
	int fd = -1, rc = 0;

	if (n->kind == NS_VIEW) {
		if (vc_get(d->sbx->views, n->ds->name, n->sub, dmn_view_key(n),
			   &v))
			return -ENOMEM;
		if (v->state != VC_READY) {
			vc_put(v);
			return -EIO; /* never fall back to the source */
		}
	} else {
		/* Confined, and never a dataset under another name. */
		rc = dmn_pass_open(d, n, &fd, NULL); /* as the caller */
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
		put = ovl_file_pwrite(t, un, buf, (size_t)got, (off_t)off);
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
	vc_put(v);
	return rc;
}

/*
 * A copy-up of lower view n by c is an open of it that reads all of it:
 * decided, charged and on record before a byte is copied (see daemon_i.h).
 * The view is built first (never a lock across a build): under cu_lock
 * it is ready, or failed and copied nothing (dmn_copy_data).
 */
static int dmn_copy_up_view(struct dmn *d, const struct ns_node *n,
			    const struct dmn_caller *c, bool with_data)
{
	uint64_t size = 0;
	struct vc_view *v;
	int rc = 0, arc;

	if (sbx_dp_is(n->sub))
		return -EROFS; /* a DP release stays the daemon's */
	if (dmn_view_key(n)[0])
		return -EPERM; /* one role's bytes never become another's */
	rc = dmn_view_access(d, n, c);
	if (!rc) {
		if (vc_get(d->sbx->views, n->ds->name, n->sub, dmn_view_key(n),
			   &v))
			return -ENOMEM;
		if (v->state == VC_READY)
			size = v->content.size;
		else
			rc = -EIO; /* never fall back to the source */
		vc_put(v);
	}
	/* Like an open for reading, with all the bytes it copies at once. */
	if (!rc)
		rc = dmn_quota_copy(d, n, c, with_data ? size : 0);
	arc = dmn_audit_open(d, n, c, rc, "copy-up");
	return rc ? rc : arc;
}

int dmn_copy_up(struct dmn *d, struct ovl_tree *t, const struct dmn_caller *c,
		uint64_t ino, bool with_data, struct ovl_node **out)
{
	struct ovl_node *up, *pu, *un = NULL;
	struct ovl_setattr sa;
	struct ns_node *n;
	struct ovl_new nw;
	bool gated = false;
	struct stat st;
	int rc;

	n = ns_get(d->ns, ino);
	if (n && n->kind == NS_VIEW) {
		rc = dmn_copy_up_view(d, n, c, with_data);
		if (rc)
			return rc;
		gated = true;
	}
	pthread_mutex_lock(&d->cu_lock);
	up = ovl_node_get(t, ino);
	if (up) {
		*out = up; /* another thread won the race */
		rc = 0;
		goto out;
	}
	n = ns_get(d->ns, ino);
	rc = !n ? -ENOENT : dmn_lower_is_dir(n) ? -EISDIR : 0;
	if (!rc && n->kind == NS_VIEW && (!gated || dmn_view_key(n)[0]))
		rc = -EPERM; /* never a view that was not decided above */
	if (!rc)
		rc = dmn_upper_dir_locked(d, t, n->parent, &pu, 0);
	if (!rc)
		rc = dmn_lower_attr(d, n, d->sbx->cfg->default_role, true, NULL,
				    &st);
	if (rc)
		goto out;
	nw.mode = S_IFREG | (st.st_mode & 07777);
	nw.uid = st.st_uid;
	nw.gid = st.st_gid;
	nw.ino = ino;
	nw.rdev = 0;
	rc = ovl_create(t, pu, n->name, &nw, &un);
	if (rc)
		goto out;
	if (with_data)
		rc = dmn_copy_data(d, t, n, un);
	if (rc) {
		spot_log(SPOT_LOG_ERR, "copy-up of %s failed: %s", n->relpath,
			 strerror(-rc));
		ovl_unlink(t, pu, n->name, 0);
		ovl_node_forget(t, un, 1);
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.valid = OVL_SET_ATIME | OVL_SET_MTIME;
	sa.atime = st.st_atim;
	sa.mtime = st.st_mtim;
	ovl_setattr(t, un, &sa, NULL);
	dmn_take_over(d, t, un, ino);
	*out = un;
out:
	pthread_mutex_unlock(&d->cu_lock);
	return rc;
}

/*
 * The overlay node of ino in the caller's tree, copied up (with data) if it
 * is lower only. A lower node of another role is ENOENT.
 */
static int dmn_upper_of(struct dmn *d, struct ovl_tree *t,
			const struct dmn_caller *c, uint64_t ino,
			bool with_data, struct ovl_node **out)
{
	struct ovl_node *up = ovl_node_get(t, ino);
	struct ns_node *n;

	if (up) {
		*out = up;
		return 0;
	}
	n = ns_get(d->ns, ino);
	if (!n || !dmn_lower_for(d, n, c->role))
		return -ENOENT;
	if (dmn_lower_is_dir(n))
		return dmn_upper_dir(d, t, ino, out);
	return dmn_copy_up(d, t, c, ino, with_data, out);
}

/* Whether parent (merged) shows name, upper or lower. */
static bool dmn_merged_has(struct dmn *d, struct ovl_tree *t, uint64_t parent,
			   struct ovl_node *pu, const char *name, bool *is_dir)
{
	struct ovl_node *un = NULL;
	enum ovl_hit hit = OVL_MISS;
	struct ns_node *p;

	if (pu && !ovl_lookup(t, pu, name, &hit, &un) && hit != OVL_MISS) {
		if (hit == OVL_FOUND) {
			if (is_dir)
				*is_dir = S_ISDIR(ovl_node_type(un));
			ovl_node_forget(t, un, 1);
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

/* The overlay_create record's word for a new node of mode. */
static const char *dmn_kind_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "folder";
	case S_IFLNK:
		return "symlink";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "char device";
	case S_IFBLK:
		return "block device";
	default:
		return "file";
	}
}

static void dmn_new_node(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, dev_t rdev, const char *target,
			 struct fuse_file_info *fi)
{
	struct dmn *d = fuse_req_userdata(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct ovl_node *pu, *un = NULL;
	struct dmn_caller c;
	struct ovl_tree *t = dmn_ovl_req(d, req, &c);
	char apath[PATH_MAX];
	struct ovl_new nw;
	int rc;

	if (!t) {
		fuse_reply_err(req, EIO); /* the caller cannot be told */
		return;
	}
	if (strlen(name) > DMN_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	rc = dmn_dp_reserved(d, parent, name)
		     ? -EROFS
		     : dmn_upper_dir(d, t, parent, &pu);
	if (!rc && dmn_merged_has(d, t, parent, pu, name, NULL))
		rc = -EEXIST;
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	nw.mode = mode;
	nw.uid = ctx->uid;
	nw.gid = ctx->gid;
	nw.ino = 0;
	nw.rdev = S_ISCHR(mode) || S_ISBLK(mode) ? rdev : 0;
	if (S_ISDIR(mode))
		rc = ovl_mkdir(t, pu, name, &nw, &un);
	else if (S_ISLNK(mode))
		rc = ovl_symlink(t, pu, name, target, &nw, &un);
	else
		rc = ovl_create(t, pu, name, &nw, &un);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	dmn_ovl_path(d, t, pu, name, apath, sizeof(apath));
	dmn_audit_ovl(d, &c, AUD_EV_OVERLAY_CREATE, apath, dmn_kind_name(mode));
	if (!fi) {
		dmn_reply_upper_entry(d, t, req, un);
		return;
	}
	{
		struct dmn_fh *fh = calloc(1, sizeof(*fh));
		struct fuse_entry_param e;

		/* create is an open: on record before a byte flows. */
		rc = !fh ? -ENOMEM : dmn_fh_open_upper(d, fh, t, un, &c, true);
		if (rc) {
			free(fh);
			ovl_unlink(t, pu, name, 0);
			ovl_node_forget(t, un, 1);
			fuse_reply_err(req, -rc);
			return;
		}
		fh->fd = -1;
		memset(&e, 0, sizeof(e));
		ovl_node_stat(t, un, &e.attr);
		e.ino = ovl_node_ino(un);
		e.entry_timeout = dmn_upper_entry_ttl(d);
		e.attr_timeout = dmn_upper_attr_ttl(d, un);
		fi->fh = (uintptr_t)fh;
		fi->keep_cache = 1;
		__atomic_add_fetch(&d->open_files, 1, __ATOMIC_RELAXED);
		dmn_fh_track(d, fh);
		if (fuse_reply_create(req, &e, fi) == -ENOENT) {
			dmn_fh_close(d, fh); /* releases the open count */
			ovl_node_forget(t, un, 1);
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
	dmn_new_node(req, parent, name, S_IFREG | (mode & 07777), 0, NULL, fi);
}

/*
 * Device nodes are inert overlay entries: their numbers are kept for
 * stat, but the mount is nodev (the kernel refuses to open them, EACCES)
 * and dmn_open refuses every overlay node that is not a regular file
 * (ENXIO), so no device is ever reached through a sandbox. The kernel
 * lets only CAP_MKNOD make them.
 */
void dmn_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       dev_t rdev)
{
	dmn_new_node(req, parent, name, mode, rdev, NULL, NULL);
}

void dmn_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	dmn_new_node(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL,
		     NULL);
}

void dmn_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		 const char *name)
{
	dmn_new_node(req, parent, name, S_IFLNK | 0777, 0, link, NULL);
}

void dmn_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	      const char *newname)
{
	struct dmn *d = fuse_req_userdata(req);
	struct ovl_node *src, *pu, *un = NULL;
	struct dmn_caller c;
	struct ovl_tree *t = dmn_ovl_req(d, req, &c);
	char apath[PATH_MAX];
	int rc;

	if (!t) {
		fuse_reply_err(req, EIO); /* the caller cannot be told */
		return;
	}
	dmn_act_begin(req, &c); /* a copy-up reads as the caller */
	rc = dmn_upper_of(d, t, &c, ino, true, &src);
	dmn_act_end();
	if (!rc && S_ISDIR(ovl_node_type(src)))
		rc = -EPERM;
	if (!rc && dmn_dp_reserved(d, newparent, newname))
		rc = -EROFS;
	if (!rc)
		rc = dmn_upper_dir(d, t, newparent, &pu);
	if (!rc && dmn_merged_has(d, t, newparent, pu, newname, NULL))
		rc = -EEXIST;
	if (!rc)
		rc = ovl_link(t, src, pu, newname, &un);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	/* A new name like any create: on record with its full path. */
	dmn_ovl_path(d, t, pu, newname, apath, sizeof(apath));
	dmn_audit_ovl(d, &c, AUD_EV_OVERLAY_CREATE, apath, "hard link");
	dmn_reply_upper_entry(d, t, req, un);
}

void dmn_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_caller c;
	struct ovl_tree *t = dmn_ovl_req(d, req, &c);
	struct ovl_node *up;
	char buf[OVL_SYMLINK_MAX + 1];
	ssize_t n;

	if (!t) {
		fuse_reply_err(req, EIO); /* the caller cannot be told */
		return;
	}
	up = ovl_node_get(t, ino);
	if (!up) {
		fuse_reply_err(req, EINVAL); /* the source shows no links */
		return;
	}
	n = ovl_readlink(t, up, buf, sizeof(buf) - 1);
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
	struct ovl_tree *t;
	struct ovl_node *dir_up;
};

/* A visible lower entry keeps the folder busy unless the overlay has it. */
static int dmn_empty_one(void *arg, const char *name, bool is_dir)
{
	struct dmn_empty *e = arg;
	struct ovl_node *un = NULL;
	enum ovl_hit hit = OVL_MISS;

	(void)is_dir;
	if (e->dir_up && !ovl_lookup(e->t, e->dir_up, name, &hit, &un) &&
	    hit == OVL_FOUND)
		ovl_node_forget(e->t, un, 1);
	return hit == OVL_MISS ? -ENOTEMPTY : 0;
}

static int dmn_lower_empty(struct dmn *d, struct ovl_tree *t,
			   struct ovl_node *dir_up,
			   const struct ns_node *dir_low)
{
	struct dmn_empty e = { d, t, dir_up };

	if (!dmn_lower_is_dir(dir_low) || (dir_up && ovl_dir_opaque(t, dir_up)))
		return 0;
	return dmn_lower_children(d, dir_low, dmn_empty_one, &e);
}

/* unlink(2) and rmdir(2) of a merged entry. */
static int dmn_remove(struct dmn *d, struct ovl_tree *t, fuse_ino_t parent,
		      const char *name, bool dir, char *apath, size_t alen)
{
	struct ovl_node *pu, *un = NULL;
	enum ovl_hit hit = OVL_MISS;
	bool lower = dmn_lower_named(d, parent, name), is_dir = false;
	unsigned flags = lower ? OVL_WHITEOUT : 0;
	int rc;

	if (dmn_dp_reserved(d, parent, name))
		return -EROFS; /* a DP release stays the daemon's */
	rc = dmn_upper_dir(d, t, parent, &pu);
	if (rc)
		return rc;
	dmn_ovl_path(d, t, pu, name, apath, alen);
	rc = ovl_lookup(t, pu, name, &hit, &un);
	if (rc)
		return rc;
	if (hit == OVL_HIDDEN || (hit == OVL_MISS && !lower))
		return -ENOENT;
	if (hit == OVL_FOUND) {
		uint64_t ino = ovl_node_ino(un);

		is_dir = S_ISDIR(ovl_node_type(un));
		if (dir && is_dir)
			rc = dmn_lower_empty(d, t, un, ns_get(d->ns, ino));
		ovl_node_forget(t, un, 1);
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
				rc = dmn_lower_empty(d, t, NULL, c);
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
		return ovl_dir_whiteout(t, pu, name);
	return dir ? ovl_rmdir(t, pu, name, flags)
		   : ovl_unlink(t, pu, name, flags);
}

static void dmn_remove_req(fuse_req_t req, fuse_ino_t parent, const char *name,
			   bool dir)
{
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_caller c;
	struct ovl_tree *t = dmn_ovl_req(d, req, &c);
	char apath[PATH_MAX] = "";
	int rc;

	rc = t ? dmn_remove(d, t, parent, name, dir, apath, sizeof(apath))
	       : -EIO;
	if (!rc)
		dmn_audit_ovl(d, &c, AUD_EV_OVERLAY_DELETE, apath,
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
static int dmn_rename_prepare(struct dmn *d, struct ovl_tree *t, fuse_req_t req,
			      const struct dmn_caller *who, fuse_ino_t parent,
			      struct ovl_node *pu, const char *name)
{
	struct ovl_node *un = NULL, *cu;
	enum ovl_hit hit = OVL_MISS;
	struct dmn_caller caller;
	struct ns_node *p, *c;
	struct stat src;
	int rc;

	rc = ovl_lookup(t, pu, name, &hit, &un);
	if (rc)
		return rc;
	if (hit == OVL_FOUND) {
		uint64_t ino = ovl_node_ino(un);
		bool dir = S_ISDIR(ovl_node_type(un));

		ovl_node_forget(t, un, 1);
		if (dir && ns_get(d->ns, ino) &&
		    dmn_lower_empty(d, t, un, ns_get(d->ns, ino)))
			return -EXDEV;
		return 0;
	}
	if (hit == OVL_HIDDEN)
		return -ENOENT;
	p = ns_get(d->ns, parent);
	if (!dmn_lower_is_dir(p))
		return -ENOENT;
	memset(&caller, 0, sizeof(caller));
	caller.role = d->per_role ? who->role : d->sbx->cfg->default_role;
	rc = dmn_lower_lookup(d, p, name, &caller, &c, &src);
	if (rc)
		return rc;
	ns_forget(d->ns, c->ino, 1);
	if (dmn_lower_is_dir(c))
		return dmn_lower_empty(d, t, NULL, c)
			       ? -EXDEV
			       : dmn_upper_dir(d, t, c->ino, &cu);
	dmn_act_begin(req, who); /* the copy-up reads as the caller */
	rc = dmn_copy_up(d, t, who, c->ino, true, &cu);
	dmn_act_end();
	return rc;
}

void dmn_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct dmn *d = fuse_req_userdata(req);
	struct ovl_node *opu, *npu;
	struct dmn_caller c;
	struct ovl_tree *t = dmn_ovl_req(d, req, &c);
	char opath[PATH_MAX] = "", npath[PATH_MAX] = "";
	bool src_lower, dst_exists;
	int rc;

	if (!t) {
		fuse_reply_err(req, EIO); /* the caller cannot be told */
		return;
	}
	if (strlen(newname) > DMN_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	rc = dmn_dp_reserved(d, parent, name) ||
			     dmn_dp_reserved(d, newparent, newname)
		     ? -EROFS
		     : dmn_upper_dir(d, t, parent, &opu);
	if (!rc)
		rc = dmn_upper_dir(d, t, newparent, &npu);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	src_lower = dmn_lower_named(d, parent, name);
	dst_exists = dmn_merged_has(d, t, newparent, npu, newname, NULL);
	if ((flags & RENAME_NOREPLACE) && dst_exists)
		rc = -EEXIST;
	else if ((flags & RENAME_EXCHANGE) && !dst_exists)
		rc = -ENOENT;
	if (!rc)
		rc = dmn_rename_prepare(d, t, req, &c, parent, opu, name);
	/* An existing target is replaced or swapped: it must be upper too. */
	if (!rc && dst_exists)
		rc = dmn_rename_prepare(d, t, req, &c, newparent, npu, newname);
	if (!rc) {
		dmn_ovl_path(d, t, opu, name, opath, sizeof(opath));
		dmn_ovl_path(d, t, npu, newname, npath, sizeof(npath));
	}
	if (!rc)
		rc = ovl_rename(t, opu, name, npu, newname, flags,
				src_lower && !(flags & RENAME_EXCHANGE)
					? OVL_WHITEOUT
					: 0);
	if (!rc)
		dmn_audit_ovl(d, &c, AUD_EV_OVERLAY_RENAME, opath, npath);
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
	struct dmn_caller c;
	struct ovl_tree *t = dmn_ovl_req(d, req, &c);
	struct stat st;
	int rc;

	if (!t) {
		fuse_reply_err(req, EIO); /* the caller cannot be told */
		return;
	}
	(void)fi;
	dmn_act_begin(req, &c); /* a copy-up reads as the caller */
	rc = dmn_upper_of(d, t, &c, ino, !to_zero, &up);
	dmn_act_end();
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
	rc = ovl_setattr(t, up, &sa, &st);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (sa.valid & OVL_SET_SIZE) {
		char apath[PATH_MAX];

		/* truncate(2) changes contents without an open: a write. */
		dmn_ovl_path(d, t, up, NULL, apath, sizeof(apath));
		dmn_audit_ovl(d, &c, AUD_EV_OVERLAY_WRITE, apath, "truncated");
	}
	fuse_reply_attr(req, &st, dmn_upper_attr_ttl(d, up));
}

void dmn_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		   off_t length, struct fuse_file_info *fi)
{
	struct dmn_fh *fh = (struct dmn_fh *)(uintptr_t)fi->fh;
	int rc;

	(void)ino;
	if (!fh->up || !ovl_node_file(fh->up)) {
		fuse_reply_err(req, EBADF);
		return;
	}
	rc = seal_file_fallocate(ovl_node_file(fh->up), mode, offset, length);
	if (!rc)
		ovl_node_touch(fh->ovl, fh->up,
			       OVL_TOUCH_MTIME | OVL_TOUCH_CTIME);
	fuse_reply_err(req, -rc);
}

void dmn_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags)
{
	struct dmn *d = fuse_req_userdata(req);
	struct ovl_node *up;
	struct dmn_caller c;
	struct ovl_tree *t = dmn_ovl_req(d, req, &c);
	int rc;

	if (!t) {
		fuse_reply_err(req, EIO); /* the caller cannot be told */
		return;
	}
	if (strncmp(name, "user.", 5) != 0) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	dmn_act_begin(req, &c); /* a copy-up reads as the caller */
	rc = dmn_upper_of(d, t, &c, ino, true, &up);
	dmn_act_end();
	if (!rc)
		rc = ovl_setxattr(t, up, name, value, size, flags);
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
	struct dmn_caller c;
	struct ovl_tree *t = dmn_ovl_req(d, req, &c);
	struct ovl_node *up;
	char *buf = NULL;
	ssize_t n;

	if (!t) {
		fuse_reply_err(req, EIO); /* the caller cannot be told */
		return;
	}
	up = ovl_node_get(t, ino);
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
	n = ovl_getxattr(t, up, name, buf, size);
	dmn_xattr_reply(req, n, size, buf);
	free(buf);
}

void dmn_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_caller c;
	struct ovl_tree *t = dmn_ovl_req(d, req, &c);
	struct ovl_node *up;
	char *buf = NULL;
	ssize_t n;

	if (!t) {
		fuse_reply_err(req, EIO); /* the caller cannot be told */
		return;
	}
	up = ovl_node_get(t, ino);
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
	n = ovl_listxattr(t, up, buf, size);
	dmn_xattr_reply(req, n, size, buf);
	free(buf);
}

void dmn_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_caller c;
	struct ovl_tree *t = dmn_ovl_req(d, req, &c);
	struct ovl_node *up;

	if (!t) {
		fuse_reply_err(req, EIO); /* the caller cannot be told */
		return;
	}
	up = ovl_node_get(t, ino);
	if (strncmp(name, "user.", 5) != 0) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	fuse_reply_err(req, up ? -ovl_removexattr(t, up, name) : ENODATA);
}

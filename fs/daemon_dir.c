/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon_dir.c - folder listings of the merged namespace.
 *
 * Offsets below DMN_LOWER_OFF are overlay cookies (stable across changes,
 * see ovl_readdir); from DMN_LOWER_OFF on they index a snapshot of the lower
 * folder taken at opendir, whose entries are filtered against the overlay
 * at readdir time (an upper entry or a whiteout of the same name wins).
 * "." and ".." lead the lower part; in the root, the manifest folder
 * ".spotfs" (manifest.c) follows them, and a source or overlay entry of that
 * name is never listed (the manifest's folder wins).
 */
#include "daemon_i.h"
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct dmn_dirent {
	char *name;
	mode_t type;
};

/* An open folder (fi->fh). */
struct dmn_dir {
	struct ovl_tree *ovl; /* the opener's overlay (per role) */
	uint64_t ino;
	uint64_t parent_ino;
	struct dmn_dirent *ents; /* lower snapshot */
	size_t n;
	/* dmn.dirs, protected by dmn.fh_lock: a folder still open when
	 * the session ends gets no RELEASEDIR, so teardown frees it. */
	struct dmn_dir *next, *prev;
};

static void dmn_dir_free(struct dmn_dir *dir)
{
	for (size_t i = 0; i < dir->n; i++)
		free(dir->ents[i].name);
	free(dir->ents);
	free(dir);
}

/* Unlink dir from d's open folders and free it. */
static void dmn_dir_close(struct dmn *d, struct dmn_dir *dir)
{
	pthread_mutex_lock(&d->fh_lock);
	if (dir->prev)
		dir->prev->next = dir->next;
	else if (d->dirs == dir)
		d->dirs = dir->next;
	if (dir->next)
		dir->next->prev = dir->prev;
	pthread_mutex_unlock(&d->fh_lock);
	dmn_dir_free(dir);
}

static int dmn_dir_add(struct dmn_dir *dir, size_t *cap, const char *name,
		       mode_t type)
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
	dir->n++;
	return 0;
}

struct dmn_dir_load {
	struct dmn_dir *dir;
	size_t *cap;
};

/* Whether name in folder ino is shadowed by the manifest's folder. */
static bool dmn_dir_meta(uint64_t ino, const char *name)
{
	return ino == NS_ROOT_INO && !strcmp(name, DMN_META_NAME);
}

static int dmn_dir_load_one(void *arg, const char *name, bool is_dir)
{
	struct dmn_dir_load *l = arg;

	if (dmn_dir_meta(l->dir->ino, name))
		return 0;

	return dmn_dir_add(l->dir, l->cap, name, is_dir ? S_IFDIR : S_IFREG);
}

/* Snapshot the visible entries of a lower folder (names and types). */
static int dmn_dir_load(struct dmn *d, const struct ns_node *n,
			struct dmn_dir *dir, size_t *cap)
{
	struct dmn_dir_load l = { dir, cap };

	return dmn_lower_children(d, n, dmn_dir_load_one, &l);
}

void dmn_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dmn *d = fuse_req_userdata(req);
	struct dmn_caller c;
	struct ovl_tree *t = dmn_ovl_req(d, req, &c);
	struct ovl_node *up;
	struct ns_node *n = ns_get(d->ns, ino);
	struct dmn_dir *dir;
	size_t cap = 0;
	int rc = 0;

	if (!t) {
		fuse_reply_err(req, EIO); /* the caller cannot be told */
		return;
	}
	up = ovl_node_get(t, ino);
	if (up ? !S_ISDIR(ovl_node_type(up)) : !dmn_lower_is_dir(n)) {
		fuse_reply_err(req, (up || n) ? ENOTDIR : ENOENT);
		return;
	}
	dir = calloc(1, sizeof(*dir));
	if (!dir) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	dir->ino = ino;
	dir->ovl = t;
	if (up) {
		struct ovl_node *pu = ovl_dir_parent(t, up);

		dir->parent_ino = pu ? ovl_node_ino(pu) : ino;
	} else {
		dir->parent_ino = n->parent;
	}
	rc = dmn_dir_add(dir, &cap, ".", S_IFDIR);
	if (!rc)
		rc = dmn_dir_add(dir, &cap, "..", S_IFDIR);
	if (!rc && ino == NS_ROOT_INO)
		rc = dmn_dir_add(dir, &cap, DMN_META_NAME, S_IFDIR);
	/* The lower side counts unless an opaque overlay folder hides it. */
	/* A shown source folder is listed as the caller (srcdir.h). */
	dmn_act_begin(req, &c);
	if (!rc && dmn_lower_is_dir(n) && !(up && ovl_dir_opaque(t, up)))
		rc = dmn_dir_load(d, n, dir, &cap);
	dmn_act_end();
	if (rc) {
		dmn_dir_free(dir);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)dir;
	pthread_mutex_lock(&d->fh_lock);
	dir->next = d->dirs;
	if (d->dirs)
		d->dirs->prev = dir;
	d->dirs = dir;
	pthread_mutex_unlock(&d->fh_lock);
	if (fuse_reply_open(req, fi) == -ENOENT) /* an interrupted opener */
		dmn_dir_close(d, dir);
}

/* Filling one reply buffer. */
struct dmn_fill {
	fuse_req_t req;
	uint64_t ino; /* the folder listed */
	char *buf;
	size_t size;
	size_t used;
	bool full;
};

static bool dmn_fill_add(struct dmn_fill *f, const char *name, uint64_t ino,
			 mode_t type, uint64_t next)
{
	struct stat st;
	size_t len;

	memset(&st, 0, sizeof(st));
	st.st_ino = ino;
	st.st_mode = type;
	len = fuse_add_direntry(f->req, f->buf + f->used, f->size - f->used,
				name, &st, (off_t)next);
	if (len > f->size - f->used) {
		f->full = true;
		return false;
	}
	f->used += len;
	return true;
}

static int dmn_fill_upper(void *ctx, const struct ovl_dirent_info *e)
{
	struct dmn_fill *f = ctx;

	if (e->whiteout || dmn_dir_meta(f->ino, e->name))
		return 0;
	return dmn_fill_add(f, e->name, e->ino, e->type, e->cookie) ? 0 : 1;
}

/* A stable pseudo inode number for readdir; stat gives the real one. */
static uint64_t dmn_dirent_ino(uint64_t dir, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ dir;

	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	return h | (1ULL << 63);
}

/* Whether the overlay hides or replaces lower entry name of folder up. */
static bool dmn_upper_shadows(struct ovl_tree *t, struct ovl_node *up,
			      const char *name)
{
	struct ovl_node *un = NULL;
	enum ovl_hit hit = OVL_MISS;

	if (!up || ovl_lookup(t, up, name, &hit, &un))
		return false;
	if (hit == OVL_FOUND)
		ovl_node_forget(t, un, 1); /* lookup took a reference */
	return hit != OVL_MISS;
}

void dmn_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	struct dmn_dir *dir = (struct dmn_dir *)(uintptr_t)fi->fh;
	struct ovl_tree *t = dir->ovl;
	struct ovl_node *up = ovl_node_get(t, ino);
	struct dmn_fill f = { req, ino, NULL, size, 0, false };
	uint64_t pos = (uint64_t)off;

	f.buf = malloc(size ? size : 1);
	if (!f.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (pos < DMN_LOWER_OFF && up) {
		int rc = ovl_readdir(t, up, pos, false, dmn_fill_upper, &f);

		if (rc < 0 && !f.used) {
			free(f.buf);
			fuse_reply_err(req, -rc);
			return;
		}
	}
	if (pos < DMN_LOWER_OFF)
		pos = DMN_LOWER_OFF;
	for (uint64_t i = pos - DMN_LOWER_OFF; !f.full && i < dir->n; i++) {
		const struct dmn_dirent *e = &dir->ents[i];
		bool meta = i == 2 && dmn_dir_meta(dir->ino, e->name);
		uint64_t eino = i == 0	 ? dir->ino
				: i == 1 ? dir->parent_ino
				: meta	 ? DMN_META_INO_DIR
					 : dmn_dirent_ino(dir->ino, e->name);

		if (i >= 2 && !meta && dmn_upper_shadows(t, up, e->name))
			continue;
		if (!dmn_fill_add(&f, e->name, eino, e->type,
				  DMN_LOWER_OFF + i + 1))
			break;
	}
	fuse_reply_buf(req, f.buf, f.used);
	free(f.buf);
}

void dmn_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	dmn_dir_close(fuse_req_userdata(req),
		      (struct dmn_dir *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

void dmn_dirs_free_all(struct dmn *d)
{
	struct dmn_dir *dir = d->dirs, *next;

	for (; dir; dir = next) {
		next = dir->next;
		dmn_dir_free(dir);
	}
	d->dirs = NULL;
}

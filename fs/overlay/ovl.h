/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovl.h - the writable upper layer of the sandbox as an in-memory tree.
 *
 * Names, modes, owners, times, xattrs, whiteouts and the directory tree of
 * everything written in the sandbox live here, in memory only; regular file
 * contents live in the encrypted block store (seal.h). The FUSE daemon
 * merges this tree with the read-only lower layer (the masked views, which
 * ovl knows nothing about): it asks ovl_lookup() first and falls back to the
 * lower layer only on OVL_MISS. Deleting a lower entry leaves a whiteout;
 * an opaque directory hides every lower entry of the same path.
 *
 * No FUSE here. The calls mirror the low-level FUSE operations and return 0
 * or a negative errno, with the errnos of POSIX/Linux for each failure.
 * Names are NUL-terminated (as FUSE delivers them); longer than
 * OVL_NAME_MAX is -ENAMETOOLONG; "", ".", ".." and names with '/' are
 * -EINVAL.
 *
 * Node lifetime follows FUSE: every call that hands out a node (lookup,
 * create, mkdir, symlink, link, readdir with plus) adds one lookup
 * reference, which the daemon drops with ovl_node_forget() (FUSE forget).
 * A node lives while it is linked in the tree, has lookup references or is
 * open (ovl_node_open/release), so an unlinked file stays readable (with
 * st_nlink 0) until its last release and forget. Pointers the daemon holds
 * without a reference are not safe.
 *
 * Locking: one tree-wide rwlock (writer preferring) protects every name,
 * directory and metadata field; callers take no lock. Reads of file data
 * go straight to seal (per-file locks) and take the tree lock only to update
 * times. Lock order: tree lock, then a seal file lock. Callbacks of
 * ovl_readdir() run under the read lock and must not call into ovl.
 */
#ifndef SPOT_OVL_H
#define SPOT_OVL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>

#include "seal.h"

#define OVL_NAME_MAX 255
#define OVL_SYMLINK_MAX 4095
#define OVL_LINK_MAX 65000u
#define OVL_XATTR_NAME_MAX 255		/* whole name, "user." included */
#define OVL_XATTR_VALUE_MAX 65536	/* larger values: -E2BIG */
#define OVL_XATTR_NODE_MAX (256 * 1024) /* names + values per node: -ENOSPC */
/* readdir cookies of upper entries are in [1, OVL_COOKIE_MAX). */
#define OVL_COOKIE_MAX ((uint64_t)1 << 62)

struct ovl_tree;
struct ovl_node;

struct ovl_tree_opts {
	uint64_t root_ino; /* FUSE_ROOT_ID (1) usually */
	mode_t root_mode;  /* permission bits of the root directory */
	uid_t root_uid;
	gid_t root_gid;
	uint64_t ino_base; /* first inode number ovl hands out itself */
};

/*
 * A new tree with an empty root directory; regular files get their contents
 * from store (borrowed: it must outlive the tree). 0 or -ENOMEM/-EINVAL.
 */
int ovl_tree_new(struct seal_store *store, const struct ovl_tree_opts *o,
		 struct ovl_tree **out);
/* Free every node and destroy every seal file. No call may be running. */
void ovl_tree_free(struct ovl_tree *t);
/* The root directory (never freed before the tree, needs no reference). */
struct ovl_node *ovl_tree_root(struct ovl_tree *t);
/* statfs of the store, with f_files = nodes in the tree. 0 or -errno. */
int ovl_statfs(struct ovl_tree *t, struct statvfs *st);

/* ---- nodes ---- */

/* The node with this inode number, or NULL. No reference is taken. */
struct ovl_node *ovl_node_get(struct ovl_tree *t, uint64_t ino);
/* Immutable fields: safe without the lock while the node is alive. */
uint64_t ovl_node_ino(const struct ovl_node *n);
mode_t ovl_node_type(const struct ovl_node *n); /* S_IFREG, S_IFDIR... */
/* The seal file of a regular file (shared by hard links), else NULL. */
struct seal_file *ovl_node_file(const struct ovl_node *n);
/* Add one lookup reference (for a FUSE entry reply made from n). */
void ovl_node_ref(struct ovl_tree *t, struct ovl_node *n);
/* Drop nlookup references (FUSE forget); may free n. */
void ovl_node_forget(struct ovl_tree *t, struct ovl_node *n, uint64_t nlookup);
/* Count an open handle / drop it (FUSE open/release); release may free n. */
void ovl_node_open(struct ovl_tree *t, struct ovl_node *n);
void ovl_node_release(struct ovl_tree *t, struct ovl_node *n);
/* Fill st (st_dev is 0). */
void ovl_node_stat(struct ovl_tree *t, struct ovl_node *n, struct stat *st);

enum ovl_touch {
	OVL_TOUCH_ATIME = 1u << 0,
	OVL_TOUCH_MTIME = 1u << 1,
	OVL_TOUCH_CTIME = 1u << 2,
};
/* Set the given times (enum ovl_touch bits) to now. */
void ovl_node_touch(struct ovl_tree *t, struct ovl_node *n, unsigned what);

/* Read/write file data through seal; a write updates mtime and ctime. */
ssize_t ovl_file_pread(struct ovl_tree *t, struct ovl_node *n, void *buf,
		       size_t len, off_t off);
ssize_t ovl_file_pwrite(struct ovl_tree *t, struct ovl_node *n, const void *buf,
			size_t len, off_t off);

enum ovl_set {
	OVL_SET_MODE = 1u << 0,
	OVL_SET_UID = 1u << 1,
	OVL_SET_GID = 1u << 2,
	OVL_SET_SIZE = 1u << 3,
	OVL_SET_ATIME = 1u << 4, /* atime, which may be UTIME_NOW/OMIT */
	OVL_SET_MTIME = 1u << 5,
	OVL_SET_ATIME_NOW = 1u << 6,
	OVL_SET_MTIME_NOW = 1u << 7,
	OVL_SET_CTIME = 1u << 8,
};

struct ovl_setattr {
	unsigned valid; /* enum ovl_set bits */
	mode_t mode;	/* permission bits; the file type is kept */
	uid_t uid;
	gid_t gid;
	off_t size;
	struct timespec atime, mtime, ctime;
};

/*
 * Change attributes; any change sets ctime, a size change mtime too.
 * SIZE on a directory is -EISDIR, on a non-regular file -EINVAL; seal
 * errors (-EFBIG, -EIO) pass through. st (may be NULL) gets the new stat.
 */
int ovl_setattr(struct ovl_tree *t, struct ovl_node *n,
		const struct ovl_setattr *sa, struct stat *st);
/* Copy a symlink target into buf; returns its length or -EINVAL. */
ssize_t ovl_readlink(struct ovl_tree *t, struct ovl_node *n, char *buf,
		     size_t size);

/* ---- extended attributes: "user." names only, else -EOPNOTSUPP ---- */

/*
 * Value of name: size 0 returns the length; a smaller buf is -ERANGE;
 * missing is -ENODATA.
 */
ssize_t ovl_getxattr(struct ovl_tree *t, struct ovl_node *n, const char *name,
		     void *buf, size_t size);
/*
 * flags: 0, XATTR_CREATE (-EEXIST if set) or XATTR_REPLACE (-ENODATA if
 * missing); name too long -ERANGE; value over OVL_XATTR_VALUE_MAX -E2BIG;
 * node total over OVL_XATTR_NODE_MAX -ENOSPC; symlinks and special files
 * -EPERM (as Linux for user.*).
 */
int ovl_setxattr(struct ovl_tree *t, struct ovl_node *n, const char *name,
		 const void *value, size_t size, int flags);
/* NUL-separated names; size 0 returns the length; too small -ERANGE. */
ssize_t ovl_listxattr(struct ovl_tree *t, struct ovl_node *n, char *buf,
		      size_t size);
int ovl_removexattr(struct ovl_tree *t, struct ovl_node *n, const char *name);

/* ---- namespace ---- */

enum ovl_hit {
	OVL_MISS = 0,	/* no upper entry: ask the lower layer */
	OVL_FOUND = 1,	/* an upper node (*out, with a lookup reference) */
	OVL_HIDDEN = 2, /* a whiteout or an opaque directory: ENOENT */
};

/* Look name up in dir. 0 (see *hit), -ENOTDIR, -ENAMETOOLONG, -EINVAL. */
int ovl_lookup(struct ovl_tree *t, struct ovl_node *dir, const char *name,
	       enum ovl_hit *hit, struct ovl_node **out);

struct ovl_new {
	mode_t mode; /* type and permission bits, umask already applied */
	uid_t uid;
	gid_t gid;
	uint64_t ino; /* 0: ovl assigns one; else this one (-EBUSY if used) */
	dev_t rdev;   /* device numbers (S_IFCHR, S_IFBLK only) */
};

/*
 * Create a node named name in dir; a whiteout there is replaced (a
 * directory made over a whiteout is opaque). The node comes back with one
 * lookup reference. Errors: -EEXIST (an upper entry exists), -ENOENT (dir
 * was removed), -ENOTDIR, -ENAMETOOLONG, -EINVAL, -ENOMEM, -EBUSY.
 * ovl_create makes regular files (with a new seal file), FIFOs, sockets
 * and device nodes; other types are -EINVAL. A device node is metadata
 * only (type, mode, owner, times, nw->rdev): the overlay never opens a
 * device, and the mount is nodev, so the kernel refuses to open it too.
 */
int ovl_create(struct ovl_tree *t, struct ovl_node *dir, const char *name,
	       const struct ovl_new *nw, struct ovl_node **out);
int ovl_mkdir(struct ovl_tree *t, struct ovl_node *dir, const char *name,
	      const struct ovl_new *nw, struct ovl_node **out);
/* target: 1..OVL_SYMLINK_MAX bytes (-ENAMETOOLONG / -ENOENT if empty). */
int ovl_symlink(struct ovl_tree *t, struct ovl_node *dir, const char *name,
		const char *target, const struct ovl_new *nw,
		struct ovl_node **out);
/*
 * Hard link n as dir/name. -EPERM for directories, -EMLINK past
 * OVL_LINK_MAX, -ENOENT if n was unlinked, plus the errors of ovl_create.
 */
int ovl_link(struct ovl_tree *t, struct ovl_node *n, struct ovl_node *dir,
	     const char *name, struct ovl_node **out);

enum ovl_flags {
	OVL_WHITEOUT = 1u << 0, /* leave a whiteout at the removed name */
	OVL_OPAQUE = 1u << 1,	/* rename: make the moved directory opaque */
};

/*
 * Remove a non-directory. -EISDIR for a directory; -ENOENT when there is no
 * upper entry, unless OVL_WHITEOUT is given: then a whiteout is added (the
 * daemon deleting a lower-only entry).
 */
int ovl_unlink(struct ovl_tree *t, struct ovl_node *dir, const char *name,
	       unsigned flags);
/*
 * Remove an empty directory (whiteouts inside do not count; the daemon
 * checks the lower side). -ENOTDIR, -ENOTEMPTY, -ENOENT (as ovl_unlink for
 * OVL_WHITEOUT), -EBUSY for the root.
 */
int ovl_rmdir(struct ovl_tree *t, struct ovl_node *dir, const char *name,
	      unsigned flags);
/*
 * rename(2) within the upper tree. flags: 0, RENAME_NOREPLACE (-EEXIST),
 * RENAME_EXCHANGE (-ENOENT unless both exist); others -EINVAL. -ENOENT for
 * a missing source, -EINVAL for moving a directory into itself, -ENOTDIR
 * (directory over non-directory), -EISDIR (non-directory over directory),
 * -ENOTEMPTY (over a non-empty directory). Renaming a name onto a hard link
 * of the same node does nothing. ovl_flags: OVL_WHITEOUT leaves a whiteout
 * at the old name, OVL_OPAQUE makes a moved directory opaque.
 */
int ovl_rename(struct ovl_tree *t, struct ovl_node *odir, const char *oname,
	       struct ovl_node *ndir, const char *nname, unsigned flags,
	       unsigned ovl_flags);
/* Hide a lower entry: add a whiteout (-EEXIST over an upper entry). */
int ovl_dir_whiteout(struct ovl_tree *t, struct ovl_node *dir,
		     const char *name);
/* Mark dir opaque or not. -ENOTDIR. */
int ovl_dir_set_opaque(struct ovl_tree *t, struct ovl_node *dir, bool opaque);
bool ovl_dir_opaque(struct ovl_tree *t, struct ovl_node *dir);
/* Parent of a directory (the root is its own parent), without reference. */
struct ovl_node *ovl_dir_parent(struct ovl_tree *t, struct ovl_node *dir);

struct ovl_dirent_info {
	const char *name; /* NUL-terminated, valid during the callback */
	size_t namelen;
	uint64_t cookie; /* pass back as off to continue after this entry */
	bool whiteout;	 /* a whiteout: no node, ino 0 */
	uint64_t ino;
	mode_t type;	       /* S_IFMT bits */
	struct ovl_node *node; /* NULL for a whiteout */
	const struct stat *st; /* with plus, for nodes: their stat */
};

/*
 * Return 0 if the entry was taken (continue), nonzero to stop without
 * taking it (e.g. the reply buffer is full).
 */
typedef int (*ovl_readdir_fn)(void *ctx, const struct ovl_dirent_info *e);

/*
 * Call fn for the entries of dir (whiteouts included) with cookie > off,
 * in cookie order. Cookies are given at insertion and never reused, so an
 * offset stays valid across concurrent changes: entries present for the
 * whole listing are seen exactly once. With plus, each node entry taken
 * gets a lookup reference (as FUSE readdirplus requires). "." and ".." are
 * not listed. 0 or -ENOTDIR.
 */
int ovl_readdir(struct ovl_tree *t, struct ovl_node *dir, uint64_t off,
		bool plus, ovl_readdir_fn fn, void *ctx);

/* ---- paths and inode lists ---- */

/*
 * The path of n from the root ("/a/b"; the root is "/"), through any of its
 * names for a hard-linked file (a scan of the tree's names only when the
 * name a node remembers was removed while another link remains). 0,
 * -ENOENT for an unlinked node, -ENAMETOOLONG.
 */
int ovl_node_path(struct ovl_tree *t, struct ovl_node *n, char *buf,
		  size_t len);
/* Every inode number of the tree (malloc'd into *out). 0 or -ENOMEM. */
int ovl_inos(struct ovl_tree *t, uint64_t **out, size_t *n);

#endif /* SPOT_OVL_H */

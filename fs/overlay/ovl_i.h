/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ovl_i.h - internals of the in-memory upper tree shared by ovl.c (tree,
 * nodes, attributes, xattrs) and ovl_dir.c (names and directories).
 * Private to fs/ovl*.c. Every field below is protected by t->lock unless
 * marked otherwise.
 */
#ifndef SPOT_OVL_I_H
#define SPOT_OVL_I_H

#include "ovl.h"

#include <pthread.h>

#include <sodium.h>

struct ovl_dirent {
	struct ovl_dirent *hnext; /* name hash chain */
	struct ovl_node *dir;	  /* the directory holding it */
	struct ovl_node *node;	  /* NULL: whiteout (or dead) */
	uint64_t cookie;	  /* immutable */
	uint64_t hash;		  /* immutable: of (dir, name) */
	bool dead;		  /* removed; freed at the next compaction */
	uint16_t namelen;	  /* immutable */
	char name[];		  /* immutable, NUL-terminated */
};

struct ovl_dir {
	struct ovl_dirent **ents; /* sorted by cookie, dead ones included */
	size_t n, cap, ndead;
	size_t nvisible; /* live entries with a node */
	uint64_t next_cookie;
	bool opaque;
	struct ovl_node *parent; /* the root is its own parent */
};

struct ovl_xattr {
	struct ovl_xattr *next;
	size_t nlen, vlen;
	uint8_t data[]; /* name (NUL-terminated) then value */
};

struct ovl_node {
	struct ovl_node *ino_next; /* inode hash chain */
	uint64_t ino;		   /* immutable */
	mode_t mode;		   /* type bits immutable */
	uid_t uid;
	gid_t gid;
	nlink_t nlink; /* names in the tree (dirs: 2 + subdirs), 0 unlinked */
	struct timespec atime, mtime, ctime;
	uint64_t nlookup; /* atomic (lookups run under the read lock) */
	uint64_t nopen;	  /* atomic, like nlookup */
	struct ovl_xattr *xattrs;
	size_t xattr_bytes;
	/* One live name of the node (for ovl_node_path), or NULL. */
	struct ovl_dirent *name_hint;
	union {
		struct seal_file *file; /* immutable: S_IFREG */
		struct {
			char *p; /* immutable */
			size_t len;
		} link;		    /* S_IFLNK */
		struct ovl_dir dir; /* S_IFDIR */
		dev_t rdev;	    /* S_IFCHR, S_IFBLK: numbers only */
	} u;
};

struct ovl_tree {
	pthread_rwlock_t lock;
	struct seal_store *store;		 /* immutable, borrowed */
	struct ovl_node *root;			 /* immutable */
	uint8_t hkey[crypto_shorthash_KEYBYTES]; /* immutable: name hash key */
	struct ovl_node **inos;			 /* inode hash */
	size_t ninos_cap, nnodes;
	struct ovl_dirent **names; /* (dir, name) hash */
	size_t nnames_cap, nnames;
	uint64_t next_ino;
};

/* ovl.c, for ovl_dir.c (all with t->lock held for writing). */
void ovl_now(struct timespec *ts);
int ovl_node_new(struct ovl_tree *t, const struct ovl_new *nw,
		 struct ovl_node **out);
/* Free n if it is unlinked, unreferenced and closed. */
void ovl_node_maybe_free(struct ovl_tree *t, struct ovl_node *n);
/* Free the node itself and its seal file (t->lock held or tree dying). */
void ovl_node_free(struct ovl_tree *t, struct ovl_node *n);
/* Fill st (t->lock held). */
void ovl_node_fill(const struct ovl_node *n, struct stat *st);

/* ovl_dir.c, for ovl.c. */
void ovl_dir_fini(struct ovl_tree *t, struct ovl_node *dir);

#endif /* SPOT_OVL_I_H */

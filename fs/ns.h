/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ns.h - the inode table of the mount: which inode number stands for which
 * source folder, masked view or passed-through file, with the kernel's
 * lookup counts.
 *
 * A node is identified by (parent, name, role key). The role key is "" for
 * everything whose bytes do not depend on the caller; a view whose masking
 * differs by role gets one node per role, so the kernel never shares page
 * cache between roles. Inode numbers are never reused within a mount.
 *
 * Locking: ns->lock protects the tables and every node's nlookup. Node
 * fields other than nlookup are immutable after creation. Nodes live until
 * the mount ends, even at a lookup count of zero: the overlay reuses a lower
 * inode number when it copies an entry up and must still find the lower
 * side of a merged folder after the kernel forgot it. Memory is bounded by
 * the source entries visited, which a temporary sandbox can afford.
 */
#ifndef SPOT_NS_H
#define SPOT_NS_H

#include <stdint.h>

#include "config.h"

#define NS_ROOT_INO 1

enum ns_kind {
	NS_DIR = 0, /* a source folder */
	NS_VIEW,    /* a masked dataset */
	NS_PASS,    /* an unnamed file under "default: show" */
	NS_VDIR,    /* the folder of a SQLite dataset's tables ("crm/") */
	NS_DPDIR,   /* _dp/ and its folders of DP aggregates (daemon_ops.c) */
};

struct ns_node {
	uint64_t ino;
	uint64_t parent; /* parent's ino; the root's is itself */
	enum ns_kind kind;
	char *name;    /* component name ("" for the root) */
	char *relpath; /* source-relative path ("" for the root) */
	char *role;    /* NS_VIEW: role key */
	char *sub; /* NS_VIEW: table or view inside a SQLite dataset, or "" */
	const struct cfg_dataset *ds; /* NS_VIEW, NS_VDIR, NS_DPDIR (or NULL) */
	uint64_t nlookup;	      /* protected by ns->lock */
	struct ns_node *next_ino;     /* hash chains, protected by ns->lock */
	struct ns_node *next_key;
	/* NS_VIEW: generation of the view its last open got (atomic, not
	 * under ns->lock): a new one (the source changed and the view was
	 * rebuilt) drops the kernel's page cache of the inode. */
	uint64_t view_gen;
	/* NS_PASS, NS_DIR: the source file (st_dev, st_ino) the last
	 * attributes given to the kernel were read from (atomic): an open
	 * must open that same file, the one the kernel checked. */
	uint64_t pin_dev;
	uint64_t pin_ino;
};

struct ns;

/* 0 or -ENOMEM. */
int ns_new(struct ns **out);
void ns_free(struct ns *ns);

/* The node of ino, or NULL (not referenced: valid while the kernel holds it). */
struct ns_node *ns_get(struct ns *ns, uint64_t ino);

/*
 * Find or create the node for (parent, name, role) and count one kernel
 * lookup. relpath, kind and ds are used on creation only. NULL on ENOMEM.
 */
struct ns_node *ns_intern(struct ns *ns, uint64_t parent, const char *name,
			  const char *role, enum ns_kind kind,
			  const char *relpath, const struct cfg_dataset *ds,
			  const char *sub);

/*
 * Drop up to n kernel lookups of ino; returns how many were dropped (the
 * rest belong to the overlay node that took the inode over).
 */
uint64_t ns_forget(struct ns *ns, uint64_t ino, uint64_t n);
/* Take every kernel lookup of ino (the overlay takes the inode over). */
uint64_t ns_take_lookups(struct ns *ns, uint64_t ino);

/* Count one kernel lookup of ino (an upper twin answered for it). */
void ns_ref(struct ns *ns, uint64_t ino);
/* Every inode number handed out (malloc'd into *out). 0 or -ENOMEM. */
int ns_inos(struct ns *ns, uint64_t **out, size_t *n);

#endif /* SPOT_NS_H */

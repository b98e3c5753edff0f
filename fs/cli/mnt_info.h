/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mnt_info.h - what the kernel says is mounted (/proc/self/mountinfo),
 * read without touching a mount (a dead daemon's mount fails every stat):
 * lets status, extend and unmount tell "not a mount", "another user's
 * sandbox" and "not a spotfs mount" apart, and find the sandbox a path
 * inside a mount belongs to.
 */
#ifndef SPOT_MNT_INFO_H
#define SPOT_MNT_INFO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct mnt_info {
	char point[PATH_MAX]; /* the mount point, absolute */
	char fstype[64];      /* "fuse.spotfs", "ext4", ... */
	bool spotfs;	      /* fstype is fuse.spotfs */
	long long owner;      /* FUSE: user_id= (the mounting uid), else -1 */
};

/* path made absolute and normalised lexically (no stat) into out. */
int mnt_normalise(const char *path, char *out, size_t len);

/*
 * The mount whose point is path or, with inside, the innermost mount that
 * contains it. 0, or -ENOENT (inside: never, "/" contains everything).
 */
int mnt_find(const char *path, bool inside, struct mnt_info *out);

/*
 * Leave a trace of a refused request in the sandbox's audit log: a lookup
 * of MP/.spotfs/.denied-WHAT, which the daemon records (with the kernel's
 * word for who asked) and refuses. Best effort: a private mount refuses it
 * before the daemon sees it.
 */
void mnt_note_denied(const char *point, const char *what);

#endif /* SPOT_MNT_INFO_H */

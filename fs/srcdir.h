/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * srcdir.h - confined, read-only access to the source folder. FUSE-free.
 *
 * This module is the only way fs/ touches the source tree. Every path is
 * resolved relative to the source folder's descriptor with openat2() and
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS: a name
 * never leaves the tree, never goes through a symlink (anywhere in the
 * path, including the last component) and never through /proc magic
 * links. Only regular files and folders exist for the rest of spotfs:
 * symlinks, FIFOs, sockets and devices are hidden (-ENOENT) and are never
 * opened for reading, so nothing can block on them.
 *
 * The threat: whoever can write into the source folder (a shared data
 * folder) plants `shadow.csv -> /etc/shadow`, a FIFO, or a hard link to a
 * masked dataset, and the daemon (often root) would serve it. The source
 * folder itself may be a symlink: it is resolved once, when the sandbox
 * opens it (that is the steward's choice, made in the config).
 *
 * A source file's identity (struct src_id) pins what a view was built
 * from: later reads compare it with fstat() of the descriptor they read.
 *
 * All functions return 0 or -errno and are thread-safe (no shared state).
 */
#ifndef SPOT_SRCDIR_H
#define SPOT_SRCDIR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* What a source file was when pinned (st_dev, st_ino, size, times). */
struct src_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
};

/*
 * Open the regular file at source-relative rel for reading into *fd
 * (O_RDONLY | O_CLOEXEC | O_NOCTTY, blocking), with its stat in *st.
 * -ENOENT when rel is missing, is (or goes through) a symlink, leaves the
 * tree, or is not a regular file; -EISDIR for a folder. The entry is
 * stat'ed through an O_PATH descriptor first, so a FIFO or device is never
 * opened, and the real open is O_NONBLOCK and checked again (a swap in
 * between cannot hang the caller or pass as a file). The caller closes *fd.
 */
int src_open(int srcfd, const char *rel, int *fd, struct stat *st);

/* The same for a folder ("" is the source folder itself, opened anew). */
int src_opendir(int srcfd, const char *rel, int *fd);

/*
 * Stat rel without following anything (O_PATH + fstat): "" is the source
 * folder. -ENOENT as for src_open, and for anything that is neither a
 * regular file nor a folder.
 */
int src_stat(int srcfd, const char *rel, struct stat *st);

/*
 * Why a configured dataset path cannot be used: -ELOOP (it is, or goes
 * through, a symlink), -EXDEV (it leaves the source folder), -EINVAL (not
 * a regular file: FIFO, socket, device, folder), -ENOENT (missing: not an
 * error, it may appear later), 0 when fine. *kind names what was found
 * ("symlink", "fifo", ...), for messages.
 */
int src_dataset_probe(int srcfd, const char *rel, const char **kind);

/* The name of a file type for messages: "symlink", "fifo", "socket"... */
const char *src_kind_name(mode_t mode);

/*
 * Whether a folder entry (by its d_type, else fstatat without following)
 * may be shown at all: a regular file or a folder.
 */
bool src_entry_servable(int dirfd, const char *name, unsigned char d_type,
			mode_t *mode);

/*
 * Call fn for every entry of the source tree that is never shown (symlink,
 * FIFO, socket, device), with its source-relative path and file type.
 * Folders are walked confined (no symlink is followed), at most
 * SRC_WALK_DEPTH deep. 0 or -errno of the source folder itself.
 */
#define SRC_WALK_DEPTH 64
typedef void (*src_hidden_fn)(void *arg, const char *rel, mode_t type);
int src_walk_hidden(int srcfd, src_hidden_fn fn, void *arg);

/* Record the identity of an open source file. */
void src_id_from_stat(const struct stat *st, struct src_id *id);

/*
 * Whether fd still is the file pinned in id: -ESTALE when its identity,
 * size or times changed or it was removed (nlink 0), -errno when fstat
 * fails, else 0. One fstat(): cheap enough for every read.
 */
int src_id_check(int fd, const struct src_id *id);

/*
 * Acting as a caller (passthrough entries only). The daemon (root) reads
 * a passed-through file or lists a shown folder with the caller's own
 * credentials, so the source's checks apply as they stand at that moment:
 * mode, owner, POSIX ACLs, search permission on every folder of the path.
 *
 * src_cred_enter switches the calling THREAD's filesystem uid and gid
 * (setfsuid/setfsgid) and supplementary groups (the raw setgroups system
 * call: glibc's setgroups() changes every thread of the process). In the
 * kernel, credentials are per thread, and a FUSE worker thread runs one
 * request at a time from start to reply, so nothing else ever runs with
 * these credentials; src_cred_leave restores the daemon's own before the
 * request returns. A thread cloned while switched would inherit the
 * caller's credentials: a switched section only opens or stats source
 * entries and never starts a thread, and the FUSE loop starts a new
 * worker before it processes a request, so with the daemon's. Views
 * (datasets) never switch: the policy decides who reads them.
 *
 * 1 when switched (call src_cred_leave), 0 when nothing had to change (a
 * daemon that is not root serving its own user), -EIO when the switch
 * cannot be made or verified (fail closed; the daemon's own credentials
 * are back). src_cred_leave aborts the daemon if its own credentials
 * cannot be restored: a worker must never go on as a caller.
 */
struct src_cred {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
};
int src_cred_enter(const struct src_cred *who);
void src_cred_leave(void);

/*
 * Pin the open file fd: its identity in *id, taken only once the clock
 * has moved past its last change (so any later write gets other times
 * and src_id_check sees it; see srcdir.c). -ESTALE when the file keeps
 * changing (a build then fails and is tried again), -errno on error.
 */
int src_id_pin(int fd, struct src_id *id);

/*
 * pread() from fd, but only bytes of the file pinned in id: its identity
 * is checked before and after the read, and when it changed the bytes
 * read are wiped and -ESTALE returned. Bytes read or -errno.
 */
ssize_t src_pread_pinned(int fd, const struct src_id *id, void *buf, size_t len,
			 off_t off);

#endif /* SPOT_SRCDIR_H */

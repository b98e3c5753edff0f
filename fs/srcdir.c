/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * srcdir.c - confined source access through openat2() (see srcdir.h).
 */
#include "srcdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SRC_RESOLVE                                                            \
	(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

static int src_openat2(int srcfd, const char *rel, uint64_t flags)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = flags;
	how.resolve = SRC_RESOLVE;
	do
		fd = syscall(SYS_openat2, srcfd, rel, &how, sizeof(how));
	while (fd < 0 && (errno == EINTR || errno == EAGAIN));
	return fd < 0 ? -errno : (int)fd;
}

/*
 * What a resolution error means to a caller of the tree: a name that goes
 * through a symlink (ELOOP), leaves the tree (EXDEV) or through a file
 * (ENOTDIR) does not exist.
 */
static int src_hide_err(int rc)
{
	return (rc == -ELOOP || rc == -EXDEV || rc == -ENOTDIR) ? -ENOENT : rc;
}

/* O_PATH descriptor of rel itself (a trailing symlink is not followed). */
static int src_path_fd(int srcfd, const char *rel)
{
	return src_openat2(srcfd, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

int src_stat(int srcfd, const char *rel, struct stat *st)
{
	int fd, rc;

	if (!rel[0])
		return fstat(srcfd, st) ? -errno : 0;
	fd = src_path_fd(srcfd, rel);
	if (fd < 0)
		return src_hide_err(fd);
	rc = fstat(fd, st) ? -errno : 0;
	close(fd);
	if (!rc && !S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		rc = -ENOENT;
	return rc;
}

/* Open rel for reading once stat'ed as type (S_IFREG or S_IFDIR). */
static int src_open_type(int srcfd, const char *rel, mode_t type, int *out,
			 struct stat *st)
{
	struct stat pre;
	int fd, fl, rc;

	rc = src_stat(srcfd, rel, &pre);
	if (rc)
		return rc;
	if ((pre.st_mode & S_IFMT) != type)
		return type == S_IFREG ? -EISDIR : -ENOTDIR;
	/* O_NONBLOCK: if a FIFO was swapped in since, the open cannot hang. */
	fd = src_openat2(srcfd, rel,
			 O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
				 (type == S_IFDIR ? O_DIRECTORY : 0));
	if (fd < 0)
		return src_hide_err(fd);
	if (fstat(fd, st)) {
		rc = -errno;
		goto fail;
	}
	if ((st->st_mode & S_IFMT) != type) {
		rc = -ENOENT; /* swapped for something else: not served */
		goto fail;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		rc = -errno;
		goto fail;
	}
	*out = fd;
	return 0;
fail:
	close(fd);
	return rc;
}

int src_open(int srcfd, const char *rel, int *fd, struct stat *st)
{
	if (!rel[0])
		return -EISDIR;
	return src_open_type(srcfd, rel, S_IFREG, fd, st);
}

int src_opendir(int srcfd, const char *rel, int *fd)
{
	struct stat st;
	int d;

	if (!rel[0]) {
		/* A new open file description: a dup() would share the
		 * directory offset with every other reader of the root. */
		d = openat(srcfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d < 0)
			return -errno;
		*fd = d;
		return 0;
	}
	return src_open_type(srcfd, rel, S_IFDIR, fd, &st);
}

const char *src_kind_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "file";
	case S_IFDIR:
		return "folder";
	case S_IFLNK:
		return "symlink";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "character device";
	case S_IFBLK:
		return "block device";
	default:
		return "unknown file type";
	}
}

int src_dataset_probe(int srcfd, const char *rel, const char **kind)
{
	struct stat st;
	int fd, rc;

	*kind = "";
	if (!rel[0] || rel[0] == '/')
		return -EXDEV;
	fd = src_path_fd(srcfd, rel);
	if (fd == -ELOOP) {
		*kind = "symlink";
		return -ELOOP; /* a folder on the way is a symlink */
	}
	if (fd == -EXDEV || fd == -ENOTDIR)
		return fd == -ENOTDIR ? -ENOENT : -EXDEV;
	if (fd < 0)
		return fd;
	rc = fstat(fd, &st) ? -errno : 0;
	close(fd);
	if (rc)
		return rc;
	*kind = src_kind_name(st.st_mode);
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	return S_ISREG(st.st_mode) ? 0 : -EINVAL;
}

bool src_entry_servable(int dirfd, const char *name, unsigned char d_type,
			mode_t *mode)
{
	struct stat st;

	switch (d_type) {
	case DT_REG:
		*mode = S_IFREG;
		return true;
	case DT_DIR:
		*mode = S_IFDIR;
		return true;
	case DT_UNKNOWN:
		break;
	default:
		*mode = (mode_t)DTTOIF(d_type);
		return false;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return false;
	*mode = st.st_mode & S_IFMT;
	return S_ISREG(st.st_mode) || S_ISDIR(st.st_mode);
}

static int src_walk(int srcfd, char *rel, size_t len, unsigned depth,
		    src_hidden_fn fn, void *arg)
{
	struct dirent *de;
	size_t base = strlen(rel);
	DIR *dp;
	int fd, rc;

	rc = src_opendir(srcfd, rel, &fd);
	if (rc)
		return rc;
	dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(dp))) {
		mode_t type;
		int n;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		n = snprintf(rel + base, len - base, "%s%s", base ? "/" : "",
			     de->d_name);
		if (n < 0 || (size_t)n >= len - base)
			continue;
		if (!src_entry_servable(dirfd(dp), de->d_name, de->d_type,
					&type))
			fn(arg, rel, type);
		else if (S_ISDIR(type) && depth < SRC_WALK_DEPTH)
			src_walk(srcfd, rel, len, depth + 1, fn, arg);
		rel[base] = '\0';
	}
	closedir(dp);
	return 0;
}

int src_walk_hidden(int srcfd, src_hidden_fn fn, void *arg)
{
	char rel[PATH_MAX] = "";

	return src_walk(srcfd, rel, sizeof(rel), 0, fn, arg);
}

void src_id_from_stat(const struct stat *st, struct src_id *id)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
	id->ctime = st->st_ctim;
}

int src_id_check(int fd, const struct src_id *id)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (st.st_nlink == 0 || st.st_dev != id->dev || st.st_ino != id->ino ||
	    st.st_size != id->size || st.st_mtim.tv_sec != id->mtime.tv_sec ||
	    st.st_mtim.tv_nsec != id->mtime.tv_nsec ||
	    st.st_ctim.tv_sec != id->ctime.tv_sec ||
	    st.st_ctim.tv_nsec != id->ctime.tv_nsec)
		return -ESTALE;
	return 0;
}

/* ---- acting as a caller (see srcdir.h) ---- */

/* The daemon's own supplementary groups, read once. */
static struct {
	gid_t *g;
	size_t n;
	int rc;
} src_own;
static pthread_once_t src_own_once = PTHREAD_ONCE_INIT;

/*
 * Read on the first switch: every thread holds the daemon's own groups
 * outside a switch (src_cred_leave always restores them before a request
 * returns), so any thread reads the same list.
 */
static void src_own_init(void)
{
	int n = getgroups(0, NULL);

	if (n < 0) {
		src_own.rc = -errno;
		return;
	}
	src_own.g = calloc((size_t)n + 1, sizeof(gid_t));
	if (!src_own.g) {
		src_own.rc = -ENOMEM;
		return;
	}
	n = getgroups(n, src_own.g);
	if (n < 0) {
		src_own.rc = -errno;
		return;
	}
	src_own.n = (size_t)n;
}

/* This thread only (the raw system call, not glibc's all-threads one). */
static int src_thread_setgroups(size_t n, const gid_t *g)
{
	return syscall(SYS_setgroups, n, g) ? -errno : 0;
}

/* Whether this thread's filesystem ids are uid and gid (-1 reads them). */
static bool src_fs_ids_are(uid_t uid, gid_t gid)
{
	return (uid_t)setfsuid((uid_t)-1) == uid &&
	       (gid_t)setfsgid((gid_t)-1) == gid;
}

/*
 * Every change of a filesystem id resets the process's dumpable flag to
 * the fs.suid_dumpable sysctl (commit_creds), which may be 1: set it back,
 * since the flag, not RLIMIT_CORE, is what stops a core piped to a
 * handler. The daemon is never dumpable (daemon.c); check and preview
 * never switch.
 */
static void src_nodump(void)
{
	prctl(PR_SET_DUMPABLE, 0);
}

int src_cred_enter(const struct src_cred *who)
{
	uid_t me = geteuid();

	if (me != 0) /* cannot act as anyone else: only as itself */
		return who->uid == me ? 0 : -EIO;
	pthread_once(&src_own_once, src_own_init);
	if (src_own.rc)
		return -EIO;
	if (who->ngroups > (size_t)NGROUPS_MAX ||
	    src_thread_setgroups(who->ngroups, who->groups))
		goto fail;
	setfsgid(who->gid);
	setfsuid(who->uid);
	if (!src_fs_ids_are(who->uid, who->gid))
		goto fail;
	src_nodump();
	return 1;
fail:
	src_cred_leave();
	return -EIO;
}

void src_cred_leave(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();

	setfsuid(uid);
	setfsgid(gid);
	if (src_thread_setgroups(src_own.n, src_own.g) ||
	    !src_fs_ids_are(uid, gid)) {
		/* Never go on serving requests as a caller. */
		fprintf(stderr, "spotfs: cannot restore the daemon's own "
				"credentials: aborting\n");
		abort();
	}
	src_nodump();
}

/*
 * Why a timestamp check catches every write (the soundness of pins).
 *
 * The kernel updates a file's mtime and ctime before it copies a write's
 * data into the page cache: file_update_time() is called from the write
 * path (file_modified() in generic_file_write_iter() and the file
 * systems' own write_iter) before generic_perform_write(), and from
 * page_mkwrite before an mmap'd page is made writable. A read is served
 * from the page cache. So if pread() returned any byte of a write, that
 * write had already changed the times, and the fstat() after the pread()
 * sees them changed; the fstat() before it rules out a change that ended
 * before the read began.
 *
 * Two premises. (1) The write gets times different from the pinned ones.
 * Times are taken from a coarse clock (one tick, 1-10 ms), and a write in
 * the very tick of the last change would keep the same times. So the pin
 * is taken only when the coarse clock, read before the fstat(), is past
 * the file's ctime: every later write then stamps a later time. (Linux
 * >= 6.13 multigrain timestamps give the same guarantee on ext4, xfs,
 * btrfs and tmpfs: a change after a stat() gets a finer, later time.)
 * A clock set backwards, or a file system whose times are coarser than
 * the tick (FAT: 2 s), voids it. (2) A writer that already held a page
 * mapped writable and dirty when the view was pinned can change that page
 * again with no page_mkwrite and so no new times until writeback: a
 * process that mmaps the source for writing while it is served is outside
 * what this catches (see README, "The source folder").
 */
static int64_t src_ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

#define SRC_PIN_TRIES 5

int src_id_pin(int fd, struct src_id *id)
{
	struct timespec now, res = { 0, 4000000 };
	struct stat st;

	(void)clock_getres(CLOCK_REALTIME_COARSE, &res);
	for (int i = 0; i < SRC_PIN_TRIES; i++) {
		if (clock_gettime(CLOCK_REALTIME_COARSE, &now))
			return -errno;
		if (fstat(fd, &st))
			return -errno;
		src_id_from_stat(&st, id);
		/* ctime: set by every write (with mtime), never by a user.
		 * One far ahead means the clock was set back: no tick to
		 * wait for (premise 1 is void then, see above). */
		if (src_ts_ns(&now) > src_ts_ns(&st.st_ctim) ||
		    src_ts_ns(&st.st_ctim) - src_ts_ns(&now) > 1000000000)
			return 0;
		/* Changed within this tick: wait for the next one. */
		nanosleep(&res, NULL);
	}
	return -ESTALE;
}

ssize_t src_pread_pinned(int fd, const struct src_id *id, void *buf, size_t len,
			 off_t off)
{
	ssize_t n;
	int rc = src_id_check(fd, id);

	if (rc)
		return rc;
	n = pread(fd, buf, len, off);
	if (n < 0)
		return -errno;
	rc = src_id_check(fd, id);
	if (rc) {
		explicit_bzero(buf, (size_t)n); /* never served */
		return rc;
	}
	return n;
}

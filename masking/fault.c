/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fault.c - fault injection points for test builds: arming from
 * SPOTFS_FAULT, counting, the folders I/O points apply to, and SQLite's
 * allocator and VFS shim. The libc and libsodium wrappers are in
 * fault_wrap.c. Compiled to nothing without SPOT_FAULT_INJECTION.
 *
 * Counters are relaxed atomics: points fire from every thread (FUSE
 * workers, builds, the audit writer). Arming and the folders are set
 * before the daemon starts its threads.
 */
#include "fault.h"

#ifdef SPOT_FAULT_INJECTION

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
#endif

#include "fault_i.h"

static const char *const flt_names[FLT_NPOINTS] = {
	[FLT_ALLOC] = "alloc",
	[FLT_ALLOC_SODIUM] = "alloc_sodium",
	[FLT_SQLITE_NOMEM] = "sqlite_nomem",
	[FLT_SRC_READ_SHORT] = "src_read_short",
	[FLT_SRC_READ_EIO] = "src_read_eio",
	[FLT_STORE_READ_EIO] = "store_read_eio",
	[FLT_STORE_WRITE_EIO] = "store_write_eio",
	[FLT_STORE_WRITE_ENOSPC] = "store_write_enospc",
	[FLT_SQLITE_BUSY] = "sqlite_busy",
	[FLT_SQLITE_FULL] = "sqlite_full",
	[FLT_SQLITE_IOERR] = "sqlite_ioerr",
};

struct flt_pt {
	uint64_t after; /* eligible calls let through first */
	uint64_t every; /* then one in every */
	uint64_t count; /* firings at most; 0 = no limit */
	bool from_serve;
	bool trace;	/* print the stack of each logged firing */
	uint64_t hits;	/* eligible calls counted (atomic) */
	uint64_t fired; /* firings (atomic; may pass count) */
};

static struct flt_pt flt_pts[FLT_NPOINTS];
unsigned flt_armed_mask; /* bit per armed point (atomic) */
static int flt_live;	 /* flt_serving was called (atomic) */

/* Folders (set before threads start; length published last). */
static char flt_dirs[FLT_NDIRS][PATH_MAX];
static size_t flt_dir_len[FLT_NDIRS];

const char *flt_point_name(enum flt_point p)
{
	return (unsigned)p < FLT_NPOINTS ? flt_names[p] : NULL;
}

bool flt_fire(enum flt_point p)
{
	struct flt_pt *pt = &flt_pts[p];
	uint64_t h, f;

	if (!(__atomic_load_n(&flt_armed_mask, __ATOMIC_RELAXED) & (1u << p)))
		return false;
	if (pt->from_serve && !__atomic_load_n(&flt_live, __ATOMIC_ACQUIRE))
		return false;
	h = __atomic_add_fetch(&pt->hits, 1, __ATOMIC_RELAXED);
	if (h <= pt->after || (h - pt->after - 1) % pt->every)
		return false;
	f = __atomic_add_fetch(&pt->fired, 1, __ATOMIC_RELAXED);
	if (pt->count && f > pt->count)
		return false;
	/* dprintf is libc's: neither it nor its write is wrapped. */
	if (f <= FLT_LOG_MAX) {
		dprintf(STDERR_FILENO, "spotfs: fault injected: %s (#%llu)\n",
			flt_names[p], (unsigned long long)f);
#ifdef __SANITIZE_ADDRESS__
		if (pt->trace)
			__sanitizer_print_stack_trace();
#endif
	}
	return true;
}

uint64_t flt_fired(enum flt_point p)
{
	uint64_t f = __atomic_load_n(&flt_pts[p].fired, __ATOMIC_RELAXED);

	return flt_pts[p].count && f > flt_pts[p].count ? flt_pts[p].count : f;
}

void flt_serving(void)
{
	__atomic_store_n(&flt_live, 1, __ATOMIC_RELEASE);
}

/* ---- arming ---- */

static int flt_num(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = n;
	return 0;
}

/* One "POINT[:key=value]..." (a writable copy). */
static int flt_arm_one(char *item, unsigned *mask, struct flt_pt *pts,
		       struct spot_err *err)
{
	char *save = NULL, *tok = strtok_r(item, ":", &save);
	struct flt_pt pt = { .every = 1 };
	int p;

	for (p = 0; p < FLT_NPOINTS; p++)
		if (tok && !strcmp(tok, flt_names[p]))
			break;
	if (p == FLT_NPOINTS) {
		spot_err_set(err, "%s: unknown point '%s'", FLT_ENV,
			     tok ? tok : "");
		return -EINVAL;
	}
	while ((tok = strtok_r(NULL, ":", &save))) {
		char *v = strchr(tok, '=');
		int rc = -EINVAL;

		if (v)
			*v++ = '\0';
		if (v && !strcmp(tok, "after"))
			rc = flt_num(v, &pt.after);
		else if (v && !strcmp(tok, "every"))
			rc = flt_num(v, &pt.every);
		else if (v && !strcmp(tok, "count"))
			rc = flt_num(v, &pt.count);
		else if (v && !strcmp(tok, "from") && !strcmp(v, "serve"))
			rc = 0, pt.from_serve = true;
		else if (v && !strcmp(tok, "from") && !strcmp(v, "start"))
			rc = 0;
		else if (!v && !strcmp(tok, "trace"))
			rc = 0, pt.trace = true;
		if (rc || !pt.every) {
			spot_err_set(err, "%s: %s: bad option '%s'", FLT_ENV,
				     flt_names[p], tok);
			return -EINVAL;
		}
	}
	pts[p] = pt;
	*mask |= 1u << p;
	return 0;
}

int flt_arm(const char *spec, struct spot_err *err)
{
	struct flt_pt pts[FLT_NPOINTS];
	unsigned mask = 0;
	char *copy, *save = NULL, *item;
	int rc = 0;

	memset(pts, 0, sizeof(pts));
	copy = strdup(spec);
	if (!copy) {
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	for (item = strtok_r(copy, ",", &save); item && !rc;
	     item = strtok_r(NULL, ",", &save))
		rc = flt_arm_one(item, &mask, pts, err);
	free(copy);
	if (rc)
		return rc;
	__atomic_store_n(&flt_armed_mask, 0, __ATOMIC_RELAXED);
	memcpy(flt_pts, pts, sizeof(pts));
	__atomic_store_n(&flt_armed_mask, mask, __ATOMIC_RELEASE);
	return 0;
}

void flt_reset(void)
{
	__atomic_store_n(&flt_armed_mask, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&flt_live, 0, __ATOMIC_RELAXED);
	memset(flt_pts, 0, sizeof(flt_pts));
	for (int d = 0; d < FLT_NDIRS; d++)
		__atomic_store_n(&flt_dir_len[d], 0, __ATOMIC_RELAXED);
}

/* ---- folders ---- */

void flt_set_dir(enum flt_dir d, const char *path)
{
	char canon[PATH_MAX];

	if ((unsigned)d >= FLT_NDIRS || !path || !realpath(path, canon))
		return;
	__atomic_store_n(&flt_dir_len[d], 0, __ATOMIC_RELAXED);
	snprintf(flt_dirs[d], sizeof(flt_dirs[d]), "%s", canon);
	__atomic_store_n(&flt_dir_len[d], strlen(flt_dirs[d]),
			 __ATOMIC_RELEASE);
}

enum flt_dir flt_path_dir(const char *path)
{
	for (int d = 0; path && d < FLT_NDIRS; d++) {
		size_t n = __atomic_load_n(&flt_dir_len[d], __ATOMIC_ACQUIRE);

		if (n && !strncmp(path, flt_dirs[d], n) &&
		    (path[n] == '/' || !path[n]))
			return (enum flt_dir)d;
	}
	return FLT_DIR_NONE;
}

enum flt_dir flt_fd_dir(int fd)
{
	char link[32], path[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return FLT_DIR_NONE;
	path[n] = '\0';
	return flt_path_dir(path);
}

/* ---- SQLite: allocator ---- */

static sqlite3_mem_methods flt_sq_mem; /* SQLite's own */

static void *flt_sq_malloc(int n)
{
	return flt_fire(FLT_SQLITE_NOMEM) ? NULL : flt_sq_mem.xMalloc(n);
}

static void *flt_sq_realloc(void *p, int n)
{
	return flt_fire(FLT_SQLITE_NOMEM) ? NULL : flt_sq_mem.xRealloc(p, n);
}

static void flt_sq_free(void *p)
{
	flt_sq_mem.xFree(p);
}

static int flt_sq_size(void *p)
{
	return flt_sq_mem.xSize(p);
}

static int flt_sq_roundup(int n)
{
	return flt_sq_mem.xRoundup(n);
}

static int flt_sq_init(void *arg)
{
	return flt_sq_mem.xInit(arg);
}

static void flt_sq_shutdown(void *arg)
{
	flt_sq_mem.xShutdown(arg);
}

static int flt_sqlite_mem_setup(void)
{
	static sqlite3_mem_methods ours;

	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &flt_sq_mem) != SQLITE_OK)
		return -EIO;
	ours = flt_sq_mem;
	ours.xMalloc = flt_sq_malloc;
	ours.xRealloc = flt_sq_realloc;
	ours.xFree = flt_sq_free;
	ours.xSize = flt_sq_size;
	ours.xRoundup = flt_sq_roundup;
	ours.xInit = flt_sq_init;
	ours.xShutdown = flt_sq_shutdown;
	return sqlite3_config(SQLITE_CONFIG_MALLOC, &ours) == SQLITE_OK ? 0
									: -EIO;
}

/* At exit: how often each armed point was reached and fired, so a test
 * (or whoever picks after= and every=) sees what the workload did. */
static void flt_report(void)
{
	unsigned mask = __atomic_load_n(&flt_armed_mask, __ATOMIC_RELAXED);

	for (int p = 0; p < FLT_NPOINTS; p++)
		if (mask & (1u << p))
			dprintf(STDERR_FILENO,
				"spotfs: fault point %s: %llu calls counted, "
				"%llu fired\n",
				flt_names[p],
				(unsigned long long)__atomic_load_n(
					&flt_pts[p].hits, __ATOMIC_RELAXED),
				(unsigned long long)flt_fired(
					(enum flt_point)p));
}

int flt_setup(struct spot_err *err)
{
	const char *spec = getenv(FLT_ENV);
	unsigned sq = (1u << FLT_SQLITE_NOMEM) | (1u << FLT_SQLITE_BUSY) |
		      (1u << FLT_SQLITE_FULL) | (1u << FLT_SQLITE_IOERR) |
		      (1u << FLT_SRC_READ_EIO);
	unsigned mask;
	int rc;

	if (!spec || !*spec)
		return 0;
	rc = flt_arm(spec, err);
	if (rc)
		return rc;
	mask = __atomic_load_n(&flt_armed_mask, __ATOMIC_RELAXED);
	if (mask & sq) {
		/* sqlite3_config works only while SQLite is not initialised:
		 * the daemon has no connection open yet. */
		sqlite3_shutdown();
		rc = (mask & (1u << FLT_SQLITE_NOMEM)) ? flt_sqlite_mem_setup()
						       : 0;
		if (!rc)
			rc = flt_sqlite_vfs_setup();
		if (rc) {
			spot_err_set(err, "%s: cannot hook SQLite", FLT_ENV);
			return rc;
		}
	}
	dprintf(STDERR_FILENO, "spotfs: fault injection armed: %s\n", spec);
	atexit(flt_report);
	return 0;
}

#endif /* SPOT_FAULT_INJECTION */

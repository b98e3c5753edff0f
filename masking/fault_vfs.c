/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fault_vfs.c - a SQLite VFS shim for fault injection (test builds only):
 * registered as the default VFS over the one it replaces, it forwards
 * every call and fails some of those on files in the state folder (the
 * registry and the audit log: BUSY on locks, FULL on writes, IOERR on
 * reads, writes, syncs and truncates) and reads of source files (a SQLite
 * dataset: IOERR_READ).
 *
 * A shim file is our header followed by the real VFS's file object, in the
 * space SQLite allocates (szOsFile is the sum).
 */
#include "fault_i.h"

#ifdef SPOT_FAULT_INJECTION

#include <errno.h>

#include <sqlite3.h>

struct flt_vfile {
	sqlite3_file base;
	sqlite3_file *real; /* right after this struct */
	enum flt_dir dir;
};

static sqlite3_vfs *flt_real_vfs;

static sqlite3_file *flt_r(sqlite3_file *f)
{
	return ((struct flt_vfile *)f)->real;
}

static enum flt_dir flt_d(sqlite3_file *f)
{
	return ((struct flt_vfile *)f)->dir;
}

/* ---- file methods ---- */

static int flt_f_close(sqlite3_file *f)
{
	sqlite3_file *r = flt_r(f);
	int rc = r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;

	f->pMethods = NULL;
	return rc;
}

static int flt_f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	if (flt_d(f) == FLT_DIR_SRC && flt_fire(FLT_SRC_READ_EIO))
		return SQLITE_IOERR_READ;
	if (flt_d(f) == FLT_DIR_STATE && flt_fire(FLT_SQLITE_IOERR))
		return SQLITE_IOERR_READ;
	return flt_r(f)->pMethods->xRead(flt_r(f), buf, n, off);
}

static int flt_f_write(sqlite3_file *f, const void *buf, int n,
		       sqlite3_int64 off)
{
	if (flt_d(f) == FLT_DIR_STATE) {
		if (flt_fire(FLT_SQLITE_FULL))
			return SQLITE_FULL;
		if (flt_fire(FLT_SQLITE_IOERR))
			return SQLITE_IOERR_WRITE;
	}
	return flt_r(f)->pMethods->xWrite(flt_r(f), buf, n, off);
}

static int flt_f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	if (flt_d(f) == FLT_DIR_STATE && flt_fire(FLT_SQLITE_IOERR))
		return SQLITE_IOERR_TRUNCATE;
	return flt_r(f)->pMethods->xTruncate(flt_r(f), size);
}

static int flt_f_sync(sqlite3_file *f, int flags)
{
	if (flt_d(f) == FLT_DIR_STATE && flt_fire(FLT_SQLITE_IOERR))
		return SQLITE_IOERR_FSYNC;
	return flt_r(f)->pMethods->xSync(flt_r(f), flags);
}

static int flt_f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return flt_r(f)->pMethods->xFileSize(flt_r(f), size);
}

static int flt_f_lock(sqlite3_file *f, int level)
{
	if (flt_d(f) == FLT_DIR_STATE && flt_fire(FLT_SQLITE_BUSY))
		return SQLITE_BUSY;
	return flt_r(f)->pMethods->xLock(flt_r(f), level);
}

static int flt_f_unlock(sqlite3_file *f, int level)
{
	return flt_r(f)->pMethods->xUnlock(flt_r(f), level);
}

static int flt_f_reserved(sqlite3_file *f, int *out)
{
	return flt_r(f)->pMethods->xCheckReservedLock(flt_r(f), out);
}

static int flt_f_fctl(sqlite3_file *f, int op, void *arg)
{
	return flt_r(f)->pMethods->xFileControl(flt_r(f), op, arg);
}

static int flt_f_sector(sqlite3_file *f)
{
	return flt_r(f)->pMethods->xSectorSize(flt_r(f));
}

static int flt_f_devchar(sqlite3_file *f)
{
	return flt_r(f)->pMethods->xDeviceCharacteristics(flt_r(f));
}

static int flt_f_shm_map(sqlite3_file *f, int pg, int pgsz, int ext,
			 void volatile **pp)
{
	return flt_r(f)->pMethods->xShmMap(flt_r(f), pg, pgsz, ext, pp);
}

static int flt_f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	/* WAL's write lock (BEGIN IMMEDIATE) is taken here, not in xLock. */
	if ((flags & SQLITE_SHM_LOCK) && flt_d(f) == FLT_DIR_STATE &&
	    flt_fire(FLT_SQLITE_BUSY))
		return SQLITE_BUSY;
	return flt_r(f)->pMethods->xShmLock(flt_r(f), off, n, flags);
}

static void flt_f_shm_barrier(sqlite3_file *f)
{
	flt_r(f)->pMethods->xShmBarrier(flt_r(f));
}

static int flt_f_shm_unmap(sqlite3_file *f, int del)
{
	return flt_r(f)->pMethods->xShmUnmap(flt_r(f), del);
}

static int flt_f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	return flt_r(f)->pMethods->xFetch(flt_r(f), off, n, pp);
}

static int flt_f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return flt_r(f)->pMethods->xUnfetch(flt_r(f), off, p);
}

/* One table per version of the real file's methods (1 to 3). */
#define FLT_IO_METHODS(v)                                                      \
	{                                                                      \
		v, flt_f_close, flt_f_read, flt_f_write, flt_f_truncate,       \
			flt_f_sync, flt_f_size, flt_f_lock, flt_f_unlock,      \
			flt_f_reserved, flt_f_fctl, flt_f_sector,              \
			flt_f_devchar, flt_f_shm_map, flt_f_shm_lock,          \
			flt_f_shm_barrier, flt_f_shm_unmap, flt_f_fetch,       \
			flt_f_unfetch                                          \
	}
static const sqlite3_io_methods flt_io[3] = {
	FLT_IO_METHODS(1),
	FLT_IO_METHODS(2),
	FLT_IO_METHODS(3),
};

/* ---- VFS methods ---- */

static int flt_v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
		      int flags, int *out_flags)
{
	struct flt_vfile *fv = (struct flt_vfile *)f;
	int rc, v;

	(void)vfs;
	fv->real = (sqlite3_file *)&fv[1];
	fv->dir = flt_path_dir(name);
	rc = flt_real_vfs->xOpen(flt_real_vfs, name, fv->real, flags,
				 out_flags);
	if (!fv->real->pMethods) {
		f->pMethods = NULL;
		return rc;
	}
	v = fv->real->pMethods->iVersion;
	f->pMethods = &flt_io[(v < 1 ? 1 : v > 3 ? 3 : v) - 1];
	return rc;
}

static int flt_v_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
	(void)vfs;
	return flt_real_vfs->xDelete(flt_real_vfs, name, sync);
}

static int flt_v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return flt_real_vfs->xAccess(flt_real_vfs, name, flags, out);
}

static int flt_v_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return flt_real_vfs->xFullPathname(flt_real_vfs, name, n, out);
}

static void *flt_v_dlopen(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return flt_real_vfs->xDlOpen(flt_real_vfs, name);
}

static void flt_v_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	flt_real_vfs->xDlError(flt_real_vfs, n, out);
}

static void (*flt_v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return flt_real_vfs->xDlSym(flt_real_vfs, h, sym);
}

static void flt_v_dlclose(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	flt_real_vfs->xDlClose(flt_real_vfs, h);
}

static int flt_v_random(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return flt_real_vfs->xRandomness(flt_real_vfs, n, out);
}

static int flt_v_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return flt_real_vfs->xSleep(flt_real_vfs, us);
}

static int flt_v_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return flt_real_vfs->xCurrentTime(flt_real_vfs, out);
}

static int flt_v_lasterr(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return flt_real_vfs->xGetLastError(flt_real_vfs, n, out);
}

static int flt_v_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return flt_real_vfs->xCurrentTimeInt64(flt_real_vfs, out);
}

static sqlite3_vfs flt_vfs = {
	.iVersion = 2,
	.zName = "spotfs-fault",
	.xOpen = flt_v_open,
	.xDelete = flt_v_delete,
	.xAccess = flt_v_access,
	.xFullPathname = flt_v_fullpath,
	.xDlOpen = flt_v_dlopen,
	.xDlError = flt_v_dlerror,
	.xDlSym = flt_v_dlsym,
	.xDlClose = flt_v_dlclose,
	.xRandomness = flt_v_random,
	.xSleep = flt_v_sleep,
	.xCurrentTime = flt_v_time,
	.xGetLastError = flt_v_lasterr,
	.xCurrentTimeInt64 = flt_v_time64,
};

int flt_sqlite_vfs_setup(void)
{
	if (flt_real_vfs)
		return 0;
	if (sqlite3_initialize() != SQLITE_OK)
		return -EIO;
	flt_real_vfs = sqlite3_vfs_find(NULL);
	if (!flt_real_vfs || flt_real_vfs->iVersion < 2)
		return -EIO;
	flt_vfs.szOsFile =
		(int)sizeof(struct flt_vfile) + flt_real_vfs->szOsFile;
	flt_vfs.mxPathname = flt_real_vfs->mxPathname;
	return sqlite3_vfs_register(&flt_vfs, 1) == SQLITE_OK ? 0 : -EIO;
}

#endif /* SPOT_FAULT_INJECTION */

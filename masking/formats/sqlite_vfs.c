/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sqlite_vfs.c - a SQLite VFS over a caller's random-access file (struct
 * spot_rwfile: a view's spill file in the sandbox's store, encrypted), so a
 * masked database bigger than the memory budget is built where it will be
 * served instead of in memory. Only the main database file is ever opened
 * through it: the writer keeps its rollback journal and temporary files in
 * memory, so anything else is refused. One connection per file, in
 * exclusive locking mode: the locks are no-ops.
 */
#include "sqlite_i.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#define SQLC_VFS_NAME "spotfs-rw"

struct sqlc_vfile {
	sqlite3_file base; /* first: SQLite's view of it */
	const struct spot_rwfile *rw;
};

static int sqlc_v_close(sqlite3_file *f)
{
	(void)f;
	return SQLITE_OK;
}

static int sqlc_v_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	const struct spot_rwfile *rw = ((struct sqlc_vfile *)f)->rw;
	size_t done = 0;

	if (amt < 0 || off < 0)
		return SQLITE_IOERR_READ;
	while (done < (size_t)amt) {
		ssize_t n = rw->pread(rw->arg, (char *)buf + done,
				      (size_t)amt - done, (uint64_t)off + done);

		if (n < 0)
			return SQLITE_IOERR_READ;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	if (done < (size_t)amt) {
		/* SQLite's contract: zero the rest of a short read. */
		memset((char *)buf + done, 0, (size_t)amt - done);
		return SQLITE_IOERR_SHORT_READ;
	}
	return SQLITE_OK;
}

static int sqlc_v_write(sqlite3_file *f, const void *buf, int amt,
			sqlite3_int64 off)
{
	const struct spot_rwfile *rw = ((struct sqlc_vfile *)f)->rw;
	int rc;

	if (amt < 0 || off < 0)
		return SQLITE_IOERR_WRITE;
	rc = rw->pwrite(rw->arg, buf, (size_t)amt, (uint64_t)off);
	if (rc == -ENOSPC || rc == -EDQUOT)
		return SQLITE_FULL;
	return rc ? SQLITE_IOERR_WRITE : SQLITE_OK;
}

static int sqlc_v_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	const struct spot_rwfile *rw = ((struct sqlc_vfile *)f)->rw;

	if (size < 0)
		return SQLITE_IOERR_TRUNCATE;
	return rw->truncate(rw->arg, (uint64_t)size) ? SQLITE_IOERR_TRUNCATE
						     : SQLITE_OK;
}

static int sqlc_v_sync(sqlite3_file *f, int flags)
{
	(void)f;
	(void)flags;
	return SQLITE_OK; /* the file dies with the sandbox */
}

static int sqlc_v_size(sqlite3_file *f, sqlite3_int64 *size)
{
	const struct spot_rwfile *rw = ((struct sqlc_vfile *)f)->rw;

	*size = (sqlite3_int64)rw->size(rw->arg);
	return SQLITE_OK;
}

static int sqlc_v_lock(sqlite3_file *f, int level)
{
	(void)f;
	(void)level;
	return SQLITE_OK;
}

static int sqlc_v_reserved(sqlite3_file *f, int *out)
{
	(void)f;
	*out = 0;
	return SQLITE_OK;
}

static int sqlc_v_control(sqlite3_file *f, int op, void *arg)
{
	(void)f;
	(void)op;
	(void)arg;
	return SQLITE_NOTFOUND;
}

static int sqlc_v_sector(sqlite3_file *f)
{
	(void)f;
	return 4096;
}

static int sqlc_v_caps(sqlite3_file *f)
{
	(void)f;
	return 0;
}

static const sqlite3_io_methods sqlc_v_io = {
	.iVersion = 1,
	.xClose = sqlc_v_close,
	.xRead = sqlc_v_read,
	.xWrite = sqlc_v_write,
	.xTruncate = sqlc_v_truncate,
	.xSync = sqlc_v_sync,
	.xFileSize = sqlc_v_size,
	.xLock = sqlc_v_lock,
	.xUnlock = sqlc_v_lock,
	.xCheckReservedLock = sqlc_v_reserved,
	.xFileControl = sqlc_v_control,
	.xSectorSize = sqlc_v_sector,
	.xDeviceCharacteristics = sqlc_v_caps,
};

/* The main database's name carries the address of its spot_rwfile. */
static int sqlc_v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
		       int flags, int *out_flags)
{
	struct sqlc_vfile *v = (struct sqlc_vfile *)f;
	void *p = NULL;
	char tail;

	(void)vfs;
	memset(v, 0, sizeof(*v));
	if (!(flags & SQLITE_OPEN_MAIN_DB) || !name ||
	    sscanf(name, "spotfs-rw-%p%c", &p, &tail) != 1 || !p)
		return SQLITE_CANTOPEN; /* journals and temp files: memory */
	v->rw = p;
	v->base.pMethods = &sqlc_v_io;
	if (out_flags)
		*out_flags = flags;
	return SQLITE_OK;
}

static int sqlc_v_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
	(void)vfs;
	(void)name;
	(void)sync;
	return SQLITE_OK;
}

static int sqlc_v_access(sqlite3_vfs *vfs, const char *name, int flags,
			 int *out)
{
	(void)vfs;
	(void)name;
	(void)flags;
	*out = 0; /* no journal, no WAL: nothing else exists */
	return SQLITE_OK;
}

static int sqlc_v_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	if ((int)strlen(name) >= n)
		return SQLITE_CANTOPEN;
	memcpy(out, name, strlen(name) + 1);
	return SQLITE_OK;
}

static sqlite3_vfs sqlc_vfs;
static pthread_once_t sqlc_vfs_once = PTHREAD_ONCE_INIT;
static int sqlc_vfs_rc;

static void sqlc_vfs_init(void)
{
	sqlite3_vfs *def = sqlite3_vfs_find(NULL);

	if (!def) {
		sqlc_vfs_rc = SQLITE_ERROR;
		return;
	}
	/* Time, randomness and sleep as the default VFS; files our own. */
	sqlc_vfs = *def;
	sqlc_vfs.iVersion = 1;
	sqlc_vfs.szOsFile = (int)sizeof(struct sqlc_vfile);
	sqlc_vfs.mxPathname = 64;
	sqlc_vfs.pNext = NULL;
	sqlc_vfs.zName = SQLC_VFS_NAME;
	sqlc_vfs.pAppData = NULL;
	sqlc_vfs.xOpen = sqlc_v_open;
	sqlc_vfs.xDelete = sqlc_v_delete;
	sqlc_vfs.xAccess = sqlc_v_access;
	sqlc_vfs.xFullPathname = sqlc_v_fullpath;
	sqlc_vfs.xDlOpen = NULL;
	sqlc_vfs.xDlError = NULL;
	sqlc_vfs.xDlSym = NULL;
	sqlc_vfs.xDlClose = NULL;
	sqlc_vfs_rc = sqlite3_vfs_register(&sqlc_vfs, 0);
}

int sqlc_vfs_name(const struct spot_rwfile *rw, char *name, size_t len)
{
	pthread_once(&sqlc_vfs_once, sqlc_vfs_init);
	if (sqlc_vfs_rc != SQLITE_OK)
		return -ENOSYS;
	if ((size_t)snprintf(name, len, "spotfs-rw-%p", (const void *)rw) >=
	    len)
		return -ENAMETOOLONG;
	return 0;
}

const char *sqlc_vfs_id(void)
{
	return SQLC_VFS_NAME;
}

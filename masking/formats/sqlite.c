/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sqlite.c - SQLite codec: hardened read-only access to source databases,
 * snapshots, and the table list and view SQL checks. Table/view sources are
 * in sqlite_source.c, the masked-database writer in sqlite_write.c. The
 * contract is in sqlite.h.
 */
#include "sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sqlite_i.h"

#define SQLC_HDR_LEN 100
#define SQLC_HDR_WRITE_VERSION 18 /* 1 legacy, 2 WAL */
#define SQLC_HDR_READ_VERSION 19
#define SQLC_WAL_VERSION 2
#define SQLC_PROGRESS_OPS 1000 /* VM steps between budget checks */
#define SQLC_BUSY_MS 2000      /* wait for a writer's commit to finish */
#define SQLC_IDLE_RETRIES 3    /* copies of a file that keeps changing */
#define SQLC_MAX_SQL (1 << 20)
#define SQLC_NS_PER_MS 1000000ull

void sqlc_opts_init(struct sqlc_opts *o)
{
	o->budget_ms = SQLC_BUDGET_MS_DEFAULT;
	o->row_limit = SQLC_ROW_LIMIT_DEFAULT;
	o->snapshot_max = SQLC_SNAPSHOT_MAX_DEFAULT;
}

bool sqlc_is_sqlite(const uint8_t *p, size_t len)
{
	return len >= SQLC_MAGIC_LEN &&
	       memcmp(p, SQLC_MAGIC, SQLC_MAGIC_LEN) == 0;
}

/* ---- errors, budget, authorizer ---- */

uint64_t sqlc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int sqlc_errno(struct sqlc_db *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_INTERRUPT:
		if (db && db->stopped)
			return -ECANCELED;
		return db && db->timed_out ? -ETIMEDOUT : -EINTR;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_TOOBIG:
		return -EFBIG;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_NOTADB:
		return -ENOMEDIUM;
	case SQLITE_FULL: /* a masked database built in a full store */
		return -ENOSPC;
	default:
		return -EIO;
	}
}

const char *sqlc_errstr(sqlite3 *conn)
{
	return sqlite3_errstr(conn ? sqlite3_extended_errcode(conn)
				   : SQLITE_ERROR);
}

/* Arm the budget for statements that run next; left_ns 0 disarms. */
void sqlc_arm(struct sqlc_db *db, uint64_t used_ns)
{
	uint64_t budget = (uint64_t)db->opts.budget_ms * SQLC_NS_PER_MS;

	db->timed_out = false;
	if (!budget)
		db->deadline = 0;
	else
		db->deadline = sqlc_now_ns() +
			       (used_ns < budget ? budget - used_ns : 1);
}

static int sqlc_progress(void *arg)
{
	struct sqlc_db *db = arg;
	struct spot_err ignored;

	if (spot_progress_check(spot_progress_cur, &ignored)) {
		db->stopped = true; /* the sandbox is ending */
		return 1;
	}
	if (db->deadline && sqlc_now_ns() >= db->deadline) {
		db->timed_out = true;
		return 1;
	}
	return 0;
}

/* Raw page access would bypass masking of freelist and unused space. */
static bool sqlc_raw_table(const char *name)
{
	return name && (sqlite3_stricmp(name, "sqlite_dbpage") == 0 ||
			sqlite3_stricmp(name, "sqlite_dbdata") == 0 ||
			sqlite3_stricmp(name, "sqlite_dbptr") == 0);
}

/*
 * Configured SQL may only read. Writes, ATTACH, PRAGMA and transaction
 * control are denied at prepare time, so `spotfs check` reports them.
 */
static int sqlc_auth(void *arg, int op, const char *a1, const char *a2,
		     const char *dbname, const char *trigger)
{
	struct sqlc_db *db = arg;

	(void)dbname;
	(void)trigger;
	if (db->internal)
		return SQLITE_OK;
	switch (op) {
	case SQLITE_SELECT:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_READ:
		return sqlc_raw_table(a1) ? SQLITE_DENY : SQLITE_OK;
	case SQLITE_FUNCTION:
		return a2 && sqlite3_stricmp(a2, "load_extension") == 0
			       ? SQLITE_DENY
			       : SQLITE_OK;
	default:
		return SQLITE_DENY;
	}
}

/* Run our own SQL (no rows expected) past the authorizer. */
static int sqlc_exec(struct sqlc_db *db, sqlite3 *c, const char *sql)
{
	int rc;

	if (db) {
		sqlc_arm(db, 0);
		db->internal = true;
	}
	rc = sqlite3_exec(c, sql, NULL, NULL, NULL);
	if (db) {
		db->internal = false;
		db->deadline = 0;
	}
	return rc;
}

static void sqlc_limits(sqlite3 *c)
{
	sqlite3_limit(c, SQLITE_LIMIT_LENGTH, SQLC_MAX_VALUE);
	sqlite3_limit(c, SQLITE_LIMIT_SQL_LENGTH, SQLC_MAX_SQL);
	sqlite3_limit(c, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(c, SQLITE_LIMIT_EXPR_DEPTH, 500);
	sqlite3_limit(c, SQLITE_LIMIT_COMPOUND_SELECT, 100);
	sqlite3_limit(c, SQLITE_LIMIT_VDBE_OP, 250000);
	sqlite3_limit(c, SQLITE_LIMIT_TRIGGER_DEPTH, 1);
	sqlite3_limit(c, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 10000);
	sqlite3_limit(c, SQLITE_LIMIT_WORKER_THREADS, 0);
}

/* Settings that must be in place before anything reads the schema. */
void sqlc_harden_early(sqlite3 *c)
{
	sqlite3_extended_result_codes(c, 1);
	sqlite3_db_config(c, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(c, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(c, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_db_config(c, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(c, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlc_limits(c);
}

static int sqlc_harden(struct sqlc_db *db, sqlite3 *c)
{
	int rc;

	sqlite3_progress_handler(c, SQLC_PROGRESS_OPS, sqlc_progress, db);
	sqlite3_set_authorizer(c, sqlc_auth, db);
	/* No plaintext temp files for sorts; nothing may write. */
	rc = sqlc_exec(db, c, "PRAGMA temp_store=MEMORY; PRAGMA query_only=1");
	return rc == SQLITE_OK ? 0 : sqlc_errno(db, rc);
}

/* ---- opening the source file ---- */

static int sqlc_fp_take(const char *path, struct sqlc_fp *fp)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	fp->dev = st.st_dev;
	fp->ino = st.st_ino;
	fp->size = st.st_size;
	fp->mtime = st.st_mtim;
	fp->ctime = st.st_ctim;
	return 0;
}

static bool sqlc_fp_same(const struct sqlc_fp *a, const struct sqlc_fp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static bool sqlc_exists(const char *path, const char *suffix)
{
	char name[PATH_MAX + 8];
	struct stat st;

	if ((size_t)snprintf(name, sizeof(name), "%s%s", path, suffix) >=
	    sizeof(name))
		return false;
	return lstat(name, &st) == 0;
}

/*
 * Immutable reads are only valid if nothing wrote the file meanwhile. A
 * -wal appearing means an application connected: be conservative.
 */
int sqlc_fp_check(struct sqlc_db *db, struct spot_err *err)
{
	struct sqlc_fp now = { 0 };

	if (db->mode != SQLC_MODE_WAL_IDLE)
		return 0;
	if (sqlc_fp_take(db->path, &now) == 0 && sqlc_fp_same(&now, &db->fp) &&
	    !sqlc_exists(db->path, "-wal"))
		return 0;
	spot_err_set(err, "%s: the database changed while it was read",
		     db->path);
	return -EAGAIN;
}

/*
 * A writer opening a WAL database creates -wal a moment before -shm. Give it
 * that moment (up to 200 ms) before calling the pair a crashed or exclusive
 * writer's.
 */
static bool sqlc_shm_appears(const char *path)
{
	for (int i = 0; i < 40; i++) {
		if (sqlc_exists(path, "-shm"))
			return true;
		usleep(5000);
	}
	return sqlc_exists(path, "-shm");
}

/* Read the header and pick how to open the file. */
static int sqlc_detect(struct sqlc_db *db, struct spot_err *err)
{
	uint8_t hdr[SQLC_HDR_LEN];
	struct stat st;
	ssize_t n;
	int fd, rc;

	/* Never through a final symlink, never blocking on a FIFO, only a
	 * regular file: the caller confined the path, this holds the line if
	 * the name is swapped in between. */
	fd = open(db->path,
		  O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		spot_err_set(err, "%s: cannot open: %s", db->path,
			     strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		spot_err_set(err, "%s: not a regular file", db->path);
		return -EIO;
	}
	rc = sqlc_fp_take(db->path, &db->fp);
	/* A short read is not a short file, and a read error is not "no
	 * database" (both once hid the dataset; found by fault injection). */
	n = rc ? 0 : spot_pread_full(fd, hdr, sizeof(hdr), 0);
	close(fd);
	if (n < 0) {
		spot_err_set(err, "%s: cannot read: %s", db->path,
			     strerror((int)-n));
		return (int)n;
	}
	if (rc || n != (ssize_t)sizeof(hdr) ||
	    !sqlc_is_sqlite(hdr, (size_t)n)) {
		spot_err_set(err, "%s: not a SQLite 3 database", db->path);
		return -ENOMEDIUM;
	}
	if (hdr[SQLC_HDR_WRITE_VERSION] != SQLC_WAL_VERSION &&
	    hdr[SQLC_HDR_READ_VERSION] != SQLC_WAL_VERSION) {
		db->mode = SQLC_MODE_ROLLBACK;
	} else if (!sqlc_exists(db->path, "-wal")) {
		db->mode = SQLC_MODE_WAL_IDLE;
	} else if (!sqlc_shm_appears(db->path)) {
		spot_err_set(err,
			     "%s: -wal file without -shm (a crashed or "
			     "exclusive writer); not opened",
			     db->path);
		return -EBUSY;
	} else {
		db->mode = SQLC_MODE_WAL_LIVE;
	}
	return 0;
}

/* "file:" URI of the path, percent-encoding all but unreserved bytes. */
static int sqlc_uri(const char *path, bool immutable, struct spot_buf *u)
{
	int rc = spot_buf_append(u, "file:", 5);

	for (const unsigned char *p = (const unsigned char *)path; !rc && *p;
	     p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/._~-", *p))
			rc = spot_buf_putc(u, *p);
		else
			rc = spot_buf_printf(u, "%%%02X", *p);
	}
	if (!rc)
		rc = spot_buf_printf(u, "?mode=ro%s",
				     immutable ? "&immutable=1" : "");
	return rc;
}

void sqlc_close(sqlite3 **c)
{
	if (*c)
		sqlite3_close_v2(*c);
	*c = NULL;
}

static int sqlc_src_open(struct sqlc_db *db, struct spot_err *err)
{
	struct spot_buf uri;
	int rc;

	spot_buf_init(&uri);
	rc = sqlc_detect(db, err);
	if (rc)
		goto out;
	rc = sqlc_uri(db->path, db->mode == SQLC_MODE_WAL_IDLE, &uri);
	if (rc)
		goto out;
	rc = sqlite3_open_v2((const char *)uri.p, &db->src,
			     SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
				     SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
			     NULL);
	if (rc != SQLITE_OK) {
		spot_err_set(err, "%s: cannot open: %s", db->path,
			     sqlite3_errstr(rc));
		rc = rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
		goto out;
	}
	sqlc_harden_early(db->src);
	sqlite3_busy_timeout(db->src, SQLC_BUSY_MS);
	rc = sqlc_harden(db, db->src);
	if (!rc)
		rc = sqlc_exec(db, db->src,
			       "SELECT count(*) FROM sqlite_schema");
	if (rc) {
		rc = rc < 0 ? rc : sqlc_errno(db, rc);
		spot_err_set(err, "%s: cannot read the schema: %s", db->path,
			     sqlc_errstr(db->src));
	}
out:
	if (rc)
		sqlc_close(&db->src);
	spot_buf_fini(&uri);
	return rc;
}

/* ---- snapshots ---- */

/* Copy the source, inside its open read transaction, into memory. */
static int sqlc_copy(struct sqlc_db *db, struct spot_err *err)
{
	sqlite3_backup *bk;
	int rc;

	rc = sqlite3_open_v2(":memory:", &db->mem,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlc_harden_early(db->mem);
		bk = sqlite3_backup_init(db->mem, "main", db->src, "main");
		if (!bk) {
			rc = sqlite3_errcode(db->mem);
		} else {
			rc = sqlite3_backup_step(bk, -1);
			sqlite3_backup_finish(bk);
			if (rc == SQLITE_DONE)
				rc = SQLITE_OK;
		}
	}
	if (rc != SQLITE_OK) {
		spot_err_set(err, "%s: cannot copy the database: %s", db->path,
			     sqlite3_errstr(rc));
		sqlc_close(&db->mem);
		return sqlc_errno(db, rc);
	}
	rc = sqlc_harden(db, db->mem);
	if (rc) {
		spot_err_set(err, "%s: cannot set up the copy", db->path);
		sqlc_close(&db->mem);
	}
	return rc;
}

static int sqlc_snapshot(struct sqlc_db *db, bool copy, struct spot_err *err)
{
	int rc = sqlc_src_open(db, err);

	if (rc)
		return rc;
	/* The count makes BEGIN take its read snapshot now. */
	rc = sqlc_exec(db, db->src,
		       "BEGIN; SELECT count(*) FROM sqlite_schema");
	if (rc) {
		spot_err_set(err, "%s: cannot start reading: %s", db->path,
			     sqlc_errstr(db->src));
		rc = sqlc_errno(db, rc);
		goto fail;
	}
	db->in_txn = true;
	db->rd = db->src;
	if (!copy || !db->opts.snapshot_max ||
	    (uint64_t)db->fp.size > db->opts.snapshot_max)
		return 0;
	rc = sqlc_copy(db, err);
	if (rc)
		goto fail;
	sqlc_exec(db, db->src, "COMMIT");
	db->in_txn = false;
	rc = sqlc_fp_check(db, err);
	if (rc)
		goto fail;
	sqlc_close(&db->src);
	db->rd = db->mem;
	return 0;
fail:
	db->in_txn = false;
	db->rd = NULL;
	sqlc_close(&db->mem);
	sqlc_close(&db->src);
	return rc;
}

static int sqlc_begin(struct sqlc_db *db, bool copy, struct spot_err *err)
{
	int rc = 0;

	if (db->depth || db->memonly) {
		db->depth++;
		db->rd = db->memonly ? db->mem : db->rd;
		return 0;
	}
	for (int i = 0; i < SQLC_IDLE_RETRIES; i++) {
		rc = sqlc_snapshot(db, copy, err);
		if (rc != -EAGAIN)
			break;
	}
	if (!rc)
		db->depth = 1;
	return rc;
}

int sqlc_db_begin(struct sqlc_db *db, struct spot_err *err)
{
	return sqlc_begin(db, true, err);
}

int sqlc_db_end(struct sqlc_db *db, struct spot_err *err)
{
	int rc = 0;

	if (!db->depth)
		return -EINVAL;
	if (--db->depth)
		return 0;
	if (db->memonly) {
		db->rd = NULL; /* the bytes are the snapshot: nothing to end */
		return 0;
	}
	sqlc_close(&db->mem);
	if (db->src) {
		if (db->in_txn)
			sqlc_exec(db, db->src, "COMMIT");
		rc = sqlc_fp_check(db, err);
		sqlc_close(&db->src);
	}
	db->in_txn = false;
	db->rd = NULL;
	return rc;
}

int sqlc_db_open(const char *path, const struct sqlc_opts *opts,
		 struct sqlc_db **out, struct spot_err *err)
{
	struct sqlc_db *db = calloc(1, sizeof(*db));
	int rc;

	if (!db)
		return -ENOMEM;
	if (opts)
		db->opts = *opts;
	else
		sqlc_opts_init(&db->opts);
	db->path = realpath(path, NULL);
	if (!db->path) {
		rc = -errno;
		spot_err_set(err, "%s: %s", path, strerror(-rc));
		goto fail;
	}
	rc = -EAGAIN;
	for (int i = 0; rc == -EAGAIN && i < SQLC_IDLE_RETRIES; i++) {
		rc = sqlc_begin(db, false, err);
		if (!rc)
			rc = sqlc_db_end(db, err);
	}
	if (rc)
		goto fail;
	*out = db;
	return 0;
fail:
	sqlc_db_free(db);
	return rc;
}

/* A database nobody else writes (snapshots are trivial), named name. */
static struct sqlc_db *sqlc_db_new_private(const char *name,
					   const struct sqlc_opts *opts)
{
	struct sqlc_db *db = calloc(1, sizeof(*db));

	if (!db)
		return NULL;
	if (opts)
		db->opts = *opts;
	else
		sqlc_opts_init(&db->opts);
	db->memonly = true;
	db->path = strdup(name);
	if (!db->path) {
		free(db);
		return NULL;
	}
	return db;
}

/* After db->mem opened (rc, SQLite's): harden it, or fail and free db. */
static int sqlc_db_private_done(struct sqlc_db *db, int rc, const char *name,
				struct sqlc_db **out, struct spot_err *err)
{
	if (rc != SQLITE_OK) {
		spot_err_set(err, "%s: cannot load the database: %s", name,
			     sqlite3_errstr(rc));
		rc = -EIO;
	} else {
		rc = sqlc_harden(db, db->mem);
		if (rc)
			spot_err_set(err, "%s: cannot set up the database",
				     name);
	}
	if (rc) {
		sqlc_db_free(db);
		return rc;
	}
	*out = db;
	return 0;
}

int sqlc_db_open_mem(const char *name, const void *p, size_t len,
		     const struct sqlc_opts *opts, struct sqlc_db **out,
		     struct spot_err *err)
{
	struct sqlc_db *db = sqlc_db_new_private(name, opts);
	unsigned char *copy = db ? sqlite3_malloc64(len ? len : 1) : NULL;
	int rc;

	if (!copy) {
		sqlc_db_free(db);
		return -ENOMEM;
	}
	memcpy(copy, p, len);
	rc = sqlite3_open_v2(":memory:", &db->mem,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlc_harden_early(db->mem);
		/* FREEONCLOSE hands copy to SQLite, also when this fails. */
		rc = sqlite3_deserialize(db->mem, "main", copy,
					 (sqlite3_int64)len, (sqlite3_int64)len,
					 SQLITE_DESERIALIZE_FREEONCLOSE |
						 SQLITE_DESERIALIZE_READONLY);
	} else {
		sqlite3_free(copy);
	}
	return sqlc_db_private_done(db, rc, name, out, err);
}

int sqlc_db_open_rw(const char *name, const struct spot_rwfile *rw,
		    const struct sqlc_opts *opts, struct sqlc_db **out,
		    struct spot_err *err)
{
	struct sqlc_db *db = sqlc_db_new_private(name, opts);
	char vname[64];
	int rc;

	if (!db)
		return -ENOMEM;
	rc = sqlc_vfs_name(rw, vname, sizeof(vname));
	if (rc) {
		spot_err_set(err, "%s: cannot open the database: %s", name,
			     strerror(-rc));
		sqlc_db_free(db);
		return rc;
	}
	rc = sqlite3_open_v2(vname, &db->mem,
			     SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			     sqlc_vfs_id());
	if (rc == SQLITE_OK)
		sqlc_harden_early(db->mem);
	return sqlc_db_private_done(db, rc, name, out, err);
}

void sqlc_db_free(struct sqlc_db *db)
{
	if (!db)
		return;
	sqlc_close(&db->mem);
	sqlc_close(&db->src);
	free(db->path);
	free(db);
}

/* ---- tables and view SQL ---- */

void sqlc_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * Everything PRAGMA table_list shows in main, with what sqlite_schema says
 * about tables: no root page or CREATE VIRTUAL SQL means virtual.
 */
static const char sqlc_objects_sql[] =
	"SELECT l.name, l.type, "
	"coalesce((SELECT s.rootpage FROM main.sqlite_schema AS s WHERE "
	"s.type = 'table' AND s.name = l.name), 1), "
	"coalesce((SELECT ltrim(s.sql, ' ' || char(9, 10, 13)) FROM "
	"main.sqlite_schema AS s WHERE s.type = 'table' AND s.name = l.name), "
	"'') LIKE 'CREATE VIRTUAL%' "
	"FROM pragma_table_list AS l WHERE l.schema = 'main' "
	"ORDER BY l.name COLLATE BINARY";

static unsigned sqlc_kind_of(const char *name, const char *type,
			     int64_t rootpage, bool virt_sql)
{
	if (sqlite3_strnicmp(name, "sqlite_", 7) == 0)
		return SQLC_KIND_INTERNAL;
	if (type && !strcmp(type, "view"))
		return SQLC_KIND_VIEW;
	if (type && !strcmp(type, "shadow"))
		return SQLC_KIND_SHADOW;
	if (!type || strcmp(type, "table") || rootpage < 1 || virt_sql)
		return SQLC_KIND_VIRTUAL; /* "virtual", or anything unknown */
	return SQLC_KIND_TABLE;
}

/* Whether table name is "<prefix>_..." (ASCII case ignored). */
static bool sqlc_prefixed(const char *name, const char *prefix, size_t len)
{
	return sqlite3_strnicmp(name, prefix, (int)len) == 0 &&
	       name[len] == '_';
}

/*
 * table_list asks a virtual table's module which tables are its storage.
 * A virtual table none of whose tables it reports (its module is unknown
 * here, or the file crafted) has every table named "<name>_..." taken as
 * its storage. Modules known here (FTS3/4/5, rtree) always have storage
 * tables, so their neighbours ("docs_meta" beside FTS "docs") stay
 * ordinary tables.
 */
static void sqlc_mark_shadows(char **v, unsigned *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i]);
		bool known = false;

		if (k[i] != SQLC_KIND_VIRTUAL)
			continue;
		for (size_t j = 0; j < n && !known; j++)
			known = k[j] == SQLC_KIND_SHADOW &&
				sqlc_prefixed(v[j], v[i], len);
		for (size_t j = 0; j < n && !known; j++)
			if (k[j] == SQLC_KIND_TABLE &&
			    sqlc_prefixed(v[j], v[i], len))
				k[j] = SQLC_KIND_SHADOW;
	}
}

static int sqlc_list(struct sqlc_db *db, sqlite3_stmt *st, char ***names,
		     unsigned **kinds, size_t *n)
{
	char **v = NULL, **nv;
	unsigned *k = NULL, *nk;
	size_t cnt = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);
		const char *type = (const char *)sqlite3_column_text(st, 1);

		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (nv)
				v = nv;
			nk = nv ? realloc(k, cap * sizeof(*k)) : NULL;
			if (!nk)
				goto nomem;
			k = nk;
		}
		v[cnt] = strdup(s ? s : "");
		if (!v[cnt])
			goto nomem;
		k[cnt] = sqlc_kind_of(v[cnt], type, sqlite3_column_int64(st, 2),
				      sqlite3_column_int(st, 3) != 0);
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		sqlc_names_free(v, cnt);
		free(k);
		return sqlc_errno(db, rc);
	}
	sqlc_mark_shadows(v, k, cnt);
	*names = v;
	*kinds = k;
	*n = cnt;
	return 0;
nomem:
	sqlc_names_free(v, cnt);
	free(k);
	return -ENOMEM;
}

static int sqlc_objects_once(struct sqlc_db *db, char ***names,
			     unsigned **kinds, size_t *n, struct spot_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, erc;

	rc = sqlc_begin(db, false, err);
	if (rc)
		return rc;
	sqlc_arm(db, 0);
	db->internal = true;
	rc = sqlite3_prepare_v2(db->rd, sqlc_objects_sql, -1, &st, NULL);
	rc = rc == SQLITE_OK ? sqlc_list(db, st, names, kinds, n)
			     : sqlc_errno(db, rc);
	db->internal = false;
	db->deadline = 0;
	if (rc)
		spot_err_set(err, "%s: cannot list tables: %s", db->path,
			     sqlite3_errstr(sqlite3_errcode(db->rd)));
	sqlite3_finalize(st);
	erc = sqlc_db_end(db, err);
	if (!rc && erc) {
		sqlc_names_free(*names, *n);
		free(*kinds);
		rc = erc;
	}
	return rc;
}

/* Whether only blanks and comments remain (prepare left no statement). */
static int sqlc_tail_empty(sqlite3 *c, const char *tail)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!tail || !*tail)
		return 1;
	rc = sqlite3_prepare_v2(c, tail, -1, &st, NULL);
	sqlite3_finalize(st);
	return rc == SQLITE_OK && !st;
}

/*
 * Prepare configured SQL under the authorizer and check it is one
 * read-only statement returning rows. *out on success.
 */
int sqlc_prepare_view(struct sqlc_db *db, const char *kind, const char *name,
		      const char *sql, sqlite3_stmt **out, struct spot_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	int rc;

	sqlc_arm(db, 0); /* preparing may read a hostile schema */
	rc = sqlite3_prepare_v3(db->rd, sql, -1, 0, &st, &tail);
	db->deadline = 0;
	if (rc != SQLITE_OK) {
		spot_err_set(err,
			     "%s %s: %s (its SQL does not compile on the "
			     "masked tables)",
			     kind, name, sqlc_errstr(db->rd));
		rc = sqlc_errno(db, rc);
		sqlite3_finalize(st);
		return rc == -EACCES || rc == -ENOMEM ? rc : -EINVAL;
	}
	if (!st) {
		spot_err_set(err, "%s %s: no SQL statement", kind, name);
		return -EINVAL;
	}
	if (!sqlite3_stmt_readonly(st) || sqlite3_stmt_isexplain(st) ||
	    sqlite3_column_count(st) == 0) {
		spot_err_set(err, "%s %s: not a read-only SELECT", kind, name);
		rc = -EACCES;
	} else if (!sqlc_tail_empty(db->rd, tail)) {
		spot_err_set(err, "%s %s: more than one SQL statement", kind,
			     name);
		rc = -EINVAL;
	}
	if (rc) {
		sqlite3_finalize(st);
		return rc;
	}
	*out = st;
	return 0;
}

static int sqlc_check_once(struct sqlc_db *db, const char *name,
			   const char *sql, struct spot_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, erc;

	rc = sqlc_begin(db, false, err);
	if (rc)
		return rc;
	rc = sqlc_prepare_view(db, "view", name, sql, &st, err);
	sqlite3_finalize(st);
	erc = sqlc_db_end(db, err);
	return rc ? rc : erc;
}

/*
 * Metadata reads outside a snapshot run again when an immutable-mode read
 * raced with a writer (-EAGAIN); the next try opens the file in WAL mode.
 */
int sqlc_db_objects(struct sqlc_db *db, char ***names, unsigned **kinds,
		    size_t *n, struct spot_err *err)
{
	int rc = -EAGAIN;

	for (int i = 0; rc == -EAGAIN && i < SQLC_IDLE_RETRIES; i++)
		rc = sqlc_objects_once(db, names, kinds, n, err);
	return rc;
}

static int sqlc_view_sql_once(struct sqlc_db *db, const char *name, char **sql,
			      struct spot_err *err)
{
	static const char q[] = "SELECT sql FROM main.sqlite_schema WHERE "
				"type = 'view' AND name = ?1 COLLATE NOCASE";
	sqlite3_stmt *st = NULL;
	const char *text;
	int rc, erc;

	rc = sqlc_begin(db, false, err);
	if (rc)
		return rc;
	sqlc_arm(db, 0);
	db->internal = true;
	rc = sqlite3_prepare_v2(db->rd, q, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	db->internal = false;
	db->deadline = 0;
	if (rc == SQLITE_ROW) {
		text = (const char *)sqlite3_column_text(st, 0);
		*sql = strdup(text ? text : "");
		rc = *sql ? 0 : -ENOMEM;
	} else if (rc == SQLITE_DONE) {
		spot_err_set(err, "no view '%s' in the database", name);
		rc = -ENOENT;
	} else {
		spot_err_set(err, "%s: cannot read the schema: %s", db->path,
			     sqlite3_errstr(rc));
		rc = sqlc_errno(db, rc);
	}
	sqlite3_finalize(st);
	erc = sqlc_db_end(db, err);
	if (!rc && erc) {
		free(*sql);
		rc = erc;
	}
	return rc;
}

int sqlc_db_view_sql(struct sqlc_db *db, const char *name, char **sql,
		     struct spot_err *err)
{
	int rc = -EAGAIN;

	for (int i = 0; rc == -EAGAIN && i < SQLC_IDLE_RETRIES; i++)
		rc = sqlc_view_sql_once(db, name, sql, err);
	return rc;
}

int sqlc_check_view_sql(struct sqlc_db *db, const char *name, const char *sql,
			struct spot_err *err)
{
	int rc = -EAGAIN;

	for (int i = 0; rc == -EAGAIN && i < SQLC_IDLE_RETRIES; i++)
		rc = sqlc_check_once(db, name, sql, err);
	return rc;
}

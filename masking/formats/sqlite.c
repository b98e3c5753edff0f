/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sqlite.c - SQLite codec: hardened read-only access to source databases,
 * snapshots, table/view sources for the pipeline, and the masked-database
 * writer. The contract is in sqlite.h.
 */
#include "sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define SQLC_HDR_LEN 100
#define SQLC_HDR_WRITE_VERSION 18 /* 1 legacy, 2 WAL */
#define SQLC_HDR_READ_VERSION 19
#define SQLC_WAL_VERSION 2
#define SQLC_PROGRESS_OPS 1000 /* VM steps between budget checks */
#define SQLC_BUSY_MS 2000      /* wait for a writer's commit to finish */
#define SQLC_IDLE_RETRIES 3    /* copies of a file that keeps changing */
#define SQLC_MAX_SQL (1 << 20)
#define SQLC_NS_PER_MS 1000000ull
#define SQLC_REAL_MAX 40 /* "%.17g" of any double fits */
#define SQLC_PAGE_SIZE "4096"

enum sqlc_mode {
	SQLC_MODE_ROLLBACK, /* mode=ro, shared lock inside transactions */
	SQLC_MODE_WAL_LIVE, /* mode=ro, shares the existing -shm */
	SQLC_MODE_WAL_IDLE, /* immutable=1, verified unchanged afterwards */
};

/* What identifies the file's contents, for immutable-mode reads. */
struct sqlc_fp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
};

struct sqlc_db {
	char *path; /* realpath of the source */
	struct sqlc_opts opts;
	sqlite3 *src; /* on the source file, while depth > 0 */
	sqlite3 *mem; /* private copy for this snapshot, or NULL */
	sqlite3 *rd;  /* src or mem: where statements read */
	enum sqlc_mode mode;
	struct sqlc_fp fp; /* taken before reading */
	unsigned depth;	   /* snapshot nesting */
	bool in_txn;	   /* read transaction open on src */
	bool internal;	   /* authorizer: our own statements are running */
	bool timed_out;	   /* the progress handler interrupted */
	bool memonly;	   /* sqlc_db_open_mem: mem is the database */
	uint64_t deadline; /* monotonic ns; 0: no budget armed */
};

struct sqlc_source {
	struct sqlc_db *db;
	sqlite3_stmt *st;
	char *name;	  /* table or view name, for messages */
	const char *kind; /* "table" or "view" */
	struct pipe_col *cols;
	char **decl;
	size_t ncols;
	bool hex_blobs;
	bool done;
	int failed; /* sticky -errno of a failed read */
	struct spot_err failed_err;
	uint64_t rows;
	uint64_t used_ns; /* time spent stepping, against the budget */
};

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

static uint64_t sqlc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int sqlc_errno(struct sqlc_db *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_INTERRUPT:
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
	default:
		return -EIO;
	}
}

/* Arm the budget for statements that run next; left_ns 0 disarms. */
static void sqlc_arm(struct sqlc_db *db, uint64_t used_ns)
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
static void sqlc_harden_early(sqlite3 *c)
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
static int sqlc_fp_check(struct sqlc_db *db, struct spot_err *err)
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

/* Read the header and pick how to open the file. */
static int sqlc_detect(struct sqlc_db *db, struct spot_err *err)
{
	uint8_t hdr[SQLC_HDR_LEN];
	ssize_t n;
	int fd, rc;

	fd = open(db->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		spot_err_set(err, "%s: cannot open: %s", db->path,
			     strerror(-rc));
		return rc;
	}
	rc = sqlc_fp_take(db->path, &db->fp);
	n = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
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
	} else if (!sqlc_exists(db->path, "-shm")) {
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

static void sqlc_close(sqlite3 **c)
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
				     SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		spot_err_set(err, "%s: cannot open: %s", db->path,
			     db->src ? sqlite3_errmsg(db->src)
				     : sqlite3_errstr(rc));
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
			     sqlite3_errmsg(db->src));
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
			     sqlite3_errmsg(db->src));
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

int sqlc_db_open_mem(const char *name, const void *p, size_t len,
		     const struct sqlc_opts *opts, struct sqlc_db **out,
		     struct spot_err *err)
{
	struct sqlc_db *db = calloc(1, sizeof(*db));
	unsigned char *copy = NULL;
	int rc;

	if (!db)
		return -ENOMEM;
	if (opts)
		db->opts = *opts;
	else
		sqlc_opts_init(&db->opts);
	db->memonly = true;
	db->path = strdup(name);
	copy = sqlite3_malloc64(len ? len : 1);
	if (!db->path || !copy) {
		sqlite3_free(copy);
		rc = -ENOMEM;
		goto fail;
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
	if (rc != SQLITE_OK) {
		spot_err_set(err, "%s: cannot load the database: %s", name,
			     sqlite3_errstr(rc));
		rc = -EIO;
		goto fail;
	}
	rc = sqlc_harden(db, db->mem);
	if (rc) {
		spot_err_set(err, "%s: cannot set up the database", name);
		goto fail;
	}
	*out = db;
	return 0;
fail:
	sqlc_db_free(db);
	return rc;
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

static int sqlc_list(struct sqlc_db *db, sqlite3_stmt *st, char ***names,
		     size_t *n)
{
	char **v = NULL, **nv;
	size_t cnt = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);

		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				goto nomem;
			v = nv;
		}
		v[cnt] = strdup(s ? s : "");
		if (!v[cnt])
			goto nomem;
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		sqlc_names_free(v, cnt);
		return sqlc_errno(db, rc);
	}
	*names = v;
	*n = cnt;
	return 0;
nomem:
	sqlc_names_free(v, cnt);
	return -ENOMEM;
}

static int sqlc_tables_once(struct sqlc_db *db, bool include_views,
			    char ***names, size_t *n, struct spot_err *err)
{
	static const char *const sql[2] = {
		"SELECT name FROM sqlite_schema WHERE type = 'table' AND "
		"name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND "
		"coalesce(sql, '') NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
		"SELECT name FROM sqlite_schema WHERE type IN ('table', "
		"'view') "
		"AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND "
		"coalesce(sql, '') NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
	};
	sqlite3_stmt *st = NULL;
	int rc, erc;

	rc = sqlc_begin(db, false, err);
	if (rc)
		return rc;
	sqlc_arm(db, 0);
	db->internal = true;
	rc = sqlite3_prepare_v2(db->rd, sql[include_views], -1, &st, NULL);
	rc = rc == SQLITE_OK ? sqlc_list(db, st, names, n) : sqlc_errno(db, rc);
	db->internal = false;
	db->deadline = 0;
	if (rc)
		spot_err_set(err, "%s: cannot list tables: %s", db->path,
			     sqlite3_errstr(sqlite3_errcode(db->rd)));
	sqlite3_finalize(st);
	erc = sqlc_db_end(db, err);
	if (!rc && erc) {
		sqlc_names_free(*names, *n);
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
static int sqlc_prepare_view(struct sqlc_db *db, const char *kind,
			     const char *name, const char *sql,
			     sqlite3_stmt **out, struct spot_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	int rc;

	sqlc_arm(db, 0); /* preparing may read a hostile schema */
	rc = sqlite3_prepare_v3(db->rd, sql, -1, 0, &st, &tail);
	db->deadline = 0;
	if (rc != SQLITE_OK) {
		spot_err_set(err, "%s %s: %s", kind, name,
			     sqlite3_errmsg(db->rd));
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
int sqlc_db_tables(struct sqlc_db *db, bool include_views, char ***names,
		   size_t *n, struct spot_err *err)
{
	int rc = -EAGAIN;

	for (int i = 0; rc == -EAGAIN && i < SQLC_IDLE_RETRIES; i++)
		rc = sqlc_tables_once(db, include_views, names, n, err);
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

/* ---- source ---- */

static bool sqlc_has(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (; *s; s++)
		if (strncasecmp(s, word, n) == 0)
			return true;
	return false;
}

/* Column pipe type and CREATE TABLE type from a declared type. */
static uint8_t sqlc_decl_type(const char *decl, const char **aff)
{
	if (!decl || !*decl) {
		*aff = "";
		return PIPE_TEXT;
	}
	if (sqlc_has(decl, "INT")) {
		*aff = "INTEGER";
		return PIPE_INT;
	}
	if (sqlc_has(decl, "CHAR") || sqlc_has(decl, "CLOB") ||
	    sqlc_has(decl, "TEXT")) {
		*aff = "TEXT";
		return PIPE_TEXT;
	}
	if (sqlc_has(decl, "BLOB")) {
		*aff = "BLOB";
		return PIPE_BLOB;
	}
	if (sqlc_has(decl, "REAL") || sqlc_has(decl, "FLOA") ||
	    sqlc_has(decl, "DOUB")) {
		*aff = "REAL";
		return PIPE_REAL;
	}
	*aff = "NUMERIC"; /* dates, decimals, booleans: any storage class */
	return PIPE_TEXT;
}

/* A declared type is copied into CREATE TABLE only when it is plain. */
static bool sqlc_decl_plain(const char *decl)
{
	size_t n = 0;

	for (; decl[n]; n++)
		if (!((decl[n] >= 'a' && decl[n] <= 'z') ||
		      (decl[n] >= 'A' && decl[n] <= 'Z') ||
		      (decl[n] >= '0' && decl[n] <= '9') ||
		      strchr("_ (),", decl[n])))
			return false;
	return n <= 64;
}

static int sqlc_source_columns(struct sqlc_source *s)
{
	size_t n = (size_t)sqlite3_column_count(s->st);

	s->cols = calloc(n, sizeof(*s->cols));
	s->decl = calloc(n, sizeof(*s->decl));
	if (!s->cols || !s->decl)
		return -ENOMEM;
	s->ncols = n;
	for (size_t i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(s->st, (int)i);
		const char *decl = sqlite3_column_decltype(s->st, (int)i);
		const char *aff;

		if (!name)
			return -ENOMEM;
		s->cols[i].name = strdup(name);
		s->cols[i].name_len = strlen(name);
		s->cols[i].type = sqlc_decl_type(decl, &aff);
		s->decl[i] = strdup(decl && sqlc_decl_plain(decl) ? decl : aff);
		if (!s->cols[i].name || !s->decl[i])
			return -ENOMEM;
	}
	return 0;
}

static int sqlc_quote(struct spot_buf *b, const char *name)
{
	int rc = spot_buf_putc(b, '"');

	for (; !rc && *name; name++) {
		if (*name == '"')
			rc = spot_buf_putc(b, '"');
		if (!rc)
			rc = spot_buf_putc(b, (uint8_t)*name);
	}
	return rc ? rc : spot_buf_putc(b, '"');
}

int sqlc_source_new(struct sqlc_db *db, const char *table, const char *name,
		    const char *sql, const struct sqlc_source_opts *opts,
		    struct sqlc_source **out, struct spot_err *err)
{
	struct sqlc_source *s;
	struct spot_buf q;
	int rc;

	if ((!table && !sql) || (table && sql))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	spot_buf_init(&q);
	s->kind = table ? "table" : "view";
	s->name = strdup(table ? table : name ? name : "(unnamed)");
	s->hex_blobs = opts && opts->hex_blobs;
	rc = s->name ? 0 : -ENOMEM;
	if (!rc && table) {
		rc = spot_buf_printf(&q, "SELECT * FROM main.");
		if (!rc)
			rc = sqlc_quote(&q, table);
		sql = (const char *)q.p;
	}
	if (rc)
		goto fail;
	rc = sqlc_db_begin(db, err);
	if (rc)
		goto fail;
	s->db = db; /* holds a snapshot reference from here */
	rc = sqlc_prepare_view(db, s->kind, s->name, sql, &s->st, err);
	if (rc)
		goto fail;
	rc = sqlc_source_columns(s);
	if (rc) {
		spot_err_set(err, "%s %s: out of memory", s->kind, s->name);
		goto fail;
	}
	spot_buf_fini(&q);
	*out = s;
	return 0;
fail:
	if (rc == -ENOMEM && !err->msg[0])
		spot_err_set(err, "out of memory");
	spot_buf_fini(&q);
	sqlc_source_free(s);
	return rc;
}

void sqlc_source_free(struct sqlc_source *s)
{
	struct spot_err ignored;

	if (!s)
		return;
	sqlite3_finalize(s->st);
	if (s->db)
		sqlc_db_end(s->db, &ignored);
	for (size_t i = 0; i < s->ncols; i++) {
		free(s->cols[i].name);
		free(s->decl[i]);
	}
	free(s->cols);
	free(s->decl);
	free(s->name);
	free(s);
}

const char *sqlc_source_decltype(const struct sqlc_source *s, size_t col)
{
	return col < s->ncols ? s->decl[col] : "";
}

static int sqlc_src_columns(void *arg, const struct pipe_col **cols,
			    size_t *ncols, struct spot_err *err)
{
	struct sqlc_source *s = arg;

	(void)err;
	*cols = s->cols;
	*ncols = s->ncols;
	return 0;
}

/* Decimal text of v into buf (at least 21 bytes); the length. */
static size_t sqlc_fmt_int(int64_t v, char *buf)
{
	char tmp[24];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = tmp[--n];
	return len;
}

/* Integral doubles below this print exactly as integers. */
#define SQLC_REAL_EXACT_INT 1e15
#define SQLC_REAL_DIGITS 17 /* always enough to read back the same double */

/*
 * Render sign, digits dg[0..n) and decimal exponent x the way "%.<n>g"
 * would, trailing zeros removed, always marked as a real ("1.0", "1e+20").
 */
static size_t sqlc_render_real(bool neg, char *dg, int n, int x, char *buf)
{
	size_t len = 0;

	while (n > 1 && dg[n - 1] == '0')
		n--;
	if (neg)
		buf[len++] = '-';
	if (x < -4 || x >= SQLC_REAL_DIGITS) {
		buf[len++] = dg[0];
		if (n > 1) {
			buf[len++] = '.';
			memcpy(buf + len, dg + 1, (size_t)n - 1);
			len += (size_t)n - 1;
		}
		return len + (size_t)sprintf(buf + len, "e%c%02d",
					     x < 0 ? '-' : '+', abs(x));
	}
	if (x < 0) {
		memcpy(buf + len, "0.", 2);
		len += 2;
		for (int i = -1; i > x; i--)
			buf[len++] = '0';
		memcpy(buf + len, dg, (size_t)n);
		return len + (size_t)n;
	}
	for (int i = 0; i <= x; i++)
		buf[len++] = i < n ? dg[i] : '0';
	buf[len++] = '.';
	if (n <= x + 1)
		buf[len++] = '0';
	for (int i = x + 1; i < n; i++)
		buf[len++] = dg[i];
	return len;
}

/*
 * Round the 17 significant digits of d to p digits (in dg, exponent *x)
 * and check that they read back as d.
 */
static bool sqlc_round_ok(double d, const char *d17, int x17, int p, char *dg,
			  int *x)
{
	char tmp[SQLC_REAL_MAX];
	int i;

	memcpy(dg, d17, (size_t)p);
	*x = x17;
	if (d17[p] >= '5') {
		for (i = p - 1; i >= 0 && dg[i] == '9'; i--)
			dg[i] = '0';
		if (i >= 0) {
			dg[i]++;
		} else {
			dg[0] = '1';
			++*x;
		}
	}
	/* "-d.ddde<x>", built by hand: snprintf here costs as much as strtod */
	i = 0;
	if (d < 0)
		tmp[i++] = '-';
	tmp[i++] = dg[0];
	tmp[i++] = '.';
	memcpy(tmp + i, dg + 1, (size_t)p - 1);
	i += p - 1;
	tmp[i++] = 'e';
	i += (int)sqlc_fmt_int(*x, tmp + i);
	tmp[i] = 0;
	return strtod(tmp, NULL) == d;
}

/*
 * The shortest decimal (15, 16 or 17 significant digits) that reads back
 * as d, marked as a real: pandas and Python then read the same double.
 * One "%.16e" conversion and at most two strtod() calls.
 */
static size_t sqlc_fmt_real(double d, char *buf, size_t cap)
{
	char e[SQLC_REAL_MAX], d17[SQLC_REAL_DIGITS + 1], dg[SQLC_REAL_DIGITS];
	const char *p;
	int n, x;

	if (isnan(d))
		return (size_t)snprintf(buf, cap, "nan");
	if (isinf(d))
		return (size_t)snprintf(buf, cap, d < 0 ? "-inf" : "inf");
	if (fabs(d) < SQLC_REAL_EXACT_INT && d == (double)(int64_t)d) {
		n = (int)sqlc_fmt_int((int64_t)d,
				      buf); /* the common fast case */
		memcpy(buf + n, ".0", 3);
		return (size_t)n + 2;
	}
	snprintf(e, sizeof(e), "%.*e", SQLC_REAL_DIGITS - 1, fabs(d));
	d17[0] = e[0]; /* "d.dddddddddddddddde+XX" */
	memcpy(d17 + 1, e + 2, SQLC_REAL_DIGITS - 1);
	d17[SQLC_REAL_DIGITS] = 0;
	p = strchr(e, 'e');
	x = p ? atoi(p + 1) : 0;
	for (n = 15; n < SQLC_REAL_DIGITS; n++) {
		int xr;

		if (sqlc_round_ok(d, d17, x, n, dg, &xr))
			return sqlc_render_real(d < 0, dg, n, xr, buf);
	}
	return sqlc_render_real(d < 0, d17, SQLC_REAL_DIGITS, x, buf);
}

static int sqlc_cell_bytes(struct sqlc_source *s, struct pipe_batch *b,
			   struct pipe_cell *cell, const uint8_t *p, size_t n,
			   bool hex)
{
	static const char digits[] = "0123456789abcdef";
	uint8_t *d;

	if (!n) {
		cell->p = (const uint8_t *)"";
		return 0;
	}
	if (hex) {
		if (n > SIZE_MAX / 2)
			return -EFBIG;
		d = spot_arena_alloc(&b->src_arena, 2 * n);
		if (!d)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			d[2 * i] = (uint8_t)digits[p[i] >> 4];
			d[2 * i + 1] = (uint8_t)digits[p[i] & 15];
		}
		cell->p = d;
		cell->len = 2 * n;
		return 0;
	}
	(void)s;
	d = spot_arena_dup(&b->src_arena, p, n);
	if (!d)
		return -ENOMEM;
	cell->p = d;
	return 0;
}

static int sqlc_cell(struct sqlc_source *s, struct pipe_batch *b,
		     struct pipe_cell *cell, int c)
{
	char tmp[SQLC_REAL_MAX];
	const uint8_t *p;
	size_t n;

	cell->flags = 0;
	switch (sqlite3_column_type(s->st, c)) {
	case SQLITE_NULL:
		cell->p = NULL;
		cell->len = 0;
		cell->type = PIPE_NULL;
		return 0;
	case SQLITE_INTEGER:
		n = sqlc_fmt_int(sqlite3_column_int64(s->st, c), tmp);
		cell->type = PIPE_INT;
		break;
	case SQLITE_FLOAT:
		n = sqlc_fmt_real(sqlite3_column_double(s->st, c), tmp,
				  sizeof(tmp));
		cell->type = PIPE_REAL;
		break;
	case SQLITE_BLOB:
		p = sqlite3_column_blob(s->st, c);
		cell->len = (size_t)sqlite3_column_bytes(s->st, c);
		cell->type = PIPE_BLOB;
		if (!p && cell->len)
			return -ENOMEM;
		return sqlc_cell_bytes(s, b, cell, p, cell->len, s->hex_blobs);
	default:
		p = sqlite3_column_text(s->st, c);
		cell->len = (size_t)sqlite3_column_bytes(s->st, c);
		cell->type = PIPE_TEXT;
		if (!p)
			return -ENOMEM;
		return sqlc_cell_bytes(s, b, cell, p, cell->len, false);
	}
	cell->len = n;
	cell->p = spot_arena_dup(&b->src_arena, tmp, n);
	return cell->p ? 0 : -ENOMEM;
}

static int sqlc_step_error(struct sqlc_source *s, int rc, struct spot_err *err)
{
	int e = sqlc_errno(s->db, rc);

	if (e == -ETIMEDOUT)
		spot_err_set(err, "%s %s: time budget of %u ms spent", s->kind,
			     s->name, s->db->opts.budget_ms);
	else /* generic text: SQLite's own message could quote a value */
		spot_err_set(err, "%s %s: %s", s->kind, s->name,
			     sqlite3_errstr(rc));
	return e;
}

static int sqlc_fill(struct sqlc_source *s, struct pipe_batch *b,
		     struct spot_err *err)
{
	uint64_t limit = s->db->opts.row_limit;
	int rc;

	while (b->nrows < b->cap) {
		rc = sqlite3_step(s->st);
		if (rc == SQLITE_DONE) {
			s->done = true;
			return s->db->rd == s->db->src
				       ? sqlc_fp_check(s->db, err)
				       : 0;
		}
		if (rc != SQLITE_ROW)
			return sqlc_step_error(s, rc, err);
		if (limit && s->rows >= limit) {
			spot_err_set(err, "%s %s: more than %llu rows", s->kind,
				     s->name, (unsigned long long)limit);
			return -EFBIG;
		}
		for (size_t c = 0; c < s->ncols; c++) {
			rc = sqlc_cell(s, b, &b->in[b->nrows * s->ncols + c],
				       (int)c);
			if (rc) {
				spot_err_set(err, "%s %s: row %llu: %s",
					     s->kind, s->name,
					     (unsigned long long)s->rows + 1,
					     strerror(-rc));
				return rc;
			}
		}
		b->rowmeta[b->nrows] = 0;
		b->keep[b->nrows] = 1;
		b->nrows++;
		s->rows++;
	}
	return 0;
}

static int sqlc_src_next(void *arg, struct pipe_batch *b, struct spot_err *err)
{
	struct sqlc_source *s = arg;
	uint64_t t0;
	int rc;

	spot_arena_reset(&b->src_arena);
	b->nrows = 0;
	if (s->failed) {
		*err = s->failed_err;
		return s->failed;
	}
	if (s->done)
		return 0;
	if (b->ncols != s->ncols)
		return -EINVAL;
	t0 = sqlc_now_ns();
	sqlc_arm(s->db, s->used_ns);
	rc = sqlc_fill(s, b, err);
	s->db->deadline = 0;
	s->used_ns += sqlc_now_ns() - t0;
	if (rc) {
		b->nrows = 0;
		s->failed = rc; /* sticky: no partial view after an error */
		s->failed_err = *err;
	}
	return rc;
}

const struct pipe_source_ops sqlc_source_ops = {
	.columns = sqlc_src_columns,
	.next_batch = sqlc_src_next,
	.dialect = NULL,
};

/* ---- masked-database writer ---- */

#define SQLC_NO_TYPE 0xff

struct sqlc_dbwriter {
	sqlite3 *db; /* private in-memory database */
	sqlite3_stmt *ins;
	char *table; /* name for the next begin() */
	char **decl; /* declared types from sqlc_dbwriter_table's like */
	size_t ndecl;
	uint8_t *ovr; /* per column: pipe type or SQLC_NO_TYPE */
	size_t novr;
	size_t ncols;
	bool in_txn;	  /* a table is being written */
	bool rolled_back; /* a failed table left free pages: VACUUM */
	bool finished;
};

static void sqlc_w_reset_table(struct sqlc_dbwriter *w)
{
	sqlite3_finalize(w->ins);
	w->ins = NULL;
	free(w->table);
	w->table = NULL;
	sqlc_names_free(w->decl, w->ndecl);
	w->decl = NULL;
	w->ndecl = 0;
	free(w->ovr);
	w->ovr = NULL;
	w->novr = 0;
}

static void sqlc_w_rollback(struct sqlc_dbwriter *w)
{
	sqlite3_finalize(w->ins);
	w->ins = NULL;
	if (w->in_txn) {
		sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
		w->in_txn = false;
		w->rolled_back = true;
	}
}

int sqlc_dbwriter_new(struct sqlc_dbwriter **out, struct spot_err *err)
{
	struct sqlc_dbwriter *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return -ENOMEM;
	rc = sqlite3_open_v2(":memory:", &w->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_db_config(w->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
		sqlite3_db_config(w->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0,
				  NULL);
		sqlite3_limit(w->db, SQLITE_LIMIT_LENGTH, SQLC_MAX_VALUE);
		rc = sqlite3_exec(w->db,
				  "PRAGMA page_size=" SQLC_PAGE_SIZE ";"
				  "PRAGMA auto_vacuum=NONE;"
				  "PRAGMA secure_delete=ON;"
				  "PRAGMA synchronous=OFF;"
				  "PRAGMA temp_store=MEMORY",
				  NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		spot_err_set(err, "masked database: %s", sqlite3_errstr(rc));
		sqlc_dbwriter_free(w);
		return sqlc_errno(NULL, rc);
	}
	*out = w;
	return 0;
}

void sqlc_dbwriter_free(struct sqlc_dbwriter *w)
{
	if (!w)
		return;
	sqlc_w_rollback(w);
	sqlc_w_reset_table(w);
	sqlc_close(&w->db);
	free(w);
}

int sqlc_dbwriter_table(struct sqlc_dbwriter *w, const char *name,
			const struct sqlc_source *like, struct spot_err *err)
{
	sqlc_w_rollback(w);
	sqlc_w_reset_table(w);
	if (w->finished || !*name || strncasecmp(name, "sqlite_", 7) == 0) {
		spot_err_set(err, "masked database: table name %s not allowed",
			     name);
		return -EINVAL;
	}
	w->table = strdup(name);
	if (!w->table)
		return -ENOMEM;
	if (!like)
		return 0;
	w->decl = calloc(like->ncols ? like->ncols : 1, sizeof(*w->decl));
	if (!w->decl)
		return -ENOMEM;
	for (; w->ndecl < like->ncols; w->ndecl++) {
		w->decl[w->ndecl] = strdup(like->decl[w->ndecl]);
		if (!w->decl[w->ndecl])
			return -ENOMEM;
	}
	return 0;
}

int sqlc_dbwriter_coltype(struct sqlc_dbwriter *w, size_t col,
			  enum pipe_type type)
{
	uint8_t *n;

	if (col >= w->novr) {
		if (col >= SIZE_MAX / 2)
			return -EINVAL;
		n = realloc(w->ovr, col + 1);
		if (!n)
			return -ENOMEM;
		memset(n + w->novr, SQLC_NO_TYPE, col + 1 - w->novr);
		w->ovr = n;
		w->novr = col + 1;
	}
	w->ovr[col] = (uint8_t)type;
	return 0;
}

static const char *sqlc_type_name(uint8_t t)
{
	switch (t) {
	case PIPE_INT:
		return "INTEGER";
	case PIPE_REAL:
		return "REAL";
	case PIPE_TEXT:
		return "TEXT";
	case PIPE_BLOB:
		return "BLOB";
	default:
		return "";
	}
}

/* Column names must be unique in a table: "a", "a:1" as sqlite3 does. */
static int sqlc_w_colname(struct spot_buf *q, const struct pipe_col *cols,
			  size_t i)
{
	int rc = sqlc_quote(q, cols[i].name);

	for (size_t j = 0; !rc && j < i; j++) {
		if (sqlite3_stricmp(cols[i].name, cols[j].name) == 0) {
			q->len--; /* reopen the quoted name */
			rc = spot_buf_printf(q, ":%zu\"", i);
			break;
		}
	}
	return rc;
}

static int sqlc_w_sql(struct sqlc_dbwriter *w, const struct pipe_col *cols,
		      size_t ncols, struct spot_buf *cr, struct spot_buf *in)
{
	int rc = spot_buf_printf(cr, "CREATE TABLE main.");

	rc = rc ? rc : sqlc_quote(cr, w->table);
	rc = rc ? rc : spot_buf_printf(in, "INSERT INTO main.");
	rc = rc ? rc : sqlc_quote(in, w->table);
	rc = rc ? rc : spot_buf_printf(in, " VALUES (");
	rc = rc ? rc : spot_buf_putc(cr, '(');
	for (size_t i = 0; !rc && i < ncols; i++) {
		const char *t;

		if (i < w->novr && w->ovr[i] != SQLC_NO_TYPE)
			t = sqlc_type_name(w->ovr[i]);
		else if (i < w->ndecl)
			t = w->decl[i];
		else
			t = sqlc_type_name(cols[i].type);
		rc = spot_buf_printf(cr, "%s", i ? ", " : "");
		rc = rc ? rc : sqlc_w_colname(cr, cols, i);
		rc = rc ? rc : spot_buf_printf(cr, "%s%s", *t ? " " : "", t);
		rc = rc ? rc : spot_buf_printf(in, "%s?", i ? ", " : "");
	}
	rc = rc ? rc : spot_buf_putc(cr, ')');
	return rc ? rc : spot_buf_putc(in, ')');
}

static int sqlc_w_begin(void *arg, const struct pipe_col *cols, size_t ncols,
			const void *dialect, struct spot_err *err)
{
	struct sqlc_dbwriter *w = arg;
	struct spot_buf cr, in;
	int rc;

	(void)dialect;
	if (!w->table || w->in_txn || !ncols) {
		spot_err_set(err, "masked database: no table to write");
		return -EINVAL;
	}
	spot_buf_init(&cr);
	spot_buf_init(&in);
	rc = sqlc_w_sql(w, cols, ncols, &cr, &in);
	if (rc)
		goto out;
	rc = sqlite3_exec(w->db, "BEGIN", NULL, NULL, NULL);
	if (rc == SQLITE_OK) {
		w->in_txn = true;
		rc = sqlite3_exec(w->db, (const char *)cr.p, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(w->db, (const char *)in.p, -1, &w->ins,
					NULL);
	if (rc != SQLITE_OK) {
		/* The message names the table or a column, never a value. */
		spot_err_set(err, "masked database: table %s: %s", w->table,
			     sqlite3_errmsg(w->db));
		rc = sqlite3_errcode(w->db) == SQLITE_ERROR
			     ? -EINVAL
			     : sqlc_errno(NULL, sqlite3_errcode(w->db));
		sqlc_w_rollback(w);
		goto out;
	}
	w->ncols = ncols;
out:
	spot_buf_fini(&cr);
	spot_buf_fini(&in);
	return rc;
}

/* Strict decimal int64: optional sign, digits, no overflow. */
static bool sqlc_parse_int(const uint8_t *p, size_t n, int64_t *out)
{
	uint64_t v = 0, lim = (uint64_t)INT64_MAX;
	bool neg = n && p[0] == '-';
	size_t i = (n && (p[0] == '-' || p[0] == '+')) ? 1 : 0;

	if (i == n)
		return false;
	if (neg)
		lim++;
	for (; i < n; i++) {
		if (p[i] < '0' || p[i] > '9' || v > (lim - (p[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static bool sqlc_parse_real(const uint8_t *p, size_t n, double *out)
{
	char tmp[64];
	char *end;

	if (!n || n >= sizeof(tmp) || memchr(p, 0, n))
		return false;
	memcpy(tmp, p, n);
	tmp[n] = 0;
	*out = strtod(tmp, &end);
	return end == tmp + n && !isnan(*out);
}

static int sqlc_w_bind(sqlite3_stmt *st, int i, const struct pipe_cell *c)
{
	const void *p = c->len ? (const void *)c->p : "";
	int64_t iv;
	double dv;

	switch (c->type) {
	case PIPE_NULL:
		return sqlite3_bind_null(st, i);
	case PIPE_INT:
		if (sqlc_parse_int(c->p, c->len, &iv))
			return sqlite3_bind_int64(st, i, iv);
		break;
	case PIPE_REAL:
		if (sqlc_parse_real(c->p, c->len, &dv))
			return sqlite3_bind_double(st, i, dv);
		break;
	case PIPE_BLOB:
		if (!c->len)
			return sqlite3_bind_zeroblob(st, i, 0);
		return sqlite3_bind_blob64(st, i, p, c->len, SQLITE_STATIC);
	default:
		break;
	}
	return sqlite3_bind_text64(st, i, p, c->len, SQLITE_STATIC,
				   SQLITE_UTF8);
}

static int sqlc_w_rows(void *arg, const struct pipe_batch *b,
		       struct spot_err *err)
{
	struct sqlc_dbwriter *w = arg;
	int rc = SQLITE_OK;

	if (!w->ins || b->ncols != w->ncols)
		return -EINVAL;
	for (size_t r = 0; r < b->nrows; r++) {
		if (!b->keep[r])
			continue;
		for (size_t c = 0; rc == SQLITE_OK && c < w->ncols; c++)
			rc = sqlc_w_bind(w->ins, (int)c + 1,
					 pipe_batch_cell(b, r, c));
		if (rc == SQLITE_OK)
			rc = sqlite3_step(w->ins);
		sqlite3_reset(w->ins);
		if (rc != SQLITE_DONE) {
			spot_err_set(err, "masked database: table %s: %s",
				     w->table, sqlite3_errstr(rc));
			return sqlc_errno(NULL, rc);
		}
		rc = SQLITE_OK;
	}
	return 0;
}

static int sqlc_w_end(void *arg, struct spot_err *err)
{
	struct sqlc_dbwriter *w = arg;
	int rc;

	if (!w->in_txn)
		return -EINVAL;
	sqlite3_finalize(w->ins);
	w->ins = NULL;
	rc = sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		spot_err_set(err, "masked database: table %s: %s", w->table,
			     sqlite3_errstr(rc));
		sqlc_w_rollback(w);
		return sqlc_errno(NULL, rc);
	}
	w->in_txn = false;
	sqlc_w_reset_table(w);
	return 0;
}

const struct pipe_sink_ops sqlc_dbwriter_ops = {
	.begin = sqlc_w_begin,
	.rows = sqlc_w_rows,
	.end = sqlc_w_end,
};

static int sqlc_w_freelist(sqlite3 *db, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA freelist_count", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

int sqlc_dbwriter_finish(struct sqlc_dbwriter *w, struct spot_buf *out,
			 struct spot_err *err)
{
	sqlite3_int64 size = 0;
	unsigned char *img;
	int64_t free_pages = 0;
	int rc;

	sqlc_w_rollback(w);
	sqlc_w_reset_table(w);
	w->finished = true;
	rc = sqlc_w_freelist(w->db, &free_pages);
	/* VACUUM rebuilds every page: nothing of a rolled-back table stays. */
	if (rc == SQLITE_OK && (free_pages || w->rolled_back))
		rc = sqlite3_exec(w->db, "VACUUM", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlc_w_freelist(w->db, &free_pages);
	if (rc == SQLITE_OK && free_pages)
		rc = SQLITE_CORRUPT;
	if (rc != SQLITE_OK) {
		spot_err_set(err, "masked database: %s", sqlite3_errstr(rc));
		return sqlc_errno(NULL, rc);
	}
	img = sqlite3_serialize(w->db, "main", &size, 0);
	if (!img && size) {
		spot_err_set(err, "masked database: out of memory");
		return -ENOMEM;
	}
	rc = spot_buf_append(out, img, (size_t)size);
	sqlite3_free(img);
	if (rc)
		spot_err_set(err, "masked database: out of memory");
	return rc;
}

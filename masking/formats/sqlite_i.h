/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sqlite_i.h - private to the SQLite codec: the database handle and the
 * table/view source, shared by sqlite.c (opening, hardening, snapshots,
 * metadata), sqlite_source.c (tables and views as pipeline sources) and
 * sqlite_write.c (the masked-database writer). Like everything in sqlite.h,
 * an object here is used by one thread at a time.
 */
#ifndef SPOT_SQLITE_I_H
#define SPOT_SQLITE_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <sqlite3.h>

#include "sqlite.h"

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
	bool stopped;	   /* it interrupted: the build must stop */
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
	bool *gen;    /* per column: a generated column of the table */
	char *create; /* the table's CREATE TABLE, when it has generated */
	size_t ncols;
	bool hex_blobs;
	bool ours; /* our SELECT * over a checked table: authorizer off */
	bool done;
	int failed; /* sticky -errno of a failed read */
	struct spot_err failed_err;
	uint64_t rows;
	uint64_t used_ns; /* time spent stepping, against the budget */
};

/* ---- sqlite.c ---- */

/* CLOCK_MONOTONIC in ns, for the time budget. */
uint64_t sqlc_now_ns(void);
/* A SQLite result code as -errno; -ETIMEDOUT when db's budget ran out. */
int sqlc_errno(struct sqlc_db *db, int rc);
/*
 * The generic text of conn's last error code. Never sqlite3_errmsg: its
 * text quotes SQL and names from the source's schema ("near '...'",
 * "no such column: ..."), which must not reach logs, check or the audit.
 */
const char *sqlc_errstr(sqlite3 *conn);
/* Arm db's time budget for the statements that run next (used_ns spent). */
void sqlc_arm(struct sqlc_db *db, uint64_t used_ns);
/* Immutable-mode reads: -EAGAIN with err set if the file changed. */
int sqlc_fp_check(struct sqlc_db *db, struct spot_err *err);
/*
 * Defensive mode, untrusted schema, no extensions or triggers, limits:
 * before anything reads a schema on c.
 */
void sqlc_harden_early(sqlite3 *c);
/* Close *c if open; *c becomes NULL. */
void sqlc_close(sqlite3 **c);
/*
 * Prepare configured SQL on db->rd under the authorizer; it must be one
 * read-only statement returning rows. kind and name are for messages.
 */
int sqlc_prepare_view(struct sqlc_db *db, const char *kind, const char *name,
		      const char *sql, sqlite3_stmt **out,
		      struct spot_err *err);

/* ---- sqlite_source.c ---- */

/* Append name to b as a double-quoted SQL identifier. 0 or -ENOMEM. */
int sqlc_quote(struct spot_buf *b, const char *name);
/* Decimal text of v into buf (at least 21 bytes); the length. */
size_t sqlc_fmt_int(int64_t v, char *buf);
/* The shortest text that reads back as d, marked as a real; the length. */
size_t sqlc_fmt_real(double d, char *buf, size_t cap);

/* ---- sqlite_write.c ---- */

/*
 * Bind a pipeline cell as parameter i: INT and REAL text as numbers when
 * it parses, TEXT as text, BLOB as a blob, NULL as NULL. A SQLite code.
 */
int sqlc_bind_cell(sqlite3_stmt *st, int i, const struct pipe_cell *c);

/*
 * The VFS over a spot_rwfile (sqlite_vfs.c): the name to open for rw
 * (registered on first use; rw must outlive the connection), and the
 * VFS's name. 0 or -errno.
 */
int sqlc_vfs_name(const struct spot_rwfile *rw, char *name, size_t len);
const char *sqlc_vfs_id(void);

#endif /* SPOT_SQLITE_I_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sqlite.h - SQLite codec: a hardened read-only reader of source databases
 * (tables and SELECT views as pipeline sources) and a writer that builds the
 * masked database as one self-contained file image (a pipeline sink).
 *
 * Opening a source never creates, locks out or changes anything beside it:
 *   - rollback-journal databases are opened "mode=ro" (a SHARED lock only
 *     while a read transaction is open);
 *   - WAL databases whose -wal and -shm files exist (an application has
 *     them open, or keeps them) are opened "mode=ro" and share the existing
 *     -shm: WAL readers never block writers, and checkpoint-on-close is off;
 *   - WAL databases without a -wal file (no writer connected: the main file
 *     is complete) are opened "immutable=1", which creates no -wal/-shm and
 *     takes no lock. Because an application could start writing meanwhile,
 *     the file's identity (inode, size, mtime, ctime) and the absence of a
 *     -wal are checked again after reading: a change fails with -EAGAIN and
 *     the caller builds again;
 *   - a -wal without its -shm (a crashed or exclusive-mode writer) is
 *     refused with -EBUSY: opening it would create the -shm.
 * The mode is detected again at every snapshot.
 *
 * Snapshots: sqlc_db_begin() .. sqlc_db_end() bracket one view build. All
 * sources created inside see the same consistent snapshot. When the file is
 * at most opts.snapshot_max bytes the snapshot is a private in-memory copy
 * (SQLite backup API, under one short read transaction), and no lock on the
 * source is held during the build; otherwise the build reads the source in
 * one read transaction (rollback mode: the application's commits wait for
 * it). A source created outside begin/end takes its own snapshot.
 *
 * Hardening against hostile files and SQL: defensive mode, untrusted schema,
 * no extension loading, no triggers, no ATTACH, limits on value and SQL
 * length, temp_store=MEMORY (no plaintext temp files), query_only, and an
 * authorizer that lets configured SQL only SELECT, read and call functions.
 * Every statement has a time budget (time spent inside SQLite) and every
 * source a row limit.
 *
 * Errors: 0 or -errno with err set; messages name the table or view and
 * never contain a row value (runtime errors use SQLite's generic text).
 *   -EINVAL   SQL that does not prepare, is not one read-only SELECT, or
 *             touches what the authorizer forbids (-EACCES for that)
 *   -ETIMEDOUT time budget spent    -EFBIG row limit or value too big
 *   -EBUSY    the source is locked  -EAGAIN source changed, build again
 *   -ENOMEDIUM not a SQLite file    -EIO   corrupt file or other failure
 *   -ENOMEM
 *
 * Locking: a struct sqlc_db and everything made from it is used by one
 * thread at a time (connections are opened SQLITE_OPEN_NOMUTEX); open one
 * sqlc_db per worker thread to read in parallel. A writer is likewise used
 * by one thread at a time.
 */
#ifndef SPOT_SQLITE_H
#define SPOT_SQLITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipe.h"
#include "spot.h"

/* The first 16 bytes of every SQLite 3 database file. */
#define SQLC_MAGIC "SQLite format 3"
#define SQLC_MAGIC_LEN 16

#define SQLC_BUDGET_MS_DEFAULT 10000u
#define SQLC_ROW_LIMIT_DEFAULT ((uint64_t)1 << 32)
#define SQLC_SNAPSHOT_MAX_DEFAULT ((uint64_t)256 << 20)
/* Largest TEXT or BLOB value read or written (SQLITE_LIMIT_LENGTH). */
#define SQLC_MAX_VALUE ((int)(128 << 20))

struct sqlc_opts {
	uint32_t budget_ms;    /* per statement, time inside SQLite; 0: none */
	uint64_t row_limit;    /* per source; 0: none */
	uint64_t snapshot_max; /* copy files up to this size; 0: never */
};

/* Fill o with the defaults above. */
void sqlc_opts_init(struct sqlc_opts *o);

/* Whether (p, len) starts with the SQLite 3 header magic. */
bool sqlc_is_sqlite(const uint8_t *p, size_t len);

struct sqlc_db;

/*
 * Open the database at path for reading (see the top of this file). Checks
 * the header and that the schema can be read. opts may be NULL (defaults);
 * it is copied. *out is freed with sqlc_db_free().
 */
int sqlc_db_open(const char *path, const struct sqlc_opts *opts,
		 struct sqlc_db **out, struct spot_err *err);
/*
 * A database held in memory: the bytes of a complete SQLite file (copied),
 * read-only, hardened like a source. Snapshots are trivial: the bytes do
 * not change. name is used in messages. 0 or -errno with err set.
 */
int sqlc_db_open_mem(const char *name, const void *p, size_t len,
		     const struct sqlc_opts *opts, struct sqlc_db **out,
		     struct spot_err *err);
/*
 * A database in rw (a complete SQLite file that a writer made with
 * sqlc_dbwriter_new_rw left there), read-only through the VFS over rw,
 * otherwise like sqlc_db_open_mem. rw must outlive the database.
 */
int sqlc_db_open_rw(const char *name, const struct spot_rwfile *rw,
		    const struct sqlc_opts *opts, struct sqlc_db **out,
		    struct spot_err *err);
/* Close everything; sources made from db must be freed first. NULL is ok. */
void sqlc_db_free(struct sqlc_db *db);

/*
 * Start a snapshot (one view build) or, when one is open, nest into it.
 * Every begin needs an end.
 */
int sqlc_db_begin(struct sqlc_db *db, struct spot_err *err);
/*
 * End the snapshot. For an immutable-mode read of the live file, -EAGAIN
 * when the file changed during the build (discard what was built).
 */
int sqlc_db_end(struct sqlc_db *db, struct spot_err *err);

/*
 * What a schema object of the main database is. Only SQLC_KIND_TABLE and
 * SQLC_KIND_VIEW are ever served without being named with rules.
 */
enum sqlc_kind {
	SQLC_KIND_TABLE = 1,	/* ordinary table, rowid or WITHOUT ROWID */
	SQLC_KIND_VIEW = 2,	/* CREATE VIEW */
	SQLC_KIND_VIRTUAL = 4,	/* CREATE VIRTUAL TABLE (FTS3/4/5, rtree...) */
	SQLC_KIND_SHADOW = 8,	/* a virtual table's storage (docs_content) */
	SQLC_KIND_INTERNAL = 16 /* sqlite_* (schema, sequence, statistics) */
};

/*
 * Every table and view of the main database, sorted by name (byte order),
 * with its kind in (*kinds)[i]. The kind comes from PRAGMA table_list
 * (SQLite's own view of its parsed schema, which asks each virtual
 * table's module for its storage tables), then errs on the side of not
 * serving: a table with no root page or whose SQL is CREATE VIRTUAL is
 * virtual; when table_list reports no storage table for a virtual table
 * (its module is unknown here), every table named "<virtual table>_..." is
 * shadow; a name starting "sqlite_" (any case) is internal. *names is an array of n NUL-terminated strings, freed
 * with sqlc_names_free(); *kinds with free().
 */
int sqlc_db_objects(struct sqlc_db *db, char ***names, unsigned **kinds,
		    size_t *n, struct spot_err *err);
void sqlc_names_free(char **names, size_t n);

/*
 * The CREATE VIEW text of the database's view name (matched ignoring
 * ASCII case, as SQLite does), malloc'd into *sql. 0, -ENOENT (no such
 * view) or -errno with err set.
 */
int sqlc_db_view_sql(struct sqlc_db *db, const char *name, char **sql,
		     struct spot_err *err);

/*
 * Validate configured view SQL without running it: exactly one read-only
 * SELECT (WITH/VALUES allowed) that prepares against this database under
 * the authorizer. name is used in the message. For `spotfs check`.
 */
int sqlc_check_view_sql(struct sqlc_db *db, const char *name, const char *sql,
			struct spot_err *err);

/* ---- source ---- */

struct sqlc_source_opts {
	/*
	 * Serve BLOB cells as lowercase hex text (type still PIPE_BLOB), as
	 * the CSV writer wants; otherwise raw bytes (the database writer).
	 */
	bool hex_blobs;
};

struct sqlc_source;

/*
 * A pipeline source over `SELECT * FROM "table"` (table non-NULL) or over
 * the configured SELECT sql (name then names the view in messages). opts
 * may be NULL. Takes a snapshot reference (sqlc_db_begin) that
 * sqlc_source_free releases. Cells:
 *   NULL -> PIPE_NULL, len 0;  INTEGER -> PIPE_INT, decimal text;
 *   REAL -> PIPE_REAL, the shortest text that reads back to the same
 *   double, always with a '.', 'e', "inf" or "nan" (1.0 is "1.0");
 *   TEXT -> PIPE_TEXT, bytes as stored;  BLOB -> PIPE_BLOB, raw or hex.
 * Column types (struct pipe_col.type) come from declared types: INTEGER
 * affinity -> PIPE_INT, REAL -> PIPE_REAL, declared BLOB -> PIPE_BLOB,
 * everything else (TEXT, NUMERIC such as DATE, expressions) -> PIPE_TEXT.
 * Cells live in b->src_arena until the next next_batch().
 */
int sqlc_source_new(struct sqlc_db *db, const char *table, const char *name,
		    const char *sql, const struct sqlc_source_opts *opts,
		    struct sqlc_source **out, struct spot_err *err);
void sqlc_source_free(struct sqlc_source *s);
/*
 * The column's declared type for a CREATE TABLE: the source's own when it
 * is plain ("VARCHAR(20)", "DATETIME"), else its affinity name, or "" for
 * none (expressions). Valid while s lives.
 */
const char *sqlc_source_decltype(const struct sqlc_source *s, size_t col);
/*
 * Whether column col of a table source is a generated column (GENERATED
 * ALWAYS AS ..., VIRTUAL or STORED: PRAGMA table_xinfo hidden 2 or 3),
 * computed from other columns of the row. Always false for views.
 */
bool sqlc_source_generated(const struct sqlc_source *s, size_t col);

extern const struct pipe_source_ops sqlc_source_ops;

/* ---- generated columns recomputed from served values ---- */

struct sqlc_regen;

/*
 * A recomputer for the generated columns of table source s (one with
 * sqlc_source_generated columns): a private in-memory table made from the
 * source table's own CREATE TABLE (hostile input: hardened connection, an
 * authorizer allowing that one table only, CHECK constraints ignored),
 * whose columns must be the source's. s may be freed first: the
 * recomputer copies what it needs. -EIO with err naming the table when
 * the definition cannot be used. Free with sqlc_regen_free.
 */
int sqlc_regen_new(const struct sqlc_source *s, struct sqlc_regen **out,
		   struct spot_err *err);
void sqlc_regen_free(struct sqlc_regen *g);
/*
 * Whether row r of b needs its generated columns (gen[c]) recomputed: a
 * transform changed some other cell (PIPE_F_SET) and some generated cell
 * is still the source's own value (no transform set it).
 */
bool sqlc_regen_needed(const bool *gen, const struct pipe_batch *b, size_t r);
/*
 * For every kept row of b that sqlc_regen_needed: the row's
 * non-generated cells as they will be served (pipe_batch_cell: the
 * transforms' outputs where set) go into the private table, and every
 * generated cell no transform set gets the value SQLite computes from
 * them, written to b's out cells. Deciding per cell, not per rule, means
 * a transform that only looks at a value (and leaves it unset) never
 * lets the source's value through. A row the table's constraints refuse
 * (NOT NULL, a masked text in an INTEGER PRIMARY KEY or STRICT column)
 * fails with -EIO; err names the row, never a value.
 */
int sqlc_regen_batch(struct sqlc_regen *g, struct pipe_batch *b,
		     struct spot_err *err);

/* ---- masked-database writer ---- */

struct sqlc_dbwriter;

/* A writer building a fresh in-memory database. */
int sqlc_dbwriter_new(struct sqlc_dbwriter **out, struct spot_err *err);
/*
 * A writer building the database in rw instead (empty at the start; the
 * database file when sqlc_dbwriter_finish returns), holding a few MiB of
 * pages in memory whatever its size; its rollback journal and temporary
 * tables stay in memory. rw must outlive the writer.
 */
int sqlc_dbwriter_new_rw(struct sqlc_dbwriter **out,
			 const struct spot_rwfile *rw, struct spot_err *err);
void sqlc_dbwriter_free(struct sqlc_dbwriter *w);
/*
 * Name the table the next pipe_run (sink begin) creates. like (may be NULL)
 * gives declared column types (sqlc_source_decltype); without it they come
 * from pipe_col.type. A table left unfinished by a failed run is rolled
 * back here. -EINVAL for a sqlite_* name.
 */
int sqlc_dbwriter_table(struct sqlc_dbwriter *w, const char *name,
			const struct sqlc_source *like, struct spot_err *err);
/*
 * Declare column col of the next table as type (PIPE_NULL: no type), for a
 * masking method whose output type differs from the source column's.
 */
int sqlc_dbwriter_coltype(struct sqlc_dbwriter *w, size_t col,
			  enum pipe_type type);
/*
 * Append the complete database file to out (a writer of
 * sqlc_dbwriter_new_rw: leave it in its file, out untouched): legacy
 * (non-WAL) header, no freelist pages (vacuumed if any table was rolled
 * back), built with secure_delete, no indexes, no sqlite_stat tables. The
 * writer may not be used afterwards except to free it.
 */
int sqlc_dbwriter_finish(struct sqlc_dbwriter *w, struct spot_buf *out,
			 struct spot_err *err);

/*
 * Sink: INT cells are stored as integers, REAL as reals (text that does
 * not parse is stored as TEXT), TEXT as text, BLOB as blobs, NULL as NULL;
 * SQLite column affinity then applies (a TEXT "42" in an INTEGER column
 * becomes 42; "j***" stays text).
 */
extern const struct pipe_sink_ops sqlc_dbwriter_ops;

#endif /* SPOT_SQLITE_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sqlite_write.c - the masked-database writer: a pipeline sink that builds
 * a private in-memory SQLite database, table by table, and serializes it
 * into one self-contained file image. The contract is in sqlite.h.
 */
#include "sqlite.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "sqlite_i.h"

#define SQLC_PAGE_SIZE "4096"

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
	const struct spot_rwfile *rw; /* built there (sqlc_dbwriter_new_rw) */
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

/* A writer on name (through vfs, or SQLite's default when NULL). */
static int sqlc_w_new(struct sqlc_dbwriter **out, const char *name,
		      const char *vfs, struct spot_err *err)
{
	struct sqlc_dbwriter *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return -ENOMEM;

	rc = sqlite3_open_v2(name, &w->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     vfs);
	/* In a file: the journal in memory, a few MiB of pages cached. */
	if (rc == SQLITE_OK && vfs)
		rc = sqlite3_exec(w->db,
				  "PRAGMA locking_mode=EXCLUSIVE;"
				  "PRAGMA journal_mode=MEMORY;"
				  "PRAGMA cache_size=-4096",
				  NULL, NULL, NULL);
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

int sqlc_dbwriter_new(struct sqlc_dbwriter **out, struct spot_err *err)
{
	return sqlc_w_new(out, ":memory:", NULL, err);
}

int sqlc_dbwriter_new_rw(struct sqlc_dbwriter **out,
			 const struct spot_rwfile *rw, struct spot_err *err)
{
	char name[64];
	int rc = sqlc_vfs_name(rw, name, sizeof(name));

	if (rc) {
		spot_err_set(err, "masked database: no file for it");
		return rc;
	}
	rc = sqlc_w_new(out, name, sqlc_vfs_id(), err);
	if (!rc)
		(*out)->rw = rw;
	return rc;
}

/*
 * Closed, a database built in a file differs from the image of one built
 * in memory only in header fields SQLite leaves at zero in memory (file
 * change counter at 24, version-valid-for and the library version at 92):
 * zero them, so the served bytes do not depend on where it was built.
 */
static int sqlc_w_file_header(const struct spot_rwfile *rw)
{
	static const uint8_t zero[8];
	int rc = rw->pwrite(rw->arg, zero, 4, 24);

	return rc ? rc : rw->pwrite(rw->arg, zero, 8, 92);
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
		/* SQLite's message could quote the schema's text. */
		spot_err_set(err, "masked database: table %s: %s", w->table,
			     sqlc_errstr(w->db));
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

int sqlc_bind_cell(sqlite3_stmt *st, int i, const struct pipe_cell *c)
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
			rc = sqlc_bind_cell(w->ins, (int)c + 1,
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
	if (w->rw) {
		/* Committed: every page is in the file; closing writes none. */
		sqlc_close(&w->db);
		rc = sqlc_w_file_header(w->rw);
		if (rc)
			spot_err_set(err, "masked database: %s", strerror(-rc));
		return rc;
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * registry.c - the sandbox registry in SQLite (see registry.h), plus the
 * small SQLite open/error helpers the audit log (audit_write.c,
 * audit_read.c) shares.
 */
#include "registry.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "spot.h"

struct reg_db {
	pthread_mutex_t mu; /* serialises every use of conn */
	sqlite3 *conn;	    /* protected by mu */
};

/* ---- SQLite helpers ---- */

int reg_sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

/* Create the file mode 0600 if it is missing, refusing symlinks. */
static int reg_file_create(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		int saverr = errno;

		spot_log(SPOT_LOG_ERR, "cannot create %s: %s", path,
			 strerror(saverr));
		return -saverr;
	}
	close(fd);
	return 0;
}

int reg_sqlite_open(const char *path, int readonly, int busy_ms,
		    struct sqlite3 **out)
{
	sqlite3 *conn = NULL;
	int flags = SQLITE_OPEN_NOMUTEX;
	int rc;

	if (!readonly) {
		rc = reg_file_create(path);
		if (rc)
			return rc;
	}
	flags |= readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	rc = sqlite3_open_v2(path, &conn, flags, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(conn, 1);
	rc = sqlite3_busy_timeout(conn, busy_ms);
	if (rc != SQLITE_OK)
		goto fail;
	if (!readonly) {
		rc = sqlite3_exec(conn,
				  "PRAGMA journal_mode=WAL;"
				  "PRAGMA synchronous=NORMAL;",
				  NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			goto fail;
	}
	*out = conn;
	return 0;
fail:
	spot_log(SPOT_LOG_ERR, "cannot open database %s: %s", path,
		 conn ? sqlite3_errmsg(conn) : sqlite3_errstr(rc));
	sqlite3_close(conn);
	rc = reg_sqlite_errno(rc);
	return rc ? rc : -EIO;
}

/* ---- state folder ---- */

/* mkdir -p with mode 0700 for every folder created. */
static int reg_mkdirs(char *path)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0700) && errno != EEXIST) {
			int saverr = errno;

			*p = '/';
			return -saverr;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int reg_dir_check(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		spot_log(SPOT_LOG_ERR,
			 "state folder %s must be owned by uid %u and not "
			 "writable by group or others",
			 path, (unsigned)geteuid());
		return -EPERM;
	}
	return 0;
}

int reg_default_dir(char *buf, size_t len)
{
	const char *env = getenv("SPOTFS_STATE_DIR");
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n, rc;

	if (env && *env) {
		if (env[0] != '/')
			return -EINVAL;
		n = snprintf(buf, len, "%s", env);
	} else if (geteuid() == 0) {
		n = snprintf(buf, len, "/var/lib/spotfs");
	} else if (xdg && xdg[0] == '/') {
		n = snprintf(buf, len, "%s/spotfs", xdg);
	} else {
		struct stat hs;

		if (!home || home[0] != '/') {
			struct passwd *pw = getpwuid(geteuid());

			home = pw && pw->pw_dir && pw->pw_dir[0] == '/'
				       ? pw->pw_dir
				       : NULL;
		}
		/* A user without a home folder (a service account, a
		 * container's uid): a private folder of its own in /tmp. */
		if (home && !stat(home, &hs) && S_ISDIR(hs.st_mode))
			n = snprintf(buf, len, "%s/.local/state/spotfs", home);
		else
			n = snprintf(buf, len, "/tmp/spotfs-state-%u",
				     (unsigned)geteuid());
	}
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	/* Trailing slashes would make mkdir see an empty last component. */
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = 0;
	rc = reg_mkdirs(buf);
	if (rc) {
		spot_log(SPOT_LOG_ERR, "cannot create state folder %s: %s", buf,
			 strerror(-rc));
		return rc;
	}
	return reg_dir_check(buf);
}

int reg_new_id(char id[REG_ID_LEN + 1])
{
	uint8_t raw[REG_ID_LEN / 2];

	if (sodium_init() < 0)
		return -EIO;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(id, REG_ID_LEN + 1, raw, sizeof(raw));
	return 0;
}

/* ---- open / close ---- */

static const char reg_schema[] =
	"CREATE TABLE IF NOT EXISTS sandboxes("
	" id TEXT PRIMARY KEY,"
	" owner INTEGER NOT NULL,"
	" mountpoint TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" config_path TEXT NOT NULL,"
	" config_digest TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" deadline INTEGER NOT NULL,"
	" pid INTEGER NOT NULL,"
	" store_dir TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" end_reason TEXT NOT NULL DEFAULT '',"
	" ended INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS sandboxes_mount"
	" ON sandboxes(mountpoint);"
	"CREATE INDEX IF NOT EXISTS sandboxes_owner ON sandboxes(owner);";

/* Run sql in one IMMEDIATE transaction (the write lock taken up front). */
static int reg_exec_tx(sqlite3 *conn, const char *sql)
{
	int rc = sqlite3_exec(conn, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_exec(conn, sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(conn, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		sqlite3_exec(conn, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int reg_open(const char *path, struct reg_db **out)
{
	struct reg_db *db;
	int rc;

	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	rc = reg_sqlite_open(path, 0, REG_BUSY_TIMEOUT_MS, &db->conn);
	if (rc)
		goto fail;
	rc = reg_exec_tx(db->conn, reg_schema);
	if (rc != SQLITE_OK) {
		spot_log(SPOT_LOG_ERR, "registry %s: cannot create schema: %s",
			 path, sqlite3_errmsg(db->conn));
		rc = reg_sqlite_errno(rc);
		goto fail;
	}
	pthread_mutex_init(&db->mu, NULL);
	*out = db;
	return 0;
fail:
	sqlite3_close(db->conn);
	free(db);
	return rc;
}

void reg_close(struct reg_db *db)
{
	if (!db)
		return;
	sqlite3_close(db->conn);
	pthread_mutex_destroy(&db->mu);
	free(db);
}

/* ---- states ---- */

static const char *const reg_state_names[] = {
	[REG_RUNNING] = "running", [REG_UNMOUNTED] = "unmounted",
	[REG_EXPIRED] = "expired", [REG_CRASHED] = "crashed",
	[REG_GC] = "gc",
};

const char *reg_state_name(enum reg_state s)
{
	if ((size_t)s >= SPOT_ARRAY_SIZE(reg_state_names))
		return "unknown";
	return reg_state_names[s];
}

int reg_state_parse(const char *name, enum reg_state *out)
{
	size_t i;

	for (i = 0; i < SPOT_ARRAY_SIZE(reg_state_names); i++) {
		if (!strcmp(name, reg_state_names[i])) {
			*out = (enum reg_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- statements ---- */

static bool reg_id_valid(const char *id)
{
	size_t i;

	for (i = 0; i < REG_ID_LEN; i++) {
		char c = id[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return id[REG_ID_LEN] == 0;
}

/*
 * Prepare sql, let bind() fill its parameters, and step it once inside an
 * IMMEDIATE transaction. *changes gets the number of rows changed.
 */
static int reg_write(struct reg_db *db, const char *sql,
		     int (*bind)(sqlite3_stmt *st, const void *arg),
		     const void *arg, int *changes)
{
	sqlite3_stmt *st = NULL;
	int rc;

	pthread_mutex_lock(&db->mu);
	rc = sqlite3_exec(db->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_prepare_v2(db->conn, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = bind(st, arg);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		*changes = sqlite3_changes(db->conn);
		rc = sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK)
		sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
out:
	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_CONSTRAINT)
		spot_log(SPOT_LOG_ERR, "registry write failed: %s",
			 sqlite3_errmsg(db->conn));
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->mu);
	return reg_sqlite_errno(rc);
}

static int reg_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_TRANSIENT);
}

static int reg_bind_insert(sqlite3_stmt *st, const void *arg)
{
	const struct reg_sandbox *sb = arg;
	int rc = SQLITE_OK;

	rc |= reg_bind_text(st, 1, sb->id);
	rc |= sqlite3_bind_int64(st, 2, (int64_t)sb->owner);
	rc |= reg_bind_text(st, 3, sb->mountpoint);
	rc |= reg_bind_text(st, 4, sb->source);
	rc |= reg_bind_text(st, 5, sb->config_path);
	rc |= reg_bind_text(st, 6, sb->config_digest);
	rc |= sqlite3_bind_int64(st, 7, sb->created);
	rc |= sqlite3_bind_int64(st, 8, sb->deadline);
	rc |= sqlite3_bind_int64(st, 9, (int64_t)sb->pid);
	rc |= reg_bind_text(st, 10, sb->store_dir);
	rc |= reg_bind_text(st, 11, reg_state_name(sb->state));
	rc |= reg_bind_text(st, 12, sb->end_reason);
	rc |= sqlite3_bind_int64(st, 13, sb->ended);
	return rc ? SQLITE_ERROR : SQLITE_OK;
}

int reg_insert(struct reg_db *db, const struct reg_sandbox *sb)
{
	int changes = 0;

	if (!reg_id_valid(sb->id) || !sb->mountpoint ||
	    sb->mountpoint[0] != '/' || !sb->store_dir ||
	    (size_t)sb->state >= SPOT_ARRAY_SIZE(reg_state_names))
		return -EINVAL;
	return reg_write(db,
			 "INSERT INTO sandboxes(id, owner, mountpoint, source,"
			 " config_path, config_digest, created, deadline, pid,"
			 " store_dir, state, end_reason, ended)"
			 " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
			 reg_bind_insert, sb, &changes);
}

struct reg_upd {
	const char *id;
	int64_t num;
	const char *state;
	const char *reason;
};

static int reg_bind_deadline(sqlite3_stmt *st, const void *arg)
{
	const struct reg_upd *u = arg;
	int rc = sqlite3_bind_int64(st, 1, u->num);

	return rc | reg_bind_text(st, 2, u->id);
}

int reg_update_deadline(struct reg_db *db, const char *id, int64_t deadline)
{
	struct reg_upd u = { .id = id, .num = deadline };
	int changes = 0, rc;

	rc = reg_write(db, "UPDATE sandboxes SET deadline=? WHERE id=?",
		       reg_bind_deadline, &u, &changes);
	if (!rc && !changes)
		rc = -ENOENT;
	return rc;
}

static int reg_bind_state(sqlite3_stmt *st, const void *arg)
{
	const struct reg_upd *u = arg;
	int rc = SQLITE_OK;

	rc |= reg_bind_text(st, 1, u->state);
	rc |= reg_bind_text(st, 2, u->reason);
	rc |= sqlite3_bind_int64(st, 3, u->num);
	rc |= reg_bind_text(st, 4, u->id);
	return rc ? SQLITE_ERROR : SQLITE_OK;
}

int reg_set_state(struct reg_db *db, const char *id, enum reg_state state,
		  const char *reason)
{
	struct reg_upd u = { .id = id, .reason = reason };
	int changes = 0, rc;

	if ((size_t)state >= SPOT_ARRAY_SIZE(reg_state_names))
		return -EINVAL;
	u.state = reg_state_name(state);
	/* Back to running clears the end; leaving it stamps the first end. */
	u.num = state == REG_RUNNING ? 0 : (int64_t)time(NULL);
	rc = reg_write(db,
		       "UPDATE sandboxes SET state=?1, end_reason=?2,"
		       " ended=CASE WHEN ?3=0 THEN 0 WHEN ended=0 THEN ?3"
		       " ELSE ended END WHERE id=?4",
		       reg_bind_state, &u, &changes);
	if (!rc && !changes)
		rc = -ENOENT;
	return rc;
}

/* ---- reads ---- */

#define REG_COLS                                                               \
	"id, owner, mountpoint, source, config_path, config_digest, created,"  \
	" deadline, pid, store_dir, state, end_reason, ended"

static const char *reg_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? (const char *)s : "";
}

/*
 * Fill sb from the current row. With copy the strings are strdup'ed (owned
 * by sb); without, they point into the statement (valid until next step).
 */
static int reg_row(sqlite3_stmt *st, struct reg_sandbox *sb, bool copy)
{
	const char *text[5];
	char **dst[5] = { &sb->mountpoint, &sb->source, &sb->config_path,
			  &sb->store_dir, &sb->end_reason };
	size_t i;

	memset(sb, 0, sizeof(*sb));
	snprintf(sb->id, sizeof(sb->id), "%s", reg_col_text(st, 0));
	sb->owner = (uid_t)sqlite3_column_int64(st, 1);
	text[0] = reg_col_text(st, 2);
	text[1] = reg_col_text(st, 3);
	text[2] = reg_col_text(st, 4);
	snprintf(sb->config_digest, sizeof(sb->config_digest), "%s",
		 reg_col_text(st, 5));
	sb->created = sqlite3_column_int64(st, 6);
	sb->deadline = sqlite3_column_int64(st, 7);
	sb->pid = (pid_t)sqlite3_column_int64(st, 8);
	text[3] = reg_col_text(st, 9);
	if (reg_state_parse(reg_col_text(st, 10), &sb->state))
		sb->state = REG_CRASHED; /* unknown: treat as needing gc */
	text[4] = reg_col_text(st, 11);
	sb->ended = sqlite3_column_int64(st, 12);
	for (i = 0; i < SPOT_ARRAY_SIZE(text); i++) {
		*dst[i] = copy ? strdup(text[i]) : (char *)text[i];
		if (!*dst[i]) {
			reg_sandbox_fini(sb);
			return -ENOMEM;
		}
	}
	return 0;
}

void reg_sandbox_fini(struct reg_sandbox *sb)
{
	free(sb->mountpoint);
	free(sb->source);
	free(sb->config_path);
	free(sb->store_dir);
	free(sb->end_reason);
	sb->mountpoint = sb->source = sb->config_path = NULL;
	sb->store_dir = sb->end_reason = NULL;
}

static int reg_get_one(struct reg_db *db, const char *sql, const char *key,
		       struct reg_sandbox *out)
{
	sqlite3_stmt *st = NULL;
	struct reg_sandbox sb;
	int rc;

	pthread_mutex_lock(&db->mu);
	rc = sqlite3_prepare_v2(db->conn, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = reg_bind_text(st, 1, key);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		rc = reg_row(st, &sb, true);
		if (!rc)
			*out = sb;
	} else if (rc == SQLITE_DONE) {
		rc = -ENOENT;
	} else {
		spot_log(SPOT_LOG_ERR, "registry read failed: %s",
			 sqlite3_errmsg(db->conn));
		rc = reg_sqlite_errno(rc);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int reg_get(struct reg_db *db, const char *id, struct reg_sandbox *out)
{
	return reg_get_one(db, "SELECT " REG_COLS " FROM sandboxes WHERE id=?",
			   id, out);
}

int reg_get_by_mount(struct reg_db *db, const char *mountpoint,
		     struct reg_sandbox *out)
{
	return reg_get_one(db,
			   "SELECT " REG_COLS " FROM sandboxes"
			   " WHERE mountpoint=?"
			   " ORDER BY state='running' DESC, created DESC,"
			   " rowid DESC LIMIT 1",
			   mountpoint, out);
}

int reg_list(struct reg_db *db, int64_t owner, reg_list_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	struct reg_sandbox sb;
	int rc;

	pthread_mutex_lock(&db->mu);
	rc = sqlite3_prepare_v2(db->conn,
				"SELECT " REG_COLS " FROM sandboxes"
				" WHERE ?1 < 0 OR owner=?1"
				" ORDER BY created, rowid",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, owner);
	if (rc != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		reg_row(st, &sb, false); /* borrowed strings cannot fail */
		rc = fn(&sb, arg);
		if (rc)
			goto out;
	}
	if (rc == SQLITE_DONE) {
		rc = 0;
		goto out;
	}
fail:
	spot_log(SPOT_LOG_ERR, "registry list failed: %s",
		 sqlite3_errmsg(db->conn));
	rc = reg_sqlite_errno(rc);
	if (!rc)
		rc = -EIO;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

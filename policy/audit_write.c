/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * audit_write.c - the writer side of the audit log (see audit.h): the
 * bounded queue of events, the writer thread with group commit, the chain
 * head and its signature, opening and closing the log.
 */
#include "audit_i.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "registry.h"

/* ---- the writer ---- */

struct aud_qent {
	struct aud_row row;
	char *blob; /* the sanitised strings, NUL-separated */
};

#define AUD_GROUP_MS 20 /* longest wait to batch unwaited events */

struct aud_log {
	sqlite3 *conn; /* the writer thread's once started */
	sqlite3_stmt *st_ins, *st_head_get, *st_head_set; /* same */
	char errmsg[160]; /* last commit error; writer thread only */
	uint8_t genesis[AUD_HASH_LEN];
	uint8_t *sk; /* sodium_malloc'd signing key, or NULL */
	uint8_t pk[AUD_PK_LEN];
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work; /* queue non-empty or stop */
	pthread_cond_t done; /* processed moved or the log failed */
	/*
	 * Ring of queued events, protected by mu. The writer reads
	 * q[qhead..qhead+n) without mu while committing: appenders only fill
	 * free slots and only the writer moves qhead.
	 */
	struct aud_qent q[AUD_QUEUE_MAX];
	size_t qhead, qlen;	      /* protected by mu */
	uint64_t enqueued, processed; /* event tickets; protected by mu */
	uint64_t fail_ticket;	      /* first ticket not committed; mu */
	unsigned waiters;	      /* threads waiting for a commit; mu */
	bool stop;		      /* protected by mu */
	bool failed;		      /* written under mu, read atomically */
	uint64_t lost;		      /* written under mu, read atomically */
};

static int64_t aud_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copy and sanitise ev into a queue entry (owned blob). */
static int aud_qent_build(const struct aud_event *ev, struct aud_qent *qe)
{
	const char *src[AUD_NSTR] = { NULL,	  ev->sandbox, ev->process,
				      ev->role,	  ev->path,    ev->decision,
				      ev->reason, ev->detail };
	size_t off[AUD_NSTR];
	struct spot_buf b;
	size_t k;
	int rc = 0;

	spot_buf_init(&b);
	for (k = 1; k < AUD_NSTR && !rc; k++) {
		off[k] = b.len;
		if (src[k])
			rc = aud_escape(&b, AUD_ESC_STORE, src[k],
					strlen(src[k]), AUD_FIELD_MAX);
		qe->row.slen[k] = b.len - off[k];
		if (!rc)
			rc = spot_buf_putc(&b, 0);
	}
	if (rc) {
		spot_buf_fini(&b);
		return rc;
	}
	qe->blob = (char *)spot_buf_steal(&b, NULL);
	qe->row.s[AUD_S_TYPE] = aud_type_name(ev->type);
	qe->row.slen[AUD_S_TYPE] = strlen(qe->row.s[AUD_S_TYPE]);
	for (k = 1; k < AUD_NSTR; k++)
		qe->row.s[k] = qe->blob + off[k];
	qe->row.seq = 0;
	qe->row.time_ms = ev->time_ms ? ev->time_ms : aud_now_ms();
	qe->row.i[AUD_I_UID] = ev->uid;
	qe->row.i[AUD_I_GID] = ev->gid;
	qe->row.i[AUD_I_PID] = ev->pid;
	qe->row.i[AUD_I_BYTES] = ev->bytes;
	qe->row.i[AUD_I_ROWS] = ev->rows;
	return 0;
}

/* Sign (genesis, seq, hash) into sig. */
static void aud_head_sign(const struct aud_log *log, uint64_t seq,
			  const uint8_t hash[AUD_HASH_LEN],
			  uint8_t sig[AUD_SIG_LEN])
{
	uint8_t m[AUD_HEAD_MSG_MAX];
	int n = aud_head_msg(log->genesis, seq, hash, m);

	crypto_sign_ed25519_detached(sig, NULL, m, (unsigned long long)n,
				     log->sk);
}

static int aud_bind_row(sqlite3_stmt *st, const struct aud_row *r,
			const uint8_t *prev, const uint8_t *hash)
{
	int rc = 0, col = 1;
	size_t k;

	rc |= sqlite3_bind_int64(st, col++, (int64_t)r->seq);
	rc |= sqlite3_bind_int64(st, col++, r->time_ms);
	for (k = 0; k < AUD_NSTR; k++)
		rc |= sqlite3_bind_text(st, col++, r->s[k], (int)r->slen[k],
					SQLITE_STATIC);
	for (k = 0; k < AUD_NINT; k++)
		rc |= sqlite3_bind_int64(st, col++, r->i[k]);
	rc |= sqlite3_bind_blob(st, col++, prev, AUD_HASH_LEN, SQLITE_STATIC);
	rc |= sqlite3_bind_blob(st, col++, hash, AUD_HASH_LEN, SQLITE_STATIC);
	return rc ? SQLITE_ERROR : SQLITE_OK;
}

/* Read the head inside the current transaction. */
static int aud_head_get(struct aud_log *log, uint64_t *seq,
			uint8_t hash[AUD_HASH_LEN])
{
	sqlite3_stmt *st = log->st_head_get;
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != AUD_HASH_LEN) {
			rc = SQLITE_CORRUPT;
		} else {
			*seq = (uint64_t)sqlite3_column_int64(st, 0);
			memcpy(hash, sqlite3_column_blob(st, 1), AUD_HASH_LEN);
			rc = SQLITE_OK;
		}
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_CORRUPT;
	}
	sqlite3_reset(st);
	return rc;
}

/* Insert n queued events from qhead and move the head: one transaction. */
static int aud_commit(struct aud_log *log, size_t n)
{
	uint8_t prev[AUD_HASH_LEN], hash[AUD_HASH_LEN], sig[AUD_SIG_LEN];
	sqlite3_stmt *st = log->st_ins;
	uint64_t seq = 0;
	size_t k;
	int rc;

	rc = sqlite3_exec(log->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(log->errmsg, sizeof(log->errmsg), "%s",
			 sqlite3_errmsg(log->conn));
		return rc;
	}
	rc = aud_head_get(log, &seq, prev);
	for (k = 0; k < n && rc == SQLITE_OK; k++) {
		struct aud_row *r =
			&log->q[(log->qhead + k) % AUD_QUEUE_MAX].row;

		r->seq = ++seq;
		aud_row_hash(prev, r, hash);
		rc = aud_bind_row(st, r, prev, hash);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
		sqlite3_reset(st);
		memcpy(prev, hash, AUD_HASH_LEN);
	}
	st = log->st_head_set;
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (int64_t)seq);
		sqlite3_bind_blob(st, 2, prev, AUD_HASH_LEN, SQLITE_STATIC);
		if (log->sk) {
			aud_head_sign(log, seq, prev, sig);
			sqlite3_bind_blob(st, 3, sig, AUD_SIG_LEN,
					  SQLITE_STATIC);
			sqlite3_bind_blob(st, 4, log->pk, AUD_PK_LEN,
					  SQLITE_STATIC);
		} else {
			sqlite3_bind_null(st, 3);
			sqlite3_bind_null(st, 4);
		}
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
		sqlite3_reset(st);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(log->conn, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		/* Keep the cause: ROLLBACK replaces the error message. */
		snprintf(log->errmsg, sizeof(log->errmsg), "%s",
			 sqlite3_errmsg(log->conn));
		sqlite3_exec(log->conn, "ROLLBACK", NULL, NULL, NULL);
	}
	return rc;
}

/*
 * Group commit: events nobody waits for (overlay changes, releases) gather
 * for up to AUD_GROUP_MS so that a burst costs one transaction instead of
 * one each. A waiting appender (an open: data waits for its record), a
 * flush or a stop ends the wait at once. Called and returns with mu held.
 */
static void aud_group_wait(struct aud_log *log)
{
	struct timespec end;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_nsec += AUD_GROUP_MS * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	while (!log->stop && !log->waiters && log->qlen < AUD_BATCH_MAX &&
	       pthread_cond_timedwait(&log->work, &log->mu, &end) == 0)
		;
}

static void *aud_writer(void *arg)
{
	struct aud_log *log = arg;
	size_t n, k;
	int rc;

	pthread_mutex_lock(&log->mu);
	for (;;) {
		while (!log->qlen && !log->stop)
			pthread_cond_wait(&log->work, &log->mu);
		if (!log->qlen)
			break;
		aud_group_wait(log);
		n = log->qlen < AUD_BATCH_MAX ? log->qlen : AUD_BATCH_MAX;
		pthread_mutex_unlock(&log->mu);
		rc = log->failed ? SQLITE_ERROR : aud_commit(log, n);
		if (rc != SQLITE_OK && !log->failed)
			spot_log(SPOT_LOG_ERR,
				 "audit log: cannot commit %zu events: %s; "
				 "failing closed",
				 n, log->errmsg);
		pthread_mutex_lock(&log->mu);
		if (rc != SQLITE_OK) {
			if (!log->failed)
				log->fail_ticket = log->processed + 1;
			__atomic_store_n(&log->failed, true, __ATOMIC_RELEASE);
			__atomic_add_fetch(&log->lost, n, __ATOMIC_RELAXED);
		}
		for (k = 0; k < n; k++)
			free(log->q[(log->qhead + k) % AUD_QUEUE_MAX].blob);
		log->qhead = (log->qhead + n) % AUD_QUEUE_MAX;
		log->qlen -= n;
		log->processed += n;
		pthread_cond_broadcast(&log->done);
	}
	pthread_mutex_unlock(&log->mu);
	return NULL;
}

/* ---- open / close ---- */

static const char aud_schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY,"
	" value BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS events("
	" seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
	" type TEXT NOT NULL, sandbox TEXT NOT NULL, process TEXT NOT NULL,"
	" role TEXT NOT NULL, path TEXT NOT NULL, decision TEXT NOT NULL,"
	" reason TEXT NOT NULL, detail TEXT NOT NULL,"
	" uid INTEGER NOT NULL, gid INTEGER NOT NULL, pid INTEGER NOT NULL,"
	" bytes INTEGER NOT NULL, rows INTEGER NOT NULL,"
	" prev_hash BLOB NOT NULL, hash BLOB NOT NULL);"
	"CREATE INDEX IF NOT EXISTS events_sandbox ON events(sandbox);"
	"CREATE INDEX IF NOT EXISTS events_time ON events(time_ms);"
	"CREATE TABLE IF NOT EXISTS head(id INTEGER PRIMARY KEY CHECK(id=1),"
	" seq INTEGER NOT NULL, hash BLOB NOT NULL, sig BLOB, pk BLOB);"
	/* A speed bump only: the hash chain is what detects tampering. */
	"CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events"
	" BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
	"CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events"
	" BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
	"INSERT OR IGNORE INTO meta VALUES('format', 1);";

/* Create the schema and the genesis once; read the genesis back. */
static int aud_init_db(struct aud_log *log)
{
	uint8_t g[AUD_HASH_LEN];
	sqlite3_stmt *st = NULL;
	int rc;

	randombytes_buf(g, sizeof(g));
	rc = sqlite3_exec(log->conn, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_exec(log->conn, aud_schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(log->conn,
					"INSERT OR IGNORE INTO meta"
					" VALUES('genesis', ?)",
					-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 1, g, sizeof(g), SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE
			     ? SQLITE_OK
			     : sqlite3_errcode(log->conn);
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(log->conn,
				  "INSERT OR IGNORE INTO head(id, seq, hash)"
				  " SELECT 1, 0, value FROM meta"
				  " WHERE key='genesis'",
				  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(log->conn,
					"SELECT value FROM meta"
					" WHERE key='genesis'",
					-1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW &&
		    sqlite3_column_bytes(st, 0) == AUD_HASH_LEN) {
			memcpy(log->genesis, sqlite3_column_blob(st, 0),
			       AUD_HASH_LEN);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
			rc = SQLITE_CORRUPT;
		}
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(log->conn, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		sqlite3_exec(log->conn, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int aud_prepare(struct aud_log *log)
{
	int rc;

	rc = sqlite3_prepare_v2(log->conn,
				"INSERT INTO events(" AUD_COLS ", prev_hash,"
				" hash) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
				"?,?)",
				-1, &log->st_ins, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(log->conn,
					"SELECT seq, hash FROM head WHERE id=1",
					-1, &log->st_head_get, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(log->conn,
					"UPDATE head SET seq=?, hash=?, sig=?,"
					" pk=? WHERE id=1",
					-1, &log->st_head_set, NULL);
	return rc;
}

static void aud_log_free(struct aud_log *log)
{
	sqlite3_finalize(log->st_ins);
	sqlite3_finalize(log->st_head_get);
	sqlite3_finalize(log->st_head_set);
	sqlite3_close(log->conn);
	sodium_free(log->sk);
	free(log);
}

static int aud_log_setup(struct aud_log *log, const char *path,
			 const struct aud_log_opts *opts)
{
	uint8_t pk[AUD_PK_LEN];
	int busy = opts && opts->busy_ms ? opts->busy_ms : AUD_BUSY_TIMEOUT_MS;
	int rc;

	if (opts && opts->sign_seed) {
		log->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
		if (!log->sk)
			return -ENOMEM;
		crypto_sign_ed25519_seed_keypair(pk, log->sk, opts->sign_seed);
		memcpy(log->pk, pk, sizeof(pk));
	}
	rc = reg_sqlite_open(path, 0, busy, &log->conn);
	if (rc)
		return rc;
	rc = aud_init_db(log);
	if (rc == SQLITE_OK)
		rc = aud_prepare(log);
	if (rc != SQLITE_OK) {
		spot_log(SPOT_LOG_ERR, "audit log %s: %s", path,
			 sqlite3_errmsg(log->conn));
		return reg_sqlite_errno(rc) ? reg_sqlite_errno(rc) : -EIO;
	}
	return 0;
}

int aud_log_open(const char *path, const struct aud_log_opts *opts,
		 struct aud_log **out)
{
	struct aud_log *log;
	int rc;

	if (sodium_init() < 0)
		return -EIO;
	log = calloc(1, sizeof(*log));
	if (!log)
		return -ENOMEM;
	log->fail_ticket = UINT64_MAX;
	rc = aud_log_setup(log, path, opts);
	if (rc)
		goto fail;
	pthread_mutex_init(&log->mu, NULL);
	pthread_cond_init(&log->work, NULL);
	pthread_cond_init(&log->done, NULL);
	rc = -pthread_create(&log->thread, NULL, aud_writer, log);
	if (rc) {
		pthread_cond_destroy(&log->done);
		pthread_cond_destroy(&log->work);
		pthread_mutex_destroy(&log->mu);
		goto fail;
	}
	*out = log;
	return 0;
fail:
	aud_log_free(log);
	return rc;
}

int aud_log_close(struct aud_log *log)
{
	int rc;

	if (!log)
		return 0;
	pthread_mutex_lock(&log->mu);
	log->stop = true;
	pthread_cond_signal(&log->work);
	pthread_mutex_unlock(&log->mu);
	pthread_join(log->thread, NULL);
	rc = log->failed ? -EIO : 0;
	pthread_cond_destroy(&log->done);
	pthread_cond_destroy(&log->work);
	pthread_mutex_destroy(&log->mu);
	aud_log_free(log);
	return rc;
}

/* ---- appending ---- */

static int aud_enqueue(struct aud_log *log, const struct aud_event *ev,
		       uint64_t *ticket)
{
	struct aud_qent qe;
	int rc;

	if (ev->type <= AUD_EV_UNKNOWN || ev->type >= AUD_EV_COUNT)
		return -EINVAL;
	if (!aud_log_healthy(log))
		return -EIO;
	rc = aud_qent_build(ev, &qe);
	if (rc)
		return rc;
	pthread_mutex_lock(&log->mu);
	while (log->qlen == AUD_QUEUE_MAX && !log->failed)
		pthread_cond_wait(&log->done, &log->mu);
	if (log->failed || log->stop) {
		pthread_mutex_unlock(&log->mu);
		free(qe.blob);
		return -EIO;
	}
	log->q[(log->qhead + log->qlen) % AUD_QUEUE_MAX] = qe;
	log->qlen++;
	*ticket = ++log->enqueued;
	pthread_cond_signal(&log->work);
	pthread_mutex_unlock(&log->mu);
	return 0;
}

/* Wait until ticket t is processed: 0 if committed, -EIO if dropped. */
static int aud_wait(struct aud_log *log, uint64_t t)
{
	int rc;

	pthread_mutex_lock(&log->mu);
	log->waiters++;
	pthread_cond_signal(&log->work); /* cut a group-commit wait short */
	while (log->processed < t)
		pthread_cond_wait(&log->done, &log->mu);
	log->waiters--;
	rc = t >= log->fail_ticket ? -EIO : 0;
	pthread_mutex_unlock(&log->mu);
	return rc;
}

int aud_log_append(struct aud_log *log, const struct aud_event *ev)
{
	uint64_t t;

	return aud_enqueue(log, ev, &t);
}

int aud_log_append_sync(struct aud_log *log, const struct aud_event *ev)
{
	uint64_t t;
	int rc = aud_enqueue(log, ev, &t);

	return rc ? rc : aud_wait(log, t);
}

int aud_log_flush(struct aud_log *log)
{
	uint64_t t;

	pthread_mutex_lock(&log->mu);
	t = log->enqueued;
	pthread_mutex_unlock(&log->mu);
	return t ? aud_wait(log, t) : 0;
}

bool aud_log_healthy(const struct aud_log *log)
{
	return !__atomic_load_n(&log->failed, __ATOMIC_ACQUIRE);
}

uint64_t aud_log_lost(const struct aud_log *log)
{
	return __atomic_load_n(&log->lost, __ATOMIC_RELAXED);
}

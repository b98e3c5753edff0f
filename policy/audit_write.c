/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * audit_write.c - the writer side of the audit log (see audit.h): the
 * bounded queue of events, the writer thread with group commit, the chain
 * head and its signature, opening and closing the log.
 */
#include "audit_i.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "registry.h"

/* ---- the writer ---- */

struct aud_qent {
	struct aud_row row;
	char *blob; /* the sanitised strings, NUL-separated */
};

#define AUD_GROUP_MS 20 /* longest wait to batch unwaited events */

/* A thread waiting for its event (or a flush) to be processed. */
struct aud_waiter {
	uint64_t ticket;
	int rc;	   /* 0 committed, -EIO dropped */
	bool done; /* set by the writer */
	struct aud_waiter *next;
};

struct aud_log {
	sqlite3 *conn; /* the writer thread's once started */
	sqlite3_stmt *st_ins, *st_head_get, *st_head_set; /* same */
	char errmsg[160]; /* last commit error; writer thread only */
	char *sandbox;	  /* for the outage record; may be NULL */
	uint8_t genesis[AUD_HASH_LEN];
	uint8_t *sk; /* sodium_malloc'd signing key, or NULL */
	uint8_t pk[AUD_PK_LEN];
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work; /* queue non-empty, stop or retry */
	pthread_cond_t done; /* processed moved, or a retry was made */
	/*
	 * Ring of queued events, protected by mu. The writer reads
	 * q[qhead..qhead+n) without mu while committing: appenders only fill
	 * free slots and only the writer moves qhead. While the log is
	 * failing nothing is queued: the writer uses q[qhead] for the outage
	 * record.
	 */
	struct aud_qent q[AUD_QUEUE_MAX];
	size_t qhead, qlen;	      /* protected by mu */
	uint64_t enqueued, processed; /* event tickets; protected by mu */
	struct aud_waiter *wait_list; /* protected by mu */
	unsigned waiters;	      /* threads waiting for a commit; mu */
	bool stop;		      /* protected by mu */
	bool retry_now;		      /* protected by mu */
	bool exited;		      /* the writer returned; mu */
	uint64_t retries;	      /* attempts made; mu */
	int64_t fail_since_ms;	      /* outage start (wall); mu */
	int64_t retry_at_ms;	      /* next attempt (monotonic); mu */
	uint64_t outage_lost;	      /* events lost in this outage; mu */
	uint64_t refused;	      /* refusals noted; atomic */
	bool failed;		      /* written under mu, read atomically */
	uint64_t lost;		      /* written under mu, read atomically */
};

static int64_t aud_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

/* Tell the waiters of tickets first..last how their events went. */
static void aud_wake(struct aud_log *log, uint64_t first, uint64_t last, int rc)
{
	for (struct aud_waiter *w = log->wait_list; w; w = w->next)
		if (w->ticket >= first && w->ticket <= last) {
			w->rc = rc;
			w->done = true;
		}
}

/* Mark the log failed (first failure starts an outage). mu held. */
static void aud_fail(struct aud_log *log, uint64_t n)
{
	if (!log->failed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		log->fail_since_ms =
			(int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		log->outage_lost = 0;
		__atomic_store_n(&log->refused, 0, __ATOMIC_RELAXED);
		log->retry_at_ms = aud_mono_ms() + AUD_RETRY_MS;
	}
	__atomic_store_n(&log->failed, true, __ATOMIC_RELEASE);
	__atomic_add_fetch(&log->lost, n, __ATOMIC_RELAXED);
	log->outage_lost += n;
}

/*
 * Try to end an outage: commit one audit_error record saying what was lost
 * and refused. Called with mu held and nothing queued (appends are refused
 * while failing); drops mu around the commit.
 */
static void aud_recover(struct aud_log *log)
{
	struct aud_qent *qe = &log->q[log->qhead];
	char reason[224], detail[256];
	uint64_t lost = log->outage_lost;
	uint64_t refused = __atomic_load_n(&log->refused, __ATOMIC_RELAXED);
	int64_t now = aud_now_ms(), since = log->fail_since_ms;
	struct aud_event ev;
	time_t t = (time_t)(since / 1000);
	char when[32] = "?";
	struct tm tm;
	int rc;

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(reason, sizeof(reason), "audit log could not be written: %s",
		 log->errmsg);
	snprintf(detail, sizeof(detail),
		 "unwritable from %s for %" PRId64 ".%03d s; %" PRIu64
		 " events lost; %" PRIu64 " opens refused",
		 when, (now - since) / 1000, (int)((now - since) % 1000), lost,
		 refused);
	aud_event_init(&ev, AUD_EV_AUDIT_ERROR, log->sandbox);
	ev.time_ms = now;
	ev.pid = getpid();
	ev.decision = "error";
	ev.reason = reason;
	ev.detail = detail;
	log->retry_now = false;
	pthread_mutex_unlock(&log->mu);
	rc = aud_qent_build(&ev, qe);
	if (!rc) {
		rc = aud_commit(log, 1) == SQLITE_OK ? 0 : -EIO;
		free(qe->blob);
		qe->blob = NULL;
	}
	pthread_mutex_lock(&log->mu);
	log->retries++;
	if (!rc) {
		spot_log(SPOT_LOG_WARN,
			 "audit log: writable again; %" PRIu64
			 " events were lost, %" PRIu64 " opens refused",
			 lost, refused);
		log->outage_lost = 0;
		__atomic_sub_fetch(&log->refused, refused, __ATOMIC_RELAXED);
		__atomic_store_n(&log->failed, false, __ATOMIC_RELEASE);
	} else {
		log->retry_at_ms = aud_mono_ms() + AUD_RETRY_MS;
	}
	pthread_cond_broadcast(&log->done);
}

/* Wait for work, or until the next retry of a failed log. mu held. */
static void aud_idle(struct aud_log *log)
{
	struct timespec end;
	int64_t left;

	if (!log->failed) {
		pthread_cond_wait(&log->work, &log->mu);
		return;
	}
	left = log->retry_at_ms - aud_mono_ms();
	if (left <= 0)
		return;
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += left / 1000;
	end.tv_nsec += (left % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&log->work, &log->mu, &end);
}

static void *aud_writer(void *arg)
{
	struct aud_log *log = arg;
	size_t n, k;
	int rc;

	pthread_mutex_lock(&log->mu);
	for (;;) {
		if (!log->qlen && log->failed &&
		    (log->stop || log->retry_now ||
		     aud_mono_ms() >= log->retry_at_ms)) {
			aud_recover(log);
			if (log->stop)
				break;
			continue;
		}
		if (!log->qlen) {
			if (log->stop)
				break;
			aud_idle(log);
			continue;
		}
		aud_group_wait(log);
		n = log->qlen < AUD_BATCH_MAX ? log->qlen : AUD_BATCH_MAX;
		pthread_mutex_unlock(&log->mu);
		rc = log->failed ? SQLITE_ERROR : aud_commit(log, n);
		if (rc != SQLITE_OK && !log->failed)
			spot_log(SPOT_LOG_ERR,
				 "audit log: cannot commit %zu events: %s; "
				 "failing closed until it can be written",
				 n, log->errmsg);
		pthread_mutex_lock(&log->mu);
		if (rc != SQLITE_OK)
			aud_fail(log, n);
		for (k = 0; k < n; k++)
			free(log->q[(log->qhead + k) % AUD_QUEUE_MAX].blob);
		aud_wake(log, log->processed + 1, log->processed + n,
			 rc != SQLITE_OK ? -EIO : 0);
		log->qhead = (log->qhead + n) % AUD_QUEUE_MAX;
		log->qlen -= n;
		log->processed += n;
		pthread_cond_broadcast(&log->done);
	}
	log->exited = true;
	pthread_cond_broadcast(&log->done);
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
	free(log->sandbox);
	free(log);
}

static int aud_log_setup(struct aud_log *log, const char *path,
			 const struct aud_log_opts *opts)
{
	uint8_t pk[AUD_PK_LEN];
	int busy = opts && opts->busy_ms ? opts->busy_ms : AUD_BUSY_TIMEOUT_MS;
	int rc;

	if (opts && opts->sandbox) {
		log->sandbox = strdup(opts->sandbox);
		if (!log->sandbox)
			return -ENOMEM;
	}
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
	rc = log->failed || aud_log_lost(log) ? -EIO : 0;
	pthread_cond_destroy(&log->done);
	pthread_cond_destroy(&log->work);
	pthread_mutex_destroy(&log->mu);
	aud_log_free(log);
	return rc;
}

/* ---- appending ---- */

/*
 * Queue ev; with w, also register w as waiting for it (under the same lock,
 * so the writer cannot process it before w is known).
 */
static int aud_enqueue(struct aud_log *log, const struct aud_event *ev,
		       struct aud_waiter *w)
{
	struct aud_qent qe;
	int rc;

	if (ev->type <= AUD_EV_UNKNOWN || ev->type >= AUD_EV_COUNT)
		return -EINVAL;
	if (!aud_log_healthy(log)) {
		__atomic_add_fetch(&log->lost, 1, __ATOMIC_RELAXED);
		pthread_mutex_lock(&log->mu);
		log->outage_lost++;
		pthread_mutex_unlock(&log->mu);
		return -EIO;
	}
	rc = aud_qent_build(ev, &qe);
	if (rc)
		return rc;
	pthread_mutex_lock(&log->mu);
	while (log->qlen == AUD_QUEUE_MAX && !log->failed)
		pthread_cond_wait(&log->done, &log->mu);
	if (log->failed || log->stop) {
		if (log->failed) {
			__atomic_add_fetch(&log->lost, 1, __ATOMIC_RELAXED);
			log->outage_lost++;
		}
		pthread_mutex_unlock(&log->mu);
		free(qe.blob);
		return -EIO;
	}
	log->q[(log->qhead + log->qlen) % AUD_QUEUE_MAX] = qe;
	log->qlen++;
	++log->enqueued;
	if (w) {
		w->ticket = log->enqueued;
		w->done = false;
		w->rc = 0;
		w->next = log->wait_list;
		log->wait_list = w;
		log->waiters++;
	}
	pthread_cond_signal(&log->work);
	pthread_mutex_unlock(&log->mu);
	return 0;
}

/* Wait for registered w to be processed; unregister it. 0 or -EIO. */
static int aud_wait(struct aud_log *log, struct aud_waiter *w)
{
	struct aud_waiter **pp;

	pthread_mutex_lock(&log->mu);
	pthread_cond_signal(&log->work); /* cut a group-commit wait short */
	while (!w->done)
		pthread_cond_wait(&log->done, &log->mu);
	for (pp = &log->wait_list; *pp != w; pp = &(*pp)->next)
		;
	*pp = w->next;
	log->waiters--;
	pthread_mutex_unlock(&log->mu);
	return w->rc;
}

int aud_log_append(struct aud_log *log, const struct aud_event *ev)
{
	return aud_enqueue(log, ev, NULL);
}

int aud_log_append_sync(struct aud_log *log, const struct aud_event *ev)
{
	struct aud_waiter w;
	int rc = aud_enqueue(log, ev, &w);

	return rc ? rc : aud_wait(log, &w);
}

int aud_log_flush(struct aud_log *log)
{
	struct aud_waiter w = { 0 };

	pthread_mutex_lock(&log->mu);
	if (log->processed >= log->enqueued) {
		pthread_mutex_unlock(&log->mu);
		return aud_log_healthy(log) ? 0 : -EIO;
	}
	/* The last ticket queued: tickets are processed in order, and a
	 * failure drops everything queued after it as well. */
	w.ticket = log->enqueued;
	w.next = log->wait_list;
	log->wait_list = &w;
	log->waiters++;
	pthread_mutex_unlock(&log->mu);
	return aud_wait(log, &w);
}

int aud_log_retry(struct aud_log *log)
{
	uint64_t gen;

	pthread_mutex_lock(&log->mu);
	gen = log->retries;
	if (log->failed && !log->exited) {
		log->retry_now = true;
		pthread_cond_signal(&log->work);
		while (log->failed && log->retries == gen && !log->exited)
			pthread_cond_wait(&log->done, &log->mu);
	}
	pthread_mutex_unlock(&log->mu);
	return aud_log_healthy(log) ? 0 : -EIO;
}

void aud_log_note_refusal(struct aud_log *log)
{
	if (!aud_log_healthy(log))
		__atomic_add_fetch(&log->refused, 1, __ATOMIC_RELAXED);
}

bool aud_log_healthy(const struct aud_log *log)
{
	return !__atomic_load_n(&log->failed, __ATOMIC_ACQUIRE);
}

uint64_t aud_log_lost(const struct aud_log *log)
{
	return __atomic_load_n(&log->lost, __ATOMIC_RELAXED);
}

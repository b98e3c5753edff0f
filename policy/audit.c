/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * audit.c - the hash-chained audit log (see audit.h): sanitising, the chain
 * hash, the batching writer thread, signing keys, queries, formatting and
 * verification.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "registry.h"
#include "spot.h"

/* Domain tags keep record hashes and head signatures apart. */
static const char aud_rec_tag[] = "spotfs-audit-v1";
static const char aud_head_tag[] = "spotfs-audit-head-v1";

/* ---- event types ---- */

static const char *const aud_type_names[AUD_EV_COUNT] = {
	[AUD_EV_UNKNOWN] = "unknown",
	[AUD_EV_MOUNT] = "mount",
	[AUD_EV_EXTEND] = "extend",
	[AUD_EV_UNMOUNT] = "unmount",
	[AUD_EV_EXPIRE] = "expire",
	[AUD_EV_GC] = "gc",
	[AUD_EV_OPEN] = "open",
	[AUD_EV_RELEASE] = "release",
	[AUD_EV_DENY] = "deny",
	[AUD_EV_POLICY_ERROR] = "policy_error",
	[AUD_EV_OVERLAY_CREATE] = "overlay_create",
	[AUD_EV_OVERLAY_WRITE] = "overlay_write",
	[AUD_EV_OVERLAY_RENAME] = "overlay_rename",
	[AUD_EV_OVERLAY_DELETE] = "overlay_delete",
	[AUD_EV_INTEGRITY_ERROR] = "integrity_error",
	[AUD_EV_AUDIT_ERROR] = "audit_error",
};

const char *aud_type_name(enum aud_type t)
{
	if ((size_t)t >= AUD_EV_COUNT)
		return "unknown";
	return aud_type_names[t];
}

enum aud_type aud_type_parse(const char *name)
{
	size_t i;

	for (i = 1; i < AUD_EV_COUNT; i++)
		if (!strcmp(name, aud_type_names[i]))
			return (enum aud_type)i;
	return AUD_EV_UNKNOWN;
}

void aud_event_init(struct aud_event *ev, enum aud_type type,
		    const char *sandbox)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->sandbox = sandbox;
	ev->uid = ev->gid = ev->pid = -1;
	ev->bytes = ev->rows = -1;
}

/* ---- records: the stored form of an event ---- */

/* String and integer fields in their fixed (hashed, stored) order. */
enum {
	AUD_S_TYPE,
	AUD_S_SANDBOX,
	AUD_S_PROCESS,
	AUD_S_ROLE,
	AUD_S_PATH,
	AUD_S_DECISION,
	AUD_S_REASON,
	AUD_S_DETAIL,
	AUD_NSTR
};
enum { AUD_I_UID, AUD_I_GID, AUD_I_PID, AUD_I_BYTES, AUD_I_ROWS, AUD_NINT };

struct aud_row {
	uint64_t seq;
	int64_t time_ms;
	const char *s[AUD_NSTR];
	size_t slen[AUD_NSTR];
	int64_t i[AUD_NINT];
};

#define AUD_COLS                                                               \
	"seq, time_ms, type, sandbox, process, role, path, decision, reason,"  \
	" detail, uid, gid, pid, bytes, rows"
#define AUD_NCOLS (2 + AUD_NSTR + AUD_NINT)

static void aud_put_u64(crypto_generichash_state *h, uint64_t v)
{
	uint8_t b[8];
	int k;

	for (k = 7; k >= 0; k--, v >>= 8)
		b[k] = (uint8_t)v;
	crypto_generichash_update(h, b, sizeof(b));
}

/* hash = BLAKE2b-256(tag || prev || seq || time || strings || integers). */
static void aud_row_hash(const uint8_t prev[AUD_HASH_LEN],
			 const struct aud_row *r, uint8_t out[AUD_HASH_LEN])
{
	crypto_generichash_state h;
	uint8_t len[4];
	size_t k;

	crypto_generichash_init(&h, NULL, 0, AUD_HASH_LEN);
	crypto_generichash_update(&h, (const uint8_t *)aud_rec_tag,
				  sizeof(aud_rec_tag));
	crypto_generichash_update(&h, prev, AUD_HASH_LEN);
	aud_put_u64(&h, r->seq);
	aud_put_u64(&h, (uint64_t)r->time_ms);
	for (k = 0; k < AUD_NSTR; k++) {
		uint32_t n = (uint32_t)r->slen[k];

		len[0] = (uint8_t)(n >> 24);
		len[1] = (uint8_t)(n >> 16);
		len[2] = (uint8_t)(n >> 8);
		len[3] = (uint8_t)n;
		crypto_generichash_update(&h, len, sizeof(len));
		crypto_generichash_update(&h, (const uint8_t *)r->s[k], n);
	}
	for (k = 0; k < AUD_NINT; k++)
		aud_put_u64(&h, (uint64_t)r->i[k]);
	crypto_generichash_final(&h, out, AUD_HASH_LEN);
}

/* ---- escaping ---- */

enum aud_esc {
	AUD_ESC_STORE, /* controls, backslash, bad UTF-8 -> \xNN, \\ */
	AUD_ESC_TEXT,  /* controls, bad UTF-8, '"' -> \xNN */
	AUD_ESC_JSON,  /* JSON string body; bad UTF-8 -> "\\xNN" */
};

/* Length of the valid UTF-8 sequence at p, or 0 if it is not one. */
static size_t aud_utf8_len(const uint8_t *p, size_t n)
{
	size_t need, k;
	uint8_t lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 1;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 2;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 3;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0; /* overlong */
	else if (p[0] == 0xed)
		hi = 0x9f; /* surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90; /* overlong */
	else if (p[0] == 0xf4)
		hi = 0x8f; /* past U+10FFFF */
	if (n <= need || p[1] < lo || p[1] > hi)
		return 0;
	for (k = 2; k <= need; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	return need + 1;
}

/* The escape for one unit (a byte or a UTF-8 sequence), or 0 if none. */
static int aud_esc_unit(enum aud_esc mode, const uint8_t *p, size_t ulen,
			char esc[16])
{
	uint8_t c = p[0];
	/* C0, DEL and C1 controls can all drive a terminal. */
	bool ctl = c < 0x20 || c == 0x7f ||
		   (ulen == 2 && c == 0xc2 && p[1] < 0xa0);
	unsigned cp = ulen == 2 ? (unsigned)p[1] : c;

	if (ulen == 0)
		return snprintf(esc, 16,
				mode == AUD_ESC_JSON ? "\\\\x%02x" : "\\x%02x",
				c);
	if (mode == AUD_ESC_JSON) {
		if (c == '"' || c == '\\')
			return snprintf(esc, 16, "\\%c", c);
		if (c == '\n')
			return snprintf(esc, 16, "\\n");
		if (c == '\t')
			return snprintf(esc, 16, "\\t");
		if (c == '\r')
			return snprintf(esc, 16, "\\r");
		return ctl ? snprintf(esc, 16, "\\u%04x", cp) : 0;
	}
	if (ctl && ulen == 2)
		return snprintf(esc, 16, "\\x%02x\\x%02x", p[0], p[1]);
	if (ctl || (mode == AUD_ESC_TEXT && c == '"'))
		return snprintf(esc, 16, "\\x%02x", c);
	if (mode == AUD_ESC_STORE && c == '\\')
		return snprintf(esc, 16, "\\\\");
	return 0;
}

/*
 * Append (s, n) escaped for mode, at most cap bytes of output; a unit that
 * would cross cap is dropped with the rest (never half an escape or a
 * half UTF-8 sequence). 0 or -ENOMEM.
 */
static int aud_escape(struct spot_buf *b, enum aud_esc mode, const char *s,
		      size_t n, size_t cap)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t used = 0, i = 0;
	char esc[16];
	int rc = 0;

	while (i < n && !rc) {
		size_t ulen = aud_utf8_len(p + i, n - i);
		int elen = aud_esc_unit(mode, p + i, ulen, esc);
		size_t olen = elen ? (size_t)elen : ulen;

		if (used + olen > cap)
			break;
		rc = elen ? spot_buf_append(b, esc, olen)
			  : spot_buf_append(b, p + i, ulen);
		used += olen;
		i += ulen ? ulen : 1;
	}
	return rc;
}

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

/* The signed message: tag || genesis || seq (big-endian) || hash. */
static int aud_head_msg(const uint8_t genesis[AUD_HASH_LEN], uint64_t seq,
			const uint8_t hash[AUD_HASH_LEN], uint8_t *m)
{
	size_t n = 0;
	int k;

	memcpy(m, aud_head_tag, sizeof(aud_head_tag));
	n += sizeof(aud_head_tag);
	memcpy(m + n, genesis, AUD_HASH_LEN);
	n += AUD_HASH_LEN;
	for (k = 7; k >= 0; k--, seq >>= 8)
		m[n + (size_t)k] = (uint8_t)seq;
	n += 8;
	memcpy(m + n, hash, AUD_HASH_LEN);
	return (int)(n + AUD_HASH_LEN);
}

#define AUD_HEAD_MSG_MAX (sizeof(aud_head_tag) + 2 * AUD_HASH_LEN + 8)

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

/* ---- signing keys ---- */

int aud_key_public(const uint8_t seed[AUD_SEED_LEN], uint8_t pk[AUD_PK_LEN])
{
	uint8_t *sk;

	if (sodium_init() < 0)
		return -EIO;
	sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (!sk)
		return -ENOMEM;
	crypto_sign_ed25519_seed_keypair(pk, sk, seed);
	sodium_free(sk);
	return 0;
}

int aud_key_load(const char *path, uint8_t seed[AUD_SEED_LEN])
{
	char raw[2 * AUD_SEED_LEN + 2];
	struct stat st;
	ssize_t n;
	size_t bin = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		spot_log(SPOT_LOG_ERR,
			 "audit key %s must be a regular file with mode 0600",
			 path);
		rc = -EPERM;
		goto out;
	}
	n = read(fd, raw, sizeof(raw));
	if (n < 0) {
		rc = -errno;
		goto out;
	}
	if (n == AUD_SEED_LEN) {
		memcpy(seed, raw, AUD_SEED_LEN);
	} else if ((n == 2 * AUD_SEED_LEN ||
		    (n == 2 * AUD_SEED_LEN + 1 && raw[n - 1] == '\n')) &&
		   !sodium_hex2bin(seed, AUD_SEED_LEN, raw, 2 * AUD_SEED_LEN,
				   NULL, &bin, NULL) &&
		   bin == AUD_SEED_LEN) {
		/* hex seed decoded */
	} else {
		spot_log(SPOT_LOG_ERR,
			 "audit key %s: expected 32 bytes or 64 hex digits",
			 path);
		rc = -EINVAL;
	}
out:
	sodium_memzero(raw, sizeof(raw));
	close(fd);
	return rc;
}

int aud_key_generate(const char *path, uint8_t pk[AUD_PK_LEN])
{
	char hex[2 * AUD_SEED_LEN + 2];
	uint8_t *seed;
	int fd, rc = 0;

	if (sodium_init() < 0)
		return -EIO;
	seed = sodium_malloc(AUD_SEED_LEN);
	if (!seed)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	randombytes_buf(seed, AUD_SEED_LEN);
	sodium_bin2hex(hex, sizeof(hex), seed, AUD_SEED_LEN);
	hex[2 * AUD_SEED_LEN] = '\n';
	if (write(fd, hex, sizeof(hex) - 1) != (ssize_t)sizeof(hex) - 1 ||
	    fsync(fd))
		rc = errno ? -errno : -EIO;
	close(fd);
	if (rc)
		unlink(path);
	else
		rc = aud_key_public(seed, pk);
out:
	sodium_memzero(hex, sizeof(hex));
	sodium_free(seed);
	return rc;
}

/* ---- reading ---- */

/* Fill r from a row of "SELECT " AUD_COLS; strings borrowed from st. */
static void aud_row_read(sqlite3_stmt *st, struct aud_row *r)
{
	size_t k;

	r->seq = (uint64_t)sqlite3_column_int64(st, 0);
	r->time_ms = sqlite3_column_int64(st, 1);
	for (k = 0; k < AUD_NSTR; k++) {
		const unsigned char *t = sqlite3_column_text(st, 2 + (int)k);

		r->s[k] = t ? (const char *)t : "";
		r->slen[k] =
			t ? (size_t)sqlite3_column_bytes(st, 2 + (int)k) : 0;
	}
	for (k = 0; k < AUD_NINT; k++)
		r->i[k] = sqlite3_column_int64(st, 2 + AUD_NSTR + (int)k);
}

static void aud_row_event(const struct aud_row *r, struct aud_event *ev)
{
	ev->seq = r->seq;
	ev->time_ms = r->time_ms;
	ev->type = aud_type_parse(r->s[AUD_S_TYPE]);
	ev->sandbox = r->s[AUD_S_SANDBOX];
	ev->process = r->s[AUD_S_PROCESS];
	ev->role = r->s[AUD_S_ROLE];
	ev->path = r->s[AUD_S_PATH];
	ev->decision = r->s[AUD_S_DECISION];
	ev->reason = r->s[AUD_S_REASON];
	ev->detail = r->s[AUD_S_DETAIL];
	ev->uid = r->i[AUD_I_UID];
	ev->gid = r->i[AUD_I_GID];
	ev->pid = r->i[AUD_I_PID];
	ev->bytes = r->i[AUD_I_BYTES];
	ev->rows = r->i[AUD_I_ROWS];
}

int aud_query(const char *path, const char *sandbox, int64_t since,
	      aud_query_fn fn, void *arg)
{
	sqlite3 *conn = NULL;
	sqlite3_stmt *st = NULL;
	struct aud_row r;
	struct aud_event ev;
	int rc;

	rc = reg_sqlite_open(path, 1, AUD_BUSY_TIMEOUT_MS, &conn);
	if (rc)
		return rc;
	rc = sqlite3_prepare_v2(conn,
				"SELECT " AUD_COLS " FROM events"
				" WHERE (?1 IS NULL OR sandbox=?1)"
				" AND time_ms >= ?2 ORDER BY seq",
				-1, &st, NULL);
	if (rc == SQLITE_OK && sandbox)
		rc = sqlite3_bind_text(st, 1, sandbox, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, since > 0 ? since * 1000 : 0);
	if (rc != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		aud_row_read(st, &r);
		aud_row_event(&r, &ev);
		rc = fn(&ev, arg);
		if (rc)
			goto out;
	}
	if (rc == SQLITE_DONE) {
		rc = 0;
		goto out;
	}
fail:
	spot_log(SPOT_LOG_ERR, "audit query %s: %s", path,
		 sqlite3_errmsg(conn));
	rc = reg_sqlite_errno(rc) ? reg_sqlite_errno(rc) : -EIO;
out:
	sqlite3_finalize(st);
	sqlite3_close(conn);
	return rc;
}

/* ---- formatting ---- */

static int aud_fmt_time(struct spot_buf *b, int64_t ms)
{
	time_t sec = (time_t)(ms / 1000);
	int frac = (int)(ms % 1000);
	struct tm tm;
	char t[32];

	if (frac < 0) {
		frac += 1000;
		sec--;
	}
	if (!gmtime_r(&sec, &tm) ||
	    !strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm))
		return spot_buf_printf(b, "@%lld", (long long)ms);
	return spot_buf_printf(b, "%s.%03dZ", t, frac);
}

struct aud_field {
	const char *key;
	const char *s; /* a string field, or NULL for an integer field */
	int64_t i;
};

static void aud_fields(const struct aud_event *ev, struct aud_field f[12])
{
	const struct aud_field all[12] = {
		{ "sandbox", ev->sandbox ? ev->sandbox : "", 0 },
		{ "event", aud_type_name(ev->type), 0 },
		{ "uid", NULL, ev->uid },
		{ "gid", NULL, ev->gid },
		{ "pid", NULL, ev->pid },
		{ "process", ev->process ? ev->process : "", 0 },
		{ "role", ev->role ? ev->role : "", 0 },
		{ "path", ev->path ? ev->path : "", 0 },
		{ "decision", ev->decision ? ev->decision : "", 0 },
		{ "reason", ev->reason ? ev->reason : "", 0 },
		{ "bytes", NULL, ev->bytes },
		{ "rows", NULL, ev->rows },
	};

	memcpy(f, all, sizeof(all));
}

int aud_event_format_text(const struct aud_event *ev, struct spot_buf *out)
{
	struct aud_field f[12];
	const char *detail = ev->detail ? ev->detail : "";
	size_t k;
	int rc;

	aud_fields(ev, f);
	rc = aud_fmt_time(out, ev->time_ms);
	if (!rc)
		rc = spot_buf_printf(out, " #%llu",
				     (unsigned long long)ev->seq);
	for (k = 0; k < 12 && !rc; k++) {
		if (!f[k].s && f[k].i < 0)
			continue;
		if (f[k].s && !*f[k].s)
			continue;
		if (!f[k].s) {
			rc = spot_buf_printf(out, " %s=%lld", f[k].key,
					     (long long)f[k].i);
			continue;
		}
		if (k == 1) { /* the event type, bare */
			rc = spot_buf_printf(out, " %s", f[k].s);
			continue;
		}
		rc = spot_buf_printf(out, " %s=\"", f[k].key);
		if (!rc)
			rc = aud_escape(out, AUD_ESC_TEXT, f[k].s,
					strlen(f[k].s), SIZE_MAX);
		if (!rc)
			rc = spot_buf_putc(out, '"');
	}
	if (!rc && *detail) {
		rc = spot_buf_printf(out, " detail=\"");
		if (!rc)
			rc = aud_escape(out, AUD_ESC_TEXT, detail,
					strlen(detail), SIZE_MAX);
		if (!rc)
			rc = spot_buf_putc(out, '"');
	}
	return rc ? rc : spot_buf_putc(out, '\n');
}

static int aud_json_str(struct spot_buf *b, const char *key, const char *s)
{
	int rc = spot_buf_printf(b, ",\"%s\":\"", key);

	if (!rc)
		rc = aud_escape(b, AUD_ESC_JSON, s, strlen(s), SIZE_MAX);
	return rc ? rc : spot_buf_putc(b, '"');
}

int aud_event_format_json(const struct aud_event *ev, struct spot_buf *out)
{
	struct aud_field f[12];
	size_t k;
	int rc;

	aud_fields(ev, f);
	rc = spot_buf_printf(out, "{\"seq\":%llu,\"time\":\"",
			     (unsigned long long)ev->seq);
	if (!rc)
		rc = aud_fmt_time(out, ev->time_ms);
	if (!rc)
		rc = spot_buf_printf(out, "\",\"time_ms\":%lld",
				     (long long)ev->time_ms);
	for (k = 0; k < 12 && !rc; k++) {
		if (f[k].s)
			rc = aud_json_str(out, f[k].key, f[k].s);
		else if (f[k].i < 0)
			rc = spot_buf_printf(out, ",\"%s\":null", f[k].key);
		else
			rc = spot_buf_printf(out, ",\"%s\":%lld", f[k].key,
					     (long long)f[k].i);
	}
	if (!rc)
		rc = aud_json_str(out, "detail", ev->detail ? ev->detail : "");
	return rc ? rc : spot_buf_printf(out, "}\n");
}

/* ---- verification ---- */

struct aud_head {
	uint64_t seq;
	uint8_t hash[AUD_HASH_LEN];
	uint8_t sig[AUD_SIG_LEN];
	bool has_sig;
};

static void aud_vset(struct aud_verify_result *res, enum aud_verify_status s,
		     uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void aud_vset(struct aud_verify_result *res, enum aud_verify_status s,
		     uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	res->status = s;
	res->first_bad = seq;
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
}

/* Read genesis and head. SQLITE_OK, SQLITE_NOTFOUND (bad meta) or error. */
static int aud_meta_read(sqlite3 *conn, uint8_t genesis[AUD_HASH_LEN],
			 struct aud_head *h)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(conn,
				"SELECT (SELECT value FROM meta"
				" WHERE key='genesis'), seq, hash, sig"
				" FROM head WHERE id=1",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		rc = SQLITE_NOTFOUND;
		if (sqlite3_column_bytes(st, 0) == AUD_HASH_LEN &&
		    sqlite3_column_bytes(st, 2) == AUD_HASH_LEN) {
			memcpy(genesis, sqlite3_column_blob(st, 0),
			       AUD_HASH_LEN);
			h->seq = (uint64_t)sqlite3_column_int64(st, 1);
			memcpy(h->hash, sqlite3_column_blob(st, 2),
			       AUD_HASH_LEN);
			h->has_sig = sqlite3_column_bytes(st, 3) == AUD_SIG_LEN;
			if (h->has_sig)
				memcpy(h->sig, sqlite3_column_blob(st, 3),
				       AUD_SIG_LEN);
			rc = SQLITE_OK;
		}
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_NOTFOUND;
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * Walk the records in seq order. Returns an SQLite code; a break in the
 * chain is reported in res (status != OK). prev gets the last good hash.
 */
static int aud_chain_walk(sqlite3 *conn, uint8_t prev[AUD_HASH_LEN],
			  struct aud_verify_result *res)
{
	uint8_t hash[AUD_HASH_LEN];
	sqlite3_stmt *st = NULL;
	struct aud_row r;
	uint64_t want = 1;
	int rc;

	rc = sqlite3_prepare_v2(conn,
				"SELECT " AUD_COLS ", prev_hash, hash"
				" FROM events ORDER BY seq",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *sprev, *shash;

		aud_row_read(st, &r);
		sprev = sqlite3_column_blob(st, AUD_NCOLS);
		shash = sqlite3_column_blob(st, AUD_NCOLS + 1);
		if (r.seq > want) {
			aud_vset(res, AUD_VERIFY_MISSING, want,
				 "record %llu is missing (next is %llu)",
				 (unsigned long long)want,
				 (unsigned long long)r.seq);
			break;
		}
		if (r.seq < want || !sprev ||
		    sqlite3_column_bytes(st, AUD_NCOLS) != AUD_HASH_LEN ||
		    memcmp(sprev, prev, AUD_HASH_LEN)) {
			aud_vset(res, AUD_VERIFY_LINK, want,
				 "record %llu does not follow record %llu "
				 "(reordered, replaced or inserted)",
				 (unsigned long long)want,
				 (unsigned long long)want - 1);
			break;
		}
		aud_row_hash(prev, &r, hash);
		if (!shash ||
		    sqlite3_column_bytes(st, AUD_NCOLS + 1) != AUD_HASH_LEN ||
		    memcmp(shash, hash, AUD_HASH_LEN)) {
			aud_vset(res, AUD_VERIFY_MODIFIED, want,
				 "record %llu was modified",
				 (unsigned long long)want);
			break;
		}
		memcpy(prev, hash, AUD_HASH_LEN);
		res->records = want++;
	}
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_finalize(st);
	return rc;
}

/* Compare the end of a good chain with the head; check the signature. */
static void aud_head_check(const uint8_t genesis[AUD_HASH_LEN],
			   const struct aud_head *h,
			   const uint8_t last[AUD_HASH_LEN], const uint8_t *pk,
			   struct aud_verify_result *res)
{
	uint8_t m[AUD_HEAD_MSG_MAX];
	uint64_t n = res->records;
	int mlen;

	if (n < h->seq) {
		aud_vset(res, AUD_VERIFY_TRUNCATED, n + 1,
			 "records %llu to %llu are missing (log truncated)",
			 (unsigned long long)n + 1, (unsigned long long)h->seq);
		return;
	}
	if (n > h->seq || memcmp(last, h->hash, AUD_HASH_LEN)) {
		aud_vset(res, AUD_VERIFY_HEAD,
			 n > h->seq ? h->seq + 1 : (n ? n : 1),
			 "the chain head (record %llu) does not match the "
			 "last record %llu",
			 (unsigned long long)h->seq, (unsigned long long)n);
		return;
	}
	if (!pk)
		return;
	if (!h->has_sig) {
		aud_vset(res, AUD_VERIFY_NO_SIG, 0,
			 "the chain head is not signed");
		return;
	}
	mlen = aud_head_msg(genesis, h->seq, h->hash, m);
	if (crypto_sign_ed25519_verify_detached(h->sig, m,
						(unsigned long long)mlen, pk)) {
		aud_vset(res, AUD_VERIFY_BAD_SIG, h->seq + 1,
			 "the chain head signature does not match the key: "
			 "the log may have been truncated or rewritten");
		return;
	}
	res->head_signed = true;
}

int aud_verify(const char *path, const uint8_t *pk,
	       struct aud_verify_result *res)
{
	uint8_t genesis[AUD_HASH_LEN], prev[AUD_HASH_LEN];
	struct aud_head h;
	sqlite3 *conn = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	if (sodium_init() < 0)
		return -EIO;
	rc = reg_sqlite_open(path, 1, AUD_BUSY_TIMEOUT_MS, &conn);
	if (rc) {
		snprintf(res->msg, sizeof(res->msg), "cannot open %s", path);
		return rc;
	}
	/* One read transaction: a consistent snapshot of chain and head. */
	rc = sqlite3_exec(conn, "BEGIN", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = aud_meta_read(conn, genesis, &h);
	if (rc == SQLITE_NOTFOUND) {
		aud_vset(res, AUD_VERIFY_BAD_META, 1,
			 "genesis or chain head missing or malformed");
		rc = SQLITE_OK;
		goto out;
	}
	if (rc == SQLITE_OK) {
		res->head_seq = h.seq;
		memcpy(prev, genesis, AUD_HASH_LEN);
		rc = aud_chain_walk(conn, prev, res);
	}
	if (rc == SQLITE_OK && res->status == AUD_VERIFY_OK)
		aud_head_check(genesis, &h, prev, pk, res);
out:
	if (rc != SQLITE_OK) {
		snprintf(res->msg, sizeof(res->msg), "cannot read %s: %s", path,
			 sqlite3_errmsg(conn));
		rc = reg_sqlite_errno(rc) ? reg_sqlite_errno(rc) : -EIO;
	} else if (res->status != AUD_VERIFY_OK) {
		rc = -EBADMSG;
	} else {
		snprintf(res->msg, sizeof(res->msg), "%llu records verified%s",
			 (unsigned long long)res->records,
			 res->head_signed ? ", head signature good" : "");
	}
	sqlite3_close(conn);
	return rc;
}

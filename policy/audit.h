/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * audit.h - the tamper-evident audit log (DESIGN.md promise 7).
 *
 * One SQLite database (AUD_DB_NAME in the state folder) shared by every
 * sandbox of a user: one hash chain across all of them. Each record carries
 * seq (1, 2, 3, ... without gaps), its fields, prev_hash and
 *
 *     hash = BLAKE2b-256(prev_hash || canonical(seq, time, fields...))
 *
 * where canonical() is a domain tag followed by every field in a fixed order,
 * integers as 8-byte big-endian and strings as a 4-byte big-endian length
 * and the bytes. Record 1's prev_hash is a random 32-byte genesis value made
 * when the database is created and kept in the meta table, so deleting the
 * first record is detected. A one-row head table holds (seq, hash) of the
 * last record, updated in the same transaction as the records; when the
 * writer has a signing key, the head is also signed (Ed25519) over
 * ("spotfs-audit-head-v1", genesis, seq, hash).
 *
 * Writers: each process has one struct aud_log with a writer thread.
 * aud_log_append copies the event into a bounded queue and returns; the
 * thread commits queued events in batches, one BEGIN IMMEDIATE transaction
 * per batch, taking the chain head inside that transaction, so several
 * processes appending at once cannot fork the chain. WAL mode and
 * synchronous=NORMAL: readers are never blocked by the writer; an
 * application crash loses nothing committed, a power failure may lose the
 * last committed batches.
 *
 * Failure: when a batch cannot be committed (disk full, locked past the busy
 * timeout, read-only), the log turns unhealthy: queued events are dropped
 * (and counted), aud_log_healthy() is false and every append returns -EIO
 * at once. The daemon must then fail closed (refuse new opens) and say so.
 * The writer thread retries every AUD_RETRY_MS (and on aud_log_retry and
 * at close) by committing one AUD_EV_AUDIT_ERROR record of the outage: its
 * cause, start, length, the events lost and the refusals noted meanwhile
 * (aud_log_note_refusal). Once that commits the log is healthy again, so
 * the gap is on the chain itself, before any later record.
 *
 * Never a raw value: callers pass metadata only (names, paths, counts,
 * reasons). Every string is stored sanitised: control bytes, backslash and
 * invalid UTF-8 are escaped as \xNN / \\, and each field is capped at
 * AUD_FIELD_MAX bytes.
 */
#ifndef SPOT_AUDIT_H
#define SPOT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spot.h"

#define AUD_DB_NAME "audit.db" /* file name inside the state folder */
#define AUD_FIELD_MAX 4096     /* bytes per stored string field */
#define AUD_QUEUE_MAX 4096     /* events waiting for the writer thread */
#define AUD_BATCH_MAX 1024     /* events per transaction */
#define AUD_HASH_LEN 32	       /* BLAKE2b-256 */
#define AUD_SEED_LEN 32	       /* Ed25519 seed (private key file contents) */
#define AUD_PK_LEN 32	       /* Ed25519 public key */
#define AUD_SIG_LEN 64

enum aud_type {
	AUD_EV_UNKNOWN = 0, /* read back from a newer writer */
	AUD_EV_MOUNT,
	AUD_EV_EXTEND,
	AUD_EV_UNMOUNT,
	AUD_EV_EXPIRE,
	AUD_EV_GC,
	AUD_EV_OPEN,	/* an open and its decision (allow or deny) */
	AUD_EV_RELEASE, /* per-open totals: bytes, rows */
	AUD_EV_DENY, /* other refusals: lookup of hidden files, setxattr... */
	AUD_EV_POLICY_ERROR, /* detail: "file:line: message" */
	AUD_EV_OVERLAY_CREATE,
	AUD_EV_OVERLAY_WRITE,  /* per-open totals of bytes written */
	AUD_EV_OVERLAY_RENAME, /* path -> detail */
	AUD_EV_OVERLAY_DELETE,
	AUD_EV_INTEGRITY_ERROR, /* overlay block failed authentication */
	AUD_EV_AUDIT_ERROR, /* the log itself had trouble (e.g. lost events) */
	AUD_EV_SOURCE_CHANGED, /* a pinned source changed: the read failed */
	AUD_EV_OVERLAY_OPEN, /* an open of an overlay file (detail: read/write) */
	AUD_EV_REVEAL,	     /* spotfs reveal: dataset, column, token count */
	AUD_EV_EXPORT,	     /* spotfs export: one per file, then the summary */
	AUD_EV_QUOTA_EXCEEDED, /* a role's quota, once per role (and dataset) */
	AUD_EV_DP_CHARGE, /* a DP release charged to a role's budget, or refused */
	AUD_EV_COUNT
};

/*
 * One audit event. Strings are NUL-terminated metadata (never row values);
 * NULL means "". Integers that do not apply are -1.
 */
struct aud_event {
	uint64_t seq;	 /* set when read back; ignored by append */
	int64_t time_ms; /* unix milliseconds; 0 on append = now */
	enum aud_type type;
	const char *sandbox; /* sandbox id */
	int64_t uid, gid, pid;
	const char *process; /* process name (comm) */
	const char *role;
	const char *path; /* dataset or overlay path, relative to the mount */
	const char *decision; /* "allow", "deny", "error" or "" */
	const char *reason;
	int64_t bytes, rows;
	const char *detail;
};

/* Initialise ev with every integer -1 and every string NULL. */
void aud_event_init(struct aud_event *ev, enum aud_type type,
		    const char *sandbox);

/* "mount", "open", "overlay_write", ...; "unknown" for others. */
const char *aud_type_name(enum aud_type t);
/* AUD_EV_UNKNOWN when the name is not known. */
enum aud_type aud_type_parse(const char *name);

/* ---- writing ---- */

struct aud_log_opts {
	/* Ed25519 seed to sign the chain head with, or NULL not to sign. */
	const uint8_t *sign_seed;
	/* SQLite busy timeout; 0 = AUD_BUSY_TIMEOUT_MS. */
	int busy_ms;
	/* Sandbox id for the writer's own records (outages), or NULL. */
	const char *sandbox;
};

#define AUD_BUSY_TIMEOUT_MS 5000
#define AUD_RETRY_MS 1000 /* between attempts to write a failed log again */

struct aud_log;

/*
 * Open (creating mode 0600 if needed) the audit database at path and start
 * the writer thread. opts may be NULL. The seed is copied into locked
 * memory. 0 or -errno (database errors logged). Close with aud_log_close.
 */
int aud_log_open(const char *path, const struct aud_log_opts *opts,
		 struct aud_log **out);

/*
 * Commit everything queued, retry once if the log is failing, stop the
 * thread and close. 0, or -EIO if events were lost at any time (see
 * aud_log_lost). NULL is a no-op.
 */
int aud_log_close(struct aud_log *log);

/*
 * Queue a copy of ev (sanitised) and return without waiting for the disk.
 * Blocks only while the queue is full. Thread-safe.
 * 0, -EIO when the log is unhealthy, -ENOMEM, -EINVAL (bad type).
 */
int aud_log_append(struct aud_log *log, const struct aud_event *ev);

/*
 * Like aud_log_append, then wait until the event is committed. For events
 * that gate data: the daemon audits an open decision with this before any
 * byte is served. Cost: one batch commit latency (typically well under a
 * millisecond with WAL and synchronous=NORMAL, more while another process
 * holds the write lock); concurrent callers share batches.
 * 0 once committed, -EIO if it could not be (the caller must fail closed).
 */
int aud_log_append_sync(struct aud_log *log, const struct aud_event *ev);

/*
 * Wait until every event queued before the call is committed.
 * 0, or -EIO if some could not be.
 */
int aud_log_flush(struct aud_log *log);

/* False from a failed commit until a retry succeeds. Thread-safe. */
bool aud_log_healthy(const struct aud_log *log);

/*
 * Try to write a failing log again now (the outage record) and wait for the
 * attempt. 0 when the log is healthy (at once if it was), else -EIO.
 * Thread-safe; for a last record that must not wait for the next retry
 * (the unmount).
 */
int aud_log_retry(struct aud_log *log);

/*
 * Count one action refused because the log was failing (an open); the
 * outage record reports the number. Thread-safe, never blocks.
 */
void aud_log_note_refusal(struct aud_log *log);

/* Events dropped because the log failed (appends refused included). */
uint64_t aud_log_lost(const struct aud_log *log);

/* ---- signing keys ---- */

/*
 * Read a seed file: exactly 32 raw bytes, or 64 hex characters (optionally
 * followed by a newline). The file must not be readable or writable by
 * group or others (-EPERM). 0, -EPERM, -EINVAL (bad contents) or -errno.
 * seed should be locked memory (sodium_malloc); wipe it after use.
 */
int aud_key_load(const char *path, uint8_t seed[AUD_SEED_LEN]);

/*
 * Create a new random seed file at path (mode 0600, must not exist) and
 * give its public key. 0, -EEXIST or -errno.
 */
int aud_key_generate(const char *path, uint8_t pk[AUD_PK_LEN]);

/* The public key of a seed. 0 or -EIO. */
int aud_key_public(const uint8_t seed[AUD_SEED_LEN], uint8_t pk[AUD_PK_LEN]);

/* ---- reading ---- */

/*
 * Called per record in seq order; the event and its strings are valid only
 * during the call. A non-zero return stops the query and is returned.
 */
typedef int (*aud_query_fn)(const struct aud_event *ev, void *arg);

/*
 * Read the records of one sandbox (or all when sandbox is NULL) with a time
 * of at least since (unix seconds; 0 = all), read-only.
 * 0, the callback's non-zero value, or -errno.
 */
int aud_query(const char *path, const char *sandbox, int64_t since,
	      aud_query_fn fn, void *arg);

/*
 * Append one line (ending in '\n') describing ev to out: human text, or one
 * JSON object (JSON lines). Any byte in any field is printed safely:
 * control bytes and invalid UTF-8 become \xNN (text) or \u00NN / "\\xNN"
 * (JSON). 0 or -ENOMEM.
 */
int aud_event_format_text(const struct aud_event *ev, struct spot_buf *out);
int aud_event_format_json(const struct aud_event *ev, struct spot_buf *out);

/* ---- verification ---- */

enum aud_verify_status {
	AUD_VERIFY_OK = 0,
	AUD_VERIFY_MODIFIED,  /* a record's hash does not match its fields */
	AUD_VERIFY_MISSING,   /* a gap in seq: record(s) deleted */
	AUD_VERIFY_LINK,      /* prev_hash differs from the previous hash */
	AUD_VERIFY_TRUNCATED, /* records after the last one are gone */
	AUD_VERIFY_HEAD,      /* the head does not match the last record */
	AUD_VERIFY_NO_SIG,    /* a key was given but the head is not signed */
	AUD_VERIFY_BAD_SIG,   /* the head signature does not match the key */
	AUD_VERIFY_BAD_META,  /* genesis or head missing or malformed */
};

struct aud_verify_result {
	enum aud_verify_status status;
	uint64_t records;   /* records that verified before the first break */
	uint64_t first_bad; /* seq of the first broken record; 0 if none */
	uint64_t head_seq;  /* seq recorded in the head */
	bool head_signed;   /* the head signature was checked and is good */
	char msg[256];	    /* one line for the user (no field values) */
};

/*
 * Recompute the whole chain in seq order and compare it with the head and,
 * when pk is given, check the head signature against pk. Read-only.
 * 0 when intact (res->status == AUD_VERIFY_OK), -EBADMSG when tampering is
 * found (res says where), another -errno when the database cannot be read.
 * res is always filled.
 */
int aud_verify(const char *path, const uint8_t *pk,
	       struct aud_verify_result *res);

#endif /* SPOT_AUDIT_H */

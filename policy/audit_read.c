/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * audit_read.c - the reader side of the audit log (see audit.h): queries,
 * text and JSON formatting of events, and verification of the hash chain
 * and of the signed head.
 */
#include "audit_i.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "registry.h"

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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * audit_i.h - private to policy/audit*.c: the stored form of a record and
 * what the writer (audit_write.c) shares with the reader and verifier
 * (audit_read.c): the chain hash, the escaping of strings and the signed
 * message of the chain head. audit.c defines them.
 */
#ifndef SPOT_AUDIT_I_H
#define SPOT_AUDIT_I_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "spot.h"

/*
 * Domain tags keep record hashes and head signatures apart. They live here,
 * not in audit.c, because AUD_HEAD_MSG_MAX needs the size of aud_head_tag.
 */
static const char aud_rec_tag[] = "spotfs-audit-v1";
static const char aud_head_tag[] = "spotfs-audit-head-v1";

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

/* hash = BLAKE2b-256(tag || prev || seq || time || strings || integers). */
void aud_row_hash(const uint8_t prev[AUD_HASH_LEN], const struct aud_row *r,
		  uint8_t out[AUD_HASH_LEN]);

/* ---- escaping ---- */

enum aud_esc {
	AUD_ESC_STORE, /* controls, backslash, bad UTF-8 -> \xNN, \\ */
	AUD_ESC_TEXT,  /* controls, bad UTF-8, '"' -> \xNN */
	AUD_ESC_JSON,  /* JSON string body; bad UTF-8 -> "\\xNN" */
};

/*
 * Append (s, n) escaped for mode, at most cap bytes of output, never half an
 * escape or half a UTF-8 sequence. 0 or -ENOMEM.
 */
int aud_escape(struct spot_buf *b, enum aud_esc mode, const char *s, size_t n,
	       size_t cap);

/* ---- the signed head ---- */

/*
 * Write the signed message tag || genesis || seq || hash into m (at least
 * AUD_HEAD_MSG_MAX bytes); its length.
 */
int aud_head_msg(const uint8_t genesis[AUD_HASH_LEN], uint64_t seq,
		 const uint8_t hash[AUD_HASH_LEN], uint8_t *m);

#define AUD_HEAD_MSG_MAX (sizeof(aud_head_tag) + 2 * AUD_HASH_LEN + 8)

#endif /* SPOT_AUDIT_I_H */

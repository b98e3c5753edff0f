/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * audit.c - the hash-chained audit log (see audit.h): event types, the chain
 * hash of a record, sanitising, the signed head message and signing keys.
 * The batching writer thread is in audit_write.c; queries, formatting and
 * verification are in audit_read.c.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_i.h"
#include "spot.h"

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
	[AUD_EV_OVERLAY_OPEN] = "overlay_open",
	[AUD_EV_INTEGRITY_ERROR] = "integrity_error",
	[AUD_EV_AUDIT_ERROR] = "audit_error",
	[AUD_EV_SOURCE_CHANGED] = "source_changed",
	[AUD_EV_REVEAL] = "reveal",
	[AUD_EV_EXPORT] = "export",
	[AUD_EV_QUOTA_EXCEEDED] = "quota_exceeded",
	[AUD_EV_DP_CHARGE] = "dp_charge",
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

static void aud_put_u64(crypto_generichash_state *h, uint64_t v)
{
	uint8_t b[8];
	int k;

	for (k = 7; k >= 0; k--, v >>= 8)
		b[k] = (uint8_t)v;
	crypto_generichash_update(h, b, sizeof(b));
}

/* hash = BLAKE2b-256(tag || prev || seq || time || strings || integers). */
void aud_row_hash(const uint8_t prev[AUD_HASH_LEN], const struct aud_row *r,
		  uint8_t out[AUD_HASH_LEN])
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
int aud_escape(struct spot_buf *b, enum aud_esc mode, const char *s, size_t n,
	       size_t cap)
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

/* ---- the signed head ---- */

/* The signed message: tag || genesis || seq (big-endian) || hash. */
int aud_head_msg(const uint8_t genesis[AUD_HASH_LEN], uint64_t seq,
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

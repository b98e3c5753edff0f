/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fpe.c - FF1 (NIST SP 800-38G Rev. 1, section 6.2, Algorithms 7 and 8)
 * over AES-256 from Nettle. Written from the specification; the unit tests
 * check it against NIST's published FF1-AES256 samples.
 *
 * The ten Feistel rounds only ever use NUM_radix(A), NUM_radix(B) and
 * STR_radix(c), which are inverse bijections, so both paths convert the
 * numerals to numbers once at the start and back once at the end:
 *
 *   - fast: every half's number is below 2^64 (radix^v fits a uint64);
 *     then b <= 8 and d <= 12, y fits 128 bits and a round is one AES call
 *     and one 128-by-64-bit remainder;
 *   - generic: halves stay numeral arrays; NUM_radix(B) is built as a
 *     big-endian byte array and y mod radix^m as m numerals by short
 *     division, added or subtracted numeral by numeral.
 *
 * P and the blocks of Q before the round number never change within one
 * call, so the CBC-MAC state after them is computed once per call.
 */
#include "fpe.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define FPE_BLOCK 16
#define FPE_ROUNDS 10
#define FPE_B_MAX FPE_LEN_MAX			  /* bytes of NUM(B) */
#define FPE_D_MAX (4 * ((FPE_B_MAX + 3) / 4) + 4) /* bytes of S */
#define FPE_TAIL_MAX (FPE_BLOCK + 1 + FPE_B_MAX + FPE_BLOCK)
#define FPE_POW_MAX (FPE_LEN_MAX + 2) /* bytes of radix^v, v <= 128 */

/*
 * A modulus with its reciprocal floor((2^64 - 1) / m): x mod m by one
 * multiplication (Barrett), the 64-bit division done once per call, not
 * once per round.
 */
struct fpe_mod {
	uint64_t m, inv;
};

struct fpe_run {
	const struct aes256_ctx *key;
	unsigned radix;
	size_t n, u, v;		/* u = n / 2, v = n - u */
	size_t b, d;		/* bytes of NUM(B) in Q, bytes of S */
	uint8_t pre[FPE_BLOCK]; /* CBC-MAC state after P and Q's fixed part */
	uint8_t tail[FPE_TAIL_MAX]; /* Q's last blocks: fixed, i, NUM(B) */
	uint64_t x64[2]; /* fast path: pre XOR tail, as big-endian numbers */
	struct fpe_mod md[2]; /* fast path: radix^u, radix^v */
	size_t tail_len;      /* a multiple of FPE_BLOCK */
};

static void fpe_xor_encrypt(const struct aes256_ctx *key, uint8_t y[FPE_BLOCK],
			    const uint8_t *blk)
{
	for (size_t i = 0; i < FPE_BLOCK; i++)
		y[i] ^= blk[i];
	aes256_encrypt(key, FPE_BLOCK, y, y);
}

static void fpe_be(uint8_t *p, size_t len, uint64_t v)
{
	while (len--) {
		p[len] = (uint8_t)v;
		v >>= 8;
	}
}

/* Bit length of radix^v - 1 (v >= 1), exactly: ceil(v * log2(radix)). */
static size_t fpe_pow_bits(unsigned radix, size_t v)
{
	uint8_t a[FPE_POW_MAX];
	size_t len = sizeof(a), i;
	unsigned carry;

	memset(a, 0, sizeof(a));
	a[len - 1] = 1;
	for (i = 0; i < v; i++) {
		carry = 0;
		for (size_t j = len; j-- > 0;) {
			unsigned t = a[j] * radix + carry;

			a[j] = (uint8_t)t;
			carry = t >> 8;
		}
	}
	for (i = len; i-- > 0;) { /* minus one */
		if (a[i]--)
			break;
	}
	for (i = 0; i < len && !a[i]; i++)
		;
	if (i == len)
		return 0;
	return (len - i - 1) * 8 + (size_t)(32 - __builtin_clz(a[i]));
}

/* radix^m, or 0 when it does not fit 64 bits. */
static uint64_t fpe_pow64(unsigned radix, size_t m)
{
	uint64_t p = 1;

	for (size_t i = 0; i < m; i++)
		if (__builtin_mul_overflow(p, (uint64_t)radix, &p))
			return 0;
	return p;
}

bool fpe_domain_ok(unsigned radix, size_t n, uint64_t min)
{
	uint64_t p = 1;

	for (size_t i = 0; i < n && p < min; i++)
		if (__builtin_mul_overflow(p, (uint64_t)radix, &p))
			return true;
	return p >= min;
}

/*
 * Steps 1 to 5 and the fixed part of Q: b and d from the bit length of
 * radix^v - 1 (bits, computed by the caller's path), P, and the CBC-MAC
 * state after P and the whole blocks of Q before its last 1 + b bytes.
 */
static void fpe_setup(struct fpe_run *r, const uint8_t *tweak, size_t tlen,
		      size_t bits)
{
	uint8_t p[FPE_BLOCK] = { 1, 2, 1 };
	size_t pad, qlen, fixed, whole, off;

	r->b = (bits + 7) / 8;
	r->d = 4 * ((r->b + 3) / 4) + 4;
	fpe_be(p + 3, 3, r->radix);
	p[6] = 10;
	p[7] = (uint8_t)(r->u % 256);
	fpe_be(p + 8, 4, r->n);
	fpe_be(p + 12, 4, tlen);
	memcpy(r->pre, p, FPE_BLOCK);
	aes256_encrypt(r->key, FPE_BLOCK, r->pre, r->pre);

	/* Q = T || [0]^pad || [i]^1 || [NUM(B)]^b, pad = (-t-b-1) mod 16. */
	pad = (FPE_BLOCK - (tlen + r->b + 1) % FPE_BLOCK) % FPE_BLOCK;
	qlen = tlen + pad + 1 + r->b;
	fixed = tlen + pad; /* bytes before [i] */
	whole = fixed / FPE_BLOCK;
	for (size_t k = 0; k < whole; k++) {
		size_t s = k * FPE_BLOCK;
		uint8_t blk[FPE_BLOCK];

		/* Tweak bytes, then zero padding. */
		memset(blk, 0, sizeof(blk));
		if (s < tlen)
			memcpy(blk, tweak + s,
			       tlen - s < FPE_BLOCK ? tlen - s : FPE_BLOCK);
		fpe_xor_encrypt(r->key, r->pre, blk);
	}
	off = whole * FPE_BLOCK;
	r->tail_len = qlen - off;
	memset(r->tail, 0, r->tail_len);
	if (off < tlen)
		memcpy(r->tail, tweak + off, tlen - off);
	if (r->tail_len == FPE_BLOCK) {
		uint64_t w[2];

		for (size_t k = 0; k < FPE_BLOCK; k++)
			r->tail[k] ^= r->pre[k];
		memcpy(w, r->tail, FPE_BLOCK);
		r->x64[0] = be64toh(w[0]);
		r->x64[1] = be64toh(w[1]);
		for (size_t k = 0; k < FPE_BLOCK; k++)
			r->tail[k] ^= r->pre[k];
	}
}

/*
 * R = PRF(P || Q) for the tail as filled in (round number and NUM(B) in
 * its last 1 + b bytes), then S = R || CIPH(R xor [1]) || ... to d bytes.
 */
static void fpe_prf_s(const struct fpe_run *r, uint8_t *s)
{
	uint8_t y[FPE_BLOCK];

	memcpy(y, r->pre, FPE_BLOCK);
	for (size_t k = 0; k < r->tail_len; k += FPE_BLOCK)
		fpe_xor_encrypt(r->key, y, r->tail + k);
	memcpy(s, y, r->d < FPE_BLOCK ? r->d : FPE_BLOCK);
	for (size_t j = 1; j * FPE_BLOCK < r->d; j++) {
		uint8_t x[FPE_BLOCK];
		size_t take = r->d - j * FPE_BLOCK;

		memcpy(x, y, FPE_BLOCK);
		x[FPE_BLOCK - 1] ^= (uint8_t)j; /* j < 256: d <= 132 */
		aes256_encrypt(r->key, FPE_BLOCK, x, x);
		memcpy(s + j * FPE_BLOCK, x,
		       take < FPE_BLOCK ? take : FPE_BLOCK);
	}
}

/* ---- fast path: halves below 2^64 ---- */

static uint64_t fpe_num64(const uint8_t *x, size_t len, unsigned radix)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++)
		v = v * radix + x[i];
	return v;
}

static void fpe_str64(uint64_t v, unsigned radix, uint8_t *out, size_t len)
{
	if (radix == 10) { /* the common case: a constant divisor */
		while (len--) {
			out[len] = (uint8_t)(v % 10);
			v /= 10;
		}
		return;
	}
	while (len--) {
		out[len] = (uint8_t)(v % radix);
		v /= radix;
	}
}

static void fpe_mod_init(struct fpe_mod *md, uint64_t m)
{
	md->m = m;
	md->inv = UINT64_MAX / m;
}

static uint64_t fpe_mod64(const struct fpe_mod *md, uint64_t x)
{
	uint64_t q = (uint64_t)(((unsigned __int128)x * md->inv) >> 64);
	uint64_t r = x - q * md->m;

	/* q is at most two below the true quotient. */
	while (r >= md->m)
		r -= md->m;
	return r;
}

/*
 * y = NUM(S) mod m, for round number i and the number in Q. Here 1 + b <=
 * 9 bytes, so Q's varying bytes all sit in its last block (the tail is
 * that one block) and d <= 12 <= 16: S is R, one AES call.
 */
static uint64_t fpe_round64(const struct fpe_run *r, unsigned i, uint64_t qnum,
			    const struct fpe_mod *md)
{
	/* [i] || NUM(B) as the number ending the block; the tail is zero
	 * there, so it XORs into the CBC-MAC input as a 128-bit value. */
	unsigned __int128 v = ((unsigned __int128)i << (8 * r->b)) | qnum, y;
	uint8_t blk[FPE_BLOCK];
	uint64_t w[2];

	w[0] = htobe64(r->x64[0] ^ (uint64_t)(v >> 64));
	w[1] = htobe64(r->x64[1] ^ (uint64_t)v);
#ifdef __SSE2__
	/* One 16-byte store, so AES's 16-byte load is forwarded from it
	 * (two 8-byte stores would stall it on x86). */
	_mm_storeu_si128((__m128i *)blk,
			 _mm_set_epi64x((long long)w[1], (long long)w[0]));
#else
	memcpy(blk, w, FPE_BLOCK);
#endif
	aes256_encrypt(r->key, FPE_BLOCK, blk, blk);
	memcpy(w, blk, FPE_BLOCK);
	if (r->d == 8) /* b <= 4: up to 9 decimal digits a half */
		return fpe_mod64(md, be64toh(w[0]));
	/* d == 12: the first 12 bytes of R, a 96-bit number */
	y = ((unsigned __int128)be64toh(w[0]) << 32) | (be64toh(w[1]) >> 32);
	return (uint64_t)(y % md->m);
}

static void fpe_ff1_fast(struct fpe_run *r, bool decrypt, const uint8_t *x,
			 uint8_t *out)
{
	uint64_t a = fpe_num64(x, r->u, r->radix);
	uint64_t b = fpe_num64(x + r->u, r->v, r->radix);
	const struct fpe_mod *md = r->md;
	uint64_t mu = md[0].m, mv = md[1].m;

	if (!decrypt) {
		for (unsigned i = 0; i < FPE_ROUNDS; i++) {
			uint64_t mod = i % 2 ? mv : mu;
			uint64_t y = fpe_round64(r, i, b, &md[i % 2]),
				 c = a + y;

			/* a, y < mod: wrapping past 2^64 means c >= mod. */
			if (c < a || c >= mod)
				c -= mod;
			a = b;
			b = c;
		}
	} else {
		for (unsigned i = FPE_ROUNDS; i-- > 0;) {
			uint64_t mod = i % 2 ? mv : mu;
			uint64_t y = fpe_round64(r, i, a, &md[i % 2]);
			uint64_t c = b >= y ? b - y : mod - y + b;

			b = a;
			a = c;
		}
	}
	fpe_str64(a, r->radix, out, r->u);
	fpe_str64(b, r->radix, out + r->u, r->v);
}

/* ---- generic path: numeral arrays ---- */

/* Fill Q's last 1 + b bytes: i, then NUM_radix(x[0..len)) in b bytes. */
static void fpe_tail_num(struct fpe_run *r, unsigned i, const uint8_t *x,
			 size_t len)
{
	uint8_t *q = r->tail + r->tail_len - r->b;

	q[-1] = (uint8_t)i;
	memset(q, 0, r->b);
	for (size_t k = 0; k < len; k++) {
		unsigned carry = x[k];

		for (size_t j = r->b; j-- > 0;) {
			unsigned t = q[j] * r->radix + carry;

			q[j] = (uint8_t)t;
			carry = t >> 8;
		}
	}
}

/* y mod radix^m as m numerals, most significant first. */
static void fpe_s_numerals(const struct fpe_run *r, uint8_t *s, uint8_t *yd,
			   size_t m)
{
	for (size_t j = m; j-- > 0;) {
		unsigned rem = 0;

		for (size_t k = 0; k < r->d; k++) {
			unsigned t = rem * 256 + s[k];

			s[k] = (uint8_t)(t / r->radix);
			rem = t % r->radix;
		}
		yd[j] = (uint8_t)rem;
	}
}

static void fpe_ff1_slow(struct fpe_run *r, bool decrypt, const uint8_t *x,
			 uint8_t *out)
{
	uint8_t bufa[FPE_LEN_MAX], bufb[FPE_LEN_MAX], bufc[FPE_LEN_MAX];
	uint8_t s[FPE_D_MAX], yd[FPE_LEN_MAX];
	uint8_t *a = bufa, *b = bufb, *c = bufc, *t;
	size_t la = r->u, lb = r->v;

	memcpy(a, x, r->u);
	memcpy(b, x + r->u, r->v);
	for (unsigned k = 0; k < FPE_ROUNDS; k++) {
		unsigned i = decrypt ? FPE_ROUNDS - 1 - k : k;
		size_t m = i % 2 ? r->v : r->u;
		unsigned carry = 0;

		/* Encryption hashes B and adds to A; decryption hashes A
		 * and subtracts from B. Either way the target has m. */
		if (!decrypt)
			fpe_tail_num(r, i, b, lb);
		else
			fpe_tail_num(r, i, a, la);
		fpe_prf_s(r, s);
		fpe_s_numerals(r, s, yd, m);
		for (size_t j = m; j-- > 0;) {
			int v = decrypt ? (int)b[j] - (int)yd[j] - (int)carry
					: (int)a[j] + (int)yd[j] + (int)carry;

			carry = v < 0 || v >= (int)r->radix;
			if (v < 0)
				v += (int)r->radix;
			else if (v >= (int)r->radix)
				v -= (int)r->radix;
			c[j] = (uint8_t)v;
		}
		if (!decrypt) { /* A = B, B = C */
			t = a;
			a = b;
			b = c;
			c = t;
			la = lb;
			lb = m;
		} else { /* B = A, A = C */
			t = b;
			b = a;
			a = c;
			c = t;
			lb = la;
			la = m;
		}
	}
	memcpy(out, a, la);
	memcpy(out + la, b, lb);
}

/* ---- entry points ---- */

static int fpe_check(unsigned radix, const uint8_t *x, size_t n, size_t tlen)
{
	if (radix < FPE_RADIX_MIN || radix > FPE_RADIX_MAX || n < FPE_LEN_MIN ||
	    n > FPE_LEN_MAX || tlen > FPE_TWEAK_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (x[i] >= radix)
			return -EINVAL;
	return 0;
}

/*
 * What the fast path needs of one (key, radix, n, tweak), for the last one
 * this thread used: a column of one length and group skips P's encryption,
 * the set-up and the two 64-bit divisions on every value after its first.
 * Keys are told apart by fpe_key.id, never reused within the process, so
 * a freed key's entry can never match a new key. The entry holds CIPH_K(P)
 * folded into the fixed part of Q (a block encrypted under the key, not
 * the key) and public numbers.
 */
#define FPE_CACHE_TWEAK 64

struct fpe_cache {
	uint64_t key_id; /* 0: empty */
	unsigned radix;
	size_t n, tlen;
	uint8_t tweak[FPE_CACHE_TWEAK];
	size_t b, d;
	uint64_t x64[2];
	struct fpe_mod md[2];
};

static __thread struct fpe_cache fpe_tls_cache;

static bool fpe_cache_hit(const struct fpe_cache *c, const struct fpe_key *key,
			  unsigned radix, size_t n, const uint8_t *tweak,
			  size_t tlen)
{
	return key->id && c->key_id == key->id && c->radix == radix &&
	       c->n == n && c->tlen == tlen &&
	       (!tlen || !memcmp(c->tweak, tweak, tlen));
}

static int fpe_run(const struct fpe_key *key, bool decrypt, unsigned radix,
		   const uint8_t *tweak, size_t tlen, const uint8_t *x,
		   size_t n, uint8_t *y, bool generic)
{
	struct fpe_cache *c = &fpe_tls_cache;
	uint8_t out[FPE_LEN_MAX];
	struct fpe_run r;
	uint64_t mu, mv;
	int rc = fpe_check(radix, x, n, tlen);

	if (rc)
		return rc;
	r.key = &key->aes;
	r.radix = radix;
	r.n = n;
	r.u = n / 2;
	r.v = n - r.u;
	if (!generic && fpe_cache_hit(c, key, radix, n, tweak, tlen)) {
		r.b = c->b;
		r.d = c->d;
		memcpy(r.x64, c->x64, sizeof(r.x64));
		memcpy(r.md, c->md, sizeof(r.md));
		fpe_ff1_fast(&r, decrypt, x, out);
		goto done;
	}
	mu = fpe_pow64(radix, r.u);
	mv = fpe_pow64(radix, r.v);
	fpe_setup(&r, tweak, tlen,
		  mv ? (size_t)(64 - __builtin_clzll(mv - 1))
		     : fpe_pow_bits(radix, r.v));
	/* With 1 + b <= 9 the tail is always one block; checked anyway. */
	if (mv && !generic && r.tail_len == FPE_BLOCK) {
		fpe_mod_init(&r.md[0], mu);
		fpe_mod_init(&r.md[1], mv);
		if (key->id && tlen <= FPE_CACHE_TWEAK) {
			c->key_id = key->id;
			c->radix = radix;
			c->n = n;
			c->tlen = tlen;
			if (tlen)
				memcpy(c->tweak, tweak, tlen);
			c->b = r.b;
			c->d = r.d;
			memcpy(c->x64, r.x64, sizeof(c->x64));
			memcpy(c->md, r.md, sizeof(c->md));
		}
		fpe_ff1_fast(&r, decrypt, x, out);
	} else {
		fpe_ff1_slow(&r, decrypt, x, out);
	}
done:
	memcpy(y, out, n);
	return 0;
}

void fpe_key_init(struct fpe_key *k, const uint8_t raw[32])
{
	static _Atomic uint64_t fpe_next_id;

	aes256_set_encrypt_key(&k->aes, raw);
	k->id = ++fpe_next_id;
}

int fpe_ff1(const struct fpe_key *key, bool decrypt, unsigned radix,
	    const uint8_t *tweak, size_t tlen, const uint8_t *x, size_t n,
	    uint8_t *y)
{
	return fpe_run(key, decrypt, radix, tweak, tlen, x, n, y, false);
}

int fpe_ff1_generic(const struct fpe_key *key, bool decrypt, unsigned radix,
		    const uint8_t *tweak, size_t tlen, const uint8_t *x,
		    size_t n, uint8_t *y)
{
	return fpe_run(key, decrypt, radix, tweak, tlen, x, n, y, true);
}

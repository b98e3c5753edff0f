/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake_prf.c - the seed of a fake value: keyed BLAKE2b with a 32-byte
 * output (RFC 7693), written from the RFC so that the block holding the
 * key is compressed once per sandbox instead of once per cell.
 *
 * The output equals libsodium's crypto_generichash(out, 32, in, len, key,
 * keylen) for every len >= 1 (test_fake.c checks it against libsodium), so
 * the fake values of existing sandboxes do not change; a cell costs one
 * compression instead of two. Empty values never reach it (msk_apply keeps
 * them empty).
 */
#include "fake.h"

#include <string.h>

#include <sodium.h>

#define B2_BLOCK 128

static const uint64_t b2_iv[8] = {
	0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull,
	0xa54ff53a5f1d36f1ull, 0x510e527fade682d1ull, 0x9b05688c2b3e6c1full,
	0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull,
};

/* The message schedule of RFC 7693 section 2.7; rounds 10 and 11 reuse
 * rows 0 and 1. */
static const uint8_t b2_sigma[12][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
};

static inline uint64_t b2_rotr(uint64_t x, unsigned n)
{
	return (x >> n) | (x << (64 - n));
}

static inline uint64_t b2_load(const uint8_t *p)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

#define B2_G(a, b, c, d, x, y)                                                 \
	do {                                                                   \
		a = a + b + (x);                                               \
		d = b2_rotr(d ^ a, 32);                                        \
		c = c + d;                                                     \
		b = b2_rotr(b ^ c, 24);                                        \
		a = a + b + (y);                                               \
		d = b2_rotr(d ^ a, 16);                                        \
		c = c + d;                                                     \
		b = b2_rotr(b ^ c, 63);                                        \
	} while (0)

/* Compress one 128-byte block into h; t is the byte count so far. */
static void b2_compress(uint64_t h[8], const uint8_t block[B2_BLOCK],
			uint64_t t, bool last)
{
	uint64_t m[16], v[16];
	unsigned i;

	for (i = 0; i < 16; i++)
		m[i] = b2_load(block + 8 * i);
	for (i = 0; i < 8; i++) {
		v[i] = h[i];
		v[i + 8] = b2_iv[i];
	}
	v[12] ^= t; /* inputs stay far below 2^64 bytes: t's high word is 0 */
	if (last)
		v[14] = ~v[14];
	for (i = 0; i < 12; i++) {
		const uint8_t *s = b2_sigma[i];

		B2_G(v[0], v[4], v[8], v[12], m[s[0]], m[s[1]]);
		B2_G(v[1], v[5], v[9], v[13], m[s[2]], m[s[3]]);
		B2_G(v[2], v[6], v[10], v[14], m[s[4]], m[s[5]]);
		B2_G(v[3], v[7], v[11], v[15], m[s[6]], m[s[7]]);
		B2_G(v[0], v[5], v[10], v[15], m[s[8]], m[s[9]]);
		B2_G(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]);
		B2_G(v[2], v[7], v[8], v[13], m[s[12]], m[s[13]]);
		B2_G(v[3], v[4], v[9], v[14], m[s[14]], m[s[15]]);
	}
	for (i = 0; i < 8; i++)
		h[i] ^= v[i] ^ v[i + 8];
}

void msk_fake_prf_init(struct msk_fake_prf *p, const uint8_t *key,
		       size_t keylen)
{
	uint8_t block[B2_BLOCK] = { 0 };

	if (keylen > 64) /* BLAKE2b takes at most 64 key bytes */
		keylen = 64;
	memcpy(p->h, b2_iv, sizeof(p->h));
	/* parameter block: digest length, key length, fanout 1, depth 1 */
	p->h[0] ^= 0x01010000ull ^ ((uint64_t)keylen << 8) ^
		   (uint64_t)MSK_FAKE_SEED_LEN;
	memcpy(block, key, keylen);
	b2_compress(p->h, block, B2_BLOCK, false);
	sodium_memzero(block, sizeof(block));
}

void msk_fake_prf(const struct msk_fake_prf *p, const uint8_t *in, size_t len,
		  uint8_t out[MSK_FAKE_SEED_LEN])
{
	uint64_t h[8], t = B2_BLOCK;
	uint8_t last[B2_BLOCK];
	size_t n;
	unsigned i, j;

	memcpy(h, p->h, sizeof(h));
	while (len > B2_BLOCK) {
		t += B2_BLOCK;
		b2_compress(h, in, t, false);
		in += B2_BLOCK;
		len -= B2_BLOCK;
	}
	n = len;
	memcpy(last, in, n);
	memset(last + n, 0, B2_BLOCK - n);
	b2_compress(h, last, t + n, true);
	for (i = 0; i < MSK_FAKE_SEED_LEN / 8; i++)
		for (j = 0; j < 8; j++)
			out[8 * i + j] = (uint8_t)(h[i] >> (8 * j));
}

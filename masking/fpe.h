/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fpe.h - format-preserving encryption: FF1 of NIST SP 800-38G (Rev. 1,
 * 2019) over AES-256 (Nettle), on numeral strings of any radix 2..256.
 *
 * A numeral string is an array of n bytes, each below the radix. FF1 is a
 * tweakable permutation of the radix^n strings of each length n: the same
 * key and tweak never map two inputs to one output, and fpe_ff1 with
 * decrypt set inverts it. The masking method on top (alphabets, Luhn and
 * IBAN check digits, characters left in place) is in methods_fpe.c.
 *
 * Strings whose numbers fit 64 bits (16 decimal digits, 12 base-36
 * characters per half) run on machine integers; longer ones on byte-array
 * arithmetic. Both are the same function of their input (the unit tests
 * compare them). Nothing here allocates or logs; the key is only read, so
 * one key serves many threads. Each thread keeps the set-up of the last
 * (key, radix, length, tweak) it used (public numbers and CIPH_K(P)).
 */
#ifndef SPOT_FPE_H
#define SPOT_FPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nettle/aes.h>

#define FPE_RADIX_MIN 2
#define FPE_RADIX_MAX 256
#define FPE_LEN_MIN 2	  /* FF1: at least two numerals */
#define FPE_LEN_MAX 256	  /* ours: longer values are not encrypted */
#define FPE_TWEAK_MAX 256 /* bytes */
/* SP 800-38G Rev. 1: radix^minlen must be at least one million. */
#define FPE_DOMAIN_MIN 1000000u

/*
 * An FF1 key: AES-256's expanded encryption key, and an id unique within
 * the process that tags the per-thread cache of fpe_ff1 (see fpe.c).
 */
struct fpe_key {
	struct aes256_ctx aes;
	uint64_t id;
};

/* Expand raw into k and give it a new id. */
void fpe_key_init(struct fpe_key *k, const uint8_t raw[32]);

/*
 * Encrypt (decrypt false) or decrypt the n numerals x into y (x and y may
 * be the same array) under key and the tweak (tlen bytes, may be 0).
 * 0, or -EINVAL for a radix outside 2..256, n outside FPE_LEN_MIN..
 * FPE_LEN_MAX, a numeral not below the radix or a tweak too long. The
 * domain-size floor (fpe_domain_ok) is the caller's to enforce: the unit
 * tests run FF1 on smaller domains to prove it a bijection exhaustively.
 */
int fpe_ff1(const struct fpe_key *key, bool decrypt, unsigned radix,
	    const uint8_t *tweak, size_t tlen, const uint8_t *x, size_t n,
	    uint8_t *y);

/*
 * fpe_ff1 always on byte-array arithmetic (the path of long strings), for
 * the unit tests to compare with the machine-integer path.
 */
int fpe_ff1_generic(const struct fpe_key *key, bool decrypt, unsigned radix,
		    const uint8_t *tweak, size_t tlen, const uint8_t *x,
		    size_t n, uint8_t *y);

/* Whether radix^n >= min (no overflow for any n). */
bool fpe_domain_ok(unsigned radix, size_t n, uint64_t min);

#endif /* SPOT_FPE_H */

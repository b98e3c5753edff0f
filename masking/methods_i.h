/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * methods_i.h - private to the masking methods: the derived keys, the hash
 * length limits and a UTF-8 check, shared by methods.c (key derivation,
 * rules and their parameters) and methods_apply.c (msk_apply and the
 * methods themselves).
 */
#ifndef SPOT_METHODS_I_H
#define SPOT_METHODS_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nettle/aes.h>
#include <sodium.h>

#include "methods.h"

#define MSK_KEY_LEN 32
#define MSK_HASH_MIN 8
#define MSK_HASH_MAX 128
/* hash and tokenize: one SipHash-2-4 key per 16 hex characters of output */
#define MSK_SIP_HEX 16
#define MSK_SIP_BLOCKS (MSK_HASH_MAX / MSK_SIP_HEX)
#define MSK_SIP_KEY_LEN crypto_shorthash_siphash24_KEYBYTES

struct msk_keys {
	uint8_t hash[MSK_SIP_BLOCKS][MSK_SIP_KEY_LEN];	/* hash, email domain */
	uint8_t token[MSK_SIP_BLOCKS][MSK_SIP_KEY_LEN]; /* tokenize */
	uint8_t fake[MSK_KEY_LEN];			/* fake seeds */
	uint8_t noise[MSK_KEY_LEN];			/* per-cell noise */
	struct aes256_ctx fpe; /* FF1, expanded AES-256 encryption key */
	uint8_t group[MSK_SIP_KEY_LEN];	     /* derives the keys of groups */
	uint8_t master[crypto_kdf_KEYBYTES]; /* zero once derivation is done */
};

/*
 * Whether (s, len) is valid UTF-8 (methods_apply.c, with the other UTF-8
 * helpers).
 */
bool u8_valid(const char *s, size_t len);

/*
 * The 16-byte key number idx of group (g, glen) for method m: two SipHash
 * calls under the group key, so a group costs no allocation and no state.
 */
void msk_group_key(const struct msk_keys *k, enum msk_method m, unsigned idx,
		   const char *g, size_t glen, uint8_t out[MSK_SIP_KEY_LEN]);

/* The fpe method (methods_fpe.c): encrypt, or decrypt for msk_reveal. */
int msk_fpe(const struct msk_rule *r, const struct msk_keys *k,
	    const uint8_t *in, size_t len, bool decrypt, struct spot_buf *out);

/* msk_rule_check of an fpe rule. */
int msk_fpe_check(const struct msk_rule *r, struct spot_err *err);

/* Set the fpe alphabet from a name or a list of characters. */
int msk_fpe_alphabet(struct msk_rule *r, const char *v, struct spot_err *err);

#endif /* SPOT_METHODS_I_H */

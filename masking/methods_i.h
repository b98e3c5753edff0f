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
	uint8_t master[crypto_kdf_KEYBYTES]; /* zero once derivation is done */
};

/*
 * Whether (s, len) is valid UTF-8 (methods_apply.c, with the other UTF-8
 * helpers).
 */
bool u8_valid(const char *s, size_t len);

#endif /* SPOT_METHODS_I_H */

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

#include "fake.h"
#include "fpe.h"
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
	struct fpe_key fpe; /* FF1: expanded AES-256 encryption key */
	uint8_t group[MSK_SIP_KEY_LEN]; /* derives the keys of groups */
	/* shift, scramble: a SipHash key, then a 32-byte key (BLAKE2b for
	 * shift's per-cell draws, ChaCha20 for scramble's keystream) */
	uint8_t shift[MSK_SIP_KEY_LEN + MSK_KEY_LEN];
	uint8_t scramble[MSK_SIP_KEY_LEN + MSK_KEY_LEN];
	uint8_t sample[MSK_SIP_KEY_LEN];     /* sample: rows kept */
	uint8_t dp[MSK_KEY_LEN];	     /* differential privacy seeds */
	uint8_t master[crypto_kdf_KEYBYTES]; /* zero once derivation is done */

	/* the fake key with its BLAKE2b key block compressed (fake_prf.c) */
	struct msk_fake_prf fake_prf;
};

/*
 * Whether (s, len) is valid UTF-8 (methods_apply.c, with the other UTF-8
 * helpers).
 */
bool u8_valid(const char *s, size_t len);
/* Bytes of the character at i of (p, len): 1-4, or 1 for a byte that does
 * not start a valid UTF-8 sequence. */
size_t u8_len(const uint8_t *p, size_t len, size_t i);

/*
 * The characters fpe and scramble work on (methods_fold.c): (in, len)
 * written to out (room for len bytes) a character at a time, ASCII as it
 * is, fullwidth ASCII forms and the decimal digits of every script as
 * their ASCII character, anything else as mask. Returns the bytes written
 * (at most len): all ASCII.
 */
size_t msk_fold(const uint8_t *in, size_t len, uint8_t mask, uint8_t *out);
/* The ASCII digit of the Nd (decimal digit) character cp, or 0 (also
 * what the PII detectors read, pii_fold.c). */
uint8_t msk_nd_digit(uint32_t cp);

/*
 * The 16-byte key number idx of group (g, glen) for method m: two SipHash
 * calls under the group key, so a group costs no allocation and no state.
 */
void msk_group_key(const struct msk_keys *k, enum msk_method m, unsigned idx,
		   const char *g, size_t glen, uint8_t out[MSK_SIP_KEY_LEN]);

/* The fpe method (methods_fpe.c): encrypt, or decrypt for msk_reveal. */
int msk_fpe(const struct msk_rule *r, const struct msk_keys *k,
	    const uint8_t *in, size_t len, bool decrypt, struct spot_buf *out);

/* A number as msk_num_parse read it. */
struct msk_num {
	bool is_int; /* fits int64 and has no '.' or exponent */
	int64_t i;
	double d;
	int decimals; /* digits after '.', before any exponent */
	bool exp;
};

/*
 * A decimal number, surrounding blanks allowed; no hex, inf or nan.
 * 0 or -EINVAL (methods_apply.c).
 */
int msk_num_parse(const uint8_t *p, size_t len, struct msk_num *n);

/* Exact decimals (methods_dec.c): ±a * 10^e, a of at most 36 digits. */
#define MSK_DEC_DIGITS 36
typedef unsigned __int128 u128;

struct msk_dec {
	bool neg;
	u128 a;	      /* significant digits, trailing zeros stripped */
	int e;	      /* the value is a * 10^e */
	int digits;   /* of a (0 for 0) */
	int places;   /* decimal places the text shows ("34.50": 2) */
	bool lit_int; /* no '.' and no exponent */
	bool exp;     /* an exponent */
};

/*
 * The number (p, len): [sign] digits [. digits] [e|E [sign] digits],
 * blanks around allowed. 0, -EINVAL (not a number) or -ERANGE (more than
 * MSK_DEC_DIGITS significant digits, or an exponent past 100000).
 */
int msk_dec_parse(const uint8_t *p, size_t len, struct msk_dec *d);
u128 msk_dec_pow10(int n); /* n <= MSK_DEC_DIGITS + 1 */
int msk_dec_ndigits(u128 a);
/* d in units of 10^-places, half away from zero; -ERANGE past 36 digits. */
int msk_dec_units(const struct msk_dec *d, int places, u128 *u);
/* ±a with places decimals ("-0.00" is "0.00"). 0 or -ENOMEM. */
int msk_dec_put(struct spot_buf *out, bool neg, u128 a, int places);
/* ±a + ±b. -ERANGE past 36 digits. */
int msk_dec_add(bool an, u128 a, bool bn, u128 b, bool *neg, u128 *out);
/* round(x) as a sign and magnitude. -ERANGE past 1e36 or not finite. */
int msk_dec_from_double(double x, bool *neg, u128 *out);

struct msk_date {
	int y, m, d;
	char sep; /* '-' or '/' */
};

/*
 * YYYY-MM-DD or YYYY/MM/DD; with time_ok, a time may follow after 'T' or
 * ' ' (HH:MM[:SS[.frac]] and a zone) from byte 10 on. 0 or -EINVAL.
 */
int msk_date_parse(const uint8_t *p, size_t len, bool time_ok,
		   struct msk_date *dt);

/* shift, truncate, round and scramble (methods_extra.c). */
/* A typed number (PIPE_INT, PIPE_REAL) is a Unix time in seconds. */
int msk_shift(const struct msk_rule *r, const struct msk_keys *k,
	      const struct msk_cell *cell, const uint8_t *in, size_t len,
	      enum pipe_type in_type, struct spot_buf *out);
int msk_truncate(const struct msk_rule *r, const uint8_t *in, size_t len,
		 struct spot_buf *out);
int msk_round(const struct msk_rule *r, const uint8_t *in, size_t len,
	      enum pipe_type in_type, struct spot_buf *out);
int msk_scramble(const struct msk_keys *k, const uint8_t *in, size_t len,
		 struct spot_buf *out);
/*
 * The address the email method masks (methods_email.c): offsets into the
 * value of the local part's first byte, its '@' and the end of the host
 * name after it.
 */
struct msk_email_addr {
	size_t local, at, end;
};

/*
 * Whether (in, len) holds an address: the last '@' followed by a host
 * name, and the local part before it (methods_email.c says which).
 * Nothing outside [local, end) may be served.
 */
bool msk_email_split(const uint8_t *in, size_t len, struct msk_email_addr *a);

/* Parameters and checks of those methods. */
int msk_extra_set(struct msk_rule *r, const char *key, const char *v,
		  struct spot_err *err);
int msk_extra_check(const struct msk_rule *r, struct spot_err *err);

/* msk_rule_check of an fpe rule. */
int msk_fpe_check(const struct msk_rule *r, struct spot_err *err);

/* Set the fpe alphabet from a name or a list of characters. */
int msk_fpe_alphabet(struct msk_rule *r, const char *v, struct spot_err *err);

#endif /* SPOT_METHODS_I_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake.h - deterministic fake values for the "fake" masking method.
 *
 * The dictionaries (masking/fake_data/, compiled in) hold common or
 * invented words only (no real people). A fake value is a pure function of
 * a seed: methods_apply.c derives the seed from a keyed BLAKE2b of the raw
 * value (msk_fake_prf below), so the same value gets the same fake value in
 * every dataset of a sandbox. The parts of a value use fixed bytes of the
 * seed, so "name" of a value starts with "first_name" of the same value and
 * "email" is built from the same first and last names.
 *
 * Locales en (the default, and the only output before locales existed),
 * de, fr and es choose the words and the layouts of names, cities,
 * streets, companies, phone numbers and IBANs; ssn, date, ipv4 and uuid
 * are the same in every locale.
 *
 * No allocation besides appending to the caller's buffer; no locking needed.
 */
#ifndef SPOT_FAKE_H
#define SPOT_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "methods.h"
#include "spot.h"

#define MSK_FAKE_SEED_LEN 32

/* The default range of kind date: 1940-01-01 .. 2005-12-31. */
#define MSK_FAKE_DATE_MIN (-10958) /* 1940-01-01, days from 1970-01-01 */
#define MSK_FAKE_DATE_MAX 13148	   /* 2005-12-31 */

/*
 * Append the en fake value of the kind chosen by seed to out (dates in the
 * default range). 0, -EINVAL (unknown kind) or -ENOMEM. Its output for a
 * seed never changes: DP synthetic tables (dp_synth.c) depend on it.
 */
int msk_fake_write(enum msk_fake_kind kind,
		   const uint8_t seed[MSK_FAKE_SEED_LEN], struct spot_buf *out);

/*
 * The same in a locale; msk_fake_write_locale(k, MSK_FAKE_EN, s, o) is
 * msk_fake_write(k, s, o). 0, -EINVAL (unknown kind or locale) or -ENOMEM.
 */
int msk_fake_write_locale(enum msk_fake_kind kind, enum msk_fake_locale loc,
			  const uint8_t seed[MSK_FAKE_SEED_LEN],
			  struct spot_buf *out);

/*
 * The fake value of a checked fake rule: its kind, locale and date range.
 * 0, -EINVAL or -ENOMEM.
 */
int msk_fake_write_rule(const struct msk_rule *r,
			const uint8_t seed[MSK_FAKE_SEED_LEN],
			struct spot_buf *out);

/* Kind name ("first_name") to enum. 0 or -ENOENT. */
int msk_fake_kind_parse(const char *name, enum msk_fake_kind *out);
/* Enum to kind name; "unknown" for a value out of range. */
const char *msk_fake_kind_name(enum msk_fake_kind kind);
/* Locale name ("de") to enum, and back. 0 or -ENOENT; "unknown". */
int msk_fake_locale_parse(const char *name, enum msk_fake_locale *out);
const char *msk_fake_locale_name(enum msk_fake_locale loc);

/*
 * A calendar date "YYYY-MM-DD" (years 1..9999) to days from 1970-01-01.
 * 0 or -EINVAL.
 */
int msk_fake_date_parse(const char *s, int32_t *days);

/*
 * The seed PRF: keyed BLAKE2b with a 32-byte output (RFC 7693), equal to
 * libsodium's crypto_generichash(out, 32, in, len, key, keylen) for every
 * len >= 1. init compresses the key block once (fake_prf.c); the state is
 * as secret as the key (kept in struct msk_keys, locked memory).
 */
struct msk_fake_prf {
	uint64_t h[8];
};

void msk_fake_prf_init(struct msk_fake_prf *p, const uint8_t *key,
		       size_t keylen);
void msk_fake_prf(const struct msk_fake_prf *p, const uint8_t *in, size_t len,
		  uint8_t out[MSK_FAKE_SEED_LEN]);

#endif /* SPOT_FAKE_H */

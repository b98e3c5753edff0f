/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake.h - deterministic fake values for the "fake" masking method.
 *
 * The dictionaries hold common or invented words only (no real people). A
 * fake value is a pure function of a seed: methods_apply.c derives the seed
 * from a keyed BLAKE2b of the raw value, so the same value gets the same fake value
 * in every dataset of a sandbox. The parts of a value use fixed bytes of the
 * seed, so "name" of a value starts with "first_name" of the same value and
 * "email" is built from the same first and last names.
 *
 * No allocation besides appending to the caller's buffer; no locking needed.
 */
#ifndef SPOT_FAKE_H
#define SPOT_FAKE_H

#include <stdint.h>

#include "methods.h"
#include "spot.h"

#define MSK_FAKE_SEED_LEN 32

/*
 * Append the fake value of the kind chosen by seed to out.
 * 0, -EINVAL (unknown kind) or -ENOMEM.
 */
int msk_fake_write(enum msk_fake_kind kind,
		   const uint8_t seed[MSK_FAKE_SEED_LEN], struct spot_buf *out);

/* Kind name ("first_name") to enum. 0 or -ENOENT. */
int msk_fake_kind_parse(const char *name, enum msk_fake_kind *out);
/* Enum to kind name; "unknown" for a value out of range. */
const char *msk_fake_kind_name(enum msk_fake_kind kind);

#endif /* SPOT_FAKE_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake_dict.h - the word lists of one locale of the "fake" method, private
 * to fake.c and the files of masking/fake_data/ (see README.md there for
 * where the words come from). Compiled in: a mount reads no data file.
 */
#ifndef SPOT_FAKE_DICT_H
#define SPOT_FAKE_DICT_H

#include <stdint.h>

#include "spot.h"

struct fake_words {
	const char *const *w;
	uint32_t n; /* above 0 */
};

#define FAKE_WORDS(a)                                                          \
	{                                                                      \
		(a), (uint32_t)SPOT_ARRAY_SIZE(a)                              \
	}

struct fake_dict {
	struct fake_words first, last;
	/* a city: city_a, or city_a + city_b when city_b.n is above 0 */
	struct fake_words city_a, city_b;
	/* a street: en "<n> <street_a> <street_b>", de "<street_a><street_b>
	 * <n>", fr "<n> <street_a> <street_b>", es "<street_a> <street_b>, <n>" */
	struct fake_words street_a, street_b;
	/* a company: "<company word> <trade> <suffix>" */
	struct fake_words trade, suffix;
};

extern const struct fake_dict fake_dict_en, fake_dict_de, fake_dict_fr,
	fake_dict_es;
/* Invented brand words, shared by the locales. */
extern const struct fake_words fake_company_words;

#endif /* SPOT_FAKE_DICT_H */

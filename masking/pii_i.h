/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pii_i.h - private to the PII detectors: the byte classes and the
 * detectors of numbers and addresses (pii_num.c) that the scanner (pii.c)
 * tries at each place a match may start.
 *
 * A detector takes the text (p, len) and a start i where the previous byte
 * is not an ASCII letter or digit, and returns where its match ends (> i),
 * or 0. Each looks at a bounded window, so a scan stays linear.
 */
#ifndef SPOT_PII_I_H
#define SPOT_PII_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pii_class {
	PII_C_DIGIT = 1u << 0,
	PII_C_UPPER = 1u << 1,
	PII_C_LOWER = 1u << 2,
	PII_C_LOCAL = 1u << 3, /* e-mail local part (RFC 5322 atext), with
				* alnum: ._%+-'=/!#$&*?^`{|}~ */
	PII_C_HEX = 1u << 4,
	PII_C_HIGH = 1u << 5,  /* >= 0x80: part of a UTF-8 sequence */
	PII_C_START = 1u << 6, /* some detector may start at this byte */
	PII_C_SPACE = 1u << 7, /* space, tab */
};
#define PII_C_ALPHA (PII_C_UPPER | PII_C_LOWER)
#define PII_C_ALNUM (PII_C_DIGIT | PII_C_ALPHA)

extern const uint8_t pii_cls[256];

static inline bool pii_digit(uint8_t c)
{
	return pii_cls[c] & PII_C_DIGIT;
}

static inline bool pii_upper(uint8_t c)
{
	return pii_cls[c] & PII_C_UPPER;
}

static inline bool pii_alpha(uint8_t c)
{
	return pii_cls[c] & PII_C_ALPHA;
}

static inline bool pii_alnum(uint8_t c)
{
	return pii_cls[c] & PII_C_ALNUM;
}

static inline uint8_t pii_lower(uint8_t c)
{
	return pii_upper(c) ? (uint8_t)(c + 32) : c;
}

/* True when the byte at i may end a match: end of text or not alnum. */
static inline bool pii_end_ok(const uint8_t *p, size_t len, size_t i)
{
	return i >= len || !pii_alnum(p[i]);
}

/* Bytes of the valid UTF-8 sequence of two or more bytes at i, or 0. */
size_t pii_u8len(const uint8_t *p, size_t len, size_t i);

size_t pii_card(const uint8_t *p, size_t len, size_t i);
/* ddd-dd-dddd, ddd dd dddd, and ddddddddd after or before "SSN". */
size_t pii_ssn(const uint8_t *p, size_t len, size_t i);
size_t pii_phone(const uint8_t *p, size_t len, size_t i);
size_t pii_iban(const uint8_t *p, size_t len, size_t i);
/* A dotted quad, unless a version ("v", "version", "build"...) precedes. */
size_t pii_ipv4(const uint8_t *p, size_t len, size_t i);
size_t pii_ipv6(const uint8_t *p, size_t len, size_t i);

/*
 * The canonical form of an IP address match (p, n) for a keyed hash:
 * IPv4 without leading zeros, IPv6 as inet_ntop writes it. Returns its
 * length in buf (>= 46 bytes), 0 if (p, n) is not one.
 */
size_t pii_ip_canon(const uint8_t *p, size_t n, char *buf, size_t cap);

/*
 * The text the detectors read (pii_fold.c). Personal data hides from
 * byte patterns in other spellings of the same characters; the detectors
 * read a folded copy of the value, one character at a time:
 *   - a JSON escape \uXXXX (a surrogate pair as one character) and a
 *     percent-encoded character (%40, %2B, a UTF-8 sequence %C3%A9) that
 *     is a letter, digit, '@' or a local-part character: that character;
 *   - a byte that does not start a valid UTF-8 sequence: the Latin-1
 *     character of that byte (a letter, as in "jos\xe9");
 *   - fullwidth ASCII (U+FF01..U+FF5E), the decimal digits of every script:
 *     their ASCII character; Unicode spaces (U+00A0, U+2000..U+200A,
 *     U+202F, U+3000...): ' '; dashes and minus (U+2010..U+2015, U+2212,
 *     U+FE58, U+FE63): '-'; ideographic full stops: '.'; U+FE6B: '@';
 *   - zero-width characters and the soft hyphen: nothing;
 *   - any other character: itself, as UTF-8.
 * map[j] is the source offset of the character folded byte j comes from
 * (map[len] = the source's length), so a match in the folded text covers
 * whole source characters and escapes. When folding changes nothing (ASCII
 * without escapes, accented letters, other scripts), p is the source itself
 * and buf, map are NULL: no copy.
 */
struct pii_text {
	const uint8_t *p; /* what the detectors read */
	size_t len;
	uint8_t *buf; /* the folded copy, or NULL */
	size_t *map;  /* len + 1 source offsets, or NULL */
};

/* Fold (src, len) into t (pii_text_fini frees it). 0 or -ENOMEM. */
int pii_fold(const uint8_t *src, size_t len, struct pii_text *t);
/* Wipe and free the folded copy. */
void pii_text_fini(struct pii_text *t);
/* The source span [*s, *e) of the folded span [a, b), widened to whole
 * source characters. */
void pii_text_span(const struct pii_text *t, size_t a, size_t b, size_t *s,
		   size_t *e);

#endif /* SPOT_PII_I_H */

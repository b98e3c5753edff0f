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
	PII_C_LOCAL = 1u << 3, /* ._%+- : e-mail local part, with alnum */
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

#endif /* SPOT_PII_I_H */

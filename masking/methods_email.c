/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * methods_email.c - the address the email method masks in a value: the
 * last '@' followed by a host name, and the local part just before it.
 * Nothing around that address is kept (a name, a phone number or an SSN
 * after it is never "the domain"), and a value holding no such address
 * is served as one without '@'.
 *
 * The host name is the run of host name characters right after the '@'
 * (ASCII letters, digits, hyphens and dots, non-ASCII letters in UTF-8;
 * not spaces, punctuation, symbols or fullwidth forms, which is how text
 * goes on after a domain), trailing dots and hyphens left out: two labels
 * or more, each of 1 to 63 characters, no hyphen at either end of a
 * label, 253 characters at most, the last label at least two characters
 * and not all digits. "5@3.50", "a@[10.0.0.1]", "user@localhost" hold no
 * address. The local part is the run of RFC 5322 atext, dots and
 * non-ASCII letters right before the '@', possibly empty. When the last
 * '@' has no host name after it, the one before is tried, and so on.
 * Nothing here keeps or logs a value.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "methods_i.h"

#define MSK_LABEL_MAX 63
#define MSK_DOMAIN_MAX 253

static bool msk_ascii_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

/* RFC 5322 atext: what a local part holds besides dots and UTF-8. */
static bool msk_atext(uint8_t c)
{
	return msk_ascii_alnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* The code point of the valid UTF-8 sequence of n (2-4) bytes at p. */
static uint32_t msk_u8_cp(const uint8_t *p, size_t n)
{
	uint32_t cp = p[0] & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);

	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (p[i] & 0x3F);
	return cp;
}

/*
 * Whether a non-ASCII character may be part of an address: not a C1
 * control, no-break space or Latin-1 sign, not a space, a zero-width
 * character or punctuation of the general and CJK blocks, not a
 * variation selector, compatibility, halfwidth or fullwidth form (U+FF0E
 * is a dot to IDNA), not a byte order mark, special, private use, emoji or
 * tag character.
 */
static bool msk_letter_cp(uint32_t cp)
{
	return !(cp < 0xC0 || cp == 0xD7 || cp == 0xF7 || cp == 0x1680 ||
		 cp == 0x180E || (cp >= 0x2000 && cp <= 0x2BFF) ||
		 (cp >= 0x2E00 && cp <= 0x2E7F) ||
		 (cp >= 0x3000 && cp <= 0x303F) ||
		 (cp >= 0xE000 && cp <= 0xF8FF) ||
		 (cp >= 0xFE00 && cp <= 0xFE6F) || cp == 0xFEFF ||
		 (cp >= 0xFF00 && cp <= 0xFFFF) ||
		 (cp >= 0x1F000 && cp <= 0x1FFFF) || cp >= 0xE0000);
}

/* Bytes of the non-ASCII letter at i of (p, len), or 0. */
static size_t msk_letter_at(const uint8_t *p, size_t len, size_t i)
{
	size_t n = u8_len(p, len, i);

	return n > 1 && msk_letter_cp(msk_u8_cp(p + i, n)) ? n : 0;
}

/* The end of the run of host name characters from i in (p, len). */
static size_t msk_host_run(const uint8_t *p, size_t len, size_t i)
{
	while (i < len) {
		size_t n = p[i] < 0x80 ? (msk_ascii_alnum(p[i]) ||
					  p[i] == '-' || p[i] == '.')
				       : msk_letter_at(p, len, i);

		if (!n)
			break;
		i += n;
	}
	return i;
}

/* Whether (p, len), a run of host name characters, is a host name. */
static bool msk_host_ok(const uint8_t *p, size_t len)
{
	size_t i = 0, chars = 0, labels = 0;

	for (;;) {
		size_t lchars = 0, start = i;
		bool digits = true;

		for (; i < len && p[i] != '.'; lchars++) {
			if (p[i] >= 0x80 || !(p[i] >= '0' && p[i] <= '9'))
				digits = false;
			i += u8_len(p, len, i);
		}
		if (!lchars || lchars > MSK_LABEL_MAX || p[start] == '-' ||
		    p[i - 1] == '-')
			return false;
		chars += lchars + (labels > 0);
		labels++;
		if (i == len) /* the last label: the top-level domain */
			return labels >= 2 && chars <= MSK_DOMAIN_MAX &&
			       lchars >= 2 && !digits;
		i++; /* the dot */
	}
}

/* The start of the local part that ends at the '@' at `at`. */
static size_t msk_local_start(const uint8_t *p, size_t at)
{
	size_t s = at;

	while (s > 0) {
		size_t b = s - 1;

		while (b > 0 && s - b < 4 && (p[b] & 0xC0) == 0x80)
			b--; /* back to the lead byte of a UTF-8 letter */
		if (p[s - 1] < 0x80 ? !(msk_atext(p[s - 1]) || p[s - 1] == '.')
				    : msk_letter_at(p, s, b) != s - b)
			break;
		s = p[s - 1] < 0x80 ? s - 1 : b;
	}
	return s;
}

bool msk_email_split(const uint8_t *in, size_t len, struct msk_email_addr *a)
{
	for (size_t at = len; at > 0; at--) {
		size_t e;

		if (in[at - 1] != '@')
			continue;
		e = msk_host_run(in, len, at);
		while (e > at && (in[e - 1] == '.' || in[e - 1] == '-'))
			e--;
		if (!msk_host_ok(in + at, e - at))
			continue;
		a->at = at - 1;
		a->end = e;
		a->local = msk_local_start(in, at - 1);
		return true;
	}
	return false;
}

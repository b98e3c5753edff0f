/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * methods_fold.c - the characters fpe and scramble see. Both work on ASCII
 * letters and digits and keep a value's other characters where they are:
 * a separator stays a separator. Read byte by byte, a number written in
 * fullwidth digits (U+FF11 U+FF12 U+FF13) or in another script's digits
 * (U+0661 U+0662 U+0663) held none of them, and was served as it is.
 *
 * msk_fold reads the value a character at a time (UTF-8, a byte that does
 * not start a valid sequence counting as one character, as everywhere in
 * the methods) and writes, for each:
 *   - an ASCII character: itself;
 *   - a fullwidth form of one (U+FF01 to U+FF5E): that ASCII character;
 *   - a decimal digit of any script (Unicode category Nd, 65 runs of ten
 *     in Unicode 14.0): its ASCII digit;
 *   - anything else (letters and marks outside ASCII, symbols, spaces
 *     outside ASCII, bytes that are not UTF-8): the mask character.
 * So every character of the output is ASCII, and nothing outside ASCII is
 * ever served as it was: what the method does not transform is masked.
 */
#include <stddef.h>
#include <stdint.h>

#include "methods_i.h"

/* The zero of every run of ten Nd digits above ASCII (Unicode 14.0.0,
 * UnicodeData.txt: U+0660 to U+1FBF0), ascending. */
/* clang-format off */
static const uint32_t msk_nd_zero[] = {
	0x00660, 0x006F0, 0x007C0, 0x00966, 0x009E6, 0x00A66,
	0x00AE6, 0x00B66, 0x00BE6, 0x00C66, 0x00CE6, 0x00D66,
	0x00DE6, 0x00E50, 0x00ED0, 0x00F20, 0x01040, 0x01090,
	0x017E0, 0x01810, 0x01946, 0x019D0, 0x01A80, 0x01A90,
	0x01B50, 0x01BB0, 0x01C40, 0x01C50, 0x0A620, 0x0A8D0,
	0x0A900, 0x0A9D0, 0x0A9F0, 0x0AA50, 0x0ABF0, 0x0FF10,
	0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0,
	0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730,
	0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60,
	0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC,
	0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
};
/* clang-format on */

#define MSK_ND_RUNS (sizeof(msk_nd_zero) / sizeof(msk_nd_zero[0]))

uint8_t msk_nd_digit(uint32_t cp)
{
	size_t lo = 0, hi = MSK_ND_RUNS;

	while (lo < hi) { /* the last run whose zero is <= cp */
		size_t mid = (lo + hi) / 2;

		if (msk_nd_zero[mid] <= cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && cp - msk_nd_zero[lo - 1] < 10)
		return (uint8_t)('0' + (cp - msk_nd_zero[lo - 1]));
	return 0;
}

/* The code point of the valid UTF-8 sequence of n (2-4) bytes at p. */
static uint32_t msk_cp(const uint8_t *p, size_t n)
{
	uint32_t cp = p[0] & (0x7Fu >> n);

	for (size_t j = 1; j < n; j++)
		cp = cp << 6 | (p[j] & 0x3Fu);
	return cp;
}

size_t msk_fold(const uint8_t *in, size_t len, uint8_t mask, uint8_t *out)
{
	size_t i = 0, o = 0;

	while (i < len) {
		size_t n = u8_len(in, len, i);
		uint8_t c = in[i];

		if (c >= 0x80) {
			uint32_t cp = n > 1 ? msk_cp(in + i, n) : 0;

			if (cp >= 0xFF01 && cp <= 0xFF5E)
				c = (uint8_t)(cp - 0xFF01 + 0x21);
			else if (!cp || !(c = msk_nd_digit(cp)))
				c = mask;
		}
		out[o++] = c;
		i += n;
	}
	return o;
}

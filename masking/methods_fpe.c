/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * methods_fpe.c - the fpe masking method on top of FF1 (fpe.c): alphabets,
 * characters left in place, Luhn and IBAN check digits, the group as the
 * FF1 tweak, and msk_reveal, its inverse.
 *
 * A value's characters from the alphabet are its numerals, in order; every
 * other byte (dashes, spaces, bytes of other characters or of invalid
 * UTF-8) stays where it is. The numerals are encrypted with FF1 under the
 * sandbox's fpe key, so for one rule and one pattern of other characters
 * the method is a bijection: distinct inputs give distinct outputs and
 * msk_reveal gives the input back.
 *
 * Fail closed: a value with too few numerals for FF1's domain floor
 * (radix^n >= 1,000,000: 6 digits, 5 hex, 4 alnum characters), more than
 * FPE_LEN_MAX numerals, or (iban) not shaped like an IBAN is served with
 * every alphabet character replaced by the mask character: never raw, and
 * such a token cannot be revealed (-ERANGE).
 */
#include "methods.h"

#include <errno.h>
#include <string.h>

#include "fpe.h"
#include "methods_i.h"

#define MSK_FPE_CHARS_MAX 95 /* printable ASCII */
#define MSK_IBAN_PREFIX 4    /* country code and check digits */
#define MSK_IBAN_MOD 97

static const char msk_fpe_digits[] = "0123456789";

struct msk_fpe_alpha {
	const char *name;
	const char *chars;
};

static const struct msk_fpe_alpha msk_fpe_alphas[] = {
	{ "digits", "0123456789" },
	{ "alnum", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "abcdefghijklmnopqrstuvwxyz" },
	{ "hex", "0123456789abcdef" },
};

int msk_fpe_alphabet(struct msk_rule *r, const char *v, struct spot_err *err)
{
	const char *chars = v;
	size_t n;

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(msk_fpe_alphas); i++)
		if (!strcmp(v, msk_fpe_alphas[i].name))
			chars = msk_fpe_alphas[i].chars;
	n = strlen(chars);
	if (n < FPE_RADIX_MIN || n > MSK_FPE_CHARS_MAX)
		goto bad;
	memset(r->fpe_index, MSK_FPE_NONE, sizeof(r->fpe_index));
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)chars[i];

		if (c < 0x20 || c > 0x7e || r->fpe_index[c] != MSK_FPE_NONE) {
			/* Leave the rule with a valid alphabet. */
			msk_fpe_alphabet(r, "digits", NULL);
			goto bad;
		}
		r->fpe_index[c] = (uint8_t)i;
	}
	memcpy(r->fpe_chars, chars, n + 1);
	r->fpe_radix = (unsigned)n;
	return 0;
bad:
	spot_err_set(err,
		     "alphabet: expected digits, alnum, hex or 2 to %d "
		     "distinct printable ASCII characters",
		     MSK_FPE_CHARS_MAX);
	return -EINVAL;
}

static bool msk_fpe_is_digits(const struct msk_rule *r)
{
	return r->fpe_radix == 10 && !strcmp(r->fpe_chars, msk_fpe_digits);
}

int msk_fpe_check(const struct msk_rule *r, struct spot_err *err)
{
	if (r->fpe_radix < FPE_RADIX_MIN || r->fpe_radix > MSK_FPE_CHARS_MAX ||
	    strlen(r->fpe_chars) != r->fpe_radix) {
		spot_err_set(err, "fpe: the alphabet is not valid");
		return -EINVAL;
	}
	if (r->fpe_index[(uint8_t)r->mask_char] != MSK_FPE_NONE) {
		spot_err_set(err,
			     "fpe: the mask character '%c' (char) must not be "
			     "in the alphabet",
			     r->mask_char);
		return -EINVAL;
	}
	if (r->fpe_luhn && r->fpe_iban) {
		spot_err_set(err, "fpe: luhn and iban do not go together");
		return -EINVAL;
	}
	if ((r->fpe_luhn || r->fpe_iban) && !msk_fpe_is_digits(r)) {
		spot_err_set(err, "fpe: %s needs alphabet: digits",
			     r->fpe_luhn ? "luhn" : "iban");
		return -EINVAL;
	}
	return 0;
}

/* ---- check digits ---- */

/* The Luhn check digit of the n digits at pos[0..n) of w. */
static uint8_t msk_luhn_digit(const uint8_t *w, const size_t *pos, size_t n)
{
	unsigned sum = 0;

	for (size_t j = n; j-- > 0;) {
		unsigned d = (unsigned)(w[pos[j]] - '0');

		if ((n - 1 - j) % 2 == 0) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return (uint8_t)('0' + (10 - sum % 10) % 10);
}

static bool msk_upper(uint8_t c)
{
	return c >= 'A' && c <= 'Z';
}

static bool msk_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/*
 * CC, two check digits, then a BBAN of digits, upper-case letters and
 * spaces (the paper format groups by four).
 */
static bool msk_iban_shape(const uint8_t *p, size_t len)
{
	if (len < MSK_IBAN_PREFIX || !msk_upper(p[0]) || !msk_upper(p[1]) ||
	    !msk_digit(p[2]) || !msk_digit(p[3]))
		return false;
	for (size_t i = MSK_IBAN_PREFIX; i < len; i++)
		if (!msk_digit(p[i]) && !msk_upper(p[i]) && p[i] != ' ')
			return false;
	return true;
}

static unsigned msk_mod97_add(unsigned m, uint8_t c)
{
	if (msk_digit(c))
		return (m * 10 + (unsigned)(c - '0')) % MSK_IBAN_MOD;
	return (m * 100 + (unsigned)(c - 'A' + 10)) % MSK_IBAN_MOD;
}

/* ISO 13616 check digits: 98 - (BBAN CC "00" mod 97), written at w[2..3]. */
static void msk_iban_fix(uint8_t *w, size_t len)
{
	unsigned m = 0, check;

	for (size_t i = MSK_IBAN_PREFIX; i < len; i++)
		if (w[i] != ' ')
			m = msk_mod97_add(m, w[i]);
	m = msk_mod97_add(m, w[0]);
	m = msk_mod97_add(m, w[1]);
	m = msk_mod97_add(m, '0');
	m = msk_mod97_add(m, '0');
	check = 98 - m;
	w[2] = (uint8_t)('0' + check / 10);
	w[3] = (uint8_t)('0' + check % 10);
}

/* ---- the method ---- */

int msk_fpe(const struct msk_rule *r, const struct msk_keys *k,
	    const uint8_t *in, size_t len, bool decrypt, struct spot_buf *out)
{
	uint8_t x[FPE_LEN_MAX];
	size_t pos[FPE_LEN_MAX], n = 0, ne, start = 0, i, flen;
	bool over = false;
	uint8_t *w;
	int rc;

	if (!k || r->fpe_radix < FPE_RADIX_MIN)
		return -EINVAL;
	rc = spot_buf_reserve(out, len);
	if (rc)
		return rc;
	/* Fullwidth and other scripts' digits are read as ASCII ones; any
	 * other character outside ASCII is masked, never served as is. */
	w = out->p + out->len;
	flen = msk_fold(in, len, (uint8_t)r->mask_char, w);
	if (r->fpe_iban) {
		if (!msk_iban_shape(w, flen))
			goto redact;
		start = MSK_IBAN_PREFIX;
	}
	for (i = start; i < flen; i++) {
		uint8_t d = r->fpe_index[w[i]];

		if (d == MSK_FPE_NONE)
			continue;
		if (n == FPE_LEN_MAX) {
			over = true;
			break;
		}
		x[n] = d;
		pos[n++] = i;
	}
	ne = r->fpe_luhn && n ? n - 1 : n; /* Luhn: the check digit is not */
	if (over || ne < FPE_LEN_MIN ||
	    !fpe_domain_ok(r->fpe_radix, ne, FPE_DOMAIN_MIN))
		goto redact;
	rc = fpe_ff1(&k->fpe, decrypt, r->fpe_radix, (const uint8_t *)r->group,
		     r->group_len, x, ne, x);
	if (rc)
		return rc;
	for (i = 0; i < ne; i++)
		w[pos[i]] = (uint8_t)r->fpe_chars[x[i]];
	if (r->fpe_luhn)
		w[pos[n - 1]] = msk_luhn_digit(w, pos, n - 1);
	if (r->fpe_iban)
		msk_iban_fix(w, flen);
	goto done;
redact:
	if (decrypt)
		return -ERANGE; /* nothing was encrypted: nothing to reveal */
	for (i = 0; i < flen; i++)
		if (r->fpe_index[w[i]] != MSK_FPE_NONE)
			w[i] = (uint8_t)r->mask_char;
done:
	out->len += flen;
	out->p[out->len] = 0;
	return 0;
}

int msk_reveal(const struct msk_rule *r, const struct msk_keys *k,
	       const uint8_t *in, size_t len, struct spot_buf *out)
{
	if (!r || !k || r->method != MSK_FPE)
		return -EINVAL;
	if (!len)
		return 0;
	return msk_fpe(r, k, in, len, true, out);
}

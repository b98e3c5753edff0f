/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_fpe.c - unit tests of FF1 (fpe.c) and of the fpe masking method and
 * msk_reveal (methods_fpe.c).
 *
 * Known answers: NIST's FF1 examples for SP 800-38G, "FF1samples.pdf"
 * (Computer Security Resource Center, Cryptographic Standards and
 * Guidelines, Examples with Intermediate Values), samples 7, 8 and 9, the
 * three FF1-AES256 ones: key 2B7E1516 28AED2A6 ABF71588 09CF4F3C EF4359D8
 * D580AA4F 7F036D6F 04FC6A94;
 *   7: radix 10, no tweak, 0123456789 -> 6657667009
 *   8: radix 10, tweak 39383736353433323130, 0123456789 -> 1001623463
 *   9: radix 36, tweak 3737373770717273373737,
 *      0123456789abcdefghi -> xs8a0azh2avyalyzuwd
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "fpe.h"
#include "methods.h"
#include "spot.h"

static const char nist_key_hex[] = "2B7E151628AED2A6ABF7158809CF4F3C"
				   "EF4359D8D580AA4F7F036D6F04FC6A94";
static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned v;

		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* Numerals of a base-36 string, and back. */
static size_t to_num(const char *s, uint8_t *x)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		x[i] = (uint8_t)(strchr(b36, s[i]) - b36);
	return n;
}

static bool num_is(const uint8_t *x, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (b36[x[i]] != want[i])
			return false;
	return strlen(want) == n;
}

static void test_nist(void)
{
	static const struct {
		int sample;
		unsigned radix;
		const char *tweak, *pt, *ct;
	} v[] = {
		{ 7, 10, "", "0123456789", "6657667009" },
		{ 8, 10, "39383736353433323130", "0123456789", "1001623463" },
		{ 9, 36, "3737373770717273373737", "0123456789abcdefghi",
		  "xs8a0azh2avyalyzuwd" },
	};
	struct fpe_key key;
	uint8_t k[32], t[32], x[64], y[64], z[64];

	unhex(nist_key_hex, k);
	fpe_key_init(&key, k);
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(v); i++) {
		size_t tl = unhex(v[i].tweak, t), n = to_num(v[i].pt, x);

		CHECK(fpe_ff1(&key, false, v[i].radix, t, tl, x, n, y) == 0 &&
			      num_is(y, n, v[i].ct),
		      "NIST FF1-AES256 sample %d encrypts", v[i].sample);
		CHECK(fpe_ff1(&key, true, v[i].radix, t, tl, y, n, z) == 0 &&
			      num_is(z, n, v[i].pt),
		      "NIST FF1-AES256 sample %d decrypts", v[i].sample);
		CHECK(fpe_ff1_generic(&key, false, v[i].radix, t, tl, x, n,
				      z) == 0 &&
			      num_is(z, n, v[i].ct),
		      "NIST sample %d on the byte-array path", v[i].sample);
		CHECK(fpe_ff1_generic(&key, true, v[i].radix, t, tl, y, n, z) ==
				      0 &&
			      num_is(z, n, v[i].pt),
		      "NIST sample %d decrypts on the byte-array path",
		      v[i].sample);
	}
}

/* All 10^4 four-digit strings: distinct outputs, each decrypts back. */
static void test_bijection(void)
{
	static uint8_t seen[10000];
	struct fpe_key key;
	uint8_t k[32] = { 7 };
	int dup = 0, back = 0;

	fpe_key_init(&key, k);
	for (unsigned v = 0; v < 10000; v++) {
		uint8_t x[4] = { (uint8_t)(v / 1000), (uint8_t)(v / 100 % 10),
				 (uint8_t)(v / 10 % 10), (uint8_t)(v % 10) };
		uint8_t y[4], z[4];
		unsigned o;

		fpe_ff1(&key, false, 10, NULL, 0, x, 4, y);
		o = y[0] * 1000u + y[1] * 100u + y[2] * 10u + y[3];
		dup += seen[o]++ != 0;
		fpe_ff1(&key, true, 10, NULL, 0, y, 4, z);
		back += memcmp(x, z, 4) != 0;
	}
	CHECK(!dup, "FF1 maps the 10^4 four-digit strings to distinct ones");
	CHECK(!back, "and every one decrypts back");
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

/* Both paths agree where both apply; long strings round-trip. */
static void test_paths(void)
{
	struct fpe_key key;
	uint8_t k[32] = { 1, 2, 3 }, x[FPE_LEN_MAX], y[FPE_LEN_MAX],
		z[FPE_LEN_MAX], tw[40];
	int differ = 0, back = 0;

	fpe_key_init(&key, k);
	for (int i = 0; i < 2000; i++) {
		unsigned radix = 2 + rng() % 255;
		size_t n = 2 + rng() % 30, tl = rng() % sizeof(tw);

		for (size_t j = 0; j < n; j++)
			x[j] = (uint8_t)(rng() % radix);
		for (size_t j = 0; j < tl; j++)
			tw[j] = (uint8_t)rng();
		fpe_ff1(&key, false, radix, tw, tl, x, n, y);
		fpe_ff1_generic(&key, false, radix, tw, tl, x, n, z);
		differ += memcmp(y, z, n) != 0;
		fpe_ff1(&key, true, radix, tw, tl, y, n, z);
		back += memcmp(x, z, n) != 0;
	}
	CHECK(!differ, "machine-integer and byte-array paths agree");
	{
		/* The per-thread set-up cache: runs of one (key, length,
		 * tweak), then keys and tweaks alternating, all against the
		 * uncached byte-array path. */
		struct fpe_key k2;
		uint8_t raw2[32] = { 9 };
		int bad = 0;

		fpe_key_init(&k2, raw2);
		for (int i = 0; i < 3000; i++) {
			const struct fpe_key *kk = i % 3 == 2 ? &k2 : &key;
			size_t tl = i < 1000 ? 0 : (size_t)(i % 2) * 7;
			size_t n = i < 1000 ? 16 : 16 - (size_t)(i % 5 == 0);

			for (size_t j = 0; j < n; j++)
				x[j] = (uint8_t)(rng() % 10);
			fpe_ff1(kk, i % 4 == 3, 10, tw, tl, x, n, y);
			fpe_ff1_generic(kk, i % 4 == 3, 10, tw, tl, x, n, z);
			bad += memcmp(y, z, n) != 0;
		}
		CHECK(!bad, "the set-up cache never mixes keys, tweaks or "
			    "lengths");
	}
	CHECK(!back, "random radix, length and tweak decrypt back");
	back = 0;
	for (int i = 0; i < 20; i++) {
		unsigned radix = i % 2 ? 10 : 256;
		size_t n = FPE_LEN_MAX - (size_t)i;

		for (size_t j = 0; j < n; j++)
			x[j] = (uint8_t)(rng() % radix);
		fpe_ff1(&key, false, radix, NULL, 0, x, n, y);
		fpe_ff1(&key, true, radix, NULL, 0, y, n, z);
		back += memcmp(x, z, n) != 0 || memcmp(x, y, n) == 0;
	}
	CHECK(!back, "strings of up to %d numerals encrypt and decrypt back",
	      FPE_LEN_MAX);
	x[0] = 10;
	x[1] = 0;
	CHECK(fpe_ff1(&key, false, 10, NULL, 0, x, 2, y) == -EINVAL &&
		      fpe_ff1(&key, false, 10, NULL, 0, x + 1, 1, y) ==
			      -EINVAL &&
		      fpe_ff1(&key, false, 1, NULL, 0, x + 1, 2, y) ==
			      -EINVAL &&
		      fpe_ff1(&key, false, 10, NULL, 0, x + 1, FPE_LEN_MAX + 1,
			      y) == -EINVAL,
	      "a numeral above the radix, n < 2, radix 1 and n > max fail");
	CHECK(fpe_domain_ok(10, 6, FPE_DOMAIN_MIN) &&
		      !fpe_domain_ok(10, 5, FPE_DOMAIN_MIN) &&
		      fpe_domain_ok(16, 5, FPE_DOMAIN_MIN) &&
		      !fpe_domain_ok(16, 4, FPE_DOMAIN_MIN) &&
		      fpe_domain_ok(62, 4, FPE_DOMAIN_MIN) &&
		      !fpe_domain_ok(62, 3, FPE_DOMAIN_MIN) &&
		      fpe_domain_ok(256, 300, FPE_DOMAIN_MIN),
	      "domain floor: 6 digits, 5 hex, 4 alnum characters");
}

/* ---- the method ---- */

static struct msk_keys *keys, *keys2;
static struct spot_buf ob;

static int rule(struct msk_rule *r, ...)
{
	struct spot_err err = { "" };
	const char *k;
	va_list ap;
	int rc = 0;

	msk_rule_init(r, MSK_FPE);
	va_start(ap, r);
	while (!rc && (k = va_arg(ap, const char *)))
		rc = msk_rule_set(r, k, va_arg(ap, const char *), &err);
	va_end(ap);
	if (!rc)
		rc = msk_rule_check(r, &err);
	if (rc)
		printf("# rule error: %s\n", err.msg);
	return rc;
}

static const char *apply(const struct msk_rule *r, const struct msk_keys *k,
			 const char *in)
{
	enum pipe_type ot;

	spot_buf_reset(&ob);
	if (msk_apply(r, k, NULL, (const uint8_t *)in, strlen(in), PIPE_TEXT,
		      &ob, &ot) ||
	    ot != PIPE_TEXT)
		return "(error)";
	return ob.p ? (const char *)ob.p : "";
}

static const char *reveal(const struct msk_rule *r, const char *tok)
{
	static char back[512];

	spot_buf_reset(&ob);
	if (msk_reveal(r, keys, (const uint8_t *)tok, strlen(tok), &ob))
		return "(error)";
	snprintf(back, sizeof(back), "%.*s", (int)ob.len, (const char *)ob.p);
	return back;
}

static bool luhn_ok(const char *s)
{
	unsigned sum = 0, k = 0;

	for (size_t i = strlen(s); i-- > 0;) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			continue;
		d = (unsigned)(s[i] - '0');
		if (k++ % 2) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return k && sum % 10 == 0;
}

static bool iban_ok(const char *s)
{
	char r[64];
	size_t n = 0;
	unsigned m = 0;

	for (size_t i = 4; s[i]; i++)
		if (s[i] != ' ')
			r[n++] = s[i];
	memcpy(r + n, s, 4);
	n += 4;
	for (size_t i = 0; i < n; i++)
		m = r[i] <= '9' ? (m * 10 + (unsigned)(r[i] - '0')) % 97
				: (m * 100 + (unsigned)(r[i] - 'A' + 10)) % 97;
	return m == 1;
}

static void test_method(void)
{
	struct msk_rule d, hex, alnum, luhn, iban, grp, grp2, custom;
	char a[64], b[64];

	CHECK(!rule(&d, NULL) && !rule(&hex, "alphabet", "hex", NULL) &&
		      !rule(&alnum, "alphabet", "alnum", NULL) &&
		      !rule(&luhn, "luhn", "true", NULL) &&
		      !rule(&iban, "iban", "true", NULL) &&
		      !rule(&grp, "group", "customers", NULL) &&
		      !rule(&grp2, "group", "orders", NULL) &&
		      !rule(&custom, "alphabet", "ACGT", "char", "#", NULL),
	      "fpe rules from YAML-style parameters");
	snprintf(a, sizeof(a), "%s", apply(&d, keys, "123-45-6789"));
	CHECK(strlen(a) == 11 && a[3] == '-' && a[6] == '-' &&
		      strspn(a, "0123456789-") == 11 &&
		      strcmp(a, "123-45-6789") != 0,
	      "digits: dashes stay, digits change (%s)", a);
	CHECK(!strcmp(apply(&d, keys, "123-45-6789"), a),
	      "deterministic for one secret");
	CHECK(strcmp(apply(&d, keys2, "123-45-6789"), a) != 0,
	      "another secret, another token");
	CHECK(!strcmp(reveal(&d, a), "123-45-6789"), "reveal gives it back");
	snprintf(a, sizeof(a), "%s", apply(&grp, keys, "123-45-6789"));
	snprintf(b, sizeof(b), "%s", apply(&grp2, keys, "123-45-6789"));
	CHECK(strcmp(a, b) != 0 &&
		      strcmp(a, apply(&d, keys, "123-45-6789")) != 0,
	      "groups give unrelated tokens");
	CHECK(!strcmp(reveal(&grp, a), "123-45-6789") &&
		      strcmp(reveal(&grp2, a), "123-45-6789") != 0,
	      "reveal needs the group the token was made in");

	snprintf(a, sizeof(a), "%s", apply(&luhn, keys, "4111 1111 1111 1111"));
	CHECK(luhn_ok(a) && strlen(a) == 19 && a[4] == ' ' &&
		      strcmp(a, "4111 1111 1111 1111"),
	      "luhn: the token is a Luhn-valid card number (%s)", a);
	CHECK(!strcmp(reveal(&luhn, a), "4111 1111 1111 1111"),
	      "luhn: reveal gives the card number back");
	{
		int bad = 0;

		for (int i = 0; i < 300; i++) {
			char v[20];

			snprintf(v, sizeof(v), "%08u%08u", rng() % 100000000,
				 rng() % 100000000);
			bad += !luhn_ok(apply(&luhn, keys, v));
		}
		CHECK(!bad, "luhn: 300 random 16-digit values give valid "
			    "check digits");
	}
	snprintf(a, sizeof(a), "%s",
		 apply(&iban, keys, "GB82 WEST 1234 5698 7654 32"));
	CHECK(iban_ok("GB82 WEST 1234 5698 7654 32") && iban_ok(a) &&
		      !strncmp(a, "GB", 2) && !strncmp(a + 5, "WEST", 4) &&
		      strcmp(a, "GB82 WEST 1234 5698 7654 32"),
	      "iban: country and letters kept, check digits valid (%s)", a);
	CHECK(!strcmp(reveal(&iban, a), "GB82 WEST 1234 5698 7654 32"),
	      "iban: reveal gives the IBAN back");
	snprintf(a, sizeof(a), "%s",
		 apply(&iban, keys, "DE89370400440532013000"));
	CHECK(iban_ok(a) && strlen(a) == 22, "iban: electronic format (%s)", a);
	CHECK(!strcmp(apply(&iban, keys, "not an iban 123"), "not an iban ***"),
	      "iban: a value that is no IBAN is redacted, not served raw");

	snprintf(a, sizeof(a), "%s", apply(&hex, keys, "deadbeef00"));
	CHECK(strspn(a, "0123456789abcdef") == 10 && strcmp(a, "deadbeef00"),
	      "hex alphabet");
	CHECK(!strcmp(reveal(&hex, a), "deadbeef00"), "hex reveal");
	snprintf(a, sizeof(a), "%s", apply(&custom, keys, "ACGTTGCAAC-acgt"));
	CHECK(strspn(a, "ACGT") == 10 && !strcmp(a + 10, "-acgt") &&
		      strcmp(a, "ACGTTGCAAC-acgt"),
	      "a custom alphabet; other characters stay (%s)", a);
	CHECK(!strcmp(apply(&custom, keys, "ACGTTGCA"), "########"),
	      "4^8 < 10^6: masked with the rule's char");

	CHECK(!strcmp(apply(&d, keys, "12345"), "*****") &&
		      !strcmp(apply(&d, keys, "ab-12"), "ab-**") &&
		      !strcmp(apply(&hex, keys, "beef"), "****") &&
		      !strcmp(apply(&alnum, keys, "Bob"), "***") &&
		      !strcmp(apply(&d, keys, "N/A"), "N/A"),
	      "too short for FF1's floor: alphabet characters masked");
	/* Digits outside ASCII are digits: fullwidth (U+FF10..), Arabic-Indic
	 * (U+0660..) and Devanagari (U+0966..) give the ASCII value's token;
	 * any other character outside ASCII is masked, never served. */
	snprintf(a, sizeof(a), "%s", apply(&d, keys, "123-45-6789"));
	CHECK(!strcmp(apply(&d, keys,
			    "\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93-"
			    "\xef\xbc\x94\xef\xbc\x95-\xef\xbc\x96"
			    "\xef\xbc\x97\xef\xbc\x98\xef\xbc\x99"),
		      a),
	      "fullwidth digits are encrypted as their ASCII digits");
	CHECK(!strcmp(apply(&d, keys,
			    "\xd9\xa1\xd9\xa2\xd9\xa3-\xd9\xa4\xd9\xa5-"
			    "\xe0\xa5\xac\xe0\xa5\xad\xe0\xa5\xae"
			    "\xe0\xa5\xaf"),
		      a),
	      "Arabic-Indic and Devanagari digits too");
	CHECK(!strcmp(apply(&d, keys,
			    "\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93"
			    "45"),
		      "*****"),
	      "too short, in fullwidth digits: masked, not raw");
	snprintf(b, sizeof(b), "%s",
		 apply(&alnum, keys, "Jos\xc3\xa9 M\xc3\xbcller"));
	CHECK(strlen(b) == 11 && b[3] == '*' && b[4] == ' ' && b[6] == '*' &&
		      strspn(b, "*") == 0,
	      "alnum: letters outside ASCII are masked (%s)", b);
	CHECK(!strcmp(apply(&d, keys, "\xe2\x82\xac 99 \xff"), "* ** *"),
	      "a symbol and a byte that is not UTF-8: masked");
	CHECK(!strcmp(reveal(&d, "*****"), "(error)"),
	      "a masked short value cannot be revealed");
	CHECK(strcmp(apply(&d, keys, "123456"), "123456") != 0,
	      "six digits are encrypted");
	{
		char big[2000];

		memset(big, '7', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		apply(&d, keys, big);
		CHECK(ob.len == sizeof(big) - 1 &&
			      strspn((char *)ob.p, "*") == ob.len,
		      "more than %d numerals: masked, not raw", FPE_LEN_MAX);
	}
	{
		struct msk_rule r;
		int bad = 0;
		uint8_t v[300];

		for (int i = 0; i < 3000; i++) {
			size_t len = rng() % sizeof(v);
			enum pipe_type ot;

			for (size_t j = 0; j < len; j++)
				v[j] = (uint8_t)(rng() % 3 ? '0' + rng() % 10
							   : rng());
			spot_buf_reset(&ob);
			if (msk_apply(&d, keys, NULL, v, len, PIPE_TEXT, &ob,
				      &ot) ||
			    ob.len > len)
				bad++;
			for (size_t j = 0; j < ob.len; j++)
				bad += ob.p[j] >= 0x80;
		}
		CHECK(!bad, "hostile bytes: never longer, all ASCII, never an "
			    "error");
		CHECK(rule(&r, "alphabet", "x", NULL) == -EINVAL &&
			      rule(&r, "alphabet", "aab", NULL) == -EINVAL &&
			      rule(&r, "alphabet", "ab\x01", NULL) == -EINVAL &&
			      rule(&r, "luhn", "maybe", NULL) == -EINVAL &&
			      rule(&r, "luhn", "true", "alphabet", "hex",
				   NULL) == -EINVAL &&
			      rule(&r, "luhn", "true", "iban", "true", NULL) ==
				      -EINVAL &&
			      rule(&r, "alphabet", "*0123", NULL) == -EINVAL &&
			      rule(&r, "group", "", NULL) == -EINVAL &&
			      rule(&r, "group", "a b", NULL) == -EINVAL,
		      "bad fpe options are refused");
		msk_rule_fini(&r);
	}
	msk_rule_fini(&d);
	msk_rule_fini(&hex);
	msk_rule_fini(&alnum);
	msk_rule_fini(&luhn);
	msk_rule_fini(&iban);
	msk_rule_fini(&grp);
	msk_rule_fini(&grp2);
	msk_rule_fini(&custom);
}

int main(void)
{
	static const char secret[] = "0123456789abcdef-test-secret";
	static const char secret2[] = "0123456789abcdef-other-secret";

	test_nist();
	test_bijection();
	test_paths();
	spot_buf_init(&ob);
	if (msk_keys_new((const uint8_t *)secret, sizeof(secret) - 1, &keys) ||
	    msk_keys_new((const uint8_t *)secret2, sizeof(secret2) - 1,
			 &keys2)) {
		CHECK(0, "keys");
		return check_done();
	}
	test_method();
	msk_keys_free(keys);
	msk_keys_free(keys2);
	spot_buf_fini(&ob);
	return check_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_fake.c - unit tests of the "fake" method's locales and kinds
 * (fake.c, masking/fake_data/) and of its seed PRF (fake_prf.c).
 *
 * Formats are checked on thousands of seeds per locale and kind, with
 * checks written independently of fake.c: IBAN check digits by the ISO
 * 13616 rule (and the French RIB and Spanish control digits), UUID layout
 * by RFC 4122, dates against a calendar computed here, IPv4 octets parsed
 * here. The en output is compared with values recorded from the code
 * before locales existed, so existing sandboxes keep their fake values.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "fake.h"
#include "methods.h"
#include "spot.h"

#define SEEDS 3000

static struct spot_buf ob;
static struct msk_keys *keys, *keys2;

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)next();
}

/* A rule from (key, value) pairs ending with NULL: set and checked. */
static int rule(struct msk_rule *r, struct spot_err *err, ...)
{
	const char *k, *v;
	va_list ap;
	int rc = 0;

	msk_rule_init(r, MSK_FAKE);
	va_start(ap, err);
	while (!rc && (k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		rc = msk_rule_set(r, k, v, err);
	}
	va_end(ap);
	return rc ? rc : msk_rule_check(r, err);
}

static int apply(const struct msk_rule *r, const struct msk_keys *k,
		 const char *in)
{
	enum pipe_type t;

	spot_buf_reset(&ob);
	return msk_apply(r, k, NULL, (const uint8_t *)in, strlen(in), PIPE_TEXT,
			 &ob, &t);
}

/* ---- the seed PRF ---- */

static void test_prf(void)
{
	static const size_t keylens[] = { 1, 16, 32, 64 };
	uint8_t key[64], in[400], a[32], b[32];
	struct msk_fake_prf p;
	size_t bad = 0, n = 0;

	for (size_t k = 0; k < SPOT_ARRAY_SIZE(keylens); k++) {
		fill(key, sizeof(key));
		msk_fake_prf_init(&p, key, keylens[k]);
		for (size_t len = 1; len <= sizeof(in); len++, n++) {
			fill(in, len);
			msk_fake_prf(&p, in, len, a);
			crypto_generichash(b, sizeof(b), in, len, key,
					   keylens[k]);
			bad += memcmp(a, b, sizeof(a)) != 0;
		}
	}
	CHECK(bad == 0,
	      "seed PRF equals libsodium's keyed BLAKE2b-256 for keys of 1, "
	      "16, 32, 64 bytes and inputs of 1..400 bytes (%zu of %zu "
	      "differ)",
	      bad, n);
}

/* ---- en is unchanged ---- */

static void test_en_unchanged(void)
{
	/* msk_apply outputs of the code before locales (commit c849d7a),
	 * secret "0123456789abcdef-test-secret" */
	static const char *const vals[] = {
		"Alice Example",
		"a value longer than one hundred and twenty eight bytes, so "
		"that the keyed BLAKE2b needs more than a single block of "
		"input data!!",
		"a value of 129 bytes: one byte more than a BLAKE2b block, so "
		"the last block holds one byte only. "
		"...............................!",
	};
	static const struct {
		int v;
		const char *kind, *want;
	} gold[] = {
		{ 0, "name", "Benjamin Garner" },
		{ 0, "first_name", "Benjamin" },
		{ 0, "last_name", "Garner" },
		{ 0, "email", "benjamin.garner69@example.org" },
		{ 0, "phone", "(769) 555-0119" },
		{ 0, "city", "Fernridge" },
		{ 0, "company", "Tide Software Ltd" },
		{ 0, "address", "1159 Harbor Way" },
		{ 0, "ssn", "969-36-2077" },
		{ 1, "name", "Steven Evans" },
		{ 1, "email", "steven.evans25@example.org" },
		{ 1, "phone", "(925) 555-0186" },
		{ 1, "city", "Ironwood" },
		{ 1, "company", "Evergreen Software Co" },
		{ 1, "address", "1899 Meadow Lane" },
		{ 1, "ssn", "925-78-6611" },
		{ 2, "name", "Tina Payne" },
		{ 2, "email", "tina.payne39@example.org" },
		{ 2, "phone", "(439) 555-0130" },
		{ 2, "company", "Vista Holdings Co" },
		{ 2, "address", "479 Ridge Lane" },
		{ 2, "ssn", "939-54-9390" },
	};
	struct spot_err err = { "" };
	size_t bad = 0;

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(gold); i++) {
		struct msk_rule r;
		bool ok;

		ok = rule(&r, &err, "kind", gold[i].kind, NULL) == 0 &&
		     apply(&r, keys, vals[gold[i].v]) == 0 &&
		     !strcmp((char *)ob.p, gold[i].want);
		if (!ok) {
			printf("# %s of value %d: got '%s' want '%s'\n",
			       gold[i].kind, gold[i].v,
			       ob.p ? (char *)ob.p : "", gold[i].want);
			bad++;
		}
		msk_rule_fini(&r);
	}
	CHECK(bad == 0,
	      "en fake values equal those recorded before locales (%zu of "
	      "%zu differ)",
	      bad, SPOT_ARRAY_SIZE(gold));

	/* msk_fake_write (DP synthetic tables) is the en locale. */
	bad = 0;
	for (size_t i = 0; i < 500; i++) {
		uint8_t seed[MSK_FAKE_SEED_LEN];
		struct spot_buf a;

		fill(seed, sizeof(seed));
		spot_buf_init(&a);
		for (int k = 0; k < MSK_FAKE_KIND_COUNT; k++) {
			spot_buf_reset(&ob);
			spot_buf_reset(&a);
			if (msk_fake_write((enum msk_fake_kind)k, seed, &ob) ||
			    msk_fake_write_locale((enum msk_fake_kind)k,
						  MSK_FAKE_EN, seed, &a) ||
			    ob.len != a.len || memcmp(ob.p, a.p, a.len))
				bad++;
		}
		spot_buf_fini(&a);
	}
	CHECK(bad == 0,
	      "msk_fake_write is msk_fake_write_locale(en) for every kind "
	      "(%zu differ)",
	      bad);
}

/* ---- independent format checks ---- */

static bool is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* s matches shape: 'd' a digit, anything else itself. */
static bool shape(const char *s, const char *shp)
{
	if (strlen(s) != strlen(shp))
		return false;
	for (; *shp; s++, shp++)
		if (*shp == 'd' ? !(*s >= '0' && *s <= '9') : *s != *shp)
			return false;
	return true;
}

/* ISO 13616: the first four characters moved to the end, letters as
 * 10..35, the whole number mod 97 is 1 (in chunks of 9 digits). */
static bool iban_valid(const char *s)
{
	char num[128] = "", t[16];
	size_t len = strlen(s), n = 0;
	unsigned long long r = 0;

	if (len < 5 || len > 34)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[(i + 4) % len];

		if (c >= '0' && c <= '9')
			num[n++] = c;
		else if (c >= 'A' && c <= 'Z')
			n += (size_t)snprintf(num + n, sizeof(num) - n, "%d",
					      c - 'A' + 10);
		else
			return false;
	}
	for (size_t i = 0; i < n; i += 7) {
		snprintf(t, sizeof(t), "%llu%.7s", r, num + i);
		r = strtoull(t, NULL, 10) % 97;
	}
	return r == 1;
}

static unsigned long long dec(const char *s, size_t n)
{
	unsigned long long v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

/* The country's IBAN: length, digits where due, and national keys. */
static bool iban_ok(enum msk_fake_locale loc, const char *s)
{
	size_t len = strlen(s);

	if (!iban_valid(s))
		return false;
	switch (loc) {
	case MSK_FAKE_DE:
		return len == 22 && !strncmp(s, "DE", 2) &&
		       is_digits(s + 2, 20);
	case MSK_FAKE_FR: /* RIB: 89 bank + 15 branch + 3 account + key */
		return len == 27 && !strncmp(s, "FR", 2) &&
		       is_digits(s + 2, 25) &&
		       (89 * dec(s + 4, 5) + 15 * dec(s + 9, 5) +
			3 * dec(s + 14, 11) + dec(s + 25, 2)) %
				       97 ==
			       0;
	case MSK_FAKE_ES: {
		static const unsigned w[10] = { 1, 2, 4, 8, 5, 10, 9, 7, 3, 6 };
		char a[11] = "00";
		unsigned sa = 0, sb = 0, da, db;

		if (len != 24 || strncmp(s, "ES", 2) || !is_digits(s + 2, 22))
			return false;
		memcpy(a + 2, s + 4, 8);
		for (int i = 0; i < 10; i++) {
			sa += (unsigned)(a[i] - '0') * w[i];
			sb += (unsigned)(s[14 + i] - '0') * w[i];
		}
		da = (11 - sa % 11) % 11;
		db = (11 - sb % 11) % 11;
		return (unsigned)(s[12] - '0') == (da == 10 ? 1 : da) &&
		       (unsigned)(s[13] - '0') == (db == 10 ? 1 : db);
	}
	default: /* GB: 4 letters, 14 digits */
		for (int i = 4; i < 8; i++)
			if (s[i] < 'A' || s[i] > 'Z')
				return false;
		return len == 22 && !strncmp(s, "GB", 2) &&
		       is_digits(s + 2, 2) && is_digits(s + 8, 14);
	}
}

static bool uuid_ok(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-'
			 : !((s[i] >= '0' && s[i] <= '9') ||
			     (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[14] == '4' && strchr("89ab", s[19]);
}

/* YYYY-MM-DD, a real calendar day, lo <= s <= hi. */
static bool date_ok(const char *s, const char *lo, const char *hi)
{
	static const int md[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int y, m, d, leap;

	if (!shape(s, "dddd-dd-dd"))
		return false;
	y = (int)dec(s, 4);
	m = (int)dec(s + 5, 2);
	d = (int)dec(s + 8, 2);
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m >= 1 && m <= 12 && d >= 1 &&
	       d <= md[m - 1] + (m == 2 ? leap : 0) && strcmp(s, lo) >= 0 &&
	       strcmp(s, hi) <= 0;
}

/* 10.a.b.c with c in 1..254: RFC 1918, never a public host. */
static bool ipv4_ok(const char *s)
{
	unsigned o[4];
	int end = 0;

	if (sscanf(s, "%3u.%3u.%3u.%3u%n", &o[0], &o[1], &o[2], &o[3], &end) !=
		    4 ||
	    (size_t)end != strlen(s))
		return false;
	return o[0] == 10 && o[1] <= 255 && o[2] <= 255 && o[3] >= 1 &&
	       o[3] <= 254;
}

static bool one_of(const char *s, const char *const *set, size_t n, size_t skip)
{
	for (size_t i = 0; i < n; i++)
		if (!strncmp(s, set[i], strlen(set[i])) &&
		    shape(s + strlen(set[i]), set[i] + strlen(set[i]) + skip))
			return true;
	return false;
}

static bool phone_ok(enum msk_fake_locale loc, const char *s)
{
	/* prefix, then a shape (after the prefix's NUL) */
	static const char *const de[] = { "030 23125\0ddd", "069 90009\0ddd",
					  "040 66969\0ddd", "0221 4710\0ddd",
					  "089 99998\0ddd" };
	static const char *const fr[] = {
		"01 99 00\0 dd dd", "02 61 91\0 dd dd", "03 53 01\0 dd dd",
		"04 65 71\0 dd dd", "05 36 49\0 dd dd", "06 39 98\0 dd dd"
	};

	switch (loc) {
	case MSK_FAKE_DE:
		return one_of(s, de, SPOT_ARRAY_SIZE(de), 1);
	case MSK_FAKE_FR:
		return one_of(s, fr, SPOT_ARRAY_SIZE(fr), 1);
	case MSK_FAKE_ES:
		return shape(s, "555 01d ddd");
	default:
		return shape(s, "(ddd) 555-01dd") && s[1] >= '2';
	}
}

static bool email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.") !=
		    (size_t)(at - s))
		return false;
	return !strcmp(at, "@example.com") || !strcmp(at, "@example.net") ||
	       !strcmp(at, "@example.org");
}

/* Printable UTF-8 with no control characters: safe in any served format. */
static bool text_ok(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return n > 0 && n < 128;
}

static bool ends_with_number(const char *s, const char *sep)
{
	const char *p = strrchr(s, ' ');

	return p && p - s >= (long)strlen(sep) - 1 &&
	       !strncmp(p - strlen(sep) + 1, sep, strlen(sep)) && p[1] &&
	       p[1] != '0' && strspn(p + 1, "0123456789") == strlen(p + 1);
}

static void test_formats(void)
{
	static const char *const de_sfx[] = { " GmbH", " AG", " KG",
					      " GmbH & Co. KG", " e.K." };
	struct spot_buf fn, ln;
	size_t bad[MSK_FAKE_LOCALE_COUNT][MSK_FAKE_KIND_COUNT] = { { 0 } };

	spot_buf_init(&fn);
	spot_buf_init(&ln);
	for (int l = 0; l < MSK_FAKE_LOCALE_COUNT; l++) {
		enum msk_fake_locale loc = (enum msk_fake_locale)l;

		for (int i = 0; i < SEEDS; i++) {
			uint8_t seed[MSK_FAKE_SEED_LEN];

			fill(seed, sizeof(seed));
			for (int k = 0; k < MSK_FAKE_KIND_COUNT; k++) {
				const char *s;
				bool ok;

				spot_buf_reset(&ob);
				if (msk_fake_write_locale((enum msk_fake_kind)k,
							  loc, seed, &ob) ||
				    !text_ok(ob.p, ob.len)) {
					bad[l][k]++;
					continue;
				}
				s = (const char *)ob.p;
				switch ((enum msk_fake_kind)k) {
				case MSK_FAKE_NAME:
					spot_buf_reset(&fn);
					spot_buf_reset(&ln);
					msk_fake_write_locale(
						MSK_FAKE_FIRST_NAME, loc, seed,
						&fn);
					msk_fake_write_locale(
						MSK_FAKE_LAST_NAME, loc, seed,
						&ln);
					ok = ob.len == fn.len + 1 + ln.len &&
					     !memcmp(s, fn.p, fn.len) &&
					     s[fn.len] == ' ' &&
					     !strcmp(s + fn.len + 1,
						     (char *)ln.p);
					/* es: two surnames */
					if (loc == MSK_FAKE_ES)
						ok = ok &&
						     strchr((char *)ln.p, ' ');
					break;
				case MSK_FAKE_EMAIL:
					ok = email_ok(s);
					break;
				case MSK_FAKE_PHONE:
					ok = phone_ok(loc, s);
					break;
				case MSK_FAKE_ADDRESS:
					ok = loc == MSK_FAKE_DE
						     ? ends_with_number(s, " ")
					     : loc == MSK_FAKE_ES
						     ? ends_with_number(s, ", ")
						     : s[0] >= '1' &&
							       s[0] <= '9';
					break;
				case MSK_FAKE_COMPANY:
					ok = loc != MSK_FAKE_DE;
					for (size_t j = 0;
					     !ok && j < SPOT_ARRAY_SIZE(de_sfx);
					     j++) {
						size_t n = strlen(de_sfx[j]);

						ok = ob.len > n &&
						     !strcmp(s + ob.len - n,
							     de_sfx[j]);
					}
					break;
				case MSK_FAKE_SSN:
					ok = shape(s, "9dd-dd-dddd") &&
					     strncmp(s + 4, "00", 2) &&
					     strncmp(s + 7, "0000", 4);
					break;
				case MSK_FAKE_DATE:
					ok = date_ok(s, "1940-01-01",
						     "2005-12-31");
					break;
				case MSK_FAKE_IBAN:
					ok = iban_ok(loc, s);
					break;
				case MSK_FAKE_IPV4:
					ok = ipv4_ok(s);
					break;
				case MSK_FAKE_UUID:
					ok = uuid_ok(s);
					break;
				default:
					ok = true;
					break;
				}
				if (!ok && bad[l][k]++ == 0)
					printf("# %s %s: '%s'\n",
					       msk_fake_locale_name(loc),
					       msk_fake_kind_name(
						       (enum msk_fake_kind)k),
					       s);
			}
		}
		for (int k = 0; k < MSK_FAKE_KIND_COUNT; k++)
			CHECK(bad[l][k] == 0,
			      "fake %s locale %s: %d values in the kind's "
			      "format (%zu not)",
			      msk_fake_kind_name((enum msk_fake_kind)k),
			      msk_fake_locale_name(loc), SEEDS, bad[l][k]);
	}
	spot_buf_fini(&fn);
	spot_buf_fini(&ln);
}

/* The checkers above must reject what they are meant to reject. */
static void test_checkers(void)
{
	CHECK(iban_valid("DE89370400440532013000") &&
		      !iban_valid("DE88370400440532013000") &&
		      iban_valid("GB29NWBK60161331926819") &&
		      !iban_valid("GB29NWBK60161331926818"),
	      "the test's IBAN check accepts the ISO 13616 examples and "
	      "rejects one changed digit");
	CHECK(uuid_ok("f47ac10b-58cc-4372-a567-0e02b2c3d479") &&
		      !uuid_ok("f47ac10b-58cc-1372-a567-0e02b2c3d479") &&
		      !uuid_ok("f47ac10b-58cc-4372-c567-0e02b2c3d479"),
	      "the test's UUID check wants version 4 and variant 10x");
	CHECK(date_ok("2004-02-29", "1940-01-01", "2005-12-31") &&
		      !date_ok("2005-02-29", "1940-01-01", "2005-12-31") &&
		      !date_ok("1939-12-31", "1940-01-01", "2005-12-31"),
	      "the test's date check knows leap years and the range");
	CHECK(ipv4_ok("10.0.0.1") && !ipv4_ok("10.0.0.255") &&
		      !ipv4_ok("192.0.2.1") && !ipv4_ok("10.256.0.1"),
	      "the test's IPv4 check wants 10.x.x.1-254");
}

/* ---- rules: parameters, determinism, spread ---- */

static void test_rules(void)
{
	struct spot_err err = { "" };
	struct msk_rule r, r2;
	char *a;
	size_t i, differ = 0, seen_lo = 0, seen_hi = 0, leap = 0;

	CHECK(rule(&r, &err, "kind", "name", "locale", "xx", NULL) == -EINVAL &&
		      strstr(err.msg, "en, de, fr, es") &&
		      !strstr(err.msg, "xx"),
	      "an unknown locale is refused, listing the locales: %s", err.msg);
	msk_rule_fini(&r);
	CHECK(rule(&r, &err, "kind", "iban2", NULL) == -EINVAL &&
		      strstr(err.msg, "date, iban, ipv4, uuid") &&
		      !strstr(err.msg, "iban2"),
	      "an unknown kind is refused, listing the kinds: %s", err.msg);
	msk_rule_fini(&r);
	CHECK(rule(&r, &err, "locale", "de", NULL) == -EINVAL &&
		      strstr(err.msg, "'kind' is required") &&
		      strstr(err.msg, "uuid"),
	      "a locale without a kind is refused: %s", err.msg);
	msk_rule_fini(&r);
	CHECK(rule(&r, &err, "kind", "name", "min", "2000-01-01", NULL) ==
			      -EINVAL &&
		      strstr(err.msg, "kind date"),
	      "min/max on a kind other than date is refused: %s", err.msg);
	msk_rule_fini(&r);
	CHECK(rule(&r, &err, "kind", "date", "min", "2000-01-02", "max",
		   "2000-01-01", NULL) == -EINVAL &&
		      strstr(err.msg, "after"),
	      "min after max is refused: %s", err.msg);
	msk_rule_fini(&r);
	CHECK(rule(&r, &err, "kind", "date", "min", "2023-02-29", NULL) ==
			      -EINVAL &&
		      rule(&r2, &err, "kind", "date", "max", "1999-1-01",
			   NULL) == -EINVAL,
	      "a date that is not a calendar day is refused: %s", err.msg);
	msk_rule_fini(&r);
	msk_rule_fini(&r2);
	CHECK(rule(&r, &err, "kind", "name", "min", "x", NULL) == -EINVAL,
	      "a bad min is refused");
	msk_rule_fini(&r);
	CHECK(rule(&r, &err, "kind", "date", "min", "2010-01-01", NULL) ==
			      -EINVAL &&
		      strstr(err.msg, "2005-12-31"),
	      "min after the default max names the default: %s", err.msg);
	msk_rule_fini(&r);

	/* a date range: bounds reached, leap day made, nothing outside */
	CHECK(rule(&r, &err, "kind", "date", "min", "2024-02-28", "max",
		   "2024-03-01", NULL) == 0,
	      "a date rule with min and max");
	for (i = 0; i < 300; i++) {
		char v[32];

		snprintf(v, sizeof(v), "patient %zu", i);
		if (apply(&r, keys, v) ||
		    !date_ok((char *)ob.p, "2024-02-28", "2024-03-01"))
			break;
		seen_lo += !strcmp((char *)ob.p, "2024-02-28");
		seen_hi += !strcmp((char *)ob.p, "2024-03-01");
		leap += !strcmp((char *)ob.p, "2024-02-29");
	}
	CHECK(i == 300 && seen_lo && seen_hi && leap,
	      "dates stay in min..max, both ends and 2024-02-29 made (%zu, "
	      "%zu, %zu)",
	      seen_lo, seen_hi, leap);
	msk_rule_fini(&r);

	/* determinism and keys, per locale */
	for (int l = 0; l < MSK_FAKE_LOCALE_COUNT; l++) {
		const char *ln = msk_fake_locale_name((enum msk_fake_locale)l);

		rule(&r, &err, "kind", "name", "locale", ln, NULL);
		apply(&r, keys, "Alice Example");
		a = strdup((char *)ob.p);
		apply(&r, keys, "Alice Example");
		CHECK(a && !strcmp(a, (char *)ob.p),
		      "fake name %s is deterministic: %s", ln, a);
		apply(&r, keys2, "Alice Example");
		CHECK(a && strcmp(a, (char *)ob.p),
		      "fake name %s differs under another secret", ln);
		free(a);
		msk_rule_fini(&r);
	}
	/* the locales differ for the same value */
	rule(&r, &err, "kind", "last_name", NULL);
	rule(&r2, &err, "kind", "last_name", "locale", "de", NULL);
	for (i = 0; i < 50; i++) {
		char v[32];

		snprintf(v, sizeof(v), "customer %zu", i);
		apply(&r, keys, v);
		a = strdup((char *)ob.p);
		apply(&r2, keys, v);
		differ += a && strcmp(a, (char *)ob.p) != 0;
		free(a);
	}
	CHECK(differ >= 40, "en and de last names differ (%zu/50)", differ);
	msk_rule_fini(&r);
	msk_rule_fini(&r2);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Distinct values stay (nearly) distinct: uuid always, ipv4 mostly. */
static void test_spread(void)
{
	static const char *const kinds[] = { "uuid", "ipv4", "iban" };
	enum { N = 5000 };
	struct spot_err err = { "" };

	for (size_t k = 0; k < SPOT_ARRAY_SIZE(kinds); k++) {
		char **v = calloc(N, sizeof(*v));
		struct msk_rule r;
		size_t dup = 0;

		if (!v)
			abort();
		rule(&r, &err, "kind", kinds[k], NULL);
		for (size_t i = 0; i < N; i++) {
			char in[32];

			snprintf(in, sizeof(in), "value-%zu", i);
			apply(&r, keys, in);
			v[i] = strdup((char *)ob.p);
			if (!v[i])
				abort();
		}
		qsort(v, N, sizeof(*v), cmp_str);
		for (size_t i = 1; i < N; i++)
			dup += !strcmp(v[i - 1], v[i]);
		/* ipv4: 16.6 million addresses, ~0.75 expected collisions */
		CHECK(dup <= (k == 1 ? 5u : 0u),
		      "fake %s: %d values, %zu collisions", kinds[k], N, dup);
		for (size_t i = 0; i < N; i++)
			free(v[i]);
		free(v);
		msk_rule_fini(&r);
	}
}

static void test_fold(void)
{
	/* A German e-mail is ASCII: umlauts and sharp s spelled out. */
	size_t n = 0, folded = 0;

	for (int i = 0; i < SEEDS; i++) {
		uint8_t seed[MSK_FAKE_SEED_LEN];
		struct spot_buf last;

		fill(seed, sizeof(seed));
		spot_buf_init(&last);
		spot_buf_reset(&ob);
		msk_fake_write_locale(MSK_FAKE_LAST_NAME, MSK_FAKE_DE, seed,
				      &last);
		msk_fake_write_locale(MSK_FAKE_EMAIL, MSK_FAKE_DE, seed, &ob);
		if (!strcmp((char *)last.p, "Müller")) {
			n++;
			folded += strstr((char *)ob.p, ".mueller") != NULL;
		}
		spot_buf_fini(&last);
	}
	CHECK(n > 0 && folded == n,
	      "de: Müller's e-mail says mueller (%zu of %zu)", folded, n);
}

int main(void)
{
	static const char secret[] = "0123456789abcdef-test-secret";
	static const char secret2[] = "0123456789abcdef-other-secret";

	spot_buf_init(&ob);
	CHECK(msk_keys_new((const uint8_t *)secret, sizeof(secret) - 1,
			   &keys) == 0 &&
		      msk_keys_new((const uint8_t *)secret2,
				   sizeof(secret2) - 1, &keys2) == 0,
	      "keys from two secrets");
	if (!keys || !keys2)
		return check_done();
	test_prf();
	test_en_unchanged();
	test_checkers();
	test_formats();
	test_rules();
	test_spread();
	test_fold();
	msk_keys_free(keys);
	msk_keys_free(keys2);
	spot_buf_fini(&ob);
	return check_done();
}

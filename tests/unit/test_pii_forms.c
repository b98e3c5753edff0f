/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_pii_forms.c - unit tests of what the PII detectors read beyond plain
 * ASCII (attack round 10): Unicode look-alikes (no-break and other spaces,
 * dashes, fullwidth forms, other scripts' digits), Latin-1 bytes, JSON
 * \uXXXX escapes and percent-encoding, RFC 5322 atext and quoted local
 * parts, lower-case and dashed IBANs, dotted cards, 00-prefixed phones,
 * and values pii cannot read as text. Each replaced span must cover the
 * whole source characters (no byte of the value left), and one address
 * must get one pseudonym in every spelling.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "methods.h"
#include "spot.h"

static struct msk_keys *keys;
static struct spot_buf ob;

/* (in, n) with every kind replaced, as a static string ("(error)"). */
static const char *tagsn(const char *in, size_t n, const struct msk_keys *k)
{
	static char s[1024];

	spot_buf_reset(&ob);
	if (msk_pii_replace((const uint8_t *)in, n, MSK_PII_ALL, k, 16, &ob))
		return "(error)";
	snprintf(s, sizeof(s), "%.*s", (int)ob.len, (const char *)ob.p);
	return s;
}

static bool same(const char *in, const char *want)
{
	const char *got = tagsn(in, strlen(in), NULL);

	if (strcmp(got, want))
		printf("# '%s' -> '%s', want '%s'\n", in, got, want);
	return !strcmp(got, want);
}

static unsigned detect(const char *s)
{
	return msk_pii_detect((const uint8_t *)s, strlen(s));
}

/* Whether in and other get the same pseudonym (one token each). */
static bool one_token(const char *in, const char *other)
{
	char a[1024];

	snprintf(a, sizeof(a), "%s", tagsn(in, strlen(in), keys));
	if (strcmp(a, tagsn(other, strlen(other), keys)) || !strchr(a, ':')) {
		printf("# '%s' -> '%s'; '%s' -> '%s'\n", in, a, other,
		       tagsn(other, strlen(other), keys));
		return false;
	}
	return true;
}

static void test_look_alikes(void)
{
	CHECK(same("call +1\u00a0415\u00a0555\u00a00142 now",
		   "call [PHONE] now") &&
		      same("call +1\u202f415\u2007555\u20090142 now",
			   "call [PHONE] now") &&
		      same("call 415\u2010555\u20110142 now",
			   "call [PHONE] now") &&
		      same("call 415\u2212555\u20130142 now",
			   "call [PHONE] now") &&
		      same("call \uff14\uff11\uff15-\uff15\uff15\uff15-"
			   "\uff10\uff11\uff14\uff12 now",
			   "call [PHONE] now") &&
		      same("call \u0664\u0661\u0665-\u0665\u0665\u0665-"
			   "\u0660\u0661\u0664\u0662 now",
			   "call [PHONE] now"),
	      "phones with Unicode spaces, dashes, fullwidth and Arabic-Indic "
	      "digits");
	CHECK(same("ssn 123\u00a045\u00a06789 now", "ssn [SSN] now") &&
		      same("ssn \uff11\uff12\uff13-\uff14\uff15-\uff16\uff17"
			   "\uff18\uff19 now",
			   "ssn [SSN] now") &&
		      same("card 4111\u00a01111\u00a01111\u00a01111 now",
			   "card [CARD] now") &&
		      same("iban GB82\u00a0WEST\u00a01234\u00a05698\u00a0"
			   "7654\u00a032 now",
			   "iban [IBAN] now"),
	      "SSN, card and IBAN with no-break spaces or fullwidth digits");
	CHECK(same("mail bob.jones\uff20example.com now", "mail [EMAIL] now") &&
		      same("mail \uff42\uff4f\uff42\uff20\uff45\uff58.com now",
			   "mail [EMAIL] now") &&
		      same("mail bob\ufe6bexample\u3002com now",
			   "mail [EMAIL] now") &&
		      same("mail bob\u200b@exa\u00admple.com\u200b now",
			   "mail [EMAIL] now"),
	      "e-mail with fullwidth @ and letters, small @, ideographic "
	      "stop, invisible characters");
	CHECK(detect("+1\u00a0415\u00a0555\u00a00142") == MSK_PII_PHONE &&
		      detect("bob\uff20example.com") == MSK_PII_EMAIL,
	      "names: the detectors see look-alikes too");
	CHECK(same("caf\u00e9 \u00a0 na\u00efve \uff21\uff22",
		   "caf\u00e9 \u00a0 "
		   "na\u00efve "
		   "\uff21\uff22"),
	      "text without personal data is served as it is");
}

static void test_encodings(void)
{
	CHECK(same("mail jos\xe9.garc\xed"
		   "a@ejemplo.es now",
		   "mail [EMAIL] now") &&
		      same("mail hans.m\xfcller@beispiel.de now",
			   "mail [EMAIL] now") &&
		      same("\xff\xfe bob@example.com \xc3",
			   "\xff\xfe [EMAIL] \xc3"),
	      "Latin-1 local parts are masked whole");
	CHECK(same("mail jos\u00e9.garc\u00eda@ejemplo.es now",
		   "mail [EMAIL] now") &&
		      same("mail \u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a now",
			   "mail [EMAIL] now"),
	      "UTF-8 local parts (RFC 6531) are masked whole");
	CHECK(same("{\"email\": \"jos\\u00e9.garc\\u00eda@ejemplo.es\"}",
		   "{\"email\": \"[EMAIL]\"}") &&
		      same("x \\ud83d\\ude00bob@example.com y",
			   "x [EMAIL] y") &&
		      same("x \\u0062ob\\uff20example.com", "x [EMAIL]") &&
		      same("x jos\\u00e9\\ud800@example.com", "x [EMAIL]"),
	      "JSON \\u escapes (a pair as one character) are read; the "
	      "whole escape is replaced");
	CHECK(same("GET /reset?email=alice.smith%40example.com&t=1",
		   "GET /[EMAIL]&t=1") &&
		      same("GET /verify?phone=%2B14155550142",
			   "GET /verify?phone=[PHONE]") &&
		      same("GET /u?e=BOB.JONES%40EXAMPLE.COM",
			   "GET /[EMAIL]") &&
		      same("u=jos%C3%A9%40ejemplo.es", "[EMAIL]") &&
		      same("u=jos%E9%40ejemplo.es", "[EMAIL]") &&
		      same("50%25 off, 100%", "50%25 off, 100%"),
	      "percent-encoded values in URLs");
	CHECK(detect("bob%40example.com") == MSK_PII_EMAIL &&
		      detect("jos\\u00e9@example.com") == MSK_PII_EMAIL,
	      "names: escapes are read");
}

static void test_local_parts(void)
{
	CHECK(same("mail mary.o'connor@example.ie now", "mail [EMAIL] now") &&
		      same("mail j.smith=sales@example.com now",
			   "mail [EMAIL] now") &&
		      same("mail anna.berg/hr@example.com now",
			   "mail [EMAIL] now") &&
		      same("x a!b#c$d&e*f?g^h`i{j|k}l~m@example.com y",
			   "x [EMAIL] y") &&
		      same("mail \"john doe\"@example.com now",
			   "mail [EMAIL] now") &&
		      same("mail \"j\\\"d\"@example.com now",
			   "mail [EMAIL] now"),
	      "RFC 5322 atext and quoted local parts are masked whole");
	CHECK(same("?email=bob@example.com", "?[EMAIL]") &&
		      same("http://@example.com", "http://@example.com") &&
		      same("'bob@example.com'", "'[EMAIL]'") &&
		      same("bob{at}example{dot}com", "[EMAIL]") &&
		      same("he said \"hi\" bob@example.com",
			   "he said \"hi\" [EMAIL]"),
	      "leading punctuation stays (atext: the rest is masked); "
	      "obfuscations and quotes still read");
}

static void test_ascii_forms(void)
{
	CHECK(same("iban de89370400440532013000 now", "iban [IBAN] now") &&
		      same("iban GB82-WEST-1234-5698-7654-32 now",
			   "iban [IBAN] now") &&
		      same("iban gb82 west 1234 5698 7654 32 now",
			   "iban [IBAN] now") &&
		      same("card 4111.1111.1111.1111 now", "card [CARD] now") &&
		      same("call 0049 30 12345678 now", "call [PHONE] now") &&
		      same("call 0044-20-7946-0958 now", "call [PHONE] now"),
	      "lower-case and dashed IBANs, dotted cards, 00 phones");
	CHECK(same("iban de89370400440532013001 now",
		   "iban de89370400440532013001 now") &&
		      same("order 000123456789012", "order 000123456789012") &&
		      same("iban de893 7040 0440 5320 1300 0 now",
			   "iban de893 7040 0440 5320 1300 0 now") &&
		      same("iban zz89370400440532013000 now",
			   "iban zz89370400440532013000 now") &&
		      same("v 4111.1111.1111.1112", "v 4111.1111.1111.1112"),
	      "near misses stay (bad check digits, zero-padded numbers, a "
	      "lower-case first group of five, no country zz)");
}

static void test_unreadable(void)
{
	static const char u16[] = "m\0a\0i\0l\0 \0b\0o\0b\0@\0x\0.\0i\0o\0";
	static const char nul[] = "hi\0 mail bob@example.com";

	CHECK(!strcmp(tagsn(u16, sizeof(u16) - 1, NULL), "[BINARY]") &&
		      !strcmp(tagsn(nul, sizeof(nul) - 1, NULL), "[BINARY]") &&
		      !strcmp(tagsn(u16, sizeof(u16) - 1, keys), "[BINARY]") &&
		      !strcmp(tagsn("a\x01z", 3, NULL), "[BINARY]"),
	      "a value with control bytes (UTF-16, binary) is replaced whole");
	CHECK(same("a\tb\r\nc \x1b[31mred", "a\tb\r\nc \x1b[31mred"),
	      "tabs, line ends and escape are text");
	CHECK(msk_pii_detect((const uint8_t *)nul, sizeof(nul) - 1) ==
		      MSK_PII_EMAIL,
	      "detection reads past a NUL");
}

static void test_pseudonyms(void)
{
	CHECK(one_token("bob@example.com", "bob\uff20example.com") &&
		      one_token("bob@example.com", "bob%40example.com") &&
		      one_token("bob@example.com", "BOB(at)EXAMPLE.COM") &&
		      one_token("jos\u00e9@example.com",
				"jos\xe9@example.com") &&
		      one_token("jos\u00e9@example.com",
				"jos\\u00e9@example.com") &&
		      one_token("+1 415 555 0142",
				"+1\u00a0415\u00a0555\u00a00142") &&
		      one_token("+14155550142", "%2B14155550142") &&
		      one_token("GB82WEST12345698765432",
				"gb82-west-1234-5698-7654-32"),
	      "one pseudonym per address or number in every spelling");
}

static void test_hostile(void)
{
	size_t n = 1 << 20, i;
	char *big = malloc(n);
	clock_t t0;
	bool ok = big != NULL;

	/* escapes, Latin-1 bytes, look-alikes: fold everything, no crash,
	 * nothing left of the addresses */
	for (i = 0; ok && i + 32 <= n; i += 32)
		memcpy(big + i, "\\u00e9%40\xe9\uff20 a\\ud800%C3b@x.io  ", 32);
	if (ok) {
		ok = msk_pii_redact((const uint8_t *)big, n, MSK_PII_ALL,
				    &ob) == 0 &&
		     ob.len > 0 && !memmem(ob.p, ob.len, "b@x", 3);
	}
	CHECK(ok, "1 MiB of escapes and look-alikes: scanned, replaced");
	for (i = 0; big && i < n; i++)
		big[i] = i % 80 == 79 ? '@' : "a.b=c/d'e"[i % 9];
	CHECK(big && msk_pii_redact((const uint8_t *)big, n, MSK_PII_ALL,
				    &ob) == 0,
	      "1 MiB of local-part characters and '@': linear, no crash");
	/* escaped quotes open no quoted local part: not 1024 bytes read per
	 * quote (that took seconds) */
	for (i = 0; big && i < n; i++)
		big[i] = i % 1000 == 0 ? '@' : "\\\""[i % 2];
	t0 = clock();
	CHECK(big &&
		      msk_pii_redact((const uint8_t *)big, n, MSK_PII_ALL,
				     &ob) == 0 &&
		      (double)(clock() - t0) / CLOCKS_PER_SEC < 2.0,
	      "1 MiB of escaped quotes: linear");
	free(big);
}

int main(void)
{
	static const char secret[] = "0123456789abcdef-test-secret";

	spot_buf_init(&ob);
	if (msk_keys_new((const uint8_t *)secret, sizeof(secret) - 1, &keys)) {
		CHECK(0, "keys");
		return check_done();
	}
	test_look_alikes();
	test_encodings();
	test_local_parts();
	test_ascii_forms();
	test_unreadable();
	test_pseudonyms();
	test_hostile();
	msk_keys_free(keys);
	spot_buf_fini(&ob);
	return check_done();
}

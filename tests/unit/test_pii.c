/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_pii.c - unit tests of the PII detectors added in issue 13 (pii.c,
 * pii_num.c): SSNs written 123 45 6789 or, after "SSN", 123456789; IPv4
 * and IPv6 addresses; URLs carrying credentials; international e-mail
 * addresses and name(at)domain obfuscations; replace: hash (keyed,
 * consistent pseudonyms). Each detector has positives and near misses
 * that must stay as they are; hostile cells (invalid UTF-8, 1 MiB of
 * patterns that start many candidates) must neither crash nor leak.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "methods.h"
#include "spot.h"

static struct msk_keys *keys, *keys2;
static struct spot_buf ob;

static int rule(struct msk_rule *r, enum msk_method m, ...)
{
	struct spot_err err = { "" };
	const char *k;
	va_list ap;
	int rc = 0;

	msk_rule_init(r, m);
	va_start(ap, m);
	while (!rc && (k = va_arg(ap, const char *)))
		rc = msk_rule_set(r, k, va_arg(ap, const char *), &err);
	va_end(ap);
	if (!rc)
		rc = msk_rule_check(r, &err);
	if (rc)
		printf("# rule error: %s\n", err.msg);
	return rc;
}

/* The text with every kind replaced by tags, as a static string. */
static const char *tags(const char *in)
{
	static char s[512];

	spot_buf_reset(&ob);
	if (msk_pii_redact((const uint8_t *)in, strlen(in), MSK_PII_ALL, &ob))
		return "(error)";
	snprintf(s, sizeof(s), "%.*s", (int)ob.len, (const char *)ob.p);
	return s;
}

static bool same(const char *in, const char *want)
{
	const char *got = tags(in);

	if (strcmp(got, want))
		printf("# '%s' -> '%s', want '%s'\n", in, got, want);
	return !strcmp(got, want);
}

/* Unchanged, and no kind detected. */
static bool kept(const char *in)
{
	return same(in, in) &&
	       msk_pii_detect((const uint8_t *)in, strlen(in)) == 0;
}

static unsigned detect(const char *s)
{
	return msk_pii_detect((const uint8_t *)s, strlen(s));
}

static void test_ssn(void)
{
	static const char *const near[] = {
		"order 123456789 shipped",   /* nine digits, no context */
		"call 415 555 0142x",	     /* not SSN-shaped */
		"lessn 123456789",	     /* "ssn" inside a word */
		"SSN 12345678",		     /* eight digits */
		"SSN 000123456",	     /* area 000 */
		"SSN: 900123456",	     /* area 9xx */
		"ssn 123 00 4567",	     /* group 00 */
		"ssn 123 45 0000",	     /* serial 0000 */
		"123 45 67890",		     /* longer */
		"1123 45 6789",		     /* longer */
		"ssn 123-45 6789",	     /* mixed separators */
		"tracking 123456789012345x", /* long number */
	};

	CHECK(same("SSN 123 45 6789.", "SSN [SSN]."), "ssn with spaces");
	CHECK(same("id 123 45 6789", "id [SSN]"),
	      "ddd dd dddd needs no context: the grouping is the SSN's");
	CHECK(same("SSN: 123456789", "SSN: [SSN]") &&
		      same("my social security number is 123456789 ok",
			   "my social security number is [SSN] ok") &&
		      same("ss# 123456789", "ss# [SSN]") &&
		      same("123456789 (SSN)", "[SSN] (SSN)") &&
		      same("Soc. Sec. No 123456789", "Soc. Sec. No [SSN]"),
	      "nine digits after or before SSN context");
	CHECK(same("ssn 123-45-6789", "ssn [SSN]"), "dashed SSN still found");
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(near); i++)
		CHECK(!(detect(near[i]) & MSK_PII_SSN),
		      "no SSN in near miss '%s'", near[i]);
	CHECK(kept("order 123456789 shipped") && kept("lessn 123456789"),
	      "nine digits without context are served as they are");
	/* Context far away (more than 32 bytes before) does not count. */
	CHECK(kept("SSN was asked for, but this is an invoice: 123456789"),
	      "context beyond 32 bytes is not context");
}

static void test_ip(void)
{
	static const char *const near[] = {
		"version 1.2.3.4",
		"Version: 10.0.0.1",
		"v1.2.3.4",
		"build 4.3.2.1",
		"release=1.0.0.12",
		"1.2.3.4.5",
		"oid 1.3.6.1.4.1",
		"999.1.1.1",
		"1.2.3",
		"pi is 3.14",
		"12:30",
		"at 10:30:00 sharp",
		"std::vector",
		"::1",
		"::",
		"mac 00:1a:2b:3c:4d:5e",
		"1:2:3:4:5:6:7:8:9",
		"a:b",
	};

	CHECK(same("server 10.0.0.1 is down", "server [IP] is down") &&
		      same("from 192.168.001.020:8080", "from [IP]:8080") &&
		      same("1.2.3.4", "[IP]") && same("(8.8.8.8)", "([IP])") &&
		      same("ip=172.16.0.5.", "ip=[IP]."),
	      "IPv4 addresses");
	CHECK(same("client 2001:db8::8a2e:370:7334 said", "client [IP] said") &&
		      same("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "[IP]") &&
		      same("[fe80::1ff:fe23:4567:890a]:443", "[[IP]]:443") &&
		      same("mapped ::ffff:192.0.2.128.", "mapped [IP].") &&
		      same("FE80::1FF:FE23:4567:890A", "[IP]"),
	      "IPv6 addresses");
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(near); i++)
		CHECK(kept(near[i]), "no IP in near miss '%s'", near[i]);
}

static void test_url(void)
{
	CHECK(same("see https://bob:hunter2@db.example.com/x?y=1. ok",
		   "see [URL]. ok") &&
		      same("ftp://alice@files.example.org", "[URL]") &&
		      same("<postgres://app:s3cr%40t@10.1.2.3:5432/db>",
			   "<[URL]>") &&
		      same("git clone ssh://git@host.example/repo.git",
			   "git clone [URL]"),
	      "URLs with credentials, whole");
	CHECK(kept("https://www.example.com/path?q=1") &&
		      kept("https://example.com/a@b") &&
		      kept("http://@example.com") && kept("x://"),
	      "URLs without credentials are not personal data");
	CHECK(same("mailto:bob@example.com", "mailto:[EMAIL]"),
	      "mailto: is an e-mail address");
}

static void test_email(void)
{
	static const char *const near[] = {
		"user@localhost", "a@b.c",
		"@handle",	  "price 5@3.50",
		"foo@bar",	  "meet (at) noon",
		"look [at] this", "bob(at)localhost",
		"bob (at)",	  "bob(at",
	};

	CHECK(same("José.García@ejemplo.es", "[EMAIL]") &&
		      same("write 用户@例子.广告 now", "write [EMAIL] now") &&
		      same("info@müller.de", "[EMAIL]") &&
		      same("Пётр@почта.рф, hi", "[EMAIL], hi") &&
		      same("bob@example.xn--p1ai", "[EMAIL]") &&
		      same("Zoë zoë@exämple.org", "Zoë [EMAIL]"),
	      "international e-mail addresses (EAI, IDN)");
	CHECK(same("bob(at)example.com", "[EMAIL]") &&
		      same("bob [at] example [dot] com!", "[EMAIL]!") &&
		      same("Bob {AT} Example.COM", "[EMAIL]") &&
		      same("bob<at>example<dot>co<dot>uk", "[EMAIL]") &&
		      same("mail: j.doe (at) mail.example.org.",
			   "mail: [EMAIL]."),
	      "name(at)domain obfuscations");
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(near); i++)
		CHECK(kept(near[i]), "no e-mail in near miss '%s'", near[i]);
	/* bytes that are not UTF-8 are Latin-1 letters: joined to it */
	CHECK(same("\xff\xfe bob@example.com \xc3", "\xff\xfe [EMAIL] \xc3") &&
		      same("\xff\xfe"
			   "bob@example.com\xc3",
			   "[EMAIL]"),
	      "an address after invalid UTF-8 is still found");
}

/* The token of in under k, from msk_apply of { pii, replace: hash }. */
static const char *pseud(const struct msk_keys *k, const char *in)
{
	static char s[2][512];
	static int which;
	struct msk_rule r;
	enum pipe_type t;
	char *o = s[which ^= 1];

	if (rule(&r, MSK_PII, "replace", "hash", NULL))
		return "(rule)";
	spot_buf_reset(&ob);
	if (msk_apply(&r, k, NULL, (const uint8_t *)in, strlen(in), PIPE_TEXT,
		      &ob, &t))
		snprintf(o, 512, "(error)");
	else
		snprintf(o, 512, "%.*s", (int)ob.len, (const char *)ob.p);
	msk_rule_fini(&r);
	return o;
}

/* What { hash } gives v: the pseudonym's hex part. */
static const char *hash_of(const char *v)
{
	static char s[64];

	spot_buf_reset(&ob);
	if (msk_hash_hex(keys, (const uint8_t *)v, strlen(v), 16, &ob))
		return "(error)";
	snprintf(s, sizeof(s), "%.*s", (int)ob.len, (const char *)ob.p);
	return s;
}

static void test_hash(void)
{
	char want[600], a[512];
	struct msk_rule r;
	enum pipe_type t;
	struct spot_err err = { "" };

	snprintf(want, sizeof(want), "mail [EMAIL:%s] now",
		 hash_of("bob@example.com"));
	CHECK(!strcmp(pseud(keys, "mail bob@example.com now"), want),
	      "a pseudonym is [EMAIL:hash of the address]: %s", want);
	snprintf(a, sizeof(a), "%s", pseud(keys, "Bob@Example.COM"));
	CHECK(!strcmp(a, pseud(keys, "bob (at) example [dot] com")) &&
		      !strcmp(a, pseud(keys, "bob@example.com")),
	      "one address, one token: case and obfuscation do not matter");
	CHECK(strcmp(a, pseud(keys2, "bob@example.com")) != 0,
	      "another secret gives another token");
	CHECK(strcmp(a, pseud(keys, "bob@example.org")) != 0,
	      "another address gives another token");
	snprintf(a, sizeof(a), "%s", pseud(keys, "123-45-6789"));
	CHECK(!strncmp(a, "[SSN:", 5) && !strcmp(a, pseud(keys, "123 45 6789")),
	      "SSN pseudonyms: digits only");
	snprintf(want, sizeof(want), "%s is the SSN", a);
	CHECK(!strcmp(pseud(keys, "123456789 is the SSN"), want),
	      "ssn 123456789 and 123-45-6789 share a token");
	snprintf(a, sizeof(a), "%s", pseud(keys, "host 10.0.0.1"));
	CHECK(!strcmp(a, pseud(keys, "host 010.000.000.001")),
	      "IPv4 pseudonyms from the canonical form");
	snprintf(a, sizeof(a), "%s", pseud(keys, "2001:DB8:0:0::1"));
	CHECK(!strcmp(a, pseud(keys, "2001:db8::1")),
	      "IPv6 pseudonyms from the canonical form");
	snprintf(want, sizeof(want), "[IP:%s]", hash_of("2001:db8::1"));
	CHECK(!strcmp(a, want), "IPv6 canonical is inet_ntop's");
	CHECK(!strcmp(pseud(keys, "+1 415 555 0142"),
		      pseud(keys, "+1 (415) 555-0142")),
	      "phone pseudonyms: digits only");
	CHECK(!strcmp(pseud(keys, "DE89 3704 0044 0532 0130 00"),
		      pseud(keys, "DE89370400440532013000")),
	      "IBAN pseudonyms without blanks");
	CHECK(!strstr(pseud(keys, "x https://u:pw@h.example/p y"), "pw") &&
		      !strstr(pseud(keys, "x 4111 1111 1111 1111 y"), "1111"),
	      "no raw value in a pseudonymised cell");

	CHECK(rule(&r, MSK_PII, "replace", "hash", "length", "32", NULL) == 0,
	      "replace: hash, length: 32");
	spot_buf_reset(&ob);
	CHECK(msk_apply(&r, keys, NULL, (const uint8_t *)"a@b.io", 6, PIPE_TEXT,
			&ob, &t) == 0 &&
		      ob.len == strlen("[EMAIL:]") + 32,
	      "length sets the hex digits");
	spot_buf_reset(&ob);
	CHECK(msk_apply(&r, NULL, NULL, (const uint8_t *)"a@b.io", 6, PIPE_TEXT,
			&ob, &t) == -EINVAL,
	      "replace: hash without keys fails, never falls back");
	msk_rule_fini(&r);
	msk_rule_init(&r, MSK_PII);
	CHECK(msk_rule_set(&r, "replace", "hashed", &err) == -EINVAL &&
		      strstr(err.msg, "tag, hash"),
	      "replace: tag or hash only: %s", err.msg);
	CHECK(msk_rule_set(&r, "detect", "ip,url", &err) == 0 &&
		      r.pii_kinds == (MSK_PII_IP | MSK_PII_URL),
	      "detect: ip, url");
	CHECK(msk_rule_set(&r, "detect", "ipv9", &err) == -EINVAL &&
		      strstr(err.msg, "ip, url"),
	      "detect lists the new kinds: %s", err.msg);
	CHECK(msk_rule_set(&r, "length", "7", &err) == -EINVAL,
	      "length below 8 refused");
	msk_rule_fini(&r);
	CHECK(!strcmp(msk_pii_name(MSK_PII_IP), "ip") &&
		      !strcmp(msk_pii_name(MSK_PII_URL), "url"),
	      "names of the new kinds");
	CHECK(rule(&r, MSK_PII, "detect", "ip", NULL) == 0, "detect: ip");
	spot_buf_reset(&ob);
	CHECK(msk_apply(&r, keys, NULL, (const uint8_t *)"bob@x.org 10.0.0.1",
			18, PIPE_TEXT, &ob, &t) == 0 &&
		      ob.len == strlen("bob@x.org [IP]") &&
		      !memcmp(ob.p, "bob@x.org [IP]", ob.len),
	      "only the kinds asked for");
	msk_rule_fini(&r);
}

/* Every planted value gone from a 1 MiB hostile cell, in bounded time. */
static void test_hostile(void)
{
	static const char *const pats[] = {
		"a:",	   "1.1.1.1.", "-@",	 "((at)",    "x://",
		"\xff@a.", "9 ",       "ab:cd:", "\xe4\xb8", "s://a@",
		"1-",	   "[at]",     "::",	 "0.0.",     "\xc3\xa9",
	};
	static const char plant[] = " bob@example.com 123 45 6789 10.0.0.1 ";
	const size_t n = 1u << 20;
	uint8_t *big = malloc(n);
	size_t i = 0, k = 0;
	clock_t t0;
	bool ok = true;

	if (!big) {
		CHECK(0, "malloc");
		return;
	}
	for (size_t p = 0; p < SPOT_ARRAY_SIZE(pats) && ok; p++) {
		size_t pl = strlen(pats[p]);

		for (i = 0; i + pl <= n; i += pl)
			memcpy(big + i, pats[p], pl);
		memset(big + i, ' ', n - i);
		memcpy(big + n / 2, plant, sizeof(plant) - 1);
		t0 = clock();
		spot_buf_reset(&ob);
		ok = msk_pii_redact(big, n, MSK_PII_ALL, &ob) == 0 &&
		     !memmem(ob.p, ob.len, "bob@example.com", 15) &&
		     !memmem(ob.p, ob.len, "123 45 6789", 11) &&
		     !memmem(ob.p, ob.len, "10.0.0.1 ", 9);
		/* linear: well under a second even under the sanitizers */
		ok = ok && (double)(clock() - t0) / CLOCKS_PER_SEC < 5;
		k = p;
	}
	CHECK(ok,
	      "1 MiB hostile cells: planted values gone, linear time "
	      "(pattern %zu)",
	      k);
	for (i = 0; i < n; i++) /* random bytes */
		big[i] = (uint8_t)(rand() & 0xff);
	spot_buf_reset(&ob);
	CHECK(msk_pii_redact(big, n, MSK_PII_ALL, &ob) == 0,
	      "random bytes do not crash the scanner");
	free(big);
}

int main(void)
{
	static const char secret[] = "0123456789abcdef-test-secret";
	static const char secret2[] = "0123456789abcdef-other-secret";

	spot_buf_init(&ob);
	if (msk_keys_new((const uint8_t *)secret, sizeof(secret) - 1, &keys) ||
	    msk_keys_new((const uint8_t *)secret2, sizeof(secret2) - 1,
			 &keys2)) {
		CHECK(0, "keys");
		return check_done();
	}
	test_ssn();
	test_ip();
	test_url();
	test_email();
	test_hash();
	test_hostile();
	msk_keys_free(keys);
	msk_keys_free(keys2);
	spot_buf_fini(&ob);
	return check_done();
}

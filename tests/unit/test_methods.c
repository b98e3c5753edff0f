/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_methods.c - unit tests of the built-in masking methods (methods.c),
 * the fake dictionaries (fake.c) and the PII detectors (pii.c). Every
 * example documented in the README is checked here exactly.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "methods.h"
#include "spot.h"

static struct spot_buf ob;
static enum pipe_type ot;
static struct msk_keys *keys, *keys2;
static const struct msk_cell cell0 = { "customers.csv", "salary", 0, NULL, 0 };

/* A rule from (key, value) pairs ending with NULL; checked. */
static void rule(struct msk_rule *r, enum msk_method m, ...)
{
	struct spot_err err = { "" };
	const char *k, *v;
	va_list ap;
	int rc = 0;

	msk_rule_init(r, m);
	va_start(ap, m);
	while (!rc && (k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		rc = msk_rule_set(r, k, v, &err);
	}
	va_end(ap);
	if (!rc)
		rc = msk_rule_check(r, &err);
	if (rc)
		printf("# rule error: %s\n", err.msg);
}

static int run_n(const struct msk_rule *r, const struct msk_keys *k,
		 const struct msk_cell *c, const void *in, size_t len,
		 enum pipe_type t)
{
	spot_buf_reset(&ob);
	ot = (enum pipe_type)99;
	return msk_apply(r, k, c, in, len, t, &ob, &ot);
}

static int run(const struct msk_rule *r, const char *in)
{
	return run_n(r, keys, &cell0, in, strlen(in), PIPE_TEXT);
}

static bool out_is(const char *s)
{
	bool ok = ob.len == strlen(s) && memcmp(ob.p, s, ob.len) == 0;

	if (!ok)
		printf("# got '%.*s' want '%s'\n", (int)ob.len,
		       ob.p ? (const char *)ob.p : "", s);
	return ok;
}

/* apply r to in and compare with want */
static bool eq(const struct msk_rule *r, const char *in, const char *want)
{
	return run(r, in) == 0 && ot == PIPE_TEXT && out_is(want);
}

static char *out_dup(void)
{
	char *s = malloc(ob.len + 1);

	if (!s)
		abort();
	memcpy(s, ob.p ? (const char *)ob.p : "", ob.len);
	s[ob.len] = 0;
	return s;
}

static bool contains(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle), i;

	for (i = 0; m && i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return true;
	return false;
}

static bool is_hex(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		      (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

static void test_keys_and_names(void)
{
	struct msk_keys *k = NULL;
	enum msk_method m;
	int i;

	CHECK(msk_keys_new((const uint8_t *)"short", 5, &k) == -EINVAL && !k,
	      "a secret under 16 bytes is refused");
	msk_keys_free(NULL);
	for (i = 0; i < MSK_METHOD_COUNT; i++)
		if (msk_method_parse(msk_method_name((enum msk_method)i), &m) ||
		    (int)m != i)
			break;
	CHECK(i == MSK_METHOD_COUNT, "every method name parses back");
	CHECK(msk_method_parse("sha1", &m) == -ENOENT, "unknown method");
	CHECK(!strcmp(msk_method_name(MSK_GENERALIZE), "generalize"),
	      "method name");
}

static void test_hash(void)
{
	struct msk_rule r, r8, r40, r128, rt;
	char *a, *b;

	rule(&r, MSK_HASH, NULL);
	rule(&r8, MSK_HASH, "length", "8", NULL);
	rule(&r128, MSK_HASH, "length", "128", NULL);
	CHECK(run(&r, "alice@example.com") == 0 && ob.len == 16 &&
		      is_hex(ob.p, ob.len) && ot == PIPE_TEXT,
	      "hash: 16 lowercase hex characters by default");
	a = out_dup();
	run(&r, "alice@example.com");
	CHECK(!strcmp(a, (char *)ob.p), "hash: deterministic");
	run_n(&r, keys, NULL, "alice@example.com", 17, PIPE_BLOB);
	CHECK(!strcmp(a, (char *)ob.p), "hash: same without a cell / as blob");
	{
		struct msk_cell other = { "orders.parquet", "buyer", 99, NULL,
					  0 };

		run_n(&r, keys, &other, "alice@example.com", 17, PIPE_TEXT);
		CHECK(!strcmp(a, (char *)ob.p),
		      "hash: same in another dataset and column (joins work)");
	}
	run_n(&r, keys2, &cell0, "alice@example.com", 17, PIPE_TEXT);
	CHECK(strcmp(a, (char *)ob.p) != 0, "hash: another secret differs");
	run(&r, "alice@example.con");
	CHECK(strcmp(a, (char *)ob.p) != 0, "hash: another value differs");
	CHECK(run(&r8, "alice@example.com") == 0 && ob.len == 8 &&
		      !strncmp(a, (char *)ob.p, 8),
	      "hash length 8 is a prefix of length 16");
	CHECK(run(&r128, "alice@example.com") == 0 && ob.len == 128 &&
		      is_hex(ob.p, 128) && !strncmp(a, (char *)ob.p, 16),
	      "hash length 128");
	/*
	 * Known answers, from tests/unit/hash_reference.py (SipHash-2-4 and
	 * the key derivation written in Python from their specifications).
	 */
	CHECK(!strcmp(a, "d485be83f6b708e1"),
	      "hash: the reference value (hash_reference.py)");
	rule(&r40, MSK_HASH, "length", "40", NULL);
	CHECK(eq(&r40, "alice@example.com",
		 "d485be83f6b708e1c289ce0d53b6bf78b334932c"),
	      "hash length 40: three SipHash blocks, as the reference");
	msk_rule_fini(&r40);
	CHECK(eq(&r, "x", "5d5fc10ee7f241da") &&
		      eq(&r, "a value of 23 bytes ok.", "67c8b36199ca6176"),
	      "hash: reference values of a 1-byte and a 23-byte value");
	CHECK(run_n(&r, keys, NULL, "42", 2, PIPE_INT) == 0 && ot == PIPE_TEXT,
	      "hash of an INT is TEXT");
	CHECK(run_n(&r, NULL, NULL, "x", 1, PIPE_TEXT) == -EINVAL,
	      "hash without keys is -EINVAL");

	rule(&rt, MSK_TOKENIZE, NULL);
	CHECK(run(&rt, "alice@example.com") == 0 && ob.len == 20 &&
		      !memcmp(ob.p, "tok_", 4) && is_hex(ob.p + 4, 16),
	      "tokenize: tok_ + 16 hex");
	CHECK(strcmp(a, (char *)ob.p + 4) != 0,
	      "tokenize uses another key than hash");
	CHECK(!strcmp((char *)ob.p, "tok_d19b85e3ed61c7c2"),
	      "tokenize: the reference value (hash_reference.py)");
	b = out_dup();
	run_n(&rt, keys2, NULL, "alice@example.com", 17, PIPE_TEXT);
	CHECK(strcmp(b, (char *)ob.p) != 0, "tokenize: another secret differs");
	msk_rule_fini(&rt);
	rule(&rt, MSK_TOKENIZE, "prefix", "cust-", "length", "10", NULL);
	CHECK(run(&rt, "alice@example.com") == 0 && ob.len == 15 &&
		      !memcmp(ob.p, "cust-", 5) && is_hex(ob.p + 5, 10),
	      "tokenize: custom prefix and length");
	free(a);
	free(b);
	msk_rule_fini(&rt);
}

static void test_mask(void)
{
	struct msk_rule r, rc, rx, ru;

	rule(&r, MSK_MASK, "pattern", "***-**-####", NULL);
	CHECK(eq(&r, "123-45-6789", "***-**-6789"), "mask ssn with dashes");
	CHECK(eq(&r, "123456789", "***-**-6789"), "mask ssn without dashes");
	CHECK(eq(&r, "00123-45-6789", "*****-**-6789"),
	      "mask: extra leading characters are masked");
	CHECK(eq(&r, "45-6789", "**-6789"), "mask: pattern cut on the left");
	CHECK(eq(&r, "6789", "6789"), "mask: value no longer than the # run");
	rule(&rc, MSK_MASK, "pattern", "**** **** **** ####", NULL);
	CHECK(eq(&rc, "4111 1111 1111 1234", "**** **** **** 1234"),
	      "mask card with spaces");
	CHECK(eq(&rc, "4111111111111234", "**** **** **** 1234"),
	      "mask card without spaces");
	rule(&rx, MSK_MASK, "pattern", "***-**-####", "char", "X", NULL);
	CHECK(eq(&rx, "123-45-6789", "XXX-XX-6789"), "mask with char X");
	rule(&ru, MSK_MASK, "pattern", "**#", NULL);
	CHECK(eq(&ru, "h\xc3\xa9llo", "****o"),
	      "mask: a two-byte character is one mask character");
	CHECK(eq(&ru, "\xe6\x97\xa5\xe6\x9c\xac", "*\xe6\x9c\xac"),
	      "mask: # keeps a whole multi-byte character");
	CHECK(eq(&ru,
		 "\xff\xfe"
		 "12",
		 "***2"),
	      "mask: invalid bytes count as one character each");
	CHECK(eq(&ru, "\xe2\x82", "*\x82"),
	      "mask: a truncated sequence is two characters");
	msk_rule_fini(&r);
	msk_rule_fini(&rc);
	msk_rule_fini(&rx);
	msk_rule_fini(&ru);
}

static void test_partial(void)
{
	struct msk_rule r4, rf, rb;

	rule(&r4, MSK_PARTIAL, "keep_last", "4", NULL);
	rule(&rf, MSK_PARTIAL, "keep_first", "1", NULL);
	rule(&rb, MSK_PARTIAL, "keep_first", "2", "keep_last", "2", "char", "#",
	     NULL);
	CHECK(eq(&r4, "4111111111111111", "************1111"),
	      "partial keep_last 4");
	CHECK(eq(&rf, "Bob", "B**"), "partial keep_first 1");
	CHECK(eq(&rb, "abcdef", "ab##ef"), "partial both ends, char #");
	CHECK(eq(&r4, "1234", "**34"),
	      "partial: keeping all would reveal everything: half is kept");
	CHECK(eq(&rb, "abcd", "##cd"), "partial: half, the end first");
	CHECK(eq(&rb, "abc", "##c"), "partial: half rounds down");
	CHECK(eq(&rf, "x", "*"), "partial: one character is masked");
	CHECK(eq(&rf,
		 "Zo\xc3\xab \xc3\x91"
		 "and\xc3\xba",
		 "Z********"),
	      "partial: UTF-8 characters, length kept in characters");
	CHECK(eq(&r4, "abc\xc3\xb1\xc3\xa9xy", "***\xc3\xb1\xc3\xa9xy"),
	      "partial keep_last 4 over multi-byte characters");
	CHECK(eq(&r4, "\xff\xff\xff\xff\xff\xff\xff\xff",
		 "****\xff\xff\xff\xff"),
	      "partial over invalid bytes");
	msk_rule_fini(&r4);
	msk_rule_fini(&rf);
	msk_rule_fini(&rb);
}

/*
 * Round 10: the domain kept is the host name right after the '@'; nothing
 * around the address is kept, and a value with no address keeps nothing.
 */
static void test_email_not_one_address(const struct msk_rule *r,
				       const struct msk_rule *rh)
{
	static const char *const none[] = {
		"5@3.50",
		"a@1.2.3.4",
		"a@[10.0.0.1]",
		"a@localhost",
		"a@b.c",
		"a@.example.com",
		"a@example..com",
		"a@-example.com",
		"a@example-.com",
		"a@exa_mple.com",
		"a@example\xef\xbc\x8e"
		"com", /* a fullwidth full stop */
		"a@ example.com",
		"a@",
		"@",
		"meet @ noon (at) 5",
	};
	/* {value, served}: the address masked, what is around it dropped */
	static const char *const tail[][2] = {
		{ "alice@example.com (Bob Jones, 555-0142)",
		  "a***@example.com" },
		{ "alice@example.com ssn 123-45-6789", "a***@example.com" },
		{ "bob@example.com Alice Smith", "b***@example.com" },
		{ "Alice Smith alice@example.com", "a***@example.com" },
		{ "Bob Jones <bob@example.com>", "b***@example.com" },
		{ "bob@example.com,carol@example.org", "c***@example.org" },
		{ "alice@example.com (call me @home)", "a***@example.com" },
		{ "a@example.com\xc2\xa0"
		  "Bob\xc2\xa0"
		  "Jones",
		  "a***@example.com" },
		{ "a@example.com\xe3\x80\x80"
		  "Bob",
		  "a***@example.com" },
		{ "a@example.com\xe2\x80\x8b"
		  "Bob",
		  "a***@example.com" },
		{ "a@example.com\xff", "a***@example.com" },
		{ "a@example.com\nBob Jones", "a***@example.com" },
		{ "a@example.com/x", "a***@example.com" },
		{ "a@example.com.", "a***@example.com" },
		{ "a@example.com-", "a***@example.com" },
		{ "a\tb@example.com", "b***@example.com" },
		{ " alice@example.com \t\r\n", "a***@example.com" },
		{ "\"b@c\"@x.org", "***@x.org" },
	};
	char label[80];

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(none); i++) {
		CHECK(eq(r, none[i], "***"), "email: no address: [%s]",
		      none[i]);
		CHECK(eq(rh, none[i], "***"),
		      "email domain hash: no address: [%s]", none[i]);
	}
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(tail); i++) {
		char *want;

		CHECK(eq(r, tail[i][0], tail[i][1]),
		      "email: only the address: [%s]", tail[i][0]);
		const char *at = strchr(tail[i][1], '@'), *got;

		run(rh, tail[i][1]); /* the same domain's hash */
		want = out_dup();
		got = run(rh, tail[i][0]) == 0 ? strchr((char *)ob.p, '@')
					       : NULL;
		CHECK(got && !strcmp(got, strchr(want, '@')) &&
			      got - (char *)ob.p == at - tail[i][1] &&
			      !memcmp(ob.p, tail[i][1],
				      (size_t)(at - tail[i][1])),
		      "email domain hash: only the address: [%s]", tail[i][0]);
		free(want);
	}
	CHECK(eq(r, "jos\xc3\xa9@ejemplo.es", "j***@ejemplo.es"),
	      "email: UTF-8 local part");
	CHECK(eq(r, "\xc3\xa9lise.m@example.org", "\xc3\xa9***@example.org"),
	      "email: a UTF-8 letter first");
	CHECK(eq(r,
		 "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
		 "\xe5\xb9\xbf\xe5\x91\x8a",
		 "\xe7\x94\xa8***@\xe4\xbe\x8b\xe5\xad\x90."
		 "\xe5\xb9\xbf\xe5\x91\x8a"),
	      "email: UTF-8 domain");
	CHECK(eq(r, "a@xn--80ak6aa92e.xn--p1ai",
		 "a***@xn--80ak6aa92e.xn--p1ai"),
	      "email: punycode labels");
	CHECK(eq(r, "a.b+c@mail-1.Example.co.uk", "a***@mail-1.Example.co.uk"),
	      "email: hyphens, digits and case in the domain");
	snprintf(label, sizeof(label), "a@%063d.com", 0);
	CHECK(eq(r, label,
		 "a***@000000000000000000000000000000"
		 "000000000000000000000000000000000.com"),
	      "email: a label of 63 characters");
	snprintf(label, sizeof(label), "a@%064d.com", 0);
	CHECK(eq(r, label, "***"), "email: a label of 64 characters");
}

static void test_email_redact_null(void)
{
	struct msk_rule r, rh, rr, rt, rn;
	char *a;

	rule(&r, MSK_EMAIL, NULL);
	rule(&rh, MSK_EMAIL, "domain", "hash", NULL);
	CHECK(eq(&r, "john.doe@example.com", "j***@example.com"),
	      "email keeps the domain");
	CHECK(eq(&r, "nobody", "***"), "email: no @ gives ***");
	CHECK(eq(&r, "@example.com", "***@example.com"), "email: empty local");
	CHECK(eq(&r, "\xc3\xa9lise@example.org", "\xc3\xa9***@example.org"),
	      "email: first character is a UTF-8 character");
	CHECK(eq(&r, "a\"b@c\"@x.org", "***@x.org"),
	      "email: the last @, the local part the atext before it");
	CHECK(run(&rh, "john.doe@example.com") == 0 &&
		      ob.len == 4 + 1 + 8 + 8 && !memcmp(ob.p, "j***@", 5) &&
		      is_hex(ob.p + 5, 8) && !memcmp(ob.p + 13, ".invalid", 8),
	      "email domain hash: j***@<8 hex>.invalid");
	CHECK(!strcmp((char *)ob.p, "j***@c88bfaf9.invalid"),
	      "email domain hash: the reference value (hash_reference.py)");
	a = out_dup();
	run(&rh, "Jane@EXAMPLE.com");
	CHECK(!strcmp(a + 4, (char *)ob.p + 4),
	      "email domain hash ignores case");
	run_n(&rh, keys2, NULL, "john.doe@example.com", 20, PIPE_TEXT);
	CHECK(strcmp(a, (char *)ob.p) != 0,
	      "email domain hash: another secret differs");
	free(a);
	{
		/*
		 * A domain too long to lower-case on the stack: 4 labels of
		 * "A" + 59 "é" (60 characters, 119 bytes each) + ".com":
		 * 247 characters, 483 bytes.
		 */
		char up[600], low[600];
		size_t n = 2;

		memcpy(up, "j@", 2);
		for (int l = 0; l < 4; l++) {
			up[n++] = 'A';
			for (int c = 0; c < 59; c++, n += 2)
				memcpy(up + n, "\xc3\xa9", 2);
			up[n++] = '.';
		}
		memcpy(up + n, "com", 4);
		memcpy(low, up, n + 4);
		for (size_t i = 0; i < n; i++)
			if (low[i] == 'A')
				low[i] = 'a';
		run(&rh, low);
		a = out_dup();
		CHECK(run(&rh, up) == 0 && !strcmp(a, (char *)ob.p) &&
			      ob.len == 21,
		      "email domain hash: a 483-byte domain ignores case too");
		free(a);
		/* The same with a 64-character label is no host name. */
		up[2] = '-';
		CHECK(eq(&rh, up, "***"),
		      "email domain hash: a label may not start with '-'");
	}
	test_email_not_one_address(&r, &rh);

	rule(&rr, MSK_REDACT, NULL);
	rule(&rt, MSK_REDACT, "text", "[X]", NULL);
	CHECK(eq(&rr, "secret", "[REDACTED]"), "redact default text");
	CHECK(eq(&rt, "secret", "[X]"), "redact custom text");
	rule(&rn, MSK_NULL, NULL);
	CHECK(run(&rn, "secret") == 0 && ot == PIPE_NULL && ob.len == 0,
	      "null gives NULL");
	CHECK(run(&rn, "") == 0 && ot == PIPE_NULL && ob.len == 0,
	      "null gives NULL for an empty value too");
	msk_rule_fini(&r);
	msk_rule_fini(&rh);
	msk_rule_fini(&rr);
	msk_rule_fini(&rt);
	msk_rule_fini(&rn);
}

static bool digits_at(const uint8_t *p, const char *shape)
{
	size_t i;

	for (i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? !(p[i] >= '0' && p[i] <= '9')
				    : p[i] != (uint8_t)shape[i])
			return false;
	}
	return true;
}

static void test_fake(void)
{
	static const char *const kinds[] = {
		"name", "first_name", "last_name", "email", "phone",
		"city", "company",    "address",   "ssn"
	};
	struct msk_rule r[SPOT_ARRAY_SIZE(kinds)];
	char *first, *name;
	size_t i, j, differ = 0, distinct = 0;
	char *prev = NULL;

	for (i = 0; i < SPOT_ARRAY_SIZE(kinds); i++) {
		char *a;

		rule(&r[i], MSK_FAKE, "kind", kinds[i], NULL);
		CHECK(run(&r[i], "Alice Example") == 0 && ob.len > 0 &&
			      ot == PIPE_TEXT,
		      "fake %s gives a value", kinds[i]);
		a = out_dup();
		run(&r[i], "Alice Example");
		CHECK(!strcmp(a, (char *)ob.p), "fake %s is deterministic",
		      kinds[i]);
		printf("# fake %s: %s\n", kinds[i], a);
		free(a);
	}
	run(&r[1], "Alice Example");
	first = out_dup();
	run(&r[0], "Alice Example");
	name = out_dup();
	CHECK(!strncmp(name, first, strlen(first)) &&
		      name[strlen(first)] == ' ',
	      "fake name starts with fake first_name of the same value");
	run(&r[8], "123-45-6789");
	CHECK(ob.len == 11 && ob.p[0] == '9' &&
		      digits_at(ob.p, "ddd-dd-dddd") &&
		      memcmp(ob.p + 4, "00", 2) && memcmp(ob.p + 7, "0000", 4),
	      "fake ssn is 9dd-dd-dddd with non-zero group and serial");
	run(&r[4], "415 555 0100");
	CHECK(ob.len == 14 && digits_at(ob.p, "(ddd) 555-01dd"),
	      "fake phone is (ddd) 555-01dd");
	run(&r[3], "bob@corp.com");
	CHECK(contains((char *)ob.p, ob.len, "@example."),
	      "fake email uses an example domain");
	for (i = 0; i < 20; i++) {
		char v[32], *a;

		snprintf(v, sizeof(v), "person-%zu", i);
		run(&r[0], v);
		a = out_dup();
		if (!prev || strcmp(a, prev))
			distinct++;
		free(prev);
		prev = a;
		run_n(&r[0], keys2, NULL, v, strlen(v), PIPE_TEXT);
		if (strcmp(a, (char *)ob.p))
			differ++;
	}
	CHECK(differ >= 15, "fake: another secret gives other names (%zu/20)",
	      differ);
	CHECK(distinct >= 15, "fake: other values give other names (%zu/20)",
	      distinct);
	for (j = 0; j < SPOT_ARRAY_SIZE(kinds); j++)
		msk_rule_fini(&r[j]);
	free(first);
	free(name);
	free(prev);
}

static void test_generalize(void)
{
	struct msk_rule ry, rm, rr, rp, rs;

	rule(&ry, MSK_GENERALIZE, "to", "year", NULL);
	rule(&rm, MSK_GENERALIZE, "to", "month", NULL);
	rule(&rr, MSK_GENERALIZE, "to", "range", "step", "10", NULL);
	rule(&rp, MSK_GENERALIZE, "to", "prefix", "keep", "3", NULL);
	rule(&rs, MSK_GENERALIZE, "to", "range", "step", "0.5", NULL);
	CHECK(eq(&ry, "1984-07-23", "1984"), "generalize year");
	CHECK(eq(&ry, "1984/07/23", "1984"), "generalize year of Y/M/D");
	CHECK(eq(&ry, "1984-07-23T10:30:00Z", "1984"), "year of ISO stamp");
	CHECK(eq(&ry, "1984-07-23 10:30:00.123+02:00", "1984"),
	      "year of a timestamp with fraction and zone");
	CHECK(eq(&rm, "1984-07-23", "1984-07"), "generalize month");
	CHECK(eq(&rm, "2000-02-29 23:59", "2000-02"), "month of a leap day");
	CHECK(run(&ry, "1984-13-01") == -EINVAL, "month 13 is refused");
	CHECK(run(&ry, "1900-02-29") == -EINVAL, "1900-02-29 is refused");
	CHECK(run(&ry, "1984-07-23X") == -EINVAL, "trailing junk is refused");
	CHECK(run(&ry, "23/07/1984") == -EINVAL && ob.len == 0,
	      "unparseable date is -EINVAL, nothing written");
	CHECK(eq(&rr, "34", "30-39"), "range of an integer");
	CHECK(run_n(&rr, NULL, NULL, "34", 2, PIPE_INT) == 0 &&
		      ot == PIPE_TEXT && out_is("30-39"),
	      "range of an INT (no keys needed)");
	CHECK(eq(&rr, "34.5", "30-40"), "range of a real");
	CHECK(eq(&rr, "-5", "-10--1"), "range of a negative integer");
	CHECK(eq(&rr, "-34.5", "-40--30"), "range of a negative real");
	CHECK(eq(&rr, "40", "40-49"), "range: boundary goes up");
	CHECK(eq(&rr, " 7 ", "0-9"), "range: blanks around are allowed");
	CHECK(eq(&rs, "3.7", "3.5-4"), "range with step 0.5");
	CHECK(run(&rr, "abc") == -EINVAL && run(&rr, "1e999") == -EINVAL &&
		      run(&rr, "nan") == -EINVAL && run(&rr, "0x10") == -EINVAL,
	      "range refuses non-numbers, inf, nan, hex");
	CHECK(run(&rr, "-9223372036854775808") == -EINVAL,
	      "range: int64 overflow is -EINVAL");
	CHECK(eq(&rp, "94107", "941**"), "prefix keep 3");
	CHECK(eq(&rp, "941", "9**"), "prefix: a short value keeps half");
	CHECK(run_n(&rp, NULL, NULL, "94107", 5, PIPE_INT) == 0 &&
		      ot == PIPE_TEXT && out_is("941**"),
	      "prefix of an INT is TEXT");
	msk_rule_fini(&ry);
	msk_rule_fini(&rm);
	msk_rule_fini(&rr);
	msk_rule_fini(&rp);
	msk_rule_fini(&rs);
}

static bool is_date(const uint8_t *p, size_t n)
{
	return n == 10 && digits_at(p, "dddd-dd-dd");
}

static void test_noise(void)
{
	struct msk_rule r, rd, rr, rs;
	struct msk_cell c = cell0;
	char *a;
	size_t i, differ = 0, moved = 0, bad = 0;
	double sum = 0, sum_abs = 0;
	const int n = 4000;

	rule(&r, MSK_NOISE, "epsilon", "1", "sensitivity", "1000", NULL);
	CHECK(run_n(&r, keys, &c, "50000", 5, PIPE_INT) == 0 &&
		      ot == PIPE_INT && strtol((char *)ob.p, NULL, 10) != 50000,
	      "noise on an INT gives an INT");
	a = out_dup();
	run_n(&r, keys, &c, "50000", 5, PIPE_INT);
	CHECK(!strcmp(a, (char *)ob.p), "noise is stable for the same cell");
	run_n(&r, keys2, &c, "50000", 5, PIPE_INT);
	CHECK(strcmp(a, (char *)ob.p) != 0, "noise: another secret differs");
	c.column = "bonus";
	run_n(&r, keys, &c, "50000", 5, PIPE_INT);
	CHECK(strcmp(a, (char *)ob.p) != 0, "noise: another column differs");
	c = cell0;
	c.dataset = "other.csv";
	run_n(&r, keys, &c, "50000", 5, PIPE_INT);
	CHECK(strcmp(a, (char *)ob.p) != 0, "noise: another dataset differs");
	c = cell0;
	for (i = 1; i <= 10; i++) {
		c.row = i;
		run_n(&r, keys, &c, "50000", 5, PIPE_INT);
		differ += strcmp(a, (char *)ob.p) != 0;
	}
	CHECK(differ >= 9, "noise differs per row (%zu/10)", differ);
	free(a);
	CHECK(run_n(&r, keys, NULL, "5", 1, PIPE_INT) == -EINVAL,
	      "noise needs a cell");
	CHECK(run_n(&r, keys, &c, "five", 4, PIPE_TEXT) == -EINVAL,
	      "noise on text is -EINVAL");
	CHECK(run_n(&r, keys, &c, "34.50", 5, PIPE_REAL) == 0 &&
		      ot == PIPE_REAL && ob.len > 3 && ob.p[ob.len - 3] == '.',
	      "noise on a REAL keeps two decimals");
	CHECK(run_n(&r, keys, &c, "1.5e3", 5, PIPE_REAL) == 0 &&
		      ot == PIPE_REAL && strtod((char *)ob.p, NULL) != 1500,
	      "noise on a REAL with exponent");
	CHECK(run_n(&r, keys, &c, "12", 2, PIPE_TEXT) == 0 && ot == PIPE_TEXT &&
		      strchr((char *)ob.p, '.') == NULL,
	      "noise on integer text stays integer text");
	rule(&rs, MSK_NOISE, "epsilon", "1", "sensitivity", "1", NULL);
	CHECK(run_n(&rs, keys, &c, "123456789012345678901234567890.5", 32,
		    PIPE_REAL) == 0 &&
		      ot == PIPE_REAL && ob.len == 32 &&
		      !memcmp(ob.p, "1234567890123456789012345", 25) &&
		      ob.p[30] == '.',
	      "noise past a double's precision keeps every digit");
	CHECK(run_n(&rs, keys, &c, "12345678901234567890", 20, PIPE_INT) == 0 &&
		      ot == PIPE_INT && ob.len == 20 &&
		      !memcmp(ob.p, "1234567890123456", 16) &&
		      strchr((char *)ob.p, '.') == NULL,
	      "noise on an integer past int64 is whole and exact");
	for (i = 0, bad = 0, moved = 0, differ = 0; i < 100; i++) {
		c.row = i;
		if (run_n(&r, keys, &c, "9223372036854775000", 19, PIPE_INT)) {
			differ++; /* refused: past int64 */
			continue;
		}
		errno = 0;
		(void)strtoll((char *)ob.p, NULL, 10);
		bad += errno != 0;
		moved++;
	}
	CHECK(!bad && moved > 10 && differ > 10,
	      "noise on an int64 stays within int64 or is refused (%zu/%zu)",
	      moved, differ);
	c = cell0;
	bad = moved = differ = 0;
	CHECK(run_n(&rs, keys, &c, "1234567890123456789012345678901234567", 37,
		    PIPE_INT) == -EINVAL &&
		      run_n(&rs, keys, &c, "1e300", 5, PIPE_REAL) == -EINVAL &&
		      run_n(&rs, keys, &c, "1e400", 5, PIPE_REAL) == -EINVAL,
	      "noise refuses numbers past 36 digits");
	msk_rule_fini(&rs);

	/* Laplace(0, b): mean 0, mean absolute value b. */
	rule(&rr, MSK_NOISE, "epsilon", "0.5", "sensitivity", "5", NULL);
	for (i = 0; i < (size_t)n; i++) {
		double x;

		c.row = i;
		if (run_n(&rr, keys, &c, "100.000", 7, PIPE_REAL)) {
			bad++;
			continue;
		}
		x = strtod((char *)ob.p, NULL) - 100.0;
		sum += x;
		sum_abs += fabs(x);
	}
	printf("# noise mean %.3f mean |x| %.3f (scale 10)\n", sum / n,
	       sum_abs / n);
	CHECK(!bad && fabs(sum / n) < 0.6 && fabs(sum_abs / n - 10) < 0.8,
	      "noise is Laplace with scale sensitivity/epsilon");

	rule(&rd, MSK_NOISE, "sensitivity", "30", NULL);
	for (i = 0, bad = 0; i < 200; i++) {
		c.row = i;
		if (run_n(&rd, keys, &c, "2020-02-29", 10, PIPE_TEXT) ||
		    !is_date(ob.p, ob.len) || ot != PIPE_TEXT)
			bad++;
		else
			moved += memcmp(ob.p, "2020-02-29", 10) != 0;
	}
	CHECK(!bad && moved > 150, "noise shifts dates by whole days (%zu)",
	      moved);
	CHECK(run_n(&rd, keys, &c, "2020/02/29", 10, PIPE_TEXT) == 0 &&
		      ob.len == 10 && ob.p[4] == '/' && ob.p[7] == '/',
	      "noise keeps the date separator");
	CHECK(run_n(&rd, keys, &c, "2020-02-30", 10, PIPE_TEXT) == -EINVAL,
	      "noise refuses an invalid date");
	msk_rule_fini(&r);
	msk_rule_fini(&rd);
	msk_rule_fini(&rr);
}

static bool redacts(unsigned kinds, const char *in, const char *want)
{
	spot_buf_reset(&ob);
	return msk_pii_redact((const uint8_t *)in, strlen(in), kinds, &ob) ==
		       0 &&
	       out_is(want);
}

static unsigned detect(const char *s)
{
	return msk_pii_detect((const uint8_t *)s, strlen(s));
}

static void test_pii(void)
{
	static const char *const no_pii[] = {
		"Order 12345 shipped on 2024-01-15 at 10:30.",
		"4111 1111 1111 1112", /* Luhn fails */
		"000-12-3456",
		"666-12-3456",
		"912-34-5678", /* areas */
		"123-00-4567",
		"123-45-0000", /* group, serial */
		"123-45-67890",
		"A123-45-6789",
		"DE88 3704 0044 0532 0130 00", /* bad check digits */
		"GB82 WEST 1234 5698 7654 33",
		"call 555-0142",			   /* 7 digits */
		"1 2 1 2 1 2 1 2 1 2 1 2 1 2 1 2 1 2 1 2", /* short groups */
		"user@localhost",
		"a@b.c",
		"version 1.2.3.4",
		"+12 345",
		"",
	};
	struct msk_rule r;
	size_t i;

	CHECK(detect("write to bob.smith+tag@mail.example.co.uk today") ==
		      MSK_PII_EMAIL,
	      "detect email");
	CHECK(detect("(415) 555-0142") == MSK_PII_PHONE &&
		      detect("415-555-0142") == MSK_PII_PHONE &&
		      detect("415.555.0142") == MSK_PII_PHONE &&
		      detect("4155550142") == MSK_PII_PHONE &&
		      detect("1-800-555-0199") == MSK_PII_PHONE &&
		      detect("+44 20 7946 0958") == MSK_PII_PHONE &&
		      detect("+1 (415) 555-0142") == MSK_PII_PHONE,
	      "detect phones: NANP and E.164");
	CHECK(detect("4111 1111 1111 1111") == MSK_PII_CARD &&
		      detect("4111-1111-1111-1111") == MSK_PII_CARD &&
		      detect("378282246310005") == MSK_PII_CARD &&
		      detect("3782 822463 10005") == MSK_PII_CARD &&
		      detect("card:5555555555554444.") == MSK_PII_CARD &&
		      detect("4111 1111 1111 1111 2024") == MSK_PII_CARD,
	      "detect Luhn-valid cards");
	CHECK(detect("ssn 123-45-6789") == MSK_PII_SSN &&
		      detect("899-99-9999") == MSK_PII_SSN,
	      "detect SSN");
	CHECK(detect("DE89 3704 0044 0532 0130 00") == MSK_PII_IBAN &&
		      detect("GB82WEST12345698765432") == MSK_PII_IBAN &&
		      detect("iban: GB82 WEST 1234 5698 7654 32 is mine") ==
			      MSK_PII_IBAN &&
		      detect("NO9386011117947") == MSK_PII_IBAN,
	      "detect mod-97 valid IBANs");
	for (i = 0; i < SPOT_ARRAY_SIZE(no_pii); i++)
		CHECK(detect(no_pii[i]) == 0, "no PII in '%s'", no_pii[i]);
	CHECK(detect("x@y.org 4111111111111111 123-45-6789") ==
		      (MSK_PII_EMAIL | MSK_PII_CARD | MSK_PII_SSN),
	      "detect several kinds");
	CHECK(redacts(MSK_PII_ALL,
		      "Mail bob@example.com or call (415) 555-0142.",
		      "Mail [EMAIL] or call [PHONE]."),
	      "redact email and phone");
	CHECK(redacts(MSK_PII_ALL,
		      "card 4111 1111 1111 1111, ssn 123-45-6789, iban "
		      "DE89 3704 0044 0532 0130 00!",
		      "card [CARD], ssn [SSN], iban [IBAN]!"),
	      "redact card, ssn, iban");
	CHECK(redacts(MSK_PII_EMAIL, "bob@example.com 415-555-0142",
		      "[EMAIL] 415-555-0142"),
	      "redact only the kinds asked for");
	CHECK(redacts(MSK_PII_ALL, "nothing here", "nothing here"),
	      "text without PII is copied");
	CHECK(!strcmp(msk_pii_name(MSK_PII_IBAN), "iban") &&
		      !strcmp(msk_pii_name(3), "unknown"),
	      "pii names");

	rule(&r, MSK_PII, "detect", "email, ssn", NULL);
	CHECK(eq(&r, "a@b.io 123-45-6789 (415) 555-0142",
		 "[EMAIL] [SSN] (415) 555-0142"),
	      "pii method with detect: email, ssn");
	CHECK(run_n(&r, keys, NULL, "x@y.org", 7, PIPE_BLOB) == 0 &&
		      ot == PIPE_TEXT && out_is("[EMAIL]"),
	      "pii on a BLOB gives TEXT");
	msk_rule_fini(&r);
}

/* set one parameter, expect rc and a message containing want */
static bool bad_param(enum msk_method m, const char *k, const char *v,
		      int want_rc, const char *want)
{
	struct spot_err err = { "" };
	struct msk_rule r;
	int rc;

	msk_rule_init(&r, m);
	rc = msk_rule_set(&r, k, v, &err);
	msk_rule_fini(&r);
	if (rc != want_rc || !strstr(err.msg, want)) {
		printf("# rc %d msg '%s'\n", rc, err.msg);
		return false;
	}
	return true;
}

static bool bad_rule(enum msk_method m, const char *want)
{
	struct spot_err err = { "" };
	struct msk_rule r;
	int rc;

	msk_rule_init(&r, m);
	rc = msk_rule_check(&r, &err);
	msk_rule_fini(&r);
	if (rc != -EINVAL || !strstr(err.msg, want)) {
		printf("# rc %d msg '%s'\n", rc, err.msg);
		return false;
	}
	return true;
}

static void test_params(void)
{
	struct msk_rule a, b;
	struct spot_err err;

	CHECK(bad_param(MSK_MASK, "patern", "*", -ENOENT,
			"mask: unknown parameter 'patern' (accepted: "
			"pattern, char)"),
	      "unknown key names the key and the accepted keys");
	CHECK(bad_param(MSK_KEEP, "length", "8", -ENOENT,
			"takes no parameters"),
	      "keep takes no parameters");
	CHECK(bad_param(MSK_HASH, "keep_last", "4", -ENOENT,
			"accepted: length"),
	      "a key of another method is unknown");
	CHECK(bad_param(MSK_PARTIAL, "keep_last", "abc", -EINVAL,
			"keep_last: expected a whole number 0..1000000"),
	      "keep_last not a number");
	CHECK(bad_param(MSK_PARTIAL, "keep_first", "-1", -EINVAL,
			"keep_first: expected a whole number") &&
		      bad_param(MSK_PARTIAL, "keep_first", "1000001", -EINVAL,
				"0..1000000") &&
		      bad_param(MSK_PARTIAL, "keep_first",
				"99999999999999999999", -EINVAL, "0..1000000"),
	      "keep_first out of range");
	CHECK(bad_param(MSK_HASH, "length", "7", -EINVAL, "8..128") &&
		      bad_param(MSK_HASH, "length", "129", -EINVAL, "8..128") &&
		      bad_param(MSK_HASH, "length", "", -EINVAL, "8..128"),
	      "hash length out of range");
	CHECK(bad_param(MSK_MASK, "char", "ab", -EINVAL, "char:") &&
		      bad_param(MSK_MASK, "char", "", -EINVAL, "char:") &&
		      bad_param(MSK_MASK, "char", "\xc3\xa9", -EINVAL, "char:"),
	      "char must be one ASCII character");
	CHECK(bad_param(MSK_MASK, "pattern", "", -EINVAL, "pattern") &&
		      bad_param(MSK_MASK, "pattern", "\xff*", -EINVAL, "UTF-8"),
	      "bad patterns");
	CHECK(bad_param(MSK_EMAIL, "domain", "drop", -EINVAL,
			"domain: expected one of keep, hash"),
	      "bad email domain");
	CHECK(bad_param(MSK_GENERALIZE, "to", "week", -EINVAL,
			"year, month, range, prefix"),
	      "bad generalize to");
	CHECK(bad_param(MSK_FAKE, "kind", "alien", -EINVAL, "first_name"),
	      "bad fake kind lists the kinds");
	CHECK(bad_param(MSK_NOISE, "epsilon", "0", -EINVAL, "epsilon:") &&
		      bad_param(MSK_NOISE, "epsilon", "-1", -EINVAL,
				"above 0") &&
		      bad_param(MSK_NOISE, "epsilon", "nan", -EINVAL, "") &&
		      bad_param(MSK_NOISE, "sensitivity", "1x", -EINVAL,
				"sensitivity:") &&
		      bad_param(MSK_GENERALIZE, "step", "inf", -EINVAL,
				"step:"),
	      "bad numbers");
	CHECK(bad_param(MSK_PII, "detect", "email,passport", -EINVAL,
			"detect:") &&
		      bad_param(MSK_PII, "detect", ",", -EINVAL, "detect:"),
	      "bad detect list");
	CHECK(bad_rule(MSK_MASK, "'pattern' is required") &&
		      bad_rule(MSK_PARTIAL, "'keep_first' or 'keep_last'") &&
		      bad_rule(MSK_FAKE, "'kind' is required") &&
		      bad_rule(MSK_GENERALIZE, "'to' is required"),
	      "rules missing a required parameter are refused");
	msk_rule_init(&a, MSK_NOISE);
	a.noise_epsilon = 0;
	CHECK(msk_rule_check(&a, &err) == -EINVAL && strstr(err.msg, "epsilon"),
	      "noise needs epsilon > 0");
	msk_rule_init(&a, MSK_REDACT);
	CHECK(msk_rule_set(&a, "text", "[A]", &err) == 0 &&
		      msk_rule_set(&a, "text", "[B]", &err) == 0 &&
		      msk_rule_copy(&b, &a) == 0 && b.text != a.text &&
		      !strcmp(b.text, "[B]") && b.text_len == 3,
	      "rule copy is deep; setting twice replaces");
	msk_rule_fini(&a);
	CHECK(eq(&b, "x", "[B]"), "the copy outlives the original");
	msk_rule_fini(&b);
	msk_rule_fini(&b);
}

/* One valid rule per method, for the tests that loop over methods. */
static void all_rules(struct msk_rule r[MSK_METHOD_COUNT])
{
	rule(&r[MSK_KEEP], MSK_KEEP, NULL);
	rule(&r[MSK_HASH], MSK_HASH, NULL);
	rule(&r[MSK_TOKENIZE], MSK_TOKENIZE, NULL);
	rule(&r[MSK_MASK], MSK_MASK, "pattern", "***-**-####", NULL);
	rule(&r[MSK_PARTIAL], MSK_PARTIAL, "keep_last", "2", NULL);
	rule(&r[MSK_EMAIL], MSK_EMAIL, "domain", "hash", NULL);
	rule(&r[MSK_REDACT], MSK_REDACT, NULL);
	rule(&r[MSK_NULL], MSK_NULL, NULL);
	rule(&r[MSK_FAKE], MSK_FAKE, "kind", "name", NULL);
	rule(&r[MSK_GENERALIZE], MSK_GENERALIZE, "to", "prefix", NULL);
	rule(&r[MSK_NOISE], MSK_NOISE, NULL);
	rule(&r[MSK_PII], MSK_PII, NULL);
	rule(&r[MSK_FPE], MSK_FPE, NULL);
	rule(&r[MSK_SHIFT], MSK_SHIFT, "max", "30d", NULL);
	rule(&r[MSK_TRUNCATE], MSK_TRUNCATE, "to", "day", NULL);
	rule(&r[MSK_ROUND], MSK_ROUND, NULL);
	rule(&r[MSK_SCRAMBLE], MSK_SCRAMBLE, NULL);
}

static void free_rules(struct msk_rule r[MSK_METHOD_COUNT])
{
	int i;

	for (i = 0; i < MSK_METHOD_COUNT; i++)
		msk_rule_fini(&r[i]);
}

static void test_null_empty(void)
{
	static const enum pipe_type types[] = { PIPE_TEXT, PIPE_INT, PIPE_REAL,
						PIPE_BLOB };
	struct msk_rule r[MSK_METHOD_COUNT];
	int i, bad_null = 0, bad_empty = 0;
	size_t t;

	all_rules(r);
	for (i = 0; i < MSK_METHOD_COUNT; i++) {
		if (run_n(&r[i], keys, &cell0, "x", 0, PIPE_NULL) ||
		    ot != PIPE_NULL || ob.len)
			bad_null++;
		for (t = 0; t < SPOT_ARRAY_SIZE(types); t++) {
			enum pipe_type want =
				i == MSK_NULL ? PIPE_NULL : types[t];

			if (run_n(&r[i], keys, &cell0, "", 0, types[t]) ||
			    ot != want || ob.len)
				bad_empty++;
		}
	}
	CHECK(!bad_null, "NULL stays NULL for every method");
	CHECK(!bad_empty, "empty stays empty for every method but null");
	CHECK(run_n(&r[MSK_KEEP], NULL, NULL, "a\0b", 3, PIPE_BLOB) == 0 &&
		      ot == PIPE_BLOB && ob.len == 3 &&
		      !memcmp(ob.p, "a\0b", 3),
	      "keep copies bytes and type, NUL included");
	spot_buf_reset(&ob);
	spot_buf_append(&ob, "prefix", 6);
	CHECK(msk_apply(&r[MSK_NOISE], keys, &cell0, (const uint8_t *)"x", 1,
			PIPE_TEXT, &ob, &ot) == -EINVAL &&
		      ob.len == 6 && !memcmp(ob.p, "prefix", 6),
	      "a failed apply leaves the buffer as it was");
	spot_buf_reset(&ob);
	spot_buf_append(&ob, "A", 1);
	CHECK(msk_apply(&r[MSK_REDACT], keys, NULL, (const uint8_t *)"x", 1,
			PIPE_TEXT, &ob, &ot) == 0 &&
		      out_is("A[REDACTED]"),
	      "apply appends to the caller's buffer");
	free_rules(r);
}

/* Masked output must not contain the raw value. */
static void test_no_raw_value(void)
{
	static const char *const values[] = {
		"alice.smith@example.com", "123-45-6789",
		"4111111111111111",	   "Johnathan Appleseed",
		"+1 415 555 0142",	   "1984-07-23",
		"Gr\xc3\xbc\xc3\x9f Gott", "bob@corp.example.org",
	};
	static const enum msk_method methods[] = { MSK_HASH,  MSK_TOKENIZE,
						   MSK_MASK,  MSK_PARTIAL,
						   MSK_EMAIL, MSK_REDACT,
						   MSK_FAKE,  MSK_NULL };
	struct msk_rule r[MSK_METHOD_COUNT];
	size_t i, j;
	int leaks = 0, fails = 0;

	all_rules(r);
	for (i = 0; i < SPOT_ARRAY_SIZE(methods); i++) {
		for (j = 0; j < SPOT_ARRAY_SIZE(values); j++) {
			if (run(&r[methods[i]], values[j])) {
				fails++;
				continue;
			}
			if (contains((char *)ob.p, ob.len, values[j])) {
				printf("# %s leaks value %zu\n",
				       msk_method_name(methods[i]), j);
				leaks++;
			}
		}
	}
	CHECK(!fails && !leaks,
	      "hash/tokenize/mask/partial/email/redact/fake/null never "
	      "output the raw value");
	free_rules(r);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

/* Random bytes through every method: no crash, only 0 or -EINVAL. */
static void test_random_input(void)
{
	static const uint8_t alphabet[] = "09-./@ :T+aZ\xc3\xa9\xe2\x82\xac"
					  "\xf0\x9f\x98\x80\xff\x80\xc0";
	struct msk_rule r[MSK_METHOD_COUNT], all_hash, all_star, keep0;
	char hashes[65];
	uint8_t v[48];
	int i, bad_rc = 0, bad_u8 = 0;
	struct spot_buf b2;

	all_rules(r);
	memset(hashes, '#', 64);
	hashes[64] = 0;
	rule(&all_hash, MSK_MASK, "pattern", hashes, NULL);
	memset(hashes, '*', 64);
	rule(&all_star, MSK_MASK, "pattern", hashes, NULL);
	rule(&keep0, MSK_GENERALIZE, "to", "prefix", "keep", "0", NULL);
	spot_buf_init(&b2);
	for (i = 0; i < 20000; i++) {
		size_t len = rng() % sizeof(v), j;
		int m;
		struct msk_cell c = { "d", "c", (uint64_t)i, NULL, 0 };

		for (j = 0; j < len; j++)
			v[j] = (rng() % 4) ? alphabet[rng() %
						      (sizeof(alphabet) - 1)]
					   : (uint8_t)rng();
		for (m = 0; m < MSK_METHOD_COUNT; m++) {
			int rc = run_n(&r[m], keys, &c, v, len,
				       (enum pipe_type)(rng() % 4));

			if (rc && rc != -EINVAL)
				bad_rc++;
		}
		/* The backward UTF-8 walk agrees with the forward one. */
		run_n(&all_hash, keys, NULL, v, len, PIPE_TEXT);
		if (ob.len != len || (len && memcmp(ob.p, v, len)))
			bad_u8++;
		run_n(&all_star, keys, NULL, v, len, PIPE_TEXT);
		spot_buf_reset(&b2);
		b2.len = ob.len;
		if (ob.len) {
			spot_buf_reserve(&b2, ob.len);
			memcpy(b2.p, ob.p, ob.len);
		}
		run_n(&keep0, keys, NULL, v, len, PIPE_TEXT);
		if (ob.len != b2.len || (ob.len && memcmp(ob.p, b2.p, ob.len)))
			bad_u8++;
	}
	CHECK(!bad_rc, "random input: every method returns 0 or -EINVAL");
	CHECK(!bad_u8, "random input: UTF-8 walks agree both ways");
	spot_buf_fini(&b2);
	msk_rule_fini(&all_hash);
	msk_rule_fini(&all_star);
	msk_rule_fini(&keep0);
	free_rules(r);
}

/* group: one key per group name, whatever the column; default unchanged. */
static void test_group(void)
{
	static const enum msk_method ms[] = { MSK_HASH, MSK_TOKENIZE,
					      MSK_FAKE };
	const struct msk_cell other = { "orders.csv", "customer_email", 9, NULL,
					0 };
	int same = 0, apart = 0, def = 0;

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(ms); i++) {
		struct msk_rule d, g1, g1b, g2;
		const char *kind = ms[i] == MSK_FAKE ? "kind" : NULL;
		char *od, *o1, *o1b, *o2;

		rule(&d, ms[i], kind, "email", NULL);
		rule(&g1, ms[i], "group", "customer", kind, "email", NULL);
		rule(&g1b, ms[i], "group", "customer", kind, "email", NULL);
		rule(&g2, ms[i], "group", "supplier", kind, "email", NULL);
		run(&d, "ann@example.org");
		od = out_dup();
		run(&g1, "ann@example.org");
		o1 = out_dup();
		run_n(&g1b, keys, &other, "ann@example.org", 15, PIPE_TEXT);
		o1b = out_dup();
		run(&g2, "ann@example.org");
		o2 = out_dup();
		same += !strcmp(o1, o1b);
		apart += strcmp(o1, o2) != 0;
		def += strcmp(o1, od) != 0 && strcmp(o2, od) != 0;
		free(od);
		free(o1);
		free(o1b);
		free(o2);
		msk_rule_fini(&d);
		msk_rule_fini(&g1);
		msk_rule_fini(&g1b);
		msk_rule_fini(&g2);
	}
	CHECK(same == 3, "group: one group, one output in any column");
	CHECK(apart == 3, "group: two groups, unrelated outputs");
	CHECK(def == 3, "group: grouped outputs differ from the default's");
	CHECK(bad_param(MSK_MASK, "group", "x", -ENOENT, "unknown") &&
		      bad_param(MSK_HASH, "group", "a b", -EINVAL, "group:"),
	      "group: only for hash, tokenize, fake and fpe; a name");
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Not a CHECK: sanitizer builds are slow. The rate is printed. */
static void bench_hash(void)
{
	enum { NV = 1024, ROUNDS = 300 };
	static char v[NV][24];
	static size_t vl[NV];
	struct msk_rule r;
	double t0, dt;
	int i, j;

	rule(&r, MSK_HASH, NULL);
	for (i = 0; i < NV; i++)
		vl[i] = (size_t)snprintf(v[i], sizeof(v[i]),
					 "user%d@example.com", i);
	t0 = cpu_now();
	for (j = 0; j < ROUNDS; j++) {
		for (i = 0; i < NV; i++) {
			spot_buf_reset(&ob);
			msk_apply(&r, keys, NULL, (const uint8_t *)v[i], vl[i],
				  PIPE_TEXT, &ob, &ot);
		}
	}
	dt = cpu_now() - t0;
	printf("# hash: %.2f M values/s (CPU time)\n",
	       (double)NV * ROUNDS / dt / 1e6);
	msk_rule_fini(&r);
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
	test_keys_and_names();
	test_hash();
	test_mask();
	test_partial();
	test_email_redact_null();
	test_fake();
	test_generalize();
	test_noise();
	test_pii();
	test_params();
	test_null_empty();
	test_no_raw_value();
	test_random_input();
	test_group();
	bench_hash();
	msk_keys_free(keys);
	msk_keys_free(keys2);
	spot_buf_fini(&ob);
	return check_done();
}

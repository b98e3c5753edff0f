/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_jsonl.c - the JSON Lines codec (tokenizer, paths, string codec)
 * and the JSON Lines view build through the table of formats.
 */
#include "jsonl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "format.h"

/* ---- the tokenizer ---- */

/* Parse s; the result (1, 0 or -EINVAL), the error and its byte. */
static int parse(const char *s, size_t len, enum jsonl_err *e, size_t *at)
{
	struct jsonl_paths *t = NULL;
	struct jsonl_parser *p = NULL;
	int rc;

	if (jsonl_paths_new(&t) || jsonl_parser_new(t, true, &p))
		abort();
	rc = jsonl_parse(p, (const uint8_t *)s, len);
	*e = jsonl_parser_error(p, at);
	jsonl_parser_free(p);
	jsonl_paths_free(t);
	return rc;
}

static int ps(const char *s, enum jsonl_err *e, size_t *at)
{
	return parse(s, strlen(s), e, at);
}

static void test_accept(void)
{
	static const char *const ok[] = {
		"{}",
		" { } \r",
		"{\"a\":1}",
		"{\"a\":[1,2,[3,{}],{\"b\":null}],\"c\":true,\"d\":false}",
		"{\"n\":-0,\"m\":1.5e+10,\"k\":2E-3,\"j\":0.0}",
		"{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}",
		"{\"z\":\"\\u0000\"}",
		"{\"u\":\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
		"{\"\":1}",
	};
	enum jsonl_err e;
	size_t at;

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(ok); i++)
		CHECK(ps(ok[i], &e, &at) == 1, "accepted: %s", ok[i]);
	CHECK(ps("", &e, &at) == 0 && ps(" \t\r", &e, &at) == 0,
	      "a line of white space holds no record");
}

static void test_reject(void)
{
	static const struct {
		const char *s;
		enum jsonl_err e;
		size_t at;
	} bad[] = {
		{ "[1]", JSONL_E_NOT_OBJECT, 0 },
		{ "  \"x\"", JSONL_E_NOT_OBJECT, 2 },
		{ "{\"a\":1} x", JSONL_E_TRAILING, 8 },
		{ "{\"a\":1}{}", JSONL_E_TRAILING, 7 },
		{ "{\"a\":\"xyz", JSONL_E_UNTERM, 9 },
		{ "{\"a\":1", JSONL_E_EOL, 6 },
		{ "{\"a\":", JSONL_E_EOL, 5 },
		{ "{\"a\" 1}", JSONL_E_SYNTAX, 5 },
		{ "{a:1}", JSONL_E_SYNTAX, 1 },
		{ "{\"a\":1,}", JSONL_E_SYNTAX, 7 },
		{ "{\"a\":[1,]}", JSONL_E_SYNTAX, 8 },
		{ "{\"a\":01}", JSONL_E_SYNTAX, 6 },
		{ "{\"a\":1.}", JSONL_E_NUMBER, 7 },
		{ "{\"a\":.5}", JSONL_E_SYNTAX, 5 },
		{ "{\"a\":-}", JSONL_E_NUMBER, 6 },
		{ "{\"a\":1e}", JSONL_E_NUMBER, 7 },
		{ "{\"a\":NaN}", JSONL_E_SYNTAX, 5 },
		{ "{\"a\":tru}", JSONL_E_LITERAL, 5 },
		{ "{\"a\":nul", JSONL_E_LITERAL, 5 },
		{ "{\"a\":\"\\x\"}", JSONL_E_ESCAPE, 6 },
		{ "{\"a\":\"\\u12\"}", JSONL_E_ESCAPE, 6 },
		{ "{\"a\":\"\\ud800\"}", JSONL_E_SURROGATE, 6 },
		{ "{\"a\":\"\\udc00\"}", JSONL_E_SURROGATE, 6 },
		{ "{\"a\":\"\\ud800\\u0041\"}", JSONL_E_SURROGATE, 6 },
		{ "{\"a\":\"x\ty\"}", JSONL_E_CONTROL, 7 },
		{ "{\"a\":\"\xc0\x80\"}", JSONL_E_UTF8, 6 },
		{ "{\"a\":\"\xe0\x80\x80\"}", JSONL_E_UTF8, 6 },
		{ "{\"a\":\"\xed\xa0\x80\"}", JSONL_E_UTF8, 6 },
		{ "{\"a\":\"\xf4\x90\x80\x80\"}", JSONL_E_UTF8, 6 },
		{ "{\"a\":\"\xc3\"}", JSONL_E_UTF8, 6 },
		{ "{\"a\":\"\xff\"}", JSONL_E_UTF8, 6 },
		{ "{\"\xff\":1}", JSONL_E_UTF8, 2 },
		{ "{\"a\":1,\"a\":2}", JSONL_E_DUPKEY, 7 },
		{ "{\"email\":1,\"em\\u0061il\":2}", JSONL_E_DUPKEY, 11 },
		{ "{\"a\":{\"b\":1,\"c\":2,\"b\":3}}", JSONL_E_DUPKEY, 18 },
	};
	enum jsonl_err e;
	size_t at;

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(bad); i++) {
		int rc = ps(bad[i].s, &e, &at);

		CHECK(rc == -EINVAL && e == bad[i].e && at == bad[i].at,
		      "refused #%zu: %s at %zu (got %d, %s at %zu)", i,
		      jsonl_err_text(bad[i].e), bad[i].at, rc,
		      jsonl_err_text(e), at);
	}
	CHECK(ps("{\"a\":{\"b\":1},\"c\":{\"b\":1}}", &e, &at) == 1 &&
		      ps("{\"a\":[{\"b\":1},{\"b\":2}]}", &e, &at) == 1,
	      "one key in two objects is no duplicate");
	CHECK(parse("{\"a\":\"\0\"}", 9, &e, &at) == -EINVAL &&
		      e == JSONL_E_CONTROL,
	      "a raw NUL in a string is refused");
}

/* {"a": then arrays '[' and their ']' and '}'. */
static size_t nest(char *s, int arrays)
{
	size_t n = 0;

	memcpy(s, "{\"a\":", 5);
	n = 5;
	for (int i = 0; i < arrays; i++)
		s[n++] = '[';
	for (int i = 0; i < arrays; i++)
		s[n++] = ']';
	s[n++] = '}';
	return n;
}

static void test_depth(void)
{
	char s[2 * JSONL_MAX_DEPTH + 16];
	enum jsonl_err e;
	size_t n, at;

	n = nest(s, JSONL_MAX_DEPTH - 1); /* the record + 63 arrays */
	CHECK(parse(s, n, &e, &at) == 1, "64 levels of nesting are fine");
	n = nest(s, JSONL_MAX_DEPTH);
	CHECK(parse(s, n, &e, &at) == -EINVAL && e == JSONL_E_DEPTH &&
		      at == 4 + JSONL_MAX_DEPTH,
	      "65 levels are refused at the 65th: %s at %zu", jsonl_err_text(e),
	      at);
}

static void test_deep_hostile(void)
{
	size_t n = 1 << 20;
	char *s = malloc(n);
	enum jsonl_err e;
	size_t at;

	memcpy(s, "{\"a\":", 5);
	memset(s + 5, '[', n - 5);
	CHECK(parse(s, n, &e, &at) == -EINVAL && e == JSONL_E_DEPTH,
	      "a million '[' end at the depth limit, no recursion");
	free(s);
}

static void test_paths(void)
{
	static const char rec[] = "{\"user\":{\"em\\u0061il\":\"x\"},"
				  "\"messages\":[{\"content\":\"c\"}],"
				  "\"m\":[[1]],\"e\":{},\"f\":[]}";
	static const char *const want[] = { "user.email", "messages[].content",
					    "m[][]" };
	struct jsonl_paths *t = NULL;
	struct jsonl_parser *p = NULL;
	const struct jsonl_leaf *ls;
	struct spot_buf b;
	size_t n;
	int rc;

	spot_buf_init(&b);
	if (jsonl_paths_new(&t) || jsonl_parser_new(t, true, &p))
		abort();
	rc = jsonl_parse(p, (const uint8_t *)rec, strlen(rec));
	ls = jsonl_parser_leaves(p, &n);
	CHECK(rc == 1 && n == 5 && ls[3].kind == JSONL_EMPTY &&
		      ls[4].kind == JSONL_EMPTY &&
		      !memcmp(rec + ls[3].off, "{}", 2),
	      "five leaves: empty containers are leaves of kind EMPTY, "
	      "spanning the whole container");
	for (size_t i = 0; rc == 1 && i < n && i < 3; i++) {
		spot_buf_reset(&b);
		jsonl_paths_name(t, ls[i].node, &b);
		CHECK(b.len == strlen(want[i]) && !memcmp(b.p, want[i], b.len),
		      "leaf %zu is %s (decoded keys)", i, want[i]);
		CHECK(jsonl_paths_is_leaf(t, ls[i].node), "and marked a leaf");
	}
	CHECK(ls[0].kind == JSONL_STR && ls[2].kind == JSONL_NUM &&
		      ls[2].is_int &&
		      !memcmp(rec + ls[0].off, "\"x\"", ls[0].end - ls[0].off),
	      "kinds and spans of the leaves");
	jsonl_parser_free(p);
	/* A read-only parser does not add paths: a new one is stale. */
	if (jsonl_parser_new(t, false, &p))
		abort();
	CHECK(jsonl_parse(p, (const uint8_t *)"{\"user\":{\"email\":\"y\"}}",
			  22) == 1,
	      "a known path parses read-only");
	CHECK(jsonl_parse(p, (const uint8_t *)"{\"zz\":1}", 8) == -EINVAL &&
		      jsonl_parser_error(p, &n) == JSONL_E_STALE,
	      "an unknown path is JSONL_E_STALE read-only");
	jsonl_parser_free(p);
	jsonl_paths_free(t);
	spot_buf_fini(&b);
}

/* The outermost non-empty arrays, with their bytes and paths. */
static void test_arrays(void)
{
	static const char rec[] = "{\"a\":[1,[2,\"]\"]],\"b\":{\"c\":[],"
				  "\"d\":[{\"e\":[3]}]},\"f\":{\"g\":1}}";
	struct jsonl_paths *t = NULL;
	struct jsonl_parser *p = NULL;
	const struct jsonl_span *sp;
	struct spot_buf b;
	size_t n = 0;
	uint32_t e, pe, pd;

	spot_buf_init(&b);
	if (jsonl_paths_new(&t) || jsonl_parser_new(t, true, &p))
		abort();
	CHECK(jsonl_parse(p, (const uint8_t *)rec, strlen(rec)) == 1,
	      "the record parses");
	sp = jsonl_parser_arrays(p, &n);
	CHECK(n == 2, "two outermost non-empty arrays (not [] nor inner ones)");
	if (n == 2) {
		CHECK(sp[0].end - sp[0].off == 11 &&
			      !memcmp(rec + sp[0].off, "[1,[2,\"]\"]]", 11),
		      "the first spans its brackets (a ] in a string too)");
		jsonl_paths_name(t, sp[1].node, &b);
		CHECK(b.len == 3 && !memcmp(b.p, "b.d", 3) &&
			      !memcmp(rec + sp[1].off, "[{\"e\":[3]}]",
				      sp[1].end - sp[1].off),
		      "the second is b.d, by its path");
		e = jsonl_parser_leaves(p, &n)[4].node; /* b.d[].e[] */
		pe = jsonl_paths_parent(t, e);		/* b.d[].e */
		pd = jsonl_paths_parent(t, pe);		/* b.d[] */
		CHECK(jsonl_paths_is_elem(t, e) &&
			      !jsonl_paths_is_elem(t, pe) &&
			      jsonl_paths_is_elem(t, pd) &&
			      jsonl_paths_parent(t, pd) == sp[1].node,
		      "parents and array elements of b.d[].e[]");
	}
	CHECK(jsonl_parse(p, (const uint8_t *)"{\"x\":1}", 7) == 1 &&
		      (jsonl_parser_arrays(p, &n), n == 0),
	      "a record without arrays has none (the list is per record)");
	jsonl_parser_free(p);
	jsonl_paths_free(t);
	spot_buf_fini(&b);
}

/* The kinds of values a path holds, as a discovery pass marks them. */
static void test_kinds(void)
{
	static const char *const recs[] = {
		"{\"i\":1,\"d\":1.5,\"b\":1234567890123456789,\"s\":\"x\"}",
		"{\"i\":null,\"d\":-2,\"b\":1,\"s\":3}",
	};
	static const unsigned want[] = {
		JSONL_K(JSONL_NUM) | JSONL_K(JSONL_NULL),
		JSONL_K(JSONL_NUM) | JSONL_K_FRAC,
		JSONL_K(JSONL_NUM) | JSONL_K_BIGINT,
		JSONL_K(JSONL_STR) | JSONL_K(JSONL_NUM),
	};
	struct jsonl_paths *t = NULL, *m = NULL;
	struct jsonl_parser *p = NULL;
	const struct jsonl_leaf *ls;
	size_t n;

	if (jsonl_paths_new(&t) || jsonl_paths_new(&m) ||
	    jsonl_parser_new(t, true, &p))
		abort();
	for (size_t i = 0; i < 2; i++)
		CHECK(jsonl_parse(p, (const uint8_t *)recs[i],
				  strlen(recs[i])) == 1,
		      "record %zu parses", i);
	CHECK(jsonl_paths_merge(m, t) == 0, "the kinds merge");
	ls = jsonl_parser_leaves(p, &n);
	for (size_t i = 0; i < 4 && i < n; i++)
		CHECK(jsonl_paths_kinds(t, ls[i].node) == want[i] &&
			      jsonl_paths_kinds(m, ls[i].node) == want[i],
		      "kinds of leaf %zu: %#x (merged too)", i,
		      jsonl_paths_kinds(t, ls[i].node));
	CHECK(jsonl_parse(p, (const uint8_t *)"{\"e\":{},\"f\":[]}", 15) == 1,
	      "empty containers parse");
	ls = jsonl_parser_leaves(p, &n);
	CHECK(n == 2 &&
		      jsonl_paths_kinds(t, ls[0].node) ==
			      (JSONL_K(JSONL_EMPTY) | JSONL_K_EMPTY_OBJ) &&
		      jsonl_paths_kinds(t, ls[1].node) ==
			      (JSONL_K(JSONL_EMPTY) | JSONL_K_EMPTY_ARR),
	      "{} is marked apart from []");
	jsonl_parser_free(p);
	jsonl_paths_free(t);
	jsonl_paths_free(m);
}

/* Finds keys holding ':' (a stand-in detector), counts its calls. */
static unsigned keys_seen;
static unsigned colon_key(const uint8_t *p, size_t len)
{
	keys_seen++;
	return memchr(p, ':', len) ? 1u : 0u;
}

/* jsonl_paths_keys_match: every decoded key on its own, at any depth. */
static void test_keys_match(void)
{
	static const char *const recs[] = {
		"{\"id\":1,\"hits\":{\"2001\\u003adb8\":5}}",
		"{\"id\":1,\"a\":[{\"b\":{\"x:y\":{}}}]}",
		"{\"id\":1,\"a.b\":{\"c\":[1]}}",
	};
	static const unsigned want[] = { 1, 1, 0 };

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(recs); i++) {
		struct jsonl_paths *t = NULL;
		struct jsonl_parser *p = NULL;

		if (jsonl_paths_new(&t) || jsonl_parser_new(t, true, &p))
			abort();
		CHECK(jsonl_parse(p, (const uint8_t *)recs[i],
				  strlen(recs[i])) == 1,
		      "record %zu parses", i);
		keys_seen = 0;
		CHECK(jsonl_paths_keys_match(t, colon_key) == want[i],
		      "record %zu: a key with ':' found (decoded, nested, in "
		      "arrays) or none",
		      i);
		CHECK(i != 2 || keys_seen == 3,
		      "keys only, each once: id, a.b, c (%u)", keys_seen);
		jsonl_parser_free(p);
		jsonl_paths_free(t);
	}
}

/* A record of n distinct top-level keys: the result and the error. */
static int parse_keys(int n, enum jsonl_err *e)
{
	struct jsonl_paths *t = NULL;
	struct jsonl_parser *p = NULL;
	struct spot_buf s;
	size_t at;
	int rc;

	spot_buf_init(&s);
	spot_buf_putc(&s, '{');
	for (int i = 0; i < n; i++)
		spot_buf_printf(&s, "%s\"k%d\":1", i ? "," : "", i);
	spot_buf_putc(&s, '}');
	if (jsonl_paths_new(&t) || jsonl_parser_new(t, true, &p))
		abort();
	rc = jsonl_parse(p, s.p, s.len);
	*e = jsonl_parser_error(p, &at);
	jsonl_parser_free(p);
	jsonl_paths_free(t);
	spot_buf_fini(&s);
	return rc;
}

static void test_many_paths(void)
{
	enum jsonl_err e;
	int rc;

	rc = parse_keys(JSONL_MAX_PATHS, &e);
	CHECK(rc == 1 && e == JSONL_OK,
	      "exactly %d distinct paths are accepted", JSONL_MAX_PATHS);
	rc = parse_keys(JSONL_MAX_PATHS + 1, &e);
	CHECK(rc == -EINVAL && e == JSONL_E_PATHS,
	      "%d distinct paths are refused", JSONL_MAX_PATHS + 1);
	rc = parse_keys(JSONL_MAX_PATHS + 10, &e);
	CHECK(rc == -EINVAL && e == JSONL_E_PATHS,
	      "more than %d distinct paths are refused", JSONL_MAX_PATHS);
}

/* ---- the string codec ---- */

static void test_strings(void)
{
	static const uint8_t raw[] = "q\"b\\s/\n\r\t\x01\x7f\xc3\xa9\xff\xc3 z";
	struct spot_buf enc, dec;
	enum jsonl_err e;
	size_t at;
	char line[256];

	spot_buf_init(&enc);
	spot_buf_init(&dec);
	jsonl_str_encode(raw, sizeof(raw) - 1, &enc);
	spot_buf_putc(&enc, 0);
	CHECK(!strcmp((char *)enc.p, "\"q\\\"b\\\\s/\\n\\r\\t\\u0001\x7f"
				     "\xc3\xa9\\ufffd\\ufffd z\""),
	      "encode: escapes, valid UTF-8 kept, the rest U+FFFD: %s",
	      (char *)enc.p);
	snprintf(line, sizeof(line), "{\"a\":%s}", (char *)enc.p);
	CHECK(ps(line, &e, &at) == 1, "the encoded string is valid JSON");
	CHECK(!jsonl_str_decode(enc.p, enc.len - 1, &dec) &&
		      dec.len == sizeof(raw) - 1 - 2 + 6 &&
		      !memcmp(dec.p, raw, 11),
	      "decode gives the bytes back (invalid ones as U+FFFD)");
	spot_buf_reset(&dec);
	CHECK(!jsonl_str_decode((const uint8_t *)"\"a\\u0000b\\ud83d\\ude00\"",
				22, &dec) &&
		      dec.len == 7 && !memcmp(dec.p, "a\0b\xf0\x9f\x98\x80", 7),
	      "decode: \\u0000 is a NUL byte, a pair is one code point");
	CHECK(jsonl_str_decode((const uint8_t *)"\"a", 2, &dec) == -EINVAL,
	      "decode refuses an unterminated token");
	CHECK(jsonl_is_number((const uint8_t *)"-1.5e3", 6) &&
		      !jsonl_is_number((const uint8_t *)"1,5", 3) &&
		      !jsonl_is_number((const uint8_t *)"inf", 3) &&
		      !jsonl_is_number((const uint8_t *)"", 0),
	      "the JSON number grammar");
	spot_buf_fini(&enc);
	spot_buf_fini(&dec);
}

/*
 * The string scan runs over 16 and 8 bytes at a time: a byte that ends
 * the run (quote, escape, control, non-ASCII) at every place of a long
 * string, the string's end near the end of the line too, is seen.
 */
static void test_string_runs(void)
{
	static const struct {
		const char *b;
		int rc;
		enum jsonl_err e;
	} cases[] = {
		{ "\\n", 1, JSONL_OK },
		{ "\xc3\xa9", 1, JSONL_OK },
		{ "\x01", -EINVAL, JSONL_E_CONTROL },
		{ "\x7f", 1, JSONL_OK },
		{ "\x80", -EINVAL, JSONL_E_UTF8 },
		{ "\xff", -EINVAL, JSONL_E_UTF8 },
		{ "\"", -EINVAL, JSONL_E_SYNTAX },
		{ " ", 1, JSONL_OK },
	};
	char line[128];
	bool ok = true;

	for (size_t c = 0; c < SPOT_ARRAY_SIZE(cases); c++)
		for (size_t at = 0; at < 48 && ok; at++) {
			enum jsonl_err e;
			size_t where, n;
			int rc;

			n = (size_t)snprintf(line, sizeof(line),
					     "{\"k\":\"%.*s%s", (int)at,
					     "abcdefghijklmnopqrstuvwxyzABCDEF"
					     "GHIJKLMNOPQRSTUVWXYZ",
					     cases[c].b);
			n += (size_t)snprintf(line + n, sizeof(line) - n,
					      "tail\"}");
			rc = parse(line, n, &e, &where);
			ok = rc == cases[c].rc && e == cases[c].e &&
			     (rc > 0 || cases[c].e == JSONL_E_SYNTAX ||
			      where == 6 + at);
			CHECK(ok, "byte '%s' at %zu of a string: %d %s at %zu",
			      cases[c].b, at, rc, jsonl_err_text(e), where);
		}
	/* A string ending right at the end of lines of every length. */
	for (size_t n = 8; n < 60 && ok; n++) {
		enum jsonl_err e;
		size_t where;

		memset(line, 'x', n);
		memcpy(line, "{\"k\":\"", 6);
		line[n - 2] = '"';
		line[n - 1] = '}';
		ok = parse(line, n, &e, &where) == 1;
		CHECK(ok, "a string to the end of a %zu-byte line", n);
		line[n - 2] = 'x';
		ok = parse(line, n - 1, &e, &where) == -EINVAL &&
		     e == JSONL_E_UNTERM;
		CHECK(ok, "unterminated at the end of a %zu-byte line: %s", n,
		      jsonl_err_text(e));
	}
}

/*
 * One parser over many records guesses each key's node from the record
 * before: a wrong guess (keys reordered, another parent, a duplicate)
 * must never give another node than the trie would.
 */
static void test_key_guess(void)
{
	static const struct {
		const char *line;
		int rc;
		enum jsonl_err e;
		size_t at;
		const char *paths; /* of its leaves, with a space after each */
	} recs[] = {
		{ "{\"a\":1,\"b\":{\"a\":2,\"c\":3},\"d\":4}", 1, JSONL_OK, 0,
		  "a b.a b.c d " },
		{ "{\"a\":1,\"b\":{\"a\":2,\"c\":3},\"d\":4}", 1, JSONL_OK, 0,
		  "a b.a b.c d " },
		{ "{\"a\":1,\"b\":{\"c\":3,\"a\":2},\"d\":4}", 1, JSONL_OK, 0,
		  "a b.c b.a d " },
		{ "{\"a\":1,\"a\":2}", -EINVAL, JSONL_E_DUPKEY, 7, NULL },
		{ "{\"b\":{\"c\":1,\"c\":2}}", -EINVAL, JSONL_E_DUPKEY, 12,
		  NULL },
		{ "{\"a\":1,\"b\":{\"a\":2,\"a\":3}}", -EINVAL, JSONL_E_DUPKEY,
		  18, NULL },
		{ "{\"d\":{\"a\":1},\"a\":{\"d\":2}}", 1, JSONL_OK, 0,
		  "d.a a.d " },
		{ "{\"a\":1,\"b\":{\"a\":2,\"c\":3},\"d\":4}", 1, JSONL_OK, 0,
		  "a b.a b.c d " },
		{ "{\"b\":{\"a\":2},\"a\":1,\"x\":{\"b\":0}}", 1, JSONL_OK, 0,
		  "b.a a x.b " },
	};
	struct jsonl_paths *t = NULL;
	struct jsonl_parser *p = NULL;
	struct spot_buf names, name;

	spot_buf_init(&names);
	spot_buf_init(&name);
	if (jsonl_paths_new(&t) || jsonl_parser_new(t, true, &p))
		abort();
	for (size_t r = 0; r < SPOT_ARRAY_SIZE(recs); r++) {
		const struct jsonl_leaf *ls;
		enum jsonl_err e;
		size_t nl, at;
		int rc = jsonl_parse(p, (const uint8_t *)recs[r].line,
				     strlen(recs[r].line));

		e = jsonl_parser_error(p, &at);
		spot_buf_reset(&names);
		ls = jsonl_parser_leaves(p, &nl);
		for (size_t i = 0; rc == 1 && i < nl; i++) {
			spot_buf_reset(&name);
			jsonl_paths_name(t, ls[i].node, &name);
			spot_buf_append(&names, name.p, name.len);
			spot_buf_putc(&names, ' ');
		}
		CHECK(rc == recs[r].rc && e == recs[r].e &&
			      (rc == 1 ? !strcmp((char *)names.p, recs[r].paths)
				       : at == recs[r].at),
		      "record #%zu, one parser: %d %s at %zu, leaves %s", r, rc,
		      jsonl_err_text(e), at, rc == 1 ? (char *)names.p : "");
	}
	jsonl_parser_free(p);
	/* Read only: a key the trie lacks is stale, even after good guesses. */
	if (jsonl_parser_new(t, false, &p))
		abort();
	{
		enum jsonl_err e;
		size_t at;
		int a = jsonl_parse(p, (const uint8_t *)recs[0].line,
				    strlen(recs[0].line));
		int b = jsonl_parse(
			p, (const uint8_t *)"{\"a\":1,\"b\":{\"z\":1}}", 19);

		e = jsonl_parser_error(p, &at);
		CHECK(a == 1 && b == -EINVAL && e == JSONL_E_STALE && at == 12,
		      "a read-only parser: an unknown key is stale (%d %d %s "
		      "%zu)",
		      a, b, jsonl_err_text(e), at);
	}
	jsonl_parser_free(p);
	jsonl_paths_free(t);
	spot_buf_fini(&names);
	spot_buf_fini(&name);
}

/* ---- the view build ---- */

/* Test transforms: "S" a string with a quote, "N" the number 5, "0" null,
 * "U" upper case of the input, "R" the input's row (seed) as a string. */
static int tx_fn(void *arg, struct pipe_batch *b, size_t col,
		 struct spot_err *err)
{
	const char *what = arg;
	char tmp[64];

	(void)err;
	for (size_t r = 0; r < b->nrows; r++) {
		const struct pipe_cell *in = &b->in[r * b->ncols + col];

		if (!b->keep[r])
			continue;
		if (*what == 'S') {
			pipe_batch_set(b, r, col, "X\"Y\n", 4, PIPE_TEXT);
		} else if (*what == 'N') {
			pipe_batch_set(b, r, col, "5", 1, PIPE_INT);
		} else if (*what == '0') {
			pipe_batch_set(b, r, col, NULL, 0, PIPE_NULL);
		} else if (*what == 'U') {
			size_t n =
				in->len < sizeof(tmp) ? in->len : sizeof(tmp);

			for (size_t i = 0; i < n; i++)
				tmp[i] = (char)(in->p[i] >= 'a' &&
								in->p[i] <= 'z'
							? in->p[i] - 32
							: in->p[i]);
			pipe_batch_set(b, r, col, tmp, n, PIPE_TEXT);
		} else if (*what == 'R') {
			int n = snprintf(
				tmp, sizeof(tmp), "%llu",
				(unsigned long long)(b->first_row + r));
			pipe_batch_set(b, r, col, tmp, (size_t)n, PIPE_TEXT);
		} else if (*what == 'E') {
			spot_err_set(err, "refused");
			return -EIO;
		}
	}
	return 0;
}

struct tplan {
	const char *rules; /* "name=S;name=N;..." */
	struct pipe_plan plan[8];
	struct pipe_xform xf[8][32];
	char what[8][32][2];
	unsigned nplans;
	bool row_fn;
	char colnames[256];
};

/* The row filter: drops odd records; the record must come as JSON. */
static int tx_row(void *arg, struct pipe_batch *b, struct spot_err *err)
{
	(void)arg;
	for (size_t r = 0; r < b->nrows; r++) {
		if (!b->recs || !b->recs[r].len || b->recs[r].p[0] != '{') {
			spot_err_set(err, "no record");
			return -EIO;
		}
		b->keep[r] = !((b->first_row + r) & 1);
	}
	return 0;
}

static int tp_bind(void *arg, const char *table, const struct pipe_col *cols,
		   size_t ncols, const struct pipe_plan **plan,
		   struct spot_err *err)
{
	struct tplan *tp = arg;
	unsigned k = tp->nplans++;
	struct pipe_plan *p = &tp->plan[k];

	(void)table;
	(void)err;
	memset(p, 0, sizeof(*p));
	p->xf = tp->xf[k];
	tp->colnames[0] = 0;
	for (size_t c = 0; c < ncols; c++) {
		const char *r = tp->rules;
		size_t nl = cols[c].name_len;

		strncat(tp->colnames, cols[c].name,
			sizeof(tp->colnames) - strlen(tp->colnames) - 2);
		strcat(tp->colnames, " ");
		while (r && *r) {
			const char *eq = strchr(r, '='), *semi = strchr(r, ';');

			if (eq && (size_t)(eq - r) == nl &&
			    !memcmp(r, cols[c].name, nl) && p->nxf < 32) {
				struct pipe_xform *x = &p->xf[p->nxf];

				tp->what[k][p->nxf][0] = eq[1];
				x->col = c;
				x->fn = tx_fn;
				x->arg = tp->what[k][p->nxf];
				p->nxf++;
			}
			r = semi ? semi + 1 : NULL;
		}
	}
	if (tp->row_fn)
		p->row_fn = tx_row;
	*plan = p;
	return 0;
}

static int tmp_file(const void *p, size_t len)
{
	char name[] = "/tmp/test_jsonl.XXXXXX";
	int fd = mkstemp(name);

	if (fd < 0)
		abort();
	unlink(name);
	if (write(fd, p, len) != (ssize_t)len)
		abort();
	return fd;
}

struct emitted {
	struct spot_buf b;
	unsigned calls;
};

static int emit_cb(void *arg, const void *p, size_t len)
{
	struct emitted *e = arg;

	e->calls++;
	return spot_buf_append(&e->b, p, len);
}

/* Bytes a streamed build may keep in memory before it emits (0: none). */
static uint64_t emit_after;

/* Build the view of (src, len) with rules; out gets emitted + buffered. */
static int build(const char *src, size_t len, const char *rules,
		 unsigned threads, bool stream, struct tplan *tp,
		 struct spot_buf *out, struct spot_err *err)
{
	const struct view_format *f = view_format_get(VIEW_FMT_JSONL);
	int fd = tmp_file(src, len);
	struct emitted em = { { NULL, 0, 0 }, 0 };
	struct view_req req = { .form = VIEW_FMT_JSONL,
				.sub = "",
				.fd = fd,
				.threads = threads,
				.limit = UINT64_MAX,
				.bind = tp_bind,
				.more = tp_bind,
				.arg = tp,
				.emit = stream ? emit_cb : NULL,
				.emit_arg = &em,
				.emit_after = stream ? emit_after : 0 };
	struct view_out o;
	int rc;

	tp->rules = rules;
	tp->nplans = 0;
	spot_buf_init(&em.b);
	view_out_init(&o);
	err->msg[0] = 0;
	rc = view_format_build(f, &req, &o, err);
	spot_buf_reset(out);
	if (!rc) {
		spot_buf_append(out, em.b.p, em.b.len);
		spot_buf_append(out, o.buf.p, o.buf.len);
	}
	view_out_fini(&o);
	spot_buf_fini(&em.b);
	close(fd);
	return rc;
}

static bool out_is(const struct spot_buf *b, const char *s)
{
	return b->len == strlen(s) && !memcmp(b->p, s, b->len);
}

static void test_view(void)
{
	static const char src[] =
		"\xef\xbb\xbf{\"id\": 1, \"user\": {\"em\\u0061il\": "
		"\"a@x.org\", \"n\": 3}, \"tags\": [\"p\", \"q\"]}\r\n"
		"\n"
		"{ \"id\" : 2 , \"other\" : \"untouched \\u00e9\" }\n"
		"{\"id\":3,\"user\":{\"email\":null,\"n\":1.5e3}}";
	static const char want[] = /* no BOM: readers refuse it */
		"{\"id\": 1, \"user\": {\"em\\u0061il\": "
		"\"X\\\"Y\\n\", \"n\": 5}, \"tags\": [\"P\", \"Q\"]}\r\n"
		"\n"
		"{ \"id\" : 2 , \"other\" : \"untouched \\u00e9\" }\n"
		"{\"id\":3,\"user\":{\"email\":null,\"n\":5}}";
	struct tplan tp;
	struct spot_buf out;
	struct spot_err err;
	int rc;

	spot_buf_init(&out);
	memset(&tp, 0, sizeof(tp));
	rc = build(src, sizeof(src) - 1, "user.email=S;user.n=N;tags[]=U", 1,
		   false, &tp, &out, &err);
	CHECK(rc == 0, "a JSON Lines view builds: %s", err.msg);
	CHECK(out_is(&out, want),
	      "masked in place: BOM dropped; CRLF, blank line, white space, "
	      "key "
	      "spelling and untouched records kept; null stays null; a "
	      "number output stays a number; text output escaped: %.*s",
	      (int)out.len, (char *)out.p);
	CHECK(!strcmp(tp.colnames, "id other tags[] user.email user.n "),
	      "columns: the leaf paths, sorted, keys decoded: %s", tp.colnames);
	rc = build(src, sizeof(src) - 1, "user.n=0;tags[]=S;id=R", 1, false,
		   &tp, &out, &err);
	CHECK(rc == 0 && strstr((char *)out.p, "\"n\": null") &&
		      strstr((char *)out.p, "[\"X\\\"Y\\n\", \"X\\\"Y\\n\"]") &&
		      strstr((char *)out.p, "{\"id\":\"2\""),
	      "null output, every array element, a field held once seeded "
	      "by its record's number: %.*s",
	      (int)out.len, (char *)out.p);
	rc = build(src, sizeof(src) - 1, "tags[]=R", 1, false, &tp, &out, &err);
	CHECK(rc == 0 && strstr((char *)out.p, "[\"0\", \"1099511627776\"]"),
	      "the second element of an array: record + 1 << 40: %.*s",
	      (int)out.len, (char *)out.p);
	rc = build(src, sizeof(src) - 1, "id=E", 1, false, &tp, &out, &err);
	CHECK(rc == -EIO && strstr(err.msg, "line 1, field 'id'") && !out.len,
	      "a failing transform fails the view, naming line and field: %s",
	      err.msg);
	tp.row_fn = true;
	rc = build(src, sizeof(src) - 1, "", 1, false, &tp, &out, &err);
	CHECK(rc == 0 && out_is(&out, "{\"id\": 1, \"user\": "
				      "{\"em\\u0061il\": \"a@x.org\", "
				      "\"n\": 3}, \"tags\": [\"p\", "
				      "\"q\"]}\r\n{\"id\":3,\"user\":"
				      "{\"email\":null,\"n\":1.5e3}}"),
	      "the row filter sees each record as JSON and drops the "
	      "second, line end and all, and the blank line: %s %.*s",
	      err.msg, (int)out.len, (char *)out.p);
	tp.row_fn = false;
	rc = build("", 0, "", 1, false, &tp, &out, &err);
	CHECK(rc == 0 && out.len == 0 && tp.nplans == 1,
	      "an empty file is an empty view");
	spot_buf_fini(&out);
}

static void test_view_errors(void)
{
	static const struct {
		const char *src;
		const char *msg;
	} bad[] = {
		{ "{}\n{}\n{\"a\":\"SECRET\n", "line 3: unterminated string "
					       "at byte 13" },
		{ "{\"a\":1}\n[1]\n", "line 2: a record must be a JSON object "
				      "at byte 1" },
		{ "\xef\xbb\xbf{\"a\":1,\"a\":\"SECRET\"}\n",
		  "line 1: duplicate key at byte 11" },
		{ "{\"a\":\"SECRET\xff\"}", "line 1: invalid UTF-8 in a string "
					    "at byte 13" },
		{ "{\"a.b\":1}\n{\"a\":{\"b\":2}}\n",
		  "two different fields have the same path" },
		{ "{\"x[]\":1,\"x\":[2]}\n",
		  "two different fields have the same path" },
	};
	struct tplan tp;
	struct spot_buf out;
	struct spot_err err;

	spot_buf_init(&out);
	memset(&tp, 0, sizeof(tp));
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(bad); i++) {
		int rc = build(bad[i].src, strlen(bad[i].src), "", 1, false,
			       &tp, &out, &err);

		CHECK(rc == -EIO && strstr(err.msg, bad[i].msg) &&
			      !strstr(err.msg, "SECRET"),
		      "malformed #%zu fails closed: %s", i, err.msg);
	}
	spot_buf_fini(&out);
}

/* A line over 64 MiB fails (without reading it into a record). */
static void test_view_long_line(void)
{
	size_t n = JSONL_MAX_LINE + 16;
	char *src = malloc(n);
	struct tplan tp;
	struct spot_buf out;
	struct spot_err err;
	int rc;

	memcpy(src, "{}\n{\"a\":\"", 9);
	memset(src + 9, 'x', n - 9);
	spot_buf_init(&out);
	memset(&tp, 0, sizeof(tp));
	rc = build(src, n, "", 1, false, &tp, &out, &err);
	CHECK(rc == -EIO && strstr(err.msg, "line 2: line longer than 64 MiB"),
	      "a line over 64 MiB fails closed: %s", err.msg);
	spot_buf_fini(&out);
	free(src);
}

/* A file of several parts: the same bytes on any threads, streamed or not. */
static void test_view_parallel(void)
{
	struct spot_buf src, a, b, c;
	struct tplan tp;
	struct spot_err err;
	size_t i = 0;
	int rc;

	spot_buf_init(&src);
	spot_buf_init(&a);
	spot_buf_init(&b);
	spot_buf_init(&c);
	while (src.len < (size_t)20 << 20)
		spot_buf_printf(&src,
				"{\"i\":%zu,\"u\":{\"email\":\"user%zu@x\"},"
				"\"m\":[{\"c\":\"hello\"},{\"c\":\"w%zu\"}]}\n",
				i, i, i),
			i++;
	memset(&tp, 0, sizeof(tp));
	rc = build((char *)src.p, src.len, "u.email=U;m[].c=R", 1, false, &tp,
		   &a, &err);
	CHECK(rc == 0 && a.len > src.len / 2, "a 20 MiB file builds: %s",
	      err.msg);
	rc = build((char *)src.p, src.len, "u.email=U;m[].c=R", 2, false, &tp,
		   &b, &err);
	CHECK(rc == 0 && tp.nplans == 2 && a.len == b.len &&
		      !memcmp(a.p, b.p, a.len),
	      "two workers give the same bytes");
	rc = build((char *)src.p, src.len, "u.email=U;m[].c=R", 2, true, &tp,
		   &c, &err);
	CHECK(rc == 0 && a.len == c.len && !memcmp(a.p, c.p, a.len),
	      "streamed: the same bytes");
	/* A malformed line in a later part: its line number in the file. */
	memcpy(src.p + src.len - 3, "]x\n", 3);
	rc = build((char *)src.p, src.len, "", 2, false, &tp, &c, &err);
	{
		char want[64];

		snprintf(want, sizeof(want), "line %zu: ", i);
		CHECK(rc == -EIO && strstr(err.msg, want),
		      "an error in the last part names its line in the file "
		      "(%s): %s",
		      want, err.msg);
	}
	spot_buf_fini(&src);
	spot_buf_fini(&a);
	spot_buf_fini(&b);
	spot_buf_fini(&c);
}

/*
 * Read once (the file and its tapes held in memory, the view written over
 * it): the same bytes as a view streamed from the first byte, on 1 and 2
 * workers, with every kind of memory room: all of it, room for the file
 * but not its tapes (parts tokenized again), and a view that outgrows the
 * room it had over the file (the rest copied, or streamed).
 */
static void test_view_read_once(void)
{
	/* Values kept as long (U, N: the view fits over the file), longer
	 * (R, S: it outgrows it), none masked; the row filter. */
	static const char *const rules[] = { "u.email=U;i=N", "m[].c=R;i=S", "",
					     "u.email=U;m[].c=R" };
	struct spot_buf src, ref, got;
	struct tplan tp;
	struct spot_err err;
	size_t i = 0;
	int rc;

	spot_buf_init(&src);
	spot_buf_init(&ref);
	spot_buf_init(&got);
	/* Short records, a record without leaves first (a tape line with
	 * none), blank lines, a last line without its line feed. */
	spot_buf_printf(&src, "{}\n");
	while (src.len < (size_t)9 << 20) {
		if (i % 1000 == 7)
			spot_buf_printf(&src, "  \n");
		spot_buf_printf(&src,
				"{\"i\":%zu,\"u\":{\"email\":\"u%zu@x\"},"
				"\"m\":[{\"c\":\"h\"},{\"c\":\"w%zu\"}]}\n",
				i, i, i);
		i++;
	}
	spot_buf_printf(&src, "{\"i\":-1,\"u\":{\"email\":\"last\"}}");
	memset(&tp, 0, sizeof(tp));
	for (size_t r = 0; r < SPOT_ARRAY_SIZE(rules); r++) {
		/* The reference: streamed from the first byte, one worker. */
		tp.row_fn = r == 3;
		emit_after = 0;
		rc = build((char *)src.p, src.len, rules[r], 1, true, &tp, &ref,
			   &err);
		CHECK(rc == 0 && ref.len > src.len / 3,
		      "rules #%zu: streamed from the first byte: %s", r,
		      err.msg);
		for (unsigned th = 1; th <= 2; th++) {
			/* Streamed after: all of it; just the file and its
			 * margin (no tape: tokenized again); and 1 MiB more
			 * (a few parts' tapes). */
			uint64_t need = src.len + src.len / 8 + 4096;
			const uint64_t rooms[] = { 1ull << 40, need,
						   need + (1 << 20) };

			for (size_t k = 0; k < SPOT_ARRAY_SIZE(rooms); k++) {
				emit_after = rooms[k];
				rc = build((char *)src.p, src.len, rules[r], th,
					   true, &tp, &got, &err);
				CHECK(rc == 0 && got.len == ref.len &&
					      !memcmp(got.p, ref.p, ref.len),
				      "rules #%zu, %u workers, room #%zu: "
				      "the same bytes: %s",
				      r, th, k, err.msg);
			}
			rc = build((char *)src.p, src.len, rules[r], th, false,
				   &tp, &got, &err);
			CHECK(rc == 0 && got.len == ref.len &&
				      !memcmp(got.p, ref.p, ref.len),
			      "rules #%zu, %u workers, in memory: the same "
			      "bytes: %s",
			      r, th, err.msg);
		}
	}
	tp.row_fn = false;
	/*
	 * Two malformed lines, in a middle part and in a later one: the
	 * first in the file is named, whichever part a worker finished
	 * first, and nothing is served.
	 */
	{
		size_t at[2] = { (size_t)5 << 19, (size_t)7 << 20 }, line = 0;
		char want[96];

		for (size_t k = 0; k < 2; k++) {
			uint8_t *q =
				memchr(src.p + at[k], '\n', src.len - at[k]);

			q[1] = '[';
		}
		for (size_t k = 0; k < at[0]; k++)
			line += src.p[k] == '\n';
		snprintf(want, sizeof(want),
			 "line %zu: a record must be a JSON object at byte 1",
			 line + 2);
		for (size_t k = 0; k < 3; k++) {
			emit_after = k == 1 ? 1ull << 40 : 0;
			rc = build((char *)src.p, src.len, "u.email=U", 2,
				   k > 0, &tp, &got, &err);
			CHECK(rc == -EIO && strstr(err.msg, want) && !got.len,
			      "mode #%zu: the first malformed line in the "
			      "file fails the view (%s): %s",
			      k, want, err.msg);
		}
	}
	emit_after = 0;
	spot_buf_fini(&src);
	spot_buf_fini(&ref);
	spot_buf_fini(&got);
}

int main(void)
{
	test_accept();
	test_reject();
	test_depth();
	test_deep_hostile();
	test_paths();
	test_arrays();
	test_kinds();
	test_keys_match();
	test_many_paths();
	test_strings();
	test_string_runs();
	test_key_guess();
	test_view();
	test_view_errors();
	test_view_parallel();
	test_view_read_once();
	test_view_long_line();
	return check_done();
}

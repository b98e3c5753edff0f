/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * engine_json.c - a JSON Lines record as a Lua table, for the `row` a
 * policy's functions see on JSON Lines datasets.
 *
 * The record was validated by the JSON Lines codec before it gets here,
 * but this decoder trusts nothing: every byte is bounds-checked, nesting
 * is iterative and limited (the codec's 64 levels), anything unexpected
 * raises a data-free Lua error, which fails the view closed. Strings are
 * capped by the engine's value limit, and the work is charged to the
 * call's instruction budget, as for any host function.
 *
 * Mapping: an object is a table keyed by its decoded keys; an array a
 * sequence from 1; strings are strings, numbers Lua numbers (integers
 * where they fit, else floats; a number Lua cannot read stays its JSON
 * text), true/false booleans; null is nil, so a null field or element is
 * absent from its table. Each call gets a fresh table: a policy cannot
 * change what another call sees.
 */
#include "engine_i.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#define PJ_MAX_DEPTH 64
#define PJ_NUM_MAX 64 /* longest number text converted to a Lua number */

struct pj {
	lua_State *L;
	struct pol_state *st;
	const uint8_t *s;
	size_t len, i;
};

static int pj_fail(struct pj *j)
{
	return pol_raise(j->L, j->st, "row: malformed JSON record");
}

static void pj_ws(struct pj *j)
{
	while (j->i < j->len && (j->s[j->i] == ' ' || j->s[j->i] == '\t' ||
				 j->s[j->i] == '\r' || j->s[j->i] == '\n'))
		j->i++;
}

static int pj_hex4(struct pj *j, size_t at, unsigned *v)
{
	unsigned x = 0;

	if (at > j->len || j->len - at < 4)
		return -1;
	for (size_t k = 0; k < 4; k++) {
		uint8_t c = j->s[at + k];

		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			x |= (unsigned)((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	*v = x;
	return 0;
}

static void pj_utf8(luaL_Buffer *b, unsigned cp)
{
	if (cp < 0x80) {
		luaL_addchar(b, (char)cp);
	} else if (cp < 0x800) {
		luaL_addchar(b, (char)(0xc0 | (cp >> 6)));
		luaL_addchar(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		luaL_addchar(b, (char)(0xe0 | (cp >> 12)));
		luaL_addchar(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		luaL_addchar(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		luaL_addchar(b, (char)(0xf0 | (cp >> 18)));
		luaL_addchar(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		luaL_addchar(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		luaL_addchar(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/* The string at s[i] == '"', decoded, pushed. */
static void pj_string(struct pj *j)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	luaL_Buffer b;
	size_t start = ++j->i;
	unsigned cp = 0, lo = 0xdc00;

	luaL_buffinit(j->L, &b);
	for (;;) {
		size_t run = j->i;
		const char *e;

		while (run < j->len && j->s[run] != '"' && j->s[run] != '\\')
			run++;
		if (run - start > j->st->eng->lim.value_max)
			pol_raise(j->L, j->st,
				  "row: a value is longer than the limit");
		luaL_addlstring(&b, (const char *)j->s + j->i, run - j->i);
		j->i = run;
		if (j->i >= j->len)
			pj_fail(j);
		if (j->s[j->i] == '"')
			break;
		if (++j->i >= j->len)
			pj_fail(j);
		if (j->s[j->i] != 'u') {
			e = j->s[j->i] ? strchr(from, j->s[j->i]) : NULL;
			if (!e)
				pj_fail(j);
			luaL_addchar(&b, to[e - from]);
			j->i++;
			continue;
		}
		if (pj_hex4(j, j->i + 1, &cp))
			pj_fail(j);
		j->i += 5;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (j->len - j->i < 6 || j->s[j->i] != '\\' ||
			    j->s[j->i + 1] != 'u' ||
			    pj_hex4(j, j->i + 2, &lo) || lo < 0xdc00 ||
			    lo > 0xdfff)
				pj_fail(j);
			j->i += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			pj_fail(j);
		}
		pj_utf8(&b, cp);
	}
	j->i++;
	luaL_pushresult(&b);
}

/* A scalar at s[i], pushed (nil for null). */
static void pj_scalar(struct pj *j)
{
	const uint8_t *s = j->s + j->i;
	size_t left = j->len - j->i, n = 0;
	char num[PJ_NUM_MAX];

	if (*s == '"') {
		pj_string(j);
	} else if (left >= 4 && !memcmp(s, "true", 4)) {
		lua_pushboolean(j->L, 1);
		j->i += 4;
	} else if (left >= 5 && !memcmp(s, "false", 5)) {
		lua_pushboolean(j->L, 0);
		j->i += 5;
	} else if (left >= 4 && !memcmp(s, "null", 4)) {
		lua_pushnil(j->L);
		j->i += 4;
	} else {
		while (n < left && (s[n] == '-' || s[n] == '+' || s[n] == '.' ||
				    s[n] == 'e' || s[n] == 'E' ||
				    (s[n] >= '0' && s[n] <= '9')))
			n++;
		if (!n)
			pj_fail(j);
		if (n < PJ_NUM_MAX) {
			memcpy(num, s, n);
			num[n] = 0;
		}
		if (n >= PJ_NUM_MAX || !lua_stringtonumber(j->L, num))
			lua_pushlstring(j->L, (const char *)s, n);
		j->i += n;
	}
}

/* Set the value on top into the container below it (and its key). */
static void pj_store(struct pj *j, bool is_obj, lua_Integer *idx)
{
	if (is_obj)
		lua_rawset(j->L, -3);
	else
		lua_rawseti(j->L, -2, (*idx)++);
}

static int pj_record(struct pj *j)
{
	lua_State *L = j->L;
	bool is_obj[PJ_MAX_DEPTH];
	lua_Integer idx[PJ_MAX_DEPTH];
	size_t depth = 0;

	pol_charge(L, j->st, j->len);
	pj_ws(j);
	if (j->i >= j->len || j->s[j->i] != '{')
		return pj_fail(j);
	for (;;) {
		/* A value at s[i]; for an object member its key is pushed. */
		if (j->i < j->len && (j->s[j->i] == '{' || j->s[j->i] == '[')) {
			if (depth == PJ_MAX_DEPTH || !lua_checkstack(L, 4))
				return pj_fail(j);
			is_obj[depth] = j->s[j->i] == '{';
			idx[depth++] = 1;
			lua_newtable(L);
			j->i++;
			pj_ws(j);
			if (j->i < j->len &&
			    j->s[j->i] == (is_obj[depth - 1] ? '}' : ']')) {
				j->i++;
				depth--;
				goto stored;
			}
			goto member;
		}
		if (j->i >= j->len)
			return pj_fail(j);
		pj_scalar(j);
	stored:
		if (!depth)
			break; /* the record's own table */
		pj_store(j, is_obj[depth - 1], &idx[depth - 1]);
		pj_ws(j);
		if (j->i < j->len && j->s[j->i] == ',') {
			j->i++;
			pj_ws(j);
			goto member;
		}
		if (j->i >= j->len ||
		    j->s[j->i] != (is_obj[depth - 1] ? '}' : ']'))
			return pj_fail(j);
		j->i++;
		depth--;
		goto stored;
	member:
		if (is_obj[depth - 1]) {
			if (j->i >= j->len || j->s[j->i] != '"')
				return pj_fail(j);
			pj_string(j);
			pj_ws(j);
			if (j->i >= j->len || j->s[j->i] != ':')
				return pj_fail(j);
			j->i++;
		}
		pj_ws(j);
		if (j->i >= j->len)
			return pj_fail(j);
	}
	return 1;
}

void pol_push_json(lua_State *L, struct pol_state *st, const uint8_t *p,
		   size_t len)
{
	struct pj j = { L, st, p, len, 0 };

	if (!lua_checkstack(L, 8))
		pol_raise(L, st, "row: out of stack");
	(void)pj_record(&j);
}

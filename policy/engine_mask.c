/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * engine_mask.c - host functions of the policy sandbox: mask.* (the C
 * masking methods of methods.h, one implementation shared with YAML rules)
 * and re.* (bounded PCRE2 matching, in place of Lua patterns).
 *
 * mask.METHOD(value [, option | {options}]) builds an msk_rule from the
 * options with msk_rule_set/msk_rule_check, caches it per state by its
 * canonical option text, and calls msk_apply. The sandbox keys are read
 * from the engine in C and never pushed into Lua. Errors name the method and
 * option, never the value.
 *
 * re.* compiles patterns with PCRE2 in byte mode (no UTF, (*UTF) refused),
 * at most RE_PAT_MAX bytes and RE_NEST_MAX nested parentheses, and matches
 * with match, depth and heap limits, so one match does bounded work
 * whatever the subject. Compiled patterns are cached per state.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "engine_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <pcre2.h>

#define MASK_OPTS_MAX 6
#define MASK_CALL_UNITS 16 /* budget charge of one method call */
#define RE_PAT_MAX 1024
#define RE_NEST_MAX 64
#define RE_MATCH_LIMIT 100000
#define RE_DEPTH_LIMIT 1000
#define RE_HEAP_LIMIT_KIB 1024
#define RE_CALL_UNITS 256
#define RE_LIMIT_UNITS_DIV 8 /* a limit hit costs budget / 8 */

struct pol_mask_def {
	const char *name;
	enum msk_method method;
	const char *scalar; /* option named by a non-table 2nd argument */
	const char *keys[MASK_OPTS_MAX]; /* options a table may carry */
};

static const struct pol_mask_def pol_mask_defs[] = {
	{ "hash", MSK_HASH, "length", { "length", "group" } },
	{ "tokenize", MSK_TOKENIZE, "prefix", { "prefix", "length", "group" } },
	{ "pattern", MSK_MASK, "pattern", { "pattern", "char" } },
	{ "partial", MSK_PARTIAL, NULL, { "keep_first", "keep_last", "char" } },
	{ "email", MSK_EMAIL, NULL, { "domain", "char" } },
	{ "redact", MSK_REDACT, "text", { "text" } },
	{ "null", MSK_NULL, NULL, { NULL } },
	{ "fake",
	  MSK_FAKE,
	  "kind",
	  { "kind", "group", "locale", "min", "max" } },
	{ "generalize",
	  MSK_GENERALIZE,
	  NULL,
	  { "to", "step", "keep", "char" } },
	{ "noise", MSK_NOISE, NULL, { "epsilon", "sensitivity" } },
	{ "pii", MSK_PII, "detect", { "detect", "replace", "length" } },
	{ "fpe",
	  MSK_FPE,
	  "alphabet",
	  { "alphabet", "luhn", "iban", "group", "char" } },
	{ "shift", MSK_SHIFT, "max", { "max" } },
	{ "truncate", MSK_TRUNCATE, "to", { "to" } },
	{ "round", MSK_ROUND, "step", { "step", "min", "max" } },
	{ "scramble", MSK_SCRAMBLE, NULL, { NULL } },
};

/* ---- options ---- */

void pol_mask_scratch_drop(struct pol_state *st)
{
	if (st->mscratch_live)
		msk_rule_fini(&st->mscratch);
	st->mscratch_live = false;
}

/* The option value at the top of the stack as text (numbers converted). */
static const char *pol_opt_text(lua_State *L, struct pol_state *st,
				const struct pol_mask_def *d, const char *key)
{
	size_t len;
	const char *v;

	switch (lua_type(L, -1)) {
	case LUA_TBOOLEAN:
		return lua_toboolean(L, -1) ? "true" : "false";
	case LUA_TNUMBER:
	case LUA_TSTRING:
		v = lua_tolstring(L, -1, &len);
		if (strlen(v) == len)
			return v;
		break;
	default:
		break;
	}
	pol_raise(L, st, "mask.%s: option '%s' must be a string or number",
		  d->name, key);
	return NULL;
}

/*
 * Walk the options of a call (argument 2): append "key=value\n" to the
 * canonical text key (rule NULL), or set them on rule.
 */
static void pol_mask_opts(lua_State *L, struct pol_state *st,
			  const struct pol_mask_def *d, char *key, size_t *klen,
			  struct msk_rule *rule)
{
	int t = lua_type(L, 2);
	int found = 0, total = 0;

	if (t == LUA_TNONE || t == LUA_TNIL)
		return;
	if (t != LUA_TTABLE && !d->scalar)
		pol_raise(L, st, "mask.%s: options must be a table", d->name);
	for (int i = 0; t != LUA_TTABLE || (i < MASK_OPTS_MAX && d->keys[i]);
	     i++) {
		const char *k = t == LUA_TTABLE ? d->keys[i] : d->scalar;
		const char *v;
		struct spot_err e;

		if (t == LUA_TTABLE) {
			if (lua_getfield(L, 2, k) == LUA_TNIL) {
				lua_pop(L, 1);
				continue;
			}
		} else {
			lua_pushvalue(L, 2);
		}
		v = pol_opt_text(L, st, d, k);
		found++;
		if (rule && msk_rule_set(rule, k, v, &e))
			pol_raise(L, st, "mask.%s: invalid option '%s'",
				  d->name, k);
		if (!rule) {
			int n = snprintf(key + *klen, POL_MASK_KEYMAX - *klen,
					 "%s=%s\n", k, v);

			if (n < 0 || (size_t)n >= POL_MASK_KEYMAX - *klen)
				pol_raise(L, st, "mask.%s: options too long",
					  d->name);
			*klen += (size_t)n;
		}
		lua_pop(L, 1);
		if (t != LUA_TTABLE)
			return;
	}
	lua_pushnil(L);
	while (lua_next(L, 2)) {
		total++;
		lua_pop(L, 1);
	}
	if (total != found)
		pol_raise(L, st, "mask.%s: unknown option", d->name);
}

/*
 * The rule for this call: from the cache, or built and cached. A rule being
 * built lives in st->mscratch (st->mscratch_live), so a Lua error raised
 * halfway is cleaned up by pol_mask_scratch_drop(). *tmp is set when the
 * cache is full: the caller drops the scratch rule after use.
 */
static struct msk_rule *pol_mask_rule(lua_State *L, struct pol_state *st,
				      const struct pol_mask_def *d, bool *tmp)
{
	struct msk_rule *scratch = &st->mscratch;
	char key[POL_MASK_KEYMAX];
	size_t klen = 0;
	struct pol_mask_rule *free_slot = NULL;
	struct spot_err e;

	key[0] = 0;
	pol_mask_opts(L, st, d, key, &klen, NULL);
	for (size_t i = 0; i < POL_MASK_CACHE; i++) {
		struct pol_mask_rule *c = &st->mcache[i];

		if (c->method < 0) {
			if (!free_slot)
				free_slot = c;
			continue;
		}
		if (c->method == (int)d->method && c->keylen == klen &&
		    memcmp(c->key, key, klen) == 0)
			return &c->rule;
	}
	pol_mask_scratch_drop(st);
	msk_rule_init(scratch, d->method);
	st->mscratch_live = true;
	pol_mask_opts(L, st, d, NULL, NULL, scratch);
	if (msk_rule_check(scratch, &e))
		pol_raise(L, st, "mask.%s: invalid options", d->name);
	*tmp = !free_slot;
	if (!free_slot)
		return scratch;
	st->mscratch_live = false;
	free_slot->rule = *scratch; /* the cache takes the owned strings */
	free_slot->method = (int)d->method;
	free_slot->keylen = klen;
	memcpy(free_slot->key, key, klen);
	return &free_slot->rule;
}

/* ---- mask.* ---- */

static int pol_mask_call(lua_State *L)
{
	const struct pol_mask_def *d = lua_touserdata(L, lua_upvalueindex(1));
	struct pol_state *st = pol_state_of(L);
	enum pipe_type in_type = PIPE_TEXT, out_type;
	struct msk_rule *rule;
	struct msk_cell cell;
	const char *p = NULL;
	size_t len = 0;
	bool tmp = false;
	int rc;

	switch (lua_type(L, 1)) {
	case LUA_TNONE:
	case LUA_TNIL:
		in_type = PIPE_NULL;
		break;
	case LUA_TNUMBER:
		in_type = lua_isinteger(L, 1) ? PIPE_INT : PIPE_REAL;
		p = lua_tolstring(L, 1, &len);
		break;
	case LUA_TSTRING:
		p = lua_tolstring(L, 1, &len);
		break;
	default:
		return pol_raise(L, st,
				 "mask.%s: value must be a string, number "
				 "or nil",
				 d->name);
	}
	pol_charge(L, st, MASK_CALL_UNITS + len / 16);
	if (d->method == MSK_NULL || in_type == PIPE_NULL) {
		lua_pushnil(L);
		return 1;
	}
	rule = pol_mask_rule(L, st, d, &tmp);
	cell.dataset = st->dataset;
	cell.column = st->column;
	cell.row = st->batch ? st->batch->first_row + st->row : 0;
	cell.entity = NULL;
	cell.entity_len = 0;
	/* mask.shift(v, opts, entity): one offset per entity value, as
	 * per: COLUMN gives in YAML (the function passes row.COLUMN). */
	if (d->method == MSK_SHIFT &&
	    (lua_type(L, 3) == LUA_TSTRING || lua_type(L, 3) == LUA_TNUMBER))
		cell.entity =
			(const uint8_t *)lua_tolstring(L, 3, &cell.entity_len);
	spot_buf_reset(&st->mbuf);
	rc = msk_apply(rule, st->eng->keys, &cell, (const uint8_t *)p, len,
		       in_type, &st->mbuf, &out_type);
	if (tmp)
		pol_mask_scratch_drop(st);
	if (rc == -ENOMEM)
		return pol_raise(L, st, "mask.%s: out of memory", d->name);
	if (rc)
		return pol_raise(L, st, "mask.%s: cannot apply to this value",
				 d->name);
	if (out_type == PIPE_NULL)
		lua_pushnil(L);
	else
		lua_pushlstring(L, st->mbuf.p ? (const char *)st->mbuf.p : "",
				st->mbuf.len);
	return 1;
}

/* ---- re.* ---- */

struct pol_re_entry {
	char *pat;
	size_t len;
	pcre2_code *code;
};

struct pol_re {
	struct pol_re_entry e[POL_RE_CACHE];
	size_t n;
	pcre2_compile_context *cctx;
	pcre2_match_context *mctx;
	pcre2_match_data *md;
};

static struct pol_re *pol_re_get(lua_State *L, struct pol_state *st)
{
	struct pol_re *re = st->re;

	if (re)
		return re;
	re = calloc(1, sizeof(*re));
	if (!re)
		pol_raise(L, st, "re: out of memory");
	st->re = re;
	re->cctx = pcre2_compile_context_create(NULL);
	re->mctx = pcre2_match_context_create(NULL);
	re->md = pcre2_match_data_create(16, NULL);
	if (!re->cctx || !re->mctx || !re->md)
		pol_raise(L, st, "re: out of memory");
	pcre2_set_max_pattern_length(re->cctx, RE_PAT_MAX);
	pcre2_set_parens_nest_limit(re->cctx, RE_NEST_MAX);
	pcre2_set_match_limit(re->mctx, RE_MATCH_LIMIT);
	pcre2_set_depth_limit(re->mctx, RE_DEPTH_LIMIT);
	pcre2_set_heap_limit(re->mctx, RE_HEAP_LIMIT_KIB);
	return re;
}

static pcre2_code *pol_re_compile(lua_State *L, struct pol_state *st,
				  struct pol_re *re, const char *pat,
				  size_t len, bool *tmp)
{
	uint32_t opts = PCRE2_NEVER_UTF | PCRE2_NEVER_BACKSLASH_C;
	PCRE2_SIZE off;
	pcre2_code *code;
	int ec;

	for (size_t i = 0; i < re->n; i++) {
		if (re->e[i].len == len && memcmp(re->e[i].pat, pat, len) == 0)
			return re->e[i].code;
	}
	if (len > RE_PAT_MAX)
		pol_raise(L, st, "re: pattern longer than %d bytes",
			  RE_PAT_MAX);
	pol_charge(L, st, RE_CALL_UNITS + len);
	code = pcre2_compile((PCRE2_SPTR)pat, len, opts, &ec, &off, re->cctx);
	if (!code)
		pol_raise(L, st, "re: invalid pattern (error %d at offset %zu)",
			  ec, (size_t)off);
	*tmp = re->n == POL_RE_CACHE;
	if (*tmp)
		return code;
	re->e[re->n].pat = malloc(len ? len : 1);
	if (!re->e[re->n].pat) {
		pcre2_code_free(code);
		pol_raise(L, st, "re: out of memory");
	}
	memcpy(re->e[re->n].pat, pat, len);
	re->e[re->n].len = len;
	re->e[re->n].code = code;
	re->n++;
	return code;
}

enum pol_re_mode { RE_TEST, RE_FIND, RE_MATCH };

/* re.test(s, pat), re.find(s, pat [, init]), re.match(s, pat [, init]) */
static int pol_re_call(lua_State *L)
{
	enum pol_re_mode mode =
		(enum pol_re_mode)lua_tointeger(L, lua_upvalueindex(1));
	struct pol_state *st = pol_state_of(L);
	struct pol_re *re = pol_re_get(L, st);
	size_t ls, lp;
	const char *s = luaL_checklstring(L, 1, &ls);
	const char *pat = luaL_checklstring(L, 2, &lp);
	lua_Integer init = luaL_optinteger(L, 3, 1);
	pcre2_code *code;
	PCRE2_SIZE *ov;
	bool tmp = false;
	int rc;

	if (init < 1 || (size_t)init > ls + 1)
		return pol_raise(L, st, "re: init out of range");
	pol_charge(L, st, RE_CALL_UNITS + ls / POL_BYTES_PER_UNIT);
	code = pol_re_compile(L, st, re, pat, lp, &tmp);
	rc = pcre2_match(code, (PCRE2_SPTR)s, ls, (PCRE2_SIZE)(init - 1), 0,
			 re->md, re->mctx);
	if (tmp)
		pcre2_code_free(code);
	if (rc == PCRE2_ERROR_NOMATCH) {
		if (mode == RE_TEST)
			lua_pushboolean(L, 0);
		else
			lua_pushnil(L);
		return 1;
	}
	if (rc < 0) {
		pol_charge(L, st, st->budget / RE_LIMIT_UNITS_DIV);
		return pol_raise(L, st, "re: match limit exceeded (error %d)",
				 rc);
	}
	ov = pcre2_get_ovector_pointer(re->md);
	if (mode == RE_TEST) {
		lua_pushboolean(L, 1);
		return 1;
	}
	if (mode == RE_FIND) {
		lua_pushinteger(L, (lua_Integer)ov[0] + 1);
		lua_pushinteger(L, (lua_Integer)ov[1]);
		return 2;
	}
	/* Like string.match: the captures, or the whole match. */
	if (rc == 0)
		rc = 1; /* ovector too small: whole match only */
	luaL_checkstack(L, rc, "too many captures");
	for (int i = rc > 1 ? 1 : 0; i < rc; i++) {
		if (ov[2 * i] == PCRE2_UNSET)
			lua_pushnil(L);
		else
			lua_pushlstring(L, s + ov[2 * i],
					ov[2 * i + 1] - ov[2 * i]);
	}
	return rc > 1 ? rc - 1 : 1;
}

/* ---- registration ---- */

void pol_mask_open(lua_State *L, struct pol_state *st)
{
	static const char *const re_names[] = {
		[RE_TEST] = "test", [RE_FIND] = "find", [RE_MATCH] = "match"
	};

	(void)st;
	lua_createtable(L, 0, (int)SPOT_ARRAY_SIZE(pol_mask_defs));
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(pol_mask_defs); i++) {
		lua_pushlightuserdata(L, (void *)&pol_mask_defs[i]);
		lua_pushcclosure(L, pol_mask_call, 1);
		lua_setfield(L, -2, pol_mask_defs[i].name);
	}
	lua_setglobal(L, "mask");
	lua_createtable(L, 0, (int)SPOT_ARRAY_SIZE(re_names));
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(re_names); i++) {
		lua_pushinteger(L, (lua_Integer)i);
		lua_pushcclosure(L, pol_re_call, 1);
		lua_setfield(L, -2, re_names[i]);
	}
	lua_setglobal(L, "re");
}

void pol_mask_fini(struct pol_state *st)
{
	struct pol_re *re = st->re;

	pol_mask_scratch_drop(st);
	for (size_t i = 0; i < POL_MASK_CACHE; i++) {
		if (st->mcache[i].method >= 0)
			msk_rule_fini(&st->mcache[i].rule);
		st->mcache[i].method = -1;
	}
	if (!re)
		return;
	for (size_t i = 0; i < re->n; i++) {
		free(re->e[i].pat);
		pcre2_code_free(re->e[i].code);
	}
	pcre2_match_data_free(re->md);
	pcre2_match_context_free(re->mctx);
	pcre2_compile_context_free(re->cctx);
	free(re);
	st->re = NULL;
}

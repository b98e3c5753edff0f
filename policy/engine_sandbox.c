/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * engine_sandbox.c - one sandboxed Lua state: the counting allocator, the
 * instruction budget hook, the restricted library set, the message handler
 * and the cleaning of error messages.
 *
 * Threat: the policy is written by a data steward, but it runs on values
 * anyone may have put in a dataset, so any input must be unable to make a
 * call hang, crash, exhaust memory or leak a value into a message. Debian
 * 12's liblua5.4 (5.4.4) also carries bugs fixed only in 5.4.5/5.4.6 that a
 * script can reach: a use-after-free in luaV_concat through __concat, a
 * crash through chained coroutine.close with __close, and __gc finalizers
 * that run with hooks off (an infinite loop there hangs the thread). All of
 * them need a metatable on a script value or the coroutine library; the
 * sandbox offers neither (no setmetatable/getmetatable, no debug, no
 * coroutine), and the only userdata (the row proxy) has a metatable with
 * __index alone, hidden behind __metatable.
 *
 * The count hook is installed before any script runs. It charges
 * POL_HOOK_PERIOD units per call; host functions charge for C work that the
 * hook cannot see (string bytes, table elements), and the allocator charges
 * for bytes allocated. Over budget, the call is aborted: the hook is
 * re-armed to fire on every instruction and raise again, and the pcall
 * wrapper re-raises, so a script cannot swallow the abort. C library loops
 * whose length a script controls without paying for it are removed or
 * bounded: Lua patterns (string.match/gmatch/gsub; string.find is plain
 * only, on memmem), string.rep of empty strings, table.move/insert/remove/
 * concat/unpack over huge ranges, table.sort with the C comparator (a Lua
 * comparator is supplied so every comparison runs under the hook).
 * Strings are capped at str_max, so no single VM instruction (a
 * concatenation or a comparison) does more than about str_max bytes of
 * work, and a wall-clock backstop in the hook ends calls that pay too
 * little for too much work: a call overruns its deadline by at most
 * POL_HOOK_PERIOD such instructions.
 */

#include "engine_i.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#define POL_CHUNK "policy"  /* chunk name: messages start "policy:LINE:" */
#define POL_STR_OVERHEAD 64 /* TString header in a string allocation */

/* ---- state lookup, time ---- */

struct pol_state *pol_state_of(lua_State *L)
{
	return *(struct pol_state **)lua_getextraspace(L);
}

static uint64_t pol_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- allocator ---- */

/* Line of the innermost running Lua function, or 0. Allocation-free. */
static int pol_current_line(lua_State *L, int level)
{
	lua_Debug ar;

	for (; level < 12 && lua_getstack(L, level, &ar); level++) {
		if (lua_getinfo(L, "l", &ar) && ar.currentline > 0)
			return ar.currentline;
	}
	return 0;
}

/*
 * Counting allocator. Growth past mem_max, or a string object longer than
 * str_max, returns NULL: Lua then runs an emergency collection, retries,
 * and raises its preallocated "not enough memory" error. Shrinking never
 * fails (Lua relies on that).
 */
static void *pol_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct pol_state *st = ud;
	size_t old = ptr ? osize : 0;
	void *np;

	if (nsize == 0) {
		free(ptr);
		st->mem_used -= old;
		return NULL;
	}
	if (nsize > old) {
		size_t grow = nsize - old;
		bool is_str = !ptr && osize == LUA_TSTRING;

		if (grow > st->mem_max - st->mem_used ||
		    (is_str && nsize > st->str_max + POL_STR_OVERHEAD)) {
			if (st->L && st->budget_on && !st->mem_line)
				st->mem_line = pol_current_line(st->L, 0);
			return NULL;
		}
		if (st->budget_on)
			st->used += grow / POL_BYTES_PER_UNIT;
	}
	np = realloc(ptr, nsize);
	if (!np)
		return nsize <= old ? ptr : NULL;
	st->mem_used = st->mem_used - old + nsize;
	return np;
}

static int pol_panic(lua_State *L)
{
	/* Every API call that can raise runs under lua_pcall: a bug. */
	(void)L;
	spot_log(SPOT_LOG_ERR, "policy engine: unprotected Lua error");
	abort();
}

/* ---- budget ---- */

static const char *const pol_abort_text[] = {
	[POL_ABORT_NONE] = "aborted",
	[POL_ABORT_BUDGET] = "instruction budget exceeded",
	[POL_ABORT_TIME] = "time limit exceeded",
	[POL_ABORT_MEMORY] = "memory limit exceeded",
};

static void pol_hook(lua_State *L, lua_Debug *ar);

/* Abort the running call: from now on every instruction raises. */
static int pol_abort(lua_State *L, struct pol_state *st, enum pol_abort why)
{
	if (!st->aborted) {
		st->aborted = why;
		lua_sethook(L, pol_hook, LUA_MASKCOUNT, 1);
	}
	lua_pushstring(L, pol_abort_text[st->aborted]);
	return lua_error(L);
}

static void pol_hook(lua_State *L, lua_Debug *ar)
{
	struct pol_state *st = pol_state_of(L);
	uint64_t now;

	(void)ar;
	if (st->aborted)
		pol_abort(L, st, st->aborted);
	if (!st->budget_on)
		return;
	st->used += POL_HOOK_PERIOD;
	if (st->used > st->budget)
		pol_abort(L, st, POL_ABORT_BUDGET);
	now = pol_now_ns();
	if (!st->t0)
		st->t0 = now;
	else if (now - st->t0 > st->deadline_ns)
		pol_abort(L, st, POL_ABORT_TIME);
	if (now - st->batch_t0 > st->batch_deadline_ns)
		pol_abort(L, st, POL_ABORT_TIME);
}

/*
 * Wall-clock backstops for a protected call with this per-call budget: one
 * per policy call, one for the whole batch of calls.
 */
static void pol_deadlines(struct pol_state *st, uint64_t budget)
{
	const uint64_t ms = 1000000u;

	st->deadline_ns = budget * POL_NS_PER_INSTR;
	if (st->deadline_ns < POL_DEADLINE_MIN_MS * ms)
		st->deadline_ns = POL_DEADLINE_MIN_MS * ms;
	st->batch_deadline_ns = st->deadline_ns * POL_BATCH_DEADLINE_CALLS;
	if (st->batch_deadline_ns < POL_BATCH_DEADLINE_MIN_MS * ms)
		st->batch_deadline_ns = POL_BATCH_DEADLINE_MIN_MS * ms;
	st->batch_t0 = budget ? pol_now_ns() : 0;
}

void pol_charge(lua_State *L, struct pol_state *st, uint64_t units)
{
	if (!st->budget_on)
		return;
	if (units > st->budget || st->used + units > st->budget) {
		st->used = st->budget + 1;
		pol_abort(L, st, POL_ABORT_BUDGET);
	}
	st->used += units;
}

int pol_raise(lua_State *L, struct pol_state *st, const char *fmt, ...)
{
	char msg[POL_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	st->own_error = true;
	return luaL_error(L, "%s", msg);
}

void pol_push_cell(lua_State *L, struct pol_state *st,
		   const struct pipe_cell *c)
{
	if (c->type == PIPE_NULL) {
		lua_pushnil(L);
		return;
	}
	if (c->len > st->eng->lim.value_max)
		pol_raise(L, st,
			  "value longer than the value limit (%zu bytes)",
			  st->eng->lim.value_max);
	lua_pushlstring(L, (const char *)c->p, c->len);
}

/* ---- replacements for base functions ---- */

static int pol_pcall(lua_State *L)
{
	struct pol_state *st = pol_state_of(L);
	int status;

	luaL_checkany(L, 1);
	status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
	if (status == LUA_ERRMEM && !st->aborted)
		st->aborted = POL_ABORT_MEMORY;
	if (st->aborted)
		return lua_error(
			L); /* budget/memory aborts are not catchable */
	luaL_checkstack(L, 1, NULL);
	if (status != LUA_OK) {
		st->user_error = false;
		st->own_error = false;
		lua_pushboolean(L, 0);
		lua_insert(L, -2);
		return 2;
	}
	lua_pushboolean(L, 1);
	lua_insert(L, 1);
	return lua_gettop(L);
}

/* error(): the message is the policy's own and may hold a value. */
static int pol_error(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));

	pol_state_of(L)->user_error = true;
	return orig(L);
}

static int pol_assert(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));

	if (!lua_toboolean(L, 1) && !lua_isnone(L, 2))
		pol_state_of(L)->user_error = true;
	return orig(L);
}

/* The name of a reference type (tables, functions, ...), else NULL. */
static const char *pol_ref_type(lua_State *L, int idx)
{
	int t = lua_type(L, idx);

	if (t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TUSERDATA ||
	    t == LUA_TTHREAD || t == LUA_TLIGHTUSERDATA)
		return lua_typename(L, t);
	return NULL;
}

/* tostring: no addresses (they would make views non-deterministic). */
static int pol_tostring(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	const char *name = pol_ref_type(L, 1);

	if (name) {
		lua_pushstring(L, name);
		return 1;
	}
	return orig(L);
}

/* Generic wrapper: charge for the bytes of string arguments, then call. */
static int pol_charged(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	struct pol_state *st = pol_state_of(L);
	uint64_t bytes = 0;
	int n = lua_gettop(L);

	for (int i = 1; i <= n; i++) {
		if (lua_type(L, i) == LUA_TSTRING)
			bytes += lua_rawlen(L, i);
	}
	pol_charge(L, st, 1 + bytes / POL_BYTES_PER_UNIT);
	return orig(L);
}

/* ---- string replacements ---- */

/* string.format: "%s" of a table or function gives its type, no address. */
static int pol_str_format(lua_State *L)
{
	int n = lua_gettop(L);

	for (int i = 2; i <= n; i++) {
		const char *name = pol_ref_type(L, i);

		if (name) {
			lua_pushstring(L, name);
			lua_replace(L, i);
		}
	}
	return pol_charged(L);
}

static lua_Integer pol_posrelat(lua_Integer pos, size_t len)
{
	if (pos > 0)
		return pos;
	if (pos == 0)
		return 1;
	if (pos < -(lua_Integer)len)
		return 1;
	return (lua_Integer)len + pos + 1;
}

static bool pol_has_magic(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] && strchr("^$*+?.([%-", p[i]))
			return true;
	}
	return false;
}

/*
 * string.find, plain only (two-way memmem: linear in its inputs). A
 * pattern with magic characters and no plain flag is an error rather than a
 * silent literal search.
 */
static int pol_str_find(lua_State *L)
{
	struct pol_state *st = pol_state_of(L);
	size_t ls, lp;
	const char *s = luaL_checklstring(L, 1, &ls);
	const char *p = luaL_checklstring(L, 2, &lp);
	lua_Integer init = pol_posrelat(luaL_optinteger(L, 3, 1), ls);
	const char *hit;

	if (!lua_toboolean(L, 4) && pol_has_magic(p, lp))
		return pol_raise(L, st,
				 "Lua patterns are disabled: use "
				 "string.find(s, text, 1, true) or re.match");
	pol_charge(L, st, 1 + (ls + lp) / POL_BYTES_PER_UNIT);
	if (init > (lua_Integer)ls + 1) {
		lua_pushnil(L);
		return 1;
	}
	hit = memmem(s + init - 1, ls - (size_t)(init - 1), p, lp);
	if (!hit) {
		lua_pushnil(L);
		return 1;
	}
	lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
	lua_pushinteger(L, (lua_Integer)(hit - s) + (lua_Integer)lp);
	return 2;
}

/* string.rep: bounded by str_max; an empty result loops zero times. */
static int pol_str_rep(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	struct pol_state *st = pol_state_of(L);
	size_t l, lsep;
	lua_Integer n;
	uint64_t total;

	luaL_checklstring(L, 1, &l);
	n = luaL_checkinteger(L, 2);
	luaL_optlstring(L, 3, "", &lsep);
	if (n <= 0 || (l == 0 && lsep == 0)) {
		lua_pushliteral(L, "");
		return 1;
	}
	if ((uint64_t)n > st->str_max)
		return pol_abort(L, st, POL_ABORT_MEMORY);
	total = (uint64_t)n * l + (uint64_t)(n - 1) * lsep;
	if (total > st->str_max)
		return pol_abort(L, st, POL_ABORT_MEMORY);
	pol_charge(L, st, 1 + total / POL_BYTES_PER_UNIT);
	return orig(L);
}

/* ---- table replacements: charge for elements the C loop touches ---- */

static uint64_t pol_tab_len(lua_State *L, int idx)
{
	return lua_type(L, idx) == LUA_TTABLE ? lua_rawlen(L, idx) : 0;
}

/* Elements in [i, j], 0 when empty. */
static uint64_t pol_range(lua_Integer i, lua_Integer j)
{
	if (j < i)
		return 0;
	return (uint64_t)j - (uint64_t)i + 1;
}

static int pol_tab_insert(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	uint64_t len = pol_tab_len(L, 1), shift = 0;

	if (lua_gettop(L) == 3 && lua_isinteger(L, 2))
		shift = pol_range(lua_tointeger(L, 2), (lua_Integer)len);
	pol_charge(L, pol_state_of(L), 1 + shift);
	return orig(L);
}

static int pol_tab_remove(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	uint64_t len = pol_tab_len(L, 1), shift = 0;

	if (lua_isinteger(L, 2))
		shift = pol_range(lua_tointeger(L, 2), (lua_Integer)len);
	pol_charge(L, pol_state_of(L), 1 + shift);
	return orig(L);
}

/* table.move(a1, f, e, t [,a2]) and table.unpack(t [, i [, j]]) */
static int pol_tab_move(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);

	pol_charge(L, pol_state_of(L), 1 + pol_range(f, e));
	return orig(L);
}

static int pol_tab_unpack(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	lua_Integer i = luaL_optinteger(L, 2, 1);
	lua_Integer j = luaL_opt(L, luaL_checkinteger, 3,
				 (lua_Integer)pol_tab_len(L, 1));

	pol_charge(L, pol_state_of(L), 1 + pol_range(i, j));
	return orig(L);
}

static int pol_tab_concat(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	lua_Integer i = luaL_optinteger(L, 3, 1);
	lua_Integer j = luaL_opt(L, luaL_checkinteger, 4,
				 (lua_Integer)pol_tab_len(L, 1));

	pol_charge(L, pol_state_of(L), 1 + pol_range(i, j));
	return orig(L);
}

/* table.sort: always with a Lua comparator, so comparisons are counted. */
static int pol_tab_sort(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));

	pol_charge(L, pol_state_of(L), 1 + pol_tab_len(L, 1));
	if (lua_isnoneornil(L, 2)) {
		lua_settop(L, 1);
		lua_pushvalue(L, lua_upvalueindex(2));
	}
	return orig(L);
}

/* ---- installing the library ---- */

/* Replace t[name] with fn closed over the original C function. */
static void pol_wrap(lua_State *L, int t, const char *name, lua_CFunction fn)
{
	lua_getfield(L, t, name);
	lua_pushcclosure(L, fn, 1);
	lua_setfield(L, t, name);
}

static void pol_remove(lua_State *L, int t, const char *const *names)
{
	for (; *names; names++) {
		lua_pushnil(L);
		lua_setfield(L, t, *names);
	}
}

static void pol_open_base(lua_State *L)
{
	static const char *const drop[] = {
		"collectgarbage", "dofile",   "getmetatable",
		"load",		  "loadfile", "print",
		"setmetatable",	  "warn",     "xpcall",
		"require",	  NULL
	};
	int g;

	luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
	g = lua_gettop(L);
	pol_remove(L, g, drop);
	lua_pushcfunction(L, pol_pcall);
	lua_setfield(L, g, "pcall");
	pol_wrap(L, g, "error", pol_error);
	pol_wrap(L, g, "assert", pol_assert);
	pol_wrap(L, g, "tostring", pol_tostring);
	pol_wrap(L, g, "tonumber", pol_charged);
	lua_pop(L, 1);
}

static void pol_open_string(lua_State *L)
{
	static const char *const drop[] = { "dump",   "match", "gmatch",
					    "gsub",   "pack",  "packsize",
					    "unpack", NULL };
	static const char *const charged[] = { "byte",	  "char",  "lower",
					       "reverse", "upper", NULL };
	int s;

	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
	s = lua_gettop(L);
	pol_remove(L, s, drop);
	for (const char *const *n = charged; *n; n++)
		pol_wrap(L, s, *n, pol_charged);
	lua_pushcfunction(L, pol_str_find);
	lua_setfield(L, s, "find");
	pol_wrap(L, s, "rep", pol_str_rep);
	pol_wrap(L, s, "format", pol_str_format);
	lua_pop(L, 1);
	/* Lock the shared string metatable: getmetatable("") gives false. */
	lua_pushliteral(L, "");
	if (lua_getmetatable(L, -1)) {
		lua_pushboolean(L, 0);
		lua_setfield(L, -2, "__metatable");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

static void pol_open_table(lua_State *L)
{
	static const char cmp[] = "local a, b = ...; return a < b";
	int t;

	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
	t = lua_gettop(L);
	pol_wrap(L, t, "insert", pol_tab_insert);
	pol_wrap(L, t, "remove", pol_tab_remove);
	pol_wrap(L, t, "move", pol_tab_move);
	pol_wrap(L, t, "unpack", pol_tab_unpack);
	pol_wrap(L, t, "concat", pol_tab_concat);
	lua_getfield(L, t, "sort");
	if (luaL_loadbufferx(L, cmp, sizeof(cmp) - 1, "=sort", "t") != LUA_OK)
		lua_error(L);
	lua_pushcclosure(L, pol_tab_sort, 2);
	lua_setfield(L, t, "sort");
	lua_pop(L, 1);
}

static void pol_open_math_utf8(lua_State *L)
{
	static const char *const drop[] = { "random", "randomseed", NULL };
	static const char *const charged[] = { "char", "codepoint", "len",
					       "offset", NULL };
	int t;

	luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
	pol_remove(L, lua_gettop(L), drop);
	lua_pop(L, 1);
	luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
	t = lua_gettop(L);
	for (const char *const *n = charged; *n; n++)
		pol_wrap(L, t, *n, pol_charged);
	lua_pop(L, 1);
}

/* The policy's main chunk, text only, under the load budget. */
static int pol_load_policy(lua_State *L, struct pol_state *st)
{
	const struct pol_engine *eng = st->eng;

	if (luaL_loadbufferx(L, eng->src, eng->srclen, "=" POL_CHUNK, "t") !=
	    LUA_OK) {
		st->own_error = true; /* the steward's text, not row data */
		return lua_error(L);
	}
	st->budget = eng->lim.instr_load;
	st->used = 0;
	st->t0 = 0;
	pol_deadlines(st, eng->lim.instr_load);
	st->budget_on = true;
	lua_call(L, 0, 0);
	st->budget_on = false;
	return 0;
}

static int pol_setup(lua_State *L)
{
	struct pol_state *st = lua_touserdata(L, 1);

	pol_open_base(L);
	pol_open_string(L);
	pol_open_table(L);
	pol_open_math_utf8(L);
	pol_mask_open(L, st);
	return pol_load_policy(L, st);
}

/* ---- error messages ---- */

/*
 * Split "policy:LINE: rest" into LINE and rest. Returns rest (msg itself
 * when there is no such prefix) and sets *line (0 if none).
 */
static const char *pol_msg_split(const char *msg, int *line)
{
	static const char pre[] = POL_CHUNK ":";
	const char *p = msg;
	long n = 0;

	*line = 0;
	if (strncmp(p, pre, sizeof(pre) - 1) != 0)
		return msg;
	p += sizeof(pre) - 1;
	if (*p < '0' || *p > '9')
		return msg;
	while (*p >= '0' && *p <= '9' && n < 100000000)
		n = n * 10 + (*p++ - '0');
	if (p[0] != ':' || p[1] != ' ')
		return msg;
	*line = (int)n;
	return p + 2;
}

/*
 * Message handler of every protected call: records the line of the
 * innermost Lua function and a cleaned reason in the state. It neither
 * allocates nor pushes, so it works at the memory cap.
 */
static int pol_msgh(lua_State *L)
{
	struct pol_state *st = pol_state_of(L);
	const char *msg =
		lua_type(L, 1) == LUA_TSTRING ? lua_tostring(L, 1) : NULL;
	const char *rest = NULL;
	int line = 0;

	if (msg)
		rest = pol_msg_split(msg, &line);
	if (!line)
		line = pol_current_line(L, 1);
	st->err_line = line ? line : st->fn_line;
	if (st->aborted) {
		if (st->aborted == POL_ABORT_MEMORY && st->mem_line)
			st->err_line = st->mem_line;
		snprintf(st->err_reason, sizeof(st->err_reason), "%s",
			 pol_abort_text[st->aborted]);
	} else if (st->user_error) {
		snprintf(st->err_reason, sizeof(st->err_reason),
			 "error raised by the policy (message withheld)");
	} else if (!msg) {
		snprintf(st->err_reason, sizeof(st->err_reason),
			 "error object is not a string (withheld)");
	} else if (st->own_error) {
		snprintf(st->err_reason, sizeof(st->err_reason), "%s", rest);
	} else {
		pol_reason_clean(rest, st->err_reason, sizeof(st->err_reason));
	}
	return 1;
}

/* ---- state life cycle ---- */

int pol_state_protect(struct pol_state *st, lua_CFunction fn, void *ud,
		      uint64_t budget, struct spot_err *err)
{
	lua_State *L = st->L;
	int status, line;
	const char *reason;

	st->aborted = POL_ABORT_NONE;
	st->user_error = st->own_error = false;
	st->err_line = st->mem_line = st->fn_line = 0;
	st->err_reason[0] = 0;
	st->budget = budget;
	st->used = 0;
	st->t0 = 0;
	st->budget_on = budget != 0;
	pol_deadlines(st, budget);
	lua_settop(L, POL_SLOT_COUNT);
	lua_pushcfunction(L, fn);
	lua_pushlightuserdata(L, ud);
	status = lua_pcall(L, 1, 0, POL_SLOT_MSGH);
	st->budget_on = false;
	st->batch = NULL;
	pol_mask_scratch_drop(st); /* a rule half-built when an error hit */
	if (st->aborted)
		lua_sethook(L, pol_hook, LUA_MASKCOUNT, POL_HOOK_PERIOD);
	lua_settop(L, POL_SLOT_COUNT);
	if (status == LUA_OK) {
		st->aborted = POL_ABORT_NONE;
		return 0;
	}
	line = st->err_line;
	reason = st->err_reason;
	if (status == LUA_ERRMEM) { /* the handler is not called */
		line = st->mem_line;
		reason = pol_abort_text[POL_ABORT_MEMORY];
	} else if (!reason[0]) {
		reason = "error in error handling";
	}
	if (line > 0)
		spot_err_set(err, "%s:%d: %s", st->eng->name, line, reason);
	else
		spot_err_set(err, "%s: %s", st->eng->name, reason);
	st->aborted = POL_ABORT_NONE;
	return -EIO;
}

static size_t pol_str_max(const struct pol_limits *lim)
{
	size_t m = lim->value_max * 4;

	if (m / 4 != lim->value_max || m < POL_STR_MIN_MAX)
		m = m / 4 != lim->value_max ? SIZE_MAX / 2 : POL_STR_MIN_MAX;
	return m;
}

int pol_state_new(const struct pol_engine *eng, struct pol_state **out,
		  struct spot_err *err)
{
	struct pol_state *st;
	lua_State *L;
	int rc;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->eng = eng;
	st->mem_max = eng->lim.mem_max;
	st->str_max = pol_str_max(&eng->lim);
	st->column = "";
	st->dataset = "";
	st->colidx_ref = LUA_NOREF;
	spot_buf_init(&st->mbuf);
	for (size_t i = 0; i < POL_MASK_CACHE; i++)
		st->mcache[i].method = -1;
	L = lua_newstate(pol_alloc, st);
	if (!L) {
		free(st);
		spot_err_set(err, "%s: cannot create a Lua state", eng->name);
		return -ENOMEM;
	}
	*(struct pol_state **)lua_getextraspace(L) = st;
	st->L = L;
	lua_atpanic(L, pol_panic);
	/* The hook is in place before any script instruction runs. */
	lua_sethook(L, pol_hook, LUA_MASKCOUNT, POL_HOOK_PERIOD);
	lua_pushcfunction(L, pol_msgh); /* POL_SLOT_MSGH */
	rc = pol_state_protect(st, pol_setup, st, 0, err);
	if (rc) {
		pol_state_free(st);
		return -EINVAL;
	}
	*out = st;
	return 0;
}

void pol_state_free(struct pol_state *st)
{
	if (!st)
		return;
	if (st->L)
		lua_close(st->L);
	pol_mask_fini(st);
	spot_buf_fini(&st->mbuf);
	free(st);
}

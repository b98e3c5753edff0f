/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_engine.c - unit tests of the Lua policy engine: every sandbox safety
 * item of issue 3, ctx fields, row proxy, row filter, mask.* against the C
 * methods, determinism, error messages without values, threads, and a
 * micro-benchmark printout (not an assertion).
 */
#include "engine.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "check.h"
#include "methods.h"
#include "pipe.h"
#include "spot.h"

#define SLOW_S 3.0 /* a hostile call must end well before this */

static struct msk_keys *keys;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct pol_engine *load_lim(const char *src,
				   const struct pol_limits *lim,
				   struct spot_err *err, int *rc)
{
	struct pol_engine *e = NULL;

	err->msg[0] = 0;
	*rc = pol_engine_new_mem("t.lua", src, strlen(src), keys, lim, &e, err);
	return *rc ? NULL : e;
}

static struct pol_engine *load(const char *src)
{
	struct spot_err err;
	struct pol_engine *e;
	int rc;

	e = load_lim(src, NULL, &err, &rc);
	if (!e)
		printf("# load failed: %s\n", err.msg);
	return e;
}

/* ---- batches ---- */

static struct pipe_col cols3[] = {
	{ (char *)"name", 4, PIPE_TEXT, 0 },
	{ (char *)"email", 5, PIPE_TEXT, 0 },
	{ (char *)"country", 7, PIPE_TEXT, 0 },
};

/* Fill b with nrows rows of ncols cells (row-major, NULL = SQL NULL). */
static void fill(struct pipe_batch *b, const char *const *cells, size_t nrows)
{
	pipe_batch_clear(b);
	b->nrows = nrows;
	for (size_t r = 0; r < nrows; r++) {
		b->keep[r] = 1;
		for (size_t c = 0; c < b->ncols; c++) {
			struct pipe_cell *in = &b->in[r * b->ncols + c];
			const char *v = cells[r * b->ncols + c];

			in->p = (const uint8_t *)v;
			in->len = v ? strlen(v) : 0;
			in->type = v ? PIPE_TEXT : PIPE_NULL;
			in->flags = 0;
		}
	}
}

/* Output cell as text: "<NULL>" for NULL, "<UNSET>" if not written. */
static const char *out(const struct pipe_batch *b, size_t r, size_t c,
		       char *buf, size_t len)
{
	const struct pipe_cell *o = &b->out[r * b->ncols + c];

	if (!(o->flags & PIPE_F_SET))
		return "<UNSET>";
	if (o->type == PIPE_NULL)
		return "<NULL>";
	snprintf(buf, len, "%.*s", (int)o->len, o->p ? (const char *)o->p : "");
	return buf;
}

static const struct pol_ctx ctx_role = { .role = "analyst",
					 .dataset = "customers.csv",
					 .path = "customers.csv" };

/* A run over cols3 with one column function bound to column col. */
static struct pol_run *run_col(struct pol_engine *e, const char *fn, size_t col,
			       struct pipe_xform *xf)
{
	struct spot_err err;
	struct pol_run *r = NULL;

	if (pol_run_new(e, &ctx_role, cols3, 3, &r, &err)) {
		printf("# run failed: %s\n", err.msg);
		return NULL;
	}
	if (pol_run_bind_column(r, fn, col, xf, &err)) {
		printf("# bind failed: %s\n", err.msg);
		pol_run_free(r);
		return NULL;
	}
	return r;
}

static const char *rows_ok[] = {
	"Ann",
	"ann@example.com",
	"DE",
	"Bob",
	"bob@example.org",
	"FR",
	"Cy",
	NULL,
	"DE",
};

/* ---- sandbox contents ---- */

static void test_libraries(void)
{
	static const char src[] =
		"local gone = { 'io', 'os', 'package', 'require', 'debug',\n"
		"  'coroutine', 'load', 'loadfile', 'dofile', "
		"'collectgarbage',\n"
		"  'print', 'warn', 'setmetatable', 'getmetatable', 'xpcall',\n"
		"  'loadstring', 'module', 'newproxy' }\n"
		"function access(ctx)\n"
		"  local bad = {}\n"
		"  for _, n in ipairs(gone) do\n"
		"    if _G[n] ~= nil then bad[#bad + 1] = n end\n"
		"  end\n"
		"  for _, n in ipairs{'dump', 'match', 'gmatch', 'gsub',\n"
		"                     'pack', 'unpack'} do\n"
		"    if string[n] ~= nil then bad[#bad + 1] = 'string.' .. n "
		"end\n"
		"  end\n"
		"  if math.random or math.randomseed then bad[#bad+1] = 'rnd' "
		"end\n"
		"  if ('x').dump or ('x').gsub then bad[#bad+1] = 'strmeta' "
		"end\n"
		"  if not (string and table and math and utf8) then\n"
		"    bad[#bad + 1] = 'missing lib' end\n"
		"  if ('abc'):upper() ~= 'ABC' or utf8.len('\\u{e9}') ~= 1 or\n"
		"     math.floor(2.5) ~= 2 or table.concat({1,2}, ',') ~= "
		"'1,2'\n"
		"  then bad[#bad + 1] = 'libs broken' end\n"
		"  if tostring({}) ~= 'table' or tostring(print) ~= 'nil' or\n"
		"     string.format('%s %s', {}, 1) ~= 'table 1' then\n"
		"    bad[#bad + 1] = 'tostring' end\n"
		"  return #bad == 0, table.concat(bad, ',')\n"
		"end\n";
	struct pol_engine *e = load(src);
	struct spot_err err;
	char reason[256];
	bool ok = false;
	int rc;

	CHECK(e != NULL, "library policy loads");
	if (!e)
		return;
	rc = pol_engine_access(e, &ctx_role, &ok, reason, sizeof(reason), &err);
	CHECK(rc == 0 && ok, "only base/string/table/math/utf8, pruned (%s)",
	      rc ? err.msg : reason);
	pol_engine_free(e);
}

/* Run access() of src and return rc; reason/err filled. */
static int access_of(const char *src, const struct pol_limits *lim, bool *ok,
		     char *reason, size_t rlen, struct spot_err *err)
{
	struct pol_engine *e;
	int rc;

	e = load_lim(src, lim, err, &rc);
	if (!e)
		return rc;
	rc = pol_engine_access(e, &ctx_role, ok, reason, rlen, err);
	pol_engine_free(e);
	return rc;
}

static void test_string_metatable(void)
{
	/* No route to the shared string metatable; string methods work. */
	static const char src[] =
		"function access(ctx)\n"
		"  local s = 'abc'\n"
		"  local ok = pcall(function() return getmetatable(s) end)\n"
		"  local ok2 = pcall(function() string.__index = nil end)\n"
		"  return not ok and s:upper() == 'ABC' and s:len() == 3\n"
		"end\n";
	struct spot_err err;
	bool ok = false;
	int rc = access_of(src, NULL, &ok, NULL, 0, &err);

	CHECK(rc == 0 && ok, "string metatable unreachable, methods work");
}

/* Regression: a policy without a columns table made has_column bsearch a
 * NULL array (undefined behaviour, caught by the fuzz corpus replay). */
static void test_no_columns_table(void)
{
	struct pol_engine *e = load("function access(ctx) return true end\n");

	CHECK(e && !pol_engine_has_column(e, "email"),
	      "a policy without columns has no column functions");
	pol_engine_free(e);
}

static void test_find_plain(void)
{
	static const char src[] =
		"function access(ctx)\n"
		"  local a, b = ('a.b.c'):find('.b', 1, true)\n"
		"  local c = ('hello'):find('ll')\n"
		"  local ok = pcall(string.find, 'abc', '.-b')\n"
		"  local d = ('abc'):find('x', 1, true)\n"
		"  return a == 2 and b == 3 and c == 3 and not ok and d == "
		"nil\n"
		"end\n";
	struct spot_err err;
	bool ok = false;
	int rc = access_of(src, NULL, &ok, NULL, 0, &err);

	CHECK(rc == 0 && ok, "string.find is plain; magic chars refused (%s)",
	      rc ? err.msg : "");
}

static void test_re(void)
{
	static const char src[] =
		"function access(ctx)\n"
		"  local y, m = re.match('born 1984-05', "
		"'(\\\\d{4})-(\\\\d{2})')\n"
		"  local s, e = re.find('xxabc', 'abc')\n"
		"  local hostile = ('a'):rep(5000) .. 'b'\n"
		"  local ok = pcall(re.test, hostile, '^(a+)+$')\n"
		"  return y == '1984' and m == '05' and s == 3 and e == 5\n"
		"     and re.test('abc', '^a') and not re.test('abc', '^b')\n"
		"     and re.match('abc', 'z') == nil and not ok\n"
		"end\n";
	struct spot_err err;
	bool ok = false;
	double t0 = now_s();
	int rc = access_of(src, NULL, &ok, NULL, 0, &err);

	CHECK(rc == 0 && ok,
	      "re.match/find/test work, catastrophic "
	      "pattern stopped by the match limit (%s)",
	      rc ? err.msg : "");
	CHECK(now_s() - t0 < SLOW_S, "re limit ends quickly");
}

/* ---- loading ---- */

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	(void)L;
	return spot_buf_append(ud, p, sz) ? 1 : 0;
}

static void test_loading(void)
{
	struct pol_limits lim = pol_limits_default();
	struct spot_err err;
	lua_State *L;
	struct pol_engine *e;
	char *big;
	int rc;

	e = load_lim("x = = 1\n", NULL, &err, &rc);
	CHECK(!e && rc == -EINVAL && strncmp(err.msg, "t.lua:1: ", 9) == 0,
	      "syntax error as file:line: message (%s)", err.msg);
	e = load_lim("\n\nlocal x = 1\nwhile true do end\n", NULL, &err, &rc);
	CHECK(!e && rc == -EINVAL && strstr(err.msg, "t.lua:4: ") &&
		      strstr(err.msg, "budget"),
	      "main chunk runs under the load budget (%s)", err.msg);
	lim.instr_load = 100000;
	e = load_lim("for i = 1, 1e6 do end", &lim, &err, &rc);
	CHECK(!e && rc == -EINVAL, "instr_load is honoured");

	/* A real binary chunk from the same Lua. */
	L = luaL_newstate();
	if (L &&
	    luaL_loadstring(L, "function access() return true end") == LUA_OK) {
		struct spot_buf b;

		spot_buf_init(&b);
		lua_dump(L, dump_writer, &b, 0);
		e = NULL;
		rc = pol_engine_new_mem("t.lua", (const char *)b.p, b.len, keys,
					NULL, &e, &err);
		CHECK(!e && rc == -EINVAL && strstr(err.msg, "binary"),
		      "binary chunk refused (%s)", err.msg);
		spot_buf_fini(&b);
	}
	if (L)
		lua_close(L);

	big = malloc(POL_SRC_MAX + 2);
	if (big) {
		memset(big, ' ', POL_SRC_MAX + 1);
		big[POL_SRC_MAX + 1] = 0;
		e = load_lim(big, NULL, &err, &rc);
		CHECK(!e && rc == -EFBIG, "oversized policy refused (%s)",
		      err.msg);
		free(big);
	}
	e = load_lim("columns = 3", NULL, &err, &rc);
	CHECK(!e && rc == -EINVAL && strstr(err.msg, "columns"),
	      "columns must be a table (%s)", err.msg);
	e = load_lim("columns = { a = 'x' }", NULL, &err, &rc);
	CHECK(!e && rc == -EINVAL, "column entries must be functions");
	e = load_lim("row = 1", NULL, &err, &rc);
	CHECK(!e && rc == -EINVAL, "row must be a function");
}

/* ---- budgets and memory: the call fails, the state keeps working ---- */

/*
 * columns.c runs a hostile snippet when the value is "boom" and returns the
 * value otherwise. Each snippet must fail that batch with -EIO, quickly,
 * and the next batch in the same run must work.
 */
static void hostile(const char *what, const char *snippet,
		    const struct pol_limits *lim, const char *want)
{
	char src[2048], buf[64];
	const char *bad[] = { "x", "boom", "DE" };
	const char *good[] = { "x", "fine", "DE" };
	struct pol_engine *e;
	struct pipe_batch b;
	struct pipe_xform xf;
	struct pol_run *r;
	struct spot_err err;
	double t0;
	int rc;

	snprintf(src, sizeof(src),
		 "columns = { c = function(v, row, ctx)\n"
		 "  if v == 'boom' then\n%s\n  end\n  return v\nend }\n",
		 snippet);
	e = load_lim(src, lim, &err, &rc);
	CHECK(e != NULL, "%s: loads (%s)", what, e ? "" : err.msg);
	if (!e)
		return;
	r = run_col(e, "c", 1, &xf);
	if (!r || pipe_batch_init(&b, 3, 4)) {
		CHECK(0, "%s: run", what);
		pol_run_free(r);
		pol_engine_free(e);
		return;
	}
	fill(&b, bad, 1);
	t0 = now_s();
	rc = xf.fn(xf.arg, &b, 1, &err);
	CHECK(rc == -EIO && strstr(err.msg, want) &&
		      strncmp(err.msg, "t.lua:", 6) == 0,
	      "%s: call fails with -EIO and file:line (%s)", what, err.msg);
	CHECK(now_s() - t0 < SLOW_S, "%s: ends within %.0fs (%.3fs)", what,
	      SLOW_S, now_s() - t0);
	fill(&b, good, 1);
	rc = xf.fn(xf.arg, &b, 1, &err);
	CHECK(rc == 0 && strcmp(out(&b, 0, 1, buf, sizeof(buf)), "fine") == 0,
	      "%s: same state works for the next call", what);
	pipe_batch_fini(&b);
	pol_run_free(r);
	pol_engine_free(e);
}

static void test_budgets(void)
{
	struct pol_limits big = pol_limits_default();

	big.instr_per_call = 1000000000ull; /* let memory hit first */
	hostile("while true", "while true do end", NULL, "budget");
	hostile("pcall loop",
		"while true do pcall(function() while true do end end) end",
		NULL, "budget");
	hostile("1 GiB string.rep", "local s = string.rep('x', 1 << 30)", NULL,
		"memory");
	hostile("table bomb",
		"local t = {} local i = 0\n"
		"while true do i = i + 1 t[i] = { i, i, i } end",
		&big, "memory");
	hostile("string doubling", "local s = 'x' while true do s = s .. s end",
		&big, "memory");
	hostile("recursion",
		"local function f(n) return f(n + 1) + 1 end return f(1)", &big,
		"t.lua:");
	hostile("pcall swallowing memory",
		"while true do pcall(string.rep, 'x', 1 << 30) end", NULL,
		"memory");
	hostile("rep of empty string",
		"local s = ('').rep('', 1 << 62)"
		" error('done')",
		NULL, "withheld");
	hostile("table.move over a huge range",
		"local t = {} table.move(t, 1, 1 << 50, 2)", NULL, "budget");
	hostile("table.insert shifting",
		"local t = {} for i = 1, 200000 do t[i] = i end\n"
		"while true do table.insert(t, 1, 0) table.remove(t, 1) end",
		NULL, "budget");
	hostile("long string comparisons",
		"local a = ('x'):rep(250000) .. 'a'\n"
		"local b = ('x'):rep(250000) .. 'b'\n"
		"while true do local _ = a < b end",
		NULL, "time limit");
	hostile("sort with the default comparator",
		"local s = ('x'):rep(200000) local t = {}\n"
		"for i = 1, 30000 do t[i] = s end table.sort(t)",
		NULL, "time limit");
	hostile("Lua patterns",
		"local s = ('a'):rep(400) return s:find('.-.-.-b')", NULL,
		"patterns are disabled");
}

/* ---- error messages never carry a value ---- */

static void test_no_value_in_errors(void)
{
	static const char *const snippets[] = {
		"error(v)",
		"error('bad value: ' .. v)",
		"error({ v })",
		"assert(false, v)",
		"local x = v + 1",
		"local x = v .. {}",
		"return string.format(v)",
		"return string.rep(v, -1) .. nil",
		"return ('x'):bad(v)",
		"return tonumber(v, 99)",
		"local t = {} t[v]()",
		"return mask.partial(v, { keep_first = v })",
		"return mask.noise(v, { epsilon = 1 })",
		"return re.match(v, v .. '(')",
		"return utf8.codepoint(v, 1, -1) .. {}",
	};
	const char *secret = "%Zsecret-ann@example.com-4111";
	const char *rows[] = { "x", secret, "DE" };

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(snippets); i++) {
		char src[512];
		struct pol_engine *e;
		struct pipe_batch b;
		struct pipe_xform xf;
		struct pol_run *r;
		struct spot_err err;
		int rc;

		snprintf(src, sizeof(src),
			 "columns = { c = function(v, row, ctx)\n"
			 "  do %s end\n  return 'ok'\nend }\n",
			 snippets[i]);
		e = load(src);
		r = e ? run_col(e, "c", 1, &xf) : NULL;
		if (!r || pipe_batch_init(&b, 3, 2)) {
			CHECK(0, "error policy %zu runs", i);
			pol_run_free(r);
			pol_engine_free(e);
			continue;
		}
		fill(&b, rows, 1);
		rc = xf.fn(xf.arg, &b, 1, &err);
		CHECK(rc == -EIO && strncmp(err.msg, "t.lua:2: ", 9) == 0 &&
			      !strstr(err.msg, "secret") &&
			      !strstr(err.msg, "example"),
		      "'%s' fails with t.lua:2: and no value (%s)", snippets[i],
		      err.msg);
		pipe_batch_fini(&b);
		pol_run_free(r);
		pol_engine_free(e);
	}
}

/* ---- ctx, row proxy, row filter ---- */

static void test_ctx_fields(void)
{
	static const char src[] =
		"function access(ctx)\n"
		"  return ctx.role ~= 'intern', string.format(\n"
		"    '%d|%d|%s|%s|%s|%d|%s|%s', ctx.uid, ctx.gid,\n"
		"    table.concat(ctx.groups, ','), ctx.user, ctx.role,\n"
		"    ctx.pid, ctx.dataset, ctx.path)\n"
		"end\n";
	static const gid_t groups[] = { 10, 27, 1001 };
	struct pol_ctx c = { .uid = 1000,
			     .gid = 100,
			     .groups = groups,
			     .ngroups = 3,
			     .user = "alice",
			     .role = "analyst",
			     .pid = 4242,
			     .dataset = "customers.csv",
			     .path = "sub/customers.csv" };
	struct pol_engine *e = load(src);
	struct spot_err err;
	char reason[256];
	bool ok = false;
	int rc;

	if (!e) {
		CHECK(0, "ctx policy loads");
		return;
	}
	rc = pol_engine_access(e, &c, &ok, reason, sizeof(reason), &err);
	CHECK(rc == 0 && ok &&
		      strcmp(reason, "1000|100|10,27,1001|alice|analyst|4242|"
				     "customers.csv|sub/customers.csv") == 0,
	      "every ctx field visible in access() (%s)", reason);
	c.role = "intern";
	rc = pol_engine_access(e, &c, &ok, reason, 8, &err);
	CHECK(rc == 0 && !ok && strlen(reason) == 7,
	      "access denies a role; reason truncated to its buffer");
	pol_engine_free(e);

	e = load("function access(ctx) return 'yes' end");
	ok = true;
	rc = e ? pol_engine_access(e, &c, &ok, reason, sizeof(reason), &err)
	       : -1;
	CHECK(rc == -EIO && !ok && strstr(err.msg, "t.lua:1: access() must"),
	      "non-boolean access() fails closed (%s)", err.msg);
	pol_engine_free(e);
	e = load("function access(ctx) while true do end end");
	ok = true;
	rc = e ? pol_engine_access(e, &c, &ok, reason, sizeof(reason), &err)
	       : -1;
	CHECK(rc == -EIO && !ok, "over-budget access() is never allowed");
	pol_engine_free(e);
	e = load("columns = {}");
	ok = true;
	rc = e ? pol_engine_access(e, &c, &ok, reason, sizeof(reason), &err)
	       : -1;
	CHECK(e && !pol_engine_has_access(e) && rc == -EIO && !ok,
	      "no access(): has_access false, call fails closed");
	pol_engine_free(e);
}

/* Column and row functions see role, dataset and path only (finding 6). */
static void test_ctx_build_minimal(void)
{
	static const char src[] =
		"local function who(ctx)\n"
		"  return string.format('%s|%s|%s|%s|%s|%s|%s|%s',\n"
		"    tostring(ctx.uid), tostring(ctx.gid), tostring(ctx.pid),\n"
		"    tostring(ctx.user), tostring(ctx.groups), ctx.role,\n"
		"    ctx.dataset, ctx.path)\n"
		"end\n"
		"columns = { email = function(v, r, ctx) return who(ctx) end "
		"}\n"
		"function row(r, ctx) return ctx.uid == nil and\n"
		"  ctx.pid == nil and ctx.groups == nil end\n";
	static const gid_t groups[] = { 0 };
	struct pol_ctx c = { .uid = 0,
			     .gid = 0,
			     .groups = groups,
			     .ngroups = 1,
			     .user = "root",
			     .role = "analyst",
			     .pid = 1,
			     .dataset = "customers.csv",
			     .path = "customers.csv" };
	struct pol_engine *e = load(src);
	struct pol_run *r = NULL;
	struct pipe_xform xf;
	struct spot_err err;
	struct pipe_batch b;
	pipe_row_fn rowfn;
	void *rowarg;
	char buf[128];
	int rc;

	if (!e || pipe_batch_init(&b, 3, 4)) {
		CHECK(0, "ctx policy loads");
		pol_engine_free(e);
		return;
	}
	rc = pol_run_new(e, &c, cols3, 3, &r, &err);
	if (!rc)
		rc = pol_run_bind_column(r, "email", 1, &xf, &err);
	if (!rc)
		rc = pol_run_bind_row(r, &rowfn, &rowarg, &err);
	fill(&b, rows_ok, 3);
	if (!rc)
		rc = rowfn(rowarg, &b, &err);
	CHECK(rc == 0 && b.keep[0] && b.keep[1] && b.keep[2],
	      "row(): ctx.uid, ctx.pid and ctx.groups are nil (%d)", rc);
	if (!rc)
		rc = xf.fn(xf.arg, &b, 1, &err);
	CHECK(rc == 0 && !strcmp(out(&b, 0, 1, buf, sizeof(buf)),
				 "nil|nil|nil|nil|nil|analyst|"
				 "customers.csv|customers.csv"),
	      "column fn: only role, dataset and path in ctx (%s)",
	      rc ? err.msg : out(&b, 0, 1, buf, sizeof(buf)));
	pol_run_free(r);
	pipe_batch_fini(&b);
	pol_engine_free(e);
}

static void test_row_and_filter(void)
{
	static const char src[] =
		"columns = {\n"
		"  email = function(v, row, ctx)\n"
		"    if v == nil then return nil end\n"
		"    return row.country .. ':' .. row.name .. ':' .. ctx.role\n"
		"  end,\n"
		"  bad = function(v, row) return row.nosuch end,\n"
		"}\n"
		"function row(r, ctx) return r.country == 'DE' end\n";
	struct pol_engine *e = load(src);
	struct pipe_batch b;
	struct pipe_xform xf, xbad;
	pipe_row_fn rf = NULL;
	void *ra = NULL;
	struct pol_run *r = NULL;
	struct spot_err err;
	char buf[64];
	int rc;

	if (!e || pipe_batch_init(&b, 3, 4)) {
		CHECK(0, "row policy loads");
		pol_engine_free(e);
		return;
	}
	CHECK(pol_engine_has_row(e) && pol_engine_has_column(e, "email") &&
		      !pol_engine_has_column(e, "name") &&
		      !pol_engine_has_access(e),
	      "has_row/has_column/has_access");
	CHECK(!pol_engine_has_column_len(e, "email\0x", 7) &&
		      !pol_engine_has_column_len(e, "email\0", 6) &&
		      pol_engine_has_column_len(e, "emailx", 5) &&
		      !pol_engine_has_column_len(e, "emai", 4),
	      "has_column is length-aware: 'email\\0x' is not 'email'");
	rc = pol_run_new(e, &ctx_role, cols3, 3, &r, &err);
	rc = rc ? rc : pol_run_bind_row(r, &rf, &ra, &err);
	rc = rc ? rc : pol_run_bind_column(r, "email", 1, &xf, &err);
	CHECK(rc == 0 && xf.col == 1, "bind row filter and column");
	if (rc)
		goto out;
	fill(&b, rows_ok, 3);
	rc = rf(ra, &b, &err);
	CHECK(rc == 0 && b.keep[0] && !b.keep[1] && b.keep[2],
	      "row filter keeps DE rows only");
	rc = xf.fn(xf.arg, &b, 1, &err);
	CHECK(rc == 0 &&
		      strcmp(out(&b, 0, 1, buf, sizeof(buf)),
			     "DE:Ann:analyst") == 0 &&
		      strcmp(out(&b, 1, 1, buf, sizeof(buf)), "<UNSET>") == 0 &&
		      strcmp(out(&b, 2, 1, buf, sizeof(buf)), "<NULL>") == 0,
	      "column function reads row.other and ctx; dropped rows "
	      "untouched; nil gives NULL");
	CHECK(pol_run_bind_column(r, "nope", 0, &xbad, &err) == -EINVAL,
	      "binding a missing column function is -EINVAL (%s)", err.msg);
	rc = pol_run_bind_column(r, "bad", 0, &xbad, &err);
	fill(&b, rows_ok, 1);
	rc = rc ? rc : xbad.fn(xbad.arg, &b, 0, &err);
	CHECK(rc == -EIO && strstr(err.msg, "t.lua:6:"),
	      "unknown row field is a policy error (%s)", err.msg);
out:
	pol_run_free(r);
	pipe_batch_fini(&b);
	pol_engine_free(e);

	e = load("columns = { a = function(v) return v end }");
	r = NULL;
	rc = e ? pol_run_new(e, &ctx_role, cols3, 3, &r, &err) : -1;
	CHECK(rc == 0 && pol_run_bind_row(r, &rf, &ra, &err) == -EINVAL,
	      "bind_row without row() is -EINVAL");
	pol_run_free(r);
	pol_engine_free(e);
}

static void test_return_types(void)
{
	static const char *const rets[] = { "42", "{}", "true",
					    "function() end" };
	const char *rows[] = { "a", "b", "c" };

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(rets); i++) {
		char src[256];
		struct pol_engine *e;
		struct pipe_batch b;
		struct pipe_xform xf;
		struct pol_run *r;
		struct spot_err err;
		int rc = -1;

		snprintf(src, sizeof(src),
			 "columns = { c = function(v)\n  return %s\nend }\n"
			 "function row(r) return %s end\n",
			 rets[i], rets[i]);
		e = load(src);
		r = e ? run_col(e, "c", 0, &xf) : NULL;
		if (r && pipe_batch_init(&b, 3, 2) == 0) {
			pipe_row_fn rf;
			void *ra;

			fill(&b, rows, 1);
			rc = xf.fn(xf.arg, &b, 0, &err);
			CHECK(rc == -EIO && strstr(err.msg, "t.lua:1: column "
							    "function must"),
			      "returning %s is -EIO (%s)", rets[i], err.msg);
			CHECK(!(b.out[0].flags & PIPE_F_SET),
			      "nothing served for %s", rets[i]);
			rc = pol_run_bind_row(r, &rf, &ra, &err);
			rc = rc ? rc : rf(ra, &b, &err);
			CHECK(i == 2 ? rc == 0 && b.keep[0] : rc == -EIO,
			      "row() returning %s: only booleans accepted",
			      rets[i]);
			pipe_batch_fini(&b);
		} else {
			CHECK(0, "return policy %zu", i);
		}
		pol_run_free(r);
		pol_engine_free(e);
	}
}

static void test_value_cap(void)
{
	struct pol_limits lim = pol_limits_default();
	struct pol_engine *e;
	struct pipe_batch b;
	struct pipe_xform xf;
	struct pol_run *r;
	struct spot_err err;
	char big[200];
	const char *rows[] = { "a", big, "c" };
	int rc;

	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	lim.value_max = 100;
	e = load_lim("columns = { c = function(v) return 'x' end }", &lim, &err,
		     &rc);
	r = e ? run_col(e, "c", 1, &xf) : NULL;
	if (!r || pipe_batch_init(&b, 3, 1)) {
		CHECK(0, "value cap policy");
	} else {
		fill(&b, rows, 1);
		rc = xf.fn(xf.arg, &b, 1, &err);
		CHECK(rc == -EIO && strstr(err.msg, "value limit") &&
			      !strstr(err.msg, "vvv"),
		      "values over value_max fail closed (%s)", err.msg);
		pipe_batch_fini(&b);
	}
	pol_run_free(r);
	pol_engine_free(e);
}

/* ---- mask.* equals the C methods ---- */

struct mcase {
	const char *lua; /* expression of v */
	enum msk_method m;
	const char *k1, *v1, *k2, *v2;
	const char *value;
};

static const struct mcase mcases[] = {
	{ "mask.hash(v)", MSK_HASH, NULL, NULL, NULL, NULL, "ann@x.org" },
	{ "mask.hash(v, 12)", MSK_HASH, "length", "12", NULL, NULL, "ann" },
	{ "mask.tokenize(v)", MSK_TOKENIZE, NULL, NULL, NULL, NULL, "ann" },
	{ "mask.pattern(v, '***-**-####')", MSK_MASK, "pattern", "***-**-####",
	  NULL, NULL, "123-45-6789" },
	{ "mask.partial(v, { keep_first = 2, keep_last = 4 })", MSK_PARTIAL,
	  "keep_first", "2", "keep_last", "4", "4111111111111111" },
	{ "mask.email(v)", MSK_EMAIL, NULL, NULL, NULL, NULL,
	  "john.doe@example.com" },
	{ "mask.email(v, { domain = 'hash' })", MSK_EMAIL, "domain", "hash",
	  NULL, NULL, "john.doe@example.com" },
	{ "mask.redact(v)", MSK_REDACT, NULL, NULL, NULL, NULL, "secret" },
	{ "mask.redact(v, '[X]')", MSK_REDACT, "text", "[X]", NULL, NULL,
	  "secret" },
	{ "mask.fake(v, 'name')", MSK_FAKE, "kind", "name", NULL, NULL, "Ann" },
	{ "mask.generalize(v, { to = 'year' })", MSK_GENERALIZE, "to", "year",
	  NULL, NULL, "1984-05-17" },
	{ "mask.generalize(v, { to = 'range', step = 10 })", MSK_GENERALIZE,
	  "to", "range", "step", "10", "37" },
	{ "mask.noise(v, { epsilon = 0.5, sensitivity = 1000 })", MSK_NOISE,
	  "epsilon", "0.5", "sensitivity", "1000", "52000" },
	{ "mask.pii(v)", MSK_PII, NULL, NULL, NULL, NULL,
	  "mail ann@example.com or call 555-123-4567" },
	{ "mask.pii(v, { replace = 'hash', detect = 'email,ip' })", MSK_PII,
	  "replace", "hash", "detect", "email,ip",
	  "mail ann(at)example.com from 10.1.2.3, call 555-123-4567" },
	{ "mask.fpe(v)", MSK_FPE, NULL, NULL, NULL, NULL, "123-45-6789" },
	{ "mask.fpe(v, { luhn = true, group = 'cards' })", MSK_FPE, "luhn",
	  "true", "group", "cards", "4111 1111 1111 1111" },
	{ "mask.fpe(v, 'hex')", MSK_FPE, "alphabet", "hex", NULL, NULL,
	  "c0ffee42" },
	{ "mask.hash(v, { group = 'customer' })", MSK_HASH, "group", "customer",
	  NULL, NULL, "ann@x.org" },
	{ "mask.tokenize(v, { group = 'customer', length = 20 })", MSK_TOKENIZE,
	  "group", "customer", "length", "20", "ann@x.org" },
	{ "mask.fake(v, { kind = 'name', group = 'people' })", MSK_FAKE, "kind",
	  "name", "group", "people", "Ann" },
	{ "mask.shift(v, '30d')", MSK_SHIFT, "max", "30d", NULL, NULL,
	  "2024-02-27T08:00:00Z" },
	{ "mask.truncate(v, 'hour')", MSK_TRUNCATE, "to", "hour", NULL, NULL,
	  "2024-02-27T08:41:07Z" },
	{ "mask.round(v, { step = 10, max = 90 })", MSK_ROUND, "step", "10",
	  "max", "90", "97" },
	{ "mask.scramble(v)", MSK_SCRAMBLE, NULL, NULL, NULL, NULL,
	  "AB-1234-cd" },
};

static void test_mask_equals_c(void)
{
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(mcases); i++) {
		const struct mcase *mc = &mcases[i];
		const char *rows[] = { "x", mc->value, "DE" };
		struct msk_cell cell = { "customers.csv", "email", 0, NULL, 0 };
		struct msk_rule rule;
		struct spot_buf want;
		enum pipe_type wt;
		struct pol_engine *e;
		struct pipe_batch b;
		struct pipe_xform xf;
		struct pol_run *r;
		struct spot_err err;
		char src[256], buf[512];
		int rc;

		snprintf(src, sizeof(src),
			 "columns = { c = function(v) return %s end }",
			 mc->lua);
		msk_rule_init(&rule, mc->m);
		spot_buf_init(&want);
		rc = mc->k1 ? msk_rule_set(&rule, mc->k1, mc->v1, &err) : 0;
		rc = rc || !mc->k2 ? rc
				   : msk_rule_set(&rule, mc->k2, mc->v2, &err);
		rc = rc ? rc : msk_rule_check(&rule, &err);
		rc = rc ? rc
			: msk_apply(&rule, keys, &cell,
				    (const uint8_t *)mc->value,
				    strlen(mc->value), PIPE_TEXT, &want, &wt);
		e = load(src);
		r = e ? run_col(e, "c", 1, &xf) : NULL;
		if (rc || !r || pipe_batch_init(&b, 3, 1)) {
			CHECK(0, "%s: set-up (%d)", mc->lua, rc);
		} else {
			fill(&b, rows, 1);
			rc = xf.fn(xf.arg, &b, 1, &err);
			CHECK(rc == 0 && strcmp(out(&b, 0, 1, buf, sizeof(buf)),
						(const char *)want.p) == 0,
			      "%s equals msk_apply (%s)", mc->lua,
			      rc ? err.msg : buf);
			pipe_batch_fini(&b);
		}
		pol_run_free(r);
		pol_engine_free(e);
		msk_rule_fini(&rule);
		spot_buf_fini(&want);
	}
}

static void test_mask_misc(void)
{
	static const char src[] =
		"local function many()\n" /* more rules than the cache */
		"  for i = 8, 64 do\n"
		"    if #mask.hash('a', i) ~= i then return false end\n"
		"  end\n"
		"  return mask.hash('a', 9) == mask.hash('a', 9)\n"
		"end\n"
		"function access(ctx)\n"
		"  local ok1 = pcall(mask.partial, 'x', { keep_frist = 1 })\n"
		"  local ok2 = pcall(mask.hash, 'x', { length = 'abc' })\n"
		"  local ok3 = pcall(mask.hash, {}, 8)\n"
		"  return mask.null('x') == nil and mask.hash(nil) == nil\n"
		"    and mask.hash('a') == mask.hash('a')\n"
		"    and mask.hash('a') ~= mask.hash('b')\n"
		"    and not ok1 and not ok2 and not ok3\n"
		"    and many() and pcall(error, 'x') == false\n"
		"    and select('#', pcall(function() return 1, 2 end)) == 3\n"
		"end\n";
	struct spot_err err;
	bool ok = false;
	int rc = access_of(src, NULL, &ok, NULL, 0, &err);

	CHECK(rc == 0 && ok, "mask: NULL stays NULL, bad options refused (%s)",
	      rc ? err.msg : "");
}

/* ---- determinism ---- */

static const char det_src[] =
	"local seen = 0\n"
	"columns = { c = function(v, row, ctx)\n"
	"  seen = seen + 1\n"
	"  return mask.hash(v) .. '/' .. mask.noise('100', { epsilon = 1 })\n"
	"    .. '/' .. tostring(seen)\n"
	"end }\n";

/* Output of one run over n rows "v<i>", concatenated into dst. */
static int det_run(struct pol_engine *e, size_t n, struct spot_buf *dst)
{
	struct pipe_batch b;
	struct pipe_xform xf;
	struct pol_run *r = run_col(e, "c", 1, &xf);
	struct spot_err err;
	char vals[16][16];
	const char *rows[16 * 3] = { NULL };
	char buf[256];
	int rc = -1;

	if (!r || pipe_batch_init(&b, 3, 16)) {
		pol_run_free(r);
		return -1;
	}
	for (size_t i = 0; i < n && i < 16; i++) {
		snprintf(vals[i], sizeof(vals[i]), "v%zu", i);
		rows[i * 3] = "n";
		rows[i * 3 + 1] = vals[i];
		rows[i * 3 + 2] = "DE";
	}
	fill(&b, rows, n);
	rc = xf.fn(xf.arg, &b, 1, &err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = spot_buf_printf(dst, "%s;",
				     out(&b, i, 1, buf, sizeof(buf)));
	pipe_batch_fini(&b);
	pol_run_free(r);
	return rc;
}

static void test_determinism(void)
{
	struct pol_engine *e1 = load(det_src), *e2 = load(det_src);
	struct spot_buf a, b, c;

	spot_buf_init(&a);
	spot_buf_init(&b);
	spot_buf_init(&c);
	CHECK(e1 && e2 && det_run(e1, 16, &a) == 0 &&
		      det_run(e1, 16, &b) == 0 && det_run(e2, 16, &c) == 0,
	      "determinism runs");
	CHECK(a.len && a.len == b.len && memcmp(a.p, b.p, a.len) == 0 &&
		      a.len == c.len && memcmp(a.p, c.p, a.len) == 0,
	      "same input gives the same bytes across runs and engines; "
	      "globals do not carry over between runs");
	spot_buf_fini(&a);
	spot_buf_fini(&b);
	spot_buf_fini(&c);
	pol_engine_free(e1);
	pol_engine_free(e2);
}

/* ---- threads ---- */

struct thr {
	struct pol_engine *e;
	const struct spot_buf *want;
	int failures;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;

	for (int i = 0; i < 8; i++) {
		struct spot_buf got;
		struct spot_err err;
		bool ok = false;

		spot_buf_init(&got);
		if (det_run(t->e, 16, &got) || got.len != t->want->len ||
		    memcmp(got.p, t->want->p, got.len) != 0)
			t->failures++;
		if (pol_engine_access(t->e, &ctx_role, &ok, NULL, 0, &err) ||
		    !ok)
			t->failures++;
		spot_buf_fini(&got);
	}
	return NULL;
}

static void test_threads(void)
{
	char src[1024];
	struct pol_engine *e;
	struct spot_buf want;
	pthread_t th[4];
	struct thr t[4];
	int fails = 0;

	snprintf(src, sizeof(src),
		 "%s\nfunction access(ctx) return "
		 "ctx.role == 'analyst' end\n",
		 det_src);
	e = load(src);
	spot_buf_init(&want);
	if (!e || det_run(e, 16, &want)) {
		CHECK(0, "thread policy");
		pol_engine_free(e);
		return;
	}
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){ e, &want, 0 };
		pthread_create(&th[i], NULL, thr_main, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		fails += t[i].failures;
	}
	CHECK(fails == 0, "4 threads share one engine, same results (%d bad)",
	      fails);
	spot_buf_fini(&want);
	pol_engine_free(e);
}

/* ---- files: example policy, probes ---- */

static char lua_dir[512];

static void test_files(void)
{
	char path[700], reason[128];
	struct pol_engine *e = NULL;
	struct spot_err err;
	bool ok = false;
	int rc;

	snprintf(path, sizeof(path),
		 "%s/../../../examples/policies/"
		 "customers.lua",
		 lua_dir);
	rc = pol_engine_new(path, keys, NULL, &e, &err);
	CHECK(rc == 0 && pol_engine_has_access(e) && pol_engine_has_row(e) &&
		      pol_engine_has_column(e, "email"),
	      "example customers.lua loads (%s)", rc ? err.msg : "");
	if (e) {
		struct pol_ctx c = ctx_role;

		c.role = "contractor";
		rc = pol_engine_access(e, &c, &ok, reason, sizeof(reason),
				       &err);
		CHECK(rc == 0 && !ok && reason[0],
		      "example denies the contractor role (%s)", reason);
	}
	pol_engine_free(e);
	snprintf(path, sizeof(path), "%s/no-such-file.lua", lua_dir);
	CHECK(pol_engine_new(path, keys, NULL, &e, &err) == -ENOENT,
	      "missing policy file is -ENOENT");
	for (int i = 0; i < 3; i++) {
		static const char *const probes[] = { "probe_concat.lua",
						      "probe_close.lua",
						      "probe_gc.lua" };

		snprintf(path, sizeof(path), "%s/%s", lua_dir, probes[i]);
		e = NULL;
		rc = pol_engine_new(path, keys, NULL, &e, &err);
		ok = false;
		reason[0] = 0;
		if (rc == 0)
			rc = pol_engine_access(e, &ctx_role, &ok, reason,
					       sizeof(reason), &err);
		CHECK(rc == 0 && ok && strcmp(reason, "blocked") == 0,
		      "%s: every route blocked (%s)", probes[i],
		      rc ? err.msg : reason);
		pol_engine_free(e);
	}
}

/* ---- micro-benchmark (printed, not asserted) ---- */

static void bench_fill(struct pipe_batch *b, char (*vals)[24], size_t base)
{
	pipe_batch_clear(b);
	b->nrows = PIPE_BATCH_ROWS;
	b->first_row = base;
	for (size_t r = 0; r < PIPE_BATCH_ROWS; r++) {
		struct pipe_cell *in = &b->in[r * 3];

		snprintf(vals[r], sizeof(vals[r]), "user%zu@example.com",
			 base + r);
		b->keep[r] = 1;
		in[0] = (struct pipe_cell){ (const uint8_t *)"Ann", 3,
					    PIPE_TEXT, 0 };
		in[1] = (struct pipe_cell){ (const uint8_t *)vals[r],
					    strlen(vals[r]), PIPE_TEXT, 0 };
		in[2] = (struct pipe_cell){ (const uint8_t *)((r & 1) ? "DE"
								      : "FR"),
					    2, PIPE_TEXT, 0 };
	}
}

static int bench_c(void *arg, struct pipe_batch *b, size_t col,
		   struct spot_err *err)
{
	const struct msk_rule *rule = arg;
	struct spot_buf o;
	enum pipe_type t;

	(void)err;
	spot_buf_init(&o);
	for (size_t r = 0; r < b->nrows; r++) {
		const struct pipe_cell *in = &b->in[r * b->ncols + col];

		spot_buf_reset(&o);
		if (msk_apply(rule, keys, NULL, in->p, in->len, PIPE_TEXT, &o,
			      &t) ||
		    pipe_batch_set(b, r, col, o.p, o.len, t))
			return -EIO;
	}
	spot_buf_fini(&o);
	return 0;
}

static void bench_one(const char *what, struct pipe_xform *xf, pipe_row_fn rf,
		      void *ra, size_t nrows)
{
	static char vals[PIPE_BATCH_ROWS][24];
	struct pipe_batch b;
	struct spot_err err;
	double t0;
	int rc = 0;

	if (pipe_batch_init(&b, 3, PIPE_BATCH_ROWS))
		return;
	t0 = now_s();
	for (size_t n = 0; n < nrows && !rc; n += PIPE_BATCH_ROWS) {
		bench_fill(&b, vals, n);
		rc = xf ? xf->fn(xf->arg, &b, xf->col, &err) : rf(ra, &b, &err);
	}
	printf("# bench: %-34s %9.0f rows/s%s\n", what,
	       (double)nrows / (now_s() - t0), rc ? " (FAILED)" : "");
	pipe_batch_fini(&b);
}

static void bench(void)
{
	const char *env = getenv("SPOT_BENCH_ROWS");
	size_t nrows = env ? strtoul(env, NULL, 10) : 200000;
	struct pol_engine *e =
		load("columns = { h = function(v) return mask.hash(v) end,\n"
		     "  id = function(v) return v end,\n"
		     "  cc = function(v, row) return row.country .. v:sub(1, "
		     "4) end }\n"
		     "function row(r, ctx) return r.country == 'DE' end\n");
	struct pipe_xform xc = { 1, bench_c, NULL, false, false, false }, xh,
			  xi, xr;
	struct pol_run *r = NULL;
	struct spot_err err;
	struct msk_rule rule;
	pipe_row_fn rf;
	void *ra;

	msk_rule_init(&rule, MSK_HASH);
	xc.arg = &rule;
	if (!e || pol_run_new(e, &ctx_role, cols3, 3, &r, &err) ||
	    pol_run_bind_column(r, "h", 1, &xh, &err) ||
	    pol_run_bind_column(r, "id", 1, &xi, &err) ||
	    pol_run_bind_column(r, "cc", 0, &xr, &err) ||
	    pol_run_bind_row(r, &rf, &ra, &err)) {
		printf("# bench set-up failed\n");
	} else {
		bench_one("C msk_apply hash", &xc, NULL, NULL, nrows);
		bench_one("Lua column: mask.hash(v)", &xh, NULL, NULL, nrows);
		bench_one("Lua column: return v", &xi, NULL, NULL, nrows);
		bench_one("Lua column: row.country .. v:sub", &xr, NULL, NULL,
			  nrows);
		bench_one("Lua row filter: r.country == 'DE'", NULL, rf, ra,
			  nrows);
	}
	msk_rule_fini(&rule);
	pol_run_free(r);
	pol_engine_free(e);
}

int main(void)
{
	static const uint8_t secret[32] = "spotfs test secret, 32 bytes...";
	char file[512];
	double t0 = now_s();

	snprintf(file, sizeof(file), "%s", __FILE__);
	snprintf(lua_dir, sizeof(lua_dir), "%s/lua", dirname(file));
	spot_log_set_level(SPOT_LOG_ERR);
	if (msk_keys_new(secret, sizeof(secret), &keys)) {
		CHECK(0, "keys");
		return check_done();
	}
	test_libraries();
	test_string_metatable();
	test_no_columns_table();
	test_find_plain();
	test_re();
	test_loading();
	test_budgets();
	test_no_value_in_errors();
	test_ctx_fields();
	test_ctx_build_minimal();
	test_row_and_filter();
	test_return_types();
	test_value_cap();
	test_mask_equals_c();
	test_mask_misc();
	test_determinism();
	test_threads();
	test_files();
	bench();
	printf("# total %.2fs\n", now_s() - t0);
	msk_keys_free(keys);
	return check_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * engine.c - the policy engine's public face: loading and validating a
 * policy, access decisions, and view-build runs whose column functions and
 * row filter plug into the pipeline as pipe_col_fn / pipe_row_fn.
 *
 * Hot path: one lua_pcall per batch; inside it a C loop calls the
 * pre-resolved function (a registry reference fetched once per batch) with
 * the value as an argument, the row proxy (one userdata per run whose
 * __index reads the current raw row in C) and the ctx table (one per run).
 * No table is built per row.
 */
#include "engine.h"
#include "engine_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#define POL_DEF_INSTR_CALL 1000000u
#define POL_DEF_INSTR_LOAD 10000000u
#define POL_DEF_MEM_MAX (16u << 20)
#define POL_DEF_VALUE_MAX (64u << 10)

/* Registry keys (their addresses) of the per-run objects. */
static const char pol_key_ctx;
static const char pol_key_row;

struct pol_bind {
	struct pol_run *run;
	int ref;    /* registry reference of the function */
	int line;   /* where the function is defined */
	size_t col; /* column index (0 for the row filter) */
	const char *colname;
};

struct pol_run {
	struct pol_engine *eng;
	struct pol_state *st;
	const struct pol_ctx *ctx; /* only during pol_run_new */
	char **colnames;	   /* copies of the source column names */
	size_t *colnamelens;
	size_t ncols;
	char *dataset;
	struct pol_bind *binds; /* at most one per column */
	size_t nbinds;
	struct pol_bind rowbind;
};

struct pol_limits pol_limits_default(void)
{
	struct pol_limits l = {
		.instr_per_call = POL_DEF_INSTR_CALL,
		.instr_load = POL_DEF_INSTR_LOAD,
		.mem_max = POL_DEF_MEM_MAX,
		.value_max = POL_DEF_VALUE_MAX,
	};

	return l;
}

/* ---- error messages ---- */

/* Known shapes of VM and library messages (they name code, not data). */
static const char *const pol_shapes[] = {
	"attempt to ",
	"bad argument #",
	"stack overflow",
	"C stack overflow",
	"error in error handling",
	"table index is ",
	"number has no integer representation",
	"'for' ",
	"string length overflow",
	"wrong number of arguments",
	"position out of bounds",
	"invalid value (at index ",
	"invalid order function for sorting",
	"too many results to unpack",
	"too many elements to move",
	"destination wrap around",
	"resulting string too large",
	"object length is not an integer",
	"assertion failed!",
	"not enough memory",
	"value expected",
	"initial position must be",
	"base out of range",
	"value out of range",
	"invalid UTF-8 code",
};

/* A parenthetical detail is kept only if it is lowercase words. */
static bool pol_paren_safe(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (!((c >= 'a' && c <= 'z') || c == ' ' || c == ','))
			return false;
	}
	return true;
}

void pol_reason_clean(const char *msg, char *out, size_t outlen)
{
	size_t n, keep = 0;
	bool known = false;

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(pol_shapes); i++) {
		if (strncmp(msg, pol_shapes[i], strlen(pol_shapes[i])) == 0) {
			known = true;
			break;
		}
	}
	if (!known) {
		snprintf(out, outlen, "runtime error (message withheld)");
		return;
	}
	n = strlen(msg);
	if (strncmp(msg, "bad argument #", 14) == 0) {
		/* "bad argument #1 to 'f' (detail)": the detail may quote
		 * the argument (string.format) unless it is plain words. */
		const char *q = strstr(msg, " (");

		if (q && msg[n - 1] == ')' &&
		    !pol_paren_safe(q + 2, (size_t)(msg + n - 1 - (q + 2))))
			n = (size_t)(q - msg);
	}
	for (size_t i = 0; i < n && keep + 1 < outlen; i++) {
		unsigned char c = (unsigned char)msg[i];

		out[keep++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[keep] = 0;
}

/* ---- loading and validation ---- */

static int pol_fn_line(lua_State *L)
{
	lua_Debug ar;

	lua_pushvalue(L, -1);
	if (!lua_getinfo(L, ">S", &ar))
		return 0;
	return ar.linedefined > 0 ? ar.linedefined : 0;
}

/* Optional global function: nil is fine, anything else must be callable. */
static bool pol_global_fn(lua_State *L, struct pol_state *st, const char *name)
{
	int t = lua_getglobal(L, name);

	lua_pop(L, 1);
	if (t != LUA_TNIL && t != LUA_TFUNCTION)
		pol_raise(L, st, "'%s' must be a function", name);
	return t == LUA_TFUNCTION;
}

static int pol_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Record what the policy defines (protected; ud is the engine). */
static int pol_inspect(lua_State *L)
{
	struct pol_engine *e = lua_touserdata(L, 1);
	struct pol_state *st = pol_state_of(L);
	size_t n = 0;

	e->has_row = pol_global_fn(L, st, "row");
	e->has_access = pol_global_fn(L, st, "access");
	if (lua_getglobal(L, "columns") == LUA_TNIL)
		return 0;
	if (!lua_istable(L, -1))
		return pol_raise(L, st, "'columns' must be a table");
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		n++;
		lua_pop(L, 1);
	}
	e->colfns = calloc(n ? n : 1, sizeof(*e->colfns));
	if (!e->colfns)
		return pol_raise(L, st, "out of memory");
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		size_t len;
		const char *k;

		if (lua_type(L, -2) != LUA_TSTRING)
			return pol_raise(L, st, "'columns' keys must be names");
		k = lua_tolstring(L, -2, &len);
		if (lua_type(L, -1) != LUA_TFUNCTION)
			return pol_raise(L, st,
					 "columns.%.64s must be a function", k);
		if (strlen(k) == len && e->ncolfns < n) {
			e->colfns[e->ncolfns] = strdup(k);
			if (!e->colfns[e->ncolfns])
				return pol_raise(L, st, "out of memory");
			e->ncolfns++;
		}
		lua_pop(L, 1);
	}
	qsort(e->colfns, e->ncolfns, sizeof(*e->colfns), pol_cmp_str);
	return 0;
}

static void pol_limits_fill(struct pol_limits *dst,
			    const struct pol_limits *lim)
{
	struct pol_limits d = pol_limits_default();

	*dst = lim ? *lim : d;
	if (!dst->instr_per_call)
		dst->instr_per_call = d.instr_per_call;
	if (!dst->instr_load)
		dst->instr_load = d.instr_load;
	if (!dst->mem_max)
		dst->mem_max = d.mem_max;
	if (!dst->value_max)
		dst->value_max = d.value_max;
}

int pol_engine_new_mem(const char *name, const char *src, size_t len,
		       const struct msk_keys *keys,
		       const struct pol_limits *lim, struct pol_engine **out,
		       struct spot_err *err)
{
	struct pol_engine *e;
	struct pol_state *st = NULL;
	int rc;

	if (len > POL_SRC_MAX) {
		spot_err_set(err, "%s: policy larger than %u bytes", name,
			     POL_SRC_MAX);
		return -EFBIG;
	}
	if (len && src[0] == LUA_SIGNATURE[0]) {
		spot_err_set(err, "%s: binary chunks are refused", name);
		return -EINVAL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->keys = keys;
	pol_limits_fill(&e->lim, lim);
	e->name = strdup(name);
	e->src = malloc(len ? len : 1);
	rc = -ENOMEM;
	if (!e->name || !e->src)
		goto fail;
	memcpy(e->src, src, len);
	e->srclen = len;
	rc = pol_state_new(e, &st, err);
	if (rc)
		goto fail;
	rc = pol_state_protect(st, pol_inspect, e, 0, err);
	pol_state_free(st);
	if (rc) {
		rc = -EINVAL;
		goto fail;
	}
	*out = e;
	return 0;
fail:
	pol_engine_free(e);
	return rc;
}

int pol_engine_new(const char *path, const struct msk_keys *keys,
		   const struct pol_limits *lim, struct pol_engine **out,
		   struct spot_err *err)
{
	struct stat sb;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		spot_err_set(err, "%s: cannot open policy: %s", path,
			     strerror(-rc));
		return rc;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		rc = -EINVAL;
		spot_err_set(err, "%s: not a regular file", path);
		goto out;
	}
	if (sb.st_size > POL_SRC_MAX) {
		rc = -EFBIG;
		spot_err_set(err, "%s: policy larger than %u bytes", path,
			     POL_SRC_MAX);
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	rc = -ENOMEM;
	if (!buf)
		goto out;
	while (got <= POL_SRC_MAX) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			spot_err_set(err, "%s: read: %s", path, strerror(-rc));
			goto out;
		}
		if (n == 0 || got + (size_t)n > (size_t)sb.st_size)
			break; /* a file that grows is read up to its size */
		got += (size_t)n;
	}
	rc = pol_engine_new_mem(path, buf, got, keys, lim, out, err);
out:
	free(buf);
	close(fd);
	return rc;
}

void pol_engine_free(struct pol_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->ncolfns; i++)
		free(e->colfns[i]);
	free(e->colfns);
	free(e->src);
	free(e->name);
	free(e);
}

/* strcmp order of a NUL-free (name, len) against the C string c. */
static int pol_cmp_len(const char *name, size_t len, const char *c)
{
	size_t clen = strlen(c);
	int d = memcmp(name, c, len < clen ? len : clen);

	return d ? d : (len > clen) - (len < clen);
}

bool pol_engine_has_column_len(const struct pol_engine *e, const char *name,
			       size_t len)
{
	size_t lo = 0, hi = e->ncolfns;

	/* A name with a NUL byte is no key of columns (those have none). */
	if (memchr(name, 0, len))
		return false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = pol_cmp_len(name, len, e->colfns[mid]);

		if (!d)
			return true;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

bool pol_engine_has_column(const struct pol_engine *e, const char *name)
{
	return pol_engine_has_column_len(e, name, strlen(name));
}

size_t pol_engine_column_count(const struct pol_engine *e)
{
	return e->ncolfns;
}

const char *pol_engine_column_name(const struct pol_engine *e, size_t i)
{
	return i < e->ncolfns ? e->colfns[i] : NULL;
}

bool pol_engine_has_row(const struct pol_engine *e)
{
	return e->has_row;
}

bool pol_engine_has_access(const struct pol_engine *e)
{
	return e->has_access;
}

/* ---- ctx ---- */

static void pol_set_str(lua_State *L, struct pol_state *st, const char *k,
			const char *v)
{
	size_t len;

	if (!v)
		return;
	len = strlen(v);
	if (len > st->eng->lim.value_max)
		pol_raise(L, st, "ctx.%s longer than the value limit", k);
	lua_pushlstring(L, v, len);
	lua_setfield(L, -2, k);
}

static void pol_set_int(lua_State *L, const char *k, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, k);
}

/*
 * Push a fresh ctx table for c. Only access() sees who the caller is (full):
 * a view is built once per role and served to every caller of that role, so
 * column and row functions get role, dataset and path only - a uid, gid,
 * pid, user or groups there would be those of whoever triggered the build.
 */
static void pol_push_ctx(lua_State *L, struct pol_state *st,
			 const struct pol_ctx *c, bool full)
{
	lua_createtable(L, 0, 8);
	pol_set_str(L, st, "role", c->role);
	pol_set_str(L, st, "dataset", c->dataset);
	pol_set_str(L, st, "path", c->path);
	if (!full)
		return;
	pol_set_int(L, "uid", (lua_Integer)c->uid);
	pol_set_int(L, "gid", (lua_Integer)c->gid);
	pol_set_int(L, "pid", (lua_Integer)c->pid);
	pol_set_str(L, st, "user", c->user);
	pol_charge(L, st, c->ngroups);
	lua_createtable(L, (int)(c->ngroups < 65536 ? c->ngroups : 65536), 0);
	for (size_t i = 0; i < c->ngroups; i++) {
		lua_pushinteger(L, (lua_Integer)c->groups[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "groups");
}

/* ---- access ---- */

struct pol_access {
	const struct pol_ctx *ctx;
	bool allowed;
	char *reason;
	size_t reasonlen;
};

static int pol_access_fn(lua_State *L)
{
	struct pol_access *a = lua_touserdata(L, 1);
	struct pol_state *st = pol_state_of(L);
	size_t len = 0;
	const char *why = NULL;

	if (lua_getglobal(L, "access") != LUA_TFUNCTION)
		return pol_raise(L, st, "the policy defines no access()");
	st->fn_line = pol_fn_line(L);
	pol_push_ctx(L, st, a->ctx, true);
	lua_call(L, 1, 2);
	if (!lua_isboolean(L, -2))
		return pol_raise(L, st, "access() must return a boolean");
	if (lua_type(L, -1) == LUA_TSTRING)
		why = lua_tolstring(L, -1, &len);
	else if (!lua_isnil(L, -1))
		return pol_raise(L, st, "access() reason must be a string");
	if (a->reasonlen) {
		if (len >= a->reasonlen)
			len = a->reasonlen - 1;
		if (len)
			memcpy(a->reason, why, len);
		a->reason[len] = 0;
	}
	a->allowed = lua_toboolean(L, -2);
	return 0;
}

int pol_engine_access(struct pol_engine *e, const struct pol_ctx *ctx,
		      bool *allowed, char *reason, size_t reasonlen,
		      struct spot_err *err)
{
	struct pol_access a = { ctx, false, reason, reasonlen };
	struct pol_state *st;
	int rc;

	*allowed = false;
	if (reasonlen)
		reason[0] = 0;
	rc = pol_state_new(e, &st, err);
	if (rc)
		return rc == -ENOMEM ? rc : -EIO;
	rc = pol_state_protect(st, pol_access_fn, &a, e->lim.instr_per_call,
			       err);
	pol_state_free(st);
	if (rc) {
		if (reasonlen)
			reason[0] = 0;
		return rc;
	}
	*allowed = a.allowed;
	return 0;
}

/* ---- the row proxy ---- */

/* row.NAME: the raw value of column NAME in the current row. */
static int pol_row_index(lua_State *L)
{
	struct pol_state *st = pol_state_of(L);
	struct pipe_batch *b = st->batch;
	lua_Integer idx;

	if (!b)
		return pol_raise(L, st, "row values exist only in row calls");
	lua_pushvalue(L, 2);
	if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNUMBER)
		return pol_raise(L, st, "row: no such column");
	idx = lua_tointeger(L, -1);
	pol_push_cell(L, st, &b->in[st->row * b->ncols + (size_t)idx]);
	return 1;
}

/* Build ctx, the name -> index table and the row proxy (protected). */
static int pol_run_setup(lua_State *L)
{
	struct pol_run *r = lua_touserdata(L, 1);
	struct pol_state *st = pol_state_of(L);

	pol_push_ctx(L, st, r->ctx, false);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &pol_key_ctx);
	lua_newuserdatauv(L, 0, 0);
	lua_createtable(L, 0, 2);
	lua_createtable(L, 0, (int)(r->ncols < 65536 ? r->ncols : 65536));
	for (size_t i = 0; i < r->ncols; i++) {
		lua_pushlstring(L, r->colnames[i], r->colnamelens[i]);
		lua_pushvalue(L, -1);
		if (lua_rawget(L, -3) == LUA_TNIL) { /* first one wins */
			lua_pop(L, 1);
			lua_pushinteger(L, (lua_Integer)i);
			lua_rawset(L, -3);
		} else {
			lua_pop(L, 2);
		}
	}
	lua_pushcclosure(L, pol_row_index, 1);
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &pol_key_row);
	return 0;
}

void pol_run_free(struct pol_run *r)
{
	if (!r)
		return;
	pol_state_free(r->st);
	for (size_t i = 0; r->colnames && i < r->ncols; i++)
		free(r->colnames[i]);
	free(r->colnames);
	free(r->colnamelens);
	free(r->binds);
	free(r->dataset);
	free(r);
}

int pol_run_new(struct pol_engine *e, const struct pol_ctx *ctx,
		const struct pipe_col *cols, size_t ncols, struct pol_run **out,
		struct spot_err *err)
{
	struct pol_run *r;
	int rc = -ENOMEM;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->eng = e;
	r->ncols = ncols;
	r->colnames = calloc(ncols ? ncols : 1, sizeof(*r->colnames));
	r->colnamelens = calloc(ncols ? ncols : 1, sizeof(*r->colnamelens));
	r->binds = calloc(ncols ? ncols : 1, sizeof(*r->binds));
	r->dataset = strdup(ctx->dataset ? ctx->dataset : "");
	if (!r->colnames || !r->colnamelens || !r->binds || !r->dataset)
		goto fail;
	for (size_t i = 0; i < ncols; i++) {
		r->colnames[i] = malloc(cols[i].name_len + 1);
		if (!r->colnames[i])
			goto fail;
		memcpy(r->colnames[i], cols[i].name, cols[i].name_len);
		r->colnames[i][cols[i].name_len] = 0;
		r->colnamelens[i] = cols[i].name_len;
	}
	rc = pol_state_new(e, &r->st, err);
	if (rc) {
		rc = rc == -ENOMEM ? rc : -EIO;
		goto fail;
	}
	r->st->dataset = r->dataset;
	r->ctx = ctx;
	rc = pol_state_protect(r->st, pol_run_setup, r, 0, err);
	r->ctx = NULL;
	if (rc)
		goto fail;
	*out = r;
	return 0;
fail:
	pol_run_free(r);
	return rc;
}

/* ---- binding functions ---- */

struct pol_lookup {
	const char *name; /* columns[name], or NULL for the global row */
	int ref;
	int line;
};

static int pol_lookup_fn(lua_State *L)
{
	struct pol_lookup *k = lua_touserdata(L, 1);
	struct pol_state *st = pol_state_of(L);

	if (k->name) {
		if (lua_getglobal(L, "columns") != LUA_TTABLE)
			return pol_raise(L, st, "the policy has no columns");
		lua_getfield(L, -1, k->name);
	} else {
		lua_getglobal(L, "row");
	}
	if (!lua_isfunction(L, -1))
		return pol_raise(L, st, "no such policy function");
	k->line = pol_fn_line(L);
	k->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

/* Annotate a batch error with where it happened (no value); rows count
 * from 1, as in the methods' errors (plan.c). */
static void pol_batch_err(struct pol_bind *bd, struct pipe_batch *b,
			  struct spot_err *err)
{
	struct pol_state *st = bd->run->st;

	if (bd->colname)
		snprintf(err->msg + strlen(err->msg),
			 sizeof(err->msg) - strlen(err->msg),
			 " (column '%.64s', row %llu)", bd->colname,
			 (unsigned long long)(b->first_row + st->row + 1));
	else
		snprintf(err->msg + strlen(err->msg),
			 sizeof(err->msg) - strlen(err->msg),
			 " (row filter, row %llu)",
			 (unsigned long long)(b->first_row + st->row + 1));
}

/* One batch of column function calls (protected). */
static int pol_col_batch(lua_State *L)
{
	struct pol_bind *bd = lua_touserdata(L, 1);
	struct pol_state *st = pol_state_of(L);
	struct pipe_batch *b = st->batch;
	size_t ncols = b->ncols, col = bd->col;

	lua_rawgeti(L, LUA_REGISTRYINDEX, bd->ref);	 /* 2: function */
	lua_rawgetp(L, LUA_REGISTRYINDEX, &pol_key_row); /* 3: row */
	lua_rawgetp(L, LUA_REGISTRYINDEX, &pol_key_ctx); /* 4: ctx */
	st->fn_line = bd->line;
	for (size_t r = 0; r < b->nrows; r++) {
		const struct pipe_cell *in = &b->in[r * ncols + col];
		enum pipe_type t = in->type == PIPE_NULL ? PIPE_TEXT : in->type;
		const char *s;
		size_t len;
		int rt;

		if (!b->keep[r])
			continue;
		st->row = r;
		pol_state_call_begin(st);
		lua_pushvalue(L, 2);
		pol_push_cell(L, st, in);
		if (b->recs) /* JSON Lines: the record as a table */
			pol_push_json(L, st, b->recs[r].p, b->recs[r].len);
		else
			lua_pushvalue(L, 3);
		lua_pushvalue(L, 4);
		lua_call(L, 3, 1);
		rt = lua_type(L, -1);
		if (rt == LUA_TNIL) {
			t = PIPE_NULL;
			s = NULL;
			len = 0;
		} else if (rt == LUA_TSTRING) {
			s = lua_tolstring(L, -1, &len);
		} else {
			return pol_raise(L, st,
					 "column function must return a "
					 "string or nil");
		}
		if (pipe_batch_set(b, r, col, s, len, t))
			return pol_raise(L, st, "out of memory");
		lua_pop(L, 1);
	}
	return 0;
}

static int pol_col_xform(void *arg, struct pipe_batch *b, size_t col,
			 struct spot_err *err)
{
	struct pol_bind *bd = arg;
	struct pol_state *st = bd->run->st;
	int rc;

	(void)col; /* bound at pol_run_bind_column */
	st->batch = b;
	st->column = bd->colname;
	rc = pol_state_protect(st, pol_col_batch, bd,
			       bd->run->eng->lim.instr_per_call, err);
	st->column = "";
	if (rc)
		pol_batch_err(bd, b, err);
	return rc;
}

int pol_run_bind_column(struct pol_run *r, const char *fn_name, size_t col,
			struct pipe_xform *xf, struct spot_err *err)
{
	struct pol_lookup k = { fn_name, LUA_NOREF, 0 };
	struct pol_bind *bd;
	int rc;

	if (col >= r->ncols || r->nbinds >= r->ncols) {
		spot_err_set(err, "%s: column %zu out of range", r->eng->name,
			     col);
		return -EINVAL;
	}
	if (!pol_engine_has_column(r->eng, fn_name)) {
		spot_err_set(err, "%s: columns.%s is not a function",
			     r->eng->name, fn_name);
		return -EINVAL;
	}
	rc = pol_state_protect(r->st, pol_lookup_fn, &k, 0, err);
	if (rc)
		return -EINVAL;
	bd = &r->binds[r->nbinds++];
	bd->run = r;
	bd->ref = k.ref;
	bd->line = k.line;
	bd->col = col;
	bd->colname = r->colnames[col];
	xf->col = col;
	xf->fn = pol_col_xform;
	xf->arg = bd;
	xf->keeps_type = false;
	xf->needs_row = true; /* row.NAME reads the rest of the row */
	return 0;
}

/* One batch of row filter calls (protected). */
static int pol_row_batch(lua_State *L)
{
	struct pol_bind *bd = lua_touserdata(L, 1);
	struct pol_state *st = pol_state_of(L);
	struct pipe_batch *b = st->batch;

	lua_rawgeti(L, LUA_REGISTRYINDEX, bd->ref);	 /* 2: function */
	lua_rawgetp(L, LUA_REGISTRYINDEX, &pol_key_row); /* 3: row */
	lua_rawgetp(L, LUA_REGISTRYINDEX, &pol_key_ctx); /* 4: ctx */
	st->fn_line = bd->line;
	for (size_t r = 0; r < b->nrows; r++) {
		if (!b->keep[r])
			continue;
		st->row = r;
		pol_state_call_begin(st);
		lua_pushvalue(L, 2);
		if (b->recs) /* JSON Lines: the record as a table */
			pol_push_json(L, st, b->recs[r].p, b->recs[r].len);
		else
			lua_pushvalue(L, 3);
		lua_pushvalue(L, 4);
		lua_call(L, 2, 1);
		if (!lua_isboolean(L, -1)) {
			return pol_raise(L, st, "row() must return a boolean");
		}
		b->keep[r] = (uint8_t)lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	return 0;
}

static int pol_row_filter(void *arg, struct pipe_batch *b, struct spot_err *err)
{
	struct pol_bind *bd = arg;
	struct pol_state *st = bd->run->st;
	int rc;

	st->batch = b;
	st->column = "";
	rc = pol_state_protect(st, pol_row_batch, bd,
			       bd->run->eng->lim.instr_per_call, err);
	if (rc)
		pol_batch_err(bd, b, err);
	return rc;
}

int pol_run_bind_row(struct pol_run *r, pipe_row_fn *fn, void **arg,
		     struct spot_err *err)
{
	struct pol_lookup k = { NULL, LUA_NOREF, 0 };
	int rc;

	if (!r->eng->has_row) {
		spot_err_set(err, "%s: the policy defines no row()",
			     r->eng->name);
		return -EINVAL;
	}
	rc = pol_state_protect(r->st, pol_lookup_fn, &k, 0, err);
	if (rc)
		return -EINVAL;
	r->rowbind.run = r;
	r->rowbind.ref = k.ref;
	r->rowbind.line = k.line;
	r->rowbind.colname = NULL;
	*fn = pol_row_filter;
	*arg = &r->rowbind;
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * engine_i.h - private to the policy engine (engine.c, engine_sandbox.c,
 * engine_mask.c): the engine object, one sandboxed Lua state, and the
 * helpers shared between the three files.
 *
 * A pol_state is owned by exactly one thread for its whole life (it is built
 * for one view build or one access call and closed afterwards).
 */
#ifndef SPOT_POL_ENGINE_I_H
#define SPOT_POL_ENGINE_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "engine.h"
#include "methods.h"
#include "pipe.h"
#include "spot.h"

#define POL_HOOK_PERIOD 128	     /* instructions between count-hook calls */
#define POL_BYTES_PER_UNIT 64	     /* budget charge for string bytes */
#define POL_STR_MIN_MAX (256u << 10) /* string cap floor */
#define POL_REASON_MAX 160
#define POL_MASK_CACHE 32   /* parsed mask.* rules kept per state */
#define POL_MASK_KEYMAX 200 /* canonical option text of one rule */
#define POL_RE_CACHE 16	    /* compiled re.* patterns kept per state */

/* Fixed stack slots of a state's main thread between protected calls. */
enum pol_slot {
	POL_SLOT_MSGH = 1, /* the message handler */
	POL_SLOT_COUNT = 1,
};

/* Immutable after pol_engine_new: shared by threads without a lock. */
struct pol_engine {
	char *name; /* path as given, for messages */
	char *src;  /* the policy text */
	size_t srclen;
	const struct msk_keys *keys; /* borrowed */
	struct pol_limits lim;
	bool has_row;
	bool has_access;
	char **colfns; /* names of function-valued columns[] entries */
	size_t ncolfns;
};

struct pol_mask_rule {
	int method; /* enum msk_method, -1 = free slot */
	size_t keylen;
	char key[POL_MASK_KEYMAX];
	struct msk_rule rule;
};

struct pol_re;

/* Why a call was aborted; POL_ABORT_NONE while running normally. */
enum pol_abort {
	POL_ABORT_NONE = 0,
	POL_ABORT_BUDGET,
	POL_ABORT_TIME,
	POL_ABORT_MEMORY,
};

/* One sandboxed Lua state and everything its host functions need. */
struct pol_state {
	lua_State *L;
	const struct pol_engine *eng;
	/* Memory accounting (the allocator). */
	size_t mem_used;
	size_t mem_max;
	size_t str_max; /* longest string object the policy may build */
	int mem_line;	/* line running when memory was refused, or 0 */
	/* Budget of the current call, in instruction units. */
	bool budget_on;
	uint64_t budget;
	uint64_t used;
	uint64_t deadline_ns; /* wall-clock backstop per call */
	uint64_t t0; /* start of the call (set lazily by the hook), or 0 */
	uint64_t batch_deadline_ns; /* wall-clock backstop per batch */
	uint64_t batch_t0;	    /* start of the protected call */
	enum pol_abort aborted;
	/* Error classification for the message handler. */
	bool user_error; /* error()/assert(v, msg) raised a policy message */
	bool own_error;	 /* a host function raised a data-free message */
	int err_line;
	int fn_line; /* definition of the function being called, or 0 */
	char err_reason[POL_REASON_MAX];
	/* What the running call works on (for row proxy and mask.noise). */
	struct pipe_batch *batch; /* NULL outside a batch */
	size_t row;
	const char *column;  /* column name of the running column fn, or "" */
	const char *dataset; /* ctx dataset, or "" */
	int colidx_ref;	     /* registry ref: name -> column index table */
	/* Host function scratch. */
	struct spot_buf mbuf;
	struct pol_mask_rule mcache[POL_MASK_CACHE];
	struct msk_rule mscratch; /* a mask.* rule being built */
	bool mscratch_live;	  /* mscratch holds owned strings */
	struct pol_re *re;	  /* compiled pattern cache, engine_mask.c */
};

/* ---- engine_sandbox.c ---- */

/*
 * Build a sandboxed state for eng, load the policy text and run its main
 * chunk under the load budget. 0, -EINVAL (syntax or main-chunk error, err
 * set), -ENOMEM.
 */
int pol_state_new(const struct pol_engine *eng, struct pol_state **out,
		  struct spot_err *err);
void pol_state_free(struct pol_state *st);

/*
 * Run fn(L) with the single light userdata argument ud in protected mode,
 * with budget units per call armed (0: no budget, for set-up work). 0 or
 * -EIO with err "name:line: reason" (reason data-free, see msgh).
 */
int pol_state_protect(struct pol_state *st, lua_CFunction fn, void *ud,
		      uint64_t budget, struct spot_err *err);

/* Start a new call inside a batch: fresh budget, deadline restarted. */
static inline void pol_state_call_begin(struct pol_state *st)
{
	st->used = 0;
	st->t0 = 0;
}

/* Charge units of C work; raises the budget error when over. */
void pol_charge(lua_State *L, struct pol_state *st, uint64_t units);

/* Raise a data-free error message written by a host function. */
int pol_raise(lua_State *L, struct pol_state *st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The state of a running lua_State. */
struct pol_state *pol_state_of(lua_State *L);

/* Push a value cell (nil for NULL); fails the call if longer than the cap. */
void pol_push_cell(lua_State *L, struct pol_state *st,
		   const struct pipe_cell *c);

/*
 * Push a JSON Lines record (p, len: one JSON object) as a fresh Lua table
 * (engine_json.c); raises a data-free error for anything else.
 */
void pol_push_json(lua_State *L, struct pol_state *st, const uint8_t *p,
		   size_t len);

/* ---- engine_sandbox.c: error message cleaning ---- */

/*
 * Turn a raw Lua error message into a data-free reason: the known shapes
 * of VM and library errors are kept (identifiers from the policy code
 * only), everything else becomes a fixed text. Writes into out.
 */
void pol_reason_clean(const char *msg, char *out, size_t outlen);

/* ---- engine_mask.c ---- */

/* Register mask.* and re.* in the state (called during set-up). */
void pol_mask_open(lua_State *L, struct pol_state *st);
/* Free the mask.* rule being built, if any (after a Lua error). */
void pol_mask_scratch_drop(struct pol_state *st);
/* Free rule and pattern caches. */
void pol_mask_fini(struct pol_state *st);

#endif /* SPOT_POL_ENGINE_I_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_policy.c - libFuzzer target for policy loading: arbitrary bytes are
 * loaded as a policy (tight limits) and, when they load, access(), the row
 * filter and columns.a / columns.b run on a small batch of hostile values.
 * Any crash, hang (beyond the budgets), leak or sanitizer report is a bug.
 *
 *   clang -fsanitize=fuzzer,address ... fuzz_policy.c ...
 *   gcc ... fuzz_policy.c fuzz_main.c ...; ./fuzz_policy FILE...
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods.h"
#include "pipe.h"
#include "spot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct msk_keys *fz_keys;

static const char *const fz_vals[] = {
	"ann@example.com",
	"",
	"%s%d%q",
	"\xff\xfe\x00z",
	"123-45-6789",
	"4111111111111111",
	"DE",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
};

static void fz_run(struct pol_engine *e)
{
	static struct pipe_col cols[] = { { (char *)"a", 1, PIPE_TEXT, 0 },
					  { (char *)"b", 1, PIPE_TEXT, 0 } };
	static const gid_t groups[] = { 1, 2 };
	struct pol_ctx ctx = { 1000,	  100, groups,	2,	"u",
			       "analyst", 1,   "d.csv", "d.csv" };
	struct pipe_batch b;
	struct pol_run *r = NULL;
	struct spot_err err;
	struct pipe_xform xf;
	pipe_row_fn rf;
	void *ra;
	char reason[64];
	bool ok;
	size_t n = SPOT_ARRAY_SIZE(fz_vals);

	if (pol_engine_has_access(e))
		pol_engine_access(e, &ctx, &ok, reason, sizeof(reason), &err);
	if (pipe_batch_init(&b, 2, n))
		return;
	if (pol_run_new(e, &ctx, cols, 2, &r, &err))
		goto out;
	b.nrows = n;
	for (size_t i = 0; i < n; i++) {
		const char *v = fz_vals[i];
		size_t len = i == 3 ? 4 : strlen(v);

		b.keep[i] = 1;
		b.in[2 * i] =
			(struct pipe_cell){ (const uint8_t *)v, len,
					    i == 1 ? PIPE_NULL : PIPE_TEXT, 0 };
		b.in[2 * i + 1] = (struct pipe_cell){ (const uint8_t *)v, len,
						      PIPE_TEXT, 0 };
	}
	if (pol_engine_has_row(e) && !pol_run_bind_row(r, &rf, &ra, &err))
		rf(ra, &b, &err);
	for (size_t c = 0; c < 2; c++) {
		if (pol_engine_has_column(e, cols[c].name) &&
		    !pol_run_bind_column(r, cols[c].name, c, &xf, &err))
			xf.fn(xf.arg, &b, c, &err);
	}
out:
	pol_run_free(r);
	pipe_batch_fini(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t secret[32] = "fuzzing secret, thirty-two bytes";
	struct pol_limits lim = pol_limits_default();
	struct pol_engine *e = NULL;
	struct spot_err err;

	if (!fz_keys && msk_keys_new(secret, sizeof(secret), &fz_keys))
		abort();
	spot_log_set_level(SPOT_LOG_ERR);
	lim.instr_per_call = 20000;
	lim.instr_load = 100000;
	lim.mem_max = 4u << 20;
	if (pol_engine_new_mem("fuzz.lua", (const char *)data, size, fz_keys,
			       &lim, &e, &err) == 0) {
		fz_run(e);
		pol_engine_free(e);
	}
	return 0;
}

void fuzz_replay_done(void);

/* The replay driver (fuzz_main.c) calls this after the last input. */
void fuzz_replay_done(void)
{
	msk_keys_free(fz_keys);
	fz_keys = NULL;
}

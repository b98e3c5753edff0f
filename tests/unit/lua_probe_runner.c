/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lua_probe_runner.c - loads one sandbox probe (tests/unit/lua/probe_*.lua)
 * through the policy engine and reports whether every route it tries was
 * blocked. The probe's access(ctx) and, if defined, columns.probe (run on
 * one small batch, so the row proxy is exercised too) must both return
 * "blocked". Run by tests/unit/lua_probes.sh under valgrind.
 *
 *   lua_probe_runner PROBE.lua      exit 0: blocked, 1: reached or failed
 */
#include "engine.h"

#include <stdio.h>
#include <string.h>

#include "methods.h"
#include "pipe.h"
#include "spot.h"

static int probe_column(struct pol_engine *e, struct spot_err *err)
{
	static struct pipe_col cols[] = { { (char *)"a", 1, PIPE_TEXT, 0 },
					  { (char *)"b", 1, PIPE_TEXT, 0 } };
	static const struct pol_ctx ctx = { .role = "probe",
					    .dataset = "probe.csv" };
	struct pipe_batch b;
	struct pipe_xform xf;
	struct pol_run *r = NULL;
	const struct pipe_cell *o;
	int rc;

	rc = pipe_batch_init(&b, 2, 2);
	if (rc)
		return rc;
	rc = pol_run_new(e, &ctx, cols, 2, &r, err);
	rc = rc ? rc : pol_run_bind_column(r, "probe", 0, &xf, err);
	if (rc)
		goto out;
	b.nrows = 2;
	for (size_t i = 0; i < 4; i++)
		b.in[i] = (struct pipe_cell){ (const uint8_t *)"v", 1,
					      PIPE_TEXT, 0 };
	b.keep[0] = b.keep[1] = 1;
	rc = xf.fn(xf.arg, &b, 0, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < 2; i++) {
		o = &b.out[i * 2];
		if (o->len != 7 || memcmp(o->p, "blocked", 7) != 0) {
			spot_err_set(err, "column probe: %.*s", (int)o->len,
				     o->p ? (const char *)o->p : "");
			rc = 1;
		}
	}
out:
	pol_run_free(r);
	pipe_batch_fini(&b);
	return rc;
}

int main(int argc, char **argv)
{
	static const uint8_t secret[32] = "probe runner secret, not a key";
	static const struct pol_ctx ctx = { .role = "probe" };
	struct msk_keys *keys = NULL;
	struct pol_engine *e = NULL;
	struct spot_err err = { "" };
	char reason[128] = "";
	bool ok = false;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PROBE.lua\n", argv[0]);
		return 2;
	}
	rc = msk_keys_new(secret, sizeof(secret), &keys);
	rc = rc ? rc : pol_engine_new(argv[1], keys, NULL, &e, &err);
	rc = rc ? rc
		: pol_engine_access(e, &ctx, &ok, reason, sizeof(reason), &err);
	if (rc == 0 && (!ok || strcmp(reason, "blocked") != 0)) {
		spot_err_set(&err, "access probe: %s", reason);
		rc = 1;
	}
	if (rc == 0 && pol_engine_has_column(e, "probe"))
		rc = probe_column(e, &err);
	printf("%s: %s\n", argv[1], rc ? err.msg : "blocked");
	pol_engine_free(e);
	msk_keys_free(keys);
	return rc ? 1 : 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_config.c - libFuzzer target for the config loader: YAML parsing,
 * the tree limits and every validation step of cfg_load_buf.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... fuzz_config.c
 *   ./fuzz_config -max_len=65536 corpus/
 *
 * Linked with fuzz_main.c instead of libFuzzer, it replays the files named
 * on the command line (for regression runs without libFuzzer).
 *
 * The input is loaded as if it were <tmp>/fuzz.yaml in a scratch folder
 * holding a source folder "data", a policy "policies/p.lua" and a private
 * secret "keys/secret.bin", so inputs can reach the deeper checks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_i.h"
#include "spot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[256];

static void fuzz_put(const char *dir, const char *rel, const char *text,
		     mode_t mode)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
}

static void fuzz_setup(void)
{
	char dir[] = "/tmp/fuzz_config.XXXXXX", p[512];

	if (!mkdtemp(dir))
		abort();
	snprintf(p, sizeof(p), "%s/data", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/data/sub", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/policies", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/keys", dir);
	mkdir(p, 0700);
	fuzz_put(dir, "policies/p.lua", "-- policy\n", 0644);
	fuzz_put(dir, "keys/secret.bin", "0123456789abcdef0123456789abcdef",
		 0600);
	snprintf(fuzz_path, sizeof(fuzz_path), "%s/fuzz.yaml", dir);
	spot_log_set_level(SPOT_LOG_ERR);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cfg_dataset *d;
	struct spot_err err;
	struct cfg *c = NULL;
	size_t i, j;

	if (!fuzz_path[0])
		fuzz_setup();
	if (size > CFG_MAX_BYTES)
		return 0; /* cfg_load refuses these before parsing */
	if (cfg_load_buf(fuzz_path, data, size, &c, &err)) {
		if (c || !strchr(err.msg, ':'))
			abort(); /* no cfg on error, always a message */
		return 0;
	}
	/* Exercise the queries on whatever loaded. */
	(void)cfg_role_for(c, 0, 0, NULL, 0);
	(void)cfg_is_dataset_parent(c, "sub");
	for (i = 0; i < c->ndatasets; i++) {
		d = &c->datasets[i];
		if (cfg_dataset_find(c, d->name) != d)
			abort();
		(void)cfg_dataset_allows(d, c->default_role);
		(void)cfg_dataset_role_dependent(d);
		for (j = 0; j < d->rules.ncols; j++)
			if (!cfg_column_rule(d, NULL, c->default_role,
					     d->rules.cols[j].name))
				abort();
	}
	cfg_free(c);
	return 0;
}

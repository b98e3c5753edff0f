/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * report_synth.c - `spotfs report --synthetic DATASET`: what the epsilon
 * of a DP synthetic table bought. For every modelled column and every
 * configured pair, the total variation distance between its marginal in
 * the source rows (after the role's row filter) and in the synthetic
 * table. Only the distances are printed, never a value.
 *
 * With --mount MNT the live sandbox computes them (over the very table it
 * serves, through its control channel); without, this process builds the
 * model from the config as spotfs preview builds views (a random secret
 * draws another table of the same model).
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cmd_life.h"
#include "ctl.h"
#include "registry.h"
#include "sandbox.h"

#define RSYN_TIMEOUT_MS (10 * 60 * 1000)

static void rsyn_usage(FILE *f)
{
	fprintf(f,
		"usage: spotfs report --synthetic DATASET [--role ROLE]\n"
		"                     [-c CONFIG | --mount MNT [--state-dir "
		"DIR]]\n"
		"\n"
		"The utility of DATASET's DP synthetic table (synthetic: in "
		"the\n"
		"config): for each modelled column and each configured pair, "
		"the\n"
		"total variation distance between the source's marginal (the "
		"rows\n"
		"ROLE may see) and the synthetic table's: 0 is identical, 1 "
		"is\n"
		"disjoint. Only the distances are printed.\n"
		"\n"
		"options:\n"
		"  -c, --config FILE   sandbox config (YAML): build the model "
		"here\n"
		"  -m, --mount MNT     ask the live sandbox on MNT (the table "
		"it serves)\n"
		"  -r, --role ROLE     the role whose rows (default: the "
		"default role)\n"
		"      --state-dir DIR registry folder of the live sandbox\n"
		"  -h, --help          this text\n");
}

static void rsyn_print(const char *dataset, const char *role, const char *body)
{
	printf("synthetic table of %s (role %s): total variation distance "
	       "per marginal\n",
	       dataset, role);
	for (const char *p = body; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		const char *tab = memchr(p, '\t', n);

		if (tab)
			printf("  %-40.*s %.*s\n", (int)(tab - p), p,
			       (int)(n - (size_t)(tab - p) - 1), tab + 1);
		p += n + (nl ? 1 : 0);
	}
}

static int rsyn_live(const char *mnt, const char *state, const char *role,
		     const char *dataset)
{
	struct reg_sandbox sb;
	struct spot_buf req, reply;
	struct spot_err err = { "" };
	char sock[PATH_MAX];
	int rc = CLI_EXIT_FAIL;

	if (!role) {
		cli_error("report", "--mount needs --role (the live sandbox "
				    "computes for one role)");
		return CLI_EXIT_USAGE;
	}
	if (strchr(role, ' ') || strchr(dataset, '\n')) {
		cli_error("report", "bad role or dataset name");
		return CLI_EXIT_USAGE;
	}
	if (cli_live_sandbox("report", state, mnt, &sb, sock, sizeof(sock)))
		return CLI_EXIT_FAIL;
	spot_buf_init(&req);
	spot_buf_init(&reply);
	if (spot_buf_printf(&req, "synthetic %s %s", role, dataset) ||
	    spot_buf_putc(&req, 0)) {
		cli_error("report", "out of memory");
	} else if (ctl_call_ms(sock, (const char *)req.p, RSYN_TIMEOUT_MS,
			       &reply, &err)) {
		cli_error("report", "%s", err.msg);
	} else {
		spot_buf_putc(&reply, 0);
		rsyn_print(dataset, role, (const char *)reply.p);
		rc = CLI_EXIT_OK;
	}
	spot_buf_fini(&req);
	spot_buf_fini(&reply);
	reg_sandbox_fini(&sb);
	return rc;
}

static int rsyn_local(const char *config, const char *role, const char *dataset)
{
	struct spot_err err = { "" };
	const struct cfg_dataset *d;
	struct spot_buf out;
	struct cfg *cfg;
	struct sbx *s;
	int rc = CLI_EXIT_FAIL;

	cfg = cli_load_config(config);
	if (!cfg)
		return CLI_EXIT_FAIL;
	if (sbx_new(cfg, &s, &err)) {
		cli_error("report", "%s", err.msg);
		return CLI_EXIT_FAIL;
	}
	if (!role)
		role = s->cfg->default_role;
	d = cfg_dataset_find(s->cfg, dataset);
	spot_buf_init(&out);
	if (!d || !d->synth) {
		cli_error("report",
			  "'%s' is not a dataset with synthetic: in %s",
			  dataset, s->cfg->path);
	} else if (!cfg_dataset_allows(d, role)) {
		cli_error("report", "role '%s' may not open %s", role, d->name);
	} else if (sbx_dp_tvd(s, d, role, &out, &err) ||
		   spot_buf_putc(&out, 0)) {
		cli_error("report", "%s", err.msg[0] ? err.msg : "failed");
	} else {
		rsyn_print(d->name, role, (const char *)out.p);
		rc = CLI_EXIT_OK;
	}
	spot_buf_fini(&out);
	sbx_free(s);
	return rc;
}

int cli_report_synthetic(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "synthetic", no_argument, NULL, 'S' },
		{ "config", required_argument, NULL, 'c' },
		{ "mount", required_argument, NULL, 'm' },
		{ "role", required_argument, NULL, 'r' },
		{ "state-dir", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *mnt = NULL, *role = NULL, *state = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "Sc:m:r:h", lopts, NULL)) != -1) {
		if (c == 'S')
			continue;
		else if (c == 'c')
			config = optarg;
		else if (c == 'm')
			mnt = optarg;
		else if (c == 'r')
			role = optarg;
		else if (c == 'D')
			state = optarg;
		else if (c == 'h')
			return rsyn_usage(stdout), CLI_EXIT_OK;
		else
			return rsyn_usage(stderr), CLI_EXIT_USAGE;
	}
	if (optind != argc - 1 || (mnt && config)) {
		rsyn_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (sodium_init() < 0)
		return CLI_EXIT_FAIL;
	return mnt ? rsyn_live(mnt, state, role, argv[optind])
		   : rsyn_local(config, role, argv[optind]);
}

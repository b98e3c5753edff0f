/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_reveal.c - spotfs reveal: turn fpe tokens of one column back into
 * the values they were made from, for the holder of the sandbox's stable
 * secret file.
 *
 * Refused unless the config has `secret: FILE` (with a random secret no
 * token can ever be reversed, and a reveal would only prove that), the
 * column's rule (for the chosen role) is fpe, and the audit record of the
 * reveal (who, dataset, column, how many tokens; never a token or a value)
 * is committed first: no audit, no output.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "life.h"
#include "methods.h"
#include "sandbox.h"

#define CLI_REVEAL_LINE_MAX 4096 /* bytes of one token read from stdin */
#define CLI_REVEAL_MAX 1000000	 /* tokens per call */

static void cli_reveal_usage(FILE *f)
{
	fprintf(f,
		"usage: spotfs reveal [-c CONFIG] [--role ROLE] "
		"DATASET[/TABLE] "
		"COLUMN TOKEN...\n"
		"       spotfs reveal [-c CONFIG] DATASET COLUMN -   (tokens "
		"from stdin,\n"
		"                                                   one a "
		"line)\n"
		"\n"
		"Print, one a line, the values the fpe tokens of COLUMN were "
		"made\n"
		"from. Needs `secret: FILE` in the config (refused with "
		"secret: random)\n"
		"and read access to that file; COLUMN's rule must be fpe. "
		"Each call is\n"
		"audited first (who, dataset, column, how many tokens; never "
		"a value).\n"
		"A token fpe did not encrypt (a value too short, served "
		"masked) prints\n"
		"an empty line and an error; the exit status is then 1.\n"
		"\n"
		"options:\n"
		"  -c, --config FILE   sandbox config (YAML)\n"
		"  -r, --role ROLE     the role whose rule made the tokens "
		"(default:\n"
		"                      the config's default role)\n"
		"  -h, --help          show this help\n");
}

/* The tokens: argv, or stdin's lines for "-". */
struct cli_tokens {
	char **v;
	size_t n;
	bool owned; /* read from stdin: free them */
};

static int cli_tokens_stdin(struct cli_tokens *t)
{
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;

	t->owned = true;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		char **nv;

		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (len > CLI_REVEAL_LINE_MAX || t->n >= CLI_REVEAL_MAX)
			goto bad;
		if (t->n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			nv = realloc(t->v, alloc * sizeof(*nv));
			if (!nv)
				goto bad;
			t->v = nv;
		}
		t->v[t->n] = strdup(line);
		if (!t->v[t->n])
			goto bad;
		t->n++;
	}
	free(line);
	return 0;
bad:
	free(line);
	return -EINVAL;
}

static void cli_tokens_free(struct cli_tokens *t)
{
	if (t->owned) {
		for (size_t i = 0; i < t->n; i++)
			free(t->v[i]);
		free(t->v);
	}
}

/* The dataset (and table) the argument names, or NULL. */
static const struct cfg_dataset *
cli_reveal_dataset(const struct cfg *cfg, char *arg, const struct cfg_table **t)
{
	const struct cfg_dataset *d = cfg_dataset_find(cfg, arg);
	char *slash;

	*t = NULL;
	if (d || !(slash = strrchr(arg, '/')))
		return d;
	*slash = 0;
	d = cfg_dataset_find(cfg, arg);
	*slash = '/';
	for (size_t i = 0; d && i < d->ntables; i++)
		if (!strcmp(d->tables[i].name, slash + 1)) {
			*t = &d->tables[i];
			return d;
		}
	return NULL;
}

/* Commit the audit record of this reveal; 0, or an error printed. */
static int cli_reveal_audit(const struct cfg *cfg, const char *dataset,
			    const char *column, const char *role, size_t n)
{
	char dir[PATH_MAX - 32], path[PATH_MAX], detail[256];
	struct aud_log_opts opts = { 0 };
	struct aud_event ev;
	struct aud_log *log = NULL;
	uint8_t *seed = NULL;
	int rc;

	rc = life_state_dir(cfg, dir, sizeof(dir));
	if (rc) {
		cli_error("reveal", "no state folder for the audit log: %s",
			  strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, AUD_DB_NAME);
	if (cfg->audit_key) { /* sign the head as the daemon would */
		seed = sodium_malloc(AUD_SEED_LEN);
		rc = seed ? aud_key_load(cfg->audit_key, seed) : -ENOMEM;
		if (rc) {
			cli_error("reveal", "audit_key %s: %s", cfg->audit_key,
				  strerror(-rc));
			goto out;
		}
		opts.sign_seed = seed;
	}
	rc = aud_log_open(path, &opts, &log);
	if (rc) {
		cli_error("reveal", "cannot open the audit log %s: %s", path,
			  strerror(-rc));
		goto out;
	}
	snprintf(detail, sizeof(detail), "column '%.100s', %zu tokens", column,
		 n);
	aud_event_init(&ev, AUD_EV_REVEAL, NULL);
	ev.uid = (int64_t)getuid();
	ev.gid = (int64_t)getgid();
	ev.pid = (int64_t)getpid();
	ev.process = "spotfs reveal";
	ev.role = role;
	ev.path = dataset;
	ev.decision = "allow";
	ev.reason = "reveal";
	ev.rows = (int64_t)n;
	ev.detail = detail;
	rc = aud_log_append_sync(log, &ev);
	if (rc)
		cli_error("reveal", "the audit record could not be written: "
				    "nothing revealed");
out:
	if (aud_log_close(log) && !rc)
		rc = -EIO;
	if (seed)
		sodium_free(seed);
	return rc;
}

/* The masking keys of the config's secret file. 0, or an error printed. */
static int cli_reveal_keys(const struct cfg *cfg, struct msk_keys **keys)
{
	uint8_t *secret = sodium_malloc(SBX_SECRET_FILE_MAX);
	struct spot_err err = { "" };
	size_t len = 0;
	int rc;

	if (!secret) {
		cli_error("reveal", "cannot allocate locked memory for keys");
		return -ENOMEM;
	}
	rc = sbx_read_secret(cfg, secret, &len, &err);
	if (rc)
		cli_error("reveal", "%s", err.msg);
	else if ((rc = msk_keys_new(secret, len, keys)))
		cli_error("reveal", "cannot derive keys: %s", strerror(-rc));
	sodium_free(secret); /* wipes */
	return rc;
}

/* Reveal every token to stdout; the count of tokens that failed. */
static size_t cli_reveal_print(const struct msk_rule *r,
			       const struct msk_keys *k,
			       const struct cli_tokens *t)
{
	struct spot_buf out;
	size_t failed = 0;

	spot_buf_init(&out);
	for (size_t i = 0; i < t->n; i++) {
		int rc;

		spot_buf_reset(&out);
		rc = msk_reveal(r, k, (const uint8_t *)t->v[i], strlen(t->v[i]),
				&out);
		if (rc) {
			/* Never the token: it may be a value pasted by
			 * mistake. Its position only. */
			cli_error("reveal", "token %zu: %s", i + 1,
				  rc == -ERANGE ? "not an fpe token (a "
						  "value too short or too "
						  "long is served masked)"
						: strerror(-rc));
			failed++;
		} else if (out.len) {
			fwrite(out.p, 1, out.len, stdout);
		}
		putchar('\n');
	}
	spot_buf_fini(&out);
	return failed;
}

int cli_reveal(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "role", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *role = NULL, *column;
	struct cli_tokens tok = { NULL, 0, false };
	const struct cfg_dataset *d;
	const struct cfg_table *t;
	const struct cfg_column *col;
	struct cfg *cfg;
	struct msk_keys *keys = NULL;
	size_t failed;
	int c, rc = CLI_EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:r:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'r':
			role = optarg;
			break;
		case 'h':
			cli_reveal_usage(stdout);
			return CLI_EXIT_OK;
		default:
			cli_reveal_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (argc - optind < 3) {
		cli_reveal_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	column = argv[optind + 1];
	cfg = cli_load_config(config);
	if (!cfg)
		return CLI_EXIT_FAIL;
	if (cfg->secret != CFG_SECRET_FILE) {
		cli_error("reveal",
			  "%s has secret: random: tokens are new in every "
			  "sandbox and cannot be revealed (reveal needs "
			  "secret: FILE)",
			  cfg->path);
		cfg_free(cfg);
		return CLI_EXIT_FAIL;
	}
	if (!role)
		role = cfg->default_role;
	d = cli_reveal_dataset(cfg, argv[optind], &t);
	col = d ? cfg_column_rule(d, t, role, column) : NULL;
	if (!d)
		cli_error("reveal", "'%s' is not a dataset of %s", argv[optind],
			  cfg->path);
	else if (!col || col->policy_fn || !col->has_rule ||
		 col->rule.method != MSK_FPE)
		cli_error("reveal",
			  "column '%s' of %s is not masked with fpe for role "
			  "'%s': only fpe tokens can be revealed",
			  column, d->name, role);
	if (!d || !col || col->policy_fn || !col->has_rule ||
	    col->rule.method != MSK_FPE) {
		cfg_free(cfg);
		return CLI_EXIT_FAIL;
	}
	if (!strcmp(argv[optind + 2], "-") && argc - optind == 3) {
		if (cli_tokens_stdin(&tok)) {
			cli_error("reveal",
				  "cannot read the tokens (at most "
				  "%d bytes a line, %d lines)",
				  CLI_REVEAL_LINE_MAX, CLI_REVEAL_MAX);
			goto out;
		}
	} else {
		tok.v = argv + optind + 2;
		tok.n = (size_t)(argc - optind - 2);
	}
	/* The keys come from the secret file, read with the caller's rights:
	 * who cannot read it cannot reveal. The source is not opened. */
	if (cli_reveal_keys(cfg, &keys))
		goto out;
	if (cli_reveal_audit(cfg, d->name, column, role, tok.n))
		goto out;
	failed = cli_reveal_print(&col->rule, keys, &tok);
	rc = failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
out:
	msk_keys_free(keys);
	cfg_free(cfg);
	cli_tokens_free(&tok);
	return rc;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_report.c - `spotfs report`: k-anonymity of a dataset as served.
 *
 * The dataset is built for a role as `spotfs preview` builds it (no mount),
 * its served rows are read back with their types (report_rows.c), and each
 * row's combination of typed quasi-identifier cells (as served: masked;
 * NULL is not "") is counted in a table of
 * equivalence classes. The table holds keyed hashes of the combinations
 * (BLAKE2b under a key drawn for this run), never the cells, and at most
 * --budget classes: when there are more, the rows are read again in P
 * passes, each counting only the classes whose hash falls in its 1/P
 * share, so the result stays exact in bounded memory. Only the few
 * smallest classes printed at the end have their served cells copied, in
 * a last pass.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "report_i.h"

/* ---- counting ---- */

static void rpt_key(const struct rpt *r, const struct pipe_batch *b, size_t row,
		    uint8_t key[RPT_KEY_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, r->hkey, sizeof(r->hkey), RPT_KEY_LEN);
	for (size_t q = 0; q < r->nquasi; q++) {
		const struct pipe_cell *c = &b->in[row * b->ncols + r->qcol[q]];
		uint8_t len[9];
		uint64_t n = c->type == PIPE_NULL ? 0 : c->len;

		/*
		 * Typed and length-prefixed: ("ab", "c") is not ("a", "bc"),
		 * NULL is not "", the integer 1 is not the text "1" (a
		 * Parquet file or a database serves them apart).
		 */
		len[0] = c->type;
		for (int i = 0; i < 8; i++)
			len[1 + i] = (uint8_t)(n >> (8 * i));
		crypto_generichash_update(&st, len, sizeof(len));
		crypto_generichash_update(&st, c->p, (size_t)n);
	}
	crypto_generichash_final(&st, key, RPT_KEY_LEN);
}

/* Which pass counts a class: its hash, not its value, decides. */
static unsigned rpt_share(const uint8_t key[RPT_KEY_LEN], unsigned passes)
{
	uint64_t h = 0;

	for (int i = 0; i < 8; i++)
		h |= (uint64_t)key[i] << (8 * i);
	return (unsigned)(h % passes);
}

/* Count key (row) in the table; -ENOSPC beyond the budget. */
static int rpt_add(struct rpt *r, const uint8_t key[RPT_KEY_LEN], uint64_t row)
{
	size_t i;

	i = (size_t)(key[8] | (uint64_t)key[9] << 8 | (uint64_t)key[10] << 16 |
		     (uint64_t)key[11] << 24 | (uint64_t)key[12] << 32) &
	    (r->cap - 1);
	for (;; i = (i + 1) & (r->cap - 1)) {
		struct rpt_class *c = &r->tab[i];

		if (!c->count) {
			if (r->used >= r->budget)
				return -ENOSPC;
			memcpy(c->key, key, RPT_KEY_LEN);
			c->count = 1;
			c->first = row;
			r->used++;
			return 0;
		}
		if (!memcmp(c->key, key, RPT_KEY_LEN)) {
			c->count++;
			return 0;
		}
	}
}

static int rpt_count_row(struct rpt *r, const struct pipe_batch *b, size_t row,
			 uint64_t index)
{
	uint8_t key[RPT_KEY_LEN];

	if (r->pass == 0)
		r->rows++;
	rpt_key(r, b, row, key);
	if (rpt_share(key, r->passes) != r->pass)
		return 0;
	return rpt_add(r, key, index);
}

/* Keep the RPT_TOP smallest offending classes: by size, then first row. */
static void rpt_top_offer(struct rpt *r, const struct rpt_class *c)
{
	size_t at = r->ntop;

	while (at > 0 && (r->top[at - 1].count > c->count ||
			  (r->top[at - 1].count == c->count &&
			   r->top[at - 1].first > c->first)))
		at--;
	if (at >= RPT_TOP)
		return;
	if (r->ntop == RPT_TOP)
		r->ntop--;
	memmove(&r->top[at + 1], &r->top[at],
		(r->ntop - at) * sizeof(r->top[0]));
	memset(&r->top[at], 0, sizeof(r->top[at]));
	memcpy(r->top[at].key, c->key, RPT_KEY_LEN);
	r->top[at].count = c->count;
	r->top[at].first = c->first;
	r->ntop++;
}

/* Fold one pass's table into the results. */
static void rpt_pass_done(struct rpt *r)
{
	for (size_t i = 0; i < r->cap; i++) {
		const struct rpt_class *c = &r->tab[i];

		if (!c->count)
			continue;
		r->classes++;
		if (!r->smallest || c->count < r->smallest)
			r->smallest = c->count;
		if (c->count < r->k) {
			r->below_classes++;
			r->below_rows += c->count;
			rpt_top_offer(r, c);
		}
	}
}

static int rpt_count(struct rpt *r, struct spot_err *err)
{
	size_t cap = 16;
	int rc = 0;

	while (cap < r->budget + r->budget / 2 + 1)
		cap *= 2;
	r->tab = calloc(cap, sizeof(*r->tab));
	if (!r->tab) {
		spot_err_set(err, "out of memory for %llu classes (--budget)",
			     (unsigned long long)r->budget);
		return -ENOMEM;
	}
	r->cap = cap;
	for (r->passes = 1; r->passes <= RPT_MAX_PASSES; r->passes *= 4) {
		r->rows = r->classes = r->smallest = 0;
		r->below_classes = r->below_rows = 0;
		r->ntop = 0;
		for (r->pass = 0; r->pass < r->passes; r->pass++) {
			memset(r->tab, 0, r->cap * sizeof(*r->tab));
			r->used = 0;
			rc = rpt_read(r, rpt_count_row, err);
			if (rc)
				break;
			rpt_pass_done(r);
		}
		if (rc != -ENOSPC)
			break;
	}
	if (rc == -ENOSPC)
		spot_err_set(err,
			     "more than %llu classes in each of %u passes: "
			     "raise --budget",
			     (unsigned long long)r->budget, RPT_MAX_PASSES);
	return rc;
}

/* The last pass: copy the served cells of the classes printed. */
static int rpt_cells_row(struct rpt *r, const struct pipe_batch *b, size_t row,
			 uint64_t index)
{
	for (size_t t = 0; t < r->ntop; t++) {
		if (r->top[t].first != index)
			continue;
		for (size_t q = 0; q < r->nquasi; q++) {
			const struct pipe_cell *c =
				&b->in[row * b->ncols + r->qcol[q]];
			size_t n =
				c->len < RPT_SHOW_MAX ? c->len : RPT_SHOW_MAX;
			char raw[RPT_SHOW_MAX + 1];

			if (n)
				memcpy(raw, c->p, n);
			raw[n] = 0;
			r->top[t].null[q] = c->type == PIPE_NULL;
			r->top[t].cells[q] = malloc(RPT_SHOW_MAX + 1);
			if (!r->top[t].cells[q])
				return -ENOMEM;
			spot_printable(raw, r->top[t].cells[q],
				       RPT_SHOW_MAX + 1);
		}
	}
	return 0;
}

/* ---- output ---- */

static void rpt_print(const struct rpt *r)
{
	double share =
		r->rows ? 100.0 * (double)r->below_rows / (double)r->rows : 0.0;

	printf("%s as role '%s', quasi-identifiers ", r->dataset, r->role);
	for (size_t q = 0; q < r->nquasi; q++)
		printf("%s%s", q ? ", " : "", r->quasi[q]);
	printf(", k = %llu\n", (unsigned long long)r->k);
	printf("  rows served          %llu\n", (unsigned long long)r->rows);
	printf("  equivalence classes  %llu\n", (unsigned long long)r->classes);
	printf("  smallest class       %llu\n",
	       (unsigned long long)r->smallest);
	printf("  classes below k      %llu\n",
	       (unsigned long long)r->below_classes);
	printf("  rows in them         %llu (%.1f%%)\n",
	       (unsigned long long)r->below_rows, share);
	printf("  k-anonymous          %s\n", r->below_rows ? "no" : "yes");
	if (r->passes > 1)
		printf("  (more classes than --budget %llu: counted exactly in "
		       "%u passes)\n",
		       (unsigned long long)r->budget, r->passes);
	if (!r->ntop)
		return;
	printf("  smallest classes below k (rows, then the values as "
	       "served):\n");
	for (size_t t = 0; t < r->ntop; t++) {
		printf("  %8llu ", (unsigned long long)r->top[t].count);
		for (size_t q = 0; q < r->nquasi; q++)
			printf(" %s=%s", r->quasi[q],
			       r->top[t].null[q]    ? "(NULL)"
			       : r->top[t].cells[q] ? r->top[t].cells[q]
						    : "?");
		printf("\n");
	}
}

static int rpt_json(const struct rpt *r)
{
	struct spot_buf b;
	int rc;

	spot_buf_init(&b);
	rc = spot_buf_printf(&b, "{\"dataset\":");
	if (!rc)
		rc = spot_buf_json_str(&b, r->dataset);
	if (!rc)
		rc = spot_buf_printf(&b, ",\"role\":");
	if (!rc)
		rc = spot_buf_json_str(&b, r->role);
	if (!rc)
		rc = spot_buf_printf(&b, ",\"quasi\":[");
	for (size_t q = 0; !rc && q < r->nquasi; q++) {
		rc = spot_buf_printf(&b, "%s", q ? "," : "");
		if (!rc)
			rc = spot_buf_json_str(&b, r->quasi[q]);
	}
	if (!rc)
		rc = spot_buf_printf(
			&b,
			"],\"k\":%llu,\"rows\":%llu,\"classes\":%llu,"
			"\"smallest\":%llu,\"classes_below_k\":%llu,"
			"\"rows_below_k\":%llu,\"k_anonymous\":%s,"
			"\"passes\":%u,\"offending\":[",
			(unsigned long long)r->k, (unsigned long long)r->rows,
			(unsigned long long)r->classes,
			(unsigned long long)r->smallest,
			(unsigned long long)r->below_classes,
			(unsigned long long)r->below_rows,
			r->below_rows ? "false" : "true", r->passes);
	for (size_t t = 0; !rc && t < r->ntop; t++) {
		rc = spot_buf_printf(&b, "%s{\"rows\":%llu,\"values\":[",
				     t ? "," : "",
				     (unsigned long long)r->top[t].count);
		for (size_t q = 0; !rc && q < r->nquasi; q++) {
			rc = spot_buf_printf(&b, "%s", q ? "," : "");
			if (!rc && r->top[t].null[q])
				rc = spot_buf_printf(&b, "null");
			else if (!rc)
				rc = spot_buf_json_str(
					&b, r->top[t].cells[q]
						    ? r->top[t].cells[q]
						    : "");
		}
		if (!rc)
			rc = spot_buf_printf(&b, "]}");
	}
	if (!rc)
		rc = spot_buf_printf(&b, "]}\n");
	if (!rc)
		fwrite(b.p, 1, b.len, stdout);
	spot_buf_fini(&b);
	return rc;
}

/* ---- the command ---- */

static void cli_report_usage(FILE *f)
{
	fprintf(f,
		"usage: spotfs report [-c CONFIG] DATASET[/TABLE] --quasi "
		"A,B,C\n"
		"                     [--k N] [--role ROLE] [--json] "
		"[--budget N]\n"
		"       spotfs report --synthetic DATASET [--role ROLE] "
		"[-c CONFIG | --mount MNT]\n"
		"                     (the utility of a DP synthetic table: "
		"see --synthetic --help)\n"
		"\n"
		"k-anonymity of DATASET as ROLE reads it (masked, rows "
		"filtered),\n"
		"built as spotfs preview builds it: the number of "
		"equivalence\n"
		"classes over the quasi-identifier columns, the smallest, "
		"the\n"
		"rows in classes smaller than k, and the %d smallest of those\n"
		"classes with their values as served. Counts keyed hashes of "
		"the\n"
		"combinations, at most --budget classes at once (more: "
		"exact, in\n"
		"several passes).\n"
		"\n"
		"options:\n"
		"  -c, --config FILE   sandbox config (YAML)\n"
		"  -q, --quasi LIST    quasi-identifier columns, comma-"
		"separated\n"
		"  -k, --k N           the k to check (default 5, at least 2)\n"
		"  -r, --role ROLE     as a caller with this role\n"
		"  -j, --json          print one JSON object\n"
		"  -b, --budget N      classes held in memory (default %u)\n"
		"  -h, --help          show this help\n",
		RPT_TOP, RPT_BUDGET_DEFAULT);
}

static int rpt_number(const char *opt, const char *s, uint64_t min,
		      uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || *end || s[0] == '-' || !s[0] || *out < min) {
		cli_error("report", "bad %s '%s' (a number, at least %llu)",
			  opt, s, (unsigned long long)min);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* Split --quasi "a,b,c" (in place) into r->quasi. */
static int rpt_quasi(struct rpt *r, char *list)
{
	for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		if (r->nquasi == RPT_MAX_QUASI) {
			cli_error("report", "at most %d quasi-identifiers",
				  RPT_MAX_QUASI);
			return CLI_EXIT_USAGE;
		}
		for (size_t q = 0; q < r->nquasi; q++)
			if (!strcmp(r->quasi[q], t)) {
				cli_error("report", "--quasi names '%s' twice",
					  t);
				return CLI_EXIT_USAGE;
			}
		r->quasi[r->nquasi++] = t;
	}
	if (!r->nquasi) {
		cli_error("report", "--quasi needs at least one column");
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static int rpt_opts(int argc, char **argv, struct rpt *r, const char **config)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "quasi", required_argument, NULL, 'q' },
		{ "k", required_argument, NULL, 'k' },
		{ "role", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "budget", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *quasi = NULL;
	int c, rc = 0;

	r->k = 5;
	r->budget = RPT_BUDGET_DEFAULT;
	optind = 1;
	while (!rc && (c = getopt_long(argc, argv, "c:q:k:r:jb:h", lopts,
				       NULL)) != -1) {
		if (c == 'c')
			*config = optarg;
		else if (c == 'q')
			quasi = optarg;
		else if (c == 'k')
			rc = rpt_number("--k", optarg, 2, &r->k);
		else if (c == 'r')
			r->role = optarg;
		else if (c == 'j')
			r->json = true;
		else if (c == 'b')
			rc = rpt_number("--budget", optarg, 1, &r->budget);
		else if (c == 'h')
			return cli_report_usage(stdout), -1;
		else
			return cli_report_usage(stderr), CLI_EXIT_USAGE;
	}
	if (rc)
		return rc;
	if (optind != argc - 1 || !quasi) {
		cli_report_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (r->budget > SIZE_MAX / 4 / sizeof(struct rpt_class)) {
		cli_error("report", "--budget too large");
		return CLI_EXIT_USAGE;
	}
	r->dataset = argv[optind];
	return rpt_quasi(r, quasi);
}

/* DATASET or DATASET/TABLE of a SQLite dataset, as preview finds it. */
static const struct cfg_dataset *rpt_find(struct sbx *s, char *name,
					  const char **sub)
{
	const struct cfg_dataset *d = cfg_dataset_find(s->cfg, name);
	char *slash = strrchr(name, '/');

	*sub = "";
	if (d || !slash)
		return d;
	*slash = 0;
	d = cfg_dataset_find(s->cfg, name);
	*slash = '/';
	if (d && sbx_has_objects(s, d)) {
		*sub = slash + 1;
		return d;
	}
	return NULL;
}

static bool rpt_role_known(const struct cfg *cfg, const char *role)
{
	for (size_t i = 0; i < cfg->nroles; i++)
		if (!strcmp(cfg->roles[i].name, role))
			return true;
	return !strcmp(cfg->default_role, role);
}

int cli_report(int argc, char **argv)
{
	struct rpt r;
	struct spot_err err = { "" };
	const struct cfg_dataset *d;
	const char *config = NULL, *sub;
	struct cfg *cfg;
	struct sbx *s = NULL;
	int rc;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--synthetic"))
			return cli_report_synthetic(argc, argv);
	memset(&r, 0, sizeof(r));
	r.fd = -1;
	rc = rpt_opts(argc, argv, &r, &config);
	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (sodium_init() < 0) {
		cli_error("report", "libsodium failed to initialise");
		return CLI_EXIT_FAIL;
	}
	cfg = cli_load_config(config);
	if (!cfg)
		return CLI_EXIT_FAIL;
	if (sbx_new(cfg, &s, &err)) {
		cli_error("report", "%s", err.msg);
		return CLI_EXIT_FAIL;
	}
	rc = CLI_EXIT_FAIL;
	if (!r.role)
		r.role = s->cfg->default_role;
	if (!rpt_role_known(s->cfg, r.role)) {
		cli_error("report", "no role '%s' in %s", r.role, s->cfg->path);
		goto out;
	}
	d = rpt_find(s, argv[optind], &sub);
	if (!d) {
		cli_error("report", "'%s' is not a dataset of %s", r.dataset,
			  s->cfg->path);
		goto out;
	}
	if (sbx_has_objects(s, d) && !sub[0]) {
		cli_error("report",
			  "%s is a database: name one of its tables, "
			  "e.g. %s/TABLE",
			  d->name, d->name);
		goto out;
	}
	if (!cfg_dataset_allows(d, r.role)) {
		cli_error("report", "role '%s' may not open %s", r.role,
			  d->name);
		goto out;
	}
	randombytes_buf(r.hkey, sizeof(r.hkey));
	if (rpt_served(&r, s, d, sub, &err) || rpt_columns(&r, &err) ||
	    rpt_count(&r, &err) || rpt_read(&r, rpt_cells_row, &err)) {
		cli_error("report", "%s", err.msg[0] ? err.msg : "failed");
		goto out;
	}
	if (r.json ? rpt_json(&r) : (rpt_print(&r), 0))
		goto out;
	rc = CLI_EXIT_OK;
out:
	sodium_memzero(r.hkey, sizeof(r.hkey));
	for (size_t t = 0; t < r.ntop; t++)
		for (size_t q = 0; q < r.nquasi; q++)
			free(r.top[t].cells[q]);
	free(r.tab);
	if (r.fd >= 0)
		close(r.fd);
	sqlite3_finalize(r.sel);
	sqlite3_close(r.db);
	sbx_free(s);
	return rc;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_check.c - `spotfs check` and `spotfs preview`: build views without a
 * mount, to validate a config and to show what a caller would see.
 */
#include "cli.h"
#include "cli_json.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_scan.h"
#include "engine.h"
#include "format.h"
#include "sandbox.h"
#include "srcdir.h"
#include "view.h"

#define CLI_PREVIEW_ROWS 10

/* ---- check ---- */

/* Build notes (optional rules the data lacks): not warnings. */
static void cli_check_note(void *arg, const char *msg)
{
	(void)arg;
	printf("  note: %s\n", msg);
}

/* A source entry the mount never shows (srcdir.h): say so. */
static void cli_check_hidden(void *arg, const char *rel, mode_t type)
{
	int *warnings = arg;

	printf("  warning: %s: hidden: %s (only regular files and folders "
	       "are served)\n",
	       rel, src_kind_name(type));
	(*warnings)++;
}

static void cli_check_usage(FILE *f)
{
	fprintf(f,
		"usage: spotfs check [-c CONFIG] [--strict] [--json]\n"
		"\n"
		"Validate the config, compile its policies and build every\n"
		"dataset's view for every role, without mounting. A rule\n"
		"naming a column the data lacks is an error (with the near\n"
		"miss). Lists unlisted columns and what is done to them (of\n"
		"JSON Lines every field path and what is done to it), and\n"
		"warns about columns and passthrough files served raw that\n"
		"look like personal data (by name or sampled values), "
		"unlisted\n"
		"columns kept raw, near-miss names, names with a NUL byte,\n"
		"names two columns share, column names that look like values\n"
		"(a missing header row) and passthrough files it cannot scan\n"
		"(binary/compressed; text is scanned in a sample of its first\n"
		"2000 lines). Exit status 1 on any error; with --strict also\n"
		"on any warning (for CI).\n"
		"\n"
		"options:\n"
		"  -c, --config FILE   sandbox config (YAML)\n"
		"  -s, --strict        exit 1 on warnings too\n"
		"  -j, --json          one JSON object: every line as "
		"{level, text}\n"
		"  -h, --help          show this help\n");
}

/* Build one dataset for one role; print a line. 0 or -errno. */
static int cli_check_one(struct sbx *s, const struct cfg_dataset *d,
			 const char *role)
{
	struct spot_err err = { "" };
	struct vc_content out;
	const char *form = NULL;
	char name[PATH_MAX + 16];
	unsigned forms = 0;
	bool self = true;
	int rc = 0;

	if (!cfg_dataset_allows(d, role))
		return 0;
	if (d->as && sbx_has_objects(s, d)) {
		printf("  error: %s: as: is for CSV and Parquet datasets\n",
		       d->name);
		return -EINVAL;
	}
	if (d->as)
		forms = sbx_forms(s, d, &self);
	/*
	 * The dataset as it is (k 0), then its converted forms (as:, k the
	 * format). Each is built twice: exactly as the mount builds it (the
	 * sampling transforms of the scan make kept Parquet columns decoded
	 * rather than copied, which would skip the checks of served source
	 * ranges), then with the scan.
	 */
	for (int k = self ? 0 : 1; !rc && k < VIEW_FMT_COUNT; k++) {
		struct plan_scan *scan = s->scan;

		if (k && (!(forms & VIEW_FMT_BIT(k)) ||
			  sbx_form_name_of(s, d, (enum view_fmt)k, name,
					   sizeof(name))))
			continue;
		form = view_fmt_name((enum view_fmt)k);
		s->scan = NULL;
		rc = sbx_build(s, d, k ? form : "", role, &out, &err);
		s->scan = scan;
		if (!rc && scan) {
			out.free(out.obj);
			rc = sbx_build(s, d, k ? form : "", role, &out, &err);
		}
		if (rc) {
			printf("  error: %s\n", err.msg);
			break;
		}
		printf("  %-24s role %-10s %8llu rows in, %8llu served, %llu "
		       "bytes\n",
		       k ? name : d->name, role,
		       (unsigned long long)out.rows_in,
		       (unsigned long long)out.rows_out,
		       (unsigned long long)out.size);
		out.free(out.obj);
	}
	return rc;
}

/*
 * The DP releases of d: each built once for the default role (columns,
 * tables and domains checked against the data; nothing is printed of
 * it), with its cost. Returns the errors.
 */
static int cli_check_dp(struct sbx *s, const struct cfg_dataset *d)
{
	struct spot_err err = { "" };
	struct vc_content out;
	char sub[512], e[32];
	int errors = 0;

	for (size_t i = 0; i <= d->naggs; i++) {
		const char *name = i < d->naggs ? d->aggs[i].name : NULL;
		uint64_t eps = 0, delta = 0;

		if (i == d->naggs && !d->synth)
			break;
		if (sbx_dp_sub(name, "csv", sub, sizeof(sub)) ||
		    sbx_dp_cost(d, sub, &eps, &delta))
			continue;
		dp_nano_text(eps, e, sizeof(e));
		if (sbx_build(s, d, sub, s->cfg->default_role, &out, &err)) {
			printf("  error: %s\n", err.msg);
			errors++;
			continue;
		}
		out.free(out.obj);
		if (name)
			printf("  dp: _dp/%s/%s.csv: epsilon %s%s\n", d->name,
			       name, e, delta ? " (with delta)" : "");
		else
			printf("  dp: %s synthetic table: epsilon %s%s\n",
			       d->name, e, delta ? " (with delta)" : "");
	}
	return errors;
}

/* What reading every DP release costs, against the budgets. */
static int cli_check_dp_cost(const struct cfg *c)
{
	uint64_t total = cfg_dp_total(c);
	char t[32], r[32], b[32];

	if (!c->dp.set)
		return 0;
	dp_nano_text(total, t, sizeof(t));
	dp_nano_text(c->dp.per_role, r, sizeof(r));
	dp_nano_text(c->dp.per_sandbox, b, sizeof(b));
	printf("dp: every release together costs epsilon %s (basic "
	       "composition); budget per role %s, per sandbox %s%s\n",
	       t, c->dp.per_role ? r : "unlimited",
	       c->dp.per_sandbox ? b : "unlimited",
	       c->dp.persistent ? " (ledger kept across sandboxes)" : "");
	if (c->dp.per_role && total > c->dp.per_role) {
		printf("  note: a role can read only part of the DP releases "
		       "before its budget (%s) is spent\n",
		       r);
	}
	return 0;
}

static int cli_check_text(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "strict", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct spot_err err = { "" };
	const char *config = NULL;
	int c, errors = 0, warnings = 0;
	struct chk_scan scan;
	bool strict = false;
	struct cfg *cfg;
	struct sbx *s;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:sh", lopts, NULL)) != -1) {
		if (c == 'c') {
			config = optarg;
		} else if (c == 's') {
			strict = true;
		} else if (c == 'h') {
			cli_check_usage(stdout);
			return CLI_EXIT_OK;
		} else {
			cli_check_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_check_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	cfg = cli_load_config(config);
	if (!cfg)
		return CLI_EXIT_FAIL;
	printf("config %s: ok (source %s, %zu datasets, %zu roles)\n",
	       cfg->path, cfg->source, cfg->ndatasets, cfg->nroles);
	if (sbx_new(cfg, &s, &err)) {
		fprintf(stderr, "spotfs check: %s\n", err.msg);
		return CLI_EXIT_FAIL;
	}
	s->warn = cli_check_note;
	chk_scan_init(&scan);
	s->scan = &scan.ops;
	for (size_t i = 0; i < s->cfg->ndatasets; i++) {
		const struct cfg_dataset *d = &s->cfg->datasets[i];
		char msg[PATH_MAX + 256];

		/* Tables and views left out for their names (no name said). */
		if (sbx_sqlite_withheld(s, d, msg, sizeof(msg))) {
			printf("  error: %s\n", msg);
			errors++;
		}
		scan.role = s->cfg->default_role;
		if (cli_check_one(s, d, s->cfg->default_role))
			errors++;
		for (size_t r = 0; r < s->cfg->nroles; r++) {
			scan.role = s->cfg->roles[r].name;
			if (cli_check_one(s, d, s->cfg->roles[r].name))
				errors++;
		}
		warnings += chk_scan_report(&scan, s, d);
		errors += cli_check_dp(s, d);
	}
	cli_check_dp_cost(s->cfg);
	warnings += chk_passthrough(s);
	/* Under default: hide, unnamed entries are not shown anyway. */
	if (s->cfg->dflt == CFG_DEFAULT_SHOW)
		src_walk_hidden(s->srcfd, cli_check_hidden, &warnings);
	printf("%d error%s, %d warning%s%s\n", errors, errors == 1 ? "" : "s",
	       warnings, warnings == 1 ? "" : "s",
	       strict && warnings ? " (--strict: warnings fail)" : "");
	s->scan = NULL;
	sbx_free(s);
	chk_scan_fini(&scan);
	return errors || (strict && warnings) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* ---- preview ---- */

static char cli_preview_role[256];	 /* the role previewed, for --json */
static bool cli_preview_want_json;	 /* --json: records of JSON Lines too */
static struct spot_buf cli_preview_recs; /* --json: JSON Lines records */

static void cli_preview_usage(FILE *f)
{
	fprintf(f,
		"usage: spotfs preview [-c CONFIG] DATASET[/TABLE] [--rows N]\n"
		"                      [--role ROLE | --as-uid UID] [--json]\n"
		"\n"
		"Print the first rows of DATASET as the caller would read "
		"them\n"
		"through a mount (header included). With a random secret, "
		"hashes\n"
		"and fake values differ from a running sandbox's: use a "
		"secret\n"
		"file for stable values. A converted form (as:) prints its\n"
		"dataset's rows, which it holds; a JSON Lines dataset prints\n"
		"its masked records, its CSV and Parquet forms (NAME.csv,\n"
		"NAME.parquet) their rows as CSV.\n"
		"\n"
		"options:\n"
		"  -c, --config FILE   sandbox config (YAML)\n"
		"  -n, --rows N        rows to print (default 10)\n"
		"  -r, --role ROLE     as a caller with this role\n"
		"  -u, --as-uid UID    as this user (role from users/groups)\n"
		"  -j, --json          one JSON object: columns and rows (and\n"
		"                      for JSON Lines the records)\n"
		"  -h, --help          show this help\n");
}

/*
 * The policy's access() decision for a preview, as an open would get it:
 * 0 if allowed, else an error printed and non-zero (fail closed).
 */
static int cli_preview_access(struct sbx *s, const struct cfg_dataset *d,
			      const char *role, uid_t uid)
{
	struct pol_engine *eng = sbx_engine(s, d);
	struct spot_err err = { "" };
	struct pol_ctx ctx;
	char reason[256] = "";
	bool allowed = false;

	if (!eng || !pol_engine_has_access(eng))
		return 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.uid = uid;
	ctx.gid = (gid_t)-1;
	ctx.role = role;
	ctx.pid = getpid();
	ctx.dataset = d->name;
	ctx.path = d->name;
	if (pol_engine_access(eng, &ctx, &allowed, reason, sizeof(reason),
			      &err)) {
		cli_error("preview", "access policy failed: %s", err.msg);
		return -EIO;
	}
	if (!allowed) {
		cli_error("preview", "role '%s' is denied %s by its policy%s%s",
			  role, d->name, reason[0] ? ": " : "", reason);
		return -EACCES;
	}
	return 0;
}

/*
 * The role of a local user, as the daemon would compute it: from all its
 * groups (NULL when they cannot be read: never fewer groups, which could
 * be another role).
 */
static const char *cli_role_of_uid(const struct cfg *cfg, uid_t uid)
{
	struct passwd *pw = getpwuid(uid);
	const char *role = NULL;
	gid_t *groups = NULL, *g;
	int n = 64;

	if (!pw)
		return cfg_role_for(cfg, uid, (gid_t)-1, NULL, 0);
	for (int tries = 0; tries < 4 && n > 0 && n <= NGROUPS_MAX; tries++) {
		g = realloc(groups, (size_t)n * sizeof(*g));
		if (!g)
			break;
		groups = g;
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) >= 0) {
			role = cfg_role_for(cfg, uid, pw->pw_gid, groups,
					    (size_t)n);
			break;
		}
	}
	free(groups);
	return role;
}

/* Print the header and first n records of built CSV bytes. */
static int cli_print_rows(const struct vc_content *v, uint64_t n)
{
	struct spot_buf raw, out;
	int rc;

	spot_buf_init(&raw);
	spot_buf_init(&out);
	rc = spot_buf_reserve(&raw, v->size);
	if (rc)
		return rc;
	raw.len = (size_t)v->read(v->obj, raw.p, v->size, 0);
	rc = view_csv_head(raw.p, raw.len, n, &out);
	if (!rc)
		fwrite(out.p, 1, out.len, stdout);
	spot_buf_fini(&out);
	spot_buf_fini(&raw);
	return rc;
}

/* Whether (p, len) is JSON white space only (a BOM aside): no record. */
static bool cli_blank(const uint8_t *p, size_t len)
{
	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3)) {
		p += 3;
		len -= 3;
	}
	for (size_t i = 0; i < len; i++)
		if (!memchr(" \t\r\n", p[i], 4))
			return false;
	return true;
}

/*
 * The first n records of a JSON Lines view (one record a line), as
 * served: to stdout with the lines between them (blank lines, a BOM), or,
 * with recs, into recs as a JSON array's elements (each record an object,
 * without its BOM or line end; the rewriter wrote valid JSON).
 */
static int cli_print_lines(const struct vc_content *v, uint64_t n,
			   struct spot_buf *recs)
{
	struct spot_buf raw;
	size_t end = 0;
	int rc;

	spot_buf_init(&raw);
	rc = spot_buf_reserve(&raw, v->size);
	if (rc)
		return rc;
	raw.len = (size_t)v->read(v->obj, raw.p, v->size, 0);
	while (n && end < raw.len) {
		const uint8_t *lf = memchr(raw.p + end, '\n', raw.len - end);
		size_t start = end, len;

		end = lf ? (size_t)(lf - raw.p) + 1 : raw.len;
		len = end - start;
		if (cli_blank(raw.p + start, len))
			continue;
		n--;
		if (!recs)
			continue;
		if (start == 0 && len >= 3 &&
		    !memcmp(raw.p, "\xef\xbb\xbf", 3)) {
			start += 3;
			len -= 3;
		}
		while (len && memchr(" \t\r\n", raw.p[start + len - 1], 4))
			len--;
		if ((recs->len && spot_buf_putc(recs, ',')) ||
		    spot_buf_append(recs, raw.p + start, len)) {
			rc = -ENOMEM;
			break;
		}
	}
	if (!recs)
		fwrite(raw.p, 1, end, stdout);
	spot_buf_fini(&raw);
	return rc;
}

/*
 * A JSON Lines dataset previewed as CSV: its CSV form's header and first
 * rows (the form NAME.csv serves; NAME.parquet holds the same columns and
 * values), with --json also its first records as served (the JSON Lines
 * form) for the "records" key. 0 or an error printed.
 */
static int cli_preview_jsonl_csv(struct sbx *s, const struct cfg_dataset *d,
				 const char *role, uint64_t rows, bool records)
{
	struct spot_err err = { "" };
	struct vc_content out;
	int rc;

	rc = sbx_build(s, d, view_fmt_name(VIEW_FMT_CSV), role, &out, &err);
	if (rc) {
		cli_error("preview", "%s", err.msg);
		return rc;
	}
	rc = cli_print_rows(&out, rows);
	out.free(out.obj);
	if (rc || !records)
		return rc;
	rc = sbx_build(s, d, "", role, &out, &err);
	if (rc) {
		cli_error("preview", "%s", err.msg);
		return rc;
	}
	rc = cli_print_lines(&out, rows, &cli_preview_recs);
	out.free(out.obj);
	if (rc)
		cli_error("preview", "%s: %s", d->name, strerror(-rc));
	return rc;
}

static int cli_preview_text(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "rows", required_argument, NULL, 'n' },
		{ "role", required_argument, NULL, 'r' },
		{ "as-uid", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *role = NULL, *uid_s = NULL, *sub = "";
	enum view_fmt form = VIEW_FMT_UNKNOWN; /* a converted name's form */
	uid_t preview_uid = (uid_t)-1;
	struct spot_err err = { "" };
	const struct cfg_dataset *d;
	const struct view_format *fmt;
	struct vc_content out;
	unsigned long long rows = CLI_PREVIEW_ROWS;
	struct cfg *cfg;
	struct sbx *s;
	char *end;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:n:r:u:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'n':
			errno = 0;
			rows = strtoull(optarg, &end, 10);
			if (errno || *end || optarg[0] == '-') {
				cli_error("preview", "bad --rows '%s'", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'r':
			role = optarg;
			break;
		case 'u':
			uid_s = optarg;
			break;
		case 'h':
			cli_preview_usage(stdout);
			return CLI_EXIT_OK;
		default:
			cli_preview_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || (role && uid_s)) {
		cli_preview_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	cfg = cli_load_config(config);
	if (!cfg)
		return CLI_EXIT_FAIL;
	if (sbx_new(cfg, &s, &err)) {
		fprintf(stderr, "spotfs preview: %s\n", err.msg);
		return CLI_EXIT_FAIL;
	}
	rc = CLI_EXIT_FAIL;
	d = cfg_dataset_find(s->cfg, argv[optind]);
	if (!d) {
		/* DATASET/TABLE names a table or view of a SQLite dataset. */
		char *slash = strrchr(argv[optind], '/');

		if (slash) {
			*slash = 0;
			d = cfg_dataset_find(s->cfg, argv[optind]);
			*slash = '/';
			if (d && sbx_has_objects(s, d))
				sub = slash + 1;
			else
				d = NULL;
		}
	}
	/* A converted form (as:): the same rows as its dataset. */
	for (size_t i = 0; !d && i < s->cfg->ndatasets; i++) {
		char fname[PATH_MAX + 16];

		for (int f = VIEW_FMT_UNKNOWN + 1; !d && f < VIEW_FMT_COUNT;
		     f++)
			if (!sbx_form_name_of(s, &s->cfg->datasets[i],
					      (enum view_fmt)f, fname,
					      sizeof(fname)) &&
			    !strcmp(fname, argv[optind])) {
				d = &s->cfg->datasets[i];
				form = (enum view_fmt)f;
			}
	}
	if (!d) {
		cli_error("preview", "'%s' is not a dataset of %s",
			  argv[optind], s->cfg->path);
		goto out;
	}
	if (uid_s) {
		unsigned long uid = strtoul(uid_s, &end, 10);
		struct passwd *pw = *end ? getpwnam(uid_s) : NULL;

		if (*end && !pw) {
			cli_error("preview", "unknown user '%s'", uid_s);
			goto out;
		}
		preview_uid = pw ? pw->pw_uid : (uid_t)uid;
		role = cli_role_of_uid(s->cfg, preview_uid);
		if (!role) {
			cli_error("preview",
				  "cannot read the groups of uid %lu",
				  (unsigned long)preview_uid);
			goto out;
		}
	}
	if (!role)
		role = s->cfg->default_role;
	snprintf(cli_preview_role, sizeof(cli_preview_role), "%s", role);
	fprintf(stderr, "spotfs preview: %s%s%s as role '%s'\n", d->name,
		sub[0] ? "/" : "", sub, role);
	if (!cfg_dataset_allows(d, role)) {
		cli_error("preview", "role '%s' may not open %s", role,
			  d->name);
		goto out;
	}
	if (cli_preview_access(s, d, role, uid_s ? preview_uid : (uid_t)-1)) {
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	fmt = view_format_get(sbx_format(s, d));
	if (fmt && fmt->objects && !sub[0]) {
		cli_error("preview",
			  "%s is a database: preview one of its "
			  "tables, e.g. %s/TABLE",
			  d->name, d->name);
		goto out;
	}
	/*
	 * JSON Lines: its CSV and Parquet forms print the CSV form's rows;
	 * with --json the dataset itself too (columns and rows as every
	 * format's, and its records).
	 */
	if (fmt && fmt->field_paths && !sub[0] &&
	    ((form != VIEW_FMT_UNKNOWN && form != fmt->id) ||
	     cli_preview_want_json)) {
		if (!cli_preview_jsonl_csv(s, d, role, rows,
					   cli_preview_want_json &&
						   (form == VIEW_FMT_UNKNOWN ||
						    form == fmt->id)))
			rc = CLI_EXIT_OK;
		goto out;
	}
	/* Preview prints CSV: the rows of other formats are converted. */
	if (fmt && fmt->id != VIEW_FMT_CSV && !sub[0] &&
	    (fmt->forms & VIEW_FMT_BIT(VIEW_FMT_CSV)) && !fmt->field_paths) {
		struct spot_buf csv;

		spot_buf_init(&csv);
		if (sbx_csv_rows(s, d, role, rows, &csv, &err)) {
			cli_error("preview", "%s", err.msg);
		} else {
			fwrite(csv.p, 1, csv.len, stdout);
			rc = CLI_EXIT_OK;
		}
		spot_buf_fini(&csv);
		goto out;
	}
	if (sbx_build(s, d, sub, role, &out, &err)) {
		cli_error("preview", "%s", err.msg);
		goto out;
	}
	/* A format of nested records (JSON Lines) prints its own. */
	if (fmt && fmt->id != VIEW_FMT_CSV && !sub[0]
		    ? cli_print_lines(&out, rows, NULL) == 0
		    : cli_print_rows(&out, rows) == 0)
		rc = CLI_EXIT_OK;
	out.free(out.obj);
out:
	sbx_free(s);
	return rc;
}

/* ---- --json: the same output, as JSON (cli_json.h) ---- */

/* Remove --json/-j from argv (before "--"); whether it was there. */
static bool cli_take_json(int *argc, char **argv)
{
	bool json = false;
	int k = 1;

	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < *argc)
				argv[k++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json = true;
		else
			argv[k++] = argv[i];
	}
	*argc = k;
	argv[k] = NULL;
	return json;
}

int cli_check(int argc, char **argv)
{
	struct cli_capture cap;
	int rc;

	if (!cli_take_json(&argc, argv))
		return cli_check_text(argc, argv);
	if (cli_capture_begin(&cap))
		return CLI_EXIT_FAIL;
	rc = cli_check_text(argc, argv);
	cli_capture_end(&cap);
	if (rc == CLI_EXIT_USAGE) {
		if (cap.len)
			fwrite(cap.buf, 1, cap.len, stdout);
	} else if (cap.len) { /* none: the config did not load (stderr) */
		cli_check_json(&cap, rc == CLI_EXIT_OK);
	}
	free(cap.buf);
	return rc;
}

int cli_preview(int argc, char **argv)
{
	struct cli_capture cap;
	const char *ds = NULL;
	int rc;

	if (!cli_take_json(&argc, argv))
		return cli_preview_text(argc, argv);
	if (cli_capture_begin(&cap))
		return CLI_EXIT_FAIL;
	cli_preview_want_json = true;
	spot_buf_init(&cli_preview_recs);
	rc = cli_preview_text(argc, argv);
	cli_capture_end(&cap);
	if (rc == CLI_EXIT_OK) {
		ds = optind > 0 && optind < argc ? argv[optind] : "";
		cli_preview_json_records(
			&cap, ds, cli_preview_role,
			cli_preview_recs.len ? (const char *)cli_preview_recs.p
					     : NULL,
			cli_preview_recs.len);
	} else if (cap.len) {
		fwrite(cap.buf, 1, cap.len, stdout); /* usage, help */
	}
	spot_buf_fini(&cli_preview_recs);
	free(cap.buf);
	return rc;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_config.c - unit tests of the config loader (policy/config.c): a full
 * valid config, every error with its exact line:col, hostile input (alias
 * bombs, huge files, /dev/zero, FIFOs, deep nesting, binary garbage), role
 * resolution, column rules and per-role overrides, dataset paths.
 *
 * Works in a fresh folder under /tmp that it removes at the end.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "plan.h"

static char tdir[256];	/* the test folder */
static char cpath[300]; /* tdir/c.yaml */

static void put_file(const char *rel, const void *p, size_t len, mode_t mode)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tdir, rel);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(2);
	}
	if (len)
		fwrite(p, 1, len, f);
	fclose(f);
	chmod(path, mode);
}

static void put_text(const char *rel, const char *s)
{
	put_file(rel, s, strlen(s), 0644);
}

/* Load yaml as tdir/c.yaml. */
static int load(const char *yaml, struct cfg **out, struct spot_err *err)
{
	put_text("c.yaml", yaml);
	err->msg[0] = 0;
	return cfg_load(cpath, out, err);
}

/*
 * The config must fail with "cpath:want..." where want starts with the
 * exact "LINE:COL: " and goes on with the start of the message.
 */
static void expect_err(const char *yaml, const char *want, const char *what)
{
	struct cfg *c = NULL;
	struct spot_err err;
	char full[700];
	int rc = load(yaml, &c, &err);

	snprintf(full, sizeof(full), "%s:%s", cpath, want);
	CHECK(rc < 0 && !c && !strncmp(err.msg, full, strlen(full)),
	      "%s: got '%s'", what, err.msg);
	cfg_free(c);
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long max_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static const char full_yaml[] =
	"source: ./data\n"
	"ttl: 1h30m\n"
	"max_ttl: 8h\n"
	"allow_no_ttl: false\n"
	"secret: keys/secret.bin\n"
	"default: show\n"
	"default_role: guest\n"
	"store: store\n"
	"state_dir: /var/tmp/spotfs-state\n"
	"roles:\n"
	"  admin: { users: [root] }\n"
	"  analyst: { groups: [daemon, 4242], users: [alice_is_not_here_0] }\n"
	"  steward: { users: [1234, daemon] }\n"
	"datasets:\n"
	"  customers.csv:\n"
	"    format: csv\n"
	"    delimiter: \";\"\n"
	"    as: [csv, parquet]\n"
	"    policy: policies/customers.lua\n"
	"    allow: [analyst, steward, guest]\n"
	"    columns:\n"
	"      email:  { method: hash, length: 12 }\n"
	"      ssn:    { method: mask, pattern: \"***-**-####\" }\n"
	"      name:   { method: fake, kind: name }\n"
	"      note:   { policy: clean_note }\n"
	"      id:     keep\n"
	"      city:   hash\n"
	"    roles:\n"
	"      steward:\n"
	"        columns:\n"
	"          ssn: { method: partial, keep_last: 4 }\n"
	"  ./sub//tab.tsv:\n"
	"    delimiter: \\t\n"
	"  sub/deeper/y.parquet: { format: parquet }\n"
	"  crm.db:\n"
	"    tables:\n"
	"      users:\n"
	"        columns: { email: { method: hash } }\n"
	"        roles: { admin: { columns: { email: keep } } }\n"
	"      orders: ~\n"
	"    db_views: true\n"
	"    columns: { phone: hash }\n"
	"    views:\n"
	"      active_users: SELECT id, email, country FROM users WHERE "
	"active = 1\n"
	"  other.db: { format: sqlite, tables: all }\n"
	"  list.db: { tables: [a, b] }\n";

static void fix_full_yaml(char *y)
{
	/* No such user exists: replace the placeholder user with a uid. */
	char *p = strstr(y, "alice_is_not_here_0");

	memcpy(p, "4343               ", 19);
}

/* The SQLite datasets of full_yaml. */
static void check_sqlite(const struct cfg *c)
{
	const struct cfg_dataset *d, *db;
	const struct cfg_column *col;

	db = cfg_dataset_find(c, "crm.db");
	CHECK(db && db->ntables == 2 && db->db_views && db->nviews == 1 &&
		      !db->all_tables,
	      "crm.db tables, db_views, views");
	if (!db || db->ntables != 2)
		return;
	CHECK(!strcmp(db->tables[0].name, "users") &&
		      !strcmp(db->tables[1].name, "orders") &&
		      !strcmp(db->views[0].name, "active_users") &&
		      !strncmp(db->views[0].sql, "SELECT id, email", 16),
	      "table and view names, view SQL");
	col = cfg_column_rule(db, &db->tables[0], "analyst", "email");
	CHECK(col && col->rule.method == MSK_HASH, "table rule");
	col = cfg_column_rule(db, &db->tables[0], "admin", "email");
	CHECK(col && col->rule.method == MSK_KEEP, "table role override");
	col = cfg_column_rule(db, &db->tables[1], "admin", "phone");
	CHECK(col && col->rule.method == MSK_HASH,
	      "dataset columns apply to tables without their own rule");
	CHECK(cfg_dataset_role_dependent(db), "table override: role-dependent");
	d = cfg_dataset_find(c, "other.db");
	CHECK(d && d->all_tables && d->format == VIEW_FMT_SQLITE,
	      "tables: all");
	d = cfg_dataset_find(c, "list.db");
	CHECK(d && d->ntables == 2 && !strcmp(d->tables[1].name, "b"),
	      "tables: [a, b]");
}

static void test_full(void)
{
	char yaml[sizeof(full_yaml)], want[600];
	uint8_t digest[32];
	const struct cfg_dataset *d;
	const struct cfg_column *col;
	struct cfg *c = NULL;
	struct spot_err err;
	int rc;

	memcpy(yaml, full_yaml, sizeof(yaml));
	fix_full_yaml(yaml);
	rc = load(yaml, &c, &err);
	CHECK(rc == 0 && c, "full config loads (%s)", rc ? err.msg : "ok");
	if (!c)
		return;
	snprintf(want, sizeof(want), "%s/c.yaml", c->dir);
	CHECK(!strcmp(c->path, want) && c->path[0] == '/', "path absolute");
	snprintf(want, sizeof(want), "%s/data", c->dir);
	CHECK(!strcmp(c->source, want), "source resolved: %s", c->source);
	CHECK(c->ttl == 5400 && c->max_ttl == 8 * 3600 && !c->allow_no_ttl,
	      "ttl 1h30m, max_ttl 8h");
	snprintf(want, sizeof(want), "%s/keys/secret.bin", c->dir);
	CHECK(c->secret == CFG_SECRET_FILE && !strcmp(c->secret_file, want),
	      "secret file");
	CHECK(c->dflt == CFG_DEFAULT_SHOW, "default: show");
	CHECK(!strcmp(c->default_role, "guest"), "default_role");
	snprintf(want, sizeof(want), "%s/store", c->dir);
	CHECK(!strcmp(c->store, want), "store relative to config");
	CHECK(!strcmp(c->state_dir, "/var/tmp/spotfs-state"), "state_dir");
	CHECK(c->nroles == 3 && !strcmp(c->roles[0].name, "admin") &&
		      c->roles[0].nuids == 1 && c->roles[0].uids[0] == 0,
	      "role admin = root = uid 0");
	CHECK(c->roles[1].ngids == 2 && c->roles[1].gids[1] == 4242 &&
		      c->roles[1].nuids == 1 && c->roles[1].uids[0] == 4343,
	      "role analyst ids");
	crypto_generichash(digest, 32, (const uint8_t *)yaml, strlen(yaml),
			   NULL, 0);
	CHECK(!memcmp(digest, c->digest, 32), "digest is BLAKE2b-256 of file");
	CHECK(c->ndatasets == 6, "6 datasets");

	d = cfg_dataset_find(c, "customers.csv");
	CHECK(d && d->format == VIEW_FMT_CSV && d->delimiter == ';' &&
		      d->as == (CFG_AS_CSV | CFG_AS_PARQUET),
	      "customers.csv format, delimiter, as");
	if (!d)
		goto out;
	snprintf(want, sizeof(want), "%s/policies/customers.lua", c->dir);
	CHECK(d->policy && !strcmp(d->policy, want), "policy absolute");
	CHECK(d->nallow == 3 && cfg_dataset_allows(d, "steward") &&
		      cfg_dataset_allows(d, "guest") &&
		      !cfg_dataset_allows(d, "admin") &&
		      !cfg_dataset_allows(d, NULL),
	      "allow list");
	CHECK(d->rules.ncols == 6 && d->line == 15 && d->col == 3,
	      "6 columns, dataset at 15:3");
	col = cfg_column_rule(d, NULL, "analyst", "email");
	CHECK(col && col->has_rule && col->rule.method == MSK_HASH &&
		      col->rule.hash_len == 12 && col->line == 22 &&
		      col->col == 7,
	      "email: hash length 12 at 22:7");
	col = cfg_column_rule(d, NULL, "analyst", "ssn");
	CHECK(col && col->rule.method == MSK_MASK && col->rule.pattern &&
		      !strcmp(col->rule.pattern, "***-**-####"),
	      "ssn: mask pattern");
	col = cfg_column_rule(d, NULL, "steward", "ssn");
	CHECK(col && col->rule.method == MSK_PARTIAL &&
		      col->rule.keep_last == 4,
	      "steward override: ssn partial keep_last 4");
	col = cfg_column_rule(d, NULL, "steward", "email");
	CHECK(col && col->rule.method == MSK_HASH,
	      "steward falls back to the base rule for email");
	col = cfg_column_rule(d, NULL, NULL, "ssn");
	CHECK(col && col->rule.method == MSK_MASK, "no role: base rule");
	col = cfg_column_rule(d, NULL, "analyst", "note");
	CHECK(col && !col->has_rule && col->policy_fn &&
		      !strcmp(col->policy_fn, "clean_note"),
	      "note: Lua column function");
	col = cfg_column_rule(d, NULL, "analyst", "id");
	CHECK(col && col->has_rule && col->rule.method == MSK_KEEP,
	      "shorthand id: keep");
	col = cfg_column_rule(d, NULL, "analyst", "city");
	CHECK(col && col->rule.method == MSK_HASH, "shorthand city: hash");
	CHECK(!cfg_column_rule(d, NULL, "analyst", "country"),
	      "unnamed column: no rule");
	CHECK(!cfg_column_rule_len(d, NULL, "analyst", "id\0ssn", 6) &&
		      !cfg_column_rule_len(d, NULL, "analyst", "id\0", 3) &&
		      cfg_column_rule_len(d, NULL, "analyst", "idx", 2),
	      "names are (ptr, len): 'id\\0ssn' is not 'id'");
	CHECK(cfg_dataset_role_dependent(d), "customers.csv is role-dependent");

	d = cfg_dataset_find(c, "sub/tab.tsv");
	CHECK(d && d->delimiter == '\t' && d->format == VIEW_FMT_UNKNOWN &&
		      !d->allow && cfg_dataset_allows(d, "anyone") &&
		      !cfg_dataset_role_dependent(d),
	      "./sub//tab.tsv normalised, delimiter \\t, no allow list");
	CHECK(cfg_dataset_find(c, "./sub//tab.tsv") == d &&
		      cfg_dataset_find(c, "sub/./tab.tsv") == d,
	      "find normalises its argument");
	CHECK(!cfg_dataset_find(c, "sub") && !cfg_dataset_find(c, "nope") &&
		      !cfg_dataset_find(c, "../customers.csv") &&
		      !cfg_dataset_find(c, "/customers.csv"),
	      "find: folders, unknown and escaping paths are not datasets");
	CHECK(cfg_is_dataset_parent(c, "") && cfg_is_dataset_parent(c, "sub") &&
		      cfg_is_dataset_parent(c, "sub/deeper") &&
		      cfg_is_dataset_parent(c, "./sub/"),
	      "dataset parents");
	CHECK(!cfg_is_dataset_parent(c, "su") &&
		      !cfg_is_dataset_parent(c, "sub/tab.tsv") &&
		      !cfg_is_dataset_parent(c, "customers.csv") &&
		      !cfg_is_dataset_parent(c, "deeper") &&
		      !cfg_is_dataset_parent(c, ".."),
	      "not dataset parents");
	d = cfg_dataset_find(c, "sub/deeper/y.parquet");
	CHECK(d && d->format == VIEW_FMT_PARQUET, "nested parquet dataset");

	check_sqlite(c);
out:
	cfg_free(c);
}

static void test_roles(void)
{
	struct passwd *pw = getpwnam("daemon");
	struct group *gr = getgrnam("daemon");
	uid_t duid = pw ? pw->pw_uid : 1;
	gid_t dgid = gr ? gr->gr_gid : 1;
	gid_t groups[] = { 7, 4242 };
	char yaml[sizeof(full_yaml)];
	struct cfg *c = NULL;
	struct spot_err err;

	memcpy(yaml, full_yaml, sizeof(yaml));
	fix_full_yaml(yaml);
	if (load(yaml, &c, &err)) {
		CHECK(0, "roles config loads: %s", err.msg);
		return;
	}
	CHECK(!strcmp(cfg_role_for(c, 0, 0, NULL, 0), "admin"), "root: admin");
	CHECK(!strcmp(cfg_role_for(c, 5000, 4242, NULL, 0), "analyst"),
	      "numeric gid 4242: analyst");
	CHECK(!strcmp(cfg_role_for(c, 5000, 5000, groups, 2), "analyst"),
	      "supplementary group 4242: analyst");
	CHECK(!strcmp(cfg_role_for(c, 4343, 5000, NULL, 0), "analyst"),
	      "numeric uid 4343: analyst");
	CHECK(!strcmp(cfg_role_for(c, duid, 5000, NULL, 0), "steward"),
	      "user daemon by name: steward");
	CHECK(!strcmp(cfg_role_for(c, 1234, dgid, NULL, 0), "analyst"),
	      "first role in file order wins (group daemon)");
	CHECK(!strcmp(cfg_role_for(c, 1234, 5000, groups, 1), "steward"),
	      "uid 1234: steward");
	CHECK(!strcmp(cfg_role_for(c, 5000, 5000, groups, 1), "guest"),
	      "no match: default_role");
	cfg_free(c);
	CHECK(!load("source: data\n", &c, &err) &&
		      !strcmp(cfg_role_for(c, 0, 0, NULL, 0), "default") &&
		      c->ttl == 0 && c->max_ttl == 0 &&
		      c->secret == CFG_SECRET_RANDOM &&
		      c->dflt == CFG_DEFAULT_HIDE && !c->store &&
		      !c->ndatasets && !cfg_dataset_find(c, "x") &&
		      c->threads == 0 && cfg_is_dataset_parent(c, "") &&
		      !cfg_is_dataset_parent(c, "x") &&
		      c->unlisted == CFG_UNLISTED_REDACT,
	      "minimal config: defaults (unlisted columns redacted)");
	cfg_free(c);
	cfg_free(NULL);
}

#define DS "source: data\ndatasets:\n  a.csv:\n"
#define DS_ROLES "datasets:\n  a.csv:\n"

static void test_errors(void)
{
	expect_err("source: data\ncolour: red\n",
		   "2:1: unknown key 'colour' in the config (allowed: source, "
		   "ttl, max_ttl, allow_no_ttl, secret, default, default_role, "
		   "store, state_dir, roles, datasets, audit_key, threads, "
		   "unlisted_columns, overlay, view_memory, prebuild, export, "
		   "dp_budget, csv_injection)",
		   "unknown top-level key lists the keys");
	expect_err(DS "    colums: {}\n",
		   "4:5: unknown key 'colums' in dataset 'a.csv' (allowed: "
		   "format, delimiter, as, policy, allow, columns, roles, "
		   "tables, db_views, views, k_anonymity, unlisted_columns, "
		   "sample, quota, aggregates, synthetic, csv_injection)",
		   "unknown dataset key");
	expect_err(DS "    columns:\n      email: { method: hsh }\n",
		   "5:24: unknown method 'hsh' for column 'email' (methods: "
		   "keep, hash, tokenize, mask, partial, email, redact, null, "
		   "fake, generalize, noise, pii, fpe, shift, truncate, round, "
		   "scramble)",
		   "unknown method lists the methods");
	expect_err(DS "    columns:\n      email: hsh\n",
		   "5:14: unknown method 'hsh'", "unknown shorthand method");
	expect_err("source: data\ndatasets: [a, b]\n",
		   "2:11: expected a mapping for datasets, found a sequence",
		   "wrong type: sequence for a mapping");
	expect_err(DS "    columns: email\n",
		   "4:14: expected a mapping for columns, found a string",
		   "wrong type: string for a mapping");
	expect_err("source: [a]\n",
		   "1:9: expected a string for source, found a sequence",
		   "wrong type: sequence for a string");
	expect_err("source: data\nttl: 1h\nttl: 2h\n",
		   "3:1: duplicate key 'ttl' (first at 2:1)", "duplicate key");
	expect_err(DS "    columns:\n      a: hash\n      b: hash\n      a: "
		      "keep\n",
		   "7:7: duplicate key 'a' (first at 5:7)", "duplicate column");
	expect_err("source: data\ndatasets:\n  a.csv: ~\n  ./a.csv: ~\n",
		   "4:3: dataset 'a.csv' is named twice (first at 3:3)",
		   "duplicate dataset after normalising");
	expect_err("source: data\ndatasets:\n  a: ~\n  a/b.csv: ~\n",
		   "3:3: dataset 'a' is also the folder of another dataset",
		   "dataset both file and folder");
	expect_err("ttl: 1h\n", "1:1: missing required key 'source'",
		   "missing source");
	expect_err("source: nope\n",
		   "1:9: source 'nope': No such file or directory",
		   "source does not exist");
	expect_err("source: file.txt\n",
		   "1:9: source 'file.txt' is not a folder",
		   "source not a folder");
	expect_err("source: data\nttl: 2 hours\n",
		   "2:6: bad duration '2 hours' for ttl", "bad duration");
	expect_err("source: data\nmax_ttl: 0s\n",
		   "2:10: max_ttl must be longer than 0s", "zero duration");
	expect_err("source: data\nttl: 9h\nmax_ttl: 8h\n",
		   "2:6: ttl 9h00m00s is longer than max_ttl 8h00m00s",
		   "ttl > max_ttl");
	expect_err("source: data\nttl: none\n",
		   "2:6: ttl: none needs allow_no_ttl: true",
		   "ttl none without allow_no_ttl");
	expect_err("source: data\nallow_no_ttl: maybe\n",
		   "2:15: allow_no_ttl must be true or false", "bad bool");
	expect_err("source: data\ndefault: open\n",
		   "2:10: default must be hide or show", "bad default");
}

/* Errors in values: files, paths, roles and method parameters. */
/* unlisted_columns: global, per dataset, per table; optional rules. */
static void test_unlisted(void)
{
	struct cfg *c = NULL;
	struct spot_err err;
	const struct cfg_dataset *d;
	const struct cfg_column *col;

	CHECK(!load("source: data\nunlisted_columns: keep\ndatasets:\n"
		    "  a.csv:\n    columns:\n"
		    "      email: { method: hash, optional: true }\n"
		    "      note: { method: null, optional: no }\n"
		    "  b.csv:\n    unlisted_columns: redact\n"
		    "  c.db:\n    unlisted_columns: redact\n    tables:\n"
		    "      t:\n        unlisted_columns: keep\n      u: {}\n",
		    &c, &err),
	      "unlisted_columns loads (%s)", err.msg);
	if (!c)
		return;
	d = cfg_dataset_find(c, "a.csv");
	CHECK(c->unlisted == CFG_UNLISTED_KEEP && d &&
		      cfg_unlisted_of(d, NULL) == CFG_UNLISTED_KEEP,
	      "global keep is the datasets' default");
	col = d ? cfg_column_rule(d, NULL, NULL, "email") : NULL;
	CHECK(col && col->optional && col->rule.method == MSK_HASH,
	      "optional: true with a method");
	col = d ? cfg_column_rule(d, NULL, NULL, "note") : NULL;
	CHECK(col && !col->optional, "optional: no");
	d = cfg_dataset_find(c, "b.csv");
	CHECK(d && cfg_unlisted_of(d, NULL) == CFG_UNLISTED_REDACT,
	      "per-dataset redact wins over global keep");
	d = cfg_dataset_find(c, "c.db");
	CHECK(d && d->ntables == 2 &&
		      cfg_unlisted_of(d, &d->tables[0]) == CFG_UNLISTED_KEEP &&
		      cfg_unlisted_of(d, &d->tables[1]) == CFG_UNLISTED_REDACT,
	      "per-table keep wins over the dataset's redact");
	cfg_free(c);
	expect_err(DS "    unlisted_columns: hide\n",
		   "4:23: unlisted_columns must be redact or keep, not 'hide'",
		   "unlisted_columns value checked");
	expect_err(DS "    columns:\n      email: { method: hash, "
		      "optional: maybe }\n",
		   "5:40: optional must be true or false", "optional checked");
}

/* csv_injection: neutralize by default, off globally or per dataset. */
static void test_csv_injection(void)
{
	struct cfg *c = NULL;
	struct spot_err err;
	const struct cfg_dataset *a, *b;

	CHECK(!load(DS "  b.csv:\n    csv_injection: off\n", &c, &err) && c &&
		      c->csv_injection == VIEW_CSV_INJ_NEUTRALIZE &&
		      (a = cfg_dataset_find(c, "a.csv")) &&
		      a->csv_injection == VIEW_CSV_INJ_NEUTRALIZE &&
		      (b = cfg_dataset_find(c, "b.csv")) &&
		      b->csv_injection == VIEW_CSV_INJ_OFF,
	      "csv_injection: neutralize by default, off per dataset (%s)",
	      err.msg);
	cfg_free(c);
	c = NULL;
	CHECK(!load("source: data\ncsv_injection: off\ndatasets:\n"
		    "  a.csv:\n  b.csv:\n    csv_injection: neutralize\n",
		    &c, &err) &&
		      c && c->csv_injection == VIEW_CSV_INJ_OFF &&
		      (a = cfg_dataset_find(c, "a.csv")) &&
		      a->csv_injection == VIEW_CSV_INJ_OFF &&
		      (b = cfg_dataset_find(c, "b.csv")) &&
		      b->csv_injection == VIEW_CSV_INJ_NEUTRALIZE,
	      "global off, a dataset's neutralize wins (%s)", err.msg);
	cfg_free(c);
	expect_err(DS "    csv_injection: escape\n",
		   "4:20: csv_injection must be neutralize or off, not "
		   "'escape'",
		   "csv_injection value checked");
}

/* plan_bind: unlisted columns redacted, missing rules fail with a hint. */
static void test_plan_unlisted(void)
{
	static struct pipe_col cols[] = {
		{ (char *)"id", 2, PIPE_TEXT, 0 },
		{ (char *)"Email", 5, PIPE_TEXT, 0 },
		{ (char *)"contact.phone", 13, PIPE_TEXT, 0 },
	};
	struct plan_env env = { 0 };
	struct cfg *c = NULL;
	struct spot_err err;
	struct plan *p = NULL;
	const struct cfg_dataset *d;
	int rc;

	CHECK(!strcmp(plan_suggest("email", cols, 3), "Email") &&
		      !strcmp(plan_suggest(" EMAIL ", cols, 3), "Email") &&
		      !strcmp(plan_suggest("phone", cols, 3),
			      "contact.phone") &&
		      !strcmp(plan_suggest("contact", cols, 3),
			      "contact.phone") &&
		      !plan_suggest("mail", cols, 3),
	      "plan_suggest: case, white space, Parquet paths");
	if (load("source: data\ndatasets:\n  a.csv:\n    columns:\n"
		 "      id: keep\n      phone: { method: hash, optional: true "
		 "}\n"
		 "  b.csv:\n    columns:\n      email: hash\n"
		 "  c.csv:\n    unlisted_columns: keep\n",
		 &c, &err)) {
		CHECK(0, "plan config loads (%s)", err.msg);
		return;
	}
	env.cfg = c;
	d = cfg_dataset_find(c, "a.csv");
	rc = plan_bind(&env, d, NULL, "r", "a.csv", cols, 3, &p, &err);
	CHECK(rc == 0 && plan_pipe(p)->nxf == 2 &&
		      plan_pipe(p)->xf[0].col == 1 &&
		      plan_pipe(p)->xf[1].col == 2 && plan_missing(p) &&
		      !strcmp(plan_missing(p), "phone"),
	      "unlisted Email and contact.phone redacted; optional missing");
	plan_free(p);
	p = NULL;
	env.view_output = true;
	rc = plan_bind(&env, d, NULL, "r", "a.csv", cols, 3, &p, &err);
	CHECK(rc == 0 && plan_pipe(p)->nxf == 0,
	      "a view's output columns are served as computed");
	plan_free(p);
	p = NULL;
	env.view_output = false;
	d = cfg_dataset_find(c, "b.csv");
	rc = plan_bind(&env, d, NULL, "r", "b.csv", cols, 3, &p, &err);
	CHECK(rc == -EINVAL && !p && strstr(err.msg, "'email'") &&
		      strstr(err.msg, "did you mean 'Email'?"),
	      "missing rule fails with the near miss (%s)", err.msg);
	d = cfg_dataset_find(c, "c.csv");
	rc = plan_bind(&env, d, NULL, "r", "c.csv", cols, 3, &p, &err);
	CHECK(rc == 0 && plan_pipe(p)->nxf == 0, "unlisted_columns: keep");
	plan_free(p);
	cfg_free(c);
}

static void test_errors_values(void)
{
	struct cfg *c = NULL;
	struct spot_err err;

	CHECK(!load("source: data\nthreads: 3\n", &c, &err) && c &&
		      c->threads == 3,
	      "threads: 3 (%s)", err.msg);
	cfg_free(c);
	expect_err("source: data\nthreads: 0\n",
		   "2:10: threads must be a number from 1 to 64, not '0'",
		   "threads: 0");
	expect_err("source: data\nthreads: 65\n",
		   "2:10: threads must be a number from 1 to 64, not '65'",
		   "threads: 65");
	expect_err("source: data\nthreads: -2\n",
		   "2:10: threads must be a number from 1 to 64, not '-2'",
		   "threads: -2");
	expect_err("source: data\nthreads: two\n",
		   "2:10: threads must be a number from 1 to 64, not 'two'",
		   "threads: two");
	expect_err("source: data\nthreads: [2]\n", "2:10: threads must be",
		   "threads: a list");
	expect_err(DS "    policy: policies/nope.lua\n",
		   "4:13: policy file 'policies/nope.lua': No such file",
		   "policy file missing");
	expect_err(DS "    columns:\n      note: { policy: clean_note }\n",
		   "5:23: column 'note' uses policy: but dataset 'a.csv' has "
		   "no policy: file",
		   "column policy without dataset policy");
	expect_err(DS "    columns:\n      note: { policy: f, method: hash }\n",
		   "5:23: column 'note' takes method: or policy:, not both",
		   "column policy and method");
	expect_err(DS "    columns:\n      note: { length: 3 }\n",
		   "5:13: column 'note' needs method: or policy:",
		   "column without method");
	expect_err("source: data\ndatasets:\n  ../etc/passwd: ~\n",
		   "3:3: dataset path '../etc/passwd' must name a file inside "
		   "the source",
		   "dataset path escaping with ..");
	expect_err("source: data\ndatasets:\n  sub/../../x.csv: ~\n",
		   "3:3: dataset path", "dataset path escaping in the middle");
	expect_err("source: data\ndatasets:\n  /etc/passwd: ~\n",
		   "3:3: dataset path '/etc/passwd'", "absolute dataset path");
	expect_err("source: data\ndatasets:\n  ./: ~\n", "3:3: dataset path",
		   "dataset path naming the source itself");
	expect_err("source: data\nroles: { analyst: {} }\n" DS_ROLES
		   "    allow: [analyst, ghost]\n",
		   "5:22: undefined role 'ghost' (roles: default, analyst)",
		   "undefined role in allow");
	expect_err("source: data\nroles: { analyst: {} }\n" DS_ROLES
		   "    roles:\n      ghost:\n        columns: { a: hash }\n",
		   "6:7: undefined role 'ghost'", "undefined role in override");
	expect_err(DS "    roles:\n      default:\n        colour: 1\n",
		   "6:9: unknown key 'colour' in a role override (allowed: "
		   "columns)",
		   "bad key in role override");
	expect_err(DS
		   "    columns:\n      email: { method: hash, length: 3 }\n",
		   "5:38: column 'email': ", "msk_rule_set bad value");
	expect_err(DS "    columns:\n      email: { method: hash, colour: red "
		      "}\n",
		   "5:30: column 'email': ", "msk_rule_set unknown parameter");
	expect_err(DS "    columns:\n      ssn: { method: mask }\n",
		   "5:7: column 'ssn': ", "msk_rule_check error");
	expect_err(DS "    columns:\n      ssn: partial\n",
		   "5:7: column 'ssn': ", "msk_rule_check on shorthand");
	expect_err("source: data\nroles:\n  a: { users: [nosuchuser_xyz] }\n",
		   "3:16: unknown user 'nosuchuser_xyz' in role 'a'",
		   "unknown user name");
	expect_err("source: data\nroles:\n  a: { groups: [nosuchgroup_xyz] }\n",
		   "3:17: unknown group 'nosuchgroup_xyz' in role 'a'",
		   "unknown group name");
	expect_err("source: data\nroles:\n  a: { users: [99999999999] }\n",
		   "3:16: user id '99999999999' out of range", "uid overflow");
	expect_err("source: data\nroles:\n  a: { user: [root] }\n",
		   "3:8: unknown key 'user' in a role (allowed: users, groups, "
		   "quota)",
		   "bad role key");
	expect_err(DS "    format: parquet\n    delimiter: \";\"\n",
		   "5:16: delimiter is for CSV datasets only",
		   "delimiter on parquet");
	expect_err(DS "    delimiter: ab\n",
		   "4:16: delimiter must be one character", "long delimiter");
	/* The lists come from the table of formats (format.h). */
	expect_err(DS "    format: xls\n",
		   "4:13: unknown format 'xls' (formats: auto, csv, parquet, "
		   "sqlite, jsonl)",
		   "unknown format");
	expect_err(DS "    format: CSV\n", "4:13: unknown format 'CSV'",
		   "format names are lower case");
	expect_err(DS "    as: [json]\n",
		   "4:10: unknown output format 'json' (as: native, csv, "
		   "parquet, jsonl)",
		   "unknown as");
	expect_err(DS "    as: [jsonl]\n",
		   "4:9: as: of CSV datasets is one of native, csv, parquet",
		   "jsonl is no form of a CSV dataset");
	expect_err(DS "    as: [sqlite]\n",
		   "4:10: unknown output format 'sqlite' (as: native, csv, "
		   "parquet, jsonl)",
		   "sqlite is no output form");
	expect_err(DS "    tables: [users]\n    format: csv\n",
		   "4:13: tables is for SQLite datasets only",
		   "tables on a CSV");
	expect_err("source: data\ndatasets:\n  d.db:\n    tables: some\n",
		   "4:13: tables must be 'all'",
		   "tables scalar other than all");
	expect_err("source: data\ndatasets:\n  d.db:\n    tables: [a, b, a]\n",
		   "4:20: table 'a' is listed twice", "duplicate table");
	expect_err("source: data\ndatasets:\n  d.db:\n    views: { v: [x] }\n",
		   "4:17: expected a string for a view", "view not SQL");
	expect_err("source: data\nkey: [a, b\n", "3:1: YAML syntax error: ",
		   "YAML syntax error with libyaml's position");
	expect_err("source: data\n  bad: indent\n", "2:6: YAML syntax error: ",
		   "YAML syntax error: bad indentation");
	expect_err("source: data\n---\nsource: data\n",
		   "2:1: only one YAML document is allowed",
		   "multiple documents");
	expect_err("", "1:1: empty config", "empty file");
	expect_err("# just a comment\n\n", "3:1: empty config",
		   "comments only");
	expect_err("[source, data]\n",
		   "1:1: expected a mapping for the config, found a sequence",
		   "root not a mapping");
	expect_err("source: &a data\n",
		   "1:9: anchors and aliases are not supported", "anchor");
	expect_err("source: *a\n", "1:9: anchors and aliases are not supported",
		   "alias without anchor");
	expect_err("source: \"da\\0ta\"\n", "1:9: NUL byte in a string",
		   "NUL escape in a string");
	expect_err("? [a]\n: b\n", "1:3: mapping keys must be plain strings",
		   "non-scalar key");
}

static void test_secret(void)
{
	static const uint8_t key[32] = { 1, 2, 3 };

	put_file("keys/open.bin", key, sizeof(key), 0644);
	put_file("keys/short.bin", key, 8, 0600);
	put_file("keys/group.bin", key, sizeof(key), 0640);
	expect_err("source: data\nsecret: keys/open.bin\n",
		   "2:9: secret file 'keys/open.bin' is readable or writable "
		   "by other users",
		   "world-readable secret refused");
	expect_err(
		"source: data\nsecret: keys/short.bin\n",
		"2:9: secret file 'keys/short.bin' must hold 16 to 4096 bytes",
		"short secret refused");
	expect_err("source: data\nsecret: keys/none.bin\n",
		   "2:9: secret file 'keys/none.bin': No such file",
		   "missing secret refused");
	expect_err("source: data\nsecret: data\n",
		   "2:9: secret 'data' is not a regular file",
		   "secret folder refused");
	{
		struct cfg *c = NULL;
		struct spot_err err;

		CHECK(!load("source: data\nsecret: keys/group.bin\n", &c,
			    &err) &&
			      c->secret == CFG_SECRET_FILE,
		      "group-readable secret accepted (with a warning)");
		cfg_free(c);
		CHECK(!load("source: data\nsecret: random\nttl: none\n"
			    "allow_no_ttl: yes\n",
			    &c, &err) &&
			      c->secret == CFG_SECRET_RANDOM &&
			      c->ttl == UINT64_MAX && c->allow_no_ttl,
		      "secret random, ttl none");
		cfg_free(c);
	}
}

/* Write size bytes of YAML-looking lines to rel. */
static void put_big(const char *rel, size_t size)
{
	static char block[1 << 20];
	char path[512];
	size_t done, n, i;
	FILE *f;

	for (i = 0; i + 8 <= sizeof(block); i += 8)
		memcpy(block + i, "key: v\n\n", 8);
	snprintf(path, sizeof(path), "%s/%s", tdir, rel);
	f = fopen(path, "w");
	if (!f)
		exit(2);
	for (done = 0; done < size; done += n) {
		n = size - done < sizeof(block) ? size - done : sizeof(block);
		fwrite(block, 1, n, f);
	}
	fclose(f);
}

static void expect_path_err(const char *path, const char *want,
			    const char *what)
{
	struct cfg *c = NULL;
	struct spot_err err;
	int rc = cfg_load(path, &c, &err);

	CHECK(rc < 0 && !c && strstr(err.msg, want), "%s: got '%s'", what,
	      err.msg);
	cfg_free(c);
}

/* Files that are too big, endless, blocking or not files. */
static void test_hostile_files(void)
{
	char path[512];
	double t0;
	long rss0;

	/* 100 MB of YAML: refused by size before reading. */
	put_big("big.yaml", 100u << 20);
	snprintf(path, sizeof(path), "%s/big.yaml", tdir);
	rss0 = max_rss_kb();
	t0 = now_sec();
	expect_path_err(path, "config larger than 4194304 bytes",
			"100 MB file");
	CHECK(now_sec() - t0 < 1.0, "100 MB file fails in < 1 s");
	CHECK(max_rss_kb() - rss0 < 16 * 1024, "100 MB file: RSS grew %ld KiB",
	      max_rss_kb() - rss0);
	unlink(path);
	put_big("big.yaml", CFG_MAX_BYTES + 1);
	expect_path_err(path, "config larger than", "cap + 1 bytes refused");
	unlink(path);

	t0 = now_sec();
	expect_path_err("/dev/zero", "/dev/zero: config larger than",
			"/dev/zero read with a cap");
	CHECK(now_sec() - t0 < 1.0, "/dev/zero fails fast");
	snprintf(path, sizeof(path), "%s/fifo", tdir);
	CHECK(!mkfifo(path, 0600), "mkfifo");
	expect_path_err(path, "empty config", "FIFO without writer: no hang");
	expect_path_err(tdir, "is a folder, not a config file", "a folder");
	snprintf(path, sizeof(path), "%s/missing.yaml", tdir);
	expect_path_err(path, "missing.yaml: cannot open: No such file",
			"missing config");
}

static void test_hostile(void)
{
	struct spot_buf b;
	struct cfg *c = NULL;
	struct spot_err err;
	char path[512];
	double t0;
	uint32_t seed = 12345;
	int i, j, rc;

	/* Billion laughs: refused at its first anchor, before any alias. */
	spot_buf_init(&b);
	spot_buf_printf(&b,
			"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
	for (i = 1; i < 10; i++) {
		spot_buf_printf(&b, "%c: &%c [", 'a' + i, 'a' + i);
		for (j = 0; j < 9; j++)
			spot_buf_printf(&b, "%s*%c", j ? "," : "", 'a' + i - 1);
		spot_buf_printf(&b, "]\n");
	}
	t0 = now_sec();
	expect_err((const char *)b.p,
		   "1:4: anchors and aliases are not "
		   "supported",
		   "billion laughs refused at the first anchor");
	CHECK(now_sec() - t0 < 1.0, "billion laughs fails fast");
	spot_buf_fini(&b);

	/* Deep nesting, flow and block. */
	spot_buf_init(&b);
	for (i = 0; i < 200000; i++)
		spot_buf_putc(&b, '[');
	t0 = now_sec();
	expect_err((const char *)b.p, "1:33: nesting deeper than 32 levels",
		   "deep flow nesting");
	CHECK(now_sec() - t0 < 1.0, "deep nesting fails fast");
	spot_buf_reset(&b);
	for (i = 0; i < 40; i++)
		spot_buf_printf(&b, "%*sk:\n", i, "");
	expect_err((const char *)b.p, "33:33: nesting deeper than 32 levels",
		   "deep block nesting");

	/* A collection over the cap. */
	spot_buf_reset(&b);
	spot_buf_printf(&b, "source: data\nroles: { r: { users: [");
	for (i = 0; i <= 10000; i++)
		spot_buf_printf(&b, "%s%d", i ? "," : "", i);
	spot_buf_printf(&b, "] } }\n");
	rc = load((const char *)b.p, &c, &err);
	CHECK(rc < 0 && strstr(err.msg, ":2:") &&
		      strstr(err.msg,
			     "more than 10000 entries in one sequence"),
	      "sequence over the cap: %s", err.msg);

	/* Every name is an NSS lookup: their number is capped. */
	spot_buf_reset(&b);
	spot_buf_printf(&b, "source: data\nroles:\n  r: { users: [");
	for (i = 0; i <= 1024; i++)
		spot_buf_printf(&b, "%sroot", i ? "," : "");
	spot_buf_printf(&b, "] }\n");
	rc = load((const char *)b.p, &c, &err);
	CHECK(rc < 0 && strstr(err.msg, ":3:5136: more than 1024 user and "
					"group names (use numeric ids)"),
	      "user name lookups capped: %s", err.msg);

	/* A large valid config: 2000 roles, 2000 datasets of 10 columns. */
	spot_buf_reset(&b);
	spot_buf_printf(&b, "source: data\nroles:\n");
	for (i = 0; i < 2000; i++)
		spot_buf_printf(&b, "  r%d: { users: [%d] }\n", i, i + 1);
	spot_buf_printf(&b, "datasets:\n");
	for (i = 0; i < 2000; i++) {
		spot_buf_printf(&b,
				"  d%04d/x.csv: { allow: [r1999, r%d], "
				"columns: {",
				i, i);
		for (j = 0; j < 10; j++)
			spot_buf_printf(&b, "%sc%d: hash", j ? ", " : " ", j);
		spot_buf_printf(&b, " } }\n");
	}
	t0 = now_sec();
	rc = load((const char *)b.p, &c, &err);
	CHECK(rc == 0 && c && c->ndatasets == 2000 &&
		      cfg_is_dataset_parent(c, "d1234") &&
		      cfg_dataset_find(c, "d1999/x.csv") &&
		      cfg_dataset_find(c, "d1999/x.csv")->nallow == 2 &&
		      !strcmp(cfg_role_for(c, 2000, 0, NULL, 0), "r1999"),
	      "large config loads (%s)", rc ? err.msg : "ok");
	CHECK(now_sec() - t0 < 5.0, "large config loads in %.2f s",
	      now_sec() - t0);
	cfg_free(c);
	c = NULL;

	/* Binary garbage, deterministic. */
	spot_buf_reset(&b);
	for (i = 0; i < 4096; i++) {
		seed = seed * 1103515245u + 12345u;
		spot_buf_putc(&b, (uint8_t)(seed >> 16));
	}
	put_file("c.yaml", b.p, b.len, 0644);
	rc = cfg_load(cpath, &c, &err);
	snprintf(path, sizeof(path), "%s:", cpath);
	CHECK(rc < 0 && !c && !strncmp(err.msg, path, strlen(path)),
	      "binary garbage refused: %s", err.msg);
	put_file("c.yaml", "source: data\nx: \0\n", 17, 0644);
	rc = cfg_load(cpath, &c, &err);
	snprintf(path, sizeof(path), "%s:2:4: YAML error: ", cpath);
	CHECK(rc < 0 && !strncmp(err.msg, path, strlen(path)),
	      "raw NUL byte located: %s", err.msg);
	rc = load("source: data\n\"bad\\e[31mkey\": 1\n", &c, &err);
	CHECK(rc < 0 && !strchr(err.msg, '\x1b') &&
		      strstr(err.msg, "2:1: unknown key 'bad?[31mkey'"),
	      "no control characters in messages: %s", err.msg);
	spot_buf_fini(&b);
}

static void test_sizes(void)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t v;
	} t[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "64KiB", 0, 64 << 10 },
		{ "64k", 0, 64 << 10 },
		{ "2 MiB", 0, 2 << 20 },
		{ "3G", 0, 3ull << 30 },
		{ "1gb", 0, 1000000000ull },
		{ "1TiB", 0, 1ull << 40 },
		{ "4194304T", 0, 1ull << 62 },
		{ "4194305T", -EINVAL, 0 },
		{ "99999999999999999999", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "1.5G", -EINVAL, 0 },
		{ "12 parsecs", -EINVAL, 0 },
		{ "G", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 7;
		int rc = cfg_parse_size(t[i].s, &v);

		CHECK(rc == t[i].rc && (rc || v == t[i].v),
		      "size '%s' -> %d %llu", t[i].s, rc,
		      (unsigned long long)v);
	}
}

int main(void)
{
	test_sizes();
	char cmd[400];

	alarm(60); /* a hang is a failure */
	snprintf(tdir, sizeof(tdir), "/tmp/test_config.XXXXXX");
	if (!mkdtemp(tdir))
		return 2;
	snprintf(cpath, sizeof(cpath), "%s/c.yaml", tdir);
	snprintf(cmd, sizeof(cmd), "%s/data", tdir);
	mkdir(cmd, 0755);
	snprintf(cmd, sizeof(cmd), "%s/policies", tdir);
	mkdir(cmd, 0755);
	snprintf(cmd, sizeof(cmd), "%s/keys", tdir);
	mkdir(cmd, 0700);
	put_text("file.txt", "x\n");
	put_text("policies/customers.lua", "-- policy\n");
	put_file("keys/secret.bin", "0123456789abcdef0123456789abcdef", 32,
		 0600);

	test_full();
	test_roles();
	test_errors();
	test_unlisted();
	test_csv_injection();
	test_plan_unlisted();
	test_errors_values();
	test_secret();
	test_hostile_files();
	test_hostile();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", tdir);
	return check_done();
}

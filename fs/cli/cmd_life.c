/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_life.c - `spotfs list`, `status`, `extend`, `audit` and `gc`: the
 * registry, the control channel and the audit log seen from the shell.
 */
#include "cmd_life.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "ctl.h"
#include "life.h"
#include "mnt_info.h"
#include "registry.h"

/* ---- shared helpers ---- */

static int cli_state_dir(const char *cmd, const char *opt, char *buf,
			 size_t len)
{
	int rc;

	if (opt) {
		if (opt[0] != '/' || strlen(opt) >= len) {
			cli_error(cmd, "--state-dir must be an absolute path");
			return -EINVAL;
		}
		strcpy(buf, opt);
		return 0;
	}
	rc = reg_default_dir(buf, len);
	if (rc)
		cli_error(cmd, "no state folder: %s", strerror(-rc));
	return rc;
}

static int cli_reg_open(const char *cmd, const char *opt, struct reg_db **db)
{
	char dir[PATH_MAX - 32], path[PATH_MAX];
	int rc;

	rc = cli_state_dir(cmd, opt, dir, sizeof(dir));
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/%s", dir, REG_DB_NAME);
	rc = reg_open(path, db);
	if (rc)
		cli_error(cmd, "cannot open the registry %s: %s", path,
			  strerror(-rc));
	return rc;
}

/* Who may see what: root everything, others their own sandboxes. */
static int64_t cli_owner_filter(void)
{
	return geteuid() == 0 ? -1 : (int64_t)getuid();
}

/* A JSON string; bytes that are not printable ASCII become \u00XX. */
static void cli_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/*
 * The registered mount point for a path given by the user, without
 * touching the mount itself (a dead daemon's mount fails every stat):
 * the path made absolute and normalised lexically, else with its parent
 * resolved by realpath.
 */
static int cli_find_mount(struct reg_db *db, const char *arg,
			  struct reg_sandbox *sb)
{
	char abs[PATH_MAX], norm[PATH_MAX], parent[PATH_MAX], *base;
	size_t n = 0;
	int k;

	if (arg[0] == '/')
		k = snprintf(abs, sizeof(abs), "%s", arg);
	else if (getcwd(parent, sizeof(parent)))
		k = snprintf(abs, sizeof(abs), "%s/%s", parent, arg);
	else
		return -errno;
	if (k < 0 || (size_t)k >= sizeof(abs))
		return -ENAMETOOLONG;
	/* Lexical: drop empty and "." parts, resolve "..". */
	for (char *save, *t = strtok_r(abs, "/", &save); t;
	     t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..")) {
			while (n > 0 && norm[--n] != '/')
				;
			continue;
		}
		n += (size_t)snprintf(norm + n, sizeof(norm) - n, "/%s", t);
	}
	if (!n)
		norm[n++] = '/';
	norm[n] = 0;
	if (!reg_get_by_mount(db, norm, sb))
		return 0;
	base = strrchr(norm, '/');
	*base = 0;
	if (!realpath(norm[0] ? norm : "/", parent))
		return -ENOENT;
	k = snprintf(abs, sizeof(abs), "%s/%s",
		     strcmp(parent, "/") ? parent : "", base + 1);
	if (k < 0 || (size_t)k >= sizeof(abs))
		return -ENAMETOOLONG;
	return reg_get_by_mount(db, abs, sb);
}

/*
 * Find the live sandbox at a mount point and its control socket.
 * CLI_EXIT_OK or CLI_EXIT_FAIL (message printed).
 */
int cli_live_sandbox(const char *cmd, const char *state_dir, const char *mp,
		     struct reg_sandbox *sb, char *sock, size_t len)
{
	struct reg_db *db;
	int rc;

	if (cli_reg_open(cmd, state_dir, &db))
		return CLI_EXIT_FAIL;
	rc = cli_find_mount(db, mp, sb);
	reg_close(db);
	if (rc) {
		cli_error(cmd, "no sandbox is mounted on %s", mp);
		return CLI_EXIT_FAIL;
	}
	if (sb->state != REG_RUNNING) {
		cli_error(cmd, "sandbox %s on %s has ended (%s%s%s)", sb->id,
			  sb->mountpoint, reg_state_name(sb->state),
			  sb->end_reason[0] ? ": " : "", sb->end_reason);
		goto fail;
	}
	if (life_daemon_check(sb) != LIFE_DAEMON_ALIVE) {
		cli_error(cmd,
			  "sandbox %s on %s: its daemon (pid %d) is gone; run "
			  "'spotfs gc'",
			  sb->id, sb->mountpoint, (int)sb->pid);
		goto fail;
	}
	if (ctl_socket_find(sb->owner, sb->id, sock, len)) {
		cli_error(cmd, "sandbox %s on %s: no control socket found%s",
			  sb->id, sb->mountpoint,
			  sb->owner != getuid() && geteuid() != 0
				  ? " (it belongs to another user)"
				  : "");
		goto fail;
	}
	return CLI_EXIT_OK;
fail:
	reg_sandbox_fini(sb);
	return CLI_EXIT_FAIL;
}

/* Parse the options every command shares; returns the getopt char. */
#define CLI_STATE_OPT                                                          \
	{                                                                      \
		"state-dir", required_argument, NULL, 'S'                      \
	}
#define CLI_HELP_OPT                                                           \
	{                                                                      \
		"help", no_argument, NULL, 'h'                                 \
	}
#define CLI_STATE_HELP "  -S, --state-dir DIR  registry and audit folder\n"

/* ---- list ---- */

struct cli_list_ctx {
	bool json, all;
	unsigned n;
	int64_t now;
};

static int cli_list_one(const struct reg_sandbox *sb, void *arg)
{
	struct cli_list_ctx *c = arg;
	bool running = sb->state == REG_RUNNING;
	bool crashed = sb->state == REG_CRASHED ||
		       (running && life_daemon_check(sb) != LIFE_DAEMON_ALIVE);
	int64_t left = -1;
	char lbuf[32];

	if (!c->all && !running && sb->state != REG_CRASHED)
		return 0;
	if (running && !crashed)
		left = !sb->deadline	       ? INT64_MAX
		       : sb->deadline > c->now ? sb->deadline - c->now
					       : 0;
	if (left == INT64_MAX)
		snprintf(lbuf, sizeof(lbuf), "unlimited");
	else if (left >= 0)
		spot_format_duration((uint64_t)left, lbuf, sizeof(lbuf));
	else
		snprintf(lbuf, sizeof(lbuf), "-");
	if (c->json) {
		printf("%s\n  {\"id\": \"%s\", \"owner\": %u, \"mountpoint\": ",
		       c->n ? "," : "", sb->id, (unsigned)sb->owner);
		cli_json_str(stdout, sb->mountpoint);
		printf(", \"source\": ");
		cli_json_str(stdout, sb->source);
		printf(", \"config\": ");
		cli_json_str(stdout, sb->config_path);
		printf(", \"config_digest\": \"%s\", \"created\": %" PRId64
		       ", \"deadline\": %" PRId64 ", \"pid\": %d",
		       sb->config_digest, sb->created, sb->deadline,
		       (int)sb->pid);
		if (left >= 0 && left != INT64_MAX)
			printf(", \"time_left\": %" PRId64, left);
		else
			printf(", \"time_left\": null");
		printf(", \"state\": \"%s\", \"crashed\": %s, \"end_reason\": ",
		       reg_state_name(sb->state), crashed ? "true" : "false");
		cli_json_str(stdout, sb->end_reason);
		printf("}");
	} else {
		if (!c->n)
			printf("%-16s  %-10s  %-9s  %s\n", "ID", "STATE",
			       "LEFT", "MOUNTPOINT (SOURCE)");
		printf("%-16s  %-10s  %-9s  %s (%s)%s\n", sb->id,
		       crashed ? "crashed" : reg_state_name(sb->state), lbuf,
		       sb->mountpoint, sb->source,
		       crashed && sb->state != REG_GC ? "  run spotfs gc" : "");
	}
	c->n++;
	return 0;
}

static void cli_list_usage(FILE *f)
{
	fprintf(f,
		"usage: spotfs list [--json] [--all]\n"
		"\n"
		"Show your live sandboxes (root: every sandbox in the "
		"registry):\n"
		"id, state, time left, mount point and source. A sandbox "
		"whose\n"
		"daemon is gone shows as crashed: run 'spotfs gc'.\n"
		"\n"
		"options:\n"
		"  -j, --json           one JSON array\n"
		"  -a, --all            also ended sandboxes\n" CLI_STATE_HELP
		"  -h, --help           show this help\n");
}

int cli_list(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		CLI_STATE_OPT,
		CLI_HELP_OPT,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_list_ctx c = { .now = (int64_t)time(NULL) };
	const char *state = NULL;
	struct reg_db *db;
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "jaS:h", lopts, NULL)) != -1) {
		switch (o) {
		case 'j':
			c.json = true;
			break;
		case 'a':
			c.all = true;
			break;
		case 'S':
			state = optarg;
			break;
		case 'h':
			cli_list_usage(stdout);
			return CLI_EXIT_OK;
		default:
			cli_list_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_list_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (cli_reg_open("list", state, &db))
		return CLI_EXIT_FAIL;
	if (c.json)
		printf("[");
	rc = reg_list(db, cli_owner_filter(), cli_list_one, &c);
	reg_close(db);
	if (c.json)
		printf("%s]\n", c.n ? "\n" : "");
	else if (!c.n && !rc)
		printf("no %ssandboxes\n", c.all ? "" : "live ");
	if (rc) {
		cli_error("list", "reading the registry: %s", strerror(-rc));
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* ---- status and extend ---- */

static void cli_status_usage(FILE *f)
{
	fprintf(f, "usage: spotfs status [--json] [PATH]\n"
		   "\n"
		   "PATH is the mount point or any path inside the mount; "
		   "without\n"
		   "it, your only live sandbox.\n"
		   "Ask the sandbox's daemon for its state: source, config "
		   "digest,\n"
		   "roles, time left, open files, overlay size, and each "
		   "view:\n"
		   "building (share of the source read, rows, eta, callers "
		   "waiting\n"
		   "over 2 s), built (bytes, rows, build time, in memory or "
		   "spilled)\n"
		   "or failed (why).\n"
		   "\n"
		   "options:\n"
		   "  -j, --json           one JSON object\n" CLI_STATE_HELP
		   "  -h, --help           show this help\n");
}

static void cli_extend_usage(FILE *f)
{
	fprintf(f, "usage: spotfs extend MOUNTPOINT --ttl DURATION "
		   "[--shorten]\n"
		   "\n"
		   "Set the sandbox's deadline to DURATION from now (e.g. 30m, "
		   "2h,\n"
		   "1h30m). It never goes past max_ttl from the mount: such a "
		   "request\n"
		   "is refused and the error says how much is left. A "
		   "DURATION\n"
		   "shorter than the time left is refused without --shorten.\n"
		   "\n"
		   "options:\n"
		   "  -t, --ttl DURATION   new time left\n"
		   "      --shorten        allow an earlier "
		   "deadline\n" CLI_STATE_HELP
		   "  -h, --help           show this help\n");
}

/* status and extend differ in one option and the request. */
/* A bare number would be seconds (as in the config); on the command line
 * "--ttl 90" is too easily meant as minutes, so a unit is required. */
int cli_parse_ttl(const char *cmd, const char *s, uint64_t *out_sec)
{
	size_t len = strlen(s);

	if (!len || isdigit((unsigned char)s[len - 1]) ||
	    spot_parse_duration(s, out_sec) || !*out_sec) {
		cli_error(cmd,
			  "bad --ttl '%s': use a number with a unit, longer "
			  "than 0s: 90s, 30m, 2h, 1d or 1h30m",
			  s);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/*
 * The mount point a status/extend names: the spotfs mount path is in (any
 * path inside a mount), or with no path the caller's only live sandbox.
 * Another user's sandbox is "permission denied" (and on its audit log).
 */
struct cli_only_ctx {
	size_t n;
	char mp[PATH_MAX];
};

/* Count the registry's running sandboxes whose mount is still there. */
static int cli_only_one(const struct reg_sandbox *sb, void *arg)
{
	struct cli_only_ctx *c = arg;

	if (sb->state == REG_RUNNING && life_mount_present(sb->mountpoint)) {
		if (!c->n++)
			snprintf(c->mp, sizeof(c->mp), "%s", sb->mountpoint);
	}
	return 0;
}

static int cli_which_mount(const char *cmd, const char *state, const char *path,
			   char *mp, size_t len)
{
	struct mnt_info *m = malloc(sizeof(*m));
	struct cli_only_ctx *oc;
	struct reg_db *db;
	size_t n;
	int rc = CLI_EXIT_OK;

	if (!m)
		return CLI_EXIT_FAIL;
	if (!path) {
		/* Your live sandboxes, as `spotfs list` shows them. */
		oc = calloc(1, sizeof(*oc));
		if (!oc || cli_reg_open(cmd, state, &db)) {
			free(oc);
			free(m);
			return CLI_EXIT_FAIL;
		}
		reg_list(db, cli_owner_filter(), cli_only_one, oc);
		reg_close(db);
		n = oc->n;
		if (n == 1) {
			snprintf(mp, len, "%s", oc->mp);
		} else {
			if (n)
				cli_error(cmd,
					  "%zu live sandboxes: name one (see "
					  "'spotfs list')",
					  n);
			else
				cli_error(cmd, "no live sandbox of yours: "
					       "name a MOUNTPOINT");
			rc = CLI_EXIT_USAGE;
		}
		free(oc);
		free(m);
		return rc;
	}
	snprintf(mp, len, "%s", path);
	if (!mnt_find(path, true, m) && m->spotfs) {
		if (m->owner >= 0 && m->owner != (long long)getuid() &&
		    geteuid() != 0) {
			mnt_note_denied(m->point, cmd);
			cli_error(cmd,
				  "%s: permission denied: the sandbox there "
				  "belongs to another user (uid %lld)",
				  path, m->owner);
			rc = CLI_EXIT_FAIL;
		}
		snprintf(mp, len, "%s", m->point);
	}
	free(m);
	return rc;
}

/* Whether extend to sec seconds left would shorten the deadline (said). */
static bool cli_would_shorten(const char *cmd, const char *sock,
			      const struct reg_sandbox *sb, uint64_t sec)
{
	struct spot_err err = { "" };
	struct spot_buf r;
	const char *k;
	bool shorter = false;

	spot_buf_init(&r);
	if (!ctl_call(sock, "status json", &r, &err) && r.len &&
	    !spot_buf_putc(&r, 0) &&
	    (k = strstr((const char *)r.p, "\"seconds_left\":")) &&
	    isdigit((unsigned char)k[15])) {
		unsigned long long left = strtoull(k + 15, NULL, 10);
		char a[32], b[32];

		if (sec < left) {
			spot_format_duration(left, a, sizeof(a));
			spot_format_duration(sec, b, sizeof(b));
			cli_error(
				cmd,
				"sandbox %s on %s has %s left: --ttl %s would "
				"shorten it; add --shorten to mean that",
				sb->id, sb->mountpoint, a, b);
			shorter = true;
		}
	}
	spot_buf_fini(&r);
	return shorter;
}

static int cli_ctl_command(const char *cmd, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "ttl", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "shorten", no_argument, NULL, 's' },
		CLI_STATE_OPT,
		CLI_HELP_OPT,
		{ NULL, 0, NULL, 0 },
	};
	bool extend = !strcmp(cmd, "extend");
	void (*usage)(FILE *) = extend ? cli_extend_usage : cli_status_usage;
	const char *state = NULL, *ttl = NULL;
	struct spot_err err = { "" };
	struct reg_sandbox sb;
	char sock[PATH_MAX], req[64];
	struct spot_buf r;
	uint64_t sec = 0;
	bool json = false, shorten = false;
	char mp[PATH_MAX];
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, extend ? "t:S:h" : "jS:h", lopts,
				NULL)) != -1) {
		switch (o) {
		case 't':
			ttl = optarg;
			break;
		case 's':
			if (!extend) {
				usage(stderr);
				return CLI_EXIT_USAGE;
			}
			shorten = true;
			break;
		case 'j':
			if (extend) {
				usage(stderr);
				return CLI_EXIT_USAGE;
			}
			json = true;
			break;
		case 'S':
			state = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_EXIT_OK;
		default:
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc - 1 || (extend && optind != argc - 1) ||
	    (extend && !ttl)) {
		cli_error(cmd, extend ? "expected MOUNTPOINT and --ttl"
				      : "expected one MOUNTPOINT");
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (extend && cli_parse_ttl(cmd, ttl, &sec))
		return CLI_EXIT_USAGE;
	rc = cli_which_mount(cmd, state, optind < argc ? argv[optind] : NULL,
			     mp, sizeof(mp));
	if (rc)
		return rc;
	rc = cli_live_sandbox(cmd, state, mp, &sb, sock, sizeof(sock));
	if (rc)
		return rc;
	if (extend && !shorten && cli_would_shorten(cmd, sock, &sb, sec)) {
		reg_sandbox_fini(&sb);
		return CLI_EXIT_FAIL;
	}
	if (extend)
		snprintf(req, sizeof(req), "extend %" PRIu64, sec);
	else
		snprintf(req, sizeof(req), json ? "status json" : "status");
	spot_buf_init(&r);
	rc = ctl_call(sock, req, &r, &err);
	if (rc) {
		cli_error(cmd, "sandbox %s on %s: %s", sb.id, sb.mountpoint,
			  err.msg);
	} else {
		if (extend)
			printf("sandbox %s on %s extended\n", sb.id,
			       sb.mountpoint);
		if (r.len)
			fwrite(r.p, 1, r.len, stdout);
	}
	spot_buf_fini(&r);
	reg_sandbox_fini(&sb);
	return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cli_status(int argc, char **argv)
{
	return cli_ctl_command("status", argc, argv);
}

int cli_extend(int argc, char **argv)
{
	return cli_ctl_command("extend", argc, argv);
}

/* ---- audit ---- */

/* "2h" (ago), "2024-05-01", "2024-05-01T12:00[:00]" local, or "...Z". */
static int cli_parse_since(const char *s, int64_t *out)
{
	static const char *const fmts[] = {
		"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M",
		"%Y-%m-%d %H:%M",    "%Y-%m-%d",
	};
	uint64_t d;

	if (!spot_parse_duration(s, &d)) {
		*out = (int64_t)time(NULL) - (int64_t)d;
		return 0;
	}
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(fmts); i++) {
		struct tm tm;
		const char *end;

		memset(&tm, 0, sizeof(tm));
		end = strptime(s, fmts[i], &tm);
		if (!end || (*end && strcmp(end, "Z")))
			continue;
		tm.tm_isdst = -1;
		*out = *end ? (int64_t)timegm(&tm) : (int64_t)mktime(&tm);
		return 0;
	}
	return -EINVAL;
}

/* 64 hex characters, given directly or as the contents of a file. */
static int cli_parse_key(const char *arg, uint8_t pk[AUD_PK_LEN])
{
	char hex[2 * AUD_PK_LEN + 2] = "";
	FILE *f;

	if (strlen(arg) == 2 * AUD_PK_LEN) {
		snprintf(hex, sizeof(hex), "%s", arg);
	} else if ((f = fopen(arg, "re"))) {
		if (!fgets(hex, sizeof(hex), f))
			hex[0] = 0;
		fclose(f);
		hex[strcspn(hex, "\r\n")] = 0;
	}
	if (strlen(hex) != 2 * AUD_PK_LEN)
		return -EINVAL;
	for (size_t i = 0; i < AUD_PK_LEN; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1 ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i + 1]))
			return -EINVAL;
		pk[i] = (uint8_t)v;
	}
	return 0;
}

struct cli_audit_ctx {
	bool json;
	struct spot_buf line;
	uint64_t n;
};

static int cli_audit_one(const struct aud_event *ev, void *arg)
{
	struct cli_audit_ctx *c = arg;
	int rc;

	spot_buf_reset(&c->line);
	rc = c->json ? aud_event_format_json(ev, &c->line)
		     : aud_event_format_text(ev, &c->line);
	if (rc)
		return rc;
	fwrite(c->line.p, 1, c->line.len, stdout);
	c->n++;
	return 0;
}

static int cli_audit_verify(const char *path, const char *key)
{
	struct aud_verify_result res;
	uint8_t pk[AUD_PK_LEN];
	int rc;

	if (key && cli_parse_key(key, pk)) {
		cli_error("audit", "--key needs 64 hex characters (or a file "
				   "holding them)");
		return CLI_EXIT_USAGE;
	}
	rc = aud_verify(path, key ? pk : NULL, &res);
	if (rc == 0) {
		printf("audit log %s: %" PRIu64 " records, chain intact%s\n",
		       path, res.records,
		       res.head_signed ? ", head signature good" : "");
		return CLI_EXIT_OK;
	}
	if (rc == -EBADMSG && res.first_bad)
		cli_error("audit",
			  "%s: VERIFY FAILED at record #%" PRIu64 ": %s "
			  "(%" PRIu64 " records verified before it)",
			  path, res.first_bad, res.msg, res.records);
	else if (rc == -EBADMSG)
		cli_error("audit", "%s: VERIFY FAILED: %s", path, res.msg);
	else
		cli_error("audit", "%s: cannot verify: %s", path,
			  res.msg[0] ? res.msg : strerror(-rc));
	return CLI_EXIT_FAIL;
}

static void cli_audit_usage(FILE *f)
{
	fprintf(f,
		"usage: spotfs audit [--sandbox ID] [--since TIME] [--json]\n"
		"       spotfs audit --verify [--key PUBLIC_KEY]\n"
		"       spotfs audit --gen-key FILE\n"
		"\n"
		"Print audit events (mount, opens and their decisions, "
		"denials,\n"
		"policy errors, overlay writes, extend, expire, unmount, gc), "
		"or\n"
		"check that the hash chain is intact: --verify names the "
		"first\n"
		"broken record and exits 1.\n"
		"\n"
		"options:\n"
		"  -s, --sandbox ID     only this sandbox\n"
		"      --since TIME     from TIME: 2024-05-01, "
		"2024-05-01T12:00,"
		"\n"
		"                       ...Z for UTC, or a duration: 2h = 2h "
		"ago\n"
		"  -j, --json           JSON lines (one object per event)\n"
		"      --verify         check the chain instead of printing\n"
		"      --key KEY        with --verify: Ed25519 public key, 64 "
		"hex\n"
		"                       characters or a file holding them; "
		"the\n"
		"                       chain head must carry its "
		"signature\n"
		"      --gen-key FILE   make a signing key (mode 0600) for "
		"audit_key:\n"
		"                       in the config; prints its public "
		"key\n" CLI_STATE_HELP
		"  -h, --help           show this help\n");
}

/* --gen-key: a new Ed25519 seed file; its public key goes to stdout. */
static int cli_audit_gen_key(const char *path)
{
	uint8_t pk[AUD_PK_LEN];
	char hex[2 * AUD_PK_LEN + 1];
	int rc = aud_key_generate(path, pk);

	if (rc) {
		cli_error("audit", "cannot make key %s: %s", path,
			  strerror(-rc));
		return CLI_EXIT_FAIL;
	}
	for (size_t i = 0; i < AUD_PK_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", pk[i]);
	printf("%s\n", hex);
	fprintf(stderr,
		"spotfs audit: signing key written to %s; set audit_key: %s "
		"in the config and verify with --key %s\n",
		path, path, hex);
	return CLI_EXIT_OK;
}

int cli_audit(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "sandbox", required_argument, NULL, 's' },
		{ "since", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "verify", no_argument, NULL, 'V' },
		{ "key", required_argument, NULL, 'K' },
		{ "gen-key", required_argument, NULL, 'G' },
		CLI_STATE_OPT,
		CLI_HELP_OPT,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_audit_ctx c = { .json = false };
	const char *state = NULL, *sandbox = NULL, *since_s = NULL, *key = NULL;
	char dir[PATH_MAX - 32], path[PATH_MAX];
	bool verify = false;
	int64_t since = 0;
	struct stat st;
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "s:jS:h", lopts, NULL)) != -1) {
		switch (o) {
		case 's':
			sandbox = optarg;
			break;
		case 'T':
			since_s = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'V':
			verify = true;
			break;
		case 'K':
			key = optarg;
			break;
		case 'G':
			return cli_audit_gen_key(optarg);
		case 'S':
			state = optarg;
			break;
		case 'h':
			cli_audit_usage(stdout);
			return CLI_EXIT_OK;
		default:
			cli_audit_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc || (key && !verify) ||
	    (verify && (sandbox || since_s || c.json))) {
		cli_audit_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (since_s && cli_parse_since(since_s, &since)) {
		cli_error("audit",
			  "bad --since '%s': use 2024-05-01, "
			  "2024-05-01T12:00 or a duration such as 2h",
			  since_s);
		return CLI_EXIT_USAGE;
	}
	if (cli_state_dir("audit", state, dir, sizeof(dir)))
		return CLI_EXIT_FAIL;
	snprintf(path, sizeof(path), "%s/%s", dir, AUD_DB_NAME);
	if (stat(path, &st)) {
		cli_error("audit", "no audit log at %s", path);
		return CLI_EXIT_FAIL;
	}
	if (verify)
		return cli_audit_verify(path, key);
	spot_buf_init(&c.line);
	rc = aud_query(path, sandbox, since, cli_audit_one, &c);
	spot_buf_fini(&c.line);
	if (rc) {
		cli_error("audit", "reading %s: %s", path, strerror(-rc));
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* ---- gc ---- */

static void cli_gc_usage(FILE *f)
{
	fprintf(f, "usage: spotfs gc [--dry-run]\n"
		   "\n"
		   "Clean up after sandboxes whose daemon is gone (kill -9, a "
		   "crash,\n"
		   "a machine restart): lazily unmount a stale mount, remove "
		   "the\n"
		   "encrypted store folder and the control socket, mark the "
		   "sandbox\n"
		   "'gc' in the registry and audit it. Yours only (root: "
		   "all).\n"
		   "\n"
		   "options:\n"
		   "  -n, --dry-run        only say what would be "
		   "done\n" CLI_STATE_HELP
		   "  -h, --help           show this help\n");
}

int cli_gc(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		CLI_STATE_OPT,
		CLI_HELP_OPT,
		{ NULL, 0, NULL, 0 },
	};
	char dir[PATH_MAX - 32], path[PATH_MAX];
	const char *state = NULL;
	struct aud_log *aud = NULL;
	struct reg_db *db;
	struct spot_buf rep;
	bool dry = false;
	unsigned n = 0;
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "nS:h", lopts, NULL)) != -1) {
		switch (o) {
		case 'n':
			dry = true;
			break;
		case 'S':
			state = optarg;
			break;
		case 'h':
			cli_gc_usage(stdout);
			return CLI_EXIT_OK;
		default:
			cli_gc_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_gc_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (cli_state_dir("gc", state, dir, sizeof(dir)) ||
	    cli_reg_open("gc", dir, &db))
		return CLI_EXIT_FAIL;
	snprintf(path, sizeof(path), "%s/%s", dir, AUD_DB_NAME);
	if (!dry && (rc = aud_log_open(path, NULL, &aud)))
		cli_error("gc",
			  "cannot open the audit log %s: %s (cleaning "
			  "anyway)",
			  path, strerror(-rc));
	spot_buf_init(&rep);
	rc = life_gc(db, aud, cli_owner_filter(), dry, &rep, &n);
	if (rep.len)
		fwrite(rep.p, 1, rep.len, stdout);
	if (!n)
		printf("nothing to clean\n");
	spot_buf_fini(&rep);
	if (aud_log_close(aud))
		cli_error("gc", "the audit log failed: gc events were lost");
	reg_close(db);
	if (rc) {
		cli_error("gc", "some clean-up failed: %s", strerror(-rc));
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

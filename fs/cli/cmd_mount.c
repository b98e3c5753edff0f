/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_mount.c - `spotfs mount` (`spotfs unmount` is in cmd_unmount.c).
 */
#include "cli.h"
#include "cmd_life.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "daemon.h"
#include "life.h"
#include "registry.h"

static void cli_mount_usage(FILE *f)
{
	fprintf(f,
		"usage: spotfs mount [-c CONFIG] [--ttl DURATION] [-f] "
		"[--wait] "
		"MOUNTPOINT\n"
		"\n"
		"Mount the sandbox described by CONFIG on MOUNTPOINT (created "
		"if\n"
		"missing). Without -c, the config is ./spotfs.yaml, then\n"
		"~/.config/spotfs/spotfs.yaml, then (root) "
		"/etc/spotfs/spotfs.yaml.\n"
		"\n"
		"options:\n"
		"  -c, --config FILE   sandbox config (YAML)\n"
		"  -t, --ttl DURATION  lifetime, e.g. 90s, 30m, 2h, 1d, 1h30m\n"
		"                      (default: the config's ttl, else 2h)\n"
		"  -f, --foreground    stay in the foreground, log to stderr\n"
		"      --wait          return once every view is built (for "
		"CI;\n"
		"                      failures are listed; see prebuild:)\n"
		"      --log FILE      daemon log file (default: syslog)\n"
		"      --private       only the mounting user may enter\n"
		"                      (default for root: everyone, roles "
		"apply)\n"
		"  -d, --debug         trace FUSE requests (implies -f)\n"
		"  -h, --help          show this help\n");
}

/* Refuse mount points that cannot work, before forking a daemon. */
static int cli_mount_check_point(const char *mp, const struct cfg *cfg)
{
	char real[PATH_MAX], parent[PATH_MAX + 4];
	struct stat st, pst;
	size_t slen;

	if (stat(mp, &st) && errno == ENOENT) {
		if (mkdir(mp, 0755)) {
			cli_error("mount", "cannot create %s: %s", mp,
				  strerror(errno));
			return -1;
		}
		if (stat(mp, &st)) {
			cli_error("mount", "%s: %s", mp, strerror(errno));
			return -1;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_error("mount", "%s is not a folder", mp);
		return -1;
	}
	if (!realpath(mp, real)) {
		cli_error("mount", "%s: %s", mp, strerror(errno));
		return -1;
	}
	snprintf(parent, sizeof(parent), "%s/..", real);
	if (strcmp(real, "/") && !stat(parent, &pst) &&
	    pst.st_dev != st.st_dev) {
		cli_error("mount", "%s is already a mount point", mp);
		return -1;
	}
	slen = strlen(cfg->source);
	if (!strncmp(real, cfg->source, slen) &&
	    (real[slen] == '/' || real[slen] == '\0')) {
		cli_error("mount", "mount point %s is inside the source %s",
			  real, cfg->source);
		return -1;
	}
	return 0;
}

/*
 * --log FILE as an absolute path: the daemon changes to / when it
 * detaches, so a relative name is put after the caller's folder (getcwd:
 * a path without links). Links are not resolved here: the daemon refuses
 * a path with a symbolic link in any component. Its folder must exist
 * (checked now, not after detaching).
 */
static int cli_log_path(const char *in, char *buf, size_t len)
{
	char cwd[PATH_MAX] = "";
	const char *slash = strrchr(in, '/'), *base = slash ? slash + 1 : in;
	struct stat st;
	size_t dl;
	int rc = 0;

	if (!*base) {
		cli_error("mount", "--log %s: a file name is needed", in);
		return -EINVAL;
	}
	if (in[0] != '/' && !getcwd(cwd, sizeof(cwd))) {
		rc = -errno;
		cli_error("mount", "--log %s: %s", in, strerror(-rc));
		return rc;
	}
	if ((size_t)snprintf(buf, len, "%s%s%s", cwd, cwd[0] ? "/" : "", in) >=
	    len) {
		cli_error("mount", "--log %s: path too long", in);
		return -ENAMETOOLONG;
	}
	dl = (size_t)(strrchr(buf, '/') - buf);
	buf[dl] = 0;
	if (stat(dl ? buf : "/", &st))
		rc = -errno;
	else if (!S_ISDIR(st.st_mode))
		rc = -ENOTDIR;
	buf[dl] = '/';
	if (rc) {
		cli_error("mount", "--log %s: %s", in, strerror(-rc));
		return rc;
	}
	return 0;
}

/* /dev/fuse must open for reading and writing, as the caller. */
static int cli_fuse_usable(void)
{
	if (!access("/dev/fuse", R_OK | W_OK))
		return 0;
	if (errno == ENOENT)
		cli_error("mount",
			  "/dev/fuse does not exist: load the module (modprobe "
			  "fuse), or in a container pass the device "
			  "(--device /dev/fuse)");
	else
		cli_error("mount",
			  "cannot open /dev/fuse: %s (hint: add yourself to "
			  "the group that owns it, e.g. 'fuse', and log in "
			  "again; or run as root)",
			  strerror(errno));
	return -1;
}

/* Mounting hides what the folder holds: say so (not an error). */
static void cli_warn_not_empty(const char *mp)
{
	DIR *dp = opendir(mp);
	struct dirent *de;
	size_t n = 0;

	if (!dp)
		return;
	while ((de = readdir(dp)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(dp);
	if (n)
		fprintf(stderr,
			"spotfs mount: warning: %s is not empty: its %zu "
			"entr%s hidden while the sandbox is mounted\n",
			mp, n, n == 1 ? "y is" : "ies are");
}

int cli_mount(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "ttl", required_argument, NULL, 't' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log", required_argument, NULL, 'L' },
		{ "private", no_argument, NULL, 'P' },
		{ "wait", no_argument, NULL, 'W' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dmn_opts opts = { false, geteuid() == 0, false, NULL, false };
	const char *config = NULL, *ttl = NULL, *mp;
	uint64_t ttl_sec = 0, max_ttl;
	char log_abs[PATH_MAX];
	struct cfg *cfg;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:t:fdh", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 't':
			ttl = optarg;
			break;
		case 'f':
			opts.foreground = true;
			break;
		case 'L':
			opts.log_path = optarg;
			break;
		case 'P':
			opts.allow_other = false;
			break;
		case 'W':
			opts.wait = true;
			break;
		case 'd':
			opts.debug = true;
			opts.foreground = true;
			break;
		case 'h':
			cli_mount_usage(stdout);
			return CLI_EXIT_OK;
		default:
			cli_mount_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("mount", "expected one MOUNTPOINT");
		cli_mount_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	mp = argv[optind];
	if (ttl && cli_parse_ttl("mount", ttl, &ttl_sec))
		return CLI_EXIT_USAGE;
	if (opts.log_path) {
		if (cli_log_path(opts.log_path, log_abs, sizeof(log_abs)))
			return CLI_EXIT_USAGE;
		opts.log_path = log_abs;
	}
	cfg = cli_load_config(config);
	if (!cfg)
		return CLI_EXIT_FAIL;
	max_ttl = cfg->max_ttl ? cfg->max_ttl : CFG_DEFAULT_MAX_TTL;
	if (ttl_sec > max_ttl) {
		char a[32], b[32];

		spot_format_duration(ttl_sec, a, sizeof(a));
		spot_format_duration(max_ttl, b, sizeof(b));
		cli_error("mount", "--ttl %s is longer than max_ttl %s", a, b);
		cfg_free(cfg);
		return CLI_EXIT_USAGE;
	}
	if (ttl_sec)
		cfg->ttl = ttl_sec;
	if (cli_mount_check_point(mp, cfg) || cli_fuse_usable()) {
		cfg_free(cfg);
		return CLI_EXIT_FAIL;
	}
	cli_warn_not_empty(mp);
	rc = dmn_mount(cfg, mp, &opts);
	if (rc)
		return CLI_EXIT_FAIL;
	if (!opts.foreground)
		printf("spotfs: mounted on %s\n", mp);
	return CLI_EXIT_OK;
}

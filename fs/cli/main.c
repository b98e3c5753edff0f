/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * main.c - spotfs entry point: dispatches to the commands.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_version.h"
#include "cmd_life.h"
#include "spot.h"

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct cli_cmd cli_cmds[] = {
	{ "mount", cli_mount, "mount a sandbox on a folder" },
	{ "unmount", cli_unmount, "unmount a sandbox and discard it" },
	{ "check", cli_check, "validate a config and its data, no mount" },
	{ "preview", cli_preview, "print masked rows of a dataset, no mount" },
	{ "scan", cli_scan, "write a starter config from a folder of data" },
	{ "report", cli_report, "k-anonymity of a dataset as served" },
	{ "list", cli_list, "list live sandboxes" },
	{ "status", cli_status, "show a sandbox's state" },
	{ "extend", cli_extend, "move a sandbox's deadline" },
	{ "audit", cli_audit, "print or verify the audit log" },
	{ "gc", cli_gc, "clean up after crashed sandboxes" },
	{ "reveal", cli_reveal, "decrypt fpe tokens (stable secret only)" },
	{ "export", cli_export, "copy results out after a review" },
};

static void cli_usage(FILE *f)
{
	fprintf(f, "usage: spotfs COMMAND [OPTIONS] [ARGS]\n\n"
		   "A temporary, masked, encrypted data sandbox.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(cli_cmds); i++)
		fprintf(f, "  %-10s %s\n", cli_cmds[i].name,
			cli_cmds[i].summary);
	fprintf(f, "  %-10s %s\n", "version", "print the version");
	fprintf(f, "\nRun 'spotfs COMMAND --help' for a command's options.\n");
}

void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "spotfs %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int cli_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

struct cfg *cli_load_config(const char *path)
{
	char buf[4096];
	struct spot_err err = { "" };
	struct cfg *cfg = NULL;
	const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");

	if (!path && cli_exists("spotfs.yaml"))
		path = "spotfs.yaml";
	if (!path && xdg && *xdg) {
		snprintf(buf, sizeof(buf), "%s/spotfs/spotfs.yaml", xdg);
		if (cli_exists(buf))
			path = buf;
	}
	if (!path && home && *home) {
		snprintf(buf, sizeof(buf), "%s/.config/spotfs/spotfs.yaml",
			 home);
		if (cli_exists(buf))
			path = buf;
	}
	if (!path && geteuid() == 0 && cli_exists("/etc/spotfs/spotfs.yaml"))
		path = "/etc/spotfs/spotfs.yaml";
	if (!path) {
		fprintf(stderr, "spotfs: no config: pass -c FILE, or create "
				"./spotfs.yaml "
				"or ~/.config/spotfs/spotfs.yaml\n");
		return NULL;
	}
	if (cfg_load(path, &cfg, &err)) {
		fprintf(stderr, "spotfs: %s\n", err.msg);
		return NULL;
	}
	return cfg;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		cli_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") ||
	    !strcmp(cmd, "help")) {
		cli_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		cli_version(stdout);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < SPOT_ARRAY_SIZE(cli_cmds); i++)
		if (!strcmp(cmd, cli_cmds[i].name))
			return cli_cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "spotfs: unknown command '%s'\n\n", cmd);
	cli_usage(stderr);
	return CLI_EXIT_USAGE;
}

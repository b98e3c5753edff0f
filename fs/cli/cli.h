/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli.h - the spotfs command line: one function per command, shared
 * helpers for options and the config search.
 *
 * Exit codes: 0 success, 1 failure (the command could not do its job),
 * 2 usage error (bad options or arguments). Errors go to stderr.
 */
#ifndef SPOT_CLI_H
#define SPOT_CLI_H

#include <stdint.h>

#include "config.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

int cli_mount(int argc, char **argv);
int cli_unmount(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_preview(int argc, char **argv);
int cli_scan(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_reveal(int argc, char **argv);
int cli_export(int argc, char **argv);

/*
 * Find the config: the -c path if given, else ./spotfs.yaml, else
 * $XDG_CONFIG_HOME/spotfs/spotfs.yaml (~/.config/...), else (root)
 * /etc/spotfs/spotfs.yaml. Loads it; on failure prints the error.
 * Returns the config or NULL.
 */
struct cfg *cli_load_config(const char *path);

/* Print "spotfs CMD: message" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Parse a --ttl DURATION for CMD: a number with a unit (90s, 30m, 2h, 1d,
 * 1h30m), longer than 0s. A bare number is refused. Returns 0, or prints
 * the error and returns CLI_EXIT_USAGE.
 */
int cli_parse_ttl(const char *cmd, const char *s, uint64_t *out_sec);

/* spotfs report --synthetic (report_synth.c). */
int cli_report_synthetic(int argc, char **argv);

#endif /* SPOT_CLI_H */

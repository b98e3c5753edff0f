/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_life.h - the lifecycle commands of the spotfs command line:
 * list, status, extend, audit and gc (see cmd_life.c for their options).
 *
 * Each takes (argc, argv) with argv[0] the command name, prints --help,
 * and returns CLI_EXIT_OK (0), CLI_EXIT_FAIL (1) or CLI_EXIT_USAGE (2);
 * errors go to stderr. They find the registry and the audit log in the
 * state folder: --state-dir DIR, else reg_default_dir() (which honours
 * $SPOTFS_STATE_DIR). They never need FUSE.
 */
#ifndef SPOT_CMD_LIFE_H
#define SPOT_CMD_LIFE_H

#include <stddef.h>

int cli_list(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_extend(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_gc(int argc, char **argv);

struct reg_sandbox;
/*
 * The live sandbox mounted on mp and its control socket (state_dir: the
 * --state-dir option or NULL). CLI_EXIT_OK, or CLI_EXIT_FAIL with the
 * message printed; on success free sb with reg_sandbox_fini.
 */
int cli_live_sandbox(const char *cmd, const char *state_dir, const char *mp,
		     struct reg_sandbox *sb, char *sock, size_t len);

#endif /* SPOT_CMD_LIFE_H */

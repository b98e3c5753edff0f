/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_report.c - `spotfs report`: k-anonymity of a dataset as served.
 */
#include "cli.h"

int cli_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_error("report", "not yet");
	return CLI_EXIT_FAIL;
}

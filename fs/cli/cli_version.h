/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli_version.h - `spotfs --version` (cli_version.c). */
#ifndef SPOT_CLI_VERSION_H
#define SPOT_CLI_VERSION_H

#include <stdio.h>

/* The version of spotfs and of every library it runs with, into f. */
void cli_version(FILE *f);

#endif /* SPOT_CLI_VERSION_H */

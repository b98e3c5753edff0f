/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli_json.h - `--json` for check and preview (cli_json.c): the command
 * writes its usual text into a captured stdout, which is then printed as
 * one JSON object, so the text and the JSON can never say different things.
 */
#ifndef SPOT_CLI_JSON_H
#define SPOT_CLI_JSON_H

#include <stdbool.h>
#include <stdio.h>

struct cli_capture {
	FILE *saved; /* the real stdout */
	char *buf;
	size_t len;
};

/* Send stdout to memory. 0 or -errno. */
int cli_capture_begin(struct cli_capture *c);
/* Restore stdout; the text written meanwhile is c->buf (free it). */
void cli_capture_end(struct cli_capture *c);

/* check's lines as {"ok":..,"errors":N,"warnings":N,"messages":[..]}. */
void cli_check_json(const struct cli_capture *c, bool ok);
/* preview's CSV as {"dataset":..,"role":..,"columns":[..],"rows":[[..]]}. */
void cli_preview_json(const struct cli_capture *c, const char *dataset,
		      const char *role);
/*
 * The same, and "records":[..] when records is not NULL: (records, rlen)
 * is the JSON text of the array's elements (JSON Lines records as served).
 */
void cli_preview_json_records(const struct cli_capture *c, const char *dataset,
			      const char *role, const char *records,
			      size_t rlen);

#endif /* SPOT_CLI_JSON_H */

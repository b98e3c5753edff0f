/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli_json.c - check's and preview's text as JSON (cli_json.h).
 */
#include "cli_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spot.h"

int cli_capture_begin(struct cli_capture *c)
{
	FILE *m;

	c->buf = NULL;
	c->len = 0;
	fflush(stdout);
	m = open_memstream(&c->buf, &c->len);
	if (!m)
		return -errno;
	c->saved = stdout;
	stdout = m;
	return 0;
}

void cli_capture_end(struct cli_capture *c)
{
	fclose(stdout);
	stdout = c->saved;
}

static void cli_json_put(struct spot_buf *b, const char *s, size_t n)
{
	char *t = strndup(s, n);

	spot_buf_json_str(b, t ? t : "");
	free(t);
}

/* Print b and a newline, then free it. */
static void cli_json_flush(struct spot_buf *b)
{
	if (b->len)
		fwrite(b->p, 1, b->len, stdout);
	fputc('\n', stdout);
	spot_buf_fini(b);
}

void cli_check_json(const struct cli_capture *c, bool ok)
{
	static const char *const levels[] = { "error", "warning", "note" };
	const char *p = c->buf ? c->buf : "", *end = p + c->len;
	struct spot_buf b;
	long errors = -1, warnings = -1;
	bool first = true;

	spot_buf_init(&b);
	spot_buf_printf(&b, "{\"ok\":%s,\"messages\":[", ok ? "true" : "false");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *t = p, *level = "info";
		size_t n;

		while (t < e && *t == ' ')
			t++;
		for (size_t i = 0; i < SPOT_ARRAY_SIZE(levels); i++) {
			size_t ll = strlen(levels[i]);

			if ((size_t)(e - t) > ll + 1 &&
			    !strncmp(t, levels[i], ll) && t[ll] == ':') {
				level = levels[i];
				t += ll + 1;
				while (t < e && *t == ' ')
					t++;
				break;
			}
		}
		n = (size_t)(e - t);
		/* The summary line: "2 errors, 1 warning". */
		if (!nl || nl + 1 == end)
			sscanf(t, "%ld error%*[s,] %ld", &errors, &warnings);
		if (n) {
			spot_buf_printf(&b, "%s{\"level\":\"%s\",\"text\":",
					first ? "" : ",", level);
			cli_json_put(&b, t, n);
			spot_buf_printf(&b, "}");
			first = false;
		}
		p = nl ? nl + 1 : end;
	}
	spot_buf_printf(&b, "],\"errors\":%ld,\"warnings\":%ld}", errors,
			warnings);
	cli_json_flush(&b);
}

/* One CSV record from *p: cells appended to b as a JSON array. */
static void cli_csv_record(const char **p, const char *end, struct spot_buf *b)
{
	struct spot_buf cell;
	bool first = true;

	spot_buf_init(&cell);
	spot_buf_putc(b, '[');
	for (;;) {
		const char *s = *p;

		spot_buf_reset(&cell);
		if (s < end && *s == '"') {
			for (s++; s < end; s++) {
				if (*s == '"' && s + 1 < end && s[1] == '"')
					spot_buf_putc(&cell, *s++);
				else if (*s == '"')
					break;
				else
					spot_buf_putc(&cell, (uint8_t)*s);
			}
			if (s < end)
				s++; /* the closing quote */
		}
		while (s < end && *s != ',' && *s != '\n' && *s != '\r')
			spot_buf_putc(&cell, (uint8_t)*s++);
		if (!first)
			spot_buf_putc(b, ',');
		cli_json_put(b, cell.len ? (const char *)cell.p : "", cell.len);
		first = false;
		*p = s;
		if (s < end && *s == ',') {
			(*p)++;
			continue;
		}
		if (s < end && *s == '\r')
			s++;
		if (s < end && *s == '\n')
			s++;
		*p = s;
		break;
	}
	spot_buf_putc(b, ']');
	spot_buf_fini(&cell);
}

void cli_preview_json(const struct cli_capture *c, const char *dataset,
		      const char *role)
{
	cli_preview_json_records(c, dataset, role, NULL, 0);
}

void cli_preview_json_records(const struct cli_capture *c, const char *dataset,
			      const char *role, const char *records,
			      size_t rlen)
{
	const char *p = c->buf ? c->buf : "", *end = p + c->len;
	struct spot_buf b;
	bool first = true;

	spot_buf_init(&b);
	spot_buf_printf(&b, "{\"dataset\":");
	spot_buf_json_str(&b, dataset);
	spot_buf_printf(&b, ",\"role\":");
	spot_buf_json_str(&b, role);
	spot_buf_printf(&b, ",\"columns\":");
	if (p < end)
		cli_csv_record(&p, end, &b);
	else
		spot_buf_printf(&b, "[]");
	spot_buf_printf(&b, ",\"rows\":[");
	while (p < end) {
		if (!first)
			spot_buf_putc(&b, ',');
		cli_csv_record(&p, end, &b);
		first = false;
	}
	spot_buf_printf(&b, "]");
	if (records) {
		spot_buf_printf(&b, ",\"records\":[");
		spot_buf_append(&b, records, rlen);
		spot_buf_putc(&b, ']');
	}
	spot_buf_putc(&b, '}');
	cli_json_flush(&b);
}

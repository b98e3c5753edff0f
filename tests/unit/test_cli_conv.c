/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_cli_conv.c - issue 16's CLI helpers: paths made absolute without
 * touching the file system, the mount table read as the kernel has it, and
 * check's and preview's text as JSON (CSV quoting, line breaks inside
 * fields, bytes that are not UTF-8, the summary line).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli_json.h"
#include "mnt_info.h"

static void test_normalise(void)
{
	char out[4096], cwd[4096];

	CHECK(!mnt_normalise("/a/./b//c/../d/", out, sizeof(out)) &&
		      !strcmp(out, "/a/b/d"),
	      "lexical: . .. and slashes (%.300s)", out);
	CHECK(!mnt_normalise("/..", out, sizeof(out)) && !strcmp(out, "/"),
	      "/.. is /");
	CHECK(getcwd(cwd, sizeof(cwd)) &&
		      !mnt_normalise("x", out, sizeof(out)) &&
		      !strncmp(out, cwd, strlen(cwd)) &&
		      !strcmp(out + strlen(cwd), strcmp(cwd, "/") ? "/x" : "x"),
	      "relative to the working folder (%.300s)", out);
	CHECK(mnt_normalise("/abc", out, 3) == -ENAMETOOLONG,
	      "too long for the buffer");
}

static void test_find(void)
{
	struct mnt_info m;

	CHECK(!mnt_find("/proc", false, &m) && !strcmp(m.fstype, "proc") &&
		      !m.spotfs && m.owner == -1,
	      "/proc is a proc mount (%.300s)", m.fstype);
	CHECK(!mnt_find("/proc/self/../1", true, &m) &&
		      !strcmp(m.point, "/proc"),
	      "a path inside /proc belongs to it");
	CHECK(mnt_find("/proc/1", false, &m) == -ENOENT,
	      "not a mount point itself");
	CHECK(!mnt_find("/no/such/path", true, &m) && m.point[0] == '/',
	      "inside: / contains everything");
}

/* The JSON printed by fn(cap) for the text in. */
static char *as_json(const char *in, int preview)
{
	struct cli_capture src = { NULL, (char *)in, strlen(in) }, out;

	if (cli_capture_begin(&out))
		return NULL;
	if (preview)
		cli_preview_json(&src, "d.csv", "r\"ole");
	else
		cli_check_json(&src, false);
	cli_capture_end(&out);
	return out.buf;
}

static void test_json(void)
{
	char *j;

	j = as_json("id,name\n1,\"a, \"\"b\"\"\nc\"\n2,\n", 1);
	CHECK(j && !strcmp(j, "{\"dataset\":\"d.csv\",\"role\":\"r\\\"ole\","
			      "\"columns\":[\"id\",\"name\"],\"rows\":[[\"1\","
			      "\"a, \\\"b\\\"\\u000ac\"],[\"2\",\"\"]]}\n"),
	      "preview: quotes, a line break and an empty field (%.300s)", j);
	free(j);
	j = as_json("a\r\n\xff\xfe\r\n", 1);
	CHECK(j && strstr(j, "\"columns\":[\"a\"]") && strstr(j, "\\ufffd") &&
		      !strchr(j, '\xff'),
	      "CRLF and bytes that are not UTF-8 (%.300s)", j);
	free(j);
	j = as_json("", 1);
	CHECK(j && strstr(j, "\"columns\":[],\"rows\":[]"), "empty (%.300s)",
	      j);
	free(j);
	j = as_json("config x: ok\n  error: a.csv: bad\n  warning: w\n"
		    "  note: n\n1 error, 2 warnings\n",
		    0);
	CHECK(j && strstr(j, "{\"level\":\"error\",\"text\":\"a.csv: bad\"}") &&
		      strstr(j, "{\"level\":\"warning\",\"text\":\"w\"}") &&
		      strstr(j, "{\"level\":\"note\",\"text\":\"n\"}") &&
		      strstr(j, "{\"level\":\"info\",\"text\":\"config x: "
				"ok\"}") &&
		      strstr(j, "\"errors\":1,\"warnings\":2}") &&
		      strstr(j, "\"ok\":false"),
	      "check: levels and the summary (%.300s)", j);
	free(j);
}

int main(void)
{
	test_normalise();
	test_find();
	test_json();
	return check_done();
}

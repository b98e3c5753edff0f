/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_csv.c - unit tests of the CSV reader and writer (masking/formats).
 *
 * Batches are built by hand (pipe.c is not linked): a small local driver
 * calls the source ops, then the sink ops, the way pipe_run will. Every
 * valid input is read in zero-copy mode, in chunked modes with tiny chunks
 * (so every buffer boundary is crossed) and from a file, and must give the
 * same rows and a byte-identical round trip.
 */
#include "csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

typedef void (*xform_fn)(struct pipe_batch *b, void *arg);

struct run {
	int rc;
	struct spot_err err;
	struct spot_buf out;  /* sink output */
	struct spot_buf dump; /* header and rows, readable */
	size_t ncols;
	uint64_t rows;
	size_t batches;
	bool first_row_ok;
	struct csv_dialect dia;
};

static const size_t chunks[] = { 1, 2, 3, 5, 7, 64, 4096 };
static char tmpdir[] = "/tmp/test_csv_XXXXXX";

static void run_init(struct run *res)
{
	memset(res, 0, sizeof(*res));
	spot_buf_init(&res->out);
	spot_buf_init(&res->dump);
	res->first_row_ok = true;
}

static void run_fini(struct run *res)
{
	spot_buf_fini(&res->out);
	spot_buf_fini(&res->dump);
}

static void dump_eol(struct spot_buf *d, unsigned eol)
{
	static const char mark[] = "?$#%.";

	spot_buf_putc(d, (uint8_t)mark[eol <= CSV_EOL_NONE ? eol : 0]);
}

static void dump_cell(struct spot_buf *d, const uint8_t *p, size_t len,
		      bool quoted, bool first)
{
	if (!first)
		spot_buf_putc(d, '|');
	if (quoted)
		spot_buf_putc(d, '"');
	spot_buf_append(d, p, len);
	if (quoted)
		spot_buf_putc(d, '"');
}

static int tb_alloc(struct pipe_batch *b, size_t ncols, size_t cap)
{
	size_t n = ncols && cap ? ncols * cap : 1;

	memset(b, 0, sizeof(*b));
	b->ncols = ncols;
	b->cap = cap;
	b->in = calloc(n, sizeof(*b->in));
	b->out = calloc(n, sizeof(*b->out));
	b->keep = calloc(cap, 1);
	b->rowmeta = calloc(cap, sizeof(*b->rowmeta));
	spot_arena_init(&b->arena);
	spot_arena_init(&b->src_arena);
	return b->in && b->out && b->keep && b->rowmeta ? 0 : -ENOMEM;
}

static void tb_free(struct pipe_batch *b)
{
	free(b->in);
	free(b->out);
	free(b->keep);
	free(b->rowmeta);
	spot_arena_fini(&b->arena);
	spot_arena_fini(&b->src_arena);
}

static void dump_batch(struct run *res, const struct pipe_batch *b)
{
	size_t r, c;

	for (r = 0; r < b->nrows; r++) {
		for (c = 0; c < b->ncols; c++) {
			const struct pipe_cell *x = &b->in[r * b->ncols + c];

			dump_cell(&res->dump, x->p, x->len,
				  x->flags & PIPE_F_QUOTED, !c);
		}
		dump_eol(&res->dump, b->rowmeta[r]);
	}
}

/* drive(): serve formula cells as they are (csv_injection: off). */
static bool drive_raw;

/* The local pipeline driver: source -> (xform) -> sink. Frees r. */
static void drive(struct csv_reader *r, size_t cap, xform_fn fn, void *arg,
		  struct run *res)
{
	const struct pipe_col *cols;
	struct csv_writer *w = NULL;
	struct pipe_batch b;
	size_t i, ncols;
	int rc;

	memset(&b, 0, sizeof(b));
	rc = csv_source_ops.columns(r, &cols, &ncols, &res->err);
	if (rc)
		goto out;
	res->ncols = ncols;
	res->dia = *(const struct csv_dialect *)csv_source_ops.dialect(r);
	for (i = 0; i < ncols; i++)
		dump_cell(&res->dump, (const uint8_t *)cols[i].name,
			  cols[i].name_len, cols[i].flags & PIPE_F_QUOTED, !i);
	if (ncols)
		dump_eol(&res->dump, res->dia.header_eol);
	rc = csv_writer_new(&res->out, &w);
	if (!rc && drive_raw)
		csv_writer_guard(w, false);
	if (!rc)
		rc = csv_sink_ops.begin(w, cols, ncols, &res->dia, &res->err);
	if (!rc)
		rc = tb_alloc(&b, ncols, cap);
	while (!rc) {
		memset(b.out, 0,
		       (ncols && cap ? ncols * cap : 1) * sizeof(*b.out));
		memset(b.keep, 0, cap);
		spot_arena_reset(&b.arena);
		rc = csv_source_ops.next_batch(r, &b, &res->err);
		if (rc || !b.nrows)
			break;
		if (b.first_row != res->rows)
			res->first_row_ok = false;
		res->rows += b.nrows;
		res->batches++;
		dump_batch(res, &b);
		if (fn)
			fn(&b, arg);
		rc = csv_sink_ops.rows(w, &b, &res->err);
	}
	if (!rc)
		rc = csv_sink_ops.end(w, &res->err);
out:
	res->rc = rc;
	tb_free(&b);
	csv_writer_free(w);
	csv_reader_free(r);
}

static void run_mem(const void *p, size_t len, char delim, size_t chunk,
		    struct run *res)
{
	struct csv_reader *r;

	run_init(res);
	res->rc = csv_reader_open_mem(p, len, delim, &r);
	if (res->rc)
		return;
	if (chunk)
		csv_reader_set_chunk(r, chunk);
	drive(r, PIPE_BATCH_ROWS, NULL, NULL, res);
}

static int tmpfile_with(const void *p, size_t len)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "%s/in.csv", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, p, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

static void run_fd(const void *p, size_t len, char delim, size_t chunk,
		   struct run *res)
{
	struct csv_reader *r;
	int fd = tmpfile_with(p, len);

	run_init(res);
	res->rc = fd < 0 ? -EIO : csv_reader_open_fd(fd, delim, &r);
	if (!res->rc && chunk)
		csv_reader_set_chunk(r, chunk);
	if (!res->rc)
		drive(r, PIPE_BATCH_ROWS, NULL, NULL, res);
	if (fd >= 0)
		close(fd);
}

static bool buf_eq(const struct spot_buf *b, const void *p, size_t len)
{
	return b->len == len && (!len || !memcmp(b->p, p, len));
}

/*
 * A valid input: the zero-copy dump must be expect; every chunked mode and
 * a file read must agree; every round trip must be byte-identical.
 */
static void tcase_n(const char *name, const char *in, size_t len, char delim,
		    const char *expect, size_t elen)
{
	struct run z, c;
	bool agree = true, exact;
	size_t i;

	run_mem(in, len, delim, 0, &z);
	CHECK(z.rc == 0, "%s: parses (%s)", name, z.err.msg);
	CHECK(buf_eq(&z.dump, expect, elen), "%s: cells and line ends [%s]",
	      name, (const char *)z.dump.p);
	exact = buf_eq(&z.out, in, len);
	for (i = 0; i <= SPOT_ARRAY_SIZE(chunks); i++) {
		if (i < SPOT_ARRAY_SIZE(chunks))
			run_mem(in, len, delim, chunks[i], &c);
		else
			run_fd(in, len, delim, 0, &c);
		agree = agree && c.rc == 0 &&
			buf_eq(&c.dump, z.dump.p, z.dump.len);
		exact = exact && buf_eq(&c.out, in, len);
		run_fini(&c);
	}
	CHECK(agree, "%s: chunked and file reads agree", name);
	CHECK(exact, "%s: round trip is byte-identical", name);
	run_fini(&z);
}

#define TCASE(name, in, delim, expect)                                         \
	tcase_n(name, in, sizeof(in) - 1, delim, expect, sizeof(expect) - 1)

/* An invalid input: the same error, with the same message, in every mode. */
static void terr(const char *name, const char *in, char delim, int erc,
		 const char *msg)
{
	struct run z, c;
	bool same = true;
	size_t i;

	run_mem(in, strlen(in), delim, 0, &z);
	CHECK(z.rc == erc && !strcmp(z.err.msg, msg), "%s: error '%s' (%d)",
	      name, z.err.msg, z.rc);
	for (i = 0; i < SPOT_ARRAY_SIZE(chunks); i++) {
		run_mem(in, strlen(in), delim, chunks[i], &c);
		same = same && c.rc == erc && !strcmp(c.err.msg, msg);
		run_fini(&c);
	}
	CHECK(same, "%s: same error when chunked", name);
	run_fini(&z);
}

static void test_valid(void)
{
	TCASE("basic", "a,b\n1,2\n3,4\n", ',', "a|b$1|2$3|4$");
	TCASE("quoted", "name,note\n\"Doe, J\",\"say \"\"hi\"\"\"\n", ',',
	      "name|note$\"Doe, J\"|\"say \"hi\"\"$");
	TCASE("quoted newlines", "a,b\n\"l1\nl2\",\"x\r\ny\"\r\nz,\"\"\n", ',',
	      "a|b$\"l1\nl2\"|\"x\r\ny\"#z|\"\"$");
	TCASE("crlf", "a,b\r\n1,2\r\n", ',', "a|b#1|2#");
	TCASE("mixed endings", "a,b\r\n1,2\n3,4\r5,6\r\n7,8", ',',
	      "a|b#1|2$3|4%5|6#7|8.");
	TCASE("no final newline", "a,b\n1,\"2\"", ',', "a|b$1|\"2\".");
	TCASE("final cr", "a\n1\r", ',', "a$1%");
	TCASE("bom",
	      "\xEF\xBB\xBF"
	      "id,v\r\n1,2\r\n",
	      ',', "id|v#1|2#");
	TCASE("empty fields", "a,b,c\n,,\n\"\",,x\n", ',', "a|b|c$||$\"\"||x$");
	TCASE("invalid utf8", "a,b\n\xff\xfe,\"\xc3\x28\"\n", ',',
	      "a|b$\xff\xfe|\"\xc3\x28\"$");
	TCASE("nul bytes", "a,b\n\0x,\"y\0\"\n", ',', "a|b$\0x|\"y\0\"$");
	TCASE("bare quotes", "a,b\nab\"c,d\"\"e\n x \"y\",\"\"\"\"\n", ',',
	      "a|b$ab\"c|d\"\"e$ x \"y\"|\"\"\"$");
	TCASE("quoted header", "\"a,1\",\"b\"\"\"\n1,2\n", ',',
	      "\"a,1\"|\"b\"\"$1|2$");
	TCASE("duplicate names", "a,a,b\n1,2,3\n", ',', "a|a|b$1|2|3$");
	TCASE("trailing newline not a row", "a\n1\n", ',', "a$1$");
	TCASE("one column blank lines", "a\n1\n\n\r\n2\n\n", ',', "a$1$$#2$$");
	TCASE("header only", "a,b\n", ',', "a|b$");
	TCASE("header only no newline", "a,b", ',', "a|b.");
	TCASE("semicolon", "a;b\n\"1;2\";3\n", ';', "a|b$\"1;2\"|3$");
	TCASE("tab", "a\tb\n1,5\t2\n", '\t', "a|b$1,5|2$");
	TCASE("pipe", "a|b\n1|2\n", '|', "a|b$1|2$");
	TCASE("auto semicolon", "\"x,y\";b;c\n1;2;3\n", 0,
	      "\"x,y\"|b|c$1|2|3$");
	TCASE("auto tab", "a\tb\n1\t2\n", 0, "a|b$1|2$");
	TCASE("quote at chunk ends", "a,b\n\"\"\"\",\"\"\"x\"\"\"\r\n", ',',
	      "a|b$\"\"\"|\"\"x\"\"#");
}

static void test_empty(void)
{
	struct run z;

	run_mem("", 0, ',', 0, &z);
	CHECK(z.rc == 0 && z.ncols == 0 && z.rows == 0 && z.out.len == 0,
	      "empty file: no columns, no rows, no error, empty output");
	run_fini(&z);
	run_mem("", 0, ',', 1, &z);
	CHECK(z.rc == 0 && z.ncols == 0 && z.rows == 0,
	      "empty file chunked: no columns, no rows");
	run_fini(&z);
	run_mem("\xEF\xBB\xBF", 3, ',', 0, &z);
	CHECK(z.rc == 0 && z.ncols == 0 && z.dia.bom &&
		      buf_eq(&z.out, "\xEF\xBB\xBF", 3),
	      "BOM only: no columns, BOM kept");
	run_fini(&z);
	run_mem("a,b\n", 4, ',', 0, &z);
	CHECK(z.rc == 0 && z.ncols == 2 && z.rows == 0,
	      "header only: 2 columns, 0 rows");
	run_fini(&z);
}

static void test_errors(void)
{
	struct csv_reader *r;
	struct run z;

	terr("short row", "a,b\n1,2\n3\n", ',', -EBADMSG,
	     "line 3: expected 2 fields, found 1");
	terr("long row", "a,b\n1,2,3\n", ',', -EBADMSG,
	     "line 2: expected 2 fields, found 3");
	terr("line after quoted newline", "a,b\n\"x\ny\",2\n3\n", ',', -EBADMSG,
	     "line 4: expected 2 fields, found 1");
	terr("crlf lines", "a,b\r\n1,2\r\n\r\n", ',', -EBADMSG,
	     "line 3: expected 2 fields, found 1");
	terr("blank line in a wide file", "a,b\n1,2\n\n3,4\n", ',', -EBADMSG,
	     "line 3: expected 2 fields, found 1");
	terr("unterminated", "a,b\n1,\"abc\nd\n", ',', -EBADMSG,
	     "line 4: unterminated quoted field starting at line 2");
	terr("unterminated no newline", "a,b\n1,\"abc", ',', -EBADMSG,
	     "line 2: unterminated quoted field starting at line 2");
	terr("unterminated header", "\"a,b\n", ',', -EBADMSG,
	     "line 2: unterminated quoted field starting at line 1");
	terr("char after quote", "a,b\n1,2\n\"x\"y,2\n", ',', -EBADMSG,
	     "line 3: unexpected character after closing quote");
	terr("space after quote", "a,b\n\"x\n\" ,2\n", ',', -EBADMSG,
	     "line 3: unexpected character after closing quote");
	/* Regression: detection once stopped at a quoted LF when chunked. */
	terr("detection reads the whole first line", "x;\"p\nq\",b,c\n", 0,
	     -EBADMSG, "line 2: expected 1 fields, found 3");
	terr("no value in message", "a,b\nSECRET,1,2\n", ',', -EBADMSG,
	     "line 2: expected 2 fields, found 3");

	/* Errors are sticky. */
	run_init(&z);
	csv_reader_open_mem("a\n\"x", 4, ',', &r);
	{
		struct pipe_batch b;
		int rc1, rc2;

		tb_alloc(&b, 1, 4);
		rc1 = csv_source_ops.next_batch(r, &b, &z.err);
		z.err.msg[0] = 0;
		rc2 = csv_source_ops.next_batch(r, &b, &z.err);
		CHECK(rc1 == -EBADMSG && rc2 == rc1 &&
			      !strcmp(z.err.msg, "line 2: unterminated quoted "
						 "field starting at line 2"),
		      "errors are sticky: '%s'", z.err.msg);
		tb_free(&b);
	}
	csv_reader_free(r);
	run_fini(&z);

	/* The record limit bounds memory on streamed input. */
	run_init(&z);
	csv_reader_open_mem("a,b\n1234567890123456789,2\n", 26, ',', &r);
	csv_reader_set_chunk(r, 4);
	CHECK(csv_reader_set_max_record(r, 16) == 0, "set record limit");
	drive(r, 8, NULL, NULL, &z);
	CHECK(z.rc == -EFBIG &&
		      !strcmp(z.err.msg, "line 2: record longer than 16 bytes"),
	      "record over the limit: '%s'", z.err.msg);
	run_fini(&z);

	CHECK(csv_reader_open_mem("a", 1, '"', &r) == -EINVAL,
	      "quote as delimiter refused");
	CHECK(csv_reader_open_mem("a", 1, '\n', &r) == -EINVAL,
	      "LF as delimiter refused");
}

/*
 * Round 10: a UTF-16 or UTF-32 source (a byte order mark, or NUL bytes in
 * the header as wide text has them) is refused, whatever the chunking: its
 * first row would be served as the header. One NUL in a UTF-8 name is not.
 */
static void test_wide(void)
{
	static const struct {
		const char *name, *in;
		size_t len;
		const char *msg; /* the start of the message */
	} t[] = {
		{ "UTF-16LE byte order mark",
		  "\xff\xfe"
		  "a\x00,\x00"
		  "b\x00\x0a\x00"
		  "1\x00,\x00"
		  "2\x00\x0a\x00",
		  18,
		  "the file is UTF-16 (little-endian, byte order mark FF "
		  "FE); " },
		{ "UTF-16BE byte order mark",
		  "\xfe\xff\x00"
		  "a\x00,\x00"
		  "b\x00\x0a\x00"
		  "1\x00,\x00"
		  "2\x00\x0a",
		  18,
		  "the file is UTF-16 (big-endian, byte order mark FE FF); " },
		{ "UTF-32LE byte order mark",
		  "\xff\xfe\x00\x00"
		  "a\x00\x00\x00,\x00\x00\x00"
		  "b\x00\x00\x00\x0a\x00\x00\x00",
		  20,
		  "the file is UTF-32 (little-endian, byte order mark FF FE 00 "
		  "00); " },
		{ "UTF-32BE byte order mark",
		  "\x00\x00\xfe\xff\x00\x00\x00"
		  "a\x00\x00\x00,\x00\x00\x00"
		  "b\x00\x00\x00\x0a",
		  20,
		  "the file is UTF-32 (big-endian, byte order mark 00 00 FE "
		  "FF); " },
		{ "UTF-16BE headerless",
		  "\x00"
		  "a\x00l\x00i\x00"
		  "c\x00"
		  "e\x00@\x00"
		  "e\x00x\x00"
		  "a\x00m\x00p\x00l\x00"
		  "e\x00.\x00"
		  "c\x00o\x00m\x00,\x00"
		  "1\x00\x0a\x00"
		  "b\x00o\x00"
		  "b\x00@\x00"
		  "e\x00x\x00"
		  "a\x00m\x00p\x00l\x00"
		  "e\x00.\x00"
		  "c\x00o\x00m\x00,\x00"
		  "2",
		  74, "line 1: the header holds NUL bytes" },
		{ "UTF-16LE headerless",
		  "a\x00l\x00i\x00"
		  "c\x00"
		  "e\x00@\x00"
		  "e\x00x\x00"
		  "a\x00m\x00p\x00l\x00"
		  "e\x00.\x00"
		  "c\x00o\x00m\x00,\x00"
		  "1\x00\x0a\x00"
		  "b\x00o\x00"
		  "b\x00@\x00"
		  "e\x00x\x00"
		  "a\x00m\x00p\x00l\x00"
		  "e\x00.\x00"
		  "c\x00o\x00m\x00,\x00"
		  "2\x00",
		  74, "line 1: the header holds NUL bytes" },
		{ "UTF-16LE one character",
		  "a\x00\x0a\x00"
		  "b\x00\x0a\x00",
		  8, "line 1: the header holds NUL bytes" },
		{ "UTF-32LE headerless",
		  "a\x00\x00\x00l\x00\x00\x00i\x00\x00\x00"
		  "c\x00\x00\x00"
		  "e\x00\x00\x00@\x00\x00\x00"
		  "e\x00\x00\x00x\x00\x00\x00"
		  "a\x00\x00\x00m\x00\x00\x00p\x00\x00\x00l\x00\x00\x00"
		  "e\x00\x00\x00.\x00\x00\x00"
		  "c\x00\x00\x00o\x00\x00\x00m\x00\x00\x00,\x00\x00\x00"
		  "1\x00\x00\x00\x0a\x00\x00\x00",
		  80, "line 1: the header holds NUL bytes" },
	};
	static const char ok1[] = "a,b\0c\n1,2\n", ok2[] = "a,b\n\0x,y\n";
	struct run z;

	for (size_t i = 0; i < SPOT_ARRAY_SIZE(t); i++) {
		bool same = true;

		for (size_t k = 0; k <= SPOT_ARRAY_SIZE(chunks); k++) {
			run_mem(t[i].in, t[i].len, k % 2 ? ',' : 0,
				k < SPOT_ARRAY_SIZE(chunks) ? chunks[k] : 0,
				&z);
			same = same && z.rc == -EBADMSG &&
			       !strncmp(z.err.msg, t[i].msg,
					strlen(t[i].msg)) &&
			       strstr(z.err.msg, "UTF-8");
			if (!same)
				printf("# %s: chunk %zu: %d '%s'\n", t[i].name,
				       k, z.rc, z.err.msg);
			run_fini(&z);
		}
		CHECK(same, "wide: %s is refused, naming the encoding",
		      t[i].name);
	}
	run_mem(ok1, sizeof(ok1) - 1, ',', 0, &z);
	CHECK(z.rc == 0, "wide: one NUL in a UTF-8 header name is read");
	run_fini(&z);
	run_mem(ok2, sizeof(ok2) - 1, ',', 1, &z);
	CHECK(z.rc == 0, "wide: a NUL starting a data row is read");
	run_fini(&z);
}

static void test_sniff(void)
{
	char d = 0;

	csv_sniff_delimiter((const uint8_t *)"a;b;c,d\n", 8, &d);
	CHECK(d == ';', "sniff: semicolons win");
	csv_sniff_delimiter((const uint8_t *)"\"a,b,c\"|d\n,,,", 13, &d);
	CHECK(d == '|', "sniff: quoted commas and later lines ignored");
	csv_sniff_delimiter((const uint8_t *)"abc", 3, &d);
	CHECK(d == ',', "sniff: comma when nothing found");
	csv_sniff_delimiter((const uint8_t *)"a\tb,c", 5, &d);
	CHECK(d == ',', "sniff: ties go to comma");
}

static void test_write_field(void)
{
	static const struct {
		const char *in;
		char delim;
		bool force;
		const char *out;
	} t[] = {
		{ "plain", ',', false, "plain" },
		{ "a,b", ',', false, "\"a,b\"" },
		{ "a,b", ';', false, "a,b" },
		{ "a;b", ';', false, "\"a;b\"" },
		{ "say \"hi\"", ',', false, "\"say \"\"hi\"\"\"" },
		{ " lead", ',', false, "\" lead\"" },
		{ "trail\t", ',', false, "\"trail\t\"" },
		{ "in side", ',', false, "in side" },
		{ "cr\r", ',', false, "\"cr\r\"" },
		{ "l1\nl2", ',', false, "\"l1\nl2\"" },
		{ "", ',', false, "" },
		{ "", ',', true, "\"\"" },
		{ "x", ',', true, "\"x\"" },
		{ "\"", ',', false, "\"\"\"\"" },
	};
	struct spot_buf b;
	size_t i;
	bool ok = true;

	spot_buf_init(&b);
	for (i = 0; i < SPOT_ARRAY_SIZE(t); i++) {
		spot_buf_reset(&b);
		csv_write_field(&b, (const uint8_t *)t[i].in, strlen(t[i].in),
				t[i].delim, t[i].force);
		if (!buf_eq(&b, t[i].out, strlen(t[i].out))) {
			ok = false;
			printf("# write_field %zu: [%s]\n", i, (char *)b.p);
		}
	}
	CHECK(ok, "csv_write_field quotes exactly when needed");
	spot_buf_fini(&b);
}

/* ---- transforms, filters and foreign sources ---- */

struct xf_vals {
	size_t col;
	const char *const *vals; /* NULL entry: leave unchanged */
	const uint8_t *types;
	size_t n;
	ssize_t drop; /* row to drop, or -1 */
};

static void xf_set(struct pipe_batch *b, void *arg)
{
	struct xf_vals *x = arg;
	struct pipe_cell *o;
	size_t r;

	for (r = 0; r < b->nrows; r++) {
		uint64_t i = b->first_row + r;

		b->keep[r] = (ssize_t)i != x->drop;
		if (i >= x->n || !x->vals[i])
			continue;
		o = &b->out[r * b->ncols + x->col];
		o->len = strlen(x->vals[i]);
		o->p = spot_arena_dup(&b->arena, x->vals[i], o->len);
		o->type = x->types ? x->types[i] : PIPE_TEXT;
		o->flags = PIPE_F_SET;
	}
}

static void run_xf(const char *in, struct xf_vals *x, struct run *res)
{
	struct csv_reader *r;

	run_init(res);
	csv_reader_open_mem(in, strlen(in), ',', &r);
	csv_reader_set_chunk(r, 3);
	drive(r, 2, xf_set, x, res);
}

static void test_transform(void)
{
	static const char *const vals[] = {
		"A, B", "Bx", "", "he said \"hi\"", "two\nlines", " pad", NULL
	};
	static const uint8_t types[] = { PIPE_TEXT, PIPE_TEXT, PIPE_NULL,
					 PIPE_TEXT, PIPE_TEXT, PIPE_TEXT,
					 PIPE_TEXT };
	/* Row 2's raw "Bob" and row 3's raw "Caro,l" are quoted: their
	 * masked values are quoted only for what they hold themselves (the
	 * quoting of the raw value would tell its shape); row 7 is kept
	 * unchanged, its quotes copied through. */
	static const char in[] = "id,name,note\r\n1,Alice,\"x\"\r\n"
				 "2,\"Bob\",y\r\n3,\"Caro,l\",z\r\n4,D,w\r\n"
				 "5,E,v\r\n6,F,u\r\n7,\"G\",t";
	static const char want[] = "id,name,note\r\n1,\"A, B\",\"x\"\r\n"
				   "2,Bx,y\r\n3,,z\r\n"
				   "4,\"he said \"\"hi\"\"\",w\r\n"
				   "5,\"two\nlines\",v\r\n6,\" pad\",u\r\n"
				   "7,\"G\",t";
	struct xf_vals x = { 1, vals, types, SPOT_ARRAY_SIZE(vals), -1 };
	struct run z;

	run_xf(in, &x, &z);
	CHECK(z.rc == 0 && buf_eq(&z.out, want, sizeof(want) - 1),
	      "transformed column re-quoted as needed [%s]",
	      (const char *)z.out.p);
	run_fini(&z);

	x.drop = 7 - 1; /* the last row, which has no terminator */
	run_xf(in, &x, &z);
	CHECK(z.rc == 0 && z.out.len == sizeof(want) - 1 - 7 &&
		      !memcmp(z.out.p, want, z.out.len),
	      "dropped rows are not written, kept rows keep their endings");
	run_fini(&z);
}

static void test_one_column(void)
{
	static const char *const vals[] = { "", NULL, NULL };
	static const uint8_t types[] = { PIPE_TEXT, PIPE_TEXT, PIPE_NULL };
	static const char *const nulls[] = { NULL, NULL, "" };
	struct xf_vals x = { 0, vals, NULL, 3, -1 };
	struct run z;

	run_xf("v\n1\n\n2\n", &x, &z);
	CHECK(z.rc == 0 && buf_eq(&z.out, "v\n\"\"\n\n2\n", 8),
	      "one column: empty transformed cell written as \"\"");
	run_fini(&z);
	x.vals = nulls;
	x.types = types;
	run_xf("v\n1\n\n2", &x, &z);
	CHECK(z.rc == 0 && buf_eq(&z.out, "v\n1\n\n\"\"", 7),
	      "one column: NULL cell written as \"\" [%s]",
	      (const char *)z.out.p);
	run_fini(&z);
}

/* Rows from a non-CSV source: no dialect, typed cells. */
static void test_foreign(void)
{
	static const char want[] = "id,\"a,b\",r,blob,n,t\n"
				   "42,-7,1.5,deadbeef,,\"q\"\"\"\n";
	struct pipe_col cols[6] = {
		{ (char *)"id", 2, PIPE_INT, 0 },
		{ (char *)"a,b", 3, PIPE_INT, 0 },
		{ (char *)"r", 1, PIPE_REAL, 0 },
		{ (char *)"blob", 4, PIPE_BLOB, 0 },
		{ (char *)"n", 1, PIPE_TEXT, 0 },
		{ (char *)"t", 1, PIPE_TEXT, 0 },
	};
	static const char *const v[6] = { "42",	      "-7", "1.5",
					  "deadbeef", "zz", "q\"" };
	static const uint8_t ty[6] = { PIPE_INT,  PIPE_INT,  PIPE_REAL,
				       PIPE_BLOB, PIPE_NULL, PIPE_TEXT };
	struct csv_writer *w;
	struct pipe_batch b;
	struct spot_buf out;
	struct spot_err err;
	size_t c;
	int rc;

	spot_buf_init(&out);
	tb_alloc(&b, 6, 2);
	for (c = 0; c < 6; c++) {
		b.in[c].p = (const uint8_t *)v[c];
		b.in[c].len = strlen(v[c]);
		b.in[c].type = ty[c];
	}
	b.nrows = 1;
	b.keep[0] = 1;
	b.rowmeta[0] = 77; /* opaque to a CSV sink without a CSV dialect */
	csv_writer_new(&out, &w);
	rc = csv_sink_ops.begin(w, cols, 6, NULL, &err);
	rc = rc ? rc : csv_sink_ops.rows(w, &b, &err);
	rc = rc ? rc : csv_sink_ops.end(w, &err);
	CHECK(rc == 0 && buf_eq(&out, want, sizeof(want) - 1),
	      "foreign rows: typed cells, NULL empty, LF [%s]",
	      (const char *)out.p);
	b.ncols = 5;
	CHECK(csv_sink_ops.rows(w, &b, &err) == -EINVAL,
	      "batch width mismatch refused");
	csv_writer_free(w);
	tb_free(&b);
	spot_buf_fini(&out);
}

/* Formula injection: cells a spreadsheet would run get a leading '. */
static void test_guard(void)
{
	static const char in[] = "h,@who,n,t\r\n"
				 "=1+2,-5,1e3,\"@SUM(A1)\"\r\n"
				 "+49 30 1,+3.25,-1e-3,\"\ttab\"\r\n"
				 "-,-.5,-inf,\"-2+3\"\r\n"
				 "plain,-7,+0,\"a,=b\"\r\n"
				 "x,-1e,--5,\"\rcr\"\r\n";
	static const char want[] = "h,'@who,n,t\r\n"
				   "'=1+2,-5,1e3,\"'@SUM(A1)\"\r\n"
				   "'+49 30 1,+3.25,-1e-3,\"'\ttab\"\r\n"
				   "'-,-.5,-inf,\"'-2+3\"\r\n"
				   "plain,-7,+0,\"a,=b\"\r\n"
				   "x,'-1e,'--5,\"'\rcr\"\r\n";
	static const char *const nums[] = { "-5",    "+3.25", "-.5",
					    "-1e-3", "+1E+9", "-5.",
					    "-inf",  "+NaN",  "-Infinity" };
	static const char *const not_nums[] = { "-",   "+",    "-e5",  "-1e",
						"--5", "-5%",  "-1,5", "-0x1",
						"-5 ", "-infx" };
	struct run res;
	size_t i;

	run_mem(in, sizeof(in) - 1, 0, 0, &res);
	CHECK(res.rc == 0 && buf_eq(&res.out, want, sizeof(want) - 1),
	      "formula cells served with a leading ', numbers kept [%s]",
	      res.out.p ? (const char *)res.out.p : "");
	run_fini(&res);
	drive_raw = true;
	run_mem(in, sizeof(in) - 1, 0, 0, &res);
	drive_raw = false;
	CHECK(res.rc == 0 && buf_eq(&res.out, in, sizeof(in) - 1),
	      "guard off: byte-identical");
	run_fini(&res);
	for (i = 0; i < SPOT_ARRAY_SIZE(nums); i++)
		CHECK(csv_is_signed_number((const uint8_t *)nums[i],
					   strlen(nums[i])),
		      "'%s' is a number", nums[i]);
	for (i = 0; i < SPOT_ARRAY_SIZE(not_nums); i++)
		CHECK(!csv_is_signed_number((const uint8_t *)not_nums[i],
					    strlen(not_nums[i])),
		      "'%s' is not a number", not_nums[i]);
}

/* ---- batches, big fields, file descriptors ---- */

struct rows_check {
	size_t bad;
};

static void check_rows(struct pipe_batch *b, void *arg)
{
	struct rows_check *rc = arg;
	char want[64];
	size_t r, n;

	for (r = 0; r < b->nrows; r++) {
		uint64_t i = b->first_row + r;
		const struct pipe_cell *c = &b->in[r * 3];

		n = (size_t)snprintf(want, sizeof(want), "%llu",
				     (unsigned long long)i);
		if (c[0].len != n || memcmp(c[0].p, want, n))
			rc->bad++;
		n = (size_t)snprintf(want, sizeof(want), "v\"%llu",
				     (unsigned long long)i * 7);
		if (c[1].len != n || memcmp(c[1].p, want, n) ||
		    !(c[1].flags & PIPE_F_QUOTED))
			rc->bad++;
		if (c[2].len != 3 || memcmp(c[2].p, "x,y", 3))
			rc->bad++;
	}
}

static void test_batches(void)
{
	static const size_t modes[] = { 0, 1, 100, 4096 };
	struct spot_buf in;
	struct rows_check rc;
	struct csv_reader *r;
	struct run z;
	size_t i, m;

	spot_buf_init(&in);
	spot_buf_printf(&in, "id,v,w\n");
	for (i = 0; i < 3000; i++)
		spot_buf_printf(&in, "%zu,\"v\"\"%zu\",\"x,y\"%s", i, i * 7,
				i % 3 ? "\n" : "\r\n");
	for (m = 0; m < SPOT_ARRAY_SIZE(modes); m++) {
		memset(&rc, 0, sizeof(rc));
		run_init(&z);
		csv_reader_open_mem(in.p, in.len, ',', &r);
		if (modes[m])
			csv_reader_set_chunk(r, modes[m]);
		drive(r, PIPE_BATCH_ROWS, check_rows, &rc, &z);
		CHECK(z.rc == 0 && z.rows == 3000 && z.batches == 3 &&
			      z.first_row_ok && rc.bad == 0,
		      "chunk %zu: 3000 rows in 3 full batches, cells valid "
		      "to the batch end (bad %zu)",
		      modes[m], rc.bad);
		CHECK(buf_eq(&z.out, in.p, in.len), "chunk %zu: round trip",
		      modes[m]);
		run_fini(&z);
	}
	spot_buf_fini(&in);
}

static void big_check(struct pipe_batch *b, void *arg)
{
	size_t *ok = arg, i;
	const struct pipe_cell *c;

	if (b->nrows != 2)
		return;
	c = &b->in[1];
	for (i = 0; i < c->len && c->p[i] == (i % 1000 == 999 ? '"' : 'x'); i++)
		;
	*ok += i == c->len && c->len == 20u << 20;
	c = &b->in[2 + 0];
	*ok += c->len == 20u << 20 && c->p[0] == 'y' && c->p[c->len - 1] == 'y';
}

static void test_big_field(void)
{
	static const size_t modes[] = { 0, 4096, CSV_CHUNK_DEFAULT };
	size_t big = 20u << 20, i, m, ok;
	struct spot_buf in;
	struct csv_reader *r;
	struct run z;
	int fd;

	spot_buf_init(&in);
	spot_buf_append(&in, "a,b\n1,\"", 7);
	for (i = 0; i < big; i++) /* 20 MiB, every 1000th byte a quote */
		if (i % 1000 == 999)
			spot_buf_append(&in, "\"\"", 2);
		else
			spot_buf_putc(&in, 'x');
	spot_buf_append(&in, "\"\n", 2);
	spot_buf_reserve(&in, big + 8);
	memset(in.p + in.len, 'y', big);
	in.len += big;
	spot_buf_append(&in, ",2", 2);
	fd = tmpfile_with(in.p, in.len);
	for (m = 0; m < SPOT_ARRAY_SIZE(modes); m++) {
		ok = 0;
		run_init(&z);
		if (modes[m] == CSV_CHUNK_DEFAULT)
			csv_reader_open_fd(fd, ',', &r);
		else
			csv_reader_open_mem(in.p, in.len, ',', &r);
		if (modes[m] && modes[m] != CSV_CHUNK_DEFAULT)
			csv_reader_set_chunk(r, modes[m]);
		drive(r, PIPE_BATCH_ROWS, big_check, &ok, &z);
		CHECK(z.rc == 0 && ok == 2 && z.rows == 2,
		      "20 MiB fields, %s chunk %zu", m == 2 ? "file" : "memory",
		      modes[m]);
		CHECK(buf_eq(&z.out, in.p, in.len), "20 MiB fields round trip");
		run_fini(&z);
	}
	if (fd >= 0)
		close(fd);
	spot_buf_fini(&in);
}

static void test_pipe_fd(void)
{
	static const char in[] = "a;b\r\n\"1\";2\r\n3;\"x\ny\"";
	struct csv_reader *r;
	struct run z;
	int p[2];

	run_init(&z);
	if (pipe(p)) {
		CHECK(0, "pipe");
		return;
	}
	CHECK(write(p[1], in, sizeof(in) - 1) == sizeof(in) - 1, "pipe write");
	close(p[1]);
	csv_reader_open_fd(p[0], 0, &r);
	csv_reader_set_chunk(r, 2);
	drive(r, PIPE_BATCH_ROWS, NULL, NULL, &z);
	CHECK(z.rc == 0 && z.rows == 2 && z.dia.delim == ';' &&
		      buf_eq(&z.out, in, sizeof(in) - 1),
	      "reads a pipe (read() fallback), detects ';', round trip");
	close(p[0]);
	run_fini(&z);
	CHECK(csv_reader_open_fd(-1, ',', &r) == -EINVAL, "bad fd refused");
}

static void test_zero_copy(void)
{
	static const char in[] = "a,b\nxy,\"q\"\n";
	struct csv_reader *r;
	struct pipe_batch b;
	struct spot_err err;
	int rc;

	csv_reader_open_mem(in, sizeof(in) - 1, ',', &r);
	tb_alloc(&b, 2, 4);
	rc = csv_source_ops.next_batch(r, &b, &err);
	CHECK(rc == 0 && b.nrows == 1 && b.in[0].p == (const uint8_t *)in + 4 &&
		      b.in[1].p == (const uint8_t *)in + 8 && b.in[1].len == 1,
	      "memory reader cells point into the input");
	CHECK(csv_reader_set_chunk(r, 8) == -EINVAL,
	      "tuning refused after reading started");
	CHECK(csv_reader_rows(r) == 1, "row count");
	rc = csv_source_ops.next_batch(r, &b, &err);
	CHECK(rc == 0 && b.nrows == 0, "end: zero rows");
	tb_free(&b);
	csv_reader_free(r);
	csv_reader_free(NULL);
	csv_writer_free(NULL);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_valid();
	test_empty();
	test_errors();
	test_wide();
	test_sniff();
	test_write_field();
	test_transform();
	test_one_column();
	test_foreign();
	test_guard();
	test_batches();
	test_big_field();
	test_pipe_fd();
	test_zero_copy();
	rmdir(tmpdir);
	return check_done();
}

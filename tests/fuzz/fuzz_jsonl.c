/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_jsonl.c - libFuzzer target for the JSON Lines tokenizer, the string
 * codec and the JSON Lines view build.
 *
 * The input is a JSON Lines file. Beyond "no crash, no leak", it checks:
 *   - every accepted line parses the same read-only over the trie its
 *     discovery built (same leaves, same spans, inside the line, in
 *     order, not overlapping);
 *   - every string leaf decodes, and its bytes encoded again parse back to
 *     the same bytes;
 *   - a refused line's error offset lies within the line;
 *   - the view of the whole input, with every field replaced by its own
 *     bytes reversed (any bytes: half a UTF-8 sequence, quotes, NUL), is
 *     valid JSON Lines again, with as many records; with nothing masked it
 *     is the input byte for byte (a BOM at its start aside: not served);
 *     it fails exactly when some line is
 *     refused or some key looks like personal data (msk_pii_detect);
 *   - the CSV form (every field masked) of an accepted input builds.
 *
 *   tests/fuzz/run 60 jsonl
 * Linked with fuzz_main.c it replays the files named on the command
 * line, so the unit suite runs the corpus.
 */
#include "jsonl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "format.h"
#include "methods.h"

static void fz_fail(const char *what)
{
	fprintf(stderr, "fuzz_jsonl: oracle failed: %s\n", what);
	abort();
}

/* One line: parse, compare read-only, round-trip strings. 1 record, 0, -1. */
static int fz_line(struct jsonl_paths *t, struct jsonl_parser *add,
		   const uint8_t *s, size_t n)
{
	struct jsonl_parser *ro = NULL;
	const struct jsonl_leaf *a, *b;
	struct spot_buf dec, enc, back;
	size_t na, nb, at, prev = 0;
	int rc = jsonl_parse(add, s, n), rc2;

	if (rc < 0) {
		(void)jsonl_parser_error(add, &at);
		if (at > n && at != JSONL_MAX_LINE)
			fz_fail("error offset past the line");
		return -1;
	}
	a = jsonl_parser_leaves(add, &na);
	if (jsonl_parser_new(t, false, &ro))
		fz_fail("out of memory");
	rc2 = jsonl_parse(ro, s, n);
	b = jsonl_parser_leaves(ro, &nb);
	if (rc2 != rc || na != nb || (na && memcmp(a, b, na * sizeof(*a))))
		fz_fail("read-only parse differs");
	spot_buf_init(&dec);
	spot_buf_init(&enc);
	spot_buf_init(&back);
	for (size_t i = 0; i < na; i++) {
		if (a[i].off < prev || a[i].end <= a[i].off || a[i].end > n)
			fz_fail("leaf span out of order or bounds");
		prev = a[i].end;
		if (a[i].kind != JSONL_STR)
			continue;
		spot_buf_reset(&dec);
		spot_buf_reset(&enc);
		spot_buf_reset(&back);
		if (jsonl_str_decode(s + a[i].off, a[i].end - a[i].off, &dec))
			fz_fail("an accepted string does not decode");
		if (jsonl_str_encode(dec.p, dec.len, &enc) ||
		    jsonl_str_decode(enc.p, enc.len, &back) ||
		    back.len != dec.len ||
		    (dec.len && memcmp(back.p, dec.p, dec.len)))
			fz_fail("string round trip");
	}
	spot_buf_fini(&dec);
	spot_buf_fini(&enc);
	spot_buf_fini(&back);
	jsonl_parser_free(ro);
	return rc;
}

/* A transform: the input's bytes reversed, as text. */
static int fz_rev(void *arg, struct pipe_batch *b, size_t col,
		  struct spot_err *err)
{
	(void)arg;
	(void)err;
	for (size_t r = 0; r < b->nrows; r++) {
		const struct pipe_cell *in = &b->in[r * b->ncols + col];
		uint8_t tmp[256];
		size_t n = in->len < sizeof(tmp) ? in->len : sizeof(tmp);

		for (size_t i = 0; i < n; i++)
			tmp[i] = in->p[in->len - 1 - i];
		if (pipe_batch_set(b, r, col, tmp, n, PIPE_TEXT))
			return -1;
	}
	return 0;
}

/* A transform hiding the value: NULL. */
static int fz_null(void *arg, struct pipe_batch *b, size_t col,
		   struct spot_err *err)
{
	(void)arg;
	(void)err;
	for (size_t r = 0; r < b->nrows; r++) {
		struct pipe_cell *o = &b->out[r * b->ncols + col];

		memset(o, 0, sizeof(*o));
		o->type = PIPE_NULL;
		o->flags = PIPE_F_SET;
	}
	return 0;
}

/* What the plan does: nothing, reverse every field, or hide every odd
 * column (containers of hidden fields are then null whole). */
enum fz_mode { FZ_NONE, FZ_REV, FZ_HIDE };

struct fz_plan {
	struct pipe_plan plan[2];
	struct pipe_xform *xf[2];
	enum fz_mode mode;
	unsigned n;
};

static int fz_bind(void *arg, const char *table, const struct pipe_col *cols,
		   size_t ncols, const struct pipe_plan **plan,
		   struct spot_err *err)
{
	struct fz_plan *fp = arg;
	struct pipe_plan *p = &fp->plan[fp->n];

	(void)table;
	(void)cols;
	(void)err;
	memset(p, 0, sizeof(*p));
	fp->xf[fp->n] = calloc(ncols ? ncols : 1, sizeof(struct pipe_xform));
	p->xf = fp->xf[fp->n++];
	for (size_t c = 0; fp->mode != FZ_NONE && c < ncols; c++) {
		bool hide = fp->mode == FZ_HIDE && (c & 1);

		p->xf[c].col = c;
		p->xf[c].fn = hide ? fz_null : fz_rev;
		p->xf[c].hides = hide;
		p->nxf++;
	}
	*plan = p;
	return 0;
}

static int fz_view(const uint8_t *data, size_t size, enum fz_mode mode,
		   enum view_fmt form, struct spot_buf *out)
{
	struct fz_plan fp;
	struct spot_err err;
	struct view_out o;
	int fd = memfd_create("fuzz_jsonl", 0), rc;
	struct view_req req = { .form = form,
				.sub = "",
				.fd = fd,
				.threads = 1,
				.limit = UINT64_MAX,
				.bind = fz_bind,
				.more = fz_bind,
				.arg = &fp };

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		fz_fail("memfd");
	memset(&fp, 0, sizeof(fp));
	fp.mode = mode;
	view_out_init(&o);
	rc = view_format_build(view_format_get(VIEW_FMT_JSONL), &req, &o, &err);
	if (!rc && spot_buf_append(out, o.buf.p, o.buf.len))
		fz_fail("out of memory");
	view_out_fini(&o);
	free(fp.xf[0]);
	free(fp.xf[1]);
	close(fd);
	return rc;
}

/* A masked view is valid JSON Lines with recs records. */
static void fz_valid(const struct spot_buf *out, size_t recs)
{
	struct jsonl_paths *t = NULL;
	struct jsonl_parser *p = NULL;
	size_t start = 0, recs2 = 0;

	if (jsonl_paths_new(&t) || jsonl_parser_new(t, true, &p))
		fz_fail("out of memory");
	while (start < out->len) {
		const uint8_t *lf =
			memchr(out->p + start, '\n', out->len - start);
		size_t n =
			lf ? (size_t)(lf - out->p - start) : out->len - start;
		size_t bom =
			!start && n >= 3 && !memcmp(out->p, "\xef\xbb\xbf", 3)
				? 3
				: 0;
		int rc = jsonl_parse(p, out->p + start + bom, n - bom);

		if (rc < 0)
			fz_fail("the masked view is not JSON Lines");
		recs2 += (size_t)rc;
		start += n + 1;
	}
	if (recs2 != recs)
		fz_fail("the masked view has other records");
	jsonl_parser_free(p);
	jsonl_paths_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The length of the first line (its line feed excluded). */
static size_t fz_first_line(const uint8_t *data, size_t size)
{
	const uint8_t *lf = memchr(data, '\n', size);

	return lf ? (size_t)(lf - data) : size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsonl_paths *t = NULL;
	struct jsonl_parser *p = NULL;
	struct spot_buf out;
	size_t start = 0, recs = 0, skip;
	bool bad = false;

	if (jsonl_paths_new(&t) || jsonl_parser_new(t, true, &p))
		fz_fail("out of memory");
	while (start < size) {
		const uint8_t *lf = memchr(data + start, '\n', size - start);
		size_t n = lf ? (size_t)(lf - data - start) : size - start;
		size_t bom =
			!start && n >= 3 && !memcmp(data, "\xef\xbb\xbf", 3)
				? 3
				: 0;
		int rc = fz_line(t, p, data + start + bom, n - bom);

		bad |= rc < 0;
		recs += rc > 0;
		start += n + 1;
	}
	/* A key that looks like personal data refuses the view too: keys
	 * are served as they are. */
	if (!bad && jsonl_paths_keys_match(t, msk_pii_detect))
		bad = true;
	jsonl_parser_free(p);
	jsonl_paths_free(t);
	spot_buf_init(&out);
	if ((fz_view(data, size, FZ_NONE, VIEW_FMT_JSONL, &out) != 0) != bad)
		fz_fail("the view fails when and only when a line or a key is "
			"refused");
	/* ... but for a BOM at its start, which is not served. */
	skip = fz_first_line(data, size) >= 3 &&
			       !memcmp(data, "\xef\xbb\xbf", 3)
		       ? 3
		       : 0;
	if (!bad && (out.len != size - skip ||
		     (out.len && memcmp(out.p, data + skip, out.len))))
		fz_fail("with nothing masked the view is its source");
	spot_buf_reset(&out);
	if (!bad && fz_view(data, size, FZ_REV, VIEW_FMT_JSONL, &out))
		fz_fail("masking every field failed");
	if (!bad)
		fz_valid(&out, recs);
	spot_buf_reset(&out);
	if (!bad && fz_view(data, size, FZ_HIDE, VIEW_FMT_JSONL, &out))
		fz_fail("hiding every other field failed");
	if (!bad)
		fz_valid(&out, recs);
	/* The CSV form (the row source): builds whenever the file is valid. */
	spot_buf_reset(&out);
	if (!bad && fz_view(data, size, FZ_REV, VIEW_FMT_CSV, &out))
		fz_fail("the CSV form of a valid file failed");
	spot_buf_fini(&out);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_pq_shred.c - the Parquet writer's nested columns (pq_shred.c,
 * pq_write.c): JSON values shredded into leaves with the definition and
 * repetition levels Dremel (and parquet-format's LogicalTypes.md for
 * LIST) gives them, worked out here by hand; the schema the codec's own
 * footer parser reads back (paths, max levels); struct leaves read back
 * through pq_rows; LIST<STRING> list cells unchanged; and values that do
 * not fit their shape failing closed without the value in the message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "parquet.h"
#include "pq_rows.h"
#include "pq_write_i.h"

#define NC 5

static const struct pq_shape sh_str = { PQ_SH_STRING, NULL, 0, NULL, 0 };
static const struct pq_shape sh_i64 = { PQ_SH_INT64, NULL, 0, NULL, 0 };
static const struct pq_shape user_f[] = {
	{ PQ_SH_INT64, "age", 3, NULL, 0 },
	{ PQ_SH_STRING, "email", 5, NULL, 0 },
};
static const struct pq_shape msg_f[] = {
	{ PQ_SH_STRING, "content", 7, NULL, 0 },
	{ PQ_SH_STRING, "role", 4, NULL, 0 },
};
static const struct pq_shape msg = { PQ_SH_STRUCT, NULL, 0, msg_f, 2 };
static const struct pq_shape inner = { PQ_SH_LIST, NULL, 0, &sh_i64, 1 };
static const struct pq_shape shapes[NC] = {
	{ PQ_SH_INT64, "id", 2, NULL, 0 },
	{ PQ_SH_STRUCT, "user", 4, user_f, 2 },
	{ PQ_SH_LIST, "msgs", 4, &msg, 1 },
	{ PQ_SH_LIST, "ll", 2, &inner, 1 },
	{ PQ_SH_BOOLEAN, "ok", 2, NULL, 0 },
};
static const char *const names[NC] = { "id", "user", "msgs", "ll", "ok" };

/* NULL: a NULL cell. */
static const char *const rows[][NC] = {
	{ "1", "{\"age\": 30, \"email\": \"a@x\", \"extra\": [1, {}]}",
	  "[{\"role\":\"u\",\"content\":\"hi\"}, {\"role\":\"a\"}]",
	  "[[1,2],[]]", "true" },
	{ NULL, NULL, NULL, NULL, NULL },
	{ "3", "{}", " [ ] ", "[]", "false" },
	{ "4", "{\"email\":null}", "[null, {}]", "[null,[null]]", NULL },
	{ "5", "{\"email\":\"\\u00e9\\\"q\"}", "null", "[[-7]]", "true" },
};
#define NR (sizeof(rows) / sizeof(rows[0]))

static void cols_of(struct pipe_col *cols, size_t n, const char *const *nm)
{
	for (size_t c = 0; c < n; c++) {
		cols[c].name = (char *)nm[c];
		cols[c].name_len = strlen(nm[c]);
		cols[c].type = PIPE_TEXT;
		cols[c].flags = 0;
	}
}

static void cell(struct pipe_batch *b, size_t r, size_t c, const char *v)
{
	struct pipe_cell *x = &b->in[r * b->ncols + c];

	memset(x, 0, sizeof(*x));
	x->type = v ? PIPE_TEXT : PIPE_NULL;
	x->p = (const uint8_t *)v;
	x->len = v ? strlen(v) : 0;
}

static bool levels(const struct pq_wleaf *l, const uint32_t *def,
		   const uint32_t *rep, uint32_t n)
{
	if (l->w.nlev != n)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (l->w.def[i] != def[i] || (rep && l->w.rep[i] != rep[i]))
			return false;
	return true;
}

static void test_levels(const char *tmpdir)
{
	struct pipe_col cols[NC];
	struct pipe_batch b;
	struct pq_writer *w = NULL;
	struct spot_buf out;
	struct spot_err err = { { 0 } };
	struct pq_file *f = NULL;
	struct pq_rows *rd = NULL;
	char path[1024];
	int fd, rc;

	spot_buf_init(&out);
	cols_of(cols, NC, names);
	rc = pipe_batch_init(&b, NC, PIPE_BATCH_ROWS) ||
	     pq_writer_new(&out, &w);
	CHECK(!rc && pq_writer_set_shapes(w, shapes, NC) == 0, "shapes set");
	rc = pq_sink_ops.begin(w, cols, NC, NULL, &err);
	CHECK(rc == 0 && w->nleaves == 7, "7 leaves (%s)", err.msg);
	pipe_batch_clear(&b);
	for (size_t r = 0; r < NR; r++) {
		b.keep[r] = 1;
		for (size_t c = 0; c < NC; c++)
			cell(&b, r, c, rows[r][c]);
	}
	b.nrows = NR;
	rc = pq_sink_ops.rows(w, &b, &err);
	CHECK(rc == 0, "rows shredded (%s)", err.msg);
	if (rc || w->nleaves != 7)
		goto out;
	{
		/* id; user.age, user.email; msgs..content, msgs..role;
		 * ll.list.element.list.element; ok */
		static const uint32_t id_d[] = { 1, 0, 1, 1, 1 };
		static const uint32_t age_d[] = { 2, 0, 1, 1, 1 };
		static const uint32_t em_d[] = { 2, 0, 1, 1, 2 };
		static const uint32_t co_d[] = { 4, 3, 0, 1, 2, 3, 0 };
		static const uint32_t co_r[] = { 0, 1, 0, 0, 0, 1, 0 };
		static const uint32_t ro_d[] = { 4, 4, 0, 1, 2, 3, 0 };
		static const uint32_t ll_d[] = { 5, 5, 3, 0, 1, 2, 4, 5 };
		static const uint32_t ll_r[] = { 0, 2, 1, 0, 0, 0, 1, 0 };
		static const uint32_t ok_d[] = { 1, 0, 1, 0, 1 };

		CHECK(levels(&w->leaves[0], id_d, NULL, 5), "id: def");
		CHECK(levels(&w->leaves[1], age_d, NULL, 5),
		      "user.age: a null struct (0) apart from {} (1)");
		CHECK(levels(&w->leaves[2], em_d, NULL, 5),
		      "user.email: a null field (1) apart from a value (2)");
		CHECK(w->leaves[3].max_def == 4 && w->leaves[3].max_rep == 1 &&
			      levels(&w->leaves[3], co_d, co_r, 7),
		      "msgs.content: null list 0, [] 1, null element 2, "
		      "element lacking it 3, value 4; later elements rep 1");
		CHECK(levels(&w->leaves[4], ro_d, co_r, 7),
		      "msgs.role: the same entries");
		CHECK(w->leaves[5].max_def == 5 && w->leaves[5].max_rep == 2 &&
			      levels(&w->leaves[5], ll_d, ll_r, 8),
		      "ll: a list of lists, two repetition levels");
		CHECK(levels(&w->leaves[6], ok_d, NULL, 5), "ok: def");
		CHECK(w->leaves[2].w.plain.len >= 4 + 4 &&
			      !memcmp(w->leaves[2].w.plain.p + 4, "a@x", 3),
		      "a string is its decoded bytes");
	}
	rc = pq_sink_ops.end(w, &err);
	CHECK(rc == 0, "footer written (%s)", err.msg);
	snprintf(path, sizeof(path), "%s/spot_pq_shred_%d.parquet", tmpdir,
		 (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, out.p, out.len) == (ssize_t)out.len,
	      "file written");
	rc = pq_file_open(fd, &f, &err);
	CHECK(rc == 0 && f->m->nleaves == 7 && pq_file_num_rows(f) == NR,
	      "the codec's own parser reads it back (%s)", err.msg);
	if (!rc) {
		static const struct {
			const char *path;
			int def, rep;
		} want[] = {
			{ "id", 1, 0 },
			{ "user.age", 2, 0 },
			{ "user.email", 2, 0 },
			{ "msgs.list.element.content", 4, 1 },
			{ "msgs.list.element.role", 4, 1 },
			{ "ll.list.element.list.element", 5, 2 },
			{ "ok", 1, 0 },
		};
		for (size_t i = 0; i < 7; i++)
			CHECK(!strcmp(f->m->leaves[i].path, want[i].path) &&
				      f->m->leaves[i].max_def == want[i].def &&
				      f->m->leaves[i].max_rep == want[i].rep,
			      "leaf %s: max levels %d, %d as written",
			      want[i].path, want[i].def, want[i].rep);
		CHECK(f->m->leaves[6].ptype == PQ_BOOLEAN &&
			      f->m->leaves[1].ptype == PQ_INT64,
		      "BOOLEAN and INT64 leaves");
		rc = pq_rows_open(f, fd, &rd, &err);
	}
	pipe_batch_fini(&b);
	if (!rc && pipe_batch_init(&b, 7, PIPE_BATCH_ROWS))
		rc = -ENOMEM;
	if (!rc) {
		pipe_batch_clear(&b);
		rc = pq_source_ops.next_batch(rd, &b, &err);
		CHECK(rc == 0 && b.nrows == NR && b.ncols == 7 &&
			      b.in[0 * 7 + 1].type != PIPE_NULL &&
			      b.in[0 * 7 + 1].len == 2 &&
			      !memcmp(b.in[0 * 7 + 1].p, "30", 2) &&
			      b.in[1 * 7 + 1].type == PIPE_NULL &&
			      b.in[2 * 7 + 2].type == PIPE_NULL &&
			      b.in[4 * 7 + 2].len == 4 &&
			      !memcmp(b.in[4 * 7 + 2].p, "\xc3\xa9\"q", 4) &&
			      b.in[0 * 7 + 6].len == 4 &&
			      !memcmp(b.in[0 * 7 + 6].p, "true", 4),
		      "struct leaves read back: values, nulls, escapes (%s)",
		      err.msg);
		pq_rows_free(rd);
	}
	pq_file_free(f);
	if (fd >= 0)
		close(fd);
	unlink(path);
out:
	pq_writer_free(w);
	pipe_batch_fini(&b);
	spot_buf_fini(&out);
}

/* A LIST of STRING from list cells (PIPE_F_LIST), as before shapes. */
static void test_list_cells(void)
{
	static const uint8_t two[] = {
		PIPE_LIST_NULL, PIPE_LIST_TEXT, 1, 0, 0, 0, 'x'
	};
	static const char *const nm[] = { "tags" };
	struct pipe_col col;
	struct pipe_batch b;
	struct pq_writer *w = NULL;
	struct spot_buf out;
	struct spot_err err = { { 0 } };
	static const uint32_t d[] = { 0, 1, 2, 3 }, r[] = { 0, 0, 0, 1 };
	int rc;

	spot_buf_init(&out);
	cols_of(&col, 1, nm);
	col.flags = PIPE_F_TYPED | PIPE_F_LIST;
	rc = pipe_batch_init(&b, 1, PIPE_BATCH_ROWS) || pq_writer_new(&out, &w);
	rc = rc ? rc : pq_sink_ops.begin(w, &col, 1, NULL, &err);
	pipe_batch_clear(&b);
	for (size_t i = 0; i < 3; i++) {
		b.keep[i] = 1;
		memset(&b.in[i], 0, sizeof(b.in[i]));
		b.in[i].type = i ? PIPE_BLOB : PIPE_NULL;
		b.in[i].p = i == 2 ? two : NULL;
		b.in[i].len = i == 2 ? sizeof(two) : 0;
	}
	b.nrows = 3;
	rc = rc ? rc : pq_sink_ops.rows(w, &b, &err);
	CHECK(rc == 0 && w->nleaves == 1 && w->leaves[0].max_def == 3 &&
		      levels(&w->leaves[0], d, r, 4),
	      "list cells: null list, [], [null, \"x\"] (%s)", err.msg);
	rc = rc ? rc : pq_sink_ops.end(w, &err);
	CHECK(rc == 0, "list cells: footer");
	pq_writer_free(w);
	pipe_batch_fini(&b);
	spot_buf_fini(&out);
}

/* One cell of value v in a column of shape s: the write's result. */
static int one(const struct pq_shape *s, const char *v, struct spot_err *err)
{
	static const char *const nm[] = { "col" };
	struct pipe_col col;
	struct pipe_batch b;
	struct pq_writer *w = NULL;
	struct spot_buf out;
	int rc;

	spot_buf_init(&out);
	cols_of(&col, 1, nm);
	rc = pipe_batch_init(&b, 1, PIPE_BATCH_ROWS) || pq_writer_new(&out, &w);
	rc = rc ? -ENOMEM : pq_writer_set_shapes(w, s, 1);
	rc = rc ? rc : pq_sink_ops.begin(w, &col, 1, NULL, err);
	if (!rc) {
		pipe_batch_clear(&b);
		b.keep[0] = 1;
		cell(&b, 0, 0, v);
		b.nrows = 1;
		rc = pq_sink_ops.rows(w, &b, err);
	}
	rc = rc ? rc : pq_sink_ops.end(w, err);
	pq_writer_free(w);
	pipe_batch_fini(&b);
	spot_buf_fini(&out);
	return rc;
}

static void test_misfits(void)
{
	static const struct pq_shape user = { PQ_SH_STRUCT, "u", 1, user_f, 2 };
	static const struct pq_shape strs = { PQ_SH_LIST, "l", 1, &sh_str, 1 };
	static const struct {
		const struct pq_shape *s;
		const char *v;
	} bad[] = {
		{ &user, "[\"secretval\"]" },
		{ &user, "\"secretval\"" },
		{ &user, "{\"email\": \"secretval\"" },
		{ &user, "{\"email\": \"secretval\", \"email\": \"x\"}" },
		{ &user, "{\"age\": \"secretval\"}" },
		{ &user, "{\"age\": 1.5}" },
		{ &user, "{\"age\": 1} secretval" },
		{ &user, "{\"email\": [\"secretval\"], \"age\": true}" },
		{ &strs, "{\"secretval\": 1}" },
		{ &strs, "[\"secretval\" \"x\"]" },
		{ &strs, "[\"secretval\"" },
		{ &strs, "" },
		{ &shapes[4], "secretval" },
		{ &shapes[0], "12345678901234567890123" },
	};
	struct spot_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		memset(&err, 0, sizeof(err));
		rc = one(bad[i].s, bad[i].v, &err);
		CHECK(rc == -EIO && strstr(err.msg, "not of its type") &&
			      !strstr(err.msg, "secretval"),
		      "misfit %zu refused, no value said (%d: %s)", i, rc,
		      err.msg);
	}
	memset(&err, 0, sizeof(err));
	CHECK(one(&user, "{\"email\": {\"deep\": [1]}, \"zz\": [[{}]]}",
		  &err) == 0,
	      "a STRING field holds an object's JSON text; an unknown key is "
	      "skipped (%s)",
	      err.msg);
}

/*
 * Hostile cells: every prefix of valid values and every byte replaced by
 * a JSON delimiter is written or refused (-EIO), never read out of
 * bounds (the sanitizers watch).
 */
static void test_mangled(void)
{
	static const char *const ok[] = {
		"[{\"role\":\"u\",\"content\":\"h\\\"i\"},null,{}]",
		"[[1,2],[],null,[null,-3]]",
	};
	static const char subst[] = "{}[]\",:\\ n";
	const struct pq_shape *sh[] = { &shapes[2], &shapes[3] };
	char buf[128];
	unsigned crashes = 0, refused = 0, total = 0;
	int rc;

	for (size_t k = 0; k < 2; k++) {
		size_t n = strlen(ok[k]);
		struct spot_err err;

		for (size_t cut = 0; cut <= n; cut++) {
			memcpy(buf, ok[k], cut);
			buf[cut] = 0;
			memset(&err, 0, sizeof(err));
			rc = one(sh[k], buf, &err);

			total++;
			refused += rc == -EIO;
			crashes += rc != 0 && rc != -EIO;
		}
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < sizeof(subst) - 1; j++) {
				memcpy(buf, ok[k], n + 1);
				buf[i] = subst[j];
				memset(&err, 0, sizeof(err));
				rc = one(sh[k], buf, &err);

				total++;
				refused += rc == -EIO;
				crashes += rc != 0 && rc != -EIO;
			}
	}
	CHECK(!crashes && refused > 0 && refused < total,
	      "mangled cells: %u of %u refused, none otherwise failed", refused,
	      total);
}

/* A shape of depth d (a chain of structs). */
static void test_depth(void)
{
	static struct pq_shape chain[PQ_SHAPE_MAX_DEPTH + 2];
	static const char *const nm[] = { "c", "d" };
	struct pipe_col cols[2];
	struct pq_writer *w = NULL;
	struct spot_buf out;
	struct spot_err err = { { 0 } };
	size_t n = PQ_SHAPE_MAX_DEPTH + 1;

	for (size_t i = 0; i < n; i++) {
		chain[i].kind = i + 1 < n ? PQ_SH_STRUCT : PQ_SH_STRING;
		chain[i].name = "d";
		chain[i].name_len = 1;
		chain[i].kids = i + 1 < n ? &chain[i + 1] : NULL;
		chain[i].nkids = i + 1 < n ? 1 : 0;
	}
	spot_buf_init(&out);
	CHECK(pq_writer_new(&out, &w) == 0 &&
		      pq_writer_set_shapes(w, chain, 1) == -EINVAL &&
		      pq_writer_set_shapes(w, &chain[1], 1) == 0,
	      "a shape deeper than %d is refused, one of %d taken",
	      PQ_SHAPE_MAX_DEPTH, PQ_SHAPE_MAX_DEPTH);
	cols_of(cols, 2, nm);
	CHECK(pq_sink_ops.begin(w, cols, 2, NULL, &err) == -EINVAL,
	      "shapes for 1 column, 2 columns: refused");
	pq_writer_free(w);
	spot_buf_fini(&out);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	test_levels(tmp && *tmp ? tmp : "/tmp");
	test_list_cells();
	test_misfits();
	test_mangled();
	test_depth();
	return check_done();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd_report.c - `spotfs report`: k-anonymity of a dataset as served.
 *
 * The dataset is built for a role as `spotfs preview` builds it (no mount),
 * its served rows are read back as CSV, and each row's combination of
 * quasi-identifier cells (as served: masked) is counted in a table of
 * equivalence classes. The table holds keyed hashes of the combinations
 * (BLAKE2b under a key drawn for this run), never the cells, and at most
 * --budget classes: when there are more, the rows are read again in P
 * passes, each counting only the classes whose hash falls in its 1/P
 * share, so the result stays exact in bounded memory. Only the few
 * smallest classes printed at the end have their served cells copied, in
 * a last pass.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "format.h"
#include "sandbox.h"

#define RPT_KEY_LEN 16
#define RPT_TOP 10		    /* offending classes printed */
#define RPT_BUDGET_DEFAULT 1000000u /* classes held at once (~32 MB) */
#define RPT_MAX_QUASI 32
#define RPT_MAX_PASSES 4096
#define RPT_COPY_CHUNK (1u << 20)
#define RPT_SHOW_MAX 64 /* bytes of a served cell printed */

struct rpt_class {
	uint8_t key[RPT_KEY_LEN];
	uint64_t count; /* 0: an empty slot */
	uint64_t first; /* row of its first member: a stable order */
};

struct rpt_top {
	uint8_t key[RPT_KEY_LEN];
	uint64_t count;
	uint64_t first;
	char *cells[RPT_MAX_QUASI]; /* served cells, printable, cut */
	bool null[RPT_MAX_QUASI];   /* the served cell is NULL */
};

struct rpt {
	/* what was asked */
	const char *dataset;
	const char *role;
	const char *quasi[RPT_MAX_QUASI];
	size_t nquasi;
	uint64_t k;
	uint64_t budget;
	bool json;
	/* the served rows as CSV or Parquet, in a memory file */
	int fd;
	enum view_fmt rfmt; /* the format of fd's bytes */
	char delim;
	/* or a table of the served database, in memory (typed values) */
	sqlite3 *db;
	sqlite3_stmt *sel;	    /* SELECT the quasi-identifiers FROM it */
	size_t qcol[RPT_MAX_QUASI]; /* column index of each quasi */
	uint8_t hkey[crypto_generichash_KEYBYTES];
	/* one pass's table */
	struct rpt_class *tab;
	size_t cap; /* slots, a power of two */
	size_t used;
	/* results */
	uint64_t rows, classes, smallest, below_classes, below_rows;
	unsigned passes;
	unsigned pass; /* the one being read */
	struct rpt_top top[RPT_TOP];
	size_t ntop;
};

/* ---- counting ---- */

static void rpt_key(const struct rpt *r, const struct pipe_batch *b, size_t row,
		    uint8_t key[RPT_KEY_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, r->hkey, sizeof(r->hkey), RPT_KEY_LEN);
	for (size_t q = 0; q < r->nquasi; q++) {
		const struct pipe_cell *c = &b->in[row * b->ncols + r->qcol[q]];
		uint8_t len[9];
		uint64_t n = c->type == PIPE_NULL ? 0 : c->len;

		/*
		 * Typed and length-prefixed: ("ab", "c") is not ("a", "bc"),
		 * NULL is not "", the integer 1 is not the text "1" (a
		 * Parquet file or a database serves them apart).
		 */
		len[0] = c->type;
		for (int i = 0; i < 8; i++)
			len[1 + i] = (uint8_t)(n >> (8 * i));
		crypto_generichash_update(&st, len, sizeof(len));
		crypto_generichash_update(&st, c->p, (size_t)n);
	}
	crypto_generichash_final(&st, key, RPT_KEY_LEN);
}

/* Which pass counts a class: its hash, not its value, decides. */
static unsigned rpt_share(const uint8_t key[RPT_KEY_LEN], unsigned passes)
{
	uint64_t h = 0;

	for (int i = 0; i < 8; i++)
		h |= (uint64_t)key[i] << (8 * i);
	return (unsigned)(h % passes);
}

/* Count key (row) in the table; -ENOSPC beyond the budget. */
static int rpt_add(struct rpt *r, const uint8_t key[RPT_KEY_LEN], uint64_t row)
{
	size_t i;

	i = (size_t)(key[8] | (uint64_t)key[9] << 8 | (uint64_t)key[10] << 16 |
		     (uint64_t)key[11] << 24 | (uint64_t)key[12] << 32) &
	    (r->cap - 1);
	for (;; i = (i + 1) & (r->cap - 1)) {
		struct rpt_class *c = &r->tab[i];

		if (!c->count) {
			if (r->used >= r->budget)
				return -ENOSPC;
			memcpy(c->key, key, RPT_KEY_LEN);
			c->count = 1;
			c->first = row;
			r->used++;
			return 0;
		}
		if (!memcmp(c->key, key, RPT_KEY_LEN)) {
			c->count++;
			return 0;
		}
	}
}

/* Read the served rows once, calling fn for each. 0 or -errno. */
typedef int (*rpt_row_fn)(struct rpt *r, const struct pipe_batch *b, size_t row,
			  uint64_t index);

static int rpt_read_db(struct rpt *r, rpt_row_fn fn, struct spot_err *err);

static int rpt_read(struct rpt *r, rpt_row_fn fn, struct spot_err *err)
{
	const struct view_format *f = view_format_get(r->rfmt);
	struct view_req req = { 0 };
	struct view_source src = { NULL, NULL, NULL, NULL };
	const struct pipe_col *cols;
	struct pipe_batch b;
	uint64_t index = 0;
	size_t ncols;
	int rc;

	if (r->db)
		return rpt_read_db(r, fn, err);
	req.fd = r->fd;
	req.delim = r->delim;
	req.sub = "";
	if (lseek(r->fd, 0, SEEK_SET) < 0)
		return -errno;
	rc = f->source_open(&req, &src, err);
	if (!rc)
		rc = src.ops->columns(src.state, &cols, &ncols, err);
	if (!rc && (rc = pipe_batch_init(&b, ncols, PIPE_BATCH_ROWS)))
		spot_err_set(err, "out of memory");
	if (rc)
		goto out;
	for (;;) {
		pipe_batch_clear(&b);
		rc = src.ops->next_batch(src.state, &b, err);
		if (rc || !b.nrows)
			break;
		for (size_t i = 0; !rc && i < b.nrows; i++)
			rc = fn(r, &b, i, index++);
		if (rc)
			break;
	}
	pipe_batch_fini(&b);
out:
	if (src.free)
		src.free(src.obj);
	return rc;
}

/* Say which quasi-identifier the served table lacks (names only). */
static void rpt_db_missing(struct rpt *r, const char *table,
			   struct spot_err *err)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(r->db,
			       "SELECT 1 FROM pragma_table_info(?1) "
			       "WHERE name = ?2",
			       -1, &st, NULL) == SQLITE_OK)
		for (size_t q = 0; q < r->nquasi; q++) {
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, r->quasi[q], -1,
					  SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_ROW) {
				spot_err_set(err,
					     "'%s' is not a column of %s as "
					     "served",
					     r->quasi[q], r->dataset);
				break;
			}
		}
	sqlite3_finalize(st);
	if (!err->msg[0])
		spot_err_set(err, "%s: the served table cannot be read",
			     r->dataset);
}

/* SELECT "q1", "q2", ... FROM "table" of the served database. */
static int rpt_db_select(struct rpt *r, const char *table, struct spot_err *err)
{
	struct spot_buf sql;
	int rc = 0;

	spot_buf_init(&sql);
	rc = spot_buf_printf(&sql, "SELECT ");
	for (size_t q = 0; !rc && q < r->nquasi; q++) {
		rc = spot_buf_printf(&sql, "%s\"", q ? ", " : "");
		for (const char *c = r->quasi[q]; !rc && *c; c++)
			rc = spot_buf_printf(&sql, *c == '"' ? "\"\"" : "%c",
					     *c);
		if (!rc)
			rc = spot_buf_putc(&sql, '"');
	}
	if (!rc)
		rc = spot_buf_printf(&sql, " FROM main.\"");
	for (const char *c = table; !rc && *c; c++)
		rc = spot_buf_printf(&sql, *c == '"' ? "\"\"" : "%c", *c);
	if (!rc)
		rc = spot_buf_printf(&sql, "\"");
	if (!rc)
		rc = spot_buf_putc(&sql, 0);
	if (rc) {
		spot_buf_fini(&sql);
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	/* "nope" must not read as the string 'nope' for a missing column. */
	sqlite3_db_config(r->db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
	if (sqlite3_prepare_v2(r->db, (const char *)sql.p, -1, &r->sel, NULL) !=
	    SQLITE_OK) {
		rpt_db_missing(r, table, err);
		rc = -ENOENT;
	}
	spot_buf_fini(&sql);
	return rc;
}

/* Read the served table's rows, each cell with its type. */
static int rpt_read_db(struct rpt *r, rpt_row_fn fn, struct spot_err *err)
{
	struct pipe_cell cells[RPT_MAX_QUASI];
	char reals[RPT_MAX_QUASI][32];
	struct pipe_batch b;
	uint64_t index = 0;
	int rc = 0, step;

	memset(&b, 0, sizeof(b));
	b.in = cells;
	b.ncols = r->nquasi;
	b.nrows = 1;
	sqlite3_reset(r->sel);
	while (!rc && (step = sqlite3_step(r->sel)) == SQLITE_ROW) {
		for (size_t q = 0; q < r->nquasi; q++) {
			struct pipe_cell *c = &cells[q];
			int i = (int)q;

			memset(c, 0, sizeof(*c));
			switch (sqlite3_column_type(r->sel, i)) {
			case SQLITE_NULL:
				c->type = PIPE_NULL;
				continue;
			case SQLITE_INTEGER:
				c->type = PIPE_INT;
				c->p = sqlite3_column_text(r->sel, i);
				break;
			case SQLITE_FLOAT:
				/* Every bit of the double: round-trips. */
				c->type = PIPE_REAL;
				snprintf(reals[q], sizeof(reals[q]), "%.17g",
					 sqlite3_column_double(r->sel, i));
				c->p = (const uint8_t *)reals[q];
				c->len = strlen(reals[q]);
				continue;
			case SQLITE_BLOB:
				c->type = PIPE_BLOB;
				c->p = sqlite3_column_blob(r->sel, i);
				break;
			default:
				c->type = PIPE_TEXT;
				c->p = sqlite3_column_text(r->sel, i);
				break;
			}
			c->len = (size_t)sqlite3_column_bytes(r->sel, i);
			if (!c->p && c->len)
				return -ENOMEM;
		}
		rc = fn(r, &b, 0, index++);
	}
	if (!rc && step != SQLITE_DONE) {
		spot_err_set(err, "%s: reading the served table failed",
			     r->dataset);
		rc = -EIO;
	}
	return rc;
}

/* Find the columns of the quasi-identifiers in the served header. */
static int rpt_columns(struct rpt *r, struct spot_err *err)
{
	const struct view_format *f = view_format_get(r->rfmt);
	struct view_req req = { 0 };
	struct view_source src = { NULL, NULL, NULL, NULL };
	const struct pipe_col *cols;
	size_t ncols;
	int rc;

	if (r->db) {
		for (size_t q = 0; q < r->nquasi; q++)
			r->qcol[q] = q;
		return 0; /* rpt_db_select found them */
	}
	req.fd = r->fd;
	req.delim = r->delim;
	req.sub = "";
	if (lseek(r->fd, 0, SEEK_SET) < 0)
		return -errno;
	rc = f->source_open(&req, &src, err);
	if (!rc)
		rc = src.ops->columns(src.state, &cols, &ncols, err);
	for (size_t q = 0; !rc && q < r->nquasi; q++) {
		int i = pipe_col_find(cols, ncols, r->quasi[q],
				      strlen(r->quasi[q]));

		if (i < 0) {
			spot_err_set(err,
				     "'%s' is not a column of %s as served",
				     r->quasi[q], r->dataset);
			rc = -ENOENT;
		}
		r->qcol[q] = (size_t)i;
	}
	if (src.free)
		src.free(src.obj);
	return rc;
}

static int rpt_count_row(struct rpt *r, const struct pipe_batch *b, size_t row,
			 uint64_t index)
{
	uint8_t key[RPT_KEY_LEN];

	if (r->pass == 0)
		r->rows++;
	rpt_key(r, b, row, key);
	if (rpt_share(key, r->passes) != r->pass)
		return 0;
	return rpt_add(r, key, index);
}

/* Keep the RPT_TOP smallest offending classes: by size, then first row. */
static void rpt_top_offer(struct rpt *r, const struct rpt_class *c)
{
	size_t at = r->ntop;

	while (at > 0 && (r->top[at - 1].count > c->count ||
			  (r->top[at - 1].count == c->count &&
			   r->top[at - 1].first > c->first)))
		at--;
	if (at >= RPT_TOP)
		return;
	if (r->ntop == RPT_TOP)
		r->ntop--;
	memmove(&r->top[at + 1], &r->top[at],
		(r->ntop - at) * sizeof(r->top[0]));
	memset(&r->top[at], 0, sizeof(r->top[at]));
	memcpy(r->top[at].key, c->key, RPT_KEY_LEN);
	r->top[at].count = c->count;
	r->top[at].first = c->first;
	r->ntop++;
}

/* Fold one pass's table into the results. */
static void rpt_pass_done(struct rpt *r)
{
	for (size_t i = 0; i < r->cap; i++) {
		const struct rpt_class *c = &r->tab[i];

		if (!c->count)
			continue;
		r->classes++;
		if (!r->smallest || c->count < r->smallest)
			r->smallest = c->count;
		if (c->count < r->k) {
			r->below_classes++;
			r->below_rows += c->count;
			rpt_top_offer(r, c);
		}
	}
}

static int rpt_count(struct rpt *r, struct spot_err *err)
{
	size_t cap = 16;
	int rc = 0;

	while (cap < r->budget + r->budget / 2 + 1)
		cap *= 2;
	r->tab = calloc(cap, sizeof(*r->tab));
	if (!r->tab) {
		spot_err_set(err, "out of memory for %llu classes (--budget)",
			     (unsigned long long)r->budget);
		return -ENOMEM;
	}
	r->cap = cap;
	for (r->passes = 1; r->passes <= RPT_MAX_PASSES; r->passes *= 4) {
		r->rows = r->classes = r->smallest = 0;
		r->below_classes = r->below_rows = 0;
		r->ntop = 0;
		for (r->pass = 0; r->pass < r->passes; r->pass++) {
			memset(r->tab, 0, r->cap * sizeof(*r->tab));
			r->used = 0;
			rc = rpt_read(r, rpt_count_row, err);
			if (rc)
				break;
			rpt_pass_done(r);
		}
		if (rc != -ENOSPC)
			break;
	}
	if (rc == -ENOSPC)
		spot_err_set(err,
			     "more than %llu classes in each of %u passes: "
			     "raise --budget",
			     (unsigned long long)r->budget, RPT_MAX_PASSES);
	return rc;
}

/* The last pass: copy the served cells of the classes printed. */
static int rpt_cells_row(struct rpt *r, const struct pipe_batch *b, size_t row,
			 uint64_t index)
{
	for (size_t t = 0; t < r->ntop; t++) {
		if (r->top[t].first != index)
			continue;
		for (size_t q = 0; q < r->nquasi; q++) {
			const struct pipe_cell *c =
				&b->in[row * b->ncols + r->qcol[q]];
			size_t n =
				c->len < RPT_SHOW_MAX ? c->len : RPT_SHOW_MAX;
			char raw[RPT_SHOW_MAX + 1];

			if (n)
				memcpy(raw, c->p, n);
			raw[n] = 0;
			r->top[t].null[q] = c->type == PIPE_NULL;
			r->top[t].cells[q] = malloc(RPT_SHOW_MAX + 1);
			if (!r->top[t].cells[q])
				return -ENOMEM;
			spot_printable(raw, r->top[t].cells[q],
				       RPT_SHOW_MAX + 1);
		}
	}
	return 0;
}

/* ---- building the served rows ---- */

/* Copy a built view into r->fd. */
static int rpt_copy(struct rpt *r, struct vc_content *out, struct spot_err *err)
{
	uint8_t *chunk = malloc(RPT_COPY_CHUNK);
	int rc = chunk ? 0 : -ENOMEM;

	for (uint64_t off = 0; !rc && off < out->size;) {
		ssize_t n = out->read(out->obj, chunk, RPT_COPY_CHUNK, off);

		if (n <= 0) {
			rc = n < 0 ? (int)n : -EIO;
			spot_err_set(err, "reading the view: %s",
				     strerror(-rc));
			break;
		}
		for (ssize_t w = 0; !rc && w < n;) {
			ssize_t k = write(r->fd, chunk + w, (size_t)(n - w));

			if (k < 0)
				rc = -errno;
			else
				w += k;
		}
		off += (uint64_t)n;
	}
	if (rc == -ENOMEM)
		spot_err_set(err, "out of memory");
	free(chunk);
	out->free(out->obj);
	return rc;
}

/*
 * A table of a database: the served database itself, in memory, read
 * typed (its CSV form merges NULL and "", 1 and '1'; the database keeps
 * them apart, so its classes are the smaller ones).
 */
static int rpt_served_db(struct rpt *r, struct sbx *s,
			 const struct cfg_dataset *d, const char *sub,
			 struct spot_err *err)
{
	struct vc_content out;
	uint8_t *mem = NULL;
	int rc = sbx_build(s, d, "", r->role, &out, err);

	if (rc)
		return rc;
	if (out.size > (uint64_t)INT64_MAX ||
	    !(mem = sqlite3_malloc64(out.size ? out.size : 1)))
		rc = -ENOMEM;
	for (uint64_t off = 0; !rc && off < out.size;) {
		ssize_t n = out.read(out.obj, mem + off,
				     (size_t)(out.size - off), off);

		if (n <= 0)
			rc = n < 0 ? (int)n : -EIO;
		else
			off += (uint64_t)n;
	}
	out.free(out.obj);
	if (!rc && sqlite3_open_v2(":memory:", &r->db, SQLITE_OPEN_READWRITE,
				   NULL) != SQLITE_OK)
		rc = -ENOMEM;
	if (!rc && sqlite3_deserialize(
			   r->db, "main", mem, (sqlite3_int64)out.size,
			   (sqlite3_int64)out.size,
			   SQLITE_DESERIALIZE_FREEONCLOSE |
				   SQLITE_DESERIALIZE_READONLY) != SQLITE_OK) {
		mem = NULL; /* freed by sqlite3_deserialize */
		rc = -EIO;
	} else if (!rc) {
		mem = NULL;
	}
	sqlite3_free(mem);
	if (rc) {
		spot_err_set(err, "%s: the served database: %s", d->name,
			     strerror(-rc));
		return rc;
	}
	return rpt_db_select(r, sub, err);
}

/*
 * The served rows of d (table sub) for role in r->fd: a dataset served as
 * a Parquet file (its own, or a CSV's form) as that file (NULL and ""
 * apart, typed values), anything else as its CSV form.
 */
static int rpt_served(struct rpt *r, struct sbx *s, const struct cfg_dataset *d,
		      const char *sub, struct spot_err *err)
{
	const struct view_format *f = view_format_get(sbx_format(s, d));
	struct spot_buf csv;
	struct vc_content out;
	const char *form;
	bool self = true;
	int rc;

	r->fd = memfd_create("spotfs-report", MFD_CLOEXEC);
	if (r->fd < 0) {
		spot_err_set(err, "memfd_create: %s", strerror(errno));
		return -errno;
	}
	r->rfmt = VIEW_FMT_CSV;
	form = f && !sub[0] ? sbx_form(s, d, &self) : NULL;
	if (f && f->id == VIEW_FMT_PARQUET && !sub[0] && self)
		form = ""; /* the Parquet file itself */
	else if (!form || strcmp(form, "parquet"))
		form = NULL;
	if (form) {
		/* A Parquet file or form served: classes as its readers see
		 * them (NULL is not "", a CSV's form holds NULLs a rule
		 * made; the CSV form merges them with ""). */
		r->rfmt = VIEW_FMT_PARQUET;
		rc = sbx_build(s, d, form, r->role, &out, err);
		return rc ? rc : rpt_copy(r, &out, err);
	}
	spot_buf_init(&csv);
	if (f && f->id != VIEW_FMT_CSV && !sub[0]) {
		/* Other formats (a Parquet file served only as CSV): their
		 * rows as the CSV form serves them. */
		rc = sbx_csv_rows(s, d, r->role, UINT64_MAX, &csv, err);
		for (size_t off = 0; !rc && off < csv.len;) {
			ssize_t n = write(r->fd, csv.p + off, csv.len - off);

			if (n < 0)
				rc = -errno;
			else
				off += (size_t)n;
		}
		spot_buf_fini(&csv);
		return rc;
	}
	if (sub[0])
		return rpt_served_db(r, s, d, sub, err);
	r->delim = d->delimiter;
	rc = sbx_build(s, d, sub, r->role, &out, err);
	return rc ? rc : rpt_copy(r, &out, err);
}

/* ---- output ---- */

static void rpt_print(const struct rpt *r)
{
	double share =
		r->rows ? 100.0 * (double)r->below_rows / (double)r->rows : 0.0;

	printf("%s as role '%s', quasi-identifiers ", r->dataset, r->role);
	for (size_t q = 0; q < r->nquasi; q++)
		printf("%s%s", q ? ", " : "", r->quasi[q]);
	printf(", k = %llu\n", (unsigned long long)r->k);
	printf("  rows served          %llu\n", (unsigned long long)r->rows);
	printf("  equivalence classes  %llu\n", (unsigned long long)r->classes);
	printf("  smallest class       %llu\n",
	       (unsigned long long)r->smallest);
	printf("  classes below k      %llu\n",
	       (unsigned long long)r->below_classes);
	printf("  rows in them         %llu (%.1f%%)\n",
	       (unsigned long long)r->below_rows, share);
	printf("  k-anonymous          %s\n", r->below_rows ? "no" : "yes");
	if (r->passes > 1)
		printf("  (more classes than --budget %llu: counted exactly in "
		       "%u passes)\n",
		       (unsigned long long)r->budget, r->passes);
	if (!r->ntop)
		return;
	printf("  smallest classes below k (rows, then the values as "
	       "served):\n");
	for (size_t t = 0; t < r->ntop; t++) {
		printf("  %8llu ", (unsigned long long)r->top[t].count);
		for (size_t q = 0; q < r->nquasi; q++)
			printf(" %s=%s", r->quasi[q],
			       r->top[t].null[q]    ? "(NULL)"
			       : r->top[t].cells[q] ? r->top[t].cells[q]
						    : "?");
		printf("\n");
	}
}

static int rpt_json(const struct rpt *r)
{
	struct spot_buf b;
	int rc;

	spot_buf_init(&b);
	rc = spot_buf_printf(&b, "{\"dataset\":");
	if (!rc)
		rc = spot_buf_json_str(&b, r->dataset);
	if (!rc)
		rc = spot_buf_printf(&b, ",\"role\":");
	if (!rc)
		rc = spot_buf_json_str(&b, r->role);
	if (!rc)
		rc = spot_buf_printf(&b, ",\"quasi\":[");
	for (size_t q = 0; !rc && q < r->nquasi; q++) {
		rc = spot_buf_printf(&b, "%s", q ? "," : "");
		if (!rc)
			rc = spot_buf_json_str(&b, r->quasi[q]);
	}
	if (!rc)
		rc = spot_buf_printf(
			&b,
			"],\"k\":%llu,\"rows\":%llu,\"classes\":%llu,"
			"\"smallest\":%llu,\"classes_below_k\":%llu,"
			"\"rows_below_k\":%llu,\"k_anonymous\":%s,"
			"\"passes\":%u,\"offending\":[",
			(unsigned long long)r->k, (unsigned long long)r->rows,
			(unsigned long long)r->classes,
			(unsigned long long)r->smallest,
			(unsigned long long)r->below_classes,
			(unsigned long long)r->below_rows,
			r->below_rows ? "false" : "true", r->passes);
	for (size_t t = 0; !rc && t < r->ntop; t++) {
		rc = spot_buf_printf(&b, "%s{\"rows\":%llu,\"values\":[",
				     t ? "," : "",
				     (unsigned long long)r->top[t].count);
		for (size_t q = 0; !rc && q < r->nquasi; q++) {
			rc = spot_buf_printf(&b, "%s", q ? "," : "");
			if (!rc && r->top[t].null[q])
				rc = spot_buf_printf(&b, "null");
			else if (!rc)
				rc = spot_buf_json_str(
					&b, r->top[t].cells[q]
						    ? r->top[t].cells[q]
						    : "");
		}
		if (!rc)
			rc = spot_buf_printf(&b, "]}");
	}
	if (!rc)
		rc = spot_buf_printf(&b, "]}\n");
	if (!rc)
		fwrite(b.p, 1, b.len, stdout);
	spot_buf_fini(&b);
	return rc;
}

/* ---- the command ---- */

static void cli_report_usage(FILE *f)
{
	fprintf(f,
		"usage: spotfs report [-c CONFIG] DATASET[/TABLE] --quasi "
		"A,B,C\n"
		"                     [--k N] [--role ROLE] [--json] "
		"[--budget N]\n"
		"\n"
		"k-anonymity of DATASET as ROLE reads it (masked, rows "
		"filtered),\n"
		"built as spotfs preview builds it: the number of "
		"equivalence\n"
		"classes over the quasi-identifier columns, the smallest, "
		"the\n"
		"rows in classes smaller than k, and the %d smallest of those\n"
		"classes with their values as served. Counts keyed hashes of "
		"the\n"
		"combinations, at most --budget classes at once (more: "
		"exact, in\n"
		"several passes).\n"
		"\n"
		"options:\n"
		"  -c, --config FILE   sandbox config (YAML)\n"
		"  -q, --quasi LIST    quasi-identifier columns, comma-"
		"separated\n"
		"  -k, --k N           the k to check (default 5, at least 2)\n"
		"  -r, --role ROLE     as a caller with this role\n"
		"  -j, --json          print one JSON object\n"
		"  -b, --budget N      classes held in memory (default %u)\n"
		"  -h, --help          show this help\n",
		RPT_TOP, RPT_BUDGET_DEFAULT);
}

static int rpt_number(const char *opt, const char *s, uint64_t min,
		      uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || *end || s[0] == '-' || !s[0] || *out < min) {
		cli_error("report", "bad %s '%s' (a number, at least %llu)",
			  opt, s, (unsigned long long)min);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* Split --quasi "a,b,c" (in place) into r->quasi. */
static int rpt_quasi(struct rpt *r, char *list)
{
	for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		if (r->nquasi == RPT_MAX_QUASI) {
			cli_error("report", "at most %d quasi-identifiers",
				  RPT_MAX_QUASI);
			return CLI_EXIT_USAGE;
		}
		for (size_t q = 0; q < r->nquasi; q++)
			if (!strcmp(r->quasi[q], t)) {
				cli_error("report", "--quasi names '%s' twice",
					  t);
				return CLI_EXIT_USAGE;
			}
		r->quasi[r->nquasi++] = t;
	}
	if (!r->nquasi) {
		cli_error("report", "--quasi needs at least one column");
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static int rpt_opts(int argc, char **argv, struct rpt *r, const char **config)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "quasi", required_argument, NULL, 'q' },
		{ "k", required_argument, NULL, 'k' },
		{ "role", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "budget", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *quasi = NULL;
	int c, rc = 0;

	r->k = 5;
	r->budget = RPT_BUDGET_DEFAULT;
	optind = 1;
	while (!rc && (c = getopt_long(argc, argv, "c:q:k:r:jb:h", lopts,
				       NULL)) != -1) {
		if (c == 'c')
			*config = optarg;
		else if (c == 'q')
			quasi = optarg;
		else if (c == 'k')
			rc = rpt_number("--k", optarg, 2, &r->k);
		else if (c == 'r')
			r->role = optarg;
		else if (c == 'j')
			r->json = true;
		else if (c == 'b')
			rc = rpt_number("--budget", optarg, 1, &r->budget);
		else if (c == 'h')
			return cli_report_usage(stdout), -1;
		else
			return cli_report_usage(stderr), CLI_EXIT_USAGE;
	}
	if (rc)
		return rc;
	if (optind != argc - 1 || !quasi) {
		cli_report_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (r->budget > SIZE_MAX / 4 / sizeof(struct rpt_class)) {
		cli_error("report", "--budget too large");
		return CLI_EXIT_USAGE;
	}
	r->dataset = argv[optind];
	return rpt_quasi(r, quasi);
}

/* DATASET or DATASET/TABLE of a SQLite dataset, as preview finds it. */
static const struct cfg_dataset *rpt_find(struct sbx *s, char *name,
					  const char **sub)
{
	const struct cfg_dataset *d = cfg_dataset_find(s->cfg, name);
	char *slash = strrchr(name, '/');

	*sub = "";
	if (d || !slash)
		return d;
	*slash = 0;
	d = cfg_dataset_find(s->cfg, name);
	*slash = '/';
	if (d && sbx_has_objects(s, d)) {
		*sub = slash + 1;
		return d;
	}
	return NULL;
}

static bool rpt_role_known(const struct cfg *cfg, const char *role)
{
	for (size_t i = 0; i < cfg->nroles; i++)
		if (!strcmp(cfg->roles[i].name, role))
			return true;
	return !strcmp(cfg->default_role, role);
}

int cli_report(int argc, char **argv)
{
	struct rpt r;
	struct spot_err err = { "" };
	const struct cfg_dataset *d;
	const char *config = NULL, *sub;
	struct cfg *cfg;
	struct sbx *s = NULL;
	int rc;

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	rc = rpt_opts(argc, argv, &r, &config);
	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (sodium_init() < 0) {
		cli_error("report", "libsodium failed to initialise");
		return CLI_EXIT_FAIL;
	}
	cfg = cli_load_config(config);
	if (!cfg)
		return CLI_EXIT_FAIL;
	if (sbx_new(cfg, &s, &err)) {
		cli_error("report", "%s", err.msg);
		return CLI_EXIT_FAIL;
	}
	rc = CLI_EXIT_FAIL;
	if (!r.role)
		r.role = s->cfg->default_role;
	if (!rpt_role_known(s->cfg, r.role)) {
		cli_error("report", "no role '%s' in %s", r.role, s->cfg->path);
		goto out;
	}
	d = rpt_find(s, argv[optind], &sub);
	if (!d) {
		cli_error("report", "'%s' is not a dataset of %s", r.dataset,
			  s->cfg->path);
		goto out;
	}
	if (sbx_has_objects(s, d) && !sub[0]) {
		cli_error("report",
			  "%s is a database: name one of its tables, "
			  "e.g. %s/TABLE",
			  d->name, d->name);
		goto out;
	}
	if (!cfg_dataset_allows(d, r.role)) {
		cli_error("report", "role '%s' may not open %s", r.role,
			  d->name);
		goto out;
	}
	randombytes_buf(r.hkey, sizeof(r.hkey));
	if (rpt_served(&r, s, d, sub, &err) || rpt_columns(&r, &err) ||
	    rpt_count(&r, &err) || rpt_read(&r, rpt_cells_row, &err)) {
		cli_error("report", "%s", err.msg[0] ? err.msg : "failed");
		goto out;
	}
	if (r.json ? rpt_json(&r) : (rpt_print(&r), 0))
		goto out;
	rc = CLI_EXIT_OK;
out:
	sodium_memzero(r.hkey, sizeof(r.hkey));
	for (size_t t = 0; t < r.ntop; t++)
		for (size_t q = 0; q < r.nquasi; q++)
			free(r.top[t].cells[q]);
	free(r.tab);
	if (r.fd >= 0)
		close(r.fd);
	sqlite3_finalize(r.sel);
	sqlite3_close(r.db);
	sbx_free(s);
	return rc;
}

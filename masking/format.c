/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * format.c - the table of formats (see format.h) and lookups in it.
 */
#include "format.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const view_csv_suffixes[] = { ".csv", ".tsv", ".txt", NULL };
static const char *const view_pq_suffixes[] = { ".parquet", ".pq", NULL };
static const char *const view_sqlite_suffixes[] = { ".db", ".sqlite",
						    ".sqlite3", NULL };
static const char *const view_jsonl_suffixes[] = { ".jsonl", ".ndjson", ".json",
						   NULL };
static const uint8_t view_pq_magic[] = "PAR1";
static const uint8_t view_sqlite_magic[] = "SQLite format 3"; /* with NUL */

static const struct view_objects_ops view_sqlite_objects = {
	.list = view_sqlite_list,
	.view_sql = view_sqlite_view_sql,
	.columns = view_sqlite_columns,
};

/* By id: view_formats[i].id == i + 1. Magic is matched in this order. */
static const struct view_format view_formats[] = {
	{
		.id = VIEW_FMT_CSV,
		.name = "csv",
		.title = "CSV",
		.suffixes = view_csv_suffixes,
		.magic = NULL,
		.magic_len = 0,
		.forms = VIEW_FMT_BIT(VIEW_FMT_PARQUET),
		.leaf_paths = false,
		.by_path = false,
		.source_open = view_csv_source,
		.sink_new = view_csv_sink,
		.build = view_csv_build,
		.objects = NULL,
	},
	{
		.id = VIEW_FMT_PARQUET,
		.name = "parquet",
		.title = "Parquet",
		.suffixes = view_pq_suffixes,
		.magic = view_pq_magic,
		.magic_len = 4,
		.forms = VIEW_FMT_BIT(VIEW_FMT_CSV),
		.leaf_paths = true,
		.by_path = false,
		.source_open = view_parquet_source,
		.sink_new = view_parquet_sink,
		.build = view_parquet_build,
		.objects = NULL,
	},
	{
		.id = VIEW_FMT_SQLITE,
		.name = "sqlite",
		.title = "SQLite",
		.suffixes = view_sqlite_suffixes,
		.magic = view_sqlite_magic,
		.magic_len = sizeof(view_sqlite_magic),
		.forms = 0,
		.leaf_paths = false,
		.by_path = true,
		.source_open = view_no_source,
		.sink_new = view_no_sink,
		.build = view_sqlite_build,
		.objects = &view_sqlite_objects,
	},
	{
		.id = VIEW_FMT_JSONL,
		.name = "jsonl",
		.title = "JSON Lines",
		.suffixes = view_jsonl_suffixes,
		.magic = NULL,
		.magic_len = 0,
		.forms = VIEW_FMT_BIT(VIEW_FMT_CSV) |
			 VIEW_FMT_BIT(VIEW_FMT_PARQUET),
		/* Its build refuses two fields of one path name itself,
		 * on sorted names (plan's check is quadratic). */
		.leaf_paths = false,
		.field_paths = true,
		.by_path = false,
		.builds_forms = true,
		.source_open = view_jsonl_source,
		.sink_new = view_no_sink,
		.build = view_jsonl_build,
		.objects = NULL,
	},
};

_Static_assert(SPOT_ARRAY_SIZE(view_formats) == VIEW_FMT_COUNT - 1,
	       "one table entry per enum view_fmt value");

/* What a file without magic or known suffix is read as. */
#define VIEW_FMT_FALLBACK VIEW_FMT_CSV

const struct view_format *view_format_get(enum view_fmt f)
{
	if (f <= VIEW_FMT_UNKNOWN || f >= VIEW_FMT_COUNT)
		return NULL;
	return &view_formats[f - 1];
}

const struct view_format *view_format_by_name(const char *name)
{
	for (size_t i = 0; name && i < SPOT_ARRAY_SIZE(view_formats); i++)
		if (!strcmp(view_formats[i].name, name))
			return &view_formats[i];
	return NULL;
}

const struct view_format *view_format_by_magic(const uint8_t *head, size_t n)
{
	for (size_t i = 0; head && i < SPOT_ARRAY_SIZE(view_formats); i++) {
		const struct view_format *f = &view_formats[i];

		if (f->magic_len && n >= f->magic_len &&
		    !memcmp(head, f->magic, f->magic_len))
			return f;
	}
	return NULL;
}

static bool view_suffix(const char *name, const char *sfx)
{
	size_t n = strlen(name), s = strlen(sfx);

	return n > s && strcasecmp(name + n - s, sfx) == 0;
}

const struct view_format *view_format_by_suffix(const char *name)
{
	for (size_t i = 0; name && i < SPOT_ARRAY_SIZE(view_formats); i++)
		for (const char *const *s = view_formats[i].suffixes; *s; s++)
			if (view_suffix(name, *s))
				return &view_formats[i];
	return NULL;
}

const char *view_fmt_name(enum view_fmt f)
{
	const struct view_format *e = view_format_get(f);

	return e ? e->name : "unknown";
}

enum view_fmt view_detect(int fd, const char *name)
{
	uint8_t head[16];
	ssize_t n = spot_pread_full(fd, head, sizeof(head), 0);
	const struct view_format *f;

	/* An I/O error is no answer: detecting by the name instead would be
	 * remembered for the sandbox's life (found by fault injection). */
	if (n < 0)
		return VIEW_FMT_UNKNOWN;
	f = view_format_by_magic(head, n > 0 ? (size_t)n : 0);
	if (!f)
		f = view_format_by_suffix(name);
	return f ? f->id : VIEW_FMT_FALLBACK;
}

int view_format_build(const struct view_format *f, const struct view_req *req,
		      struct view_out *out, struct spot_err *err)
{
	if (!f) {
		spot_err_set(err, "unknown format");
		return -ENOTSUP;
	}
	if (req->form == f->id)
		return f->build(f, req, out, err);
	if (!view_format_get(req->form) ||
	    !(f->forms & VIEW_FMT_BIT(req->form))) {
		spot_err_set(err, "%s datasets cannot be served as %s",
			     f->title, view_fmt_name(req->form));
		return -ENOTSUP;
	}
	if (f->builds_forms)
		return f->build(f, req, out, err);
	return view_build_rows(f, req, out, err);
}

/* A sink that stops the pipeline after a number of kept rows. */
struct view_limit {
	struct view_sink *sink;
	uint64_t left;
};

static int view_limit_begin(void *sink, const struct pipe_col *cols,
			    size_t ncols, const void *dialect,
			    struct spot_err *err)
{
	struct view_limit *l = sink;

	return l->sink->ops->begin(l->sink->state, cols, ncols, dialect, err);
}

static int view_limit_rows(void *sink, const struct pipe_batch *b,
			   struct spot_err *err)
{
	struct view_limit *l = sink;
	struct pipe_batch part = *b;
	uint64_t kept = 0;
	size_t r;

	for (r = 0; r < b->nrows && kept < l->left; r++)
		kept += b->keep[r];
	part.nrows = r;
	if (l->sink->ops->rows(l->sink->state, &part, err))
		return -ENOMEM;
	l->left -= kept;
	return l->left ? 0 : -ECANCELED; /* enough: stop reading */
}

static int view_limit_end(void *sink, struct spot_err *err)
{
	struct view_limit *l = sink;

	return l->sink->ops->end(l->sink->state, err);
}

static const struct pipe_sink_ops view_limit_ops = {
	view_limit_begin,
	view_limit_rows,
	view_limit_end,
};

/*
 * A sink that streams (req->emit): once the writer's buffer passes
 * emit_after, it goes to emit after every batch, so a conversion holds
 * about one batch (one row group for Parquet) in memory; the end of the
 * file (a footer) stays in the buffer as the view's tail.
 */
#define VIEW_STREAM_PIECE (1u << 20)

static int view_stream_begin(void *sink, const struct pipe_col *cols,
			     size_t ncols, const void *dialect,
			     struct spot_err *err)
{
	struct view_stream *s = sink;

	return s->sink->ops->begin(s->sink->state, cols, ncols, dialect, err);
}

static int view_stream_rows(void *sink, const struct pipe_batch *b,
			    struct spot_err *err)
{
	struct view_stream *s = sink;
	size_t n;
	int rc = s->sink->ops->rows(s->sink->state, b, err);

	if (rc || (!s->streaming && s->out->len <= s->req->emit_after))
		return rc;
	/* Streaming: in pieces of at least a MiB, not one per batch. */
	if (s->streaming && s->out->len < VIEW_STREAM_PIECE)
		return 0;
	s->streaming = true;
	n = s->out->len;
	rc = s->req->emit(s->req->emit_arg, s->out->p, n);
	if (rc) {
		spot_err_set(err, "cannot write the view to the store: %s",
			     strerror(-rc));
		return rc;
	}
	s->out->len = 0;
	if (s->sink->drained)
		s->sink->drained(s->sink->state, n);
	return 0;
}

static int view_stream_end(void *sink, struct spot_err *err)
{
	struct view_stream *s = sink;

	return s->sink->ops->end(s->sink->state, err);
}

const struct pipe_sink_ops view_stream_ops = {
	view_stream_begin,
	view_stream_rows,
	view_stream_end,
};

int view_stream_restart(struct view_stream *s)
{
	int rc = 0;

	if (s->streaming)
		rc = s->req->emit_rewind ? s->req->emit_rewind(s->req->emit_arg)
					 : -EIO;
	s->streaming = false;
	s->out->len = 0;
	return rc;
}

int view_build_rows(const struct view_format *f, const struct view_req *req,
		    struct view_out *out, struct spot_err *err)
{
	const struct view_format *to = view_format_get(req->form);
	struct view_source src = { NULL, NULL, NULL, NULL };
	struct view_sink sink = { NULL, NULL, NULL, NULL };
	struct view_limit lim = { &sink, req->limit };
	struct view_stream str = { &sink, req, &out->buf, false };
	struct pipe_stats st = { 0, 0 };
	const struct pipe_plan *plan = NULL;
	const struct pipe_col *cols;
	size_t ncols;
	int rc;

	if (!to) {
		spot_err_set(err, "no format %d", (int)req->form);
		return -ENOTSUP;
	}
	rc = f->source_open(req, &src, err);
	if (!rc)
		rc = src.ops->columns(src.state, &cols, &ncols, err);
	if (!rc)
		rc = req->bind(req->arg, NULL, cols, ncols, &plan, err);
	if (!rc)
		rc = to->sink_new(&out->buf, &sink, err);
	if (!rc)
		view_sink_csv_injection(&sink, req->form, req->csv_injection);
	/* A limit of all rows runs the sink as it is (Parquet's footer is
	 * written at the end); a stop after some rows leaves out the end. */
	if (!rc && req->limit == UINT64_MAX && req->emit)
		rc = pipe_run(src.ops, src.state, plan, &view_stream_ops, &str,
			      &st, err);
	else if (!rc && req->limit == UINT64_MAX)
		rc = pipe_run(src.ops, src.state, plan, sink.ops, sink.state,
			      &st, err);
	else if (!rc && req->limit)
		rc = pipe_run(src.ops, src.state, plan, &view_limit_ops, &lim,
			      &st, err);
	if (rc == -ECANCELED)
		rc = 0;
	if (sink.free)
		sink.free(sink.state);
	if (src.free)
		src.free(src.obj);
	out->rows_in = st.rows_in;
	out->rows_out = st.rows_out;
	return rc;
}

int view_no_source(const struct view_req *req, struct view_source *src,
		   struct spot_err *err)
{
	(void)req;
	(void)src;
	spot_err_set(err, "this format has no row source");
	return -ENOTSUP;
}

int view_no_sink(struct spot_buf *out, struct view_sink *sink,
		 struct spot_err *err)
{
	(void)out;
	(void)sink;
	spot_err_set(err, "this format has no writer");
	return -ENOTSUP;
}

void view_out_init(struct view_out *o)
{
	memset(o, 0, sizeof(*o));
	spot_buf_init(&o->buf);
}

void view_out_fini(struct view_out *o)
{
	if (o->free && o->obj)
		o->free(o->obj);
	spot_buf_fini(&o->buf);
	view_out_init(o);
}

void view_cols_free(struct pipe_col *cols, size_t n)
{
	for (size_t i = 0; cols && i < n; i++)
		free(cols[i].name);
	free(cols);
}

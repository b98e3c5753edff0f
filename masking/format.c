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
		.text = true,
		.leaf_paths = false,
		.by_path = false,
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
		.text = false,
		.leaf_paths = true,
		.by_path = false,
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
		.text = false,
		.leaf_paths = false,
		.by_path = true,
		.build = view_sqlite_build,
		.objects = &view_sqlite_objects,
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
	ssize_t n = pread(fd, head, sizeof(head), 0);
	const struct view_format *f;

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
	if (req->form != f->id && !(f->forms & VIEW_FMT_BIT(req->form))) {
		spot_err_set(err, "%s datasets cannot be served as %s",
			     f->title, view_fmt_name(req->form));
		return -ENOTSUP;
	}
	return f->build(req, out, err);
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

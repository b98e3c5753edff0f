/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view_jsonl_src.c - a JSON Lines file as a pipeline source (the table
 * entry's source_open), for the commands that read a dataset's rows to
 * sample them (spotfs scan): one row per record, one column per field
 * path (discovered and validated over the whole file first, as a build
 * does), each cell the field's raw value (strings decoded, numbers and
 * true/false as their JSON text, null as NULL); a path a record holds
 * several times (inside arrays) gets all its values, one a line.
 *
 * The CSV and Parquet forms (as:) are not made from this source: the
 * table entry builds them itself (view_jsonl_form.c), from the masked
 * records (view_format_build never asks a format that builds its forms
 * for rows, so only samplers open this source).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "view_jsonl_i.h"

struct vjl_src {
	struct vjl v; /* paths and columns from step 1 */
	struct vjl_part whole;
	struct vjl_reader r;
	struct spot_buf rbuf, dec;
	struct jsonl_parser *parser;
	uint64_t line;
};

static int vjl_src_columns(void *state, const struct pipe_col **cols,
			   size_t *ncols, struct spot_err *err)
{
	struct vjl_src *s = state;

	(void)err;
	*cols = s->v.cols;
	*ncols = s->v.ncols;
	return 0;
}

/* The raw value of leaf l of line p into cell c (decoded in arena a). */
static int vjl_src_cell(struct vjl_src *s, struct spot_arena *a,
			const uint8_t *p, const struct jsonl_leaf *l,
			struct pipe_cell *c)
{
	const uint8_t *t = p + l->off;
	size_t n = l->end - l->off;

	c->flags = 0;
	c->type = PIPE_TEXT;
	if (l->kind == JSONL_NULL || l->kind == JSONL_EMPTY) {
		c->type = PIPE_NULL;
		c->p = NULL;
		c->len = 0;
		return 0;
	}
	if (l->kind == JSONL_STR) {
		spot_buf_reset(&s->dec);
		if (jsonl_str_decode(t, n, &s->dec))
			return -ENOMEM;
		t = s->dec.p;
		n = s->dec.len;
	} else if (l->kind == JSONL_NUM) {
		c->type = l->is_int ? PIPE_INT : PIPE_REAL;
	}
	c->p = n ? spot_arena_dup(a, t, n) : NULL;
	c->len = n;
	return n && !c->p ? -ENOMEM : 0;
}

/*
 * A further value of a path the record holds several times (inside
 * arrays): appended to the cell after a line feed, so a sampler sees
 * every value ("You are helpful." first must not hide an email after).
 */
static int vjl_src_more(struct vjl_src *s, struct spot_arena *a,
			const uint8_t *p, const struct jsonl_leaf *l,
			struct pipe_cell *c)
{
	struct pipe_cell v;
	uint8_t *j;

	if (vjl_src_cell(s, a, p, l, &v))
		return -ENOMEM;
	if (v.type == PIPE_NULL)
		return 0;
	if (c->type == PIPE_NULL) {
		*c = v;
		return 0;
	}
	j = spot_arena_alloc(a, c->len + 1 + v.len);
	if (!j)
		return -ENOMEM;
	memcpy(j, c->p, c->len);
	j[c->len] = '\n';
	if (v.len)
		memcpy(j + c->len + 1, v.p, v.len);
	c->p = j;
	c->len += 1 + v.len;
	c->type = PIPE_TEXT;
	return 0;
}

static int vjl_src_next_batch(void *state, struct pipe_batch *b,
			      struct spot_err *err)
{
	struct vjl_src *s = state;
	const struct jsonl_leaf *ls;
	const uint8_t *p;
	size_t n, nl, at;
	bool lf;
	int rc = 0;

	while (b->nrows < b->cap && (rc = vjl_next(&s->r, &p, &n, &lf)) == 1) {
		struct pipe_cell *row = &b->in[b->nrows * b->ncols];
		size_t bom = vjl_bom(&s->whole, s->line, p, n);

		rc = jsonl_parse(s->parser, p + bom, n - bom);
		if (rc < 0) {
			enum jsonl_err e = jsonl_parser_error(s->parser, &at);

			spot_err_set(err, "line %llu: %s at byte %zu",
				     (unsigned long long)s->line,
				     jsonl_err_text(e), at + bom + 1);
			return rc == -ENOMEM ? rc : -EIO;
		}
		s->line++;
		if (!rc)
			continue; /* a blank line: no record */
		for (size_t c = 0; c < b->ncols; c++) {
			memset(&row[c], 0, sizeof(row[c]));
			row[c].type = PIPE_NULL;
			row[c].flags = PIPE_F_SET; /* "not filled yet" */
		}
		ls = jsonl_parser_leaves(s->parser, &nl);
		for (size_t i = 0; i < nl; i++) {
			int32_t col = jsonl_paths_tag(s->v.paths, ls[i].node);

			if (col < 0) {
				spot_err_set(err, "%s",
					     jsonl_err_text(JSONL_E_STALE));
				return -EIO;
			}
			if (!(row[col].flags & PIPE_F_SET))
				rc = vjl_src_more(s, &b->src_arena, p + bom,
						  &ls[i], &row[col]);
			else
				rc = vjl_src_cell(s, &b->src_arena, p + bom,
						  &ls[i], &row[col]);
			if (rc) {
				spot_err_set(err, "out of memory");
				return -ENOMEM;
			}
		}
		for (size_t c = 0; c < b->ncols; c++)
			row[c].flags = 0;
		b->keep[b->nrows] = 1;
		b->nrows++;
	}
	if (rc == -E2BIG) {
		spot_err_set(err, "line %llu: %s", (unsigned long long)s->line,
			     jsonl_err_text(JSONL_E_TOO_LONG));
		return -EIO;
	}
	if (rc < 0) {
		spot_err_set(err, "cannot read the source: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

static const struct pipe_source_ops vjl_src_ops = {
	.columns = vjl_src_columns,
	.next_batch = vjl_src_next_batch,
	.dialect = NULL,
};

static void vjl_src_free(void *obj)
{
	struct vjl_src *s = obj;

	if (!s)
		return;
	jsonl_parser_free(s->parser);
	spot_buf_fini(&s->rbuf);
	spot_buf_fini(&s->dec);
	for (size_t i = 0; s->v.parts && i < s->v.nparts; i++) {
		spot_buf_fini(&s->v.parts[i].buf);
		jsonl_paths_free(s->v.parts[i].paths);
	}
	free(s->v.parts);
	free(s->v.wk);
	spot_buf_fini(&s->v.rbuf);
	view_cols_free(s->v.cols, s->v.ncols);
	jsonl_paths_free(s->v.paths);
	pthread_cond_destroy(&s->v.cv);
	pthread_mutex_destroy(&s->v.mu);
	free(s);
}

int view_jsonl_source(const struct view_req *req, struct view_source *src,
		      struct spot_err *err)
{
	struct vjl_src *s = calloc(1, sizeof(*s));
	struct stat sb;
	int rc;

	if (!s) {
		spot_err_set(err, "out of memory");
		return -ENOMEM;
	}
	s->v.fd = req->fd;
	s->v.req = req;
	spot_buf_init(&s->v.rbuf);
	spot_buf_init(&s->rbuf);
	spot_buf_init(&s->dec);
	pthread_mutex_init(&s->v.mu, NULL);
	pthread_cond_init(&s->v.cv, NULL);
	if (fstat(req->fd, &sb)) {
		rc = -errno;
		spot_err_set(err, "cannot read the source: %s", strerror(-rc));
		goto fail;
	}
	s->v.size = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
	rc = jsonl_paths_new(&s->v.paths);
	if (!rc)
		rc = vjl_cut(&s->v, VJL_CHUNK);
	if (rc) {
		spot_err_set(err, "cannot read the source: %s", strerror(-rc));
		goto fail;
	}
	rc = vjl_step1(&s->v, 1, err);
	if (!rc && jsonl_parser_new(s->v.paths, false, &s->parser)) {
		spot_err_set(err, "out of memory");
		rc = -ENOMEM;
	}
	if (rc)
		goto fail;
	s->line = 1;
	vjl_reader_init(&s->r, req->fd, 0, 0, &s->rbuf);
	src->ops = &vjl_src_ops;
	src->state = s;
	src->free = vjl_src_free;
	src->obj = s;
	return 0;
fail:
	vjl_src_free(s);
	return rc;
}

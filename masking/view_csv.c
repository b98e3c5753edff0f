/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view_csv.c - building one CSV view on several threads, byte for byte the
 * view one thread builds.
 *
 * The data records are cut into parts of about opts->chunk bytes, each
 * starting just after a line feed. A guess can be wrong (the LF may be
 * inside a quoted field, and a quote is only special at a field start, so
 * no cheap scan can tell), so parts are checked before they are masked:
 *   1. skim: every part but the last is parsed without masking (in
 *      parallel), counting its rows and lines. A part that starts at a
 *      record boundary and ends inside quotes (-ERANGE) shows that the
 *      next cut is not a boundary: the two parts are merged and the merged
 *      part is skimmed again. Part 0 starts after the header, so walking
 *      the parts in order proves every cut (induction). A part that fails
 *      otherwise holds the file's first parse error: it becomes the last
 *      part (read to EOF), so its build reports that error, or, if the
 *      error does not come back (a transient read error), still serves
 *      every record.
 *   2. build: workers claim parts in file order and mask each with their
 *      own plan (own Lua state), numbering rows and lines from the counts
 *      of step 1. Batches are those of one reader (multiples of the batch
 *      size in file rows): a part skips the rows before its first batch
 *      start and finishes its last batch past its end (the next cut is
 *      proven), so row seeds, row filters, per-batch calls and the order in
 *      which errors are met are those of one thread. The caller
 *      appends the parts' bytes in order as they finish; the first part
 *      writes the BOM and the header. After a failure no part is claimed;
 *      the first failing part in file order is the one reported.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"
#include "view.h"

#define VCSV_CHUNK_DEFAULT ((size_t)8 << 20)
/* Streaming: smaller parts, since a part's output (masking may make it
 * several times its source) is what memory holds per worker. */
#define VCSV_CHUNK_STREAM ((size_t)2 << 20)
#define VCSV_MIN_DEFAULT ((uint64_t)4 << 20)
#define VCSV_SCAN 4096 /* bytes read at a time looking for a line feed */
/* A part's output is reserved at its source size + 1/8 (masking rarely
 * grows a file more): one allocation, no copies while it grows. */
#define VCSV_RESERVE(n) ((n) + (n) / 8 + 4096)

struct vcsv_part {
	uint64_t off, end; /* end 0: to EOF */
	uint64_t line, rows;
	/* skim: rows and lines of the part, or its error */
	uint64_t nrows, nlines;
	int skim_rc;
	/* build */
	struct spot_buf buf;
	struct pipe_stats st;
	int rc;
	bool done;
	struct spot_err err;
};

struct vcsv;

struct vcsv_worker {
	struct vcsv *v;
	const struct pipe_plan *plan;
	pthread_t tid;
	bool started;
};

struct vcsv {
	int fd;
	uint64_t size; /* of the source */
	const struct csv_reader *hdr;
	struct vcsv_part *parts;
	size_t nparts;
	struct vcsv_worker *wk;
	size_t nwk;
	bool building; /* step 2, else step 1 */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t next;	  /* next part to claim */
	size_t claim_end; /* parts below it may be claimed */
	size_t ndone;	  /* step 1 */
	bool stop;
	struct spot_progress *prog; /* the caller's: step 2 counts in it */
	const struct view_csv_opts *opts; /* emit, when streaming */
};

/* Parts masked ahead of the one being emitted, per worker (streaming):
 * one keeps both cores busy and the memory at about threads + 1 parts. */
#define VCSV_AHEAD 1

/* Step 1 for part i: rows and lines, or the error. */
static void vcsv_skim(struct vcsv *v, struct vcsv_part *p)
{
	struct csv_reader *r = NULL;
	struct spot_progress *outer = spot_progress_cur;
	struct spot_err err;

	spot_progress_cur = NULL; /* the build (step 2) reads it again */
	p->skim_rc =
		csv_reader_open_part(v->fd, v->hdr, p->off, p->end, 1, 0, &r);
	if (!p->skim_rc)
		p->skim_rc = csv_reader_skim(r, &err);
	if (!p->skim_rc) {
		p->nrows = csv_reader_rows(r);
		p->nlines = csv_reader_line(r) - 1;
	}
	csv_reader_free(r);
	spot_progress_cur = outer;
}

/* Step 2 for part p with plan. */
static void vcsv_build(struct vcsv *v, struct vcsv_part *p,
		       const struct pipe_plan *plan)
{
	struct spot_progress *outer = spot_progress_cur;
	struct csv_reader *r = NULL;
	struct csv_writer *w = NULL;
	uint64_t src;

	spot_progress_cur = v->prog; /* workers count in the caller's */
	p->rc = csv_reader_open_part(v->fd, v->hdr, p->off, p->end, p->line,
				     p->rows, &r);
	if (!p->rc) {
		csv_reader_part_batches(r);
		p->rc = csv_writer_new(&p->buf, &w);
	}
	if (!p->rc && v->opts && v->opts->formulas_raw)
		csv_writer_guard(w, false);
	if (p->rc) {
		spot_err_set(&p->err, "out of memory");
		goto out;
	}
	if (p != v->parts)
		csv_writer_body_only(w);
	/*
	 * In memory, the first part's buffer becomes the view and the others
	 * are appended to it: it is reserved for the whole file. Streaming,
	 * each part is emitted and freed: its own size. Failing to reserve
	 * is not an error here (the writer grows as it needs).
	 */
	src = ((p == v->parts && !(v->opts && v->opts->emit)) || !p->end
		       ? v->size
		       : p->end) -
	      p->off;
	(void)spot_buf_reserve(&p->buf, VCSV_RESERVE((size_t)src));
	p->rc = pipe_run(&csv_source_ops, r, plan, &csv_sink_ops, w, &p->st,
			 &p->err);
out:
	csv_writer_free(w);
	csv_reader_free(r);
	spot_progress_cur = outer;
}

static void *vcsv_worker_main(void *arg)
{
	struct vcsv_worker *wk = arg;
	struct vcsv *v = wk->v;
	struct vcsv_part *p;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&v->mu);
		while (!v->stop && v->next >= v->claim_end)
			pthread_cond_wait(&v->cv, &v->mu);
		if (v->stop) {
			pthread_mutex_unlock(&v->mu);
			return NULL;
		}
		i = v->next++;
		p = &v->parts[i];
		if (!v->building) {
			pthread_mutex_unlock(&v->mu);
			vcsv_skim(v, p);
			pthread_mutex_lock(&v->mu);
			v->ndone++;
		} else {
			pthread_mutex_unlock(&v->mu);
			vcsv_build(v, p, wk->plan);
			pthread_mutex_lock(&v->mu);
			p->done = true;
			if (p->rc)
				v->claim_end = 0; /* claim no more */
		}
		pthread_cond_broadcast(&v->cv);
		pthread_mutex_unlock(&v->mu);
	}
}

/* The offset just after the first LF at or after off, or 0 (none). */
static int vcsv_next_lf(int fd, uint64_t off, uint64_t size, uint64_t *at)
{
	uint8_t b[VCSV_SCAN];
	const uint8_t *q;
	ssize_t n;

	*at = 0;
	while (off < size) {
		n = pread(fd, b, sizeof(b), (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return 0;
		q = memchr(b, '\n', (size_t)n);
		if (q) {
			*at = off + (uint64_t)(q - b) + 1;
			return 0;
		}
		off += (uint64_t)n;
	}
	return 0;
}

/* Cut [data, size) into parts of about chunk bytes at line feeds. */
static int vcsv_cut(struct vcsv *v, uint64_t data, uint64_t size, size_t chunk)
{
	uint64_t off = data, at;
	size_t cap = (size_t)((size - data) / chunk) + 2;
	int rc;

	v->parts = calloc(cap, sizeof(*v->parts));
	if (!v->parts)
		return -ENOMEM;
	while (v->nparts + 1 < cap) {
		struct vcsv_part *p = &v->parts[v->nparts++];

		p->off = off;
		rc = vcsv_next_lf(v->fd, off + chunk, size, &at);
		if (rc)
			return rc;
		if (!at || at >= size)
			break; /* p is the last part: to EOF */
		p->end = at;
		off = at;
	}
	for (size_t i = 0; i < v->nparts; i++)
		spot_buf_init(&v->parts[i].buf);
	return 0;
}

/* Merge part i+1 into part i. */
static void vcsv_merge(struct vcsv *v, size_t i)
{
	v->parts[i].end = v->parts[i + 1].end;
	spot_buf_fini(&v->parts[i + 1].buf);
	memmove(&v->parts[i + 1], &v->parts[i + 2],
		(v->nparts - i - 2) * sizeof(*v->parts));
	v->nparts--;
}

/*
 * After step 1: prove the cuts in file order (merging where a record
 * crosses one) and number the parts' first rows and lines.
 */
static void vcsv_resolve(struct vcsv *v, uint64_t line)
{
	uint64_t rows = 0;
	size_t i;

	for (i = 0; i < v->nparts; i++) {
		struct vcsv_part *p = &v->parts[i];

		p->line = line;
		p->rows = rows;
		if (i + 1 == v->nparts)
			break;
		while (p->skim_rc == -ERANGE && i + 1 < v->nparts) {
			vcsv_merge(v, i);
			if (i + 1 < v->nparts)
				vcsv_skim(v, p);
		}
		if (i + 1 == v->nparts)
			break;
		if (p->skim_rc) {
			/* The first parse error: this part reads to EOF. */
			p->end = 0;
			for (size_t k = i + 1; k < v->nparts; k++)
				spot_buf_fini(&v->parts[k].buf);
			v->nparts = i + 1;
			break;
		}
		line += p->nlines;
		rows += p->nrows;
	}
}

/* Start up to n workers with plans[i]; 0 started: the caller works. */
static void vcsv_start(struct vcsv *v, const struct pipe_plan **plans, size_t n)
{
	v->nwk = 0;
	for (size_t i = 0; i < n; i++) {
		v->wk[i].v = v;
		v->wk[i].plan = plans[i];
		if (pthread_create(&v->wk[i].tid, NULL, vcsv_worker_main,
				   &v->wk[i]))
			break;
		v->wk[i].started = true;
		v->nwk++;
	}
}

static void vcsv_stop(struct vcsv *v)
{
	pthread_mutex_lock(&v->mu);
	v->stop = true;
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	for (size_t i = 0; i < v->nwk; i++)
		pthread_join(v->wk[i].tid, NULL);
	v->nwk = 0;
}

/* Step 1 on the workers (or the caller), then the proof of the cuts. */
static void vcsv_step1(struct vcsv *v, uint64_t line)
{
	size_t n = v->nparts - 1; /* the last part needs no counts */

	pthread_mutex_lock(&v->mu);
	v->next = 0;
	v->claim_end = v->nwk ? n : 0;
	pthread_cond_broadcast(&v->cv);
	while (v->ndone < v->claim_end)
		pthread_cond_wait(&v->cv, &v->mu);
	v->claim_end = 0; /* the parts change now: nothing to claim */
	pthread_mutex_unlock(&v->mu);
	for (size_t i = 0; !v->nwk && i < n; i++)
		vcsv_skim(v, &v->parts[i]);
	vcsv_resolve(v, line);
}

/* Step 2; parts' bytes appended to out in order. */
static int vcsv_step2(struct vcsv *v, const struct pipe_plan *plan,
		      struct spot_buf *out, struct pipe_stats *st,
		      struct spot_err *err)
{
	int rc = 0;

	bool emit = v->opts && v->opts->emit;
	bool stream = emit && !v->opts->emit_after;
	size_t ahead = emit ? VCSV_AHEAD * (v->nwk ? v->nwk : 1) : v->nparts;

	pthread_mutex_lock(&v->mu);
	v->building = true;
	v->next = 0;
	v->claim_end = !v->nwk ? 0 : ahead < v->nparts ? ahead : v->nparts;
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	for (size_t i = 0; i < v->nparts && !rc; i++) {
		struct vcsv_part *p = &v->parts[i];

		if (!v->nwk) {
			vcsv_build(v, p, plan);
		} else {
			pthread_mutex_lock(&v->mu);
			while (!p->done)
				pthread_cond_wait(&v->cv, &v->mu);
			pthread_mutex_unlock(&v->mu);
		}
		rc = p->rc;
		if (rc) {
			*err = p->err;
			break;
		}
		if (emit && !stream &&
		    out->len + p->buf.len > v->opts->emit_after) {
			/* Grown past what may stay in memory: stream from
			 * here on, what was kept first. */
			stream = true;
			rc = v->opts->emit(v->opts->emit_arg, out->p, out->len);
			spot_buf_fini(out);
		}
		if (stream && !rc)
			rc = v->opts->emit(v->opts->emit_arg, p->buf.p,
					   p->buf.len);
		if (rc) {
			spot_err_set(err, "cannot write the view: %s",
				     strerror(-rc));
			break;
		}
		if (emit) {
			/* One more part may be masked ahead. */
			pthread_mutex_lock(&v->mu);
			if (v->nwk && v->claim_end && v->claim_end < v->nparts)
				v->claim_end++;
			pthread_cond_broadcast(&v->cv);
			pthread_mutex_unlock(&v->mu);
		}
		if (!stream && !out->len) {
			spot_buf_fini(out);
			*out = p->buf; /* no copy: the part's buffer becomes out */
			spot_buf_init(&p->buf);
		} else if (!stream) {
			rc = spot_buf_append(out, p->buf.p, p->buf.len);
			if (rc)
				spot_err_set(err, "out of memory");
		}
		spot_buf_fini(&p->buf);
		st->rows_in += p->st.rows_in;
		st->rows_out += p->st.rows_out;
	}
	return rc;
}

/* The parallel build; hdr's header is read and plans[0] bound. */
static int vcsv_run(int fd, const struct csv_reader *hdr, uint64_t size,
		    const struct view_csv_opts *opts, size_t chunk,
		    const struct pipe_plan **plans, size_t nplans,
		    struct spot_buf *out, struct pipe_stats *st,
		    struct spot_err *err)
{
	struct vcsv v;
	int rc;

	memset(&v, 0, sizeof(v));
	v.fd = fd;
	v.opts = opts;
	v.prog = spot_progress_cur;
	v.size = size;
	v.hdr = hdr;
	pthread_mutex_init(&v.mu, NULL);
	pthread_cond_init(&v.cv, NULL);
	v.wk = calloc(nplans, sizeof(*v.wk));
	rc = v.wk ? vcsv_cut(&v, csv_reader_data_offset(hdr), size, chunk)
		  : -ENOMEM;
	if (rc) {
		spot_err_set(err, "cannot read CSV: %s", strerror(-rc));
		goto out;
	}
	vcsv_start(&v, plans, nplans);
	vcsv_step1(&v, csv_reader_line(hdr));
	rc = vcsv_step2(&v, plans[0], out, st, err);
out:
	vcsv_stop(&v);
	for (size_t i = 0; v.parts && i < v.nparts; i++)
		spot_buf_fini(&v.parts[i].buf);
	free(v.parts);
	free(v.wk);
	pthread_cond_destroy(&v.cv);
	pthread_mutex_destroy(&v.mu);
	return rc;
}

int view_build_csv_opts(int fd, char delim, view_bind_fn bind, void *arg,
			const struct view_csv_opts *opts, struct spot_buf *out,
			struct pipe_stats *st, struct spot_err *err)
{
	size_t chunk = opts && opts->chunk  ? opts->chunk
		       : opts && opts->emit ? VCSV_CHUNK_STREAM
					    : VCSV_CHUNK_DEFAULT;
	uint64_t min = !opts || !opts->min_size		   ? VCSV_MIN_DEFAULT
		       : opts->min_size == VIEW_CSV_ALWAYS ? 0
							   : opts->min_size;
	unsigned threads = opts ? opts->threads : 1;
	const struct pipe_plan **plans = NULL;
	const struct pipe_col *cols;
	struct csv_reader *r = NULL;
	struct stat sb;
	size_t ncols, n = 0;
	int rc;

	bool stream = opts && opts->emit;

	if ((!stream && (threads < 2 || !opts->more_plan)) || fstat(fd, &sb) ||
	    !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size < min ||
	    (uint64_t)sb.st_size <= chunk)
		return view_build_csv_guard(fd, delim, bind, arg,
					    !(opts && opts->formulas_raw), out,
					    st, err);
	if (threads < 2 || !opts->more_plan)
		threads = 1; /* streaming alone: one worker, the caller emits */
	rc = csv_reader_open_fd(fd, delim, &r);
	if (rc) {
		spot_err_set(err, "cannot read CSV: %s", strerror(-rc));
		return rc;
	}
	rc = csv_source_ops.columns(r, &cols, &ncols, err);
	if (rc || !ncols) { /* errors and empty files: as one reader says */
		csv_reader_free(r);
		return view_build_csv_guard(fd, delim, bind, arg,
					    !(opts && opts->formulas_raw), out,
					    st, err);
	}
	plans = calloc(threads, sizeof(*plans));
	if (!plans) {
		spot_err_set(err, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	rc = bind(arg, cols, ncols, &plans[n], err);
	for (n = 1; !rc && n < threads; n++)
		rc = opts->more_plan(opts->arg, cols, ncols, &plans[n], err);
	if (rc)
		goto out;
	memset(st, 0, sizeof(*st));
	rc = vcsv_run(fd, r, (uint64_t)sb.st_size, opts, chunk, plans, n, out,
		      st, err);
out:
	free(plans);
	csv_reader_free(r);
	return rc;
}

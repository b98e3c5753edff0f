/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * view_jsonl_par.c - the parts and workers of a JSON Lines build (see
 * view_jsonl.c for the design): the cut at line feeds, step 1 (discover
 * every part, merge paths in file order) and step 2 (rewrite parts in
 * order, a few ahead of the caller, appended or streamed).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "methods.h"
#include "view_jsonl_i.h"

static void *vjl_worker_main(void *arg)
{
	struct vjl_worker *wk = arg;
	struct vjl *v = wk->v;
	struct vjl_part *p;

	for (;;) {
		pthread_mutex_lock(&v->mu);
		while (!v->stop && v->next >= v->claim_end)
			pthread_cond_wait(&v->cv, &v->mu);
		if (v->stop) {
			pthread_mutex_unlock(&v->mu);
			return NULL;
		}
		p = &v->parts[v->next++];
		pthread_mutex_unlock(&v->mu);
		if (!v->building)
			vjl_skim(v, p, &wk->rbuf, &v->tapes[wk - v->wk]);
		else
			vjl_build(v, p, wk->wp, &wk->rbuf);
		pthread_mutex_lock(&v->mu);
		if (!v->building) {
			p->skimmed = true;
		} else {
			p->done = true;
			if (p->rc)
				v->claim_end = 0; /* claim no more */
		}
		pthread_cond_broadcast(&v->cv);
		pthread_mutex_unlock(&v->mu);
	}
}

/* The offset just after the first LF at or after off, or 0 (none). */
static int vjl_next_lf(int fd, uint64_t off, uint64_t size, uint64_t *at)
{
	uint8_t b[4096];
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

/* Cut the file into parts of about chunk bytes at line feeds. */
int vjl_cut(struct vjl *v, size_t chunk)
{
	uint64_t off = 0, at;
	size_t cap = (size_t)(v->size / chunk) + 2;
	int rc;

	v->parts = calloc(cap, sizeof(*v->parts));
	if (!v->parts)
		return -ENOMEM;
	while (v->nparts + 1 < cap) {
		struct vjl_part *p = &v->parts[v->nparts++];

		spot_buf_init(&p->buf);
		p->off = off;
		rc = vjl_next_lf(v->fd, off + chunk, v->size, &at);
		if (rc)
			return rc;
		if (!at || at >= v->size)
			break; /* the last part: to EOF */
		p->end = at;
		off = at;
	}
	return 0;
}

static void vjl_start(struct vjl *v, struct vjl_plan **wps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		v->wk[i].v = v;
		v->wk[i].wp = wps ? wps[i] : NULL;
		spot_buf_init(&v->wk[i].rbuf);
		if (pthread_create(&v->wk[i].tid, NULL, vjl_worker_main,
				   &v->wk[i]))
			break;
		v->nwk++;
	}
}

static void vjl_stop(struct vjl *v)
{
	pthread_mutex_lock(&v->mu);
	v->stop = true;
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	for (size_t i = 0; i < v->nwk; i++) {
		pthread_join(v->wk[i].tid, NULL);
		spot_buf_fini(&v->wk[i].rbuf);
	}
	v->nwk = 0;
	v->stop = false;
}

/*
 * Step 1: discover every part (workers a few parts ahead), then number
 * them and merge their paths in file order, freeing each part's trie as
 * it is merged: memory holds a few parts' paths, not the file's.
 */
int vjl_step1(struct vjl *v, size_t threads, struct spot_err *err)
{
	uint64_t line = 1, rec = 0;
	unsigned kinds;
	size_t ahead;
	int rc = 0;

	vjl_start(v, NULL, threads > 1 ? threads : 0);
	ahead = 2 * v->nwk;
	pthread_mutex_lock(&v->mu);
	v->claim_end = ahead < v->nparts ? ahead : v->nparts;
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	for (size_t i = 0; i < v->nparts && !rc; i++) {
		struct vjl_part *p = &v->parts[i];

		if (!v->nwk) {
			vjl_skim(v, p, &v->rbuf, &v->tapes[VJL_THREADS]);
		} else {
			pthread_mutex_lock(&v->mu);
			while (!p->skimmed)
				pthread_cond_wait(&v->cv, &v->mu);
			if (v->claim_end < v->nparts)
				v->claim_end++;
			pthread_cond_broadcast(&v->cv);
			pthread_mutex_unlock(&v->mu);
		}
		p->line = line;
		p->rec = rec;
		if (p->skim_rc == -EINVAL) {
			spot_err_set(
				err, "line %llu: %s at byte %zu",
				(unsigned long long)(line + p->err_line - 1),
				jsonl_err_text(p->jerr), p->err_byte + 1);
			rc = -EIO;
			break;
		}
		if (p->skim_rc == -ESTALE) {
			spot_err_set(err, "%s", jsonl_err_text(JSONL_E_STALE));
			rc = -EIO;
			break;
		}
		if (p->skim_rc) {
			spot_err_set(err, "cannot read the source: %s",
				     strerror(-p->skim_rc));
			rc = p->skim_rc;
			break;
		}
		/* A tape names the part's nodes: keep where they went. */
		if (p->taped && !(p->map = malloc(jsonl_paths_count(p->paths) *
						  sizeof(*p->map))))
			rc = -ENOMEM;
		else if (p->taped)
			rc = jsonl_paths_merge_map(v->paths, p->paths, p->map);
		else
			rc = jsonl_paths_merge(v->paths, p->paths);
		jsonl_paths_free(p->paths);
		p->paths = NULL;
		line += p->nlines;
		rec += p->nrecs;
	}
	vjl_stop(v);
	if (rc == -E2BIG) {
		spot_err_set(err, "%s", jsonl_err_text(JSONL_E_PATHS));
		return -EIO;
	}
	if (rc == -ENOMEM)
		spot_err_set(err, "out of memory");
	if (rc)
		return rc;
	rc = vjl_columns(v);
	if (rc == -ENOTUNIQ) {
		spot_err_set(err,
			     "two different fields have the same path "
			     "(a key holding '.' or '[]' and a nested "
			     "field): a rule cannot say which it means, so "
			     "the view is refused");
		return -EIO;
	}
	if (rc) {
		spot_err_set(err, "out of memory");
		return rc;
	}
	/* Keys are served as they are: each decoded key on its own, at any
	 * depth, through the detectors a CSV header meets (never named). */
	kinds = jsonl_paths_keys_match(v->paths, msk_pii_detect);
	if (kinds) {
		spot_err_set(err,
			     "a key looks like %s: keys are served as they "
			     "are, so the view is refused",
			     msk_pii_name(kinds & -kinds));
		return -EIO;
	}
	return 0;
}

/* Part p's output buffer, to be used again (or freed). */
static void vjl_pool_put(struct vjl *v, struct vjl_part *p)
{
	struct spot_buf *np;

	if (!p->buf.cap)
		return;
	pthread_mutex_lock(&v->mu);
	np = v->npool < v->nwk + 2
		     ? realloc(v->pool, (v->npool + 1) * sizeof(*np))
		     : NULL;
	if (np) {
		v->pool = np;
		v->pool[v->npool++] = p->buf;
		spot_buf_init(&p->buf);
	}
	pthread_mutex_unlock(&v->mu);
	spot_buf_fini(&p->buf);
}

/*
 * Read once (v->whole, v->in_src): part i's output written over src at
 * wpos, where the bytes of the parts before it were. 1 when it is there;
 * 0 when it would reach the bytes of a part still to be rewritten: then
 * the view so far leaves src, to be emitted (*stream) or copied to out,
 * and the caller handles part i as usual. -errno.
 */
static int vjl_over_src(struct vjl *v, size_t i, struct view_out *out,
			bool *stream)
{
	const struct view_req *req = v->req;
	struct vjl_part *p = &v->parts[i];
	size_t room = i + 1 < v->nparts
			      ? v->base + (size_t)v->parts[i + 1].off - v->wpos
			      : v->src.cap - 1 - v->wpos;

	if (p->buf.len <= room) {
		memcpy(v->src.p + v->wpos, p->buf.p, p->buf.len);
		v->wpos += p->buf.len;
		return 1;
	}
	v->in_src = false;
	if (req->emit) {
		/* src holds all the memory allowed: stream from here on. */
		*stream = true;
		return req->emit(req->emit_arg, v->src.p, v->wpos);
	}
	if (spot_buf_append(&out->buf, v->src.p, v->wpos))
		return -ENOMEM;
	return 0;
}

/* Step 2; parts' bytes appended to out (or emitted) in order. */
int vjl_step2(struct vjl *v, struct vjl_plan **wps, size_t nwps,
	      struct view_out *out, struct spot_err *err)
{
	const struct view_req *req = v->req;
	bool emit = req->emit != NULL;
	bool stream = emit && !req->emit_after;
	size_t ahead;
	int rc = 0;

	v->building = true;
	v->next = 0;
	v->claim_end = 0; /* nothing to claim before the limit below */
	vjl_start(v, wps, nwps > 1 ? nwps : 0);
	ahead = emit ? VJL_AHEAD * (v->nwk ? v->nwk : 1) : v->nparts;
	pthread_mutex_lock(&v->mu);
	v->claim_end = !v->nwk ? 0 : ahead < v->nparts ? ahead : v->nparts;
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	for (size_t i = 0; i < v->nparts && !rc; i++) {
		struct vjl_part *p = &v->parts[i];

		if (!v->nwk) {
			vjl_build(v, p, wps[0], &v->rbuf);
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
		if (v->in_src) {
			rc = vjl_over_src(v, i, out, &stream);
			if (rc == 1) {
				rc = 0;
				goto next;
			}
			if (rc) {
				spot_err_set(err, "cannot write the view: %s",
					     strerror(-rc));
				break;
			}
		}
		if (emit && !stream &&
		    out->buf.len + p->buf.len > req->emit_after) {
			stream = true; /* grown past the memory allowed */
			rc = req->emit(req->emit_arg, out->buf.p, out->buf.len);
			spot_buf_fini(&out->buf);
		}
		if (stream && !rc)
			rc = req->emit(req->emit_arg, p->buf.p, p->buf.len);
		if (rc) {
			spot_err_set(err, "cannot write the view: %s",
				     strerror(-rc));
			break;
		}
		if (!stream && !out->buf.len && !v->whole) {
			spot_buf_fini(&out->buf);
			out->buf = p->buf; /* no copy */
			spot_buf_init(&p->buf);
		} else if (!stream &&
			   spot_buf_append(&out->buf, p->buf.p, p->buf.len)) {
			spot_err_set(err, "out of memory");
			rc = -ENOMEM;
		}
	next:
		if (emit) {
			pthread_mutex_lock(&v->mu);
			if (v->nwk && v->claim_end && v->claim_end < v->nparts)
				v->claim_end++;
			pthread_cond_broadcast(&v->cv);
			pthread_mutex_unlock(&v->mu);
		}
		vjl_pool_put(v, p);
		out->rows_in += p->st.rows_in;
		out->rows_out += p->st.rows_out;
	}
	vjl_stop(v);
	if (!rc && v->in_src) {
		/* The view is src's first wpos bytes: keep only those. */
		uint8_t *np = realloc(v->src.p, v->wpos + 1);

		if (np) {
			v->src.p = np;
			v->src.cap = v->wpos + 1;
		}
		v->src.len = v->wpos;
		v->src.p[v->wpos] = 0;
		spot_buf_fini(&out->buf);
		out->buf = v->src;
		spot_buf_init(&v->src);
	}
	return rc;
}

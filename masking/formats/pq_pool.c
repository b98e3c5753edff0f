/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_pool.c - rebuilding row groups on several threads. Workers claim row
 * groups in file order and build them (pq_build.c) with their own plan and
 * their own copy of the masked-column table, so no transform state, Lua
 * state or type flag is shared; the view is laid out by the caller, in
 * order, as results arrive. After a failure no new row group is claimed;
 * the ones already claimed finish, so the first failing row group in file
 * order is the one reported, as in a build on one thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pq_view_i.h"

/* One row group's result. */
struct pq_rgres {
	struct pq_chunk_wr *w; /* one per leaf, or NULL */
	uint64_t kept;
	int rc;
	bool done;
	struct spot_err err;
};

struct pq_worker {
	struct pq_pool *pool;
	const struct pipe_plan *plan;
	struct pq_mcol *mc; /* this worker's copy */
	pthread_t tid;
	bool started;
};

struct pq_pool {
	const struct pq_file *f;
	int fd;
	size_t nmc;
	uint64_t *first_row; /* per row group */
	struct pq_rgres *res;
	struct pq_worker *wk;
	size_t nwk;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t next; /* next row group to claim */
	bool stop;
	struct spot_progress *prog; /* the caller's, for its workers */
};

/* Build row group g into its result slot (any thread). */
static void pq_pool_build(struct pq_pool *p, struct pq_worker *wk, size_t g)
{
	struct pq_rgres *r = &p->res[g];
	size_t n = p->f->m->nleaves, k;

	r->w = calloc(n + 1, sizeof(*r->w));
	if (!r->w) {
		spot_err_set(&r->err, "parquet: out of memory");
		r->rc = -ENOMEM;
		return;
	}
	r->rc = pq_build_rowgroup(p->f, p->fd, g, p->first_row[g], wk->plan,
				  wk->mc, p->nmc, r->w, &r->kept, &r->err);
	/* Pending results hold only what the view will keep. */
	for (k = 0; !r->rc && k < n; k++)
		pq_chunk_wr_trim(&r->w[k]);
}

static void *pq_worker_main(void *arg)
{
	struct pq_worker *wk = arg;
	struct pq_pool *p = wk->pool;
	size_t g;

	spot_progress_cur = p->prog;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		if (p->stop || p->next >= p->f->m->nrgs) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		g = p->next++;
		pthread_mutex_unlock(&p->mu);
		pq_pool_build(p, wk, g);
		pthread_mutex_lock(&p->mu);
		p->res[g].done = true;
		if (p->res[g].rc)
			p->stop = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

/* A copy of mc whose transforms are plan's (bound to the same columns). */
static struct pq_mcol *pq_mc_copy(const struct pq_mcol *mc, size_t nmc,
				  const struct pipe_plan *plan)
{
	struct pq_mcol *c = calloc(nmc ? nmc : 1, sizeof(*c));
	size_t i, j;

	if (!c)
		return NULL;
	for (i = 0; i < nmc; i++) {
		c[i] = mc[i];
		for (j = 0; j < plan->nxf && plan->xf[j].col != mc[i].col; j++)
			;
		if (j == plan->nxf) {
			free(c);
			return NULL;
		}
		c[i].xf = &plan->xf[j];
	}
	return c;
}

int pq_pool_start(struct pq_pool **out, const struct pq_file *f, int fd,
		  const struct pipe_plan *const *plans, size_t nplans,
		  size_t nthreads, const struct pq_mcol *mc, size_t nmc)
{
	struct pq_pool *p = calloc(1, sizeof(*p));
	size_t nrgs = f->m->nrgs, g, i;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->f = f;
	p->fd = fd;
	p->nmc = nmc;
	p->prog = spot_progress_cur;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->first_row = calloc(nrgs + 1, sizeof(*p->first_row));
	p->res = calloc(nrgs + 1, sizeof(*p->res));
	/* Worker 0 builds on the caller's thread when there are no threads. */
	p->nwk = nthreads < nplans ? nthreads : nplans;
	if (nrgs < p->nwk)
		p->nwk = nrgs;
	p->wk = calloc(p->nwk + 1, sizeof(*p->wk));
	if (!p->first_row || !p->res || !p->wk)
		goto nomem;
	for (g = 1; g < nrgs; g++)
		p->first_row[g] = p->first_row[g - 1] +
				  (uint64_t)f->m->rgs[g - 1].num_rows;
	for (i = 0; i < (p->nwk ? p->nwk : 1); i++) {
		p->wk[i].pool = p;
		p->wk[i].plan = plans[i];
		p->wk[i].mc = pq_mc_copy(mc, nmc, plans[i]);
		if (!p->wk[i].mc)
			goto nomem;
	}
	for (i = 0; i < p->nwk; i++) {
		if (pthread_create(&p->wk[i].tid, NULL, pq_worker_main,
				   &p->wk[i]))
			break;
		p->wk[i].started = true;
	}
	/* Fewer threads than asked (or none) still finish the build. */
	if (p->nwk && !p->wk[0].started)
		p->nwk = 0;
	*out = p;
	return 0;
nomem:
	*out = p;
	pq_pool_stop(p, NULL);
	*out = NULL;
	return -ENOMEM;
}

int pq_pool_take(struct pq_pool *p, size_t g, struct pq_chunk_wr **w,
		 uint64_t *kept, struct spot_err *err)
{
	struct pq_rgres *r = &p->res[g];

	if (!p->nwk) {
		pq_pool_build(p, &p->wk[0], g);
		r->done = true;
	}
	pthread_mutex_lock(&p->mu);
	while (!r->done)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	if (r->rc) {
		*err = r->err;
		return r->rc;
	}
	*w = r->w;
	*kept = r->kept;
	r->w = NULL; /* the caller's now */
	return 0;
}

void pq_pool_stop(struct pq_pool *p, struct pq_mcol *mc)
{
	size_t i, k, g;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nwk; i++)
		if (p->wk[i].started)
			pthread_join(p->wk[i].tid, NULL);
	/* Type changes any worker found apply to the next attempt. */
	for (i = 0; p->wk && i < (p->nwk ? p->nwk : 1); i++) {
		for (k = 0; mc && p->wk[i].mc && k < p->nmc; k++) {
			mc[k].to_string |= p->wk[i].mc[k].to_string;
			mc[k].to_optional |= p->wk[i].mc[k].to_optional;
		}
		free(p->wk[i].mc);
	}
	for (g = 0; p->res && g < p->f->m->nrgs; g++) {
		for (k = 0; p->res[g].w && k < p->f->m->nleaves; k++)
			pq_chunk_wr_fini(&p->res[g].w[k]);
		free(p->res[g].w);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->wk);
	free(p->res);
	free(p->first_row);
	free(p);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_methods.c - cells per second of each built-in masking method on one
 * core (issue 12: at least 10 million for hash, mask, partial, redact and
 * email). Not a test: it checks nothing but that every method succeeds.
 *
 *   bench_methods [-n CELLS] [-r RUNS] [METHOD...]
 *
 * Two measurements per method, each the median of RUNS (default 5) runs on
 * CELLS (default 1,000,000) cells of 20 bytes (pii: 100-byte text, issue
 * 13's target of 2 million cells/s; fpe:
 * 16-digit numbers, issue 13's target of 2 million FF1 cells/s; round: 6-digit
 * integers; shift and truncate: 20-byte timestamps):
 *   apply  msk_apply on every cell, output to one reused buffer: the method
 *          alone
 *   csv    a one-column CSV of those cells in a memfd, masked with
 *          view_build_csv on the calling thread (read, parse, mask, write
 *          the view in memory): the first read of a mount without FUSE
 * Times are the thread's CPU time (user + system, page faults included):
 * cells per CPU second is cells per second per core, and other jobs on the
 * shared machine do not count. Methods run interleaved (run 1 of every
 * method, then run 2...), so a drift spreads over all of them. Prints a
 * markdown table on stdout.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "methods.h"
#include "pipe.h"
#include "spot.h"
#include "view.h"

#define BM_CELL 20
#define BM_PII_CELL 100
#define BM_DIGITS_CELL 16
#define BM_INT_CELL 6
#define BM_ENTITY_LEN 8 /* shift per: an id such as "P0012345" */
#define BM_RUNS_MAX 50

struct bm_method {
	const char *name;
	const char *params[6]; /* key, value pairs, NULL-ended */
	char kind;   /* t text, e email, n number, p pii text, d 16 digits */
	bool target; /* issue 12: >= 10M cells/s */
	const char *label; /* the row's name when not the method's */
	double min;	   /* another target, M cells/s (0: none) */
	bool per; /* shift per: the value's first 8 bytes as the entity */
};

static const struct bm_method bm_methods[] = {
	{ "hash", { NULL }, 't', true, NULL, 0, false },
	{ "mask",
	  { "pattern", "***-**-####", NULL },
	  't',
	  true,
	  NULL,
	  0,
	  false },
	{ "partial", { "keep_last", "4", NULL }, 't', true, NULL, 0, false },
	{ "redact", { NULL }, 't', true, NULL, 0, false },
	{ "email", { NULL }, 'e', true, NULL, 0, false },
	{ "keep", { NULL }, 't', false, NULL, 0, false },
	{ "tokenize", { NULL }, 't', false, NULL, 0, false },
	{ "fake", { "kind", "name", NULL }, 't', false, NULL, 2, false },
	{ "fake",
	  { "kind", "address", "locale", "de", NULL },
	  't',
	  false,
	  "fake de address",
	  2,
	  false },
	{ "fake",
	  { "kind", "iban", "locale", "fr", NULL },
	  't',
	  false,
	  "fake fr iban",
	  2,
	  false },
	{ "noise", { NULL }, 'n', false, NULL, 0, false },
	{ "pii", { NULL }, 'p', false, NULL, 2, false },
	{ "pii",
	  { "replace", "hash", NULL },
	  'p',
	  false,
	  "pii replace: hash",
	  2,
	  false },
	{ "fpe", { NULL }, 'd', false, NULL, 2, false },
	{ "fpe", { "luhn", "true", NULL }, 'd', false, "fpe luhn", 2, false },
	{ "hash",
	  { "group", "customer", NULL },
	  't',
	  false,
	  "hash group",
	  0,
	  false },
	{ "round",
	  { "step", "5", "max", "90000", NULL },
	  'i',
	  true,
	  NULL,
	  0,
	  false },
	{ "shift", { "max", "30d", NULL }, 'D', true, "shift per", 0, true },
	{ "shift", { "max", "30d", NULL }, 'D', false, "shift cell", 0, false },
	{ "truncate", { "to", "hour", NULL }, 'D', false, NULL, 0, false },
	{ "scramble", { NULL }, 't', false, NULL, 0, false },
};

/* One method's inputs: cells back to back, and the CSV of them. */
struct bm_data {
	uint8_t *cells;
	size_t cell_len, n;
	int csv_fd;
	size_t csv_len;
};

struct bm_bind {
	bool per;
	struct msk_rule *rule;
	const struct msk_keys *keys;
	struct spot_buf tmp;
	struct pipe_xform xf;
	struct pipe_plan plan;
};

static uint64_t bm_rng = 0x9e3779b97f4a7c15ull;

static uint64_t bm_next(void)
{
	/* xorshift64*: fixed seed, the same cells every run */
	bm_rng ^= bm_rng >> 12;
	bm_rng ^= bm_rng << 25;
	bm_rng ^= bm_rng >> 27;
	return bm_rng * 0x2545f4914f6cdd1dull;
}

static double bm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One 20-byte (or 100-byte) cell of the kind; never needs CSV quotes. */
static void bm_cell(char kind, uint8_t *c, size_t len)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t i;

	for (i = 0; i < len; i++)
		c[i] = (uint8_t)al[bm_next() % 36];
	if (kind == 'i') { /* "123456" */
		for (i = 0; i < len; i++)
			c[i] = (uint8_t)('0' + bm_next() % 10);
		c[0] = (uint8_t)('1' + bm_next() % 9);
	} else if (kind == 'D') { /* "2024-02-27T08:15:00Z" */
		char ts[32];

		snprintf(ts, sizeof(ts), "%04u-%02u-%02uT%02u:%02u:%02uZ",
			 (unsigned)(1950 + bm_next() % 70),
			 (unsigned)(1 + bm_next() % 12),
			 (unsigned)(1 + bm_next() % 28),
			 (unsigned)(bm_next() % 24), (unsigned)(bm_next() % 60),
			 (unsigned)(bm_next() % 60));
		memcpy(c, ts, len);
	} else if (kind == 'd') {
		for (i = 0; i < len; i++)
			c[i] = (uint8_t)('0' + bm_next() % 10);
	} else if (kind == 'e') {
		/* "abcdefghij@exmpl.com": 10-byte local part */
		memcpy(c + 10, "@exmpl.com", 10);
	} else if (kind == 'n') {
		/* "1234567890123.456789" */
		for (i = 0; i < len; i++)
			c[i] = (uint8_t)('0' + bm_next() % 10);
		c[0] = (uint8_t)('1' + bm_next() % 9);
		c[13] = '.';
	} else if (kind == 'p') {
		/* Words and, in one cell of four, an email and a phone. */
		for (i = 5; i < len; i += 6)
			c[i] = ' ';
		if (bm_next() % 4 == 0) {
			memcpy(c + 20, "ann.lee@example.org", 19);
			memcpy(c + 60, "+1 415 555 0134", 15);
		}
	}
}

static int bm_data_make(char kind, size_t n, struct bm_data *d)
{
	size_t len = kind == 'p'   ? BM_PII_CELL
		     : kind == 'd' ? BM_DIGITS_CELL
		     : kind == 'i' ? BM_INT_CELL
				   : BM_CELL,
	       i;
	uint8_t *w;

	memset(d, 0, sizeof(*d));
	d->cell_len = len;
	d->n = n;
	d->csv_fd = -1;
	d->cells = malloc(n * len);
	d->csv_len = 2 + n * (len + 1);
	if (!d->cells)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		bm_cell(kind, d->cells + i * len, len);
	/* The CSV: header "c", then one cell per line. */
	d->csv_fd = memfd_create("bench_methods", 0);
	if (d->csv_fd < 0 || ftruncate(d->csv_fd, (off_t)d->csv_len))
		return -errno;
	w = mmap(NULL, d->csv_len, PROT_WRITE, MAP_SHARED, d->csv_fd, 0);
	if (w == MAP_FAILED)
		return -errno;
	memcpy(w, "c\n", 2);
	for (i = 0; i < n; i++) {
		memcpy(w + 2 + i * (len + 1), d->cells + i * len, len);
		w[2 + i * (len + 1) + len] = '\n';
	}
	munmap(w, d->csv_len);
	return 0;
}

static void bm_data_free(struct bm_data *d)
{
	free(d->cells);
	if (d->csv_fd >= 0)
		close(d->csv_fd);
}

/* msk_apply on every cell; seconds, or -1. */
static double bm_apply(const struct msk_rule *r, const struct msk_keys *k,
		       const struct bm_data *d, bool per)
{
	struct msk_cell cell = { "bench.csv", "c", 0, NULL, 0 };
	struct spot_buf out;
	enum pipe_type t;
	double t0, t1;
	size_t i;
	int rc = 0;

	spot_buf_init(&out);
	t0 = bm_now();
	for (i = 0; i < d->n && !rc; i++) {
		cell.row = i;
		if (per) { /* an 8-byte entity id: the value's head */
			cell.entity = d->cells + i * d->cell_len;
			cell.entity_len = BM_ENTITY_LEN;
		}
		spot_buf_reset(&out);
		rc = msk_apply(r, k, &cell, d->cells + i * d->cell_len,
			       d->cell_len, PIPE_TEXT, &out, &t);
	}
	t1 = bm_now();
	spot_buf_fini(&out);
	return rc ? -1 : t1 - t0;
}

/* The column transform of a YAML rule (as policy/plan.c binds it). */
static int bm_col_fn(void *arg, struct pipe_batch *b, size_t col,
		     struct spot_err *err)
{
	struct bm_bind *bb = arg;
	struct msk_cell cell = { "bench.csv", "c", 0, NULL, 0 };

	for (size_t r = 0; r < b->nrows; r++) {
		const struct pipe_cell *in = &b->in[r * b->ncols + col];
		enum pipe_type ot;
		int rc;

		if (!b->keep[r])
			continue;
		cell.row = b->first_row + r;
		if (bb->per) {
			cell.entity = in->p;
			cell.entity_len = BM_ENTITY_LEN;
		}
		spot_buf_reset(&bb->tmp);
		rc = msk_apply(bb->rule, bb->keys, &cell, in->p, in->len,
			       (enum pipe_type)in->type, &bb->tmp, &ot);
		if (!rc)
			rc = pipe_batch_set(b, r, col, bb->tmp.p, bb->tmp.len,
					    ot);
		if (rc) {
			spot_err_set(err, "method failed: %d", rc);
			return rc;
		}
	}
	return 0;
}

static int bm_bind_fn(void *arg, const struct pipe_col *cols, size_t ncols,
		      const struct pipe_plan **plan, struct spot_err *err)
{
	struct bm_bind *bb = arg;

	(void)cols;
	(void)err;
	memset(&bb->xf, 0, sizeof(bb->xf));
	memset(&bb->plan, 0, sizeof(bb->plan));
	if (ncols != 1)
		return -EINVAL;
	bb->xf.col = 0;
	bb->xf.fn = bm_col_fn;
	bb->xf.arg = bb;
	bb->plan.xf = &bb->xf;
	/* keep: no transform at all, as plan.c does for keep */
	bb->plan.nxf = bb->rule->method == MSK_KEEP ? 0 : 1;
	*plan = &bb->plan;
	return 0;
}

/* view_build_csv of the one-column CSV; seconds, or -1. */
static double bm_csv(struct msk_rule *r, const struct msk_keys *k,
		     const struct bm_data *d, bool per)
{
	struct bm_bind bb = { .rule = r, .keys = k, .per = per };
	struct pipe_stats st;
	struct spot_err err;
	struct spot_buf out;
	double t0, t1;
	int rc;

	spot_buf_init(&out);
	spot_buf_init(&bb.tmp);
	t0 = bm_now();
	rc = view_build_csv(d->csv_fd, ',', bm_bind_fn, &bb, &out, &st, &err);
	t1 = bm_now();
	if (rc)
		fprintf(stderr, "bench_methods: %s: %s\n",
			msk_method_name(r->method), err.msg);
	else if (st.rows_out != d->n)
		rc = -EIO;
	spot_buf_fini(&out);
	spot_buf_fini(&bb.tmp);
	return rc ? -1 : t1 - t0;
}

static int bm_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double bm_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bm_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	static const uint8_t secret[32] = "bench_methods: a fixed secret.";
	size_t nm = SPOT_ARRAY_SIZE(bm_methods), n = 1000000, runs = 5, i, j;
	bool want[SPOT_ARRAY_SIZE(bm_methods)];
	double ta[SPOT_ARRAY_SIZE(bm_methods)][BM_RUNS_MAX];
	double tc[SPOT_ARRAY_SIZE(bm_methods)][BM_RUNS_MAX];
	struct bm_data data[SPOT_ARRAY_SIZE(bm_methods)];
	struct msk_rule rules[SPOT_ARRAY_SIZE(bm_methods)];
	struct msk_keys *keys;
	struct spot_err err;
	bool any = false;
	int c;

	while ((c = getopt(argc, argv, "n:r:")) != -1) {
		if (c == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (c == 'r')
			runs = strtoul(optarg, NULL, 10);
		else
			goto usage;
	}
	if (!n || !runs || runs > BM_RUNS_MAX)
		goto usage;
	for (i = 0; i < nm; i++) {
		want[i] = optind == argc;
		for (int a = optind; a < argc; a++)
			want[i] |= !strcmp(argv[a], bm_methods[i].name) ||
				   (bm_methods[i].label &&
				    !strcmp(argv[a], bm_methods[i].label));
		any |= want[i];
	}
	if (!any)
		goto usage;
	if (msk_keys_new(secret, sizeof(secret), &keys)) {
		fprintf(stderr, "bench_methods: no keys\n");
		return 1;
	}
	for (i = 0; i < nm; i++) {
		const struct bm_method *m = &bm_methods[i];
		enum msk_method e;

		if (!want[i])
			continue;
		if (msk_method_parse(m->name, &e))
			return 1;
		msk_rule_init(&rules[i], e);
		for (j = 0; m->params[j]; j += 2)
			if (msk_rule_set(&rules[i], m->params[j],
					 m->params[j + 1], &err))
				return 1;
		if (bm_data_make(m->kind, n, &data[i])) {
			fprintf(stderr, "bench_methods: no memory\n");
			return 1;
		}
	}
	for (j = 0; j < runs; j++) {
		for (i = 0; i < nm; i++) {
			if (!want[i])
				continue;
			ta[i][j] = bm_apply(&rules[i], keys, &data[i],
					    bm_methods[i].per);
			tc[i][j] = bm_csv(&rules[i], keys, &data[i],
					  bm_methods[i].per);
			if (ta[i][j] < 0 || tc[i][j] < 0) {
				fprintf(stderr, "bench_methods: %s failed\n",
					bm_methods[i].name);
				return 1;
			}
		}
	}
	printf("| method | cell | msk_apply, M cells/s | CSV view build, M "
	       "cells/s | target (M cells/s, one core) |\n");
	printf("|---|--:|--:|--:|---|\n");
	for (i = 0; i < nm; i++) {
		const struct bm_method *m = &bm_methods[i];
		char goal[64];
		double a, b;

		if (!want[i])
			continue;
		a = (double)n / bm_median(ta[i], runs) / 1e6;
		b = (double)n / bm_median(tc[i], runs) / 1e6;
		if (m->min > 0)
			snprintf(goal, sizeof(goal), ">= %g: %s", m->min,
				 b >= m->min ? "met" : "**not met**");
		else
			snprintf(goal, sizeof(goal), "%s",
				 !m->target ? "(reference)"
				 : b >= 10  ? ">= 10: met"
					    : ">= 10: **not met**");
		printf("| %s | %zu B | %.1f | %.1f | %s |\n",
		       m->label ? m->label : m->name, data[i].cell_len, a, b,
		       goal);
		msk_rule_fini(&rules[i]);
		bm_data_free(&data[i]);
	}
	printf("\n%zu cells per method, median of %zu runs, one thread, "
	       "cells per second of the thread's CPU time.\n",
	       n, runs);
	msk_keys_free(keys);
	return 0;
usage:
	fprintf(stderr, "usage: bench_methods [-n CELLS] [-r RUNS] "
			"[METHOD...]\n");
	return 2;
}

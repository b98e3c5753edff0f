/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_export.c - the export review's throughput on one core (issue 14:
 * at least 100 MB/s of CSV). Not a test: it checks nothing but that the
 * review succeeds and finds nothing in clean data.
 *
 *   bench_export [-m MB] [-r RUNS] [-w WIDTH]
 *
 * -w 6: the served rows had 6 cells, so every 7-cell row of the result is
 * also looked up with each cell left out (the worst case of the row-copy
 * check: a result one column wider than a dataset).
 *
 * A recorder holding 1,000,000 raw values and 1,000,000 served-row
 * fingerprints of one dataset; a CSV of MB megabytes (default 100) in
 * memory, rows like a result table: an id, a name, a hash, a city, a
 * count, an amount and a sentence of free text. Each run reviews the whole
 * file (tokenise cells and words, look every one up in the raw-value set,
 * run the PII detectors over text cells, fingerprint every row, check
 * counts); the time is the thread's CPU time. Prints the median of RUNS
 * (default 5) as MB/s (10^6 bytes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "export_review.h"
#include "export_set.h"

#define BX_RUNS_MAX 50

static double bx_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bx_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct cfg cfg = { 0 };
	struct cfg_dataset ds = { 0 };
	struct xrv_opts o = { 5, 0.01, false };
	struct xrv_result *res = malloc(sizeof(*res));
	double t[BX_RUNS_MAX];
	size_t mb = 100, runs = 5, len = 0, cap, width = 0;
	struct xrec *r;
	char *csv, v[64];
	int opt;

	while ((opt = getopt(argc, argv, "m:r:w:")) != -1) {
		if (opt == 'm')
			mb = strtoul(optarg, NULL, 10);
		else if (opt == 'r')
			runs = strtoul(optarg, NULL, 10);
		else if (opt == 'w')
			width = strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (!res || sodium_init() < 0 || !mb || !runs || runs > BX_RUNS_MAX)
		return 2;
	ds.name = (char *)"people.csv";
	cfg.datasets = &ds;
	cfg.ndatasets = 1;
	if (xrec_new(&cfg, &r))
		return 1;
	if (width)
		xrec_width_add(r, 0, width);
	for (unsigned i = 0; i < 1000000; i++) {
		uint64_t fp;
		int n = snprintf(v, sizeof(v), "person%u@example.org", i);

		xrec_raw_add(r, (const uint8_t *)v, (size_t)n);
		randombytes_buf(&fp, sizeof(fp));
		xset_add(xrec_row_set(r, 0), fp);
	}
	cap = mb * 1000000 + 256;
	csv = malloc(cap);
	if (!csv)
		return 1;
	len = (size_t)snprintf(csv, cap,
			       "id,name,key,city,count,amount,comment\n");
	for (unsigned i = 0; len + 200 < cap; i++)
		len += (size_t)snprintf(
			csv + len, cap - len,
			"%u,Customer %u,%08x%08x,City %u,%u,%u.%02u,\"the "
			"order was shipped in week %u, as planned\"\n",
			i, i % 50000, i * 2654435761u, i ^ 0x5bd1e995u, i % 97,
			10 + i % 1000, 100 + i % 9000, i % 100, i % 52);
	for (size_t k = 0; k < runs; k++) {
		double t0 = bx_cpu();

		if (xrv_review(r, &cfg, &o, "result.csv", (uint8_t *)csv, len,
			       res) ||
		    res->total) {
			fprintf(stderr, "review failed or found %llu\n",
				(unsigned long long)res->total);
			return 1;
		}
		t[k] = bx_cpu() - t0;
	}
	qsort(t, runs, sizeof(t[0]), bx_cmp);
	printf("export review: %.1f MB of CSV (%llu rows), median of %zu "
	       "runs: %.3f s CPU, %.0f MB/s on one core\n",
	       (double)len / 1e6, (unsigned long long)res->rows, runs,
	       t[runs / 2], (double)len / 1e6 / t[runs / 2]);
	free(csv);
	free(res);
	xrec_free(r);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench_jsonl.c - the JSON Lines tokenizer on one core: MB/s of a file
 * tokenized and validated line by line (every record, every leaf, the
 * duplicate-key check), as the view build's two passes do; the paths are
 * discovered in a first run and looked up read-only in the timed ones.
 *
 *   bench_jsonl FILE [RUNS]     prints the median MB/s (10^6 bytes)
 */
#include "jsonl.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parse every line; the number of records, or -1 on a refused line. */
static long run(struct jsonl_parser *p, const uint8_t *s, size_t len)
{
	size_t at = 0;
	long recs = 0;

	while (at < len) {
		const uint8_t *lf = memchr(s + at, '\n', len - at);
		size_t n = lf ? (size_t)(lf - s - at) : len - at;
		int rc = jsonl_parse(p, s + at, n);

		if (rc < 0)
			return -1;
		recs += rc;
		at += n + 1;
	}
	return recs;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct jsonl_paths *t = NULL;
	struct jsonl_parser *add = NULL, *ro = NULL;
	int runs = argc > 2 ? atoi(argv[2]) : 5, fd;
	double mbs[64];
	struct stat sb;
	uint8_t *s;
	long recs;

	if (argc < 2 || runs < 1 || runs > 64) {
		fprintf(stderr, "usage: bench_jsonl FILE [RUNS <= 64]\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &sb) || !sb.st_size) {
		perror(argv[1]);
		return 1;
	}
	s = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (s == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (jsonl_paths_new(&t) || jsonl_parser_new(t, true, &add) ||
	    jsonl_parser_new(t, false, &ro))
		return 1;
	recs = run(add, s, (size_t)sb.st_size); /* discovery; warms the cache */
	if (recs < 0) {
		fprintf(stderr, "bench_jsonl: a line is refused\n");
		return 1;
	}
	for (int i = 0; i < runs; i++) {
		double t0 = now();

		if (run(ro, s, (size_t)sb.st_size) != recs)
			return 1;
		mbs[i] = (double)sb.st_size / 1e6 / (now() - t0);
	}
	qsort(mbs, (size_t)runs, sizeof(double), cmp_d);
	printf("%ld records, %.1f MB, %u paths: median %.0f MB/s "
	       "(min %.0f, max %.0f) on one core\n",
	       recs, (double)sb.st_size / 1e6, jsonl_paths_count(t),
	       mbs[runs / 2], mbs[0], mbs[runs - 1]);
	jsonl_parser_free(ro);
	jsonl_parser_free(add);
	jsonl_paths_free(t);
	munmap(s, (size_t)sb.st_size);
	close(fd);
	return 0;
}

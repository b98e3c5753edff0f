/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fsbench - the file-system micro benchmarks behind tests/bench/run.
 *
 * One program for every target (native disk, fuse-overlayfs, gocryptfs,
 * spotfs) so each runs exactly the same system calls. Every command prints
 * one number on stdout (plus nothing else) and exits 0, or prints a reason
 * on stderr and exits 1.
 *
 *   fsbench seqwrite FILE MIB       write MIB MiB in 1 MiB write()s, fsync;
 *                                   prints MB/s (10^6 bytes/s, fsync included)
 *   fsbench seqread FILE            read to EOF in 1 MiB read()s; MB/s
 *   fsbench fill FILE MIB           like seqwrite, prints nothing (setup)
 *   fsbench randwrite FILE MIB SEC  buffered 4 KiB pwrite()s at random
 *                                   4 KiB-aligned offsets of an existing
 *                                   MIB MiB file for SEC seconds, then one
 *                                   fsync; prints IOPS (fsync included)
 *   fsbench meta DIR N              create (+ write 100 bytes, close) N
 *                                   files, stat each, unlink each; prints
 *                                   ops/s with 3 ops per file
 *   fsbench readall FILE            read to EOF in 1 MiB read()s; prints
 *                                   "SECONDS BYTES"
 *
 * Built by tests/bench/run into /tmp; not part of the meson build.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FSB_CHUNK (1u << 20)
#define FSB_PAGE 4096u

static double fsb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fsb_fail(const char *what, const char *path)
{
	fprintf(stderr, "fsbench: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

/* xorshift64: cheap, deterministic, good enough for offsets and filler. */
static uint64_t fsb_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Incompressible filler so no layer can shortcut zero pages. */
static unsigned char *fsb_buffer(size_t len)
{
	unsigned char *b = malloc(len);
	uint64_t s = 0x9e3779b97f4a7c15ull, v;
	size_t i;

	if (!b)
		return NULL;
	for (i = 0; i + 8 <= len; i += 8) {
		v = fsb_rand(&s);
		memcpy(b + i, &v, 8);
	}
	return b;
}

static int fsb_write_all(int fd, const unsigned char *b, size_t len)
{
	ssize_t n;
	size_t off = 0;

	while (off < len) {
		n = write(fd, b + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* Write mib MiB then fsync; *secs gets the elapsed time. */
static int fsb_seqwrite(const char *path, long mib, double *secs)
{
	unsigned char *b = fsb_buffer(FSB_CHUNK);
	double t0;
	int fd, rc = 1;
	long i;

	if (!b)
		return fsb_fail("malloc", path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		rc = fsb_fail("open", path);
		goto out;
	}
	t0 = fsb_now();
	for (i = 0; i < mib; i++) {
		b[0] = (unsigned char)i; /* no two chunks alike */
		if (fsb_write_all(fd, b, FSB_CHUNK) < 0) {
			rc = fsb_fail("write", path);
			goto out_close;
		}
	}
	if (fsync(fd) < 0) {
		rc = fsb_fail("fsync", path);
		goto out_close;
	}
	*secs = fsb_now() - t0;
	rc = 0;
out_close:
	if (close(fd) < 0 && rc == 0)
		rc = fsb_fail("close", path);
out:
	free(b);
	return rc;
}

/* Read to EOF; *secs and *bytes get elapsed time and size. */
static int fsb_readall(const char *path, double *secs, uint64_t *bytes)
{
	unsigned char *b = malloc(FSB_CHUNK);
	double t0;
	ssize_t n;
	int fd, rc = 1;

	if (!b)
		return fsb_fail("malloc", path);
	*bytes = 0;
	t0 = fsb_now();
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		rc = fsb_fail("open", path);
		goto out;
	}
	for (;;) {
		n = read(fd, b, FSB_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = fsb_fail("read", path);
			goto out_close;
		}
		if (n == 0)
			break;
		*bytes += (uint64_t)n;
	}
	*secs = fsb_now() - t0;
	rc = 0;
out_close:
	close(fd);
out:
	free(b);
	return rc;
}

static int fsb_randwrite(const char *path, long mib, double dur)
{
	unsigned char *b = fsb_buffer(FSB_PAGE);
	uint64_t s = 0x2545f4914f6cdd1dull, pages, ops = 0;
	double t0, t;
	off_t off;
	int fd, rc = 1;

	if (!b)
		return fsb_fail("malloc", path);
	pages = (uint64_t)mib * (1u << 20) / FSB_PAGE;
	fd = open(path, O_WRONLY);
	if (fd < 0) {
		rc = fsb_fail("open", path);
		goto out;
	}
	t0 = fsb_now();
	for (;;) {
		off = (off_t)(fsb_rand(&s) % pages) * FSB_PAGE;
		b[0] = (unsigned char)ops;
		if (pwrite(fd, b, FSB_PAGE, off) != (ssize_t)FSB_PAGE) {
			rc = fsb_fail("pwrite", path);
			goto out_close;
		}
		ops++;
		if ((ops & 255) == 0 && fsb_now() - t0 >= dur)
			break;
	}
	if (fsync(fd) < 0) {
		rc = fsb_fail("fsync", path);
		goto out_close;
	}
	t = fsb_now() - t0;
	printf("%.0f\n", (double)ops / t);
	rc = 0;
out_close:
	close(fd);
out:
	free(b);
	return rc;
}

static int fsb_meta(const char *dir, long n)
{
	static const char small[100] = "spotfs bench small file";
	char path[4096];
	struct stat st;
	double t0;
	long i;
	int fd;

	t0 = fsb_now();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%06ld", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			return fsb_fail("create", path);
		if (fsb_write_all(fd, (const unsigned char *)small,
				  sizeof(small)) < 0) {
			close(fd);
			return fsb_fail("write", path);
		}
		if (close(fd) < 0)
			return fsb_fail("close", path);
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%06ld", dir, i);
		if (stat(path, &st) < 0)
			return fsb_fail("stat", path);
		if (st.st_size != (off_t)sizeof(small)) {
			errno = EIO;
			return fsb_fail("size check", path);
		}
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%06ld", dir, i);
		if (unlink(path) < 0)
			return fsb_fail("unlink", path);
	}
	printf("%.0f\n", 3.0 * (double)n / (fsb_now() - t0));
	return 0;
}

static int fsb_usage(void)
{
	fprintf(stderr, "usage: fsbench seqwrite|fill FILE MIB | seqread FILE"
			" | randwrite FILE MIB SEC | meta DIR N"
			" | readall FILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	uint64_t bytes;
	double secs;

	if (argc < 3)
		return fsb_usage();
	if (!strcmp(argv[1], "seqwrite") && argc == 4) {
		if (fsb_seqwrite(argv[2], atol(argv[3]), &secs))
			return 1;
		printf("%.1f\n",
		       (double)atol(argv[3]) * 1048576.0 / secs / 1e6);
		return 0;
	}
	if (!strcmp(argv[1], "fill") && argc == 4)
		return fsb_seqwrite(argv[2], atol(argv[3]), &secs);
	if (!strcmp(argv[1], "seqread") && argc == 3) {
		if (fsb_readall(argv[2], &secs, &bytes))
			return 1;
		printf("%.1f\n", (double)bytes / secs / 1e6);
		return 0;
	}
	if (!strcmp(argv[1], "readall") && argc == 3) {
		if (fsb_readall(argv[2], &secs, &bytes))
			return 1;
		printf("%.6f %llu\n", secs, (unsigned long long)bytes);
		return 0;
	}
	if (!strcmp(argv[1], "randwrite") && argc == 5)
		return fsb_randwrite(argv[2], atol(argv[3]), atof(argv[4]));
	if (!strcmp(argv[1], "meta") && argc == 4)
		return fsb_meta(argv[2], atol(argv[3]));
	return fsb_usage();
}

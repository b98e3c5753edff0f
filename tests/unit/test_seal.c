/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_seal.c - the encrypted block store: round trips against a model,
 * holes, truncation, large offsets, tampering (bit flips, swapped, replayed
 * and cut blocks), no plaintext on disk, removal, concurrent writers.
 *
 *   test_seal            the unit tests (TAP)
 *   test_seal --bench [MiB] [block_size] [cipher]   in-process benchmark
 */
#include "seal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static char base[256];
static int store_seq;

static void store_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/store%d", base, store_seq++);
}

/*
 * Tests that attack backing files need every file on disk at once; the
 * small-file memfds are covered by test_small_files_in_memory.
 */
static struct seal_store *open_store(uint32_t bs, enum seal_cipher c,
				     char *path, size_t plen)
{
	struct seal_opts o = { .block_size = bs,
			       .cipher = c,
			       .disk_only = true };
	struct seal_store *s = NULL;

	store_path(path, plen);
	if (seal_store_open(path, &o, &s))
		return NULL;
	return s;
}

/* Backing file path of f. */
static void backing(const char *dir, const struct seal_file *f, char *buf,
		    size_t len)
{
	snprintf(buf, len, "%s/%s", dir, seal_file_name(f));
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* ---- round trips against an in-memory model ---- */

#define MODEL_MAX (1u << 20)

static bool model_check(struct seal_file *f, const uint8_t *model, size_t size)
{
	uint8_t *buf = malloc(MODEL_MAX + 100);
	bool ok;
	ssize_t n;

	n = seal_file_pread(f, buf, MODEL_MAX + 100, 0);
	ok = n == (ssize_t)size && !memcmp(buf, model, size) &&
	     seal_file_size(f) == (off_t)size;
	free(buf);
	return ok;
}

static void test_model(uint32_t bs, enum seal_cipher c)
{
	uint8_t *model = calloc(1, MODEL_MAX), *buf = malloc(MODEL_MAX);
	char path[300];
	struct seal_store *s = open_store(bs, c, path, sizeof(path));
	struct seal_file *f = NULL;
	size_t size = 0;
	int i, bad = -1;

	CHECK(s && !seal_file_create(s, &f), "open store bs=%u cipher=%s", bs,
	      s ? seal_store_cipher_name(s) : "?");
	if (!f)
		goto out;
	for (i = 0; i < 3000 && bad < 0; i++) {
		uint64_t op = rng() % 10, off = rng() % (MODEL_MAX / 2);
		size_t len = (size_t)(rng() % (rng() % 4 ? 3 * bs : 70000)) + 1;
		size_t j;

		if (op < 6) {
			for (j = 0; j < len; j++)
				buf[j] = (uint8_t)rng();
			if (seal_file_pwrite(f, buf, len, (off_t)off) !=
			    (ssize_t)len)
				bad = i;
			memcpy(model + off, buf, len);
			if (off + len > size)
				size = off + len;
		} else if (op < 8) {
			ssize_t n = seal_file_pread(f, buf, len, (off_t)off);
			size_t want = off >= size	 ? 0
				      : size - off < len ? size - off
							 : len;

			if (n != (ssize_t)want ||
			    memcmp(buf, model + off, want))
				bad = i;
		} else {
			size_t ns = (size_t)(rng() % (MODEL_MAX / 2));

			if (seal_file_truncate(f, (off_t)ns))
				bad = i;
			if (ns < size)
				memset(model + ns, 0, size - ns);
			size = ns;
		}
	}
	CHECK(bad < 0,
	      "3000 random writes/reads/truncates match the model "
	      "(first bad op %d)",
	      bad);
	CHECK(model_check(f, model, size), "final contents match the model");
	CHECK(seal_file_blocks(f) <= ((size + bs - 1) / bs) * (bs / 512),
	      "st_blocks bounded by the size");
out:
	seal_store_close(s, true);
	free(model);
	free(buf);
}

/* ---- boundaries, holes, truncation, large offsets ---- */

static void test_edges(void)
{
	char path[300];
	struct seal_store *s =
		open_store(4096, SEAL_CIPHER_AUTO, path, sizeof(path));
	struct seal_file *f = NULL;
	uint8_t buf[20000], zero[20000] = { 0 };
	const off_t big = ((off_t)5 << 30) + 123;
	struct stat st;
	int i, ok = 1;

	if (!s || seal_file_create(s, &f)) {
		CHECK(0, "edges: store");
		return;
	}
	/* Writes straddling each block boundary, checked byte-exact. */
	for (i = 0; i < 3; i++) {
		off_t o = 4096 * (i + 1) - 1 + i;
		uint8_t w[5000], r[5000];

		memset(w, 'a' + i, sizeof(w));
		ok &= seal_file_pwrite(f, w, 4097, o) == 4097;
		ok &= seal_file_pread(f, r, 4097, o) == 4097 &&
		      !memcmp(r, w, 4097);
	}
	CHECK(ok, "writes straddling block boundaries read back");
	CHECK(seal_file_truncate(f, 0) == 0 && seal_file_size(f) == 0 &&
		      seal_file_blocks(f) == 0,
	      "truncate to 0 frees every block");
	/* A hole before data reads as zeros and costs nothing. */
	memset(buf, 'x', 10);
	CHECK(seal_file_pwrite(f, buf, 10, 1 << 20) == 10, "write at 1 MiB");
	CHECK(seal_file_pread(f, buf, sizeof(buf), 4096) == sizeof(buf) &&
		      !memcmp(buf, zero, sizeof(buf)),
	      "hole reads as zeros");
	CHECK(seal_file_blocks(f) == 8, "one block allocated (%llu units)",
	      (unsigned long long)seal_file_blocks(f));
	/* Truncate down inside a block, then up: the tail must be zeros. */
	memset(buf, 'y', 10000);
	seal_file_truncate(f, 0);
	CHECK(seal_file_pwrite(f, buf, 10000, 0) == 10000, "write 10000");
	CHECK(seal_file_truncate(f, 5000) == 0 && seal_file_size(f) == 5000,
	      "truncate down to 5000");
	CHECK(seal_file_pread(f, buf, sizeof(buf), 0) == 5000,
	      "read stops at the new size");
	CHECK(seal_file_truncate(f, 12000) == 0 &&
		      seal_file_pread(f, buf, sizeof(buf), 0) == 12000 &&
		      buf[4999] == 'y' && !memcmp(buf + 5000, zero, 7000),
	      "truncate up exposes zeros, not old bytes");
	CHECK(seal_file_pread(f, buf, 10, 12000) == 0, "read at EOF is 0");
	CHECK(seal_file_pread(f, buf, 10, -1) == -EINVAL, "negative offset");
	/* Punch a hole. */
	memset(buf, 'z', 20000);
	CHECK(seal_file_pwrite(f, buf, 20000, 0) == 20000, "write 20000");
	CHECK(seal_file_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				  100, 12000) == 0,
	      "punch hole");
	CHECK(seal_file_pread(f, buf, 20000, 0) == 20000 && buf[99] == 'z' &&
		      !memcmp(buf + 100, zero, 12000) && buf[12100] == 'z' &&
		      seal_file_size(f) == 20000,
	      "punched range reads as zeros, the rest is kept");
	CHECK(seal_file_blocks(f) == 8 * 4, "punched whole blocks are freed");
	CHECK(seal_file_fallocate(f, 0, 0, 30000) == 0 &&
		      seal_file_size(f) == 30000,
	      "fallocate mode 0 extends");
	CHECK(seal_file_fallocate(f, FALLOC_FL_COLLAPSE_RANGE, 0, 4096) ==
		      -EOPNOTSUPP,
	      "unsupported fallocate mode");
	/* Beyond 4 GiB: 64-bit offsets, sparse on disk. */
	CHECK(seal_file_pwrite(f, "far-marker", 10, big) == 10 &&
		      seal_file_size(f) == big + 10,
	      "write at 5 GiB");
	CHECK(seal_file_pread(f, buf, 10, big) == 10 &&
		      !memcmp(buf, "far-marker", 10),
	      "read at 5 GiB");
	CHECK(seal_file_pread(f, buf, 4096, (off_t)4 << 30) == 4096 &&
		      !memcmp(buf, zero, 4096),
	      "hole at 4 GiB");
	backing(path, f, (char *)buf, sizeof(buf));
	CHECK(stat((char *)buf, &st) == 0 && st.st_blocks * 512 < (1 << 20),
	      "backing file stays sparse (%lld bytes allocated)",
	      (long long)st.st_blocks * 512);
	CHECK(seal_file_pwrite(f, "x", 1, SEAL_FILE_SIZE_MAX) == -EFBIG,
	      "write past the size limit is EFBIG");
	CHECK(seal_file_truncate(f, 3) == 0 && seal_file_blocks(f) == 8,
	      "truncate from 5 GiB");
	CHECK(seal_file_fsync(f, true) == 0 && seal_file_fsync(f, false) == 0,
	      "fsync");
	seal_file_destroy(f);
	CHECK(seal_store_bytes(s) == 0, "destroy returns the store's bytes");
	seal_store_close(s, true);
}

/* ---- tampering ---- */

static int tamper_fd(const char *dir, struct seal_file *f)
{
	char p[400];

	backing(dir, f, p, sizeof(p));
	return open(p, O_RDWR);
}

static void test_tamper(enum seal_cipher c)
{
	char path[300];
	struct seal_store *s = open_store(4096, c, path, sizeof(path));
	const size_t stride = 4096 + 40;
	uint8_t buf[3 * 4096], a[4136], b[4136], old[4136];
	struct seal_file *f = NULL;
	int fd, i;

	if (!s || seal_file_create(s, &f)) {
		CHECK(0, "tamper: store");
		return;
	}
	for (i = 0; i < 3; i++)
		memset(buf + 4096 * i, 'A' + i, 4096);
	seal_file_pwrite(f, buf, sizeof(buf), 0);
	fd = tamper_fd(path, f);
	CHECK(fd >= 0 && fstat(fd, &(struct stat){ 0 }) == 0 &&
		      lseek(fd, 0, SEEK_END) == (off_t)(3 * stride),
	      "backing file holds 3 blocks of nonce+ciphertext+tag (%s)",
	      seal_store_cipher_name(s));

	/* Flip one ciphertext byte of block 1. */
	pread(fd, a, 1, stride + 100);
	a[0] ^= 1;
	pwrite(fd, a, 1, stride + 100);
	CHECK(seal_file_pread(f, buf, 4096, 4096) == -EIO,
	      "flipped byte gives EIO");
	CHECK(seal_file_pread(f, buf, 100, 0) == 100 && buf[0] == 'A',
	      "other blocks still read");
	a[0] ^= 1;
	pwrite(fd, a, 1, stride + 100);
	CHECK(seal_file_pread(f, buf, 4096, 4096) == 4096 && buf[0] == 'B',
	      "restored byte reads again");

	/* Every byte of the nonce field counts, also the 12 AES-GCM's nonce
	 * leaves out (found by fuzz_seal). */
	for (i = 0; i < 24; i++) {
		pread(fd, a, 1, stride + i);
		a[0] ^= 0x80;
		pwrite(fd, a, 1, stride + i);
		if (seal_file_pread(f, buf, 4096, 4096) != -EIO)
			break;
		a[0] ^= 0x80;
		pwrite(fd, a, 1, stride + i);
	}
	CHECK(i == 24, "a flipped nonce-field byte gives EIO (%s, byte %d)",
	      seal_store_cipher_name(s), i);
	CHECK(seal_file_pread(f, buf, 4096, 4096) == 4096 && buf[0] == 'B',
	      "restored nonce field reads again");

	/* Swap blocks 0 and 2. */
	pread(fd, a, stride, 0);
	pread(fd, b, stride, 2 * stride);
	pwrite(fd, b, stride, 0);
	pwrite(fd, a, stride, 2 * stride);
	CHECK(seal_file_pread(f, buf, 4096, 0) == -EIO &&
		      seal_file_pread(f, buf, 4096, 8192) == -EIO,
	      "swapped blocks give EIO");
	pwrite(fd, a, stride, 0);
	pwrite(fd, b, stride, 2 * stride);

	/* Replay an older version of block 0. */
	pread(fd, old, stride, 0);
	seal_file_pwrite(f, "new", 3, 0);
	CHECK(seal_file_pread(f, buf, 3, 0) == 3 && !memcmp(buf, "new", 3),
	      "rewritten block reads");
	pwrite(fd, old, stride, 0);
	CHECK(seal_file_pread(f, buf, 3, 0) == -EIO,
	      "replayed block gives EIO");
	CHECK(seal_file_pwrite(f, "x", 1, 10) == -EIO,
	      "partial write over a replayed block gives EIO");

	/* Cut the backing file inside block 2. */
	CHECK(ftruncate(fd, 2 * stride + 10) == 0, "cut backing file");
	CHECK(seal_file_pread(f, buf, 4096, 8192) == -EIO,
	      "read past the cut gives EIO");
	CHECK(seal_file_pread(f, buf, 4096, 4096) == 4096,
	      "block before the cut still reads");
	close(fd);
	seal_store_close(s, true);
}

/* ---- no plaintext on disk, store removal ---- */

static bool file_has(const char *path, const char *needle)
{
	size_t nl = strlen(needle), n;
	static uint8_t data[1 << 21];
	bool hit = false;
	FILE *fp = fopen(path, "rb");

	if (!fp)
		return false;
	n = fread(data, 1, sizeof(data), fp);
	fclose(fp);
	for (size_t i = 0; i + nl <= n && !hit; i++)
		hit = !memcmp(data + i, needle, nl);
	return hit;
}

static void test_no_plaintext(void)
{
	static const char *const markers[] = { "SPOTFS-MARKER-alpha-7731",
					       "personal-data:jane@example.org",
					       "ZZZZZZZZZZZZZZZZZZZZ" };
	char path[300], p[600], zeros[8192] = { 0 };
	struct seal_store *s =
		open_store(0, SEAL_CIPHER_AUTO, path, sizeof(path));
	struct seal_file *f[3] = { NULL };
	int i, hits = 0, names_ok = 1, nfiles = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;

	for (i = 0; s && i < 3; i++) {
		size_t ml = strlen(markers[i]);
		int k;

		if (seal_file_create(s, &f[i]))
			break;
		for (k = 0; k < 200; k++)
			seal_file_pwrite(f[i], markers[i], ml,
					 (off_t)(k * (ml + 13)));
		seal_file_pwrite(f[i], zeros, sizeof(zeros), 100000);
	}
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700,
	      "store folder is mode 0700");
	d = opendir(path);
	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		nfiles++;
		names_ok &=
			strlen(de->d_name) == SEAL_NAME_LEN &&
			strspn(de->d_name, "0123456789abcdef") == SEAL_NAME_LEN;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		for (i = 0; i < 3; i++)
			hits += file_has(p, markers[i]);
	}
	if (d)
		closedir(d);
	CHECK(nfiles == 3 && names_ok, "store holds 3 opaque hex names only");
	CHECK(hits == 0, "no marker string in any stored byte (%d hits)", hits);
	CHECK(seal_store_bytes(s) > 0, "store counts ciphertext bytes");
	seal_file_destroy(f[0]);
	seal_store_close(s, true);
	CHECK(stat(path, &st) == -1 && errno == ENOENT,
	      "close(remove) leaves no folder");

	/* A stale store after a crash: gc removes it. */
	s = open_store(0, SEAL_CIPHER_AUTO, path, sizeof(path));
	p[0] = 0;
	if (s && !seal_file_create(s, &f[0])) {
		seal_file_pwrite(f[0], "x", 1, 0);
		snprintf(p, sizeof(p), "%s/%s", path, seal_file_name(f[0]));
	}
	seal_store_close(s, false);
	CHECK(stat(p, &st) == 0 && st.st_size > 0,
	      "close(keep) leaves the folder and its ciphertext");
	snprintf(p, sizeof(p), "%s/foreign.txt", path);
	fclose(fopen(p, "w"));
	CHECK(seal_store_remove_dir(path) == -ENOTEMPTY,
	      "gc leaves foreign files and reports ENOTEMPTY");
	unlink(p);
	snprintf(p, sizeof(p), "%s/link", base);
	symlink(path, p);
	CHECK(seal_store_remove_dir(p) == -ELOOP ||
		      seal_store_remove_dir(p) == -ENOTDIR,
	      "gc refuses a symlink");
	CHECK(seal_store_open(p, NULL, &s) == -EEXIST,
	      "open refuses an existing symlink");
	unlink(p);
	CHECK(seal_store_remove_dir(path) == 0 && stat(path, &st) == -1,
	      "gc removes the stale store");
	CHECK(mkdir(path, 0700) == 0 && seal_store_open(path, NULL, &s) == 0,
	      "open accepts an existing empty private folder");
	seal_store_close(s, true);
	mkdir(path, 0755);
	CHECK(seal_store_open(path, NULL, &s) == -EEXIST,
	      "open refuses a folder readable by others");
	rmdir(path);
	{
		struct seal_opts o = { .block_size = 3000 };

		CHECK(seal_store_open(path, &o, &s) == -EINVAL,
		      "bad block size is EINVAL");
	}
}

/* ---- concurrent writers on one file ---- */

#define CW_CHUNK 1000
#define CW_ROUNDS 400

struct cw_arg {
	struct seal_file *f;
	int t;
	int errors;
};

static void *cw_run(void *p)
{
	struct cw_arg *a = p;
	uint8_t buf[CW_CHUNK], rd[CW_CHUNK];
	int r;

	memset(buf, 'a' + a->t, sizeof(buf));
	for (r = 0; r < CW_ROUNDS; r++) {
		off_t off = (off_t)(r * 4 + a->t) * CW_CHUNK;

		if (seal_file_pwrite(a->f, buf, CW_CHUNK, off) != CW_CHUNK)
			a->errors++;
		if (seal_file_pread(a->f, rd, CW_CHUNK, off) != CW_CHUNK ||
		    memcmp(rd, buf, CW_CHUNK))
			a->errors++;
	}
	return NULL;
}

/* A destroyed file's backing file is emptied and reused under a new key. */
static void test_recycle(void)
{
	char path[300], buf[64] = { 0 };
	struct seal_store *s =
		open_store(0, SEAL_CIPHER_AUTO, path, sizeof(path));
	struct seal_file *a = NULL, *b = NULL;
	char name[80] = "";
	struct stat st;
	int fd;

	if (!s || seal_file_create(s, &a))
		return;
	seal_file_pwrite(a, "RECYCLE-MARKER", 14, 0);
	snprintf(name, sizeof(name), "%s", seal_file_name(a));
	seal_file_destroy(a);
	fd = openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0 && fstatat(fd, name, &st, 0) == 0 && st.st_size == 0,
	      "a destroyed file's backing file is kept empty for reuse");
	CHECK(seal_file_create(s, &b) == 0 && !strcmp(seal_file_name(b), name),
	      "the next file reuses it");
	CHECK(b && seal_file_size(b) == 0 &&
		      seal_file_pread(b, buf, sizeof(buf), 0) == 0,
	      "the reused file starts empty");
	CHECK(b && seal_file_pwrite(b, "new", 3, 0) == 3 &&
		      seal_file_pread(b, buf, sizeof(buf), 0) == 3 &&
		      !memcmp(buf, "new", 3),
	      "and works under its new key");
	if (fd >= 0)
		close(fd);
	seal_file_destroy(b);
	seal_store_close(s, true);
	CHECK(access(path, F_OK) != 0, "closing removes pooled files too");
}

/* Small files live in memory until they grow; then they move to disk. */
static void test_small_files_in_memory(void)
{
	struct seal_opts o = { .cipher = SEAL_CIPHER_AUTO };
	struct seal_store *s = NULL;
	struct seal_file *f = NULL;
	static char big[128 * 1024];
	char path[300], file[600], buf[32];
	struct stat st;

	store_path(path, sizeof(path));
	if (seal_store_open(path, &o, &s) || seal_file_create(s, &f))
		return;
	snprintf(file, sizeof(file), "%s/%s", path, seal_file_name(f));
	CHECK(seal_file_pwrite(f, "small", 5, 0) == 5 && stat(file, &st) != 0,
	      "a small file has no backing file on disk");
	CHECK(seal_file_pread(f, buf, sizeof(buf), 0) == 5 &&
		      !memcmp(buf, "small", 5),
	      "and reads back from memory");
	memset(big, 'B', sizeof(big));
	CHECK(seal_file_pwrite(f, big, sizeof(big), 5) ==
			      (ssize_t)sizeof(big) &&
		      stat(file, &st) == 0 && st.st_size > (off_t)sizeof(big),
	      "growing past the limit moves it to a backing file");
	CHECK(seal_file_pread(f, buf, 5, 0) == 5 && !memcmp(buf, "small", 5) &&
		      seal_file_pread(f, buf, 3, 100000) == 3 &&
		      !memcmp(buf, "BBB", 3),
	      "with every byte intact");
	seal_file_destroy(f);
	seal_store_close(s, true);
	CHECK(access(path, F_OK) != 0, "and the store goes away as before");
}

static void test_concurrent(void)
{
	char path[300];
	struct seal_store *s =
		open_store(0, SEAL_CIPHER_AUTO, path, sizeof(path));
	struct seal_file *f = NULL;
	struct cw_arg args[4];
	pthread_t th[4];
	uint8_t *all;
	int t, errors = 0, bad = 0;
	size_t total = (size_t)4 * CW_ROUNDS * CW_CHUNK, i;

	if (!s || seal_file_create(s, &f)) {
		CHECK(0, "concurrent: store");
		return;
	}
	for (t = 0; t < 4; t++) {
		args[t] = (struct cw_arg){ .f = f, .t = t };
		pthread_create(&th[t], NULL, cw_run, &args[t]);
	}
	for (t = 0; t < 4; t++) {
		pthread_join(th[t], NULL);
		errors += args[t].errors;
	}
	all = malloc(total);
	CHECK(seal_file_pread(f, all, total, 0) == (ssize_t)total,
	      "read back all");
	for (i = 0; i < total; i++)
		bad += all[i] != 'a' + (int)((i / CW_CHUNK) % 4);
	CHECK(errors == 0 && bad == 0,
	      "4 threads writing interleaved unaligned chunks: %d errors, "
	      "%d wrong bytes",
	      errors, bad);
	free(all);
	seal_store_close(s, true);
}

/* ---- benchmark ---- */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int bench(size_t mib, uint32_t bs, enum seal_cipher c)
{
	const size_t chunk = 128 * 1024, n4k = 20000;
	char path[300];
	struct seal_store *s = open_store(bs, c, path, sizeof(path));
	struct seal_file *f = NULL;
	uint8_t *buf = malloc(chunk);
	double t0, tw, ts, tr, trw, trr;
	size_t i;

	if (!s || seal_file_create(s, &f) || !buf)
		return 1;
	memset(buf, 0x5a, chunk);
	t0 = now();
	for (i = 0; i < mib * 1024 * 1024 / chunk; i++)
		if (seal_file_pwrite(f, buf, chunk, (off_t)(i * chunk)) < 0)
			return 1;
	tw = now() - t0;
	seal_file_fsync(f, true);
	ts = now() - t0;
	t0 = now();
	for (i = 0; i < mib * 1024 * 1024 / chunk; i++)
		if (seal_file_pread(f, buf, chunk, (off_t)(i * chunk)) < 0)
			return 1;
	tr = now() - t0;
	t0 = now();
	for (i = 0; i < n4k; i++) {
		off_t o = (off_t)(rng() % (mib * 256)) * 4096;

		if (seal_file_pwrite(f, buf, 4096, o) != 4096)
			return 1;
	}
	trw = now() - t0;
	t0 = now();
	for (i = 0; i < n4k; i++) {
		off_t o = (off_t)(rng() % (mib * 256)) * 4096;

		if (seal_file_pread(f, buf, 4096, o) != 4096)
			return 1;
	}
	trr = now() - t0;
	printf("cipher=%s block=%u size=%zu MiB: seq write %.0f MB/s "
	       "(%.0f MB/s with fdatasync), seq read %.0f MB/s, "
	       "4K rand write %.0f IOPS, 4K rand read %.0f IOPS\n",
	       seal_store_cipher_name(s), seal_store_block_size(s), mib,
	       (double)mib * 1.048576 / tw, (double)mib * 1.048576 / ts,
	       (double)mib * 1.048576 / tr, (double)n4k / trw,
	       (double)n4k / trr);
	free(buf);
	seal_store_close(s, true);
	return 0;
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	int rc;

	snprintf(base, sizeof(base), "%s/test_seal.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(base))
		return 1;
	if (argc > 1 && !strcmp(argv[1], "--bench")) {
		rc = bench(argc > 2 ? (size_t)atoi(argv[2]) : 1024,
			   argc > 3 ? (uint32_t)atoi(argv[3]) : 0,
			   argc > 4 ? (enum seal_cipher)atoi(argv[4])
				    : SEAL_CIPHER_AUTO);
		rmdir(base);
		return rc;
	}
	test_model(4096, SEAL_CIPHER_XCHACHA20POLY1305);
	test_model(4096, SEAL_CIPHER_AUTO);
	test_model(512, SEAL_CIPHER_XCHACHA20POLY1305);
	test_model(65536, SEAL_CIPHER_AUTO);
	test_edges();
	test_tamper(SEAL_CIPHER_XCHACHA20POLY1305);
	test_tamper(SEAL_CIPHER_AUTO);
	test_no_plaintext();
	test_recycle();
	test_small_files_in_memory();
	test_concurrent();
	rmdir(base);
	return check_done();
}

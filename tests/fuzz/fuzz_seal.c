/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_seal.c - libFuzzer target for the overlay's encrypted block decoder
 * (fs/overlay/seal*.c) against tampered ciphertext. Each input describes a
 * small file (1 to 8 blocks of 512 bytes, maybe a hole, maybe a block
 * written twice) written through the store, then edits of its backing
 * bytes: flipped bytes, a cut, a block copied over another, an older
 * version of a block put back (replay), a block of another file with the
 * same plaintext at the same place. Both ciphers are fuzzed.
 *
 * The oracle: a read of a block whose stored bytes are exactly as the store
 * wrote them returns exactly its plaintext (zeros for a hole); a read of any
 * other block fails with EIO, never returns data. A read of the whole file
 * returns EIO or a prefix of the plaintext that ends before the first
 * altered block. A one-byte write into an altered block fails with EIO;
 * into an intact one it succeeds and reads back. Violations abort.
 *
 *   tests/fuzz/run 60 seal
 * Linked with fuzz_main.c it replays the files named on the command
 * line, so the unit suite runs the seed corpus.
 */
#include "seal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seal_i.h"

#define FZ_BS 512u
#define FZ_MAXB 8u
#define FZ_MAXOPS 16u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct seal_store *fz_store[2];
static char fz_dir[2][64];

static void fz_fail(const char *what, unsigned blk)
{
	fprintf(stderr, "fuzz_seal: oracle failed: %s (block %u)\n", what, blk);
	abort();
}

static void fz_close(void)
{
	for (int i = 0; i < 2; i++)
		seal_store_close(fz_store[i], true);
}

/* The store for cipher i (0: XChaCha20-Poly1305, 1: AES-256-GCM if the
 * CPU has it, else XChaCha again), opened once in a temporary folder. */
static struct seal_store *fz_get_store(unsigned i)
{
	struct seal_opts o = { .block_size = FZ_BS };

	if (fz_store[i])
		return fz_store[i];
	/* Every refused block is logged (file id and block number, one line
	 * each, at error level, which cannot be turned off). */
	if (!fz_store[0] && !fz_store[1])
		atexit(fz_close);
	snprintf(fz_dir[i], sizeof(fz_dir[i]), "/tmp/fuzz_seal.%d.%u",
		 (int)getpid(), i);
	o.cipher = i ? SEAL_CIPHER_AES256GCM : SEAL_CIPHER_XCHACHA20POLY1305;
	if (seal_store_open(fz_dir[i], &o, &fz_store[i])) {
		o.cipher = SEAL_CIPHER_XCHACHA20POLY1305;
		if (seal_store_open(fz_dir[i], &o, &fz_store[i]))
			abort();
	}
	return fz_store[i];
}

static void fz_pread(int fd, uint8_t *p, size_t n, off_t off, size_t *got)
{
	ssize_t r = pread(fd, p, n, off);

	*got = r > 0 ? (size_t)r : 0;
}

static void fz_pwrite(int fd, const uint8_t *p, size_t n, off_t off)
{
	if (pwrite(fd, p, n, off) != (ssize_t)n)
		abort();
}

/* Write [lo, hi) of pt to f, skipping the hole block (if any). */
static void fz_write(struct seal_file *f, const uint8_t *pt, size_t lo,
		     size_t hi, int hole)
{
	size_t hlo = hole < 0 ? hi : (size_t)hole * FZ_BS, hhi = hlo + FZ_BS;

	if (lo < hlo && seal_file_pwrite(f, pt + lo, (hlo < hi ? hlo : hi) - lo,
					 (off_t)lo) !=
				(ssize_t)((hlo < hi ? hlo : hi) - lo))
		abort();
	if (hhi < hi && seal_file_pwrite(f, pt + hhi, hi - hhi, (off_t)hhi) !=
				(ssize_t)(hi - hhi))
		abort();
	if (seal_file_size(f) < (off_t)hi && seal_file_truncate(f, (off_t)hi))
		abort();
}

struct fz_case {
	struct seal_file *f, *g; /* the file under test, its twin */
	unsigned nb;		 /* blocks */
	size_t size;		 /* plaintext bytes */
	int hole;		 /* the unwritten block, or -1 */
	uint8_t pt[FZ_MAXB * FZ_BS];
	size_t stride;
	uint8_t orig[FZ_MAXB * (FZ_BS + SEAL_OVERHEAD)]; /* as written */
	size_t orig_len;
	uint8_t old[FZ_MAXB * (FZ_BS + SEAL_OVERHEAD)]; /* before rewrite */
	size_t old_len;
	uint8_t twin[FZ_MAXB * (FZ_BS + SEAL_OVERHEAD)]; /* g's bytes */
	size_t twin_len;
	uint8_t cur[FZ_MAXB * (FZ_BS + SEAL_OVERHEAD)];
	size_t cur_len;
};

static struct fz_case fc;

/* Apply one edit (4 input bytes) to the backing bytes of fc.f. */
static void fz_edit(const uint8_t *op)
{
	size_t len = 0, pos = (size_t)op[1] | (size_t)op[2] << 8;
	size_t a = op[1] % fc.nb, b = op[2] % fc.nb;
	uint8_t blk[FZ_BS + SEAL_OVERHEAD];
	int fd = fc.f->fd;

	fz_pread(fd, fc.cur, sizeof(fc.cur), 0, &len);
	switch (op[0] % 5) {
	case 0: /* flip bits of one byte */
		if (!len)
			return;
		pos %= len;
		blk[0] = fc.cur[pos] ^ (op[3] | 1);
		fz_pwrite(fd, blk, 1, (off_t)pos);
		break;
	case 1: /* cut the backing file */
		if (ftruncate(fd, (off_t)(len ? pos % len : 0)))
			abort();
		break;
	case 2: /* copy block a over block b */
		if ((a + 1) * fc.stride > len || (b + 1) * fc.stride > len)
			return;
		fz_pwrite(fd, fc.cur + a * fc.stride, fc.stride,
			  (off_t)(b * fc.stride));
		break;
	case 3: /* put back block a as it was before its rewrite */
		if ((a + 1) * fc.stride > fc.old_len)
			return;
		fz_pwrite(fd, fc.old + a * fc.stride, fc.stride,
			  (off_t)(a * fc.stride));
		break;
	case 4: /* block a of the twin file (same plaintext, other key) */
		if ((a + 1) * fc.stride > fc.twin_len)
			return;
		fz_pwrite(fd, fc.twin + a * fc.stride, fc.stride,
			  (off_t)(a * fc.stride));
		break;
	}
}

/* Whether block i's stored bytes are exactly as the store wrote them. */
static bool fz_intact(unsigned i)
{
	size_t lo = i * fc.stride;

	return lo + fc.stride <= fc.cur_len && lo + fc.stride <= fc.orig_len &&
	       !memcmp(fc.cur + lo, fc.orig + lo, fc.stride);
}

static void fz_check(void)
{
	static uint8_t buf[FZ_MAXB * FZ_BS];
	size_t first_bad = fc.size;
	ssize_t r;

	fz_pread(fc.f->fd, fc.cur, sizeof(fc.cur), 0, &fc.cur_len);
	for (unsigned i = 0; i < fc.nb; i++) {
		size_t lo = (size_t)i * FZ_BS;
		size_t want = fc.size - lo < FZ_BS ? fc.size - lo : FZ_BS;
		bool ok = (int)i == fc.hole || fz_intact(i);

		if (!ok && lo < first_bad)
			first_bad = lo;
		memset(buf, 0xA5, sizeof(buf));
		r = seal_file_pread(fc.f, buf, want, (off_t)lo);
		if (ok && (r != (ssize_t)want || memcmp(buf, fc.pt + lo, want)))
			fz_fail("an intact block did not read back", i);
		if (!ok && r != -EIO)
			fz_fail("an altered block was not refused", i);
	}
	memset(buf, 0xA5, sizeof(buf));
	r = seal_file_pread(fc.f, buf, fc.size, 0);
	if (r < 0 ? r != -EIO
		  : (size_t)r > first_bad || memcmp(buf, fc.pt, (size_t)r))
		fz_fail("a whole-file read served bytes of an altered block",
			0);
	if (r >= 0 && first_bad == fc.size && (size_t)r != fc.size)
		fz_fail("a whole-file read of an intact file was short", 0);
	/* A partial write reads the block first: refused when altered. */
	for (unsigned i = 0; i < fc.nb; i++) {
		size_t lo = (size_t)i * FZ_BS;
		bool ok = (int)i == fc.hole || fz_intact(i);
		uint8_t c = (uint8_t)~fc.pt[lo];

		fz_pread(fc.f->fd, fc.cur, sizeof(fc.cur), 0, &fc.cur_len);
		ok = (int)i == fc.hole || fz_intact(i);
		r = seal_file_pwrite(fc.f, &c, 1, (off_t)lo);
		if (ok && r != 1)
			fz_fail("a write into an intact block failed", i);
		if (!ok && r != -EIO)
			fz_fail("a write into an altered block was accepted",
				i);
		if (ok) {
			fc.pt[lo] = c;
			if (seal_file_pread(fc.f, buf, 1, (off_t)lo) != 1 ||
			    buf[0] != c)
				fz_fail("a written byte did not read back", i);
			/* The block is rewritten: its new bytes are the
			 * reference from now on. */
			fz_pread(fc.f->fd, fc.cur, sizeof(fc.cur), 0,
				 &fc.cur_len);
			if (fc.cur_len >= (i + 1) * fc.stride &&
			    fc.orig_len >= (i + 1) * fc.stride)
				memcpy(fc.orig + i * fc.stride,
				       fc.cur + i * fc.stride, fc.stride);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seal_store *s;
	uint32_t x;
	unsigned rw = 0;
	size_t i;

	if (size < 6)
		return 0;
	s = fz_get_store(data[0] & 1);
	fc.nb = 1 + ((data[0] >> 1) & 7);
	fc.size = (fc.nb - 1) * FZ_BS + 1 + (data[1] * 7u) % FZ_BS;
	fc.hole = (data[0] & 0x10) ? (int)(data[2] % fc.nb) : -1;
	fc.stride = FZ_BS + SEAL_OVERHEAD;
	x = (uint32_t)data[3] | (uint32_t)data[4] << 8 | 1u;
	for (i = 0; i < fc.size; i++) {
		x ^= x << 13; /* xorshift: cheap plaintext from the seed */
		x ^= x >> 17;
		x ^= x << 5;
		fc.pt[i] = (uint8_t)x;
	}
	if (fc.hole >= 0)
		memset(fc.pt + (size_t)fc.hole * FZ_BS, 0,
		       (size_t)fc.hole * FZ_BS + FZ_BS > fc.size
			       ? fc.size - (size_t)fc.hole * FZ_BS
			       : FZ_BS);
	if (seal_file_create(s, &fc.f) || seal_file_create(s, &fc.g))
		abort();
	fz_write(fc.g, fc.pt, 0, fc.size, fc.hole);
	fz_pread(fc.g->fd, fc.twin, sizeof(fc.twin), 0, &fc.twin_len);
	if (data[0] & 0x20) {
		/* Write once with other bytes, keep that ciphertext for the
		 * replay edit, then write the real plaintext over it. */
		for (i = 0; i < fc.size; i++)
			fc.pt[i] ^= 0x5A;
		fz_write(fc.f, fc.pt, 0, fc.size, fc.hole);
		fz_pread(fc.f->fd, fc.old, sizeof(fc.old), 0, &fc.old_len);
		for (i = 0; i < fc.size; i++)
			fc.pt[i] ^= 0x5A;
		rw = 1;
	}
	fz_write(fc.f, fc.pt, 0, fc.size, fc.hole);
	if (!rw)
		fc.old_len = 0;
	fz_pread(fc.f->fd, fc.orig, sizeof(fc.orig), 0, &fc.orig_len);
	for (i = 5; i + 4 <= size && (i - 5) / 4 < FZ_MAXOPS; i += 4)
		fz_edit(data + i);
	fz_check();
	seal_file_destroy(fc.f);
	seal_file_destroy(fc.g);
	fc.f = fc.g = NULL;
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * seal_io.c - block I/O of the encrypted store: the in-memory block version
 * map, sealing and opening one block, and pread/pwrite/truncate/fallocate.
 *
 * Whole blocks are encrypted straight from the caller's buffer into a
 * per-thread scratch buffer and written with one pwrite per batch; only the
 * first and last block of a write may need a read-modify-write. Invariant:
 * the plaintext of the last block past the logical size is zero, so growing
 * a file never reveals old bytes.
 */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "seal_i.h"

/* ---- per-thread scratch: ciphertext batch, one block in and out ---- */

struct seal_scratch {
	uint8_t *p;
	size_t cap;
};

static pthread_key_t seal_tls_key;
static pthread_once_t seal_tls_once = PTHREAD_ONCE_INIT;

static void seal_scratch_free(void *p)
{
	struct seal_scratch *sc = p;

	free(sc->p);
	free(sc);
}

static void seal_tls_init(void)
{
	if (pthread_key_create(&seal_tls_key, seal_scratch_free))
		abort(); /* only fails when the process is out of keys */
}

/* Scratch of at least need bytes for the calling thread, or NULL. */
static uint8_t *seal_scratch(size_t need)
{
	struct seal_scratch *sc;
	uint8_t *np;

	pthread_once(&seal_tls_once, seal_tls_init);
	sc = pthread_getspecific(seal_tls_key);
	if (!sc) {
		sc = calloc(1, sizeof(*sc));
		if (!sc || pthread_setspecific(seal_tls_key, sc)) {
			free(sc);
			return NULL;
		}
	}
	if (sc->cap < need) {
		np = realloc(sc->p, need);
		if (!np)
			return NULL;
		sc->p = np;
		sc->cap = need;
	}
	return sc->p;
}

/* ---- block version map: blk -> version of its last write, 0 = hole ---- */

static uint64_t seal_map_get(const struct seal_file *f, uint64_t blk)
{
	uint64_t top = blk >> (2 * SEAL_MAP_SHIFT);
	uint64_t **mid, *leaf;

	if (top >= f->nmap || !(mid = f->map[top]))
		return 0;
	leaf = mid[(blk >> SEAL_MAP_SHIFT) & (SEAL_MAP_FAN - 1)];
	return leaf ? leaf[blk & (SEAL_MAP_FAN - 1)] : 0;
}

/* The slot for blk, allocating tables as needed; NULL on ENOMEM. */
static uint64_t *seal_map_slot(struct seal_file *f, uint64_t blk)
{
	uint64_t top = blk >> (2 * SEAL_MAP_SHIFT);
	uint64_t ***mid, **leaf;

	if (top >= f->nmap) {
		size_t n = f->nmap ? f->nmap : 1;
		uint64_t ***nm;

		while (n <= top)
			n *= 2;
		nm = realloc(f->map, n * sizeof(*nm));
		if (!nm)
			return NULL;
		memset(nm + f->nmap, 0, (n - f->nmap) * sizeof(*nm));
		f->map = nm;
		f->nmap = n;
	}
	mid = &f->map[top];
	if (!*mid && !(*mid = calloc(SEAL_MAP_FAN, sizeof(**mid))))
		return NULL;
	leaf = &(*mid)[(blk >> SEAL_MAP_SHIFT) & (SEAL_MAP_FAN - 1)];
	if (!*leaf && !(*leaf = calloc(SEAL_MAP_FAN, sizeof(**leaf))))
		return NULL;
	return &(*leaf)[blk & (SEAL_MAP_FAN - 1)];
}

/* Count and free the versions of blocks >= from; returns blocks dropped. */
static uint64_t seal_map_cut(struct seal_file *f, uint64_t from)
{
	const uint64_t span = (uint64_t)SEAL_MAP_FAN * SEAL_MAP_FAN;
	uint64_t dropped = 0, t, m, i;

	for (t = from / span; t < f->nmap; t++) {
		uint64_t **mid = f->map[t];

		if (!mid)
			continue;
		for (m = 0; m < SEAL_MAP_FAN; m++) {
			uint64_t *leaf = mid[m],
				 base = t * span + m * SEAL_MAP_FAN;

			if (!leaf || base + SEAL_MAP_FAN <= from)
				continue;
			for (i = 0; i < SEAL_MAP_FAN; i++) {
				if (base + i >= from && leaf[i]) {
					leaf[i] = 0;
					dropped++;
				}
			}
			if (base >= from) {
				free(leaf);
				mid[m] = NULL;
			}
		}
		if (t * span >= from) {
			free(mid);
			f->map[t] = NULL;
		}
	}
	return dropped;
}

void seal_map_free(struct seal_file *f)
{
	seal_map_cut(f, 0);
	free(f->map);
	f->map = NULL;
	f->nmap = 0;
}

/* ---- one block ---- */

static void seal_ad(const struct seal_file *f, uint64_t blk, uint64_t ver,
		    uint8_t ad[SEAL_ID_LEN + 16])
{
	size_t i;

	memcpy(ad, f->id, SEAL_ID_LEN);
	for (i = 0; i < 8; i++) {
		ad[SEAL_ID_LEN + i] = (uint8_t)(blk >> (8 * i));
		ad[SEAL_ID_LEN + 8 + i] = (uint8_t)(ver >> (8 * i));
	}
}

/*
 * Encrypt one plaintext block into out (stride bytes). The nonce is the
 * file's random salt followed by the version: unique per write under the
 * file's own key, without a getrandom() call per block.
 */
static void seal_block_seal(const struct seal_file *f, uint64_t blk,
			    uint64_t ver, const uint8_t *pt, uint8_t *out)
{
	uint8_t ad[SEAL_ID_LEN + 16];
	uint8_t *ct = out + SEAL_NONCE_FIELD, *tag = ct + f->s->bs;
	size_t i;

	memcpy(out, f->salt, 16);
	for (i = 0; i < 8; i++)
		out[16 + i] = (uint8_t)(ver >> (8 * i));
	seal_ad(f, blk, ver, ad);
	if (f->s->cipher == SEAL_CIPHER_AES256GCM)
		crypto_aead_aes256gcm_encrypt_detached_afternm(
			ct, tag, NULL, pt, f->s->bs, ad, sizeof(ad), NULL,
			out + SEAL_NONCE_FIELD -
				crypto_aead_aes256gcm_NPUBBYTES,
			(const crypto_aead_aes256gcm_state *)(const void *)
				f->key);
	else
		crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
			ct, tag, NULL, pt, f->s->bs, ad, sizeof(ad), NULL, out,
			f->key);
}

/* Decrypt one stored block (stride bytes) into pt. 0 or -EIO (logged). */
static int seal_block_open(const struct seal_file *f, uint64_t blk,
			   uint64_t ver, const uint8_t *in, uint8_t *pt)
{
	const uint8_t *ct = in + SEAL_NONCE_FIELD, *tag = ct + f->s->bs;
	uint8_t ad[SEAL_ID_LEN + 16];
	int rc;

	seal_ad(f, blk, ver, ad);
	/*
	 * AES-GCM's nonce is the field's last 12 bytes; the first 12 are the
	 * salt's and must still be as written, so that no altered byte of a
	 * block goes unnoticed (the fuzz target's oracle, issue 17).
	 */
	if (f->s->cipher == SEAL_CIPHER_AES256GCM &&
	    sodium_memcmp(in, f->salt,
			  SEAL_NONCE_FIELD - crypto_aead_aes256gcm_NPUBBYTES)) {
		seal_log_bad_block(f, blk, "nonce field altered");
		return -EIO;
	}
	if (f->s->cipher == SEAL_CIPHER_AES256GCM)
		rc = crypto_aead_aes256gcm_decrypt_detached_afternm(
			pt, NULL, ct, f->s->bs, tag, ad, sizeof(ad),
			in + SEAL_NONCE_FIELD - crypto_aead_aes256gcm_NPUBBYTES,
			(const crypto_aead_aes256gcm_state *)(const void *)
				f->key);
	else
		rc = crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
			pt, NULL, ct, f->s->bs, tag, ad, sizeof(ad), in,
			f->key);
	if (rc) {
		seal_log_bad_block(f, blk, "authentication failed");
		return -EIO;
	}
	return 0;
}

static ssize_t seal_pread_full(int fd, uint8_t *p, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, p + got, n - got, off + (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int seal_pwrite_full(int fd, const uint8_t *p, size_t n, off_t off)
{
	size_t put = 0;

	while (put < n) {
		ssize_t r = pwrite(fd, p + put, n - put, off + (off_t)put);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		put += (size_t)r;
	}
	return 0;
}

/* Load block blk's plaintext into pt (zeros for a hole). 0 or -errno. */
static int seal_block_load(struct seal_file *f, uint64_t blk, uint8_t *ctbuf,
			   uint8_t *pt)
{
	uint64_t ver = seal_map_get(f, blk);
	ssize_t n;

	if (!ver) {
		memset(pt, 0, f->s->bs);
		return 0;
	}
	n = seal_pread_full(f->fd, ctbuf, f->s->stride,
			    (off_t)(blk * f->s->stride));
	if (n < 0)
		return (int)n;
	if ((size_t)n < f->s->stride) {
		seal_log_bad_block(f, blk, "block missing from backing file");
		return -EIO;
	}
	return seal_block_open(f, blk, ver, ctbuf, pt);
}

/* ---- read ---- */

/*
 * Read the blocks [blk0, blk0 + n) overlapping [off, off + len) into buf,
 * where buf holds the bytes from off. 0 or -errno.
 */
static int seal_read_batch(struct seal_file *f, uint8_t *sc, uint64_t blk0,
			   uint64_t n, uint8_t *buf, off_t off, size_t len)
{
	const uint64_t bs = f->s->bs, stride = f->s->stride;
	uint8_t *tmp = sc + n * stride;
	ssize_t got = 0;
	uint64_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (seal_map_get(f, blk0 + i))
			break;
	}
	if (i < n) {
		got = seal_pread_full(f->fd, sc, n * stride,
				      (off_t)(blk0 * stride));
		if (got < 0)
			return (int)got;
	}
	for (i = 0; i < n; i++) {
		uint64_t blk = blk0 + i, ver = seal_map_get(f, blk);
		uint64_t start = blk * bs, lo, hi;
		uint8_t *dst;

		lo = start > (uint64_t)off ? start : (uint64_t)off;
		hi = start + bs < (uint64_t)off + len ? start + bs
						      : (uint64_t)off + len;
		dst = buf + (lo - (uint64_t)off);
		if (!ver) {
			memset(dst, 0, hi - lo);
			continue;
		}
		if ((uint64_t)got < (i + 1) * stride) {
			seal_log_bad_block(f, blk, "block missing");
			return -EIO;
		}
		if (hi - lo == bs) {
			rc = seal_block_open(f, blk, ver, sc + i * stride, dst);
		} else {
			rc = seal_block_open(f, blk, ver, sc + i * stride, tmp);
			if (!rc)
				memcpy(dst, tmp + (lo - start), hi - lo);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * The next piece of an I/O of left bytes at pos: blocks blk0 .. blk0+n
 * (at most one batch) and the bytes of it that fall in the request.
 */
static size_t seal_span(const struct seal_file *f, uint64_t pos, size_t left,
			uint64_t *blk0, uint64_t *n)
{
	const uint64_t bs = f->s->bs;
	uint64_t last = (pos + left - 1) / bs;
	size_t chunk;

	*blk0 = pos / bs;
	*n = last - *blk0 + 1;
	if (*n > f->s->batch)
		*n = f->s->batch;
	chunk = (size_t)((*blk0 + *n) * bs - pos);
	return chunk > left ? left : chunk;
}

ssize_t seal_file_pread(struct seal_file *f, void *buf, size_t len, off_t off)
{
	const uint64_t bs = f->s->bs, stride = f->s->stride;
	size_t done = 0;
	uint8_t *sc;
	int rc = 0;

	if (off < 0)
		return -EINVAL;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	pthread_rwlock_rdlock(&f->lock);
	if (off >= f->size || !len)
		goto out;
	if ((uint64_t)len > (uint64_t)(f->size - off))
		len = (size_t)(f->size - off);
	sc = seal_scratch(f->s->batch * stride + bs);
	if (!sc) {
		rc = -ENOMEM;
		goto out;
	}
	while (done < len) {
		uint64_t pos = (uint64_t)off + done, blk0, n;
		size_t chunk = seal_span(f, pos, len - done, &blk0, &n);

		rc = seal_read_batch(f, sc, blk0, n, (uint8_t *)buf + done,
				     (off_t)pos, chunk);
		if (rc)
			break;
		done += chunk;
	}
out:
	seal_mem_account(f);
	pthread_rwlock_unlock(&f->lock);
	return done ? (ssize_t)done : rc;
}

/* ---- write ---- */

/*
 * Encrypt and write the blocks [blk0, blk0 + n) covering the bytes
 * [pos, pos + len) taken from src. f->lock held for writing. 0 or -errno;
 * on failure no version changes.
 */
static int seal_write_batch(struct seal_file *f, uint8_t *sc, uint64_t blk0,
			    uint64_t n, const uint8_t *src, uint64_t pos,
			    size_t len)
{
	const uint64_t bs = f->s->bs, stride = f->s->stride;
	uint8_t *tmpct = sc + n * stride, *tmp = tmpct + stride;
	uint64_t *slots[SEAL_BATCH_MAX];
	uint64_t i, fresh = 0;
	int rc;

	for (i = 0; i < n; i++) {
		slots[i] = seal_map_slot(f, blk0 + i);
		if (!slots[i])
			return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		uint64_t blk = blk0 + i, start = blk * bs, lo, hi;
		const uint8_t *pt;

		lo = start > pos ? start : pos;
		hi = start + bs < pos + len ? start + bs : pos + len;
		if (hi - lo == bs) {
			pt = src + (lo - pos);
		} else {
			rc = seal_block_load(f, blk, tmpct, tmp);
			if (rc)
				return rc;
			memcpy(tmp + (lo - start), src + (lo - pos), hi - lo);
			pt = tmp;
		}
		seal_block_seal(f, blk, f->wctr + 1 + i, pt, sc + i * stride);
	}
	rc = seal_pwrite_full(f->fd, sc, n * stride, (off_t)(blk0 * stride));
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		fresh += !*slots[i];
		*slots[i] = ++f->wctr;
	}
	if (fresh)
		seal_account(f, (int64_t)fresh);
	return 0;
}

ssize_t seal_file_pwrite(struct seal_file *f, const void *buf, size_t len,
			 off_t off)
{
	const uint64_t bs = f->s->bs, stride = f->s->stride;
	size_t done = 0;
	uint8_t *sc;
	int rc = 0;

	if (off < 0)
		return -EINVAL;
	if (!len)
		return 0;
	if (off >= SEAL_FILE_SIZE_MAX ||
	    len > (uint64_t)(SEAL_FILE_SIZE_MAX - off))
		return -EFBIG;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	pthread_rwlock_wrlock(&f->lock);
	rc = seal_mem_prepare(f, (uint64_t)off + len);
	if (rc)
		goto out;
	sc = seal_scratch(f->s->batch * stride + stride + bs);
	if (!sc) {
		rc = -ENOMEM;
		goto out;
	}
	while (done < len) {
		uint64_t pos = (uint64_t)off + done, blk0, n;
		size_t chunk = seal_span(f, pos, len - done, &blk0, &n);

		rc = seal_write_batch(f, sc, blk0, n,
				      (const uint8_t *)buf + done, pos, chunk);
		if (rc)
			break;
		done += chunk;
		if ((off_t)(pos + chunk) > f->size)
			__atomic_store_n(&f->size, (off_t)(pos + chunk),
					 __ATOMIC_RELAXED);
	}
out:
	seal_mem_account(f);
	pthread_rwlock_unlock(&f->lock);
	return done ? (ssize_t)done : rc;
}

/* ---- truncate, hole punching ---- */

/* Zero the bytes [from, to) inside block blk, if it holds data. */
static int seal_block_zero(struct seal_file *f, uint64_t blk, uint64_t from,
			   uint64_t to)
{
	const uint64_t bs = f->s->bs, stride = f->s->stride;
	uint8_t *sc, *pt;
	int rc;

	if (!seal_map_get(f, blk))
		return 0;
	sc = seal_scratch(2 * stride + bs);
	if (!sc)
		return -ENOMEM;
	pt = sc + 2 * stride;
	rc = seal_block_load(f, blk, sc + stride, pt);
	if (rc)
		return rc;
	memset(pt + (from - blk * bs), 0, to - from);
	return seal_write_batch(f, sc, blk, 1, pt, blk * bs, bs);
}

int seal_file_truncate(struct seal_file *f, off_t size)
{
	const uint64_t bs = f->s->bs;
	uint64_t nblk, dropped;
	int rc = 0;

	if (size < 0)
		return -EINVAL;
	if (size > SEAL_FILE_SIZE_MAX)
		return -EFBIG;
	pthread_rwlock_wrlock(&f->lock);
	if (size < f->size) {
		nblk = ((uint64_t)size + bs - 1) / bs;
		if ((uint64_t)size % bs) {
			rc = seal_block_zero(f, nblk - 1, (uint64_t)size,
					     nblk * bs);
			if (rc)
				goto out;
		}
		dropped = seal_map_cut(f, nblk);
		if (dropped)
			seal_account(f, -(int64_t)dropped);
		if (ftruncate(f->fd, (off_t)(nblk * f->s->stride))) {
			rc = -errno;
			goto out;
		}
	}
	__atomic_store_n(&f->size, size, __ATOMIC_RELAXED);
out:
	seal_mem_account(f);
	pthread_rwlock_unlock(&f->lock);
	return rc;
}

/* Zero [off, end): RMW the edge blocks, forget and punch whole ones. */
static int seal_zero_range(struct seal_file *f, uint64_t off, uint64_t end)
{
	const uint64_t bs = f->s->bs, stride = f->s->stride;
	uint64_t first = (off + bs - 1) / bs, last = end / bs, b;
	int rc;

	if (off / bs == (end - 1) / bs && (off % bs || end % bs))
		return seal_block_zero(f, off / bs, off, end);
	if (off % bs) {
		rc = seal_block_zero(f, off / bs, off, first * bs);
		if (rc)
			return rc;
	}
	if (end % bs) {
		rc = seal_block_zero(f, last, last * bs, end);
		if (rc)
			return rc;
	}
	for (b = first; b < last; b++) {
		uint64_t *slot;

		if (!seal_map_get(f, b))
			continue;
		slot = seal_map_slot(f, b);
		*slot = 0;
		seal_account(f, -1);
	}
	if (first < last &&
	    fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(first * stride),
		      (off_t)((last - first) * stride)))
		return errno == EOPNOTSUPP ? 0 : -errno;
	return 0;
}

int seal_file_fallocate(struct seal_file *f, int mode, off_t off, off_t len)
{
	const uint64_t stride = f->s->stride, bs = f->s->bs;
	uint64_t end;
	int rc = 0;

	if (off < 0 || len <= 0)
		return -EINVAL;
	if (off >= SEAL_FILE_SIZE_MAX || len > SEAL_FILE_SIZE_MAX - off)
		return -EFBIG;
	end = (uint64_t)off + (uint64_t)len;
	pthread_rwlock_wrlock(&f->lock);
	/* Reserving space is for files on disk: move a big one there. */
	rc = seal_mem_prepare(f, mode & FALLOC_FL_KEEP_SIZE ? 0 : end);
	if (rc)
		goto out;
	switch (mode) {
	case 0:
	case FALLOC_FL_KEEP_SIZE: {
		uint64_t b0 = (uint64_t)off / bs, b1 = (end + bs - 1) / bs;

		if (fallocate(f->fd, FALLOC_FL_KEEP_SIZE, (off_t)(b0 * stride),
			      (off_t)((b1 - b0) * stride)) &&
		    errno != EOPNOTSUPP) {
			rc = -errno;
			goto out;
		}
		break;
	}
	case FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE:
	case FALLOC_FL_ZERO_RANGE:
	case FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE:
		if ((uint64_t)off < (uint64_t)f->size) {
			uint64_t e = end < (uint64_t)f->size
					     ? end
					     : (uint64_t)f->size;

			rc = seal_zero_range(f, (uint64_t)off, e);
			if (rc)
				goto out;
		}
		break;
	default:
		rc = -EOPNOTSUPP;
		goto out;
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && (off_t)end > f->size)
		__atomic_store_n(&f->size, (off_t)end, __ATOMIC_RELAXED);
out:
	seal_mem_account(f);
	pthread_rwlock_unlock(&f->lock);
	return rc;
}

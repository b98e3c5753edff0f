/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * export_set.c - keyed-hash sets (exact, then Bloom) and the recorder the
 * view builds feed (see export_set.h).
 */
#include "export_set.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <sodium.h>

#include "config.h"
#include "pipe.h"

/* ---- xset ---- */

struct xset {
	pthread_mutex_t mu; /* protects everything below */
	uint64_t budget;
	uint64_t *slots; /* exact: nslots, 0 = empty; sodium_malloc */
	uint64_t nslots; /* a power of two */
	uint64_t *bits;	 /* Bloom: nbits / 64 words; sodium_malloc */
	uint64_t nbits;	 /* a power of two */
	uint64_t count;
	/*
	 * A small filter in front (two bits of one word per hash, about 8
	 * bits per value): a miss there answers without touching the large
	 * table, whose lookups are cache and TLB misses. sodium_malloc.
	 */
	uint64_t *pre;
	uint64_t npre; /* words, a power of two */
};

/* Spread h for slots and probes (splitmix64's finaliser). */
static uint64_t xset_mix(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static void xset_pre_put(uint64_t *pre, uint64_t npre, uint64_t h)
{
	uint64_t m = xset_mix(h ^ 0x2545f4914f6cdd1dull);

	pre[m & (npre - 1)] |=
		(1ull << ((m >> 52) & 63)) | (1ull << ((m >> 58) & 63));
}

static bool xset_pre_get(const uint64_t *pre, uint64_t npre, uint64_t h)
{
	uint64_t m = xset_mix(h ^ 0x2545f4914f6cdd1dull);
	uint64_t want = (1ull << ((m >> 52) & 63)) | (1ull << ((m >> 58) & 63));

	return (pre[m & (npre - 1)] & want) == want;
}

/*
 * Tables: anonymous memory, locked (mlock; a failure is logged once, as
 * libsodium's sodium_malloc does not fail on it either), out of core dumps,
 * zeroed; with transparent huge pages where the kernel allows (madvise):
 * lookups are random, and 4 KiB pages make each one a TLB miss too. Wiped
 * and unmapped by xset_mem_free. The key itself stays in sodium_malloc.
 */
#define XSET_HUGE (2ull << 20)

static uint64_t xset_mem_len(uint64_t bytes)
{
	return (bytes + XSET_HUGE - 1) & ~(XSET_HUGE - 1);
}

static void *xset_alloc(uint64_t bytes)
{
	uint64_t len = xset_mem_len(bytes);
	uint8_t *p;
	uintptr_t a;

	/* Over-allocate to align on a huge page, then trim. */
	p = mmap(NULL, len + XSET_HUGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + XSET_HUGE - 1) & ~(uintptr_t)(XSET_HUGE - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((uint8_t *)a + len, (uintptr_t)p + XSET_HUGE - a);
	p = (uint8_t *)a;
	madvise(p, len, MADV_HUGEPAGE);
	madvise(p, len, MADV_DONTDUMP);
	if (mlock(p, len)) {
		static int warned;

		if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
			spot_log(SPOT_LOG_WARN,
				 "export review: cannot lock %llu bytes of "
				 "keyed hashes in memory (%s)",
				 (unsigned long long)len, strerror(errno));
	}
	return p; /* fresh anonymous pages are zero */
}

static void xset_mem_free(void *p, uint64_t bytes)
{
	uint64_t len = xset_mem_len(bytes);

	if (!p)
		return;
	sodium_memzero(p, len);
	munlock(p, len);
	munmap(p, len);
}

int xset_new(uint64_t budget, struct xset **out)
{
	struct xset *s;

	if (budget < (64u << 10) || budget > (1ull << 40))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->budget = budget;
	s->nslots = XSET_START_SLOTS;
	s->slots = xset_alloc(s->nslots * sizeof(uint64_t));
	s->npre = s->nslots / 16; /* 8 bits per value at half load */
	s->pre = xset_alloc(s->npre * sizeof(uint64_t));
	if (!s->slots || !s->pre) {
		xset_mem_free(s->slots, s->nslots * sizeof(uint64_t));
		xset_mem_free(s->pre, s->npre * sizeof(uint64_t));
		free(s);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->mu, NULL);
	*out = s;
	return 0;
}

void xset_free(struct xset *s)
{
	if (!s)
		return;
	xset_mem_free(s->slots, s->nslots * sizeof(uint64_t)); /* wipes */
	xset_mem_free(s->bits, s->nbits / 8);
	xset_mem_free(s->pre, s->npre * sizeof(uint64_t));
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Exact insert into (slots, n) with h != 0; whether it was new. */
static bool xset_slot_put(uint64_t *slots, uint64_t n, uint64_t h)
{
	uint64_t i = xset_mix(h) & (n - 1);

	while (slots[i]) {
		if (slots[i] == h)
			return false;
		i = (i + 1) & (n - 1);
	}
	slots[i] = h;
	return true;
}

static bool xset_bloom_put(struct xset *s, uint64_t h)
{
	uint64_t a = xset_mix(h), b = xset_mix(h ^ 0x9e3779b97f4a7c15ull) | 1;
	bool fresh = false;

	for (unsigned k = 0; k < XSET_BLOOM_K; k++) {
		uint64_t bit = (a + k * b) & (s->nbits - 1);
		uint64_t m = 1ull << (bit & 63);

		if (!(s->bits[bit >> 6] & m)) {
			s->bits[bit >> 6] |= m;
			fresh = true;
		}
	}
	return fresh;
}

static bool xset_bloom_get(const struct xset *s, uint64_t h)
{
	uint64_t a = xset_mix(h), b = xset_mix(h ^ 0x9e3779b97f4a7c15ull) | 1;

	for (unsigned k = 0; k < XSET_BLOOM_K; k++) {
		uint64_t bit = (a + k * b) & (s->nbits - 1);

		if (!(s->bits[bit >> 6] & (1ull << (bit & 63))))
			return false;
	}
	return true;
}

/* The exact table is full and may not grow: become a Bloom filter. */
static int xset_to_bloom(struct xset *s)
{
	uint64_t nbits = 1;

	while (nbits * 2 <= s->budget * 8)
		nbits *= 2;
	s->bits = xset_alloc(nbits / 8);
	if (!s->bits)
		return -ENOMEM;
	s->nbits = nbits;
	for (uint64_t i = 0; i < s->nslots; i++)
		if (s->slots[i])
			xset_bloom_put(s, s->slots[i]);
	xset_mem_free(s->slots, s->nslots * sizeof(uint64_t));
	s->slots = NULL;
	s->nslots = 0;
	return 0;
}

static int xset_grow(struct xset *s)
{
	uint64_t n = s->nslots * 2, *t, *pre;

	if (n * sizeof(uint64_t) > s->budget)
		return xset_to_bloom(s);
	t = xset_alloc(n * sizeof(uint64_t));
	pre = xset_alloc(n / 16 * sizeof(uint64_t));
	if (!t || !pre) {
		xset_mem_free(t, n * sizeof(uint64_t));
		xset_mem_free(pre, n / 16 * sizeof(uint64_t));
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < s->nslots; i++)
		if (s->slots[i]) {
			xset_slot_put(t, n, s->slots[i]);
			xset_pre_put(pre, n / 16, s->slots[i]);
		}
	xset_mem_free(s->slots, s->nslots * sizeof(uint64_t));
	xset_mem_free(s->pre, s->npre * sizeof(uint64_t));
	s->slots = t;
	s->nslots = n;
	s->pre = pre;
	s->npre = n / 16;
	return 0;
}

static int xset_add_locked(struct xset *s, uint64_t h)
{
	int rc;

	h = h ? h : 1; /* 0 marks an empty slot */
	if (!s->bits && (s->count + 1) * 2 > s->nslots && (rc = xset_grow(s)))
		return rc;
	xset_pre_put(s->pre, s->npre, h);
	if (s->bits)
		s->count += xset_bloom_put(s, h);
	else
		s->count += xset_slot_put(s->slots, s->nslots, h);
	return 0;
}

int xset_add(struct xset *s, uint64_t h)
{
	return xset_add_many(s, &h, 1);
}

int xset_add_many(struct xset *s, const uint64_t *h, size_t n)
{
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < n && !rc; i++)
		rc = xset_add_locked(s, h[i]);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

bool xset_has(struct xset *s, uint64_t h)
{
	bool found = false;

	h = h ? h : 1;
	pthread_mutex_lock(&s->mu);
	if (!xset_pre_get(s->pre, s->npre, h))
		found = false;
	else if (s->bits) {
		found = xset_bloom_get(s, h);
	} else {
		uint64_t i = xset_mix(h) & (s->nslots - 1);

		while (s->slots[i] && !found) {
			found = s->slots[i] == h;
			i = (i + 1) & (s->nslots - 1);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return found;
}

void xset_has_many(struct xset *s, const uint64_t *hs, size_t n, uint8_t *out)
{
	pthread_mutex_lock(&s->mu);
	/* Every miss of a batch in flight at once, not one after another. */
	for (size_t i = 0; i < n; i++) {
		uint64_t h = hs[i] ? hs[i] : 1;
		uint64_t m = xset_mix(h ^ 0x2545f4914f6cdd1dull);

		__builtin_prefetch(&s->pre[m & (s->npre - 1)]);
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t h = hs[i] ? hs[i] : 1;

		out[i] = xset_pre_get(s->pre, s->npre, h);
		if (out[i] && !s->bits)
			__builtin_prefetch(
				&s->slots[xset_mix(h) & (s->nslots - 1)]);
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t h = hs[i] ? hs[i] : 1;
		bool found = false;

		if (!out[i])
			continue;
		if (s->bits) {
			found = xset_bloom_get(s, h);
		} else {
			uint64_t k = xset_mix(h) & (s->nslots - 1);

			while (s->slots[k] && !found) {
				found = s->slots[k] == h;
				k = (k + 1) & (s->nslots - 1);
			}
		}
		out[i] = found;
	}
	pthread_mutex_unlock(&s->mu);
}

uint64_t xset_count(struct xset *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->mu);
	n = s->count;
	pthread_mutex_unlock(&s->mu);
	return n;
}

bool xset_is_bloom(struct xset *s)
{
	bool b;

	pthread_mutex_lock(&s->mu);
	b = s->bits != NULL;
	pthread_mutex_unlock(&s->mu);
	return b;
}

double xset_fp_rate(struct xset *s)
{
	double r = 0;

	pthread_mutex_lock(&s->mu);
	if (s->bits)
		r = pow(1.0 - exp(-(double)XSET_BLOOM_K * (double)s->count /
				  (double)s->nbits),
			XSET_BLOOM_K);
	pthread_mutex_unlock(&s->mu);
	return r;
}

uint64_t xset_bytes(struct xset *s)
{
	uint64_t b;

	pthread_mutex_lock(&s->mu);
	b = (s->bits ? s->nbits / 8 : s->nslots * sizeof(uint64_t)) +
	    s->npre * sizeof(uint64_t);
	pthread_mutex_unlock(&s->mu);
	return b;
}

/* ---- xrec ---- */

struct xrec {
	const struct cfg *cfg;
	uint8_t *key; /* crypto_shorthash_KEYBYTES, sodium_malloc */
	struct xset *raw;
	struct xset **rows; /* per dataset of cfg */
	size_t nrows;
	/* per dataset: bit w set once a row of w cells was served (w below
	 * XREC_MAX_WIDTH); atomics */
	uint64_t (*widths)[XREC_MAX_WIDTH / 64];
};

void xrec_width_add(struct xrec *r, size_t i, size_t w)
{
	if (i < r->nrows && w < XREC_MAX_WIDTH)
		__atomic_fetch_or(&r->widths[i][w / 64], 1ull << (w % 64),
				  __ATOMIC_RELAXED);
}

bool xrec_row_width(const struct xrec *r, size_t i, size_t w)
{
	return i < r->nrows && w < XREC_MAX_WIDTH &&
	       (__atomic_load_n(&r->widths[i][w / 64], __ATOMIC_RELAXED) &
		(1ull << (w % 64)));
}

int xrec_new(const struct cfg *cfg, struct xrec **out)
{
	struct xrec *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->cfg = cfg;
	r->nrows = cfg ? cfg->ndatasets : 0;
	r->key = sodium_malloc(crypto_shorthash_KEYBYTES);
	r->rows = calloc(r->nrows + 1, sizeof(*r->rows));
	r->widths = calloc(r->nrows + 1, sizeof(*r->widths));
	if (!r->key || !r->rows || !r->widths ||
	    xset_new(XREC_RAW_BUDGET, &r->raw))
		goto fail;
	randombytes_buf(r->key, crypto_shorthash_KEYBYTES);
	for (size_t i = 0; i < r->nrows; i++)
		if (xset_new(XREC_ROW_BUDGET, &r->rows[i]))
			goto fail;
	*out = r;
	return 0;
fail:
	xrec_free(r);
	return -ENOMEM;
}

void xrec_free(struct xrec *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->rows && i < r->nrows; i++)
		xset_free(r->rows[i]);
	free(r->rows);
	free(r->widths);
	xset_free(r->raw);
	sodium_free(r->key);
	free(r);
}

uint64_t xrec_hash(const struct xrec *r, const uint8_t *p, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, p, len, r->key);
	memcpy(&v, h, sizeof(v));
	return v;
}

uint64_t xrec_cell_hash(const struct xrec *r, const uint8_t *p, size_t len)
{
	uint8_t n[XREC_VAL_MAX];
	size_t k = xrec_norm(p, len, n, sizeof(n));

	if (k == (size_t)-1) /* long: its first bytes */
		k = xrec_norm(p, sizeof(n), n, sizeof(n));
	if (k == (size_t)-1) /* folding made them longer (at most 3/2) */
		k = xrec_norm(p, sizeof(n) / 2, n, sizeof(n));
	return xrec_hash(r, n, k);
}

bool xrec_raw_has(struct xrec *r, const uint8_t *norm, size_t len)
{
	if (len < XREC_VAL_MIN || len > XREC_VAL_MAX)
		return false;
	return xset_has(r->raw, xrec_hash(r, norm, len));
}

int xrec_raw_add(struct xrec *r, const uint8_t *p, size_t len)
{
	uint8_t n[XREC_VAL_MAX];
	size_t k = xrec_norm(p, len, n, sizeof(n));

	if (k == (size_t)-1 || k < XREC_VAL_MIN)
		return 0;
	return xset_add(r->raw, xrec_hash(r, n, k));
}

struct xset *xrec_raw_set(struct xrec *r)
{
	return r->raw;
}

struct xset *xrec_row_set(struct xrec *r, size_t i)
{
	return i < r->nrows ? r->rows[i] : NULL;
}

size_t xrec_ndatasets(const struct xrec *r)
{
	return r->nrows;
}

#define XREC_BATCH 256 /* hashes added under one lock */

static void xrec_raw_cb(void *arg, const struct pipe_batch *b, size_t col)
{
	struct xrec *r = arg;
	uint64_t hs[XREC_BATCH];
	uint8_t n[XREC_VAL_MAX];
	size_t nh = 0;

	for (size_t row = 0; row < b->nrows; row++) {
		const struct pipe_cell *c = &b->in[row * b->ncols + col];
		size_t k;

		if (!b->keep[row] || c->type == PIPE_NULL)
			continue;
		k = xrec_norm(c->p, c->len, n, sizeof(n));
		if (k == (size_t)-1 || k < XREC_VAL_MIN)
			continue;
		hs[nh++] = xrec_hash(r, n, k);
		if (nh == XREC_BATCH) {
			xset_add_many(r->raw, hs,
				      nh); /* -ENOMEM: best effort */
			nh = 0;
		}
	}
	if (nh)
		xset_add_many(r->raw, hs, nh);
}

static void xrec_rows_cb(void *arg, const struct cfg_dataset *d,
			 const struct pipe_batch *b)
{
	struct xrec *r = arg;
	uint64_t hs[XREC_BATCH];
	size_t nh = 0, i;
	struct xset *set;

	if (!r->cfg || d < r->cfg->datasets ||
	    (i = (size_t)(d - r->cfg->datasets)) >= r->nrows)
		return;
	set = r->rows[i];
	xrec_width_add(r, i, b->ncols);
	for (size_t row = 0; row < b->nrows; row++) {
		uint64_t fp = 0;

		if (!b->keep[row])
			continue;
		for (size_t c = 0; c < b->ncols; c++) {
			const struct pipe_cell *cell =
				pipe_batch_cell(b, row, c);

			fp = xrec_row_add(fp,
					  cell->type == PIPE_NULL
						  ? xrec_cell_hash(r, NULL, 0)
						  : xrec_cell_hash(r, cell->p,
								   cell->len));
		}
		hs[nh++] = fp;
		if (nh == XREC_BATCH) {
			xset_add_many(set, hs, nh);
			nh = 0;
		}
	}
	if (nh)
		xset_add_many(set, hs, nh);
}

/* A served JSON Lines record: its leaves are the row's cells. */
static void xrec_json_cb(void *arg, const struct cfg_dataset *d,
			 const uint8_t *line, size_t len)
{
	struct xrec *r = arg;
	uint64_t fp;
	ssize_t n;
	size_t i;

	if (!r->cfg || d < r->cfg->datasets ||
	    (i = (size_t)(d - r->cfg->datasets)) >= r->nrows)
		return;
	n = xrec_json_cells(r, line, len, NULL, 0, &fp);
	if (n <= 0)
		return;
	xrec_width_add(r, i, (size_t)n);
	xset_add(r->rows[i], fp); /* -ENOMEM: best effort */
}

void xrec_hooks(struct xrec *r, struct plan_record *out)
{
	out->raw = xrec_raw_cb;
	out->rows = xrec_rows_cb;
	out->json = xrec_json_cb;
	out->arg = r;
}

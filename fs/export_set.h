/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * export_set.h - what the daemon remembers of the data it read, for the
 * export review (export.h): keyed hashes only, never a value.
 *
 * xset: a set of 64-bit keyed hashes. Exact (open addressing, load at most
 * one half) while its table fits the budget; past it the set turns into a
 * Bloom filter of budget bytes (XSET_BLOOM_K probes), whose false-positive
 * rate xset_fp_rate states. Tables live in sodium_malloc memory (locked,
 * guarded, wiped when freed). Every function locks the set's own mutex:
 * any thread.
 *
 * xrec: the sandbox's recorder. A random key (sodium_malloc) for SipHash-2-4
 * (crypto_shorthash); one set of the raw values of masked columns (what
 * the plan's masking transforms were given, plan.h's plan_record), and one
 * set per dataset of served-row fingerprints. Values are normalised before
 * hashing (xrec_norm) the same way at record and at review time.
 */
#ifndef SPOT_EXPORT_SET_H
#define SPOT_EXPORT_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "plan.h"
#include "spot.h"

#define XSET_BLOOM_K 7
#define XSET_START_SLOTS 4096
#define XREC_RAW_BUDGET (64ull << 20) /* bytes of the raw-value set */
#define XREC_ROW_BUDGET (16ull << 20) /* bytes per dataset's row set */
#define XREC_VAL_MIN 4		      /* shorter values are not recorded */
#define XREC_VAL_MAX 1024	      /* longer values are not recorded */

struct xset;

/* A set of at most budget bytes (>= 64 KiB). 0, -EINVAL or -ENOMEM. */
int xset_new(uint64_t budget, struct xset **out);
void xset_free(struct xset *s);
/* Add h. 0 or -ENOMEM (the set stays as it was). */
int xset_add(struct xset *s, uint64_t h);
/* Add n hashes under one lock. 0 or -ENOMEM. */
int xset_add_many(struct xset *s, const uint64_t *h, size_t n);
/* Whether h may be in the set (exact: is; Bloom: maybe). */
bool xset_has(struct xset *s, uint64_t h);
/* xset_has of n hashes under one lock, their memory fetched in parallel:
 * out[i] is 1 or 0. */
void xset_has_many(struct xset *s, const uint64_t *h, size_t n, uint8_t *out);
/* Distinct hashes added (a Bloom filter counts adds that set a bit). */
uint64_t xset_count(struct xset *s);
/* Whether the set is a Bloom filter now. */
bool xset_is_bloom(struct xset *s);
/* Chance that a hash never added is reported present (0 while exact). */
double xset_fp_rate(struct xset *s);
/* Bytes of locked memory held. */
uint64_t xset_bytes(struct xset *s);

struct xrec;

/* A recorder for cfg's datasets (cfg borrowed: outlives r). 0 or -ENOMEM. */
int xrec_new(const struct cfg *cfg, struct xrec **out);
void xrec_free(struct xrec *r);
/* The hooks plan_bind calls (plan.h); arg is r. */
void xrec_hooks(struct xrec *r, struct plan_record *out);

/*
 * The normal form of a value (export_norm.c): runs of white space (ASCII
 * and Unicode spaces) one ASCII space, none at the ends; byte order marks
 * and zero-width characters dropped; Latin, Greek and Cyrillic letters
 * with combining marks composed (NFC) and case-folded one to one. Writes
 * at most cap bytes to out; returns the length, or (size_t)-1 when the
 * result is longer than cap (it may be up to 3/2 of len).
 */
size_t xrec_norm(const uint8_t *p, size_t len, uint8_t *out, size_t cap);
/*
 * JSON text (export_norm.c). xrec_json_unescape: (p, len) with every JSON
 * string escape (\n, \", \u00fc, surrogate pairs) decoded into out
 * (reset first); other bytes as they are. 0 or -ENOMEM.
 * xrec_json_cells: the cells of a JSON record (a line holding an object
 * or array): xrec_cell_hash of every leaf value in order (strings
 * decoded, numbers, true and false as written, null as the empty cell;
 * keys are not cells), the first cap of them into cells (may be NULL),
 * and their row fingerprint (xrec_row_add of all) into *fp. Returns the
 * number of leaves, or -1 when the line is not an object or array. A
 * record and a CSV row of the same values have the same cells.
 */
/* The length of the UTF-8 sequence at p (p[0] >= 0x80) and its code
 * point; 0 when it is not UTF-8 (overlong, surrogate, cut short). */
size_t xrec_utf8_len(const uint8_t *p, size_t len, uint32_t *cp);
int xrec_json_unescape(const uint8_t *p, size_t len, struct spot_buf *out);
ssize_t xrec_json_cells(const struct xrec *r, const uint8_t *p, size_t len,
			uint64_t *cells, size_t cap, uint64_t *fp);
/* The keyed hash of a normalised value. */
uint64_t xrec_hash(const struct xrec *r, const uint8_t *p, size_t len);
/* A cell's hash for row fingerprints: normalised, at most its first
 * XREC_VAL_MAX bytes. p may be NULL when len is 0. */
uint64_t xrec_cell_hash(const struct xrec *r, const uint8_t *p, size_t len);
/* Whether a normalised value (XREC_VAL_MIN..MAX bytes) is a raw value. */
bool xrec_raw_has(struct xrec *r, const uint8_t *norm, size_t len);
/* Record a raw value (normalised here). For tests and the hooks. */
int xrec_raw_add(struct xrec *r, const uint8_t *p, size_t len);
/* The raw-value set (status, tests). */
struct xset *xrec_raw_set(struct xrec *r);
/*
 * Whether dataset i served a row of w cells (CSV, SQLite: its columns;
 * JSON Lines: a record's leaves). The review leaves one cell of a row
 * out only when that makes a width served (export_review.c).
 */
#define XREC_MAX_WIDTH 256
bool xrec_row_width(const struct xrec *r, size_t i, size_t w);
/* Note that dataset i served a row of w cells (the hooks; tests, bench). */
void xrec_width_add(struct xrec *r, size_t i, size_t w);
/* Dataset i's row set, or NULL. */
struct xset *xrec_row_set(struct xrec *r, size_t i);
size_t xrec_ndatasets(const struct xrec *r);

/*
 * A row fingerprint is built cell by cell: start at 0, add
 * xrec_hash(normalised cell) of every cell; the order of cells does not
 * matter (a copy with columns reordered matches).
 */
static inline uint64_t xrec_row_add(uint64_t fp, uint64_t cell_hash)
{
	return fp + cell_hash;
}

#endif /* SPOT_EXPORT_SET_H */

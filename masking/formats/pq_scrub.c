/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_scrub.c - what of a Parquet footer or page header is structural.
 *
 * A served footer holds only the fields parquet.thrift defines, each of the
 * type it defines, down to the last nested struct (pq_meta_scrub): unknown
 * fields, key/value metadata, the schema root's name and any other text
 * the producer wrote are dropped, and created_by survives only as a known
 * writer's name and version. Page and bloom filter headers served byte for
 * byte must hold nothing else either (pq_page_hdr_foreign,
 * pq_bloom_hdr_foreign): they cannot be edited in place, so a header with
 * more is refused by the layout checks.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "pq_meta.h"

enum pq_fkind {
	PK_INT, /* bool or any integer */
	PK_DOUBLE,
	PK_BIN,
	PK_STRUCT,
	PK_LIST_INT,
	PK_LIST_BIN,
	PK_LIST_STRUCT,
};

struct pq_shape;

struct pq_fshape {
	int16_t id;
	uint8_t kind; /* enum pq_fkind */
	const struct pq_shape *sub;
};

/* The fields a struct may hold. */
struct pq_shape {
	const struct pq_fshape *f;
	size_t n;
};

#define PQ_SHAPE(name, ...)                                                    \
	static const struct pq_fshape name##_f[] = { __VA_ARGS__ };            \
	static const struct pq_shape name = { name##_f,                        \
					      SPOT_ARRAY_SIZE(name##_f) }
#define I(id)                                                                  \
	{                                                                      \
		id, PK_INT, NULL                                               \
	}
#define D(id)                                                                  \
	{                                                                      \
		id, PK_DOUBLE, NULL                                            \
	}
#define B(id)                                                                  \
	{                                                                      \
		id, PK_BIN, NULL                                               \
	}
#define S(id, sh)                                                              \
	{                                                                      \
		id, PK_STRUCT, &sh                                             \
	}
#define LI(id)                                                                 \
	{                                                                      \
		id, PK_LIST_INT, NULL                                          \
	}
#define LB(id)                                                                 \
	{                                                                      \
		id, PK_LIST_BIN, NULL                                          \
	}
#define LS(id, sh)                                                             \
	{                                                                      \
		id, PK_LIST_STRUCT, &sh                                        \
	}

/* Empty structs: union members without parameters. */
static const struct pq_shape sh_empty = { NULL, 0 };

/* LogicalType and its members. */
PQ_SHAPE(sh_tunit, S(1, sh_empty), S(2, sh_empty), S(3, sh_empty));
PQ_SHAPE(sh_time, I(1), S(2, sh_tunit));
PQ_SHAPE(sh_two_ints, I(1), I(2));
PQ_SHAPE(sh_variant, I(1));
/* GEOMETRY (17) and GEOGRAPHY (18) carry a free-form crs: not kept. */
PQ_SHAPE(sh_ltype, S(1, sh_empty), S(2, sh_empty), S(3, sh_empty),
	 S(4, sh_empty), S(5, sh_two_ints), S(6, sh_empty), S(7, sh_time),
	 S(8, sh_time), S(10, sh_two_ints), S(11, sh_empty), S(12, sh_empty),
	 S(13, sh_empty), S(14, sh_empty), S(15, sh_empty), S(16, sh_variant));
/* SchemaElement: name is the column's name, served anyway. */
PQ_SHAPE(sh_schema, I(1), I(2), I(3), B(4), I(5), I(6), I(7), I(8), I(9),
	 S(10, sh_ltype));
/* Statistics: min/max are values of the chunk, served with it. */
PQ_SHAPE(sh_stats, B(1), B(2), I(3), I(4), B(5), B(6), I(7), I(8));
PQ_SHAPE(sh_enc_stats, I(1), I(2), I(3));
PQ_SHAPE(sh_size_stats, I(1), LI(2), LI(3));
PQ_SHAPE(sh_bbox, D(1), D(2), D(3), D(4), D(5), D(6), D(7), D(8));
PQ_SHAPE(sh_geo_stats, S(1, sh_bbox), LI(2));
/* ColumnMetaData without key_value_metadata (8). */
PQ_SHAPE(sh_colmeta, I(1), LI(2), LB(3), I(4), I(5), I(6), I(7), I(9), I(10),
	 I(11), S(12, sh_stats), LS(13, sh_enc_stats), I(14), I(15),
	 S(16, sh_size_stats), S(17, sh_geo_stats));
/* ColumnChunk: no file_path (1), no encryption (8, 9). */
PQ_SHAPE(sh_chunk, I(2), S(3, sh_colmeta), I(4), I(5), I(6), I(7));
PQ_SHAPE(sh_sorting, I(1), I(2), I(3));
PQ_SHAPE(sh_rowgroup, LS(1, sh_chunk), I(2), I(3), LS(4, sh_sorting), I(5),
	 I(6), I(7));
PQ_SHAPE(sh_kv, B(1), B(2));
PQ_SHAPE(sh_colorder, S(1, sh_empty));
/* FileMetaData: no encryption (8) nor footer signing key (9). */
PQ_SHAPE(sh_filemeta, I(1), LS(2, sh_schema), I(3), LS(4, sh_rowgroup),
	 LS(5, sh_kv), B(6), LS(7, sh_colorder));

/* PageHeader: statistics of a page are values of the page. */
PQ_SHAPE(sh_dph, I(1), I(2), I(3), I(4), S(5, sh_stats));
PQ_SHAPE(sh_dict_ph, I(1), I(2), I(3));
PQ_SHAPE(sh_dph2, I(1), I(2), I(3), I(4), I(5), I(6), I(7), S(8, sh_stats));
PQ_SHAPE(sh_page_hdr, I(1), I(2), I(3), I(4), S(5, sh_dph), S(6, sh_empty),
	 S(7, sh_dict_ph), S(8, sh_dph2));

/* BloomFilterHeader: numBytes and three unions of empty structs. */
PQ_SHAPE(sh_bloom_union, S(1, sh_empty));
PQ_SHAPE(sh_bloom_hdr, I(1), S(2, sh_bloom_union), S(3, sh_bloom_union),
	 S(4, sh_bloom_union));

static bool pq_scrub_is_int(uint8_t t)
{
	return t == PQ_TT_BOOL || (t >= PQ_TT_I8 && t <= PQ_TT_I64);
}

/* Whether v has the type fs declares (the elements' type for lists). */
static bool pq_scrub_type_ok(const struct pq_tval *v,
			     const struct pq_fshape *fs)
{
	switch (fs->kind) {
	case PK_INT:
		return pq_scrub_is_int(v->type);
	case PK_DOUBLE:
		return v->type == PQ_TT_DOUBLE;
	case PK_BIN:
		return v->type == PQ_TT_BINARY;
	case PK_STRUCT:
		return v->type == PQ_TT_STRUCT;
	default:
		break;
	}
	if (v->type != PQ_TT_LIST)
		return false;
	if (!v->n)
		return true;
	if (fs->kind == PK_LIST_INT)
		return pq_scrub_is_int(v->etype);
	if (fs->kind == PK_LIST_BIN)
		return v->etype == PQ_TT_BINARY;
	return v->etype == PQ_TT_STRUCT;
}

static const struct pq_fshape *pq_scrub_field(const struct pq_shape *sh,
					      int16_t id)
{
	for (size_t k = 0; k < sh->n; k++)
		if (sh->f[k].id == id)
			return &sh->f[k];
	return NULL;
}

/*
 * Drop from st every field sh does not define or whose type differs, in
 * every nested struct. True when anything was dropped. The recursion
 * follows the shapes, whose depth is fixed, never the input's.
 */
static bool pq_scrub(struct pq_tstruct *st, const struct pq_shape *sh)
{
	bool dropped = false;
	uint32_t i, j = 0, e;

	for (i = 0; i < st->n; i++) {
		struct pq_tval *v = &st->f[i].v;
		const struct pq_fshape *fs = pq_scrub_field(sh, st->f[i].id);

		if (!fs || !pq_scrub_type_ok(v, fs)) {
			dropped = true;
			continue;
		}
		if (fs->kind == PK_STRUCT)
			dropped |= pq_scrub(v->u.st, fs->sub);
		for (e = 0; fs->kind == PK_LIST_STRUCT && e < v->n; e++)
			dropped |= pq_scrub(v->u.elems[e].u.st, fs->sub);
		st->f[j++] = st->f[i];
	}
	st->n = j;
	return dropped;
}

bool pq_page_hdr_foreign(struct pq_tstruct *ph)
{
	return pq_scrub(ph, &sh_page_hdr);
}

bool pq_bloom_hdr_foreign(struct pq_tstruct *bh)
{
	return pq_scrub(bh, &sh_bloom_hdr);
}

/*
 * A LogicalType with anything unknown (a newer or a free-form member) is
 * dropped whole: readers then take the physical and converted type.
 */
static void pq_scrub_ltypes(struct pq_tstruct *root)
{
	struct pq_tval *sl = pq_tstruct_get(root, 2);
	uint32_t i;

	if (!sl || sl->type != PQ_TT_LIST ||
	    (sl->n && sl->etype != PQ_TT_STRUCT))
		return;
	for (i = 0; i < sl->n; i++) {
		struct pq_tstruct *se = sl->u.elems[i].u.st;
		struct pq_tval *lt = pq_tstruct_get(se, 10);

		if (lt && (lt->type != PQ_TT_STRUCT || lt->u.st->n != 1 ||
			   pq_scrub(lt->u.st, &sh_ltype) || !lt->u.st->n))
			pq_tstruct_del(se, 10);
	}
}

static bool pq_scrub_key_is(const struct pq_tstruct *kv, const char *key)
{
	const struct pq_tval *k = pq_tstruct_get(kv, 1);
	size_t n = strlen(key);

	return k && k->type == PQ_TT_BINARY && k->n == n &&
	       !memcmp(k->u.bin, key, n);
}

static bool pq_scrub_embedded(const struct pq_tstruct *kv)
{
	const struct pq_tval *v = pq_tstruct_get(kv, 2);

	return (pq_scrub_key_is(kv, "ARROW:schema") ||
		pq_scrub_key_is(kv, "pandas")) &&
	       v && v->type == PQ_TT_BINARY;
}

/*
 * File key/value metadata: only the embedded schemas, only if asked, and
 * only if the file holds no other key (Arrow writers copy a schema's
 * custom metadata into ARROW:schema too).
 */
static void pq_scrub_kv(struct pq_tstruct *root, bool embedded)
{
	struct pq_tval *l = pq_tstruct_get(root, 5);
	uint32_t i, j = 0;

	if (!l)
		return;
	for (i = 0; embedded && i < l->n; i++)
		embedded = pq_scrub_embedded(l->u.elems[i].u.st);
	for (i = 0; embedded && i < l->n; i++)
		l->u.elems[j++] = l->u.elems[i];
	l->n = j;
	if (!j)
		pq_tstruct_del(root, 5);
}

/* Writers readers know by name (for their statistics workarounds). */
static const char *const pq_writers[] = {
	"parquet-mr",	      "parquet-cpp", "parquet-cpp-arrow",
	"parquet-rs",	      "DuckDB",	     "impala",
	"parquet-go",	      "Polars",	     "polars",
	"fastparquet-python",
};

/*
 * created_by becomes "<writer> version <digits and dots>" when it starts
 * so with a known writer (readers use it to know which statistics to
 * trust), else it is dropped. A build id or anything after is left out.
 */
static int pq_scrub_created_by(struct spot_arena *a, struct pq_tstruct *root)
{
	static const char ver[] = " version ";
	struct pq_tval *cb = pq_tstruct_get(root, 6);
	const char *p;
	char out[80];
	size_t n, w, k, d;

	if (!cb)
		return 0;
	p = (const char *)cb->u.bin;
	n = cb->n;
	for (w = 0; w < SPOT_ARRAY_SIZE(pq_writers); w++) {
		k = strlen(pq_writers[w]);
		if (n >= k && !memcmp(p, pq_writers[w], k) &&
		    (n == k || p[k] == ' '))
			break;
	}
	if (w == SPOT_ARRAY_SIZE(pq_writers)) {
		pq_tstruct_del(root, 6);
		return 0;
	}
	memcpy(out, p, k);
	if (n >= k + sizeof(ver) - 1 && !memcmp(p + k, ver, sizeof(ver) - 1)) {
		const char *vp = p + k + sizeof(ver) - 1;
		size_t vn = n - k - (sizeof(ver) - 1);

		d = vn && vp[0] == 'v';
		while (d < vn && d < 16 &&
		       ((vp[d] >= '0' && vp[d] <= '9') || vp[d] == '.'))
			d++;
		if (d > (vn && vp[0] == 'v')) {
			memcpy(out + k, ver, sizeof(ver) - 1);
			memcpy(out + k + sizeof(ver) - 1, vp, d);
			k += sizeof(ver) - 1 + d;
		}
	}
	return pq_tstruct_set_bin(a, root, 6, out, k);
}

int pq_meta_scrub(struct spot_arena *a, struct pq_tstruct *root, bool embedded)
{
	struct pq_tval *sl;

	pq_scrub_ltypes(root);
	pq_scrub(root, &sh_filemeta);
	pq_scrub_kv(root, embedded);
	/* The schema root's name is no column's: a fixed one. */
	sl = pq_tstruct_get(root, 2);
	if (sl && sl->n &&
	    pq_tstruct_set_bin(a, sl->u.elems[0].u.st, 4, "schema", 6))
		return -ENOMEM;
	return pq_scrub_created_by(a, root);
}

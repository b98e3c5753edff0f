/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pq_meta.c - Parquet footer and page header semantics on top of the generic
 * Thrift tree: validation of untrusted footers, the schema's leaf columns,
 * column chunk ranges, and the footer edits a masked view makes.
 */
#include "pq_meta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* FileMetaData fields. */
enum { FMD_SCHEMA = 2, FMD_NUM_ROWS = 3, FMD_ROW_GROUPS = 4 };
/* SchemaElement fields. */
enum {
	SE_TYPE = 1,
	SE_TYPE_LENGTH = 2,
	SE_REPETITION = 3,
	SE_NAME = 4,
	SE_NUM_CHILDREN = 5,
	SE_CONVERTED = 6,
	SE_SCALE = 7,
	SE_PRECISION = 8,
	SE_LOGICAL = 10,
};
/* RowGroup, ColumnChunk and ColumnMetaData fields. */
enum { RG_COLUMNS = 1, RG_NUM_ROWS = 3 };
enum {
	CC_FILE_PATH = 1,
	CC_FILE_OFFSET = 2,
	CC_META = 3,
	CC_CRYPTO = 8,
	CC_ENC_META = 9,
};
enum {
	CMD_TYPE = 1,
	CMD_ENCODINGS = 2,
	CMD_PATH = 3,
	CMD_CODEC = 4,
	CMD_NUM_VALUES = 5,
	CMD_USIZE = 6,
	CMD_CSIZE = 7,
	CMD_DATA_OFF = 9,
	CMD_INDEX_OFF = 10,
	CMD_DICT_OFF = 11,
	CMD_STATS = 12,
	CMD_ENC_STATS = 13,
	CMD_BLOOM_OFF = 14,
	CMD_BLOOM_LEN = 15,
};
/* ConvertedType values used here. */
enum {
	CT_UTF8 = 0,
	CT_ENUM = 4,
	CT_DECIMAL = 5,
	CT_DATE = 6,
	CT_TIME_MILLIS = 7,
	CT_TIME_MICROS = 8,
	CT_TS_MILLIS = 9,
	CT_TS_MICROS = 10,
	CT_JSON = 19,
};

const char *pq_ptype_name(int ptype)
{
	static const char *const names[] = {
		"BOOLEAN", "INT32",  "INT64",	   "INT96",
		"FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY",
	};

	if (ptype >= 0 && ptype < (int)SPOT_ARRAY_SIZE(names))
		return names[ptype];
	return "unknown type";
}

static int pq_meta_bad(struct spot_err *err, const char *what)
{
	spot_err_set(err, "parquet: invalid footer: %s", what);
	return -EINVAL;
}

static struct pq_tval *pq_meta_list(const struct pq_tstruct *st, int16_t id,
				    uint8_t etype)
{
	struct pq_tval *v = pq_tstruct_get(st, id);

	if (!v || v->type != PQ_TT_LIST || (v->n && v->etype != etype))
		return NULL;
	return v;
}

static int64_t pq_meta_int(const struct pq_tstruct *st, int16_t id,
			   int64_t dflt)
{
	int64_t v;

	return pq_tstruct_int(st, id, &v) ? dflt : v;
}

static struct pq_tstruct *pq_meta_sub(const struct pq_tstruct *st, int16_t id)
{
	struct pq_tval *v = pq_tstruct_get(st, id);

	return v && v->type == PQ_TT_STRUCT ? v->u.st : NULL;
}

/* Logical type from the LogicalType union, else the ConvertedType. */
static void pq_meta_ltype(struct pq_leaf *l, const struct pq_tstruct *se)
{
	const struct pq_tstruct *lt = pq_meta_sub(se, SE_LOGICAL), *s;
	int64_t ct = pq_meta_int(se, SE_CONVERTED, -1);

	l->scale = (int32_t)pq_meta_int(se, SE_SCALE, 0);
	l->precision = (int32_t)pq_meta_int(se, SE_PRECISION, 0);
	l->unit = PQ_MICROS;
	if (lt && lt->n) {
		int16_t id = lt->f[0].id;

		s = lt->f[0].v.type == PQ_TT_STRUCT ? lt->f[0].v.u.st : NULL;
		if (id == 1 || id == 4 || id == 12) {
			l->ltype = PQ_LT_STRING;
		} else if (id == 5 && s) {
			l->ltype = PQ_LT_DECIMAL;
			l->scale = (int32_t)pq_meta_int(s, 1, l->scale);
			l->precision = (int32_t)pq_meta_int(s, 2, l->precision);
		} else if (id == 6) {
			l->ltype = PQ_LT_DATE;
		} else if ((id == 7 || id == 8) && s) {
			const struct pq_tstruct *u = pq_meta_sub(s, 2);

			l->ltype = id == 7 ? PQ_LT_TIME : PQ_LT_TIMESTAMP;
			l->utc = pq_meta_int(s, 1, 0) != 0;
			if (u && u->n && u->f[0].id >= 1 && u->f[0].id <= 3)
				l->unit = u->f[0].id - 1;
		} else if (id == 10) {
			l->ltype = PQ_LT_INT;
		} else if (id == 14) {
			l->ltype = PQ_LT_UUID;
		} else {
			l->ltype = PQ_LT_OTHER;
		}
		return;
	}
	switch (ct) {
	case -1:
		l->ltype = PQ_LT_NONE;
		break;
	case CT_UTF8:
	case CT_ENUM:
	case CT_JSON:
		l->ltype = PQ_LT_STRING;
		break;
	case CT_DECIMAL:
		l->ltype = PQ_LT_DECIMAL;
		break;
	case CT_DATE:
		l->ltype = PQ_LT_DATE;
		break;
	case CT_TIME_MILLIS:
	case CT_TIME_MICROS:
	case CT_TS_MILLIS:
	case CT_TS_MICROS:
		l->ltype = ct <= CT_TIME_MICROS ? PQ_LT_TIME : PQ_LT_TIMESTAMP;
		l->unit = (ct == CT_TIME_MILLIS || ct == CT_TS_MILLIS)
				  ? PQ_MILLIS
				  : PQ_MICROS;
		l->utc = true;
		break;
	default:
		l->ltype = ct >= 11 && ct <= 18 ? PQ_LT_INT : PQ_LT_OTHER;
	}
}

/* Schema walk state: one frame per open group. */
struct pq_sframe {
	int64_t left; /* children still to come */
	int16_t def, rep;
	const struct pq_tval *name;
};

static int pq_meta_leaf(struct pq_meta *m, const struct pq_tstruct *se,
			uint32_t idx, const struct pq_sframe *st, int depth,
			struct spot_err *err)
{
	struct pq_leaf *l = &m->leaves[m->nleaves];
	size_t len = 0, off = 0;
	int i;

	memset(l, 0, sizeof(*l));
	l->schema_idx = idx;
	l->depth = (uint32_t)depth;
	l->ptype = (int)pq_meta_int(se, SE_TYPE, -1);
	l->repetition = (int)pq_meta_int(se, SE_REPETITION, PQ_REQUIRED);
	l->max_def = st[depth].def;
	l->max_rep = st[depth].rep;
	l->type_length = (int32_t)pq_meta_int(se, SE_TYPE_LENGTH, 0);
	if (l->ptype < PQ_BOOLEAN || l->ptype > PQ_FLBA)
		return pq_meta_bad(err, "leaf column without a valid type");
	if (l->ptype == PQ_FLBA &&
	    (l->type_length <= 0 || l->type_length > (int32_t)PQ_MAX_FLBA_LEN))
		return pq_meta_bad(err, "bad FIXED_LEN_BYTE_ARRAY length");
	pq_meta_ltype(l, se);
	for (i = 1; i <= depth; i++)
		len += st[i].name->n + 1;
	l->path = spot_arena_alloc(&m->arena, len + 1);
	if (!l->path)
		return -ENOMEM;
	for (i = 1; i <= depth; i++) {
		memcpy(l->path + off, st[i].name->u.bin, st[i].name->n);
		off += st[i].name->n;
		l->path[off++] = '.';
	}
	l->path_len = off ? off - 1 : 0;
	l->path[l->path_len] = 0;
	m->nleaves++;
	return 0;
}

static int pq_meta_schema(struct pq_meta *m, struct spot_err *err)
{
	struct pq_sframe st[PQ_MAX_SCHEMA_DEPTH + 1];
	const struct pq_tval *sl =
		pq_meta_list(m->root, FMD_SCHEMA, PQ_TT_STRUCT);
	int depth = 0, rc;
	uint32_t i;

	if (!sl || sl->n < 2)
		return pq_meta_bad(err, "missing or empty schema");
	m->leaves = spot_arena_alloc(&m->arena, sl->n * sizeof(*m->leaves));
	if (!m->leaves)
		return -ENOMEM;
	memset(st, 0, sizeof(st));
	st[0].left = pq_meta_int(sl->u.elems[0].u.st, SE_NUM_CHILDREN, -1);
	if (st[0].left <= 0)
		return pq_meta_bad(err, "schema root has no children");
	for (i = 1; i < sl->n; i++) {
		const struct pq_tstruct *se = sl->u.elems[i].u.st;
		const struct pq_tval *name = pq_tstruct_get(se, SE_NAME);
		int64_t nch = pq_meta_int(se, SE_NUM_CHILDREN, -1);
		int64_t rep = pq_meta_int(se, SE_REPETITION, PQ_REQUIRED);
		struct pq_sframe *f;

		while (depth > 0 && st[depth].left == 0)
			depth--;
		if (st[depth].left <= 0)
			return pq_meta_bad(err, "schema has extra elements");
		st[depth].left--;
		if (!name || name->type != PQ_TT_BINARY)
			return pq_meta_bad(err, "schema element without name");
		if (depth + 1 > PQ_MAX_SCHEMA_DEPTH)
			return pq_meta_bad(err, "schema nested too deeply");
		f = &st[depth + 1];
		f->name = name;
		f->def = st[depth].def + (rep != PQ_REQUIRED);
		f->rep = st[depth].rep + (rep == PQ_REPEATED);
		f->left = nch;
		if (nch > 0 && !pq_tstruct_get(se, SE_TYPE)) {
			depth++;
			continue;
		}
		if (nch > 0)
			return pq_meta_bad(err, "schema element is both a "
						"group and a leaf");
		if (!pq_tstruct_get(se, SE_TYPE)) /* empty group */
			continue;
		rc = pq_meta_leaf(m, se, i, st, depth + 1, err);
		if (rc)
			return rc;
	}
	while (depth > 0 && st[depth].left == 0)
		depth--;
	if (st[depth].left != 0 || !m->nleaves)
		return pq_meta_bad(err, "schema tree is incomplete");
	return 0;
}

static int pq_meta_bad_chunk(struct spot_err *err, size_t g,
			     const struct pq_leaf *l, const char *what)
{
	spot_err_set(err,
		     "parquet: invalid footer: row group %zu, column "
		     "\"%s\": %s",
		     g, l->path, what);
	return -EINVAL;
}

/*
 * Whether a chunk's path_in_schema names its leaf: one component per
 * schema level, joined with dots the leaf's path (the footer keeps it, so
 * it must hold no text the schema does not).
 */
static bool pq_meta_path_ok(const struct pq_tstruct *md,
			    const struct pq_leaf *l)
{
	const struct pq_tval *p = pq_meta_list(md, CMD_PATH, PQ_TT_BINARY);
	size_t off = 0;
	uint32_t i;

	if (!p || p->n != l->depth)
		return false;
	for (i = 0; i < p->n; i++) {
		const struct pq_tval *e = &p->u.elems[i];

		if (off + e->n + (i > 0) > l->path_len ||
		    (i > 0 && l->path[off++] != '.') ||
		    memcmp(l->path + off, e->u.bin, e->n))
			return false;
		off += e->n;
	}
	return off == l->path_len;
}

static int pq_meta_chunk(struct pq_chunk *ch, size_t g, const struct pq_leaf *l,
			 uint64_t data_end, struct spot_err *err)
{
	if (pq_tstruct_get(ch->cc, CC_CRYPTO) ||
	    pq_tstruct_get(ch->cc, CC_ENC_META)) {
		spot_err_set(err, "parquet: encrypted columns are not "
				  "supported");
		return -ENOTSUP;
	}
	if (pq_tstruct_get(ch->cc, CC_FILE_PATH)) {
		spot_err_set(err, "parquet: column chunks stored in another "
				  "file are not supported");
		return -ENOTSUP;
	}
	ch->md = pq_meta_sub(ch->cc, CC_META);
	if (!ch->md)
		return pq_meta_bad_chunk(err, g, l, "no column metadata");
	if (pq_meta_int(ch->md, CMD_TYPE, -1) != l->ptype)
		return pq_meta_bad_chunk(err, g, l,
					 "chunk type differs from the schema");
	if (!pq_meta_path_ok(ch->md, l))
		return pq_meta_bad_chunk(err, g, l,
					 "path_in_schema differs from the "
					 "schema");
	ch->codec = pq_meta_int(ch->md, CMD_CODEC, -1);
	ch->num_values = pq_meta_int(ch->md, CMD_NUM_VALUES, -1);
	ch->data_off = pq_meta_int(ch->md, CMD_DATA_OFF, -1);
	ch->dict_off = pq_meta_int(ch->md, CMD_DICT_OFF, -1);
	ch->csize = pq_meta_int(ch->md, CMD_CSIZE, -1);
	ch->usize = pq_meta_int(ch->md, CMD_USIZE, -1);
	/*
	 * Some writers store 0 for "no dictionary page", or the data page
	 * offset (where the dictionary page then is). A dictionary after
	 * the data pages is no layout a writer makes: refused.
	 */
	if (ch->dict_off > ch->data_off && ch->data_off >= 0)
		return pq_meta_bad_chunk(err, g, l,
					 "dictionary page offset lies after "
					 "the data pages");
	if (ch->dict_off <= 0 || ch->dict_off >= ch->data_off)
		ch->dict_off = -1;
	ch->start = ch->dict_off >= 0 ? ch->dict_off : ch->data_off;
	if (ch->num_values < 0 || ch->usize < 0 || ch->csize <= 0 ||
	    ch->start < 4 || (uint64_t)ch->start > data_end ||
	    (uint64_t)ch->csize > data_end - (uint64_t)ch->start)
		return pq_meta_bad_chunk(err, g, l,
					 "column chunk lies outside the data "
					 "area of the file");
	return 0;
}

static int pq_meta_rowgroups(struct pq_meta *m, uint64_t data_end,
			     struct spot_err *err)
{
	const struct pq_tval *rl =
		pq_meta_list(m->root, FMD_ROW_GROUPS, PQ_TT_STRUCT);
	size_t g, c;
	int rc;

	if (!rl)
		return pq_meta_bad(err, "missing row groups");
	m->nrgs = rl->n;
	m->rgs = spot_arena_alloc(&m->arena, (rl->n + 1) * sizeof(*m->rgs));
	if (!m->rgs)
		return -ENOMEM;
	for (g = 0; g < rl->n; g++) {
		struct pq_rowgroup *rg = &m->rgs[g];
		const struct pq_tval *cl;

		rg->rg = rl->u.elems[g].u.st;
		rg->num_rows = pq_meta_int(rg->rg, RG_NUM_ROWS, -1);
		cl = pq_meta_list(rg->rg, RG_COLUMNS, PQ_TT_STRUCT);
		if (rg->num_rows < 0 || !cl || cl->n != m->nleaves)
			return pq_meta_bad(err, "row group does not match the "
						"schema");
		rg->chunks = spot_arena_alloc(&m->arena,
					      m->nleaves * sizeof(*rg->chunks));
		if (!rg->chunks)
			return -ENOMEM;
		for (c = 0; c < m->nleaves; c++) {
			rg->chunks[c].cc = cl->u.elems[c].u.st;
			rc = pq_meta_chunk(&rg->chunks[c], g, &m->leaves[c],
					   data_end, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int pq_meta_parse(const uint8_t *footer, size_t len, uint64_t data_end,
		  struct pq_meta **out, struct spot_err *err)
{
	struct pq_meta *m = calloc(1, sizeof(*m));
	size_t used;
	int rc = -ENOMEM;

	if (!m)
		goto fail;
	spot_arena_init(&m->arena);
	m->footer = malloc(len ? len : 1);
	if (!m->footer)
		goto fail;
	memcpy(m->footer, footer, len);
	m->footer_len = len;
	rc = pq_thrift_read(&m->arena, m->footer, len, &m->root, &used, err);
	if (rc)
		goto fail;
	if (pq_tstruct_get(m->root, 8)) { /* encryption_algorithm */
		spot_err_set(err, "parquet: encrypted files are not supported");
		rc = -ENOTSUP;
		goto fail;
	}
	m->num_rows = pq_meta_int(m->root, FMD_NUM_ROWS, -1);
	if (m->num_rows < 0) {
		rc = pq_meta_bad(err, "missing row count");
		goto fail;
	}
	rc = pq_meta_schema(m, err);
	if (!rc)
		rc = pq_meta_rowgroups(m, data_end, err);
	if (rc)
		goto fail;
	*out = m;
	return 0;
fail:
	if (rc == -ENOMEM)
		spot_err_set(err, "parquet: out of memory reading the footer");
	pq_meta_free(m);
	return rc;
}

void pq_meta_free(struct pq_meta *m)
{
	if (!m)
		return;
	spot_arena_fini(&m->arena);
	free(m->footer);
	free(m);
}

/* ---- page headers ---- */

/* PageHeader and sub-header fields. */
enum {
	PH_TYPE = 1,
	PH_USIZE = 2,
	PH_CSIZE = 3,
	PH_CRC = 4,
	PH_DATA = 5,
	PH_DICT = 7,
	PH_DATA_V2 = 8,
};

static int pq_page_bad(struct spot_err *err, const char *what)
{
	spot_err_set(err, "parquet: invalid page header: %s", what);
	return -EINVAL;
}

static int pq_page_sub(const struct pq_tstruct *ph, struct pq_page_hdr *h,
		       struct spot_err *err)
{
	const struct pq_tstruct *s;

	switch (h->type) {
	case PQ_PAGE_DATA:
		s = pq_meta_sub(ph, PH_DATA);
		if (!s)
			return pq_page_bad(err, "data page without header");
		h->num_values = (int32_t)pq_meta_int(s, 1, -1);
		h->encoding = (int)pq_meta_int(s, 2, -1);
		h->def_enc = (int)pq_meta_int(s, 3, PQ_ENC_RLE);
		h->rep_enc = (int)pq_meta_int(s, 4, PQ_ENC_RLE);
		break;
	case PQ_PAGE_DATA_V2:
		s = pq_meta_sub(ph, PH_DATA_V2);
		if (!s)
			return pq_page_bad(err, "data page without header");
		h->num_values = (int32_t)pq_meta_int(s, 1, -1);
		h->num_nulls = (int32_t)pq_meta_int(s, 2, -1);
		h->num_rows = (int32_t)pq_meta_int(s, 3, -1);
		h->encoding = (int)pq_meta_int(s, 4, -1);
		h->def_len = (int32_t)pq_meta_int(s, 5, -1);
		h->rep_len = (int32_t)pq_meta_int(s, 6, -1);
		h->compressed = pq_meta_int(s, 7, 1) != 0;
		if (h->num_nulls < 0 || h->num_rows < 0 || h->def_len < 0 ||
		    h->rep_len < 0 || h->num_nulls > h->num_values ||
		    (int64_t)h->def_len + h->rep_len > h->csize ||
		    (int64_t)h->def_len + h->rep_len > h->usize)
			return pq_page_bad(err, "bad v2 data page sizes");
		break;
	case PQ_PAGE_DICTIONARY:
		s = pq_meta_sub(ph, PH_DICT);
		if (!s)
			return pq_page_bad(err, "dictionary page without "
						"header");
		h->num_values = (int32_t)pq_meta_int(s, 1, -1);
		h->encoding = (int)pq_meta_int(s, 2, PQ_ENC_PLAIN);
		break;
	default:
		h->num_values = 0; /* index pages and unknown: skipped */
		return 0;
	}
	if (h->num_values < 0 || h->encoding < 0)
		return pq_page_bad(err, "missing value count or encoding");
	return 0;
}

int pq_page_hdr_read(struct spot_arena *a, const uint8_t *p, size_t len,
		     struct pq_page_hdr *h, struct spot_err *err)
{
	struct pq_tstruct *ph;
	size_t used;
	int64_t crc;
	int rc;

	memset(h, 0, sizeof(*h));
	rc = pq_thrift_read(a, p, len, &ph, &used, err);
	if (rc)
		return rc;
	h->hdr_len = used;
	h->type = (int)pq_meta_int(ph, PH_TYPE, -1);
	h->usize = (int32_t)pq_meta_int(ph, PH_USIZE, -1);
	h->csize = (int32_t)pq_meta_int(ph, PH_CSIZE, -1);
	if (h->type < 0 || h->usize < 0 || h->csize < 0)
		return pq_page_bad(err, "missing type or size");
	if (!pq_tstruct_int(ph, PH_CRC, &crc)) {
		h->has_crc = true;
		h->crc = (uint32_t)crc;
	}
	rc = pq_page_sub(ph, h, err);
	if (!rc)
		h->foreign = pq_page_hdr_foreign(ph);
	return rc;
}

int pq_page_hdr_parse(struct spot_arena *a, const uint8_t *p, size_t len,
		      struct pq_page_hdr *h, struct spot_err *err)
{
	int rc = pq_page_hdr_read(a, p, len, h, err);

	if (!rc && (size_t)h->csize > len - h->hdr_len)
		return pq_page_bad(err, "page runs past its column chunk");
	return rc;
}

int pq_page_hdr_write(struct spot_buf *b, const struct pq_page_hdr *h)
{
	struct spot_arena a;
	struct pq_tstruct *ph, *s;
	struct pq_tval v;
	int rc = -ENOMEM;

	spot_arena_init(&a);
	ph = pq_tstruct_new(&a);
	s = pq_tstruct_new(&a);
	if (!ph || !s)
		goto out;
	if (pq_tstruct_set_int(&a, ph, PH_TYPE, PQ_TT_I32, h->type) ||
	    pq_tstruct_set_int(&a, ph, PH_USIZE, PQ_TT_I32, h->usize) ||
	    pq_tstruct_set_int(&a, ph, PH_CSIZE, PQ_TT_I32, h->csize) ||
	    (h->has_crc &&
	     pq_tstruct_set_int(&a, ph, PH_CRC, PQ_TT_I32, (int32_t)h->crc)) ||
	    pq_tstruct_set_int(&a, s, 1, PQ_TT_I32, h->num_values))
		goto out;
	if (h->type == PQ_PAGE_DATA) {
		if (pq_tstruct_set_int(&a, s, 2, PQ_TT_I32, h->encoding) ||
		    pq_tstruct_set_int(&a, s, 3, PQ_TT_I32, h->def_enc) ||
		    pq_tstruct_set_int(&a, s, 4, PQ_TT_I32, h->rep_enc))
			goto out;
	} else if (h->type == PQ_PAGE_DATA_V2) {
		if (pq_tstruct_set_int(&a, s, 2, PQ_TT_I32, h->num_nulls) ||
		    pq_tstruct_set_int(&a, s, 3, PQ_TT_I32, h->num_rows) ||
		    pq_tstruct_set_int(&a, s, 4, PQ_TT_I32, h->encoding) ||
		    pq_tstruct_set_int(&a, s, 5, PQ_TT_I32, h->def_len) ||
		    pq_tstruct_set_int(&a, s, 6, PQ_TT_I32, h->rep_len) ||
		    pq_tstruct_set_int(&a, s, 7, PQ_TT_BOOL, h->compressed))
			goto out;
	} else if (pq_tstruct_set_int(&a, s, 2, PQ_TT_I32, h->encoding)) {
		goto out;
	}
	memset(&v, 0, sizeof(v));
	v.type = PQ_TT_STRUCT;
	v.u.st = s;
	rc = pq_tstruct_set(&a, ph,
			    h->type == PQ_PAGE_DATA	 ? PH_DATA
			    : h->type == PQ_PAGE_DATA_V2 ? PH_DATA_V2
							 : PH_DICT,
			    &v);
	if (!rc)
		rc = pq_thrift_write(b, ph);
out:
	spot_arena_fini(&a);
	return rc;
}

/* ---- footer edits ---- */

static struct pq_tstruct *pq_meta_elem(struct pq_tstruct *st, int16_t id,
				       size_t i)
{
	struct pq_tval *v = pq_meta_list(st, id, PQ_TT_STRUCT);

	return v && i < v->n ? v->u.elems[i].u.st : NULL;
}

struct pq_tstruct *pq_meta_clone_rowgroup(struct pq_tstruct *root, size_t g)
{
	return pq_meta_elem(root, FMD_ROW_GROUPS, g);
}

struct pq_tstruct *pq_meta_clone_chunk(struct pq_tstruct *root, size_t g,
				       size_t c)
{
	struct pq_tstruct *rg = pq_meta_clone_rowgroup(root, g);

	return rg ? pq_meta_elem(rg, RG_COLUMNS, c) : NULL;
}

struct pq_tstruct *pq_meta_clone_schema(struct pq_tstruct *root,
					const struct pq_leaf *l)
{
	return pq_meta_elem(root, FMD_SCHEMA, l->schema_idx);
}

/* Shift an offset field by delta if present. */
static int pq_meta_shift(struct spot_arena *a, struct pq_tstruct *st,
			 int16_t id, int64_t delta)
{
	int64_t v;

	if (pq_tstruct_int(st, id, &v))
		return 0;
	return pq_tstruct_set_int(a, st, id, PQ_TT_I64, v + delta);
}

int pq_meta_chunk_move(struct spot_arena *a, struct pq_tstruct *cc,
		       const struct pq_chunk *src, int64_t new_start)
{
	static const int16_t cc_keep[] = { CC_FILE_OFFSET, CC_META };
	struct pq_tstruct *md = pq_meta_sub(cc, CC_META);
	int64_t delta = new_start - src->start, fo;

	pq_tstruct_keep_only(cc, cc_keep, SPOT_ARRAY_SIZE(cc_keep));
	/* file_offset is deprecated and ambiguous: keep it consistent. */
	fo = pq_meta_int(cc, CC_FILE_OFFSET, 0);
	if (fo >= src->start && fo <= src->start + src->csize)
		fo += delta;
	else
		fo = 0;
	if (pq_tstruct_set_int(a, cc, CC_FILE_OFFSET, PQ_TT_I64, fo))
		return -ENOMEM;
	pq_tstruct_del(md, CMD_BLOOM_OFF);
	pq_tstruct_del(md, CMD_BLOOM_LEN);
	if (src->dict_off < 0)
		pq_tstruct_del(md, CMD_DICT_OFF);
	if (pq_meta_shift(a, md, CMD_DATA_OFF, delta) ||
	    pq_meta_shift(a, md, CMD_DICT_OFF, delta) ||
	    pq_meta_shift(a, md, CMD_INDEX_OFF, delta))
		return -ENOMEM;
	return 0;
}

/* ColumnChunk fields of the page indexes. */
enum { CC_OI_OFF = 4, CC_OI_LEN = 5, CC_CI_OFF = 6, CC_CI_LEN = 7 };

int pq_meta_side_range(const struct pq_chunk *ch, int which, int64_t *off,
		       int64_t *len)
{
	const struct pq_tstruct *st = which == PQ_SIDE_BLOOM ? ch->md : ch->cc;
	int16_t fo = which == PQ_SIDE_BLOOM	     ? CMD_BLOOM_OFF
		     : which == PQ_SIDE_OFFSET_INDEX ? CC_OI_OFF
						     : CC_CI_OFF;

	if (pq_tstruct_int(st, fo, off))
		return -ENOENT;
	if (pq_tstruct_int(st, fo + 1, len))
		*len = -1;
	return 0;
}

int pq_meta_bloom(const struct pq_chunk *src, uint64_t data_end, int64_t *off,
		  int64_t *len)
{
	if (pq_meta_side_range(src, PQ_SIDE_BLOOM, off, len))
		return -ENOENT;
	/* Inside the data area, and of a sane size. */
	if (*off < 4 || *len <= 0 || *len > (1 << 30) ||
	    (uint64_t)*off > data_end ||
	    (uint64_t)*len > data_end - (uint64_t)*off)
		return -ENOENT;
	return 0;
}

int pq_meta_set_bloom(struct spot_arena *a, struct pq_tstruct *cc, int64_t off,
		      int64_t len)
{
	struct pq_tstruct *md = pq_meta_sub(cc, CC_META);

	if (!md || pq_tstruct_set_int(a, md, CMD_BLOOM_OFF, PQ_TT_I64, off) ||
	    pq_tstruct_set_int(a, md, CMD_BLOOM_LEN, PQ_TT_I32, len))
		return -ENOMEM;
	return 0;
}

static int pq_meta_enc_stats(struct spot_arena *a, struct pq_tstruct *md,
			     const struct pq_chunk_out *o)
{
	struct pq_tstruct *es[5];
	struct pq_tval lv;
	uint32_t n = 0, i;
	int v, e;

	if (o->ndict_pages) {
		es[n] = pq_tstruct_new(a);
		if (!es[n] ||
		    pq_tstruct_set_int(a, es[n], 1, PQ_TT_I32,
				       PQ_PAGE_DICTIONARY) ||
		    pq_tstruct_set_int(a, es[n], 2, PQ_TT_I32, PQ_ENC_PLAIN) ||
		    pq_tstruct_set_int(a, es[n], 3, PQ_TT_I32, o->ndict_pages))
			return -ENOMEM;
		n++;
	}
	for (v = 0; v < 2; v++) {
		for (e = 0; e < 2; e++) {
			if (!o->ndata[v][e])
				continue;
			es[n] = pq_tstruct_new(a);
			if (!es[n] ||
			    pq_tstruct_set_int(a, es[n], 1, PQ_TT_I32,
					       v ? PQ_PAGE_DATA_V2
						 : PQ_PAGE_DATA) ||
			    pq_tstruct_set_int(a, es[n], 2, PQ_TT_I32,
					       e ? PQ_ENC_RLE_DICTIONARY
						 : PQ_ENC_PLAIN) ||
			    pq_tstruct_set_int(a, es[n], 3, PQ_TT_I32,
					       o->ndata[v][e]))
				return -ENOMEM;
			n++;
		}
	}
	if (pq_tval_list(a, &lv, PQ_TT_STRUCT, n))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		lv.u.elems[i].type = PQ_TT_STRUCT;
		lv.u.elems[i].u.st = es[i];
	}
	return pq_tstruct_set(a, md, CMD_ENC_STATS, &lv);
}

static int pq_meta_encodings(struct spot_arena *a, struct pq_tstruct *md,
			     const struct pq_chunk_out *o)
{
	bool dict = o->ndict_pages > 0;
	struct pq_tval lv;
	uint32_t n = dict ? 3 : 2;

	if (pq_tval_list(a, &lv, PQ_TT_I32, n))
		return -ENOMEM;
	lv.u.elems[0].type = lv.u.elems[1].type = PQ_TT_I32;
	lv.u.elems[0].u.i = PQ_ENC_PLAIN;
	lv.u.elems[1].u.i = PQ_ENC_RLE;
	if (dict) {
		lv.u.elems[2].type = PQ_TT_I32;
		lv.u.elems[2].u.i = PQ_ENC_RLE_DICTIONARY;
	}
	return pq_tstruct_set(a, md, CMD_ENCODINGS, &lv);
}

int pq_meta_chunk_masked(struct spot_arena *a, struct pq_tstruct *cc,
			 const struct pq_chunk_out *o)
{
	static const int16_t cc_keep[] = { CC_META };
	static const int16_t md_keep[] = { CMD_TYPE, CMD_PATH, CMD_CODEC };
	struct pq_tstruct *md = pq_meta_sub(cc, CC_META), *stats;
	struct pq_tval sv;

	pq_tstruct_keep_only(cc, cc_keep, SPOT_ARRAY_SIZE(cc_keep));
	pq_tstruct_keep_only(md, md_keep, SPOT_ARRAY_SIZE(md_keep));
	stats = pq_tstruct_new(a);
	if (!stats || pq_tstruct_set_int(a, cc, CC_FILE_OFFSET, PQ_TT_I64, 0) ||
	    pq_tstruct_set_int(a, md, CMD_TYPE, PQ_TT_I32, o->ptype) ||
	    pq_tstruct_set_int(a, md, CMD_NUM_VALUES, PQ_TT_I64,
			       o->num_values) ||
	    pq_tstruct_set_int(a, md, CMD_USIZE, PQ_TT_I64, o->usize) ||
	    pq_tstruct_set_int(a, md, CMD_CSIZE, PQ_TT_I64, o->csize) ||
	    pq_tstruct_set_int(a, md, CMD_DATA_OFF, PQ_TT_I64, o->data_off) ||
	    (o->dict_off >= 0 &&
	     pq_tstruct_set_int(a, md, CMD_DICT_OFF, PQ_TT_I64, o->dict_off)) ||
	    pq_tstruct_set_int(a, stats, 3, PQ_TT_I64, o->null_count) ||
	    pq_meta_encodings(a, md, o) || pq_meta_enc_stats(a, md, o))
		return -ENOMEM;
	memset(&sv, 0, sizeof(sv));
	sv.type = PQ_TT_STRUCT;
	sv.u.st = stats;
	return pq_tstruct_set(a, md, CMD_STATS, &sv);
}

struct pq_tstruct *pq_meta_chunk_new(struct spot_arena *a, const char *name,
				     size_t len, int64_t codec,
				     const struct pq_chunk_out *o)
{
	struct pq_tstruct *cc = pq_tstruct_new(a), *md = pq_tstruct_new(a);
	struct pq_tval v;

	if (!cc || !md || pq_tval_list(a, &v, PQ_TT_BINARY, 1))
		return NULL;
	v.u.elems[0].type = PQ_TT_BINARY;
	v.u.elems[0].u.bin = (const uint8_t *)name;
	v.u.elems[0].n = (uint32_t)len;
	if (pq_tstruct_set(a, md, CMD_PATH, &v) ||
	    pq_tstruct_set_int(a, md, CMD_CODEC, PQ_TT_I32, codec))
		return NULL;
	v = pq_tval_struct(md);
	if (pq_tstruct_set(a, cc, CC_META, &v) ||
	    pq_meta_chunk_masked(a, cc, o))
		return NULL;
	return cc;
}

int pq_meta_schema_promote(struct spot_arena *a, struct pq_tstruct *se,
			   bool to_string, bool to_optional)
{
	struct pq_tstruct *lt, *str;
	struct pq_tval v;

	if (to_optional &&
	    pq_tstruct_set_int(a, se, SE_REPETITION, PQ_TT_I32, PQ_OPTIONAL))
		return -ENOMEM;
	if (!to_string)
		return 0;
	pq_tstruct_del(se, SE_TYPE_LENGTH);
	pq_tstruct_del(se, SE_SCALE);
	pq_tstruct_del(se, SE_PRECISION);
	lt = pq_tstruct_new(a);
	str = pq_tstruct_new(a);
	memset(&v, 0, sizeof(v));
	v.type = PQ_TT_STRUCT;
	v.u.st = str;
	if (!lt || !str || pq_tstruct_set(a, lt, 1, &v))
		return -ENOMEM;
	v.u.st = lt;
	if (pq_tstruct_set_int(a, se, SE_TYPE, PQ_TT_I32, PQ_BYTE_ARRAY) ||
	    pq_tstruct_set_int(a, se, SE_CONVERTED, PQ_TT_I32, CT_UTF8) ||
	    pq_tstruct_set(a, se, SE_LOGICAL, &v))
		return -ENOMEM;
	return 0;
}

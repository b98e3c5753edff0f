/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jsonl.c - the JSON Lines tokenizer and the JSON string codec (see
 * jsonl.h for the contract; the trie of paths is jsonl_paths.c).
 *
 * Duplicate keys are found through the trie: the keys of one object that
 * decode to the same bytes are the same child node, so each node keeps the
 * id of the last object it was a key of (a per-parser stamp); seeing the
 * stamp of the current object again is a duplicate. O(1) per key, and it
 * compares decoded keys ("em\u0061il" is "email").
 *
 * The records of a file mostly hold the same keys in the same order, so
 * before hashing a key the parser tries the node that followed the key
 * before it last time (or came first in that object's node): the same
 * parent and the same decoded bytes are the same node, so a right guess
 * is the node the trie would find.
 */
#include "jsonl_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define JL_NONE UINT32_MAX

/* ---- errors ---- */

static const char *const jl_err_texts[] = {
	[JSONL_OK] = "no error",
	[JSONL_E_SYNTAX] = "unexpected character",
	[JSONL_E_UNTERM] = "unterminated string",
	[JSONL_E_UTF8] = "invalid UTF-8 in a string",
	[JSONL_E_ESCAPE] = "invalid escape sequence",
	[JSONL_E_SURROGATE] = "lone UTF-16 surrogate in a \\u escape",
	[JSONL_E_CONTROL] = "raw control character in a string",
	[JSONL_E_NUMBER] = "invalid number",
	[JSONL_E_LITERAL] = "invalid literal",
	[JSONL_E_DEPTH] = "nesting deeper than 64",
	[JSONL_E_DUPKEY] = "duplicate key",
	[JSONL_E_NOT_OBJECT] = "a record must be a JSON object",
	[JSONL_E_TRAILING] = "bytes after the record",
	[JSONL_E_EOL] = "the line ends inside the record",
	[JSONL_E_TOO_LONG] = "line longer than 64 MiB",
	[JSONL_E_PATHS] = "more than 65536 distinct field paths",
	[JSONL_E_STALE] = "the source changed during the build",
	[JSONL_E_NOMEM] = "out of memory",
};

const char *jsonl_err_text(enum jsonl_err e)
{
	if ((size_t)e >= SPOT_ARRAY_SIZE(jl_err_texts) || !jl_err_texts[e])
		return "invalid JSON";
	return jl_err_texts[e];
}

/* ---- the tokenizer ---- */

struct jl_frame {
	size_t at;     /* its opening bracket */
	uint32_t node; /* the container's own path */
	uint32_t elem; /* arrays: the node of their elements */
	uint64_t obj;  /* objects: their id, for the duplicate stamps */
	uint32_t prev; /* objects: the node of the key before, or JL_NONE */
	bool is_obj;
};

/* What a parser knows of a node. */
struct jl_node_st {
	uint64_t obj;	/* the last object it was a key of */
	uint32_t next;	/* the key after it, that time (0: none) */
	uint32_t first; /* its own first key, last time (0: none) */
};

struct jsonl_parser {
	struct jsonl_paths *t;
	bool add;
	struct jsonl_leaf *leaves;
	size_t nleaves, capleaves;
	struct jsonl_span *spans; /* outermost arrays */
	size_t nspans, capspans;
	size_t narr;		  /* arrays open */
	struct jl_node_st *stamp; /* per node */
	size_t nstamp;
	uint64_t nobj;
	struct spot_buf key; /* a decoded key with escapes */
	struct jl_frame st[JSONL_MAX_DEPTH];
	enum jsonl_err err;
	size_t err_at;
};

int jsonl_parser_new(struct jsonl_paths *paths, bool add,
		     struct jsonl_parser **out)
{
	struct jsonl_parser *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->t = paths;
	p->add = add;
	spot_buf_init(&p->key);
	*out = p;
	return 0;
}

void jsonl_parser_free(struct jsonl_parser *p)
{
	if (!p)
		return;
	free(p->leaves);
	free(p->spans);
	free(p->stamp);
	spot_buf_fini(&p->key);
	free(p);
}

const struct jsonl_leaf *jsonl_parser_leaves(const struct jsonl_parser *p,
					     size_t *n)
{
	*n = p->nleaves;
	return p->leaves;
}

const struct jsonl_span *jsonl_parser_arrays(const struct jsonl_parser *p,
					     size_t *n)
{
	*n = p->nspans;
	return p->spans;
}

enum jsonl_err jsonl_parser_error(const struct jsonl_parser *p, size_t *at)
{
	*at = p->err_at;
	return p->err;
}

static int jl_fail(struct jsonl_parser *p, enum jsonl_err e, size_t at)
{
	p->err = e;
	p->err_at = at;
	return e == JSONL_E_NOMEM ? -ENOMEM : -EINVAL;
}

static size_t jl_ws(const uint8_t *s, size_t len, size_t i)
{
	while (i < len &&
	       (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i;
}

/* Length of the valid UTF-8 sequence at s[0..len) (lead >= 0x80), or 0. */
static size_t jl_utf8(const uint8_t *s, size_t len)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f; /* no encoded surrogates */
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f; /* nothing past U+10FFFF */
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	return n;
}

static int jl_hex4(const uint8_t *s, size_t len, size_t i, uint32_t *v)
{
	uint32_t x = 0;

	if (len - i < 4)
		return -1;
	for (size_t k = 0; k < 4; k++) {
		uint8_t c = s[i + k];

		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= (uint32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			x |= (uint32_t)((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	*v = x;
	return 0;
}

static int jl_put_cp(struct spot_buf *b, uint32_t cp)
{
	uint8_t u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xc0 | (cp >> 6));
		u[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xe0 | (cp >> 12));
		u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (uint8_t)(0xf0 | (cp >> 18));
		u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return spot_buf_append(b, u, n);
}

/*
 * The escape at s[*i] (just past the backslash): validated, decoded into
 * dec when dec is set. *i ends past it. JSONL_OK or why not.
 */
static enum jsonl_err jl_escape(const uint8_t *s, size_t len, size_t *i,
				struct spot_buf *dec)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	uint32_t cp, lo;

	if (*i >= len)
		return JSONL_E_UNTERM;
	if (s[*i] != 'u') {
		e = s[*i] ? strchr(from, s[*i]) : NULL;
		if (!e)
			return JSONL_E_ESCAPE;
		(*i)++;
		if (dec && spot_buf_putc(dec, (uint8_t)to[e - from]))
			return JSONL_E_NOMEM;
		return JSONL_OK;
	}
	if (jl_hex4(s, len, *i + 1, &cp))
		return JSONL_E_ESCAPE;
	*i += 5;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return JSONL_E_SURROGATE;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (len - *i < 6 || s[*i] != '\\' || s[*i + 1] != 'u' ||
		    jl_hex4(s, len, *i + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return JSONL_E_SURROGATE;
		*i += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (dec && jl_put_cp(dec, cp))
		return JSONL_E_NOMEM;
	return JSONL_OK;
}

#define JL_ONES 0x0101010101010101ull
#define JL_HIGH 0x8080808080808080ull

/*
 * Whether the 8 bytes at p are all plain string bytes: ASCII, not a
 * control character, not '"' nor '\\' (bit tricks that tell exactly
 * whether some byte is zero or below a bound).
 */
static inline bool jl_plain8(const uint8_t *p)
{
	uint64_t x, q, b;

	memcpy(&x, p, sizeof(x));
	q = x ^ (JL_ONES * '"');
	b = x ^ (JL_ONES * '\\');
	return !((x & JL_HIGH) | ((x - JL_ONES * 0x20) & ~x & JL_HIGH) |
		 ((q - JL_ONES) & ~q & JL_HIGH) |
		 ((b - JL_ONES) & ~b & JL_HIGH));
}

/*
 * Past the plain string bytes at s[k] (see jl_plain8): to the first byte
 * that is not one, or near the end (the caller looks at the rest).
 */
static inline size_t jl_plain_run(const uint8_t *s, size_t len, size_t k)
{
#ifdef __SSE2__
	const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\');
	const __m128i sp = _mm_set1_epi8(0x20);

	/* Signed, a byte from 0x80 is below 0x20 too: one compare. */
	while (len - k >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(s + k));
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, q),
						  _mm_cmpeq_epi8(x, b)),
				     _mm_cmplt_epi8(x, sp)));

		if (m)
			return k + (size_t)__builtin_ctz(m);
		k += 16;
	}
#endif
	while (len - k >= 8 && jl_plain8(s + k))
		k += 8;
	return k;
}

/*
 * The string at s[*i] == '"': validated; decoded into dec when dec is set
 * (and it holds an escape: *esc says whether it did). *i ends past the
 * closing quote. On error *i is the offending byte.
 */
static enum jsonl_err jl_string(const uint8_t *s, size_t len, size_t *i,
				bool *esc, struct spot_buf *dec)
{
	size_t k = *i + 1, start = k, n;
	enum jsonl_err e;

	*esc = false;
	for (;;) {
		k = jl_plain_run(s, len, k);
		while (k < len && s[k] >= 0x20 && s[k] < 0x80 && s[k] != '"' &&
		       s[k] != '\\')
			k++;
		if (k >= len) {
			*i = k;
			return JSONL_E_UNTERM;
		}
		if (s[k] == '"')
			break;
		if (s[k] < 0x20) {
			*i = k;
			return JSONL_E_CONTROL;
		}
		if (s[k] >= 0x80) {
			n = jl_utf8(s + k, len - k);
			if (!n) {
				*i = k;
				return JSONL_E_UTF8;
			}
			k += n;
			continue;
		}
		/* A backslash: from here on, decode. */
		if (dec && !*esc) {
			spot_buf_reset(dec);
			if (spot_buf_append(dec, s + start, k - start))
				return JSONL_E_NOMEM;
		}
		*esc = true;
		start = k++;
		e = jl_escape(s, len, &k, dec);
		if (e) {
			*i = start;
			return e;
		}
		start = k;
		if (k < len && dec) {
			/* Copy the plain run that follows, as above. */
			size_t r = k;

			while (r < len && s[r] >= 0x20 && s[r] != '"' &&
			       s[r] != '\\') {
				if (s[r] >= 0x80) {
					n = jl_utf8(s + r, len - r);
					if (!n)
						break;
					r += n;
				} else {
					r++;
				}
			}
			if (spot_buf_append(dec, s + k, r - k))
				return JSONL_E_NOMEM;
			k = r;
		}
	}
	*i = k + 1;
	return JSONL_OK;
}

static enum jsonl_err jl_number(const uint8_t *s, size_t len, size_t *i,
				bool *is_int)
{
	size_t k = *i;

	*is_int = true;
	if (k < len && s[k] == '-')
		k++;
	if (k < len && s[k] == '0') {
		k++;
	} else if (k < len && s[k] >= '1' && s[k] <= '9') {
		while (k < len && s[k] >= '0' && s[k] <= '9')
			k++;
	} else {
		*i = k;
		return JSONL_E_NUMBER;
	}
	if (k < len && s[k] == '.') {
		*is_int = false;
		if (++k >= len || s[k] < '0' || s[k] > '9') {
			*i = k;
			return JSONL_E_NUMBER;
		}
		while (k < len && s[k] >= '0' && s[k] <= '9')
			k++;
	}
	if (k < len && (s[k] == 'e' || s[k] == 'E')) {
		*is_int = false;
		k++;
		if (k < len && (s[k] == '+' || s[k] == '-'))
			k++;
		if (k >= len || s[k] < '0' || s[k] > '9') {
			*i = k;
			return JSONL_E_NUMBER;
		}
		while (k < len && s[k] >= '0' && s[k] <= '9')
			k++;
	}
	*i = k;
	return JSONL_OK;
}

bool jsonl_is_number(const uint8_t *p, size_t len)
{
	size_t i = 0;
	bool is_int;

	return len && jl_number(p, len, &i, &is_int) == JSONL_OK && i == len;
}

static int jl_leaf(struct jsonl_parser *p, uint32_t node, uint8_t kind,
		   size_t off, size_t end, bool esc, bool is_int)
{
	struct jsonl_leaf *l;

	if (p->nleaves == p->capleaves) {
		size_t cap = p->capleaves ? p->capleaves * 2 : 64;

		l = realloc(p->leaves, cap * sizeof(*l));
		if (!l)
			return jl_fail(p, JSONL_E_NOMEM, off);
		p->leaves = l;
		p->capleaves = cap;
	}
	if (p->add) {
		unsigned k = JSONL_K(kind);

		if (kind == JSONL_EMPTY)
			k |= is_int ? JSONL_K_EMPTY_OBJ : JSONL_K_EMPTY_ARR;
		else if (kind == JSONL_NUM && !is_int)
			k |= JSONL_K_FRAC;
		else if (kind == JSONL_NUM && end - off > JSONL_INT64_DIGITS)
			k |= JSONL_K_BIGINT;
		jsonl_paths_mark_leaf(p->t, node, k);
	}
	l = &p->leaves[p->nleaves++];
	l->node = node;
	l->kind = kind;
	l->escaped = esc;
	l->is_int = is_int;
	l->off = off;
	l->end = end;
	return 0;
}

/*
 * Close container fr at s[end - 1]: an array that was the outermost open
 * one is recorded (non-empty ones: an empty one is a leaf).
 */
static int jl_close(struct jsonl_parser *p, const struct jl_frame *fr,
		    size_t end, bool empty)
{
	struct jsonl_span *sp;

	if (fr->is_obj || --p->narr || empty)
		return 0;
	if (p->nspans == p->capspans) {
		size_t cap = p->capspans ? p->capspans * 2 : 16;

		sp = realloc(p->spans, cap * sizeof(*sp));
		if (!sp)
			return jl_fail(p, JSONL_E_NOMEM, fr->at);
		p->spans = sp;
		p->capspans = cap;
	}
	sp = &p->spans[p->nspans++];
	sp->node = fr->node;
	sp->off = fr->at;
	sp->end = end;
	return 0;
}

/* The node of a key, and the duplicate check in the object fr. */
static int jl_key(struct jsonl_parser *p, struct jl_frame *fr, const uint8_t *k,
		  size_t klen, size_t at, uint32_t *node)
{
	uint32_t guess = 0;
	enum jsonl_err e;

	if (fr->node < p->nstamp)
		guess = fr->prev != JL_NONE ? p->stamp[fr->prev].next
					    : p->stamp[fr->node].first;
	if (guess && jsonl_paths_key_is(p->t, guess, fr->node, k, klen)) {
		*node = guess;
	} else {
		e = jsonl_paths_child(p->t, p->add, fr->node, false, k, klen,
				      node);
		if (e)
			return jl_fail(p, e, at);
	}
	if (*node >= p->nstamp || fr->node >= p->nstamp) {
		size_t n = jsonl_paths_count(p->t);
		struct jl_node_st *ns;

		n = n > *node ? n : *node + 1;
		n = n < 64 ? 64 : n * 2;
		ns = realloc(p->stamp, n * sizeof(*ns));
		if (!ns)
			return jl_fail(p, JSONL_E_NOMEM, at);
		memset(ns + p->nstamp, 0, (n - p->nstamp) * sizeof(*ns));
		p->stamp = ns;
		p->nstamp = n;
	}
	if (p->stamp[*node].obj == fr->obj)
		return jl_fail(p, JSONL_E_DUPKEY, at);
	p->stamp[*node].obj = fr->obj;
	if (fr->prev != JL_NONE)
		p->stamp[fr->prev].next = *node;
	else
		p->stamp[fr->node].first = *node;
	fr->prev = *node;
	return 0;
}

/* A member of object fr at s[*i]: its key and ':'; *node for its value. */
static int jl_member(struct jsonl_parser *p, const uint8_t *s, size_t len,
		     size_t *i, struct jl_frame *fr, uint32_t *node)
{
	size_t at = *i, k = *i;
	enum jsonl_err e;
	bool esc;
	int rc;

	if (s[k] != '"')
		return jl_fail(p, JSONL_E_SYNTAX, k);
	e = jl_string(s, len, &k, &esc, &p->key);
	if (e)
		return jl_fail(p, e, k);
	if (esc)
		rc = jl_key(p, fr, p->key.p, p->key.len, at, node);
	else
		rc = jl_key(p, fr, s + at + 1, k - at - 2, at, node);
	if (rc)
		return rc;
	k = jl_ws(s, len, k);
	if (k >= len)
		return jl_fail(p, JSONL_E_EOL, k);
	if (s[k] != ':')
		return jl_fail(p, JSONL_E_SYNTAX, k);
	k = jl_ws(s, len, k + 1);
	if (k >= len)
		return jl_fail(p, JSONL_E_EOL, k);
	*i = k;
	return 0;
}

/* A scalar value at s[*i] for node. */
static int jl_scalar(struct jsonl_parser *p, const uint8_t *s, size_t len,
		     size_t *i, uint32_t node)
{
	static const char *const lits[] = { "true", "false", "null" };
	static const uint8_t kinds[] = { JSONL_TRUE, JSONL_FALSE, JSONL_NULL };
	size_t at = *i, k = at;
	enum jsonl_err e;
	bool flag;

	if (s[k] == '"') {
		e = jl_string(s, len, &k, &flag, NULL);
		if (e)
			return jl_fail(p, e, k);
		*i = k;
		return jl_leaf(p, node, JSONL_STR, at, k, flag, false);
	}
	if (s[k] == '-' || (s[k] >= '0' && s[k] <= '9')) {
		e = jl_number(s, len, &k, &flag);
		if (e)
			return jl_fail(p, e, k);
		*i = k;
		return jl_leaf(p, node, JSONL_NUM, at, k, false, flag);
	}
	for (size_t l = 0; l < SPOT_ARRAY_SIZE(lits); l++) {
		size_t n = strlen(lits[l]);

		if (s[k] != (uint8_t)lits[l][0])
			continue;
		if (len - k < n || memcmp(s + k, lits[l], n))
			return jl_fail(p, JSONL_E_LITERAL, k);
		*i = k + n;
		return jl_leaf(p, node, kinds[l], at, k + n, false, false);
	}
	return jl_fail(p, JSONL_E_SYNTAX, k);
}

/* Open the container at s[*i] for node. */
static int jl_open(struct jsonl_parser *p, const uint8_t *s, size_t *depth,
		   size_t i, uint32_t node)
{
	struct jl_frame *fr;
	enum jsonl_err e;

	if (*depth == JSONL_MAX_DEPTH)
		return jl_fail(p, JSONL_E_DEPTH, i);
	fr = &p->st[(*depth)++];
	fr->at = i;
	fr->node = node;
	fr->is_obj = s[i] == '{';
	fr->obj = ++p->nobj;
	fr->elem = JL_NONE;
	fr->prev = JL_NONE;
	p->narr += !fr->is_obj;
	if (!fr->is_obj) {
		e = jsonl_paths_child(p->t, p->add, node, true, NULL, 0,
				      &fr->elem);
		if (e)
			return jl_fail(p, e, i);
	}
	return 0;
}

int jsonl_parse(struct jsonl_parser *p, const uint8_t *s, size_t len)
{
	size_t i, depth = 0;
	uint32_t node = JSONL_ROOT;
	struct jl_frame *fr;
	int rc;

	p->nleaves = 0;
	p->nspans = 0;
	p->narr = 0;
	p->err = JSONL_OK;
	p->err_at = 0;
	if (len > JSONL_MAX_LINE)
		return jl_fail(p, JSONL_E_TOO_LONG, JSONL_MAX_LINE);
	i = jl_ws(s, len, 0);
	if (i == len)
		return 0;
	if (s[i] != '{')
		return jl_fail(p, JSONL_E_NOT_OBJECT, i);
	for (;;) {
		/* A value starts at s[i] (i < len) for node. */
		if (s[i] == '{' || s[i] == '[') {
			rc = jl_open(p, s, &depth, i, node);
			if (rc)
				return rc;
			fr = &p->st[depth - 1];
			i = jl_ws(s, len, i + 1);
			if (i >= len)
				return jl_fail(p, JSONL_E_EOL, i);
			if (s[i] == (fr->is_obj ? '}' : ']')) {
				depth--;
				i++;
				(void)jl_close(p, fr, i, true);
				/* is_int of an empty one: it is {} */
				if (depth &&
				    jl_leaf(p, node, JSONL_EMPTY, fr->at, i,
					    false, fr->is_obj))
					return -ENOMEM;
				goto after;
			}
			if (fr->is_obj) {
				rc = jl_member(p, s, len, &i, fr, &node);
				if (rc)
					return rc;
			} else {
				node = fr->elem;
			}
			continue;
		}
		rc = jl_scalar(p, s, len, &i, node);
		if (rc)
			return rc;
	after:
		i = jl_ws(s, len, i);
		if (!depth) {
			if (i != len)
				return jl_fail(p, JSONL_E_TRAILING, i);
			return 1;
		}
		if (i >= len)
			return jl_fail(p, JSONL_E_EOL, i);
		fr = &p->st[depth - 1];
		if (s[i] == ',') {
			i = jl_ws(s, len, i + 1);
			if (i >= len)
				return jl_fail(p, JSONL_E_EOL, i);
			if (fr->is_obj) {
				rc = jl_member(p, s, len, &i, fr, &node);
				if (rc)
					return rc;
			} else {
				node = fr->elem;
			}
			continue;
		}
		if (s[i] != (fr->is_obj ? '}' : ']'))
			return jl_fail(p, JSONL_E_SYNTAX, i);
		depth--;
		i++;
		if (jl_close(p, fr, i, false))
			return -ENOMEM;
		goto after;
	}
}

/* ---- values ---- */

int jsonl_str_decode(const uint8_t *s, size_t len, struct spot_buf *out)
{
	size_t i = 0;
	bool esc;
	enum jsonl_err e;
	struct spot_buf dec;

	if (len < 2 || s[0] != '"')
		return -EINVAL;
	spot_buf_init(&dec);
	e = jl_string(s, len, &i, &esc, &dec);
	if (!e && i != len)
		e = JSONL_E_TRAILING;
	if (!e && !esc && spot_buf_append(out, s + 1, len - 2))
		e = JSONL_E_NOMEM;
	if (!e && esc && spot_buf_append(out, dec.p, dec.len))
		e = JSONL_E_NOMEM;
	spot_buf_fini(&dec);
	return !e ? 0 : e == JSONL_E_NOMEM ? -ENOMEM : -EINVAL;
}

int jsonl_str_encode(const uint8_t *p, size_t len, struct spot_buf *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, run;
	int rc = spot_buf_reserve(out, len + 2);

	if (!rc)
		rc = spot_buf_putc(out, '"');
	while (!rc && i < len) {
		uint8_t c = p[i];
		char e[6] = { '\\', 'u', '0', '0', 0, 0 };

		for (run = i; run < len && p[run] >= 0x20 && p[run] < 0x80 &&
			      p[run] != '"' && p[run] != '\\';
		     run++)
			;
		if (run > i) {
			rc = spot_buf_append(out, p + i, run - i);
			i = run;
			continue;
		}
		if (c >= 0x80) {
			size_t n = jl_utf8(p + i, len - i);

			rc = n ? spot_buf_append(out, p + i, n)
			       : spot_buf_append(out, "\\ufffd", 6);
			i += n ? n : 1;
			continue;
		}
		i++;
		switch (c) {
		case '"':
			rc = spot_buf_append(out, "\\\"", 2);
			break;
		case '\\':
			rc = spot_buf_append(out, "\\\\", 2);
			break;
		case '\n':
			rc = spot_buf_append(out, "\\n", 2);
			break;
		case '\r':
			rc = spot_buf_append(out, "\\r", 2);
			break;
		case '\t':
			rc = spot_buf_append(out, "\\t", 2);
			break;
		default:
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			rc = spot_buf_append(out, e, 6);
		}
	}
	return rc ? rc : spot_buf_putc(out, '"');
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jsonl.h - the JSON Lines codec: a validating, non-recursive tokenizer of
 * one record (one line) at a time, the table of field paths the records
 * hold, and the JSON string encoder and decoder the rewriter needs.
 *
 * The input is hostile (a file anyone who can write the source folder
 * made). Everything here is bounds-checked, iterative (an explicit stack
 * of at most JSONL_MAX_DEPTH containers), and reports a malformed line by
 * a fixed reason and a byte offset, never by its content.
 *
 * A record is a JSON object (RFC 8259) on one line. Strings must be valid
 * UTF-8 (no overlong forms, no encoded surrogates, nothing past U+10FFFF);
 * a \u escape of a surrogate must be a high one followed by a low one (a
 * lone surrogate cannot be turned into UTF-8 for the masking methods, so
 * it is an error). Two keys of one object that decode to the same bytes
 * are an error: a first-wins or last-wins rule would let a second key
 * carry a raw value past a rule written for the first. Numbers are
 * checked against the JSON grammar and kept as their source text.
 *
 * Field paths: every leaf value (string, number, true, false, null) has a
 * path made of its decoded keys joined with '.', and "[]" for an array
 * element: {"messages":[{"content":"x"}]} has the leaf
 * "messages[].content". An empty object or array is a leaf too (kind
 * JSONL_EMPTY): it holds no value, but its key is served, so its path is
 * a column like any other (and a key that looks like personal data is
 * seen). Paths are nodes of a trie (struct jsonl_paths); node 0 is the
 * record itself.
 */
#ifndef SPOT_JSONL_H
#define SPOT_JSONL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spot.h"

#define JSONL_MAX_DEPTH 64		  /* containers open at once */
#define JSONL_MAX_LINE ((size_t)64 << 20) /* bytes of one line, LF excluded */
#define JSONL_MAX_PATHS 65536 /* distinct paths of a file (root aside) */
#define JSONL_ROOT 0u	      /* the node of the record itself */

/* Why a line was refused. Texts by jsonl_err_text; never a value. */
enum jsonl_err {
	JSONL_OK = 0,
	JSONL_E_SYNTAX,	    /* a byte that cannot come here */
	JSONL_E_UNTERM,	    /* a string without its closing quote */
	JSONL_E_UTF8,	    /* invalid UTF-8 in a string */
	JSONL_E_ESCAPE,	    /* a bad escape sequence */
	JSONL_E_SURROGATE,  /* a \u escape of a lone surrogate */
	JSONL_E_CONTROL,    /* a raw control character in a string */
	JSONL_E_NUMBER,	    /* a number outside the JSON grammar */
	JSONL_E_LITERAL,    /* not true, false or null */
	JSONL_E_DEPTH,	    /* nesting deeper than JSONL_MAX_DEPTH */
	JSONL_E_DUPKEY,	    /* a key twice in one object */
	JSONL_E_NOT_OBJECT, /* a record that is not an object */
	JSONL_E_TRAILING,   /* bytes after the record */
	JSONL_E_EOL,	    /* the line ends inside the record */
	JSONL_E_TOO_LONG,   /* a line over JSONL_MAX_LINE */
	JSONL_E_PATHS,	    /* more than JSONL_MAX_PATHS distinct paths */
	JSONL_E_STALE,	    /* a path the discovery pass did not see */
	JSONL_E_NOMEM,
};

const char *jsonl_err_text(enum jsonl_err e);

/* The kind of a leaf value. */
enum jsonl_kind {
	JSONL_STR = 0,
	JSONL_NUM,
	JSONL_TRUE,
	JSONL_FALSE,
	JSONL_NULL,
	JSONL_EMPTY, /* {} or []: no value, but its key is served */
};

/* One leaf of a record, in document order. */
struct jsonl_leaf {
	uint32_t node;	 /* its path */
	uint8_t kind;	 /* enum jsonl_kind */
	bool escaped;	 /* a string holding a backslash escape */
	bool is_int;	 /* a number without fraction or exponent; EMPTY: {} */
	size_t off, end; /* its bytes in the line (a string with quotes) */
};

/*
 * An array of a record that is not inside another array (an outermost
 * array), non-empty, in document order: its path and its bytes in the
 * line, brackets included.
 */
struct jsonl_span {
	uint32_t node;
	size_t off, end;
};

/* ---- the trie of field paths ---- */

struct jsonl_paths;

/* An empty trie (just JSONL_ROOT). 0 or -ENOMEM. */
int jsonl_paths_new(struct jsonl_paths **out);
void jsonl_paths_free(struct jsonl_paths *t);
/* Number of nodes (JSONL_ROOT included). */
uint32_t jsonl_paths_count(const struct jsonl_paths *t);
/* Whether some record has a leaf value at node n. */
bool jsonl_paths_is_leaf(const struct jsonl_paths *t, uint32_t n);
/*
 * The kinds of the leaf values some record has at node n (discovery
 * passes mark them): JSONL_K(kind) for each enum jsonl_kind seen, and
 * for numbers JSONL_K_BIGINT when one is an integer literal of more than
 * 18 characters (it may not fit an int64) and JSONL_K_FRAC when one has
 * a fraction or an exponent; JSONL_K_EMPTY_OBJ when an empty container
 * is {} and JSONL_K_EMPTY_ARR when one is [] (both can be seen).
 */
#define JSONL_K(kind) (1u << (kind))
#define JSONL_K_BIGINT (1u << 6)
#define JSONL_K_FRAC (1u << 7)
#define JSONL_K_EMPTY_OBJ (1u << 8)
#define JSONL_K_EMPTY_ARR (1u << 9)
#define JSONL_INT64_DIGITS 18
unsigned jsonl_paths_kinds(const struct jsonl_paths *t, uint32_t n);
/*
 * The path of node n ("a.b[].c") appended to out. Keys are decoded bytes
 * (they may hold any byte, NUL included). 0 or -ENOMEM.
 */
int jsonl_paths_name(const struct jsonl_paths *t, uint32_t n,
		     struct spot_buf *out);
/*
 * Add every node of src to dst (leaf marks too), in src's node order.
 * 0, -ENOMEM, or -E2BIG past JSONL_MAX_PATHS.
 */
int jsonl_paths_merge(struct jsonl_paths *dst, const struct jsonl_paths *src);
/*
 * jsonl_paths_merge, and map[i] (jsonl_paths_count(src) entries) set to
 * the node of dst that node i of src became.
 */
int jsonl_paths_merge_map(struct jsonl_paths *dst,
			  const struct jsonl_paths *src, uint32_t *map);
/*
 * fn on the decoded key of every node that is a key (not an array
 * element, not the record), each key on its own: the first nonzero
 * result, or 0. (A path joins keys with '.', so a detector run on a path
 * sees "hits.2001:db8::1", not the key "2001:db8::1".)
 */
unsigned jsonl_paths_keys_match(const struct jsonl_paths *t,
				unsigned (*fn)(const uint8_t *p, size_t len));
/* A value per node for the caller (view_jsonl: the column); -1 unset. */
void jsonl_paths_set_tag(struct jsonl_paths *t, uint32_t n, int32_t tag);
int32_t jsonl_paths_tag(const struct jsonl_paths *t, uint32_t n);
/*
 * Give every node of t the tag of the node of from at its path (t holds
 * some of from's paths: the records a filter kept). 0, -ENOMEM, or
 * -ENOENT when a path of t is not in from.
 */
int jsonl_paths_tags_from(struct jsonl_paths *t,
			  const struct jsonl_paths *from);
/* The parent of node n (JSONL_ROOT for the root itself). */
uint32_t jsonl_paths_parent(const struct jsonl_paths *t, uint32_t n);
/* Whether node n is the elements of an array (its segment is "[]"). */
bool jsonl_paths_is_elem(const struct jsonl_paths *t, uint32_t n);

/* ---- the tokenizer ---- */

struct jsonl_parser;

/*
 * A parser over paths. With add, paths it meets are added to the trie
 * (the discovery pass, one trie per thread); without, the trie is only
 * read (it may then be shared by threads) and a path it lacks is
 * JSONL_E_STALE. 0 or -ENOMEM. The parser does not own paths.
 */
int jsonl_parser_new(struct jsonl_paths *paths, bool add,
		     struct jsonl_parser **out);
void jsonl_parser_free(struct jsonl_parser *p);

/*
 * Tokenize and validate one line (s, len), without its line end (a final
 * CR is the caller's: it is JSON white space anyway). Returns 1 for a
 * record (its leaves in jsonl_parser_leaves), 0 for a line of white space
 * only (no record), or -EINVAL with jsonl_parser_error set, -ENOMEM.
 */
int jsonl_parse(struct jsonl_parser *p, const uint8_t *s, size_t len);
const struct jsonl_leaf *jsonl_parser_leaves(const struct jsonl_parser *p,
					     size_t *n);
/* The outermost non-empty arrays of the last record parsed. */
const struct jsonl_span *jsonl_parser_arrays(const struct jsonl_parser *p,
					     size_t *n);
/* Why the last jsonl_parse failed, and the byte (0-based) of the line. */
enum jsonl_err jsonl_parser_error(const struct jsonl_parser *p, size_t *at);

/* ---- values ---- */

/*
 * The bytes a validated string token (s, len: the quotes included)
 * stands for, appended to out. 0 or -ENOMEM (-EINVAL for a token the
 * parser did not accept).
 */
int jsonl_str_decode(const uint8_t *s, size_t len, struct spot_buf *out);
/*
 * (p, len) as a JSON string appended to out: valid UTF-8 as is, '"' and
 * '\\' escaped, control bytes as \n, \t... or \u00XX, every byte that is
 * not part of valid UTF-8 as \ufffd (so any bytes give valid JSON, and a
 * method's output can never end the string or the record). 0 or -ENOMEM.
 */
int jsonl_str_encode(const uint8_t *p, size_t len, struct spot_buf *out);
/* Whether (p, len) is a number by the JSON grammar. */
bool jsonl_is_number(const uint8_t *p, size_t len);

#endif /* SPOT_JSONL_H */

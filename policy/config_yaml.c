/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config_yaml.c - YAML bytes to a bounded tree of nodes (config_i.h).
 *
 * libyaml's document API turns aliases into shared nodes that can no longer
 * be told apart, so we build our own tree from the event stream: that lets us
 * refuse an anchor at its first event (an alias bomb dies on its first line),
 * stop at CFG_MAX_DEPTH before the parser goes any deeper, and cap the size
 * of every collection and of the whole document.
 */
#include "config_i.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

struct cfgy_frame {
	struct cfg_node *node;
	struct spot_buf kids; /* struct cfg_node * array */
};

struct cfgy {
	struct cfg_tree *t;
	const char *path;
	struct spot_err *err;
	const uint8_t *p;
	size_t len;
	struct cfgy_frame stack[CFG_MAX_DEPTH];
	unsigned depth;
	size_t nodes;
	unsigned ndocs;
};

__attribute__((format(printf, 4, 5))) static int
cfgy_fail(struct cfgy *y, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_err_vat(y->err, y->path, line, col, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static unsigned cfgy_line(const yaml_mark_t *m)
{
	return (unsigned)m->line + 1;
}

static unsigned cfgy_col(const yaml_mark_t *m)
{
	return (unsigned)m->column + 1;
}

/* Reader errors (bad UTF-8, control bytes) carry a byte offset only. */
static void cfgy_offset_pos(const struct cfgy *y, size_t off, unsigned *line,
			    unsigned *col)
{
	size_t i, bol = 0;
	unsigned l = 1;

	if (off > y->len)
		off = y->len;
	for (i = 0; i < off; i++) {
		if (y->p[i] == '\n') {
			l++;
			bol = i + 1;
		}
	}
	*line = l;
	*col = (unsigned)(off - bol) + 1;
}

static int cfgy_syntax(struct cfgy *y, const yaml_parser_t *ps)
{
	unsigned line, col;

	if (ps->error == YAML_MEMORY_ERROR) {
		spot_err_set(y->err, "%s: out of memory", y->path);
		return -ENOMEM;
	}
	if (ps->error == YAML_READER_ERROR) {
		cfgy_offset_pos(y, ps->problem_offset, &line, &col);
		return cfgy_fail(y, line, col, "YAML error: %s",
				 ps->problem ? ps->problem : "unreadable text");
	}
	line = cfgy_line(&ps->problem_mark);
	col = cfgy_col(&ps->problem_mark);
	if (ps->context)
		return cfgy_fail(y, line, col, "YAML syntax error: %s %s",
				 ps->problem ? ps->problem : "", ps->context);
	return cfgy_fail(y, line, col, "YAML syntax error: %s",
			 ps->problem ? ps->problem : "malformed");
}

static struct cfg_node *cfgy_node_new(struct cfgy *y, enum cfg_node_kind kind,
				      const yaml_mark_t *m)
{
	struct cfg_node *n;

	if (++y->nodes > CFG_MAX_NODES) {
		cfgy_fail(y, cfgy_line(m), cfgy_col(m),
			  "config too large: more than %u YAML nodes",
			  CFG_MAX_NODES);
		return NULL;
	}
	n = spot_arena_alloc(&y->t->arena, sizeof(*n));
	if (!n) {
		spot_err_set(y->err, "%s: out of memory", y->path);
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->line = cfgy_line(m);
	n->col = cfgy_col(m);
	return n;
}

static int cfgy_attach(struct cfgy *y, struct cfg_node *n)
{
	struct cfgy_frame *f;
	size_t have, max;

	if (!y->depth) {
		y->t->root = n;
		return 0;
	}
	f = &y->stack[y->depth - 1];
	have = f->kids.len / sizeof(n);
	max = f->node->kind == CFG_NODE_MAP ? 2 * (size_t)CFG_MAX_ITEMS
					    : CFG_MAX_ITEMS;
	if (f->node->kind == CFG_NODE_MAP && have % 2 == 0 &&
	    n->kind != CFG_NODE_SCALAR)
		return cfgy_fail(y, n->line, n->col,
				 "mapping keys must be plain strings");
	if (have >= max)
		return cfgy_fail(
			y, n->line, n->col, "more than %u entries in one %s",
			CFG_MAX_ITEMS,
			f->node->kind == CFG_NODE_MAP ? "mapping" : "sequence");
	if (spot_buf_append(&f->kids, &n, sizeof(n))) {
		spot_err_set(y->err, "%s: out of memory", y->path);
		return -ENOMEM;
	}
	return 0;
}

static int cfgy_key_cmp(const void *a, const void *b)
{
	const struct cfg_node *x = *(struct cfg_node *const *)a;
	const struct cfg_node *z = *(struct cfg_node *const *)b;
	int r = strcmp(x->s, z->s);

	if (r)
		return r;
	if (x->line != z->line)
		return x->line < z->line ? -1 : 1;
	return x->col < z->col ? -1 : x->col > z->col;
}

/* Sort, then report the repeat that comes first in the file. */
int cfg_node_dups(struct cfg_node *const *nodes, size_t n, size_t stride,
		  const struct cfg_node **dup, const struct cfg_node **first)
{
	struct cfg_node **v;
	size_t i, g = 0;

	*dup = *first = NULL;
	if (n < 2)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = nodes[i * stride];
	qsort(v, n, sizeof(*v), cfgy_key_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(v[g]->s, v[i]->s)) {
			g = i; /* v[g] starts a run of equal names */
			continue;
		}
		if (!*dup || v[i]->line < (*dup)->line ||
		    (v[i]->line == (*dup)->line && v[i]->col < (*dup)->col)) {
			*dup = v[i];
			*first = v[g];
		}
	}
	free(v);
	return 0;
}

static int cfgy_check_dups(struct cfgy *y, const struct cfg_node *map)
{
	const struct cfg_node *dup, *first;

	if (cfg_node_dups(map->kids, map->n / 2, 2, &dup, &first)) {
		spot_err_set(y->err, "%s: out of memory", y->path);
		return -ENOMEM;
	}
	if (dup)
		return cfgy_fail(y, dup->line, dup->col,
				 "duplicate key '%.80s' (first at %u:%u)",
				 dup->s, first->line, first->col);
	return 0;
}

static int cfgy_push(struct cfgy *y, enum cfg_node_kind kind,
		     const yaml_mark_t *m)
{
	struct cfg_node *n;

	if (y->depth >= CFG_MAX_DEPTH)
		return cfgy_fail(y, cfgy_line(m), cfgy_col(m),
				 "nesting deeper than %d levels",
				 CFG_MAX_DEPTH);
	n = cfgy_node_new(y, kind, m);
	if (!n)
		return -EINVAL;
	y->stack[y->depth].node = n;
	spot_buf_init(&y->stack[y->depth].kids);
	y->depth++;
	return 0;
}

static int cfgy_pop(struct cfgy *y)
{
	struct cfgy_frame *f = &y->stack[y->depth - 1];
	struct cfg_node *n = f->node;
	int rc;

	n->n = f->kids.len / sizeof(n);
	if (n->n) {
		n->kids = spot_arena_dup(&y->t->arena, f->kids.p, f->kids.len);
		if (!n->kids) {
			spot_err_set(y->err, "%s: out of memory", y->path);
			return -ENOMEM;
		}
	}
	spot_buf_fini(&f->kids);
	y->depth--;
	if (n->kind == CFG_NODE_MAP) {
		rc = cfgy_check_dups(y, n);
		if (rc)
			return rc;
	}
	return cfgy_attach(y, n);
}

static int cfgy_scalar(struct cfgy *y, const yaml_event_t *ev)
{
	struct cfg_node *n;
	size_t len = ev->data.scalar.length;

	if (memchr(ev->data.scalar.value, 0, len))
		return cfgy_fail(y, cfgy_line(&ev->start_mark),
				 cfgy_col(&ev->start_mark),
				 "NUL byte in a string");
	n = cfgy_node_new(y, CFG_NODE_SCALAR, &ev->start_mark);
	if (!n)
		return -EINVAL;
	n->s = spot_arena_dup(&y->t->arena, ev->data.scalar.value, len + 1);
	if (!n->s) {
		spot_err_set(y->err, "%s: out of memory", y->path);
		return -ENOMEM;
	}
	n->s[len] = 0;
	n->len = len;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	return cfgy_attach(y, n);
}

static int cfgy_event(struct cfgy *y, const yaml_event_t *ev)
{
	unsigned line = cfgy_line(&ev->start_mark);
	unsigned col = cfgy_col(&ev->start_mark);
	const yaml_char_t *anchor = NULL;

	if (ev->type == YAML_SCALAR_EVENT)
		anchor = ev->data.scalar.anchor;
	else if (ev->type == YAML_SEQUENCE_START_EVENT)
		anchor = ev->data.sequence_start.anchor;
	else if (ev->type == YAML_MAPPING_START_EVENT)
		anchor = ev->data.mapping_start.anchor;
	if (anchor || ev->type == YAML_ALIAS_EVENT)
		return cfgy_fail(y, line, col,
				 "anchors and aliases are not supported");

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (y->ndocs++)
			return cfgy_fail(y, line, col,
					 "only one YAML document is allowed");
		return 0;
	case YAML_SCALAR_EVENT:
		return cfgy_scalar(y, ev);
	case YAML_SEQUENCE_START_EVENT:
		return cfgy_push(y, CFG_NODE_SEQ, &ev->start_mark);
	case YAML_MAPPING_START_EVENT:
		return cfgy_push(y, CFG_NODE_MAP, &ev->start_mark);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return cfgy_pop(y);
	case YAML_STREAM_END_EVENT:
		if (!y->t->root || cfg_node_is_null(y->t->root))
			return cfgy_fail(y, line, col, "empty config");
		return 0;
	default:
		return 0;
	}
}

int cfg_tree_parse(struct cfg_tree *t, const char *path, const uint8_t *p,
		   size_t len, struct spot_err *err)
{
	struct cfgy y = {
		.t = t, .path = path, .err = err, .p = p, .len = len
	};
	yaml_parser_t ps;
	yaml_event_t ev;
	int rc = 0, done = 0;

	spot_arena_init(&t->arena);
	t->root = NULL;
	if (!yaml_parser_initialize(&ps)) {
		spot_err_set(err, "%s: out of memory", path);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&ps, p, len);
	while (!rc && !done) {
		if (!yaml_parser_parse(&ps, &ev)) {
			rc = cfgy_syntax(&y, &ps);
			break;
		}
		rc = cfgy_event(&y, &ev);
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	while (y.depth) /* unwind on error */
		spot_buf_fini(&y.stack[--y.depth].kids);
	yaml_parser_delete(&ps);
	if (rc)
		t->root = NULL;
	return rc;
}

void cfg_err_vat(struct spot_err *err, const char *path, unsigned line,
		 unsigned col, const char *fmt, va_list ap)
{
	char msg[SPOT_ERR_MAX];
	unsigned char *q;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line)
		spot_err_set(err, "%s:%u:%u: %s", path, line, col, msg);
	else
		spot_err_set(err, "%s: %s", path, msg);
	if (!err)
		return;
	/* Names come from the file: keep terminal escapes out of messages. */
	for (q = (unsigned char *)err->msg; *q; q++)
		if (*q < 0x20 || *q == 0x7f)
			*q = '?';
}

void cfg_tree_fini(struct cfg_tree *t)
{
	spot_arena_fini(&t->arena);
	t->root = NULL;
}

struct cfg_node *cfg_node_get(const struct cfg_node *map, const char *key)
{
	size_t i;

	if (!map || map->kind != CFG_NODE_MAP)
		return NULL;
	for (i = 0; i + 1 < map->n; i += 2)
		if (!strcmp(map->kids[i]->s, key))
			return map->kids[i + 1];
	return NULL;
}

bool cfg_node_is_null(const struct cfg_node *n)
{
	if (!n || n->kind != CFG_NODE_SCALAR || !n->plain)
		return false;
	return !n->len || !strcmp(n->s, "~") || !strcmp(n->s, "null") ||
	       !strcmp(n->s, "Null") || !strcmp(n->s, "NULL");
}

/* ---- typed access for config.c ---- */

int cfg_fail(struct cfg_ctx *x, const struct cfg_node *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_err_vat(x->err, x->path, n ? n->line : 0, n ? n->col : 0, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int cfg_fail_at(struct cfg_ctx *x, unsigned line, unsigned col, const char *fmt,
		...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_err_vat(x->err, x->path, line, col, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int cfg_oom(struct cfg_ctx *x)
{
	spot_err_set(x->err, "%s: out of memory", x->path);
	return -ENOMEM;
}

static const char *cfg_kind_name(enum cfg_node_kind k)
{
	return k == CFG_NODE_MAP   ? "a mapping"
	       : k == CFG_NODE_SEQ ? "a sequence"
				   : "a string";
}

int cfg_expect(struct cfg_ctx *x, const struct cfg_node *n,
	       enum cfg_node_kind k, const char *what)
{
	if (n->kind == k)
		return 0;
	return cfg_fail(x, n, "expected %s for %s, found %s", cfg_kind_name(k),
			what, cfg_kind_name(n->kind));
}

int cfg_check_keys(struct cfg_ctx *x, const struct cfg_node *map,
		   const char *const *allowed, const char *what)
{
	char list[256];
	size_t i, j, off;

	for (i = 0; i < map->n; i += 2) {
		for (j = 0; allowed[j]; j++)
			if (!strcmp(map->kids[i]->s, allowed[j]))
				break;
		if (allowed[j])
			continue;
		list[0] = 0;
		for (j = 0, off = 0; allowed[j] && off < sizeof(list); j++)
			off += (size_t)snprintf(list + off, sizeof(list) - off,
						"%s%s", j ? ", " : "",
						allowed[j]);
		return cfg_fail(x, map->kids[i],
				"unknown key '%.80s' in %s (allowed: %s)",
				map->kids[i]->s, what, list);
	}
	return 0;
}

int cfg_str(struct cfg_ctx *x, const struct cfg_node *n, const char *what,
	    const char **out)
{
	int rc = cfg_expect(x, n, CFG_NODE_SCALAR, what);

	if (rc)
		return rc;
	if (!n->len)
		return cfg_fail(x, n, "%s needs a value", what);
	*out = n->s;
	return 0;
}

int cfg_strdup(struct cfg_ctx *x, const char *s, char **out)
{
	*out = strdup(s);
	return *out ? 0 : cfg_oom(x);
}

int cfg_bool(struct cfg_ctx *x, const struct cfg_node *n, const char *what,
	     bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes",
					   "YES",  "on",   "On",   "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No",
					  "NO",	   "off",   "Off",   "OFF" };
	size_t i;
	int rc = cfg_expect(x, n, CFG_NODE_SCALAR, what);

	if (rc)
		return rc;
	for (i = 0; i < SPOT_ARRAY_SIZE(yes); i++) {
		if (!strcmp(n->s, yes[i]) || !strcmp(n->s, no[i])) {
			*out = !strcmp(n->s, yes[i]);
			return 0;
		}
	}
	return cfg_fail(x, n, "%s must be true or false, not '%.40s'", what,
			n->s);
}

int cfg_duration(struct cfg_ctx *x, const struct cfg_node *n, const char *what,
		 uint64_t *out)
{
	const char *s = "";
	int rc = cfg_str(x, n, what, &s);

	if (rc)
		return rc;
	rc = spot_parse_duration(s, out);
	if (rc == -ERANGE)
		return cfg_fail(x, n, "%s '%.40s' is too long", what, s);
	if (rc)
		return cfg_fail(x, n,
				"bad duration '%.40s' for %s (use s, m, h, d, "
				"e.g. 90s, 2h, 1h30m)",
				s, what);
	if (!*out)
		return cfg_fail(x, n, "%s must be longer than 0s", what);
	return 0;
}

size_t cfg_list_len(const struct cfg_node *n)
{
	return n->kind == CFG_NODE_SEQ ? n->n : 1;
}

const struct cfg_node *cfg_list_at(const struct cfg_node *n, size_t i)
{
	return n->kind == CFG_NODE_SEQ ? n->kids[i] : n;
}

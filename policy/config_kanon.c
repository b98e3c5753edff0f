/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config_kanon.c - the k_anonymity key of a dataset or a SQLite table:
 * `k_anonymity: { quasi: [zip, dob, gender], k: 5 }` (see plan_kanon.c
 * for what it does to a view).
 */
#include "config_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CFG_KANON_MAX_QUASI 32
#define CFG_KANON_MAX_K 1000000

void cfg_kanon_free(struct cfg_kanon *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->nquasi; i++)
		free(k->quasi[i]);
	free(k->quasi);
	free(k);
}

static int cfg_kanon_k(struct cfg_ctx *x, const struct cfg_node *n,
		       uint64_t *out)
{
	char *end;
	unsigned long long v;
	const char *s;
	int rc = cfg_str(x, n, "k", &s);

	if (rc)
		return rc;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || s[0] == '-' || v < 2 || v > CFG_KANON_MAX_K)
		return cfg_fail(x, n, "k must be a whole number from 2 to %d",
				CFG_KANON_MAX_K);
	*out = v;
	return 0;
}

int cfg_kanon_parse(struct cfg_ctx *x, const struct cfg_node *n,
		    struct cfg_kanon **out)
{
	static const char *const keys[] = { "quasi", "k", NULL };
	const struct cfg_node *q, *kn, *dup, *first;
	struct cfg_kanon *k;
	const char *s;
	int rc;

	if (!n || cfg_node_is_null(n))
		return 0;
	if ((rc = cfg_expect(x, n, CFG_NODE_MAP, "k_anonymity")) ||
	    (rc = cfg_check_keys(x, n, keys, "k_anonymity")))
		return rc;
	q = cfg_node_get(n, "quasi");
	kn = cfg_node_get(n, "k");
	if (!q || !kn || !cfg_list_len(q) || cfg_node_is_null(q))
		return cfg_fail(x, n,
				"k_anonymity needs quasi: [columns] and k: N");
	if (cfg_list_len(q) > CFG_KANON_MAX_QUASI)
		return cfg_fail(x, q, "k_anonymity: at most %d quasi columns",
				CFG_KANON_MAX_QUASI);
	if (q->kind == CFG_NODE_MAP)
		return cfg_fail(x, q, "quasi must be a list of column names");
	if (q->kind == CFG_NODE_SEQ) {
		if ((rc = cfg_node_dups(q->kids, q->n, 1, &dup, &first)))
			return cfg_oom(x);
		if (dup)
			return cfg_fail(x, dup,
					"quasi column '%.80s' is listed "
					"twice",
					dup->s);
	}
	k = calloc(1, sizeof(*k));
	if (!k || !(k->quasi = calloc(cfg_list_len(q), sizeof(*k->quasi)))) {
		free(k);
		return cfg_oom(x);
	}
	*out = k;
	k->line = n->line;
	k->col = n->col;
	for (size_t i = 0; i < cfg_list_len(q); i++) {
		if ((rc = cfg_str(x, cfg_list_at(q, i), "a quasi column",
				  &s)) ||
		    (rc = cfg_strdup(x, s, &k->quasi[i])))
			return rc;
		k->nquasi++;
	}
	return cfg_kanon_k(x, kn, &k->k);
}

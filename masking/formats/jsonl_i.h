/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jsonl_i.h - what the JSON Lines tokenizer (jsonl.c) needs of the trie
 * of field paths (jsonl_paths.c). Private to masking/formats/.
 */
#ifndef SPOT_JSONL_I_H
#define SPOT_JSONL_I_H

#include "jsonl.h"

/*
 * The child of parent: its array elements (is_arr), or key (p, len),
 * decoded. Added when add (else JSONL_E_STALE if missing); JSONL_E_PATHS
 * past the limits, JSONL_E_NOMEM.
 */
enum jsonl_err jsonl_paths_child(struct jsonl_paths *t, bool add,
				 uint32_t parent, bool is_arr, const uint8_t *p,
				 size_t len, uint32_t *out);
/* Whether node n is the key (p, len), decoded, of parent. */
bool jsonl_paths_key_is(const struct jsonl_paths *t, uint32_t n,
			uint32_t parent, const uint8_t *p, size_t len);
/* Mark node n as holding a leaf value of kinds (jsonl_paths_kinds bits). */
void jsonl_paths_mark_leaf(struct jsonl_paths *t, uint32_t n, unsigned kinds);

#endif /* SPOT_JSONL_I_H */

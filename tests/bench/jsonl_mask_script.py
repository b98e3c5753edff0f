# SPDX-License-Identifier: LGPL-2.1-or-later
"""The masking a Python stdlib script does to a JSON Lines file, to compare
spotfs with (issue 15).

  jsonl_mask_script.py IN OUT   IN masked to OUT: user.email and user.name
                                replaced by a keyed BLAKE2b (16 hex
                                characters), one json.loads and one
                                json.dumps per line, the rest as read
"""
import hashlib
import json
import sys

KEY = b"benchmark key, not a secret: 32b"  # 32 bytes, as spotfs's hash key


def h(v):
    return hashlib.blake2b(v.encode(), key=KEY, digest_size=8).hexdigest()


with open(sys.argv[1], encoding="utf-8") as fi, \
        open(sys.argv[2], "w", encoding="utf-8") as fo:
    for line in fi:
        if not line.strip():
            fo.write(line)
            continue
        r = json.loads(line)
        u = r.get("user")
        if isinstance(u, dict):
            if isinstance(u.get("email"), str):
                u["email"] = h(u["email"])
            if isinstance(u.get("name"), str):
                u["name"] = h(u["name"])
        fo.write(json.dumps(r, ensure_ascii=False) + "\n")

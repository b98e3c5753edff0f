# SPDX-License-Identifier: LGPL-2.1-or-later
"""The masking a Python stdlib script does, to compare spotfs with (issue 12).

  mask_script.py IN OUT       IN masked to OUT: email keyed BLAKE2b (16 hex
                              characters), ssn all but the last 4 digits
                              masked, phone redacted; other columns as read
"""
import csv
import hashlib
import sys

KEY = b"benchmark key, not a secret: 32b"  # 32 bytes, as spotfs's hash key

src, dst = sys.argv[1], sys.argv[2]
with open(src, newline="") as fi, open(dst, "w", newline="") as fo:
    rd, wr = csv.reader(fi), csv.writer(fo, lineterminator="\n")
    head = next(rd)
    wr.writerow(head)
    e, s, p = head.index("email"), head.index("ssn"), head.index("phone")
    for row in rd:
        row[e] = hashlib.blake2b(row[e].encode(), key=KEY,
                                 digest_size=8).hexdigest()
        row[s] = "***-**-" + row[s][-4:]
        row[p] = "[REDACTED]"
        wr.writerow(row)

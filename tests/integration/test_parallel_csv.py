# SPDX-License-Identifier: LGPL-2.1-or-later
"""Parallel CSV view builds through a real mount: a large masked CSV
(quoted line breaks, doubled quotes, CRLF lines, a BOM; noise seeded by
row, a Lua column function reading another column, a Lua row filter) is
served byte for byte the same with threads: 1, 2 and 4, and a malformed
large file fails with the same message (line number included)."""
import hashlib
import os
import random
import re

import pytest

ROWS = 260_000  # ~24 MB: several 8 MiB parts

CONFIG = """
source: @SRC@
secret: @KEY@
threads: @THREADS@
datasets:
  big.csv:
    policy: @POL@/cols.lua
    columns:
      id: keep
      email: { method: hash, length: 16 }
      ssn: { method: mask, pattern: "***-**-####" }
      amount: { method: noise, epsilon: 1.0, sensitivity: 1000 }
      note: { policy: note }
      country: keep
  filtered.csv:
    policy: @POL@/rows.lua
    columns:
      id: keep
      email: { method: hash, length: 16 }
      ssn: { method: mask, pattern: "***-**-####" }
      amount: { method: noise, epsilon: 1.0, sensitivity: 1000 }
      note: { method: redact }
      country: keep
  bad.csv:
    columns:
      id: keep
      email: { method: hash }
      ssn: keep
      amount: keep
      note: keep
      country: keep
"""

COLS_LUA = """
columns = {
  note = function(value, row, ctx)
    return mask.hash(value .. "|" .. row.id, 12) .. ":" ..
           mask.noise(row.amount, {epsilon=1.0, sensitivity=100})
  end
}
"""

ROWS_LUA = """
function row(r, ctx) return tonumber(r.id) % 3 ~= 0 and r.country ~= "FR" end
"""

NOTES = ['plain note', '"two\nlines"', '"crlf\r\ninside, with comma"',
         '"say ""hi"" twice"', '""', '"\n"', 'ab"c', '"x,y,z"']


def make_csv(rows, bad_row=None):
    rnd = random.Random(7)
    out = ["\ufeffid,email,ssn,amount,note,country\r\n"]
    for i in range(rows):
        eol = "\r\n" if rnd.random() < 0.3 else "\n"
        if i == bad_row:
            out.append("%d,only,three%s" % (i, eol))
            continue
        out.append("%d,user%07d@example.com,%03d-%02d-%04d,%d.%02d,%s,%s%s" % (
            i, i, 100 + i % 800, 10 + i % 80, i % 10000, rnd.randrange(100000),
            i % 100, rnd.choice(NOTES), rnd.choice(["DE", "FR", "US", "NL"]),
            eol))
    return "".join(out).encode()


@pytest.fixture(scope="module")
def data():
    return make_csv(ROWS), make_csv(ROWS // 2, bad_row=ROWS // 2 - 5)


def build_all(sandbox, tmp_path, data, threads):
    big, bad = data
    key = tmp_path / "secret.bin"
    if not key.exists():
        key.write_bytes(bytes(range(32)))
        os.chmod(key, 0o600)
    pol = tmp_path / "pol"
    pol.mkdir(exist_ok=True)
    (pol / "cols.lua").write_text(COLS_LUA)
    (pol / "rows.lua").write_text(ROWS_LUA)
    s = sandbox("t%d" % threads)
    s.write("big.csv", big)
    s.write("filtered.csv", big)
    s.write("bad.csv", bad)
    s.write_config(CONFIG.replace("@KEY@", str(key))
                   .replace("@THREADS@", str(threads))
                   .replace("@POL@", str(pol)))
    s.mount()
    got = {}
    for name in ("big.csv", "filtered.csv"):
        with open(s.path(name), "rb") as f:
            got[name] = f.read()
    with pytest.raises(OSError) as e:
        with open(s.path("bad.csv"), "rb") as f:
            f.read()
    got["bad.errno"] = e.value.errno
    s.unmount()
    got["bad.log"] = sorted(set(re.findall(r"bad\.csv: line \d+: [^\n]*",
                                           s.read_log())))
    s.assert_clean_log()
    return got


def test_parallel_csv_views_identical_for_1_2_4_threads(sandbox, tmp_path,
                                                         data):
    runs = {t: build_all(sandbox, tmp_path, data, t) for t in (1, 2, 4)}
    one = runs[1]
    big = data[0]
    # The views are masked: no raw e-mail, ssn or note of the source.
    assert b"@example.com" not in one["big.csv"]
    assert b"user0000001" not in one["filtered.csv"]
    assert one["big.csv"].startswith(b"\xef\xbb\xbfid,email,ssn,amount,note")
    assert one["big.csv"].count(b"\r\n") > 1000  # CRLF lines kept
    # The row filter dropped rows: about 1/3 by id, then FR.
    kept = one["filtered.csv"].count(b"\n")
    assert 0.3 * big.count(b"\n") < kept < 0.6 * big.count(b"\n")
    assert one["bad.log"] and "expected 6 fields, found 3" in one["bad.log"][0]
    for t in (2, 4):
        for name in ("big.csv", "filtered.csv"):
            a, b = one[name], runs[t][name]
            assert len(a) == len(b) and a == b, (
                "%s differs with threads: %d (%s vs %s)" % (
                    name, t, hashlib.sha256(b).hexdigest()[:12],
                    hashlib.sha256(a).hexdigest()[:12]))
        assert runs[t]["bad.errno"] == one["bad.errno"]
        assert runs[t]["bad.log"] == one["bad.log"], (t, runs[t]["bad.log"])

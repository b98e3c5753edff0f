# SPDX-License-Identifier: LGPL-2.1-or-later
"""JSON Lines numbers at the edges: kept numbers past a double's range in
the Parquet form, round and noise on numbers a double cannot hold (exact
or refused, never silently wrong), shift on a number (a Unix time in
seconds), and the BOM of the served JSON Lines form."""
import calendar
import errno
import json
import re

import pytest

from conftest import HAVE_DUCKDB, duck, spotfs


def read(s, name):
    with open(s.path(name), "rb") as f:
        return f.read()


def eio(s, name):
    with pytest.raises(OSError) as e:
        read(s, name)
    assert e.value.errno == errno.EIO


LONG = "0." + "0" * 80 + "15"  # 84 characters: past any fixed buffer


@pytest.mark.skipif(not HAVE_DUCKDB, reason="DuckDB for Node is not installed")
def test_parquet_doubles_past_the_range_are_ieee_nearest(sandbox, tmp_path):
    """A kept number becomes the nearest double under IEEE rounding:
    underflow gives a subnormal or a signed zero, overflow a signed
    infinity (as json.loads and JSON.parse read them); the column stays
    DOUBLE, at the top, in a struct and in a list, and a number's text of
    any length is read."""
    s = sandbox("edges")
    s.write("x.jsonl",
            '{"id": 1, "v": 1e-320, "s": {"w": -1E-400}, "l": [1e309, 2.5]}\n'
            '{"id": 2, "v": -1e400, "s": {"w": 4.9406564584124654e-324}, "l": [-1e999]}\n'
            '{"id": 3, "v": %s, "s": {"w": %s}, "l": [%s]}\n' % (LONG, LONG, LONG))
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n"
                   "  x.jsonl: { as: [jsonl, parquet], unlisted_columns: keep }\n")
    s.mount()
    assert read(s, "x.jsonl") == open(s.src + "/x.jsonl", "rb").read()
    p = s.path("x.parquet")
    types = duck(tmp_path, "SELECT column_name, column_type FROM (DESCRIBE "
                 "SELECT * FROM read_parquet('%s'))" % p)
    assert dict(types) == {"id": "BIGINT", "v": "DOUBLE", "s": "STRUCT(w DOUBLE)",
                           "l": "DOUBLE[]"}, types
    got = duck(tmp_path,
               "SELECT id, v, isinf(v), sign(v), s.w, signbit(s.w), "
               "isinf(l[1]), sign(l[1]), len(l), l[-1] "
               "FROM read_parquet('%s') ORDER BY id" % p)
    # JSON.stringify writes an infinity as null: isinf and sign say which.
    assert got[0][:6] == [1, 1e-320, False, 1, 0.0, True], got[0]
    assert got[0][6:] == [True, 1, 2, 2.5], got[0]
    assert got[1][:6] == [2, None, True, -1, 5e-324, False], got[1]
    assert got[1][6:9] == [True, -1, 1], got[1]
    assert got[2] == [3, 1.5e-81, False, 1, 1.5e-81, False, False, 1, 1, 1.5e-81], got[2]


def test_round_and_noise_are_exact_past_a_double_or_refused(sandbox):
    """round and noise work on the number's decimal digits, not a double:
    exact up to 36 significant digits (ties a double misses rounded half
    away from zero), refused past them, never off by a double's rounding."""
    s = sandbox("past")
    cases = [  # (number, step or None for noise, served or None: refused)
        ("123456789012345678901234567890.5", "1", "123456789012345678901234567891"),
        ("9007199254740993.5", "1", "9007199254740994"),
        ("-12345678901234567895", "10", "-12345678901234567900"),
        ("0.15", "0.1", "0.2"),
        ("1.005", "0.01", "1.01"),
        ("0.30000000000000004", "0.01", "0.30"),
        ("2.5e3", "1", "2500"),
        ("1e300", "1", None),
        ("1234567890123456789012345678901234567.5", "1", None),
        ("123456789012345678901234567890.5", None, "1234567890123456789012345"),
        ("12345678901234567890", None, "1234567890123456"),
        ("1e300", None, None),
        ("1234567890123456789012345678901234567", None, None),
    ]
    cfg = "source: @SRC@\nttl: 1h\ndatasets:\n"
    for i, (num, step, want) in enumerate(cases):
        s.write("c%d.jsonl" % i, '{"v": %s}\n' % num)
        rule = ("{ method: round, step: %s }" % step if step else
                "{ method: noise, epsilon: 1.0, sensitivity: 100 }")
        cfg += "  c%d.jsonl:\n    columns:\n      v: %s\n" % (i, rule)
    s.write_config(cfg)
    s.mount()
    for i, (num, step, want) in enumerate(cases):
        n = "c%d.jsonl" % i
        if want is None:
            eio(s, n)
        elif step:
            assert read(s, n) == b'{"v": %s}\n' % want.encode(), (num, step)
        else:
            out = re.fullmatch(rb'\{"v": (-?[0-9.]+)\}\n', read(s, n))
            assert out, read(s, n)
            v = out.group(1).decode()
            # Noise of scale 100 moves the last digits only: every other
            # digit is the source's (a double would change the 17th on),
            # and the places are the source's.
            assert v.startswith(want) and len(v) == len(num), (num, v)
    log = s.read_log()
    for num, _, _ in cases:
        assert num not in log
    r = spotfs("preview", "-c", s.config, "c8.jsonl")
    assert r.returncode != 0 and "cannot mask this value" in r.stderr, r.stderr
    assert "1234567890123" not in r.stdout + r.stderr


def test_noise_on_numbers_a_double_holds_stays_a_number(sandbox):
    s = sandbox("noiseok")
    s.write("n.jsonl", '{"a": 1.25, "b": 0.1000000000000000055511151231257827, "c": 7}\n')
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n  n.jsonl:\n    columns:\n"
                   "      a: { method: noise, epsilon: 1.0, sensitivity: 1 }\n"
                   "      b: keep\n"
                   "      c: { method: noise, epsilon: 1.0, sensitivity: 1 }\n")
    s.mount()
    rec = json.loads(read(s, "n.jsonl"))
    assert isinstance(rec["a"], float) and isinstance(rec["c"], int)
    # keep serves the source's text, however many digits.
    assert b"0.1000000000000000055511151231257827" in read(s, "n.jsonl")


def test_shift_reads_a_number_as_unix_seconds(sandbox):
    """A JSON number under shift is a Unix time in seconds (integer or
    with a fraction), moved by the same days as a date of the same entity,
    and served as a number; exponents, times past 9999 (milliseconds read
    as seconds) and strings of digits fail the read."""
    s = sandbox("shiftnum")
    rows = []
    for i in range(6):
        day = "2020-%02d-%02d" % (1 + i, 10 + i)
        t = calendar.timegm((2020, 1 + i, 10 + i, 8, 30, 0))
        rows.append({"u": "user%d" % (i % 3), "d": day, "t": t, "f": "%d.250" % t,
                     "n": -86400 * (i + 1) - 1})
    s.write("s.jsonl", "".join(
        '{"u": "%s", "d": "%s", "t": %d, "f": %s, "n": %d}\n'
        % (r["u"], r["d"], r["t"], r["f"], r["n"]) for r in rows))
    s.write("s2.jsonl", "".join('{"u": "user%d", "t": 1600000000}\n' % i
                                for i in range(20)))
    s.write("exp.jsonl", '{"t": 1.7e9}\n')
    s.write("ms.jsonl", '{"t": 1700000000000}\n')
    s.write("str.jsonl", '{"t": "1700000000"}\n')
    s.write("day.jsonl", '{"day": 20200229}\n')
    rule = "{ method: shift, max: 30d, per: u }"
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n"
                   "  s.jsonl:\n    columns:\n      u: keep\n"
                   "      d: %s\n      t: %s\n      f: %s\n      n: %s\n"
                   "  s2.jsonl:\n    columns:\n      u: keep\n      t: %s\n"
                   "  exp.jsonl: { columns: { t: { method: shift, max: 30d } } }\n"
                   "  ms.jsonl: { columns: { t: { method: shift, max: 30d } } }\n"
                   "  str.jsonl: { columns: { t: { method: shift, max: 30d } } }\n"
                   "  day.jsonl: { columns: { day: { method: shift, max: 30d } } }\n"
                   % (rule, rule, rule, rule, rule))
    s.mount()
    data = read(s, "s.jsonl").decode()
    lines = data.splitlines()
    moved = set()
    for r, line in zip(rows, lines):
        out = json.loads(line)
        # Numbers stay numbers, the fraction's digits as written.
        m = re.search(r'"t": (-?\d+), "f": (-?\d+)\.250, "n": (-?\d+)\}$', line)
        assert m, line
        days = (calendar.timegm(tuple(int(x) for x in out["d"].split("-")) + (0, 0, 0))
                - calendar.timegm(tuple(int(x) for x in r["d"].split("-")) + (0, 0, 0))) // 86400
        assert 1 <= abs(days) <= 30
        for k in ("t", "n"):
            assert out[k] - r[k] == days * 86400, (k, r, out)
        assert int(m.group(2)) - r["t"] == days * 86400
        moved.add((r["u"], days))
    assert len({u for u, _ in moved}) == len(moved) == 3  # one offset a user
    # Each user's own offset, not one for the whole file: the per: field
    # is read from each record (20 users: all alike by chance ~ 60^-19).
    ts = {json.loads(l)["t"] for l in read(s, "s2.jsonl").splitlines()}
    assert len(ts) > 1, ts
    for r in rows:
        assert '"t": %d,' % r["t"] not in data
    for n in ("exp.jsonl", "ms.jsonl", "str.jsonl"):
        eio(s, n)
    day = json.loads(read(s, "day.jsonl"))["day"]
    assert isinstance(day, int) and day != 20200229 and abs(day - 20200229) <= 30 * 86400
    assert "1700000000" not in s.read_log()


def test_shift_of_typed_numbers_in_sqlite_and_the_parquet_form(sandbox, tmp_path):
    """The same rule on other typed numbers: a SQLite INTEGER column is
    a Unix time too, moved by the entity's days as its date column (served
    as the shifted number's text: shift's column is not typed, as for
    dates); the Parquet form of JSON Lines serves the shifted number's
    text; a CSV cell is text and must be a date, as before."""
    import sqlite3
    s = sandbox("shifttyped")
    db = s.write("v.db", b"")
    con = sqlite3.connect(db)
    con.execute("create table v (pid text, day text, t integer)")
    truth = []
    for i in range(8):
        t = calendar.timegm((2021, 3, 1 + i, 0, 0, 0))
        truth.append(("p%d" % (i % 2), "2021-03-%02d" % (1 + i), t))
    con.executemany("insert into v values (?,?,?)", truth)
    con.commit()
    con.close()
    s.write("j.jsonl", "".join('{"pid": "%s", "t": %d}\n' % (p, t) for p, _, t in truth))
    s.write("c.csv", "pid,t\np0,1614556800\n")
    rule = "{ method: shift, max: 60d, per: pid }"
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n"
                   "  v.db:\n    tables:\n      v:\n        columns:\n"
                   "          pid: keep\n          day: %s\n          t: %s\n"
                   "  j.jsonl:\n    as: [jsonl, parquet]\n    columns:\n"
                   "      pid: keep\n      t: %s\n"
                   "  c.csv:\n    columns:\n      pid: keep\n      t: %s\n"
                   % (rule, rule, rule, rule))
    s.mount()
    out = str(tmp_path / "served.db")
    with open(s.path("v.db"), "rb") as f, open(out, "wb") as g:
        g.write(f.read())
    con = sqlite3.connect(out)
    rows = con.execute("select pid, day, t, typeof(t) from v order by rowid").fetchall()
    con.close()
    jl = [json.loads(l) for l in read(s, "j.jsonl").splitlines()]
    for (pid, day, t), (p2, d2, t2, ty), rec in zip(truth, rows, jl):
        assert p2 == pid and ty == "text" and re.fullmatch(r"\d+", t2), (t2, ty)
        t2 = int(t2)
        days = (calendar.timegm(tuple(int(x) for x in d2.split("-")) + (0, 0, 0)) - t) // 86400
        assert 1 <= abs(days) <= 60 and t2 - t == days * 86400, (day, d2, t, t2)
        assert rec["t"] == t2  # the same entity, the same days, any format
    if HAVE_DUCKDB:
        got = duck(tmp_path, "SELECT t FROM read_parquet('%s')" % s.path("j.parquet"))
        assert [int(r[0]) for r in got] == [r["t"] for r in jl]
    eio(s, "c.csv")


def test_bom_is_not_served_so_pandas_and_duckdb_read_the_file(sandbox, tmp_path):
    import pandas as pd
    s = sandbox("bom")
    body = b'{"id": 1, "e": "a@x.example"}\r\n{"id": 2, "e": "b@x.example"}\r\n'
    s.write("b.jsonl", b"\xef\xbb\xbf" + body)
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n"
                   "  b.jsonl:\n    as: [jsonl, csv]\n    columns:\n"
                   "      id: keep\n      e: { method: email }\n")
    s.mount()
    out = read(s, "b.jsonl")
    assert out == body.replace(b'"a@', b'"a***@').replace(b'"b@', b'"b***@')
    df = pd.read_json(s.path("b.jsonl"), lines=True)
    assert list(df["id"]) == [1, 2] and list(df["e"]) == ["a***@x.example", "b***@x.example"]
    assert read(s, "b.csv").startswith(b"e,id\r\n") or read(s, "b.csv").startswith(b"e,id\n")
    if HAVE_DUCKDB:
        got = duck(tmp_path, "SELECT id, e FROM read_json('%s', format='newline_delimited')"
                   % s.path("b.jsonl"))
        assert got == [[1, "a***@x.example"], [2, "b***@x.example"]]

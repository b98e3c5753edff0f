# SPDX-License-Identifier: LGPL-2.1-or-later
"""sample: a deterministic per-sandbox row sample through a real mount.

The same rows for every role and every read (and with a Lua row filter,
the sample's rows that pass it), about the share asked for, a subset of
the source rows, other rows under another secret; bad values are refused
by spotfs check with the dataset named."""
import os
import sqlite3

from conftest import spotfs


def secret(s, b):
    p = os.path.join(s.base, s.src + ".secret")
    with open(p, "wb") as f:
        f.write(bytes([b]) * 32)
    os.chmod(p, 0o600)
    return p


def read_ids(path):
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines[0] == "id,grp,v"
    return [line.split(",") for line in lines[1:]]


CSV = "id,grp,v\n" + "".join("%d,%s,%d\n" % (i, "ab"[i % 2], i * 7)
                            for i in range(3000))


def config(s, key, extra=""):
    s.write_config(
        "source: @SRC@\nsecret: %s\nroles:\n  steward: { users: [root] }\n"
        "default_role: analyst\n"
        "datasets:\n  d.csv:\n    sample: 0.1\n%s"
        "    columns: { id: keep, grp: keep, v: keep }\n" % (key, extra))


def test_sample_same_rows_every_role_and_read(sandbox):
    s = sandbox()
    s.write("d.csv", CSV)
    key = secret(s, 1)
    config(s, key)
    s.mount()
    try:
        first = read_ids(s.path("d.csv"))
        second = read_ids(s.path("d.csv"))
    finally:
        s.unmount()
    s.assert_clean_log()
    assert first == second
    assert 230 < len(first) < 370, len(first)
    src = {r[0]: r for r in (line.split(",") for line in
                             CSV.splitlines()[1:])}
    assert all(src[r[0]] == r for r in first)  # source rows, unchanged
    ids = [int(r[0]) for r in first]
    assert ids == sorted(ids)
    # Another role (preview as the default role, not the mount's root):
    r = spotfs("preview", "-c", s.config, "d.csv", "--rows", "100000",
               "--role", "analyst")
    assert r.returncode == 0, r.stderr
    assert [line.split(",") for line in r.stdout.splitlines()[1:]] == first
    # The same config, a new sandbox: the same rows (stable secret).
    s.mount()
    try:
        assert read_ids(s.path("d.csv")) == first
    finally:
        s.unmount()
    # Another secret picks other rows.
    config(s, secret(s, 2))
    r = spotfs("preview", "-c", s.config, "d.csv", "--rows", "100000")
    other = [line.split(",") for line in r.stdout.splitlines()[1:]]
    assert 230 < len(other) < 370
    assert len({x[0] for x in other} & {x[0] for x in first}) < 80


def test_sample_with_row_filter_and_sqlite(sandbox, tmp_path):
    s = sandbox()
    s.write("d.csv", CSV)
    lua = os.path.join(s.base, "keep_a.lua")
    with open(lua, "w") as f:
        f.write("function row(r, ctx) return r.grp == 'a' end\n")
    db = s.write("t.db", b"")
    con = sqlite3.connect(db)
    con.execute("create table t (id integer, v text)")
    con.executemany("insert into t values (?, ?)",
                    [(i, "x%d" % i) for i in range(2000)])
    con.commit()
    con.close()
    key = secret(s, 3)
    s.write_config(
        "source: @SRC@\nsecret: %s\ndatasets:\n"
        "  d.csv:\n    sample: 0.2\n    policy: %s\n"
        "    columns: { id: keep, grp: keep, v: keep }\n"
        "  t.db:\n    sample: 0.5\n    tables:\n"
        "      t: { columns: { id: keep, v: keep } }\n" % (key, lua))
    s.mount()
    try:
        rows = read_ids(s.path("d.csv"))
        with open(s.path("t.db"), "rb") as f:
            served = str(tmp_path / "t.db")
            with open(served, "wb") as g:
                g.write(f.read())
    finally:
        s.unmount()
    s.assert_clean_log()
    assert rows and all(r[1] == "a" for r in rows)
    assert 200 < len(rows) < 400, len(rows)  # 0.2 of the 1500 'a' rows
    con = sqlite3.connect(served)
    n = con.execute("select count(*) from t").fetchone()[0]
    con.close()
    assert 850 < n < 1150, n


def test_sample_bad_value_named(sandbox):
    s = sandbox()
    s.write("d.csv", CSV)
    for bad in ("0", "1.5", "ten", "-0.1"):
        s.write_config("source: @SRC@\ndatasets:\n  d.csv:\n"
                       "    sample: %s\n    columns: { id: keep }\n" % bad)
        r = spotfs("check", "-c", s.config)
        assert r.returncode != 0
        assert "dataset 'd.csv': sample:" in r.stderr, r.stderr

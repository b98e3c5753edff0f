# SPDX-License-Identifier: LGPL-2.1-or-later
"""Parquet datasets through a real mount, read by DuckDB: every codec,
format version and encoding DuckDB writes, masked columns rewritten and
free of raw values (data, statistics, anywhere in the bytes), unmasked
columns identical, random access, hostile files failing cleanly."""
import errno
import json
import os
import random
import subprocess

import pytest

from conftest import ROOT, spotfs, node, duck, needs_duckdb
from conftest import NODE_MODULES  # noqa: F401 (test_leaks_parquet takes it from here)

MASKED = ["email", "name"]

pytestmark = needs_duckdb



@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    d = tmp_path_factory.mktemp("pqfix")
    node(os.path.join(ROOT, "tests/fixtures/make_parquet.mjs"), str(d), "6000")
    return d


@pytest.fixture
def pq(sandbox, fixtures):
    s = sandbox("pq")
    files = sorted(f for f in os.listdir(fixtures) if f.endswith(".parquet"))
    for f in files:
        s.write(f, open(os.path.join(fixtures, f), "rb").read())
    cfg = "source: @SRC@\nunlisted_columns: keep\ndatasets:\n"
    for f in files:
        cfg += ("  %s:\n    columns:\n      email: { method: hash }\n"
                "      name:  { method: redact, text: \"[N]\" }\n" % f)
    s.write_config(cfg)
    s.files = files
    s.raw = json.load(open(os.path.join(fixtures, "rows.json")))
    s.mount()
    return s


def test_every_fixture_reads_back_masked(pq):
    assert len(pq.files) == 20
    for f in pq.files:
        out = json.loads(node(os.path.join(ROOT, "tests/integration/pq_check.mjs"),
                              os.path.join(pq.src, f), pq.path(f), ",".join(MASKED)))
        assert out["count_served"] == out["count_src"] == 6000, (f, out)
        assert out["unmasked_diff"] == 0, (f, out)
        for c in MASKED:
            m = out["masked"][c]
            assert m["equal_to_source"] == 0, (f, c, m)
            assert not m["stats_present"], (f, c, m)
        assert all(len(v) == 16 for v in out["masked"]["email"]["sample"]), out
        assert out["masked"]["name"]["sample"] == ["[N]"] * 3, out


def test_no_raw_value_in_any_byte(pq):
    raws = [v.encode() for v in pq.raw]
    for f in pq.files:
        data = open(pq.path(f), "rb").read()
        assert data[:4] == b"PAR1" and data[-4:] == b"PAR1"
        leaked = [v for v in raws[::7] if v in data]
        assert not leaked, (f, leaked[:3])


def test_random_offsets_match_full_read(pq):
    rng = random.Random(7)
    for f in pq.files[:6]:
        p = pq.path(f)
        data = open(p, "rb").read()
        assert os.stat(p).st_size == len(data)
        fd = os.open(p, os.O_RDONLY)
        try:
            for _ in range(40):
                off = rng.randrange(0, len(data))
                n = rng.randrange(1, 200_000)
                assert os.pread(fd, n, off) == data[off:off + n], (f, off, n)
        finally:
            os.close(fd)
        assert open(p, "rb").read() == data, "two reads give the same bytes"


@pytest.mark.parametrize("damage", ["truncated", "footer_len", "footer_outside",
                                    "thrift_garbage", "encrypted", "not_parquet"])
def test_hostile_files_fail_cleanly(sandbox, fixtures, damage):
    good = open(os.path.join(fixtures, "t_snappy_v1_dict.parquet"), "rb").read()
    flen = int.from_bytes(good[-8:-4], "little")
    if damage == "truncated":
        bad = good[:len(good) // 2]
    elif damage == "footer_len":
        bad = good[:-8] + (0x7fffffff).to_bytes(4, "little") + b"PAR1"
    elif damage == "footer_outside":
        bad = good[:-8] + (len(good) + 10).to_bytes(4, "little") + b"PAR1"
    elif damage == "thrift_garbage":
        start = len(good) - 8 - flen
        bad = good[:start] + bytes([0xff] * flen) + good[-8:]
    elif damage == "encrypted":
        bad = good[:-4] + b"PARE"
    else:
        bad = b"PAR1" + b"\0" * 100
    s = sandbox("bad")
    s.write("bad.parquet", bad)
    s.write("good.parquet", good)
    s.write_config("source: @SRC@\nunlisted_columns: keep\ndatasets:\n  bad.parquet:\n    columns:\n"
                   "      email: { method: hash }\n  good.parquet:\n    columns:\n"
                   "      email: { method: hash }\n")
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 1 and "bad.parquet" in r.stdout, r.stdout + r.stderr
    s.mount()
    with pytest.raises(OSError) as e:
        open(s.path("bad.parquet"), "rb").read()
    assert e.value.errno == errno.EIO
    assert open(s.path("good.parquet"), "rb").read()[:4] == b"PAR1"


def test_preview_matches_the_served_file(sandbox, fixtures, tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(os.urandom(32))
    os.chmod(secret, 0o600)
    s = sandbox("pv")
    s.write("t.parquet", open(os.path.join(fixtures, "t_zstd_v1_dict.parquet"), "rb").read())
    s.write_config("source: @SRC@\nunlisted_columns: keep\nsecret: %s\ndatasets:\n  t.parquet:\n    columns:\n"
                   "      email: { method: hash }\n      name:  { method: fake, kind: name }\n"
                   % secret)
    r = spotfs("preview", "-c", s.config, "t.parquet", "--rows", "5")
    assert r.returncode == 0, r.stderr
    import csv as csvmod
    import io
    prev = list(csvmod.DictReader(io.StringIO(r.stdout)))
    assert len(prev) == 5
    s.mount()
    script = os.path.join(str(tmp_path), "head.mjs")
    with open(script, "w") as f:
        f.write("import { createRequire } from 'node:module';\n"
                "import { pathToFileURL } from 'node:url';\n"
                "const require = createRequire(import.meta.url);\n"
                "const { DuckDBInstance } = await import(pathToFileURL(require.resolve("
                "'@duckdb/node-api', { paths: (process.env.NODE_PATH || '').split(':') })).href);\n"
                "const c = await (await DuckDBInstance.create(':memory:')).connect();\n"
                "const r = await c.runAndReadAll(`SELECT email, name FROM '%s' LIMIT 5`);\n"
                "console.log(JSON.stringify(r.getRows()));\n" % s.path("t.parquet"))
    served = json.loads(node(script))
    assert [[p["email"], p["name"] or None] for p in prev] == \
        [[e, n] for e, n in served], (prev, served)



def test_row_filter_and_whole_row_policy(sandbox, fixtures, tmp_path):
    s = sandbox("rf")
    flat = os.path.join(s.src, "flat.parquet")
    duck(tmp_path, "COPY (SELECT * EXCLUDE (tags) FROM '%s') TO '%s' (FORMAT parquet, "
         "COMPRESSION zstd, ROW_GROUP_SIZE 1000)"
         % (os.path.join(fixtures, "t_snappy_v2_plain.parquet"), flat))
    s.write("listy.parquet", open(os.path.join(fixtures, "t_snappy_v1_dict.parquet"), "rb").read())
    pol = os.path.join(s.base, "rf.lua")
    with open(pol, "w") as f:
        f.write("columns = { email = function(v, row) return mask.hash(v) .. ':' .. "
                "(row.city or '?') end }\n"
                "function row(r, ctx) return r.city ~= 'Oslo' end\n")
    s.write_config("source: @SRC@\nunlisted_columns: keep\ndatasets:\n  flat.parquet:\n    policy: %s\n"
                   "  listy.parquet:\n    policy: %s\n" % (pol, pol))
    s.mount()
    served = s.path("flat.parquet")
    src_kept = duck(tmp_path, "SELECT count(*) FROM '%s' WHERE city <> 'Oslo'" % flat)[0][0]
    got = duck(tmp_path, "SELECT count(*), count(*) FILTER (WHERE city = 'Oslo') FROM '%s'"
               % served)[0]
    assert got == [src_kept, 0], got
    same = duck(tmp_path, "SELECT count(*) FROM (SELECT * EXCLUDE (email) FROM '%s' "
                "WHERE city <> 'Oslo' EXCEPT ALL SELECT * EXCLUDE (email) FROM '%s')"
                % (flat, served))[0][0]
    assert same == 0, "kept rows are identical in every unmasked column"
    emails = duck(tmp_path, "SELECT email, city FROM '%s' LIMIT 3" % served)
    assert all(e.endswith(":" + c) and "@" not in e for e, c in emails), emails
    raw = duck(tmp_path, "SELECT email FROM '%s'" % flat)
    data = open(served, "rb").read()
    assert not [e for (e,) in raw[::11] if e.encode() in data]
    # A list column is filtered with its rows: whole lists, in order.
    listy_src = os.path.join(s.src, "listy.parquet")
    listy = s.path("listy.parquet")
    n_src = duck(tmp_path, "SELECT count(*) FROM '%s' WHERE city <> 'Oslo'" % listy_src)[0][0]
    assert duck(tmp_path, "SELECT count(*) FROM '%s'" % listy)[0][0] == n_src
    assert duck(tmp_path, "SELECT count(*) FROM '%s' WHERE city = 'Oslo'" % listy)[0][0] == 0
    for a, b in (("served", "source"), ("source", "served")):
        q = ("SELECT count(*) FROM (SELECT id, tags::VARCHAR FROM %s EXCEPT ALL "
             "SELECT id, tags::VARCHAR FROM %s)")
        sub = {"served": "'%s'" % listy,
               "source": "(SELECT * FROM '%s' WHERE city <> 'Oslo')" % listy_src}
        assert duck(tmp_path, q % (sub[a], sub[b]))[0][0] == 0, (a, b)
    assert duck(tmp_path, "SELECT count(*) FROM '%s' WHERE len(tags) > 1" % listy)[0][0] > 0
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 0, r.stdout


def test_threads_serve_the_same_bytes(sandbox, fixtures, tmp_path):
    """Row groups are built by several workers, each with its own Lua
    state: the served file is byte for byte the one a single thread
    builds, with a whole-row Lua function and a row filter."""
    src = os.path.join(str(tmp_path), "flat.parquet")
    duck(tmp_path, "COPY (SELECT * EXCLUDE (tags) FROM '%s') TO '%s' (FORMAT parquet, "
         "COMPRESSION zstd, ROW_GROUP_SIZE 500)"
         % (os.path.join(fixtures, "t_zstd_v2_dict.parquet"), src))
    pol = os.path.join(str(tmp_path), "p.lua")
    with open(pol, "w") as f:
        f.write("n = 0\n"
                "columns = { email = function(v, row) n = n + 1\n"
                "  return mask.hash(v) .. ':' .. (row.city or '?') end }\n"
                "function row(r, ctx) return r.city ~= 'Oslo' end\n")
    key = os.path.join(str(tmp_path), "secret.key")
    with open(key, "wb") as f:
        f.write(b"k" * 32)
    os.chmod(key, 0o600)
    served = {}
    for threads in (1, 4):
        s = sandbox("t%d" % threads)
        s.write("f.parquet", open(src, "rb").read())
        s.write("g.parquet", open(src, "rb").read())
        s.write_config("source: @SRC@\nunlisted_columns: keep\nsecret: %s\nthreads: %d\ndatasets:\n"
                       "  f.parquet:\n    policy: %s\n"
                       "  g.parquet:\n    columns: { name: hash, email: { method: fake, kind: email } }\n"
                       % (key, threads, pol))
        s.mount()
        served[threads] = [open(s.path(f), "rb").read() for f in ("f.parquet", "g.parquet")]
        s.unmount()
    assert served[1] == served[4]
    kept = duck(tmp_path, "SELECT count(*) FROM '%s' WHERE city <> 'Oslo'" % src)[0][0]
    with open(os.path.join(str(tmp_path), "t.parquet"), "wb") as f:
        f.write(served[4][0])
    assert duck(tmp_path, "SELECT count(*) FROM '%s'"
                % os.path.join(str(tmp_path), "t.parquet"))[0][0] == kept


def test_codec_unit_suite_on_every_fixture(fixtures, tmp_path):
    """The codec's own end-to-end checks (test_parquet with a fixture
    folder, under ASan): pass-through and masked views of every DuckDB
    fixture, random reads, damaged files, and builds on 3 workers that
    must give the same bytes and the same first error."""
    exe = os.path.join(ROOT, "build-asan", "tests", "test_parquet")
    r = subprocess.run([exe, str(fixtures), str(tmp_path)], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "not ok" not in r.stdout
    par = [l for l in r.stdout.splitlines()
           if l.startswith("ok ") and "3 workers build the same bytes" in l]
    assert len(par) == 20, r.stdout[-2000:]


def _audit_paths(mnt):
    r = spotfs("list", "--json", "--all")
    sid = [e["id"] for e in json.loads(r.stdout)
           if e.get("mountpoint") == os.path.realpath(mnt)][0]
    out = spotfs("audit", "--sandbox", sid, "--json").stdout
    return [json.loads(l).get("path") for l in out.splitlines() if l.strip()]


def test_served_as_csv_and_as_parquet(sandbox, fixtures, tmp_path):
    """as: [parquet, csv] adds ev.csv beside ev.parquet with the same masked
    rows; as: [csv] serves only the CSV form; a CSV dataset with as:
    [csv, parquet] gains people.parquet that DuckDB reads. No raw value of
    a masked column in any form; the audit names the form opened."""
    s = sandbox("as")
    src = os.path.join(fixtures, "t_snappy_v1_dict.parquet")
    s.write("ev.parquet", open(src, "rb").read())
    s.write("sub/only.parquet", open(src, "rb").read())
    emails = ["person%d@raw-as.example" % i for i in range(300)]
    rows = "".join('%d,%s,"Name, %d",%s\n' % (i, e, i, "" if i % 5 == 0 else str(i * 3))
                   for i, e in enumerate(emails))
    s.write("people.csv", "id,email,name,score\n" + rows)
    s.write_config("source: @SRC@\nunlisted_columns: keep\ndatasets:\n"
                   "  ev.parquet:\n    as: [parquet, csv]\n"
                   "    columns: { email: hash, name: { method: redact, text: \"[N]\" } }\n"
                   "  sub/only.parquet:\n    as: [csv]\n    columns: { email: hash, name: redact }\n"
                   "  people.csv:\n    as: [csv, parquet]\n"
                   "    columns: { email: { method: hash, length: 10 } }\n")
    s.mount()
    assert sorted(os.listdir(s.mnt)) == [".spotfs", "ev.csv", "ev.parquet",
                                         "people.csv",
                                         "people.parquet", "sub"]
    assert os.listdir(s.path("sub")) == ["only.csv"]
    with pytest.raises(FileNotFoundError):
        open(s.path("sub/only.parquet"), "rb")
    ev_csv, ev_pq = s.path("ev.csv"), s.path("ev.parquet")
    cols = "id, email, name, city, amount"
    diff = duck(tmp_path, "SELECT count(*) FROM (SELECT %s FROM '%s' EXCEPT ALL "
                "SELECT %s FROM read_csv('%s', all_varchar=true))"
                % (", ".join("CAST(%s AS VARCHAR)" % c for c in cols.split(", ")),
                   ev_pq, cols, ev_csv))[0][0]
    assert diff == 0, "the CSV form holds the Parquet form's rows"
    assert duck(tmp_path, "SELECT count(*) FROM read_csv('%s')" % ev_csv)[0][0] == 6000
    assert duck(tmp_path, "SELECT DISTINCT name FROM read_csv('%s') WHERE name IS NOT NULL"
                % ev_csv) == [["[N]"]]
    raw = json.load(open(os.path.join(fixtures, "rows.json")))
    for f in ("ev.csv", "sub/only.csv"):
        data = open(s.path(f), "rb").read()
        assert not [v for v in raw[::7] if v.encode() in data], f
    # CSV as Parquet: nullable strings, the masked CSV's values.
    pq_rows = duck(tmp_path, "SELECT id, email, name, score FROM '%s' ORDER BY CAST(id AS INT)"
                   % s.path("people.parquet"))
    csv_rows = duck(tmp_path, "SELECT id, email, name, score FROM read_csv('%s', "
                    "all_varchar=true) ORDER BY CAST(id AS INT)" % s.path("people.csv"))
    assert len(pq_rows) == 300
    assert [[r[0], r[1], r[2], r[3] or None] for r in pq_rows] == \
        [[r[0], r[1], r[2], r[3]] for r in csv_rows]
    assert all(len(r[1]) == 10 and "@" not in r[1] for r in pq_rows)
    assert pq_rows[1][2] == "Name, 1" and pq_rows[0][3] in ("", None)
    types = duck(tmp_path, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '%s')"
                 % s.path("people.parquet"))
    assert types == [["id", "VARCHAR"], ["email", "VARCHAR"], ["name", "VARCHAR"],
                     ["score", "VARCHAR"]]
    data = open(s.path("people.parquet"), "rb").read()
    assert data[:4] == b"PAR1" and data[-4:] == b"PAR1"
    assert not [e for e in emails if e.encode() in data]
    # preview takes a converted name: its dataset's rows (random secret:
    # compare shape, not hashes)
    r = spotfs("preview", "-c", s.config, "people.parquet", "--rows", "3")
    assert r.returncode == 0 and r.stdout.splitlines()[0] == "id,email,name,score", r
    assert len(r.stdout.splitlines()) == 4 and "@" not in r.stdout, r.stdout
    paths = _audit_paths(s.mnt)
    assert "ev.csv" in paths and "people.parquet" in paths and "sub/only.csv" in paths, paths
    s.unmount()
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 0 and "ev.csv" in r.stdout and "people.parquet" in r.stdout, r.stdout


def test_as_errors(sandbox, fixtures):
    s = sandbox("aserr")
    s.write("a.parquet", open(os.path.join(fixtures, "t_snappy_v1_dict.parquet"), "rb").read())
    s.write("a.csv", "x\n1\n")
    bad = {
        "  a.parquet:\n    as: [csv]\n  a.csv: ~\n": "as: would serve 'a.csv', which is also a dataset",
        "  a.parquet:\n    as: [json]\n": "unknown output format 'json'",
        "  a.db:\n    format: sqlite\n    as: [csv]\n": "as: is for CSV and Parquet datasets",
        "  a.parquet:\n    as: [parquet, csv]\n  a.pq:\n    as: [csv]\n":
            "as: would serve 'a.csv', which dataset 'a.parquet'",
    }
    for body, msg in bad.items():
        s.write_config("source: @SRC@\nunlisted_columns: keep\ndatasets:\n" + body)
        r = spotfs("check", "-c", s.config)
        assert r.returncode != 0 and msg in (r.stdout + r.stderr), (body, r.stdout, r.stderr)


def test_bloom_filters_of_unmasked_columns_are_served(sandbox, tmp_path):
    """DuckDB writes bloom filters for dictionary columns: an unmasked
    column's filter is served byte for byte at its new offset (readers
    keep skipping row groups with it), a masked column's is dropped (it
    would answer membership questions about raw values)."""
    s = sandbox("bloom")
    f = "b.parquet"
    os.makedirs(s.src, exist_ok=True)
    duck(tmp_path, "COPY (SELECT i AS id, 'name' || (i %% 20) AS name, 'c' || (i %% 5) AS city, "
         "'u' || i || '@raw.example' AS email FROM range(5000) t(i)) TO '%s' "
         "(FORMAT parquet, ROW_GROUP_SIZE 1000)" % os.path.join(s.src, f))
    s.write_config("source: @SRC@\nunlisted_columns: keep\ndatasets:\n  b.parquet:\n    columns: { name: hash }\n")
    s.mount()
    q = ("SELECT row_group_id, path_in_schema, bloom_filter_offset, bloom_filter_length "
         "FROM parquet_metadata('%s') ORDER BY row_group_id, column_id")
    src = duck(tmp_path, q % os.path.join(s.src, f))
    got = duck(tmp_path, q % s.path(f))
    assert [r[:2] for r in src] == [r[:2] for r in got]
    src_data = open(os.path.join(s.src, f), "rb").read()
    data = open(s.path(f), "rb").read()
    kept = dropped = 0
    for a, b in zip(src, got):
        if a[1] == "name":
            assert a[2] is not None and b[2] is None, (a, b)
            dropped += 1
        elif a[2] is not None:
            assert b[3] == a[3], (a, b)
            assert data[b[2]:b[2] + b[3]] == src_data[a[2]:a[2] + a[3]], (a, b)
            kept += 1
    groups = len({r[0] for r in src})
    assert groups >= 2 and kept == dropped == groups, src
    assert duck(tmp_path, "SELECT count(*) FROM '%s' WHERE city = 'c3'" % s.path(f))[0][0] == 1000
    assert duck(tmp_path, "SELECT count(*) FROM '%s' WHERE city = 'c9'" % s.path(f))[0][0] == 0
    assert b"name7" not in data


def test_list_elements_masked_one_by_one(sandbox, fixtures, tmp_path):
    """A YAML method on a list column's leaf masks every element, keeps
    each row's list length and NULLs, and the served file stays a valid
    list column for DuckDB; a Lua column function there is refused with a
    message naming the column."""
    s = sandbox("lm")
    src = os.path.join(fixtures, "t_zstd_v2_dict.parquet")
    s.write("l.parquet", open(src, "rb").read())
    s.write("l2.parquet", open(src, "rb").read())
    pol = os.path.join(s.base, "lm.lua")
    with open(pol, "w") as f:
        f.write("columns = { ['tags.list.element'] = function(v) return 'x' end }\n")
    s.write_config("source: @SRC@\nunlisted_columns: keep\ndatasets:\n"
                   "  l.parquet:\n    columns:\n"
                   "      tags.list.element: { method: hash, length: 12 }\n"
                   "      email: hash\n"
                   "  l2.parquet:\n    policy: %s\n" % pol)
    s.mount()
    served = s.path("l.parquet")
    q = "SELECT id, len(tags), tags IS NULL FROM '%s' ORDER BY id"
    assert duck(tmp_path, q % served) == duck(tmp_path, q % src)
    elems = duck(tmp_path, "SELECT DISTINCT unnest(tags) AS e FROM '%s'" % served)
    raw = duck(tmp_path, "SELECT DISTINCT unnest(tags) AS e FROM '%s'" % src)
    assert elems and all(e is None or (len(e) == 12 and int(e, 16) >= 0) for (e,) in elems)
    assert len([e for (e,) in elems if e]) == len([e for (e,) in raw if e]), "one hash per value"
    same = duck(tmp_path, "SELECT count(*) FROM (SELECT unnest(tags) FROM '%s' INTERSECT "
                "SELECT unnest(tags) FROM '%s')" % (served, src))[0][0]
    assert same == 0
    # preview and the served file agree on the flat columns; the list is empty in CSV
    with pytest.raises(OSError) as e:
        open(s.path("l2.parquet"), "rb").read()
    assert e.value.errno == errno.EIO
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 1 and "tags.list.element" in r.stdout and \
        "not a Lua column function" in r.stdout, r.stdout

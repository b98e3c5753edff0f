# SPDX-License-Identifier: LGPL-2.1-or-later
"""The CSV and Parquet forms of a JSON Lines dataset (as: [jsonl, parquet,
csv]) through a real mount: all three served at once, the same masked
values in every form (arrays as the JSON text of the masked array, so a
value inside an array is masked element by element as in the JSON Lines
form and unlisted fields inside are null), pandas reading the CSV form and
DuckDB the Parquet form, no raw value of a masked field in any byte of any
form (Parquet pages decoded: snappy, stdlib only), and hostile records
(keys with quotes, commas and line feeds, deep nesting, huge arrays)
giving valid files or failing closed without a value."""
import csv
import errno
import io
import json
import os

import pytest

from conftest import HAVE_DUCKDB, duck, needs_duckdb, spotfs
from test_parquet_mount import _audit_paths

N = 200


def records():
    out = []
    for i in range(N):
        email = "rawmail%04d@raw.example" % i
        out.append({
            "id": i,
            "user": {"email": email, "age": 20 + i % 40,
                     "nick": "rawnick%04d" % i},
            "tags": ["rawtag%04d" % i, "rawtag%04dB" % i],
            "messages": [
                {"role": "user", "content": "I am %s" % email,
                 "name": "rawmsgname%04d" % i},
                {"role": "assistant", "content": "Hello.",
                 "scores": [1, 2.5, None]},
            ],
            "flag": bool(i % 2),
        })
    return out


RULES = ("      id: keep\n"
         "      user.email: { method: hash }\n"
         "      user.age: { method: noise }\n"
         "      \"tags[]\": { method: tokenize }\n"
         "      \"messages[].role\": keep\n"
         "      \"messages[].content\": { method: pii }\n"
         "      \"messages[].scores[]\": keep\n"
         "      flag: keep\n")


def raw_values():
    vals = set()
    for r in records():
        vals |= {r["user"]["email"], r["user"]["nick"],
                 r["messages"][0]["name"]}
        vals |= set(r["tags"])
    return vals


def mount(sandbox, tmp_path, forms, data=None, rules=RULES, extra=""):
    s = sandbox()
    secret = tmp_path / "secret"
    secret.write_bytes(b"s" * 32)
    os.chmod(secret, 0o600)
    s.write("train.jsonl", data if data is not None else
            "".join(json.dumps(r) + "\n" for r in records()))
    s.write_config("source: @SRC@\nttl: 1h\nsecret: %s\ndefault: hide\n"
                   "datasets:\n  train.jsonl:\n    as: [%s]\n%s"
                   "    columns:\n%s" % (secret, forms, extra, rules))
    s.mount()
    return s


def read(s, name):
    with open(s.path(name), "rb") as f:
        return f.read()


# ---- Parquet pages, decoded (stdlib only) ----

def _uvarint(b, i):
    n = shift = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return n, i


def _skip(b, i, t):
    """Skip a Thrift compact value of type t at b[i]; the index after."""
    if t in (1, 2):
        return i
    if t == 3:
        return i + 1
    if t in (4, 5, 6):
        return _uvarint(b, i)[1]
    if t == 7:
        return i + 8
    if t == 8:
        n, i = _uvarint(b, i)
        return i + n
    if t in (9, 10):
        h = b[i]
        i += 1
        n, et = h >> 4, h & 15
        if n == 15:
            n, i = _uvarint(b, i)
        for _ in range(n):
            i = _skip(b, i, et)
        return i
    if t == 12:
        return _struct(b, i)[1]
    raise ValueError("thrift type %d" % t)


def _struct(b, i):
    """Fields (ints only) of the compact struct at b[i], and its end."""
    fid, out = 0, {}
    while True:
        h = b[i]
        i += 1
        if h == 0:
            return out, i
        t = h & 15
        fid = fid + (h >> 4) if h >> 4 else None
        if fid is None:
            z, i = _uvarint(b, i)
            fid = (z >> 1) ^ -(z & 1)
        if t in (5, 6):
            z, i = _uvarint(b, i)
            out[fid] = (z >> 1) ^ -(z & 1)
        else:
            i = _skip(b, i, t)


def unsnappy(b):
    n, i = _uvarint(b, 0)
    out = bytearray()
    while i < len(b):
        tag = b[i]
        i += 1
        kind = tag & 3
        if kind == 0:
            ln = tag >> 2
            if ln >= 60:
                k = ln - 59
                ln = int.from_bytes(b[i:i + k], "little")
                i += k
            ln += 1
            out += b[i:i + ln]
            i += ln
            continue
        if kind == 1:
            ln = 4 + ((tag >> 2) & 7)
            off = ((tag >> 5) << 8) | b[i]
            i += 1
        elif kind == 2:
            ln = (tag >> 2) + 1
            off = int.from_bytes(b[i:i + 2], "little")
            i += 2
        else:
            ln = (tag >> 2) + 1
            off = int.from_bytes(b[i:i + 4], "little")
            i += 4
        for _ in range(ln):
            out.append(out[-off])
    assert len(out) == n, "snappy length"
    return bytes(out)


def parquet_plain(data):
    """Every page of a Parquet file, decompressed, and the footer."""
    assert data[:4] == b"PAR1" and data[-4:] == b"PAR1"
    flen = int.from_bytes(data[-8:-4], "little")
    foot = len(data) - 8 - flen
    i, out, pages, snappy = 4, [data[foot:]], 0, 0
    while i < foot:
        hdr, j = _struct(data, i)
        csize = hdr[3]
        body = data[j:j + csize]
        out.append(data[i:j])
        out.append(body)  # as stored, and decoded when it is snappy
        try:
            out.append(unsnappy(body))
            snappy += 1
        except (IndexError, AssertionError):
            pass
        i = j + csize
        pages += 1
    assert i == foot and pages, "pages walk to the footer"
    assert snappy, "the pages are snappy: the scan decoded some"
    return b"".join(out)


def nonull(v):
    """v without the null members of its objects (a struct's field a
    record lacks is null: absent and null are one in Parquet)."""
    if isinstance(v, dict):
        return {k: nonull(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [nonull(x) for x in v]
    return v


def no_raw(data, what):
    leaked = [v for v in raw_values() if v.encode() in data]
    assert not leaked, (what, sorted(leaked)[:3])


# ---- tests ----

def test_three_forms_are_served_with_the_same_values(sandbox, tmp_path):
    s = mount(sandbox, tmp_path, "jsonl, parquet, csv")
    assert sorted(os.listdir(s.mnt)) == [".spotfs", "train.csv",
                                         "train.jsonl", "train.parquet"]
    recs = [json.loads(x) for x in read(s, "train.jsonl").splitlines()]
    assert len(recs) == N
    raw = read(s, "train.csv").decode()
    rows = list(csv.DictReader(io.StringIO(raw)))
    assert list(rows[0].keys()) == ["flag", "id", "messages", "tags", "user"]
    assert len(rows) == N
    for r, row in zip(recs, rows):
        assert row["id"] == str(r["id"]) and row["flag"] in ("true", "false")
        user = json.loads(row["user"])
        assert user["email"] == r["user"]["email"], "same hash"
        assert user["age"] == r["user"]["age"], "same noise"
        assert user["nick"] is None and r["user"]["nick"] is None
        assert user == r["user"]
        assert json.loads(row["tags"]) == r["tags"], "same tokens"
        msgs = json.loads(row["messages"])
        assert msgs == r["messages"], "each element masked as in jsonl"
        assert msgs[0]["name"] is None, "unlisted inside an array: null"
        assert msgs[1]["scores"] == [1, 2.5, None]
        assert "[EMAIL]" in msgs[0]["content"]
    assert rows[0]["tags"] != json.dumps(records()[0]["tags"])
    read(s, "train.parquet")
    import pandas as pd
    df = pd.read_csv(s.path("train.csv"), dtype=str, keep_default_na=False)
    assert len(df) == N and [json.loads(u)["email"] for u in df["user"]] \
        == [r["user"]["email"] for r in recs]
    for name in ("train.jsonl", "train.csv"):
        no_raw(read(s, name), name)
    # Every open is audited under the name opened; the manifest lists all.
    paths = _audit_paths(s.mnt)
    for f in ("train.jsonl", "train.csv", "train.parquet"):
        assert f in paths, (f, paths)
    man = read(s, ".spotfs/manifest.json").decode()
    for f in ("train.jsonl", "train.csv", "train.parquet"):
        assert '"%s"' % f in man, man
    plain = parquet_plain(read(s, "train.parquet"))
    no_raw(plain, "train.parquet")
    # The scan sees the values: every masked one is in the decoded pages.
    assert all(r["user"]["email"].encode() in plain and
               all(t.encode() in plain for t in r["tags"]) for r in recs)


@needs_duckdb
def test_duckdb_reads_the_parquet_form(sandbox, tmp_path):
    s = mount(sandbox, tmp_path, "jsonl, parquet, csv")
    recs = [json.loads(x) for x in read(s, "train.jsonl").splitlines()]
    rows = duck(tmp_path, "SELECT id, user.email, to_json(messages), "
                "to_json(tags), user.nick, user.age, "
                "typeof(tags), typeof(messages) FROM read_parquet('%s') "
                "ORDER BY id" % s.path("train.parquet"))
    assert len(rows) == N
    for r, row in zip(recs, rows):
        assert row[0] == r["id"] and row[1] == r["user"]["email"]
        # a struct holds the union of the keys: a key an element lacks
        # is null there
        assert nonull(json.loads(row[2])) == nonull(r["messages"])
        assert json.loads(row[3]) == r["tags"], "a LIST of strings"
        assert row[6] == "VARCHAR[]", row[6:]
        assert row[7].replace('"', "") == (
            "STRUCT(content VARCHAR, name VARCHAR, role VARCHAR, "
            "scores DOUBLE[])[]"), row[7]
        assert row[4] is None and row[5] == float(r["user"]["age"])
    got = duck(tmp_path, "SELECT messages[1].role, messages[2].scores[2] "
               "FROM read_parquet('%s') LIMIT 1" % s.path("train.parquet"))
    assert got == [["user", 2.5]]
    jl = duck(tmp_path, "SELECT count(*) FROM read_json('%s', format="
              "'newline_delimited')" % s.path("train.jsonl"))
    assert jl == [[N]]


@needs_duckdb
def test_parquet_numbers_are_typed_where_consistent(sandbox, tmp_path):
    data = "".join(json.dumps({
        "i": i, "neg": -i, "d": i / 4, "big": 12345678901234567890 + i,
        "mixed": i if i % 2 else "s%d" % i, "b": bool(i % 2),
        "hashed": 1000 + i, "noisy": 50 + i, "nul": None,
        "n": {"x": i}}) + "\n" for i in range(50))
    rules = ("      i: keep\n      neg: keep\n      d: keep\n"
             "      big: keep\n      mixed: keep\n      b: keep\n"
             "      hashed: { method: hash }\n      noisy: { method: noise }\n"
             "      nul: keep\n      n.x: keep\n")
    s = mount(sandbox, tmp_path, "jsonl, parquet", data=data, rules=rules)
    p = s.path("train.parquet")
    types = dict((r[0], r[1]) for r in duck(
        tmp_path, "SELECT column_name, column_type FROM "
        "(DESCRIBE SELECT * FROM read_parquet('%s'))" % p))
    assert types == {"i": "BIGINT", "neg": "BIGINT", "d": "DOUBLE",
                     "big": "VARCHAR", "mixed": "VARCHAR", "b": "BOOLEAN",
                     "hashed": "VARCHAR", "noisy": "DOUBLE",
                     "nul": "VARCHAR", "n": "STRUCT(x BIGINT)"}, types
    rows = duck(tmp_path, "SELECT i, neg, d, big, n.x, noisy FROM "
                "read_parquet('%s') ORDER BY i" % p)
    recs = [json.loads(x) for x in read(s, "train.jsonl").splitlines()]
    for i, (row, r) in enumerate(zip(rows, recs)):
        assert row[:5] == [i, -i, i / 4, str(12345678901234567890 + i), i]
        assert row[5] == float(r["noisy"]), "the same noise"


def test_row_filter_drops_the_same_records_in_every_form(sandbox, tmp_path):
    pol = tmp_path / "p.lua"
    pol.write_text("function row(r, ctx) return r.id % 3 ~= 0 end\n")
    s = mount(sandbox, tmp_path, "jsonl, csv, parquet",
              extra="    policy: %s\n" % pol)
    recs = [json.loads(x) for x in read(s, "train.jsonl").splitlines()]
    rows = list(csv.DictReader(io.StringIO(read(s, "train.csv").decode())))
    want = [i for i in range(N) if i % 3]
    assert [r["id"] for r in recs] == want
    assert [int(r["id"]) for r in rows] == want
    assert [json.loads(r["messages"]) for r in rows] == \
        [r["messages"] for r in recs]
    no_raw(parquet_plain(read(s, "train.parquet")), "filtered parquet")


def test_scalar_and_array_under_one_key_are_one_column(sandbox, tmp_path):
    data = ('{"v": "rawscalar0001", "n": 1}\n'
            '{"v": ["rawelem0002", {"x": "rawdeep0003"}], "n": 2}\n'
            '{"v": [], "n": 3}\n'
            '{"v": null, "n": {}}\n')
    s = mount(sandbox, tmp_path, "csv, parquet", data=data,
              rules="      v: { method: hash }\n      n: keep\n")
    rows = list(csv.DictReader(io.StringIO(read(s, "train.csv").decode())))
    assert [list(r.keys()) for r in rows][0] == ["n", "v"]
    assert len(rows[0]["v"]) == 16
    arr = json.loads(rows[1]["v"])
    assert len(arr[0]) == 16 and len(arr[1]["x"]) == 16, "hashed inside"
    assert rows[2]["v"] == "[]" and rows[3]["v"] == "" and rows[3]["n"] == "{}"
    for f in ("train.csv", "train.parquet"):
        data = read(s, f)
        if f.endswith("parquet"):
            data = parquet_plain(data)
        assert b"raw" not in data, f


HOSTILE_KEYS = ['a,b', 'q"uote', 'nl\nkey', '=cmd', 'sp ace', '\u00e9t\u00e9']


def test_hostile_keys_give_valid_csv_and_parquet(sandbox, tmp_path):
    recs = []
    for i in range(20):
        r = {k: "rawhk%02d%d" % (i, j) for j, k in enumerate(HOSTILE_KEYS)}
        r["deep"] = [[[[[[[[[[["rawdeep%02d" % i]]]]]]]]]]]
        r["big"] = list(range(i * 1000))
        recs.append(r)
    data = "".join(json.dumps(r) + "\n" for r in recs)
    rules = "".join("      %s: { method: hash }\n" % json.dumps(k)
                    for k in HOSTILE_KEYS)
    rules += ("      \"deep[][][][][][][][][][][]\": { method: hash }\n"
              "      \"big[]\": keep\n")
    s = mount(sandbox, tmp_path, "jsonl, csv, parquet", data=data,
              rules=rules)
    rows = list(csv.DictReader(io.StringIO(read(s, "train.csv").decode())))
    # The formula guard covers the header: '=cmd' is served as "'=cmd".
    keys = [k if k[0] != "=" else "'" + k for k in HOSTILE_KEYS]
    assert sorted(rows[0].keys()) == sorted(keys + ["deep", "big"])
    assert len(rows) == 20
    for i, row in enumerate(rows):
        assert all(len(row[k]) == 16 for k in keys)
        assert json.loads(row["big"]) == list(range(i * 1000))
        d = json.loads(row["deep"])
        for _ in range(10):
            d = d[0]
        assert len(d[0]) == 16
    for f in ("train.jsonl", "train.csv"):
        assert b"rawhk" not in read(s, f) and b"rawdeep" not in read(s, f)
    assert b"rawhk" not in parquet_plain(read(s, "train.parquet"))
    import pandas as pd
    df = pd.read_csv(s.path("train.csv"))
    assert len(df) == 20 and "nl\nkey" in df.columns


@needs_duckdb
def test_hostile_keys_read_by_duckdb(sandbox, tmp_path):
    data = "".join(json.dumps({k: "x%d" % i for k in HOSTILE_KEYS}) + "\n"
                   for i in range(5))
    rules = "".join("      %s: keep\n" % json.dumps(k) for k in HOSTILE_KEYS)
    s = mount(sandbox, tmp_path, "parquet", data=data, rules=rules)
    rows = duck(tmp_path, "SELECT \"q\"\"uote\", \"a,b\" FROM "
                "read_parquet('%s')" % s.path("train.parquet"))
    assert rows == [["x%d" % i] * 2 for i in range(5)]


def test_a_dotted_key_and_an_object_are_two_columns(sandbox, tmp_path):
    """Columns are top-level keys: the key "a.b" and the object a (whose
    field b has the same path, a.b) no longer collide (with dotted
    columns they were refused)."""
    data = ('{"a.b": ["rawcollide1"]}\n'
            '{"a": {"b": "rawcollide2"}}\n')
    s = mount(sandbox, tmp_path, "jsonl, csv, parquet", data=data,
              rules="      \"a.b\": { method: hash }\n"
              "      \"a.b[]\": { method: hash }\n")
    recs = [json.loads(x) for x in read(s, "train.jsonl").splitlines()]
    rows = list(csv.DictReader(io.StringIO(read(s, "train.csv").decode())))
    assert list(rows[0].keys()) == ["a", "a.b"]
    assert rows[0]["a"] == "" and json.loads(rows[0]["a.b"]) == recs[0]["a.b"]
    assert json.loads(rows[1]["a"]) == recs[1]["a"] and rows[1]["a.b"] == ""
    assert len(recs[1]["a"]["b"]) == 16 and len(recs[0]["a.b"][0]) == 16
    for f in ("train.jsonl", "train.csv"):
        assert b"rawcollide" not in read(s, f), f
    assert b"rawcollide" not in parquet_plain(read(s, "train.parquet"))
    if HAVE_DUCKDB:
        p = s.path("train.parquet")
        assert describe(tmp_path, p) == [("a", "STRUCT(b VARCHAR)"),
                                         ("a.b", "VARCHAR[]")]
        got = duck(tmp_path, "SELECT a.b, \"a.b\"[1] FROM "
                   "read_parquet('%s')" % p)
        assert got == [[None, recs[0]["a.b"][0]], [recs[1]["a"]["b"], None]]


def test_as_names_only_forms_of_the_format(sandbox):
    s = sandbox()
    s.write("t.jsonl", '{"a": 1}\n')
    s.write("c.csv", 'a\n1\n')
    s.write_config("source: @SRC@\nttl: 1h\nsecret: random\ndatasets:\n"
                   "  t.jsonl:\n    as: [jsonl, csv, parquet]\n"
                   "    unlisted_columns: keep\n")
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "t.csv" in r.stdout and "t.parquet" in r.stdout
    s.write_config("source: @SRC@\nttl: 1h\nsecret: random\ndatasets:\n"
                   "  c.csv:\n    as: [jsonl]\n")
    r = spotfs("check", "-c", s.config)
    assert r.returncode != 0 and "as: of CSV datasets" in r.stdout + r.stderr


def test_deepest_and_too_deep_records(sandbox, tmp_path):
    # 64 containers (the record counts) is the limit; one more fails.
    deep = '{"d": ' + "[" * 63 + '"rawdeepest"' + "]" * 63 + "}"
    huge = json.dumps({"d": ["rawhuge%06d" % i for i in range(300000)]})
    data = deep + "\n" + huge + "\n"
    s = mount(sandbox, tmp_path, "jsonl, csv, parquet", data=data,
              rules="      \"d" + "[]" * 63 + "\": { method: hash }\n"
              "      \"d[]\": { method: hash }\n")
    csv.field_size_limit(1 << 30)
    rows = list(csv.DictReader(io.StringIO(read(s, "train.csv").decode())))
    assert len(rows) == 2
    v = json.loads(rows[0]["d"])
    for _ in range(62):
        v = v[0]
    assert len(v[0]) == 16
    assert len(json.loads(rows[1]["d"])) == 300000
    for f in ("train.jsonl", "train.csv"):
        assert b"rawdeep" not in read(s, f) and b"rawhuge" not in read(s, f)
    plain = parquet_plain(read(s, "train.parquet"))
    assert b"rawdeep" not in plain and b"rawhuge" not in plain
    s.unmount()

    bad = '{"ok": 1}\n{"d": ' + "[" * 64 + '"rawtoodeep"' + "]" * 64 + "}\n"
    s2 = mount(sandbox, tmp_path, "csv, parquet", data=bad,
               rules="      ok: keep\n      d: { method: hash }\n")
    for f in ("train.csv", "train.parquet"):
        with pytest.raises(OSError) as e:
            read(s2, f)
        assert e.value.errno == errno.EIO, f
    s2.unmount()
    r = spotfs("check", "-c", s2.config)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "line 2: nesting deeper than 64" in out, out
    assert "rawtoodeep" not in out


@needs_duckdb
def test_parquet_lists_of_strings(sandbox, tmp_path):
    recs = []
    for i in range(300):
        recs.append({
            "id": i,
            "tags": (None if i % 7 == 0 else [] if i % 7 == 1 else
                     ["rawt%d" % i, None, "", "\u00e9\"\\\n"] if i % 7 == 2
                     else ["rawt%d_%d" % (i, j) for j in range(i % 5 + 1)]),
            "u": {"codes": ["c%d" % i] * (25000 if i == 150 else 2)},
            "mixed": ["x"] if i % 2 else "rawscalar%d" % i,
            "objs": [{}] if i == 3 else [],
        })
    data = "".join(json.dumps(r) + "\n" for r in recs)
    rules = ("      id: keep\n      \"tags[]\": { method: hash }\n"
             "      \"u.codes[]\": keep\n      mixed: { method: hash }\n"
             "      objs: keep\n")
    s = mount(sandbox, tmp_path, "jsonl, parquet", data=data, rules=rules)
    p = s.path("train.parquet")
    types = dict((r[0], r[1]) for r in duck(
        tmp_path, "SELECT column_name, column_type FROM "
        "(DESCRIBE SELECT * FROM read_parquet('%s'))" % p))
    # objs: elements only ever {} have no shape: strings of JSON text
    assert types == {"id": "BIGINT", "tags": "VARCHAR[]",
                     "u": "STRUCT(codes VARCHAR[])", "mixed": "VARCHAR",
                     "objs": "VARCHAR[]"}, types
    rows = duck(tmp_path, "SELECT id, to_json(tags), to_json(u.codes), "
                "mixed, to_json(objs) FROM read_parquet('%s') ORDER BY id"
                % p)
    got = [json.loads(x) for x in read(s, "train.jsonl").splitlines()]
    assert len(rows) == len(got) == 300
    for row, r in zip(rows, got):
        assert row[0] == r["id"]
        assert (json.loads(row[1]) if row[1] is not None else None) == \
            r["tags"], r["id"]
        assert json.loads(row[2]) == r["u"]["codes"]
        assert (row[3] if isinstance(r["mixed"], str)
                else json.loads(row[3])) == r["mixed"]
        assert [json.loads(o) for o in json.loads(row[4])] == r["objs"]
    assert got[2]["tags"][1] is None and got[1]["tags"] == []
    assert got[0]["tags"] is None
    plain = parquet_plain(read(s, "train.parquet"))
    assert b"rawt" not in plain and b"rawscalar" not in plain
    assert all(t.encode() in plain for t in got[4]["tags"]), "decoded"


# ---- nested forms: top-level columns, structs and lists in Parquet ----

def ft_records(n=120):
    out = []
    for i in range(n):
        r = {
            "id": i,
            "user": {"email": "ftmail%04d@raw.example" % i,
                     "name": "ftname%04d" % i, "age": 20 + i % 50},
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user",
                 "content": "Mail me at ftmail%04d@raw.example" % i},
            ],
            "tags": ["fttag%04d" % i, "common"],
            "scores": [1.5, 2],
            "counts": [i, i + 1],
            "ok": i % 3 != 0,
        }
        out.append(r)
    return out


FT_RULES = ("      id: keep\n"
            "      user.email: { method: hash }\n"
            "      user.name: { method: fake, kind: name }\n"
            "      user.age: keep\n"
            "      \"messages[].role\": keep\n"
            "      \"messages[].content\": { method: pii }\n"
            "      \"tags[]\": { method: tokenize }\n"
            "      \"scores[]\": keep\n"
            "      \"counts[]\": keep\n"
            "      ok: keep\n")


def ft_raw():
    vals = set()
    for r in ft_records():
        vals |= {r["user"]["email"], r["user"]["name"], r["tags"][0]}
    return vals


def ft_no_raw(data, what):
    leaked = [v for v in ft_raw() if v.encode() in data]
    assert not leaked, (what, sorted(leaked)[:3])


def describe(tmp_path, p):
    return [(r[0], r[1]) for r in duck(
        tmp_path, "SELECT column_name, column_type FROM "
        "(DESCRIBE SELECT * FROM read_parquet('%s'))" % p)]


FT_TYPES = [
    ("counts", "BIGINT[]"),
    ("id", "BIGINT"),
    ("messages", "STRUCT(\"content\" VARCHAR, \"role\" VARCHAR)[]"),
    ("ok", "BOOLEAN"),
    ("scores", "DOUBLE[]"),
    ("tags", "VARCHAR[]"),
    ("user", "STRUCT(age BIGINT, email VARCHAR, \"name\" VARCHAR)"),
]


@needs_duckdb
def test_fine_tuning_set_as_structs_and_lists(sandbox, tmp_path):
    data = "".join(json.dumps(r) + "\n" for r in ft_records())
    s = mount(sandbox, tmp_path, "jsonl, parquet, csv", data=data,
              rules=FT_RULES)
    recs = [json.loads(x) for x in read(s, "train.jsonl").splitlines()]
    assert len(recs) == 120
    p = s.path("train.parquet")
    types = describe(tmp_path, p)
    print("DESCRIBE", types)
    assert [t[0] for t in types] == [t[0] for t in FT_TYPES], types
    for (name, got), (_, want) in zip(types, FT_TYPES):
        assert got.replace('"', '') == want.replace('"', ''), (name, got)
    cols = [t[0] for t in FT_TYPES]
    rows = duck(tmp_path, "SELECT %s FROM read_parquet('%s') ORDER BY id"
                % (", ".join("to_json(\"%s\")" % c for c in cols), p))
    assert len(rows) == 120
    for r, row in zip(recs, rows):
        got = dict(zip(cols, [json.loads(v) for v in row]))
        assert got == r, (got, r)
    assert recs[0]["user"]["email"] != ft_records()[0]["user"]["email"]
    assert recs[0]["ok"] is False and recs[1]["ok"] is True
    # pandas reads the CSV form: top-level columns, JSON text of nested
    import pandas as pd
    df = pd.read_csv(s.path("train.csv"), dtype=str, keep_default_na=False)
    assert list(df.columns) == cols
    for r, (_, row) in zip(recs, df.iterrows()):
        assert json.loads(row["user"]) == r["user"]
        assert json.loads(row["messages"]) == r["messages"]
        assert json.loads(row["tags"]) == r["tags"]
        assert json.loads(row["scores"]) == r["scores"]
        assert row["id"] == str(r["id"])
        assert row["ok"] == ("true" if r["ok"] else "false")
    for name in ("train.jsonl", "train.csv"):
        ft_no_raw(read(s, name), name)
    plain = parquet_plain(read(s, "train.parquet"))
    ft_no_raw(plain, "train.parquet")
    # the scan sees the served values in the decoded pages
    assert all(r["user"]["email"].encode() in plain and
               r["tags"][0].encode() in plain for r in recs)


EDGE = [
    {"id": 0, "u": {"a": "rawx0", "b": 1}, "l": ["rawl0", None],
     "ll": [[1, 2], []], "o": {"p": {"q": "rawq0"}}},
    {"id": 1, "u": None, "l": None, "ll": None, "o": None},
    {"id": 2, "u": {}, "l": [], "ll": [], "o": {"p": None}},
    {"id": 3},
    {"id": 4, "u": {"a": None}, "l": [None], "ll": [None, [None]],
     "o": {"p": {}}},
    {"id": 5, "u": {"b": 5}, "l": ["rawl5"], "ll": [[3]],
     "o": {"p": {"q": None}}},
]
EDGE_RULES = ("      id: keep\n      u.a: { method: hash }\n      u.b: keep\n"
              "      \"l[]\": { method: hash }\n      \"ll[][]\": keep\n"
              "      o.p.q: { method: hash }\n")


def test_null_absent_and_empty_stay_apart(sandbox, tmp_path):
    """A null struct and a struct of null fields, a null list, an empty
    list and a null element: apart in Parquet (definition levels), as
    the JSON Lines form serves them in CSV."""
    data = "".join(json.dumps(r) + "\n" for r in EDGE)
    s = mount(sandbox, tmp_path, "jsonl, csv, parquet", data=data,
              rules=EDGE_RULES, extra="    unlisted_columns: keep\n")
    recs = [json.loads(x) for x in read(s, "train.jsonl").splitlines()]
    h = lambda v: recs[[r["id"] for r in recs].index(v)]  # noqa: E731
    assert len(h(0)["u"]["a"]) == 16 and h(0)["u"]["a"] != "rawx0"
    rows = list(csv.DictReader(io.StringIO(read(s, "train.csv").decode())))
    assert list(rows[0].keys()) == ["id", "l", "ll", "o", "u"]
    for r, row in zip(recs, rows):
        for k in ("l", "ll", "o", "u"):
            if r.get(k) is None:
                assert row[k] == "", (k, row)
            else:
                assert json.loads(row[k]) == r[k], (k, row)
    assert rows[2]["u"] == "{}" and rows[2]["l"] == "[]"
    for f in ("train.jsonl", "train.csv"):
        d = read(s, f)
        assert b"rawx" not in d and b"rawl" not in d and b"rawq" not in d
    plain = parquet_plain(read(s, "train.parquet"))
    assert b"rawx" not in plain and b"rawl" not in plain
    assert b"rawq" not in plain
    if not HAVE_DUCKDB:
        return
    p = s.path("train.parquet")
    assert describe(tmp_path, p) == [
        ("id", "BIGINT"), ("l", "VARCHAR[]"), ("ll", "BIGINT[][]"),
        ("o", "STRUCT(p STRUCT(q VARCHAR))"),
        ("u", "STRUCT(a VARCHAR, b BIGINT)")]
    got = duck(tmp_path, "SELECT to_json(u), u IS NULL, to_json(l), "
               "l IS NULL, len(l), to_json(ll), to_json(o), o.p IS NULL "
               "FROM read_parquet('%s') ORDER BY id" % p)
    a0, q0 = h(0)["u"]["a"], h(0)["o"]["p"]["q"]
    la, lb = h(0)["l"][0], h(5)["l"][0]
    want = [
        [{"a": a0, "b": 1}, False, [la, None], False, 2, [[1, 2], []],
         {"p": {"q": q0}}, False],
        [None, True, None, True, None, None, None, True],
        [{"a": None, "b": None}, False, [], False, 0, [],
         {"p": None}, True],
        [None, True, None, True, None, None, None, True],
        [{"a": None, "b": None}, False, [None], False, 1, [None, [None]],
         {"p": {"q": None}}, False],
        [{"a": None, "b": 5}, False, [lb], False, 1, [[3]],
         {"p": {"q": None}}, False],
    ]
    dec = [[json.loads(v) if isinstance(v, str) else v for v in row]
           for row in got]
    assert dec == want, dec


INCONSISTENT = [
    {"id": 0, "m": {"x": 1}, "s": "rawstr0", "arr": [1, "rawa0"], "e": {},
     "mix": [1, 2.5], "num": 1, "o": {"p": {"q": 1}}, "ea": []},
    {"id": 1, "m": "rawm1", "s": {"k": "rawk1"}, "arr": [True], "e": {},
     "mix": [3], "num": "rawnum1", "o": {"p": "rawp1"}, "ea": [[]]},
    {"id": 2, "m": [1, {"y": "rawy2"}], "s": None, "arr": [], "e": None,
     "mix": None, "num": 2.5, "o": {"p": [2]}, "ea": {}},
]


def test_inconsistent_paths_are_json_text(sandbox, tmp_path):
    """A path that is an object in some records and a string or array in
    others, an object only ever {}, mixed element kinds: a STRING column
    (or element, or field) of the masked JSON text."""
    data = "".join(json.dumps(r) + "\n" for r in INCONSISTENT)
    rules = ("      id: keep\n      m: { method: hash }\n"
             "      m.x: keep\n      \"m[]\": keep\n"
             "      \"m[].y\": { method: hash }\n      s: { method: hash }\n"
             "      s.k: { method: hash }\n      \"arr[]\": { method: hash }\n"
             "      e: keep\n      \"mix[]\": keep\n"
             "      num: { method: hash }\n      o.p: { method: hash }\n"
             "      o.p.q: keep\n      \"o.p[]\": keep\n"
             "      ea: keep\n      \"ea[]\": keep\n")
    s = mount(sandbox, tmp_path, "jsonl, csv, parquet", data=data,
              rules=rules)
    recs = [json.loads(x) for x in read(s, "train.jsonl").splitlines()]
    for f in ("train.jsonl", "train.csv"):
        assert b"raw" not in read(s, f), f
    assert b"raw" not in parquet_plain(read(s, "train.parquet"))
    rows = list(csv.DictReader(io.StringIO(read(s, "train.csv").decode())))
    for r, row in zip(recs, rows):
        for k, v in r.items():
            if v is None:
                assert row[k] == ""
            elif isinstance(v, str):
                assert row[k] == v
            elif not isinstance(v, (dict, list)):
                assert json.loads(row[k]) == v
            else:
                assert json.loads(row[k]) == v
    if not HAVE_DUCKDB:
        return
    p = s.path("train.parquet")
    assert dict(describe(tmp_path, p)) == {
        "id": "BIGINT", "m": "VARCHAR", "s": "VARCHAR",
        "arr": "VARCHAR[]", "e": "VARCHAR", "mix": "DOUBLE[]",
        "num": "VARCHAR", "o": "STRUCT(p VARCHAR)", "ea": "VARCHAR"}
    got = duck(tmp_path, "SELECT m, s, to_json(arr), e, to_json(mix), num, "
               "o.p, ea FROM read_parquet('%s') ORDER BY id" % p)

    def text(v):  # a STRING leaf: a string itself, else its JSON text
        return v if isinstance(v, str) or v is None else json.loads(v)

    for r, row in zip(recs, got):
        assert (r["m"] if isinstance(r["m"], str) else r["m"]) == (
            row[0] if isinstance(r["m"], str) else json.loads(row[0]))
        assert (row[1] if not isinstance(r["s"], dict)
                else json.loads(row[1])) == r["s"]
        arr = json.loads(row[2])
        assert [a if isinstance(e, str) else json.loads(a)
                for a, e in zip(arr, r["arr"])] == r["arr"]
        assert (None if row[3] is None else json.loads(row[3])) == r["e"]
        assert (None if row[4] is None else json.loads(row[4])) == r["mix"]
        assert (row[5] if isinstance(r["num"], str)
                else json.loads(row[5])) == r["num"]
        p_ = r["o"]["p"]
        assert (row[6] if isinstance(p_, str) else json.loads(row[6])) == p_
        assert json.loads(row[7]) == r["ea"]
    assert text(None) is None


def test_hostile_shapes_never_crash_never_leak(sandbox, tmp_path):
    """64 containers deep (the limit), 10,000-element arrays, objects wider
    than a struct may be (keys that are data), columns with too many
    leaves: served, read back, and no raw value of a masked field in any
    byte of any form."""
    deep = {"v": "rawdeepobj"}
    for _ in range(62):
        deep = {"d": deep}
    recs = []
    for i in range(3):
        recs.append({
            "id": i,
            "deep": deep,
            "many": [{"k": "rawmany%05d" % j, "n": j} for j in range(10000)],
            "wide": {"key%04d" % j: "rawwide%04d" % j for j in range(300)},
            "fit": {"key%03d" % j: "rawfit%03d" % j for j in range(256)},
            "leafy": {c: {"f%03d" % j: "rawleafy%03d" % j
                          for j in range(250)} for c in "abcde"},
        })
    data = "".join(json.dumps(r) + "\n" for r in recs)
    rules = ("      id: keep\n"
             "      \"%s.v\": { method: hash }\n"
             "      \"many[].k\": { method: hash }\n"
             "      \"many[].n\": keep\n"
             "      \"wide.*\": { method: hash }\n"
             "      \"fit.*\": { method: hash }\n"
             "      \"leafy.*.*\": { method: hash }\n" % ".".join(
                 ["deep"] + ["d"] * 62))
    s = mount(sandbox, tmp_path, "jsonl, csv, parquet", data=data,
              rules=rules)
    got = [json.loads(x) for x in read(s, "train.jsonl").splitlines()]
    assert len(got) == 3 and len(got[0]["many"]) == 10000
    csv.field_size_limit(1 << 30)
    rows = list(csv.DictReader(io.StringIO(read(s, "train.csv").decode())))
    assert len(rows) == 3
    for r, row in zip(got, rows):
        for k in ("deep", "many", "wide", "fit", "leafy"):
            assert json.loads(row[k]) == r[k], k
    for f in ("train.jsonl", "train.csv"):
        assert b"raw" not in read(s, f), f
    assert b"raw" not in parquet_plain(read(s, "train.parquet"))
    if not HAVE_DUCKDB:
        return
    p = s.path("train.parquet")
    types = dict(describe(tmp_path, p))
    assert types["many"] == "STRUCT(k VARCHAR, n BIGINT)[]", types["many"]
    assert types["wide"] == "VARCHAR", "over 256 keys: JSON text"
    assert types["fit"].startswith("STRUCT(key000 VARCHAR"), "256: a struct"
    assert types["leafy"] == "VARCHAR", "over 1,024 leaves: JSON text"
    # 32 structs (the column's included), JSON text inside
    assert types["deep"] == "STRUCT(d " * 32 + "VARCHAR" + ")" * 32, \
        types["deep"]
    q = ("SELECT len(many), many[10000].k, many[10000].n, json(wide), "
         "fit.key255, deep%s FROM read_parquet('%s') ORDER BY id"
         % (".d" * 32, p))
    for r, row in zip(got, duck(tmp_path, q)):
        assert row[:3] == [10000, r["many"][9999]["k"], 9999]
        assert json.loads(row[3]) == r["wide"]
        assert row[4] == r["fit"]["key255"]
        inner = r["deep"]
        for _ in range(32):
            inner = inner["d"]
        assert json.loads(row[5]) == inner


def kq_records():
    zips = ["10115"] * 3 + ["20095"] * 3 + ["99999"]
    return "".join(json.dumps({"id": i, "user": {"zip": z, "email":
                                                 "kq%d@raw.example" % i},
                               "tags": ["t%d" % i]}) + "\n"
                   for i, z in enumerate(zips))


KQ_RULES = ("      id: keep\n      user.zip: keep\n"
            "      user.email: { method: hash }\n      \"tags[]\": keep\n")


@pytest.mark.parametrize("forms", ["jsonl, parquet, csv", "csv", "parquet"])
def test_report_counts_a_nested_quasi_field_from_the_records(sandbox,
                                                            tmp_path, forms):
    """The forms' columns are top-level keys (user is one column); report
    names a quasi field by its path (user.zip) and counts the masked
    records, whatever forms are served."""
    s = mount(sandbox, tmp_path, forms, data=kq_records(), rules=KQ_RULES)
    s.unmount()
    r = spotfs("report", "-c", s.config, "train.jsonl", "--quasi",
               "user.zip", "--k", "2", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["k_anonymous"] is False, out
    assert (out["rows"], out["classes"], out["smallest"]) == (7, 3, 1), out
    assert "kq0@raw.example" not in r.stdout
    r = spotfs("report", "-c", s.config, "train.jsonl", "--quasi",
               "user", "--k", "2")
    assert r.returncode != 0, r.stdout
    assert "holds an object or an array" in r.stdout + r.stderr


def test_k_anonymity_on_a_nested_quasi_drops_the_record_in_every_form(
        sandbox, tmp_path):
    s = mount(sandbox, tmp_path, "jsonl, parquet, csv", data=kq_records(),
              rules=KQ_RULES,
              extra="    k_anonymity: { quasi: [user.zip], k: 2 }\n")
    recs = [json.loads(x) for x in read(s, "train.jsonl").splitlines()]
    assert [r["id"] for r in recs] == list(range(6))
    rows = list(csv.DictReader(io.StringIO(read(s, "train.csv").decode())))
    assert [int(r["id"]) for r in rows] == list(range(6))
    assert [json.loads(r["user"]) for r in rows] == [r["user"] for r in recs]
    plain = parquet_plain(read(s, "train.parquet"))
    assert b"10115" in plain and b"99999" not in plain, "the lone class"
    for f in ("train.jsonl", "train.csv"):
        assert b"99999" not in read(s, f) and b"raw.example" not in read(s, f)
    assert b"raw.example" not in plain

# SPDX-License-Identifier: LGPL-2.1-or-later
"""k_anonymity on nested data (round 7): a quasi column that no row has
one value of (a JSON Lines field some record holds as an object, an
array or {}; a Parquet leaf inside a list or a map) fails closed in every
form, in `spotfs check` and in `spotfs report`, and never says a value;
and JSON Lines keys are checked one by one, at any depth."""
import errno
import json

import pytest

from conftest import duck, spotfs, HAVE_DUCKDB, DUCKDB_MISSING

UNIQUE = ("99999", "Lonely Road", "88888", "77777")


def read(s, name):
    with open(s.path(name), "rb") as f:
        return f.read()


def k_records(odd):
    recs = [{"id": i, "zip": "10115", "age": "30"} for i in range(5)]
    recs += [{"id": 10 + i, "age": "30"} for i in range(5)]
    recs.append(dict(odd, id=20, age="30"))
    return "".join(json.dumps(r) + "\n" for r in recs)


ODD = {
    "object": {"zip": {"code": "99999", "street": "Lonely Road 1"}},
    "array": {"zip": ["88888"]},
    "array of two": {"zip": ["88888", "77777"]},
    "object with null": {"zip": {"code": None}},
}


@pytest.mark.parametrize("form", ["csv", "parquet"])
@pytest.mark.parametrize("odd", sorted(ODD))
def test_jsonl_quasi_held_as_a_container_fails_closed(sandbox, odd, form):
    """Every form of the dataset fails with EIO, check says why (the quasi
    column, never a value or the keys under it), nothing unique is in the
    daemon log."""
    s = sandbox()
    s.write("k.jsonl", k_records(ODD[odd]))
    s.write_config(
        "source: @SRC@\ndatasets:\n  k.jsonl:\n    as: [native, %s]\n"
        "    k_anonymity: { quasi: [zip, age], k: 3 }\n"
        "    columns: { id: keep, zip: keep, age: keep }\n" % form)
    s.mount()
    for name in ("k.jsonl", "k." + form):
        with pytest.raises(OSError) as e:
            read(s, name)
        assert e.value.errno == errno.EIO, name
    log = s.read_log()
    assert "quasi column 'zip' holds an object or an array" in log, log
    r = spotfs("check", "-c", s.config)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "holds an object or an array" in out, out
    for v in UNIQUE + ("code", "street"):
        assert v not in log and v not in out, (v, out)


def test_jsonl_nested_quasi_held_as_an_object_fails_closed(sandbox):
    s = sandbox()
    recs = [{"id": i, "user": {"zip": "10115"}} for i in range(4)]
    recs.append({"id": 9, "user": {"zip": {"code": "99999"}}})
    s.write("n.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    s.write_config(
        "source: @SRC@\ndatasets:\n  n.jsonl:\n"
        "    k_anonymity: { quasi: [user.zip], k: 2 }\n"
        "    columns: { id: keep, user: keep }\n")
    s.mount()
    with pytest.raises(OSError) as e:
        read(s, "n.jsonl")
    assert e.value.errno == errno.EIO
    assert "'user.zip' holds an object or an array" in s.read_log()


def test_jsonl_quasi_holding_an_empty_object_fails_naming_the_line(sandbox):
    """{} holds no value (its cell is NULL, as for a record without the
    field) but the JSON Lines form serves it apart: the view fails in
    every form and says which line."""
    s = sandbox()
    recs = [{"id": i, "zip": "10115"} for i in range(3)]
    recs += [{"id": 5}, {"id": 6}, {"id": 7, "zip": {}}]
    s.write("e.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    s.write_config(
        "source: @SRC@\ndatasets:\n  e.jsonl:\n    as: [native, csv]\n"
        "    k_anonymity: { quasi: [zip], k: 3 }\n"
        "    columns: { id: keep, zip: keep }\n")
    s.mount()
    for name in ("e.jsonl", "e.csv"):
        with pytest.raises(OSError) as e:
            read(s, name)
        assert e.value.errno == errno.EIO
    log = s.read_log()
    assert "line 6: k_anonymity: quasi column 'zip' holds an empty " \
        "object or array" in log, log


def test_jsonl_quasi_null_and_scalars_still_count(sandbox):
    """A quasi field that is null, a number or a string in some records
    (nothing under it) is counted by its value: the lone value suppressed.
    A written null and a missing key are served differently ("zip": null
    against no key), so they are classes apart (round 11, finding 6): two
    nulls and one missing key are under k=3."""
    s = sandbox()
    recs = [{"id": i, "zip": "10115"} for i in range(3)]
    recs += [{"id": 3 + i, "zip": None} for i in range(2)] + [{"id": 5}]
    recs += [{"id": 6, "zip": 99999}]
    s.write("s.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    s.write_config(
        "source: @SRC@\ndatasets:\n  s.jsonl:\n"
        "    k_anonymity: { quasi: [zip], k: 3 }\n"
        "    columns: { id: keep, zip: keep }\n")
    s.mount()
    got = [json.loads(x)["id"] for x in read(s, "s.jsonl").splitlines()]
    assert got == [0, 1, 2], got


def test_report_refuses_a_jsonl_quasi_held_as_an_object(sandbox):
    """Without k_anonymity in the config, report on the same data said
    k-anonymous yes (the object's record counted with those lacking the
    field); it now refuses the quasi column, as the mount does."""
    s = sandbox()
    s.write("k.jsonl", k_records(ODD["object"]))
    s.write_config(
        "source: @SRC@\ndatasets:\n  k.jsonl:\n"
        "    columns: { id: keep, zip: keep, age: keep }\n")
    r = spotfs("report", "-c", s.config, "k.jsonl", "--quasi", "zip,age",
               "--k", "3")
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "holds an object or an array" in out, out
    assert "k-anonymous" not in out
    for v in UNIQUE + ("code", "street"):
        assert v not in out, (v, out)
    # the scalar case still reports
    s.write("k.jsonl", k_records({"zip": "99999"}))
    r = spotfs("report", "-c", s.config, "k.jsonl", "--quasi", "zip,age",
               "--k", "3", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["k_anonymous"] is False


# ---------------------------------------------------------------------------
# Parquet: leaves inside lists and maps


PQ_QUASI = {
    "list element": "zips.list.element",
    "map key": "m.key_value.key",
    "map value": "m.key_value.value",
}


@pytest.mark.skipif(not HAVE_DUCKDB, reason=DUCKDB_MISSING)
@pytest.mark.parametrize("form", ["native", "csv"])
@pytest.mark.parametrize("which", sorted(PQ_QUASI))
def test_parquet_quasi_inside_a_list_or_map_fails_closed(sandbox, tmp_path,
                                                         which, form):
    s = sandbox()
    duck(tmp_path, "COPY (SELECT * FROM (VALUES "
         "(1, ['10115'], MAP {'a': '1'}, '30'), "
         "(2, ['10115'], MAP {'a': '1'}, '30'), "
         "(3, ['10115'], MAP {'a': '1'}, '30'), "
         "(4, ['99999'], MAP {'b': '9'}, '30')) t(id, zips, m, age)) "
         "TO '%s/p.parquet' (FORMAT parquet)" % s.src)
    q = PQ_QUASI[which]
    as_ = "    as: [csv]\n" if form == "csv" else ""
    s.write_config(
        "source: @SRC@\ndatasets:\n  p.parquet:\n%s"
        "    k_anonymity: { quasi: [%s, age], k: 3 }\n"
        "    columns: { id: keep, %s: keep, age: keep }\n" % (as_, q, q))
    s.mount()
    name = "p.csv" if form == "csv" else "p.parquet"
    with pytest.raises(OSError) as e:
        read(s, name)
    assert e.value.errno == errno.EIO
    msg = "quasi column '%s' is inside a list or a map" % q
    assert msg in s.read_log()
    r = spotfs("check", "-c", s.config)
    assert r.returncode != 0 and msg in r.stdout + r.stderr
    s.unmount()
    s.write_config(
        "source: @SRC@\ndatasets:\n  p.parquet:\n"
        "    columns: { id: keep, %s: keep, age: keep }\n" % q)
    r = spotfs("report", "-c", s.config, "p.parquet", "--quasi",
               q + ",age", "--k", "3")
    assert r.returncode != 0 and msg in r.stderr, r.stdout + r.stderr


@pytest.mark.skipif(not HAVE_DUCKDB, reason=DUCKDB_MISSING)
def test_parquet_quasi_struct_leaf_counts_and_struct_path_fails(sandbox,
                                                               tmp_path):
    """A leaf of a struct (one value per row) is a quasi column like any
    other: the row unique by it is not served. The struct itself is no
    column: the view fails like a misspelled quasi column."""
    s = sandbox()
    duck(tmp_path, "COPY (SELECT * FROM (VALUES "
         "(1, {'zip': '10115'}), (2, {'zip': '10115'}), "
         "(3, {'zip': '99999'})) t(id, addr)) "
         "TO '%s/s.parquet' (FORMAT parquet)" % s.src)
    s.write_config(
        "source: @SRC@\ndatasets:\n  s.parquet:\n"
        "    k_anonymity: { quasi: [addr.zip], k: 2 }\n"
        "    columns: { id: keep, addr.zip: keep }\n")
    s.mount()
    rows = duck(tmp_path, "SELECT id FROM read_parquet('%s') ORDER BY id"
                % s.path("s.parquet"))
    assert [r[0] for r in rows] == [1, 2], rows
    s.unmount()
    s.write_config(
        "source: @SRC@\ndatasets:\n  s.parquet:\n"
        "    k_anonymity: { quasi: [addr], k: 2 }\n"
        "    columns: { id: keep, addr.zip: keep }\n")
    r = spotfs("check", "-c", s.config)
    assert r.returncode != 0
    assert "k_anonymity: no column 'addr'" in r.stdout + r.stderr


def test_csv_dotted_headers_are_not_paths(sandbox):
    """CSV has no nesting: a header zip.code next to zip is a column of
    its own, and k_anonymity over zip counts as before."""
    s = sandbox()
    s.write("c.csv", "id,zip,zip.code\n" + "".join(
        "%d,10115,x%d\n" % (i, i) for i in range(3)) + "9,99999,y\n")
    s.write_config(
        "source: @SRC@\ndatasets:\n  c.csv:\n"
        "    k_anonymity: { quasi: [zip], k: 3 }\n"
        "    columns: { id: keep, zip: keep, zip.code: keep }\n")
    s.mount()
    text = read(s, "c.csv").decode()
    assert text.count("\n") == 4 and "99999" not in text, text


# ---------------------------------------------------------------------------
# JSON Lines keys, one by one


@pytest.mark.parametrize("rec", [
    {"id": 1, "hits": {"10.1.2.3": 5}},
    {"id": 1, "a": {"b": {"c": {"2001:db8::7": 1}}}},
    {"id": 1, "by": [{"x": {"dave@example.net": 1}}]},
    {"id": 1, "iban": {"DE89370400440532013000": 1}},
])
@pytest.mark.parametrize("form", ["native", "csv"])
def test_jsonl_nested_keys_checked_one_by_one(sandbox, rec, form):
    s = sandbox()
    s.write("h.jsonl", json.dumps(rec) + "\n")
    s.write("ok.jsonl", json.dumps({"id": 1, "hits": {"home": 5}}) + "\n")
    as_ = "    as: [native, csv]\n" if form == "csv" else ""
    s.write_config("source: @SRC@\nunlisted_columns: redact\ndatasets:\n"
                   "  h.jsonl:\n%s    columns: { id: keep }\n"
                   "  ok.jsonl:\n    columns: { id: keep, hits: keep }\n"
                   % as_)
    s.mount()
    name = "h.csv" if form == "csv" else "h.jsonl"
    with pytest.raises(OSError) as e:
        read(s, name)
    assert e.value.errno == errno.EIO
    assert json.loads(read(s, "ok.jsonl")) == {"id": 1, "hits": {"home": 5}}
    log = s.read_log()
    assert "a key looks like" in log, log
    for k in ("10.1.2.3", "2001:db8", "dave@", "DE8937"):
        assert k not in log
    r = spotfs("check", "-c", s.config)
    assert r.returncode != 0 and "a key looks like" in r.stdout + r.stderr


# A quasi function whose answer depends on state: the calls it got before
# (a second call per record in the build), or a flag another column's
# function sets (that function runs in the build, never in the count).
LUA_SECOND_CALL = '''
seen = {}
columns = {
  id = function(v) return v end,
  zip = function(v, row, ctx)
    local id = tonumber(row.id)
    seen[id] = (seen[id] or 0) + 1
    if id == 21 and seen[id] % 2 == 0 then return "55555" end
    return v
  end,
}
'''
LUA_OTHER_COLUMN = '''
served = false
columns = {
  id = function(v) served = true; return v end,
  zip = function(v, row, ctx)
    if served and tonumber(row.id) == 21 then return "55555" end
    return v
  end,
}
'''


@pytest.mark.parametrize("lua", [LUA_SECOND_CALL, LUA_OTHER_COLUMN],
                         ids=["second_call", "other_column"])
@pytest.mark.parametrize("form", ["jsonl", "csv"])
def test_jsonl_quasi_served_is_the_value_its_class_was_counted_by(
        sandbox, tmp_path, form, lua):
    """A Lua function keeping state can give the build another value than
    the count classed the record by (id 21: 99999 counted, 55555 served).
    Either the build fails, or every class served holds k records: 21
    is never served alone as 55555."""
    s = sandbox()
    recs = [{"id": i, "zip": "11111"} for i in range(3)]
    recs += [{"id": 20, "zip": "99999"}, {"id": 21, "zip": "99999"}]
    s.write("k.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    pol = tmp_path / "p.lua"
    pol.write_text(lua)
    s.write_config("source: @SRC@\nsecret: random\ndatasets:\n"
                   "  k.jsonl:\n    as: [%s]\n    policy: %s\n"
                   "    k_anonymity: { quasi: [zip], k: 2 }\n"
                   "    columns: { id: { policy: id }, "
                   "zip: { policy: zip } }\n" % (form, pol))
    s.mount()
    try:
        got = read(s, "k." + form).decode()
    except OSError as e:
        assert e.errno == errno.EIO
        assert "differs between the count and the build" in s.read_log()
        return
    if form == "jsonl":
        zips = [json.loads(l)["zip"] for l in got.splitlines()]
    else:
        zips = [l.split(",")[1] for l in got.splitlines()[1:]]
    classes = {z: zips.count(z) for z in zips}
    assert zips and all(n >= 2 for n in classes.values()), got
    assert "55555" not in got, got


@pytest.mark.parametrize("form", ["jsonl", "csv", "parquet"])
def test_rows_not_served_are_counted_once_per_build(sandbox, form):
    """The log's count of rows left out is the rows of classes under k,
    once: the CSV and Parquet forms of a JSON Lines file run the filter
    twice (the first pass finds the served records' columns)."""
    s = sandbox()
    recs = [{"id": i, "zip": "11111"} for i in range(3)]
    recs += [{"id": 7, "zip": "22222"}, {"id": 8, "zip": "33333"}]
    s.write("c.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    s.write_config("source: @SRC@\ndatasets:\n  c.jsonl:\n"
                   "    as: [%s]\n    k_anonymity: { quasi: [zip], k: 2 }\n"
                   "    columns: { id: keep, zip: keep }\n" % form)
    s.mount()
    got = read(s, "c." + form)
    assert b"22222" not in got and b"33333" not in got
    log = s.read_log()
    assert "k_anonymity: 2 rows not served" in log, log
    assert "k_anonymity: 4 rows not served" not in log, log

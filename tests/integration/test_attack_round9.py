# SPDX-License-Identifier: LGPL-2.1-or-later
"""Adversarial review, round 9: an outside attacker with the README and the
binary only. Tests named test_finding_* demonstrate a leak through a real
mount (or the CLI) and assert the safe behaviour (they fail until it is
fixed); tests named test_held_* are serious attacks that were correctly
refused."""
import json
import os
import subprocess

import pytest

from conftest import spotfs, duck


def read_or_err(s, name):
    """The served bytes of name, or b'error N' when the open or read fails
    (failing closed is always safe)."""
    try:
        with open(s.path(name), "rb") as f:
            return f.read()
    except OSError as e:
        return b"error %d" % e.errno


def copy_out(s, name, tmp_path, as_name=None):
    """Copy a served file out of the mount (DuckDB reads a local file)."""
    data = read_or_err(s, name)
    dst = str(tmp_path / (as_name or name.replace("/", "_")))
    with open(dst, "wb") as f:
        f.write(data)
    return dst, data


def write_lua(s, text, name="p.lua"):
    p = os.path.join(s.base, name)
    with open(p, "w") as f:
        f.write(text)
    os.chmod(p, 0o644)
    return p


def csv_ids(data):
    """The id column of a served CSV form."""
    import csv
    import io
    return [r["id"] for r in csv.DictReader(io.StringIO(data.decode()))]


def jl(recs):
    return "".join(json.dumps(r) + "\n" for r in recs)


# ---------------------------------------------------------------------------
# 1. The two masking passes of the forms: a row() that answers differently
# on the second pass


VOTES = [{"id": 1, "country": "DE", "votes": {"Alice Smith": 1}},
         {"id": 2, "country": "DE", "votes": {"Jasmine Payne": 1},
          "hiv_positive": True},
         {"id": 3, "country": "DE", "votes": {"Alice Smith": 2}}]

# Lua globals: the first time a record is seen it is served; the second
# time (a second pass in the same Lua state) record 2 is dropped.
LUA_STATEFUL = (
    "seen = {}\n"
    "function row(r, ctx)\n"
    "  if seen[r.id] then return r.id ~= 2 end\n"
    "  seen[r.id] = true\n"
    "  return true\n"
    "end\n")

# A counter in a global: the first three calls serve every record, every
# later call serves only records other than 2.
LUA_COUNTER = (
    "n = 0\n"
    "function row(r, ctx)\n"
    "  n = n + 1\n"
    "  return n <= 3 or r.id ~= 2\n"
    "end\n")


@pytest.mark.parametrize("lua", [LUA_STATEFUL, LUA_COUNTER],
                         ids=["seen_table", "counter"])
@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_finding_jsonl_forms_row_filter_state_across_passes_names_dropped_keys(
        sandbox, lua, form, tmp_path):
    """A row() that keeps state in Lua globals answers differently on the
    forms' second masking pass: record 2 (votes keyed by "Jasmine Payne",
    a field hiv_positive) is served on the first pass, which sets the
    columns and types, and dropped on the second, which writes the rows.
    The CSV header names hiv_positive and the Parquet schema names the
    struct field "Jasmine Payne" while record 2's row is not served: the
    two passes share one Lua state (globals survive), so they do not drop
    the same records. README (JSON Lines, Other forms): "the columns and
    their Parquet types come from the records served alone ... a header or
    a schema never names a key ... of a record that is not served"; Lua:
    "Each view build ... runs in a fresh Lua state". Expected: no key of
    a record that is not served (a fresh Lua state per pass, or the build
    fails closed when the passes disagree)."""
    s = sandbox()
    s.write("v.jsonl", jl(VOTES))
    p = write_lua(s, lua)
    s.write_config(
        "source: @SRC@\ndatasets:\n  v.jsonl:\n    as: [jsonl, %s]\n"
        "    policy: %s\n"
        "    columns: { id: keep, country: keep, \"votes.*\": keep }\n"
        % (form, p))
    s.mount()
    data = read_or_err(s, "v." + form)
    if data.startswith(b"error"):
        return  # failing closed is safe
    if form == "csv":
        ids = csv_ids(data)
    else:
        dst, _ = copy_out(s, "v.parquet", tmp_path)
        ids = [str(r[0]) for r in duck(
            tmp_path, "SELECT id FROM read_parquet('%s')" % dst)]
    if "2" not in ids:
        for hidden in (b"Jasmine Payne", b"hiv_positive"):
            assert hidden not in data, (
                "v.%s names %r but serves rows %s only: the key of a record"
                " it does not serve" % (form, hidden, ids))


# ---------------------------------------------------------------------------
# Helpers for the Parquet scan


def all_cells(tmp_path, path):
    """Every cell of a Parquet file, through DuckDB, as JSON text."""
    rows = duck(tmp_path, "SELECT to_json(t) FROM read_parquet('%s') t" %
                path)
    return " ".join(str(r[0]) for r in rows)


# Lua's table order is seeded per Lua state: next() over a table of string
# keys answers differently in two states. The record of Jasmine Payne is
# served or not by that coin; twenty datasets make it likely that some build
# serves it on one pass and drops it on the other.
LUA_COIN = (
    "function row(r, ctx)\n"
    "  if r.id ~= 2 then return true end\n"
    "  local t = {}\n"
    "  for i = 1, 16 do t['k' .. i] = i end\n"
    "  local k = next(t)\n"
    "  return (t[k] % 2) == 0\n"
    "end\n")


@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_held_jsonl_forms_row_filter_coin_per_lua_state(sandbox, form,
                                                        tmp_path):
    """No globals: a row() whose answer for record 2 depends on Lua's
    per-state string hash seed (the first key next() gives over a table
    of 16 string keys). The coin differs between builds (the JSON Lines
    form and the CSV form of one dataset may disagree), but the two
    passes of one form agree (they share a Lua state): over twenty
    copies, no form names a key of a record whose row it does not
    serve."""
    s = sandbox()
    p = write_lua(s, LUA_COIN)
    cfg = "source: @SRC@\ndatasets:\n"
    for i in range(20):
        s.write("v%d.jsonl" % i, jl(VOTES))
        cfg += ("  v%d.jsonl:\n    as: [jsonl, %s]\n    policy: %s\n"
                "    columns: { id: keep, country: keep, \"votes.*\": keep }\n"
                % (i, form, p))
    s.write_config(cfg)
    s.mount()
    bad = []
    for i in range(20):
        name = "v%d.%s" % (i, form)
        data = read_or_err(s, name)
        if data.startswith(b"error"):
            continue
        if form == "csv":
            ids = csv_ids(data)
        else:
            dst, _ = copy_out(s, name, tmp_path)
            ids = [str(r[0]) for r in duck(
                tmp_path, "SELECT id FROM read_parquet('%s')" % dst)]
        if "2" not in ids and (b"Jasmine Payne" in data or
                               b"hiv_positive" in data):
            bad.append(name)
    assert not bad, "forms naming a key of a record they do not serve: %s" % bad


# ---------------------------------------------------------------------------
# 2. fpe and scramble never serve characters outside ASCII


ODD_VALUES = [
    "\uff11\uff12\uff13\uff14\uff15\uff16\uff17",  # fullwidth 1234567
    "\u0661\u0662\u0663\u0664\u0665\u0666\u0667",  # Arabic-Indic
    "\U0001d7cf\U0001d7d0\U0001d7d1\U0001d7d2\U0001d7d3\U0001d7d4",  # math
    "12\u00b934\u00b256\u00b3",                  # superscripts (No)
    "\u2460\u2461\u2462\u2463\u2464\u2465",      # circled digits
    "\u2160\u2161\u2162\u2163\u2164\u2165",      # Roman numerals (Nl)
    "12\u200b34\u200c56\u200d78\u2060",          # zero-width
    "1\u03012\u03013\u03014\u03015\u03016\u0301",  # combining acute
    "\u0410\u0412\u0421123456",                  # Cyrillic look-alikes
    "J\u00fcrgen M\u00fcller 123456",
    "\u202e654321\u202c",                        # bidi override
    "\ufeff123456",                              # BOM inside
    "\uff21\uff22\uff23\uff44\uff45\uff46",      # fullwidth letters
    "\u00aa\u00ba\u00b5123456",                  # ordinal letters
    "\U0001f600\U0001f600123456",
    "x" * 3000 + "\u00e9" + "7" * 3000,
]


def odd_csv():
    lines = ["id,v"]
    for i, v in enumerate(ODD_VALUES):
        lines.append('%d,"%s"' % (i, v))
    return ("\n".join(lines) + "\n").encode()


RAW_BYTES = [b"12\xff3456", b"\xc0\xb1\xc0\xb2\xc0\xb3456",  # overlong
             b"\xed\xa0\x80123456", b"123\xe2\x82456"]


@pytest.mark.parametrize("rule", [
    "fpe", "{ method: fpe, alphabet: alnum }",
    "{ method: fpe, alphabet: hex }",
    "{ method: fpe, luhn: true }", "{ method: fpe, iban: true }",
    "{ method: fpe, alphabet: \"abcXYZ\" }", "scramble"])
def test_held_fpe_scramble_serve_only_ascii(sandbox, rule):
    """Every odd Unicode form of digits and letters, zero-width and
    combining characters, bidi controls, invalid UTF-8 (a CSV cell of
    bytes): the served column holds only ASCII."""
    s = sandbox()
    data = odd_csv()
    for i, b in enumerate(RAW_BYTES):
        data += b"%d,%s\n" % (100 + i, b)
    s.write("f.csv", data)
    s.write("g.jsonl", jl([{"id": i, "v": v}
                           for i, v in enumerate(ODD_VALUES)]))
    s.write_config(
        "source: @SRC@\ndatasets:\n"
        "  f.csv:\n    columns: { id: keep, v: %s }\n"
        "  g.jsonl:\n    as: [jsonl, csv, parquet]\n"
        "    columns: { id: keep, v: %s }\n" % (rule, rule))
    s.mount()
    for name in ("f.csv", "g.jsonl", "g.csv"):
        out = read_or_err(s, name)
        assert not out.startswith(b"error"), name
        if name == "g.jsonl":
            vals = [json.loads(l)["v"] for l in out.decode().splitlines()]
            bad = [v for v in vals if v is not None and not v.isascii()]
        else:
            bad = [l for l in out.splitlines() if not l.isascii()]
        assert not bad, "%s serves non-ASCII under %s: %r" % (name, rule,
                                                              bad[:3])
    pq = read_or_err(s, "g.parquet")
    for v in ODD_VALUES:
        for piece in (v[:3], v[-3:]):
            if not piece.isascii():
                assert piece.encode() not in pq, (rule, piece)


# ---------------------------------------------------------------------------
# 3. k_anonymity on JSON Lines: other shapes of the quasi path


def kanon_base():
    recs = [{"id": i, "addr": {"zip": "11111"}} for i in range(3)]
    recs += [{"id": 10 + i} for i in range(3)]
    return recs


K_SHAPES = {
    # a flat key split into the quasi path, beside nested records
    "flat_dot_key": '{"id": 20, "addr.zip": "99999"}\n',
    # the same with the dot escaped
    "escaped_dot_key": '{"id": 20, "addr\\u002ezip": "99999"}\n',
    # an escaped key name of the parent
    "escaped_parent": '{"id": 20, "\\u0061ddr": {"zip": "99999"}}\n',
    # the zip under a key named "[]"
    "bracket_key": '{"id": 20, "addr": {"zip[]": "99999"}}\n',
}


K_FOUND = {
    # the parent held as a scalar string (holds the zip as its text)
    "parent_scalar": '{"id": 20, "addr": "99999 Lonely Road"}\n',
    # the parent held as a number
    "parent_number": '{"id": 20, "addr": 99999}\n',
    # the parent held as an array of scalars
    "parent_array_scalars": '{"id": 20, "addr": ["99999"]}\n',
}


def kanon_shape(sandbox, line):
    s = sandbox()
    s.write("k.jsonl", jl(kanon_base()) + line)
    s.write_config(
        "source: @SRC@\ndatasets:\n  k.jsonl:\n    as: [jsonl, csv]\n"
        "    k_anonymity: { quasi: [addr.zip], k: 2 }\n"
        "    columns: { id: keep, addr: keep }\n")
    s.mount()
    for n in ("k.jsonl", "k.csv"):
        out = read_or_err(s, n)
        assert b"99999" not in out, "%s serves the unique zip: %r" % (n, out)


def test_finding_jsonl_k_anonymity_quasi_under_an_array_of_scalars(sandbox):
    """quasi [addr.zip], k 2: three records hold addr.zip 11111, three
    lack addr, one holds addr as an array of scalars (["99999"]). The
    round-8 fix refuses addr[].zip beside addr.zip, but an array of
    scalars gives the path addr[], not addr[].zip: the record is counted
    with those lacking addr.zip (a class of 4) and served with 99999 in
    the JSON Lines and CSV forms. README (Security model, JSON Lines
    row): a quasi column "under a field some record holds as an array,
    fails closed in every form"; the k_anonymity section: "or whose field
    above it is an array in some record". Expected: the view fails
    closed."""
    kanon_shape(sandbox, K_FOUND["parent_array_scalars"])


@pytest.mark.parametrize("shape", ["parent_scalar", "parent_number"])
def test_finding_jsonl_k_anonymity_quasi_parent_held_as_a_scalar(sandbox,
                                                                shape):
    """Same data, the odd record holds addr as a scalar ("99999 Lonely
    Road", or the number 99999). It has no addr.zip, so it is counted with
    the records lacking addr (a class of 4) and served with the value the
    other records hold under addr.zip. The README is silent on a parent
    held as a scalar (it refuses a parent held as an array and a quasi
    held as a container "because the classes could not be promised");
    this is the same gap one shape further, so reported as a finding of
    lower severity: the view cannot prove the record is in its class and
    serves it (Security model: anything unproven fails closed). Expected:
    the view fails closed, as for a parent held as an array."""
    kanon_shape(sandbox, K_FOUND[shape])


@pytest.mark.parametrize("shape", sorted(K_SHAPES))
def test_held_jsonl_k_anonymity_other_quasi_shapes(sandbox, shape):
    """quasi [addr.zip], k 2: three records with zip 11111, three without
    addr, and one odd record holding 99999 in another shape. The odd
    record's unique zip is never served (the view fails closed, or the
    record is dropped), in the JSON Lines and the CSV form."""
    s = sandbox()
    s.write("k.jsonl", jl(kanon_base()) + K_SHAPES[shape])
    s.write_config(
        "source: @SRC@\ndatasets:\n  k.jsonl:\n    as: [jsonl, csv]\n"
        "    k_anonymity: { quasi: [addr.zip], k: 2 }\n"
        "    columns: { id: keep, addr: keep }\n")
    s.mount()
    for n in ("k.jsonl", "k.csv"):
        out = read_or_err(s, n)
        assert b"99999" not in out, "%s serves the unique zip: %r" % (n, out)


def test_held_jsonl_k_anonymity_quasi_with_star_is_refused_or_counted(
        sandbox):
    """quasi ["*.zip"]: a quasi path with a `*`. Either refused, or the
    record with a unique zip under another parent is not served."""
    s = sandbox()
    recs = [{"id": i, "a": {"zip": "11111"}} for i in range(3)]
    recs.append({"id": 9, "b": {"zip": "99999"}})
    s.write("k.jsonl", jl(recs))
    s.write_config(
        "source: @SRC@\ndatasets:\n  k.jsonl:\n    as: [jsonl, csv]\n"
        "    k_anonymity: { quasi: [\"*.zip\"], k: 2 }\n"
        "    columns: { id: keep, a: keep, b: keep }\n")
    s.mount()
    for n in ("k.jsonl", "k.csv"):
        assert b"99999" not in read_or_err(s, n)


# ---------------------------------------------------------------------------
# 4. JSON Lines with a row filter: lines of white space


WS_LINES = {
    "spaces": "   \n",
    "tab": "\t\n",
    "cr_only": "\r\n",
    "mixed": " \t \r\n",
    "nbsp": "\u00a0\n",          # not JSON white space: malformed?
}


@pytest.mark.parametrize("sep", sorted(WS_LINES))
@pytest.mark.parametrize("crlf", [False, True])
def test_held_jsonl_row_filter_serves_no_whitespace_lines(sandbox, sep,
                                                          crlf):
    """Records separated by lines of white space; the row filter drops
    the FR records. No served line is white space only (a gap would show
    where a record was dropped), in any form."""
    s = sandbox()
    eol = "\r\n" if crlf else "\n"
    recs = [{"id": i, "country": "FR" if i % 3 == 1 else "DE"}
            for i in range(9)]
    text = "\ufeff" + (sep).join(json.dumps(r) + eol for r in recs) + sep
    s.write("w.jsonl", text)
    p = write_lua(s, 'function row(r, ctx) return r.country == "DE" end\n')
    s.write_config(
        "source: @SRC@\ndatasets:\n  w.jsonl:\n    as: [jsonl, csv]\n"
        "    policy: %s\n    columns: { id: keep, country: keep }\n" % p)
    s.mount()
    out = read_or_err(s, "w.jsonl")
    if out.startswith(b"error"):
        return
    lines = out.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    blank = [l for l in lines
             if l.strip(b" \t\r\xef\xbb\xbf\xc2\xa0") == b""]
    assert not blank, "served white-space lines: %r" % out
    assert b"FR" not in out


# ---------------------------------------------------------------------------
# 1b. Parquet nested columns: schema, statistics, dictionaries, metadata


def schema_of(tmp_path, path):
    return duck(tmp_path, "SELECT name, type, repetition_type FROM "
                "parquet_schema('%s') ORDER BY ALL" % path)


DROPPED_SHAPES = {
    # a struct field only the dropped record holds
    "nested_key": {"id": 2, "country": "FR",
                   "user": {"name": "x", "diagnosis_hiv": "yes"}},
    # the dropped record pushes a struct past 256 fields (JSON text)
    "wide": {"id": 2, "country": "FR",
             "user": dict(("f%03d" % i, 1) for i in range(300))},
    # the dropped record nests deeper than 32 levels under user
    "deep": {"id": 2, "country": "FR", "user": json.loads(
        '{"a":' * 40 + '1' + '}' * 40)},
    # a string where served records hold an object
    "kind": {"id": 2, "country": "FR", "user": "plain text"},
    # an integer where served records hold a string leaf
    "leaf_kind": {"id": 2, "country": "FR", "user": {"name": 5}},
    # a list element that is an object in the dropped record only
    "list_kind": {"id": 2, "country": "FR", "tags": [{"t": "secret"}]},
}


@pytest.mark.parametrize("shape", sorted(DROPPED_SHAPES))
def test_held_jsonl_parquet_nested_schema_ignores_dropped_records(
        sandbox, tmp_path, shape):
    """The Parquet schema of a JSON Lines form with a row filter is the
    schema of the served records alone, also below the top level: a
    dropped record with an extra struct field, a struct over the
    256-field cap, nesting over 32 levels, or another kind of value does
    not change it (compared with the same file without that record)."""
    s = sandbox()
    served = [{"id": 1, "country": "DE", "user": {"name": "a"},
               "tags": ["x"]},
              {"id": 3, "country": "DE", "user": {"name": "b"},
               "tags": ["y", "z"]}]
    s.write("v.jsonl", jl([served[0], DROPPED_SHAPES[shape], served[1]]))
    s.write("w.jsonl", jl(served))
    p = write_lua(s, 'function row(r, ctx) return r.country == "DE" end\n')
    cfg = "source: @SRC@\nunlisted_columns: keep\ndatasets:\n"
    for n in ("v", "w"):
        cfg += ("  %s.jsonl:\n    as: [jsonl, parquet, csv]\n"
                "    policy: %s\n    unlisted_columns: keep\n"
                "    columns: { id: keep }\n" % (n, p))
    s.write_config(cfg)
    s.mount()
    got = {}
    for n in ("v", "w"):
        dst, data = copy_out(s, n + ".parquet", tmp_path)
        assert not data.startswith(b"error"), (n, data)
        got[n] = schema_of(tmp_path, dst)
    assert got["v"] == got["w"], "schema depends on a dropped record:\n%s\n%s" \
        % (got["v"], got["w"])
    assert read_or_err(s, "v.csv") == read_or_err(s, "w.csv")


def finetune_records():
    recs = []
    for i in range(40):
        recs.append({
            "id": i,
            "user": {"email": "raw.person%02d@example.com" % i,
                     "name": "Rawname Person%02d" % i,
                     "secret": "SECRETVALUE%02d" % i,
                     "age": 30 + i},
            "messages": [{"role": "user",
                          "content": "mail me at raw.person%02d@example.com"
                          % i, "hidden": "HIDDENMSG%02d" % i}],
            "meta": {"note": "{\"email\": \"jsonish%02d@example.com\"}" % i},
            "tags": ["TAGRAW%02d" % i],
            "ok": i % 2 == 0})
    return recs


RAW_NEEDLES = [b"raw.person", b"Rawname", b"SECRETVALUE", b"HIDDENMSG",
               b"jsonish", b"TAGRAW"]


@pytest.mark.parametrize("filtered", [False, True])
def test_held_jsonl_parquet_nested_pages_stats_metadata_hold_no_raw_value(
        sandbox, tmp_path, filtered):
    """A fine-tuning set with masked nested fields (user.email hash,
    user.name fake, messages[].content pii, tags[] redact by default,
    unlisted user.secret and messages[].hidden): every cell DuckDB decodes,
    every min/max statistic, the key-value metadata and the raw bytes of
    the Parquet form (and the CSV form) hold no raw value."""
    s = sandbox()
    s.write("t.jsonl", jl(finetune_records()))
    extra = ""
    if filtered:
        p = write_lua(s, "function row(r, ctx) return r.id % 2 == 0 end\n")
        extra = "    policy: %s\n" % p
    s.write_config(
        "source: @SRC@\ndatasets:\n  t.jsonl:\n"
        "    as: [jsonl, csv, parquet]\n%s"
        "    columns:\n      id: keep\n      ok: keep\n"
        "      user.email: { method: hash }\n"
        "      user.name: { method: fake, kind: name }\n"
        "      user.age: keep\n"
        "      \"messages[].content\": { method: pii }\n"
        "      \"messages[].role\": keep\n"
        "      meta.note: { method: hash }\n" % extra)
    s.mount()
    dst, data = copy_out(s, "t.parquet", tmp_path)
    assert not data.startswith(b"error"), data
    texts = [data, read_or_err(s, "t.csv"), read_or_err(s, "t.jsonl")]
    texts.append(all_cells(tmp_path, dst).encode())
    meta = duck(tmp_path, "SELECT * FROM parquet_metadata('%s')" % dst)
    texts.append(json.dumps(meta).encode())
    kv = duck(tmp_path, "SELECT * FROM parquet_kv_metadata('%s')" % dst)
    texts.append(json.dumps([[str(x) for x in r] for r in kv]).encode())
    for t in texts:
        for needle in RAW_NEEDLES:
            assert needle not in t, (needle, t[:300])
    n = duck(tmp_path, "SELECT count(*) FROM read_parquet('%s')" % dst)[0][0]
    assert n == (20 if filtered else 40)


def test_held_jsonl_forms_follow_role_overrides(sandbox, tmp_path):
    """Role overrides: root's role (steward) keeps user.email, every other
    caller gets a hash. After root built every form, uid 65534 reads the
    CSV and the Parquet form: no raw address."""
    s = sandbox()
    s.write("t.jsonl", jl(finetune_records()[:5]))
    s.write_config(
        "source: @SRC@\nroles:\n  steward: { users: [root] }\n"
        "  other: { users: [65534] }\n"
        "datasets:\n  t.jsonl:\n    as: [jsonl, csv, parquet]\n"
        "    columns: { id: keep, user.email: { method: hash } }\n"
        "    roles:\n      steward:\n        columns:\n"
        "          user.email: keep\n")
    s.mount()
    for n in ("t.jsonl", "t.csv", "t.parquet"):
        assert b"raw.person00" in read_or_err(s, n), n
    os.chmod(str(tmp_path), 0o755)
    code = ("import sys\nfor p in sys.argv[1:]:\n"
            "    try:\n        d = open(p, 'rb').read()\n"
            "    except OSError as e:\n        print(p, 'err', e.errno); continue\n"
            "    print(p, len(d), b'raw.person' in d)\n")
    r = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534",
                        "--clear-groups", "/usr/bin/python3", "-c", code]
                       + [s.path(n) for n in ("t.jsonl", "t.csv",
                                              "t.parquet")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "True" not in r.stdout, r.stdout


# ---------------------------------------------------------------------------
# k_anonymity with a row() that answers differently on the counting pass


KANON_STATEFUL = (
    "seen = {}\n"
    "function row(r, ctx)\n"
    "  local id = tonumber(r.id)\n"
    "  if seen[id] then return id ~= 21 end\n"
    "  seen[id] = true\n"
    "  return true\n"
    "end\n")


@pytest.mark.parametrize("fmt,form", [("csv", "csv"), ("jsonl", "jsonl"),
                                      ("csv", "parquet"), ("sqlite", "csv"),
                                      ("sqlite", "db")])
def test_held_kanon_stateful_row_filter_serves_no_class_of_one(sandbox, fmt,
                                                              form, tmp_path):
    """quasi [zip], k 2: three records with 11111, two (ids 20, 21) with
    99999. A row() with state in Lua globals keeps every record the first
    time it sees it and drops record 21 the second time. Had the counting
    pass and the serving pass shared the Lua state, the class 99999 would
    count 2 (kept) and record 20 be served alone in it. Held for a CSV
    dataset (and its Parquet form) and the JSON Lines form itself: never
    a class of one."""
    kanon_stateful(sandbox, fmt, form, tmp_path)


@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_finding_jsonl_forms_kanon_stateful_row_filter_serves_a_class_of_one(
        sandbox, form, tmp_path):
    """The same attack on the CSV and Parquet forms of a JSON Lines
    dataset: k.csv and k.parquet serve record 20 alone in class 99999
    under k 2 (k.jsonl, built with its own Lua state, holds). The forms
    count the classes with one verdict of row() and write the rows with
    another from the same Lua state (the globals survive between the
    passes), so record 21, counted in the class, is dropped when the rows
    are written. README (k_anonymity): "the view does not serve a row
    whose combination of the quasi columns, as served (after masking and
    after the Lua row filter), is shared by fewer than k rows"; Security
    model: "no row of a class under k in any form ... whatever the row
    filter". Expected: no class under k in any form (a fresh Lua state
    for each pass, or the verdicts of the counting pass reused)."""
    kanon_stateful(sandbox, "jsonl", form, tmp_path)


def kanon_stateful(sandbox, fmt, form, tmp_path):
    s = sandbox()
    recs = [{"id": i, "zip": "11111"} for i in range(3)]
    recs += [{"id": 20, "zip": "99999"}, {"id": 21, "zip": "99999"}]
    if fmt == "sqlite":
        import sqlite3
        db = sqlite3.connect(os.path.join(s.src, "k.db"))
        db.execute("CREATE TABLE t (id INTEGER, zip TEXT)")
        db.executemany("INSERT INTO t VALUES (?, ?)",
                       [(r["id"], r["zip"]) for r in recs])
        db.commit()
        db.close()
        p = write_lua(s, KANON_STATEFUL)
        s.write_config(
            "source: @SRC@\ndatasets:\n  k.db:\n    policy: %s\n"
            "    tables:\n      t:\n"
            "        k_anonymity: { quasi: [zip], k: 2 }\n"
            "        columns: { id: keep, zip: keep }\n" % p)
        s.mount()
        if form == "db":
            import shutil
            import sqlite3
            dst = str(tmp_path / "out.db")
            shutil.copy(s.path("k.db"), dst)
            c = sqlite3.connect(dst)
            rows = [[str(a), b] for a, b in
                    c.execute("SELECT id, zip FROM t")]
            c.close()
        else:
            import csv
            import io
            out = read_or_err(s, "k/t.csv")
            assert not out.startswith(b"error"), out
            rows = [[r["id"], r["zip"]]
                    for r in csv.DictReader(io.StringIO(out.decode()))]
        zips = [z for _, z in rows]
        assert zips.count("11111") == 3, rows
        assert not [z for z in set(zips) if zips.count(z) < 2], rows
        return
    if fmt == "csv":
        s.write("k.csv", "id,zip\n" + "".join(
            "%d,%s\n" % (r["id"], r["zip"]) for r in recs))
    else:
        s.write("k.jsonl", jl(recs))
    p = write_lua(s, KANON_STATEFUL)
    s.write_config(
        "source: @SRC@\ndatasets:\n  k.%s:\n    policy: %s\n"
        "    as: [%s, %s]\n"
        "    k_anonymity: { quasi: [zip], k: 2 }\n"
        "    columns: { id: keep, zip: keep }\n"
        % (fmt, p, "native" if fmt == "csv" else "jsonl", form))
    s.mount()
    out = read_or_err(s, "k." + form)
    if out.startswith(b"error"):
        return
    if form == "parquet":
        dst, _ = copy_out(s, "k.parquet", tmp_path)
        rows = duck(tmp_path, "SELECT CAST(id AS VARCHAR), CAST(zip AS "
                    "VARCHAR) FROM read_parquet('%s') ORDER BY 1" % dst)
    elif form == "csv":
        import csv
        import io
        rows = [[r["id"], r["zip"]]
                for r in csv.DictReader(io.StringIO(out.decode()))]
    else:
        rows = [[str(r["id"]), r["zip"]] for r in
                map(json.loads, out.decode().splitlines())]
    zips = [z for _, z in rows]
    small = [z for z in set(zips) if zips.count(z) < 2]
    assert not small, "k.%s serves a class of one under k 2: %s" % (form,
                                                                    rows)


# ---------------------------------------------------------------------------
# The build failure when the second pass brings a key the first did not see


LUA_LATE = (
    "seen = {}\n"
    "function row(r, ctx)\n"
    "  if seen[r.id] then return true end\n"
    "  seen[r.id] = true\n"
    "  return r.id ~= 2\n"
    "end\n")


@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_held_jsonl_forms_late_key_fails_closed_naming_nothing(sandbox,
                                                               form):
    """The inverse stateful row(): record 2 is dropped on the first pass
    and served on the second, so the rows bring keys (hiv_positive,
    votes.Jasmine Payne, a value type) the columns do not have. The form
    fails closed (EIO) or serves record 2 whole; neither the daemon log
    nor the audit log names the key or a value (`spotfs check` lists the
    source's field paths, as documented, but no value)."""
    s = sandbox()
    recs = [dict(r) for r in VOTES]
    recs[1]["note"] = "Diagnosis-Raw-Text"
    s.write("v.jsonl", jl(recs))
    p = write_lua(s, LUA_LATE)
    s.write_config(
        "source: @SRC@\ndatasets:\n  v.jsonl:\n    as: [jsonl, %s]\n"
        "    policy: %s\n    unlisted_columns: keep\n"
        "    columns: { id: keep, country: keep }\n" % (form, p))
    s.mount()
    data = read_or_err(s, "v." + form)
    r = spotfs("check", "-c", s.config)
    texts = [s.read_log(), r.stdout + r.stderr]
    for dirpath, _, files in os.walk(s.base):
        for n in files:
            if "audit" in n:
                with open(os.path.join(dirpath, n), "rb") as f:
                    texts.append(f.read().decode(errors="replace"))
    # check lists every field path of the source (documented: it is the
    # operator's tool, reading the raw source): only values must not show
    assert "Diagnosis-Raw" not in texts[1], texts[1]
    del texts[1]
    for t in texts:
        for needle in ("Jasmine", "hiv_positive", "Diagnosis-Raw"):
            assert needle not in t, (needle, t[-600:])
    if not data.startswith(b"error") and b"hiv_positive" in data:
        assert b"Jasmine" in data  # record 2 served whole, as the policy said


def test_held_cli_on_nested_forms_prints_no_raw_value(sandbox):
    """`spotfs check`, `preview` (of the JSON Lines, CSV and Parquet
    names) and `report` on the fine-tuning set print no raw value of a
    masked or unlisted nested field."""
    s = sandbox()
    s.write("t.jsonl", jl(finetune_records()))
    s.write_config(
        "source: @SRC@\ndatasets:\n  t.jsonl:\n"
        "    as: [jsonl, csv, parquet]\n"
        "    columns:\n      id: keep\n      ok: keep\n"
        "      user.email: { method: hash }\n"
        "      user.name: { method: fake, kind: name }\n"
        "      user.age: keep\n"
        "      \"messages[].content\": { method: pii }\n"
        "      \"messages[].role\": keep\n"
        "      meta.note: { method: hash }\n")
    outs = []
    for args in (["check", "-c", s.config],
                 ["preview", "-c", s.config, "t.jsonl"],
                 ["preview", "-c", s.config, "t.csv"],
                 ["preview", "-c", s.config, "t.parquet"],
                 ["report", "-c", s.config, "t.jsonl", "--quasi",
                  "user.age", "--k", "2"]):
        r = spotfs(*args)
        outs.append(" ".join(args[:1]) + ": " + r.stdout + r.stderr)
    assert "t.parquet" in outs[3] or "id" in outs[3], outs[3]
    for o in outs:
        for needle in RAW_NEEDLES:
            assert needle.decode() not in o, (needle, o[:800])


def test_held_jsonl_parquet_nested_stats_and_pages_hold_no_dropped_value(
        sandbox, tmp_path):
    """Row filter drops the odd ids. Kept fields of dropped records
    (tags[] "TAGRAW01", user.age 69 the maximum, messages[].role "ROLE01")
    are in no decoded cell, no min/max statistic, no dictionary page
    (raw bytes, snappy aside: the values are short and distinct) and no
    key-value metadata of the Parquet form."""
    s = sandbox()
    recs = finetune_records()
    for r in recs:
        r["messages"][0]["role"] = "ROLE%02d" % r["id"]
    s.write("t.jsonl", jl(recs))
    p = write_lua(s, "function row(r, ctx) return r.id % 2 == 0 end\n")
    s.write_config(
        "source: @SRC@\ndatasets:\n  t.jsonl:\n    as: [jsonl, parquet]\n"
        "    policy: %s\n    columns:\n      id: keep\n      tags: keep\n"
        "      user.age: keep\n      \"messages[].role\": keep\n" % p)
    s.mount()
    dst, data = copy_out(s, "t.parquet", tmp_path)
    assert not data.startswith(b"error"), data
    cells = all_cells(tmp_path, dst)
    assert "TAGRAW00" in cells and "ROLE00" in cells  # served ones are there
    meta = duck(tmp_path, "SELECT path_in_schema, stats_min, stats_max, "
                "stats_min_value, stats_max_value FROM parquet_metadata('%s')"
                % dst)
    kv = duck(tmp_path, "SELECT * FROM parquet_kv_metadata('%s')" % dst)
    blob = (cells + json.dumps(meta) +
            json.dumps([[str(x) for x in r] for r in kv])).encode() + data
    for i in range(1, 40, 2):
        for needle in (b"TAGRAW%02d" % i, b"ROLE%02d" % i):
            assert needle not in blob, (needle, meta)
    ages = [r for r in meta if "age" in str(r[0])]
    assert ages and all("69" not in json.dumps(r) for r in ages), ages


@pytest.mark.parametrize("form", ["csv", "parquet"])
@pytest.mark.parametrize("first", ["steward", "other"])
def test_held_jsonl_forms_schema_per_role_row_filter(sandbox, form, first):
    """row() serves every record to the steward role and only DE records
    to the other role. Whichever role builds first, the other role's
    form names no key of record 2 (hiv_positive, "Jasmine Payne")."""
    s = sandbox()
    s.write("v.jsonl", jl(VOTES[:1] + [dict(VOTES[1], country="FR")] +
                          VOTES[2:]))
    p = write_lua(s, 'function row(r, ctx)\n'
                  '  return ctx.role == "steward" or r.country == "DE"\n'
                  'end\n')
    s.write_config(
        "source: @SRC@\nroles:\n  steward: { users: [root] }\n"
        "  other: { users: [65534] }\n"
        "datasets:\n  v.jsonl:\n    as: [jsonl, %s]\n    policy: %s\n"
        "    columns: { id: keep, country: keep, \"votes.*\": keep,"
        " hiv_positive: keep }\n" % (form, p))
    s.mount()
    os.chmod(s.base, 0o755)
    code = ("import sys\np = sys.argv[1]\n"
            "try:\n    d = open(p, 'rb').read()\n"
            "except OSError as e:\n    print('err', e.errno); sys.exit(0)\n"
            "print(len(d), b'Jasmine' in d, b'hiv_positive' in d)\n")

    def other():
        r = subprocess.run(["setpriv", "--reuid", "65534", "--regid",
                            "65534", "--clear-groups", "/usr/bin/python3",
                            "-c", code, s.path("v." + form)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    if first == "other":
        out = other()
        assert b"Jasmine" in read_or_err(s, "v." + form)
    else:
        assert b"Jasmine" in read_or_err(s, "v." + form)
        out = other()
    assert "True" not in out, out
    assert not out.startswith("err"), out


def test_held_jsonl_parquet_over_the_caps_json_text_is_masked(sandbox,
                                                              tmp_path):
    """Past the caps a subtree is one STRING of JSON text: a struct of 300
    keys (each {"email": raw} under a `meta.*.email: hash` rule), a
    1,100-leaf array of objects and an object nested 40 deep with an
    unlisted leaf at the bottom. The JSON text cells hold the masked
    values (hash, null), never the raw ones, in the Parquet and the CSV
    form."""
    s = sandbox()
    deep = "DEEPRAWVALUE"
    for _ in range(40):
        deep = {"d": deep}
    recs = []
    for i in range(3):
        recs.append({
            "id": i,
            "meta": dict(("k%03d" % j, {"email": "wide%03d.raw@example.com"
                                        % j}) for j in range(300)),
            "arr": [{"a%04d" % j: "ARRRAW%04d" % j} for j in range(1100)],
            "deep": deep})
    s.write("c.jsonl", jl(recs))
    s.write_config(
        "source: @SRC@\ndatasets:\n  c.jsonl:\n    as: [jsonl, csv, parquet]\n"
        "    columns:\n      id: keep\n"
        "      \"meta.*.email\": { method: hash }\n")
    s.mount()
    dst, data = copy_out(s, "c.parquet", tmp_path)
    assert not data.startswith(b"error"), data
    texts = [data, read_or_err(s, "c.csv"),
             all_cells(tmp_path, dst).encode()]
    for t in texts:
        for needle in (b"wide0", b"ARRRAW", b"DEEPRAW"):
            assert needle not in t, needle
    sch = schema_of(tmp_path, dst)
    assert any(r[0] == "meta" for r in sch), sch


# A column function with state: the sixth call and later (a second pass in
# the same Lua state) give record 21 another zip.
KANON_STATEFUL_COLUMN = (
    "n = 0\n"
    "columns = { zip = function(v, row, ctx)\n"
    "  n = n + 1\n"
    "  if n > 5 and tonumber(row.id) == 21 then return '55555' end\n"
    "  return v\n"
    "end }\n")


def kanon_column(sandbox, fmt, form, tmp_path):
    s = sandbox()
    recs = [{"id": i, "zip": "11111"} for i in range(3)]
    recs += [{"id": 20, "zip": "99999"}, {"id": 21, "zip": "99999"}]
    if fmt == "csv":
        s.write("k.csv", "id,zip\n" + "".join(
            "%d,%s\n" % (r["id"], r["zip"]) for r in recs))
    else:
        s.write("k.jsonl", jl(recs))
    p = write_lua(s, KANON_STATEFUL_COLUMN)
    s.write_config(
        "source: @SRC@\ndatasets:\n  k.%s:\n    policy: %s\n"
        "    as: [%s, %s]\n"
        "    k_anonymity: { quasi: [zip], k: 2 }\n"
        "    columns: { id: keep, zip: { policy: zip } }\n"
        % (fmt, p, "native" if fmt == "csv" else "jsonl", form))
    s.mount()
    out = read_or_err(s, "k." + form)
    if out.startswith(b"error"):
        return
    if form == "parquet":
        dst, _ = copy_out(s, "k.parquet", tmp_path)
        rows = duck(tmp_path, "SELECT CAST(id AS VARCHAR), CAST(zip AS "
                    "VARCHAR) FROM read_parquet('%s') ORDER BY 1" % dst)
    elif form == "csv":
        import csv
        import io
        rows = [[r["id"], r["zip"]]
                for r in csv.DictReader(io.StringIO(out.decode()))]
    else:
        rows = [[str(r["id"]), r["zip"]] for r in
                map(json.loads, out.decode().splitlines())]
    zips = [z for _, z in rows]
    assert zips.count("11111") == 3, rows
    small = [z for z in set(zips) if zips.count(z) < 2]
    assert not small, "k.%s serves a class of one under k 2: %s" % (form,
                                                                    rows)


@pytest.mark.parametrize("fmt,form", [("csv", "csv"), ("csv", "parquet"),
                                      ("jsonl", "jsonl"), ("jsonl", "csv"),
                                      ("jsonl", "parquet")])
def test_finding_kanon_stateful_column_function_serves_a_class_of_one(
        sandbox, fmt, form, tmp_path):
    """quasi [zip], k 2, masked by a Lua column function with state in a
    global (from its sixth call on, record 21's zip becomes 55555). The
    classes are counted from the first five calls (11111 x3, 99999 x2:
    every record kept), then the rows are written by later calls of the
    same Lua state: record 21 is served as 55555 and record 20 alone with
    99999, two classes of one under k 2, in every form (a CSV dataset and
    its Parquet form; a JSON Lines dataset and its CSV and Parquet
    forms). The row() variant above holds for CSV and the JSON Lines form
    itself (its verdicts are not asked again), the column variant does
    not. README (k_anonymity): "the view does not serve a row whose
    combination of the quasi columns, as served (after masking and after
    the Lua row filter), is shared by fewer than k rows"; Security model:
    "no row of a class under k in any form". Expected: no class under k
    (the served quasi values are the counted ones: a fresh Lua state per
    pass, or the counted values reused, or the build fails closed when a
    served quasi value was not counted)."""
    kanon_column(sandbox, fmt, form, tmp_path)


@pytest.mark.parametrize("form", ["csv", "db"])
def test_finding_sqlite_kanon_stateful_column_function_serves_a_class_of_one(
        sandbox, form, tmp_path):
    """The stateful column function of the test above on a SQLite table's
    quasi column: the table CSV (k/t.csv) and the served k.db both hold
    record 20 alone with 99999 and record 21 alone with 55555 under k 2.
    Same README sentences. Expected: no class under k."""
    import csv
    import io
    import shutil
    import sqlite3
    s = sandbox()
    db = sqlite3.connect(os.path.join(s.src, "k.db"))
    db.execute("CREATE TABLE t (id INTEGER, zip TEXT)")
    db.executemany("INSERT INTO t VALUES (?, ?)",
                   [(0, "11111"), (1, "11111"), (2, "11111"),
                    (20, "99999"), (21, "99999")])
    db.commit()
    db.close()
    p = write_lua(s, KANON_STATEFUL_COLUMN)
    s.write_config(
        "source: @SRC@\ndatasets:\n  k.db:\n    policy: %s\n"
        "    tables:\n      t:\n"
        "        k_anonymity: { quasi: [zip], k: 2 }\n"
        "        columns: { id: keep, zip: { policy: zip } }\n" % p)
    s.mount()
    if form == "db":
        dst = str(tmp_path / "out.db")
        try:
            shutil.copy(s.path("k.db"), dst)
        except OSError:
            return
        c = sqlite3.connect(dst)
        rows = [[str(a), b] for a, b in c.execute("SELECT id, zip FROM t")]
        c.close()
    else:
        out = read_or_err(s, "k/t.csv")
        if out.startswith(b"error"):
            return
        rows = [[r["id"], r["zip"]]
                for r in csv.DictReader(io.StringIO(out.decode()))]
    zips = [z for _, z in rows]
    assert not [z for z in set(zips) if zips.count(z) < 2], rows


def test_held_lua_fpe_scramble_serve_only_ascii(sandbox):
    """The Lua built-ins mask.fpe (digits, alnum, luhn, iban) and
    mask.scramble on the odd Unicode values: only ASCII is served."""
    s = sandbox()
    s.write("f.csv", odd_csv())
    p = write_lua(s, (
        "columns = {\n"
        "  a = function(v) return mask.fpe(v) end,\n"
        "  b = function(v) return mask.fpe(v, 'alnum') end,\n"
        "  c = function(v) return mask.fpe(v, {luhn = true}) end,\n"
        "  d = function(v) return mask.fpe(v, {iban = true}) end,\n"
        "  e = function(v) return mask.scramble(v) end,\n"
        "}\n"))
    # one column per function: the same value five times
    lines = odd_csv().decode().splitlines()
    out = ["id,a,b,c,d,e"]
    for line in lines[1:]:
        i, v = line.split(",", 1)
        out.append(",".join([i] + [v] * 5))
    s.write("f.csv", "\n".join(out) + "\n")
    s.write_config(
        "source: @SRC@\ndatasets:\n  f.csv:\n    policy: %s\n"
        "    columns: { id: keep, a: { policy: a }, b: { policy: b },"
        " c: { policy: c }, d: { policy: d }, e: { policy: e } }\n" % p)
    s.mount()
    got = read_or_err(s, "f.csv")
    assert not got.startswith(b"error"), got
    bad = [l for l in got.splitlines() if not l.isascii()]
    assert not bad, bad[:3]

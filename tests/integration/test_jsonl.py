# SPDX-License-Identifier: LGPL-2.1-or-later
"""JSON Lines datasets through a real mount: a fine-tuning set with nested
messages, a log with arrays of events, an untouched dataset served byte for
byte, hostile files failing closed, pandas and DuckDB reading every served
file, and a byte scan of everything the mount serves for raw values."""
import errno
import json
import os
import subprocess

import pytest

from conftest import SPOTFS, duck, needs_duckdb, spotfs

N = 300

CONFIG = """
source: @SRC@
ttl: 1h
secret: @SECRET@
default: hide
datasets:
  train.jsonl:
    columns:
      id: keep
      user.email: { method: hash }
      user.name: { method: fake, kind: name }
      user.age: { method: noise, epsilon: 1.0 }
      "messages[].role": keep
      "messages[].content": { method: pii }
      "metadata.*.value": { method: redact }
      "metadata.*.score": keep
  events.ndjson:
    unlisted_columns: keep
    columns:
      "events[].ip": { method: mask, pattern: "***.***.***.***" }
      "events[].user": { method: tokenize }
      host.name: { method: hash, length: 8 }
  plain.json:
    unlisted_columns: keep
    columns:
      secretish: { method: hash, optional: true }
  hostile.jsonl:
    unlisted_columns: keep
    columns:
      a: { method: hash, optional: true }
"""


def train_records():
    recs = []
    for i in range(N):
        email = "rawuser%04d@rawmail.example" % i
        recs.append({
            "id": i,
            "user": {"email": email, "name": "Rawname%04dQ" % i,
                     "age": 20 + i % 50, "nick": "rawnick%04d" % i},
            "messages": [
                {"role": "system", "content": "You are helpful."},
                {"role": "user",
                 "content": "Write to %s or call +1 415 555 %04d" % (email, i)},
                {"role": "assistant",
                 "content": "I will email %s now." % email},
            ],
            "metadata": {"src": {"value": "rawsrc%04d" % i, "score": i / 4},
                         "dst": {"value": "rawdst%04d" % i, "score": None}},
            "note": None if i % 3 else "rawnote%04d" % i,
        })
    return recs


def events_lines():
    out = []
    for i in range(N):
        rec = {"ts": 1700000000 + i, "level": "info",
               "host": {"name": "rawhost%03d" % (i % 17)},
               "events": [{"ip": "10.%d.%d.%d" % (i % 250, i % 7, i % 11),
                           "user": "rawevuser%04d" % i, "bytes": i * 10}
                          for _ in range(1 + i % 3)]}
        # Varied spacing: the served bytes must keep it.
        sep = (", ", ": ") if i % 2 else (",", ":")
        out.append(json.dumps(rec, separators=sep))
    return out


PLAIN = ('{"k": "v",  "n": 1.50, "big": 12345678901234567890, '
         '"s": "\\u00e9\\n\\"", "arr": [1, {"x": null}]}\n'
         '{"k":"w","n":-0,"e":1E+2}\r\n'
         '\n'
         '{"k": "last, no newline"}')


def raw_values():
    vals = set()
    for r in train_records():
        vals |= {r["user"]["email"], r["user"]["name"], r["user"]["nick"],
                 r["metadata"]["src"]["value"], r["metadata"]["dst"]["value"]}
        if r["note"]:
            vals.add(r["note"])
        vals.add("+1 415 555 %04d" % r["id"])
    for line in events_lines():
        r = json.loads(line)
        vals.add(r["host"]["name"])
        for e in r["events"]:
            vals |= {e["ip"], e["user"]}
    return vals


@pytest.fixture
def mounted(sandbox, tmp_path):
    s = sandbox()
    secret = tmp_path / "secret"
    secret.write_bytes(b"k" * 32)
    os.chmod(secret, 0o600)
    s.write("train.jsonl", "".join(json.dumps(r) + "\n"
                                   for r in train_records()))
    s.write("events.ndjson", "\n".join(events_lines()) + "\n")
    s.write("plain.json", PLAIN)
    s.write("hostile.jsonl", '{"a": 1}\n{"a": "rawhostile", "a": 2}\n')
    s.write_config(CONFIG.replace("@SECRET@", str(secret)))
    s.mount()
    yield s


def read(s, name):
    with open(s.path(name), "rb") as f:
        return f.read()


def test_fine_tuning_set_is_masked_field_by_field(mounted):
    got = [json.loads(x) for x in read(mounted, "train.jsonl").splitlines()]
    assert len(got) == N
    for src, r in zip(train_records(), got):
        assert list(r.keys()) == list(src.keys()), "key order kept"
        assert r["id"] == src["id"]
        assert r["user"]["email"] != src["user"]["email"]
        assert len(r["user"]["email"]) == 16
        assert r["user"]["name"] != src["user"]["name"]
        assert isinstance(r["user"]["age"], int), "noise keeps a number"
        assert r["user"]["nick"] is None, "unlisted: null at any depth"
        assert [m["role"] for m in r["messages"]] == \
            [m["role"] for m in src["messages"]]
        assert r["messages"][0]["content"] == "You are helpful."
        assert "[EMAIL]" in r["messages"][1]["content"]
        assert "[PHONE]" in r["messages"][1]["content"]
        assert r["messages"][2]["content"] == "I will email [EMAIL] now."
        assert r["metadata"]["src"]["value"] == "[REDACTED]"
        assert r["metadata"]["dst"]["value"] == "[REDACTED]"
        assert r["metadata"]["src"]["score"] == src["metadata"]["src"]["score"]
        assert r["metadata"]["dst"]["score"] is None
        assert r["note"] is None
    # The same email hashes alike in every record (keyed, deterministic).
    again = [json.loads(x) for x in read(mounted, "train.jsonl").splitlines()]
    assert again == got


def test_log_events_keep_their_bytes_but_masked_values(mounted):
    served = read(mounted, "events.ndjson").decode().splitlines()
    src = events_lines()
    assert len(served) == len(src)
    for a, b in zip(src, served):
        ra, rb = json.loads(a), json.loads(b)
        assert rb["ts"] == ra["ts"] and rb["level"] == ra["level"]
        assert rb["host"]["name"] != ra["host"]["name"]
        assert len(rb["events"]) == len(ra["events"])
        for ea, eb in zip(ra["events"], rb["events"]):
            assert eb["ip"] and set(eb["ip"]) <= set("*."), eb["ip"]
            assert eb["user"].startswith("tok_")
            assert eb["bytes"] == ea["bytes"]
        # Every byte but the masked values is the source's: the spacing.
        assert (", " in b) == (", " in a)
    # One user, one token.
    toks = {}
    for a, b in zip(src, served):
        for ea, eb in zip(json.loads(a)["events"], json.loads(b)["events"]):
            toks.setdefault(ea["user"], set()).add(eb["user"])
    assert all(len(v) == 1 for v in toks.values())


def test_records_without_masked_fields_are_byte_identical(mounted):
    assert read(mounted, "plain.json") == PLAIN.encode()


def test_hostile_file_fails_closed_without_the_value(mounted):
    with pytest.raises(OSError) as e:
        read(mounted, "hostile.jsonl")
    assert e.value.errno == errno.EIO
    log = mounted.read_log()
    assert "line 2: duplicate key at byte" in log
    assert "rawhostile" not in log


def test_pandas_reads_every_served_file(mounted):
    code = ("import pandas as pd, sys\n"
            "for p in sys.argv[1:]:\n"
            "    df = pd.read_json(p, lines=True)\n"
            "    print(p.rsplit('/', 1)[1], len(df))\n")
    r = subprocess.run(["/usr/bin/python3", "-c", code,
                        mounted.path("train.jsonl"),
                        mounted.path("events.ndjson")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["train.jsonl", str(N), "events.ndjson", str(N)]


@needs_duckdb
def test_duckdb_reads_every_served_file(mounted, tmp_path):
    rows = duck(tmp_path, "SELECT count(*), count(DISTINCT \"user\".email) "
                "FROM read_json('%s', format='newline_delimited')"
                % mounted.path("train.jsonl"))
    assert rows == [[N, N]]
    rows = duck(tmp_path, "SELECT count(*), sum(len(events)) FROM "
                "read_json('%s', format='newline_delimited')"
                % mounted.path("events.ndjson"))
    assert rows[0][0] == N
    assert rows[0][1] == sum(1 + i % 3 for i in range(N))
    rows = duck(tmp_path, "SELECT count(*) FROM read_json('%s', "
                "format='newline_delimited')" % mounted.path("plain.json"))
    assert rows == [[3]]


def test_no_raw_value_anywhere_in_what_the_mount_serves(mounted):
    got = b""
    for dirpath, _, files in os.walk(mounted.mnt):
        for f in files:
            try:
                with open(os.path.join(dirpath, f), "rb") as fh:
                    got += fh.read()
            except OSError:
                pass
    assert len(got) > 10000
    for v in raw_values():
        for form in {v, json.dumps(v)[1:-1]}:
            assert form.encode() not in got, "raw value served: %r" % v


def test_check_and_preview_know_the_format(mounted):
    r = spotfs("check", "-c", mounted.config)
    out = r.stdout + r.stderr
    assert "train.jsonl" in out and "events.ndjson" in out
    assert "duplicate key" in out  # hostile.jsonl is reported
    assert "rawhostile" not in out
    r = spotfs("preview", "-c", mounted.config, "train.jsonl", "--rows", "2")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["user"]["nick"] is None
    assert "rawuser0000" not in r.stdout


HOSTILE = {
    "deep": b'{"a":' + b'[' * 100 + b']' * 100 + b'}\n',
    "lone_surrogate": b'{"a": "\\ud83d x"}\n',
    "bad_utf8": b'{"a": "\xc0\xaf"}\n',
    "control": b'{"a": "x\x01y"}\n',
    "not_object": b'[1, 2]\n',
    "trailing": b'{"a": 1} {"b": 2}\n',
    "escaped_dup": b'{"email": "x", "em\\u0061il": "rawdup"}\n',
    "bad_number": b'{"a": 01}\n',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_malformed_input_fails_closed(sandbox, kind):
    s = sandbox()
    s.write("h.jsonl", HOSTILE[kind])
    s.write_config("source: @SRC@\nttl: 1h\nsecret: random\ndefault: hide\n"
                   "datasets:\n  h.jsonl:\n    unlisted_columns: keep\n")
    s.mount()
    with pytest.raises(OSError) as e:
        read(s, "h.jsonl")
    assert e.value.errno == errno.EIO
    log = s.read_log()
    assert "line 1:" in log and "at byte" in log
    assert "rawdup" not in log


def test_hostile_but_valid_values_are_served_as_valid_json(sandbox):
    s = sandbox()
    big = "\u00e9" * 300000 + "\U0001F600"
    rec = {"a": big, "b": "nul\u0000inside", "c": "quote\"back\\slash",
           "d": "\U0001F600", "deep": [[[[[[[[{"x": "y"}]]]]]]]]}
    s.write("v.jsonl", json.dumps(rec) + "\n" + json.dumps(rec,
                                                           ensure_ascii=False)
            + "\n")
    s.write_config("source: @SRC@\nttl: 1h\nsecret: random\ndefault: hide\n"
                   "datasets:\n  v.jsonl:\n    columns:\n"
                   "      a: { method: partial, keep_first: 2 }\n"
                   "      b: { method: partial, keep_first: 4 }\n"
                   "      c: keep\n      d: { method: hash }\n"
                   "      \"deep[][][][][][][][].x\": { method: redact }\n")
    s.mount()
    lines = read(s, "v.jsonl").splitlines()
    assert len(lines) == 2
    for line in lines:
        r = json.loads(line)
        assert r["a"].startswith("\u00e9\u00e9") and "\u00e9" * 3 not in r["a"]
        assert r["b"].startswith("nul\u0000")
        assert r["c"] == rec["c"]
        assert r["d"] != rec["d"]
        # Every field under deep is redacted: deep is null whole.
        assert r["deep"] is None


LUA = r'''
columns = {
  ["user.email"] = function(v, row, ctx)
    -- the record as a table: nested tables, arrays from 1, numbers
    return mask.hash(v) .. "|" .. row.messages[2].role .. "|" ..
           math.type(row.id) .. "|" .. tostring(row.note)
  end,
  ["messages[].content"] = function(v, row, ctx)
    if row.id % 5 == 0 then return nil end
    return "len=" .. #v
  end,
  note = function(v, row, ctx)
    if v == nil then return "was null" end
    return nil
  end,
}
function row(r, ctx)
  return r.id % 2 == 0 and r.user.age ~= nil
end
'''


def test_lua_sees_the_record_and_filters_it(sandbox, tmp_path):
    s = sandbox()
    s.write("train.jsonl", "".join(json.dumps(r) + "\n"
                                   for r in train_records()))
    pol = tmp_path / "p.lua"
    pol.write_text(LUA)
    s.write_config("source: @SRC@\nttl: 1h\nsecret: random\ndefault: hide\n"
                   "datasets:\n  train.jsonl:\n    policy: %s\n"
                   "    unlisted_columns: redact\n    columns:\n"
                   "      id: keep\n      \"messages[].role\": keep\n" % pol)
    s.mount()
    got = [json.loads(x) for x in read(s, "train.jsonl").splitlines()]
    assert [r["id"] for r in got] == list(range(0, N, 2)), "row() filters"
    for r in got:
        h, role, typ, note = r["user"]["email"].split("|")
        assert role == "user" and typ == "integer"
        assert note == ("nil" if r["id"] % 3 else "rawnote%04d" % r["id"])
        assert "rawuser" not in h
        for m in r["messages"]:
            assert m["content"] is None if r["id"] % 5 == 0 else \
                m["content"].startswith("len=")
        assert r["user"]["name"] is None  # unlisted: redact
        assert r["note"] == ("was null" if r["id"] % 3 else None), \
            "a Lua function gets nil for null"


def mount_one(sandbox, data, columns, unlisted="redact"):
    s = sandbox()
    s.write("d.jsonl", data)
    s.write_config("source: @SRC@\nttl: 1h\nsecret: random\ndefault: hide\n"
                   "datasets:\n  d.jsonl:\n    unlisted_columns: %s\n"
                   "    columns:\n%s" % (unlisted, columns))
    s.mount()
    return s


def test_rule_on_an_object_covers_its_fields_most_specific_wins(sandbox):
    s = mount_one(sandbox,
                  '{"user": {"email": "rawmail@x.org", "name": "rawname", '
                  '"tags": ["rawtag"], "id": 7}}\n',
                  "      user: { method: redact }\n"
                  "      user.id: keep\n"
                  "      \"*.email\": { method: hash }\n", unlisted="keep")
    r = json.loads(read(s, "d.jsonl"))
    assert r["user"]["id"] == 7, "user.id: the longer rule wins"
    assert len(r["user"]["email"]) == 16, "*.email (2 segments) beats user"
    assert r["user"]["name"] == "[REDACTED]", "user covers user.name"
    # user covers user.tags[]; every value of tags hidden: null whole.
    assert r["user"]["tags"] is None, "user covers user.tags[]"


def test_rule_matching_no_field_fails_closed(sandbox):
    s = mount_one(sandbox, '{"user": {"email": "rawmail@x.org"}}\n',
                  "      user.mail: { method: hash }\n", unlisted="keep")
    with pytest.raises(OSError) as e:
        read(s, "d.jsonl")
    assert e.value.errno == errno.EIO
    assert "rawmail" not in s.read_log()


@pytest.mark.parametrize("data", [
    '{"scores": {"rawkey@example.com": 3}}\n',
    '{"seen": {"rawkey@example.com": []}}\n',      # no value, still a key
    '{"seen": [{"rawkey@example.com": {}}]}\n',
])
def test_keys_that_look_like_personal_data_are_refused(sandbox, data):
    s = mount_one(sandbox, data,
                  "      id: { method: hash, optional: true }\n",
                  unlisted="keep")
    with pytest.raises(OSError) as e:
        read(s, "d.jsonl")
    assert e.value.errno == errno.EIO
    assert "rawkey" not in s.read_log()


def test_escaped_key_spelling_is_masked_by_its_decoded_name(sandbox):
    s = mount_one(sandbox, '{"em\\u0061il": "rawmail@x.org", "id": 1}\n'
                  '{"email": "rawmail2@x.org", "id": 2}\n',
                  "      email: { method: hash }\n      id: keep\n")
    got = read(s, "d.jsonl")
    assert b"rawmail" not in got
    assert got.startswith(b'{"em\\u0061il": "')


def test_same_bytes_for_any_threads_in_memory_or_streamed(sandbox, tmp_path):
    """Determinism: one secret, 1 thread in memory against 2 threads
    streamed past view_memory (parts of 2 MiB): the same served bytes,
    noise included."""
    secret = tmp_path / "secret"
    secret.write_bytes(b"d" * 32)
    os.chmod(secret, 0o600)
    line = ('{"id": %d, "user": {"email": "rawuser%d@x.org", "age": %d}, '
            '"messages": [{"content": "call rawuser%d@x.org"}], '
            '"pad": "%s"}\n')
    data = "".join(line % (i, i, 20 + i % 50, i, "x" * (i % 200))
                   for i in range(40000))
    assert len(data) > 6 << 20
    got = []
    for name, extra in (("one", "threads: 1\n"),
                        ("two", "threads: 2\nview_memory: 1MiB\n")):
        s = sandbox(name)
        s.write("big.jsonl", data)
        s.write_config("source: @SRC@\nttl: 1h\nsecret: %s\ndefault: hide\n"
                       "%sdatasets:\n  big.jsonl:\n    columns:\n"
                       "      id: keep\n      pad: keep\n"
                       "      user.email: { method: hash }\n"
                       "      user.age: { method: noise }\n"
                       "      \"messages[].content\": { method: pii }\n"
                       % (secret, extra))
        s.mount()
        got.append(read(s, "big.jsonl"))
        s.unmount()
    assert got[0] == got[1]
    assert got[0].count(b"\n") == 40000 and b"rawuser" not in got[0]


def test_k_anonymity_counts_records_by_nested_fields(sandbox):
    recs = ['{"id": %d, "user": {"zip": "%s", "email": "rawk%d@x.org"}, '
            '"tags": ["a"]}\n' % (i, z, i)
            for i, z in enumerate(["10001"] * 3 + ["10002"] * 2 + ["99999"])]
    s = mount_one(sandbox, "".join(recs),
                  "      user.email: { method: hash }\n"
                  "      user.zip: keep\n      id: keep\n"
                  "    k_anonymity: { quasi: [user.zip], k: 3 }\n",
                  unlisted="keep")
    got = [json.loads(x) for x in read(s, "d.jsonl").splitlines()]
    assert [r["id"] for r in got] == [0, 1, 2], "classes under 3 dropped"
    assert b"rawk" not in read(s, "d.jsonl")


def test_k_anonymity_on_a_field_inside_an_array_fails_closed(sandbox):
    s = mount_one(sandbox, '{"tags": ["a"]}\n{"tags": ["a"]}\n',
                  "      \"tags[]\": keep\n"
                  "    k_anonymity: { quasi: [\"tags[]\"], k: 2 }\n")
    with pytest.raises(OSError) as e:
        read(s, "d.jsonl")
    assert e.value.errno == errno.EIO
    assert "inside an array" in s.read_log()


def test_scan_writes_field_path_rules_that_check_accepts(sandbox, tmp_path):
    s = sandbox()
    s.write("train.jsonl", "".join(json.dumps(r) + "\n"
                                   for r in train_records()[:50]))
    out = tmp_path / "scan.yaml"
    r = spotfs("scan", s.src, "-o", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    cfg = out.read_text()
    assert '"user.email":' in cfg and '"messages[].content":' in cfg
    assert "rawuser" not in cfg and "Rawname" not in cfg, "no value written"
    r = spotfs("check", "-c", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    r = spotfs("preview", "-c", str(out), "train.jsonl", "--rows", "5")
    assert r.returncode == 0, r.stderr
    assert "rawuser" not in r.stdout and len(r.stdout.splitlines()) == 5


FORMS_RULES = ("      id: keep\n"
               "      user.email: { method: hash }\n"
               "      user.age: { method: noise }\n"
               "      \"messages[].content\": { method: pii }\n"
               "      \"messages[].role\": keep\n"
               "      \"metadata.*.value\": { method: redact }\n"
               "      \"metadata.*.score\": keep\n")


def mount_forms(sandbox, tmp_path, forms):
    s = sandbox()
    secret = tmp_path / "secret"
    secret.write_bytes(b"f" * 32)
    os.chmod(secret, 0o600)
    s.write("train.jsonl", "".join(json.dumps(r) + "\n"
                                   for r in train_records()))
    s.write_config("source: @SRC@\nttl: 1h\nsecret: %s\ndefault: hide\n"
                   "datasets:\n  train.jsonl:\n    as: [%s]\n    columns:\n%s"
                   % (secret, forms, FORMS_RULES))
    s.mount()
    return s


def test_csv_form_has_the_same_masked_values(sandbox, tmp_path):
    import csv
    import io
    s = mount_forms(sandbox, tmp_path, "native, csv")
    assert sorted(os.listdir(s.mnt)) == [".spotfs", "train.csv", "train.jsonl"]
    recs = [json.loads(x) for x in read(s, "train.jsonl").splitlines()]
    rows = list(csv.DictReader(io.StringIO(read(s, "train.csv").decode())))
    assert len(rows) == len(recs) == N
    for r, row in zip(recs, rows):
        assert row["id"] == str(r["id"])
        # one column per top-level key: objects and arrays as JSON text
        user = json.loads(row["user"])
        assert user["email"] == r["user"]["email"], "same hash"
        assert user["age"] == r["user"]["age"], "same noise"
        assert json.loads(row["metadata"])["src"]["value"] == "[REDACTED]"
        assert user["name"] is None and row["note"] == ""  # unlisted
        assert "messages[].content" not in row and "user.email" not in row
        assert json.loads(row["messages"]) == r["messages"], "masked array"
    served = read(s, "train.jsonl") + read(s, "train.csv")
    for v in raw_values():
        assert v.encode() not in served, v
    code = ("import pandas as pd, sys\n"
            "print(len(pd.read_csv(sys.argv[1])))\n")
    r = subprocess.run(["/usr/bin/python3", "-c", code, s.path("train.csv")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == str(N), r.stderr


@needs_duckdb
def test_parquet_form_has_the_same_masked_values(sandbox, tmp_path):
    s = mount_forms(sandbox, tmp_path, "parquet")
    assert sorted(os.listdir(s.mnt)) == [".spotfs", "train.parquet"]
    rows = duck(tmp_path, "SELECT id, user.email, to_json(messages) "
                "FROM read_parquet('%s') ORDER BY id::INT"
                % s.path("train.parquet"))
    assert len(rows) == N
    got = read(s, "train.parquet")
    for v in raw_values():
        assert v.encode() not in got, v
    s.unmount()
    s2 = mount_forms(sandbox, tmp_path, "native")
    recs = [json.loads(x) for x in read(s2, "train.jsonl").splitlines()]
    assert [r[1] for r in rows] == [r["user"]["email"] for r in recs]
    # a list of structs: a key an element lacks is null there
    def nonull(v):
        if isinstance(v, dict):
            return {k: nonull(x) for k, x in v.items() if x is not None}
        return [nonull(x) for x in v] if isinstance(v, list) else v
    assert [nonull(json.loads(r[2])) for r in rows] == \
        [nonull(r["messages"]) for r in recs]


def test_two_other_forms_are_served(sandbox):
    s = sandbox()
    s.write("t.jsonl", '{"a": 1}\n')
    s.write_config("source: @SRC@\nttl: 1h\nsecret: random\ndatasets:\n"
                   "  t.jsonl:\n    as: [csv, parquet]\n")
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "t.csv" in r.stdout and "t.parquet" in r.stdout


def test_dropped_records_leave_no_gap(sandbox, tmp_path):
    """With a row filter, lines of white space are not served: in a file
    whose records are separated by blank lines, a run of them would show
    where (and how many) records were dropped."""
    s = sandbox()
    recs = [{"id": i, "secret": "rawdrop%03d" % i} for i in range(40)]
    s.write("d.jsonl", "".join(json.dumps(r) + "\n\n" for r in recs))
    pol = tmp_path / "p.lua"
    pol.write_text("function row(r, ctx)\n  return r.id % 3 ~= 1\nend\n")
    s.write_config("source: @SRC@\nttl: 1h\nsecret: random\ndefault: hide\n"
                   "datasets:\n  d.jsonl:\n    policy: %s\n"
                   "    unlisted_columns: redact\n    columns:\n"
                   "      id: keep\n" % pol)
    s.mount()
    got = read(s, "d.jsonl").decode()
    want = "".join(json.dumps({"id": r["id"], "secret": None}) + "\n"
                   for r in recs if r["id"] % 3 != 1)
    assert "\n\n" not in got, "a run of blank lines marks a dropped record"
    assert got == want


HIDE_RECS = [
    {"id": 1, "dx": ["HIV", "flu"], "u": {"a": 1, "b": {"c": [1, 2]}},
     "m": [{"t": "hi", "tags": ["x", "y", "z"], "meta": {"k": "v"}},
           {"t": "yo", "tags": [], "meta": {}}],
     "aa": [["s1", "s2"], [], ["s3"]], "keep": {"n": 5, "h": "raw"}},
    {"id": 2, "dx": [], "u": {}, "m": [], "aa": [],
     "keep": {"n": 6, "h": "raw2"}},
    {"id": 3, "dx": [[{"q": "deep1"}], "str"], "u": None, "m": [{"t": "z"}],
     "aa": [[]], "keep": {"n": 7}},
]


@pytest.mark.parametrize("form", ["jsonl", "csv"])
def test_containers_of_hidden_fields_are_null_whole(sandbox, form):
    """An array or object whose every field is hidden (null, redact,
    unlisted redact) is served as null, whole, at any depth: how many
    values it held, whether it was empty and which keys it had are not
    served. A container holding one served field keeps its shape."""
    s = sandbox()
    s.write("h.jsonl", "".join(json.dumps(r) + "\n" for r in HIDE_RECS))
    s.write_config("source: @SRC@\ndatasets:\n  h.jsonl:\n"
                   "    as: [jsonl, csv]\n"
                   "    columns:\n      id: keep\n      dx: null\n"
                   "      \"m[].t\": keep\n      \"aa[][]\": redact\n"
                   "      keep.n: keep\n      keep.h: { method: hash }\n")
    s.mount()
    got = read(s, "h." + form).decode()
    for raw in ("HIV", "flu", "deep1", "s1", "s3", "\"k\""):
        assert raw not in got, raw
    if form == "csv":
        import csv
        import io
        rows = list(csv.DictReader(io.StringIO(got)))
        recs = [{k: (json.loads(v) if v else None) for k, v in r.items()}
                for r in rows]
    else:
        recs = [json.loads(l) for l in got.splitlines()]
    assert [r["id"] for r in recs] == [1, 2, 3]
    for r in recs:
        assert r["dx"] is None and r["u"] is None and r["aa"] is None, r
        assert r["keep"]["n"] in (5, 6, 7)
        for m in r["m"]:
            assert set(m) <= {"t", "tags", "meta"}
            assert m.get("tags") is None and m.get("meta") is None, m
    assert [len(r["m"]) for r in recs] == [2, 0, 1]
    assert len(recs[0]["keep"]["h"]) == 16 and "h" not in recs[2]["keep"]


def test_hidden_containers_keep_the_rest_of_the_line_byte_identical(sandbox):
    s = sandbox()
    line = ('{"id" : 1 ,"dx":[ "a" , {"k":"}]\\"["} ,[] ] , "z" : "tail" }'
            '\r\n')
    s.write("b.jsonl", line)
    s.write_config("source: @SRC@\ndatasets:\n  b.jsonl:\n"
                   "    columns: { id: keep, dx: null, z: keep }\n")
    s.mount()
    assert read(s, "b.jsonl") == \
        b'{"id" : 1 ,"dx":null , "z" : "tail" }\r\n'


@needs_duckdb
def test_parquet_form_of_hidden_containers(sandbox, tmp_path):
    s = sandbox()
    s.write("h.jsonl", "".join(json.dumps(r) + "\n" for r in HIDE_RECS))
    s.write_config("source: @SRC@\ndatasets:\n  h.jsonl:\n"
                   "    as: [parquet]\n"
                   "    columns:\n      id: keep\n      dx: null\n"
                   "      \"m[].t\": keep\n      keep.n: keep\n")
    s.mount()
    rows = duck(tmp_path, "SELECT id, dx IS NULL, u IS NULL, len(m), "
                "list_transform(m, x -> x.tags IS NULL) FROM read_parquet("
                "'%s') ORDER BY id" % s.path("h.parquet"))
    rows = [r[:4] + [r[4]["items"] if isinstance(r[4], dict) else r[4]]
            for r in rows]  # node-api gives a list as {items: [...]}
    assert rows == [[1, True, True, 2, [True, True]], [2, True, True, 0, []],
                    [3, True, True, 1, [True]]], rows

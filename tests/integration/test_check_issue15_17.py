# SPDX-License-Identifier: LGPL-2.1-or-later
"""An independent check of issues 15 (JSON Lines datasets) and 17
(hardening), written from the issue texts and README.md only, with data
the other tests do not use: a fine-tuning set with tool calls, a log with
a BOM, CRLF line ends and blank lines, wildcard and quoted-key rules,
numbers kept as their source text, every method on a string field, Lua
filters on nested fields, three forms read by pandas and DuckDB, the CLI
commands on JSON Lines, hostile files, and the audit records, --log,
unmount, device nodes and gc of issue 17."""
import errno
import hashlib
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import (HAVE_DUCKDB, NODE_MODULES, SANITIZER, SPOTFS, STATE_DIR,
                      Sandbox, duck, is_mounted, spotfs)

N = 40
BOM = b"\xef\xbb\xbf"
HEX16 = re.compile(r"^[0-9a-f]{16}$")


# ----------------------------------------------------------------------
# Data


def person(i):
    first = ["Ingrid", "Oskar", "Mireille", "Tadeusz", "Yuki"][i % 5]
    return {"name": "%s Quenzler%02d" % (first, i),
            "email": "%s.quenzler%02d@mailhost.example" % (first.lower(), i),
            "cc": "boss%02d@corp.example" % i,
            "phone": "+1 415 555 %04d" % (1200 + i)}


def chat_line(i):
    p = person(i)
    rec = {
        "id": i,
        "messages": [
            {"role": "system", "content": "You are a support assistant."},
            {"role": "user",
             "content": "Hi, I am %s. Mail %s or call %s \U0001F600 caf\u00e9"
                        % (p["name"], p["email"], p["phone"])},
            {"role": "assistant",
             "content": "Noted, I wrote to %s (cc %s)." % (
                 p["email"].upper(),
                 p["email"].replace("@", " [at] ").replace(".example", " [dot] example")),
             "tool_calls": [{
                 "id": "call_%04d" % i, "type": "function",
                 "function": {"name": "send_email",
                              "arguments": {"to": p["email"],
                                            "cc": [p["cc"]],
                                            "subject": "ticket %s" % p["name"]}}}]},
        ],
        "user": {"email": p["email"], "name": p["name"], "age": 20 + i,
                 "country": "DE" if i % 2 else "FR", "tier": "@TIER@"},
        "score": "@SCORE@",
        "flags": {"ok": True},
    }
    # json.dumps writes the emoji as the escapes \ud83d\ude00 (a
    # surrogate pair), the source texts 1.10 and null are put in by hand.
    line = json.dumps(rec)
    assert "\\ud83d\\ude00" in line
    return (line.replace('"@SCORE@"', "1.10")
            .replace('"@TIER@"', "null" if i % 3 == 0 else str(i % 4)))


def chat_raw():
    vals = set()
    for i in range(N):
        p = person(i)
        # Not the name: pii finds no names in free text (README), and the
        # user's message holds it.
        vals |= {p["email"], p["email"].upper(), p["cc"],
                 p["phone"], "call_%04d" % i}
    return vals


def events_bytes():
    """A log: BOM, CRLF line ends, blank lines, records without a masked
    field, escapes in keys and values, and a last line without a line
    feed."""
    lines = []
    for i in range(12):
        if i % 4 == 3:
            # No masked field: must come back byte for byte.
            lines.append('{ "ts" :%d,"lvl":"debug",  "ms\\u0067":"tick \\u00e9\\t\\"q\\""}'
                         % (1700000000 + i))
        else:
            ev = ",".join('{"ip": "10.9.%d.%d", "who": {"email": "evuser%02d%d@logs.example"}, "n": %d}'
                          % (i, k, i, k, k) for k in range(1 + i % 3))
            lines.append('{"ts": %d, "events": [%s],   "lvl": "info"}' % (1700000000 + i, ev))
    body = b""
    for i, l in enumerate(lines):
        body += l.encode() + b"\r\n"
        if i == 5:
            body += b"\r\n\r\n{}\r\n  \t \r\n"
    return BOM + body[:-2]  # the last line has no line end


def events_raw():
    vals = set()
    for i in range(12):
        if i % 4 == 3:
            continue
        for k in range(1 + i % 3):
            vals |= {"10.9.%d.%d" % (i, k), "evuser%02d%d@logs.example" % (i, k)}
    return vals


META = (
    '{"metadata": {"a": {"value": "rawMetaA1", "unit": "cm"}, "b": {"value": 42, "unit": "kg"}},'
    ' "note: private": "rawNotePriv", "x": {"y.z": "rawDottedYZ"},'
    ' "n": {"big": 12345678901234567890, "huge": 1e400, "negz": -0, "dec": 1.10,'
    ' "exp": 1E+2, "r": 34, "z": 50000, "nh": 12},'
    ' "nul": null, "contact": "ops.lead@keptraw.example"}\n'
    '{"metadata": {"c": {"value": true, "unit": null}},'
    ' "note: private": "rawNotePriv", "x": {"y.z": "rawDotted2"},'
    ' "n": {"big": -98765432109876543210, "huge": -1E-400, "negz": -0.0, "dec": 2.50,'
    ' "exp": 0e0, "r": 35, "z": 7, "nh": 13},'
    ' "nul": "rawNotNull", "contact": "ops.lead@keptraw.example"}\n')

# Every method on a string field: (field, rule, raw value, check of the
# served value).
METHODS = [
    ("s_keep", "keep", "plain text", lambda v: v == "plain text"),
    ("s_hash", "{ method: hash }", "rawHashMe", lambda v: bool(HEX16.match(v))),
    ("s_tok", '{ method: tokenize, prefix: "t-", length: 10 }', "rawTokMe",
     lambda v: v.startswith("t-") and len(v) == 12),
    ("s_mask", '{ method: mask, pattern: "***-**-####" }', "123-45-6789",
     lambda v: v == "***-**-6789"),
    ("s_partial", "{ method: partial, keep_last: 4 }", "4111111111111111",
     lambda v: v == "************1111"),
    ("s_email", "{ method: email }", "john.doe@example.com",
     lambda v: v == "j***@example.com"),
    ("s_redact", '{ method: redact, text: "<\\"gone\\"\\\\\\n>" }', "rawRedactMe",
     lambda v: v == '<"gone"\\\n>'),
    ("s_null", "{ method: null }", "rawNullMe", lambda v: v is None),
    ("s_fake", "{ method: fake, kind: name }", "Alice Rawperson",
     lambda v: isinstance(v, str) and v and v != "Alice Rawperson"),
    ("s_gen", "{ method: generalize, to: year }", "1984-07-23",
     lambda v: v == "1984"),
    ("s_noise", "{ method: noise, epsilon: 1.0, sensitivity: 100 }", "50000",
     lambda v: isinstance(v, str) and re.fullmatch(r"-?\d+", v) is not None),
    ("s_pii", "{ method: pii }", "mail bob.rawpii@example.com now",
     lambda v: v == "mail [EMAIL] now"),
    ("s_fpe", "{ method: fpe }", "123-45-6789",
     lambda v: re.fullmatch(r"\d{3}-\d{2}-\d{4}", v) is not None and v != "123-45-6789"),
    ("s_shift", "{ method: shift, max: 30d }", "2020-02-29",
     lambda v: re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) is not None and v != "2020-02-29"),
    ("s_trunc", "{ method: truncate, to: day }", "2020-02-29T10:30:00Z",
     lambda v: v == "2020-02-29T00:00:00Z"),
    ("s_round", "{ method: round, step: 10 }", "34", lambda v: v == "30"),
    ("s_scr", "scramble", "AB-1234-cd",
     lambda v: re.fullmatch(r"[A-Z]{2}-\d{4}-[a-z]{2}", v) is not None),
    # A kept part of a value with a quote and a backslash stays escaped.
    ("s_quote", "{ method: partial, keep_first: 3 }", 'a"\\bcdef',
     lambda v: v == 'a"\\' + '*' * 5),
]

LUA = """
columns = {}
function columns.tier(v, row, ctx)
  if v == nil then return "was-nil" end
  return type(v) .. ":" .. v .. ":" .. tostring(row.messages[2].role)
end
function row(r, ctx)
  -- nested tables, arrays from 1, numbers as Lua numbers, null absent
  r.user.country = "XX"            -- a fresh copy: not seen elsewhere
  return r.user.age % 2 == 1 and r.messages[1].role == "system"
     and r.flags.ok == true and r.score > 1.09 and math.type(r.id) == "integer"
end
"""

CONFIG = """
source: @SRC@
ttl: 1h
secret: @SECRET@
default: hide
@EXTRA@
roles:
  boss: { users: [65533] }
datasets:
  big.jsonl:
    columns:
      i: keep
      who: { method: hash }
      "ev[].ip": { method: fake, kind: ipv4 }
      "ev[].n": { method: noise, epsilon: 1.0, sensitivity: 3 }
  chat.jsonl:
    as: [jsonl, parquet, csv]
    columns:
      id: keep
      "messages[].role": keep
      "messages[].content": { method: pii, replace: hash }
      "messages[].tool_calls[].function.name": keep
      "messages[].tool_calls[].function.arguments.to": { method: hash }
      "messages[].tool_calls[].function.arguments.cc[]": { method: hash }
      user.email: { method: hash }
      user.name: { method: fake, kind: name }
      user.age: { method: noise, epsilon: 1.0, sensitivity: 2 }
      user.country: keep
      user.tier: keep
      score: keep
      "user.*": { method: redact }
    roles:
      boss:
        columns:
          user.name: keep
          "messages[].content": { method: pii }
  lua/chat.jsonl:
    policy: @POLICY@
    columns:
      id: keep
      user.age: keep
      user.country: keep
      user.tier: { policy: tier }
      user.email: { method: hash }
      "messages[].role": keep
  events.ndjson:
    as: [jsonl, csv, parquet]
    unlisted_columns: keep
    columns:
      "events[].ip": { method: hash }
      "events[].who.email": { method: email }
  meta.json:
    unlisted_columns: keep
    columns:
      "metadata.*.value": redact
      "note: private": { method: hash }
      x.y.z: { method: hash }
      "x.*": { method: redact, optional: true }
      n.r: { method: round, step: 10 }
      n.z: { method: noise, epsilon: 1.0, sensitivity: 100 }
      n.nh: { method: hash }
      nul: { method: hash }
  methods.jsonl:
    columns:
@METHODS@
"""


def methods_line():
    return json.dumps({f: raw for f, _, raw, _ in METHODS})


def big_bytes():
    out = []
    for i in range(60000):
        out.append('{"i": %d, "who": "bigwho%06d@big.example", "ev": [{"ip": "10.%d.%d.%d", "n": %d}], "pad": "%s"}\n'
                   % (i, i, i % 200, i % 7, i % 250, i % 1000, "p" * (i % 90)))
    return "".join(out).encode()


def build(base, name="c15", extra=""):
    s = Sandbox(base, name)
    secret = os.path.join(base, name + ".secret")
    with open(secret, "wb") as f:
        f.write(b"check-issue-15-secret-0123456789")
    os.chmod(secret, 0o600)
    policy = os.path.join(base, name + ".lua")
    with open(policy, "w") as f:
        f.write(LUA)
    chat = "".join(chat_line(i) + "\n" for i in range(N))
    s.write("chat.jsonl", chat)
    s.write("lua/chat.jsonl", chat)
    s.write("events.ndjson", events_bytes())
    s.write("meta.json", META)
    s.write("methods.jsonl", methods_line() + "\n")
    s.write("big.jsonl", big_bytes())
    methods = "".join("      %s: %s\n" % (f, rule) for f, rule, _, _ in METHODS)
    s.write_config(CONFIG.replace("@SECRET@", secret).replace("@POLICY@", policy)
                   .replace("@EXTRA@", extra)
                   .replace("@METHODS@", methods))
    return s


SERVED = ["chat.jsonl", "chat.parquet", "chat.csv", "lua/chat.jsonl",
          "events.ndjson", "events.csv", "events.parquet", "meta.json",
          "methods.jsonl"]


@pytest.fixture(scope="module")
def mnt(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("c15"))
    s = build(base)
    s.mount()
    yield s
    s.unmount()
    s.assert_clean_log()


def read(s, name):
    with open(s.path(name), "rb") as f:
        return f.read()


def records(data):
    return [json.loads(l) for l in data.decode("utf-8-sig").splitlines() if l.strip()]


def audit():
    r = spotfs("audit", "--json", "-S", STATE_DIR)
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


# ----------------------------------------------------------------------
# Issue 15: what is served


def test_fine_tuning_set_with_tool_calls(mnt):
    out = records(read(mnt, "chat.jsonl"))
    assert [r["id"] for r in out] == list(range(N))
    for i, r in enumerate(out):
        p = person(i)
        u = r["user"]
        assert HEX16.match(u["email"])
        assert u["name"] and u["name"] != p["name"]
        assert isinstance(u["age"], int) and not isinstance(u["age"], bool)
        assert u["country"] == ("DE" if i % 2 else "FR")
        assert [m["role"] for m in r["messages"]] == ["system", "user", "assistant"]
        assert r["messages"][0]["content"] == "You are a support assistant."
        user_msg = r["messages"][1]["content"]
        asst = r["messages"][2]["content"]
        toks = re.findall(r"\[EMAIL:([0-9a-f]{16})\]", user_msg)
        assert len(toks) == 1, user_msg
        # The same address (upper case in the assistant's reply) is the
        # same token, and the token's hex is what hash gives the address.
        assert re.findall(r"\[EMAIL:([0-9a-f]{16})\]", asst) == toks * 2, asst
        assert toks[0] == u["email"]
        assert re.search(r"\[PHONE(:[0-9a-f]{16})?\]", user_msg)
        # The surrogate pair escape is the emoji once decoded.
        assert user_msg.endswith("\U0001F600 caf\u00e9"), user_msg
        call = r["messages"][2]["tool_calls"][0]
        assert call["function"]["name"] == "send_email"
        assert call["function"]["arguments"]["to"] == u["email"]
        assert HEX16.match(call["function"]["arguments"]["cc"][0])
        # Unlisted fields are null at any depth.
        assert call["id"] is None and call["type"] is None
        assert call["function"]["arguments"]["subject"] is None
        # An object whose every field is hidden is null whole (its keys
        # are not served either).
        assert r["flags"] is None
        assert u["tier"] is None if i % 3 == 0 else u["tier"] == i % 4


def test_numbers_kept_as_source_text(mnt):
    data = read(mnt, "chat.jsonl")
    for line in data.splitlines():
        assert b'"score": 1.10' in line
    meta = read(mnt, "meta.json").decode()
    for text in ("12345678901234567890", "1e400", '"negz": -0', '"dec": 1.10',
                 '"exp": 1E+2', "-98765432109876543210", "-1E-400",
                 '"negz": -0.0', '"dec": 2.50', '"exp": 0e0'):
        assert text in meta, text


def test_wildcards_quoted_keys_and_number_methods(mnt):
    lines = read(mnt, "meta.json").decode().splitlines()
    a, b = (json.loads(l) for l in lines)
    md = a["metadata"]
    assert md["a"] == {"value": "[REDACTED]", "unit": "cm"}
    assert md["b"] == {"value": "[REDACTED]", "unit": "kg"}
    assert b["metadata"]["c"] == {"value": "[REDACTED]", "unit": None}
    # A quoted key with ": " and a key holding a dot.
    assert HEX16.match(a["note: private"])
    assert a["note: private"] == b["note: private"]
    assert HEX16.match(a["x"]["y.z"]) and HEX16.match(b["x"]["y.z"])
    # round and noise keep numbers numbers; hash makes a string.
    assert a["n"]["r"] == 30 and b["n"]["r"] == 40
    assert '"r": 30' in lines[0]
    assert type(a["n"]["z"]) is int and type(b["n"]["z"]) is int
    assert isinstance(a["n"]["nh"], str) and HEX16.match(a["n"]["nh"])
    # null stays null under a method; the other record's string is masked.
    assert a["nul"] is None and '"nul": null' in lines[0]
    assert HEX16.match(b["nul"])
    assert a["contact"] == "ops.lead@keptraw.example"  # unlisted: keep


def test_every_method_on_a_string_field(mnt):
    data = read(mnt, "methods.jsonl")
    (rec,) = records(data)
    bad = []
    for f, _, raw, ok in METHODS:
        if not ok(rec.get(f, "<absent>")):
            bad.append((f, rec.get(f, "<absent>")))
        if f not in ("s_keep", "s_null"):
            assert not (isinstance(rec[f], str) and raw in rec[f]) or f == "s_keep", f
    assert not bad, bad
    # Outputs are JSON strings (or null), never bare numbers.
    for f, _, _, _ in METHODS:
        assert rec[f] is None or isinstance(rec[f], str), f


def test_log_drops_bom_keeps_crlf_blank_lines_and_untouched_bytes(mnt):
    src = events_bytes()
    out = read(mnt, "events.ndjson")
    # The BOM is not served (README, a decision of the JSON Lines number
    # fixes: pandas and DuckDB refuse a file starting with one; it is no
    # part of the first record); every other byte is as before.
    assert src.startswith(BOM) and not out.startswith(BOM)
    assert not out.endswith(b"\n")
    s_lines = src[3:].split(b"\r\n")
    o_lines = out.split(b"\r\n")
    assert len(s_lines) == len(o_lines)
    raw = events_raw()
    for s_line, o_line in zip(s_lines, o_lines):
        if not s_line.strip():
            assert o_line == s_line
            continue
        if b"events" not in s_line:
            assert o_line == s_line  # byte-identical
            continue
        # Only the masked values differ: put the served values in place
        # of the raw ones and the source line must give the served line.
        srec, orec = json.loads(s_line), json.loads(o_line)
        expect = s_line.decode()
        for se, oe in zip(srec["events"], orec["events"]):
            assert HEX16.match(oe["ip"])
            assert re.fullmatch(r"e\*\*\*@logs\.example", oe["who"]["email"])
            expect = expect.replace('"%s"' % se["ip"], json.dumps(oe["ip"]), 1)
            expect = expect.replace('"%s"' % se["who"]["email"],
                                    json.dumps(oe["who"]["email"]), 1)
        assert o_line.decode() == expect
        for v in raw:
            assert v.encode() not in o_line


def test_lua_row_filter_on_nested_fields_and_column_function(mnt):
    out = records(read(mnt, "lua/chat.jsonl"))
    # Odd ages are ids 1, 3, 5, ...
    assert [r["id"] for r in out] == [i for i in range(N) if (20 + i) % 2 == 1]
    for r in out:
        i = r["id"]
        # row() changed its copy only.
        assert r["user"]["country"] == ("DE" if i % 2 else "FR")
        # A number reaches a column function as its JSON text; null as nil.
        assert r["user"]["tier"] == ("was-nil" if i % 3 == 0 else
                                     "string:%d:user" % (i % 4)), r["user"]
        # Unlisted content is null.
        assert all(m["content"] is None for m in r["messages"])


def test_byte_scan_finds_no_raw_masked_value(mnt):
    raw = chat_raw() | events_raw() | {
        "rawMetaA1", "rawNotePriv", "rawDottedYZ", "rawDotted2", "rawNotNull",
        "rawHashMe", "rawTokMe", "rawRedactMe", "rawNullMe", "Alice Rawperson",
        "bob.rawpii@example.com", "4111111111111111", "john.doe"}
    for name in SERVED:
        data = read(mnt, name)
        for v in raw:
            for enc in {v.encode(), json.dumps(v)[1:-1].encode(),
                        v.encode("utf-16-le")}:
                assert enc not in data, (name, v)


def test_pandas_reads_the_three_forms_with_the_same_values(mnt):
    import pandas as pd
    j = pd.read_json(mnt.path("chat.jsonl"), lines=True)
    c = pd.read_csv(mnt.path("chat.csv"))
    assert list(j["id"]) == list(range(N)) == list(c["id"])
    served = records(read(mnt, "chat.jsonl"))
    for i in range(N):
        assert j["user"][i] == served[i]["user"]
        # A nested value is its JSON text as the JSON Lines form serves it.
        assert json.loads(c["user"][i]) == served[i]["user"]
        assert json.loads(c["messages"][i]) == served[i]["messages"]
    assert list(c.columns) == sorted(c.columns, key=lambda k: k.encode())
    for v in c["score"]:
        assert v == 1.1


def test_duckdb_reads_the_jsonl_and_parquet_forms(mnt, tmp_path):
    if not HAVE_DUCKDB:
        pytest.skip("DuckDB for Node is not installed")
    served = records(read(mnt, "chat.jsonl"))
    want = [[r["id"], r["user"]["email"], r["user"]["age"], r["messages"][1]["content"],
             r["messages"][2]["tool_calls"][0]["function"]["arguments"]["to"]]
            for r in served]
    q = ("SELECT id, \"user\".email, \"user\".age, messages[2].content, "
         "messages[3].tool_calls[1].\"function\".arguments.\"to\" FROM %s ORDER BY id")
    got_j = duck(tmp_path, q % ("read_json('%s', format='newline_delimited')"
                                % mnt.path("chat.jsonl")))
    got_p = duck(tmp_path, q % ("read_parquet('%s')" % mnt.path("chat.parquet")))
    assert got_j == want
    assert got_p == want
    types = duck(tmp_path, "SELECT column_name, column_type FROM (DESCRIBE "
                           "SELECT * FROM read_parquet('%s'))" % mnt.path("chat.parquet"))
    t = dict((k, v) for k, v in types)
    assert t["id"] == "BIGINT"
    assert t["user"].startswith("STRUCT(") and "email VARCHAR" in t["user"]
    assert t["messages"].endswith("[]")


def test_determinism_across_remounts_threads_and_memory(mnt, tmp_path):
    """Same key, another mount, one build thread and a view memory too
    small for the 6 MB file (streamed in parts): the same bytes."""
    first = {n: read(mnt, n) for n in SERVED + ["big.jsonl"]}
    s = build(str(tmp_path), "again", extra="threads: 1\nview_memory: 1MiB")
    s.mount()
    try:
        second = {n: read(s, n) for n in SERVED + ["big.jsonl"]}
    finally:
        s.unmount()
        s.assert_clean_log()
    assert [n for n in first if first[n] != second[n]] == []
    big = first["big.jsonl"].split(b"\n")
    assert len(big) == 60001 and big[-1] == b""
    src = big_bytes().split(b"\n")
    for k in (0, 1, 29999, 59999):
        r = json.loads(big[k])
        assert r["i"] == k and HEX16.match(r["who"])
        assert r["ev"][0]["ip"] != "10.%d.%d.%d" % (k % 200, k % 7, k % 250)
        assert type(r["ev"][0]["n"]) is int
        assert r["pad"] is None
        assert b"bigwho%06d" % k not in first["big.jsonl"]
        assert len(big[k]) < len(src[k]) + 40


# ----------------------------------------------------------------------
# Issue 15: the commands


def test_check_lists_field_paths_and_warns_on_raw_pii(mnt):
    r = spotfs("check", "-c", mnt.config, "--json", timeout=120)
    out = json.loads(r.stdout)
    assert out["errors"] == 0, out
    text = "\n".join(m["text"] for m in out["messages"])
    # Unlisted fields are named by path and said to be null.
    assert re.search(r"messages\[\]\.tool_calls\[\]\.id.*(NULL|null)", text), text
    # A field served raw that holds e-mail addresses is warned about.
    assert any(m["level"] == "warning" and "contact" in m["text"]
               for m in out["messages"]), text
    for v in chat_raw() | {"ops.lead@keptraw.example"}:
        assert v not in r.stdout + r.stderr


def test_check_lists_every_field_path_with_what_is_done(mnt):
    r = spotfs("check", "-c", mnt.config, timeout=120)
    for path in ("user.email", "messages[].content", "user.age"):
        assert re.search(r"chat\.jsonl.*%s" % re.escape(path), r.stdout), path


def test_preview_prints_the_masked_records(mnt):
    r = spotfs("preview", "-c", mnt.config, "chat.jsonl", "--rows", "3")
    assert r.returncode == 0, r.stderr
    served = read(mnt, "chat.jsonl").decode().splitlines()
    for line in served[:3]:
        assert line in r.stdout
    assert served[3] not in r.stdout
    for v in chat_raw():
        assert v not in r.stdout


def test_report_counts_nested_quasi_fields_as_served(mnt):
    r = spotfs("report", "-c", mnt.config, "chat.jsonl", "--quasi",
               "user.country,user.tier", "--k", "2", "--json")
    assert r.returncode == 0, r.stderr + r.stdout
    rep = json.loads(r.stdout)
    assert rep["rows"] == N
    served = records(read(mnt, "chat.jsonl"))
    classes = {(x["user"]["country"], x["user"]["tier"]) for x in served}
    assert rep["classes"] == len(classes)


def test_scan_writes_field_path_rules_without_values(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.jsonl").write_text("".join(chat_line(i) + "\n" for i in range(N)))
    (src / "log.ndjson").write_bytes(events_bytes())
    (src / "one.json").write_text('{"note": "call scanraw3@x.example", "n": 1}\n')
    (src / "pretty.json").write_text('{\n  "pretty": "scanrawpretty"\n}\n')
    out = tmp_path / "scan.yaml"
    r = spotfs("scan", str(src), "-o", str(out))
    assert r.returncode == 0, r.stderr
    cfg = out.read_text()
    for path in ("messages[].content", "user.email", "events[].ip",
                 "events[].who.email", "note"):
        assert '"%s":' % path in cfg, path
    for name in ("train.jsonl", "log.ndjson", "one.json"):
        assert '"%s":' % name in cfg
    assert re.search(r'"user\.email": keep\b', cfg) is None
    assert re.search(r'"events\[\]\.ip": keep\b', cfg) is None
    assert re.search(r"pretty\.json: line 1\b", r.stderr), r.stderr
    for v in chat_raw() | events_raw() | {"scanraw3", "scanrawpretty"}:
        assert v not in cfg + r.stderr + r.stdout
    r = spotfs("check", "--strict", "-c", str(out), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_manifest_names_the_forms_and_field_paths(mnt):
    with open(mnt.path(".spotfs/manifest.json")) as f:
        man = json.load(f)
    ds = {d["name"]: d for d in man["datasets"]}
    chat = ds["chat.jsonl"]
    assert sorted((x["name"], x["format"]) for x in chat["served"]) == [
        ("chat.csv", "csv"), ("chat.jsonl", "jsonl"), ("chat.parquet", "parquet")]
    cols = {c["name"]: c for c in chat["columns"]}
    assert cols["user.email"]["masked"] and cols["user.email"]["method"] == "hash"
    assert cols["messages[].content"]["method"] == "pii"
    assert not cols["id"]["masked"]
    assert ds["lua/chat.jsonl"]["row_filter"] is True
    assert ds["events.ndjson"]["unlisted_columns"] == "keep"
    assert mnt.base not in json.dumps(man)      # no secret or policy path
    assert "***-**-####" not in json.dumps(man)


# ----------------------------------------------------------------------
# Issue 15: hostile input

CANARY = "ZqCanary7731"
# name -> (file bytes, line of the error, byte of the error or None)
BAD = {
    "unterminated.jsonl": (b'{"a": 1}\n{"b": 2}\n{"a": "' + CANARY.encode() + b'\n', 3, None),
    "bareword.jsonl": (b'{"a": ' + CANARY.encode() + b'}\n', 1, 7),
    "comma.jsonl": (b'{"a": "x"}\n{"a": "' + CANARY.encode() + b'",}\n', 2, None),
    "notobject.jsonl": (b'["' + CANARY.encode() + b'"]\n', 1, 1),
    "overlong.jsonl": (b'{"a": "' + CANARY.encode() + b'\xc0\xaf"}\n', 1, 20),
    "surrogate_utf8.jsonl": (b'{"a": "' + CANARY.encode() + b'\xed\xa0\x80"}\n', 1, 20),
    "past10ffff.jsonl": (b'{"a": "' + CANARY.encode() + b'\xf4\x90\x80\x80"}\n', 1, 20),
    "badkey_utf8.jsonl": (b'{"a\xff": "' + CANARY.encode() + b'"}\n', 1, 4),
    "lone_high.jsonl": (b'{"a": "' + CANARY.encode() + b'\\ud83d"}\n', 1, None),
    "lone_low.jsonl": (b'{"a": "\\ude00' + CANARY.encode() + b'"}\n', 1, None),
    "control.jsonl": (b'{"a": "' + CANARY.encode() + b'\x01"}\n', 1, 20),
    "dupkey.jsonl": (b'{"email": "x", "b": {"c": 1}}\n{"email": "x", "em\\u0061il": "'
                     + CANARY.encode() + b'"}\n', 2, 16),
    "dupnested.jsonl": (b'{"u": {"k": "' + CANARY.encode() + b'", "k": 2}}\n', 1, None),
    "deep65.jsonl": (b'{"a":' * 65 + b'"' + CANARY.encode() + b'"' + b'}' * 65 + b"\n", 1, None),
    "deepmillion.jsonl": (b'{"a": "' + CANARY.encode() + b'", "b": ' + b'[' * 1000000
                          + b"\n", 1, 91),
    "deep65arr.jsonl": (b'{"a":' + b'[' * 64 + b'"' + CANARY.encode() + b'"' + b']' * 64
                        + b"}\n", 1, None),
    "nan.jsonl": (b'{"a": NaN, "b": "' + CANARY.encode() + b'"}\n', 1, 7),
    "leadzero.jsonl": (b'{"a": 012, "b": "' + CANARY.encode() + b'"}\n', 1, None),
    "badescape.jsonl": (b'{"a": "\\x41' + CANARY.encode() + b'"}\n', 1, None),
    "pretty.json": (b'{\n  "a": "' + CANARY.encode() + b'"\n}\n', 1, None),
    "twoobjects.jsonl": (b'{"a": 1} {"b": "' + CANARY.encode() + b'"}\n', 1, None),
}


def write_bad(s):
    for name, (data, _, _) in BAD.items():
        s.write(name, data)
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n" + "".join(
        '  %s: { unlisted_columns: keep }\n' % n for n in BAD))


def test_malformed_input_fails_closed_naming_line_and_byte(sandbox):
    s = sandbox("bad")
    write_bad(s)
    r = spotfs("check", "-c", s.config, "--json", timeout=120)
    assert r.returncode == 1
    assert CANARY not in r.stdout + r.stderr
    msgs = [m["text"] for m in json.loads(r.stdout)["messages"] if m["level"] == "error"]
    wrong = []
    for name, (data, line, byte) in BAD.items():
        mine = [m for m in msgs if m.startswith(name + ":")]
        pat = r"line %d\b.*\bbyte (\d+)" % line
        m = re.search(pat, mine[0]) if len(mine) == 1 else None
        if m is None or (byte is not None and int(m.group(1)) != byte):
            wrong.append((name, mine))
            continue
        linelen = len(data.split(b"\n")[line - 1])
        if not 1 <= int(m.group(1)) <= linelen + 1:
            wrong.append((name, mine))
    assert not wrong, wrong
    # Through a mount: EIO on read, nothing of the value in the log or the
    # audit log.
    s.mount()
    for name in BAD:
        with pytest.raises(OSError) as e:
            read(s, name)
        assert e.value.errno == errno.EIO, name
    rows = audit()
    assert CANARY not in json.dumps(rows)
    assert CANARY not in s.read_log()
    assert any(x["event"] == "policy_error" and x["path"] == "deep65.jsonl"
               for x in rows)


def test_hostile_but_valid_records_are_served(sandbox):
    s = sandbox("ok")
    deep64 = '{"a":' * 64 + '"v"' + '}' * 64
    deep64arr = '{"a":' + '[' * 63 + '"v"' + ']' * 63 + '}'
    lines = [
        deep64, deep64arr,
        '{"k": "nul\\u0000inside", "m": "x\\u0000y"}',
        '{"k": "\\ud83d\\ude00\\u00e9\\"\\\\\\/\\b\\f\\n\\r\\t", "m": "\\ud83d\\ude00"}',
        '{"k": "' + "\u00e9\u4e2d\U0001F600" + '", "m": "' + "w" * 100000 + '"}',
        '{"k": "x", "m": "ok", "dup": {"k": 1}, "also": [{"k": 1}, {"k": 2}]}',
    ]
    s.write("ok.jsonl", "\n".join(lines) + "\n")
    s.write_config("source: @SRC@\nttl: 1h\nsecret: random\ndatasets:\n"
                   "  ok.jsonl:\n    unlisted_columns: keep\n    columns:\n"
                   "      m: { method: hash, optional: true }\n")
    s.mount()
    out = read(s, "ok.jsonl").decode().split("\n")
    assert out[0] == deep64 and out[1] == deep64arr
    r2 = json.loads(out[2])
    assert r2["k"] == "nul\x00inside" and HEX16.match(r2["m"])
    assert out[2].startswith('{"k": "nul\\u0000inside"')
    assert out[3].split(', "m"')[0] == lines[3].split(', "m"')[0]
    assert json.loads(out[3])["k"].startswith("\U0001F600")
    assert HEX16.match(json.loads(out[4])["m"])
    # The same key under other parents is not a duplicate.
    assert out[5] == lines[5].replace('"ok"', json.dumps(json.loads(out[5])["m"]))


def test_shift_keeps_a_number_a_number(sandbox):
    s = sandbox("shiftnum")
    s.write("d.jsonl", '{"day": 20200229}\n')
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n  d.jsonl:\n"
                   "    columns:\n      day: { method: shift, max: 30d }\n")
    r = spotfs("preview", "-c", s.config, "d.jsonl")
    assert r.returncode == 0, r.stderr
    m = re.search(r'"day": (\S+)\}', r.stdout)
    assert m and re.fullmatch(r"\d+", m.group(1))


# ----------------------------------------------------------------------
# Issue 17


def test_log_relative_path_unmount_waits_and_is_audited(tmp_path):
    s = Sandbox(str(tmp_path), "det")
    s.write("a.jsonl", '{"a": 1}\n')
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n  a.jsonl: { unlisted_columns: keep }\n")
    os.makedirs(tmp_path / "logs")
    r = subprocess.run([SPOTFS, "mount", "-c", s.config, "--log", "logs/d.log", s.mnt],
                       cwd=str(tmp_path), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    try:
        assert is_mounted(s.mnt)
        assert read(s, "a.jsonl") == b'{"a": 1}\n'
        log = tmp_path / "logs" / "d.log"
        deadline = time.time() + 5
        while not log.exists() and time.time() < deadline:
            time.sleep(0.05)
        text = log.read_text()
        m = re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z spotfs\[(\d+)\]:",
                      text, re.M)
        assert m, text
        pid = int(m.group(1))
        os.kill(pid, 0)
        p = subprocess.Popen([SPOTFS, "unmount", s.mnt], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        # It returned only once the daemon had exited (a zombie here: this
        # machine's pid 1 does not reap orphans).
        try:
            with open("/proc/%d/stat" % pid) as f:
                assert f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except FileNotFoundError:
            pass
        assert not is_mounted(s.mnt)
        assert not SANITIZER.search(log.read_text())
    finally:
        if is_mounted(s.mnt):
            subprocess.run(["fusermount3", "-u", "-z", s.mnt])
    rows = audit()
    sb = [x for x in rows if x["event"] == "mount" and s.mnt in x["detail"]][-1]["sandbox"]
    mine = [x for x in rows if x["event"] == "unmount" and x["sandbox"] == sb]
    assert len(mine) == 1, mine
    u = mine[0]
    assert u["pid"] == p.pid and u["uid"] == 0 and u["process"] == "spotfs", u
    assert "spotfs unmount" in u["reason"] + u["detail"]


def test_overlay_records_name_real_caller_full_path_and_devices_are_inert(sandbox):
    s = sandbox("ovl")
    s.write("a.jsonl", '{"a": 1}\n')
    secret = os.path.join(s.base, "ovl.secret")
    with open(secret, "wb") as f:
        f.write(b"overlay-names-secret-0123456789!")
    os.chmod(secret, 0o600)
    s.write_config("source: @SRC@\nttl: 1h\nsecret: %s\ndatasets:\n"
                   "  a.jsonl: { unlisted_columns: keep }\n" % secret)
    s.mount()
    sb = [x for x in audit() if x["event"] == "mount" and s.mnt in x["detail"]][-1]["sandbox"]
    os.makedirs(s.path("x/pub"))
    os.makedirs(s.path("y/pub"))
    os.chmod(s.path("x/pub"), 0o777)
    os.chmod(s.path("y/pub"), 0o777)
    p1 = subprocess.Popen(["setpriv", "--reuid", "65534", "--regid", "65534",
                           "--clear-groups", "sh", "-c",
                           "echo one > %s" % s.path("x/pub/same.txt")])
    assert p1.wait(timeout=30) == 0
    p2 = subprocess.Popen(["sh", "-c", "echo two > %s" % s.path("y/pub/same.txt")])
    assert p2.wait(timeout=30) == 0
    # Device nodes: created as inert entries, never opened as devices.
    os.mknod(s.path("chr"), 0o20666, os.makedev(1, 5))   # /dev/zero
    os.mknod(s.path("blk"), 0o60600, os.makedev(7, 0))   # loop0
    st = os.stat(s.path("chr"))
    assert (st.st_mode & 0o170000) == 0o020000 and st.st_rdev == os.makedev(1, 5)
    assert (os.stat(s.path("blk")).st_mode & 0o170000) == 0o060000
    assert {"chr", "blk"} <= set(os.listdir(s.mnt))
    for n in ("chr", "blk"):
        with pytest.raises(OSError):
            with open(s.path(n), "rb") as f:
                f.read(16)
    os.unlink(s.path("chr"))
    os.rename(s.path("y/pub/same.txt"), s.path("y/moved.txt"))
    assert "chr" not in os.listdir(s.mnt)
    # release counts what the daemon served through that open.
    cat = subprocess.run(["cat", s.path("a.jsonl")], capture_output=True)
    assert cat.stdout == b'{"a": 1}\n'
    # An unmount by fusermount3: the kernel does not say who.
    subprocess.run(["fusermount3", "-u", s.mnt], check=True)
    s.proc.wait(timeout=30)
    rows = [x for x in audit() if x["sandbox"] == sb]
    creates = [x for x in rows if x["event"] == "overlay_create" and x["detail"] == "file"]
    writes = [x for x in rows if x["event"] == "overlay_write"]
    assert {(x["uid"], x["pid"]) for x in creates} == {(65534, p1.pid), (0, p2.pid)}
    assert {(x["uid"], x["pid"]) for x in writes} == {(65534, p1.pid), (0, p2.pid)}
    # The same name in two folders: two different full-path digests, each
    # the README's keyed BLAKE2b of the full path in the mount.
    key = hashlib.blake2b(b"overlay-names-secret-0123456789!",
                          key=b"spotfs overlay names v1", digest_size=32).digest()

    def digest(path):
        return "ovl:" + hashlib.blake2b(path.encode(), key=key, digest_size=8).hexdigest()

    assert {(x["uid"], x["path"]) for x in creates} == {
        (65534, digest("/x/pub/same.txt")), (0, digest("/y/pub/same.txt"))}
    assert {x["path"] for x in rows if x["event"] == "overlay_create"
            and x["detail"] == "folder"} == {digest(p) for p in ("/x", "/x/pub", "/y", "/y/pub")}
    ren = [x for x in rows if x["event"] == "overlay_rename"]
    assert [(x["path"], x["detail"], x["pid"]) for x in ren] == [
        (digest("/y/pub/same.txt"), digest("/y/moved.txt"), os.getpid())]
    dels = [(x["path"], x["detail"]) for x in rows if x["event"] == "overlay_delete"]
    assert (digest("/chr"), "char device") in dels or (digest("/chr"), "file") in dels, dels
    assert all(re.fullmatch(r"ovl:[0-9a-f]{16}", x["path"]) for x in creates + writes)
    devs = sorted(x["detail"] for x in rows if x["event"] == "overlay_create"
                  and "device" in x["detail"])
    assert devs == ["block device", "char device"]
    assert "same.txt" not in json.dumps(rows)
    rel = [x for x in rows if x["event"] == "release" and x["path"] == "a.jsonl"]
    assert [x["bytes"] for x in rel] == [9], rel
    (u,) = [x for x in rows if x["event"] == "unmount"]
    assert "fusermount3 -u or umount" in u["reason"] + u["detail"], u
    # README says uid and pid -1; the JSON says null (no caller): either
    # way no uid or pid of someone else.
    assert u["uid"] in (-1, None) and u["pid"] in (-1, None), json.dumps(u)
    assert spotfs("audit", "--verify", "-S", STATE_DIR).returncode == 0


def test_gc_collects_each_crashed_sandbox_once(sandbox):
    ids = []
    for k in range(2):
        s = sandbox("gc%d" % k)
        s.mnt = os.path.join(s.base, "gc-mnt")
        os.makedirs(s.mnt, exist_ok=True)
        s.write("a.jsonl", '{"a": 1}\n')
        s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n  a.jsonl: { unlisted_columns: keep }\n")
        s.mount()
        ids.append([x for x in audit() if x["event"] == "mount"
                    and s.mnt in x["detail"]][-1]["sandbox"])
        os.kill(s.proc.pid, signal.SIGKILL)
        s.proc.wait()
        r = spotfs("gc", "-S", STATE_DIR)
        assert r.returncode == 0, r.stderr
        assert not is_mounted(s.mnt)
        r = spotfs("gc", "-S", STATE_DIR)   # nothing left to do
        assert r.returncode == 0, r.stderr
    # A sandbox that ended normally on the same mount point is not gc'd.
    s = sandbox("gc2")
    s.mnt = os.path.join(s.base, "gc-mnt")
    s.write("a.jsonl", '{"a": 1}\n')
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n  a.jsonl: { unlisted_columns: keep }\n")
    s.mount()
    ids.append([x for x in audit() if x["event"] == "mount"
                and s.mnt in x["detail"]][-1]["sandbox"])
    s.unmount()
    assert spotfs("gc", "-S", STATE_DIR).returncode == 0
    gcs = [x["sandbox"] for x in audit() if x["event"] == "gc"]
    assert [gcs.count(i) for i in ids] == [1, 1, 0], (ids, gcs)


# ----------------------------------------------------------------------
# Issue 15: more of the README's promises


def test_role_override_by_field_path(mnt):
    r = spotfs("preview", "-c", mnt.config, "chat.jsonl", "--role", "boss",
               "--rows", "2")
    assert r.returncode == 0, r.stderr
    recs = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    assert len(recs) == 2
    for i, rec in enumerate(recs):
        p = person(i)
        assert rec["user"]["name"] == p["name"]          # the role's keep
        assert HEX16.match(rec["user"]["email"])          # the dataset's rule
        c = rec["messages"][1]["content"]
        assert "[EMAIL]" in c and p["email"] not in c     # the role's pii
    d = records(read(mnt, "chat.jsonl"))[0]
    assert d["user"]["name"] != person(0)["name"]


def test_csv_and_parquet_forms_of_a_bom_crlf_log(mnt, tmp_path):
    """The JSON Lines form drops the source's BOM (README); pandas and
    DuckDB read the other forms, with the same masked values."""
    import pandas as pd
    served = records(read(mnt, "events.ndjson"))
    c = pd.read_csv(mnt.path("events.csv"), keep_default_na=False)
    assert len(c) == len(served)
    assert list(c.columns) == ["events", "lvl", "msg", "ts"]
    with_events = [(i, r) for i, r in enumerate(served) if "events" in r]
    for i, r in with_events:
        assert json.loads(c["events"][i]) == r["events"]
    if HAVE_DUCKDB:
        got = duck(tmp_path, "SELECT ts, events[1].ip FROM read_parquet('%s')"
                   % mnt.path("events.parquet"))
        assert got == [[r.get("ts"), r["events"][0]["ip"] if "events" in r else None]
                       for r in served]


def test_parquet_form_of_numbers_out_of_double_range(sandbox, tmp_path):
    s = sandbox("dbl")
    s.write("x.jsonl", '{"id": 1, "v": 1e-320}\n{"id": 2, "v": -1E-400}\n'
                       '{"id": 3, "v": 2.5}\n')
    s.write("y.jsonl", '{"id": 1, "v": 1e400}\n')
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n"
                   "  x.jsonl: { as: [jsonl, parquet], unlisted_columns: keep }\n"
                   "  y.jsonl: { as: [jsonl, parquet], unlisted_columns: keep }\n")
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 0, r.stdout
    s.mount()
    # The JSON Lines form keeps the text either way.
    assert b"1e-320" in read(s, "x.jsonl") and b"1e400" in read(s, "y.jsonl")
    got = duck(tmp_path, "SELECT id, v FROM read_parquet('%s') ORDER BY id"
               % s.path("x.parquet"))
    assert got == [[1, 1e-320], [2, -0.0], [3, 2.5]]
    assert len(duck(tmp_path, "SELECT * FROM read_parquet('%s')" % s.path("y.parquet"))) == 1


def test_preview_json_on_jsonl(mnt):
    r = spotfs("preview", "-c", mnt.config, "meta.json", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert len(out["rows"]) == 2
    assert not any("{" in c or '"' in c for c in out["columns"]), out["columns"]


def test_lua_output_is_escaped_and_values_are_decoded(sandbox):
    s = sandbox("luaesc")
    s.write("e.jsonl", '{"a": "x", "h": "\\u00e9t\\u00e9@x.example", '
                       '"t": "to ann\\u0040mail.example", "l": "caf\\u00e9 \\ud83d\\ude00"}\n'
                       '{"a": "y", "h": "\u00e9t\u00e9@x.example", '
                       '"t": "to ann@mail.example", "l": "caf\u00e9 \U0001F600"}\n')
    pol = os.path.join(s.base, "esc.lua")
    with open(pol, "w") as f:
        f.write('columns = {}\n'
                'function columns.a(v) return "q\\"\\\\\\n\\0\\255\\1end" end\n'
                'function columns.l(v) return string.format("%d:%s", #v, v) end\n')
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n  e.jsonl:\n"
                   "    policy: %s\n    columns:\n      h: hash\n"
                   "      t: { method: pii, replace: hash }\n" % pol)
    s.mount()
    data = read(s, "e.jsonl")
    a, b = records(data)
    # No method output can end a string; bytes not UTF-8 become U+FFFD.
    assert a["a"] == b["a"] == 'q"\\\n\x00\ufffd\x01end'
    # Methods see the decoded value: the escaped spelling is the same value.
    assert a["h"] == b["h"] and HEX16.match(a["h"])
    assert a["t"] == b["t"] and re.fullmatch(r"to \[EMAIL:[0-9a-f]{16}\]", a["t"])
    assert a["l"] == b["l"] == "10:caf\u00e9 \U0001F600"
    assert b"ann@mail" not in data and b"ann\\u0040" not in data


def test_path_collisions_and_missing_rules(sandbox):
    s = sandbox("paths")
    s.write("coll.jsonl", '{"a.b": 1, "a": {"b": 2}}\n')
    s.write("miss.jsonl", '{"a": 1, "b": {"c": 2}}\n')
    s.write("opt.jsonl", '{"a": 1, "b": {"c": 2}}\n')
    # A key that is an address, decoded, inside an array, two levels down.
    s.write("key.jsonl", '{"n": 1}\n{"hits": [{"x": {"ops.lead\\u0040keyleak\\u002eexample": 5}}]}\n')
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n"
                   "  coll.jsonl: { unlisted_columns: keep }\n"
                   "  miss.jsonl: { columns: { a: keep, b.d: hash } }\n"
                   "  opt.jsonl: { columns: { a: keep, b.d: { method: hash, optional: true } } }\n"
                   "  key.jsonl: { unlisted_columns: keep, as: [jsonl, csv, parquet] }\n")
    r = spotfs("check", "-c", s.config, "--json")
    errs = [m["text"] for m in json.loads(r.stdout)["messages"] if m["level"] == "error"]
    assert r.returncode == 1
    assert any(e.startswith("coll.jsonl:") for e in errs), errs
    assert any(e.startswith("miss.jsonl:") and "b.d" in e for e in errs), errs
    assert any(e.startswith("key.jsonl:") for e in errs), errs
    assert not any(e.startswith("opt.jsonl:") for e in errs), errs
    assert "keyleak" not in r.stdout + r.stderr
    s.mount()
    for n in ("coll.jsonl", "miss.jsonl", "key.jsonl", "key.csv", "key.parquet"):
        with pytest.raises(OSError) as e:
            read(s, n)
        assert e.value.errno == errno.EIO
    # b holds nothing served: null whole.
    assert json.loads(read(s, "opt.jsonl")) == {"a": 1, "b": None}
    assert "keyleak" not in s.read_log()


def test_exactly_64_mib_line_is_served_one_more_byte_is_not(sandbox):
    s = sandbox("b64")
    n = 64 << 20
    for name, length in (("exact", n), ("over", n + 1)):
        body = b'{"a": "' + b"Q" * (length - 9) + b'"}'
        assert len(body) == length
        s.write(name + ".jsonl", b'{"a": 1}\n' + body + b"\n")
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n"
                   "  exact.jsonl: { unlisted_columns: keep }\n"
                   "  over.jsonl: { unlisted_columns: keep }\n")
    r = spotfs("check", "-c", s.config, timeout=120)
    assert re.search(r"error: over\.jsonl: line 2\b", r.stdout), r.stdout
    assert "error: exact.jsonl" not in r.stdout, r.stdout
    assert "QQQQ" not in r.stdout + r.stderr


def test_65536_distinct_field_paths_are_accepted(sandbox):
    s = sandbox("paths64k")
    for k in (65536, 65537):
        s.write("r%d.jsonl" % k, "".join('{"k%05d": 1}\n' % i for i in range(k)))
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n"
                   "  r65536.jsonl: { unlisted_columns: keep }\n"
                   "  r65537.jsonl: { unlisted_columns: keep }\n")
    r = spotfs("check", "-c", s.config, timeout=120)
    assert re.search(r"error: r65537\.jsonl: line 65537\b", r.stdout), r.stdout
    assert "error: r65536.jsonl" not in r.stdout, r.stdout


JSONL_SERVED = ["chat.jsonl", "lua/chat.jsonl", "events.ndjson", "meta.json",
                "methods.jsonl", "big.jsonl"]


def test_pandas_and_duckdb_read_every_served_jsonl_file(mnt, tmp_path):
    """Every served JSON Lines file reads in pandas (lines=True) and DuckDB
    (newline_delimited) whenever its source does; these five always do.
    (A source with a BOM, events.ndjson, reads in neither; the BOM is not
    served (README), so its served file reads as the source without it.)"""
    import pandas as pd

    def pandas_rows(p):
        try:
            return len(pd.read_json(p, lines=True))
        except ValueError:
            return None

    def duck_rows(p):
        if not HAVE_DUCKDB:
            return None
        script = tmp_path / "count.mjs"
        script.write_text(
            "import { createRequire } from 'node:module';\n"
            "const require = createRequire(import.meta.url);\n"
            "const { DuckDBInstance } = require('@duckdb/node-api');\n"
            "const c = await (await DuckDBInstance.create(':memory:')).connect();\n"
            "try { const r = await c.runAndReadAll(\"SELECT count(*) FROM read_json('\" +"
            " process.argv[2] + \"', format='newline_delimited')\");\n"
            "  console.log(String(r.getRows()[0][0])); } catch (e) { console.log('ERR'); }\n")
        env = dict(os.environ, NODE_PATH=NODE_MODULES)
        out = subprocess.run(["node", str(script), p], capture_output=True, text=True,
                             env=env, timeout=120).stdout.strip()
        return None if out == "ERR" else int(out)

    want = {"chat.jsonl": N, "lua/chat.jsonl": N // 2, "meta.json": 2,
            "methods.jsonl": 1, "big.jsonl": 60000}
    for name in JSONL_SERVED:
        served, source = mnt.path(name), os.path.join(mnt.src, name)
        with open(source, "rb") as f:
            body = f.read()
        if body.startswith(BOM):
            source = str(tmp_path / ("nobom-" + os.path.basename(name)))
            with open(source, "wb") as f:
                f.write(body[len(BOM):])
        for reader in (pandas_rows, duck_rows):
            got_src = reader(source)
            got = reader(served)
            if name == "lua/chat.jsonl" and got_src is not None:
                got_src = N // 2
            assert got == got_src, (name, reader.__name__, got, got_src)
            if name in want and (reader is pandas_rows or HAVE_DUCKDB):
                if name == "meta.json" and got_src is None:
                    continue
                assert got == want[name], (name, reader.__name__)


def test_round_of_a_number_past_double_precision_is_exact_or_refused(sandbox):
    s = sandbox("rnd")
    s.write("r.jsonl", '{"v": 123456789012345678901234567890.5, "w": 2.5e3}\n')
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n  r.jsonl:\n    columns:\n"
                   "      v: { method: round, step: 1 }\n"
                   "      w: { method: round, step: 1 }\n")
    r = spotfs("preview", "-c", s.config, "r.jsonl")
    if r.returncode == 0:
        # Either the exact multiple ...
        assert '"v": 123456789012345678901234567891' in r.stdout, r.stdout
    else:
        # ... or the value refused, as for a 20-digit integer.
        assert "cannot mask this value" in r.stderr


def test_audit_outage_refuses_opens_then_recovers_and_records_unmount(sandbox, tmp_path):
    st = tmp_path / "st"
    st.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(st)], check=True)
    try:
        state = st / "state"
        env = {"SPOTFS_STATE_DIR": str(state)}
        s = sandbox("full")
        s.write("a.jsonl", '{"a": 1}\n')
        s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n  a.jsonl: { unlisted_columns: keep }\n")
        s.mount(env=env)
        assert read(s, "a.jsonl") == b'{"a": 1}\n'
        fill = st / "fill"
        subprocess.run(["dd", "if=/dev/zero", "of=%s" % fill, "bs=64k"],
                       capture_output=True)
        # Opens are refused once the log cannot be written (SQLite may
        # still have room in a page it holds for the first one or two).
        refused = 0
        for _ in range(30):
            try:
                read(s, "a.jsonl")
            except OSError as e:
                assert e.errno == errno.EIO
                refused += 1
                if refused == 3:
                    break
            time.sleep(0.1)
        assert refused == 3
        st_out = spotfs("status", "-S", str(state), s.mnt).stdout
        assert "FAILING" in st_out, st_out
        os.unlink(fill)
        deadline = time.time() + 5
        while True:
            try:
                assert read(s, "a.jsonl") == b'{"a": 1}\n'
                break
            except OSError:
                assert time.time() < deadline, "opens still refused 5 s after space returned"
                time.sleep(0.2)
        r = spotfs("unmount", "-S", str(state), s.mnt)
        assert r.returncode == 0, r.stderr
        s.proc.wait(timeout=30)
        rows = [json.loads(l) for l in spotfs("audit", "--json", "-S", str(state)).stdout.splitlines()]
        ev = [x["event"] for x in rows]
        assert ev[-1] == "unmount" and rows[-1]["reason"] == "spotfs unmount", rows[-1]
        (err,) = [x for x in rows if x["event"] == "audit_error"]
        m = re.search(r"(\d+) opens refused", err["detail"])
        assert m and int(m.group(1)) >= 3, err
        assert spotfs("audit", "--verify", "-S", str(state)).returncode == 0
    finally:
        if is_mounted(sandbox_mnt := os.path.join(str(tmp_path), "full-mnt")):
            subprocess.run(["fusermount3", "-u", "-z", sandbox_mnt])
        subprocess.run(["umount", "-l", str(st)])


def test_unmount_of_a_stopped_daemon_says_why_and_is_recorded(sandbox):
    s = sandbox("stop")
    s.write("a.jsonl", '{"a": 1}\n')
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n  a.jsonl: { unlisted_columns: keep }\n")
    s.mount()
    sb = [x for x in audit() if x["event"] == "mount" and s.mnt in x["detail"]][-1]["sandbox"]
    os.kill(s.proc.pid, signal.SIGSTOP)
    try:
        p = subprocess.Popen([SPOTFS, "unmount", "-T", "1s", s.mnt],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = p.communicate(timeout=60)
    finally:
        os.kill(s.proc.pid, signal.SIGCONT)
    assert p.returncode == 1
    assert str(s.proc.pid) in err, err
    s.proc.wait(timeout=30)
    (u,) = [x for x in audit() if x["sandbox"] == sb and x["event"] == "unmount"]
    assert u["pid"] == p.pid and u["uid"] == 0, u
    assert u["process"] == "spotfs", json.dumps(u)

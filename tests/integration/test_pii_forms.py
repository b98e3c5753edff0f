# SPDX-License-Identifier: LGPL-2.1-or-later
"""What `method: pii` and the detectors read beyond plain ASCII (round 10),
through a real mount and the CLI.

- personal data written with Unicode spaces and dashes, fullwidth forms,
  other scripts' digits, JSON \\u escapes, percent-encoding, Latin-1 bytes
  or RFC 5322 atext punctuation is replaced in CSV and JSON Lines, and the
  replaced span covers whole source characters: the served text is valid
  UTF-8 with no piece of an escape or a character left;
- replace: hash gives one address one token in every spelling;
- a SQLite BLOB pii cannot read as text (UTF-16, binary) is served as
  [BINARY], never as it was; a BLOB of UTF-8 text is scanned as text;
- `spotfs check` warns about a kept column holding look-alike personal
  data (never printing it)."""
import csv
import io
import json
import os
import re
import sqlite3

from conftest import spotfs

NBSP = "\u00a0"
# id: (note, pieces that must not be served)
FORMS = {
    "narrow_nbsp": ("call +1\u202f415\u202f555\u202f0142 now", ["0142"]),
    "figure_space": ("call 415\u2007555\u20070142 now", ["0142"]),
    "dashes": ("call 415\u2010555\u20110142 or 415\u2212555\u20130143",
               ["0142", "0143"]),
    "arabic_digits": ("call \u0664\u0661\u0665-\u0665\u0665\u0665-"
                      "\u0660\u0661\u0664\u0662", ["\u0660\u0661"]),
    "fullwidth_mail": ("mail \uff42\uff4f\uff42\uff20\uff45\uff58.com",
                       ["\uff42\uff4f\uff42"]),
    "ideographic": ("mail bob\ufe6bexample\u3002com", ["bob"]),
    "zero_width": ("mail b\u200bob@exa\u00admple.com", ["ob@", "mple"]),
    "utf8_local": ("mail \u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a now",
                   ["\u7528\u6237", "\u4f8b\u5b50"]),
    "json_escape": ('{"e": "jos\\u00e9.garc\\u00eda@ejemplo.es"}',
                    ["jos", "garc", "\\u00"]),
    "lone_surrogate": ("x jos\\u00e9\\ud800@example.com", ["jos", "\\ud8"]),
    "percent": ("GET /r?e=jos%C3%A9%40ejemplo.es&p=%2B14155550142",
                ["jos", "%C3", "4155550142"]),
    "atext": ("mail mary.o'connor@example.ie and a!b#c@example.com",
              ["mary", "connor", "a!b"]),
    "quoted": ('mail "john q. doe"@example.com', ["john", "doe"]),
    "iban_lower": ("iban gb82-west-1234-5698-7654-32", ["5698"]),
    "card_dots": ("card 4111.1111.1111.1111", ["4111.1111"]),
    "phone_00": ("call 0044 20 7946 0958", ["7946"]),
}


def read(s, name):
    with open(s.path(name), "rb") as f:
        return f.read()


def jl(recs):
    return "".join(json.dumps(r) + "\n" for r in recs)


def mount_forms(sandbox, extra=""):
    s = sandbox()
    ids = sorted(FORMS)
    s.write("n.jsonl", jl([{"id": k, "note": FORMS[k][0]} for k in ids]))
    s.write("n.csv", "id,note\n" + "".join(
        '%s,"%s"\n' % (k, FORMS[k][0].replace('"', '""')) for k in ids))
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  n.jsonl: { columns: { id: keep, note: pii%s } }\n"
                   "  n.csv: { columns: { id: keep, note: pii%s } }\n"
                   % (extra, extra))
    s.mount()
    return s


def served_notes(s):
    out = {}
    for l in read(s, "n.jsonl").decode().splitlines():
        r = json.loads(l)
        out.setdefault(r["id"], []).append(r["note"])
    for r in csv.DictReader(io.StringIO(read(s, "n.csv").decode())):
        out.setdefault(r["id"], []).append(r["note"])
    return out


def test_look_alikes_and_escapes_are_replaced_whole(sandbox):
    s = mount_forms(sandbox)
    notes = served_notes(s)
    leaked = {}
    for k, (_, pieces) in FORMS.items():
        assert len(notes[k]) == 2, (k, notes[k])
        for n in notes[k]:
            # tags only where the value was; no piece of it left
            assert re.search(r"\[(EMAIL|PHONE|CARD|IBAN)\]", n), (k, n)
            if any(p in n for p in pieces):
                leaked[k] = n
            # no half character, no half escape at a tag's edges
            assert "\ufffd" not in n, (k, n)
            assert not re.search(r"(\\u?[0-9a-fA-F]{0,3}|%[0-9A-F]?)"
                                 r"\[(EMAIL|PHONE)", n), (k, n)
    assert not leaked, leaked


def test_one_token_in_every_spelling(sandbox):
    s = sandbox()
    spellings = ["bob@example.com", "BOB(at)EXAMPLE.COM",
                 "bob\uff20example.com", "bob%40example.com",
                 "\\u0062ob@example.com", "b\u200bob@example.com"]
    s.write("a.jsonl", jl([{"id": i, "note": "to " + x}
                           for i, x in enumerate(spellings)]))
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  a.jsonl: { columns: { id: keep, note: "
                   "{ method: pii, replace: hash } } }\n")
    s.mount()
    notes = [json.loads(l)["note"]
             for l in read(s, "a.jsonl").decode().splitlines()]
    assert len(notes) == len(spellings)
    assert all(re.fullmatch(r"to \[EMAIL:[0-9a-f]{16}\]", n) for n in notes), \
        notes
    assert len(set(notes)) == 1, notes


def test_latin1_note_gets_the_utf8_token(sandbox):
    s = sandbox()
    s.write("l.csv", b"id,note\n1,jos\xe9@example.com\n"
            b"2,jos\xc3\xa9@example.com\n")
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  l.csv: { columns: { id: keep, note: "
                   "{ method: pii, replace: hash } } }\n")
    s.mount()
    rows = read(s, "l.csv").splitlines()[1:]
    assert len(rows) == 2 and b"jos" not in b"".join(rows), rows
    assert rows[0].split(b",")[1] == rows[1].split(b",")[1], rows


def test_blobs_pii_cannot_read_are_served_as_binary(sandbox):
    s = sandbox()
    p = os.path.join(s.src, "b.db")
    c = sqlite3.connect(p)
    c.execute("create table t(id integer, b blob)")
    rows = [(1, "mail bob@example.com".encode("utf-16-be")),
            (2, b"\x89PNG\r\n\x1a\n\x00\x00bob@example.com"),
            (3, "mail carol@example.com".encode())]
    c.executemany("insert into t values (?, ?)", rows)
    c.commit()
    c.close()
    os.chmod(p, 0o644)
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  b.db: { columns: { id: keep, b: pii } }\n")
    s.mount()
    out = read(s, "b/t.csv").decode()
    assert out.splitlines()[1:] == ["1,[BINARY]", "2,[BINARY]",
                                    "3,mail [EMAIL]"], out
    db = read(s, "b.db")
    for who in (b"bob@", b"carol@", "bob@".encode("utf-16-be")):
        assert who not in db


def test_check_warns_on_kept_look_alikes(sandbox):
    s = sandbox()
    s.write("k.csv", "id,note,\uff45\uff4d\uff41\uff49\uff4c\n"
            "1,call +1" + NBSP + "415" + NBSP + "555" + NBSP + "0142,x\n"
            "2,mail bob\uff20example.com,y\n")
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  k.csv: { columns: { id: keep, note: keep, "
                   "\uff45\uff4d\uff41\uff49\uff4c: keep } }\n")
    r = spotfs("check", "-c", s.config, timeout=120)
    out = r.stdout + r.stderr
    assert "0142" not in out and "bob" not in out, out
    assert re.search(r"column 'note' holds values that look like "
                     r"(phone|email)", out), out

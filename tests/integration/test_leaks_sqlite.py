# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 11, findings 1 and 2: a SQLite dataset serves only what is named.

Each test mounts a real spotfs over a database that holds raw personal data
in places the config does not serve (a table left out of `tables:`, FTS
virtual and shadow tables, generated columns, views reading raw tables) and
scans every byte the mount serves: every CSV in the folder and the whole
masked `.db`, which is also opened with `sqlite3 -readonly`."""
import errno
import json
import os
import re
import sqlite3
import subprocess

import pytest

from conftest import spotfs

SSN = re.compile(rb"\d{3}-\d{2}-\d{4}")


def served(mnt):
    """{relative path: bytes or errno} for every file under the mount."""
    out = {}
    for dirpath, _, files in os.walk(mnt):
        for f in files:
            p = os.path.join(dirpath, f)
            try:
                with open(p, "rb") as fh:
                    out[os.path.relpath(p, mnt)] = fh.read()
            except OSError as e:
                out[os.path.relpath(p, mnt)] = e.errno
    return out


def all_bytes(files):
    return b"".join(v for v in files.values() if isinstance(v, bytes))


def sqlite_ro(path, sql):
    return subprocess.run(["sqlite3", "-readonly", path, sql],
                          capture_output=True, text=True, timeout=60)


def make_crm(path, extra=()):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, country TEXT)")
    con.executemany("INSERT INTO users VALUES (?,?,?)",
                    [(i, "user%02d@raw.example" % i, ["DE", "FR"][i % 2])
                     for i in range(20)])
    con.execute("CREATE TABLE payroll_raw (id INTEGER, ssn TEXT, salary INTEGER)")
    con.executemany("INSERT INTO payroll_raw VALUES (?,?,?)",
                    [(i, "123-45-%04d" % i, 50000 + i) for i in range(20)])
    con.execute("CREATE VIEW de_users AS SELECT id, email FROM users WHERE country = 'DE'")
    # A trigger whose body holds a raw literal: triggers are never served.
    con.execute("CREATE TRIGGER users_t AFTER INSERT ON users WHEN new.email = "
                "'boss@raw.example' BEGIN SELECT 1; END")
    for sql in extra:
        con.execute(sql)
    con.commit()
    con.close()


USERS_RULES = """
      users:
        columns:
          id: { method: keep }
          email: { method: hash }
          country: { method: keep }
"""


def test_db_views_serves_views_only(sandbox):
    """Finding 1: db_views adds the database's views, never its tables."""
    s = sandbox("dbv")
    make_crm(os.path.join(s.src, "crm.db"))
    s.write_config("source: @SRC@\ndatasets:\n  crm.db:\n    db_views: true\n"
                   "    tables:" + USERS_RULES)
    s.mount()
    assert sorted(os.listdir(s.path("crm"))) == ["de_users.csv", "users.csv"]
    with pytest.raises(OSError) as e:
        open(s.path("crm/payroll_raw.csv"), "rb")
    assert e.value.errno == errno.ENOENT
    files = served(s.mnt)
    assert all(isinstance(v, bytes) for v in files.values()), files.keys()
    blob = all_bytes(files)
    assert not SSN.search(blob), "an SSN of payroll_raw was served"
    assert b"@raw.example" not in blob and b"payroll" not in blob
    assert b"50019" not in blob
    r = sqlite_ro(s.path("crm.db"), "SELECT type, name FROM sqlite_schema ORDER BY name")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["table|de_users", "table|users"]
    r = sqlite_ro(s.path("crm.db"), "SELECT count(*) FROM de_users")
    assert r.stdout.strip() == "10"


def test_db_view_reading_unserved_table_fails_closed(sandbox):
    """A database view over a table the dataset does not serve fails (EIO),
    and so does the whole .db; check names it."""
    s = sandbox("dbv2")
    make_crm(os.path.join(s.src, "crm.db"),
             ["CREATE VIEW pay_view AS SELECT u.email, p.ssn FROM users u "
              "JOIN payroll_raw p ON p.id = u.id"])
    s.write_config("source: @SRC@\ndatasets:\n  crm.db:\n    db_views: true\n"
                   "    tables:" + USERS_RULES)
    s.mount()
    assert sorted(os.listdir(s.path("crm"))) == ["de_users.csv", "pay_view.csv", "users.csv"]
    files = served(s.mnt)
    assert files["crm/pay_view.csv"] == errno.EIO
    assert files["crm.db"] == errno.EIO
    assert not SSN.search(all_bytes(files))
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 1 and "pay_view" in r.stdout + r.stderr, r.stdout + r.stderr
    assert not SSN.search((r.stdout + r.stderr).encode())


def test_tables_naming_a_view_runs_it_on_masked_tables(sandbox):
    """A database view named in tables: (any case, without db_views) is a
    view: it reads the masked tables, never the raw ones."""
    s = sandbox("tv")
    make_crm(os.path.join(s.src, "crm.db"),
             ["CREATE VIEW shout AS SELECT id, upper(email) AS e FROM users"])
    s.write_config("source: @SRC@\ndatasets:\n  crm.db:\n    tables:" + USERS_RULES +
                   "      SHOUT:\n        columns:\n          id: { method: keep }\n"
                   "          e: { method: keep }\n")
    s.mount()
    assert sorted(os.listdir(s.path("crm"))) == ["SHOUT.csv", "users.csv"]
    files = served(s.mnt)
    assert all(isinstance(v, bytes) for v in files.values()), files
    blob = all_bytes(files)
    assert b"@RAW.EXAMPLE" not in blob.upper(), "the view read raw emails"
    assert len(files["crm/SHOUT.csv"].splitlines()) == 21


def test_tables_naming_a_view_of_an_unserved_table_fails_closed(sandbox):
    """A database view named in tables: that reads a table left out (the
    payroll) fails closed like any view: EIO, never the raw rows."""
    s = sandbox("tv2")
    make_crm(os.path.join(s.src, "crm.db"),
             ["CREATE VIEW pay AS SELECT id, ssn FROM payroll_raw"])
    s.write_config("source: @SRC@\ndatasets:\n  crm.db:\n    tables:" + USERS_RULES +
                   "      pay:\n        columns:\n          id: { method: keep }\n"
                   "          ssn: { method: keep }\n")
    s.mount()
    files = served(s.mnt)
    assert files["crm/pay.csv"] == errno.EIO and files["crm.db"] == errno.EIO
    assert isinstance(files["crm/users.csv"], bytes)
    assert not SSN.search(all_bytes(files))


def make_fts(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT)")
    con.executemany("INSERT INTO contacts VALUES (?, ?)",
                    [(i, "c%02d@fts.example" % i) for i in range(10)])
    con.execute("CREATE VIRTUAL TABLE docs USING fts5(body)")
    con.execute("CREATE VIRTUAL TABLE old_docs USING fts4(body)")
    con.execute("CREATE VIRTUAL TABLE older USING fts3(body)")
    con.execute("CREATE VIRTUAL TABLE boxes USING rtree(id, a, b)")
    for i in range(10):
        body = "mail c%02d@fts.example ssn 987-65-%04d" % (i, i)
        con.execute("INSERT INTO docs VALUES (?)", (body,))
        con.execute("INSERT INTO old_docs VALUES (?)", (body,))
        con.execute("INSERT INTO older VALUES (?)", (body,))
        con.execute("INSERT INTO boxes VALUES (?, ?, ?)", (i, 987650000 + i, 987659999))
    con.commit()
    con.close()


def test_tables_all_skips_virtual_and_shadow_tables(sandbox):
    """Finding 2: tables: all serves ordinary tables only: no FTS3/4/5 or
    rtree table, no shadow table (*_content, *_data, *_segdir...)."""
    s = sandbox("fts")
    make_fts(os.path.join(s.src, "crm.db"))
    s.write_config("source: @SRC@\ndatasets:\n  crm.db:\n    tables: all\n"
                   "    columns:\n      id: { method: keep }\n"
                   "      email: { method: hash }\n")
    s.mount()
    assert os.listdir(s.path("crm")) == ["contacts.csv"]
    files = served(s.mnt)
    assert all(isinstance(v, bytes) for v in files.values()), files
    blob = all_bytes(files)
    assert b"fts.example" not in blob and not SSN.search(blob)
    assert b"98765" not in blob
    r = sqlite_ro(s.path("crm.db"), "SELECT name FROM sqlite_schema")
    assert r.returncode == 0 and r.stdout.split() == ["contacts"], r.stdout + r.stderr


def test_virtual_table_served_only_when_named_with_rules(sandbox):
    """An FTS table named with column rules is served through them (hidden
    columns never); named without rules, a virtual, shadow or sqlite_*
    table fails closed and check names it."""
    s = sandbox("fts2")
    make_fts(os.path.join(s.src, "crm.db"))
    s.write_config("source: @SRC@\ndatasets:\n  crm.db:\n    tables:\n"
                   "      contacts:\n        columns:\n          id: { method: keep }\n"
                   "          email: { method: hash }\n"
                   "      docs:\n        columns:\n          body: { method: redact }\n")
    s.mount()
    assert sorted(os.listdir(s.path("crm"))) == ["contacts.csv", "docs.csv"]
    files = served(s.mnt)
    assert all(isinstance(v, bytes) for v in files.values()), files
    assert files["crm/docs.csv"].splitlines()[0] == b"body"
    blob = all_bytes(files)
    assert b"fts.example" not in blob and not SSN.search(blob)
    r = sqlite_ro(s.path("crm.db"), "SELECT name FROM sqlite_schema ORDER BY name")
    assert r.stdout.split() == ["contacts", "docs"], r.stdout + r.stderr
    s.unmount()

    for name in ["docs_content", "old_docs", "older_segdir", "boxes_node",
                 "sqlite_master", "SQLITE_SCHEMA"]:
        t = sandbox("fts3" + name)
        make_fts(os.path.join(t.src, "crm.db"))
        t.write_config("source: @SRC@\ndatasets:\n  crm.db:\n    tables:\n"
                       "      contacts:\n        columns:\n          id: { method: keep }\n"
                       "          email: { method: hash }\n"
                       "      %s:\n" % name)
        t.mount()
        files = served(t.mnt)
        assert files["crm/contacts.csv"] != errno.EIO
        assert files["crm/%s.csv" % name] == errno.EIO, name
        assert files["crm.db"] == errno.EIO, name
        blob = all_bytes(files)
        assert b"fts.example" not in blob and not SSN.search(blob), name
        r = spotfs("check", "-c", t.config)
        assert r.returncode == 1 and name in r.stdout, r.stdout + r.stderr
        t.unmount()


GEN_DB = [
    "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT,"
    " email_up TEXT GENERATED ALWAYS AS (upper(email)) VIRTUAL,"
    " dom TEXT GENERATED ALWAYS AS (substr(email, instr(email, '@'))) STORED)",
    "INSERT INTO people (id, email) VALUES (1, 'ann@gen.example'), (2, 'bob@gen.example')",
    "CREATE TABLE plain (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL)",
    "INSERT INTO plain (a) VALUES (20), (21)",
    "CREATE TABLE kv (k TEXT PRIMARY KEY, secret TEXT) WITHOUT ROWID",
    "INSERT INTO kv VALUES ('a', 'kv-secret-1'), ('b', 'kv-secret-2')",
]


def make_gen(path):
    con = sqlite3.connect(path)
    for sql in GEN_DB:
        con.execute(sql)
    con.commit()
    con.close()


def gen_config(people):
    return ("source: @SRC@\ndatasets:\n  crm.db:\n    tables:\n"
            "      people:\n        columns:\n" + people +
            "      plain:\n        columns:\n          a: { method: keep }\n"
            "          b: { method: keep }\n"
            "      kv:\n        columns:\n          k: { method: keep }\n"
            "          secret: { method: redact }\n")


def csv_rows(data):
    return [line.split(b",") for line in data.splitlines()]


@pytest.mark.parametrize("rules", [
    "          id: { method: keep }\n          email: { method: hash }\n"
    "          email_up: { method: keep }\n          dom: { method: keep }\n",
    # No rule for the generated columns (unlisted).
    "          id: { method: keep }\n          email: { method: hash }\n",
], ids=["keep", "unlisted"])
def test_generated_column_of_masked_column_never_raw(sandbox, rules):
    """Finding 2: a generated column (VIRTUAL or STORED) computed from a
    masked column is never served raw: without a masking rule of its own it
    is recomputed from the masked values, in the CSV and in the .db."""
    s = sandbox("gen")
    make_gen(os.path.join(s.src, "crm.db"))
    s.write_config(gen_config(rules))
    s.mount()
    files = served(s.mnt)
    assert all(isinstance(v, bytes) for v in files.values()), files
    blob = all_bytes(files)
    assert b"GEN.EXAMPLE" not in blob.upper(), "a generated column came out raw"
    assert b"kv-secret" not in blob
    rows = csv_rows(files["crm/people.csv"])
    assert rows[0] == [b"id", b"email", b"email_up", b"dom"] and len(rows) == 3
    for _, email, up, dom in rows[1:]:
        # Recomputed from the hash (or redacted if unlisted columns are).
        assert up in (email.upper(), b""), rows
        assert dom in (email, b""), rows  # no '@' in a hash: substr(x, 0)
    r = sqlite_ro(s.path("crm.db"), "SELECT email_up = upper(email) FROM people")
    assert r.returncode == 0 and set(r.stdout.split()) <= {"1", ""}, r.stdout
    # Tables without masked columns keep their generated values.
    assert files["crm/plain.csv"] == b"a,b\n20,40\n21,42\n"
    assert files["crm/kv.csv"] == b"k,secret\na,[REDACTED]\nb,[REDACTED]\n"


def test_generated_column_that_cannot_be_recomputed_fails_closed(sandbox):
    """When the table's own constraints refuse the masked values (NOT NULL
    against a nulled column, a masked INTEGER PRIMARY KEY), the table fails
    closed: EIO, and check names the table and the column."""
    s = sandbox("gen3")
    con = sqlite3.connect(os.path.join(s.src, "crm.db"))
    con.execute("CREATE TABLE nn (id INTEGER, email TEXT NOT NULL,"
                " up TEXT GENERATED ALWAYS AS (upper(email)) STORED)")
    con.execute("INSERT INTO nn (id, email) VALUES (1, 'nn@gen.example')")
    con.execute("CREATE TABLE pk (id INTEGER PRIMARY KEY, email TEXT,"
                " tag TEXT GENERATED ALWAYS AS (id || ':' || email) VIRTUAL)")
    con.execute("INSERT INTO pk (id, email) VALUES (424242, 'pk@gen.example')")
    con.commit()
    con.close()
    s.write_config("source: @SRC@\ndatasets:\n  crm.db:\n    tables:\n"
                   "      nn:\n        columns:\n          id: { method: keep }\n"
                   "          email: { method: null }\n          up: { method: keep }\n"
                   "      pk:\n        columns:\n          id: { method: hash }\n"
                   "          email: { method: keep }\n          tag: { method: keep }\n")
    s.mount()
    files = served(s.mnt)
    assert files["crm/nn.csv"] == errno.EIO and files["crm/pk.csv"] == errno.EIO
    assert files["crm.db"] == errno.EIO
    r = spotfs("check", "-c", s.config)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "table nn: generated column 'up'" in out, out
    assert "GEN.EXAMPLE" not in out.upper() and "424242" not in out


def test_generated_column_with_own_rule_is_masked(sandbox):
    """A generated column with its own masking rule is served through it,
    and the served .db has plain columns: no generated expression, no
    trigger, nothing raw."""
    s = sandbox("gen2")
    make_gen(os.path.join(s.src, "crm.db"))
    s.write_config(gen_config(
        "          id: { method: keep }\n          email: { method: hash }\n"
        "          email_up: { method: hash }\n          dom: { method: redact }\n"))
    s.mount()
    files = served(s.mnt)
    assert all(isinstance(v, bytes) for v in files.values()), files
    blob = all_bytes(files)
    assert b"GEN.EXAMPLE" not in blob.upper() and b"kv-secret" not in blob
    rows = files["crm/people.csv"].splitlines()
    assert rows[0] == b"id,email,email_up,dom" and rows[1].endswith(b",[REDACTED]")
    r = sqlite_ro(s.path("crm.db"), "SELECT group_concat(sql, ';') FROM sqlite_schema")
    assert r.returncode == 0, r.stderr
    assert "GENERATED" not in r.stdout.upper() and "upper(" not in r.stdout
    r = sqlite_ro(s.path("crm.db"), "SELECT name, hidden FROM pragma_table_xinfo('people')")
    assert r.stdout.split() == ["id|0", "email|0", "email_up|0", "dom|0"]
    r = sqlite_ro(s.path("crm.db"), "SELECT k, secret FROM kv ORDER BY k")
    assert r.stdout.split() == ["a|[REDACTED]", "b|[REDACTED]"]


def test_configured_view_named_like_a_table_never_serves_the_table(sandbox):
    """A configured view named like an unserved raw table serves the view's
    rows (from masked tables), never the table; one named like a served
    table replaces it, so its SELECT of that table fails closed."""
    s = sandbox("vn")
    make_crm(os.path.join(s.src, "crm.db"))
    s.write_config("source: @SRC@\ndatasets:\n  crm.db:\n    tables:" + USERS_RULES +
                   "    views:\n      payroll_raw: SELECT id, email FROM users\n"
                   "      Payroll_Raw: SELECT id FROM users\n")
    s.mount()
    assert sorted(os.listdir(s.path("crm"))) == ["Payroll_Raw.csv", "payroll_raw.csv",
                                                   "users.csv"]
    files = served(s.mnt)
    # Two names SQLite cannot tell apart: the .db cannot hold both.
    assert files.pop("crm.db") == errno.EIO
    assert all(isinstance(v, bytes) for v in files.values()), files
    blob = all_bytes(files)
    assert not SSN.search(blob) and b"@raw.example" not in blob
    assert files["crm/payroll_raw.csv"].splitlines()[0] == b"id,email"
    s.unmount()

    t = sandbox("vn2")
    make_crm(os.path.join(t.src, "crm.db"))
    t.write_config("source: @SRC@\ndatasets:\n  crm.db:\n    tables:" + USERS_RULES +
                   "    views:\n      users: SELECT * FROM users\n")
    t.mount()
    files = served(t.mnt)
    assert files["crm/users.csv"] == errno.EIO and files["crm.db"] == errno.EIO
    assert b"@raw.example" not in all_bytes(files)


def test_served_db_has_fresh_rowids_and_no_source_schema(sandbox):
    """The served .db does not carry the source's rowids (a masked INTEGER
    PRIMARY KEY is not readable as rowid), nor its indexes, triggers,
    constraints or freed pages."""
    s = sandbox("rid")
    src = os.path.join(s.src, "crm.db")
    con = sqlite3.connect(src)
    con.execute("CREATE TABLE acct (id INTEGER PRIMARY KEY, email TEXT NOT NULL"
                " CHECK (email <> 'ceo@raw.example') DEFAULT 'dflt@raw.example')")
    con.executemany("INSERT INTO acct VALUES (?, ?)",
                    [(700001 + 13 * i, "a%02d@raw.example" % i) for i in range(30)])
    con.execute("CREATE INDEX acct_email ON acct(email)")
    con.execute("CREATE TRIGGER acct_t AFTER UPDATE ON acct BEGIN "
                "SELECT 'trig@raw.example'; END")
    con.execute("CREATE TABLE gone (v TEXT)")
    con.executemany("INSERT INTO gone VALUES (?)", [("freed%04d@raw.example" % i,)
                                                   for i in range(300)])
    con.commit()
    con.execute("DROP TABLE gone")
    con.commit()
    con.close()
    s.write_config("source: @SRC@\ndatasets:\n  crm.db:\n    tables:\n"
                   "      acct:\n        columns:\n          id: { method: hash }\n"
                   "          email: { method: hash }\n")
    s.mount()
    data = open(s.path("crm.db"), "rb").read()
    assert b"raw.example" not in data and b"700001" not in data
    assert int.from_bytes(data[36:40], "big") == 0, "no freelist pages"
    r = sqlite_ro(s.path("crm.db"), "SELECT min(rowid), max(rowid), count(*) FROM acct")
    assert r.stdout.strip() == "1|30|30", r.stdout + r.stderr
    r = sqlite_ro(s.path("crm.db"), "SELECT type, name, sql FROM sqlite_schema")
    assert r.stdout.startswith("table|acct|CREATE TABLE") and r.stdout.count("\n") == 1
    assert "CHECK" not in r.stdout and "DEFAULT" not in r.stdout, r.stdout


# ---- round 2, F5: a view's SQL is parsed, never cut at a word ----

VIP = "alice@corp.example"


def audit_text(s):
    """The audit records of sandbox s's mounts (other tests of this worker
    wrote records too: a view of theirs may be named v_alice)."""
    r = spotfs("audit", "--json")
    assert r.returncode == 0, r.stderr
    recs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    mnt = "mountpoint %s;" % os.path.realpath(s.mnt)
    ids = {e["sandbox"] for e in recs
           if e["event"] == "mount" and mnt in (e["detail"] or "")}
    assert ids, "no mount record of %s" % s.mnt
    return "\n".join(json.dumps(e) for e in recs if e["sandbox"] in ids) + \
        r.stderr


def vip_db(path, views):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    con.executemany("INSERT INTO users VALUES (?,?)",
                    [(1, VIP), (2, "bob@corp.example")])
    for v in views:
        con.execute(v)
    con.commit()
    con.close()


VIP_RULES = ("source: @SRC@\ndatasets:\n  crm.db:\n    db_views: true\n"
             "    tables:\n      users: { columns: { id: keep, email: hash } }\n")

AS_FORMS = {  # names may hold " as " too, but never the secret (names are served)
    "line-comment": "CREATE VIEW vip -- VIPs such as '%s' (CEO)\n"
                    "AS SELECT id, email FROM users WHERE id = 1",
    "block-comment": "CREATE VIEW vip /* known as '%s' */ AS SELECT id, email "
                     "FROM users WHERE id = 1",
    "block-then-line": "CREATE VIEW vip /* -- as */ -- as '%s' */\n AS "
                       "SELECT id, email FROM users WHERE id = 1",
    "quoted-name": "CREATE VIEW \"vip as 'x'\" /* as %s */ AS SELECT id, email "
                   "FROM users WHERE id = 1",
    "bracket-name": "CREATE VIEW [vip as x]/*as %s*/AS SELECT id, email FROM "
                    "users WHERE id = 1",
    "backtick-name": "CREATE VIEW `vip as ``x`` ` -- as %s\nAS SELECT id, email "
                     "FROM users WHERE id = 1",
    "column-list": "CREATE VIEW vip(a, \"b as c\")/* as %s */AS SELECT id, "
                   "email FROM users WHERE id = 1",
    "if-not-exists": "CREATE VIEW IF NOT EXISTS main.vip\t/*as '%s'*/as\n"
                     "SELECT id, email FROM users WHERE id = 1",
    "comment-in-select": "CREATE VIEW vip AS SELECT id, email /* as '%s' */ "
                         "FROM users WHERE id = 1",
}


@pytest.mark.parametrize("form", sorted(AS_FORMS))
def test_db_view_with_as_in_comments_and_names_is_masked(sandbox, form):
    """Comments, string literals and quoted names holding " AS " do not cut
    a database view's SQL: the view runs on the masked tables, and nothing
    of its text reaches check, the daemon log or the audit log."""
    s = sandbox("vas")
    vip_db(os.path.join(s.src, "crm.db"), [AS_FORMS[form] % VIP])
    s.write_config(VIP_RULES)
    r = spotfs("check", "-c", s.config)
    out = r.stdout + r.stderr
    assert VIP not in out, out
    assert r.returncode == 0, out
    s.mount()
    views = [f for f in os.listdir(s.path("crm")) if f != "users.csv"]
    assert len(views) == 1, views
    data = open(s.path("crm/" + views[0]), "rb").read()
    assert data.count(b"\n") == 2, data  # header + the one VIP row, hashed
    files = served(s.mnt)
    assert all(isinstance(v, bytes) for v in files.values()), files
    assert b"alice" not in all_bytes(files)
    s.unmount()
    assert "alice" not in s.read_log() and "alice" not in audit_text(s)


BROKEN_VIEWS = {
    # a name SQLite resolves only when the view runs: quoted in its message
    "missing-column": ["CREATE VIEW vip AS SELECT [%s] FROM users" % VIP],
    # a view over a table the dataset does not serve, with a literal
    "unserved-table": ["CREATE TABLE raw (v TEXT)",
                       "CREATE VIEW vip AS SELECT v FROM raw WHERE v <> '%s'"
                       % VIP],
}


@pytest.mark.parametrize("form", sorted(BROKEN_VIEWS))
def test_db_view_error_never_quotes_the_definition(sandbox, form):
    """A database view that fails to compile on the masked tables fails
    closed (EIO), named, without SQLite's message quoting its SQL."""
    s = sandbox("vbad")
    vip_db(os.path.join(s.src, "crm.db"), BROKEN_VIEWS[form])
    s.write_config(VIP_RULES)
    r = spotfs("check", "-c", s.config)
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "vip" in out, out
    assert "alice" not in out, out
    s.mount()
    files = served(s.mnt)
    assert files["crm/vip.csv"] == errno.EIO
    assert b"alice" not in all_bytes(files)
    s.unmount()
    assert "vip" in s.read_log()
    assert "alice" not in s.read_log() and "alice" not in audit_text(s)


def test_malformed_schema_error_never_quotes_the_schema(sandbox):
    """A source whose stored schema does not parse fails closed without
    SQLite's "malformed database schema ... near" text."""
    s = sandbox("vmal")
    src = os.path.join(s.src, "crm.db")
    vip_db(src, ["CREATE VIEW vip AS SELECT id FROM users"])
    con = sqlite3.connect(src)
    con.execute("PRAGMA writable_schema = ON")
    con.execute("UPDATE sqlite_schema SET sql = ? WHERE name = 'vip'",
                ("CREATE VIEW vip AS SELECT id FROM users WHERE 1 '%s'" % VIP,))
    con.commit()
    con.close()
    s.write_config(VIP_RULES)
    r = spotfs("check", "-c", s.config)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "alice" not in out, out
    s.mount()
    files = served(s.mnt)
    assert b"alice" not in all_bytes(files)
    assert all(v == errno.EIO for k, v in files.items() if k.startswith("crm")), files
    s.unmount()
    assert "alice" not in s.read_log() and "alice" not in audit_text(s)

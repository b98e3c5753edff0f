# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 11, findings 6, 7 and 13, through real mounts: a view is built once
per role, so Lua column and row functions never see who triggered the build;
a column no rule names is served as NULL unless the config says keep; a rule
naming a column the data lacks fails closed with the near-miss spelling; and
`spotfs check` warns about what the mount would serve raw."""
import errno
import json
import os
import sqlite3
import subprocess

import pytest

from conftest import spotfs, duck, needs_duckdb


PEOPLE = ("id,name,email,country,note\n"
          "1,Rawname Ann,ann.raw@corp.example,DE,likes tea\n"
          "2,Rawname Bob,bob.raw@corp.example,FR,call 555-201-1234\n"
          "3,Rawname Cy,cy.raw@corp.example,DE,\n")
RAW = [b"ann.raw@corp.example", b"bob.raw@corp.example", b"cy.raw@corp.example",
       b"Rawname"]


def as_uid(uid, *cmd):
    return subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                           "--clear-groups", *cmd], capture_output=True,
                          timeout=60)


def read_as(uid, path):
    if uid == 0:
        with open(path, "rb") as f:
            return f.read()
    r = as_uid(uid, "cat", path)
    assert r.returncode == 0, r.stderr
    return r.stdout


def no_raw(data):
    leaked = [v for v in RAW if v in data]
    assert not leaked, leaked


def open_errno(path):
    with pytest.raises(OSError) as e:
        with open(path, "rb") as f:
            f.read()
    return e.value.errno


def rows(data):
    return [l.split(",") for l in data.decode().splitlines()]


# ---- finding 6: Lua ctx in column and row functions ----

def lua_sandbox(sandbox, policy, cols="      id: keep\n      country: keep\n"):
    s = sandbox("lua")
    s.write("people.csv", PEOPLE)
    pol = os.path.join(s.base, "p.lua")
    with open(pol, "w") as f:
        f.write(policy)
    s.write_config("source: @SRC@\ndatasets:\n  people.csv:\n    policy: %s\n"
                   "    columns:\n%s" % (pol, cols))
    s.mount()
    return s


@pytest.mark.parametrize("field", ["uid", "gid", "pid", "user", "groups"])
def test_lua_column_ctx_has_no_caller_identity(sandbox, field):
    """A column function branching on who reads never hands out raw values:
    the view is shared by the whole role, so ctx has no caller fields."""
    pol = ("columns = { email = function(v, r, ctx)\n"
           "  if ctx.%s ~= nil then return v end\n"
           "  return mask.hash(v) end }\n" % field)
    s = lua_sandbox(sandbox, pol)
    for uid in (0, 65534):
        data = read_as(uid, s.path("people.csv"))
        assert b"@corp.example" not in data, (uid, data)
        assert len(rows(data)) == 4


def test_lua_column_ctx_uid_zero_policy(sandbox):
    """The reviewer's policy: `if ctx.uid == 0 then return v end`."""
    pol = ("columns = { email = function(v, r, ctx)\n"
           "  if ctx.uid == 0 then return v end\n"
           "  return mask.hash(v) end }\n")
    s = lua_sandbox(sandbox, pol)
    for uid in (65534, 0):
        no_raw(read_as(uid, s.path("people.csv")))


def test_lua_row_ctx_has_no_uid(sandbox):
    """row(r, ctx) that lets root see every row: nobody sees the FR row."""
    pol = ("columns = { email = function(v) return mask.hash(v) end }\n"
           "function row(r, ctx) return ctx.uid == 0 or ctx.pid ~= nil "
           "or r.country == 'DE' end\n")
    s = lua_sandbox(sandbox, pol)
    for uid in (0, 65534):
        got = rows(read_as(uid, s.path("people.csv")))
        assert [r[3] for r in got[1:]] == ["DE", "DE"], (uid, got)


def test_lua_ctx_role_dataset_path_still_there(sandbox):
    pol = ("columns = { email = function(v, r, ctx)\n"
           "  return ctx.role .. '|' .. ctx.dataset .. '|' .. ctx.path end }\n")
    s = lua_sandbox(sandbox, pol)
    got = rows(read_as(65534, s.path("people.csv")))
    assert got[1][2] == "default|people.csv|people.csv", got


def test_lua_access_ctx_keeps_caller(sandbox):
    """access(ctx) decides per caller: it still gets uid."""
    pol = ("columns = { email = function(v) return mask.hash(v) end }\n"
           "function access(ctx) return ctx.uid ~= 65534 and ctx.pid ~= nil end\n")
    s = lua_sandbox(sandbox, pol)
    r = as_uid(65534, "cat", s.path("people.csv"))
    assert r.returncode != 0 and b"Permission denied" in r.stderr, r
    assert len(rows(read_as(0, s.path("people.csv")))) == 4


# ---- finding 7: unlisted columns, missing and near-miss rule names ----

def csv_sandbox(sandbox, header, rules, extra="", name="people.csv"):
    s = sandbox("csv")
    s.write(name, PEOPLE.replace("id,name,email,country,note", header, 1))
    s.write_config("source: @SRC@\n%sdatasets:\n  %s:\n    columns:\n%s"
                   % (extra, name, rules))
    return s


def test_unlisted_columns_served_as_null_csv(sandbox):
    s = csv_sandbox(sandbox, "id,name,email,country,note",
                    "      id: keep\n      email: hash\n")
    s.mount()
    got = rows(read_as(65534, s.path("people.csv")))
    assert got[0] == ["id", "name", "email", "country", "note"]
    for r in got[1:]:
        assert r[1] == r[3] == r[4] == "", r
        assert r[0] in ("1", "2", "3") and len(r[2]) == 16, r
    no_raw(read_as(0, s.path("people.csv")))


def test_unlisted_columns_keep_global_and_per_dataset(sandbox):
    s = sandbox("keep")
    s.write("a.csv", PEOPLE)
    s.write("b.csv", PEOPLE)
    s.write_config("source: @SRC@\nunlisted_columns: keep\ndatasets:\n"
                   "  a.csv:\n    columns:\n      email: hash\n"
                   "  b.csv:\n    unlisted_columns: redact\n"
                   "    columns:\n      email: hash\n")
    s.mount()
    a = rows(read_as(65534, s.path("a.csv")))
    b = rows(read_as(65534, s.path("b.csv")))
    assert a[1][1] == "Rawname Ann" and a[1][3] == "DE", a
    assert b[1][1] == "" and b[1][3] == "" and b[1][4] == "", b
    assert "@" not in a[1][2] and "@" not in b[1][2]


def test_unlisted_columns_bad_value_refused(sandbox):
    s = csv_sandbox(sandbox, "id,name,email,country,note", "      id: keep\n",
                    extra="unlisted_columns: show\n")
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 1 and "unlisted_columns must be redact or keep" in \
        r.stderr + r.stdout, r


@pytest.mark.parametrize("header,near", [
    ("id,name,Email,country,note", "Email"),
    ("id,name, email ,country,note", " email "),
    ("id,name,EMAIL,country,note", "EMAIL"),
])
def test_rule_near_miss_fails_closed(sandbox, header, near):
    """A header renamed under a rule: the view fails (EIO, audited), check
    exits 1 and suggests the real name; the raw column is never served."""
    s = csv_sandbox(sandbox, header, "      id: keep\n      email: hash\n",
                    extra="unlisted_columns: keep\n")
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "did you mean '%s'" % near in r.stdout, r.stdout
    assert "@corp.example" not in r.stdout + r.stderr
    s.mount()
    for uid in (0, 65534):
        if uid == 0:
            assert open_errno(s.path("people.csv")) == errno.EIO
        else:
            res = as_uid(uid, "cat", s.path("people.csv"))
            assert res.returncode != 0 and b"Input/output error" in res.stderr
            no_raw(res.stdout)
    assert "names no column of the data" in s.read_log()
    assert "@corp.example" not in s.read_log()


def test_rule_near_miss_is_audited_without_values(sandbox):
    s = csv_sandbox(sandbox, "id,name,Email,country,note",
                    "      id: keep\n      email: hash\n")
    s.mount()
    assert open_errno(s.path("people.csv")) == errno.EIO
    sid = None
    r = spotfs("list", "--json", "--all")
    for e in json.loads(r.stdout):
        if e.get("mountpoint") == os.path.realpath(s.mnt):
            sid = e["id"]
    assert sid, r.stdout
    r = spotfs("audit", "--sandbox", sid, "--json")
    assert r.returncode == 0, r.stderr
    opens = [json.loads(l) for l in r.stdout.splitlines()
             if "people.csv" in l and "names no column" in l]
    assert opens, r.stdout
    assert "@corp.example" not in r.stdout


@pytest.mark.parametrize("header", [
    "id,name,email,country,email",      # a second column of the same name
    '"id","name","email","country","note"',  # quoted header cells
    "\ufeffid,name,email,country,note",  # BOM before the first name
])
def test_hostile_headers_never_raw(sandbox, header):
    s = csv_sandbox(sandbox, header, "      id: keep\n      email: hash\n"
                    "      note: { method: null, optional: true }\n")
    s.mount()
    try:
        data = read_as(65534, s.path("people.csv"))
    except AssertionError:
        return  # refused: fine, nothing served
    no_raw(data)
    assert b"likes tea" not in data and b"DE" not in data


def test_misspelled_rule_fails_closed(sandbox):
    """The reviewer's `snn:` for `ssn`."""
    s = sandbox("snn")
    s.write("p.csv", "id,ssn\n1,123-45-6789\n")
    s.write_config("source: @SRC@\nunlisted_columns: keep\ndatasets:\n  p.csv:\n"
                   "    columns:\n      id: keep\n      snn: hash\n")
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 1 and "'snn'" in r.stdout, r.stdout
    s.mount()
    assert open_errno(s.path("p.csv")) == errno.EIO


def test_role_override_naming_missing_column_fails(sandbox):
    s = sandbox("ro")
    s.write("p.csv", PEOPLE)
    s.write_config("source: @SRC@\nroles:\n  nobody:\n    users: [65534]\n"
                   "datasets:\n  p.csv:\n    columns:\n      id: keep\n"
                   "      email: hash\n    roles:\n      nobody:\n        columns:\n"
                   "          Email: keep\n")
    s.mount()
    res = as_uid(65534, "cat", s.path("p.csv"))
    assert res.returncode != 0 and b"Input/output error" in res.stderr
    no_raw(res.stdout)
    assert len(rows(read_as(0, s.path("p.csv")))) == 4  # other roles fine


def test_optional_rule_may_be_missing(sandbox):
    s = csv_sandbox(sandbox, "id,name,Email,country,note",
                    "      id: keep\n      email: { method: hash, optional: true }\n"
                    "      phone: { method: null, optional: true }\n")
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 0, r.stdout + r.stderr
    s.mount()
    got = rows(read_as(65534, s.path("people.csv")))
    assert got[0][2] == "Email" and all(r[2] == "" for r in got[1:]), got
    no_raw(read_as(0, s.path("people.csv")))


def test_lua_column_counts_as_listed(sandbox):
    pol = "columns = { email = function(v) return mask.hash(v) end }\n"
    s = lua_sandbox(sandbox, pol, cols="      id: keep\n")
    got = rows(read_as(65534, s.path("people.csv")))
    assert len(got[1][2]) == 16 and got[1][0] == "1", got
    assert got[1][1] == got[1][3] == got[1][4] == "", got


def test_unlisted_redacted_as_parquet_form(sandbox):
    s = csv_sandbox(sandbox, "id,name,email,country,note",
                    "      id: keep\n      email: hash\n")
    with open(s.config, "a") as f:
        f.write("    as: [csv, parquet]\n")
    s.mount()
    data = read_as(65534, s.path("people.parquet"))
    assert data[:4] == b"PAR1"
    no_raw(data)
    assert b"likes tea" not in data and b"DE" not in data


def make_db(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE users (id INTEGER, name TEXT, email TEXT, country TEXT)")
    con.execute("CREATE TABLE orders (id INTEGER, email TEXT, card TEXT, amount REAL)")
    con.executemany("INSERT INTO users VALUES (?,?,?,?)",
                    [(1, "Rawname Ann", "ann.raw@corp.example", "DE"),
                     (2, "Rawname Bob", "bob.raw@corp.example", "FR")])
    con.executemany("INSERT INTO orders VALUES (?,?,?,?)",
                    [(1, "ann.raw@corp.example", "4111-1111-1111-1111", 9.5)])
    con.execute("CREATE VIEW de_users AS SELECT id, email, upper(name) AS big "
                "FROM users WHERE country = 'DE'")
    con.commit()
    con.close()


def sqlite_sandbox(sandbox, cfg, name="sq"):
    s = sandbox(name)
    make_db(os.path.join(s.src, "app.db"))
    s.write_config("source: @SRC@\ndatasets:\n  app.db:\n" + cfg)
    return s


def test_sqlite_unlisted_null_in_db_and_csv(sandbox):
    s = sqlite_sandbox(sandbox, "    columns:\n      email: hash\n"
                       "    tables:\n      users:\n        columns:\n"
                       "          id: keep\n      orders:\n        columns:\n"
                       "          amount: keep\n")
    s.mount()
    users = rows(read_as(65534, s.path("app/users.csv")))
    assert users[0] == ["id", "name", "email", "country"]
    assert all(r[1] == r[3] == "" and len(r[2]) == 16 for r in users[1:]), users
    data = read_as(65534, s.path("app.db"))
    for v in RAW + [b"4111-1111"]:
        assert v not in data, v
    tmp = os.path.join(s.base, "copy.db")
    with open(tmp, "wb") as f:
        f.write(data)
    con = sqlite3.connect(tmp)
    assert con.execute("SELECT count(*) FROM users WHERE name IS NOT NULL OR "
                       "country IS NOT NULL").fetchone()[0] == 0
    assert con.execute("SELECT card, amount FROM orders").fetchall() == [(None, 9.5)]
    con.close()


def test_sqlite_dataset_rule_needs_one_table(sandbox):
    """A dataset-wide rule applies to every table: missing from some tables
    is fine, missing from all is an error (with the near miss)."""
    ok = sqlite_sandbox(sandbox, "    unlisted_columns: keep\n    columns:\n"
                        "      card: hash\n    tables: [users, orders]\n")
    r = spotfs("check", "-c", ok.config)
    assert r.returncode == 0, r.stdout + r.stderr
    bad = sqlite_sandbox(sandbox, "    unlisted_columns: keep\n    columns:\n"
                         "      Card: hash\n    tables: [users, orders]\n", "sq2")
    r = spotfs("check", "-c", bad.config)
    assert r.returncode == 1 and "did you mean 'card'" in r.stdout, r.stdout
    bad.mount()
    assert open_errno(bad.path("app/orders.csv")) == errno.EIO
    assert open_errno(bad.path("app/users.csv")) == errno.EIO


def test_sqlite_table_rule_missing_fails(sandbox):
    s = sqlite_sandbox(sandbox, "    unlisted_columns: keep\n    tables:\n"
                       "      users:\n        columns:\n          mail: hash\n")
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 1 and "'mail'" in r.stdout, r.stdout
    s.mount()
    assert open_errno(s.path("app/users.csv")) == errno.EIO


def test_sqlite_view_output_computed_from_masked_tables(sandbox):
    """View columns are computed from the served (masked, redacted) tables;
    unlisted_columns applies to tables, not to view outputs."""
    s = sqlite_sandbox(sandbox, "    db_views: true\n    tables:\n      users:\n"
                       "        columns:\n          id: keep\n          email: hash\n"
                       "          country: keep\n")
    s.mount()
    got = rows(read_as(65534, s.path("app/de_users.csv")))
    assert got[0] == ["id", "email", "big"] and got[1][0] == "1", got
    assert len(got[1][1]) == 16 and got[1][2] == "", got  # name was redacted
    no_raw(read_as(65534, s.path("app/de_users.csv")))



def make_pq(tmp_path, path):
    duck(tmp_path, "COPY (SELECT i AS id, 'Rawname ' || i AS name, "
         "{'email': 'raw' || i || '@corp.example', 'city': 'Oslo'} AS contact, "
         "['tag' || i, 'x'] AS tags FROM range(50) t(i)) TO '%s' (FORMAT parquet)"
         % path)


@needs_duckdb
def test_parquet_unlisted_leaves_null(sandbox, tmp_path):
    s = sandbox("pq")
    make_pq(tmp_path, os.path.join(s.src, "p.parquet"))
    s.write_config("source: @SRC@\ndatasets:\n  p.parquet:\n    columns:\n"
                   "      id: keep\n      contact.email: hash\n")
    s.mount()
    data = read_as(65534, s.path("p.parquet"))
    assert b"@corp.example" not in data and b"Rawname" not in data
    assert b"Oslo" not in data and b"tag1" not in data
    got = duck(tmp_path, "SELECT id, name, contact.email, contact.city, tags "
               "FROM '%s' ORDER BY id LIMIT 2" % s.path("p.parquet"))
    assert got[0][0] == 0 and got[0][1] is None and got[0][3] is None, got
    assert len(got[0][2]) == 16, got
    assert got[0][4] in (None, [None, None], {"items": [None, None]}), got


@needs_duckdb
def test_parquet_leaf_named_by_wrong_path(sandbox, tmp_path):
    s = sandbox("pqbad")
    make_pq(tmp_path, os.path.join(s.src, "p.parquet"))
    s.write_config("source: @SRC@\nunlisted_columns: keep\ndatasets:\n"
                   "  p.parquet:\n    columns:\n      email: hash\n")
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 1 and "did you mean 'contact.email'" in r.stdout, r.stdout
    s.mount()
    assert open_errno(s.path("p.parquet")) == errno.EIO


# ---- finding 13: spotfs check covers what the mount serves ----

def check(s, *extra):
    r = spotfs("check", "-c", s.config, *extra)
    out = r.stdout + r.stderr
    for v in RAW + [b"555-201-1234", b"4111-1111", b"123-45-6789"]:
        assert v.decode() not in out, ("value in check output", v)
    return r.returncode, r.stdout


def test_check_strict_fails_on_kept_pii_csv(sandbox):
    s = csv_sandbox(sandbox, "id,name,email,country,note",
                    "      id: keep\n      email: keep\n      note: keep\n")
    rc, out = check(s)
    assert rc == 0, out
    assert "column 'email' is named like e-mail addresses" in out, out
    assert "column 'email' holds values that look like email" in out, out
    assert "column 'note' holds values that look like phone" in out, out
    assert "unlisted: people.csv: column 'name'" in out, out
    assert "served as NULL" in out
    rc, out = check(s, "--strict")
    assert rc == 1, out


def test_check_clean_config_passes_strict(sandbox):
    s = csv_sandbox(sandbox, "id,name,email,country,note",
                    "      id: keep\n      email: hash\n      country: keep\n"
                    "      name: redact\n      note: { method: pii }\n")
    rc, out = check(s, "--strict")
    assert rc == 0, out
    assert "0 errors, 0 warnings" in out, out


def test_check_warns_unlisted_kept_raw(sandbox):
    s = csv_sandbox(sandbox, "id,name,email,country,note",
                    "      id: keep\n      email: hash\n",
                    extra="unlisted_columns: keep\n")
    rc, out = check(s)
    assert rc == 0 and "column 'country' is named by no rule and is served raw" \
        in out, out
    assert check(s, "--strict")[0] == 1


def test_check_warns_near_miss_of_optional_rule(sandbox):
    s = csv_sandbox(sandbox, "id,name,Email,country,note",
                    "      id: keep\n      email: { method: hash, optional: true }\n")
    rc, out = check(s)
    assert rc == 0 and "column 'Email' nearly matches the rule 'email'" in out, out
    assert check(s, "--strict")[0] == 1


def test_check_warns_near_miss_of_lua_column(sandbox):
    """columns.email of a policy does not mask a column named Email: that
    column is unlisted (redacted), and check says why."""
    pol = "columns = { email = function(v) return mask.hash(v) end }\n"
    s = sandbox("luanear")
    s.write("people.csv", PEOPLE.replace("email", "Email", 1))
    with open(os.path.join(s.base, "p.lua"), "w") as f:
        f.write(pol)
    s.write_config("source: @SRC@\ndatasets:\n  people.csv:\n    policy: %s\n"
                   "    columns:\n      id: keep\n" % os.path.join(s.base, "p.lua"))
    rc, out = check(s)
    assert rc == 0 and "column 'Email' nearly matches the rule 'email'" in out, out
    assert check(s, "--strict")[0] == 1


def test_check_warns_sqlite_tables_and_views(sandbox):
    s = sqlite_sandbox(sandbox, "    unlisted_columns: keep\n    db_views: true\n"
                       "    tables:\n      users:\n        columns:\n"
                       "          email: keep\n      orders:\n        columns:\n"
                       "          email: hash\n          card: hash\n")
    rc, out = check(s)
    assert rc == 0, out
    assert "app.db/users: column 'email' holds values that look like email" in out, out
    assert "app.db/de_users: column 'email' holds values that look like email" \
        in out, out
    assert "(a view's output)" in out
    assert "app.db/orders: column 'card'" not in out, out
    assert check(s, "--strict")[0] == 1


def test_check_warns_passthrough_pii(sandbox):
    s = sandbox("pass")
    s.write("people.csv", PEOPLE)
    s.write("notes/todo.txt", "call Bob at 555-201-1234 tomorrow\n")
    s.write("notes/clean.txt", "nothing personal here\n")
    s.write("stray.db", b"SQLite format 3\0" + b"\0" * 100)
    os.symlink("/etc/shadow", os.path.join(s.src, "shadow.txt"))
    os.mkfifo(os.path.join(s.src, "pipe.txt"))
    s.write_config("source: @SRC@\ndefault: show\ndatasets:\n  people.csv:\n"
                   "    columns:\n      id: keep\n      email: hash\n")
    rc, out = check(s)
    assert rc == 0, out
    assert "notes/todo.txt: passthrough file holds text that looks like phone" \
        in out, out
    assert "clean.txt" not in out
    # A symlink or FIFO is never opened, only listed as hidden.
    assert "shadow.txt: hidden: symlink" in out and "pipe.txt: hidden: fifo" in out
    assert not [l for l in out.splitlines()
                if ("shadow" in l or "pipe" in l) and "hidden:" not in l], out
    assert "stray.db: a SQLite file the config does not name" in out, out
    assert check(s, "--strict")[0] == 1
    hidden = s.config.replace(".yaml", "-h.yaml")
    with open(s.config) as f, open(hidden, "w") as g:
        g.write(f.read().replace("default: show", "default: hide"))
    r = spotfs("check", "--strict", "-c", hidden)
    assert r.returncode == 0 and "todo.txt" not in r.stdout, r.stdout


@needs_duckdb
def test_check_warns_parquet_leaves(sandbox, tmp_path):
    s = sandbox("pqc")
    make_pq(tmp_path, os.path.join(s.src, "p.parquet"))
    s.write_config("source: @SRC@\ndatasets:\n  p.parquet:\n    columns:\n"
                   "      id: keep\n      contact.email: keep\n      name: hash\n")
    rc, out = check(s)
    assert rc == 0, out
    assert "p.parquet: column 'contact.email' holds values that look like email" \
        in out, out
    assert "unlisted: p.parquet: column 'contact.city'" in out, out
    assert check(s, "--strict")[0] == 1


# ---- round 2: names are (ptr, len); check never prints a value ----

DIAG = ["DIAG-HIV-%03d" % i for i in range(1, 4)]


def nul_csv(header):
    return header + "\n" + "".join("%d,%s\n" % (i, v)
                                   for i, v in enumerate(DIAG, 1))


@pytest.mark.parametrize("header", ["id,id\0diagnosis", "id,id\0",
                                    "id,\0id", "id,id\0id"])
@pytest.mark.parametrize("forms", ["", "    as: [csv, parquet]\n"])
def test_nul_in_column_name_never_matches_a_rule(sandbox, header, forms):
    """A header name with a NUL byte is not the name before the NUL: no
    rule names it, so it is unlisted (NULL), in the file and its forms."""
    s = sandbox("nul")
    s.write("a.csv", nul_csv(header))
    s.write_config("source: @SRC@\ndatasets:\n  a.csv:\n%s    columns:\n"
                   "      id: keep\n" % forms)
    s.mount()
    names = os.listdir(s.mnt)
    assert "a.csv" in names, names
    for n in names:
        if n == ".spotfs":  # the manifest folder (test_manifest.py)
            continue
        data = read_as(65534, s.path(n))
        assert not [v for v in DIAG if v.encode() in data], (n, data)
    got = rows(read_as(65534, s.path("a.csv")))
    assert got[1] == ["1", ""], got


def test_nul_in_column_name_never_matches_a_lua_column(sandbox):
    """columns.id of a policy does not apply to a column 'id\\0diagnosis'."""
    s = sandbox("nullua")
    s.write("a.csv", nul_csv("id,id\0diagnosis"))
    pol = os.path.join(s.base, "p.lua")
    with open(pol, "w") as f:
        f.write("columns = { id = function(v) return v end }\n")
    s.write_config("source: @SRC@\ndatasets:\n  a.csv:\n    policy: %s\n"
                   "    columns:\n      note: { method: hash, optional: true }\n"
                   % pol)
    s.mount()
    data = read_as(65534, s.path("a.csv"))
    assert not [v for v in DIAG if v.encode() in data], data
    assert rows(data)[1] == ["1", ""], data


def test_check_strict_fails_on_nul_in_column_name(sandbox):
    s = sandbox("nulchk")
    s.write("a.csv", nul_csv("id,id\0diagnosis"))
    s.write_config("source: @SRC@\ndatasets:\n  a.csv:\n    columns:\n"
                   "      id: keep\n")
    rc, out = check(s, "--strict")
    assert rc == 1, out
    assert "column 2 (1-based) has a name with a NUL byte" in out, out
    assert "DIAG-HIV" not in out


@needs_duckdb
def test_parquet_nul_in_leaf_name_never_matches_a_rule(sandbox, tmp_path):
    s = sandbox("pqnul")
    p = os.path.join(s.src, "a.parquet")
    vals = ",".join("(%d,'%s')" % (i, v) for i, v in enumerate(DIAG, 1))
    duck(tmp_path, "COPY (SELECT * FROM (VALUES %s) t(id, idXdiag)) TO '%s' "
         "(FORMAT parquet, COMPRESSION uncompressed)" % (vals, p))
    with open(p, "rb") as f:
        b = f.read()
    with open(p, "wb") as f:
        f.write(b.replace(b"idXdiag", b"id\0diag"))
    s.write_config("source: @SRC@\ndatasets:\n  a.parquet:\n"
                   "    as: [parquet, csv]\n    columns:\n      id: keep\n")
    rc, out = check(s, "--strict")
    assert rc == 1 and "DIAG-HIV" not in out, out
    s.mount()
    for n in ("a.parquet", "a.csv"):
        data = read_as(65534, s.path(n))
        assert b"DIAG-HIV" not in data, (n, data)
    got = duck(tmp_path, "SELECT * FROM '%s' ORDER BY 1" % s.path("a.parquet"))
    assert got[0] == [1, None], got


@pytest.mark.parametrize("data,kind", [
    ("1,alice@corp.example,123-45-6789\n2,bob@corp.example,987-65-4321\n",
     "email"),
    ("7,x,+1 555-201-1234\n8,y,+1 555-201-9999\n", "phone"),
], ids=["email", "phone"])
def test_headerless_csv_is_refused_not_served(sandbox, data, kind):
    """The first data row of a headerless CSV would be read as the header
    and served as it is: a name that looks like personal data fails the
    view closed (EIO; check exits 1 even without --strict), and no message
    prints the name (it is a value)."""
    s = sandbox("nohdr")
    s.write("a.csv", data)
    s.write_config("source: @SRC@\ndatasets:\n  a.csv:\n    columns:\n"
                   "      email: { method: hash, optional: true }\n")
    rc, out = check(s)
    assert rc == 1, out
    assert "a name that looks like" in out and "is the header missing?" \
        in out, out
    first = data.splitlines()[0].split(",")
    for v in first[1:] if kind == "email" else first[2:]:
        assert v not in out, (v, out)
    if kind == "email":
        assert "columns 2, 3 (1-based) have a name that looks like" in out, out
    s.mount()
    assert open_errno(s.path("a.csv")) == errno.EIO
    s.unmount()
    log = open(s.log, "rb").read()
    for v in first[1:] if kind == "email" else first[2:]:
        assert v.encode() not in log, v


def test_pii_like_names_fail_closed_even_when_kept(sandbox):
    """unlisted_columns: keep, a near-miss and a duplicate: the view is
    still refused (the names are values), and every message names the
    columns by number."""
    s = sandbox("nohdrkeep")
    s.write("a.csv", "1,alice@corp.example,alice@corp.example,Email\n"
            "2,bob@corp.example,bob@corp.example,x\n")
    s.write_config("source: @SRC@\nunlisted_columns: keep\ndatasets:\n"
                   "  a.csv:\n    columns:\n"
                   "      email: { method: hash, optional: true }\n")
    rc, out = check(s, "--strict")
    assert rc == 1, out
    assert "alice" not in out, out
    assert "columns 2, 3 (1-based)" in out, out
    s.mount()
    assert open_errno(s.path("a.csv")) == errno.EIO
    s.unmount()
    assert b"alice" not in open(s.log, "rb").read()


@pytest.mark.parametrize("name,data", [
    ("utf16.csv", "\ufeffid,email\n1,john7@example.com\n".encode("utf-16-le")),
    ("utf16nobom.csv", "id,email\n1,john7@example.com\n".encode("utf-16-le")),
    ("export.csv.gz", None),
    ("nul_first.csv", b"id\0,email\n1,john7@example.com\n"),
    ("blob.bin", bytes(range(1, 32)) * 40),
], ids=["utf16", "utf16nobom", "gz", "nul", "ctl"])
def test_check_warns_passthrough_not_scanned(sandbox, name, data):
    """default: show serves a file check cannot read as text raw: check
    says so (strict fails) instead of an all-clear."""
    import gzip
    if data is None:
        data = gzip.compress(b"id,email\n1,john7@example.com\n")
    s = sandbox("passbin")
    s.write("masked.csv", PEOPLE)
    s.write(name, data)
    s.write_config("source: @SRC@\ndefault: show\ndatasets:\n  masked.csv:\n"
                   "    columns:\n      id: keep\n      email: hash\n"
                   "      name: hash\n      country: keep\n"
                   "      note: { method: pii }\n")
    rc, out = check(s, "--strict")
    assert rc == 1, out
    assert "%s: passthrough file served raw, not scanned (binary/compressed)" \
        % name in out, out
    assert "john7" not in out


def test_check_passthrough_scan_is_a_sample(sandbox):
    s = sandbox("passlate")
    s.write("late.csv", "id,email\n" + "1,x\n" * 2100 + "9,john7@example.com\n")
    s.write_config("source: @SRC@\ndefault: show\ndatasets: {}\n")
    rc, out = check(s)
    assert "late.csv: passthrough file scanned only in its first" in out, out
    assert "john7" not in out


def test_check_warns_duplicate_column_names(sandbox):
    """A rule applies to every column of its name: check says so."""
    s = sandbox("dup")
    s.write("a.csv", "id,diagnosis,id\n" + "".join(
        "%d,DIAGSECRET%d,PATIENTREF%d\n" % (i, i, i) for i in range(5)))
    s.write_config("source: @SRC@\ndatasets:\n  a.csv:\n    columns:\n"
                   "      id: keep\n")
    rc, out = check(s, "--strict")
    assert rc == 1, out
    assert "a.csv: column name 'id' appears 2 times: the rule applies to each" \
        in out, out
    assert "PATIENTREF" not in out and "DIAGSECRET" not in out


@needs_duckdb
@pytest.mark.parametrize("rule", ["a.b: keep", "a.b: hash", "id: keep"])
def test_parquet_dotted_name_collision_fails_closed(sandbox, tmp_path, rule):
    """A top-level column named 'a.b' and the leaf b of a struct a share
    the name 'a.b': no rule can say which, so the view fails (EIO)."""
    s = sandbox("pqdot")
    duck(tmp_path, "COPY (SELECT i AS id, {'b': 'city' || (i%%3)} AS a, "
         "'DOTSECRET' || i AS \"a.b\" FROM range(10) r(i)) TO '%s' "
         "(FORMAT parquet, COMPRESSION uncompressed)"
         % os.path.join(s.src, "b.parquet"))
    s.write_config("source: @SRC@\nunlisted_columns: keep\ndatasets:\n"
                   "  b.parquet:\n    as: [parquet, csv]\n    columns:\n"
                   "      %s\n" % rule)
    rc, out = check(s)
    assert rc == 1 and "appears 2 times" in out, out
    assert "DOTSECRET" not in out
    s.mount()
    for n in ("b.parquet", "b.csv"):
        assert open_errno(s.path(n)) == errno.EIO
    assert "DOTSECRET" not in s.read_log()


@pytest.mark.parametrize("table_rule", ["keep", "{ method: keep }",
                                        "{ method: hash }"])
def test_dataset_role_override_beats_a_table_rule(sandbox, table_rule):
    """A role override at the dataset level is the steward's word for that
    role in every table: a table's default rule (keep) never serves the
    column raw to the role the override masks (it did: found by the
    attacker round)."""
    s = sandbox("rovr")
    os.makedirs(s.src, exist_ok=True)
    con = sqlite3.connect(os.path.join(s.src, "crm.db"))
    con.execute("create table users(id integer, city text)")
    con.executemany("insert into users values(?, ?)",
                    [(1, "RAWCITY1"), (2, "RAWCITY2")])
    con.commit()
    con.close()
    s.write_config("source: @SRC@\nroles:\n  ra: { users: [1234] }\n"
                   "datasets:\n  crm.db:\n    tables:\n"
                   "      users: { columns: { id: keep, city: %s } }\n"
                   "    roles:\n      ra: { columns: { city: redact } }\n"
                   % table_rule)
    s.mount()
    r = as_uid(1234, "cat", s.path("crm/users.csv"))
    assert r.returncode == 0, r.stderr
    assert b"RAWCITY" not in r.stdout and r.stdout.startswith(b"id,city")
    r = as_uid(1234, "cat", s.path("crm.db"))
    assert r.returncode == 0 and b"RAWCITY" not in r.stdout
    # Other roles keep the table's rule.
    other = open(s.path("crm/users.csv"), "rb").read()
    assert (b"RAWCITY1" in other) == (table_rule != "{ method: hash }")

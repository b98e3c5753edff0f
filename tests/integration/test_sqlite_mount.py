# SPDX-License-Identifier: LGPL-2.1-or-later
"""SQLite sources through a real mount: one CSV per table and view in a
folder, and the masked database itself, read by sqlite3 and pandas."""
import errno
import hashlib
import os
import sqlite3
import subprocess

import pytest

from conftest import spotfs

CONFIG = """
source: @SRC@
default: hide
datasets:
  crm.db:
    db_views: true
    tables:
      users:
        columns:
          email: { method: hash }
          name:  { method: redact }
          id: keep
          country: keep
          active: keep
          score: keep
          avatar: keep
          note: keep
      orders:
        columns:
          card: { method: partial, keep_last: 4 }
          id: keep
          amount: keep
    views:
      active_de: SELECT id, email, score FROM users WHERE country = 'DE' AND active = 1
      broken: SELECT nope FROM missing_table
  app.sqlite:
    columns:
      secret: { method: null }
      k: keep
"""


def make_db(path, wal=False):
    con = sqlite3.connect(path)
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT,"
                " country TEXT, active INTEGER, score REAL, avatar BLOB, note TEXT)")
    con.execute("CREATE INDEX users_email ON users(email)")
    for i in range(300):
        con.execute("INSERT INTO users VALUES (?,?,?,?,?,?,?,?)",
                    (i, "Rawname%03d" % i, "raw%03d@sqlite.example" % i,
                     ["DE", "FR"][i % 2], i % 3 != 0, i / 7.0,
                     bytes([i % 256, 0, 255]), None if i % 5 == 0 else "n%d" % i))
    con.execute("CREATE TABLE orders (id INTEGER, card TEXT, amount REAL)")
    con.executemany("INSERT INTO orders VALUES (?,?,?)",
                    [(i, "4111-1111-1111-%04d" % i, i * 1.5) for i in range(50)])
    con.execute("CREATE VIEW fr_users AS SELECT id, email FROM users WHERE country = 'FR'")
    con.execute("ANALYZE")
    con.commit()
    # Leave freed pages behind: raw values in the freelist of the source.
    con.execute("CREATE TABLE scratch (v TEXT)")
    con.executemany("INSERT INTO scratch VALUES (?)", [("rawscratch%04d" % i,) for i in range(500)])
    con.commit()
    con.execute("DROP TABLE scratch")
    con.commit()
    con.close()


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def sq(sandbox):
    s = sandbox("sq")
    make_db(os.path.join(s.src, "crm.db"))
    con = sqlite3.connect(os.path.join(s.src, "app.sqlite"))
    con.execute("CREATE TABLE t (k INTEGER, secret TEXT)")
    con.execute("INSERT INTO t VALUES (1, 'rawsecret-app')")
    con.commit()
    con.close()
    s.write_config(CONFIG)
    s.digests = {f: digest(os.path.join(s.src, f)) for f in os.listdir(s.src)}
    s.mount()
    yield s
    s.unmount()
    assert sorted(os.listdir(s.src)) == ["app.sqlite", "crm.db"], "no -wal/-shm beside the source"
    assert {f: digest(os.path.join(s.src, f)) for f in os.listdir(s.src)} == s.digests


def test_layout(sq):
    assert sorted(os.listdir(sq.mnt)) == [".spotfs", "app", "app.sqlite",
                                          "crm", "crm.db"]
    assert sorted(os.listdir(sq.path("crm"))) == [
        "active_de.csv", "broken.csv", "fr_users.csv", "orders.csv", "users.csv"]
    assert os.listdir(sq.path("app")) == ["t.csv"]


def test_sqlite3_reads_masked_database(sq):
    r = subprocess.run(["sqlite3", "-readonly", sq.path("crm.db"),
                        "select count(*), sum(active), typeof(id), typeof(score),"
                        " typeof(avatar) from users"],
                       capture_output=True, text=True, timeout=60)
    # The broken view makes the whole database fail closed.
    assert r.returncode != 0


def test_pandas_reads_csv_and_types(sq):
    code = (
        "import pandas as pd, sys\n"
        "u = pd.read_csv(sys.argv[1] + '/crm/users.csv')\n"
        "assert u.shape == (300, 8), u.shape\n"
        "assert u['id'].dtype.kind == 'i' and u['score'].dtype.kind == 'f'\n"
        "assert (u['name'] == '[REDACTED]').all()\n"
        "assert u['note'].isna().sum() == 60\n"
        "assert u['avatar'][1] == '0100ff', u['avatar'][1]\n"
        "assert abs(u['score'][3] - 3/7.0) < 1e-12\n"
        "a = pd.read_csv(sys.argv[1] + '/crm/active_de.csv')\n"
        "assert list(a.columns) == ['id', 'email', 'score'] and len(a) == 100, a.shape\n"
        "print('ok')\n")
    r = subprocess.run(["/usr/bin/python3", "-c", code, sq.mnt], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_broken_view_is_eio_and_check_says_why(sq):
    with pytest.raises(OSError) as e:
        open(sq.path("crm/broken.csv"), "rb").read()
    assert e.value.errno == errno.EIO
    r = spotfs("check", "-c", sq.config)
    assert r.returncode == 1 and "broken" in r.stdout + r.stderr, r.stdout + r.stderr


def test_no_raw_value_in_served_bytes(sq):
    blob = b""
    for dirpath, _, files in os.walk(sq.mnt):
        for f in files:
            try:
                blob += open(os.path.join(dirpath, f), "rb").read()
            except OSError as e:
                assert e.errno == errno.EIO
    assert b"@sqlite.example" not in blob and b"Rawname" not in blob
    assert b"rawsecret-app" not in blob
    assert b"rawscratch" not in blob
    assert b"4111-1111-1111" not in blob
    assert b"************0007" in blob


def test_masked_database_without_broken_view(sandbox):
    s = sandbox("sq2")
    make_db(os.path.join(s.src, "crm.db"), wal=True)
    s.write_config("source: @SRC@\ndatasets:\n  crm.db:\n    db_views: true\n"
                   "    columns:\n      email: { method: hash }\n      name: { method: redact }\n"
                   "      card: { method: partial, keep_last: 4 }\n"
                   "      id: keep\n      active: keep\n      score: keep\n"
                   "      avatar: keep\n      country: keep\n      note: keep\n"
                   "      amount: keep\n")
    before = digest(os.path.join(s.src, "crm.db"))
    s.mount()
    db = s.path("crm.db")
    r = subprocess.run(["sqlite3", "-readonly", db,
                        "select count(*), sum(active), typeof(id), typeof(score), "
                        "typeof(avatar), hex(avatar) from users where id = 1"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1|1|integer|real|blob|0100FF"
    r = subprocess.run(["sqlite3", "-readonly", db, "select count(*) from users"],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "300"
    code = ("import pandas as pd, sqlite3, sys\n"
            "con = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\n"
            "df = pd.read_sql('select * from users', con)\n"
            "o = pd.read_sql('select * from orders', con)\n"
            "v = pd.read_sql('select * from fr_users', con)\n"
            "assert df.shape == (300, 8) and o.shape == (50, 3) and v.shape == (150, 2)\n"
            "assert not df['email'].str.contains('@').any()\n"
            "print('ok')\n")
    r = subprocess.run(["/usr/bin/python3", "-c", code, db], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr
    data = open(db, "rb").read()
    assert data[18:20] == b"\x01\x01", "legacy (non-WAL) header"
    assert int.from_bytes(data[36:40], "big") == 0, "no freelist pages"
    assert b"@sqlite.example" not in data and b"rawscratch" not in data
    assert b"Rawname" not in data and b"sqlite_stat1" not in data
    s.unmount()
    assert sorted(os.listdir(s.src)) == ["crm.db"]
    assert digest(os.path.join(s.src, "crm.db")) == before

# SPDX-License-Identifier: LGPL-2.1-or-later
"""The served .db names each column's type by a type name, never by the
source's declared-type text: a declared type is any words the schema's
author wrote, so it can hold data ("alice smith example com")."""
import os
import sqlite3

import pytest


def served_types(s, db="t.db", table="t"):
    c = sqlite3.connect("file:%s?mode=ro" % s.path(db), uri=True)
    try:
        return [r[2] for r in c.execute("PRAGMA table_info(%s)" % table)]
    finally:
        c.close()


@pytest.mark.parametrize("decl,want", [
    ("alice smith example com", "NUMERIC"),
    ("john doe", "NUMERIC"),
    ("VARCHAR(255)", "VARCHAR(255)"),
    ("unsigned big int", "unsigned big int"),
    ("DECIMAL(10, 2)", "DECIMAL(10, 2)"),
    ("double precision", "double precision"),
    ("text alice", "TEXT"),
    ("int secret", "INTEGER"),
    ("BLOB", "BLOB"),
    ("DATETIME", "DATETIME"),
])
def test_declared_types_are_type_names_only(sandbox, decl, want):
    s = sandbox()
    p = os.path.join(s.src, "t.db")
    c = sqlite3.connect(p)
    c.execute('create table t(id integer, v %s)' % decl)
    c.execute("insert into t values (1, 'x')")
    c.commit()
    c.close()
    s.write_config("source: @SRC@\ndatasets:\n  t.db:\n"
                   "    unlisted_columns: keep\n")
    s.mount()
    types = served_types(s)
    assert types[1] == want, types
    with open(s.path("t.db"), "rb") as f:
        data = f.read()
    for w in ("alice", "smith", "john", "secret"):
        assert w.encode() not in data

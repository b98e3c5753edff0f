# SPDX-License-Identifier: LGPL-2.1-or-later
"""spotfs scan: a folder of data to a starter config that never holds a
value, passes check --strict, mounts as is and serves no raw value of a
column it flagged; hostile files get a line each and do not stop it."""
import json
import os
import sqlite3

import pytest

from conftest import HAVE_DUCKDB, duck, spotfs

# Distinctive planted values: none may appear in what scan writes, and none
# of a flagged column in any byte the mount serves.
ROWS = [
    # first, last, email, ssn, card, phone, iban, dob, zip, note, ip
    ("Zorbinaxa", "Quaxleyfor", "zorbina.quaxley@example.org", "219-09-9999",
     "4111111111111111", "+1 415 555 0142", "DE89370400440532013000",
     "1980-04-03", "94107", "Call her at zq.private@example.net quickzz",
     "203.0.113.77"),
    ("Olafurina", "Brennerox", "olaf.brenner@example.com", "078-05-1120",
     "5500000000000004", "+1 212 555 0199", "GB82WEST12345698765432",
     "1975-12-30", "10115", "Plorbus vexquan drimble snorfle",
     "198.51.100.23"),
]
HEADER = ["id", "vorname", "nachname", "correo", "ssn", "kreditkarte",
          "telefono", "iban", "date_de_naissance", "zip", "notes",
          "client_ip", "colour"]


def csv_text():
    lines = [",".join(HEADER)]
    for i, r in enumerate(ROWS):
        lines.append(",".join([str(i + 1), *r, "blue"]))
    return "\n".join(lines) + "\n"


def planted():
    """Every planted value with the column it sits in. Of the free text,
    the personal data in it (pii serves the rest of the text)."""
    out = []
    for r in ROWS:
        for col, v in zip(HEADER[1:-1], r):
            if col != "notes":
                out.append((col, v))
    out.append(("notes", "zq.private@example.net"))
    return out


def build_folder(s, tmp_path):
    s.write("people.csv", csv_text())
    s.write("sub/people2.csv", csv_text())
    db = os.path.join(s.src, "crm.db")
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE clientes (id INTEGER PRIMARY KEY, nombre TEXT,"
                " correo TEXT, fecha_nacimiento TEXT, sexo TEXT)")
    for i, r in enumerate(ROWS):
        con.execute("INSERT INTO clientes VALUES (?,?,?,?,?)",
                    (i + 1, r[0] + " " + r[1], r[2], r[7], "F"))
    con.execute('CREATE TABLE "zq.table@example.org" (x TEXT)')
    con.commit()
    con.close()
    # Hostile entries: each left out with a line, none stops the scan.
    s.write("broken.csv", "a,b\n1,2\n3\n")
    s.write("noheader.csv", "secret.person@example.org,x\n1,2\n")
    outside = os.path.join(str(tmp_path), "outside.csv")
    with open(outside, "w") as f:
        f.write("name,email\nOutsideperson,outside.only@example.org\n")
    os.symlink(outside, os.path.join(s.src, "link.csv"))
    outdir = os.path.join(str(tmp_path), "outside-dir")
    os.makedirs(outdir)
    with open(os.path.join(outdir, "far.csv"), "w") as f:
        f.write("name,email\nFarawayperson,far.away@example.org\n")
    os.symlink(outdir, os.path.join(s.src, "linkdir"))
    os.mkfifo(os.path.join(s.src, "pipe.csv"))
    s.write("notes.txt", "Zorbinaxa's diary\n")
    s.write("corrupt.parquet", b"PAR1garbagegarbagePAR1")
    s.write("zq.filename@example.org.csv", "id\n1\n")
    s.write("by-customer/4111 1111 1111 1111/orders.csv", "id\n1\n")
    s.write("corrupt.db", b"SQLite format 3\0garbagegarbagegarbage")


def scan(*args, timeout=120):
    return spotfs("scan", *args, timeout=timeout)


def test_scan_writes_a_config_that_mounts_and_masks(sandbox, tmp_path):
    s = sandbox()
    build_folder(s, tmp_path)
    r = scan(s.src, "-o", s.config)
    assert r.returncode == 0, r.stderr
    cfg = open(s.config).read()
    j = scan(s.src, "--json")
    assert j.returncode == 0, j.stderr
    found = json.loads(j.stdout)

    # A line per hostile file, naming the file, never a value.
    for name, why in (("broken.csv", "line 3"), ("noheader.csv", "header"),
                      ("link.csv", "symlink"), ("pipe.csv", "fifo"),
                      ("linkdir", "symlink"),
                      ("(a path withheld)", "personal data"),
                      ("crm.db", "a table whose name looks like"),
                      ("corrupt.parquet", "parquet"),
                      ("corrupt.db", "SQLite")):
        assert any(name in l and why in l for l in r.stderr.splitlines()), \
            (name, r.stderr)
    # No value, planted or from the hostile files, in anything scan wrote.
    written = cfg + j.stdout + r.stderr + j.stderr
    for _, v in planted() + [("notes", row[9]) for row in ROWS] + [
                             ("", "secret.person@example.org"),
                             ("", "outside.only@example.org"),
                             ("", "Outsideperson"), ("", "diary"),
                             ("", "Farawayperson"), ("", "far.csv"),
                             ("", "zq.filename"), ("", "4111 1111"),
                             ("", "zq.table")]:
        assert v not in written, v
        for part in v.split():
            if len(part) > 5:
                assert part not in written, part

    # Every column is listed with a rule and a reason.
    assert '"people.csv":' in cfg and '"sub/people2.csv":' in cfg
    assert '"crm.db":' in cfg and '"clientes":' in cfg
    assert '"link.csv"' not in cfg.split("# Left out")[0]
    rules = {}
    for d in found["datasets"]:
        for t in d["tables"]:
            for c in t["columns"]:
                rules[(d["name"], t["name"], c["name"])] = c
    p = lambda c: rules[("people.csv", None, c)]
    assert p("vorname")["rule"] == "{ method: fake, kind: first_name }"
    assert p("nachname")["rule"] == "{ method: fake, kind: last_name }"
    assert p("correo")["rule"] == "{ method: email }"
    assert p("ssn")["rule"].startswith("{ method: mask")
    assert p("kreditkarte")["rule"].startswith("{ method: partial")
    assert "fpe" in p("kreditkarte")["why"]
    assert p("telefono")["rule"] == "{ method: fake, kind: phone }"
    assert p("iban")["rule"].startswith("{ method: partial")
    assert p("date_de_naissance")["rule"] == "{ method: generalize, to: year }"
    assert p("zip")["rule"].startswith("{ method: generalize, to: prefix")
    assert p("notes")["rule"] == "{ method: pii }"
    assert "50% e-mail" in p("notes")["why"]
    assert p("client_ip")["rule"] == "{ method: hash }"
    assert p("colour")["keep"] and p("id")["keep"]
    c = lambda col: rules[("crm.db", "clientes", col)]
    assert c("nombre")["rule"] == "{ method: fake, kind: name }"
    assert c("fecha_nacimiento")["rule"] == "{ method: generalize, to: year }"
    for line in cfg.splitlines():
        if line.strip().startswith('"') and line.rstrip().endswith(":") is False:
            assert "  # " in line, line  # every column rule says why

    # check --strict passes on it as written.
    chk = spotfs("check", "--strict", "-c", s.config)
    assert chk.returncode == 0, chk.stdout + chk.stderr

    # Mounted as is: no served byte holds a raw value of a flagged column.
    flagged = {col for (ds, _, col), c in rules.items() if not c["keep"]}
    s.mount()
    try:
        served = b""
        names = []
        for dirpath, _, files in os.walk(s.mnt):
            for f in files:
                names.append(os.path.relpath(os.path.join(dirpath, f), s.mnt))
                with open(os.path.join(dirpath, f), "rb") as fh:
                    served += fh.read()
        assert "people.csv" in names and "crm.db" in names, names
        assert "broken.csv" not in names and "link.csv" not in names
        for col, v in planted():
            if col in flagged:
                assert v.encode() not in served, (col, v)
        # Kept columns are served (the mount is not just empty).
        assert b"blue" in served
    finally:
        s.unmount()
    s.assert_clean_log()


@pytest.mark.skipif(not HAVE_DUCKDB, reason="needs DuckDB for Node")
def test_scan_parquet_leaves(sandbox, tmp_path):
    s = sandbox()
    csv = os.path.join(str(tmp_path), "p.csv")
    with open(csv, "w") as f:
        f.write(csv_text())
    duck(tmp_path, "COPY (SELECT *, [colour, 'x'] AS tags FROM read_csv('%s', "
         "all_varchar=true)) TO '%s' (FORMAT parquet)"
         % (csv, os.path.join(s.src, "people.parquet")))
    r = scan(s.src, "-o", s.config)
    assert r.returncode == 0, r.stderr
    cfg = open(s.config).read()
    assert '"correo": { method: email }' in cfg, cfg
    # A list leaf reads as NULL: nothing to judge by, served as NULL.
    assert '"tags.list.element": { method: null }' in cfg, cfg
    for _, v in planted():
        assert v not in cfg
    chk = spotfs("check", "--strict", "-c", s.config)
    assert chk.returncode == 0, chk.stdout + chk.stderr


def test_scan_refuses_to_overwrite_and_bad_input(sandbox, tmp_path):
    s = sandbox()
    s.write("a.csv", "id,email\n1,zz.top@example.org\n")
    with open(s.config, "w") as f:
        f.write("keep me\n")
    r = scan(s.src, "-o", s.config)
    assert r.returncode == 1 and "--force" in r.stderr, r.stderr
    assert open(s.config).read() == "keep me\n"
    r = scan(s.src, "-o", s.config, "--force")
    assert r.returncode == 0, r.stderr
    assert '"email": { method: email }' in open(s.config).read()
    assert scan(s.src, "--rows", "0").returncode == 2
    assert scan(s.src, "--rows", "x").returncode == 2
    assert scan().returncode == 2
    r = scan(os.path.join(str(tmp_path), "missing"))
    assert r.returncode == 1 and "cannot open" in r.stderr
    # --rows bounds the sample: a value past it is not seen.
    s.write("late.csv", "id,colour\n" + "1,red\n" * 5 + "2,+1 415 555 0142\n")
    r = scan(s.src, "--rows", "3", "--json")
    late = [d for d in json.loads(r.stdout)["datasets"] if d["name"] == "late.csv"]
    col = late[0]["tables"][0]["columns"][1]
    assert late[0]["tables"][0]["rows_sampled"] == 3 and col["keep"]
    r = scan(s.src, "--json")
    late = [d for d in json.loads(r.stdout)["datasets"] if d["name"] == "late.csv"]
    assert not late[0]["tables"][0]["columns"][1]["keep"]


def test_scan_names_round_trip(sandbox):
    """Column names with quotes, line breaks, tabs, backslashes, '#', ': '
    and non-ASCII letters are written escaped and name their columns
    exactly: check finds every rule's column (no error) and no warning."""
    s = sandbox()
    s.write("w.csv", 'id,"we""ird","line\nbreak","tab\there",\u00fcn\u00efc,'
            '"back\\slash",#hash,"a: b",email\n1,x,y,z,w,v,u,t,q@example.org\n')
    r = scan(s.src, "-o", s.config)
    assert r.returncode == 0, r.stderr
    chk = spotfs("check", "--strict", "-c", s.config)
    assert chk.returncode == 0, chk.stdout + chk.stderr
    assert "1 rows in,        1 served" in chk.stdout
    s.mount()
    try:
        with open(s.path("w.csv")) as f:
            served = f.read()
    finally:
        s.unmount()
    assert "q@example.org" not in served and ",t," in served, served


def test_scan_unicode_line_breaks_in_names(sandbox, tmp_path):
    """NEL, U+2028 and U+2029 are line breaks to YAML: in a column name
    they are escaped (the config parses and names the column), in a
    left-out file's name in a comment they become '?' (no line of the
    comment can become a key)."""
    s = sandbox()
    s.write("a.csv", 'id,"d\u2028e","f\u2029g","h\u0085i",email\n'
            "1,2,3,4,q@example.org\n")
    bad = "x\u2028unlisted_columns: keep\u2029default: show\u0085#.csv"
    os.symlink("/nonexistent", os.path.join(s.src, bad))
    # A path that is not UTF-8 cannot be named in YAML: left out.
    with open(os.path.join(s.src.encode(), b"caf\xe9.csv"), "w") as f:
        f.write("id,x\n1,2\n")
    r = scan(s.src, "-o", s.config)
    assert r.returncode == 0, r.stderr
    text = open(s.config, encoding="utf-8").read()
    assert "\u2028" not in text and "\u2029" not in text and "\x85" not in text
    assert '"d\\u2028e": keep' in text, text
    chk = spotfs("check", "--strict", "-c", s.config)
    assert chk.returncode == 0, chk.stdout + chk.stderr
    assert "unlisted_columns: keep" in text  # in the comment, on its line
    assert "\nunlisted_columns: keep" not in text
    assert "caf?.csv: its path is not UTF-8" in text, text


def test_scan_withholds_names_of_anything_left_out(tmp_path):
    """A folder, symlink or FIFO whose name (or a folder on whose path)
    looks like a value is never named: stderr, comments, JSON."""
    src = tmp_path / "src"
    (src / "zed.hidden@example.com").mkdir(parents=True)
    os.symlink("/x", src / "zed.hidden@example.com" / "l.csv")
    os.mkfifo(src / "+1 415 555 0142")
    (src / "ok.csv").write_text("id,x\n1,2\n")
    out = tmp_path / "s.yaml"
    r = scan(str(src), "-o", str(out))
    j = scan(str(src), "--json")
    assert r.returncode == 0 and j.returncode == 0, r.stderr
    text = r.stderr + out.read_text() + j.stdout + j.stderr
    assert "zed.hidden" not in text and "555 0142" not in text, text
    assert text.count("(a path withheld)") >= 4, text


def test_scan_leaves_out_csvs_without_a_header_row(tmp_path):
    """A CSV whose first line is data (a date, an amount, only numbers)
    is left out with a line: its values never become column names."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "dated.csv").write_text("7,1984-07-23,Zed Quill\n8,1990-01-02,Ob\n")
    (src / "money.csv").write_text("x,1234.56\ny,99.10\n")
    (src / "nums.csv").write_text("17,42\n3,4\n")
    (src / "years.csv").write_text("region,2023,2024\nnorth,1,2\n")
    out = tmp_path / "s.yaml"
    r = scan(str(src), "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    for v in ("1984-07-23", "Zed Quill", "1234.56", '"17"', '"42"'):
        assert v not in text and v not in r.stderr, (v, text)
    assert r.stderr.count("header row missing") == 3, r.stderr
    assert '"years.csv"' in text and '"2024": keep' in text, text
    assert spotfs("check", "--strict", "-c", str(out)).returncode == 0


def test_scan_blobs_by_their_bytes(sandbox):
    """BLOBs are judged by their bytes, not their hex form: e-mails and
    free text in BLOBs are masked in both forms of the table (its CSV
    form holds BLOBs as hex: the planted values are searched for in hex
    too), binary BLOBs no detector can read are served as NULL."""
    s = sandbox()
    con = sqlite3.connect(os.path.join(s.src, "b.db"))
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB, "
                "contact, bin BLOB, colour BLOB)")
    for i in range(20):
        con.execute("INSERT INTO t (payload, contact, bin, colour) VALUES "
                    "(?, ?, ?, ?)", (
                        ("note zq%d.blob@example.org 219-09-9999" % i).encode(),
                        ("ob%d.blob@example.org" % i).encode(),
                        bytes([0xff, 0, 0xfe, i]), b"red"))
    con.commit()
    con.close()
    r = scan(s.src, "-o", s.config)
    assert r.returncode == 0, r.stderr
    text = open(s.config).read()
    assert '"colour": keep' in text and '"bin": { method: null }' in text
    assert '"payload": { method: null }' in text, text
    assert '"contact": { method: email }' in text, text
    chk = spotfs("check", "--strict", "-c", s.config)
    assert chk.returncode == 0, chk.stdout + chk.stderr
    planted = [b".blob@example.org", b"219-09-9999"]
    planted += [p.hex().encode() for p in planted]
    s.mount()
    try:
        with open(s.path("b/t.csv"), "rb") as f:
            served = f.read()
        assert b"726564" in served  # the kept BLOB, served as hex
        with open(s.path("b.db"), "rb") as f:
            served += f.read()
    finally:
        s.unmount()
    prev = spotfs("preview", "-c", s.config, "b.db/t")
    assert prev.returncode == 0, prev.stderr
    served += prev.stdout.encode()
    leaked = [p for p in planted if p in served]
    assert not leaked, leaked
    assert "726564" in prev.stdout  # the kept BLOB, served as hex


@pytest.mark.parametrize("cmd", ["scan", "report"])
def test_help(cmd):
    r = spotfs(cmd, "--help")
    assert r.returncode == 0 and "usage: spotfs " + cmd in r.stdout
    r = spotfs("--help")
    assert cmd in r.stdout

# SPDX-License-Identifier: LGPL-2.1-or-later
"""shift, truncate, round and scramble through a real mount.

- shift with per: every date of one patient moves by the same number of
  days (intervals kept exactly), within max, never by 0, and patients get
  different offsets; the patient column is read raw only to key the offset;
- truncate, round (with top/bottom coding) and scramble serve what the
  unit tests promise, in CSV and in a SQLite table;
- spotfs check names the dataset and column of a bad option and of a per:
  that names no column."""
import random
import sqlite3
from datetime import date, datetime

import pandas as pd

from conftest import spotfs


def visits(rnd, n_patients=40):
    rows = ["patient_id,admitted,discharged,seen_at,age,code"]
    truth = []
    for p in range(n_patients):
        pid = "P%05d" % rnd.randrange(10**5)
        for _ in range(rnd.randrange(1, 5)):
            a = date(2023, 1, 1).toordinal() + rnd.randrange(700)
            d = a + rnd.randrange(0, 30)
            t = "%sT%02d:%02d:%02dZ" % (date.fromordinal(a).isoformat(),
                                        rnd.randrange(24), rnd.randrange(60),
                                        rnd.randrange(60))
            age = rnd.randrange(0, 105)
            code = "AB-%04d-%s" % (rnd.randrange(10**4),
                                   rnd.choice(["xy", "qz"]))
            rows.append("%s,%s,%s,%s,%d,%s" % (
                pid, date.fromordinal(a).isoformat(),
                date.fromordinal(d).isoformat(), t, age, code))
            truth.append((pid, a, d, t, age, code))
    return "\n".join(rows) + "\n", truth


RULES = ("      patient_id: keep\n"
         "      admitted: { method: shift, max: 30d, per: patient_id }\n"
         "      discharged: { method: shift, max: 30d, per: patient_id }\n"
         "      seen_at: { method: truncate, to: hour }\n"
         "      age: { method: round, step: 5, min: 18, max: 90 }\n"
         "      code: scramble\n")


def ordinal(s):
    return date.fromisoformat(s).toordinal()


def check_served(df, truth):
    assert len(df) == len(truth)
    offsets = {}
    for (pid, a, d, t, age, code), row in zip(truth, df.itertuples()):
        off_a = ordinal(row.admitted) - a
        off_d = ordinal(row.discharged) - d
        # One offset per patient, for both columns and every row.
        assert off_a == off_d
        assert offsets.setdefault(pid, off_a) == off_a
        assert 1 <= abs(off_a) <= 30
        assert row.seen_at == t[:13] + ":00:00Z"
        want = min(max(5 * int(age / 5 + 0.5), 18), 90)
        assert int(row.age) == want, (age, row.age)
        assert len(row.code) == len(code) and row.code != code
        assert row.code[:3].isupper() and row.code[2] == "-"
        assert row.code[3:7].isdigit() and row.code[8:].islower()
    assert len(set(offsets.values())) > 5, offsets


def test_extra_methods_csv(sandbox):
    s = sandbox()
    data, truth = visits(random.Random(5))
    s.write("visits.csv", data)
    s.write_config("source: @SRC@\ndatasets:\n  visits.csv:\n"
                   "    columns:\n" + RULES)
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 0, r.stdout + r.stderr
    s.mount()
    try:
        with open(s.path("visits.csv")) as f:
            df = pd.read_csv(f, dtype=str, keep_default_na=False)
    finally:
        s.unmount()
    s.assert_clean_log()
    check_served(df, truth)


def test_extra_methods_sqlite(sandbox, tmp_path):
    s = sandbox()
    data, truth = visits(random.Random(6))
    db = s.write("clinic.db", b"")
    con = sqlite3.connect(db)
    con.execute("create table visits (patient_id text, admitted text, "
                "discharged text, seen_at text, age integer, code text)")
    for pid, a, d, t, age, code in truth:
        con.execute("insert into visits values (?,?,?,?,?,?)",
                    (pid, date.fromordinal(a).isoformat(),
                     date.fromordinal(d).isoformat(), t, age, code))
    con.commit()
    con.close()
    s.write_config("source: @SRC@\ndatasets:\n  clinic.db:\n"
                   "    tables:\n      visits:\n        columns:\n" +
                   RULES.replace("      ", "          "))
    s.mount()
    try:
        out = str(tmp_path / "served.db")
        with open(s.path("clinic.db"), "rb") as f, open(out, "wb") as g:
            g.write(f.read())
    finally:
        s.unmount()
    s.assert_clean_log()
    con = sqlite3.connect(out)
    rows = con.execute("select patient_id, admitted, discharged, seen_at, "
                       "age, code from visits order by rowid").fetchall()
    con.close()
    df = pd.DataFrame(rows, columns=["patient_id", "admitted", "discharged",
                                     "seen_at", "age", "code"])
    assert all(isinstance(a, int) for a in df["age"])  # still INTEGER
    check_served(df, truth)


def test_check_names_dataset_column(sandbox):
    s = sandbox()
    s.write("v.csv", "pid,day\n1,2024-01-01\n")
    s.write_config("source: @SRC@\ndatasets:\n  v.csv:\n    columns:\n"
                   "      pid: keep\n"
                   "      day: { method: shift, max: 30 days }\n")
    r = spotfs("check", "-c", s.config)
    assert r.returncode != 0
    assert "column 'day'" in r.stderr and "v.csv" in r.stderr
    assert "max: expected days" in r.stderr
    s.write_config("source: @SRC@\ndatasets:\n  v.csv:\n    columns:\n"
                   "      pid: keep\n"
                   "      day: { method: shift, max: 30d, per: patient }\n")
    r = spotfs("check", "-c", s.config)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert "v.csv" in out and "'day'" in out and "per: 'patient'" in out
    assert "2024-01-01" not in out


def test_extra_methods_parquet(sandbox, tmp_path):
    """Parquet decodes columns separately: shift per: must still see the
    entity column; round keeps an INT64 column an integer; fpe keeps ids
    unique; sample: keeps the same rows as a second read."""
    from conftest import duck
    s = sandbox()
    pq = str(tmp_path / "v.parquet")
    duck(tmp_path,
         "COPY (SELECT 'P' || lpad(CAST(i % 50 AS VARCHAR), 4, '0') AS pid, "
         "CAST(DATE '2023-01-01' + INTERVAL (i % 400) DAY AS DATE)::VARCHAR "
         "AS admitted, CAST(DATE '2023-01-01' + INTERVAL (i % 400 + i % 9) "
         "DAY AS DATE)::VARCHAR AS discharged, CAST(i % 100 AS BIGINT) AS age, "
         "lpad(CAST(i * 7919 % 1000000000 AS VARCHAR), 9, '0') AS acct "
         "FROM range(5000) t(i)) TO 'PQ' (FORMAT parquet)".replace("PQ", pq))
    with open(pq, "rb") as f:
        s.write("v.parquet", f.read())
    s.write_config(
        "source: @SRC@\ndatasets:\n  v.parquet:\n    columns:\n"
        "      pid: keep\n"
        "      admitted: { method: shift, max: 20d, per: pid }\n"
        "      discharged: { method: shift, max: 20d, per: pid }\n"
        "      age: { method: round, step: 10, max: 80 }\n"
        "      acct: fpe\n")
    s.mount()
    try:
        served = str(tmp_path / "served.parquet")
        with open(s.path("v.parquet"), "rb") as f, open(served, "wb") as g:
            g.write(f.read())
    finally:
        s.unmount()
    s.assert_clean_log()
    raw = duck(tmp_path, "SELECT pid, admitted, discharged, age, acct FROM "
               "'%s'" % pq)
    got = duck(tmp_path, "SELECT pid, admitted, discharged, age, acct, "
               "typeof(age) FROM '%s'" % served)
    assert len(got) == len(raw) == 5000
    offsets = {}
    for r, g in zip(raw, got):
        assert g[0] == r[0]
        off = ordinal(g[1]) - ordinal(r[1])
        assert off == ordinal(g[2]) - ordinal(r[2])
        assert offsets.setdefault(r[0], off) == off and 1 <= abs(off) <= 20
        assert g[3] == min(10 * int(r[3] / 10 + 0.5), 80)
        assert g[5] in ("BIGINT", "INTEGER")
        assert len(g[4]) == 9 and g[4] != r[4]
    assert len({g[4] for g in got}) == len({r[4] for r in raw})
    assert len(set(offsets.values())) > 10

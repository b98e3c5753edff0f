# SPDX-License-Identifier: LGPL-2.1-or-later
"""The commands on JSON Lines datasets and the loose ends the independent
check of issues 15 and 17 found: preview (--json, the converted forms,
--rows counting records), check listing every field path with what is done
to it, the unmount of a stopped daemon (-T, the record's process), and the
rows of a Lua error counted from 1."""
import csv
import io
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import SPOTFS, STATE_DIR, Sandbox, spotfs

N = 6
RAW = ["ada.lovelace%d@mail.example" % i for i in range(N)]


def rec(i):
    return json.dumps({
        "id": i,
        "user": {"email": RAW[i], "age": 30 + i, "nick": "nick%d" % i},
        "messages": [{"role": "user", "content": "write to %s" % RAW[i]}],
        "tags": [] if i % 2 else ["t%d" % i],
        "extra": {},
        "score": 1.50,
    })


def data():
    # Blank lines between records: --rows counts records.
    lines = [rec(i) for i in range(N)]
    return (lines[0] + "\n\n  \n" + "\n".join(lines[1:]) + "\n").encode()


CONFIG = """source: @SRC@
ttl: 1h
secret: @SECRET@
roles:
  boss: { users: [65533] }
datasets:
  chat.jsonl:
    as: [jsonl, csv, parquet]
    columns:
      id: keep
      user.email: { method: hash }
      user.age: { method: round, step: 10 }
      "messages[].content": { method: pii }
      "messages[].role": keep
      score: keep
    roles:
      boss:
        columns:
          user.email: keep
"""


@pytest.fixture(scope="module")
def mnt(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("clijl"))
    s = Sandbox(base, "clijl")
    secret = os.path.join(base, "secret")
    with open(secret, "wb") as f:
        f.write(b"cli-jsonl-secret-0123456789abcdef")
    os.chmod(secret, 0o600)
    s.write("chat.jsonl", data())
    s.write_config(CONFIG.replace("@SECRET@", secret))
    s.mount()
    yield s
    s.unmount()
    s.assert_clean_log()


def read(s, name):
    with open(s.path(name), "rb") as f:
        return f.read()


def served_records(s):
    return [json.loads(l) for l in read(s, "chat.jsonl").decode().splitlines()
            if l.strip()]


def csv_rows(text):
    return list(csv.reader(io.StringIO(text)))


# ----------------------------------------------------------------------
# preview


def test_preview_json_of_jsonl_has_columns_rows_and_records(mnt):
    r = spotfs("preview", "-c", mnt.config, "chat.jsonl", "--json", "--rows", "4")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["dataset"] == "chat.jsonl" and out["role"] == "default"
    # columns and rows: the CSV form's (top-level keys, every cell text).
    form = csv_rows(read(mnt, "chat.csv").decode())
    assert out["columns"] == form[0] == ["extra", "id", "messages", "score", "tags", "user"]
    assert out["rows"] == form[1:5]
    # records: the masked records as served, as JSON objects.
    assert out["records"] == served_records(mnt)[:4]
    for v in RAW:
        assert v not in r.stdout


def test_preview_json_of_jsonl_for_a_role(mnt):
    r = spotfs("preview", "-c", mnt.config, "chat.jsonl", "--json", "--role", "boss")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [x["user"]["email"] for x in out["records"]] == RAW
    col = out["columns"].index("user")
    assert [json.loads(row[col])["email"] for row in out["rows"]] == RAW


def test_preview_of_the_csv_and_parquet_forms_prints_csv_rows(mnt):
    form = read(mnt, "chat.csv").decode()
    head = "".join(form.splitlines(keepends=True)[:3])
    for name in ("chat.csv", "chat.parquet"):
        r = spotfs("preview", "-c", mnt.config, name, "--rows", "2")
        assert r.returncode == 0, r.stderr
        assert r.stdout == head, (name, r.stdout)
        j = json.loads(spotfs("preview", "-c", mnt.config, name, "--json").stdout)
        assert j["dataset"] == name
        assert [j["columns"]] + j["rows"] == csv_rows(form)
        assert "records" not in j


def test_preview_rows_counts_records_not_lines(mnt):
    r = spotfs("preview", "-c", mnt.config, "chat.jsonl", "--rows", "3")
    assert r.returncode == 0, r.stderr
    recs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    assert recs == served_records(mnt)[:3]


# ----------------------------------------------------------------------
# check


def test_check_lists_every_field_path_with_what_is_done(mnt):
    r = spotfs("check", "-c", mnt.config, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()

    def line_of(path):
        got = [l for l in lines if re.search(r"chat\.jsonl: field '%s':" % re.escape(path), l)]
        assert len(got) == 1, (path, r.stdout)
        return got[0]

    assert re.search(r": hash; role boss: keep \(served raw\)$", line_of("user.email"))
    assert line_of("user.age").endswith(": round")
    assert line_of("messages[].content").endswith(": pii")
    assert line_of("id").endswith(": keep (served raw)")
    assert "served as null" in line_of("user.nick")
    # {} and [] are served as they are, never as null.
    assert re.search(r"\{\} or \[\].*as (it is|they are)", line_of("extra")), line_of("extra")
    assert "served as null" not in line_of("extra")
    t = line_of("tags[]")
    assert "served as null" in t
    tags = line_of("tags")
    assert "as it is" in tags and "served as null" not in tags, tags
    for v in RAW:
        assert v not in r.stdout + r.stderr
    j = json.loads(spotfs("check", "-c", mnt.config, "--json", timeout=120).stdout)
    assert any("field 'user.email'" in m["text"] for m in j["messages"])


# ----------------------------------------------------------------------
# unmount of a stopped daemon


def audit():
    r = spotfs("audit", "--json", "-S", STATE_DIR)
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


@pytest.mark.parametrize("lazy", [False, True])
def test_unmount_of_a_stopped_daemon_honours_timeout_and_names_the_process(sandbox, lazy):
    s = sandbox("stop%d" % lazy)
    s.write("a.jsonl", '{"a": 1}\n')
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n  a.jsonl: { unlisted_columns: keep }\n")
    s.mount()
    sb = [x for x in audit() if x["event"] == "mount" and s.mnt in x["detail"]][-1]["sandbox"]
    os.kill(s.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        p = subprocess.Popen([SPOTFS, "unmount", "-T", "1s"] + (["-z"] if lazy else []) + [s.mnt],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = p.communicate(timeout=60)
        took = time.monotonic() - t0
    finally:
        os.kill(s.proc.pid, signal.SIGCONT)
    assert p.returncode == 1, err
    assert str(s.proc.pid) in err, err
    # -T 1s: about a second (a sanitizer build starts slower), not the
    # control channel's own 5 s on top.
    assert took < 3.0, took
    s.proc.wait(timeout=30)
    (u,) = [x for x in audit() if x["sandbox"] == sb and x["event"] == "unmount"]
    assert u["pid"] == p.pid and u["uid"] == 0, u
    assert u["process"] == "spotfs", u


# ----------------------------------------------------------------------
# Lua errors count rows from 1


def test_lua_row_filter_error_counts_rows_from_1(tmp_path):
    s = Sandbox(str(tmp_path), "luarow")
    s.write("r.csv", "a\n1\n2\n3\n")
    pol = os.path.join(str(tmp_path), "r.lua")
    with open(pol, "w") as f:
        f.write("function row(r) if r.a == '3' then error('bad') end return true end\n")
    s.write_config("source: @SRC@\nttl: 1h\ndatasets:\n  r.csv:\n    policy: %s\n"
                   "    unlisted_columns: keep\n" % pol)
    r = spotfs("preview", "-c", s.config, "r.csv")
    assert r.returncode == 1
    # The third data row (the value 3) fails the row filter.
    assert "(row filter, row 3)" in r.stderr, r.stderr
    with open(pol, "w") as f:
        f.write("columns = {}\n"
                "function columns.a(v) if v == '2' then error('bad') end return v end\n")
    r = spotfs("preview", "-c", s.config, "r.csv")
    assert r.returncode == 1
    assert "(column 'a', row 2)" in r.stderr, r.stderr

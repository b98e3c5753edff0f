# SPDX-License-Identifier: LGPL-2.1-or-later
"""MNT/.spotfs/manifest.json and MNT/.spotfs/README (issue 16): what the
caller is looking at, per caller, through real mounts. Another role's
datasets, hidden files, secrets and method parameters never appear; the
folder can never be written, copied up or removed; a source entry named
.spotfs is shadowed (and on record in the audit log)."""
import errno
import json
import os
import sqlite3
import subprocess

import pytest

from conftest import spotfs

SECRET = "manifest-secret-3b9e1d"
PATTERN = "Q#Q#-ZZZ"  # a mask pattern: a parameter, never shown
HIDDEN = "hidden-notes-77a1.txt"
ANALYST = 4242
STEWARD = 4343


def as_uid(uid, *cmd):
    return subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                           "--clear-groups", *cmd], capture_output=True,
                          timeout=30)


def make(sandbox, name="man", extra=""):
    s = sandbox(name)
    s.write("people.csv", "id,name,ssn,salary,city\n1,Ann,123-45-6789,50000,X\n")
    s.write("payroll.csv", "id,amount\n1,10\n")
    s.write(HIDDEN, "do not list\n")
    s.write("sub/events.parquet.csv", "a\n1\n")
    db = os.path.join(s.src, "crm.db")
    c = sqlite3.connect(db)
    c.execute("create table users(id integer, email text)")
    c.execute("insert into users values(1, 'a@b.example')")
    c.commit()
    c.close()
    secret = os.path.join(s.base, name + ".secret")
    with open(secret, "w") as f:
        f.write(SECRET)
    os.chmod(secret, 0o600)
    s.write_config(
        "source: @SRC@\nsecret: %s\n%s"
        "roles:\n"
        "  analyst: { users: [%d] }\n"
        "  steward: { users: [%d] }\n"
        "default_role: guest\n"
        "datasets:\n"
        "  people.csv:\n"
        "    columns:\n"
        "      id: keep\n"
        "      name: { method: fake, kind: name }\n"
        "      ssn: { method: mask, pattern: \"%s\" }\n"
        "      salary: { method: generalize, to: range, step: 10000 }\n"
        "    k_anonymity: { k: 2, quasi: [city] }\n"
        "    roles:\n"
        "      steward: { columns: { salary: keep } }\n"
        "  payroll.csv:\n"
        "    allow: [steward]\n"
        "    columns: { id: keep, amount: keep }\n"
        "  crm.db:\n"
        "    tables:\n"
        "      users: { columns: { id: keep, email: hash } }\n"
        % (secret, extra, ANALYST, STEWARD, PATTERN))
    return s


def check_schema(m):
    """The schema in README.md ("The manifest"), checked structurally."""
    assert set(m) == {"schema", "sandbox", "deadline", "seconds_left", "role",
                      "uid", "datasets"}, m.keys()
    assert m["schema"] == "spotfs-manifest/1"
    assert isinstance(m["sandbox"], str) and len(m["sandbox"]) == 16
    assert m["deadline"] is None or m["deadline"].endswith("Z")
    assert m["seconds_left"] is None or isinstance(m["seconds_left"], int)
    assert isinstance(m["role"], str) and isinstance(m["uid"], int)
    assert isinstance(m["datasets"], list)
    for d in m["datasets"]:
        assert set(d) == {"name", "served", "row_filter", "access_policy",
                          "quota", "dp", "tables", "columns", "unlisted_columns",
                          "k_anonymity"}, d.keys()
        for q in d["quota"]:
            assert set(q) == {"scope", "read_bytes", "read_bytes_limit",
                              "opens", "opens_limit", "exceeded"}
            assert q["scope"] in ("role", "dataset")
            assert isinstance(q["exceeded"], bool)
        assert isinstance(d["name"], str)
        for sv in d["served"]:
            assert set(sv) == {"name", "format"}
            assert sv["format"] in ("csv", "parquet", "sqlite", "jsonl",
                                    "unknown")
        assert isinstance(d["row_filter"], bool)
        assert isinstance(d["access_policy"], bool)
        for part in [d] + d["tables"]:
            if part is not d:
                assert set(part) == {"name", "columns", "unlisted_columns",
                                     "k_anonymity"}
            assert part["unlisted_columns"] in ("redact", "keep")
            for c in part["columns"]:
                assert set(c) == {"name", "masked", "method"}
                assert isinstance(c["masked"], bool)
                assert isinstance(c["method"], str)
            k = part["k_anonymity"]
            assert k is None or (set(k) == {"k", "quasi"} and k["k"] >= 2)


def manifest_as(s, uid):
    r = as_uid(uid, "cat", s.path(".spotfs/manifest.json"))
    assert r.returncode == 0, r.stderr
    return r.stdout


def cols(ds):
    return {c["name"]: (c["masked"], c["method"]) for c in ds["columns"]}


def test_manifest_per_caller_and_schema(sandbox):
    s = make(sandbox)
    s.mount("--ttl", "1h")
    try:
        raw_a = manifest_as(s, ANALYST)
        raw_s = manifest_as(s, STEWARD)
        a, st = json.loads(raw_a), json.loads(raw_s)
        check_schema(a)
        check_schema(st)
        assert a["role"] == "analyst" and st["role"] == "steward"
        assert a["uid"] == ANALYST
        assert 3000 < a["seconds_left"] <= 3600
        assert a["sandbox"] == st["sandbox"]
        names_a = [d["name"] for d in a["datasets"]]
        names_s = [d["name"] for d in st["datasets"]]
        # payroll.csv is the steward's only: never named to the analyst
        assert "payroll.csv" not in names_a and b"payroll" not in raw_a
        assert "payroll.csv" in names_s
        assert sorted(names_a) == ["crm.db", "people.csv"]
        p = next(d for d in a["datasets"] if d["name"] == "people.csv")
        assert cols(p) == {"id": (False, "keep"), "name": (True, "fake"),
                           "ssn": (True, "mask"),
                           "salary": (True, "generalize")}
        assert p["k_anonymity"] == {"k": 2, "quasi": ["city"]}
        assert p["unlisted_columns"] == "redact"
        assert p["served"] == [{"name": "people.csv", "format": "csv"}]
        assert p["row_filter"] is False
        ps = next(d for d in st["datasets"] if d["name"] == "people.csv")
        assert cols(ps)["salary"] == (False, "keep")  # the role override
        crm = next(d for d in a["datasets"] if d["name"] == "crm.db")
        assert crm["served"] == [{"name": "crm.db", "format": "sqlite"},
                                 {"name": "crm/users.csv", "format": "csv"}]
        assert "crm.db" in os.listdir(s.mnt) and \
            os.listdir(s.path("crm")) == ["users.csv"]
        assert crm["tables"][0]["name"] == "users"
        assert cols(crm["tables"][0]) == {"id": (False, "keep"),
                                          "email": (True, "hash")}
        # never a secret, a parameter or a hidden file
        for raw in (raw_a, raw_s):
            for bad in (SECRET, PATTERN, HIDDEN, "10000", "events"):
                assert bad.encode() not in raw, bad
        # the README says the same in words, per caller too
        ra = as_uid(ANALYST, "cat", s.path(".spotfs/README")).stdout
        assert b"your role: analyst" in ra and b"people.csv" in ra
        assert b"payroll" not in ra and SECRET.encode() not in ra
        assert b"payroll.csv" in as_uid(STEWARD, "cat",
                                        s.path(".spotfs/README")).stdout
        # root (the default role here) sees neither role's payroll either
        g = json.loads(open(s.path(".spotfs/manifest.json")).read())
        assert g["role"] == "guest"
        assert "payroll.csv" not in [d["name"] for d in g["datasets"]]
        # the size stat reports is the caller's own (within a digit of
        # seconds_left ticking between the two calls)
        n = len(as_uid(ANALYST, "cat", s.path(".spotfs/manifest.json")).stdout)
        sz = int(as_uid(ANALYST, "stat", "-c", "%s",
                        s.path(".spotfs/manifest.json")).stdout)
        assert abs(sz - n) <= 1, (sz, n)
    finally:
        s.unmount()


def test_manifest_listed_only_as_dot_entry(sandbox):
    s = make(sandbox, "dot")
    s.mount()
    try:
        plain = subprocess.run(["ls", s.mnt], capture_output=True).stdout
        all_ = subprocess.run(["ls", "-a", s.mnt], capture_output=True).stdout
        assert b".spotfs" not in plain and b".spotfs" in all_
        assert os.listdir(s.mnt).count(".spotfs") == 1
        assert sorted(os.listdir(s.path(".spotfs"))) == ["README",
                                                         "manifest.json"]
        st = os.stat(s.path(".spotfs"))
        assert st.st_mode & 0o777 == 0o555
        assert os.stat(s.path(".spotfs/manifest.json")).st_mode & 0o777 == \
            0o444
    finally:
        s.unmount()


def test_manifest_never_writable(sandbox):
    s = make(sandbox, "ro")
    s.mount()
    m = s.path(".spotfs/manifest.json")
    try:
        before = open(m, "rb").read()
        for flags in (os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_TRUNC,
                      os.O_WRONLY | os.O_APPEND):
            with pytest.raises(OSError) as e:
                os.close(os.open(m, flags))
            assert e.value.errno in (errno.EROFS, errno.EACCES)
        for fn in (lambda: os.unlink(m), lambda: os.chmod(m, 0o666),
                   lambda: os.truncate(m, 0),
                   lambda: os.rename(m, s.path("x.json")),
                   lambda: os.rename(s.path(".spotfs"), s.path("y")),
                   lambda: os.rmdir(s.path(".spotfs")),
                   lambda: os.mkdir(s.path(".spotfs/d")),
                   lambda: open(s.path(".spotfs/new"), "w"),
                   lambda: os.link(m, s.path("hard.json")),
                   lambda: os.symlink("x", s.path(".spotfs/l")),
                   lambda: os.setxattr(m, "user.x", b"1"),
                   lambda: os.mkdir(s.path(".spotfs"))):
            with pytest.raises(OSError):
                fn()
        # a file renamed over it is refused too
        open(s.path("mine.txt"), "w").write("x")
        with pytest.raises(OSError):
            os.rename(s.path("mine.txt"), s.path(".spotfs"))
        assert open(m, "rb").read()[:60] == before[:60]
        # as another uid too (permissions checked by the kernel)
        r = as_uid(ANALYST, "sh", "-c", "echo x > " + m)
        assert r.returncode != 0
        assert os.listdir(s.mnt).count(".spotfs") == 1
    finally:
        s.unmount()


def test_source_dotspotfs_shadowed_and_audited(sandbox):
    s = make(sandbox, "shadow", extra="default: show\n")
    s.write(".spotfs/manifest.json", '{"forged": true}\n')
    s.write(".spotfs/other.txt", "source file\n")
    s.mount()
    try:
        m = json.loads(open(s.path(".spotfs/manifest.json")).read())
        sid = m["sandbox"]
        assert "forged" not in m and m["schema"] == "spotfs-manifest/1"
        assert sorted(os.listdir(s.path(".spotfs"))) == ["README",
                                                         "manifest.json"]
        assert not os.path.exists(s.path(".spotfs/other.txt"))
        assert os.listdir(s.mnt).count(".spotfs") == 1
        # show's passthrough works for everything else
        assert os.path.exists(s.path(HIDDEN))
    finally:
        s.unmount()
    r = spotfs("audit", "--sandbox", sid, "--json")
    assert r.returncode == 0, r.stderr
    ev = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    assert any(e.get("path") == ".spotfs" and
               "shadowed" in (e.get("reason") or "") for e in ev), r.stdout


def test_manifest_shows_the_callers_quota_and_its_use(sandbox):
    """An agent learns its limits and how much it has used from the
    manifest: its role's quota and the dataset's, per caller (another
    role sees none)."""
    s = sandbox("manq")
    s.write("a.csv", "id,email\n" + "".join(
        "%d,u%d@corp.example\n" % (i, i) for i in range(2000)))
    s.write_config("source: @SRC@\nroles:\n"
                   "  agent: { users: [%d], quota: { read_bytes: 1M, "
                   "opens: 50 } }\n"
                   "datasets:\n  a.csv:\n"
                   "    quota: { opens: 20 }\n"
                   "    columns: { id: keep, email: hash }\n" % ANALYST)
    s.mount()
    r = as_uid(ANALYST, "cat", s.path("a.csv"))
    assert r.returncode == 0, r.stderr
    m = json.loads(manifest_as(s, ANALYST))
    check_schema(m)
    q = {x["scope"]: x for x in m["datasets"][0]["quota"]}
    assert q["role"]["read_bytes_limit"] == 1 << 20
    assert q["role"]["opens_limit"] == 50 and q["role"]["opens"] >= 1
    assert 0 < q["role"]["read_bytes"] <= len(r.stdout) + (1 << 20)
    assert q["dataset"]["opens_limit"] == 20 and q["dataset"]["opens"] >= 1
    assert not q["role"]["exceeded"]
    text = as_uid(ANALYST, "cat", s.path(".spotfs/README")).stdout
    assert b"quota (role):" in text
    other = json.loads(manifest_as(s, STEWARD))
    assert [x["scope"] for x in other["datasets"][0]["quota"]] == ["dataset"]

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Read quotas: once a role's readers were served their read_bytes (or
opens), further opens and reads of masked views fail with EDQUOT, audited
once as quota_exceeded, while other roles keep reading; spotfs status shows
use against quota. Reads of a metered role are direct I/O, so the page
cache cannot serve bytes the daemon never counted."""
import json
import os
import subprocess

from conftest import spotfs

ROWS = 200


def data():
    return "id,email,city\n" + "".join(
        "%d,user%03d@example.org,City%d\n" % (i, i, i % 7)
        for i in range(ROWS))


def make(sandbox, role_quota="", ds_quota=""):
    s = sandbox()
    s.write("people.csv", data())
    s.write_config(
        "source: @SRC@\nroles:\n  agent:\n    users: [nobody]\n" + role_quota +
        "datasets:\n  people.csv:\n" + ds_quota +
        "    columns:\n      id: keep\n      email: hash\n      city: keep\n")
    s.mount()
    return s


READER = ("import sys, errno\n"
          "try:\n"
          "    with open(sys.argv[1], 'rb') as f:\n"
          "        print(len(f.read()))\n"
          "except OSError as e:\n"
          "    print(errno.errorcode.get(e.errno, e.errno))\n")


def read_as(uid, path):
    cmd = ["/usr/bin/python3", "-c", READER, path]
    if uid != 0:
        cmd = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
               "--clear-groups"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def quota_events():
    r = spotfs("audit", "--json")
    evs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    return [e for e in evs if e["event"] == "quota_exceeded"]


def test_role_read_bytes_exhausted_while_another_keeps_reading(sandbox):
    s = make(sandbox, "    quota: { read_bytes: 10K }\n")
    size = int(read_as(0, s.path("people.csv")))
    assert 4000 < size < 10240  # one read fits, three do not
    before = len(quota_events())
    results = [read_as(65534, s.path("people.csv")) for _ in range(4)]
    assert results[0] == str(size)
    assert "EDQUOT" in results, results
    # Once refused, always refused; the refusal is audited once.
    assert results[-1] == "EDQUOT"
    evs = quota_events()[before:]
    assert len(evs) == 1 and evs[0]["role"] == "agent"
    assert "read_bytes" in evs[0]["detail"]
    # root (the default role) reads on, many times over the agent's quota.
    for _ in range(5):
        assert read_as(0, s.path("people.csv")) == str(size)
    st = spotfs("status", "--json", s.mnt)
    q = json.loads(st.stdout)["quotas"]
    agent = [x for x in q if x["role"] == "agent"][0]
    assert agent["read_bytes_limit"] == 10240 and agent["exceeded"]
    assert agent["read_bytes"] >= 10240
    text = spotfs("status", s.mnt).stdout
    assert "quota: role agent:" in text and "(exceeded)" in text


def test_page_cache_cannot_serve_uncounted_bytes(sandbox):
    """root reads the view into the page cache; the agent's reads are
    still counted (direct I/O), so its quota still runs out."""
    s = make(sandbox, "    quota: { read_bytes: 10K }\n")
    for _ in range(3):
        read_as(0, s.path("people.csv"))
    results = [read_as(65534, s.path("people.csv")) for _ in range(4)]
    assert results[-1] == "EDQUOT", results


def test_copy_up_counts_the_view(sandbox):
    """Opening a view for writing copies its masked bytes into the overlay,
    whose reads are not metered: the copy counts as read at once."""
    s = sandbox()
    s.write("people.csv", data())
    s.write_config(
        "source: @SRC@\nroles:\n  agent:\n    groups: [4242]\n"
        "    quota: { read_bytes: 10K }\n"
        "datasets:\n  people.csv:\n"
        "    columns:\n      id: keep\n      email: hash\n      city: keep\n")
    s.mount()
    size = int(read_as(0, s.path("people.csv")))
    writer = "open(__import__('sys').argv[1], 'r+b').close()"
    r = subprocess.run(["setpriv", "--regid=4242", "--clear-groups",
                        "/usr/bin/python3", "-c", writer,
                        s.path("people.csv")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    q = json.loads(spotfs("status", "--json", s.mnt).stdout)["quotas"]
    agent = [x for x in q if x["role"] == "agent"][0]
    assert agent["read_bytes"] == size and agent["opens"] == 1, agent


def test_opens_quota(sandbox):
    s = make(sandbox, "    quota: { opens: 3 }\n")
    results = [read_as(65534, s.path("people.csv")) for _ in range(5)]
    assert results[3:] == ["EDQUOT", "EDQUOT"], results
    assert all(r.isdigit() for r in results[:3]), results


def test_dataset_quota_applies_to_every_role(sandbox):
    s = make(sandbox, ds_quota="    quota: { opens: 2 }\n")
    assert read_as(0, s.path("people.csv")).isdigit()
    assert read_as(0, s.path("people.csv")).isdigit()
    assert read_as(0, s.path("people.csv")) == "EDQUOT"
    # Per role: the agent has its own two opens.
    assert read_as(65534, s.path("people.csv")).isdigit()
    assert read_as(65534, s.path("people.csv")).isdigit()
    assert read_as(65534, s.path("people.csv")) == "EDQUOT"


def test_bad_quota_config_is_refused(tmp_path):
    cfg = tmp_path / "c.yaml"
    src = tmp_path / "src"
    src.mkdir()
    cfg.write_text("source: %s\nroles:\n  agent:\n    users: [nobody]\n"
                   "    quota: { read_bytes: lots }\n" % src)
    r = spotfs("check", "-c", str(cfg))
    assert r.returncode != 0 and "read_bytes" in r.stderr

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Read quotas: once a role's readers were served their read_bytes (or
opens), further opens and reads of masked views fail with EDQUOT, audited
once as quota_exceeded, while other roles keep reading; spotfs status shows
use against quota. Reads of a metered role are direct I/O, so the page
cache cannot serve bytes the daemon never counted."""
import json
import os
import subprocess

import pytest

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


# ---------------------------------------------------------------------------
# Copy-ups: every way a view reaches the overlay is an open that reads all
# of it (round-7 finding 1 and the paths next to it)

def renameat2(a, b, flags):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(-100, a.encode(), -100, b.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def agent_quota(s):
    q = json.loads(spotfs("status", "--json", s.mnt).stdout)["quotas"]
    return [x for x in q if x["role"] == "agent"]


def copy_up_opens():
    r = spotfs("audit", "--json")
    evs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    return [e for e in evs if e["event"] == "open" and
            e.get("detail") == "copy-up"]


COPY_UPS = {
    "open_for_writing": lambda s, v: open(v, "r+b").close(),
    "chmod": lambda s, v: os.chmod(v, 0o600),
    "chown": lambda s, v: os.chown(v, os.stat(v).st_uid, -1),
    "utime": lambda s, v: os.utime(v, (1, 1)),
    "setxattr": lambda s, v: os.setxattr(v, "user.note", b"x"),
    "link": lambda s, v: os.link(v, s.path("copy.csv")),
    "rename": lambda s, v: os.rename(v, s.path("mine.csv")),
    "rename_over_it": lambda s, v: os.rename(_new(s, "mine.csv"), v),
    "rename_exchange": lambda s, v: renameat2(_new(s, "mine.csv"), v, 2),
}


def _new(s, name):
    p = s.path(name)
    with open(p, "w") as f:
        f.write("x\n")
    return p


@pytest.mark.parametrize("how", sorted(COPY_UPS))
def test_every_copy_up_of_a_view_is_charged_and_audited(sandbox, how):
    """Each path that copies a view into the overlay charges the role one
    open and the view's whole size, and records an open (detail copy-up)."""
    s = sandbox()
    s.write("people.csv", data())
    s.write_config(
        "source: @SRC@\nroles:\n  agent:\n    users: [root]\n"
        "    quota: { read_bytes: 1M, opens: 100 }\n"
        "datasets:\n  people.csv:\n"
        "    columns:\n      id: keep\n      email: hash\n      city: keep\n")
    s.mount()
    v = s.path("people.csv")
    size = os.stat(v).st_size
    before = len(copy_up_opens())
    COPY_UPS[how](s, v)
    agent = agent_quota(s)[0]
    assert agent["read_bytes"] == size and agent["opens"] == 1, agent
    evs = copy_up_opens()[before:]
    assert len(evs) == 1 and evs[0]["path"] == "people.csv", evs
    assert evs[0]["decision"] == "allow" and evs[0]["role"] == "agent"


def test_truncate_copy_up_is_an_open_of_no_bytes(sandbox):
    s = sandbox()
    s.write("people.csv", data())
    s.write_config(
        "source: @SRC@\nroles:\n  agent:\n    users: [root]\n"
        "    quota: { opens: 1 }\n"
        "datasets:\n  people.csv:\n"
        "    columns:\n      id: keep\n      email: hash\n      city: keep\n")
    s.mount()
    os.truncate(s.path("people.csv"), 0)
    agent = agent_quota(s)[0]
    assert agent["read_bytes"] == 0 and agent["opens"] == 1, agent
    assert os.stat(s.path("people.csv")).st_size == 0


def test_copy_up_that_does_not_fit_is_refused_and_costs_nothing(sandbox):
    """A copy is never served in part: a view larger than what is left of
    read_bytes is refused (EDQUOT, audited once) and charges nothing, so
    the role's reads go on."""
    s = sandbox()
    s.write("people.csv", data())
    s.write_config(
        "source: @SRC@\nroles:\n  agent:\n    users: [root]\n"
        "    quota: { read_bytes: 2K }\n"
        "datasets:\n  people.csv:\n"
        "    columns:\n      id: keep\n      email: hash\n      city: keep\n")
    s.mount()
    v = s.path("people.csv")
    assert os.stat(v).st_size > 4096
    before = len(quota_events())
    for op in (lambda: os.chmod(v, 0o600), lambda: open(v, "r+b"),
               lambda: os.link(v, s.path("copy.csv"))):
        with pytest.raises(OSError) as e:
            op()
        assert e.value.errno == 122
    assert not os.path.exists(s.path("copy.csv"))
    agent = agent_quota(s)[0]
    assert agent["read_bytes"] == 0 and agent["opens"] == 0, agent
    evs = quota_events()[before:]
    assert len(evs) == 1 and "read_bytes" in evs[0]["detail"], evs
    with open(v, "rb", buffering=0) as f:  # reads go on to the limit
        assert len(f.read(1024)) == 1024


def test_dataset_quota_charges_copy_ups_of_every_form(sandbox):
    """A dataset's quota (for every role) counts copy-ups of its `as:`
    forms: one open allowed, the next copy-up of another form refused."""
    s = sandbox()
    s.write("people.csv", data())
    s.write_config(
        "source: @SRC@\ndatasets:\n  people.csv:\n    as: [csv, parquet]\n"
        "    quota: { opens: 1 }\n"
        "    columns:\n      id: keep\n      email: hash\n      city: keep\n")
    s.mount()
    os.chmod(s.path("people.parquet"), 0o600)
    with pytest.raises(OSError) as e:
        os.chmod(s.path("people.csv"), 0o600)
    assert e.value.errno == 122
    with pytest.raises(OSError) as e:
        open(s.path("people.csv"), "rb")
    assert e.value.errno == 122

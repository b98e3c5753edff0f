# SPDX-License-Identifier: LGPL-2.1-or-later
"""Who may learn a view's bytes or size: a DP release is never copied into
an overlay (EROFS, whatever the operation), and a caller the policy's
access() denies gets no build and size 0 from lookup and getattr, like a
role outside allow:, without cutting short the reads of an allowed caller
of its role (round-7 findings 1 and 5, and the paths next to them)."""
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import spotfs

NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534",
          "--clear-groups"]


def as_nobody(code, *args):
    r = subprocess.run(NOBODY + [sys.executable, "-c", code, *args],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def regions(n=700):
    return "id,region,income\n" + "".join(
        "%d,%s,%d\n" % (i, "north" if i % 7 == 0 else "south", 1000 + i)
        for i in range(n))


DP_OPS = {
    "chmod": lambda s, p: os.chmod(p, 0o600),
    "utime": lambda s, p: os.utime(p, (1, 1)),
    "truncate": lambda s, p: os.truncate(p, 0),
    "open_for_writing": lambda s, p: open(p, "r+b"),
    "setxattr": lambda s, p: os.setxattr(p, "user.x", b"1"),
    "link": lambda s, p: os.link(p, s.path("copy.csv")),
    "rename": lambda s, p: os.rename(p, s.path("copy.csv")),
}


@pytest.mark.parametrize("op", sorted(DP_OPS))
def test_dp_release_is_never_copied_up(sandbox, op):
    s = sandbox()
    s.write("people.csv", regions())
    s.write_config(
        "source: @SRC@\ndp_budget: { per_role: 5.0 }\ndatasets:\n"
        "  people.csv:\n    columns: { id: keep, region: keep, "
        "income: noise }\n    aggregates:\n      by_region: { kind: count, "
        "by: { region: [north, south] }, epsilon: 0.2 }\n")
    s.mount()
    p = s.path("_dp/people.csv/by_region.csv")
    first = open(p).read()  # paid for and built: the most there is to copy
    with pytest.raises(OSError) as e:
        DP_OPS[op](s, p)
    assert e.value.errno == 30, e.value  # EROFS
    assert not os.path.exists(s.path("copy.csv"))
    assert open(p).read() == first


def access_config(s, access):
    pol = os.path.join(s.base, "pol.lua")
    with open(pol, "w") as f:
        f.write("function access(ctx) %s end\n"
                "function row(r, ctx) return r.region == \"north\" end\n"
                % access)
    s.write_config(
        "source: @SRC@\nroles:\n  analyst: { users: [nobody, root] }\n"
        "datasets:\n  people.csv:\n    policy: %s\n"
        "    columns: { id: keep, region: keep, income: keep }\n" % pol)


STAT_ALL = r"""
import json, os, sys
p = sys.argv[1]
st = os.stat(p).st_size
ls = [e.stat().st_size for e in os.scandir(os.path.dirname(p))
      if e.name == os.path.basename(p)]
try:
    open(p).read()
    err = 0
except OSError as e:
    err = e.errno
print(json.dumps({"stat": st, "ls": ls, "open": err}))
"""


def audit_count():
    r = spotfs("audit", "--json")
    return len([l for l in r.stdout.splitlines() if l.strip()])


def test_denied_caller_sees_size_0_even_once_its_role_s_view_is_built(
        sandbox):
    """access() allows root and denies uid 65534, both of role analyst.
    root's read builds the role's view; the denied caller's stat, scandir
    and lookup still show size 0 (the size is the count of rows its role's
    filter keeps), and its stats leave nothing in the audit log."""
    s = sandbox()
    s.write("people.csv", regions())
    access_config(s, 'return ctx.uid == 0, "root only"')
    s.mount()
    served = open(s.path("people.csv")).read()
    assert len(served) > 100
    n = audit_count()
    out = as_nobody("import os,sys,json\n"
                    "print(json.dumps([os.stat(sys.argv[1]).st_size "
                    "for _ in range(5)]))", s.path("people.csv"))
    assert out == [0] * 5, out
    assert audit_count() == n
    out = as_nobody(STAT_ALL, s.path("people.csv"))
    assert out == {"stat": 0, "ls": [0], "open": 13}, out
    assert os.stat(s.path("people.csv")).st_size == len(served)


def test_failing_access_policy_shows_size_0_and_builds_nothing(sandbox):
    s = sandbox()
    s.write("people.csv", regions())
    access_config(s, 'error("boom")')
    s.mount()
    out = as_nobody(STAT_ALL, s.path("people.csv"))
    assert out == {"stat": 0, "ls": [0], "open": 5}, out  # EIO
    assert os.stat(s.path("people.csv")).st_size == 0
    assert "role analyst: build" not in s.read_log()


def test_allowed_reader_is_not_cut_short_by_a_denied_caller_s_stats(
        sandbox):
    """The denied caller's stat shows the shared inode size 0; an allowed
    caller of the same role reading meanwhile still gets the whole view
    every time (its opens are direct I/O, so the size the kernel holds
    does not end its reads)."""
    s = sandbox()
    s.write("people.csv", regions(60000))
    access_config(s, 'return ctx.uid == 0, "root only"')
    s.mount()
    p = s.path("people.csv")
    whole = open(p, "rb").read()
    assert len(whole) > 100000
    staller = subprocess.Popen(
        NOBODY + [sys.executable, "-c",
                  "import os, sys, time\nt = time.time()\n"
                  "while time.time() - t < 3:\n    os.stat(sys.argv[1])\n",
                  p])
    short = runs = 0
    try:
        while staller.poll() is None:
            with open(p, "rb") as f:
                got = f.read()
            runs += 1
            short += got != whole
    finally:
        staller.wait()
    assert runs and short == 0, "%d of %d reads cut short" % (short, runs)

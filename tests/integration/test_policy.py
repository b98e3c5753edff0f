# SPDX-License-Identifier: LGPL-2.1-or-later
"""Lua policies and roles through a real mount: each uid gets its role's
masking and rows, denied callers get EACCES, failing policies give EIO and
never raw bytes, and the daemon keeps serving."""
import errno
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, spotfs

COUNTRIES = ["DE", "FR", "US", "SE"]


def customers():
    rows = ["id,name,email,ssn,phone,dob,zip,country,salary,notes"]
    for i in range(120):
        rows.append("%d,Rawname%03d Q,raw%03d@corp.example,%03d-12-%04d,555-201-%04d,"
                    "1980-01-%02d,%05d,%s,%d,call raw%03d@corp.example" % (
                        i, i, i, 200 + i, 1000 + i, i, i % 28 + 1, 10000 + i,
                        COUNTRIES[i % 4], 50000 + i, i))
    return "\n".join(rows) + "\n"


def as_uid(uid, *cmd):
    return subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                           "--clear-groups", *cmd], capture_output=True,
                          timeout=60)


@pytest.fixture
def roles(sandbox):
    s = sandbox("roles")
    s.write("customers.csv", customers())
    s.write("orders.csv", "order_id,customer_email,card,amount,ordered_at\n"
            "1,raw001@corp.example,4111-1111-1111-1111,1.00,2026-01-01\n")
    s.write("bad.csv", "v\nfine\nboom-raw-secret\n")
    s.write("slow.csv", "v\nx\n")
    pol = os.path.join(s.base, "policies")
    os.makedirs(pol, exist_ok=True)
    shutil.copy(os.path.join(ROOT, "examples/policies/customers.lua"), pol)
    with open(os.path.join(pol, "bad.lua"), "w") as f:
        f.write("columns = {\n  v = function(x)\n"
                "    if x ~= 'fine' then error('cannot handle ' .. x) end\n"
                "    return x\n  end\n}\n")
    with open(os.path.join(pol, "slow.lua"), "w") as f:
        f.write("columns = { v = function(x) while true do end end }\n")
    with open(os.path.join(ROOT, "examples/roles.yaml")) as f:
        cfg = f.read().replace("source: ./data", "source: @SRC@")
    cfg += ("  bad.csv:\n    policy: policies/bad.lua\n"
            "  slow.csv:\n    policy: policies/slow.lua\n")
    s.write_config(cfg)
    s.mount()
    return s


def rows_of(data):
    return [l.split(",") for l in data.decode().splitlines()[1:]]


def test_steward_sees_partial_masks_and_all_rows(roles):
    data = open(roles.path("customers.csv"), "rb").read()
    rows = rows_of(data)
    assert len(rows) == 120
    assert rows[0][2].startswith("ra") and rows[0][2].endswith("xample")
    assert rows[0][2] != "raw000@corp.example"
    assert rows[0][3] == "***-**-1000"
    assert rows[0][8] == "50000", "steward override keeps the salary"
    assert b"raw000@corp.example" not in data


def test_analyst_de_sees_only_de_rows(roles):
    r = as_uid(65534, "cat", roles.path("customers.csv"))
    assert r.returncode == 0, r.stderr
    rows = rows_of(r.stdout)
    assert rows and all(row[7] == "DE" for row in rows)
    assert len(rows) == 30
    assert all(row[3] == "[SSN]" for row in rows)
    assert all(row[2].endswith("@corp.example") and row[2].startswith("r***")
               for row in rows)
    assert all(row[8] == "50000-59999" for row in rows)
    assert b"Rawname" not in r.stdout and b"raw0" not in r.stdout


def test_roles_never_share_bytes(roles):
    steward = open(roles.path("customers.csv"), "rb").read()
    analyst = as_uid(65534, "cat", roles.path("customers.csv")).stdout
    default = as_uid(12345, "cat", roles.path("customers.csv")).stdout
    assert steward != analyst != default
    assert all(r[7] == "FR" for r in rows_of(default))
    # Sizes are per role too.
    st = as_uid(65534, "stat", "-c", "%s", roles.path("customers.csv"))
    assert int(st.stdout) == len(analyst)
    assert os.stat(roles.path("customers.csv")).st_size == len(steward)


def test_denied_callers_get_eacces(roles):
    r = as_uid(65533, "cat", roles.path("customers.csv"))
    assert r.returncode != 0 and b"Permission denied" in r.stderr
    r = as_uid(65534, "cat", roles.path("orders.csv"))
    assert r.returncode != 0 and b"Permission denied" in r.stderr
    assert open(roles.path("orders.csv"), "rb").read().count(b"\n") == 2


def test_failing_policy_gives_eio_and_no_raw_value(roles):
    with pytest.raises(OSError) as e:
        open(roles.path("bad.csv"), "rb").read()
    assert e.value.errno == errno.EIO
    log = roles.read_log()
    assert "bad.lua:3" in log, log
    assert "boom-raw-secret" not in log
    # The daemon keeps serving other files and callers.
    assert open(roles.path("customers.csv"), "rb").read()


def test_runaway_policy_is_stopped(roles):
    with pytest.raises(OSError) as e:
        open(roles.path("slow.csv"), "rb").read()
    assert e.value.errno == errno.EIO
    assert open(roles.path("customers.csv"), "rb").read()


def test_check_and_preview_as_uid(roles):
    r = spotfs("check", "-c", roles.config)
    assert r.returncode == 1  # bad.csv and slow.csv fail
    assert "bad.lua:3" in r.stdout and "boom-raw-secret" not in r.stdout + r.stderr
    r = spotfs("preview", "-c", roles.config, "customers.csv", "--as-uid", "65534",
               "--rows", "3")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 4 and all(",DE," in l for l in lines[1:])
    assert "analyst_de" in r.stderr


def test_policy_syntax_error_fails_mount(sandbox):
    s = sandbox("syntax")
    s.write("a.csv", "v\n1\n")
    with open(os.path.join(s.base, "broken.lua"), "w") as f:
        f.write("columns = {\n  v = function(x) return x +\nend }\n")
    s.write_config("source: @SRC@\ndatasets:\n  a.csv:\n    policy: %s\n"
                   % os.path.join(s.base, "broken.lua"))
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 1 and "broken.lua:3" in r.stderr, r.stderr
    p = s.mount(wait=False)
    assert p.wait(timeout=30) != 0
    assert "broken.lua:3" in s.read_log()


def test_preview_applies_access_policy(roles):
    """Regression: preview printed data for a role that access() denies."""
    r = spotfs("preview", "-c", roles.config, "customers.csv", "--role", "contractor")
    assert r.returncode == 1 and "denied" in r.stderr, r.stdout + r.stderr
    assert "Rawname" not in r.stdout and r.stdout == ""


def test_check_counts_policy_masked_columns_as_masked():
    """Regression: check warned about columns a Lua policy masks."""
    r = spotfs("check", "-c", os.path.join(ROOT, "examples", "roles.yaml"))
    assert r.returncode == 0 and "0 warnings" in r.stdout, r.stdout

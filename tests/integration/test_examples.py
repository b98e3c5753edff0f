# SPDX-License-Identifier: LGPL-2.1-or-later
"""The examples are executable documentation: each config and scenario is
mounted or run here, so they cannot rot."""
import csv
import io
import os
import subprocess

import pytest

from conftest import (ROOT, SPOTFS, Sandbox, bwrap_unusable, is_mounted, spotfs,
                      tree_digest)

EXAMPLES = os.path.join(ROOT, "examples")


def test_example_sandbox_mounts_and_masks(tmp_path):
    s = Sandbox(str(tmp_path), "ex")
    s.config = os.path.join(EXAMPLES, "sandbox.yaml")
    before = tree_digest(os.path.join(EXAMPLES, "data"))
    s.mount()
    try:
        assert sorted(os.listdir(s.mnt)) == [".spotfs", "customers.csv", "hr",
                                             "orders.csv", "support.jsonl"]
        raw = list(csv.DictReader(open(os.path.join(EXAMPLES, "data/customers.csv"))))
        data = open(s.path("customers.csv"), "rb").read()
        masked = list(csv.DictReader(io.StringIO(data.decode())))
        assert len(masked) == len(raw)
        for col in ("email", "ssn", "phone"):
            leaked = [r[col] for r in raw if r[col].encode() in data]
            assert not leaked, (col, leaked[:3])
        # Fake names come from a dictionary that also made the example data,
        # so another row's fake may equal some real name by chance; a row
        # keeping its own name more than by chance means it was not masked.
        same = sum(m["name"] == r["name"] for m, r in zip(masked, raw))
        assert same <= 3, same
        pay = open(s.path("hr/payroll.csv"), "rb").read()
        assert b"DE89370400440532013000" not in pay
        sup = open(s.path("support.jsonl"), "rb").read()
        for raw_value in (b"maria.garcia@example.com", b"Maria Garcia",
                          b"DE89370400440532013000", b"555 0134",
                          b"a.lee@support.example"):
            assert raw_value not in sup, raw_value
        assert sup.count(b"\n") == 3 and b'"ticket": 1001' in sup
    finally:
        s.unmount()
    assert tree_digest(os.path.join(EXAMPLES, "data")) == before
    s.assert_clean_log()


def test_example_check_is_clean():
    for cfg in ("sandbox.yaml", "roles.yaml"):
        r = spotfs("check", "-c", os.path.join(EXAMPLES, cfg))
        assert r.returncode == 0, r.stdout + r.stderr


def test_container_scenario(tmp_path):
    why = bwrap_unusable()
    if why:
        pytest.skip(why)
    r = subprocess.run([os.path.join(EXAMPLES, "container", "run"), SPOTFS],
                       capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "job: read 300 masked rows" in r.stdout
    assert "@example" not in r.stdout.split("first email")[1].splitlines()[0]
    assert "source untouched" in r.stdout
    assert not os.path.exists(os.path.join(EXAMPLES, "data/report.txt"))

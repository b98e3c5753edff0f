# SPDX-License-Identifier: LGPL-2.1-or-later
"""The command line: help, exit codes, config discovery and clear errors."""
import os
import re
import subprocess

import pytest

from conftest import SPOTFS, is_mounted, spotfs

COMMANDS = ["mount", "unmount", "check", "preview", "scan", "report", "list",
            "status", "extend", "audit", "gc", "reveal", "export"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_on_every_command(cmd):
    r = spotfs(cmd, "--help")
    assert r.returncode == 0 and "usage: spotfs " + cmd in r.stdout, r.stdout + r.stderr


def test_every_listed_command_is_tested():
    """The commands spotfs --help lists are the ones above (plus version):
    a new command cannot be added without its --help being checked."""
    out = spotfs("--help").stdout
    listed = re.findall(r"^  ([a-z]+)  ", out, re.M)
    assert sorted(listed) == sorted(COMMANDS + ["version"]), listed


def test_version_and_usage_errors():
    r = spotfs("--version")
    assert r.returncode == 0 and r.stdout.startswith("spotfs ")
    assert spotfs("frobnicate").returncode == 2
    assert spotfs().returncode == 2
    assert spotfs("mount").returncode == 2
    r = spotfs("mount", "--ttl", "2 hours", "/tmp/x")
    assert r.returncode == 2 and "--ttl" in r.stderr
    # A bare number would be seconds, which "--ttl 90" rarely means: the
    # message asks for a unit, so a unitless value is refused too.
    for bad in ("90", "1h30", "0s"):
        r = spotfs("mount", "--ttl", bad, "/tmp/x")
        assert r.returncode == 2 and "--ttl" in r.stderr, (bad, r.stderr)
        r = spotfs("extend", "/tmp/x", "--ttl", bad)
        assert r.returncode == 2 and "--ttl" in r.stderr, (bad, r.stderr)


def test_config_errors_name_file_line_column(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    cases = {
        "source: %s\ndatasets:\n  a.csv:\n    colums: {}\n" % src: ":4:5:",
        "source: %s\ndatasets:\n  a.csv:\n    columns:\n      x: { method: shred }\n" % src: ":5:",
        "source: /nonexistent/folder\n": ":1:",
        "source: %s\nttl: 2 weeks\n" % src: ":2:",
        "a: &x [1]\nb: *x\n": ":1:",
    }
    for i, (text, where) in enumerate(cases.items()):
        cfg = tmp_path / ("c%d.yaml" % i)
        cfg.write_text(text)
        r = spotfs("check", "-c", str(cfg))
        assert r.returncode == 1, text
        assert str(cfg) + where in r.stderr, (text, r.stderr)


def test_mount_finds_spotfs_yaml_and_refuses_bad_points(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.csv").write_text("k\nv\n")
    (tmp_path / "spotfs.yaml").write_text("source: ./src\ndatasets:\n  a.csv:\n"
                                          "    columns: { k: keep }\n")
    mnt = tmp_path / "new-mnt"  # created by mount
    env = dict(os.environ)
    r = subprocess.run([SPOTFS, "mount", "--ttl", "2h", str(mnt)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60, env=env)
    try:
        assert r.returncode == 0, r.stderr
        assert "mounted on" in r.stdout and is_mounted(str(mnt))
        assert open(mnt / "a.csv").read() == "k\nv\n"
        r2 = subprocess.run([SPOTFS, "mount", str(mnt)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
        assert r2.returncode == 1 and "already a mount point" in r2.stderr
    finally:
        assert spotfs("unmount", str(mnt)).returncode == 0
    assert not is_mounted(str(mnt))
    r = subprocess.run([SPOTFS, "mount", str(src / "inside")], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "inside the source" in r.stderr
    r = subprocess.run([SPOTFS, "mount", "--ttl", "48h", str(mnt)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "max_ttl" in r.stderr


def test_no_config_anywhere(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "x"))
    r = subprocess.run([SPOTFS, "check"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60, env=env)
    assert r.returncode == 1 and "no config" in r.stderr


def test_check_warns_about_missing_columns_and_unmasked_pii(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.csv").write_text("id,email,phone,card\n"
                               "1,ann@corp.example,+1-555-123-4567,4111 1111 1111 1111\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("source: ./src\nunlisted_columns: keep\ndatasets:\n  a.csv:\n"
                   "    columns:\n      emial: { method: hash, optional: true }\n"
                   "      card: { method: redact }\n")
    r = spotfs("check", "-c", str(cfg))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "optional columns not in the data: emial" in r.stdout
    assert "column 'email' holds values that look like email" in r.stdout
    assert "column 'phone' holds values that look like phone" in r.stdout
    assert "column 'card'" not in r.stdout, "masked columns are not flagged"
    assert "ann@corp.example" not in r.stdout + r.stderr

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 17: a short run of the mixed soak (tests/bench/soak --mixed): a
few readers of every format under two roles, overlay writers, walkers,
extends and the TTL ending the run, with the script's own end checks; its
self-test (a wrong reference must be reported as mismatches and fail the
run, so the byte comparison is live); and the one defect the soak found,
reproduced on its own and fixed: a folder held open across the expiry
leaked its directory handle in the daemon (LeakSanitizer at exit)."""
import os
import re
import subprocess
import sys
import time

import pytest

from conftest import ROOT, SPOTFS, SANITIZER, is_mounted, needs_duckdb

SCRIPT = os.path.join(ROOT, "tests", "bench", "soak_mixed.py")


def soak(*args, timeout=240):
    return subprocess.run(
        [sys.executable, SCRIPT, "--spotfs", SPOTFS, "--readers", "4",
         "--writers", "2", "--rows", "400", "--extend-every", "8",
         "--sample-every", "5", *args],
        capture_output=True, text=True, timeout=timeout)


@needs_duckdb
def test_mixed_soak_smoke():
    r = soak("--minutes", "0.2")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "errors: 0, mismatches: 0" in out, out
    assert "store folder deleted" in out and "audit --verify ok" in out, out
    assert "'expire': 1" in out, out
    assert re.search(r"extends: [1-9]\d* ok", out), out


@needs_duckdb
def test_mixed_soak_reports_a_wrong_reference():
    r = soak("--minutes", "0.1", "--corrupt-ref", "crm/users.csv")
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert re.search(r"MISMATCH: r\d+-analyst .*crm/users\.csv", out), out
    assert "errors: 0, mismatches: 0" not in out, out


def test_folder_held_across_expiry_is_freed(tmp_path):
    """A process holding a folder of the mount open when the TTL ends: the
    daemon must free the folder's handle (the kernel sends no RELEASEDIR
    once the session is over), as it does for held files."""
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    (src / "a.csv").write_text("k,v\n1,2\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("source: %s\nstore: %s\ndatasets:\n  a.csv: { columns: { k: keep } }\n"
                   % (src, tmp_path / "store"))
    log = tmp_path / "daemon.log"
    with open(log, "wb") as lf:
        p = subprocess.Popen([SPOTFS, "mount", "-f", "-c", str(cfg), "--ttl", "3s",
                              str(mnt)], stdout=lf, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        end = time.time() + 30
        while not is_mounted(str(mnt)) and time.time() < end and p.poll() is None:
            time.sleep(0.05)
        assert is_mounted(str(mnt)), log.read_text()
        fd = os.open(str(mnt), os.O_RDONLY | os.O_DIRECTORY)
        held = os.open(str(mnt / "a.csv"), os.O_RDONLY)  # files are freed
        p.wait(timeout=30)
        for f in (fd, held):
            try:
                os.close(f)
            except OSError:
                pass
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if is_mounted(str(mnt)):
            subprocess.run(["fusermount3", "-u", "-z", str(mnt)])
    text = log.read_text(errors="replace")
    assert not SANITIZER.search(text), text

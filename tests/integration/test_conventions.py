# SPDX-License-Identifier: LGPL-2.1-or-later
"""Linux conventions and messages that tell the truth (issue 16): another
user's status/unmount is "permission denied" (and audited), unmount of a
non-mount says so, /dev/fuse that cannot be opened gets a hint, a non-empty
mount point is warned about, extend that would shorten needs --shorten,
`spotfs list` works without a home folder, --version names the runtime
libraries, status takes any path inside a mount (or none), check and
preview --json."""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import SPOTFS, root_not_a_mount, spotfs

OTHER = 4545


def as_uid(uid, *cmd, env=None):
    e = {"PATH": os.environ["PATH"], "HOME": "/nonexistent-home-%d" % uid}
    if env:
        e.update(env)
    return subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                           "--clear-groups", *cmd], capture_output=True,
                          text=True, timeout=60, env=e)


def basic(sandbox, name="conv"):
    s = sandbox(name)
    s.write("t.csv", "id,email\n1,a@b.example\n")
    s.write_config("source: @SRC@\ndatasets:\n  t.csv:\n"
                   "    columns: { id: keep, email: hash }\n")
    return s


def audit_events(sid):
    r = spotfs("audit", "--sandbox", sid, "--json")
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def test_other_users_status_and_unmount_are_permission_denied(sandbox):
    s = basic(sandbox)
    s.mount()
    try:
        sid = json.loads(spotfs("status", "--json", s.mnt).stdout)["id"]
        for cmd in (["status", s.mnt], ["unmount", s.mnt],
                    ["status", s.path("t.csv")],
                    ["extend", s.mnt, "--ttl", "1h"]):
            r = as_uid(OTHER, SPOTFS, *cmd)
            assert r.returncode == 1, (cmd, r)
            assert "permission denied" in r.stderr, (cmd, r.stderr)
            assert "no sandbox is mounted" not in r.stderr
        assert os.path.ismount(s.mnt)  # still there
        deadline = time.time() + 20  # the records are queued, not waited for
        while True:
            ev = [e for e in audit_events(sid) if e.get("reason", "")
                  .startswith("another user's command")]
            if {e["detail"] for e in ev} >= {"status", "unmount", "extend"} \
                    or time.time() > deadline:
                break
            time.sleep(0.2)
        assert {e["detail"] for e in ev} >= {"status", "unmount", "extend"}
        assert all(e["uid"] == OTHER and e["decision"] == "deny" for e in ev)
        # the owner's own status is not recorded as a refusal
        n = len(ev)
        assert spotfs("status", s.mnt).returncode == 0
        assert len([e for e in audit_events(sid) if e.get("reason", "")
                    .startswith("another user's command")]) == n
    finally:
        s.unmount()


def test_unmount_of_a_non_mount_says_so(tmp_path):
    d = tmp_path / "plain"
    d.mkdir()
    r = spotfs("unmount", str(d))
    assert r.returncode == 1
    assert "is not a mount point" in r.stderr, r.stderr
    r = spotfs("unmount", str(tmp_path / "missing"))
    assert r.returncode == 1 and "is not a mount point" in r.stderr
    # a mount that is not spotfs is refused, never unmounted
    r = spotfs("unmount", "/proc")
    assert r.returncode == 1
    assert "is not a spotfs mount (it is proc)" in r.stderr, r.stderr
    assert os.path.ismount("/proc")


def test_dev_fuse_not_accessible_gets_a_hint(sandbox, tmp_path):
    s = basic(sandbox, "devfuse")
    blocked = tmp_path / "nofuse"
    blocked.write_text("")
    os.chmod(blocked, 0o600)
    mnt = tmp_path / "m"
    mnt.mkdir()
    os.chmod(mnt, 0o777)
    os.chmod(s.config, 0o644)
    why = root_not_a_mount("unshare --propagation private")
    if why:
        pytest.skip(why)
    # in a mount namespace of its own, /dev/fuse is a root-only file
    r = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         'mount --bind "$1" /dev/fuse && exec setpriv --reuid=%d '
         '--regid=%d --clear-groups env HOME=/nonexistent "$2" mount '
         '-c "$3" "$4"' % (OTHER, OTHER), "sh", str(blocked), SPOTFS,
         s.config, str(mnt)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r
    assert "cannot open /dev/fuse" in r.stderr, r.stderr
    assert "group" in r.stderr and "root" in r.stderr
    assert not os.path.ismount(mnt)


def test_mount_over_non_empty_folder_warns(sandbox):
    s = basic(sandbox, "nonempty")
    with open(s.path("left-over.txt"), "w") as f:
        f.write("x")
    r = spotfs("mount", "-c", s.config, s.mnt)
    try:
        assert r.returncode == 0, r.stderr
        assert "is not empty" in r.stderr and "hidden" in r.stderr, r.stderr
    finally:
        spotfs("unmount", s.mnt)
    s2 = basic(sandbox, "empty")
    r = spotfs("mount", "-c", s2.config, s2.mnt)
    try:
        assert r.returncode == 0 and "not empty" not in r.stderr
    finally:
        spotfs("unmount", s2.mnt)


def test_extend_that_shortens_needs_shorten(sandbox):
    s = basic(sandbox, "ext")
    s.mount("--ttl", "2h")
    try:
        r = spotfs("extend", s.mnt, "--ttl", "10m")
        assert r.returncode == 1
        assert "--shorten" in r.stderr and "would shorten" in r.stderr
        left = json.loads(spotfs("status", "--json", s.mnt).stdout)
        assert left["seconds_left"] > 3600  # unchanged
        r = spotfs("extend", s.mnt, "--ttl", "10m", "--shorten")
        assert r.returncode == 0, r.stderr
        left = json.loads(spotfs("status", "--json", s.mnt).stdout)
        assert left["seconds_left"] <= 600
        r = spotfs("extend", s.mnt, "--ttl", "1h")  # longer: no flag
        assert r.returncode == 0, r.stderr
        # a unitless ttl is refused, as the message says
        r = spotfs("extend", s.mnt, "--ttl", "90")
        assert r.returncode == 2 and "unit" in r.stderr
    finally:
        s.unmount()


def test_list_without_a_home_folder():
    uid = 4646
    r = as_uid(uid, SPOTFS, "list")
    assert r.returncode == 0, r.stderr
    r = as_uid(uid, SPOTFS, "list", "--json")
    assert r.returncode == 0, r.stderr
    json.loads(r.stdout)
    st = os.lstat("/tmp/spotfs-state-%d" % uid)
    assert st.st_uid == uid and st.st_mode & 0o077 == 0


def test_version_names_runtime_libraries():
    r = spotfs("--version")
    assert r.returncode == 0
    out = r.stdout
    for lib in ("libfuse", "SQLite", "libsodium", "libyaml", "Lua", "AES"):
        assert re.search(r"^  %s +\S" % lib, out, re.M), (lib, out)
    import sqlite3
    assert sqlite3.sqlite_version in out  # the same shared library
    assert spotfs("version").stdout == out


def test_status_by_any_path_inside_and_without_argument(sandbox):
    s = basic(sandbox, "stat")
    s.mount()
    try:
        ref = json.loads(spotfs("status", "--json", s.mnt).stdout)
        inside = json.loads(spotfs("status", "--json",
                                   s.path("t.csv")).stdout)
        assert inside["id"] == ref["id"]
        os.mkdir(s.path("sub"))
        deeper = json.loads(spotfs("status", "--json",
                                   s.path("sub/../sub/.")).stdout)
        assert deeper["id"] == ref["id"]
        # the only live sandbox of this test session's registry
        r = spotfs("status", "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["id"] == ref["id"]
        s2 = basic(sandbox, "stat2")
        s2.mount()
        r = spotfs("status")
        assert r.returncode == 2 and "2 live sandboxes" in r.stderr
        s2.unmount()
    finally:
        s.unmount()
    r = spotfs("status")
    assert r.returncode == 2 and "no live sandbox" in r.stderr


def test_check_and_preview_json(sandbox):
    s = basic(sandbox, "js")
    r = spotfs("check", "-c", s.config, "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["ok"] is True and j["errors"] == 0 and j["warnings"] == 0
    assert any("t.csv" in m["text"] for m in j["messages"])
    # an error is an error in JSON too
    s.write_config("source: @SRC@\ndatasets:\n  t.csv:\n"
                   "    columns: { id: keep, emial: hash }\n")
    r = spotfs("check", "-c", s.config, "--json")
    assert r.returncode == 1
    j = json.loads(r.stdout)
    assert j["ok"] is False and j["errors"] >= 1
    assert any(m["level"] == "error" for m in j["messages"])
    key = os.path.join(s.base, "js.secret")
    with open(key, "w") as f:
        f.write("a stable secret for preview 0123456789")
    os.chmod(key, 0o600)
    s.write_config("source: @SRC@\nsecret: %s\ndatasets:\n  t.csv:\n"
                   "    columns: { id: keep, email: hash }\n" % key)
    r = spotfs("preview", "-c", s.config, "t.csv", "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["columns"] == ["id", "email"] and j["role"] == "default"
    assert len(j["rows"]) == 1 and j["rows"][0][0] == "1"
    assert j["rows"][0][1] != "a@b.example"  # masked, as the mount
    text = spotfs("preview", "-c", s.config, "t.csv").stdout
    assert j["rows"][0][1] in text

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 11, findings 9-12, through real mounts: roles never share overlay
bytes or names, expiry leaves nothing readable through held descriptors or
mappings, the daemon cannot dump core, and overlay names never reach the
disk in plaintext."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import STATE_DIR, SPOTFS, is_mounted, spotfs

MARK = b"OVERLAY-LEAK-MARK"
SALARY = "98765"
ANALYST_GID = 4242  # root with this gid is an analyst too: it can write


def people():
    return "id,country,salary\n1,DE,%s\n2,FR,12345\n" % SALARY


def roles_config(s, extra=""):
    """root: steward; uid 65534 or gid 4242: analyst; others: guest."""
    s.store = os.path.join(s.base, s.mnt.rsplit("/", 1)[1] + "-store")
    s.write("people.csv", people())
    s.write("plain.csv", "k,v\n1,two\n")
    s.write_config(
        "source: @SRC@\nstore: %s\n%sroles:\n"
        "  analyst: { users: [65534], groups: [%d] }\n"
        "  steward: { users: [root] }\n"
        "default_role: guest\n"
        "datasets:\n"
        "  people.csv:\n    columns:\n      id: keep\n      country: keep\n"
        "      salary: { method: generalize, to: range, step: 10000 }\n"
        "    roles:\n      steward:\n        columns:\n          salary: keep\n"
        "  plain.csv:\n    columns:\n      k: keep\n      v: keep\n"
        % (s.store, extra, ANALYST_GID))


def as_nobody(*cmd, **kw):
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                           "--clear-groups", *cmd], capture_output=True,
                          timeout=60, **kw)


def as_analyst_root(*cmd, **kw):
    """root in the analyst role (by its gid): may write anywhere."""
    return subprocess.run(["setpriv", "--regid=%d" % ANALYST_GID,
                           "--clear-groups", *cmd], capture_output=True,
                          timeout=60, **kw)


def sandbox_id(s):
    r = spotfs("list", "--json", "--all")
    for e in json.loads(r.stdout):
        if e.get("mountpoint") == os.path.realpath(s.mnt):
            return e["id"]
    raise AssertionError("not listed")


def audit_events(sid):
    r = spotfs("audit", "--sandbox", sid, "--json")
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def wait_gone(s, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if not is_mounted(s.mnt) and s.proc.poll() is not None:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def roles(sandbox):
    s = sandbox("ovroles")
    roles_config(s)
    s.mount()
    return s


# ---- finding 9: roles never share overlay bytes ----

def test_overlay_file_is_invisible_to_other_roles(roles):
    s = roles
    old = os.umask(0o022)
    try:
        with open(s.path("result.csv"), "w") as f:  # the steward's result
            f.write(open(s.path("people.csv")).read())
    finally:
        os.umask(old)
    assert SALARY in open(s.path("result.csv")).read()
    r = as_nobody("cat", s.path("result.csv"))
    assert r.returncode != 0 and b"No such file" in r.stderr, r
    assert SALARY.encode() not in r.stdout
    r = as_nobody("ls", "-a", s.path())
    assert r.returncode == 0 and b"result.csv" not in r.stdout, r.stdout
    r = as_nobody("stat", s.path("result.csv"))
    assert r.returncode != 0
    # The same kernel, right after: the steward still has it.
    assert SALARY in open(s.path("result.csv")).read()
    assert "result.csv" in os.listdir(s.path())


def test_overlay_folder_and_nested_file_are_per_role(roles):
    s = roles
    os.mkdir(s.path("out"))
    with open(s.path("out/r.txt"), "wb") as f:
        f.write(MARK)
    for cmd in (["ls", s.path("out")], ["cat", s.path("out/r.txt")],
                ["stat", s.path("out")]):
        r = as_nobody(*cmd)
        assert r.returncode != 0 and MARK not in r.stdout, (cmd, r)
    r = as_analyst_root("cat", s.path("out/r.txt"))
    assert r.returncode != 0 and MARK not in r.stdout
    # The analyst may make its own "out": it starts empty.
    r = as_analyst_root("sh", "-c", "mkdir %s && ls -A %s" % (s.path("out"),
                                                             s.path("out")))
    assert r.returncode == 0 and r.stdout == b"", r
    assert open(s.path("out/r.txt"), "rb").read() == MARK


def test_same_name_in_two_roles_keeps_two_contents(roles):
    s = roles
    with open(s.path("same.txt"), "w") as f:
        f.write("steward-bytes")
    r = as_analyst_root("sh", "-c", "echo analyst-bytes > %s; cat %s"
                        % (s.path("same.txt"), s.path("same.txt")))
    assert r.returncode == 0 and r.stdout == b"analyst-bytes\n", r
    assert open(s.path("same.txt")).read() == "steward-bytes"
    r = as_analyst_root("cat", s.path("same.txt"))
    assert r.stdout == b"analyst-bytes\n"
    # Alternating walks through the shared dentry cache stay apart.
    for _ in range(3):
        assert open(s.path("same.txt")).read() == "steward-bytes"
        assert as_analyst_root("cat", s.path("same.txt")).stdout == b"analyst-bytes\n"


def test_delete_and_rename_of_views_stay_in_the_role(roles):
    s = roles
    r = as_analyst_root("sh", "-c", "rm %s && mv %s %s" % (
        s.path("people.csv"), s.path("plain.csv"), s.path("moved.csv")))
    assert r.returncode == 0, r
    r = as_analyst_root("ls", s.path())
    assert b"people.csv" not in r.stdout and b"moved.csv" in r.stdout
    names = os.listdir(s.path())
    assert "people.csv" in names and "plain.csv" in names, names
    assert "moved.csv" not in names
    assert SALARY in open(s.path("people.csv")).read()
    assert open(s.path("plain.csv")).read() == "k,v\n1,two\n"
    r = as_nobody("cat", s.path("people.csv"))
    assert r.returncode != 0  # the analyst role deleted it for itself


def test_copy_up_of_a_view_is_the_role_s(roles):
    s = roles
    with open(s.path("plain.csv"), "a") as f:  # steward copies up
        f.write("2,steward-appended\n")
    assert "steward-appended" in open(s.path("plain.csv")).read()
    for run in (as_nobody, as_analyst_root):
        r = run("cat", s.path("plain.csv"))
        assert r.returncode == 0 and r.stdout == b"k,v\n1,two\n", r


def test_held_handle_of_another_role_is_refused(roles):
    """An analyst (root, gid 4242) reopening the steward's descriptor
    through /proc gets ENOENT: open and getattr check the role."""
    s = roles
    with open(s.path("held.txt"), "wb") as f:
        f.write(MARK)
    os.mkdir(s.path("held-dir"))
    with open(s.path("held-dir/inner.txt"), "wb") as f:
        f.write(MARK)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import os,sys,time; fd=os.open(sys.argv[1], os.O_RDONLY); "
         "os.chdir(sys.argv[2]); print(fd, flush=True); time.sleep(60)",
         s.path("held.txt"), s.path("held-dir")],
        stdout=subprocess.PIPE)
    try:
        fd = int(holder.stdout.readline())
        link = "/proc/%d/fd/%d" % (holder.pid, fd)
        r = as_analyst_root("cat", link)
        assert r.returncode != 0 and MARK not in r.stdout, r
        r = as_analyst_root("stat", "-L", link)
        assert r.returncode != 0, r
        cwd = "/proc/%d/cwd" % holder.pid
        for cmd in (["ls", cwd + "/"], ["cat", cwd + "/inner.txt"]):
            r = as_analyst_root(*cmd)
            assert r.returncode != 0 and b"inner" not in r.stdout and \
                MARK not in r.stdout, (cmd, r)
        assert open(link, "rb").read() == MARK  # the steward still can
        assert open(cwd + "/inner.txt", "rb").read() == MARK
    finally:
        holder.kill()
        holder.wait()


def test_overlay_shared_restores_one_overlay(sandbox):
    s = sandbox("ovshared")
    roles_config(s, "overlay: shared\n")
    s.mount()
    old = os.umask(0o022)
    try:
        with open(s.path("result.csv"), "w") as f:
            f.write("steward result %s\n" % SALARY)
    finally:
        os.umask(old)
    r = as_nobody("cat", s.path("result.csv"))
    assert r.returncode == 0 and SALARY.encode() in r.stdout, r


def test_overlay_key_rejects_other_values(sandbox):
    s = sandbox("ovbad")
    roles_config(s, "overlay: everyone\n")
    r = spotfs("check", "-c", s.config)
    assert r.returncode != 0 and "overlay" in (r.stdout + r.stderr), r


def test_overlay_open_is_audited_with_role(roles):
    s = roles
    with open(s.path("r.txt"), "wb") as f:  # create: an open for writing
        f.write(MARK)
    assert open(s.path("r.txt"), "rb").read() == MARK
    r = as_analyst_root("cat", s.path("r.txt"))  # refused: not audited as open
    assert r.returncode != 0
    evs = audit_events(sandbox_id(s))
    ev = [e for e in evs if e["event"] == "overlay_open"]
    assert [e["detail"] for e in ev] == ["write", "read"], ev
    created = [e for e in evs if e["event"] == "overlay_create"][0]
    for e in ev:
        assert e["role"] == "steward" and e["uid"] == 0 and e["pid"] > 0, e
        assert e["path"] == created["path"], (e, created)
    assert re.fullmatch(r"ovl:[0-9a-f]{16}", created["path"]), created


def test_other_roles_cannot_probe_names(roles):
    """No existence side channel: an analyst may create (O_EXCL), link or
    symlink to any name the steward uses, and sees only its own."""
    s = roles
    with open(s.path("probe.txt"), "wb") as f:
        f.write(MARK)
    os.mkdir(s.path("pdir"))
    r = as_analyst_root(sys.executable, "-c",
                        "import os,sys; fd=os.open(sys.argv[1], os.O_CREAT|"
                        "os.O_EXCL|os.O_WRONLY, 0o644); os.write(fd, b'mine'); "
                        "os.mkdir(sys.argv[2]); os.symlink(sys.argv[1], "
                        "sys.argv[3]); print(open(sys.argv[3]).read())",
                        s.path("probe.txt"), s.path("pdir"), s.path("link"))
    assert r.returncode == 0 and r.stdout == b"mine\n", r
    r = as_nobody("sh", "-c", "ln -s %s /tmp/ovl-probe-$$ ; cat /tmp/ovl-probe-$$; "
                  "rm -f /tmp/ovl-probe-$$" % s.path("probe.txt"))
    assert MARK not in r.stdout
    assert open(s.path("probe.txt"), "rb").read() == MARK
    assert not os.path.lexists(s.path("link"))


def test_name_digests_follow_the_secret(sandbox, tmp_path):
    """Same path, same digest across sandboxes sharing a secret file;
    different with secret: random."""
    key = tmp_path / "secret.bin"
    key.write_bytes(os.urandom(32))
    os.chmod(key, 0o600)
    digests = []
    for name, secret in (("dg1", str(key)), ("dg2", str(key)), ("dg3", "random")):
        s = sandbox(name)
        roles_config(s, "secret: %s\n" % secret if secret != "random" else "")
        s.mount()
        with open(s.path("same-name.txt"), "wb") as f:
            f.write(b"x")
        sid = sandbox_id(s)
        s.unmount()
        digests.append([e["path"] for e in audit_events(sid)
                        if e["event"] == "overlay_create"][0])
    assert digests[0] == digests[1] != digests[2], digests


# ---- finding 12: overlay names never reach the disk in plaintext ----

NAME = b"alice.smith@example.com"


def test_overlay_names_are_not_written_in_plaintext(sandbox):
    s = sandbox("ovnames")
    roles_config(s)
    s.mount()
    sid = sandbox_id(s)
    os.mkdir(s.path("x"))
    p = s.path("x/alice.smith@example.com.csv")
    with open(p, "wb") as f:
        f.write(b"a,b\n" * 3000)
    assert open(p, "rb").read(4) == b"a,b\n"
    os.rename(p, s.path("x/alice.smith@example.com.bak"))
    os.mkdir(s.path("alice.smith@example.com"))
    os.rmdir(s.path("alice.smith@example.com"))
    os.unlink(s.path("x/alice.smith@example.com.bak"))
    with open(s.path("x/alice.smith@example.com.csv"), "wb") as f:
        f.write(b"again")
    store_files = []
    for root, dirs, files in os.walk(s.store):
        store_files += [os.path.join(root, n) for n in dirs + files]
    s.unmount()
    hits = []
    for top in (STATE_DIR, s.store):
        for root, dirs, files in os.walk(top):
            for n in dirs + files:
                full = os.path.join(root, n)
                if b"alice" in n.encode():
                    hits.append(full)
                if os.path.isfile(full):
                    with open(full, "rb") as f:
                        if NAME in f.read():
                            hits.append(full)
    assert not [f for f in store_files if "alice" in f]
    assert not hits, hits
    assert NAME not in open(s.log, "rb").read()
    # The audit still tells the steward something happened, under a digest
    # that is the same for the same path within the sandbox.
    ev = audit_events(sid)
    paths = [e["path"] for e in ev if e["event"].startswith("overlay_")]
    assert paths and all(re.fullmatch(r"ovl:[0-9a-f]{16}", p) for p in paths), paths
    creates = [e["path"] for e in ev if e["event"] == "overlay_create"]
    assert len(creates) == 4 and creates[1] == creates[3], creates
    assert creates[0] != creates[1]
    ren = [e for e in ev if e["event"] == "overlay_rename"][0]
    assert re.fullmatch(r"ovl:[0-9a-f]{16}", ren["detail"]), ren


def test_dataset_names_stay_plain_in_overlay_events(sandbox):
    s = sandbox("ovdsname")
    roles_config(s)
    s.mount()
    sid = sandbox_id(s)
    os.unlink(s.path("plain.csv"))
    ev = [e for e in audit_events(sid) if e["event"] == "overlay_delete"]
    assert ev and ev[-1]["path"] == "plain.csv", ev


# ---- finding 10: expiry leaves nothing readable ----

HOLDER = r"""
import mmap, os, sys
path, how = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDONLY)
m = mmap.mmap(fd, 0, prot=mmap.PROT_READ) if how == "mmap" else None
first = m[:] if m else os.pread(fd, 1 << 20, 0)
print("ready", len(first), flush=True)
sys.stdin.readline()  # the sandbox has expired
try:
    data = m[:] if m else os.pread(fd, 1 << 20, 0)
except OSError as e:
    print("error", e.errno, flush=True)
    sys.exit(0)
print("bytes", len(data), sys.argv[3].encode() in data, flush=True)
"""


@pytest.mark.parametrize("how", ["ttl", "SIGTERM", "SIGHUP", "unmount-z"])
def test_expiry_leaves_held_fds_and_mappings_unreadable(sandbox, how):
    """Every ending the daemon sees coming drops the page cache first."""
    s = sandbox("ovttl-" + how.lower())
    roles_config(s)
    s.mount("--ttl", "4s" if how == "ttl" else "1h")
    with open(s.path("mine.bin"), "wb") as f:
        f.write(MARK * 100)
    holders = []
    for path, mark in ((s.path("mine.bin"), MARK.decode()),
                       (s.path("people.csv"), SALARY)):
        for mode in ("fd", "mmap"):
            p = subprocess.Popen([sys.executable, "-c", HOLDER, path, mode, mark],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True)
            line = p.stdout.readline()
            assert line.startswith("ready") and line.split()[1] != "0", line
            holders.append((path, mode, p))
    if how == "unmount-z":
        r = spotfs("unmount", "-z", s.mnt)
        assert r.returncode == 0, r.stderr
    elif how != "ttl":
        os.kill(s.proc.pid, getattr(signal, how))
    assert wait_gone(s, 20), "the sandbox outlived its end"
    for path, mode, p in holders:
        out, _ = p.communicate("go\n", timeout=30)
        # SIGBUS (mapping) or an errno (descriptor) pass; bytes fail.
        assert p.returncode == -7 or out.startswith("error"), (path, mode, out,
                                                                p.returncode)


# ---- finding 11: no core dumps ----

def daemon_pid(s):
    # spotfs mount -f runs the daemon in the Popen'd process itself.
    return s.proc.pid


def test_daemon_core_limit_is_zero(roles):
    with open("/proc/%d/limits" % daemon_pid(roles)) as f:
        line = [l for l in f if l.startswith("Max core file size")][0]
    assert line.split()[4:6] == ["0", "0"], line


def test_daemon_is_not_dumpable(roles):
    """The daemon's own view (prctl PR_GET_DUMPABLE, getrlimit), through
    spotfs status: a root-run daemon's dumpable flag is not observable from
    outside (root passes every ptrace check), and this machine cannot run a
    non-root FUSE daemon (/dev/fuse is root's)."""
    r = spotfs("status", roles.mnt)
    assert r.returncode == 0, r.stderr
    assert "core dumps: off" in r.stdout, r.stdout


# ---- round 2, F3: a caller's role sees all its supplementary groups ----

RESTRICTED_GID = 5070


def groups_config(s, store=True):
    """gid 5070: contractor (no access to secret.csv); others: staff."""
    s.write("secret.csv", "id,salary\n1,SALARYRAW91234\n")
    s.store = os.path.join(s.base, s.mnt.rsplit("/", 1)[1] + "-store")
    s.write_config(
        "source: @SRC@\nstore: %s\nroles:\n"
        "  contractor: { groups: [%d] }\n"
        "default_role: staff\n"
        "datasets:\n  secret.csv:\n    allow: [staff]\n"
        "    columns: { id: keep, salary: keep }\n"
        % (s.store, RESTRICTED_GID))


def as_groups(groups, *cmd, root=False):
    uid = [] if root else ["--reuid=65534"]
    return subprocess.run(["setpriv", *uid, "--regid=65534",
                           "--groups=" + ",".join(map(str, groups)), *cmd],
                          capture_output=True, timeout=60)


@pytest.mark.parametrize("groups", [
    [5069, RESTRICTED_GID],                            # the reviewer's control
    list(range(5000, 5071)),                           # 71 groups, 5070 last
    list(range(5006, 5071)),                           # 65 groups: the 65th
    list(range(4000, 4400)) + [RESTRICTED_GID],        # 401, sorted last
    [RESTRICTED_GID] + list(range(6000, 6100)),        # first of 101
], ids=["2", "71-last", "65th", "401", "101-first"])
def test_role_group_after_the_64th_still_counts(sandbox, groups):
    """A caller whose role comes from its 65th (or later) supplementary
    group gets that role: the restricted file stays closed to it, in open,
    stat-based listing and the overlay alike."""
    s = sandbox("grp64")
    groups_config(s)
    s.mount()
    r = as_groups(groups, "cat", s.path("secret.csv"))
    assert b"SALARYRAW91234" not in r.stdout, r
    assert r.returncode != 0 and b"Permission denied" in r.stderr, r
    # The overlay it writes to is the contractor's, not staff's.
    # (root, so it may write the mount's root folder).
    r = as_groups(groups, "sh", "-c", "echo MINE > %s" % s.path("c.txt"),
                  root=True)
    assert r.returncode == 0, r
    r = as_groups([RESTRICTED_GID], "cat", s.path("c.txt"), root=True)
    assert r.stdout == b"MINE\n", r
    r = as_groups([4000], "ls", s.path(), root=True)
    assert r.returncode == 0 and b"c.txt" not in r.stdout, r
    # Without the group: staff, who may read it.
    r = as_groups(groups[:-1] if groups[-1] == RESTRICTED_GID else groups[1:],
                  "cat", s.path("secret.csv"))
    assert r.returncode == 0 and b"SALARYRAW91234" in r.stdout, r
    ev = [e for e in audit_events(sandbox_id(s))
          if e.get("path", "").endswith("secret.csv") and e.get("uid") == 65534]
    assert any(e.get("role") == "contractor" and e.get("decision") == "deny"
               for e in ev), ev


def test_lua_access_gets_every_group(sandbox):
    """access(ctx) sees the caller's full group list, even past 64 and
    when no role is defined by groups."""
    s = sandbox("grplua")
    s.write("people.csv", "id,country\n1,DE\n")
    pol = os.path.join(s.base, "p.lua")
    with open(pol, "w") as f:
        f.write("function access(ctx)\n"
                "  for _, g in ipairs(ctx.groups) do\n"
                "    if g == %d then return false end\n"
                "  end\n  return true\nend\n" % RESTRICTED_GID)
    s.write_config("source: @SRC@\ndatasets:\n  people.csv:\n    policy: %s\n"
                   "    columns: { id: keep, country: keep }\n" % pol)
    s.mount()
    r = as_groups(list(range(5000, 5071)), "cat", s.path("people.csv"))
    assert r.returncode != 0 and b"Permission denied" in r.stderr, r
    r = as_groups([RESTRICTED_GID], "cat", s.path("people.csv"))
    assert r.returncode != 0 and b"Permission denied" in r.stderr, r
    r = as_groups(list(range(5000, 5070)), "cat", s.path("people.csv"))
    assert r.returncode == 0 and b"DE" in r.stdout, r


def test_unreadable_groups_fail_closed(sandbox):
    """When the caller's groups cannot be read (here: a daemon in its own
    pid namespace gets pid 0 for callers outside it), the request fails
    with EIO and a deny record: never the role of a caller without groups."""
    s = sandbox("grpns")
    groups_config(s)
    logf = open(s.log, "ab")
    s.proc = subprocess.Popen(["unshare", "--pid", "--fork", SPOTFS, "mount",
                               "-f", "-c", s.config, s.mnt],
                              stdout=logf, stderr=subprocess.STDOUT,
                              start_new_session=True)
    logf.close()
    end = time.time() + 30
    while not is_mounted(s.mnt) and time.time() < end:
        assert s.proc.poll() is None, s.read_log()
        time.sleep(0.05)
    assert is_mounted(s.mnt), s.read_log()
    r = as_groups([RESTRICTED_GID], "cat", s.path("secret.csv"))
    assert b"SALARYRAW91234" not in r.stdout, r
    assert r.returncode != 0 and b"Input/output error" in r.stderr, r
    r = as_groups([RESTRICTED_GID], "sh", "-c",
                  "echo X > %s" % s.path("c.txt"), root=True)
    assert r.returncode != 0, r
    assert "caller's groups cannot be read" in s.read_log()
    ev = [e for e in audit_events(sandbox_id(s)) if e["event"] == "deny"]
    assert any("groups cannot be read" in e["reason"] for e in ev), ev
    # The registry holds the daemon's pid inside its namespace, which
    # `spotfs unmount` cannot wait for: unmount through the kernel instead.
    subprocess.run(["fusermount3", "-u", s.mnt], check=True)
    s.proc.wait(timeout=30)


def test_process_names_from_the_overlay_never_reach_the_disk(sandbox):
    """A script or a copied binary in the overlay named like a person opens
    a dataset: the audit's process field holds the executable's name
    (python3) or a digest of an executable on the mount, never the file
    name /proc/PID/comm would give."""
    s = sandbox("comm")
    roles_config(s)
    s.mount()
    sid = sandbox_id(s)
    script = s.path("mary-smith-1984")
    with open(script, "w") as f:
        f.write("#!/usr/bin/python3\nimport sys\nprint(open(sys.argv[1]).read())\n")
    os.chmod(script, 0o755)
    r = subprocess.run([script, s.path("plain.csv")], capture_output=True,
                       timeout=60)
    assert r.returncode == 0 and b"two" in r.stdout, r.stderr
    binary = s.path("alicesmithsecret")
    with open("/bin/cat", "rb") as src, open(binary, "wb") as dst:
        dst.write(src.read())
    os.chmod(binary, 0o755)
    r = subprocess.run([binary, s.path("people.csv")], capture_output=True,
                       timeout=60)
    assert r.returncode == 0 and b"country" in r.stdout, r.stderr
    procs = [e.get("process") for e in audit_events(sid) if e["event"] == "open"]
    s.unmount()
    assert "python3" in procs or "python3.11" in procs, procs
    assert any(re.fullmatch(r"ovl:[0-9a-f]{16}", p or "") for p in procs), procs
    hits = []
    for root, dirs, files in os.walk(STATE_DIR):
        for n in files:
            with open(os.path.join(root, n), "rb") as f:
                data = f.read()
            if b"mary-smith" in data or b"alicesmith" in data:
                hits.append(os.path.join(root, n))
    assert not hits, hits

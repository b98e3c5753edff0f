# SPDX-License-Identifier: LGPL-2.1-or-later
"""Regression tests for the loose ends a reliability review found (issue
17): the audit log after a full state disk, gc after repeated crashes on
one mount point, `spotfs unmount` waiting for the daemon, --log with a
relative path, what release's byte count means, who the audit records
name, and device nodes in the overlay."""
import errno
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import SPOTFS, is_mounted

MARK = b"HARDENING-PLAINTEXT-MARK"


def run(*args, env=None, timeout=60):
    return subprocess.run([SPOTFS, *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def make(sandbox, tmp_path, name, extra=""):
    s = sandbox(name)
    s.store = str(tmp_path / (name + "-store"))
    s.write("a.csv", "k,email\n1,raw-hard@corp.example\n")
    s.write_config("source: @SRC@\nstore: %s\n%sdatasets:\n  a.csv:\n"
                   "    columns:\n      email: { method: hash }\n"
                   % (s.store, extra))
    return s


def sandbox_id(s, env=None):
    r = run("list", "--json", "--all", env=env)
    assert r.returncode == 0, r.stderr
    ids = [e["id"] for e in json.loads(r.stdout)
           if e.get("mountpoint") == os.path.realpath(s.mnt)
           and e.get("state") == "running"]
    assert len(ids) == 1, r.stdout
    return ids[0]


def events(sid=None, env=None):
    args = ["audit", "--json"] + (["--sandbox", sid] if sid else [])
    r = run(*args, env=env)
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def wait_gone(s, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if not is_mounted(s.mnt) and s.proc.poll() is not None:
            return True
        time.sleep(0.05)
    return False


# ---- 1. the audit log after a full state disk ----

@pytest.fixture
def small_state(tmp_path):
    """A 2 MiB tmpfs as the state folder: the disk that fills."""
    d = tmp_path / "small-state"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700",
                        "tmpfs", str(d)], capture_output=True, text=True)
    if r.returncode:
        pytest.skip("cannot mount a tmpfs: " + r.stderr.strip())
    try:
        yield str(d)
    finally:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def fill(path):
    """Write a file until the file system is full; its name."""
    filler = os.path.join(path, "filler")
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass
    return filler


def test_audit_log_recovers_when_the_disk_has_room_again(sandbox, tmp_path,
                                                         small_state):
    env = dict(os.environ, SPOTFS_STATE_DIR=small_state)
    s = make(sandbox, tmp_path, "full", "state_dir: %s\n" % small_state)
    s.mount(env=env)
    sid = sandbox_id(s, env)
    assert open(s.path("a.csv"), "rb").read().startswith(b"k,email")
    filler = fill(small_state)
    refused = 0
    for _ in range(3):  # every open while the disk is full fails closed
        with pytest.raises(OSError) as e:
            open(s.path("a.csv"), "rb").read()
        assert e.value.errno == errno.EIO
        refused += 1
    r = run("status", s.mnt, env=env)
    assert r.returncode == 0 and "audit: FAILING" in r.stdout, r.stdout
    assert "audit" in s.read_log()
    os.unlink(filler)
    end = time.time() + 15
    while True:  # the log is retried: opens work again without a remount
        try:
            data = open(s.path("a.csv"), "rb").read()
            break
        except OSError as e:
            assert e.errno == errno.EIO and time.time() < end, \
                "opens still refused after the disk has room again"
            refused += 1
            time.sleep(0.2)
    assert data.startswith(b"k,email") and b"raw-hard" not in data
    r = run("status", s.mnt, env=env)
    assert r.returncode == 0 and "audit: ok (" in r.stdout, r.stdout
    r = run("unmount", s.mnt, env=env)
    assert r.returncode == 0, r.stderr
    assert wait_gone(s, 20)
    evs = events(sid, env)
    kinds = [e["event"] for e in evs]
    assert kinds[0] == "mount" and kinds[-1] == "unmount", kinds
    errs = [e for e in evs if e["event"] == "audit_error"]
    assert len(errs) == 1, kinds
    # The outage is on record: what was lost and how many opens refused.
    assert "%d opens refused" % refused in errs[0]["detail"], errs[0]
    after = kinds[kinds.index("audit_error"):]
    assert "open" in after and "release" in after, kinds
    assert run("audit", "--verify", env=env).returncode == 0
    s.assert_clean_log()


# ---- 2. gc after repeated crashes on one mount point ----

def test_gc_names_each_crashed_sandbox_once(sandbox, tmp_path):
    s = make(sandbox, tmp_path, "regc")
    ids = []
    for _ in range(3):
        s.mount()
        sid = sandbox_id(s)
        ids.append(sid)
        with open(s.path("w.bin"), "wb") as f:
            f.write(MARK * 5000)  # in the store folder, not in memory
        os.kill(s.proc.pid, signal.SIGKILL)
        s.proc.wait(timeout=10)
        r = run("gc")
        assert r.returncode == 0, r.stdout + r.stderr
        assert sid in r.stdout, r.stdout
        assert not is_mounted(s.mnt), "stale mount left after gc"
        assert not os.path.exists(os.path.join(s.store, sid))
    r = run("gc")  # nothing left: finished records are not touched again
    assert r.returncode == 0 and "nothing to clean" in r.stdout, r.stdout
    gcs = [e for e in events() if e["event"] == "gc"]
    for sid in ids:
        mine = [e for e in gcs if e["sandbox"] == sid]
        assert len(mine) == 1, (sid, [(e["sandbox"], e["detail"]) for e in gcs])
        assert "unmounted" in mine[0]["detail"], mine[0]
        assert "store removed" in mine[0]["detail"], mine[0]
    r = run("list", "--json", "--all")
    states = {e["id"]: e["state"] for e in json.loads(r.stdout)}
    assert all(states[i] == "gc" for i in ids), states


# ---- 3. spotfs unmount returns once the daemon has exited ----

def test_unmount_waits_for_the_daemon_without_the_registry(sandbox, tmp_path):
    """The registry cannot be read (here: the state folder moved away, as
    when the state file system failed): unmount still finds the daemon
    (over its control socket) and returns only once it has exited."""
    state = str(tmp_path / "st")
    env = dict(os.environ, SPOTFS_STATE_DIR=state)
    s = make(sandbox, tmp_path, "unmw", "state_dir: %s\n" % state)
    s.mount(env=env)
    for i in range(40):  # a store to wipe: the daemon takes a moment
        with open(s.path("f%d.bin" % i), "wb") as f:
            f.write(MARK * 8000)
    os.rename(state, state + ".moved")
    r = run("unmount", s.mnt, env=env)
    exited = s.proc.poll() is not None
    assert r.returncode == 0, r.stdout + r.stderr
    assert exited, "spotfs unmount returned while the daemon still ran"
    assert not os.listdir(s.store), "the store was wiped before the return"


def test_unmount_says_why_when_the_daemon_does_not_exit(sandbox, tmp_path):
    s = make(sandbox, tmp_path, "unmstop")
    s.mount()
    os.kill(s.proc.pid, signal.SIGSTOP)  # a daemon that cannot finish
    try:
        t0 = time.time()
        r = run("unmount", "--timeout", "2s", s.mnt, timeout=60)
        took = time.time() - t0
        assert r.returncode != 0, r.stdout + r.stderr
        assert str(s.proc.pid) in r.stderr and "not exited" in r.stderr, \
            r.stderr
        assert took < 20, took
    finally:
        os.kill(s.proc.pid, signal.SIGCONT)
    assert wait_gone(s, 20)


# ---- 4. --log with a relative path ----

def test_log_with_a_relative_path(sandbox, tmp_path):
    s = make(sandbox, tmp_path, "rellog")
    name = "rel-%d.log" % os.getpid()
    r = subprocess.run([SPOTFS, "mount", "-c", s.config, "--log", name,
                        s.mnt], capture_output=True, text=True, timeout=60,
                       cwd=str(tmp_path))
    try:
        assert r.returncode == 0, r.stderr
        assert os.path.exists(str(tmp_path / name)), \
            "the log is not where --log said (relative to the caller)"
        assert not os.path.exists("/" + name)
    finally:
        if is_mounted(s.mnt):
            run("unmount", s.mnt)
        if os.path.exists("/" + name):
            os.unlink("/" + name)


# ---- 5. what release's byte count means ----

def test_release_bytes_are_what_the_daemon_served(sandbox, tmp_path):
    s = make(sandbox, tmp_path, "relbytes")
    s.mount()
    sid = sandbox_id(s)
    first = open(s.path("a.csv"), "rb").read()
    again = open(s.path("a.csv"), "rb").read()  # from the page cache
    assert first == again and b"raw-hard" not in first
    s.unmount()
    rel = [e for e in events(sid) if e["event"] == "release"]
    assert len(rel) == 2, rel
    assert rel[0]["bytes"] == len(first) and rel[0]["rows"] == 1, rel[0]
    # The second open was answered by the kernel's cache: the daemon
    # served nothing, and the record says that this is what it counts.
    assert rel[1]["bytes"] == 0 and rel[1]["rows"] is None, rel[1]
    for e in rel:
        assert "served by the daemon" in e["detail"], e


# ---- 6. every record names the real caller and the full path ----

AS_NOBODY = r"""
import os, sys
m = sys.argv[1]
print(os.getpid(), flush=True)
for p in ("d1/x.txt", "d2/x.txt", "d1/sub/x.txt"):
    with open(os.path.join(m, p), "wb") as f:
        f.write(b"%s" % p.encode())
os.link(os.path.join(m, "d1/x.txt"), os.path.join(m, "d1/sub/hard"))
os.truncate(os.path.join(m, "d1/sub/x.txt"), 3)
os.rename(os.path.join(m, "d1/x.txt"), os.path.join(m, "d2/y.txt"))
os.unlink(os.path.join(m, "d2/y.txt"))
"""


def test_overlay_records_name_the_caller_and_the_full_path(sandbox, tmp_path):
    s = make(sandbox, tmp_path, "who")
    s.mount()
    sid = sandbox_id(s)
    for d in ("d1", "d2", "d1/sub"):
        os.mkdir(s.path(d))
        os.chmod(s.path(d), 0o777)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                        "--clear-groups", "/usr/bin/python3", "-c", AS_NOBODY,
                        s.mnt], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    pid = int(r.stdout.split()[0])
    u = subprocess.Popen([SPOTFS, "unmount", s.mnt], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert u.wait(timeout=60) == 0, u.stderr.read()
    assert wait_gone(s, 20)
    evs = events(sid)
    mine = [e for e in evs if e["event"].startswith("overlay_")
            and e["pid"] == pid]
    kinds = [e["event"] for e in mine]
    for k in ("overlay_create", "overlay_open", "overlay_write",
              "overlay_rename", "overlay_delete"):
        assert k in kinds, (k, kinds)
    for e in mine:
        assert e["uid"] == 65534 and e["gid"] == 65534, e
        assert e["path"].startswith("ovl:") and len(e["path"]) == 20, e
    # Nothing the caller did is recorded as someone else (uid 0, pid 0).
    others = [e for e in evs if e["event"].startswith("overlay_")
              and e["pid"] != pid and e["detail"] != "folder"]
    assert not others, others
    creates = [e for e in mine if e["event"] == "overlay_create"]
    files = [e["path"] for e in creates if e["detail"] == "file"]
    # Same last name, three folders: three different digests of full paths.
    assert len(files) == 3 and len(set(files)) == 3, creates
    x1 = files[0]  # d1/x.txt
    writes = {e["path"] for e in mine if e["event"] == "overlay_write"}
    assert writes == set(files), (writes, files)
    assert any(e["detail"] == "hard link" for e in creates), creates
    trunc = [e for e in mine if e["event"] == "overlay_write"
             and e["detail"] == "truncated"]
    assert len(trunc) == 1 and trunc[0]["path"] == files[2], trunc
    ren = [e for e in mine if e["event"] == "overlay_rename"]
    assert len(ren) == 1 and ren[0]["path"] == x1, ren
    assert ren[0]["detail"].startswith("ovl:") and ren[0]["detail"] not in files
    dele = [e for e in mine if e["event"] == "overlay_delete"]
    assert len(dele) == 1 and dele[0]["path"] == ren[0]["detail"], dele
    assert "HARD" not in json.dumps(evs) and "x.txt" not in json.dumps(evs)
    end = [e for e in evs if e["event"] == "unmount"]
    assert len(end) == 1 and end[0]["reason"] == "spotfs unmount", end
    assert end[0]["uid"] == 0 and end[0]["pid"] == u.pid, (end, u.pid)


def test_overlay_write_record_names_the_file_as_it_was_opened(sandbox,
                                                              tmp_path):
    # The kernel sends RELEASE after close() returns, so a rename right
    # after the close (or while the file is open) must not move the write
    # record to the new name: it names the path the writes went through.
    s = make(sandbox, tmp_path, "wren")
    s.mount()
    sid = sandbox_id(s)
    os.mkdir(s.path("d1"))
    os.mkdir(s.path("d2"))
    fd = os.open(s.path("d1/w.txt"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"written before the rename")
    os.rename(s.path("d1/w.txt"), s.path("d2/v.txt"))
    os.close(fd)
    assert open(s.path("d2/v.txt"), "rb").read() == \
        b"written before the rename"
    s.unmount()
    evs = events(sid)
    create = [e for e in evs if e["event"] == "overlay_create"
              and e["detail"] == "file"]
    ren = [e for e in evs if e["event"] == "overlay_rename"]
    writes = [e for e in evs if e["event"] == "overlay_write"]
    assert len(create) == 1 and len(ren) == 1, (create, ren)
    assert ren[0]["path"] == create[0]["path"], ren
    assert len(writes) == 1, writes
    assert writes[0]["path"] == create[0]["path"] != ren[0]["detail"], \
        (writes, ren)
    assert writes[0]["bytes"] == 25, writes


@pytest.mark.parametrize("how", ["fusermount3", "umount"])
def test_unmount_by_others_is_not_recorded_as_spotfs(sandbox, tmp_path, how):
    s = make(sandbox, tmp_path, "by" + how)
    s.mount()
    sid = sandbox_id(s)
    cmd = ["fusermount3", "-u", s.mnt] if how == "fusermount3" \
        else ["umount", s.mnt]
    subprocess.run(cmd, check=True)
    assert wait_gone(s, 20)
    end = [e for e in events(sid) if e["event"] == "unmount"]
    assert len(end) == 1, end
    assert "fusermount3 -u or umount" in end[0]["reason"], end
    assert "spotfs" not in end[0]["reason"], end
    assert end[0]["pid"] != s.proc.pid, end  # not the daemon's own pid


# ---- 7. device nodes: inert overlay entries on a nodev mount ----

def mount_options(path):
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if parts[1] == path:
                return parts[3].split(",")
    return []


def test_device_nodes_are_inert(sandbox, tmp_path):
    import stat
    s = make(sandbox, tmp_path, "devs")
    s.mount()
    sid = sandbox_id(s)
    assert "nodev" in mount_options(s.mnt)
    cases = (("null", stat.S_IFCHR, os.makedev(1, 3)),   # /dev/null's
             ("mem", stat.S_IFCHR, os.makedev(1, 1)),    # /dev/mem's
             ("disk", stat.S_IFBLK, os.makedev(8, 0)))   # a disk's
    for name, kind, dev in cases:
        p = s.path(name)
        os.mknod(p, kind | 0o666, dev)
        st = os.lstat(p)
        assert stat.S_IFMT(st.st_mode) == kind and st.st_rdev == dev, name
        for flags in (os.O_RDONLY, os.O_WRONLY, os.O_RDONLY | os.O_NONBLOCK):
            with pytest.raises(OSError) as e:
                fd = os.open(p, flags)
                os.close(fd)  # never reached: no device behind it
            assert e.value.errno in (errno.EACCES, errno.ENXIO), (name, e.value)
    os.rename(s.path("null"), s.path("null2"))
    assert os.lstat(s.path("null2")).st_rdev == os.makedev(1, 3)
    os.chmod(s.path("null2"), 0o600)
    os.unlink(s.path("null2"))
    assert sorted(n for n in os.listdir(s.mnt) if n in ("mem", "disk")) == \
        ["disk", "mem"]
    os.mkfifo(s.path("fifo"))
    assert stat.S_ISFIFO(os.lstat(s.path("fifo")).st_mode)
    s.unmount()
    creates = [e["detail"] for e in events(sid)
               if e["event"] == "overlay_create"]
    assert creates.count("char device") == 2, creates
    assert creates.count("block device") == 1 and "fifo" in creates, creates


def test_unmount_z_is_recorded_with_its_caller(sandbox, tmp_path):
    s = make(sandbox, tmp_path, "byz")
    s.mount()
    sid = sandbox_id(s)
    u = subprocess.Popen([SPOTFS, "unmount", "-z", s.mnt],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    assert u.wait(timeout=60) == 0, u.stderr.read()
    assert s.proc.poll() is not None, "unmount -z returned before the exit"
    end = [e for e in events(sid) if e["event"] == "unmount"]
    assert len(end) == 1 and end[0]["reason"] == "unmount requested", end
    assert end[0]["uid"] == 0 and end[0]["pid"] == u.pid, (end, u.pid)


def test_unmount_waits_when_the_registry_only_knows_an_older_sandbox(
        sandbox, tmp_path):
    """The default registry has a finished record for this mount point,
    the live sandbox's config names another state folder: unmount
    without -S still finds the live daemon and waits for it."""
    s = make(sandbox, tmp_path, "twice")
    s.mount()
    assert run("unmount", s.mnt).returncode == 0
    assert wait_gone(s, 20)
    s.write_config(open(s.config).read().replace(
        "source:", "state_dir: %s\nsource:" % (tmp_path / "other-st"), 1))
    s.mount()
    for i in range(40):
        with open(s.path("f%d.bin" % i), "wb") as f:
            f.write(MARK * 8000)
    r = run("unmount", s.mnt)
    exited = s.proc.poll() is not None
    assert r.returncode == 0, r.stderr
    assert exited, "spotfs unmount returned while the daemon still ran"

# SPDX-License-Identifier: LGPL-2.1-or-later
"""The sandbox lifecycle through real mounts: TTL expiry, extend, every
clean-up path, gc after kill -9, the control channel's owner check, and the
tamper-evident audit log."""
import errno
import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import SPOTFS, STATE_DIR, duck, is_mounted, needs_duckdb, spotfs

MARK = b"LIFECYCLE-PLAINTEXT-MARK"
BIG = MARK * 5000  # past the in-memory small-file limit: lands in the store


def make_life(sandbox, tmp_path, name, extra=""):
    s = sandbox(name)
    s.store = str(tmp_path / (name + "-store"))
    s.write("a.csv", "k,email\n1,raw-life@corp.example\n")
    s.write_config("source: @SRC@\nstore: %s\n%sdatasets:\n  a.csv:\n"
                   "    columns:\n      email: { method: hash }\n" % (s.store, extra))
    return s


def wait_gone(s, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if not is_mounted(s.mnt) and s.proc.poll() is not None:
            return True
        time.sleep(0.05)
    return False


def listing():
    r = spotfs("list", "--json", "--all")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def sandbox_id(s):
    for e in listing():
        if e.get("mountpoint") == os.path.realpath(s.mnt):
            return e["id"]
    raise AssertionError("not in spotfs list: %r" % listing())


def audit_events(sid):
    r = spotfs("audit", "--sandbox", sid, "--json")
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def test_ttl_expiry_unmounts_and_discards(sandbox, tmp_path):
    s = make_life(sandbox, tmp_path, "ttl")
    t0 = time.time()
    s.mount("--ttl", "3s")
    sid = sandbox_id(s)
    held = os.open(s.path("held.bin"), os.O_CREAT | os.O_WRONLY, 0o600)
    os.write(held, BIG)
    assert os.listdir(os.path.join(s.store, sid)), "ciphertext while mounted"
    assert wait_gone(s, 15), "the sandbox outlived its TTL"
    assert time.time() - t0 >= 2.5, "expired too early"
    with pytest.raises(OSError):
        os.write(held, MARK)  # the holder of an open file gets errors
    try:
        os.close(held)
    except OSError:
        pass  # ENOTCONN: the connection is gone
    assert not os.path.exists(os.path.join(s.store, sid))
    kinds = [e["event"] for e in audit_events(sid)]
    assert kinds[0] == "mount" and "expire" in kinds and kinds[-1] == "unmount", kinds
    s.assert_clean_log()


def test_extend_moves_deadline_within_max_ttl(sandbox, tmp_path):
    s = make_life(sandbox, tmp_path, "ext", "max_ttl: 1m\n")
    s.mount("--ttl", "5s")
    r = spotfs("extend", s.mnt, "--ttl", "40s")
    assert r.returncode == 0, r.stderr
    r = spotfs("extend", s.mnt, "--ttl", "2m")
    assert r.returncode != 0 and "max_ttl" in (r.stdout + r.stderr)
    time.sleep(6)  # the first deadline has passed: still mounted
    assert is_mounted(s.mnt)
    r = spotfs("status", s.mnt)
    assert r.returncode == 0, r.stderr
    for field in ("source", "digest", "views built", "open files", "overlay"):
        assert field in r.stdout, (field, r.stdout)
    kinds = [e["event"] for e in audit_events(sandbox_id(s))]
    assert "extend" in kinds


def test_other_user_cannot_control(sandbox, tmp_path):
    s = make_life(sandbox, tmp_path, "other")
    s.mount()
    for args in (["status", s.mnt], ["extend", s.mnt, "--ttl", "9h"],
                 ["unmount", s.mnt]):
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                            "--clear-groups", os.environ["SPOTFS"] if "SPOTFS" in os.environ
                            else "spotfs", *args], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode != 0, (args, r.stdout)
    assert is_mounted(s.mnt)


@pytest.mark.parametrize("how", ["spotfs-unmount", "fusermount3", "umount",
                                 "SIGTERM", "SIGINT", "SIGHUP"])
def test_every_cleanup_path(sandbox, tmp_path, how):
    s = make_life(sandbox, tmp_path, "clean-" + how.lower())
    s.mount()
    sid = sandbox_id(s)
    with open(s.path("w.bin"), "wb") as f:
        f.write(BIG)
    assert os.listdir(os.path.join(s.store, sid))
    if how == "spotfs-unmount":
        r = spotfs("unmount", s.mnt)
        assert r.returncode == 0, r.stderr
        assert s.proc.poll() is not None or wait_gone(s, 1), \
            "spotfs unmount returns after the daemon is gone"
    elif how == "fusermount3":
        subprocess.run(["fusermount3", "-u", s.mnt], check=True)
    elif how == "umount":
        subprocess.run(["umount", s.mnt], check=True)
    else:
        os.kill(s.proc.pid, getattr(signal, how))
    assert wait_gone(s, 20)
    assert not os.path.exists(os.path.join(s.store, sid))
    states = {e["id"]: e["state"] for e in listing()}
    assert states.get(sid) in ("unmounted", None), states
    kinds = [e["event"] for e in audit_events(sid)]
    assert kinds[-1] == "unmount", kinds
    s.assert_clean_log()


def test_kill9_then_gc(sandbox, tmp_path):
    s = make_life(sandbox, tmp_path, "crash")
    s.mount()
    sid = sandbox_id(s)
    with open(s.path("w.bin"), "wb") as f:
        f.write(BIG)
    store = os.path.join(s.store, sid)
    blob = b"".join(open(os.path.join(store, n), "rb").read() for n in os.listdir(store))
    assert blob and MARK not in blob, "leftover ciphertext is unreadable"
    os.kill(s.proc.pid, signal.SIGKILL)
    s.proc.wait(timeout=10)
    e = [x for x in listing() if x["id"] == sid][0]
    assert "crash" in json.dumps(e), e
    r = spotfs("gc")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not is_mounted(s.mnt), "stale mount removed"
    assert not os.path.exists(store), "store removed"
    assert "gc" in [x["event"] for x in audit_events(sid)]


def test_kill9_then_gc_with_a_relative_store(sandbox, tmp_path):
    """store: ./x is recorded as a canonical path, so gc finds
    and removes it after a crash."""
    s = make_life(sandbox, tmp_path, "crashrel")
    cfg = open(s.config).read().replace(
        "store: %s" % s.store, "store: ./relstore")
    s.write_config(cfg)
    s.mount()
    sid = sandbox_id(s)
    with open(s.path("w.bin"), "wb") as f:
        f.write(BIG)
    store = os.path.join(os.path.dirname(s.config), "relstore", sid)
    assert os.listdir(store)
    os.kill(s.proc.pid, signal.SIGKILL)
    s.proc.wait(timeout=10)
    r = spotfs("gc")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not os.path.exists(store), "store removed"


def test_unmount_z_with_the_config_s_state_dir(sandbox, tmp_path):
    """A sandbox whose config sets state_dir: unmount -z -S DIR ends it as
    at expiry (held descriptors get errors); before -S existed it fell back
    to a lazy detach and the daemon served held descriptors on."""
    state = str(tmp_path / "own-state")
    s = make_life(sandbox, tmp_path, "ownstate",
                  extra="state_dir: %s\n" % state)
    s.mount()
    held = open(s.path("a.csv"), "rb")
    try:
        r = spotfs("unmount", "-z", "-S", state, s.mnt)
        assert r.returncode == 0, r.stderr
        assert wait_gone(s, 20), "the sandbox outlived unmount -z"
        with pytest.raises(OSError):
            held.read()
    finally:
        try:
            held.close()
        except OSError:
            pass  # the flush of a dead mount fails: expected


def test_audit_chain_verifies_and_detects_tampering(sandbox, tmp_path):
    s = make_life(sandbox, tmp_path, "audit")
    s.mount()
    sid = sandbox_id(s)
    assert open(s.path("a.csv"), "rb").read().startswith(b"k,email")
    s.unmount()
    evs = audit_events(sid)
    opens = [e for e in evs if e["event"] == "open"]
    assert opens and opens[0]["decision"] == "allow" and opens[0]["uid"] == 0
    assert opens[0]["path"] == "a.csv" and opens[0]["process"]
    rel = [e for e in evs if e["event"] == "release"]
    assert rel and rel[0]["bytes"] > 0 and rel[0]["rows"] == 1
    all_text = spotfs("audit", "--json").stdout
    assert "raw-life@corp.example" not in all_text
    assert spotfs("audit", "--verify").returncode == 0
    db = os.path.join(STATE_DIR, "audit.db")
    con = sqlite3.connect(db)
    seq = con.execute("select seq from events where sandbox = ? order by seq limit 1 offset 1",
                      (sid,)).fetchone()[0]
    con.execute("drop trigger if exists events_no_update")
    con.execute("update events set role = 'tampered' where seq = ?", (seq,))
    con.commit()
    con.close()
    r = spotfs("audit", "--verify")
    assert r.returncode == 1 and str(seq) in r.stdout + r.stderr, r.stdout + r.stderr
    # Put it back so later tests' verify starts from a good chain.
    os.unlink(db)


def test_unwritable_audit_log_fails_closed(sandbox, tmp_path):
    s = make_life(sandbox, tmp_path, "auditlock")
    s.mount()
    db = os.path.join(STATE_DIR, "audit.db")
    con = sqlite3.connect(db, timeout=5, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")  # the daemon's writer cannot commit
    try:
        with pytest.raises(OSError) as e:
            open(s.path("a.csv"), "rb").read()
        assert e.value.errno == errno.EIO
    finally:
        con.execute("ROLLBACK")
        con.close()
    # Recovery is not silent: the log is retried, and the first record
    # written again is the outage (what was lost, how many opens refused).
    assert "audit" in s.read_log()
    end = time.time() + 15
    while True:
        try:
            assert open(s.path("a.csv"), "rb").read().startswith(b"k,email")
            break
        except OSError as e:
            assert e.errno == errno.EIO and time.time() < end, e
            time.sleep(0.2)
    kinds = [e["event"] for e in audit_events(sandbox_id(s))]
    assert "audit_error" in kinds, kinds
    assert kinds.index("audit_error") < len(kinds) - 1 and \
        kinds[kinds.index("audit_error") + 1:].count("open") >= 1, kinds


def test_signed_audit_head(sandbox, tmp_path):
    key = tmp_path / "audit.key"
    r = spotfs("audit", "--gen-key", str(key))
    assert r.returncode == 0, r.stderr
    pk = r.stdout.strip()
    assert len(pk) == 64 and oct(os.stat(key).st_mode & 0o777) == "0o600"
    other = spotfs("audit", "--gen-key", str(tmp_path / "other.key")).stdout.strip()
    state = str(tmp_path / "signed-state")
    s = make_life(sandbox, tmp_path, "signed",
                  "audit_key: %s\nstate_dir: %s\n" % (key, state))
    env = dict(os.environ, SPOTFS_STATE_DIR=state)
    s.mount(env=env)
    assert open(s.path("a.csv"), "rb").read()
    r = subprocess.run([os.environ.get("SPOTFS", "spotfs"), "unmount", s.mnt],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    s.proc.wait(timeout=20)
    verify = lambda *k: subprocess.run(
        [os.environ.get("SPOTFS", "spotfs"), "audit", "--verify", *k],
        capture_output=True, text=True, env=env, timeout=60)
    assert verify("--key", pk).returncode == 0
    r = verify("--key", other)
    assert r.returncode == 1, r.stdout + r.stderr
    assert verify().returncode == 0  # the chain itself verifies without a key


def test_detached_daemon_without_syslog_logs_to_the_state_folder(
        sandbox, tmp_path):
    """No syslog daemon listening (a container, a minimal machine): the
    detached daemon logs to STATE/spotfs.log, each line with its time and
    pid; --log FILE (relative too) gets the same stamped lines."""
    import re
    s = sandbox()
    s.write("a.csv", "id,email\n1,x@example.org\n")
    s.write_config("source: @SRC@\ndatasets:\n  a.csv:\n"
                   "    columns: { id: keep, email: hash }\n")
    env = dict(os.environ, SPOTFS_SYSLOG_SOCKET=str(tmp_path / "no-log"))
    log = os.path.join(os.environ["SPOTFS_STATE_DIR"], "spotfs.log")
    before = open(log).read() if os.path.exists(log) else ""
    r = subprocess.run([SPOTFS, "mount", "-c", s.config, s.mnt],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    try:
        open(os.path.join(s.mnt, "a.csv")).read()
    finally:
        assert spotfs("unmount", s.mnt).returncode == 0
    new = open(log).read()[len(before):]
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                       r"spotfs\[\d+\]: (info|warning|error): ")
    lines = [l for l in new.splitlines() if l.strip()]
    assert any("mounted on" in l for l in lines), new
    assert lines and all(stamp.match(l) for l in lines), new
    assert os.stat(log).st_mode & 0o077 == 0
    # --log with a relative path, from another folder: stamped too.
    r = subprocess.run([SPOTFS, "mount", "-c", s.config, "--log",
                        "rel.log", s.mnt], capture_output=True, text=True,
                       cwd=str(tmp_path), timeout=60)
    assert r.returncode == 0, r.stderr
    assert spotfs("unmount", s.mnt).returncode == 0
    rel = open(tmp_path / "rel.log").read().splitlines()
    assert rel and all(stamp.match(l) for l in rel if l.strip()), rel


SLOW_LUA = ("columns = { v = function(x)\n  local n = 0\n"
            "  for i = 1, 4000 do n = n + i end\n  return 'masked' end }\n")
SLOW_ROWS = 400000  # about 40 s of building under ASan, 10 s without


def slow_source(s, tmp_path, fmt):
    """A dataset of SLOW_ROWS values of v in fmt; the rules of its config."""
    if fmt == "csv":
        s.write("d.csv", "v\n" + "".join("raw%d\n" % i for i in range(SLOW_ROWS)))
        return "d.csv", "d.csv", ""
    if fmt == "jsonl":
        s.write("d.jsonl", "".join('{"v":"raw%d"}\n' % i for i in range(SLOW_ROWS)))
        return "d.jsonl", "d.jsonl", ""
    if fmt == "sqlite":
        con = sqlite3.connect(os.path.join(s.src, "d.db"))
        con.execute("CREATE TABLE t (v TEXT)")
        con.executemany("INSERT INTO t VALUES (?)",
                        (("raw%d" % i,) for i in range(SLOW_ROWS)))
        con.commit()
        con.close()
        return "d.db", "d/t.csv", "tables: [t]"
    duck(tmp_path, "COPY (SELECT 'raw' || i AS v FROM range(%d) t(i)) TO '%s' "
         "(FORMAT parquet, ROW_GROUP_SIZE 100000)"
         % (SLOW_ROWS, os.path.join(s.src, "d.parquet")))
    return "d.parquet", "d.parquet", ""


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "sqlite",
                                 pytest.param("parquet", marks=needs_duckdb)])
def test_expiry_stops_a_build_under_way(sandbox, tmp_path, fmt):
    """A view still building when the TTL ends: the build stops at its next
    batch, so the daemon ends at the TTL instead of when the build would
    have finished (it kept the decrypted rows and a CPU for 40 s more)."""
    s = sandbox("slow" + fmt)
    name, served, rules = slow_source(s, tmp_path, fmt)
    lua = os.path.join(s.base, "slow.lua")
    with open(lua, "w") as f:
        f.write(SLOW_LUA)
    # The policy's column function rewrites v, slowly.
    s.write_config("source: @SRC@\ndatasets:\n  %s:\n    policy: %s\n    %s\n"
                   % (name, lua, rules))
    s.mount("--ttl", "3s")
    t0 = time.time()
    reader = subprocess.Popen(["cat", s.path(served)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    assert wait_gone(s, 15), "the daemon outlived its TTL by the build"
    out, _ = reader.communicate(timeout=30)
    assert reader.returncode != 0 and b"raw" not in out
    assert time.time() - t0 < 15
    log = s.read_log()
    assert "the sandbox is ending" in log, log[-2000:]

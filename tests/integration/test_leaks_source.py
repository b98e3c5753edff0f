# SPDX-License-Identifier: LGPL-2.1-or-later
"""Confined source access and pinned sources (issue 11, findings 3, 5, 8),
through real mounts, as an attacker who can write into the source folder
would try: symlinks out of the tree or onto a masked dataset, hard links to
a dataset, FIFOs at a dataset path, files and folders the source protects,
and a source rewritten in place (or replaced) after its view was built."""
import errno
import json
import os
import random
import stat
import subprocess
import time

import pytest

from conftest import spotfs, duck, needs_duckdb

SECRET = "RAW-SECRET-SSN-123-45-6789"
CUSTOMERS = "id,email,plan\n1,raw-one@corp.example,gold\n2,raw-two@corp.example,free\n"
# Every column listed: unlisted columns may be redacted by default.
DS_CUSTOMERS = ("  customers.csv:\n    columns:\n      id: keep\n"
                "      email: { method: hash }\n      plan: keep\n")


def as_nobody(*cmd, timeout=20):
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                           "--clear-groups", *cmd], capture_output=True,
                          timeout=timeout)


def sandbox_id(s):
    r = spotfs("list", "--json", "--all")
    assert r.returncode == 0, r.stderr
    for e in json.loads(r.stdout):
        if e.get("mountpoint") == os.path.realpath(s.mnt):
            return e["id"]
    raise AssertionError("not in spotfs list")


def audit_events(s):
    r = spotfs("audit", "--sandbox", sandbox_id(s), "--json")
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def outside_secret(tmp_path):
    """A file and a folder outside the source that no caller may read."""
    out = tmp_path / "outside"
    out.mkdir(exist_ok=True)
    p = out / "shadow"
    p.write_text("root:%s:19000:0:99999:7:::\n" % SECRET)
    os.chmod(str(p), 0o600)
    os.chmod(str(out), 0o700)
    return str(p), str(out)


def show_sandbox(sandbox, name="show", extra=""):
    s = sandbox(name)
    s.write("customers.csv", CUSTOMERS)
    s.write("notes.txt", "plain notes\n")
    s.write_config("source: @SRC@\ndefault: show\n%sdatasets:\n%s"
                   % (extra, DS_CUSTOMERS))
    return s


def served_bytes(s):
    """Every byte a root reader gets from the mount, walking it."""
    got = b""
    for dirpath, dirnames, filenames in os.walk(s.mnt):
        for f in filenames:
            try:
                with open(os.path.join(dirpath, f), "rb") as fh:
                    got += fh.read()
            except OSError:
                pass
    return got


# ---- symlinks (finding 5) ----

def test_symlinks_out_of_the_source_are_hidden(sandbox, tmp_path):
    shadow, outdir = outside_secret(tmp_path)
    s = show_sandbox(sandbox)
    os.symlink(shadow, os.path.join(s.src, "shadow.csv"))
    os.symlink(outdir, os.path.join(s.src, "etc"))
    os.symlink("../../outside/shadow", os.path.join(s.src, "rel.csv"))
    s.mount()
    names = os.listdir(s.mnt)
    assert "customers.csv" in names and "notes.txt" in names
    for n in ("shadow.csv", "etc", "rel.csv"):
        assert n not in names, names
        with pytest.raises(FileNotFoundError):
            os.stat(s.path(n))
        with pytest.raises(FileNotFoundError):
            open(s.path(n), "rb")
        assert as_nobody("cat", s.path(n)).returncode != 0
    with pytest.raises(FileNotFoundError):
        open(s.path("etc/shadow"), "rb")
    assert SECRET.encode() not in served_bytes(s)


def test_symlink_to_a_masked_dataset_is_hidden(sandbox):
    s = show_sandbox(sandbox)
    os.symlink("customers.csv", os.path.join(s.src, "alias.csv"))
    os.makedirs(os.path.join(s.src, "sub"))
    os.symlink("../customers.csv", os.path.join(s.src, "sub", "alias.csv"))
    s.mount()
    assert "alias.csv" not in os.listdir(s.mnt)
    assert os.listdir(s.path("sub")) == []
    with pytest.raises(FileNotFoundError):
        open(s.path("alias.csv"), "rb")
    with pytest.raises(FileNotFoundError):
        open(s.path("sub/alias.csv"), "rb")
    data = open(s.path("customers.csv"), "rb").read()
    assert b"raw-one@corp.example" not in data
    assert b"raw-one@corp.example" not in served_bytes(s)


def test_symlink_swapped_in_after_lookup_is_not_followed(sandbox, tmp_path):
    """A name looked up as a plain file, then replaced by a symlink: the
    open resolves again, confined, and refuses it."""
    shadow, _ = outside_secret(tmp_path)
    s = show_sandbox(sandbox)
    s.write("swap.csv", "h" * 4000)  # the kernel may cache this size
    s.mount()
    assert os.stat(s.path("swap.csv")).st_size == 4000
    os.unlink(os.path.join(s.src, "swap.csv"))
    os.symlink(shadow, os.path.join(s.src, "swap.csv"))
    try:
        with open(s.path("swap.csv"), "rb") as f:
            data = f.read()
    except OSError as e:
        assert e.errno in (errno.ENOENT, errno.EIO), e
        data = b""
    assert b"root:" not in data and SECRET.encode() not in data


def test_folder_swapped_for_a_symlink_after_lookup_is_not_followed(sandbox, tmp_path):
    shadow, outdir = outside_secret(tmp_path)
    s = show_sandbox(sandbox)
    s.write("sub/shadow", "h" * 4000)
    s.mount()
    assert os.listdir(s.path("sub")) == ["shadow"]
    os.rename(os.path.join(s.src, "sub"), os.path.join(s.src, "sub.old"))
    os.symlink(outdir, os.path.join(s.src, "sub"))
    try:
        data = open(s.path("sub/shadow"), "rb").read()
    except OSError as e:
        assert e.errno in (errno.ENOENT, errno.EIO), e
        data = b""
    assert b"root:" not in data
    try:
        listing = os.listdir(s.path("sub"))
    except OSError:
        listing = []
    assert listing in ([], ["shadow"])


def test_dataset_path_through_a_symlink_is_a_config_error(sandbox, tmp_path):
    s = sandbox("dslink")
    s.write("real/customers.csv", CUSTOMERS)
    os.symlink("real", os.path.join(s.src, "linked"))
    s.write_config("source: @SRC@\ndatasets:\n  linked/customers.csv:\n"
                   "    columns:\n      id: keep\n      email: { method: hash }\n"
                   "      plan: keep\n")
    r = spotfs("check", "-c", s.config, timeout=30)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "linked/customers.csv" in r.stdout + r.stderr
    assert "symlink" in r.stdout + r.stderr
    p = s.mount(wait=False)
    assert p.wait(timeout=30) != 0
    assert "linked/customers.csv" in s.read_log() and "symlink" in s.read_log()


def test_dataset_that_is_a_symlink_is_a_config_error(sandbox):
    s = sandbox("dsself")
    s.write("real.csv", CUSTOMERS)
    os.symlink("real.csv", os.path.join(s.src, "customers.csv"))
    s.write_config("source: @SRC@\ndatasets:\n%s" % DS_CUSTOMERS)
    r = spotfs("check", "-c", s.config, timeout=30)
    assert r.returncode == 1 and "customers.csv" in r.stdout + r.stderr, \
        r.stdout + r.stderr
    p = s.mount(wait=False)
    assert p.wait(timeout=30) != 0
    assert "symlink" in s.read_log()


def test_dataset_name_with_dotdot_never_leaves_the_source(sandbox, tmp_path):
    shadow, _ = outside_secret(tmp_path)
    s = sandbox("dotdot")
    os.chmod(os.path.dirname(shadow), 0o755)
    with open(os.path.join(os.path.dirname(shadow), "x.csv"), "w") as f:
        f.write("v\n%s\n" % SECRET)
    s.write_config("source: @SRC@\ndefault: show\ndatasets:\n"
                   "  ../outside/x.csv:\n    columns:\n      v: keep\n")
    p = s.mount(wait=False)
    deadline = time.time() + 30
    while time.time() < deadline and p.poll() is None:
        if os.path.ismount(s.mnt):
            break
        time.sleep(0.05)
    if p.poll() is None:  # mounted: nothing outside may show up
        assert SECRET.encode() not in served_bytes(s)
    else:
        assert p.returncode != 0
    r = spotfs("check", "-c", s.config, timeout=30)
    assert r.returncode != 0 and SECRET not in r.stdout + r.stderr


# ---- hard links (finding 5) ----

def test_hard_link_to_a_masked_dataset_is_hidden(sandbox):
    s = show_sandbox(sandbox)
    os.makedirs(os.path.join(s.src, "elsewhere"))
    os.link(os.path.join(s.src, "customers.csv"),
            os.path.join(s.src, "elsewhere", "copy.csv"))
    os.link(os.path.join(s.src, "customers.csv"), os.path.join(s.src, "copy.txt"))
    s.mount()
    assert "copy.txt" not in os.listdir(s.mnt)
    assert os.listdir(s.path("elsewhere")) == []
    for n in ("copy.txt", "elsewhere/copy.csv"):
        with pytest.raises(FileNotFoundError):
            open(s.path(n), "rb")
    assert b"raw-one@corp.example" not in served_bytes(s)


def test_hard_link_made_after_lookup_is_refused_at_open(sandbox):
    s = show_sandbox(sandbox)
    s.write("later.txt", "h" * 4000)  # the kernel may cache this size
    s.mount()
    os.stat(s.path("later.txt"))  # looked up as a passthrough file
    os.unlink(os.path.join(s.src, "later.txt"))
    os.link(os.path.join(s.src, "customers.csv"), os.path.join(s.src, "later.txt"))
    try:
        data = open(s.path("later.txt"), "rb").read()
    except OSError as e:
        assert e.errno in (errno.ENOENT, errno.EIO), e
        data = b""
    assert b"raw-one@corp.example" not in data


def test_hard_link_copy_up_never_copies_raw_dataset(sandbox):
    """Writing to a passthrough name copies its bytes up: not a dataset's."""
    s = show_sandbox(sandbox)
    s.write("later.txt", "h" * 4000)  # the kernel may cache this size
    s.mount()
    os.stat(s.path("later.txt"))
    os.unlink(os.path.join(s.src, "later.txt"))
    os.link(os.path.join(s.src, "customers.csv"), os.path.join(s.src, "later.txt"))
    try:
        with open(s.path("later.txt"), "r+b") as f:
            f.seek(0, 2)
        data = open(s.path("later.txt"), "rb").read()
    except OSError as e:
        assert e.errno in (errno.ENOENT, errno.EIO), e
        data = b""
    assert b"raw-one@corp.example" not in data


# ---- modes, owners (finding 5) ----

def test_passthrough_keeps_source_mode_and_owner(sandbox):
    s = show_sandbox(sandbox)
    s.write("private.txt", SECRET + "\n", mode=0o600)
    s.write("locked/inner.txt", SECRET + "\n", mode=0o644)
    s.write("open/readme.txt", "hello\n", mode=0o644)
    os.chmod(os.path.join(s.src, "locked"), 0o700)
    os.chown(os.path.join(s.src, "open", "readme.txt"), 1234, 5678)
    s.mount()
    st = os.stat(s.path("private.txt"))
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0
    assert stat.S_IMODE(os.stat(s.path("locked")).st_mode) == 0o700
    st = os.stat(s.path("open/readme.txt"))
    assert (st.st_uid, st.st_gid) == (1234, 5678), st
    assert stat.S_IMODE(os.stat(s.path("open")).st_mode) == 0o755
    r = as_nobody("cat", s.path("private.txt"))
    assert r.returncode != 0 and SECRET.encode() not in r.stdout
    r = as_nobody("cat", s.path("locked/inner.txt"))
    assert r.returncode != 0 and SECRET.encode() not in r.stdout
    r = as_nobody("ls", s.path("locked"))
    assert r.returncode != 0
    r = as_nobody("cat", s.path("open/readme.txt"))
    assert r.returncode == 0 and r.stdout == b"hello\n"
    # root (the owner) still reads both
    assert open(s.path("private.txt")).read() == SECRET + "\n"


def test_copy_up_of_private_file_stays_private(sandbox):
    s = show_sandbox(sandbox)
    s.write("private.txt", SECRET + "\n", mode=0o600)
    s.mount()
    with open(s.path("private.txt"), "a") as f:
        f.write("more\n")
    assert stat.S_IMODE(os.stat(s.path("private.txt")).st_mode) == 0o600
    r = as_nobody("cat", s.path("private.txt"))
    assert r.returncode != 0 and SECRET.encode() not in r.stdout


def test_dataset_keeps_served_mode_in_private_folder(sandbox):
    """A configured dataset keeps its served mode; a 0700 folder around it
    keeps other uids out (documented)."""
    s = sandbox("dsmode")
    s.write("vault/customers.csv", CUSTOMERS, mode=0o600)
    os.chmod(os.path.join(s.src, "vault"), 0o700)
    s.write_config("source: @SRC@\ndatasets:\n  vault/customers.csv:\n"
                   "    columns:\n      id: keep\n      email: { method: hash }\n"
                   "      plan: keep\n")
    s.mount()
    assert stat.S_IMODE(os.stat(s.path("vault/customers.csv")).st_mode) == 0o644
    assert b"raw-one" not in open(s.path("vault/customers.csv"), "rb").read()
    assert as_nobody("cat", s.path("vault/customers.csv")).returncode != 0


# ---- FIFOs, sockets, devices (finding 8) ----

def test_fifo_at_dataset_path_never_hangs(sandbox):
    s = sandbox("fifo")
    os.mkfifo(os.path.join(s.src, "customers.csv"))
    os.mkfifo(os.path.join(s.src, "pipe.txt"))
    os.mknod(os.path.join(s.src, "null.dev"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    s.write("notes.txt", "plain\n")
    s.write_config("source: @SRC@\ndefault: show\ndatasets:\n%s" % DS_CUSTOMERS)
    r = spotfs("check", "-c", s.config, timeout=20)
    assert r.returncode == 1, r.stdout + r.stderr  # the dataset cannot be served
    assert "customers.csv" in r.stdout
    assert "pipe.txt: hidden: fifo" in r.stdout, r.stdout
    assert "null.dev: hidden: character device" in r.stdout, r.stdout
    s.mount()
    r = subprocess.run(["ls", "-la", s.mnt], capture_output=True, timeout=10)
    assert r.returncode == 0
    assert b"pipe.txt" not in r.stdout and b"null.dev" not in r.stdout
    assert b"notes.txt" in r.stdout
    for n in ("customers.csv", "pipe.txt", "null.dev"):
        r = subprocess.run(["cat", s.path(n)], capture_output=True, timeout=10)
        assert r.returncode != 0, n
    # the daemon still answers and unmounts promptly
    assert open(s.path("notes.txt")).read() == "plain\n"


def test_dataset_replaced_by_fifo_after_mount_never_hangs(sandbox):
    s = sandbox("fifo2")
    s.write("customers.csv", CUSTOMERS)
    s.write("notes.txt", "x\n")
    s.write_config("source: @SRC@\ndefault: show\ndatasets:\n%s" % DS_CUSTOMERS)
    s.mount("--ttl", "6s")
    os.unlink(os.path.join(s.src, "notes.txt"))
    os.mkfifo(os.path.join(s.src, "notes.txt"))
    os.unlink(os.path.join(s.src, "customers.csv"))
    os.mkfifo(os.path.join(s.src, "customers.csv"))
    for n in ("notes.txt", "customers.csv"):
        r = subprocess.run(["cat", s.path(n)], capture_output=True, timeout=10)
        assert b"raw-one" not in r.stdout
    subprocess.run(["ls", "-la", s.mnt], capture_output=True, timeout=10)
    # TTL expiry is not held up by a FIFO
    assert s.proc.wait(timeout=30) is not None


def test_check_lists_hidden_entries(sandbox):
    s = show_sandbox(sandbox, "chk")
    os.symlink("customers.csv", os.path.join(s.src, "alias.csv"))
    os.makedirs(os.path.join(s.src, "deep"))
    os.mkfifo(os.path.join(s.src, "deep", "p"))
    r = spotfs("check", "-c", s.config, timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "alias.csv: hidden: symlink" in r.stdout, r.stdout
    assert "deep/p: hidden: fifo" in r.stdout, r.stdout


# ---- pinned sources (finding 3) ----

def test_passthrough_rewritten_under_open_handle_fails(sandbox):
    s = show_sandbox(sandbox, "pinpass")
    s.write("notes.txt", "A" * 5000)
    s.mount()
    f = open(s.path("notes.txt"), "rb", buffering=0)
    assert f.read(10) == b"A" * 10
    with open(os.path.join(s.src, "notes.txt"), "r+b") as w:
        w.write(SECRET.encode() * 100)
    open("/proc/sys/vm/drop_caches", "w").write("3\n")
    with pytest.raises(OSError) as e:
        f.seek(0)
        f.read(5000)
    assert e.value.errno == errno.EIO
    f.close()
    assert "source_changed" in [e["event"] for e in audit_events(s)]


def test_passthrough_removed_under_open_handle_fails(sandbox):
    s = show_sandbox(sandbox, "pinrm")
    s.write("notes.txt", "B" * 5000)
    s.mount()
    f = open(s.path("notes.txt"), "rb", buffering=0)
    assert f.read(10) == b"B" * 10
    os.unlink(os.path.join(s.src, "notes.txt"))
    open("/proc/sys/vm/drop_caches", "w").write("3\n")
    with pytest.raises(OSError) as e:
        f.seek(0)
        f.read(5000)
    assert e.value.errno == errno.EIO
    f.close()






def two_parquets(tmp_path):
    """A: (pub kept, email masked). B: the same layout with the columns'
    roles swapped, so B's raw emails sit where A's kept chunk was."""
    a, b = str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")
    opts = "(FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE 100000)"
    duck(tmp_path, "COPY (SELECT 'pubvalue-' || lpad(i::VARCHAR, 8, '0') AS pub, "
         "'mail' || lpad(i::VARCHAR, 8, '0') || '@corp.example' AS email "
         "FROM range(300) t(i)) TO '%s' %s" % (a, opts))
    duck(tmp_path, "COPY (SELECT 'RAWMAIL-' || lpad(i::VARCHAR, 9, '0') AS pub, "
         "'xxxx' || lpad(i::VARCHAR, 8, '0') || '@corp.example' AS email "
         "FROM range(300) t(i)) TO '%s' %s" % (b, opts))
    da, db = open(a, "rb").read(), open(b, "rb").read()
    assert len(da) == len(db)
    return da, db


PQ_CFG = ("source: @SRC@\ndatasets:\n  t.parquet:\n    columns:\n"
          "      pub: keep\n      email: { method: hash }\n")


@needs_duckdb
def test_parquet_rewritten_in_place_serves_no_raw_bytes(sandbox, tmp_path):
    da, db = two_parquets(tmp_path)
    assert b"RAWMAIL-" in db
    s = sandbox("pqpin")
    src = s.write("t.parquet", da)
    s.write_config(PQ_CFG)
    s.mount()
    f = open(s.path("t.parquet"), "rb", buffering=0)
    before = f.read()
    assert b"pubvalue-" in before and b"RAWMAIL-" not in before
    # Same inode, new bytes: the view's offsets now point at B's pub column.
    fd = os.open(src, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, db)
    os.close(fd)
    open("/proc/sys/vm/drop_caches", "w").write("3\n")
    try:
        f.seek(0)
        held = f.read()
    except OSError as e:
        assert e.errno == errno.EIO
        held = b""
    f.close()
    assert b"RAWMAIL-" not in held, "raw bytes of the new file served"
    # A new open gets a view rebuilt from the new file: masked, consistent.
    after = open(s.path("t.parquet"), "rb").read()
    assert b"RAWMAIL-" in after  # pub is kept: B's pub values, whole
    assert b"xxxx00000001@corp" not in after  # B's emails are masked
    assert after[:4] == b"PAR1" and after[-4:] == b"PAR1"
    assert os.stat(s.path("t.parquet")).st_size == len(after)
    assert "source_changed" in [e["event"] for e in audit_events(s)]
    rows = duck(tmp_path, "SELECT count(*), min(pub) FROM '%s'" % s.path("t.parquet"))
    assert rows == [[300, "RAWMAIL-000000000"]], rows


@needs_duckdb
def test_parquet_replaced_by_rename_rebuilds_the_view(sandbox, tmp_path):
    da, db = two_parquets(tmp_path)
    s = sandbox("pqren")
    s.write("t.parquet", da)
    s.write_config(PQ_CFG)
    s.mount()
    f = open(s.path("t.parquet"), "rb", buffering=0)
    assert b"pubvalue-" in f.read()
    tmp = os.path.join(s.src, ".t.tmp")
    with open(tmp, "wb") as w:
        w.write(db)
    os.rename(tmp, os.path.join(s.src, "t.parquet"))
    open("/proc/sys/vm/drop_caches", "w").write("3\n")
    try:
        f.seek(0)
        held = f.read()
    except OSError as e:
        assert e.errno == errno.EIO
        held = b""
    f.close()
    assert b"RAWMAIL-" not in held
    after = open(s.path("t.parquet"), "rb").read()
    assert b"RAWMAIL-" in after, "new opens see the new file, rebuilt"
    assert b"xxxx00000001@corp" not in after


# ---- SQLite datasets (opened by name in the SQLite layer) ----

def make_db(path, tag):
    import sqlite3
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE users (id TEXT, email TEXT)")
    con.executemany("INSERT INTO users VALUES (?, ?)",
                    [("%s-%03d" % (tag, i), "%s%03d@corp.example" % (tag, i))
                     for i in range(20)])
    con.commit()
    con.close()


def test_sqlite_dataset_swapped_for_a_symlink_is_not_read(sandbox, tmp_path):
    s = sandbox("sqswap")
    make_db(os.path.join(s.src, "crm.db"), "inside")
    raw = str(tmp_path / "raw.db")
    make_db(raw, "RAWDB")
    s.write_config("source: @SRC@\ndatasets:\n  crm.db:\n    tables:\n      users:\n"
                   "        columns:\n          id: keep\n"
                   "          email: { method: redact, text: \"[E]\" }\n")
    s.mount()
    # Before any view is built, the database becomes a symlink elsewhere
    # (a database outside the source, whose kept column holds secrets).
    os.unlink(os.path.join(s.src, "crm.db"))
    os.symlink(raw, os.path.join(s.src, "crm.db"))
    got = b""
    for dirpath, _, files in os.walk(s.mnt):
        for f in files:
            try:
                got += open(os.path.join(dirpath, f), "rb").read()
            except OSError:
                pass
    assert b"RAWDB" not in got


def test_source_folder_symlink_is_resolved_once_at_mount(sandbox, tmp_path):
    """source: may be a symlink (the steward's choice): it is resolved when
    the config is loaded; repointing it later changes nothing the mount
    reads (SQLite, opened by name, included)."""
    s = sandbox("rootlink")
    s.write("customers.csv", CUSTOMERS)
    make_db(os.path.join(s.src, "crm.db"), "inside")
    other = tmp_path / "other"
    other.mkdir()
    (other / "customers.csv").write_text("id,email,plan\nRAWROOT-1,x@y,z\n")
    make_db(str(other / "crm.db"), "RAWROOT")
    link = str(tmp_path / "srclink")
    os.symlink(s.src, link)
    s.write_config("source: %s\ndatasets:\n%s  crm.db:\n    tables:\n"
                   "      users:\n        columns:\n          id: keep\n"
                   "          email: { method: redact, text: \"[E]\" }\n"
                   % (link, DS_CUSTOMERS))
    s.mount()
    os.unlink(link)
    os.symlink(str(other), link)
    got = served_bytes(s)
    assert b"RAWROOT" not in got
    assert b"1,[E]" in got or b"inside-001" in got, got[:200]


def test_sqlite_journal_of_a_dataset_is_never_passed_through(sandbox):
    """Under default: show, a live database's -wal holds raw pages."""
    import sqlite3
    s = sandbox("sqwal")
    db = os.path.join(s.src, "crm.db")
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("CREATE TABLE users (id TEXT, email TEXT)")
    con.executemany("INSERT INTO users VALUES (?, ?)",
                    [(str(i), "walraw%03d@corp.example" % i) for i in range(50)])
    con.commit()
    try:
        assert os.path.getsize(db + "-wal") > 0
        s.write_config("source: @SRC@\ndefault: show\ndatasets:\n  crm.db:\n"
                       "    tables:\n      users:\n        columns:\n"
                       "          id: keep\n"
                       "          email: { method: redact, text: \"[E]\" }\n")
        os.makedirs(os.path.join(s.src, "elsewhere"))
        os.link(db + "-wal", os.path.join(s.src, "elsewhere", "log.bin"))
        s.mount()
        assert os.listdir(s.path("elsewhere")) == []
        names = os.listdir(s.mnt)
        assert "crm.db-wal" not in names and "crm.db-shm" not in names, names
        with pytest.raises(FileNotFoundError):
            open(s.path("crm.db-wal"), "rb")
        assert b"walraw001" not in served_bytes(s)
    finally:
        con.close()


# ---- round 4: pins checked around every source read, every build ----

def swapped_parquets(tmp_path):
    """A: (id kept, email masked); B: the same rows with the columns in the
    other order, so B's raw email chunk sits where A's kept id chunk was."""
    a, b = str(tmp_path / "sa.parquet"), str(tmp_path / "sb.parquet")
    opts = "(FORMAT parquet, COMPRESSION uncompressed)"
    ident = "'ID-' || lpad(i::VARCHAR, 60, '0') AS id"
    mail = "'rawsecret' || i || '@victim.example.com' AS email"
    duck(tmp_path, "COPY (SELECT %s, %s FROM range(300) t(i)) TO '%s' %s"
         % (ident, mail, a, opts))
    duck(tmp_path, "COPY (SELECT %s, %s FROM range(300) t(i)) TO '%s' %s"
         % (mail, ident, b, opts))
    return open(a, "rb").read(), open(b, "rb").read()


SW_CFG = ("source: @SRC@\ndatasets:\n  t.parquet:\n    %scolumns:\n"
          "      id: keep\n      email: { method: hash }\n")


def pq_race(src, view, da, db, cycles=200, seconds=20):
    """A writer rewrites src in place (same size, no truncate: like rsync
    --inplace or dd conv=notrunc) while a reader reads view with its page
    cache dropped. Returns ([(first read of a handle, a later read of it)]
    for reads after a rewrite began, EIOs)."""
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(go_w)
        cur = 0
        while True:
            b = os.read(go_r, 1)
            if not b or b == b"q":
                os._exit(0)
            time.sleep(random.random() * 0.002)
            cur ^= 1
            fd = os.open(src, os.O_WRONLY)
            os.pwrite(fd, db if cur else da, 0)
            os.close(fd)
    os.close(go_r)
    served, eio, t0 = [], 0, time.time()
    try:
        for _ in range(cycles):
            if time.time() - t0 > seconds:
                break
            fd = -1
            for _ in range(200):
                try:
                    fd = os.open(view, os.O_RDONLY)
                    first = os.pread(fd, 1 << 20, 0)
                    break
                except OSError:
                    if fd >= 0:
                        os.close(fd)
                    fd = -1
                    time.sleep(0.005)
            assert fd >= 0, "the view never opened again"
            os.write(go_w, b"g")
            t1 = time.time()
            while time.time() - t1 < 0.01:
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    served.append((first, os.pread(fd, 1 << 20, 0)))
                except OSError as e:
                    assert e.errno == errno.EIO, e
                    eio += 1
                    break
            os.close(fd)
            time.sleep(0.003)
    finally:
        os.write(go_w, b"q")
        os.waitpid(pid, 0)
        os.close(go_w)
    return served, eio


@needs_duckdb
def test_parquet_rewritten_while_read_serves_no_raw_bytes(sandbox, tmp_path):
    da, db = swapped_parquets(tmp_path)
    s = sandbox("pqrace")
    src = s.write("t.parquet", da)
    s.write_config(SW_CFG % "")
    s.mount()
    assert b"rawsecret" not in open(s.path("t.parquet"), "rb").read()
    served, eio = pq_race(src, s.path("t.parquet"), da, db)
    leaks = [d for f, d in served if b"rawsecret" in f + d]
    assert not leaks, "raw bytes of a rewrite served %d times" % len(leaks)
    assert eio, "no read failed after the source changed"
    assert "source_changed" in [e["event"] for e in audit_events(s)]


def test_passthrough_rewritten_while_read_serves_old_or_eio(sandbox):
    s = show_sandbox(sandbox, "passrace")
    old, new = b"o" * 65536, SECRET.encode().ljust(65536, b"n")
    src = s.write("notes.txt", old)
    s.mount()
    served, eio = pq_race(src, s.path("notes.txt"), old, new, seconds=8)
    # A handle reads the file it was opened on, or fails: never new bytes.
    mixed = [d for f, d in served if d != f]
    assert not mixed, "bytes of a rewrite served under a pinned handle"
    assert eio


def torn_csvs(tmp_path, n=300000):
    """The same rows as id,email and as email,id: the same size, so a
    rewrite in place leaves the header of one and the rows of the other."""
    a = "id,email\n" + "".join("%010d,rawsecret%010d@victim.example\n" % (i, i)
                                for i in range(n))
    b = "email,id\n" + "".join("rawsecret%010d@victim.example,%010d\n" % (i, i)
                                for i in range(n))
    assert len(a) == len(b)
    p = tmp_path / "v2.csv"
    p.write_text(b)
    return a, str(p)


def csv_cfg(names, extra=""):
    return "source: @SRC@\ndatasets:\n" + "".join(
        "  %s:\n    %scolumns:\n      id: keep\n      email: { method: hash }\n"
        % (n, extra) for n in names)


def rewrite_later(delay, src, path):
    return subprocess.Popen(["sh", "-c", "sleep %s; exec dd if=%s of=%s "
                             "conv=notrunc bs=1M status=none" % (delay, src, path)])


def read_or_eio(path):
    try:
        return open(path, "rb").read()
    except OSError as e:
        assert e.errno == errno.EIO, e
        return b""


def test_csv_rewritten_during_build_serves_no_raw_values(sandbox, tmp_path):
    a, v2 = torn_csvs(tmp_path)
    delays = (0.05, 0.15, 0.3, 0.6)
    names = ["d%d.csv" % i for i in range(len(delays))]
    s = sandbox("csvtorn")
    for n in names:
        s.write(n, a)
    s.write_config(csv_cfg(names))
    s.mount()
    for n, delay in zip(names, delays):
        w = rewrite_later(delay, v2, os.path.join(s.src, n))
        data = read_or_eio(s.path(n))
        assert w.wait() == 0
        assert b"rawsecret" not in data, "%s: raw emails served" % n
        # The writer done, an open gets one whole version, masked: the
        # view built before the rewrite, or one rebuilt from the new file.
        after = open(s.path(n), "rb").read().decode().splitlines()
        assert len(after) == 300001 and "rawsecret" not in "".join(after)
        assert (after[0], after[1][:11]) in (("id,email", "0000000000,"),
                                              ("email,id", after[1][:11])), after[:2]
        if after[0] == "email,id":
            assert after[1].endswith(",0000000000"), after[1]
    assert "source_changed" in [e["event"] for e in audit_events(s)]


@needs_duckdb
def test_csv_as_parquet_rewritten_during_build_serves_no_raw(sandbox, tmp_path):
    a, v2 = torn_csvs(tmp_path, 200000)
    delays = (0.05, 0.2, 0.5)
    names = ["d%d.csv" % i for i in range(len(delays))]
    s = sandbox("csvpqtorn")
    for n in names:
        s.write(n, a)
    s.write_config(csv_cfg(names, "as: [native, parquet]\n    "))
    s.mount()
    for n, delay in zip(names, delays):
        pq = s.path(n[:-4] + ".parquet")
        w = rewrite_later(delay, v2, os.path.join(s.src, n))
        data = read_or_eio(pq)
        assert w.wait() == 0
        assert b"rawsecret" not in data, "%s: raw emails served" % n
        assert b"rawsecret" not in open(pq, "rb").read()


@needs_duckdb
def test_parquet_as_csv_rewritten_during_build_serves_no_raw(sandbox, tmp_path):
    da, db = swapped_parquets(tmp_path)
    s = sandbox("pqcsvtorn")
    src = s.write("t.parquet", da)
    s.write_config(SW_CFG % "as: [csv]\n    ")
    s.mount()
    assert b"rawsecret" not in open(s.path("t.csv"), "rb").read()
    pid = os.fork()
    if pid == 0:
        cur, t0 = 0, time.time()
        while time.time() - t0 < 12:
            cur ^= 1
            fd = os.open(src, os.O_WRONLY)
            os.pwrite(fd, db if cur else da, 0)
            os.close(fd)
            time.sleep(0.0005)
        os._exit(0)
    ok = 0
    try:
        t0 = time.time()
        while time.time() - t0 < 11:
            d = read_or_eio(s.path("t.csv"))
            ok += bool(d)
            assert b"rawsecret" not in d, "raw emails served after %d reads" % ok
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_wal_of_hard_link_to_sqlite_dataset_is_hidden(sandbox):
    s = sandbox("walalias")
    db = os.path.join(s.src, "crm.db")
    subprocess.run(["sqlite3", db, "create table users(id int, email text);"
                    "insert into users values(1,'raw.email@example.com');"], check=True)
    s.write_config("source: @SRC@\ndefault: show\ndatasets:\n  crm.db:\n    tables:\n"
                   "      users: { columns: { id: keep, email: { method: hash } } }\n")
    os.makedirs(os.path.join(s.src, "sub"))
    os.link(db, os.path.join(s.src, "sub", "alias.db"))
    os.link(db, os.path.join(s.src, "other.sqlite"))
    for n in ("sub/alias.db-wal", "sub/alias.db-shm", "sub/alias.db-journal",
              "other.sqlite-wal", "other.sqlite-journal"):
        s.write(n, "wal.only.raw@example.com\n")
    s.write("sub/plain.db-wal", "an unrelated file\n")
    s.mount()
    listed = os.listdir(s.path("sub")) + os.listdir(s.mnt)
    for n in ("alias.db", "alias.db-wal", "alias.db-shm", "alias.db-journal",
              "other.sqlite", "other.sqlite-wal", "other.sqlite-journal"):
        assert n not in listed, n
    for n in ("sub/alias.db-wal", "sub/alias.db-shm", "sub/alias.db-journal",
              "other.sqlite-wal"):
        r = as_nobody("cat", s.path(n))
        assert r.returncode != 0 and b"raw@" not in r.stdout, n
    assert open(s.path("sub/plain.db-wal")).read() == "an unrelated file\n"
    # a link made after the mount, and its WAL
    os.link(db, os.path.join(s.src, "sub", "late.db"))
    s.write("sub/late.db-wal", "wal.only.raw@example.com\n")
    r = as_nobody("cat", s.path("sub/late.db-wal"))
    assert r.returncode != 0 and b"raw@" not in r.stdout


def test_hard_link_to_replaced_dataset_file_stays_hidden(sandbox):
    s = sandbox("hlold")
    s.write("d.csv", "id,email\n1,raw.v1@example.com\n")
    os.makedirs(os.path.join(s.src, "snap"))
    os.link(os.path.join(s.src, "d.csv"), os.path.join(s.src, "snap", "d.old"))
    s.write_config("source: @SRC@\ndefault: show\ndatasets:\n"
                   "  d.csv: { columns: { id: keep, email: { method: hash } } }\n")
    s.mount()
    v1 = open(s.path("d.csv")).read()  # the view is built from the old file
    assert "raw.v1" not in v1
    assert "d.old" not in os.listdir(s.path("snap"))
    new = os.path.join(s.src, ".d.new")
    with open(new, "w") as f:
        f.write("id,email\n1,raw.v2@example.com\n")
    os.rename(new, os.path.join(s.src, "d.csv"))
    time.sleep(1.2)
    assert "d.old" not in os.listdir(s.path("snap"))
    r = as_nobody("cat", s.path("snap/d.old"))
    assert r.returncode != 0 and b"raw.v1" not in r.stdout
    assert "raw.v2" not in open(s.path("d.csv")).read()
    # and a link to the old file made only now
    os.link(os.path.join(s.src, "snap", "d.old"), os.path.join(s.src, "later.txt"))
    r = as_nobody("cat", s.path("later.txt"))
    assert r.returncode != 0 and b"raw.v1" not in r.stdout



def test_hard_link_to_dataset_replaced_before_any_build_stays_hidden(sandbox):
    s = sandbox("hlold2")
    s.write("e.csv", "id,email\n1,raw.e1@example.com\n")
    os.link(os.path.join(s.src, "e.csv"), os.path.join(s.src, "e.bak"))
    s.write_config("source: @SRC@\ndefault: show\ndatasets:\n"
                   "  e.csv: { columns: { id: keep, email: { method: hash } } }\n")
    s.mount()
    # replaced by rename before anyone opened the view or listed a folder
    new = os.path.join(s.src, ".e.new")
    with open(new, "w") as f:
        f.write("id,email\n1,raw.e2@example.com\n")
    os.rename(new, os.path.join(s.src, "e.csv"))
    time.sleep(1.2)
    r = as_nobody("cat", s.path("e.bak"))
    assert r.returncode != 0 and b"raw.e1" not in r.stdout
    assert "e.bak" not in os.listdir(s.mnt)
    assert "raw.e2" not in open(s.path("e.csv")).read()


@needs_duckdb
def test_build_failed_on_a_half_copied_source_is_retried_once_whole(sandbox, tmp_path):
    da, _ = swapped_parquets(tmp_path)
    s = sandbox("halfcp")
    src = s.write("t.parquet", b"")  # cp: truncated, not yet written
    s.write_config(SW_CFG % "")
    s.mount()
    with pytest.raises(OSError) as e:
        open(s.path("t.parquet"), "rb").read()
    assert e.value.errno == errno.EIO
    with pytest.raises(OSError):  # still the same file: still refused
        open(s.path("t.parquet"), "rb").read()
    with open(src, "r+b") as f:  # the copy completes, same inode
        f.write(da)
    d = open(s.path("t.parquet"), "rb").read()
    assert d[:4] == b"PAR1" and b"rawsecret" not in d
    assert b"ID-000" in d

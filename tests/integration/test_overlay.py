# SPDX-License-Identifier: LGPL-2.1-or-later
"""The encrypted copy-on-write overlay through a real mount: every write
operation, copy-up of masked bytes, whiteouts, the store holding only
ciphertext, and POSIX errnos compared with the native kernel."""
import errno
import mmap
import os
import stat
import subprocess

import pytest

from conftest import is_mounted, spotfs, tree_digest
from fsx import run_fsx

MARK = b"PLAINTEXT-MARKER-7f3a9c"

CONFIG = """
source: @SRC@
store: @STORE@
default: hide
datasets:
  people.csv:
    columns:
      email: { method: hash }
      ssn:   { method: mask, pattern: "***-**-####" }
  sub/plain.csv:
    columns: {}
"""


@pytest.fixture
def ov(sandbox, tmp_path):
    s = sandbox("ov")
    s.store = str(tmp_path / "store")
    s.write("people.csv", "id,email,ssn\n" + "".join(
        "%d,raw%03d@corp.example,%03d-45-67%02d\n" % (i, i, 100 + i, i % 100)
        for i in range(200)))
    s.write("sub/plain.csv", "k,v\n1,2\n")
    s.write("hidden.txt", "not named\n")
    s.write_config(CONFIG.replace("@STORE@", s.store))
    s.before = tree_digest(s.src)
    s.mount()
    yield s
    s.unmount()
    assert tree_digest(s.src) == s.before, "the source changed"
    assert not os.listdir(s.store), "store folder left behind: %r" % os.listdir(s.store)


def store_bytes(s):
    out = b""
    for dirpath, _, files in os.walk(s.store):
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                out += fh.read()
    return out


def test_create_write_read_and_store_is_ciphertext(ov):
    p = ov.path("results.txt")
    data = (MARK + b"\n") * 5000
    with open(p, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    with open(p, "rb") as f:
        assert f.read() == data
    assert os.stat(p).st_size == len(data)
    blob = store_bytes(ov)
    assert len(blob) >= len(data), "contents are in the store"
    assert MARK not in blob and b"results.txt" not in blob
    names = [f for _, _, fs in os.walk(ov.store) for f in fs]
    assert all(len(n) == 32 and all(c in "0123456789abcdef" for c in n)
               for n in names), names


def test_copy_up_copies_masked_not_raw_bytes(ov):
    p = ov.path("people.csv")
    masked = open(p, "rb").read()
    assert b"raw000@corp.example" not in masked
    with open(p, "ab") as f:
        f.write(b"999,new@x.example,000-00-0000\n")
    now = open(p, "rb").read()
    assert now == masked + b"999,new@x.example,000-00-0000\n"
    assert b"@corp.example" not in now
    blob = store_bytes(ov)
    assert b"@corp.example" not in blob
    # The source file is untouched.
    assert b"raw000@corp.example" in open(os.path.join(ov.src, "people.csv"), "rb").read()


def test_unlink_view_leaves_whiteout(ov):
    os.unlink(ov.path("people.csv"))
    assert "people.csv" not in os.listdir(ov.mnt)
    with pytest.raises(FileNotFoundError):
        os.stat(ov.path("people.csv"))
    assert os.path.exists(os.path.join(ov.src, "people.csv"))
    # A new file may take the name; it starts empty, not with old bytes.
    with open(ov.path("people.csv"), "w") as f:
        f.write("fresh\n")
    assert open(ov.path("people.csv")).read() == "fresh\n"


def test_source_dir_removal_and_rename_over_view(ov):
    with open(ov.path("report.csv"), "w") as f:
        f.write("a\n1\n")
    os.rename(ov.path("report.csv"), ov.path("people.csv"))
    assert open(ov.path("people.csv")).read() == "a\n1\n"
    assert sorted(os.listdir(ov.mnt)) == [".spotfs", "people.csv", "sub"]
    with pytest.raises(OSError) as e:
        os.rmdir(ov.path("sub"))
    assert e.value.errno == errno.ENOTEMPTY
    os.unlink(ov.path("sub/plain.csv"))
    os.rmdir(ov.path("sub"))
    assert sorted(os.listdir(ov.mnt)) == [".spotfs", "people.csv"]
    os.mkdir(ov.path("sub"))
    assert os.listdir(ov.path("sub")) == [], "a folder made over a deleted one is empty"


def test_rename_view_copies_up(ov):
    masked = open(ov.path("people.csv"), "rb").read()
    os.rename(ov.path("people.csv"), ov.path("moved.csv"))
    assert open(ov.path("moved.csv"), "rb").read() == masked
    assert "people.csv" not in os.listdir(ov.mnt)


def test_metadata_ops(ov):
    p = ov.path("m.bin")
    fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
    os.close(fd)
    with pytest.raises(FileExistsError):
        os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640 & ~current_umask()
    os.chmod(p, 0o600)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    os.chown(p, 1234, 5678)
    st = os.stat(p)
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    os.utime(p, ns=(1_000_000_123, 2_000_000_456))
    st = os.stat(p)
    assert (st.st_atime_ns, st.st_mtime_ns) == (1_000_000_123, 2_000_000_456)
    os.setxattr(p, "user.origin", b"notebook")
    assert os.getxattr(p, "user.origin") == b"notebook"
    assert "user.origin" in os.listxattr(p)
    os.removexattr(p, "user.origin")
    with pytest.raises(OSError) as e:
        os.getxattr(p, "user.origin")
    assert e.value.errno == errno.ENODATA
    # Links.
    target = "t" * 4095
    os.symlink(target, ov.path("lnk"))
    assert os.readlink(ov.path("lnk")) == target
    os.link(p, ov.path("hard"))
    assert os.stat(p).st_nlink == 2 and os.stat(p).st_ino == os.stat(ov.path("hard")).st_ino
    # Unlinked but open: still readable, nlink drops.
    with open(ov.path("tmp"), "w+b") as f:
        f.write(b"still here")
        os.unlink(ov.path("tmp"))
        assert os.fstat(f.fileno()).st_nlink == 0
        f.seek(0)
        assert f.read() == b"still here"


def current_umask():
    m = os.umask(0)
    os.umask(m)
    return m


def test_truncate_append_sparse_and_large(ov):
    p = ov.path("big.bin")
    with open(p, "wb") as f:
        f.write(b"abc")
    with open(p, "ab") as f:
        f.write(b"def")
    assert open(p, "rb").read() == b"abcdef"
    os.truncate(p, 2)
    assert open(p, "rb").read() == b"ab"
    os.truncate(p, 10)
    assert open(p, "rb").read() == b"ab" + b"\0" * 8
    off = 5 * 1024 ** 3
    with open(p, "r+b") as f:
        f.seek(off)
        f.write(b"tail")
    st = os.stat(p)
    assert st.st_size == off + 4
    assert st.st_blocks * 512 < 1024 * 1024, "a sparse file stays sparse"
    with open(p, "rb") as f:
        f.seek(off - 2)
        assert f.read() == b"\0\0tail"


def test_mmap_read_write(ov):
    p = ov.path("mm.bin")
    with open(p, "wb") as f:
        f.write(b"\0" * 8192)
    with open(p, "r+b") as f:
        m = mmap.mmap(f.fileno(), 8192)
        m[100:105] = b"hello"
        m.flush()
        m.close()
    with open(p, "rb") as f:
        assert f.read()[100:105] == b"hello"


def test_fsx_short(ov):
    """Random ops on one file against an in-memory model (fixed seed);
    the soak suite runs the same exerciser for 100,000 operations."""
    assert run_fsx(ov.path("fsx.bin"), seed=1234, ops=3000) == 3000


def native_errno(fn):
    try:
        fn()
    except OSError as e:
        return e.errno
    return 0


@pytest.mark.parametrize("case", [
    "mkdir_exists", "rmdir_notempty", "rmdir_notdir", "unlink_dir",
    "rename_dir_over_file", "rename_file_over_dir", "rename_into_self",
    "name_too_long", "open_missing", "link_dir", "rename_noreplace",
    "create_in_file", "symlink_exists", "readlink_file", "symlink_loop",
    "rename_exchange_missing", "rmdir_dot",
])
def test_posix_errnos_match_native(ov, tmp_path, case):
    """Each failure gives the same errno as the native kernel (the oracle)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)

    def renameat2(a, b, flags):
        if libc.renameat2(-100, a.encode(), -100, b.encode(), flags) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))

    def setup(root):
        os.makedirs(os.path.join(root, "d/inner"), exist_ok=True)
        open(os.path.join(root, "f"), "w").close()
        open(os.path.join(root, "g"), "w").close()

    cases = {
        "mkdir_exists": lambda r: os.mkdir(os.path.join(r, "d")),
        "rmdir_notempty": lambda r: os.rmdir(os.path.join(r, "d")),
        "rmdir_notdir": lambda r: os.rmdir(os.path.join(r, "f")),
        "unlink_dir": lambda r: os.unlink(os.path.join(r, "d")),
        "rename_dir_over_file": lambda r: os.rename(os.path.join(r, "d"), os.path.join(r, "f")),
        "rename_file_over_dir": lambda r: os.rename(os.path.join(r, "f"), os.path.join(r, "d")),
        "rename_into_self": lambda r: os.rename(os.path.join(r, "d"), os.path.join(r, "d/inner/x")),
        "name_too_long": lambda r: open(os.path.join(r, "n" * 256), "w"),
        "open_missing": lambda r: open(os.path.join(r, "missing")),
        "link_dir": lambda r: os.link(os.path.join(r, "d"), os.path.join(r, "d2")),
        "rename_noreplace": lambda r: renameat2(os.path.join(r, "f"), os.path.join(r, "g"), 1),
        "create_in_file": lambda r: open(os.path.join(r, "f/x"), "w"),
        "symlink_exists": lambda r: os.symlink("x", os.path.join(r, "f")),
        "readlink_file": lambda r: os.readlink(os.path.join(r, "f")),
        "symlink_loop": lambda r: (os.symlink("loop", os.path.join(r, "loop")),
                                   open(os.path.join(r, "loop"))),
        "rename_exchange_missing": lambda r: renameat2(os.path.join(r, "f"),
                                                       os.path.join(r, "nope"), 2),
        "rmdir_dot": lambda r: os.rmdir(os.path.join(r, "d/.")),
    }
    native = str(tmp_path / "native")
    os.makedirs(native)
    setup(native)
    work = ov.path("w")
    os.makedirs(work)
    setup(work)
    want = native_errno(lambda: cases[case](native))
    got = native_errno(lambda: cases[case](work))
    assert want != 0, "the oracle case must fail"
    assert got == want, "%s: spotfs %s, native %s" % (case, errno.errorcode.get(got), errno.errorcode.get(want))


def test_permissions_for_other_user(ov):
    """default_permissions: a non-owner cannot write a 0644 file (EACCES)."""
    p = ov.path("owned.txt")
    with open(p, "w") as f:
        f.write("x")
    os.chmod(p, 0o644)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "sh", "-c", "echo y >> '%s'" % p], capture_output=True, text=True)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "cat", p], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "x"


def test_sigterm_discards_store(sandbox, tmp_path):
    s = sandbox("term")
    store = str(tmp_path / "tstore")
    s.write("a.csv", "k\nv\n")
    s.write_config("source: @SRC@\nstore: %s\ndatasets:\n  a.csv: {}\n" % store)
    s.mount()
    with open(s.path("x.txt"), "wb") as f:
        f.write(MARK * 5000)  # past the in-memory small-file limit
    assert os.listdir(store), "a store folder exists while mounted"
    os.killpg(s.proc.pid, 15)
    s.proc.wait(timeout=20)
    assert not is_mounted(s.mnt)
    assert os.listdir(store) == []


def test_times_follow_posix(ov):
    p = ov.path("t.txt")
    with open(p, "w") as f:
        f.write("a")
    os.utime(p, ns=(1_000_000_000, 1_000_000_000))
    st0 = os.stat(p)
    with open(p, "a") as f:
        f.write("b")
    st1 = os.stat(p)
    assert st1.st_mtime_ns > st0.st_mtime_ns and st1.st_ctime_ns >= st0.st_ctime_ns
    os.chmod(p, 0o600)
    st2 = os.stat(p)
    assert st2.st_mtime_ns == st1.st_mtime_ns, "chmod leaves mtime alone"
    assert st2.st_ctime_ns >= st1.st_ctime_ns
    d0 = os.stat(ov.mnt).st_mtime_ns
    os.utime(ov.mnt, ns=(1_000_000_000, 1_000_000_000))
    with open(ov.path("new-in-root"), "w"):
        pass
    assert os.stat(ov.mnt).st_mtime_ns > 1_000_000_000, "create updates the folder's mtime"
    assert d0 > 0


def test_renaming_a_source_folder_is_exdev(ov):
    with pytest.raises(OSError) as e:
        os.rename(ov.path("sub"), ov.path("sub2"))
    assert e.value.errno == errno.EXDEV
    # mv falls back to copy + delete, which works.
    r = subprocess.run(["mv", ov.path("sub"), ov.path("sub2")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert os.listdir(ov.path("sub2")) == ["plain.csv"]
    assert "sub" not in os.listdir(ov.mnt)

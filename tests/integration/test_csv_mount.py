# SPDX-License-Identifier: LGPL-2.1-or-later
"""The walking skeleton through a real mount: masked CSV views read by
pandas, cat, dd and Python; hidden files; bad input; clean unmount."""
import csv
import errno
import io
import os
import subprocess

import pytest

from conftest import SPOTFS, is_mounted, spotfs, tree_digest

N = 500

CONFIG = """
source: @SRC@
ttl: 1h
secret: random
default: hide
datasets:
  people.csv:
    columns:
      name:  { method: redact }
      email: { method: hash, length: 20 }
      ssn:   { method: mask, pattern: "***-**-####" }
      phone: { method: partial, keep_last: 2 }
      mail2: { method: email }
      gone:  { method: null }
      id: keep
      city: keep
      note: keep
  sub/dir/events.csv:
    columns:
      who: { method: hash }
      what: keep
  broken.csv:
    columns:
      a: { method: hash }
"""


def people_rows():
    rows = []
    for i in range(N):
        rows.append({
            "id": str(i),
            "name": "Rawname%04dQ" % i,
            "email": "rawuser%04d@rawmail.example" % i,
            "ssn": "%03d-%02d-%04d" % (100 + i % 800, 10 + i % 80, 1000 + i),
            "phone": "+1-555-%07d" % (1234567 + i),
            "mail2": "second%04d@other.example" % i,
            "gone": "rawgone%04d" % i,
            "city": "City %d" % (i % 7),
            "note": "line one\nline two" if i % 10 == 0 else 'said "hi", left',
        })
    return rows


def write_people(s):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(people_rows()[0].keys()),
                       lineterminator="\r\n")
    w.writeheader()
    w.writerows(people_rows())
    s.write("people.csv", "\ufeff" + buf.getvalue())


@pytest.fixture
def mounted(sandbox):
    s = sandbox()
    write_people(s)
    s.write("sub/dir/events.csv", "who,what\nrawwho-alpha,login\nrawwho-beta,logout\n")
    s.write("broken.csv", "a,b\n1,2\n3\n")
    s.write("secret-notes.txt", "raw secret notes\n")
    s.write("sub/unnamed.csv", "x\n1\n")
    s.write_config(CONFIG)
    before = tree_digest(s.src)
    s.mount()
    yield s
    s.unmount()
    assert not is_mounted(s.mnt)
    assert tree_digest(s.src) == before, "the source changed"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def test_pandas_reads_same_shape(mounted):
    code = (
        "import pandas as pd, sys\n"
        "m = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)\n"
        "s = pd.read_csv(sys.argv[2], dtype=str, keep_default_na=False)\n"
        "assert list(m.columns) == list(s.columns), (m.columns, s.columns)\n"
        "assert m.shape == s.shape, (m.shape, s.shape)\n"
        "assert (m['id'] == s['id']).all()\n"
        "assert (m['city'] == s['city']).all() and (m['note'] == s['note']).all()\n"
        "assert (m['name'] == '[REDACTED]').all()\n"
        "assert (m['email'].str.len() == 20).all()\n"
        "assert (m['gone'] == '').all()\n"
        "assert m['ssn'].str.match(r'^\\*\\*\\*-\\*\\*-\\d{4}$').all()\n"
        "print(m.shape[0])\n")
    r = subprocess.run(["/usr/bin/python3", "-c", code,
                        mounted.path("people.csv"),
                        os.path.join(mounted.src, "people.csv")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(N)


def all_mount_bytes(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            try:
                out[p] = read(p)
            except OSError as e:
                assert e.errno == errno.EIO, (p, e)
    return out


def test_no_raw_masked_value_anywhere(mounted):
    files = all_mount_bytes(mounted.mnt)
    assert mounted.path("people.csv") in files
    blob = b"\0".join(files.values())
    masked = ["name", "email", "ssn", "phone", "mail2", "gone"]
    raws = [r[c] for r in people_rows() for c in masked]
    raws += ["rawwho-alpha", "rawwho-beta"]
    leaked = [v for v in raws if v.encode() in blob]
    assert not leaked, "raw values served: %r" % leaked[:5]
    # The unmasked columns are there, byte for byte.
    assert b'"said ""hi"", left"' in blob and b"City 3" in blob


def test_size_offsets_and_determinism(mounted):
    p = mounted.path("people.csv")
    data = read(p)
    assert os.stat(p).st_size == len(data)
    assert read(p) == data, "two reads differ"
    assert data.startswith(b"\xef\xbb\xbfid,name,"), "BOM and header kept"
    assert b"\r\n" in data and b"line one\nline two" in data
    fd = os.open(p, os.O_RDONLY)
    try:
        for off in (0, 1, 4095, 4096, 10000, len(data) - 7, len(data), len(data) + 100):
            assert os.pread(fd, 4096, off) == data[off:off + 4096], off
    finally:
        os.close(fd)
    for skip in (0, 3, 11):
        r = subprocess.run(["dd", "if=" + p, "bs=1000", "skip=%d" % skip,
                            "count=2", "status=none"], capture_output=True)
        assert r.returncode == 0
        assert r.stdout == data[skip * 1000:skip * 1000 + 2000]


def test_hidden_files_are_enoent(mounted):
    assert sorted(os.listdir(mounted.mnt)) == [".spotfs", "broken.csv",
                                               "people.csv", "sub"]
    assert os.listdir(mounted.path("sub")) == ["dir"]
    for rel in ("secret-notes.txt", "sub/unnamed.csv", "nope.csv"):
        with pytest.raises(FileNotFoundError):
            open(mounted.path(rel), "rb")
    r = subprocess.run(["cat", mounted.path("secret-notes.txt")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "No such file or directory" in r.stderr


def test_nested_dataset(mounted):
    data = read(mounted.path("sub/dir/events.csv")).decode()
    lines = data.splitlines()
    assert lines[0] == "who,what" and len(lines) == 3
    assert lines[1].endswith(",login") and "rawwho" not in data


def test_malformed_csv_eio_others_keep_working(mounted):
    with pytest.raises(OSError) as e:
        read(mounted.path("broken.csv"))
    assert e.value.errno == errno.EIO
    assert read(mounted.path("people.csv")).startswith(b"\xef\xbb\xbfid")
    r = spotfs("check", "-c", mounted.config)
    assert r.returncode == 1
    assert "broken.csv" in r.stdout and "line 3" in r.stdout, r.stdout
    assert "expected 2 fields" in r.stdout, r.stdout


def test_name_too_long(mounted):
    with pytest.raises(OSError) as e:
        os.stat(mounted.path("x" * 256))
    assert e.value.errno == errno.ENAMETOOLONG


def test_unmount_leaves_nothing(sandbox):
    s = sandbox()
    s.write("a.csv", "k\nv\n")
    s.write_config("source: @SRC@\ndatasets:\n  a.csv: {}\n")
    s.mount()
    pid = s.proc.pid
    r = spotfs("unmount", s.mnt)
    assert r.returncode == 0, r.stderr
    s.proc.wait(timeout=20)
    assert not is_mounted(s.mnt)
    assert not os.path.exists("/proc/%d" % pid) or open(
        "/proc/%d/stat" % pid).read().split()[2] == "Z"
    s.assert_clean_log()

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Views within a memory budget (issue 12): beyond view_memory, views
spill, encrypted, to the sandbox's store and read back the same bytes;
least recently read views go first; a spill that cannot be written leaves
the view in memory; status lists every view (building with progress and
waiting callers, built in memory or spilled, failed); prebuild and
mount --wait build every view after mounting."""
import errno
import glob
import hashlib
import json
import os
import re
import subprocess
import threading
import time

import pytest

from conftest import ROOT, spotfs, SPOTFS, is_mounted, duck, needs_duckdb
from test_nonblocking import slow_policy

ROWS = 40000


def people(tag):
    return "id,email,note\n" + "".join(
        "%d,raw%d-%s@corp.example,MARK%s%dQ\n" % (i, i, tag, tag, i)
        for i in range(ROWS))


RULES = "    columns:\n      id: keep\n      email: hash\n      note: keep\n"


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def status(s):
    r = spotfs("status", "--json", s.mnt)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout[:r.stdout.rindex("}") + 1])


def views(s):
    return {(v["dataset"], v["table"]): v for v in status(s)["views"]}


def settle(s, pred, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        st = status(s)
        if pred(st):
            return st
        time.sleep(0.1)
    raise AssertionError("status never settled: %r" % status(s))


def make(sandbox, tmp_path, name, memory, extra="", secret=None):
    s = sandbox(name)
    s.store = str(tmp_path / (name + "-store"))
    for t in ("a", "b", "c"):
        s.write("%s.csv" % t, people(t))
    key = secret or str(tmp_path / "secret.key")
    if not os.path.exists(key):
        with open(key, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(key, 0o600)
    s.write_config("source: @SRC@\nstore: %s\nsecret: %s\n%s%sdatasets:\n"
                   "  a.csv:\n%s  b.csv:\n%s  c.csv:\n%s"
                   % (s.store, key,
                      "view_memory: %s\n" % memory if memory else "",
                      extra, RULES, RULES, RULES))
    return s


def secret_key(tmp_path):
    """A stable secret file, so two mounts mask alike."""
    key = str(tmp_path / "secret.key")
    with open(key, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(key, 0o600)
    return key


def store_bytes(s):
    out = b""
    for p in glob.glob(os.path.join(s.store, "*", "*")):
        with open(p, "rb") as f:
            out += f.read()
    return out


def test_spilled_views_read_the_same_bytes(sandbox, tmp_path):
    """A budget smaller than one view: every view spills, and reads give
    the bytes a sandbox with room for all of them gives (same secret)."""
    big = make(sandbox, tmp_path, "roomy", "1G")
    big.mount()
    want = {t: digest(big.path(t + ".csv")) for t in "abc"}
    v = views(big)
    assert all(not x["spilled"] for x in v.values()), v
    big.unmount()

    s = make(sandbox, tmp_path, "tight", "64KiB")
    s.mount()
    for t in "abc":
        assert digest(s.path(t + ".csv")) == want[t]
    st = settle(s, lambda st: st["view_memory_used"] <= 64 * 1024)
    assert st["view_memory"] == 64 * 1024
    spilled = [x for x in st["views"] if x["spilled"]]
    assert len(spilled) == 3, st["views"]
    # Reads after the spill: same bytes, several times, random offsets.
    for t in "abc":
        assert digest(s.path(t + ".csv")) == want[t]
    with open(s.path("b.csv"), "rb") as f:
        data = f.read()
        for off in (0, 1, 4095, 4096, 65537, len(data) - 3):
            f.seek(off)
            assert f.read(5000) == data[off:off + 5000]
    # Spilled views are ciphertext: neither a kept value nor a masked one
    # is on disk.
    disk = store_bytes(s)
    assert len(disk) >= sum(x["bytes"] for x in spilled)
    assert b"MARKa17Q" not in disk and b"MARKc39999Q" not in disk
    assert b"corp.example" not in disk
    hashed = data.split(b"\n")[5].split(b",")[1]
    assert len(hashed) >= 8 and hashed not in disk
    s.unmount()
    assert not glob.glob(os.path.join(s.store, "*", "*"))


def test_least_recently_read_view_spills_first(sandbox, tmp_path):
    """Room for about two views: the one not read for longest goes."""
    s = make(sandbox, tmp_path, "lru", None)
    s.mount()
    size = len(open(s.path("a.csv"), "rb").read())
    s.unmount()
    s = make(sandbox, tmp_path, "lru2", str(int(size * 2.5)))
    s.mount()
    for t in "abc":
        open(s.path(t + ".csv"), "rb").read()
        time.sleep(0.2)
    st = settle(s, lambda st: st["view_memory_used"] <= st["view_memory"])
    by = {x["dataset"]: x for x in st["views"]}
    assert by["a.csv"]["spilled"], by
    assert not by["b.csv"]["spilled"] and not by["c.csv"]["spilled"], by


def test_spill_that_cannot_be_written_keeps_the_view(sandbox, tmp_path):
    """A store on a full disk: the spill fails, the view stays in memory
    and is served whole; status says so."""
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs",
                        str(tiny)], capture_output=True, text=True)
    if r.returncode:
        pytest.skip("cannot mount a tmpfs: " + r.stderr)
    try:
        s = make(sandbox, tmp_path, "full", "0")
        s.store = str(tiny / "store")
        s.write_config(open(s.config).read().replace(
            str(tmp_path / "full-store"), s.store))
        s.mount()
        data = open(s.path("a.csv"), "rb").read()
        st = settle(s, lambda st: all(
            x["spilled"] or x["spill_failed"] for x in st["views"]))
        a = [x for x in st["views"] if x["dataset"] == "a.csv"][0]
        assert a["spill_failed"] and not a["spilled"], a
        assert open(s.path("a.csv"), "rb").read() == data
        assert "cannot spill" in s.read_log()
        s.unmount()
    finally:
        subprocess.run(["umount", "-l", str(tiny)])


@needs_duckdb
def test_parquet_view_spills(sandbox, tmp_path):
    """A Parquet view (masked chunks in memory, the others read from the
    pinned source) spills whole and reads the same afterwards."""
    s = sandbox("pq")
    s.store = str(tmp_path / "pq-store")
    os.makedirs(s.src, exist_ok=True)
    src = os.path.join(s.src, "p.parquet")
    duck(tmp_path, "COPY (SELECT range AS id, 'raw' || range || "
         "'@corp.example' AS email, 'city' || (range %% 50) AS city "
         "FROM range(5000)) TO '%s' (FORMAT parquet)" % src)
    s.write_config("source: @SRC@\nstore: %s\nview_memory: 0\ndatasets:\n"
                   "  p.parquet:\n    columns:\n      id: keep\n"
                   "      email: hash\n      city: keep\n" % s.store)
    s.mount()
    first = open(s.path("p.parquet"), "rb").read()
    st = settle(s, lambda st: st["views"] and st["views"][0]["spilled"])
    assert st["view_memory_used"] == 0
    assert open(s.path("p.parquet"), "rb").read() == first
    got = duck(tmp_path, "SELECT count(*), count(DISTINCT city), "
               "count(*) FILTER (WHERE email LIKE 'raw%%') FROM '%s'"
               % s.path("p.parquet"))
    assert got == [[5000, 50, 0]]
    assert b"@corp.example" not in store_bytes(s)


def test_status_shows_building_view_and_waiting_caller(sandbox, tmp_path):
    s = sandbox("st")
    s.write("slow.csv", "v\n" + "".join("raw%d\n" % i for i in range(200000)))
    s.write("ok.csv", "id\n1\n")
    s.write("bad.csv", "id\n1\n")
    s.write_config("source: @SRC@\ndatasets:\n  slow.csv:\n    policy: %s\n"
                   "  ok.csv:\n    columns: { id: keep }\n"
                   "  bad.csv:\n    columns: { nosuch: hash }\n"
                   % slow_policy(s.base))
    s.mount()
    open(s.path("ok.csv"), "rb").read()
    with pytest.raises(OSError):
        open(s.path("bad.csv"), "rb").read()
    done = []
    t = threading.Thread(target=lambda: done.append(
        len(open(s.path("slow.csv"), "rb").read())))
    t.start()
    try:
        st = settle(s, lambda st: any(
            x["state"] == "building" and x["waiting"] and
            x["waiting"][0]["seconds"] >= 2 for x in st["views"]), 60)
        b = [x for x in st["views"] if x["state"] == "building"][0]
        assert b["dataset"] == "slow.csv"
        assert b["waiting"][0]["uid"] == 0 and b["waiting"][0]["pid"] > 0
        assert b["source_bytes"] == os.path.getsize(
            os.path.join(s.src, "slow.csv"))
        # Progress: rows masked and source bytes read so far.
        assert 0 < b["rows"] < 200000, b
        assert 0 < b["source_bytes_read"] <= b["source_bytes"], b
        text = spotfs("status", s.mnt).stdout
        assert "view: slow.csv role default: building" in text, text
        assert "waiting" in text and "uid 0" in text, text
        assert "% of the source" in text and "s so far" in text, text
        by = {x["dataset"]: x for x in st["views"]}
        assert by["ok.csv"]["state"] == "built" and by["ok.csv"]["rows"] == 1
        assert by["bad.csv"]["state"] == "failed"
        assert "nosuch" in by["bad.csv"]["error"]
    finally:
        t.join(120)
    assert done and done[0] > 0, s.read_log()
    log = s.read_log()
    assert "view slow.csv role default: build 1 started" in log
    assert "view slow.csv role default: built" in log
    assert "MB/s of source" in log


def test_prebuild_builds_every_view_after_mounting(sandbox, tmp_path):
    s = make(sandbox, tmp_path, "pre", None, extra="prebuild: true\n")
    s.mount()
    st = settle(s, lambda st: len(st["views"]) == 3 and all(
        x["state"] == "built" for x in st["views"]))
    assert all(x["waiting"] == [] for x in st["views"])
    # ls -l finds exact sizes without opening anything.
    sizes = {n: os.stat(s.path(n)).st_size for n in ("a.csv", "b.csv")}
    assert all(v > 0 for v in sizes.values())
    assert sizes["a.csv"] == len(open(s.path("a.csv"), "rb").read())
    assert "prebuild: 3 views built" in s.read_log()


def test_no_prebuild_by_default(sandbox, tmp_path):
    s = make(sandbox, tmp_path, "nopre", None)
    s.mount()
    time.sleep(1)
    assert status(s)["views"] == []


def test_mount_wait_returns_with_views_built(sandbox, tmp_path):
    s = make(sandbox, tmp_path, "wait", None)
    s.write("broken.csv", "a,b\n1,2\n")
    with open(s.config, "a") as f:
        f.write("  broken.csv:\n    columns: { missing: hash }\n")
    r = subprocess.run([SPOTFS, "mount", "--wait", "-c", s.config, s.mnt],
                       capture_output=True, text=True, timeout=120)
    try:
        assert r.returncode == 0, r.stderr
        st = status(s)
        by = {x["dataset"]: x for x in st["views"]}
        assert all(by[n]["state"] == "built" for n in
                   ("a.csv", "b.csv", "c.csv")), by
        assert by["broken.csv"]["state"] == "failed"
        assert "view broken.csv failed" in r.stderr
        assert "missing" in r.stderr
        # The whole report: digits in it do not end it early.
        assert re.search(r"prebuild: 3 views built \(\d+ bytes\), 1 failed,"
                         r" in [\d.]+ s\n", r.stderr), r.stderr
    finally:
        spotfs("unmount", s.mnt)
    assert not is_mounted(s.mnt)


@pytest.mark.parametrize("value", ["lots", "-1", "1.5G", "12 parsecs", "[1]"])
def test_bad_view_memory_is_a_config_error(sandbox, tmp_path, value):
    s = make(sandbox, tmp_path, "badmem", value)
    r = spotfs("check", "-c", s.config)
    assert r.returncode != 0
    assert "view_memory must be a size" in r.stderr + r.stdout
    assert ":4:" in r.stderr + r.stdout  # file:line:col


@pytest.mark.parametrize("value,want", [("0", 0), ("1024", 1024),
                                        ("64KiB", 65536), ("2M", 2 << 20),
                                        ("1 GB", 10 ** 9)])
def test_view_memory_sizes(sandbox, tmp_path, value, want):
    s = make(sandbox, tmp_path, "mem", value)
    s.mount()
    assert status(s)["view_memory"] == want


REL = os.path.join(ROOT, "build", "fs", "spotfs")


def big_csv(path, rows):
    with open(path, "w") as f:
        f.write("id,email,ssn,note\n")
        step = 50000
        for lo in range(0, rows, step):
            f.write("".join("%d,user%d@corp.example,123-45-%04d,a note "
                            "about \"row\" %d\n" % (i, i, i % 10000, i)
                            for i in range(lo, min(rows, lo + step))))


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not os.access(REL, os.X_OK),
                    reason="needs the release build (ASan inflates memory)")
def test_big_view_streams_in_bounded_memory(sandbox, tmp_path):
    """A view larger than view_memory is built straight into the store:
    the daemon's peak memory stays far below the view's size, and the
    bytes are those of a sandbox that holds the view in memory."""
    key = tmp_path / "secret.key"
    key.write_bytes(os.urandom(32))
    os.chmod(key, 0o600)
    src = tmp_path / "src"
    src.mkdir()
    big_csv(str(src / "big.csv"), 900000)  # ~60 MB
    peaks, sums = {}, {}
    for mem in ("1G", "4MiB"):
        mnt = tmp_path / ("mnt" + mem)
        mnt.mkdir()
        cfg = tmp_path / ("c%s.yaml" % mem)
        cfg.write_text(
            "source: %s\nstore: %s\nsecret: %s\nview_memory: %s\nthreads: 2\n"
            "datasets:\n  big.csv:\n    columns:\n      id: keep\n"
            "      email: hash\n      ssn: { method: mask, pattern: "
            "\"***-**-####\" }\n      note: keep\n"
            % (src, tmp_path / ("store" + mem), key, mem))
        p = subprocess.Popen([REL, "mount", "-f", "-c", str(cfg), str(mnt)],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            end = time.time() + 30
            while not is_mounted(str(mnt)) and time.time() < end:
                time.sleep(0.05)
            os.stat(str(mnt))
            sums[mem] = digest(str(mnt / "big.csv"))
            peaks[mem] = peak_rss_kib(p.pid)
            st = json.loads(subprocess.run(
                [REL, "status", "--json", str(mnt)], capture_output=True,
                text=True).stdout.rsplit("}", 1)[0] + "}")
            v = st["views"][0]
            size = v["bytes"]
            if mem == "4MiB":
                assert v["spilled"] and v["memory_bytes"] == 0, v
        finally:
            subprocess.run([REL, "unmount", str(mnt)], capture_output=True)
            p.wait(60)
    assert sums["1G"] == sums["4MiB"]
    assert size > 50 << 20
    # In memory the peak holds the view; streamed, a few 8 MiB parts
    # (masked ahead by the two workers) whatever the file's size.
    assert peaks["1G"] * 1024 > size, peaks
    assert peaks["4MiB"] < 48 * 1024 and peaks["4MiB"] < peaks["1G"] / 2, \
        (peaks, size)


def flip_byte_in_largest_store_file(s, at):
    files = glob.glob(os.path.join(s.store, "*", "*"))
    big = max(files, key=os.path.getsize)
    with open(big, "r+b") as f:
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 0x55]))
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def read_fails_eio(path):
    with pytest.raises(OSError) as e:
        with open(path, "rb") as f:
            while f.read(1 << 20):
                pass
    return e.value.errno == errno.EIO


def test_tampered_spill_block_reads_eio_not_a_short_file(sandbox, tmp_path):
    """A spilled view whose block fails authentication: a reader gets EIO,
    never the bytes before the block as if the file ended there."""
    s = make(sandbox, tmp_path, "tamper", "0")
    s.mount()
    size = len(open(s.path("a.csv"), "rb").read())
    settle(s, lambda st: st["views"] and st["views"][0]["spilled"])
    flip_byte_in_largest_store_file(s, 300000)
    assert read_fails_eio(s.path("a.csv"))
    assert os.stat(s.path("a.csv")).st_size == size  # not shrunk
    assert "failed authentication" in s.read_log()


def test_tampered_overlay_block_reads_eio_not_a_short_file(sandbox, tmp_path):
    s = make(sandbox, tmp_path, "tamperovl", None)
    s.mount()
    with open(s.path("out.bin"), "wb") as f:
        f.write(os.urandom(1 << 20))
    flip_byte_in_largest_store_file(s, 600000)
    assert read_fails_eio(s.path("out.bin"))
    assert os.stat(s.path("out.bin")).st_size == 1 << 20


def test_mount_wait_fails_when_the_sandbox_ends_first(sandbox, tmp_path):
    """mount --wait never says ready for a sandbox that expired while its
    views were building."""
    s = sandbox("waitend")
    s.write("slow.csv", "v\n" + "".join("raw%d\n" % i for i in range(400000)))
    s.write_config("source: @SRC@\ndatasets:\n  slow.csv:\n    policy: %s\n"
                   % slow_policy(s.base))
    r = subprocess.run([SPOTFS, "mount", "--wait", "--ttl", "3s", "-c",
                        s.config, s.mnt], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode != 0, r.stderr
    assert "ended before its views were built" in r.stderr
    end = time.time() + 30
    while is_mounted(s.mnt) and time.time() < end:
        time.sleep(0.1)
    assert not is_mounted(s.mnt)


@pytest.mark.skipif(not os.access(REL, os.X_OK),
                    reason="needs the release build (ASan inflates memory)")
def test_view_much_longer_than_its_source_streams(tmp_path):
    """view_memory bounds what masking makes, not what it reads: a 20 MB
    source whose rules make a 70 MB view streams it once it passes the
    budget (the attacker round held a 1.26 GB view of a 20 MB source in
    memory under view_memory: 64MiB)."""
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "amp.csv", "w") as f:
        f.write("a,b\n")
        for lo in range(0, 2000000, 500000):
            f.write("".join("%07d,y\n" % i for i in range(lo, lo + 500000)))
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    cfg = tmp_path / "c.yaml"
    cfg.write_text("source: %s\nstore: %s\nstate_dir: %s\nview_memory: 4MiB\n"
                   "threads: 2\ndatasets:\n  amp.csv:\n    columns:\n"
                   "      a: { method: hash, length: 32 }\n      b: keep\n"
                   % (src, tmp_path / "store", tmp_path / "state"))
    p = subprocess.Popen([REL, "mount", "-f", "-c", str(cfg), str(mnt)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.time() + 30
        while not is_mounted(str(mnt)) and time.time() < end:
            time.sleep(0.05)
        size = os.stat(str(mnt / "amp.csv")).st_size
        peak = peak_rss_kib(p.pid)
        st = subprocess.run([REL, "status", "--json", "-S",
                             str(tmp_path / "state"), str(mnt)],
                            capture_output=True, text=True).stdout
        v = json.loads(st[:st.rindex("}") + 1])["views"][0]
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)], capture_output=True)
        p.wait(60)
    assert size > 60 << 20 and v["spilled"] and v["memory_bytes"] == 0, v
    # A few 2 MiB parts' output (3.5x here) per worker, not the view.
    assert peak * 1024 < size / 2, \
        "peak %d KiB for a %d-byte view" % (peak, size)


@needs_duckdb
def test_replaced_parquet_views_are_freed_with_their_last_open(sandbox,
                                                               tmp_path):
    """A Parquet source replaced again and again (a dataset refreshed by
    rename) gets a new view each time; the old ones, with the source
    descriptor they pin, go as soon as no open file holds them, not at
    unmount."""
    s = sandbox("pqfree")
    s.store = str(tmp_path / "pqfree-store")
    os.makedirs(s.src, exist_ok=True)
    gens = []
    for g in range(2):
        p = str(tmp_path / ("g%d.parquet" % g))
        duck(tmp_path, "COPY (SELECT range AS id, 'raw%d-' || range || "
             "'@corp.example' AS email FROM range(2000)) TO '%s' "
             "(FORMAT parquet)" % (g, p))
        gens.append(open(p, "rb").read())
    s.write("t.parquet", gens[0])
    s.write_config("source: @SRC@\nstore: %s\ndatasets:\n  t.parquet:\n"
                   "    columns:\n      id: keep\n      email: hash\n"
                   % s.store)
    s.mount()
    pid = status(s)["pid"]

    def fds():
        return len(os.listdir("/proc/%d/fd" % pid))

    def replace(n):
        tmp = os.path.join(s.src, ".t.tmp")
        with open(tmp, "wb") as w:
            w.write(gens[n % 2])
        os.rename(tmp, os.path.join(s.src, "t.parquet"))

    held = open(s.path("t.parquet"), "rb")
    first = held.read(100)
    replace(1)
    assert open(s.path("t.parquet"), "rb").read()[:100] != b""
    vs = [v for v in status(s)["views"] if v["dataset"] == "t.parquet"]
    assert len(vs) == 2 and sum(v["replaced"] for v in vs) == 1, \
        "the replaced view stays while an open file holds it: %r" % vs
    held.close()
    base = None
    for n in range(30):
        replace(n)
        with open(s.path("t.parquet"), "rb") as f:
            got = f.read()
        assert got[:4] == b"PAR1" and b"@corp.example" not in got
        if n == 4:
            base = fds()
    vs = [v for v in status(s)["views"] if v["dataset"] == "t.parquet"]
    assert len(vs) == 1 and not vs[0]["replaced"], vs
    assert vs[0]["generation"] >= 31, vs
    assert fds() <= base, "the daemon keeps a descriptor per old view"
    assert first


@needs_duckdb
@pytest.mark.parametrize("memory", ["0", "64KiB"])
def test_parquet_view_streams_while_it_builds(sandbox, tmp_path, memory):
    """A Parquet view whose rebuilt chunks do not fit view_memory goes to
    its spill file while it builds (source chunks copied), so it is
    spilled the moment it is built, reads the same bytes as a view built
    in memory, and leaves no plaintext in the store."""
    key = secret_key(tmp_path)
    src = str(tmp_path / "p.parquet")
    duck(tmp_path, "COPY (SELECT range AS id, 'raw' || range || "
         "'@corp.example' AS email, range::VARCHAR || '-note' AS note "
         "FROM range(60000)) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE "
         "10000)" % src)
    served = {}
    for mem in ("1G", memory):
        s = sandbox("pqs" + mem)
        s.store = str(tmp_path / ("pqs-store-" + mem))
        s.write("p.parquet", open(src, "rb").read())
        s.write_config("source: @SRC@\nstore: %s\nsecret: %s\n"
                       "view_memory: %s\ndatasets:\n  p.parquet:\n"
                       "    columns:\n      id: keep\n"
                       "      email: hash\n      note: keep\n"
                       % (s.store, key, mem))
        s.mount()
        served[mem] = open(s.path("p.parquet"), "rb").read()
        v = views(s)[("p.parquet", "")]
        log = s.read_log()
        if mem == memory:
            assert v["spilled"], v
            assert "streamed to the store" in log, log
            assert status(s)["view_memory_used"] == 0
            got = duck(tmp_path, "SELECT count(*), count(DISTINCT email), "
                       "count(*) FILTER (WHERE email LIKE 'raw%%') "
                       "FROM '%s'" % s.path("p.parquet"))
            assert got == [[60000, 60000, 0]]
            assert b"@corp.example" not in store_bytes(s)
            assert b"-note" not in store_bytes(s)
        else:
            assert not v["spilled"], v
            assert "streamed to the store" not in log, log
        s.unmount()
    assert served["1G"] == served[memory]


@needs_duckdb
def test_as_forms_stream_while_they_build(sandbox, tmp_path):
    """CSV as Parquet and Parquet as CSV (as:) past view_memory stream
    into the store as they are written: built spilled, the same bytes as
    with room in memory, no plaintext in the store."""
    key = secret_key(tmp_path)
    pq = str(tmp_path / "e.parquet")
    duck(tmp_path, "COPY (SELECT range AS id, 'raw' || range || "
         "'@corp.example' AS email, range::VARCHAR || '-note' AS note "
         "FROM range(200000)) TO '%s' (FORMAT parquet)" % pq)
    csv = people("z") * 1
    served = {}
    for mem in ("1G", "0"):
        s = sandbox("asf" + mem)
        s.store = str(tmp_path / ("asf-store-" + mem))
        s.write("e.parquet", open(pq, "rb").read())
        s.write("p.csv", csv)
        s.write_config("source: @SRC@\nstore: %s\nsecret: %s\n"
                       "view_memory: %s\ndatasets:\n"
                       "  e.parquet:\n    as: [parquet, csv]\n"
                       "    columns:\n      id: keep\n      email: hash\n"
                       "      note: keep\n"
                       "  p.csv:\n    as: [csv, parquet]\n%s"
                       % (s.store, key, mem, RULES))
        s.mount()
        served[mem] = {n: open(s.path(n), "rb").read()
                       for n in ("e.csv", "p.parquet")}
        log = s.read_log()
        vs = [v for v in status(s)["views"] if v["table"] in ("csv",
                                                              "parquet")]
        assert len(vs) == 2, status(s)
        if mem == "0":
            assert all(v["spilled"] for v in vs), vs
            assert log.count("streamed to the store") >= 2, log
            store = store_bytes(s)
            assert b"@corp.example" not in store
            assert b"-note" not in store and b"MARKz" not in store
        else:
            assert "streamed to the store" not in log, log
        s.unmount()
    assert served["1G"] == served["0"]
    assert served["0"]["e.csv"].startswith(b"id,email,note\n")
    assert b"@corp.example" not in served["0"]["e.csv"]


def test_sqlite_table_csv_streams_while_it_builds(sandbox, tmp_path):
    """A SQLite table served as CSV past view_memory streams into the
    store as it is written: built spilled, the same bytes as with room."""
    import sqlite3
    db = str(tmp_path / "crm.db")
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE users (id INTEGER, email TEXT, note TEXT)")
    con.executemany("INSERT INTO users VALUES (?, ?, ?)",
                    [(i, "raw%d@corp.example" % i, "sqlnote%d" % i)
                     for i in range(60000)])
    con.commit()
    con.close()
    key = secret_key(tmp_path)
    served = {}
    for mem in ("1G", "0"):
        s = sandbox("sqs" + mem)
        s.store = str(tmp_path / ("sqs-store-" + mem))
        s.write("crm.db", open(db, "rb").read())
        s.write_config("source: @SRC@\nstore: %s\nsecret: %s\n"
                       "view_memory: %s\n"
                       "datasets:\n  crm.db:\n    tables:\n      users:\n"
                       "        columns:\n          id: keep\n"
                       "          email: hash\n          note: keep\n"
                       % (s.store, key, mem))
        s.mount()
        served[mem] = open(s.path("crm/users.csv"), "rb").read()
        log = s.read_log()
        if mem == "0":
            assert "streamed to the store" in log, log
            store = store_bytes(s)
            assert b"@corp.example" not in store
            assert b"sqlnote" not in store
        else:
            assert "streamed to the store" not in log, log
        s.unmount()
    assert served["1G"] == served["0"]
    assert served["0"].count(b"\n") == 60001
    assert b"@corp.example" not in served["0"]


@pytest.mark.parametrize("views", [False, True])
def test_sqlite_db_is_built_in_the_store_past_the_budget(sandbox, tmp_path,
                                                         views):
    """A SQLite dataset's masked .db bigger than the room in view_memory is
    built in its spill file (SQLite writes its pages there through the
    store's encryption), not in memory: the same bytes as a build with
    room, readable by sqlite3, no plaintext in the store."""
    import sqlite3
    db = str(tmp_path / "crm.db")
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE users (id INTEGER, email TEXT, note TEXT)")
    con.executemany("INSERT INTO users VALUES (?, ?, ?)",
                    [(i, "raw%d@corp.example" % i, "dbnote%d" % i)
                     for i in range(50000)])
    con.execute("CREATE VIEW notes AS SELECT id, note FROM users")
    con.commit()
    con.close()
    key = secret_key(tmp_path)
    served = {}
    for mem in ("1G", "0"):
        s = sandbox("sqd%s%d" % (mem, views))
        s.store = str(tmp_path / ("sqd-store-%s%d" % (mem, views)))
        s.write("crm.db", open(db, "rb").read())
        s.write_config("source: @SRC@\nstore: %s\nsecret: %s\n"
                       "view_memory: %s\ndatasets:\n  crm.db:\n"
                       "    db_views: %s\n    tables:\n      users:\n"
                       "        columns:\n          id: keep\n"
                       "          email: hash\n          note: keep\n"
                       % (s.store, key, mem, "true" if views else "false"))
        s.mount()
        served[mem] = open(s.path("crm.db"), "rb").read()
        if views:
            served[mem + "notes"] = open(s.path("crm/notes.csv"), "rb").read()
        log = s.read_log()
        if mem == "0":
            assert "streamed to the store" in log, log
            # The masked tables the views run against: in the store too.
            assert ("bytes staged in the store" in log) == views, log
            store = store_bytes(s)
            assert b"@corp.example" not in store
            assert b"dbnote" not in store
            out = str(tmp_path / ("served%d.db" % views))
            with open(out, "wb") as f:
                f.write(served[mem])
            con = sqlite3.connect(out)
            assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert con.execute("SELECT count(*), count(DISTINCT email) "
                               "FROM users").fetchone() == (50000, 50000)
            assert con.execute("SELECT count(*) FROM users WHERE email "
                               "LIKE 'raw%'").fetchone() == (0,)
            if views:
                assert con.execute("SELECT count(*) FROM notes"
                                   ).fetchone() == (50000,)
            con.close()
        else:
            assert "streamed to the store" not in log, log
            assert "staged in the store" not in log, log
        s.unmount()
    assert served["1G"] == served["0"]
    assert b"@corp.example" not in served["0"]
    if views:
        assert served["1Gnotes"] == served["0notes"]
        assert served["0notes"].split(b"\n")[1].startswith(b"0,dbnote0"), \
            served["0notes"][:40]


def test_empty_strings_from_lua_in_the_parquet_form(sandbox, tmp_path):
    """A Lua column function returning "" while the CSV's Parquet form is
    built: a dictionary of empty values (UBSan once saw a NULL pointer
    given to memcmp there); the daemon log must stay clean (conftest
    checks it for sanitizer reports)."""
    s = sandbox("luaempty")
    s.write("p.csv", "id,email\n" + "".join(
        "%d,raw%d@corp.example\n" % (i, i) for i in range(3000)))
    pol = os.path.join(s.base, "p.lua")
    with open(pol, "w") as f:
        f.write("columns = { email = function(v) return '' end }\n")
    s.write_config("source: @SRC@\ndatasets:\n  p.csv:\n    as: [csv, parquet]\n"
                   "    policy: %s\n    columns:\n      id: keep\n" % pol)
    s.mount()
    got = open(s.path("p.parquet"), "rb").read()
    assert got[:4] == b"PAR1" and b"@corp.example" not in got
    assert open(s.path("p.csv"), "rb").read().startswith(b"id,email\n0,\n")

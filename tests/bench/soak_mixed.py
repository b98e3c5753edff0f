#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mixed soak (issue 17): one spotfs sandbox under a mixed load until its
TTL ends it.

  tests/bench/soak --mixed [--minutes N] [--spotfs PATH]
  /usr/bin/python3 tests/bench/soak_mixed.py [--minutes N] [--spotfs PATH]

The source holds a CSV (also served as Parquet, `as:`), a Parquet file from
DuckDB (also served as CSV), a SQLite database (tables as CSV and the
masked database) and a JSON Lines file (also as CSV), under two roles that
mask differently: root (steward) and uid 65534 (analyst, via setpriv).

  * references: every view is read once per role at the start (its size
    and sha256); views are deterministic per sandbox and role;
  * 16 readers (half root, half uid 65534) read whole views (varying buffer
    sizes, sometimes after dropping the page cache, sometimes by mmap) and
    random ranges, comparing with the reference: any difference is a
    mismatch, reported with the path, the operation and the time;
  * 4 writers (3 root, 1 uid 65534) create, append, overwrite, fsync,
    rename, truncate and delete files in their own overlay folder and check
    every file against their own model; they stop 3 s before the end;
  * 2 walkers (one per role) walk the mount (os.walk + lstat, like ls -lR)
    and check that no role ever sees another role's overlay entries;
  * `spotfs extend MNT --ttl ...` every 30 s; the mount's TTL (45 s) is
    shorter than the run, so a failed extend ends the run early, and the
    last extend sets the deadline to the planned end;
  * every 10 s the daemon's VmRSS, VmHWM and open fds (/proc/PID/fd, by
    kind) and the files in the store;
  * at the end the TTL expires under load: readers and walkers run on 3 s
    past the planned end; from 1 s before it an EIO, ENOTCONN or ENOENT is
    the expected outcome (ECONNABORTED too, counted apart: the kernel's
    errno for a request in flight when the daemon closed /dev/fuse), any
    other error is an error, and a read that
    started more than 1 s after the audited `expire` and was served is an
    error (the report gives the exact figure). Descriptors held across the
    expiry (a view, an overlay file) must fail cleanly within 10 s (no
    hang), new opens and listings as either role too; the mount must be
    gone, the daemon exited, the store folder deleted, and the audit log
    must hold one `expire`, end with `unmount`, count every extend and
    verify.

Exit status 1 on any error, mismatch or failed end check. Run as root.
Scratch data lives under /var/tmp/spotfs-soak-mixed.* (removed unless
--keep)."""
import argparse
import errno
import hashlib
import json
import mmap
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ANALYST = 65534
AS_ANALYST = ["setpriv", "--reuid=%d" % ANALYST, "--regid=%d" % ANALYST,
              "--clear-groups"]
VIEWS = ["people.csv", "people.parquet", "events.parquet", "events.csv",
         "crm/users.csv", "crm/orders.csv", "crm.db", "ml/train.jsonl",
         "ml/train.csv"]
CLEAN = (errno.EIO, errno.ENOTCONN, errno.ENOENT)
# The kernel's answer to a request the daemon had taken but not answered
# when it closed /dev/fuse at the end (fuse_dev_release, fuse_abort_conn):
# clean too, but not in the spec's list, so counted and reported apart.
ABORTED = errno.ECONNABORTED


def sha(b):
    return hashlib.sha256(b).hexdigest()


def emit(**kw):
    kw.setdefault("t", time.time())
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- workers

def read_all(path, bufsize, drop=False):
    fd = os.open(path, os.O_RDONLY)
    try:
        if drop:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        parts = []
        while True:
            b = os.read(fd, bufsize)
            if not b:
                break
            parts.append(b)
        return b"".join(parts)
    finally:
        os.close(fd)


def worker_refs(a):
    """First read of every view as this role: size and sha256."""
    out = {}
    for v in VIEWS:
        data = read_all(os.path.join(a.mnt, v), 1 << 20)
        out[v] = [len(data), sha(data)]
    emit(ev="refs", refs=out)


def worker_reader(a, refs):
    rnd = random.Random(a.seed)
    copy = {}  # path -> bytes that matched the reference
    ops = nbytes = expired = aborted = 0
    last_ok = 0.0  # start of the last data read served from the end window on
    last = time.time()
    # Readers run through the expiry: from a second before the planned end
    # a clean failure is the expected outcome, and the orchestrator checks
    # that no read starting after the audited expiry was served.
    window = a.expire - 1
    while time.time() < a.until:
        v = rnd.choice(VIEWS)
        p = os.path.join(a.mnt, v)
        size, digest = refs[v]
        op = rnd.choice(["full", "full", "drop", "range", "range", "mmap", "stat"])
        t = time.time()
        if op == "range" and v not in copy:
            op = "full"
        if op == "mmap" and t >= window - 1:
            # A mapping that lives across the expiry gets SIGBUS (README,
            # Lifecycle): documented, and it would kill this reader.
            op = "full"
        try:
            if op in ("full", "drop"):
                data = read_all(p, rnd.choice([4096, 65536, 131072, 1 << 20]),
                                drop=(op == "drop"))
                nbytes += len(data)
                if len(data) != size or sha(data) != digest:
                    emit(ev="mismatch", w=a.id, path=v, op=op, at=t,
                         msg="%d bytes, sha256 %s; reference %d, %s"
                         % (len(data), sha(data)[:16], size, digest[:16]))
                else:
                    copy[v] = data
            elif op == "range":
                off = rnd.randrange(size)
                n = rnd.choice([1, 100, 4096, 70000])
                fd = os.open(p, os.O_RDONLY)
                try:
                    got = os.pread(fd, n, off)
                finally:
                    os.close(fd)
                nbytes += len(got)
                if got != copy[v][off:off + n]:
                    emit(ev="mismatch", w=a.id, path=v, op=op, at=t,
                         msg="pread(%d, %d) differs from the reference" % (n, off))
            elif op == "mmap":
                fd = os.open(p, os.O_RDONLY)
                try:
                    with mmap.mmap(fd, 0, prot=mmap.PROT_READ) as m:
                        got = sha(m)
                        ln = len(m)
                finally:
                    os.close(fd)
                nbytes += ln
                if ln != size or got != digest:
                    emit(ev="mismatch", w=a.id, path=v, op=op, at=t,
                         msg="mmap: %d bytes, sha256 %s" % (ln, got[:16]))
            else:
                st = os.stat(p)
                if st.st_size != size:
                    emit(ev="mismatch", w=a.id, path=v, op=op, at=t,
                         msg="st_size %d, reference %d" % (st.st_size, size))
            if t >= window and op != "stat":
                last_ok = t
        except OSError as e:
            if t >= window and e.errno in CLEAN:
                expired += 1
                time.sleep(0.01)
            elif t >= window and e.errno == ABORTED:
                aborted += 1
            else:
                emit(ev="error", w=a.id, path=v, op=op, at=t, msg=str(e))
        ops += 1
        if time.time() - last >= 5:
            emit(ev="progress", w=a.id, ops=ops, bytes=nbytes)
            last = time.time()
    emit(ev="done", w=a.id, ops=ops, bytes=nbytes, expired=expired, aborted=aborted,
         last_ok=last_ok)


def worker_writer(a):
    rnd = random.Random(a.seed)
    d = os.path.join(a.mnt, a.dir)
    os.mkdir(d, 0o700)
    model = {}
    ops = nbytes = 0
    last = time.time()
    seq = 0

    def check(name, op, t):
        p = os.path.join(d, name)
        with open(p, "rb") as f:
            got = f.read()
        if got != model[name]:
            emit(ev="mismatch", w=a.id, path=a.dir + "/" + name, op=op, at=t,
                 msg="overlay file: %d bytes read, %d written"
                 % (len(got), len(model[name])))

    while time.time() < a.until:
        names = sorted(model)
        op = rnd.choice(["create", "create", "append", "pwrite", "rename",
                         "truncate", "delete", "list", "verify"])
        if not names and op not in ("create", "list"):
            op = "create"
        if len(names) >= 24 and op == "create":
            op = "delete"
        t = time.time()
        name = None
        try:
            if op == "create":
                seq += 1
                name = "f%d.bin" % seq
                data = rnd.randbytes(rnd.choice([1, 300, 5000, 70000, 300000]))
                fd = os.open(os.path.join(d, name),
                             os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                try:
                    os.write(fd, data)
                    if rnd.random() < 0.5:
                        os.fsync(fd)
                finally:
                    os.close(fd)
                model[name] = data
                nbytes += len(data)
                check(name, op, t)
            elif op == "append":
                name = rnd.choice(names)
                data = rnd.randbytes(rnd.choice([10, 4096, 20000]))
                fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_APPEND)
                try:
                    os.write(fd, data)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                model[name] += data
                nbytes += len(data)
                check(name, op, t)
            elif op == "pwrite":
                name = rnd.choice(names)
                cur = model[name]
                off = rnd.randrange(len(cur) + 1)
                data = rnd.randbytes(rnd.choice([1, 100, 5000]))
                fd = os.open(os.path.join(d, name), os.O_WRONLY)
                try:
                    os.pwrite(fd, data, off)
                finally:
                    os.close(fd)
                new = cur[:off] + data + cur[off + len(data):]
                model[name] = new
                nbytes += len(data)
                check(name, op, t)
            elif op == "rename":
                name = rnd.choice(names)
                if rnd.random() < 0.3 and len(names) > 1:
                    dst = rnd.choice([n for n in names if n != name])
                else:
                    seq += 1
                    dst = "f%d.bin" % seq
                os.rename(os.path.join(d, name), os.path.join(d, dst))
                model[dst] = model.pop(name)
                name = dst
                check(name, op, t)
            elif op == "truncate":
                name = rnd.choice(names)
                n = rnd.randrange(len(model[name]) + 9000)
                os.truncate(os.path.join(d, name), n)
                cur = model[name]
                model[name] = cur[:n] + b"\0" * (n - len(cur))
                check(name, op, t)
            elif op == "delete":
                name = rnd.choice(names)
                os.unlink(os.path.join(d, name))
                del model[name]
                if os.path.exists(os.path.join(d, name)):
                    emit(ev="mismatch", w=a.id, path=a.dir + "/" + name, op=op,
                         at=t, msg="still there after unlink")
            elif op == "list":
                got = sorted(os.listdir(d))
                if got != sorted(model):
                    emit(ev="mismatch", w=a.id, path=a.dir, op=op, at=t,
                         msg="listing has %d names, model %d"
                         % (len(got), len(model)))
            else:
                name = rnd.choice(names)
                check(name, op, t)
        except OSError as e:
            emit(ev="error", w=a.id, path="%s/%s" % (a.dir, name or ""), op=op,
                 at=t, msg=str(e))
        ops += 1
        if time.time() - last >= 5:
            emit(ev="progress", w=a.id, ops=ops, bytes=nbytes)
            last = time.time()
    emit(ev="done", w=a.id, ops=ops, bytes=nbytes)


def worker_walker(a):
    """ls -lR: os.walk + lstat of every entry; names of other roles'
    folders must never appear."""
    forbidden = set(a.forbid.split(",")) if a.forbid else set()
    own = tuple(d + "/" for d in a.own.split(",") if d)
    ops = vanished = expired = aborted = 0
    window = a.expire - 1
    last = time.time()
    while time.time() < a.until:
        t = time.time()
        errs = []
        for dirpath, dirnames, filenames in os.walk(a.mnt, onerror=errs.append):
            rel_dir = os.path.relpath(dirpath, a.mnt)
            seen = forbidden & {os.path.normpath(os.path.join(rel_dir, n))
                                for n in dirnames + filenames}
            if seen:
                emit(ev="mismatch", w=a.id, path=",".join(sorted(seen)),
                     op="walk", at=t, msg="another role's overlay entry is visible")
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                try:
                    os.lstat(p)
                    ops += 1
                except FileNotFoundError:
                    # A writer deleted or renamed it since the listing.
                    if (os.path.relpath(p, a.mnt) + "/").startswith(own):
                        vanished += 1
                    elif time.time() >= window:
                        expired += 1  # listed before the expiry, gone after
                    else:
                        emit(ev="error", w=a.id, path=os.path.relpath(p, a.mnt),
                             op="lstat", at=t, msg="ENOENT on a listed entry")
                except OSError as e:
                    if time.time() >= window and e.errno in CLEAN:
                        expired += 1
                    elif time.time() >= window and e.errno == ABORTED:
                        aborted += 1
                    else:
                        emit(ev="error", w=a.id, path=os.path.relpath(p, a.mnt),
                             op="lstat", at=t, msg=str(e))
        for e in errs:
            rel = os.path.relpath(e.filename or a.mnt, a.mnt)
            if isinstance(e, FileNotFoundError) and (rel + "/").startswith(own):
                vanished += 1
            elif time.time() >= window and e.errno in CLEAN:
                expired += 1
            elif time.time() >= window and e.errno == ABORTED:
                aborted += 1
            else:
                emit(ev="error", w=a.id, path=rel, op="walk", at=t, msg=str(e))
        if time.time() - last >= 5:
            emit(ev="progress", w=a.id, ops=ops, bytes=0, vanished=vanished)
            last = time.time()
    emit(ev="done", w=a.id, ops=ops, bytes=0, vanished=vanished, expired=expired,
         aborted=aborted)


def worker_probe(a):
    """After expiry: a new open and a listing must fail cleanly or show
    an empty folder (the mount point itself)."""
    res = {}
    try:
        with open(os.path.join(a.mnt, "people.csv"), "rb") as f:
            f.read(1)
        res["open"] = "served"
    except OSError as e:
        res["open"] = errno.errorcode.get(e.errno, str(e.errno))
    try:
        res["list"] = "%d entries" % len(os.listdir(a.mnt))
    except OSError as e:
        res["list"] = errno.errorcode.get(e.errno, str(e.errno))
    emit(ev="probe", res=res)


# ----------------------------------------------------------- orchestrator

def log(msg, t0=None):
    stamp = "%7.1fs" % (time.time() - t0) if t0 else time.strftime("%H:%M:%S")
    print("[%s] %s" % (stamp, msg), flush=True)


def gen_sources(src, rows, seed):
    rnd = random.Random(seed)
    countries = ["DE", "FR", "ES", "IT", "NL", "PL"]
    first = ["Ann", "Bob", "Cy", "Dana", "Eve", "Finn", "Gus", "Hana"]
    with open(os.path.join(src, "people.csv"), "w") as f:
        f.write("id,name,email,ssn,country,amount,note\n")
        for i in range(rows):
            n = rnd.choice(first)
            f.write('%d,%s Raw%d,%s.raw%d@corp.example,%03d-%02d-%04d,%s,%d.%02d,"note %d, ok"\n'
                    % (i, n, i, n.lower(), i, rnd.randrange(1000), rnd.randrange(100),
                       rnd.randrange(10000), rnd.choice(countries),
                       rnd.randrange(100000), rnd.randrange(100), i))
    db = sqlite3.connect(os.path.join(src, "crm.db"))
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT, country TEXT)")
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, amount REAL, note TEXT)")
    db.executemany("INSERT INTO users VALUES (?,?,?,?)",
                   [(i, "u%d.raw@corp.example" % i, "Rawname %d" % i,
                     rnd.choice(countries)) for i in range(rows)])
    db.executemany("INSERT INTO orders VALUES (?,?,?,?)",
                   [(i, rnd.randrange(rows), rnd.randrange(100000) / 100,
                     "order note %d" % i) for i in range(2 * rows)])
    db.commit()
    db.close()
    os.mkdir(os.path.join(src, "ml"))
    # A source folder everyone may write into (in their role's overlay):
    # the mount's root is the owner's (0755), so uid 65534 writes here.
    os.chmod(os.path.join(src, "ml"), 0o1777)
    with open(os.path.join(src, "ml", "train.jsonl"), "w") as f:
        for i in range(rows):
            rec = {"id": i,
                   "user": {"email": "j%d.raw@corp.example" % i, "name": "Rawname J%d" % i,
                            "age": rnd.randrange(18, 90)},
                   "messages": [{"role": "user", "content": "hello, call me at 555-01%02d"
                                 % rnd.randrange(100)},
                                {"role": "assistant", "content": "answer %d" % i}],
                   "meta": {"split": rnd.choice(["train", "eval"])}}
            f.write(json.dumps(rec) + "\n")
    node_modules = os.path.join(ROOT, "tests", ".node", "node_modules")
    r = subprocess.run(["node", os.path.join(HERE, "pq.mjs"), "gen",
                        os.path.join(src, "events.parquet"), str(rows * 4)],
                       cwd=os.path.join(ROOT, "tests", ".node"),
                       env=dict(os.environ, NODE_PATH=node_modules),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("generating the Parquet file with DuckDB for Node failed "
                         "(tests/install-deps --test installs it):\n" + r.stderr)


CONFIG = """source: {src}
store: {store}
max_ttl: 4h
roles:
  analyst: {{ users: [{analyst}] }}
  steward: {{ users: [root] }}
default_role: guest
datasets:
  people.csv:
    as: [csv, parquet]
    columns:
      id: keep
      name: {{ method: fake, kind: name }}
      email: {{ method: hash }}
      ssn: {{ method: mask, pattern: "***-**-####" }}
      country: keep
      amount: keep
    roles:
      steward:
        columns:
          ssn: {{ method: partial, keep_last: 4 }}
          note: keep
  events.parquet:
    as: [parquet, csv]
    columns:
      id: keep
      email: {{ method: hash }}
      name: redact
      city: keep
      qty: keep
      amount: keep
      day: keep
    roles:
      analyst:
        columns:
          city: redact
  crm.db:
    tables:
      users: {{ columns: {{ id: keep, email: {{ method: hash }}, country: keep }} }}
      orders: {{ columns: {{ id: keep, user_id: keep, amount: keep }} }}
    roles:
      steward:
        columns:
          email: {{ method: hash, length: 24 }}
  ml/train.jsonl:
    as: [native, csv]
    columns:
      id: keep
      user.email: {{ method: hash }}
      user.age: keep
      "messages[].role": keep
      "messages[].content": {{ method: pii }}
      meta.split: keep
    roles:
      analyst:
        columns:
          user.age: redact
"""


class Daemon:
    def __init__(self, pid, store, src):
        self.pid = pid
        self.store = store
        self.src = src

    def sample(self):
        out = {}
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("VmRSS", "VmHWM", "Threads"):
                        out[k] = int(v.split()[0])
            fd_dir = "/proc/%d/fd" % self.pid
            kinds = {}
            for fd in os.listdir(fd_dir):
                try:
                    t = os.readlink(os.path.join(fd_dir, fd))
                except OSError:
                    continue
                k = ("store" if t.startswith(self.store + "/") else
                     "source" if t.startswith(self.src + "/") else
                     t.split(":")[0] if ":" in t else
                     t if t.startswith("/dev/") else "other")
                kinds[k] = kinds.get(k, 0) + 1
            out["fds"] = sum(kinds.values())
            out["kinds"] = kinds
            out["store_files"] = sum(len(f) for _, _, f in os.walk(self.store))
        except OSError:
            return None
        return out


def finish(p, timeout):
    """communicate() for a worker whose stdin spawn() already closed."""
    p.stdin = None
    return p.communicate(timeout=timeout)


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--spotfs", default=os.environ.get("SPOTFS") or
                    os.path.join(ROOT, "build", "fs", "spotfs"))
    ap.add_argument("--readers", type=int, default=16, help="half of them as uid 65534")
    ap.add_argument("--writers", type=int, default=4, help="one of them as uid 65534 (>= 2)")
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--extend-every", type=float, default=30)
    ap.add_argument("--sample-every", type=float, default=10)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--corrupt-ref", metavar="VIEW",
                    help="self-test: give the uid 65534 readers a wrong reference "
                    "for VIEW (the run must report mismatches on it and exit 1)")
    # worker mode (internal)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--mnt", help=argparse.SUPPRESS)
    ap.add_argument("--until", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--expire", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--id", help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    ap.add_argument("--own", default="", help=argparse.SUPPRESS)
    ap.add_argument("--forbid", default="", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        if a.worker == "reader":
            worker_reader(a, json.loads(sys.stdin.read()))
        else:
            {"refs": worker_refs, "writer": worker_writer, "walker": worker_walker,
             "probe": worker_probe}[a.worker](a)
        return 0
    return Soak(a).run()


class Soak:
    def __init__(self, a):
        self.a = a
        self.errors = []      # (kind, text)
        self.ops = {}         # worker id -> ops
        self.bytes = {}
        self.extra = {}
        self.done = {}
        self.samples = []
        self.lock = threading.Lock()
        self.t0 = None

    def fail(self, kind, text):
        with self.lock:
            self.errors.append((kind, text))
            n = len(self.errors)
        if n <= 100:
            log("%s: %s" % (kind.upper(), text), self.t0)
        elif n == 101:
            log("more errors: counted, not printed", self.t0)

    def cli(self, *args, timeout=60):
        return subprocess.run([self.a.spotfs, *args], capture_output=True, text=True,
                              timeout=timeout, env=self.env)

    def spawn(self, kind, wid, as_analyst, *extra, stdin=None):
        cmd = ([*AS_ANALYST] if as_analyst else []) + [
            "/usr/bin/python3", self.script, "--worker", kind, "--mnt", self.mnt,
            "--id", wid, *extra]
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd="/")
        p.stdin.write(stdin or "")
        p.stdin.close()
        return p

    def pump(self, p, wid):
        for line in p.stdout:
            try:
                m = json.loads(line)
            except ValueError:
                self.fail("error", "%s: unparsable output %r" % (wid, line[:200]))
                continue
            when = "%.1fs" % (m.get("at", m["t"]) - self.t0)
            if m["ev"] in ("error", "mismatch"):
                self.fail(m["ev"], "%s at %s (%s): %s %s: %s" % (
                    wid, when, time.strftime("%H:%M:%S", time.localtime(m["at"])),
                    m["op"], m["path"], m["msg"]))
            elif m["ev"] in ("progress", "done"):
                with self.lock:
                    self.ops[wid] = m["ops"]
                    self.bytes[wid] = m["bytes"]
                    if "vanished" in m:
                        self.extra[wid] = m["vanished"]
                    if m["ev"] == "done":
                        self.done[wid] = m
        err = p.stderr.read()
        rc = p.wait()
        if rc != 0:
            self.fail("error", "%s exited %d: %s" % (wid, rc, err.strip()[-2000:]))

    def run(self):
        a = self.a
        if not os.path.exists(a.spotfs):
            # As the fsx mode: a release build in build/ when there is none.
            build = os.path.dirname(os.path.dirname(a.spotfs))
            if not os.path.isdir(build):
                subprocess.run(["meson", "setup", build, "--buildtype=release"], cwd=ROOT,
                               check=True, stdout=subprocess.DEVNULL)
            subprocess.run(["ninja", "-C", build, "fs/spotfs"], check=True,
                           stdout=subprocess.DEVNULL)
        a.spotfs = os.path.abspath(a.spotfs)
        self.work = tempfile.mkdtemp(prefix="spotfs-soak-mixed.", dir="/var/tmp")
        os.chmod(self.work, 0o755)
        try:
            return self.run_in()
        finally:
            if self.daemon_proc and self.daemon_proc.poll() is None:
                self.cli("unmount", "-z", self.mnt)
                try:
                    self.daemon_proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.daemon_proc.kill()
            if is_mounted(self.mnt):
                subprocess.run(["fusermount3", "-u", "-z", self.mnt])
            if a.keep:
                log("kept %s" % self.work)
            else:
                shutil.rmtree(self.work, ignore_errors=True)

    daemon_proc = None

    def run_in(self):
        a = self.a
        w = self.work
        src = os.path.join(w, "src")
        self.mnt = os.path.join(w, "mnt")
        store = os.path.join(w, "store")
        for d in (src, self.mnt):
            os.makedirs(d)
        self.env = dict(os.environ, SPOTFS_STATE_DIR=os.path.join(w, "state"),
                        SPOTFS_RUNTIME_DIR=os.path.join(w, "run"))
        self.script = os.path.join(w, "soak_mixed.py")  # readable by uid 65534
        shutil.copy(os.path.abspath(__file__), self.script)
        os.chmod(self.script, 0o755)
        log("generating sources (%d rows each) in %s" % (a.rows, src))
        gen_sources(src, a.rows, a.seed)
        cfg = os.path.join(w, "soak.yaml")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(src=src, store=store, analyst=ANALYST))
        duration = a.minutes * 60
        # Shorter than the run: without the extends the sandbox would end early.
        first_ttl = int(min(duration, a.extend_every * 1.5))
        daemon_log = os.path.join(w, "daemon.log")
        with open(daemon_log, "wb") as lf:
            self.daemon_proc = subprocess.Popen(
                [a.spotfs, "mount", "-f", "-c", cfg, "--ttl", "%ds" % first_ttl, self.mnt],
                stdout=lf, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        end = time.time() + 30
        while not is_mounted(self.mnt):
            if self.daemon_proc.poll() is not None or time.time() > end:
                raise SystemExit("mount failed:\n" + open(daemon_log).read())
            time.sleep(0.05)
        os.stat(self.mnt)
        # The TTL counts from the mount: the planned end is mount + duration.
        self.t0 = time.time()
        planned_end = self.t0 + duration
        deadline = self.t0 + first_ttl
        daemon = Daemon(self.daemon_proc.pid, store, src)
        sid = [e["id"] for e in json.loads(self.cli("list", "--json", "--all").stdout)
               if e.get("mountpoint") == os.path.realpath(self.mnt)][0]
        log("mounted sandbox %s, daemon pid %d, ttl %ds (extended every %gs to end "
            "at +%ds); load average %s" % (sid, daemon.pid, first_ttl, a.extend_every,
                                          duration, open("/proc/loadavg").read().split()[:3]),
            self.t0)

        # References: the first read of every view, per role.
        refs = {}
        for role, as_an in (("steward", False), ("analyst", True)):
            p = self.spawn("refs", "refs-" + role, as_an)
            out, err = finish(p, 600)
            if p.returncode != 0:
                raise SystemExit("first read as %s failed: %s" % (role, err))
            refs[role] = json.loads(out.splitlines()[-1])["refs"]
        differ = [v for v in VIEWS if refs["steward"][v] != refs["analyst"][v]]
        log("references: %d views per role, %d differ between the roles (%s); %.1f MB per role"
            % (len(VIEWS), len(differ), ", ".join(differ),
               sum(s for s, _ in refs["steward"].values()) / 1e6), self.t0)
        if len(differ) < 4:
            self.fail("error", "roles should see different bytes in at least 4 views: %s" % differ)
        if a.corrupt_ref:
            size, digest = refs["analyst"][a.corrupt_ref]
            refs["analyst"][a.corrupt_ref] = [size, "0" * 64]
            log("self-test: the uid %d readers get a wrong sha256 for %s"
                % (ANALYST, a.corrupt_ref), self.t0)

        # Held across the expiry: a view and an overlay file.
        held_view = os.open(os.path.join(self.mnt, "people.csv"), os.O_RDONLY)
        held_ovl = os.open(os.path.join(self.mnt, "held.bin"), os.O_CREAT | os.O_RDWR, 0o600)
        os.write(held_ovl, b"held across the expiry " * 10000)
        os.fsync(held_ovl)

        # Writers stop 3 s before the planned end (their model must hold);
        # readers and walkers run on 3 s past it, through the expiry.
        stop = planned_end - 3
        hard = planned_end + 3
        until = ["--until", "%.3f" % stop, "--expire", "%.3f" % planned_end]
        through = ["--until", "%.3f" % hard, "--expire", "%.3f" % planned_end]
        procs = []
        for i in range(a.readers):
            an = i % 2 == 1
            wid = "r%d-%s" % (i, "analyst" if an else "root")
            procs.append((wid, self.spawn("reader", wid, an, *through, "--seed", str(a.seed + i),
                                          stdin=json.dumps(refs["analyst" if an else "steward"]))))
        root_dirs = ["w%d" % i for i in range(a.writers - 1)]
        an_dirs = ["ml/a%d" % (a.writers - 1)]
        for i, d in enumerate(root_dirs + an_dirs):
            an = d in an_dirs
            procs.append((d.split("/")[-1], self.spawn("writer", d.split("/")[-1], an, *until, "--dir", d,
                                        "--seed", str(a.seed + 100 + i))))
        procs.append(("walk-root", self.spawn("walker", "walk-root", False, *through,
                                              "--own", ",".join(root_dirs),
                                              "--forbid", ",".join(an_dirs))))
        procs.append(("walk-analyst", self.spawn("walker", "walk-analyst", True, *through,
                                                 "--own", ",".join(an_dirs),
                                                 "--forbid", ",".join(root_dirs + ["held.bin"]))))
        pumps = [threading.Thread(target=self.pump, args=(p, wid), daemon=True)
                 for wid, p in procs]
        for t in pumps:
            t.start()
        log("started %d readers (half as uid %d), %d writers (%s as uid %d), 2 walkers"
            % (a.readers, ANALYST, a.writers, ",".join(an_dirs), ANALYST), self.t0)

        print("\n%8s %9s %9s %5s %9s %7s %11s %10s %6s" % (
            "t", "RSS KiB", "HWM KiB", "fds", "store fds", "threads", "store files",
            "ops", "load1"), flush=True)
        next_sample = time.time()
        next_extend = time.time()  # at once: the references took some of the TTL
        extends = 0
        gone_at = None
        while time.time() < hard:
            now = time.time()
            if gone_at is None and now >= planned_end - 5 and not is_mounted(self.mnt):
                gone_at = now
            if now >= next_sample and now < planned_end - 1:
                s = daemon.sample()
                if s is None:
                    self.fail("error", "the daemon is gone at +%.0fs" % (now - self.t0))
                    break
                with self.lock:
                    ops = sum(self.ops.values())
                s.update(t=now - self.t0, ops=ops, load=open("/proc/loadavg").read().split()[0])
                self.samples.append(s)
                print("%7.0fs %9d %9d %5d %9d %7d %11d %10d %6s" % (
                    s["t"], s["VmRSS"], s["VmHWM"], s["fds"], s["kinds"].get("store", 0),
                    s["Threads"], s["store_files"], ops, s["load"]), flush=True)
                next_sample += a.sample_every
            if now >= next_extend and now < planned_end - 5:
                # At most first_ttl ahead, never past the planned end.
                ttl = int(round(min(first_ttl, planned_end - now)))
                shorten = now + ttl < deadline - 0.5
                args = ["extend", self.mnt, "--ttl", "%ds" % ttl] + (["--shorten"] if shorten else [])
                r = self.cli(*args)
                if r.returncode != 0:
                    self.fail("error", "spotfs %s failed: %s" % (" ".join(args[0:1] + args[2:]),
                                                                 (r.stdout + r.stderr).strip()))
                else:
                    extends += 1
                    deadline = now + ttl
                next_extend += a.extend_every
            time.sleep(0.05 if now >= planned_end - 5 else 0.2)

        # ---- expiry ----
        for wid, p in procs:
            try:
                p.wait(timeout=max(1, hard + 20 - time.time()))
            except subprocess.TimeoutExpired:
                self.fail("error", "%s still running 20 s past its stop: hung? (killed)" % wid)
                p.kill()
        for t in pumps:
            t.join(10)
        log("workers stopped (writers at -3 s, readers and walkers at +3 s)", self.t0)
        while gone_at is None and time.time() < deadline + 60:
            if not is_mounted(self.mnt):
                gone_at = time.time()
            time.sleep(0.05)
        try:
            self.daemon_proc.wait(timeout=max(1, deadline + 60 - time.time()))
        except subprocess.TimeoutExpired:
            pass
        if gone_at is None or self.daemon_proc.poll() is None:
            self.fail("error", "mount or daemon still there 60 s after the deadline")
        else:
            log("mount gone %.2fs after the planned end; daemon exited (%d)"
                % (gone_at - planned_end, self.daemon_proc.returncode), self.t0)
        expiry = {}
        for name, fd in (("held view", held_view), ("held overlay file", held_ovl)):
            res = []

            def rd(fd=fd, res=res):
                try:
                    os.pread(fd, 4096, 0)
                    res.append("served")
                except OSError as e:
                    res.append(e.errno)
            t = threading.Thread(target=rd, daemon=True)
            t.start()
            t.join(10)
            if t.is_alive():
                self.fail("error", "read of the %s hangs after expiry" % name)
                expiry[name] = "hang"
            elif res[0] == "served" or res[0] not in CLEAN:
                self.fail("error", "read of the %s after expiry: %s" % (
                    name, res[0] if res[0] == "served" else errno.errorcode.get(res[0])))
                expiry[name] = str(res[0])
            else:
                expiry[name] = errno.errorcode[res[0]]
            try:
                os.close(fd)
            except OSError:
                pass
        for role, an in (("root", False), ("analyst", True)):
            p = self.spawn("probe", "probe-" + role, an)
            try:
                out, err = finish(p, 10)
                res = json.loads(out.splitlines()[-1])["res"]
                expiry["new open, " + role] = res["open"]
                expiry["listing, " + role] = res["list"]
                if res["open"] not in [errno.errorcode[e] for e in CLEAN]:
                    self.fail("error", "open as %s after expiry: %s" % (role, res["open"]))
                if res["list"] not in ("0 entries",) + tuple(errno.errorcode[e] for e in CLEAN):
                    self.fail("error", "listing as %s after expiry: %s" % (role, res["list"]))
            except subprocess.TimeoutExpired:
                p.kill()
                self.fail("error", "probe as %s hangs after expiry" % role)
        store_left = os.path.exists(os.path.join(store, sid))
        if store_left:
            self.fail("error", "store folder %s still exists after expiry" % sid)
        r = self.cli("audit", "--sandbox", sid, "--json", timeout=300)
        recs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        events = [e["event"] for e in recs]
        counts = {}
        for k in events:
            counts[k] = counts.get(k, 0) + 1
        for k in ("extend", "expire"):
            counts.setdefault(k, 0)
        if not (counts["expire"] == 1 and events and events[-1] == "unmount"):
            self.fail("error", "audit events: %s, last %s" % (counts, events[-1:]))
        expire_at = [e["time_ms"] / 1000 for e in recs if e["event"] == "expire"]
        expire_at = expire_at[0] if expire_at else None
        last_ok = max([m.get("last_ok", 0) for m in self.done.values()] + [0])
        late = None
        if expire_at:
            late = last_ok - expire_at
            if late > 1.0:
                self.fail("error", "a read that started %.3fs after the audited expiry "
                          "was served" % late)
        if counts["extend"] != extends:
            self.fail("error", "%d extends done, %d audited" % (extends, counts["extend"]))
        ver = self.cli("audit", "--verify", timeout=300)
        if ver.returncode != 0:
            self.fail("error", "spotfs audit --verify: " + (ver.stdout + ver.stderr).strip())
        dlog = open(daemon_log, errors="replace").read()
        san = re.search(r"ERROR: AddressSanitizer|runtime error:|LeakSanitizer", dlog)
        if san:
            start = dlog.rfind("\n", 0, san.start()) + 1
            self.fail("error", "sanitizer report in the daemon log:\n" +
                      "\n".join(dlog[start:].splitlines()[:60]))

        # ---- report ----
        print("\n== mixed soak: %.1f min, %s ==" % (a.minutes, a.spotfs))
        kinds = {"readers": [k for k in self.ops if k.startswith("r")],
                 "writers": [k for k in self.ops if k[0] in "wa" and k[1:].isdigit()],
                 "walkers (entries stat'ed)": [k for k in self.ops if k.startswith("walk")]}
        for k, ids in kinds.items():
            print("%-26s %10d ops, %8.1f MB" % (
                k, sum(self.ops[i] - self.done.get(i, {}).get("expired", 0)
                       - self.done.get(i, {}).get("aborted", 0) for i in ids),
                sum(self.bytes[i] for i in ids) / 1e6))
        print("(ops: without the clean failures at the expiry, counted below)")
        print("walkers: %d entries vanished between listing and lstat (writers' renames/deletes)"
              % sum(self.extra.values()))
        print("extends: %d ok (audited %d)" % (extends, counts["extend"]))
        rss = [s["VmRSS"] for s in self.samples]
        fds = [s["fds"] for s in self.samples]
        if rss:
            print("daemon RSS KiB: start %d, peak %d, end %d (VmHWM %d)"
                  % (rss[0], max(rss), rss[-1], self.samples[-1]["VmHWM"]))
            print("daemon fds at the end: %s" % self.samples[-1]["kinds"])
            print("daemon fds:     start %d, peak %d, end %d" % (fds[0], max(fds), fds[-1]))
            loads = [float(s["load"]) for s in self.samples]
            print("load average (1 min): %.1f to %.1f" % (min(loads), max(loads)))
        print("expiry: audited %s after the planned end; the last read served started %s "
              "the audited expiry; %d reads and %d lstats failed cleanly (EIO/ENOTCONN/ENOENT) "
              "from 1 s before the planned end on" % (
                  "%.3fs" % (expire_at - planned_end) if expire_at else "NEVER",
                  "%.3fs %s" % (abs(late), "after" if late > 0 else "before")
                  if late is not None else "(no expiry)",
                  sum(m.get("expired", 0) for k, m in self.done.items() if k[0] == "r"),
                  sum(m.get("expired", 0) for k, m in self.done.items() if k[0] == "w")))
        print("expiry: %d operations in flight when the daemon closed /dev/fuse failed with "
              "ECONNABORTED (kernel: request taken, never answered)"
              % sum(m.get("aborted", 0) for m in self.done.values()))
        print("expiry: %s" % "; ".join("%s %s" % kv for kv in expiry.items()))
        print("expiry: mount gone %s after the planned end; store folder %s; audit %s; "
              "audit --verify %s" % ("%.2fs" % (gone_at - planned_end) if gone_at else "NEVER",
                                     "left" if store_left else "deleted", counts,
                                     "ok" if ver.returncode == 0 else "FAILED"))
        print("daemon log: %d lines" % len(dlog.splitlines()))
        for line in dlog.splitlines()[-10:]:
            print("  | " + line)
        mism = sum(1 for k, _ in self.errors if k == "mismatch")
        errs = len(self.errors) - mism
        print("errors: %d, mismatches: %d" % (errs, mism))
        for k, text in self.errors[:50]:
            print("  %s: %s" % (k, text))
        return 1 if self.errors else 0


if __name__ == "__main__":
    sys.exit(main())

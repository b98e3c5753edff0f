# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures for integration tests: real spotfs mounts on temporary folders.

Every mount runs the sanitizer build in the foreground (-f) with its output
in a log file; teardown always unmounts, waits for the daemon to exit and
fails the test if the log holds a sanitizer report."""
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

ROOT = os.environ.get("SPOTFS_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SPOTFS = os.environ.get("SPOTFS") or os.path.join(ROOT, "build-asan", "fs", "spotfs")
# Registry, audit log and control sockets of the test run: never the
# machine's own (/var/lib/spotfs, /run/spotfs).
# Under pytest-xdist (tests/run runs two workers) every worker has its own:
# a test that runs `spotfs gc`, kills a daemon or reads the audit log sees
# only its worker's sandboxes. The controller's are never used.
if os.environ.get("PYTEST_XDIST_WORKER") and \
        os.environ.get("SPOTFS_TEST_STATE_OWNER") != os.environ["PYTEST_XDIST_WORKER"]:
    os.environ.pop("SPOTFS_STATE_DIR", None)
if "SPOTFS_STATE_DIR" not in os.environ:
    import tempfile
    os.environ["SPOTFS_TEST_STATE_OWNER"] = os.environ.get("PYTEST_XDIST_WORKER", "")
    _state = tempfile.mkdtemp(prefix="spotfs-test-state.")
    os.environ["SPOTFS_STATE_DIR"] = os.path.join(_state, "state")
    os.environ["SPOTFS_RUNTIME_DIR"] = os.path.join(_state, "run")
STATE_DIR = os.environ["SPOTFS_STATE_DIR"]

# DuckDB for Node (tests/install-deps --test installs it; tests/run says
# why in SPOTFS_DUCKDB_MISSING when that failed).
NODE_MODULES = os.path.join(ROOT, "tests", ".node", "node_modules")
HAVE_DUCKDB = bool(shutil.which("node")) and os.path.exists(
    os.path.join(NODE_MODULES, "@duckdb", "node-api", "package.json"))
DUCKDB_MISSING = "needs DuckDB for Node: " + (
    os.environ.get("SPOTFS_DUCKDB_MISSING") or
    "not installed (tests/install-deps --test installs it)")
needs_duckdb = pytest.mark.skipif(not HAVE_DUCKDB, reason=DUCKDB_MISSING)


def node(*args, timeout=300):
    """Run node with DuckDB on its path; returns stdout, fails on error.
    Skips the calling test when DuckDB for Node is not installed."""
    if not HAVE_DUCKDB:
        pytest.skip(DUCKDB_MISSING)
    env = dict(os.environ, NODE_PATH=NODE_MODULES)
    r = subprocess.run(["node", *args], capture_output=True, text=True,
                       timeout=timeout, env=env, cwd=os.path.join(ROOT, "tests"))
    assert r.returncode == 0, r.stderr
    return r.stdout


def duck(tmp_path, sql):
    """Rows of one DuckDB query (BIGINTs as numbers), as a list of lists."""
    script = os.path.join(str(tmp_path), "q%d.mjs" % abs(hash(sql)))
    with open(script, "w") as f:
        f.write("import { createRequire } from 'node:module';\n"
                "import { pathToFileURL } from 'node:url';\n"
                "const require = createRequire(import.meta.url);\n"
                "const { DuckDBInstance } = await import(pathToFileURL(require.resolve("
                "'@duckdb/node-api', { paths: (process.env.NODE_PATH || '').split(':') })).href);\n"
                "const c = await (await DuckDBInstance.create(':memory:')).connect();\n"
                "const r = await c.runAndReadAll(%s);\n"
                "console.log(JSON.stringify(r.getRows(), (k, v) => typeof v === 'bigint' ? "
                "Number(v) : v));\n" % json.dumps(sql))
    return json.loads(node(script))


def root_not_a_mount(what):
    """Why what (a tool that needs / to be a mount point: bwrap's
    pivot_root, unshare --propagation) cannot run here, or None: inside a
    plain chroot (or a container whose root is no mount) it fails with
    EINVAL."""
    with open("/proc/self/mountinfo") as f:
        if not any(line.split()[4] == "/" for line in f):
            return ("/ is not a mount point here (a chroot?): %s needs one; "
                    "bind-mount the root onto itself (mount --bind DIR DIR) "
                    "before chrooting to run it" % what)
    return None


def bwrap_unusable():
    """Why bubblewrap cannot run here, or None."""
    if not shutil.which("bwrap"):
        return "bwrap is not installed (apt-get install bubblewrap)"
    return root_not_a_mount("bwrap's pivot_root")


SANITIZER = re.compile(r"ERROR: AddressSanitizer|runtime error:|LeakSanitizer|"
                       r"ERROR: UndefinedBehaviorSanitizer")


def spotfs(*args, check=False, timeout=60, **kw):
    """Run the spotfs CLI; returns CompletedProcess with text output."""
    return subprocess.run([SPOTFS, *args], capture_output=True, text=True,
                          timeout=timeout, check=check, **kw)


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


def tree_digest(root):
    """sha256 of every file (path, mode, bytes) under root, sorted."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted(filenames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            h.update(os.path.relpath(p, root).encode() + b"\0")
            h.update(str(st.st_mode).encode())
            with open(p, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


class Sandbox:
    """A source folder, a config and (once mounted) a live spotfs."""

    def __init__(self, base, name="sbx"):
        self.base = base
        self.src = os.path.join(base, name + "-src")
        self.mnt = os.path.join(base, name + "-mnt")
        self.config = os.path.join(base, name + ".yaml")
        self.log = os.path.join(base, name + ".log")
        self.proc = None
        os.makedirs(self.src, exist_ok=True)
        os.makedirs(self.mnt, exist_ok=True)
        # Other uids (setpriv tests) must reach the mount point.
        d = base
        while d not in ("/", "/tmp"):
            os.chmod(d, os.stat(d).st_mode | 0o055)
            d = os.path.dirname(d)

    def write(self, rel, data, mode=0o644):
        p = os.path.join(self.src, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.chmod(p, mode)
        return p

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write(text.replace("@SRC@", self.src))

    def path(self, rel=""):
        return os.path.join(self.mnt, rel)

    def mount(self, *extra, env=None, wait=True):
        logf = open(self.log, "ab")
        e = dict(os.environ)
        if env:
            e.update(env)
        self.proc = subprocess.Popen(
            [SPOTFS, "mount", "-f", "-c", self.config, *extra, self.mnt],
            stdout=logf, stderr=subprocess.STDOUT, env=e,
            start_new_session=True)
        logf.close()
        if not wait:
            return self.proc
        deadline = time.time() + 30
        while time.time() < deadline:
            if is_mounted(self.mnt):
                # The kernel shows the mount before the daemon has recorded
                # it (registry, audit "mount" event) and started serving; a
                # stat of the root waits for that, so a test cannot race
                # the start-up (e.g. lock the audit log before the mount
                # event is written and see the start fail).
                try:
                    os.stat(self.mnt)
                except OSError as e:
                    raise AssertionError("mount appeared but is not served "
                                         "(%s):\n%s" % (e, self.read_log()))
                return self.proc
            if self.proc.poll() is not None:
                raise AssertionError("spotfs exited %s before mounting:\n%s"
                                     % (self.proc.returncode, self.read_log()))
            time.sleep(0.05)
        raise AssertionError("mount did not appear:\n" + self.read_log())

    def read_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def unmount(self):
        if is_mounted(self.mnt):
            r = spotfs("unmount", self.mnt)
            if r.returncode != 0:
                subprocess.run(["fusermount3", "-u", "-z", self.mnt],
                               capture_output=True)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                raise AssertionError("daemon did not exit after unmount")

    def assert_clean_log(self):
        log = self.read_log()
        assert not SANITIZER.search(log), "sanitizer report in daemon log:\n" + log


@pytest.fixture
def sandbox(tmp_path):
    """Factory: sandbox() -> Sandbox; all are unmounted at teardown."""
    made = []

    def make(name="sbx"):
        s = Sandbox(str(tmp_path), name)
        made.append(s)
        return s

    yield make
    errors = []
    for s in made:
        try:
            s.unmount()
        except AssertionError as e:
            errors.append(str(e))
        log = s.read_log()
        if SANITIZER.search(log):
            errors.append("sanitizer report in daemon log:\n" + log)
    assert not errors, "\n".join(errors)

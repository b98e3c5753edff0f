# SPDX-License-Identifier: LGPL-2.1-or-later
"""Passthrough entries are read with the caller's own credentials (second
attacker review, F3 and F4), through real mounts: the source's POSIX ACLs
apply, and a file or folder whose permissions change (chmod in place, or a
rename swap) after the kernel cached its attributes is refused at once,
never served from what the name now points to."""
import errno
import os
import subprocess
import sys
import threading
import time

import pytest

SECRET = "PRIVATE-0600-SECRET-7c1e"
CUSTOMERS = "id,email\n1,raw-one@corp.example\n"
DS = "datasets:\n  customers.csv:\n    columns: { id: keep, email: hash }\n"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def as_uid(uid, *cmd, groups=None, timeout=30):
    pre = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid]
    pre += ["--groups=" + ",".join(map(str, groups))] if groups else \
        ["--clear-groups"]
    return subprocess.run(pre + list(cmd), capture_output=True,
                          timeout=timeout)


def as_nobody(*cmd, timeout=30):
    return as_uid(65534, *cmd, timeout=timeout)


def setfacl(*args):
    subprocess.run(["setfacl", *args], check=True, capture_output=True)


def show(sandbox, name, extra=""):
    s = sandbox(name)
    s.write("customers.csv", CUSTOMERS)
    s.write("public.txt", "public\n")
    s.write_config("source: @SRC@\ndefault: show\n%s%s" % (extra, DS))
    return s


def refused(r):
    return r.returncode != 0 and SECRET.encode() not in r.stdout


# ---- F3: POSIX ACLs ----

def test_acl_deny_on_passthrough_file_applies(sandbox):
    s = show(sandbox, "aclf")
    p = s.write("notes.txt", SECRET + "\n", mode=0o644)
    setfacl("-m", "u:65534:---", p)
    assert as_nobody("cat", p).returncode != 0  # the source refuses
    s.mount()
    r = as_nobody("cat", s.path("notes.txt"))
    assert refused(r), r
    assert b"Permission denied" in r.stderr, r.stderr
    # others (and root) are not affected by nobody's ACL entry
    assert as_uid(1234, "cat", s.path("notes.txt")).stdout == \
        (SECRET + "\n").encode()
    assert open(s.path("notes.txt")).read() == SECRET + "\n"


def test_acl_deny_on_passthrough_folder_applies(sandbox):
    s = show(sandbox, "acld")
    s.write("priv/x.txt", SECRET + "\n", mode=0o644)
    s.write("priv/sub/y.txt", SECRET + "\n", mode=0o644)
    d = os.path.join(s.src, "priv")
    os.chmod(d, 0o755)
    setfacl("-m", "u:65534:---", d)
    s.mount()
    assert as_nobody("ls", s.path("priv")).returncode != 0
    assert refused(as_nobody("cat", s.path("priv/x.txt")))
    assert refused(as_nobody("cat", s.path("priv/sub/y.txt")))
    # root walked it first: cached entries do not open it up either
    assert sorted(os.listdir(s.path("priv"))) == ["sub", "x.txt"]
    assert open(s.path("priv/sub/y.txt")).read() == SECRET + "\n"
    assert refused(as_nobody("cat", s.path("priv/x.txt")))
    assert refused(as_nobody("cat", s.path("priv/sub/y.txt")))
    assert as_nobody("ls", s.path("priv")).returncode != 0
    assert as_uid(1234, "cat", s.path("priv/x.txt")).returncode == 0


def test_acl_deny_by_group_applies(sandbox):
    """A deny for a supplementary group of the caller counts too."""
    s = show(sandbox, "aclg")
    p = s.write("team.txt", SECRET + "\n", mode=0o644)
    setfacl("-m", "g:4343:---", p)
    s.mount()
    assert as_uid(1234, "cat", s.path("team.txt")).returncode == 0
    assert refused(as_uid(1234, "cat", s.path("team.txt"), groups=[4343]))


def test_dataset_view_is_read_by_the_daemon_despite_acl(sandbox):
    """Configured datasets stay the policy's decision, not the source's."""
    s = show(sandbox, "aclds")
    setfacl("-m", "u:65534:---", os.path.join(s.src, "customers.csv"))
    s.mount()
    r = as_nobody("cat", s.path("customers.csv"))
    assert r.returncode == 0, r.stderr
    assert b"raw-one@corp.example" not in r.stdout and b"id,email" in r.stdout


# ---- F4: permissions changed after the kernel cached them ----

def test_chmod_600_in_place_refused_at_once(sandbox):
    s = show(sandbox, "chmod")
    p = s.write("c.txt", SECRET + "\n", mode=0o644)
    s.mount()
    assert as_nobody("cat", s.path("c.txt")).returncode == 0  # cached 0644
    os.chmod(p, 0o600)
    assert refused(as_nobody("cat", s.path("c.txt")))


def test_rename_swap_to_private_file_never_serves_bytes(sandbox):
    s = show(sandbox, "swap")
    s.mount()
    assert as_nobody("cat", s.path("public.txt")).stdout == b"public\n"
    tmp = s.write(".tmp", SECRET + "\n", mode=0o600)
    os.rename(tmp, os.path.join(s.src, "public.txt"))
    r = as_nobody("cat", s.path("public.txt"))
    assert refused(r), r
    assert b"Permission denied" in r.stderr or b"No such file" in r.stderr \
        or b"Stale" in r.stderr, r.stderr
    assert open(s.path("public.txt")).read() == SECRET + "\n"  # root


def test_folder_swap_to_0700_refuses_listing(sandbox):
    s = show(sandbox, "dswap")
    s.write("pub/a.txt", "public\n")
    s.write("private/a.txt", SECRET + "\n", mode=0o644)
    s.write("private/hidden-name.txt", "x\n")
    os.chmod(os.path.join(s.src, "private"), 0o700)
    s.write("p2/f", SECRET + "\n", mode=0o644)
    s.mount()
    assert as_nobody("cat", s.path("pub/a.txt")).returncode == 0
    assert as_nobody("ls", s.path("pub")).returncode == 0
    assert as_nobody("cat", s.path("p2/f")).returncode == 0
    os.rename(os.path.join(s.src, "pub"), os.path.join(s.src, "pub.old"))
    os.rename(os.path.join(s.src, "private"), os.path.join(s.src, "pub"))
    r = as_nobody("ls", s.path("pub"))
    assert r.returncode != 0 and b"hidden-name" not in r.stdout, r
    assert refused(as_nobody("cat", s.path("pub/a.txt")))
    os.chmod(os.path.join(s.src, "p2"), 0o700)  # in place
    assert refused(as_nobody("cat", s.path("p2/f")))
    assert as_nobody("ls", s.path("p2")).returncode != 0



def test_atomic_replace_by_public_file_reads_new_bytes(sandbox):
    """An editor's save (write a new file, rename it over) is not an
    error: the file opened is not the one looked up, so the kernel looks
    the name up again and reads the new file."""
    s = show(sandbox, "save")
    s.write("folder/in.txt", "v1\n")
    s.mount()
    assert as_nobody("cat", s.path("public.txt")).stdout == b"public\n"
    assert as_nobody("ls", s.path("folder")).stdout == b"in.txt\n"
    tmp = s.write(".new", "public v2\n")
    os.rename(tmp, os.path.join(s.src, "public.txt"))
    r = as_nobody("cat", s.path("public.txt"))
    assert r.returncode == 0 and r.stdout == b"public v2\n", r
    os.rename(os.path.join(s.src, "folder"), os.path.join(s.src, "old"))
    s.write("folder/new.txt", "v2\n")
    r = as_nobody("ls", s.path("folder"))
    assert r.returncode == 0 and r.stdout == b"new.txt\n", r


def test_hard_link_to_dataset_in_private_folder_stays_hidden(sandbox):
    """The dataset check runs as the daemon: a caller who cannot reach
    the dataset's folder does not get its raw bytes under another name,
    even when the link replaces a file it had looked up."""
    s = sandbox("hlink")
    ds = s.write("vault/customers.csv", CUSTOMERS, mode=0o644)
    os.chmod(os.path.join(s.src, "vault"), 0o700)
    s.write("pub/c.txt", "public\n")
    s.write_config("source: @SRC@\ndefault: show\ndatasets:\n"
                   "  vault/customers.csv:\n"
                   "    columns: { id: keep, email: hash }\n")
    os.link(ds, os.path.join(s.src, "pub", "link.txt"))
    s.mount()
    r = as_nobody("cat", s.path("pub/link.txt"))
    assert r.returncode != 0 and b"raw-one" not in r.stdout, r
    assert as_nobody("cat", s.path("pub/c.txt")).stdout == b"public\n"
    os.rename(os.path.join(s.src, "pub", "link.txt"),
              os.path.join(s.src, "pub", "c.txt"))
    r = as_nobody("cat", s.path("pub/c.txt"))
    assert r.returncode != 0 and b"raw-one" not in r.stdout, r
    assert b"raw-one" not in open(s.path("vault/customers.csv"), "rb").read()


WRITER = r"""
import os, sys
op, path = sys.argv[1], sys.argv[2]
if op == "truncate":
    os.truncate(path, 8)
elif op == "append":
    with open(path, "ab") as f:
        f.write(b"x")
elif op == "rename":
    os.rename(path, path + ".moved")
"""


@pytest.mark.parametrize("op", ["truncate", "append", "rename"])
def test_copy_up_reads_the_source_as_the_caller(sandbox, op):
    """A file the caller may write but not read (an ACL in the source,
    mode bits 0666 in the mount): a copy-up (truncate, write, rename)
    must not read its bytes for the caller into the overlay."""
    s = show(sandbox, "cu" + op)
    p = s.write("drop/f.txt", SECRET + "\n", mode=0o666)
    os.chmod(os.path.join(s.src, "drop"), 0o777)
    setfacl("-m", "u:65534:-w-", p)
    assert as_nobody("cat", p).returncode != 0  # the source refuses
    s.mount()
    r = as_nobody(sys.executable, "-c", WRITER, op, s.path("drop/f.txt"))
    assert r.returncode != 0, "%s went through" % op
    got = b""
    for name in ("drop/f.txt", "drop/f.txt.moved"):
        got += as_nobody("cat", s.path(name)).stdout
    assert SECRET[:8].encode() not in got
    assert open(s.path("drop/f.txt")).read() == SECRET + "\n"  # root

READER = r"""
import sys, time
path, secs, hits, ok = sys.argv[1], float(sys.argv[2]), 0, 0
end = time.time() + secs
while time.time() < end:
    try:
        with open(path, "rb") as f:
            b = f.read()
    except OSError:
        continue
    if b"PRIVATE" in b:
        hits += 1
    else:
        ok += 1
print(hits, ok)
"""


@pytest.mark.parametrize("roles", [False, True], ids=["plain", "roles"])
def test_rename_race_reader_never_reads_private(sandbox, roles):
    extra = ("roles:\n  steward: { users: [root] }\n"
             "  analyst: { users: [65534] }\n") if roles else ""
    s = show(sandbox, "race%d" % roles, extra)
    s.write("priv.txt", SECRET + "\n", mode=0o600)
    s.mount()
    src = s.src
    stop = time.time() + 6
    errs = []

    def swapper():
        j = lambda n: os.path.join(src, n)
        try:
            while time.time() < stop:
                os.rename(j("public.txt"), j("tmp.txt"))
                os.rename(j("priv.txt"), j("public.txt"))
                os.rename(j("public.txt"), j("priv.txt"))
                os.rename(j("tmp.txt"), j("public.txt"))
        except OSError as e:
            errs.append(e)

    t = threading.Thread(target=swapper)
    t.start()
    r = as_nobody(sys.executable, "-c", READER, s.path("public.txt"), "5.5")
    t.join()
    assert not errs, errs
    assert r.returncode == 0, r.stderr
    hits, ok = map(int, r.stdout.split())
    assert hits == 0, "nobody read the 0600 file %d times" % hits
    assert ok > 0  # the reader did read the public file meanwhile


# ---- regressions: who may read still reads ----

def test_owner_root_and_group_still_read_everything(sandbox):
    s = show(sandbox, "owner")
    p = s.write("mine.txt", SECRET + "\n", mode=0o600)
    os.chown(p, 1234, 1234)
    g = s.write("team.txt", SECRET + "\n", mode=0o640)
    os.chown(g, 0, 4343)
    s.write("home/deep/f.txt", SECRET + "\n", mode=0o600)
    for rel in ("home/deep/f.txt", "home/deep", "home"):
        os.chown(os.path.join(s.src, rel), 1234, 1234)
    os.chmod(os.path.join(s.src, "home"), 0o700)
    s.mount()
    want = (SECRET + "\n").encode()
    assert as_uid(1234, "cat", s.path("mine.txt")).stdout == want
    assert as_uid(1234, "cat", s.path("home/deep/f.txt")).stdout == want
    assert as_uid(1234, "ls", s.path("home")).stdout == b"deep\n"
    assert refused(as_nobody("cat", s.path("home/deep/f.txt")))
    # a supplementary group of the caller grants as in the source
    assert as_uid(1235, "cat", s.path("team.txt"), groups=[4343]).stdout \
        == want
    assert refused(as_uid(1235, "cat", s.path("team.txt")))
    for rel in ("mine.txt", "team.txt", "home/deep/f.txt"):
        assert open(s.path(rel), "rb").read() == want
    # the owner writes (copy-up as the owner) and reads its copy back
    r = as_uid(1234, "sh", "-c", "echo more >> " + s.path("mine.txt"))
    assert r.returncode == 0, r.stderr
    assert as_uid(1234, "cat", s.path("mine.txt")).stdout == want + b"more\n"
    assert refused(as_nobody("cat", s.path("mine.txt")))
    s.unmount()
    s.assert_clean_log()


def test_roles_and_per_role_overlay_unaffected(sandbox):
    s = sandbox("roles")
    s.write("customers.csv", CUSTOMERS)
    s.write("notes.txt", "shared notes\n")
    s.write("private.txt", SECRET + "\n", mode=0o600)
    s.write_config(
        "source: @SRC@\ndefault: show\noverlay: per-role\n"
        "roles:\n  steward: { users: [root] }\n"
        "  analyst: { users: [65534] }\n" + DS)
    s.mount()
    r = as_nobody("cat", s.path("customers.csv"))
    assert r.returncode == 0 and b"raw-one" not in r.stdout, r
    assert as_nobody("cat", s.path("notes.txt")).stdout == b"shared notes\n"
    assert refused(as_nobody("cat", s.path("private.txt")))
    assert open(s.path("private.txt")).read() == SECRET + "\n"
    # analyst's own copy-up of a shared file, not seen by the steward
    r = as_nobody("sh", "-c", "echo mine > " + s.path("notes.txt"))
    assert r.returncode != 0  # 0644 root: not nobody's to write
    with open(s.path("notes.txt"), "a") as f:
        f.write("steward\n")
    assert as_nobody("cat", s.path("notes.txt")).stdout == b"shared notes\n"
    assert open(s.path("notes.txt")).read() == "shared notes\nsteward\n"
    s.unmount()
    s.assert_clean_log()

# SPDX-License-Identifier: LGPL-2.1-or-later
"""`meson install` and the conventions around it (issue 16): the man pages,
the completions and the README's reference say the same as the binary (every
command and option of `spotfs COMMAND --help`, every config key and method
the loader accepts), the systemd unit verifies, and `mount -t fuse.spotfs`
mounts a sandbox through the installed helper."""
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import SPOTFS, root_not_a_mount, spotfs

ROOT = os.environ.get("SPOTFS_ROOT",
                      os.path.dirname(os.path.dirname(os.path.dirname(
                          os.path.abspath(__file__)))))
BUILD = os.path.dirname(os.path.dirname(SPOTFS))
MAN1 = os.path.join(ROOT, "docs/man/spotfs.1")
MAN5 = os.path.join(ROOT, "docs/man/spotfs.yaml.5")
BASH = os.path.join(ROOT, "deploy/completions/spotfs.bash")
ZSH = os.path.join(ROOT, "deploy/completions/_spotfs")
README = os.path.join(ROOT, "README.md")


def commands():
    out = spotfs("--help").stdout
    block = out.split("commands:")[1].split("\n\n")[0]
    return [l.split()[0] for l in block.strip().splitlines()]


def long_options(cmd):
    return [l for _, l in options(cmd)]


def options(cmd):
    """(short or None, long) of every option `spotfs cmd --help` lists."""
    out = spotfs(cmd, "--help").stdout
    return sorted(set(re.findall(r"^\s+(?:(-\w), )?(--[\w-]+)", out,
                                 re.M)), key=lambda p: p[1])


def readme_section(title):
    text = open(README).read()
    start = text.index("\n## " + title)
    end = text.index("\n## ", start + 4)
    return text[start:end]


def roff_text(path):
    """The page with roff's escaped hyphens made plain."""
    return open(path).read().replace("\\-", "-")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    dest = str(tmp_path_factory.mktemp("destdir"))
    r = subprocess.run(["meson", "install", "-C", BUILD, "--destdir", dest,
                        "--quiet"], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    files = {}
    for d, _, names in os.walk(dest):
        for n in names:
            p = os.path.join(d, n)
            files[os.path.relpath(p, dest)] = p
    return files


def find(files, suffix):
    hits = [p for rel, p in files.items() if rel.endswith(suffix)]
    assert len(hits) == 1, (suffix, sorted(files))
    return hits[0]


def test_meson_install_lays_out_everything(installed):
    for suffix in ("bin/spotfs", "share/man/man1/spotfs.1",
                   "share/man/man5/spotfs.yaml.5",
                   "share/bash-completion/completions/spotfs",
                   "share/zsh/site-functions/_spotfs",
                   "share/doc/spotfs/spotfs.yaml.example",
                   "lib/systemd/system/spotfs@.service",
                   "sbin/mount.fuse.spotfs"):
        find(installed, suffix)
    helper = find(installed, "sbin/mount.fuse.spotfs")
    assert os.stat(helper).st_mode & 0o111
    assert "@BINDIR@" not in open(helper).read()
    unit = open(find(installed, "spotfs@.service")).read()
    assert "@BINDIR@" not in unit and "ExecStart=/" in unit


def test_man_pages_render_cleanly():
    for page in (MAN1, MAN5):
        r = subprocess.run(["groff", "-man", "-ww", "-z", page],
                           capture_output=True, text=True)
        assert r.returncode == 0 and not r.stderr, (page, r.stderr)


def test_every_command_and_option_is_in_man_readme_and_completions():
    man = roff_text(MAN1)
    ref = readme_section("Command reference")
    bash = open(BASH).read()
    zsh = open(ZSH).read()
    cmds = commands()
    assert len(cmds) >= 11, cmds
    for cmd in cmds:
        assert re.search(r"^\.B %s\b" % cmd, man, re.M), ("man", cmd)
        assert "spotfs %s" % cmd in ref, ("README", cmd)
        assert cmd in bash.split("local cmds=")[1].split("\n")[0], cmd
        assert "'%s:" % cmd in zsh, ("zsh", cmd)
        if cmd == "version":
            continue
        pairs = options(cmd)
        opts = [l for _, l in pairs]
        assert "--help" in opts
        bline = re.search(r"^\t%s\) opts=\"([^\"]*)\"" % cmd, bash, re.M)
        assert bline, ("bash", cmd)
        zblock = re.search(r"^\t%s\) _arguments(.*?);;" % cmd, zsh,
                           re.M | re.S)
        assert zblock, ("zsh", cmd)
        for o in opts:
            assert o in man, ("man", cmd, o)
            assert o in bline.group(1).split(), ("bash", cmd, o)
            assert "'%s[" % o in zblock.group(1), ("zsh", cmd, o)
        for short, o in pairs:
            if o not in ("--help", "--debug", "--foreground"):
                assert o in ref or (short and re.search(
                    re.escape(short) + r"\b", ref)), \
                    ("README Command reference", cmd, o)


def loader_list(tmp_path, yaml, marker):
    """Ask the config loader what it accepts (its error lists it)."""
    p = tmp_path / "probe.yaml"
    p.write_text(yaml.replace("@SRC@", str(tmp_path)))
    r = spotfs("check", "-c", str(p))
    m = re.search(marker + r"[^(]*\((?:allowed|methods): ([^)]*)\)",
                  r.stderr + r.stdout)
    assert m, r.stderr
    return [k.strip() for k in m.group(1).split(",")]


def test_every_config_key_and_method_is_in_man5_and_readme(tmp_path):
    man = roff_text(MAN5)
    ref = open(README).read()  # keys are shown in YAML examples
    methods_ref = readme_section("Masking methods")
    top = loader_list(tmp_path, "source: @SRC@\nbogus_key: 1\n",
                      "unknown key")
    ds = loader_list(tmp_path, "source: @SRC@\ndatasets:\n  a.csv:\n"
                     "    bogus_key: 1\n", "unknown key")
    methods = loader_list(tmp_path, "source: @SRC@\ndatasets:\n  a.csv:\n"
                          "    columns: { x: { method: bogus } }\n",
                          "unknown method")
    assert "source" in top and "columns" in ds and "hash" in methods
    for k in top + ds:
        assert re.search(r"^\.B %s$" % re.escape(k), man, re.M), ("man5", k)
        assert re.search(r"^\s*%s:" % re.escape(k), ref, re.M), \
            ("README", k)
    for m in methods:
        assert re.search(r"^\.B %s$" % m, man, re.M), ("man5 method", m)
        assert "| %s |" % m in methods_ref, ("README method", m)


def test_systemd_unit_verifies(installed, tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    unit = open(find(installed, "spotfs@.service")).read()
    exe = re.search(r"ExecStart=(\S+)", unit).group(1)
    d = tmp_path / "units"
    d.mkdir()
    (d / "spotfs@.service").write_text(unit.replace(exe, SPOTFS))
    (d / "spotfs@exp.service").symlink_to("spotfs@.service")
    r = subprocess.run(["systemd-analyze", "verify", "--man=no",
                        str(d / "spotfs@exp.service")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "-f -c /etc/spotfs/%i.yaml" in unit  # foreground under systemd


def test_mount_t_fuse_spotfs_through_the_helper(installed, sandbox):
    """mount(8) runs /sbin/mount.fuse.spotfs: in a mount namespace of its
    own, a tmpfs over /usr/sbin holds the installed helper only."""
    s = sandbox("fstab")
    s.write("t.csv", "id,email\n1,a@b.example\n")
    s.write_config("source: @SRC@\ndatasets:\n  t.csv:\n"
                   "    columns: { id: keep, email: hash }\n")
    helper = find(installed, "sbin/mount.fuse.spotfs")
    script = """
set -e
mount -t tmpfs tmpfs /usr/sbin
cp "$1" /usr/sbin/mount.fuse.spotfs
cd "$5"
SPOTFS="$2" mount -t fuse.spotfs "$3" "$4" -o ttl=30m,owner_only,noauto,log=rel.log
grep " $4 fuse.spotfs " /proc/self/mounts
"$2" status --json "$4"
head -c 40 "$4/t.csv"; echo
"$2" unmount "$4"
if grep -q " $4 " /proc/self/mounts; then echo LEFT; fi
"""
    why = root_not_a_mount("unshare --propagation private")
    if why:
        pytest.skip(why)
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh",
                        "-c", script, "sh", helper, SPOTFS, s.config, s.mnt,
                        s.base], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    line = [l for l in r.stdout.splitlines() if "fuse.spotfs" in l][0]
    assert "allow_other" not in line  # owner_only = --private
    st = json.loads([l for l in r.stdout.splitlines()
                     if l.startswith("{")][0])
    assert 1700 < st["seconds_left"] <= 1800
    assert "a@b.example" not in r.stdout and "id,email" in r.stdout
    assert "LEFT" not in r.stdout
    assert os.path.exists(os.path.join(s.base, "rel.log"))
    # bad options are refused with the list of good ones
    r = subprocess.run([helper, s.config, s.mnt, "-o", "ttl=1h,bogus"],
                       capture_output=True, text=True,
                       env=dict(os.environ, SPOTFS=SPOTFS))
    assert r.returncode == 1 and "owner_only" in r.stderr


def test_bash_completion_lists_live_mount_points(sandbox):
    if not shutil.which("bash"):
        pytest.skip("bash is not installed")
    s = sandbox("compl")
    s.write("t.csv", "id\n1\n")
    s.write_config("source: @SRC@\ndatasets:\n  t.csv:\n"
                   "    columns: { id: keep }\n")
    s.mount()
    try:
        def complete(*words):
            script = ('source "$1"; shift; COMP_WORDS=("$@"); '
                      'COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _spotfs; '
                      'printf "%s\\n" "${COMPREPLY[@]}"')
            return subprocess.run(["bash", "-c", script, "bash", BASH,
                                   *words], capture_output=True, text=True
                                  ).stdout.split("\n")
        assert s.mnt in complete("spotfs", "unmount", "")
        assert s.mnt in complete("spotfs", "status", s.mnt[:-3])
        assert "--shorten" in complete("spotfs", "extend", "--sh")
        assert "unmount" in complete("spotfs", "un")
    finally:
        s.unmount()

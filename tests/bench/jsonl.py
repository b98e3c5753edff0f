# SPDX-License-Identifier: LGPL-2.1-or-later
"""JSON Lines benchmark (issue 15), side by side in one run:

  1. spotfs: the first read of a masked JSON Lines file through a mount
     (user.email and user.name keyed hashes, the rest kept), copied to a
     file, against a Python stdlib script doing the same masking
     (tests/bench/jsonl_mask_script.py: json.loads/json.dumps per line,
     keyed BLAKE2b), alternating in every run;
  2. the view build of the same file with no field masked (every record
     served byte for byte: the tokenizer's two passes on all cores);
  3. the tokenizer alone on one core (tests/bench/bench_jsonl.c).

  /usr/bin/python3 tests/bench/jsonl.py [--mb 500] [--runs 5]
                                        [--view-memory 2GiB]
                                        [--baseline TREE]

--baseline TREE times another tree's release build (TREE/build-rel, say
main's, for a before and after) the same way, in every run after this one.

The view is kept in memory (view_memory: 2GiB by default, as the script
keeps nothing: pass 256MiB, spotfs's default, to time a view streamed to
its encrypted spill). CPU time (user + system, of the daemon and of the
script) is printed too: on a shared machine wall times depend on the load,
and spotfs builds at low priority.

Run as root from the top of a tree with a release build in build-rel/
(meson setup build-rel --buildtype=release). The generated file is cached
in /var/tmp/spotfs-bench/; scratch data goes to /var/tmp/spotfs-bench/jl.*.
Prints medians (seconds and MB/s of the source, 10^6 bytes) as markdown."""
import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build-rel")
SPOTFS = os.path.join(BUILD, "fs", "spotfs")
CACHE = "/var/tmp/spotfs-bench"

WORDS = ("the a data model user please send reply thanks order refund "
         "account password shipping address tomorrow invoice help").split()


def gen(path, mb):
    """A fine-tuning set: nested user, three messages, some metadata."""
    rnd = random.Random(15)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        i = 0
        while f.tell() < mb * 1000 * 1000:
            words = lambda n: " ".join(rnd.choice(WORDS) for _ in range(n))
            rec = {"id": i,
                   "user": {"email": "user%07d@example.com" % i,
                            "name": "Name%07d Last" % i, "age": 18 + i % 60},
                   "messages": [
                       {"role": "system", "content": words(8)},
                       {"role": "user", "content": words(rnd.randint(10, 40))},
                       {"role": "assistant",
                        "content": words(rnd.randint(10, 60))}],
                   "meta": {"lang": "en", "score": rnd.random(),
                            "tags": ["a", "b"][: i % 3]}}
            f.write(json.dumps(rec) + "\n")
            i += 1
    os.rename(tmp, path)


def mounted(cfg, mnt, env, spotfs=SPOTFS):
    p = subprocess.Popen([spotfs, "mount", "-f", "-c", cfg, mnt],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=env, start_new_session=True)
    for _ in range(600):
        if os.path.ismount(mnt):
            os.stat(mnt)
            return p
        time.sleep(0.05)
    raise SystemExit("mount did not appear: " + p.stderr.read().decode())


def cpu_of(pid):
    """User + system seconds of a running process."""
    with open("/proc/%d/stat" % pid) as f:
        st = f.read().rsplit(")", 1)[1].split()
    return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def unmount(p, mnt, env, spotfs=SPOTFS):
    subprocess.run([spotfs, "unmount", mnt], env=env, check=True,
                   capture_output=True)
    p.wait(timeout=60)


def timed(fn):
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--view-memory", default="2GiB")
    ap.add_argument("--baseline", help="another tree, with build-rel/")
    a = ap.parse_args()
    base = (os.path.join(os.path.abspath(a.baseline), "build-rel", "fs",
                         "spotfs") if a.baseline else None)
    os.makedirs(CACHE, exist_ok=True)
    src_dir = os.path.join(CACHE, "jsonl-%dmb" % a.mb)
    src = os.path.join(src_dir, "train.jsonl")
    if not os.path.exists(src):
        os.makedirs(src_dir, exist_ok=True)
        print("generating %s" % src, file=sys.stderr)
        gen(src, a.mb)
    size = os.path.getsize(src)
    subprocess.run(["ninja", "-C", BUILD, "fs/spotfs",
                    "tests/bench/bench_jsonl"], check=True,
                   stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="jl.", dir=CACHE)
    env = dict(os.environ, SPOTFS_STATE_DIR=os.path.join(work, "state"),
               SPOTFS_RUNTIME_DIR=os.path.join(work, "run"))
    secret = os.path.join(work, "secret")
    with open(secret, "wb") as f:
        f.write(b"benchmark key, not a secret: 32b")
    os.chmod(secret, 0o600)
    cfgs = {}
    for name, cols in (("masked", "      user.email: { method: hash }\n"
                                  "      user.name: { method: hash }\n"),
                       ("plain", "")):
        cfgs[name] = os.path.join(work, name + ".yaml")
        with open(cfgs[name], "w") as f:
            f.write("source: %s\nttl: 1h\nsecret: %s\ndefault: hide\n"
                    "view_memory: %s\n"
                    "datasets:\n  train.jsonl:\n    unlisted_columns: keep\n"
                    "%s" % (src_dir, secret, a.view_memory,
                            "    columns:\n" + cols if cols else ""))
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt)
    out = os.path.join(work, "out.jsonl")
    kinds = ["spotfs", "script", "plain"] + (["base"] if base else [])
    res = {k: [] for k in kinds}
    cpu = {k: [] for k in kinds}
    load0 = os.getloadavg()[0]
    for r in range(a.runs):
        for k, exe in (("spotfs", SPOTFS), ("base", base)):
            if not exe:
                continue
            p = mounted(cfgs["masked"], mnt, env, exe)
            c0 = cpu_of(p.pid)
            res[k].append(timed(lambda: shutil.copyfile(
                os.path.join(mnt, "train.jsonl"), out)))
            cpu[k].append(cpu_of(p.pid) - c0)
            unmount(p, mnt, env, exe)
            os.unlink(out)
        c0 = child_cpu()
        res["script"].append(timed(lambda: subprocess.run(
            ["/usr/bin/python3",
             os.path.join(ROOT, "tests/bench/jsonl_mask_script.py"), src, out],
            check=True)))
        cpu["script"].append(child_cpu() - c0)
        os.unlink(out)
        p = mounted(cfgs["plain"], mnt, env)
        c0 = cpu_of(p.pid)
        res["plain"].append(timed(lambda: shutil.copyfile(
            os.path.join(mnt, "train.jsonl"), "/dev/null")))
        cpu["plain"].append(cpu_of(p.pid) - c0)
        unmount(p, mnt, env)
        print("run %d: wall %s cpu %s" % (
            r + 1, {k: round(v[-1], 2) for k, v in res.items()},
            {k: round(v[-1], 2) for k, v in cpu.items()}), file=sys.stderr)
    tok = subprocess.run([os.path.join(BUILD, "tests/bench/bench_jsonl"), src,
                          "5"], capture_output=True, text=True, check=True)
    shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in res.items()}
    mcpu = {k: statistics.median(v) for k, v in cpu.items()}
    ratios = sorted(s_ / f_ for s_, f_ in zip(res["script"], res["spotfs"]))
    print("JSON Lines, %.0f MB, %d runs, view_memory %s, load average "
          "%.1f at the start, %.1f at the end; medians:\n" % (
              size / 1e6, a.runs, a.view_memory, load0,
              os.getloadavg()[0]))
    print("| what | seconds | MB/s of source | CPU seconds |\n"
          "|---|--:|--:|--:|")
    for k, label in (("spotfs", "spotfs, 2 nested fields hashed (first read)"),
                     ("base", "baseline %s, the same" % a.baseline),
                     ("script", "Python stdlib script, same masking"),
                     ("plain", "spotfs, no field masked (first read)")):
        if k in med:
            print("| %s | %.2f | %.0f | %.2f |" % (
                label, med[k], size / 1e6 / med[k], mcpu[k]))
    print("\nscript / spotfs: %.1fx by wall time (run by run %.1f-%.1f), "
          "%.1fx by CPU time. Tokenizer alone: %s" % (
              med["script"] / med["spotfs"], ratios[0], ratios[-1],
              mcpu["script"] / mcpu["spotfs"], tok.stdout.strip()))
    if base:
        br = sorted(s_ / f_ for s_, f_ in zip(res["script"], res["base"]))
        print("script / baseline: %.1fx by wall time (run by run "
              "%.1f-%.1f), %.1fx by CPU time" % (
                  med["script"] / med["base"], br[0], br[-1],
                  mcpu["script"] / mcpu["base"]))


if __name__ == "__main__":
    main()

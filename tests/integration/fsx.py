#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""An fsx-style file-system exerciser: random writes, reads, truncates,
re-opens and mmap writes on one file, each checked against an in-memory
model. A mismatch raises AssertionError with the seed, the step and the
last operations, so the run can be replayed.

    fsx.py FILE [--ops N] [--seed S]      (the soak run uses 100000 ops)
"""
import argparse
import mmap
import os
import random
import sys

MAX_LEN = 300_000


def run_fsx(path, seed=1234, ops=3000):
    rng = random.Random(seed)
    model = bytearray()
    log = []
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)

    def fail(step, what):
        raise AssertionError("fsx seed %d step %d: %s; last ops: %r"
                             % (seed, step, what, log[-8:]))
    try:
        for step in range(ops):
            op = rng.choice(["write", "write", "read", "read", "trunc",
                             "reopen", "mapwrite"])
            if op == "write":
                off = rng.randrange(0, MAX_LEN)
                n = rng.randrange(1, 20_000)
                unit = bytes(rng.randrange(256) for _ in range(64))
                data = (unit * (n // 64 + 1))[:n]
                if os.pwrite(fd, data, off) != n:
                    fail(step, "short write")
                if len(model) < off:
                    model.extend(b"\0" * (off - len(model)))
                model[off:off + n] = data
                log.append(("write", off, n))
            elif op == "read":
                off = rng.randrange(0, len(model) + 10)
                n = rng.randrange(1, 30_000)
                if os.pread(fd, n, off) != bytes(model[off:off + n]):
                    fail(step, "read %d@%d differs" % (n, off))
                log.append(("read", off, n))
            elif op == "trunc":
                n = rng.randrange(0, MAX_LEN)
                os.ftruncate(fd, n)
                if n < len(model):
                    del model[n:]
                else:
                    model.extend(b"\0" * (n - len(model)))
                log.append(("trunc", n))
            elif op == "reopen":
                os.close(fd)
                fd = os.open(path, os.O_RDWR)
                log.append(("reopen",))
            elif op == "mapwrite" and len(model) > 4096:
                off = rng.randrange(0, len(model) - 100)
                m = mmap.mmap(fd, len(model))
                m[off:off + 100] = b"M" * 100
                m.flush()
                m.close()
                model[off:off + 100] = b"M" * 100
                log.append(("mapwrite", off, 100))
            if step % 250 == 0 and os.fstat(fd).st_size != len(model):
                fail(step, "size %d, model %d" % (os.fstat(fd).st_size, len(model)))
        os.lseek(fd, 0, os.SEEK_SET)
        got = b""
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            got += chunk
        if got != bytes(model):
            fail(ops, "final contents differ")
    finally:
        os.close(fd)
    return ops


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--ops", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    run_fsx(a.file, a.seed, a.ops)
    print("fsx: %d operations, seed %d: no mismatch" % (a.ops, a.seed))
    sys.exit(0)

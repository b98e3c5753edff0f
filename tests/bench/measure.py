# SPDX-License-Identifier: LGPL-2.1-or-later
"""Timing helpers for tests/bench/run. Each prints one line of numbers.

  measure.py ttfb-file FILE       open FILE, read(4096), then read to EOF in
                                  1 MiB reads: "TTFB_S TOTAL_S BYTES"
                                  (the clock starts before open())
  measure.py ttfb-cmd CMD...      start CMD with stdout on a pipe and do the
                                  same on the pipe: "TTFB_S TOTAL_S BYTES"
                                  (the clock starts before the fork)
  measure.py time-cmd CMD...      run CMD with stdout on /dev/null:
                                  "TOTAL_S"
  measure.py time-cmd-cpu CMD...  the same and the CPU time (user + system)
                                  CMD and its children used: "TOTAL_S CPU_S"
Exits 1 with a reason on stderr if the read or the command fails."""
import os
import resource
import subprocess
import sys
import time


def drain(fd, t0):
    first = os.read(fd, 4096)
    ttfb = time.monotonic() - t0
    n = len(first)
    if n == 0:
        raise OSError("no data")
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            break
        n += len(b)
    return ttfb, time.monotonic() - t0, n


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "ttfb-file" and len(args) == 1:
            t0 = time.monotonic()
            fd = os.open(args[0], os.O_RDONLY)
            try:
                r = drain(fd, t0)
            finally:
                os.close(fd)
        elif cmd == "ttfb-cmd":
            t0 = time.monotonic()
            p = subprocess.Popen(args, stdout=subprocess.PIPE)
            try:
                r = drain(p.stdout.fileno(), t0)
            finally:
                p.stdout.close()
                rc = p.wait()
            if rc != 0:
                raise OSError("command exited %d" % rc)
        elif cmd in ("time-cmd", "time-cmd-cpu"):
            t0 = time.monotonic()
            rc = subprocess.run(args, stdout=subprocess.DEVNULL).returncode
            t1 = time.monotonic()
            if rc != 0:
                raise OSError("command exited %d" % rc)
            if cmd == "time-cmd":
                print("%.6f" % (t1 - t0))
            else:
                ru = resource.getrusage(resource.RUSAGE_CHILDREN)
                print("%.6f %.6f" % (t1 - t0, ru.ru_utime + ru.ru_stime))
            return 0
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except OSError as e:
        print("measure.py: %s: %s" % (cmd, e), file=sys.stderr)
        return 1
    print("%.6f %.6f %d" % r)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

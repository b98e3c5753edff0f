# SPDX-License-Identifier: LGPL-2.1-or-later
"""A scripted AI agent, as a tool-using agent would explore a sandbox:
list it, read the manifest first (what it may read, how it is masked, its
quota and DP budget), read each dataset it is shown, ask for the DP
aggregates until its epsilon budget says no, and keep reading until its
read quota says no. It prints what it did; it never needs the CLI.
    python3 agent.py MOUNTPOINT"""
import csv
import errno
import io
import json
import os
import sys

mnt = sys.argv[1]


def say(*a):
    print("agent:", *a, flush=True)


say("sees", ", ".join(sorted(e for e in os.listdir(mnt))))
m = json.load(open(os.path.join(mnt, ".spotfs", "manifest.json")))
say("role %s, %d datasets in the manifest: %s" % (
    m["role"], len(m["datasets"]),
    ", ".join(d["name"] for d in m["datasets"])))
budget = m.get("dp_budget") or {}
say("dp budget %s, spent %s" % (budget.get("per_role"), budget.get("spent")))
for d in m["datasets"]:
    masked = [c["name"] for c in d["columns"] if c["masked"]]
    say("%s: %d columns masked (%s)" % (d["name"], len(masked),
                                        ", ".join(masked)))
    rows = list(csv.DictReader(open(os.path.join(mnt, d["name"]))))
    say("%s: read %d rows" % (d["name"], len(rows)))

# A file the manifest does not offer is not the agent's to read.
try:
    open(os.path.join(mnt, "hr", "payroll.csv")).read()
    say("hr/payroll.csv: READ")
except OSError as e:
    say("hr/payroll.csv: refused (%s)" % errno.errorcode[e.errno])

# The DP aggregates, cheapest first, until the budget refuses one.
releases = sorted((r for d in m["datasets"] for r in d["dp"]),
                  key=lambda r: (r["epsilon"], r["file"]))
got = 0
for r in releases:
    try:
        text = open(os.path.join(mnt, r["file"])).read()
    except OSError as e:
        if e.errno != errno.EDQUOT:
            raise
        say("dp: %s refused: the epsilon budget is spent" % r["file"])
        break
    got += 1
    first = next(csv.reader(io.StringIO(text)))
    say("dp: %s (epsilon %s): columns %s" % (r["file"], r["epsilon"],
                                            ",".join(first)))
say("dp: %d of %d releases read" % (got, len(releases)))
m = json.load(open(os.path.join(mnt, ".spotfs", "manifest.json")))
say("dp budget now: spent %s, remaining %s" % (
    m["dp_budget"]["spent"], m["dp_budget"]["remaining"]))

# Read on until the read quota stops the agent.
reads = 0
while reads < 1000:
    try:
        with open(os.path.join(mnt, "customers.csv"), "rb") as f:
            f.read()
    except OSError as e:
        if e.errno != errno.EDQUOT:
            raise
        say("quota: stopped by EDQUOT after %d more reads" % reads)
        break
    reads += 1
else:
    say("quota: never stopped")
    sys.exit(1)

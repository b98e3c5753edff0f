#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Count test results from meson's testlog.json (TAP lines of each unit
test), plain TAP files and pytest's JUnit XML; print "N passed, N failed"
as the last line, followed by ", N skipped" when tests were skipped (their
reasons are listed above it), and exit 1 if anything failed or nothing ran."""
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

TAP = re.compile(r"^(not ok|ok)\b")


def tap_counts(text):
    ok = bad = 0
    for line in text.splitlines():
        m = TAP.match(line)
        if m:
            if m.group(1) == "ok":
                ok += 1
            else:
                bad += 1
    return ok, bad


def main(paths):
    passed = failed = 0
    skipped = {}  # reason -> count
    for path in paths:
        if not os.path.exists(path):
            continue
        if path.endswith(".json"):
            with open(path) as f:
                for line in f:
                    rec = json.loads(line)
                    ok, bad = tap_counts(rec.get("stdout", ""))
                    result = rec.get("result")
                    if result not in ("OK", "EXPECTEDFAIL", "SKIP") and bad == 0:
                        bad = 1  # crashed, timed out or failed its plan
                        print("FAILED: unit test %s (%s)" % (rec.get("name"), result))
                    elif result == "SKIP" and ok == 0 and bad == 0:
                        reason = "unit test %s skipped itself" % rec.get("name")
                        skipped[reason] = skipped.get(reason, 0) + 1
                        continue
                    elif result == "OK" and ok == 0 and bad == 0:
                        ok = 1  # a test that reports by exit status only
                    for line2 in rec.get("stdout", "").splitlines():
                        if line2.startswith("not ok"):
                            print("FAILED: %s: %s" % (rec.get("name"), line2))
                    passed += ok
                    failed += bad
        elif path.endswith(".xml"):
            root = ET.parse(path).getroot()
            for case in root.iter("testcase"):
                skip = case.find("skipped")
                if skip is not None:
                    reason = skip.get("message") or "no reason given"
                    skipped[reason] = skipped.get(reason, 0) + 1
                    continue
                if case.find("failure") is not None or case.find("error") is not None:
                    failed += 1
                    print("FAILED: %s::%s" % (case.get("classname"), case.get("name")))
                else:
                    passed += 1
        else:
            with open(path) as f:
                ok, bad = tap_counts(f.read())
            if bad:
                print("FAILED: %s" % path)
            passed += ok
            failed += bad
    for reason, n in sorted(skipped.items(), key=lambda kv: -kv[1]):
        print("SKIPPED %d: %s" % (n, reason))
    nskip = sum(skipped.values())
    print("%d passed, %d failed%s" % (passed, failed,
                                     ", %d skipped" % nskip if nskip else ""))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

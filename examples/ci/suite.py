# SPDX-License-Identifier: LGPL-2.1-or-later
"""The CI job's test suite: checks a pipeline step against masked data.
    python3 suite.py MOUNTPOINT"""
import csv
import json
import os
import sys

mnt = sys.argv[1]
manifest = json.load(open(os.path.join(mnt, ".spotfs/manifest.json")))
assert {d["name"] for d in manifest["datasets"]} == {"customers.csv",
                                                     "orders.csv"}
customers = list(csv.DictReader(open(os.path.join(mnt, "customers.csv"))))
orders = list(csv.DictReader(open(os.path.join(mnt, "orders.csv"))))
emails = {c["email"] for c in customers}
# the code under test: every order's customer exists (hashes still join)
missing = [o["order_id"] for o in orders if o["customer_email"] not in emails]
assert not missing, "orders without a customer: %d" % len(missing)
# and no real address ever reached the job
assert not any("@" in c["email"] for c in customers)
print("suite: %d customers, %d orders: ok" % (len(customers), len(orders)))

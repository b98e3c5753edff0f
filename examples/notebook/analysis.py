# SPDX-License-Identifier: LGPL-2.1-or-later
"""A data scientist's notebook, as a script: everything it reads comes from
the mounted sandbox (masked), and its results are written back into the
sandbox (the encrypted overlay), never next to the source.
    python3 analysis.py MOUNTPOINT"""
import os
import sqlite3
import sys

import pandas as pd

mnt = sys.argv[1]
out = os.path.join(mnt, "results")
os.makedirs(out, exist_ok=True)

# 1. CSV with pandas
customers = pd.read_csv(os.path.join(mnt, "customers.csv"))
orders = pd.read_csv(os.path.join(mnt, "orders.csv"))
print("customers: %d rows, %d columns" % customers.shape)

# 2. the served SQLite database with read_sql (opened read-only)
con = sqlite3.connect("file:%s?mode=ro" % os.path.join(mnt, "crm.db"),
                      uri=True)
users = pd.read_sql("SELECT country, active, score FROM users", con)
con.close()
print("crm users: %d rows" % len(users))

# 3. a small aggregate: revenue per country (the hashed emails still join)
joined = orders.merge(customers, left_on="customer_email",
                      right_on="email", how="inner")
revenue = (joined.groupby("country")["amount"].agg(["count", "sum"])
           .reset_index().sort_values("country"))
revenue.to_csv(os.path.join(out, "revenue_by_country.csv"), index=False)
active = users.groupby("country")["active"].mean().reset_index()
active.to_csv(os.path.join(out, "active_share.csv"), index=False)
print("joined orders: %d of %d" % (len(joined), len(orders)))
print("wrote results/revenue_by_country.csv (%d countries)" % len(revenue))

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Generate the example datasets: invented people, deterministic (fixed
seed), standard library only. Usage: gen-data.py [OUTDIR] [--rows N]"""
import csv
import os
import random
import sqlite3
import sys

FIRST = ["Ada", "Bram", "Cleo", "Dario", "Elin", "Farid", "Greta", "Hugo",
         "Ines", "Jonas", "Kaia", "Lars", "Mira", "Nico", "Olga", "Pavel",
         "Quinn", "Rosa", "Sven", "Tara", "Ugo", "Vera", "Wim", "Xenia",
         "Yara", "Zeno"]
LAST = ["Abbott", "Brandt", "Castell", "Dorn", "Eklund", "Falk", "Gruber",
        "Haas", "Ivers", "Jansen", "Keller", "Lund", "Moser", "Nyberg",
        "Ortiz", "Pohl", "Quist", "Rainer", "Sauer", "Thorne", "Ulm",
        "Vogt", "Wendt", "Yilmaz", "Zorn"]
COUNTRIES = ["US", "DE", "FR", "SE", "NL"]
DOMAINS = ["example.com", "example.org", "mail.example.net"]


def luhn_card(rng):
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return "%s-%s-%s-%s" % (s[0:4], s[4:8], s[8:12], s[12:16])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else \
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    rows = 300
    if "--rows" in sys.argv:
        rows = int(sys.argv[sys.argv.index("--rows") + 1])
    rng = random.Random(20261122)
    os.makedirs(os.path.join(out, "hr"), exist_ok=True)
    customers = []
    for i in range(1, rows + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = "%s.%s%d@%s" % (first.lower(), last.lower(), i, rng.choice(DOMAINS))
        ssn = "%03d-%02d-%04d" % (rng.randrange(100, 600), rng.randrange(1, 99),
                                  rng.randrange(1, 9999))
        phone = "+1-555-%03d-%04d" % (rng.randrange(100, 999), rng.randrange(10000))
        dob = "%04d-%02d-%02d" % (rng.randrange(1950, 2004), rng.randrange(1, 13),
                                  rng.randrange(1, 29))
        zipc = "%05d" % rng.randrange(10000, 99999)
        country = rng.choice(COUNTRIES)
        salary = rng.randrange(38000, 190000)
        note = rng.choice(["", "prefers email", "call after 5pm",
                           "VIP, contact %s" % email, "moved, see \"ticket\" 42",
                           "multi-line\nnote"])
        customers.append([i, "%s %s" % (first, last), email, ssn, phone, dob,
                          zipc, country, salary, note])
    with open(os.path.join(out, "customers.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "name", "email", "ssn", "phone", "dob", "zip",
                    "country", "salary", "notes"])
        w.writerows(customers)
    with open(os.path.join(out, "orders.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["order_id", "customer_email", "card", "amount", "ordered_at"])
        for i in range(1, rows * 2 + 1):
            c = customers[rng.randrange(len(customers))]
            w.writerow([1000 + i, c[2], luhn_card(rng),
                        "%.2f" % (rng.randrange(500, 50000) / 100),
                        "2026-%02d-%02d" % (rng.randrange(1, 13), rng.randrange(1, 29))])
    with open(os.path.join(out, "hr", "payroll.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["employee", "iban", "salary", "bonus"])
        for i in range(1, 41):
            w.writerow(["%s %s" % (rng.choice(FIRST), rng.choice(LAST)),
                        "DE89370400440532013000" if i == 1 else
                        "GB82WEST12345698765432",
                        rng.randrange(40000, 120000), rng.randrange(0, 9000)])
    with open(os.path.join(out, "internal-notes.txt"), "w") as f:
        f.write("Not named in the config: hidden from the sandbox.\n")
    db = os.path.join(out, "crm.db")
    if os.path.exists(db):
        os.unlink(db)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT,"
                " country TEXT, active INTEGER, score REAL, avatar BLOB)")
    for c in customers:
        con.execute("INSERT INTO users VALUES (?,?,?,?,?,?,?)",
                    (c[0], c[1], c[2], c[7], rng.randrange(2),
                     round(rng.random() * 100, 3),
                     bytes([rng.randrange(256) for _ in range(4)])))
    con.execute("CREATE VIEW active_users AS SELECT id, email, country FROM users WHERE active = 1")
    con.commit()
    con.close()


if __name__ == "__main__":
    main()

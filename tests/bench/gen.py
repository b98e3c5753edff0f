# SPDX-License-Identifier: LGPL-2.1-or-later
"""Generate the benchmark datasets (invented people, fixed seed).

  gen.py csv OUT MIN_BYTES    CSV with 10 columns (id, name, email, ssn,
                              phone, city, country, amount, date, note), at
                              least MIN_BYTES long
  gen.py script OUT ROWS      the same 10 columns, exactly ROWS rows, with a
                              longer note (600,000 rows: about 92 MB, the
                              file of issue 12's script comparison)
  gen.py sqlite OUT ROWS      SQLite database with one table t(id, name,
                              email, phone, city, country, amount, created)

Both write to OUT.tmp and rename, so an interrupted run leaves no partial
file under the cached name."""
import os
import random
import sqlite3
import sys

FIRST = ["Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Greta", "Hugo",
         "Ines", "Jonas", "Karla", "Leon", "Mia", "Noah", "Olga", "Paul",
         "Quinn", "Rosa", "Sven", "Tara", "Uwe", "Vera", "Wim", "Xenia",
         "Yann", "Zoe"]
LAST = ["Adler", "Becker", "Costa", "Dubois", "Engel", "Fischer", "Garcia",
        "Hoffmann", "Ivanova", "Jansen", "Keller", "Lambert", "Moreau",
        "Novak", "Olsen", "Petit", "Quist", "Richter", "Schmidt", "Torres",
        "Ulrich", "Vogel", "Weber", "Young", "Zimmer"]
CITY = ["Berlin", "Paris", "Lyon", "Hamburg", "Madrid", "Rome", "Vienna",
        "Zurich", "Lisbon", "Oslo", "Warsaw", "Prague", "Dublin", "Boston",
        "Austin", "Denver"]
COUNTRY = ["DE", "FR", "FR", "DE", "ES", "IT", "AT", "CH", "PT", "NO", "PL",
           "CZ", "IE", "US", "US", "US"]
NOTES = ["", "VIP customer", "prefers email contact",
         "\"Called back, left message\"", "asked about invoice",
         "moved last year", "", "churn risk", "newsletter opt-in",
         "call before noon"]
MORE = ["follow up after the quarterly review meeting",
        "billing address changed in March 2023",
        "requested a full copy of all their data",
        "prefers paper invoices sent by post",
        "see the consent form: no marketing",
        "merged with an older duplicate account",
        "escalated to tier two support desk",
        "Asked for the manager, then hung up"]
HEADER = "id,name,email,ssn,phone,city,country,amount,date,note\n"


def gen_csv(out, min_bytes, rows=0):
    """At least min_bytes, or (rows > 0) exactly rows rows, longer notes."""
    rnd = random.Random(20240601 if not rows else 20261206)
    tmp = out + ".tmp"
    size = 0
    i = 0
    with open(tmp, "w", buffering=1 << 20) as f:
        f.write(HEADER)
        size += len(HEADER)
        while size < min_bytes if not rows else i < rows:
            lines = []
            for _ in range(10000 if not rows else min(10000, rows - i)):
                i += 1
                fn = FIRST[rnd.randrange(26)]
                ln = LAST[rnd.randrange(25)]
                c = rnd.randrange(16)
                r = rnd.getrandbits(40)
                note = NOTES[(r >> 30) % 10]
                if rows:
                    note = note.strip('"')
                    more = MORE[rnd.randrange(len(MORE))]
                    note = note + "; " + more if note else more
                    if "," in note:
                        note = '"%s"' % note
                lines.append(
                    "%d,%s %s,%s.%s%d@example.com,%03d-%02d-%04d,"
                    "555-%03d-%04d,%s,%s,%d.%02d,2023-%02d-%02d,%s\n"
                    % (i, fn, ln, fn.lower(), ln.lower(), r % 1000,
                       r % 900 + 100, (r >> 10) % 90 + 10, (r >> 17) % 10000,
                       (r >> 4) % 1000, (r >> 14) % 10000, CITY[c], COUNTRY[c],
                       (r >> 20) % 100000, r % 100, (r >> 8) % 12 + 1,
                       (r >> 12) % 28 + 1, note))
            chunk = "".join(lines)
            f.write(chunk)
            size += len(chunk)
    os.rename(tmp, out)
    print("gen.py: %s: %d rows, %d bytes" % (out, i, size), file=sys.stderr)


def gen_sqlite(out, rows):
    tmp = out + ".tmp"
    if os.path.exists(tmp):
        os.unlink(tmp)
    rnd = random.Random(20240602)
    con = sqlite3.connect(tmp)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, email TEXT,"
                " phone TEXT, city TEXT, country TEXT, amount REAL,"
                " created TEXT)")

    def rowgen():
        for i in range(1, rows + 1):
            fn = FIRST[rnd.randrange(26)]
            ln = LAST[rnd.randrange(25)]
            c = rnd.randrange(16)
            r = rnd.getrandbits(40)
            yield (i, fn + " " + ln,
                   "%s.%s%d@example.com" % (fn.lower(), ln.lower(), r % 1000),
                   "555-%03d-%04d" % ((r >> 4) % 1000, (r >> 14) % 10000),
                   CITY[c], COUNTRY[c], ((r >> 20) % 100000) / 100.0,
                   "2023-%02d-%02d" % ((r >> 8) % 12 + 1, (r >> 12) % 28 + 1))

    con.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?,?)", rowgen())
    con.commit()
    con.close()
    os.rename(tmp, out)
    print("gen.py: %s: %d rows, %d bytes" % (out, rows, os.path.getsize(out)),
          file=sys.stderr)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("csv", "script", "sqlite"):
        print(__doc__, file=sys.stderr)
        return 2
    if sys.argv[1] == "csv":
        gen_csv(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "script":
        gen_csv(sys.argv[2], 0, int(sys.argv[3]))
    else:
        gen_sqlite(sys.argv[2], int(sys.argv[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

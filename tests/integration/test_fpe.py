# SPDX-License-Identifier: LGPL-2.1-or-later
"""fpe through a real mount, spotfs reveal, and group: across datasets.

- fpe serves card numbers and ids masked, format and Luhn check kept,
  one token per value (a bijection), short values masked, never raw;
- spotfs reveal gives the raw value back for the holder of the secret
  file, writes an audit record without any token or value, and is refused
  with secret: random and for a column that is not fpe;
- group: two datasets whose columns have different names join through
  the mount with exactly the raw join's per-key row counts; columns in
  different groups do not join at all."""
import io
import json
import os
import random

import pandas as pd

from conftest import spotfs

CARDS = ["4111111111111111", "5500005555555559", "340000000000009",
         "6011000000000004", "4012888888881881"]


def luhn_ok(s):
    digits = [int(c) for c in s if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def secret_file(s):
    p = os.path.join(s.base, s.src + ".secret")
    with open(p, "wb") as f:
        f.write(bytes(random.Random(7).randrange(256) for _ in range(32)))
    os.chmod(p, 0o600)
    return p


def read_csv(path):
    with open(path) as f:
        return pd.read_csv(f, dtype=str, keep_default_na=False)


def test_fpe_mount_and_reveal(sandbox):
    s = sandbox()
    ids = ["%09d" % n for n in random.Random(1).sample(range(10**9), 300)]
    rows = ["id,card,acct,short"]
    for i, ident in enumerate(ids):
        rows.append("%s,%s,%s-%s,%s" % (ident, CARDS[i % len(CARDS)],
                                        ident[:4], ident[4:], ident[:3]))
    s.write("pay.csv", "\n".join(rows) + "\n")
    key = secret_file(s)
    s.write_config("source: @SRC@\nsecret: %s\ndatasets:\n"
                   "  pay.csv:\n    columns:\n"
                   "      id: fpe\n"
                   "      card: { method: fpe, luhn: true }\n"
                   "      acct: { method: fpe, group: accounts }\n"
                   "      short: fpe\n" % key)
    s.mount()
    try:
        df = read_csv(s.path("pay.csv"))
    finally:
        s.unmount()
    s.assert_clean_log()
    assert len(df) == len(ids)
    # Masked: no raw id, card or account anywhere in the view.
    raw = set(ids) | set(CARDS)
    assert not raw & set(df["id"]) and not raw & set(df["card"])
    assert not set(i[:4] + "-" + i[4:] for i in ids) & set(df["acct"])
    # Format kept, and a bijection: 300 distinct ids, 300 distinct tokens.
    assert all(len(t) == 9 and t.isdigit() for t in df["id"])
    assert df["id"].nunique() == len(ids)
    assert all(t[4] == "-" and len(t) == 10 for t in df["acct"])
    assert all(luhn_ok(c) and len(c) == len(CARDS[i % len(CARDS)])
               for i, c in enumerate(df["card"]))
    assert df["card"].nunique() == len(CARDS)
    # Three digits are too few for FF1: masked, not raw, not a token.
    assert set(df["short"]) == {"***"}

    # reveal: the holder of the secret file gets the raw values back.
    r = spotfs("reveal", "-c", s.config, "pay.csv", "id", *df["id"][:20])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:20] == ids[:20]
    r = spotfs("reveal", "-c", s.config, "pay.csv", "card", df["card"][0])
    assert r.returncode == 0 and r.stdout == CARDS[0] + "\n"
    # The dataset's file is not read: only the config and the secret file.
    os.rename(s.src + "/pay.csv", s.src + "/pay.csv.gone")
    try:
        r = spotfs("reveal", "-c", s.config, "pay.csv", "id", df["id"][0])
    finally:
        os.rename(s.src + "/pay.csv.gone", s.src + "/pay.csv")
    assert r.returncode == 0 and r.stdout == ids[0] + "\n", r.stderr
    r = spotfs("reveal", "-c", s.config, "pay.csv", "acct", "-",
               input="\n".join(df["acct"][:5]) + "\n")
    assert r.returncode == 0
    assert r.stdout.split("\n")[:5] == [i[:4] + "-" + i[4:] for i in ids[:5]]
    # A masked short value is no token: an error naming its position only.
    r = spotfs("reveal", "-c", s.config, "pay.csv", "short", "***")
    assert r.returncode == 1 and "token 1" in r.stderr and "***" not in r.stderr
    # Not fpe, not a column: refused before any key is read.
    r = spotfs("reveal", "-c", s.config, "pay.csv", "nope", "123456")
    assert r.returncode == 1 and "not masked with fpe" in r.stderr

    # The audit log has who, the dataset, the column and how many tokens;
    # never a token or a value.
    r = spotfs("audit", "--json")
    assert r.returncode == 0, r.stderr
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    rev = [e for e in recs if e.get("event") == "reveal"]
    assert len(rev) == 5, rev
    assert rev[0]["path"] == "pay.csv" and rev[0]["rows"] == 20
    assert "column 'id'" in rev[0]["detail"]
    assert rev[0]["uid"] == os.getuid() and rev[0]["process"] == "spotfs reveal"
    text = r.stdout
    for v in ids[:20] + list(df["id"][:20]) + CARDS + list(df["card"][:1]):
        assert v not in text


def test_reveal_refused_with_random_secret(sandbox):
    s = sandbox()
    s.write("a.csv", "id\n123456789\n")
    s.write_config("source: @SRC@\nsecret: random\ndatasets:\n"
                   "  a.csv:\n    columns:\n      id: fpe\n")
    r = spotfs("reveal", "-c", s.config, "a.csv", "id", "987654321")
    assert r.returncode == 1 and "secret: random" in r.stderr
    assert r.stdout == ""


def test_check_names_dataset_and_column(sandbox):
    s = sandbox()
    s.write("a.csv", "id\n123456789\n")
    s.write_config("source: @SRC@\ndatasets:\n  a.csv:\n    columns:\n"
                   "      id: { method: fpe, luhn: true, alphabet: hex }\n")
    r = spotfs("check", "-c", s.config)
    assert r.returncode != 0
    assert "column 'id'" in r.stderr and "a.csv" in r.stderr
    assert "luhn needs alphabet: digits" in r.stderr


def join_counts(left, right, lkey, rkey):
    """Sorted row counts per key of an inner join."""
    j = left.merge(right, left_on=lkey, right_on=rkey)
    return sorted(j.groupby(lkey).size().tolist())


def test_group_join_through_mount(sandbox):
    rnd = random.Random(3)
    s = sandbox()
    emails = ["user%d@example.org" % i for i in range(60)]
    cust_ids = ["%08d" % rnd.randrange(10**8) for _ in emails]
    cust = ["email,cust_id,segment"] + [
        "%s,%s,%s" % (e, c, rnd.choice("abc"))
        for e, c in zip(emails, cust_ids)]
    orders = ["order_id,customer_email,customer_no,amount"]
    for n in range(400):
        i = rnd.randrange(len(emails) + 10)  # some orders match no one
        e = emails[i] if i < len(emails) else "ghost%d@example.org" % i
        c = cust_ids[i] if i < len(emails) else "%08d" % (90000000 + i)
        orders.append("%d,%s,%s,%d" % (n, e, c, rnd.randrange(1000)))
    s.write("customers.csv", "\n".join(cust) + "\n")
    s.write("orders.csv", "\n".join(orders) + "\n")
    s.write_config(
        "source: @SRC@\nsecret: %s\ndatasets:\n"
        "  customers.csv:\n    columns:\n"
        "      email: { method: hash, group: customer }\n"
        "      cust_id: { method: fpe, group: customer }\n"
        "      segment: keep\n"
        "  orders.csv:\n    columns:\n"
        "      customer_email: { method: hash, group: customer }\n"
        "      customer_no: { method: fpe, group: billing }\n"
        "      order_id: keep\n      amount: keep\n" % secret_file(s))
    raw_c = pd.read_csv(io.StringIO("\n".join(cust)), dtype=str)
    raw_o = pd.read_csv(io.StringIO("\n".join(orders)), dtype=str)
    s.mount()
    try:
        mc = read_csv(s.path("customers.csv"))
        mo = read_csv(s.path("orders.csv"))
    finally:
        s.unmount()
    s.assert_clean_log()
    assert not set(emails) & (set(mc["email"]) | set(mo["customer_email"]))
    want = join_counts(raw_c, raw_o, "email", "customer_email")
    assert len(want) > 40 and sum(want) > 300
    # Same group under different column names: the same join.
    assert join_counts(mc, mo, "email", "customer_email") == want
    # Different groups (customer vs billing): unlinkable on purpose, while
    # the raw ids do join.
    assert join_counts(raw_c, raw_o, "cust_id", "customer_no") == want
    assert join_counts(mc, mo, "cust_id", "customer_no") == []


def test_reveal_usage():
    r = spotfs("reveal", "--help")
    assert r.returncode == 0 and "usage: spotfs reveal" in r.stdout
    assert spotfs("reveal", "a.csv", "id").returncode == 2
    assert "reveal" in spotfs("--help").stdout


FW = str.maketrans("0123456789", "０１２３４５６７８９")
AR = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def test_digits_and_letters_outside_ascii_are_never_served_raw(sandbox):
    """fpe and scramble used to keep every byte outside ASCII: an id in
    fullwidth or Arabic-Indic digits, or the accented letters of a name,
    were served as they were. Now other scripts' digits are encrypted as
    digits (the same token as the ASCII value) and any other character
    outside ASCII is masked."""
    s = sandbox()
    ids = ["%09d" % (123456789 + 7919 * i) for i in range(40)]
    names = ["Zoë Ñúñez", "Jürgen Weiß", "Åsa Øberg", "Émile Çelik"]
    rows = ["n,ascii,wide,arabic,name"]
    for i, v in enumerate(ids):
        rows.append("%d,%s,%s,%s,%s" % (i, v, v.translate(FW),
                                        v.translate(AR),
                                        names[i % len(names)]))
    s.write("p.csv", "\n".join(rows) + "\n")
    s.write_config("source: @SRC@\nsecret: random\ndatasets:\n"
                   "  p.csv:\n    columns:\n      n: keep\n"
                   "      ascii: fpe\n      wide: fpe\n      arabic: fpe\n"
                   "      name: scramble\n")
    s.mount()
    raw = open(s.path("p.csv"), "rb").read()
    assert raw.isascii(), "every byte served is ASCII"
    for v in ids:
        for form in (v, v.translate(FW), v.translate(AR)):
            assert form.encode() not in raw
    for n in names:
        for part in n.split():
            assert part.encode() not in raw
    df = read_csv(s.path("p.csv"))
    assert (df["wide"] == df["ascii"]).all() and \
        (df["arabic"] == df["ascii"]).all(), \
        "other scripts' digits give the ASCII value's token"
    assert (df["ascii"] != pd.Series(ids)).all()
    assert all(len(x) == len(n) for x, n in
               zip(df["name"], [names[i % 4] for i in range(40)]))

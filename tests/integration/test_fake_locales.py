# SPDX-License-Identifier: LGPL-2.1-or-later
"""The fake method's locales (en, de, fr, es) and kinds (date, iban, ipv4,
uuid and the older ones) through a real mount, read with pandas (issue 13).

One CSV has a column per locale and kind, all holding raw values that the
fake method can never make (so a raw value anywhere in the served bytes is
a leak); the test checks each served column's format independently of the
C code (IBAN mod 97, UUID version 4, calendar dates, IPv4 in 10.0.0.0/8,
phone ranges kept for fiction), that equal raw values get equal fakes in
two datasets, and that hostile parameters are config errors naming the
accepted values."""
import datetime
import io
import ipaddress
import os
import random
import re
import uuid

import pandas as pd
import pytest

from conftest import spotfs

LOCALES = ["en", "de", "fr", "es"]
KINDS = ["name", "first_name", "last_name", "email", "phone", "city",
         "company", "address", "ssn", "date", "iban", "ipv4", "uuid"]
ROWS = 300


def raw_value(kind, i, rnd):
    """A raw value of the kind that no fake value can equal or contain."""
    return {
        "name": "Rawfirst%d Rawlast%d" % (i, i),
        "first_name": "Rawfirst%d" % i,
        "last_name": "Rawlast%d" % i,
        "email": "raw.person%d@corp.test" % i,
        "phone": "+1 202 %07d" % (4000000 + i),
        "city": "Rawcity%d" % i,
        "company": "Rawco %d Holdings" % i,
        "address": "%d Rawstreet Road" % (1000 + i),
        "ssn": "123-45-%04d" % (1000 + i),
        "date": (datetime.date(2015, 1, 1) +
                 datetime.timedelta(days=i)).isoformat(),
        "iban": "NL%02dRAWB%010d" % (10 + i % 80, i),
        "ipv4": "203.0.113.%d" % (i % 250 + 1) if i < 250 else
                "198.51.100.%d" % (i - 249),
        "uuid": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
    }[kind]


def iban_ok(s):
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", s):
        return False
    r = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in r)) % 97 == 1


IBAN = {  # country, length, BBAN shape
    "en": ("GB", 22, r"[A-Z]{4}\d{14}"),
    "de": ("DE", 22, r"\d{18}"),
    "fr": ("FR", 27, r"\d{23}"),
    "es": ("ES", 24, r"\d{20}"),
}

PHONE = {
    "en": r"\([2-9]\d\d\) 555-01\d\d",
    "de": r"(030 23125|069 90009|040 66969|0221 4710|089 99998)\d{3}",
    "fr": r"(01 99 00|02 61 91|03 53 01|04 65 71|05 36 49|06 39 98) \d\d \d\d",
    "es": r"555 01\d \d{3}",
}

COMPANY_SUFFIX = {
    "en": ("Inc", "LLC", "Ltd", "Co", "Group"),
    "de": ("GmbH", "AG", "KG", "GmbH & Co. KG", "e.K."),
    "fr": ("SARL", "SA", "SAS", "EURL", "SNC"),
    "es": ("S.L.", "S.A.", "S.L.U.", "S.Coop."),
}


def check_value(kind, loc, v):
    """Why v is not a plausible fake of the kind in the locale, or None."""
    if not v or any(ord(c) < 0x20 for c in v):
        return "empty or a control character"
    if kind == "date":
        d = datetime.date.fromisoformat(v)  # raises on a non-date
        ok = (re.fullmatch(r"\d{4}-\d\d-\d\d", v) and
              datetime.date(1940, 1, 1) <= d <= datetime.date(2005, 12, 31))
        return None if ok else "not a date in 1940..2005"
    if kind == "iban":
        cc, n, bban = IBAN[loc]
        ok = (iban_ok(v) and v.startswith(cc) and len(v) == n and
              re.fullmatch(bban, v[4:]))
        return None if ok else "not a valid %s IBAN" % cc
    if kind == "ipv4":
        a = ipaddress.IPv4Address(v)
        ok = (a in ipaddress.IPv4Network("10.0.0.0/8") and not a.is_global
              and str(a) == v and 1 <= int(v.split(".")[3]) <= 254)
        return None if ok else "not in 10.0.0.0/8"
    if kind == "uuid":
        u = uuid.UUID(v)
        ok = (str(u) == v and u.version == 4 and
              u.variant == uuid.RFC_4122)
        return None if ok else "not a version 4 UUID"
    if kind == "phone":
        return None if re.fullmatch(PHONE[loc], v) else "phone layout"
    if kind == "ssn":
        return None if re.fullmatch(r"9\d\d-(?!00)\d\d-(?!0000)\d{4}", v) \
            else "ssn layout"
    if kind == "email":
        return None if re.fullmatch(r"[a-z0-9]+\.[a-z0-9]+\d\d@example\."
                                    r"(com|net|org)", v) else "email layout"
    if kind == "company":
        return None if v.endswith(tuple(" " + s for s in
                                        COMPANY_SUFFIX[loc])) \
            else "company suffix"
    if kind == "address":
        pat = {"en": r"[1-9]\d* \S+ \S+", "de": r"\S+ [1-9]\d*",
               "fr": r"[1-9]\d* \S+ .+", "es": r"\S+ .+, [1-9]\d*"}[loc]
        return None if re.fullmatch(pat, v) else "address layout"
    if kind in ("name", "first_name", "last_name", "city"):
        words = {"name": 3 if loc == "es" else 2,
                 "last_name": 2 if loc == "es" else 1}.get(kind, 1)
        return None if len(v.split(" ")) == words and v[0].isupper() \
            else "word count or case"
    return "unknown kind"


LUA = """
columns = {
  who = function(v) return mask.fake(v, { kind = 'name', locale = 'de' }) end,
  acct = function(v)
    return mask.fake(v, { kind = 'iban', locale = 'es' })
  end,
}
"""


def rule(kind, loc):
    return "{ method: fake, kind: %s, locale: %s }" % (kind, loc)


def make(sandbox, tmp_path, name="fk"):
    rnd = random.Random(13)
    raws = {k: [raw_value(k, i, rnd) for i in range(ROWS)] for k in KINDS}
    cols = ["id"] + ["%s_%s" % (k, l) for l in LOCALES for k in KINDS]
    df = pd.DataFrame({c: [str(i) for i in range(ROWS)] if c == "id" else
                       raws[c.rsplit("_", 1)[0]] for c in cols})
    s = sandbox(name)
    s.write("people.csv", df.to_csv(index=False))
    # the same raw values, other order, other column names
    order = list(range(ROWS))
    rnd.shuffle(order)
    again = pd.DataFrame({
        "who": [raws["name"][i] for i in order],
        "mail": [raws["email"][i] for i in order],
        "acct": [raws["iban"][i] for i in order],
        "born": [raws["date"][i] for i in order],
        "born_2020": [raws["date"][i] for i in order],
    })
    s.write("again.csv", again.to_csv(index=False))
    s.write("lua.csv", again[["who", "acct"]].to_csv(index=False))
    pol = tmp_path / (name + ".lua")
    pol.write_text(LUA)
    secret = tmp_path / (name + ".secret")
    secret.write_bytes(os.urandom(32))
    os.chmod(secret, 0o600)
    lines = ["source: @SRC@", "secret: %s" % secret, "datasets:",
             "  people.csv:", "    columns:", "      id: keep"]
    lines += ["      %s_%s: %s" % (k, l, rule(k, l))
              for l in LOCALES for k in KINDS]
    lines += ["  again.csv:", "    columns:",
              "      who: %s" % rule("name", "de"),
              "      mail: %s" % rule("email", "fr"),
              "      acct: %s" % rule("iban", "es"),
              "      born: { method: fake, kind: date }",
              "      born_2020: { method: fake, kind: date, "
              "min: 2020-01-01, max: 2020-12-31 }",
              "  lua.csv:", "    policy: %s" % pol]
    s.write_config("\n".join(lines) + "\n")
    return s, raws, order


def test_every_locale_and_kind_through_a_mount(sandbox, tmp_path):
    s, raws, order = make(sandbox, tmp_path)
    chk = spotfs("check", "-c", s.config)
    assert chk.returncode == 0, chk.stdout + chk.stderr
    s.mount()
    with open(s.path("people.csv"), encoding="utf-8") as f:
        text = f.read()
    served = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert len(served) == ROWS
    assert list(served["id"]) == [str(i) for i in range(ROWS)]

    # no raw value anywhere in the served bytes
    leaked = [v for k in KINDS for v in raws[k] if v in text]
    assert not leaked, "raw values served: %d" % len(leaked)

    bad = {}
    for loc in LOCALES:
        for kind in KINDS:
            col = served["%s_%s" % (kind, loc)]
            for v in col:
                why = check_value(kind, loc, v)
                if why:
                    bad.setdefault((kind, loc), (v, why))
            # deterministic per value: equal raw values, equal fakes;
            # distinct raw values mostly distinct fakes
            assert col.nunique() >= {"first_name": 60, "last_name": 60,
                                     "city": 60, "phone": 150}.get(
                                         kind, 200 if kind != "date" else
                                         250), (kind, loc, col.nunique())
    assert not bad, bad

    # locales give different fakes for the same raw value
    same = (served["name_en"] == served["name_de"]).sum()
    assert same < ROWS // 10, same


def test_same_fake_in_every_dataset(sandbox, tmp_path):
    s, raws, order = make(sandbox, tmp_path, "fk2")
    s.mount()
    people = pd.read_csv(s.path("people.csv"), dtype=str,
                         keep_default_na=False)
    again = pd.read_csv(s.path("again.csv"), dtype=str,
                        keep_default_na=False)
    assert len(again) == ROWS
    for j, i in enumerate(order):
        assert again["who"][j] == people["name_de"][i]
        assert again["mail"][j] == people["email_fr"][i]
        assert again["acct"][j] == people["iban_es"][i]
        assert again["born"][j] == people["date_en"][i]
        d = datetime.date.fromisoformat(again["born_2020"][j])
        assert datetime.date(2020, 1, 1) <= d <= datetime.date(2020, 12, 31)
    assert again["born_2020"].nunique() > 150
    # Lua's mask.fake takes the locale too, with the same result
    lua = pd.read_csv(s.path("lua.csv"), dtype=str, keep_default_na=False)
    assert list(lua["who"]) == list(again["who"])
    assert list(lua["acct"]) == list(again["acct"])
    with open(s.path("again.csv"), encoding="utf-8") as f:
        text = f.read()
    for k in ("name", "email", "iban", "date"):
        assert not [v for v in raws[k] if v in text], k


@pytest.mark.parametrize("params,accepted", [
    ("kind: name, locale: klingon", "en, de, fr, es"),
    ("kind: passport", "date, iban, ipv4, uuid"),
    ("kind: name, locale: de, min: 2020-01-01", "kind date"),
    ("kind: date, min: 2021-02-29", "YYYY-MM-DD"),
    ("kind: date, min: 2021-01-02, max: 2021-01-01", "after"),
])
def test_hostile_parameters_are_config_errors(sandbox, tmp_path, params,
                                              accepted):
    s = sandbox("bad")
    s.write("p.csv", "id,name\n1,Alice Rawvalue\n")
    secret = tmp_path / "bad.secret"
    secret.write_bytes(os.urandom(32))
    os.chmod(secret, 0o600)
    s.write_config("source: @SRC@\nsecret: %s\ndatasets:\n  p.csv:\n"
                   "    columns:\n      id: keep\n"
                   "      name: { method: fake, %s }\n" % (secret, params))
    chk = spotfs("check", "-c", s.config)
    out = chk.stdout + chk.stderr
    assert chk.returncode != 0, out
    assert accepted in out, out
    assert "Rawvalue" not in out  # never a row value
    p = s.mount(wait=False)  # and the mount fails closed

    assert p.wait(timeout=30) != 0
    assert not os.path.ismount(s.mnt)

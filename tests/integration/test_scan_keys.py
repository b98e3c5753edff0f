# SPDX-License-Identifier: LGPL-2.1-or-later
"""spotfs scan on JSON Lines keys that are data (round 7): keys that are
names, dates, numbers, addresses, or one of many keys of one object are
summarised by one rule on their parent (`votes.*`) and never written to
the config, --json or messages; the config still passes check --strict,
mounts and masks the values under those keys."""
import json

from conftest import spotfs

DATA_KEYS = ("Jasmine Payne", "Robert Stone", "1984-07-23", "123456789",
             "www.y.example", "https://x.example", "key-17", "k39")


def records(n=30):
    out = []
    for i in range(n):
        out.append({
            "id": i,
            "votes": {"Jasmine Payne": "jp%d@example.org" % i,
                      "Robert Stone": "rs%d@example.org" % i},
            "seen": {"1984-07-23": "x"},
            "acct": {"123456789": {"balance": 3}},
            "hosts": {"https://x.example": 1, "www.y.example": 2},
            # a map of many identifier-shaped keys
            "cnt": {"key-%d" % j: j for j in range(40)},
            "user": {"email": "u%d@example.org" % i, "home_city": "Berlin"},
            "messages": [{"role": "user", "content": "hi there"}],
        })
    return "".join(json.dumps(r) + "\n" for r in out)


def test_scan_summarises_jsonl_keys_that_are_data(sandbox):
    s = sandbox()
    s.write("v.jsonl", records())
    r = spotfs("scan", s.src, "-o", s.config, "--json")
    assert r.returncode == 0, r.stderr
    cfg = open(s.config).read()
    text = cfg + r.stdout + r.stderr
    leaked = [k for k in DATA_KEYS if k in text]
    assert not leaked, "data keys written: %s\n%s" % (leaked, cfg)
    cols = {c["name"]: c for c in
            json.loads(r.stdout)["datasets"][0]["tables"][0]["columns"]}
    # one rule per parent, the keys counted, never named
    assert cols["votes.*"]["data_keys"] == 2, cols["votes.*"]
    assert cols["votes.*"]["keep"] is False
    assert cols["seen.*"]["data_keys"] == 1
    assert cols["acct.*"]["data_keys"] == 1  # acct.123456789.balance
    assert cols["hosts.*"]["data_keys"] == 2
    assert cols["cnt.*"]["data_keys"] == 40
    # keys that are a schema stay spelled out, one rule each
    for name in ("id", "user.email", "user.home_city", "messages[].role",
                 "messages[].content"):
        assert cols[name]["data_keys"] == 0, name
    assert '"votes.*": {' in cfg and "keys that look like data" in cfg
    chk = spotfs("check", "--strict", "-c", s.config)
    assert chk.returncode == 0, chk.stdout + chk.stderr
    s.mount()
    with open(s.path("v.jsonl")) as f:
        served = [json.loads(x) for x in f]
    assert len(served) == 30
    # the values under the data keys are masked by the parent's rule
    dump = json.dumps(served)
    raw = [v for i in range(30) for v in ("jp%d@" % i, "rs%d@" % i,
                                          "u%d@" % i) if v in dump]
    assert not raw, raw
    # keys are served as they are (README): only their rule is summarised
    assert set(served[0]["votes"]) == {"Jasmine Payne", "Robert Stone"}


def test_scan_top_level_data_keys_get_a_rule_that_is_never_keep(sandbox):
    """A record keyed by dates at its top level: one `*` rule, which would
    cover every top-level field no other rule names, so it masks."""
    s = sandbox()
    s.write("t.jsonl", "".join(json.dumps(
        {"id": i, "2024-01-%02d" % (i + 1): i}) + "\n" for i in range(20)))
    r = spotfs("scan", s.src, "-o", s.config, "--json")
    assert r.returncode == 0, r.stderr
    cfg = open(s.config).read()
    assert "2024-01" not in cfg + r.stdout + r.stderr, cfg
    cols = {c["name"]: c for c in
            json.loads(r.stdout)["datasets"][0]["tables"][0]["columns"]}
    assert cols["*"]["data_keys"] == 20 and cols["*"]["keep"] is False
    assert cols["id"]["keep"] is True
    chk = spotfs("check", "--strict", "-c", s.config)
    assert chk.returncode == 0, chk.stdout + chk.stderr
    s.mount()
    with open(s.path("t.jsonl")) as f:
        served = [json.loads(x) for x in f]
    assert served[3]["id"] == 3 and served[3]["2024-01-04"] != 3


def test_scan_leaves_out_jsonl_with_a_nested_pii_key(sandbox):
    """A nested key the PII detectors read (an IPv6 address, an e-mail)
    is refused by the view, so scan leaves the file out, without the
    key."""
    s = sandbox()
    s.write("h.jsonl", json.dumps({"id": 1, "hits": {"2001:db8::1": 5}})
            + "\n")
    r = spotfs("scan", s.src, "-o", s.config, "--json")
    assert r.returncode == 0, r.stderr
    text = open(s.config).read() + r.stdout + r.stderr
    assert "2001:db8" not in text
    assert "a key looks like" in text, text

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Differential privacy through a real mount: DP aggregates served as
_dp/DATASET/NAME.csv (and .parquet), read with pandas and DuckDB; the
epsilon ledger charged on a role's first open, refusing with EDQUOT past
the budget (as another uid), free on reopen, audited and shown by status
and the manifest; a file's size hidden until it is charged; DP synthetic
tables with the right rows, no source row in them, and marginals close to
the source's; spotfs check's cost; bad configs refused with clear
errors."""
import errno
import json
import os
import random
import subprocess

import pytest

from conftest import duck, needs_duckdb, spotfs

REGIONS = ["north", "south", "east", "west"]
PLANS = ["free", "pro", "team"]


def people(n, seed=7, other=0.1):
    rnd = random.Random(seed)
    rows = ["id,email,region,age,income,plan,signup"]
    for i in range(n):
        region = REGIONS[i % 4] if rnd.random() >= other else "elsewhere"
        age = rnd.randint(18, 90)
        # plan depends strongly on region: a pair the synthetic keeps
        plan = PLANS[(REGIONS.index(region) if region in REGIONS else 0) %
                     3] if rnd.random() < 0.8 else rnd.choice(PLANS)
        rows.append("%d,user%06d@example.org,%s,%d,%d,%s,2021-%02d-%02d" %
                    (i, i, region, age, rnd.randint(0, 250000), plan,
                     rnd.randint(1, 12), rnd.randint(1, 28)))
    return "\n".join(rows) + "\n"


def truth(text):
    import csv
    import io
    return list(csv.DictReader(io.StringIO(text)))


AGGS = """    aggregates:
      rows: { kind: count, epsilon: 0.1 }
      by_region: { kind: count, by: { region: [north, south, east, west] },
                   epsilon: 0.2, min_count: 5 }
      income: { kind: mean, column: income, bounds: [0, 200000], epsilon: 0.2 }
      total: { kind: sum, column: income, bounds: [0, 200000],
               by: { region: [north, south, east, west] }, epsilon: 0.2 }
      ages: { kind: histogram, column: age, bins: [18, 30, 50, 65, 91],
              epsilon: 0.3 }
      plans: { kind: histogram, column: plan, categories: [free, pro, team],
               epsilon: 0.5, mechanism: gaussian, delta: 1e-6 }
"""


def make(sandbox, n=2000, budget="per_role: 0.5, per_sandbox: 3",
         extra="", aggs=AGGS, as_="", top="", other=0.1):
    s = sandbox()
    text = people(n, other=other)
    s.write("people.csv", text)
    s.write_config(
        "source: @SRC@\n" + top +
        "roles:\n  agent:\n    users: [nobody]\n"
        "dp_budget: { %s }\n"
        "datasets:\n  people.csv:\n%s"
        "    columns: { id: keep, email: hash, region: keep, age: keep,\n"
        "               income: keep, plan: keep, signup: keep }\n%s%s"
        % (budget, as_, aggs, extra))
    s.mount()
    return s, truth(text)


OPENER = ("import sys, errno, os\n"
          "try:\n"
          "    st = os.stat(sys.argv[1]).st_size\n"
          "    with open(sys.argv[1], 'rb') as f:\n"
          "        data = f.read()\n"
          "    print('ok', st, len(data), os.stat(sys.argv[1]).st_size)\n"
          "    sys.stdout.write(data.decode(errors='replace'))\n"
          "except OSError as e:\n"
          "    print(errno.errorcode.get(e.errno, e.errno))\n")


def open_as(uid, path):
    cmd = ["/usr/bin/python3", "-c", OPENER, path]
    if uid != 0:
        cmd = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
               "--clear-groups"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    first, _, rest = r.stdout.partition("\n")
    return first.split(), rest


def dp_events():
    r = spotfs("audit", "--json")
    evs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    return [e for e in evs if e["event"] == "dp_charge"]


def test_aggregates_through_pandas_are_noisy_near_the_truth(sandbox):
    import pandas as pd
    s, rows = make(sandbox, n=4000, budget="per_role: 5")
    names = sorted(os.listdir(s.path("_dp/people.csv")))
    assert names == sorted(
        [a + e for a in ("rows", "by_region", "income", "total", "ages",
                         "plans") for e in (".csv", ".json")])
    assert "_dp" in os.listdir(s.path())
    n = len(rows)
    df = pd.read_csv(s.path("_dp/people.csv/rows.csv"))
    assert list(df.columns) == ["count"] and len(df) == 1
    # epsilon 0.1: Laplace scale 10; 200 is 20 scales (p ~ 2e-9).
    assert abs(int(df["count"][0]) - n) < 200
    by = pd.read_csv(s.path("_dp/people.csv/by_region.csv"))
    # The declared domain, in its order, whatever the data holds.
    assert list(by["region"]) == REGIONS
    for reg, cnt in zip(by["region"], by["count"]):
        true = sum(1 for r in rows if r["region"] == reg)
        assert abs(int(cnt) - true) < 100
    mean = pd.read_csv(s.path("_dp/people.csv/income.csv"))
    true_mean = sum(min(int(r["income"]), 200000) for r in rows) / n
    assert abs(float(mean["mean"][0]) - true_mean) < 0.1 * true_mean
    ages = pd.read_csv(s.path("_dp/people.csv/ages.csv"))
    assert list(ages.columns) == ["age", "count"] and len(ages) == 4
    assert ages["age"][0].startswith("[18")
    plans = pd.read_csv(s.path("_dp/people.csv/plans.csv"))
    assert list(plans["plan"]) == PLANS
    meta = json.load(open(s.path("_dp/people.csv/plans.json")))
    assert meta["mechanism"] == "discrete_gaussian"
    assert float(meta["epsilon"]) == 0.5 and float(meta["delta"]) == 1e-6
    meta = json.load(open(s.path("_dp/people.csv/total.json")))
    assert meta["mechanism"] == "discrete_laplace" and meta["kind"] == "sum"
    # Rereading gives the same bytes: the noise cannot be averaged away.
    once = open(s.path("_dp/people.csv/by_region.csv")).read()
    for _ in range(3):
        assert open(s.path("_dp/people.csv/by_region.csv")).read() == once


@needs_duckdb
def test_aggregates_read_by_duckdb_csv_and_parquet(sandbox, tmp_path):
    s, rows = make(sandbox, n=3000, budget="per_role: 5",
                   as_="    as: [native, parquet]\n")
    got = duck(tmp_path, "SELECT region, count FROM read_csv_auto('%s') "
               "ORDER BY region" % s.path("_dp/people.csv/by_region.csv"))
    pq = duck(tmp_path, "SELECT region, count FROM read_parquet('%s') "
              "ORDER BY region" % s.path("_dp/people.csv/by_region.parquet"))
    assert [r[0] for r in got] == sorted(REGIONS)
    # The Parquet and the CSV are one release: the same noisy numbers.
    assert [[r[0], int(r[1])] for r in got] == [[r[0], int(r[1])] for r in pq]


def test_budget_refuses_a_second_uid_past_it_and_reopen_is_free(sandbox):
    s, _ = make(sandbox)
    before = len(dp_events())
    p = s.path("_dp/people.csv/")
    # Not charged yet: the size is hidden (0), as another uid sees it.
    res, _ = open_as(65534, p + "rows.csv")  # 0.1
    assert res[0] == "ok"
    assert res[1] == "0"          # the stat before the open
    assert int(res[2]) > 0        # the bytes, read after the charge
    assert res[3] == res[2]       # the size, once charged
    res2, _ = open_as(65534, p + "rows.csv")  # free: charged already
    assert res2[0] == "ok" and res2[1] == res2[2]
    assert open_as(65534, p + "by_region.csv")[0][0] == "ok"  # 0.3
    assert open_as(65534, p + "income.csv")[0][0] == "ok"     # 0.5
    # 0.5 spent of 0.5: anything more is refused, whatever its size.
    assert open_as(65534, p + "ages.csv")[0] == ["EDQUOT"]
    assert open_as(65534, p + "plans.csv")[0] == ["EDQUOT"]
    # ... but what was charged reads on, and statements are free.
    assert open_as(65534, p + "by_region.csv")[0][0] == "ok"
    assert open_as(65534, p + "ages.json")[0][0] == "ok"
    # Another role (root: the default role) has its own budget.
    assert open_as(0, p + "ages.csv")[0][0] == "ok"
    evs = dp_events()[before:]
    allow = [e for e in evs if e["decision"] == "allow"]
    deny = [e for e in evs if e["decision"] == "deny"]
    assert len([e for e in allow if e["role"] == "agent"]) == 3
    assert len(deny) == 2 and all(e["role"] == "agent" for e in deny)
    st = json.loads(spotfs("status", "--json", s.mnt).stdout)["dp"]
    agent = [r for r in st["roles"] if r["role"] == "agent"][0]
    assert agent["spent"] == 0.5 and agent["remaining"] == 0
    assert "dp budget: role agent spent 0.5, remaining 0" in \
        spotfs("status", s.mnt).stdout
    man = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         "cat", s.path(".spotfs/manifest.json")],
        capture_output=True, text=True, check=True).stdout
    m = json.loads(man)
    assert m["dp_budget"] == {"per_role": 0.5, "spent": 0.5, "remaining": 0}
    files = [f["file"] for f in m["datasets"][0]["dp"]]
    assert "_dp/people.csv/rows.csv" in files


def test_concurrent_first_opens_charge_once_and_never_pass_the_budget(sandbox):
    s, _ = make(sandbox, budget="per_role: 0.6")
    p = s.path("_dp/people.csv/")
    files = ["rows.csv", "by_region.csv", "income.csv", "total.csv",
             "ages.csv", "plans.csv"] * 3
    script = ("import sys, errno, concurrent.futures as cf\n"
              "def one(p):\n"
              "    try:\n"
              "        open(p,'rb').read(); return p.split('/')[-1]\n"
              "    except OSError as e:\n"
              "        return errno.errorcode[e.errno]\n"
              "with cf.ThreadPoolExecutor(8) as ex:\n"
              "    print('\\n'.join(ex.map(one, sys.argv[1:])))\n")
    r = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         "/usr/bin/python3", "-c", script] + [p + f for f in files],
        capture_output=True, text=True, timeout=120, check=True)
    got = set(r.stdout.split())
    cost = {"rows.csv": 0.1, "by_region.csv": 0.2, "income.csv": 0.2,
            "total.csv": 0.2, "ages.csv": 0.3, "plans.csv": 0.5}
    served = got - {"EDQUOT"}
    assert "EDQUOT" in got
    assert sum(cost[f] for f in served) <= 0.6 + 1e-9
    st = json.loads(spotfs("status", "--json", s.mnt).stdout)["dp"]
    agent = [x for x in st["roles"] if x["role"] == "agent"][0]
    assert abs(agent["spent"] - sum(cost[f] for f in served)) < 1e-9


def test_roles_draw_independent_noise(sandbox):
    s, rows = make(sandbox, budget="per_role: 5")
    p = s.path("_dp/people.csv/by_region.csv")
    root = open(p).read()
    res, agent = open_as(65534, p)
    assert res[0] == "ok"
    # Same truth, another role: other noise (4 cells, scale 5: equal by
    # chance with probability well under 1e-3).
    assert agent != root
    # A view is fixed within a sandbox: the source changing under it
    # releases nothing new.
    s.write("people.csv", people(2000, seed=8))
    assert open(p).read() == root


def test_persistent_ledger_spans_sandboxes_and_a_new_source_is_a_new_release(
        sandbox, tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(os.urandom(32))
    os.chmod(secret, 0o600)
    extra_top = "secret: %s\n" % secret

    def one(name, seed):
        s = sandbox(name)
        s.src = str(tmp_path / "shared-src")
        os.makedirs(s.src, exist_ok=True)
        if seed is not None:
            s.write("people.csv", people(2000, seed=seed))
        s.write_config(
            "source: @SRC@\n" + extra_top +
            "roles:\n  agent:\n    users: [nobody]\n"
            "dp_budget: { per_role: 0.35, ledger: persistent }\n"
            "datasets:\n  people.csv:\n"
            "    columns: { id: keep }\n" + AGGS)
        s.mount()
        return s

    a = one("a", 7)
    p = "_dp/people.csv/"
    first, body = open_as(65534, a.path(p + "by_region.csv"))  # 0.2
    assert first[0] == "ok"
    a.unmount()
    b = one("b", None)  # the same source and secret: the same release
    again, body2 = open_as(65534, b.path(p + "by_region.csv"))
    assert again[0] == "ok" and body2 == body  # free, identical
    st = json.loads(spotfs("status", "--json", b.mnt).stdout)["dp"]
    agent = [x for x in st["roles"] if x["role"] == "agent"][0]
    assert abs(agent["spent"] - 0.2) < 1e-9  # carried over
    # 0.2 + 0.2 > 0.35: the budget spans sandboxes.
    assert open_as(65534, b.path(p + "total.csv"))[0] == ["EDQUOT"]
    b.unmount()
    c = one("c", 8)  # the source changed: a new release, new noise
    res, body3 = open_as(65534, c.path(p + "by_region.csv"))
    assert res == ["EDQUOT"], res  # it costs again: 0.4 > 0.35
    c.unmount()


def test_release_is_never_copied_up_and_dp_folder_is_read_only(sandbox):
    s, _ = make(sandbox)
    p = s.path("_dp/people.csv/rows.csv")
    for flags in (os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC):
        with pytest.raises(OSError) as e:
            os.open(p, flags)
        assert e.value.errno in (errno.EPERM, errno.EACCES, errno.EROFS)
    assert oct(os.stat(p).st_mode & 0o777) == "0o444"


def test_failures_fail_closed_and_bad_configs_say_why(sandbox, tmp_path):
    s, _ = make(sandbox, aggs="""    aggregates:
      ghost: { kind: sum, column: nope, bounds: [0, 1], epsilon: 0.1 }
      rows: { kind: count, epsilon: 0.1 }
""")
    with pytest.raises(OSError) as e:
        open(s.path("_dp/people.csv/ghost.csv")).read()
    assert e.value.errno == errno.EIO
    assert open(s.path("_dp/people.csv/rows.csv")).read().startswith("count")
    chk = spotfs("check", "-c", s.config)
    assert chk.returncode != 0 and "nope" in chk.stdout
    bad = {
        "no budget": ("", "aggregates:\n      a: { kind: count, epsilon: 1 }",
                      "need a dp_budget"),
        "no bounds": ("dp_budget: { per_role: 1 }\n",
                      "aggregates:\n      a: { kind: sum, column: income, "
                      "epsilon: 1 }", "needs bounds"),
        "bad eps": ("dp_budget: { per_role: 1 }\n",
                    "aggregates:\n      a: { kind: count, epsilon: -1 }",
                    "epsilon"),
        "gauss big eps": ("dp_budget: { per_role: 9 }\n",
                          "aggregates:\n      a: { kind: count, epsilon: 2,"
                          " mechanism: gaussian, delta: 0.00001 }",
                          "gaussian"),
        "cycle": ("dp_budget: { per_role: 9 }\n",
                  "synthetic:\n      rows: 10\n      epsilon: 1\n"
                  "      columns: { a: [x, y], b: [x, y], c: [x, y] }\n"
                  "      pairs: [[a, b], [b, c], [c, a]]", "cycle"),
        "persistent needs file": (
            "dp_budget: { per_role: 1, ledger: persistent }\n",
            "aggregates:\n      a: { kind: count, epsilon: 1 }",
            "secret"),
    }
    for name, (top, ds, want) in bad.items():
        cfg = tmp_path / ("bad-%s.yaml" % name.replace(" ", "-"))
        cfg.write_text("source: %s\n%sdatasets:\n  people.csv:\n    %s\n"
                       % (s.src, top, ds))
        r = spotfs("check", "-c", str(cfg))
        assert r.returncode != 0, name
        assert want in (r.stdout + r.stderr).lower(), (name, r.stdout,
                                                       r.stderr)


def test_check_prints_each_release_and_the_cost(sandbox):
    s, _ = make(sandbox)
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "dp: _dp/people.csv/by_region.csv: epsilon 0.2" in r.stdout
    assert "every release together costs epsilon 1.5" in r.stdout
    assert "budget per role 0.5" in r.stdout
    assert "a role can read only part" in r.stdout


SYN = """    synthetic:
      rows: %d
      epsilon: 1
      columns:
        id: { generate: sequence }
        email: { generate: email }
        region: [north, south, east, west]
        plan: [free, pro, team]
        age: { bins: { from: 18, to: 91, count: 8 } }
        signup: { dates: { from: 2021-01-01, to: 2022-01-01, count: 12 } }
      pairs: [[region, plan]]
"""


def test_synthetic_table_rows_marginals_and_no_source_row(sandbox):
    import pandas as pd
    # Every region in the declared domain: a row outside it counts in no
    # cell, and the pair would then miss its plans (a real gap, shown by
    # the report, but not what this test measures).
    s, rows = make(sandbox, n=100000, budget="per_role: 5",
                   extra=SYN % 100000, other=0)
    assert "people.synthetic.csv" in os.listdir(s.path())
    df = pd.read_csv(s.path("people.synthetic.csv"))
    assert len(df) == 100000
    assert list(df.columns) == ["id", "email", "region", "plan", "age",
                                "signup"]
    src_emails = {r["email"] for r in rows}
    assert not src_emails & set(df["email"])
    src_rows = {(r["email"], r["region"], r["plan"]) for r in rows}
    assert not src_rows & set(zip(df["email"], df["region"], df["plan"]))
    assert set(df["region"]) <= set(REGIONS)
    assert df["age"].between(18, 91).all()
    # The pair's dependency survives: P(plan | region) close to the source.
    # epsilon 1 over 3 measured marginals: Laplace scale 3 per cell of
    # ~25,000 rows (noise ~1e-4 of a share); sampling 100,000 rows: a
    # share's standard error under 0.004. 0.03 is over 7 of those.
    src = pd.DataFrame(rows)
    src = src[src["region"].isin(REGIONS)]
    for reg in REGIONS:
        a = src[src.region == reg].plan.value_counts(normalize=True)
        b = df[df.region == reg].plan.value_counts(normalize=True)
        for p in PLANS:
            assert abs(a.get(p, 0) - b.get(p, 0)) < 0.03, (reg, p)
    meta = json.load(open(s.path("people.synthetic.json")))
    assert meta["rows"] == 100000
    # The same table every read.
    assert open(s.path("people.synthetic.csv")).read() == \
        open(s.path("people.synthetic.csv")).read()
    # The utility report, from the live sandbox: distances only.
    r = spotfs("report", "--synthetic", "people.csv", "--role", "default",
               "--mount", s.mnt, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [l.split() for l in r.stdout.splitlines()[1:] if l.strip()]
    tv = {" ".join(l[:-1]): float(l[-1]) for l in lines}
    assert set(tv) >= {"region", "plan", "age", "signup"}
    # Each distance: the noise (~3 x cells / 90,000) plus sampling
    # (~sqrt(cells / 100,000)); under 0.03 for these 4 to 12 cells.
    assert all(0 <= v < 0.03 for v in tv.values()), tv
    assert "user0" not in r.stdout  # no value, ever
    local = spotfs("report", "--synthetic", "people.csv", "-c", s.config,
                   timeout=300)
    assert local.returncode == 0, local.stderr


def test_export_charges_the_exporter_not_the_daemon(sandbox, tmp_path):
    s, _ = make(sandbox, top="export: {}\n", budget="per_role: 0.3")
    p = s.path("_dp/people.csv/")
    # Exporting a release reads it for the exporter's role (root: the
    # default role): charged once, like a read, never to anyone else.
    r = spotfs("export", p + "by_region.csv", str(tmp_path / "a.csv"))
    assert r.returncode == 0, r.stdout + r.stderr
    body = open(p + "by_region.csv").read()  # charged already: free
    assert open(tmp_path / "a.csv").read() == body
    st = json.loads(spotfs("status", "--json", s.mnt).stdout)["dp"]
    assert abs(st["spent"] - 0.2) < 1e-9
    # Past the budget the export is refused and nothing is copied.
    r = spotfs("export", p + "total.csv", str(tmp_path / "b.csv"))
    assert r.returncode != 0 and "quota" in r.stderr.lower(), r.stderr
    assert not os.path.exists(tmp_path / "b.csv")
    st = json.loads(spotfs("status", "--json", s.mnt).stdout)["dp"]
    assert abs(st["spent"] - 0.2) < 1e-9

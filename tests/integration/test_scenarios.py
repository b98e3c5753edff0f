# SPDX-License-Identifier: LGPL-2.1-or-later
"""The scenarios of examples/ (issue 16), run as a user would run them: a
notebook, a container job, a CI job. Each must do what its README promises,
and leave nothing behind."""
import csv
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import (HAVE_DUCKDB, ROOT, SPOTFS, bwrap_unusable, spotfs,
                      tree_digest)

EXAMPLES = os.path.join(ROOT, "examples")
DATA = os.path.join(EXAMPLES, "data")
RAW_EMAILS = {r["email"] for r in csv.DictReader(
    open(os.path.join(DATA, "customers.csv")))}


def no_spotfs_mount_under(prefix):
    with open("/proc/self/mountinfo") as f:
        return not [l for l in f if " fuse.spotfs " in l
                    and l.split()[4].startswith(prefix)]


def live_ids():
    return {s["id"] for s in json.loads(spotfs("list", "--json").stdout)}


def test_notebook(tmp_path):
    before = tree_digest(DATA)
    out = tmp_path / "results"
    r = subprocess.run([os.path.join(EXAMPLES, "notebook", "run"), SPOTFS,
                        str(out)], capture_output=True, text=True,
                       timeout=300, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "customers: 300 rows" in r.stdout
    assert "crm users: 300 rows" in r.stdout
    assert "joined orders: 600 of 600" in r.stdout  # hashes join
    rev = list(csv.DictReader(open(out / "revenue_by_country.csv")))
    assert sorted(x["country"] for x in rev) == ["DE", "FR", "NL", "SE",
                                                 "US"]
    assert sum(int(x["count"]) for x in rev) == 600
    raw_total = sum(float(o["amount"]) for o in csv.DictReader(
        open(os.path.join(DATA, "orders.csv"))))
    assert abs(sum(float(x["sum"]) for x in rev) - raw_total) < 0.01
    if HAVE_DUCKDB:
        assert "duckdb: 12 months from orders.parquet" in r.stdout
        months = list(csv.DictReader(open(out / "orders_by_month.csv")))
        assert sum(int(m["orders"]) for m in months) == 600
    else:
        assert "duckdb: skipped" in r.stdout
    # nothing raw in what came out, the source untouched, nothing left
    for f in out.iterdir():
        text = f.read_text()
        assert not [e for e in RAW_EMAILS if e in text], f
    assert tree_digest(DATA) == before
    assert no_spotfs_mount_under("/tmp/spotfs-notebook.")


def test_container(tmp_path):
    why = bwrap_unusable()
    if why:
        pytest.skip(why)
    r = subprocess.run([os.path.join(EXAMPLES, "container", "run"), SPOTFS],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    # the manifest lists every dataset of the example config the default
    # role may open (none of them has an allow: list), no more, no fewer
    yaml = pytest.importorskip("yaml")
    cfg = yaml.safe_load(open(os.path.join(EXAMPLES, "sandbox.yaml")))
    shown = [d for d, s in cfg["datasets"].items() if "allow" not in s]
    assert len(shown) >= 4  # customers, orders, hr/payroll, support.jsonl
    assert ("job: uid 65534, role default, %d datasets" % len(shown)
            in r.stdout), r.stdout
    assert "job: /data read-only, no network" in r.stdout
    first = r.stdout.split("first email ")[1].split()[0]
    assert first not in RAW_EMAILS and "@" not in first
    report = r.stdout.split("(in the overlay):\n")[1]
    assert sum(int(l.split()[1]) for l in report.splitlines()
               if l[:2].isupper() and len(l.split()) == 2) == 300
    assert "source untouched" in r.stdout
    assert no_spotfs_mount_under("/tmp/spotfs-container.")


def test_agent(tmp_path):
    before = tree_digest(DATA)
    r = subprocess.run([os.path.join(EXAMPLES, "agent", "run"), SPOTFS],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    # The manifest first: the agent's role, its two datasets, not payroll.
    assert ("agent: role agent, 2 datasets in the manifest: customers.csv, "
            "orders.csv") in out, out
    assert "agent: customers.csv: read 300 rows" in out
    assert "agent: orders.csv: read 600 rows" in out
    assert "agent: hr/payroll.csv: refused (EACCES)" in out
    # epsilon 0.5: two releases of 0.2, the third refused.
    assert "agent: dp: 2 of 3 releases read" in out
    assert "refused: the epsilon budget is spent" in out
    assert "agent: dp budget now: spent 0.4, remaining 0.1" in out
    # 400K of reads: the masked customers (~30K) read a dozen times more.
    n = int(out.split("stopped by EDQUOT after ")[1].split()[0])
    assert 3 <= n <= 40, out
    assert "(exceeded)" in out and "dp budget: role agent spent 0.4" in out
    assert not [e for e in RAW_EMAILS if e in out]
    assert tree_digest(DATA) == before
    assert no_spotfs_mount_under("/tmp/spotfs-agent.")


def run_ci(tmp_path, suite=None, timeout=None, env_extra=None, **kw):
    env = dict(os.environ)
    if suite:
        p = tmp_path / "suite.py"
        p.write_text(suite)
        env["SUITE"] = str(p)
    if timeout:
        env["JOB_TIMEOUT"] = timeout
    env.update(env_extra or {})
    return subprocess.Popen([os.path.join(EXAMPLES, "ci", "job"), SPOTFS],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, **kw)


def sandbox_of(out):
    return out.split("sandbox ")[1].split()[0]


def assert_nothing_left(out, rc):
    assert "teardown: nothing left (sandbox %s, exit %d)" % (
        sandbox_of(out), rc) in out, out
    assert sandbox_of(out) not in live_ids()
    assert no_spotfs_mount_under("/tmp/spotfs-ci.")


def test_ci_job_success(tmp_path):
    p = run_ci(tmp_path)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, out + err
    assert "suite: 300 customers, 600 orders: ok" in out
    assert_nothing_left(out, 0)


def test_ci_job_failure(tmp_path):
    p = run_ci(tmp_path, suite="import sys\nprint('suite: failing')\n"
               "sys.exit(7)\n")
    out, err = p.communicate(timeout=300)
    assert p.returncode == 7, out + err
    assert_nothing_left(out, 7)


def test_ci_job_timeout(tmp_path):
    p = run_ci(tmp_path, suite="import time\ntime.sleep(600)\n",
               timeout="3s")
    out, err = p.communicate(timeout=300)
    assert p.returncode == 124, out + err  # timeout(1)'s status
    assert_nothing_left(out, 124)


def test_ci_job_cancelled(tmp_path):
    """The runner cancels the job (SIGTERM): the trap still tears down."""
    p = run_ci(tmp_path, suite="import time\nprint('suite: started', "
               "flush=True)\ntime.sleep(600)\n", start_new_session=True)
    deadline = time.time() + 120
    line = ""
    while "suite: started" not in line and time.time() < deadline:
        line += p.stdout.readline()
    assert "suite: started" in line, line
    os.kill(p.pid, signal.SIGTERM)  # the job's shell, as a runner would
    out, err = p.communicate(timeout=120)
    out = line + out
    assert p.returncode == 143, out + err
    assert_nothing_left(out, 143)


def test_ci_job_refuses_a_config_with_warnings(tmp_path):
    """check --strict gates the job: a warning fails it before mounting."""
    job = tmp_path / "ci"
    job.mkdir()
    for f in ("job", "suite.py"):
        os.symlink(os.path.join(EXAMPLES, "ci", f), job / f)
    (job / "sandbox.yaml").write_text(
        "source: %s\ndatasets:\n  customers.csv:\n"
        "    columns: { email: keep, id: keep }\n" % DATA)
    r = subprocess.run([str(job / "job"), SPOTFS], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "mounted on" not in r.stdout + r.stderr  # never mounted
    assert "teardown: nothing left (sandbox none, exit 1)" in r.stdout


# ---- deploy/kubernetes, validated offline ----

K8S = os.path.join(ROOT, "deploy", "kubernetes")
KINDS = {("v1", "ConfigMap"), ("v1", "Secret"), ("apps/v1", "DaemonSet"),
         ("batch/v1", "Job")}


def k8s_docs():
    yaml = pytest.importorskip("yaml")
    docs = {}
    for f in sorted(os.listdir(K8S)):
        if f.endswith(".yaml") and f != "kustomization.yaml":
            for d in yaml.safe_load_all(open(os.path.join(K8S, f))):
                docs[d["kind"]] = d
    return docs


def test_kubernetes_manifests_offline(tmp_path):
    """Structure and the properties the design depends on; the Kubernetes
    OpenAPI schemas themselves are not checked (kubectl needs a server)."""
    import base64
    docs = k8s_docs()
    assert {(d["apiVersion"], k) for k, d in docs.items()} == KINDS
    for d in docs.values():
        assert d["metadata"]["namespace"] == "spotfs"
    ds = docs["DaemonSet"]["spec"]
    assert ds["selector"]["matchLabels"] == ds["template"]["metadata"][
        "labels"]
    pod = ds["template"]["spec"]
    c = pod["containers"][0]
    assert c["securityContext"]["privileged"] is True
    assert not pod.get("hostNetwork") and not pod.get("hostPID")
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in pod["volumes"]}
    assert set(mounts) <= set(vols)
    assert mounts["host"]["mountPropagation"] == "Bidirectional"
    assert mounts["source"]["readOnly"] is True
    assert vols["fuse"]["hostPath"] == {"path": "/dev/fuse",
                                        "type": "CharDevice"}
    assert vols["config"]["configMap"]["name"] == \
        docs["ConfigMap"]["metadata"]["name"]
    assert vols["secret"]["secret"]["secretName"] == \
        docs["Secret"]["metadata"]["name"]
    assert vols["secret"]["secret"]["defaultMode"] == 0o400
    host = vols["host"]["hostPath"]["path"]
    job = docs["Job"]["spec"]["template"]["spec"]
    jc = job["containers"][0]
    assert job["securityContext"]["runAsNonRoot"] is True
    jm = {m["name"]: m for m in jc["volumeMounts"]}
    jv = {v["name"]: v for v in job["volumes"]}
    assert jm["sandbox"]["mountPropagation"] == "HostToContainer"
    assert jm["sandbox"]["readOnly"] is True
    assert jv["sandbox"]["hostPath"]["path"] == host + "/mnt/default"
    assert "privileged" not in jc.get("securityContext", {})
    # the ConfigMap's sandbox config is valid: spotfs check on the example
    # data, with the Secret's key as its secret file
    cfg = docs["ConfigMap"]["data"]["sandbox.yaml"]
    key = tmp_path / "key"
    key.write_bytes(base64.b64decode(docs["Secret"]["data"]["key"]))
    os.chmod(key, 0o600)
    assert 16 <= key.stat().st_size <= 4096
    p = tmp_path / "sandbox.yaml"
    p.write_text(cfg.replace("source: /data", "source: " + DATA)
                 .replace("/etc/spotfs/secret/key", str(key)))
    r = spotfs("check", "--strict", "-c", str(p))
    assert r.returncode == 0, r.stdout + r.stderr
    # the uid the Job runs as has the role the config allows
    uid = job["securityContext"]["runAsUser"]
    assert "users: [%d]" % uid in cfg
    if shutil.which("kubectl"):
        r = subprocess.run(["kubectl", "kustomize", K8S], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.count("\nkind: ") + r.stdout.startswith("kind:") \
            >= 4

# SPDX-License-Identifier: LGPL-2.1-or-later
"""spotfs export: the daemon reviews result files against what it read
(raw values of masked columns, personal data, small counts, copies of served
rows) and the CLI copies only on pass or an approved override; every export
is audited, never with contents; the destination is never written on a
refusal."""
import gzip
import json
import os

import pytest

from conftest import spotfs

PLANTED = "alice.smith@example.org"


def people():
    cities = ["Berlin", "Paris", "Madrid", "Rome"]
    rows = ["id,name,email,city"]
    for i in range(100):
        email = PLANTED if i == 7 else "user%03d@example.org" % i
        rows.append("%d,Person %03d,%s,%s" % (i + 1, i, email, cities[i % 4]))
    return "\n".join(rows) + "\n"


def config(extra=""):
    # Export is off unless the config has an export: section.
    if "export:" not in extra:
        extra += "export: {}\n"
    return ("source: @SRC@\nroles:\n  steward:\n    users: [@STEWARD@]\n"
            "datasets:\n  people.csv:\n    columns:\n      id: keep\n"
            "      name: hash\n      email: hash\n      city: keep\n" + extra)


def mounted(sandbox, steward="nobody", extra=""):
    s = sandbox()
    s.write("people.csv", people())
    s.write_config(config(extra).replace("@STEWARD@", steward))
    s.mount()
    with open(s.path("people.csv")) as f:  # builds the view: the sets fill
        served = f.read()
    assert PLANTED not in served
    os.makedirs(s.path("out"), exist_ok=True)
    return s, served


def put(s, rel, text):
    p = s.path(rel)
    with open(p, "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)
    return p


def export(*args):
    r = spotfs("export", "--json", *args)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        out = None
    return r, out


def kinds(out):
    return sorted({f["kind"] for f in out["findings"]})


def sandbox_id(s):
    r = spotfs("list", "--json", "--all")
    for e in json.loads(r.stdout):
        if e.get("mountpoint") == os.path.realpath(s.mnt):
            return e["id"]
    raise AssertionError("not listed")


def export_events(s):
    r = spotfs("audit", "--sandbox", sandbox_id(s), "--json")
    assert r.returncode == 0, r.stderr
    evs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    return [e for e in evs if e["event"] == "export"], r.stdout


def test_clean_aggregate_passes_and_is_audited(sandbox, tmp_path):
    s, _ = mounted(sandbox)
    body = "city,count\nBerlin,25\nParis,25\nMadrid,25\nRome,25\n"
    put(s, "out/agg.csv", body)
    dest = str(tmp_path / "agg.csv")
    r, out = export("--reason", "quarterly report", s.path("out/agg.csv"),
                    dest)
    assert r.returncode == 0, r.stderr
    assert out["verdict"] == "pass" and out["copied"] and not out["findings"]
    with open(dest) as f:
        assert f.read() == body
    evs, _ = export_events(s)
    # An overlay path is recorded as its ovl: digest, never in plaintext.
    files = [e for e in evs if e["path"].startswith("ovl:")]
    assert len(files) == 1 and "agg" not in files[0]["path"]
    assert files[0]["bytes"] == len(body)
    assert files[0]["decision"] == "pass"
    assert files[0]["reason"] == "quarterly report"
    assert "blake2b=" + out["files"][0]["blake2b"] in files[0]["detail"]
    summary = [e for e in evs if e["path"] == ""]
    assert summary and summary[-1]["decision"] == "pass"


@pytest.mark.parametrize("variant", [
    PLANTED,
    PLANTED.upper(),
    "  " + PLANTED + "  ",
    '"' + PLANTED + '"',
    "contact: " + PLANTED + ".",
])
def test_planted_raw_value_refused_without_the_value(sandbox, tmp_path,
                                                     variant):
    s, _ = mounted(sandbox)
    put(s, "out/res.csv", "k,v\na,1\nb,%s\n" % variant)
    dest = str(tmp_path / "res.csv")
    r, out = export(s.path("out/res.csv"), dest)
    assert r.returncode == 1
    assert out["verdict"] == "findings" and not out["copied"]
    raw = [f for f in out["findings"] if f["kind"] == "raw_value"]
    assert raw and raw[0]["line"] == 3 and raw[0]["column"] == 2
    assert raw[0]["path"] == "out/res.csv"
    assert not os.path.exists(dest)
    # No temporary copy left either.
    assert not [n for n in os.listdir(str(tmp_path)) if "res.csv" in n]
    # The value is nowhere: not in the output, not in the audit log.
    assert PLANTED not in (r.stdout + r.stderr).lower()
    _, log = export_events(s)
    assert PLANTED not in log.lower()
    r = spotfs("export", s.path("out/res.csv"), dest)
    assert "line 3, column 2" in r.stderr and PLANTED not in r.stderr.lower()


def test_raw_value_known_without_reading_the_view(sandbox, tmp_path):
    """The review builds the exporter's views first: a raw value brought in
    another way (here: written by hand) is caught even if the view was
    never read."""
    s = sandbox()
    s.write("people.csv", people())
    s.write_config(config().replace("@STEWARD@", "nobody"))
    s.mount()
    put(s, "res.csv", "k,v\nb,%s\n" % PLANTED)
    r, out = export(s.path("res.csv"), str(tmp_path / "res.csv"))
    assert r.returncode == 1
    assert "raw_value" in kinds(out), out


def test_raw_value_of_a_lua_masked_column(sandbox, tmp_path):
    """A column masked by a Lua function is a masked column too: its raw
    input is recorded."""
    s = sandbox()
    s.write("people.csv", people())
    pol = os.path.join(s.base, "p.lua")
    with open(pol, "w") as f:
        f.write("columns = {\n  email = function(value, row, ctx)\n"
                "    return 'hidden'\n  end,\n}\n")
    s.write_config("source: @SRC@\nexport: {}\ndatasets:\n  people.csv:\n"
                   "    policy: %s\n    columns:\n      id: keep\n"
                   "      name: hash\n      city: keep\n" % pol)
    s.mount()
    with open(s.path("people.csv")) as f:
        assert PLANTED not in f.read()
    put(s, "res.csv", "k,v\nb,%s\n" % PLANTED)
    r, out = export(s.path("res.csv"), str(tmp_path / "res.csv"))
    assert r.returncode == 1
    assert "raw_value" in kinds(out), out


def test_raw_value_in_plain_text(sandbox, tmp_path):
    s, _ = mounted(sandbox)
    put(s, "out/notes.txt", "summary\nwe saw <%s> twice\n" % PLANTED.upper())
    r, out = export(s.path("out/notes.txt"), str(tmp_path / "n.txt"))
    assert r.returncode == 1
    assert any(f["kind"] == "raw_value" and f["line"] == 2
               for f in out["findings"])


def test_pii_in_free_text(sandbox, tmp_path):
    s, _ = mounted(sandbox)
    put(s, "out/c.csv",
        'id,comment\n1,"fine"\n2,"call me on bob.other@nowhere.net, ok"\n')
    r, out = export(s.path("out/c.csv"), str(tmp_path / "c.csv"))
    assert r.returncode == 1
    assert kinds(out) == ["pii"], out
    f = out["findings"][0]
    assert (f["line"], f["column"], f["detail"]) == (3, 2, "email")
    assert "bob.other" not in r.stdout + r.stderr


def test_small_counts(sandbox, tmp_path):
    s, _ = mounted(sandbox)
    put(s, "out/agg.csv", "city,n_patients\nBerlin,40\nTinytown,2\n"
        "Paris,33\nVillage,4\n")
    r, out = export(s.path("out/agg.csv"), str(tmp_path / "a.csv"))
    assert r.returncode == 1
    small = [(f["line"], f["column"]) for f in out["findings"]
             if f["kind"] == "small_count"]
    assert small == [(3, 2), (5, 2)]
    # min_count is the policy's: 3 lets the 4 through, not the 2.
    s.unmount()


def test_min_count_from_config(sandbox, tmp_path):
    s, _ = mounted(sandbox, extra="export:\n  min_count: 3\n")
    put(s, "out/agg.csv", "city,count\nBerlin,40\nTinytown,2\nVillage,4\n")
    r, out = export(s.path("out/agg.csv"), str(tmp_path / "a.csv"))
    assert [(f["line"]) for f in out["findings"]] == [3]


def test_row_copy_of_twenty_percent(sandbox, tmp_path):
    s, served = mounted(sandbox)
    lines = served.splitlines()
    # 20 of the 100 served rows, columns reordered, another case.
    copy = [lines[0]] + lines[1:21]
    swapped = [",".join(reversed(l.split(","))).upper() for l in copy]
    put(s, "out/copy.csv", "\n".join(swapped) + "\n")
    r, out = export(s.path("out/copy.csv"), str(tmp_path / "copy.csv"))
    assert r.returncode == 1, r.stdout
    rc = [f for f in out["findings"] if f["kind"] == "row_copy"]
    assert rc and "people.csv" in rc[0]["detail"] and "20 rows" in \
        rc[0]["detail"], out
    assert not os.path.exists(str(tmp_path / "copy.csv"))
    # One row of 100 is within max_row_share 1%: no finding.
    put(s, "out/one.csv", "\n".join(lines[:2]) + "\n")
    r, out = export(s.path("out/one.csv"), str(tmp_path / "one.csv"))
    assert "row_copy" not in kinds(out), out


def test_opaque_files_refused(sandbox, tmp_path):
    s, _ = mounted(sandbox)
    put(s, "out/res.csv.gz", gzip.compress(("k\n%s\n" % PLANTED).encode()))
    r, out = export(s.path("out/res.csv.gz"), str(tmp_path / "r.gz"))
    assert r.returncode == 1 and kinds(out) == ["opaque"]
    # Binary bytes under a text name are opaque too.
    put(s, "out/res.txt", b"\x00\x01binary" + PLANTED.encode())
    r, out = export(s.path("out/res.txt"), str(tmp_path / "r.txt"))
    assert r.returncode == 1 and kinds(out) == ["opaque"]


def test_override_refused_for_a_role_not_in_approve(sandbox, tmp_path):
    s, _ = mounted(sandbox, extra="export:\n  approve: [steward]\n")
    put(s, "out/res.csv", "k,v\nb,%s\n" % PLANTED)
    dest = str(tmp_path / "res.csv")
    r = spotfs("export", "--override", s.path("out/res.csv"), dest)
    assert r.returncode == 1 and "may not approve" in r.stderr
    assert not os.path.exists(dest)
    evs, _ = export_events(s)
    assert evs[-1]["decision"] == "deny"


def test_override_approved_by_steward(sandbox, tmp_path):
    s, _ = mounted(sandbox, steward="root",
                   extra="export:\n  approve: [steward]\n")
    put(s, "out/res.csv", "k,v\nb,%s\n" % PLANTED)
    dest = str(tmp_path / "res.csv")
    r, out = export("--override", "--reason", "signed off",
                    s.path("out/res.csv"), dest)
    assert r.returncode == 0, r.stderr
    assert out["verdict"] == "approved" and out["copied"]
    assert os.path.exists(dest)
    evs, log = export_events(s)
    f = [e for e in evs if e["path"].startswith("ovl:")][-1]
    assert f["decision"] == "approved" and "raw_value@2:2" in f["detail"]
    assert PLANTED not in log.lower()


def test_allow_limits_who_exports(sandbox, tmp_path):
    s, _ = mounted(sandbox, extra="export:\n  allow: [steward]\n")
    put(s, "out/agg.csv", "city,count\nBerlin,25\n")
    r = spotfs("export", s.path("out/agg.csv"), str(tmp_path / "a.csv"))
    assert r.returncode == 1 and "may not export" in r.stderr
    assert not os.path.exists(str(tmp_path / "a.csv"))


def test_max_bytes_per_sandbox(sandbox, tmp_path):
    s, _ = mounted(sandbox, extra="export:\n  max_bytes: 100\n")
    put(s, "out/a.csv", "city,count\n" + "Berlin,25\n" * 5)
    put(s, "out/b.csv", "city,count\n" + "Paris,25\n" * 8)
    r = spotfs("export", s.path("out/a.csv"), str(tmp_path / "a.csv"))
    assert r.returncode == 0, r.stderr
    r = spotfs("export", s.path("out/b.csv"), str(tmp_path / "b.csv"))
    assert r.returncode == 1 and "max_bytes" in r.stderr
    assert not os.path.exists(str(tmp_path / "b.csv"))


def test_folders_symlinks_and_destinations(sandbox, tmp_path):
    s, _ = mounted(sandbox)
    os.makedirs(s.path("out/sub"), exist_ok=True)
    put(s, "out/sub/a.csv", "city,count\nBerlin,25\n")
    put(s, "out/sub/b.txt", "all good\n")
    dest = str(tmp_path / "dest")
    r, out = export(s.path("out/sub"), dest)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(os.path.join(dest, "sub"))) == ["a.csv", "b.txt"]
    # A symlink as DEST is refused, and not followed.
    target = str(tmp_path / "target.csv")
    os.symlink(target, str(tmp_path / "link.csv"))
    r = spotfs("export", s.path("out/sub/a.csv"), str(tmp_path / "link.csv"))
    assert r.returncode == 1 and not os.path.exists(target)
    # An existing file is never overwritten.
    r = spotfs("export", s.path("out/sub/a.csv"),
               os.path.join(dest, "sub", "b.txt"))
    assert r.returncode == 1
    with open(os.path.join(dest, "sub", "b.txt")) as f:
        assert f.read() == "all good\n"
    # Paths outside a sandbox, or DEST inside it, are refused.
    outside = str(tmp_path / "outside.csv")
    with open(outside, "w") as f:
        f.write("x\n")
    r = spotfs("export", outside, str(tmp_path / "o2.csv"))
    assert r.returncode == 1
    r = spotfs("export", s.path("out/sub/a.csv"), s.path("out/copy.csv"))
    assert r.returncode == 1 and "inside the sandbox" in r.stderr


def test_export_is_off_without_an_export_section(sandbox, tmp_path):
    """No export: section, no way out and nothing recorded: the export is
    refused with a message saying how to enable it, DEST is not made."""
    s = sandbox()
    s.write("people.csv", people())
    s.write_config("source: @SRC@\ndatasets:\n  people.csv:\n    columns:\n"
                   "      id: keep\n      name: hash\n      email: hash\n"
                   "      city: keep\n")
    s.mount()
    put(s, "agg.csv", "city,n\nOslo,25\nRome,25\n")
    dest = tmp_path / "agg.csv"
    r = spotfs("export", s.path("agg.csv"), str(dest))
    assert r.returncode != 0
    assert "export is not enabled" in r.stdout + r.stderr
    assert not dest.exists()


def test_parquet_results_are_reviewed_cell_by_cell(sandbox, tmp_path):
    """A Parquet result is read through the format table and each cell
    reviewed like a CSV's: a raw value and a small count are findings, a
    clean aggregate passes, a Parquet that cannot be read stays opaque."""
    from conftest import duck
    s, _ = mounted(sandbox)
    made = {}
    for name, sql in {
            "raw": "SELECT 'x' AS k, '%s' AS contact" % PLANTED,
            "small": "SELECT * FROM (VALUES ('Berlin', 3), ('Paris', 40)) "
                     "t(city, count)",
            "clean": "SELECT * FROM (VALUES ('Berlin', 25), ('Paris', 25)) "
                     "t(city, count)"}.items():
        p = tmp_path / (name + ".parquet")
        duck(tmp_path, "COPY (%s) TO '%s' (FORMAT parquet)" % (sql, p))
        made[name] = put(s, "out/%s.parquet" % name, p.read_bytes())
    r, out = export(made["raw"], str(tmp_path / "r.parquet"))
    assert r.returncode == 1 and "raw_value" in kinds(out), r.stdout
    assert PLANTED not in r.stdout + r.stderr
    r, out = export(made["small"], str(tmp_path / "s.parquet"))
    assert r.returncode == 1 and kinds(out) == ["small_count"], r.stdout
    r, out = export(made["clean"], str(tmp_path / "c.parquet"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "c.parquet").read_bytes() == \
        (tmp_path / "clean.parquet").read_bytes()
    bad = b"PAR1" + os.urandom(200) + b"PAR1"
    put(s, "out/bad.parquet", bad)
    r, out = export(s.path("out/bad.parquet"), str(tmp_path / "b.parquet"))
    assert r.returncode == 1 and kinds(out) == ["opaque"], r.stdout


def test_new_pii_kinds_in_free_text_are_findings(sandbox, tmp_path):
    """The export review sees what the pii method finds: an IP address, an
    e-mail written name(at)domain and a URL with credentials in a note."""
    s, _ = mounted(sandbox)
    for i, text in enumerate(["ping 10.20.30.40 from the office",
                              "write to bob (at) example [dot] org",
                              "see https://bob:hunter2@example.org/x",
                              "fe80::1ff:fe23:4567:890a was the host"]):
        p = put(s, "out/note%d.txt" % i, text + "\n")
        r, out = export(p, str(tmp_path / ("n%d.txt" % i)))
        assert r.returncode == 1 and kinds(out) == ["pii"], (text, r.stdout)


def test_progress_on_a_tty_only(sandbox, tmp_path):
    """On a terminal the CLI shows the daemon's progress (what it builds,
    which file it reviews) on one rewritten line, then the result; piped,
    stderr gets no progress. The copy is the same either way."""
    import shlex
    import subprocess
    from conftest import SPOTFS
    s, _ = mounted(sandbox)
    for i in range(3):
        put(s, "out/part%d.csv" % i, "city,n\nBerlin,%d\nParis,%d\n" % (10 + i, 20 + i))
    dest = str(tmp_path / "tty")
    cmd = "%s export %s %s" % (SPOTFS, shlex.quote(s.path("out")), shlex.quote(dest))
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                       timeout=120)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out
    assert "spotfs export: building the views the review knows" in out, out
    assert "\r\x1b[K" in out, out  # the line is rewritten, then cleared
    assert sorted(os.listdir(os.path.join(dest, "out"))) == [
        "part0.csv", "part1.csv", "part2.csv"]
    dest2 = str(tmp_path / "piped")
    r = spotfs("export", s.path("out"), dest2)
    assert r.returncode == 0, r.stderr
    assert "building the views" not in r.stderr and "\x1b" not in r.stderr, r.stderr
    assert sorted(os.listdir(os.path.join(dest2, "out"))) == sorted(
        os.listdir(os.path.join(dest, "out")))

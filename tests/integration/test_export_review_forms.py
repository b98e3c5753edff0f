# SPDX-License-Identifier: LGPL-2.1-or-later
"""Export review, round 8: the variants next to the round-7 findings
(test_attack_round7.py): spacing, case and encodings of a raw value,
binary text, Parquet strings the rows do not show, row copies in other
shapes, and the audit record of an export's paths."""
import json
import os

import pytest

from conftest import spotfs
from test_attack_round7 import (PLANTED_CODE, PLANTED_NAME, export_mount,
                                try_export)


def refused_with(s, tmp_path, name, data, kind):
    r, out, dest = try_export(s, tmp_path, name, data)
    kinds = [f["kind"] for f in out["findings"]]
    assert r.returncode == 1 and kind in kinds, (name, out)
    assert not os.path.exists(dest)
    assert PLANTED_CODE not in r.stdout + r.stderr
    return out


WORD_FORMS = {
    # a raw code as a word, ended by a no-break space inside a sentence
    "nbsp inside a sentence": "top: %s\u00a0(most visits)\n" % PLANTED_CODE,
    "zero-width space inside": "QX00\u200b49TV\n",
    "ideographic space": PLANTED_NAME.replace(" ", "\u3000") + "\n",
    "soft hyphen": "QX00\u00ad49TV\n",
    "json escaped code": '{"c": "\\u0051X0049TV"}\n',
    "tab separated words": "x\t%s\ty\n" % PLANTED_CODE,
}


@pytest.mark.parametrize("how", sorted(WORD_FORMS))
def test_raw_value_in_other_unicode_forms(sandbox, tmp_path, how):
    s = export_mount(sandbox)
    refused_with(s, tmp_path, "notes.txt", WORD_FORMS[how].encode(),
                 "raw_value")


def test_greek_and_cyrillic_raw_values_in_upper_case_and_nfd(sandbox,
                                                              tmp_path):
    import unicodedata
    s = sandbox()
    names = ["Σωκράτης%02d" % i for i in range(20)] + \
            ["Йожеф%02d" % i for i in range(20)]
    s.write("p.csv", "id,name\n" + "".join(
        "%d,%s\n" % (i, n) for i, n in enumerate(names)))
    s.write_config("source: @SRC@\nexport: {}\ndatasets:\n  p.csv:\n"
                   "    columns: { id: keep, name: hash }\n")
    s.mount()
    with open(s.path("p.csv")) as f:
        assert "Σωκράτης03" not in f.read()
    os.makedirs(s.path("out"))
    for i, text in enumerate(["ΣΩΚΡΆΤΗΣ03\n", "ЙОЖЕФ07\n",
                              unicodedata.normalize("NFD", "Йожеф08\n"),
                              unicodedata.normalize("NFD", "σωκράτης04\n")]):
        assert text.strip() not in names
        refused_with(s, tmp_path, "n%d.txt" % i, text.encode(), "raw_value")


BINARY_TEXT = {
    "escape bytes": b"summary\n\x1b[31mred\x1b[0m\n",
    "latin-1 bytes": "Gr\u00fc\u00dfe\n".encode("latin-1"),
    "overlong utf-8": b"a\xc0\xafb\n",
}


@pytest.mark.parametrize("how", sorted(BINARY_TEXT))
def test_text_that_is_not_utf8_or_has_control_bytes_is_opaque(sandbox,
                                                               tmp_path, how):
    s = export_mount(sandbox)
    out = refused_with(s, tmp_path, "r.txt", BINARY_TEXT[how], "opaque")
    assert out["files"][0]["type"] == "opaque"


def test_clean_utf8_text_with_form_feeds_and_crlf_passes(sandbox, tmp_path):
    s = export_mount(sandbox)
    r, out, dest = try_export(s, tmp_path, "ok.txt",
                              "Grüße aus Köln\r\n\fpage two\tend\r\n".encode())
    assert r.returncode == 0 and out["verdict"] == "pass", out


def test_parquet_list_value_is_a_raw_value_finding_not_only_opaque(
        sandbox, tmp_path):
    """Values inside a LIST are reviewed (a raw_value finding), and a clean
    list passes: the file is not simply refused as opaque."""
    from conftest import duck
    s = export_mount(sandbox)
    for i, (sql, kind) in enumerate([
            ("SELECT 'Berlin' AS city, ['a', 'QX0049TV'] AS codes",
             "raw_value"),
            ("SELECT 'Berlin' AS city, MAP {'k': 'Jasmine007 Payne'} AS m",
             "raw_value"),
            ("SELECT 'Berlin' AS city, ['bob@example.org'] AS e", "pii")]):
        p = tmp_path / ("l%d.parquet" % i)
        duck(tmp_path, "COPY (%s) TO '%s' (FORMAT parquet, COMPRESSION "
             "zstd)" % (sql, p))
        refused_with(s, tmp_path, "l%d.parquet" % i, p.read_bytes(), kind)
    p = tmp_path / "clean.parquet"
    duck(tmp_path, "COPY (SELECT 'Berlin' AS city, [25, 30] AS n, "
         "MAP {'x': 1} AS m) TO '%s' (FORMAT parquet, KV_METADATA "
         "{note: 'quarterly'})" % p)
    r, out, dest = try_export(s, tmp_path, "clean.parquet", p.read_bytes())
    assert r.returncode == 0 and out["verdict"] == "pass", out


ROW_COPY_MORE = {
    # the columns of a JSON Lines view as a JSON array per line
    "json arrays": lambda recs: "".join(
        json.dumps([r["id"], r["email"], r["city"]]) + "\n" for r in recs),
    # the records with one more field
    "jsonl with a field added": lambda recs: "".join(
        json.dumps(dict(r, run=1)) + "\n" for r in recs),
    # reordered keys, other spacing
    "jsonl keys reordered": lambda recs: "".join(
        json.dumps({"city": r["city"], "email": r["email"], "id": r["id"]},
                   indent=None, separators=(",", ":")) + "\n" for r in recs),
}


@pytest.mark.parametrize("how", sorted(ROW_COPY_MORE))
def test_copies_of_a_jsonl_view_in_other_shapes(sandbox, tmp_path, how):
    s = sandbox()
    s.write("j.jsonl", "".join(json.dumps(
        {"id": i, "email": "user%d@example.org" % i, "city": "Berlin"})
        + "\n" for i in range(200)))
    s.write_config("source: @SRC@\nexport: {}\ndatasets:\n  j.jsonl:\n"
                   "    columns: { id: keep, email: { method: tokenize, "
                   "prefix: cust- }, city: keep }\n")
    s.mount()
    with open(s.path("j.jsonl")) as f:
        recs = [json.loads(l) for l in f.read().splitlines()]
    os.makedirs(s.path("out"))
    refused_with(s, tmp_path, "c.jsonl", ROW_COPY_MORE[how](recs).encode(),
                 "row_copy")


def test_an_aggregate_with_an_index_column_is_not_a_row_copy(sandbox,
                                                             tmp_path):
    """Leaving one cell out must not make aggregates look like copies: a
    count per city with pandas' index column passes."""
    import pandas as pd
    s = sandbox()
    s.write("p.csv", "id,email,city\n" + "".join(
        "%d,user%d@example.org,%s\n" % (i, i, ["Berlin", "Paris"][i % 2])
        for i in range(2000)))
    s.write_config("source: @SRC@\nexport: {}\ndatasets:\n  p.csv:\n"
                   "    columns: { id: keep, email: hash, city: keep }\n")
    s.mount()
    df = pd.read_csv(s.path("p.csv"))
    os.makedirs(s.path("out"))
    p = s.path("out/agg.csv")
    df.groupby("city").size().reset_index(name="n").to_csv(p)
    r = spotfs("export", "--json", p, str(tmp_path / "agg.csv"))
    out = json.loads(r.stdout)
    assert r.returncode == 0 and out["verdict"] == "pass", out


def test_export_audit_keeps_view_paths_readable(sandbox, tmp_path):
    """A view exported (a copy: refused) is audited by its dataset name;
    an overlay file by its ovl: digest, never its name."""
    from test_export import export_events
    s = export_mount(sandbox)
    r = spotfs("export", s.path("people.csv"), str(tmp_path / "v.csv"))
    assert r.returncode == 1
    with open(s.path("out/r8.dana.miller@example.com.txt"), "w") as f:
        f.write("fine\n")
    r = spotfs("export", s.path("out/r8.dana.miller@example.com.txt"),
               str(tmp_path / "o.txt"))
    assert r.returncode == 0, r.stderr
    evs, log = export_events(s)
    paths = [e["path"] for e in evs]
    assert "people.csv" in paths, paths
    assert "dana.miller" not in log, paths
    assert any(p.startswith("ovl:") for p in paths), paths

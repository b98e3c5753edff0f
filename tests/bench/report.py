# SPDX-License-Identifier: LGPL-2.1-or-later
"""Turn the raw results of tests/bench/run into markdown tables (stdout).

  report.py RESULTS.tsv

RESULTS.tsv holds tab-separated lines written by the run script:
  r  SECTION KEY TARGET VALUE    one measurement (VALUE a number or
                                 "n/a:REASON")
  p  SECTION NAME VALUE          a parameter (sizes, run count, command)
  n  SECTION TEXT                a note printed under the section's table
Every cell is the median of its runs; ratios are ratios of medians."""
import statistics
import sys
from collections import defaultdict

res = defaultdict(list)      # (section, key, target) -> [float]
why = {}                     # (section, key, target) -> reason
par = defaultdict(dict)      # section -> name -> value
notes = defaultdict(list)    # section -> [text]
footnotes = []


def load(path):
    with open(path) as f:
        for line in f:
            f_ = line.rstrip("\n").split("\t")
            if f_[0] == "r" and len(f_) == 5:
                k = tuple(f_[1:4])
                if f_[4].startswith("n/a"):
                    why.setdefault(k, f_[4][4:] or "failed")
                else:
                    try:
                        res[k].append(float(f_[4]))
                    except ValueError:
                        why.setdefault(k, "bad value %r" % f_[4])
            elif f_[0] == "p" and len(f_) == 4:
                par[f_[1]][f_[2]] = f_[3]
            elif f_[0] == "n" and len(f_) == 3:
                notes[f_[1]].append(f_[2])


def med(sec, key, target):
    v = res.get((sec, key, target))
    return statistics.median(v) if v else None


def runs(sec, key, target):
    return len(res.get((sec, key, target), []))


def na(sec, key, target):
    """The text of a missing cell, with a footnote giving the reason."""
    r = why.get((sec, key, target), "not measured")
    if r not in footnotes:
        footnotes.append(r)
    return "n/a [%d]" % (footnotes.index(r) + 1)


def fmt(v, unit):
    if unit == "k":
        return "%.1fk" % (v / 1000) if v >= 1000 else "%.0f" % v
    if unit == "ms":
        return "%.0f" % (v * 1000) if v >= 0.1 else "%.1f" % (v * 1000)
    if unit == "s":
        return "%.2f" % v
    return "%.0f" % v if v >= 100 else "%.1f" % v


def cell(sec, key, target, unit):
    v = med(sec, key, target)
    return fmt(v, unit) if v is not None else na(sec, key, target)


def ratio(a, b):
    if a is None or not b:
        return "–"
    return "%.0f" % (a / b) if a / b >= 100 else "%.2f" % (a / b)


def row(cells):
    print("| " + " | ".join(cells) + " |")


def header(cols):
    row(cols)
    row(["---"] + ["--:"] * (len(cols) - 1))


def runs_text(sec, keys_targets):
    ns = sorted({runs(sec, k, t) for k, t in keys_targets} - {0})
    if not ns:
        return "no runs"
    t = str(ns[0]) if len(ns) == 1 else "%d–%d" % (ns[0], ns[-1])
    return t + (" run" if ns[-1] == 1 else " runs")


def overlay():
    s = "overlay"
    p = par[s]
    tg = ["native", "fuse-overlayfs", "gocryptfs", "spotfs"]
    metrics = [
        ("seqwrite", "sequential write %s + fsync, MB/s" % p.get("seq", "?"),
         "", "gocryptfs"),
        ("seqread_cold", "sequential read %s, cold (caches dropped), MB/s"
         % p.get("seq", "?"), "", "gocryptfs"),
        ("seqread_warm", "sequential read %s, warm (second read), MB/s"
         % p.get("seq", "?"), "", "gocryptfs"),
        ("randwrite", "random 4 KiB buffered writes in %s for %s s + fsync,"
         " IOPS" % (p.get("rnd", "?"), p.get("rnd_sec", "?")), "k",
         "gocryptfs"),
        ("meta", "create + stat + unlink of %s small files, ops/s"
         % p.get("files", "?"), "k", "fuse-overlayfs"),
    ]
    print("### Overlay (writable part): `%s` — medians of %s\n"
          % (p.get("cmd", "tests/bench/run overlay"),
             runs_text(s, [(m[0], t) for m in metrics for t in tg])))
    header(["metric", "native disk", "fuse-overlayfs", "gocryptfs", "spotfs",
            "spotfs / native", "spotfs / gocryptfs",
            "spotfs / fuse-overlayfs", "target"])
    for key, label, unit, peer in metrics:
        sp = med(s, key, "spotfs")
        pv = med(s, key, peer)
        if sp is None or pv is None:
            tgt = "≥ %s: –" % peer
        else:
            tgt = "≥ %s: %s" % (peer, "met" if sp >= pv else "**not met**")
        row([label] + [cell(s, key, t, unit) for t in tg] +
            [ratio(sp, med(s, key, "native")), ratio(sp, med(s, key, "gocryptfs")),
             ratio(sp, med(s, key, "fuse-overlayfs")), tgt])
    print()


def csv():
    s = "csv"
    p = par[s]
    cfgs = [("yaml", "YAML built-in rules only"),
            ("luacol", "YAML + one Lua column function"),
            ("luarow", "YAML + Lua column function + Lua row filter")]
    if runs(s, "first", "base"):
        cfgs.insert(1, ("base", "YAML built-in rules only, baseline %s"
                        % par["run"].get("baseline", "?")))
    print("### Masked CSV (Lua policy engine): `%s` — medians of %s\n"
          % (p.get("cmd", "tests/bench/run csv"),
             runs_text(s, [("first", c) for c, _ in cfgs])))
    print("Source: %s, %s rows, 10 columns; source file in the page cache. "
          "Each spotfs run is a fresh mount, so the first read builds the "
          "view and serves it.\n" % (p.get("size", "?"), p.get("rows", "?")))
    header(["metric", "native read of the raw source", "spotfs",
            "spotfs / native", "slowdown vs YAML-only (target ≤ 3)"])
    nat = med(s, "first", "native")
    yml = med(s, "first", "yaml")
    for c, label in cfgs:
        v = med(s, "first", c)
        slow = "%.2fx" % (yml / v) if v and yml else "–"
        if c == "yaml":
            slow = "1 (reference)" if v else "–"
        elif c == "base":
            slow = "this tree / baseline: %s" % paired(s, "first", "yaml",
                                                       "base")
        elif v and yml:
            slow += " (met)" if yml / v <= 3 else " (**not met**)"
        row([label + ": first read (build + serve), source MB/s",
             cell(s, "first", "native", ""), cell(s, "first", c, ""),
             ratio(v, nat), slow])
    for c, label in cfgs:
        v = med(s, "reread", c)
        row([label + ": second read (view built, warm), served MB/s",
             cell(s, "first", "native", ""), cell(s, "reread", c, ""),
             ratio(v, nat), ""])
    print()


def sqlite():
    s = "sqlite"
    p = par[s]
    print("### SQLite table served as CSV: `%s` — medians of %s\n"
          % (p.get("cmd", "tests/bench/run sqlite"),
             runs_text(s, [(k, t) for k in ("ttfb", "total")
                           for t in ("sqlite3", "spotfs")])))
    print("Table of %s rows, %s columns, database %s in the page cache. "
          "spotfs masks 2 columns (%s) and each run is a fresh mount; "
          "`%s` is unmasked.\n"
          % (p.get("rows", "?"), p.get("cols", "?"), p.get("size", "?"),
             p.get("masked", "?"), p.get("ref", "sqlite3 -csv")))
    header(["metric", "`sqlite3 -csv` (no masking)", "spotfs (masked)",
            "spotfs / sqlite3 (target ≤ 2)"])
    for key, label, unit in (("ttfb", "time to first byte, ms", "ms"),
                             ("total", "total time to read the whole table, s",
                              "s")):
        a = med(s, key, "spotfs")
        b = med(s, key, "sqlite3")
        r = ratio(a, b)
        if key == "total" and a and b:
            r += " (met)" if a / b <= 2 else " (**not met**)"
        row([label, cell(s, key, "sqlite3", unit), cell(s, key, "spotfs", unit),
             r])
    print()
    baseline(s, [("total", "total time to read the whole table, s")])


def parquet():
    s = "parquet"
    p = par.get(s, {})
    print("### Parquet with 2 of 10 columns masked: `%s` — medians of %s\n"
          % (p.get("cmd", "tests/bench/run parquet"),
             runs_text(s, [("total", "duckdb"), ("total", "spotfs")])))
    print("File of %s rows, 10 columns, %s, snappy.\n"
          % (p.get("rows", "?"), p.get("size", "?")))
    header(["metric", "DuckDB `COPY ... TO` (masked rewrite)", "spotfs",
            "spotfs / DuckDB"])
    for key, label in (("ttfb", "time to first byte, s"),
                       ("total", "time to the whole masked file, s")):
        a, b = med(s, key, "spotfs"), med(s, key, "duckdb")
        r = ratio(a, b)
        if a and b:
            r += " (faster: met)" if a < b else " (**not faster**)"
        row([label, cell(s, key, "duckdb", "s"), cell(s, key, "spotfs", "s"),
             r])
    print()
    header(["metric", "source file, cold read", "spotfs served file",
            "spotfs / source"])
    a, b = med(s, "coldread", "spotfs"), med(s, "coldread", "source")
    row(["read after the build, caches dropped, MB/s",
         cell(s, "coldread", "source", ""), cell(s, "coldread", "spotfs", ""),
         ratio(a, b)])
    row(["first read (build + serve), served MB/s", "",
         cell(s, "served", "spotfs", ""), ""])
    print()
    baseline(s, [("ttfb", "time to first byte, s"),
                 ("total", "time to the whole masked file, s")])


def script():
    s = "script"
    p = par.get(s, {})
    tg = ["script", "duckdb", "spotfs"]
    base = runs(s, "first", "base") > 0
    if base:
        tg.insert(2, "base")
    print("### Masked CSV against a Python script: `%s` — medians of %s\n"
          % (p.get("cmd", "tests/bench/run script"),
             runs_text(s, [("first", t) for t in tg])))
    print("File of %s rows, 10 columns, %s, in the page cache; every target "
          "in every run, in alternating order.\n"
          % (p.get("rows", "?"), p.get("size", "?")))
    names = {"script": "Python stdlib script", "duckdb": "DuckDB `COPY`",
             "base": "spotfs, baseline %s" % par["run"].get("baseline", "?"),
             "spotfs": "spotfs"}
    header(["metric"] + [names[t] for t in tg] +
           ["script / spotfs (target ≥ 20)"])
    sp, sc = med(s, "first", "spotfs"), med(s, "first", "script")
    r = ratio(sc, sp)
    if sp and sc:
        r += " (met)" if sc / sp >= 20 else " (**not met**)"
        r += "; run by run: " + paired(s, "first", "script", "spotfs")
    row(["time to the whole masked file, s"] +
        [cell(s, "first", t, "s") for t in tg] + [r])
    row(["time to first byte, s"] +
        [cell(s, "ttfb", t, "s") if t in ("spotfs", "base") else
         cell(s, "first", t, "s") for t in tg] +
        [ratio(sc, med(s, "ttfb", "spotfs"))])
    if runs(s, "cpu", "spotfs"):
        c = med(s, "cpu", "script")
        row(["CPU time used, s"] +
            [cell(s, "cpu", t, "s") if t != "duckdb" else ""
             for t in tg] +
            [ratio(c, med(s, "cpu", "spotfs")) + " of the CPU time"])
    if runs(s, "query", "duckdb"):
        row(["DuckDB: the COPY query alone, s"] +
            [cell(s, "query", t, "s") if t == "duckdb" else ""
             for t in tg] + [""])
    print()
    if base:
        header(["metric", "baseline %s" % par["run"].get("baseline", "?"),
                "this tree", "baseline / this tree (median of each run's "
                "ratio)"])
        row(["time to the whole masked file, s", cell(s, "first", "base", "s"),
             cell(s, "first", "spotfs", "s"),
             paired(s, "first", "base", "spotfs")])
        print()


def methods():
    p = par.get("methods", {})
    print("### Masking methods, one core: `%s`\n"
          % p.get("cmd", "tests/bench/run methods"))
    try:
        with open(p.get("table", "")) as f:
            print(f.read())
    except OSError:
        print("no table (bench_methods did not run)\n")
    if p.get("base_table"):
        print("The same program built on the baseline %s:\n"
              % par["run"].get("baseline", "?"))
        try:
            with open(p["base_table"]) as f:
                print(f.read())
        except OSError:
            print("no table\n")


def baseline(s, metrics):
    """This tree against the --baseline build, measured in the same runs."""
    if not any(runs(s, k, "base") for k, _ in metrics):
        return
    header(["metric", "baseline %s" % par["run"].get("baseline", "?"),
            "this tree", "this tree / baseline (median of each run's ratio)"])
    for key, label in metrics:
        row([label, cell(s, key, "base", "s"), cell(s, key, "spotfs", "s"),
             paired(s, key, "spotfs", "base")])
    print()


def paired(sec, key, a, b):
    """Median of run-by-run ratios a/b: the two builds alternate inside each
    run, so a ratio within one run cancels most of the machine's drift."""
    va, vb = res.get((sec, key, a), []), res.get((sec, key, b), [])
    r = [x / y for x, y in zip(va, vb) if y]
    if not r:
        return "–"
    return "%.3f (runs: %s)" % (statistics.median(r),
                                ", ".join("%.2f" % x for x in r))


def every_run(sec):
    """All values of a section, in run order, to judge the noise."""
    keys = [k for k in res if k[0] == sec]
    if not keys or max(len(res[k]) for k in keys) < 2:
        return
    print("<details><summary>every run (noise check)</summary>\n")
    row(["measurement", "target", "runs, in order"])
    row(["---"] * 3)
    for k in keys:
        row([k[1], k[2], ", ".join("%g" % round(v, 4) for v in res[k])])
    print("\n</details>\n")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    load(sys.argv[1])
    sections = par.get("run", {}).get("sections",
                                      "overlay csv sqlite parquet").split()
    for name in par.get("run", {}).get("order", "").split() or sections:
        if name not in sections:
            continue
        {"overlay": overlay, "csv": csv, "sqlite": sqlite,
         "parquet": parquet, "script": script, "methods": methods}[name]()
        for t in notes.get(name, []):
            print("- " + t)
        if notes.get(name):
            print()
        every_run(name)
    if footnotes:
        print("n/a reasons:\n")
        for i, t in enumerate(footnotes):
            print("%d. %s" % (i + 1, t))
        print()
    for t in notes.get("run", []):
        print("- " + t)
    return 0


if __name__ == "__main__":
    sys.exit(main())

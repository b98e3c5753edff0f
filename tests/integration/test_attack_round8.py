# SPDX-License-Identifier: LGPL-2.1-or-later
"""Adversarial review, round 8: an outside attacker with the README and the
binary only. Tests named test_finding_* demonstrate a leak through a real
mount (or the CLI) and assert the safe behaviour (they fail until it is
fixed); tests named test_held_* are serious attacks that were correctly
refused."""
import json
import os
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import spotfs, STATE_DIR


def read_or_err(s, name):
    """The served text of name, or 'error N' when the open or read fails
    (failing closed is always safe)."""
    try:
        with open(s.path(name), "rb") as f:
            return f.read().decode(errors="replace")
    except OSError as e:
        return "error %d" % e.errno


def plaintext_files(dirs, needles):
    """Regular files under dirs (never crossing into another file system:
    other sandboxes may be mounted under /var/tmp) holding any needle."""
    hits = []
    for top in dirs:
        try:
            dev = os.stat(top).st_dev
        except OSError:
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if os.lstat(
                os.path.join(dirpath, d)).st_dev == dev]
            for n in filenames:
                p = os.path.join(dirpath, n)
                try:
                    st = os.lstat(p)
                    if st.st_dev != dev or not os.path.isfile(p) or \
                            st.st_size > (256 << 20):
                        continue
                    with open(p, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                if any(x in data for x in needles):
                    hits.append(p)
    return hits


# ---------------------------------------------------------------------------
# k_anonymity: a nested quasi field whose parent some record holds as an
# array is counted as missing and served


def k_parent_array_records():
    recs = [{"id": i, "addr": {"zip": "11111"}} for i in range(3)]
    recs += [{"id": 10 + i} for i in range(3)]
    # addr held as an array: its zip (and street) are under addr[]
    recs.append({"id": 20, "addr": [{"zip": "99999",
                                     "street": "Lonely Road 1"}]})
    # a deeper parent held as an array
    recs.append({"id": 21, "addr": {"sub": 1}})
    return "".join(json.dumps(r) + "\n" for r in recs)


def test_finding_jsonl_k_anonymity_misses_a_quasi_whose_parent_is_an_array(
        sandbox):
    """quasi [addr.zip], k 2. Three records hold addr.zip 11111, three lack
    addr, one holds addr as an array of one object with zip 99999 and a
    street. That record has no addr.zip path, so it is counted in the
    class of the records without it (4 records: passes k) and served, in
    the JSON Lines and the CSV form, with its unique zip; `spotfs report`
    calls the view k-anonymous and `check` says 0 rows not served.
    README (k_anonymity): a quasi column "that some record holds as an
    object or an array ... its record would have been counted with the
    records that lack zip while it serves the values under it" fails
    closed; the round-7 fix checks the quasi's own path (`zip[]`,
    `zip.code`) but not a parent held as an array (`addr[].zip` beside
    `addr.zip`). Expected: the view fails closed (or the record is in a
    class of its own and dropped)."""
    s = sandbox()
    s.write("k.jsonl", k_parent_array_records())
    s.write_config(
        "source: @SRC@\ndatasets:\n  k.jsonl:\n    as: [jsonl, csv]\n"
        "    k_anonymity: { quasi: [addr.zip], k: 2 }\n"
        "    columns: { id: keep, addr: keep }\n")
    s.mount()
    served = {n: read_or_err(s, n) for n in ("k.jsonl", "k.csv")}
    # held part: the plain class of 3 is served, so the view was built
    rep = spotfs("report", "-c", s.config, "k.jsonl", "--quasi", "addr.zip",
                 "--k", "2")
    leaks = []
    for name, text in served.items():
        for unique in ("99999", "Lonely Road"):
            if unique in text:
                leaks.append("%s serves %r" % (name, unique))
    if rep.returncode == 0 and "k-anonymous          yes" in rep.stdout:
        leaks.append("spotfs report calls it k-anonymous")
    assert not leaks, "%s\n%s\n%s" % (leaks, served, rep.stdout)


def test_held_jsonl_k_anonymity_quasi_leaf_held_as_an_object_deeper(sandbox):
    """The round-7 fix holds one level down too: quasi a.b.zip with a
    record holding a.b.zip as an object fails closed."""
    s = sandbox()
    recs = [{"id": i, "a": {"b": {"zip": "11111"}}} for i in range(3)]
    recs.append({"id": 9, "a": {"b": {"zip": {"code": "99999"}}}})
    s.write("n.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    s.write_config(
        "source: @SRC@\ndatasets:\n  n.jsonl:\n    as: [jsonl, csv]\n"
        "    k_anonymity: { quasi: [a.b.zip], k: 2 }\n"
        "    columns: { id: keep, a: keep }\n")
    s.mount()
    for n in ("n.jsonl", "n.csv"):
        assert "99999" not in read_or_err(s, n)


# ---------------------------------------------------------------------------
# The CSV and Parquet forms of a JSON Lines dataset name the keys of records
# a row filter or k_anonymity dropped


DROP_LUA = 'function row(r, ctx) return r.country == "DE" end\n'


@pytest.mark.parametrize("how", ["row_filter", "k_anonymity"])
@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_finding_jsonl_forms_name_keys_of_dropped_records(sandbox, how,
                                                          form):
    """An object keyed by data (`votes: {"Alice Smith": 1}`, the README's
    own example of keys that are data) and a field only one record holds
    (`hiv_positive`). The record of Jasmine Payne is dropped, by a Lua
    row() filter (country FR) or by k_anonymity (its country is a class
    of 1). The JSON Lines form drops its line, but the CSV header and the
    Parquet schema of the other forms are made from every field path of
    the file, dropped records included: `votes.Jasmine Payne` and
    `hiv_positive` are served as column names. README (JSON Lines, Lua):
    "a dropped record is not served at all"; Security model: every byte
    served comes from something the policy positively allowed. (The
    README also says the layout "depends only on the field paths the file
    holds": that rule is what serves a hidden record's keys.) Expected:
    no key of a dropped record in any form."""
    s = sandbox()
    recs = [{"id": 1, "country": "DE", "votes": {"Alice Smith": 1}},
            {"id": 2, "country": "FR", "votes": {"Jasmine Payne": 1},
             "hiv_positive": True},
            {"id": 3, "country": "DE", "votes": {"Alice Smith": 2}}]
    s.write("v.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    extra = ""
    if how == "row_filter":
        with open(os.path.join(s.base, "p.lua"), "w") as f:
            f.write(DROP_LUA)
        extra = "    policy: %s\n" % os.path.join(s.base, "p.lua")
    else:
        extra = "    k_anonymity: { quasi: [country], k: 2 }\n"
    s.write_config(
        "source: @SRC@\ndatasets:\n  v.jsonl:\n    as: [jsonl, %s]\n%s"
        "    columns: { id: keep, country: keep, \"votes.*\": keep }\n"
        % (form, extra))
    s.mount()
    native = read_or_err(s, "v.jsonl")
    assert "Jasmine" not in native and "Alice Smith" in native, native
    with open(s.path("v." + form), "rb") as f:
        data = f.read()
    assert b"Alice Smith" in data  # the served records' keys are there
    for hidden in (b"Jasmine Payne", b"hiv_positive"):
        assert hidden not in data, (
            "v.%s names %r, a key of a record the policy dropped:\n%r"
            % (form, hidden, data[:400]))


# ---------------------------------------------------------------------------
# Held: db_views / configured views with ORDER BY past view_memory leave no
# plaintext on disk (no SQLite sorter temp file, the staging copy sealed)


def test_held_sorting_view_staged_in_the_store_writes_no_plaintext(sandbox,
                                                                   tmp_path):
    """A 100,000-row table (about 11 MB) whose configured and database
    views ORDER BY a kept text column: SQLite's sorter spills to a temp
    file (in /var/tmp or /tmp, unlinked at once) past its cache unless
    kept in memory. view_memory 1 MiB stages the masked tables in the
    store. While both views build, the daemon's open files are watched
    (a deleted etilqs_ temp file in /var/tmp or /tmp would show there)
    and the store and /dev/shm are searched for a kept or raw value."""
    s = sandbox()
    store = str(tmp_path / "store")
    os.makedirs(store)
    p = os.path.join(s.src, "crm.db")
    c = sqlite3.connect(p)
    c.execute("create table users(id integer primary key, email text, "
              "note text)")
    c.executemany("insert into users values(?,?,?)",
                  ((i, "zqx%07d@example.org" % i,
                    "keptnotezq%07d " % i + "x" * 60)
                   for i in range(100000)))
    c.execute("create view srt as select id, email, note from users "
              "order by note desc")
    c.commit()
    c.close()
    s.write_config(
        "source: @SRC@\nview_memory: 1MiB\nstore: %s\ndatasets:\n"
        "  crm.db:\n    tables:\n      users: { columns: { id: keep, "
        "email: hash, note: keep } }\n    db_views: true\n    views:\n"
        "      v2: SELECT id, note FROM users ORDER BY note DESC\n" % store)
    s.mount()
    pid = s.proc.pid
    found = set()
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            try:
                for fd in os.listdir("/proc/%d/fd" % pid):
                    try:
                        t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                    except OSError:
                        continue
                    if t.startswith("/") and not t.startswith(
                            ("/dev/", "/proc/", s.src, store, s.log,
                             os.path.dirname(STATE_DIR))) \
                            and "memfd:" not in t:
                        found.add(t)
            except OSError:
                pass
            for p in plaintext_files([store, "/dev/shm"],
                                     [b"keptnotezq", b"zqx00"]):
                found.add("plaintext in " + p)
            time.sleep(0.05)

    t = threading.Thread(target=watch)
    t.start()
    try:
        for n in ("crm/srt.csv", "crm/v2.csv"):
            with open(s.path(n), "rb") as f:
                head = f.read(200)
            assert b"keptnotezq0099999" in head, head  # sorted, served
    finally:
        stop.set()
        t.join()
    assert "staged in the store" in s.read_log()
    assert not found, found


# ---------------------------------------------------------------------------
# Held: JSON Lines forms and CSV injection, escaped keys in Lua, key/path
# collisions, PII keys in the CLI


def test_held_jsonl_csv_form_neutralizes_formulas_and_redacts_in_arrays(
        sandbox):
    s = sandbox()
    recs = [{"id": 1, "f": "=HYPERLINK(\"http://x\")",
             "messages": [{"role": "user", "content": "hi a@example.org",
                           "extra": "secretextra77"}]},
            {"id": 2, "f": "+cmd", "messages": []}]
    s.write("c.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    s.write_config(
        "source: @SRC@\ndatasets:\n  c.jsonl:\n    as: [jsonl, csv, parquet]\n"
        "    columns: { id: keep, f: keep, \"messages[].role\": keep, "
        "\"messages[].content\": pii }\n")
    s.mount()
    csv = read_or_err(s, "c.csv")
    assert "'=HYPERLINK" in csv and "'+cmd" in csv, csv
    for n in ("c.jsonl", "c.csv", "c.parquet"):
        text = read_or_err(s, n)
        assert "secretextra77" not in text and "a@example.org" not in text


def test_held_jsonl_lua_row_sees_decoded_keys_and_values(sandbox):
    """A row filter dropping country FR also drops records that spell the
    key or the value with \\u escapes, and a nested user.country."""
    s = sandbox()
    s.write("r.jsonl",
            '{"id":1,"country":"DE","name":"Alpha Keeper"}\n'
            '{"id":2,"count\\u0072y":"FR","name":"Bravo Hidden"}\n'
            '{"id":3,"country":"F\\u0052","name":"Charlie Hidden"}\n'
            '{"id":4,"user":{"country":"FR"},"name":"Delta Nested"}\n')
    with open(os.path.join(s.base, "p.lua"), "w") as f:
        f.write('function row(r, ctx)\n'
                '  if r.country == "FR" then return false end\n'
                '  if r.user and r.user.country == "FR" then return false end\n'
                '  return true\nend\n')
    s.write_config(
        "source: @SRC@\ndatasets:\n  r.jsonl:\n    as: [jsonl, csv]\n"
        "    policy: %s\n    columns: { id: keep, name: keep, country: keep, "
        "user.country: keep }\n" % os.path.join(s.base, "p.lua"))
    s.mount()
    for n in ("r.jsonl", "r.csv"):
        text = read_or_err(s, n)
        assert "Alpha Keeper" in text, text
        assert "Hidden" not in text and "Nested" not in text, text


@pytest.mark.parametrize("data", [
    '{"id":1,"a[]":"rawdup77","a":["y"]}\n',
    '{"id":1,"a[]":"rawlit77"}\n{"id":2,"a":["z"]}\n',
    '{"id":1,"a.b":"rawdot77"}\n{"id":2,"a":{"b":"z"}}\n',
])
def test_held_jsonl_literal_bracket_and_dot_keys_are_refused(sandbox, data):
    s = sandbox()
    s.write("d.jsonl", data)
    s.write_config(
        "source: @SRC@\ndatasets:\n  d.jsonl:\n    as: [jsonl, csv, parquet]\n"
        "    columns: { id: keep, \"a[]\": hash, a.b: hash }\n")
    s.mount()
    for n in ("d.jsonl", "d.csv", "d.parquet"):
        text = read_or_err(s, n)
        assert "77" not in text, (n, text)


def test_held_cli_never_prints_a_nested_pii_key(sandbox):
    """check, preview and scan on a file whose nested key is an e-mail
    address refuse it and never print the key."""
    s = sandbox()
    s.write("p.jsonl", json.dumps({"id": 1, "meta": {
        "carol.q@example.com": 1}}) + "\n")
    s.write_config("source: @SRC@\nunlisted_columns: keep\ndatasets:\n"
                   "  p.jsonl:\n    columns: { id: keep }\n")
    outs = []
    for args in (["check", "-c", s.config], ["check", "--json", "-c",
                                              s.config],
                 ["preview", "-c", s.config, "p.jsonl"],
                 ["scan", s.src], ["scan", "--json", s.src]):
        r = spotfs(*args)
        outs.append(r.stdout + r.stderr)
    for o in outs:
        assert "carol" not in o, o
    assert "a key looks like email" in outs[0], outs[0]


# ---------------------------------------------------------------------------
# Held: export review knows raw values of nested JSON Lines fields


EXPORT_RAW = ["zed.quorum@example.org", "Quixotic77", "Hieronymus Bosch",
              "Vermeerlander", "Kandinsky42", "Thelonious9", "Zanzibar88",
              "Matryoshka5"]


def test_held_export_refuses_raw_values_of_nested_jsonl_fields(sandbox,
                                                               tmp_path):
    """Raw values under a hashed nested field, redacted array elements, a
    `*` rule, hashed array strings, unlisted fields at the top, nested,
    and inside nested arrays: each planted alone in an overlay file is
    refused by the export review."""
    s = sandbox()
    rec = {"id": 1, "user": {"email": "zed.quorum@example.org",
                             "nick": "Quixotic77"},
           "messages": [{"role": "user", "content": "Hieronymus Bosch"},
                        {"role": "bot", "content": "Vermeerlander"}],
           "meta": {"k1": {"value": "Kandinsky42"}},
           "secret": "Thelonious9", "tags": ["Zanzibar88", "Oxbridge"],
           "deep": [[{"x": "Matryoshka5"}]]}
    s.write("t.jsonl", json.dumps(rec) + "\n")
    s.write_config(
        "source: @SRC@\nexport: {}\ndatasets:\n  t.jsonl:\n"
        "    as: [jsonl, csv]\n    columns:\n      id: keep\n"
        "      user.email: hash\n      \"messages[].content\": redact\n"
        "      \"messages[].role\": keep\n      \"meta.*.value\": redact\n"
        "      \"tags[]\": hash\n")
    s.mount()
    os.makedirs(s.path("out"))
    passed = []
    for i, v in enumerate(EXPORT_RAW):
        p = s.path("out/f%d.txt" % i)
        with open(p, "w") as f:
            f.write(v + "\n")
        r = spotfs("export", p, str(tmp_path / ("dest%d.txt" % i)))
        if r.returncode == 0:
            passed.append(v)
        assert v not in r.stdout + r.stderr
    assert not passed, passed


# ---------------------------------------------------------------------------
# Held: the sandbox-wide worker pool never carries one role's Lua state into
# another role's build


MEMO_LUA = """local cache = {}
columns = {
  email = function(v, row, ctx)
    local hit = cache[v]
    if hit ~= nil then return hit end
    local out
    if ctx.role == "steward" then out = v else out = mask.hash(v) end
    cache[v] = out
    return out
  end
}
"""


@pytest.mark.parametrize("together", [False, True])
def test_held_pool_workers_never_share_a_memo_cache_across_roles(sandbox,
                                                                together):
    """A policy memoises its column function in a chunk-level table (a
    common pattern) and serves the steward raw e-mails. The CSV (7 MB)
    and JSON Lines (27 MB) files are built in parts on the sandbox's pool
    of 2 workers; the steward (root) builds first or both roles at once.
    If a worker's Lua state outlived a build, the analyst (uid 65534)
    would be served the steward's cached raw values."""
    s = sandbox()
    with open(os.path.join(s.src, "p.csv"), "w") as f:
        f.write("id,email,pad\n")
        for i in range(120000):
            f.write("%d,user%06d@example.org,%s\n" % (i, i % 500, "x" * 30))
    with open(os.path.join(s.src, "p.jsonl"), "w") as f:
        for i in range(300000):
            f.write(json.dumps({"id": i, "email": "user%06d@example.org"
                                % (i % 500), "pad": "x" * 30}) + "\n")
    lua = os.path.join(s.base, "p.lua")
    with open(lua, "w") as f:
        f.write(MEMO_LUA)
    os.chmod(lua, 0o644)
    s.write_config(
        "source: @SRC@\nthreads: 2\nroles:\n  steward: { users: [root] }\n"
        "  analyst: { users: [65534] }\ndatasets:\n"
        "  p.csv:\n    policy: %s\n    columns: { id: keep, pad: keep }\n"
        "  p.jsonl:\n    policy: %s\n    columns: { id: keep, pad: keep }\n"
        % (lua, lua))
    s.mount()
    names = [s.path("p.csv"), s.path("p.jsonl")]
    code = ("import sys\nn = 0\nfor p in sys.argv[1:]:\n"
            "    n += open(p, 'rb').read().count(b'@example.org')\n"
            "print(n)\n")
    analyst = ["setpriv", "--reuid", "65534", "--regid", "65534",
               "--clear-groups", "/usr/bin/python3", "-c", code] + names
    if together:
        a = subprocess.Popen(analyst, stdout=subprocess.PIPE, text=True)
        steward = sum(open(p, "rb").read().count(b"@example.org")
                      for p in names)
        out, _ = a.communicate(timeout=300)
        assert a.returncode == 0
    else:
        steward = sum(open(p, "rb").read().count(b"@example.org")
                      for p in names)
        r = subprocess.run(analyst, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr
        out = r.stdout
    assert steward == 420000  # the steward's own view is raw by design
    assert int(out) == 0, "the analyst was served %s raw e-mails" % out


# ---------------------------------------------------------------------------
# Held: JSON Lines views and their forms streamed past view_memory leave no
# plaintext on disk


def test_held_jsonl_forms_streamed_to_the_store_are_ciphertext(sandbox,
                                                               tmp_path):
    s = sandbox()
    store = str(tmp_path / "store")
    os.makedirs(store)
    with open(os.path.join(s.src, "big.jsonl"), "w") as f:
        for i in range(200000):
            f.write(json.dumps({
                "id": i, "note": "keptzz%07d padding padding" % i,
                "email": "hid%07d@example.org" % i,
                "arr": [{"v": "arrkeep%06d" % i}]}) + "\n")
    s.write_config(
        "source: @SRC@\nview_memory: 1MiB\nstore: %s\ndatasets:\n"
        "  big.jsonl:\n    as: [jsonl, csv, parquet]\n"
        "    columns: { id: keep, note: keep, email: hash, "
        "\"arr[].v\": keep }\n" % store)
    s.mount()
    found = set()
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            found.update(plaintext_files(
                [store, "/dev/shm"], [b"keptzz", b"hid00", b"arrkeep"]))
            time.sleep(0.05)

    t = threading.Thread(target=watch)
    t.start()
    try:
        for n in ("big.jsonl", "big.csv", "big.parquet"):
            with open(s.path(n), "rb") as f:
                data = f.read()
            assert b"hid00" not in data
    finally:
        stop.set()
        t.join()
    assert s.read_log().count("streamed to the store") >= 3, s.read_log()
    assert not found, found


# ---------------------------------------------------------------------------
# Held: DP releases of a JSON Lines dataset honour the row filter


def test_held_dp_count_of_a_jsonl_dataset_follows_the_row_filter(sandbox):
    s = sandbox()
    with open(os.path.join(s.src, "e.jsonl"), "w") as f:
        for i in range(2000):
            f.write(json.dumps({"id": i, "country": ["DE", "FR"][i % 2]})
                    + "\n")
    lua = os.path.join(s.base, "p.lua")
    with open(lua, "w") as f:
        f.write(DROP_LUA)
    s.write_config(
        "source: @SRC@\ndp_budget: { per_role: 100 }\ndatasets:\n"
        "  e.jsonl:\n    policy: %s\n    columns: { id: keep, country: keep }\n"
        "    aggregates:\n      by_c: { kind: count, by: { country: [DE, FR] },"
        " epsilon: 10 }\n" % lua)
    s.mount()
    text = read_or_err(s, "_dp/e.jsonl/by_c.csv")
    rows = dict(l.split(",") for l in text.strip().splitlines()[1:])
    assert abs(int(rows["FR"])) < 20, text  # noise only: the rows are gone
    assert abs(int(rows["DE"]) - 1000) < 20, text


# ---------------------------------------------------------------------------
# Held: export progress on a terminal never writes control bytes of an
# overlay file name


def test_held_export_progress_on_a_tty_escapes_names(sandbox, tmp_path):
    s = sandbox()
    s.write("t.csv", "id\n1\n")
    s.write_config("source: @SRC@\nexport: { max_bytes: 1G }\ndatasets:\n"
                   "  t.csv: { columns: { id: keep } }\n")
    s.mount()
    os.makedirs(s.path("out"))
    chunk = b"".join(b"plain words of a line number %d here\n" % i
                     for i in range(100000))
    for k in range(3):
        with open(os.path.join(s.path("out").encode(),
                               b"%d\x1b]0;PWNED\x07\x1b[2Jx.txt" % k),
                  "wb") as f:
            for _ in range(5):
                f.write(chunk)
    typescript = str(tmp_path / "tty.txt")
    from conftest import SPOTFS
    r = subprocess.run(
        ["script", "-q", "-c", "%s export %s %s" % (
            SPOTFS, s.path("out"), tmp_path / "dest"), typescript],
        capture_output=True, timeout=600)
    with open(typescript, "rb") as f:
        tty = f.read()
    assert b"pass" in tty, tty
    assert b"reviewing out/" in tty, tty  # the progress line showed a name
    assert b"\x1b]0;PWNED" not in tty and b"\x07" not in tty, tty


# ---------------------------------------------------------------------------
# Held: sample: and k_anonymity after a row filter, across the forms of a
# JSON Lines dataset


def test_held_jsonl_forms_serve_one_sample_and_count_after_the_filter(
        sandbox):
    """The CSV form of a sampled JSON Lines dataset holds the very records
    of the JSON Lines form (two samples would serve their union); and
    k_anonymity counts after the row filter (record 1 shares zip A only
    with a dropped record, so it is a class of 1)."""
    s = sandbox()
    with open(os.path.join(s.src, "s.jsonl"), "w") as f:
        for i in range(1000):
            f.write(json.dumps({"id": i, "v": "a"}) + "\n")
    recs = [{"id": 1, "country": "DE", "zip": "A"},
            {"id": 2, "country": "FR", "zip": "A"},
            {"id": 3, "country": "DE", "zip": "B"},
            {"id": 4, "country": "DE", "zip": "B"}]
    s.write("k.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    lua = os.path.join(s.base, "p.lua")
    with open(lua, "w") as f:
        f.write(DROP_LUA)
    s.write_config(
        "source: @SRC@\ndatasets:\n  s.jsonl:\n    as: [jsonl, csv]\n"
        "    sample: 0.1\n    columns: { id: keep, v: keep }\n"
        "  k.jsonl:\n    as: [jsonl, csv]\n    policy: %s\n"
        "    k_anonymity: { quasi: [zip], k: 2 }\n"
        "    columns: { id: keep, zip: keep, country: keep }\n" % lua)
    s.mount()
    a = {json.loads(l)["id"] for l in read_or_err(s, "s.jsonl").splitlines()}
    b = {int(l.split(",")[0]) for l in
         read_or_err(s, "s.csv").splitlines()[1:]}
    assert 40 < len(a) < 200 and a == b, (len(a), len(b), len(a | b))
    for n in ("k.jsonl", "k.csv"):
        text = read_or_err(s, n)
        assert "B" in text and "A" not in text.replace("DE", ""), (n, text)


def test_held_jsonl_error_messages_name_no_key_or_value(sandbox):
    """Duplicate keys that are e-mail addresses or names, a bad escape
    after a value, an e-mail key under a rule's near miss: check, the
    daemon log and the audit log say what is wrong, never the key or the
    value."""
    s = sandbox()
    s.write("dup.jsonl", '{"id":1,"meta":{"carol.q@example.com":1,'
            '"carol.q@example.com":2}}\n')
    s.write("dup2.jsonl", '{"id":1,"Jasmine Payne":1,"Jasmine Payne":2}\n')
    s.write("near.jsonl", '{"id":1,"contact":{"dave.r@example.com":1}}\n')
    s.write("esc.jsonl", '{"id":1,"x":"secretvalue99 \\u00zz"}\n')
    s.write_config(
        "source: @SRC@\ndatasets:\n  dup.jsonl: { columns: { id: keep } }\n"
        "  dup2.jsonl: { columns: { id: keep } }\n"
        "  near.jsonl: { columns: { id: keep, contact.dave: keep } }\n"
        "  esc.jsonl: { columns: { id: keep } }\n")
    r = spotfs("check", "-c", s.config)
    s.mount()
    for n in ("dup.jsonl", "dup2.jsonl", "near.jsonl", "esc.jsonl"):
        assert read_or_err(s, n).startswith("error")
    s.unmount()
    audit = b""
    for n in os.listdir(STATE_DIR):
        with open(os.path.join(STATE_DIR, n), "rb") as f:
            audit += f.read()
    for secret in ("carol", "Jasmine", "dave.r", "secretvalue"):
        assert secret not in r.stdout + r.stderr, r.stdout
        assert secret not in s.read_log(), s.read_log()
        assert secret.encode() not in audit
    assert "duplicate key at byte" in r.stdout, r.stdout


def test_finding_jsonl_parquet_form_types_depend_on_dropped_records(
        sandbox, tmp_path):
    """The dropped record (country FR) holds x as a string; the served
    records hold integers. The Parquet form types x as STRING, where the
    same file without the dropped record gives INT64: the schema tells
    every reader that a hidden record holds a non-integer x (a statistic
    of a hidden row; README, Security model: "a row filter hides the row
    count and every statistic of hidden rows"). Expected: the served
    schema is the one of the served records alone."""
    from conftest import duck
    s = sandbox()
    rows = ['{"id":1,"country":"DE","x":1}\n',
            '{"id":2,"country":"FR","x":"diagnosis-text"}\n',
            '{"id":3,"country":"DE","x":2}\n']
    s.write("v.jsonl", "".join(rows))
    s.write("w.jsonl", rows[0] + rows[2])  # what the filter serves
    lua = os.path.join(s.base, "p.lua")
    with open(lua, "w") as f:
        f.write(DROP_LUA)
    s.write_config(
        "source: @SRC@\ndatasets:\n"
        "  v.jsonl:\n    as: [jsonl, parquet]\n    policy: %s\n"
        "    columns: { id: keep, country: keep, x: keep }\n"
        "  w.jsonl:\n    as: [jsonl, parquet]\n    policy: %s\n"
        "    columns: { id: keep, country: keep, x: keep }\n" % (lua, lua))
    s.mount()
    assert "diagnosis" not in read_or_err(s, "v.jsonl")
    schema = {}
    for n in ("v", "w"):
        dst = str(tmp_path / (n + ".parquet"))
        with open(s.path(n + ".parquet"), "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
        schema[n] = duck(tmp_path, "SELECT name, type FROM parquet_schema("
                         "'%s') WHERE name <> 'schema' ORDER BY name" % dst)
    assert schema["v"] == schema["w"], (
        "the Parquet form's schema depends on a dropped record: %s vs %s"
        % (schema["v"], schema["w"]))


@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_finding_jsonl_forms_name_keys_of_records_sample_leaves_out(sandbox,
                                                                    form):
    """sample: 0.1 serves a keyed tenth of 500 records, each holding a
    vote keyed by its voter's name (keys that are data). The JSON Lines
    form serves about 50 records, but the header of the CSV form (and the
    Parquet form's schema) names every one of the 500 voters. Expected:
    no key of a record the sample leaves out is served."""
    s = sandbox()
    with open(os.path.join(s.src, "s.jsonl"), "w") as f:
        for i in range(500):
            f.write(json.dumps({"id": i, "votes": {
                "Voter Person%04d" % i: 1}}) + "\n")
    s.write_config(
        "source: @SRC@\ndatasets:\n  s.jsonl:\n    as: [jsonl, %s]\n"
        "    sample: 0.1\n    columns: { id: keep, \"votes.*\": keep }\n"
        % form)
    s.mount()
    served = read_or_err(s, "s.jsonl")
    voters_served = served.count("Voter Person")
    assert 10 < voters_served < 150, voters_served
    with open(s.path("s." + form), "rb") as f:
        data = f.read()
    names = set()
    for i in range(500):
        if (b"Voter Person%04d" % i) in data:
            names.add(i)
    assert len(names) <= voters_served, (
        "s.%s names %d voters; the sample serves %d records"
        % (form, len(names), voters_served))


def test_held_pii_key_of_a_dropped_record_still_refuses_every_form(sandbox):
    """The key check runs on every record, dropped ones too: an e-mail
    address as a key in a record the row filter drops still refuses the
    JSON Lines and the CSV form (else the CSV header would serve it)."""
    s = sandbox()
    s.write("v.jsonl", '{"id":1,"country":"DE","votes":{"a":1}}\n'
            '{"id":2,"country":"FR","votes":{"carol.q@example.com":1}}\n')
    lua = os.path.join(s.base, "p.lua")
    with open(lua, "w") as f:
        f.write(DROP_LUA)
    s.write_config(
        "source: @SRC@\ndatasets:\n  v.jsonl:\n    as: [jsonl, csv]\n"
        "    policy: %s\n    columns: { id: keep, country: keep, "
        "\"votes.*\": keep }\n" % lua)
    s.mount()
    for n in ("v.jsonl", "v.csv"):
        assert "carol" not in read_or_err(s, n)


def test_held_access_denied_caller_sees_nothing_of_jsonl_forms_or_dp(
        sandbox):
    """access() denies uid 65534: after root built every form and the DP
    release, the denied caller's stat shows size 0 and opens fail."""
    s = sandbox()
    with open(os.path.join(s.src, "e.jsonl"), "w") as f:
        for i in range(100):
            f.write(json.dumps({"id": i, "country": ["DE", "FR"][i % 2]})
                    + "\n")
    lua = os.path.join(s.base, "p.lua")
    with open(lua, "w") as f:
        f.write('function access(ctx) return ctx.uid ~= 65534, "no" end\n')
    os.chmod(lua, 0o644)
    s.write_config(
        "source: @SRC@\ndp_budget: { per_role: 100 }\ndatasets:\n"
        "  e.jsonl:\n    as: [jsonl, csv, parquet]\n    policy: %s\n"
        "    columns: { id: keep, country: keep }\n    aggregates:\n"
        "      by_c: { kind: count, by: { country: [DE, FR] }, epsilon: 1 }\n"
        % lua)
    s.mount()
    names = ["e.jsonl", "e.csv", "e.parquet", "_dp/e.jsonl/by_c.csv",
             "_dp/e.jsonl/by_c.json"]
    for n in names:  # root's role pays and builds everything first
        assert not read_or_err(s, n).startswith("error"), n
        assert os.stat(s.path(n)).st_size > 0
    code = ("import json, os, sys\nout = []\nfor p in sys.argv[1:]:\n"
            "    size = os.stat(p).st_size\n    try:\n"
            "        open(p, 'rb').read(); ok = True\n"
            "    except OSError:\n        ok = False\n"
            "    out.append([size, ok])\nprint(json.dumps(out))\n")
    r = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534",
                        "--clear-groups", "/usr/bin/python3", "-c", code]
                       + [s.path(n) for n in names],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [[0, False]] * len(names), r.stdout

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 11, finding 4: a crafted Parquet footer must not turn a masked
column's pages into served bytes. The only source bytes a Parquet view
serves are the column chunks of unmasked columns (and their bloom
filters), after the footer passed structural validation: every range
inside the data area, ranges disjoint from each other, served chunks'
page headers walking exactly to their stated size. Anything else is
refused: EIO at read, and `spotfs check` names the column and row group.

The files are written here byte by byte (a small Thrift compact writer,
stdlib only), uncompressed so raw strings are visible, and gzip-compressed
so the scan must decompress: every served byte is scanned, raw and
through zlib at every gzip header."""
import errno
import gzip
import json
import os
import struct
import zlib

import pytest

from conftest import spotfs
from test_parquet_mount import NODE_MODULES, duck

ROWS = 40
IDS = [("id-%04d" % i).encode() for i in range(ROWS)]
EMAILS = [("person%04d@raw-secret.example" % i).encode() for i in range(ROWS)]
CITIES = [("city-%d" % (i % 5)).encode() for i in range(ROWS)]

# ---- Thrift compact protocol (writer) ----

T_TRUE, T_FALSE, T_I32, T_I64, T_BIN, T_LIST, T_STRUCT = 1, 2, 5, 6, 8, 9, 12


def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(n):
    return uvarint((n << 1) ^ (n >> 63))


class I32(int):
    pass


class I64(int):
    pass


class Lst(list):
    def __init__(self, etype, items):
        super().__init__(items)
        self.etype = etype


def tval(v):
    """(compact type, encoded body) of a Python value."""
    if isinstance(v, bool):
        return (T_TRUE if v else T_FALSE), b""
    if isinstance(v, I64):
        return T_I64, zigzag(int(v))
    if isinstance(v, int):
        return T_I32, zigzag(int(v))
    if isinstance(v, bytes):
        return T_BIN, uvarint(len(v)) + v
    if isinstance(v, str):
        return tval(v.encode())
    if isinstance(v, dict):
        return T_STRUCT, tstruct(v)
    if isinstance(v, Lst):
        n = len(v)
        head = bytes([(n << 4) | v.etype]) if n < 15 else bytes([0xF0 | v.etype]) + uvarint(n)
        body = b""
        for e in v:
            t, b = tval(e)
            if v.etype == T_TRUE:  # bools in lists: one byte
                b = bytes([1 if e else 2])
            body += b
        return T_LIST, head + body
    raise TypeError(v)


def tstruct(fields):
    """A struct from {field id: value}; None values are left out."""
    out, last = bytearray(), 0
    for fid in sorted(fields):
        v = fields[fid]
        if v is None:
            continue
        t, body = tval(v)
        delta = fid - last
        if 0 < delta <= 15:
            out.append((delta << 4) | t)
        else:
            out.append(t)
            out += zigzag(fid)
        out += body
        last = fid
    out.append(0)
    return bytes(out)


# ---- a small Parquet writer: required UTF8 columns, PLAIN v1 pages ----

CODEC = {"none": 0, "gzip": 2}


def compress(codec, data):
    if codec == "gzip":
        return gzip.compress(data, mtime=0)
    return data


def data_page(values, codec):
    body = b"".join(struct.pack("<I", len(v)) + v for v in values)
    comp = compress(codec, body)
    hdr = tstruct({1: 0, 2: len(body), 3: len(comp),
                   5: {1: len(values), 2: 0, 3: 3, 4: 3}})
    return hdr + comp, len(hdr) + len(body)


def dict_page(values, codec):
    body = b"".join(struct.pack("<I", len(v)) + v for v in values)
    comp = compress(codec, body)
    hdr = tstruct({1: 2, 2: len(body), 3: len(comp), 7: {1: len(values), 2: 0}})
    return hdr + comp, len(hdr) + len(body)


def dict_data_page(idx, nbits, codec):
    """RLE_DICTIONARY indexes as one bit-packed run (groups of 8)."""
    n = len(idx)
    groups = (n + 7) // 8
    bits, acc, nacc = bytearray(), 0, 0
    for i in range(groups * 8):
        acc |= (idx[i] if i < n else 0) << nacc
        nacc += nbits
        while nacc >= 8:
            bits.append(acc & 0xFF)
            acc >>= 8
            nacc -= 8
    body = bytes([nbits]) + uvarint((groups << 1) | 1) + bytes(bits)
    comp = compress(codec, body)
    hdr = tstruct({1: 0, 2: len(body), 3: len(comp),
                   5: {1: n, 2: 8, 3: 3, 4: 3}})
    return hdr + comp, len(hdr) + len(body)


def build(cols, codec="none", groups=1, pages=2, dictionary=(), blooms=(),
          page_index=False):
    """A Parquet file of the named columns ({name: values}). Returns the
    bytes before the footer, the footer's FileMetaData as a dict tree (to be
    edited by the attack) and the chunks' (start, csize) by (group, name)."""
    names = list(cols)
    out = bytearray(b"PAR1")
    rgs, where = [], {}
    per = ROWS // groups
    for g in range(groups):
        rg_cols, total = [], 0
        for name in names:
            vals = cols[name][g * per:(g + 1) * per]
            start = len(out)
            usize = 0
            dict_off = None
            if name in dictionary:
                uniq = sorted(set(vals))
                p, u = dict_page(uniq, codec)
                dict_off = start
                out += p
                usize += u
                data_off = len(out)
                p, u = dict_data_page([uniq.index(v) for v in vals],
                                      max(1, (len(uniq) - 1).bit_length()), codec)
                out += p
                usize += u
            else:
                data_off = start
                step = (len(vals) + pages - 1) // pages
                for i in range(0, len(vals), step):
                    p, u = data_page(vals[i:i + step], codec)
                    out += p
                    usize += u
            csize = len(out) - start
            total += csize
            where[(g, name)] = (start, csize)
            md = {1: 6, 2: Lst(T_I32, [0, 3] + ([8] if dict_off else [])),
                  3: Lst(T_BIN, [name]), 4: CODEC[codec], 5: I64(len(vals)),
                  6: I64(usize), 7: I64(csize), 9: I64(data_off)}
            if dict_off is not None:
                md[11] = I64(dict_off)
            rg_cols.append({2: I64(start), 3: md})
        rgs.append({1: Lst(T_STRUCT, rg_cols), 2: I64(total), 3: I64(per)})
    for (g, name) in blooms:
        # A split-block bloom filter of one 32-byte block (bits all set:
        # the content does not matter here, its layout does).
        off = len(out)
        hdr = tstruct({1: 32, 2: {1: {}}, 3: {1: {}}, 4: {1: {}}})
        out += hdr + b"\xff" * 32
        md = rgs[g][1][names.index(name)][3]
        md[14] = I64(off)
        md[15] = I32(len(hdr) + 32)
    if page_index:
        # Column and offset indexes after the data, as writers put them.
        # spotfs neither reads nor serves them; their ranges only count for
        # the layout check (they must not overlap anything).
        for kind in (6, 4):
            for g in range(groups):
                for c in range(len(names)):
                    cc = rgs[g][1][c]
                    cc[kind] = I64(len(out))
                    cc[kind + 1] = I32(24)
                    out += b"\x15\x00" * 12
    schema = [{4: "schema", 5: len(names)}] + \
        [{1: 6, 3: 0, 4: n, 6: 0} for n in names]
    fmd = {1: 1, 2: Lst(T_STRUCT, schema), 3: I64(per * groups),
           4: Lst(T_STRUCT, rgs), 6: "spotfs test writer"}
    return out, fmd, where


def finish(body, fmd):
    footer = tstruct(fmd)
    return bytes(body) + footer + struct.pack("<I", len(footer)) + b"PAR1"


def md_of(fmd, g, col):
    return fmd[4][g][1][col][3]


# ---- scanning served bytes ----

def leaked(data, secrets):
    """Secrets found in data, raw or inside any gzip stream in it."""
    found = {s for s in secrets if s in data}
    pos = data.find(b"\x1f\x8b\x08")
    while pos >= 0:
        try:
            plain = zlib.decompressobj(wbits=31).decompress(data[pos:], 1 << 24)
        except zlib.error:
            plain = b""
        found |= {s for s in secrets if s in plain}
        pos = data.find(b"\x1f\x8b\x08", pos + 1)
    return found


def config(files, masked_city=False):
    cfg = "source: @SRC@\ndatasets:\n"
    for f in files:
        cfg += ("  %s:\n    columns:\n      id: keep\n      email: { method: hash }\n"
                "      city: %s\n" % (f, "hash" if masked_city else "keep"))
    return cfg


def audit_events(mnt):
    r = spotfs("list", "--json", "--all")
    sid = [e["id"] for e in json.loads(r.stdout)
           if e.get("mountpoint") == os.path.realpath(mnt)][0]
    out = spotfs("audit", "--sandbox", sid, "--json").stdout
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def served_or_errno(path):
    try:
        with open(path, "rb") as fp:
            return fp.read(), 0
    except OSError as e:
        return None, e.errno


def mount_one(sandbox, name, data, masked_city=False):
    s = sandbox(name)
    s.write("t.parquet", data)
    s.write_config(config(["t.parquet"], masked_city))
    return s


def three_cols():
    return {"id": IDS, "email": EMAILS, "city": CITIES}


# ---- a valid layout still works ----

def valid_layout(codec="none"):
    """Two row groups, a dictionary page for id, bloom filters for id and
    email, page indexes for every column: everything a writer may put
    around the chunks, laid out validly."""
    return build(three_cols(), codec, groups=2, dictionary=("id",),
                 blooms=((0, "id"), (1, "id"), (0, "email"), (1, "email")),
                 page_index=True)


@pytest.mark.parametrize("codec", ["none", "gzip"])
def test_valid_layouts_are_served(sandbox, tmp_path, codec):
    """The validation refuses nothing a writer makes: dictionary pages,
    several row groups, bloom filters and page indexes around the chunks.
    Unmasked chunks and id's bloom filters are served byte for byte, no
    raw email is served, and DuckDB reads the served file."""
    body, fmd, where = valid_layout(codec)
    data = finish(body, fmd)
    s = mount_one(sandbox, "ok", data)
    r = spotfs("check", "-c", s.config)
    assert r.returncode == 0, r.stdout + r.stderr
    s.mount()
    got, err = served_or_errno(s.path("t.parquet"))
    assert err == 0 and got[:4] == b"PAR1" and got[-4:] == b"PAR1"
    assert not leaked(got, EMAILS)
    for g in range(2):
        for name in ("id", "city"):
            a, n = where[(g, name)]
            assert data[a:a + n] in got, (g, name)
        md = md_of(fmd, g, 0)
        assert data[md[14]:md[14] + md[15]] in got, "id's bloom filter"
    if os.path.isdir(NODE_MODULES):
        rows = duck(tmp_path, "SELECT id, email, city FROM '%s'" % s.path("t.parquet"))
        assert [r[0] for r in rows] == [v.decode() for v in IDS]
        assert [r[2] for r in rows] == [v.decode() for v in CITIES]
        assert all(r[1] and r[1].encode() not in EMAILS for r in rows)


# ---- the attacks ----

def widen_over_masked(codec):
    """id's chunk widened to run over the email chunk that follows it."""
    body, fmd, where = build(three_cols(), codec)
    s_id, c_id = where[(0, "id")]
    s_em, c_em = where[(0, "email")]
    md = md_of(fmd, 0, 0)
    md[7] = I64(s_em + c_em - s_id)
    md[6] = I64(md[6] + c_em)
    return finish(body, fmd)


@pytest.mark.parametrize("codec", ["none", "gzip"])
def test_crafted_footer_cannot_widen_an_unmasked_chunk_over_a_masked_one(sandbox, codec):
    """The reviewer's file: `id` (kept) declares a total_compressed_size
    that runs over the `email` (hashed) chunk. Serving the "unmasked" chunk
    byte for byte would hand out every raw email. The file is refused:
    check names the column and row group, reads give EIO, and nothing the
    mount serves holds a raw email."""
    data = widen_over_masked(codec)
    assert leaked(data, EMAILS) == set(EMAILS)  # the scan sees them in the source
    s = mount_one(sandbox, "widen", data)
    r = spotfs("check", "-c", s.config)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "t.parquet" in out and "row group 0" in out and '"id"' in out, out
    assert not leaked(out.encode(), EMAILS)
    s.mount()
    got, err = served_or_errno(s.path("t.parquet"))
    assert got is None or not leaked(got, EMAILS), "raw emails served"
    assert err == errno.EIO
    events = audit_events(s.mnt)
    errs = [e for e in events if e.get("path") == "t.parquet" and e.get("decision") == "error"]
    assert errs and "row group 0" in json.dumps(errs), events
    assert not leaked(json.dumps(events).encode(), EMAILS)
    s.unmount()
    assert not leaked(open(s.log, "rb").read(), EMAILS)


def _variant(name, codec="none"):
    """Hostile footers an attacker would try next. Each returns the file."""
    cols = three_cols()
    if name == "widen_backwards":
        # email first, then id whose data_page_offset moves back over email
        cols = {"email": EMAILS, "id": IDS, "city": CITIES}
        body, fmd, where = build(cols, codec)
        s_em, _ = where[(0, "email")]
        s_id, c_id = where[(0, "id")]
        md = md_of(fmd, 0, 1)
        md[9] = I64(s_em)
        md[7] = I64(s_id + c_id - s_em)
        return finish(body, fmd)
    if name == "two_unmasked_overlap":
        body, fmd, where = build({"id": IDS, "city": CITIES, "email": EMAILS}, codec)
        s_c, c_c = where[(0, "city")]
        s_id, c_id = where[(0, "id")]
        md = md_of(fmd, 0, 0)
        md[7] = I64(c_id + c_c // 2)
        return finish(body, fmd)
    if name == "across_row_groups":
        # row group 0's id chunk runs into row group 1's email chunk
        body, fmd, where = build(cols, codec, groups=2)
        s_id, _ = where[(0, "city")]
        s_em, c_em = where[(1, "email")]
        md = md_of(fmd, 0, 2)
        md[7] = I64(s_em + c_em - s_id)
        return finish(body, fmd)
    if name == "over_footer":
        body, fmd, where = build(cols, codec)
        s_c, c_c = where[(0, "city")]
        md = md_of(fmd, 0, 2)
        md[7] = I64(c_c + 40)
        return finish(body, fmd)
    if name == "beyond_eof":
        body, fmd, where = build(cols, codec)
        md_of(fmd, 0, 0)[9] = I64(len(body) + 100000)
        return finish(body, fmd)
    if name == "negative_size":
        body, fmd, where = build(cols, codec)
        md_of(fmd, 0, 0)[7] = I64(-5)
        return finish(body, fmd)
    if name == "huge_size":
        body, fmd, where = build(cols, codec)
        md_of(fmd, 0, 0)[7] = I64((1 << 63) - 1)
        return finish(body, fmd)
    if name == "dict_offset_into_masked":
        # email first; id's dictionary_page_offset points at email's pages
        cols = {"email": EMAILS, "id": IDS, "city": CITIES}
        body, fmd, where = build(cols, codec, dictionary=("id",))
        s_em, _ = where[(0, "email")]
        md_of(fmd, 0, 1)[11] = I64(s_em)
        return finish(body, fmd)
    if name == "dict_offset_after_data":
        # id's dictionary_page_offset points forward into the email chunk
        body, fmd, where = build(cols, codec)
        s_em, _ = where[(0, "email")]
        md_of(fmd, 0, 0)[11] = I64(s_em)
        return finish(body, fmd)
    if name == "page_runs_past_chunk":
        # id's only page claims to run on over the email chunk; the chunk
        # size is unchanged. A reader would take email's pages as id's.
        body, fmd, where = build(cols, codec, pages=1)
        s_id, c_id = where[(0, "id")]
        s_em, c_em = where[(0, "email")]
        plain = b"".join(struct.pack("<I", len(v)) + v for v in IDS)
        comp = compress(codec, plain)
        new = tstruct({1: 0, 2: len(plain) + c_em, 3: len(comp) + c_em,
                       5: {1: ROWS, 2: 0, 3: 3, 4: 3}})
        assert len(new + comp) == c_id  # same varint widths
        body[s_id:s_id + c_id] = new + comp
        return finish(body, fmd)
    if name == "values_do_not_add_up":
        body, fmd, where = build(cols, codec)
        md_of(fmd, 0, 0)[5] = I64(ROWS + 7)
        return finish(body, fmd)
    if name == "pages_do_not_add_up":
        # chunk and row group agree, the pages hold fewer values
        body, fmd, where = build(cols, codec)
        md_of(fmd, 0, 0)[5] = I64(ROWS + 7)
        fmd[4][0][3] = I64(ROWS + 7)
        fmd[3] = I64(ROWS + 7)
        return finish(body, fmd)
    if name == "data_offset_inside_page":
        body, fmd, where = build(cols, codec, dictionary=("id",))
        md = md_of(fmd, 0, 0)
        md[9] = I64(md[9] + 3)
        return finish(body, fmd)
    if name == "bloom_over_masked":
        # id's bloom filter range is email's chunk: served byte for byte
        body, fmd, where = build(cols, codec)
        s_em, c_em = where[(0, "email")]
        md = md_of(fmd, 0, 0)
        md[14] = I64(s_em)
        md[15] = I32(c_em)
        return finish(body, fmd)
    if name == "bloom_shared_with_masked":
        body, fmd, where = build(cols, codec, blooms=((0, "email"),))
        em = md_of(fmd, 0, 1)
        md = md_of(fmd, 0, 0)
        md[14], md[15] = em[14], em[15]
        return finish(body, fmd)
    if name == "bloom_over_index_without_length":
        # email's column index (min/max of raw values in a real file) is
        # declared by offset only, inside id's served bloom filter
        body, fmd, where = build(cols, codec, blooms=((0, "id"),))
        fmd[4][0][1][1][6] = I64(md_of(fmd, 0, 0)[14] + 12)
        return finish(body, fmd)
    if name == "bloom_over_footer":
        body, fmd, where = build(cols, codec, blooms=((0, "id"),))
        md = md_of(fmd, 0, 0)
        md[15] = I32(md[15] + 30)
        return finish(body, fmd)
    raise KeyError(name)


VARIANTS = ["widen_backwards", "two_unmasked_overlap", "across_row_groups",
            "over_footer", "beyond_eof", "negative_size", "huge_size",
            "dict_offset_into_masked", "dict_offset_after_data",
            "page_runs_past_chunk", "values_do_not_add_up", "pages_do_not_add_up",
            "data_offset_inside_page", "bloom_over_masked",
            "bloom_shared_with_masked", "bloom_over_index_without_length",
            "bloom_over_footer"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_hostile_layouts_are_refused(sandbox, variant):
    """Every hostile layout is refused as a whole (EIO, check exit 1 naming
    the column and row group), and no served byte holds a raw email.
    The good file next to it keeps working."""
    bad = _variant(variant, "gzip" if variant.endswith("past_chunk") else "none")
    good = finish(*build(three_cols())[:2])
    s = sandbox("v")
    s.write("bad.parquet", bad)
    s.write("good.parquet", good)
    s.write_config(config(["bad.parquet", "good.parquet"]))
    r = spotfs("check", "-c", s.config)
    out = r.stdout + r.stderr
    errs = [l for l in out.splitlines() if "error:" in l]
    assert r.returncode == 1 and errs, out
    assert all("bad.parquet" in l and "row group" in l for l in errs), out
    assert not leaked(out.encode(), EMAILS)
    s.mount()
    got, err = served_or_errno(s.path("bad.parquet"))
    assert got is None or not leaked(got, EMAILS), "raw emails served"
    assert err == errno.EIO, (variant, err)
    ok, err = served_or_errno(s.path("good.parquet"))
    assert err == 0 and ok[:4] == b"PAR1" and not leaked(ok, EMAILS)
    s.unmount()
    assert not leaked(open(s.log, "rb").read(), EMAILS)


# ---- Round 2: free-form metadata is never served ----
#
# The footer and the page headers may carry text the producer wrote that no
# policy ever allowed: file and column key/value metadata, unknown fields,
# created_by, the schema root's name. A served footer keeps only what is
# structural; `ARROW:schema` and `pandas` only for a view that changes
# nothing (no masked or redacted column, no row filter). Under a row filter
# nothing computed over hidden rows (row count, statistics) is served.

MD_SECRETS = [b"KVSECRET-file", b"KVSECRET-col", b"UNKSECRET-fmd", b"UNKSECRET-se",
              b"UNKSECRET-rg", b"UNKSECRET-cc", b"UNKSECRET-md", b"UNKSECRET-st",
              b"UNKSECRET-lt", b"ROOTSECRET", b"CREATEDSECRET", b"SIGNSECRET"]
PANDAS_MD = json.dumps({"index_columns": [{"kind": "range", "name": None, "start": 0,
                                           "stop": ROWS, "step": 1}],
                        "columns": [], "creator": {"library": "pyarrow"}})
ARROW_MD = "/////3gAAAAQAAAAAAAKAAwABgAFAAgACgAAAAABBAAMAAAACAAIAAAABAAIAAAABAAAAAAAAAA="
# rows the row filter hides (city-1): their ids must not be served
HIDDEN = [IDS[i] for i in range(ROWS) if i % 5 == 1]


def planted(page_unknown=False, note=True):
    """Two row groups of id, email, city (one page per chunk), with
    free-form text planted in every place the footer can carry it and
    statistics (chunk and page) naming a row the filter hides."""
    names = ["id", "email", "city"]
    cols = three_cols()
    out = bytearray(b"PAR1")
    per = ROWS // 2
    rgs = []
    for g in range(2):
        ccs = []
        for c, name in enumerate(names):
            vals = cols[name][g * per:(g + 1) * per]
            body = b"".join(struct.pack("<I", len(v)) + v for v in vals)
            dph = {1: len(vals), 2: 0, 3: 3, 4: 3,
                   5: {3: I64(0), 5: max(vals), 6: vals[1]}}
            ph = {1: 0, 2: len(body), 3: len(body), 5: dph}
            if page_unknown and name == "id":
                ph[30] = "UNKSECRET-page"
            page = tstruct(ph) + body
            start = len(out)
            out += page
            md = {1: 6, 2: Lst(T_I32, [0, 3]), 3: Lst(T_BIN, [name]), 4: 0,
                  5: I64(len(vals)), 6: I64(len(page)), 7: I64(len(page)),
                  8: Lst(T_STRUCT, [{1: "colnote", 2: "KVSECRET-col"}]),
                  9: I64(start),
                  12: {3: I64(0), 4: I64(len(set(vals))), 5: max(vals), 6: vals[1],
                       30: "UNKSECRET-st"},
                  13: Lst(T_STRUCT, [{1: 0, 2: 0, 3: 1, 30: "UNKSECRET-st"}]),
                  30: "UNKSECRET-md"}
            ccs.append({2: I64(start), 3: md, 30: "UNKSECRET-cc"})
        rgs.append({1: Lst(T_STRUCT, ccs), 2: I64(0), 3: I64(per),
                    4: Lst(T_STRUCT, [{1: 1, 2: False, 3: True}]),
                    30: "UNKSECRET-rg"})
    schema = [{4: "ROOTSECRET", 5: 3}] + \
        [{1: 6, 3: 0, 4: n, 6: 0, 10: {1: {30: "UNKSECRET-lt"}}, 30: "UNKSECRET-se"}
         for n in names]
    kv = [{1: "note", 2: "KVSECRET-file"}] if note else []
    kv += [{1: "pandas", 2: PANDAS_MD}, {1: "ARROW:schema", 2: ARROW_MD}]
    fmd = {1: 1, 2: Lst(T_STRUCT, schema), 3: I64(ROWS), 4: Lst(T_STRUCT, rgs),
           5: Lst(T_STRUCT, kv), 6: "CREATEDSECRET version 1.0",
           7: Lst(T_STRUCT, [{1: {}}] * 3), 9: b"SIGNSECRET", 30: "UNKSECRET-fmd"}
    return finish(out, fmd)


def views_sandbox(sandbox, name, data):
    """The same file served as keep (every column kept), masked (email
    hashed) and filtered (every column kept, rows of city-1 hidden)."""
    s = sandbox(name)
    for f in ("keep", "masked", "filtered"):
        s.write(f + ".parquet", data)
    pol = os.path.join(s.base, "rows.lua")
    with open(pol, "w") as f:
        f.write("function row(r, ctx) return r.city ~= 'city-1' end\n")
    s.write_config("source: @SRC@\ndatasets:\n"
                   "  keep.parquet: { columns: { id: keep, email: keep, city: keep } }\n"
                   "  masked.parquet: { columns: { id: keep, email: hash, city: keep } }\n"
                   "  filtered.parquet:\n    policy: %s\n"
                   "    columns: { id: keep, email: keep, city: keep }\n" % pol)
    return s


def kv_keys(tmp_path, path):
    return sorted(r[0] for r in duck(tmp_path, "SELECT decode(key) FROM "
                                     "parquet_kv_metadata('%s')" % path))


def test_parquet_free_form_metadata_is_not_served(sandbox, tmp_path):
    """Custom key/value metadata (file and column level), unknown fields at
    every level of the footer, the schema root's name and a free-form
    created_by are in no served byte of any view; DuckDB reads every view.
    With a custom key the embedded schemas go too (Arrow writers copy
    custom metadata into ARROW:schema)."""
    s = views_sandbox(sandbox, "kv", planted())
    s.mount()
    for f in ("keep", "masked", "filtered"):
        got, err = served_or_errno(s.path(f + ".parquet"))
        assert err == 0, (f, err)
        assert not leaked(got, MD_SECRETS), (f, leaked(got, MD_SECRETS))
    assert not leaked(open(s.log, "rb").read(), MD_SECRETS)
    if not os.path.isdir(NODE_MODULES):
        return
    assert kv_keys(tmp_path, s.path("keep.parquet")) == []
    assert kv_keys(tmp_path, s.path("masked.parquet")) == []
    assert kv_keys(tmp_path, s.path("filtered.parquet")) == []
    for f in ("keep", "masked"):
        rows = duck(tmp_path, "SELECT id, city FROM '%s'" % s.path(f + ".parquet"))
        assert [r[0].encode() for r in rows] == IDS, f
    for f in ("keep", "masked", "filtered"):
        p = s.path(f + ".parquet")
        cols = duck(tmp_path, "SELECT DISTINCT path_in_schema, cardinality(key_value_metadata) "
                    "FROM parquet_metadata('%s')" % p)
        assert sorted(cols) == [["city", 0], ["email", 0], ["id", 0]], (f, cols)
        assert duck(tmp_path, "SELECT created_by FROM parquet_file_metadata('%s')"
                    % p) == [[None]], f


def test_parquet_row_filter_reveals_no_hidden_rows_in_metadata(sandbox, tmp_path):
    """Under a row filter the served footer and page headers hold nothing
    computed over hidden rows: no original row count (pandas RangeIndex,
    num_rows), no statistic naming a hidden value, and no hidden value in
    any served byte."""
    s = views_sandbox(sandbox, "rf", planted())
    s.mount()
    got, err = served_or_errno(s.path("filtered.parquet"))
    assert err == 0
    assert not leaked(got, HIDDEN), leaked(got, HIDDEN)
    assert b'"stop": %d' % ROWS not in got
    if not os.path.isdir(NODE_MODULES):
        return
    p = s.path("filtered.parquet")
    kept = ROWS - len(HIDDEN)
    assert duck(tmp_path, "SELECT num_rows FROM parquet_file_metadata('%s')" % p)[0][0] == kept
    assert duck(tmp_path, "SELECT count(*) FROM '%s'" % p)[0][0] == kept
    stats = duck(tmp_path, "SELECT path_in_schema, stats_min_value, stats_max_value, "
                 "stats_null_count, stats_distinct_count, num_values "
                 "FROM parquet_metadata('%s')" % p)
    for name, mn, mx, nulls, distinct, nvals in stats:
        assert mn is None and mx is None and distinct is None, (name, mn, mx, distinct)
        assert nulls in (None, 0) and nvals == kept // 2, (name, nulls, nvals)


def test_parquet_page_header_free_form_fields_fail_closed(sandbox, tmp_path):
    """A page header of a column served byte for byte that carries a field
    Parquet does not define is not served: the file gives EIO (fail
    closed), and nothing of it reaches the log."""
    s = views_sandbox(sandbox, "ph", planted(page_unknown=True))
    s.mount()
    for f in ("keep", "masked"):
        got, err = served_or_errno(s.path(f + ".parquet"))
        assert got is None or b"UNKSECRET-page" not in got, f
        assert err == errno.EIO, (f, err)
    # Re-encoded (row filter: every column rewritten): served, scrubbed.
    got, err = served_or_errno(s.path("filtered.parquet"))
    assert err == 0 and b"UNKSECRET-page" not in got
    s.unmount()
    assert b"UNKSECRET" not in open(s.log, "rb").read()


def test_parquet_embedded_schemas_only_for_unchanged_views(sandbox, tmp_path):
    """ARROW:schema and pandas (the source's types and row count) are
    served only by a view that changes nothing: not once a column is
    masked, nor under a row filter; DuckDB reads all three."""
    s = views_sandbox(sandbox, "emb", planted(note=False))
    s.mount()
    got = {f: served_or_errno(s.path(f + ".parquet")) for f in ("keep", "masked", "filtered")}
    assert all(err == 0 for _, err in got.values())
    assert PANDAS_MD.encode() in got["keep"][0]
    for f in ("masked", "filtered"):
        assert b"pandas" not in got[f][0] and ARROW_MD.encode() not in got[f][0], f
    if not os.path.isdir(NODE_MODULES):
        return
    assert kv_keys(tmp_path, s.path("keep.parquet")) == ["ARROW:schema", "pandas"]
    assert kv_keys(tmp_path, s.path("masked.parquet")) == []
    assert kv_keys(tmp_path, s.path("filtered.parquet")) == []
    for f in ("keep", "masked", "filtered"):
        n = duck(tmp_path, "SELECT count(*), count(DISTINCT id) FROM '%s'" % s.path(f + ".parquet"))[0]
        assert n == ([ROWS, ROWS] if f != "filtered" else [ROWS - len(HIDDEN)] * 2), (f, n)


def test_parquet_bloom_header_free_form_fields_fail_closed(sandbox):
    """A bloom filter header of an unmasked column (served byte for byte)
    that carries a field Parquet does not define is not served: EIO."""
    body, fmd, where = build(three_cols())
    off = len(body)
    hdr = tstruct({1: 32, 2: {1: {}}, 3: {1: {}}, 4: {1: {}}, 30: "UNKSECRET-bloom"})
    body += hdr + b"\xff" * 32
    md = md_of(fmd, 0, 0)
    md[14] = I64(off)
    md[15] = I32(len(hdr) + 32)
    s = mount_one(sandbox, "bh", finish(body, fmd))
    s.mount()
    got, err = served_or_errno(s.path("t.parquet"))
    assert got is None or b"UNKSECRET-bloom" not in got
    assert err == errno.EIO, err


@pytest.mark.parametrize("path", [["KVSECRET-path"], ["id", "KVSECRET-path"], []])
def test_parquet_path_in_schema_must_name_the_column(sandbox, path):
    """A column chunk's path_in_schema is kept in the served footer: one
    that is not the schema's path of its column is refused (EIO, check
    names the column), never served."""
    body, fmd, where = build(three_cols())
    md_of(fmd, 0, 0)[3] = Lst(T_BIN, path)
    s = mount_one(sandbox, "pis", finish(body, fmd))
    r = spotfs("check", "-c", s.config)
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "path_in_schema" in out and b"KVSECRET" not in out.encode(), out
    s.mount()
    got, err = served_or_errno(s.path("t.parquet"))
    assert got is None and err == errno.EIO, err

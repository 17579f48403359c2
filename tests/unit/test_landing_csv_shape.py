"""Which CSV files the engine's CSV reader may read (``_CsvShape``, fed by inspection): every
record one line with the header's field count, in strict quoting. Each text is fed whole and cut
in two at every position (inspection reads pieces), with the same answer; and the Python
locator finds a row back by the key the engine builds."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest

from theater.sources import landing as landing_mod
from theater.sources.landing import Prepared, _CsvShape, csv_row_key, locate_csv_rows

H = ("a", "b", "c")
PLAIN = {
    "quoted": '"a","b","c"\n"x,1","he said ""hi""",\n"é€",,"3"\n',
    "crlf, no end": "a,b,c\r\n1,2,3\r\n4,5,6",
    "bom": "\ufeffa,b,c\n1,2,3\n",
    "header only": "a,b,c\n",
}
NOT_PLAIN = {
    "ragged short": "a,b,c\n1,2\n",
    "ragged long": "a,b,c\n1,2,3\n1,2,3,4\n",
    "quoted line break": 'a,b,c\n1,"x\ny",3\n',
    "blank line": "a,b,c\n1,2,3\n\n4,5,6\n",
    "text after a closing quote": 'a,b,c\n"x"y,2,3\n',
    "lone carriage return": "a,b,c\n1,2\r,3\n",
    "unclosed quote": 'a,b,c\n1,2,"3\n',
    "one column": "a\n1\n",
    "header across lines": '"a\nb",c\n1,2\n',
}


def shape(text: str, cut: int | None = None) -> tuple[str, ...] | None:
    s = _CsvShape()
    if cut is None:
        s.feed(text)
    else:
        s.feed(text[:cut])
        s.feed(text[cut:])
    return s.finish()


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_plain_text_gives_its_header_however_it_is_cut(name):
    text = PLAIN[name]
    assert shape(text) == H
    assert {shape(text, k) for k in range(len(text) + 1)} == {H}


@pytest.mark.parametrize("name", sorted(NOT_PLAIN))
def test_other_text_is_left_to_python_however_it_is_cut(name):
    text = NOT_PLAIN[name]
    assert shape(text) is None
    assert {shape(text, k) for k in range(len(text) + 1)} == {None}


def test_inspection_gives_the_header_only_for_plain_single_member_files(tmp_path):
    plain = tmp_path / "p.csv"
    plain.write_text(PLAIN["quoted"])
    ragged = tmp_path / "r.csv"
    ragged.write_text(NOT_PLAIN["ragged short"])
    one = tmp_path / "one.csv.gz"
    one.write_bytes(gzip.compress(PLAIN["quoted"].encode()))
    two = tmp_path / "two.csv.gz"  # two gzip members: left to Python
    two.write_bytes(gzip.compress(b"a,b,c\n1,2,3\n") + gzip.compress(b"4,5,6\n"))
    undecodable = tmp_path / "u.csv"
    undecodable.write_bytes(b"a,b,c\n1,\xff,3\n")
    got = {
        p.name: landing_mod._inspect(str(p), "csv", p.name.endswith(".gz"))[1]
        for p in (plain, ragged, one, two, undecodable)
    }
    assert got == {"p.csv": H, "r.csv": None, "one.csv.gz": H, "two.csv.gz": None, "u.csv": None}


def test_header_names_the_engine_may_take():
    from theater.contracts import contract

    c = contract("interactions")
    ok = landing_mod.engine_reads_header
    assert ok(("event_id", "user_id", "seat"), c)
    assert not ok(("event_id", "EVENT_ID"), c)  # the same name to the engine
    assert not ok(("Event_Id", "user_id"), c)  # a contract name in other case
    assert not ok(("event_id", ""), c)
    assert not ok(("event_id", "_file"), c)
    assert not ok(("event_id", "a`b"), c)


def test_a_row_is_found_back_by_its_values(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text(PLAIN["quoted"])
    # the key of line 3: "é€", empty (null), "3"; a value carries its length in characters
    key = csv_row_key(["é€", "", "3"])
    assert key == "2:é€,n,1:3"
    h = hashlib.sha256(key.encode()).hexdigest()
    got = locate_csv_rows(Prepared(str(p), "csv", header=H), {h})
    assert list(got) == [(h, 1)]
    line, raw = got[(h, 1)]
    assert line == 3 and json.loads(raw) == {"a": "é€", "c": "3"}
    assert raw == '{"a": "é€", "c": "3"}'  # as the re-framing writes it

"""Native landing files against the reader limits (pure Python, before the engine): lines that
are not UTF-8 or too large are set aside alone with their line numbers; a file over the
decompressed-bytes, ratio, depth or element-size limit is refused with the limit named."""

from __future__ import annotations

import gzip
import json
import time

import pytest

from theater.sources import limits as L
from theater.sources.landing import LandingFile, inspect_landing, list_files, prepare

SMALL = L.ReaderLimits(
    max_depth=16,
    max_record_bytes=1000,
    max_decompressed_bytes=50_000_000,
    max_ratio=50,
    ratio_min_bytes=100_000,
    quarantine_prefix_bytes=64,
)


@pytest.fixture
def small_limits():
    prev = L.set_current(SMALL)
    yield SMALL
    L.set_current(prev)


def _landing_file(p, fmt, limits=SMALL):
    sha, size, problem, empty, aside = inspect_landing(str(p), fmt, str(p).endswith(".gz"), limits)
    return LandingFile("interactions", str(p), p.name, fmt, size, sha, problem, empty, aside)


def _staged(prep):
    with open(prep.path, encoding="utf-8") as fh:
        return [ln.rstrip("\n") for ln in fh]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_an_undecodable_jsonl_line_is_set_aside_and_the_others_staged(tmp_path, small_limits, gz):
    lines = [b'{"event_id": "a"}', b'{"event_id": "b", "model": "caf\xe9"}', b'{"event_id": "c"}']
    data = b"\n".join(lines) + b"\n"
    p = tmp_path / ("x.jsonl.gz" if gz else "x.jsonl")
    p.write_bytes(gzip.compress(data) if gz else data)
    f = _landing_file(p, "jsonl")
    assert (f.problem, f.empty, f.set_aside) == (None, False, True)
    prep = prepare(f, str(tmp_path / "staging"))
    assert _staged(prep) == ['{"event_id": "a"}', '{"event_id": "c"}']
    assert list(prep.line_map) == [1, 3]
    # {"event_id": "b", "model": "caf is 31 bytes, so the bad byte is column 32
    assert [(line, reason) for line, _, reason in prep.bad] == [
        (2, "undecodable_line: byte 0xe9 at column 32 is not UTF-8")
    ]
    assert prep.bad[0][1].startswith('{"event_id": "b"')


def test_an_undecodable_csv_line_is_set_aside_and_the_others_staged(tmp_path, small_limits):
    p = tmp_path / "x.csv"
    p.write_bytes(b"event_id,model\na,m1\nb,caf\xe9\n\nc,m3\n")
    f = _landing_file(p, "csv")
    assert f.set_aside and f.problem is None
    prep = prepare(f, str(tmp_path / "staging"))
    assert [json.loads(x) for x in _staged(prep)] == [
        {"event_id": "a", "model": "m1"},
        {"event_id": "c", "model": "m3"},
    ]
    assert list(prep.line_map) == [2, 5]
    assert [(line, reason) for line, _, reason in prep.bad] == [
        (3, "undecodable_line: byte 0xe9 at column 6 is not UTF-8")
    ]


def test_an_oversized_line_keeps_a_prefix_and_its_size_only(tmp_path, small_limits):
    big = json.dumps({"event_id": "big", "session_id": "s" * 5000})
    p = tmp_path / "x.jsonl"
    p.write_text('{"event_id": "a"}\n' + big + '\n{"event_id": "c"}\n')
    f = _landing_file(p, "jsonl")
    assert f.set_aside and f.problem is None
    prep = prepare(f, str(tmp_path / "staging"))
    assert _staged(prep) == ['{"event_id": "a"}', '{"event_id": "c"}']
    ((line, raw, reason),) = prep.bad
    assert line == 2 and raw == big[:64]
    assert reason == (
        f"oversized_record: {len(big)} bytes, over readers.max_record_bytes = 1000 "
        "(first 64 bytes kept)"
    )


def test_clean_files_are_not_set_aside(tmp_path, small_limits):
    p = tmp_path / "x.jsonl"
    p.write_text('{"event_id": "a"}\n{"event_id": "b"}\n')
    f = _landing_file(p, "jsonl")
    assert (f.problem, f.set_aside) == (None, False)
    assert prepare(f, str(tmp_path / "s")).path == str(p)  # read in place, as before


def test_a_decompression_bomb_is_refused_at_the_ratio_in_bounded_time(tmp_path, small_limits):
    p = tmp_path / "bomb.jsonl.gz"
    with gzip.open(p, "wb", compresslevel=9) as fh:
        for _ in range(64):  # 64 MiB of spaces, about 64 KiB compressed
            fh.write(b" " * (1 << 20))
    t0 = time.time()
    sha, size, problem, empty, aside = inspect_landing(str(p), "jsonl", True, SMALL)
    assert time.time() - t0 < 5
    assert problem.startswith("over_limit: decompression ratio over 50 (")
    assert "readers.max_ratio = 50" in problem
    assert size == p.stat().st_size  # the whole file is still hashed (its identity)


def test_decompressed_bytes_are_bounded_even_at_a_low_ratio(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"event_id": "a"}\n' * 100)
    lim = L.ReaderLimits(max_decompressed_bytes=1000)
    problem = inspect_landing(str(p), "jsonl", False, lim)[2]
    assert problem == (
        "over_limit: more than 1000 bytes of text (readers.max_decompressed_bytes = 1000)"
    )


def test_a_deep_json_array_is_refused_without_recursion(tmp_path, small_limits):
    p = tmp_path / "deep.json"
    p.write_text('[{"event_id": "a", "x": ' + "[" * 10_000 + "]" * 10_000 + "}]")
    problem = inspect_landing(str(p), "json_array", False, SMALL)[2]
    assert problem == "over_limit: JSON nested deeper than 16 levels (readers.max_depth = 16)"
    # listing names it as the file's problem (-> status rejected at ingest)
    (tmp_path / "interactions").mkdir()
    p.rename(tmp_path / "interactions" / "deep.json")
    files, _ = list_files(str(tmp_path), "interactions", limits=SMALL)
    assert [(f.relpath, f.problem) for f in files] == [("interactions/deep.json", problem)]


def test_a_json_array_element_over_the_record_size_is_refused(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps([{"event_id": "a"}, {"event_id": "b", "s": "x" * 3000}]))
    problem = inspect_landing(str(p), "json_array", False, SMALL)[2]
    assert problem.startswith("over_limit: a JSON array element of more than 30")
    assert "readers.max_record_bytes = 1000" in problem
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps([{"event_id": "a"}, {"event_id": "b", "s": "x" * 500}]))
    assert inspect_landing(str(ok), "json_array", False, SMALL)[2] is None

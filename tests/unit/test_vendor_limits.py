"""The vendor reader against the reader limits: depth, record size, decompressed bytes and
ratio. Each file over a limit raises VendorFileError naming the limit, in bounded time; an
oversized line is one bad record (a bounded prefix and its size) and the other lines are read."""

from __future__ import annotations

import dataclasses
import gzip
import json
import time

import pytest

from theater.sources import limits as L
from theater.sources.exports import VendorFileError, inspect
from theater.sources.stream import iter_records

SMALL = L.ReaderLimits(
    max_depth=16,
    max_record_bytes=1000,
    max_decompressed_bytes=50_000_000,
    max_ratio=50,
    ratio_min_bytes=100_000,
    quarantine_prefix_bytes=64,
)
DEEP = "over_limit: JSON nested deeper than 16 levels (readers.max_depth = 16)"


def _read(p, limits=SMALL):
    return list(iter_records(str(p), limits))


@pytest.mark.parametrize(
    "name,text",
    [
        ("arr.json", "[" * 10_000 + "]" * 10_000),
        ("obj.json", '{"data": [' + '{"x": ' * 10_000 + "1" + "}" * 10_000 + "]}"),
        ("mid.json", '[{"a": ' + "[" * 20 + "]" * 20 + "}]"),  # decodable, still too deep
        ("lines.jsonl", '{"a": 1}\n' + '{"x": ' * 10_000 + "1" + "}" * 10_000 + "\n"),
    ],
)
def test_deep_files_are_rejected_naming_the_limit(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    t0 = time.time()
    with pytest.raises(VendorFileError) as exc:
        _read(p, dataclasses.replace(SMALL, max_record_bytes=1 << 20))  # deep, not too large
    assert time.time() - t0 < 2
    assert exc.value.path == str(p) and exc.value.reason.startswith(DEEP)
    if name.endswith(".jsonl"):
        assert exc.value.reason == DEEP + " at line 2"


def test_inspect_reports_a_deep_file_instead_of_crashing(tmp_path):
    p = tmp_path / "deep.json"
    p.write_text("[" * 10_000 + "]" * 10_000)
    prev = L.set_current(SMALL)
    try:
        out = inspect(str(p))
    finally:
        L.set_current(prev)
    assert out["error"] == DEEP and out["records"] == 0


def test_default_limits_stop_python_recursion_depth_too(tmp_path):
    p = tmp_path / "deep.jsonl"
    p.write_text('{"x": ' * 10_000 + "1" + "}" * 10_000 + "\n")
    with pytest.raises(VendorFileError) as exc:
        list(iter_records(str(p)))
    assert "readers.max_depth = 64" in exc.value.reason


@pytest.mark.parametrize("name", ["bomb.json.gz", "bomb.jsonl.gz", "bomb.csv.gz"])
def test_a_decompression_bomb_stops_at_the_ratio(tmp_path, name):
    p = tmp_path / name
    with gzip.open(p, "wb", compresslevel=9) as fh:
        fh.write(b'{"a": 1}\n' if "json" in name else b"a,b\n1,2\n")
        for _ in range(64):  # 64 MiB of whitespace in about 64 KiB
            fh.write((b" " * 4095 + b"\n") * 256)
    t0 = time.time()
    with pytest.raises(VendorFileError) as exc:
        _read(p)
    took = time.time() - t0
    assert took < 10, took
    assert exc.value.reason.startswith("over_limit: decompression ratio over 50 (")
    assert "readers.max_ratio = 50" in exc.value.reason


def test_decompressed_bytes_bound_a_plain_file(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"a": 1}\n' * 1000)
    with pytest.raises(VendorFileError) as exc:
        _read(p, L.ReaderLimits(max_decompressed_bytes=4000))
    assert "readers.max_decompressed_bytes = 4000" in exc.value.reason


@pytest.mark.parametrize("ext", ["jsonl", "csv"])
def test_an_oversized_line_is_a_bad_record_with_prefix_and_size(tmp_path, ext):
    if ext == "jsonl":
        big = json.dumps({"a": "x" * 5000})
        text = '{"a": 1}\n' + big + '\n{"a": 2}\n'
        want_good = [(1, {"a": 1}), (3, {"a": 2})]
    else:
        big = "y," + "x" * 5000
        text = "a,b\n1,2\n" + big + "\n3,4\n"
        want_good = [(2, {"a": "1", "b": "2"}), (4, {"a": "3", "b": "4"})]
    p = tmp_path / f"x.{ext}"
    p.write_text(text)
    recs = _read(p)
    assert [(r.line, r.record) for r in recs if r.error is None] == want_good
    (bad,) = [r for r in recs if r.error]
    assert bad.line == (2 if ext == "jsonl" else 3)
    assert bad.raw == big[:64]
    assert bad.error == (
        f"oversized_record: {len(big)} bytes, over readers.max_record_bytes = 1000 "
        "(first 64 bytes kept)"
    )


def test_a_json_element_over_the_record_size_rejects_the_file(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps([{"a": 1}, {"a": "x" * (3 << 20)}]))
    with pytest.raises(VendorFileError) as exc:
        _read(p)
    assert exc.value.reason.startswith("over_limit: a JSON element of more than")
    assert "readers.max_record_bytes = 1000" in exc.value.reason


def test_limits_come_from_the_configuration():
    from theater.config import load_config

    cfg = load_config(env="local", environ={}, overrides={"readers.max_depth": 7})
    got = L.ReaderLimits.from_config(cfg)
    assert got.max_depth == 7 and got.max_record_bytes == 16 << 20
    assert got == L.ReaderLimits(max_depth=7)  # the other defaults equal conf/base.yaml's

"""The stricter contract and strict JSON on hand-made records: JSON types, implausible
timestamps, oversized fields, and malformed JSON (the same verdict on Sail and, through
tests/spark/test_contract_strict_on_spark.py, on Apache Spark)."""

from __future__ import annotations

import json

import pytest

from theater.contracts import contract
from theater.sources.landing import _from_text
from theater.transforms.contract import Limits, record_problems, with_problems

GOOD = {
    "event_id": "e1",
    "event_ts": "2026-07-01T10:00:00Z",
    "user_id": "u1",
    "tool": "ide",
    "action": "chat",
    "prompt_tokens": 12,
    "dwell_ms": 4000,
}
LIMITS = Limits(max_field_chars=50, ts_min="2000-01-01T00:00:00Z", ts_max="2027-01-01T00:00:00Z")


def _problems(spark, lines, json_typed=True, limits=LIMITS):
    c = contract("interactions")
    texts = spark.createDataFrame([(i, l) for i, l in enumerate(lines)], "i int, _raw string")
    recs = _from_text(texts.select("_raw"), c, json_typed)
    # keep input order: attach the text back (from_json keeps _raw)
    out = recs.withColumn("_problems", record_problems(c, limits)).select("_raw", "_problems")
    by_raw = {r._raw: list(r._problems) for r in out.collect()}
    # ingest's form (each field's parsed values computed once, as columns) gives the same
    once = with_problems(recs, c, limits).select("_raw", "_problems")
    assert {r._raw: list(r._problems) for r in once.collect()} == by_raw
    return [by_raw[l] for l in lines]


def _line(**kw):
    return json.dumps({**GOOD, **kw})


def test_a_good_record_has_no_problem(spark):
    assert _problems(spark, [_line()]) == [[]]


def test_json_types_are_enforced(spark):
    got = _problems(
        spark,
        [
            _line(user_id={"name": "u1"}),
            _line(tool=5),
            _line(dwell_ms="100"),
            _line(prompt_tokens=True),
            _line(user_id=["u1"]),
        ],
    )
    assert got == [
        ["bad_type: user_id"],
        ["bad_type: tool"],
        ["bad_type: dwell_ms"],
        ["bad_type: prompt_tokens"],
        ["bad_type: user_id"],
    ]


def test_text_from_csv_carries_no_json_type(spark):
    # CSV re-framed as JSON: every value is text, "100" is a fine dwell time
    assert _problems(spark, [_line(dwell_ms="100", prompt_tokens="12")], json_typed=False) == [[]]


def test_implausible_timestamps_go_to_quarantine(spark):
    got = _problems(
        spark,
        [
            _line(event_ts="1970-01-01T00:00:00Z"),
            _line(event_ts="9999-12-31T23:59:59Z"),
            _line(event_ts="1999-12-31T23:59:59Z"),
            _line(event_ts="2000-01-01T00:00:00Z"),
            _line(event_ts="2026-12-31T23:00:00-02:00"),
        ],
    )
    assert got == [
        ["implausible_timestamp: event_ts"],
        ["implausible_timestamp: event_ts"],
        ["implausible_timestamp: event_ts"],
        [],
        ["implausible_timestamp: event_ts"],
    ]


def test_oversized_fields_go_to_quarantine(spark):
    got = _problems(spark, [_line(user_id="u" * 51), _line(user_id="u" * 50), _line(meta="m" * 60)])
    assert got == [["oversized_field: user_id"], [], ["oversized_field: _extra"]]


@pytest.mark.parametrize(
    "text",
    [
        "{'event_id': 'e1', 'tool': 'ide'}",  # single quotes
        '{"event_id": "e1", /* note */ "tool": "ide"}',  # comment
        '{"event_id": "e1", "tool": "ide", "dwell_ms": NaN}',  # NaN
        '{"event_id": "e1", "tool": "ide", "dwell_ms": 007}',  # leading zeros
        '{"event_id": "e1", "tool": "ide",}',  # trailing comma
        '{event_id: "e1"}',  # unquoted name
    ],
)
def test_malformed_json_is_malformed_line_on_every_engine(spark, text):
    assert _problems(spark, [text]) == [["malformed_line: not a JSON object"]]


def test_limits_from_configuration(cfg):
    from datetime import datetime, timezone

    lim = Limits.from_config(cfg, now=datetime(2026, 11, 30, tzinfo=timezone.utc))
    assert lim == Limits(
        max_field_chars=1_000_000, ts_min="2000-01-01T00:00:00Z", ts_max="2026-12-02T00:00:00Z"
    )

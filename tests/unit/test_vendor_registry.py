"""Vendor registry: recognise, inspect, describe over every fixture."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest
from vendor_rows import FIXTURES

from theater.sources.exports import (
    FORMATS,
    VendorFileError,
    VendorFormat,
    describe,
    inspect,
    matches,
    recognise,
)
from theater.sources.exports.claims import SIGNALS
from theater.sources.stream import iter_records

MINE = {
    "github_copilot_users",
    "amazon_q_user_activity",
    "cursor_daily_usage",
    "claude_code_analytics",
    "viva_person_query",
    "github_copilot_org_metrics",
    "m365_copilot_reports",
}
FILES = sorted(p for p in FIXTURES.glob("*/*") if p.is_file())


def test_every_aggregate_format_is_registered_with_a_fixture():
    assert MINE <= set(FORMATS)
    assert {p.parent.name for p in FILES} >= MINE


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_fixture_is_recognised_as_its_format(path):
    assert recognise(str(path)) == path.parent.name


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_good_record_matches_exactly_one_format(path):
    for rec in iter_records(str(path)):
        if rec.record is not None:
            assert matches(rec.record) == [path.parent.name], rec.line


def test_gzipped_copy_is_recognised(tmp_path):
    src = FIXTURES / "cursor_daily_usage" / "daily_usage_2026-03-02.json"
    dst = tmp_path / "daily.json.gz"
    with open(src, "rb") as f, gzip.open(dst, "wb") as g:
        shutil.copyfileobj(f, g)
    assert recognise(str(dst)) == "cursor_daily_usage"


def test_other_shapes_are_not_recognised(tmp_path):
    landing = tmp_path / "interactions.jsonl"  # the native landing contract
    landing.write_text(
        json.dumps(
            {
                "event_id": "e1",
                "event_ts": "2026-03-02T10:00:00Z",
                "user_id": "u@x.com",
                "tool": "assistant",
                "action": "chat",
            }
        )
        + "\n"
    )
    assert recognise(str(landing)) is None
    hr = tmp_path / "directory.csv"
    hr.write_text("user_id,org_id,valid_from\nu@x.com,org-1,2026-01-01\n")
    assert recognise(str(hr)) is None
    only_bad = tmp_path / "broken.json"
    only_bad.write_text("[{'a': 1}, {\"b\": NaN}]")
    assert recognise(str(only_bad)) is None
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert recognise(str(empty)) is None


def test_an_ambiguous_record_is_not_recognised(tmp_path, monkeypatch):
    clone = FORMATS["viva_person_query"]
    monkeypatch.setitem(
        FORMATS,
        "viva_clone",
        VendorFormat(
            name="viva_clone",
            grain=clone.grain,
            summary="test double",
            required=(),
            fills=clone.fills,
            identity_kinds=(),
            file_kinds=("csv",),
            map_record=lambda r: [],
            looks_like=clone.looks_like,
        ),
    )
    assert recognise(str(FIXTURES / "viva_person_query" / "pq_copilot_2026-03.csv")) is None


def test_a_raising_looks_like_counts_as_no(monkeypatch):
    def boom(record):
        raise KeyError("x")

    monkeypatch.setitem(
        FORMATS,
        "boom",
        VendorFormat(
            name="boom",
            grain="event",
            summary="test double",
            required=(),
            fills=(),
            identity_kinds=(),
            file_kinds=("json",),
            map_record=lambda r: [],
            looks_like=boom,
        ),
    )
    assert matches({"PersonId": "p", "MetricDate": "2026-03-01"}) == ["viva_person_query"]


def test_undecodable_file(tmp_path):
    bad = tmp_path / "x.json.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(VendorFileError):
        recognise(str(bad))
    out = inspect(str(bad))
    assert out["format"] is None and out["error"].startswith("bad_gzip")


def test_inspect_counts_records_rows_bad_reasons_and_dates():
    path = FIXTURES / "github_copilot_users" / "org_users_1_day.jsonl"
    assert inspect(str(path)) == {
        "path": str(path),
        "format": "github_copilot_users",
        "grain": "user_day",
        "records": 5,
        "bad_records": 2,
        "bad_reasons": {"bad_timestamp": 1, "malformed_line": 1},
        "rows": {"user_days": 6},
        "date_min": "2026-03-02",
        "date_max": "2026-03-03",
        "identity_kinds": ["github_id", "github_login"],
        "users": 3,
        "error": None,
    }
    path = FIXTURES / "m365_copilot_reports" / "copilot_user_count_summary.csv"
    out = inspect(str(path))
    assert (out["format"], out["grain"], out["rows"], out["users"], out["identity_kinds"]) == (
        "m365_copilot_reports",
        "org_day",
        {"org_days": 8},
        0,
        [],
    )
    assert (out["date_min"], out["date_max"]) == ("2026-02-03", "2026-02-26")


def test_inspect_unknown_shape_and_forced_format(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n1\n")
    out = inspect(str(p))
    assert out["format"] is None and out["records"] == 2 and out["bad_records"] == 1
    assert out["rows"] == {}
    forced = inspect(
        str(FIXTURES / "viva_person_query" / "pq_copilot_2026-03.csv"), fmt="viva_person_query"
    )
    assert forced["rows"] == {"user_days": 11} and forced["bad_reasons"] == {"bad_timestamp": 1}
    with pytest.raises(KeyError):
        inspect(str(p), fmt="no_such_format")


def test_inspect_writes_nothing(tmp_path):
    src = FIXTURES / "amazon_q_user_activity"
    work = tmp_path / "q"
    shutil.copytree(src, work)
    before = sorted(p.name for p in work.iterdir())
    inspect(str(next(work.iterdir())))
    assert sorted(p.name for p in work.iterdir()) == before


def test_describe_lists_formats_for_a_table():
    rows = {d["name"]: d for d in describe()}
    assert MINE <= set(rows)
    assert rows["amazon_q_user_activity"] == {
        "name": "amazon_q_user_activity",
        "grain": "user_day",
        "summary": FORMATS["amazon_q_user_activity"].summary,
        "required": ["UserId", "Date"],
        "signals": {
            "unused_output": "A",
            "quota_bunching": "Y",
            "checkpoint_burst": "Y",
            "outcome_decoupling": "Y",
        },
        "identity_kinds": ["identity_center_id"],
        "file_kinds": ["csv"],
    }
    assert rows["m365_copilot_reports"]["signals"] == {}
    assert rows["viva_person_query"]["grain"] == "person_week"
    grains = [d["grain"] for d in describe()]
    order = ["event", "user_day", "person_week", "org_day"]
    assert grains == sorted(grains, key=order.index)


def test_every_format_documents_its_mapping():
    for name in MINE:
        fmt = FORMATS[name]
        assert fmt.docs.startswith(f"## {name} - ")
        assert "| vendor" in fmt.docs and "Lost" in fmt.docs
        assert set(fmt.signals) == set(SIGNALS)


def test_vendor_mapping_doc_has_a_section_per_format():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "vendor_mapping.md").read_text()
    for name in MINE:
        assert FORMATS[name].docs.strip() in doc, name


def test_map_file_gives_one_result_per_record_and_loses_nothing():
    from theater.sources.exports import map_file

    path = FIXTURES / "claude_code_analytics" / "usage_report_claude_code_2026-03-02.json"
    got = list(map_file(str(path), "claude_code_analytics"))
    assert [(m.line, len(m.rows), m.error) for m in got] == [
        (1, 1, None),
        (2, 1, None),
        (3, 0, "malformed_line"),
        (4, 1, None),
        (5, 0, "missing_required: actor"),
    ]
    assert got[2].raw.startswith("{'date': '2026-03-02T00:00:00Z'")
    assert '"core_metrics"' in got[4].raw
    with pytest.raises(KeyError):
        list(map_file(str(path), "no_such_format"))

"""Vendor base: streaming record reader, timestamps, number helpers, row builders (pure Python)."""

from __future__ import annotations

import gzip
import json

import pytest

from theater.sources import stream
from theater.sources.exports import rows
from theater.sources.exports.format import VendorFormat
from theater.sources.exports.rows import merge_rows, org_day_row, user_day_row
from theater.sources.exports.values import VendorRecordError, as_int, parse_day, parse_ts
from theater.sources.stream import RawRecord, VendorFileError, iter_records


def _read(path):
    return list(iter_records(str(path)))


def _good(recs):
    return [r.record for r in recs if r.error is None]


@pytest.fixture(params=[1 << 20, 7], ids=["1MiB-chunks", "7-char-chunks"])
def chunk(request, monkeypatch):
    """Run the JSON tests with the normal buffer and with a tiny one (elements, strings and
    comments cut across buffer refills)."""
    monkeypatch.setattr(stream, "_CHUNK", request.param)
    return request.param


# --- JSON shapes ------------------------------------------------------------------------------


def test_json_array_elements_numbered_from_one(tmp_path, chunk):
    items = [
        {"a": i, "s": "x, ] } [ { \" 'y' // not a comment", "n": [1, {"k": None}]}
        for i in range(30)
    ]
    p = tmp_path / "a.json"
    p.write_text(" \n[\n" + ",\n".join(json.dumps(i) for i in items) + "\n]\n")
    recs = _read(p)
    assert [r.line for r in recs] == list(range(1, 31))
    assert _good(recs) == items
    assert all(json.loads(r.raw) == r.record for r in recs)


def test_wrapped_json_streams_the_array_and_ignores_the_envelope(tmp_path, chunk):
    for key in ("data", "value", "usage_events"):
        p = tmp_path / f"{key}.json"
        p.write_text(
            json.dumps({"has_more": False, key: [{"i": 1}, {"i": 2}], "period": {"startDate": 1}})
        )
        assert _good(_read(p)) == [{"i": 1}, {"i": 2}], key


def test_any_single_array_key_is_a_wrapper_but_a_record_with_nested_objects_is_not(tmp_path):
    p = tmp_path / "w.json"
    p.write_text(json.dumps({"count": 2, "things": [{"i": 1}, {"i": 2}]}))
    assert _good(_read(p)) == [{"i": 1}, {"i": 2}]
    one = {"actor": {"type": "user_actor"}, "model_breakdown": [{"model": "m"}], "date": "d"}
    p.write_text(json.dumps(one))
    assert _good(_read(p)) == [one]


def test_single_object_and_concatenated_objects(tmp_path, chunk):
    p = tmp_path / "one.json"
    p.write_text('{"a": 1, "b": [1, 2]}')
    assert _good(_read(p)) == [{"a": 1, "b": [1, 2]}]
    p = tmp_path / "ndjson_named.json"
    p.write_text('{"a": 1}\n{"a": 2}\n')
    assert [(r.line, r.record) for r in _read(p)] == [(1, {"a": 1}), (2, {"a": 2})]


def test_malformed_elements_are_reported_and_reading_continues(tmp_path, chunk):
    p = tmp_path / "bad.json"
    p.write_text(
        '{"data": [\n {"a": 1},\n {"b": 2,},\n {\'c\': 3},\n {"d": NaN},\n 5,\n'
        ' /* block */\n // line comment\n {"e": "x, ] }"},\n {"f": Infinity}\n]}'
    )
    recs = _read(p)
    assert [(r.line, r.error) for r in recs] == [
        (1, None),
        (2, "malformed_line"),
        (3, "malformed_line"),
        (4, "malformed_line"),
        (5, "malformed_line: not a JSON object"),
        (6, "malformed_line"),
        (7, "malformed_line"),
        (8, None),
        (9, "malformed_line"),
    ]
    assert [r.raw for r in recs if r.error] == [
        '{"b": 2,}',
        "{'c': 3}",
        '{"d": NaN}',
        "5",
        "/* block */",
        "// line comment",
        '{"f": Infinity}',
    ]
    assert _good(recs) == [{"a": 1}, {"e": "x, ] }"}]


def test_truncated_file_reports_the_tail(tmp_path, chunk):
    p = tmp_path / "cut.json"
    p.write_text('[{"a": 1}, {"b": "unfinished')
    recs = _read(p)
    assert recs[0].record == {"a": 1}
    assert recs[1].record is None and recs[1].error == "malformed_line"
    assert recs[1].raw == '{"b": "unfinished'


def test_two_megabyte_single_line_wrapper_is_read_whole(tmp_path):
    rows = [
        {"email": f"u{i}@example.com", "date": 1772409600000, "chatRequests": i, "note": "z" * 150}
        for i in range(10000)
    ]
    p = tmp_path / "big.json"
    p.write_text(json.dumps({"data": rows, "period": {"startDate": 0}}))
    assert p.stat().st_size > 2_000_000
    recs = _read(p)
    assert len(recs) == 10000 and recs[-1].line == 10000
    assert _good(recs) == rows


# --- OTLP -------------------------------------------------------------------------------------

OTLP_LOGS = {
    "resourceLogs": [
        {
            "resource": {
                "attributes": [
                    {"key": "service.name", "value": {"stringValue": "claude-code"}},
                    {"key": "department", "value": {"stringValue": "eng"}},
                ]
            },
            "scopeLogs": [
                {
                    "scope": {
                        "name": "com.anthropic.claude_code.events",
                        "version": "1.0.0",
                        "attributes": [{"key": "x", "value": {"boolValue": True}}],
                    },
                    "logRecords": [
                        {
                            "timeUnixNano": "1772409600000000000",
                            "body": {"stringValue": "claude_code.user_prompt"},
                            "attributes": [
                                {"key": "prompt_length", "value": {"intValue": "42"}},
                                {"key": "cost", "value": {"doubleValue": 0.5}},
                                {
                                    "key": "tags",
                                    "value": {"arrayValue": {"values": [{"stringValue": "a"}]}},
                                },
                                {
                                    "key": "kv",
                                    "value": {
                                        "kvlistValue": {
                                            "values": [{"key": "k", "value": {"intValue": "7"}}]
                                        }
                                    },
                                },
                            ],
                        },
                        {
                            "timeUnixNano": "1772409601000000000",
                            "body": {"stringValue": "claude_code.api_request"},
                            "attributes": [],
                        },
                    ],
                }
            ],
        }
    ]
}


def _flat_expected():
    resource = {"service.name": "claude-code", "department": "eng"}
    scope = {
        "name": "com.anthropic.claude_code.events",
        "version": "1.0.0",
        "attributes": {"x": True},
    }
    return [
        {
            "timeUnixNano": "1772409600000000000",
            "body": "claude_code.user_prompt",
            "attributes": {"prompt_length": 42, "cost": 0.5, "tags": ["a"], "kv": {"k": 7}},
            "_resource": resource,
            "_scope": scope,
        },
        {
            "timeUnixNano": "1772409601000000000",
            "body": "claude_code.api_request",
            "attributes": {},
            "_resource": resource,
            "_scope": scope,
        },
    ]


def test_otlp_logs_json_flattened_with_resource_and_scope(tmp_path, chunk):
    p = tmp_path / "otel.json"
    p.write_text(json.dumps(OTLP_LOGS))
    recs = _read(p)
    assert _good(recs) == _flat_expected()
    assert [r.line for r in recs] == [1, 2]


def test_otlp_requests_one_per_jsonl_line(tmp_path):
    p = tmp_path / "otel.jsonl"
    p.write_text(json.dumps(OTLP_LOGS) + "\n" + json.dumps(OTLP_LOGS) + "\n")
    recs = _read(p)
    assert [r.line for r in recs] == [1, 1, 2, 2]
    assert _good(recs) == _flat_expected() * 2


def test_otlp_spans_flattened(tmp_path):
    spans = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "chatbot"}}]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "openai.instrumentation"},
                        "spans": [
                            {
                                "traceId": "t1",
                                "spanId": "s1",
                                "name": "chat gpt-4o",
                                "startTimeUnixNano": "1772409600000000000",
                                "attributes": [
                                    {
                                        "key": "gen_ai.usage.input_tokens",
                                        "value": {"intValue": "12"},
                                    }
                                ],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    p = tmp_path / "spans.json"
    p.write_text(json.dumps(spans))
    assert _good(_read(p)) == [
        {
            "traceId": "t1",
            "spanId": "s1",
            "name": "chat gpt-4o",
            "startTimeUnixNano": "1772409600000000000",
            "attributes": {"gen_ai.usage.input_tokens": 12},
            "_resource": {"service.name": "chatbot"},
            "_scope": {"name": "openai.instrumentation", "version": None, "attributes": {}},
        }
    ]


# --- JSON lines, gzip, CSV --------------------------------------------------------------------


def test_jsonl_and_gzip(tmp_path):
    text = '{"a": 1}\n\n{"b": 2,}\n[1]\n{"c": 3}\n'
    p = tmp_path / "x.ndjson.gz"
    with gzip.open(p, "wt", encoding="utf-8") as f:
        f.write(text)
    assert [(r.line, r.record, r.error) for r in _read(p)] == [
        (1, {"a": 1}, None),
        (3, None, "malformed_line"),
        (4, None, "malformed_line: not a JSON object"),
        (5, {"c": 3}, None),
    ]
    q = tmp_path / "arr.json.gz"
    with gzip.open(q, "wt", encoding="utf-8") as f:
        f.write('[{"a": 1}, {"a": 2}]')
    assert _good(_read(q)) == [{"a": 1}, {"a": 2}]


def test_csv_bom_quoted_headers_any_order_extra_columns_ragged_rows(tmp_path):
    p = tmp_path / "r.csv"
    p.write_bytes(
        '\ufeff"Date","User Id",Extra,"Multi"\r\n'
        '03-02-2026,u1,x,"line one\nline two"\r\n'
        "03-02-2026,u2\r\n\r\n"
        '"03-03-2026","u3",,"q""uote"\r\n'.encode("utf-8")
    )
    recs = _read(p)
    assert [(r.line, r.record, r.error) for r in recs] == [
        (
            2,
            {"Date": "03-02-2026", "User Id": "u1", "Extra": "x", "Multi": "line one\nline two"},
            None,
        ),
        (4, None, "malformed_line: ragged row (2 fields, header has 4)"),
        (6, {"Date": "03-03-2026", "User Id": "u3", "Extra": "", "Multi": 'q"uote'}, None),
    ]
    assert recs[1].raw == "03-02-2026,u2"
    assert recs[0].raw == '03-02-2026,u1,x,"line one\nline two"'


def test_csv_gz(tmp_path):
    p = tmp_path / "r.csv.gz"
    with gzip.open(p, "wt", encoding="utf-8", newline="") as f:
        f.write("a,b\n1,2\n")
    assert _good(_read(p)) == [{"a": "1", "b": "2"}]


def test_undecodable_files_raise_vendor_file_error(tmp_path):
    bad_gz = tmp_path / "x.jsonl.gz"
    bad_gz.write_bytes(b"this is not gzip at all")
    with pytest.raises(VendorFileError) as exc:
        _read(bad_gz)
    assert exc.value.reason.startswith("bad_gzip") and exc.value.path == str(bad_gz)
    latin = tmp_path / "x.json"
    latin.write_bytes('[{"name": "Jos\xe9"}]'.encode("latin-1"))
    with pytest.raises(VendorFileError) as exc:
        _read(latin)
    assert exc.value.reason.startswith("not_utf8")
    with pytest.raises(VendorFileError) as exc:
        _read(tmp_path / "missing.json")
    assert exc.value.reason.startswith("unreadable")


@pytest.mark.parametrize("ext", ["csv", "csv.gz", "jsonl", "jsonl.gz"])
def test_an_undecodable_line_is_reported_alone_and_the_rest_read(tmp_path, ext):
    """One Latin-1 byte in line 3: that line is a bad record with its number, lines 2 and 4
    are read."""
    if ext.startswith("csv"):
        lines = ["name,city", "Ann,Oslo", "Jos\xe9,Bergen", "Kim,Bod\u00f8"]
    else:
        lines = ['{"name":"Ann"}', '{"name":"Bo"}', '{"name":"Jos\xe9"}', '{"name":"Kim"}']
    data = b"".join(
        (ln.encode("latin-1") if i == 2 else ln.encode("utf-8")) + b"\n"
        for i, ln in enumerate(lines)
    )
    p = tmp_path / f"x.{ext}"
    p.write_bytes(gzip.compress(data) if ext.endswith(".gz") else data)
    recs = _read(p)
    bad = [r for r in recs if r.error]
    assert [(r.line, r.error) for r in bad] == [
        (
            3,
            "undecodable_line: byte 0xe9 at column "
            + str(lines[2].index("\xe9") + 1)
            + " is not UTF-8",
        )
    ]
    assert "Jos" in bad[0].raw
    good = [(r.line, r.record) for r in recs if not r.error]
    if ext.startswith("csv"):
        assert good == [
            (2, {"name": "Ann", "city": "Oslo"}),
            (4, {"name": "Kim", "city": "Bod\u00f8"}),
        ]
    else:
        assert good == [(1, {"name": "Ann"}), (2, {"name": "Bo"}), (4, {"name": "Kim"})]


def test_unknown_extension_is_sniffed(tmp_path):
    p = tmp_path / "export.txt"
    p.write_text('[{"a": 1}]')
    assert _good(_read(p)) == [{"a": 1}]
    p.write_text("a,b\n1,2\n")
    assert _good(_read(p)) == [{"a": "1", "b": "2"}]


def test_raw_record_shape():
    r = RawRecord(1, {"a": 1}, '{"a":1}', None)
    assert r.line == 1 and r.record == {"a": 1} and r.error is None


# --- timestamps -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z"),
        ("2026-03-01T10:00:00+02:00", "2026-03-01T08:00:00Z"),
        ("2026-03-01T10:00:00-0530", "2026-03-01T15:30:00Z"),
        ("2026-03-01T10:00:00", "2026-03-01T10:00:00Z"),  # no offset: UTC assumed
        ("2026-03-01 10:00:00.250", "2026-03-01T10:00:00.25Z"),
        ("2026-03-01T10:00:00.123456789Z", "2026-03-01T10:00:00.123456Z"),
        ("2026-03-01", "2026-03-01T00:00:00Z"),
        ("03-07-2026", "2026-03-07T00:00:00Z"),  # Amazon Q MM-DD-YYYY
        ("7/6/2025", "2025-07-06T00:00:00Z"),
        ("3/7/2026 1:05 PM", "2026-03-07T13:05:00Z"),
        (1772409600, "2026-03-02T00:00:00Z"),  # epoch seconds
        ("1772409600", "2026-03-02T00:00:00Z"),
        (1772409600123, "2026-03-02T00:00:00.123Z"),  # epoch ms (Cursor)
        ("1772409600123", "2026-03-02T00:00:00.123Z"),
        (1772409600123456, "2026-03-02T00:00:00.123456Z"),  # epoch us
        (1772409600123456789, "2026-03-02T00:00:00.123456Z"),  # epoch ns (OTLP)
        ("1772409600000000000", "2026-03-02T00:00:00Z"),
        (1772409600.5, "2026-03-02T00:00:00.5Z"),
    ],
)
def test_parse_ts(value, expected):
    assert parse_ts(value) == expected


def test_parse_ts_assume_tz_for_naive_times():
    # M365 audit CreationTime has no offset: it is UTC unless told otherwise
    assert parse_ts("2026-03-01T10:00:00", assume_tz="Europe/Paris") == "2026-03-01T09:00:00Z"
    assert parse_ts("2026-03-01T10:00:00Z", assume_tz="Europe/Paris") == "2026-03-01T10:00:00Z"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "2026-13-01",
        "02-30-2026",
        "2026-03-01T25:00",
        None,
        True,
        float("nan"),
        {"d": 1},
        "13-45-2026",
    ],
)
def test_parse_ts_rejects(value):
    with pytest.raises(VendorRecordError) as exc:
        parse_ts(value)
    assert str(exc.value).startswith("bad_timestamp: ")
    assert exc.value.reason == "bad_timestamp"


def test_parse_day():
    assert parse_day("2026-03-01T23:30:00-02:00") == "2026-03-02"
    assert parse_day("03-02-2026") == "2026-03-02"


# --- numbers and rows -------------------------------------------------------------------------


def test_as_int():
    assert as_int(5, "n") == 5 and as_int("7", "n") == 7 and as_int(3.0, "n") == 3
    assert as_int(" 12 ", "n") == 12 and as_int("1,234", "n") == 1234 and as_int("4.0", "n") == 4
    assert as_int(None, "n") is None and as_int("", "n") is None and as_int("  ", "n") is None
    for bad in ("x", 2.5, -1, True, [1], "NaN"):
        with pytest.raises(VendorRecordError) as exc:
            as_int(bad, "n")
        assert str(exc.value).startswith("bad_type: n")


def test_user_day_row_defaults_unknown_counts_to_none():
    row = user_day_row("f", "u", "email", "2026-03-02", "chat", requests=3)
    assert row == {
        "_table": "user_days",
        "source_format": "f",
        "user_id": "u",
        "user_alias_kind": "email",
        "vendor_org": None,
        "org_id": None,
        "day": "2026-03-02",
        "feature": "chat",
        "requests": 3,
        "suggestions_shown": None,
        "accepted": None,
        "rejected": None,
        "dismissed": None,
        "lines_suggested": None,
        "lines_accepted": None,
        "sessions": None,
        "prompt_tokens": None,
        "output_tokens": None,
        "period_days": 1,
        "cost_usd": None,  # the vendor gave no cost: unknown, not 0
    }
    assert tuple(k for k in row if k != "_table") == rows.USER_DAY_FIELDS
    with pytest.raises(TypeError):
        user_day_row("f", "u", "email", "2026-03-02", "chat", clicks=3)
    with pytest.raises(ValueError):
        user_day_row("f", "u", "email", "2026-03-02", "chat", period_days=30)


def test_interaction_row_has_every_contract_field():
    contract = json.load(open("src/theater/contract/interaction.schema.json"))
    row = rows.interaction_row(
        "fmt", "email", event_id="e1", event_ts="2026-03-02T00:00:00Z", user_id="a@b.c", tool="cli"
    )
    assert set(contract["properties"]) <= set(row)
    assert row["action"] == "other" and row["output_disposition"] is None
    assert row["source_format"] == "fmt" and row["user_alias_kind"] == "email"
    with pytest.raises(ValueError):
        rows.interaction_row("fmt", "email", action="vibe")


def test_merge_rows_adds_parts_and_keeps_unknown_unknown():
    a = user_day_row(
        "f", "u", "email", "2026-03-02", "agent", sessions=3, accepted=None, rejected=2
    )
    b = user_day_row(
        "f", "u", "email", "2026-03-02", "agent", sessions=1, accepted=None, rejected=None
    )
    c = user_day_row("f", "u", "email", "2026-03-03", "agent", sessions=4)
    o1 = org_day_row("g", None, "2026-03-02", "word", active_users=1)
    o2 = org_day_row("g", None, "2026-03-02", "word", active_users=0)
    merged = merge_rows([a, o1, b, c, o2])
    assert len(merged) == 3
    assert merged[0]["sessions"] == 4 and merged[0]["rejected"] == 2
    assert merged[0]["accepted"] is None
    assert merged[1]["active_users"] == 1 and merged[2]["sessions"] == 4
    assert a["sessions"] == 3  # inputs untouched


def test_vendor_format_validates_its_declaration():
    ok = dict(
        name="x",
        grain="user_day",
        summary="s",
        required=(),
        fills=("requests",),
        identity_kinds=(),
        file_kinds=("csv",),
        map_record=lambda r: [],
        looks_like=lambda r: False,
    )
    fmt = VendorFormat(**ok)
    # a format names no signal: what it feeds follows from the fields it fills at its grain
    assert fmt.feeds() == {
        "quota_bunching": "Y",
        "checkpoint_burst": "Y",
        "outcome_decoupling": "Y",
    }
    assert VendorFormat(**{**ok, "fills": ()}).feeds() == {}
    for bad in (
        {"grain": "hourly"},
        {"file_kinds": ("xlsx",)},
    ):
        with pytest.raises(ValueError):
            VendorFormat(**{**ok, **bad})


def test_csv_field_larger_than_the_csv_module_default_limit(tmp_path):
    audit = json.dumps({"Operation": "CopilotInteraction", "blob": "x" * 300_000})
    p = tmp_path / "purview.csv"
    p.write_text('CreationDate,AuditData\n2026-03-02T10:00:00,"' + audit.replace('"', '""') + '"\n')
    (rec,) = _read(p)
    assert rec.error is None and json.loads(rec.record["AuditData"])["blob"] == "x" * 300_000


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "b": 2,}',
        '{"a": 1 "b": 2}',
        '{"a": 1,, "b": 2}',
        '{"a": 1, "b": 2',
        '{"a": 1, /* note */ "b": 2}',
    ],
)
def test_a_broken_top_level_object_is_malformed_not_repaired(tmp_path, chunk, text):
    p = tmp_path / "one.json"
    p.write_text(text)
    recs = _read(p)
    assert [(r.record, r.error, r.raw) for r in recs] == [(None, "malformed_line", text)]


def test_separators_between_array_elements_are_tolerated(tmp_path):
    # the elements themselves are intact, so they are kept
    p = tmp_path / "a.json"
    p.write_text('[{"a": 1},, {"a": 2} {"a": 3},]')
    assert _good(_read(p)) == [{"a": 1}, {"a": 2}, {"a": 3}]


def test_a_top_level_object_with_a_bad_key_keeps_its_text(tmp_path, chunk):
    p = tmp_path / "k.json"
    text = "{'a': 1, \"b\": 2}"
    p.write_text(text + '\n{"c": 3}\n')
    assert [(r.record, r.error, r.raw) for r in _read(p)] == [
        (None, "malformed_line", text),
        ({"c": 3}, None, '{"c": 3}'),
    ]


def test_generic_wrapper_rule_only_for_a_files_single_object(tmp_path, chunk):
    p = tmp_path / "two.json"
    p.write_text('{"data": [{"i": 1}]}\n{"id": 7, "parts": [{"p": 1}]}\n')
    assert _good(_read(p)) == [{"i": 1}, {"id": 7, "parts": [{"p": 1}]}]
    p.write_text('{"id": 7, "parts": [{"p": 1}]}')
    assert _good(_read(p)) == [{"p": 1}]

"""otel_genai: OTLP JSON trace fixtures -> exact canonical rows; spans without a user quarantined."""

from vendor_rows import FIXTURES, event, read_rows

from theater.fingerprint import simhash64
from theater.sources.exports.formats import otel_genai as m

FIX = FIXTURES / "otel_genai"


def row(event_id, ts, user, action, model, pt, ct, fp=None, session=None):
    # no vendor cost in this format
    return event(
        "otel_genai", "user_id", event_id, ts, user, model, pt, ct, fp, session, action=action
    )


def read(name):
    return read_rows(m, FIX / name, detail=False)


def test_trace_spans():
    rows, errors = read("traces_2026-07-06.json")
    assert rows == [
        row(
            "5b8aa5a2d2c872e8321cf37308d69df2:051581bf3cb55c13",
            "2026-07-06T10:00:00.123456Z",
            "ana.ruiz@example.org",
            "chat",
            "gpt-4o",
            52,
            180,
            simhash64("how do I reset my VPN token"),
            "conv-ana-3",
        ),
        # enduser.id from the resource attributes
        row(
            "1f2e3d4c5b6a79880123456789abcdef:00f067aa0ba902b7",
            "2026-07-06T11:00:00Z",
            "ben.osei@example.org",
            "agent",
            "claude-sonnet-4-5",
            3000,
            700,
        ),
        row(
            "1f2e3d4c5b6a79880123456789abcdef:11f067aa0ba902b8",
            "2026-07-06T11:00:01Z",
            "ben.osei@example.org",
            "other",
            "text-embedding-3-small",
            300,
            None,
        ),
    ]
    # span 2 is an HTTP span (no row, no error); span 3 has no user; span 6 no start time
    assert errors == [(3, "missing_required: user"), (6, "missing_required: startTimeUnixNano")]


def test_jsonl_comment_line_and_legacy_prompt():
    rows, errors = read("traces_2026-07-07.jsonl")
    assert rows == [
        row(
            "aaaabbbbccccddddeeeeffff00001111:0123456789abcdef",
            "2026-07-07T10:00:00Z",
            "chen.li@example.org",
            "complete",
            "gpt-4o",
            None,
            None,
            simhash64("complete: the quick brown"),
        )
    ]
    assert errors == [(1, "malformed_line")]


def test_any_span_looks_like_but_only_gen_ai_spans_map():
    http = {
        "traceId": "t",
        "spanId": "1",
        "startTimeUnixNano": "1",
        "attributes": {"http.request.method": "GET"},
    }
    assert m.looks_like(http) and m.map_record(http) == []
    assert not m.looks_like({"timeUnixNano": "1", "attributes": {"event.name": "user_prompt"}})

"""Derived ids are built from values, not text: the same event re-delivered with its instant in
another unit or notation, or its numbers written as text, keeps its id. Every format that
derives an id is here (Cursor usage events: event_id; Claude Code OTel: update_id)."""

from __future__ import annotations

import json

import pytest

from theater.sources.exports import FORMATS
from theater.sources.exports.values import instant_us
from theater.sources.stream import iter_records

CURSOR = FORMATS["cursor_usage_events"]
CLAUDE = FORMATS["claude_code_otel"]

# three instants: a whole second, one with milliseconds, and one 1 ms later than the second
MS = [1783329000000, 1783329061500, 1783329061501]
NOTATIONS = {
    "ms text": lambda ms: str(ms),
    "ms number": lambda ms: ms,
    "us number": lambda ms: ms * 1000,
    "us text": lambda ms: str(ms * 1000),
    "ns number": lambda ms: ms * 1_000_000,
    "s text": lambda ms: f"{ms // 1000}.{ms % 1000:03d}",
    "s float": lambda ms: ms / 1000,
    "rfc3339 utc": lambda ms: _rfc(ms, 0),
    "rfc3339 +02:00": lambda ms: _rfc(ms, 2),
}


def _rfc(ms, hours):
    import datetime as dt

    tz = dt.timezone(dt.timedelta(hours=hours))
    t = dt.datetime.fromtimestamp(ms / 1000, tz)
    return t.isoformat(timespec="milliseconds")


def test_instant_us_is_one_number_per_instant():
    for ms in MS:
        got = {name: instant_us(f(ms)) for name, f in NOTATIONS.items()}
        assert set(got.values()) == {ms * 1000}, got


def _cursor_page(notation, numbers_as_text=False):
    events = []
    for i, ms in enumerate(MS):
        tokens = {"inputTokens": 100 + i, "outputTokens": 7, "cacheReadTokens": 0}
        if numbers_as_text:
            tokens = {k: str(v) for k, v in tokens.items()}
        events.append(
            {
                "timestamp": NOTATIONS[notation](ms),
                "model": "gpt-5",
                "userEmail": "ana.ruiz@example.org" if i != 1 else "Ana.Ruiz@Example.org",
                "tokenUsage": tokens,
            }
        )
    return {"totalUsageEventsCount": 3, "usageEvents": events}


def _ids(fmt, path):
    out = []
    for rec in iter_records(str(path)):
        assert rec.error is None, rec
        for row in fmt.map_record(rec.record):
            out.append(row.get("update_id") or row["event_id"])
    return out


@pytest.mark.parametrize("notation", sorted(NOTATIONS))
def test_cursor_redelivery_in_another_unit_keeps_the_event_ids(tmp_path, notation):
    first = tmp_path / "page_ms.json"
    first.write_text(json.dumps(_cursor_page("ms text")))
    again = tmp_path / f"page_{notation.replace(' ', '_').replace(':', '')}.json"
    again.write_text(json.dumps(_cursor_page(notation, numbers_as_text=True)))
    a, b = _ids(CURSOR, first), _ids(CURSOR, again)
    assert len(set(a)) == 3  # 1 ms apart is another event
    assert a == b


def _otel_line(ts, seq, event="api_request"):
    attrs = {
        "event.name": event,
        "prompt.id": "p-1",
        "event.timestamp": ts,
        "input_tokens": 10,
        "output_tokens": 3,
        "model": "claude-sonnet-4",
    }
    if seq is not None:
        attrs["event.sequence"] = seq
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": []},
                "scopeLogs": [
                    {
                        "scope": {"name": "com.anthropic.claude_code.events"},
                        "logRecords": [
                            {
                                "body": {"stringValue": "claude_code." + event},
                                "attributes": [
                                    {"key": k, "value": _any(v)} for k, v in attrs.items()
                                ],
                            }
                        ],
                    }
                ],
            }
        ]
    }


def _any(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": v}


@pytest.mark.parametrize("notation", ["us text", "rfc3339 +02:00", "s text"])
def test_claude_code_update_ids_are_values_not_text(tmp_path, notation):
    ms = MS[1]
    rows = {
        "seq int": _otel_line(_rfc(ms, 0), 3),
        "seq text": _otel_line(NOTATIONS[notation](ms), "3"),
        "seq float": _otel_line(_rfc(ms, 0), 3.0),
    }
    no_seq = {
        "rfc": _otel_line(_rfc(ms, 0), None),
        notation: _otel_line(NOTATIONS[notation](ms), None),
    }
    p = tmp_path / "otel.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows.values()) + "\n")
    assert set(_ids(CLAUDE, p)) == {"p-1#3"}
    p.write_text("\n".join(json.dumps(r) for r in no_seq.values()) + "\n")
    got = _ids(CLAUDE, p)
    assert len(got) == 2 and got[0] == got[1] == f"p-1#api_request@{ms * 1000}"

"""litellm_spend_logs: SpendLogs CSV export and /spend/logs JSON -> exact canonical rows."""

from vendor_rows import FIXTURES, event, read_rows

from theater.fingerprint import simhash64
from theater.sources.exports.formats import litellm_spend_logs as m
from theater.sources.exports.values import VendorRecordError

FIX = FIXTURES / "litellm_spend_logs"
KEY = "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"


def row(event_id, ts, user, kind, model, pt, ct, fp=None, session=None, cost=None):
    return event(
        "litellm_spend_logs", kind, event_id, ts, user, model, pt, ct, fp, session, cost_usd=cost
    )


def read(name):
    return read_rows(m, FIX / name)


def test_csv_export():
    rows, errors = read("LiteLLM_SpendLogs_2026-07-06.csv")
    assert rows == [
        # stored messages: last user turn fingerprinted; no offset = UTC; model_group wins
        row(
            "chatcmpl-7f3a0001",
            "2026-07-06T10:00:00.123Z",
            "u-ana",
            "user_id",
            "gpt-4o-mini",
            120,
            30,
            simhash64("translate to french: good morning"),
            "sess-ana-4",
            cost=0.00012,  # spend, US dollars
        ),
        # no key owner: end_user; messages "{}" = not stored
        row(
            "chatcmpl-7f3a0002",
            "2026-07-06T10:05:00Z",
            "ben@example.org",
            "user_id",
            "gpt-4o",
            700,
            200,
            cost=0.002,
        ),
        # neither user nor end_user: the (hashed) api key, model from `model`
        row(
            "chatcmpl-7f3a0003",
            "2026-07-06T11:00:00Z",
            KEY,
            "api_key",
            "text-embedding-3-small",
            12,
            0,
            cost=0.0,  # a reported 0 is known: free, not unknown
        ),
    ]
    assert errors == [
        (5, "missing_required: startTime"),
        (6, "bad_type: prompt_tokens ('many')"),
        (7, "malformed_line: ragged row (3 fields, header has 26)"),
    ]


def test_api_json_with_trailing_comma():
    rows, errors = read("spend_logs_api_2026-07-07.json")
    assert rows == [
        row(
            "chatcmpl-7f3a0101",
            "2026-07-07T08:00:00Z",
            "u-dee",
            "user_id",
            "haiku",
            40,
            24,
            cost=0.0004,
        )
    ]
    assert errors == [(2, "malformed_line")]


def test_blank_spend_is_unknown_and_a_bad_one_is_named():
    import pytest

    base = {"request_id": "r1", "startTime": "2026-07-07T08:00:00Z", "user": "u-1"}
    assert m.map_record(base)[0]["cost_usd"] is None
    assert m.map_record({**base, "spend": ""})[0]["cost_usd"] is None
    assert m.map_record({**base, "spend": "0.25"})[0]["cost_usd"] == 0.25
    with pytest.raises(VendorRecordError, match=r"bad_type: spend \('lots'\)"):
        m.map_record({**base, "spend": "lots"})

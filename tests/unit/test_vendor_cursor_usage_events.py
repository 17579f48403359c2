"""cursor_usage_events: a filtered-usage-events API page -> exact canonical rows."""

from vendor_rows import FIXTURES, event, read_rows

from theater.sources.exports.formats import cursor_usage_events as m
from theater.sources.exports.values import VendorRecordError

FIX = FIXTURES / "cursor_usage_events"


def row(event_id, ts, user, model, pt, ct, cost=None):
    return event(
        "cursor_usage_events", "email", event_id, ts, user, model, pt, ct, tool="ide", cost_usd=cost
    )


def test_page_rows_hash_ids_and_quarantine():
    rows, errors = read_rows(m, FIX / "filtered_usage_events_page1.json")
    assert rows == [
        # sha256("ana.ruiz@example.org|1783329000000|claude-4-sonnet|1520|410|0|9800")[:24]
        row(
            "cur-7cf612fff3bfa1086e14239a",
            "2026-07-06T09:10:00Z",
            "ana.ruiz@example.org",
            "claude-4-sonnet",
            1520,
            410,
            1.42 / 100,  # tokenUsage.totalCents: 1.42 US cents
        ),
        # no tokenUsage (request-priced): tokens and cost unknown, not 0; email lower-cased in
        # the hash only
        row(
            "cur-c7b7ab6230d776e419fa0e42",
            "2026-07-06T09:11:01.5Z",
            "Ben.Osei@example.org",
            "gpt-5",
            None,
            None,
        ),
    ]
    assert errors == [
        (3, "missing_required: timestamp"),
        (4, "malformed_line"),
        (5, "bad_type: tokenUsage.inputTokens ('n/a')"),
    ]


def test_event_id_is_deterministic_and_token_sensitive():
    a = m.event_id_of("a@x", "1783329000000", "auto", {"inputTokens": 1, "outputTokens": 2})
    assert a == m.event_id_of("A@X", "1783329000000", "auto", {"inputTokens": 1, "outputTokens": 2})
    assert a != m.event_id_of("a@x", "1783329000000", "auto", {"inputTokens": 1, "outputTokens": 3})
    assert m.looks_like({"timestamp": "1", "userEmail": "a@x", "tokenUsage": {}})
    assert not m.looks_like({"date": 1, "email": "a@x", "isActive": True})


def test_total_cents_is_the_vendor_cost_and_a_bad_amount_is_named():
    base = {"timestamp": "1783329000000", "userEmail": "a@x", "model": "auto"}
    (r,) = m.map_record({**base, "tokenUsage": {"inputTokens": 3, "totalCents": "250"}})
    assert r["cost_usd"] == 2.5
    # request units are not money: no cost
    (r,) = m.map_record({**base, "requestsCosts": 2, "tokenUsage": {"inputTokens": 3}})
    assert r["cost_usd"] is None
    import pytest

    with pytest.raises(VendorRecordError, match=r"bad_type: tokenUsage.totalCents"):
        m.map_record({**base, "tokenUsage": {"totalCents": -1}})

"""Prices that change inside a period apply to the days they are in force, and a vendor's US
dollar cost is never summed silently with a price table in another currency (converted at
``adoption.usd_rate`` or NA with a note). Small hand-made frames; sums worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from theater.config import Adoption, ConfigError
from theater.transforms import adoption as ad

START, END = date(2026, 3, 1), date(2026, 4, 1)  # 31 days
D = date.fromisoformat
SCHEMA = (
    "org_id string, user_key string, event_date date, action string, output_disposition string, "
    "source_format string, tool string, model string, prompt_tokens bigint, "
    "completion_tokens bigint, cost_usd double"
)
SEATS_SCHEMA = (
    "source_format string, tool string, user_key string, alias string, plan string, "
    "assigned_from date, assigned_to date, seen_on date, last_activity date"
)
CUR, LLM = "cursor_usage_events", "litellm_spend_logs"


def ev(org, user, day, src, cost=None, model="m", out_tokens=None, tool="ide"):
    return (org, user, D(day), "other", None, src, tool, model, None, out_tokens, cost)


def _rows(spark, events, prices, seats=None):
    activity = ad.combined(ad.event_activity(spark.createDataFrame(events, SCHEMA), prices), None)
    costs = None
    if seats is not None:
        directory = spark.createDataFrame(
            [("u1", "A", D("2025-01-01"), None)],
            "user_key string, org_id string, valid_from date, valid_to date",
        )
        frame = spark.createDataFrame(seats, SEATS_SCHEMA)
        costs = ad.seat_costs(frame, activity, START, END, prices, directory=directory)
    out = ad.org_adoption(
        activity, START, END, min_users=1, dominance_share=1.0, run_id="r", seat_costs=costs
    )
    return {(r.org_id, r.source_format): r.asDict() for r in out.collect()}


def test_prices_between_keeps_the_rows_in_force_in_the_period():
    table = Adoption(
        "usd",
        (
            {"tool": "cursor", "effective_from": "2025-06-01", "per_request": 0.4},  # to Jan
            {"tool": "cursor", "effective_from": "2026-01-01", "per_request": 0.5},  # to 16 Mar
            {"tool": "cursor", "effective_from": "2026-03-16", "per_request": 1.0},  # open
            {"tool": "cursor", "effective_from": "2026-04-01", "per_request": 9.0},  # after
        ),
    )
    p = ad.prices_between(table, START, END)
    assert p.currency == "USD" and p.usd_rate is None
    assert [(r.per_request, lo, hi) for r, lo, hi in p.rows] == [
        (0.5, D("2026-01-01"), D("2026-03-16")),
        (1.0, D("2026-03-16"), D("2026-04-01")),
    ]


def test_a_price_changing_inside_the_period_applies_to_its_days(spark):
    # Cursor: seat 31 a month to 15 Mar, 62 from 16 Mar; 0.5 a request, 1.0 from 16 Mar.
    # LiteLLM: any model 1.0 per 1k output tokens; model gpt-x 2.0 from 20 Mar.
    # u1 holds a Cursor seat all March: 15 days x 31 + 16 days x 62 = 1457 month-days
    #   x 12 / 365 = 47.9014; requests 10 Mar x 2 (0.5 each) + 20 Mar x 1 (1.0) = 2.0.
    # u2: gpt-x events of 1000 output tokens on 19 Mar (any-model 1.0) and 20 Mar (2.0) = 3.0.
    # cursor_usage_events: 47.9014 + 2.0 = 49.90; litellm: 3.00; all: 52.90.
    # (The first day's prices alone would give 31 x 31 x 12 / 365 + 1.5 + 2.0 = 35.08.)
    table = Adoption(
        "USD",
        (
            {
                "tool": "cursor",
                "effective_from": "2026-01-01",
                "seat_per_month": 31,
                "per_request": 0.5,
            },
            {
                "tool": "cursor",
                "effective_from": "2026-03-16",
                "seat_per_month": 62,
                "per_request": 1.0,
            },
            {"tool": LLM, "effective_from": "2026-01-01", "per_1k_output_tokens": 1.0},
            {
                "tool": LLM,
                "model": "gpt-x",
                "effective_from": "2026-03-20",
                "per_1k_output_tokens": 2.0,
            },
        ),
    )
    events = [
        ev("A", "u1", "2026-03-10", CUR),
        ev("A", "u1", "2026-03-10", CUR),
        ev("A", "u1", "2026-03-20", CUR),
        ev("A", "u2", "2026-03-19", LLM, model="gpt-x", out_tokens=1000, tool="assistant"),
        ev("A", "u2", "2026-03-20", LLM, model="gpt-x", out_tokens=1000, tool="assistant"),
    ]
    seats = [("seats_csv", "cursor", "u1", "ana", None, D("2026-01-05"), None, None, None)]
    got = _rows(spark, events, ad.prices_between(table, START, END), seats)
    assert got[("A", CUR)]["cost"] == pytest.approx(49.90)
    assert got[("A", LLM)]["cost"] == pytest.approx(3.00)
    assert got[("A", "all")]["cost"] == pytest.approx(52.90)
    assert got[("A", "all")]["cost_source"] == "price_table"
    assert got[("A", "all")]["cost_note"] is None


def test_two_spans_of_one_seat_add_and_a_day_listed_twice_counts_once(spark):
    # u1's Cursor seat 1..10 Mar and again 21..31 Mar (two listings of the second span):
    # 10 + 11 = 21 days x 36.5 x 12 / 365 = 25.20
    table = Adoption(
        "USD", ({"tool": "cursor", "effective_from": "2026-01-01", "seat_per_month": 36.5},)
    )
    seats = [
        ("seats_csv", "cursor", "u1", "ana", None, D("2026-03-01"), D("2026-03-11"), None, None),
        ("seats_csv", "cursor", "u1", "ana", None, D("2026-03-21"), None, None, None),
        ("seats_csv", "cursor", "u1", "ana", None, D("2026-03-21"), None, None, None),
    ]
    got = _rows(
        spark, [ev("A", "u1", "2026-03-02", CUR)], ad.prices_between(table, START, END), seats
    )
    assert got[("A", "all")]["cost"] == pytest.approx(25.20)


EUR_EVENTS = [
    ev("A", "u1", "2026-03-02", CUR, cost=2.0),  # the vendor's $2.00
    ev("A", "u2", "2026-03-02", CUR),  # no vendor cost: priced 0.5 EUR
    ev("C", "u3", "2026-03-02", CUR),  # priced only
]
EUR = ({"tool": "cursor", "effective_from": "2026-01-01", "per_request": 0.5},)


def test_vendor_usd_converted_at_the_configured_rate(spark):
    # 0.9 EUR a dollar: A = 2.0 x 0.9 + 0.5 = 2.30 EUR, 'mixed', noted as converted
    got = _rows(spark, EUR_EVENTS, ad.prices_between(Adoption("EUR", EUR, 0.9), START, END))
    a = got[("A", "all")]
    assert (a["cost"], a["cost_source"], a["cost_note"]) == (
        pytest.approx(2.3),
        "mixed",
        "vendor_usd_converted",
    )
    c = got[("C", "all")]
    assert (c["cost"], c["cost_source"], c["cost_note"]) == (
        pytest.approx(0.5),
        "price_table",
        None,
    )


def test_vendor_usd_without_a_rate_is_na_with_a_note_never_summed(spark):
    got = _rows(spark, EUR_EVENTS, ad.prices_between(Adoption("EUR", EUR), START, END))
    a = got[("A", "all")]
    assert a["cost"] is None and a["cost_source"] is None and a["cost_per_active_user"] is None
    assert a["cost_note"] == "vendor_usd_not_converted"
    assert a["active_users"] == 2  # the counts are unaffected
    # an org with no vendor figure keeps its priced cost
    c = got[("C", "all")]
    assert (c["cost"], c["cost_note"]) == (pytest.approx(0.5), None)


@pytest.mark.parametrize("rate", [0, -1, "0.9", True])
def test_a_bad_usd_rate_is_refused(rate):
    with pytest.raises(ConfigError, match="adoption.usd_rate"):
        Adoption("EUR", (), rate)

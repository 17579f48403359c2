"""Vendor cost of per-event exports (Cursor ``tokenUsage.totalCents``, LiteLLM ``spend``) in
gold/org_adoption: the vendor's own figure first, the price table for events without one, NA
where neither. Small hand-made silver/interactions frames; sums worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from theater.config import Adoption
from theater.transforms import adoption as ad

START, END = date(2026, 7, 1), date(2026, 8, 1)
SCHEMA = (
    "org_id string, user_key string, event_date date, action string, output_disposition string, "
    "source_format string, tool string, model string, prompt_tokens bigint, "
    "completion_tokens bigint, cost_usd double"
)
CUR, LLM = "cursor_usage_events", "litellm_spend_logs"
D = date.fromisoformat
PRICES = Adoption(
    "USD",
    (
        {"tool": "cursor", "effective_from": "2026-01-01", "per_request": 0.5},
        {"tool": "litellm_spend_logs", "effective_from": "2026-01-01", "per_1k_output_tokens": 2.0},
    ),
)


def ev(org, user, day, src, cost, tool="ide", out_tokens=None):
    return (org, user, D(day), "other", None, src, tool, "m", None, out_tokens, cost)


EVENTS = [
    # A: u1's two Cursor events report 1.25 + 0.75 = 2.00 themselves (the price would say
    #    2 x 0.5 = 1.00: the vendor wins); u2's request-priced event reports none -> 0.5 priced
    ev("A", "u1", "2026-07-06", CUR, 1.25),
    ev("A", "u1", "2026-07-07", CUR, 0.75),
    ev("A", "u2", "2026-07-06", CUR, None),
    # u3's LiteLLM spend 0.0 + 1.30 (500 output tokens each: priced it would be 1.0 + 1.0)
    ev("A", "u3", "2026-07-06", LLM, 0.0, tool="assistant", out_tokens=500),
    ev("A", "u3", "2026-07-08", LLM, 1.30, tool="assistant", out_tokens=500),
    # u4: a native event (the landing contract has no cost: null) of a tool with no price
    ev("A", "u4", "2026-07-09", None, None, tool="chat"),
    # B: LiteLLM reports a spend of exactly 0: a known zero, not unknown
    ev("B", "u5", "2026-07-06", LLM, 0.0, tool="assistant"),
]


def _adoption(spark, prices):
    frame = spark.createDataFrame(EVENTS, SCHEMA)
    activity = ad.combined(ad.event_activity(frame, prices), None)
    out = ad.org_adoption(activity, START, END, min_users=1, dominance_share=1.0, run_id="r")
    return {(r.org_id, r.source_format): r.asDict() for r in out.collect()}


def test_vendor_event_cost_wins_price_table_fills_in(spark):
    got = _adoption(spark, PRICES.prices_on(START))
    cost = {k: (r["cost"], r["cost_source"]) for k, r in got.items()}
    # cursor: 2.00 (vendor) + 0.50 (price table) = 2.50, both sources -> mixed
    assert cost[("A", CUR)] == (pytest.approx(2.5), "mixed")
    # litellm: 0.0 + 1.30 from the vendor only; the 2 x 1.0 the price table would give is unused
    assert cost[("A", LLM)] == (pytest.approx(1.3), "vendor")
    # the native event: no vendor cost, no price -> NA, never 0
    assert cost[("A", "native")] == (None, None)
    # all: 2.50 + 1.30 = 3.80 over 4 active people = 0.95 each
    assert cost[("A", "all")] == (pytest.approx(3.8), "mixed")
    assert got[("A", "all")]["cost_per_active_user"] == pytest.approx(0.95)
    # a reported 0 is a cost: 0.0 from the vendor, not null
    assert cost[("B", LLM)] == (0.0, "vendor") and cost[("B", "all")] == (0.0, "vendor")


def test_without_prices_only_the_vendor_figures_count(spark):
    got = _adoption(spark, None)
    cost = {k: (r["cost"], r["cost_source"]) for k, r in got.items()}
    # u2's event has neither: left out (its cost is unknown), not 0
    assert cost[("A", CUR)] == (pytest.approx(2.0), "vendor")
    assert cost[("A", LLM)] == (pytest.approx(1.3), "vendor")
    assert cost[("A", "native")] == (None, None)
    assert cost[("A", "all")] == (pytest.approx(3.3), "vendor")


def test_events_without_the_cost_column_are_priced_or_na(spark):
    """Silver written before the column existed: every event is priced by the table, or NA."""
    frame = spark.createDataFrame(EVENTS, SCHEMA).drop("cost_usd")
    activity = ad.combined(ad.event_activity(frame, PRICES.prices_on(START)), None)
    out = ad.org_adoption(activity, START, END, min_users=1, dominance_share=1.0, run_id="r")
    got = {(r.org_id, r.source_format): (r.cost, r.cost_source) for r in out.collect()}
    # cursor: 3 requests x 0.5 = 1.50; litellm A: 1000 output tokens x 2.0 / 1k = 2.00
    assert got[("A", CUR)] == (pytest.approx(1.5), "price_table")
    assert got[("A", LLM)] == (pytest.approx(2.0), "price_table")
    # B's event has no output tokens: nothing to price -> NA
    assert got[("B", LLM)] == (None, None)

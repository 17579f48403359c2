"""Usage in one unit: each vendor user-day format's records, read by its own reader, give usage
units whose ``usage`` is requests plus pushed outputs shown (one completion shown = one unit, as
one completion event), while ``n`` stays the requests. Values worked out by hand in the
comments; the records use the vendors' documented field names with made-up values."""

from __future__ import annotations

from datetime import date

import pytest

from theater.sources.exports.formats import (
    amazon_q_user_activity,
    claude_code_analytics,
    cursor_daily_usage,
    github_copilot_premium_requests,
    github_copilot_users,
    viva_person_query,
)
from theater.transforms import aggregates as agg

START, END = date(2026, 7, 1), date(2026, 10, 1)
FIELDS = [f.strip().split(" ")[0] for f in agg.USER_DAYS_SCHEMA.split(",")]


def _frame(spark, rows: list[dict], org: str = "o1"):
    """Reader rows -> silver/user_days rows (the org resolved, the alias used as user_key)."""
    out = []
    for r in rows:
        d = {k: r.get(k) for k in FIELDS}
        d["user_key"] = r["user_id"]
        d["org_id"] = r.get("org_id") or org
        d["day"] = date.fromisoformat(r["day"])
        out.append(tuple(d[k] for k in FIELDS))
    return spark.createDataFrame(out, agg.USER_DAYS_SCHEMA)


def _by_feature(spark, rows):
    """{feature: (n, usage, acceptance)} of one user-day's usage units."""
    df = _frame(spark, rows)
    # a usage unit keeps no feature column: the same columns on the rows, with their feature
    return {
        r.feature: (r.n, r.usage)
        for r in df.select(
            "feature",
            agg.request_count().cast("double").alias("n"),
            agg.usage_count().cast("double").alias("usage"),
        ).collect()
    }


def _incentive_usage(spark, rows) -> float:
    """The user's ``usage`` as the score stage hands it to the estimators: usage units ->
    incentive units (no weights measured) -> per user."""
    units = agg.usage_units(_frame(spark, rows), START, END)
    inc = agg.with_weights(None, None, [])(units)
    (u,) = agg.incentive_users(inc).collect()
    return u.usage


def test_cursor_daily_usage_tabs_shown_are_usage(spark):
    rec = {
        "date": 1783555200000,  # 2026-07-09 00:00 UTC
        "email": "ana@example.com",
        "totalTabsShown": 120,
        "totalTabsAccepted": 30,
        "totalApplies": 10,
        "totalAccepts": 6,
        "totalRejects": 3,
        "chatRequests": 4,
        "composerRequests": 2,
        "agentRequests": 5,
        "cmdkUsages": 1,
        "acceptedLinesAdded": 80,
    }
    rows = cursor_daily_usage.map_record(rec)
    got = _by_feature(spark, rows)
    # tabs: pushed, no requests -> n null; usage = 120 shown
    assert got["code_completion"] == (None, 120.0)
    # applies: requested output without a request count -> n = usage = 10 applies
    assert got["apply"] == (10.0, 10.0)
    assert got["chat"] == (4.0, 4.0)
    assert got["composer"] == (2.0, 2.0)
    assert got["agent"] == (5.0, 5.0)
    assert got["cmdk"] == (1.0, 1.0)
    # the all row carries only lines: neither requests nor usage
    assert got["all"] == (None, None)
    # whole usage: 120 + 10 + 4 + 2 + 5 + 1 = 142 (requests alone: 22)
    assert _incentive_usage(spark, rows) == pytest.approx(142.0)


def test_github_copilot_users_code_completion_counts_generations_shown(spark):
    rec = {
        "day": "2026-07-09",
        "user_login": "octo",
        "organization_id": "99",
        "totals_by_feature": [
            {
                "feature": "code_completion",
                "user_initiated_interaction_count": 0,
                "code_generation_activity_count": 50,
                "code_acceptance_activity_count": 20,
            },
            {
                "feature": "chat_panel_ask_mode",
                "user_initiated_interaction_count": 5,
                "code_generation_activity_count": 7,
                "code_acceptance_activity_count": 2,
            },
        ],
        "totals_by_cli": {"prompt_count": 3, "session_count": 1},
    }
    rows = github_copilot_users.map_record(rec)
    got = _by_feature(spark, rows)
    # completions: GitHub reports 0 user-initiated interactions -> n 0; usage = 50 shown
    assert got["code_completion"] == (0.0, 50.0)
    # chat: 5 prompts are the usage (the 7 generations answer them)
    assert got["chat_panel_ask_mode"] == (5.0, 5.0)
    assert got["cli"] == (3.0, 3.0)
    # 50 + 5 + 3 = 58 (requests alone: 8)
    assert _incentive_usage(spark, rows) == pytest.approx(58.0)


def test_github_copilot_users_totals_only_record_counts_its_requests(spark):
    # no per-feature split: the top-level generations mix completions and chat answers, so
    # the row's usage is its requests (documented limit)
    rec = {
        "day": "2026-07-09",
        "user_login": "octo",
        "user_initiated_interaction_count": 6,
        "code_generation_activity_count": 40,
        "code_acceptance_activity_count": 10,
    }
    got = _by_feature(spark, github_copilot_users.map_record(rec))
    assert got["all"] == (6.0, 6.0)


def test_amazon_q_inline_suggestions_are_usage(spark):
    rec = {
        "UserId": "idc-1",
        "Date": "2026-07-09",
        "Inline_SuggestionsCount": 40,
        "Inline_AcceptanceCount": 10,
        "Chat_MessagesSent": 12,
        "Chat_MessagesInteracted": 3,
        "InlineChat_TotalEventCount": 6,
        "InlineChat_AcceptanceEventCount": 3,
        "InlineChat_RejectionEventCount": 2,
        "InlineChat_DismissalEventCount": 1,
        "Dev_GenerationEventCount": 4,
        "Dev_AcceptanceEventCount": 2,
    }
    rows = amazon_q_user_activity.map_record(rec)
    got = _by_feature(spark, rows)
    assert got["code_completion"] == (None, 40.0)
    assert got["chat"] == (12.0, 12.0)
    assert got["inline_chat"] == (6.0, 6.0)
    # dev agent: requested output, no request count -> its 4 generations
    assert got["dev_agent"] == (4.0, 4.0)
    # 40 + 12 + 6 + 4 = 62
    assert _incentive_usage(spark, rows) == pytest.approx(62.0)
    # the acceptance component stays on requested outputs only: inline chat 3 unused of 6
    acc = {
        (r.n, r.usage): r.acceptance
        for r in agg.usage_units(_frame(spark, rows), START, END).collect()
    }
    assert acc[(None, 40.0)] is None
    assert acc[(6.0, 6.0)] == pytest.approx(0.5)


def test_claude_code_analytics_and_viva_have_no_pushed_feature(spark):
    cc = claude_code_analytics.map_record(
        {
            "date": "2026-07-09T00:00:00Z",
            "actor": {"type": "user_actor", "email_address": "bo@example.com"},
            "tool_actions": {"edit_tool": {"accepted": 8, "rejected": 2}},
        }
    )
    # 10 edit proposals (accepted + rejected), n = usage
    assert _by_feature(spark, cc)["agent"] == (10.0, 10.0)
    viva = viva_person_query.map_record(
        {
            "PersonId": "p1",
            "MetricDate": "2026-07-05",  # a Sunday
            "Organization": "o1",
            "Copilot_actions_taken_in_Word": 7,
            "Summarise_email_thread_actions": 2,
        }
    )
    got = _by_feature(spark, viva)
    assert got["word"] == (7.0, 7.0)
    # the summarise subset repeats the app actions: it gives no usage unit
    units = agg.usage_units(_frame(spark, viva), START, END).collect()
    assert [(u.n, u.usage) for u in units] == [(7.0, 7.0)]


def test_premium_requests_counted_elsewhere_add_no_usage(spark):
    users = github_copilot_users.map_record(
        {
            "day": "2026-07-09",
            "user_login": "octo",
            "totals_by_feature": [
                {
                    "feature": "chat_panel_agent_mode",
                    "user_initiated_interaction_count": 4,
                    "code_generation_activity_count": 4,
                    "code_acceptance_activity_count": 1,
                }
            ],
        }
    )
    premium = github_copilot_premium_requests.map_record(
        {
            "date": "2026-07-09",
            "username": "octo",
            "sku": "copilot_premium_request",
            "model": "m",
            "quantity": 3,
            "unit_type": "requests",
            "net_amount": 0.12,
        }
    )
    # the 3 billed requests are among the users report's 4: usage 4, not 7
    assert _incentive_usage(spark, users + premium) == pytest.approx(4.0)
    # alone, the premium report's requests count
    assert _incentive_usage(spark, premium) == pytest.approx(3.0)


def test_pushed_feature_falls_back_to_decided_then_requests(spark):
    base = dict(source_format="x", user_id="u", day="2026-07-09")
    rows = [
        # no shown count: accepted + rejected + dismissed = 5 + 1 + 0
        dict(base, feature="completion", accepted=5, rejected=1, dismissed=0),
        # nothing shown or decided, requests only
        dict(base, feature="complete", requests=9),
        # nothing at all: no usage (unknown stays NA, never 0)
        dict(base, feature="code_completion"),
    ]
    got = _by_feature(spark, rows)
    assert got["completion"] == (None, 6.0)
    assert got["complete"] == (9.0, 9.0)
    assert got["code_completion"] == (None, None)

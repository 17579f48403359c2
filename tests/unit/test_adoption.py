"""The adoption definitions (theater.transforms.adoption) on small hand-made frames, expected
values worked out by hand in the comments."""

from __future__ import annotations

from datetime import date

import pytest

from theater.transforms import adoption as ad
from theater.transforms.aggregates import USER_DAYS_SCHEMA

START, END = date(2026, 3, 1), date(2026, 4, 1)
EVENTS_SCHEMA = (
    "org_id string, user_key string, event_date date, action string, "
    "output_disposition string, source_format string"
)
D = date.fromisoformat


def _ud(src, user, day, feature, org="A", period_days=1, **counts):
    from theater.transforms.vendor import USER_DAY_COUNTS

    counted = [counts.get(n) for n in USER_DAY_COUNTS]
    return (src, user, org, None, D(day), feature, *counted, period_days)


def _rows(df):
    return {(r.org_id, r.source_format): r.asDict() for r in df.collect()}


def _adopt(spark, events=None, user_days=None, min_users=1, dominance=1.0, index=None):
    ev = ad.event_activity(spark.createDataFrame(events, EVENTS_SCHEMA)) if events else None
    ag = (
        ad.aggregate_activity(spark.createDataFrame(user_days, USER_DAYS_SCHEMA), START, END)
        if user_days
        else None
    )
    return _rows(
        ad.org_adoption(
            ad.combined(ev, ag),
            START,
            END,
            min_users=min_users,
            dominance_share=dominance,
            run_id="r",
            index_suppressed=index,
        )
    )


def test_period_weeks_and_engaged_threshold():
    # March 2026: Sunday 1st (ISO week of Mon 23 Feb) .. Tuesday 31st (week of Mon 30 Mar)
    assert ad.period_weeks(START, END) == 6
    assert ad.period_weeks(date(2026, 3, 2), date(2026, 3, 9)) == 1
    assert [ad.engaged_weeks(n) for n in (1, 2, 4, 5, 6, 13)] == [1, 2, 2, 3, 3, 7]


# The same behaviour of one person, u1, as events and as user-day aggregates:
#   Mon 2 Mar: 3 chat requests (2 outputs accepted, 1 rejected) and 1 inline completion shown,
#              not accepted;
#   Tue 10 Mar: 1 chat request, its fate not reported.
# By hand: active_users 1; active_days 2; requests 4 (completions are not requests);
# accepted 2; offered 4 (3 chat outputs decided + 1 completion shown; the 10 Mar output's fate
# is unknown); acceptance 2/4 = 0.5; active in the weeks of 2 and 9 Mar: 2 of 6 weeks < 3, so
# not engaged.
EVENTS = [
    ("A", "u1", D("2026-03-02"), "chat", "accepted", None),
    ("A", "u1", D("2026-03-02"), "chat", "discarded", None),
    ("A", "u1", D("2026-03-02"), "chat", "inserted", None),
    ("A", "u1", D("2026-03-02"), "complete", "ignored", None),
    ("A", "u1", D("2026-03-10"), "chat", None, None),
]
USER_DAYS = [
    _ud("cursor_daily_usage", "u1", "2026-03-02", "chat", requests=3, accepted=2, rejected=1),
    _ud("cursor_daily_usage", "u1", "2026-03-02", "completion", suggestions_shown=1, accepted=0),
    _ud("cursor_daily_usage", "u1", "2026-03-10", "chat", requests=1),
]
HAND = {
    "active_users": 1,
    "engaged_users": 0,
    "active_days": 2,
    "requests": 4,
    "accepted": 2,
    "offered": 4,
    "acceptance_rate": 0.5,
}


def test_events_and_aggregates_give_the_same_counts_for_the_same_behaviour(spark):
    from_events = _adopt(spark, events=EVENTS)
    from_aggs = _adopt(spark, user_days=USER_DAYS)
    ev = from_events[("A", "native")]
    ag = from_aggs[("A", "cursor_daily_usage")]
    assert {k: ev[k] for k in HAND} == HAND
    assert {k: ag[k] for k in HAND} == HAND
    assert {k: from_events[("A", "all")][k] for k in HAND} == HAND
    assert {k: from_aggs[("A", "all")][k] for k in HAND} == HAND


def test_engaged_means_half_of_the_period_weeks(spark):
    # u2 uses a tool in the weeks of 2, 9 and 16 March: 3 of 6 weeks -> engaged; u3 in 2
    # weeks -> not; u4 has a row reporting only zeros -> not even active.
    user_days = [
        _ud("github_copilot_users", "u2", d, "chat", requests=1)
        for d in ("2026-03-02", "2026-03-11", "2026-03-20")
    ] + [
        _ud("github_copilot_users", "u3", d, "chat", requests=2)
        for d in ("2026-03-02", "2026-03-03", "2026-03-11")
    ]
    user_days.append(_ud("github_copilot_users", "u4", "2026-03-02", "chat", requests=0))
    r = _adopt(spark, user_days=user_days)[("A", "github_copilot_users")]
    assert (r["active_users"], r["engaged_users"], r["active_days"]) == (2, 1, 6)
    assert r["requests"] == 9  # 3 x 1 + 3 x 2 + 0


def test_a_person_in_three_tools_is_counted_once_in_all(spark):
    # u1 uses native events (1 chat on 2 Mar), GitHub Copilot (2 chat requests on 3 Mar) and
    # Viva (5 actions in the person-week starting Sunday 8 Mar); u2 only GitHub (1 request on
    # 3 Mar). 'all': 2 people, 1 + 2 + 5 + 1 = 9 requests; a person-week row gives no days,
    # so active_days is unknown (null) for Viva and for 'all', known for the daily sources.
    events = [("A", "u1", D("2026-03-02"), "chat", None, None)]
    user_days = [
        _ud("github_copilot_users", "u1", "2026-03-03", "chat", requests=2),
        _ud("github_copilot_users", "u2", "2026-03-03", "chat", requests=1),
        _ud("viva_person_query", "u1", "2026-03-08", "teams", period_days=7, requests=5),
    ]
    rows = _adopt(spark, events=events, user_days=user_days)
    assert rows[("A", "all")]["active_users"] == 2
    assert rows[("A", "all")]["requests"] == 9
    assert rows[("A", "all")]["active_days"] is None
    assert rows[("A", "native")]["active_users"] == 1
    assert rows[("A", "native")]["active_days"] == 1
    assert rows[("A", "github_copilot_users")]["active_users"] == 2
    assert rows[("A", "github_copilot_users")]["active_days"] == 2
    assert rows[("A", "viva_person_query")]["active_days"] is None
    # u1: weeks of 2 Mar (native, GitHub) and 9 Mar (the Viva week starting Sunday 8 Mar) = 2
    assert rows[("A", "all")]["engaged_users"] == 0


def test_a_tool_seen_as_events_and_aggregates_counts_once_in_all(spark):
    # u1's Claude Code use arrives as OTel events (2 prompts) and as the analytics API's
    # user-day (2 requests): per source both are shown, 'all' counts the events only.
    events = [
        ("A", "u1", D("2026-03-02"), "agent", None, "claude_code_otel"),
        ("A", "u1", D("2026-03-02"), "agent", None, "claude_code_otel"),
    ]
    user_days = [_ud("claude_code_analytics", "u1", "2026-03-02", "edit", requests=2)]
    rows = _adopt(spark, events=events, user_days=user_days)
    assert rows[("A", "claude_code_otel")]["requests"] == 2
    assert rows[("A", "claude_code_analytics")]["requests"] == 2
    assert rows[("A", "all")]["requests"] == 2


def test_suppressed_orgs_carry_no_figures(spark):
    # org A: 3 people but suppressed in the index (dominance there); org B: 2 people < k = 3;
    # org C: 3 people, one with 8 of 10 requests > dominance 0.5; org D: 3 people, published.
    user_days = []
    for org, reqs in (("A", (1, 1, 1)), ("B", (1, 1)), ("C", (8, 1, 1)), ("D", (2, 2, 1))):
        for i, n in enumerate(reqs):
            user_days.append(
                _ud("github_copilot_users", f"{org}{i}", "2026-03-02", "chat", org=org, requests=n)
            )
    index = spark.createDataFrame(
        [("A", True, "dominance"), ("B", False, None), ("C", False, None), ("D", False, None)],
        "org_id string, suppressed boolean, suppression_reason string",
    )
    rows = _adopt(spark, user_days=user_days, min_users=3, dominance=0.5, index=index)
    for src in ("github_copilot_users", "all"):
        assert rows[("A", src)]["suppression_reason"] == "dominance"
        assert rows[("B", src)]["suppression_reason"] == "min_users"
        assert rows[("C", src)]["suppression_reason"] == "dominance"
        for org in "ABC":
            r = rows[(org, src)]
            assert r["suppressed"] is True
            assert all(r[f] is None for f in ad.FIGURES), r
        d = rows[("D", src)]
        assert d["suppressed"] is False and d["active_users"] == 3 and d["requests"] == 5


@pytest.mark.parametrize("kind", ["events", "aggregates"])
def test_seats_and_cost_are_null_not_zero(spark, kind):
    rows = _adopt(spark, events=EVENTS) if kind == "events" else _adopt(spark, user_days=USER_DAYS)
    assert rows
    for r in rows.values():
        assert r["licensed_seats"] is None and r["idle_seats"] is None and r["cost"] is None


def test_counts_no_source_reports_stay_null(spark):
    # Viva reports actions only: accepted and offered are unknown (null), not 0.
    user_days = [
        _ud("viva_person_query", "u1", "2026-03-08", "word", period_days=7, requests=4),
        _ud("viva_person_query", "u1", "2026-03-08", "summarize_subset", period_days=7, requests=3),
    ]
    r = _adopt(spark, user_days=user_days)[("A", "viva_person_query")]
    assert r["requests"] == 4  # the summarise subset repeats actions counted in 'word'
    assert r["accepted"] is None and r["offered"] is None and r["acceptance_rate"] is None


def test_automation_is_counted_apart_never_as_people(spark):
    # Events: u1 chats twice (tool 'ide'); a coding agent makes 3 edits in u2's name (tool
    # 'coding_agent'); u1 also has 1 'bugbot' event. Aggregates: u3's pull requests got 2
    # policy-triggered reviews (GitHub feature 'code_review_passive') and nothing else; u4
    # has 1 Cursor Bugbot review and 1 chat request of their own.
    # By hand, 'all': people active by their own use: u1, u4 -> 2; requests 2 + 1 = 3;
    # automation_requests 3 + 1 + 2 + 1 = 7; automation-only people: u2, u3 -> 2.
    schema = EVENTS_SCHEMA + ", tool string"
    events = spark.createDataFrame(
        [
            ("A", "u1", D("2026-03-02"), "chat", None, None, "ide"),
            ("A", "u1", D("2026-03-03"), "chat", None, None, "ide"),
            ("A", "u1", D("2026-03-03"), "review", None, None, "bugbot"),
        ]
        + [("A", "u2", D("2026-03-04"), "code_edit", None, None, "coding_agent")] * 3,
        schema,
    )
    user_days = spark.createDataFrame(
        [
            _ud("github_copilot_users", "u3", "2026-03-05", "code_review_passive", requests=2),
            _ud("cursor_daily_usage", "u4", "2026-03-05", "bugbot", requests=1),
            _ud("cursor_daily_usage", "u4", "2026-03-05", "chat", requests=1),
        ],
        USER_DAYS_SCHEMA,
    )
    rows = _rows(
        ad.org_adoption(
            ad.combined(ad.event_activity(events), ad.aggregate_activity(user_days, START, END)),
            START,
            END,
            min_users=1,
            dominance_share=1.0,
            run_id="r",
        )
    )
    a = rows[("A", "all")]
    assert (a["active_users"], a["requests"]) == (2, 3)
    assert (a["automation_users"], a["automation_requests"]) == (2, 7)
    assert a["active_days"] == 3  # u1 on 2 and 3 Mar, u4 on 5 Mar; automation days not counted
    g = rows[("A", "github_copilot_users")]  # only automation: no person active -> suppressed
    assert g["suppressed"] is True and g["automation_users"] is None
    n = rows[("A", "native")]
    assert (n["active_users"], n["automation_users"], n["automation_requests"]) == (1, 1, 4)


def test_automation_names():
    import re

    hits = ["bugbot", "coding_agent", "copilot_coding_agent", "code_review_passive", "bot"]
    misses = ["chat_panel_agent_mode", "agent_edit", "chatbot", "code_completion", "agent"]
    assert all(re.search(ad.AUTOMATION, h) for h in hits)
    assert not any(re.search(ad.AUTOMATION, m) for m in misses)


def test_net_of_theater_by_hand(spark):
    # Org A, index 30 [20, 45] (0-100: shares 0.30 [0.20, 0.45]). u1: 4 chats, none flagged (share 0); u2: 4 chats, 2
    # flagged (0.5); u3: 8 chats, 3 flagged (0.375); u4: GitHub aggregates only, 2 requests,
    # no labels -> the org's share 0.30. Org B: 1 person, the index not measurable (null).
    # Mostly genuine = share < 0.5: u1, u3, u4 -> 3. Low bound: every share + (0.45 - 0.30):
    # 0.15, 0.65, 0.525, 0.45 -> u1, u4 = 2. High bound: every share - (0.30 - 0.20): 4.
    # Requests 4 + 4 + 8 + 2 = 18; genuine 18 x 0.70 = 12.6 -> 13 [18 x 0.55 = 9.9 -> 10,
    # 18 x 0.80 = 14.4 -> 14].
    n = {"u1": (4, 0), "u2": (4, 2), "u3": (8, 3)}
    events, labels = [], []
    for u, (k, flagged) in n.items():
        for i in range(k):
            events.append(("A", u, D("2026-03-02"), "chat", None, None))
            labels.append(("A", u, i < flagged))
    events.append(("B", "b1", D("2026-03-02"), "chat", None, None))
    user_days = [_ud("github_copilot_users", "u4", "2026-03-03", "chat", requests=2)]
    index = spark.createDataFrame(
        [("A", False, None, 30.0, 20.0, 45.0), ("B", False, None, None, None, None)],
        "org_id string, suppressed boolean, suppression_reason string, theater_index double, "
        "ci_low double, ci_high double",
    )
    theater = ad.person_theater(
        spark.createDataFrame(labels, "org_id string, user_key string, is_theater boolean")
    )
    rows = _rows(
        ad.org_adoption(
            ad.combined(
                ad.event_activity(spark.createDataFrame(events, EVENTS_SCHEMA)),
                ad.aggregate_activity(
                    spark.createDataFrame(user_days, USER_DAYS_SCHEMA), START, END
                ),
            ),
            START,
            END,
            min_users=1,
            dominance_share=1.0,
            run_id="r",
            index_suppressed=index,
            theater=theater,
        )
    )
    a = rows[("A", "all")]
    assert (a["active_users"], a["requests"]) == (4, 18)
    assert (a["genuine_users"], a["genuine_users_low"], a["genuine_users_high"]) == (3, 2, 4)
    assert (a["genuine_requests"], a["genuine_requests_low"], a["genuine_requests_high"]) == (
        13,
        10,
        14,
    )
    # per source: native has u1..u3 (u3 and u1 mostly genuine), GitHub u4 alone
    assert rows[("A", "native")]["genuine_users"] == 2
    assert rows[("A", "github_copilot_users")]["genuine_users"] == 1
    b = rows[("B", "all")]
    assert b["active_users"] == 1 and b["requests"] == 1
    assert all(b[c] is None for c in ad.NET_FIGURES)  # not measurable: NA, never 0


COST_SCHEMA = USER_DAYS_SCHEMA + ", cost_usd double"


def _cost_ud(src, user, day, org, cost_usd, **counts):
    return (*_ud(src, user, day, "agent", org=org, **counts), cost_usd)


@pytest.mark.parametrize("priced", [False, True])
def test_vendor_cost_wins_is_summed_per_org_and_null_when_absent(spark, priced):
    # Prices (when given): claude_code 1.0 per 1k output tokens, cursor 0.5 per request.
    # A: u1's Claude Code day reports $4.18 itself (the price would give 2.0: the vendor's own
    #    figure wins); u2's day reports no cost -> priced 1000 / 1000 x 1.0 = 1.0 (else null);
    #    u3's 3 Cursor requests -> 1.5 (else null).
    #    claude_code_analytics: 4.18 + 1.0 = 5.18 'mixed' (unpriced: 4.18 'vendor');
    #    cursor_daily_usage: 1.5 'price_table' (unpriced: null, null);
    #    all: 6.68 'mixed' over 3 active users = 2.23 (unpriced: 4.18 'vendor', 4.18/3 = 1.39).
    # B: the vendor's own 0.40 + 0.25 = 0.65 'vendor', priced or not (no tokens to price).
    # C: a day with neither a vendor cost nor anything to price: null, never 0.
    from theater.config import Adoption

    prices = (
        Adoption(
            "USD",
            (
                {
                    "tool": "claude_code",
                    "effective_from": "2026-01-01",
                    "per_1k_output_tokens": 1.0,
                },
                {"tool": "cursor", "effective_from": "2026-01-01", "per_request": 0.5},
            ),
        ).prices_on(START)
        if priced
        else None
    )
    cc, cur = "claude_code_analytics", "cursor_daily_usage"
    rows = [
        _cost_ud(cc, "u1", "2026-03-02", "A", 4.18, suggestions_shown=1, output_tokens=2000),
        _cost_ud(cc, "u2", "2026-03-03", "A", None, suggestions_shown=2, output_tokens=1000),
        _cost_ud(cur, "u3", "2026-03-03", "A", None, requests=3),
        _cost_ud(cc, "u4", "2026-03-02", "B", 0.40, suggestions_shown=1),
        _cost_ud(cc, "u5", "2026-03-04", "B", 0.25, suggestions_shown=1),
        _cost_ud(cc, "u6", "2026-03-04", "C", None, suggestions_shown=1),
    ]
    activity = ad.combined(
        None,
        ad.aggregate_activity(spark.createDataFrame(rows, COST_SCHEMA), START, END, prices),
    )
    got = _rows(ad.org_adoption(activity, START, END, min_users=1, dominance_share=1.0, run_id="r"))
    cost = {k: (r["cost"], r["cost_source"]) for k, r in got.items()}
    if priced:
        assert cost[("A", cc)] == (pytest.approx(5.18), "mixed")
        assert cost[("A", cur)] == (pytest.approx(1.5), "price_table")
        assert cost[("A", "all")] == (pytest.approx(6.68), "mixed")
        assert got[("A", "all")]["cost_per_active_user"] == pytest.approx(2.23)
    else:
        assert cost[("A", cc)] == (pytest.approx(4.18), "vendor")
        assert cost[("A", cur)] == (None, None)
        assert cost[("A", "all")] == (pytest.approx(4.18), "vendor")
        assert got[("A", "all")]["cost_per_active_user"] == pytest.approx(1.39)
    assert cost[("B", cc)] == (pytest.approx(0.65), "vendor")
    assert cost[("B", "all")] == (pytest.approx(0.65), "vendor")
    assert cost[("C", cc)] == (None, None) and cost[("C", "all")] == (None, None)
    assert got[("C", "all")]["active_users"] == 1  # active, yet no price: NA, not 0


def test_cost_source_is_null_when_suppressed(spark):
    rows = [_cost_ud("claude_code_analytics", "u1", "2026-03-02", "A", 4.18, suggestions_shown=1)]
    activity = ad.combined(
        None, ad.aggregate_activity(spark.createDataFrame(rows, COST_SCHEMA), START, END)
    )
    got = _rows(ad.org_adoption(activity, START, END, min_users=2, dominance_share=1.0, run_id="r"))
    for r in got.values():
        assert r["suppressed"] is True and r["cost"] is None and r["cost_source"] is None

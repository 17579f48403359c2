"""silver/user_days -> usage units, de-duplication against events, incentive units; on hand-made
rows with the values worked out by hand in the comments."""

from __future__ import annotations

from datetime import date

import pytest

from theater.transforms import aggregates as agg

START, END = date(2026, 7, 1), date(2026, 10, 1)


def _ud(spark, rows):
    """rows: (source_format, user_key, org_id, day, feature, requests, shown, accepted,
    rejected, dismissed, period_days)."""
    full = [
        (s, u, o, "v", d, f, r, sh, a, rj, ds, None, None, None, None, None, p)
        for (s, u, o, d, f, r, sh, a, rj, ds, p) in rows
    ]
    return spark.createDataFrame(full, agg.USER_DAYS_SCHEMA)


def test_usage_units_requests_acceptance_and_na(spark):
    rows = [
        # Amazon Q chat: 12 requests, 9 accepted 1 rejected 2 dismissed -> unused 3/12 = 0.25
        (
            "amazon_q_user_activity",
            "u1",
            "o1",
            date(2026, 7, 7),
            "inline_chat",
            12,
            None,
            9,
            1,
            2,
            1,
        ),
        # inline completions: pushed, 40 shown, 10 accepted, no requests -> no requests (n
        # null), no acceptance (low acceptance of completions is not theater); kept for its
        # usage (40 shown, tests/unit/test_usage_units_one_unit.py)
        (
            "amazon_q_user_activity",
            "u1",
            "o1",
            date(2026, 7, 7),
            "code_completion",
            None,
            40,
            10,
            None,
            None,
            1,
        ),
        # GitHub completions report requests 0 -> usage 0, no acceptance
        (
            "github_copilot_users",
            "u2",
            "o1",
            date(2026, 7, 7),
            "code_completion",
            0,
            50,
            20,
            None,
            None,
            1,
        ),
        # GitHub chat: 5 requests, accepted only (no rejections reported) -> acceptance NA
        (
            "github_copilot_users",
            "u2",
            "o1",
            date(2026, 7, 7),
            "chat_panel_ask_mode",
            5,
            5,
            2,
            None,
            None,
            1,
        ),
        # Claude Code analytics: no request count; 8 accepted, 2 rejected edits -> n = 10
        # proposals (no suggestions_shown given), unused 0.2
        ("claude_code_analytics", "u3", "o1", date(2026, 7, 8), "agent", None, None, 8, 2, None, 1),
        # Viva summarise subset: repeats actions counted elsewhere -> dropped
        (
            "viva_person_query",
            "u4",
            "o1",
            date(2026, 7, 5),
            "summarize_subset",
            3,
            None,
            None,
            None,
            None,
            7,
        ),
        # Viva Word actions, person-week starting Sunday 2026-07-05 -> ISO week of Mon 07-06
        ("viva_person_query", "u4", "o1", date(2026, 7, 5), "word", 7, None, None, None, None, 7),
        # unresolved org and out-of-period rows: excluded
        (
            "amazon_q_user_activity",
            "u5",
            None,
            date(2026, 7, 7),
            "inline_chat",
            3,
            None,
            3,
            0,
            0,
            1,
        ),
        (
            "amazon_q_user_activity",
            "u1",
            "o1",
            date(2026, 10, 1),
            "inline_chat",
            3,
            None,
            3,
            0,
            0,
            1,
        ),
    ]
    got = sorted(
        (
            r.user_key,
            r.source_format,
            r.day.isoformat(),
            r.week_start.isoformat(),
            r.n,
            None if r.acceptance is None else round(r.acceptance, 6),
        )
        for r in agg.usage_units(_ud(spark, rows), START, END).collect()
        if r.n is not None
    )
    assert got == [
        ("u1", "amazon_q_user_activity", "2026-07-07", "2026-07-06", 12.0, 0.25),
        ("u2", "github_copilot_users", "2026-07-07", "2026-07-06", 0.0, None),
        ("u2", "github_copilot_users", "2026-07-07", "2026-07-06", 5.0, None),
        ("u3", "claude_code_analytics", "2026-07-08", "2026-07-06", 10.0, 0.2),
        ("u4", "viva_person_query", "2026-07-05", "2026-07-06", 7.0, None),
    ]


def test_event_grain_wins_within_a_tool_family(spark):
    rows = [
        ("claude_code_analytics", "u1", "o1", date(2026, 7, 7), "agent", 4, None, 3, 1, None, 1),
        ("claude_code_analytics", "u2", "o1", date(2026, 7, 7), "agent", 4, None, 3, 1, None, 1),
        ("amazon_q_user_activity", "u1", "o1", date(2026, 7, 7), "chat", 6, None, 6, None, None, 1),
    ]
    units = agg.usage_units(_ud(spark, rows), START, END)
    # u1 also has Claude Code OTel events (same family): their analytics rows go; their Amazon Q
    # rows stay (another tool); u2 has only native events: their analytics rows stay
    events = spark.createDataFrame(
        [("o1", "u1", "claude_code_otel"), ("o1", "u2", None)],
        "org_id string, user_key string, source_format string",
    )
    got = sorted(
        (r.user_key, r.source_format) for r in agg.without_event_grain(units, events).collect()
    )
    assert got == [("u1", "amazon_q_user_activity"), ("u2", "claude_code_analytics")]
    # silver/interactions without a source_format column: every event row is native
    native = spark.createDataFrame([("o1", "u1")], "org_id string, user_key string")
    assert agg.without_event_grain(units, native).count() == 3


def test_incentive_users_noisy_or_over_measured_components(spark):
    units = spark.createDataFrame(
        [
            # u1: 10 requests, quota weight 0.5, unused share 0.2 -> p = 1 - 0.5 x 0.8 = 0.6 -> 6
            ("o1", "u1", 10.0, 0.5, None, 0.2, "aggregates"),
            # u1: 4 requests, nothing measured -> usage only
            ("o1", "u1", 4.0, None, None, None, "aggregates"),
            # u2: one interaction, checkpoint weight 0 measured -> p = 0
            ("o1", "u2", 1.0, None, 0.0, None, "events"),
            # u2: zero requests -> ignored
            ("o1", "u2", 0.0, 0.9, None, None, "aggregates"),
        ],
        "org_id string, user_key string, n double, w_q double, w_cp double, acceptance double, "
        "basis string",
    )
    got = {
        r.user_key: (r.inc_num, r.inc_den, r.usage, r.inc_rows, sorted(r._bases))
        for r in agg.incentive_users(units).collect()
    }
    assert got["u1"][0] == pytest.approx(6.0)
    assert got["u1"][1:] == (10.0, 14.0, 1, ["aggregates"])
    assert got["u2"] == (0.0, 1.0, 1.0, 1, ["events"])

"""A user-day reporting only sessions or tokens is a use (Claude Code analytics lists a
person's day for their sessions and tokens even when no edit was decided); zeros are not."""

from __future__ import annotations

from datetime import date

from theater.transforms import adoption as ad
from theater.transforms.aggregates import USER_DAYS_SCHEMA
from theater.transforms.vendor import USER_DAY_COUNTS

START, END = date(2026, 3, 1), date(2026, 4, 1)


def _ud(user, day, **counts):
    c = [counts.get(n) for n in USER_DAY_COUNTS]
    return ("claude_code_analytics", user, "A", None, date.fromisoformat(day), "cli", *c, 1)


def test_sessions_or_tokens_make_a_use_zeros_do_not(spark):
    # u1: 2 sessions, 500 prompt tokens, nothing decided -> active (1 active day)
    # u2: tokens only -> active; u3: every count 0 -> not active; u4: nothing reported -> not
    rows = [
        _ud("u1", "2026-03-02", sessions=2, prompt_tokens=500, suggestions_shown=0, accepted=0),
        _ud("u2", "2026-03-03", output_tokens=40),
        _ud("u3", "2026-03-03", sessions=0, prompt_tokens=0, output_tokens=0, accepted=0),
        _ud("u4", "2026-03-04"),
    ]
    activity = ad.combined(
        None, ad.aggregate_activity(spark.createDataFrame(rows, USER_DAYS_SCHEMA), START, END)
    )
    out = ad.org_adoption(activity, START, END, min_users=1, dominance_share=1.0, run_id="r")
    a = {r.source_format: r for r in out.collect()}["all"]
    assert (a.active_users, a.active_days) == (2, 2)

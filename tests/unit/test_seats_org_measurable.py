"""Idle seats only where the holder's org shows people's use of the tool: an org whose only
export of a tool is org-level (or none) cannot tell an idle seat from an unexported one."""

from __future__ import annotations

from datetime import date

from theater.transforms import adoption as ad
from theater.transforms.aggregates import USER_DAYS_SCHEMA
from theater.transforms.vendor import USER_DAY_COUNTS

D = date.fromisoformat
START, END = D("2026-03-01"), D("2026-04-01")
SEATS_SCHEMA = (
    "source_format string, tool string, user_key string, alias string, plan string, "
    "assigned_from date, assigned_to date, seen_on date, last_activity date"
)


def _a2_uses_copilot(spark):
    """The period's activity: a2 of org A, 2 GitHub Copilot chat requests on 20 March (a
    person-level export of the tool in A)."""
    counts = [2 if n == "requests" else None for n in USER_DAY_COUNTS]
    usage = spark.createDataFrame(
        [("github_copilot_users", "a2", "A", None, D("2026-03-20"), "chat", *counts, 1)],
        USER_DAYS_SCHEMA,
    )
    return ad.combined(None, ad.aggregate_activity(usage, START, END))


def test_idle_needs_person_level_use_of_the_tool_in_the_org(spark):
    # GitHub Copilot seats (plain CSV: no vendor last activity) of a1 in A and b1, b2 in B;
    # nobody holding one used it. A's a2 (no seat) shows GitHub use in the users report, so
    # A's idle seat is measured: licensed 1, idle 1. B has no person-level GitHub use at all
    # (say its GitHub usage comes as org-level metrics only): licensed 2, idle unknown (null).
    seats = spark.createDataFrame(
        [
            ("seats_csv", "github_copilot", u, u, None, D("2026-01-01"), None, None, None)
            for u in ("a1", "b1", "b2")
        ],
        SEATS_SCHEMA,
    )
    activity = _a2_uses_copilot(spark)
    directory = spark.createDataFrame(
        [(u, u[0].upper(), D("2025-01-01"), None) for u in ("a1", "a2", "b1", "b2")],
        "user_key string, org_id string, valid_from date, valid_to date",
    )
    fig = ad.seat_figures(seats, activity, START, END, directory=directory)
    got = {(r.org_id, r.source_format): (r.licensed_seats, r.idle_seats) for r in fig.collect()}
    assert got[("A", "all")] == (1, 1)
    assert got[("B", "all")] == (2, None)


def test_one_stray_person_is_not_evidence_below_min_people(spark):
    # the same world, min_people = 2: A shows one person (a2) using GitHub Copilot -> its seat
    # is not called idle either (null); with min_people = 1 it was (the test above)
    seats = spark.createDataFrame(
        [("seats_csv", "github_copilot", "a1", "a1", None, D("2026-01-01"), None, None, None)],
        SEATS_SCHEMA,
    )
    activity = _a2_uses_copilot(spark)
    directory = spark.createDataFrame(
        [(u, "A", D("2025-01-01"), None) for u in ("a1", "a2")],
        "user_key string, org_id string, valid_from date, valid_to date",
    )
    fig = ad.seat_figures(seats, activity, START, END, directory=directory, min_people=2)
    got = {(r.org_id, r.source_format): (r.licensed_seats, r.idle_seats) for r in fig.collect()}
    assert got[("A", "all")] == (1, None)

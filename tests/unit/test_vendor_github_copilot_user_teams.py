"""github_copilot_user_teams: GitHub's user-teams report (NDJSON) -> membership user_days rows."""

from __future__ import annotations

from vendor_rows import FIXTURES, U, read_all

from theater.sources.exports import FORMATS, recognise
from theater.transforms.vendor import MEMBERSHIP_FEATURE

NAME = "github_copilot_user_teams"
FMT = FORMATS[NAME]


def M(user, kind, day, team, vendor_org="4410"):
    return U(NAME, user, kind, day, MEMBERSHIP_FEATURE, vendor_org=vendor_org, org_id=team)


def test_fixture_rows_worked_out_by_hand():
    got = read_all(FMT, FIXTURES / NAME / "org_user_teams_1_day.jsonl")
    assert got == [
        (1, [M("alice-gh", "github_login", "2026-03-02", "payments-platform")]),
        # a user in two teams: one row per team (refine picks one, a directory wins)
        (2, [M("alice-gh", "github_login", "2026-03-02", "release-guild")]),
        (3, [M("bob-gh", "github_login", "2026-03-02", "search-infra")]),
        # no login: the numeric id, as in the users report
        (4, [M("90210", "github_id", "2026-03-03", "search-infra")]),
        # no slug: the team id
        (5, [M("erin-gh", "github_login", "2026-03-02", "9001")]),
        (6, "missing_required: slug"),
    ]


def test_recognised_and_not_taken_for_the_users_report():
    assert recognise(str(FIXTURES / NAME / "org_user_teams_1_day.jsonl")) == NAME
    users = FIXTURES / "github_copilot_users" / "org_users_1_day.jsonl"
    assert recognise(str(users)) == "github_copilot_users"


def test_membership_rows_carry_no_usage():
    rows = FMT.map_record(
        {"user_login": "x", "day": "2026-03-02", "team_id": 1, "slug": "t", "organization_id": "9"}
    )
    counts = ("requests", "suggestions_shown", "accepted", "rejected", "dismissed")
    assert all(rows[0][c] is None for c in counts)

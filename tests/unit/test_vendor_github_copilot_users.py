"""github_copilot_users: GitHub Copilot usage metrics users report (NDJSON) -> user_days."""

from __future__ import annotations

import pytest
from vendor_rows import FIXTURES, U, read_all

from theater.sources.exports import FORMATS, VendorRecordError

NAME = "github_copilot_users"
FMT = FORMATS[NAME]


def test_fixture_rows_worked_out_by_hand():
    got = read_all(FMT, FIXTURES / NAME / "org_users_1_day.jsonl")
    alice = dict(vendor_org="4410")  # organization_id wins over enterprise_id
    assert got == [
        (
            1,
            [
                U(
                    NAME,
                    "alice-gh",
                    "github_login",
                    "2026-03-02",
                    "code_completion",
                    **alice,
                    requests=0,
                    suggestions_shown=40,
                    accepted=12,
                    lines_suggested=55,
                    lines_accepted=14,
                ),
                U(
                    NAME,
                    "alice-gh",
                    "github_login",
                    "2026-03-02",
                    "chat_panel_ask_mode",
                    **alice,
                    requests=6,
                    suggestions_shown=3,
                    accepted=1,
                    lines_suggested=20,
                    lines_accepted=8,
                ),
                U(
                    NAME,
                    "alice-gh",
                    "github_login",
                    "2026-03-02",
                    "cli",
                    **alice,
                    requests=4,
                    sessions=2,
                    prompt_tokens=5200,
                    output_tokens=1300,
                ),
            ],
        ),
        (
            2,
            [
                U(
                    NAME,
                    "bob-gh",
                    "github_login",
                    "2026-03-02",
                    "chat_panel_agent_mode",
                    vendor_org="4410",
                    requests=9,
                    suggestions_shown=5,
                    accepted=4,
                    lines_suggested=120,
                    lines_accepted=90,
                ),
                U(
                    NAME,
                    "bob-gh",
                    "github_login",
                    "2026-03-02",
                    "agent_edit",
                    vendor_org="4410",
                    requests=0,
                    suggestions_shown=7,
                    accepted=7,
                    lines_suggested=64,
                    lines_accepted=64,
                ),
            ],
        ),
        (3, "malformed_line"),  # trailing comma
        (
            4,
            [
                U(
                    NAME,
                    "90210",
                    "github_id",
                    "2026-03-03",
                    "all",
                    vendor_org="77",
                    requests=2,
                    suggestions_shown=10,
                    accepted=3,
                    lines_suggested=15,
                    lines_accepted=4,
                )
            ],
        ),
        (5, "bad_timestamp: '2026-13-45'"),
    ]


def test_features_partition_the_user_day_totals():
    # alice's top-level totals (43 generated, 13 accepted, 75 suggested, 22 added) are the sum
    # of her features, so summing the feature rows never double-counts
    rows = read_all(FMT, FIXTURES / NAME / "org_users_1_day.jsonl")[0][1]
    feats = [r for r in rows if r["feature"] != "cli"]
    assert sum(r["suggestions_shown"] for r in feats) == 43
    assert sum(r["accepted"] for r in feats) == 13
    assert sum(r["lines_suggested"] for r in feats) == 75
    assert sum(r["lines_accepted"] for r in feats) == 22


def test_unknown_is_none_not_zero_and_bad_records_are_named():
    rows = FMT.map_record(
        {
            "day": "2026-03-05",
            "user_login": "x",
            "totals_by_feature": [
                {"feature": "chat_inline", "user_initiated_interaction_count": 2}
            ],
        }
    )
    assert rows == [U(NAME, "x", "github_login", "2026-03-05", "chat_inline", requests=2)]
    for rec, reason in [
        ({"user_login": "x"}, "missing_required: day"),
        ({"day": "2026-03-05"}, "missing_required: user_login"),
        (
            {
                "day": "2026-03-05",
                "user_login": "x",
                "totals_by_feature": [{"feature": "chat", "loc_added_sum": "lots"}],
            },
            "bad_type: totals_by_feature[0].loc_added_sum",
        ),
        (
            {"day": "2026-03-05", "user_login": "x", "totals_by_feature": {"feature": "chat"}},
            "bad_type: totals_by_feature",
        ),
    ]:
        with pytest.raises(VendorRecordError) as exc:
            FMT.map_record(rec)
        assert str(exc.value).startswith(reason)


def test_looks_like():
    assert FMT.looks_like({"day": "2026-03-02", "user_login": "a", "totals_by_feature": []})
    assert not FMT.looks_like({"day": "2026-03-02", "user_login": "a"})
    assert not FMT.looks_like({"date": "2026-03-02", "total_active_users": 3})

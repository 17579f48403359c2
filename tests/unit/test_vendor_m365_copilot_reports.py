"""m365_copilot_reports: Microsoft 365 Copilot usage reports -> org_days (never user_days)."""

from __future__ import annotations

import pytest
from vendor_rows import FIXTURES, O, read_all

from theater.sources.exports import FORMATS, VendorRecordError
from theater.sources.exports.rows import merge_rows

NAME = "m365_copilot_reports"
FMT = FORMATS[NAME]
DIR = FIXTURES / NAME


def test_trend_json_gives_daily_active_users_per_app():
    rows = []
    for d, any_, teams, word, chat in (
        ("2026-03-03", 140, 110, 35, 60),
        ("2026-03-04", 151, 118, 41, 66),
    ):
        rows += [
            O(NAME, d, "all", active_users=any_),
            O(NAME, d, "teams", active_users=teams),
            O(NAME, d, "word", active_users=word),
            O(NAME, d, "copilot_chat", active_users=chat),
        ]
    assert read_all(FMT, DIR / "copilot_user_count_trend_D7.json") == [(1, rows)]


def test_summary_csv_gives_one_window_per_period():
    # refreshed 2026-03-04: D7 covers 02-26..03-04, D30 covers 02-03..03-04
    w7, w30 = "2026-02-26", "2026-02-03"
    assert read_all(FMT, DIR / "copilot_user_count_summary.csv") == [
        (
            2,
            [
                O(NAME, w7, "teams", period_days=7, active_users=230),
                O(NAME, w7, "word", period_days=7, active_users=90),
                O(NAME, w7, "all", period_days=7, active_users=260),
                O(NAME, w7, "copilot_chat", period_days=7, active_users=150),
            ],
        ),
        (
            3,
            [
                O(NAME, w30, "teams", period_days=30, active_users=310),
                O(NAME, w30, "word", period_days=30, active_users=140),
                O(NAME, w30, "all", period_days=30, active_users=355),
                O(NAME, w30, "copilot_chat", period_days=30),
            ],
        ),  # empty cell: unknown
    ]


def test_user_detail_becomes_org_counts_and_no_identity_leaves():
    got = read_all(FMT, DIR / "copilot_usage_user_detail_D7.csv")
    assert got[-1] == (4, "malformed_line: ragged row (6 fields, header has 8)")
    rows = [r for _, rs in got if isinstance(rs, list) for r in rs]
    assert all(r["_table"] == "org_days" for r in rows)
    text = repr(rows)
    assert "amy@contoso.com" not in text and "3F2A9C0D1E" not in text and "Amy" not in text
    w = "2026-02-26"
    # amy: last activity 03-04 (in), Teams 03-04 (in), Word 02-20 (out), Chat 03-01 (in);
    # the concealed user: everything before the window or blank
    assert merge_rows(rows) == [
        O(NAME, w, "all_last_activity", period_days=7, active_users=1),
        O(NAME, w, "teams_last_activity", period_days=7, active_users=1),
        O(NAME, w, "word_last_activity", period_days=7, active_users=0),
        O(NAME, w, "copilot_chat_last_activity", period_days=7, active_users=1),
    ]


def test_user_detail_json_shape():
    rec = {
        "reportRefreshDate": "2026-03-04",
        "userPrincipalName": "x@contoso.com",
        "displayName": "X",
        "lastActivityDate": "2026-03-01",
        "microsoftTeamsCopilotLastActivityDate": "",
        "excelCopilotLastActivityDate": "2026-03-01",
        "copilotActivityUserDetailsByPeriod": [{"reportPeriod": 7}],
    }
    assert FMT.map_record(rec) == [
        O(NAME, "2026-02-26", "all_last_activity", period_days=7, active_users=1),
        O(NAME, "2026-02-26", "teams_last_activity", period_days=7, active_users=0),
        O(NAME, "2026-02-26", "excel_last_activity", period_days=7, active_users=1),
    ]


def test_summary_json_shape():
    rec = {
        "reportRefreshDate": "2026-03-04",
        "adoptionByProduct": [
            {
                "reportPeriod": 7,
                "anyAppEnabledUsers": 9,
                "anyAppActiveUsers": 4,
                "loopActiveUsers": 1,
            }
        ],
    }
    assert FMT.map_record(rec) == [
        O(NAME, "2026-02-26", "all", period_days=7, active_users=4),
        O(NAME, "2026-02-26", "loop", period_days=7, active_users=1),
    ]


def test_bad_records():
    for rec, reason in [
        (
            {"Report Date": "2026-03-04", "Word Active Users": "1"},
            "missing_required: reportRefreshDate",
        ),
        (
            {"Report Refresh Date": "2026-03-04", "Word Active Users": "1"},
            "missing_required: Report Period",
        ),
        (
            {"adoptionByDate": [{"wordActiveUsers": 3}]},
            "missing_required: adoptionByDate[0].reportDate",
        ),
    ]:
        with pytest.raises(VendorRecordError) as exc:
            FMT.map_record(rec)
        assert str(exc.value).startswith(reason)


def test_looks_like():
    assert FMT.looks_like({"Report Refresh Date": "d", "Any App Active Users": "1"})
    assert FMT.looks_like({"reportRefreshDate": "d", "adoptionByDate": []})
    assert not FMT.looks_like(
        {
            "CreationTime": "2026-03-04T10:00:00",
            "RecordType": 261,
            "Operation": "CopilotInteraction",
            "UserId": "a@b.c",
        }
    )

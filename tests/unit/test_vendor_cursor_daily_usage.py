"""cursor_daily_usage: Cursor admin API daily-usage-data (JSON) -> user_days."""

from __future__ import annotations

import pytest
from vendor_rows import FIXTURES, U, read_all

from theater.sources.exports import FORMATS, VendorRecordError

NAME = "cursor_daily_usage"
FMT = FORMATS[NAME]


def test_fixture_rows_worked_out_by_hand():
    d1, d2 = "2026-03-02", "2026-03-03"  # 1772409600000 / 1772496000000 ms = midnight UTC
    got = read_all(FMT, FIXTURES / NAME / "daily_usage_2026-03-02.json")
    assert got == [
        (
            1,
            [
                U(
                    NAME,
                    "dev1@example.com",
                    "email",
                    d1,
                    "code_completion",
                    suggestions_shown=98,
                    accepted=22,
                ),
                U(
                    NAME,
                    "dev1@example.com",
                    "email",
                    d1,
                    "apply",
                    suggestions_shown=12,
                    accepted=9,
                    rejected=3,
                ),
                U(NAME, "dev1@example.com", "email", d1, "chat", requests=12),
                U(NAME, "dev1@example.com", "email", d1, "composer", requests=6),
                U(NAME, "dev1@example.com", "email", d1, "agent", requests=3),
                U(NAME, "dev1@example.com", "email", d1, "cmdk", requests=8),
                U(NAME, "dev1@example.com", "email", d1, "bugbot", requests=0),
                U(NAME, "dev1@example.com", "email", d1, "all", lines_accepted=105),
            ],
        ),
        # fields absent from the record give no row: not a row of zeros
        (
            2,
            [
                U(
                    NAME,
                    "dev2@example.com",
                    "email",
                    d1,
                    "code_completion",
                    suggestions_shown=40,
                    accepted=5,
                ),
                U(NAME, "dev2@example.com", "email", d1, "chat", requests=2),
            ],
        ),
        (3, "malformed_line"),  # NaN
        (4, "malformed_line"),  # a // comment between elements
        # reported zeros stay zeros
        (
            5,
            [
                U(
                    NAME,
                    "dev1@example.com",
                    "email",
                    d2,
                    "code_completion",
                    suggestions_shown=0,
                    accepted=0,
                ),
                U(NAME, "dev1@example.com", "email", d2, "chat", requests=0),
                U(NAME, "dev1@example.com", "email", d2, "composer", requests=0),
                U(NAME, "dev1@example.com", "email", d2, "agent", requests=0),
                U(NAME, "dev1@example.com", "email", d2, "cmdk", requests=0),
            ],
        ),
    ]


def test_partial_apply_fields_leave_the_rest_unknown():
    rows = FMT.map_record({"date": 1772409600000, "email": "e@x.com", "totalAccepts": 4})
    assert rows == [U(NAME, "e@x.com", "email", "2026-03-02", "apply", accepted=4)]


def test_bad_records():
    for rec, reason in [
        ({"email": "e@x.com", "chatRequests": 1}, "missing_required: date"),
        ({"date": 1772409600000, "chatRequests": 1}, "missing_required: email"),
        ({"date": "soon", "email": "e@x.com"}, "bad_timestamp: 'soon'"),
        ({"date": 1772409600000, "email": "e@x.com", "chatRequests": -1}, "bad_type: chatRequests"),
    ]:
        with pytest.raises(VendorRecordError) as exc:
            FMT.map_record(rec)
        assert str(exc.value).startswith(reason)


def test_looks_like():
    assert FMT.looks_like({"date": 1, "email": "e", "totalTabsShown": 1})
    # Cursor's per-event export (another format) has userEmail/timestamp, not email/date
    assert not FMT.looks_like({"timestamp": "1", "userEmail": "e", "model": "m", "kind": "k"})

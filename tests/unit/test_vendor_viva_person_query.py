"""viva_person_query: Viva Insights person query (CSV, Sunday weeks) -> user_days (7 days)."""

from __future__ import annotations

import pytest
from vendor_rows import FIXTURES, U, read_all

from theater.sources.exports import FORMATS, VendorRecordError

NAME = "viva_person_query"
FMT = FORMATS[NAME]


def W(user, day, feature, org, **counts):
    return U(NAME, user, "person_id", day, feature, org_id=org, period_days=7, **counts)


def test_fixture_rows_worked_out_by_hand():
    got = read_all(FMT, FIXTURES / NAME / "pq_copilot_2026-03.csv")
    assert got == [
        (
            2,
            [
                W("p-0001", "2026-03-01", "teams", "Finance", requests=12),
                W("p-0001", "2026-03-01", "word", "Finance", requests=3),
                W("p-0001", "2026-03-01", "copilot_chat_work", "Finance", requests=5),
                W("p-0001", "2026-03-01", "summarize_subset", "Finance", requests=4 + 1),
            ],
        ),
        (
            3,
            [
                W("p-0002", "2026-03-01", "teams", "Sales", requests=0),
                W("p-0002", "2026-03-01", "word", "Sales", requests=0),
                W("p-0002", "2026-03-01", "copilot_chat_work", "Sales", requests=0),
                W("p-0002", "2026-03-01", "summarize_subset", "Sales", requests=0),
            ],
        ),
        # an empty Word cell is not reported (no row), not zero
        (
            4,
            [
                W("p-0001", "2026-03-08", "teams", "Finance", requests=7),
                W("p-0001", "2026-03-08", "copilot_chat_work", "Finance", requests=2),
            ],
        ),
        # no per-app column: the total becomes the `all` feature
        (5, [W("p-0003", "2026-03-08", "all", "Legal", requests=6)]),
        (6, "bad_timestamp: MetricDate '2026-03-03' is not a Sunday (Viva weeks start on Sunday)"),
    ]


def test_spaced_headers_and_us_dates():
    rows = FMT.map_record(
        {
            "PersonId": "p9",
            "MetricDate": "3/1/2026",
            "Copilot actions taken in Teams": "2",
            "Organization": "",
        }
    )
    assert rows == [U(NAME, "p9", "person_id", "2026-03-01", "teams", period_days=7, requests=2)]


def test_bad_records():
    for rec, reason in [
        ({"MetricDate": "2026-03-01"}, "missing_required: PersonId"),
        ({"PersonId": "p"}, "missing_required: MetricDate"),
        (
            {"PersonId": "p", "MetricDate": "2026-03-01", "Copilot_actions_taken_in_Word": "2.5"},
            "bad_type: copilot_actions_taken_in_word",
        ),
    ]:
        with pytest.raises(VendorRecordError) as exc:
            FMT.map_record(rec)
        assert str(exc.value).startswith(reason)


def test_looks_like():
    assert FMT.looks_like({"PersonId": "p", "MetricDate": "2026-03-01"})
    assert not FMT.looks_like({"UserId": "u", "Date": "03-01-2026"})

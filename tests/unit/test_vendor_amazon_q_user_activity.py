"""amazon_q_user_activity: Amazon Q Developer user activity report (CSV) -> user_days."""

from __future__ import annotations

import pytest
from vendor_rows import FIXTURES, U, read_all

from theater.sources.exports import FORMATS, VendorRecordError

NAME = "amazon_q_user_activity"
FMT = FORMATS[NAME]
FILE = FIXTURES / NAME / "123456789012_by_user_analytic_1772496000.csv"
A1 = "a1b2c3d4-0001-4000-8000-000000000001"
A2 = "a1b2c3d4-0002-4000-8000-000000000002"
IC = "identity_center_id"


def test_fixture_rows_worked_out_by_hand():
    # BOM, quoted headers in an undocumented order, an extra DisplayName column, families
    # without columns (DocGeneration, CodeFix) or with only empty cells give no row
    assert read_all(FMT, FILE) == [
        (
            2,
            [
                U(NAME, A1, IC, "2026-03-02", "chat", requests=10, accepted=3, lines_accepted=25),
                U(
                    NAME,
                    A1,
                    IC,
                    "2026-03-02",
                    "code_completion",
                    suggestions_shown=80,
                    accepted=20,
                    lines_accepted=30,
                ),
                U(
                    NAME,
                    A1,
                    IC,
                    "2026-03-02",
                    "inline_chat",
                    requests=5,
                    accepted=2,
                    rejected=1,
                    dismissed=2,
                    lines_suggested=12 + 6 + 9,
                    lines_accepted=12,
                ),
                U(
                    NAME,
                    A1,
                    IC,
                    "2026-03-02",
                    "dev_agent",
                    suggestions_shown=1,
                    accepted=1,
                    lines_suggested=40,
                    lines_accepted=40,
                ),
            ],
        ),
        (
            3,
            [
                U(NAME, A2, IC, "2026-03-02", "chat", requests=0, accepted=0, lines_accepted=0),
                U(
                    NAME,
                    A2,
                    IC,
                    "2026-03-02",
                    "code_completion",
                    suggestions_shown=15,
                    accepted=0,
                    lines_accepted=0,
                ),
                U(
                    NAME,
                    A2,
                    IC,
                    "2026-03-02",
                    "inline_chat",
                    requests=0,
                    accepted=0,
                    rejected=0,
                    dismissed=0,
                    lines_suggested=0,
                    lines_accepted=0,
                ),
                U(
                    NAME,
                    A2,
                    IC,
                    "2026-03-02",
                    "test_generation",
                    requests=2,
                    suggestions_shown=6,
                    accepted=4,
                    lines_suggested=90,
                    lines_accepted=60,
                ),
                U(NAME, A2, IC, "2026-03-02", "transformation", requests=1, lines_suggested=300),
            ],
        ),
        (4, "malformed_line: ragged row (5 fields, header has 28)"),
        (5, "bad_timestamp: '13-45-2026'"),
    ]


def test_headers_matched_by_name_whatever_the_case_and_order():
    a = FMT.map_record(
        {
            "Date": "03-05-2026",
            "UserId": "u",
            "DocGeneration_EventCount": "3",
            "DocGeneration_AcceptedFileUpdates": "1",
            "DocGeneration_AcceptedFilesCreations": "1",
            "DocGeneration_RejectedFileCreations": "1",
            "DocGeneration_AcceptedLineAdditions": "10",
            "DocGeneration_RejectedLineAdditions": "4",
            "CodeFix_GenerationEventCount": "2",
            "CodeFix_AcceptanceEventCount": "1",
            "CodeFix_GeneratedLines": "8",
            "CodeFix_AcceptedLines": "3",
        }
    )
    b = FMT.map_record(
        {
            "codefix_acceptedlines": "3",
            "codefix_generatedlines": "8",
            "codefix_acceptanceeventcount": "1",
            "codefix_generationeventcount": "2",
            "docgeneration_rejectedlineadditions": "4",
            "docgeneration_acceptedlineadditions": "10",
            "docgeneration_rejectedfilecreations": "1",
            "docgeneration_acceptedfilescreations": "1",
            "docgeneration_acceptedfileupdates": "1",
            "docgeneration_eventcount": "3",
            "userid": "u",
            "date": "03-05-2026",
        }
    )
    expected = [
        U(
            NAME,
            "u",
            IC,
            "2026-03-05",
            "doc_generation",
            requests=3,
            accepted=2,
            rejected=1,
            lines_suggested=14,
            lines_accepted=10,
        ),
        U(
            NAME,
            "u",
            IC,
            "2026-03-05",
            "code_review",
            suggestions_shown=2,
            accepted=1,
            lines_suggested=8,
            lines_accepted=3,
        ),
    ]
    assert a == expected and b == expected


def test_bad_records():
    for rec, reason in [
        ({"Date": "03-05-2026", "Inline_SuggestionsCount": "1"}, "missing_required: UserId"),
        ({"UserId": "u", "Inline_SuggestionsCount": "1"}, "missing_required: Date"),
        (
            {"UserId": "u", "Date": "03-05-2026", "Inline_SuggestionsCount": "many"},
            "bad_type: inline_suggestionscount",
        ),
    ]:
        with pytest.raises(VendorRecordError) as exc:
            FMT.map_record(rec)
        assert str(exc.value).startswith(reason)


def test_looks_like():
    assert FMT.looks_like({"UserId": "u", "Date": "03-02-2026", "Inline_SuggestionsCount": "1"})
    assert not FMT.looks_like({"PersonId": "p", "MetricDate": "2026-03-01"})
    assert not FMT.looks_like({"UserId": "u", "Date": "03-02-2026"})

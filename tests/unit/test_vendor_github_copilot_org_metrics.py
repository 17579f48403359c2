"""github_copilot_org_metrics: old GitHub Copilot metrics API (org-day JSON) -> org_days."""

from __future__ import annotations

import pytest
from vendor_rows import FIXTURES, O, read_all

from theater.sources.exports import FORMATS, VendorRecordError

NAME = "github_copilot_org_metrics"
FMT = FORMATS[NAME]


def test_fixture_rows_worked_out_by_hand():
    d = "2026-03-02"
    assert read_all(FMT, FIXTURES / NAME / "orgs_acme_copilot_metrics.json") == [
        (
            1,
            [
                O(NAME, d, "all", active_users=24, engaged_users=20),
                # vscode python 300/90/410/120 + vscode go 100/20/150/30 + jetbrains java 60/15/70/18
                O(
                    NAME,
                    d,
                    "code_completion",
                    engaged_users=18,
                    suggestions_shown=460,
                    accepted=125,
                    lines_suggested=630,
                    lines_accepted=168,
                ),
                O(NAME, d, "ide_chat", engaged_users=9, requests=45, accepted=11 + 6),
                O(NAME, d, "dotcom_chat", engaged_users=3, requests=8),
                O(NAME, d, "pull_requests", engaged_users=2, requests=5 + 1),
            ],
        ),
        (2, "malformed_line"),  # a /* comment */ inside the element
        # a block without editors: engaged users known, counts unknown (None, not 0)
        (
            3,
            [
                O(NAME, "2026-03-04", "all", active_users=5, engaged_users=4),
                O(NAME, "2026-03-04", "code_completion", engaged_users=4),
            ],
        ),
    ]


def test_bad_records():
    for rec, reason in [
        ({"total_active_users": 3}, "missing_required: date"),
        ({"date": "2026-03-02", "copilot_ide_chat": [1]}, "bad_type: copilot_ide_chat"),
        (
            {"date": "2026-03-02", "copilot_ide_chat": {"editors": {}}},
            "bad_type: copilot_ide_chat.editors",
        ),
    ]:
        with pytest.raises(VendorRecordError) as exc:
            FMT.map_record(rec)
        assert str(exc.value).startswith(reason)


def test_looks_like():
    assert FMT.looks_like({"date": "2026-03-02", "copilot_ide_chat": {}})
    assert not FMT.looks_like({"day": "2026-03-02", "user_login": "a", "totals_by_feature": []})

"""m365_copilot_audit: JSON array and Purview CSV fixtures -> exact canonical rows."""

import pytest
from vendor_rows import FIXTURES, event, read_rows

from theater.sources.exports.formats import m365_copilot_audit as m
from theater.sources.exports.values import VendorRecordError

FIX = FIXTURES / "m365_copilot_audit"


def row(event_id, ts, user, session, artifact=None, model=None):
    # no vendor cost in this format
    return event(
        "m365_copilot_audit",
        "upn",
        event_id,
        ts,
        user,
        model,
        session=session,
        tool="docs",
        artifact_id=artifact,
    )


def read(name):
    return read_rows(m, FIX / name, detail=False)


def test_json_array_creation_time_without_offset_is_utc():
    rows, errors = read("audit_records.json")
    assert rows == [
        row(
            "0b7f5a1e-1111-4c2a-9e0d-5a0000000001",
            "2026-07-06T08:30:12Z",
            "ana.ruiz@contoso.example",
            "19:thread-ana-01@thread.v2",
            "https://contoso.sharepoint.com/sites/fin/Shared Documents/q3-plan.docx",
            "gpt-4o",
        ),
        row(
            "0b7f5a1e-1111-4c2a-9e0d-5a0000000002",
            "2026-07-06T14:02:59Z",
            "ben.osei@contoso.example",
            "19:meeting-ben@thread.v2",
        ),
    ]
    # element 3 is a comment (malformed), element 4 has no CreationTime
    assert errors == [(3, "malformed_line"), (4, "missing_required: CreationTime")]


def test_purview_csv_with_broken_audit_data_and_other_operation():
    rows, errors = read("purview_audit_export.csv")
    assert rows == [
        row(
            "0b7f5a1e-2222-4c2a-9e0d-5a0000000001",
            "2026-07-07T09:10:00Z",
            "dee.okafor@contoso.example",
            "t-dee-1",
            "https://contoso.sharepoint.com/sites/ops/budget.xlsx",
        ),
        row(
            "0b7f5a1e-2222-4c2a-9e0d-5a0000000004",
            "2026-07-07T23:59:59Z",
            "ben.osei@contoso.example",
            "t-ben-2",
        ),
    ]
    # line 3: AuditData cut short; line 4 (FileAccessed) is no interaction and no error
    assert errors == [(3, "malformed_line: AuditData is not JSON")]


def test_looks_like():
    assert m.looks_like({"Operation": "CopilotInteraction", "CreationTime": "x"})
    assert m.looks_like({"RecordId": "1", "Operation": "CopilotInteraction", "AuditData": "{}"})
    assert m.looks_like({"RecordId": "1", "Operation": "FileAccessed", "AuditData": "{}"})
    assert (
        m.map_record(
            {
                "RecordId": "1",
                "Operation": "FileAccessed",
                "AuditData": '{"Operation": "FileAccessed", "RecordType": 6}',
            }
        )
        == []
    )
    assert not m.looks_like({"requestId": "r", "timestamp": "t"})


def test_missing_user():
    with pytest.raises(VendorRecordError, match=r"^missing_required: UserId"):
        m.map_record(
            {
                "Id": "1",
                "Operation": "CopilotInteraction",
                "CreationTime": "2026-07-01T00:00:00",
                "CopilotEventData": {},
            }
        )

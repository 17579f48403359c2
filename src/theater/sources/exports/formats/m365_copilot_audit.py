"""Microsoft 365 unified audit log ``CopilotInteraction`` records -> canonical interactions.

Delivered as JSON / NDJSON (Office 365 Management Activity API, ``Search-UnifiedAuditLog``
``AuditData``) or as the Purview audit search CSV export, whose ``AuditData`` column holds the
record's JSON. Both shapes reach ``map_record`` (a CSV row is a dict of columns).
"""

from __future__ import annotations

import json

from ..format import VendorFormat, register
from ..rows import interaction_row
from ..values import VendorRecordError, as_text, required_text, required_ts

NAME = "m365_copilot_audit"
TOOL = "docs"
OPERATION = "CopilotInteraction"
RECORD_TYPE = 261


def _is_csv_row(record: dict) -> bool:
    return "AuditData" in record and (
        "CreationDate" in record
        or "RecordId" in record
        or "Operations" in record
        or "Operation" in record
    )


def looks_like(record: dict) -> bool:
    if not isinstance(record, dict):
        return False
    if _is_csv_row(record):  # a Purview audit export row (any operation; others map to no row)
        return True
    return (
        "CopilotEventData" in record
        or record.get("Operation") == OPERATION
        or (
            "CreationTime" in record
            and "RecordType" in record
            and ("Operation" in record or "Workload" in record)
        )
    )


def _audit(record: dict) -> dict:
    if not _is_csv_row(record):
        return record
    raw = record.get("AuditData")
    if isinstance(raw, dict):
        return raw
    if raw is None or not str(raw).strip():
        raise VendorRecordError("missing_required: AuditData")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise VendorRecordError(
            f"malformed_line: AuditData is not JSON ({exc.msg} at char {exc.pos})"
        ) from None
    if not isinstance(data, dict):
        raise VendorRecordError("bad_type: AuditData is not a JSON object")
    return data


def map_record(record: dict) -> list[dict]:
    audit = _audit(record)
    op = audit.get("Operation")
    rt = audit.get("RecordType")
    if op is not None and op != OPERATION or op is None and str(rt) != str(RECORD_TYPE):
        return []  # another audit operation in the same export: not an AI interaction
    event_id = required_text(audit.get("Id"), "Id")
    created = audit.get("CreationTime")
    ts = required_ts(created, "CreationTime")  # documented as UTC without an offset
    user = required_text(audit.get("UserId"), "UserId")
    data = audit.get("CopilotEventData") or {}
    if not isinstance(data, dict):
        raise VendorRecordError("bad_type: CopilotEventData is not an object")
    contexts = data.get("Contexts") or []
    resources = data.get("AccessedResources") or []
    if not isinstance(contexts, list) or not isinstance(resources, list):
        raise VendorRecordError("bad_type: Contexts / AccessedResources is not a list")
    artifact = next(
        (as_text(c.get("Id")) for c in contexts if isinstance(c, dict) and as_text(c.get("Id"))),
        None,
    )
    if artifact is None:
        artifact = next(
            (
                as_text(r.get("Id"))
                for r in resources
                if isinstance(r, dict) and as_text(r.get("Id"))
            ),
            None,
        )
    models = data.get("ModelTransparencyDetails") or []
    model = next((as_text(m.get("ModelName")) for m in models if isinstance(m, dict)), None)
    return [
        interaction_row(
            NAME,
            "upn",
            event_id=event_id,
            event_ts=ts,
            user_id=user,
            tool=TOOL,
            action="other",
            session_id=as_text(data.get("ThreadId")),
            artifact_id=artifact,
            model=model,
        )
    ]


DOCS = """\
## m365_copilot_audit - Microsoft 365 `CopilotInteraction` audit records (RecordType 261)

Grain: one row per audit record (one Copilot interaction). Files: JSON array or NDJSON of audit
records, or the Purview audit search CSV export (UTF-8 with BOM; columns such as `RecordId`,
`CreationDate`, `RecordType`, `Operation`, `UserId`, `AuditData`), whose `AuditData` column holds
the record as JSON. Records of other operations in the same export map to no row.

| vendor field | canonical field | note |
|---|---|---|
| `Id` | `event_id` | audit record GUID |
| `CreationTime` | `event_ts` | **no offset in the source: read as UTC** |
| `UserId` | `user_id`, `user_alias_kind` = `upn` | |
| constant | `tool` = `docs` | `CopilotEventData.AppHost` (Word, Teams, Outlook, Bing...) not carried |
| constant | `action` = `other` | the record carries no verb |
| `CopilotEventData.ThreadId` | `session_id` | |
| first `CopilotEventData.Contexts[].Id` (else first `AccessedResources[].Id`) | `artifact_id` | |
| `ModelTransparencyDetails[0].ModelName` | `model` | often absent |

Lost / absent: `OrganizationId` (the tenant, not a department: org comes from the directory),
`AppHost`, `Messages[]` (ids and `isPrompt` only: no tokens, no prompt size), prompt text (never in the audit log),
disposition, dwell, artifact author and modification time (need a Graph lookup; not done).
A CSV row whose `AuditData` is not JSON is quarantined as `malformed_line: AuditData ...`.
"""

FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="event",
        summary="Microsoft 365 unified audit CopilotInteraction records (JSON/NDJSON or Purview CSV)",
        required=("Id", "CreationTime", "UserId"),
        fills=("action", "artifact_id", "model", "session_id"),
        identity_kinds=("upn",),
        file_kinds=("json", "jsonl", "csv"),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)

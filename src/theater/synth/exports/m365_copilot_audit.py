"""Synthetic ``m365_copilot_audit`` exports (read back by
:mod:`theater.sources.exports.formats.m365_copilot_audit`): :func:`write` is called with one
week of the native events of the orgs whose stack carries it."""

from __future__ import annotations

import pandas as pd

from .common import (
    APP_OF_ACTION,
    Delivery,
    csv_text,
    digest,
    dump,
    iso_s,
    rows_of,
    uuid_of,
    write_text,
)

NAME = "m365_copilot_audit"
BY = "week"


SHAREPOINT = "https://acme.sharepoint.example/docs"


PURVIEW_COLS = [
    "RecordId",
    "CreationDate",
    "RecordType",
    "Operation",
    "UserId",
    "AuditData",
    "AssociatedAdminUnits",
    "AssociatedAdminUnitsNames",
]


def write(ctx: Delivery, d: pd.DataFrame, week: str) -> None:
    by_kind: dict[bool, list] = {True: [], False: []}
    for r in rows_of(d):
        eid = uuid_of("m365|" + r["event_id"])
        app = APP_OF_ACTION.get(r["action"], "Teams")
        data = {
            "AppHost": app,
            "Contexts": (
                [{"Id": f"{SHAREPOINT}/{r['artifact_id']}.docx", "Type": "docx"}]
                if r["artifact_id"]
                else []
            ),
            "Messages": [
                {"Id": str(r["ms"]), "isPrompt": True},
                {"Id": str(r["ms"] + 2000), "isPrompt": False},
            ],
        }
        if r["session_id"]:
            data["ThreadId"] = f"19:{r['session_id']}@thread.v2"
        audit = {
            "CreationTime": iso_s(r["ms"]),
            "Id": eid,
            "Operation": "CopilotInteraction",
            "OrganizationId": "7c1d2e3f-0000-4000-8000-00000000acme",
            "RecordType": 261,
            "UserKey": digest("key|" + r["user_id"], 16).upper(),
            "UserType": 0,
            "Version": 1,
            "Workload": "Copilot",
            "UserId": ctx.a("upn", r["user_id"]),
            "CopilotEventData": data,
        }
        by_kind[ctx.flag(r["org"], "purview_csv")].append(audit)
    for is_csv, audits in by_kind.items():
        if not audits:
            continue
        if is_csv:
            rows = [
                [
                    a["Id"],
                    a["CreationTime"] + ".0000000Z",
                    "CopilotInteraction",
                    "CopilotInteraction",
                    a["UserId"],
                    dump(a),
                    "",
                    "",
                ]
                for a in audits
            ]
            text = csv_text(PURVIEW_COLS, rows)
            write_text(
                ctx.root / "m365_copilot_audit" / f"purview_audit_{week}.csv", text, bom=True
            )
        else:
            write_text(
                ctx.root / "m365_copilot_audit" / f"copilot_interactions_{week}.jsonl",
                "".join(dump(a) + "\n" for a in audits),
            )
        ctx.add("m365_copilot_audit", files=1, records=len(audits), interactions=len(audits))

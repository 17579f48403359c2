"""Synthetic ``cursor_usage_events`` exports (read back by
:mod:`theater.sources.exports.formats.cursor_usage_events`): :func:`write` is called with one
week of the native events of the orgs whose stack carries it."""

from __future__ import annotations

import pandas as pd

from .common import DAY_MS, Delivery, dump, rows_of, write_text

NAME = "cursor_usage_events"
BY = "week"


def write(ctx: Delivery, d: pd.DataFrame, week: str) -> None:
    events = []
    for r in rows_of(d):
        ev = {
            "timestamp": str(r["ms"]),
            "model": r["model"] or "auto",
            "kind": "Included in Business",
            "maxMode": False,
            "requestsCosts": 1,
            "isTokenBasedCall": r["prompt_tokens"] is not None,
        }
        if r["prompt_tokens"] is not None:
            ev["tokenUsage"] = {
                "inputTokens": r["prompt_tokens"],
                "outputTokens": r["completion_tokens"] or 0,
                "cacheWriteTokens": 0,
                "cacheReadTokens": 0,
                "totalCents": 0.1,
            }
        ev["isFreeBugbot"] = False
        ev["userEmail"] = ctx.a("email", r["user_id"])
        events.append(ev)
    lo, hi = int(d["ms"].min()) // DAY_MS * DAY_MS, (int(d["ms"].max()) // DAY_MS + 1) * DAY_MS
    doc = {
        "totalUsageEventsCount": len(events),
        "pagination": {
            "numPages": 1,
            "currentPage": 1,
            "pageSize": len(events),
            "hasNextPage": False,
            "hasPreviousPage": False,
        },
        "usageEvents": events,
        "period": {"startDate": lo, "endDate": hi},
    }
    write_text(ctx.root / "cursor_usage_events" / f"filtered_usage_events_{week}.json", dump(doc))
    ctx.add("cursor_usage_events", files=1, records=len(events), interactions=len(events))

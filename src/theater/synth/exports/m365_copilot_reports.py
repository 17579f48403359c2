"""Synthetic ``m365_copilot_reports`` exports (read back by
:mod:`theater.sources.exports.formats.m365_copilot_reports`): :func:`write` is called with the
native events of one org whose stack carries it."""

from __future__ import annotations

import pandas as pd

from .common import (
    APP_OF_ACTION,
    DAY_MS,
    Delivery,
    day_of,
    dump,
    prep_agg,
    write_text,
)

NAME = "m365_copilot_reports"
BY = "org"


M365_APPS = {
    "Word": "wordActiveUsers",
    "Teams": "microsoftTeamsActiveUsers",
    "BizChat": "copilotChatActiveUsers",
    "Outlook": "outlookActiveUsers",
    "Excel": "excelActiveUsers",
}


def write(ctx: Delivery, d: pd.DataFrame, org: str) -> None:
    d = prep_agg(d)
    d["app"] = d["action"].map(APP_OF_ACTION).fillna("Teams")
    trend = []
    for day, part in d.groupby("day", sort=True):
        rec = {"reportDate": day, "anyAppActiveUsers": int(part["user_id"].nunique())}
        for app, key in M365_APPS.items():
            rec[key] = int(part.loc[part["app"] == app, "user_id"].nunique())
        trend.append(rec)
    refresh = day_of(int(d["ms"].max()) + DAY_MS)
    doc = {
        "value": [
            {
                "reportRefreshDate": refresh,
                "tenantDisplayName": org,
                "reportPeriod": "D180",
                "adoptionByDate": trend,
            }
        ]
    }
    write_text(ctx.root / "m365_copilot_reports" / org / "copilot_user_count_trend.json", dump(doc))
    ctx.add("m365_copilot_reports", files=1, records=1, org_days=len(trend) * (1 + len(M365_APPS)))

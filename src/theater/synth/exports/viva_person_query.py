"""Synthetic ``viva_person_query`` exports (read back by
:mod:`theater.sources.exports.formats.viva_person_query`): :func:`write` is called once with
every native event of the orgs whose stack carries it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import (
    APP_OF_ACTION,
    DAY_MS,
    Delivery,
    csv_text,
    records_of,
    write_text,
)

NAME = "viva_person_query"
BY = "world"


VIVA_APPS = {
    "Word": "Word",
    "Teams": "Teams",
    "BizChat": "Copilot_chat_work",
    "Outlook": "Outlook",
    "Excel": "Excel",
}


def write(ctx: Delivery, d: pd.DataFrame) -> None:
    """Person-weeks (Sunday weeks) of the orgs' docs activity, one CSV for the whole period."""
    d = d.copy()
    days = d["ms"] // DAY_MS
    d["week"] = days - ((days + 4) % 7)  # 1970-01-04 was a Sunday
    d["app"] = d["action"].map(APP_OF_ACTION).fillna("Teams").map(VIVA_APPS)
    d["summ"] = (d["action"] == "summarize").astype("int64")
    apps = list(dict.fromkeys(VIVA_APPS.values()))
    header = (
        ["PersonId", "MetricDate", "Organization", "Total_Copilot_actions_taken"]
        + [f"Copilot_actions_taken_in_{a}" for a in apps]
        + ["Summarise_Word_document_actions_taken_using_Copilot", "Collaboration_hours"]
    )
    per_app = d.groupby(["user_id", "week", "app"], sort=True).size().reset_index(name="k")
    counts: dict[tuple, dict] = {}
    for r in records_of(per_app):
        counts.setdefault((r["user_id"], r["week"]), {})[r["app"]] = int(r["k"])
    g = (
        d.groupby(["user_id", "week"], sort=True)
        .agg(n=("summ", "size"), summ=("summ", "sum"), org=("org", "first"))
        .reset_index()
    )
    rows, n_rows = [], 0
    for r in records_of(g):
        c = counts[(r["user_id"], r["week"])]
        summ = int(r["summ"])
        y, m, dd = str(np.datetime64(int(r["week"]), "D")).split("-")
        row = [ctx.a("person_id", r["user_id"]), f"{m}/{dd}/{y}", r["org"], int(r["n"])]
        row += [c.get(a) for a in apps]
        row += [summ or None, "12.5"]
        rows.append(row)
        n_rows += len(c) + (1 if summ else 0)
    write_text(
        ctx.root / "viva_person_query" / "person_query_copilot_weekly.csv",
        csv_text(header, rows),
        bom=True,
    )
    ctx.add("viva_person_query", files=1, records=len(rows), user_days=n_rows)

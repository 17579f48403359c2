"""Synthetic ``amazon_q_user_activity`` exports (read back by
:mod:`theater.sources.exports.formats.amazon_q_user_activity`): :func:`write` is called with one
week of the native events of the orgs whose stack carries it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import (
    ACCOUNT,
    Delivery,
    csv_text,
    prep_agg,
    records_of,
    runs,
    write_text,
)

NAME = "amazon_q_user_activity"
BY = "week"


AMAZON_Q_COLS = [
    "UserId",
    "Date",
    "Chat_AICodeLines",
    "Chat_MessagesInteracted",
    "Chat_MessagesSent",
    "Inline_AICodeLines",
    "Inline_AcceptanceCount",
    "Inline_SuggestionsCount",
    "InlineChat_AcceptanceEventCount",
    "InlineChat_DismissalEventCount",
    "InlineChat_RejectionEventCount",
    "InlineChat_TotalEventCount",
    "Dev_AcceptanceEventCount",
    "Dev_GenerationEventCount",
]


def write(ctx: Delivery, d: pd.DataFrame, week: str) -> None:
    d = prep_agg(d)
    fam = np.select(
        [d["action"] == "complete", d["action"] == "code_edit", d["action"] == "agent"],
        ["inline", "inlinechat", "dev"],
        "chat",
    )
    d["fam"] = fam
    g = (
        d.groupby(["user_id", "day", "fam"], sort=True)
        .agg(
            n=("n", "sum"),
            used=("used", "sum"),
            rej=("discarded", "sum"),
            dis=("ignored", "sum"),
            lines_used=("lines_used", "sum"),
        )
        .reset_index()
    )
    rows, n_rows = [], 0
    for part in runs(records_of(g), ("user_id", "day")):
        user, day = part[0]["user_id"], part[0]["day"]
        f = {r["fam"]: r for r in part}
        row = {c: None for c in AMAZON_Q_COLS}
        row["UserId"] = ctx.a("identity_center_id", user)
        row["Date"] = f"{day[5:7]}-{day[8:10]}-{day[:4]}"
        if "chat" in f:
            c = f["chat"]
            row.update(
                Chat_AICodeLines=int(c["lines_used"]),
                Chat_MessagesInteracted=int(c["used"]),
                Chat_MessagesSent=2 * int(c["n"]),
            )  # prompts and responses
        if "inline" in f:
            c = f["inline"]
            row.update(
                Inline_AICodeLines=int(c["lines_used"]),
                Inline_AcceptanceCount=int(c["used"]),
                Inline_SuggestionsCount=int(c["n"]),
            )
        if "inlinechat" in f:
            c = f["inlinechat"]
            row.update(
                InlineChat_AcceptanceEventCount=int(c["used"]),
                InlineChat_DismissalEventCount=int(c["dis"]),
                InlineChat_RejectionEventCount=int(c["rej"]),
                InlineChat_TotalEventCount=int(c["n"]),
            )
        if "dev" in f:
            c = f["dev"]
            row.update(
                Dev_AcceptanceEventCount=int(c["used"]), Dev_GenerationEventCount=int(c["n"])
            )
        rows.append([row[c] for c in AMAZON_Q_COLS])
        n_rows += len(f)
    write_text(
        ctx.root / "amazon_q_user_activity" / f"{ACCOUNT}_user_activity_{week}.csv",
        csv_text(AMAZON_Q_COLS, rows),
    )
    ctx.add("amazon_q_user_activity", files=1, records=len(rows), user_days=n_rows)

"""Synthetic ``cursor_daily_usage`` exports (read back by
:mod:`theater.sources.exports.formats.cursor_daily_usage`): :func:`write` is called with one
week of the native events of the orgs whose stack carries it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import (
    DAY_MS,
    Delivery,
    dump,
    prep_agg,
    records_of,
    write_text,
)

NAME = "cursor_daily_usage"
BY = "week"


def write(ctx: Delivery, d: pd.DataFrame, week: str) -> None:
    d = prep_agg(d)
    for name, mask in (
        ("tab", d["action"] == "complete"),
        ("apply", d["action"] == "code_edit"),
        ("agent", d["action"] == "agent"),
        ("chat", ~d["action"].isin(["complete", "code_edit", "agent"])),
    ):
        d[f"{name}_n"] = mask.astype("int64")
        d[f"{name}_used"] = d[f"{name}_n"] * d["used"]
        d[f"{name}_rej"] = d[f"{name}_n"] * d["discarded"]
    cols = [
        c
        for c in d.columns
        if c.split("_")[0] in ("tab", "apply", "agent", "chat")
        and c.split("_")[-1] in ("n", "used", "rej")
    ]
    g = d.groupby(["user_id", "day"], sort=True)[cols + ["lines", "lines_used"]].sum().reset_index()
    mc = (
        d.assign(model=d["model"].fillna("auto"))
        .groupby(["user_id", "day", "model"], sort=True)
        .size()
        .reset_index(name="k")
    )
    mc = mc.sort_values(
        ["user_id", "day", "k", "model"], ascending=[True, True, False, True], kind="stable"
    ).drop_duplicates(["user_id", "day"])
    top = dict(zip(zip(mc["user_id"], mc["day"]), mc["model"]))
    data = []
    for r in records_of(g):
        day_ms = int(np.datetime64(r["day"], "D").astype("int64")) * DAY_MS
        data.append(
            {
                "date": day_ms,
                "isActive": True,
                "totalLinesAdded": int(r["lines"]),
                "totalLinesDeleted": 0,
                "acceptedLinesAdded": int(r["lines_used"]),
                "acceptedLinesDeleted": 0,
                "totalApplies": int(r["apply_n"]),
                "totalAccepts": int(r["apply_used"]),
                "totalRejects": int(r["apply_rej"]),
                "totalTabsShown": int(r["tab_n"]),
                "totalTabsAccepted": int(r["tab_used"]),
                "composerRequests": 0,
                "chatRequests": int(r["chat_n"]),
                "agentRequests": int(r["agent_n"]),
                "cmdkUsages": 0,
                "subscriptionIncludedReqs": int(r["chat_n"] + r["agent_n"] + r["apply_n"]),
                "apiKeyReqs": 0,
                "usageBasedReqs": 0,
                "bugbotUsages": 0,
                "mostUsedModel": top[(r["user_id"], r["day"])],
                "applyMostUsedExtension": ".py",
                "tabMostUsedExtension": ".py",
                "clientVersion": "1.4.2",
                "email": ctx.a("email", r["user_id"]),
            }
        )
    lo = int(np.datetime64(g["day"].min(), "D").astype("int64")) * DAY_MS
    doc = {"data": data, "period": {"startDate": lo, "endDate": lo + 7 * DAY_MS}}
    write_text(ctx.root / "cursor_daily_usage" / f"daily_usage_{week}.json", dump(doc))
    # one row per feature present: code_completion, apply, chat, composer, agent, cmdk, bugbot, all
    ctx.add("cursor_daily_usage", files=1, records=len(data), user_days=8 * len(data))
